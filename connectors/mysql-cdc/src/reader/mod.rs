//! The reader: Flink's task thread polls it; a worker thread of its own does the database I/O.
//!
//! The worker reads one split at a time and hands results over a small bounded channel, then
//! wakes Flink through the reader's availability signal. A snapshot chunk crosses as ONE batch, so
//! a checkpoint sees a chunk either wholly emitted or not at all (then it is read again). Binlog
//! batches carry the offset after their last change, which becomes the split's state when the
//! batch is emitted: state always equals what Flink has seen.
//!
//! With `scan.binlog.spill.enabled`, binlog batches that find the channel full (Flink is not
//! polling) go to the reader's spill on local disk instead, and every later one follows them
//! there until Flink has taken them all; poll takes the channel first (its batches are older),
//! then the spill. The spill's unread batches and the offset after them are part of the binlog
//! split's state (`CdcSplit::BinlogSpilled`; binlog/spill.rs).
//!
//! Finished chunks stay in the reader's state (with their high watermarks) until the enumerator
//! acknowledges their report, so a failure between emitting and reporting loses nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use rust_core::api::{Availability, ChangeBatch, ReaderContext, ReaderPoll, RowKind, SourceReader};
use rust_core::error::BridgeError;
use rust_core::log_context::LogContext;
use rust_core::metrics::{now_ms, Metrics};
use rust_core::types::RowType;
use rust_core::Result;

use crate::binlog::shared::Cursor;
use crate::binlog::spill::{
    Frame, LostSpill, Offer, RecordMeta, SpillReader, SpillState, SpillWriter,
};
use crate::binlog::stall::StallMonitor;
use crate::binlog::table_watch::TableWatch;
use crate::binlog::{BinlogCursor, ChangeKind, RowChange};
use crate::config::MySqlCdcConfig;
use crate::conn::connect::Connector;
use crate::conn::retry::{is_transient, Outage, RetryPolicy};
use crate::metrics::{BinlogReaderMetrics, SnapshotReaderMetrics};
use crate::position::offset::BinlogOffset;
use crate::position::offset::BinlogPosition;
use crate::schema::{load_table, TableId, TableSchema};
use crate::snapshot::{ChunkReader, LowWatermark};
use crate::state::split::{
    decode_event, encode_event, BinlogSplit, CdcSplit, EnumeratorEvent, ReaderEvent, SnapshotSplit,
    TableWatermarks,
};
use crate::value::{primary_key_differs, BatchBuilder, TableMapping};

/// Results the worker hands to the task thread.
enum Output {
    Chunk {
        split: SnapshotSplit,
        batch: ChangeBatch,
    },
    /// `event_time`: the server time of the batch's newest change and when it was read (epoch ms).
    Binlog {
        batch: Option<ChangeBatch>,
        offset: BinlogOffset,
        watermarks_passed: bool,
        event_time: Option<(i64, i64)>,
    },
    /// The binlog stream stopped before a newly added table (`enumerator/newly_added.rs`): everything before
    /// `offset` was sent; the split waits there for the tables.
    Suspended {
        offset: BinlogOffset,
        tables: Vec<TableId>,
    },
    Failed(BridgeError),
}

enum Command {
    ReadChunk(SnapshotSplit),
    StreamBinlog(BinlogSplit, Option<BinlogSpill>),
    /// The enumerator asks the binlog stream to suspend for these tables.
    Suspend(Vec<TableId>),
}

/// The worker's half of the binlog spill (binlog/spill.rs), and where it starts reading: after the
/// spilled batches a restore brought back, or, if they could not be used, at the split's offset
/// (with why, for the error should that be purged).
struct BinlogSpill {
    writer: SpillWriter,
    resume: Option<BinlogOffset>,
    lost: Option<LostSpill>,
}

/// Splits the worker holds at once: the chunk it reads and the next one. With one, the worker
/// sat idle from the end of each chunk until Flink had taken it, the reader had asked for the
/// next chunk and the enumerator's answer had come back over Flink's RPC; in a job at
/// parallelism 1 the reader's thread and Flink's task thread then took turns instead of working
/// at the same time. Two keep the worker reading while Flink emits; more would only hold chunks
/// other readers could take.
const IN_FLIGHT: usize = 2;

pub struct MySqlCdcReader {
    config: Arc<MySqlCdcConfig>,
    row_type: RowType,
    server_id: u32,
    batch_rows: usize,
    /// Splits waiting for the worker, in assignment order.
    queue: VecDeque<CdcSplit>,
    /// Splits handed to the worker whose output Flink has not taken yet, oldest first: the one
    /// being read and at most one more (see [`IN_FLIGHT`]).
    in_flight: VecDeque<CdcSplit>,
    /// Chunks emitted whose report the enumerator has not acknowledged.
    unacknowledged: Vec<SnapshotSplit>,
    /// The binlog split while suspended for newly added tables (`BinlogSplit::suspended`): in
    /// the state, not streaming; the reader reads chunks meanwhile.
    suspended: Option<BinlogSplit>,
    worker: Option<Worker>,
    no_more_splits: bool,
    /// A split request is outstanding (Flink's requests carry no identity: one answer serves it).
    requested: bool,
    /// The outstanding request was made ahead, while a split was in flight. The enumerator may
    /// have set it aside (a restored reader's first response asks ahead and reports its unread
    /// chunks; the report marks the reader busy), and it hands out the binlog split only once
    /// every reader has asked while idle: a reader that runs out of splits before the answer
    /// comes asks again, as an idle one.
    requested_ahead: bool,
    /// Flink adds the splits restored from a checkpoint before it starts the reader.
    started: bool,
    /// Registered with the worker (the context holds the metrics).
    snapshot_metrics: Option<SnapshotReaderMetrics>,
    /// The binlog spill's task-thread half, once the binlog split is streamed with one.
    spill: Option<SpillReader>,
    /// The spill of the restored binlog split, until it is streamed.
    restored_spill: Option<SpillState>,
    /// The directory for the spill when 'scan.binlog.spill.dir' is unset (ReaderInit::local_dir).
    local_dir: std::path::PathBuf,
    /// Outputs taken from the worker's channel by a checkpoint and not emitted yet (see
    /// `snapshot_state`): emitted before anything else.
    front: VecDeque<Output>,
}

struct Worker {
    commands: mpsc::UnboundedSender<Command>,
    output: mpsc::Receiver<Output>,
    thread: Option<JoinHandle<()>>,
}

impl MySqlCdcReader {
    pub fn new(
        config: Arc<MySqlCdcConfig>,
        row_type: RowType,
        subtask: u32,
        batch_rows: usize,
    ) -> Result<Self> {
        let server_id = config.server_ids.id_for(subtask);
        Ok(MySqlCdcReader {
            config,
            row_type,
            server_id,
            batch_rows,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            unacknowledged: Vec::new(),
            suspended: None,
            worker: None,
            no_more_splits: false,
            requested: false,
            requested_ahead: false,
            started: false,
            snapshot_metrics: None,
            spill: None,
            restored_spill: None,
            front: VecDeque::new(),
            local_dir: std::env::temp_dir(),
        })
    }

    /// Where the spill goes unless 'scan.binlog.spill.dir' says: the TaskManager's io.tmp.dirs.
    pub fn with_local_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.local_dir = dir;
        self
    }

    fn worker(&mut self, ctx: &ReaderContext) -> Result<&mut Worker> {
        if self.worker.is_none() {
            let availability = ctx.availability();
            self.snapshot_metrics = Some(SnapshotReaderMetrics::register(ctx.metrics()));
            let (commands, command_rx) = mpsc::unbounded_channel();
            // Two results in flight: the worker reads ahead while Flink emits.
            let (output_tx, output) = mpsc::channel(2);
            let job = WorkerJob {
                config: self.config.clone(),
                connector: Connector::new(&self.config),
                builder: BatchBuilder::new(&self.row_type, &self.config.server_time_zone)?
                    .with_append_only(self.config.append_only)
                    .with_value_modes(self.config.debezium.value_modes),
                server_id: self.server_id,
                batch_rows: self.batch_rows,
                availability: availability.clone(),
                output: output_tx,
                schemas: HashMap::new(),
                mappings: HashMap::new(),
                snapshot_sees_changes: false,
                low_watermark: None,
                metrics: ctx.metrics().clone(),
                log_context: ctx.log_context().clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("rust-mysql-cdc-reader-{}", self.server_id))
                .spawn(move || job.run(command_rx))
                .map_err(|e| BridgeError::external("starting the reader thread", e))?;
            self.worker = Some(Worker {
                commands,
                output,
                thread: Some(thread),
            });
        }
        Ok(self.worker.as_mut().expect("worker just created"))
    }

    /// Keeps the worker [`IN_FLIGHT`] splits deep, and asks for the next split as soon as there
    /// is room for it (nothing is queued behind a binlog split: it streams until the job ends).
    fn dispatch(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        let streaming =
            |in_flight: &VecDeque<CdcSplit>| matches!(in_flight.back(), Some(CdcSplit::Binlog(_)));
        while self.in_flight.len() < IN_FLIGHT && !streaming(&self.in_flight) {
            let Some(split) = self.queue.pop_front() else {
                break;
            };
            let command = match &split {
                CdcSplit::Snapshot(s) => Command::ReadChunk(s.clone()),
                CdcSplit::Binlog(b) | CdcSplit::BinlogSpilled(b, _) => {
                    Command::StreamBinlog(b.clone(), self.open_spill(ctx))
                }
            };
            self.worker(ctx)?
                .commands
                .send(command)
                .map_err(|_| BridgeError::other("the reader's worker thread has stopped"))?;
            self.in_flight.push_back(split);
        }
        if self.queue.is_empty()
            && self.in_flight.len() < IN_FLIGHT
            && !streaming(&self.in_flight)
            && !self.no_more_splits
        {
            if !self.requested {
                // Asked while a chunk is still being read: the next one arrives while this one
                // is emitted (an ahead request does not count as idle for the rate limits).
                if self.in_flight.is_empty() {
                    ctx.request_split();
                } else {
                    ctx.request_split_ahead();
                    self.requested_ahead = true;
                }
                self.requested = true;
            } else if self.in_flight.is_empty() && self.requested_ahead {
                // Ran out before the answer came: ask again, idle now (see `requested_ahead`).
                ctx.request_split();
                self.requested_ahead = false;
            } else if self.in_flight.is_empty() {
                ctx.awaiting_requested_split();
            }
        }
        Ok(())
    }

    /// The spill of the binlog split: when enabled, or when the restored split has one (its
    /// batches are emitted before the binlog is read again, with the option off too).
    fn open_spill(&mut self, ctx: &ReaderContext) -> Option<BinlogSpill> {
        let restored = self.restored_spill.take();
        let mut config = match (&self.config.spill, &restored) {
            (Some(c), _) => c.clone(),
            (None, Some(_)) => crate::binlog::spill::SpillConfig::default(),
            (None, None) => return None,
        };
        config.dir.get_or_insert_with(|| self.local_dir.clone());
        let (reader, writer, resume, lost) = crate::binlog::spill::open(
            &config,
            ctx.metrics(),
            &self.server_id.to_string(),
            restored,
        );
        if let Some(mut previous) = self.spill.replace(reader) {
            // The split streams again after a suspension for new tables (which waited for Flink to
            // take every spilled batch): only segments a checkpoint may still need are kept.
            previous.close();
        }
        Some(BinlogSpill {
            writer,
            resume,
            lost,
        })
    }

    /// The next output: one a checkpoint took from the channel, the channel's (older than any
    /// spilled batch), then the spill's.
    fn next_output(&mut self) -> Result<Option<Output>> {
        if let Some(o) = self.front.pop_front() {
            return Ok(Some(o));
        }
        let Some(worker) = self.worker.as_mut() else {
            return Ok(None);
        };
        match worker.output.try_recv() {
            Ok(o) => return Ok(Some(o)),
            Err(mpsc::error::TryRecvError::Empty) => {}
            Err(mpsc::error::TryRecvError::Disconnected) => {
                if self.spill.as_ref().is_none_or(|s| s.pending() == 0) {
                    return Err(BridgeError::other(
                        "the reader's worker thread stopped unexpectedly",
                    ));
                }
            }
        }
        let Some(spill) = self.spill.as_mut() else {
            return Ok(None);
        };
        Ok(spill.take_next()?.map(|s| Output::Binlog {
            batch: s.batch,
            offset: s.meta.offset,
            watermarks_passed: s.meta.watermarks_passed,
            event_time: s.meta.event_time,
        }))
    }

    /// Tells the enumerator the binlog split is suspended for new tables (again after a restore).
    fn report_suspended(ctx: &mut ReaderContext, split: &BinlogSplit) -> Result<()> {
        let event = ReaderEvent::NewTables {
            tables: split.suspended.clone(),
            offset: split.offset.clone(),
        };
        ctx.send_event_to_enumerator(encode_event(&event)?);
        Ok(())
    }

    fn report(&self, ctx: &mut ReaderContext, splits: &[SnapshotSplit]) -> Result<()> {
        let finished: Vec<SnapshotSplit> = splits
            .iter()
            .filter(|s| s.high_watermark.is_some())
            .cloned()
            .collect();
        if !finished.is_empty() {
            ctx.send_event_to_enumerator(encode_event(&ReaderEvent::ChunksFinished(finished))?);
        }
        Ok(())
    }
}

impl SourceReader for MySqlCdcReader {
    type Split = CdcSplit;

    fn start(&mut self, _ctx: &mut ReaderContext) -> Result<()> {
        self.started = true;
        // Flink adds restored splits before the reader registers, and a request they prompted
        // reaches the enumerator before the registration, which drops it (a request of an
        // earlier attempt must not count as idle): the first poll asks again.
        self.requested = false;
        self.requested_ahead = false;
        Ok(())
    }

    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        loop {
            self.dispatch(ctx)?;
            let Some(output) = self.next_output()? else {
                return Ok(self.idle());
            };
            match output {
                Output::Failed(e) => return Err(e),
                Output::Suspended { offset, tables } => {
                    let Some(CdcSplit::Binlog(mut split)) = self.in_flight.pop_front() else {
                        return Err(BridgeError::other(
                            "the binlog stream suspended without a binlog split in flight",
                        ));
                    };
                    split.offset = offset;
                    for t in tables {
                        if !split.suspended.contains(&t) && !split.tables.contains(&t) {
                            split.suspended.push(t);
                        }
                    }
                    // A table created again under an ignored name is new again.
                    let suspended = split.suspended.clone();
                    split.ignored.retain(|t| !suspended.contains(t));
                    if split.suspended.is_empty() {
                        self.queue.push_front(CdcSplit::Binlog(split));
                    } else {
                        tracing::info!(tables = ?split.suspended, offset = %split.offset, "binlog reader suspended until newly added tables are snapshotted");
                        Self::report_suspended(ctx, &split)?;
                        self.suspended = Some(split);
                    }
                    self.dispatch(ctx)?;
                }
                Output::Chunk { split, batch } => {
                    // The worker answers its commands in order: this is the oldest in flight.
                    let done = self.in_flight.pop_front();
                    debug_assert!(matches!(&done, Some(CdcSplit::Snapshot(s)) if s.id == split.id));
                    if let Some(m) = &self.snapshot_metrics {
                        m.records.inc(batch.num_rows() as u64);
                    }
                    self.report(ctx, std::slice::from_ref(&split))?;
                    self.unacknowledged.push(split);
                    self.dispatch(ctx)?;
                    if batch.num_rows() > 0 {
                        return Ok(ReaderPoll::Batch(batch));
                    }
                }
                Output::Binlog {
                    batch,
                    offset,
                    watermarks_passed,
                    event_time,
                } => {
                    if let Some(CdcSplit::Binlog(split)) = self.in_flight.front_mut() {
                        split.offset = offset;
                        if watermarks_passed {
                            // Past every chunk's watermark: the split needs them no more.
                            split.watermarks.clear();
                            split.max_high_watermark = None;
                        }
                    }
                    if let Some(batch) = batch {
                        if let Some((event_ms, fetched_ms)) = event_time {
                            ctx.record_event_time(event_ms, fetched_ms);
                        }
                        return Ok(ReaderPoll::Batch(batch));
                    }
                }
            }
        }
    }

    fn add_splits(&mut self, splits: Vec<CdcSplit>, ctx: &mut ReaderContext) -> Result<()> {
        self.requested = false;
        self.requested_ahead = false;
        let mut restored_unfinished = Vec::new();
        for split in splits {
            match split {
                // A chunk restored as finished: report it again and keep it until acknowledged.
                CdcSplit::Snapshot(s) if s.high_watermark.is_some() => {
                    self.report(ctx, std::slice::from_ref(&s))?;
                    self.unacknowledged.push(s);
                }
                CdcSplit::BinlogSpilled(b, spill) => {
                    self.restored_spill = Some(spill);
                    self.queue.push_back(CdcSplit::Binlog(b));
                }
                // Suspended for new tables (restored, or handed back and out again): the
                // enumerator hears of it again and answers when their snapshot is read.
                CdcSplit::Binlog(b) if !b.suspended.is_empty() => {
                    Self::report_suspended(ctx, &b)?;
                    self.suspended = Some(b);
                }
                other => {
                    if let (false, CdcSplit::Snapshot(s)) = (self.started, &other) {
                        restored_unfinished.push(s.clone());
                    }
                    self.queue.push_back(other)
                }
            }
        }
        // After a failover that restarted this reader but not the enumerator (Flink's region
        // failover resets subtasks, not the coordinator), the enumerator may hold a report of one
        // of these chunks from the attempt that failed: rows emitted after the checkpoint, now
        // discarded. This reader reads the chunk again at a later high watermark; the enumerator
        // must wait for that report, or the binlog phase replays changes the re-read chunk has.
        if !restored_unfinished.is_empty() {
            ctx.send_event_to_enumerator(encode_event(&ReaderEvent::ChunksRestored(
                restored_unfinished,
            ))?);
        }
        self.dispatch(ctx)
    }

    fn notify_no_more_splits(&mut self, _ctx: &mut ReaderContext) -> Result<()> {
        self.no_more_splits = true;
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<CdcSplit>> {
        let spill = self.snapshot_spill(checkpoint_id)?;
        let mut state: Vec<CdcSplit> = self
            .unacknowledged
            .iter()
            .cloned()
            .map(CdcSplit::Snapshot)
            .collect();
        state.extend(self.suspended.iter().cloned().map(CdcSplit::Binlog));
        state.extend(
            self.in_flight
                .iter()
                .cloned()
                .map(|split| match (split, &spill) {
                    (CdcSplit::Binlog(b), Some(spill)) => CdcSplit::BinlogSpilled(b, spill.clone()),
                    (other, _) => other,
                }),
        );
        state.extend(self.queue.iter().cloned());
        if let (Some(spill), None) = (self.restored_spill.clone(), self.spill.as_ref()) {
            // Restored and not streamed yet: the checkpoint keeps it as it came.
            for split in state.iter_mut() {
                if let CdcSplit::Binlog(b) = split {
                    *split = CdcSplit::BinlogSpilled(b.clone(), spill);
                    break;
                }
            }
        }
        Ok(state)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        if let Some(spill) = self.spill.as_mut() {
            spill.checkpoint_complete(checkpoint_id);
        }
        Ok(())
    }

    fn handle_source_event(&mut self, event: &[u8], ctx: &mut ReaderContext) -> Result<()> {
        match decode_event::<EnumeratorEvent>(event)? {
            EnumeratorEvent::ChunksAcknowledged(ids) => {
                self.unacknowledged.retain(|s| !ids.contains(&s.id));
            }
            EnumeratorEvent::Suspend(tables) => self.suspend(tables, ctx)?,
            EnumeratorEvent::AddTables {
                tables,
                max_high_watermark,
                dropped,
            } => self.add_tables(tables, max_high_watermark, dropped, ctx)?,
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut worker) = self.worker.take() {
            // Closing both channels ends the worker: its command loop sees the sender gone and a
            // blocked send sees the receiver gone.
            drop(worker.commands);
            worker.output.close();
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
        if let Some(spill) = self.spill.as_mut() {
            spill.close();
        }
        Ok(())
    }
}

impl MySqlCdcReader {
    /// The spill's part of a checkpoint. While batches are spilled, the ones still in the
    /// worker's channel are older than all of them and not on disk: they move to the front of the
    /// spill first, so that the checkpoint names every batch between what Flink has seen and
    /// where the binlog resumes.
    fn snapshot_spill(&mut self, checkpoint_id: u64) -> Result<Option<SpillState>> {
        let Some(spill) = self.spill.as_mut() else {
            return Ok(None);
        };
        if spill.pending() > 0 {
            if let Some(worker) = self.worker.as_mut() {
                while let Ok(o) = worker.output.try_recv() {
                    self.front.push_back(o);
                }
            }
            if !self.front.is_empty() {
                if !self
                    .front
                    .iter()
                    .all(|o| matches!(o, Output::Binlog { .. }))
                {
                    // Not expected while streaming (a failure is on its way): no spill in this
                    // checkpoint, whose restore reads the binlog from what Flink has seen.
                    spill.snapshot(checkpoint_id);
                    return Ok(None);
                }
                let mut frames = Vec::with_capacity(self.front.len());
                for o in &self.front {
                    if let Output::Binlog {
                        batch,
                        offset,
                        watermarks_passed,
                        event_time,
                    } = o
                    {
                        let meta = RecordMeta {
                            offset: offset.clone(),
                            watermarks_passed: *watermarks_passed,
                            event_time: *event_time,
                        };
                        frames.push(Frame::encode(&meta, batch.as_ref())?);
                    }
                }
                spill.insert_head(&frames)?;
                self.front.clear();
            }
        }
        Ok(spill.snapshot(checkpoint_id))
    }

    /// `EnumeratorEvent::Suspend`: only the reader with the binlog split acts, and only for tables
    /// its split does not capture (a late request is void).
    fn suspend(&mut self, tables: Vec<TableId>, ctx: &mut ReaderContext) -> Result<()> {
        if let Some(split) = &mut self.suspended {
            let new: Vec<TableId> = tables
                .into_iter()
                .filter(|t| !split.tables.contains(t) && !split.suspended.contains(t))
                .collect();
            if !new.is_empty() {
                split.suspended.extend(new);
                let split = split.clone();
                Self::report_suspended(ctx, &split)?;
            }
            return Ok(());
        }
        let streaming = self
            .in_flight
            .iter()
            .chain(self.queue.iter())
            .find_map(|s| match s {
                CdcSplit::Binlog(b) => Some(b),
                _ => None,
            });
        let Some(split) = streaming else {
            return Ok(());
        };
        let new: Vec<TableId> = tables
            .into_iter()
            .filter(|t| !split.tables.contains(t))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if let Some(i) = self
            .queue
            .iter()
            .position(|s| matches!(s, CdcSplit::Binlog(_)))
        {
            // Not handed to the worker yet: suspended where it is.
            let Some(CdcSplit::Binlog(mut split)) = self.queue.remove(i) else {
                unreachable!("matched above")
            };
            split.suspended = new;
            Self::report_suspended(ctx, &split)?;
            self.suspended = Some(split);
            return self.dispatch(ctx);
        }
        // The worker stops after the changes it read so far and answers with Output::Suspended.
        self.worker(ctx)?
            .commands
            .send(Command::Suspend(new))
            .map_err(|_| BridgeError::other("the reader's worker thread has stopped"))
    }

    /// `EnumeratorEvent::AddTables`: the suspended split takes the new tables with their
    /// watermarks and resumes at its offset (see `enumerator/newly_added.rs` for why that is exact).
    fn add_tables(
        &mut self,
        tables: Vec<TableWatermarks>,
        max_high_watermark: Option<BinlogPosition>,
        dropped: Vec<TableId>,
        ctx: &mut ReaderContext,
    ) -> Result<()> {
        let names: Vec<TableId> = tables
            .iter()
            .map(|t| t.table.clone())
            .chain(dropped.iter().cloned())
            .collect();
        let Some(mut split) = self.suspended.take() else {
            // Not suspended: an answer this reader has merged already (acknowledge it again), or
            // one for a suspension its restored state does not have (it reports the tables again
            // when it meets them).
            let holds = self
                .in_flight
                .iter()
                .chain(self.queue.iter())
                .any(|s| match s {
                    CdcSplit::Binlog(b) => {
                        tables.iter().all(|t| b.tables.contains(&t.table))
                            && dropped.iter().all(|t| b.ignored.contains(t))
                    }
                    _ => false,
                });
            if holds {
                ctx.send_event_to_enumerator(encode_event(&ReaderEvent::TablesAdded(names))?);
            }
            return Ok(());
        };
        for watermarks in tables {
            if !split.tables.contains(&watermarks.table) {
                split.tables.push(watermarks.table.clone());
                split.watermarks.retain(|w| w.table != watermarks.table);
                split.watermarks.push(watermarks);
            }
        }
        if max_high_watermark > split.max_high_watermark {
            split.max_high_watermark = max_high_watermark;
        }
        for t in dropped {
            if !split.ignored.contains(&t) {
                split.ignored.push(t);
            }
        }
        split.suspended.retain(|t| !names.contains(t));
        ctx.send_event_to_enumerator(encode_event(&ReaderEvent::TablesAdded(names))?);
        if split.suspended.is_empty() {
            tracing::info!(offset = %split.offset, tables = split.tables.len(), "binlog reader resumes with the newly added tables");
            self.queue.push_front(CdcSplit::Binlog(split));
        } else {
            Self::report_suspended(ctx, &split)?;
            self.suspended = Some(split);
        }
        self.dispatch(ctx)
    }

    fn idle(&self) -> ReaderPoll {
        if self.no_more_splits && self.in_flight.is_empty() && self.queue.is_empty() {
            ReaderPoll::EndOfInput
        } else {
            ReaderPoll::NothingAvailable { retry_after: None }
        }
    }
}

impl Drop for MySqlCdcReader {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The worker thread's state: connections, table schemas and the batch builder.
struct WorkerJob {
    config: Arc<MySqlCdcConfig>,
    connector: Connector,
    builder: BatchBuilder,
    server_id: u32,
    batch_rows: usize,
    availability: Availability,
    output: mpsc::Sender<Output>,
    schemas: HashMap<TableId, Arc<TableSchema>>,
    mappings: HashMap<TableId, Arc<TableMapping>>,
    /// The last chunk read saw binlog changes between its watermarks: read the next one keeping
    /// its rows (for the replay) rather than straight into the batch.
    snapshot_sees_changes: bool,
    /// How chunks take their low watermark, asked of the server at the first chunk.
    low_watermark: Option<LowWatermark>,
    /// The reader's metrics: the binlog reader registers its own from this thread.
    metrics: Metrics,
    /// The reader's log context (connector, subtask), entered for the thread's whole life.
    log_context: LogContext,
}

impl WorkerJob {
    fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let log_context = self.log_context.clone();
        let _context = log_context.enter();
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = self.output.try_send(Output::Failed(BridgeError::external(
                    "starting the reader runtime",
                    e,
                )));
                self.availability.notify();
                return;
            }
        };
        runtime.block_on(async move {
            let mut conn: Option<mysql_async::Conn> = None;
            loop {
                // `scan.incremental.close-idle-reader.enabled`: with no chunk waiting, the query
                // connection is closed (the next chunk, of a newly added table, opens one).
                if conn.is_some() && self.config.close_idle_reader && commands.is_empty() {
                    if let Some(c) = conn.take() {
                        let _ = c.disconnect().await;
                        tracing::debug!("no chunk to read: the snapshot connection is closed");
                    }
                }
                let Some(command) = commands.recv().await else {
                    break;
                };
                let result = match command {
                    Command::ReadChunk(split) => {
                        // Events while reading a chunk name its table and id (this thread only
                        // polls this future, so the thread's context is the chunk's).
                        let chunk = self
                            .log_context
                            .with(&[("table", &split.table), ("chunk", &split.id)]);
                        let _chunk = chunk.enter();
                        self.read_chunk(&mut conn, split).await
                    }
                    Command::StreamBinlog(split, spill) => {
                        self.stream_binlog(&mut commands, split, spill).await
                    }
                    // The stream it was meant for suspended already.
                    Command::Suspend(_) => Ok(()),
                };
                if let Err(e) = result {
                    let _ = self.output.send(Output::Failed(e)).await;
                    self.availability.notify();
                    return;
                }
            }
            if let Some(c) = conn {
                let _ = c.disconnect().await;
            }
        });
    }

    async fn send(&self, output: Output) -> Result<()> {
        self.output
            .send(output)
            .await
            .map_err(|_| BridgeError::other("reader closed"))?;
        self.availability.notify();
        Ok(())
    }

    async fn schema(
        &mut self,
        conn: &mut mysql_async::Conn,
        table: &TableId,
    ) -> Result<(Arc<TableSchema>, Arc<TableMapping>)> {
        if !self.schemas.contains_key(table) {
            let schema = load_table(conn, table).await?.ok_or_else(|| {
                BridgeError::validation(format!("table {table} no longer exists"))
            })?;
            // Declared columns this table lacks read NULL (checked at submission: another
            // matched table has them).
            let (schema, mapping) = self.builder.binlog_mapping(&schema)?;
            self.schemas.insert(table.clone(), Arc::new(schema));
            self.mappings.insert(table.clone(), Arc::new(mapping));
        }
        Ok((self.schemas[table].clone(), self.mappings[table].clone()))
    }

    /// Reads a chunk; when the connection breaks (`retry::is_transient`), reads it again from a
    /// new low watermark on a new connection, with backoff, within the `connect.*` bounds.
    async fn read_chunk(
        &mut self,
        conn: &mut Option<mysql_async::Conn>,
        split: SnapshotSplit,
    ) -> Result<()> {
        let mut outage: Option<Outage> = None;
        // The reader's close() waits for this thread: an outage must not hold it up.
        let closing = self.output.clone();
        loop {
            let attempt = tokio::select! {
                result = self.read_chunk_once(conn, split.clone()) => result,
                _ = closing.closed() => return Err(BridgeError::other("reader closed")),
            };
            match attempt {
                Err(e) if is_transient(&e) => {
                    // Rows of the broken attempt must not reach the next chunk's batch.
                    let _ = self.builder.finish();
                    *conn = None;
                    let outage =
                        outage.get_or_insert_with(|| Outage::new(RetryPolicy::new(&self.config)));
                    let Some(delay) = outage.failed(&e) else {
                        let what = format!("reading chunk {} of {}", split.id, split.table);
                        return Err(outage.give_up(&what, self.connector.address()));
                    };
                    tracing::warn!(
                        address = %self.connector.address(), table = %split.table, chunk = split.id,
                        failures = outage.failures(), retry_in = ?delay,
                        "connection lost while reading a chunk, reading it again: {e}"
                    );
                    // Backoff on the worker's runtime, not Flink's task thread.
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = closing.closed() => return Err(BridgeError::other("reader closed")),
                    }
                }
                other => return other,
            }
        }
    }

    async fn read_chunk_once(
        &mut self,
        conn: &mut Option<mysql_async::Conn>,
        mut split: SnapshotSplit,
    ) -> Result<()> {
        if conn.is_none() {
            *conn = Some(self.connector.connect_once().await?);
        }
        let c = conn.as_mut().expect("connected above");
        let (schema, mapping) = self.schema(c, &split.table).await?;
        let low_watermark = match self.low_watermark {
            Some(method) => method,
            None => {
                let method = LowWatermark::detect(c).await?;
                if method == LowWatermark::MasterStatus {
                    tracing::info!(
                        "the server reports no Binlog_snapshot_position (MySQL): chunk low watermarks come from SHOW \
                         MASTER STATUS, which leaves a short window in which a chunk can miss a transaction that is \
                         committing as the chunk is read (see the connector documentation)"
                    );
                }
                *self.low_watermark.insert(method)
            }
        };
        // Every attempt (a retry after a lost connection too) takes a fresh low watermark this way.
        let reader = ChunkReader {
            connector: &self.connector,
            server_id: self.server_id,
            heartbeat: self.config.heartbeat_interval,
            low_watermark,
            skip_backfill: self.config.skip_backfill,
            compact_json: self.config.legacy_json,
        };
        // Straight into the batch while chunks see no concurrent changes (no rows kept); after a
        // chunk whose binlog moved, keep rows for the replay until one is quiet again.
        let mut high_watermark = None;
        if !self.snapshot_sees_changes {
            high_watermark = reader
                .read_into(c, &schema, &split, &mut self.builder, &mapping)
                .await?;
            self.snapshot_sees_changes = high_watermark.is_none();
            if let Some(hw) = &high_watermark {
                tracing::debug!(rows = self.builder.len(), high_watermark = %hw, "chunk read");
            }
        }
        let high_watermark = match high_watermark {
            Some(hw) => hw,
            None => {
                let chunk = reader.read(c, &schema, &split).await?;
                tracing::debug!(
                    rows = chunk.rows.len(),
                    replayed = chunk.replayed,
                    "chunk read"
                );
                self.snapshot_sees_changes = chunk.moved;
                for row in &chunk.rows {
                    self.builder.append(&mapping, row, RowKind::Insert, 0)?;
                }
                chunk.high_watermark
            }
        };
        let batch = self.builder.finish()?;
        split.high_watermark = Some(high_watermark);
        self.send(Output::Chunk { split, batch }).await
    }

    /// The captured tables' schemas and mappings, and a cursor at the split's offset.
    async fn open_binlog(
        &mut self,
        split: &BinlogSplit,
    ) -> Result<(Arc<Vec<TableSchema>>, Vec<Arc<TableMapping>>, Cursor)> {
        let mut conn = crate::conn::retry::connect(&self.connector).await?;
        let mut tables = Vec::with_capacity(split.tables.len());
        let mut mappings = Vec::with_capacity(split.tables.len());
        for id in &split.tables {
            // The schema the snapshot read (or the table's now, after a restore). A declared
            // column the table no longer has is kept as absent: it reads NULL, or its values from
            // older events that name it (binlog_row_metadata=FULL; binlog/evolution.rs).
            let schema = match self.schemas.get(id) {
                Some(schema) => schema.clone(),
                None => Arc::new(load_table(&mut conn, id).await?.ok_or_else(|| {
                    BridgeError::validation(format!("table {id} no longer exists"))
                })?),
            };
            let (schema, mapping) = self.builder.binlog_mapping(&schema)?;
            tables.push(schema);
            mappings.push(Arc::new(mapping));
        }
        let _ = conn.disconnect().await;
        let tables = Arc::new(tables);
        // On the server's shared connection, or one of its own (binlog/shared.rs).
        let mut cursor = Cursor::open(
            &self.connector,
            &self.config,
            self.server_id,
            &split.offset,
            tables.clone(),
            &self.metrics,
        )
        .await?;
        cursor.set_mappings(Arc::new(mappings.clone()));
        cursor.set_schema_changes(self.builder.emits_schema_changes());
        cursor.set_watch(Arc::new(TableWatch::new(
            &self.config,
            split.ignored.clone(),
        )));
        cursor.set_compact_json(self.config.legacy_json);
        if let Some(skip) = crate::binlog::StartSkip::of(&self.config, &split.offset) {
            cursor.set_start_skip(skip);
        }
        Ok((tables, mappings, cursor))
    }

    /// Hands a binlog output to Flink: through the channel, or, with a spill, to disk when the
    /// channel is full (Flink is not polling) or earlier outputs are on disk still (order). At the
    /// spill's bound it waits for Flink, through the channel once nothing is spilled.
    async fn send_binlog(&self, spill: &mut Option<BinlogSpill>, output: Output) -> Result<()> {
        let Some(spill) = spill.as_mut() else {
            return self.send(output).await;
        };
        let mut output = output;
        let mut frame: Option<Frame> = None;
        loop {
            let spilling = spill.writer.spilling();
            if !spilling {
                match self.output.try_send(output) {
                    Ok(()) => {
                        self.availability.notify();
                        return Ok(());
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        return Err(BridgeError::other("reader closed"))
                    }
                    Err(mpsc::error::TrySendError::Full(o)) => output = o,
                }
            }
            if frame.is_none() {
                let Output::Binlog {
                    batch,
                    offset,
                    watermarks_passed,
                    event_time,
                } = &output
                else {
                    return self.send(output).await;
                };
                let meta = RecordMeta {
                    offset: offset.clone(),
                    watermarks_passed: *watermarks_passed,
                    event_time: *event_time,
                };
                frame = Some(Frame::encode(&meta, batch.as_ref())?);
            }
            match spill.writer.offer(frame.as_ref().expect("encoded above"))? {
                Offer::Appended => {
                    self.availability.notify();
                    return Ok(());
                }
                Offer::Full if !spilling => return self.send(output).await,
                Offer::Full => {
                    // Until Flink takes a spilled batch or a checkpoint frees segments.
                    tokio::select! {
                        _ = spill.writer.space_freed() => {}
                        _ = self.output.closed() => return Err(BridgeError::other("reader closed")),
                    }
                }
            }
        }
    }

    async fn stream_binlog(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        mut split: BinlogSplit,
        mut spill: Option<BinlogSpill>,
    ) -> Result<()> {
        // After spilled batches a restore brought back, the binlog resumes where they end.
        if let Some(resume) = spill.as_ref().and_then(|s| s.resume.clone()) {
            split.offset = resume;
        }
        let lost = spill.as_ref().and_then(|s| s.lost.clone());
        // The reader's close() waits for this thread: an outage while opening must not hold it up.
        let closing = self.output.clone();
        let (cursor_tables, mappings, mut cursor) = tokio::select! {
            opened = self.open_binlog(&split) => match (opened, lost) {
                (Ok(opened), _) => opened,
                (Err(e), Some(lost)) => return Err(lost.explain(&split.offset, &e)),
                (Err(e), None) => return Err(e),
            },
            _ = closing.closed() => return Ok(()),
        };
        drop(closing);
        // Watermarks per captured table index.
        let watermarks: Vec<Option<(usize, &crate::state::split::TableWatermarks)>> = cursor_tables
            .iter()
            .map(|t| {
                split
                    .watermarks
                    .iter()
                    .find(|w| w.table == t.id)
                    .map(|w| (t.column_index(&w.chunk_key).unwrap_or(0), w))
            })
            .collect();
        let mut max_hw = split.max_high_watermark.clone();
        let mut skip_before = split.skip_before_ms;
        // 'debezium.skipped.operations': binlog changes not emitted (the snapshot reads every row).
        let skipped = self.config.debezium.skipped;
        tracing::info!(offset = %split.offset, server_id = self.server_id, "binlog reading started");
        let metrics = BinlogReaderMetrics::register(&self.metrics);
        publish_position(&metrics, cursor.current());
        // Says when the binlog reads nothing while the server writes (binlog/stall.rs).
        let mut stall = StallMonitor::start(
            self.config.stall_timeout,
            &self.metrics,
            self.connector.clone(),
            cursor.position(),
            cursor.hold_probe(),
        );
        let mut changes: Vec<RowChange> = Vec::new();
        let mut last_sent = split.offset.clone();
        // Server time of the newest change in the batch being built.
        let mut batch_event_ms: Option<i64> = None;
        loop {
            // Newly added tables to suspend for (enumerator/newly_added.rs): met by the cursor, which then
            // reads nothing more, or asked for by the enumerator.
            let mut suspend_for: Vec<TableId> = Vec::new();
            stall.waiting_at(cursor.position());
            tokio::select! {
                command = commands.recv() => match command {
                    None => break,
                    Some(Command::Suspend(tables)) => suspend_for = tables,
                    Some(_) => return Err(BridgeError::other("a split was assigned to a reader that holds the binlog split")),
                },
                read = cursor.next(&mut changes) => read?,
                e = stall.failed() => return Err(e),
            }
            stall.busy();
            // Take what is already buffered, up to a batch.
            while changes.len() < self.batch_rows && cursor.try_next(&mut changes)? {}
            suspend_for.extend(cursor.take_found());
            metrics.update_lag(cursor.current().last_event_ms());
            for change in changes.drain(..) {
                batch_event_ms = batch_event_ms.max(Some(change.timestamp_ms));
                if let Some(t) = skip_before {
                    if change.timestamp_ms < t {
                        continue;
                    }
                    skip_before = None;
                }
                let mapping = change.mapping.as_deref().unwrap_or(&mappings[change.table]);
                let watermark = watermarks[change.table];
                if let (Some(why), Some(_), Some(_)) = (&change.key_change, &max_hw, watermark) {
                    // Changes are routed to snapshot chunks by key until the last watermark.
                    return Err(BridgeError::validation(format!(
                        "{why} before the binlog reader passed the snapshot's chunk watermarks: changes can no \
                         longer be matched to the chunks they belong to. Restart the job without its state (a new \
                         snapshot) once the table's key is settled"
                    )));
                }
                let emit = |image: &Option<Vec<crate::value::Value>>| -> bool {
                    let (Some(max), Some((key, wm)), Some(row)) = (&max_hw, watermark, image)
                    else {
                        return true;
                    };
                    if change.txn_start >= *max {
                        return true;
                    }
                    let column = &cursor_tables[change.table].columns[key];
                    wm.watermark_of(column, &row[key])
                        .is_none_or(|hw| change.txn_start >= *hw)
                };
                let skip = match change.kind {
                    ChangeKind::Insert => skipped.inserts,
                    ChangeKind::Update => skipped.updates,
                    ChangeKind::Delete => skipped.deletes,
                    ChangeKind::SchemaChange => false,
                };
                if skip {
                    continue;
                }
                // op_ts and the binlog coordinates metadata; the images' change_seq differ.
                let (ts, at) = (change.timestamp_ms, &change.at);
                match change.kind {
                    ChangeKind::Insert => {
                        if emit(&change.after) {
                            if let Some(row) = &change.after {
                                self.builder.append_change(
                                    mapping,
                                    row,
                                    RowKind::Insert,
                                    ts,
                                    at,
                                    at.after_seq(),
                                )?;
                            }
                        }
                    }
                    ChangeKind::Update => {
                        // Flink's contract: a -U/+U pair carries one key, and the planner drops
                        // -U for upsert sinks (JDBC, upsert-kafka, Paimon), which would then never
                        // delete the old key. An update of the MySQL primary key is therefore
                        // -D(before) and +I(after), as Flink CDC (Debezium) emits it. Both rows come
                        // from one binlog row change, so they land in one batch with one offset
                        // (the offset counts row changes, not rows): a restore never splits them.
                        let key_changed = match (&change.before, &change.after) {
                            (Some(b), Some(a)) => {
                                primary_key_differs(&cursor_tables[change.table], b, a)
                            }
                            _ => false,
                        };
                        let (before_kind, after_kind) = if key_changed {
                            (RowKind::Delete, RowKind::Insert)
                        } else {
                            (RowKind::UpdateBefore, RowKind::UpdateAfter)
                        };
                        // Each image is filtered by the watermark of the chunk its key is in: with a
                        // key change they can be in different chunks, one read before the change
                        // and one after.
                        let (before, after) = (emit(&change.before), emit(&change.after));
                        if let (true, Some(row)) = (before, &change.before) {
                            self.builder.append_change(
                                mapping,
                                row,
                                before_kind,
                                ts,
                                at,
                                at.before_seq(),
                            )?;
                        }
                        if let (true, Some(row)) = (after, &change.after) {
                            self.builder.append_change(
                                mapping,
                                row,
                                after_kind,
                                ts,
                                at,
                                at.after_seq(),
                            )?;
                        }
                    }
                    ChangeKind::SchemaChange => {
                        if let Some(json) = &change.schema_change {
                            let table = &cursor_tables[change.table].id;
                            self.builder.append_schema_change(table, json, ts, at)?;
                        }
                    }
                    ChangeKind::Delete => {
                        if emit(&change.before) {
                            if let Some(row) = &change.before {
                                self.builder.append_change(
                                    mapping,
                                    row,
                                    RowKind::Delete,
                                    ts,
                                    at,
                                    at.before_seq(),
                                )?;
                            }
                        }
                    }
                }
            }
            let offset = cursor.offset();
            let passed = max_hw
                .as_ref()
                .is_some_and(|m| cursor.at_boundary() && cursor.position() >= *m);
            if passed {
                max_hw = None;
            }
            let full = self.builder.len() >= self.batch_rows;
            let idle = cursor.at_boundary();
            let suspend = !suspend_for.is_empty();
            if full || ((idle || suspend) && !self.builder.is_empty()) {
                let batch = self.builder.finish()?;
                last_sent = offset.clone();
                publish_position(&metrics, cursor.current());
                let event_time = batch_event_ms.take().map(|ms| (ms, now_ms()));
                self.send_binlog(
                    &mut spill,
                    Output::Binlog {
                        batch: Some(batch),
                        offset,
                        watermarks_passed: passed,
                        event_time,
                    },
                )
                .await?;
            } else if (idle && offset != last_sent) || passed || suspend {
                // Progress without rows (other tables, heartbeats): move the checkpointed offset.
                last_sent = offset.clone();
                publish_position(&metrics, cursor.current());
                self.send_binlog(
                    &mut spill,
                    Output::Binlog {
                        batch: None,
                        offset,
                        watermarks_passed: passed,
                        event_time: None,
                    },
                )
                .await?;
            }
            if suspend {
                // Everything before the new table's event was sent with this offset; nothing at
                // or after it was read into a batch. The split resumes here once the table is in.
                let offset = cursor.offset();
                cursor.close().await;
                if let Some(spill) = spill.as_mut() {
                    // Spilled batches come before the suspension: Flink takes them all first, as
                    // the suspended split's offset must be what Flink has seen.
                    while spill.writer.spilling() {
                        tokio::select! {
                            _ = spill.writer.space_freed() => {}
                            _ = self.output.closed() => return Err(BridgeError::other("reader closed")),
                        }
                    }
                }
                return self
                    .send(Output::Suspended {
                        offset,
                        tables: suspend_for,
                    })
                    .await;
            }
        }
        cursor.close().await;
        Ok(())
    }
}

/// Publishes the cursor's position and GTID to the binlog reader's gauges (metrics.rs takes
/// values, not the cursor).
fn publish_position(metrics: &BinlogReaderMetrics, cursor: &BinlogCursor) {
    metrics.update_position(&cursor.position(), cursor.gtid());
}
