//! Column values: one canonical form for snapshot and binlog rows, ordering of key values, and
//! the conversion of rows into Arrow batches of the source's Flink row type.
//!
//! # Canonical form
//!
//! The snapshot (binary protocol) and the binlog (row events) encode the same stored value
//! differently: the binlog gives an ENUM as its index, a SET as a bitmap, a TIMESTAMP as epoch
//! seconds, a YEAR as text, a BIGINT UNSIGNED as a signed number (MariaDB's table map carries no
//! reliable signedness), trailing `0x00` of a BINARY(n) stripped. [`snapshot_row`] and
//! [`binlog_row`] both normalize, guided by the table schema, to this form:
//!
//! | MySQL column                               | canonical [`Value`]                                  |
//! |--------------------------------------------|------------------------------------------------------|
//! | any, SQL NULL                              | `NULL`                                               |
//! | TINYINT..BIGINT, BOOLEAN (signed)          | `Int(i64)`                                           |
//! | TINYINT..BIGINT UNSIGNED                   | `UInt(u64)`                                          |
//! | YEAR                                       | `Int(year)` (0 for `0000`)                           |
//! | BIT(n)                                     | `Bytes`, big-endian, exactly ⌈n/8⌉ bytes             |
//! | FLOAT / DOUBLE                             | `Float(f32)` / `Double(f64)`                         |
//! | DECIMAL(p, s)                              | `Bytes` of ASCII `-?D+(.D{s})?`, no leading zeros    |
//! | CHAR (trailing spaces removed), VARCHAR, TEXT, JSON | `Bytes`, the UTF-8 text                     |
//! | ENUM / SET                                 | `Bytes`, the label / labels joined by `,` in definition order |
//! | BINARY(n)                                  | `Bytes`, right-padded with `0x00` to n bytes         |
//! | VARBINARY, BLOB                            | `Bytes`                                              |
//! | DATE                                       | `Date(y, m, d, 0, 0, 0, 0)`                          |
//! | DATETIME                                   | `Date(y, m, d, h, mi, s, µs)`, the wall clock        |
//! | TIMESTAMP                                  | `Date(..)`, the instant as a UTC wall clock          |
//! | TIME                                       | `Time(negative, days, h < 24, mi, s, µs)`            |
//!
//! Zero and partly-zero dates (`0000-00-00`, `2020-00-10`; MySQL accepts them without
//! NO_ZERO_DATE / NO_ZERO_IN_DATE) are not dates: like Debezium and Flink CDC, they become `NULL`
//! in a nullable column, and the epoch (`1970-01-01 00:00:00`) in a NOT NULL column. One
//! exception, Flink CDC's too: a zero TIMESTAMP in the binlog is the epoch whatever the column's
//! nullability (the binlog stores a TIMESTAMP as epoch seconds, and Debezium's binlog decoder
//! reads 0 as the instant it is), while the snapshot reads it as any zero date.
//!
//! Snapshot rows must come from the binary protocol (a prepared statement) on a session whose
//! `time_zone` is `'+00:00'`, and the connection character set must be utf8mb4 (mysql_async's
//! default). Binlog text of latin1 columns is transcoded to UTF-8; other single-byte or
//! multi-byte non-UTF-8 character sets are not (their values fail the UTF-8 check when written
//! to a Flink string column).

mod batch;
mod binary_row;
mod binlog_image;
mod column_builder;
mod decimal;
mod flink_type;
mod geojson;
mod java_text;
mod json;
mod key_order;
mod kind;
mod normalize;
mod snapshot_fast;
mod table_map;
mod time;
mod value_ref;

pub use batch::BatchBuilder;
pub use binary_row::{BinaryRowReader, RowPacketError};
pub use binlog_image::{BinlogImageLayout, BinlogImages};
pub use flink_type::{default_flink_type, TableMapping};
pub use key_order::{compare_column_values, compare_values, primary_key_differs};
pub use kind::{absent_column, same_value_type};
pub use mysql_async::Value;
pub use normalize::{binlog_row, snapshot_row, RowNormalizer, RowValues};
pub use table_map::TableMap;
pub use time::ServerTimeZone;
