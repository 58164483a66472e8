//! Table-map metadata read once: each column's type, metadata, signedness, nullability and
//! collation, and with `binlog_row_metadata=FULL` its name, ENUM/SET labels and the primary key.
//! Binlog value decoding ([`super::BinlogImageLayout`]) and schema evolution (`binlog/evolution.rs`)
//! both read table maps through it.

use mysql_async::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, TableMapEvent};
use mysql_async::consts::ColumnType;
use mysql_common::proto::MySerialize;

use crate::schema::ColumnSchema;

/// What a table map says about its columns, checked for what mysql_common's value decoder
/// trusts (see [`TableMap::read`]).
#[derive(Clone, Debug)]
pub struct TableMap {
    pub types: Vec<ColumnType>,
    pub metadata: Vec<Vec<u8>>,
    pub unsigned: Vec<bool>,
    pub nullable: Vec<bool>,
    /// Collation ids (0 when the table map has none).
    pub charsets: Vec<u16>,
    /// Column names (binlog_row_metadata=FULL).
    pub names: Option<Vec<String>>,
    /// Labels per ENUM / SET column, in column order (FULL).
    pub enum_labels: Vec<Vec<String>>,
    pub set_labels: Vec<Vec<String>>,
    /// Image positions of the primary key's columns (FULL), in key order.
    pub primary_key: Vec<usize>,
}

impl TableMap {
    /// Reads `tme`'s columns. Fails on a table map no table has (no columns, MySQL's internal
    /// typed array, fewer metadata bytes than the type has, an impossible DECIMAL): mysql_common
    /// decodes values by it unchecked.
    pub fn read(tme: &TableMapEvent<'_>) -> std::io::Result<Self> {
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
        let mut out = TableMap {
            types: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            unsigned: Vec::with_capacity(n),
            nullable: Vec::with_capacity(n),
            charsets: Vec::with_capacity(n),
            names: None,
            enum_labels: Vec::new(),
            set_labels: Vec::new(),
            primary_key: Vec::new(),
        };
        let nulls = tme.null_bitmask();
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
            out.metadata.push(metadata.to_vec());
            out.unsigned
                .push(ty.is_numeric_type() && signedness.next().unwrap_or(false));
            out.nullable
                .push(nulls.get(i).as_deref().copied().unwrap_or(true));
            let charset = if ty.is_character_type() {
                charsets.next().transpose()?.unwrap_or_default()
            } else if ty.is_enum_or_set_type() {
                enum_set_charsets.next().transpose()?.unwrap_or_default()
            } else {
                0
            };
            out.charsets.push(charset);
            out.types.push(ty);
        }
        let names: Vec<String> = extractor
            .iter_column_name()
            .map(|n| n.map(|n| n.name().into_owned()))
            .collect::<std::io::Result<_>>()?;
        out.names = (names.len() == n).then_some(names);
        out.primary_key = extractor
            .iter_primary_key()
            .map(|k| k.map(|k| k as usize))
            .collect::<std::io::Result<_>>()?;
        for field in tme.iter_optional_meta() {
            // The label lists are read from their raw bytes (`label_lists`), not with
            // mysql_common's iter_values, which reserves room for as many labels as a damaged
            // count claims before reading one: a count of 2^61 aborted the process (fuzzing).
            let (raw, lists) = match field? {
                OptionalMetadataField::EnumStrValue(values) => {
                    (raw_bytes(&values), &mut out.enum_labels)
                }
                OptionalMetadataField::SetStrValue(values) => {
                    (raw_bytes(&values), &mut out.set_labels)
                }
                _ => continue,
            };
            lists.extend(label_lists(&raw)?);
        }
        Ok(out)
    }

    /// Image column `i` as a column schema named `name`, from what the table map says.
    pub fn column(&self, i: usize, name: &str) -> ColumnSchema {
        let (ty, meta, unsigned) = (self.types[i], self.metadata[i].as_slice(), self.unsigned[i]);
        let binary = self.charsets[i] == 63;
        let labels = |lists: &[Vec<String>], kind: ColumnType| {
            let nth = self.types[..i].iter().filter(|t| **t == kind).count();
            lists.get(nth).map(|l| {
                let quoted: Vec<String> = l
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''")))
                    .collect();
                quoted.join(",")
            })
        };
        let mut c = ColumnSchema {
            name: name.to_string(),
            data_type: String::new(),
            column_type: String::new(),
            unsigned,
            nullable: self.nullable[i],
            precision: None,
            scale: None,
            char_max_length: None,
        };
        use ColumnType::*;
        let int = |t: &str| {
            (
                t.to_string(),
                if unsigned {
                    format!("{t} unsigned")
                } else {
                    t.to_string()
                },
            )
        };
        let (data_type, column_type) = match ty {
            MYSQL_TYPE_TINY => int("tinyint"),
            MYSQL_TYPE_SHORT => int("smallint"),
            MYSQL_TYPE_INT24 => int("mediumint"),
            MYSQL_TYPE_LONG => int("int"),
            MYSQL_TYPE_LONGLONG => int("bigint"),
            MYSQL_TYPE_YEAR => ("year".into(), "year(4)".into()),
            MYSQL_TYPE_BIT => {
                let bits = u32::from(meta.get(1).copied().unwrap_or(0)) * 8
                    + u32::from(meta.first().copied().unwrap_or(1));
                c.precision = Some(bits);
                ("bit".into(), format!("bit({bits})"))
            }
            MYSQL_TYPE_FLOAT => ("float".into(), "float".into()),
            MYSQL_TYPE_DOUBLE => ("double".into(), "double".into()),
            MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
                let (p, s) = (
                    u32::from(meta.first().copied().unwrap_or(10)),
                    u32::from(meta.get(1).copied().unwrap_or(0)),
                );
                c.precision = Some(p);
                c.scale = Some(s);
                ("decimal".into(), format!("decimal({p},{s})"))
            }
            MYSQL_TYPE_ENUM => (
                "enum".into(),
                format!(
                    "enum({})",
                    labels(&self.enum_labels, MYSQL_TYPE_ENUM).unwrap_or_default()
                ),
            ),
            MYSQL_TYPE_SET => (
                "set".into(),
                format!(
                    "set({})",
                    labels(&self.set_labels, MYSQL_TYPE_SET).unwrap_or_default()
                ),
            ),
            MYSQL_TYPE_STRING => {
                // CHAR / BINARY: the length in bytes, its top bits folded into the first byte.
                let (b0, b1) = (
                    meta.first().copied().unwrap_or(0),
                    meta.get(1).copied().unwrap_or(0),
                );
                let bytes = if b0 & 0x30 != 0x30 {
                    u64::from(b1) | (u64::from((b0 & 0x30) ^ 0x30) << 4)
                } else {
                    u64::from(b1)
                };
                c.char_max_length = Some(bytes);
                if binary {
                    ("binary".into(), format!("binary({bytes})"))
                } else {
                    ("char".into(), "char".into())
                }
            }
            MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
                let bytes = u64::from(u16::from_le_bytes([
                    meta.first().copied().unwrap_or(0),
                    meta.get(1).copied().unwrap_or(0),
                ]));
                c.char_max_length = Some(bytes);
                if binary {
                    ("varbinary".into(), format!("varbinary({bytes})"))
                } else {
                    ("varchar".into(), "varchar".into())
                }
            }
            MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB => {
                let size = ["tiny", "", "medium", "long"]
                    [usize::from(meta.first().copied().unwrap_or(2).clamp(1, 4)) - 1];
                let t = if binary {
                    format!("{size}blob")
                } else {
                    format!("{size}text")
                };
                (t.clone(), t)
            }
            MYSQL_TYPE_JSON => ("json".into(), "json".into()),
            // Every spatial type (POINT, ..., GEOMETRYCOLLECTION) is one in the table map; they are
            // read alike (SRID + WKB).
            MYSQL_TYPE_GEOMETRY => ("geometry".into(), "geometry".into()),
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ("date".into(), "date".into()),
            MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2
            | MYSQL_TYPE_TIME
            | MYSQL_TYPE_TIME2 => {
                let fsp = if matches!(
                    ty,
                    MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP2 | MYSQL_TYPE_TIME2
                ) {
                    u32::from(meta.first().copied().unwrap_or(0))
                } else {
                    0
                };
                c.precision = Some(fsp);
                let t = match ty {
                    MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "datetime",
                    MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "timestamp",
                    _ => "time",
                };
                (
                    t.to_string(),
                    if fsp > 0 {
                        format!("{t}({fsp})")
                    } else {
                        t.to_string()
                    },
                )
            }
            other => (
                format!("{other:?}").to_lowercase(),
                format!("{other:?}").to_lowercase(),
            ),
        };
        c.data_type = data_type;
        c.column_type = column_type;
        c
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

/// The bytes of an optional-metadata value as the table map carried them.
fn raw_bytes(value: &impl MySerialize) -> Vec<u8> {
    let mut raw = Vec::new();
    value.serialize(&mut raw);
    raw
}

/// ENUM_STR_VALUE / SET_STR_VALUE metadata: per column, a length-encoded count of labels, then
/// each label as a length-encoded string. Every count and length is checked against the bytes
/// left before anything is reserved (a label takes at least its one length byte).
fn label_lists(mut raw: &[u8]) -> std::io::Result<Vec<Vec<String>>> {
    let damaged = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("damaged table map: ENUM/SET labels: {what}"),
        )
    };
    let lenenc = |raw: &mut &[u8]| -> std::io::Result<u64> {
        let (&first, rest) = raw.split_first().ok_or_else(|| damaged("truncated"))?;
        let width = match first {
            0..=0xfa => {
                *raw = rest;
                return Ok(u64::from(first));
            }
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            _ => return Err(damaged("a NULL or reserved length")),
        };
        if rest.len() < width {
            return Err(damaged("truncated length"));
        }
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(&rest[..width]);
        *raw = &rest[width..];
        Ok(u64::from_le_bytes(bytes))
    };
    let mut lists = Vec::new();
    while !raw.is_empty() {
        let count = lenenc(&mut raw)?;
        if count > raw.len() as u64 {
            return Err(damaged(&format!("{count} labels in {} bytes", raw.len())));
        }
        let mut labels = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = lenenc(&mut raw)?;
            if len > raw.len() as u64 {
                return Err(damaged(&format!("a label of {len} bytes in {}", raw.len())));
            }
            let (label, rest) = raw.split_at(len as usize);
            labels.push(String::from_utf8_lossy(label).into_owned());
            raw = rest;
        }
        lists.push(labels);
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::label_lists;

    #[test]
    fn label_lists_read_each_columns_labels_and_refuse_counts_the_bytes_cannot_hold() {
        // Two columns: ('a', 'bc') and ('').
        let raw = [2, 1, b'a', 2, b'b', b'c', 1, 0];
        assert_eq!(
            label_lists(&raw).unwrap(),
            vec![vec!["a".to_string(), "bc".to_string()], vec![String::new()]]
        );
        // A count of 2^61 (the fuzzer's) is an error, not an allocation.
        let huge = [0xfe, 0, 0, 0, 0, 0, 0, 0, 0x20, 1, b'a'];
        let e = label_lists(&huge).unwrap_err().to_string();
        assert!(e.contains("2305843009213693952 labels in 2 bytes"), "{e}");
        for damaged in [&[1u8, 5, b'a'][..], &[0xfb][..], &[0xfc, 1][..]] {
            assert!(label_lists(damaged).is_err(), "{damaged:?}");
        }
    }
}
