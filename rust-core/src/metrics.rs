//! Connector metrics: named counters and gauges a connector registers on its
//! [`ReaderContext`](crate::api::ReaderContext) or
//! [`EnumeratorContext`](crate::api::EnumeratorContext), shown by Flink like its own metrics.
//!
//! Each metric is an atomic (or, for text, a small mutex) behind an `Arc`: a connector keeps the
//! handle it got at registration and updates it from any thread, the task thread or its own
//! background threads, without locks on the hot path. Java mirrors the registry as Flink
//! `Counter`s and `Gauge`s whose reads call into native code on Flink's metric reporter thread
//! (JVM threads calling native is fine; native threads never call the JVM). Java learns about new
//! metrics from the registry's generation, which every registration bumps.
//!
//! Registering a name again returns the metric registered first (if its kind matches), so a
//! connector may register from code that runs more than once (a worker restarted per split).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{BridgeError, Result};

/// How Java exposes a metric. The numbers are part of the JNI contract (`NativeMetrics.java`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MetricKind {
    /// A Flink `Counter`: a count that only grows (rows read, errors).
    Counter = 1,
    /// A Flink `Gauge<Long>`: a value set by the connector (splits remaining, a position).
    Gauge = 2,
    /// A Flink `Gauge<String>` (a binlog file name, a GTID set).
    Text = 3,
    /// A Flink `Gauge<Long>`: time elapsed since an instant the connector sets, in the unit it
    /// chose when registering (seconds behind the server); -1 while unset.
    Elapsed = 4,
}

/// A count that only grows.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicI64>);

impl Counter {
    /// Adds `n`; from any thread.
    pub fn inc(&self, n: u64) {
        self.0.fetch_add(n as i64, Ordering::Relaxed);
    }

    /// The count so far (what Flink reads).
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value the connector sets.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Replaces the value; from any thread.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// The value last set, 0 before the first set.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A text value the connector sets (rarely: each set takes a lock and may allocate).
#[derive(Clone, Debug, Default)]
pub struct TextGauge(Arc<Mutex<String>>);

impl TextGauge {
    /// Replaces the value; does nothing (no allocation) when it is unchanged.
    pub fn set(&self, v: &str) {
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if *text != v {
            text.clear();
            text.push_str(v);
        }
    }

    /// The value last set, empty before the first set.
    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Time since an instant (epoch milliseconds) the connector sets, read as now minus that instant.
#[derive(Clone, Debug)]
pub struct ElapsedGauge {
    since_ms: Arc<AtomicI64>,
    unit_ms: i64,
}

const UNSET: i64 = i64::MIN;

impl ElapsedGauge {
    /// Sets the instant, epoch milliseconds.
    pub fn set_since_ms(&self, epoch_ms: i64) {
        self.since_ms.store(epoch_ms, Ordering::Relaxed);
    }

    /// The elapsed time in the gauge's unit, never negative (clocks of two machines differ), or
    /// -1 while no instant was set.
    pub fn get(&self) -> i64 {
        match self.since_ms.load(Ordering::Relaxed) {
            UNSET => -1,
            since => (now_ms() - since).max(0) / self.unit_ms,
        }
    }
}

/// Milliseconds since the epoch, by the system clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Clone, Debug)]
enum Value {
    Counter(Counter),
    Gauge(Gauge),
    Text(TextGauge),
    Elapsed(ElapsedGauge),
}

impl Value {
    fn kind(&self) -> MetricKind {
        match self {
            Value::Counter(_) => MetricKind::Counter,
            Value::Gauge(_) => MetricKind::Gauge,
            Value::Text(_) => MetricKind::Text,
            Value::Elapsed(_) => MetricKind::Elapsed,
        }
    }
}

/// The metrics of one reader or enumerator. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    inner: Arc<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    /// In registration order: Java addresses a metric by its index, which never changes.
    metrics: Mutex<Vec<(String, Value)>>,
    generation: AtomicU64,
}

impl Metrics {
    /// An empty set of metrics; the runtime creates one per reader and enumerator.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter `name` in this reader's or enumerator's Flink metric group, registered on first
    /// use; keep the handle rather than looking it up per row.
    pub fn counter(&self, name: &str) -> Counter {
        match self.register(name, || Value::Counter(Counter::default())) {
            Value::Counter(c) => c,
            other => detached(name, &other, MetricKind::Counter, Counter::default()),
        }
    }

    /// The `Gauge<Long>` `name`, registered on first use like [`Metrics::counter`].
    pub fn gauge(&self, name: &str) -> Gauge {
        match self.register(name, || Value::Gauge(Gauge::default())) {
            Value::Gauge(g) => g,
            other => detached(name, &other, MetricKind::Gauge, Gauge::default()),
        }
    }

    /// The `Gauge<String>` `name`, registered on first use like [`Metrics::counter`].
    pub fn text(&self, name: &str) -> TextGauge {
        match self.register(name, || Value::Text(TextGauge::default())) {
            Value::Text(t) => t,
            other => detached(name, &other, MetricKind::Text, TextGauge::default()),
        }
    }

    /// Time elapsed since an instant the connector sets, reported in units of `unit_ms`
    /// milliseconds (1000: seconds).
    pub fn elapsed(&self, name: &str, unit_ms: i64) -> ElapsedGauge {
        let fresh = || ElapsedGauge {
            since_ms: Arc::new(AtomicI64::new(UNSET)),
            unit_ms: unit_ms.max(1),
        };
        match self.register(name, || Value::Elapsed(fresh())) {
            Value::Elapsed(e) => e,
            other => detached(name, &other, MetricKind::Elapsed, fresh()),
        }
    }

    fn register(&self, name: &str, create: impl FnOnce() -> Value) -> Value {
        let mut metrics = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, existing)) = metrics.iter().find(|(n, _)| n == name) {
            return existing.clone();
        }
        let value = create();
        metrics.push((name.to_string(), value.clone()));
        self.inner.generation.fetch_add(1, Ordering::Release);
        value
    }

    /// Changes with every registration: Java registers what is new when it differs.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Every metric as (kind, name), in registration order (the indexes of the reads below).
    pub fn descriptors(&self) -> Vec<(MetricKind, String)> {
        let metrics = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        metrics.iter().map(|(n, v)| (v.kind(), n.clone())).collect()
    }

    /// The value of a counter, gauge or elapsed-time metric.
    pub fn long_value(&self, index: usize) -> Result<i64> {
        match self.value(index)? {
            Value::Counter(c) => Ok(c.get()),
            Value::Gauge(g) => Ok(g.get()),
            Value::Elapsed(e) => Ok(e.get()),
            Value::Text(_) => Err(BridgeError::other(format!(
                "metric {index} is text, not a number"
            ))),
        }
    }

    /// The value of a text metric, or a number's as text.
    pub fn text_value(&self, index: usize) -> Result<String> {
        match self.value(index)? {
            Value::Text(t) => Ok(t.get()),
            _ => self.long_value(index).map(|v| v.to_string()),
        }
    }

    fn value(&self, index: usize) -> Result<Value> {
        let metrics = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        metrics
            .get(index)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| BridgeError::other(format!("no metric {index} (of {})", metrics.len())))
    }
}

/// A connector registered one name as two kinds: a bug in the connector. It gets `fresh`, a
/// metric no one shows, so that it keeps running; the log says what happened.
fn detached<T>(name: &str, existing: &Value, requested: MetricKind, fresh: T) -> T {
    tracing::error!(target: "rust_core::metrics",
        "metric '{name}' is registered as {:?} and again as {requested:?}; the second is not shown",
        existing.kind());
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_indexed_in_order_and_a_name_registers_once() {
        let m = Metrics::new();
        let g0 = m.generation();
        let rows = m.counter("rows");
        let file = m.text("file");
        assert_ne!(m.generation(), g0);
        let g1 = m.generation();
        let again = m.counter("rows");
        assert_eq!(
            m.generation(),
            g1,
            "registering an existing name changes nothing"
        );
        rows.inc(3);
        again.inc(2);
        file.set("bin.000002");
        assert_eq!(
            m.descriptors(),
            vec![
                (MetricKind::Counter, "rows".to_string()),
                (MetricKind::Text, "file".to_string())
            ]
        );
        assert_eq!(m.long_value(0).unwrap(), 5);
        assert_eq!(m.text_value(1).unwrap(), "bin.000002");
        assert!(m.long_value(1).is_err());
        assert!(m.long_value(2).is_err());
    }

    #[test]
    fn a_name_registered_as_another_kind_gets_a_detached_metric() {
        let m = Metrics::new();
        m.counter("x").inc(1);
        let g = m.gauge("x");
        g.set(42);
        assert_eq!(m.long_value(0).unwrap(), 1);
        assert_eq!(m.descriptors().len(), 1);
    }

    #[test]
    fn elapsed_gauges_report_time_since_their_instant_in_their_unit() {
        let m = Metrics::new();
        let behind = m.elapsed("secondsBehind", 1000);
        assert_eq!(behind.get(), -1);
        behind.set_since_ms(now_ms() - 5_500);
        assert_eq!(behind.get(), 5);
        behind.set_since_ms(now_ms() + 60_000);
        assert_eq!(behind.get(), 0, "a clock ahead of ours is not negative lag");
    }
}
