//! An in-process stand-in for Flink, for connector tests: one enumerator and its readers wired
//! the way the Java layer wires them (split requests, assignments, source events both ways,
//! `callAsync` tasks, checkpoints and restores), without a JVM. A failure is modelled the way Flink
//! restarts a connected job: everything restores from the last checkpoint ([`Harness::restore`]).
//!
//! Async enumerator tasks run inline when issued, so a test is deterministic given the reader
//! timing. When no reader has data, [`Harness::run_until`] waits on the readers' availability
//! signals (condition variables), never spins.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;

use crate::api::{AsyncSchedule, EnumeratorCommand, EnumeratorInit, ReaderContext, ReaderInit, ReaderPoll, RowKind};
use crate::error::Result;
use crate::protocol::SplitBytes;
use crate::row::BinaryRowEncoder;
use crate::runtime::{DynEnumerator, DynReader, DynSource, EnumeratorOutput};
use crate::BridgeError;

/// One emitted batch, with its reader.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub subtask: u32,
    pub rows: RecordBatch,
    pub kinds: Vec<RowKind>,
}

struct Node {
    reader: Box<dyn DynReader>,
    ctx: ReaderContext,
    ended: bool,
}

/// Checkpointed state of a harness: enumerator bytes and each reader's splits.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub enumerator: Vec<u8>,
    pub readers: Vec<Vec<SplitBytes>>,
}

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
    /// Encodes each batch as the runtime does, to report its size ([`DynReader::batch_emitted`]).
    encoder: BinaryRowEncoder,
    encoded: Vec<u8>,
    offsets: Vec<i32>,
}

impl<'a> Harness<'a> {
    pub fn new(source: &'a dyn DynSource, parallelism: u32, batch_rows: usize) -> Result<Self> {
        Self::build(source, parallelism, batch_rows, None)
    }

    /// A harness restored from `checkpoint` (parallelism = its reader count).
    pub fn restore(source: &'a dyn DynSource, checkpoint: &Checkpoint, batch_rows: usize) -> Result<Self> {
        Self::build(source, checkpoint.readers.len() as u32, batch_rows, Some(checkpoint))
    }

    fn build(
        source: &'a dyn DynSource,
        parallelism: u32,
        batch_rows: usize,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Self> {
        let enumerator =
            source.create_enumerator(&EnumeratorInit { parallelism }, checkpoint.map(|c| c.enumerator.as_slice()))?;
        let mut h = Harness {
            source,
            enumerator,
            nodes: Vec::new(),
            batch_rows,
            periodic: Vec::new(),
            pending_outputs: VecDeque::new(),
            tasks: Vec::new(),
            checkpoint_id: 0,
            encoder: BinaryRowEncoder::new(source.row_type()),
            encoded: Vec::new(),
            offsets: Vec::new(),
        };
        let out = h.enumerator.start()?;
        h.apply(out)?;
        for i in 0..parallelism {
            let restored = checkpoint.map(|c| c.readers[i as usize].clone()).unwrap_or_default();
            let node = h.start_reader(i, parallelism, restored)?;
            h.nodes.push(node);
        }
        h.drain()?;
        Ok(h)
    }

    fn start_reader(&mut self, subtask: u32, parallelism: u32, restored: Vec<SplitBytes>) -> Result<Node> {
        let init = self.source.reader_init(ReaderInit { subtask_index: subtask, parallelism, batch_rows: self.batch_rows });
        let mut reader = self.source.create_reader(&init)?;
        let mut ctx = ReaderContext::new(init);
        if !restored.is_empty() {
            reader.add_splits(restored, &mut ctx)?;
        }
        let out = self.enumerator.add_reader(subtask)?;
        self.pending_outputs.push_back(out);
        reader.start(&mut ctx)?;
        Ok(Node { reader, ctx, ended: false })
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
                        EnumeratorCommand::AssignSplits { subtask, splits } => {
                            let node = self.node(subtask)?;
                            node.reader.add_splits(splits, &mut node.ctx)?;
                        }
                        EnumeratorCommand::SignalNoMoreSplits { subtask } => {
                            let node = self.node(subtask)?;
                            node.reader.notify_no_more_splits(&mut node.ctx)?;
                        }
                        EnumeratorCommand::SendEvent { subtask, event } => {
                            let node = self.node(subtask)?;
                            node.reader.handle_source_event(&event, &mut node.ctx)?;
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

    /// Polls every reader once; returns the batches emitted.
    pub fn poll_all(&mut self) -> Result<Vec<Emitted>> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            let node = &mut self.nodes[i];
            if node.ended {
                continue;
            }
            match node.reader.poll_next(&mut node.ctx)? {
                ReaderPoll::Batch(b) => {
                    self.encoded.clear();
                    self.offsets.clear();
                    self.encoder.encode(&b.rows, b.row_kinds.as_deref(), &mut self.encoded, &mut self.offsets)?;
                    node.reader.batch_emitted(b.num_rows(), self.encoded.len());
                    let kinds = b.row_kinds.clone().unwrap_or_else(|| vec![RowKind::Insert; b.num_rows()]);
                    out.push(Emitted { subtask: i as u32, rows: b.rows, kinds });
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
            let epochs: Vec<u64> = self.nodes.iter().map(|n| n.ctx.availability().epoch()).collect();
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
                self.wait_any(&epochs, deadline.min(Instant::now() + Duration::from_millis(100)));
            }
        }
    }

    /// Waits until any live reader's availability moved past `epochs` or `until` passes.
    fn wait_any(&self, epochs: &[u64], until: Instant) {
        // Readers signal independently; waiting on each in turn with a share of the time bounds
        // the latency without spinning.
        let live: Vec<usize> = (0..self.nodes.len()).filter(|&i| !self.nodes[i].ended).collect();
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
            let outcome = self.nodes[i].ctx.availability().wait(epochs[i], Some(Instant::now() + slice));
            if outcome != crate::api::WaitOutcome::TimedOut {
                return;
            }
        }
    }

    pub fn all_ended(&self) -> bool {
        self.nodes.iter().all(|n| n.ended)
    }

    /// Takes a checkpoint: the enumerator first, then every reader (Flink's order).
    pub fn checkpoint(&mut self) -> Result<Checkpoint> {
        self.checkpoint_id += 1;
        let id = self.checkpoint_id;
        let enumerator = self.enumerator.snapshot_state(id)?;
        let mut readers = Vec::new();
        for node in &mut self.nodes {
            readers.push(node.reader.snapshot_state(id)?);
        }
        let out = self.enumerator.notify_checkpoint_complete(id)?;
        self.apply(out)?;
        for node in &mut self.nodes {
            node.reader.notify_checkpoint_complete(id)?;
        }
        self.drain()?;
        Ok(Checkpoint { enumerator, readers })
    }

    /// Closes readers and enumerator.
    pub fn close(mut self) -> Result<()> {
        for node in &mut self.nodes {
            node.reader.close()?;
        }
        self.enumerator.close()
    }
}
