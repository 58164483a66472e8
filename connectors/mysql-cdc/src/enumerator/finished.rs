//! The enumerator's record of finished chunks and their high watermarks, kept as runs.
//!
//! Chunk ids are handed out in key order within a table (the splitter cuts a table from its
//! lowest key up), so chunks `n` and `n + 1` of one table are neighbours in key space. Neighbours
//! finished at the same high watermark (all chunks read while the binlog stood still, or read
//! between two writes) collapse into one run: the enumerator's checkpointed state then grows with
//! the number of watermark changes during the snapshot, not with the number of chunks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::position::offset::BinlogPosition;
use crate::schema::TableId;
#[cfg(test)]
use crate::state::split::ChunkRange;
use crate::state::split::{ChunkWatermark, KeyValue, SnapshotSplit};

/// Consecutive chunks `first..=last` of one table, covering `[start, end)`, all finished at `hw`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishedRun {
    pub last: u64,
    pub table: TableId,
    pub start: Option<KeyValue>,
    pub end: Option<KeyValue>,
    pub hw: BinlogPosition,
}

/// Finished chunks by the id of each run's first chunk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FinishedChunks {
    runs: BTreeMap<u64, FinishedRun>,
}

impl FinishedChunks {
    /// Number of runs (what the state holds), not chunks.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn clear(&mut self) {
        self.runs.clear();
    }

    /// The run holding chunk `id`, by its first id.
    fn run_of(&self, id: u64) -> Option<u64> {
        let (&first, run) = self.runs.range(..=id).next_back()?;
        (run.last >= id).then_some(first)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.run_of(id).is_some()
    }

    /// Records `chunk` (its range and id) as finished at `hw`, replacing an earlier record of it.
    pub fn insert(&mut self, chunk: &SnapshotSplit, hw: BinlogPosition) {
        self.remove(chunk);
        let id = chunk.id;
        let mut run = FinishedRun {
            last: id,
            table: chunk.table.clone(),
            start: chunk.range.start.clone(),
            end: chunk.range.end.clone(),
            hw,
        };
        let mut first = id;
        // Merge with the run ending just before, then with the one starting just after.
        if let Some(prev_first) = id.checked_sub(1).and_then(|p| self.run_of(p)) {
            let prev = &self.runs[&prev_first];
            if prev.last + 1 == id && prev.table == run.table && prev.hw == run.hw {
                let prev = self.runs.remove(&prev_first).expect("found above");
                run.start = prev.start;
                first = prev_first;
            }
        }
        if let Some(next) = self.runs.get(&(id + 1)) {
            if next.table == run.table && next.hw == run.hw {
                let next = self.runs.remove(&(id + 1)).expect("found above");
                run.last = next.last;
                run.end = next.end;
            }
        }
        self.runs.insert(first, run);
    }

    /// Forgets `chunk` (read again), splitting its run around it. True if it was recorded.
    pub fn remove(&mut self, chunk: &SnapshotSplit) -> bool {
        let Some(first) = self.run_of(chunk.id) else {
            return false;
        };
        let run = self.runs.remove(&first).expect("found above");
        if first < chunk.id {
            let before = FinishedRun {
                last: chunk.id - 1,
                end: chunk.range.start.clone(),
                ..run.clone()
            };
            self.runs.insert(first, before);
        }
        if run.last > chunk.id {
            let after = FinishedRun {
                start: chunk.range.end.clone(),
                ..run
            };
            self.runs.insert(chunk.id + 1, after);
        }
        true
    }

    /// Keeps the chunks of the tables `keep` accepts.
    pub fn retain_tables(&mut self, keep: impl Fn(&TableId) -> bool) {
        self.runs.retain(|_, r| keep(&r.table));
    }

    /// Forgets every chunk of `table` (its watermarks moved into the binlog split).
    pub fn remove_table(&mut self, table: &TableId) {
        self.runs.retain(|_, r| &r.table != table);
    }

    /// One table's watermarks in key order, for the binlog split.
    pub fn watermarks(&self, table: &TableId) -> Vec<ChunkWatermark> {
        let mut out: Vec<ChunkWatermark> = Vec::new();
        for run in self.runs.values().filter(|r| &r.table == table) {
            match out.last_mut() {
                Some(last) if last.high_watermark == run.hw => last.end = run.end.clone(),
                _ => out.push(ChunkWatermark {
                    end: run.end.clone(),
                    high_watermark: run.hw.clone(),
                }),
            }
        }
        out
    }

    /// The lowest and highest watermark recorded.
    pub fn bounds(&self) -> Option<(BinlogPosition, BinlogPosition)> {
        let min = self.runs.values().map(|r| &r.hw).min()?.clone();
        let max = self.runs.values().map(|r| &r.hw).max()?.clone();
        Some((min, max))
    }

    /// The ranges recorded for `table`, for tests and diagnostics.
    #[cfg(test)]
    pub fn ranges(&self, table: &TableId) -> Vec<(ChunkRange, BinlogPosition)> {
        self.runs
            .values()
            .filter(|r| &r.table == table)
            .map(|r| {
                (
                    ChunkRange {
                        start: r.start.clone(),
                        end: r.end.clone(),
                    },
                    r.hw.clone(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use crate::state::split::TableWatermarks;
    use crate::value::Value;

    fn table() -> TableId {
        TableId::new("db", "t")
    }

    /// Chunk `id` of a table cut into `[id * 10, id * 10 + 10)`, the first and last unbounded.
    fn chunk(id: u64, count: u64) -> SnapshotSplit {
        let bound = |i: u64| KeyValue::Int(i as i64 * 10);
        SnapshotSplit {
            id,
            table: table(),
            chunk_key: "id".into(),
            range: ChunkRange {
                start: (id > 0).then(|| bound(id)),
                end: (id + 1 < count).then(|| bound(id + 1)),
            },
            high_watermark: None,
        }
    }

    fn hw(pos: u64) -> BinlogPosition {
        BinlogPosition::new("bin.000001", pos)
    }

    #[test]
    fn a_million_chunks_at_one_watermark_are_one_run() {
        let n = 1_000_000;
        let mut f = FinishedChunks::default();
        // Finished out of order, as parallel readers do.
        for id in (0..n).step_by(2).chain((1..n).step_by(2)) {
            f.insert(&chunk(id, n), hw(500));
        }
        assert_eq!(f.runs(), 1);
        assert_eq!(
            f.watermarks(&table()),
            vec![ChunkWatermark {
                end: None,
                high_watermark: hw(500)
            }]
        );
    }

    /// Random reports, re-reports and reopenings: the runs always answer like a plain per-chunk map.
    #[test]
    fn runs_agree_with_a_per_chunk_record_under_random_operations() {
        for seed in 0..20 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let n = 200;
            let mut f = FinishedChunks::default();
            let mut plain: BTreeMap<u64, BinlogPosition> = BTreeMap::new();
            for _ in 0..2000 {
                let id = rng.random_range(0..n);
                if rng.random_bool(0.2) {
                    assert_eq!(f.remove(&chunk(id, n)), plain.remove(&id).is_some());
                } else {
                    let w = hw(100 * rng.random_range(1..4u64));
                    f.insert(&chunk(id, n), w.clone());
                    plain.insert(id, w);
                }
            }
            for id in 0..n {
                assert_eq!(
                    f.contains(id),
                    plain.contains_key(&id),
                    "seed {seed} chunk {id}"
                );
            }
            // Once every chunk is finished, the binlog split's lookup gives each chunk's watermark.
            for id in 0..n {
                if let std::collections::btree_map::Entry::Vacant(slot) = plain.entry(id) {
                    let w = hw(100);
                    f.insert(&chunk(id, n), w.clone());
                    slot.insert(w);
                }
            }
            let wm = TableWatermarks {
                table: table(),
                chunk_key: "id".into(),
                chunks: f.watermarks(&table()),
            };
            let column = crate::state::split::tests::bigint();
            for id in 0..n {
                for key in [id as i64 * 10, id as i64 * 10 + 9] {
                    let got = wm.watermark_of(&column, &Value::Int(key)).unwrap();
                    assert_eq!(got, &plain[&id], "seed {seed} key {key}");
                }
            }
            assert!(f.runs() <= plain.len());
        }
    }
}
