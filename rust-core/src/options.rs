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

/// Keys the bridge interprets for every table (`scan.parallelism` is applied by the Java table
/// source, the rate limits by rust-core, see [`crate::rate_limit`]); never reported as unknown,
/// and not part of a connector's own option list. `docs/common-options.md` documents them.
pub const FRAMEWORK_KEYS: &[&str] = &[
    "connector",
    "scan.parallelism",
    "scan.rate-limit.rows-per-second",
    "scan.rate-limit.bytes-per-second",
];

/// One option a connector accepts, as its users see it. Each connector lists all of them
/// ([`crate::api::SourceFactory::options`]); the list is the options table of the connector's
/// page in `docs/connectors/` (a test compares the two), and the code reads literal defaults from
/// it ([`Options::get_or_default`]), so the documented default is the one in effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The key; `#` stands for a column name (`fields.#.kind`).
    pub key: &'static str,
    /// The value type, in Flink's words (`Long`, `String`, `Duration`, ...).
    pub type_name: &'static str,
    /// What an absent option means: a literal default or a text for the docs.
    pub default: OptionDefault,
    /// The description cell of the option's row in the docs table (Markdown on one line, no `|`):
    /// what it does, its unit and valid values.
    pub description: &'static str,
}

/// What an absent option means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionDefault {
    /// A literal value, used as if the user had written it.
    Value(&'static str),
    /// No single value: required, or derived from something else, as the text says.
    Text(&'static str),
}

impl OptionSpec {
    /// Whether `key` names this option: equal, or equal with a non-empty column name for `#`.
    pub fn matches(&self, key: &str) -> bool {
        match self.key.split_once('#') {
            None => key == self.key,
            Some((prefix, suffix)) => {
                key.len() > prefix.len() + suffix.len()
                    && key.starts_with(prefix)
                    && key.ends_with(suffix)
            }
        }
    }

    /// The key of this option for one column: `fields.#.kind` -> `fields.id.kind`.
    pub fn key_for(&self, column: &str) -> String {
        self.key.replacen('#', column, 1)
    }

    /// The literal default, typed. An unparseable or non-literal default is a connector bug.
    pub fn default_value<T: OptionValue>(&self) -> Result<T> {
        match self.default {
            OptionDefault::Value(raw) => T::parse_option(raw).map_err(|expected| {
                BridgeError::other(format!(
                    "the declared default '{raw}' of option '{}' is not {expected}",
                    self.key
                ))
            }),
            OptionDefault::Text(_) => Err(BridgeError::other(format!(
                "option '{}' has no literal default",
                self.key
            ))),
        }
    }
}

/// The options of one source instance.
#[derive(Debug, Default)]
pub struct Options {
    connector: String,
    values: BTreeMap<String, String>,
    consumed: RefCell<BTreeSet<String>>,
}

impl Options {
    /// The options of a source of `connector` (its identifier, named in error messages), as Flink
    /// passed them; no key is marked read yet.
    pub fn new(connector: impl Into<String>, values: BTreeMap<String, String>) -> Self {
        Options {
            connector: connector.into(),
            values,
            consumed: RefCell::default(),
        }
    }

    /// The connector identifier the options belong to.
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

    /// The typed value of an optional key, else `default`. For a declared option prefer
    /// [`Options::get_or_default`], which takes the documented default from its [`OptionSpec`].
    pub fn get_or<T: OptionValue>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// The typed value of `key` (an instance of `spec`), else the spec's literal default.
    pub fn get_or_spec_default<T: OptionValue>(&self, key: &str, spec: &OptionSpec) -> Result<T> {
        debug_assert!(
            spec.matches(key),
            "{key} is not an instance of {}",
            spec.key
        );
        self.get(key)?.map_or_else(|| spec.default_value(), Ok)
    }

    /// The typed value of an option without a column placeholder, else its literal default.
    pub fn get_or_default<T: OptionValue>(&self, spec: &OptionSpec) -> Result<T> {
        self.get_or_spec_default(spec.key, spec)
    }

    /// The typed value of a key without default; a missing key fails validation, naming it.
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

    /// Fails when the connector read a key that matches none of its declared options: such an
    /// option would work but be missing from the connector's option list and its documentation.
    /// A bug in the connector, not the user's: reported as such.
    pub fn ensure_reads_declared(&self, declared: &[OptionSpec]) -> Result<()> {
        let consumed = self.consumed.borrow();
        let undeclared: Vec<&str> = consumed
            .iter()
            .map(String::as_str)
            .filter(|k| !FRAMEWORK_KEYS.contains(k) && !declared.iter().any(|s| s.matches(k)))
            .collect();
        if undeclared.is_empty() {
            return Ok(());
        }
        let quoted: Vec<String> = undeclared.iter().map(|k| format!("'{k}'")).collect();
        Err(BridgeError::other(format!(
            "connector '{}' read option(s) {} that its SourceFactory::options() does not declare; \
             declare them there and document them in docs/connectors/{}.md",
            self.connector,
            quoted.join(", "),
            self.connector
        )))
    }
}

/// A value type an option can have. `parse_option` returns what was expected on failure.
pub trait OptionValue: Sized {
    /// Parses a raw value (user values arrive trimmed); on failure returns what was expected, for
    /// the error message (`"a 32-bit integer"`).
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
        n.checked_mul(nanos_per)
            .map(Duration::from_nanos)
            .ok_or_else(|| EXPECTED.to_string())
    }
}

/// Keys whose values are credentials: never shown in errors or logs.
pub fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "credential"]
        .iter()
        .any(|s| key.contains(s))
}

/// The value as it may appear in a message: masked for sensitive keys.
pub fn display_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_sensitive(key) {
        "******"
    } else {
        value
    }
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
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn typed_values_and_errors_name_the_option() {
        let o = opts(&[
            ("rows-per-second", "12x"),
            ("number-of-rows", "5"),
            ("b", "TRUE"),
        ]);
        assert_eq!(o.get::<u64>("number-of-rows").unwrap(), Some(5));
        assert_eq!(o.get::<bool>("b").unwrap(), Some(true));
        let err = o.get::<u64>("rows-per-second").unwrap_err().to_string();
        assert!(
            err.contains("'rows-per-second'") && err.contains("'12x'"),
            "{err}"
        );
        assert!(o
            .require::<u64>("missing")
            .unwrap_err()
            .to_string()
            .contains("'missing'"));
    }

    #[test]
    fn unknown_keys_are_listed_with_the_supported_ones() {
        let o = opts(&[("connector", "rust-test"), ("known", "1"), ("typo", "2")]);
        o.get_str("known");
        let err = o
            .ensure_all_consumed(&["known".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Unsupported options:\n\ntypo"), "{err}");
        assert!(
            err.contains("Supported options:\n\nconnector\nknown"),
            "{err}"
        );
    }

    #[test]
    fn credentials_never_appear_in_errors() {
        let o = opts(&[
            ("password", "hunter2"),
            ("jdbc.properties.secretKey", "s3cr3t"),
        ]);
        let e1 = o.get::<u32>("password").unwrap_err().to_string();
        let e2 = o
            .get::<bool>("jdbc.properties.secretKey")
            .unwrap_err()
            .to_string();
        assert!(
            !e1.contains("hunter2") && e1.contains("'password'") && e1.contains("******"),
            "{e1}"
        );
        assert!(!e2.contains("s3cr3t"), "{e2}");
    }

    #[test]
    fn durations_follow_flink_syntax() {
        assert_eq!(
            Duration::parse_option("10 s").unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            Duration::parse_option("250").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            Duration::parse_option("5min").unwrap(),
            Duration::from_secs(300)
        );
        assert!(Duration::parse_option("soon").is_err());
    }

    const FIELD_KIND: OptionSpec = OptionSpec {
        key: "fields.#.kind",
        type_name: "String",
        default: OptionDefault::Value("random"),
        description: "",
    };
    const ROWS: OptionSpec = OptionSpec {
        key: "rows",
        type_name: "Long",
        default: OptionDefault::Value("12"),
        description: "",
    };
    const END: OptionSpec = OptionSpec {
        key: "end",
        type_name: "Long",
        default: OptionDefault::Text("(required)"),
        description: "",
    };

    #[test]
    fn specs_match_their_keys_with_any_column_name() {
        assert!(FIELD_KIND.matches("fields.id.kind"));
        assert!(
            FIELD_KIND.matches("fields.a.b.kind"),
            "column names may contain dots"
        );
        assert!(
            !FIELD_KIND.matches("fields..kind"),
            "an empty column name is no column"
        );
        assert!(!FIELD_KIND.matches("fields.id.kind2") && !FIELD_KIND.matches("xfields.id.kind"));
        assert!(ROWS.matches("rows") && !ROWS.matches("rows2"));
        assert_eq!(FIELD_KIND.key_for("id"), "fields.id.kind");
    }

    #[test]
    fn absent_options_take_the_declared_default() {
        let o = opts(&[("fields.id.kind", "sequence")]);
        assert_eq!(o.get_or_default::<u64>(&ROWS).unwrap(), 12);
        assert_eq!(
            o.get_or_spec_default::<String>("fields.id.kind", &FIELD_KIND)
                .unwrap(),
            "sequence"
        );
        assert_eq!(
            o.get_or_spec_default::<String>("fields.v.kind", &FIELD_KIND)
                .unwrap(),
            "random"
        );
        let bad = OptionSpec {
            default: OptionDefault::Value("many"),
            ..ROWS
        };
        assert!(o
            .get_or_default::<u64>(&bad)
            .unwrap_err()
            .to_string()
            .contains("'many'"));
        assert!(
            o.get_or_default::<u64>(&END).is_err(),
            "a text default has no value"
        );
    }

    #[test]
    fn reading_an_undeclared_option_is_a_connector_bug() {
        let o = opts(&[("connector", "rust-test"), ("rows", "1")]);
        o.get_str("connector");
        o.get_or_default::<u64>(&ROWS).unwrap();
        o.get_str("fields.id.kind");
        assert!(o.ensure_reads_declared(&[ROWS, FIELD_KIND]).is_ok());
        o.get_str("secret-switch");
        let err = o.ensure_reads_declared(&[ROWS, FIELD_KIND]).unwrap_err();
        assert!(
            !matches!(err, BridgeError::Validation(_)),
            "not the user's error: {err:?}"
        );
        assert!(err.to_string().contains("'secret-switch'"), "{err}");
        assert!(!err.to_string().contains("'rows'"), "{err}");
    }

    #[test]
    fn one_of_formats_choices() {
        assert_eq!(one_of(&["random", "sequence"]), "'random' or 'sequence'");
    }
}
