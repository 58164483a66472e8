//! The binary against rust-mysql-cdc on the project's MariaDB (`scripts/mariadb.sh`, through
//! rust-mysql-cdc's own test support): the snapshot and then the changelog with its row kinds,
//! metadata columns, and the submission errors, without the password anywhere.

mod common;
#[path = "../../connectors/mysql-cdc/tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use mysql_async::binlog::events::EventData;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use support::{binlog_position, cdc_conn, server, test_db, TestDb};

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Ten server ids per call, a block per process far from the ones rust-mysql-cdc's own tests
/// use (2_000_000 + pid * 1000): two binlog readers with one id disconnect each other.
fn server_ids() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 2_000_000_000
        + (std::process::id() % 1_000_000) * 1000
        + NEXT.fetch_add(1, Ordering::Relaxed) * 10;
    format!("{base}-{}", base + 9)
}

/// The options of `db`.orders on the test server, as `user` with `password`.
fn connection(db: &TestDb, user: &str, password: &str) -> Vec<(String, String)> {
    let s = server();
    [
        ("hostname", s.host.clone()),
        ("port", s.port.to_string()),
        ("username", user.to_string()),
        ("password", password.to_string()),
        ("database-name", db.name.clone()),
        ("table-name", "orders".to_string()),
        ("server-id", server_ids()),
        ("connect.max-retries", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `-c rust-mysql-cdc` and an `-o` per option.
fn args_for(options: &[(String, String)]) -> Vec<String> {
    let mut args = vec!["-c".to_string(), "rust-mysql-cdc".to_string()];
    for (k, v) in options {
        args.push("-o".into());
        args.push(format!("{k}={v}"));
    }
    args
}

fn connection_args(db: &TestDb, user: &str, password: &str) -> Vec<String> {
    args_for(&connection(db, user, password))
}

fn orders_db(tag: &str) -> TestDb {
    block(async {
        let db = test_db(tag).await;
        db.exec(&[
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10, 2))",
            "INSERT INTO orders VALUES (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'plum', NULL)",
        ])
        .await;
        db
    })
}

const SCHEMA: &str = "id BIGINT NOT NULL, name STRING, price DECIMAL(10, 2), kind STRING NOT NULL METADATA FROM 'row_kind'";

#[test]
fn the_snapshot_then_the_changelog_with_row_kinds() {
    let db = orders_db("preview_log");
    let s = server();
    let mut args = connection_args(&db, &s.user, &s.password);
    args.extend(
        [
            "-s", SCHEMA, "-n", "6", "-t", "60 s", "--format", "json", "-v",
        ]
        .map(String::from),
    );
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut rows = Vec::new();
    for _ in 0..3 {
        rows.push(lines.next().expect("a snapshot row").unwrap());
    }
    // The snapshot is out: the changes come from the binlog.
    block(db.exec(&[
        "UPDATE orders SET name = 'pear2' WHERE id = 2",
        "DELETE FROM orders WHERE id = 3",
    ]));
    rows.extend(lines.map(Result::unwrap));
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("6 rows (limit reached)"), "{err}");
    assert!(
        err.contains("password=******"),
        "the options are logged masked: {err}"
    );
    assert!(!err.contains(&s.password), "{err}");

    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut snapshot: Vec<String> = rows[..3].iter().map(|r| r.to_string()).collect();
    snapshot.sort();
    let row = |op: &str, id: i64, name: &str, price: serde_json::Value| {
        serde_json::json!({"op": op, "row": {"id": id, "name": name, "price": price, "kind": op}})
            .to_string()
    };
    assert_eq!(
        snapshot,
        [
            row("+I", 1, "apple", "1.50".into()),
            row("+I", 2, "pear", "2.25".into()),
            row("+I", 3, "plum", serde_json::Value::Null)
        ]
    );
    let changes: Vec<String> = rows[3..].iter().map(|r| r.to_string()).collect();
    assert_eq!(
        changes,
        [
            row("-U", 2, "pear", "2.25".into()),
            row("+U", 2, "pear2", "2.25".into()),
            row("-D", 3, "plum", serde_json::Value::Null)
        ]
    );
    block(db.drop_db());
}

#[test]
fn a_snapshot_only_source_ends_after_the_table() {
    let db = orders_db("preview_snap");
    let s = server();
    let mut args = connection_args(&db, &s.user, &s.password);
    args.extend(
        [
            "-s",
            "id BIGINT NOT NULL, name STRING",
            "-o",
            "scan.startup.mode=snapshot",
            "-n",
            "0",
            "-p",
            "2",
        ]
        .map(String::from),
    );
    let out = preview(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("3 rows (end of input)"),
        "{}",
        stderr(&out)
    );
    let mut rows: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("| +I"))
        .map(str::to_string)
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "| +I |  1 | apple |",
            "| +I |  2 | pear  |",
            "| +I |  3 | plum  |"
        ]
    );
    block(db.drop_db());
}

#[test]
fn a_wrong_password_or_option_exits_2_as_at_submission_without_the_password() {
    let db = orders_db("preview_auth");
    let s = server();
    let wrong = "Wr0ng-s3cret-pw";
    let dir = std::env::temp_dir().join(format!("flink-rust-preview-cdc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.properties");

    // On the command line, and from a file; logs at DEBUG.
    let mut cli = connection_args(&db, &s.user, wrong);
    cli.extend(["-s", "id BIGINT NOT NULL", "-vv"].map(String::from));
    std::fs::write(
        &file,
        format!("# the password stays out of the command line\npassword = {wrong}\n"),
    )
    .unwrap();
    let without_password: Vec<_> = connection(&db, &s.user, wrong)
        .into_iter()
        .filter(|(k, _)| k != "password")
        .collect();
    let mut file_args = args_for(&without_password);
    file_args.extend(
        [
            "-s",
            "id BIGINT NOT NULL",
            "-vv",
            "-f",
            file.to_str().unwrap(),
        ]
        .map(String::from),
    );

    for args in [cli, file_args] {
        let out = preview(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("Access denied for user '{}'", s.user)),
            "{err}"
        );
        assert!(
            err.contains("check the options 'username' and 'password'"),
            "{err}"
        );
        assert!(
            !err.contains(wrong) && !stdout(&out).contains(wrong),
            "the password leaked: {err}"
        );
    }

    // A bad option: the message job submission gives (for a job without checkpoints, whose
    // options Java completes with the immediate handover, as the preview does).
    let mut options = connection(&db, &s.user, &s.password);
    options.push(("scan.startup.mode".into(), "sometimes".into()));
    let mut args = args_for(&options);
    args.extend(["-s", "id BIGINT NOT NULL"].map(String::from));
    let out = preview(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    options.push((
        "scan.incremental.snapshot.handover".into(),
        "immediate".into(),
    ));
    let pairs: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = submission_error("rust-mysql-cdc", &pairs, &["id"], &["BIGINT NOT NULL"]);
    assert!(expected.contains("scan.startup.mode"), "{expected}");
    assert_eq!(stderr(&out), format!("error: {expected}\n"));

    std::fs::remove_dir_all(&dir).unwrap();
    block(db.drop_db());
}

/// The server keeps one binlog connection per server id and drops the older one: a preview run
/// with a job's table options (its `server-id` included) must not take the job's connection (nor
/// be refused for an id in use, as a job would be).
#[test]
fn a_preview_with_a_jobs_server_id_leaves_that_jobs_binlog_connection_alone() {
    let db = orders_db("preview_sid");
    let s = server();
    let job_id = 2_100_000_000 + std::process::id() % 1_000_000;
    let mut options = connection(&db, &s.user, &s.password);
    options.retain(|(k, _)| k != "server-id");
    options.push(("server-id".into(), job_id.to_string()));
    let mut args = args_for(&options);
    args.extend(
        [
            "-s", SCHEMA, "-n", "4", "-t", "60 s", "--format", "json", "-v",
        ]
        .map(String::from),
    );

    block(async {
        // The job's binlog reader: a replication connection with the job's id, from the end of the binlog.
        let from = binlog_position().await;
        let mut conn = cdc_conn().await;
        conn.query_drop("SET @mariadb_slave_capability = 4")
            .await
            .unwrap();
        let request = BinlogStreamRequest::new(job_id)
            .with_filename(from.0.as_bytes())
            .with_pos(from.1);
        let mut stream = conn.get_binlog_stream(request).await.unwrap();

        // The preview reads the snapshot and one change from the binlog, so its binlog reader connected.
        let name = db.name.clone();
        let preview = std::thread::spawn(move || {
            let mut child = Command::new(BIN)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            for _ in 0..3 {
                lines.next().expect("a snapshot row").unwrap();
            }
            block(
                TestDb { name }
                    .exec(&["UPDATE orders SET name = 'seen by the preview' WHERE id = 1"]),
            );
            lines.for_each(drop);
            child.wait_with_output().unwrap()
        });
        let out = tokio::task::spawn_blocking(move || preview.join().unwrap())
            .await
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("4 rows (limit reached)"), "{err}");
        assert!(
            err.contains(&format!("replaces the options' {job_id}")),
            "{err}"
        );

        // The job's connection still streams: it sees the preview's change and one made after it.
        db.exec(&["UPDATE orders SET name = 'after the preview' WHERE id = 2"])
            .await;
        let mut updates = 0;
        while updates < 2 {
            let event = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                futures_util::StreamExt::next(&mut stream),
            )
            .await
            .expect("the job's binlog connection delivers both updates within 30 s")
            .expect("the job's binlog connection is still open")
            .expect("the job's binlog connection was not dropped by the server");
            if let Ok(Some(EventData::RowsEvent(rows))) = event.read_data() {
                let table = stream
                    .get_tme(rows.table_id())
                    .map(|t| t.database_name().into_owned());
                if table.as_deref() == Some(db.name.as_str()) {
                    updates += 1;
                }
            }
        }
        stream.close().await.unwrap();
    });
    block(db.drop_db());
}
