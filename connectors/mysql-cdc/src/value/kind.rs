//! Column kinds: how a column's values are normalized, classified once from its schema.

use crate::schema::ColumnSchema;

/// How a column's values are normalized, derived from its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
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

/// A declared column the table does not have (see [`BatchBuilder::binlog_mapping`](super::BatchBuilder::binlog_mapping)).
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

pub(super) fn kind(c: &ColumnSchema) -> Kind {
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
