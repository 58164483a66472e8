//! The decorators that enforce a source's rate limits around the connector's type-erased source,
//! enumerator and reader. The connector's code runs unchanged inside them.
//!
//! - [`RateLimitedReader`] keeps the reader to its share with a [`DebtBucket`] per limited
//!   quantity: before polling the connector, a reader in debt answers `NothingAvailable` with the
//!   time until its debt is paid (Java waits that long without a thread of ours, see
//!   `AvailabilityWaiter`); after a batch is encoded it pays for its rows and bytes
//!   ([`DynReader::batch_emitted`]). It tells the enumerator when it becomes idle or active.
//! - [`SharingEnumerator`] counts active readers ([`ShareCoordinator`]) and answers with shares.
//! - Both frame every source event with a tag byte ([`super::share`]), so rust-core's own events
//!   never reach the connector and the connector's reach it unchanged.
//!
//! A reader in debt keeps its share until the debt is paid, even if it has nothing left to read:
//! the rows it owes for were emitted beyond its share, and giving the share away at once would
//! let the source exceed its limit on average.

use std::sync::Arc;
use std::time::Instant;

use crate::api::Boundedness;
use crate::api::{EnumeratorCommand, EnumeratorInit, ReaderContext, ReaderInit, ReaderPoll};
use crate::error::{BridgeError, Result};
use crate::protocol::SplitBytes;
use crate::rate_limit::bucket::DebtBucket;
use crate::rate_limit::share::{
    frame_connector, unframe, Activity, Framed, ReaderShare, ShareCoordinator,
};
use crate::rate_limit::RateLimits;
use crate::row::binary::fixed_length_part_size;
use crate::runtime::{DynEnumerator, DynReader, DynSource, EnumeratorOutput};
use crate::types::RowType;

/// Where readers get the time; a fake one in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Instant + Send + Sync>);

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Clock(Arc::new(Instant::now))
    }

    /// A clock that reads `now` (tests drive time with it).
    pub fn new(now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    fn now(&self) -> Instant {
        (self.0)()
    }
}

/// The source with `limits` enforced; the source itself when it has none (no framing, no cost).
pub fn with_rate_limits(source: Box<dyn DynSource>, limits: RateLimits) -> Box<dyn DynSource> {
    with_rate_limits_and_clock(source, limits, Clock::system())
}

/// [`with_rate_limits`] with the readers' clock given (tests).
pub fn with_rate_limits_and_clock(
    source: Box<dyn DynSource>,
    limits: RateLimits,
    clock: Clock,
) -> Box<dyn DynSource> {
    if limits.is_unlimited() {
        source
    } else {
        Box::new(RateLimitedSource {
            inner: source,
            limits,
            clock,
        })
    }
}

/// A batch should take about this long at the reader's initial share: small enough that a batch
/// does not overshoot the limit by much between two polls, large enough to amortise the JNI call.
const BATCH_SECONDS: f64 = 0.1;

/// The rows per batch a reader should aim for under `limits`: about `BATCH_SECONDS` of its
/// initial share (`limit / parallelism`), never more than `default`. For a bytes limit the row
/// size is taken as the fixed part of a `BinaryRowData`, a lower bound.
pub fn batch_rows_hint(
    limits: &RateLimits,
    parallelism: u32,
    row_type: &RowType,
    default: usize,
) -> usize {
    let per_reader = |limit: u64| limit as f64 / f64::from(parallelism.max(1)) * BATCH_SECONDS;
    let mut rows = default as f64;
    if let Some(limit) = limits.rows_per_second {
        rows = rows.min(per_reader(limit.get()));
    }
    if let Some(limit) = limits.bytes_per_second {
        rows = rows.min(per_reader(limit.get()) / fixed_length_part_size(row_type.arity()) as f64);
    }
    (rows.floor() as usize).clamp(1, default.max(1))
}

struct RateLimitedSource {
    inner: Box<dyn DynSource>,
    limits: RateLimits,
    clock: Clock,
}

impl DynSource for RateLimitedSource {
    fn boundedness(&self) -> Boundedness {
        self.inner.boundedness()
    }

    fn row_type(&self) -> &RowType {
        self.inner.row_type()
    }

    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored_state: Option<&[u8]>,
    ) -> Result<Box<dyn DynEnumerator>> {
        Ok(Box::new(SharingEnumerator {
            inner: self.inner.create_enumerator(init, restored_state)?,
            shares: ShareCoordinator::new(init.parallelism),
        }))
    }

    fn create_reader(&self, init: &ReaderInit) -> Result<Box<dyn DynReader>> {
        let inner = self.inner.create_reader(init)?;
        Ok(Box::new(RateLimitedReader::new(
            inner,
            self.limits,
            init.parallelism,
            self.clock.clone(),
        )))
    }

    fn reader_init(&self, init: ReaderInit) -> ReaderInit {
        let mut init = self.inner.reader_init(init);
        init.batch_rows = batch_rows_hint(
            &self.limits,
            init.parallelism,
            self.row_type(),
            init.batch_rows,
        );
        init
    }

    fn preflight(&self) -> Result<()> {
        self.inner.preflight()
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerator
// ---------------------------------------------------------------------------------------------

/// The connector's enumerator, plus the share bookkeeping.
pub struct SharingEnumerator {
    inner: Box<dyn DynEnumerator>,
    shares: ShareCoordinator,
}

impl SharingEnumerator {
    /// Frames the connector's events and appends the share events to send.
    fn output(
        mut out: EnumeratorOutput,
        shares: Vec<(u32, super::share::Share)>,
    ) -> EnumeratorOutput {
        for command in &mut out.commands {
            if let EnumeratorCommand::SendEvent { event, .. } = command {
                *event = frame_connector(event);
            }
        }
        out.commands
            .extend(
                shares
                    .into_iter()
                    .map(|(subtask, share)| EnumeratorCommand::SendEvent {
                        subtask,
                        event: share.encode(),
                    }),
            );
        out
    }

    fn framed(out: Result<EnumeratorOutput>) -> Result<EnumeratorOutput> {
        out.map(|out| Self::output(out, Vec::new()))
    }
}

impl DynEnumerator for SharingEnumerator {
    fn start(&mut self) -> Result<EnumeratorOutput> {
        Self::framed(self.inner.start())
    }

    fn handle_split_request(
        &mut self,
        subtask: u32,
        hostname: Option<&str>,
    ) -> Result<EnumeratorOutput> {
        Self::framed(self.inner.handle_split_request(subtask, hostname))
    }

    fn add_reader(&mut self, subtask: u32) -> Result<EnumeratorOutput> {
        let out = self.inner.add_reader(subtask)?;
        Ok(Self::output(out, self.shares.add_reader(subtask)))
    }

    /// Flink gives splits back when it resets a failed reader: it gets no events until it
    /// registers again.
    fn add_splits_back(
        &mut self,
        splits: Vec<SplitBytes>,
        subtask: u32,
    ) -> Result<EnumeratorOutput> {
        let out = self.inner.add_splits_back(splits, subtask)?;
        Ok(Self::output(out, self.shares.reset_reader(subtask)))
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>> {
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<EnumeratorOutput> {
        Self::framed(self.inner.notify_checkpoint_complete(checkpoint_id))
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<()> {
        self.inner.notify_checkpoint_aborted(checkpoint_id)
    }

    fn handle_source_event(&mut self, subtask: u32, event: &[u8]) -> Result<EnumeratorOutput> {
        match unframe(event)? {
            Framed::Connector(event) => {
                Self::framed(self.inner.handle_source_event(subtask, event))
            }
            Framed::Activity(report) => {
                let shares = self.shares.report(subtask, report);
                Ok(Self::output(
                    EnumeratorOutput {
                        commands: Vec::new(),
                        tasks: Vec::new(),
                    },
                    shares,
                ))
            }
            Framed::Share(_) => Err(BridgeError::other(format!(
                "reader {subtask} sent a share event to the enumerator"
            ))),
        }
    }

    fn handle_async_result(
        &mut self,
        task_id: u64,
        result: std::result::Result<Vec<u8>, String>,
    ) -> Result<EnumeratorOutput> {
        Self::framed(self.inner.handle_async_result(task_id, result))
    }

    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }

    fn metrics(&self) -> crate::metrics::Metrics {
        self.inner.metrics()
    }
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// The connector's reader, kept to its share of the source's limits.
pub struct RateLimitedReader {
    inner: Box<dyn DynReader>,
    limits: RateLimits,
    share: ReaderShare,
    rows: Option<DebtBucket>,
    bytes: Option<DebtBucket>,
    /// The connector asked for a split and none has arrived since.
    awaiting_split: bool,
    clock: Clock,
}

impl RateLimitedReader {
    /// Wraps the connector's reader: `limits` are the whole source's, divided among up to
    /// `parallelism` readers as the enumerator tells this one.
    pub fn new(
        inner: Box<dyn DynReader>,
        limits: RateLimits,
        parallelism: u32,
        clock: Clock,
    ) -> Self {
        let share = ReaderShare::new(parallelism);
        let now = clock.now();
        let n = f64::from(share.active_readers());
        RateLimitedReader {
            inner,
            limits,
            rows: limits
                .rows_per_second
                .map(|l| DebtBucket::new(l.get() as f64 / n, now)),
            bytes: limits
                .bytes_per_second
                .map(|l| DebtBucket::new(l.get() as f64 / n, now)),
            share,
            awaiting_split: false,
            clock,
        }
    }

    /// Runs a connector callback, then frames the events it recorded and notes a split request.
    fn around<T>(
        &mut self,
        ctx: &mut ReaderContext,
        f: impl FnOnce(&mut dyn DynReader, &mut ReaderContext) -> T,
    ) -> T {
        let before = ctx.events_mut().len();
        let result = f(self.inner.as_mut(), ctx);
        for event in &mut ctx.events_mut()[before..] {
            *event = frame_connector(event);
        }
        if ctx.awaiting_split() {
            self.awaiting_split = true;
        }
        result
    }

    fn set_activity(&mut self, activity: Activity, ctx: &mut ReaderContext) {
        if let Some(report) = self.share.set_activity(activity) {
            ctx.events_mut().push(report.encode());
            self.apply_share();
        }
    }

    /// Sets each bucket's rate to the limit divided by the current number of active readers.
    fn apply_share(&mut self) {
        let now = self.clock.now();
        let n = f64::from(self.share.active_readers());
        if let (Some(bucket), Some(limit)) = (&mut self.rows, self.limits.rows_per_second) {
            bucket.set_rate(limit.get() as f64 / n, now);
        }
        if let (Some(bucket), Some(limit)) = (&mut self.bytes, self.limits.bytes_per_second) {
            bucket.set_rate(limit.get() as f64 / n, now);
        }
    }

    /// The rate this reader is held to now, rows per second (tests).
    pub fn rows_rate(&self) -> Option<f64> {
        self.rows.as_ref().map(DebtBucket::rate)
    }
}

impl DynReader for RateLimitedReader {
    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        self.around(ctx, |r, ctx| r.start(ctx))
    }

    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        let now = self.clock.now();
        let wait = [&self.rows, &self.bytes]
            .into_iter()
            .flatten()
            .filter_map(|b| b.wait(now))
            .max();
        if wait.is_some() {
            return Ok(ReaderPoll::NothingAvailable { retry_after: wait });
        }
        let poll = self.around(ctx, |r, ctx| r.poll_next(ctx))?;
        match &poll {
            ReaderPoll::Batch(_) => self.set_activity(Activity::Active, ctx),
            ReaderPoll::EndOfInput => self.set_activity(Activity::Idle, ctx),
            ReaderPoll::NothingAvailable { .. } if self.awaiting_split => {
                self.set_activity(Activity::Idle, ctx)
            }
            ReaderPoll::NothingAvailable { .. } => {}
        }
        Ok(poll)
    }

    fn batch_emitted(&mut self, rows: usize, encoded_bytes: usize) {
        let now = self.clock.now();
        if let Some(bucket) = &mut self.rows {
            bucket.charge(rows as f64, now);
        }
        if let Some(bucket) = &mut self.bytes {
            bucket.charge(encoded_bytes as f64, now);
        }
    }

    fn add_splits(&mut self, splits: Vec<SplitBytes>, ctx: &mut ReaderContext) -> Result<()> {
        self.awaiting_split = false;
        self.around(ctx, |r, ctx| r.add_splits(splits, ctx))?;
        self.set_activity(Activity::Active, ctx);
        Ok(())
    }

    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        // No split will come: the reader ends once it drained its own (then it reports idle).
        self.awaiting_split = false;
        self.around(ctx, |r, ctx| r.notify_no_more_splits(ctx))
    }

    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<SplitBytes>> {
        self.inner.snapshot_state(checkpoint_id)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<()> {
        self.inner.notify_checkpoint_complete(checkpoint_id)
    }

    fn handle_source_event(&mut self, event: &[u8], ctx: &mut ReaderContext) -> Result<()> {
        match unframe(event)? {
            Framed::Connector(event) => {
                self.around(ctx, |r, ctx| r.handle_source_event(event, ctx))
            }
            Framed::Share(share) => {
                if self.share.apply(share) {
                    self.apply_share();
                }
                Ok(())
            }
            Framed::Activity(_) => Err(BridgeError::other(
                "the enumerator sent an activity report to a reader",
            )),
        }
    }

    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }
}
