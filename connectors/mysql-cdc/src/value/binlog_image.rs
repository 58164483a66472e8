//! Binlog row images split into values with each table map's column layout read once.

use mysql_async::binlog::events::{RowsEventData, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::Value;
use mysql_common::io::ParseBuf;

use super::table_map::TableMap;

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
    /// The table map's columns, checked for what mysql_common's decoder trusts.
    map: TableMap,
}

impl BinlogImageLayout {
    pub fn new(tme: &TableMapEvent<'_>) -> std::io::Result<Self> {
        Ok(Self::from_table_map(TableMap::read(tme)?))
    }

    /// The layout of a table map already read.
    pub fn from_table_map(map: TableMap) -> Self {
        BinlogImageLayout { map }
    }

    /// What the table map says about its columns.
    pub fn table_map(&self) -> &TableMap {
        &self.map
    }

    /// Each column's collation id (0 when the table map has none), for [`RowNormalizer::binlog_values`](super::RowNormalizer::binlog_values).
    pub fn charsets(&self) -> &[u16] {
        &self.map.charsets
    }

    /// True for events of this table map whose images hold every column and no partial JSON.
    pub fn handles(&self, rows: &RowsEventData<'_>) -> bool {
        let n = self.map.types.len();
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
        let n = self.map.types.len();
        let nulls: &[u8] = buf.parse(n.div_ceil(8))?;
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            if nulls[i / 8] & (1 << (i % 8)) != 0 {
                values.push(Some(BinlogValue::Value(Value::NULL)));
            } else if self.map.types[i] == ColumnType::MYSQL_TYPE_TIME2
                && matches!(self.map.metadata[i].first(), Some(1 | 2))
            {
                values.push(Some(BinlogValue::Value(time2_hundredths(buf)?)));
            } else {
                let ctx = (
                    self.map.types[i],
                    self.map.metadata[i].as_slice(),
                    self.map.unsigned[i],
                    false,
                );
                values.push(Some(buf.parse::<BinlogValue<'de>>(ctx)?.into_owned()));
            }
        }
        Ok(values)
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
