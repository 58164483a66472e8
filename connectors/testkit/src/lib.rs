//! `rust-testkit`: a small bounded source that exercises the bridge's edges for the bridge's own
//! tests: errors and panics at chosen places, enumerator work through `callAsync`, source events
//! in both directions, readers that must wait for data, changelogs and metadata columns. It
//! produces the ids `0..rows`, each exactly once, in a BIGINT column, optionally followed by a
//! second BIGINT column, the id's value `v` (`v = id` when inserted).
//!
//! Options: [`OPTIONS`], documented in `docs/connectors/rust-testkit.md`.
//!
//! With `changelog = true` each id emits, in this order within one batch (see [`changes`]):
//! `+I(id, id)`; if `id % 3 == 0`, the update `-U(id, id)`, `+U(id, 2 * id)`; if `id % 5 == 0`,
//! then `-D(id, v)` of its current value. The materialized table is therefore every id not
//! divisible by 5, with `v = 2 * id` for multiples of 3 and `v = id` otherwise.
//!
//! Metadata: the key `row_kind` (`__metadata.row_kind`, STRING) holds each row's kind as Flink
//! CDC writes it: `+I`, `-U`, `+U` or `-D`. Any other metadata key is rejected.

use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_array::{ArrayRef, StringArray};
use arrow_array::{Int64Array, RecordBatch};
use rust_core::api::{
    AsyncSchedule, Availability, Boundedness, ChangeBatch, EnumeratorContext, EnumeratorInit,
    ReaderContext, ReaderInit, ReaderPoll, RowKind, Source, SourceFactory, SourceReader,
    SourceSplit, SplitEnumerator,
};
use rust_core::options::{one_of, OptionDefault, OptionSpec, Options};
use rust_core::runtime::{erase, DynSource};
use rust_core::types::{FlinkType, RowType};
use rust_core::{BridgeError, Result};
use serde::{Deserialize, Serialize};

pub struct TestkitFactory;

/// Every option of `rust-testkit`, as `docs/connectors/rust-testkit.md` lists them.
pub const OPTIONS: &[OptionSpec] = &[
    ROWS,
    SPLITS,
    FAIL_ON_OPTION,
    FAIL_AFTER_ROWS,
    DISCOVERY,
    FINISH_ACKS,
    DATA_DELAY,
    CHANGELOG,
];

const CHANGELOG: OptionSpec = OptionSpec {
    key: "changelog",
    type_name: "Boolean",
    default: OptionDefault::Value("false"),
    description:
        "emit a changelog: per id +I, then -U/+U for multiples of 3 and -D for multiples of 5",
};

const ROWS: OptionSpec = OptionSpec {
    key: "rows",
    type_name: "Long",
    default: OptionDefault::Value("1000"),
    description: "rows in all; the ids are `0..rows`, each exactly once",
};
const SPLITS: OptionSpec = OptionSpec {
    key: "splits",
    type_name: "Long",
    default: OptionDefault::Value("4"),
    description: "number of equal id ranges the enumerator plans (0 counts as 1)",
};
const FAIL_ON_OPTION: OptionSpec = OptionSpec {
    key: "fail.on",
    type_name: "String",
    default: OptionDefault::Value("none"),
    description: "where to fail: `none`, `poll-error`, `poll-panic`, `reader-create-error` or `enumerator-start-panic`",
};
const FAIL_AFTER_ROWS: OptionSpec = OptionSpec {
    key: "fail.after-rows",
    type_name: "Long",
    default: OptionDefault::Value("0"),
    description: "with `poll-error` / `poll-panic`: rows each reader emits before it fails",
};
const DISCOVERY: OptionSpec = OptionSpec {
    key: "discovery",
    type_name: "String",
    default: OptionDefault::Value("sync"),
    description: "`sync`: splits planned in `start`; `async`: planned on a Flink worker thread (`callAsync`), readers wait",
};
const FINISH_ACKS: OptionSpec = OptionSpec {
    key: "finish-acks",
    type_name: "Boolean",
    default: OptionDefault::Value("false"),
    description: "readers report each finished split with a source event; the enumerator ends input only after all are reported",
};
const DATA_DELAY: OptionSpec = OptionSpec {
    key: "data-delay",
    type_name: "Duration",
    default: OptionDefault::Value("0 ms"),
    description: "each split's data arrives this long after the reader first polls it; a background thread notifies the reader",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailOn {
    None,
    PollError,
    PollPanic,
    ReaderCreateError,
    EnumeratorStartPanic,
}

const FAIL_ON: &[(&str, FailOn)] = &[
    ("none", FailOn::None),
    ("poll-error", FailOn::PollError),
    ("poll-panic", FailOn::PollPanic),
    ("reader-create-error", FailOn::ReaderCreateError),
    ("enumerator-start-panic", FailOn::EnumeratorStartPanic),
];

#[derive(Debug)]
struct Config {
    rows: u64,
    splits: u64,
    fail_on: FailOn,
    fail_after_rows: u64,
    async_discovery: bool,
    finish_acks: bool,
    data_delay: Duration,
    changelog: bool,
}

/// What a column of the requested row type holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColumnKind {
    Id,
    Value,
    /// Metadata `row_kind`.
    RowKind,
}

/// The metadata keys rust-testkit offers (as in `RustTestkitTableFactory`).
const ROW_KIND_KEY: &str = "row_kind";

/// Maps each column of the row type to what it holds, or explains what is wrong with the schema.
fn column_kinds(row_type: &RowType) -> Result<Vec<ColumnKind>> {
    let physical = row_type
        .columns
        .iter()
        .filter(|c| c.metadata_key().is_none())
        .count();
    let mut kinds = Vec::with_capacity(row_type.arity());
    for column in &row_type.columns {
        match column.metadata_key() {
            None if physical <= 2 && column.ty == FlinkType::BigInt => {
                kinds.push(if kinds.contains(&ColumnKind::Id) { ColumnKind::Value } else { ColumnKind::Id });
            }
            None => {
                return Err(BridgeError::validation(
                    "rust-testkit produces one or two BIGINT columns (an id, then optionally its value); \
                     declare e.g. (id BIGINT) or (id BIGINT, v BIGINT)",
                ))
            }
            Some(ROW_KIND_KEY) if matches!(column.ty, FlinkType::VarChar { .. }) => kinds.push(ColumnKind::RowKind),
            Some(ROW_KIND_KEY) => {
                return Err(BridgeError::validation(format!(
                    "rust-testkit metadata '{ROW_KIND_KEY}' is a STRING, not {}",
                    column.ty
                )))
            }
            Some(other) => {
                return Err(BridgeError::validation(format!(
                    "rust-testkit has no metadata key '{other}'; supported metadata keys: '{ROW_KIND_KEY}'"
                )))
            }
        }
    }
    if !kinds.contains(&ColumnKind::Id) {
        return Err(BridgeError::validation(
            "rust-testkit produces one or two BIGINT columns (an id, then optionally its value); \
             declare e.g. (id BIGINT) or (id BIGINT, v BIGINT)",
        ));
    }
    Ok(kinds)
}

/// The changes of one id, in order, as (kind, value) (see the crate docs).
fn changes(id: u64, changelog: bool, out: &mut Vec<(RowKind, u64)>) {
    out.push((RowKind::Insert, id));
    if !changelog {
        return;
    }
    let mut value = id;
    if id.is_multiple_of(3) {
        out.push((RowKind::UpdateBefore, value));
        value = 2 * id;
        out.push((RowKind::UpdateAfter, value));
    }
    if id.is_multiple_of(5) {
        out.push((RowKind::Delete, value));
    }
}

/// Flink's `RowKind#shortString()`, as Flink CDC's `row_kind` metadata holds it.
fn short_string(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Insert => "+I",
        RowKind::UpdateBefore => "-U",
        RowKind::UpdateAfter => "+U",
        RowKind::Delete => "-D",
    }
}

impl SourceFactory for TestkitFactory {
    fn identifier(&self) -> &'static str {
        "rust-testkit"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn create(&self, options: &Options, row_type: &RowType) -> Result<Box<dyn DynSource>> {
        let kinds = column_kinds(row_type)?;
        let fail_on_text = options.get_or_default::<String>(&FAIL_ON_OPTION)?;
        let fail_on = FAIL_ON
            .iter()
            .find(|(k, _)| *k == fail_on_text)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = FAIL_ON.iter().map(|(k, _)| *k).collect();
                BridgeError::validation(format!(
                    "Invalid value for option 'fail.on': '{fail_on_text}'; expected {}",
                    one_of(&names)
                ))
            })?;
        let discovery = options.get_or_default::<String>(&DISCOVERY)?;
        if discovery != "sync" && discovery != "async" {
            return Err(BridgeError::validation(format!(
                "Invalid value for option 'discovery': '{discovery}'; expected 'sync' or 'async'"
            )));
        }
        let config = Config {
            rows: options.get_or_default(&ROWS)?,
            splits: options.get_or_default::<u64>(&SPLITS)?.max(1),
            fail_on,
            fail_after_rows: options.get_or_default(&FAIL_AFTER_ROWS)?,
            async_discovery: discovery == "async",
            finish_acks: options.get_or_default(&FINISH_ACKS)?,
            data_delay: options.get_or_default(&DATA_DELAY)?,
            changelog: options.get_or_default(&CHANGELOG)?,
        };
        options.ensure_all_consumed(
            &OPTIONS
                .iter()
                .map(|o| o.key.to_string())
                .collect::<Vec<_>>(),
        )?;
        Ok(erase(TestkitSource {
            config: Arc::new(config),
            row_type: row_type.clone(),
            kinds: Arc::new(kinds),
        }))
    }
}

/// The ids `next..end`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RangeSplit {
    id: u64,
    next: u64,
    end: u64,
}

impl SourceSplit for RangeSplit {
    fn split_id(&self) -> String {
        format!("range-{}", self.id)
    }
}

fn plan_splits(rows: u64, splits: u64) -> Vec<RangeSplit> {
    let size = rows.div_ceil(splits).max(1);
    (0..splits)
        .map(|i| RangeSplit {
            id: i,
            next: (i * size).min(rows),
            end: ((i + 1) * size).min(rows),
        })
        .filter(|s| s.next < s.end)
        .collect()
}

struct TestkitSource {
    config: Arc<Config>,
    row_type: RowType,
    kinds: Arc<Vec<ColumnKind>>,
}

#[derive(Serialize, Deserialize)]
pub struct EnumState {
    pending: Vec<RangeSplit>,
    discovered: bool,
    unacked: BTreeSet<u64>,
}

impl Source for TestkitSource {
    type Split = RangeSplit;
    type EnumeratorState = EnumState;
    type Enumerator = TestkitEnumerator;
    type Reader = TestkitReader;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn row_type(&self) -> &RowType {
        &self.row_type
    }

    fn create_enumerator(
        &self,
        _: &EnumeratorInit,
        restored: Option<EnumState>,
    ) -> Result<TestkitEnumerator> {
        let state = restored.unwrap_or(EnumState {
            pending: Vec::new(),
            discovered: false,
            unacked: BTreeSet::new(),
        });
        Ok(TestkitEnumerator {
            config: self.config.clone(),
            state,
            waiting: BTreeSet::new(),
        })
    }

    fn create_reader(&self, init: &ReaderInit) -> Result<TestkitReader> {
        if self.config.fail_on == FailOn::ReaderCreateError {
            return Err(BridgeError::other(
                "testkit: reader creation failed as configured (fail.on=reader-create-error)",
            ));
        }
        Ok(TestkitReader {
            config: self.config.clone(),
            schema: self.row_type.arrow_schema(),
            kinds: self.kinds.clone(),
            changes: Vec::new(),
            splits: VecDeque::new(),
            no_more_splits: false,
            emitted: 0,
            delay: None,
            subtask: init.subtask_index,
        })
    }
}

pub struct TestkitEnumerator {
    config: Arc<Config>,
    state: EnumState,
    /// Readers that asked while no split could be given yet.
    waiting: BTreeSet<u32>,
}

impl TestkitEnumerator {
    fn serve(&mut self, subtask: u32, ctx: &mut EnumeratorContext<RangeSplit>) {
        if !self.state.discovered {
            self.waiting.insert(subtask);
        } else if let Some(split) = self.state.pending.pop() {
            if self.config.finish_acks {
                self.state.unacked.insert(split.id);
            }
            ctx.assign_split(subtask, split);
        } else if self.config.finish_acks && !self.state.unacked.is_empty() {
            // Hold the reader until every split is reported finished.
            self.waiting.insert(subtask);
        } else {
            ctx.signal_no_more_splits(subtask);
        }
    }

    fn serve_waiting(&mut self, ctx: &mut EnumeratorContext<RangeSplit>) {
        for subtask in std::mem::take(&mut self.waiting) {
            self.serve(subtask, ctx);
        }
    }
}

impl SplitEnumerator for TestkitEnumerator {
    type Split = RangeSplit;
    type State = EnumState;

    fn start(&mut self, ctx: &mut EnumeratorContext<RangeSplit>) -> Result<()> {
        if self.config.fail_on == FailOn::EnumeratorStartPanic {
            panic!(
                "testkit: enumerator start panic as configured (fail.on=enumerator-start-panic)"
            );
        }
        if self.state.discovered {
            return Ok(());
        }
        let (rows, splits) = (self.config.rows, self.config.splits);
        if self.config.async_discovery {
            // Split planning stands in for slow I/O: it runs on a Flink worker thread.
            ctx.call_async(
                Box::new(move || {
                    Ok(plan_splits(rows, splits)
                        .iter()
                        .flat_map(|s| [s.next, s.end])
                        .flat_map(u64::to_le_bytes)
                        .collect())
                }),
                AsyncSchedule::Once,
            );
        } else {
            self.state.pending = plan_splits(rows, splits);
            self.state.discovered = true;
        }
        Ok(())
    }

    fn handle_split_request(
        &mut self,
        subtask: u32,
        _: Option<&str>,
        ctx: &mut EnumeratorContext<RangeSplit>,
    ) -> Result<()> {
        self.serve(subtask, ctx);
        Ok(())
    }

    fn add_reader(&mut self, _: u32, _: &mut EnumeratorContext<RangeSplit>) -> Result<()> {
        Ok(())
    }

    fn add_splits_back(
        &mut self,
        splits: Vec<RangeSplit>,
        subtask: u32,
        ctx: &mut EnumeratorContext<RangeSplit>,
    ) -> Result<()> {
        // Its reader is gone; serving the request it left would assign to an unregistered reader.
        self.waiting.remove(&subtask);
        for s in &splits {
            self.state.unacked.remove(&s.id);
        }
        self.state.pending.extend(splits);
        self.serve_waiting(ctx);
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64) -> Result<EnumState> {
        Ok(EnumState {
            pending: self.state.pending.clone(),
            discovered: self.state.discovered,
            unacked: self.state.unacked.clone(),
        })
    }

    fn handle_source_event(
        &mut self,
        _: u32,
        event: &[u8],
        ctx: &mut EnumeratorContext<RangeSplit>,
    ) -> Result<()> {
        let text = std::str::from_utf8(event)
            .map_err(|_| BridgeError::other("testkit: event is not UTF-8"))?;
        let id = text
            .strip_prefix("finished:")
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| BridgeError::other(format!("testkit: unexpected event '{text}'")))?;
        self.state.unacked.remove(&id);
        self.serve_waiting(ctx);
        Ok(())
    }

    fn handle_async_result(
        &mut self,
        _: u64,
        result: std::result::Result<Vec<u8>, String>,
        ctx: &mut EnumeratorContext<RangeSplit>,
    ) -> Result<()> {
        let bytes = result
            .map_err(|e| BridgeError::other(format!("testkit: split discovery failed: {e}")))?;
        let bounds: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        self.state.pending = bounds
            .chunks_exact(2)
            .enumerate()
            .map(|(i, b)| RangeSplit {
                id: i as u64,
                next: b[0],
                end: b[1],
            })
            .collect();
        self.state.discovered = true;
        self.serve_waiting(ctx);
        Ok(())
    }
}

/// A background thread that makes data "arrive" after a delay, then notifies the reader.
struct DelayedArrival {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    arrived: Arc<std::sync::atomic::AtomicBool>,
}

impl DelayedArrival {
    fn start(delay: Duration, availability: Availability) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let arrived = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = arrived.clone();
        let thread = std::thread::Builder::new()
            .name("rust-testkit-arrival".into())
            .spawn(move || {
                // recv_timeout is an interruptible wait: closing the reader drops the sender.
                if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(delay) {
                    flag.store(true, std::sync::atomic::Ordering::Release);
                    availability.notify();
                }
            })
            .expect("spawn testkit arrival thread");
        DelayedArrival {
            stop: Some(stop),
            thread: Some(thread),
            arrived,
        }
    }

    fn arrived(&self) -> bool {
        self.arrived.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for DelayedArrival {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct TestkitReader {
    config: Arc<Config>,
    schema: arrow_schema::SchemaRef,
    kinds: Arc<Vec<ColumnKind>>,
    /// Scratch for one batch: (id, kind, value) per row.
    changes: Vec<(u64, RowKind, u64)>,
    splits: VecDeque<RangeSplit>,
    no_more_splits: bool,
    emitted: u64,
    delay: Option<DelayedArrival>,
    subtask: u32,
}

impl SourceReader for TestkitReader {
    type Split = RangeSplit;

    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        tracing::info!(target: "connector_testkit", subtask = self.subtask, "testkit reader started");
        ctx.request_split();
        Ok(())
    }

    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        let failing = matches!(self.config.fail_on, FailOn::PollError | FailOn::PollPanic);
        if failing && self.emitted >= self.config.fail_after_rows {
            if self.config.fail_on == FailOn::PollPanic {
                panic!(
                    "testkit: poll panic as configured after {} rows (fail.on=poll-panic)",
                    self.emitted
                );
            }
            return Err(BridgeError::other(format!(
                "testkit: poll error as configured after {} rows (fail.on=poll-error)",
                self.emitted
            )));
        }
        let Some(split) = self.splits.front_mut() else {
            return Ok(if self.no_more_splits {
                ReaderPoll::EndOfInput
            } else {
                ReaderPoll::NothingAvailable { retry_after: None }
            });
        };
        if !self.config.data_delay.is_zero() {
            let delay = self.delay.get_or_insert_with(|| {
                DelayedArrival::start(self.config.data_delay, ctx.availability().clone())
            });
            if !delay.arrived() {
                return Ok(ReaderPoll::NothingAvailable { retry_after: None });
            }
        }
        // An id emits at most 4 changes: keep a changelog batch within the batch size.
        let ids_per_batch = if self.config.changelog {
            (ctx.batch_rows() / 4).max(1)
        } else {
            ctx.batch_rows()
        };
        let mut n = (split.end - split.next).min(ids_per_batch as u64);
        if failing {
            n = n.min(self.config.fail_after_rows - self.emitted);
        }
        self.changes.clear();
        let mut scratch = Vec::with_capacity(4);
        for id in split.next..split.next + n {
            scratch.clear();
            changes(id, self.config.changelog, &mut scratch);
            self.changes
                .extend(scratch.iter().map(|&(kind, value)| (id, kind, value)));
        }
        split.next += n;
        self.emitted += n;
        if split.next == split.end {
            let done = self.splits.pop_front().expect("front split exists");
            self.delay = None;
            if self.config.finish_acks {
                ctx.send_event_to_enumerator(format!("finished:{}", done.id).into_bytes());
            }
            ctx.request_split();
        }
        let columns: Vec<ArrayRef> = self
            .kinds
            .iter()
            .map(|kind| -> ArrayRef {
                match kind {
                    ColumnKind::Id => Arc::new(Int64Array::from_iter_values(
                        self.changes.iter().map(|c| c.0 as i64),
                    )),
                    ColumnKind::Value => Arc::new(Int64Array::from_iter_values(
                        self.changes.iter().map(|c| c.2 as i64),
                    )),
                    ColumnKind::RowKind => Arc::new(StringArray::from_iter_values(
                        self.changes.iter().map(|c| short_string(c.1)),
                    )),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        Ok(ReaderPoll::Batch(if self.config.changelog {
            ChangeBatch {
                rows: batch,
                row_kinds: Some(self.changes.iter().map(|c| c.1).collect()),
            }
        } else {
            ChangeBatch::inserts(batch)
        }))
    }

    fn add_splits(&mut self, splits: Vec<RangeSplit>, ctx: &mut ReaderContext) -> Result<()> {
        self.splits.extend(splits);
        ctx.availability().notify();
        Ok(())
    }

    fn notify_no_more_splits(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        self.no_more_splits = true;
        ctx.availability().notify();
        Ok(())
    }

    fn snapshot_state(&mut self, _: u64) -> Result<Vec<RangeSplit>> {
        Ok(self.splits.iter().cloned().collect())
    }

    fn close(&mut self) -> Result<()> {
        self.delay = None; // stops and joins the arrival thread
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared option, set to its declared default, is accepted, and nothing else is read.
    #[test]
    fn every_declared_option_is_accepted() {
        let values = OPTIONS
            .iter()
            .map(|o| match o.default {
                OptionDefault::Value(v) => (o.key.to_string(), v.to_string()),
                OptionDefault::Text(t) => {
                    panic!("{}: testkit defaults are literal, not '{t}'", o.key)
                }
            })
            .collect();
        let options = Options::new("rust-testkit", values);
        let row_type = RowType::parse(&["id"], &["BIGINT"]).unwrap();
        TestkitFactory
            .create(&options, &row_type)
            .expect("defaults are valid");
        options.ensure_reads_declared(OPTIONS).unwrap();
    }

    #[test]
    fn plans_cover_every_row_once() {
        for (rows, splits) in [(0, 4), (1, 4), (10, 3), (1000, 4), (7, 7), (5, 10)] {
            let ids: Vec<u64> = plan_splits(rows, splits)
                .iter()
                .flat_map(|s| s.next..s.end)
                .collect();
            assert_eq!(
                ids,
                (0..rows).collect::<Vec<_>>(),
                "rows={rows} splits={splits}"
            );
        }
    }

    /// Applies the changes of `0..ids` to a table and checks it ends as the crate docs say, with
    /// every retraction matching the row it retracts.
    #[test]
    fn the_changelog_materializes_to_the_documented_table() {
        let mut table = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        for id in 0..100u64 {
            out.clear();
            changes(id, true, &mut out);
            for &(kind, value) in &out {
                match kind {
                    RowKind::Insert | RowKind::UpdateAfter => {
                        assert!(table.insert(id, value).is_none())
                    }
                    RowKind::UpdateBefore | RowKind::Delete => {
                        assert_eq!(table.remove(&id), Some(value))
                    }
                }
            }
        }
        let expected: std::collections::BTreeMap<u64, u64> = (0..100)
            .filter(|id| id % 5 != 0)
            .map(|id| (id, if id % 3 == 0 { 2 * id } else { id }))
            .collect();
        assert_eq!(table, expected);
        out.clear();
        changes(15, false, &mut out);
        assert_eq!(out, vec![(RowKind::Insert, 15)]);
    }

    #[test]
    fn schemas_with_a_value_column_and_row_kind_metadata_are_accepted_and_others_named() {
        let row = |cols: &[(&str, &str)]| {
            let (names, types): (Vec<&str>, Vec<&str>) = cols.iter().copied().unzip();
            RowType::parse(&names, &types).unwrap()
        };
        assert_eq!(
            column_kinds(&row(&[("id", "BIGINT")])).unwrap(),
            vec![ColumnKind::Id]
        );
        assert_eq!(
            column_kinds(&row(&[
                ("id", "BIGINT"),
                ("v", "BIGINT"),
                ("__metadata.row_kind", "VARCHAR(2147483647) NOT NULL")
            ]))
            .unwrap(),
            vec![ColumnKind::Id, ColumnKind::Value, ColumnKind::RowKind]
        );
        let err = column_kinds(&row(&[
            ("id", "BIGINT"),
            ("__metadata.op_ts", "TIMESTAMP(3)"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("'op_ts'") && err.contains("'row_kind'"),
            "{err}"
        );
        assert!(column_kinds(&row(&[("id", "INT")])).is_err());
        assert!(column_kinds(&row(&[("a", "BIGINT"), ("b", "BIGINT"), ("c", "BIGINT")])).is_err());
        assert!(column_kinds(&row(&[("__metadata.row_kind", "STRING")])).is_err());
    }
}
