//! rust-core: the Rust side of the Flink bridge.
//!
//! - [`api`]: the source API connectors implement (Flink's FLIP-27 roles).
//! - [`options`], [`types`]: typed connector options and Flink logical types.
//! - [`row`]: Arrow batches encoded as Flink `BinaryRowData`.
//! - [`runtime`]: type-erased sources, enumerators and readers; versioned state (de)serialization.
//! - [`log_context`]: connector/subtask context on every log event of a reader or enumerator.
//! - [`metrics`]: counters and gauges connectors register, mirrored as Flink metrics.
//! - [`rate_limit`]: `scan.rate-limit.*` for every connector, shared by a source's readers.
//! - [`registry`]: connector identifiers to factories; [`logging`]: `tracing` events for Java.
//! - [`protocol`]: the byte formats Java reads (enumerator commands, reader responses, splits).
//! - [`jni`]: the only place that talks to the JVM.
//! - [`testing`]: an in-process stand-in for Flink that connector tests drive.

#![warn(missing_docs)]

pub mod api;
pub mod error;
pub mod jni;
pub mod log_context;
pub mod logging;
pub mod metrics;
pub mod options;
pub mod protocol;
pub mod rate_limit;
pub mod registry;
pub mod row;
pub mod runtime;
pub mod state;
pub mod testing;
pub mod types;

pub use error::{BridgeError, Result};
