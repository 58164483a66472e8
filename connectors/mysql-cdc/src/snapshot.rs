//! Reading one chunk without locks, as it was at its high watermark.
//!
//! 1. low watermark: the end of the binlog;
//! 2. `SELECT` the chunk (a consistent read, streamed);
//! 3. high watermark: the end of the binlog again;
//! 4. if the binlog moved, replay its changes between the watermarks into the chunk by primary
//!    key: full row images make a change already visible to the SELECT harmless to apply again.
//!
//! The result is the chunk at the high watermark; the binlog phase emits a change of this chunk
//! only when its transaction starts at or after that watermark.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use rust_core::Result;

use crate::binlog::{BinlogCursor, ChangeKind};
use crate::connect::{binlog_end, db_error, Connector};
use crate::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{quote_ident, TableSchema};
use crate::split::{ChunkRange, SnapshotSplit};
use crate::value::{BatchBuilder, RowNormalizer, RowValues, TableMapping, Value};

/// A chunk's rows at its high watermark.
pub struct ChunkRows {
    pub rows: Vec<RowValues>,
    pub high_watermark: BinlogPosition,
    /// Binlog changes applied between the watermarks (0 when nothing changed).
    pub replayed: usize,
    /// The binlog moved between the watermarks (changes of any table).
    pub moved: bool,
}

pub struct ChunkReader<'a> {
    pub connector: &'a Connector,
    pub server_id: u32,
    pub heartbeat: Duration,
}

impl ChunkReader<'_> {
    pub async fn read(&self, conn: &mut Conn, table: &TableSchema, split: &SnapshotSplit) -> Result<ChunkRows> {
        let key_index = table.column_index(&split.chunk_key).unwrap_or(0);
        let low = binlog_end(conn).await?;
        let mut rows = select_chunk(conn, table, &split.chunk_key, &split.range).await?;
        let high = binlog_end(conn).await?;
        let mut replayed = 0;
        if high > low {
            replayed = self.replay(table, key_index, &split.range, &low, &high, &mut rows).await?;
        }
        let moved = high > low;
        Ok(ChunkRows { rows, high_watermark: high, replayed, moved })
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
        let low = binlog_end(conn).await?;
        let normalizer = RowNormalizer::new(table);
        let (sql, params) = chunk_query(table, &split.chunk_key, &split.range);
        let context = || format!("reading a chunk of {}", table.id);
        let mut result = conn.exec_iter(sql, params).await.map_err(|e| db_error(context(), e))?;
        while let Some(row) = result.next().await.map_err(|e| db_error(context(), e))? {
            // A failed append discards the builder's pending rows, this chunk's among them.
            builder.append_snapshot_row(mapping, table, &normalizer, row)?;
        }
        drop(result);
        let high = binlog_end(conn).await?;
        if high > low {
            builder.finish()?;
            return Ok(None);
        }
        Ok(Some(high))
    }

    /// Applies the binlog between the watermarks to the chunk's rows.
    async fn replay(
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
        let pk: Vec<usize> = if table.primary_key.is_empty() { (0..table.columns.len()).collect() } else { table.primary_key.clone() };
        let key_of = |row: &RowValues| -> String {
            pk.iter().map(|&i| row[i].as_sql(false)).collect::<Vec<_>>().join("\u{1}")
        };
        let mut by_key: HashMap<String, usize> = rows.iter().enumerate().map(|(i, r)| (key_of(r), i)).collect();
        let mut slots: Vec<Option<RowValues>> = std::mem::take(rows).into_iter().map(Some).collect();
        let tables = Arc::new(vec![table.clone()]);
        let mut cursor =
            BinlogCursor::open(self.connector, self.server_id, &BinlogOffset::at(low.clone()), tables, self.heartbeat)
                .await?;
        let mut changes = Vec::new();
        let mut applied = 0;
        while cursor.position() < *high || !cursor.at_boundary() {
            cursor.next(&mut changes).await?;
            for change in changes.drain(..) {
                if change.txn_start >= *high {
                    continue;
                }
                if let Some(before) = &change.before {
                    if change.kind != ChangeKind::Insert && range.contains(key_column, &before[key_index]) {
                        if let Some(i) = by_key.remove(&key_of(before)) {
                            slots[i] = None;
                        }
                        applied += 1;
                    }
                }
                if let Some(after) = change.after {
                    if change.kind != ChangeKind::Delete && range.contains(key_column, &after[key_index]) {
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
async fn select_chunk(conn: &mut Conn, table: &TableSchema, chunk_key: &str, range: &ChunkRange) -> Result<Vec<RowValues>> {
    let (sql, params) = chunk_query(table, chunk_key, range);
    let context = || format!("reading a chunk of {}", table.id);
    let mut result = conn.exec_iter(sql, params).await.map_err(|e| db_error(context(), e))?;
    // Column kinds classified once per chunk, not once per value.
    let normalizer = RowNormalizer::new(table);
    let mut rows = Vec::new();
    while let Some(row) = result.next().await.map_err(|e| db_error(context(), e))? {
        rows.push(normalizer.snapshot_row(table, row)?);
    }
    Ok(rows)
}

/// The SELECT of every column of a chunk, with its key bounds as parameters.
fn chunk_query(table: &TableSchema, chunk_key: &str, range: &ChunkRange) -> (String, Vec<Value>) {
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
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
