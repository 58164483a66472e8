//! A binlog connection that goes silent without closing (a half-open connection: the server's
//! host vanished, a NAT or firewall entry was dropped) is noticed after three heartbeat
//! intervals, and the reader reconnects and resumes at its offset: nothing lost, nothing
//! repeated. Without the check the reader would wait for TCP keepalive, hours by default, while
//! the job looks healthy and idle.
//!
//! On the shared test server, through a proxy that freezes the connections it carries.

mod support;

use std::time::Duration;

use rust_core::testing::Harness;

use support::changelog::Materialized;
use support::proxy::FreezingProxy;
use support::{block, id_v_source, server, test_db, TestDb};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The table as the materialized form: id -> v.
fn table(db: &TestDb) -> std::collections::BTreeMap<i64, String> {
    use mysql_async::prelude::Queryable;
    block(async {
        let mut root = support::root_conn().await;
        let rows: Vec<(i64, String)> = root
            .query(format!("SELECT id, v FROM `{}`.t", db.name))
            .await
            .unwrap();
        root.disconnect().await.unwrap();
        rows.into_iter().collect()
    })
}

fn catch_up(h: &mut Harness, view: &mut Materialized, db: &TestDb, when: &str) {
    view.catch_up(h, &table(db), TIMEOUT, when);
}

#[test]
fn a_silent_binlog_connection_is_replaced_after_three_heartbeats() {
    rust_core::logging::install();
    let db = block(test_db("halfopen"));
    block(db.exec(&[
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL)",
        "INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_10",
    ]));
    let s = server();
    let proxy = FreezingProxy::start(s.port);
    let port = proxy.port.to_string();
    // Ids no other test process on the shared server uses at the same time.
    let base = 3_000_000_000u32 + (std::process::id() % 1_000_000) * 10;
    let server_ids = format!("{base}-{}", base + 1);
    let source = id_v_source(&[
        ("hostname", "127.0.0.1"),
        ("port", &port),
        ("username", &s.user),
        ("password", &s.password),
        ("database-name", &db.name),
        ("table-name", "t"),
        ("server-id", &server_ids),
        ("heartbeat.interval", "1s"),
        ("scan.incremental.snapshot.handover", "immediate"),
    ])
    .unwrap();
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();
    catch_up(&mut h, &mut view, &db, "snapshot");
    block(db.exec(&["INSERT INTO t VALUES (11, 'before the freeze')"]));
    catch_up(&mut h, &mut view, &db, "binlog before the freeze");

    // Every connection open now, the binlog stream's included, goes silent for good.
    let accepted = proxy.accepted();
    proxy.freeze();
    block(db.exec(&[
        "INSERT INTO t SELECT seq, CONCAT('after', seq) FROM seq_12_to_20",
        "UPDATE t SET v = 'updated after the freeze' WHERE id = 3",
        "DELETE FROM t WHERE id = 4",
    ]));
    catch_up(&mut h, &mut view, &db, "after the connection went silent");
    assert!(
        proxy.accepted() > accepted,
        "the reader must have made a new connection"
    );
    let changes = view.changes;
    block(db.exec(&["INSERT INTO t VALUES (21, 'on the new connection')"]));
    catch_up(&mut h, &mut view, &db, "a change on the new connection");
    assert_eq!(view.changes, changes + 1, "every change exactly once");

    rust_core::logging::wake();
    let logs = rust_core::logging::await_records();
    assert!(
        logs.iter().any(|r| r.level == 2
            && r.message
                .starts_with("binlog connection lost, reconnecting: ")
            && r.message
                .contains("no event and no heartbeat from the server for 3s")),
        "a WARN naming the silence: {:?}",
        logs.iter().map(|r| &r.message).collect::<Vec<_>>()
    );
    h.close().unwrap();
    drop(proxy);
    block(db.drop_db());
}
