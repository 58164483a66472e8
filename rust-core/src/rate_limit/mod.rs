//! Rate limits for every connector, enforced by rust-core: `scan.rate-limit.rows-per-second` and
//! `scan.rate-limit.bytes-per-second` bound the whole source, whatever its parallelism.
//! Connectors never see these options and know nothing about limits.
//!
//! - [`RateLimits`]: the two options, taken out of a table's options and validated at submission
//!   ([`crate::registry::Registry::create_source`]).
//! - [`bucket`]: the per-reader limiter (a GCRA that can go into debt: a batch is paid after it
//!   was emitted, however large).
//! - [`share`]: how the limit is split among readers. Each active reader gets `limit / active`;
//!   a reader that finished, or asked for a split and has none, gives its share back.
//! - [`wrap`]: the decorators that do it, around the connector's type-erased source, enumerator
//!   and reader. Reader and enumerator talk through source events that rust-core frames with a tag
//!   byte, so its own events never reach the connector's `handle_source_event`.
//!
//! A source without limits is not wrapped at all: no framing, no cost.

pub mod bucket;
pub mod share;
pub mod wrap;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use crate::error::{BridgeError, Result};
use crate::options::{OptionDefault, OptionSpec};

pub use wrap::with_rate_limits;

/// `scan.rate-limit.rows-per-second`: a positive integer, rows per second for the whole source.
pub const ROWS_PER_SECOND: OptionSpec = OptionSpec {
    key: "scan.rate-limit.rows-per-second",
    type_name: "Long",
    default: OptionDefault::Text("unlimited"),
    description:
        "most rows per second the whole source emits, shared by its readers (see Rate limits)",
};

/// `scan.rate-limit.bytes-per-second`: a positive integer, bytes of encoded `BinaryRowData` per
/// second for the whole source.
pub const BYTES_PER_SECOND: OptionSpec = OptionSpec {
    key: "scan.rate-limit.bytes-per-second",
    type_name: "Long",
    default: OptionDefault::Text("unlimited"),
    description: "most bytes (as Flink `BinaryRowData`) per second the whole source emits, shared by its readers (see Rate limits)",
};

/// The rate-limit options, in the order `docs/common-options.md` lists them.
pub const OPTIONS: &[OptionSpec] = &[ROWS_PER_SECOND, BYTES_PER_SECOND];

/// The limits of one source, for all its readers together. `None`: unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Rows per second, summed over all readers.
    pub rows_per_second: Option<NonZeroU64>,
    /// Bytes of encoded `BinaryRowData` per second, summed over all readers.
    pub bytes_per_second: Option<NonZeroU64>,
}

impl RateLimits {
    /// Neither limit is set: the source is not wrapped at all.
    pub fn is_unlimited(&self) -> bool {
        self.rows_per_second.is_none() && self.bytes_per_second.is_none()
    }

    /// Removes the rate-limit options from `options` (the connector never sees them) and
    /// validates them. A bad value is the user's error, raised when the job is submitted.
    pub fn take_from(connector: &str, options: &mut BTreeMap<String, String>) -> Result<Self> {
        Ok(RateLimits {
            rows_per_second: take_positive(connector, options, &ROWS_PER_SECOND, "rows")?,
            bytes_per_second: take_positive(connector, options, &BYTES_PER_SECOND, "bytes")?,
        })
    }
}

fn take_positive(
    connector: &str,
    options: &mut BTreeMap<String, String>,
    spec: &OptionSpec,
    unit: &str,
) -> Result<Option<NonZeroU64>> {
    let Some(raw) = options.remove(spec.key) else {
        return Ok(None);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .and_then(NonZeroU64::new)
        .map(Some)
        .ok_or_else(|| {
            BridgeError::validation(format!(
            "Invalid value for option '{}' of '{connector}': '{raw}' is not a positive integer. \
             Set it to the most {unit} per second the whole source may emit (for example '1000'), \
             or remove the option for no limit.",
            spec.key
        ))
        })
}
