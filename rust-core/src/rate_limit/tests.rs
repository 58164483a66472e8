//! The rate limiter end to end on the in-process stand-in for Flink ([`crate::testing::Harness`]),
//! with a fake clock: every test is deterministic and takes no real time.

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch};
use serde::{Deserialize, Serialize};

use super::wrap::{batch_rows_hint, with_rate_limits_and_clock, Clock};
use super::RateLimits;
use crate::api::*;
use crate::error::Result;
use crate::protocol::{self, SplitBytes};
use crate::runtime::{erase, DynSource, ReaderRuntime};
use crate::testing::{Emitted, Harness};
use crate::types::{FlinkType, RowType};

// ---------------------------------------------------------------------------------------------
// A fake clock and a small source
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct FakeTime(Arc<Mutex<Instant>>);

impl FakeTime {
    fn new() -> Self {
        FakeTime(Arc::new(Mutex::new(Instant::now())))
    }
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
    fn clock(&self) -> Clock {
        let t = self.clone();
        Clock::new(move || t.now())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Range {
    id: u32,
    next: i64,
    end: i64,
}

impl SourceSplit for Range {
    fn split_id(&self) -> String {
        self.id.to_string()
    }
}

/// Hands out id ranges of the given sizes, in order, to readers that ask. While `hold` is set, a
/// request finding nothing waits (like an idle CDC snapshot reader), and `late` ranges are handed
/// out on the next [`Harness::tick`] once `hold` is cleared; otherwise it ends the reader.
/// Connector events: a reader sends `hello` on start, the enumerator answers `welcome`.
struct Ranges {
    row_type: RowType,
    sizes: Vec<i64>,
    late: Vec<i64>,
    hold: Arc<AtomicBool>,
    enumerator_saw: Arc<Mutex<Vec<Vec<u8>>>>,
    readers_saw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Ranges {
    fn new(sizes: &[i64]) -> Self {
        Ranges {
            row_type: RowType::parse(&["id"], &["BIGINT NOT NULL"]).unwrap(),
            sizes: sizes.to_vec(),
            late: Vec::new(),
            hold: Arc::new(AtomicBool::new(false)),
            enumerator_saw: Arc::default(),
            readers_saw: Arc::default(),
        }
    }
}

fn ranges(sizes: &[i64], first_id: u32, first_value: i64) -> VecDeque<Range> {
    let mut next = first_value;
    let mut id = first_id;
    sizes
        .iter()
        .map(|n| {
            let r = Range {
                id,
                next,
                end: next + n,
            };
            next += n;
            id += 1;
            r
        })
        .collect()
}

struct RangesEnumerator {
    pending: VecDeque<Range>,
    late: VecDeque<Range>,
    held: Vec<u32>,
    hold: Arc<AtomicBool>,
    saw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RangesEnumerator {
    fn serve(&mut self, subtask: u32, ctx: &mut EnumeratorContext<Range>) {
        if let Some(r) = self.pending.pop_front() {
            ctx.assign_split(subtask, r);
        } else if self.hold.load(Ordering::SeqCst) || !self.late.is_empty() {
            self.held.push(subtask);
        } else {
            ctx.signal_no_more_splits(subtask);
        }
    }
}

impl SplitEnumerator for RangesEnumerator {
    type Split = Range;
    type State = ();
    fn start(&mut self, ctx: &mut EnumeratorContext<Range>) -> Result<()> {
        let period = Duration::from_millis(10);
        ctx.call_async(
            Box::new(|| Ok(Vec::new())),
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
        ctx: &mut EnumeratorContext<Range>,
    ) -> Result<()> {
        self.serve(subtask, ctx);
        Ok(())
    }
    fn add_reader(&mut self, _: u32, _: &mut EnumeratorContext<Range>) -> Result<()> {
        Ok(())
    }
    fn add_splits_back(
        &mut self,
        splits: Vec<Range>,
        _: u32,
        _: &mut EnumeratorContext<Range>,
    ) -> Result<()> {
        self.pending.extend(splits);
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64) -> Result<()> {
        Ok(())
    }
    fn handle_source_event(
        &mut self,
        subtask: u32,
        event: &[u8],
        ctx: &mut EnumeratorContext<Range>,
    ) -> Result<()> {
        self.saw.lock().unwrap().push(event.to_vec());
        ctx.send_event(subtask, b"welcome".to_vec());
        Ok(())
    }
    /// The periodic tick: once no longer held, late ranges go to the readers that wait.
    fn handle_async_result(
        &mut self,
        _: u64,
        _: std::result::Result<Vec<u8>, String>,
        ctx: &mut EnumeratorContext<Range>,
    ) -> Result<()> {
        if !self.hold.load(Ordering::SeqCst) {
            self.pending.extend(self.late.drain(..));
            for subtask in std::mem::take(&mut self.held) {
                self.serve(subtask, ctx);
            }
        }
        Ok(())
    }
}

struct RangesReader {
    schema: arrow_schema::SchemaRef,
    splits: VecDeque<Range>,
    no_more: bool,
    asked: bool,
    saw: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl SourceReader for RangesReader {
    type Split = Range;
    fn start(&mut self, ctx: &mut ReaderContext) -> Result<()> {
        ctx.send_event_to_enumerator(b"hello".to_vec());
        Ok(())
    }
    fn poll_next(&mut self, ctx: &mut ReaderContext) -> Result<ReaderPoll> {
        let Some(split) = self.splits.front_mut() else {
            if self.no_more {
                return Ok(ReaderPoll::EndOfInput);
            }
            if !self.asked {
                self.asked = true;
                ctx.request_split();
            }
            return Ok(ReaderPoll::NothingAvailable { retry_after: None });
        };
        let n = (split.end - split.next).min(ctx.batch_rows() as i64);
        let ids = Int64Array::from_iter_values(split.next..split.next + n);
        split.next += n;
        if split.next == split.end {
            self.splits.pop_front();
        }
        Ok(ReaderPoll::Batch(ChangeBatch::inserts(
            RecordBatch::try_new(self.schema.clone(), vec![Arc::new(ids)])?,
        )))
    }
    fn add_splits(&mut self, splits: Vec<Range>, _: &mut ReaderContext) -> Result<()> {
        self.asked = false;
        self.splits.extend(splits);
        Ok(())
    }
    fn notify_no_more_splits(&mut self, _: &mut ReaderContext) -> Result<()> {
        self.no_more = true;
        Ok(())
    }
    fn snapshot_state(&mut self, _: u64) -> Result<Vec<Range>> {
        Ok(self.splits.iter().cloned().collect())
    }
    fn handle_source_event(&mut self, event: &[u8], _: &mut ReaderContext) -> Result<()> {
        self.saw.lock().unwrap().push(event.to_vec());
        Ok(())
    }
}

impl Source for Ranges {
    type Split = Range;
    type EnumeratorState = ();
    type Enumerator = RangesEnumerator;
    type Reader = RangesReader;
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
    fn row_type(&self) -> &RowType {
        &self.row_type
    }
    fn create_enumerator(&self, _: &EnumeratorInit, _: Option<()>) -> Result<RangesEnumerator> {
        let total: i64 = self.sizes.iter().sum();
        Ok(RangesEnumerator {
            pending: ranges(&self.sizes, 0, 0),
            late: ranges(&self.late, self.sizes.len() as u32, total),
            held: Vec::new(),
            hold: self.hold.clone(),
            saw: self.enumerator_saw.clone(),
        })
    }
    fn create_reader(&self, _: &ReaderInit) -> Result<RangesReader> {
        Ok(RangesReader {
            schema: self.row_type.arrow_schema(),
            splits: VecDeque::new(),
            no_more: false,
            asked: false,
            saw: self.readers_saw.clone(),
        })
    }
}

fn rows_limit(n: u64) -> RateLimits {
    RateLimits {
        rows_per_second: NonZeroU64::new(n),
        bytes_per_second: None,
    }
}

/// Rows emitted per fake millisecond since the start: `(ms, subtask, rows)`.
type Timeline = Vec<(u64, u32, usize)>;

/// Polls every reader once per fake millisecond until all ended or `max` passed. `pause` leaves
/// the readers unpolled for a while (a backpressured task thread) at the given millisecond.
fn run(
    h: &mut Harness<'_>,
    time: &FakeTime,
    max: Duration,
    pause: Option<(u64, Duration)>,
) -> Timeline {
    let mut timeline = Timeline::new();
    let mut ms = 0u64;
    while !h.all_ended() && ms < max.as_millis() as u64 {
        if let Some((at, span)) = pause {
            if ms == at {
                time.advance(span);
                ms += span.as_millis() as u64;
            }
        }
        for Emitted { subtask, rows, .. } in h.poll_all().unwrap() {
            timeline.push((ms, subtask, rows.num_rows()));
        }
        if ms.is_multiple_of(10) {
            h.tick().unwrap();
        }
        time.advance(Duration::from_millis(1));
        ms += 1;
    }
    timeline
}

fn rows_in(timeline: &Timeline, from_ms: u64, to_ms: u64, subtask: Option<u32>) -> usize {
    timeline
        .iter()
        .filter(|(t, s, _)| *t >= from_ms && *t < to_ms && subtask.is_none_or(|x| x == *s))
        .map(|(_, _, n)| n)
        .sum()
}

fn last_ms(timeline: &Timeline) -> u64 {
    timeline.last().map_or(0, |(t, _, _)| *t)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn two_readers_share_the_limit_and_the_one_left_takes_all_of_it() {
    let time = FakeTime::new();
    // Reader 0 gets 3000 rows, reader 1 only 500: reader 1 ends after about a second.
    let source = with_rate_limits_and_clock(
        erase(Ranges::new(&[3000, 500])),
        rows_limit(1000),
        time.clock(),
    );
    let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();
    let timeline = run(&mut h, &time, Duration::from_secs(20), None);

    // While both read, each gets half.
    let first = rows_in(&timeline, 0, 900, Some(0));
    assert!(
        (400..=500).contains(&first),
        "reader 0 in its first 0.9 s: {first}"
    );
    assert!((400..=500).contains(&rows_in(&timeline, 0, 900, Some(1))));
    // Then reader 0 alone gets the whole limit: 3500 rows take 3.5 s, not the 6 s of a fixed half.
    let end = last_ms(&timeline);
    assert!(
        (3400..=3600).contains(&end),
        "the last batch came at {end} ms"
    );
    let alone = rows_in(&timeline, 1500, 3000, Some(0));
    assert!(
        (1450..=1550).contains(&alone),
        "reader 0 alone over 1.5 s: {alone}"
    );
    // Batches were hinted down to 100 ms of the initial share: 1000 / 2 / 10.
    assert!(timeline.iter().all(|(_, _, n)| *n <= 50), "{timeline:?}");
    assert_eq!(rows_in(&timeline, 0, u64::MAX, None), 3500);
}

#[test]
fn every_second_stays_within_the_limit() {
    let time = FakeTime::new();
    let source = with_rate_limits_and_clock(
        erase(Ranges::new(&[6000, 6000, 2000])),
        rows_limit(1000),
        time.clock(),
    );
    let mut h = Harness::new(source.as_ref(), 3, 4096).unwrap();
    let timeline = run(&mut h, &time, Duration::from_secs(30), None);
    let end = last_ms(&timeline);
    assert!(
        (13_800..=14_100).contains(&end),
        "14,000 rows at 1000/s ended at {end} ms"
    );
    for start in (0..end).step_by(250) {
        let n = rows_in(&timeline, start, start + 1000, None);
        // One second of the limit, plus a batch per reader for the edges of the window.
        assert!(n <= 1000 + 3 * 33, "{n} rows in the second from {start} ms");
    }
}

#[test]
fn no_burst_after_the_readers_were_not_polled_for_a_while() {
    let time = FakeTime::new();
    let source = with_rate_limits_and_clock(
        erase(Ranges::new(&[20_000])),
        rows_limit(1000),
        time.clock(),
    );
    let mut h = Harness::new(source.as_ref(), 1, 4096).unwrap();
    // At 1 s the task thread stalls (backpressure) for 10 s.
    let timeline = run(
        &mut h,
        &time,
        Duration::from_secs(14),
        Some((1000, Duration::from_secs(10))),
    );
    let after = rows_in(&timeline, 11_000, 12_000, None);
    // 1000 a second, plus at most 50 ms of credit and one batch (100).
    assert!(
        after <= 1000 + 50 + 100,
        "{after} rows in the second after the stall"
    );
    assert!(after >= 950, "{after}");
}

#[test]
fn an_idle_reader_gives_its_share_back_and_takes_it_again_when_it_gets_work() {
    let time = FakeTime::new();
    let mut ranges = Ranges::new(&[20_000, 500]);
    ranges.late = vec![20_000];
    ranges.hold.store(true, Ordering::SeqCst);
    let hold = ranges.hold.clone();
    let source = with_rate_limits_and_clock(erase(ranges), rows_limit(1000), time.clock());
    let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();

    // Reader 1 reads 500 rows, then asks for more and waits: reader 0 takes the whole limit.
    let timeline = run(&mut h, &time, Duration::from_secs(4), None);
    assert!((450..=550).contains(&rows_in(&timeline, 0, 1000, Some(1))));
    assert_eq!(rows_in(&timeline, 1500, 4000, Some(1)), 0);
    let alone = rows_in(&timeline, 1500, 3500, Some(0));
    assert!(
        (1950..=2050).contains(&alone),
        "reader 0 alone over 2 s: {alone}"
    );

    // Reader 1 gets work again (a split on the next tick): back to half each, no burst.
    hold.store(false, Ordering::SeqCst);
    let timeline = run(&mut h, &time, Duration::from_secs(3), None);
    let (r0, r1) = (
        rows_in(&timeline, 500, 2500, Some(0)),
        rows_in(&timeline, 500, 2500, Some(1)),
    );
    assert!(
        (950..=1050).contains(&r0) && (950..=1050).contains(&r1),
        "over 2 s: {r0} and {r1}"
    );
    assert!(
        rows_in(&timeline, 0, 1000, None) <= 1000 + 100,
        "{}",
        rows_in(&timeline, 0, 1000, None)
    );
}

#[test]
fn connector_events_pass_through_unframed_and_rate_events_never_reach_the_connector() {
    let time = FakeTime::new();
    let ranges = Ranges::new(&[300, 300]);
    let (enumerator_saw, readers_saw) = (ranges.enumerator_saw.clone(), ranges.readers_saw.clone());
    let source = with_rate_limits_and_clock(erase(ranges), rows_limit(1000), time.clock());
    let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();
    run(&mut h, &time, Duration::from_secs(5), None);
    assert!(h.all_ended());
    assert_eq!(
        *enumerator_saw.lock().unwrap(),
        vec![b"hello".to_vec(), b"hello".to_vec()]
    );
    assert_eq!(
        *readers_saw.lock().unwrap(),
        vec![b"welcome".to_vec(), b"welcome".to_vec()]
    );
}

#[test]
fn bytes_are_charged_as_encoded_binary_rows() {
    let time = FakeTime::new();
    // One BIGINT column: 16 bytes per BinaryRowData. 1600 bytes/s is 100 rows/s: batches of 10.
    let limits = RateLimits {
        rows_per_second: None,
        bytes_per_second: NonZeroU64::new(1600),
    };
    let source: Box<dyn DynSource> =
        with_rate_limits_and_clock(erase(Ranges::new(&[100])), limits, time.clock());
    let init = ReaderInit::new(0, 1, DEFAULT_BATCH_ROWS);
    let mut rt = ReaderRuntime::new(source.as_ref(), init).unwrap();
    let split = Range {
        id: 0,
        next: 0,
        end: 100,
    };
    let splits = vec![SplitBytes {
        id: "0".into(),
        state: crate::state::encode(1, &split).unwrap(),
    }];
    rt.call(|r, ctx| r.add_splits(splits, ctx)).unwrap();

    let response = rt.poll().unwrap();
    assert_eq!(i32_at(response, 0), protocol::STATUS_BATCH);
    assert_eq!(i32_at(response, 24), 10, "rows in the first batch");
    let response = rt.poll().unwrap();
    assert_eq!(i32_at(response, 0), protocol::STATUS_NOTHING_AVAILABLE);
    let retry = i64::from_le_bytes(response[16..24].try_into().unwrap());
    assert_eq!(retry, 100_000_000, "160 bytes at 1600 bytes/s: 100 ms");
    time.advance(Duration::from_millis(100));
    assert_eq!(i32_at(rt.poll().unwrap(), 0), protocol::STATUS_BATCH);
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn options_are_validated_with_the_option_named_and_the_fix() {
    let take = |pairs: &[(&str, &str)]| {
        let mut options: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let limits = RateLimits::take_from("rust-datagen", &mut options);
        (limits, options)
    };
    let (limits, rest) = take(&[
        ("scan.rate-limit.rows-per-second", " 500 "),
        ("scan.rate-limit.bytes-per-second", "1048576"),
        ("rows-per-second", "7"),
    ]);
    let limits = limits.unwrap();
    assert_eq!(limits.rows_per_second, NonZeroU64::new(500));
    assert_eq!(limits.bytes_per_second, NonZeroU64::new(1 << 20));
    assert_eq!(
        rest.keys().collect::<Vec<_>>(),
        vec!["rows-per-second"],
        "the connector sees only its own"
    );
    assert!(take(&[]).0.unwrap().is_unlimited());

    for bad in ["0", "-5", "1.5", "fast", ""] {
        let err = take(&[("scan.rate-limit.rows-per-second", bad)])
            .0
            .unwrap_err();
        assert!(err.is_validation(), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("'scan.rate-limit.rows-per-second'")
                && msg.contains(&format!("'{bad}' is not a positive integer"))
                && msg.contains("remove the option for no limit"),
            "{msg}"
        );
    }
    let err = take(&[("scan.rate-limit.bytes-per-second", "0")])
        .0
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'scan.rate-limit.bytes-per-second'") && err.contains("bytes per second"),
        "{err}"
    );
}

#[test]
fn the_rate_limit_options_are_framework_keys() {
    for spec in super::OPTIONS {
        assert!(
            crate::options::FRAMEWORK_KEYS.contains(&spec.key),
            "{}",
            spec.key
        );
    }
}

#[test]
fn batches_are_hinted_down_to_a_tenth_of_a_second_of_the_share() {
    let one_bigint = RowType::parse(&["id"], &["BIGINT"]).unwrap();
    assert_eq!(one_bigint.columns[0].ty, FlinkType::BigInt);
    let hint = |rows: Option<u64>, bytes: Option<u64>, p| {
        let limits = RateLimits {
            rows_per_second: rows.and_then(NonZeroU64::new),
            bytes_per_second: bytes.and_then(NonZeroU64::new),
        };
        batch_rows_hint(&limits, p, &one_bigint, DEFAULT_BATCH_ROWS)
    };
    assert_eq!(hint(Some(1000), None, 2), 50);
    assert_eq!(hint(Some(1_000_000_000), None, 2), DEFAULT_BATCH_ROWS);
    assert_eq!(hint(Some(3), None, 4), 1, "never below one row");
    assert_eq!(hint(None, Some(16_000), 1), 100, "16 bytes per row");
    assert_eq!(
        hint(Some(500), Some(16_000), 1),
        50,
        "the tighter of the two"
    );
}
