//! The connector's options, with Flink CDC `mysql-cdc`'s names, meanings and defaults, read into a
//! typed config. Everything here is checked without touching the database; what needs the server
//! (credentials, privileges, binlog settings, tables) is checked by the source's preflight (`source.rs`).

pub mod chunk_key;
pub mod debezium;
pub mod gtid_option;
pub mod pattern;

use std::time::Duration;

use crate::config::pattern::NamePattern;
use serde::{Deserialize, Serialize};

use rust_core::error::BridgeError;
use rust_core::options::{one_of, OptionDefault, OptionSpec, Options};
use rust_core::Result;

use crate::binlog::spill::SpillConfig;
use crate::config::gtid_option::GtidStart;
use crate::conn::tls::{self, TlsConfig};
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::value::ServerTimeZone;

/// Every option the connector accepts; `docs/connectors/rust-mysql-cdc.md` lists the same.
pub const OPTIONS: &[OptionSpec] = &[
    spec("hostname", "String", OptionDefault::Text("(required)"), "IP address or hostname of the MySQL/MariaDB server."),
    spec("port", "Integer", OptionDefault::Value("3306"), "Port of the server."),
    spec("username", "String", OptionDefault::Text("(required)"), "User to connect as (needs SELECT on the captured tables, REPLICATION SLAVE and REPLICATION CLIENT)."),
    spec("password", "String", OptionDefault::Text("(required)"), "Password of the user. Never logged."),
    spec("database-name", "String", OptionDefault::Text("(required)"), "Database name, a Java regular expression (look-around and backreferences allowed) matched against whole names."),
    spec("table-name", "String", OptionDefault::Text("(required)"), "Table name, a Java regular expression (look-around and backreferences allowed) matched against whole names, e.g. '(?!tmp_).*' for every table but the temporary ones."),
    spec("server-id", "String", OptionDefault::Text("a random range in 5400-6400"), "Replication client id, or a range like '5400-5408' with one id per reader."),
    spec("server-time-zone", "String", OptionDefault::Value("UTC"), "Session time zone of the server, which its DATETIME values (read as TIMESTAMP_LTZ) and the wall clocks of TIMESTAMP values (read as TIMESTAMP) are in: an IANA name such as 'Asia/Shanghai' (daylight saving time followed), 'UTC', or an offset such as '+08:00'. Unset: the default zone of the JVM that plans (SQL) or builds (DataStream) the job, whatever the session time zone, with a WARN, as Flink CDC."),
    spec("scan.startup.mode", "String", OptionDefault::Value("initial"), "initial, snapshot, latest-offset, earliest-offset, specific-offset or timestamp."),
    spec("scan.startup.specific-offset.file", "String", OptionDefault::Text("(none)"), "Binlog file name for specific-offset."),
    spec("scan.startup.specific-offset.pos", "Long", OptionDefault::Text("(none)"), "Binlog position for specific-offset."),
    spec(GTID_SET_OPTION, "String", OptionDefault::Text("(none)"), "GTIDs already processed, for specific-offset instead of file and pos: a MariaDB position like '0-1-100,1-2-7' or a MySQL GTID set like 'uuid:1-100'. Reading starts with the first transaction not in it."),
    spec("scan.startup.specific-offset.skip-events", "Long", OptionDefault::Value("0"), "Events to skip after the specific offset (file and pos, a transaction's start), as Flink CDC: of the transaction that begins there, its first events counted from its BEGIN (MariaDB: its GTID event), table maps and row events included; skip-rows then skips rows after them. Not with a GTID set."),
    spec("scan.startup.specific-offset.skip-rows", "Long", OptionDefault::Value("0"), "Rows to skip after the specific offset (and after the skipped events), in the transaction that begins there (the first transaction read, with a GTID set)."),
    spec("scan.startup.timestamp-millis", "Long", OptionDefault::Text("(none)"), "Start at the first binlog event at or after this time (timestamp mode)."),
    spec("scan.incremental.snapshot.enabled", "Boolean", OptionDefault::Value("true"), "Only the incremental (lock-free) snapshot is supported."),
    spec("scan.incremental.snapshot.chunk.size", "Integer", OptionDefault::Value("8096"), "Rows per snapshot chunk."),
    spec("scan.snapshot.fetch.size", "Integer", OptionDefault::Value("1024"), "Rows fetched per round trip while reading a chunk."),
    spec("scan.incremental.snapshot.handover", "String", OptionDefault::Value("checkpoint"), "When the binlog phase starts after the snapshot: 'checkpoint' (after a checkpoint completes, so every snapshot row is downstream before any binlog change) or 'immediate'. SQL jobs without checkpointing get 'immediate' unless set."),
    spec(APPEND_ONLY, "Boolean", OptionDefault::Value("false"), "Emit every change as an insert (+I), as Flink CDC does: deletes and updates too, for sinks that keep every change (logical deletes); the row_kind metadata column says what each change was. The table is then insert-only for the planner."),
    spec("scan.incremental.snapshot.unbounded-chunk-first.enabled", "Boolean", OptionDefault::Value("true"), "Accepted for Flink CDC compatibility, no effect: Flink CDC reads the table's last, unbounded chunk first so that it does not hold it in memory at the end; here every chunk is streamed into batches as it is read."),
    spec("chunk-meta.group.size", "Integer", OptionDefault::Value("1000"), "Accepted for Flink CDC compatibility, no effect: Flink CDC splits the finished chunks' metadata into groups of this size for its events; here the enumerator keeps it in a compact form of its own."),
    spec("scan.parse.online.schema.changes.enabled", "Boolean", OptionDefault::Value("false"), "Only false: schema changes made by gh-ost or pt-online-schema-change (through a shadow table and a rename) are not followed; the rename reaches the reader as a schema change of the table (see Schema changes)."),
    spec(crate::config::chunk_key::OPTION, "String", OptionDefault::Text("(none)"), "Column the snapshot chunks are split by (default: the first primary-key column): one column for every table, or per table in Flink CDC's form 'db.table:column;db2.table2:column2' (database and table are regular expressions matched against whole names, '\\.' is a regex dot; the first matching entry wins, tables no entry matches use their primary key). Checked at submission: the column must exist in each table it applies to."),
    spec(SKIP_BACKFILL, "Boolean", OptionDefault::Value("false"), "Emit each snapshot chunk's rows as read, without folding in the binlog changes made while it was read; the binlog phase then emits the chunk's changes from the chunk's low watermark on. Saves the replay per chunk, but weakens the snapshot to at-least-once: an upsert sink still converges, a plain changelog may see a change twice (on MySQL; on MariaDB the low watermark is exact and nothing repeats)."),
    spec(CLOSE_IDLE_READER, "Boolean", OptionDefault::Value("false"), "A snapshot reader with no chunk to read closes its database connection (a chunk of a newly added table opens a new one). The reader itself stays (Flink CDC finishes it, which needs 'execution.checkpointing.checkpoints-after-tasks-finish.enabled'): here it waits for newly added tables, with its worker thread blocked."),
    spec("chunk-key.even-distribution.factor.upper-bound", "Double", OptionDefault::Value("1000.0"), "Largest (max - min + 1) / rows for splitting a numeric key evenly."),
    spec("chunk-key.even-distribution.factor.lower-bound", "Double", OptionDefault::Value("0.05"), "Smallest (max - min + 1) / rows for splitting a numeric key evenly."),
    spec(LEGACY_JSON, "Boolean", OptionDefault::Value("true"), "How MySQL's JSON values read from the binlog are written, as Flink CDC: true, compactly ('{\"k\":\"v\",\"a\":[1,2]}'); false, as MySQL prints them, with a space after ':' and ',' ('{\"k\": \"v\", \"a\": [1, 2]}'), as the snapshot reads them. MariaDB's JSON columns are text, emitted as stored either way."),
    spec("connect.timeout", "Duration", OptionDefault::Value("30s"), "How long to wait for a connection."),
    spec("connect.max-retries", "Integer", OptionDefault::Value("3"), "Attempts to connect before failing."),
    spec("connection.pool.size", "Integer", OptionDefault::Value("20"), "Accepted for compatibility: each reader uses one query connection (and one binlog connection)."),
    spec("scan.newly-added-table.enabled", "Boolean", OptionDefault::Value("false"), "Capture tables that start matching 'database-name'/'table-name' while the job runs (created or renamed into the patterns) or since its last checkpoint: the binlog reader pauses, the new tables are snapshotted, then the binlog resumes with them. Off: such tables are ignored (logged once)."),
    spec(SHARED_CONNECTION, "Boolean", OptionDefault::Value("false"), "Binlog readers of the sources of one job that read one server (same hostname, port, username, password, TLS options and heartbeat.interval) share one replication connection and server id per TaskManager. A reader that does not keep up holds up the others on that connection. Readers started after a GTID set keep a connection of their own."),
    spec(STALL_TIMEOUT, "Duration", OptionDefault::Value("5min"), "How long a stall may last before the source fails the job, so that Flink restarts it from its last checkpoint: the binlog split waiting to be handed out once the snapshot is finished (and, with 'checkpoint' handover, a checkpoint completed), or the binlog reader reading nothing while the server's binlog moves. The gauges binlogHandoverWaitMs (enumerator) and binlogStalledMs (binlog reader) show them, and a WARN names the cause at a quarter of the timeout. A wait for the handover's checkpoint, and a binlog reader held up by another source's reader on the shared binlog connection, only warn."),
    spec("heartbeat.interval", "Duration", OptionDefault::Value("30s"), "Heartbeats the server sends on an idle binlog, so positions keep moving. A binlog connection silent for 3 intervals is presumed dead and replaced."),
    // TLS (conn/tls.rs; docs: the TLS section of the connector page).
    spec(tls::SSL_MODE, "String", OptionDefault::Text("PREFERRED; VERIFY_CA when only 'ssl.ca-cert' is set"), "TLS for every connection, as MySQL's --ssl-mode: DISABLED, PREFERRED (TLS if the server offers it, certificate not verified), REQUIRED (TLS, not verified), VERIFY_CA (certificate signed by a trusted CA) or VERIFY_IDENTITY (and issued for 'hostname')."),
    spec(tls::USE_SSL, "Boolean", OptionDefault::Text("(none)"), "Connector/J's older switch: false is DISABLED, true PREFERRED (unless requireSSL or verifyServerCertificate ask for more)."),
    spec(tls::REQUIRE_SSL, "Boolean", OptionDefault::Text("(none)"), "Connector/J's older switch: true is REQUIRED."),
    spec(tls::VERIFY_SERVER_CERTIFICATE, "Boolean", OptionDefault::Text("(none)"), "Connector/J's older switch: true is VERIFY_CA."),
    spec(tls::DEBEZIUM_SSL_MODE, "String", OptionDefault::Text("(none)"), "Debezium's name for the mode (disabled, preferred, required, verify_ca, verify_identity). Mode options that are set must agree."),
    spec(tls::CA_CERT, "String", OptionDefault::Text("(none)"), "PEM file of the CA certificate(s) to trust instead of the built-in public CAs (the server's ssl_ca). Read where the job is submitted and on every TaskManager."),
    spec(tls::CLIENT_CERT, "String", OptionDefault::Text("(none)"), "PEM file of a client certificate (chain), for users created REQUIRE X509; needs 'ssl.client-key'."),
    spec(tls::CLIENT_KEY, "String", OptionDefault::Text("(none)"), "PEM file of the client certificate's unencrypted RSA key in PKCS#1 form ('BEGIN RSA PRIVATE KEY'). Never logged."),
    // The binlog spill (binlog/spill.rs; docs: 'Backpressure and the binlog spill' on the connector page).
    spec(SPILL_ENABLED, "Boolean", OptionDefault::Value("false"), "When Flink is slower than the binlog, keep reading and spill the binlog reader's batches to local disk (Arrow IPC segments) instead of waiting, so the server's binlog retention is not outrun by a slow sink."),
    spec(SPILL_DIR, "String", OptionDefault::Text("Flink's io.tmp.dirs on the TaskManager"), "Directory each binlog reader creates its own spill directory in (rust-mysql-cdc-spill-<server id>-<pid>-<unique>, readable by its owner only). Unset, a reader uses one of its TaskManager's io.tmp.dirs (the container's local disks on YARN and Kubernetes). Set, it is checked for writing at submission."),
    spec(SPILL_MAX_SIZE, "MemorySize", OptionDefault::Value("1gb"), "Disk the spill of one reader may use (unread batches and segments kept for the last checkpoint); at the bound the reader waits for Flink, as without a spill."),
    spec(SPILL_SEGMENT_SIZE, "MemorySize", OptionDefault::Value("64mb"), "Size at which a spill segment file is closed and a new one started; read segments are deleted when a checkpoint that no longer needs them completes."),
    spec(SPILL_ORPHAN_RETENTION, "Duration", OptionDefault::Value("1h"), "How long the spill segments a closed or killed reader kept for its last checkpoint stay on the machine for a restore there. A reader cannot tell a cancelled job from a failover, so it keeps them; once no live reader holds the directory and it has been idle this long, the next reader that opens or closes a spill in the same directory removes it. A later restore from that checkpoint reads those changes from the binlog again."),
    // Debezium pass-through (config/debezium.rs).
    spec(crate::config::debezium::SKIPPED_OPERATIONS, "String", OptionDefault::Text("none"), "Row changes of the binlog phase not to emit: any of c (inserts), u (updates), d (deletes), t (truncates, never emitted here), comma-separated, or 'none'. The snapshot reads every row."),
    spec(crate::config::debezium::BINARY_HANDLING, "String", OptionDefault::Value("bytes"), "How BINARY, VARBINARY and BLOB columns declared STRING are read: 'base64', 'base64-url-safe' (padded, as Java's encoders) or 'hex' (lower case) text. With 'bytes' such columns must be declared BYTES (or BINARY/VARBINARY)."),
    spec(crate::config::debezium::DECIMAL_HANDLING, "String", OptionDefault::Value("precise"), "Accepted ('precise', 'double' or 'string'), with no effect: a DECIMAL column reads as declared in every mode, DOUBLE as the nearest double, STRING as its exact text."),
    spec(crate::config::debezium::DESERIALIZATION_FAILURE, "String", OptionDefault::Value("fail"), "Only 'fail': a binlog event of a captured table that cannot be decoded fails the job. 'warn' and 'skip' are refused, since skipping the event would drop its row changes silently."),
    spec("debezium.#", "String", OptionDefault::Text("(none)"), "Other Debezium properties: accepted for Flink CDC compatibility and named in one WARN as ignored (no Debezium engine runs here). 'debezium.database.ssl.mode' is a TLS option (see TLS)."),
    spec("jdbc.properties.#", "String", OptionDefault::Text("(none)"), "Other Connector/J properties: accepted for Flink CDC compatibility and ignored with a warning (no JDBC driver runs here). Unsupported TLS-like ones (key stores, protocols, ...) are refused."),
];

pub const SKIP_BACKFILL: &str = "scan.incremental.snapshot.backfill.skip";
pub const CLOSE_IDLE_READER: &str = "scan.incremental.close-idle-reader.enabled";
pub const LEGACY_JSON: &str = "use.legacy.json.format";
pub const STALL_TIMEOUT: &str = "scan.binlog.stall-timeout";
pub const APPEND_ONLY: &str = "scan.read-changelog-as-append-only.enabled";
/// Binlog readers of one server share one replication connection (binlog/shared.rs).
pub const SHARED_CONNECTION: &str = "scan.binlog.shared-connection.enabled";
/// Start after a GTID set (config/gtid_option.rs parses it, binlog/gtid_start.rs starts there).
pub const GTID_SET_OPTION: &str = "scan.startup.specific-offset.gtid-set";
pub const SPILL_ENABLED: &str = "scan.binlog.spill.enabled";
pub const SPILL_DIR: &str = "scan.binlog.spill.dir";
pub const SPILL_MAX_SIZE: &str = "scan.binlog.spill.max-size";
pub const SPILL_SEGMENT_SIZE: &str = "scan.binlog.spill.segment-size";
pub const SPILL_ORPHAN_RETENTION: &str = "scan.binlog.spill.orphan-retention";

/// Flink's `MemorySize` syntax: a number and an optional unit (b, kb, mb, gb, tb; powers of 1024).
pub fn parse_memory_size(raw: &str) -> std::result::Result<u64, String> {
    const EXPECTED: &str = "a memory size such as '1gb', '512 mb', '64kb' or '1048576' (bytes)";
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let n: u64 = number.parse().map_err(|_| EXPECTED.to_string())?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return Err(EXPECTED.to_string()),
    };
    n.checked_mul(factor).ok_or_else(|| EXPECTED.to_string())
}

fn parse_spill(
    options: &Options,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<Option<SpillConfig>> {
    let enabled: bool = options.get_or(SPILL_ENABLED, false)?;
    let dir: Option<String> = options.get(SPILL_DIR)?;
    let size = |key: &str, default: u64| -> Result<u64> {
        match options.get_str(key) {
            None => Ok(default),
            Some(raw) => {
                parse_memory_size(raw).map_err(|e| invalid(key, format!("'{raw}' is not {e}.")))
            }
        }
    };
    let defaults = SpillConfig::default();
    let max_bytes = size(SPILL_MAX_SIZE, defaults.max_bytes)?;
    let segment_bytes = size(SPILL_SEGMENT_SIZE, defaults.segment_bytes)?;
    let orphan_retention = options.get_or(SPILL_ORPHAN_RETENTION, defaults.orphan_retention)?;
    if !enabled {
        for key in [
            SPILL_DIR,
            SPILL_MAX_SIZE,
            SPILL_SEGMENT_SIZE,
            SPILL_ORPHAN_RETENTION,
        ] {
            if options.get_str(key).is_some() {
                return Err(invalid(key, format!("is only used with '{SPILL_ENABLED}' = 'true'; remove it or enable the spill.")));
            }
        }
        return Ok(None);
    }
    if segment_bytes < 4096 {
        return Err(invalid(SPILL_SEGMENT_SIZE, "must be at least 4kb.".into()));
    }
    if max_bytes < segment_bytes {
        return Err(invalid(
            SPILL_MAX_SIZE,
            format!("must be at least '{SPILL_SEGMENT_SIZE}' ({segment_bytes} bytes)."),
        ));
    }
    let dir = match dir.map(|d| d.trim().to_string()) {
        Some(d) if d.is_empty() => return Err(invalid(SPILL_DIR, "must not be empty.".into())),
        Some(d) => Some(std::path::PathBuf::from(d)),
        None => defaults.dir,
    };
    Ok(Some(SpillConfig {
        dir,
        max_bytes,
        segment_bytes,
        orphan_retention,
    }))
}

const fn spec(
    key: &'static str,
    type_name: &'static str,
    default: OptionDefault,
    description: &'static str,
) -> OptionSpec {
    OptionSpec {
        key,
        type_name,
        default,
        description,
    }
}

/// Where reading starts (`scan.startup.mode`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StartupMode {
    /// Snapshot every captured table, then the binlog from the snapshot's position.
    Initial,
    /// Snapshot only; the source is bounded.
    Snapshot,
    LatestOffset,
    EarliestOffset,
    SpecificOffset(BinlogOffset),
    /// After a MariaDB GTID position (`D-S-N[,D-S-N...]`) or a MySQL GTID set, skipping the
    /// first `skip_rows` row changes of the first transaction read (see `binlog/gtid_start.rs`).
    SpecificGtid {
        start: GtidStart,
        skip_rows: u64,
    },
    Timestamp {
        millis: i64,
    },
}

impl StartupMode {
    pub fn has_snapshot(&self) -> bool {
        matches!(self, StartupMode::Initial | StartupMode::Snapshot)
    }
}

/// Replication client ids for the readers: one id, or an inclusive range with one per reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerIdRange {
    pub start: u32,
    pub end: u32,
}

impl ServerIdRange {
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let expected = || "a server id such as '5400' or a range such as '5400-5408'".to_string();
        let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|id| *id > 0);
        match raw.split_once('-') {
            None => parse(raw)
                .map(|id| ServerIdRange { start: id, end: id })
                .ok_or_else(expected),
            Some((a, b)) => match (parse(a), parse(b)) {
                (Some(start), Some(end)) if start <= end => Ok(ServerIdRange { start, end }),
                _ => Err(expected()),
            },
        }
    }

    pub fn count(&self) -> u32 {
        self.end - self.start + 1
    }

    /// The id of reader `subtask`.
    pub fn id_for(&self, subtask: u32) -> u32 {
        self.start + subtask
    }
}

/// The typed options of one `rust-mysql-cdc` source. `Debug` masks the password (see below).
#[derive(Clone)]
pub struct MySqlCdcConfig {
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub database_name: String,
    pub table_name: String,
    pub database_regex: NamePattern,
    pub table_regex: NamePattern,
    pub server_ids: ServerIdRange,
    pub server_time_zone: ServerTimeZone,
    pub startup: StartupMode,
    /// `scan.startup.specific-offset.skip-events` (`binlog::StartSkip`); 0 unless specific-offset.
    pub start_skip_events: u64,
    pub chunk_size: u64,
    pub fetch_size: usize,
    /// `scan.incremental.snapshot.chunk.key-column` (config/chunk_key.rs).
    pub chunk_key_columns: crate::config::chunk_key::ChunkKeyColumns,
    /// `scan.incremental.snapshot.backfill.skip`: chunks without the replay (snapshot/mod.rs).
    pub skip_backfill: bool,
    /// `scan.incremental.close-idle-reader.enabled`: a snapshot reader without a chunk closes
    /// its query connection (reader/mod.rs).
    pub close_idle_reader: bool,
    /// `use.legacy.json.format`: MySQL binlog JSON without spaces (value/json.rs).
    pub legacy_json: bool,
    /// Start the binlog phase only after a checkpoint that follows the last chunk completes.
    pub handover_after_checkpoint: bool,
    pub even_distribution_upper: f64,
    pub even_distribution_lower: f64,
    pub connect_timeout: Duration,
    pub connect_max_retries: u32,
    pub pool_size: usize,
    pub heartbeat_interval: Duration,
    /// How long the binlog split may wait to be handed out after the snapshot (`enumerator/stall.rs`).
    pub stall_timeout: Duration,
    /// `scan.newly-added-table.enabled`: capture tables that start matching while the job runs
    /// or since its checkpoint (`enumerator/newly_added.rs`).
    pub newly_added_tables: bool,
    /// Binlog readers share their server's connection (`binlog/shared.rs`).
    pub shared_binlog: bool,
    /// TLS for every connection (preflight, enumerator, snapshot, binlog).
    pub tls: TlsConfig,
    /// The binlog spill (`scan.binlog.spill.*`), when enabled.
    pub spill: Option<SpillConfig>,
    /// `debezium.*` (config/debezium.rs).
    pub debezium: crate::config::debezium::DebeziumOptions,
    /// Every row emitted as `+I` (`scan.read-changelog-as-append-only.enabled`).
    pub append_only: bool,
}

impl MySqlCdcConfig {
    pub fn parse(options: &Options) -> Result<Self> {
        let connector = options.connector().to_string();
        let invalid = |key: &str, msg: String| {
            BridgeError::validation(format!(
                "Invalid value for option '{key}' of '{connector}': {msg}"
            ))
        };
        let hostname: String = options.require("hostname")?;
        let port: u16 = {
            let p: u32 = options.get_or("port", 3306)?;
            u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| invalid("port", format!("{p} is not a TCP port (1..65535).")))?
        };
        let username: String = options.require("username")?;
        let password: String = options.require("password")?;
        let database_name: String = options.require("database-name")?;
        let table_name: String = options.require("table-name")?;
        let database_regex = anchored("database-name", &database_name, &invalid)?;
        let table_regex = anchored("table-name", &table_name, &invalid)?;

        let server_ids = match options.get_str("server-id") {
            Some(raw) => ServerIdRange::parse(raw.trim())
                .map_err(|e| invalid("server-id", format!("'{raw}' is not {e}.")))?,
            None => {
                // Flink CDC picks a random id in 5400..6400; one per reader, so a range.
                let start = 5400 + (std::process::id() ^ seed_nanos()) % 900;
                ServerIdRange {
                    start,
                    end: start + 99,
                }
            }
        };
        let server_time_zone = match options.get_str("server-time-zone") {
            None => ServerTimeZone::utc(),
            Some(raw) => ServerTimeZone::parse(raw.trim())
                .map_err(|e| invalid("server-time-zone", format!("{e}")))?,
        };

        let startup = parse_startup(options, &invalid)?;
        let start_skip_events: u64 =
            options.get_or("scan.startup.specific-offset.skip-events", 0)?;

        let snapshot_enabled: bool = options.get_or("scan.incremental.snapshot.enabled", true)?;
        if !snapshot_enabled {
            return Err(invalid(
                "scan.incremental.snapshot.enabled",
                "only the incremental, lock-free snapshot is supported; remove the option or set it to 'true'.".into(),
            ));
        }
        let append_only: bool = options.get_or(APPEND_ONLY, false)?;
        // Accepted for Flink CDC's table definitions; their meaning is Flink CDC's own memory and
        // event layout (see the option descriptions).
        let _: bool = options.get_or(
            "scan.incremental.snapshot.unbounded-chunk-first.enabled",
            true,
        )?;
        let group_size: u64 = options.get_or("chunk-meta.group.size", 1000)?;
        if group_size <= 1 {
            return Err(invalid(
                "chunk-meta.group.size",
                "must be greater than 1.".into(),
            ));
        }
        if options.get_or("scan.parse.online.schema.changes.enabled", false)? {
            return Err(invalid(
                "scan.parse.online.schema.changes.enabled",
                "only 'false' is supported: schema changes made by gh-ost or pt-online-schema-change are not \
                 followed (the final rename reaches the reader as a schema change of the table). Remove the option."
                    .into(),
            ));
        }
        let chunk_size: u64 = options.get_or("scan.incremental.snapshot.chunk.size", 8096)?;
        if chunk_size == 0 {
            return Err(invalid(
                "scan.incremental.snapshot.chunk.size",
                "must be at least 1.".into(),
            ));
        }
        let fetch_size: usize = options.get_or("scan.snapshot.fetch.size", 1024)?;
        if fetch_size == 0 {
            return Err(invalid(
                "scan.snapshot.fetch.size",
                "must be at least 1.".into(),
            ));
        }
        let chunk_key_columns = match options.get_str(crate::config::chunk_key::OPTION) {
            None => crate::config::chunk_key::ChunkKeyColumns::PrimaryKey,
            Some(raw) => crate::config::chunk_key::ChunkKeyColumns::parse(raw)
                .map_err(|e| invalid(crate::config::chunk_key::OPTION, e))?,
        };
        let skip_backfill: bool = options.get_or(SKIP_BACKFILL, false)?;
        let legacy_json: bool = options.get_or(LEGACY_JSON, true)?;
        let close_idle_reader: bool = options.get_or(CLOSE_IDLE_READER, false)?;
        let handover_after_checkpoint = match options
            .get_or::<String>("scan.incremental.snapshot.handover", "checkpoint".into())?
            .trim()
        {
            "checkpoint" => true,
            "immediate" => false,
            other => {
                return Err(invalid(
                    "scan.incremental.snapshot.handover",
                    format!("'{other}' is not one of 'checkpoint' or 'immediate'."),
                ))
            }
        };
        let even_distribution_upper: f64 =
            options.get_or("chunk-key.even-distribution.factor.upper-bound", 1000.0)?;
        let even_distribution_lower: f64 =
            options.get_or("chunk-key.even-distribution.factor.lower-bound", 0.05)?;
        if !(even_distribution_lower > 0.0 && even_distribution_lower <= even_distribution_upper) {
            return Err(invalid(
                "chunk-key.even-distribution.factor.lower-bound",
                format!(
                    "must be positive and at most the upper bound ({even_distribution_upper})."
                ),
            ));
        }
        let connect_timeout: Duration =
            options.get_or("connect.timeout", Duration::from_secs(30))?;
        if connect_timeout < Duration::from_millis(250) {
            return Err(invalid(
                "connect.timeout",
                "must be at least 250 ms.".into(),
            ));
        }
        let connect_max_retries: u32 = options.get_or("connect.max-retries", 3)?;
        let pool_size: usize = options.get_or("connection.pool.size", 20)?;
        if pool_size == 0 {
            return Err(invalid(
                "connection.pool.size",
                "must be at least 1.".into(),
            ));
        }
        let shared_binlog: bool = options.get_or(SHARED_CONNECTION, false)?;
        let heartbeat_interval: Duration =
            options.get_or("heartbeat.interval", Duration::from_secs(30))?;
        if heartbeat_interval.is_zero() {
            return Err(invalid("heartbeat.interval", "must be positive.".into()));
        }

        let newly_added_tables: bool = options.get_or("scan.newly-added-table.enabled", false)?;
        let stall_timeout: Duration = options.get_or(STALL_TIMEOUT, Duration::from_secs(300))?;
        if stall_timeout < Duration::from_secs(1) {
            return Err(invalid(STALL_TIMEOUT, "must be at least 1s.".into()));
        }

        let tls = TlsConfig::parse(options, &invalid)?;
        let spill = parse_spill(options, &invalid)?;
        let debezium = crate::config::debezium::DebeziumOptions::parse(
            options,
            &[tls::DEBEZIUM_SSL_MODE],
            &invalid,
        )?;

        let supported: Vec<String> = OPTIONS.iter().map(|o| o.key.to_string()).collect();
        options.ensure_all_consumed(&supported)?;
        options.ensure_reads_declared(OPTIONS)?;

        Ok(MySqlCdcConfig {
            hostname,
            port,
            username,
            password,
            database_name,
            table_name,
            database_regex,
            table_regex,
            server_ids,
            server_time_zone,
            startup,
            start_skip_events,
            chunk_size,
            fetch_size,
            chunk_key_columns,
            skip_backfill,
            close_idle_reader,
            legacy_json,
            handover_after_checkpoint,
            even_distribution_upper,
            even_distribution_lower,
            connect_timeout,
            connect_max_retries,
            pool_size,
            heartbeat_interval,
            stall_timeout,
            newly_added_tables,
            shared_binlog,
            tls,
            spill,
            debezium,
            append_only,
        })
    }

    /// `host:port` for messages (never the credentials).
    pub fn address(&self) -> String {
        format!("{}:{}", self.hostname, self.port)
    }
}

fn seed_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// Compiles a name pattern (Java syntax) so it must match the whole name, as Debezium's include
/// lists do.
fn anchored(
    key: &str,
    pattern: &str,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<NamePattern> {
    NamePattern::new(pattern).map_err(|e| invalid(key, e))
}

const STARTUP_MODES: &[&str] = &[
    "initial",
    "snapshot",
    "latest-offset",
    "earliest-offset",
    "specific-offset",
    "timestamp",
];

fn parse_startup(
    options: &Options,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<StartupMode> {
    let mode = options
        .get_str("scan.startup.mode")
        .unwrap_or("initial")
        .trim()
        .to_ascii_lowercase();
    let file: Option<String> = options.get("scan.startup.specific-offset.file")?;
    let pos: Option<u64> = options.get("scan.startup.specific-offset.pos")?;
    let gtid: Option<String> = options.get(GTID_SET_OPTION)?;
    let skip_events: u64 = options.get_or("scan.startup.specific-offset.skip-events", 0)?;
    let skip_rows: u64 = options.get_or("scan.startup.specific-offset.skip-rows", 0)?;
    let timestamp: Option<i64> = options.get("scan.startup.timestamp-millis")?;
    let only_for = |key: &str, needed: &str| {
        invalid(
            key,
            format!(
                "is only used with 'scan.startup.mode' = '{needed}'; remove it or change the mode."
            ),
        )
    };
    if mode != "specific-offset" {
        for (key, set) in [
            ("scan.startup.specific-offset.file", file.is_some()),
            ("scan.startup.specific-offset.pos", pos.is_some()),
            ("scan.startup.specific-offset.gtid-set", gtid.is_some()),
        ] {
            if set {
                return Err(only_for(key, "specific-offset"));
            }
        }
    }
    if mode != "timestamp" && timestamp.is_some() {
        return Err(only_for("scan.startup.timestamp-millis", "timestamp"));
    }
    Ok(match mode.as_str() {
        "initial" => StartupMode::Initial,
        "snapshot" => StartupMode::Snapshot,
        "latest-offset" => StartupMode::LatestOffset,
        "earliest-offset" => StartupMode::EarliestOffset,
        "specific-offset" => {
            if skip_events > 0 && gtid.is_some() {
                return Err(invalid(
                    "scan.startup.specific-offset.skip-events",
                    "is only supported with 'scan.startup.specific-offset.file' and '.pos' (a transaction's start); \
                     after a GTID set use 'scan.startup.specific-offset.skip-rows' (row changes of the first \
                     transaction read)."
                        .into(),
                ));
            }
            specific_offset(file, pos, gtid, skip_rows, invalid)?
        }
        "timestamp" => match timestamp {
            Some(millis) => StartupMode::Timestamp { millis },
            None => {
                return Err(invalid(
                    "scan.startup.mode",
                    "'timestamp' needs 'scan.startup.timestamp-millis'.".into(),
                ))
            }
        },
        other => {
            return Err(invalid(
                "scan.startup.mode",
                format!("'{other}' is not one of {}.", one_of(STARTUP_MODES)),
            ))
        }
    })
}

/// Masks the password, so that no `{:?}` of a config, in a log event or an error, can leak it.
/// Lists the connection fields only: enough to tell two configs apart in a log.
impl std::fmt::Debug for MySqlCdcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MySqlCdcConfig")
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"******")
            .field("database_name", &self.database_name)
            .finish_non_exhaustive()
    }
}

/// `specific-offset`: exactly one of file and position, or a GTID set.
fn specific_offset(
    file: Option<String>,
    pos: Option<u64>,
    gtid: Option<String>,
    skip_rows: u64,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<StartupMode> {
    const FILE: &str = "scan.startup.specific-offset.file";
    const POS: &str = "scan.startup.specific-offset.pos";
    const GTID: &str = GTID_SET_OPTION;
    Ok(match (file, pos, gtid) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(invalid(
                GTID,
                format!(
                    "'specific-offset' starts either at '{FILE}' and '{POS}' or after '{GTID}', not both; \
                     remove one of them."
                ),
            ))
        }
        (None, None, Some(set)) => {
            let start = GtidStart::parse(&set).map_err(|e| invalid(GTID, e))?;
            StartupMode::SpecificGtid { start, skip_rows }
        }
        (Some(file), Some(pos), None) => StartupMode::SpecificOffset(BinlogOffset {
            position: BinlogPosition { file: file.trim().to_string(), pos },
            skip_rows,
            gtid: None,
        }),
        (Some(_), None, None) => return Err(invalid(FILE, format!("needs '{POS}' too (SHOW MASTER STATUS gives both)."))),
        (None, Some(_), None) => return Err(invalid(POS, format!("needs '{FILE}' too (SHOW MASTER STATUS gives both)."))),
        (None, None, None) => {
            return Err(invalid(
                "scan.startup.mode",
                format!("'specific-offset' needs '{FILE}' and '{POS}', or '{GTID}'."),
            ))
        }
    })
}

/// Unit tests' config of tables `table_pattern` in database `db`, with `extra` options; nothing
/// connects (enumerator and protocol tests).
#[cfg(test)]
pub(crate) fn test_config(table_pattern: &str, extra: &[(&str, &str)]) -> MySqlCdcConfig {
    let base = [
        ("hostname", "127.0.0.1"),
        ("username", "u"),
        ("password", "p"),
        ("database-name", "db"),
        ("table-name", table_pattern),
    ];
    let options = Options::new(
        "rust-mysql-cdc",
        base.iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    MySqlCdcConfig::parse(&options).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(extra: &[(&str, &str)]) -> Options {
        let mut all = vec![
            ("connector", "rust-mysql-cdc"),
            ("hostname", "127.0.0.1"),
            ("username", "u"),
            ("password", "secret-pw"),
            ("database-name", "shop"),
            ("table-name", "orders_.*"),
        ];
        all.extend_from_slice(extra);
        Options::new(
            "rust-mysql-cdc",
            all.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_follow_flink_cdc() {
        let c = MySqlCdcConfig::parse(&options(&[])).unwrap();
        assert_eq!(c.port, 3306);
        assert_eq!(c.startup, StartupMode::Initial);
        assert_eq!(c.chunk_size, 8096);
        assert_eq!(c.fetch_size, 1024);
        assert_eq!(c.connect_timeout, Duration::from_secs(30));
        assert_eq!(c.connect_max_retries, 3);
        assert_eq!(c.pool_size, 20);
        assert_eq!(c.heartbeat_interval, Duration::from_secs(30));
        assert!((5400..6400).contains(&c.server_ids.start));
        assert!(c.table_regex.is_match("orders_1") && !c.table_regex.is_match("x_orders_1"));
        assert!(c.database_regex.is_match("shop") && !c.database_regex.is_match("shop2"));
    }

    #[test]
    fn server_id_ranges() {
        let c = MySqlCdcConfig::parse(&options(&[("server-id", "5400-5403")])).unwrap();
        assert_eq!(
            c.server_ids,
            ServerIdRange {
                start: 5400,
                end: 5403
            }
        );
        assert_eq!(c.server_ids.count(), 4);
        for bad in ["0", "x", "9-3", "5400-"] {
            let e = MySqlCdcConfig::parse(&options(&[("server-id", bad)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("'server-id'"), "{e}");
        }
    }

    #[test]
    fn startup_modes() {
        let c = MySqlCdcConfig::parse(&options(&[
            ("scan.startup.mode", "specific-offset"),
            ("scan.startup.specific-offset.file", "bin.000003"),
            ("scan.startup.specific-offset.pos", "4"),
        ]))
        .unwrap();
        assert_eq!(
            c.startup,
            StartupMode::SpecificOffset(BinlogOffset {
                position: BinlogPosition {
                    file: "bin.000003".into(),
                    pos: 4
                },
                skip_rows: 0,
                gtid: None
            })
        );
        let e = MySqlCdcConfig::parse(&options(&[("scan.startup.mode", "specific-offset")]))
            .unwrap_err();
        assert!(
            e.to_string().contains("scan.startup.specific-offset.file"),
            "{e}"
        );
        let e = MySqlCdcConfig::parse(&options(&[("scan.startup.mode", "newest")])).unwrap_err();
        assert!(e.to_string().contains("'latest-offset'"), "{e}");
        let e =
            MySqlCdcConfig::parse(&options(&[("scan.startup.timestamp-millis", "5")])).unwrap_err();
        assert!(e.to_string().contains("'timestamp'"), "{e}");
    }

    #[test]
    fn specific_offset_takes_a_gtid_set_or_file_and_pos_but_not_both() {
        use crate::config::gtid_option::GtidFlavor;
        let gtid = |extra: &[(&str, &str)]| {
            let mut all = vec![("scan.startup.mode", "specific-offset")];
            all.extend_from_slice(extra);
            MySqlCdcConfig::parse(&options(&all))
                .map(|c| c.startup)
                .map_err(|e| e.to_string())
        };
        let mode = gtid(&[
            ("scan.startup.specific-offset.gtid-set", "1-1-7,0-1-100"),
            ("scan.startup.specific-offset.skip-rows", "3"),
        ]);
        assert_eq!(
            mode,
            Ok(StartupMode::SpecificGtid {
                start: GtidStart {
                    flavor: GtidFlavor::MariaDb,
                    set: "0-1-100,1-1-7".into()
                },
                skip_rows: 3
            })
        );
        assert!(
            !mode.unwrap().has_snapshot(),
            "specific-offset never snapshots"
        );
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mode = gtid(&[(
            "scan.startup.specific-offset.gtid-set",
            &format!("{uuid}:1-100"),
        )])
        .unwrap();
        assert!(matches!(
            mode,
            StartupMode::SpecificGtid {
                start: GtidStart {
                    flavor: GtidFlavor::MySql,
                    ..
                },
                skip_rows: 0
            }
        ));

        let e = gtid(&[("scan.startup.specific-offset.gtid-set", "0-1")]).unwrap_err();
        assert!(
            e.contains("'scan.startup.specific-offset.gtid-set'")
                && e.contains("'0-1' is not a MariaDB GTID"),
            "{e}"
        );
        let e = gtid(&[
            ("scan.startup.specific-offset.gtid-set", "0-1-100"),
            ("scan.startup.specific-offset.file", "bin.000001"),
            ("scan.startup.specific-offset.pos", "4"),
        ])
        .unwrap_err();
        assert!(
            e.contains("either at 'scan.startup.specific-offset.file'") && e.contains("not both"),
            "{e}"
        );
        let e = gtid(&[
            ("scan.startup.specific-offset.gtid-set", "0-1-100"),
            ("scan.startup.specific-offset.pos", "4"),
        ])
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = gtid(&[("scan.startup.specific-offset.file", "bin.000001")]).unwrap_err();
        assert!(
            e.contains("'scan.startup.specific-offset.file'")
                && e.contains("needs 'scan.startup.specific-offset.pos' too"),
            "{e}"
        );
        let e = gtid(&[
            ("scan.startup.specific-offset.gtid-set", "0-1-100"),
            ("scan.startup.specific-offset.skip-events", "2"),
        ])
        .unwrap_err();
        assert!(
            e.contains("'scan.startup.specific-offset.skip-events'") && e.contains("skip-rows"),
            "{e}"
        );
        let c = MySqlCdcConfig::parse(&options(&[
            ("scan.startup.mode", "specific-offset"),
            ("scan.startup.specific-offset.file", "bin.000003"),
            ("scan.startup.specific-offset.pos", "4"),
            ("scan.startup.specific-offset.skip-events", "3"),
        ]))
        .unwrap();
        assert_eq!(c.start_skip_events, 3);
        let e = MySqlCdcConfig::parse(&options(&[(
            "scan.startup.specific-offset.gtid-set",
            "0-1-100",
        )]))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("only used with 'scan.startup.mode' = 'specific-offset'"),
            "{e}"
        );
    }

    #[test]
    fn a_bare_debezium_prefix_is_an_unknown_option() {
        let e = MySqlCdcConfig::parse(&options(&[("debezium.", "x")])).unwrap_err();
        assert!(
            e.is_validation()
                && e.to_string().contains("Unsupported options found")
                && e.to_string().contains("\ndebezium.\n"),
            "{e}"
        );
        assert!(MySqlCdcConfig::parse(&options(&[("debezium.any.property", "x")])).is_ok());
    }

    #[test]
    fn spill_options_are_typed_and_checked() {
        let c = MySqlCdcConfig::parse(&options(&[])).unwrap();
        assert!(c.spill.is_none(), "the spill is off by default");
        let c = MySqlCdcConfig::parse(&options(&[(SPILL_ENABLED, "true")])).unwrap();
        assert_eq!(
            c.spill,
            Some(SpillConfig {
                dir: None,
                max_bytes: 1 << 30,
                segment_bytes: 64 << 20,
                orphan_retention: Duration::from_secs(3600),
            })
        );
        let c = MySqlCdcConfig::parse(&options(&[
            (SPILL_ENABLED, "true"),
            (SPILL_DIR, "/data/spill"),
            (SPILL_MAX_SIZE, "2 gb"),
            (SPILL_SEGMENT_SIZE, "512kb"),
            (SPILL_ORPHAN_RETENTION, "10 min"),
        ]))
        .unwrap();
        assert_eq!(
            c.spill,
            Some(SpillConfig {
                dir: Some("/data/spill".into()),
                max_bytes: 2 << 30,
                segment_bytes: 512 << 10,
                orphan_retention: Duration::from_secs(600),
            })
        );
        let err = |extra: &[(&str, &str)]| {
            MySqlCdcConfig::parse(&options(extra))
                .unwrap_err()
                .to_string()
        };
        let e = err(&[(SPILL_ENABLED, "true"), (SPILL_MAX_SIZE, "lots")]);
        assert!(
            e.contains("'scan.binlog.spill.max-size'") && e.contains("memory size such as '1gb'"),
            "{e}"
        );
        let e = err(&[
            (SPILL_ENABLED, "true"),
            (SPILL_MAX_SIZE, "1mb"),
            (SPILL_SEGMENT_SIZE, "2mb"),
        ]);
        assert!(
            e.contains("'scan.binlog.spill.max-size'") && e.contains("at least"),
            "{e}"
        );
        let e = err(&[(SPILL_ENABLED, "true"), (SPILL_SEGMENT_SIZE, "1kb")]);
        assert!(e.contains("at least 4kb"), "{e}");
        let e = err(&[(SPILL_DIR, "/tmp")]);
        assert!(
            e.contains("only used with 'scan.binlog.spill.enabled'"),
            "{e}"
        );
        assert_eq!(parse_memory_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_memory_size("3 MB"), Ok(3 << 20));
    }

    #[test]
    fn errors_never_show_the_password_and_name_unknown_options() {
        let e = MySqlCdcConfig::parse(&options(&[("pasword", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Unsupported options") && e.contains("pasword") && !e.contains("secret-pw"),
            "{e}"
        );
        let e = MySqlCdcConfig::parse(&options(&[("table-name", "(")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("regular expression"), "{e}");
        let debug = format!("{:?}", MySqlCdcConfig::parse(&options(&[])).unwrap());
        assert!(
            !debug.contains("secret-pw") && debug.contains("******"),
            "{debug}"
        );
    }
}
