//! Starting after a MariaDB GTID position with several replication domains, and after purged
//! binlogs, on a private MariaDB of this test process: extra domains and purged files would
//! change the shared server's GTID state under the tests running beside.

mod support;

use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use mysql_async::prelude::Queryable;

use rust_core::api::RowKind;
use rust_core::runtime::DynSource;
use rust_core::testing::{Emitted, Harness};

use support::{block, PrivateServer};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A source reading `shop.t` from `port`, starting after `set`.
fn source(port: u16, set: &str) -> Result<Box<dyn DynSource>, String> {
    let port = port.to_string();
    let options = [
        ("hostname", "127.0.0.1"),
        ("port", port.as_str()),
        ("username", "flinkcdc"), // made by scripts/mariadb.sh
        ("password", "flinkcdc-pw"),
        ("database-name", "shop"),
        ("table-name", "t"),
        ("server-id", "7100-7101"),
        ("scan.startup.mode", "specific-offset"),
        ("scan.startup.specific-offset.gtid-set", set),
    ];
    let source = support::id_v_source(&options).map_err(|e| e.to_string())?;
    source.preflight().map_err(support::validation_message)?;
    Ok(source)
}

fn inserted(emitted: &[Emitted]) -> Vec<i64> {
    emitted
        .iter()
        .flat_map(|e| {
            assert!(e.kinds.iter().all(|k| *k == RowKind::Insert));
            e.rows
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

/// The ids inserted after `set`, once `count` arrived.
fn read_after(port: u16, set: &str, count: usize) -> Vec<i64> {
    let source = source(port, set).unwrap();
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let got = h
        .run_until(TIMEOUT, |e| inserted(e).len() >= count)
        .unwrap();
    h.close().unwrap();
    inserted(&got)
}

/// Inserts `id` in replication domain `domain` and returns the transaction's GTID.
async fn insert(root: &mut mysql_async::Conn, domain: u32, id: i64) -> String {
    root.query_drop(format!("SET SESSION gtid_domain_id = {domain}"))
        .await
        .unwrap();
    root.query_drop(format!("INSERT INTO shop.t VALUES ({id}, 'd{domain}')"))
        .await
        .unwrap();
    root.query_first::<String, _>("SELECT @@last_gtid")
        .await
        .unwrap()
        .unwrap()
}

#[test]
fn gtid_starts_over_several_domains_and_purged_binlogs() {
    let private = PrivateServer::start("gtid", "");
    let (d0_first, d1_first, d0_second, d1_second) = block(async {
        let mut root = private.root_conn().await;
        root.query_drop("CREATE DATABASE shop").await.unwrap();
        root.query_drop("CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v VARCHAR(10))")
            .await
            .unwrap();
        let gtids = (
            insert(&mut root, 0, 1).await,
            insert(&mut root, 1, 2).await,
            insert(&mut root, 0, 3).await,
            insert(&mut root, 1, 4).await,
        );
        root.disconnect().await.unwrap();
        gtids
    });
    assert!(d1_first.starts_with("1-1-"), "{d1_first}");

    // One GTID per domain: each domain resumes after its own.
    assert_eq!(
        read_after(private.port, &format!("{d0_first},{d1_first}"), 2),
        [3, 4]
    );
    assert_eq!(
        read_after(private.port, &format!("{d1_first},{d0_second}"), 1),
        [4]
    );
    // A domain the position leaves out is read from its first transaction.
    assert_eq!(read_after(private.port, &d0_first, 3), [2, 3, 4]);

    // Purge everything written so far: the oldest file then starts after d0_second and d1_second.
    // A restart starts a new file and leaves the old ones unneeded for crash recovery (until
    // InnoDB's binlog checkpoint moves on, PURGE keeps them, and nothing to wait on says when).
    private.restart("");
    block(async {
        let mut root = private.root_conn().await;
        let files: Vec<(String, u64)> = root.query("SHOW BINARY LOGS").await.unwrap();
        root.query_drop(format!(
            "PURGE BINARY LOGS TO '{}'",
            files.last().unwrap().0
        ))
        .await
        .unwrap();
        let left: Vec<(String, u64)> = root.query("SHOW BINARY LOGS").await.unwrap();
        assert_eq!(
            left.len(),
            1,
            "purged all but the newest binlog file: {left:?}"
        );
        insert(&mut root, 0, 5).await;
        root.disconnect().await.unwrap();
    });
    let e = source(private.port, &format!("{d0_first},{d1_second}"))
        .err()
        .expect("a purged start");
    assert!(
        e.contains(&format!(
            "the transactions after GTID {d0_first} up to {d0_second} were purged"
        )) && e.contains("'scan.startup.mode' = 'initial'"),
        "{e}"
    );
    let e = source(private.port, &d0_second)
        .err()
        .expect("a domain left out whose start is purged");
    assert!(
        e.contains("no GTID for domain 1")
            && e.contains(&format!("purged its binlog up to {d1_second}")),
        "{e}"
    );
    assert_eq!(
        read_after(private.port, &format!("{d0_second},{d1_second}"), 1),
        [5]
    );
}
