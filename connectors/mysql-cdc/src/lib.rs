//! `rust-mysql-cdc`: MySQL/MariaDB change data capture for Flink, option-compatible with Flink
//! CDC's `mysql-cdc` connector. A lock-free parallel snapshot (chunks read between low and high
//! binlog watermarks, the binlog between them replayed into each chunk), then one binlog reader
//! for every captured table.
//!
//! Module map:
//! - [`config`]: options (Flink CDC names and defaults) to a typed config;
//! - [`schema`], [`value`]: captured tables, MySQL values and the Flink row type (Arrow batches);
//! - `connect`: connections, retries, binlog positions; `offset`: positions and offsets;
//! - [`tls`]: TLS to the server (options, the driver's settings, handshake errors);
//! - `retry`: which errors are transient, backoff and its bounds; `reconnect`: the binlog cursor
//!   that reconnects and resumes at its offset;
//! - `shared_binlog`: one binlog connection per server for the readers of several sources;
//! - `binlog`: the replication stream decoded into row changes; [`coordinates`]: where a change
//!   is in the binlog (the `binlog_*`, `gtid` and `change_seq` metadata); `gtid`: MySQL GTID sets;
//!   `mariadb_gtid`: MariaDB GTIDs and positions; `gtid_start`: starting after a GTID set;
//! - `chunk`: splitting tables into key ranges; `snapshot`: reading a chunk with watermarks;
//! - `split`: splits and reader/enumerator events; `finished`: finished chunks as compact runs;
//!   `state_v1`: checkpoints of state version 1, read and upgraded;
//! - `gtid`: MySQL GTID sets; `enumerator`, `reader`, `source`: the FLIP-27 roles;
//! - `newly_added`: tables that start matching while the job runs (`scan.newly-added-table.enabled`):
//!   the binlog reader suspends, they are snapshotted, the binlog resumes with them;
//! - `metrics`: snapshot progress, reader metrics and progress logs;
//! - [`describe`]: what a checkpoint holds, in words (stall reports, debugging);
//! - [`stall`]: the watchdog that fails a job whose binlog split waits too long to be handed out.

mod binlog;
pub mod binlog_stall;
mod chunk;
pub mod chunk_key;
pub mod config;
mod connect;
pub mod coordinates;
pub mod debezium;
pub mod describe;
mod enumerator;
pub mod evolution;
mod finished;
pub mod gtid;
mod gtid_option;
mod gtid_start;
pub mod mariadb_gtid;
mod metrics;
mod newly_added;
pub mod offset;
pub mod pattern;
mod reader;
mod reconnect;
mod retry;
pub mod schema;
mod shared_binlog;
mod snapshot;
mod source;
pub mod spill;
mod spill_dir;
pub mod split;
pub mod stall;
mod state_v1;
pub mod table_watch;
pub mod tls;
pub mod value;

#[cfg(test)]
mod golden_state;
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
