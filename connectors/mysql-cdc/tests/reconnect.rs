//! The server restarts under a running reader: a clean shutdown and a crash (`kill -9`), in the
//! snapshot and in the binlog phase, the crash in the middle of a large transaction. The reader
//! reconnects on its own (no failover), resumes at its offset, and the materialized changelog
//! equals the table with nothing lost or repeated. A server that stays away fails the reader once
//! the `connect.*` bounds are exhausted, with an error naming the server and the cause.
//!
//! On a private MariaDB of this test process: the shared one must never stop.

mod support;

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use rust_core::runtime::DynSource;
use rust_core::testing::Harness;

use support::changelog::Materialized;
use support::{block, PrivateServer, CDC_PASSWORD};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A source reading `shop.t` (id, name, score) from the private server.
fn source(private: &PrivateServer, server_ids: &str, extra: &[(&str, &str)]) -> Box<dyn DynSource> {
    let defaults = [
        ("server-id", server_ids),
        ("scan.incremental.snapshot.handover", "immediate"),
        ("scan.incremental.snapshot.chunk.size", "500"),
    ];
    private.id_name_score_source("t", &[&defaults[..], extra].concat())
}

/// `shop.t (id, name, score)` with the rows `insert` puts in.
fn create_table(private: &PrivateServer, insert: &str) {
    private.sql(&[
        "CREATE DATABASE shop",
        "CREATE TABLE shop.t (id BIGINT PRIMARY KEY, name VARCHAR(255), score BIGINT)",
        insert,
    ]);
}

/// The table as the materialized form: id -> "name|score".
fn table(private: &PrivateServer) -> std::collections::BTreeMap<i64, String> {
    block(async {
        let mut root = private.root_conn().await;
        let rows: Vec<(i64, Option<String>, Option<i64>)> = root
            .query("SELECT id, name, score FROM shop.t")
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

/// Polls until the materialized changelog equals the table; anomalies fail the test.
fn catch_up(h: &mut Harness, view: &mut Materialized, private: &PrivateServer, when: &str) {
    view.catch_up(h, &table(private), TIMEOUT, when);
}

/// Log records (as they reach Flink's log) about the server on `port`, drained from the queue.
fn logs_about(port: u16) -> Vec<rust_core::logging::LogRecord> {
    rust_core::logging::wake();
    let address = format!("127.0.0.1:{port}");
    rust_core::logging::await_records()
        .into_iter()
        .filter(|r| r.message.contains(&address))
        .collect()
}

#[test]
fn the_reader_reconnects_through_restarts_and_crashes_and_loses_or_repeats_nothing() {
    rust_core::logging::install();
    let private = PrivateServer::start("reconnect", "");
    create_table(
        &private,
        "INSERT INTO shop.t SELECT seq, CONCAT('n', seq), seq FROM shop.seq_1_to_20000",
    );
    // Small batches and a 2-result channel: the worker stops reading a few batches ahead of what
    // the test polled, so the server goes away while the reader is in the middle of its input.
    let source = source(&private, "7200-7201", &[("connect.timeout", "60s")]);
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();

    // Snapshot phase: the first chunk is out, the rest are still to read when the server stops.
    let first = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    view.apply(&first);
    assert!(
        view.rows.len() < 20_000,
        "the snapshot must still be running"
    );
    private.stop();
    private.start_again();
    private.sql(&[
        "UPDATE shop.t SET score = -1 WHERE id % 1000 = 0",
        "DELETE FROM shop.t WHERE id BETWEEN 100 AND 110",
    ]);
    catch_up(
        &mut h,
        &mut view,
        &private,
        "after a clean restart during the snapshot",
    );
    let logs = logs_about(private.port);
    assert!(
        logs.iter().any(|r| r.level == 2
            && r.message
                .starts_with("connection lost while reading a chunk, reading it again: ")),
        "a WARN for the chunk read again: {logs:?}"
    );

    // Binlog phase, clean shutdown.
    private.sql(&[
        "INSERT INTO shop.t VALUES (30001, 'a', 1)",
        "UPDATE shop.t SET id = 30002 WHERE id = 5",
    ]);
    catch_up(&mut h, &mut view, &private, "binlog before the restart");
    private.stop();
    private.start_again();
    private.sql(&[
        "INSERT INTO shop.t VALUES (30003, 'b', 2)",
        "UPDATE shop.t SET name = 'after-restart' WHERE id < 50",
    ]);
    catch_up(
        &mut h,
        &mut view,
        &private,
        "after a clean restart in the binlog phase",
    );
    // Each reconnect at WARN with its cause and the server, never the password.
    let logs = logs_about(private.port);
    let warned = logs.iter().find(|r| {
        r.level == 2
            && r.message
                .starts_with("binlog connection lost, reconnecting: ")
    });
    assert!(
        warned.is_some_and(|r| r.message.contains("server_id=7200")),
        "{logs:?}"
    );
    assert!(
        logs.iter().all(|r| !r.message.contains(CDC_PASSWORD)),
        "{logs:?}"
    );

    // A crash in the middle of a large transaction: 20,000 updates of ~250-byte rows (10 MB of
    // row images) are far more than socket buffers hold, so the crash cuts the stream inside it.
    let wide = "UPDATE shop.t SET name = REPEAT('x', 250), score = score + 1".to_string();
    private.sql(&[&wide]);
    let part = h.run_until(TIMEOUT, |e| !e.is_empty()).unwrap();
    view.apply(&part);
    private.kill();
    private.start_again();
    private.sql(&["INSERT INTO shop.t VALUES (30004, 'after-crash', 3)"]);
    catch_up(
        &mut h,
        &mut view,
        &private,
        "after a crash inside a transaction",
    );
    // Every change exactly once: 2 per row of the large update, on top of everything before.
    let changes_before_crash = view.changes;
    private.sql(&["UPDATE shop.t SET score = 0 WHERE id = 30004"]);
    catch_up(&mut h, &mut view, &private, "a change after the crash");
    assert_eq!(view.changes, changes_before_crash + 2);
    h.close().unwrap();
}

#[test]
fn a_server_that_stays_away_fails_the_reader_after_the_bounds_with_the_cause() {
    let private = PrivateServer::start("gone", "");
    create_table(&private, "INSERT INTO shop.t VALUES (1, 'a', 1)");
    let source = source(
        &private,
        "7210-7211",
        &[("connect.timeout", "1s"), ("connect.max-retries", "4")],
    );
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut view = Materialized::default();
    catch_up(&mut h, &mut view, &private, "snapshot");
    private.sql(&["INSERT INTO shop.t VALUES (2, 'b', 2)"]);
    catch_up(&mut h, &mut view, &private, "binlog");

    let lost = Instant::now();
    private.kill();
    let e = h
        .run_until(TIMEOUT, |_| false)
        .expect_err("the reader fails")
        .to_string();
    let waited = lost.elapsed();
    let address = format!("127.0.0.1:{}", private.port);
    assert!(
        e.contains("could not (re)connect")
            && e.contains(&format!("the server at {address} stayed unreachable")),
        "{e}"
    );
    assert!(
        e.contains("'connect.max-retries' = 4") && e.contains("'connect.timeout' = 1s"),
        "{e}"
    );
    assert!(
        e.contains("Last cause: connecting to") && e.contains("Connection refused"),
        "{e}"
    );
    assert!(!e.contains(CDC_PASSWORD), "{e}");
    // Both bounds: at least 4 failures (0.1 + 0.2 + 0.4 s of backoff) and at least 1 s.
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
}

/// A job restored while the server is still down (Flink restarts it at once after a failure):
/// the binlog reader waits for the server instead of failing after a few quick attempts.
#[test]
fn a_reader_restored_while_the_server_is_down_waits_for_it() {
    let private = PrivateServer::start("restored", "");
    create_table(&private, "INSERT INTO shop.t VALUES (1, 'a', 1)");
    // One attempt would be the whole of Connector::connect's retries: the reader's own bound is
    // the outage's length (connect.timeout), so it keeps trying.
    let source = source(
        &private,
        "7220-7221",
        &[("connect.timeout", "60s"), ("connect.max-retries", "1")],
    );
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut view = Materialized::default();
    catch_up(&mut h, &mut view, &private, "snapshot");
    private.sql(&["INSERT INTO shop.t VALUES (2, 'b', 2)"]);
    catch_up(&mut h, &mut view, &private, "binlog");
    let checkpoint = h.checkpoint().unwrap();
    h.close().unwrap();

    private.kill();
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    // Polled while the server is down: the reader keeps trying, nothing fails.
    let down = h
        .run_until(Duration::from_secs(2), |e| !e.is_empty())
        .expect_err("nothing while down")
        .to_string();
    assert!(
        down.starts_with("timed out after"),
        "the reader failed instead of waiting: {down}"
    );
    private.start_again();
    private.sql(&["INSERT INTO shop.t VALUES (3, 'c', 3)"]);
    catch_up(&mut h, &mut view, &private, "after the server came back");
    h.close().unwrap();
}
