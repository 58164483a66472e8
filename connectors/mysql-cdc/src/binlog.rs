//! Reading the binlog: a replication connection from an offset, decoded into row changes of the
//! captured tables, each with the position of its transaction.
//!
//! Offsets: a reader resumes at the start of a transaction and skips the row changes of that
//! transaction it already emitted (`BinlogOffset::skip_rows`), so a batch may end anywhere, even
//! inside a transaction of a million rows. Every row change of every table counts towards the
//! skip, so the count means the same on resume whatever is captured.
//!
//! MariaDB: its GTID events (type 162) are not decoded by mysql_common; with
//! `@mariadb_slave_capability=4` the server sends them and we read the sequence and domain by
//! hand. MySQL: GTID events are decoded by mysql_common, the executed GTID set is kept by
//! [`MySqlGtidTracker`] (exact or unknown, see `gtid.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_common::io::ParseBuf;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::connect::{binlog_files, db_error, is_mariadb, Connector};
use crate::gtid::MySqlGtidTracker;
use crate::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{TableId, TableSchema};
use crate::value::{BinlogImageLayout, RowNormalizer, RowValues};

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
}

/// One row change of a captured table.
#[derive(Debug)]
pub struct RowChange {
    /// Index into the captured tables.
    pub table: usize,
    pub kind: ChangeKind,
    pub before: Option<RowValues>,
    pub after: Option<RowValues>,
    /// Start of the transaction the change belongs to: compared with chunk watermarks.
    pub txn_start: BinlogPosition,
    /// When the server wrote the event, epoch milliseconds (`op_ts`).
    pub timestamp_ms: i64,
}

const MARIADB_GTID_EVENT: u8 = 162;
/// MySQL 8.3+ GTID with a tag (mysql_common does not know it): a transaction start whose GTID
/// the set cannot hold.
const MYSQL_TAGGED_GTID_EVENT: u8 = 42;
const HEARTBEAT_EVENT: u8 = 27;
const XID_EVENT: u8 = 16;
const MARIADB_GTID_STANDALONE: u8 = 1;
/// Events a server sends when a stream opens, with the (old) times of their files: rotate, format
/// description, MySQL previous GTIDs, MariaDB binlog checkpoint and GTID list. Not "the last event".
const STREAM_SETUP_EVENTS: [u8; 5] = [4, 15, 35, 161, 163];

/// A replication stream positioned at an offset, producing the captured tables' row changes.
pub struct BinlogCursor {
    connector: Connector,
    /// The server's id of the replication connection, to end its dump thread on close.
    connection_id: u32,
    stream: BinlogStream,
    tables: Arc<Vec<TableSchema>>,
    /// Per captured table: each column's conversion, classified once.
    normalizers: Vec<RowNormalizer>,
    by_name: HashMap<TableId, usize>,
    /// Binlog table id (from table-map events) to captured table, `None` when not captured.
    table_ids: HashMap<u64, Option<usize>>,
    /// How to split row images of captured tables, per binlog table id (from its table map).
    layouts: HashMap<u64, BinlogImageLayout>,
    file: String,
    /// End of the last event read: where the next one starts.
    next_pos: u64,
    txn_start: BinlogPosition,
    in_txn: bool,
    /// The current transaction was opened by a MariaDB GTID event flagged standalone (DDL): it
    /// ends with its one query event.
    standalone: bool,
    rows_in_txn: u64,
    /// Row changes to skip at the start (resume inside a transaction).
    skip_rows: u64,
    /// MariaDB GTID state: domain -> (server id, sequence) of the last transaction begun.
    gtids: BTreeMap<u32, (u32, u64)>,
    gtid_at_txn_start: Option<String>,
    /// The server is MariaDB (its GTIDs above), not MySQL (GTID sets below).
    mariadb: bool,
    mysql_gtids: MySqlGtidTracker,
    /// Checksums are stripped from event data only once the format description was read.
    seen_format_description: bool,
    /// Server time of the last event read, epoch ms; a heartbeat counts as an event of now (the
    /// server sends one only when it has nothing newer). For `secondsBehindServer`.
    last_event_ms: Option<i64>,
}

impl BinlogCursor {
    /// Opens a replication connection as `server_id` at `offset`. `tables` are the captured
    /// tables; changes of others are counted (for offsets) but not returned.
    pub async fn open(
        connector: &Connector,
        server_id: u32,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        heartbeat: Duration,
    ) -> Result<Self> {
        let mut conn = connector.connect().await?;
        // A position in a file the server no longer has (purged after the checkpoint) would fail
        // deep in the stream; say so plainly first.
        let files = binlog_files(&mut conn).await?;
        if !offset.position.file.is_empty() && !files.contains(&offset.position.file) {
            return Err(BridgeError::validation(format!(
                "cannot resume the binlog at {offset}: the server no longer has binlog file '{}' (its oldest \
                 is {}); it was probably purged (raise binlog_expire_logs_seconds / expire_logs_days). \
                 Restart the job without its checkpoint to take a new snapshot.",
                offset.position.file,
                files.first().map(String::as_str).unwrap_or("none")
            )));
        }
        let mariadb = is_mariadb(&mut conn).await?;
        if mariadb {
            // Ask for GTID and binlog-checkpoint events in their MariaDB form (see module docs).
            conn.query_drop("SET @mariadb_slave_capability = 4")
                .await
                .map_err(|e| db_error("preparing the binlog connection", e))?;
        }
        let period_ns = heartbeat.as_nanos().min(4_294_967_000_000_000) as u64;
        conn.query_drop(format!("SET @master_heartbeat_period = {period_ns}"))
            .await
            .map_err(|e| db_error("setting the binlog heartbeat", e))?;
        let connection_id = conn.id();
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(offset.position.file.as_bytes())
            .with_pos(offset.position.pos);
        let stream = conn.get_binlog_stream(request).await.map_err(|e| open_error(e, offset, server_id))?;
        let by_name = tables.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        let normalizers = tables.iter().map(RowNormalizer::new).collect();
        Ok(BinlogCursor {
            connector: connector.clone(),
            connection_id,
            stream,
            tables,
            normalizers,
            by_name,
            table_ids: HashMap::new(),
            layouts: HashMap::new(),
            file: offset.position.file.clone(),
            next_pos: offset.position.pos,
            txn_start: offset.position.clone(),
            in_txn: false,
            standalone: false,
            rows_in_txn: 0,
            skip_rows: offset.skip_rows,
            gtids: BTreeMap::new(),
            gtid_at_txn_start: offset.gtid.clone(),
            mariadb,
            // Seeded from the offset: no server query tells the set at an old position.
            mysql_gtids: MySqlGtidTracker::new(if mariadb { None } else { offset.gtid.as_deref() }),
            seen_format_description: false,
            last_event_ms: None,
        })
    }

    /// Where to resume so that every change returned so far is skipped.
    pub fn offset(&self) -> BinlogOffset {
        // MySQL's tracker holds a transaction's GTID back until it commits: its state is the
        // one before an open transaction, as the offset's position is.
        let gtid = match (self.mariadb, self.in_txn) {
            (false, _) => self.mysql_gtids.state(),
            (true, true) => self.gtid_at_txn_start.clone(),
            (true, false) => self.gtid_string(),
        };
        if self.in_txn {
            BinlogOffset { position: self.txn_start.clone(), skip_rows: self.rows_in_txn, gtid }
        } else {
            BinlogOffset { position: self.position(), skip_rows: 0, gtid }
        }
    }

    /// The position after the last event read.
    pub fn position(&self) -> BinlogPosition {
        BinlogPosition { file: self.file.clone(), pos: self.next_pos }
    }

    /// Server time of the last event read (see the field), epoch ms.
    pub fn last_event_ms(&self) -> Option<i64> {
        self.last_event_ms
    }

    /// The GTID state at [`Self::offset`], when the server uses GTIDs.
    pub fn gtid(&self) -> Option<String> {
        self.offset().gtid
    }

    /// True between transactions.
    pub fn at_boundary(&self) -> bool {
        !self.in_txn
    }

    /// Reads one event, waiting for it, and appends its row changes to `out`.
    pub async fn next(&mut self, out: &mut Vec<RowChange>) -> Result<()> {
        match self.stream.next().await {
            Some(Ok(event)) => self.handle(event, out),
            Some(Err(e)) => Err(stream_error(e)),
            None => Err(BridgeError::other("the server closed the binlog connection")),
        }
    }

    /// As [`Self::next`] when an event is already buffered; `Ok(false)` when none is.
    pub fn try_next(&mut self, out: &mut Vec<RowChange>) -> Result<bool> {
        // Polling `next()` once is cancel-safe: the stream keeps partial reads in itself.
        match self.stream.next().now_or_never() {
            None => Ok(false),
            Some(Some(Ok(event))) => self.handle(event, out).map(|_| true),
            Some(Some(Err(e))) => Err(stream_error(e)),
            Some(None) => Err(BridgeError::other("the server closed the binlog connection")),
        }
    }

    /// Closes the stream and ends its dump thread on the server. A dump thread blocked waiting
    /// for new events notices a closed socket only at its next heartbeat; until then the server
    /// still lists this server id as a replica, and a new job using it would be refused.
    pub async fn close(self) {
        let _ = self.stream.close().await;
        if let Ok(mut conn) = self.connector.connect().await {
            // Unknown thread (1094): it has ended already.
            let _ = conn.query_drop(format!("KILL CONNECTION {}", self.connection_id)).await;
            let _ = conn.disconnect().await;
        }
    }

    fn handle(&mut self, event: Event, out: &mut Vec<RowChange>) -> Result<()> {
        let header = event.header();
        let start = BinlogPosition { file: self.file.clone(), pos: self.next_pos };
        let type_raw = header.event_type_raw();
        // Positions only move forward within a file: the events a server sends when a stream
        // opens (format description, GTID list) carry their original, earlier positions.
        if header.log_pos() != 0 && type_raw != HEARTBEAT_EVENT {
            self.next_pos = self.next_pos.max(u64::from(header.log_pos()));
        }
        let timestamp_ms = i64::from(header.timestamp()) * 1000;
        if type_raw == HEARTBEAT_EVENT {
            self.last_event_ms = Some(rust_core::metrics::now_ms());
        } else if timestamp_ms != 0 && !STREAM_SETUP_EVENTS.contains(&type_raw) {
            self.last_event_ms = Some(timestamp_ms);
        }
        if type_raw == MARIADB_GTID_EVENT {
            let data = event.data();
            if data.len() >= 13 {
                let seq = u64::from_le_bytes(data[0..8].try_into().unwrap_or_default());
                let domain = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
                self.gtid_at_txn_start = self.gtid_string();
                self.gtids.insert(domain, (header.server_id(), seq));
                self.standalone = data[12] & MARIADB_GTID_STANDALONE != 0;
            }
            self.begin(start);
            return Ok(());
        }
        if type_raw == MYSQL_TAGGED_GTID_EVENT && !self.mariadb {
            self.mysql_gtids.lose_track();
            self.standalone = false;
            self.begin(start);
            return Ok(());
        }
        if type_raw == XID_EVENT {
            self.commit();
            return Ok(());
        }
        let data = match event.read_data() {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(()),
            Err(e) => return Err(BridgeError::external(format!("decoding the binlog event at {start}"), e)),
        };
        match data {
            EventData::RotateEvent(rotate) => {
                if self.seen_format_description {
                    // A rotation (real, or the artificial one naming the next file): the next
                    // event is that file's first.
                    let file = rotate.name().into_owned();
                    if file != self.file {
                        self.file = file;
                        self.next_pos = rotate.position();
                    }
                    if !self.in_txn {
                        self.txn_start = self.position();
                    }
                } else {
                    // The artificial rotate that opens a stream names the file we asked for, but
                    // arrives before the format description, so its name still carries the
                    // checksum bytes: keep our name.
                    self.next_pos = self.next_pos.max(rotate.position());
                }
            }
            EventData::FormatDescriptionEvent(_) => self.seen_format_description = true,
            EventData::GtidEvent(gtid) => {
                self.mysql_gtids.begin(gtid.sid(), gtid.gno());
                self.standalone = false;
                self.begin(start);
            }
            EventData::AnonymousGtidEvent(_) => {
                self.standalone = false;
                self.begin(start);
            }
            EventData::PreviousGtidsEvent(data) => {
                // Sent in order when the stream reads its file from the start; a server may also
                // send the one of the file a stream starts in the middle of (its end is behind us).
                let in_order = u64::from(header.log_pos()) > start.pos;
                self.mysql_gtids.previous_gtids(&data, in_order);
            }
            EventData::QueryEvent(query) => {
                let text = query.query();
                let statement = text.trim();
                if statement.eq_ignore_ascii_case("BEGIN") {
                    if !self.in_txn {
                        self.begin(start);
                    }
                } else {
                    // COMMIT ends a transaction; any other statement (DDL) is its own.
                    self.commit();
                }
            }
            EventData::TableMapEvent(tme) => {
                let id = TableId::new(tme.database_name(), tme.table_name());
                let captured = self.by_name.get(&id).copied();
                self.table_ids.insert(tme.table_id(), captured);
                match captured.map(|_| BinlogImageLayout::new(&tme)) {
                    Some(Ok(layout)) => {
                        self.layouts.insert(tme.table_id(), layout);
                    }
                    // Rows of the table fall back to mysql_common's decoder (and its errors).
                    Some(Err(_)) | None => {
                        self.layouts.remove(&tme.table_id());
                    }
                }
            }
            EventData::RowsEvent(rows) => {
                if !self.in_txn {
                    // Rows outside BEGIN/GTID (should not happen with ROW binlogs): their own txn.
                    self.begin(start);
                }
                self.rows(rows, timestamp_ms, out)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn begin(&mut self, start: BinlogPosition) {
        self.txn_start = start;
        self.in_txn = true;
        self.rows_in_txn = 0;
    }

    fn commit(&mut self) {
        if self.in_txn {
            self.in_txn = false;
            self.standalone = false;
            self.rows_in_txn = 0;
            // A resume inside the first transaction is done once it committed.
            self.skip_rows = 0;
        }
        self.mysql_gtids.commit();
        self.txn_start = self.position();
        self.gtid_at_txn_start = self.gtid_string();
    }

    fn rows(&mut self, rows: RowsEventData<'_>, timestamp_ms: i64, out: &mut Vec<RowChange>) -> Result<()> {
        let table_id = rows.table_id();
        let captured = *self.table_ids.get(&table_id).unwrap_or(&None);
        let kind = match &rows {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => ChangeKind::Insert,
            RowsEventData::UpdateRowsEventV1(_)
            | RowsEventData::UpdateRowsEvent(_)
            | RowsEventData::PartialUpdateRowsEvent(_) => ChangeKind::Update,
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => ChangeKind::Delete,
        };
        // Captured tables with full row images: split the images with the table map's layout
        // (mysql_common's BinlogRow rebuilds column metadata for every row: about half the cost).
        if let (Some(table_index), Some(layout)) = (captured, self.layouts.get(&table_id)) {
            if layout.handles(&rows) {
                let table = &self.tables[table_index];
                let normalizer = &self.normalizers[table_index];
                let has_before = rows.columns_before_image().is_some();
                let has_after = rows.columns_after_image().is_some();
                let decode_error =
                    |e: std::io::Error| BridgeError::external(format!("decoding a binlog row of {}", table.id), e);
                let mut buf = ParseBuf(rows.rows_data());
                while !buf.is_empty() {
                    let before = if has_before { Some(layout.decode(&mut buf).map_err(decode_error)?) } else { None };
                    let after = if has_after { Some(layout.decode(&mut buf).map_err(decode_error)?) } else { None };
                    self.rows_in_txn += 1;
                    if self.rows_in_txn <= self.skip_rows {
                        continue;
                    }
                    let before = before.map(|v| normalizer.binlog_values(table, v, layout.charsets())).transpose()?;
                    let after = after.map(|v| normalizer.binlog_values(table, v, layout.charsets())).transpose()?;
                    out.push(RowChange {
                        table: table_index,
                        kind,
                        before,
                        after,
                        txn_start: self.txn_start.clone(),
                        timestamp_ms,
                    });
                }
                return Ok(());
            }
        }
        let tme = self.stream.get_tme(table_id).ok_or_else(|| {
            BridgeError::other(format!("binlog rows event for table id {table_id} without its table-map event"))
        })?;
        for row in rows.rows(tme) {
            self.rows_in_txn += 1;
            if self.rows_in_txn <= self.skip_rows {
                continue;
            }
            let Some(table_index) = captured else { continue };
            let table = &self.tables[table_index];
            let (before, after) = row.map_err(|e| {
                BridgeError::external(format!("decoding a binlog row of {}", table.id), e)
            })?;
            let normalizer = &self.normalizers[table_index];
            let before = before.map(|r| normalizer.binlog_row(table, r, tme)).transpose()?;
            let after = after.map(|r| normalizer.binlog_row(table, r, tme)).transpose()?;
            out.push(RowChange {
                table: table_index,
                kind,
                before,
                after,
                txn_start: self.txn_start.clone(),
                timestamp_ms,
            });
        }
        Ok(())
    }

    fn gtid_string(&self) -> Option<String> {
        if self.gtids.is_empty() {
            return None;
        }
        Some(
            self.gtids
                .iter()
                .map(|(d, (s, n))| format!("{d}-{s}-{n}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

fn stream_error(e: mysql_async::Error) -> BridgeError {
    match &e {
        mysql_async::Error::Server(s) if s.code == 1236 => BridgeError::validation(format!(
            "the server cannot send the binlog from the requested position: {} — the binlog was probably \
             purged (raise binlog_expire_logs_seconds / expire_logs_days), restart the job without its \
             checkpoint to take a new snapshot",
            s.message
        )),
        mysql_async::Error::Server(s) if s.code == 1227 => BridgeError::validation(format!(
            "the user may not read the binlog ({}): grant it REPLICATION SLAVE",
            s.message
        )),
        _ => db_error("reading the binlog", e),
    }
}

fn open_error(e: mysql_async::Error, offset: &BinlogOffset, server_id: u32) -> BridgeError {
    match &e {
        mysql_async::Error::Server(_) => stream_error(e),
        _ => db_error(format!("opening the binlog at {offset} as server id {server_id}"), e),
    }
}
