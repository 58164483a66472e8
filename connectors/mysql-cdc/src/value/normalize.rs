//! Normalization: snapshot and binlog values of a column to one canonical form.

use std::borrow::Cow;

use mysql_async::binlog::events::TableMapEvent;
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value;
use rust_core::{BridgeError, Result};

use super::decimal::{canonical_decimal, normalize_decimal};
use super::json::write_jsonb;
use super::kind::{kind, Kind};
use super::time::civil_from_days;
use super::value_ref::ValueRef;
use crate::schema::{for_each_label, ColumnSchema, TableSchema};

/// A captured row in its table's column order, every value in the canonical form described in
/// the documentation of [`crate::value`]: snapshot and binlog give identical values for the same stored data.
pub type RowValues = Vec<Value>;

/// A snapshot row read with the binary protocol (a prepared statement: `exec_iter` /
/// `exec_stream`) on a session whose `time_zone` is `'+00:00'`, in canonical form. The row must
/// hold the table's columns in table order (`SELECT` of every column, as the schema lists them).
/// Hot loops should use a [`RowNormalizer`], which classifies the columns once.
pub fn snapshot_row(table: &TableSchema, row: mysql_async::Row) -> Result<RowValues> {
    normalize_snapshot_row(table, |i| kind(&table.columns[i]), row)
}

/// A binlog row image (of a Write/Update/Delete rows event, with the event's table map) in
/// canonical form. Requires full row images (`binlog_row_image=FULL`).
/// Hot loops should use a [`RowNormalizer`], which classifies the columns once.
pub fn binlog_row(
    table: &TableSchema,
    row: BinlogRow,
    tme: &TableMapEvent<'_>,
) -> Result<RowValues> {
    normalize_binlog_row(table, |i| kind(&table.columns[i]), row, tme, false)
}

/// [`snapshot_row`] and [`binlog_row`] for one table with each column's type classified once
/// (instead of matching the `DATA_TYPE` text of every value). Pass the same schema it was built
/// from; rebuild it when the schema changes.
#[derive(Clone, Debug)]
pub struct RowNormalizer {
    pub(super) kinds: Vec<Kind>,
    /// MySQL binary JSON from the binlog without spaces (`use.legacy.json.format`).
    compact_json: bool,
}

impl RowNormalizer {
    pub fn new(table: &TableSchema) -> Self {
        RowNormalizer {
            kinds: table.columns.iter().map(kind).collect(),
            compact_json: false,
        }
    }

    /// Binlog JSON values (MySQL's binary JSON) written compactly, `{"k":"v","a":[1,2]}`, as Flink
    /// CDC's `use.legacy.json.format` = true does; false keeps MySQL's `{"k": "v", "a": [1, 2]}`.
    pub fn with_compact_json(mut self, compact: bool) -> Self {
        self.compact_json = compact;
        self
    }

    pub fn snapshot_row(&self, table: &TableSchema, row: mysql_async::Row) -> Result<RowValues> {
        self.check(table)?;
        normalize_snapshot_row(table, |i| self.kinds[i], row)
    }

    pub fn binlog_row(
        &self,
        table: &TableSchema,
        row: BinlogRow,
        tme: &TableMapEvent<'_>,
    ) -> Result<RowValues> {
        self.check(table)?;
        normalize_binlog_row(table, |i| self.kinds[i], row, tme, self.compact_json)
    }

    /// A full binlog row image already split into values by a [`BinlogImageLayout`](super::BinlogImageLayout) (every
    /// column of the table, in order) with each column's collation id: the same canonical form
    /// as [`Self::binlog_row`], without mysql_common's per-row column metadata.
    pub fn binlog_values(
        &self,
        table: &TableSchema,
        values: Vec<Option<BinlogValue<'_>>>,
        charsets: &[u16],
    ) -> Result<RowValues> {
        self.check(table)?;
        check_arity(table, values.len(), "binlog")?;
        values
            .into_iter()
            .zip(&table.columns)
            .enumerate()
            .map(|(i, (value, column))| {
                binlog_value(
                    table,
                    column,
                    self.kinds[i],
                    value,
                    charsets.get(i).copied().unwrap_or(0),
                    self.compact_json,
                )
            })
            .collect()
    }

    pub(super) fn check(&self, table: &TableSchema) -> Result<()> {
        if self.kinds.len() != table.columns.len() {
            return Err(BridgeError::other(format!(
                "RowNormalizer of {} columns used with {} ({} columns): rebuild it for the new schema",
                self.kinds.len(),
                table.id,
                table.columns.len()
            )));
        }
        Ok(())
    }
}

fn normalize_snapshot_row(
    table: &TableSchema,
    kind_of: impl Fn(usize) -> Kind,
    row: mysql_async::Row,
) -> Result<RowValues> {
    let values = row.unwrap_raw();
    check_arity(table, values.len(), "snapshot")?;
    values
        .into_iter()
        .zip(&table.columns)
        .enumerate()
        .map(|(i, (value, column))| {
            // `None` only when the value was taken from the row before it came here.
            let value = value.unwrap_or(Value::NULL);
            let normalized = normalize_snapshot(column, kind_of(i), ValueRef::from(&value))
                .map_err(|detail| value_error(table, column, "snapshot", detail))?;
            // Borrowed bytes are the received bytes or a prefix of them (a CHAR without its
            // trailing spaces): keep the received buffer rather than copy it.
            let kept_prefix = match &normalized {
                ValueRef::Bytes(Cow::Borrowed(b)) => Some(b.len()),
                _ => None,
            };
            let Some(len) = kept_prefix else {
                return Ok(normalized.into_value());
            };
            drop(normalized);
            let Value::Bytes(mut b) = value else {
                unreachable!("only Value::Bytes lends bytes to a ValueRef");
            };
            b.truncate(len);
            Ok(Value::Bytes(b))
        })
        .collect()
}

fn normalize_binlog_row(
    table: &TableSchema,
    kind_of: impl Fn(usize) -> Kind,
    mut row: BinlogRow,
    tme: &TableMapEvent<'_>,
    compact_json: bool,
) -> Result<RowValues> {
    check_arity(table, row.len(), "binlog")?;
    if tme.columns_count() as usize != table.columns.len() {
        return Err(BridgeError::other(format!(
            "binlog table map of {} has {} columns but its schema has {}: the table changed",
            table.id,
            tme.columns_count(),
            table.columns.len()
        )));
    }
    let mut out = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        // The column's collation id from the table map (0 when the server did not send it).
        let charset = row.columns_ref().get(i).map_or(0, |c| c.character_set());
        let value = row.take(i);
        out.push(binlog_value(
            table,
            column,
            kind_of(i),
            value,
            charset,
            compact_json,
        )?);
    }
    Ok(out)
}

/// One binlog value (`None`: absent or taken) in canonical form; `charset` is the column's
/// collation id from the table map (0 when the server did not send it).
fn binlog_value(
    table: &TableSchema,
    column: &ColumnSchema,
    kind: Kind,
    value: Option<BinlogValue<'_>>,
    charset: u16,
    compact_json: bool,
) -> Result<Value> {
    let value = match value {
        None => Value::NULL,
        Some(BinlogValue::Value(v)) => v,
        Some(BinlogValue::Jsonb(j)) => {
            let mut text = Vec::new();
            write_jsonb(&j, &mut text, compact_json)
                .map_err(|e| value_error(table, column, "binlog", format!("invalid JSON: {e}")))?;
            Value::Bytes(text)
        }
        Some(BinlogValue::JsonDiff(_)) => {
            return Err(value_error(
                table,
                column,
                "binlog",
                "partial JSON update: set binlog_row_value_options='' (full JSON images)".into(),
            ))
        }
    };
    normalize_binlog(column, kind, value, charset)
        .map_err(|detail| value_error(table, column, "binlog", detail))
}

pub(super) fn check_arity(table: &TableSchema, got: usize, what: &str) -> Result<()> {
    if got != table.columns.len() {
        return Err(BridgeError::other(format!(
            "{what} row of {} has {got} values but the table has {} columns: select every column \
             in table order (snapshot), or set binlog_row_image=FULL (binlog); if the table's \
             schema changed, reload it",
            table.id,
            table.columns.len()
        )));
    }
    Ok(())
}

pub(super) fn value_error(
    table: &TableSchema,
    column: &ColumnSchema,
    source: &str,
    detail: String,
) -> BridgeError {
    BridgeError::other(format!(
        "{source} value of column `{}` ({}) of {}: {detail}",
        column.name, column.column_type, table.id
    ))
}

pub(super) fn unexpected(value: &Value) -> String {
    format!("unexpected value {value:?} for this column type")
}

/// A snapshot value in canonical form, borrowing the received bytes where they need no change.
/// `value` is as the binary protocol decoded it (mysql_common's [`Value`], or the same value
/// read from the row packet by [`BinaryRowReader`](super::BinaryRowReader)), its bytes borrowed.
pub(super) fn normalize_snapshot<'a>(
    column: &ColumnSchema,
    kind: Kind,
    value: ValueRef<'a>,
) -> Result<ValueRef<'a>, String> {
    if matches!(value, ValueRef::Null) {
        return Ok(ValueRef::Null);
    }
    // `into_value` copies bytes only on the way to an error or where the value is rewritten
    // anyway (BIT, short BINARY(n)); the other values there hold no bytes.
    Ok(match kind {
        Kind::Int { unsigned, bits } => int_value(unsigned, bits, &value.into_value())?.into(),
        Kind::Year => match value {
            ValueRef::Int(y) => ValueRef::Int(y),
            ValueRef::UInt(y) => ValueRef::Int(y as i64),
            v => return Err(unexpected(&v.into_value())),
        },
        Kind::Bit { bytes } => bit_value(bytes, value.into_value())?.into(),
        Kind::Float | Kind::Double => value,
        Kind::Decimal { scale } => match value {
            ValueRef::Bytes(Cow::Borrowed(b)) => ValueRef::Bytes(canonical_decimal(b, scale)?),
            ValueRef::Bytes(Cow::Owned(b)) => {
                ValueRef::Bytes(Cow::Owned(normalize_decimal(b, scale)?))
            }
            v => return Err(unexpected(&v.into_value())),
        },
        Kind::Char => match value {
            ValueRef::Bytes(Cow::Borrowed(b)) => {
                ValueRef::Bytes(Cow::Borrowed(trim_trailing_spaces(b)))
            }
            ValueRef::Bytes(Cow::Owned(b)) => trim_char(Value::Bytes(b)).into(),
            v => v,
        },
        Kind::FixedBinary { length } => match value {
            ValueRef::Bytes(ref b) if b.len() < length => {
                pad_binary(value.into_value(), length).into()
            }
            v => v,
        },
        Kind::Text
        | Kind::Enum
        | Kind::Set
        | Kind::Json
        | Kind::Binary
        | Kind::Geometry
        | Kind::Other => value,
        // Dates and times hold no bytes: `into_value` copies a few integers.
        Kind::Date | Kind::DateTime | Kind::Timestamp => {
            date_value(column, value.into_value())?.into()
        }
        Kind::Time => time_value(value.into_value())?.into(),
    })
}

fn normalize_binlog(
    column: &ColumnSchema,
    kind: Kind,
    value: Value,
    charset: u16,
) -> Result<Value, String> {
    if value == Value::NULL {
        return Ok(value);
    }
    Ok(match kind {
        Kind::Int { unsigned, bits } => int_value(unsigned, bits, &value)?,
        Kind::Year => match value {
            // mysql_common renders the stored byte y as the text 1900 + y; 0 stands for 0000.
            Value::Bytes(b) => {
                let year = parse_u64(&b)
                    .ok_or_else(|| format!("bad YEAR {:?}", String::from_utf8_lossy(&b)))?;
                Value::Int(if year == 1900 { 0 } else { year as i64 })
            }
            Value::Int(y) => Value::Int(y),
            v => return Err(unexpected(&v)),
        },
        Kind::Bit { bytes } => bit_value(bytes, value)?,
        Kind::Float | Kind::Double => value,
        Kind::Decimal { scale } => match value {
            Value::Bytes(b) => Value::Bytes(normalize_decimal(b, scale)?),
            v => return Err(unexpected(&v)),
        },
        Kind::Char => trim_char(transcode(value, charset)),
        Kind::Text | Kind::Json => transcode(value, charset),
        Kind::Enum => match value {
            Value::Int(index) => enum_label(column, index)?,
            Value::UInt(index) => enum_label(column, index as i64)?,
            // Already text (a server that logs labels): keep it.
            v @ Value::Bytes(_) => v,
            v => return Err(unexpected(&v)),
        },
        Kind::Set => match value {
            Value::Bytes(bitmap) => set_labels(column, &bitmap),
            Value::Int(bits) => set_labels(column, &bits.to_le_bytes()),
            v => return Err(unexpected(&v)),
        },
        Kind::FixedBinary { length } => pad_binary(value, length),
        Kind::Binary | Kind::Geometry | Kind::Other => value,
        Kind::Date | Kind::DateTime => date_value(column, value)?,
        Kind::Timestamp => match value {
            // TIMESTAMP2: "seconds[.micros]" since the epoch; old TIMESTAMP: seconds.
            Value::Bytes(b) => epoch_text_to_utc(&b)?,
            Value::Int(secs) => epoch_to_utc(secs, 0),
            v => date_value(column, v)?,
        },
        Kind::Time => time_value(value)?,
    })
}

/// An integer of `bits` bits, whatever signedness the decoder assumed: reinterpret its low bits.
pub(super) fn int_value(unsigned: bool, bits: u32, value: &Value) -> Result<Value, String> {
    let raw = match *value {
        Value::Int(v) => v as u64,
        Value::UInt(v) => v,
        ref v => return Err(unexpected(v)),
    };
    let shift = 64 - bits;
    Ok(if unsigned {
        Value::UInt((raw << shift) >> shift)
    } else {
        Value::Int(((raw << shift) as i64) >> shift)
    })
}

fn bit_value(bytes: usize, value: Value) -> Result<Value, String> {
    match value {
        Value::Bytes(b) if b.len() == bytes => Ok(Value::Bytes(b)),
        Value::Bytes(b) if b.len() < bytes => {
            let mut out = vec![0u8; bytes - b.len()];
            out.extend_from_slice(&b);
            Ok(Value::Bytes(out))
        }
        Value::Bytes(b) => Ok(Value::Bytes(b[b.len() - bytes..].to_vec())),
        Value::Int(v) => Ok(Value::Bytes(
            (v as u64).to_be_bytes()[8 - bytes.min(8)..].to_vec(),
        )),
        Value::UInt(v) => Ok(Value::Bytes(v.to_be_bytes()[8 - bytes.min(8)..].to_vec())),
        v => Err(unexpected(&v)),
    }
}

fn trim_char(value: Value) -> Value {
    match value {
        Value::Bytes(mut b) => {
            let len = trim_trailing_spaces(&b).len();
            b.truncate(len);
            Value::Bytes(b)
        }
        v => v,
    }
}

/// A CHAR value without its trailing spaces (MySQL strips them on read).
pub(super) fn trim_trailing_spaces(b: &[u8]) -> &[u8] {
    &b[..b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1)]
}

fn pad_binary(value: Value, length: usize) -> Value {
    match value {
        Value::Bytes(mut b) if b.len() < length => {
            b.resize(length, 0);
            Value::Bytes(b)
        }
        v => v,
    }
}

/// MySQL collation ids of latin1 (MySQL's latin1 is Windows-1252).
const LATIN1_COLLATIONS: [u16; 8] = [5, 8, 15, 31, 47, 48, 49, 94];

/// Binlog text is in the column's character set; the snapshot's is in the connection's (utf8mb4).
fn transcode(value: Value, collation: u16) -> Value {
    match value {
        Value::Bytes(b) if LATIN1_COLLATIONS.contains(&collation) && !b.is_ascii() => {
            let mut s = String::with_capacity(b.len() + 8);
            for &c in &b {
                s.push(cp1252(c));
            }
            Value::Bytes(s.into_bytes())
        }
        v => v,
    }
}

fn cp1252(c: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match c {
        0x80..=0x9f => HIGH[(c - 0x80) as usize],
        _ => char::from(c),
    }
}

/// The ENUM label of a binlog index (1-based; 0 is the empty "invalid value" MySQL stores for
/// out-of-range inserts in non-strict mode).
fn enum_label(column: &ColumnSchema, index: i64) -> Result<Value, String> {
    if index == 0 {
        return Ok(Value::Bytes(Vec::new()));
    }
    let mut found = None;
    for_each_label(&column.column_type, |i, label| {
        if i as i64 == index - 1 {
            found = Some(label.into_owned().into_bytes());
        }
    });
    found
        .map(Value::Bytes)
        .ok_or_else(|| format!("ENUM index {index} is not in {}", column.column_type))
}

/// The labels of the SET bits (little-endian bitmap), joined by `,` in definition order, as
/// MySQL returns a SET.
fn set_labels(column: &ColumnSchema, bitmap: &[u8]) -> Value {
    let mut out = Vec::new();
    for_each_label(&column.column_type, |i, label| {
        if bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0) {
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(label.as_bytes());
        }
    });
    Value::Bytes(out)
}

pub(super) fn is_zero_date(y: u16, m: u8, d: u8) -> bool {
    y == 0 || m == 0 || d == 0
}

/// Zero dates become NULL (nullable column) or the epoch (NOT NULL column), as in Debezium.
fn zero_date(column: &ColumnSchema) -> Value {
    if column.nullable {
        Value::NULL
    } else {
        Value::Date(1970, 1, 1, 0, 0, 0, 0)
    }
}

fn date_value(column: &ColumnSchema, value: Value) -> Result<Value, String> {
    match value {
        Value::Date(y, m, d, ..) if is_zero_date(y, m, d) => Ok(zero_date(column)),
        v @ Value::Date(..) => Ok(v),
        v => Err(unexpected(&v)),
    }
}

/// TIME with hours below 24 and whole days apart, as the binary protocol sends it.
fn time_value(value: Value) -> Result<Value, String> {
    match value {
        Value::Time(neg, days, h, m, s, us) => {
            let days = days + u32::from(h) / 24;
            let h = h % 24;
            // -00:00:00 is 00:00:00.
            let neg = neg && (days, h, m, s, us) != (0, 0, 0, 0, 0);
            Ok(Value::Time(neg, days, h, m, s, us))
        }
        v => Err(unexpected(&v)),
    }
}

fn epoch_text_to_utc(text: &[u8]) -> Result<Value, String> {
    let bad = || format!("bad TIMESTAMP {:?}", String::from_utf8_lossy(text));
    let (secs, frac) = match text.iter().position(|&c| c == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &text[..0]),
    };
    let secs = parse_u64(secs).ok_or_else(bad)? as i64;
    let mut micros = 0u32;
    for i in 0..6 {
        let digit = match frac.get(i) {
            Some(c @ b'0'..=b'9') => u32::from(c - b'0'),
            None => 0,
            Some(_) => return Err(bad()),
        };
        micros = micros * 10 + digit;
    }
    Ok(epoch_to_utc(secs, micros))
}

/// Epoch seconds of a TIMESTAMP as a UTC wall clock. 0 is MySQL's zero TIMESTAMP: it reads as the
/// epoch, as in Flink CDC's binlog phase (see the documentation of [`crate::value`]), even in a nullable column.
fn epoch_to_utc(secs: i64, micros: u32) -> Value {
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    Value::Date(
        y as u16,
        m,
        d,
        (sod / 3600) as u8,
        (sod % 3600 / 60) as u8,
        (sod % 60) as u8,
        micros,
    )
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}
