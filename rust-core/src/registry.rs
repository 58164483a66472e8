//! Maps connector identifiers (`'connector' = 'rust-datagen'`) to their factories. The shared
//! library builds one registry when Java loads it (see [`crate::export_bridge`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::api::SourceFactory;
use crate::error::{BridgeError, Result};
use crate::options::Options;
use crate::rate_limit::{with_rate_limits, RateLimits};
use crate::runtime::DynSource;
use crate::types::RowType;

/// The connectors one shared library serves, by identifier. Built once in `JNI_OnLoad` and
/// read by every JNI call; tests and the preview CLI build their own.
pub struct Registry {
    factories: BTreeMap<&'static str, Box<dyn SourceFactory>>,
}

impl Registry {
    /// A registry of `factories`. Identifiers must be unique: of two factories with the same
    /// identifier, the last one silently wins.
    pub fn new(factories: Vec<Box<dyn SourceFactory>>) -> Self {
        Registry {
            factories: factories.into_iter().map(|f| (f.identifier(), f)).collect(),
        }
    }

    /// The identifiers served, sorted (Java's `NativeBridge.connectors()`).
    pub fn identifiers(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }

    /// Validates options and row type and builds the source. The options every connector has
    /// (rate limits) are taken out and applied around the connector's source.
    pub fn create_source(
        &self,
        connector: &str,
        options: BTreeMap<String, String>,
        row_type: &RowType,
    ) -> Result<Box<dyn DynSource>> {
        let factory =
            self.factories
                .get(connector)
                .ok_or_else(|| BridgeError::UnknownConnector {
                    identifier: connector.to_string(),
                    available: self.identifiers().iter().map(|s| s.to_string()).collect(),
                })?;
        let mut options = options;
        let limits = RateLimits::take_from(connector, &mut options)?;
        let options = Options::new(connector, options);
        let source = factory.create(&options, row_type)?;
        options.ensure_reads_declared(factory.options())?;
        Ok(with_rate_limits(source, limits))
    }

    /// What job submission runs (Java's `SourceValidator`, JNI `validateSource`), outside the JVM
    /// too (the preview CLI): [`Self::create_source`], then the source's preflight checks
    /// (connectivity, privileges, server settings).
    pub fn validate_source(
        &self,
        connector: &str,
        options: BTreeMap<String, String>,
        row_type: &RowType,
    ) -> Result<Box<dyn DynSource>> {
        let source = self.create_source(connector, options, row_type)?;
        source.preflight()?;
        Ok(source)
    }
}

static GLOBAL: OnceLock<Registry> = OnceLock::new();

/// Installs the library's registry; the first call wins.
pub fn install(registry: Registry) {
    let _ = GLOBAL.set(registry);
}

/// The registry [`install`] put in place; fails if the library was not loaded through
/// `JNI_OnLoad`.
pub fn global() -> Result<&'static Registry> {
    GLOBAL.get().ok_or_else(|| {
        BridgeError::other("the connector registry is not installed (JNI_OnLoad did not run)")
    })
}
