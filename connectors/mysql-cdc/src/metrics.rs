//! The connector's metrics and progress logs (names follow Flink CDC 3.x's
//! `MySqlSourceEnumeratorMetrics` and `MySqlSourceReaderMetrics` where it has one; the rest are
//! ours). docs/operations.md lists them all.
//!
//! - [`SnapshotProgress`] (enumerator, JobManager): tables and chunks, derived from the
//!   enumerator's state after every callback, and the snapshot's progress in the log (logger
//!   `rust.connector_mysql_cdc.enumerator`): each table's start and finish at INFO, overall
//!   progress at most every [`PROGRESS_LOG_INTERVAL`].
//! - [`SnapshotReaderMetrics`] / [`BinlogReaderMetrics`] (readers, per subtask): rows read by
//!   snapshot chunks; the binlog reader's position and how far behind the server it is.

use std::time::{Duration, Instant};

use rust_core::metrics::{Counter, ElapsedGauge, Gauge, Metrics, TextGauge};

use crate::binlog::BinlogCursor;
use crate::enumerator::EnumeratorState;
use crate::schema::TableId;

/// At most one progress line per interval while chunks finish (tables starting and finishing are
/// always logged).
pub const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The enumerator's gauges and what it last logged.
pub struct SnapshotProgress {
    is_snapshotting: Gauge,
    is_stream_reading: Gauge,
    tables_snapshotted: Gauge,
    tables_remaining: Gauge,
    splits_total: Gauge,
    splits_processed: Gauge,
    splits_remaining: Gauge,
    splits_finished: Gauge,
    /// Per captured table: 0 not started, 1 being read, 2 finished (what the log last said).
    table_status: Vec<u8>,
    last_progress_log: Option<Instant>,
    last_logged_finished: u64,
}

/// The counts [`SnapshotProgress`] publishes, derived from the enumerator's state alone (so they
/// are right after a restore too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub snapshotting: bool,
    pub tables_total: u64,
    pub tables_finished: u64,
    /// Chunks cut so far (final once every table is split).
    pub chunks_total: u64,
    /// Chunks handed to readers (finished or being read).
    pub chunks_assigned: u64,
    /// Chunks cut and waiting for a reader.
    pub chunks_pending: u64,
    pub chunks_finished: u64,
    /// Per table: started (being split or read), finished.
    pub tables: Vec<(TableId, bool, bool)>,
}

impl Counts {
    pub fn of(state: &EnumeratorState, has_snapshot: bool) -> Counts {
        let pending = state.pending.len() as u64;
        let in_flight = state.in_flight.len() as u64;
        let total = state.next_chunk_id;
        let mut tables: Vec<(TableId, bool, bool)> = match (&state.tables, has_snapshot) {
            (Some(tables), true) => tables
                .iter()
                .enumerate()
                .map(|(i, (id, _))| {
                    // Chunk ids are cut in table order: a table is finished once it is fully
                    // split and none of its chunks waits or is being read.
                    let open = state
                        .pending
                        .iter()
                        .chain(state.in_flight.values())
                        .any(|c| &c.table == id);
                    let started = i <= state.splitting_table;
                    (id.clone(), started, i < state.splitting_table && !open)
                })
                .collect(),
            _ => Vec::new(),
        };
        // Newly added tables being snapshotted (newly_added.rs), in any startup mode.
        let mut adding = false;
        if let Some(phase) = &state.adding {
            let open = |id: &TableId| {
                state
                    .pending
                    .iter()
                    .chain(state.in_flight.values())
                    .any(|c| &c.table == id)
            };
            for (i, (id, _)) in phase.tables.iter().enumerate() {
                tables.push((
                    id.clone(),
                    i <= phase.splitting_table,
                    i < phase.splitting_table && !open(id),
                ));
            }
            tables.extend(phase.requested.iter().map(|id| (id.clone(), false, false)));
            adding = !(phase.split_done() && pending == 0 && in_flight == 0);
        }
        let tables_finished = tables.iter().filter(|t| t.2).count() as u64;
        let split_done = state
            .tables
            .as_ref()
            .is_some_and(|t| state.splitting_table >= t.len());
        Counts {
            snapshotting: adding
                || (has_snapshot
                    && !state.binlog_assigned
                    && !(split_done && pending == 0 && in_flight == 0)),
            tables_total: tables.len() as u64,
            tables_finished,
            chunks_total: total,
            chunks_assigned: total.saturating_sub(pending),
            chunks_pending: pending,
            chunks_finished: total.saturating_sub(pending + in_flight),
            tables,
        }
    }
}

impl SnapshotProgress {
    pub fn register(metrics: &Metrics) -> Self {
        SnapshotProgress {
            is_snapshotting: metrics.gauge("isSnapshotting"),
            is_stream_reading: metrics.gauge("isStreamReading"),
            tables_snapshotted: metrics.gauge("numTablesSnapshotted"),
            tables_remaining: metrics.gauge("numTablesRemaining"),
            splits_total: metrics.gauge("numSnapshotSplitsTotal"),
            splits_processed: metrics.gauge("numSnapshotSplitsProcessed"),
            splits_remaining: metrics.gauge("numSnapshotSplitsRemaining"),
            splits_finished: metrics.gauge("numSnapshotSplitsFinished"),
            table_status: Vec::new(),
            last_progress_log: None,
            last_logged_finished: 0,
        }
    }

    /// Publishes the state's counts and logs what changed.
    pub fn update(&mut self, state: &EnumeratorState, has_snapshot: bool) {
        let c = Counts::of(state, has_snapshot);
        self.is_snapshotting.set(i64::from(c.snapshotting));
        // The binlog reader pauses while newly added tables are snapshotted.
        let suspended = state
            .adding
            .as_ref()
            .is_some_and(|p| p.suspended_at.is_some());
        self.is_stream_reading
            .set(i64::from(state.binlog_assigned && !suspended));
        self.tables_snapshotted.set(c.tables_finished as i64);
        self.tables_remaining
            .set((c.tables_total - c.tables_finished) as i64);
        self.splits_total.set(c.chunks_total as i64);
        self.splits_processed.set(c.chunks_assigned as i64);
        self.splits_remaining.set(c.chunks_pending as i64);
        self.splits_finished.set(c.chunks_finished as i64);
        self.log(&c);
    }

    fn log(&mut self, c: &Counts) {
        self.table_status.resize(c.tables.len(), 0);
        for (i, (table, started, finished)) in c.tables.iter().enumerate() {
            let status = if *finished { 2 } else { u8::from(*started) };
            if status == self.table_status[i] {
                continue;
            }
            if status >= 1 && self.table_status[i] == 0 {
                tracing::info!(target: "connector_mysql_cdc::enumerator", %table, "snapshot of table started");
            }
            if status == 2 {
                tracing::info!(target: "connector_mysql_cdc::enumerator", %table, tables_finished = c.tables_finished, tables = c.tables_total,
                    "snapshot of table finished");
            }
            self.table_status[i] = status;
        }
        let due = self
            .last_progress_log
            .is_none_or(|t| t.elapsed() >= PROGRESS_LOG_INTERVAL);
        if c.snapshotting && due && c.chunks_finished != self.last_logged_finished {
            self.last_progress_log = Some(Instant::now());
            self.last_logged_finished = c.chunks_finished;
            tracing::info!(
                target: "connector_mysql_cdc::enumerator",
                chunks_finished = c.chunks_finished,
                chunks_cut = c.chunks_total,
                chunks_waiting = c.chunks_pending,
                tables_finished = c.tables_finished,
                tables = c.tables_total,
                "snapshot progress"
            );
        }
    }
}

/// A snapshot reader's metrics.
pub struct SnapshotReaderMetrics {
    /// Flink CDC: `numSnapshotRecords` (rows of snapshot chunks this reader emitted).
    pub records: Counter,
}

impl SnapshotReaderMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        SnapshotReaderMetrics {
            records: metrics.counter("numSnapshotRecords"),
        }
    }
}

/// The binlog reader's metrics, registered when a reader starts reading the binlog (by its
/// worker thread: registration is thread-safe, Java picks them up with the next response).
pub struct BinlogReaderMetrics {
    file: TextGauge,
    position: Gauge,
    gtid: TextGauge,
    /// Now minus the server time of the last event read (heartbeats included, which the server
    /// sends only when it has nothing else: a reader that is caught up stays at 0).
    behind: ElapsedGauge,
}

impl BinlogReaderMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        BinlogReaderMetrics {
            file: metrics.text("currentBinlogFile"),
            position: metrics.gauge("currentBinlogPosition"),
            gtid: metrics.text("currentGtid"),
            behind: metrics.elapsed("secondsBehindServer", 1000),
        }
    }

    /// After each read from the stream: one atomic store.
    pub fn update_lag(&self, cursor: &BinlogCursor) {
        if let Some(ms) = cursor.last_event_ms() {
            self.behind.set_since_ms(ms);
        }
    }

    /// When the reader hands a batch or an offset to Flink (the GTID string is built here).
    pub fn update_position(&self, cursor: &BinlogCursor) {
        let position = cursor.position();
        self.file.set(&position.file);
        self.position.set(position.pos as i64);
        if let Some(gtid) = cursor.gtid() {
            self.gtid.set(&gtid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::{ChunkRange, SnapshotSplit};

    fn chunk(id: u64, table: &str) -> SnapshotSplit {
        SnapshotSplit {
            id,
            table: TableId::new("db", table),
            chunk_key: "id".into(),
            range: ChunkRange {
                start: None,
                end: None,
            },
            high_watermark: None,
        }
    }

    #[test]
    fn counts_follow_the_enumerator_state_through_the_snapshot() {
        let mut state = EnumeratorState {
            tables: Some(vec![
                (TableId::new("db", "a"), "id".into()),
                (TableId::new("db", "b"), "id".into()),
            ]),
            ..Default::default()
        };
        // Table a cut into chunks 0..3 (0 finished, 1 being read, 2 waiting); b being split.
        state.splitting_table = 1;
        state.next_chunk_id = 3;
        state.in_flight.insert(1, chunk(1, "a"));
        state.pending.push_back(chunk(2, "a"));
        let c = Counts::of(&state, true);
        assert!(c.snapshotting);
        assert_eq!(
            (
                c.chunks_total,
                c.chunks_assigned,
                c.chunks_pending,
                c.chunks_finished
            ),
            (3, 2, 1, 1)
        );
        assert_eq!((c.tables_total, c.tables_finished), (2, 0));
        assert_eq!(
            c.tables.iter().map(|t| (t.1, t.2)).collect::<Vec<_>>(),
            vec![(true, false), (true, false)]
        );

        // a's chunks done, b split into chunk 3, being read.
        state.in_flight.clear();
        state.pending.clear();
        state.splitting_table = 2;
        state.next_chunk_id = 4;
        state.in_flight.insert(3, chunk(3, "b"));
        let c = Counts::of(&state, true);
        assert_eq!((c.tables_finished, c.chunks_finished), (1, 3));
        assert!(c.snapshotting);

        // Everything read, the binlog split out: finished == total, no longer snapshotting.
        state.in_flight.clear();
        state.binlog_assigned = true;
        let c = Counts::of(&state, true);
        assert_eq!(
            (c.tables_finished, c.chunks_finished, c.chunks_total),
            (2, 4, 4)
        );
        assert!(!c.snapshotting);

        // Without a snapshot (binlog-only startup modes) there is nothing to count.
        let c = Counts::of(&EnumeratorState::default(), false);
        assert!(!c.snapshotting && c.tables.is_empty());
    }
}
