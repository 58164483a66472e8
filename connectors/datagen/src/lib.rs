//! `rust-datagen`: a data generator source, option-compatible with Flink's `datagen` SQL
//! connector (Flink 1.20), built on rust-core's source API.
//!
//! ```sql
//! CREATE TABLE orders (id BIGINT, price DECIMAL(10, 2), buyer STRING, ts TIMESTAMP(3))
//! WITH (
//!   'connector' = 'rust-datagen',
//!   'rows-per-second' = '1000000',
//!   'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000000',
//!   'fields.price.min' = '1', 'fields.price.max' = '1000',
//!   'fields.buyer.length' = '12', 'fields.buyer.null-rate' = '0.1',
//!   'fields.ts.max-past' = '5 min'
//! );
//! ```
//!
//! Options: Flink's names, types and defaults, listed in [`config::OPTIONS`] and documented in
//! `docs/connectors/rust-datagen.md`.
//!
//! A source with a `number-of-rows` or any sequence field is bounded: it emits
//! `min(number-of-rows, shortest sequence length)` rows, and every sequence value exactly once
//! across all readers, at any parallelism and across failures and restores (see [`source`]).

pub mod config;
mod generate;
pub mod source;

#[cfg(test)]
mod golden_state;
#[cfg(test)]
mod tests;

use rust_core::api::SourceFactory;
use rust_core::options::{OptionSpec, Options};
use rust_core::runtime::{erase, DynSource};
use rust_core::types::RowType;
use rust_core::Result;

pub use config::DatagenConfig;
pub use source::{
    DatagenEnumerator, DatagenEnumeratorState, DatagenReader, DatagenSource, DatagenSplit,
};

/// The connector identifier: `'connector' = 'rust-datagen'`.
pub const IDENTIFIER: &str = "rust-datagen";

/// Builds `rust-datagen` sources; registered by the shared library.
pub struct DatagenFactory;

impl SourceFactory for DatagenFactory {
    fn identifier(&self) -> &'static str {
        IDENTIFIER
    }

    fn options(&self) -> &'static [OptionSpec] {
        config::OPTIONS
    }

    fn create(&self, options: &Options, row_type: &RowType) -> Result<Box<dyn DynSource>> {
        let config = DatagenConfig::parse(options, row_type)?;
        Ok(erase(DatagenSource::new(config, row_type.clone())))
    }
}
