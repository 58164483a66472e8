//! Flink `BinaryRowData` encoding.
//!
//! Rows cross JNI already in the byte layout of Flink's `BinaryRowData`, written exactly as
//! `org.apache.flink.table.data.writer.BinaryRowWriter` (flink-table-runtime) writes them into a
//! fresh (zeroed) segment, so Java only points a `BinaryRowData` at the bytes. The layout, checked
//! against Flink 1.20 (`BinaryRowData`, `BinarySegmentUtils`, `BinaryFormat`, `BinaryRowWriter`,
//! `AbstractBinaryWriter`):
//!
//! - Everything little-endian (`BinaryRowData.LITTLE_ENDIAN` on x86/aarch64).
//! - Null bits: `((arity + 63 + 8) / 64) * 8` bytes. Byte 0 is the row kind
//!   (`RowKind#toByteValue`); the null bit of field `i` is bit `(i + 8) & 7` of byte `(i + 8) >> 3`.
//! - Fixed-length part: one 8-byte slot per field, right after the null bits.
//!   BOOLEAN (1 byte: 0/1), TINYINT (1), SMALLINT (2), INT / DATE (epoch days) / TIME (millis of
//!   day) (4), BIGINT, FLOAT / DOUBLE (raw IEEE bits), compact DECIMAL (precision <= 18: the
//!   unscaled long) and compact TIMESTAMP / TIMESTAMP_LTZ (precision <= 3: epoch millis). Unused
//!   slot bytes are zero.
//! - CHAR / VARCHAR (UTF-8) and BINARY / VARBINARY of at most 7 bytes live in the slot: the bytes
//!   from the slot's first byte on, and `0x80 | len` in its last byte. Longer values go to the
//!   variable-length part, padded with zeros to a multiple of 8, and the slot holds
//!   `offset << 32 | len` with `offset` relative to the row start.
//! - Wide DECIMAL (precision > 18): 16 zeroed bytes of the variable part get the unscaled value as
//!   `BigInteger#toByteArray` (minimal big-endian two's complement); slot `offset << 32 | nbytes`.
//! - Wide TIMESTAMP / TIMESTAMP_LTZ (precision > 3): 8 bytes of the variable part hold the epoch
//!   millis (floor), the slot holds `offset << 32 | nanoOfMillisecond` (0..=999_999).
//! - NULL: null bit set, slot zero (`BinaryRowWriter#setNullAt`); except wide DECIMAL and wide
//!   TIMESTAMP, which still reserve their zeroed 16 / 8 variable-part bytes and keep
//!   `offset << 32` in the slot so the field can be set in place later. That is what Flink's
//!   generated projections write (`CodeGenUtils.binaryWriterWriteNull` calls
//!   `writeDecimal(pos, null, p)` / `writeTimestamp(pos, null, p)`); note that
//!   `RowDataSerializer#toBinaryRow` uses plain `setNullAt` there instead. Both read back the same.
//! - ARRAY<VARCHAR(n)> (Arrow `List<Utf8>`) is a `BinaryArrayData` in the variable part, laid
//!   out as `BinaryArrayWriter` (with `ArrayDataSerializer#toBinaryArray`) writes it: the element
//!   count (int32), then one null bit per element (bit `j & 7` of byte `4 + (j >> 3)`) padded to
//!   whole 4-byte words, then one 8-byte slot per element, the whole fixed part rounded up to a
//!   multiple of 8 (an empty array is 8 bytes: count 0 and padding). Element slots hold strings
//!   exactly as row slots do (inline up to 7 bytes, else `offset << 32 | len` with the bytes
//!   padded to 8 after the fixed part, `offset` relative to the array start); a NULL element has
//!   its bit set and a zero slot. The row slot holds `offset << 32 | array size`. A NULL array is
//!   the null bit and a zero slot, nothing in the variable part.
//! - Variable-part values follow in field order; row size = fixed part + variable part.
//!
//! The encoder works column by column: one pass sizes every row (only string / binary columns
//! vary), the output is grown and zeroed once, then each column is written by a loop specialised
//! for its type.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};

use crate::api::RowKind;
use crate::error::{BridgeError, Result};
use crate::types::{
    FlinkType, RowType, MAX_COMPACT_DECIMAL_PRECISION, MAX_COMPACT_TIMESTAMP_PRECISION,
};

/// Bits in front of the null bits that hold the row kind (`BinaryRowData.HEADER_SIZE_IN_BITS`).
const HEADER_SIZE_IN_BITS: usize = 8;
/// Longest string / binary kept inside its slot (`BinaryFormat.MAX_FIX_PART_DATA_SIZE`).
const MAX_FIX_PART_DATA_SIZE: usize = 7;
/// Variable-part bytes a wide (non-compact) DECIMAL always takes.
const WIDE_DECIMAL_SIZE: usize = 16;
/// Variable-part bytes a wide (non-compact) TIMESTAMP always takes.
const WIDE_TIMESTAMP_SIZE: usize = 8;

/// `BinaryRowData.calculateBitSetWidthInBytes`: null bits plus the row-kind header, in whole words.
pub(crate) fn null_bits_size_in_bytes(arity: usize) -> usize {
    ((arity + 63 + HEADER_SIZE_IN_BITS) / 64) * 8
}

/// `BinaryRowData#getFixedLengthPartSize`: null bits plus one 8-byte slot per field.
pub(crate) fn fixed_length_part_size(arity: usize) -> usize {
    null_bits_size_in_bytes(arity) + 8 * arity
}

#[inline]
fn round_to_word(len: usize) -> usize {
    (len + 7) & !7
}

/// How a column is written; chosen once per column from its Flink type.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Date,
    Time,
    Decimal { precision: u8, scale: u8 },
    String,
    Binary,
    Timestamp { ltz: bool, compact: bool },
    StringArray,
}

impl Kind {
    fn of(ty: FlinkType) -> Kind {
        match ty {
            FlinkType::Boolean => Kind::Boolean,
            FlinkType::TinyInt => Kind::TinyInt,
            FlinkType::SmallInt => Kind::SmallInt,
            FlinkType::Int => Kind::Int,
            FlinkType::BigInt => Kind::BigInt,
            FlinkType::Float => Kind::Float,
            FlinkType::Double => Kind::Double,
            FlinkType::Decimal { precision, scale } => Kind::Decimal { precision, scale },
            FlinkType::Char { .. } | FlinkType::VarChar { .. } => Kind::String,
            FlinkType::Binary { .. } | FlinkType::VarBinary { .. } => Kind::Binary,
            FlinkType::Date => Kind::Date,
            FlinkType::Time { .. } => Kind::Time,
            FlinkType::Timestamp { precision } => Kind::Timestamp {
                ltz: false,
                compact: precision <= MAX_COMPACT_TIMESTAMP_PRECISION,
            },
            FlinkType::TimestampLtz { precision } => Kind::Timestamp {
                ltz: true,
                compact: precision <= MAX_COMPACT_TIMESTAMP_PRECISION,
            },
            FlinkType::Array(_) => Kind::StringArray,
        }
    }

    /// Variable-part bytes every row takes for this column, whatever the value (null included).
    fn reserved_var_size(self) -> usize {
        match self {
            Kind::Decimal { precision, .. } if precision > MAX_COMPACT_DECIMAL_PRECISION => {
                WIDE_DECIMAL_SIZE
            }
            Kind::Timestamp { compact: false, .. } => WIDE_TIMESTAMP_SIZE,
            _ => 0,
        }
    }
}

/// Per-column constants, computed once in [`BinaryRowEncoder::new`].
#[derive(Clone, Debug)]
struct ColumnPlan {
    name: String,
    ty: FlinkType,
    kind: Kind,
    /// Offset of the field's slot from the row start.
    slot: usize,
    /// Byte (from the row start) and mask of the field's null bit.
    null_byte: usize,
    null_mask: u8,
}

/// One column of the batch being encoded, downcast once per batch.
enum Values<'a> {
    Boolean(&'a BooleanArray),
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Decimal {
        values: &'a [i128],
        limit: i128,
        compact: bool,
    },
    /// Utf8 and Binary: `offsets` has one more entry than rows and indexes `data`.
    Bytes {
        offsets: &'a [i32],
        data: &'a [u8],
    },
    Timestamp {
        values: &'a [i64],
        unit: TimeUnit,
        compact: bool,
    },
    /// `List<Utf8>`: row `i`'s elements are `elements[lists[i]..lists[i + 1]]`, element `j`'s
    /// bytes `data[elements[j]..elements[j + 1]]`.
    StringLists {
        lists: &'a [i32],
        elements: &'a [i32],
        data: &'a [u8],
        /// Only present when some element is null.
        element_nulls: Option<&'a NullBuffer>,
    },
}

struct ColumnView<'a> {
    values: Values<'a>,
    /// Only present when the column has at least one null.
    nulls: Option<&'a NullBuffer>,
}

/// Encodes Arrow batches of one row type into Flink's `BinaryRowData` byte layout.
pub struct BinaryRowEncoder {
    columns: Vec<ColumnPlan>,
    fixed_size: usize,
    /// Fixed part plus the variable-part bytes every row reserves (wide decimals / timestamps).
    base_row_size: usize,
    /// True when some column writes to the variable part, so rows need a cursor.
    has_var_part: bool,
    /// Scratch, reused across batches: absolute start of each row in `out`.
    row_starts: Vec<usize>,
    /// Scratch, reused across batches: each row's variable-part cursor, relative to its start.
    cursors: Vec<usize>,
}

impl BinaryRowEncoder {
    /// An encoder of batches of `row_type`, with per-column plans computed once; the runtime builds
    /// one per reader, for its produced (projected) row type.
    pub fn new(row_type: &RowType) -> Self {
        let arity = row_type.arity();
        let null_bits = null_bits_size_in_bytes(arity);
        let fixed_size = fixed_length_part_size(arity);
        let columns: Vec<ColumnPlan> = row_type
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let bit = i + HEADER_SIZE_IN_BITS;
                ColumnPlan {
                    name: c.name.clone(),
                    ty: c.ty,
                    kind: Kind::of(c.ty),
                    slot: null_bits + 8 * i,
                    null_byte: bit >> 3,
                    null_mask: 1u8 << (bit & 7),
                }
            })
            .collect();
        let reserved: usize = columns.iter().map(|c| c.kind.reserved_var_size()).sum();
        let has_var_part = columns.iter().any(|c| {
            matches!(c.kind, Kind::String | Kind::Binary | Kind::StringArray)
                || c.kind.reserved_var_size() > 0
        });
        BinaryRowEncoder {
            columns,
            fixed_size,
            base_row_size: fixed_size + reserved,
            has_var_part,
            row_starts: Vec::new(),
            cursors: Vec::new(),
        }
    }

    /// Appends every row of `batch` to `out`, one `BinaryRowData` after another, and pushes the
    /// absolute start offset of each row in `out` onto `offsets` (the caller pushes the final end).
    /// `row_kinds` gives each row's kind (header byte); `None` means all INSERT.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        row_kinds: Option<&[RowKind]>,
        out: &mut Vec<u8>,
        offsets: &mut Vec<i32>,
    ) -> Result<()> {
        let num_rows = batch.num_rows();
        if batch.num_columns() != self.columns.len() {
            return Err(BridgeError::other(format!(
                "batch has {} columns but the row type has {}",
                batch.num_columns(),
                self.columns.len()
            )));
        }
        if let Some(kinds) = row_kinds {
            if kinds.len() != num_rows {
                return Err(BridgeError::other(format!(
                    "{} row kinds for a batch of {num_rows} rows",
                    kinds.len()
                )));
            }
        }
        if num_rows == 0 {
            return Ok(());
        }

        let views = self
            .columns
            .iter()
            .zip(batch.columns())
            .map(|(plan, array)| view(plan, array))
            .collect::<Result<Vec<_>>>()?;

        // Size every row and place it.
        let base = out.len();
        let starts = &mut self.row_starts;
        starts.clear();
        let has_sized_columns = views
            .iter()
            .any(|v| matches!(v.values, Values::Bytes { .. } | Values::StringLists { .. }));
        let end = if has_sized_columns {
            starts.resize(num_rows, self.base_row_size);
            for v in &views {
                match v.values {
                    Values::Bytes {
                        offsets: value_offsets,
                        ..
                    } => add_long_value_sizes(starts, value_offsets, v.nulls),
                    Values::StringLists {
                        lists,
                        elements,
                        element_nulls,
                        ..
                    } => {
                        for (i, size) in starts.iter_mut().enumerate() {
                            if v.nulls.is_none_or(|n| n.is_valid(i)) {
                                *size += string_array_size(lists, elements, element_nulls, i);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let mut pos = base;
            for s in starts.iter_mut() {
                let size = *s;
                *s = pos;
                pos += size;
            }
            pos
        } else {
            let size = self.base_row_size;
            starts.extend((0..num_rows).map(|i| base + i * size));
            base + num_rows * size
        };
        if end > i32::MAX as usize {
            return Err(BridgeError::other(format!(
                "encoded rows need {end} bytes, more than the 2 GiB a batch buffer can address"
            )));
        }
        out.resize(end, 0);
        let offsets_before = offsets.len();
        offsets.reserve(num_rows);
        offsets.extend(starts.iter().map(|&s| s as i32));

        if let Some(kinds) = row_kinds {
            for (&start, &kind) in starts.iter().zip(kinds) {
                out[start] = kind as u8;
            }
        }

        let cursors = &mut self.cursors;
        cursors.clear();
        if self.has_var_part {
            cursors.resize(num_rows, self.fixed_size);
        }

        let buf = out.as_mut_slice();
        for (plan, view) in self.columns.iter().zip(&views) {
            if let Err(e) = write_column(plan, view, starts, cursors, buf) {
                // Leave `out` and `offsets` as they were.
                out.truncate(base);
                offsets.truncate(offsets_before);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Adds the padded variable-part size of every non-null value longer than 7 bytes.
fn add_long_value_sizes(sizes: &mut [usize], value_offsets: &[i32], nulls: Option<&NullBuffer>) {
    let lens = value_offsets.windows(2).map(|w| (w[1] - w[0]) as usize);
    match nulls {
        None => {
            for (size, len) in sizes.iter_mut().zip(lens) {
                if len > MAX_FIX_PART_DATA_SIZE {
                    *size += round_to_word(len);
                }
            }
        }
        Some(nulls) => {
            for ((size, len), valid) in sizes.iter_mut().zip(lens).zip(nulls.iter()) {
                if valid && len > MAX_FIX_PART_DATA_SIZE {
                    *size += round_to_word(len);
                }
            }
        }
    }
}

/// `BinaryArrayData.calculateHeaderInBytes`: the element count and the null bits in whole
/// 4-byte words.
fn array_header_size(num_elements: usize) -> usize {
    4 + num_elements.div_ceil(32) * 4
}

/// Bytes of row `i`'s `BinaryArrayData` (a multiple of 8): the rounded fixed part plus the padded
/// bytes of each non-null element longer than 7 bytes.
fn string_array_size(
    lists: &[i32],
    elements: &[i32],
    element_nulls: Option<&NullBuffer>,
    i: usize,
) -> usize {
    let (first, end) = (lists[i] as usize, lists[i + 1] as usize);
    let mut size = round_to_word(array_header_size(end - first) + 8 * (end - first));
    for j in first..end {
        let len = (elements[j + 1] - elements[j]) as usize;
        if len > MAX_FIX_PART_DATA_SIZE && element_nulls.is_none_or(|n| n.is_valid(j)) {
            size += round_to_word(len);
        }
    }
    size
}

fn mismatch(plan: &ColumnPlan, actual: &DataType, expected: &str) -> BridgeError {
    BridgeError::Encoding {
        column: plan.name.clone(),
        detail: format!(
            "Flink type {} needs Arrow {expected} but the batch has {actual}",
            plan.ty
        ),
    }
}

/// Checks the column's Arrow type against its Flink type and borrows its values.
fn view<'a>(plan: &ColumnPlan, array: &'a ArrayRef) -> Result<ColumnView<'a>> {
    let dt = array.data_type();
    let expected = || plan.ty.arrow_type().to_string();
    let values = match (plan.kind, dt) {
        (Kind::Boolean, DataType::Boolean) => Values::Boolean(array.as_boolean()),
        (Kind::TinyInt, DataType::Int8) => Values::I8(array.as_primitive::<Int8Type>().values()),
        (Kind::SmallInt, DataType::Int16) => {
            Values::I16(array.as_primitive::<Int16Type>().values())
        }
        (Kind::Int, DataType::Int32) => Values::I32(array.as_primitive::<Int32Type>().values()),
        (Kind::BigInt, DataType::Int64) => Values::I64(array.as_primitive::<Int64Type>().values()),
        (Kind::Float, DataType::Float32) => {
            Values::F32(array.as_primitive::<Float32Type>().values())
        }
        (Kind::Double, DataType::Float64) => {
            Values::F64(array.as_primitive::<Float64Type>().values())
        }
        (Kind::Date, DataType::Date32) => Values::I32(array.as_primitive::<Date32Type>().values()),
        (Kind::Time, DataType::Time32(TimeUnit::Millisecond)) => {
            Values::I32(array.as_primitive::<Time32MillisecondType>().values())
        }
        // The unscaled value is what Flink stores, so only the scale has to agree; every value is
        // checked against the Flink precision while writing.
        (Kind::Decimal { precision, scale }, DataType::Decimal128(_, s)) if *s == scale as i8 => {
            Values::Decimal {
                values: array.as_primitive::<Decimal128Type>().values(),
                limit: 10i128.pow(precision as u32),
                compact: precision <= MAX_COMPACT_DECIMAL_PRECISION,
            }
        }
        (Kind::String, DataType::Utf8) => {
            let a = array.as_string::<i32>();
            Values::Bytes {
                offsets: a.value_offsets(),
                data: a.value_data(),
            }
        }
        (Kind::Binary, DataType::Binary) => {
            let a = array.as_binary::<i32>();
            Values::Bytes {
                offsets: a.value_offsets(),
                data: a.value_data(),
            }
        }
        // Any unit; TIMESTAMP needs a zone-less Arrow timestamp, TIMESTAMP_LTZ one with a zone
        // (Arrow stores UTC epoch values either way, whatever the zone).
        (Kind::Timestamp { ltz, compact }, DataType::Timestamp(unit, tz))
            if tz.is_some() == ltz =>
        {
            let values = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
            };
            Values::Timestamp {
                values,
                unit: *unit,
                compact,
            }
        }
        (Kind::StringArray, DataType::List(field)) if *field.data_type() == DataType::Utf8 => {
            let lists = array.as_list::<i32>();
            let strings = lists.values().as_string::<i32>();
            Values::StringLists {
                lists: lists.value_offsets(),
                elements: strings.value_offsets(),
                data: strings.value_data(),
                element_nulls: strings.nulls().filter(|n| n.null_count() > 0),
            }
        }
        (Kind::Decimal { scale, .. }, _) => {
            return Err(mismatch(plan, dt, &format!("Decimal128(_, {scale})")))
        }
        (Kind::Timestamp { ltz: false, .. }, _) => {
            return Err(mismatch(plan, dt, "Timestamp(<any unit>, None)"))
        }
        (Kind::Timestamp { ltz: true, .. }, _) => {
            return Err(mismatch(plan, dt, "Timestamp(<any unit>, Some(<zone>))"))
        }
        _ => return Err(mismatch(plan, dt, &expected())),
    };
    let nulls = array.nulls().filter(|n| n.null_count() > 0);
    Ok(ColumnView { values, nulls })
}

#[inline(always)]
fn put_slot(buf: &mut [u8], pos: usize, word: u64) {
    buf[pos..pos + 8].copy_from_slice(&word.to_le_bytes());
}

/// Writes a fixed-width value of `W` bytes at the slot of every row (nulls: bit only, slot
/// stays zero).
#[inline(always)]
fn write_fixed<T: Copy, const W: usize>(
    plan: &ColumnPlan,
    values: &[T],
    nulls: Option<&NullBuffer>,
    starts: &[usize],
    buf: &mut [u8],
    to_bytes: impl Fn(T) -> [u8; W],
) {
    let slot = plan.slot;
    match nulls {
        None => {
            for (&start, &v) in starts.iter().zip(values) {
                let p = start + slot;
                buf[p..p + W].copy_from_slice(&to_bytes(v));
            }
        }
        Some(nulls) => {
            for ((&start, &v), valid) in starts.iter().zip(values).zip(nulls.iter()) {
                if valid {
                    let p = start + slot;
                    buf[p..p + W].copy_from_slice(&to_bytes(v));
                } else {
                    buf[start + plan.null_byte] |= plan.null_mask;
                }
            }
        }
    }
}

fn write_column(
    plan: &ColumnPlan,
    view: &ColumnView<'_>,
    starts: &[usize],
    cursors: &mut [usize],
    buf: &mut [u8],
) -> Result<()> {
    let nulls = view.nulls;
    let is_valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
    match view.values {
        Values::Boolean(array) => {
            let slot = plan.slot;
            for (i, (&start, v)) in starts.iter().zip(array.values().iter()).enumerate() {
                if is_valid(i) {
                    buf[start + slot] = v as u8;
                } else {
                    buf[start + plan.null_byte] |= plan.null_mask;
                }
            }
        }
        Values::I8(v) => write_fixed(plan, v, nulls, starts, buf, i8::to_le_bytes),
        Values::I16(v) => write_fixed(plan, v, nulls, starts, buf, i16::to_le_bytes),
        Values::I32(v) => write_fixed(plan, v, nulls, starts, buf, i32::to_le_bytes),
        Values::I64(v) => write_fixed(plan, v, nulls, starts, buf, i64::to_le_bytes),
        Values::F32(v) => write_fixed(plan, v, nulls, starts, buf, f32::to_le_bytes),
        Values::F64(v) => write_fixed(plan, v, nulls, starts, buf, f64::to_le_bytes),
        Values::Decimal {
            values,
            limit,
            compact,
        } => {
            for (i, (&start, &v)) in starts.iter().zip(values).enumerate() {
                let valid = is_valid(i);
                if valid && !(-limit < v && v < limit) {
                    return Err(decimal_overflow(plan, v));
                }
                if compact {
                    if valid {
                        // |v| < 10^18 here, so the cast is exact.
                        put_slot(buf, start + plan.slot, v as i64 as u64);
                    } else {
                        buf[start + plan.null_byte] |= plan.null_mask;
                    }
                } else {
                    // `AbstractBinaryWriter#writeDecimal`: 16 zeroed bytes, null or not.
                    let cursor = cursors[i];
                    let len = if valid {
                        let bytes = v.to_be_bytes();
                        let len = min_twos_complement_len(v);
                        let at = start + cursor;
                        buf[at..at + len].copy_from_slice(&bytes[16 - len..]);
                        len
                    } else {
                        buf[start + plan.null_byte] |= plan.null_mask;
                        0
                    };
                    put_slot(buf, start + plan.slot, ((cursor as u64) << 32) | len as u64);
                    cursors[i] = cursor + WIDE_DECIMAL_SIZE;
                }
            }
        }
        Values::Bytes {
            offsets: value_offsets,
            data,
        } => {
            for (i, (&start, w)) in starts.iter().zip(value_offsets.windows(2)).enumerate() {
                if !is_valid(i) {
                    buf[start + plan.null_byte] |= plan.null_mask;
                    continue;
                }
                let value = &data[w[0] as usize..w[1] as usize];
                let len = value.len();
                let slot = start + plan.slot;
                if len <= MAX_FIX_PART_DATA_SIZE {
                    buf[slot..slot + len].copy_from_slice(value);
                    buf[slot + 7] = 0x80 | len as u8;
                } else {
                    let cursor = cursors[i];
                    let at = start + cursor;
                    buf[at..at + len].copy_from_slice(value);
                    put_slot(buf, slot, ((cursor as u64) << 32) | len as u64);
                    cursors[i] = cursor + round_to_word(len);
                }
            }
        }
        Values::StringLists {
            lists,
            elements,
            data,
            element_nulls,
        } => {
            for (i, &start) in starts.iter().enumerate() {
                if !is_valid(i) {
                    buf[start + plan.null_byte] |= plan.null_mask;
                    continue;
                }
                let cursor = cursors[i];
                let size = string_array_size(lists, elements, element_nulls, i);
                let array = &mut buf[start + cursor..start + cursor + size];
                write_string_array(array, lists, elements, data, element_nulls, i);
                put_slot(
                    buf,
                    start + plan.slot,
                    ((cursor as u64) << 32) | size as u64,
                );
                cursors[i] = cursor + size;
            }
        }
        Values::Timestamp {
            values,
            unit,
            compact,
        } => {
            for (i, (&start, &v)) in starts.iter().zip(values).enumerate() {
                let valid = is_valid(i);
                let (millis, nanos) = if valid {
                    millis_and_nanos(v, unit).ok_or_else(|| BridgeError::Encoding {
                        column: plan.name.clone(),
                        detail: format!("timestamp {v} {unit:?} overflows epoch milliseconds"),
                    })?
                } else {
                    buf[start + plan.null_byte] |= plan.null_mask;
                    (0, 0)
                };
                if compact {
                    if valid {
                        put_slot(buf, start + plan.slot, millis as u64);
                    }
                } else {
                    // `AbstractBinaryWriter#writeTimestamp`: 8 bytes of millis, null or not.
                    let cursor = cursors[i];
                    let at = start + cursor;
                    buf[at..at + 8].copy_from_slice(&millis.to_le_bytes());
                    put_slot(
                        buf,
                        start + plan.slot,
                        ((cursor as u64) << 32) | nanos as u64,
                    );
                    cursors[i] = cursor + WIDE_TIMESTAMP_SIZE;
                }
            }
        }
    }
    Ok(())
}

/// Writes row `i`'s strings as a `BinaryArrayData` into `array` (zeroed, exactly its size).
fn write_string_array(
    array: &mut [u8],
    lists: &[i32],
    elements: &[i32],
    data: &[u8],
    element_nulls: Option<&NullBuffer>,
    i: usize,
) {
    let (first, end) = (lists[i] as usize, lists[i + 1] as usize);
    let n = end - first;
    array[..4].copy_from_slice(&(n as i32).to_le_bytes());
    let header = array_header_size(n);
    let mut cursor = round_to_word(header + 8 * n);
    for (k, j) in (first..end).enumerate() {
        if !element_nulls.is_none_or(|nulls| nulls.is_valid(j)) {
            array[4 + (k >> 3)] |= 1 << (k & 7);
            continue;
        }
        let value = &data[elements[j] as usize..elements[j + 1] as usize];
        let len = value.len();
        let slot = header + 8 * k;
        if len <= MAX_FIX_PART_DATA_SIZE {
            array[slot..slot + len].copy_from_slice(value);
            array[slot + 7] = 0x80 | len as u8;
        } else {
            array[cursor..cursor + len].copy_from_slice(value);
            put_slot(array, slot, ((cursor as u64) << 32) | len as u64);
            cursor += round_to_word(len);
        }
    }
}

/// Length of `BigInteger#toByteArray` for this value: `bitLength / 8 + 1`.
#[inline]
fn min_twos_complement_len(v: i128) -> usize {
    let magnitude = if v < 0 { !v } else { v };
    let bit_length = 128 - magnitude.leading_zeros() as usize;
    bit_length / 8 + 1
}

/// Epoch milliseconds (floor) and the non-negative nanoseconds within that millisecond.
#[inline]
fn millis_and_nanos(v: i64, unit: TimeUnit) -> Option<(i64, u32)> {
    Some(match unit {
        TimeUnit::Second => (v.checked_mul(1000)?, 0),
        TimeUnit::Millisecond => (v, 0),
        TimeUnit::Microsecond => (v.div_euclid(1000), (v.rem_euclid(1000) * 1000) as u32),
        TimeUnit::Nanosecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) as u32),
    })
}

fn decimal_overflow(plan: &ColumnPlan, unscaled: i128) -> BridgeError {
    let scale = match plan.kind {
        Kind::Decimal { scale, .. } => scale,
        _ => 0,
    };
    BridgeError::Encoding {
        column: plan.name.clone(),
        detail: format!(
            "unscaled value {unscaled} (scale {scale}) does not fit Flink type {}",
            plan.ty
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BinaryArray, Decimal128Array, Int32Array, Int64Array, StringArray,
        TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
        TimestampSecondArray,
    };
    use arrow_schema::{Field, Schema};

    use super::*;

    fn row_type(types: &[&str]) -> RowType {
        let names: Vec<String> = (0..types.len()).map(|i| format!("f{i}")).collect();
        RowType::parse(&names, types).unwrap()
    }

    fn batch(arrays: Vec<ArrayRef>) -> RecordBatch {
        let fields: Vec<Field> = arrays
            .iter()
            .enumerate()
            .map(|(i, a)| Field::new(format!("f{i}"), a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn encode(types: &[&str], arrays: Vec<ArrayRef>, kinds: Option<&[RowKind]>) -> Vec<Vec<u8>> {
        let mut enc = BinaryRowEncoder::new(&row_type(types));
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        enc.encode(&batch(arrays), kinds, &mut out, &mut offsets)
            .unwrap();
        offsets.push(out.len() as i32);
        offsets
            .windows(2)
            .map(|w| out[w[0] as usize..w[1] as usize].to_vec())
            .collect()
    }

    #[test]
    fn sizes_match_flink() {
        assert_eq!(null_bits_size_in_bytes(0), 8);
        assert_eq!(null_bits_size_in_bytes(56), 8);
        assert_eq!(null_bits_size_in_bytes(57), 16);
        assert_eq!(null_bits_size_in_bytes(120), 16);
        assert_eq!(null_bits_size_in_bytes(121), 24);
        assert_eq!(fixed_length_part_size(3), 32);
    }

    #[test]
    fn int_and_null_by_hand() {
        let rows = encode(
            &["INT", "BIGINT"],
            vec![
                Arc::new(Int32Array::from(vec![Some(-2), None])),
                Arc::new(Int64Array::from(vec![None, Some(1)])),
            ],
            Some(&[RowKind::UpdateAfter, RowKind::Delete]),
        );
        assert_eq!(rows.len(), 2);
        // Kind 2; field 1 null: bit 9 = byte 1, bit 1.
        assert_eq!(
            hex(&rows[0]),
            "0202000000000000feffffff000000000000000000000000"
        );
        // Kind 3; field 0 null: bit 8 = byte 1, bit 0.
        assert_eq!(
            hex(&rows[1]),
            "030100000000000000000000000000000100000000000000"
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn strings_inline_and_in_the_variable_part() {
        let rows = encode(
            &["STRING", "STRING"],
            vec![
                Arc::new(StringArray::from(vec!["abc"])),
                Arc::new(StringArray::from(vec!["0123456789"])),
            ],
            None,
        );
        let r = &rows[0];
        assert_eq!(r.len(), 8 + 16 + 16);
        assert_eq!(hex(&r[8..16]), "6162630000000083");
        assert_eq!(hex(&r[16..24]), "0a00000018000000");
        assert_eq!(&r[24..34], b"0123456789");
        assert_eq!(&r[34..], &[0u8; 6]);
    }

    #[test]
    fn timestamps_in_any_unit_agree() {
        // 1969-12-31T23:59:59.999123456Z: millis -1, nanoOfMilli 123456 (ns) / 123000 (us).
        let types = [
            "TIMESTAMP(9)",
            "TIMESTAMP(6)",
            "TIMESTAMP(3)",
            "TIMESTAMP(0)",
        ];
        let by_ns = encode(
            &types,
            vec![
                Arc::new(TimestampNanosecondArray::from(vec![-876_544])),
                Arc::new(TimestampNanosecondArray::from(vec![-877_000])),
                Arc::new(TimestampNanosecondArray::from(vec![-1_000_000])),
                Arc::new(TimestampNanosecondArray::from(vec![-2_000_000_000])),
            ],
            None,
        );
        let by_native = encode(
            &types,
            vec![
                Arc::new(TimestampNanosecondArray::from(vec![-876_544])),
                Arc::new(TimestampMicrosecondArray::from(vec![-877])),
                Arc::new(TimestampMillisecondArray::from(vec![-1])),
                Arc::new(TimestampSecondArray::from(vec![-2])),
            ],
            None,
        );
        assert_eq!(by_ns, by_native);
        let r = &by_ns[0];
        let fixed = 8 + 4 * 8;
        // TIMESTAMP(9): slot = offset << 32 | 123456, var part = -1 millis.
        assert_eq!(
            u64::from_le_bytes(r[8..16].try_into().unwrap()),
            ((fixed as u64) << 32) | 123_456
        );
        assert_eq!(
            i64::from_le_bytes(r[fixed..fixed + 8].try_into().unwrap()),
            -1
        );
        assert_eq!(
            u64::from_le_bytes(r[16..24].try_into().unwrap()),
            (((fixed + 8) as u64) << 32) | 123_000
        );
        assert_eq!(i64::from_le_bytes(r[24..32].try_into().unwrap()), -1);
        assert_eq!(i64::from_le_bytes(r[32..40].try_into().unwrap()), -2000);
        assert_eq!(
            millis_and_nanos(-1, TimeUnit::Nanosecond),
            Some((-1, 999_999))
        );
        assert_eq!(millis_and_nanos(i64::MAX, TimeUnit::Second), None);
    }

    #[test]
    fn ltz_needs_a_zoned_arrow_timestamp() {
        let mut enc = BinaryRowEncoder::new(&row_type(&["TIMESTAMP_LTZ(3)"]));
        let err = enc
            .encode(
                &batch(vec![Arc::new(TimestampMillisecondArray::from(vec![1]))]),
                None,
                &mut Vec::new(),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(
            matches!(err, BridgeError::Encoding { ref column, .. } if column == "f0"),
            "{err}"
        );
        let ok = encode(
            &["TIMESTAMP_LTZ(3)"],
            vec![Arc::new(
                TimestampMillisecondArray::from(vec![1]).with_timezone("+01:00"),
            )],
            None,
        );
        assert_eq!(ok[0][8], 1);
    }

    #[test]
    fn type_mismatch_is_an_encoding_error() {
        let mut enc = BinaryRowEncoder::new(&row_type(&["INT", "BIGINT"]));
        let err = enc
            .encode(
                &batch(vec![
                    Arc::new(Int32Array::from(vec![1])),
                    Arc::new(Int32Array::from(vec![1])),
                ]),
                None,
                &mut Vec::new(),
                &mut Vec::new(),
            )
            .unwrap_err();
        match err {
            BridgeError::Encoding { column, detail } => {
                assert_eq!(column, "f1");
                assert!(
                    detail.contains("BIGINT") && detail.contains("Int64"),
                    "{detail}"
                );
            }
            other => panic!("{other}"),
        }
        // Decimal with another scale.
        let mut enc = BinaryRowEncoder::new(&row_type(&["DECIMAL(10, 2)"]));
        let dec = Decimal128Array::from(vec![1i128])
            .with_precision_and_scale(10, 3)
            .unwrap();
        assert!(enc
            .encode(
                &batch(vec![Arc::new(dec)]),
                None,
                &mut Vec::new(),
                &mut Vec::new()
            )
            .is_err());
    }

    #[test]
    fn decimal_out_of_precision_is_an_error() {
        let mut enc = BinaryRowEncoder::new(&row_type(&["DECIMAL(3, 1)"]));
        let dec = Decimal128Array::from(vec![1000i128])
            .with_precision_and_scale(38, 1)
            .unwrap();
        let (mut out, mut offsets) = (vec![1u8, 2, 3], vec![0]);
        let err = enc
            .encode(&batch(vec![Arc::new(dec)]), None, &mut out, &mut offsets)
            .unwrap_err();
        assert!(err.to_string().contains("DECIMAL(3, 1)"), "{err}");
        // Nothing appended on error.
        assert_eq!((out, offsets), (vec![1u8, 2, 3], vec![0]));
    }

    #[test]
    fn bigint_to_byte_array_lengths() {
        for (v, len) in [
            (0i128, 1),
            (-1, 1),
            (127, 1),
            (128, 2),
            (-128, 1),
            (-129, 2),
            (i128::MAX, 16),
            (i128::MIN, 16),
            (10i128.pow(38) - 1, 16),
        ] {
            assert_eq!(min_twos_complement_len(v), len, "{v}");
        }
    }

    #[test]
    fn appends_with_absolute_offsets_and_sliced_arrays() {
        let types = ["INT", "VARBINARY(20)"];
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)]));
        let bins: ArrayRef = Arc::new(BinaryArray::from_opt_vec(vec![
            Some(b"short".as_slice()),
            Some(b"a longer value".as_slice()),
            None,
            Some(b"".as_slice()),
        ]));
        let whole = encode(&types, vec![ints.clone(), bins.clone()], None);

        let mut enc = BinaryRowEncoder::new(&row_type(&types));
        let mut out = vec![0xAA; 5];
        let mut offsets = Vec::new();
        let b = batch(vec![ints, bins]);
        enc.encode(&b.slice(0, 1), None, &mut out, &mut offsets)
            .unwrap();
        enc.encode(&b.slice(1, 3), None, &mut out, &mut offsets)
            .unwrap();
        offsets.push(out.len() as i32);
        assert_eq!(offsets[0], 5);
        let rows: Vec<Vec<u8>> = offsets
            .windows(2)
            .map(|w| out[w[0] as usize..w[1] as usize].to_vec())
            .collect();
        assert_eq!(rows, whole);
    }

    #[test]
    fn zero_column_rows_are_the_header_word() {
        let mut enc = BinaryRowEncoder::new(&RowType::default());
        let b = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(2)),
        )
        .unwrap();
        let (mut out, mut offsets) = (Vec::new(), Vec::new());
        enc.encode(
            &b,
            Some(&[RowKind::Insert, RowKind::Delete]),
            &mut out,
            &mut offsets,
        )
        .unwrap();
        assert_eq!(offsets, vec![0, 8]);
        assert_eq!(hex(&out), "00000000000000000300000000000000");
    }

    #[test]
    fn wrong_arity_and_kinds_are_errors() {
        let mut enc = BinaryRowEncoder::new(&row_type(&["INT"]));
        let b = batch(vec![Arc::new(Int32Array::from(vec![1, 2]))]);
        assert!(enc
            .encode(
                &b,
                Some(&[RowKind::Insert]),
                &mut Vec::new(),
                &mut Vec::new()
            )
            .is_err());
        let b2 = batch(vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int32Array::from(vec![1])),
        ]);
        assert!(enc
            .encode(&b2, None, &mut Vec::new(), &mut Vec::new())
            .is_err());
    }
}
