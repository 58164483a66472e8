//! Column values: one canonical form for snapshot and binlog rows, ordering of key values, and
//! the conversion of rows into Arrow batches of the source's Flink row type.
//!
//! # Canonical form
//!
//! The snapshot (binary protocol) and the binlog (row events) encode the same stored value
//! differently: the binlog gives an ENUM as its index, a SET as a bitmap, a TIMESTAMP as epoch
//! seconds, a YEAR as text, a BIGINT UNSIGNED as a signed number (MariaDB's table map carries no
//! reliable signedness), trailing `0x00` of a BINARY(n) stripped. [`snapshot_row`] and
//! [`binlog_row`] both normalize, guided by the table schema, to this form:
//!
//! | MySQL column                               | canonical [`Value`]                                  |
//! |--------------------------------------------|------------------------------------------------------|
//! | any, SQL NULL                              | `NULL`                                               |
//! | TINYINT..BIGINT, BOOLEAN (signed)          | `Int(i64)`                                           |
//! | TINYINT..BIGINT UNSIGNED                   | `UInt(u64)`                                          |
//! | YEAR                                       | `Int(year)` (0 for `0000`)                           |
//! | BIT(n)                                     | `Bytes`, big-endian, exactly ⌈n/8⌉ bytes             |
//! | FLOAT / DOUBLE                             | `Float(f32)` / `Double(f64)`                         |
//! | DECIMAL(p, s)                              | `Bytes` of ASCII `-?D+(.D{s})?`, no leading zeros    |
//! | CHAR (trailing spaces removed), VARCHAR, TEXT, JSON | `Bytes`, the UTF-8 text                     |
//! | ENUM / SET                                 | `Bytes`, the label / labels joined by `,` in definition order |
//! | BINARY(n)                                  | `Bytes`, right-padded with `0x00` to n bytes         |
//! | VARBINARY, BLOB                            | `Bytes`                                              |
//! | DATE                                       | `Date(y, m, d, 0, 0, 0, 0)`                          |
//! | DATETIME                                   | `Date(y, m, d, h, mi, s, µs)`, the wall clock        |
//! | TIMESTAMP                                  | `Date(..)`, the instant as a UTC wall clock          |
//! | TIME                                       | `Time(negative, days, h < 24, mi, s, µs)`            |
//!
//! Zero and partly-zero dates (`0000-00-00`, `2020-00-10`; MySQL accepts them without
//! NO_ZERO_DATE / NO_ZERO_IN_DATE) are not dates: like Debezium and Flink CDC, they become `NULL`
//! in a nullable column, and the epoch (`1970-01-01 00:00:00`) in a NOT NULL column. One
//! exception, Flink CDC's too: a zero TIMESTAMP in the binlog is the epoch whatever the column's
//! nullability (the binlog stores a TIMESTAMP as epoch seconds, and Debezium's binlog decoder
//! reads 0 as the instant it is), while the snapshot reads it as any zero date.
//!
//! Snapshot rows must come from the binary protocol (a prepared statement) on a session whose
//! `time_zone` is `'+00:00'`, and the connection character set must be utf8mb4 (mysql_async's
//! default). Binlog text of latin1 columns is transcoded to UTF-8; other single-byte or
//! multi-byte non-UTF-8 character sets are not (their values fail the UTF-8 check when written
//! to a Flink string column).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder, ListBuilder,
    StringBuilder, Time32MillisecondBuilder, TimestampMicrosecondBuilder,
    TimestampMillisecondBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{SchemaRef, TimeUnit};
use mysql_async::binlog::events::{OptionalMetaExtractor, RowsEventData, TableMapEvent};
use mysql_async::binlog::jsonb;
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_common::io::ParseBuf;
use rust_core::api::{ChangeBatch, RowKind};
use rust_core::types::{timestamp_unit, FlinkType, RowType};
use rust_core::{BridgeError, Result};

use crate::coordinates::ChangeCoordinates;
use crate::debezium::{BinaryMode, ValueModes};
use crate::schema::{for_each_label, ColumnSchema, TableId, TableSchema};

mod binary_row;
mod geojson;
mod java_text;
mod snapshot_fast;
mod value_ref;
pub use binary_row::{BinaryRowReader, RowPacketError};
use value_ref::ValueRef;

pub use mysql_async::Value;

/// A captured row in its table's column order, every value in the canonical form described in
/// the module documentation: snapshot and binlog give identical values for the same stored data.
pub type RowValues = Vec<Value>;

// ---------------------------------------------------------------------------------------------
// Column kinds
// ---------------------------------------------------------------------------------------------

/// How a column's values are normalized, derived from its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int {
        unsigned: bool,
        bits: u32,
    },
    Year,
    Bit {
        bytes: usize,
    },
    Float,
    Double,
    Decimal {
        scale: u32,
    },
    /// CHAR: trailing spaces are not part of the value (MySQL strips them on read).
    Char,
    Text,
    Enum,
    Set,
    Json,
    /// BINARY(n): MySQL pads with 0x00 to n bytes; the binlog drops the padding.
    FixedBinary {
        length: usize,
    },
    Binary,
    Date,
    DateTime,
    Timestamp,
    Time,
    /// POINT, GEOMETRY, ..., GEOMETRYCOLLECTION: the stored SRID + WKB bytes.
    Geometry,
    /// Types without a Flink mapping (VECTOR, ...): passed through as received.
    Other,
}

/// A declared column the table does not have (see [`BatchBuilder::binlog_mapping`]).
pub fn absent_column(name: &str) -> ColumnSchema {
    ColumnSchema {
        name: name.to_string(),
        data_type: String::new(),
        column_type: String::new(),
        unsigned: false,
        nullable: true,
        precision: None,
        scale: None,
        char_max_length: None,
    }
}

/// True when values of `a` and `b` are read and normalized alike (same kind, same ENUM/SET
/// labels): a column whose type did not change in any way the connector sees.
pub fn same_value_type(a: &ColumnSchema, b: &ColumnSchema) -> bool {
    !a.data_type.is_empty()
        && !b.data_type.is_empty()
        && kind(a) == kind(b)
        && (!matches!(kind(a), Kind::Enum | Kind::Set) || a.enum_labels() == b.enum_labels())
        && (kind(a) != Kind::Other || a.column_type == b.column_type)
}

fn kind(c: &ColumnSchema) -> Kind {
    let int = |bits| Kind::Int {
        unsigned: c.unsigned,
        bits,
    };
    match c.data_type.as_str() {
        "tinyint" | "bool" | "boolean" => int(8),
        "smallint" => int(16),
        "mediumint" => int(24),
        "int" | "integer" => int(32),
        "bigint" => int(64),
        "year" => Kind::Year,
        "bit" => Kind::Bit {
            bytes: (c.precision.unwrap_or(1) as usize).div_ceil(8).max(1),
        },
        "float" => Kind::Float,
        "double" | "real" | "double precision" => Kind::Double,
        "decimal" | "numeric" | "dec" | "fixed" => Kind::Decimal {
            scale: c.scale.unwrap_or(0),
        },
        "char" => Kind::Char,
        "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Kind::Text,
        "enum" => Kind::Enum,
        "set" => Kind::Set,
        "json" => Kind::Json,
        "binary" => Kind::FixedBinary {
            length: c.char_max_length.unwrap_or(0) as usize,
        },
        "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Binary,
        "date" => Kind::Date,
        "datetime" => Kind::DateTime,
        "timestamp" => Kind::Timestamp,
        "time" => Kind::Time,
        "point" | "geometry" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => Kind::Geometry,
        _ => Kind::Other,
    }
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

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
    kinds: Vec<Kind>,
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

    /// A full binlog row image already split into values by a [`BinlogImageLayout`] (every
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

    fn check(&self, table: &TableSchema) -> Result<()> {
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

/// A row's before and after images as [`BinlogImageLayout`] splits them.
pub type BinlogImages = (
    Option<Vec<Option<BinlogValue<'static>>>>,
    Option<Vec<Option<BinlogValue<'static>>>>,
);

/// How to split binlog row images of one table map into values: each column's type, metadata,
/// signedness and collation, read once per table map. It mirrors mysql_common's `BinlogRow`
/// decoding for full row images (every column present) without rebuilding column metadata for
/// every row, which costs about half of reading the binlog. Pair it with
/// [`RowNormalizer::binlog_values`]; events it does not handle ([`Self::handles`]) go through
/// mysql_common's rows and [`RowNormalizer::binlog_row`].
pub struct BinlogImageLayout {
    types: Vec<ColumnType>,
    metadata: Vec<Vec<u8>>,
    unsigned: Vec<bool>,
    charsets: Vec<u16>,
}

impl BinlogImageLayout {
    pub fn new(tme: &TableMapEvent<'_>) -> std::io::Result<Self> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let n = tme.columns_count() as usize;
        // An image of no columns takes no bytes: the loops over an event's images would never
        // reach its end (an endless loop that grew memory until the process died; found by the
        // binlog_rows fuzz target). No table has no columns.
        if n == 0 {
            return Err(invalid(format!(
                "the table map of {}.{} has no columns",
                tme.database_name(),
                tme.table_name()
            )));
        }
        let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta())?;
        let mut signedness = extractor.iter_signedness();
        let mut charsets = extractor.iter_charset();
        let mut enum_set_charsets = extractor.iter_enum_and_set_charset();
        let mut layout = BinlogImageLayout {
            types: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            unsigned: Vec::with_capacity(n),
            charsets: Vec::with_capacity(n),
        };
        for i in 0..n {
            let ty = match tme.get_column_type(i) {
                Ok(Some(ty)) => ty,
                Ok(None) => return Err(invalid(format!("no type for column {i}"))),
                Err(e) => return Err(invalid(e.to_string())),
            };
            let metadata = tme.get_column_metadata(i).unwrap_or(&[]);
            // mysql_common sizes a DECIMAL's buffer from precision - scale, unchecked: a table map
            // with scale > precision made it allocate exabytes and abort the process (found by
            // the binlog_rows fuzz target). MySQL's limits: precision 1..=65, scale 0..=30.
            // MySQL's typed array is the internal type of a multi-valued index's hidden column,
            // which the binlog never carries. mysql_common decodes its elements with the array's
            // metadata as if it were theirs (an array of ENUM read a byte past a 1-byte map: found
            // by the binlog_rows fuzz target), so it is refused rather than half-checked.
            if ty == ColumnType::MYSQL_TYPE_TYPED_ARRAY {
                return Err(invalid(format!(
                    "column {i} has MySQL's internal typed-array type, which no table column has"
                )));
            }
            if metadata.len() < metadata_len(ty) {
                return Err(invalid(format!(
                    "column {i} of type {ty:?} with metadata {metadata:?}: the type has {} metadata bytes",
                    metadata_len(ty)
                )));
            }
            if ty == ColumnType::MYSQL_TYPE_NEWDECIMAL
                && !matches!(metadata, [p, s] if (1..=65).contains(p) && *s <= 30 && s <= p)
            {
                return Err(invalid(format!(
                    "DECIMAL column {i} with metadata {metadata:?}: no DECIMAL has that precision and scale"
                )));
            }
            layout.metadata.push(metadata.to_vec());
            layout
                .unsigned
                .push(ty.is_numeric_type() && signedness.next().unwrap_or(false));
            let charset = if ty.is_character_type() {
                charsets.next().transpose()?.unwrap_or_default()
            } else if ty.is_enum_or_set_type() {
                enum_set_charsets.next().transpose()?.unwrap_or_default()
            } else {
                0
            };
            layout.charsets.push(charset);
            layout.types.push(ty);
        }
        Ok(layout)
    }

    /// Each column's collation id (0 when the table map has none), for [`RowNormalizer::binlog_values`].
    pub fn charsets(&self) -> &[u16] {
        &self.charsets
    }

    /// True for events of this table map whose images hold every column and no partial JSON.
    pub fn handles(&self, rows: &RowsEventData<'_>) -> bool {
        let n = self.types.len();
        // Every column in the image (binlog_row_image=FULL), read as mysql_common reads the bitmap.
        macro_rules! full {
            ($cols:expr) => {
                $cols.is_none_or(|c| {
                    c.count_ones() == n
                        && (0..n).all(|i| c.get(i).as_deref().copied().unwrap_or(false))
                })
            };
        }
        rows.num_columns() as usize == n
            && !matches!(rows, RowsEventData::PartialUpdateRowsEvent(_))
            && full!(rows.columns_before_image())
            && full!(rows.columns_after_image())
    }

    /// Every row of an event this layout [handles](Self::handles): (before image, after image).
    pub fn event_rows(&self, rows: &RowsEventData<'_>) -> std::io::Result<Vec<BinlogImages>> {
        let (has_before, has_after) = (
            rows.columns_before_image().is_some(),
            rows.columns_after_image().is_some(),
        );
        let mut buf = ParseBuf(rows.rows_data());
        let mut out = Vec::new();
        while !buf.is_empty() {
            let before = if has_before {
                Some(self.decode(&mut buf)?)
            } else {
                None
            };
            let after = if has_after {
                Some(self.decode(&mut buf)?)
            } else {
                None
            };
            out.push((before, after));
        }
        Ok(out)
    }

    /// One full row image: the null bitmap, then each non-NULL value.
    pub fn decode<'de>(
        &'de self,
        buf: &mut ParseBuf<'de>,
    ) -> std::io::Result<Vec<Option<BinlogValue<'static>>>> {
        let n = self.types.len();
        let nulls: &[u8] = buf.parse(n.div_ceil(8))?;
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            if nulls[i / 8] & (1 << (i % 8)) != 0 {
                values.push(Some(BinlogValue::Value(Value::NULL)));
            } else if self.types[i] == ColumnType::MYSQL_TYPE_TIME2
                && matches!(self.metadata[i].first(), Some(1 | 2))
            {
                values.push(Some(BinlogValue::Value(time2_hundredths(buf)?)));
            } else {
                let ctx = (
                    self.types[i],
                    self.metadata[i].as_slice(),
                    self.unsigned[i],
                    false,
                );
                values.push(Some(buf.parse::<BinlogValue<'de>>(ctx)?.into_owned()));
            }
        }
        Ok(values)
    }
}

/// How many table-map metadata bytes mysql_common's value decoder reads for a column type. It
/// indexes them unchecked: a map with fewer made it panic (found by the binlog_rows fuzz target).
fn metadata_len(ty: ColumnType) -> usize {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIME2
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_GEOMETRY
        | MYSQL_TYPE_VECTOR => 1,
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_BIT
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING => 2,
        _ => 0,
    }
}

/// A TIME(1) or TIME(2) binlog value: a 3-byte big-endian integer part (offset by 0x800000) and
/// one byte of hundredths. mysql_common 0.35.5 keeps that byte in a `u32` and subtracts 0x100
/// from it for negative values with a fraction; in release builds the subtraction wraps and
/// `-838:59:59.99` reads as `-213:59:59.99` (found by the `binlog_rows` fuzz target, where
/// overflow checks make it a panic). The same computation, signed.
fn time2_hundredths(buf: &mut ParseBuf<'_>) -> std::io::Result<Value> {
    use mysql_common::binlog::misc::{my_packed_time_make, time_from_packed, TIMEF_INT_OFS};
    let bytes: &[u8] = buf.parse(4)?;
    let mut int_part =
        i64::from(u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]])) - TIMEF_INT_OFS;
    let mut frac = i64::from(bytes[3]);
    if int_part < 0 && frac > 0 {
        int_part += 1;
        frac -= 0x100;
    }
    Ok(time_from_packed(my_packed_time_make(
        int_part,
        frac * 10_000,
    )))
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

fn check_arity(table: &TableSchema, got: usize, what: &str) -> Result<()> {
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

fn value_error(
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

fn unexpected(value: &Value) -> String {
    format!("unexpected value {value:?} for this column type")
}

/// A snapshot value in canonical form, borrowing the received bytes where they need no change.
/// `value` is as the binary protocol decoded it (mysql_common's [`Value`], or the same value
/// read from the row packet by [`BinaryRowReader`]), its bytes borrowed.
fn normalize_snapshot<'a>(
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
fn int_value(unsigned: bool, bits: u32, value: &Value) -> Result<Value, String> {
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
fn trim_trailing_spaces(b: &[u8]) -> &[u8] {
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

fn is_zero_date(y: u16, m: u8, d: u8) -> bool {
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
/// epoch, as in Flink CDC's binlog phase (see the module documentation), even in a nullable column.
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

/// DECIMAL text in canonical form: optional `-`, integer digits without leading zeros (at least
/// one), and exactly `scale` fraction digits. Already-canonical text (the usual case) is returned
/// as is, without copying.
fn normalize_decimal(text: Vec<u8>, scale: u32) -> Result<Vec<u8>, String> {
    let rewritten = match canonical_decimal(&text, scale)? {
        Cow::Borrowed(_) => None,
        Cow::Owned(canonical) => Some(canonical),
    };
    Ok(rewritten.unwrap_or(text))
}

/// [`normalize_decimal`] by reference: already-canonical text is borrowed.
fn canonical_decimal(text: &[u8], scale: u32) -> Result<Cow<'_, [u8]>, String> {
    let bad = || format!("bad DECIMAL {:?}", String::from_utf8_lossy(text));
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (int, frac) = match body.iter().position(|&c| c == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &body[..0]),
    };
    if (int.is_empty() && frac.is_empty()) || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let int = {
        let first = int.iter().position(|&c| c != b'0').unwrap_or(int.len());
        &int[first..]
    };
    let scale = scale as usize;
    let is_zero = int.is_empty() && frac.iter().all(|&c| c == b'0');
    let canonical_len = usize::from(negative && !is_zero)
        + int.len().max(1)
        + if scale > 0 { scale + 1 } else { 0 };
    if canonical_len == text.len()
        && frac.len() == scale
        && !(negative && is_zero)
        && text[0] != b'+'
    {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = Vec::with_capacity(canonical_len);
    if negative && !is_zero {
        out.push(b'-');
    }
    if int.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_slice(int);
    }
    if scale > 0 {
        out.push(b'.');
        for i in 0..scale {
            out.push(frac.get(i).copied().unwrap_or(b'0'));
        }
    }
    Ok(Cow::Owned(out))
}

// ---------------------------------------------------------------------------------------------
// JSON (MySQL's binary JSON in row events) as the text MySQL returns for the same value
// ---------------------------------------------------------------------------------------------

/// Writes MySQL's text form of a binary JSON value, as `SELECT json_col` returns it: `", "` and
/// `": "` separators, object keys in stored order (MySQL sorts them by length, then bytes),
/// strings with MySQL's escapes. Doubles use Rust's shortest round-trip form, which matches
/// MySQL for ordinary values (`1.5`, `1e20`) but may differ in exponent formatting of extreme ones.
/// MariaDB stores JSON as LONGTEXT, so this is only reached with MySQL. `compact`: `","` and `":"`
/// instead (Debezium's form, Flink CDC's `use.legacy.json.format` = true).
fn write_jsonb(value: &jsonb::Value<'_>, out: &mut Vec<u8>, compact: bool) -> std::io::Result<()> {
    use jsonb::Value as J;
    match value {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        J::I16(v) => push_display(out, v),
        J::U16(v) => push_display(out, v),
        J::I32(v) => push_display(out, v),
        J::U32(v) => push_display(out, v),
        J::I64(v) => push_display(out, v),
        J::U64(v) => push_display(out, v),
        J::F64(v) => push_double(out, *v),
        J::String(s) => write_json_string(s.str_raw(), out),
        J::SmallArray(a) => write_array(a.iter(), out, compact)?,
        J::LargeArray(a) => write_array(a.iter(), out, compact)?,
        J::SmallObject(o) => write_object(o.iter(), out, compact)?,
        J::LargeObject(o) => write_object(o.iter(), out, compact)?,
        J::Opaque(_) => {
            use jsonb::{JsonDom, JsonNumber, JsonScalar};
            match value.clone().parse()? {
                JsonDom::Scalar(JsonScalar::Number(JsonNumber::Decimal(d))) => {
                    let text = normalize_json_decimal(d.to_string());
                    out.extend_from_slice(text.as_bytes())
                }
                // MySQL prints temporal JSON scalars with six fraction digits.
                JsonDom::Scalar(JsonScalar::DateTime(t)) => {
                    write_json_string(format!("{t:.6}").as_bytes(), out)
                }
                JsonDom::Scalar(JsonScalar::Opaque(o)) => {
                    write_json_string(o.to_string().as_bytes(), out)
                }
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unexpected opaque JSON value {other:?}"),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// mysql_common's decimal text can carry leading zeros of whole 9-digit groups.
fn normalize_json_decimal(text: String) -> String {
    let scale = text.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
    match normalize_decimal(text.clone().into_bytes(), scale) {
        Ok(b) => String::from_utf8(b).unwrap_or(text),
        Err(_) => text,
    }
}

fn write_array<'a>(
    items: impl Iterator<Item = std::io::Result<jsonb::Value<'a>>>,
    out: &mut Vec<u8>,
    compact: bool,
) -> std::io::Result<()> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(if compact { b"," } else { b", " });
        }
        write_jsonb(&item?, out, compact)?;
    }
    out.push(b']');
    Ok(())
}

fn write_object<'a>(
    entries: impl Iterator<Item = std::io::Result<(jsonb::ObjectKey<'a>, jsonb::Value<'a>)>>,
    out: &mut Vec<u8>,
    compact: bool,
) -> std::io::Result<()> {
    out.push(b'{');
    for (i, entry) in entries.enumerate() {
        let (key, value) = entry?;
        if i > 0 {
            out.extend_from_slice(if compact { b"," } else { b", " });
        }
        write_json_string(key.value_raw(), out);
        out.extend_from_slice(if compact { b":" } else { b": " });
        write_jsonb(&value, out, compact)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => {
                let _ = write_bytes(out, format_args!("\\u{:04x}", c));
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn push_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write_bytes(out, format_args!("{v}"));
}

fn push_double(out: &mut Vec<u8>, v: f64) {
    // `{:?}` is the shortest round-trip form and keeps a `.0` on integral values, as MySQL does.
    let _ = write_bytes(out, format_args!("{v:?}"));
}

fn write_bytes(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    std::io::Write::write_fmt(out, args)
}

// ---------------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------------

/// Orders key values in canonical form, as chunk ranges need: numbers numerically (signed and
/// unsigned mixed exactly, floats by value), bytes and strings bytewise (NOT by the column's
/// collation: boundaries of string keys must come from the server), dates and times
/// chronologically. NULL sorts first. DECIMAL values are text and compare bytewise here; use
/// [`compare_column_values`] for them.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (UInt(x), UInt(y)) => x.cmp(y),
        (Int(x), UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (UInt(x), Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        (Date(..), Date(..)) => date_key(a).cmp(&date_key(b)),
        (Time(..), Time(..)) => time_micros(a).cmp(&time_micros(b)),
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => rank(a).cmp(&rank(b)),
        },
    }
}

/// [`compare_values`] that also orders DECIMAL values (canonical text) numerically.
pub fn compare_column_values(column: &ColumnSchema, a: &Value, b: &Value) -> Ordering {
    match (kind(column), a, b) {
        (Kind::Decimal { .. }, Value::Bytes(x), Value::Bytes(y)) => compare_decimal_text(x, y),
        _ => compare_values(a, b),
    }
}

/// True when two images of one row (an update's before and after) have different primary-key
/// values: the update moved the row to another key. Values compare as [`compare_column_values`]
/// orders them, exactly (strings bytewise, not by collation), as Debezium compares an update's old
/// and new key structs (`Objects.equals`). A table without a primary key has no key to change
/// (Debezium: no key, always an update), so this is false for it.
pub fn primary_key_differs(table: &TableSchema, before: &[Value], after: &[Value]) -> bool {
    table.primary_key.iter().any(
        |&i| match (table.columns.get(i), before.get(i), after.get(i)) {
            (Some(column), Some(b), Some(a)) => compare_column_values(column, b, a).is_ne(),
            // Images shorter than the schema do not occur (full row images); nothing to compare.
            _ => false,
        },
    )
}

/// A decimal text's sign (a leading `-`), integer digits and fraction digits, unchecked:
/// `-12.5` is `(true, "12", "5")`, `7` is `(false, "7", "")`.
fn decimal_parts(text: &[u8]) -> (bool, &[u8], &[u8]) {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match body.iter().position(|&c| c == b'.') {
        Some(dot) => (negative, &body[..dot], &body[dot + 1..]),
        None => (negative, body, &body[..0]),
    }
}

/// Compares two decimal texts (`-?digits[.digits]`, no leading zeros) numerically.
fn compare_decimal_text(a: &[u8], b: &[u8]) -> Ordering {
    let split = |t: &[u8]| -> (bool, Vec<u8>, Vec<u8>) {
        let (neg, int, frac) = decimal_parts(t);
        let int: Vec<u8> = int.iter().copied().skip_while(|&c| c == b'0').collect();
        let mut frac = frac.to_vec();
        while frac.last() == Some(&b'0') {
            frac.pop();
        }
        let neg = neg && !(int.is_empty() && frac.is_empty());
        (neg, int, frac)
    };
    let (an, ai, af) = split(a);
    let (bn, bi, bf) = split(b);
    let magnitude = ai
        .len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| af.cmp(&bf));
    match (an, bn) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

fn date_key(v: &Value) -> (u16, u8, u8, u8, u8, u8, u32) {
    match *v {
        Value::Date(y, m, d, h, mi, s, us) => (y, m, d, h, mi, s, us),
        _ => (0, 0, 0, 0, 0, 0, 0),
    }
}

fn time_micros(v: &Value) -> i64 {
    match *v {
        Value::Time(neg, d, h, m, s, us) => {
            let t = ((i64::from(d) * 24 + i64::from(h)) * 3600 + i64::from(m) * 60 + i64::from(s))
                * 1_000_000
                + i64::from(us);
            if neg {
                -t
            } else {
                t
            }
        }
        _ => 0,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::Int(x) => Some(x as f64),
        Value::UInt(x) => Some(x as f64),
        Value::Float(x) => Some(f64::from(x)),
        Value::Double(x) => Some(x),
        _ => None,
    }
}

/// Order of values of different kinds (only meaningful for NULL first; a key column has one kind).
fn rank(v: &Value) -> u8 {
    match v {
        Value::NULL => 0,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_) => 1,
        Value::Bytes(_) => 2,
        Value::Date(..) => 3,
        Value::Time(..) => 4,
    }
}

// ---------------------------------------------------------------------------------------------
// Time zones and calendar arithmetic
// ---------------------------------------------------------------------------------------------

/// Flink CDC's `server-time-zone`: the zone MySQL's wall-clock values are in. Needed where a
/// TIMESTAMP column is declared as Flink TIMESTAMP (its wall clock in this zone) and where a
/// DATETIME is declared as TIMESTAMP_LTZ (its wall clock read in this zone). Fixed offsets
/// (`UTC`, `GMT`, `Z`, `+08:00`, `-05:30`, `+0800`, `UTC+8`, `GMT-03:30`) or IANA names
/// (`Asia/Shanghai`, `America/New_York`), as Java's `ZoneId.of` takes them. A named zone's offset
/// is that of each value's own instant (daylight saving time included, through jiff); a wall
/// clock that occurs twice (the hour repeated when clocks go back) is the earlier instant, and one
/// that does not occur (skipped when clocks go forward) moves forward by the gap, as
/// `LocalDateTime.atZone` resolves them in Flink CDC.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerTimeZone {
    name: String,
    zone: Zone,
}

#[derive(Clone, Debug, PartialEq)]
enum Zone {
    /// Seconds east of UTC.
    Fixed(i32),
    Named(jiff::tz::TimeZone),
}

impl ServerTimeZone {
    pub fn parse(s: &str) -> Result<Self> {
        let text = s.trim();
        match Self::parse_fixed(text) {
            Some(offset_seconds) => Ok(ServerTimeZone { name: text.to_string(), zone: Zone::Fixed(offset_seconds) }),
            None => match jiff::tz::TimeZone::get(text) {
                Ok(zone) if !text.is_empty() => Ok(ServerTimeZone { name: text.to_string(), zone: Zone::Named(zone) }),
                _ => Err(BridgeError::validation(format!(
                    "'server-time-zone' = '{s}' is not a time zone: use an IANA name such as 'Asia/Shanghai' \
                     or 'America/New_York', UTC, or a fixed offset such as '+08:00'"
                ))),
            },
        }
    }

    /// `UTC`/`GMT`/`Z` with an optional offset, or a bare offset: seconds east of UTC.
    fn parse_fixed(text: &str) -> Option<i32> {
        let bad = || None;
        let upper = text.to_ascii_uppercase();
        let rest = ["ETC/UTC", "ETC/GMT", "UTC", "GMT", "Z"]
            .iter()
            .find_map(|p| upper.strip_prefix(p))
            .unwrap_or(&upper);
        if text.is_empty() {
            return bad();
        }
        if rest.is_empty() {
            return Some(0);
        }
        let (sign, digits) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return bad(),
        };
        // H, HH, HHMM, H:MM or HH:MM.
        let (h, m) = match digits.split_once(':') {
            Some((h, m)) if m.len() == 2 => (h, m),
            Some(_) => return bad(),
            None if digits.len() == 4 => digits.split_at(2),
            None => (digits, "00"),
        };
        let number = |t: &str| -> Option<i32> {
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|c| c.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        match (number(h), number(m)) {
            (Some(h), Some(m)) if h <= 18 && m < 60 => Some(sign * (h * 3600 + m * 60)),
            _ => bad(),
        }
    }

    pub fn utc() -> Self {
        ServerTimeZone {
            name: "UTC".into(),
            zone: Zone::Fixed(0),
        }
    }

    /// Seconds east of UTC when the zone has one offset for all time; None for a named zone.
    pub fn fixed_offset_seconds(&self) -> Option<i32> {
        match self.zone {
            Zone::Fixed(offset) => Some(offset),
            Zone::Named(_) => None,
        }
    }

    /// The zone's offset (seconds east of UTC) at the instant `epoch_seconds`.
    fn offset_at_instant(&self, epoch_seconds: i64) -> Result<i64, String> {
        match &self.zone {
            Zone::Fixed(offset) => Ok(i64::from(*offset)),
            Zone::Named(tz) => {
                let instant = jiff::Timestamp::from_second(epoch_seconds)
                    .map_err(|e| format!("instant out of the time zone's range: {e}"))?;
                Ok(i64::from(tz.to_offset(instant).seconds()))
            }
        }
    }

    /// The zone's offset (seconds east of UTC) for the wall clock `wall_seconds` (seconds since
    /// 1970-01-01 00:00 on the wall): the earlier offset for a repeated hour, the offset before a
    /// skipped hour (which moves the wall clock forward by the gap).
    fn offset_at_wall(&self, wall_seconds: i64) -> Result<i64, String> {
        match &self.zone {
            Zone::Fixed(offset) => Ok(i64::from(*offset)),
            Zone::Named(tz) => {
                let out_of_range =
                    |e: jiff::Error| format!("wall clock out of the time zone's range: {e}");
                let as_utc = jiff::Timestamp::from_second(wall_seconds).map_err(out_of_range)?;
                let civil = jiff::tz::Offset::UTC.to_datetime(as_utc);
                let instant = tz
                    .to_ambiguous_timestamp(civil)
                    .compatible()
                    .map_err(out_of_range)?;
                Ok(wall_seconds - instant.as_second())
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

// ---------------------------------------------------------------------------------------------
// Mapping to the Flink row type
// ---------------------------------------------------------------------------------------------

/// Metadata columns rust-mysql-cdc offers: Flink CDC's mysql-cdc ones, then the binlog
/// coordinates of a change (`coordinates.rs`; NULL, or 0 for `change_seq`, on snapshot rows).
const METADATA_KEYS: &str = "database_name (STRING NOT NULL), table_name (STRING NOT NULL), \
                             op_ts (TIMESTAMP_LTZ(3) NOT NULL), row_kind (STRING NOT NULL), \
                             schema_change (STRING, DataStream: schema changes as rows of their own), \
                             binlog_file (STRING), binlog_position (BIGINT), binlog_row_index (BIGINT), \
                             gtid (STRING), change_seq (BIGINT NOT NULL)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meta {
    Database,
    Table,
    OpTs,
    RowKind,
    /// NULL on rows; on a schema-change record, the table's new columns as JSON.
    SchemaChange,
    /// The binlog coordinates of a change (see `coordinates.rs`); NULL on snapshot rows.
    BinlogFile,
    BinlogPosition,
    BinlogRowIndex,
    Gtid,
    /// 0 on snapshot rows.
    ChangeSeq,
}

/// How a canonical value becomes the Arrow value of its Flink column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conv {
    /// Integers (and BIT(1) bytes) to BOOLEAN: non-zero is true.
    Bool,
    /// Integers to an integer column wide enough for every value of the MySQL type.
    Int,
    Float,
    Double,
    /// Integers or decimal text to DECIMAL with this scale (precision checked at validation).
    Decimal {
        scale: u8,
    },
    /// FLOAT or DOUBLE to DECIMAL as Flink CDC converts them: the value's Java text rounded
    /// HALF_UP to the scale, NULL when it needs more than `precision` digits.
    FloatDecimal {
        precision: u8,
        scale: u8,
    },
    /// An integer or DECIMAL to a DECIMAL(p, s) that may not hold it, as Flink CDC converts one
    /// (`DecimalData.fromBigDecimal`): rounded HALF_UP to the scale, NULL beyond `precision` digits.
    RoundedDecimal {
        precision: u8,
        scale: u8,
    },
    /// A stored geometry (SRID + WKB) to Flink CDC's GeoJSON-like STRING.
    GeoJson,
    /// Text bytes, or integers, decimal text and FLOAT/DOUBLE (Java's `toString`, as Flink CDC
    /// gives them) formatted, to STRING.
    Utf8,
    Binary,
    /// SET text (members joined by `,`) to ARRAY<STRING>, split as Flink CDC splits it (see
    /// [`set_members`]).
    SetMembers,
    /// BIT(n) bytes (big-endian, as MySQL stores them) to BINARY/BYTES least significant byte
    /// first, the order Flink CDC emits (Debezium reads BIT(n) as a `java.util.BitSet`).
    BitBytes,
    Date,
    /// TIME to milliseconds of the day. Always milliseconds, whatever the declared precision:
    /// Flink resolves a declared TIME(3) or TIME(6) as TIME(0) (FLINK-17224), so the precision
    /// this connector is handed says nothing of what the user asked for, and Flink CDC ignores
    /// it too (its rows keep the milliseconds).
    Time,
    /// A wall clock (`Date`) to epoch units of a timestamp column: `shift_seconds` is subtracted
    /// first (the zone's offset when a wall clock in that zone becomes an instant, its negation
    /// when an instant becomes the zone's wall clock); `truncate_micros` applies the declared
    /// precision.
    Timestamp {
        shift_seconds: i64,
        truncate_micros: i64,
    },
    /// As `Timestamp`, in a named server zone whose offset depends on the value: a wall clock in
    /// the zone to an instant (`to_instant`), or an instant to the zone's wall clock.
    ZonedTimestamp {
        to_instant: bool,
        truncate_micros: i64,
    },
    /// Binary bytes to STRING as base64 or hex text (`debezium.binary.handling.mode`).
    BinaryText(BinaryMode),
}

/// Conversions only the `debezium.*.handling.mode` options allow (debezium.rs).
fn handling_conversion(column: &ColumnSchema, ty: FlinkType, modes: ValueModes) -> Option<Conv> {
    match kind(column) {
        Kind::FixedBinary { .. } | Kind::Binary
            if is_string(ty) && modes.binary != BinaryMode::Bytes =>
        {
            Some(Conv::BinaryText(modes.binary))
        }
        _ => None,
    }
}

#[derive(Clone, Debug)]
enum Slot {
    Column { index: usize, conv: Conv },
    Meta(Meta),
}

/// How one captured table's columns feed the source's row type (columns matched by name,
/// case-insensitively). Built once per table with [`BatchBuilder::mapping`].
#[derive(Clone, Debug)]
pub struct TableMapping {
    table: TableId,
    /// Column names of the table, for error messages.
    column_names: Vec<String>,
    slots: Vec<Slot>,
    /// The source's row type and the server's zone, to check a changed column type again
    /// ([`Self::for_columns`]).
    row_type: Arc<RowType>,
    server_time_zone: ServerTimeZone,
    value_modes: ValueModes,
}

impl TableMapping {
    pub fn table(&self) -> &TableId {
        &self.table
    }

    /// The names of the Flink columns this mapping reads from the table, with their column index.
    pub fn declared_columns(&self) -> impl Iterator<Item = (usize, &str, bool)> + '_ {
        self.slots
            .iter()
            .zip(&self.row_type.columns)
            .filter_map(|(slot, field)| match slot {
                Slot::Column { index, .. } => Some((*index, field.name.as_str(), field.nullable)),
                Slot::Meta(_) => None,
            })
    }

    /// This mapping for rows whose columns (same count and order as the mapping's table) have the
    /// types of `columns` (a binlog table map's, see `evolution.rs`): `Ok(None)` when every
    /// declared column converts as before, a new mapping when a changed type converts differently
    /// but still fits, an error naming the column, its old and new type when it no longer fits
    /// the declared Flink type. `present[i]` is false for a column the rows lack (dropped): it
    /// reads NULL, an error for a NOT NULL Flink column. `old` holds the types the mapping was
    /// built from; `at` says where the change was seen.
    pub fn for_columns(
        &self,
        old: &TableSchema,
        columns: &TableSchema,
        present: &[bool],
        at: &str,
    ) -> Result<Option<TableMapping>> {
        let mut changed: Option<Vec<Slot>> = None;
        for (i, (slot, field)) in self.slots.iter().zip(&self.row_type.columns).enumerate() {
            let Slot::Column { index, conv } = slot else {
                continue;
            };
            let name = &self.column_names[*index];
            if !present.get(*index).copied().unwrap_or(false) {
                if !field.nullable {
                    return Err(BridgeError::validation(format!(
                        "column '{name}' was dropped from MySQL table {} ({at}), so its rows now read NULL,                          but the Flink column '{}' is declared NOT NULL; declare it nullable (or remove it                          from the Flink table) and restart the job",
                        self.table, field.name
                    )));
                }
                continue;
            }
            let column = &columns.columns[*index];
            let old_type = old
                .columns
                .get(*index)
                .map_or("(unknown)", |c| c.column_type.as_str());
            let new_conv = conversion(column, field.ty, &self.server_time_zone)
                .or_else(|| handling_conversion(column, field.ty, self.value_modes));
            let Some(new_conv) = new_conv else {
                return Err(BridgeError::validation(format!(
                    "column '{name}' of MySQL table {} changed type from {} to {} ({at}), which cannot be                      read as the declared Flink type {}; declare the Flink column as {} and restart the                      job without its state (a new snapshot)",
                    self.table,
                    if old_type.is_empty() { "(absent)" } else { old_type },
                    column.column_type,
                    field.ty,
                    default_flink_type(column)
                )));
            };
            if new_conv != *conv {
                changed.get_or_insert_with(|| self.slots.clone())[i] = Slot::Column {
                    index: *index,
                    conv: new_conv,
                };
            }
        }
        Ok(changed.map(|slots| TableMapping {
            slots,
            ..self.clone()
        }))
    }
}

/// The default Flink type of a MySQL column (Flink CDC's documented mapping), for messages.
pub fn default_flink_type(column: &ColumnSchema) -> String {
    match kind(column) {
        Kind::Int { unsigned, bits } => match (bits, unsigned) {
            (8, false) if is_tinyint1(column) => "BOOLEAN (or TINYINT)".into(),
            (8, false) => "TINYINT".into(),
            (8, true) | (16, false) => "SMALLINT".into(),
            (16, true) | (24, _) | (32, false) => "INT".into(),
            (32, true) | (64, false) => "BIGINT".into(),
            _ => "DECIMAL(20, 0)".into(),
        },
        Kind::Year => "INT".into(),
        Kind::Bit { .. } if column.precision.unwrap_or(1) == 1 => "BOOLEAN".into(),
        Kind::Bit { bytes } => format!("BINARY({bytes}) or BYTES"),
        Kind::Float => "FLOAT (or DOUBLE, DECIMAL(p, s), STRING)".into(),
        Kind::Double => "DOUBLE (or FLOAT, DECIMAL(p, s), STRING)".into(),
        Kind::Decimal { .. } => match (column.precision, column.scale) {
            (Some(p), s) if p <= 38 => format!("DECIMAL({p}, {})", s.unwrap_or(0)),
            _ => "STRING".into(),
        },
        Kind::Char => format!("CHAR({}) or STRING", column.char_max_length.unwrap_or(1)),
        Kind::Text if column.data_type == "varchar" => {
            format!("VARCHAR({}) or STRING", column.char_max_length.unwrap_or(1))
        }
        Kind::Text | Kind::Enum | Kind::Set | Kind::Json => "STRING".into(),
        Kind::FixedBinary { length } => format!("BINARY({length}) or BYTES"),
        Kind::Binary if column.data_type == "varbinary" => {
            format!(
                "VARBINARY({}) or BYTES",
                column.char_max_length.unwrap_or(1)
            )
        }
        Kind::Binary => "BYTES".into(),
        Kind::Date => "DATE".into(),
        Kind::DateTime => format!("TIMESTAMP({})", column.precision.unwrap_or(0)),
        Kind::Timestamp => format!("TIMESTAMP_LTZ({})", column.precision.unwrap_or(0)),
        Kind::Time => format!("TIME({})", column.precision.unwrap_or(0)),
        Kind::Geometry => "STRING".into(),
        Kind::Other => "none (unsupported MySQL type)".into(),
    }
}

fn is_tinyint1(column: &ColumnSchema) -> bool {
    matches!(column.data_type.as_str(), "bool" | "boolean")
        || column.column_type.starts_with("tinyint(1)")
}

/// The value range of a MySQL integer type.
fn int_range(unsigned: bool, bits: u32) -> (i128, i128) {
    if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

fn flink_int_bits(ty: FlinkType) -> Option<u32> {
    match ty {
        FlinkType::TinyInt => Some(8),
        FlinkType::SmallInt => Some(16),
        FlinkType::Int => Some(32),
        FlinkType::BigInt => Some(64),
        _ => None,
    }
}

fn is_string(ty: FlinkType) -> bool {
    matches!(ty, FlinkType::Char { .. } | FlinkType::VarChar { .. })
}

fn is_bytes(ty: FlinkType) -> bool {
    matches!(ty, FlinkType::Binary { .. } | FlinkType::VarBinary { .. })
}

/// The conversion of a MySQL column into a declared Flink type, or None when they do not fit.
fn conversion(column: &ColumnSchema, ty: FlinkType, tz: &ServerTimeZone) -> Option<Conv> {
    let k = kind(column);
    let int_target = |range: (i128, i128)| -> Option<Conv> {
        if let Some(bits) = flink_int_bits(ty) {
            let (lo, hi) = int_range(false, bits);
            // Narrower declared types Flink CDC reads by parsing the value's text, failing on a
            // value out of range (as this connector does): TINYINT and SMALLINT from any integer,
            // INT and BIGINT from BIGINT UNSIGNED (a BigDecimal in Debezium). INT from BIGINT or
            // INT UNSIGNED stays refused: Flink CDC wraps those (`Long.intValue()`), silently.
            let parsed = bits <= 16 || range.1 > i128::from(i64::MAX);
            return (parsed || (lo <= range.0 && range.1 <= hi)).then_some(Conv::Int);
        }
        match ty {
            FlinkType::Decimal { precision, scale } => {
                let limit = 10i128.pow(u32::from(precision - scale));
                // A DECIMAL too narrow for some values reads NULL for them, as in Flink CDC.
                Some(if range.1 < limit && -range.0 < limit {
                    Conv::Decimal { scale }
                } else {
                    Conv::RoundedDecimal { precision, scale }
                })
            }
            // Flink CDC parses the value's text: the nearest FLOAT or DOUBLE.
            FlinkType::Float => Some(Conv::Float),
            FlinkType::Double => Some(Conv::Double),
            t if is_string(t) => Some(Conv::Utf8),
            _ => None,
        }
    };
    let truncate = |precision: u8| 10i64.pow(6u32.saturating_sub(u32::from(precision)));
    let timestamp = |precision: u8, shift_seconds: i64| {
        Some(Conv::Timestamp {
            shift_seconds,
            truncate_micros: truncate(precision),
        })
    };
    // Between the server's zone and UTC: one shift for a fixed offset, one per value for a named
    // zone. `to_instant`: a wall clock in the zone becomes an instant.
    let zoned = |precision: u8, to_instant: bool| match tz.fixed_offset_seconds() {
        Some(offset) => {
            let offset = i64::from(offset);
            timestamp(precision, if to_instant { offset } else { -offset })
        }
        None => Some(Conv::ZonedTimestamp {
            to_instant,
            truncate_micros: truncate(precision),
        }),
    };
    match k {
        Kind::Int { unsigned, bits } => match ty {
            FlinkType::Boolean if is_tinyint1(column) => Some(Conv::Bool),
            _ => int_target(int_range(unsigned, bits)),
        },
        Kind::Year => int_target((0, 2155)),
        Kind::Bit { .. } => match ty {
            FlinkType::Boolean if column.precision.unwrap_or(1) == 1 => Some(Conv::Bool),
            t if is_bytes(t) => Some(Conv::BitBytes),
            _ => None,
        },
        // Flink CDC also accepts DOUBLE into FLOAT (rounded to the nearest float, infinity beyond
        // its range), either into DECIMAL(p, s) and STRING (see the conversions).
        Kind::Float | Kind::Double => match ty {
            FlinkType::Float => Some(Conv::Float),
            FlinkType::Double => Some(Conv::Double),
            FlinkType::Decimal { precision, scale } => {
                Some(Conv::FloatDecimal { precision, scale })
            }
            t if is_string(t) => Some(Conv::Utf8),
            _ => None,
        },
        Kind::Decimal { scale } => match ty {
            FlinkType::Decimal {
                precision: p2,
                scale: s2,
            } => {
                let p = column.precision.unwrap_or(10);
                let int_digits = p.saturating_sub(scale);
                // A narrower DECIMAL rounds HALF_UP and reads NULL for values it cannot hold, as
                // Flink CDC's `DecimalData.fromBigDecimal` does.
                Some(
                    if u32::from(s2) >= scale && u32::from(p2 - s2) >= int_digits {
                        Conv::Decimal { scale: s2 }
                    } else {
                        Conv::RoundedDecimal {
                            precision: p2,
                            scale: s2,
                        }
                    },
                )
            }
            // Flink CDC parses the decimal's text: the nearest FLOAT or DOUBLE.
            FlinkType::Float => Some(Conv::Float),
            FlinkType::Double => Some(Conv::Double),
            t if is_string(t) => Some(Conv::Utf8),
            _ => None,
        },
        // Flink CDC reads a SET declared ARRAY<STRING> as its members (and refuses ARRAY for any
        // other column).
        Kind::Set if matches!(ty, FlinkType::Array(_)) => Some(Conv::SetMembers),
        Kind::Char | Kind::Text | Kind::Enum | Kind::Set | Kind::Json => {
            is_string(ty).then_some(Conv::Utf8)
        }
        Kind::FixedBinary { .. } | Kind::Binary => is_bytes(ty).then_some(Conv::Binary),
        Kind::Date => (ty == FlinkType::Date).then_some(Conv::Date),
        Kind::Time => matches!(ty, FlinkType::Time { .. }).then_some(Conv::Time),
        Kind::DateTime => match ty {
            FlinkType::Timestamp { precision } => timestamp(precision, 0),
            // The wall clock is in the server's zone: subtract its offset to get the instant.
            FlinkType::TimestampLtz { precision } => zoned(precision, true),
            _ => None,
        },
        Kind::Timestamp => match ty {
            FlinkType::TimestampLtz { precision } => timestamp(precision, 0),
            // The canonical value is the UTC wall clock: add the offset for the zone's.
            FlinkType::Timestamp { precision } => zoned(precision, false),
            _ => None,
        },
        // Flink CDC's GeoJSON-like text (value/geojson.rs).
        Kind::Geometry => is_string(ty).then_some(Conv::GeoJson),
        Kind::Other => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Batch building
// ---------------------------------------------------------------------------------------------

/// One Arrow builder per column of the row type.
enum ColumnBuilder {
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
    fn new(ty: FlinkType, rows: usize, data_bytes: usize) -> Self {
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
    fn data_bytes(&self) -> usize {
        match self {
            Self::Utf8(b) => b.values_slice().len(),
            Self::Binary(b) => b.values_slice().len(),
            Self::StringList(b) => b.values_ref().values_slice().len(),
            _ => 0,
        }
    }

    fn append_null(&mut self) {
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
    fn append_micros(&mut self, micros: i64) -> Result<(), String> {
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

    fn append_str(&mut self, s: &str) -> Result<(), String> {
        match self {
            Self::Utf8(b) => b.append_value(s),
            _ => return Err("not a string column".into()),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
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
    fn append(
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
                b.append_value(crate::debezium::binary_text(mode, v))
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

    fn append_int(&mut self, v: i128) -> Result<(), String> {
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
fn set_members(text: &str) -> impl Iterator<Item = &str> {
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

/// Epoch microseconds of a wall clock, `shift_seconds` subtracted and truncated to a multiple of
/// `truncate_micros` (see [`Conv::Timestamp`]).
fn timestamp_micros(
    (y, mo, d, h, mi, s, us): (u16, u8, u8, u8, u8, u8, u32),
    shift_seconds: i64,
    truncate_micros: i64,
) -> i64 {
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    let secs =
        days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - shift_seconds;
    let micros = secs * 1_000_000 + i64::from(us);
    micros - micros.rem_euclid(truncate_micros)
}

fn scale_int(v: i128, scale: u8) -> Result<i128, String> {
    v.checked_mul(10i128.pow(u32::from(scale)))
        .ok_or_else(|| format!("{v} overflows DECIMAL"))
}

/// Decimal text to an unscaled i128 at `scale`; fraction digits beyond `scale` are an error
/// (validation only allows scales at least as large as the column's).
fn parse_decimal(text: &[u8], scale: u8) -> Result<i128, String> {
    let bad = || format!("bad DECIMAL {:?}", String::from_utf8_lossy(text));
    let (negative, int, frac) = decimal_parts(text);
    if frac.len() > usize::from(scale) && frac[usize::from(scale)..].iter().any(|&c| c != b'0') {
        return Err(format!(
            "{} has more than {scale} fraction digits",
            String::from_utf8_lossy(text)
        ));
    }
    let mut acc: i128 = 0;
    let digits = int.iter().chain(frac.iter().take(usize::from(scale)));
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(bad());
        }
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(i128::from(c - b'0')))
            .ok_or_else(bad)?;
    }
    for _ in frac.len()..usize::from(scale) {
        acc = acc.checked_mul(10).ok_or_else(bad)?;
    }
    Ok(if negative { -acc } else { acc })
}

/// DECIMAL text as the nearest FLOAT or DOUBLE.
fn parse_float_text<F: std::str::FromStr>(text: &[u8]) -> Result<F, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("bad DECIMAL {:?}", String::from_utf8_lossy(text)))
}

/// Decimal text (an integer or a DECIMAL's canonical text) rounded HALF_UP to `scale`, as an
/// unscaled value of DECIMAL(precision, scale); None when it needs more than `precision` digits
/// (Flink CDC: `DecimalData.fromBigDecimal` gives null) or is not a number.
fn round_decimal(text: &[u8], precision: u8, scale: u8) -> Option<i128> {
    let (negative, int, frac) = decimal_parts(text);
    if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let int = &int[int.iter().position(|&c| c != b'0').unwrap_or(int.len())..];
    // More integer digits than the type holds (before rounding, which adds at most one): NULL,
    // and no i128 overflow for DECIMAL(65) values.
    if int.len() > usize::from(precision - scale) {
        return None;
    }
    let scale = usize::from(scale);
    let mut unscaled: i128 = 0;
    for &c in int.iter().chain(frac.iter().take(scale)) {
        unscaled = unscaled * 10 + i128::from(c - b'0');
    }
    for _ in frac.len().min(scale)..scale {
        unscaled *= 10;
    }
    if frac.get(scale).is_some_and(|&c| c >= b'5') {
        unscaled += 1;
    }
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return None;
    }
    Some(if negative { -unscaled } else { unscaled })
}

/// Builds [`ChangeBatch`]es of the source's row type from rows of any captured tables.
pub struct BatchBuilder {
    schema: SchemaRef,
    row_type: RowType,
    server_time_zone: ServerTimeZone,
    builders: Vec<ColumnBuilder>,
    kinds: Vec<RowKind>,
    /// `scan.read-changelog-as-append-only.enabled`: every row is `+I`; the `row_kind` metadata
    /// column still says what the change was.
    append_only: bool,
    /// `debezium.*.handling.mode` conversions (debezium.rs).
    value_modes: ValueModes,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("row_type", &self.row_type)
            .field("rows", &self.kinds.len())
            .finish()
    }
}

impl BatchBuilder {
    /// `row_type`: the source's row type, physical columns then metadata columns
    /// (`__metadata.<key>`, see [`rust_core::types::METADATA_PREFIX`]) with keys
    /// `database_name`, `table_name`, `op_ts` and `row_kind`, as Flink CDC's mysql-cdc offers,
    /// `schema_change`, and the binlog coordinates `binlog_file`, `binlog_position`,
    /// `binlog_row_index`, `gtid` and `change_seq` (`coordinates.rs`).
    pub fn new(row_type: &RowType, server_time_zone: &ServerTimeZone) -> Result<Self> {
        for column in &row_type.columns {
            if let Some(key) = column.metadata_key() {
                let meta = metadata_key(key).ok_or_else(|| {
                    BridgeError::validation(format!(
                        "unknown metadata key '{key}' (column '{}'); rust-mysql-cdc supports: {METADATA_KEYS}",
                        column.name
                    ))
                })?;
                let ok = match meta {
                    Meta::Database | Meta::Table | Meta::RowKind => is_string(column.ty),
                    Meta::OpTs => matches!(column.ty, FlinkType::TimestampLtz { .. }),
                    Meta::SchemaChange | Meta::BinlogFile | Meta::Gtid => {
                        is_string(column.ty) && column.nullable
                    }
                    Meta::BinlogPosition | Meta::BinlogRowIndex => {
                        column.ty == FlinkType::BigInt && column.nullable
                    }
                    Meta::ChangeSeq => column.ty == FlinkType::BigInt,
                };
                if !ok {
                    return Err(BridgeError::validation(format!(
                        "metadata column '{key}' is declared as {}{}; declare it as one of: {METADATA_KEYS}",
                        column.ty,
                        if column.nullable { "" } else { " NOT NULL" }
                    )));
                }
                if meta == Meta::SchemaChange {
                    // Schema-change records have no row: their physical columns are NULL.
                    let not_null: Vec<&str> = row_type
                        .columns
                        .iter()
                        .filter(|c| c.metadata_key().is_none() && !c.nullable)
                        .map(|c| c.name.as_str())
                        .collect();
                    if !not_null.is_empty() {
                        return Err(BridgeError::validation(format!(
                            "metadata column 'schema_change' emits each schema change as a record of its own whose \
                             physical columns are NULL, but {} declared NOT NULL; declare them nullable, or leave \
                             'schema_change' out",
                            if not_null.len() == 1 {
                                format!("column '{}' is", not_null[0])
                            } else {
                                format!("columns '{}' are", not_null.join("', '"))
                            }
                        )));
                    }
                }
            }
        }
        Ok(BatchBuilder {
            schema: row_type.arrow_schema(),
            row_type: row_type.clone(),
            server_time_zone: server_time_zone.clone(),
            builders: row_type
                .columns
                .iter()
                .map(|c| ColumnBuilder::new(c.ty, 0, 0))
                .collect(),
            kinds: Vec::new(),
            append_only: false,
            value_modes: ValueModes::default(),
        })
    }

    /// Emits every row as `+I` (the `row_kind` metadata column keeps the change's kind).
    pub fn with_append_only(mut self, append_only: bool) -> Self {
        self.append_only = append_only;
        self
    }

    /// The `debezium.*.handling.mode` options' conversions (debezium.rs).
    pub fn with_value_modes(mut self, modes: ValueModes) -> Self {
        self.value_modes = modes;
        self
    }

    /// How `table` feeds the row type. Validation errors name the table, the column, its MySQL
    /// type, the declared Flink type and the types that would work.
    pub fn mapping(&self, table: &TableSchema) -> Result<TableMapping> {
        let mut slots = Vec::with_capacity(self.row_type.columns.len());
        for field in &self.row_type.columns {
            if let Some(key) = field.metadata_key() {
                // Checked in `new`.
                let meta = metadata_key(key)
                    .ok_or_else(|| BridgeError::other(format!("metadata key {key}")))?;
                slots.push(Slot::Meta(meta));
                continue;
            }
            let index = table.column_index(&field.name).ok_or_else(|| {
                BridgeError::validation(format!(
                    "column '{}' of the Flink table does not exist in MySQL table {} (its columns: {})",
                    field.name,
                    table.id,
                    table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let column = &table.columns[index];
            if column.data_type.is_empty() {
                // An absent column (binlog_mapping): NULL until a table map gives it a type,
                // whose conversion `for_columns` works out then.
                slots.push(Slot::Column {
                    index,
                    conv: Conv::Utf8,
                });
                continue;
            }
            let conv = conversion(column, field.ty, &self.server_time_zone);
            let conv = conv.or_else(|| handling_conversion(column, field.ty, self.value_modes)).ok_or_else(|| {
                // No Flink type reads it: "declare it as <type>" would have nothing to name.
                if kind(column) == Kind::Other {
                    return BridgeError::validation(format!(
                        "column '{}' of MySQL table {} has type {}, which is unsupported: no Flink type can \
                         read it; leave the column out of the Flink table definition",
                        field.name, table.id, column.column_type
                    ));
                }
                BridgeError::validation(format!(
                    "column '{}' of MySQL table {} has type {} which cannot be read as the declared \
                     Flink type {}; declare it as {}{}",
                    field.name,
                    table.id,
                    column.column_type,
                    field.ty,
                    default_flink_type(column),
                    if matches!(kind(column), Kind::Int { .. } | Kind::Year | Kind::Decimal { .. }) {
                        " or STRING (or a wider numeric type)"
                    } else {
                        ""
                    }
                ))
            })?;
            slots.push(Slot::Column { index, conv });
        }
        Ok(TableMapping {
            table: table.id.clone(),
            column_names: table.columns.iter().map(|c| c.name.clone()).collect(),
            slots,
            row_type: Arc::new(self.row_type.clone()),
            server_time_zone: self.server_time_zone.clone(),
            value_modes: self.value_modes,
        })
    }

    /// As [`Self::mapping`], with a declared column the table does not have (dropped upstream, or
    /// one of several matched tables without it, as Flink CDC reads it) kept as an absent column
    /// appended to the returned schema (empty `data_type`): the snapshot selects NULL for it, and
    /// its binlog values are NULL unless a binlog table map names it (an older event on replay).
    /// The Flink column must then be nullable. Binlog events are matched to such a schema by
    /// column name (`binlog_row_metadata=FULL`); see `evolution.rs`.
    pub fn binlog_mapping(&self, table: &TableSchema) -> Result<(TableSchema, TableMapping)> {
        let mut table = table.clone();
        for field in &self.row_type.columns {
            if field.metadata_key().is_some() || table.column_index(&field.name).is_some() {
                continue;
            }
            if !field.nullable {
                return Err(BridgeError::validation(format!(
                    "column '{}' of the Flink table does not exist in MySQL table {} and is declared NOT NULL; \
                     declare it nullable (it reads NULL for that table's rows) or remove it from the Flink table",
                    field.name, table.id
                )));
            }
            table.columns.push(absent_column(&field.name));
        }
        let mapping = self.mapping(&table)?;
        Ok((table, mapping))
    }

    /// Appends one row (canonical values of the mapping's table, in table order) without binlog
    /// coordinates (a snapshot row: `binlog_*` and `gtid` NULL, `change_seq` 0).
    /// `op_ts_millis`: the event's time; 0 for snapshot rows, as Flink CDC does. On error (a value
    /// the declared type cannot hold, such as TIME beyond 24 hours, or NULL for a NOT NULL
    /// column) no row is added, and rows appended since the last `finish` are discarded as well.
    pub fn append(
        &mut self,
        mapping: &TableMapping,
        row: &[Value],
        kind: RowKind,
        op_ts_millis: i64,
    ) -> Result<()> {
        self.append_at(mapping, row, kind, op_ts_millis, None)
    }

    /// As [`Self::append`], for an image of the binlog row change at `at` whose `change_seq` is
    /// `seq` ([`ChangeCoordinates::before_seq`] or [`ChangeCoordinates::after_seq`]).
    pub fn append_change(
        &mut self,
        mapping: &TableMapping,
        row: &[Value],
        kind: RowKind,
        op_ts_millis: i64,
        at: &ChangeCoordinates,
        seq: i64,
    ) -> Result<()> {
        self.append_at(mapping, row, kind, op_ts_millis, Some((at, seq)))
    }

    fn append_at(
        &mut self,
        mapping: &TableMapping,
        row: &[Value],
        kind: RowKind,
        op_ts_millis: i64,
        at: Option<(&ChangeCoordinates, i64)>,
    ) -> Result<()> {
        if row.len() != mapping.column_names.len() {
            return Err(BridgeError::other(format!(
                "row of {} has {} values but the table has {} columns",
                mapping.table,
                row.len(),
                mapping.column_names.len()
            )));
        }
        self.append_with(mapping, kind, op_ts_millis, at, |index, _, _| {
            Ok(Some(ValueRef::from(&row[index])))
        })
    }

    /// Appends a snapshot row as the binary protocol decoded it (the row of a prepared `SELECT`
    /// of every column of `table` in table order, as [`snapshot_row`] requires): each value read
    /// by the mapping is normalized by reference and appended, with no canonical row built and
    /// no string or DECIMAL copied on the way. The values are those of [`snapshot_row`] followed
    /// by [`Self::append`]. Errors as [`Self::append`].
    pub fn append_snapshot_row(
        &mut self,
        mapping: &TableMapping,
        table: &TableSchema,
        normalizer: &RowNormalizer,
        row: mysql_async::Row,
    ) -> Result<()> {
        normalizer.check(table)?;
        let values = row.unwrap_raw();
        check_arity(table, values.len(), "snapshot")?;
        if values.len() != mapping.column_names.len() {
            return Err(BridgeError::other(format!(
                "mapping of {} used with a row of {}",
                mapping.table, table.id
            )));
        }
        self.append_with(mapping, RowKind::Insert, 0, None, |index, builder, conv| {
            let column = &table.columns[index];
            let kind = normalizer.kinds[index];
            // `None` only when the value was taken from the row before it came here.
            let value = ValueRef::from(values[index].as_ref().unwrap_or(&Value::NULL));
            if !matches!(value, ValueRef::Null) && builder.append_snapshot_fast(kind, conv, &value)
            {
                return Ok(None);
            }
            normalize_snapshot(column, kind, value)
                .map(Some)
                .map_err(|detail| value_error(table, column, "snapshot", detail))
        })
    }

    /// Appends a snapshot row from its binary-protocol packet (`QueryResult::next_raw` of the
    /// prepared `SELECT` of every column of `table` in table order, as [`snapshot_row`]
    /// requires), read by `reader` (built from that result's columns): the same batch as
    /// [`Self::append_snapshot_row`] of the row mysql_async would have decoded, without decoding
    /// it into a `Row` (no allocation per row or per value). Errors as [`Self::append`]; a
    /// malformed packet names the table and, when a value is at fault, its column.
    pub fn append_snapshot_packet(
        &mut self,
        mapping: &TableMapping,
        table: &TableSchema,
        normalizer: &RowNormalizer,
        reader: &mut BinaryRowReader,
        packet: &[u8],
    ) -> Result<()> {
        normalizer.check(table)?;
        check_arity(table, reader.len(), "snapshot")?;
        if reader.len() != mapping.column_names.len() {
            return Err(BridgeError::other(format!(
                "mapping of {} used with a row of {}",
                mapping.table, table.id
            )));
        }
        let row = reader.read(packet).map_err(|e| match e.column {
            Some(i) => value_error(table, &table.columns[i], "snapshot", e.to_string()),
            None => BridgeError::other(format!("snapshot row of {}: {e}", table.id)),
        });
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                // As a failed append: the pending rows go (the chunk is read again).
                self.discard_pending();
                return Err(e);
            }
        };
        self.append_with(mapping, RowKind::Insert, 0, None, |index, builder, conv| {
            let kind = normalizer.kinds[index];
            let value = row.value(index);
            if !matches!(value, ValueRef::Null) && builder.append_snapshot_fast(kind, conv, &value)
            {
                return Ok(None);
            }
            let column = &table.columns[index];
            normalize_snapshot(column, kind, value)
                .map(Some)
                .map_err(|detail| value_error(table, column, "snapshot", detail))
        })
    }

    /// Appends one row whose column `index` (of the mapping's table) is `value_of(index,
    /// builder, conv)`, called once for each column the row type reads with that column's
    /// builder and conversion. `value_of` may append the value itself and return `None`. `at`:
    /// the binlog coordinates and `change_seq` of the row, None for a snapshot row.
    fn append_with<'v>(
        &mut self,
        mapping: &TableMapping,
        kind: RowKind,
        op_ts_millis: i64,
        at: Option<(&ChangeCoordinates, i64)>,
        mut value_of: impl FnMut(usize, &mut ColumnBuilder, Conv) -> Result<Option<ValueRef<'v>>>,
    ) -> Result<()> {
        for (i, slot) in mapping.slots.iter().enumerate() {
            let builder = &mut self.builders[i];
            let result = match slot {
                Slot::Column { index, conv } => match value_of(*index, builder, *conv) {
                    Ok(None) => Ok(()),
                    Err(e) => {
                        self.discard_pending();
                        return Err(e);
                    }
                    Ok(Some(ValueRef::Null)) if !self.row_type.columns[i].nullable => {
                        self.discard_pending();
                        return Err(BridgeError::other(format!(
                            "column '{}' of {} is NULL but the Flink column is declared NOT NULL; \
                             drop NOT NULL from the Flink column",
                            mapping.column_names[*index], mapping.table
                        )));
                    }
                    Ok(Some(ValueRef::Null)) => {
                        builder.append_null();
                        Ok(())
                    }
                    Ok(Some(v)) => builder.append(*conv, &v, &self.server_time_zone),
                },
                Slot::Meta(meta) => {
                    append_meta(builder, *meta, &mapping.table, kind, op_ts_millis, at, None)
                }
            };
            if let Err(detail) = result {
                self.discard_pending();
                let column = match slot {
                    Slot::Column { index, .. } => mapping.column_names[*index].as_str(),
                    Slot::Meta(_) => self.row_type.columns[i].name.as_str(),
                };
                return Err(BridgeError::other(format!(
                    "column '{column}' of {} as Flink {}: {detail}",
                    mapping.table, self.row_type.columns[i].ty
                )));
            }
        }
        self.kinds.push(if self.append_only {
            RowKind::Insert
        } else {
            kind
        });
        Ok(())
    }

    /// True when the row type has a `schema_change` metadata column: schema changes are emitted.
    pub fn emits_schema_changes(&self) -> bool {
        self.row_type
            .columns
            .iter()
            .any(|c| c.metadata_key() == Some("schema_change"))
    }

    /// Appends a schema-change record of `table` (only with a `schema_change` column, see
    /// [`Self::emits_schema_changes`]): an insert whose physical columns are NULL (validated
    /// nullable in `new`), `schema_change` holding `json`, the other metadata as for rows.
    /// `at`: where in the binlog the change was seen (before the table's next row); its
    /// `change_seq` is the before image's.
    pub fn append_schema_change(
        &mut self,
        table: &TableId,
        json: &str,
        op_ts_millis: i64,
        at: &ChangeCoordinates,
    ) -> Result<()> {
        let at = Some((at, at.before_seq()));
        for (i, field) in self.row_type.columns.iter().enumerate() {
            let builder = &mut self.builders[i];
            let result = match field.metadata_key().and_then(metadata_key) {
                None => {
                    builder.append_null();
                    Ok(())
                }
                Some(meta) => append_meta(
                    builder,
                    meta,
                    table,
                    RowKind::Insert,
                    op_ts_millis,
                    at,
                    Some(json),
                ),
            };
            if let Err(detail) = result {
                let message = format!(
                    "schema change of {table} as column '{}': {detail}",
                    field.name
                );
                self.discard_pending();
                return Err(BridgeError::other(message));
            }
        }
        self.kinds.push(RowKind::Insert);
        Ok(())
    }

    /// Drops every pending row after a row failed half-way: Arrow builders cannot pop the
    /// columns already appended. A failed append fails the reader anyway; this only keeps the
    /// builder consistent for reuse.
    fn discard_pending(&mut self) {
        for b in &mut self.builders {
            b.finish();
        }
        self.kinds.clear();
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The rows appended since the last `finish`; the builder is reusable. `row_kinds` is None
    /// when every row is an insert (Flink's default kind).
    ///
    /// Each column's builder starts again with the room this batch took. Arrow builders finish
    /// into empty ones, and growing a chunk's columns from nothing by doubling (copying, and
    /// touching fresh pages the kernel must zero) cost about 15% of the snapshot reader.
    pub fn finish(&mut self) -> Result<ChangeBatch> {
        let row_count = self.kinds.len();
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .zip(&self.row_type.columns)
            .map(|(builder, field)| {
                let data_bytes = builder.data_bytes();
                let array = builder.finish();
                *builder = ColumnBuilder::new(field.ty, row_count, data_bytes);
                array
            })
            .collect();
        let rows = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(row_count)),
        )?;
        let kinds = std::mem::replace(&mut self.kinds, Vec::with_capacity(row_count));
        let row_kinds = if kinds.iter().all(|k| *k == RowKind::Insert) {
            None
        } else {
            Some(kinds)
        };
        Ok(ChangeBatch { rows, row_kinds })
    }
}

fn metadata_key(key: &str) -> Option<Meta> {
    match key {
        "database_name" => Some(Meta::Database),
        "table_name" => Some(Meta::Table),
        "op_ts" => Some(Meta::OpTs),
        "row_kind" => Some(Meta::RowKind),
        "schema_change" => Some(Meta::SchemaChange),
        "binlog_file" => Some(Meta::BinlogFile),
        "binlog_position" => Some(Meta::BinlogPosition),
        "binlog_row_index" => Some(Meta::BinlogRowIndex),
        "gtid" => Some(Meta::Gtid),
        "change_seq" => Some(Meta::ChangeSeq),
        _ => None,
    }
}

/// Appends the value of metadata column `meta` for a row of `table`. `at`: the row's binlog
/// coordinates and `change_seq` (None: a snapshot row); `schema_change`: the JSON of a
/// schema-change record (None: a row).
fn append_meta(
    builder: &mut ColumnBuilder,
    meta: Meta,
    table: &TableId,
    kind: RowKind,
    op_ts_millis: i64,
    at: Option<(&ChangeCoordinates, i64)>,
    schema_change: Option<&str>,
) -> Result<(), String> {
    let null = |builder: &mut ColumnBuilder| {
        builder.append_null();
        Ok(())
    };
    match (meta, at) {
        (Meta::Database, _) => builder.append_str(&table.database),
        (Meta::Table, _) => builder.append_str(&table.table),
        (Meta::RowKind, _) => builder.append_str(row_kind_text(kind)),
        (Meta::OpTs, _) => builder.append_micros(op_ts_millis.saturating_mul(1000)),
        (Meta::SchemaChange, _) => match schema_change {
            Some(json) => builder.append_str(json),
            None => null(builder),
        },
        (Meta::ChangeSeq, at) => builder.append_int(i128::from(at.map_or(0, |(_, seq)| seq))),
        (_, None) => null(builder),
        (Meta::BinlogFile, Some((at, _))) => builder.append_str(&at.file),
        (Meta::BinlogPosition, Some((at, _))) => builder.append_int(i128::from(at.txn_position)),
        (Meta::BinlogRowIndex, Some((at, _))) => builder.append_int(i128::from(at.row_index)),
        (Meta::Gtid, Some((at, _))) => match &at.gtid {
            Some(gtid) => builder.append_str(gtid),
            None => null(builder),
        },
    }
}

fn row_kind_text(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Insert => "+I",
        RowKind::UpdateBefore => "-U",
        RowKind::UpdateAfter => "+U",
        RowKind::Delete => "-D",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Value::*;

    #[test]
    fn a_narrower_decimal_rounds_half_up_and_reads_null_beyond_its_precision() {
        let round = |text: &str, p, s| round_decimal(text.as_bytes(), p, s);
        assert_eq!(round("12.345", 6, 2), Some(1235), "HALF_UP");
        assert_eq!(round("12.344", 6, 2), Some(1234));
        assert_eq!(
            round("-12.345", 6, 2),
            Some(-1235),
            "away from zero, as BigDecimal's HALF_UP"
        );
        assert_eq!(
            round("99.995", 4, 2),
            None,
            "rounds up to 100.00: five digits"
        );
        assert_eq!(round("99.994", 4, 2), Some(9999));
        assert_eq!(round("123456", 5, 0), None);
        assert_eq!(round("00012", 2, 0), Some(12), "leading zeros do not count");
        assert_eq!(round("7", 4, 2), Some(700));
        assert_eq!(
            round(&"9".repeat(65), 38, 0),
            None,
            "a DECIMAL(65) value does not overflow i128"
        );
        assert_eq!(round("1e5", 6, 0), None, "not a decimal's text");
        assert_eq!(parse_float_text::<f32>(b"0.1"), Ok(0.1f32));
        assert_eq!(
            parse_float_text::<f64>(b"-12345678901.25"),
            Ok(-12345678901.25)
        );
    }

    #[test]
    fn compare_values_orders_numbers_bytes_and_time() {
        let ordered = [
            NULL,
            Int(i64::MIN),
            Int(-1),
            UInt(0),
            Int(1),
            UInt(i64::MAX as u64),
            UInt(i64::MAX as u64 + 1),
            UInt(u64::MAX),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_values(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
        assert_eq!(compare_values(&Int(5), &UInt(5)), Ordering::Equal);
        assert_eq!(compare_values(&UInt(u64::MAX), &Int(-1)), Ordering::Greater);
        assert_eq!(compare_values(&Double(-0.5), &Int(0)), Ordering::Less);
        assert_eq!(compare_values(&Float(2.5), &Double(2.0)), Ordering::Greater);
        // Bytes bytewise: uppercase before lowercase, a prefix first, 0xff last.
        let b = |s: &[u8]| Bytes(s.to_vec());
        assert_eq!(compare_values(&b(b"B"), &b(b"a")), Ordering::Less);
        assert_eq!(compare_values(&b(b"ab"), &b(b"abc")), Ordering::Less);
        assert_eq!(compare_values(&b(&[0xff]), &b(b"z")), Ordering::Greater);
        // Dates and times chronologically, pre-1970 included.
        assert_eq!(
            compare_values(
                &Date(1969, 12, 31, 23, 59, 59, 999_999),
                &Date(1970, 1, 1, 0, 0, 0, 0)
            ),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &Date(2024, 2, 1, 0, 0, 0, 0),
                &Date(2024, 1, 31, 23, 0, 0, 0)
            ),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Time(true, 1, 0, 0, 0, 0), &Time(true, 0, 23, 0, 0, 0)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&Time(true, 0, 0, 0, 1, 0), &Time(false, 0, 0, 0, 0, 0)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &Time(false, 1, 0, 0, 0, 0),
                &Time(false, 0, 23, 59, 59, 999_999)
            ),
            Ordering::Greater
        );
    }

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

    #[test]
    fn decimal_keys_compare_numerically() {
        let column = ColumnSchema {
            name: "d".into(),
            data_type: "decimal".into(),
            column_type: "decimal(10,2)".into(),
            unsigned: false,
            nullable: false,
            precision: Some(10),
            scale: Some(2),
            char_max_length: None,
        };
        let ordered = [
            "-100.00", "-9.50", "-0.01", "0.00", "0.50", "9.99", "10.00", "100.5",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                let (va, vb) = (Bytes(a.as_bytes().to_vec()), Bytes(b.as_bytes().to_vec()));
                assert_eq!(
                    compare_column_values(&column, &va, &vb),
                    i.cmp(&j),
                    "{a} vs {b}"
                );
            }
        }
        assert_eq!(compare_decimal_text(b"-0.00", b"0"), Ordering::Equal);
    }

    /// An update changes the key when any primary-key column differs, compared as the key values
    /// are (DECIMAL numerically, strings exactly); other columns and keyless tables never do.
    #[test]
    fn primary_key_differs_compares_every_key_column_and_only_those() {
        let column = |name: &str, data_type: &str| ColumnSchema {
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            unsigned: false,
            nullable: false,
            precision: Some(10),
            scale: Some(2),
            char_max_length: None,
        };
        let columns = vec![
            column("region", "varchar"),
            column("id", "decimal"),
            column("body", "varchar"),
        ];
        let keyed = TableSchema {
            id: TableId::new("d", "t"),
            columns: columns.clone(),
            primary_key: vec![1, 0],
        };
        let keyless = TableSchema {
            id: TableId::new("d", "t"),
            columns,
            primary_key: Vec::new(),
        };
        let row = |region: &str, id: &str, body: &str| -> Vec<Value> {
            [region, id, body]
                .iter()
                .map(|v| Bytes(v.as_bytes().to_vec()))
                .collect()
        };
        let before = row("eu", "7.50", "x");
        assert!(
            !primary_key_differs(&keyed, &before, &row("eu", "7.50", "y")),
            "another body"
        );
        assert!(
            !primary_key_differs(&keyed, &before, &row("eu", "7.5", "x")),
            "the same decimal"
        );
        assert!(
            primary_key_differs(&keyed, &before, &row("eu", "8.00", "x")),
            "one key column"
        );
        assert!(
            primary_key_differs(&keyed, &before, &row("us", "7.50", "x")),
            "the other key column"
        );
        // As Debezium compares key structs: 'EU' is another key even under a case-insensitive collation.
        assert!(
            primary_key_differs(&keyed, &before, &row("EU", "7.50", "x")),
            "case"
        );
        assert!(
            !primary_key_differs(&keyless, &before, &row("us", "8.00", "y")),
            "no key to change"
        );
    }

    #[test]
    fn decimals_normalize_and_parse() {
        let n = |t: &str, s: u32| {
            String::from_utf8(normalize_decimal(t.as_bytes().to_vec(), s).unwrap()).unwrap()
        };
        assert_eq!(n("1.50", 2), "1.50");
        assert_eq!(n("0000000001.5", 2), "1.50");
        assert_eq!(n(".5", 1), "0.5");
        assert_eq!(n("-0.00", 2), "0.00");
        assert_eq!(n("-000", 0), "0");
        assert_eq!(n("+12", 0), "12");
        assert!(normalize_decimal(b"1e5".to_vec(), 0).is_err());
        assert_eq!(parse_decimal(b"-1.5", 3), Ok(-1500));
        assert_eq!(parse_decimal(b"12.340", 2), Ok(1234));
        assert!(parse_decimal(b"12.345", 2).is_err());
        assert_eq!(
            parse_decimal(b"18446744073709551615", 0),
            Ok(18446744073709551615)
        );
    }

    #[test]
    fn server_time_zones() {
        let off = |s: &str| ServerTimeZone::parse(s).map(|z| z.fixed_offset_seconds());
        assert_eq!(off("UTC").unwrap(), Some(0));
        assert_eq!(off("Etc/UTC").unwrap(), Some(0));
        assert_eq!(off("+08:00").unwrap(), Some(8 * 3600));
        assert_eq!(off("-05:30").unwrap(), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(off("+0800").unwrap(), Some(8 * 3600));
        assert_eq!(off("UTC+8").unwrap(), Some(8 * 3600));
        assert_eq!(off("GMT-03:30").unwrap(), Some(-(3 * 3600 + 30 * 60)));
        for bad in ["Mars/Olympus_Mons", "+25:00", "+08:0", "8", "", "+"] {
            let e = off(bad).expect_err(bad).to_string();
            assert!(
                e.contains("is not a time zone") && e.contains("Asia/Shanghai"),
                "{e}"
            );
        }
        // Named zones: the offset of each instant, and of each wall clock.
        let shanghai = ServerTimeZone::parse(" Asia/Shanghai ").unwrap();
        assert_eq!(shanghai.fixed_offset_seconds(), None);
        assert_eq!(shanghai.offset_at_instant(1_721_044_800), Ok(8 * 3600));
        let ny = ServerTimeZone::parse("America/New_York").unwrap();
        assert_eq!(
            ny.offset_at_instant(1_705_320_000),
            Ok(-5 * 3600),
            "January"
        );
        assert_eq!(ny.offset_at_instant(1_721_044_800), Ok(-4 * 3600), "July");
        // 2024-03-10 02:30 on the wall (skipped): the offset before the change.
        assert_eq!(ny.offset_at_wall(1_710_037_800), Ok(-5 * 3600));
        // 2024-11-03 01:30 on the wall (repeated): the earlier instant's offset.
        assert_eq!(ny.offset_at_wall(1_730_597_400), Ok(-4 * 3600));
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-719_162, -1, 0, 1, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, u32::from(m), u32::from(d)), days);
        }
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    /// `use.legacy.json.format`: MySQL's binary JSON `{"a": 1, "b": [true, "x"]}` printed with
    /// MySQL's separators, or compactly as Debezium (Flink CDC's default) prints it.
    #[test]
    fn jsonb_objects_and_arrays_print_as_mysql_or_compact() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 2, 0, 32, 0,            // small object: 2 members, 32 bytes
            18, 0, 1, 0, 19, 0, 1, 0,     // keys at 18 and 19, one byte each
            0x05, 1, 0, 0x02, 20, 0,      // "a": int16 1 (inlined); "b": small array at 20
            b'a', b'b',
            2, 0, 12, 0,                  // the array: 2 items, 12 bytes
            0x04, 1, 0, 0x0c, 10, 0,      // true (inlined); a string at 10
            1, b'x',
        ];
        let print = |compact: bool| {
            let value: jsonb::Value<'_> = ParseBuf(bytes).parse(()).unwrap();
            let mut out = Vec::new();
            write_jsonb(&value, &mut out, compact).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(print(false), r#"{"a": 1, "b": [true, "x"]}"#);
        assert_eq!(print(true), r#"{"a":1,"b":[true,"x"]}"#);
    }

    #[test]
    fn jsonb_text_matches_mysql_formatting() {
        let mut out = Vec::new();
        write_json_string("a\"b\\c\n\u{1}é".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
        let mut out = Vec::new();
        push_double(&mut out, 1.0);
        out.push(b' ');
        push_double(&mut out, 1.5e300);
        assert_eq!(String::from_utf8(out).unwrap(), "1.0 1.5e300");
    }
}
