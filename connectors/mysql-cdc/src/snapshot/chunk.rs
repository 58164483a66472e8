//! Splitting a table into chunks by its chunk key, a few at a time, so splitting a huge table
//! neither blocks the enumerator nor holds every chunk in memory, and resumes from checkpointed
//! state.
//!
//! A numeric key whose values are spread evenly (`(max - min + 1) / rows` within the
//! `chunk-key.even-distribution.factor` bounds, `rows` the server's estimate) is cut
//! arithmetically after one MIN/MAX query. Any other key is cut by bounded queries: the largest
//! key of the next `chunk.size` rows.
//! Chunks are half-open `[start, end)`; the first starts unbounded (and takes NULL keys), the last
//! ends unbounded.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde::{Deserialize, Serialize};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::conn::connect::db_error;
use crate::schema::{quote_ident, TableSchema};
use crate::state::split::{ChunkRange, KeyValue};
use crate::value::{compare_values, Value};

/// How far splitting of one table got.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableSplitter {
    plan: Option<Plan>,
    /// Start of the next chunk; `None` before the first.
    cursor: Option<KeyValue>,
    pub done: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Plan {
    /// Arithmetic chunks of `step` keys up to `max`; the first is everything below `min + step`.
    Even { min: i128, max: i128, step: i128 },
    /// Chunks found by queries; `max` is the largest key.
    Queried { min: KeyValue, max: KeyValue },
    /// Empty table (or no key that is not NULL): one unbounded chunk. Also what a checkpoint
    /// taken before the row count became an estimate may hold for a table that fit one chunk.
    Single,
}

/// Splitting settings, from the options.
#[derive(Clone, Copy, Debug)]
pub struct SplitSettings {
    pub chunk_size: u64,
    pub even_lower: f64,
    pub even_upper: f64,
}

impl TableSplitter {
    /// Up to `limit` next chunks of `table`; sets `done` with the last one.
    pub async fn next_chunks(
        &mut self,
        conn: &mut Conn,
        table: &TableSchema,
        chunk_key: &str,
        settings: SplitSettings,
        limit: usize,
    ) -> Result<Vec<ChunkRange>> {
        if self.done {
            return Ok(Vec::new());
        }
        let column = table
            .column_index(chunk_key)
            .map(|i| &table.columns[i])
            .ok_or_else(|| {
                BridgeError::validation(format!("table {} has no column '{chunk_key}'", table.id))
            })?;
        let plan = match &self.plan {
            Some(p) => p.clone(),
            None => {
                let p = make_plan(
                    conn,
                    table,
                    chunk_key,
                    is_integer(&column.data_type),
                    settings,
                )
                .await?;
                self.plan = Some(p.clone());
                p
            }
        };
        let mut chunks = Vec::new();
        match plan {
            Plan::Single => {
                chunks.push(ChunkRange::whole());
                self.done = true;
            }
            Plan::Even { min, max, step } => {
                while chunks.len() < limit && !self.done {
                    let end = match self.cursor.as_ref() {
                        None => min.saturating_add(step),
                        Some(start) => key_to_i128(start).saturating_add(step),
                    };
                    if end > max {
                        chunks.push(ChunkRange {
                            start: self.cursor.clone(),
                            end: None,
                        });
                        self.done = true;
                    } else {
                        let end_key = i128_to_key(end);
                        chunks.push(ChunkRange {
                            start: self.cursor.clone(),
                            end: Some(end_key.clone()),
                        });
                        self.cursor = Some(end_key);
                    }
                }
            }
            Plan::Queried { min, max } => {
                let quoted = table.id.quoted();
                let col = quote_ident(chunk_key);
                while chunks.len() < limit && !self.done {
                    let lower = self.cursor.clone().unwrap_or_else(|| min.clone());
                    let sql = format!(
                        "SELECT MAX(k) FROM (SELECT {col} AS k FROM {quoted} WHERE {col} >= ? ORDER BY {col} LIMIT {}) s",
                        settings.chunk_size
                    );
                    let mut end: Value = conn
                        .exec_first::<Value, _, _>(sql, (Value::from(&lower),))
                        .await
                        .map_err(|e| db_error(format!("splitting {}", table.id), e))?
                        .unwrap_or(Value::NULL);
                    if !matches!(end, Value::NULL)
                        && compare_values(&end, &Value::from(&lower)).is_eq()
                    {
                        // More than chunk.size rows share this key: the chunk ends at the next one.
                        let sql = format!("SELECT MIN({col}) FROM {quoted} WHERE {col} > ?");
                        end = conn
                            .exec_first::<Value, _, _>(sql, (Value::from(&lower),))
                            .await
                            .map_err(|e| db_error(format!("splitting {}", table.id), e))?
                            .unwrap_or(Value::NULL);
                    }
                    let end = normalize_key(end);
                    if matches!(end, Value::NULL)
                        || compare_values(&end, &Value::from(&max)).is_ge()
                    {
                        chunks.push(ChunkRange {
                            start: self.cursor.clone(),
                            end: None,
                        });
                        self.done = true;
                    } else {
                        let end_key = KeyValue::from(&end);
                        chunks.push(ChunkRange {
                            start: self.cursor.clone(),
                            end: Some(end_key.clone()),
                        });
                        self.cursor = Some(end_key);
                    }
                }
            }
        }
        Ok(chunks)
    }
}

async fn make_plan(
    conn: &mut Conn,
    table: &TableSchema,
    chunk_key: &str,
    integer_key: bool,
    settings: SplitSettings,
) -> Result<Plan> {
    // MIN and MAX of an indexed key are two index lookups. The row count is the server's
    // estimate, as Flink CDC takes it: an exact COUNT(*) scans the whole table before the first
    // chunk can be read (2 s of a 12 M-row snapshot's 13 s in `make bench-cdc`).
    let col = quote_ident(chunk_key);
    let sql = format!("SELECT MIN({col}), MAX({col}) FROM {}", table.id.quoted());
    // The binary protocol, as for the chunk ends: typed values, so an end compares with MAX (the
    // text protocol's MAX was text, never equal to an integer end: one extra chunk per table).
    let row: Option<(Value, Value)> = conn
        .exec_first(sql, ())
        .await
        .map_err(|e| db_error(format!("measuring {}", table.id), e))?;
    let (min, max) = row.unwrap_or((Value::NULL, Value::NULL));
    let (min, max) = (normalize_key(min), normalize_key(max));
    if matches!(min, Value::NULL) {
        return Ok(Plan::Single);
    }
    if integer_key {
        let estimate = estimated_rows(conn, table).await?;
        if let (Some(lo), Some(hi), true) = (value_to_i128(&min), value_to_i128(&max), estimate > 0)
        {
            // A wrong estimate only changes the chunks' sizes: too low a count gives a factor
            // above the bound (or bigger even chunks), too high one below it; both stay exact.
            let factor = (hi - lo + 1) as f64 / estimate as f64;
            if factor >= settings.even_lower && factor <= settings.even_upper {
                let step = ((settings.chunk_size as f64 * factor).ceil() as i128).max(1);
                return Ok(Plan::Even {
                    min: lo,
                    max: hi,
                    step,
                });
            }
        }
    }
    // A table smaller than a chunk gets one chunk from here too: its first query finds no end.
    Ok(Plan::Queried {
        min: KeyValue::from(&min),
        max: KeyValue::from(&max),
    })
}

/// The server's estimate of the table's rows (`information_schema.TABLES.TABLE_ROWS`, which
/// MariaDB's InnoDB keeps within a row or two); 0 when it has none.
async fn estimated_rows(conn: &mut Conn, table: &TableSchema) -> Result<u64> {
    // MySQL 8 answers from a cache up to a day old unless the session asks for fresh statistics;
    // MariaDB has no such variable (ER_UNKNOWN_SYSTEM_VARIABLE, 1193) and nothing cached.
    match conn
        .query_drop("SET SESSION information_schema_stats_expiry = 0")
        .await
    {
        Ok(()) => {}
        Err(mysql_async::Error::Server(e)) if e.code == 1193 => {}
        Err(e) => return Err(db_error(format!("estimating the rows of {}", table.id), e)),
    }
    let estimate: Option<Option<u64>> = conn
        .exec_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&table.id.database, &table.id.table),
        )
        .await
        .map_err(|e| db_error(format!("estimating the rows of {}", table.id), e))?;
    Ok(estimate.flatten().unwrap_or(0))
}

fn is_integer(data_type: &str) -> bool {
    matches!(
        data_type,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
    )
}

/// Integer keys as one canonical variant, so chunk bounds compare and serialize stably.
fn normalize_key(v: Value) -> Value {
    match v {
        Value::UInt(u) if u <= i64::MAX as u64 => Value::Int(u as i64),
        other => other,
    }
}

fn value_to_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn key_to_i128(k: &KeyValue) -> i128 {
    match k {
        KeyValue::Int(i) => i128::from(*i),
        KeyValue::UInt(u) => i128::from(*u),
        _ => 0,
    }
}

fn i128_to_key(v: i128) -> KeyValue {
    match i64::try_from(v) {
        Ok(i) => KeyValue::Int(i),
        Err(_) => KeyValue::UInt(u64::try_from(v).unwrap_or(u64::MAX)),
    }
}

#[cfg(test)]
impl TableSplitter {
    /// An arithmetic plan part way through, for golden checkpoint samples (`state/golden.rs`).
    pub(crate) fn golden_even(min: i128, max: i128, step: i128, cursor: Option<KeyValue>) -> Self {
        TableSplitter {
            plan: Some(Plan::Even { min, max, step }),
            cursor,
            done: false,
        }
    }
}
