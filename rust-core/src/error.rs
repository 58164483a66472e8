//! The one error type of the bridge. Every variant carries enough context to name the cause and
//! the fix; the JNI layer maps variants to Java exception classes.

use std::fmt;

/// Result alias used across rust-core and the connectors.
pub type Result<T, E = BridgeError> = std::result::Result<T, E>;

/// Every error rust-core and the connectors return. Errors surface in Java as exceptions naming
/// the failed operation: [`BridgeError::is_validation`] ones as `NativeValidationException`
/// (a planning error the user fixes), the rest as `NativeException`, which fails the reader's task
/// or the enumerator (Flink's restart strategy decides what follows).
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A user-supplied option or schema is wrong. Raised at job submission; becomes Flink's
    /// `ValidationException`. The message names the option and what would be valid.
    #[error("{0}")]
    Validation(String),

    /// No connector is registered under this identifier.
    #[error("unknown connector '{identifier}'; available connectors: {}", available.join(", "))]
    UnknownConnector {
        /// The identifier asked for.
        identifier: String,
        /// The registered identifiers, for the message.
        available: Vec<String>,
    },

    /// Checkpointed bytes that cannot be read back (wrong version, truncated, another connector's).
    #[error("cannot restore {what}: {detail}")]
    State {
        /// The kind of blob (`"split"`, `"enumerator state"`, a source event).
        what: &'static str,
        /// What is wrong with it, and the fix.
        detail: String,
    },

    /// A column's Arrow data does not match the Flink type it must be encoded as: a connector bug.
    #[error("column '{column}': {detail}")]
    Encoding {
        /// The column's name in the row type.
        column: String,
        /// The mismatch: the Arrow type found and the one the Flink type needs, or the value that
        /// does not fit.
        detail: String,
    },

    /// A failure while reading from the external system (I/O, protocol, server errors).
    #[error("{context}: {source}")]
    External {
        /// What was being done, naming the table, server or file (`"reading the binlog of db1"`).
        context: String,
        /// The underlying error; [`BridgeError::message_chain`] appends its own causes.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Any other failure, with context.
    #[error("{0}")]
    Other(String),
}

impl BridgeError {
    /// A [`BridgeError::Validation`]: the message names the option and what would be valid.
    pub fn validation(msg: impl fmt::Display) -> Self {
        BridgeError::Validation(msg.to_string())
    }

    /// A [`BridgeError::State`]: `what` is the kind of blob (`"split"`, `"enumerator state"`, or a
    /// name ending in `"event"` for in-job messages), `detail` the cause and the fix.
    pub fn state(what: &'static str, detail: impl fmt::Display) -> Self {
        BridgeError::State {
            what,
            detail: detail.to_string(),
        }
    }

    /// A [`BridgeError::External`]: `context` says what was being done, `source` is kept as the
    /// cause.
    pub fn external(
        context: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BridgeError::External {
            context: context.to_string(),
            source: Box::new(source),
        }
    }

    /// A [`BridgeError::Other`]: failures with no better variant; say what was being done.
    pub fn other(msg: impl fmt::Display) -> Self {
        BridgeError::Other(msg.to_string())
    }

    /// True when the user can fix this by changing options or schema (Flink ValidationException).
    pub fn is_validation(&self) -> bool {
        matches!(
            self,
            BridgeError::Validation(_) | BridgeError::UnknownConnector { .. }
        )
    }

    /// The message with every distinct cause appended (`context: cause: cause`): what a Java
    /// exception from this error says after its operation, and what the preview CLI prints.
    pub fn message_chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        text
    }
}

impl From<arrow_schema::ArrowError> for BridgeError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        BridgeError::Other(format!("arrow: {e}"))
    }
}
