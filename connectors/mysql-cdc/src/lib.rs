//! `rust-mysql-cdc`: MySQL/MariaDB change data capture for Flink, option-compatible with Flink
//! CDC's `mysql-cdc` connector. A lock-free parallel snapshot (chunks read between low and high
//! binlog watermarks, the binlog between them replayed into each chunk), then one binlog reader.

pub mod schema;
pub mod value;
