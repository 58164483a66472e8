//! End-to-end tests of the connector against a real MariaDB (started by `scripts/mariadb.sh`),
//! driven by rust-core's in-process stand-in for Flink. Each test uses a database of its own.
//!
//! The central check materializes the emitted changelog by primary key and compares it with the
//! table as the server has it, while also flagging anomalies a correct changelog never has: an
//! insert of a key already present, or an update/delete of a key that is absent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use rust_core::api::{RowKind, SourceFactory};
use rust_core::options::Options;
use rust_core::runtime::DynSource;
use rust_core::testing::{Emitted, Harness};
use rust_core::types::RowType;

use crate::MySqlCdcFactory;

// The changelog check the integration tests (and the chaos runner) share.
#[path = "../tests/support/changelog.rs"]
mod changelog;
use changelog::{cell, Materialized};

// ---------------------------------------------------------------------------------------------
// The test server
// ---------------------------------------------------------------------------------------------

struct Server {
    port: u16,
    user: String,
    password: String,
    root_socket: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/mariadb.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .arg("start")
            .output()
            .expect("run scripts/mariadb.sh");
        assert!(
            out.status.success(),
            "scripts/mariadb.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.strip_prefix("export ")?
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        Server {
            port: env["MYSQL_PORT"].parse().unwrap(),
            user: env["MYSQL_USER"].clone(),
            password: env["MYSQL_PASSWORD"].clone(),
            root_socket: env["MYSQL_ROOT_SOCKET"].clone(),
        }
    })
}

/// Root over the socket, in `db_name`: how tests and their DML threads administer the server.
fn root_opts(db_name: &str) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .socket(Some(server().root_socket.clone()))
        .user(Some("root"))
        .db_name(Some(db_name.to_string()))
        .into()
}

/// A database of one test, administered as root over the socket.
struct TestDb {
    name: String,
    /// Replication client ids of this test's readers: two dumps with one id disconnect each other.
    server_ids: String,
}

impl TestDb {
    fn new(test: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // Ten ids per test, a thousand per process: test processes running at once against the
        // shared server (other checkouts, other test binaries) never share an id. Two binlog
        // readers with one id would disconnect each other on every reconnect.
        assert!(
            n < 100,
            "more than 100 TestDbs in one process: widen the server-id block"
        );
        let base = 2_000_000 + (std::process::id() % 1_000_000) * 1000 + n * 10;
        let name = format!("cdc_{test}_{}", std::process::id());
        let db = TestDb {
            name,
            server_ids: format!("{base}-{}", base + 9),
        };
        db.exec(&[
            &format!("DROP DATABASE IF EXISTS {0}", db.name),
            &format!("CREATE DATABASE {0}", db.name),
        ]);
        db
    }

    fn root_opts(&self) -> mysql_async::Opts {
        root_opts(&self.name)
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn exec(&self, statements: &[&str]) {
        let opts: mysql_async::Opts = mysql_async::OptsBuilder::default()
            .socket(Some(server().root_socket.clone()))
            .user(Some("root"))
            .into();
        self.block(async {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            conn.query_drop("USE mysql").await.unwrap();
            for s in statements {
                conn.query_drop(*s)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            conn.disconnect().await.unwrap();
        })
    }

    fn sql(&self, statements: &[&str]) {
        let qualified: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
        let opts = self.root_opts();
        self.block(async {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            for s in &qualified {
                conn.query_drop(s.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            conn.disconnect().await.unwrap();
        })
    }

    /// `SELECT id, name, score FROM table` as the materialized form: id -> "name|score".
    fn table_state(&self, table: &str) -> BTreeMap<i64, String> {
        let opts = self.root_opts();
        self.block(async {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            let rows: Vec<(i64, Option<String>, Option<i64>)> = conn
                .query(format!("SELECT id, name, score FROM {table}"))
                .await
                .unwrap();
            conn.disconnect().await.unwrap();
            rows.into_iter()
                .map(|(id, n, s)| (id, format!("{}|{}", opt(n), opt(s))))
                .collect()
        })
    }

    fn options(&self, table: &str, extra: &[(&str, &str)]) -> Options {
        let s = server();
        let port = s.port.to_string();
        let mut all = vec![
            ("hostname", "127.0.0.1"),
            ("port", port.as_str()),
            ("username", s.user.as_str()),
            ("password", s.password.as_str()),
            ("database-name", self.name.as_str()),
            ("table-name", table),
            ("server-id", self.server_ids.as_str()),
            // The harness delivers every batch in order as polled (no network between readers
            // and a sink), so the handover needs no checkpoint; one test checks that mode.
            ("scan.incremental.snapshot.handover", "immediate"),
        ];
        for (k, v) in extra {
            all.retain(|(key, _)| key != k);
            all.push((k, v));
        }
        Options::new(
            "rust-mysql-cdc",
            all.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn source(
        &self,
        table: &str,
        extra: &[(&str, &str)],
        columns: &[(&str, &str)],
    ) -> Box<dyn DynSource> {
        let source = MySqlCdcFactory
            .create(&self.options(table, extra), &row_type(columns))
            .unwrap();
        source.preflight().unwrap();
        source
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.exec(&[&format!("DROP DATABASE IF EXISTS {}", self.name)]);
        }
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "NULL".into())
}

fn row_type(columns: &[(&str, &str)]) -> RowType {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let types: Vec<&str> = columns.iter().map(|c| c.1).collect();
    RowType::parse(&names, &types).unwrap()
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "BIGINT NOT NULL"),
    ("name", "STRING"),
    ("score", "BIGINT"),
];

fn create_scores(db: &TestDb, rows: i64) {
    db.sql(&[
        "CREATE TABLE scores (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)",
        &format!("INSERT INTO scores SELECT seq, CONCAT('n', seq), seq * 10 FROM seq_1_to_{rows}"),
    ]);
}

/// Statements a DML thread has run, a one-shot signal when a count is reached, and a hold: the
/// DML thread stops at a count until released (so a test can make DML overlap a phase for sure,
/// whatever the machine's load does to either thread's speed).
#[derive(Default)]
struct Progress {
    count: AtomicUsize,
    waiter: Mutex<Option<(usize, std::sync::mpsc::Sender<()>)>>,
    hold: (Mutex<Option<usize>>, std::sync::Condvar),
}

impl Progress {
    fn started(&self, at: usize) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut waiter = self.waiter.lock().unwrap();
        if self.count() >= at {
            let _ = tx.send(());
        } else {
            *waiter = Some((at, tx));
        }
        rx
    }

    fn advance(&self, n: usize) {
        self.count.store(n, Ordering::Relaxed);
        let mut waiter = self.waiter.lock().unwrap();
        if waiter.as_ref().is_some_and(|(at, _)| n >= *at) {
            let _ = waiter.take().unwrap().1.send(());
        }
        drop(waiter);
        let (hold, released) = &self.hold;
        let _held = released
            .wait_while(hold.lock().unwrap(), |h| h.is_some_and(|at| n >= at))
            .unwrap();
    }

    /// The DML thread stops after `at` statements until [`Progress::release`].
    fn hold_at(&self, at: usize) {
        *self.hold.0.lock().unwrap() = Some(at);
    }

    fn release(&self) {
        *self.hold.0.lock().unwrap() = None;
        self.hold.1.notify_all();
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// Random single-row DML until `stop`, on its own thread and connection. Returns the statements
/// count. Keys stay in 1..=key_space; updates may change the primary key.
fn random_dml(
    db_name: String,
    seed: u64,
    key_space: i64,
    stop: Arc<AtomicBool>,
    max_statements: usize,
    progress: Arc<Progress>,
) -> std::thread::JoinHandle<usize> {
    let opts = root_opts(&db_name);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < max_statements {
                let id = rng.random_range(1..=key_space);
                let sql = match rng.random_range(0..10) {
                    0..=2 => format!("INSERT IGNORE INTO scores VALUES ({id}, 'i{n}', {})", rng.random_range(0..1000)),
                    3..=6 => format!("UPDATE scores SET score = score + 1, name = 'u{n}' WHERE id = {id}"),
                    7 => format!("UPDATE IGNORE scores SET id = {} WHERE id = {id}", rng.random_range(1..=key_space)),
                    8 => format!("DELETE FROM scores WHERE id = {id}"),
                    _ => format!(
                        "INSERT INTO scores VALUES ({id}, 'x{n}', 1) ON DUPLICATE KEY UPDATE score = score * 2"
                    ),
                };
                conn.query_drop(sql).await.unwrap();
                n += 1;
                progress.advance(n);
            }
            conn.disconnect().await.unwrap();
            n
        })
    })
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `harness` until its materialized changelog equals the table, returning the view.
fn run_until_equal(h: &mut Harness, view: &mut Materialized, db: &TestDb) -> BTreeMap<i64, String> {
    let expected = db.table_state("scores");
    let got = h
        .run_until(TIMEOUT, |emitted| {
            let mut probe = Materialized {
                rows: view.rows.clone(),
                ..Default::default()
            };
            probe.apply(emitted);
            probe.rows == expected
        })
        .unwrap_or_else(|e| panic!("{e}; expected {} rows", expected.len()));
    view.apply(&got);
    expected
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn snapshot_then_binlog_with_concurrent_dml_equals_the_table_at_every_parallelism() {
    for (parallelism, seed) in [(1u32, 11u64), (2, 22), (3, 33), (4, 44)] {
        let db = TestDb::new(&format!("concurrent_p{parallelism}"));
        create_scores(&db, 20_000);
        let source = db.source(
            "scores",
            &[("scan.incremental.snapshot.chunk.size", "500")],
            COLUMNS,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Progress::default());
        // The DML runs before the snapshot, then waits for its first chunk, then runs on while
        // the test polls no further until 20 more statements are in: the snapshot (40 chunks,
        // readers read at most 2 ahead of what Flink took) is certainly under way and far from
        // done, so chunks see changes between their watermarks however loaded the machine is.
        progress.hold_at(20);
        let dml = random_dml(
            db.name.clone(),
            seed,
            22_000,
            stop.clone(),
            3000,
            progress.clone(),
        );
        progress.started(20).recv().unwrap();
        let mut h = Harness::new(source.as_ref(), parallelism, 1024).unwrap();
        let mut view = Materialized::default();
        let mut first = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
        let at_start = progress.count();
        let overlap = progress.started(at_start + 20);
        progress.release();
        overlap.recv().unwrap();
        let snapshot_rows = first.iter().map(|b| b.rows.num_rows()).sum::<usize>();
        first.extend(
            h.run_until(TIMEOUT, |e| {
                snapshot_rows + e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 18_000
            })
            .unwrap(),
        );
        let during_snapshot = progress.count() - at_start;
        view.apply(&first);
        let statements = dml.join().unwrap();
        let expected = run_until_equal(&mut h, &mut view, &db);
        eprintln!("p{parallelism}: {statements} DML statements, {during_snapshot} during the snapshot, {} changes", view.changes);
        assert!(
            during_snapshot > 0,
            "the DML must overlap the snapshot for this test to mean anything"
        );
        assert!(
            view.anomalies.is_empty(),
            "p{parallelism}: {:?}",
            &view.anomalies[..view.anomalies.len().min(10)]
        );
        assert_eq!(view.rows, expected, "p{parallelism}");
        // Live changes after the snapshot arrive as a changelog.
        db.sql(&[
            "UPDATE scores SET score = -1 WHERE id = 5",
            "DELETE FROM scores WHERE id = 6",
            "INSERT INTO scores VALUES (100000, 'new', 7)",
        ]);
        let expected = run_until_equal(&mut h, &mut view, &db);
        assert_eq!(view.rows, expected);
        assert!(view.anomalies.is_empty(), "{:?}", view.anomalies);
        h.close().unwrap();
        stop.store(true, Ordering::Relaxed);
    }
}

/// `scan.incremental.snapshot.backfill.skip`: chunks are emitted as read, without the binlog
/// between their watermarks; the binlog phase emits their changes from the low watermark on. With
/// DML throughout the snapshot the materialized view still ends equal to the table (had the
/// chunks kept their high watermarks without the replay, the changes made while they were read
/// would be lost).
#[test]
fn a_snapshot_without_backfill_still_converges_under_concurrent_dml() {
    let db = TestDb::new("nobackfill");
    create_scores(&db, 10_000);
    let options = [
        ("scan.incremental.snapshot.chunk.size", "500"),
        ("scan.incremental.snapshot.backfill.skip", "true"),
    ];
    let source = db.source("scores", &options, COLUMNS);
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    progress.hold_at(20);
    let dml = random_dml(
        db.name.clone(),
        5,
        11_000,
        stop.clone(),
        usize::MAX,
        progress.clone(),
    );
    progress.started(20).recv().unwrap();
    let mut h = Harness::new(source.as_ref(), 2, 1024).unwrap();
    let mut view = Materialized::default();
    // The DML runs on while the rest of the snapshot is polled (readers read at most 2 chunks
    // ahead of what was taken), so chunks are read while rows change.
    let mut got = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    let at_start = progress.count();
    let overlap = progress.started(at_start + 20);
    progress.release();
    overlap.recv().unwrap();
    let first_rows = got.iter().map(|b| b.rows.num_rows()).sum::<usize>();
    got.extend(
        h.run_until(TIMEOUT, |e| {
            first_rows + e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 9_000
        })
        .unwrap(),
    );
    let during_snapshot = progress.count() - at_start;
    stop.store(true, Ordering::Relaxed);
    dml.join().unwrap();
    view.apply(&got);
    run_until_equal(&mut h, &mut view, &db);
    assert!(
        during_snapshot > 20,
        "the DML must overlap the snapshot for this test to mean anything"
    );
    // Upsert semantics converge; on MariaDB the low watermark is exact, so nothing repeats either.
    assert!(
        view.anomalies.is_empty(),
        "{:?}",
        &view.anomalies[..view.anomalies.len().min(10)]
    );
    h.close().unwrap();
}

#[test]
fn restores_from_checkpoints_in_the_snapshot_and_binlog_phases_lose_and_repeat_nothing() {
    let db = TestDb::new("restore");
    create_scores(&db, 2000);
    let source = db.source(
        "scores",
        &[("scan.incremental.snapshot.chunk.size", "150")],
        COLUMNS,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let dml = random_dml(
        db.name.clone(),
        7,
        2500,
        stop.clone(),
        3000,
        Arc::new(Progress::default()),
    );

    // Mid-snapshot checkpoint, then more progress that is lost with the "crash".
    let mut h = Harness::new(source.as_ref(), 2, 512).unwrap();
    let mut view = Materialized::default();
    let before = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 600
        })
        .unwrap();
    view.apply(&before);
    let checkpoint = h.checkpoint().unwrap();
    h.run_until(TIMEOUT, |e| {
        e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 600
    })
    .unwrap();
    h.close().unwrap();

    // Restore: what was emitted after the checkpoint is gone; the restored job re-emits it.
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 512).unwrap();
    let more = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 2000
        })
        .unwrap();
    view.apply(&more);
    stop.store(true, Ordering::Relaxed);
    dml.join().unwrap();
    run_until_equal(&mut h, &mut view, &db);
    assert!(
        view.anomalies.is_empty(),
        "after snapshot restore: {:?}",
        &view.anomalies[..view.anomalies.len().min(10)]
    );

    // Binlog-phase checkpoint: changes after it are replayed exactly once after a restore.
    let checkpoint = h.checkpoint().unwrap();
    let at_checkpoint = view.rows.clone();
    db.sql(&[
        "UPDATE scores SET score = score + 1000 WHERE id <= 50",
        "DELETE FROM scores WHERE id BETWEEN 60 AND 70",
    ]);
    run_until_equal(&mut h, &mut view, &db);
    h.close().unwrap();
    let mut view = Materialized {
        rows: at_checkpoint,
        ..Default::default()
    };
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 512).unwrap();
    db.sql(&["INSERT INTO scores VALUES (99999, 'after-restore', 1)"]);
    let expected = run_until_equal(&mut h, &mut view, &db);
    assert!(
        view.anomalies.is_empty(),
        "after binlog restore: {:?}",
        view.anomalies
    );
    assert_eq!(view.rows, expected);
    h.close().unwrap();
}

/// Distilled from chaos seeds 1018, 1036, 9071316, 9071323, 9071325 and 9071326 (issue 17): a
/// reader restored with its last chunk unread, when the enumerator has no chunk left to hand out.
/// Its first response both asks ahead for the next split and reports the chunk as restored; the
/// enumerator hears the request first, then the report, which marks the reader busy. Before the
/// fix the reader, its request still outstanding, never asked again once the chunk was out: the
/// enumerator never saw every reader idle, never handed out the binlog split, and the job
/// delivered no change again without failing.
#[test]
fn a_reader_restored_with_its_last_chunk_unread_hands_over_to_the_binlog() {
    use crate::state::split::CdcSplit;
    for parallelism in [1u32, 2] {
        let db = TestDb::new(&format!("restored_last_chunk_p{parallelism}"));
        create_scores(&db, 50);
        let source = db.source("scores", &[], COLUMNS);
        let mut h = Harness::new(source.as_ref(), parallelism, 64).unwrap();
        // One round: reader 0 asks, gets the table's only chunk and asks ahead for the next.
        h.poll_all().unwrap();
        let checkpoint = h.checkpoint().unwrap();
        let held: Vec<CdcSplit> = checkpoint.readers[0]
            .iter()
            .map(|s| {
                rust_core::state::decode(
                    "split",
                    <crate::MySqlCdcSource as rust_core::api::Source>::STATE_VERSION,
                    &s.state,
                )
                .unwrap()
            })
            .collect();
        assert!(
            matches!(held.as_slice(), [CdcSplit::Snapshot(c)] if c.high_watermark.is_none()),
            "p{parallelism}: the checkpoint must hold the only chunk unread: {held:?}"
        );
        drop(h);

        let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
        let mut view = Materialized::default();
        view.apply(
            &h.run_until(TIMEOUT, |e| {
                e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 50
            })
            .unwrap(),
        );
        db.sql(&[
            "UPDATE scores SET score = -1 WHERE id = 5",
            "DELETE FROM scores WHERE id = 6",
        ]);
        let expected = db.table_state("scores");
        let live = h.run_until(Duration::from_secs(30), |e| {
            let mut probe = Materialized {
                rows: view.rows.clone(),
                ..Default::default()
            };
            probe.apply(e);
            probe.rows == expected
        });
        let live = live.unwrap_or_else(|e| {
            panic!("p{parallelism}: the changes after the snapshot never came: {e}")
        });
        view.apply(&live);
        assert!(
            view.anomalies.is_empty(),
            "p{parallelism}: {:?}",
            view.anomalies
        );
        h.close().unwrap();
    }
}

#[test]
fn bounded_snapshot_mode_reads_the_table_once_and_ends() {
    let db = TestDb::new("bounded");
    create_scores(&db, 1234);
    let source = db.source(
        "scores",
        &[
            ("scan.startup.mode", "snapshot"),
            ("scan.incremental.snapshot.chunk.size", "100"),
        ],
        COLUMNS,
    );
    assert_eq!(source.boundedness(), rust_core::api::Boundedness::Bounded);
    let mut h = Harness::new(source.as_ref(), 3, 4096).unwrap();
    let emitted = h.run_until(TIMEOUT, |_| false).unwrap();
    assert!(h.all_ended());
    let mut view = Materialized::default();
    view.apply(&emitted);
    assert!(view.anomalies.is_empty(), "{:?}", view.anomalies);
    assert_eq!(view.changes, 1234, "every row exactly once");
    assert_eq!(view.rows, db.table_state("scores"));
    // Readers on every subtask took chunks.
    let subtasks: std::collections::BTreeSet<u32> = emitted.iter().map(|e| e.subtask).collect();
    assert_eq!(subtasks.len(), 3, "{subtasks:?}");
    h.close().unwrap();
}

/// A reader holds the next chunk while Flink emits the last one: the worker reads on instead of
/// waiting for Flink to take the chunk and for the enumerator to answer a request (in a job at
/// parallelism 1 that wait made the reader and Flink's task thread take turns).
#[test]
fn a_reader_holds_the_next_chunk_while_the_last_one_is_emitted() {
    use crate::state::split::CdcSplit;
    let db = TestDb::new("inflight");
    create_scores(&db, 1234);
    let source = db.source(
        "scores",
        &[
            ("scan.startup.mode", "snapshot"),
            ("scan.incremental.snapshot.chunk.size", "100"),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 4096).unwrap();
    let mut emitted = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    let checkpoint = h.checkpoint().unwrap();
    let splits: Vec<CdcSplit> = checkpoint.readers[0]
        .iter()
        .map(|s| {
            rust_core::state::decode(
                "split",
                <crate::MySqlCdcSource as rust_core::api::Source>::STATE_VERSION,
                &s.state,
            )
            .unwrap()
        })
        .collect();
    let unread: Vec<u64> = splits
        .iter()
        .filter_map(|s| match s {
            CdcSplit::Snapshot(c) if c.high_watermark.is_none() => Some(c.id),
            _ => None,
        })
        .collect();
    // 13 chunks: after the first is out, the reader holds the one it reads and the next.
    assert_eq!(
        unread.len(),
        2,
        "chunks held but not emitted: {unread:?} (state {splits:?})"
    );
    emitted.extend(h.run_until(TIMEOUT, |_| false).unwrap());
    let mut view = Materialized::default();
    view.apply(&emitted);
    assert!(view.anomalies.is_empty(), "{:?}", view.anomalies);
    assert_eq!(view.changes, 1234, "every row exactly once");
    h.close().unwrap();
}

#[test]
fn uneven_and_string_keys_and_tables_without_keys() {
    let db = TestDb::new("keys");
    db.sql(&[
        // Sparse numeric keys: split by queries, not arithmetic.
        "CREATE TABLE sparse (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
        "INSERT INTO sparse SELECT seq * seq * 1000, 'x', seq FROM seq_1_to_500",
        "CREATE TABLE strkey (code VARCHAR(20) PRIMARY KEY, score BIGINT)",
        "INSERT INTO strkey SELECT CONCAT('k', LPAD(seq, 5, '0')), seq FROM seq_1_to_700",
        "CREATE TABLE nokey (id BIGINT, score BIGINT)",
        "INSERT INTO nokey SELECT seq, seq FROM seq_1_to_10",
        "CREATE TABLE empty (id INT PRIMARY KEY, score BIGINT)",
    ]);
    let bounded = [
        ("scan.startup.mode", "snapshot"),
        ("scan.incremental.snapshot.chunk.size", "64"),
    ];
    let count = |table: &str, columns: &[(&str, &str)], extra: &[(&str, &str)]| -> usize {
        let mut opts: Vec<(&str, &str)> = bounded.to_vec();
        opts.extend_from_slice(extra);
        let source = db.source(table, &opts, columns);
        let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();
        let emitted = h.run_until(TIMEOUT, |_| false).unwrap();
        h.close().unwrap();
        emitted.iter().map(|e| e.rows.num_rows()).sum()
    };
    assert_eq!(
        count("sparse", &[("id", "BIGINT"), ("score", "BIGINT")], &[]),
        500
    );
    assert_eq!(
        count("strkey", &[("code", "STRING"), ("score", "BIGINT")], &[]),
        700
    );
    assert_eq!(
        count("empty", &[("id", "INT"), ("score", "BIGINT")], &[]),
        0
    );
    assert_eq!(
        count(
            "nokey",
            &[("id", "BIGINT"), ("score", "BIGINT")],
            &[("scan.incremental.snapshot.chunk.key-column", "id")]
        ),
        10
    );
    // Without a key and without the option: a clear error at submission.
    let source = MySqlCdcFactory
        .create(
            &db.options("nokey", &bounded),
            &row_type(&[("id", "BIGINT")]),
        )
        .unwrap();
    let e = source.preflight().unwrap_err().to_string();
    assert!(
        e.contains("no primary key") && e.contains("scan.incremental.snapshot.chunk.key-column"),
        "{e}"
    );
    // Flink CDC's per-table form: the keyless table by its entry (the database part a regex),
    // the others by their primary keys.
    let per_table = "cdc_keys_[0-9]+.nokey:id;other_db.sparse:score";
    let columns = [("id", "BIGINT"), ("score", "BIGINT")];
    assert_eq!(
        count(
            "nokey|sparse",
            &columns,
            &[("scan.incremental.snapshot.chunk.key-column", per_table)]
        ),
        510
    );
    // A column the matched table lacks: refused at submission, naming the table and the column.
    let entry = format!("{}.nokey:ident", db.name);
    let bad = [
        bounded.as_slice(),
        &[("scan.incremental.snapshot.chunk.key-column", entry.as_str())],
    ]
    .concat();
    let source = MySqlCdcFactory
        .create(&db.options("nokey", &bad), &row_type(&[("id", "BIGINT")]))
        .unwrap();
    let e = source.preflight().unwrap_err().to_string();
    assert!(
        e.contains(&format!("table {}.nokey has no such column", db.name))
            && e.contains("column 'ident'"),
        "{e}"
    );
}

#[test]
fn even_keys_are_cut_arithmetically_from_the_row_estimate_and_sparse_keys_by_queries() {
    use crate::schema::{load_table, TableId};
    use crate::snapshot::chunk::{SplitSettings, TableSplitter};
    use crate::state::split::KeyValue;
    let db = TestDb::new("plan");
    db.sql(&[
        "CREATE TABLE dense (id BIGINT PRIMARY KEY, score BIGINT)",
        "INSERT INTO dense SELECT seq, seq FROM seq_1_to_5000",
        "CREATE TABLE sparse (id BIGINT PRIMARY KEY, score BIGINT)",
        "INSERT INTO sparse SELECT seq * seq, seq FROM seq_1_to_100",
    ]);
    let chunk_ends = |table: &str, settings: SplitSettings| -> Vec<Option<KeyValue>> {
        db.block(async {
            let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
            let schema = load_table(&mut conn, &TableId::new(db.name.clone(), table))
                .await
                .unwrap()
                .unwrap();
            let mut splitter = TableSplitter::default();
            let mut ends = Vec::new();
            while !splitter.done {
                let chunks = splitter
                    .next_chunks(&mut conn, &schema, "id", settings, 3)
                    .await
                    .unwrap();
                ends.extend(chunks.into_iter().map(|c| c.end));
            }
            conn.disconnect().await.unwrap();
            ends
        })
    };
    let settings = SplitSettings {
        chunk_size: 500,
        even_lower: 0.05,
        even_upper: 100.0,
    };
    // 5,000 keys over about 5,000 estimated rows: factor 1, steps of 500 keys from MIN (1).
    // Query-cut chunks would end at the largest of the next 500 keys instead: 500, 999, ...
    let expected: Vec<Option<KeyValue>> = (1..10)
        .map(|i| Some(KeyValue::Int(1 + 500 * i)))
        .chain(std::iter::once(None))
        .collect();
    assert_eq!(chunk_ends("dense", settings), expected);
    // Keys 1, 4, 9, ... 10,000 over 100 rows (factor 100): one chunk whichever way it is cut.
    assert_eq!(chunk_ends("sparse", settings), vec![None]);
    // With a bound of 10 and chunks of 30 rows the keys are queried: each chunk ends at the
    // largest of the next 30 keys (30², 59², 88²), and the last one, which reaches MAX, is open.
    let narrow = SplitSettings {
        chunk_size: 30,
        even_upper: 10.0,
        ..settings
    };
    assert_eq!(
        chunk_ends("sparse", narrow),
        vec![
            Some(KeyValue::Int(900)),
            Some(KeyValue::Int(3481)),
            Some(KeyValue::Int(7744)),
            None
        ]
    );
}

#[test]
fn many_tables_one_source_with_metadata_columns() {
    let db = TestDb::new("multi");
    db.sql(&[
        "CREATE TABLE orders_1 (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
        "CREATE TABLE orders_2 (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
        "CREATE TABLE other (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
        "INSERT INTO orders_1 VALUES (1, 'a', 1), (2, 'b', 2)",
        "INSERT INTO orders_2 VALUES (3, 'c', 3)",
        "INSERT INTO other VALUES (9, 'z', 9)",
    ]);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("name", "STRING"),
        ("__metadata.table_name", "STRING NOT NULL"),
        ("__metadata.row_kind", "STRING NOT NULL"),
        (
            "__metadata.op_ts",
            "TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL",
        ),
    ];
    let source = db.source("orders_[0-9]+", &[], &columns);
    let mut h = Harness::new(source.as_ref(), 2, 1024).unwrap();
    let rendered = |emitted: &[Emitted]| -> Vec<String> {
        let mut out = Vec::new();
        for e in emitted {
            for r in 0..e.rows.num_rows() {
                out.push(
                    (0..4)
                        .map(|c| cell(&e.rows, c, r))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
        }
        out
    };
    let snapshot = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 3
        })
        .unwrap();
    let mut got = rendered(&snapshot);
    got.sort();
    assert_eq!(
        got,
        ["1,a,orders_1,+I", "2,b,orders_1,+I", "3,c,orders_2,+I"]
    );
    for e in &snapshot {
        for r in 0..e.rows.num_rows() {
            assert_eq!(
                cell(&e.rows, 4, r),
                "0",
                "snapshot rows have op_ts 0, as in Flink CDC"
            );
        }
    }
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        * 1000;
    db.sql(&[
        "UPDATE orders_2 SET name = 'C' WHERE id = 3",
        "INSERT INTO other VALUES (10, 'not captured', 1)",
        "DELETE FROM orders_1 WHERE id = 1",
    ]);
    let live = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 3
        })
        .unwrap();
    assert_eq!(
        rendered(&live),
        ["3,c,orders_2,-U", "3,C,orders_2,+U", "1,a,orders_1,-D"]
    );
    for e in &live {
        for r in 0..e.rows.num_rows() {
            let ts: i64 = cell(&e.rows, 4, r).parse().unwrap();
            assert!(
                ts >= before - 1000 && ts < before + 60_000,
                "op_ts {ts} vs {before}"
            );
        }
    }
    h.close().unwrap();
}

#[test]
fn a_declared_column_some_matched_tables_lack_reads_null_in_their_rows() {
    let db = TestDb::new("absent");
    db.sql(&[
        "CREATE TABLE parts_1 (id BIGINT PRIMARY KEY, name VARCHAR(20), score BIGINT)",
        "CREATE TABLE parts_2 (id BIGINT PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO parts_1 VALUES (1, 'a', 10)",
        "INSERT INTO parts_2 VALUES (2, 'b')",
    ]);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("name", "STRING"),
        ("score", "BIGINT"),
        ("__metadata.table_name", "STRING NOT NULL"),
    ];
    let source = db.source(
        "parts_[0-9]",
        &[("scan.incremental.snapshot.chunk.size", "1")],
        &columns,
    );
    source.preflight().unwrap();
    let mut h = Harness::new(source.as_ref(), 2, 1024).unwrap();
    let rendered = |emitted: &[Emitted]| -> Vec<String> {
        let mut out = Vec::new();
        for e in emitted {
            for r in 0..e.rows.num_rows() {
                let row = (0..4)
                    .map(|c| cell(&e.rows, c, r))
                    .collect::<Vec<_>>()
                    .join(",");
                out.push(format!("{:?} {row}", e.kinds[r]));
            }
        }
        out
    };
    let snapshot = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 2
        })
        .unwrap();
    let mut got = rendered(&snapshot);
    got.sort();
    assert_eq!(got, ["Insert 1,a,10,parts_1", "Insert 2,b,NULL,parts_2"]);
    db.sql(&[
        "INSERT INTO parts_2 VALUES (3, 'c')",
        "UPDATE parts_2 SET name = 'B' WHERE id = 2",
        "UPDATE parts_1 SET score = 11 WHERE id = 1",
        "DELETE FROM parts_2 WHERE id = 3",
    ]);
    let live = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= 6
        })
        .unwrap();
    assert_eq!(
        rendered(&live),
        [
            "Insert 3,c,NULL,parts_2",
            "UpdateBefore 2,b,NULL,parts_2",
            "UpdateAfter 2,B,NULL,parts_2",
            "UpdateBefore 1,a,10,parts_1",
            "UpdateAfter 1,a,11,parts_1",
            "Delete 3,c,NULL,parts_2",
        ]
    );
    h.close().unwrap();

    // A column no matched table has is a typo, refused naming the columns there are; one some
    // tables lack must be nullable, since it reads NULL in their rows.
    let refused = |columns: &[(&str, &str)]| {
        MySqlCdcFactory
            .create(&db.options("parts_[0-9]", &[]), &row_type(columns))
            .unwrap()
            .preflight()
            .unwrap_err()
            .to_string()
    };
    let e = refused(&[("id", "BIGINT NOT NULL"), ("scroe", "BIGINT")]);
    assert!(
        e.contains("column 'scroe' of the Flink table does not exist")
            && e.contains("its columns: id, name"),
        "{e}"
    );
    let e = refused(&[("id", "BIGINT NOT NULL"), ("score", "BIGINT NOT NULL")]);
    assert!(
        e.contains("column 'score' of the Flink table does not exist in MySQL table")
            && e.contains("declare it nullable"),
        "{e}"
    );
}

#[test]
fn bad_input_fails_at_submission_with_the_cause_and_the_fix() {
    let db = TestDb::new("bad_input");
    create_scores(&db, 1);
    let err = |table: &str, extra: &[(&str, &str)]| -> String {
        let source = MySqlCdcFactory
            .create(&db.options(table, extra), &row_type(COLUMNS))
            .unwrap();
        let e = source.preflight().unwrap_err();
        assert!(e.is_validation(), "{e}");
        e.to_string()
    };
    let e = err("scores", &[("password", "wrong-password")]);
    assert!(
        e.contains("Access denied") && e.contains("'password'") && !e.contains("wrong-password"),
        "{e}"
    );
    let e = err("scores", &[("port", "1"), ("connect.max-retries", "1")]);
    assert!(
        e.contains("cannot connect to 127.0.0.1:1") && e.contains("'port'"),
        "{e}"
    );
    let e = err("nope", &[]);
    assert!(
        e.contains("no table matches") && e.contains("'nope'"),
        "{e}"
    );
    // A binlog offset in a file the server no longer has (purged): refused at submission
    // (tests/hostile.rs), and, should it be purged after, a clear error on resume.
    let purged = [
        ("scan.startup.mode", "specific-offset"),
        ("scan.startup.specific-offset.file", "bin.000000"),
        ("scan.startup.specific-offset.pos", "4"),
    ];
    let e = err("scores", &purged);
    assert!(
        e.contains("'bin.000000' is not a binlog file the server has"),
        "{e}"
    );
    let source = MySqlCdcFactory
        .create(&db.options("scores", &purged), &row_type(COLUMNS))
        .unwrap();
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let e = h.run_until(TIMEOUT, |_| false).unwrap_err().to_string();
    assert!(
        e.contains("no longer has binlog file 'bin.000000'") && e.contains("purged"),
        "{e}"
    );
    h.close().unwrap();
    // A declared column the table lacks.
    let source = MySqlCdcFactory
        .create(
            &db.options("scores", &[]),
            &row_type(&[("id", "BIGINT"), ("missing", "STRING")]),
        )
        .unwrap();
    let e = source.preflight().unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
    // A server id another replica (here: a binlog connection of ours) already uses.
    let busy = db.source("scores", &[("scan.startup.mode", "latest-offset")], COLUMNS);
    let mut h = Harness::new(busy.as_ref(), 1, 64).unwrap();
    h.poll_all().unwrap();
    let first_id: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let e = loop {
        // The reader registers with the server on its own thread: wait until it shows.
        let source = MySqlCdcFactory
            .create(&db.options("scores", &[]), &row_type(COLUMNS))
            .unwrap();
        match source.preflight() {
            Err(e) => break e.to_string(),
            Ok(()) if std::time::Instant::now() < deadline => {
                h.run_until(Duration::from_millis(50), |_| false).ok();
            }
            Ok(()) => panic!("server id {first_id} in use was not detected"),
        }
    };
    assert!(
        e.contains(&format!("server id {first_id}")) && e.contains("already used"),
        "{e}"
    );
    h.close().unwrap();
}

/// Current end of the binlog, as the server reports it.
fn master_status(db: &TestDb) -> (String, u64) {
    let opts = db.root_opts();
    db.block(async {
        let mut conn = mysql_async::Conn::new(opts).await.unwrap();
        let row: mysql_async::Row = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .unwrap()
            .unwrap();
        conn.disconnect().await.unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap())
    })
}

fn ids(emitted: &[Emitted]) -> Vec<(RowKind, i64)> {
    emitted
        .iter()
        .flat_map(|e| {
            (0..e.rows.num_rows()).map(move |r| (e.kinds[r], cell(&e.rows, 0, r).parse().unwrap()))
        })
        .collect()
}

/// `debezium.skipped.operations`: the binlog phase leaves out the skipped kinds; the snapshot
/// reads every row; other `debezium.*` keys are accepted.
#[test]
fn skipped_operations_leave_those_binlog_changes_out() {
    let db = TestDb::new("skipped_ops");
    create_scores(&db, 3);
    let options = [
        ("debezium.skipped.operations", "d,u"),
        ("debezium.snapshot.locking.mode", "none"),
    ];
    let source = db.source("scores", &options, COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let snapshot = h.run_until(TIMEOUT, |e| ids(e).len() >= 3).unwrap();
    assert_eq!(
        ids(&snapshot),
        [
            (RowKind::Insert, 1),
            (RowKind::Insert, 2),
            (RowKind::Insert, 3)
        ]
    );
    db.sql(&[
        "DELETE FROM scores WHERE id = 1",
        "UPDATE scores SET score = 0 WHERE id = 2",
        "INSERT INTO scores VALUES (4, 'kept', 1)",
        "UPDATE scores SET score = 1 WHERE id = 4",
        "INSERT INTO scores VALUES (5, 'last', 1)",
    ]);
    let got = h
        .run_until(TIMEOUT, |e| ids(e).iter().any(|(_, id)| *id == 5))
        .unwrap();
    assert_eq!(ids(&got), [(RowKind::Insert, 4), (RowKind::Insert, 5)]);
    h.close().unwrap();
}

/// `scan.read-changelog-as-append-only.enabled`: every change is `+I`; `row_kind` keeps its kind.
#[test]
fn an_append_only_changelog_emits_every_change_as_an_insert() {
    let db = TestDb::new("append_only");
    create_scores(&db, 2);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("name", "STRING"),
        ("__metadata.row_kind", "STRING NOT NULL"),
    ];
    let source = db.source(
        "scores",
        &[("scan.read-changelog-as-append-only.enabled", "true")],
        &columns,
    );
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    db.sql(&[
        "UPDATE scores SET name = 'u' WHERE id = 1",
        "DELETE FROM scores WHERE id = 2",
        "UPDATE scores SET id = 3 WHERE id = 1",
    ]);
    let got = h.run_until(TIMEOUT, |e| ids(e).len() >= 5).unwrap();
    let rendered: Vec<String> = got
        .iter()
        .flat_map(|e| {
            (0..e.rows.num_rows()).map(move |r| {
                format!(
                    "{:?} {}",
                    e.kinds[r],
                    (0..3)
                        .map(|c| cell(&e.rows, c, r))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
        })
        .collect();
    assert_eq!(
        rendered,
        [
            "Insert 1,n1,-U",
            "Insert 1,u,+U",
            "Insert 2,n2,-D",
            "Insert 1,u,-D",
            "Insert 3,u,+I",
        ]
    );
    h.close().unwrap();
}

#[test]
fn startup_modes_without_a_snapshot_start_where_asked() {
    let db = TestDb::new("startup");
    create_scores(&db, 10);
    let (file, pos) = master_status(&db);
    db.sql(&["INSERT INTO scores VALUES (11, 'after-offset', 1)"]);

    // latest-offset: nothing of the table's past, only what happens after the start.
    let source = db.source("scores", &[("scan.startup.mode", "latest-offset")], COLUMNS);
    let mut h = Harness::new(source.as_ref(), 2, 64).unwrap();
    db.sql(&[
        "INSERT INTO scores VALUES (12, 'live', 1)",
        "DELETE FROM scores WHERE id = 1",
    ]);
    let got = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(ids(&got), [(RowKind::Insert, 12), (RowKind::Delete, 1)]);
    h.close().unwrap();

    // Each stage below uses server ids the stages before it did not: a closed reader's dump
    // thread leaves the server's replica list some time after it was killed, and the preflight
    // would see its id taken.
    let first: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    let (ids_2, ids_3) = (
        format!("{}-{}", first + 4, first + 6),
        format!("{}-{}", first + 7, first + 9),
    );

    // specific-offset: everything from the given position on, in order.
    let pos = pos.to_string();
    let source = db.source(
        "scores",
        &[
            ("scan.startup.mode", "specific-offset"),
            ("scan.startup.specific-offset.file", file.as_str()),
            ("scan.startup.specific-offset.pos", pos.as_str()),
            ("server-id", ids_2.as_str()),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let got = h.run_until(TIMEOUT, |e| ids(e).len() >= 3).unwrap();
    assert_eq!(
        ids(&got),
        [
            (RowKind::Insert, 11),
            (RowKind::Insert, 12),
            (RowKind::Delete, 1)
        ]
    );
    h.close().unwrap();

    // earliest-offset: from the oldest binlog file, so the table's creation and first inserts too.
    let source = db.source(
        "scores",
        &[
            ("scan.startup.mode", "earliest-offset"),
            ("server-id", ids_3.as_str()),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 4096).unwrap();
    let got = h
        .run_until(TIMEOUT, |e| {
            ids(e)
                .iter()
                .any(|(k, id)| *k == RowKind::Delete && *id == 1)
        })
        .unwrap();
    let inserted: Vec<i64> = ids(&got)
        .into_iter()
        .filter(|(k, _)| *k == RowKind::Insert)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(inserted, (1..=12).collect::<Vec<_>>());
    h.close().unwrap();
}

/// `skip-events` and `skip-rows` as Flink CDC (Debezium) counts them: the first events of the
/// transaction at the offset, from its BEGIN (MariaDB: its GTID event) on, then rows of the next
/// row event.
#[test]
fn specific_offset_skip_events_skips_the_first_events_of_the_transaction_there() {
    let db = TestDb::new("skipev");
    create_scores(&db, 1);
    let (file, from) = master_status(&db);
    db.sql(&[
        "BEGIN",
        "INSERT INTO scores VALUES (101, 'a', 1), (102, 'a', 1)",
        "INSERT INTO scores VALUES (103, 'b', 1), (104, 'b', 1), (105, 'b', 1)",
        "COMMIT",
        "INSERT INTO scores VALUES (106, 'c', 1)",
    ]);
    // The shared server's other tests may write too: find our transaction's GTID event and count
    // the events up to its first row event (annotate and table-map events included) from SHOW
    // BINLOG EVENTS (type, position, info).
    let events: Vec<(String, u64, String)> = db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        let rows: Vec<mysql_async::Row> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{file}' FROM {from}"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        rows.into_iter()
            .map(|r| {
                (
                    r.get::<String, _>(2).unwrap(),
                    r.get::<u64, _>(1).unwrap(),
                    r.get::<String, _>(5).unwrap(),
                )
            })
            .collect()
    });
    let ours = events
        .iter()
        .position(|(_, _, info)| info.contains("(101, 'a', 1)"))
        .expect("our insert in the binlog");
    let begin = events[..ours]
        .iter()
        .rposition(|(kind, _, _)| kind == "Gtid")
        .expect("its GTID event");
    let first_rows = ours
        + events[ours..]
            .iter()
            .position(|(kind, _, _)| kind.starts_with("Write_rows"))
            .unwrap();
    let skip_events = (first_rows - begin + 1).to_string();
    let pos = events[begin].1.to_string();
    let source = db.source(
        "scores",
        &[
            ("scan.startup.mode", "specific-offset"),
            ("scan.startup.specific-offset.file", file.as_str()),
            ("scan.startup.specific-offset.pos", pos.as_str()),
            (
                "scan.startup.specific-offset.skip-events",
                skip_events.as_str(),
            ),
            ("scan.startup.specific-offset.skip-rows", "1"),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let got = h
        .run_until(TIMEOUT, |e| ids(e).iter().any(|(_, id)| *id == 106))
        .unwrap();
    // The first statement's row event is skipped whole, then one row of the second.
    assert_eq!(
        ids(&got),
        [
            (RowKind::Insert, 104),
            (RowKind::Insert, 105),
            (RowKind::Insert, 106)
        ]
    );
    h.close().unwrap();
}

/// `debezium.binary.handling.mode` and `debezium.decimal.handling.mode`: binary columns declared
/// STRING hold base64 text, DECIMAL columns declared DOUBLE the nearest double, in the snapshot
/// and the binlog alike; without the modes those declarations are refused at submission.
#[test]
fn debezium_handling_modes_read_binary_as_text_and_decimals_as_doubles() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let db = TestDb::new("handling");
    db.sql(&[
        "CREATE TABLE h (id BIGINT PRIMARY KEY, bin VARBINARY(8), fixed BINARY(3), amount DECIMAL(10,3))",
        "INSERT INTO h VALUES (1, 0xfbff00, 0x4142, 12.345)",
    ]);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("bin", "STRING"),
        ("fixed", "STRING"),
        ("amount", "DOUBLE"),
    ];
    let refused = MySqlCdcFactory
        .create(&db.options("h", &[]), &row_type(&columns))
        .unwrap()
        .preflight()
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("'bin'") && refused.contains("BYTES"),
        "{refused}"
    );
    let modes = [
        ("debezium.binary.handling.mode", "base64-url-safe"),
        ("debezium.decimal.handling.mode", "double"),
    ];
    let source = db.source("h", &modes, &columns);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut got = h.run_until(TIMEOUT, |e| !ids(e).is_empty()).unwrap();
    db.sql(&["INSERT INTO h VALUES (2, 0x00, NULL, -0.5)"]);
    got.extend(h.run_until(TIMEOUT, |e| !ids(e).is_empty()).unwrap());
    h.close().unwrap();
    let rows: Vec<(String, String, String, f64)> = got
        .iter()
        .flat_map(|e| {
            (0..e.rows.num_rows()).map(move |r| {
                let amount = e.rows.column(3).as_primitive::<Float64Type>().value(r);
                (
                    cell(&e.rows, 0, r),
                    cell(&e.rows, 1, r),
                    cell(&e.rows, 2, r),
                    amount,
                )
            })
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "1".to_string(),
                "-_8A".to_string(),
                "QUIA".to_string(),
                12.345
            ),
            (
                "2".to_string(),
                "AA==".to_string(),
                "NULL".to_string(),
                -0.5
            )
        ]
    );
}

#[test]
fn composite_keys_wide_rows_and_primary_key_changes() {
    let db = TestDb::new("wide");
    db.sql(&[
        "CREATE TABLE wide (region VARCHAR(8), id BIGINT, body LONGTEXT, PRIMARY KEY (id, region))",
        "INSERT INTO wide SELECT IF(seq % 2 = 0, 'eu', 'us'), seq, REPEAT(CHAR(65 + seq % 26), 200000) FROM seq_1_to_40",
    ]);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("region", "STRING NOT NULL"),
        ("body", "STRING"),
    ];
    let source = db.source(
        "wide",
        &[("scan.incremental.snapshot.chunk.size", "7")],
        &columns,
    );
    let mut h = Harness::new(source.as_ref(), 2, 16).unwrap();
    let snapshot = h.run_until(TIMEOUT, |e| ids(e).len() >= 40).unwrap();
    let mut keys: Vec<i64> = ids(&snapshot).into_iter().map(|(_, id)| id).collect();
    keys.sort();
    assert_eq!(keys, (1..=40).collect::<Vec<_>>());
    for e in &snapshot {
        for r in 0..e.rows.num_rows() {
            let id: i64 = cell(&e.rows, 0, r).parse().unwrap();
            let body = cell(&e.rows, 2, r);
            assert_eq!(body.len(), 200_000);
            assert!(
                body.bytes().all(|b| b == b'A' + (id % 26) as u8),
                "row {id}"
            );
        }
    }
    // A primary-key change is -D of the old key and +I of the new one, as Flink CDC emits it: a
    // -U/+U pair carries one key (upsert sinks drop the -U and would keep key 3 forever).
    db.sql(&["UPDATE wide SET id = 1000, region = 'ap' WHERE id = 3"]);
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(ids(&live), [(RowKind::Delete, 3), (RowKind::Insert, 1000)]);
    assert_eq!(regions(&live), ["us", "ap"]);
    // One column of the composite key (id, region) changes: still another key, so -D/+I.
    db.sql(&["UPDATE wide SET region = 'ap' WHERE id = 4"]);
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(ids(&live), [(RowKind::Delete, 4), (RowKind::Insert, 4)]);
    assert_eq!(regions(&live), ["eu", "ap"]);
    // Neither key column changes: an update of the key, -U/+U.
    db.sql(&["UPDATE wide SET body = 'short' WHERE id = 5"]);
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(
        ids(&live),
        [(RowKind::UpdateBefore, 5), (RowKind::UpdateAfter, 5)]
    );
    assert_eq!(cell(&live[0].rows, 2, live[0].rows.num_rows() - 1), "short");
    // A key set to the value it has is no key change: MariaDB logs the row (full images) with
    // both images equal.
    db.sql(&["UPDATE wide SET id = 6, region = 'eu', body = 'same-key' WHERE id = 6"]);
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(
        ids(&live),
        [(RowKind::UpdateBefore, 6), (RowKind::UpdateAfter, 6)]
    );
    // One statement changing the keys of several rows (one rows event): a -D/+I pair per row.
    db.sql(&["UPDATE wide SET id = id + 2000 WHERE id IN (7, 8)"]);
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 4).unwrap();
    assert_eq!(
        ids(&live),
        [
            (RowKind::Delete, 7),
            (RowKind::Insert, 2007),
            (RowKind::Delete, 8),
            (RowKind::Insert, 2008)
        ]
    );
    h.close().unwrap();
}

/// The `region` column (1) of each emitted row of `composite_keys_wide_rows_and_primary_key_changes`.
fn regions(emitted: &[Emitted]) -> Vec<String> {
    emitted
        .iter()
        .flat_map(|e| (0..e.rows.num_rows()).map(move |r| cell(&e.rows, 1, r)))
        .collect()
}

/// A chunk's binlog replay (snapshot/mod.rs) applies primary-key changes made between its watermarks:
/// the old key leaves the chunk and the new key enters it when in the chunk's range, also when
/// one column of a composite key changes. Snapshot chunks are emitted as `+I` rows only, so this
/// is all a key change during a chunk's window does to its output; the binlog phase emits the
/// change itself (`-D`/`+I`, each image filtered by its own chunk's watermark).
#[test]
fn a_chunk_replay_moves_rows_whose_primary_key_changed() {
    use crate::conn::connect::{binlog_end, Connector};
    use crate::snapshot::{ChunkReader, LowWatermark};
    use crate::state::split::{ChunkRange, KeyValue, SnapshotSplit};

    let db = TestDb::new("replay_keys");
    db.sql(&[
        "CREATE TABLE wide (region VARCHAR(8), id BIGINT, body VARCHAR(16), PRIMARY KEY (id, region))",
        "INSERT INTO wide SELECT IF(seq % 2 = 0, 'eu', 'us'), seq, CONCAT('b', seq) FROM seq_1_to_20",
    ]);
    let config = crate::MySqlCdcConfig::parse(&db.options("wide", &[])).unwrap();
    let server_id: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    // The chunk [1, 11) of id.
    let range = ChunkRange {
        start: Some(KeyValue::Int(1)),
        end: Some(KeyValue::Int(11)),
    };
    let (replayed, chunk, table) = db.block(async {
        let connector = Connector::new(&config);
        let mut conn = connector.connect().await.unwrap();
        let tables =
            crate::schema::discover_tables(&mut conn, &config.database_regex, &config.table_regex)
                .await
                .unwrap();
        let table = tables[0].clone();
        let low_watermark = LowWatermark::detect(&mut conn).await.unwrap();
        let reader = ChunkReader {
            connector: &connector,
            server_id,
            heartbeat: Duration::from_secs(1),
            low_watermark,
            skip_backfill: false,
            compact_json: false,
        };
        let split = SnapshotSplit {
            id: 0,
            table: table.id.clone(),
            chunk_key: "id".into(),
            range: range.clone(),
            high_watermark: None,
        };
        // The chunk at some point (other tests' transactions may make this read replay too).
        let mut chunk = reader.read(&mut conn, &table, &split).await.unwrap();
        let low = chunk.high_watermark.clone();
        let mut root = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        for s in [
            // Out of the chunk; into it (next to key (8, 'eu')); one key column changes inside it;
            // both change inside it; out and back again; no key change; a delete.
            "UPDATE wide SET id = 5000 WHERE id = 2",
            "UPDATE wide SET id = 8, region = 'ap' WHERE id = 15",
            "UPDATE wide SET region = 'xx' WHERE id = 3",
            "UPDATE wide SET id = 7, region = 'eu' WHERE id = 5",
            "UPDATE wide SET id = 1000 WHERE id = 1",
            "UPDATE wide SET id = 1, body = 'back' WHERE id = 1000",
            "UPDATE wide SET body = 'updated' WHERE id = 4",
            "DELETE FROM wide WHERE id = 6",
        ] {
            root.query_drop(s)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        root.disconnect().await.unwrap();
        let high = binlog_end(&mut conn).await.unwrap();
        let key_index = table.column_index("id").unwrap();
        let replayed = reader
            .replay(&table, key_index, &range, &low, &high, &mut chunk.rows)
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        (replayed, chunk.rows, table)
    });
    assert!(
        replayed > 0,
        "the binlog moved between the watermarks, yet nothing was replayed"
    );
    let columns: Vec<usize> = ["id", "region", "body"]
        .iter()
        .map(|c| table.column_index(c).unwrap())
        .collect();
    let mut got: Vec<String> = chunk
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|&i| r[i].as_sql(false))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let expected: Vec<(i64, String, String)> = db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        let rows = conn
            .query("SELECT id, region, body FROM wide WHERE id >= 1 AND id < 11")
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        rows
    });
    let mut expected: Vec<String> = expected
        .into_iter()
        .map(|(id, r, b)| format!("{id},'{r}','{b}'"))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    for row in [
        "8,'ap','b15'",
        "8,'eu','b8'",
        "3,'xx','b3'",
        "7,'eu','b5'",
        "1,'us','back'",
    ] {
        assert!(expected.contains(&row.to_string()), "{row} in {expected:?}");
    }
}

/// A checkpoint inside a transaction whose updates change primary keys restores exactly: the
/// offset counts binlog row changes, and a key change's -D and +I come from one row change, so
/// they are in one batch under one offset. With batches of one row change each, the checkpoint
/// falls right after the first pair; the restored job emits the rest once, no half pair.
#[test]
fn a_restore_inside_a_transaction_of_key_changes_never_splits_a_delete_insert_pair() {
    let db = TestDb::new("restore_keys");
    create_scores(&db, 10);
    let source = db.source("scores", &[], COLUMNS);
    // Batches of one row: every binlog row change closes a batch (a pair is never cut, see above).
    let mut h = Harness::new(source.as_ref(), 1, 1).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &db.table_state("scores"), TIMEOUT, "the snapshot");
    db.sql(&[&[
        "BEGIN",
        "UPDATE scores SET id = 100 WHERE id = 1",
        "UPDATE scores SET score = -2 WHERE id = 2",
        "UPDATE scores SET id = 300 WHERE id = 3",
        "COMMIT",
    ]
    .join(";")]);
    let first = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    assert_eq!(
        ids(&first),
        [(RowKind::Delete, 1), (RowKind::Insert, 100)],
        "the first batch: one pair"
    );
    view.apply(&first);
    let checkpoint = h.checkpoint().unwrap();
    let at_checkpoint = view.clone();
    let rest = [
        (RowKind::UpdateBefore, 2),
        (RowKind::UpdateAfter, 2),
        (RowKind::Delete, 3),
        (RowKind::Insert, 300),
    ];
    let lost = h
        .run_until(TIMEOUT, |e| ids(e).len() >= rest.len())
        .unwrap();
    assert_eq!(ids(&lost), rest);
    h.close().unwrap();

    // The "crash" lost what came after the checkpoint: the restored job emits it again, once.
    let mut view = at_checkpoint;
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 1).unwrap();
    let again = h
        .run_until(TIMEOUT, |e| ids(e).len() >= rest.len())
        .unwrap();
    assert_eq!(
        ids(&again),
        rest,
        "after the restore: the rest of the transaction, once"
    );
    view.apply(&again);
    assert!(view.anomalies.is_empty(), "{:?}", view.anomalies);
    assert_eq!(view.rows, db.table_state("scores"));
    h.close().unwrap();
}

/// The binlog coordinates metadata (`position/coordinates.rs`) of a known transaction, as the server's
/// `SHOW BINLOG EVENTS` and `@@last_gtid` say; NULL (and `change_seq` 0) on snapshot rows. Batches
/// of one row change put a checkpoint inside the transaction: the restored job gives the rest of
/// it the same coordinates, and `change_seq` strictly increases along the whole changelog.
#[test]
fn binlog_coordinates_metadata_are_the_servers_and_change_seq_orders_the_changelog_across_a_restore(
) {
    let db = TestDb::new("coordinates");
    create_scores(&db, 2);
    db.sql(&["CREATE TABLE other (id BIGINT PRIMARY KEY)"]);
    let columns = [
        ("id", "BIGINT NOT NULL"),
        ("__metadata.binlog_file", "STRING"),
        ("__metadata.binlog_position", "BIGINT"),
        ("__metadata.binlog_row_index", "BIGINT"),
        ("__metadata.gtid", "STRING"),
        ("__metadata.change_seq", "BIGINT NOT NULL"),
        ("__metadata.row_kind", "STRING NOT NULL"),
    ];
    let source = db.source("scores", &[], &columns);
    let rows = |emitted: &[Emitted]| -> Vec<Vec<String>> {
        emitted
            .iter()
            .flat_map(|e| {
                (0..e.rows.num_rows()).map(move |r| (0..7).map(|c| cell(&e.rows, c, r)).collect())
            })
            .collect()
    };
    let mut h = Harness::new(source.as_ref(), 1, 1).unwrap();
    let snapshot = h.run_until(TIMEOUT, |e| rows(e).len() >= 2).unwrap();
    for row in rows(&snapshot) {
        assert_eq!(
            row[1..6],
            ["NULL", "NULL", "NULL", "NULL", "0"],
            "a snapshot row: {row:?}"
        );
    }

    let (file, from) = master_status(&db);
    // Row changes 0, 2 and 3 (one event), 4 (an update: two rows), 5; 1 is another table's.
    let gtid = gtid_of(
        &db,
        &[
            "INSERT INTO scores VALUES (3, 'c', 30)",
            "INSERT INTO other VALUES (1)",
            "INSERT INTO scores VALUES (4, 'd', 40), (5, 'e', 50)",
            "UPDATE scores SET name = 'A' WHERE id = 1",
            "DELETE FROM scores WHERE id = 2",
        ],
    );
    // The transaction's events as the server lists them: its GTID event, then its rows events.
    let events: Vec<(String, u64, String)> = db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        let rows: Vec<mysql_async::Row> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{file}' FROM {from}"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        rows.into_iter()
            .map(|r| {
                (
                    r.get("Event_type").unwrap(),
                    r.get("Pos").unwrap(),
                    r.get("Info").unwrap(),
                )
            })
            .collect()
    });
    let begin = events
        .iter()
        .position(|(t, _, info)| t == "Gtid" && info.ends_with(&format!("GTID {gtid}")))
        .unwrap();
    let txn_pos = events[begin].1;
    let rows_events: Vec<u64> = events[begin..]
        .iter()
        .take_while(|(t, _, _)| t != "Xid")
        .filter(|(t, _, _)| {
            ["Write_rows", "Update_rows", "Delete_rows"]
                .iter()
                .any(|k| t.starts_with(k))
        })
        .map(|(_, pos, _)| *pos)
        .collect();
    assert_eq!(rows_events.len(), 5, "{events:?}");
    let number: u64 = file.rsplit('.').next().unwrap().parse().unwrap();
    let seq = |event: usize, in_event: u64, after: bool| {
        ((number << 33) | ((rows_events[event] + in_event) << 1) | u64::from(after)).to_string()
    };
    let row = |id: &str, index: u64, seq: String, kind: &str| -> Vec<String> {
        [
            id,
            &file,
            &txn_pos.to_string(),
            &index.to_string(),
            &gtid,
            &seq,
            kind,
        ]
        .map(String::from)
        .to_vec()
    };
    let expected = [
        row("3", 0, seq(0, 0, true), "+I"),
        row("4", 2, seq(2, 0, true), "+I"),
        row("5", 3, seq(2, 1, true), "+I"),
        row("1", 4, seq(3, 0, false), "-U"),
        row("1", 4, seq(3, 0, true), "+U"),
        row("2", 5, seq(4, 0, false), "-D"),
    ];
    let first = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    assert_eq!(
        rows(&first),
        expected[..1],
        "the first batch: one row change"
    );
    let checkpoint = h.checkpoint().unwrap();
    let lost = h.run_until(TIMEOUT, |e| rows(e).len() >= 5).unwrap();
    assert_eq!(rows(&lost), expected[1..]);
    h.close().unwrap();

    let mut h = Harness::restore(source.as_ref(), &checkpoint, 1).unwrap();
    let again = h.run_until(TIMEOUT, |e| rows(e).len() >= 5).unwrap();
    assert_eq!(
        rows(&again),
        expected[1..],
        "after the restore inside the transaction: the same coordinates"
    );
    db.sql(&["INSERT INTO scores VALUES (6, 'f', 60)"]);
    let later = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    h.close().unwrap();
    let seqs: Vec<i64> = rows(&first)
        .iter()
        .chain(&rows(&again))
        .chain(&rows(&later))
        .map(|r| r[5].parse().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "change_seq strictly increases: {seqs:?}"
    );
}

#[test]
fn with_checkpoint_handover_the_binlog_phase_waits_for_a_checkpoint_after_the_snapshot() {
    let db = TestDb::new("handover");
    create_scores(&db, 500);
    let source = db.source(
        "scores",
        &[
            ("scan.incremental.snapshot.handover", "checkpoint"),
            ("scan.incremental.snapshot.chunk.size", "100"),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();
    let snapshot = h.run_until(TIMEOUT, |e| ids(e).len() >= 500).unwrap();
    assert_eq!(ids(&snapshot).len(), 500);
    db.sql(&["UPDATE scores SET score = 0 WHERE id = 7"]);
    // No checkpoint yet: the change stays back however long we poll.
    let early = h.run_until(Duration::from_secs(2), |e| !e.is_empty());
    assert!(
        early.is_err(),
        "binlog rows before any checkpoint: {:?}",
        early.map(|e| ids(&e))
    );
    // The checkpoint completes: the binlog reader starts and delivers the change.
    h.checkpoint().unwrap();
    let live = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(
        ids(&live),
        [(RowKind::UpdateBefore, 7), (RowKind::UpdateAfter, 7)]
    );
    h.close().unwrap();
}

/// A handover that stops making progress is not silent (issue 17): with a reader that never asks
/// again (lost here, and never restarted), the binlog split waits after the snapshot, and once
/// 'scan.binlog.stall-timeout' passed the enumerator fails the job, naming the reader.
#[test]
fn a_binlog_split_waiting_on_a_reader_fails_the_job_at_the_stall_timeout() {
    let db = TestDb::new("stall");
    create_scores(&db, 300);
    let source = db.source(
        "scores",
        &[
            ("scan.binlog.stall-timeout", "2s"),
            ("scan.incremental.snapshot.chunk.size", "100"),
        ],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 2, 4096).unwrap();
    h.fail_reader(1).unwrap();
    let snapshot = h.run_until(TIMEOUT, |e| ids(e).len() >= 300).unwrap();
    assert_eq!(ids(&snapshot).len(), 300);
    let finished = std::time::Instant::now();
    let error = loop {
        // Time passes for the enumerator's timer; nothing arrives from the readers meanwhile.
        let _ = h.run_until(Duration::from_millis(200), |e| !e.is_empty());
        if let Err(e) = h.tick() {
            break e.to_string();
        }
        assert!(
            finished.elapsed() < Duration::from_secs(30),
            "no failure 30 s after the snapshot finished"
        );
    };
    assert!(
        finished.elapsed() >= Duration::from_millis(1500),
        "failed before the timeout: {error}"
    );
    assert!(
        error.contains("readers [1]") && error.contains("scan.binlog.stall-timeout"),
        "{error}"
    );
}

/// The binlog reader's watchdog (binlog/stall.rs): a reader that gets none of the server's
/// writes fails the job at the stall timeout; one held up by another source's reader on the
/// shared connection is counted and warned about, never failed.
#[test]
fn a_binlog_reader_that_reads_nothing_while_the_server_writes_fails_the_job_at_the_stall_timeout() {
    let db = TestDb::new("reader_stall");
    create_scores(&db, 10);
    let shared = ("scan.binlog.shared-connection.enabled", "true");
    // A heartbeat of its own gives this test a shared connection (hub) no other test uses.
    let hub = ("heartbeat.interval", "29s");
    let source = db.source(
        "scores",
        &[shared, hub, ("scan.binlog.stall-timeout", "2s")],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();
    view.apply(&h.run_until(TIMEOUT, |e| ids(e).len() >= 10).unwrap());
    db.sql(&["INSERT INTO scores VALUES (100, 'seen', 1)"]);
    view.apply(
        &h.run_until(TIMEOUT, |e| ids(e).iter().any(|(_, id)| *id == 100))
            .unwrap(),
    );

    // A defect: the shared connection hands this source's reader nothing from here on.
    let (lo, hi) = db.server_ids.split_once('-').unwrap();
    *crate::binlog::shared::STARVED_SERVER_IDS.lock().unwrap() =
        Some(lo.parse().unwrap()..=hi.parse().unwrap());
    let starved = std::time::Instant::now();
    let mut next = 101;
    let error = 'starved: loop {
        // The server keeps writing.
        db.sql(&[&format!("INSERT INTO scores VALUES ({next}, 'unseen', 1)")]);
        next += 1;
        let until = std::time::Instant::now() + Duration::from_millis(200);
        while std::time::Instant::now() < until {
            match h.poll_or_wait(until) {
                Err(e) => break 'starved e.to_string(),
                Ok(emitted) => assert!(
                    ids(&emitted).is_empty(),
                    "the starved reader emitted {:?}",
                    ids(&emitted)
                ),
            }
        }
        assert!(
            starved.elapsed() < Duration::from_secs(30),
            "no failure 30 s after the reader was starved"
        );
    };
    *crate::binlog::shared::STARVED_SERVER_IDS.lock().unwrap() = None;
    assert!(
        starved.elapsed() >= Duration::from_millis(1500),
        "failed before the timeout: {error}"
    );
    assert!(
        error.contains("read nothing for 2s") && error.contains("'scan.binlog.stall-timeout' = 2s"),
        "{error} after {:?}, {next} rows",
        starved.elapsed()
    );
}

#[test]
fn a_binlog_reader_held_up_by_another_source_on_the_shared_connection_is_counted_not_failed() {
    let db = TestDb::new("held_stall");
    create_scores(&db, 10);
    let base: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    let (ids0, ids1) = (
        format!("{base}-{}", base + 4),
        format!("{}-{}", base + 5, base + 9),
    );
    let shared = ("scan.binlog.shared-connection.enabled", "true");
    let timeout = ("scan.binlog.stall-timeout", "2s");
    // A heartbeat of their own gives these sources a shared connection no other test uses.
    let hub = ("heartbeat.interval", "28s");
    let s0 = db.source(
        "scores",
        &[shared, timeout, hub, ("server-id", &ids0)],
        COLUMNS,
    );
    let s1 = db.source(
        "scores",
        &[shared, timeout, hub, ("server-id", &ids1)],
        COLUMNS,
    );
    let (mut h0, mut h1) = (
        Harness::new(s0.as_ref(), 1, 64).unwrap(),
        Harness::new(s1.as_ref(), 1, 64).unwrap(),
    );
    let (mut v0, mut v1) = (Materialized::default(), Materialized::default());
    catch_up_both([&mut h0, &mut h1], [&mut v0, &mut v1], &db, "the snapshot");

    // Source 1 is not polled: once its queues are full the shared connection waits for it.
    let held = std::time::Instant::now();
    let mut next = 100;
    let mut stalled_ms = 0;
    while held.elapsed() < Duration::from_secs(5) {
        let rows: Vec<String> = (next..next + 50)
            .map(|i| format!("({i}, 'burst', 1)"))
            .collect();
        db.sql(&[&format!("INSERT INTO scores VALUES {}", rows.join(", "))]);
        next += 50;
        v0.apply(
            &h0.poll_or_wait(std::time::Instant::now() + Duration::from_millis(100))
                .expect("a held reader does not fail"),
        );
        stalled_ms = h0
            .reader_metric(0, crate::binlog::stall::STALL_GAUGE)
            .unwrap_or(0);
    }
    assert!(
        stalled_ms >= 2000,
        "the held reader counted {stalled_ms} ms, beyond the timeout and not failed"
    );
    // Polled again, source 1 frees the connection: both catch up, and the count ends.
    catch_up_both(
        [&mut h0, &mut h1],
        [&mut v0, &mut v1],
        &db,
        "after the hold",
    );
    let deadline = std::time::Instant::now() + TIMEOUT;
    while h0.reader_metric(0, crate::binlog::stall::STALL_GAUGE) != Some(0) {
        h0.poll_or_wait(std::time::Instant::now() + Duration::from_millis(100))
            .unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "the count did not end"
        );
    }
    h0.close().unwrap();
    h1.close().unwrap();
}

/// MariaDB GTIDs in binlog offsets: inside a transaction the state before it (the offset points
/// at its start), after its commit the transaction's own GTID (`@@last_gtid` of its session).
#[test]
fn binlog_offsets_carry_the_mariadb_gtid_before_and_after_a_transaction() {
    use crate::binlog::BinlogCursor;
    use crate::conn::connect::Connector;
    use crate::position::offset::{BinlogOffset, BinlogPosition};

    let db = TestDb::new("gtid");
    create_scores(&db, 1);
    let (file, pos) = master_status(&db);
    let ours: String = db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        conn.query_drop("INSERT INTO scores VALUES (2, 'gtid', 1)")
            .await
            .unwrap();
        let gtid: Option<String> = conn.query_first("SELECT @@last_gtid").await.unwrap();
        conn.disconnect().await.unwrap();
        gtid.unwrap()
    });
    assert!(ours.starts_with("0-1-"), "{ours}");
    let config = crate::MySqlCdcConfig::parse(&db.options("scores", &[])).unwrap();
    let server_id: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    db.block(async {
        let connector = Connector::new(&config);
        let mut conn = connector.connect().await.unwrap();
        let tables =
            crate::schema::discover_tables(&mut conn, &config.database_regex, &config.table_regex)
                .await
                .unwrap();
        conn.disconnect().await.unwrap();
        let start = BinlogOffset::at(BinlogPosition::new(file, pos));
        let mut cursor = BinlogCursor::open(
            &connector,
            server_id,
            &start,
            std::sync::Arc::new(tables),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let mut changes = Vec::new();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        // Up to our row change: its transaction is still open.
        while changes.is_empty() {
            tokio::time::timeout_at(deadline, cursor.next(&mut changes))
                .await
                .expect("our change")
                .unwrap();
        }
        let inside = cursor.offset();
        assert_eq!(inside.skip_rows, 1);
        assert_ne!(
            inside.gtid.as_deref(),
            Some(ours.as_str()),
            "inside: the state before the transaction"
        );
        while !cursor.at_boundary() {
            tokio::time::timeout_at(deadline, cursor.next(&mut changes))
                .await
                .expect("the commit")
                .unwrap();
        }
        assert_eq!(
            cursor.offset().gtid.as_deref(),
            Some(ours.as_str()),
            "after the commit"
        );
        cursor.close().await;
    });
}

/// Runs `statements` as root in the test database, in one transaction, and returns its GTID.
fn gtid_of(db: &TestDb, statements: &[&str]) -> String {
    db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        conn.query_drop("BEGIN").await.unwrap();
        for s in statements {
            conn.query_drop(*s)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        conn.query_drop("COMMIT").await.unwrap();
        let gtid: Option<String> = conn.query_first("SELECT @@last_gtid").await.unwrap();
        conn.disconnect().await.unwrap();
        gtid.unwrap()
    })
}

fn gtid_start(set: &str) -> Vec<(&'static str, String)> {
    vec![
        ("scan.startup.mode", "specific-offset".to_string()),
        ("scan.startup.specific-offset.gtid-set", set.to_string()),
    ]
}

fn borrowed<'a>(options: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    options.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A start after the GTID of a mid-stream transaction reads exactly the transactions after it
/// (other tests' transactions in between are of other tables), skip-rows skips rows of the first
/// one, and a checkpoint taken after the start restores to file/position offsets: the changes
/// after it come again exactly once.
#[test]
fn a_gtid_start_reads_exactly_the_later_transactions_and_restores_from_checkpoints() {
    let db = TestDb::new("gtid_start");
    create_scores(&db, 10);
    let before = gtid_of(&db, &["INSERT INTO scores VALUES (11, 'before', 1)"]);
    let twelve = gtid_of(
        &db,
        &[
            "INSERT INTO scores VALUES (12, 'after', 1)",
            "UPDATE scores SET score = 0 WHERE id = 1",
        ],
    );
    gtid_of(&db, &["DELETE FROM scores WHERE id = 2"]);
    let later = [
        (RowKind::Insert, 12),
        (RowKind::UpdateBefore, 1),
        (RowKind::UpdateAfter, 1),
        (RowKind::Delete, 2),
    ];

    let options = gtid_start(&before);
    let source = db.source("scores", &borrowed(&options), COLUMNS);
    source.preflight().unwrap();
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let got = h
        .run_until(TIMEOUT, |e| ids(e).len() >= later.len())
        .unwrap();
    assert_eq!(ids(&got), later, "exactly the transactions after {before}");

    // Checkpoint, then a change that is emitted and lost with the "crash".
    let checkpoint = h.checkpoint().unwrap();
    db.sql(&["INSERT INTO scores VALUES (13, 'lost', 1)"]);
    let lost = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    assert_eq!(ids(&lost), [(RowKind::Insert, 13)]);
    h.close().unwrap();
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    db.sql(&["INSERT INTO scores VALUES (14, 'after-restore', 1)"]);
    let again = h.run_until(TIMEOUT, |e| ids(e).len() >= 2).unwrap();
    assert_eq!(
        ids(&again),
        [(RowKind::Insert, 13), (RowKind::Insert, 14)],
        "nothing repeated, nothing lost"
    );
    h.close().unwrap();

    // skip-rows: the first rows of the first transaction after the set. The set ends just before
    // the transaction of insert 12 (sequence numbers of one domain and server are consecutive),
    // so that transaction comes first even when other tests' transactions came after `before`.
    let (domain_server, seq) = twelve.rsplit_once('-').unwrap();
    let just_before = format!("{domain_server}-{}", seq.parse::<u64>().unwrap() - 1);
    let mut options = gtid_start(&just_before);
    options.push(("scan.startup.specific-offset.skip-rows", "2".into()));
    // Ids the reader above did not use: its dump thread leaves the server's replica list only
    // some time after it was killed, and the preflight would see the id taken.
    let first: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    options.push(("server-id", format!("{}-{}", first + 5, first + 9)));
    let source = db.source("scores", &borrowed(&options), COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let got = h.run_until(TIMEOUT, |e| ids(e).len() >= 3).unwrap();
    // Insert 12 and the update of 1 (one row change: -U and +U) are skipped.
    assert_eq!(
        ids(&got),
        [
            (RowKind::Delete, 2),
            (RowKind::Insert, 13),
            (RowKind::Insert, 14)
        ]
    );
    h.close().unwrap();
}

/// A checkpoint taken while a GTID start waits for its first transaction holds the GTID start
/// itself: the restored job starts after the set again.
#[test]
fn a_checkpoint_before_the_first_transaction_restores_the_gtid_start() {
    let db = TestDb::new("gtid_idle");
    create_scores(&db, 1);
    let last = gtid_of(&db, &["INSERT INTO scores VALUES (2, 'last', 1)"]);
    let options = gtid_start(&last);
    let source = db.source("scores", &borrowed(&options), COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    h.poll_all().unwrap();
    let checkpoint = h.checkpoint().unwrap();
    h.close().unwrap();
    db.sql(&["INSERT INTO scores VALUES (3, 'next', 1)"]);
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    let got = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    assert_eq!(ids(&got), [(RowKind::Insert, 3)]);
    h.close().unwrap();
}

/// The cursor after a GTID start: the GTID offset until the first transaction begins, then the
/// transaction's real file and position (as SHOW BINLOG EVENTS lists its GTID event) with the
/// rows read of it, and the GTID state before it. Reopened there, it skips those rows.
#[test]
fn after_a_gtid_start_offsets_are_binlog_positions() {
    use crate::binlog::BinlogCursor;
    use crate::conn::connect::Connector;
    use crate::position::offset::BinlogOffset;

    let db = TestDb::new("gtid_offsets");
    create_scores(&db, 1);
    let before = gtid_of(&db, &["INSERT INTO scores VALUES (2, 'before', 1)"]);
    let ours = gtid_of(
        &db,
        &[
            "INSERT INTO scores VALUES (3, 'a', 1)",
            "INSERT INTO scores VALUES (4, 'b', 1)",
        ],
    );
    // Where the server wrote our transaction: its GTID event.
    let (file, _) = master_status(&db);
    let gtid_event_pos: u64 = db.block(async {
        let mut conn = mysql_async::Conn::new(db.root_opts()).await.unwrap();
        let rows: Vec<mysql_async::Row> = conn
            .query(format!("SHOW BINLOG EVENTS IN '{file}'"))
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        let info = format!("BEGIN GTID {ours}");
        let row = rows
            .iter()
            .find(|r| r.get::<String, _>("Info").as_deref() == Some(info.as_str()))
            .expect("our GTID event");
        row.get("Pos").unwrap()
    });
    let config = crate::MySqlCdcConfig::parse(&db.options("scores", &[])).unwrap();
    let server_id: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    db.block(async {
        let connector = Connector::new(&config);
        let mut conn = connector.connect().await.unwrap();
        let tables = Arc::new(
            crate::schema::discover_tables(&mut conn, &config.database_regex, &config.table_regex)
                .await
                .unwrap(),
        );
        conn.disconnect().await.unwrap();
        let start = BinlogOffset::after_gtids(before.clone(), 0);
        let mut cursor = BinlogCursor::open(
            &connector,
            server_id,
            &start,
            tables.clone(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(
            cursor.offset(),
            start,
            "before the first transaction: the GTID start"
        );
        let mut changes = Vec::new();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while changes.is_empty() {
            tokio::time::timeout_at(deadline, cursor.next(&mut changes))
                .await
                .expect("our change")
                .unwrap();
        }
        let inside = cursor.offset();
        assert_eq!(
            (inside.position.file.as_str(), inside.position.pos),
            (file.as_str(), gtid_event_pos)
        );
        assert_eq!(inside.skip_rows, 1);
        // The state before our transaction: the one just before it (other tests write too).
        let seq: u64 = ours.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(
            inside.gtid,
            Some(format!("0-1-{}", seq - 1)),
            "the state before our transaction"
        );
        cursor.close().await;

        let mut cursor = BinlogCursor::open(
            &connector,
            server_id,
            &inside,
            tables,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let mut changes = Vec::new();
        while changes.is_empty() {
            tokio::time::timeout_at(deadline, cursor.next(&mut changes))
                .await
                .expect("the second row")
                .unwrap();
        }
        let id = changes[0].after.as_ref().unwrap()[0].clone();
        assert_eq!(
            format!("{id:?}"),
            format!("{:?}", crate::value::Value::Int(4)),
            "the first row is skipped"
        );
        cursor.close().await;
    });
}

/// Each bad GTID start fails at submission (the factory or the preflight), naming the cause
/// and the fix.
#[test]
fn bad_gtid_starts_fail_at_submission_with_the_cause_and_the_fix() {
    let db = TestDb::new("gtid_bad");
    create_scores(&db, 1);
    let last = gtid_of(&db, &["INSERT INTO scores VALUES (2, 'x', 1)"]);
    let seq: u64 = last.rsplit('-').next().unwrap().parse().unwrap();
    let err = |set: &str| -> String {
        let options = gtid_start(set);
        let e = match MySqlCdcFactory.create(
            &db.options("scores", &borrowed(&options)),
            &row_type(COLUMNS),
        ) {
            Err(e) => e,
            Ok(source) => source.preflight().unwrap_err(),
        };
        assert!(e.is_validation(), "{e}");
        let e = e.to_string();
        assert!(
            e.contains("'scan.startup.specific-offset.gtid-set'")
                && !e.contains(&server().password),
            "{e}"
        );
        e
    };
    let e = err("0-1");
    assert!(
        e.contains("'0-1' is not a MariaDB GTID") && e.contains("'domain-server-sequence'"),
        "{e}"
    );
    let e = err("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100");
    assert!(
        e.contains("is a MySQL GTID set, but the server is MariaDB")
            && e.contains("@@gtid_binlog_pos"),
        "{e}"
    );
    let ahead = format!("0-1-{}", seq + 1_000_000_000);
    let e = err(&ahead);
    assert!(
        e.contains(&format!("GTID {ahead} is ahead of the server"))
            && e.contains("instead of starting"),
        "{e}"
    );
    let e = err("4242-1-5");
    assert!(
        e.contains("domain 4242, which the server's binlog has never had"),
        "{e}"
    );
    let e = err("0-99-5");
    assert!(
        e.contains(
            "GTID 0-99-5 is not known to the server: server 99 wrote no transaction 5 in domain 0"
        ),
        "{e}"
    );
    let e = err(&format!("{last},0-1-3"));
    assert!(e.contains("both in domain 0"), "{e}");
}

#[test]
fn a_chunk_low_watermark_is_the_binlog_position_of_the_snapshot_its_select_reads() {
    use crate::snapshot::LowWatermark;
    let db = TestDb::new("low_watermark");
    create_scores(&db, 10);
    let s = server();
    // The CDC user, as readers connect: the method needs no privilege beyond SELECT.
    let cdc: mysql_async::Opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(s.port)
        .user(Some(s.user.clone()))
        .pass(Some(s.password.clone()))
        .db_name(Some(db.name.clone()))
        .prefer_socket(false)
        .into();
    let root = db.root_opts();
    db.block(async {
        let mut chunk = mysql_async::Conn::new(cdc).await.unwrap();
        let mut writer = mysql_async::Conn::new(root).await.unwrap();
        let method = LowWatermark::detect(&mut chunk).await.unwrap();
        assert_eq!(
            method,
            LowWatermark::ConsistentSnapshot,
            "MariaDB reports Binlog_snapshot_position"
        );

        let low = method.begin(&mut chunk).await.unwrap();
        // Committed after the snapshot: in the binlog after the low watermark, invisible to the chunk.
        writer
            .query_drop("UPDATE scores SET score = 11 WHERE id = 1")
            .await
            .unwrap();
        let after_update = crate::conn::connect::binlog_end(&mut writer).await.unwrap();
        assert!(
            after_update > low,
            "the update is after the low watermark {low}: {after_update}"
        );
        assert_eq!(
            score_of_key_1(&mut chunk).await,
            10,
            "the chunk's SELECT must not see a change after its low watermark"
        );
        // The watermark belongs to the snapshot: it does not follow the binlog while the chunk reads.
        let rows: Vec<(String, String)> = chunk
            .query("SHOW STATUS LIKE 'binlog\\_snapshot\\_position'")
            .await
            .unwrap();
        assert_eq!(rows[0].1, low.pos.to_string());

        // The next chunk (or a retry of this one) takes a fresh watermark: the update is now before
        // it, and visible. No end() in between, as after a read that failed halfway: beginning
        // again must not keep the old snapshot.
        let next = method.begin(&mut chunk).await.unwrap();
        assert!(
            next >= after_update,
            "fresh low watermark {next} must include the update ending at {after_update}"
        );
        assert_eq!(score_of_key_1(&mut chunk).await, 11);
        method.end(&mut chunk).await.unwrap();
        let in_transaction: i64 = chunk
            .query_first("SELECT @@in_transaction")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(in_transaction, 0, "end() closes the chunk's transaction");
        chunk.disconnect().await.unwrap();
        writer.disconnect().await.unwrap();
    });
}

async fn score_of_key_1(conn: &mut mysql_async::Conn) -> i64 {
    conn.query_first("SELECT score FROM scores WHERE id = 1")
        .await
        .unwrap()
        .unwrap()
}

/// Large multi-row UPDATE transactions on several connections, each touching a range of keys
/// that spans many chunks, until `stop`. Keys never change, so each UPDATE moves every row of its
/// range from one version to the next: a change a chunk misses shows as a `-U` of a version
/// the materialized view does not hold.
fn multi_row_updates(
    db_name: String,
    seed: u64,
    rows: i64,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
) -> std::thread::JoinHandle<usize> {
    let opts = root_opts(&db_name);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let from = rng.random_range(1..=rows);
                let to = from + rng.random_range(100..=1500);
                let other = rng.random_range(1..=rows);
                // Two statements per transaction, so a transaction's rows may land in several chunks.
                for sql in [
                    "BEGIN".to_string(),
                    format!("UPDATE scores SET score = score + 1, name = 's{seed}_{n}' WHERE id BETWEEN {from} AND {to}"),
                    format!("UPDATE scores SET score = score + 1 WHERE id BETWEEN {other} AND {}", other + 300),
                    "COMMIT".to_string(),
                ] {
                    // Two writers may deadlock on overlapping ranges: the server rolls one back.
                    match conn.query_drop(&sql).await {
                        Err(mysql_async::Error::Server(e)) if e.code == 1213 => break,
                        other => other.unwrap_or_else(|e| panic!("{sql}: {e}")),
                    }
                }
                n += 1;
                progress.advance(n);
            }
            conn.disconnect().await.unwrap();
            n
        })
    })
}

#[test]
fn large_multi_row_updates_on_several_connections_during_a_snapshot_of_small_chunks_lose_nothing() {
    const ROWS: i64 = 20_000;
    let db = TestDb::new("multi_row_updates");
    create_scores(&db, ROWS);
    let source = db.source(
        "scores",
        &[("scan.incremental.snapshot.chunk.size", "200")],
        COLUMNS,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let progress: Vec<Arc<Progress>> = (0..4).map(|_| Arc::new(Progress::default())).collect();
    let writers: Vec<_> = progress
        .iter()
        .enumerate()
        .map(|(i, p)| {
            multi_row_updates(
                db.name.clone(),
                100 + i as u64,
                ROWS,
                stop.clone(),
                p.clone(),
            )
        })
        .collect();
    // Every writer has committed before the snapshot starts, so their transactions overlap it.
    for p in &progress {
        p.started(1).recv().unwrap();
    }
    let total = || progress.iter().map(|p| p.count()).sum::<usize>();
    let at_start = total();
    let mut h = Harness::new(source.as_ref(), 2, 1024).unwrap();
    let mut view = Materialized::default();
    // Until the snapshot is done: keys never change, so its chunks hold exactly ROWS rows, and
    // binlog changes come only after the last chunk.
    let first = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= ROWS as usize
        })
        .unwrap();
    let during_snapshot = total() - at_start;
    view.apply(&first);
    stop.store(true, Ordering::Relaxed);
    let transactions: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let expected = run_until_equal(&mut h, &mut view, &db);
    eprintln!(
        "{transactions} update transactions, {during_snapshot} during the snapshot, {} changes",
        view.changes
    );
    assert!(
        during_snapshot > 0,
        "the updates must overlap the snapshot for this test to mean anything"
    );
    assert!(
        view.anomalies.is_empty(),
        "{} anomalies: {:?}",
        view.anomalies.len(),
        &view.anomalies[..view.anomalies.len().min(10)]
    );
    assert_eq!(view.rows, expected);
    h.close().unwrap();
}

mod newly_added;
/// Polls both harnesses in turn (one shared binlog connection feeds both: an unpolled one would
/// hold up the other) until each changelog equals the table.
fn catch_up_both(hs: [&mut Harness; 2], views: [&mut Materialized; 2], db: &TestDb, when: &str) {
    let expected = db.table_state("scores");
    let deadline = std::time::Instant::now() + TIMEOUT;
    let [h0, h1] = hs;
    let [v0, v1] = views;
    loop {
        for (h, v) in [(&mut *h0, &mut *v0), (&mut *h1, &mut *v1)] {
            let emitted = h
                .poll_or_wait(std::time::Instant::now() + Duration::from_millis(5))
                .unwrap_or_else(|e| panic!("{when}: {e}"));
            v.apply(&emitted);
            assert!(v.anomalies.is_empty(), "{when}: {:?}", v.anomalies);
        }
        if v0.rows == expected && v1.rows == expected {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{when}: timed out");
    }
}

#[test]
fn a_panic_in_the_shared_binlog_connection_fails_its_readers_and_a_restore_recovers() {
    let db = TestDb::new("shared_panic");
    create_scores(&db, 300);
    let base: u32 = db.server_ids.split('-').next().unwrap().parse().unwrap();
    let (ids0, ids1) = (
        format!("{base}-{}", base + 4),
        format!("{}-{}", base + 5, base + 9),
    );
    let shared = ("scan.binlog.shared-connection.enabled", "true");
    let s0 = db.source("scores", &[shared, ("server-id", &ids0)], COLUMNS);
    let s1 = db.source("scores", &[shared, ("server-id", &ids1)], COLUMNS);
    let (mut h0, mut h1) = (
        Harness::new(s0.as_ref(), 1, 256).unwrap(),
        Harness::new(s1.as_ref(), 1, 256).unwrap(),
    );
    let (mut v0, mut v1) = (Materialized::default(), Materialized::default());
    db.sql(&["UPDATE scores SET score = 1 WHERE id < 10"]);
    catch_up_both(
        [&mut h0, &mut h1],
        [&mut v0, &mut v1],
        &db,
        "before the panic",
    );
    let (c0, c1) = (h0.checkpoint().unwrap(), h1.checkpoint().unwrap());
    let (at0, at1) = (v0.clone(), v1.clone());

    crate::binlog::shared::PANIC_AT_NEXT_EVENT.store(true, Ordering::SeqCst);
    db.sql(&["INSERT INTO scores VALUES (1000, 'at the panic', 1)"]);
    for h in [&mut h0, &mut h1] {
        let e = h
            .run_until(TIMEOUT, |_| false)
            .expect_err("the reader fails")
            .to_string();
        assert!(
            e.contains("the shared binlog connection to 127.0.0.1:")
                && e.contains("stopped unexpectedly"),
            "{e}"
        );
    }
    h0.close().unwrap();
    h1.close().unwrap();

    // The process lives on; restored readers start a new shared connection and lose nothing.
    db.sql(&["INSERT INTO scores VALUES (1001, 'after the panic', 2)"]);
    let (mut h0, mut h1) = (
        Harness::restore(s0.as_ref(), &c0, 256).unwrap(),
        Harness::restore(s1.as_ref(), &c1, 256).unwrap(),
    );
    let (mut v0, mut v1) = (at0, at1);
    catch_up_both(
        [&mut h0, &mut h1],
        [&mut v0, &mut v1],
        &db,
        "restored after the panic",
    );
    h0.close().unwrap();
    h1.close().unwrap();
}
