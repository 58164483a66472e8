//! Connections to the server: options, timeouts, retries with backoff, and errors that name the
//! cause and the fix (never the password).
//!
//! Every connection runs with session `time_zone = '+00:00'`, so TIMESTAMP columns read by the
//! snapshot are UTC, as the binlog carries them.

use std::future::Future;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::config::MySqlCdcConfig;
use crate::offset::BinlogPosition;

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
    username: String,
    timeout: Duration,
    max_retries: u32,
}

impl Connector {
    pub fn new(config: &MySqlCdcConfig) -> Self {
        let opts = OptsBuilder::default()
            .ip_or_hostname(config.hostname.clone())
            .tcp_port(config.port)
            .user(Some(config.username.clone()))
            .pass(Some(config.password.clone()))
            .prefer_socket(false)
            .init(vec!["SET time_zone = '+00:00'", "SET SESSION net_write_timeout = 3600"])
            .stmt_cache_size(16);
        Connector {
            opts: opts.into(),
            address: config.address(),
            username: config.username.clone(),
            timeout: config.connect_timeout,
            max_retries: config.connect_max_retries.max(1),
        }
    }

    /// Connects, retrying transient failures (`connect.max-retries` attempts in all, backoff
    /// doubling from 100 ms); authentication errors fail at once.
    pub async fn connect(&self) -> Result<Conn> {
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let result = tokio::time::timeout(self.timeout, Conn::new(self.opts.clone())).await;
            let error = match result {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => self.describe(&e),
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
                let tries = if attempt > 1 { format!(" (after {attempt} attempts)") } else { String::new() };
                return Err(BridgeError::validation(format!("{message}{tries}")));
            }
            tracing::warn!(address = %self.address, attempt, "connection failed, retrying: {message}");
            tokio::time::sleep(backoff).await; // backoff between attempts, not synchronization
            backoff = (backoff * 2).min(Duration::from_secs(5));
            attempt += 1;
        }
    }

    /// One attempt, no retries (the caller's [`crate::retry::Outage`] paces attempts): a
    /// transient failure (refused, reset, timed out) as an error `retry::is_transient` accepts,
    /// any other as [`Self::connect`] reports it.
    pub async fn connect_once(&self) -> Result<Conn> {
        match tokio::time::timeout(self.timeout, Conn::new(self.opts.clone())).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => match self.describe(&e) {
                (true, _) => Err(db_error(format!("connecting to {}", self.address), e)),
                (false, message) => Err(BridgeError::validation(message)),
            },
            Err(elapsed) => Err(BridgeError::external(
                format!("connecting to {} (option 'connect.timeout' = {:?})", self.address, self.timeout),
                elapsed,
            )),
        }
    }

    /// How a running reader rides out an outage: the same `connect.*` bounds (see `retry`).
    pub fn retry_policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy::bounded_by(self.max_retries, self.timeout)
    }

    /// `host:port` of the server (never credentials).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// (retryable, message) for a connection error.
    fn describe(&self, e: &mysql_async::Error) -> (bool, String) {
        match e {
            mysql_async::Error::Server(s) if s.code == 1045 => (
                false,
                format!(
                    "Access denied for user '{}' at {}: check the options 'username' and 'password'",
                    self.username, self.address
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
        other => other
            .map_err(|e| privilege_error(e, "SHOW MASTER STATUS", "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)"))?,
    };
    let row = row.ok_or_else(|| {
        BridgeError::validation(
            "the server's binary log is disabled (SHOW MASTER STATUS is empty): start it with log_bin, \
             binlog_format=ROW and binlog_row_image=FULL",
        )
    })?;
    let file: String = row.get(0).ok_or_else(|| BridgeError::other("SHOW MASTER STATUS without a file"))?;
    let pos: u64 = row.get(1).ok_or_else(|| BridgeError::other("SHOW MASTER STATUS without a position"))?;
    Ok(BinlogPosition { file, pos })
}

/// The first binlog file the server still has, at its first event.
pub async fn binlog_start(conn: &mut Conn) -> Result<BinlogPosition> {
    let files = binlog_files(conn).await?;
    let first = files.into_iter().next().ok_or_else(|| {
        BridgeError::validation("the server has no binary log files: is log_bin enabled?")
    })?;
    Ok(BinlogPosition { file: first, pos: 4 })
}

/// Binlog files the server still has, oldest first.
pub async fn binlog_files(conn: &mut Conn) -> Result<Vec<String>> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| privilege_error(e, "SHOW BINARY LOGS", "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)"))?;
    Ok(rows.iter().filter_map(|r| r.get::<String, _>(0)).collect())
}

/// Maps "access denied" to a message naming the missing privilege.
pub fn privilege_error(e: mysql_async::Error, statement: &str, privilege: &str) -> BridgeError {
    match &e {
        mysql_async::Error::Server(s) if matches!(s.code, 1227 | 1142 | 1044 | 1045) => BridgeError::validation(format!(
            "the user may not run {statement} ({}): grant it {privilege}",
            s.message
        )),
        _ => db_error(format!("running {statement}"), e),
    }
}

/// True when the server is MariaDB (GTIDs are domain-server-sequence, replication needs its
/// capability flag).
pub async fn is_mariadb(conn: &mut Conn) -> Result<bool> {
    let version: Option<String> =
        conn.query_first("SELECT VERSION()").await.map_err(|e| db_error("reading the server version", e))?;
    Ok(version.unwrap_or_default().to_ascii_lowercase().contains("mariadb"))
}
