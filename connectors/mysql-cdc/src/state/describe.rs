//! What a checkpoint of this connector holds, in words: the enumerator's phase and each reader's
//! splits. For reports that must say where changes are held up (the chaos runner's stall
//! diagnosis) and for anyone debugging a restored job.

use std::fmt::Write;

use rust_core::protocol::SplitBytes;
use rust_core::Result;

use crate::enumerator::EnumeratorState;
use crate::position::offset::BinlogPosition;
use crate::source::MySqlCdcSource;
use crate::state::split::{BinlogSplit, CdcSplit};

/// Where a checkpoint's binlog reading stands: the reader holding the binlog split and its offset,
/// or why no reader holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum BinlogPhase {
    /// No reader holds the binlog split: the snapshot is not finished, or the handover waits.
    NotAssigned { snapshot_finished: bool },
    /// Reader `subtask` holds it, streaming from `at` (or suspended there for new tables).
    Reading {
        subtask: usize,
        at: BinlogPosition,
        suspended: bool,
    },
}

/// The checkpoint as text (one line for the enumerator, one per reader) and its binlog phase.
pub fn describe_checkpoint(
    enumerator: &[u8],
    readers: &[Vec<SplitBytes>],
) -> Result<(String, BinlogPhase)> {
    let state: EnumeratorState =
        rust_core::state::decode_enumerator_state::<MySqlCdcSource>(enumerator)?;
    let splitting_done = state
        .tables
        .as_ref()
        .is_some_and(|t| state.splitting_table >= t.len());
    let snapshot_finished =
        splitting_done && state.pending.is_empty() && state.in_flight.is_empty();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "enumerator: {} tables, splitting {}, {} chunks pending, in flight {:?}, {} runs of finished chunks, \
         binlog split {}{}",
        state.tables.as_ref().map_or(0, Vec::len),
        if splitting_done { "done" } else { "under way" },
        state.pending.len(),
        state.in_flight.keys().collect::<Vec<_>>(),
        state.finished.runs(),
        if state.binlog_assigned { "assigned" } else { "not assigned" },
        if state.adding.is_some() { ", adding new tables" } else { "" },
    );
    let mut phase = BinlogPhase::NotAssigned { snapshot_finished };
    for (subtask, splits) in readers.iter().enumerate() {
        let mut parts = Vec::new();
        for bytes in splits {
            let split: CdcSplit = rust_core::state::decode_split::<MySqlCdcSource>(&bytes.state)?;
            let binlog = |b: &BinlogSplit, spilled: bool| {
                format!(
                    "binlog at {}{}{}{}",
                    b.offset,
                    if b.max_high_watermark.is_some() {
                        ", replaying chunk watermarks"
                    } else {
                        ""
                    },
                    if b.suspended.is_empty() {
                        String::new()
                    } else {
                        format!(", suspended for {:?}", b.suspended)
                    },
                    if spilled {
                        ", with spilled batches"
                    } else {
                        ""
                    },
                )
            };
            match &split {
                CdcSplit::Snapshot(c) if c.high_watermark.is_some() => {
                    parts.push(format!("chunk {} emitted, unacknowledged", c.id))
                }
                CdcSplit::Snapshot(c) => parts.push(format!("chunk {} unread", c.id)),
                CdcSplit::Binlog(b) | CdcSplit::BinlogSpilled(b, _) => {
                    parts.push(binlog(b, matches!(split, CdcSplit::BinlogSpilled(..))));
                    phase = BinlogPhase::Reading {
                        subtask,
                        at: b.offset.position.clone(),
                        suspended: !b.suspended.is_empty(),
                    };
                }
            }
        }
        let _ = writeln!(
            text,
            "reader {subtask}: {}",
            if parts.is_empty() {
                "no splits".to_string()
            } else {
                parts.join("; ")
            }
        );
    }
    Ok((text, phase))
}
