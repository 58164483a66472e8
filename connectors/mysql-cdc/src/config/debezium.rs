//! Flink CDC's `debezium.*` pass-through options: the ones that mean something here are read
//! (`debezium.skipped.operations`, the value handling modes below,
//! `debezium.event.deserialization.failure.handling.mode`; `debezium.database.ssl.mode` is read
//! by `conn/tls.rs`), every other one is accepted and named in one WARN as ignored.
//!
//! The handling modes say how Debezium hands values to Flink CDC's converter, which then fits them
//! to the declared column: `binary.handling.mode` decides what a BINARY/VARBINARY/BLOB column
//! declared STRING holds (base64 or hex text; raw `bytes` have no text form here, so STRING is
//! refused then, as before). `decimal.handling.mode` is accepted with each of its values and
//! changes nothing here: a DECIMAL column declared DOUBLE reads the nearest double and one
//! declared STRING its exact text in every mode, as Flink CDC's converter fits either.
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
pub const BINARY_HANDLING: &str = "debezium.binary.handling.mode";
pub const DECIMAL_HANDLING: &str = "debezium.decimal.handling.mode";
pub const DESERIALIZATION_FAILURE: &str = "debezium.event.deserialization.failure.handling.mode";

/// `debezium.binary.handling.mode`: the text of a binary column declared STRING.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BinaryMode {
    /// Debezium's default: bytes, which only a BYTES column takes here.
    #[default]
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

/// `debezium.decimal.handling.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecimalMode {
    #[default]
    Precise,
    /// DECIMAL columns may be declared DOUBLE.
    Double,
    String,
}

/// The value handling modes, which widen the Flink types a column may be declared as (value/flink_type.rs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueModes {
    pub binary: BinaryMode,
    pub decimal: DecimalMode,
}

/// `bytes` as text in `mode` (not `Bytes`, which value/column_builder.rs never asks for).
pub fn binary_text(mode: BinaryMode, bytes: &[u8]) -> String {
    const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let alphabet = match mode {
        BinaryMode::Hex => return bytes.iter().map(|b| format!("{b:02x}")).collect(),
        BinaryMode::Base64UrlSafe => URL_SAFE,
        BinaryMode::Base64 | BinaryMode::Bytes => STANDARD,
    };
    // Padded, as Java's Base64 encoders Debezium uses (getEncoder, getUrlEncoder).
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

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
    pub value_modes: ValueModes,
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
        let mode = |key: &str, modes: &[&str]| -> Result<Option<String>> {
            let Some(raw) = options.get_str(key) else {
                return Ok(None);
            };
            let value = raw.trim().to_ascii_lowercase();
            if !modes.contains(&value.as_str()) {
                return Err(invalid(
                    key,
                    format!(
                        "'{raw}' is not one of {}.",
                        rust_core::options::one_of(modes)
                    ),
                ));
            }
            Ok(Some(value))
        };
        let binary = match mode(
            BINARY_HANDLING,
            &["bytes", "base64", "base64-url-safe", "hex"],
        )?
        .as_deref()
        {
            Some("base64") => BinaryMode::Base64,
            Some("base64-url-safe") => BinaryMode::Base64UrlSafe,
            Some("hex") => BinaryMode::Hex,
            _ => BinaryMode::Bytes,
        };
        let decimal = match mode(DECIMAL_HANDLING, &["precise", "double", "string"])?.as_deref() {
            Some("double") => DecimalMode::Double,
            Some("string") => DecimalMode::String,
            _ => DecimalMode::Precise,
        };
        if let Some(other) = mode(DESERIALIZATION_FAILURE, &["fail", "warn", "skip", "ignore"])?
            .filter(|m| m != "fail")
        {
            return Err(invalid(
                DESERIALIZATION_FAILURE,
                format!(
                    "only 'fail' is supported, not '{other}': a binlog event of a captured table that cannot be \
                     decoded fails the job, since skipping it would drop its row changes silently. Remove the option \
                     or set it to 'fail'."
                ),
            ));
        }
        const READ_HERE: &[&str] = &[
            SKIPPED_OPERATIONS,
            BINARY_HANDLING,
            DECIMAL_HANDLING,
            DESERIALIZATION_FAILURE,
        ];
        let mut ignored: Vec<String> = options
            .keys()
            .filter(|k| {
                // A bare 'debezium.' names no property: left unread, so it is refused as unknown.
                k.len() > PREFIX.len()
                    && k.starts_with(PREFIX)
                    && !READ_HERE.contains(k)
                    && !read_elsewhere.contains(k)
            })
            .map(str::to_string)
            .collect();
        ignored.sort();
        for key in &ignored {
            options.get_str(key); // consumed: accepted, with the WARN below
        }
        if !ignored.is_empty() {
            tracing::warn!(
                "ignoring {}: rust-mysql-cdc runs no Debezium engine; of the 'debezium.*' options only {} and \
                 'debezium.database.ssl.mode' have a meaning here",
                ignored.join(", "),
                READ_HERE.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
            );
        }
        Ok(DebeziumOptions {
            skipped,
            value_modes: ValueModes { binary, decimal },
            ignored,
        })
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
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
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
        assert_eq!(
            d.skipped,
            SkippedOperations {
                inserts: false,
                updates: false,
                deletes: true
            }
        );
        assert_eq!(
            d.ignored,
            vec![
                "debezium.database.password",
                "debezium.snapshot.locking.mode"
            ]
        );
        assert_eq!(
            parse(&[(SKIPPED_OPERATIONS, "none")]).unwrap().skipped,
            SkippedOperations::default()
        );
        assert_eq!(
            parse(&[(SKIPPED_OPERATIONS, "C,U")]).unwrap().skipped,
            SkippedOperations {
                inserts: true,
                updates: true,
                deletes: false
            }
        );
        let e = parse(&[(SKIPPED_OPERATIONS, "d,x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(SKIPPED_OPERATIONS) && e.contains("'none'"),
            "{e}"
        );
    }

    #[test]
    fn value_handling_modes_are_read_and_failure_modes_other_than_fail_refused() {
        let d = parse(&[
            (BINARY_HANDLING, "Base64-URL-Safe"),
            (DECIMAL_HANDLING, "double"),
            (DESERIALIZATION_FAILURE, "fail"),
        ])
        .unwrap();
        assert_eq!(
            d.value_modes,
            ValueModes {
                binary: BinaryMode::Base64UrlSafe,
                decimal: DecimalMode::Double
            }
        );
        assert!(
            d.ignored.is_empty(),
            "read keys are not in the ignored list: {:?}",
            d.ignored
        );
        assert_eq!(parse(&[]).unwrap().value_modes, ValueModes::default());
        let e = parse(&[(BINARY_HANDLING, "base32")])
            .unwrap_err()
            .to_string();
        assert!(e.contains(BINARY_HANDLING) && e.contains("'hex'"), "{e}");
        for mode in ["warn", "skip"] {
            let e = parse(&[(DESERIALIZATION_FAILURE, mode)])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(DESERIALIZATION_FAILURE)
                    && e.contains("only 'fail'")
                    && e.contains(mode),
                "{e}"
            );
        }
    }

    #[test]
    fn binary_text_matches_javas_encoders() {
        // Java: Base64.getEncoder() / getUrlEncoder() (padded), and lower-case hex as Debezium.
        let bytes = [0xfb, 0xff, 0x00, 0x41, 0x42];
        assert_eq!(binary_text(BinaryMode::Base64, &bytes), "+/8AQUI=");
        assert_eq!(binary_text(BinaryMode::Base64UrlSafe, &bytes), "-_8AQUI=");
        assert_eq!(binary_text(BinaryMode::Hex, &bytes), "fbff004142");
        assert_eq!(binary_text(BinaryMode::Base64, b"abc"), "YWJj");
        assert_eq!(binary_text(BinaryMode::Base64, b"ab"), "YWI=");
        assert_eq!(binary_text(BinaryMode::Base64, b""), "");
    }
}
