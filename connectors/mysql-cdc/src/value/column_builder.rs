//! One Arrow builder per Flink column: canonical values appended through their conversion.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, Time32MillisecondBuilder, TimestampMicrosecondBuilder,
    TimestampMillisecondBuilder, TimestampNanosecondBuilder,
};
use arrow_array::ArrayRef;
use arrow_schema::TimeUnit;
use rust_core::types::{timestamp_unit, FlinkType};

use super::decimal::{parse_decimal, parse_float_text, round_decimal, scale_int};
use super::flink_type::Conv;
use super::time::{days_from_civil, timestamp_micros, ServerTimeZone};
use super::value_ref::ValueRef;
use super::{geojson, java_text};

/// One Arrow builder per column of the row type.
pub(super) enum ColumnBuilder {
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal(Decimal128Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    StringList(ListBuilder<StringBuilder>),
    Date(Date32Builder),
    Time(Time32MillisecondBuilder),
    TsMs(TimestampMillisecondBuilder),
    TsUs(TimestampMicrosecondBuilder),
    TsNs(TimestampNanosecondBuilder),
}

impl ColumnBuilder {
    /// A builder with room for `rows` values and, for strings and binaries, `data_bytes` bytes.
    pub(super) fn new(ty: FlinkType, rows: usize, data_bytes: usize) -> Self {
        let dt = ty.arrow_type();
        match ty {
            FlinkType::Boolean => Self::Bool(BooleanBuilder::with_capacity(rows)),
            FlinkType::TinyInt => Self::I8(Int8Builder::with_capacity(rows)),
            FlinkType::SmallInt => Self::I16(Int16Builder::with_capacity(rows)),
            FlinkType::Int => Self::I32(Int32Builder::with_capacity(rows)),
            FlinkType::BigInt => Self::I64(Int64Builder::with_capacity(rows)),
            FlinkType::Float => Self::F32(Float32Builder::with_capacity(rows)),
            FlinkType::Double => Self::F64(Float64Builder::with_capacity(rows)),
            FlinkType::Decimal { .. } => {
                Self::Decimal(Decimal128Builder::with_capacity(rows).with_data_type(dt))
            }
            FlinkType::Char { .. } | FlinkType::VarChar { .. } => {
                Self::Utf8(StringBuilder::with_capacity(rows, data_bytes))
            }
            FlinkType::Binary { .. } | FlinkType::VarBinary { .. } => {
                Self::Binary(BinaryBuilder::with_capacity(rows, data_bytes))
            }
            FlinkType::Array(_) => Self::StringList(ListBuilder::with_capacity(
                StringBuilder::with_capacity(rows, data_bytes),
                rows,
            )),
            FlinkType::Date => Self::Date(Date32Builder::with_capacity(rows)),
            FlinkType::Time { .. } => Self::Time(Time32MillisecondBuilder::with_capacity(rows)),
            FlinkType::Timestamp { precision } | FlinkType::TimestampLtz { precision } => {
                match timestamp_unit(precision) {
                    TimeUnit::Millisecond | TimeUnit::Second => Self::TsMs(
                        TimestampMillisecondBuilder::with_capacity(rows).with_data_type(dt),
                    ),
                    TimeUnit::Microsecond => Self::TsUs(
                        TimestampMicrosecondBuilder::with_capacity(rows).with_data_type(dt),
                    ),
                    TimeUnit::Nanosecond => Self::TsNs(
                        TimestampNanosecondBuilder::with_capacity(rows).with_data_type(dt),
                    ),
                }
            }
        }
    }

    /// Bytes of string or binary data appended so far (0 for other columns).
    pub(super) fn data_bytes(&self) -> usize {
        match self {
            Self::Utf8(b) => b.values_slice().len(),
            Self::Binary(b) => b.values_slice().len(),
            Self::StringList(b) => b.values_ref().values_slice().len(),
            _ => 0,
        }
    }

    pub(super) fn append_null(&mut self) {
        match self {
            Self::Bool(b) => b.append_null(),
            Self::I8(b) => b.append_null(),
            Self::I16(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::I64(b) => b.append_null(),
            Self::F32(b) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::Decimal(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::StringList(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Time(b) => b.append_null(),
            Self::TsMs(b) => b.append_null(),
            Self::TsUs(b) => b.append_null(),
            Self::TsNs(b) => b.append_null(),
        }
    }

    /// Appends the epoch value of a timestamp given in microseconds (floored to the unit).
    pub(super) fn append_micros(&mut self, micros: i64) -> Result<(), String> {
        match self {
            Self::TsMs(b) => b.append_value(micros.div_euclid(1000)),
            Self::TsUs(b) => b.append_value(micros),
            Self::TsNs(b) => {
                b.append_value(micros.checked_mul(1000).ok_or("timestamp out of range")?)
            }
            _ => return Err("not a timestamp column".into()),
        }
        Ok(())
    }

    pub(super) fn append_str(&mut self, s: &str) -> Result<(), String> {
        match self {
            Self::Utf8(b) => b.append_value(s),
            _ => return Err("not a string column".into()),
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Bool(b) => Arc::new(b.finish()),
            Self::I8(b) => Arc::new(b.finish()),
            Self::I16(b) => Arc::new(b.finish()),
            Self::I32(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::F32(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Decimal(b) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::StringList(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Time(b) => Arc::new(b.finish()),
            Self::TsMs(b) => Arc::new(b.finish()),
            Self::TsUs(b) => Arc::new(b.finish()),
            Self::TsNs(b) => Arc::new(b.finish()),
        }
    }

    /// Appends a canonical value through a conversion chosen at validation. Errors describe the
    /// value; the caller adds table and column.
    pub(super) fn append(
        &mut self,
        conv: Conv,
        value: &ValueRef<'_>,
        zone: &ServerTimeZone,
    ) -> Result<(), String> {
        match (self, conv, value) {
            (Self::Bool(b), Conv::Bool, ValueRef::Int(v)) => b.append_value(*v != 0),
            (Self::Bool(b), Conv::Bool, ValueRef::UInt(v)) => b.append_value(*v != 0),
            (Self::Bool(b), Conv::Bool, ValueRef::Bytes(v)) => {
                b.append_value(v.iter().any(|&c| c != 0))
            }
            (this, Conv::Int, ValueRef::Int(v)) => this.append_int(i128::from(*v))?,
            (this, Conv::Int, ValueRef::UInt(v)) => this.append_int(i128::from(*v))?,
            (Self::F32(b), Conv::Float, ValueRef::Float(v)) => b.append_value(*v),
            // Java's `(float) double`, as Flink CDC converts: nearest float, infinity beyond.
            (Self::F32(b), Conv::Float, ValueRef::Double(v)) => b.append_value(*v as f32),
            (Self::F64(b), Conv::Double, ValueRef::Float(v)) => b.append_value(f64::from(*v)),
            (Self::F64(b), Conv::Double, ValueRef::Double(v)) => b.append_value(*v),
            // Integers and DECIMAL text as Flink CDC reads them into FLOAT or DOUBLE
            // (`Float.parseFloat` / `Double.parseDouble` of the text): correctly rounded, as
            // Rust's conversions and parsers are.
            (Self::F32(b), Conv::Float, ValueRef::Int(v)) => b.append_value(*v as f32),
            (Self::F32(b), Conv::Float, ValueRef::UInt(v)) => b.append_value(*v as f32),
            (Self::F64(b), Conv::Double, ValueRef::Int(v)) => b.append_value(*v as f64),
            (Self::F64(b), Conv::Double, ValueRef::UInt(v)) => b.append_value(*v as f64),
            (Self::F32(b), Conv::Float, ValueRef::Bytes(text)) => {
                b.append_value(parse_float_text(text)?)
            }
            (Self::F64(b), Conv::Double, ValueRef::Bytes(text)) => {
                b.append_value(parse_float_text(text)?)
            }
            (Self::Decimal(b), Conv::RoundedDecimal { precision, scale }, ValueRef::Int(v)) => {
                b.append_option(round_decimal(v.to_string().as_bytes(), precision, scale))
            }
            (Self::Decimal(b), Conv::RoundedDecimal { precision, scale }, ValueRef::UInt(v)) => {
                b.append_option(round_decimal(v.to_string().as_bytes(), precision, scale))
            }
            (
                Self::Decimal(b),
                Conv::RoundedDecimal { precision, scale },
                ValueRef::Bytes(text),
            ) => b.append_option(round_decimal(text, precision, scale)),
            (Self::Decimal(b), Conv::Decimal { scale }, ValueRef::Int(v)) => {
                b.append_value(scale_int(i128::from(*v), scale)?)
            }
            (Self::Decimal(b), Conv::Decimal { scale }, ValueRef::UInt(v)) => {
                b.append_value(scale_int(i128::from(*v), scale)?)
            }
            (Self::Decimal(b), Conv::Decimal { scale }, ValueRef::Bytes(text)) => {
                b.append_value(parse_decimal(text, scale)?)
            }
            (Self::Decimal(b), Conv::FloatDecimal { precision, scale }, ValueRef::Float(v)) => {
                b.append_option(java_text::java_decimal(*v, precision, scale))
            }
            (Self::Decimal(b), Conv::FloatDecimal { precision, scale }, ValueRef::Double(v)) => {
                b.append_option(java_text::java_decimal(*v, precision, scale))
            }
            (Self::Utf8(b), Conv::Utf8, ValueRef::Bytes(v)) => {
                let s = std::str::from_utf8(v).map_err(|e| {
                    format!("not valid UTF-8 ({e}); convert the column to utf8mb4 or declare it as BYTES")
                })?;
                b.append_value(s)
            }
            (Self::Utf8(b), Conv::Utf8, ValueRef::Int(v)) => {
                let _ = write!(b, "{v}");
                b.append_value("")
            }
            (Self::Utf8(b), Conv::Utf8, ValueRef::UInt(v)) => {
                let _ = write!(b, "{v}");
                b.append_value("")
            }
            (Self::Utf8(b), Conv::Utf8, ValueRef::Float(v)) => {
                let mut text = String::new();
                java_text::push_java_float(&mut text, *v);
                b.append_value(text)
            }
            (Self::Utf8(b), Conv::Utf8, ValueRef::Double(v)) => {
                let mut text = String::new();
                java_text::push_java_double(&mut text, *v);
                b.append_value(text)
            }
            (Self::Binary(b), Conv::Binary, ValueRef::Bytes(v)) => b.append_value(v.as_ref()),
            (Self::StringList(b), Conv::SetMembers, ValueRef::Bytes(v)) => {
                let s = std::str::from_utf8(v).map_err(|e| {
                    format!("not valid UTF-8 ({e}); convert the column to utf8mb4 or declare it as BYTES")
                })?;
                for member in set_members(s) {
                    b.values().append_value(member);
                }
                b.append(true)
            }
            (Self::Utf8(b), Conv::GeoJson, ValueRef::Bytes(v)) => {
                b.append_value(geojson::geometry_json(v)?)
            }
            (Self::Binary(b), Conv::BitBytes, ValueRef::Bytes(v)) => {
                // BIT(n) has at most 8 bytes (n <= 64).
                let mut le = [0u8; 8];
                let le = le
                    .get_mut(..v.len())
                    .ok_or("BIT value longer than 8 bytes")?;
                le.copy_from_slice(v);
                le.reverse();
                b.append_value(le)
            }
            (Self::Utf8(b), Conv::BinaryText(mode), ValueRef::Bytes(v)) => {
                b.append_value(crate::config::debezium::binary_text(mode, v))
            }
            (Self::Date(b), Conv::Date, &ValueRef::Date(y, m, d, ..)) => {
                let days = days_from_civil(i64::from(y), u32::from(m), u32::from(d));
                b.append_value(i32::try_from(days).map_err(|_| "date out of range")?)
            }
            (Self::Time(b), Conv::Time, &ValueRef::Time(neg, days, h, m, s, us)) => {
                if neg || days > 0 {
                    return Err(format!(
                        "TIME {}{}:{m:02}:{s:02} is outside Flink TIME's range 00:00:00..23:59:59.999; \
                         Flink has no type for it: leave the column out of the table definition, or keep \
                         such values out of the captured table",
                        if neg { "-" } else { "" },
                        u32::from(h) + days * 24
                    ));
                }
                let ms = ((i32::from(h) * 60 + i32::from(m)) * 60 + i32::from(s)) * 1000
                    + (us / 1000) as i32;
                b.append_value(ms)
            }
            (
                this,
                Conv::Timestamp {
                    shift_seconds,
                    truncate_micros,
                },
                &ValueRef::Date(y, mo, d, h, mi, s, us),
            ) => this.append_micros(timestamp_micros(
                (y, mo, d, h, mi, s, us),
                shift_seconds,
                truncate_micros,
            ))?,
            (
                this,
                Conv::ZonedTimestamp {
                    to_instant,
                    truncate_micros,
                },
                &ValueRef::Date(y, mo, d, h, mi, s, us),
            ) => {
                // The value read as UTC (a wall clock, or the instant itself) at the declared
                // precision; the zone's shift is whole seconds, so it keeps that precision.
                let micros = timestamp_micros((y, mo, d, h, mi, s, us), 0, truncate_micros);
                let seconds = micros.div_euclid(1_000_000);
                let shift = if to_instant {
                    zone.offset_at_wall(seconds)?
                } else {
                    -zone.offset_at_instant(seconds)?
                };
                this.append_micros(micros - shift * 1_000_000)?
            }
            (_, conv, v) => return Err(format!("cannot convert {v:?} with {conv:?}")),
        }
        Ok(())
    }

    pub(super) fn append_int(&mut self, v: i128) -> Result<(), String> {
        let overflow = || {
            format!(
                "{v} does not fit the declared integer type (Flink CDC fails on it too); declare a \
                 wider type (DECIMAL(20, 0) holds every BIGINT UNSIGNED)"
            )
        };
        match self {
            Self::I8(b) => b.append_value(i8::try_from(v).map_err(|_| overflow())?),
            Self::I16(b) => b.append_value(i16::try_from(v).map_err(|_| overflow())?),
            Self::I32(b) => b.append_value(i32::try_from(v).map_err(|_| overflow())?),
            Self::I64(b) => b.append_value(i64::try_from(v).map_err(|_| overflow())?),
            _ => return Err("not an integer column".into()),
        }
        Ok(())
    }
}

/// The members of a SET's text as Flink CDC gives them: Java's `text.split(",")`, so trailing
/// empty members are dropped, but text without a comma is one member even when empty (the empty
/// set reads `[""]`, which `Row#toString` prints as `[]`, as Flink CDC's does).
pub(super) fn set_members(text: &str) -> impl Iterator<Item = &str> {
    let kept = if text.contains(',') {
        text.trim_end_matches(',')
    } else {
        text
    };
    // Only commas trail: "a,," keeps "a"; ",," (all empty) keeps nothing, as in Java.
    let all_commas = kept.is_empty() && !text.is_empty();
    kept.split(',')
        .take(if all_commas { 0 } else { usize::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flink CDC splits a SET's text with Java's `String#split(",")`.
    #[test]
    fn set_members_split_as_java_does() {
        fn split(text: &str) -> Vec<&str> {
            set_members(text).collect()
        }
        assert_eq!(split("a,b,c"), ["a", "b", "c"]);
        assert_eq!(split("c"), ["c"]);
        // No comma: the text itself, even empty (the empty set).
        assert_eq!(split(""), [""]);
        // Trailing empty members are dropped, others kept.
        assert_eq!(split("a,,"), ["a"]);
        assert_eq!(split(",a"), ["", "a"]);
        assert_eq!(split("a,,b"), ["a", "", "b"]);
        assert!(split(",,").is_empty());
    }
}
