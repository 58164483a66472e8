//! One binlog connection per server for the binlog readers of several sources
//! (`scan.binlog.shared-connection.enabled`).
//!
//! Scope: a process-wide registry of *hubs*, keyed by how the server is reached (host, port,
//! user, password, TLS settings, heartbeat interval; the key is never logged). Flink loads one
//! copy of the connector library per job class loader, so in practice the registry is per job
//! per TaskManager: sources of one job reading one server share, two jobs never do.
//!
//! A hub is a thread with ONE replication connection (one dump thread, one server id on the
//! server). Each subscribed binlog reader keeps a [`BinlogCursor`] of its own, *fed* with the
//! hub's raw events instead of reading a stream: it decodes row events with its own captured
//! tables and mappings, and keeps its own offset, GTID state, schema views, exactly as a private
//! cursor does. Checkpoints and restores of one source are thus independent of the others.
//!
//! Correctness argument. Binlog positions (file number, offset) are totally ordered and the
//! events of the binlog are contiguous. For each subscriber the hub keeps `from`: the position
//! where the next event it must see starts — its offset's position when it joins (a transaction
//! start or a boundary: see `position/offset.rs`), then the end of the last event handed to it. The hub
//! hands an event to a subscriber iff the event starts at or after `from`, so each subscriber
//! sees exactly the binlog's events from its offset on, each once, in order — the same sequence a
//! private stream opened at that offset delivers after its opening events (rotate and format
//! description, which the hub never relays; a fed cursor starts as if it had read them). Rows a
//! resumed subscriber already emitted inside its first transaction are skipped by its cursor
//! (`skip_rows`), as today. The hub's own cursor (`relay`: positions and transaction bounds only,
//! rows not decoded) tells each event's start and the start of the transaction it is in.
//!
//! (Re)opening: the hub's stream opens at the least of the subscribers' `from` and, after a
//! break, the start of the transaction the hub was in. Every subscriber the hub has reached has
//! `from` at or after the hub's position, so that least position is a transaction start or
//! boundary: the stream never opens inside a transaction. Events a subscriber already has are not
//! relayed to it again (their start is before its `from`).
//! - A subscriber that joins *behind* the hub's position restarts the hub there (one reconnect;
//!   the others skip what they already saw). Simpler than a private catch-up connection and
//!   needs no second server id; the cost is that the others wait while the joiner catches up
//!   (joins happen when readers start: job start, failover, restore).
//! - A subscriber that joins ahead just waits until the hub reaches its offset.
//! - Transient errors (`retry::is_transient`: the server restarting, a killed connection, a
//!   silent peer) reconnect with the `connect.*` backoff and bounds of the first subscriber, from
//!   the transaction the hub was in. That is the earliest offset any subscriber still needs:
//!   events relayed before the break sit in the subscribers' queues (each `from` is past them),
//!   events read but not yet relayed are relayed before the reconnect. A fatal error (or an
//!   outage past the bounds) fails every subscriber with the error.
//!
//! Server id: the connection uses the server id of the reader that opened it (the *owner*). When
//! the owner leaves while others stay, the hub reconnects with a remaining reader's id, so a
//! reader that left never finds its id taken by the shared connection (its snapshot chunks read
//! the binlog under that id too).
//!
//! Backpressure: events reach each subscriber over a small bounded queue (at most
//! `QUEUED_DELIVERIES` x `BATCH_EVENTS` events, shared between the subscribers that hold them);
//! a subscriber that does not take them blocks the hub, and so every subscriber of the server
//! waits. Nothing is lost, but a slow source (backpressured by its sink) holds up the other
//! sources of the job on that server, and a job that stops polling one source until another
//! progresses (watermark alignment) can deadlock: hence the option is off by default. A disk
//! spill of a slow subscriber's events (planned) would remove the coupling.
//!
//! Not shared: a start after a GTID set (`scan.startup.specific-offset.gtid-set`, until the reader
//! has checkpointed a file/position offset and is restored from it) has no position to compare
//! until the server names one, so such a reader opens a connection of its own. Offsets that carry
//! GTIDs next to a position (MariaDB domains, MySQL GTID sets) are shared: the position decides.
//!
//! Lifecycle: a reader's cursor leaves the hub when it closes or is dropped (the reader closing,
//! cancelled, failing). The registry counts each hub's readers under its lock (joins too), so the
//! last one leaving removes the hub from the registry, drops the last sender of its commands and
//! waits for its thread: the hub ends the dump thread on the server (as [`BinlogCursor::close`])
//! and returns. No thread of the library outlives its last reader's close (Flink may unload the
//! library after it). A panic in the hub ends its thread only (caught and logged): its
//! subscribers fail with "the shared binlog connection ... stopped unexpectedly" and Flink
//! restarts them; the next subscriber starts a new hub.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mysql_async::binlog::events::Event;
use tokio::sync::mpsc;

use rust_core::error::BridgeError;
use rust_core::metrics::{Gauge, Metrics};
use rust_core::Result;

use crate::binlog::reconnect::ReconnectingCursor;
use crate::binlog::{check_file, BinlogCursor, RowChange};
use crate::config::MySqlCdcConfig;
use crate::conn::connect::{is_mariadb, Connector};
use crate::conn::retry::{is_transient, Outage, RetryPolicy};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::TableSchema;
use crate::value::TableMapping;

/// Events relayed to a subscriber at once (what the stream had buffered), and deliveries a
/// subscriber may have queued before the hub waits for it: at most 1024 events (of the server's
/// `binlog_row_event_max_size`, 8 KiB by default, for row events: ~8 MiB) queued per reader, the
/// events shared by every reader that has them queued.
const BATCH_EVENTS: usize = 256;
const QUEUED_DELIVERIES: usize = 4;
const HEARTBEAT_EVENT: u8 = 27;

/// Tests: the next event a hub relays panics its thread.
#[cfg(test)]
pub(crate) static PANIC_AT_NEXT_EVENT: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Tests: a defect that hands the readers with these server ids none of the events they must see
/// (what the binlog stall watchdog is for).
#[cfg(test)]
pub(crate) static STARVED_SERVER_IDS: Mutex<Option<std::ops::RangeInclusive<u32>>> =
    Mutex::new(None);

/// A binlog reader's cursor: a connection of its own, or fed by its server's shared connection.
// One per binlog reader, both variants a BinlogCursor and a little more: no boxing needed.
#[allow(clippy::large_enum_variant)]
pub enum Cursor {
    Private(ReconnectingCursor),
    Shared(SharedCursor),
}

impl Cursor {
    /// Opens at `offset`: on the shared connection of the server when the source allows it and
    /// the offset has a position, else on a connection of its own. Registers the gauges
    /// `binlogSharedConnection` (1 shared, 0 own) and `binlogConnectionReaders` (readers on the
    /// connection, this one included).
    pub async fn open(
        connector: &Connector,
        config: &MySqlCdcConfig,
        server_id: u32,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        metrics: &Metrics,
    ) -> Result<Cursor> {
        let shared = metrics.gauge("binlogSharedConnection");
        let readers = metrics.gauge("binlogConnectionReaders");
        if config.shared_binlog && !offset.starts_from_gtids() {
            let cursor =
                SharedCursor::subscribe(connector, config, server_id, offset, tables, readers)
                    .await?;
            shared.set(1);
            return Ok(Cursor::Shared(cursor));
        }
        if config.shared_binlog {
            tracing::info!(
                offset = %offset,
                "a start after a GTID set reads the binlog on a connection of its own (not shared with other sources)"
            );
        }
        shared.set(0);
        readers.set(1);
        let policy = RetryPolicy::new(config);
        let cursor = ReconnectingCursor::open(
            connector,
            server_id,
            offset,
            tables,
            config.heartbeat_interval,
            policy,
        )
        .await?;
        Ok(Cursor::Private(cursor))
    }

    /// Reads (at least) one event, waiting for it; see [`BinlogCursor::next`].
    pub async fn next(&mut self, out: &mut Vec<RowChange>) -> Result<()> {
        match self {
            Cursor::Private(c) => c.next(out).await,
            Cursor::Shared(c) => c.next(out).await,
        }
    }

    /// As [`Self::next`] when an event is at hand; `Ok(false)` when none is.
    pub fn try_next(&mut self, out: &mut Vec<RowChange>) -> Result<bool> {
        match self {
            Cursor::Private(c) => c.try_next(out),
            Cursor::Shared(c) => c.try_next(out),
        }
    }

    pub fn offset(&self) -> BinlogOffset {
        match self {
            Cursor::Private(c) => c.offset(),
            Cursor::Shared(c) => c.cursor.offset(),
        }
    }

    pub fn position(&self) -> BinlogPosition {
        match self {
            Cursor::Private(c) => c.position(),
            Cursor::Shared(c) => c.cursor.position(),
        }
    }

    pub fn at_boundary(&self) -> bool {
        match self {
            Cursor::Private(c) => c.at_boundary(),
            Cursor::Shared(c) => c.cursor.at_boundary(),
        }
    }

    /// The cursor whose offset, position and times are the reader's.
    pub fn current(&self) -> &BinlogCursor {
        match self {
            Cursor::Private(c) => c.current(),
            Cursor::Shared(c) => &c.cursor,
        }
    }

    pub fn set_mappings(&mut self, mappings: Arc<Vec<Arc<TableMapping>>>) {
        match self {
            Cursor::Private(c) => c.set_mappings(mappings),
            Cursor::Shared(c) => c.cursor.set_mappings(mappings),
        }
    }

    pub fn set_schema_changes(&mut self, enabled: bool) {
        match self {
            Cursor::Private(c) => c.set_schema_changes(enabled),
            Cursor::Shared(c) => c.cursor.set_schema_changes(enabled),
        }
    }

    /// See [`BinlogCursor::set_compact_json`].
    pub fn set_compact_json(&mut self, compact: bool) {
        match self {
            Cursor::Private(c) => c.set_compact_json(compact),
            Cursor::Shared(c) => c.cursor.set_compact_json(compact),
        }
    }

    /// See [`BinlogCursor::set_start_skip`].
    pub fn set_start_skip(&mut self, skip: crate::binlog::StartSkip) {
        match self {
            Cursor::Private(c) => c.set_start_skip(skip),
            Cursor::Shared(c) => c.cursor.set_start_skip(skip),
        }
    }

    /// See [`BinlogCursor::set_watch`].
    pub fn set_watch(&mut self, watch: Arc<crate::binlog::table_watch::TableWatch>) {
        match self {
            Cursor::Private(c) => c.set_watch(watch),
            Cursor::Shared(c) => c.cursor.set_watch(watch),
        }
    }

    /// On the shared connection: tells whether it waits for another source's reader.
    pub fn hold_probe(&self) -> Option<HoldProbe> {
        match self {
            Cursor::Private(_) => None,
            Cursor::Shared(c) => Some(c.hold_probe()),
        }
    }

    /// See [`BinlogCursor::take_found`].
    pub fn take_found(&mut self) -> Vec<crate::schema::TableId> {
        match self {
            Cursor::Private(c) => c.take_found(),
            Cursor::Shared(c) => c.cursor.take_found(),
        }
    }

    /// Closes the own connection, or leaves the shared one (the last reader leaving closes it).
    pub async fn close(self) {
        match self {
            Cursor::Private(c) => c.close().await,
            Cursor::Shared(c) => drop(c),
        }
    }
}

/// What the hub hands a subscriber.
enum Delivery {
    Events(Vec<Arc<Event>>),
    /// The shared connection failed for good (every subscriber gets the error).
    Failed(BridgeError),
}

/// Tells whether the hub waits for another subscriber, whose queue is full, to take its events:
/// this reader then gets nothing, whatever the server writes (the binlog stall watchdog's
/// backpressure case, `binlog/stall.rs`).
pub struct HoldProbe {
    blocked_on: Arc<AtomicU64>,
    id: u64,
}

impl HoldProbe {
    pub fn held(&self) -> bool {
        let blocked_on = self.blocked_on.load(Ordering::Relaxed);
        blocked_on != 0 && blocked_on != self.id
    }
}

/// A reader's cursor fed by its server's hub.
pub struct SharedCursor {
    cursor: BinlogCursor,
    id: u64,
    deliveries: mpsc::Receiver<Delivery>,
    buffered: VecDeque<Arc<Event>>,
    /// The hub's commands and its id in the registry (None once left).
    hub: Option<(mpsc::UnboundedSender<Command>, u64)>,
    /// The subscriber the hub waits for to take events (0: none); see [`Self::held_by_another`].
    blocked_on: Arc<AtomicU64>,
    key: HubKey,
    address: String,
}

impl SharedCursor {
    async fn subscribe(
        connector: &Connector,
        config: &MySqlCdcConfig,
        server_id: u32,
        offset: &BinlogOffset,
        tables: Arc<Vec<TableSchema>>,
        readers: Gauge,
    ) -> Result<Self> {
        // A purged offset fails this reader alone, before it joins (a hub restarting there would
        // fail every reader); the server's flavor tells how the fed cursor reads GTID events.
        let mariadb = crate::conn::retry::on_connection(
            connector,
            "checking the binlog file",
            async |conn| {
                check_file(conn, offset).await?;
                is_mariadb(conn).await
            },
        )
        .await?;

        let cursor = BinlogCursor::fed(
            connector,
            offset,
            tables,
            mariadb,
            config.heartbeat_interval,
        );
        let (tx, deliveries) = mpsc::channel(QUEUED_DELIVERIES);
        let id = next_id();
        let subscriber = Subscriber {
            id,
            server_id,
            from: offset.position.clone(),
            tx,
            pending: Vec::new(),
            readers,
        };
        let key = HubKey::of(config);
        let Joined {
            commands,
            hub,
            blocked_on,
        } = join(&key, config, connector, subscriber)?;
        tracing::info!(
            address = %connector.address(), offset = %offset, server_id,
            "binlog reading on the server's shared binlog connection"
        );
        Ok(SharedCursor {
            cursor,
            id,
            deliveries,
            buffered: VecDeque::new(),
            hub: Some((commands, hub)),
            blocked_on,
            key,
            address: connector.address().to_string(),
        })
    }

    async fn next(&mut self, out: &mut Vec<RowChange>) -> Result<()> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                return self.cursor.handle(&event, out);
            }
            // Cancel-safe: a delivery is either received whole or left in the queue.
            let delivery = self.deliveries.recv().await;
            self.take(delivery)?;
        }
    }

    fn try_next(&mut self, out: &mut Vec<RowChange>) -> Result<bool> {
        if self.cursor.stopped_at_new_table() {
            // As a private cursor: nothing after a newly added table's event is handled.
            return Ok(false);
        }
        if self.buffered.is_empty() {
            match self.deliveries.try_recv() {
                Ok(delivery) => self.take(Some(delivery))?,
                Err(mpsc::error::TryRecvError::Empty) => return Ok(false),
                Err(mpsc::error::TryRecvError::Disconnected) => self.take(None)?,
            }
        }
        match self.buffered.pop_front() {
            Some(event) => self.cursor.handle(&event, out).map(|_| true),
            None => Ok(false),
        }
    }

    fn hold_probe(&self) -> HoldProbe {
        HoldProbe {
            blocked_on: self.blocked_on.clone(),
            id: self.id,
        }
    }

    fn take(&mut self, delivery: Option<Delivery>) -> Result<()> {
        match delivery {
            Some(Delivery::Events(events)) => {
                self.buffered.extend(events);
                Ok(())
            }
            Some(Delivery::Failed(e)) => Err(e),
            None => Err(BridgeError::other(format!(
                "the shared binlog connection to {} stopped unexpectedly (see the TaskManager log); Flink restarts \
                 the reader from its last checkpoint",
                self.address
            ))),
        }
    }
}

impl Drop for SharedCursor {
    fn drop(&mut self) {
        // A hub blocked handing this reader events sees the queue closed at once.
        self.deliveries.close();
        if let Some((commands, hub)) = self.hub.take() {
            let _ = commands.send(Command::Leave(self.id));
            leave(&self.key, hub, commands);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------

/// How a server is reached: sources with equal keys share a connection. Never logged (password).
#[derive(Clone, PartialEq, Eq, Hash)]
struct HubKey {
    hostname: String,
    port: u16,
    username: String,
    password: String,
    tls: String,
    heartbeat: Duration,
}

impl HubKey {
    fn of(config: &MySqlCdcConfig) -> Self {
        HubKey {
            hostname: config.hostname.clone(),
            port: config.port,
            username: config.username.clone(),
            password: config.password.clone(),
            tls: format!("{:?}", config.tls),
            heartbeat: config.heartbeat_interval,
        }
    }
}

struct Entry {
    hub: u64,
    commands: mpsc::UnboundedSender<Command>,
    /// Readers joined and not left: the hub's thread ends after the last one left.
    readers: usize,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The hub's [`Hub::blocked_on`], handed to each subscriber.
    blocked_on: Arc<AtomicU64>,
}

fn registry() -> &'static Mutex<HashMap<HubKey, Entry>> {
    static HUBS: OnceLock<Mutex<HashMap<HubKey, Entry>>> = OnceLock::new();
    HUBS.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<HubKey, Entry>> {
    // The map stays consistent whatever panicked while holding it (single inserts and removes).
    registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A subscriber's handles on the hub it joined.
struct Joined {
    commands: mpsc::UnboundedSender<Command>,
    hub: u64,
    blocked_on: Arc<AtomicU64>,
}

/// Hands `subscriber` to the hub of its server, starting one when there is none; returns the
/// hub's commands, id and the subscriber it waits for. The registry counts the readers of each hub under its lock, so a hub is
/// removed (by its last reader's [`leave`]) only when no join can reach it any more.
fn join(
    key: &HubKey,
    config: &MySqlCdcConfig,
    connector: &Connector,
    subscriber: Subscriber,
) -> Result<Joined> {
    let mut hubs = lock();
    let mut subscriber = subscriber;
    if let Some(entry) = hubs.get_mut(key) {
        match entry.commands.send(Command::Join(subscriber)) {
            Ok(()) => {
                entry.readers += 1;
                return Ok(Joined {
                    commands: entry.commands.clone(),
                    hub: entry.hub,
                    blocked_on: entry.blocked_on.clone(),
                });
            }
            // Its thread ended early (a panic): start another.
            Err(mpsc::error::SendError(Command::Join(s))) => subscriber = s,
            Err(_) => unreachable!("sent a join"),
        }
    }
    let (commands, receiver) = mpsc::unbounded_channel();
    let id = next_id();
    let _ = commands.send(Command::Join(subscriber));
    let blocked_on = Arc::new(AtomicU64::new(0));
    let hub = Hub {
        blocked_on: blocked_on.clone(),
        connector: connector.clone(),
        policy: RetryPolicy::new(config),
        heartbeat: config.heartbeat_interval,
        commands: receiver,
        subscribers: Vec::new(),
        owner: None,
        cursor: None,
        resume: None,
        outage: None,
        reopened: None,
    };
    let thread = std::thread::Builder::new()
        .name("rust-mysql-cdc-binlog-hub".into())
        .spawn(move || hub.run_thread())
        .map_err(|e| BridgeError::external("starting the shared binlog connection's thread", e))?;
    tracing::info!(address = %connector.address(), "shared binlog connection started");
    hubs.insert(
        key.clone(),
        Entry {
            hub: id,
            commands: commands.clone(),
            readers: 1,
            thread: Some(thread),
            blocked_on: blocked_on.clone(),
        },
    );
    Ok(Joined {
        commands,
        hub: id,
        blocked_on,
    })
}

/// A reader left hub `hub` (its Leave is sent). The last one removes the hub from the registry
/// and waits for its thread, which ends the dump (as [`BinlogCursor::close`], a few ms, at most
/// ~3 s) once every sender of its commands is gone: the library is never left with a thread of
/// its own running after its last reader closed.
fn leave(key: &HubKey, hub: u64, commands: mpsc::UnboundedSender<Command>) {
    let thread = {
        let mut hubs = lock();
        match hubs.get_mut(key) {
            Some(entry) if entry.hub == hub => {
                entry.readers -= 1;
                if entry.readers == 0 {
                    hubs.remove(key).and_then(|mut e| e.thread.take())
                } else {
                    None
                }
            }
            // Replaced after its thread ended early: nothing to wait for.
            _ => None,
        }
    };
    drop(commands);
    if let Some(thread) = thread {
        let _ = thread.join();
    }
}

// ---------------------------------------------------------------------------------------------
// The hub
// ---------------------------------------------------------------------------------------------

enum Command {
    Join(Subscriber),
    Leave(u64),
}

struct Subscriber {
    id: u64,
    server_id: u32,
    /// Where the next event this subscriber must see starts (module docs).
    from: BinlogPosition,
    tx: mpsc::Sender<Delivery>,
    /// Events for it from the batch being relayed.
    pending: Vec<Arc<Event>>,
    /// Its `binlogConnectionReaders` gauge.
    readers: Gauge,
}

struct Hub {
    connector: Connector,
    policy: RetryPolicy,
    heartbeat: Duration,
    commands: mpsc::UnboundedReceiver<Command>,
    subscribers: Vec<Subscriber>,
    /// The subscriber whose server id the connection uses, and that id.
    owner: Option<(u64, u32)>,
    /// The relaying cursor of the open stream (positions and transaction bounds only).
    cursor: Option<BinlogCursor>,
    /// The start of the transaction the last stream was in when it ended: where it goes on.
    resume: Option<BinlogPosition>,
    outage: Option<Outage>,
    reopened: Option<(Instant, BinlogPosition)>,
    /// The subscriber whose full queue the hub waits on (0: none), for the others' stall
    /// watchdogs to tell that wait from a stall.
    blocked_on: Arc<AtomicU64>,
}

enum Step {
    Command(Option<Command>),
    Event(Result<Event>),
}

impl Hub {
    fn run_thread(self) {
        let address = self.connector.address().to_string();
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                // Dropping the hub disconnects its subscribers, who fail with the generic error.
                tracing::error!(address = %address, "cannot start the shared binlog connection's runtime: {e}");
                return;
            }
        };
        let run = std::panic::AssertUnwindSafe(|| runtime.block_on(self.run()));
        if let Err(panic) = std::panic::catch_unwind(run) {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(address = %address, "the shared binlog connection's thread panicked: {what}");
        }
    }

    async fn run(mut self) {
        loop {
            if self.subscribers.is_empty() {
                // Nobody to read for: wait for a join, or for every reader to have left (the
                // channel closes when the registry and the last reader dropped their senders).
                match self.commands.recv().await {
                    Some(command) => self.command(command).await,
                    None => break,
                }
                continue;
            }
            if self.cursor.is_none() {
                if let Err(e) = self.open().await {
                    self.fail_all(e).await;
                }
                continue;
            }
            let step = {
                let Hub {
                    commands, cursor, ..
                } = &mut self;
                let cursor = cursor.as_mut().expect("open");
                tokio::select! {
                    command = commands.recv() => Step::Command(command),
                    event = cursor.next_event() => Step::Event(event),
                }
            };
            match step {
                // The registry holds a sender while the hub is registered.
                Step::Command(None) => break,
                Step::Command(Some(command)) => self.command(command).await,
                Step::Event(Ok(event)) => {
                    if let Err(e) = self.relay(event).await {
                        self.failed(e).await;
                    }
                }
                Step::Event(Err(e)) => self.failed(e).await,
            }
        }
        if let Some(cursor) = self.cursor.take() {
            cursor.close().await;
        }
        tracing::info!(address = %self.connector.address(), "shared binlog connection closed (no readers left)");
    }

    fn add(&mut self, subscriber: Subscriber) {
        self.subscribers.push(subscriber);
        self.counted();
    }

    fn counted(&self) {
        for s in &self.subscribers {
            s.readers.set(self.subscribers.len() as i64);
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Join(subscriber) => {
                let behind = self
                    .cursor
                    .as_ref()
                    .is_some_and(|c| subscriber.from < c.position());
                let from = subscriber.from.clone();
                self.add(subscriber);
                if behind {
                    tracing::info!(
                        address = %self.connector.address(), from = %from,
                        "a reader joined the shared binlog connection behind its position: reading again from there"
                    );
                    self.restart().await;
                }
            }
            Command::Leave(id) => self.leave(id),
        }
        self.check_owner().await;
    }

    fn leave(&mut self, id: u64) {
        self.subscribers.retain(|s| s.id != id);
        self.counted();
    }

    /// The connection uses a subscriber's server id: after the owner left, another's (reconnecting).
    async fn check_owner(&mut self) {
        let Some(first) = self.subscribers.first() else {
            return;
        };
        if self
            .owner
            .is_some_and(|(id, _)| self.subscribers.iter().any(|s| s.id == id))
        {
            return;
        }
        let (id, server_id) = (first.id, first.server_id);
        let previous = self.owner.replace((id, server_id));
        if previous.is_some_and(|(_, old)| old != server_id) && self.cursor.is_some() {
            tracing::info!(
                address = %self.connector.address(), server_id,
                "the reader whose server id the shared binlog connection used left: reconnecting with another's"
            );
            self.restart().await;
        }
    }

    /// Ends the open stream (its dump thread too) so that the next one opens where it must.
    async fn restart(&mut self) {
        if let Some(cursor) = self.cursor.take() {
            self.resume = Some(cursor.offset().position);
            cursor.close().await;
        }
    }

    /// Opens the stream at the least position a subscriber needs, riding out transient failures.
    async fn open(&mut self) -> Result<()> {
        loop {
            if self.subscribers.is_empty() {
                return Ok(());
            }
            self.check_owner().await;
            let server_id = self.owner.expect("owner of a hub with subscribers").1;
            let position = self
                .subscribers
                .iter()
                .map(|s| &s.from)
                .chain(self.resume.iter())
                .min()
                .cloned()
                .expect("subscribers");
            let offset = BinlogOffset::at(position);
            let (connector, heartbeat) = (&self.connector, self.heartbeat);
            let attempt = async {
                let conn = connector.connect_once().await?;
                BinlogCursor::open_on(
                    conn,
                    connector,
                    server_id,
                    &offset,
                    Arc::new(Vec::new()),
                    heartbeat,
                )
                .await
            };
            // A join or leave meanwhile (the last reader leaving must not wait for a slow connect)
            // drops the attempt: it starts over with the subscribers as they are then.
            let attempt = tokio::select! {
                attempt = attempt => attempt,
                command = self.commands.recv() => {
                    match command {
                        Some(command) => self.command(command).await,
                        None => return Ok(()),
                    }
                    continue;
                }
            };
            match attempt {
                Ok(mut cursor) => {
                    cursor.set_relay();
                    tracing::info!(
                        address = %self.connector.address(), server_id, offset = %offset, readers = self.subscribers.len(),
                        "shared binlog connection open"
                    );
                    self.reopened = self
                        .outage
                        .is_some()
                        .then(|| (Instant::now(), cursor.position()));
                    self.cursor = Some(cursor);
                    self.resume = None;
                    return Ok(());
                }
                Err(e) if is_transient(&e) => {
                    self.resume = Some(offset.position.clone());
                    self.wait(e, server_id, &offset).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A read failed: reconnect on a transient error, else fail every subscriber.
    async fn failed(&mut self, e: BridgeError) {
        let Some(cursor) = self.cursor.take() else {
            return;
        };
        // Dropped, not closed: its server thread died with the connection, or the next dump
        // under the same server id replaces it.
        let offset = cursor.offset();
        self.resume = Some(offset.position.clone());
        drop(cursor);
        if !is_transient(&e) {
            return self.fail_all(e).await;
        }
        let server_id = self.owner.map(|(_, id)| id).unwrap_or_default();
        if let Err(e) = self.wait(e, server_id, &offset).await {
            self.fail_all(e).await;
        }
    }

    /// Counts a failure and waits the backoff delay (taking joins and leaves meanwhile), or gives
    /// up with the error naming the server, the bounds and the last cause.
    async fn wait(
        &mut self,
        cause: BridgeError,
        server_id: u32,
        offset: &BinlogOffset,
    ) -> Result<()> {
        let outage = self
            .outage
            .get_or_insert_with(|| Outage::new(self.policy.clone()));
        let Some(delay) = outage.failed(&cause) else {
            let what = format!(
                "the shared binlog connection (server id {server_id}, {} readers) could not (re)connect to read from {offset}",
                self.subscribers.len()
            );
            return Err(outage.give_up(&what, self.connector.address()));
        };
        tracing::warn!(
            address = %self.connector.address(), server_id, offset = %offset, failures = outage.failures(),
            retry_in = ?delay, shared_by = self.subscribers.len(), "binlog connection lost, reconnecting: {cause}"
        );
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return Ok(()),
                command = self.commands.recv() => match command {
                    Some(Command::Join(s)) => self.add(s),
                    Some(Command::Leave(id)) => self.leave(id),
                    None => return Ok(()),
                },
            }
            if self.subscribers.is_empty() {
                return Ok(());
            }
        }
    }

    async fn fail_all(&mut self, e: BridgeError) {
        tracing::error!(address = %self.connector.address(), "the shared binlog connection failed: {}", e.message_chain());
        let text = e.message_chain();
        let validation = e.is_validation();
        for s in self.subscribers.drain(..) {
            let e = if validation {
                BridgeError::validation(&text)
            } else {
                BridgeError::other(&text)
            };
            // A reader that takes nothing for this long is gone or stuck: it sees the queue closed.
            let _ =
                tokio::time::timeout(Duration::from_secs(5), s.tx.send(Delivery::Failed(e))).await;
        }
        self.outage = None;
        self.reopened = None;
        self.resume = None;
        self.owner = None;
    }

    /// Relays `first` and the events the stream has buffered behind it.
    async fn relay(&mut self, first: Event) -> Result<()> {
        let mut result = self.route(first);
        let mut relayed = 1;
        while result.is_ok() && relayed < BATCH_EVENTS {
            match self.cursor.as_mut().expect("open").try_next_event() {
                Ok(Some(event)) => result = self.route(event),
                Ok(None) => break,
                Err(e) => result = Err(e),
            }
            relayed += 1;
        }
        self.healthy();
        // Delivered even when the stream broke behind them: `from` already counts them.
        let mut gone = Vec::new();
        for s in &mut self.subscribers {
            if s.pending.is_empty() {
                continue;
            }
            let events = std::mem::take(&mut s.pending);
            // Waits for a reader that has its queue full: backpressure for every subscriber.
            let sent = match s.tx.try_send(Delivery::Events(events)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
                Err(mpsc::error::TrySendError::Full(delivery)) => {
                    self.blocked_on.store(s.id, Ordering::Relaxed);
                    let sent = s.tx.send(delivery).await.is_ok();
                    self.blocked_on.store(0, Ordering::Relaxed);
                    sent
                }
            };
            if !sent {
                gone.push(s.id);
            }
        }
        for id in gone {
            self.leave(id);
        }
        if !self.subscribers.is_empty() {
            self.check_owner().await;
        }
        result
    }

    /// Hands one event to the subscribers that must see it (module docs).
    fn route(&mut self, event: Event) -> Result<()> {
        #[cfg(test)]
        if PANIC_AT_NEXT_EVENT.swap(false, Ordering::SeqCst) {
            panic!("test: a panic in the shared binlog connection's thread");
        }
        let cursor = self.cursor.as_mut().expect("open");
        let heartbeat = event.header().event_type_raw() == HEARTBEAT_EVENT;
        // Before the format description: events the server makes up as the stream opens.
        let binlog_event = cursor.seen_format_description() && !heartbeat;
        let start = cursor.event_start(&event);
        cursor.handle(&event, &mut Vec::new())?;
        let end = cursor.position();
        let event = Arc::new(event);
        #[cfg(test)]
        let starved = STARVED_SERVER_IDS.lock().unwrap().clone();
        for s in &mut self.subscribers {
            #[cfg(test)]
            if starved
                .as_ref()
                .is_some_and(|ids| ids.contains(&s.server_id))
            {
                s.from = end.clone();
                continue;
            }
            if binlog_event && start >= s.from {
                s.pending.push(event.clone());
                s.from = end.clone();
            } else if heartbeat && s.from <= end {
                // Caught up: the server has nothing newer (what the reader's lag is measured by).
                s.pending.push(event.clone());
            }
        }
        Ok(())
    }

    /// An outage is over once the reopened stream went past where it resumed, or stayed up for
    /// the longest backoff delay.
    fn healthy(&mut self) {
        if let (Some((at, position)), Some(cursor)) = (&self.reopened, &self.cursor) {
            if cursor.position() > *position || at.elapsed() >= self.policy.max_delay {
                self.outage = None;
                self.reopened = None;
            }
        }
    }
}
