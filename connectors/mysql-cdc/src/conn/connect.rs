//! Connections to the server: options, timeouts, retries with backoff, and errors that name the
//! cause and the fix (never the password).
//!
//! Every connection runs with session `time_zone = '+00:00'`, so TIMESTAMP columns read by the
//! snapshot are UTC, as the binlog carries them.
//!
//! Every connection also gets the source's TLS settings (`conn/tls.rs`): preflight, enumerator,
//! snapshot and binlog connections all come from [`Connector::connect`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::config::MySqlCdcConfig;
use crate::conn::tls::{SslMode, TlsConfig};
use crate::position::offset::BinlogPosition;

/// Runs `future` to completion on a runtime of the calling thread. Each connector thread owns its
/// runtime: a process-wide runtime would keep threads alive after Flink unloads the library.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BridgeError::external("starting an I/O runtime", e))?;
    Ok(runtime.block_on(future))
}

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct Connector {
    opts: Opts,
    address: String,
    hostname: String,
    username: String,
    timeout: Duration,
    max_retries: u32,
    tls: TlsConfig,
    /// PREFERRED fell back to plaintext once already: warn once per connector, not per connection.
    warned_plaintext: Arc<AtomicBool>,
}

impl Connector {
    pub fn new(config: &MySqlCdcConfig) -> Self {
        let opts = OptsBuilder::default()
            .ip_or_hostname(config.hostname.clone())
            .tcp_port(config.port)
            .user(Some(config.username.clone()))
            .pass(Some(config.password.clone()))
            .prefer_socket(false)
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET SESSION net_write_timeout = 3600",
            ])
            .stmt_cache_size(16);
        Connector {
            opts: opts.into(),
            address: config.address(),
            hostname: config.hostname.clone(),
            username: config.username.clone(),
            timeout: config.connect_timeout,
            max_retries: config.connect_max_retries.max(1),
            tls: config.tls.clone(),
            warned_plaintext: Arc::default(),
        }
    }

    /// Connects, retrying transient failures (`connect.max-retries` attempts in all, backoff
    /// doubling from 100 ms); authentication errors fail at once.
    pub async fn connect(&self) -> Result<Conn> {
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let result = tokio::time::timeout(self.timeout, self.attempt()).await;
            let error = match result {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => (e.retryable, e.message),
                Err(_) => (
                    true,
                    format!(
                        "timed out after {:?} connecting to {} (option 'connect.timeout'): check 'hostname', \
                         'port' and the network",
                        self.timeout, self.address
                    ),
                ),
            };
            let (retryable, message) = error;
            if !retryable || attempt >= self.max_retries {
                let tries = if attempt > 1 {
                    format!(" (after {attempt} attempts)")
                } else {
                    String::new()
                };
                return Err(BridgeError::validation(format!("{message}{tries}")));
            }
            tracing::warn!(address = %self.address, attempt, "connection failed, retrying: {message}");
            tokio::time::sleep(backoff).await; // backoff between attempts, not synchronization
            backoff = (backoff * 2).min(Duration::from_secs(5));
            attempt += 1;
        }
    }

    /// One attempt, no retries (the caller's retry loop, conn/retry.rs, paces attempts): a
    /// transient failure (refused, reset, timed out) as an error `retry::is_transient` accepts,
    /// any other (TLS and authentication included) as [`Self::connect`] reports it.
    pub async fn connect_once(&self) -> Result<Conn> {
        match tokio::time::timeout(self.timeout, self.attempt()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(AttemptError {
                retryable: true,
                source: Some(e),
                ..
            })) => Err(db_error(format!("connecting to {}", self.address), e)),
            Ok(Err(AttemptError { message, .. })) => Err(BridgeError::validation(message)),
            Err(elapsed) => Err(BridgeError::external(
                format!(
                    "connecting to {} (option 'connect.timeout' = {:?})",
                    self.address, self.timeout
                ),
                elapsed,
            )),
        }
    }

    /// `connect.max-retries` and `connect.timeout`: the bounds of a reader's retries too (conn/retry.rs).
    pub fn retry_bounds(&self) -> (u32, Duration) {
        (self.max_retries, self.timeout)
    }

    /// `host:port` of the server (never credentials).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// One connection attempt, with TLS as the source's sslMode says.
    async fn attempt(&self) -> std::result::Result<Conn, AttemptError> {
        let ssl = self.tls.ssl_opts().map_err(|message| AttemptError {
            retryable: false,
            message,
            source: None,
        })?;
        let Some(ssl) = ssl else {
            return Conn::new(self.opts.clone())
                .await
                .map_err(|e| self.failed(e, false));
        };
        match Conn::new(OptsBuilder::from_opts(self.opts.clone()).ssl_opts(ssl)).await {
            Ok(conn) => Ok(conn),
            // PREFERRED: plaintext when the server offers no TLS, as Connector/J and the mysql
            // client do. (An attacker who can strip the offer could also fake a certificate,
            // which PREFERRED does not check: only VERIFY_* protects against one.)
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if self.tls.mode == SslMode::Preferred => {
                if !self.warned_plaintext.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        address = %self.address,
                        "the server offers no TLS: connecting unencrypted (sslMode {}); set 'jdbc.properties.sslMode' \
                         = 'REQUIRED' or stricter to refuse unencrypted connections",
                        self.tls.describe_mode()
                    );
                }
                Conn::new(self.opts.clone())
                    .await
                    .map_err(|e| self.failed(e, false))
            }
            Err(e) => Err(self.failed(e, true)),
        }
    }

    fn failed(&self, e: mysql_async::Error, encrypted: bool) -> AttemptError {
        let (retryable, message) = self.describe(&e, encrypted);
        AttemptError {
            retryable,
            message,
            source: Some(e),
        }
    }

    /// (retryable, message) for a connection error; `encrypted`: whether the attempt used TLS.
    fn describe(&self, e: &mysql_async::Error, encrypted: bool) -> (bool, String) {
        // A TLS problem is configuration: retrying would fail the same way.
        if let Some(message) = self.tls.describe_error(e, &self.address, &self.hostname) {
            return (false, message);
        }
        match e {
            mysql_async::Error::Server(s) if s.code == 1045 => (
                false,
                format!(
                    "Access denied for user '{}' at {}: check the options 'username' and 'password'{}",
                    self.username,
                    self.address,
                    self.tls.access_denied_hint(encrypted)
                ),
            ),
            mysql_async::Error::Server(s) => (false, format!("server at {} refused the connection: {} ({})", self.address, s.message, s.code)),
            mysql_async::Error::Io(io) => (
                true,
                format!(
                    "cannot connect to {}: {io}; check the options 'hostname' and 'port' and that the server is running",
                    self.address
                ),
            ),
            other => (true, format!("cannot connect to {}: {other}", self.address)),
        }
    }
}

/// Why one connection attempt failed: the message users see, whether another attempt may
/// succeed, and the driver's error (kept so `retry::is_transient` can classify it).
struct AttemptError {
    retryable: bool,
    message: String,
    source: Option<mysql_async::Error>,
}

/// A database error in context.
pub fn db_error(context: impl Into<String>, e: mysql_async::Error) -> BridgeError {
    BridgeError::external(context.into(), e)
}

/// The end of the binlog now (`SHOW MASTER STATUS`): a transaction boundary.
pub async fn binlog_end(conn: &mut Conn) -> Result<BinlogPosition> {
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        // MySQL 8.4 removed SHOW MASTER STATUS in favour of SHOW BINARY LOG STATUS.
        Err(mysql_async::Error::Server(s)) if s.code == 1064 => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| privilege_error(e, "SHOW BINARY LOG STATUS", "REPLICATION CLIENT"))?,
        other => other.map_err(|e| {
            privilege_error(
                e,
                "SHOW MASTER STATUS",
                "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)",
            )
        })?,
    };
    master_status_position(row)
}

/// The position in the first row of `SHOW MASTER STATUS`; no row means the binlog is disabled.
pub fn master_status_position(row: Option<mysql_async::Row>) -> Result<BinlogPosition> {
    let row = row.ok_or_else(|| {
        BridgeError::validation(
            "the server's binary log is disabled (SHOW MASTER STATUS is empty): start it with log_bin, \
             binlog_format=ROW and binlog_row_image=FULL",
        )
    })?;
    let file: String = row
        .get(0)
        .ok_or_else(|| BridgeError::other("SHOW MASTER STATUS without a file"))?;
    let pos: u64 = row
        .get(1)
        .ok_or_else(|| BridgeError::other("SHOW MASTER STATUS without a position"))?;
    Ok(BinlogPosition { file, pos })
}

/// The first binlog file the server still has, at its first event.
pub async fn binlog_start(conn: &mut Conn) -> Result<BinlogPosition> {
    let files = binlog_files(conn).await?;
    let first = files.into_iter().next().ok_or_else(|| {
        BridgeError::validation("the server has no binary log files: is log_bin enabled?")
    })?;
    Ok(BinlogPosition {
        file: first,
        pos: 4,
    })
}

/// Binlog files the server still has, oldest first.
pub async fn binlog_files(conn: &mut Conn) -> Result<Vec<String>> {
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.map_err(|e| {
        privilege_error(
            e,
            "SHOW BINARY LOGS",
            "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)",
        )
    })?;
    Ok(rows.iter().filter_map(|r| r.get::<String, _>(0)).collect())
}

/// Maps "access denied" to a message naming the missing privilege.
pub fn privilege_error(e: mysql_async::Error, statement: &str, privilege: &str) -> BridgeError {
    match &e {
        mysql_async::Error::Server(s) if matches!(s.code, 1227 | 1142 | 1044 | 1045) => {
            BridgeError::validation(format!(
                "the user may not run {statement} ({}): grant it {privilege}",
                s.message
            ))
        }
        _ => db_error(format!("running {statement}"), e),
    }
}

/// True when the server is MariaDB (GTIDs are domain-server-sequence, replication needs its
/// capability flag).
pub async fn is_mariadb(conn: &mut Conn) -> Result<bool> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| db_error("reading the server version", e))?;
    Ok(version
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("mariadb"))
}
