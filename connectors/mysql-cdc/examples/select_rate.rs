//! The server's own limit, measured by a minimal client: how fast MySQL/MariaDB streams a table to
//! a client that does nothing but count rows (`make bench-cdc` runs it beside the connectors).
//!
//! - `select`: `SELECT * FROM <table>` streamed over one connection, or over N connections each
//!   reading an equal slice of the integer primary key `id` (the server's limit for N readers).
//!   `binary` is the binary protocol (a prepared statement, `exec_iter`, what rust-mysql-cdc's
//!   snapshot uses), `text` the text protocol (`query_iter`, what JDBC uses by default).
//! - `binlog`: a replication connection from a binlog file and position, decoding each row event
//!   of the table into rows and counting them until `--expect` rows arrived, timed from the first
//!   row to the last (the binlog-side counterpart of the SELECT limit). With `--end-pos` (the
//!   binlog position after the burst) rows are not decoded: `binlog-raw` is the rate at which the
//!   server sends the burst, the binlog's own limit.
//!
//! Output is one machine-readable line per measurement:
//! `SELECT_RATE mode=binary streams=1 rows=2000000 seconds=1.234 rows_per_s=1620745`.
//!
//! Usage (connection from MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD):
//!   select_rate select --table db.t [--protocol binary|text|both] [--streams 1,2]
//!   select_rate binlog --table db.t --file bin.000001 --pos 4 --expect 1000000 [--server-id 6190]
//!     [--end-pos P]

use std::time::Instant;

use futures_util::StreamExt;
use mysql_async::binlog::events::EventData;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts, OptsBuilder};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn opts() -> Opts {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    OptsBuilder::default()
        .ip_or_hostname(env("MYSQL_HOST", "127.0.0.1"))
        .tcp_port(env("MYSQL_PORT", "3306").parse().expect("MYSQL_PORT"))
        .user(Some(env("MYSQL_USER", "root")))
        .pass(Some(env("MYSQL_PASSWORD", "")))
        .prefer_socket(false)
        .init(vec![
            "SET time_zone = '+00:00'",
            "SET SESSION net_write_timeout = 3600",
        ])
        .into()
}

struct Args {
    command: String,
    table: String,
    protocols: Vec<String>,
    streams: Vec<usize>,
    file: String,
    pos: u64,
    expect: u64,
    end_pos: Option<u64>,
    server_id: u32,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let command = it.next().unwrap_or_else(|| usage("missing command"));
    let mut a = Args {
        command,
        table: String::new(),
        protocols: vec!["binary".into(), "text".into()],
        streams: vec![1],
        file: String::new(),
        pos: 4,
        expect: 0,
        end_pos: None,
        server_id: 6190,
    };
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--table" => a.table = value,
            "--end-pos" => a.end_pos = Some(value.parse().expect("--end-pos")),
            "--protocol" => {
                a.protocols = if value == "both" {
                    vec!["binary".into(), "text".into()]
                } else {
                    vec![value]
                }
            }
            "--streams" => {
                a.streams = value
                    .split(',')
                    .map(|s| s.trim().parse().expect("--streams"))
                    .collect()
            }
            "--file" => a.file = value,
            "--pos" => a.pos = value.parse().expect("--pos"),
            "--expect" => a.expect = value.parse().expect("--expect"),
            "--server-id" => a.server_id = value.parse().expect("--server-id"),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.table.is_empty() {
        usage("--table is required");
    }
    a
}

fn usage(why: &str) -> ! {
    eprintln!("select_rate: {why}\nusage: select_rate select --table db.t [--protocol binary|text|both] [--streams 1,2]\n       select_rate binlog --table db.t --file F --pos P --expect N [--server-id ID]");
    std::process::exit(2);
}

/// Streams `sql` and counts the rows: nothing else is done with them.
async fn count_rows(binary: bool, sql: String) -> Res<u64> {
    let mut conn = Conn::new(opts()).await?;
    let mut n = 0u64;
    if binary {
        let mut result = conn.exec_iter(sql, ()).await?;
        while let Some(row) = result.next().await? {
            std::hint::black_box(&row);
            n += 1;
        }
    } else {
        let mut result = conn.query_iter(sql).await?;
        while let Some(row) = result.next().await? {
            std::hint::black_box(&row);
            n += 1;
        }
    }
    conn.disconnect().await?;
    Ok(n)
}

async fn select(a: &Args) -> Res<()> {
    let mut conn = Conn::new(opts()).await?;
    let (min, max): (i64, i64) = conn
        .query_first(format!("SELECT MIN(id), MAX(id) FROM {}", a.table))
        .await?
        .ok_or("empty table")?;
    conn.disconnect().await?;
    for protocol in &a.protocols {
        let binary = protocol == "binary";
        for &streams in &a.streams {
            let span = (max - min + 1) as u64;
            let queries: Vec<String> = if streams <= 1 {
                vec![format!("SELECT * FROM {}", a.table)]
            } else {
                (0..streams as u64)
                    .map(|i| {
                        let lo = min + (span * i / streams as u64) as i64;
                        let hi = min + (span * (i + 1) / streams as u64) as i64;
                        format!("SELECT * FROM {} WHERE id >= {lo} AND id < {hi}", a.table)
                    })
                    .collect()
            };
            let start = Instant::now();
            // One thread (and runtime) per stream: the streams decode in parallel, as readers do.
            let handles: Vec<_> = queries
                .into_iter()
                .map(|q| std::thread::spawn(move || block_on(count_rows(binary, q))))
                .collect();
            let mut rows = 0;
            for h in handles {
                rows += h.join().map_err(|_| "a stream panicked")??;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "SELECT_RATE mode={protocol} streams={streams} rows={rows} seconds={secs:.3} rows_per_s={:.0}",
                rows as f64 / secs
            );
        }
    }
    Ok(())
}

async fn binlog(a: &Args) -> Res<()> {
    let (db, table) = a.table.split_once('.').ok_or("--table must be db.table")?;
    let conn = Conn::new(opts()).await?;
    let request = BinlogStreamRequest::new(a.server_id)
        .with_filename(a.file.as_bytes())
        .with_pos(a.pos);
    let mut stream = conn.get_binlog_stream(request).await?;
    let mut rows = 0u64;
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    let mut wanted_ids = std::collections::HashSet::new();
    while rows < a.expect {
        let event = stream.next().await.ok_or("binlog stream ended")??;
        if let Some(end) = a.end_pos {
            // Raw: the server's sending rate. Rows events are not decoded; the burst's rows count
            // as received when the event ending at (or past) its end position arrives.
            if first.is_none() {
                if let Ok(Some(EventData::RowsEvent(ev))) = event.read_data() {
                    if wanted_ids.contains(&ev.table_id()) {
                        first = Some(Instant::now());
                    }
                } else if let Ok(Some(EventData::TableMapEvent(tme))) = event.read_data() {
                    if tme.database_name() == db && tme.table_name() == table {
                        wanted_ids.insert(tme.table_id());
                    }
                }
            }
            if u64::from(event.header().log_pos()) >= end {
                rows = a.expect;
                last = Instant::now();
            }
            continue;
        }
        match event.read_data()? {
            Some(EventData::TableMapEvent(tme))
                if tme.database_name() == db && tme.table_name() == table =>
            {
                wanted_ids.insert(tme.table_id());
            }
            Some(EventData::RowsEvent(ev)) if wanted_ids.contains(&ev.table_id()) => {
                let tme = stream
                    .get_tme(ev.table_id())
                    .ok_or("rows event without table map")?;
                for row in ev.rows(tme) {
                    let (before, after) = row?;
                    std::hint::black_box((&before, &after));
                    rows += 1;
                }
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
            }
            _ => {}
        }
    }
    let secs = last
        .duration_since(first.unwrap_or(last))
        .as_secs_f64()
        .max(1e-9);
    println!(
        "SELECT_RATE mode={} streams=1 rows={rows} seconds={secs:.3} rows_per_s={:.0}",
        if a.end_pos.is_some() {
            "binlog-raw"
        } else {
            "binlog"
        },
        rows as f64 / secs
    );
    let _ = stream.close().await;
    Ok(())
}

fn block_on<T>(future: impl std::future::Future<Output = Res<T>>) -> Res<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn main() -> Res<()> {
    let a = parse_args();
    match a.command.as_str() {
        "select" => block_on(select(&a)),
        "binlog" => block_on(binlog(&a)),
        other => usage(&format!("unknown command {other}")),
    }
}
