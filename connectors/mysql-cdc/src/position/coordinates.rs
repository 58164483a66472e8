//! Where a binlog row change sits in the binlog, for the metadata columns `binlog_file`,
//! `binlog_position`, `binlog_row_index`, `gtid` and `change_seq`.
//!
//! `binlog_file`, `binlog_position` and `binlog_row_index` are the reader's own resume offset:
//! the start of the row's transaction and the number of row changes of that transaction before
//! it (every table counted, as `scan.startup.specific-offset.skip-rows` counts them). So a
//! `specific-offset` start at that file and position with `skip-rows` = `binlog_row_index + 1`
//! resumes right after the row, and the triple is the same whichever reader (or restore) read it.
//!
//! `change_seq` orders the changelog of one server's binlog with one number, strictly increasing
//! from row to row (the two rows of an update too): it is a function of the binlog alone, so a
//! restore from any checkpoint, or another job on the same binlog, gives every row the same
//! number. Packed from high to low bits: the binlog file's number (30 bits), the position of the
//! row in the file (32 bits: the start of its rows event plus the row's index in the event,
//! which is less than the event's size, so below the next event's start), and the image (the
//! before image, a delete's or a schema change, 0; the after image 1). Snapshot rows are 0.

use std::sync::Arc;

const POSITION_BITS: u32 = 32;
const FILE_BITS: u32 = 30;

/// The coordinates of one row change (its rows share them; `change_seq` tells the images apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeCoordinates {
    /// The binlog file of the change (a transaction never spans a rotation).
    pub file: Arc<str>,
    /// The start of the change's transaction: where a resume begins.
    pub txn_position: u64,
    /// Row changes of the transaction before this one (of every table).
    pub row_index: u64,
    /// The transaction's GTID in the server's spelling (MySQL `uuid:n`, MariaDB
    /// `domain-server-seq`); None without GTIDs.
    pub gtid: Option<Arc<str>>,
    /// `change_seq` of the change's before image; the after image's is one more.
    seq: i64,
}

impl ChangeCoordinates {
    /// A change in binlog file number `file_number`, at `pos_in_file` (see the module docs).
    pub fn new(
        file: Arc<str>,
        file_number: u64,
        txn_position: u64,
        row_index: u64,
        pos_in_file: u64,
        gtid: Option<Arc<str>>,
    ) -> Self {
        ChangeCoordinates {
            file,
            txn_position,
            row_index,
            gtid,
            seq: change_seq(file_number, pos_in_file),
        }
    }

    /// `change_seq` of the before image (a delete's, an update's `-U`/`-D`; a schema change).
    pub fn before_seq(&self) -> i64 {
        self.seq
    }

    /// `change_seq` of the after image (an insert's, an update's `+U`/`+I`).
    pub fn after_seq(&self) -> i64 {
        self.seq | 1
    }
}

/// The before-image `change_seq` of a row at `pos_in_file` of binlog file number `file_number`.
/// Values beyond their bits saturate (a file number past 2^30, a position past 4 GiB, which a
/// binlog event header cannot express either): order is then kept only up to them.
pub fn change_seq(file_number: u64, pos_in_file: u64) -> i64 {
    let file = file_number.min((1 << FILE_BITS) - 1);
    let pos = pos_in_file.min((1 << POSITION_BITS) - 1);
    ((file << (POSITION_BITS + 1)) | (pos << 1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_seq_orders_by_file_then_position_then_image() {
        let at = |file, pos| ChangeCoordinates::new("bin.1".into(), file, 4, 0, pos, None);
        let (a, b, c) = (at(7, 4), at(7, 4_294_967_294), at(8, 4));
        assert!(a.before_seq() < a.after_seq());
        assert!(a.after_seq() < b.before_seq());
        assert!(b.after_seq() < c.before_seq());
        assert!(
            c.before_seq() > 0 && at(0, 4).before_seq() > 0,
            "0 is left to snapshot rows"
        );
        // The largest file number and position fit, positive.
        let max = change_seq(u64::MAX, u64::MAX);
        assert!(max > c.after_seq());
        assert_eq!(max | 1, i64::MAX);
    }
}
