//! The binlog spill under backpressure: a sink that stops taking data while a burst of changes
//! is written, the binlog purged behind the reader, and nothing lost — live, and after a restore
//! from a checkpoint taken while batches were spilled. Without the spill the same restore fails
//! with the purged-binlog error; with the spill's segments gone it fails naming the spill.
//!
//! On a private MariaDB of this test process: PURGE BINARY LOGS on the shared server would break
//! other tests.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connector_mysql_cdc::state::split::CdcSplit;
use rust_core::runtime::DynSource;
use rust_core::testing::{Checkpoint, Harness};

use support::changelog::Materialized;
use support::PrivateServer;

const TIMEOUT: Duration = Duration::from_secs(180);
const BATCH_ROWS: usize = 512;
/// Rows of the burst: 50 INSERTs of 1000 rows, then an UPDATE of every third and a DELETE of
/// every seventh.
const BURST: i64 = 50_000;

/// A source over `shop.t` (created here, empty).
fn source(private: &PrivateServer, extra: &[(&str, &str)]) -> Box<dyn DynSource> {
    private.sql(&[
        "CREATE DATABASE shop",
        "CREATE TABLE shop.t (id BIGINT PRIMARY KEY, name VARCHAR(255), score BIGINT)",
    ]);
    let defaults = [
        ("server-id", "7300-7309"),
        ("scan.startup.mode", "latest-offset"),
        ("heartbeat.interval", "1s"),
    ];
    private.id_name_score_source("t", &[&defaults[..], extra].concat())
}

fn table(private: &PrivateServer) -> BTreeMap<i64, String> {
    let rows: Vec<(i64, Option<String>, Option<i64>)> =
        private.query("SELECT id, name, score FROM shop.t");
    let text = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
    rows.into_iter()
        .map(|(id, n, s)| {
            (
                id,
                format!("{}|{}", text(n), text(s.map(|s| s.to_string()))),
            )
        })
        .collect()
}

fn master_status(private: &PrivateServer) -> (String, u64) {
    let rows: Vec<mysql_async::Row> = private.query("SHOW MASTER STATUS");
    let row = &rows[0];
    (
        row.get::<String, _>(0).unwrap(),
        row.get::<u64, _>(1).unwrap(),
    )
}

fn binary_logs(private: &PrivateServer) -> Vec<String> {
    let rows: Vec<mysql_async::Row> = private.query("SHOW BINARY LOGS");
    rows.iter()
        .map(|r| r.get::<String, _>(0).unwrap())
        .collect()
}

/// The burst, and how many changelog rows it makes (inserts, -U/+U pairs, deletes).
fn burst(private: &PrivateServer, rows: i64) -> usize {
    let mut statements: Vec<String> = (0..rows / 1000)
        .map(|i| {
            let (from, to) = (1000 + i * 1000, 1000 + i * 1000 + 999);
            format!(
                "INSERT INTO shop.t SELECT seq, CONCAT('n', seq), seq FROM shop.seq_{from}_to_{to}"
            )
        })
        .collect();
    statements.push("UPDATE shop.t SET score = score + 1 WHERE id >= 1000 AND id % 3 = 0".into());
    statements.push("DELETE FROM shop.t WHERE id >= 1000 AND id % 7 = 0".into());
    private.sql(&statements);
    let ids = 1000..1000 + rows;
    let updates = ids.clone().filter(|id| id % 3 == 0).count();
    let deletes = ids.clone().filter(|id| id % 7 == 0).count();
    rows as usize + 2 * updates + deletes
}

/// A binlog reader running at the latest offset with `shop.t` empty but for 10 rows it emitted.
fn streaming<'a>(
    private: &PrivateServer,
    source: &'a dyn DynSource,
) -> (Harness<'a>, Materialized) {
    let mut h = Harness::new(source, 1, BATCH_ROWS).unwrap();
    let mut view = Materialized::default();
    private.sql(&["INSERT INTO shop.t SELECT seq, 'm', seq FROM shop.seq_1_to_10"]);
    view.catch_up(
        &mut h,
        &table(private),
        TIMEOUT,
        "the binlog phase before the burst",
    );
    (h, view)
}

/// Waits, the sink taking nothing, until the reader has read the binlog up to `(file, pos)`.
fn wait_read_up_to(h: &Harness, file: &str, pos: u64) {
    h.wait_without_polling(TIMEOUT, |h| {
        h.reader_text_metric(0, "currentBinlogFile").as_deref() == Some(file)
            && h.reader_metric(0, "currentBinlogPosition").unwrap_or(0) as u64 >= pos
    })
    .unwrap_or_else(|e| {
        panic!(
            "the reader did not read up to {file}:{pos} while the sink was stalled (at {:?}:{:?}): {e}",
            h.reader_text_metric(0, "currentBinlogFile"),
            h.reader_metric(0, "currentBinlogPosition")
        )
    });
}

/// A new binlog file, by restarting the server: after FLUSH BINARY LOGS, PURGE keeps the old
/// file until InnoDB's binlog checkpoint moves on, and nothing to wait on says when (see
/// gtid_start.rs). A running reader reconnects on its own. Returns the new file.
fn rotate(private: &PrivateServer) -> String {
    private.restart("");
    master_status(private).0
}

fn purge_to(private: &PrivateServer, file: &str) {
    private.sql(&[format!("PURGE BINARY LOGS TO '{file}'")]);
    assert_eq!(
        binary_logs(private),
        vec![file.to_string()],
        "everything before {file} purged"
    );
}

fn spill_state(cp: &Checkpoint) -> Option<connector_mysql_cdc::binlog::spill::SpillState> {
    cp.readers[0].iter().find_map(|s| {
        match rust_core::state::decode::<CdcSplit>(
            "split",
            <connector_mysql_cdc::MySqlCdcSource as rust_core::api::Source>::STATE_VERSION,
            &s.state,
        )
        .unwrap()
        {
            CdcSplit::BinlogSpilled(_, spill) => Some(spill),
            _ => None,
        }
    })
}

fn spill_dirs(base: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(base)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_stalled_sink_spills_a_burst_and_nothing_is_lost_after_the_binlog_is_purged_live_or_restored() {
    let private = PrivateServer::start("spill", "");
    let base = private.dir.join("spill");
    let base_text = base.to_string_lossy().into_owned();
    let source = source(
        &private,
        &[
            ("scan.binlog.spill.enabled", "true"),
            ("scan.binlog.spill.dir", &base_text),
            ("scan.binlog.spill.segment-size", "1mb"),
        ],
    );
    let (mut h, mut view) = streaming(&private, source.as_ref());
    let before = view.changes;

    // The sink stops taking data; the burst is written and the reader reads all of it.
    let expected_changes = burst(&private, BURST);
    let (file, pos) = master_status(&private);
    wait_read_up_to(&h, &file, pos);
    let spilled = h.reader_metric(0, "numSpilledBytes").unwrap();
    let segments = h.reader_metric(0, "spillSegments").unwrap();
    assert!(spilled > 1 << 20, "the burst went to disk: {spilled} bytes");
    assert!(segments > 1, "segments rotate at 1mb: {segments}");
    assert!(h.reader_metric(0, "spillPendingBatches").unwrap() > 50);

    // The binlog rotates (a server restart: the reader reconnects) and the reader follows (an
    // offset-only batch, spilled too); a checkpoint is taken with Flink still behind by the whole burst.
    let new_file = rotate(&private);
    wait_read_up_to(&h, &new_file, 4);
    let cp = h.checkpoint().unwrap();
    let at_cp = view.clone();
    let state = spill_state(&cp).expect("the checkpoint names the spilled batches");
    assert_eq!(
        state.resume.position.file, new_file,
        "the binlog resumes after the spilled batches"
    );
    assert!(state.segments.iter().all(|s| Path::new(&s.path).exists()));

    // The binlog the burst was written to is purged: only the spill has it now.
    purge_to(&private, &new_file);
    view.catch_up(&mut h, &table(&private), TIMEOUT, "live, after the purge");
    assert_eq!(
        view.changes - before,
        expected_changes,
        "every change exactly once"
    );
    h.close().unwrap();
    // Closing keeps what the last completed checkpoint needs for its restore.
    assert!(
        state.segments.iter().all(|s| Path::new(&s.path).exists()),
        "segments of the last checkpoint kept"
    );

    // Restored on a machine without the spill: the binlog is purged, the error names the spill.
    let dir = Path::new(&state.segments[0].path)
        .parent()
        .unwrap()
        .to_path_buf();
    let moved = dir.with_extension("moved");
    std::fs::rename(&dir, &moved).unwrap();
    let mut lost = Harness::restore(source.as_ref(), &cp, BATCH_ROWS).unwrap();
    let e = lost.run_until(TIMEOUT, |_| false).unwrap_err().to_string();
    assert!(
        e.contains("spill segments")
            && e.contains("cannot be opened")
            && e.contains("no longer has binlog file")
            && e.contains("scan.binlog.spill.dir"),
        "{e}"
    );
    let _ = lost.close();
    std::fs::rename(&moved, &dir).unwrap();

    // Restored where the spill is: the spilled batches, then the binlog after them.
    let mut h = Harness::restore(source.as_ref(), &cp, BATCH_ROWS).unwrap();
    let mut view = at_cp;
    view.catch_up(
        &mut h,
        &table(&private),
        TIMEOUT,
        "restored from the checkpoint after the purge",
    );
    assert_eq!(
        view.changes - before,
        expected_changes,
        "every change exactly once after the restore"
    );
    private.sql(&["UPDATE shop.t SET name = 'after' WHERE id % 100 = 1"]);
    view.catch_up(
        &mut h,
        &table(&private),
        TIMEOUT,
        "streaming after the restored spill",
    );
    // A checkpoint after the restored batches completes: their segments are deleted.
    h.checkpoint().unwrap();
    assert!(
        state.segments.iter().all(|s| !Path::new(&s.path).exists()),
        "restored segments deleted"
    );
    assert!(
        !dir.exists(),
        "the old reader's spill directory is removed once empty"
    );
    h.close().unwrap();
    assert!(
        spill_dirs(&base).is_empty(),
        "nothing spilled is left: {:?}",
        spill_dirs(&base)
    );
}

#[test]
fn without_the_spill_a_restore_after_the_purge_fails_with_the_purged_binlog_error() {
    let private = PrivateServer::start("spill-off", "");
    let source = source(&private, &[]);
    let (mut h, _view) = streaming(&private, source.as_ref());
    burst(&private, 5_000);
    // The reader blocks on its full channel: the checkpoint is where Flink is, before the burst.
    let cp = h.checkpoint().unwrap();
    assert!(spill_state(&cp).is_none());
    h.close().unwrap();
    let new_file = rotate(&private);
    purge_to(&private, &new_file);
    let mut h = Harness::restore(source.as_ref(), &cp, BATCH_ROWS).unwrap();
    let e = h.run_until(TIMEOUT, |_| false).unwrap_err().to_string();
    assert!(
        e.contains("no longer has binlog file") && e.contains("purged"),
        "{e}"
    );
    let _ = h.close();
}

#[test]
fn a_spill_at_its_bound_stops_the_reader_until_flink_and_checkpoints_free_space_and_loses_nothing()
{
    const BOUND: i64 = 1 << 20;
    let private = PrivateServer::start("spill-bound", "");
    let base = private.dir.join("spill");
    let base_text = base.to_string_lossy().into_owned();
    let source = source(
        &private,
        &[
            ("scan.binlog.spill.enabled", "true"),
            ("scan.binlog.spill.dir", &base_text),
            ("scan.binlog.spill.max-size", "1mb"),
            ("scan.binlog.spill.segment-size", "256kb"),
        ],
    );
    let (mut h, mut view) = streaming(&private, source.as_ref());
    let before = view.changes;
    let expected_changes = burst(&private, BURST);
    let (file, pos) = master_status(&private);

    // The sink takes nothing: the reader fills the spill up to its bound and stops there.
    h.wait_without_polling(TIMEOUT, |h| {
        h.reader_metric(0, "spillBytes").unwrap_or(0) > BOUND - (64 << 10)
    })
    .expect("the spill fills up to its bound");
    let read_to = h.reader_metric(0, "currentBinlogPosition").unwrap() as u64;
    assert!(
        read_to < pos,
        "at the bound the reader waits: it read to {read_to} of {file}:{pos}"
    );
    assert!(h.reader_metric(0, "spillBytes").unwrap() <= BOUND);

    // Flink takes batches again, with checkpoints: read segments go, the reader goes on.
    let expected = table(&private);
    while view.rows != expected {
        let got = h
            .run_until(TIMEOUT, |e| {
                let mut probe = view.clone();
                probe.apply(e);
                e.len() >= 8 || probe.rows == expected
            })
            .unwrap();
        view.apply(&got);
        assert!(
            view.anomalies.is_empty(),
            "{:?}",
            &view.anomalies[..view.anomalies.len().min(10)]
        );
        h.checkpoint().unwrap();
        let bytes = h.reader_metric(0, "spillBytes").unwrap();
        assert!(bytes <= BOUND, "the spill stays within its bound: {bytes}");
    }
    assert_eq!(
        view.changes - before,
        expected_changes,
        "every change exactly once"
    );
    let spilled = h.reader_metric(0, "numSpilledBytes").unwrap();
    assert!(
        spilled > 2 * BOUND,
        "space freed by checkpoints was used again: {spilled} bytes spilled in all"
    );
    h.close().unwrap();
}

/// End-to-end figures, not a timed test: `cargo test --release -p connector-mysql-cdc --test spill
/// burst_figures -- --ignored --nocapture`. The same burst read by a reader whose sink keeps up
/// (no spill written), and by one whose sink is stalled (everything spilled), then drained.
#[test]
#[ignore]
fn burst_figures() {
    use std::time::Instant;
    let rows = 200_000;
    // Without a spill: the sink polls all along.
    let private = PrivateServer::start("spill-figures", "");
    let source_off = source(&private, &[]);
    let (mut h, mut view) = streaming(&private, source_off.as_ref());
    let t = Instant::now();
    let changes = burst(&private, rows);
    let written = t.elapsed();
    // Counting rows, not materializing each round (the check's clones would dominate).
    let got = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= changes
        })
        .unwrap();
    let live = t.elapsed();
    view.apply(&got);
    assert_eq!(view.rows, table(&private));
    h.close().unwrap();
    drop(private);

    let private = PrivateServer::start("spill-figures-on", "");
    let base = private.dir.join("spill").to_string_lossy().into_owned();
    let source_on = source(
        &private,
        &[
            ("scan.binlog.spill.enabled", "true"),
            ("scan.binlog.spill.dir", &base),
        ],
    );
    let (mut h, mut view) = streaming(&private, source_on.as_ref());
    let t = Instant::now();
    burst(&private, rows);
    let written_on = t.elapsed();
    let (file, pos) = master_status(&private);
    wait_read_up_to(&h, &file, pos);
    let spilled_in = t.elapsed();
    let bytes = h.reader_metric(0, "numSpilledBytes").unwrap();
    let t = Instant::now();
    let got = h
        .run_until(TIMEOUT, |e| {
            e.iter().map(|b| b.rows.num_rows()).sum::<usize>() >= changes
        })
        .unwrap();
    let drained = t.elapsed();
    view.apply(&got);
    assert_eq!(view.rows, table(&private));
    assert!(view.anomalies.is_empty());
    h.close().unwrap();
    println!(
        "{changes} changes ({rows}-row burst)\n\
         no spill, sink keeping up: written in {written:?}, all emitted after {live:?} ({:.0} k changes/s)\n\
         spill, sink stalled: written in {written_on:?}, all read and spilled after {spilled_in:?} ({:.0} k changes/s), \
         {:.1} MiB spilled ({:.0} bytes/change)\n\
         spilled batches emitted once the sink polls again: {drained:?} ({:.0} k changes/s)",
        changes as f64 / live.as_secs_f64() / 1e3,
        changes as f64 / spilled_in.as_secs_f64() / 1e3,
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / changes as f64,
        changes as f64 / drained.as_secs_f64() / 1e3,
    );
}
