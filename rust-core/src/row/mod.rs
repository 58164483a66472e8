//! Row encoding: Arrow batches into Flink's own `BinaryRowData` layout, so Java does no per-field
//! decoding.

pub mod binary;

pub use binary::BinaryRowEncoder;
