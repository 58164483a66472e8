//! Test support: the real MariaDB of `scripts/mariadb.sh`, started once per test process, and a
//! uniquely named database per test so tests run in parallel and repeatably.
#![allow(dead_code)]

pub mod changelog;
pub mod proxy;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use futures_util::StreamExt;
use mysql_async::binlog::events::EventData;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, OptsBuilder};

use connector_mysql_cdc::schema::TableSchema;
use connector_mysql_cdc::value::{binlog_row, BinlogImageLayout, RowNormalizer, RowValues};

/// Connection settings printed by `scripts/mariadb.sh start`.
#[derive(Debug)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub root_socket: String,
}

/// `scripts/mariadb.sh`, found from the crate up (the preview CLI's tests share this module).
fn mariadb_script() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("scripts/mariadb.sh"))
        .find(|script| script.exists())
        .unwrap_or_else(|| panic!("no scripts/mariadb.sh above {}", manifest.display()))
}

/// Starts the server (idempotent) the first time it is asked for.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = mariadb_script();
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .output()
            .expect("run scripts/mariadb.sh");
        assert!(
            out.status.success(),
            "scripts/mariadb.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        drop_stale_databases(&script);
        let var = |k: &str| {
            vars.get(k)
                .unwrap_or_else(|| panic!("mariadb.sh did not export {k}"))
                .clone()
        };
        Server {
            host: var("MYSQL_HOST"),
            port: var("MYSQL_PORT").parse().expect("MYSQL_PORT"),
            user: var("MYSQL_USER"),
            password: var("MYSQL_PASSWORD"),
            root_socket: var("MYSQL_ROOT_SOCKET"),
        }
    })
}

/// Root over the Unix socket: creates databases and writes data.
pub async fn root_conn() -> Conn {
    let s = server();
    let opts = OptsBuilder::default()
        .socket(Some(s.root_socket.clone()))
        .user(Some("root"));
    Conn::new(opts).await.expect("root connection")
}

/// The CDC user over TCP, session time zone UTC (as the snapshot reader sets it).
pub async fn cdc_conn() -> Conn {
    let s = server();
    let opts = OptsBuilder::default()
        .ip_or_hostname(s.host.clone())
        .tcp_port(s.port)
        .user(Some(s.user.clone()))
        .pass(Some(s.password.clone()))
        .prefer_socket(false)
        .init(vec!["SET time_zone = '+00:00'"]);
    Conn::new(opts).await.expect("cdc connection")
}

/// Drops `cdct_*` databases of test processes that no longer run (a failed test leaves its
/// database behind for inspection until the next run).
fn drop_stale_databases(script: &std::path::Path) {
    let sql = |statement: &str| {
        Command::new("bash")
            .arg(script)
            .args(["sql", "-N", "-e", statement])
            .output()
            .expect("mariadb.sh sql")
    };
    let listed = sql("SHOW DATABASES LIKE 'cdct\\_%'");
    for name in String::from_utf8_lossy(&listed.stdout).lines() {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                sql(&format!("DROP DATABASE IF EXISTS `{name}`"));
            }
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh database `cdct_<tag>_<pid>_<n>`; dropped by [`TestDb::drop_db`].
pub struct TestDb {
    pub name: String,
}

pub async fn test_db(tag: &str) -> TestDb {
    let name = format!(
        "cdct_{tag}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut root = root_conn().await;
    root.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .unwrap();
    root.query_drop(format!("CREATE DATABASE `{name}`"))
        .await
        .unwrap();
    root.disconnect().await.unwrap();
    TestDb { name }
}

impl TestDb {
    /// Runs statements as root in this database, in one session (zero dates allowed, UTC).
    pub async fn exec(&self, statements: &[&str]) {
        let mut root = root_conn().await;
        root.query_drop(format!("USE `{}`", self.name))
            .await
            .unwrap();
        root.query_drop("SET SESSION sql_mode = '', time_zone = '+00:00'")
            .await
            .unwrap();
        for sql in statements {
            root.query_drop(*sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        root.disconnect().await.unwrap();
    }

    pub async fn drop_db(self) {
        let mut root = root_conn().await;
        root.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .unwrap();
        root.disconnect().await.unwrap();
    }
}

/// The binlog position now (`SHOW MASTER STATUS`).
pub async fn binlog_position() -> (String, u64) {
    let mut conn = cdc_conn().await;
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .expect("binlog enabled");
    let file: String = row.get(0).unwrap();
    let pos: u64 = row.get(1).unwrap();
    conn.disconnect().await.unwrap();
    (file, pos)
}

/// What a rows event said about one row, normalized.
#[derive(Debug, PartialEq)]
pub enum Change {
    Insert(RowValues),
    Update(RowValues, RowValues),
    Delete(RowValues),
}

static SERVER_ID: AtomicU32 = AtomicU32::new(0);

/// Reads the binlog from `from` until `count` row changes of `table` were seen, normalizing each
/// image with [`binlog_row`]. Uses a throwaway server id per call.
pub async fn read_changes(table: &TableSchema, from: &(String, u64), count: usize) -> Vec<Change> {
    let mut conn = cdc_conn().await;
    conn.query_drop("SET @mariadb_slave_capability = 4")
        .await
        .unwrap();
    let server_id =
        100_000 + (std::process::id() % 10_000) * 100 + SERVER_ID.fetch_add(1, Ordering::Relaxed);
    let request = BinlogStreamRequest::new(server_id)
        .with_filename(from.0.as_bytes())
        .with_pos(from.1);
    let mut stream = conn.get_binlog_stream(request).await.unwrap();
    // Both entry points: the free function for before images, the normalizer for after images.
    let normalizer = RowNormalizer::new(table);
    let mut changes = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while changes.len() < count {
        let event = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| {
                panic!("saw only {} of {count} changes: {changes:?}", changes.len())
            })
            .expect("binlog stream ended")
            .expect("binlog event");
        let Some(EventData::RowsEvent(rows)) = event.read_data().expect("decodable event") else {
            continue;
        };
        let tme = stream
            .get_tme(rows.table_id())
            .expect("table map before rows event");
        if tme.database_name() != table.id.database || tme.table_name() != table.id.table {
            continue;
        }
        // The connector's own image decoder (what its binlog reader uses) must agree with
        // mysql_common's rows on every image.
        let layout = BinlogImageLayout::new(tme).expect("image layout");
        assert!(layout.handles(&rows), "full row images expected");
        let mut decoded = layout
            .event_rows(&rows)
            .expect("decoded images")
            .into_iter();
        for row in rows.rows(tme) {
            let (before, after) = row.expect("row image");
            let before = before.map(|r| binlog_row(table, r, tme).expect("binlog_row (before)"));
            let after = after.map(|r| {
                normalizer
                    .binlog_row(table, r, tme)
                    .expect("RowNormalizer::binlog_row")
            });
            let (fast_before, fast_after) = decoded
                .next()
                .expect("as many decoded rows as mysql_common's");
            let fast = |v: Option<Vec<_>>| {
                v.map(|v| {
                    normalizer
                        .binlog_values(table, v, layout.charsets())
                        .expect("binlog_values")
                })
            };
            assert_eq!(
                fast(fast_before),
                before,
                "before image: BinlogImageLayout vs mysql_common"
            );
            assert_eq!(
                fast(fast_after),
                after,
                "after image: BinlogImageLayout vs mysql_common"
            );
            changes.push(match (before, after) {
                (None, Some(a)) => Change::Insert(a),
                (Some(b), Some(a)) => Change::Update(b, a),
                (Some(b), None) => Change::Delete(b),
                (None, None) => panic!("row without images"),
            });
        }
        assert!(
            decoded.next().is_none(),
            "BinlogImageLayout decoded more rows than mysql_common"
        );
    }
    stream.close().await.unwrap();
    changes
}

/// A MariaDB of this test process alone (`scripts/mariadb.sh` with its own directory and port),
/// for tests that change server settings the shared server must keep. Stopped, and its directory
/// removed, when dropped (also when the test panics).
pub struct PrivateServer {
    pub dir: PathBuf,
    pub port: u16,
}

impl PrivateServer {
    /// Starts a server in a fresh directory; `extra_cnf` lines are appended to its my.cnf
    /// (`MARIADB_EXTRA_CNF`), e.g. `skip-log-bin`.
    pub fn start(tag: &str, extra_cnf: &str) -> PrivateServer {
        Self::stop_stale(tag);
        let dir =
            std::env::temp_dir().join(format!("flink-rust-mariadb-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // A port the OS says is free now; the server binds it a moment later (a tiny race that
        // would only fail the start with a clear error, never pick a server of another test).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .unwrap()
            .port();
        let server = PrivateServer { dir, port };
        server.restart(extra_cnf);
        server
    }

    /// Servers of test processes that were killed before they could stop theirs (a server
    /// holds ~100 MB): stopped and removed.
    fn stop_stale(tag: &str) {
        let prefix = format!("flink-rust-mariadb-{tag}-");
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(&prefix)
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let port = std::fs::read_to_string(entry.path().join("port"))
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                drop(PrivateServer {
                    dir: entry.path(),
                    port: port.unwrap_or(0),
                }); // stops and removes
            }
        }
    }

    /// Stops the server (if running) and starts it again on the same data with `extra_cnf`.
    pub fn restart(&self, extra_cnf: &str) {
        self.script("stop", "");
        let out = self.script("start", extra_cnf);
        let install_log = std::fs::read_to_string(self.dir.join("install.log")).unwrap_or_default();
        let error_log = std::fs::read_to_string(self.dir.join("mysqld.err")).unwrap_or_default();
        let error_log: String = error_log
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            out.status.success(),
            "private mariadb start failed: {}\ninstall.log: {install_log}\nmysqld.err (last lines, newest first): {error_log}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A clean shutdown (`SHUTDOWN`): clients see their connections closed.
    pub fn stop(&self) {
        let out = self.script("stop", "");
        assert!(
            out.status.success(),
            "private mariadb stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A crash (`kill -9`): no shutdown, connections reset; returns once the process is gone.
    pub fn kill(&self) {
        let out = self.script("kill", "");
        assert!(
            out.status.success(),
            "private mariadb kill failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server again on its data after [`Self::stop`] or [`Self::kill`].
    pub fn start_again(&self) {
        let out = self.script("start", "");
        assert!(
            out.status.success(),
            "private mariadb start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn script(&self, command: &str, extra_cnf: &str) -> std::process::Output {
        let script = mariadb_script();
        Command::new("bash")
            .arg(script)
            .arg(command)
            .env("MARIADB_DIR", &self.dir)
            .env("MARIADB_PORT", self.port.to_string())
            .env("MARIADB_EXTRA_CNF", extra_cnf)
            .output()
            .expect("run scripts/mariadb.sh")
    }

    /// Root over this server's socket.
    pub async fn root_conn(&self) -> Conn {
        let socket = self.dir.join("mysqld.sock").to_string_lossy().into_owned();
        Conn::new(
            OptsBuilder::default()
                .socket(Some(socket))
                .user(Some("root")),
        )
        .await
        .expect("root connection")
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let out = self.script("stop", "");
        if out.status.success() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "stopping the private mariadb in {} failed: {}",
                self.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A rust-mysql-cdc source over a test table of columns `id BIGINT NOT NULL, v STRING`, from
/// `options` (the private-server tests' shared shape).
pub fn id_v_source(
    options: &[(&str, &str)],
) -> rust_core::Result<Box<dyn rust_core::runtime::DynSource>> {
    use rust_core::api::SourceFactory;
    let options = rust_core::options::Options::new(
        "rust-mysql-cdc",
        options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let row_type =
        rust_core::types::RowType::parse(&["id", "v"], &["BIGINT NOT NULL", "STRING"]).unwrap();
    connector_mysql_cdc::MySqlCdcFactory.create(&options, &row_type)
}

/// Runs `f` to completion on a runtime of its own (tests are synchronous; the driver is async).
pub fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The password `scripts/mariadb.sh` gives the `flinkcdc` user.
pub const CDC_PASSWORD: &str = "flinkcdc-pw";

impl PrivateServer {
    /// Runs `statements` as root, in order; a failing one panics naming it.
    pub fn sql(&self, statements: &[impl AsRef<str>]) {
        block(async {
            let mut root = self.root_conn().await;
            for s in statements {
                let s = s.as_ref();
                root.query_drop(s)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            root.disconnect().await.unwrap();
        })
    }

    /// The rows of `query`, run as root.
    pub fn query<T: mysql_async::prelude::FromRow + Send + 'static>(&self, query: &str) -> Vec<T> {
        block(async {
            let mut root = self.root_conn().await;
            let rows: Vec<T> = root.query(query).await.unwrap();
            root.disconnect().await.unwrap();
            rows
        })
    }

    /// A preflighted rust-mysql-cdc source over `shop.<table>` (`id BIGINT NOT NULL, name STRING,
    /// score BIGINT`) on this server as `flinkcdc`, with `options` on top.
    pub fn id_name_score_source(
        &self,
        table: &str,
        options: &[(&str, &str)],
    ) -> Box<dyn rust_core::runtime::DynSource> {
        use rust_core::api::SourceFactory;
        let port = self.port.to_string();
        let base = [
            ("hostname", "127.0.0.1"),
            ("port", port.as_str()),
            ("username", "flinkcdc"),
            ("password", CDC_PASSWORD),
            ("database-name", "shop"),
            ("table-name", table),
        ];
        let options = rust_core::options::Options::new(
            "rust-mysql-cdc",
            base.iter()
                .chain(options)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let row_type = rust_core::types::RowType::parse(
            &["id", "name", "score"],
            &["BIGINT NOT NULL", "STRING", "BIGINT"],
        )
        .unwrap();
        let source = connector_mysql_cdc::MySqlCdcFactory
            .create(&options, &row_type)
            .unwrap();
        source.preflight().unwrap();
        source
    }
}

/// The message of a submission error, which must be a validation (configuration) error.
pub fn validation_message(e: rust_core::BridgeError) -> String {
    assert!(
        e.is_validation(),
        "a configuration problem is a validation error: {e}"
    );
    e.to_string()
}
