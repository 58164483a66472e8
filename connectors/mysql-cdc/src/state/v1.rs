//! Checkpoint format version 1 of rust-mysql-cdc, frozen: the types that differ from the current
//! ones as they were, and their upgrade to the current types (see `rust_core::state`).
//!
//! Version 1 is the layout of builds f6a48f5 to cfacab0 (2026-11-21/22): before the binlog spill
//! and the newly added tables phase, which made version 2 (d26c252). Builds before f6a48f5 also
//! wrote version 1, with finished chunks as a per-table list; that layout is not read (it fails
//! as damaged state). Types unchanged since version 1 (`SnapshotSplit`, `TableWatermarks`,
//! `BinlogOffset`, `TableSplitter`, `FinishedChunks`, ...) are used as they are now: a later
//! version that changes one of them must copy its version 1 form here first, or the golden
//! version 1 bytes in `testdata/state/` stop decoding (`state/golden.rs`).

use std::collections::{BTreeMap, VecDeque};

use serde::Deserialize;

use rust_core::Result;

use crate::enumerator::finished::FinishedChunks;
use crate::enumerator::EnumeratorState as Current;
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::TableId;
use crate::snapshot::chunk::TableSplitter;
use crate::state::split::{self, SnapshotSplit, TableWatermarks};

/// `split::CdcSplit` at version 1: no `BinlogSpilled` (readers did not spill).
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) enum CdcSplit {
    Snapshot(SnapshotSplit),
    Binlog(BinlogSplit),
}

/// `split::BinlogSplit` at version 1: no `suspended` and `ignored` tables.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct BinlogSplit {
    pub offset: BinlogOffset,
    pub tables: Vec<TableId>,
    pub watermarks: Vec<TableWatermarks>,
    pub max_high_watermark: Option<BinlogPosition>,
    pub skip_before_ms: Option<i64>,
}

/// `enumerator::EnumeratorState` at version 1: no `adding` (newly added tables phase).
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct EnumeratorState {
    pub tables: Option<Vec<(TableId, String)>>,
    pub splitting_table: usize,
    pub splitter: TableSplitter,
    pub next_chunk_id: u64,
    pub pending: VecDeque<SnapshotSplit>,
    pub in_flight: BTreeMap<u64, SnapshotSplit>,
    pub finished: FinishedChunks,
    pub binlog_pending: Option<BinlogSplit>,
    pub binlog_assigned: bool,
}

/// Version 1 could neither suspend for new tables nor ignore vanished ones.
impl From<BinlogSplit> for split::BinlogSplit {
    fn from(v1: BinlogSplit) -> Self {
        split::BinlogSplit {
            offset: v1.offset,
            tables: v1.tables,
            watermarks: v1.watermarks,
            max_high_watermark: v1.max_high_watermark,
            skip_before_ms: v1.skip_before_ms,
            suspended: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

impl From<CdcSplit> for split::CdcSplit {
    fn from(v1: CdcSplit) -> Self {
        match v1 {
            CdcSplit::Snapshot(s) => split::CdcSplit::Snapshot(s),
            CdcSplit::Binlog(b) => split::CdcSplit::Binlog(b.into()),
        }
    }
}

/// Version 1 had no newly added tables phase: none is under way.
impl From<EnumeratorState> for Current {
    fn from(v1: EnumeratorState) -> Self {
        Current {
            tables: v1.tables,
            splitting_table: v1.splitting_table,
            splitter: v1.splitter,
            next_chunk_id: v1.next_chunk_id,
            pending: v1.pending,
            in_flight: v1.in_flight,
            finished: v1.finished,
            binlog_pending: v1.binlog_pending.map(Into::into),
            binlog_assigned: v1.binlog_assigned,
            adding: None,
        }
    }
}

/// A version 1 split (the bytes after the version header), upgraded.
pub(crate) fn split(body: &[u8]) -> Result<split::CdcSplit> {
    Ok(rust_core::state::decode_body::<CdcSplit>("split", body)?.into())
}

/// A version 1 enumerator state (the bytes after the version header), upgraded.
pub(crate) fn enumerator_state(body: &[u8]) -> Result<Current> {
    Ok(rust_core::state::decode_body::<EnumeratorState>("enumerator state", body)?.into())
}
