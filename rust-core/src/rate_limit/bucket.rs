//! The per-reader limiter: a GCRA (generic cell rate algorithm) whose cost is paid after the work,
//! so it can go into debt.
//!
//! Why not `governor` (a GCRA too): its `check_n(n)` decides before the work, with `n` known, and
//! refuses any `n` above the burst size (`InsufficientCapacity`) without recording anything. Here
//! the cost is known only after a batch was read and encoded (bytes), and one batch may be far
//! larger than any sensible burst (rust-mysql-cdc emits a whole snapshot chunk as one batch). The
//! average stays exact only if such a batch is charged in full and the reader then waits its
//! debt off, which governor cannot express; its quota is also fixed per limiter, while a reader's
//! share changes at run time and must carry the debt over. What remains is one `f64`: the
//! theoretical arrival time (TAT), the virtual time up to which the reader has paid.
//!
//! - A reader may poll when `tat <= now`; otherwise it waits `tat - now` (Flink's retry-after).
//! - A batch of cost `c` moves `tat` by `c / rate`, from `max(tat, now - tolerance)`.
//! - `tolerance` bounds the credit an idle reader keeps: after any pause it may emit at most
//!   `tolerance * rate` units ahead of the rate (plus the batch it is allowed to start). It also
//!   absorbs late wake-ups: a reader polled up to `tolerance` late loses no throughput, because
//!   `tat` still carries the exact schedule.
//!
//! Time is passed in (`Instant`), so tests drive it with a fake clock.

use std::time::{Duration, Instant};

/// How much credit a reader may keep while idle or polled late: 50 ms of its rate. Small enough
/// that no burst after an idle period exceeds 5% of a second's limit; large enough to absorb the
/// jitter of the Java thread that wakes the reader.
pub const TOLERANCE: Duration = Duration::from_millis(50);

/// Limits one quantity (rows or bytes) to `rate` per second; costs are paid after the fact.
#[derive(Clone, Debug)]
pub struct DebtBucket {
    /// Units per second; > 0.
    rate: f64,
    /// Origin of the `f64` second counts below.
    origin: Instant,
    /// Theoretical arrival time, seconds since `origin`: the reader has paid up to here.
    tat: f64,
    tolerance: f64,
}

impl DebtBucket {
    /// A bucket without credit: the first batch may start at once, the next waits for it.
    pub fn new(rate: f64, now: Instant) -> Self {
        assert!(
            rate > 0.0 && rate.is_finite(),
            "a rate limit must be positive, got {rate}"
        );
        DebtBucket {
            rate,
            origin: now,
            tat: 0.0,
            tolerance: TOLERANCE.as_secs_f64(),
        }
    }

    /// Units (rows or bytes) per second this bucket allows.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn secs(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.origin).as_secs_f64()
    }

    /// How long the reader must wait before it may poll again; `None`: it may poll now.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        let ahead = self.tat - self.secs(now);
        // Round up to whole microseconds, so a reader woken at the deadline is never early.
        (ahead > 0.0).then(|| Duration::from_micros((ahead * 1e6).ceil().max(1.0) as u64))
    }

    /// Pays for `cost` units emitted at `now` (may leave the bucket in debt).
    pub fn charge(&mut self, cost: f64, now: Instant) {
        let floor = self.secs(now) - self.tolerance;
        self.tat = self.tat.max(floor) + cost / self.rate;
    }

    /// Changes the rate and keeps what the reader owes (or its credit) in units, not in time: a
    /// debt of 1000 rows at 100 rows/s (10 s) becomes 5 s at 200 rows/s.
    pub fn set_rate(&mut self, rate: f64, now: Instant) {
        assert!(
            rate > 0.0 && rate.is_finite(),
            "a rate limit must be positive, got {rate}"
        );
        let now_secs = self.secs(now);
        let owed_units = (self.tat.max(now_secs - self.tolerance) - now_secs) * self.rate;
        self.rate = rate;
        self.tat = (now_secs + owed_units / rate).max(now_secs - self.tolerance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The wait, within the microsecond the rounding may add.
    fn assert_wait(b: &DebtBucket, now: Instant, expected: Duration) {
        let wait = b.wait(now).expect("a wait");
        assert!(
            wait >= expected && wait <= expected + Duration::from_micros(2),
            "{wait:?} vs {expected:?}"
        );
    }

    /// Emits as fast as the bucket allows, one batch per allowed poll, for `span` of fake time
    /// (polled every `tick`); returns the units emitted.
    fn drive(
        bucket: &mut DebtBucket,
        start: Instant,
        span: Duration,
        tick: Duration,
        batch: f64,
    ) -> f64 {
        let mut now = start;
        let mut emitted = 0.0;
        while now < start + span {
            if bucket.wait(now).is_none() {
                bucket.charge(batch, now);
                emitted += batch;
            }
            now += tick;
        }
        emitted
    }

    #[test]
    fn the_average_is_exact_when_every_poll_comes_right_on_time() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(1000.0, t0);
        // Batches of 100 at 1000/s: one every 100 ms; 10 s -> 100 batches.
        let mut now = t0;
        let mut emitted = 0.0;
        while now < t0 + Duration::from_secs(10) {
            match b.wait(now) {
                None => {
                    b.charge(100.0, now);
                    emitted += 100.0;
                }
                Some(wait) => now += wait,
            }
        }
        assert_eq!(emitted, 10_000.0);
    }

    #[test]
    fn a_batch_larger_than_any_burst_is_paid_off_afterwards() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(100.0, t0);
        assert_eq!(b.wait(t0), None);
        b.charge(10_000.0, t0); // a CDC chunk: 100 s worth
        assert_wait(&b, t0, Duration::from_secs(100));
        assert_wait(&b, t0 + Duration::from_secs(60), Duration::from_secs(40));
        assert_eq!(b.wait(t0 + Duration::from_secs(100)), None);
    }

    #[test]
    fn late_polls_lose_no_throughput_within_the_tolerance() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(1000.0, t0);
        // Polled every 7 ms (not a divisor of the 10 ms per batch): each batch starts up to 7 ms
        // late, yet the schedule carries over.
        let emitted = drive(&mut b, t0, Duration::from_secs(10), ms(7), 10.0);
        assert!((emitted - 10_000.0).abs() <= 20.0, "{emitted}");
    }

    #[test]
    fn no_credit_accumulates_while_idle_beyond_the_tolerance() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(1000.0, t0);
        b.charge(100.0, t0);
        // Idle for a minute, then as fast as allowed for one second.
        let resume = t0 + Duration::from_secs(60);
        let emitted = drive(&mut b, resume, Duration::from_secs(1), ms(1), 10.0);
        // One second's rate, plus 50 ms of credit, plus the batch allowed at the last instant.
        assert!(
            emitted <= 1000.0 + 50.0 + 10.0,
            "burst after idle: {emitted}"
        );
        assert!(emitted >= 1000.0, "{emitted}");
    }

    #[test]
    fn a_new_rate_carries_the_debt_over_in_units() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(100.0, t0);
        b.charge(1000.0, t0); // 10 s of debt at 100/s
        b.set_rate(200.0, t0);
        assert_wait(&b, t0, Duration::from_secs(5));
        b.set_rate(50.0, t0 + Duration::from_secs(1)); // 800 units left: 16 s at 50/s
        assert_wait(&b, t0 + Duration::from_secs(1), Duration::from_secs(16));
    }

    #[test]
    fn a_new_rate_keeps_no_more_credit_than_the_tolerance() {
        let t0 = Instant::now();
        let mut b = DebtBucket::new(100.0, t0);
        let later = t0 + Duration::from_secs(30);
        b.set_rate(1000.0, later);
        // The credit is 50 ms at the old rate, 5 units, kept as units: a 60-unit batch leaves
        // 55 units of debt, 55 ms at the new rate.
        b.charge(60.0, later);
        assert_wait(&b, later, ms(55));
    }
}
