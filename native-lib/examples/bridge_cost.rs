//! Bridge cost, measured apart from generation (`make bench` runs it next to the Flink benchmark).
//!
//! For the benchmark's schema it times, on one thread:
//!   1. generation only: `rust-datagen`'s reader producing Arrow batches;
//!   2. encoding only: one generated batch encoded into Flink `BinaryRowData` bytes again and again
//!      (measured directly: the difference of two noisy end-to-end timings can be negative);
//!   3. generation + encoding: the reader through `ReaderRuntime::poll`, the exact code the JNI
//!      `readerPollNext` runs.
//!
//!   4. as (3), with a rate limit far above what one thread reaches
//!      (`scan.rate-limit.rows-per-second` = 10^12): the rate limiter's own cost, measured on
//!      one thread without Flink's noise.
//!
//! The Java harness adds (4), the same reader driven through JNI by the Java `RustSourceReader`;
//! crossing + row wrapping = (4) - (3).
//!
//! Run: `cargo run --release -p flink-rust-bridge --example bridge_cost -- [rows]`

use std::collections::BTreeMap;
use std::time::Instant;

use connector_datagen::DatagenFactory;
use rust_core::api::{ReaderContext, ReaderInit, ReaderPoll, DEFAULT_BATCH_ROWS};
use rust_core::protocol::{self, SplitBytes};
use rust_core::registry::Registry;
use rust_core::runtime::{DynSource, ReaderRuntime};
use rust_core::types::RowType;

fn main() -> rust_core::Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .map_or(20_000_000, |a| a.parse().expect("rows"));
    let row_type = RowType::parse(
        &["id", "v", "price", "name"],
        &["BIGINT", "INT", "DOUBLE", "STRING"],
    )?;
    let options: BTreeMap<String, String> = [
        ("number-of-rows", rows.to_string()),
        ("rows-per-second", "1000000000".to_string()),
        ("fields.name.length", "10".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let registry = Registry::new(vec![Box::new(DatagenFactory)]);
    let source = registry.create_source("rust-datagen", options.clone(), &row_type)?;
    let mut limited_options = options;
    limited_options.insert(
        "scan.rate-limit.rows-per-second".into(),
        "1000000000000".into(),
    );
    let limited = registry.create_source("rust-datagen", limited_options, &row_type)?;

    // Warm up once, then measure each phase twice, alternating, and keep the faster run.
    let _ = generation_only(source.as_ref(), rows / 10)?;
    let _ = generation_and_encoding(source.as_ref(), rows / 10)?;
    let (mut generation, mut encoding, mut both, mut with_limit) =
        (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for round in 0..4 {
        generation = generation.min(generation_only(source.as_ref(), rows)?);
        encoding = encoding.min(encoding_only(source.as_ref(), &row_type, rows)?);
        // Alternate which of the two goes first: the position alone moved the figures by 15%.
        let limited_first = round % 2 == 1;
        if limited_first {
            with_limit = with_limit.min(generation_and_encoding(limited.as_ref(), rows)?);
        }
        both = both.min(generation_and_encoding(source.as_ref(), rows)?);
        if !limited_first {
            with_limit = with_limit.min(generation_and_encoding(limited.as_ref(), rows)?);
        }
    }
    println!("bridge_cost: {rows} rows of (id BIGINT, v INT, price DOUBLE, name STRING(10)), one thread, best of 4");
    println!(
        "RESULT generation={generation:.1} ns/row ({:.1} M rows/s)",
        1e3 / generation
    );
    println!(
        "RESULT encoding={encoding:.1} ns/row ({:.1} M rows/s)",
        1e3 / encoding
    );
    println!(
        "RESULT generation+encoding={both:.1} ns/row ({:.1} M rows/s)",
        1e3 / both
    );
    println!(
        "RESULT generation+encoding with an unreachable rate limit={with_limit:.1} ns/row ({:.1} M rows/s), \
         limiter overhead {:+.1}%",
        1e3 / with_limit,
        100.0 * (with_limit - both) / both
    );
    Ok(())
}

fn encoding_only(source: &dyn DynSource, row_type: &RowType, rows: u64) -> rust_core::Result<f64> {
    let mut reader = source.create_reader(&init())?;
    let mut ctx = ReaderContext::new(init());
    reader.add_splits(all_splits(source)?, &mut ctx)?;
    let batch = loop {
        if let ReaderPoll::Batch(b) = reader.poll_next(&mut ctx)? {
            break b;
        }
    };
    let mut encoder = rust_core::row::BinaryRowEncoder::new(row_type);
    let (mut out, mut offsets) = (Vec::new(), Vec::new());
    let (start, mut n) = (Instant::now(), 0u64);
    while n < rows {
        out.clear();
        offsets.clear();
        encoder.encode(&batch.rows, None, &mut out, &mut offsets)?;
        n += batch.num_rows() as u64;
    }
    std::hint::black_box(&out);
    Ok(start.elapsed().as_nanos() as f64 / n as f64)
}

fn init() -> ReaderInit {
    ReaderInit::new(0, 1, DEFAULT_BATCH_ROWS)
}

/// Splits for one reader, straight from the enumerator (as Flink would assign them).
fn all_splits(source: &dyn DynSource) -> rust_core::Result<Vec<SplitBytes>> {
    let mut enumerator =
        source.create_enumerator(&rust_core::api::EnumeratorInit { parallelism: 1 }, None)?;
    enumerator.start()?;
    enumerator.add_reader(0)?;
    let mut splits = Vec::new();
    loop {
        let out = enumerator.handle_split_request(0, None)?;
        let mut got = false;
        for c in out.commands {
            if let rust_core::api::EnumeratorCommand::AssignSplits { splits: s, .. } = c {
                splits.extend(s);
                got = true;
            }
        }
        if !got {
            return Ok(splits);
        }
    }
}

fn generation_only(source: &dyn DynSource, rows: u64) -> rust_core::Result<f64> {
    let mut reader = source.create_reader(&init())?;
    let mut ctx = ReaderContext::new(init());
    reader.add_splits(all_splits(source)?, &mut ctx)?;
    reader.notify_no_more_splits(&mut ctx)?;
    let (start, mut n) = (Instant::now(), 0u64);
    while n < rows {
        match reader.poll_next(&mut ctx)? {
            ReaderPoll::Batch(b) => n += b.num_rows() as u64,
            ReaderPoll::EndOfInput => break,
            ReaderPoll::NothingAvailable { .. } => {}
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / n as f64)
}

fn generation_and_encoding(source: &dyn DynSource, rows: u64) -> rust_core::Result<f64> {
    let mut runtime = ReaderRuntime::new(source, init())?;
    let mut list = Vec::new();
    protocol::encode_split_list(&mut list, &all_splits(source)?);
    let splits = protocol::decode_split_list(&list)?;
    runtime.call(|r, ctx| r.add_splits(splits, ctx))?;
    runtime.call(|r, ctx| r.notify_no_more_splits(ctx))?;
    let (start, mut n) = (Instant::now(), 0u64);
    while n < rows {
        let response = runtime.poll()?;
        let status = i32::from_le_bytes(response[0..4].try_into().unwrap());
        if status == protocol::STATUS_END_OF_INPUT {
            break;
        }
        n += i32::from_le_bytes(response[24..28].try_into().unwrap()) as u64;
    }
    Ok(start.elapsed().as_nanos() as f64 / n as f64)
}
