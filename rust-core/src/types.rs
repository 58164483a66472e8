//! Flink logical types as they cross the bridge, and their Arrow representation.
//!
//! Java sends each column as `LogicalType#asSerializableString()` (for example `INT NOT NULL`,
//! `DECIMAL(20, 4)`, `TIMESTAMP(6) WITH LOCAL TIME ZONE`); [`FlinkType::parse`] reads that form.
//! Connectors produce Arrow arrays of [`FlinkType::arrow_type`]; the row encoder turns them into
//! Flink's `BinaryRowData` layout.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{BridgeError, Result};

/// Largest DECIMAL precision whose unscaled value Flink stores inline as a long.
pub const MAX_COMPACT_DECIMAL_PRECISION: u8 = 18;
/// Largest TIMESTAMP precision Flink stores inline as epoch milliseconds.
pub const MAX_COMPACT_TIMESTAMP_PRECISION: u8 = 3;
/// Flink's `VARCHAR(2147483647)`, i.e. `STRING`.
pub const MAX_LENGTH: u32 = i32::MAX as u32;

/// A Flink logical type that the bridge can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlinkType {
    /// `BOOLEAN`; Arrow `Boolean`.
    Boolean,
    /// `TINYINT`; Arrow `Int8`.
    TinyInt,
    /// `SMALLINT`; Arrow `Int16`.
    SmallInt,
    /// `INT`; Arrow `Int32`.
    Int,
    /// `BIGINT`; Arrow `Int64`.
    BigInt,
    /// `FLOAT`; Arrow `Float32`.
    Float,
    /// `DOUBLE`; Arrow `Float64`.
    Double,
    /// `DECIMAL(p, s)`; Arrow `Decimal128(p, s)`. Inline in the row up to
    /// [`MAX_COMPACT_DECIMAL_PRECISION`].
    Decimal {
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point, at most `precision`.
        scale: u8,
    },
    /// `CHAR(n)`; Arrow `Utf8`.
    Char {
        /// Declared length in characters.
        length: u32,
    },
    /// `VARCHAR(n)`, `STRING` when `length` is [`MAX_LENGTH`]; Arrow `Utf8`.
    VarChar {
        /// Declared length in characters.
        length: u32,
    },
    /// `BINARY(n)`; Arrow `Binary`.
    Binary {
        /// Declared length in bytes.
        length: u32,
    },
    /// `VARBINARY(n)`, `BYTES` when `length` is [`MAX_LENGTH`]; Arrow `Binary`.
    VarBinary {
        /// Declared length in bytes.
        length: u32,
    },
    /// `DATE`; Arrow `Date32` (days since 1970-01-01).
    Date,
    /// Flink keeps TIME as milliseconds of the day whatever the declared precision.
    Time {
        /// Fractional-second digits declared, 0..=9.
        precision: u8,
    },
    /// `TIMESTAMP(p)`, a wall-clock time without zone; Arrow `Timestamp` without time zone, in
    /// [`timestamp_unit`]`(p)`.
    Timestamp {
        /// Fractional-second digits, 0..=9; inline up to [`MAX_COMPACT_TIMESTAMP_PRECISION`].
        precision: u8,
    },
    /// `TIMESTAMP_LTZ(p)`, an instant; Arrow `Timestamp` in [`timestamp_unit`]`(p)` with zone
    /// `UTC`.
    TimestampLtz {
        /// Fractional-second digits, 0..=9; inline up to [`MAX_COMPACT_TIMESTAMP_PRECISION`].
        precision: u8,
    },
    /// `ARRAY<VARCHAR(n)>` (`ARRAY<STRING>`): the only array the bridge encodes so far, for
    /// MySQL SET columns. Arrow: a `List` of `Utf8`.
    Array(ArrayElement),
}

/// The element of an [`FlinkType::Array`]: a `VARCHAR(length)`, NOT NULL or not as declared.
/// Other element types are refused when parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayElement {
    /// The declared `VARCHAR` length; [`MAX_LENGTH`] for `STRING`.
    pub length: u32,
    /// Whether elements may be null; Arrow elements are nullable either way.
    pub nullable: bool,
}

impl FlinkType {
    /// Parses `LogicalType#asSerializableString()`; returns the type and its nullability.
    pub fn parse(text: &str) -> Result<(FlinkType, bool)> {
        let trimmed = text.trim();
        let (body, nullable) = match trimmed.strip_suffix("NOT NULL") {
            Some(rest) => (rest.trim_end(), false),
            None => (trimmed, true),
        };
        let unsupported = || {
            BridgeError::validation(format!(
                "unsupported column type '{text}'; supported types: BOOLEAN, TINYINT, SMALLINT, INT, \
                 BIGINT, FLOAT, DOUBLE, DECIMAL(p, s), CHAR(n), VARCHAR(n)/STRING, BINARY(n), \
                 VARBINARY(n)/BYTES, DATE, TIME(p), TIMESTAMP(p), TIMESTAMP_LTZ(p), ARRAY<STRING>"
            ))
        };
        if let Some(element) = array_element(body) {
            return Ok((
                FlinkType::Array(parse_array_element(text, element)?),
                nullable,
            ));
        }
        let (name, args, suffix) = split_type(body).ok_or_else(unsupported)?;
        let arg = |i: usize, default: u32| -> Result<u32> {
            match args.get(i) {
                None => Ok(default),
                Some(a) => a.trim().parse::<u32>().map_err(|_| unsupported()),
            }
        };
        let small = |v: u32| u8::try_from(v).map_err(|_| unsupported());
        let ty = match (
            name.to_ascii_uppercase().as_str(),
            suffix.to_ascii_uppercase().as_str(),
        ) {
            ("BOOLEAN", "") => FlinkType::Boolean,
            ("TINYINT", "") => FlinkType::TinyInt,
            ("SMALLINT", "") => FlinkType::SmallInt,
            ("INT" | "INTEGER", "") => FlinkType::Int,
            ("BIGINT", "") => FlinkType::BigInt,
            ("FLOAT", "") => FlinkType::Float,
            ("DOUBLE", "") => FlinkType::Double,
            ("DECIMAL" | "NUMERIC" | "DEC", "") => {
                let precision = small(arg(0, 10)?)?;
                let scale = small(arg(1, 0)?)?;
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(unsupported());
                }
                FlinkType::Decimal { precision, scale }
            }
            ("CHAR", "") => FlinkType::Char { length: arg(0, 1)? },
            ("VARCHAR", "") => FlinkType::VarChar { length: arg(0, 1)? },
            ("STRING", "") => FlinkType::VarChar { length: MAX_LENGTH },
            ("BINARY", "") => FlinkType::Binary { length: arg(0, 1)? },
            ("VARBINARY", "") => FlinkType::VarBinary { length: arg(0, 1)? },
            ("BYTES", "") => FlinkType::VarBinary { length: MAX_LENGTH },
            ("DATE", "") => FlinkType::Date,
            ("TIME", "") => FlinkType::Time {
                precision: precision(small(arg(0, 0)?)?)?,
            },
            ("TIMESTAMP", "") | ("TIMESTAMP", "WITHOUT TIME ZONE") => FlinkType::Timestamp {
                precision: precision(small(arg(0, 6)?)?)?,
            },
            ("TIMESTAMP", "WITH LOCAL TIME ZONE") | ("TIMESTAMP_LTZ", "") => {
                FlinkType::TimestampLtz {
                    precision: precision(small(arg(0, 6)?)?)?,
                }
            }
            _ => return Err(unsupported()),
        };
        Ok((ty, nullable))
    }

    /// The Arrow type a connector must produce for a column of this Flink type.
    pub fn arrow_type(&self) -> DataType {
        match *self {
            FlinkType::Boolean => DataType::Boolean,
            FlinkType::TinyInt => DataType::Int8,
            FlinkType::SmallInt => DataType::Int16,
            FlinkType::Int => DataType::Int32,
            FlinkType::BigInt => DataType::Int64,
            FlinkType::Float => DataType::Float32,
            FlinkType::Double => DataType::Float64,
            FlinkType::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
            FlinkType::Char { .. } | FlinkType::VarChar { .. } => DataType::Utf8,
            FlinkType::Binary { .. } | FlinkType::VarBinary { .. } => DataType::Binary,
            FlinkType::Date => DataType::Date32,
            FlinkType::Time { .. } => DataType::Time32(TimeUnit::Millisecond),
            FlinkType::Timestamp { precision } => {
                DataType::Timestamp(timestamp_unit(precision), None)
            }
            FlinkType::TimestampLtz { precision } => {
                DataType::Timestamp(timestamp_unit(precision), Some("UTC".into()))
            }
            // Elements nullable whatever Flink declares: that is the field `ListBuilder` makes,
            // and a batch's Arrow type must equal this one exactly.
            FlinkType::Array(_) => DataType::new_list(DataType::Utf8, true),
        }
    }

    /// True when the value lives entirely in the row's 8-byte fixed-length slot.
    pub fn is_fixed_length(&self) -> bool {
        match *self {
            FlinkType::Decimal { precision, .. } => precision <= MAX_COMPACT_DECIMAL_PRECISION,
            FlinkType::Timestamp { precision } | FlinkType::TimestampLtz { precision } => {
                precision <= MAX_COMPACT_TIMESTAMP_PRECISION
            }
            FlinkType::Char { .. }
            | FlinkType::VarChar { .. }
            | FlinkType::Binary { .. }
            | FlinkType::VarBinary { .. }
            | FlinkType::Array(_) => false,
            _ => true,
        }
    }
}

fn precision(p: u8) -> Result<u8> {
    if p > 9 {
        return Err(BridgeError::validation(format!(
            "time precision {p} is out of range 0..=9"
        )));
    }
    Ok(p)
}

/// Arrow time unit that holds a Flink timestamp of this precision without loss.
pub fn timestamp_unit(precision: u8) -> TimeUnit {
    match precision {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// The element type text of `ARRAY<element>`, None when `body` is not an array type.
fn array_element(body: &str) -> Option<&str> {
    let open = body.find('<')?;
    if !body[..open].trim().eq_ignore_ascii_case("ARRAY") {
        return None;
    }
    body[open + 1..].strip_suffix('>')
}

/// The element of an `ARRAY<...>` type; only character strings so far.
fn parse_array_element(text: &str, element: &str) -> Result<ArrayElement> {
    let refused = || {
        BridgeError::validation(format!(
            "unsupported column type '{text}': ARRAY supports STRING / VARCHAR(n) elements only \
             (ARRAY<STRING> reads a MySQL SET as its members)"
        ))
    };
    match FlinkType::parse(element).map_err(|_| refused())? {
        (FlinkType::VarChar { length }, nullable) => Ok(ArrayElement { length, nullable }),
        _ => Err(refused()),
    }
}

/// Splits `NAME(a, b) SUFFIX` into its parts.
fn split_type(body: &str) -> Option<(&str, Vec<&str>, &str)> {
    match body.find('(') {
        None => {
            let (name, suffix) = body.split_once(' ').unwrap_or((body, ""));
            Some((name, Vec::new(), suffix.trim()))
        }
        Some(open) => {
            let close = body[open..].find(')')? + open;
            let args = body[open + 1..close].split(',').collect();
            Some((body[..open].trim(), args, body[close + 1..].trim()))
        }
    }
}

impl fmt::Display for FlinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FlinkType::Boolean => write!(f, "BOOLEAN"),
            FlinkType::TinyInt => write!(f, "TINYINT"),
            FlinkType::SmallInt => write!(f, "SMALLINT"),
            FlinkType::Int => write!(f, "INT"),
            FlinkType::BigInt => write!(f, "BIGINT"),
            FlinkType::Float => write!(f, "FLOAT"),
            FlinkType::Double => write!(f, "DOUBLE"),
            FlinkType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            FlinkType::Char { length } => write!(f, "CHAR({length})"),
            FlinkType::VarChar { length } => write!(f, "VARCHAR({length})"),
            FlinkType::Binary { length } => write!(f, "BINARY({length})"),
            FlinkType::VarBinary { length } => write!(f, "VARBINARY({length})"),
            FlinkType::Date => write!(f, "DATE"),
            FlinkType::Time { precision } => write!(f, "TIME({precision})"),
            FlinkType::Timestamp { precision } => write!(f, "TIMESTAMP({precision})"),
            FlinkType::TimestampLtz { precision } => {
                write!(f, "TIMESTAMP({precision}) WITH LOCAL TIME ZONE")
            }
            FlinkType::Array(ArrayElement { length, nullable }) => {
                let not_null = if nullable { "" } else { " NOT NULL" };
                write!(f, "ARRAY<VARCHAR({length}){not_null}>")
            }
        }
    }
}

/// Field-name prefix of metadata columns (SQL `METADATA FROM 'key'`): Java appends each metadata
/// column a query reads to the row type as `__metadata.<key>`, after the physical columns. A
/// connector that offers metadata fills them; one that does not rejects them at validation.
pub const METADATA_PREFIX: &str = "__metadata.";

/// One column of the row type a source must produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// As Flink names it; metadata columns start with [`METADATA_PREFIX`].
    pub name: String,
    /// The column's Flink type.
    pub ty: FlinkType,
    /// False for `NOT NULL` columns: [`RowType::arrow_schema`] then refuses nulls in a batch built
    /// on it.
    pub nullable: bool,
}

impl Column {
    /// The metadata key of a metadata column (`__metadata.op_ts` gives `op_ts`); None for a
    /// physical column.
    pub fn metadata_key(&self) -> Option<&str> {
        self.name.strip_prefix(METADATA_PREFIX)
    }
}

/// The row type a source must produce, in order: the (projected) table schema from Flink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowType {
    /// The columns in the order batches carry them.
    pub columns: Vec<Column>,
}

impl RowType {
    /// Builds a row type from column names and `asSerializableString()` types.
    pub fn parse<N: AsRef<str>, T: AsRef<str>>(names: &[N], types: &[T]) -> Result<RowType> {
        if names.len() != types.len() {
            return Err(BridgeError::other(format!(
                "{} column names but {} column types",
                names.len(),
                types.len()
            )));
        }
        // An empty name cannot be told apart in per-column options (`fields..kind`) or messages.
        if names.iter().any(|n| n.as_ref().is_empty()) {
            return Err(BridgeError::validation(
                "a column has an empty name: give every column a name",
            ));
        }
        let columns = names
            .iter()
            .zip(types)
            .map(|(name, ty)| {
                let (ty, nullable) = FlinkType::parse(ty.as_ref()).map_err(|e| {
                    BridgeError::validation(format!("column '{}': {e}", name.as_ref()))
                })?;
                Ok(Column {
                    name: name.as_ref().to_string(),
                    ty,
                    nullable,
                })
            })
            .collect::<Result<_>>()?;
        Ok(RowType { columns })
    }

    /// Number of columns.
    pub fn arity(&self) -> usize {
        self.columns.len()
    }

    /// The Arrow schema a connector's batches must have.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.arrow_type(), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flink_serializable_strings() {
        let cases = [
            ("INT NOT NULL", FlinkType::Int, false),
            ("BIGINT", FlinkType::BigInt, true),
            (
                "DECIMAL(20, 4)",
                FlinkType::Decimal {
                    precision: 20,
                    scale: 4,
                },
                true,
            ),
            (
                "VARCHAR(2147483647)",
                FlinkType::VarChar { length: MAX_LENGTH },
                true,
            ),
            ("CHAR(5) NOT NULL", FlinkType::Char { length: 5 }, false),
            ("BYTES", FlinkType::VarBinary { length: MAX_LENGTH }, true),
            ("TIME(0)", FlinkType::Time { precision: 0 }, true),
            ("TIMESTAMP(9)", FlinkType::Timestamp { precision: 9 }, true),
            (
                "TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL",
                FlinkType::TimestampLtz { precision: 3 },
                false,
            ),
        ];
        for (text, ty, nullable) in cases {
            assert_eq!(FlinkType::parse(text).unwrap(), (ty, nullable), "{text}");
        }
    }

    /// `ArrayType#asSerializableString()` writes the element's own serializable string inside.
    #[test]
    fn parses_string_arrays() {
        let element = |length, nullable| FlinkType::Array(ArrayElement { length, nullable });
        let cases = [
            (
                "ARRAY<VARCHAR(2147483647)>",
                element(MAX_LENGTH, true),
                true,
            ),
            ("ARRAY<STRING>", element(MAX_LENGTH, true), true),
            (
                "ARRAY<VARCHAR(5) NOT NULL> NOT NULL",
                element(5, false),
                false,
            ),
            ("array<varchar(5)> NOT NULL", element(5, true), false),
        ];
        for (text, ty, nullable) in cases {
            assert_eq!(FlinkType::parse(text).unwrap(), (ty, nullable), "{text}");
        }
        assert_eq!(
            element(MAX_LENGTH, true).arrow_type(),
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        );
    }

    #[test]
    fn rejects_unsupported_types_with_the_supported_list() {
        let err = FlinkType::parse("MAP<INT, INT>").unwrap_err().to_string();
        assert!(
            err.contains("MAP<INT, INT>") && err.contains("supported types"),
            "{err}"
        );
        for text in [
            "ARRAY<INT>",
            "ARRAY<ARRAY<STRING>>",
            "ARRAY<CHAR(3)>",
            "ARRAY<>",
        ] {
            let err = FlinkType::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(text) && err.contains("STRING / VARCHAR(n) elements only"),
                "{err}"
            );
        }
        assert!(FlinkType::parse("DECIMAL(40, 2)").is_err());
        assert!(FlinkType::parse("TIMESTAMP(3) WITH TIME ZONE").is_err());
    }

    /// Found by the `options` fuzz target: an empty column name made datagen read the option
    /// `fields..kind`, which no declared option matches (a debug assertion; in release builds the
    /// column silently took the defaults).
    #[test]
    fn columns_need_names() {
        let err = RowType::parse(&["id", ""], &["BIGINT", "INT"]).unwrap_err();
        assert!(err.is_validation());
        assert_eq!(
            err.to_string(),
            "a column has an empty name: give every column a name"
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "INT",
            "DECIMAL(38, 10)",
            "TIMESTAMP(6) WITH LOCAL TIME ZONE",
            "VARBINARY(3)",
            "ARRAY<VARCHAR(2147483647)>",
            "ARRAY<VARCHAR(7) NOT NULL>",
        ] {
            let (ty, _) = FlinkType::parse(text).unwrap();
            assert_eq!(ty.to_string(), text);
        }
    }
}
