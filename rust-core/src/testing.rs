//! An in-process stand-in for Flink, for connector tests and the preview CLI (`preview/`): one
//! enumerator and its readers wired the way the Java layer wires them (split requests,
//! assignments, source events both ways, `callAsync` tasks, checkpoints and restores), without a
//! JVM. A failure is modelled the way Flink
//! restarts a connected job: everything restores from the last checkpoint ([`Harness::restore`]).
//! One reader can also be lost alone while the enumerator lives on, as in Flink's region failover
//! ([`Harness::fail_reader`], [`Harness::restart_reader`]).
//!
//! Async enumerator tasks run inline when issued, so a test is deterministic given the reader
//! timing. When no reader has data, [`Harness::run_until`] waits on the readers' availability
//! signals (condition variables), never spins.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;

use crate::api::{
    AsyncSchedule, EnumeratorCommand, EnumeratorInit, ReaderContext, ReaderInit, ReaderPoll,
    RowKind,
};
use crate::error::Result;
use crate::protocol::SplitBytes;
use crate::row::BinaryRowEncoder;
use crate::runtime::{DynEnumerator, DynReader, DynSource, EnumeratorOutput};
use crate::BridgeError;

/// One emitted batch, with its reader.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The reader (subtask index) that emitted it.
    pub subtask: u32,
    /// The rows in the source's full row type (the harness does not project).
    pub rows: RecordBatch,
    /// One per row; all [`RowKind::Insert`] when the connector gave none.
    pub kinds: Vec<RowKind>,
}

struct Node {
    reader: Box<dyn DynReader>,
    ctx: ReaderContext,
    ended: bool,
    /// Failed and not restarted yet: Flink lists it as unregistered.
    lost: bool,
}

/// Checkpointed state of a harness: enumerator bytes and each reader's splits.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// [`crate::runtime::DynEnumerator::snapshot_state`]'s bytes.
    pub enumerator: Vec<u8>,
    /// Per subtask, the splits its reader snapshotted.
    pub readers: Vec<Vec<SplitBytes>>,
}

/// One source running in-process: its enumerator and `parallelism` readers, driven by the test
/// on the calling thread. Every batch is also encoded as `BinaryRowData`, so an encoding error
/// fails the test as it would fail the job.
pub struct Harness<'a> {
    source: &'a dyn DynSource,
    enumerator: Box<dyn DynEnumerator>,
    nodes: Vec<Node>,
    batch_rows: usize,
    /// Periodic async tasks (task id) to run again on [`Harness::tick`].
    periodic: Vec<u64>,
    pending_outputs: VecDeque<EnumeratorOutput>,
    tasks: Vec<(u64, crate::api::AsyncTask)>,
    checkpoint_id: u64,
    /// Per reader: its splits in the last checkpoint, which a restarted reader restores.
    checkpointed: Vec<Vec<SplitBytes>>,
    /// Per reader: splits assigned after the last checkpoint, which Flink hands back when the
    /// reader fails (its assignment tracker).
    uncheckpointed: Vec<Vec<SplitBytes>>,
    /// Encodes each batch as the runtime does, to report its size ([`DynReader::batch_emitted`]).
    encoder: BinaryRowEncoder,
    encoded: Vec<u8>,
    offsets: Vec<i32>,
}

impl<'a> Harness<'a> {
    /// Starts the enumerator and readers `0..parallelism` as Flink does (enumerator start, reader
    /// registration, reader start) and applies what they decided; readers get `batch_rows` per
    /// batch.
    pub fn new(source: &'a dyn DynSource, parallelism: u32, batch_rows: usize) -> Result<Self> {
        Self::build(source, parallelism, batch_rows, None)
    }

    /// A harness restored from `checkpoint` (parallelism = its reader count).
    pub fn restore(
        source: &'a dyn DynSource,
        checkpoint: &Checkpoint,
        batch_rows: usize,
    ) -> Result<Self> {
        Self::build(
            source,
            checkpoint.readers.len() as u32,
            batch_rows,
            Some(checkpoint),
        )
    }

    fn build(
        source: &'a dyn DynSource,
        parallelism: u32,
        batch_rows: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Self> {
        let enumerator = source.create_enumerator(
            &EnumeratorInit { parallelism },
            checkpoint.map(|c| c.enumerator.as_slice()),
        )?;
        let mut h = Harness {
            source,
            enumerator,
            nodes: Vec::new(),
            batch_rows,
            periodic: Vec::new(),
            pending_outputs: VecDeque::new(),
            tasks: Vec::new(),
            checkpoint_id: 0,
            checkpointed: Vec::new(),
            uncheckpointed: vec![Vec::new(); parallelism as usize],
            encoder: BinaryRowEncoder::new(source.row_type()),
            encoded: Vec::new(),
            offsets: Vec::new(),
        };
        let out = h.enumerator.start()?;
        h.apply(out)?;
        for i in 0..parallelism {
            let restored = checkpoint
                .map(|c| c.readers[i as usize].clone())
                .unwrap_or_default();
            h.checkpointed.push(restored.clone());
            let node = h.start_reader(i, parallelism, restored)?;
            h.nodes.push(node);
        }
        h.drain()?;
        Ok(h)
    }

    fn start_reader(
        &mut self,
        subtask: u32,
        parallelism: u32,
        restored: Vec<SplitBytes>,
    ) -> Result<Node> {
        let init = self
            .source
            .reader_init(ReaderInit::new(subtask, parallelism, self.batch_rows));
        let mut reader = self.source.create_reader(&init)?;
        let mut ctx = ReaderContext::new(init);
        if !restored.is_empty() {
            reader.add_splits(restored, &mut ctx)?;
            // Flink's order: what adding the restored splits asked for reaches the enumerator
            // before the reader registers (SourceOperator adds them, then registers the reader).
            let (requested, events) = ctx.take_signals();
            if requested {
                let out = self.enumerator.handle_split_request(subtask, None)?;
                self.pending_outputs.push_back(out);
            }
            for event in events {
                let out = self.enumerator.handle_source_event(subtask, &event)?;
                self.pending_outputs.push_back(out);
            }
        }
        let out = self.enumerator.add_reader(subtask)?;
        self.pending_outputs.push_back(out);
        reader.start(&mut ctx)?;
        Ok(Node {
            reader,
            ctx,
            ended: false,
            lost: false,
        })
    }

    /// Queues an enumerator output; [`Self::drain`] applies it.
    fn apply(&mut self, out: EnumeratorOutput) -> Result<()> {
        self.pending_outputs.push_back(out);
        Ok(())
    }

    /// Applies enumerator decisions and routes reader signals until nothing is left to route.
    fn drain(&mut self) -> Result<()> {
        loop {
            let mut progressed = false;
            while let Some(out) = self.pending_outputs.pop_front() {
                progressed = true;
                self.tasks.extend(out.tasks);
                for command in out.commands {
                    match command {
                        // Flink fails the job for an assignment or "no more splits" to a reader it
                        // does not list. Java hands such splits back to the enumerator, for the
                        // moment between Flink dropping a failed reader and resetting it; the
                        // harness does both in one step, so here it is an enumerator bug.
                        EnumeratorCommand::AssignSplits { subtask, splits } => {
                            let node = self.registered_node(subtask)?;
                            node.reader.add_splits(splits.clone(), &mut node.ctx)?;
                            self.uncheckpointed[subtask as usize].extend(splits);
                        }
                        EnumeratorCommand::SignalNoMoreSplits { subtask } => {
                            let node = self.registered_node(subtask)?;
                            node.reader.notify_no_more_splits(&mut node.ctx)?;
                        }
                        EnumeratorCommand::SendEvent { subtask, event } => {
                            let node = self.node(subtask)?;
                            // Java drops events for unregistered readers.
                            if !node.lost {
                                node.reader.handle_source_event(&event, &mut node.ctx)?;
                            }
                        }
                        EnumeratorCommand::CallAsync { task_id, schedule } => {
                            if let AsyncSchedule::Periodic { .. } = schedule {
                                self.periodic.push(task_id);
                            }
                            self.run_task(task_id)?;
                        }
                    }
                }
            }
            for i in 0..self.nodes.len() {
                if self.nodes[i].lost {
                    continue;
                }
                let (requested, events) = self.nodes[i].ctx.take_signals();
                if requested {
                    progressed = true;
                    let out = self.enumerator.handle_split_request(i as u32, None)?;
                    self.pending_outputs.push_back(out);
                }
                for event in events {
                    progressed = true;
                    let out = self.enumerator.handle_source_event(i as u32, &event)?;
                    self.pending_outputs.push_back(out);
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    fn run_task(&mut self, task_id: u64) -> Result<()> {
        let index = self
            .tasks
            .iter()
            .position(|(id, _)| *id == task_id)
            .ok_or_else(|| BridgeError::other(format!("unknown async task {task_id}")))?;
        let result = (self.tasks[index].1)().map_err(|e| e.to_string());
        if !self.periodic.contains(&task_id) {
            drop(self.tasks.remove(index));
        }
        let out = self.enumerator.handle_async_result(task_id, result)?;
        self.pending_outputs.push_back(out);
        Ok(())
    }

    /// Runs every periodic async task once (Flink would on its timer).
    pub fn tick(&mut self) -> Result<()> {
        for id in self.periodic.clone() {
            self.run_task(id)?;
        }
        self.drain()
    }

    fn node(&mut self, subtask: u32) -> Result<&mut Node> {
        self.nodes
            .get_mut(subtask as usize)
            .ok_or_else(|| BridgeError::other(format!("no reader {subtask}")))
    }

    fn registered_node(&mut self, subtask: u32) -> Result<&mut Node> {
        let node = self.node(subtask)?;
        if node.lost {
            return Err(BridgeError::other(format!(
                "Cannot assign splits to subtask {subtask} because the subtask is not registered"
            )));
        }
        Ok(node)
    }

    /// Loses one reader, as Flink does when its TaskManager goes and the job has more than one
    /// region: the reader is closed and unregistered, and Flink resets the subtask, handing the
    /// enumerator the splits assigned to it since the last checkpoint (`add_splits_back`, with
    /// none too). The enumerator lives on; until [`Self::restart_reader`] an assignment to the
    /// reader fails, as in Flink.
    pub fn fail_reader(&mut self, subtask: u32) -> Result<()> {
        let node = self.node(subtask)?;
        if node.lost {
            return Err(BridgeError::other(format!(
                "reader {subtask} is already lost"
            )));
        }
        node.lost = true;
        node.reader.close()?;
        let back = std::mem::take(&mut self.uncheckpointed[subtask as usize]);
        let out = self.enumerator.add_splits_back(back, subtask)?;
        self.apply(out)?;
        self.drain()
    }

    /// The next attempt of a lost reader: restored from its splits in the last checkpoint, then
    /// registered (`add_reader`).
    pub fn restart_reader(&mut self, subtask: u32) -> Result<()> {
        if !self.node(subtask)?.lost {
            return Err(BridgeError::other(format!("reader {subtask} is not lost")));
        }
        let restored = self.checkpointed[subtask as usize].clone();
        let node = self.start_reader(subtask, self.nodes.len() as u32, restored)?;
        self.nodes[subtask as usize] = node;
        self.drain()
    }

    /// Polls every reader once; returns the batches emitted.
    pub fn poll_all(&mut self) -> Result<Vec<Emitted>> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            let node = &mut self.nodes[i];
            if node.ended || node.lost {
                continue;
            }
            match node.reader.poll_next(&mut node.ctx)? {
                ReaderPoll::Batch(b) => {
                    self.encoded.clear();
                    self.offsets.clear();
                    self.encoder.encode(
                        &b.rows,
                        b.row_kinds.as_deref(),
                        &mut self.encoded,
                        &mut self.offsets,
                    )?;
                    node.reader.batch_emitted(b.num_rows(), self.encoded.len());
                    let kinds = b
                        .row_kinds
                        .clone()
                        .unwrap_or_else(|| vec![RowKind::Insert; b.num_rows()]);
                    out.push(Emitted {
                        subtask: i as u32,
                        rows: b.rows,
                        kinds,
                    });
                }
                ReaderPoll::NothingAvailable { .. } => {}
                ReaderPoll::EndOfInput => node.ended = true,
            }
            self.drain()?;
        }
        Ok(out)
    }

    /// Polls until `done(emitted so far)` holds, every reader ended, or `timeout` passes (an error).
    /// Between idle rounds it waits on the readers' availability signals.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[Emitted]) -> bool,
    ) -> Result<Vec<Emitted>> {
        let deadline = Instant::now() + timeout;
        let mut all = Vec::new();
        loop {
            let epochs: Vec<u64> = self
                .nodes
                .iter()
                .map(|n| n.ctx.availability().epoch())
                .collect();
            let emitted = self.poll_all()?;
            let idle = emitted.is_empty();
            all.extend(emitted);
            if done(&all) || self.all_ended() {
                return Ok(all);
            }
            if Instant::now() >= deadline {
                return Err(BridgeError::other(format!(
                    "timed out after {timeout:?} with {} batches emitted",
                    all.len()
                )));
            }
            if idle {
                self.wait_any(
                    &epochs,
                    deadline.min(Instant::now() + Duration::from_millis(100)),
                );
            }
        }
    }

    /// One round for a driver that handles batches as they come (the preview CLI): polls every
    /// reader once and, when none had data, waits on their availability signals until one
    /// signals or `until` passes (at most 100 ms). Returns the batches of the round.
    pub fn poll_or_wait(&mut self, until: Instant) -> Result<Vec<Emitted>> {
        let epochs: Vec<u64> = self
            .nodes
            .iter()
            .map(|n| n.ctx.availability().epoch())
            .collect();
        let emitted = self.poll_all()?;
        if emitted.is_empty() && !self.all_ended() {
            self.wait_any(
                &epochs,
                until.min(Instant::now() + Duration::from_millis(100)),
            );
        }
        Ok(emitted)
    }

    /// Waits until any live reader's availability moved past `epochs` or `until` passes.
    fn wait_any(&self, epochs: &[u64], until: Instant) {
        // Readers signal independently; waiting on each in turn with a share of the time bounds
        // the latency without spinning.
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].ended && !self.nodes[i].lost)
            .collect();
        if live.is_empty() {
            return;
        }
        for &i in &live {
            if self.nodes[i].ctx.availability().epoch() != epochs[i] {
                return;
            }
        }
        let slice = until.saturating_duration_since(Instant::now()) / live.len() as u32;
        for &i in &live {
            let outcome = self.nodes[i]
                .ctx
                .availability()
                .wait(epochs[i], Some(Instant::now() + slice));
            if outcome != crate::api::WaitOutcome::TimedOut {
                return;
            }
        }
    }

    /// The metrics of reader `subtask` (its `SourceReaderContext#metricGroup`).
    pub fn reader_metrics(&self, subtask: u32) -> &crate::metrics::Metrics {
        self.nodes[subtask as usize].ctx.metrics()
    }

    /// The value of reader `subtask`'s counter or gauge `name`, if registered.
    pub fn reader_metric(&self, subtask: u32, name: &str) -> Option<i64> {
        let metrics = self.reader_metrics(subtask);
        let i = metrics.descriptors().iter().position(|(_, n)| n == name)?;
        metrics.long_value(i).ok()
    }

    /// The value of reader `subtask`'s text gauge `name`, if registered.
    pub fn reader_text_metric(&self, subtask: u32, name: &str) -> Option<String> {
        let metrics = self.reader_metrics(subtask);
        let i = metrics.descriptors().iter().position(|(_, n)| n == name)?;
        metrics.text_value(i).ok()
    }

    /// Waits without polling the readers (a sink that takes nothing) until `done` holds,
    /// checking it again whenever a reader signals availability; an error after `timeout`.
    pub fn wait_without_polling(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let epochs: Vec<u64> = self
                .nodes
                .iter()
                .map(|n| n.ctx.availability().epoch())
                .collect();
            if done(self) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BridgeError::other(format!(
                    "timed out after {timeout:?} waiting without polling"
                )));
            }
            self.wait_any(
                &epochs,
                deadline.min(Instant::now() + Duration::from_millis(100)),
            );
        }
    }

    /// Whether every reader returned `EndOfInput`.
    pub fn all_ended(&self) -> bool {
        self.nodes.iter().all(|n| n.ended)
    }

    /// Takes a checkpoint: the enumerator first, then every reader (Flink's order).
    pub fn checkpoint(&mut self) -> Result<Checkpoint> {
        if let Some(i) = self.nodes.iter().position(|n| n.lost) {
            // Flink completes no checkpoint while a task is down.
            return Err(BridgeError::other(format!(
                "no checkpoint while reader {i} is lost"
            )));
        }
        self.checkpoint_id += 1;
        let id = self.checkpoint_id;
        let enumerator = self.enumerator.snapshot_state(id)?;
        let mut readers = Vec::new();
        for node in &mut self.nodes {
            readers.push(node.reader.snapshot_state(id)?);
        }
        // Assignments from here on (the drain below included) come after this checkpoint.
        self.checkpointed = readers.clone();
        self.uncheckpointed.iter_mut().for_each(Vec::clear);
        let out = self.enumerator.notify_checkpoint_complete(id)?;
        self.apply(out)?;
        for node in &mut self.nodes {
            node.reader.notify_checkpoint_complete(id)?;
        }
        self.drain()?;
        Ok(Checkpoint {
            enumerator,
            readers,
        })
    }

    /// Closes readers and enumerator.
    pub fn close(mut self) -> Result<()> {
        for node in self.nodes.iter_mut().filter(|n| !n.lost) {
            node.reader.close()?;
        }
        self.enumerator.close()
    }
}

/// The directory of golden checkpoint bytes (`testdata/state/`, its README says how each file
/// was produced).
pub fn golden_state_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/state")
}

/// The golden checkpoint file `name` as committed.
pub fn read_golden_state(name: &str) -> Vec<u8> {
    let path = golden_state_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("golden state {}: {e}", path.display()))
}

/// Asserts that `encoded`, a connector's documented sample state encoded by this build, equals
/// the golden file `name` byte for byte: a state type changed without a new `STATE_VERSION`
/// fails here. A missing file is written when `STATE_GOLDEN_WRITE=1` (the first run of a new
/// version); an existing one is never rewritten, as a version's bytes never change.
pub fn assert_golden_state(name: &str, encoded: &[u8]) {
    let path = golden_state_dir().join(name);
    if !path.exists() && std::env::var_os("STATE_GOLDEN_WRITE").is_some_and(|v| v == "1") {
        std::fs::write(&path, encoded).unwrap();
    }
    let golden = read_golden_state(name);
    assert!(
        golden == encoded,
        "{name}: this build encodes the sample state differently from the golden bytes of its \
         version ({} bytes, golden {}). A checkpointed type changed: bump the connector's \
         STATE_VERSION, freeze the old types and upgrade them (docs/architecture.md, \
         \"State versions\"), and add golden files of the new version; never rewrite these.",
        encoded.len(),
        golden.len()
    );
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::api::{
        Boundedness, ChangeBatch, EnumeratorContext, Source, SourceReader, SourceSplit,
        SplitEnumerator,
    };
    use crate::runtime::erase;
    use crate::types::RowType;

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Id(i64);

    impl SourceSplit for Id {
        fn split_id(&self) -> String {
            self.0.to_string()
        }
    }

    /// Splits come from a periodic discovery task (one per run); readers that asked wait for
    /// one, and only registered readers are served: mysql-cdc's pattern.
    struct Discovering(RowType);

    #[derive(Default)]
    struct DiscoveringEnumerator {
        pending: VecDeque<Id>,
        waiting: BTreeSet<u32>,
    }

    impl DiscoveringEnumerator {
        fn serve_waiting(&mut self, ctx: &mut EnumeratorContext<Id>) {
            for subtask in self.waiting.clone() {
                if !ctx.registered_readers().contains(&subtask) {
                    self.waiting.remove(&subtask);
                } else if let Some(split) = self.pending.pop_front() {
                    self.waiting.remove(&subtask);
                    ctx.assign_split(subtask, split);
                }
            }
        }
    }

    impl SplitEnumerator for DiscoveringEnumerator {
        type Split = Id;
        type State = ();
        fn start(&mut self, ctx: &mut EnumeratorContext<Id>) -> Result<()> {
            let mut next = 0i64;
            let task = move || {
                next += 1;
                Ok((next - 1).to_le_bytes().to_vec())
            };
            let period = Duration::from_secs(1);
            ctx.call_async(
                Box::new(task),
                AsyncSchedule::Periodic {
                    initial_delay: period,
                    period,
                },
            );
            Ok(())
        }
        fn handle_split_request(
            &mut self,
            subtask: u32,
            _: Option<&str>,
            ctx: &mut EnumeratorContext<Id>,
        ) -> Result<()> {
            self.waiting.insert(subtask);
            self.serve_waiting(ctx);
            Ok(())
        }
        fn add_reader(&mut self, _: u32, _: &mut EnumeratorContext<Id>) -> Result<()> {
            Ok(())
        }
        fn add_splits_back(
            &mut self,
            splits: Vec<Id>,
            _: u32,
            ctx: &mut EnumeratorContext<Id>,
        ) -> Result<()> {
            self.pending.extend(splits);
            self.serve_waiting(ctx);
            Ok(())
        }
        fn snapshot_state(&mut self, _: u64) -> Result<()> {
            Ok(())
        }
        fn handle_async_result(
            &mut self,
            _: u64,
            result: std::result::Result<Vec<u8>, String>,
            ctx: &mut EnumeratorContext<Id>,
        ) -> Result<()> {
            let bytes: [u8; 8] = result
                .map_err(BridgeError::other)?
                .try_into()
                .expect("an i64");
            self.pending.push_back(Id(i64::from_le_bytes(bytes)));
            self.serve_waiting(ctx);
            Ok(())
        }
    }

    /// Emits each split's id as one row, and asks for a split whenever it has none.
    struct IdReader(RowType, VecDeque<Id>);

    impl SourceReader for IdReader {
        type Split = Id;
        fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
            ctx.request_split();
            Ok(())
        }
        fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
            let Some(Id(id)) = self.1.pop_front() else {
                return Ok(ReaderPoll::NothingAvailable { retry_after: None });
            };
            if self.1.is_empty() {
                ctx.request_split();
            }
            let ids = Arc::new(Int64Array::from(vec![id]));
            Ok(ReaderPoll::Batch(ChangeBatch::inserts(
                RecordBatch::try_new(self.0.arrow_schema(), vec![ids])?,
            )))
        }
        fn add_splits(&mut self, splits: Vec<Id>, _: &mut ReaderContext) -> Result<()> {
            self.1.extend(splits);
            Ok(())
        }
        fn notify_no_more_splits(&mut self, _: &mut ReaderContext) -> Result<()> {
            Ok(())
        }
        fn snapshot_state(&mut self, _: u64) -> Result<Vec<Id>> {
            Ok(self.1.iter().cloned().collect())
        }
    }

    impl Source for Discovering {
        type Split = Id;
        type EnumeratorState = ();
        type Enumerator = DiscoveringEnumerator;
        type Reader = IdReader;
        fn boundedness(&self) -> Boundedness {
            Boundedness::ContinuousUnbounded
        }
        fn row_type(&self) -> &RowType {
            &self.0
        }
        fn create_enumerator(
            &self,
            _: &EnumeratorInit,
            _: Option<()>,
        ) -> Result<DiscoveringEnumerator> {
            Ok(DiscoveringEnumerator::default())
        }
        fn create_reader(&self, _: &ReaderInit) -> Result<IdReader> {
            Ok(IdReader(self.0.clone(), VecDeque::new()))
        }
    }

    fn ids_by_reader(emitted: &[Emitted]) -> Vec<(u32, i64)> {
        let mut out: Vec<(u32, i64)> = emitted
            .iter()
            .flat_map(|e| {
                let ids = e
                    .rows
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("BIGINT")
                    .clone();
                (0..ids.len()).map(move |i| (e.subtask, ids.value(i)))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// A reader that asked for a split and was lost before one came: Flink resets it
    /// (`add_splits_back` with no splits) and the enumerator lives on. Before rust-core
    /// unregistered reset readers, the enumerator still saw the lost reader as registered and
    /// gave it the next split: Flink failed the job ("the subtask is not registered").
    #[test]
    fn a_reader_lost_while_waiting_gets_nothing_until_it_registers_again() {
        let source = erase(Discovering(RowType::parse(&["id"], &["BIGINT"]).unwrap()));
        let mut h = Harness::new(source.as_ref(), 2, 16).unwrap();
        // Discovery ran once at start: split 0 went to reader 0, reader 1 waits.
        h.fail_reader(1).unwrap();
        // Split 1: reader 0 has not asked again, reader 1 is gone, so it stays pending.
        h.tick().unwrap();
        // Reader 0 emits split 0 and asks again: it gets split 1.
        let emitted = h
            .run_until(Duration::from_secs(10), |e| e.len() == 2)
            .unwrap();
        assert_eq!(ids_by_reader(&emitted), vec![(0, 0), (0, 1)]);

        // The restarted reader asks when it starts; both readers wait, in subtask order.
        h.restart_reader(1).unwrap();
        h.tick().unwrap();
        h.tick().unwrap();
        let emitted = h
            .run_until(Duration::from_secs(10), |e| e.len() == 2)
            .unwrap();
        assert_eq!(ids_by_reader(&emitted), vec![(0, 2), (1, 3)]);
        h.close().unwrap();
    }
}
