//! Mapping to the Flink row type: which conversion reads a MySQL column as its declared Flink
//! type, the metadata columns, and a table's mapping onto the row type.

use std::sync::Arc;

use rust_core::types::{FlinkType, RowType};
use rust_core::{BridgeError, Result};

use super::kind::{kind, Kind};
use super::time::ServerTimeZone;
use crate::config::debezium::{BinaryMode, ValueModes};
use crate::schema::{ColumnSchema, TableId, TableSchema};

/// Metadata columns rust-mysql-cdc offers: Flink CDC's mysql-cdc ones, then the binlog
/// coordinates of a change (`position/coordinates.rs`; NULL, or 0 for `change_seq`, on snapshot rows).
pub(super) const METADATA_KEYS: &str = "database_name (STRING NOT NULL), table_name (STRING NOT NULL), \
                             op_ts (TIMESTAMP_LTZ(3) NOT NULL), row_kind (STRING NOT NULL), \
                             schema_change (STRING, DataStream: schema changes as rows of their own), \
                             binlog_file (STRING), binlog_position (BIGINT), binlog_row_index (BIGINT), \
                             gtid (STRING), change_seq (BIGINT NOT NULL)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Meta {
    Database,
    Table,
    OpTs,
    RowKind,
    /// NULL on rows; on a schema-change record, the table's new columns as JSON.
    SchemaChange,
    /// The binlog coordinates of a change (see `position/coordinates.rs`); NULL on snapshot rows.
    BinlogFile,
    BinlogPosition,
    BinlogRowIndex,
    Gtid,
    /// 0 on snapshot rows.
    ChangeSeq,
}

/// How a canonical value becomes the Arrow value of its Flink column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Conv {
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
    /// [`set_members`](super::column_builder::set_members)).
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

/// Conversions only the `debezium.*.handling.mode` options allow (config/debezium.rs).
pub(super) fn handling_conversion(
    column: &ColumnSchema,
    ty: FlinkType,
    modes: ValueModes,
) -> Option<Conv> {
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
pub(super) enum Slot {
    Column { index: usize, conv: Conv },
    Meta(Meta),
}

/// How one captured table's columns feed the source's row type (columns matched by name,
/// case-insensitively). Built once per table with [`BatchBuilder::mapping`](super::BatchBuilder::mapping).
#[derive(Clone, Debug)]
pub struct TableMapping {
    pub(super) table: TableId,
    /// Column names of the table, for error messages.
    pub(super) column_names: Vec<String>,
    pub(super) slots: Vec<Slot>,
    /// The source's row type and the server's zone, to check a changed column type again
    /// ([`Self::for_columns`]).
    pub(super) row_type: Arc<RowType>,
    pub(super) server_time_zone: ServerTimeZone,
    pub(super) value_modes: ValueModes,
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
    /// types of `columns` (a binlog table map's, see `binlog/evolution.rs`): `Ok(None)` when every
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

pub(super) fn is_string(ty: FlinkType) -> bool {
    matches!(ty, FlinkType::Char { .. } | FlinkType::VarChar { .. })
}

fn is_bytes(ty: FlinkType) -> bool {
    matches!(ty, FlinkType::Binary { .. } | FlinkType::VarBinary { .. })
}

/// The conversion of a MySQL column into a declared Flink type, or None when they do not fit.
pub(super) fn conversion(
    column: &ColumnSchema,
    ty: FlinkType,
    tz: &ServerTimeZone,
) -> Option<Conv> {
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

pub(super) fn metadata_key(key: &str) -> Option<Meta> {
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
