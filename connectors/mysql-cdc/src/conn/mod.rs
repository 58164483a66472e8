//! Connections to the server: connecting (TLS and credentials, `connect.*` options), riding out
//! outages with retries, and the queries every phase asks of a server (binlog position, files,
//! flavor).

pub mod connect;
pub mod retry;
pub mod tls;
