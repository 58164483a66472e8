//! The runtime between the JNI surface and the connectors: type-erased sources, enumerators and
//! readers (splits and state as versioned bytes), async enumerator work, and reader responses with
//! rows encoded as Flink `BinaryRowData`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::api::{
    AsyncTask, Availability, Boundedness, EnumeratorCommand, EnumeratorContext, EnumeratorInit,
    ReaderContext, ReaderInit, ReaderPoll, Source, SourceReader, SourceSplit, SplitEnumerator,
    WaitOutcome,
};
use crate::error::{BridgeError, Result};
use crate::log_context::LogContext;
use crate::metrics::Metrics;
use crate::protocol::{self, SplitBytes};
use crate::row::BinaryRowEncoder;
use crate::state;
use crate::types::RowType;

/// A source with its types erased: what the registry hands to the JNI layer.
pub trait DynSource: Send + Sync {
    /// [`Source::boundedness`].
    fn boundedness(&self) -> Boundedness;
    /// [`Source::row_type`]: the full row type the connector produces, before projection.
    fn row_type(&self) -> &RowType;
    /// [`Source::create_enumerator`], with the restored state still as checkpoint bytes (any state
    /// version the connector reads; decoded and upgraded here).
    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored_state: Option<&[u8]>,
    ) -> Result<Box<dyn DynEnumerator>>;
    /// [`Source::create_reader`].
    fn create_reader(&self, init: &ReaderInit) -> Result<Box<dyn DynReader>>;
    /// [`Source::preflight`].
    fn preflight(&self) -> Result<()>;
    /// The init a reader of this source gets, from the one its runtime proposes: rust-core's
    /// rate limiter lowers `batch_rows` under a low limit ([`crate::rate_limit`]).
    fn reader_init(&self, init: ReaderInit) -> ReaderInit {
        init
    }
}

/// What an enumerator callback decided, with splits as bytes.
pub struct EnumeratorOutput {
    /// The decisions in order, with splits as versioned bytes.
    pub commands: Vec<EnumeratorCommand<SplitBytes>>,
    /// Async tasks scheduled by the `CallAsync` commands, by task id.
    pub tasks: Vec<(u64, AsyncTask)>,
}

/// A connector's [`SplitEnumerator`] with its types erased: splits and state cross as versioned
/// bytes and every callback returns what it decided. Called under [`EnumeratorRuntime`]'s lock.
pub trait DynEnumerator: Send {
    /// [`SplitEnumerator::start`].
    fn start(&mut self) -> Result<EnumeratorOutput>;
    /// [`SplitEnumerator::handle_split_request`].
    fn handle_split_request(
        &mut self,
        subtask: u32,
        hostname: Option<&str>,
    ) -> Result<EnumeratorOutput>;
    /// Registers the reader on the context, then [`SplitEnumerator::add_reader`].
    fn add_reader(&mut self, subtask: u32) -> Result<EnumeratorOutput>;
    /// Unregisters the reader, then [`SplitEnumerator::add_splits_back`] with the splits decoded.
    fn add_splits_back(
        &mut self,
        splits: Vec<SplitBytes>,
        subtask: u32,
    ) -> Result<EnumeratorOutput>;
    /// [`SplitEnumerator::snapshot_state`], encoded with the source's state version.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>>;
    /// [`SplitEnumerator::notify_checkpoint_complete`].
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<EnumeratorOutput>;
    /// [`SplitEnumerator::notify_checkpoint_aborted`]; it can decide nothing.
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<()>;
    /// [`SplitEnumerator::handle_source_event`].
    fn handle_source_event(&mut self, subtask: u32, event: &[u8]) -> Result<EnumeratorOutput>;
    /// [`SplitEnumerator::handle_async_result`].
    fn handle_async_result(
        &mut self,
        task_id: u64,
        result: std::result::Result<Vec<u8>, String>,
    ) -> Result<EnumeratorOutput>;
    /// [`SplitEnumerator::close`].
    fn close(&mut self) -> Result<()>;
    /// The metrics the enumerator registers on its context.
    fn metrics(&self) -> Metrics;
}

/// A connector's [`SourceReader`] with its split type erased: splits cross as versioned bytes.
/// Driven by one task thread through [`ReaderRuntime`].
pub trait DynReader: Send {
    /// [`SourceReader::start`].
    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()>;
    /// [`SourceReader::poll_next`].
    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll>;
    /// [`SourceReader::add_splits`], with the splits decoded (and upgraded).
    fn add_splits(&mut self, splits: Vec<SplitBytes>, ctx: &mut ReaderContext) -> Result<()>;
    /// [`SourceReader::notify_no_more_splits`].
    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()>;
    /// [`SourceReader::snapshot_state`], each split encoded with the source's state version.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<SplitBytes>>;
    /// [`SourceReader::notify_checkpoint_complete`].
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()>;
    /// [`SourceReader::handle_source_event`].
    fn handle_source_event(&mut self, event: &[u8], ctx: &mut ReaderContext) -> Result<()>;
    /// [`SourceReader::close`].
    fn close(&mut self) -> Result<()>;
    /// The batch the last poll returned was encoded for Flink: `rows` rows in `encoded_bytes`
    /// bytes of `BinaryRowData`. What rust-core's rate limiter charges ([`crate::rate_limit`]).
    fn batch_emitted(&mut self, _rows: usize, _encoded_bytes: usize) {}
}

/// Erases a connector's source for the registry.
pub fn erase<S: Source>(source: S) -> Box<dyn DynSource> {
    Box::new(Erased(source))
}

struct Erased<S>(S);

fn split_to_bytes<Sp: SourceSplit>(version: u32, split: &Sp) -> Result<SplitBytes> {
    Ok(SplitBytes {
        id: split.split_id(),
        state: state::encode(version, split)?,
    })
}

/// Splits from a checkpoint or given back: of any state version `S` reads, upgraded.
fn splits_from_bytes<S: Source>(splits: Vec<SplitBytes>) -> Result<Vec<S::Split>> {
    splits
        .iter()
        .map(|s| state::decode_split::<S>(&s.state))
        .collect()
}

impl<S: Source> DynSource for Erased<S> {
    fn boundedness(&self) -> Boundedness {
        self.0.boundedness()
    }

    fn row_type(&self) -> &RowType {
        self.0.row_type()
    }

    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored_state: Option<&[u8]>,
    ) -> Result<Box<dyn DynEnumerator>> {
        let restored = restored_state
            .map(state::decode_enumerator_state::<S>)
            .transpose()?;
        let enumerator = self.0.create_enumerator(init, restored)?;
        Ok(Box::new(ErasedEnumerator::<S> {
            enumerator,
            ctx: EnumeratorContext::new(init.parallelism),
        }))
    }

    fn create_reader(&self, init: &ReaderInit) -> Result<Box<dyn DynReader>> {
        Ok(Box::new(ErasedReader::<S> {
            reader: self.0.create_reader(init)?,
        }))
    }

    fn preflight(&self) -> Result<()> {
        self.0.preflight()
    }
}

struct ErasedEnumerator<S: Source> {
    enumerator: S::Enumerator,
    ctx: EnumeratorContext<S::Split>,
}

impl<S: Source> ErasedEnumerator<S> {
    fn output(&mut self) -> Result<EnumeratorOutput> {
        let (commands, tasks) = self.ctx.take_commands();
        let commands = commands
            .into_iter()
            .map(|c| {
                Ok(match c {
                    EnumeratorCommand::AssignSplits { subtask, splits } => {
                        let splits = splits
                            .iter()
                            .map(|s| split_to_bytes(S::STATE_VERSION, s))
                            .collect::<Result<_>>()?;
                        EnumeratorCommand::AssignSplits { subtask, splits }
                    }
                    EnumeratorCommand::SignalNoMoreSplits { subtask } => {
                        EnumeratorCommand::SignalNoMoreSplits { subtask }
                    }
                    EnumeratorCommand::SendEvent { subtask, event } => {
                        EnumeratorCommand::SendEvent { subtask, event }
                    }
                    EnumeratorCommand::CallAsync { task_id, schedule } => {
                        EnumeratorCommand::CallAsync { task_id, schedule }
                    }
                })
            })
            .collect::<Result<_>>()?;
        Ok(EnumeratorOutput { commands, tasks })
    }
}

impl<S: Source> DynEnumerator for ErasedEnumerator<S> {
    fn start(&mut self) -> Result<EnumeratorOutput> {
        self.enumerator.start(&mut self.ctx)?;
        self.output()
    }

    fn handle_split_request(
        &mut self,
        subtask: u32,
        hostname: Option<&str>,
    ) -> Result<EnumeratorOutput> {
        self.enumerator
            .handle_split_request(subtask, hostname, &mut self.ctx)?;
        self.output()
    }

    fn add_reader(&mut self, subtask: u32) -> Result<EnumeratorOutput> {
        self.ctx.register_reader(subtask);
        self.enumerator.add_reader(subtask, &mut self.ctx)?;
        self.output()
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<SplitBytes>,
        subtask: u32,
    ) -> Result<EnumeratorOutput> {
        let splits = splits_from_bytes::<S>(splits)?;
        // Flink calls this when it resets the subtask, after removing its reader; `add_reader`
        // registers the next attempt. Until then the enumerator must not pick it.
        self.ctx.unregister_reader(subtask);
        self.enumerator
            .add_splits_back(splits, subtask, &mut self.ctx)?;
        self.output()
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>> {
        let state = self.enumerator.snapshot_state(checkpoint_id)?;
        state::encode(S::STATE_VERSION, &state)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<EnumeratorOutput> {
        self.enumerator
            .notify_checkpoint_complete(checkpoint_id, &mut self.ctx)?;
        self.output()
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<()> {
        self.enumerator.notify_checkpoint_aborted(checkpoint_id)
    }

    fn handle_source_event(&mut self, subtask: u32, event: &[u8]) -> Result<EnumeratorOutput> {
        self.enumerator
            .handle_source_event(subtask, event, &mut self.ctx)?;
        self.output()
    }

    fn handle_async_result(
        &mut self,
        task_id: u64,
        result: std::result::Result<Vec<u8>, String>,
    ) -> Result<EnumeratorOutput> {
        self.enumerator
            .handle_async_result(task_id, result, &mut self.ctx)?;
        self.output()
    }

    fn close(&mut self) -> Result<()> {
        self.enumerator.close()
    }

    fn metrics(&self) -> Metrics {
        self.ctx.metrics().clone()
    }
}

struct ErasedReader<S: Source> {
    reader: S::Reader,
}

impl<S: Source> DynReader for ErasedReader<S> {
    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        self.reader.start(ctx)
    }

    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        self.reader.poll_next(ctx)
    }

    fn add_splits(&mut self, splits: Vec<SplitBytes>, ctx: &mut ReaderContext) -> Result<()> {
        let splits = splits_from_bytes::<S>(splits)?;
        self.reader.add_splits(splits, ctx)
    }

    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        self.reader.notify_no_more_splits(ctx)
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<SplitBytes>> {
        self.reader
            .snapshot_state(checkpoint_id)?
            .iter()
            .map(|s| split_to_bytes(S::STATE_VERSION, s))
            .collect()
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        self.reader.notify_checkpoint_complete(checkpoint_id)
    }

    fn handle_source_event(&mut self, event: &[u8], ctx: &mut ReaderContext) -> Result<()> {
        self.reader.handle_source_event(event, ctx)
    }

    fn close(&mut self) -> Result<()> {
        self.reader.close()
    }
}

// ---------------------------------------------------------------------------------------------
// What a JNI handle points at
// ---------------------------------------------------------------------------------------------

/// An enumerator behind a handle. The coordinator thread drives it; Flink's worker threads run
/// its async tasks concurrently, so both parts sit behind their own locks.
pub struct EnumeratorRuntime {
    enumerator: Mutex<Box<dyn DynEnumerator>>,
    tasks: Mutex<HashMap<u64, Arc<Mutex<AsyncTask>>>>,
    metrics: Metrics,
    /// Entered around every call, async tasks included: tags log events with the connector.
    log_context: LogContext,
}

impl EnumeratorRuntime {
    /// A runtime without log context (tests).
    pub fn new(enumerator: Box<dyn DynEnumerator>) -> Self {
        Self::with_log_context(enumerator, LogContext::none())
    }

    /// A runtime whose calls and async tasks run inside `log_context`.
    pub fn with_log_context(enumerator: Box<dyn DynEnumerator>, log_context: LogContext) -> Self {
        let metrics = enumerator.metrics();
        EnumeratorRuntime {
            enumerator: Mutex::new(enumerator),
            tasks: Mutex::default(),
            metrics,
            log_context,
        }
    }

    /// The enumerator's metrics, shared (for Java's metric mirror).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Runs one enumerator callback and encodes its decisions for Java.
    pub fn call(
        &self,
        f: impl FnOnce(&mut dyn DynEnumerator) -> Result<EnumeratorOutput>,
    ) -> Result<Vec<u8>> {
        let _context = self.log_context.enter();
        let mut enumerator = self.enumerator.lock().unwrap_or_else(|e| e.into_inner());
        let output = f(enumerator.as_mut())?;
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        for (id, task) in output.tasks {
            tasks.insert(id, Arc::new(Mutex::new(task)));
        }
        Ok(protocol::encode_commands(&output.commands))
    }

    /// Runs one enumerator call that returns something other than decisions (state, nothing).
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn DynEnumerator) -> Result<T>) -> Result<T> {
        let _context = self.log_context.enter();
        f(self
            .enumerator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut())
    }

    /// Runs an async task on the calling (worker) thread. One-shot tasks are forgotten after
    /// they run; periodic ones stay until the enumerator closes.
    pub fn run_async(&self, task_id: u64, periodic: bool) -> Result<Vec<u8>> {
        let _context = self.log_context.enter();
        let task = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            if periodic {
                tasks.get(&task_id).cloned()
            } else {
                tasks.remove(&task_id)
            }
        }
        .ok_or_else(|| BridgeError::other(format!("no async task {task_id}")))?;
        let mut task = task.lock().unwrap_or_else(|e| e.into_inner());
        (*task)()
    }
}

/// The reserved option through which Java passes a projection (projection push-down): the
/// indexes of the produced columns in the source's row type, comma-separated, in produced order.
/// The JNI layer removes it before the connector sees the options, so connectors never have to
/// know about it: they are created with the full row type (same validation, boundedness and row
/// count as without projection), and the runtime drops the unread columns before encoding.
pub const PROJECTION_OPTION: &str = "__bridge.projection";

/// Parses the value of [`PROJECTION_OPTION`] against a row type of `arity` columns.
pub fn parse_projection(value: &str, arity: usize) -> Result<Vec<usize>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<usize>()
                .ok()
                .filter(|i| *i < arity)
                .ok_or_else(|| {
                    BridgeError::other(format!(
                        "invalid projection '{value}' for a row type of {arity} columns"
                    ))
                })
        })
        .collect()
}

/// A reader behind a handle, with its context and row encoder. Driven by one task thread.
pub struct ReaderRuntime {
    reader: Box<dyn DynReader>,
    ctx: ReaderContext,
    /// The produced columns (indexes into the source's row type), when projected.
    projection: Option<Vec<usize>>,
    encoder: BinaryRowEncoder,
    offsets: Vec<i32>,
    /// The last response, reused so steady-state polling allocates nothing on the Rust side.
    response: Vec<u8>,
    ended: bool,
    /// The metrics generation Java was last told about (response flag `FLAG_METRICS_CHANGED`).
    metrics_generation: u64,
}

impl ReaderRuntime {
    /// A reader of `source` producing every column (no projection).
    pub fn new(source: &dyn DynSource, init: ReaderInit) -> Result<Self> {
        Self::with_projection(source, init, None)
    }

    /// A reader that encodes only the `projection` columns of the source's row type, in that
    /// order (`None`: every column). The connector still produces its full row type; dropping
    /// a column from an Arrow batch is free, and only the produced columns are encoded.
    pub fn with_projection(
        source: &dyn DynSource,
        init: ReaderInit,
        projection: Option<Vec<usize>>,
    ) -> Result<Self> {
        let full = source.row_type();
        let produced = match &projection {
            Some(p) => {
                if let Some(bad) = p.iter().find(|i| **i >= full.arity()) {
                    return Err(BridgeError::other(format!(
                        "projected column {bad} is out of range for a row type of {} columns",
                        full.arity()
                    )));
                }
                RowType {
                    columns: p.iter().map(|i| full.columns[*i].clone()).collect(),
                }
            }
            None => full.clone(),
        };
        let init = source.reader_init(init);
        let reader = source.create_reader(&init)?;
        Ok(ReaderRuntime {
            reader,
            ctx: ReaderContext::new(init),
            projection,
            encoder: BinaryRowEncoder::new(&produced),
            offsets: Vec::new(),
            response: Vec::new(),
            ended: false,
            metrics_generation: 0,
        })
    }

    /// The log context every call into the reader runs in (connector and subtask, see `jni.rs`).
    pub fn with_log_context(mut self, context: LogContext) -> Self {
        self.ctx.set_log_context(context);
        self
    }

    /// The reader's availability signal, shared (for the Java thread that waits for data).
    pub fn availability(&self) -> Availability {
        self.ctx.availability().clone()
    }

    /// The reader's metrics, shared (for Java's metric mirror).
    pub fn metrics(&self) -> Metrics {
        self.ctx.metrics().clone()
    }

    /// Runs a reader callback that returns no rows; the response carries its signals.
    ///
    /// New splits, "no more splits" or an event may make the reader pollable, so every call
    /// bumps the availability epoch: a Java thread waiting for data wakes up whether or not the
    /// connector notifies by itself.
    pub fn call(
        &mut self,
        f: impl FnOnce(&mut dyn DynReader, &mut ReaderContext) -> Result<()>,
    ) -> Result<Vec<u8>> {
        let _context = self.ctx.log_context().clone().enter();
        let result = f(self.reader.as_mut(), &mut self.ctx);
        self.ctx.availability().notify();
        result?;
        let mut out = Vec::new();
        self.begin(&mut out, protocol::STATUS_NONE, 0, None, 0, None);
        Ok(out)
    }

    /// Polls the reader once and encodes the result (rows included) for Java. The bytes stay
    /// valid until the next call.
    pub fn poll(&mut self) -> Result<&[u8]> {
        let mut out = std::mem::take(&mut self.response);
        out.clear();
        let _context = self.ctx.log_context().clone().enter();
        let result = self.poll_into(&mut out);
        self.response = out;
        result.map(|()| self.response.as_slice())
    }

    fn poll_into(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.ended {
            self.begin(out, protocol::STATUS_END_OF_INPUT, 0, None, 0, None);
            return Ok(());
        }
        // Read the epoch before polling: a notify that races with this poll changes it, so Java's
        // wait returns at once instead of missing the wake-up.
        let epoch = self.ctx.availability().epoch();
        // An event time belongs to the batch of the poll that recorded it, no other.
        self.ctx.take_event_time();
        match self.reader.poll_next(&mut self.ctx)? {
            ReaderPoll::Batch(mut batch) => {
                if let Some(projection) = &self.projection {
                    batch.rows = batch.rows.project(projection)?;
                }
                let rows = batch.num_rows();
                let event_time = self.ctx.take_event_time();
                self.begin(out, protocol::STATUS_BATCH, epoch, None, rows, event_time);
                let offsets_at = out.len();
                out.resize(offsets_at + 4 * (rows + 1), 0);
                self.offsets.clear();
                let rows_at = out.len();
                self.encoder.encode(
                    &batch.rows,
                    batch.row_kinds.as_deref(),
                    out,
                    &mut self.offsets,
                )?;
                self.reader.batch_emitted(rows, out.len() - rows_at);
                if self.offsets.len() != rows {
                    return Err(BridgeError::other(format!(
                        "encoder wrote {} rows for a batch of {rows}",
                        self.offsets.len()
                    )));
                }
                protocol::write_row_offsets(out, offsets_at, &self.offsets)?;
            }
            ReaderPoll::NothingAvailable { retry_after } => {
                self.begin(
                    out,
                    protocol::STATUS_NOTHING_AVAILABLE,
                    epoch,
                    retry_after,
                    0,
                    None,
                );
            }
            ReaderPoll::EndOfInput => {
                self.ended = true;
                self.begin(out, protocol::STATUS_END_OF_INPUT, epoch, None, 0, None);
            }
        }
        Ok(())
    }

    /// The reader's splits as a split list ([`protocol::encode_split_list`]).
    pub fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>> {
        let _context = self.ctx.log_context().clone().enter();
        let splits = self.reader.snapshot_state(checkpoint_id)?;
        let mut out = Vec::new();
        protocol::encode_split_list(&mut out, &splits);
        Ok(out)
    }

    /// [`SourceReader::notify_checkpoint_complete`], in the reader's log context.
    pub fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        let _context = self.ctx.log_context().clone().enter();
        self.reader.notify_checkpoint_complete(checkpoint_id)
    }

    /// Closes the availability signal (waking Java's waiter), then the reader.
    pub fn close(&mut self) -> Result<()> {
        let _context = self.ctx.log_context().clone().enter();
        // Wake any Java thread waiting for data before the reader goes away.
        self.ctx.availability().close();
        self.reader.close()
    }

    #[allow(clippy::too_many_arguments)]
    fn begin(
        &mut self,
        out: &mut Vec<u8>,
        status: i32,
        epoch: u64,
        retry: Option<Duration>,
        rows: usize,
        event_time_ms: Option<i64>,
    ) {
        let (request_split, events) = self.ctx.take_signals();
        let mut flags = if request_split {
            protocol::FLAG_REQUEST_SPLIT
        } else {
            0
        };
        // One relaxed load per response; Java then registers the new metrics (rarely: once or
        // twice per reader).
        let generation = self.ctx.metrics().generation();
        if generation != self.metrics_generation {
            self.metrics_generation = generation;
            flags |= protocol::FLAG_METRICS_CHANGED;
        }
        protocol::begin_response(
            out,
            status,
            flags,
            epoch,
            retry,
            rows,
            event_time_ms,
            &events,
        );
    }
}

/// Blocks the calling (Java waiter) thread until the reader may have data.
pub fn await_availability(
    signal: &Availability,
    seen_epoch: u64,
    timeout: Option<Duration>,
) -> WaitOutcome {
    signal.wait(seen_epoch, timeout.map(|t| Instant::now() + t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ChangeBatch, EnumeratorContext, SourceReader, SplitEnumerator};
    use serde::{Deserialize, Serialize};

    /// A source whose reader never touches the availability signal itself.
    struct Quiet(RowType);

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Split(u32);

    impl SourceSplit for Split {
        fn split_id(&self) -> String {
            self.0.to_string()
        }
    }

    struct QuietEnumerator;
    struct QuietReader(Vec<Split>);

    impl SplitEnumerator for QuietEnumerator {
        type Split = Split;
        type State = ();
        fn start(&mut self, _: &mut EnumeratorContext<Split>) -> Result<()> {
            Ok(())
        }
        fn handle_split_request(
            &mut self,
            s: u32,
            _: Option<&str>,
            ctx: &mut EnumeratorContext<Split>,
        ) -> Result<()> {
            ctx.assign_split(s, Split(s));
            Ok(())
        }
        fn add_reader(&mut self, _: u32, _: &mut EnumeratorContext<Split>) -> Result<()> {
            Ok(())
        }
        fn add_splits_back(
            &mut self,
            _: Vec<Split>,
            _: u32,
            _: &mut EnumeratorContext<Split>,
        ) -> Result<()> {
            Ok(())
        }
        fn snapshot_state(&mut self, _: u64) -> Result<()> {
            Ok(())
        }
    }

    impl SourceReader for QuietReader {
        type Split = Split;
        fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
            Ok(match self.0.pop() {
                Some(Split(event_ms)) if event_ms > 0 => {
                    ctx.record_event_time(i64::from(event_ms), i64::from(event_ms) + 250);
                    ReaderPoll::Batch(ChangeBatch::inserts(arrow_array::RecordBatch::new_empty(
                        RowType::default().arrow_schema(),
                    )))
                }
                Some(_) => ReaderPoll::Batch(ChangeBatch::inserts(
                    arrow_array::RecordBatch::new_empty(RowType::default().arrow_schema()),
                )),
                None => ReaderPoll::NothingAvailable { retry_after: None },
            })
        }
        fn add_splits(&mut self, splits: Vec<Split>, _: &mut ReaderContext) -> Result<()> {
            self.0.extend(splits);
            Ok(())
        }
        fn notify_no_more_splits(&mut self, _: &mut ReaderContext) -> Result<()> {
            Ok(())
        }
        fn snapshot_state(&mut self, _: u64) -> Result<Vec<Split>> {
            Ok(self.0.clone())
        }
    }

    impl Source for Quiet {
        type Split = Split;
        type EnumeratorState = ();
        type Enumerator = QuietEnumerator;
        type Reader = QuietReader;
        fn boundedness(&self) -> Boundedness {
            Boundedness::ContinuousUnbounded
        }
        fn row_type(&self) -> &RowType {
            &self.0
        }
        fn create_enumerator(&self, _: &EnumeratorInit, _: Option<()>) -> Result<QuietEnumerator> {
            Ok(QuietEnumerator)
        }
        fn create_reader(&self, _: &ReaderInit) -> Result<QuietReader> {
            Ok(QuietReader(Vec::new()))
        }
    }

    fn read_i32(b: &[u8], at: usize) -> i32 {
        i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn a_waiting_thread_wakes_when_splits_arrive_even_if_the_connector_stays_quiet() {
        let source = erase(Quiet(RowType::default()));
        let init = ReaderInit::new(0, 1, 16);
        let mut rt = ReaderRuntime::new(source.as_ref(), init).unwrap();
        let response = rt.poll().unwrap().to_vec();
        assert_eq!(read_i32(&response, 0), protocol::STATUS_NOTHING_AVAILABLE);
        let seen = i64::from_le_bytes(response[8..16].try_into().unwrap()) as u64;

        let signal = rt.availability();
        let waiter = std::thread::spawn(move || await_availability(&signal, seen, None));
        let splits = vec![SplitBytes {
            id: "0".into(),
            state: state::encode(1, &Split(0)).unwrap(),
        }];
        rt.call(|r, ctx| r.add_splits(splits, ctx)).unwrap();
        assert_eq!(waiter.join().unwrap(), WaitOutcome::Notified);
        assert_eq!(read_i32(rt.poll().unwrap(), 0), protocol::STATUS_BATCH);
    }

    #[test]
    fn closing_the_reader_releases_a_waiting_thread() {
        let source = erase(Quiet(RowType::default()));
        let init = ReaderInit::new(0, 1, 16);
        let mut rt = ReaderRuntime::new(source.as_ref(), init).unwrap();
        let signal = rt.availability();
        let seen = signal.epoch();
        let waiter = std::thread::spawn(move || await_availability(&signal, seen, None));
        rt.close().unwrap();
        assert_eq!(waiter.join().unwrap(), WaitOutcome::Closed);
    }

    fn read_i64(b: &[u8], at: usize) -> i64 {
        i64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn responses_flag_new_metrics_once_and_carry_the_batch_event_time() {
        let source = erase(Quiet(RowType::default()));
        let init = ReaderInit::new(0, 1, 16);
        let mut rt = ReaderRuntime::new(source.as_ref(), init).unwrap();
        let flags = |r: &[u8]| read_i32(r, 4);

        let response = rt.call(|_, ctx| {
            ctx.metrics().counter("rows").inc(1);
            Ok(())
        });
        assert_eq!(
            flags(&response.unwrap()) & protocol::FLAG_METRICS_CHANGED,
            protocol::FLAG_METRICS_CHANGED
        );
        let response = rt.call(|_, _| Ok(())).unwrap();
        assert_eq!(
            flags(&response) & protocol::FLAG_METRICS_CHANGED,
            0,
            "told once"
        );

        let splits = vec![
            SplitBytes {
                id: "0".into(),
                state: state::encode(1, &Split(0)).unwrap(),
            },
            SplitBytes {
                id: "1".into(),
                state: state::encode(1, &Split(1_000)).unwrap(),
            },
        ];
        rt.call(|r, ctx| r.add_splits(splits, ctx)).unwrap();
        // The first batch records an event time (and registers the fetch-lag gauge): flagged.
        let response = rt.poll().unwrap().to_vec();
        assert_eq!(read_i32(&response, 0), protocol::STATUS_BATCH);
        assert_eq!(read_i64(&response, 32), 1_000);
        assert_ne!(flags(&response) & protocol::FLAG_METRICS_CHANGED, 0);
        let lag = rt
            .metrics()
            .descriptors()
            .iter()
            .position(|(_, n)| n == crate::api::CURRENT_FETCH_EVENT_TIME_LAG);
        assert_eq!(rt.metrics().long_value(lag.unwrap()).unwrap(), 250);
        // The next batch has none.
        let response = rt.poll().unwrap().to_vec();
        assert_eq!(read_i32(&response, 0), protocol::STATUS_BATCH);
        assert_eq!(read_i64(&response, 32), protocol::NO_EVENT_TIME);
    }

    #[test]
    fn projections_parse_in_order_and_reject_out_of_range_columns() {
        assert_eq!(parse_projection("3, 0,2", 4).unwrap(), vec![3, 0, 2]);
        assert_eq!(parse_projection("", 4).unwrap(), Vec::<usize>::new());
        assert!(parse_projection("4", 4).is_err());
        assert!(parse_projection("1,x", 4).is_err());
        assert!(parse_projection("-1", 4).is_err());
    }
}
