//! The source: its boundedness, enumerator and readers, and the checks run at submission.

use std::sync::Arc;

use mysql_async::prelude::Queryable;

use rust_core::api::{Boundedness, EnumeratorInit, ReaderInit, Source};
use rust_core::error::BridgeError;
use rust_core::types::RowType;
use rust_core::Result;

use crate::config::chunk_key::chunk_key_of;
use crate::config::{MySqlCdcConfig, StartupMode};
use crate::conn::connect::{binlog_end, block_on, db_error, privilege_error, Connector};
use crate::enumerator::{EnumeratorState, MySqlCdcEnumerator};
use crate::position::offset::BinlogPosition;
use crate::reader::MySqlCdcReader;
use crate::schema::discover_tables;
use crate::state::split::CdcSplit;
use crate::state::v1 as state_v1;
use crate::value::BatchBuilder;

pub struct MySqlCdcSource {
    config: Arc<MySqlCdcConfig>,
    row_type: RowType,
}

impl MySqlCdcSource {
    pub fn new(config: MySqlCdcConfig, row_type: RowType) -> Result<Self> {
        // Fails on metadata keys or column types the connector cannot produce, without a server.
        BatchBuilder::new(&row_type, &config.server_time_zone)?;
        Ok(MySqlCdcSource {
            config: Arc::new(config),
            row_type,
        })
    }
}

impl Source for MySqlCdcSource {
    type Split = CdcSplit;
    type EnumeratorState = EnumeratorState;
    type Enumerator = MySqlCdcEnumerator;
    type Reader = MySqlCdcReader;

    /// 2: the binlog split names the tables it is suspended for and ignores, and the enumerator's
    /// state holds the newly-added-tables phase (`enumerator/newly_added.rs`); `CdcSplit::BinlogSpilled`.
    /// Version 1 is read through its frozen types in `state/v1.rs`. Golden bytes of every
    /// version are in `testdata/state/` (`state/golden.rs`).
    const STATE_VERSION: u32 = 2;

    fn upgrade_split(version: u32, body: &[u8]) -> Result<CdcSplit> {
        match version {
            1 => state_v1::split(body),
            _ => Err(rust_core::state::no_upgrade(
                "split",
                version,
                Self::STATE_VERSION,
            )),
        }
    }

    fn upgrade_enumerator_state(version: u32, body: &[u8]) -> Result<EnumeratorState> {
        match version {
            1 => state_v1::enumerator_state(body),
            _ => Err(rust_core::state::no_upgrade(
                "enumerator state",
                version,
                Self::STATE_VERSION,
            )),
        }
    }

    fn boundedness(&self) -> Boundedness {
        if self.config.startup == StartupMode::Snapshot {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn row_type(&self) -> &RowType {
        &self.row_type
    }

    fn create_enumerator(
        &self,
        _init: &EnumeratorInit,
        restored: Option<EnumeratorState>,
    ) -> Result<MySqlCdcEnumerator> {
        Ok(MySqlCdcEnumerator::new(self.config.clone(), restored)
            .with_row_type(self.row_type.clone()))
    }

    fn create_reader(&self, init: &ReaderInit) -> Result<MySqlCdcReader> {
        if init.subtask_index >= self.config.server_ids.count() {
            return Err(BridgeError::validation(format!(
                "reader {} has no server id: 'server-id' = '{}-{}' gives {} ids, but the source runs {} readers; \
                 widen the range to at least the source parallelism",
                init.subtask_index,
                self.config.server_ids.start,
                self.config.server_ids.end,
                self.config.server_ids.count(),
                init.parallelism
            )));
        }
        Ok(MySqlCdcReader::new(
            self.config.clone(),
            self.row_type.clone(),
            init.subtask_index,
            init.batch_rows,
        )?
        .with_local_dir(init.local_dir()))
    }

    fn preflight(&self) -> Result<()> {
        block_on(preflight(&self.config, &self.row_type))?
    }
}

/// What can be checked before the job runs: credentials, binlog settings, privileges, tables,
/// their keys and column types, that the server ids are free, and a GTID set to start after.
///
/// Every startup mode needs the binlog, `scan.startup.mode = 'snapshot'` too: chunks are read
/// between binlog watermarks and the binlog between them is replayed into the chunk (with the
/// reader's server id), so a bounded snapshot on a server without a ROW binlog would fail only
/// once running.
async fn preflight(config: &MySqlCdcConfig, row_type: &RowType) -> Result<()> {
    if let Some(dir) = config.spill.as_ref().and_then(|s| s.dir.as_ref()) {
        // Where the job is submitted; every TaskManager creates its readers' directories there too.
        crate::binlog::spill::check_writable(dir).map_err(|e| {
            BridgeError::validation(format!(
                "Invalid value for option '{}' of 'rust-mysql-cdc': the binlog spill directory is not writable ({e}); \
                 choose a directory the TaskManagers may write, or remove the option to use Flink's io.tmp.dirs.",
                crate::config::SPILL_DIR
            ))
        })?;
    }
    let connector = Connector::new(config);
    let mut conn = connector.connect().await?;
    // The settings first: with log_bin off, SHOW MASTER STATUS is merely empty, and the
    // variables name the cause exactly.
    let vars: Vec<(String, String)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', \
             'binlog_row_metadata')",
        )
        .await
        .map_err(|e| db_error("reading the binlog settings", e))?;
    check_binlog_settings(&vars)?;
    // Not required: without column names in table maps, schema changes of captured tables fail
    // the job instead of being followed (binlog/evolution.rs). Servers before MySQL 8.0.1 / MariaDB
    // 10.5 have no such variable.
    if let Some((_, metadata)) = vars.iter().find(|(n, v)| {
        n.eq_ignore_ascii_case("binlog_row_metadata") && !v.eq_ignore_ascii_case("FULL")
    }) {
        tracing::warn!(
            binlog_row_metadata = %metadata,
            "the server's binlog_row_metadata is not FULL: binlog row events carry no column names, so a schema \
             change of a captured table will fail the job instead of being followed by column name; set \
             binlog_row_metadata=FULL (see 'Schema changes' in the rust-mysql-cdc documentation)"
        );
    }
    binlog_end(&mut conn).await?;
    check_replication_privilege(&mut conn).await?;
    check_server_ids(&mut conn, config).await?;
    if let StartupMode::SpecificGtid { start, .. } = &config.startup {
        crate::binlog::gtid_start::preflight(&mut conn, start).await?;
    }
    if let StartupMode::SpecificOffset(offset) = &config.startup {
        let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.map_err(|e| {
            privilege_error(
                e,
                "SHOW BINARY LOGS",
                "REPLICATION CLIENT (BINLOG MONITOR on MariaDB)",
            )
        })?;
        check_specific_offset(&offset.position, &logs)?;
    }
    let tables = discover_tables(&mut conn, &config.database_regex, &config.table_regex).await?;
    if tables.is_empty() {
        return Err(BridgeError::validation(format!(
            "no table matches 'database-name' = '{}' and 'table-name' = '{}' on {} (both are regular expressions \
             matched against whole names; the user needs SELECT on the tables)",
            config.database_name,
            config.table_name,
            config.address()
        )));
    }
    let builder = BatchBuilder::new(row_type, &config.server_time_zone)?
        .with_value_modes(config.debezium.value_modes);
    // A declared column some matched tables lack reads NULL in their rows, as in Flink CDC; one
    // that no matched table has is a mistake (a typo), refused with the table's columns.
    let in_some_table = |name: &str| tables.iter().any(|t| t.column_index(name).is_some());
    for table in &tables {
        if config.startup.has_snapshot() {
            chunk_key_of(table, &config.chunk_key_columns)?;
        }
        let lacks_only_columns_of_other_tables = row_type
            .columns
            .iter()
            .filter(|f| f.metadata_key().is_none() && table.column_index(&f.name).is_none())
            .all(|f| in_some_table(&f.name));
        if lacks_only_columns_of_other_tables {
            builder.binlog_mapping(table)?;
        } else {
            builder.mapping(table)?;
        }
        conn.query_drop(format!("SELECT 1 FROM {} LIMIT 0", table.id.quoted()))
            .await
            .map_err(|e| privilege_error(e, &format!("SELECT on {}", table.id), "SELECT"))?;
    }
    let _ = conn.disconnect().await;
    Ok(())
}

/// `log_bin` on, `binlog_format = ROW`, `binlog_row_image = FULL`, from `SHOW GLOBAL VARIABLES`
/// rows (name, value).
fn check_binlog_settings(vars: &[(String, String)]) -> Result<()> {
    let get = |name: &str| {
        vars.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_uppercase())
    };
    let fix =
        "set log_bin, binlog_format=ROW and binlog_row_image=FULL in the server configuration";
    if get("log_bin").as_deref() != Some("ON") {
        return Err(BridgeError::validation(format!(
            "the server's binary log is disabled (log_bin=OFF): {fix}"
        )));
    }
    if let Some(format) = get("binlog_format").filter(|f| f != "ROW") {
        return Err(BridgeError::validation(format!(
            "the server's binlog_format is {format}, not ROW: {fix}"
        )));
    }
    if let Some(image) = get("binlog_row_image").filter(|f| f != "FULL") {
        return Err(BridgeError::validation(format!(
            "the server's binlog_row_image is {image}, not FULL: {fix}"
        )));
    }
    Ok(())
}

/// A `specific-offset` start must name a binlog file the server still has (`SHOW BINARY LOGS`:
/// name, size) and a position within it; otherwise the job would start and fail at once.
fn check_specific_offset(position: &BinlogPosition, logs: &[(String, u64)]) -> Result<()> {
    const FILE: &str = "scan.startup.specific-offset.file";
    const POS: &str = "scan.startup.specific-offset.pos";
    let Some((_, size)) = logs.iter().find(|(name, _)| *name == position.file) else {
        let range = match (logs.first(), logs.last()) {
            (Some((first, _)), Some((last, _))) => format!("{first} to {last}"),
            _ => "none".to_string(),
        };
        return Err(BridgeError::validation(format!(
            "'{FILE}' = '{}' is not a binlog file the server has (it has {range}): it was purged or never \
             existed; take a file and position from SHOW MASTER STATUS or SHOW BINARY LOGS, or use another \
             'scan.startup.mode'",
            position.file
        )));
    };
    if position.pos < 4 || position.pos > *size {
        return Err(BridgeError::validation(format!(
            "'{POS}' = {} is not within binlog file '{}' ({size} bytes, events start at 4): take a position \
             from SHOW MASTER STATUS or SHOW BINLOG EVENTS",
            position.pos, position.file
        )));
    }
    Ok(())
}

/// The user must hold REPLICATION SLAVE (or ALL) to read the binlog.
async fn check_replication_privilege(conn: &mut mysql_async::Conn) -> Result<()> {
    let grants: Vec<String> = conn
        .query("SHOW GRANTS")
        .await
        .map_err(|e| db_error("reading the user's grants", e))?;
    if holds_replication_slave(&grants) {
        Ok(())
    } else {
        Err(BridgeError::validation(
            "the user lacks the REPLICATION SLAVE privilege needed to read the binlog: \
             GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user",
        ))
    }
}

/// True when a global grant (`GRANT ... ON *.* TO ...`) lists REPLICATION SLAVE (REPLICATION
/// REPLICA is its newer name) or ALL. Privileges are compared whole: MariaDB's REPLICATION SLAVE
/// ADMIN (managing replicas) contains the words but does not allow reading the binlog.
fn holds_replication_slave(grants: &[String]) -> bool {
    grants.iter().any(|grant| {
        let grant = grant.to_ascii_uppercase();
        let Some(privileges) = grant
            .strip_prefix("GRANT ")
            .and_then(|g| g.split_once(" ON *.* TO "))
            .map(|(p, _)| p)
        else {
            return false;
        };
        privileges.split(',').map(str::trim).any(|p| {
            matches!(
                p,
                "ALL" | "ALL PRIVILEGES" | "REPLICATION SLAVE" | "REPLICATION REPLICA"
            )
        })
    })
}

/// Another replica using one of our server ids would be disconnected by the server (and us with
/// it) over and over.
async fn check_server_ids(conn: &mut mysql_async::Conn, config: &MySqlCdcConfig) -> Result<()> {
    let rows: Vec<mysql_async::Row> = match conn.query("SHOW SLAVE HOSTS").await {
        Ok(rows) => rows,
        // Without REPLICATION MASTER ADMIN (MariaDB) the list is hidden: the check is advisory.
        Err(e) => {
            tracing::info!(
                "cannot check that server ids {}-{} are free ({e}); skipping",
                config.server_ids.start,
                config.server_ids.end
            );
            return Ok(());
        }
    };
    for row in rows {
        let Some(id) = row.get::<u32, _>(0) else {
            continue;
        };
        if id >= config.server_ids.start && id <= config.server_ids.end {
            return Err(BridgeError::validation(format!(
                "server id {id} (option 'server-id' = '{}-{}') is already used by another replica of {}: \
                 choose an unused range",
                config.server_ids.start,
                config.server_ids.end,
                config.address()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn replication_slave_is_read_from_global_grants_as_a_whole_privilege() {
        // MariaDB 10.11 and MySQL 8 spellings.
        assert!(holds_replication_slave(&grants(&[
            "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`"
        ])));
        assert!(holds_replication_slave(&grants(&[
            "GRANT REPLICATION REPLICA ON *.* TO `u`@`%`"
        ])));
        assert!(holds_replication_slave(&grants(&[
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"
        ])));
        // REPLICATION SLAVE ADMIN and REPLICATION MASTER ADMIN do not allow a binlog dump.
        assert!(!holds_replication_slave(&grants(&[
            "GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN ON *.* TO `u`@`%`",
            "GRANT ALL PRIVILEGES ON `shop`.* TO `u`@`%`",
        ])));
        assert!(!holds_replication_slave(&grants(&[
            "GRANT USAGE ON *.* TO `u`@`%`"
        ])));
    }

    #[test]
    fn an_unwritable_spill_directory_fails_at_submission() {
        // A path under a regular file cannot be created, for root too; the check comes before
        // any connection (nothing listens on the port).
        let file = std::env::temp_dir().join(format!("spill-not-a-dir-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let dir = file.join("spill");
        let options = rust_core::options::Options::new(
            "rust-mysql-cdc",
            [
                ("hostname", "127.0.0.1"),
                ("port", "1"),
                ("username", "u"),
                ("password", "p"),
                ("database-name", "d"),
                ("table-name", "t"),
                ("scan.binlog.spill.enabled", "true"),
                ("scan.binlog.spill.dir", dir.to_str().unwrap()),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let config = MySqlCdcConfig::parse(&options).unwrap();
        let row_type = RowType::parse(&["id"], &["BIGINT NOT NULL"]).unwrap();
        let e = block_on(preflight(&config, &row_type))
            .unwrap()
            .unwrap_err();
        let _ = std::fs::remove_file(&file);
        assert!(e.is_validation(), "{e}");
        let e = e.to_string();
        assert!(
            e.contains("'scan.binlog.spill.dir'")
                && e.contains("not writable")
                && e.contains("cannot create"),
            "{e}"
        );
    }

    #[test]
    fn a_specific_offset_must_be_in_a_binlog_file_the_server_has() {
        let logs = vec![
            ("bin.000002".to_string(), 1000),
            ("bin.000003".to_string(), 400),
        ];
        assert!(check_specific_offset(&BinlogPosition::new("bin.000003", 400), &logs).is_ok());
        let e = check_specific_offset(&BinlogPosition::new("bin.000001", 4), &logs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'bin.000001' is not a binlog file the server has (it has bin.000002 to bin.000003)"), "{e}");
        let e = check_specific_offset(&BinlogPosition::new("bin.000002", 1001), &logs)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("= 1001 is not within binlog file 'bin.000002' (1000 bytes"),
            "{e}"
        );
    }

    #[test]
    fn binlog_settings_name_the_setting_and_the_fix() {
        let vars = |bin: &str, format: &str, image: &str| {
            vec![
                ("log_bin".to_string(), bin.to_string()),
                ("binlog_format".to_string(), format.to_string()),
                ("binlog_row_image".to_string(), image.to_string()),
            ]
        };
        assert!(check_binlog_settings(&vars("ON", "ROW", "FULL")).is_ok());
        let e = check_binlog_settings(&vars("OFF", "ROW", "FULL"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("log_bin=OFF") && e.contains("set log_bin"),
            "{e}"
        );
        let e = check_binlog_settings(&vars("ON", "mixed", "FULL"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("binlog_format is MIXED, not ROW") && e.contains("binlog_format=ROW"),
            "{e}"
        );
        let e = check_binlog_settings(&vars("ON", "ROW", "noblob"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("binlog_row_image is NOBLOB, not FULL")
                && e.contains("binlog_row_image=FULL"),
            "{e}"
        );
    }
}
