//! Riding out a server that goes away for a while (a restart, a failover, a dropped connection):
//! which errors are worth another attempt, and how long to keep trying.
//!
//! A reader that loses its connection reconnects with exponential backoff (100 ms doubling to
//! 10 s). It gives up only when BOTH bounds of the connection options are exhausted: at least
//! `connect.max-retries` consecutive attempts failed AND the outage has lasted `connect.timeout`.
//! Either bound alone would be wrong: three attempts at 100/200/400 ms are over before a server
//! restart is (about a second here), and a time bound alone would let one slow attempt end it.
//!
//! Only transient errors are retried: the connection broke or could not be made (I/O errors,
//! refused or reset connections, the server shutting down, a killed connection, timeouts).
//! Everything the user must fix (credentials, privileges, a purged binlog, bad data) arrives as
//! a validation error or a server error with another code, stays fatal, and keeps its message.

use std::time::Duration;

use std::time::Instant;

use mysql_async::Conn;

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::config::MySqlCdcConfig;
use crate::conn::connect::Connector;

/// How long and how often to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// `connect.max-retries`: consecutive failed attempts before giving up is allowed.
    pub min_attempts: u32,
    /// `connect.timeout`: how long an outage may last before giving up is allowed.
    pub min_outage: Duration,
}

impl RetryPolicy {
    pub fn new(config: &MySqlCdcConfig) -> Self {
        Self::bounded_by(config.connect_max_retries, config.connect_timeout)
    }

    /// `max_retries` and `timeout` as `connect.max-retries` and `connect.timeout` mean them.
    pub fn bounded_by(max_retries: u32, timeout: Duration) -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            min_attempts: max_retries.max(1),
            min_outage: timeout,
        }
    }
}

/// Connects, riding out an outage within the policy's bounds (unlike [`Connector::connect`],
/// whose few quick attempts suit a submission, not a running reader).
pub async fn connect(connector: &Connector) -> Result<Conn> {
    transient(connector, "connecting", async || {
        connector.connect_once().await
    })
    .await
}

/// Runs `step` on a fresh connection; a transient failure of the connection or of the step
/// connects and runs it again. For what a reader does right after connecting (a server going
/// down between the connect and the first query is the same outage as one refusing the connect).
pub async fn on_connection<T>(
    connector: &Connector,
    what: &str,
    mut step: impl AsyncFnMut(&mut Conn) -> Result<T>,
) -> Result<T> {
    transient(connector, what, async || {
        let mut conn = connector.connect_once().await?;
        let result = step(&mut conn).await;
        let _ = conn.disconnect().await;
        result
    })
    .await
}

/// Runs `op` until it succeeds, fails for good (not [`is_transient`]), or the outage outlasts the
/// connector's retry policy.
async fn transient<T>(
    connector: &Connector,
    what: &str,
    mut op: impl AsyncFnMut() -> Result<T>,
) -> Result<T> {
    let (max_retries, timeout) = connector.retry_bounds();
    let mut outage = Outage::new(RetryPolicy::bounded_by(max_retries, timeout));
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) if is_transient(&e) => {
                let Some(delay) = outage.failed(&e) else {
                    return Err(outage.give_up(what, connector.address()));
                };
                tracing::warn!(
                    address = %connector.address(), failures = outage.failures(), retry_in = ?delay,
                    "{what} failed, retrying: {e}"
                );
                // Backoff on the caller's runtime (a reader's worker, Flink's async executor).
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One outage: consecutive failures since the connection last worked.
#[derive(Debug)]
pub struct Outage {
    policy: RetryPolicy,
    started: Instant,
    failures: u32,
    next_delay: Duration,
    last_cause: String,
}

impl Outage {
    pub fn new(policy: RetryPolicy) -> Self {
        let next_delay = policy.first_delay;
        Outage {
            policy,
            started: Instant::now(),
            failures: 0,
            next_delay,
            last_cause: String::new(),
        }
    }

    /// Records a failed attempt. `Some(delay)`: wait that long, then try again; `None`: both
    /// bounds are exhausted, give up (with [`Self::give_up`]).
    pub fn failed(&mut self, cause: &BridgeError) -> Option<Duration> {
        self.failed_after(self.started.elapsed(), cause)
    }

    /// [`Self::failed`] with the outage's duration given (tests).
    fn failed_after(&mut self, elapsed: Duration, cause: &BridgeError) -> Option<Duration> {
        self.failures += 1;
        self.last_cause = cause.to_string();
        if self.failures >= self.policy.min_attempts && elapsed >= self.policy.min_outage {
            return None;
        }
        let delay = self.next_delay;
        self.next_delay = (self.next_delay * 2).min(self.policy.max_delay);
        Some(delay)
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The error that ends the reader: what was lost, for how long, which bounds, the last cause.
    pub fn give_up(&self, what: &str, address: &str) -> BridgeError {
        BridgeError::other(format!(
            "{what}: the server at {address} stayed unreachable; gave up after {} consecutive failures over {:.1?} \
             (the bounds 'connect.max-retries' = {} and 'connect.timeout' = {:?} were both exhausted). \
             Last cause: {}. Check that the server is running and reachable; Flink restarts the job from \
             its last checkpoint.",
            self.failures,
            self.started.elapsed(),
            self.policy.min_attempts,
            self.policy.min_outage,
            self.last_cause
        ))
    }
}

/// True for errors a new connection may cure: the connection broke or could not be made.
pub fn is_transient(e: &BridgeError) -> bool {
    let BridgeError::External { source, .. } = e else {
        return false;
    };
    if let Some(e) = source.downcast_ref::<mysql_async::Error>() {
        return is_transient_mysql(e);
    }
    source.downcast_ref::<std::io::Error>().is_some()
        || source
            .downcast_ref::<tokio::time::error::Elapsed>()
            .is_some()
}

fn is_transient_mysql(e: &mysql_async::Error) -> bool {
    use mysql_async::{DriverError, Error, IoError};
    match e {
        Error::Io(IoError::Io(_)) => true,
        Error::Driver(DriverError::ConnectionClosed | DriverError::PacketOutOfOrder) => true,
        Error::Server(s) => matches!(
            s.code,
            // too many connections, net read/write errors and timeouts, shutdown in progress,
            // query interrupted (server shutdown), MariaDB's "connection was killed", client-side
            // "server has gone away" / "lost connection".
            1040 | 1158 | 1159 | 1160 | 1161 | 1053 | 1317 | 1927 | 2006 | 2013
        ),
        _ => false,
    }
}

/// The error of a binlog stream that simply ended: the server closed the connection.
pub fn connection_closed(context: &str) -> BridgeError {
    BridgeError::external(
        context,
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ),
    )
}

/// The error of a binlog stream that sent nothing, not even a heartbeat, for `limit`: the
/// connection is presumed dead although its socket is still open (see `binlog::silence_limit`).
pub fn connection_silent(context: &str, limit: Duration) -> BridgeError {
    BridgeError::external(
        context,
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no event and no heartbeat from the server for {limit:?} (3 x 'heartbeat.interval'): the \
                 connection is presumed dead"
            ),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32, outage_ms: u64) -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            min_attempts: attempts,
            min_outage: Duration::from_millis(outage_ms),
        }
    }

    fn io_error() -> BridgeError {
        BridgeError::external(
            "reading the binlog",
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        )
    }

    /// A transient failure runs the step again, a definite one ends it at once. Chaos seed
    /// 20261207219: a server going down between the shared cursor's connect and its first query
    /// (SHOW BINARY LOGS) failed the job, as only the connect was retried.
    #[test]
    fn transient_failures_run_the_step_again_and_definite_ones_end_it() {
        let connector = Connector::new(&crate::config::test_config("t", &[]));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut calls = 0;
        let got = rt.block_on(transient(&connector, "checking", async || {
            calls += 1;
            if calls < 3 {
                Err(io_error())
            } else {
                Ok(calls)
            }
        }));
        assert_eq!(got.unwrap(), 3);
        let mut calls = 0;
        let got = rt.block_on(transient(&connector, "checking", async || {
            calls += 1;
            Err::<(), _>(BridgeError::validation("no such table"))
        }));
        assert_eq!(
            got.unwrap_err().to_string(),
            BridgeError::validation("no such table").to_string()
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn backoff_doubles_to_ten_seconds_and_gives_up_only_when_both_bounds_are_exhausted() {
        let mut outage = Outage::new(policy(3, 30_000));
        let mut delays = Vec::new();
        let mut elapsed = Duration::ZERO;
        while let Some(d) = outage.failed_after(elapsed, &io_error()) {
            delays.push(d.as_millis());
            elapsed += d;
        }
        // 100 ms doubling, capped at 10 s; past 3 attempts it goes on until 30 s have passed.
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        let e = outage
            .give_up("lost the binlog connection", "127.0.0.1:3306")
            .to_string();
        assert!(
            e.contains("127.0.0.1:3306") && e.contains("10 consecutive failures"),
            "{e}"
        );
        assert_eq!(outage.failures(), 10);
        assert!(
            e.contains("'connect.max-retries' = 3") && e.contains("'connect.timeout' = 30s"),
            "{e}"
        );
        assert!(e.contains("Last cause: reading the binlog:"), "{e}");

        // A short timeout: the attempt count is the bound that holds.
        let mut outage = Outage::new(policy(5, 0));
        let mut attempts = 1;
        while outage.failed(&io_error()).is_some() {
            attempts += 1;
        }
        assert_eq!(attempts, 5);
    }

    #[test]
    fn only_connection_errors_are_transient() {
        let server = |code: u16| {
            BridgeError::external(
                "x",
                mysql_async::Error::Server(mysql_async::ServerError {
                    code,
                    message: "m".into(),
                    state: "HY000".into(),
                }),
            )
        };
        assert!(is_transient(&io_error()));
        assert!(is_transient(&connection_closed("reading the binlog")));
        assert!(is_transient(&connection_silent(
            "reading the binlog",
            Duration::from_secs(90)
        )));
        assert!(is_transient(&server(1053)), "server shutdown");
        assert!(is_transient(&server(1927)), "connection killed");
        assert!(!is_transient(&server(1236)), "purged binlog");
        assert!(!is_transient(&server(1045)), "access denied");
        assert!(!is_transient(&server(1227)), "missing privilege");
        assert!(!is_transient(&BridgeError::validation("Access denied")));
        assert!(!is_transient(&BridgeError::other("decoding")));
    }
}
