//! Column generators: one per column, chosen once when the reader is created, each filling a
//! whole batch column-wise straight into Arrow buffers (no per-row allocation, no per-row dynamic
//! dispatch; one virtual call per column per batch).

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType,
};
use arrow_array::{
    new_null_array, ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, PrimitiveArray,
    StringArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, TimeUnit};
use rand::distr::{Distribution, Uniform};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore};

use rust_core::types::{timestamp_unit, FlinkType};
use rust_core::{BridgeError, Result};

use crate::config::{FieldConfig, FieldGen, RandomSpec};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// What all columns of one batch share.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchInfo {
    /// Source-wide index of the batch's first row.
    pub first: u64,
    pub len: usize,
    /// Wall-clock time of the batch, nanoseconds since the epoch (DATE, TIME, TIMESTAMP values).
    pub now_nanos: i64,
}

/// Generates one column of a batch.
pub(crate) trait ColumnGenerator: Send {
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef>;
}

/// The generator of one column.
pub(crate) fn build(field: &FieldConfig) -> Result<Box<dyn ColumnGenerator>> {
    let data_type = field.ty.arrow_type();
    match &field.gen {
        FieldGen::Sequence { start, end: _ } => sequence(field.ty, *start, data_type),
        FieldGen::Random { spec, null_rate } => {
            random(field.ty, spec, NullGen::new(*null_rate), data_type)
        }
    }
}

/// A generous upper bound of a row's bytes in this column, to keep batches of long strings small.
pub(crate) fn max_value_bytes(field: &FieldConfig) -> usize {
    match (&field.gen, field.ty) {
        (
            FieldGen::Random {
                spec: RandomSpec::Hex { length, .. } | RandomSpec::Bytes { length, .. },
                ..
            },
            _,
        ) => *length as usize + 8,
        (_, FlinkType::Decimal { .. }) => 16,
        _ => 8,
    }
}

// ---------------------------------------------------------------------------------------------
// Nulls
// ---------------------------------------------------------------------------------------------

/// Decides which rows are null: a row is null when a uniform 32-bit number is below the
/// threshold, so the probability is `null-rate` (1.0 makes every row null).
#[derive(Clone, Copy, Debug)]
struct NullGen {
    threshold: u64,
}

impl NullGen {
    fn new(rate: f64) -> Self {
        NullGen {
            threshold: (rate.clamp(0.0, 1.0) * 4_294_967_296.0).round() as u64,
        }
    }

    fn all_null(self) -> bool {
        self.threshold >= 1 << 32
    }

    fn generate(self, rng: &mut SmallRng, len: usize) -> Option<NullBuffer> {
        if self.threshold == 0 {
            return None;
        }
        let t = self.threshold;
        Some(NullBuffer::new(BooleanBuffer::collect_bool(len, |_| {
            u64::from(rng.next_u32()) >= t
        })))
    }
}

// ---------------------------------------------------------------------------------------------
// Random
// ---------------------------------------------------------------------------------------------

fn random(
    ty: FlinkType,
    spec: &RandomSpec,
    nulls: NullGen,
    data_type: DataType,
) -> Result<Box<dyn ColumnGenerator>> {
    let bad = || {
        BridgeError::other(format!(
            "datagen: no random generator for {ty} from {spec:?}"
        ))
    };
    if nulls.all_null() {
        return Ok(Box::new(AllNull { data_type }));
    }
    Ok(match (spec, ty) {
        (RandomSpec::Boolean, _) => Box::new(RandomBool { nulls }),
        (RandomSpec::Int { min, max }, FlinkType::TinyInt) => {
            sampled::<Int8Type, _>(uniform(*min as i8, *max as i8)?, nulls, data_type)
        }
        (RandomSpec::Int { min, max }, FlinkType::SmallInt) => {
            sampled::<Int16Type, _>(uniform(*min as i16, *max as i16)?, nulls, data_type)
        }
        (RandomSpec::Int { min, max }, FlinkType::Int) => {
            sampled::<Int32Type, _>(uniform(*min as i32, *max as i32)?, nulls, data_type)
        }
        (RandomSpec::Int { min, max }, FlinkType::BigInt) => {
            sampled::<Int64Type, _>(uniform(*min, *max)?, nulls, data_type)
        }
        (RandomSpec::Float { min, max }, FlinkType::Float) => sampled::<Float32Type, _>(
            FloatRange {
                low: *min,
                high: *max,
            }
            .map(|v| v as f32),
            nulls,
            data_type,
        ),
        (RandomSpec::Float { min, max }, FlinkType::Double) => sampled::<Float64Type, _>(
            FloatRange {
                low: *min,
                high: *max,
            },
            nulls,
            data_type,
        ),
        (RandomSpec::Decimal { min, max }, FlinkType::Decimal { precision, scale }) => {
            let factor = 10f64.powi(i32::from(scale));
            let limit = 10i128.pow(u32::from(precision)) - 1;
            let range = FloatRange {
                low: *min,
                high: *max,
            };
            let dist = range.map(move |v| ((v * factor).round() as i128).clamp(-limit, limit));
            sampled::<Decimal128Type, _>(dist, nulls, data_type)
        }
        (RandomSpec::Hex { length, var_len }, _) => Box::new(RandomVarData {
            length: *length as usize,
            var_len: *var_len,
            nulls,
            fill: fill_hex,
            utf8: true,
        }),
        (RandomSpec::Bytes { length, var_len }, _) => Box::new(RandomVarData {
            length: *length as usize,
            var_len: *var_len,
            nulls,
            fill: |rng, out| rng.fill_bytes(out),
            utf8: false,
        }),
        (RandomSpec::Date, _) => Box::new(Clock::<Date32Type> {
            value: |now, _| now.div_euclid(NANOS_PER_DAY) as i32,
            nulls,
            precision: 0,
            data_type,
            _t: PhantomData,
        }),
        (RandomSpec::Time, FlinkType::Time { precision }) => {
            Box::new(Clock::<Time32MillisecondType> {
                value: |now, precision| {
                    let millis = (now.rem_euclid(NANOS_PER_DAY) / NANOS_PER_MILLI) as i32;
                    let step = 10i32.pow(3u32.saturating_sub(u32::from(precision)));
                    millis - millis % step
                },
                nulls,
                precision,
                data_type,
                _t: PhantomData,
            })
        }
        (
            RandomSpec::Timestamp { max_past },
            FlinkType::Timestamp { precision } | FlinkType::TimestampLtz { precision },
        ) => {
            let nanos_per_unit: i64 = match timestamp_unit(precision) {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            let unit_digits = 9 - nanos_per_unit.ilog10();
            let max_past =
                i64::try_from(max_past.as_nanos() / nanos_per_unit as u128).unwrap_or(i64::MAX);
            let spec = PastTimestamp {
                nanos_per_unit,
                truncate: 10i64.pow(unit_digits.saturating_sub(u32::from(precision))),
                past: if max_past > 0 {
                    Some(uniform(0, max_past)?)
                } else {
                    None
                },
                nulls,
                data_type,
            };
            match nanos_per_unit {
                1_000_000 => Box::new(TimestampGen::<TimestampMillisecondType> {
                    spec,
                    _t: PhantomData,
                }),
                1_000 => Box::new(TimestampGen::<TimestampMicrosecondType> {
                    spec,
                    _t: PhantomData,
                }),
                _ => Box::new(TimestampGen::<TimestampNanosecondType> {
                    spec,
                    _t: PhantomData,
                }),
            }
        }
        _ => return Err(bad()),
    })
}

fn uniform<T: rand::distr::uniform::SampleUniform + PartialOrd + Copy + std::fmt::Debug>(
    min: T,
    max: T,
) -> Result<Uniform<T>> {
    Uniform::new_inclusive(min, max)
        .map_err(|e| BridgeError::other(format!("datagen: bad range {min:?}..={max:?}: {e}")))
}

fn sampled<T, D>(dist: D, nulls: NullGen, data_type: DataType) -> Box<dyn ColumnGenerator>
where
    T: ArrowPrimitiveType,
    D: Distribution<T::Native> + Send + 'static,
{
    Box::new(Sampled::<T, D> {
        dist,
        nulls,
        data_type,
        _t: PhantomData,
    })
}

/// Every row null (`null-rate` = 1).
struct AllNull {
    data_type: DataType,
}

impl ColumnGenerator for AllNull {
    fn generate(&mut self, _: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        Ok(new_null_array(&self.data_type, batch.len))
    }
}

/// Uniform in `[low, high)`, computed as `low * (1 - u) + high * u`, which cannot overflow even
/// for `[-MAX, MAX]`.
#[derive(Clone, Copy)]
struct FloatRange {
    low: f64,
    high: f64,
}

impl Distribution<f64> for FloatRange {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        (self.low * (1.0 - u) + self.high * u).clamp(self.low, self.high)
    }
}

/// A primitive column sampled value by value from a distribution.
struct Sampled<T: ArrowPrimitiveType, D> {
    dist: D,
    nulls: NullGen,
    data_type: DataType,
    _t: PhantomData<fn() -> T>,
}

impl<T, D> ColumnGenerator for Sampled<T, D>
where
    T: ArrowPrimitiveType,
    D: Distribution<T::Native> + Send,
{
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let nulls = self.nulls.generate(rng, batch.len);
        let values: Vec<T::Native> = (0..batch.len).map(|_| self.dist.sample(rng)).collect();
        let array = PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
            .with_data_type(self.data_type.clone());
        Ok(Arc::new(array))
    }
}

/// Random booleans, 64 per random number.
struct RandomBool {
    nulls: NullGen,
}

impl ColumnGenerator for RandomBool {
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let nulls = self.nulls.generate(rng, batch.len);
        let words: Vec<u64> = (0..batch.len.div_ceil(64))
            .map(|_| rng.next_u64())
            .collect();
        let values = BooleanBuffer::new(Buffer::from_vec(words), 0, batch.len);
        Ok(Arc::new(BooleanArray::new(values, nulls)))
    }
}

/// CHAR/VARCHAR (hex digits) and BINARY/VARBINARY (bytes) of a fixed or random length.
struct RandomVarData {
    length: usize,
    var_len: bool,
    nulls: NullGen,
    fill: fn(&mut SmallRng, &mut [u8]),
    utf8: bool,
}

impl ColumnGenerator for RandomVarData {
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let nulls = self.nulls.generate(rng, batch.len);
        let mut offsets: Vec<i32> = Vec::with_capacity(batch.len + 1);
        offsets.push(0);
        let mut total: usize = 0;
        let too_large = || BridgeError::other("datagen: a batch column larger than 2 GiB");
        if nulls.is_none() && !self.var_len {
            let length = i32::try_from(self.length).map_err(|_| too_large())?;
            let mut end: i32 = 0;
            for _ in 0..batch.len {
                end = end.checked_add(length).ok_or_else(too_large)?;
                offsets.push(end);
            }
            total = end as usize;
        } else {
            // Flink draws variable lengths from 1 to length - 1; here they range over 1..=length.
            let lengths = (self.var_len && self.length > 0)
                .then(|| uniform(1, self.length))
                .transpose()?;
            for i in 0..batch.len {
                let len = match &nulls {
                    Some(n) if n.is_null(i) => 0,
                    _ => lengths.as_ref().map_or(self.length, |d| d.sample(rng)),
                };
                total += len;
                offsets.push(i32::try_from(total).map_err(|_| too_large())?);
            }
        }
        let mut values = vec![0u8; total];
        (self.fill)(rng, &mut values);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        let values = Buffer::from_vec(values);
        Ok(if self.utf8 {
            Arc::new(StringArray::try_new(offsets, values, nulls)?)
        } else {
            Arc::new(BinaryArray::try_new(offsets, values, nulls)?)
        })
    }
}

/// Fills `out` with random lowercase hex digits, 16 per 64-bit random number.
fn fill_hex(rng: &mut SmallRng, out: &mut [u8]) {
    let mut chunks = out.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let r = rng.next_u64();
        chunk[..8].copy_from_slice(&hex8(r as u32).to_le_bytes());
        chunk[8..].copy_from_slice(&hex8((r >> 32) as u32).to_le_bytes());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let r = rng.next_u64();
        let mut digits = [0u8; 16];
        digits[..8].copy_from_slice(&hex8(r as u32).to_le_bytes());
        digits[8..].copy_from_slice(&hex8((r >> 32) as u32).to_le_bytes());
        rest.copy_from_slice(&digits[..rest.len()]);
    }
}

/// The eight nibbles of `x` as eight ASCII hex digits in a little-endian u64 (SWAR).
#[inline]
fn hex8(x: u32) -> u64 {
    let mut v = u64::from(x);
    v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // Bytes above 9 get 'a' - '0' - 10 = 39 more.
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    v + 0x3030_3030_3030_3030 + letters * 39
}

/// DATE and TIME: derived from the batch's clock.
struct Clock<T: ArrowPrimitiveType> {
    value: fn(i64, u8) -> T::Native,
    nulls: NullGen,
    precision: u8,
    data_type: DataType,
    _t: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType> ColumnGenerator for Clock<T> {
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let nulls = self.nulls.generate(rng, batch.len);
        let v = (self.value)(batch.now_nanos, self.precision);
        let values = ScalarBuffer::from(vec![v; batch.len]);
        Ok(Arc::new(
            PrimitiveArray::<T>::new(values, nulls).with_data_type(self.data_type.clone()),
        ))
    }
}

struct PastTimestamp {
    nanos_per_unit: i64,
    /// Values are multiples of this many units (the column's precision).
    truncate: i64,
    /// How far back, in units; `None` when `max-past` is zero.
    past: Option<Uniform<i64>>,
    nulls: NullGen,
    data_type: DataType,
}

/// TIMESTAMP and TIMESTAMP_LTZ: now minus a random duration up to `max-past`.
struct TimestampGen<T> {
    spec: PastTimestamp,
    _t: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType<Native = i64>> ColumnGenerator for TimestampGen<T> {
    fn generate(&mut self, rng: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let s = &self.spec;
        let nulls = s.nulls.generate(rng, batch.len);
        let now = batch.now_nanos.div_euclid(s.nanos_per_unit);
        let truncate = s.truncate;
        let values: Vec<i64> = match &s.past {
            None => vec![now - now.rem_euclid(truncate); batch.len],
            Some(past) => (0..batch.len)
                .map(|_| {
                    let v = now.saturating_sub(past.sample(rng));
                    v - v.rem_euclid(truncate)
                })
                .collect(),
        };
        let array = PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
            .with_data_type(s.data_type.clone());
        Ok(Arc::new(array))
    }
}

// ---------------------------------------------------------------------------------------------
// Sequence
// ---------------------------------------------------------------------------------------------

fn sequence(ty: FlinkType, start: i64, data_type: DataType) -> Result<Box<dyn ColumnGenerator>> {
    Ok(match ty {
        FlinkType::TinyInt => seq::<Int8Type>(start, |v| v as i8, data_type),
        FlinkType::SmallInt => seq::<Int16Type>(start, |v| v as i16, data_type),
        FlinkType::Int => seq::<Int32Type>(start, |v| v as i32, data_type),
        FlinkType::BigInt => seq::<Int64Type>(start, |v| v, data_type),
        FlinkType::Float => seq::<Float32Type>(start, |v| v as f32, data_type),
        FlinkType::Double => seq::<Float64Type>(start, |v| v as f64, data_type),
        FlinkType::Decimal { scale, .. } => {
            let factor = 10i128.pow(u32::from(scale));
            Box::new(Sequence::<Decimal128Type, _> {
                start,
                conv: move |v| i128::from(v) * factor,
                data_type,
                _t: PhantomData,
            })
        }
        FlinkType::Char { .. } | FlinkType::VarChar { .. } => {
            Box::new(SequenceVarData { start, utf8: true })
        }
        FlinkType::Binary { .. } | FlinkType::VarBinary { .. } => {
            Box::new(SequenceVarData { start, utf8: false })
        }
        _ => {
            return Err(BridgeError::other(format!(
                "datagen: no sequence generator for {ty}"
            )))
        }
    })
}

fn seq<T: ArrowPrimitiveType>(
    start: i64,
    conv: fn(i64) -> T::Native,
    data_type: DataType,
) -> Box<dyn ColumnGenerator> {
    Box::new(Sequence::<T, _> {
        start,
        conv,
        data_type,
        _t: PhantomData,
    })
}

/// The value of row `index` of a sequence starting at `start`. Validation guarantees the true
/// value lies in `start..=end`, so wrapping arithmetic yields it exactly.
#[inline]
fn seq_value(start: i64, index: u64) -> i64 {
    start.wrapping_add(index as i64)
}

struct Sequence<T: ArrowPrimitiveType, F> {
    start: i64,
    conv: F,
    data_type: DataType,
    _t: PhantomData<fn() -> T>,
}

impl<T, F> ColumnGenerator for Sequence<T, F>
where
    T: ArrowPrimitiveType,
    F: Fn(i64) -> T::Native + Send,
{
    fn generate(&mut self, _: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let values: Vec<T::Native> = (0..batch.len as u64)
            .map(|k| (self.conv)(seq_value(self.start, batch.first + k)))
            .collect();
        Ok(Arc::new(
            PrimitiveArray::<T>::new(ScalarBuffer::from(values), None)
                .with_data_type(self.data_type.clone()),
        ))
    }
}

/// CHAR/VARCHAR sequences are the numbers in decimal; BINARY/VARBINARY ones their 8 big-endian
/// bytes (Flink's `Long.toString` and `Longs.toByteArray`).
struct SequenceVarData {
    start: i64,
    utf8: bool,
}

impl ColumnGenerator for SequenceVarData {
    fn generate(&mut self, _: &mut SmallRng, batch: &BatchInfo) -> Result<ArrayRef> {
        let mut offsets: Vec<i32> = Vec::with_capacity(batch.len + 1);
        offsets.push(0);
        let mut values: Vec<u8> = Vec::with_capacity(batch.len * if self.utf8 { 20 } else { 8 });
        for k in 0..batch.len as u64 {
            let v = seq_value(self.start, batch.first + k);
            if self.utf8 {
                push_decimal(&mut values, v);
            } else {
                values.extend_from_slice(&v.to_be_bytes());
            }
            offsets.push(
                i32::try_from(values.len())
                    .map_err(|_| BridgeError::other("datagen: batch too large"))?,
            );
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        let values = Buffer::from_vec(values);
        Ok(if self.utf8 {
            Arc::new(StringArray::try_new(offsets, values, None)?)
        } else {
            Arc::new(BinaryArray::try_new(offsets, values, None)?)
        })
    }
}

/// Appends `v` in decimal (what `i64::to_string` gives, without allocating).
fn push_decimal(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex8_gives_the_nibbles_as_lowercase_hex_in_order() {
        let x: u32 = 0x1234_abcd;
        let bytes = hex8(x).to_le_bytes();
        // Nibble k of x (from the lowest) is byte k.
        let expected: Vec<u8> = (0..8)
            .map(|k| b"0123456789abcdef"[((x >> (4 * k)) & 15) as usize])
            .collect();
        assert_eq!(bytes.to_vec(), expected);
        for x in [0u32, u32::MAX, 0x0f0f_0f0f, 0x9a9a_9a9a] {
            let s = String::from_utf8(hex8(x).to_le_bytes().to_vec()).unwrap();
            let back: String = s.chars().rev().collect();
            assert_eq!(u32::from_str_radix(&back, 16).unwrap(), x, "{s}");
        }
    }

    #[test]
    fn push_decimal_matches_to_string() {
        for v in [0, 7, -7, 10, 1234567890, -1000, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }
}
