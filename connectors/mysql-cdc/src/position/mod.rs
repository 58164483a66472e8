//! Where a change is in a server's binlog: file and position offsets, MySQL GTID sets, MariaDB
//! GTIDs, and the change coordinates exposed as metadata columns.

pub mod coordinates;
pub mod gtid;
pub mod mariadb_gtid;
pub mod offset;
