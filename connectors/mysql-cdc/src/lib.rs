//! `rust-mysql-cdc`: MySQL/MariaDB change data capture for Flink, option-compatible with Flink
//! CDC's `mysql-cdc` connector. A lock-free parallel snapshot (chunks read between low and high
//! binlog watermarks, the binlog between them replayed into each chunk), then one binlog reader
//! for every captured table.
//!
//! Module map, lower layers first (a module imports only those above it in this list, and
//! `value/`, `schema` and `position/` from anywhere):
//! - [`position`]: binlog offsets, MySQL GTID sets, MariaDB GTIDs, change coordinates;
//! - [`config`]: every option (Flink CDC names and defaults) to a typed config, with its parts:
//!   name patterns, per-table chunk keys, the GTID-set value, `debezium.*`;
//! - [`schema`], [`value`]: captured tables, MySQL values and the Flink row type (Arrow batches);
//! - `conn`: connecting (TLS, credentials), retries through outages, server queries;
//! - [`binlog`]: the replication stream decoded into row changes (the cursor), starting after a
//!   GTID set, schema evolution, the tables it watches for, reconnects, the connection shared by
//!   several sources, the spill to local disk, the stall monitor;
//! - `snapshot`: splitting tables into key ranges (`chunk`) and reading a chunk with watermarks;
//! - [`state`]: splits and events, earlier state versions and their upgrade, checkpoints in words;
//! - `metrics`: snapshot progress, reader metrics and progress logs (fed values, importing none
//!   of what they measure);
//! - `enumerator`: the split enumerator, its finished-chunk runs, the newly-added-tables phase
//!   and the handover watchdog; `reader`: the split reader; `source`: the FLIP-27 source wiring
//!   them.

pub mod binlog;
pub mod config;
mod conn;
mod enumerator;
mod metrics;
pub mod position;
mod reader;
pub mod schema;
mod snapshot;
mod source;
pub mod state;
pub mod value;

#[cfg(test)]
mod tests;

use rust_core::api::SourceFactory;
use rust_core::options::{OptionSpec, Options};
use rust_core::runtime::{erase, DynSource};
use rust_core::types::RowType;
use rust_core::Result;

pub use config::MySqlCdcConfig;
pub use source::MySqlCdcSource;

/// The connector identifier: `'connector' = 'rust-mysql-cdc'`.
pub const IDENTIFIER: &str = "rust-mysql-cdc";

/// Builds `rust-mysql-cdc` sources; registered by the shared library.
pub struct MySqlCdcFactory;

impl SourceFactory for MySqlCdcFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn options(&self) -> &'static [OptionSpec] {
        config::OPTIONS
    }

    fn create(&self, options: &Options, row_type: &RowType) -> Result<Box<dyn DynSource>> {
        let config = MySqlCdcConfig::parse(options)?;
        Ok(erase(MySqlCdcSource::new(config, row_type.clone())?))
    }
}
