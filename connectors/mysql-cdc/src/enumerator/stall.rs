//! The handover watchdog: says when the binlog split waits to be handed out after the snapshot
//! finished, and fails the job when the wait passes `scan.binlog.stall-timeout`.
//!
//! Why: the enumerator hands the binlog split to a reader only once every reader has asked for a
//! split while idle (and, with 'checkpoint' handover, a checkpoint completed after the last chunk).
//! A reader whose request is lost never gets there, and the job then delivers no change again
//! without failing (issue 17's stalls). A wait on readers has no legitimate reason to last: their
//! last chunks are reported, so they are out of work. A failure makes Flink restart the job from
//! its last checkpoint, where the handover starts over. A wait for a checkpoint is the user's to
//! end (checkpointing off, or slow): it only warns.

use std::time::{Duration, Instant};

use rust_core::error::BridgeError;
use rust_core::metrics::{Gauge, Metrics};
use rust_core::Result;

/// Metric: milliseconds the binlog split has waited to be handed out (0 when it does not wait).
pub const WAIT_GAUGE: &str = "binlogHandoverWaitMs";

/// What the binlog split waits for, as the enumerator sees it now.
#[derive(Clone, Debug, PartialEq)]
pub enum HandoverWait {
    /// Nothing: the snapshot is under way, or the split is out.
    None,
    /// A checkpoint completed after the snapshot ('checkpoint' handover).
    Checkpoint,
    /// These readers to ask for a split while idle.
    Readers(Vec<u32>),
}

/// How soon a wait for a checkpoint is reported when the job has taken none since the enumerator
/// started: then checkpointing is probably off (a DataStream job without `enableCheckpointing`;
/// SQL tables switch to 'immediate' handover by themselves), and the binlog phase would never start.
const NO_CHECKPOINT_WARN_AFTER: Duration = Duration::from_secs(15);

/// The warning a wait deserves now, if any (each wait warns once).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Warning {
    /// Waiting for a checkpoint, and none was taken since the enumerator started.
    NoCheckpointYet,
    /// Waiting for a checkpoint for a quarter of the stall timeout.
    SlowCheckpoint,
    /// Waiting for readers for a quarter of the stall timeout.
    SlowReaders,
}

pub struct HandoverWatch {
    timeout: Duration,
    since: Option<Instant>,
    warned: bool,
    /// Whether the job took a checkpoint since the enumerator started.
    checkpoint_taken: bool,
    gauge: Gauge,
}

impl HandoverWatch {
    pub fn new(timeout: Duration, metrics: &Metrics) -> Self {
        HandoverWatch {
            timeout,
            since: None,
            warned: false,
            checkpoint_taken: false,
            gauge: metrics.gauge(WAIT_GAUGE),
        }
    }

    /// The enumerator's state was snapshotted: checkpointing is on.
    pub fn checkpoint_taken(&mut self) {
        self.checkpoint_taken = true;
    }

    fn warning(&self, wait: &HandoverWait, waited: Duration) -> Option<Warning> {
        if self.warned {
            return None;
        }
        match wait {
            HandoverWait::None => None,
            HandoverWait::Checkpoint
                if !self.checkpoint_taken
                    && waited >= NO_CHECKPOINT_WARN_AFTER.min(self.timeout / 4) =>
            {
                Some(Warning::NoCheckpointYet)
            }
            HandoverWait::Checkpoint => {
                (waited >= self.timeout / 4).then_some(Warning::SlowCheckpoint)
            }
            HandoverWait::Readers(_) => {
                (waited >= self.timeout / 4).then_some(Warning::SlowReaders)
            }
        }
    }

    /// How often the enumerator should look: a few times per warning period.
    pub fn period(&self) -> Duration {
        (self.timeout / 16).clamp(Duration::from_millis(100), Duration::from_secs(10))
    }

    /// Publishes the wait; warns at a quarter of the timeout; an error (which fails the job) when
    /// readers were waited for longer than the timeout.
    pub fn check(&mut self, wait: &HandoverWait, now: Instant) -> Result<()> {
        let readers = match wait {
            HandoverWait::None => {
                self.since = None;
                self.warned = false;
                self.gauge.set(0);
                return Ok(());
            }
            HandoverWait::Checkpoint => None,
            HandoverWait::Readers(readers) => Some(readers),
        };
        let waited = now.saturating_duration_since(*self.since.get_or_insert(now));
        self.gauge.set(waited.as_millis() as i64);
        if let Some(readers) = readers {
            if waited >= self.timeout {
                return Err(BridgeError::other(format!(
                    "the snapshot finished {}s ago but the binlog split is still not handed out: readers {readers:?} \
                     have not asked for a split since. Failing the job so that Flink restarts it from its last \
                     checkpoint ('scan.binlog.stall-timeout' = {}s)",
                    waited.as_secs(),
                    self.timeout.as_secs()
                )));
            }
        }
        let Some(warning) = self.warning(wait, waited) else {
            return Ok(());
        };
        self.warned = true;
        match warning {
            Warning::NoCheckpointYet => tracing::warn!(
                waited_s = waited.as_secs(),
                "the snapshot is finished, and the binlog phase starts once a checkpoint completes \
                 ('scan.incremental.snapshot.handover' = 'checkpoint'), but this job has taken no checkpoint since it \
                 started: if checkpointing is off, the binlog phase never starts. Enable checkpointing (DataStream: \
                 env.enableCheckpointing(...); SQL: SET 'execution.checkpointing.interval') or set the handover to \
                 'immediate'"
            ),
            Warning::SlowCheckpoint => tracing::warn!(
                waited_s = waited.as_secs(),
                "the snapshot is finished, and the binlog split waits for a checkpoint to complete before the \
                 binlog phase starts ('scan.incremental.snapshot.handover' = 'checkpoint'): enable checkpointing \
                 (execution.checkpointing.interval) or set the handover to 'immediate'"
            ),
            Warning::SlowReaders => tracing::warn!(
                waited_s = waited.as_secs(),
                ?readers,
                timeout_s = self.timeout.as_secs(),
                "the snapshot is finished but the binlog split is not handed out: it waits for these readers to \
                 ask for a split; the job fails at 'scan.binlog.stall-timeout' if they do not"
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> (HandoverWatch, Metrics) {
        let metrics = Metrics::default();
        (
            HandoverWatch::new(Duration::from_secs(8), &metrics),
            metrics,
        )
    }

    fn gauge(metrics: &Metrics) -> i64 {
        let i = metrics
            .descriptors()
            .iter()
            .position(|(_, n)| n == WAIT_GAUGE)
            .unwrap();
        metrics.long_value(i).unwrap()
    }

    #[test]
    fn a_wait_for_readers_fails_at_the_timeout_and_a_wait_for_a_checkpoint_never_does() {
        let (mut w, metrics) = watch();
        let t0 = Instant::now();
        let readers = HandoverWait::Readers(vec![1]);
        w.check(&readers, t0).unwrap();
        w.check(&readers, t0 + Duration::from_secs(7)).unwrap();
        assert_eq!(gauge(&metrics), 7000);
        let e = w
            .check(&readers, t0 + Duration::from_secs(8))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("readers [1]") && e.contains("scan.binlog.stall-timeout"),
            "{e}"
        );

        // Handed out: the wait starts over.
        w.check(&HandoverWait::None, t0 + Duration::from_secs(9))
            .unwrap();
        assert_eq!(gauge(&metrics), 0);
        w.check(&readers, t0 + Duration::from_secs(10)).unwrap();
        w.check(&readers, t0 + Duration::from_secs(17)).unwrap();

        let (mut w, metrics) = watch();
        w.check(&HandoverWait::Checkpoint, t0).unwrap();
        w.check(&HandoverWait::Checkpoint, t0 + Duration::from_secs(3600))
            .unwrap();
        assert_eq!(gauge(&metrics), 3_600_000);
    }

    #[test]
    fn a_wait_for_a_checkpoint_in_a_job_that_took_none_is_reported_early() {
        let watch = |timeout_s: u64, checkpoint_taken: bool| {
            let mut w = HandoverWatch::new(Duration::from_secs(timeout_s), &Metrics::default());
            if checkpoint_taken {
                w.checkpoint_taken();
            }
            w
        };
        let s = Duration::from_secs;
        let cp = HandoverWait::Checkpoint;
        // Default timeout (5 min): no checkpoint yet is reported at 15 s, a slow one at 75 s.
        assert_eq!(watch(300, false).warning(&cp, s(14)), None);
        assert_eq!(
            watch(300, false).warning(&cp, s(15)),
            Some(Warning::NoCheckpointYet)
        );
        assert_eq!(watch(300, true).warning(&cp, s(15)), None);
        assert_eq!(
            watch(300, true).warning(&cp, s(75)),
            Some(Warning::SlowCheckpoint)
        );
        // A short timeout reports both at its quarter.
        assert_eq!(
            watch(8, false).warning(&cp, s(2)),
            Some(Warning::NoCheckpointYet)
        );
        assert_eq!(
            watch(300, false).warning(&HandoverWait::Readers(vec![0]), s(15)),
            None
        );
        assert_eq!(
            watch(300, false).warning(&HandoverWait::Readers(vec![0]), s(75)),
            Some(Warning::SlowReaders)
        );
        // Once per wait.
        let mut w = watch(300, false);
        let t0 = Instant::now();
        w.check(&cp, t0).unwrap();
        w.check(&cp, t0 + s(15)).unwrap();
        assert_eq!(w.warning(&cp, s(16)), None);
        w.check(&HandoverWait::None, t0 + s(16)).unwrap();
        assert_eq!(w.warning(&cp, s(15)), Some(Warning::NoCheckpointYet));
    }
}
