//! Binary-protocol row packets read in place, without mysql_common's `Row`.
//!
//! `QueryResult::next` (mysql_async) decodes every row of a prepared `SELECT` into a `Row`: a
//! `Vec<Option<Value>>` with one heap allocation per string or DECIMAL, which the snapshot then
//! reads once and drops. [`BinaryRowReader`] walks the row packet itself (from
//! `QueryResult::next_raw`, added to the vendored mysql_async: see `vendor/mysql_async/PATCHED.md`)
//! and gives each value as a [`ValueRef`] whose bytes borrow the packet. Per row it allocates
//! nothing: the reader keeps one small slot per column, reused row after row.
//!
//! The values are exactly those mysql_common's `RowDeserializer<_, Binary>` gives (its
//! `Value::deserialize_bin`), so that everything after it (normalization, the fast path, the
//! Arrow conversion) is shared with the `Row` path and gives the same batch:
//!
//! | column type (result-set metadata)                          | wire                       | value            |
//! |------------------------------------------------------------|----------------------------|------------------|
//! | TINY / SHORT, YEAR / LONG, INT24                            | 1 / 2 / 4 bytes LE         | `Int` (signed or unsigned read by the UNSIGNED flag) |
//! | LONGLONG                                                   | 8 bytes LE                 | `Int`; unsigned above `i64::MAX`: `UInt` |
//! | FLOAT / DOUBLE                                             | 4 / 8 bytes LE             | `Float` / `Double` |
//! | DATE, DATETIME, TIMESTAMP                                  | length 0/4/7/11, then y(2) m d [h mi s [µs(4)]] | `Date` |
//! | TIME                                                       | length 0/8/12, then neg days(4) h mi s [µs(4)] | `Time` |
//! | strings, blobs, DECIMAL, BIT, ENUM, SET, JSON, GEOMETRY, VECTOR | length-encoded bytes  | `Bytes` |
//! | NULL                                                       | nothing                    | `NULL`           |
//!
//! A packet is `0x00`, the NULL bitmap (`(columns + 9) / 8` bytes, column `i` at bit `i + 2`),
//! then the non-NULL values in column order. Unlike mysql_common, a malformed packet (another
//! header, a value running past the end, bytes left after the last value, a length-encoded
//! length of `0xFB`/`0xFF`, a column type the protocol does not send in rows) is an error, never a
//! panic: mysql_common panics (`unimplemented!`) on an unknown column type.

use std::borrow::Cow;

use mysql_async::consts::{ColumnFlags, ColumnType};

use super::value_ref::ValueRef;

/// How a column's non-NULL value is laid out in the packet, from its result-set metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    LenEnc,
    Int1 {
        unsigned: bool,
    },
    Int2 {
        unsigned: bool,
    },
    Int4 {
        unsigned: bool,
    },
    Int8 {
        unsigned: bool,
    },
    Float,
    Double,
    DateTime,
    Time,
    Null,
    /// A type mysql_common cannot decode either (it panics): an error once a value comes.
    Unsupported(ColumnType),
}

impl Wire {
    fn of(ty: ColumnType, flags: ColumnFlags) -> Wire {
        use ColumnType::*;
        let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
        match ty {
            MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BIT
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_VECTOR
            | MYSQL_TYPE_JSON => Wire::LenEnc,
            MYSQL_TYPE_TINY => Wire::Int1 { unsigned },
            MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => Wire::Int2 { unsigned },
            MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => Wire::Int4 { unsigned },
            MYSQL_TYPE_LONGLONG => Wire::Int8 { unsigned },
            MYSQL_TYPE_FLOAT => Wire::Float,
            MYSQL_TYPE_DOUBLE => Wire::Double,
            MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME => Wire::DateTime,
            MYSQL_TYPE_TIME => Wire::Time,
            MYSQL_TYPE_NULL => Wire::Null,
            other => Wire::Unsupported(other),
        }
    }
}

/// Where a value of the current row lies in the packet: its bytes after any length prefix.
/// Walking a row only finds the values; [`BinaryRow::value`] decodes one when it is asked for.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// The span of a NULL.
const NULL: Span = Span {
    start: usize::MAX,
    end: usize::MAX,
};

/// A malformed row packet: what is wrong and, when a value is at fault, its column (index in
/// the result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowPacketError {
    pub column: Option<usize>,
    pub detail: String,
}

impl std::fmt::Display for RowPacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(i) => write!(
                f,
                "malformed binary row packet at column {i}: {}",
                self.detail
            ),
            None => write!(f, "malformed binary row packet: {}", self.detail),
        }
    }
}

/// Reads the binary-protocol row packets of one result set (see the module documentation).
/// Build it once per result set from its columns (`QueryResult::columns_ref`).
#[derive(Clone, Debug)]
pub struct BinaryRowReader {
    wires: Vec<Wire>,
    spans: Vec<Span>,
}

/// One row read by [`BinaryRowReader::read`]: its values by column index, borrowing the packet.
#[derive(Clone, Copy, Debug)]
pub(super) struct BinaryRow<'r, 'p> {
    wires: &'r [Wire],
    spans: &'r [Span],
    packet: &'p [u8],
}

impl<'p> BinaryRow<'_, 'p> {
    /// Column `i`'s value as mysql_common would decode it (`i` < the reader's column count).
    #[inline]
    pub(super) fn value(&self, i: usize) -> ValueRef<'p> {
        let span = self.spans[i];
        if span.start == NULL.start {
            return ValueRef::Null;
        }
        // In bounds, and of the length each fixed-size type needs: `read` checked both.
        let Some(b) = self.packet.get(span.start..span.end) else {
            return ValueRef::Null;
        };
        match self.wires[i] {
            Wire::LenEnc => ValueRef::Bytes(Cow::Borrowed(b)),
            // mysql_common gives TINY, SHORT and LONG as Int either way, read by their signedness.
            Wire::Int1 { unsigned } => {
                let [x] = fixed(b);
                ValueRef::Int(if unsigned {
                    i64::from(x)
                } else {
                    i64::from(x as i8)
                })
            }
            Wire::Int2 { unsigned } => {
                let x = fixed(b);
                ValueRef::Int(if unsigned {
                    i64::from(u16::from_le_bytes(x))
                } else {
                    i64::from(i16::from_le_bytes(x))
                })
            }
            Wire::Int4 { unsigned } => {
                let x = fixed(b);
                ValueRef::Int(if unsigned {
                    i64::from(u32::from_le_bytes(x))
                } else {
                    i64::from(i32::from_le_bytes(x))
                })
            }
            Wire::Int8 { unsigned: true } => {
                let v = u64::from_le_bytes(fixed(b));
                i64::try_from(v).map_or(ValueRef::UInt(v), ValueRef::Int)
            }
            Wire::Int8 { unsigned: false } => ValueRef::Int(i64::from_le_bytes(fixed(b))),
            Wire::Float => ValueRef::Float(f32::from_le_bytes(fixed(b))),
            Wire::Double => ValueRef::Double(f64::from_le_bytes(fixed(b))),
            Wire::DateTime => {
                // As mysql_common: fields present by length (4: date, 7: and time, 11: and µs).
                let (mut y, mut m, mut d, mut h, mut mi, mut s, mut us) = (0, 0, 0, 0, 0, 0, 0);
                if let [y0, y1, m0, d0, rest @ ..] = b {
                    (y, m, d) = (u16::from_le_bytes([*y0, *y1]), *m0, *d0);
                    if let [h0, mi0, s0, rest @ ..] = rest {
                        (h, mi, s) = (*h0, *mi0, *s0);
                        if let [a, b, c, e] = rest {
                            us = u32::from_le_bytes([*a, *b, *c, *e]);
                        }
                    }
                }
                ValueRef::Date(y, m, d, h, mi, s, us)
            }
            Wire::Time => {
                // As mysql_common: 8: sign, days and h:m:s; 12: and µs.
                let (mut neg, mut days, mut h, mut mi, mut s, mut us) = (false, 0, 0, 0, 0, 0);
                if let [n, d0, d1, d2, d3, h0, mi0, s0, rest @ ..] = b {
                    neg = *n == 1;
                    days = u32::from_le_bytes([*d0, *d1, *d2, *d3]);
                    (h, mi, s) = (*h0, *mi0, *s0);
                    if let [a, b, c, e] = rest {
                        us = u32::from_le_bytes([*a, *b, *c, *e]);
                    }
                }
                ValueRef::Time(neg, days, h, mi, s, us)
            }
            Wire::Null | Wire::Unsupported(_) => ValueRef::Null,
        }
    }
}

/// The `N` bytes of a fixed-size value (`read` made its span exactly `N` long).
#[inline(always)]
fn fixed<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

/// What is wrong with a value; formatted only when it is reported.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Eof,
    Length(u8),
    Unsupported(ColumnType),
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Eof => write!(f, "value past the end of the packet"),
            Bad::Length(x) => write!(f, "0x{x:02X} is not a length"),
            Bad::Unsupported(ty) => {
                write!(f, "column type {ty:?} cannot be read from a binary row")
            }
        }
    }
}

/// A cursor over a packet; every read is bounds-checked.
struct Cursor<'p> {
    packet: &'p [u8],
    pos: usize,
}

impl<'p> Cursor<'p> {
    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'p [u8], Bad> {
        let end = self.pos.checked_add(n).ok_or(Bad::Eof)?;
        let bytes = self.packet.get(self.pos..end).ok_or(Bad::Eof)?;
        self.pos = end;
        Ok(bytes)
    }

    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        self.take(N)?.try_into().map_err(|_| Bad::Eof)
    }

    #[inline(always)]
    fn u8(&mut self) -> Result<u8, Bad> {
        let b = *self.packet.get(self.pos).ok_or(Bad::Eof)?;
        self.pos += 1;
        Ok(b)
    }

    /// A length-encoded integer; `0xFB` (NULL in text rows) and `0xFF` are not lengths.
    #[inline(always)]
    fn lenenc(&mut self) -> Result<u64, Bad> {
        Ok(match self.u8()? {
            x @ 0..=0xfa => u64::from(x),
            0xfc => u64::from(u16::from_le_bytes(self.array()?)),
            0xfd => {
                let [a, b, c] = self.array()?;
                u64::from(u32::from_le_bytes([a, b, c, 0]))
            }
            0xfe => u64::from_le_bytes(self.array()?),
            x => return Err(Bad::Length(x)),
        })
    }
}

impl BinaryRowReader {
    /// A reader for rows of a result set with these columns (type and UNSIGNED flag of each).
    pub fn new(columns: &[mysql_async::Column]) -> Self {
        Self::from_types(columns.iter().map(|c| (c.column_type(), c.flags())))
    }

    /// [`Self::new`] from each column's type and flags.
    pub fn from_types(columns: impl IntoIterator<Item = (ColumnType, ColumnFlags)>) -> Self {
        let wires: Vec<Wire> = columns
            .into_iter()
            .map(|(ty, flags)| Wire::of(ty, flags))
            .collect();
        let spans = vec![NULL; wires.len()];
        BinaryRowReader { wires, spans }
    }

    /// Columns per row.
    pub fn len(&self) -> usize {
        self.wires.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wires.is_empty()
    }

    /// Reads one row packet (its payload, as `QueryResult::next_raw` gives it): finds where
    /// each value lies. On error nothing of this row is readable.
    pub(super) fn read<'r, 'p>(
        &'r mut self,
        packet: &'p [u8],
    ) -> Result<BinaryRow<'r, 'p>, RowPacketError> {
        let whole = |detail: String| RowPacketError {
            column: None,
            detail,
        };
        let mut cur = Cursor { packet, pos: 0 };
        match cur.u8() {
            Ok(0x00) => {}
            Ok(h) => return Err(whole(format!("header 0x{h:02X}, not 0x00"))),
            Err(_) => return Err(whole("empty packet".into())),
        }
        let bitmap = cur.take((self.wires.len() + 9) / 8).map_err(|_| {
            whole(format!(
                "NULL bitmap of {} columns past the end of the packet",
                self.wires.len()
            ))
        })?;
        for (i, (wire, span)) in self.wires.iter().zip(self.spans.iter_mut()).enumerate() {
            let bit = i + 2;
            if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
                *span = NULL;
                continue;
            }
            *span = value_span(&mut cur, *wire).map_err(|bad| RowPacketError {
                column: Some(i),
                detail: bad.to_string(),
            })?;
        }
        if cur.pos != packet.len() {
            return Err(whole(format!(
                "{} bytes after the last value",
                packet.len() - cur.pos
            )));
        }
        Ok(BinaryRow {
            wires: &self.wires,
            spans: &self.spans,
            packet,
        })
    }

    /// [`Self::read`] into owned values, for tests and the fuzz harness (the snapshot reads
    /// rows in place).
    pub fn read_values(
        &mut self,
        packet: &[u8],
    ) -> Result<Vec<mysql_async::Value>, RowPacketError> {
        let row = self.read(packet)?;
        Ok((0..row.spans.len())
            .map(|i| row.value(i).into_value())
            .collect())
    }
}

/// Where one non-NULL value lies, as `Value::deserialize_bin` reads it: the bytes after its
/// length prefix (length-encoded for strings, one byte for dates and times).
#[inline(always)]
fn value_span(cur: &mut Cursor<'_>, wire: Wire) -> Result<Span, Bad> {
    let len = match wire {
        Wire::LenEnc => usize::try_from(cur.lenenc()?).map_err(|_| Bad::Eof)?,
        Wire::Int1 { .. } => 1,
        Wire::Int2 { .. } => 2,
        Wire::Int4 { .. } | Wire::Float => 4,
        Wire::Int8 { .. } | Wire::Double => 8,
        Wire::DateTime | Wire::Time => usize::from(cur.u8()?),
        Wire::Null => 0,
        Wire::Unsupported(ty) => return Err(Bad::Unsupported(ty)),
    };
    let start = cur.pos;
    cur.take(len)?;
    Ok(Span {
        start,
        end: cur.pos,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mysql_async::consts::{ColumnFlags, ColumnType};
    use mysql_async::Column;
    use mysql_common::io::ParseBuf;
    use mysql_common::proto::{Binary, MyDeserialize};
    use mysql_common::row::RowDeserializer;
    use mysql_common::value::ServerSide;

    use super::BinaryRowReader;
    use mysql_async::Value;

    const TYPES: &[(ColumnType, bool)] = &[
        (ColumnType::MYSQL_TYPE_TINY, false),
        (ColumnType::MYSQL_TYPE_TINY, true),
        (ColumnType::MYSQL_TYPE_SHORT, false),
        (ColumnType::MYSQL_TYPE_YEAR, true),
        (ColumnType::MYSQL_TYPE_LONG, false),
        (ColumnType::MYSQL_TYPE_INT24, true),
        (ColumnType::MYSQL_TYPE_LONGLONG, false),
        (ColumnType::MYSQL_TYPE_LONGLONG, true),
        (ColumnType::MYSQL_TYPE_FLOAT, false),
        (ColumnType::MYSQL_TYPE_DOUBLE, false),
        (ColumnType::MYSQL_TYPE_NEWDECIMAL, false),
        (ColumnType::MYSQL_TYPE_VAR_STRING, false),
        (ColumnType::MYSQL_TYPE_BLOB, false),
        (ColumnType::MYSQL_TYPE_DATETIME, false),
        (ColumnType::MYSQL_TYPE_DATE, false),
        (ColumnType::MYSQL_TYPE_TIME, false),
        (ColumnType::MYSQL_TYPE_NULL, false),
    ];

    fn columns(types: &[(ColumnType, bool)]) -> Arc<[Column]> {
        types
            .iter()
            .map(|&(ty, unsigned)| {
                let flags = if unsigned {
                    ColumnFlags::UNSIGNED_FLAG
                } else {
                    ColumnFlags::empty()
                };
                Column::new(ty).with_flags(flags)
            })
            .collect()
    }

    /// mysql_common's decoding of the same packet (the `Row` path), or None when it fails.
    fn reference(types: &[(ColumnType, bool)], packet: &[u8]) -> Option<Vec<Value>> {
        let row = RowDeserializer::<ServerSide, Binary>::deserialize(
            columns(types),
            &mut ParseBuf(packet),
        )
        .ok()?;
        Some(mysql_async::Row::from(row).unwrap())
    }

    fn ours(
        types: &[(ColumnType, bool)],
        packet: &[u8],
    ) -> Result<Vec<Value>, super::RowPacketError> {
        BinaryRowReader::new(&columns(types)).read_values(packet)
    }

    fn lenenc(out: &mut Vec<u8>, b: &[u8]) {
        match b.len() {
            n if n < 0xfb => out.push(n as u8),
            n if n < 1 << 16 => {
                out.push(0xfc);
                out.extend_from_slice(&(n as u16).to_le_bytes());
            }
            n if n < 1 << 24 => {
                out.push(0xfd);
                out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            }
            n => {
                out.push(0xfe);
                out.extend_from_slice(&(n as u64).to_le_bytes());
            }
        }
        out.extend_from_slice(b);
    }

    /// A packet of `TYPES` with the columns in `nulls` NULL.
    fn packet(nulls: &[usize], long_text: usize) -> Vec<u8> {
        let mut p = vec![0u8];
        let mut bitmap = vec![0u8; (TYPES.len() + 9) / 8];
        for &i in nulls {
            bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
        }
        p.extend_from_slice(&bitmap);
        for (i, (ty, _)) in TYPES.iter().enumerate() {
            if nulls.contains(&i) {
                continue;
            }
            match ty {
                ColumnType::MYSQL_TYPE_TINY => p.push(0xff),
                ColumnType::MYSQL_TYPE_SHORT | ColumnType::MYSQL_TYPE_YEAR => {
                    p.extend_from_slice(&[0xfe, 0xff])
                }
                ColumnType::MYSQL_TYPE_LONG | ColumnType::MYSQL_TYPE_INT24 => {
                    p.extend_from_slice(&[0xfd, 0xff, 0xff, 0xff])
                }
                ColumnType::MYSQL_TYPE_LONGLONG => p.extend_from_slice(&u64::MAX.to_le_bytes()),
                ColumnType::MYSQL_TYPE_FLOAT => p.extend_from_slice(&1.5f32.to_le_bytes()),
                ColumnType::MYSQL_TYPE_DOUBLE => p.extend_from_slice(&(-2.25f64).to_le_bytes()),
                ColumnType::MYSQL_TYPE_NEWDECIMAL => lenenc(&mut p, b"-12.50"),
                ColumnType::MYSQL_TYPE_VAR_STRING => lenenc(&mut p, "h\u{e9}llo ".as_bytes()),
                ColumnType::MYSQL_TYPE_BLOB => lenenc(&mut p, &vec![7u8; long_text]),
                ColumnType::MYSQL_TYPE_DATETIME => {
                    p.extend_from_slice(&[11, 0xe8, 0x07, 2, 29, 23, 59, 58, 0x40, 0xe2, 1, 0])
                }
                ColumnType::MYSQL_TYPE_DATE => p.extend_from_slice(&[4, 0xe8, 0x07, 2, 29]),
                ColumnType::MYSQL_TYPE_TIME => {
                    p.extend_from_slice(&[12, 1, 34, 0, 0, 0, 22, 59, 59, 1, 0, 0, 0])
                }
                _ => {}
            }
        }
        p
    }

    #[test]
    fn values_are_those_of_mysql_common() {
        let mut cases: Vec<Vec<usize>> = vec![vec![], (0..TYPES.len()).collect()];
        // Every single NULL (each bitmap position), and NULLs around the bitmap's byte edges.
        cases.extend((0..TYPES.len()).map(|i| vec![i]));
        cases.extend([
            vec![5, 6],
            vec![6, 7, 8, 9],
            vec![0, 13, 14, 16],
            vec![1, 3, 5, 7, 9, 11, 13, 15],
        ]);
        for nulls in &cases {
            for long_text in [0, 1, 250, 251, 300, 70_000, 17_000_000] {
                let p = packet(nulls, long_text);
                let expected = reference(TYPES, &p).expect("a well-formed packet");
                assert_eq!(
                    ours(TYPES, &p).unwrap(),
                    expected,
                    "NULLs {nulls:?}, blob of {long_text}"
                );
            }
        }
        let p = packet(&[], 3);
        let v = ours(TYPES, &p).unwrap();
        assert_eq!(v[0], Value::Int(-1));
        assert_eq!(v[1], Value::Int(255));
        assert_eq!(v[6], Value::Int(-1));
        assert_eq!(v[7], Value::UInt(u64::MAX));
        assert_eq!(v[13], Value::Date(2024, 2, 29, 23, 59, 58, 123_456));
        assert_eq!(v[15], Value::Time(true, 34, 22, 59, 59, 1));
    }

    #[test]
    fn date_and_time_lengths_as_mysql_common() {
        let types = &[
            (ColumnType::MYSQL_TYPE_DATETIME, false),
            (ColumnType::MYSQL_TYPE_TIME, false),
        ];
        for dl in 0..=12u8 {
            for tl in 0..=13u8 {
                let mut p = vec![0, 0];
                p.push(dl);
                p.extend((1..=dl).map(|b| b.wrapping_mul(37)));
                p.push(tl);
                p.extend((1..=tl).map(|b| b.wrapping_mul(53)));
                assert_eq!(
                    ours(types, &p).ok(),
                    reference(types, &p),
                    "lengths {dl}, {tl}"
                );
            }
        }
    }

    #[test]
    fn bitmap_edges() {
        // 6, 7, 8, 9 and 17 columns: the bitmap is 1, 2, 2, 2 and 3 bytes (offset 2).
        for n in [1usize, 6, 7, 8, 9, 14, 15, 17] {
            let types = vec![(ColumnType::MYSQL_TYPE_LONG, false); n];
            for null in 0..n {
                let mut p = vec![0u8; 1 + (n + 9) / 8];
                p[1 + (null + 2) / 8] |= 1 << ((null + 2) % 8);
                for i in 0..n {
                    if i != null {
                        p.extend_from_slice(&(i as i32 * 10).to_le_bytes());
                    }
                }
                let v = ours(&types, &p).unwrap();
                assert_eq!(
                    v,
                    reference(&types, &p).unwrap(),
                    "{n} columns, NULL {null}"
                );
                assert_eq!(v[null], Value::NULL);
            }
            // All NULL: the bitmap alone.
            let mut p = vec![0u8];
            let mut bitmap = vec![0u8; (n + 9) / 8];
            for i in 0..n {
                bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
            }
            p.extend_from_slice(&bitmap);
            assert_eq!(ours(&types, &p).unwrap(), vec![Value::NULL; n]);
        }
    }

    #[test]
    fn malformed_packets_are_errors() {
        let good = packet(&[], 300);
        assert!(ours(TYPES, &good).is_ok());
        // Every truncation of a well-formed packet: an error, never a panic.
        for len in 0..good.len() {
            let err = ours(TYPES, &good[..len]).unwrap_err();
            assert!(
                err.to_string().starts_with("malformed binary row packet"),
                "{err}"
            );
        }
        assert_eq!(ours(TYPES, &[]).unwrap_err().detail, "empty packet");
        let mut header = good.clone();
        header[0] = 0xfe;
        assert!(ours(TYPES, &header)
            .unwrap_err()
            .detail
            .contains("header 0xFE"));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            ours(TYPES, &trailing).unwrap_err().detail,
            "1 bytes after the last value"
        );
        // Length-encoded lengths: 0xFB/0xFF are not lengths, a huge one runs past the end.
        let text = &[(ColumnType::MYSQL_TYPE_VAR_STRING, false)];
        for bad in [
            &[0u8, 0, 0xfb][..],
            &[0, 0, 0xff],
            &[0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            let err = ours(text, bad).unwrap_err();
            assert_eq!(err.column, Some(0), "{err}");
        }
        // A type the protocol does not send in rows: an error (mysql_common panics).
        let odd = &[(ColumnType::MYSQL_TYPE_TYPED_ARRAY, false)];
        let err = ours(odd, &[0, 0, 1, 2]).unwrap_err();
        assert!(err.detail.contains("MYSQL_TYPE_TYPED_ARRAY"), "{err}");
        // ... but a NULL of it is fine.
        assert_eq!(ours(odd, &[0, 4]).unwrap(), vec![Value::NULL]);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A deterministic LCG: packets of random bytes after a valid header and bitmap.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        };
        for _ in 0..20_000 {
            let len = usize::from(next()) % 64;
            let mut p: Vec<u8> = (0..len).map(|_| next()).collect();
            if let Some(h) = p.first_mut() {
                *h = 0;
            }
            let ok = ours(TYPES, &p).ok();
            // Where ours reads a row, mysql_common reads the same values.
            if let Some(v) = ok {
                assert_eq!(Some(v), reference(TYPES, &p));
            }
        }
    }
}
