//! Name patterns (`database-name`, `table-name`): Java regular expressions, as Flink CDC hands
//! them to Debezium, each matched against whole names.
//!
//! Why fancy-regex and not the regex crate: table definitions written for Flink CDC use Java's
//! syntax, look-around included (`(?!tmp_).*` to leave out temporary tables) and sometimes
//! backreferences, which the regex crate refuses by design. fancy-regex takes them (and hands
//! plain patterns to the regex crate's engine, so the common case costs the same). Names are
//! matched only when tables are discovered and when the binlog meets a table it does not know,
//! never per row.

use std::fmt;

/// A pattern anchored at both ends: `db` does not match `db2`, and an alternation such as `a|ab`
/// matches `ab` (a prefix match alone would stop at `a`).
#[derive(Clone)]
pub struct NamePattern {
    source: String,
    regex: fancy_regex::Regex,
}

impl NamePattern {
    /// Compiles `pattern`; the error says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let regex = fancy_regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("'{pattern}' is not a valid regular expression: {e}"))?;
        Ok(NamePattern {
            source: pattern.to_string(),
            regex,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `name` matches as a whole. A match that exceeds fancy-regex's backtracking limit
    /// (a pathological pattern, never a name of a few dozen characters) counts as no match, with
    /// a WARN.
    pub fn is_match(&self, name: &str) -> bool {
        self.regex.is_match(name).unwrap_or_else(|e| {
            tracing::warn!(pattern = %self.source, name, "matching the name pattern failed, taken as no match: {e}");
            false
        })
    }
}

impl fmt::Debug for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamePattern").field(&self.source).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_match_whole_names() {
        let p = NamePattern::new("orders_[0-9]+|users").unwrap();
        assert!(p.is_match("orders_12") && p.is_match("users"));
        assert!(!p.is_match("orders_12x") && !p.is_match("x_users") && !p.is_match("users2"));
        // Look-ahead, which the regex crate refuses: every table but the temporary ones.
        let p = NamePattern::new("(?!tmp_).*").unwrap();
        assert!(p.is_match("orders") && !p.is_match("tmp_orders"));
        // Look-behind and a backreference.
        assert!(NamePattern::new(".*(?<!_bak)").unwrap().is_match("orders"));
        assert!(!NamePattern::new(".*(?<!_bak)")
            .unwrap()
            .is_match("orders_bak"));
        assert!(NamePattern::new("(a+)_\\1").unwrap().is_match("aa_aa"));
        let e = NamePattern::new("orders_(").unwrap_err();
        assert!(
            e.contains("'orders_('") && e.contains("not a valid regular expression"),
            "{e}"
        );
    }
}
