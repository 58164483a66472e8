//! rust-mysql-cdc's snapshot without Flink or a JVM: the enumerator and N readers driven by
//! rust-core's in-process harness, reading a table in `scan.startup.mode = 'snapshot'`, then the
//! emitted Arrow batches encoded into Flink's `BinaryRowData` layout (what the JNI poll does).
//! Separates the connector's own cost from Flink's, and is the target to profile
//! (`perf record -g target/release/examples/snapshot_rate ...`).
//!
//! Usage (connection from MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD):
//!   snapshot_rate --database cdc_bench --table orders [--parallelism 1] [--reps 3]
//!     [--columns "id BIGINT, customer_id INT, ..."] (default: the benchmark table's columns)
//!     [--option KEY=VALUE ...] (more connector options, e.g. scan.incremental.snapshot.chunk.size=100000)
//!     [--binlog FILE:POS --expect N] (instead of the snapshot: the binlog from FILE:POS until N
//!     changes arrived, `scan.startup.mode = 'specific-offset'`, timed from the first change)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use connector_mysql_cdc::MySqlCdcFactory;
use rust_core::api::DEFAULT_BATCH_ROWS;
use rust_core::registry::Registry;
use rust_core::row::BinaryRowEncoder;
use rust_core::testing::Harness;
use rust_core::types::RowType;

const COLUMNS: &str =
    "id BIGINT, customer_id INT, quantity INT, amount DECIMAL(12, 2), status STRING, note STRING, \
                       created_at TIMESTAMP(3), version BIGINT";

fn main() -> rust_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut database, mut table, mut parallelism, mut reps, mut columns) = (
        "cdc_bench".to_string(),
        "orders".to_string(),
        1u32,
        3u32,
        COLUMNS.to_string(),
    );
    let (mut binlog, mut expect): (Option<String>, usize) = (None, 0);
    let mut extra: Vec<(String, String)> = Vec::new();
    while let Some(flag) = args.next() {
        let value = args.next().expect("every flag takes a value");
        match flag.as_str() {
            "--database" => database = value,
            "--table" => table = value,
            "--parallelism" => parallelism = value.parse().expect("--parallelism"),
            "--reps" => reps = value.parse().expect("--reps"),
            "--columns" => columns = value,
            "--binlog" => binlog = Some(value),
            "--expect" => expect = value.parse().expect("--expect"),
            "--option" => {
                let (k, v) = value.split_once('=').expect("--option KEY=VALUE");
                extra.push((k.to_string(), v.to_string()));
            }
            other => panic!("unknown flag {other}"),
        }
    }
    // Split at top-level commas (DECIMAL(12, 2) has one inside).
    let mut parts = vec![String::new()];
    let mut depth = 0;
    for ch in columns.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("one part at least").push(ch);
    }
    let (names, types): (Vec<String>, Vec<String>) = parts
        .iter()
        .map(|c| {
            let (n, t) = c.trim().split_once(' ').expect("column: name TYPE");
            (n.to_string(), t.to_string())
        })
        .unzip();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let row_type = RowType::parse(&names, &types)?;
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let mut options: BTreeMap<String, String> = [
        ("hostname", env("MYSQL_HOST", "127.0.0.1")),
        ("port", env("MYSQL_PORT", "3306")),
        ("username", env("MYSQL_USER", "root")),
        ("password", env("MYSQL_PASSWORD", "")),
        ("database-name", database.clone()),
        ("table-name", table.clone()),
        ("server-id", "6180-6189".to_string()),
        ("scan.startup.mode", "snapshot".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(at) = &binlog {
        let (file, pos) = at.split_once(':').expect("--binlog FILE:POS");
        options.insert("scan.startup.mode".into(), "specific-offset".into());
        options.insert("scan.startup.specific-offset.file".into(), file.into());
        options.insert("scan.startup.specific-offset.pos".into(), pos.into());
    }
    options.extend(extra);
    let registry = Registry::new(vec![Box::new(MySqlCdcFactory)]);
    let source = registry.create_source("rust-mysql-cdc", options, &row_type)?;

    let mut encoder = BinaryRowEncoder::new(&row_type);
    let (mut out, mut offsets) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let start = Instant::now();
        let mut harness = Harness::new(source.as_ref(), parallelism, DEFAULT_BATCH_ROWS)?;
        let mut first: Option<Instant> = None;
        let emitted = harness.run_until(Duration::from_secs(600), |all| {
            if !all.is_empty() {
                first.get_or_insert_with(Instant::now);
            }
            binlog.is_some() && all.iter().map(|e| e.rows.num_rows()).sum::<usize>() >= expect
        })?;
        let read = if binlog.is_some() {
            first.map_or(0.0, |f| f.elapsed().as_secs_f64())
        } else {
            start.elapsed().as_secs_f64()
        };
        harness.close()?;
        let rows: usize = emitted.iter().map(|e| e.rows.num_rows()).sum();
        let encode_start = Instant::now();
        for e in &emitted {
            out.clear();
            offsets.clear();
            encoder.encode(&e.rows, Some(&e.kinds), &mut out, &mut offsets)?;
        }
        let encode = encode_start.elapsed().as_secs_f64();
        println!(
            "SNAPSHOT_RATE rep={} {database}.{table} parallelism={parallelism} rows={rows} read={read:.3}s \
             ({:.0} rows/s) encode={:.1} ns/row (one thread)",
            rep + 1,
            rows as f64 / read,
            encode * 1e9 / rows as f64
        );
    }
    Ok(())
}
