//! Binlog positions and the offsets readers checkpoint.
//!
//! A position is a binlog file and a byte offset in it. Positions of one server are totally
//! ordered by (file sequence number, offset): file names end in a number the server increments on
//! every rotation (`bin.000007`). Watermarks are positions at transaction boundaries (the end of
//! the binlog when `SHOW MASTER STATUS` ran).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub pos: u64,
}

impl BinlogPosition {
    pub fn new(file: impl Into<String>, pos: u64) -> Self {
        BinlogPosition {
            file: file.into(),
            pos,
        }
    }

    /// The numeric suffix of the file name (`bin.000012` gives 12); files without one sort first.
    pub fn file_number(&self) -> u64 {
        self.file
            .rsplit('.')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Ord for BinlogPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.file_number(), &self.file, self.pos).cmp(&(
            other.file_number(),
            &other.file,
            other.pos,
        ))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// Where a binlog reader resumes: the start of a transaction, and how many of its row changes
/// were already emitted (a batch can end inside a large transaction).
///
/// A start from a GTID set (`scan.startup.specific-offset.gtid-set`) is an offset with an empty
/// file name: "after the transactions of `gtid`", where the server finds the place. The reader
/// keeps reporting it until its first transaction begins, and file/position offsets from then on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogOffset {
    pub position: BinlogPosition,
    pub skip_rows: u64,
    /// The GTID state at `position`, when the server uses GTIDs (MariaDB `D-S-N,...`, MySQL
    /// `uuid:1-5,...`). Informative for file/position offsets; the start for an empty file name.
    pub gtid: Option<String>,
}

impl BinlogOffset {
    pub fn at(position: BinlogPosition) -> Self {
        BinlogOffset {
            position,
            skip_rows: 0,
            gtid: None,
        }
    }

    /// The start after the GTIDs `set` (canonical text of either flavor), skipping the first
    /// `skip_rows` row changes of the first transaction not in it.
    pub fn after_gtids(set: String, skip_rows: u64) -> Self {
        BinlogOffset {
            position: BinlogPosition::new("", 4),
            skip_rows,
            gtid: Some(set),
        }
    }

    /// True for a start after a GTID set whose file and position the reader has not learned yet.
    pub fn starts_from_gtids(&self) -> bool {
        self.position.file.is_empty() && self.gtid.is_some()
    }
}

impl fmt::Display for BinlogOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (true, Some(g)) = (self.starts_from_gtids(), &self.gtid) {
            write!(f, "after GTIDs {g}")?;
            if self.skip_rows > 0 {
                write!(f, " (+{} rows)", self.skip_rows)?;
            }
            return Ok(());
        }
        write!(f, "{}", self.position)?;
        if self.skip_rows > 0 {
            write!(f, " (+{} rows)", self.skip_rows)?;
        }
        if let Some(g) = &self.gtid {
            write!(f, " gtid {g}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_file_number_then_offset() {
        let a = BinlogPosition::new("bin.000009", 900);
        let b = BinlogPosition::new("bin.000010", 4);
        let c = BinlogPosition::new("bin.000010", 120);
        assert!(a < b && b < c);
        assert_eq!(c.file_number(), 10);
    }
}
