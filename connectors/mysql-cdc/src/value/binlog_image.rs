//! Binlog row images split into values with each table map's column layout read once.

use mysql_async::binlog::events::{OptionalMetaExtractor, RowsEventData, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::Value;
use mysql_common::io::ParseBuf;

/// A row's before and after images as [`BinlogImageLayout`] splits them.
pub type BinlogImages = (
    Option<Vec<Option<BinlogValue<'static>>>>,
    Option<Vec<Option<BinlogValue<'static>>>>,
);

/// How to split binlog row images of one table map into values: each column's type, metadata,
/// signedness and collation, read once per table map. It mirrors mysql_common's `BinlogRow`
/// decoding for full row images (every column present) without rebuilding column metadata for
/// every row, which costs about half of reading the binlog. Pair it with
/// [`RowNormalizer::binlog_values`](super::RowNormalizer::binlog_values); events it does not handle ([`Self::handles`]) go through
/// mysql_common's rows and [`RowNormalizer::binlog_row`](super::RowNormalizer::binlog_row).
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

    /// Each column's collation id (0 when the table map has none), for [`RowNormalizer::binlog_values`](super::RowNormalizer::binlog_values).
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
