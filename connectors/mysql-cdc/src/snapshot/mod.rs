//! Reading one chunk without locks, as it was at its high watermark.
//!
//! 1. low watermark: a binlog position such that the chunk's `SELECT` sees every transaction
//!    before it (see [`LowWatermark`]);
//! 2. `SELECT` the chunk (a consistent read, streamed);
//! 3. high watermark: the end of the binlog (`SHOW MASTER STATUS`);
//! 4. if the binlog moved, replay its changes between the watermarks into the chunk by primary
//!    key: full row images make a change already visible to the SELECT harmless to apply again.
//!
//! The result is the chunk at the high watermark; the binlog phase emits a change of this chunk
//! only when its transaction starts at or after that watermark.
//!
//! `scan.incremental.snapshot.backfill.skip` (Flink CDC's option) leaves out steps 3 and 4: the
//! rows are emitted as read and the chunk's watermark is its low watermark, so the binlog phase
//! emits every change of the chunk from there on, those the SELECT already saw included
//! (at-least-once: an upsert sink converges, a changelog may see a change twice). On MariaDB the
//! low watermark is exact (the snapshot holds exactly the transactions before it), so nothing
//! repeats there; on MySQL a change committing while the chunk is read can come twice.
//!
//! Step 1 is where correctness lives. A change the SELECT does not see must be in the replay,
//! i.e. at or after the low watermark. `SHOW MASTER STATUS` does not promise that: with binlog
//! group commit a transaction is written to the binlog before the storage engine commits it, so
//! the end of the binlog can already be past a transaction that a read view created just after
//! does not see. That transaction is then in neither the SELECT nor the replay, and the binlog
//! phase skips it for the chunk (it is before the high watermark): a lost change. The high
//! watermark has no such problem: the replay reads the binlog itself, not a read view.

pub mod chunk;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::binlog::evolution::check_result_columns;
use crate::binlog::{BinlogCursor, ChangeKind};
use crate::conn::connect::{binlog_end, db_error, master_status_position, Connector};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{quote_ident, TableSchema};
use crate::state::split::{ChunkRange, SnapshotSplit};
use crate::value::{BatchBuilder, BinaryRowReader, RowNormalizer, RowValues, TableMapping, Value};

/// A chunk's rows at its high watermark.
pub struct ChunkRows {
    pub rows: Vec<RowValues>,
    pub high_watermark: BinlogPosition,
    /// Binlog changes applied between the watermarks (0 when nothing changed).
    pub replayed: usize,
    /// The binlog moved between the watermarks (changes of any table).
    pub moved: bool,
}

/// How a chunk's low watermark is taken: decided once per reader ([`LowWatermark::detect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LowWatermark {
    /// MariaDB (and Percona Server, which ported it): the chunk is read inside
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT` at REPEATABLE READ, and the low watermark is
    /// that snapshot's binlog position (`Binlog_snapshot_file`/`_position`). The server takes the
    /// read view and that position under the lock that orders commits, so the snapshot holds
    /// exactly the transactions before the position (what `mysqldump --single-transaction
    /// --master-data` relies on). No privilege is needed beyond SELECT.
    ConsistentSnapshot,
    /// MySQL, which has no such status: `SHOW MASTER STATUS` before an autocommit SELECT. It
    /// leaves a window: a transaction in the binlog but not yet committed by InnoDB when the
    /// SELECT starts is lost for that chunk (see the module documentation).
    /// `performance_schema.log_status` does not close it: it is consistent with the engine's
    /// log, not with a read view.
    MasterStatus,
}

impl LowWatermark {
    /// Asks the server once: `SHOW STATUS LIKE 'binlog_snapshot_%'` names both variables on
    /// MariaDB and Percona Server, nothing on MySQL. Checked by what the server offers rather than
    /// by its version string, so a Percona server gets the consistent method too.
    pub async fn detect(conn: &mut Conn) -> Result<LowWatermark> {
        Ok(match snapshot_status(conn).await? {
            Some(_) => LowWatermark::ConsistentSnapshot,
            None => LowWatermark::MasterStatus,
        })
    }

    /// Opens the chunk's read: from here the connection's reads see exactly the transactions
    /// before the returned position. [`Self::end`] closes it.
    pub async fn begin(self, conn: &mut Conn) -> Result<BinlogPosition> {
        match self {
            LowWatermark::MasterStatus => binlog_end(conn).await,
            LowWatermark::ConsistentSnapshot => {
                // A consistent snapshot only holds at REPEATABLE READ (the server's default may
                // differ). Session scope, not `SET TRANSACTION`: that one is refused while a
                // transaction is open, as one is after a chunk read that failed halfway; START
                // TRANSACTION then commits that leftover (read-only) transaction. The three
                // statements go as one multi-statement query: one round trip per chunk instead of
                // three, during which neither the server nor the reader has rows to work on.
                let rows = last_result_rows(
                    conn,
                    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; \
                     START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY; \
                     SHOW STATUS LIKE 'binlog\\_snapshot\\_%'",
                )
                .await
                .map_err(|e| db_error("starting a consistent snapshot for a chunk", e))?;
                snapshot_position(&rows)?.ok_or_else(|| {
                    BridgeError::other("the server stopped reporting Binlog_snapshot_file/Binlog_snapshot_position")
                })
            }
        }
    }

    /// Ends the chunk's read (releases its read view) once its rows are read, and returns the
    /// high watermark: the end of the binlog (`SHOW MASTER STATUS`), taken after the read.
    pub async fn end(self, conn: &mut Conn) -> Result<BinlogPosition> {
        match self {
            LowWatermark::MasterStatus => binlog_end(conn).await,
            LowWatermark::ConsistentSnapshot => {
                // One round trip, COMMIT first. A failed query takes the long way, whose errors
                // name the cause (a missing privilege, MySQL 8.4's SHOW BINARY LOG STATUS);
                // COMMIT again is harmless.
                match last_result_rows::<mysql_async::Row>(conn, "COMMIT; SHOW MASTER STATUS").await
                {
                    Ok(rows) => master_status_position(rows.into_iter().next()),
                    Err(_) => {
                        conn.query_drop("COMMIT")
                            .await
                            .map_err(|e| db_error("ending a chunk's consistent snapshot", e))?;
                        binlog_end(conn).await
                    }
                }
            }
        }
    }
}

/// Runs a multi-statement query and returns the rows of its last result set.
async fn last_result_rows<T: mysql_async::prelude::FromRow + Send + 'static>(
    conn: &mut Conn,
    sql: &str,
) -> std::result::Result<Vec<T>, mysql_async::Error> {
    let mut result = conn.query_iter(sql).await?;
    let mut rows = Vec::new();
    while !result.is_empty() {
        rows = result.collect::<T>().await?;
    }
    Ok(rows)
}

/// `Binlog_snapshot_file`/`_position` of this session: the binlog position of its consistent
/// snapshot inside one, of the last committed transaction otherwise; `None` when the server has
/// no such status (MySQL) or no binlog.
async fn snapshot_status(conn: &mut Conn) -> Result<Option<BinlogPosition>> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog\\_snapshot\\_%'")
        .await
        .map_err(|e| {
            db_error(
                "reading the binlog position of the snapshot (SHOW STATUS)",
                e,
            )
        })?;
    snapshot_position(&rows)
}

/// The position in the rows of `SHOW STATUS LIKE 'binlog\_snapshot\_%'`.
fn snapshot_position(rows: &[(String, String)]) -> Result<Option<BinlogPosition>> {
    let value = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (Some(file), Some(pos)) = (
        value("Binlog_snapshot_file"),
        value("Binlog_snapshot_position"),
    ) else {
        return Ok(None);
    };
    if file.is_empty() {
        return Ok(None);
    }
    let pos = pos.parse().map_err(|_| {
        BridgeError::other(format!(
            "Binlog_snapshot_position is not a position: {pos:?}"
        ))
    })?;
    Ok(Some(BinlogPosition {
        file: file.to_string(),
        pos,
    }))
}

pub struct ChunkReader<'a> {
    pub connector: &'a Connector,
    pub server_id: u32,
    pub heartbeat: Duration,
    pub low_watermark: LowWatermark,
    /// `scan.incremental.snapshot.backfill.skip`: no replay, the low watermark is the chunk's.
    pub skip_backfill: bool,
    /// `use.legacy.json.format`, for the binlog values the replay folds in.
    pub compact_json: bool,
}

impl ChunkReader<'_> {
    pub async fn read(
        &self,
        conn: &mut Conn,
        table: &TableSchema,
        split: &SnapshotSplit,
    ) -> Result<ChunkRows> {
        let key_index = table.column_index(&split.chunk_key).unwrap_or(0);
        let low = self.low_watermark.begin(conn).await?;
        let mut rows = select_chunk(conn, table, &split.chunk_key, &split.range).await?;
        let high = self.low_watermark.end(conn).await?;
        if self.skip_backfill {
            return Ok(ChunkRows {
                rows,
                high_watermark: low,
                replayed: 0,
                moved: false,
            });
        }
        let mut replayed = 0;
        if high > low {
            replayed = self
                .replay(table, key_index, &split.range, &low, &high, &mut rows)
                .await?;
        }
        let moved = high > low;
        Ok(ChunkRows {
            rows,
            high_watermark: high,
            replayed,
            moved,
        })
    }

    /// The chunk appended straight to `builder` (no rows kept) when the binlog did not move
    /// during its SELECT, the usual case: returns the high watermark. When it moved, the rows
    /// appended are discarded (the builder must hold no other pending rows) and `None` says to
    /// read the chunk with [`Self::read`], which replays the binlog into kept rows.
    pub async fn read_into(
        &self,
        conn: &mut Conn,
        table: &TableSchema,
        split: &SnapshotSplit,
        builder: &mut BatchBuilder,
        mapping: &TableMapping,
    ) -> Result<Option<BinlogPosition>> {
        let low = self.low_watermark.begin(conn).await?;
        let normalizer = RowNormalizer::new(table);
        let (sql, params) = chunk_query(table, &split.chunk_key, &split.range);
        let context = || format!("reading a chunk of {}", table.id);
        let mut result = conn
            .exec_iter(sql, params)
            .await
            .map_err(|e| chunk_error(table, context(), e))?;
        if let Some(columns) = result.columns() {
            check_result_columns(table, &columns)?;
        }
        // Row packets read in place (value/binary_row.rs): no mysql_async `Row` per row.
        let mut reader = BinaryRowReader::new(result.columns_ref());
        while let Some(packet) = result
            .next_raw()
            .await
            .map_err(|e| db_error(context(), e))?
        {
            // A failed append discards the builder's pending rows, this chunk's among them.
            builder.append_snapshot_packet(mapping, table, &normalizer, &mut reader, &packet)?;
        }
        drop(result);
        // Equal watermarks: no transaction after the snapshot's position is in the binlog, so the
        // rows read are the chunk at the high watermark as they are.
        let high = self.low_watermark.end(conn).await?;
        if self.skip_backfill {
            return Ok(Some(low));
        }
        if high > low {
            builder.finish()?;
            return Ok(None);
        }
        Ok(Some(high))
    }

    /// Applies the binlog between the watermarks to the chunk's rows. An update removes its before
    /// image's key and puts its after image's key, each when in the chunk's range, so a
    /// primary-key change leaves the chunk with the new key only (the chunk is emitted as `+I`
    /// rows; the binlog phase emits the change itself as `-D`/`+I` for chunks read before it).
    pub(crate) async fn replay(
        &self,
        table: &TableSchema,
        key_index: usize,
        range: &ChunkRange,
        low: &BinlogPosition,
        high: &BinlogPosition,
        rows: &mut Vec<RowValues>,
    ) -> Result<usize> {
        // Without a primary key a row is identified by all its values (full row images make that exact).
        let key_column = &table.columns[key_index];
        let pk: Vec<usize> = if table.primary_key.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            table.primary_key.clone()
        };
        let key_of = |row: &RowValues| -> String {
            pk.iter()
                .map(|&i| row[i].as_sql(false))
                .collect::<Vec<_>>()
                .join("\u{1}")
        };
        let mut by_key: HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (key_of(r), i))
            .collect();
        let mut slots: Vec<Option<RowValues>> =
            std::mem::take(rows).into_iter().map(Some).collect();
        let tables = Arc::new(vec![table.clone()]);
        let mut cursor = BinlogCursor::open(
            self.connector,
            self.server_id,
            &BinlogOffset::at(low.clone()),
            tables,
            self.heartbeat,
        )
        .await?;
        cursor.set_compact_json(self.compact_json);
        let mut changes = Vec::new();
        let mut applied = 0;
        while cursor.position() < *high || !cursor.at_boundary() {
            cursor.next(&mut changes).await?;
            for change in changes.drain(..) {
                if change.txn_start >= *high {
                    continue;
                }
                if let Some(why) = &change.key_change {
                    return Err(BridgeError::validation(format!(
                        "{why} while a snapshot chunk of it was being read: its changes can no longer be matched to \
                         the chunk by key. Restart the job without its state (a new snapshot) once the table's key \
                         is settled"
                    )));
                }
                if let Some(before) = &change.before {
                    if change.kind != ChangeKind::Insert
                        && range.contains(key_column, &before[key_index])
                    {
                        if let Some(i) = by_key.remove(&key_of(before)) {
                            slots[i] = None;
                        }
                        applied += 1;
                    }
                }
                if let Some(after) = change.after {
                    if change.kind != ChangeKind::Delete
                        && range.contains(key_column, &after[key_index])
                    {
                        let key = key_of(&after);
                        match by_key.get(&key) {
                            Some(&i) => slots[i] = Some(after),
                            None => {
                                by_key.insert(key, slots.len());
                                slots.push(Some(after));
                            }
                        }
                        applied += 1;
                    }
                }
            }
        }
        cursor.close().await;
        *rows = slots.into_iter().flatten().collect();
        Ok(applied)
    }
}

/// The chunk's rows now, streamed with the binary protocol (typed values, as the binlog has them).
async fn select_chunk(
    conn: &mut Conn,
    table: &TableSchema,
    chunk_key: &str,
    range: &ChunkRange,
) -> Result<Vec<RowValues>> {
    let (sql, params) = chunk_query(table, chunk_key, range);
    let context = || format!("reading a chunk of {}", table.id);
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| chunk_error(table, context(), e))?;
    if let Some(columns) = result.columns() {
        check_result_columns(table, &columns)?;
    }
    // Column kinds classified once per chunk, not once per value.
    let normalizer = RowNormalizer::new(table);
    let mut rows = Vec::new();
    while let Some(row) = result.next().await.map_err(|e| db_error(context(), e))? {
        rows.push(normalizer.snapshot_row(table, row)?);
    }
    Ok(rows)
}

/// A chunk query the server refused: a column of the schema the reader read is gone (dropped or
/// renamed during the snapshot) fails clearly; anything else as a database error.
fn chunk_error(table: &TableSchema, context: String, e: mysql_async::Error) -> BridgeError {
    match &e {
        // ER_BAD_FIELD_ERROR: Unknown column.
        mysql_async::Error::Server(s) if s.code == 1054 => BridgeError::validation(format!(
            "the columns of {} changed during the snapshot ({}): the snapshot reads the table as it was when \
             the job started. Restart the job without its state (a new snapshot) once the change is done; \
             during the binlog phase, with binlog_row_metadata=FULL, column changes are followed (see 'Schema \
             changes' in the rust-mysql-cdc documentation)",
            table.id, s.message
        )),
        _ => db_error(context, e),
    }
}

/// The SELECT of every column of a chunk, with its key bounds as parameters.
fn chunk_query(table: &TableSchema, chunk_key: &str, range: &ChunkRange) -> (String, Vec<Value>) {
    // An absent column (a declared column this table lacks, `BatchBuilder::binlog_mapping`) reads NULL.
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            if c.data_type.is_empty() {
                format!("NULL AS {}", quote_ident(&c.name))
            } else {
                quote_ident(&c.name)
            }
        })
        .collect();
    let col = quote_ident(chunk_key);
    let mut conditions = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    match (&range.start, &range.end) {
        (None, None) => {}
        (None, Some(end)) => {
            conditions.push(format!("({col} < ? OR {col} IS NULL)"));
            params.push(end.into());
        }
        (Some(start), None) => {
            conditions.push(format!("{col} >= ?"));
            params.push(start.into());
        }
        (Some(start), Some(end)) => {
            conditions.push(format!("{col} >= ? AND {col} < ?"));
            params.push(start.into());
            params.push(end.into());
        }
    }
    let mut sql = format!("SELECT {} FROM {}", columns.join(", "), table.id.quoted());
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    (sql, params)
}
