//! Batch building: rows of any captured table appended into Arrow batches of the source's row
//! type, with their metadata columns.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use mysql_async::Value;
use rust_core::api::{ChangeBatch, RowKind};
use rust_core::types::{FlinkType, RowType};
use rust_core::{BridgeError, Result};

use super::binary_row::BinaryRowReader;
use super::column_builder::ColumnBuilder;
use super::flink_type::{
    conversion, default_flink_type, handling_conversion, is_string, metadata_key, Conv, Meta, Slot,
    TableMapping, METADATA_KEYS,
};
use super::kind::{absent_column, kind, Kind};
use super::normalize::{check_arity, normalize_snapshot, value_error, RowNormalizer};
use super::time::ServerTimeZone;
use super::value_ref::ValueRef;
use crate::config::debezium::ValueModes;
use crate::position::coordinates::ChangeCoordinates;
use crate::schema::{TableId, TableSchema};

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
    /// `debezium.*.handling.mode` conversions (config/debezium.rs).
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
    /// `binlog_row_index`, `gtid` and `change_seq` (`position/coordinates.rs`).
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

    /// The `debezium.*.handling.mode` options' conversions (config/debezium.rs).
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
    /// column name (`binlog_row_metadata=FULL`); see `binlog/evolution.rs`.
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
    /// of every column of `table` in table order, as [`snapshot_row`](super::snapshot_row) requires): each value read
    /// by the mapping is normalized by reference and appended, with no canonical row built and
    /// no string or DECIMAL copied on the way. The values are those of [`snapshot_row`](super::snapshot_row) followed
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
    /// prepared `SELECT` of every column of `table` in table order, as [`snapshot_row`](super::snapshot_row)
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
