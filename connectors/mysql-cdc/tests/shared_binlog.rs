//! `scan.binlog.shared-connection.enabled`: the binlog readers of two sources in one process
//! reading one server share ONE replication connection (one `Binlog Dump` thread, one server id),
//! and each source's changelog stays exactly its tables' — through interleaved transactions over
//! both sources' tables, a restore of one source from an older checkpoint while the other runs,
//! the shared connection killed on the server, and one source closing before the other.
//!
//! On a private MariaDB of each test: the dump threads counted are this test's alone.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use rust_core::runtime::DynSource;
use rust_core::testing::Harness;

use support::changelog::Materialized;
use support::{block, PrivateServer, CDC_PASSWORD};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A source reading `shop.<table>` (id, name, score).
fn source(
    private: &PrivateServer,
    table: &str,
    server_ids: &str,
    shared: bool,
) -> Box<dyn DynSource> {
    source_with(private, table, server_ids, shared, &[])
}

fn source_with(
    private: &PrivateServer,
    table: &str,
    server_ids: &str,
    shared: bool,
    extra: &[(&str, &str)],
) -> Box<dyn DynSource> {
    let defaults = [
        ("server-id", server_ids),
        ("scan.incremental.snapshot.handover", "immediate"),
        ("scan.incremental.snapshot.chunk.size", "500"),
        (
            "scan.binlog.shared-connection.enabled",
            if shared { "true" } else { "false" },
        ),
    ];
    private.id_name_score_source(table, &[&defaults[..], extra].concat())
}

/// `shop.a` and `shop.b`, `rows` rows each.
fn create_tables(private: &PrivateServer, rows: u32) {
    let mut statements = vec!["CREATE DATABASE shop".to_string()];
    for t in ["a", "b"] {
        statements.push(format!(
            "CREATE TABLE shop.{t} (id BIGINT PRIMARY KEY, name VARCHAR(255), score BIGINT)"
        ));
        statements.push(format!(
            "INSERT INTO shop.{t} SELECT seq, CONCAT('{t}', seq), seq FROM shop.seq_1_to_{rows}"
        ));
    }
    private.sql(&statements);
}

/// The table as the materialized form: id -> "name|score".
fn table(private: &PrivateServer, t: &str) -> BTreeMap<i64, String> {
    block(async {
        let mut root = private.root_conn().await;
        let rows: Vec<(i64, Option<String>, Option<i64>)> = root
            .query(format!("SELECT id, name, score FROM shop.{t}"))
            .await
            .unwrap();
        root.disconnect().await.unwrap();
        let text = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
        rows.into_iter()
            .map(|(id, n, s)| {
                (
                    id,
                    format!("{}|{}", text(n), text(s.map(|s| s.to_string()))),
                )
            })
            .collect()
    })
}

/// Server ids of the replicas registered with the server (`SHOW SLAVE HOSTS`).
fn replica_ids(private: &PrivateServer) -> Vec<u32> {
    block(async {
        let mut root = private.root_conn().await;
        let rows: Vec<mysql_async::Row> = root.query("SHOW SLAVE HOSTS").await.unwrap();
        root.disconnect().await.unwrap();
        rows.iter().filter_map(|r| r.get::<u32, _>(0)).collect()
    })
}

fn dump_threads(private: &PrivateServer) -> Vec<u64> {
    private
        .query::<u64>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
}

/// Waits (a few seconds at most) until the server runs `n` binlog dump threads; returns their ids.
fn await_dumps(private: &PrivateServer, n: usize, when: &str) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dumps = dump_threads(private);
        if dumps.len() == n {
            return dumps;
        }
        assert!(
            Instant::now() < deadline,
            "{when}: {} Binlog Dump threads, expected {n}",
            dumps.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One source under test: its harness, its materialized changelog and its table.
struct Job<'a> {
    h: Harness<'a>,
    view: Materialized,
    table: &'static str,
}

/// Polls every job in turn (a shared connection feeds them all: an unpolled one would hold up the
/// others) until each changelog equals its table; anomalies fail the test.
fn catch_up(private: &PrivateServer, jobs: &mut [&mut Job], when: &str) {
    let expected: Vec<BTreeMap<i64, String>> =
        jobs.iter().map(|j| table(private, j.table)).collect();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut done = true;
        for (job, expected) in jobs.iter_mut().zip(&expected) {
            let emitted = job
                .h
                .poll_or_wait(Instant::now() + Duration::from_millis(5))
                .unwrap_or_else(|e| panic!("{when}: {e}"));
            job.view.apply(&emitted);
            assert!(
                job.view.anomalies.is_empty(),
                "{when}, {}: {:?}",
                job.table,
                &job.view.anomalies[..job.view.anomalies.len().min(10)]
            );
            done &= job.view.rows == *expected;
        }
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "{when}: timed out");
    }
}

/// Transactions over both tables, interleaved: inserts, updates (a key change too) and deletes of
/// each in the same transactions, some large enough to span several batches.
fn interleaved_dml(private: &PrivateServer, round: i64) {
    let base = 100_000 * round;
    let mut statements = Vec::new();
    for i in 0..20 {
        let id = base + i;
        statements.push("BEGIN".to_string());
        statements.push(format!("INSERT INTO shop.a VALUES ({id}, 'ia{i}', {i})"));
        statements.push(format!("INSERT INTO shop.b VALUES ({id}, 'ib{i}', {i})"));
        statements.push(format!(
            "UPDATE shop.a SET score = score + 1 WHERE id = {}",
            i + 1
        ));
        statements.push(format!(
            "UPDATE shop.b SET name = 'r{round}' WHERE id = {}",
            i + 2
        ));
        statements.push(format!("DELETE FROM shop.b WHERE id = {}", base + i - 1));
        statements.push("COMMIT".to_string());
    }
    // Large ones: every row of each table, in one transaction and on their own.
    statements.push("BEGIN".to_string());
    statements.push(format!("UPDATE shop.a SET score = score + {round}"));
    statements.push(format!("UPDATE shop.b SET score = score - {round}"));
    statements.push("COMMIT".to_string());
    statements.push(format!(
        "UPDATE shop.a SET id = id + 1000000 WHERE id = {}",
        base + 3
    ));
    private.sql(&statements);
}

fn job<'a>(source: &'a dyn DynSource, table: &'static str) -> Job<'a> {
    Job {
        h: Harness::new(source, 1, 256).unwrap(),
        view: Materialized::default(),
        table,
    }
}

#[test]
fn two_sources_share_one_binlog_dump_through_kills_and_closes_and_lose_or_repeat_nothing() {
    let private = PrivateServer::start("shared-binlog", "");
    create_tables(&private, 3000);

    // Off: a dump thread per source.
    let (sa, sb) = (
        source(&private, "a", "7300-7301", false),
        source(&private, "b", "7310-7311", false),
    );
    let (mut a, mut b) = (job(sa.as_ref(), "a"), job(sb.as_ref(), "b"));
    interleaved_dml(&private, 1);
    catch_up(&private, &mut [&mut a, &mut b], "private connections");
    assert_eq!(await_dumps(&private, 2, "private connections").len(), 2);
    for job in [&a, &b] {
        assert_eq!(job.h.reader_metric(0, "binlogSharedConnection"), Some(0));
        assert_eq!(job.h.reader_metric(0, "binlogConnectionReaders"), Some(1));
    }
    a.h.close().unwrap();
    b.h.close().unwrap();
    await_dumps(&private, 0, "private connections closed");

    // On: one dump thread, one server id, each changelog exactly its table.
    let (sa, sb) = (
        source(&private, "a", "7300-7301", true),
        source(&private, "b", "7310-7311", true),
    );
    let (mut a, mut b) = (job(sa.as_ref(), "a"), job(sb.as_ref(), "b"));
    catch_up(&private, &mut [&mut a, &mut b], "snapshot");
    interleaved_dml(&private, 2);
    catch_up(&private, &mut [&mut a, &mut b], "interleaved transactions");
    await_dumps(&private, 1, "shared connection");
    // One replica registered, under the server id of one of the readers.
    let replicas = replica_ids(&private);
    assert!(
        replicas.len() == 1 && [7300, 7310].contains(&replicas[0]),
        "replicas: {replicas:?}"
    );
    for job in [&a, &b] {
        assert_eq!(job.h.reader_metric(0, "binlogSharedConnection"), Some(1));
        assert_eq!(job.h.reader_metric(0, "binlogConnectionReaders"), Some(2));
    }
    let changes = (a.view.changes, b.view.changes);
    private.sql(&[
        "UPDATE shop.a SET score = 7 WHERE id = 1",
        "DELETE FROM shop.b WHERE id = 1",
    ]);
    catch_up(&private, &mut [&mut a, &mut b], "single changes");
    assert_eq!(
        (a.view.changes, b.view.changes),
        (changes.0 + 2, changes.1 + 1),
        "each change exactly once"
    );

    // The shared dump killed on the server: both readers go on from where they were.
    let dumps = await_dumps(&private, 1, "before the kill");
    private.sql(&[&format!("KILL CONNECTION {}", dumps[0])]);
    interleaved_dml(&private, 3);
    catch_up(
        &private,
        &mut [&mut a, &mut b],
        "after the shared dump was killed",
    );
    let after = await_dumps(&private, 1, "after the kill");
    assert_ne!(after, dumps, "a new dump thread");

    // Killed in the middle of a transaction of 12,000 events (a table map and a rows event per
    // statement): more than the readers' queues hold, so the connection, held up by them, is
    // inside it. It resumes at the transaction's start; each reader skips what it has.
    let mut statements = vec!["START TRANSACTION".to_string()];
    for i in 1..=3000 {
        statements.push(format!(
            "UPDATE shop.a SET score = score + 1 WHERE id = {i}"
        ));
        statements.push(format!(
            "UPDATE shop.b SET score = score + 1 WHERE id = {i}"
        ));
    }
    statements.push("COMMIT".to_string());
    private.sql(&[&statements.join(";")]);
    let first = a.h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    a.view.apply(&first);
    let changes = (a.view.changes, b.view.changes);
    private.sql(&[&format!("KILL CONNECTION {}", after[0])]);
    catch_up(
        &private,
        &mut [&mut a, &mut b],
        "after a kill inside a large transaction",
    );
    // 2 per updated row (-U, +U); the rows of `a` deleted by earlier rounds' key changes do not count.
    let a_rows =
        private.query::<u64>("SELECT COUNT(*) FROM shop.a WHERE id BETWEEN 1 AND 3000")[0] as usize;
    let b_rows =
        private.query::<u64>("SELECT COUNT(*) FROM shop.b WHERE id BETWEEN 1 AND 3000")[0] as usize;
    assert!(
        a.view.changes - changes.0 <= 2 * a_rows,
        "a repeated changes"
    );
    assert_eq!(
        b.view.changes - changes.1,
        2 * b_rows,
        "b: each change exactly once"
    );

    // One source closes: the other streams on the same connection; the last one closes it.
    b.h.close().unwrap();
    interleaved_dml(&private, 4);
    catch_up(&private, &mut [&mut a], "after the other source closed");
    await_dumps(&private, 1, "one source left");
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.h.reader_metric(0, "binlogConnectionReaders") != Some(1) {
        assert!(
            Instant::now() < deadline,
            "binlogConnectionReaders stayed at 2 after b closed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The last reader's close waits for the connection's thread, which ends the dump thread.
    a.h.close().unwrap();
    assert_eq!(
        dump_threads(&private),
        Vec::<u64>::new(),
        "a dump thread outlived the last reader's close"
    );
}

#[test]
fn restoring_one_source_from_an_older_checkpoint_leaves_the_other_exact() {
    let private = PrivateServer::start("shared-restore", "");
    create_tables(&private, 2000);
    // a and c capture the same table (overlapping sources), b another.
    let (sa, sb) = (
        source(&private, "a", "7400-7401", true),
        source(&private, "b", "7410-7411", true),
    );
    let sc = source(&private, "a", "7420-7421", true);
    let (mut a, mut b, mut c) = (
        job(sa.as_ref(), "a"),
        job(sb.as_ref(), "b"),
        job(sc.as_ref(), "a"),
    );
    catch_up(&private, &mut [&mut a, &mut b, &mut c], "snapshot");
    interleaved_dml(&private, 1);
    catch_up(&private, &mut [&mut a, &mut b, &mut c], "binlog");
    assert_eq!(c.h.reader_metric(0, "binlogConnectionReaders"), Some(3));

    // A checkpoint of a, then more changes all read.
    let checkpoint = a.h.checkpoint().unwrap();
    let at_checkpoint = a.view.clone();
    interleaved_dml(&private, 2);
    catch_up(
        &private,
        &mut [&mut a, &mut b, &mut c],
        "after a's checkpoint",
    );

    // a fails and comes back from its older checkpoint while b and c run on (and more changes
    // come): the shared connection reads again from a's offset, b and c skip what they have.
    a.h.close().unwrap();
    interleaved_dml(&private, 3);
    catch_up(&private, &mut [&mut b, &mut c], "b and c while a is down");
    let (b_changes, c_changes) = (b.view.changes, c.view.changes);
    let mut a = Job {
        h: Harness::restore(sa.as_ref(), &checkpoint, 256).unwrap(),
        view: at_checkpoint,
        table: "a",
    };
    catch_up(&private, &mut [&mut a, &mut b, &mut c], "a restored");
    assert_eq!(
        (b.view.changes, c.view.changes),
        (b_changes, c_changes),
        "b or c repeated changes after a's restore"
    );
    // a's changelog since the checkpoint equals c's over the same changes.
    interleaved_dml(&private, 4);
    catch_up(
        &private,
        &mut [&mut a, &mut b, &mut c],
        "all after the restore",
    );
    assert_eq!(a.view.rows, c.view.rows);
    await_dumps(&private, 1, "shared connection after the restore");
    for job in [a, b, c] {
        job.h.close().unwrap();
    }
    assert_eq!(dump_threads(&private), Vec::<u64>::new());
}

#[test]
fn a_server_that_stays_away_fails_every_reader_of_the_shared_connection_with_the_cause() {
    let private = PrivateServer::start("shared-gone", "");
    create_tables(&private, 100);
    let bounds = [("connect.timeout", "1s"), ("connect.max-retries", "4")];
    let sa = source_with(&private, "a", "7500-7501", true, &bounds);
    let sb = source_with(&private, "b", "7510-7511", true, &bounds);
    let (mut a, mut b) = (job(sa.as_ref(), "a"), job(sb.as_ref(), "b"));
    interleaved_dml(&private, 1);
    catch_up(&private, &mut [&mut a, &mut b], "binlog");
    await_dumps(&private, 1, "shared connection");

    private.kill();
    let address = format!("127.0.0.1:{}", private.port);
    for job in [&mut a, &mut b] {
        let e = job
            .h
            .run_until(TIMEOUT, |_| false)
            .expect_err("the reader fails")
            .to_string();
        // The connection's server id is that of the reader that opened it.
        let id = ["7500", "7510"]
            .into_iter()
            .find(|id| e.contains(&format!("(server id {id}, 2 readers)")));
        assert!(
            id.is_some() && e.contains("the shared binlog connection (server id "),
            "{e}"
        );
        assert!(e.contains("could not (re)connect to read from"), "{e}");
        assert!(
            e.contains(&format!("the server at {address} stayed unreachable")),
            "{e}"
        );
        assert!(
            e.contains("'connect.max-retries' = 4") && e.contains("Last cause: "),
            "{e}"
        );
        assert!(!e.contains(CDC_PASSWORD), "{e}");
    }
}

/// Two sources reading one binlog of 2 x `ROWS` row updates from a position, on private
/// connections and on a shared one, alternately, in one run: changes/s of both together.
/// `cargo test --release -p connector-mysql-cdc --test shared_binlog -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_two_sources_shared_vs_private() {
    const ROWS: u32 = 100_000;
    const UPDATES: u32 = 2;
    let private = PrivateServer::start("shared-bench", "");
    create_tables(&private, ROWS);
    let status: Vec<(String, u64)> = block(async {
        let mut root = private.root_conn().await;
        let rows: Vec<mysql_async::Row> = root.query("SHOW MASTER STATUS").await.unwrap();
        root.disconnect().await.unwrap();
        rows.iter()
            .map(|r| (r.get::<String, _>(0).unwrap(), r.get::<u64, _>(1).unwrap()))
            .collect()
    });
    let (file, pos) = status[0].clone();
    for round in 0..UPDATES {
        private.sql(&[
            &format!("UPDATE shop.a SET score = score + {round} + 1"),
            &format!("UPDATE shop.b SET score = score + {round} + 1"),
        ]);
    }
    let expected = (2 * ROWS * UPDATES) as usize; // -U and +U per row update, per source
    let pos = pos.to_string();
    let start = [
        ("scan.startup.mode", "specific-offset"),
        ("scan.startup.specific-offset.file", file.as_str()),
        ("scan.startup.specific-offset.pos", pos.as_str()),
    ];
    let server_pid = std::fs::read_to_string(private.dir.join("mysqld.pid"))
        .unwrap()
        .trim()
        .to_string();
    let mut results: Vec<(bool, f64, f64, f64)> = Vec::new();
    for shared in [false, true, false, true, false, true] {
        let sa = source_with(&private, "a", "7600-7601", shared, &start);
        let sb = source_with(&private, "b", "7610-7611", shared, &start);
        let mut hs = [
            Harness::new(sa.as_ref(), 1, 1024).unwrap(),
            Harness::new(sb.as_ref(), 1, 1024).unwrap(),
        ];
        let mut counts = [0usize; 2];
        let cpu = (cpu_seconds("self"), cpu_seconds(&server_pid));
        let began = Instant::now();
        while counts.iter().any(|c| *c < expected) {
            for (h, count) in hs.iter_mut().zip(counts.iter_mut()) {
                let emitted = h
                    .poll_or_wait(Instant::now() + Duration::from_millis(5))
                    .unwrap();
                *count += emitted.iter().map(|e| e.rows.num_rows()).sum::<usize>();
            }
            assert!(began.elapsed() < TIMEOUT, "timed out at {counts:?}");
        }
        let seconds = began.elapsed().as_secs_f64();
        let cpu = (
            cpu_seconds("self") - cpu.0,
            cpu_seconds(&server_pid) - cpu.1,
        );
        assert_eq!(counts, [expected, expected]);
        if shared {
            assert_eq!(dump_threads(&private).len(), 1);
        }
        for h in hs {
            h.close().unwrap();
        }
        let rate = (2 * expected) as f64 / seconds;
        eprintln!(
            "{}: {} changes in {seconds:.2} s: {:.0} changes/s; CPU: readers' process {:.2} s, server {:.2} s",
            if shared { "shared " } else { "private" },
            2 * expected,
            rate,
            cpu.0,
            cpu.1
        );
        results.push((shared, rate, cpu.0, cpu.1));
        await_dumps(&private, 0, "closed");
    }
    let median = |shared: bool, f: fn(&(bool, f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = results.iter().filter(|r| r.0 == shared).map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for shared in [false, true] {
        eprintln!(
            "median {}: {:.0} changes/s, CPU readers' process {:.2} s, server {:.2} s",
            if shared { "shared " } else { "private" },
            median(shared, |r| r.1),
            median(shared, |r| r.2),
            median(shared, |r| r.3)
        );
    }
}

/// User + system CPU seconds of a process (`self` or a pid) so far, from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) end at its ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}
