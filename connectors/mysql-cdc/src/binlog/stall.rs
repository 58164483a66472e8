//! The binlog reader's watchdog: says when the reader reads nothing while the server's binlog
//! moves, and fails the job when that lasts `scan.binlog.stall-timeout`.
//!
//! Why: a binlog reader that sees none of what the server writes delivers no change again. Two
//! causes are known and told apart:
//! - on the shared binlog connection, another source's reader does not take its events (its part
//!   of the job is backpressured, or Flink does not poll it) and so holds up every reader of the
//!   server (`binlog/shared.rs`, Backpressure). That is the user's to cure: a WARN names the
//!   cures, the job does not fail (a restart would come back to the same wait);
//! - anything else (a connection the server stopped writing to without closing it, a defect):
//!   a WARN at a quarter of the timeout, then an error that fails the job so that Flink restarts
//!   it from its last checkpoint, rather than a job that runs on and delivers nothing.
//!
//! What counts: only time the reader's worker spends waiting for the server (in the cursor's
//! `next`). Time it spends blocked on Flink (its own backpressure, Flink's to report) never
//! counts. A task of its own on the worker's runtime ([`StallMonitor`]) looks every period: the
//! binlog loop only publishes its position and whether it waits (a lock per batch), and its wait
//! is never cancelled by the watchdog (the cursor's silence limit and reconnect backoff would
//! restart with each cancelled wait). Each look compares the reader's position with the last
//! look's; only a reader that did not move asks the server for the end of its binlog (SHOW MASTER
//! STATUS on a connection of the monitor's own), so a reader that keeps up costs nothing. A period
//! is stalled when the reader did not move while the server's end moved, past the reader: the
//! server was writing and the reader saw none of it. An idle server never counts, nor does an end
//! that cannot be read (an outage: the cursor's reconnects report that).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::Conn;
use tokio::sync::oneshot;

use rust_core::error::BridgeError;
use rust_core::metrics::{Gauge, Metrics};
use rust_core::Result;

use crate::binlog::shared::HoldProbe;
use crate::conn::connect::Connector;
use crate::position::offset::BinlogPosition;

/// Metric: milliseconds the binlog reader has read nothing while the server's binlog moved (0
/// when it keeps up).
pub const STALL_GAUGE: &str = "binlogStalledMs";

/// What a look at the reader's position found.
#[derive(Debug, PartialEq)]
pub enum Look {
    /// It moved since the last look: nothing to ask the server.
    Moved,
    /// It did not: ask the server for the end of its binlog and call [`BinlogStallWatch::still`].
    Still,
}

pub struct BinlogStallWatch {
    timeout: Duration,
    /// The reader's position at the last look, and when that look was.
    position: Option<(BinlogPosition, Instant)>,
    /// The server's end at the last look that read it, while the reader did not move.
    head: Option<BinlogPosition>,
    stalled: Duration,
    warned: bool,
    gauge: Gauge,
}

impl BinlogStallWatch {
    pub fn new(timeout: Duration, metrics: &Metrics) -> Self {
        BinlogStallWatch {
            timeout,
            position: None,
            head: None,
            stalled: Duration::ZERO,
            warned: false,
            gauge: metrics.gauge(STALL_GAUGE),
        }
    }

    /// How often the reader looks: a few times per warning period.
    pub fn period(&self) -> Duration {
        (self.timeout / 16).clamp(Duration::from_millis(100), Duration::from_secs(10))
    }

    /// Compares `position` with the last look's. A move ends any stall.
    pub fn look(&mut self, position: &BinlogPosition, now: Instant) -> Look {
        match &mut self.position {
            Some((last, _)) if last == position => Look::Still,
            _ => {
                self.position = Some((position.clone(), now));
                self.head = None;
                if self.stalled > Duration::ZERO {
                    tracing::info!(
                        stalled_s = self.stalled.as_secs(),
                        position = %position,
                        "the binlog reader reads the server's changes again"
                    );
                }
                self.stalled = Duration::ZERO;
                self.warned = false;
                self.gauge.set(0);
                Look::Moved
            }
        }
    }

    /// The worker was not waiting for the server at this look (busy, or blocked on Flink): the
    /// time since the last look does not count.
    pub fn away(&mut self, now: Instant) {
        if let Some((_, last_look)) = &mut self.position {
            *last_look = now;
        }
    }

    /// After [`Look::Still`]: `head` is the server's end now (None when it could not be read),
    /// `held` whether the shared binlog connection waits for another source's reader. An error
    /// (which fails the job) when the reader saw none of the server's writes for the timeout.
    pub fn still(&mut self, head: Option<BinlogPosition>, held: bool, now: Instant) -> Result<()> {
        let cap = self.period() * 2;
        let Some((position, last_look)) = &mut self.position else {
            return Ok(());
        };
        // Time since the last look, at most two periods: time the worker spent elsewhere (blocked
        // on Flink) is not the server's to answer for.
        let period = now.saturating_duration_since(*last_look).min(cap);
        *last_look = now;
        let Some(head) = head else { return Ok(()) };
        let server_moved = self.head.as_ref().is_some_and(|last| head > *last);
        let behind = head > *position;
        let position = position.clone();
        let last_head = self.head.replace(head.clone());
        if !(server_moved && behind) {
            return Ok(());
        }
        self.stalled += period;
        self.gauge.set(self.stalled.as_millis() as i64);
        let from = last_head.expect("moved from a head");
        if held {
            if !self.warned && self.stalled >= self.timeout / 4 {
                self.warned = true;
                tracing::warn!(
                    stalled_s = self.stalled.as_secs(),
                    position = %position,
                    server = %head,
                    "the binlog reader waits on the server's shared binlog connection for another source's reader, \
                     which does not take its changes (its part of the job is backpressured, or not polled): every \
                     source on that connection waits with it. Enable 'scan.binlog.spill.enabled' on the sources, or \
                     give the slow source a connection of its own ('scan.binlog.shared-connection.enabled' = 'false')"
                );
            }
            return Ok(());
        }
        if self.stalled >= self.timeout {
            return Err(BridgeError::other(format!(
                "the binlog reader has read nothing for {}s while the server's binlog moved (from {from} to {head}; \
                 the reader stands at {position}). Failing the job so that Flink restarts it from its last checkpoint \
                 ('scan.binlog.stall-timeout' = {}s)",
                self.stalled.as_secs(),
                self.timeout.as_secs()
            )));
        }
        if !self.warned && self.stalled >= self.timeout / 4 {
            self.warned = true;
            tracing::warn!(
                stalled_s = self.stalled.as_secs(),
                position = %position,
                server = %head,
                timeout_s = self.timeout.as_secs(),
                "the binlog reader reads nothing while the server's binlog moves; the job fails at \
                 'scan.binlog.stall-timeout' if that goes on"
            );
        }
        Ok(())
    }
}

/// What the binlog loop shows its monitor.
struct Progress {
    position: BinlogPosition,
    waiting: bool,
}

/// The watchdog of one binlog reader, on a task of its own (module docs); ends with it (drop).
pub struct StallMonitor {
    progress: Arc<Mutex<Progress>>,
    failed: oneshot::Receiver<BridgeError>,
    task: tokio::task::JoinHandle<()>,
}

impl StallMonitor {
    /// Starts the monitor on the current runtime. `probe` tells whether the shared binlog
    /// connection waits for another reader.
    pub fn start(
        timeout: Duration,
        metrics: &Metrics,
        connector: Connector,
        position: BinlogPosition,
        probe: Option<HoldProbe>,
    ) -> Self {
        let progress = Arc::new(Mutex::new(Progress {
            position,
            waiting: false,
        }));
        let (report, failed) = oneshot::channel();
        let watch = BinlogStallWatch::new(timeout, metrics);
        let task = tokio::spawn(monitor(
            watch,
            ServerHead::new(connector),
            progress.clone(),
            probe,
            report,
        ));
        StallMonitor {
            progress,
            failed,
            task,
        }
    }

    /// The binlog loop starts waiting for the server at `position`.
    pub fn waiting_at(&self, position: BinlogPosition) {
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        progress.position = position;
        progress.waiting = true;
    }

    /// The wait is over (events, or a command).
    pub fn busy(&self) {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting = false;
    }

    /// Resolves with the error that fails the job, once the stall passed the timeout
    /// (cancel-safe: a select may poll it again and again).
    pub async fn failed(&mut self) -> BridgeError {
        match (&mut self.failed).await {
            Ok(e) => e,
            // The monitor never ends on its own but by failing.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for StallMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn monitor(
    mut watch: BinlogStallWatch,
    mut head: ServerHead,
    progress: Arc<Mutex<Progress>>,
    probe: Option<HoldProbe>,
    report: oneshot::Sender<BridgeError>,
) {
    let mut looks = tokio::time::interval(watch.period());
    looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        looks.tick().await;
        let (position, waiting) = {
            let progress = progress.lock().unwrap_or_else(|p| p.into_inner());
            (progress.position.clone(), progress.waiting)
        };
        let now = Instant::now();
        if !waiting {
            watch.away(now);
            continue;
        }
        if watch.look(&position, now) == Look::Still {
            let end = head.read(watch.period().min(Duration::from_secs(5))).await;
            let held = probe.as_ref().is_some_and(HoldProbe::held);
            if let Err(e) = watch.still(end, held, Instant::now()) {
                let _ = report.send(e);
                head.close().await;
                return;
            }
        }
    }
}

/// The server's end of binlog for the watch, on a connection opened at the first need and kept
/// (a reader that keeps up never opens it). One attempt per look, bounded by `limit`: a server
/// that does not answer is an outage, which the cursor's reconnects deal with.
pub struct ServerHead {
    connector: Connector,
    conn: Option<Conn>,
}

impl ServerHead {
    pub fn new(connector: Connector) -> Self {
        ServerHead {
            connector,
            conn: None,
        }
    }

    pub async fn read(&mut self, limit: Duration) -> Option<BinlogPosition> {
        match tokio::time::timeout(limit, self.query()).await {
            Ok(Ok(head)) => Some(head),
            Ok(Err(e)) => {
                tracing::debug!("reading the server's end of binlog for the stall watchdog: {e}");
                self.conn = None;
                None
            }
            Err(_) => {
                self.conn = None;
                None
            }
        }
    }

    async fn query(&mut self) -> Result<BinlogPosition> {
        if self.conn.is_none() {
            self.conn = Some(self.connector.connect_once().await?);
        }
        crate::conn::connect::binlog_end(self.conn.as_mut().expect("connected above")).await
    }

    pub async fn close(self) {
        if let Some(conn) = self.conn {
            let _ = conn.disconnect().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(pos: u64) -> BinlogPosition {
        BinlogPosition {
            file: "bin.000001".into(),
            pos,
        }
    }

    fn watch() -> (BinlogStallWatch, Metrics) {
        let metrics = Metrics::default();
        (
            BinlogStallWatch::new(Duration::from_secs(16), &metrics),
            metrics,
        )
    }

    fn gauge(metrics: &Metrics) -> i64 {
        let i = metrics
            .descriptors()
            .iter()
            .position(|(_, n)| n == STALL_GAUGE)
            .unwrap();
        metrics.long_value(i).unwrap()
    }

    /// Looks `looks` at a reader stuck at 100 while the server's end grows by 10 each period.
    fn stuck_while_the_server_writes(
        w: &mut BinlogStallWatch,
        t0: Instant,
        looks: std::ops::Range<u32>,
        held: bool,
    ) -> Result<()> {
        let period = w.period();
        for i in looks {
            let now = t0 + period * i;
            if w.look(&at(100), now) == Look::Still {
                w.still(Some(at(200 + 10 * u64::from(i))), held, now)?;
            }
        }
        Ok(())
    }

    #[test]
    fn a_reader_that_reads_nothing_while_the_server_writes_fails_at_the_timeout() {
        let (mut w, metrics) = watch();
        let t0 = Instant::now();
        assert_eq!(w.period(), Duration::from_secs(1));
        // The first look sets the position, the second the server's end: then 15 stalled periods.
        stuck_while_the_server_writes(&mut w, t0, 0..17, false).unwrap();
        assert_eq!(gauge(&metrics), 15_000);
        let err = stuck_while_the_server_writes(&mut w, t0, 17..18, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("read nothing for 16s") && err.contains("stands at bin.000001:100"),
            "{err}"
        );
        // A move ends the stall.
        assert_eq!(w.look(&at(300), t0 + Duration::from_secs(20)), Look::Moved);
        assert_eq!(gauge(&metrics), 0);
    }

    #[test]
    fn an_idle_server_an_unreadable_end_and_a_held_reader_never_fail() {
        let t0 = Instant::now();
        // The server writes nothing: its end stays ahead (say a rotation's header) but never moves.
        let (mut w, metrics) = watch();
        for i in 0..100 {
            let now = t0 + Duration::from_secs(i);
            if w.look(&at(100), now) == Look::Still {
                w.still(Some(at(150)), false, now).unwrap();
            }
        }
        assert_eq!(gauge(&metrics), 0);
        // The end cannot be read (an outage).
        let (mut w, _) = watch();
        for i in 0..100 {
            let now = t0 + Duration::from_secs(i);
            if w.look(&at(100), now) == Look::Still {
                w.still(None, false, now).unwrap();
            }
        }
        // Held by another reader of the shared connection: counted, warned, never failed.
        let (mut w, metrics) = watch();
        stuck_while_the_server_writes(&mut w, t0, 0..100, true).unwrap();
        assert_eq!(gauge(&metrics), 98_000);
    }

    #[test]
    fn time_the_worker_spent_away_from_the_wait_counts_at_most_two_periods() {
        let (mut w, metrics) = watch();
        let t0 = Instant::now();
        w.look(&at(100), t0);
        assert_eq!(w.look(&at(100), t0 + Duration::from_secs(1)), Look::Still);
        w.still(Some(at(200)), false, t0 + Duration::from_secs(1))
            .unwrap();
        // An hour blocked on Flink, then a look at a server that moved.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(w.look(&at(100), later), Look::Still);
        w.still(Some(at(300)), false, later).unwrap();
        assert_eq!(gauge(&metrics), 2_000);
    }
}
