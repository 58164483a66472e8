//! The enumerator: discovers the captured tables, splits them into chunks in the background (a
//! few at a time, on Flink's worker threads), hands chunks to readers as they ask, collects each
//! chunk's high watermark, and then hands the binlog split to one reader.
//!
//! Its checkpointed state is what it has not yet handed out or heard back about: the splitter's
//! cursor, a short queue of pending chunks, chunks in flight, and the watermarks of finished
//! chunks (needed to build the binlog split).

pub mod finished;
pub mod newly_added;
pub mod stall;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use rust_core::api::{AsyncSchedule, EnumeratorContext, SplitEnumerator};
use rust_core::error::BridgeError;
use rust_core::Result;

use crate::config::{MySqlCdcConfig, StartupMode};
use crate::conn::connect::{binlog_end, binlog_start, block_on, Connector};
use crate::enumerator::finished::FinishedChunks;
use crate::enumerator::newly_added::{AddResult, AddingTables};
use crate::enumerator::stall::{HandoverWait, HandoverWatch};
use crate::metrics::{Counts, SnapshotProgress};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{discover_tables, load_table, TableId};
use crate::snapshot::chunk::{SplitSettings, TableSplitter};
use crate::state::split::{
    decode_event, encode_event, BinlogSplit, CdcSplit, ChunkRange, EnumeratorEvent, ReaderEvent,
    SnapshotSplit, TableWatermarks,
};
use rust_core::types::RowType;

/// The version of [`TaskResult`] bytes (in-job, see there).
pub(crate) const TASK_RESULT_VERSION: u32 = 1;

/// Chunks the splitter produces per background call; the queue is refilled below this.
pub(crate) const CHUNKS_PER_CALL: usize = 64;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnumeratorState {
    /// Captured tables with their chunk keys, once discovered.
    pub tables: Option<Vec<(TableId, String)>>,
    /// Index of the table being split.
    pub splitting_table: usize,
    pub splitter: TableSplitter,
    pub next_chunk_id: u64,
    pub pending: VecDeque<SnapshotSplit>,
    pub in_flight: BTreeMap<u64, SnapshotSplit>,
    /// Finished chunks per table: (range, high watermark), in chunk order once complete.
    pub finished: FinishedChunks,
    /// The binlog split, when it was created but not (or no longer) assigned.
    pub binlog_pending: Option<BinlogSplit>,
    pub binlog_assigned: bool,
    /// Newly added tables being snapshotted for the binlog reader (`enumerator/newly_added.rs`).
    pub adding: Option<AddingTables>,
}

/// What a background call returns: a step of the snapshot's splitting, or of the phase adding
/// new tables. An in-job message, encoded with [`TASK_RESULT_VERSION`], not the state version:
/// the call and its result stay inside one enumerator of one jar and are never checkpointed.
#[derive(Serialize, Deserialize)]
pub(crate) enum TaskResult {
    Split(SplitResult),
    Adding(AddResult),
}

/// What a background splitting call returns.
#[derive(Serialize, Deserialize)]
pub(crate) struct SplitResult {
    tables: Vec<(TableId, String)>,
    table_index: usize,
    splitter: TableSplitter,
    /// New chunks: table, chunk key, range.
    chunks: Vec<(TableId, String, ChunkRange)>,
    /// For startup modes without a snapshot: where the binlog starts.
    start_offset: Option<BinlogOffset>,
}

pub struct MySqlCdcEnumerator {
    pub(crate) config: Arc<MySqlCdcConfig>,
    pub(crate) state: EnumeratorState,
    /// The source's row type: newly added tables are checked against it.
    pub(crate) row_type: Option<RowType>,
    /// The reader that last reported a suspension for new tables: it holds the binlog split.
    pub(crate) binlog_reader: Option<u32>,
    /// The suspended binlog reader was sent the new tables since its last report.
    pub(crate) resume_sent: bool,
    /// Restored with `scan.newly-added-table.enabled`: look for tables the state lacks once the
    /// binlog split is out.
    pub(crate) rediscover: bool,
    /// Bumped whenever chunks of newly added tables are cut or go back to be read again.
    pub(crate) phase_epoch: u64,
    /// The first checkpoint taken with the phase complete, and the epoch it saw.
    pub(crate) phase_done_at: Option<(u64, u64)>,
    /// The epoch whose completion a completed checkpoint holds: with checkpoint handover the
    /// binlog reader resumes only then (as the binlog split waits after the initial snapshot).
    pub(crate) phase_ready_epoch: Option<u64>,
    /// Readers that asked for a split and got none yet.
    waiting: BTreeSet<u32>,
    splitting: bool,
    /// The first checkpoint taken after the binlog split was assigned.
    binlog_held_from: Option<u64>,
    /// The first checkpoint triggered once every chunk was reported.
    snapshot_done_at: Option<u64>,
    /// A checkpoint taken after the snapshot completed: the binlog split may go out.
    handover_ready: bool,
    /// Registered on the first callback (the context holds the metrics).
    progress: Option<SnapshotProgress>,
    /// Says when the binlog split waits too long to be handed out (`enumerator/stall.rs`), on a periodic
    /// task of its own.
    handover_watch: Option<(u64, HandoverWatch)>,
}

impl MySqlCdcEnumerator {
    pub fn new(config: Arc<MySqlCdcConfig>, restored: Option<EnumeratorState>) -> Self {
        let rediscover =
            config.newly_added_tables && restored.as_ref().is_some_and(|s| s.tables.is_some());
        MySqlCdcEnumerator {
            config,
            state: restored.unwrap_or_default(),
            row_type: None,
            binlog_reader: None,
            resume_sent: false,
            rediscover,
            phase_epoch: 0,
            phase_done_at: None,
            phase_ready_epoch: None,
            waiting: BTreeSet::new(),
            splitting: false,
            binlog_held_from: None,
            snapshot_done_at: None,
            handover_ready: false,
            progress: None,
            handover_watch: None,
        }
    }

    /// Newly added tables are checked against `row_type` as at submission.
    pub fn with_row_type(mut self, row_type: RowType) -> Self {
        self.row_type = Some(row_type);
        self
    }

    /// Publishes snapshot progress (metrics and logs) after a callback changed the state.
    fn publish(&mut self, ctx: &EnumeratorContext<CdcSplit>) {
        let has_snapshot = self.config.startup.has_snapshot();
        self.progress
            .get_or_insert_with(|| SnapshotProgress::register(ctx.metrics()))
            .update(&self.state.counts(has_snapshot));
    }

    fn snapshot_finished_splitting(&self) -> bool {
        match &self.state.tables {
            Some(tables) => self.state.splitting_table >= tables.len(),
            None => false,
        }
    }

    /// Starts a background call that discovers tables (first time) and cuts the next chunks.
    fn schedule_splitting(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) {
        if self.splitting {
            return;
        }
        if self.state.binlog_assigned {
            self.splitting = self.schedule_adding(ctx);
            return;
        }
        if self.snapshot_finished_splitting() {
            return;
        }
        if self.state.pending.len() >= CHUNKS_PER_CALL / 2 && self.state.tables.is_some() {
            return;
        }
        self.splitting = true;
        let config = self.config.clone();
        let tables = self.state.tables.clone();
        let table_index = self.state.splitting_table;
        let splitter = self.state.splitter.clone();
        let task = move || -> Result<Vec<u8>> {
            let result = block_on(split_step(
                config.clone(),
                tables.clone(),
                table_index,
                splitter.clone(),
            ))??;
            rust_core::state::encode(TASK_RESULT_VERSION, &TaskResult::Split(result))
        };
        ctx.call_async(Box::new(task), AsyncSchedule::Once);
    }

    /// See [`Self::schedule_splitting`] (for the newly added tables' phase).
    pub(crate) fn schedule_splitting_now(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) {
        self.schedule_splitting(ctx);
    }

    fn assign_waiting(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) {
        let waiting: Vec<u32> = self.waiting.iter().copied().collect();
        for subtask in waiting {
            if !ctx.registered_readers().contains(&subtask) {
                self.waiting.remove(&subtask);
                continue;
            }
            if !self.try_assign(subtask, ctx) {
                break;
            }
        }
        self.schedule_splitting(ctx);
    }

    /// Gives `subtask` a split if one is ready; false when it has to wait.
    fn try_assign(&mut self, subtask: u32, ctx: &mut EnumeratorContext<CdcSplit>) -> bool {
        if self.adding_holds_chunks() {
            // Chunks of new tables wait for the binlog reader's suspension (enumerator/newly_added.rs).
            return false;
        }
        if let Some(split) = self.state.pending.pop_front() {
            self.state.in_flight.insert(split.id, split.clone());
            ctx.assign_split(subtask, CdcSplit::Snapshot(split));
            self.waiting.remove(&subtask);
            return true;
        }
        let snapshot_done = self.snapshot_finished_splitting() && self.state.in_flight.is_empty();
        if !snapshot_done {
            return false;
        }
        if self.config.startup == StartupMode::Snapshot {
            ctx.signal_no_more_splits(subtask);
            self.waiting.remove(&subtask);
            return true;
        }
        if self.state.binlog_assigned {
            // Streaming readers without the binlog split stay idle: the job is unbounded.
            return false;
        }
        // The rule the handover watchdog reports on: every reader idle, then (with 'checkpoint'
        // handover) a checkpoint after the snapshot.
        if self.handover_wait(ctx) != HandoverWait::None {
            return false;
        }
        if self.state.binlog_pending.is_none() {
            self.state.binlog_pending = Some(self.build_binlog_split());
        }
        let split = self.state.binlog_pending.take().expect("built above");
        tracing::info!(offset = %split.offset, subtask, "snapshot finished; assigning the binlog split");
        ctx.assign_split(subtask, CdcSplit::Binlog(split));
        self.state.binlog_assigned = true;
        // The watermarks now live in the binlog split; `finished` stays until a checkpoint holds
        // the split (a failure before that gives the split back, to be rebuilt).
        self.waiting.remove(&subtask);
        true
    }

    /// What the binlog split waits for once every chunk is read (the snapshot's, or none for
    /// startup modes without one): [`Self::try_assign`] hands it out when this is `None`, and the
    /// handover watchdog (`enumerator/stall.rs`) reports on it.
    fn handover_wait(&self, ctx: &EnumeratorContext<CdcSplit>) -> HandoverWait {
        let snapshot_done = self.snapshot_finished_splitting()
            && self.state.pending.is_empty()
            && self.state.in_flight.is_empty();
        if !snapshot_done
            || self.state.binlog_assigned
            || self.config.startup == StartupMode::Snapshot
        {
            return HandoverWait::None;
        }
        // Only when every reader is idle: a reader restarted after a failure may hold chunks it
        // restored unfinished and is reading again (it reports them before it registers, see
        // `reopen`); their new watermarks must be in the binlog split.
        let busy: Vec<u32> = (0..ctx.parallelism())
            .filter(|s| !(self.waiting.contains(s) && ctx.registered_readers().contains(s)))
            .collect();
        if !busy.is_empty() {
            return HandoverWait::Readers(busy);
        }
        // Readers emit chunks in parallel, so downstream may still hold snapshot rows of a key
        // when the binlog reader emits its next change. A checkpoint triggered after the last
        // chunk was reported completes only once every operator has processed all rows before
        // its barriers: after it, ordering per key holds (one reader needs no wait).
        if self.config.handover_after_checkpoint && ctx.parallelism() > 1 && !self.handover_ready {
            return HandoverWait::Checkpoint;
        }
        HandoverWait::None
    }

    /// The binlog split after a snapshot: from the lowest chunk watermark, with every chunk's.
    fn build_binlog_split(&self) -> BinlogSplit {
        let tables = self.state.tables.clone().unwrap_or_default();
        let watermarks: Vec<TableWatermarks> = tables
            .iter()
            .map(|(table, chunk_key)| TableWatermarks {
                table: table.clone(),
                chunk_key: chunk_key.clone(),
                chunks: self.state.finished.watermarks(table),
            })
            .collect();
        let (min, max) = match self.state.finished.bounds() {
            Some((min, max)) => (Some(min), Some(max)),
            None => (None, None),
        };
        let start = min.clone().unwrap_or_else(|| BinlogPosition::new("", 4));
        BinlogSplit {
            offset: BinlogOffset::at(start),
            tables: tables.into_iter().map(|(t, _)| t).collect(),
            watermarks,
            max_high_watermark: max,
            skip_before_ms: None,
            suspended: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

impl MySqlCdcEnumerator {
    /// A reader restored these chunks unfinished and reads them again. If this enumerator recorded
    /// them as finished (a report from the failed attempt: Flink restarted the reader from a
    /// checkpoint taken before it emitted them, but kept the enumerator), that report is void:
    /// the chunks are in flight again, and the binlog split waits for their new high watermarks.
    fn reopen(&mut self, chunks: Vec<SnapshotSplit>) {
        if self.state.binlog_assigned && self.state.adding.is_some() {
            // Chunks of newly added tables: their watermarks go to the binlog reader only once
            // all are read again.
            for chunk in chunks {
                if self.state.finished.remove(&chunk) {
                    tracing::info!(table = %chunk.table, chunk = chunk.id, "chunk of a new table restored unfinished by a reader: reading it again");
                    self.state.in_flight.insert(chunk.id, chunk);
                    self.resume_sent = false;
                    self.phase_epoch += 1;
                }
            }
            return;
        }
        if self.state.binlog_assigned {
            // The binlog split already carries the chunks' watermarks (a reader restarted late,
            // after another one took the binlog split): too late to take them back, and the
            // binlog phase may repeat changes these chunks will include.
            tracing::warn!(
                chunks = chunks.len(),
                "a reader restored unfinished chunks after the binlog split was assigned"
            );
            return;
        }
        if self
            .state
            .binlog_pending
            .as_ref()
            .is_some_and(|b| b.max_high_watermark.is_some())
        {
            // Built from the old watermarks; built again once these chunks are read.
            self.state.binlog_pending = None;
        }
        if !chunks.is_empty() {
            // The re-read chunks' rows are not yet behind a checkpoint.
            self.snapshot_done_at = None;
            self.handover_ready = false;
        }
        for chunk in chunks {
            if self.state.finished.remove(&chunk) {
                tracing::info!(table = %chunk.table, chunk = chunk.id, "chunk restored unfinished by a reader: reading it again");
                self.state.in_flight.insert(chunk.id, chunk);
            }
        }
    }
}

/// One background step: discover tables if needed, then cut up to [`CHUNKS_PER_CALL`] chunks.
async fn split_step(
    config: Arc<MySqlCdcConfig>,
    tables: Option<Vec<(TableId, String)>>,
    mut table_index: usize,
    mut splitter: TableSplitter,
) -> Result<SplitResult> {
    let connector = Connector::new(&config);
    // On Flink's async executor, not a task thread: a server restarting mid-snapshot is waited out.
    let mut conn = crate::conn::retry::connect(&connector).await?;
    let tables = match tables {
        Some(t) => t,
        None => {
            let found =
                discover_tables(&mut conn, &config.database_regex, &config.table_regex).await?;
            found
                .iter()
                .map(|t| {
                    Ok((
                        t.id.clone(),
                        crate::config::chunk_key::chunk_key_of(t, &config.chunk_key_columns)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    let start_offset = match &config.startup {
        StartupMode::Initial | StartupMode::Snapshot => None,
        StartupMode::LatestOffset => Some(BinlogOffset::at(binlog_end(&mut conn).await?)),
        StartupMode::EarliestOffset | StartupMode::Timestamp { .. } => {
            Some(BinlogOffset::at(binlog_start(&mut conn).await?))
        }
        StartupMode::SpecificOffset(offset) => Some(offset.clone()),
        // The reader finds the place from the set; its offsets are file/position ones after that.
        StartupMode::SpecificGtid { start, skip_rows } => {
            Some(BinlogOffset::after_gtids(start.set.clone(), *skip_rows))
        }
    };
    let mut chunks = Vec::new();
    if config.startup.has_snapshot() {
        let settings = SplitSettings {
            chunk_size: config.chunk_size,
            even_lower: config.even_distribution_lower,
            even_upper: config.even_distribution_upper,
        };
        while chunks.len() < CHUNKS_PER_CALL && table_index < tables.len() {
            let (id, chunk_key) = &tables[table_index];
            let schema = load_table(&mut conn, id)
                .await?
                .ok_or_else(|| BridgeError::validation(format!("table {id} no longer exists")))?;
            let more = splitter
                .next_chunks(
                    &mut conn,
                    &schema,
                    chunk_key,
                    settings,
                    CHUNKS_PER_CALL - chunks.len(),
                )
                .await?;
            chunks.extend(
                more.into_iter()
                    .map(|range| (id.clone(), chunk_key.clone(), range)),
            );
            if splitter.done {
                table_index += 1;
                splitter = TableSplitter::default();
            }
        }
    } else {
        table_index = tables.len();
    }
    let _ = conn.disconnect().await;
    Ok(SplitResult {
        tables,
        table_index,
        splitter,
        chunks,
        start_offset,
    })
}

impl SplitEnumerator for MySqlCdcEnumerator {
    type Split = CdcSplit;
    type State = EnumeratorState;

    fn start(&mut self, ctx: &mut EnumeratorContext<CdcSplit>) -> Result<()> {
        let watch = HandoverWatch::new(self.config.stall_timeout, ctx.metrics());
        let period = watch.period();
        let task = ctx.call_async(
            Box::new(|| Ok(Vec::new())),
            AsyncSchedule::Periodic {
                initial_delay: period,
                period,
            },
        );
        self.handover_watch = Some((task, watch));
        self.schedule_splitting(ctx);
        self.publish(ctx);
        Ok(())
    }

    fn handle_split_request(
        &mut self,
        subtask: u32,
        _hostname: Option<&str>,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        self.waiting.insert(subtask);
        self.assign_waiting(ctx);
        self.publish(ctx);
        Ok(())
    }

    fn add_reader(&mut self, subtask: u32, ctx: &mut EnumeratorContext<CdcSplit>) -> Result<()> {
        // A (re)started reader asks again when it is idle; an old request of a failed attempt
        // must not count as idle.
        self.waiting.remove(&subtask);
        // It may hold the binlog split, restored from before a suspension the phase waits for.
        self.request_suspension(&[subtask], ctx)?;
        self.publish(ctx);
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<CdcSplit>,
        subtask: u32,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        // Its reader is gone: a request it left must neither get a split nor count as idle (its
        // next attempt asks again once registered).
        self.waiting.remove(&subtask);
        for split in splits {
            match split {
                CdcSplit::Snapshot(mut s) => {
                    // Not checkpointed by the failed reader: read it again (a report it may have
                    // sent is void, its rows were not kept).
                    self.state.in_flight.remove(&s.id);
                    self.state.finished.remove(&s);
                    s.high_watermark = None;
                    self.state.pending.push_front(s);
                    self.resume_sent = false;
                    self.phase_epoch += 1;
                }
                CdcSplit::Binlog(b) if !b.suspended.is_empty() => {
                    // Suspended for new tables: handed out as it is; its next reader reports.
                    self.state.binlog_assigned = false;
                    self.binlog_reader = None;
                    self.state.binlog_pending = Some(b);
                }
                CdcSplit::Binlog(b) | CdcSplit::BinlogSpilled(b, _) => {
                    self.state.binlog_assigned = false;
                    self.binlog_reader = None;
                    // A split built from chunk watermarks is built again (chunks may have been
                    // reopened since); one from a startup offset is handed out as it is.
                    self.state.binlog_pending = if b.max_high_watermark.is_some() {
                        None
                    } else {
                        Some(b)
                    };
                }
            }
        }
        self.assign_waiting(ctx);
        self.publish(ctx);
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<EnumeratorState> {
        if let Some((_, watch)) = self.handover_watch.as_mut() {
            watch.checkpoint_taken();
        }
        if self.state.binlog_assigned && self.binlog_held_from.is_none() {
            self.binlog_held_from = Some(checkpoint_id);
        }
        if self.snapshot_done_at.is_none()
            && self.snapshot_finished_splitting()
            && self.state.in_flight.is_empty()
        {
            self.snapshot_done_at = Some(checkpoint_id);
        }
        if self.phase_complete() && self.phase_done_at.map(|(_, e)| e) != Some(self.phase_epoch) {
            self.phase_done_at = Some((checkpoint_id, self.phase_epoch));
        }
        Ok(self.state.clone())
    }

    fn notify_checkpoint_complete(
        &mut self,
        checkpoint_id: u64,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        if let Some((c, epoch)) = self.phase_done_at {
            if checkpoint_id >= c && self.phase_ready_epoch != Some(epoch) {
                self.phase_ready_epoch = Some(epoch);
                self.resume_if_done(ctx)?;
            }
        }
        if self.snapshot_done_at.is_some_and(|c| checkpoint_id >= c) && !self.handover_ready {
            self.handover_ready = true;
            self.assign_waiting(ctx);
        }
        // From this checkpoint on the binlog split is in its reader's state: a failure restores
        // it from there, never from chunk watermarks, so they can go.
        if self.binlog_held_from.is_some_and(|c| checkpoint_id >= c) && self.state.binlog_assigned {
            match &self.state.adding {
                // Newly added tables' watermarks go to the binlog reader when the phase ends.
                Some(phase) => self
                    .state
                    .finished
                    .retain_tables(|t| phase.tables.iter().any(|(p, _)| p == t)),
                None => self.state.finished.clear(),
            }
        }
        self.publish(ctx);
        Ok(())
    }

    fn handle_source_event(
        &mut self,
        subtask: u32,
        event: &[u8],
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        match decode_event::<ReaderEvent>(event)? {
            ReaderEvent::ChunksFinished(finished) => {
                let mut ids = Vec::with_capacity(finished.len());
                for split in finished {
                    let Some(hw) = split.high_watermark.clone() else {
                        continue;
                    };
                    ids.push(split.id);
                    if self.state.in_flight.remove(&split.id).is_some()
                        || self.state.finished.contains(split.id)
                    {
                        // A chunk finished again (read again after a reader failed between its
                        // report and a checkpoint): downstream keeps this emission, so its
                        // watermark is the one that holds.
                        self.state.finished.insert(&split, hw);
                    }
                }
                ctx.send_event(
                    subtask,
                    encode_event(&EnumeratorEvent::ChunksAcknowledged(ids))?,
                );
                self.assign_waiting(ctx);
                self.resume_if_done(ctx)?;
            }
            ReaderEvent::ChunksRestored(chunks) => {
                self.waiting.remove(&subtask);
                self.reopen(chunks);
            }
            ReaderEvent::NewTables { tables, offset } => {
                self.on_new_tables(subtask, tables, offset, ctx)?;
                self.assign_waiting(ctx);
            }
            ReaderEvent::TablesAdded(tables) => self.on_tables_added(tables),
        }
        self.publish(ctx);
        Ok(())
    }

    fn handle_async_result(
        &mut self,
        task_id: u64,
        result: std::result::Result<Vec<u8>, String>,
        ctx: &mut EnumeratorContext<CdcSplit>,
    ) -> Result<()> {
        if self
            .handover_watch
            .as_ref()
            .is_some_and(|(id, _)| *id == task_id)
        {
            let wait = self.handover_wait(ctx);
            if let Some((_, watch)) = self.handover_watch.as_mut() {
                watch.check(&wait, std::time::Instant::now())?;
            }
            return Ok(());
        }
        self.splitting = false;
        let bytes = result.map_err(|e| {
            BridgeError::other(format!("splitting the captured tables failed: {e}"))
        })?;
        let result = match rust_core::state::decode("split result", TASK_RESULT_VERSION, &bytes)? {
            TaskResult::Split(result) => result,
            TaskResult::Adding(result) => {
                self.on_add_result(result, ctx)?;
                self.assign_waiting(ctx);
                self.publish(ctx);
                return Ok(());
            }
        };
        if self.state.tables.is_none() {
            tracing::info!(tables = result.tables.len(), "captured tables discovered");
        }
        self.state.tables = Some(result.tables.clone());
        self.state.splitting_table = result.table_index;
        self.state.splitter = result.splitter;
        for (table, chunk_key, range) in result.chunks {
            let id = self.state.next_chunk_id;
            self.state.next_chunk_id += 1;
            self.state.pending.push_back(SnapshotSplit {
                id,
                table,
                chunk_key,
                range,
                high_watermark: None,
            });
        }
        if let Some(offset) = result.start_offset {
            if !self.state.binlog_assigned && self.state.binlog_pending.is_none() {
                self.state.binlog_pending = Some(BinlogSplit {
                    offset,
                    tables: result.tables.iter().map(|(t, _)| t.clone()).collect(),
                    watermarks: Vec::new(),
                    max_high_watermark: None,
                    skip_before_ms: match self.config.startup {
                        StartupMode::Timestamp { millis } => Some(millis),
                        _ => None,
                    },
                    suspended: Vec::new(),
                    ignored: Vec::new(),
                });
            }
        }
        self.assign_waiting(ctx);
        self.publish(ctx);
        Ok(())
    }
}

impl EnumeratorState {
    /// The snapshot progress counts of this state (metrics.rs publishes them).
    pub fn counts(&self, has_snapshot: bool) -> Counts {
        let state = self;
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
        // Newly added tables being snapshotted (enumerator/newly_added.rs), in any startup mode.
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
            // The binlog reader pauses while newly added tables are snapshotted.
            stream_reading: state.binlog_assigned
                && state
                    .adding
                    .as_ref()
                    .is_none_or(|p| p.suspended_at.is_none()),
        }
    }
}

#[cfg(test)]
mod restored_chunk_tests {
    use super::*;
    use crate::state::split::KeyValue;

    fn config() -> MySqlCdcConfig {
        crate::config::test_config("t", &[])
    }

    fn enumerator() -> MySqlCdcEnumerator {
        MySqlCdcEnumerator::new(Arc::new(config()), None)
    }

    fn chunk(id: u64) -> SnapshotSplit {
        SnapshotSplit {
            id,
            table: TableId::new("db", "t"),
            chunk_key: "id".into(),
            range: ChunkRange {
                start: Some(KeyValue::Int(id as i64 * 100)),
                end: Some(KeyValue::Int(id as i64 * 100 + 100)),
            },
            high_watermark: None,
        }
    }

    fn finished(e: &MySqlCdcEnumerator) -> Vec<(ChunkRange, BinlogPosition)> {
        e.state.finished.ranges(&TableId::new("db", "t"))
    }

    /// Flink's region failover restarts readers from a checkpoint but keeps the enumerator: a chunk
    /// reported after that checkpoint is read again, and only the new report may count. Before the
    /// fix the second report was ignored (the chunk was no longer in flight), the binlog split got
    /// the first, lower watermark, and the binlog phase repeated changes the re-read chunk had.
    #[test]
    fn a_chunk_restored_unfinished_is_in_flight_again_and_its_new_watermark_counts() {
        let mut e = enumerator();
        let mut ctx = EnumeratorContext::new(2);
        e.state.tables = Some(vec![(TableId::new("db", "t"), "id".into())]);
        e.state.splitting_table = 1;
        e.state.in_flight.insert(1, chunk(1));
        let report = |hw: u64| {
            let done = SnapshotSplit {
                high_watermark: Some(BinlogPosition::new("bin.000001", hw)),
                ..chunk(1)
            };
            encode_event(&ReaderEvent::ChunksFinished(vec![done])).unwrap()
        };

        e.handle_source_event(0, &report(100), &mut ctx).unwrap();
        assert_eq!(
            finished(&e),
            vec![(chunk(1).range, BinlogPosition::new("bin.000001", 100))]
        );
        assert!(e.state.in_flight.is_empty());

        // The restarted reader restored chunk 1 unfinished: the first report is void.
        e.handle_source_event(
            0,
            &encode_event(&ReaderEvent::ChunksRestored(vec![chunk(1)])).unwrap(),
            &mut ctx,
        )
        .unwrap();
        assert!(finished(&e).is_empty());
        assert!(
            e.state.in_flight.contains_key(&1),
            "the binlog split must wait for the chunk"
        );

        e.handle_source_event(0, &report(250), &mut ctx).unwrap();
        assert_eq!(
            finished(&e),
            vec![(chunk(1).range, BinlogPosition::new("bin.000001", 250))]
        );

        // A restored chunk the enumerator never saw finished (still in flight) stays as it is.
        e.state.in_flight.insert(2, chunk(2));
        e.handle_source_event(
            1,
            &encode_event(&ReaderEvent::ChunksRestored(vec![chunk(2)])).unwrap(),
            &mut ctx,
        )
        .unwrap();
        assert!(e.state.in_flight.contains_key(&2));
        assert_eq!(finished(&e).len(), 1);
    }

    fn assigned(out: &rust_core::runtime::EnumeratorOutput) -> Vec<(u32, Vec<String>)> {
        out.commands
            .iter()
            .filter_map(|c| match c {
                rust_core::api::EnumeratorCommand::AssignSplits { subtask, splits } => {
                    Some((*subtask, splits.iter().map(|s| s.id.clone()).collect()))
                }
                _ => None,
            })
            .collect()
    }

    /// MySqlCdcFailoverITCase: a TaskManager with readers 0 and 1 goes while reader 0 reads chunk 1
    /// and reader 1 waits for a split. Flink resets reader 1, then reader 0, whose chunk comes
    /// back. It must not go to reader 1, gone and not registered again (Flink failed the job:
    /// "Cannot assign splits ... because the subtask is not registered"), but wait for a request.
    #[test]
    fn a_chunk_given_back_waits_for_a_registered_reader_not_one_that_was_reset() {
        use crate::source::MySqlCdcSource;
        use rust_core::api::{EnumeratorInit, Source, SourceSplit};
        use rust_core::protocol::SplitBytes;
        use rust_core::types::RowType;

        let mut state = EnumeratorState {
            tables: Some(vec![(TableId::new("db", "t"), "id".into())]),
            splitting_table: 1,
            ..EnumeratorState::default()
        };
        state.in_flight.insert(1, chunk(1));
        let version = <MySqlCdcSource as Source>::STATE_VERSION;
        let source =
            rust_core::runtime::erase(MySqlCdcSource::new(config(), RowType::default()).unwrap());
        let state = rust_core::state::encode(version, &state).unwrap();
        let mut e = source
            .create_enumerator(&EnumeratorInit { parallelism: 2 }, Some(&state))
            .unwrap();
        e.add_reader(0).unwrap();
        e.add_reader(1).unwrap();
        assert!(
            assigned(&e.handle_split_request(1, None).unwrap()).is_empty(),
            "nothing to assign yet"
        );

        assert!(assigned(&e.add_splits_back(Vec::new(), 1).unwrap()).is_empty());
        let back = SplitBytes {
            id: "1".into(),
            state: rust_core::state::encode(version, &CdcSplit::Snapshot(chunk(1))).unwrap(),
        };
        assert_eq!(
            assigned(&e.add_splits_back(vec![back], 0).unwrap()),
            Vec::<(u32, Vec<String>)>::new()
        );

        // Reader 1's next attempt registers and asks.
        assert!(assigned(&e.add_reader(1).unwrap()).is_empty());
        let out = e.handle_split_request(1, None).unwrap();
        assert_eq!(
            assigned(&out),
            vec![(1, vec![CdcSplit::Snapshot(chunk(1)).split_id()])]
        );
    }
}

#[cfg(test)]
mod counts_tests {
    use super::*;
    use crate::state::split::{ChunkRange, SnapshotSplit};

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
        let c = state.counts(true);
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
        let c = state.counts(true);
        assert_eq!((c.tables_finished, c.chunks_finished), (1, 3));
        assert!(c.snapshotting);

        // Everything read, the binlog split out: finished == total, no longer snapshotting.
        state.in_flight.clear();
        state.binlog_assigned = true;
        let c = state.counts(true);
        assert_eq!(
            (c.tables_finished, c.chunks_finished, c.chunks_total),
            (2, 4, 4)
        );
        assert!(!c.snapshotting);

        // Without a snapshot (binlog-only startup modes) there is nothing to count.
        let c = EnumeratorState::default().counts(false);
        assert!(!c.snapshotting && c.tables.is_empty());
    }
}
