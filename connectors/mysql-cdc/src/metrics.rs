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

use crate::position::offset::BinlogPosition;
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
/// are right after a restore too; `EnumeratorState::counts` derives them).
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
    /// The binlog split is out and not suspended for newly added tables.
    pub stream_reading: bool,
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

    /// Publishes the enumerator's counts and logs what changed.
    pub fn update(&mut self, c: &Counts) {
        self.is_snapshotting.set(i64::from(c.snapshotting));
        self.is_stream_reading.set(i64::from(c.stream_reading));
        self.tables_snapshotted.set(c.tables_finished as i64);
        self.tables_remaining
            .set((c.tables_total - c.tables_finished) as i64);
        self.splits_total.set(c.chunks_total as i64);
        self.splits_processed.set(c.chunks_assigned as i64);
        self.splits_remaining.set(c.chunks_pending as i64);
        self.splits_finished.set(c.chunks_finished as i64);
        self.log(c);
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
    /// `last_event_ms`: the server time of the last event read (`BinlogCursor::last_event_ms`).
    pub fn update_lag(&self, last_event_ms: Option<i64>) {
        if let Some(ms) = last_event_ms {
            self.behind.set_since_ms(ms);
        }
    }

    /// When the reader hands a batch or an offset to Flink: the cursor's position and GTID.
    pub fn update_position(&self, position: &BinlogPosition, gtid: Option<String>) {
        self.file.set(&position.file);
        self.position.set(position.pos as i64);
        if let Some(gtid) = gtid {
            self.gtid.set(&gtid);
        }
    }
}
