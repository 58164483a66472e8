//! The source API connectors implement: Flink's FLIP-27 roles (Source, SplitEnumerator,
//! SourceReader) in Rust. Connectors see only these traits and typed values; serialization,
//! row encoding and the JNI surface are rust-core's business.
//!
//! Threading: an enumerator lives in the JobManager and is driven by one thread (Flink's
//! coordinator thread); a reader lives in a TaskManager and is driven by its task thread. Work a
//! connector does in the background reports new data through [`Availability::notify`]; native
//! threads never call into the JVM.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Result;
use crate::metrics::Metrics;
use crate::options::{OptionSpec, Options};
use crate::types::RowType;

/// Whether a source ends (Flink's `Boundedness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundedness {
    /// Ends: every reader returns [`ReaderPoll::EndOfInput`] once its splits are done; the only
    /// kind Flink runs in batch mode.
    Bounded,
    /// Runs until the job is cancelled (a CDC source's binlog phase).
    ContinuousUnbounded,
}

/// Flink's `RowKind`, with the byte values Flink writes into a row's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RowKind {
    /// `+I`: a new row.
    Insert = 0,
    /// `-U`: a row's values before an update; its [`RowKind::UpdateAfter`] follows.
    UpdateBefore = 1,
    /// `+U`: a row's values after an update.
    UpdateAfter = 2,
    /// `-D`: a deleted row, with its last values.
    Delete = 3,
}

/// A unit of work a reader processes; checkpointed as part of reader state.
pub trait SourceSplit: Serialize + DeserializeOwned + Clone + Debug + Send + 'static {
    /// Unique within the source, stable across checkpoints.
    fn split_id(&self) -> String;
}

/// Builds sources for one connector identifier (`'connector' = '...'`).
pub trait SourceFactory: Send + Sync + 'static {
    /// The identifier used in SQL (`rust-datagen`) and the DataStream builder.
    fn identifier(&self) -> &'static str;

    /// Every option the connector reads, as its page `docs/connectors/<identifier>.md` documents
    /// them (a test compares the two). Reading an undeclared key fails source creation.
    fn options(&self) -> &'static [OptionSpec];

    /// Validates the options against the requested row type and builds the source. All option
    /// and schema errors belong here, so they fail the job at submission. The returned source is
    /// usually `crate::runtime::erase(MySource { .. })`.
    fn create(
        &self,
        options: &Options,
        row_type: &RowType,
    ) -> Result<Box<dyn crate::runtime::DynSource>>;
}

/// A connector's source: the factory of its enumerator and readers.
pub trait Source: Send + Sync + 'static {
    /// The unit of work the enumerator assigns and readers checkpoint.
    type Split: SourceSplit;
    /// What the enumerator checkpoints (splits not yet assigned, discovery progress), versioned
    /// with the splits by [`Source::STATE_VERSION`].
    type EnumeratorState: Serialize + DeserializeOwned + Send + 'static;
    /// The enumerator this source creates, in the JobManager.
    type Enumerator: SplitEnumerator<Split = Self::Split, State = Self::EnumeratorState>;
    /// The reader this source creates, one per parallel subtask.
    type Reader: SourceReader<Split = Self::Split>;

    /// Version of the checkpointed form of `Split` and `EnumeratorState` (bincode, positional:
    /// adding, removing, reordering or retyping a field or variant anywhere inside changes it).
    /// Bump it with every such change, and keep reading the old versions: freeze the old types
    /// and convert them in [`Source::upgrade_split`] and [`Source::upgrade_enumerator_state`]
    /// (docs/architecture.md, "State versions"). State of a later version is refused.
    const STATE_VERSION: u32 = 1;

    /// A split checkpointed with an older state `version` (1 up to `STATE_VERSION - 1`) as the
    /// current type. `body` is the state after its version header: decode it as that version's
    /// frozen type with [`crate::state::decode_body`] and convert it, filling new fields with
    /// what the old release meant. The default has no older version to read.
    fn upgrade_split(version: u32, body: &[u8]) -> Result<Self::Split> {
        let _ = body;
        Err(crate::state::no_upgrade(
            "split",
            version,
            Self::STATE_VERSION,
        ))
    }

    /// The enumerator state of an older state `version`, as [`Source::upgrade_split`].
    fn upgrade_enumerator_state(version: u32, body: &[u8]) -> Result<Self::EnumeratorState> {
        let _ = body;
        Err(crate::state::no_upgrade(
            "enumerator state",
            version,
            Self::STATE_VERSION,
        ))
    }

    /// Whether the source ends. Fixed for the source's life: Java asks once, when the job is
    /// planned.
    fn boundedness(&self) -> Boundedness;

    /// The row type every batch has (the table's, projected).
    fn row_type(&self) -> &RowType;

    /// A new enumerator, or one restored from a checkpoint.
    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored: Option<Self::EnumeratorState>,
    ) -> Result<Self::Enumerator>;

    /// A reader for one subtask, in its TaskManager on the task thread; called again for every
    /// restarted attempt. It gets its splits afterwards through [`SourceReader::add_splits`] (those
    /// restored from a checkpoint before [`SourceReader::start`]). An error fails the task.
    fn create_reader(&self, init: &ReaderInit) -> Result<Self::Reader>;

    /// Checks that need the outside world (connecting, privileges, server settings, that the
    /// tables exist): run once when the job is submitted, not by every enumerator and reader.
    fn preflight(&self) -> Result<()> {
        Ok(())
    }
}

/// What an enumerator knows when it is created.
#[derive(Clone, Debug)]
pub struct EnumeratorInit {
    /// Number of parallel readers.
    pub parallelism: u32,
}

/// What a reader knows when it is created.
#[derive(Clone, Debug)]
pub struct ReaderInit {
    /// This reader's subtask, 0-based (`0..parallelism`).
    pub subtask_index: u32,
    /// Number of parallel readers of the source.
    pub parallelism: u32,
    /// Rows per batch a reader should aim for: large enough to amortise the JNI crossing.
    pub batch_rows: usize,
    /// The directories for a reader that keeps files on local disk: in Flink, this job's own
    /// directory under each of the TaskManager's `io.tmp.dirs` ([`JOB_DIR_PREFIX`]`<job id>`,
    /// not created yet), which the Java bridge removes with its contents when the job leaves the
    /// TaskManager; empty outside Flink (see [`ReaderInit::local_dir`]).
    pub local_dirs: Vec<PathBuf>,
}

/// The name of a job's local directory under `io.tmp.dirs`, followed by the job id; the Java
/// bridge (`RustSourceReader.JOB_DIR_PREFIX`) names them. A connector sweeping what killed
/// TaskManagers left behind looks in the siblings with this prefix.
pub const JOB_DIR_PREFIX: &str = "flink-rust-job-";

impl ReaderInit {
    /// A reader outside Flink: temporary files in the system temporary directory.
    pub fn new(subtask_index: u32, parallelism: u32, batch_rows: usize) -> Self {
        ReaderInit {
            subtask_index,
            parallelism,
            batch_rows,
            local_dirs: Vec::new(),
        }
    }

    /// This reader's directory for temporary files: one of `local_dirs`, spread over them by
    /// subtask as Flink spreads its own spill files, else the system temporary directory.
    pub fn local_dir(&self) -> PathBuf {
        match self.local_dirs.len() {
            0 => std::env::temp_dir(),
            n => self.local_dirs[self.subtask_index as usize % n].clone(),
        }
    }
}

/// Default rows per batch; one JNI crossing per batch costs microseconds.
pub const DEFAULT_BATCH_ROWS: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Enumerator
// ---------------------------------------------------------------------------------------------

/// Decides which reader reads which split. Runs in the JobManager. Every callback records its
/// decisions on the context; Java applies them to Flink's `SplitEnumeratorContext`.
pub trait SplitEnumerator: Send + 'static {
    /// The split type of the [`Source`].
    type Split: SourceSplit;
    /// The state type of the [`Source`] (its `EnumeratorState`).
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// Called once, before any other callback, on a new or restored enumerator: discover splits
    /// here, or schedule slow discovery with [`EnumeratorContext::call_async`].
    fn start(&mut self, ctx: &mut EnumeratorContext<Self::Split>) -> Result<()>;

    /// A reader asked for a split (Flink's `handleSplitRequest`).
    fn handle_split_request(
        &mut self,
        subtask: u32,
        hostname: Option<&str>,
        ctx: &mut EnumeratorContext<Self::Split>,
    ) -> Result<()>;

    /// A reader registered (also after a failover). `ctx.registered_readers()` includes it.
    fn add_reader(&mut self, subtask: u32, ctx: &mut EnumeratorContext<Self::Split>) -> Result<()>;

    /// Flink reset the reader of `subtask` after its attempt failed (Flink calls this on every
    /// reset, with no splits too). `splits` are those assigned to it after the checkpoint it
    /// restores from; Java also hands back splits it could not assign to a reader Flink no longer
    /// lists. The reader is gone: `ctx.registered_readers()` no longer includes it until
    /// [`Self::add_reader`], and an assignment to it would fail the job. Forget what it asked
    /// for (pending split requests): its next attempt asks again.
    fn add_splits_back(
        &mut self,
        splits: Vec<Self::Split>,
        subtask: u32,
        ctx: &mut EnumeratorContext<Self::Split>,
    ) -> Result<()>;

    /// The state to checkpoint as of `checkpoint_id`: every split not assigned to a reader yet
    /// (assigned ones are in the readers' state; Flink hands back those assigned after the
    /// checkpoint through [`Self::add_splits_back`]). An error fails the checkpoint.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Self::State>;

    /// Checkpoint `checkpoint_id` completed everywhere. Flink may skip notifications (a later one
    /// covers the earlier), so act on "up to this checkpoint", not on one id.
    fn notify_checkpoint_complete(
        &mut self,
        _checkpoint_id: u64,
        _ctx: &mut EnumeratorContext<Self::Split>,
    ) -> Result<()> {
        Ok(())
    }

    /// Checkpoint `checkpoint_id` failed or was declined; drop what was kept for it.
    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }

    /// An event the reader of `subtask` sent with [`ReaderContext::send_event_to_enumerator`], in
    /// the connector's own format (in-job bytes: [`crate::state::decode`]).
    fn handle_source_event(
        &mut self,
        _subtask: u32,
        _event: &[u8],
        _ctx: &mut EnumeratorContext<Self::Split>,
    ) -> Result<()> {
        Ok(())
    }

    /// The result of work scheduled with [`EnumeratorContext::call_async`], back on the
    /// enumerator's thread. `Err` carries the task's error message.
    fn handle_async_result(
        &mut self,
        _task_id: u64,
        _result: std::result::Result<Vec<u8>, String>,
        _ctx: &mut EnumeratorContext<Self::Split>,
    ) -> Result<()> {
        Ok(())
    }

    /// The job ends, fails over or is cancelled: stop the work scheduled with
    /// [`EnumeratorContext::call_async`]. Called once, last.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Work an enumerator hands to Flink's worker threads (`callAsync`): slow I/O such as splitting
/// a table. It must not touch the enumerator; it returns bytes that reach
/// [`SplitEnumerator::handle_async_result`].
pub type AsyncTask = Box<dyn FnMut() -> Result<Vec<u8>> + Send + 'static>;

/// When an async task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncSchedule {
    /// Once, as soon as a worker thread is free.
    Once,
    /// After `initial_delay`, then every `period` until the enumerator closes.
    Periodic {
        /// Before the first run.
        initial_delay: Duration,
        /// Between runs; at least a millisecond.
        period: Duration,
    },
}

/// A decision of the enumerator, applied by Java to Flink's `SplitEnumeratorContext`.
#[derive(Debug)]
pub enum EnumeratorCommand<S> {
    /// Flink's `assignSplits`.
    AssignSplits {
        /// The reader's subtask index.
        subtask: u32,
        /// The splits, in the order the reader gets them.
        splits: Vec<S>,
    },
    /// Flink's `signalNoMoreSplits`.
    SignalNoMoreSplits {
        /// The reader's subtask index.
        subtask: u32,
    },
    /// Flink's `sendEventToSourceReader`.
    SendEvent {
        /// The reader's subtask index.
        subtask: u32,
        /// The connector's bytes, for [`SourceReader::handle_source_event`].
        event: Vec<u8>,
    },
    /// Flink's `callAsync` for a task the context holds.
    CallAsync {
        /// The id [`EnumeratorContext::call_async`] returned.
        task_id: u64,
        /// When it runs.
        schedule: AsyncSchedule,
    },
}

/// The enumerator's view of Flink's `SplitEnumeratorContext`: facts in, decisions out.
pub struct EnumeratorContext<S> {
    parallelism: u32,
    registered: BTreeSet<u32>,
    commands: Vec<EnumeratorCommand<S>>,
    new_tasks: Vec<(u64, AsyncTask)>,
    next_task_id: u64,
    metrics: Metrics,
}

impl<S> EnumeratorContext<S> {
    /// An empty context for `parallelism` readers, none registered; the runtime makes one per
    /// enumerator (tests may too).
    pub fn new(parallelism: u32) -> Self {
        EnumeratorContext {
            parallelism,
            registered: BTreeSet::new(),
            commands: Vec::new(),
            new_tasks: Vec::new(),
            next_task_id: 1,
            metrics: Metrics::new(),
        }
    }

    /// The enumerator's metrics (Flink's `SplitEnumeratorContext#metricGroup`, on the JobManager).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Number of parallel readers (subtasks `0..parallelism`), registered or not.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// Readers currently registered, in subtask order.
    pub fn registered_readers(&self) -> &BTreeSet<u32> {
        &self.registered
    }

    /// Assigns `splits` to the reader of `subtask` when the callback returns; an empty list is
    /// dropped. For a reader that is not registered (its attempt failed) Java hands them straight
    /// back through [`SplitEnumerator::add_splits_back`]; assigning them to it again fails the job.
    pub fn assign_splits(&mut self, subtask: u32, splits: Vec<S>) {
        if !splits.is_empty() {
            self.commands
                .push(EnumeratorCommand::AssignSplits { subtask, splits });
        }
    }

    /// [`Self::assign_splits`] for one split.
    pub fn assign_split(&mut self, subtask: u32, split: S) {
        self.assign_splits(subtask, vec![split]);
    }

    /// Tells a reader it will get no further splits: a bounded reader ends once it drained its own.
    pub fn signal_no_more_splits(&mut self, subtask: u32) {
        self.commands
            .push(EnumeratorCommand::SignalNoMoreSplits { subtask });
    }

    /// Sends `event` to the reader of `subtask` ([`SourceReader::handle_source_event`]) when the
    /// callback returns; dropped if that reader is not registered.
    pub fn send_event(&mut self, subtask: u32, event: Vec<u8>) {
        self.commands
            .push(EnumeratorCommand::SendEvent { subtask, event });
    }

    /// Runs `task` on one of Flink's worker threads; its result comes back through
    /// [`SplitEnumerator::handle_async_result`] with the returned id.
    pub fn call_async(&mut self, task: AsyncTask, schedule: AsyncSchedule) -> u64 {
        let task_id = self.next_task_id;
        self.next_task_id += 1;
        self.new_tasks.push((task_id, task));
        self.commands
            .push(EnumeratorCommand::CallAsync { task_id, schedule });
        task_id
    }

    pub(crate) fn register_reader(&mut self, subtask: u32) {
        self.registered.insert(subtask);
    }

    /// Flink dropped the reader (it unregisters a failed attempt before resetting the subtask).
    pub(crate) fn unregister_reader(&mut self, subtask: u32) {
        self.registered.remove(&subtask);
    }

    pub(crate) fn take_commands(&mut self) -> (Vec<EnumeratorCommand<S>>, Vec<(u64, AsyncTask)>) {
        (
            std::mem::take(&mut self.commands),
            std::mem::take(&mut self.new_tasks),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// Rows for Flink: Arrow columns of the source's row type, and a row kind per row for
/// changelogs (`None` means every row is an INSERT).
#[derive(Clone, Debug)]
pub struct ChangeBatch {
    /// Columns of [`Source::row_type`], in order, typed as [`crate::types::RowType::arrow_schema`].
    pub rows: RecordBatch,
    /// One per row, or `None` when every row is an INSERT.
    pub row_kinds: Option<Vec<RowKind>>,
}

impl ChangeBatch {
    /// A batch of INSERT rows only (snapshots, generators).
    pub fn inserts(rows: RecordBatch) -> Self {
        ChangeBatch {
            rows,
            row_kinds: None,
        }
    }

    /// Number of rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.rows.num_rows()
    }
}

/// What a reader's poll produced (Flink's `InputStatus`, with the data).
#[derive(Debug)]
pub enum ReaderPoll {
    /// Rows for Flink; the reader is polled again right away.
    Batch(ChangeBatch),
    /// Nothing now. Flink waits until [`Availability::notify`] is called, or at most
    /// `retry_after` (for readers that wait for a time, such as a rate limit), then polls again.
    NothingAvailable {
        /// Poll again after this at the latest; `None`: only when notified.
        retry_after: Option<Duration>,
    },
    /// Only after `notify_no_more_splits` and with every split drained.
    EndOfInput,
}

/// Reads the splits assigned to one parallel subtask. Runs in a TaskManager, driven by the task
/// thread; background work signals new data through [`ReaderContext::availability`].
pub trait SourceReader: Send + 'static {
    /// The split type of the [`Source`].
    type Split: SourceSplit;

    /// Called once, on the task thread, after the splits restored from a checkpoint were added and
    /// before the first poll: start background work here.
    fn start(&mut self, _ctx: &mut ReaderContext) -> Result<()> {
        Ok(())
    }

    /// Returns quickly: a batch if one is ready, otherwise `NothingAvailable` or `EndOfInput`.
    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll>;

    /// Splits the enumerator assigned, or (before [`Self::start`]) those restored from a
    /// checkpoint. The reader owns them until they finish and checkpoints them in
    /// [`Self::snapshot_state`].
    fn add_splits(&mut self, splits: Vec<Self::Split>, ctx: &mut ReaderContext) -> Result<()>;

    /// The enumerator will assign no more splits: a bounded reader returns
    /// [`ReaderPoll::EndOfInput`] once those it has are done.
    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()>;

    /// The current state of every split this reader still owns (finished splits excluded).
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Self::Split>>;

    /// Checkpoint `checkpoint_id`, which holds this reader's snapshot with that id, completed
    /// everywhere (Flink may skip notifications; a later id covers earlier ones): the time to let
    /// the external system forget what it covers.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }

    /// An event the enumerator sent with [`EnumeratorContext::send_event`].
    fn handle_source_event(&mut self, _event: &[u8], _ctx: &mut ReaderContext) -> Result<()> {
        Ok(())
    }

    /// Stops background work; after this returns no thread of the reader runs.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The reader's view of Flink's `SourceReaderContext`.
pub struct ReaderContext {
    init: ReaderInit,
    split_requested: bool,
    /// The reader said it has nothing to do until a split it asked for arrives.
    awaiting_split: bool,
    events: Vec<Vec<u8>>,
    availability: Availability,
    metrics: Metrics,
    /// Set by [`Self::record_event_time`] for the batch being returned.
    event_time_ms: Option<i64>,
    fetch_lag: Option<crate::metrics::Gauge>,
    log_context: crate::log_context::LogContext,
}

/// Name of the FLIP-33 gauge [`ReaderContext::record_event_time`] maintains.
pub const CURRENT_FETCH_EVENT_TIME_LAG: &str = "currentFetchEventTimeLag";

impl ReaderContext {
    /// A context for a reader with `init`; the runtime makes one per reader (tests may too).
    pub fn new(init: ReaderInit) -> Self {
        ReaderContext {
            init,
            split_requested: false,
            awaiting_split: false,
            events: Vec::new(),
            availability: Availability::new(),
            metrics: Metrics::new(),
            event_time_ms: None,
            fetch_lag: None,
            log_context: crate::log_context::LogContext::none(),
        }
    }

    /// With the span the runtime logs this reader's events in (connector and subtask).
    pub(crate) fn set_log_context(&mut self, context: crate::log_context::LogContext) {
        self.log_context = context;
    }

    /// The reader's metrics (Flink's `SourceReaderContext#metricGroup`, per subtask).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The context every call into this reader runs in: it tags log events with the connector
    /// and subtask. A connector's own thread enters it (`let _g = context.enter()`) so that its
    /// events carry the same context (`context.with(..)` adds fields, such as a table).
    pub fn log_context(&self) -> &crate::log_context::LogContext {
        &self.log_context
    }

    /// The event time of the batch this poll returns (for CDC: when the server wrote its newest
    /// change), and when the connector fetched it, both epoch milliseconds. Flink gets the event
    /// time as the rows' timestamp (its `currentEmitEventTimeLag`), and the reader's
    /// `currentFetchEventTimeLag` gauge becomes `fetched_ms - event_ms`. Batches without a
    /// recorded event time (snapshots, generators) have neither.
    pub fn record_event_time(&mut self, event_ms: i64, fetched_ms: i64) {
        self.event_time_ms = Some(event_ms);
        let metrics = &self.metrics;
        self.fetch_lag
            .get_or_insert_with(|| metrics.gauge(CURRENT_FETCH_EVENT_TIME_LAG))
            .set((fetched_ms - event_ms).max(0));
    }

    /// The event time recorded for the batch being returned, once.
    pub(crate) fn take_event_time(&mut self) -> Option<i64> {
        self.event_time_ms.take()
    }

    /// This reader's subtask, 0-based.
    pub fn subtask_index(&self) -> u32 {
        self.init.subtask_index
    }

    /// Number of parallel readers of the source.
    pub fn parallelism(&self) -> u32 {
        self.init.parallelism
    }

    /// Rows per batch to aim for ([`ReaderInit::batch_rows`], lowered under a low rate limit).
    pub fn batch_rows(&self) -> usize {
        self.init.batch_rows
    }

    /// Asks the enumerator for a split (Flink's `sendSplitRequest`) because the reader has
    /// nothing left to read: until one arrives it is idle (rust-core's rate limiter then gives
    /// its share to the other readers).
    pub fn request_split(&mut self) {
        self.split_requested = true;
        self.awaiting_split = true;
    }

    /// Asks for the next split while the reader still reads one, so that it arrives before the
    /// reader runs out (the same request to Flink, without the idleness). When the reader then
    /// does run out before it arrives, it says so with [`Self::awaiting_requested_split`].
    pub fn request_split_ahead(&mut self) {
        self.split_requested = true;
    }

    /// The reader has nothing to do until the split it asked for ahead arrives.
    pub fn awaiting_requested_split(&mut self) {
        self.awaiting_split = true;
    }

    /// Sends `event` to the enumerator's [`SplitEnumerator::handle_source_event`] when this call
    /// returns; Flink delivers a reader's events in order.
    pub fn send_event_to_enumerator(&mut self, event: Vec<u8>) {
        self.events.push(event);
    }

    /// The signal background work notifies when data becomes available.
    pub fn availability(&self) -> &Availability {
        &self.availability
    }

    /// Whether the reader has said, since the last [`Self::take_signals`], that it waits for a
    /// split: it asked for one with nothing left, or said so after asking ahead.
    pub(crate) fn awaiting_split(&self) -> bool {
        self.awaiting_split
    }

    /// Events recorded since the last [`Self::take_signals`] (rust-core's rate limiter frames
    /// them and adds its own).
    pub(crate) fn events_mut(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.events
    }

    /// Requests and events recorded since the last call.
    pub(crate) fn take_signals(&mut self) -> (bool, Vec<Vec<u8>>) {
        self.awaiting_split = false;
        (
            std::mem::take(&mut self.split_requested),
            std::mem::take(&mut self.events),
        )
    }
}

/// A level-triggered "data may be available" signal with an epoch counter, shared between a
/// reader's background work (which notifies) and the Java thread that waits on behalf of Flink's
/// `isAvailable()` future. Waiting compares epochs, so a notify between poll and wait is not lost.
#[derive(Clone, Debug, Default)]
pub struct Availability {
    inner: Arc<(Mutex<SignalState>, Condvar)>,
}

#[derive(Debug, Default)]
struct SignalState {
    epoch: u64,
    closed: bool,
}

/// Why [`Availability::wait`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The epoch changed since `seen`: poll again.
    Notified,
    /// The deadline passed with no notification.
    TimedOut,
    /// The reader closed: stop waiting.
    Closed,
}

impl Availability {
    /// An open signal at epoch 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bumps the epoch and wakes every waiter: "poll again". From any thread; cheap (a lock and a
    /// condition variable).
    pub fn notify(&self) {
        let (lock, cv) = &*self.inner;
        lock.lock().unwrap_or_else(|e| e.into_inner()).epoch += 1;
        cv.notify_all();
    }

    /// The current epoch: read it before checking for data, then [`Self::wait`] with it.
    pub fn epoch(&self) -> u64 {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner()).epoch
    }

    /// Wakes every waiter for good; used when the reader closes.
    pub fn close(&self) {
        let (lock, cv) = &*self.inner;
        lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        cv.notify_all();
    }

    /// Blocks until the epoch differs from `seen`, the signal closes, or `deadline` passes.
    pub fn wait(&self, seen: u64, deadline: Option<Instant>) -> WaitOutcome {
        let (lock, cv) = &*self.inner;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.closed {
                return WaitOutcome::Closed;
            }
            if state.epoch != seen {
                return WaitOutcome::Notified;
            }
            match deadline {
                None => state = cv.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return WaitOutcome::TimedOut;
                    }
                    state = cv
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notify_before_wait_is_not_lost() {
        let a = Availability::new();
        let seen = a.epoch();
        a.notify();
        assert_eq!(a.wait(seen, None), WaitOutcome::Notified);
    }

    #[test]
    fn wait_wakes_on_notify_from_another_thread_and_on_close() {
        let a = Availability::new();
        let seen = a.epoch();
        let b = a.clone();
        let t = std::thread::spawn(move || b.wait(seen, None));
        a.notify();
        assert_eq!(t.join().unwrap(), WaitOutcome::Notified);

        let seen = a.epoch();
        let b = a.clone();
        let t = std::thread::spawn(move || b.wait(seen, None));
        a.close();
        assert_eq!(t.join().unwrap(), WaitOutcome::Closed);
    }

    #[test]
    fn wait_times_out_at_the_deadline() {
        let a = Availability::new();
        let start = Instant::now();
        let outcome = a.wait(a.epoch(), Some(start + Duration::from_millis(20)));
        assert_eq!(outcome, WaitOutcome::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_readers_local_directory_is_spread_over_flinks_and_defaults_to_the_system_one() {
        let mut init = ReaderInit::new(3, 4, DEFAULT_BATCH_ROWS);
        assert_eq!(init.local_dir(), std::env::temp_dir());
        init.local_dirs = vec!["/data/1".into(), "/data/2".into()];
        assert_eq!(init.local_dir(), PathBuf::from("/data/2"));
        init.subtask_index = 2;
        assert_eq!(init.local_dir(), PathBuf::from("/data/1"));
    }
}
