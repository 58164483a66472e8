//! Flink CDC's `debezium.*` pass-through options: the ones that mean something here are read
//! (`debezium.skipped.operations`; `debezium.database.ssl.mode` is read by `tls.rs`), every
//! other one is accepted and named in one WARN as ignored.
//!
//! Why accept the rest: Flink CDC hands `debezium.*` to the Debezium engine it runs, and table
//! definitions written for it carry such keys (snapshot locking, converters, topic naming) that
//! have no counterpart in a reader without Debezium. Refusing them would make switching
//! connectors a rewrite; ignoring them silently would hide a setting the user relies on. Values
//! are never logged (`debezium.database.password` is a Debezium key).

use rust_core::error::BridgeError;
use rust_core::options::Options;
use rust_core::Result;

pub const PREFIX: &str = "debezium.";
pub const SKIPPED_OPERATIONS: &str = "debezium.skipped.operations";

/// Row changes of the binlog phase that are not emitted (Debezium's `skipped.operations`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkippedOperations {
    pub inserts: bool,
    pub updates: bool,
    pub deletes: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DebeziumOptions {
    pub skipped: SkippedOperations,
    /// `debezium.*` keys accepted without a meaning here (names only).
    pub ignored: Vec<String>,
}

impl DebeziumOptions {
    /// Reads (consumes) every `debezium.*` key but those in `read_elsewhere`.
    pub fn parse(
        options: &Options,
        read_elsewhere: &[&str],
        invalid: &dyn Fn(&str, String) -> BridgeError,
    ) -> Result<Self> {
        let skipped = match options.get_str(SKIPPED_OPERATIONS) {
            None => SkippedOperations::default(),
            Some(raw) => parse_skipped(raw).map_err(|e| invalid(SKIPPED_OPERATIONS, e))?,
        };
        let mut ignored: Vec<String> = options
            .keys()
            .filter(|k| k.starts_with(PREFIX) && *k != SKIPPED_OPERATIONS && !read_elsewhere.contains(k))
            .map(str::to_string)
            .collect();
        ignored.sort();
        for key in &ignored {
            options.get_str(key); // consumed: accepted, with the WARN below
        }
        if !ignored.is_empty() {
            tracing::warn!(
                "ignoring {}: rust-mysql-cdc runs no Debezium engine; of the 'debezium.*' options only \
                 '{SKIPPED_OPERATIONS}' and 'debezium.database.ssl.mode' have a meaning here",
                ignored.join(", ")
            );
        }
        Ok(DebeziumOptions { skipped, ignored })
    }
}

/// Debezium's list: `c` (inserts), `u` (updates), `d` (deletes), `t` (truncates, which this
/// connector never emits), comma-separated, or `none`.
fn parse_skipped(raw: &str) -> std::result::Result<SkippedOperations, String> {
    let mut skipped = SkippedOperations::default();
    let text = raw.trim();
    if text.eq_ignore_ascii_case("none") || text.is_empty() {
        return Ok(skipped);
    }
    for op in text.split(',').map(str::trim) {
        match op.to_ascii_lowercase().as_str() {
            "c" => skipped.inserts = true,
            "u" => skipped.updates = true,
            "d" => skipped.deletes = true,
            "t" => {}
            _ => {
                return Err(format!(
                    "'{raw}' is not a list of operations: use 'none' or any of c (inserts), u (updates), d \
                     (deletes), t (truncates) separated by commas, e.g. 'd,t'."
                ))
            }
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DebeziumOptions> {
        let options = Options::new(
            "rust-mysql-cdc",
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        );
        let invalid = |key: &str, msg: String| BridgeError::validation(format!("'{key}': {msg}"));
        DebeziumOptions::parse(&options, &["debezium.database.ssl.mode"], &invalid)
    }

    #[test]
    fn skipped_operations_and_ignored_keys() {
        let d = parse(&[
            (SKIPPED_OPERATIONS, " d , t "),
            ("debezium.snapshot.locking.mode", "none"),
            ("debezium.database.password", "secret"),
            ("debezium.database.ssl.mode", "required"),
        ])
        .unwrap();
        assert_eq!(d.skipped, SkippedOperations { inserts: false, updates: false, deletes: true });
        assert_eq!(d.ignored, vec!["debezium.database.password", "debezium.snapshot.locking.mode"]);
        assert_eq!(parse(&[(SKIPPED_OPERATIONS, "none")]).unwrap().skipped, SkippedOperations::default());
        assert_eq!(
            parse(&[(SKIPPED_OPERATIONS, "C,U")]).unwrap().skipped,
            SkippedOperations { inserts: true, updates: true, deletes: false }
        );
        let e = parse(&[(SKIPPED_OPERATIONS, "d,x")]).unwrap_err().to_string();
        assert!(e.contains(SKIPPED_OPERATIONS) && e.contains("'none'"), "{e}");
    }
}
