//! The shared library Java loads: rust-core's JNI surface plus the connectors it serves. Adding a
//! connector means adding its factory here (and a Java table factory for its SQL identifier,
//! and its page with an options table in `docs/connectors/`).

rust_core::export_bridge!(
    connector_datagen::DatagenFactory,
    connector_testkit::TestkitFactory,
    connector_mysql_cdc::MySqlCdcFactory
);

#[cfg(test)]
mod connector_docs;
