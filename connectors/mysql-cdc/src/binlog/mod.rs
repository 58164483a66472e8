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
//! [`MySqlGtidTracker`] (exact or unknown, see `position/gtid.rs`).
//!
//! A start after a GTID set (`binlog/gtid_start.rs`) asks the server for the first transaction not in
//! the set (MariaDB: `@slave_connect_state` and an empty file name; MySQL: COM_BINLOG_DUMP_GTID)
//! and learns the file from the rotate event that opens the stream. Until its first transaction
//! begins, the cursor reports the GTID start as its offset: the events before it (the file's
//! header, MariaDB's place-finding) are no place to resume from.

pub mod evolution;
pub mod gtid_start;
pub mod reconnect;
pub mod shared;
pub mod spill;
pub mod spill_dir;
pub mod stall;
pub mod table_watch;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use mysql_common::io::ParseBuf;
use mysql_common::proto::MySerialize;

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::binlog::evolution::{ddl_tables, DdlKind, TableView};
use crate::binlog::gtid_start::mysql_sids;
use crate::binlog::table_watch::{tables_appearing, TableWatch};
use crate::conn::connect::{binlog_files, db_error, is_mariadb, Connector};
use crate::position::coordinates::ChangeCoordinates;
use crate::position::gtid::{GtidSet, MySqlGtidTracker};
use crate::position::mariadb_gtid::{decode_gtid_event, MariaGtidPos};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::{TableId, TableSchema};
use crate::value::{RowValues, TableMapping};

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
    /// The table's columns changed (`schema_change` holds them); no row images.
    SchemaChange,
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
    /// Where the change is in the binlog (the `binlog_*`, `gtid` and `change_seq` metadata).
    pub at: ChangeCoordinates,
    /// The reader's mapping adapted to column types that changed upstream (see `binlog/evolution.rs`);
    /// None: the reader's own mapping of the table.
    pub mapping: Option<Arc<TableMapping>>,
    /// The table's primary key is no longer the captured schema's: why (snapshot routing by
    /// chunk cannot continue).
    pub key_change: Option<Arc<str>>,
    /// A [`ChangeKind::SchemaChange`]: the table's columns as JSON (`TableView::change_json`).
    pub schema_change: Option<Arc<str>>,
}

const MARIADB_GTID_EVENT: u8 = 162;
/// MySQL 8.3+ GTID with a tag (mysql_common does not know it): a transaction start whose GTID
/// the set cannot hold.
const MYSQL_TAGGED_GTID_EVENT: u8 = 42;
const HEARTBEAT_EVENT: u8 = 27;
const XID_EVENT: u8 = 16;
const GTID_EVENT: u8 = 33;
const ANONYMOUS_GTID_EVENT: u8 = 34;
/// Events a server sends when a stream opens, with the (old) times of their files: rotate, format
/// description, MySQL previous GTIDs, MariaDB binlog checkpoint and GTID list. Not "the last event".
const STREAM_SETUP_EVENTS: [u8; 5] = [4, 15, 35, 161, 163];
/// `LOG_EVENT_ARTIFICIAL_F`: made up by the server for this stream, not at its position.
const ARTIFICIAL_EVENT: u16 = 0x20;

/// `scan.startup.specific-offset.skip-events` and `.skip-rows` as Flink CDC (Debezium) means
/// them: of the transaction that begins at the start position, skip its first `events` events
/// (counted from its BEGIN, MariaDB's GTID event, on: table maps and row events included), then
/// `rows` row changes. The rows of a skipped row event become skipped rows, so the reader's
/// offsets stay row-exact and a checkpoint inside that transaction resumes right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartSkip {
    pub position: BinlogPosition,
    pub events: u64,
    pub rows: u64,
}

impl StartSkip {
    /// The skip a binlog reader starting (or resuming) at `offset` applies: only at the
    /// configured start position, where the first transaction read begins; none without events
    /// to skip.
    pub fn of(config: &crate::config::MySqlCdcConfig, offset: &BinlogOffset) -> Option<StartSkip> {
        match &config.startup {
            crate::config::StartupMode::SpecificOffset(start)
                if config.start_skip_events > 0 && offset.position == start.position =>
            {
                Some(StartSkip {
                    position: start.position.clone(),
                    events: config.start_skip_events,
                    rows: start.skip_rows,
                })
            }
            _ => None,
        }
    }
}

/// A replication stream positioned at an offset, producing the captured tables' row changes.
pub struct BinlogCursor {
    connector: Connector,
    /// The server's id of the replication connection, to end its dump thread on close.
    connection_id: u32,
    /// None for a cursor fed events by a shared connection (`binlog/shared.rs`): it keeps the
    /// table maps itself (`tmes`).
    stream: Option<BinlogStream>,
    /// A fed cursor's table-map events by binlog table id (a stream keeps its own).
    tmes: HashMap<u64, mysql_async::binlog::events::TableMapEvent<'static>>,
    /// A shared connection's own cursor: it tracks positions and transactions only, row events
    /// are not decoded (its subscribers count and decode rows themselves).
    relay: bool,
    tables: Arc<Vec<TableSchema>>,
    /// The reader's mappings of the captured tables, to check changed column types against the
    /// declared Flink types (`set_mappings`); none for a snapshot chunk's replay.
    mappings: Option<Arc<Vec<Arc<TableMapping>>>>,
    by_name: HashMap<TableId, usize>,
    /// Binlog table id (from table-map events) to captured table, `None` when not captured.
    table_ids: HashMap<u64, Option<usize>>,
    /// How to read row images of captured tables, per binlog table id, with the table-map event
    /// it was made from: a table map repeats before every transaction, and an equal one reuses it.
    views: HashMap<u64, (Vec<u8>, Arc<TableView>)>,
    /// Captured tables a DDL may have changed, with where and what, until a table map of theirs
    /// shows column names (without names their images cannot be read safely; `binlog/evolution.rs`).
    altered: HashMap<usize, (BinlogPosition, String)>,
    /// Emit [`ChangeKind::SchemaChange`]s (`set_schema_changes`).
    schema_changes: bool,
    /// Per captured table: its columns as last reported (`TableView::columns_json`).
    reported_columns: HashMap<usize, String>,
    /// Per captured table: the last DDL statement seen, for its schema-change event.
    last_ddl: HashMap<usize, String>,
    file: String,
    /// End of the last event read: where the next one starts.
    next_pos: u64,
    txn_start: BinlogPosition,
    in_txn: bool,
    /// The current transaction was opened by a MariaDB GTID event flagged standalone (DDL): it
    /// ends with its one query event.
    standalone: bool,
    rows_in_txn: u64,
    /// The GTID of the current transaction in the server's spelling, None without one.
    txn_gtid: Option<Arc<str>>,
    /// `file`, shared by the coordinates of its changes (one allocation per file, not per row).
    file_shared: Arc<str>,
    /// Row changes to skip at the start (resume inside a transaction).
    skip_rows: u64,
    /// `scan.startup.specific-offset.skip-events` (see [`StartSkip`]); kept across reconnects.
    start_skip: Option<StartSkip>,
    /// MySQL binary JSON written compactly (`use.legacy.json.format`); kept across reconnects.
    compact_json: bool,
    /// Events of the current transaction still to skip (only in the one [`StartSkip`] names).
    events_to_skip: u64,
    /// MariaDB GTID state: per domain the last transaction begun (seeded from the offset).
    gtids: MariaGtidPos,
    gtid_at_txn_start: Option<String>,
    /// The server is MariaDB (its GTIDs above), not MySQL (GTID sets below).
    mariadb: bool,
    mysql_gtids: MySqlGtidTracker,
    /// Checksums are stripped from event data only once the format description was read.
    seen_format_description: bool,
    /// Server time of the last event read, epoch ms; a heartbeat counts as an event of now (the
    /// server sends one only when it has nothing newer). For `secondsBehindServer`.
    last_event_ms: Option<i64>,
    /// A start after a GTID set: that offset, reported until the first transaction begins.
    gtid_start: Option<BinlogOffset>,
    /// How long the stream may stay silent before the connection counts as dead: see
    /// [`silence_limit`].
    silence_limit: Duration,
    /// The binlog reader's patterns, to notice tables that match but are not captured
    /// (`set_watch`; `enumerator/newly_added.rs`). None for a chunk's replay.
    watch: Option<Arc<TableWatch>>,
    /// Such tables met (capture on): the reader suspends before anything after them.
    found: Vec<TableId>,
    /// Such tables already logged (capture off).
    logged_new: HashSet<TableId>,
}

/// How long a binlog stream may go without an event before its connection counts as dead:
/// three heartbeat intervals. The server sends a heartbeat whenever it has had nothing to send
/// for one interval, so a healthy connection is never silent that long. A dead peer that never
/// closed the socket (a host gone without a FIN or RST, a NAT or firewall entry dropped, a frozen
/// VM) is otherwise noticed only by TCP keepalive, hours later by default: until then the reader
/// would wait and the job would look idle, not failed. At least a second, so a sub-second
/// heartbeat does not turn a scheduling hiccup into a reconnect.
pub fn silence_limit(heartbeat: Duration) -> Duration {
    (heartbeat.saturating_mul(3)).max(Duration::from_secs(1))
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
        // A reader opens cursors while the server may be restarting: ride it out.
        let conn = crate::conn::retry::connect(connector).await?;
        Self::open_on(conn, connector, server_id, offset, tables, heartbeat).await
    }

    /// As [`Self::open`], on a connection already made (a reconnect paces its own attempts).
    pub async fn open_on(
        mut conn: Conn,
        connector: &Connector,
        server_id: u32,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        heartbeat: Duration,
    ) -> Result<Self> {
        check_file(&mut conn, offset).await?;
        let mariadb = is_mariadb(&mut conn).await?;
        if mariadb {
            // Ask for GTID and binlog-checkpoint events in their MariaDB form (see module docs).
            conn.query_drop("SET @mariadb_slave_capability = 4")
                .await
                .map_err(|e| db_error("preparing the binlog connection", e))?;
        }
        let gtid_start = offset.starts_from_gtids().then(|| offset.clone());
        let mysql_start = match (&gtid_start, mariadb) {
            (Some(start), true) => {
                connect_state(&mut conn, start).await?;
                None
            }
            (Some(start), false) => Some(mysql_start_set(start)?),
            (None, _) => None,
        };
        let period_ns = heartbeat.as_nanos().min(4_294_967_000_000_000) as u64;
        conn.query_drop(format!("SET @master_heartbeat_period = {period_ns}"))
            .await
            .map_err(|e| db_error("setting the binlog heartbeat", e))?;
        let connection_id = conn.id();
        let mut request = BinlogStreamRequest::new(server_id)
            .with_filename(offset.position.file.as_bytes())
            .with_pos(offset.position.pos);
        if let Some(set) = &mysql_start {
            // COM_BINLOG_DUMP_GTID with an empty file name: the server starts at the first
            // transaction not in the set.
            request = request.with_gtid().with_gtid_set(mysql_sids(set));
        }
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| open_error(e, offset, server_id))?;
        let mut cursor = Self::state(connector, offset, tables, mariadb, heartbeat);
        cursor.connection_id = connection_id;
        cursor.stream = Some(stream);
        cursor.gtid_start = gtid_start;
        Ok(cursor)
    }

    /// A cursor at `offset` without a connection of its own: a shared connection feeds it the
    /// events from its offset on ([`Self::handle`]), after the stream's opening events (so it
    /// starts as if it had seen the format description). Not for a start after GTIDs.
    pub(crate) fn fed(
        connector: &Connector,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        mariadb: bool,
        heartbeat: Duration,
    ) -> Self {
        debug_assert!(!offset.starts_from_gtids());
        let mut cursor = Self::state(connector, offset, tables, mariadb, heartbeat);
        cursor.seen_format_description = true;
        cursor
    }

    /// A shared connection's own cursor (see the `relay` field).
    pub(crate) fn set_relay(&mut self) {
        self.relay = true;
    }

    fn state(
        connector: &Connector,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        mariadb: bool,
        heartbeat: Duration,
    ) -> Self {
        let by_name = tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        BinlogCursor {
            connector: connector.clone(),
            connection_id: 0,
            stream: None,
            tmes: HashMap::new(),
            relay: false,
            tables,
            mappings: None,
            by_name,
            table_ids: HashMap::new(),
            views: HashMap::new(),
            altered: HashMap::new(),
            schema_changes: false,
            reported_columns: HashMap::new(),
            last_ddl: HashMap::new(),
            file: offset.position.file.clone(),
            next_pos: offset.position.pos,
            txn_start: offset.position.clone(),
            in_txn: false,
            standalone: false,
            rows_in_txn: 0,
            txn_gtid: None,
            file_shared: offset.position.file.as_str().into(),
            skip_rows: offset.skip_rows,
            start_skip: None,
            compact_json: false,
            events_to_skip: 0,
            // The state at the offset, so offsets name every domain, not only those read since.
            gtids: offset
                .gtid
                .as_deref()
                .filter(|_| mariadb)
                .and_then(|g| MariaGtidPos::parse(g).ok())
                .unwrap_or_default(),
            gtid_at_txn_start: offset.gtid.clone(),
            mariadb,
            // Seeded from the offset: no server query tells the set at an old position.
            mysql_gtids: MySqlGtidTracker::new(if mariadb {
                None
            } else {
                offset.gtid.as_deref()
            }),
            seen_format_description: false,
            last_event_ms: None,
            gtid_start: None,
            silence_limit: silence_limit(heartbeat),
            watch: None,
            found: Vec::new(),
            logged_new: HashSet::new(),
        }
    }

    /// The reader's mappings of the captured tables (in their order): a column whose type changed
    /// upstream is checked against its declared Flink type, and changes carry an adapted mapping
    /// when it converts differently.
    pub fn set_mappings(&mut self, mappings: Arc<Vec<Arc<TableMapping>>>) {
        self.mappings = Some(mappings);
        self.views.clear();
    }

    /// Emits a [`ChangeKind::SchemaChange`] before the first change of a captured table whose
    /// columns (as a named table map shows them) differ from the captured schema, or later from
    /// the columns last reported. Without column names nothing is reported (schema changes fail).
    pub fn set_schema_changes(&mut self, enabled: bool) {
        self.schema_changes = enabled;
    }

    /// Writes MySQL's binary JSON values without spaces, as Flink CDC's
    /// `use.legacy.json.format` = true (value/normalize.rs, `RowNormalizer::with_compact_json`).
    pub fn set_compact_json(&mut self, compact: bool) {
        self.compact_json = compact;
        self.views.clear();
    }

    /// Skips the first events of the transaction that begins at the start position (see
    /// [`StartSkip`]).
    pub fn set_start_skip(&mut self, skip: StartSkip) {
        self.start_skip = Some(skip);
    }

    /// Takes over what a broken cursor (of the same reader, reopened at its offset) knew beyond
    /// its offset: the mappings and the DDL seen whose table has not shown a table map since.
    pub fn carry_over(&mut self, old: &mut BinlogCursor) {
        if let Some(mappings) = old.mappings.take() {
            self.set_mappings(mappings);
        }
        self.altered = std::mem::take(&mut old.altered);
        self.schema_changes = old.schema_changes;
        self.reported_columns = std::mem::take(&mut old.reported_columns);
        self.last_ddl = std::mem::take(&mut old.last_ddl);
        self.watch = old.watch.take();
        self.start_skip = old.start_skip.take();
        self.compact_json = old.compact_json;
        self.found = std::mem::take(&mut old.found);
        self.logged_new = std::mem::take(&mut old.logged_new);
    }

    /// Watches for tables that match the source's patterns but are not captured: a table map of
    /// one, or a DDL that creates or renames one (see [`TableWatch`]).
    pub fn set_watch(&mut self, watch: Arc<TableWatch>) {
        self.watch = Some(watch);
    }

    /// True once a newly added table was met and not yet taken (`take_found`).
    pub(crate) fn stopped_at_new_table(&self) -> bool {
        !self.found.is_empty()
    }

    /// Tables met that match the patterns but are not captured (capture on). While any are
    /// held, [`Self::try_next`] reads nothing more: the event that named them was the last one
    /// read, and [`Self::offset`] is where to resume with them captured.
    pub fn take_found(&mut self) -> Vec<TableId> {
        std::mem::take(&mut self.found)
    }

    /// An uncaptured table `id` appeared at `at`: by a table map (rows of it follow) or by a DDL
    /// creating or renaming it (`by_ddl`: a table of that name exists anew, even one the split
    /// ignores as dropped).
    fn met_uncaptured(&mut self, id: &TableId, by_ddl: bool, at: &BinlogPosition) {
        let Some(watch) = &self.watch else { return };
        if !watch.matches(id) || self.by_name.contains_key(id) || self.found.contains(id) {
            return;
        }
        if !by_ddl && watch.ignored.contains(id) {
            return;
        }
        if watch.capture {
            tracing::info!(table = %id, at = %at, "a table matching the patterns appeared: suspending the binlog reader to snapshot it");
            self.found.push(id.clone());
        } else if self.logged_new.insert(id.clone()) {
            tracing::info!(
                table = %id, at = %at,
                "a table matching 'database-name'/'table-name' appeared but is not captured: set \
                 'scan.newly-added-table.enabled' = 'true' to capture such tables"
            );
        }
    }

    /// Where to resume so that every change returned so far is skipped.
    pub fn offset(&self) -> BinlogOffset {
        if let Some(start) = &self.gtid_start {
            return start.clone();
        }
        // MySQL's tracker holds a transaction's GTID back until it commits: its state is the
        // one before an open transaction, as the offset's position is.
        let gtid = match (self.mariadb, self.in_txn) {
            (false, _) => self.mysql_gtids.state(),
            (true, true) => self.gtid_at_txn_start.clone(),
            (true, false) => self.gtid_string(),
        };
        if self.in_txn {
            // While still skipping the rows a resume skips, those rows count as returned too.
            BinlogOffset {
                position: self.txn_start.clone(),
                skip_rows: self.rows_in_txn.max(self.skip_rows),
                gtid,
            }
        } else {
            // Rows still to skip belong to the next transaction, which starts here.
            BinlogOffset {
                position: self.position(),
                skip_rows: self.skip_rows,
                gtid,
            }
        }
    }

    /// The position after the last event read.
    pub fn position(&self) -> BinlogPosition {
        BinlogPosition {
            file: self.file.clone(),
            pos: self.next_pos,
        }
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

    /// Reads one event, waiting for it, and appends its row changes to `out`. A stream silent
    /// for longer than [`silence_limit`] fails with a transient error (a reconnect cures it).
    pub async fn next(&mut self, out: &mut Vec<RowChange>) -> Result<()> {
        let event = self.next_event().await?;
        self.handle(&event, out)
    }

    /// As [`Self::next`] when an event is already buffered; `Ok(false)` when none is.
    pub fn try_next(&mut self, out: &mut Vec<RowChange>) -> Result<bool> {
        if !self.found.is_empty() {
            // Stopped at a newly added table (see `take_found`): nothing after it is read.
            return Ok(false);
        }
        match self.try_next_event()? {
            None => Ok(false),
            Some(event) => self.handle(&event, out).map(|_| true),
        }
    }

    /// The next event of the stream, not yet handled; cancel-safe (the stream keeps partial
    /// reads in itself). Fails as [`Self::next`] does.
    pub(crate) async fn next_event(&mut self) -> Result<Event> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(BridgeError::other("a fed binlog cursor has no stream"));
        };
        match tokio::time::timeout(self.silence_limit, stream.next()).await {
            Ok(Some(Ok(event))) => Ok(event),
            Ok(Some(Err(e))) => Err(self.stream_error(e)),
            Ok(None) => Err(crate::conn::retry::connection_closed("reading the binlog")),
            Err(_) => Err(crate::conn::retry::connection_silent(
                "reading the binlog",
                self.silence_limit,
            )),
        }
    }

    /// As [`Self::next_event`] when an event is already buffered.
    pub(crate) fn try_next_event(&mut self) -> Result<Option<Event>> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(None);
        };
        // Polling `next()` once is cancel-safe: the stream keeps partial reads in itself.
        match stream.next().now_or_never() {
            None => Ok(None),
            Some(Some(Ok(event))) => Ok(Some(event)),
            Some(Some(Err(e))) => Err(self.stream_error(e)),
            Some(None) => Err(crate::conn::retry::connection_closed("reading the binlog")),
        }
    }

    /// The format description of the stream was read: events from here on are the binlog's own
    /// (before it: the events a server makes up as a stream opens).
    pub(crate) fn seen_format_description(&self) -> bool {
        self.seen_format_description
    }

    /// Where `event` (the next one to handle) starts, as [`Self::handle`] reckons it.
    pub(crate) fn event_start(&self, event: &Event) -> BinlogPosition {
        let header = event.header();
        let type_raw = header.event_type_raw();
        // A real event starts event_size before its end (log_pos). The server may skip events
        // (a start after GTIDs), so the end of the previous event is only the fallback.
        let real = header.log_pos() != 0
            && type_raw != HEARTBEAT_EVENT
            && header.flags_raw() & ARTIFICIAL_EVENT == 0;
        let start_pos = match header.log_pos().checked_sub(header.event_size()) {
            Some(pos) if real && self.seen_format_description => u64::from(pos),
            _ => self.next_pos,
        };
        BinlogPosition {
            file: self.file.clone(),
            pos: start_pos,
        }
    }

    /// Closes the stream and ends its dump thread on the server. A dump thread blocked waiting
    /// for new events notices a closed socket only at its next heartbeat; until then the server
    /// still lists this server id as a replica, and a new job using it would be refused.
    pub async fn close(self) {
        let Some(stream) = self.stream else { return };
        let _ = stream.close().await;
        if let Ok(mut conn) = self.connector.connect().await {
            // Unknown thread (1094): it has ended already.
            let _ = conn
                .query_drop(format!("KILL CONNECTION {}", self.connection_id))
                .await;
            await_thread_end(&mut conn, self.connection_id).await;
            let _ = conn.disconnect().await;
        }
    }

    /// Handles one event of the stream (or, for a fed cursor, of the shared stream).
    pub(crate) fn handle(&mut self, event: &Event, out: &mut Vec<RowChange>) -> Result<()> {
        self.handle_event(event, out)?;
        // Debezium's count of a transaction's events: from its BEGIN (MariaDB: its GTID event)
        // on, table maps and row events included; MySQL's GTID events come before BEGIN.
        let type_raw = event.header().event_type_raw();
        let mysql_gtid = !self.mariadb
            && matches!(
                type_raw,
                GTID_EVENT | ANONYMOUS_GTID_EVENT | MYSQL_TAGGED_GTID_EVENT
            );
        if self.events_to_skip > 0 && self.in_txn && !mysql_gtid {
            self.events_to_skip -= 1;
        }
        Ok(())
    }

    fn handle_event(&mut self, event: &Event, out: &mut Vec<RowChange>) -> Result<()> {
        let header = event.header();
        let type_raw = header.event_type_raw();
        let start = self.event_start(event);
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
            let gtid = decode_gtid_event(event.data(), header.server_id()).map_err(|e| {
                BridgeError::other(format!("decoding the binlog event at {start}: {e}"))
            })?;
            self.gtid_at_txn_start = self.gtid_string();
            self.gtids.advance(gtid.gtid);
            self.standalone = gtid.standalone;
            self.begin(start, Some(gtid.gtid.to_string().into()));
            return Ok(());
        }
        if type_raw == MYSQL_TAGGED_GTID_EVENT && !self.mariadb {
            self.mysql_gtids.lose_track();
            self.standalone = false;
            self.begin(start, None);
            return Ok(());
        }
        if type_raw == XID_EVENT {
            self.commit();
            return Ok(());
        }
        let data = match event.read_data() {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(BridgeError::external(
                    format!("decoding the binlog event at {start}"),
                    e,
                ))
            }
        };
        match data {
            EventData::RotateEvent(rotate) => {
                if self.seen_format_description {
                    // A rotation (real, or the artificial one naming the next file): the next
                    // event is that file's first.
                    let file = rotate.name().into_owned();
                    if file != self.file {
                        self.file_shared = file.as_str().into();
                        self.file = file;
                        self.next_pos = rotate.position();
                    }
                    if !self.in_txn {
                        self.txn_start = self.position();
                    }
                } else if self.file.is_empty() {
                    // A start after GTIDs: the rotate that opens the stream names the file the
                    // server chose.
                    self.file = opening_rotate_file(event, rotate.name_raw());
                    self.file_shared = self.file.as_str().into();
                    self.next_pos = rotate.position();
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
                let mut one = GtidSet::new();
                one.add(gtid.sid(), gtid.gno());
                self.begin(start, Some(one.to_string().into()));
            }
            EventData::AnonymousGtidEvent(_) => {
                self.standalone = false;
                self.begin(start, None);
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
                        self.begin(start, None);
                    }
                } else {
                    if !statement.eq_ignore_ascii_case("COMMIT") {
                        self.ddl(statement, &query.schema(), &start);
                    }
                    // COMMIT ends a transaction; any other statement (DDL) is its own.
                    self.commit();
                }
            }
            EventData::TableMapEvent(tme) => {
                if self.stream.is_none() {
                    self.tmes.insert(tme.table_id(), tme.clone().into_owned());
                }
                let id = TableId::new(tme.database_name(), tme.table_name());
                let captured = self.by_name.get(&id).copied();
                self.table_ids.insert(tme.table_id(), captured);
                let Some(table) = captured else {
                    self.views.remove(&tme.table_id());
                    self.met_uncaptured(&id, false, &start);
                    return Ok(());
                };
                let raw = event.data();
                if self
                    .views
                    .get(&tme.table_id())
                    .is_some_and(|(seen, _)| seen.as_slice() == raw)
                {
                    return Ok(());
                }
                let at = format!("binlog table map at {start}");
                let mapping = self
                    .mappings
                    .as_ref()
                    .and_then(|m| m.get(table))
                    .map(|m| m.as_ref());
                // A captured table's map that cannot be decoded fails: its rows cannot be either
                // (mysql_common's decoder would trust the same metadata, see value/table_map.rs).
                let mut view = TableView::new(&tme, &self.tables[table], mapping, &at)?;
                view.normalizer = view.normalizer.with_compact_json(self.compact_json);
                if let Some((ddl_at, statement)) = self.altered.remove(&table) {
                    if !view.named {
                        return Err(BridgeError::validation(format!(
                            "captured table {id} was changed by a DDL statement at binlog {ddl_at} ({statement}), and \
                             its row events carry no column names (binlog_row_metadata is MINIMAL or NO_LOG), so its \
                             rows after the change cannot be matched to columns safely. Set binlog_row_metadata=FULL \
                             on the server (MariaDB 10.5+, MySQL 8.0.1+; SET GLOBAL and in the server's configuration) \
                             before changing captured tables, and restart the job without its state (a new \
                             snapshot), or from a 'specific-offset' after the change; see 'Schema changes' in the \
                             rust-mysql-cdc documentation"
                        )));
                    }
                }
                if view.changed {
                    tracing::info!(
                        table = %id, at = %start, columns = %view.columns_json(),
                        "the table's columns differ from the captured schema: rows are matched by column name"
                    );
                }
                if view.named {
                    let columns = view.columns_json();
                    let report = match self.reported_columns.get(&table) {
                        Some(last) => *last != columns,
                        None => view.changed,
                    };
                    if report && self.schema_changes {
                        let ddl = self.last_ddl.remove(&table);
                        out.push(RowChange {
                            table,
                            kind: ChangeKind::SchemaChange,
                            before: None,
                            after: None,
                            txn_start: self.txn_start.clone(),
                            timestamp_ms,
                            // Before the table's next row: at the table map, the index that row gets.
                            at: self.coordinates(start.pos, self.rows_in_txn),
                            mapping: None,
                            key_change: None,
                            schema_change: Some(
                                view.change_json(&self.tables[table].id, ddl.as_deref())
                                    .into(),
                            ),
                        });
                    }
                    self.reported_columns.insert(table, columns);
                }
                self.views
                    .insert(tme.table_id(), (raw.to_vec(), Arc::new(view)));
            }
            EventData::RowsEvent(rows) => {
                if !self.in_txn {
                    // Rows outside BEGIN/GTID (should not happen with ROW binlogs): their own txn.
                    self.begin(start.clone(), None);
                }
                if !self.relay {
                    self.rows(rows, timestamp_ms, start.pos, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A statement other than BEGIN/COMMIT: remembers the captured tables a DDL may have changed.
    fn ddl(&mut self, statement: &str, default_db: &str, at: &BinlogPosition) {
        if self.watch.is_some() {
            for name in tables_appearing(statement, default_db) {
                self.met_uncaptured(&name, true, at);
            }
        }
        let Some((kind, names)) = ddl_tables(statement, default_db) else {
            return;
        };
        let shown: String = statement.chars().take(200).collect();
        for name in names {
            // As MySQL may compare table names (lower_case_table_names): err on the side of "may
            // affect this table".
            let Some(table) = self
                .by_name
                .iter()
                .find(|(id, _)| {
                    id.database.eq_ignore_ascii_case(&name.database)
                        && id.table.eq_ignore_ascii_case(&name.table)
                })
                .map(|(_, &t)| t)
            else {
                continue;
            };
            let id = &self.tables[table].id;
            match kind {
                DdlKind::Truncate => tracing::warn!(
                    table = %id, at = %at,
                    "captured table truncated: TRUNCATE writes no row events, so its rows stay in the changelog"
                ),
                DdlKind::Drop => tracing::warn!(
                    table = %id, at = %at, statement = %shown,
                    "captured table dropped: its changes end here (a new table of that name is read by column names)"
                ),
                _ => {
                    tracing::info!(table = %id, at = %at, statement = %shown, "DDL of a captured table")
                }
            }
            if kind != DdlKind::Truncate {
                // The next table map of the table is examined anew, even if it repeats the old
                // one byte for byte (it would, for two columns of one type swapped by name).
                self.views.clear();
                self.altered.insert(table, (at.clone(), shown.clone()));
                self.last_ddl.insert(table, statement.to_string());
            }
        }
    }

    /// A transaction begins at `start`, with `gtid` (the server's spelling) when it has one.
    fn begin(&mut self, start: BinlogPosition, gtid: Option<Arc<str>>) {
        // The first transaction not in a GTID start set: from here on offsets are positions.
        self.gtid_start = None;
        self.events_to_skip = match &self.start_skip {
            Some(skip) if skip.position == start => skip.events,
            _ => 0,
        };
        self.txn_start = start;
        self.in_txn = true;
        self.rows_in_txn = 0;
        self.txn_gtid = gtid;
    }

    /// The coordinates of a change of the current transaction: `pos_in_file` is its place in
    /// the file (see `position/coordinates.rs`), `row_index` the row changes of the transaction before it.
    fn coordinates(&self, pos_in_file: u64, row_index: u64) -> ChangeCoordinates {
        ChangeCoordinates::new(
            self.file_shared.clone(),
            self.txn_start.file_number(),
            self.txn_start.pos,
            row_index,
            pos_in_file,
            self.txn_gtid.clone(),
        )
    }

    fn commit(&mut self) {
        if self.in_txn {
            self.in_txn = false;
            self.standalone = false;
            self.rows_in_txn = 0;
            // A resume inside the first transaction is done once it committed.
            self.skip_rows = 0;
            self.events_to_skip = 0;
        }
        self.mysql_gtids.commit();
        self.txn_start = self.position();
        self.gtid_at_txn_start = self.gtid_string();
    }

    /// The row changes of a rows event starting at `event_pos` (of the current file).
    fn rows(
        &mut self,
        rows: RowsEventData<'_>,
        timestamp_ms: i64,
        event_pos: u64,
        out: &mut Vec<RowChange>,
    ) -> Result<()> {
        let table_id = rows.table_id();
        let captured = *self.table_ids.get(&table_id).unwrap_or(&None);
        let kind = match &rows {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
                ChangeKind::Insert
            }
            RowsEventData::UpdateRowsEventV1(_)
            | RowsEventData::UpdateRowsEvent(_)
            | RowsEventData::PartialUpdateRowsEvent(_) => ChangeKind::Update,
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
                ChangeKind::Delete
            }
        };
        // Captured tables with full row images: split the images with the table map's layout
        // (mysql_common's BinlogRow rebuilds column metadata for every row: about half the cost),
        // and match them to the captured columns (by name when the table map names them).
        let view = captured
            .and_then(|_| self.views.get(&table_id))
            .map(|(_, v)| v.clone());
        // A row event among the events to skip: its rows count as skipped rows, and the rows
        // 'skip-rows' asks for are the ones after it (computed from the start, so a reconnect
        // that counts the events again arrives at the same number).
        let skipped_event =
            (self.events_to_skip > 0).then(|| self.start_skip.as_ref().map_or(0, |s| s.rows));
        if let (Some(table_index), Some(view)) = (captured, &view) {
            if view.layout.handles(&rows) {
                let table = &self.tables[table_index];
                let has_before = rows.columns_before_image().is_some();
                let has_after = rows.columns_after_image().is_some();
                let decode_error = |e: std::io::Error| {
                    BridgeError::external(format!("decoding a binlog row of {}", table.id), e)
                };
                let mut buf = ParseBuf(rows.rows_data());
                // Each row takes at least a byte of the event: its index keeps it below the next
                // event's start.
                let mut in_event = 0u64;
                while !buf.is_empty() {
                    let before = if has_before {
                        Some(view.layout.decode(&mut buf).map_err(decode_error)?)
                    } else {
                        None
                    };
                    let after = if has_after {
                        Some(view.layout.decode(&mut buf).map_err(decode_error)?)
                    } else {
                        None
                    };
                    self.rows_in_txn += 1;
                    in_event += 1;
                    if let Some(rows) = skipped_event {
                        self.skip_rows = self.skip_rows.max(self.rows_in_txn + rows);
                    }
                    if self.rows_in_txn <= self.skip_rows {
                        continue;
                    }
                    let at = self.coordinates(event_pos + in_event - 1, self.rows_in_txn - 1);
                    let before = before.map(|v| view.values(v)).transpose()?;
                    let after = after.map(|v| view.values(v)).transpose()?;
                    out.push(RowChange {
                        table: table_index,
                        kind,
                        before,
                        after,
                        txn_start: self.txn_start.clone(),
                        timestamp_ms,
                        at,
                        mapping: view.mapping.clone(),
                        key_change: view.key_change.clone(),
                        schema_change: None,
                    });
                }
                return Ok(());
            }
            if !view.is_positional() {
                return Err(BridgeError::validation(format!(
                    "a binlog rows event of {} without every column in its images (binlog_row_image is not FULL, \
                     or a partial JSON update) for a table whose columns changed upstream: set binlog_row_image=FULL \
                     and binlog_row_value_options=''",
                    table_id_name(&self.tables[table_index])
                )));
            }
        }
        let tme = match &self.stream {
            Some(stream) => stream.get_tme(table_id),
            None => self.tmes.get(&table_id),
        };
        let tme = tme.ok_or_else(|| {
            BridgeError::other(format!(
                "binlog rows event for table id {table_id} without its table-map event"
            ))
        })?;
        for (in_event, row) in rows.rows(tme).enumerate() {
            self.rows_in_txn += 1;
            if let Some(rows) = skipped_event {
                self.skip_rows = self.skip_rows.max(self.rows_in_txn + rows);
            }
            if self.rows_in_txn <= self.skip_rows {
                continue;
            }
            let (Some(table_index), Some(view)) = (captured, &view) else {
                continue;
            };
            let table = &view.schema;
            let (before, after) = row.map_err(|e| {
                BridgeError::external(format!("decoding a binlog row of {}", table.id), e)
            })?;
            let normalizer = &view.normalizer;
            let before = before
                .map(|r| normalizer.binlog_row(table, r, tme))
                .transpose()?;
            let after = after
                .map(|r| normalizer.binlog_row(table, r, tme))
                .transpose()?;
            out.push(RowChange {
                table: table_index,
                kind,
                before,
                after,
                txn_start: self.txn_start.clone(),
                timestamp_ms,
                at: self.coordinates(event_pos + in_event as u64, self.rows_in_txn - 1),
                mapping: None,
                key_change: view.key_change.clone(),
                schema_change: None,
            });
        }
        Ok(())
    }

    fn gtid_string(&self) -> Option<String> {
        (!self.gtids.is_empty()).then(|| self.gtids.to_string())
    }

    /// As [`stream_error`], but an error before the first transaction of a GTID start is about
    /// the set.
    fn stream_error(&self, e: mysql_async::Error) -> BridgeError {
        match (&self.gtid_start, &e) {
            (Some(start), mysql_async::Error::Server(s)) if s.code == 1236 => BridgeError::validation(format!(
                "the server cannot start the binlog {start}: {} — check 'scan.startup.specific-offset.gtid-set' \
                 against the server's GTIDs (SELECT @@gtid_binlog_pos on MariaDB, @@gtid_executed on MySQL)",
                s.message
            )),
            _ => stream_error(e),
        }
    }
}

fn table_id_name(table: &TableSchema) -> String {
    table.id.to_string()
}

/// A position in a file the server no longer has (purged after the checkpoint) would fail deep in
/// the stream; say so plainly first.
pub(crate) async fn check_file(conn: &mut Conn, offset: &BinlogOffset) -> Result<()> {
    let files = binlog_files(conn).await?;
    if !offset.position.file.is_empty() && !files.contains(&offset.position.file) {
        return Err(BridgeError::validation(format!(
            "cannot resume the binlog at {offset}: the server no longer has binlog file '{}' (its oldest \
             is {}); it was probably purged (raise binlog_expire_logs_seconds / expire_logs_days). \
             Restart the job without its checkpoint to take a new snapshot.",
            offset.position.file,
            files.first().map(String::as_str).unwrap_or("none")
        )));
    }
    Ok(())
}

/// MariaDB: the dump starts after the position in `@slave_connect_state`.
async fn connect_state(conn: &mut Conn, start: &BinlogOffset) -> Result<()> {
    let text = start.gtid.as_deref().unwrap_or_default();
    let pos = MariaGtidPos::parse(text).map_err(|e| {
        BridgeError::validation(format!(
            "cannot start the binlog {start}: the server is MariaDB, and {e}; check 'scan.startup.specific-offset.gtid-set'"
        ))
    })?;
    // The canonical text has only digits, '-' and ',': nothing to escape. Strict mode makes a
    // GTID the binlog lacks fail the dump instead of starting at a later transaction.
    for statement in [
        format!("SET @slave_connect_state = '{pos}'"),
        "SET @slave_gtid_strict_mode = 1".to_string(),
    ] {
        conn.query_drop(&statement)
            .await
            .map_err(|e| db_error("preparing the binlog connection for a GTID start", e))?;
    }
    Ok(())
}

/// MySQL: the set to send with COM_BINLOG_DUMP_GTID.
fn mysql_start_set(start: &BinlogOffset) -> Result<GtidSet> {
    GtidSet::parse(start.gtid.as_deref().unwrap_or_default()).map_err(|e| {
        BridgeError::validation(format!(
            "cannot start the binlog {start}: the server is MySQL, and {e}; check 'scan.startup.specific-offset.gtid-set'"
        ))
    })
}

/// The file named by the rotate event that opens a stream. It arrives before the format
/// description, so the decoder cannot know that the event ends in a checksum and leaves it in
/// the name: the last 4 bytes are dropped when they are the CRC32 of the event before them.
fn opening_rotate_file(event: &Event, name: &[u8]) -> String {
    let data = event.data();
    if name.len() > 4 && data.len() >= 4 {
        let (body, checksum) = data.split_at(data.len() - 4);
        let mut bytes = Vec::with_capacity(19 + body.len());
        event.header().serialize(&mut bytes);
        bytes.extend_from_slice(body);
        if crc32fast::hash(&bytes).to_le_bytes() == checksum {
            return String::from_utf8_lossy(&name[..name.len() - 4]).into_owned();
        }
    }
    String::from_utf8_lossy(name).into_owned()
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

/// Waits (at most 3 s) until the killed connection `id` has left the server's process list.
/// `KILL` only flags the thread; a dump thread then unregisters its server id as it ends, a few
/// milliseconds later on an idle server, longer on a busy one. A job resubmitted at once (or the
/// next test) that checked its server ids in that window was refused: "already used by another
/// replica". The server has no way to wait for a thread's end, hence the polling; a connection
/// that outlives the bound is left to end on its own.
async fn await_thread_end(conn: &mut Conn, id: u32) {
    let query = format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        match conn.query_first::<u64, _>(query.as_str()).await {
            Ok(Some(0)) | Err(_) => return,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

fn open_error(e: mysql_async::Error, offset: &BinlogOffset, server_id: u32) -> BridgeError {
    match &e {
        mysql_async::Error::Server(_) => stream_error(e),
        _ => db_error(
            format!("opening the binlog at {offset} as server id {server_id}"),
            e,
        ),
    }
}
