//! Rust `tracing` events for Flink's log. Native threads never call into the JVM, so events go to
//! a bounded in-memory queue and a Java thread drains it into SLF4J (logger = the event's target,
//! at the matching level). Java sets the most verbose level it wants, so disabled events cost a
//! relaxed atomic load.
//!
//! Context: the runtime runs every reader and enumerator call inside a [`LogContext`] carrying the
//! connector and subtask (see `jni.rs`), and connectors enter it on their own threads
//! (`ReaderContext::log_context`). Each event's message ends with its own fields, then the
//! context's: `chunk read rows=8192 connector=rust-mysql-cdc subtask=1 table=db.t chunk=7`.
//!
//! [`LogContext`]: crate::log_context::LogContext

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Events kept while Java is not draining; older ones are dropped (and counted) beyond this.
const QUEUE_CAPACITY: usize = 10_000;

/// Levels as Java sees them: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace.
pub fn level_number(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// One `tracing` event as Java's drain thread logs it through SLF4J.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// [`level_number`] of the event's level (1 error … 5 trace).
    pub level: u8,
    /// The event's target (module path unless set), used as the SLF4J logger name.
    pub target: String,
    /// The message, then ` key=value` for the event's fields and then its context's.
    pub message: String,
}

struct LogQueue {
    state: Mutex<QueueState>,
    cv: Condvar,
}

#[derive(Default)]
struct QueueState {
    records: VecDeque<LogRecord>,
    /// Sticky: a wake that arrives before the drain thread blocks is not lost.
    wake_pending: bool,
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(3);
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn queue() -> &'static LogQueue {
    static QUEUE: OnceLock<LogQueue> = OnceLock::new();
    QUEUE.get_or_init(|| LogQueue {
        state: Mutex::default(),
        cv: Condvar::new(),
    })
}

/// Installs the queueing subscriber as the process-wide default (once; later calls do nothing).
pub fn install() {
    let _ =
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(QueueLayer));
}

/// The most verbose level to capture (0 turns capture off).
pub fn set_max_level(level: u8) {
    MAX_LEVEL.store(level.min(5), Ordering::Relaxed);
}

/// Events dropped because the queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Blocks until there are records (returns them all) or [`wake`] was called since the last
/// return (may return none).
pub fn await_records() -> Vec<LogRecord> {
    let q = queue();
    let mut state = q.state.lock().unwrap_or_else(|e| e.into_inner());
    while state.records.is_empty() && !state.wake_pending {
        state = q.cv.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    state.wake_pending = false;
    state.records.drain(..).collect()
}

/// Makes the current or next [`await_records`] return (Java stops its drain thread this way).
pub fn wake() {
    let q = queue();
    q.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .wake_pending = true;
    q.cv.notify_all();
}

fn push(record: LogRecord) {
    let q = queue();
    let mut state = q.state.lock().unwrap_or_else(|e| e.into_inner());
    if state.records.len() >= QUEUE_CAPACITY {
        state.records.pop_front();
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    state.records.push_back(record);
    drop(state);
    q.cv.notify_one();
}

struct QueueLayer;

impl<S: Subscriber> Layer<S> for QueueLayer {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at runtime, so decide per event.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        level_number(metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        crate::log_context::append_current(&mut visitor.fields);
        push(LogRecord {
            level: level_number(event.metadata().level()),
            target: event.metadata().target().to_string(),
            message: visitor.finish(),
        });
    }
}

/// Formats `message` followed by ` key=value` for every other field.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_string()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the queue is process-global, so concurrent tests would drain each other's records.
    #[test]
    fn events_reach_the_queue_and_wake_releases_the_drain() {
        install();
        set_max_level(4);
        tracing::debug!(target: "rust_core::test", subtask = 3, "reader started");
        tracing::trace!(target: "rust_core::test", "too verbose: filtered out");
        let records = await_records();
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.target == "rust_core::test")
            .collect();
        assert_eq!(mine.len(), 1, "{records:?}");
        assert_eq!(mine[0].level, 4);
        assert_eq!(mine[0].message, "reader started subtask=3");

        // The context follows the event's own fields, on any thread that entered it.
        let reader =
            crate::log_context::LogContext::new(&[("connector", &"rust-test"), ("subtask", &2)]);
        let chunk = reader.with(&[("table", &"db.t")]);
        let worker = std::thread::spawn(move || {
            let _g = chunk.enter();
            tracing::info!(target: "rust_core::test", rows = 5, "chunk read");
        });
        worker.join().unwrap();
        let records = await_records();
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.target == "rust_core::test")
            .collect();
        assert_eq!(mine.len(), 1, "{records:?}");
        assert_eq!(
            mine[0].message,
            "chunk read rows=5 connector=rust-test subtask=2 table=db.t"
        );

        let t = std::thread::spawn(await_records);
        wake();
        t.join().unwrap();
        wake();
        assert!(
            await_records().is_empty(),
            "a wake before the wait returns at once"
        );
    }
}
