//! Running the binary, and the same source run in-process the way a job would run it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use rust_core::api::RowKind;
use rust_core::registry::Registry;
use rust_core::testing::{Emitted, Harness};
use rust_core::types::RowType;

pub const BIN: &str = env!("CARGO_BIN_EXE_flink-rust-preview");

/// Runs the binary to completion.
pub fn preview(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run flink-rust-preview")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The registry the shared library installs.
pub fn registry() -> Registry {
    Registry::new(flink_rust_bridge::factories())
}

pub fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The message job submission gives for this source (what JNI `validateSource` throws, after
/// its operation name): the CLI must print the same.
pub fn submission_error(
    connector: &str,
    pairs: &[(&str, &str)],
    names: &[&str],
    types: &[&str],
) -> String {
    let mut options = options(pairs);
    options.insert("connector".into(), connector.into());
    let row_type = RowType::parse(names, types).expect("row type");
    match registry().validate_source(connector, options, &row_type) {
        Ok(_) => panic!("{connector} {pairs:?} was accepted"),
        Err(e) => {
            assert!(e.is_validation(), "{e}");
            e.message_chain()
        }
    }
}

/// Every batch a source emits until its end, run in-process on the Harness (as a job would).
pub fn run_in_process(
    connector: &str,
    pairs: &[(&str, &str)],
    row_type: &RowType,
    parallelism: u32,
) -> Vec<Emitted> {
    let mut options = options(pairs);
    options.insert("connector".into(), connector.into());
    let source = registry()
        .validate_source(connector, options, row_type)
        .expect("valid source");
    let mut h = Harness::new(source.as_ref(), parallelism, 4096).unwrap();
    let emitted = h.run_until(Duration::from_secs(60), |_| false).unwrap();
    assert!(h.all_ended(), "a bounded source");
    h.close().unwrap();
    emitted
}

/// (row kind label, BIGINT column `column`) of every row, in emission order.
pub fn kinds_and_ids(emitted: &[Emitted], column: usize) -> Vec<(String, i64)> {
    emitted
        .iter()
        .flat_map(|e| {
            let ids = e.rows.column(column).as_primitive::<Int64Type>().clone();
            e.kinds
                .iter()
                .enumerate()
                .map(move |(i, k)| (label(*k).to_string(), ids.value(i)))
        })
        .collect()
}

pub fn label(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Insert => "+I",
        RowKind::UpdateBefore => "-U",
        RowKind::UpdateAfter => "+U",
        RowKind::Delete => "-D",
    }
}

/// The JSON lines of stdout, parsed.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}
