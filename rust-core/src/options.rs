//! Connector options: the string map Flink hands over (SQL `WITH (...)` or a DataStream builder),
//! read into typed values with errors that name the option, the value and what is expected.
//!
//! Every key a connector reads is remembered, so after building its typed config a connector calls
//! [`Options::ensure_all_consumed`] and any key it did not recognise fails the job at submission
//! with the list of options it does support, as Flink's `FactoryUtil` does.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{BridgeError, Result};

/// Keys Flink's own planner interprets for every table; never reported as unknown.
const FRAMEWORK_KEYS: &[&str] = &["connector", "scan.parallelism"];

/// Names how a key is valid: exactly, or with a placeholder for a column name (`fields.#.kind`).
#[derive(Clone, Debug)]
pub struct OptionSpec {
    pub key: &'static str,
    pub type_name: &'static str,
    pub default: Option<&'static str>,
    pub description: &'static str,
}

/// The options of one source instance.
#[derive(Debug, Default)]
pub struct Options {
    connector: String,
    values: BTreeMap<String, String>,
    consumed: RefCell<BTreeSet<String>>,
}

impl Options {
    pub fn new(connector: impl Into<String>, values: BTreeMap<String, String>) -> Self {
        Options { connector: connector.into(), values, consumed: RefCell::default() }
    }

    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// All keys as given, for connectors with pattern keys (`fields.<name>.kind`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The raw value, marking the key as recognised.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.consumed.borrow_mut().insert(key.to_string());
        self.values.get(key).map(String::as_str)
    }

    /// The typed value of an optional key.
    pub fn get<T: OptionValue>(&self, key: &str) -> Result<Option<T>> {
        match self.get_str(key) {
            None => Ok(None),
            Some(raw) => T::parse_option(raw.trim()).map(Some).map_err(|expected| {
                BridgeError::validation(format!(
                    "Invalid value for option '{key}' of '{}': '{}' is not {expected}.",
                    self.connector,
                    display_value(key, raw)
                ))
            }),
        }
    }

    pub fn get_or<T: OptionValue>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    pub fn require<T: OptionValue>(&self, key: &str) -> Result<T> {
        self.get(key)?.ok_or_else(|| {
            BridgeError::validation(format!(
                "Missing required option '{key}' for connector '{}'.",
                self.connector
            ))
        })
    }

    /// Fails with Flink's "Unsupported options found" message when a key was never read.
    /// `supported` lists the valid keys (with column names filled in) for the message.
    pub fn ensure_all_consumed(&self, supported: &[String]) -> Result<()> {
        let consumed = self.consumed.borrow();
        let unknown: Vec<&str> = self
            .values
            .keys()
            .filter(|k| !consumed.contains(*k) && !FRAMEWORK_KEYS.contains(&k.as_str()))
            .map(String::as_str)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let mut all: BTreeSet<&str> = supported.iter().map(String::as_str).collect();
        all.extend(FRAMEWORK_KEYS);
        Err(BridgeError::validation(format!(
            "Unsupported options found for '{}'.\n\nUnsupported options:\n\n{}\n\nSupported options:\n\n{}",
            self.connector,
            unknown.join("\n"),
            all.into_iter().collect::<Vec<_>>().join("\n")
        )))
    }
}

/// A value type an option can have. `parse_option` returns what was expected on failure.
pub trait OptionValue: Sized {
    fn parse_option(raw: &str) -> std::result::Result<Self, String>;
}

macro_rules! numeric_option {
    ($($t:ty => $name:expr),* $(,)?) => {$(
        impl OptionValue for $t {
            fn parse_option(raw: &str) -> std::result::Result<Self, String> {
                <$t as FromStr>::from_str(raw).map_err(|_| $name.to_string())
            }
        }
    )*};
}
numeric_option!(
    i8 => "an integer in -128..=127",
    i16 => "an integer in -32768..=32767",
    i32 => "a 32-bit integer",
    i64 => "a 64-bit integer",
    u32 => "a non-negative 32-bit integer",
    u64 => "a non-negative 64-bit integer",
    usize => "a non-negative integer",
    f32 => "a number",
    f64 => "a number",
);

impl OptionValue for bool {
    fn parse_option(raw: &str) -> std::result::Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("a boolean (true or false)".into()),
        }
    }
}

impl OptionValue for String {
    fn parse_option(raw: &str) -> std::result::Result<Self, String> {
        Ok(raw.to_string())
    }
}

/// Flink's duration syntax (`TimeUtils.parseDuration`): a number and an optional unit, default ms.
impl OptionValue for Duration {
    fn parse_option(raw: &str) -> std::result::Result<Self, String> {
        const EXPECTED: &str = "a duration such as '500 ms', '10 s', '5 min', '1 h' or '2 d'";
        let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
        let (number, unit) = raw.split_at(split);
        let n: u64 = number.parse().map_err(|_| EXPECTED.to_string())?;
        let nanos_per: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
            "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
            "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            _ => return Err(EXPECTED.to_string()),
        };
        n.checked_mul(nanos_per).map(Duration::from_nanos).ok_or_else(|| EXPECTED.to_string())
    }
}

/// Keys whose values are credentials: never shown in errors or logs.
pub fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "credential"].iter().any(|s| key.contains(s))
}

/// The value as it may appear in a message: masked for sensitive keys.
pub fn display_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_sensitive(key) { "******" } else { value }
}

/// Formats a list of choices for an error message: `'a', 'b' or 'c'`.
pub fn one_of<T: Display>(choices: &[T]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::new(
            "rust-test",
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        )
    }

    #[test]
    fn typed_values_and_errors_name_the_option() {
        let o = opts(&[("rows-per-second", "12x"), ("number-of-rows", "5"), ("b", "TRUE")]);
        assert_eq!(o.get::<u64>("number-of-rows").unwrap(), Some(5));
        assert_eq!(o.get::<bool>("b").unwrap(), Some(true));
        let err = o.get::<u64>("rows-per-second").unwrap_err().to_string();
        assert!(err.contains("'rows-per-second'") && err.contains("'12x'"), "{err}");
        assert!(o.require::<u64>("missing").unwrap_err().to_string().contains("'missing'"));
    }

    #[test]
    fn unknown_keys_are_listed_with_the_supported_ones() {
        let o = opts(&[("connector", "rust-test"), ("known", "1"), ("typo", "2")]);
        o.get_str("known");
        let err = o.ensure_all_consumed(&["known".into()]).unwrap_err().to_string();
        assert!(err.contains("Unsupported options:\n\ntypo"), "{err}");
        assert!(err.contains("Supported options:\n\nconnector\nknown"), "{err}");
    }

    #[test]
    fn credentials_never_appear_in_errors() {
        let o = opts(&[("password", "hunter2"), ("jdbc.properties.secretKey", "s3cr3t")]);
        let e1 = o.get::<u32>("password").unwrap_err().to_string();
        let e2 = o.get::<bool>("jdbc.properties.secretKey").unwrap_err().to_string();
        assert!(!e1.contains("hunter2") && e1.contains("'password'") && e1.contains("******"), "{e1}");
        assert!(!e2.contains("s3cr3t"), "{e2}");
    }

    #[test]
    fn durations_follow_flink_syntax() {
        assert_eq!(Duration::parse_option("10 s").unwrap(), Duration::from_secs(10));
        assert_eq!(Duration::parse_option("250").unwrap(), Duration::from_millis(250));
        assert_eq!(Duration::parse_option("5min").unwrap(), Duration::from_secs(300));
        assert!(Duration::parse_option("soon").is_err());
    }

    #[test]
    fn one_of_formats_choices() {
        assert_eq!(one_of(&["random", "sequence"]), "'random' or 'sequence'");
    }
}
