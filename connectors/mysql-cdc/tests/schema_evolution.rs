//! Schema changes of captured tables during the binlog phase.
//!
//! With `binlog_row_metadata=FULL` (the shared server of `scripts/mariadb.sh`) table maps name
//! their columns and rows are matched to the declared columns by name: ADD COLUMN (middle, end),
//! DROP COLUMN of a declared column (reads NULL), reordering, RENAME COLUMN (drop + add), also
//! when a restore replays the events from before the DDL. With `MINIMAL` (a private server: the
//! variable is GLOBAL only, and the shared server's setting is every test's) a DDL of a captured
//! table fails the reader with the fix, and a table map that disagrees with the captured schema
//! (column count or types) never decodes by position.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::OptsBuilder;

use rust_core::api::SourceFactory;
use rust_core::options::Options;
use rust_core::runtime::DynSource;
use rust_core::testing::Harness;
use rust_core::types::RowType;

use connector_mysql_cdc::MySqlCdcFactory;
use support::changelog::Materialized;
use support::{block, test_db, PrivateServer, TestDb};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Ten server ids per source, unique across test processes on the shared server.
fn server_ids() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 3_500_000_000
        + (std::process::id() % 100_000) * 100
        + NEXT.fetch_add(1, Ordering::Relaxed) * 10;
    format!("{base}-{}", base + 9)
}

/// The declared columns of every test here: `id` then `a`, `b`, `c` (b an INT).
fn row_type(b_not_null: bool) -> RowType {
    RowType::parse(
        &["id", "a", "b", "c"],
        &[
            "BIGINT NOT NULL",
            "STRING",
            if b_not_null { "INT NOT NULL" } else { "INT" },
            "STRING",
        ],
    )
    .unwrap()
}

fn make_source(
    port: u16,
    db: &str,
    extra: &[(&str, &str)],
    row_type: &RowType,
) -> Box<dyn DynSource> {
    let port = port.to_string();
    let ids = server_ids();
    let mut options = vec![
        ("hostname", "127.0.0.1"),
        ("port", port.as_str()),
        ("username", "flinkcdc"), // made by scripts/mariadb.sh
        ("password", "flinkcdc-pw"),
        ("database-name", db),
        ("table-name", "t"),
        ("server-id", ids.as_str()),
        ("scan.incremental.snapshot.handover", "immediate"),
    ];
    options.extend_from_slice(extra);
    let options = Options::new(
        "rust-mysql-cdc",
        options
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let source = MySqlCdcFactory.create(&options, row_type).unwrap();
    source.preflight().unwrap();
    source
}

/// Runs statements in `db` on a root connection.
async fn sql_on(conn: &mut mysql_async::Conn, statements: &[&str]) {
    for s in statements {
        conn.query_drop(*s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

fn sql(db: &TestDb, statements: &[&str]) {
    let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
    block(async {
        let mut root = support::root_conn().await;
        root.query_drop(format!("USE `{}`", db.name)).await.unwrap();
        sql_on(
            &mut root,
            &statements.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        root.disconnect().await.unwrap();
    })
}

/// The expected materialized changelog: id -> "a|b|c".
fn rows(rows: &[(i64, &str)]) -> BTreeMap<i64, String> {
    rows.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// Polls until the materialized changelog equals `expected` (or fails after TIMEOUT with both).
fn run_to(h: &mut Harness<'_>, m: &mut Materialized, expected: &BTreeMap<i64, String>) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while m.rows != *expected {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: have {:?}, want {expected:?}",
            m.rows
        );
        let emitted = h
            .run_until(Duration::from_millis(200), |e| !e.is_empty())
            .or_else(|e| {
                if e.to_string().contains("timed out") {
                    Ok(Vec::new())
                } else {
                    Err(e)
                }
            });
        m.apply(&emitted.unwrap_or_else(|e| panic!("the job failed: {e}")));
        m.anomalies.retain(|a| !dropped_column_reads_null(a));
        assert!(
            m.anomalies.is_empty(),
            "changelog anomalies: {:?}",
            m.anomalies
        );
    }
}

/// A `-U`/`-D` whose before image differs from the row downstream only in columns it has NULL:
/// after a declared column is dropped upstream, before images read NULL for it too (by name,
/// the image has no such column), while downstream still holds the value from before the drop.
fn dropped_column_reads_null(anomaly: &str) -> bool {
    let Some((head, was)) = anomaly.split_once(", but it was ") else {
        return false;
    };
    let Some((_, with)) = head.split_once(" with ") else {
        return false;
    };
    let (with, was): (Vec<&str>, Vec<&str>) = (with.split('|').collect(), was.split('|').collect());
    with.len() == was.len() && with.iter().zip(&was).all(|(a, b)| a == b || *a == "NULL")
}

/// Polls until the job fails; returns its error.
fn run_to_failure(h: &mut Harness<'_>, m: &mut Materialized) -> String {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not fail; have {:?}",
            m.rows
        );
        match h.run_until(Duration::from_millis(200), |e| !e.is_empty()) {
            Ok(emitted) => m.apply(&emitted),
            Err(e) if e.to_string().contains("timed out") => {}
            Err(e) => return e.to_string(),
        }
    }
}

fn assert_full() {
    let metadata: String = block(async {
        let mut root = support::root_conn().await;
        let v = root
            .query_first("SELECT @@global.binlog_row_metadata")
            .await
            .unwrap()
            .unwrap();
        root.disconnect().await.unwrap();
        v
    });
    assert_eq!(
        metadata, "FULL",
        "the shared test server (scripts/mariadb.sh) must log binlog_row_metadata=FULL"
    );
}

/// The DDL steps every FULL test applies, each with DML before and after, and the changelog
/// expected after each step.
fn ddl_steps() -> Vec<(Vec<&'static str>, BTreeMap<i64, String>)> {
    vec![
        (
            // Plain changes first (and the snapshot's rows 1..3).
            vec![
                "INSERT INTO t VALUES (4, 'a4', 40, 'c4')",
                "UPDATE t SET a = 'a1u' WHERE id = 1",
                "DELETE FROM t WHERE id = 2",
            ],
            rows(&[(1, "a1u|10|c1"), (3, "a3|30|c3"), (4, "a4|40|c4")]),
        ),
        (
            // A column added in the middle and one at the end (not declared: ignored).
            vec![
                "ALTER TABLE t ADD COLUMN m INT AFTER a",
                "ALTER TABLE t ADD COLUMN e VARCHAR(5) DEFAULT 'e'",
                "INSERT INTO t (id, a, m, b, c, e) VALUES (5, 'a5', 99, 50, 'c5', 'x')",
                "UPDATE t SET b = 31, m = 7 WHERE id = 3",
                "DELETE FROM t WHERE id = 4",
            ],
            rows(&[(1, "a1u|10|c1"), (3, "a3|31|c3"), (5, "a5|50|c5")]),
        ),
        (
            // Reordered: c moves to the front, b after e.
            vec![
                "ALTER TABLE t MODIFY c VARCHAR(20) AFTER id",
                "ALTER TABLE t MODIFY b INT AFTER e",
                "INSERT INTO t (id, a, b, c) VALUES (6, 'a6', 60, 'c6')",
                "UPDATE t SET c = 'c1u', b = 11 WHERE id = 1",
                "DELETE FROM t WHERE id = 5",
            ],
            rows(&[(1, "a1u|11|c1u"), (3, "a3|31|c3"), (6, "a6|60|c6")]),
        ),
        (
            // A declared column dropped: it reads NULL in every image after.
            vec![
                "ALTER TABLE t DROP COLUMN b",
                "INSERT INTO t (id, a, c) VALUES (7, 'a7', 'c7')",
                "UPDATE t SET a = 'a3u' WHERE id = 3",
                "DELETE FROM t WHERE id = 6",
            ],
            rows(&[(1, "a1u|11|c1u"), (3, "a3u|NULL|c3"), (7, "a7|NULL|c7")]),
        ),
        (
            // A declared column renamed: by name, a drop (c reads NULL) and an add (ignored).
            vec![
                "ALTER TABLE t RENAME COLUMN c TO c2",
                "INSERT INTO t (id, a, c2) VALUES (8, 'a8', 'c8')",
                "UPDATE t SET a = 'a1v' WHERE id = 1",
                "DELETE FROM t WHERE id = 7",
            ],
            rows(&[
                (1, "a1v|NULL|NULL"),
                (3, "a3u|NULL|c3"),
                (8, "a8|NULL|NULL"),
            ]),
        ),
        (
            // A column of a declared name added again, first: read again.
            vec![
                "ALTER TABLE t ADD COLUMN b INT FIRST",
                "INSERT INTO t (id, a, b) VALUES (9, 'a9', 90)",
                "UPDATE t SET b = 33 WHERE id = 3",
            ],
            rows(&[
                (1, "a1v|NULL|NULL"),
                (3, "a3u|33|NULL"),
                (8, "a8|NULL|NULL"),
                (9, "a9|90|NULL"),
            ]),
        ),
    ]
}

fn create_table(db: &TestDb) {
    sql(
        db,
        &[
            "CREATE TABLE t (id BIGINT PRIMARY KEY, a VARCHAR(20), b INT, c VARCHAR(20))",
            "INSERT INTO t VALUES (1, 'a1', 10, 'c1'), (2, 'a2', 20, 'c2'), (3, 'a3', 30, 'c3')",
        ],
    );
}

#[test]
fn full_metadata_maps_columns_by_name_through_add_drop_reorder_and_rename() {
    let db = block(test_db("evo"));
    assert_full();
    create_table(&db);
    let source = make_source(support::server().port, &db.name, &[], &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(
        &mut h,
        &mut m,
        &rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]),
    );
    for (statements, expected) in ddl_steps() {
        sql(&db, &statements);
        run_to(&mut h, &mut m, &expected);
    }
    h.close().unwrap();
    block(db.drop_db());
}

#[test]
fn full_metadata_restore_from_before_the_ddl_replays_old_events_right() {
    let db = block(test_db("evor"));
    assert_full();
    create_table(&db);
    let source = make_source(support::server().port, &db.name, &[], &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(
        &mut h,
        &mut m,
        &rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]),
    );
    let steps = ddl_steps();
    // A checkpoint in the binlog phase after the first step, before any DDL.
    sql(&db, &steps[0].0);
    run_to(&mut h, &mut m, &steps[0].1);
    let checkpoint = h.checkpoint().unwrap();
    let at_checkpoint = m.clone();
    for (statements, expected) in &steps[1..] {
        sql(&db, statements);
        run_to(&mut h, &mut m, expected);
    }
    let end = m.rows.clone();
    drop(h); // a failure: no close, the readers' state is lost

    // Restored: the reader starts with the table as it is now (b dropped, c renamed, b added
    // again) and replays the old events first.
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    let mut m = at_checkpoint;
    run_to(&mut h, &mut m, &end);
    // And goes on after.
    sql(&db, &["INSERT INTO t (id, a, b) VALUES (10, 'a10', 100)"]);
    let mut expected = end.clone();
    expected.insert(10, "a10|100|NULL".into());
    run_to(&mut h, &mut m, &expected);
    h.close().unwrap();
    block(db.drop_db());
}

#[test]
fn full_metadata_changes_that_cannot_be_read_fail_naming_table_column_and_fix() {
    // A dropped column declared NOT NULL.
    let db = block(test_db("evof"));
    create_table(&db);
    let source = make_source(support::server().port, &db.name, &[], &row_type(true));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(
        &mut h,
        &mut m,
        &rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]),
    );
    sql(
        &db,
        &[
            "ALTER TABLE t DROP COLUMN b",
            "INSERT INTO t (id, a, c) VALUES (4, 'a4', 'c4')",
        ],
    );
    let error = run_to_failure(&mut h, &mut m);
    assert!(
        error.contains("column 'b' was dropped from MySQL table")
            && error.contains(".t")
            && error.contains("declared NOT NULL")
            && error.contains("declare it nullable"),
        "{error}"
    );
    assert!(
        !m.rows.contains_key(&4),
        "no row of the dropped column's table after the change"
    );
    drop(h);

    // A type the declared Flink type cannot hold (INT to BIGINT for a Flink INT).
    sql(&db, &["DROP TABLE t"]);
    create_table(&db);
    let source = source_again(&db, &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(
        &mut h,
        &mut m,
        &rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]),
    );
    sql(
        &db,
        &[
            "ALTER TABLE t MODIFY b BIGINT",
            "INSERT INTO t VALUES (4, 'a4', 40, 'c4')",
        ],
    );
    let error = run_to_failure(&mut h, &mut m);
    assert!(
        error.contains("column 'b' of MySQL table")
            && error.contains("changed type from int(11) to bigint")
            && error.contains("declared Flink type INT")
            && error.contains("declare the Flink column as BIGINT"),
        "{error}"
    );
    drop(h);

    // A type change the declared type still holds (INT to SMALLINT, VARCHAR(20) to TEXT) is read.
    sql(&db, &["DROP TABLE t"]);
    create_table(&db);
    let source = source_again(&db, &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(
        &mut h,
        &mut m,
        &rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]),
    );
    sql(
        &db,
        &[
            "ALTER TABLE t MODIFY b SMALLINT, MODIFY c TEXT",
            "INSERT INTO t VALUES (4, 'a4', -40, 'c4')",
        ],
    );
    run_to(
        &mut h,
        &mut m,
        &rows(&[
            (1, "a1|10|c1"),
            (2, "a2|20|c2"),
            (3, "a3|30|c3"),
            (4, "a4|-40|c4"),
        ]),
    );
    h.close().unwrap();
    block(db.drop_db());
}

fn source_again(db: &TestDb, row_type: &RowType) -> Box<dyn DynSource> {
    make_source(support::server().port, &db.name, &[], row_type)
}

// ---------------------------------------------------------------------------------------------
// Without column names: a private server with binlog_row_metadata=MINIMAL
// ---------------------------------------------------------------------------------------------

async fn private_root(private: &PrivateServer) -> mysql_async::Conn {
    let socket = private
        .dir
        .join("mysqld.sock")
        .to_string_lossy()
        .into_owned();
    mysql_async::Conn::new(
        OptsBuilder::default()
            .socket(Some(socket))
            .user(Some("root"))
            .db_name(Some("shop")),
    )
    .await
    .unwrap()
}

fn private_sql(private: &PrivateServer, statements: &[&str]) {
    block(async {
        let mut root = private_root(private).await;
        sql_on(&mut root, statements).await;
        root.disconnect().await.unwrap();
    })
}

/// Columns a and c swap names: same count, same types, only the names tell.
const SWAP: [&str; 2] = [
    "ALTER TABLE t RENAME COLUMN a TO c_tmp, RENAME COLUMN c TO a",
    "ALTER TABLE t RENAME COLUMN c_tmp TO c",
];

#[test]
fn minimal_metadata_fails_clearly_and_never_decodes_by_position_a_changed_table() {
    let private = PrivateServer::start("evomin", "binlog_row_metadata=MINIMAL");
    block(async {
        let mut root = private.root_conn().await;
        sql_on(&mut root, &["CREATE DATABASE shop"]).await;
        root.disconnect().await.unwrap();
    });
    let setup = |private: &PrivateServer| {
        private_sql(
            private,
            &[
                "DROP TABLE IF EXISTS t",
                "CREATE TABLE t (id BIGINT PRIMARY KEY, a VARCHAR(20), b INT, c VARCHAR(20))",
                "INSERT INTO t VALUES (1, 'a1', 10, 'c1'), (2, 'a2', 20, 'c2'), (3, 'a3', 30, 'c3')",
            ],
        )
    };
    let snapshot = rows(&[(1, "a1|10|c1"), (2, "a2|20|c2"), (3, "a3|30|c3")]);

    // 1. A DDL of the captured table, then rows: the reader fails before decoding them, with
    //    the statement and the fix. A DDL alone (no rows after it) fails nothing.
    setup(&private);
    let source = make_source(private.port, "shop", &[], &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(&mut h, &mut m, &snapshot);
    private_sql(&private, &["INSERT INTO t VALUES (4, 'a4', 40, 'c4')"]);
    let mut expected = snapshot.clone();
    expected.insert(4, "a4|40|c4".into());
    run_to(&mut h, &mut m, &expected);
    // Same count and types, columns swapped: only the DDL tells. The DDL alone fails nothing
    // (a heartbeat brings the reader past it).
    private_sql(&private, &SWAP);
    match h.run_until(Duration::from_secs(3), |e| !e.is_empty()) {
        Err(e) => assert!(
            e.to_string().contains("timed out"),
            "the DDL alone failed the job: {e}"
        ),
        Ok(emitted) => panic!("rows without a change: {}", emitted.len()),
    }
    private_sql(&private, &["INSERT INTO t VALUES (5, 'x5', 50, 'y5')"]);
    let error = run_to_failure(&mut h, &mut m);
    assert!(
        error.contains("was changed by a DDL statement")
            && error.contains("ALTER TABLE t RENAME COLUMN c_tmp TO c")
            && error.contains("binlog_row_metadata=FULL")
            && error.contains("shop.t"),
        "{error}"
    );
    assert_eq!(m.rows, expected, "nothing of the changed table was emitted");
    drop(h);

    // Steps 2 and 3 start alike: a fresh table, the snapshot, a checkpoint, then row 4 read from
    // the binlog before the job stops. Returns the source, the checkpoint and the changelog at it.
    let checkpoint_then_row_4 = || {
        setup(&private);
        let source = make_source(private.port, "shop", &[], &row_type(false));
        let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
        let mut m = Materialized::default();
        run_to(&mut h, &mut m, &snapshot);
        let checkpoint = h.checkpoint().unwrap();
        let at_checkpoint = m.clone();
        private_sql(&private, &["INSERT INTO t VALUES (4, 'a4', 40, 'c4')"]);
        run_to(&mut h, &mut m, &expected);
        h.close().unwrap();
        (source, checkpoint, at_checkpoint)
    };

    // 2. A restore from a checkpoint taken before the DDL: the reader starts with the table as
    //    it is now, and the old events before the DDL do not fit it: a column count mismatch
    //    fails, it never decodes them by position.
    let (source, checkpoint, at_checkpoint) = checkpoint_then_row_4();
    private_sql(
        &private,
        &[
            "ALTER TABLE t ADD COLUMN x INT AFTER id",
            "INSERT INTO t (id, a, b, c) VALUES (5, 'a5', 50, 'c5')",
        ],
    );
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    let mut m = at_checkpoint.clone();
    let error = run_to_failure(&mut h, &mut m);
    assert!(
        error.contains("has 4 columns but the captured schema has 5 (id, x, a, b, c)")
            && error.contains("binlog_row_metadata=FULL"),
        "{error}"
    );
    assert_eq!(m.rows, snapshot, "no row decoded by position");
    drop(h);

    // 3. The same with a type change and the same column count: the types disagree.
    let (source, checkpoint, at_checkpoint) = checkpoint_then_row_4();
    // SMALLINT still fits the declared INT: only the binlog's types tell.
    private_sql(&private, &["ALTER TABLE t MODIFY b SMALLINT"]);
    let mut h = Harness::restore(source.as_ref(), &checkpoint, 64).unwrap();
    let mut m = at_checkpoint.clone();
    let error = run_to_failure(&mut h, &mut m);
    assert!(
        error.contains("column 3 of the binlog table map of shop.t")
            && error.contains("has type LONG")
            && error.contains("`b` smallint(6)"),
        "{error}"
    );
    assert_eq!(m.rows, snapshot);
    drop(h);

    // 4. The fix: FULL from now on. The same DDL kinds are read by name.
    setup(&private);
    private_sql(&private, &["SET GLOBAL binlog_row_metadata = FULL"]);
    let source = make_source(private.port, "shop", &[], &row_type(false));
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    run_to(&mut h, &mut m, &snapshot);
    private_sql(
        &private,
        &[SWAP[0], SWAP[1], "INSERT INTO t VALUES (5, 'x5', 50, 'y5')"],
    );
    let mut expected = snapshot.clone();
    expected.insert(5, "y5|50|x5".into());
    run_to(&mut h, &mut m, &expected);
    h.close().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Schema-change records (DataStream): the `schema_change` metadata column
// ---------------------------------------------------------------------------------------------

/// What a source with `table_name` and `schema_change` metadata columns emitted, in order: rows
/// as "kind id a|b|c", schema changes as "schema <json>".
fn events(emitted: &[rust_core::testing::Emitted]) -> Vec<String> {
    use support::changelog::cell;
    let mut out = Vec::new();
    for e in emitted {
        for r in 0..e.rows.num_rows() {
            let schema_change = cell(&e.rows, 5, r);
            if schema_change != "NULL" {
                assert_eq!(
                    cell(&e.rows, 0, r),
                    "NULL",
                    "a schema-change record has no row"
                );
                assert_eq!(e.kinds[r], rust_core::api::RowKind::Insert);
                out.push(format!("schema {} {schema_change}", cell(&e.rows, 4, r)));
            } else {
                let values: Vec<String> = (1..4).map(|c| cell(&e.rows, c, r)).collect();
                out.push(format!(
                    "{:?} {} {}",
                    e.kinds[r],
                    cell(&e.rows, 0, r),
                    values.join("|")
                ));
            }
        }
    }
    out
}

#[test]
fn schema_change_metadata_column_emits_each_change_before_the_rows_that_follow_it() {
    let db = block(test_db("evos"));
    assert_full();
    create_table(&db);
    let row_type = RowType::parse(
        &[
            "id",
            "a",
            "b",
            "c",
            "__metadata.table_name",
            "__metadata.schema_change",
        ],
        &[
            "BIGINT",
            "STRING",
            "INT",
            "STRING",
            "STRING NOT NULL",
            "STRING",
        ],
    )
    .unwrap();
    let source = make_source(support::server().port, &db.name, &[], &row_type);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut seen = Vec::new();
    let wait_for = |h: &mut Harness<'_>, seen: &mut Vec<String>, count: usize| {
        let got = h
            .run_until(TIMEOUT, |e| events(e).len() + seen.len() >= count)
            .unwrap();
        seen.extend(events(&got));
    };
    wait_for(&mut h, &mut seen, 3);
    assert_eq!(
        seen,
        [
            "Insert 1 a1|10|c1",
            "Insert 2 a2|20|c2",
            "Insert 3 a3|30|c3"
        ]
    );
    sql(
        &db,
        &[
            "INSERT INTO t VALUES (4, 'a4', 40, 'c4')",
            "ALTER TABLE t ADD COLUMN m INT NOT NULL DEFAULT 0 AFTER a",
            "INSERT INTO t (id, a, m, b, c) VALUES (5, 'a5', 1, 50, 'c5')",
        ],
    );
    wait_for(&mut h, &mut seen, 6);
    assert_eq!(
        seen[3], "Insert 4 a4|40|c4",
        "no schema change before the DDL: {seen:?}"
    );
    assert_eq!(
        seen[4],
        "schema t {\"database\":\"".to_string() + &db.name + "\",\"table\":\"t\",\"ddl\":\"ALTER TABLE t ADD COLUMN m INT NOT NULL DEFAULT 0 AFTER a\",\
         \"columns\":[{\"name\":\"id\",\"type\":\"bigint\",\"nullable\":false},{\"name\":\"a\",\"type\":\"varchar\",\"nullable\":true},\
         {\"name\":\"m\",\"type\":\"int\",\"nullable\":false},{\"name\":\"b\",\"type\":\"int\",\"nullable\":true},\
         {\"name\":\"c\",\"type\":\"varchar\",\"nullable\":true}],\"primary_key\":[\"id\"]}"
    );
    assert_eq!(seen[5], "Insert 5 a5|50|c5");
    // A second change; rows of an unchanged layout bring no record.
    sql(
        &db,
        &[
            "UPDATE t SET a = 'a1u' WHERE id = 1",
            "ALTER TABLE t DROP COLUMN b",
            "DELETE FROM t WHERE id = 2",
        ],
    );
    wait_for(&mut h, &mut seen, 10);
    assert_eq!(
        seen[6..8],
        ["UpdateBefore 1 a1|10|c1", "UpdateAfter 1 a1u|10|c1"]
    );
    assert!(
        seen[8].starts_with("schema t ")
            && seen[8].contains("\"ddl\":\"ALTER TABLE t DROP COLUMN b\""),
        "{}",
        seen[8]
    );
    assert!(!seen[8].contains("\"name\":\"b\""), "{}", seen[8]);
    assert_eq!(seen[9], "Delete 2 a2|NULL|c2");
    h.close().unwrap();

    // NOT NULL physical columns cannot carry a schema-change record.
    let strict = RowType::parse(
        &["id", "__metadata.schema_change"],
        &["BIGINT NOT NULL", "STRING"],
    )
    .unwrap();
    let options = Options::new(
        "rust-mysql-cdc",
        [
            ("hostname", "127.0.0.1"),
            ("username", "u"),
            ("password", "p"),
            ("database-name", "d"),
            ("table-name", "t"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let error = match MySqlCdcFactory.create(&options, &strict) {
        Ok(source) => source.preflight().unwrap_err(),
        Err(e) => e,
    };
    assert!(
        error.to_string().contains("but column 'id' is declared NOT NULL; declare them nullable, or leave 'schema_change' out"),
        "{error}"
    );
    block(db.drop_db());
}

/// The snapshot reads chunks with the schema the reader loaded first; a chunk query's result
/// metadata tells a type changed since (an INT read as BIGINT would lose its high bits).
#[test]
fn snapshot_chunk_results_are_checked_against_the_schema_the_reader_started_with() {
    use connector_mysql_cdc::binlog::evolution::check_result_columns;
    use connector_mysql_cdc::schema::{load_table, TableId};
    let db = block(test_db("evoc"));
    create_table(&db);
    block(async {
        let mut conn = support::cdc_conn().await;
        let schema = load_table(&mut conn, &TableId::new(&db.name, "t"))
            .await
            .unwrap()
            .unwrap();
        let query = format!("SELECT id, a, b, c FROM `{}`.t WHERE id >= ?", db.name);
        async fn result_columns(
            conn: &mut mysql_async::Conn,
            query: &str,
        ) -> std::sync::Arc<[mysql_async::Column]> {
            let result = conn.exec_iter(query, (0,)).await.unwrap();
            let columns = result.columns().unwrap();
            drop(result);
            columns
        }
        check_result_columns(&schema, &result_columns(&mut conn, &query).await).unwrap();
        // Lengths and text types may change: read alike.
        db.exec(&["ALTER TABLE t MODIFY a TEXT, MODIFY c CHAR(30)"])
            .await;
        check_result_columns(&schema, &result_columns(&mut conn, &query).await).unwrap();
        db.exec(&["ALTER TABLE t MODIFY b BIGINT"]).await;
        let error = check_result_columns(&schema, &result_columns(&mut conn, &query).await)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("column 'b' of") && error.contains("changed type during the snapshot: the job started with int(11), the server now sends LONGLONG"),
            "{error}"
        );
        db.exec(&["ALTER TABLE t MODIFY b INT UNSIGNED"]).await;
        let error = check_result_columns(&schema, &result_columns(&mut conn, &query).await)
            .unwrap_err()
            .to_string();
        assert!(error.contains("(int32 unsigned)"), "{error}");
        conn.disconnect().await.unwrap();
    });
    block(db.drop_db());
}

/// Types whose binlog decoding depends on the schema (ENUM/SET labels, signedness, DECIMAL
/// scale, CHAR padding, TINYINT(1), TIMESTAMP) read the same by name, after a column moved every
/// position, as in the snapshot.
#[test]
fn full_metadata_by_name_reads_every_schema_dependent_type_as_the_snapshot_does() {
    let db = block(test_db("evot"));
    assert_full();
    sql(
        &db,
        &[
            "CREATE TABLE t (id BIGINT PRIMARY KEY, e ENUM('x','it''s','z'), s SET('a','b','c'), flag TINYINT(1), \
             u BIGINT UNSIGNED, d DECIMAL(10,2), ch CHAR(5), ts TIMESTAMP(3) NULL, y YEAR, bits BIT(3))",
            "INSERT INTO t VALUES (1, 'it''s', 'a,c', 1, 18446744073709551615, -12.50, 'ab', '2024-02-29 12:34:56.789', 2024, b'101')",
        ],
    );
    let columns = ["id", "e", "s", "flag", "u", "d", "ch", "ts", "y"];
    let types = [
        "BIGINT NOT NULL",
        "STRING",
        "STRING",
        "STRING",
        "STRING",
        "STRING",
        "STRING",
        "TIMESTAMP_LTZ(3)",
        "INT",
    ];
    let row_type = RowType::parse(&columns, &types).unwrap();
    let source = make_source(support::server().port, &db.name, &[], &row_type);
    let mut h = Harness::new(source.as_ref(), 1, 64).unwrap();
    let mut m = Materialized::default();
    let row = "it's|a,c|1|18446744073709551615|-12.50|ab|1709210096789|2024";
    run_to(&mut h, &mut m, &rows(&[(1, row)]));
    sql(
        &db,
        &[
            "ALTER TABLE t ADD COLUMN first_col INT FIRST, MODIFY e ENUM('x','it''s','z') AFTER bits",
            "INSERT INTO t (id, e, s, flag, u, d, ch, ts, y, bits) SELECT 2, e, s, flag, u, d, ch, ts, y, bits FROM t WHERE id = 1",
            "UPDATE t SET d = 1.05 WHERE id = 1",
        ],
    );
    let changed = row.replace("-12.50", "1.05");
    run_to(&mut h, &mut m, &rows(&[(1, &changed), (2, row)]));
    h.close().unwrap();
    block(db.drop_db());
}
