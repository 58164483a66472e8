//! The source: row indexes cut into splits, pulled by readers one at a time.
//!
//! Output is modelled as row indexes. A bounded source (a `number-of-rows` or a sequence field)
//! cuts `[0, total)` into a few splits per reader; row `i`'s sequence values are `start + i`, so
//! every value appears exactly once whatever the parallelism, and a split's state is just its
//! next unread index. An unbounded source gives each reader one endless split.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use rust_core::api::{
    Boundedness, ChangeBatch, EnumeratorContext, EnumeratorInit, ReaderContext, ReaderInit,
    ReaderPoll, Source, SourceReader, SourceSplit, SplitEnumerator,
};
use rust_core::types::RowType;
use rust_core::Result;

use crate::config::DatagenConfig;
use crate::generate::{self, BatchInfo, ColumnGenerator};

/// Splits per reader for a bounded source: enough for a fast reader to take over a slow one's
/// share, few enough that split requests cost nothing.
pub const SPLITS_PER_READER: u64 = 4;
/// The smallest split worth a round trip to the enumerator.
pub const MIN_SPLIT_ROWS: u64 = 4096;
/// Batches are at most about this many bytes (long strings make batches of fewer rows).
pub const MAX_BATCH_BYTES: usize = 32 << 20;
/// A rate-limited reader emits about this much of a second's rows per batch, so low rates
/// stay smooth (10 rows/s: one row every 100 ms).
const BATCH_INTERVAL_SECS: f64 = 0.1;

/// A range of row indexes: `[next, end)`, or `[next, ∞)` for an unbounded source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatagenSplit {
    pub id: u64,
    /// The next row index to emit.
    pub next: u64,
    /// Exclusive end; `None` for an unbounded split.
    pub end: Option<u64>,
}

impl DatagenSplit {
    fn remaining(&self) -> u64 {
        self.end
            .map_or(u64::MAX, |end| end.saturating_sub(self.next))
    }
}

impl SourceSplit for DatagenSplit {
    fn split_id(&self) -> String {
        format!("datagen-{}", self.id)
    }
}

/// The enumerator's checkpoint: splits not assigned to any reader. Assigned splits are in the
/// readers' state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatagenEnumeratorState {
    pub pending: Vec<DatagenSplit>,
    /// The id the next split created on demand (unbounded sources) gets.
    pub next_split_id: u64,
}

pub struct DatagenSource {
    pub(crate) config: Arc<DatagenConfig>,
    pub(crate) row_type: RowType,
    pub(crate) schema: SchemaRef,
}

impl DatagenSource {
    pub fn new(config: DatagenConfig, row_type: RowType) -> Self {
        let schema = row_type.arrow_schema();
        DatagenSource {
            config: Arc::new(config),
            row_type,
            schema,
        }
    }
}

/// Cuts `[0, total)` into at most `SPLITS_PER_READER` splits per reader of at least
/// `MIN_SPLIT_ROWS` rows each, but never fewer splits than readers (while there are rows for
/// them): each reader emits only its share of `rows-per-second`, so a reader without a split
/// would leave its share unused. None when the total is zero.
pub fn plan_splits(total: u64, parallelism: u32) -> Vec<DatagenSplit> {
    if total == 0 {
        return Vec::new();
    }
    let readers = u64::from(parallelism.max(1));
    let by_size = total.div_ceil(MIN_SPLIT_ROWS);
    let count = by_size
        .min(SPLITS_PER_READER * readers)
        .max(readers.min(total))
        .max(1);
    let bound = |k: u64| (u128::from(total) * u128::from(k) / u128::from(count)) as u64;
    (0..count)
        .map(|k| DatagenSplit {
            id: k,
            next: bound(k),
            end: Some(bound(k + 1)),
        })
        .collect()
}

impl Source for DatagenSource {
    type Split = DatagenSplit;
    type EnumeratorState = DatagenEnumeratorState;
    type Enumerator = DatagenEnumerator;
    type Reader = DatagenReader;

    fn boundedness(&self) -> Boundedness {
        match self.config.total_rows() {
            Some(_) => Boundedness::Bounded,
            None => Boundedness::ContinuousUnbounded,
        }
    }

    fn row_type(&self) -> &RowType {
        &self.row_type
    }

    fn create_enumerator(
        &self,
        init: &EnumeratorInit,
        restored: Option<DatagenEnumeratorState>,
    ) -> Result<DatagenEnumerator> {
        let bounded = self.config.total_rows().is_some();
        let state = match restored {
            Some(state) => state,
            None => {
                let pending = self
                    .config
                    .total_rows()
                    .map(|t| plan_splits(t, init.parallelism))
                    .unwrap_or_default();
                DatagenEnumeratorState {
                    next_split_id: pending.len() as u64,
                    pending,
                }
            }
        };
        tracing::debug!(
            target: "connector_datagen",
            bounded,
            pending = state.pending.len(),
            parallelism = init.parallelism,
            "datagen enumerator created"
        );
        Ok(DatagenEnumerator {
            pending: state.pending.into(),
            next_split_id: state.next_split_id,
            bounded,
        })
    }

    fn create_reader(&self, init: &ReaderInit) -> Result<DatagenReader> {
        DatagenReader::new(&self.config, self.schema.clone(), init)
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerator
// ---------------------------------------------------------------------------------------------

/// Hands out splits on request (pull): pending ones first; then, for a bounded source, "no more
/// splits", and for an unbounded one a fresh endless split (a reader asks only when it has none,
/// so after a rescale every reader still gets one).
pub struct DatagenEnumerator {
    pending: VecDeque<DatagenSplit>,
    next_split_id: u64,
    bounded: bool,
}

impl SplitEnumerator for DatagenEnumerator {
    type Split = DatagenSplit;
    type State = DatagenEnumeratorState;

    fn start(&mut self, _ctx: &mut EnumeratorContext<DatagenSplit>) -> Result<()> {
        Ok(())
    }

    fn handle_split_request(
        &mut self,
        subtask: u32,
        _hostname: Option<&str>,
        ctx: &mut EnumeratorContext<DatagenSplit>,
    ) -> Result<()> {
        if let Some(split) = self.pending.pop_front() {
            tracing::debug!(target: "connector_datagen", subtask, split = ?split, "assigning split");
            ctx.assign_split(subtask, split);
        } else if self.bounded {
            ctx.signal_no_more_splits(subtask);
        } else {
            let split = DatagenSplit {
                id: self.next_split_id,
                next: 0,
                end: None,
            };
            self.next_split_id += 1;
            ctx.assign_split(subtask, split);
        }
        Ok(())
    }

    /// Readers ask for splits themselves when they start.
    fn add_reader(
        &mut self,
        _subtask: u32,
        _ctx: &mut EnumeratorContext<DatagenSplit>,
    ) -> Result<()> {
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<DatagenSplit>,
        subtask: u32,
        _ctx: &mut EnumeratorContext<DatagenSplit>,
    ) -> Result<()> {
        tracing::debug!(target: "connector_datagen", subtask, count = splits.len(), "splits added back");
        for split in splits.into_iter().rev() {
            self.pending.push_front(split);
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<DatagenEnumeratorState> {
        Ok(DatagenEnumeratorState {
            pending: self.pending.iter().cloned().collect(),
            next_split_id: self.next_split_id,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Rate
// ---------------------------------------------------------------------------------------------

/// A token bucket on a monotonic clock: credit grows at `rate` rows per second up to `burst`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    credit: f64,
    last: Instant,
}

impl RateLimiter {
    /// Starts with `initial` rows of credit so the first batch goes out at once.
    pub(crate) fn new(rate: f64, burst: f64, initial: f64, now: Instant) -> Self {
        RateLimiter {
            rate,
            burst,
            credit: initial.min(burst),
            last: now,
        }
    }

    /// Takes `rows` of credit, or says how long until there is enough.
    pub(crate) fn try_acquire(
        &mut self,
        rows: u64,
        now: Instant,
    ) -> std::result::Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.credit = (self.credit + elapsed * self.rate).min(self.burst);
        let rows = rows as f64;
        // The tolerance keeps float rounding from refusing a batch that is exactly due.
        if self.credit + 1e-6 >= rows {
            self.credit -= rows;
            return Ok(());
        }
        let secs = (rows - self.credit) / self.rate;
        // Round up to whole microseconds, so the retry never comes too early.
        Err(Duration::from_micros((secs * 1e6).ceil().max(1.0) as u64))
    }
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

pub struct DatagenReader {
    schema: SchemaRef,
    columns: Vec<Box<dyn ColumnGenerator>>,
    /// Owned splits; the front one is being read.
    splits: VecDeque<DatagenSplit>,
    no_more_splits: bool,
    /// A split request is outstanding.
    awaiting_split: bool,
    limiter: RateLimiter,
    max_batch_rows: u64,
    rng: SmallRng,
    /// Flink's `pendingRecords`: rows left in the splits this reader owns, while all are bounded.
    pending_records: Option<rust_core::metrics::Gauge>,
}

impl DatagenReader {
    fn new(config: &DatagenConfig, schema: SchemaRef, init: &ReaderInit) -> Result<Self> {
        let columns = config
            .fields
            .iter()
            .map(generate::build)
            .collect::<Result<Vec<_>>>()?;
        let rate = config.rows_per_second as f64 / f64::from(init.parallelism.max(1));
        let row_bytes: usize = config
            .fields
            .iter()
            .map(generate::max_value_bytes)
            .sum::<usize>()
            .max(1);
        let by_rate = (rate * BATCH_INTERVAL_SECS).floor().max(1.0);
        let max_batch_rows = (init.batch_rows.max(1) as u64)
            .min(by_rate as u64)
            .min((MAX_BATCH_BYTES / row_bytes).max(1) as u64);
        // Credit for two batches absorbs a late wake-up without ever bursting further.
        let limiter = RateLimiter::new(
            rate,
            2.0 * max_batch_rows as f64,
            max_batch_rows as f64,
            Instant::now(),
        );
        let seed =
            now_nanos() as u64 ^ (u64::from(init.subtask_index) << 48) ^ 0x9E37_79B9_7F4A_7C15;
        Ok(DatagenReader {
            schema,
            columns,
            splits: VecDeque::new(),
            no_more_splits: false,
            awaiting_split: false,
            limiter,
            max_batch_rows,
            pending_records: None,
            rng: SmallRng::seed_from_u64(seed),
        })
    }

    fn request_split(&mut self, ctx: &mut ReaderContext) {
        if !self.awaiting_split && !self.no_more_splits {
            ctx.request_split();
            self.awaiting_split = true;
        }
    }

    fn generate(&mut self, first: u64, len: usize) -> Result<RecordBatch> {
        let batch = BatchInfo {
            first,
            len,
            now_nanos: now_nanos(),
        };
        let columns = self
            .columns
            .iter_mut()
            .map(|c| c.generate(&mut self.rng, &batch))
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(len));
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &options,
        )?)
    }

    #[cfg(test)]
    pub(crate) fn max_batch_rows(&self) -> u64 {
        self.max_batch_rows
    }

    #[cfg(test)]
    pub(crate) fn awaiting_split(&self) -> bool {
        self.awaiting_split
    }
}

fn now_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

impl DatagenReader {
    /// Sets `pendingRecords` (registered with the first bounded split); unknown (not updated)
    /// while the reader owns an unbounded split.
    fn update_pending_records(&mut self, ctx: &ReaderContext) {
        if self.splits.iter().any(|s| s.end.is_none()) {
            return;
        }
        let pending: u64 = self.splits.iter().map(DatagenSplit::remaining).sum();
        self.pending_records
            .get_or_insert_with(|| ctx.metrics().gauge("pendingRecords"))
            .set(pending.min(i64::MAX as u64) as i64);
    }
}

impl SourceReader for DatagenReader {
    type Split = DatagenSplit;

    /// Asks for a first split unless restored splits arrived already.
    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        if self.splits.is_empty() {
            self.request_split(ctx);
        }
        Ok(())
    }

    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        loop {
            let Some(split) = self.splits.front() else {
                if self.no_more_splits {
                    return Ok(ReaderPoll::EndOfInput);
                }
                self.request_split(ctx);
                return Ok(ReaderPoll::NothingAvailable { retry_after: None });
            };
            let remaining = split.remaining();
            if remaining == 0 {
                self.splits.pop_front();
                continue;
            }
            let rows = remaining.min(self.max_batch_rows);
            if let Err(wait) = self.limiter.try_acquire(rows, Instant::now()) {
                return Ok(ReaderPoll::NothingAvailable {
                    retry_after: Some(wait),
                });
            }
            let first = split.next;
            let batch = self.generate(first, rows as usize)?;
            let split = self.splits.front_mut().expect("the split being read");
            split.next = first + rows;
            if split.remaining() == 0 {
                self.splits.pop_front();
                if self.splits.is_empty() {
                    self.request_split(ctx);
                }
            }
            self.update_pending_records(ctx);
            return Ok(ReaderPoll::Batch(ChangeBatch::inserts(batch)));
        }
    }

    fn add_splits(&mut self, splits: Vec<DatagenSplit>, ctx: &mut ReaderContext) -> Result<()> {
        self.awaiting_split = false;
        self.splits.extend(splits);
        self.update_pending_records(ctx);
        ctx.availability().notify();
        Ok(())
    }

    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        self.no_more_splits = true;
        self.awaiting_split = false;
        ctx.availability().notify();
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<DatagenSplit>> {
        Ok(self
            .splits
            .iter()
            .filter(|s| s.remaining() > 0)
            .cloned()
            .collect())
    }
}
