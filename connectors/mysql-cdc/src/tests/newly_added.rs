//! Newly added tables (`scan.newly-added-table.enabled`, `enumerator/newly_added.rs`) against MariaDB: the
//! materialized changelog of every table equals the table, with no anomaly (a repeated insert, an
//! update or delete of an absent key), through the binlog reader's suspension, the new tables'
//! snapshot and restores. Tables of one test use disjoint key ranges, so one view holds them all.

use super::*;

const PATTERN: &str = "t[0-9]+";
/// Keys of t2 (and other new tables) start here; t1's are small.
const T2: i64 = 1_000_000;

fn create(db: &TestDb, table: &str, first: i64, rows: i64) {
    db.sql(&[
        &format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(64), score BIGINT)"),
        &format!(
            "INSERT INTO {table} SELECT seq, CONCAT('n', seq), seq MOD 1000 FROM seq_{first}_to_{}",
            first + rows - 1
        ),
    ]);
}

/// The tables as one view: id -> "name|score".
fn state(db: &TestDb, tables: &[&str]) -> BTreeMap<i64, String> {
    tables.iter().flat_map(|t| db.table_state(t)).collect()
}

fn on(chunk_size: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("scan.newly-added-table.enabled", "true"),
        ("scan.incremental.snapshot.chunk.size", chunk_size),
    ]
}

/// `n` random single-row statements on t1 (keys 1..=600) and t2 (keys T2+1..=T2+2500) on a
/// thread of its own.
fn dml_on_t1_and_t2(db_name: String, seed: u64, n: usize) -> std::thread::JoinHandle<()> {
    let opts = root_opts(&db_name);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut conn = mysql_async::Conn::new(opts).await.unwrap();
            let mut rng = SmallRng::seed_from_u64(seed);
            for i in 0..n {
                let (table, id) = if rng.random_bool(0.6) {
                    ("t2", T2 + rng.random_range(1..=2500))
                } else {
                    ("t1", rng.random_range(1..=600))
                };
                let sql = match rng.random_range(0..6) {
                    0 | 1 => format!("UPDATE {table} SET score = score + 1, name = 'u{i}' WHERE id = {id}"),
                    2 => format!("DELETE FROM {table} WHERE id = {id}"),
                    3 => format!("INSERT IGNORE INTO {table} VALUES ({id}, 'i{i}', {i})"),
                    4 => format!("INSERT INTO {table} VALUES ({id}, 'x{i}', 1) ON DUPLICATE KEY UPDATE score = score * 2"),
                    // Two tables in one transaction: the suspension may fall inside it.
                    _ => format!(
                        "UPDATE t1 JOIN t2 ON t2.id = t1.id + {T2} SET t1.score = t1.score + 1, t2.score = t2.score + 1 \
                         WHERE t1.id = {}",
                        id % 600
                    ),
                };
                conn.query_drop(sql).await.unwrap();
            }
            conn.disconnect().await.unwrap();
        })
    })
}

fn rows_of_t2(emitted: &[Emitted]) -> usize {
    emitted
        .iter()
        .map(|e| {
            (0..e.rows.num_rows())
                .filter(|&r| cell(&e.rows, 0, r).parse::<i64>().unwrap() > T2)
                .count()
        })
        .sum()
}

/// The job streams t1's binlog; t2 is created, filled and changed while its snapshot runs (and
/// t1 too). Every row of both ends up exactly as the server has it.
#[test]
fn a_table_created_while_streaming_is_snapshotted_then_streamed_at_p1_and_p2() {
    for (parallelism, seed) in [(1u32, 5u64), (2, 6)] {
        let db = TestDb::new(&format!("newtab_p{parallelism}"));
        create(&db, "t1", 1, 500);
        let source = db.source(PATTERN, &on("100"), COLUMNS);
        let mut h = Harness::new(source.as_ref(), parallelism, 256).unwrap();
        let mut view = Materialized::default();
        view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
        db.sql(&["INSERT INTO t1 VALUES (700, 'streaming', 1)"]);
        view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "binlog of t1");

        create(&db, "t2", T2 + 1, 2000);
        let dml = dml_on_t1_and_t2(db.name.clone(), seed, 600);
        let during = h.run_until(TIMEOUT, |_| dml.is_finished()).unwrap();
        view.apply(&during);
        dml.join().unwrap();
        eprintln!(
            "p{parallelism}: {} rows of t2 emitted while the DML ran",
            rows_of_t2(&during)
        );
        view.catch_up(&mut h, &state(&db, &["t1", "t2"]), TIMEOUT, "t2 added");
        assert!(view.rows.keys().any(|&k| k > T2), "t2 must be captured");

        // After the phase both tables stream.
        db.sql(&[
            "UPDATE t2 SET score = -5 WHERE id <= 1000010",
            "DELETE FROM t1 WHERE id < 20",
            "INSERT INTO t2 VALUES (1009999, 'late', 3)",
        ]);
        view.catch_up(
            &mut h,
            &state(&db, &["t1", "t2"]),
            TIMEOUT,
            "after the phase",
        );
        h.close().unwrap();
    }
}

/// Tables created before the job under other names, renamed into the patterns (RENAME TABLE and
/// ALTER TABLE ... RENAME): their rows are snapshotted, their later changes streamed.
#[test]
fn tables_renamed_into_the_patterns_are_snapshotted() {
    let db = TestDb::new("newtab_rename");
    create(&db, "t1", 1, 200);
    create(&db, "old_a", 2 * T2 + 1, 300);
    create(&db, "old_b", 3 * T2 + 1, 250);
    let source = db.source(PATTERN, &on("64"), COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    db.sql(&["RENAME TABLE old_a TO t5"]);
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t5"]),
        TIMEOUT,
        "after RENAME TABLE",
    );
    db.sql(&[
        "ALTER TABLE old_b RENAME TO t6",
        "UPDATE t1 SET score = 0 WHERE id = 1",
    ]);
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t5", "t6"]),
        TIMEOUT,
        "after ALTER TABLE ... RENAME",
    );
    db.sql(&[
        &format!("UPDATE t5 SET name = 'changed' WHERE id <= {}", 2 * T2 + 10),
        &format!("DELETE FROM t6 WHERE id = {}", 3 * T2 + 1),
    ]);
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t5", "t6"]),
        TIMEOUT,
        "changes of the renamed tables",
    );
    h.close().unwrap();
}

/// Checkpoints before the suspension and in the middle of t2's snapshot (the binlog reader
/// suspended): restored from either, nothing is lost or repeated.
#[test]
fn restores_from_before_the_suspension_and_mid_phase_lose_and_repeat_nothing() {
    let db = TestDb::new("newtab_restore");
    create(&db, "t1", 1, 300);
    let source = db.source(PATTERN, &on("50"), COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 128).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    db.sql(&["INSERT INTO t1 VALUES (700, 'streaming', 1)"]);
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "binlog of t1");
    let before = h.checkpoint().unwrap();
    let at_before = view.rows.clone();

    create(&db, "t2", T2 + 1, 2000);
    db.sql(&["UPDATE t1 SET score = 77 WHERE id <= 10"]);
    let some = h.run_until(TIMEOUT, |e| rows_of_t2(e) >= 300).unwrap();
    view.apply(&some);
    let mid = h.checkpoint().unwrap();
    let at_mid = view.rows.clone();
    let t2_at_mid = at_mid.keys().filter(|&&k| k > T2).count();
    assert!(
        t2_at_mid < 2000,
        "the checkpoint must fall inside t2's snapshot ({t2_at_mid} rows of t2 emitted)"
    );
    // Changes after the checkpoint, during the phase: replayed exactly once after a restore.
    dml_on_t1_and_t2(db.name.clone(), 9, 300).join().unwrap();
    view.catch_up(&mut h, &state(&db, &["t1", "t2"]), TIMEOUT, "t2 added");
    h.close().unwrap();

    let mut view = Materialized {
        rows: at_mid,
        ..Default::default()
    };
    let mut h = Harness::restore(source.as_ref(), &mid, 128).unwrap();
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "restored mid-phase",
    );
    db.sql(&[
        "UPDATE t2 SET score = 1 WHERE id <= 1000100",
        "DELETE FROM t1 WHERE id = 700",
    ]);
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "restored mid-phase, then live",
    );
    h.close().unwrap();

    // From before the suspension: the reader meets t2's CREATE again and adds it afresh.
    let mut view = Materialized {
        rows: at_before,
        ..Default::default()
    };
    let mut h = Harness::restore(source.as_ref(), &before, 128).unwrap();
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "restored from before the suspension",
    );
    h.close().unwrap();
}

/// Option off: a new matching table is ignored, and nothing else changes.
#[test]
fn with_the_option_off_new_tables_are_ignored() {
    let db = TestDb::new("newtab_off");
    create(&db, "t1", 1, 200);
    let source = db.source(
        PATTERN,
        &[("scan.incremental.snapshot.chunk.size", "64")],
        COLUMNS,
    );
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    create(&db, "t2", T2 + 1, 100);
    db.sql(&[
        "UPDATE t2 SET score = 1",
        "UPDATE t1 SET score = 2 WHERE id < 50",
    ]);
    view.catch_up(
        &mut h,
        &state(&db, &["t1"]),
        TIMEOUT,
        "t1 after t2 appeared",
    );
    // A marker after every change of t2: had any been emitted, it would be in by now.
    db.sql(&["INSERT INTO t1 VALUES (999, 'marker', 0)"]);
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "marker");
    assert!(view.rows.keys().all(|&k| k < T2), "t2 must not be captured");
    h.close().unwrap();
}

/// Restored from a checkpoint of a job whose patterns did not cover t2 (created before that
/// job, and not written to since): the enumerator finds it missing from its state, asks the
/// binlog reader to suspend, and adds it; t1's changes while the job was down come once.
#[test]
fn a_restore_with_wider_patterns_adds_the_tables_the_state_lacks() {
    let db = TestDb::new("newtab_widen");
    create(&db, "t1", 1, 300);
    create(&db, "t2", T2 + 1, 400);
    let narrow = db.source(
        "t1",
        &[("scan.incremental.snapshot.chunk.size", "64")],
        COLUMNS,
    );
    let mut h = Harness::new(narrow.as_ref(), 2, 256).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    db.sql(&["INSERT INTO t1 VALUES (700, 'streaming', 1)"]);
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "binlog of t1");
    let checkpoint = h.checkpoint().unwrap();
    h.close().unwrap();

    db.sql(&[
        "UPDATE t1 SET score = 3 WHERE id <= 30",
        "DELETE FROM t1 WHERE id = 700",
    ]);
    let wide = db.source(PATTERN, &on("64"), COLUMNS);
    let mut h = Harness::restore(wide.as_ref(), &checkpoint, 256).unwrap();
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "t2 added on restore",
    );
    db.sql(&[
        &format!("UPDATE t2 SET score = 9 WHERE id <= {}", T2 + 50),
        "UPDATE t1 SET score = 4 WHERE id <= 5",
    ]);
    view.catch_up(&mut h, &state(&db, &["t1", "t2"]), TIMEOUT, "both streamed");
    h.close().unwrap();
}

/// A new table the source cannot capture (no primary key, no chunk-key column) fails the job
/// with the table, the cause and the fixes (docs/troubleshooting.md, case 57).
#[test]
fn a_new_table_that_cannot_be_captured_fails_naming_it_and_the_fix() {
    let db = TestDb::new("newtab_bad");
    create(&db, "t1", 1, 50);
    let source = db.source(PATTERN, &on("64"), COLUMNS);
    let mut h = Harness::new(source.as_ref(), 1, 256).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    db.sql(&[
        "CREATE TABLE t2 (id BIGINT, name VARCHAR(64), score BIGINT)",
        "INSERT INTO t2 VALUES (1, 'a', 1)",
    ]);
    let error = h
        .run_until(TIMEOUT, |_| false)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    let table = format!("{}.t2", db.name);
    for part in [
        format!("newly added table {table} matches 'database-name' and 'table-name' but cannot be captured"),
        format!("table {table} has no primary key: set 'scan.incremental.snapshot.chunk.key-column'"),
        "narrow 'table-name' to exclude it".to_string(),
        "'scan.newly-added-table.enabled'".to_string(),
    ] {
        assert!(error.contains(&part), "{error}\nlacks: {part}");
    }
    let _ = h.close();
}

/// The cursor stops at the table map of a new table inside a transaction: the changes of it
/// before are returned, the offset is the transaction's start plus those rows, and a cursor
/// resumed there with the table captured returns the rest of the transaction, both tables' rows,
/// nothing twice.
#[test]
fn the_binlog_cursor_suspends_at_a_new_tables_map_inside_a_transaction() {
    use crate::binlog::table_watch::TableWatch;
    use crate::binlog::{BinlogCursor, RowChange};
    use crate::conn::connect::Connector;
    use crate::position::offset::{BinlogOffset, BinlogPosition};
    use crate::schema::{load_table, TableId};

    let db = TestDb::new("newtab_cursor");
    create(&db, "t1", 1, 5);
    create(&db, "t2", T2 + 1, 5);
    let (file, pos) = master_status(&db);
    db.sql(&[
        "BEGIN",
        "UPDATE t1 SET score = 100 WHERE id IN (1, 2)",
        &format!("UPDATE t2 SET score = 200 WHERE id = {}", T2 + 1),
        "UPDATE t1 SET score = 300 WHERE id = 3",
        "COMMIT",
    ]);
    let mut config = crate::MySqlCdcConfig::parse(&db.options(PATTERN, &on("64"))).unwrap();
    config.newly_added_tables = true;
    let connector = Connector::new(&config);
    let server_id = db
        .server_ids
        .split('-')
        .next()
        .unwrap()
        .parse::<u32>()
        .unwrap();
    let t1 = TableId::new(db.name.as_str(), "t1");
    let t2 = TableId::new(db.name.as_str(), "t2");
    let ids = |changes: &[RowChange]| -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                c.after
                    .as_ref()
                    .map(|r| format!("{}:{:?}", c.table, r[0]))
                    .unwrap()
            })
            .collect()
    };
    db.block(async {
        let mut conn = connector.connect().await.unwrap();
        let s1 = load_table(&mut conn, &t1).await.unwrap().unwrap();
        let s2 = load_table(&mut conn, &t2).await.unwrap().unwrap();
        let start = BinlogOffset::at(BinlogPosition::new(file.as_str(), pos));
        let heartbeat = std::time::Duration::from_secs(1);
        let mut cursor = BinlogCursor::open(
            &connector,
            server_id,
            &start,
            Arc::new(vec![s1.clone()]),
            heartbeat,
        )
        .await
        .unwrap();
        cursor.set_watch(Arc::new(TableWatch::new(&config, Vec::new())));
        let mut before = Vec::new();
        let found = loop {
            cursor.next(&mut before).await.unwrap();
            while cursor.try_next(&mut before).unwrap() {}
            let found = cursor.take_found();
            if !found.is_empty() {
                break found;
            }
        };
        assert_eq!(found, vec![t2.clone()]);
        assert_eq!(
            ids(&before),
            ["0:Int(1)", "0:Int(2)"],
            "t1's rows before t2's table map"
        );
        let offset = cursor.offset();
        assert_eq!(offset.skip_rows, 2, "mid-transaction: {offset}");
        cursor.close().await;

        let mut cursor = BinlogCursor::open(
            &connector,
            server_id,
            &offset,
            Arc::new(vec![s1, s2]),
            heartbeat,
        )
        .await
        .unwrap();
        let mut after = Vec::new();
        while after.len() < 2 {
            cursor.next(&mut after).await.unwrap();
        }
        assert_eq!(
            ids(&after),
            [format!("1:Int({})", T2 + 1), "0:Int(3)".to_string()]
        );
        assert_eq!(after[0].txn_start, offset.position, "the same transaction");
        cursor.close().await;
        let _ = conn.disconnect().await;
    });
}

/// With checkpoint handover at parallelism 2, the binlog reader resumes only after a checkpoint
/// that completed once every chunk of the new table was read (chunks of other readers are then
/// downstream before any change of their keys).
#[test]
fn with_checkpoint_handover_the_binlog_reader_resumes_after_a_checkpoint_also_when_restored_suspended(
) {
    let db = TestDb::new("newtab_handover");
    create(&db, "t1", 1, 100);
    let mut options = on("50");
    options.push(("scan.incremental.snapshot.handover", "checkpoint"));
    let source = db.source(PATTERN, &options, COLUMNS);
    let mut h = Harness::new(source.as_ref(), 2, 256).unwrap();
    let mut view = Materialized::default();
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "snapshot of t1");
    h.checkpoint().unwrap();
    db.sql(&["INSERT INTO t1 VALUES (700, 'streaming', 1)"]);
    view.catch_up(&mut h, &state(&db, &["t1"]), TIMEOUT, "binlog of t1");

    create(&db, "t2", T2 + 1, 300);
    db.sql(&["UPDATE t1 SET score = -1 WHERE id = 1"]);
    let snapshot = h.run_until(TIMEOUT, |e| rows_of_t2(e) >= 300).unwrap();
    view.apply(&snapshot);
    // Every chunk is in; without a checkpoint the paused binlog (t1's update too) stays back.
    let early = h.run_until(Duration::from_secs(2), |e| !e.is_empty());
    assert!(
        early.is_err(),
        "binlog rows before a checkpoint: {:?}",
        early.map(|e| e.len())
    );
    // Taken while the binlog reader is suspended with every chunk in: the resume goes out only
    // once this checkpoint completes, after the readers' states were taken.
    let suspended = h.checkpoint().unwrap();
    let at_suspended = view.rows.clone();
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "resumed after the checkpoint",
    );
    db.sql(&["UPDATE t2 SET score = 5 WHERE id <= 1000003"]);
    view.catch_up(&mut h, &state(&db, &["t1", "t2"]), TIMEOUT, "streaming t2");
    h.close().unwrap();

    // Restored suspended: the reader reports again, the enumerator answers (after a checkpoint,
    // as before) and the reader resumes from the suspension with nothing lost or repeated.
    let mut view = Materialized {
        rows: at_suspended,
        ..Default::default()
    };
    let mut h = Harness::restore(source.as_ref(), &suspended, 256).unwrap();
    let early = h.run_until(Duration::from_secs(1), |e| !e.is_empty());
    assert!(
        early.is_err(),
        "binlog rows before a checkpoint after the restore: {:?}",
        early.map(|e| e.len())
    );
    h.checkpoint().unwrap();
    view.catch_up(
        &mut h,
        &state(&db, &["t1", "t2"]),
        TIMEOUT,
        "restored while suspended",
    );
    h.close().unwrap();
}
