//! A binlog cursor that survives the server going away: on a transient error (see
//! `retry::is_transient`) it reconnects with backoff and resumes at its offset, the start of the
//! transaction it was in plus the rows of it already returned, so nothing repeats or goes missing.
//!
//! Waiting runs on the reader's worker runtime (tokio timers), never on Flink's task thread.
//! A broken connection is dropped, not closed: its server thread died with the connection, or,
//! if the server still holds it, the new dump under the same server id replaces it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::binlog::{BinlogCursor, RowChange};
use crate::conn::connect::Connector;
use crate::conn::retry::{is_transient, Outage, RetryPolicy};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::TableSchema;

pub struct ReconnectingCursor {
    cursor: BinlogCursor,
    connector: Connector,
    server_id: u32,
    tables: Arc<Vec<TableSchema>>,
    heartbeat: Duration,
    policy: RetryPolicy,
    /// The error that broke the stream, until a new one is open. `try_next` cannot wait, so it
    /// leaves the reconnect to the next `next`.
    broken: Option<BridgeError>,
    /// The failures since the stream last worked; it is over once the reopened stream delivers
    /// an event past where it resumed, or has stayed up for the longest backoff delay.
    outage: Option<Outage>,
    reopened: Option<(Instant, BinlogPosition)>,
}

impl ReconnectingCursor {
    /// Opens at `offset`, retrying transient failures as a reconnect would.
    pub async fn open(
        connector: &Connector,
        server_id: u32,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        heartbeat: Duration,
        policy: RetryPolicy,
    ) -> Result<Self> {
        let mut outage = Outage::new(policy.clone());
        let cursor = loop {
            match open_once(connector, server_id, offset, &tables, heartbeat).await {
                Ok(cursor) => break cursor,
                Err(e) if is_transient(&e) => {
                    wait(&mut outage, e, connector, server_id, offset).await?
                }
                Err(e) => return Err(e),
            }
        };
        Ok(ReconnectingCursor {
            cursor,
            connector: connector.clone(),
            server_id,
            tables,
            heartbeat,
            policy,
            broken: None,
            outage: None,
            reopened: None,
        })
    }

    /// As [`BinlogCursor::next`], reconnecting first when the stream broke.
    pub async fn next(&mut self, out: &mut Vec<RowChange>) -> Result<()> {
        loop {
            if self.broken.is_some() {
                self.reconnect().await?;
            }
            match self.cursor.next(out).await {
                Ok(()) => {
                    self.healthy();
                    return Ok(());
                }
                Err(e) if is_transient(&e) => self.broken = Some(e),
                Err(e) => return Err(e),
            }
        }
    }

    /// As [`BinlogCursor::try_next`]; a broken stream reads as "nothing buffered" and is
    /// reconnected by the next [`Self::next`].
    pub fn try_next(&mut self, out: &mut Vec<RowChange>) -> Result<bool> {
        if self.broken.is_some() {
            return Ok(false);
        }
        match self.cursor.try_next(out) {
            Ok(read) => {
                if read {
                    self.healthy();
                }
                Ok(read)
            }
            Err(e) if is_transient(&e) => {
                self.broken = Some(e);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    pub fn offset(&self) -> BinlogOffset {
        self.cursor.offset()
    }

    /// See [`BinlogCursor::set_schema_changes`]; kept across reconnects.
    pub fn set_schema_changes(&mut self, enabled: bool) {
        self.cursor.set_schema_changes(enabled);
    }

    /// See [`BinlogCursor::set_mappings`]; kept across reconnects.
    pub fn set_mappings(&mut self, mappings: Arc<Vec<Arc<crate::value::TableMapping>>>) {
        self.cursor.set_mappings(mappings);
    }

    /// See [`BinlogCursor::set_compact_json`]; kept across reconnects.
    pub fn set_compact_json(&mut self, compact: bool) {
        self.cursor.set_compact_json(compact);
    }

    /// See [`BinlogCursor::set_start_skip`]; kept across reconnects.
    pub fn set_start_skip(&mut self, skip: crate::binlog::StartSkip) {
        self.cursor.set_start_skip(skip);
    }

    /// See [`BinlogCursor::set_watch`]; kept across reconnects.
    pub fn set_watch(&mut self, watch: Arc<crate::binlog::table_watch::TableWatch>) {
        self.cursor.set_watch(watch);
    }

    /// See [`BinlogCursor::take_found`].
    pub fn take_found(&mut self) -> Vec<crate::schema::TableId> {
        self.cursor.take_found()
    }

    pub fn position(&self) -> BinlogPosition {
        self.cursor.position()
    }

    pub fn at_boundary(&self) -> bool {
        self.cursor.at_boundary()
    }

    /// The cursor now open (or the one that broke): what metrics read positions and times from.
    pub fn current(&self) -> &BinlogCursor {
        &self.cursor
    }

    pub async fn close(self) {
        if self.broken.is_none() {
            self.cursor.close().await;
        }
    }

    fn healthy(&mut self) {
        if let Some((at, position)) = &self.reopened {
            if self.cursor.position() > *position || at.elapsed() >= self.policy.max_delay {
                self.outage = None;
                self.reopened = None;
            }
        }
    }

    /// Reopens the stream at the offset of everything returned so far.
    async fn reconnect(&mut self) -> Result<()> {
        let offset = self.cursor.offset();
        let outage = self
            .outage
            .get_or_insert_with(|| Outage::new(self.policy.clone()));
        let mut cause = self.broken.take().expect("reconnect only a broken stream");
        loop {
            wait(outage, cause, &self.connector, self.server_id, &offset).await?;
            match open_once(
                &self.connector,
                self.server_id,
                &offset,
                &self.tables,
                self.heartbeat,
            )
            .await
            {
                Ok(cursor) => {
                    tracing::info!(
                        address = %self.connector.address(), server_id = self.server_id, offset = %offset,
                        "binlog connection re-established"
                    );
                    self.reopened = Some((Instant::now(), cursor.position()));
                    let mut cursor = cursor;
                    cursor.carry_over(&mut self.cursor);
                    self.cursor = cursor;
                    return Ok(());
                }
                Err(e) if is_transient(&e) => cause = e,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Counts a failure and waits the backoff delay, or gives up with the error naming the server,
/// the bounds and the last cause.
async fn wait(
    outage: &mut Outage,
    cause: BridgeError,
    connector: &Connector,
    server_id: u32,
    offset: &BinlogOffset,
) -> Result<()> {
    let Some(delay) = outage.failed(&cause) else {
        let what = format!(
            "the binlog reader (server id {server_id}) could not (re)connect to read from {offset}"
        );
        return Err(outage.give_up(&what, connector.address()));
    };
    tracing::warn!(
        address = %connector.address(), server_id, offset = %offset, failures = outage.failures(), retry_in = ?delay,
        "binlog connection lost, reconnecting: {cause}"
    );
    // Backoff between attempts on the worker's runtime: a timer, not synchronization.
    tokio::time::sleep(delay).await;
    Ok(())
}

async fn open_once(
    connector: &Connector,
    server_id: u32,
    offset: &BinlogOffset,
    tables: &Arc<Vec<TableSchema>>,
    heartbeat: Duration,
) -> Result<BinlogCursor> {
    let conn = connector.connect_once().await?;
    BinlogCursor::open_on(
        conn,
        connector,
        server_id,
        offset,
        tables.clone(),
        heartbeat,
    )
    .await
}
