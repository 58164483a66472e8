//! The chaos runner's verdict: the emitted changelog replayed per primary key, compared with the
//! binlog's order and with the table's final state.
//!
//! Every row of the chaos table carries `uid` (fixed at insert, kept through primary-key changes)
//! and `ver` (0 at insert, +1 on every update), so each image says which row and which of its
//! versions it is. Flink's changelog semantics are per key: for each key the changelog must
//! follow that key's changes in binlog order. (Per row across keys there is no such order: a
//! row whose key changes during the snapshot is read by two chunks at two moments.) Per key:
//! - `-U`/`-D` must carry the key's current (uid, version); a newer version means changes were
//!   lost, an older one that a change came again (duplicated);
//! - `+U` follows its `-U` (the same update: same uid, version + 1, the same key: a primary-key
//!   change is `-D` of the old key and `+I` of the new one, either of which the watermarks drop
//!   when that key's chunk was read after the change);
//! - `+I` of a present key, or any image seen before at the key, is a duplicate; an older
//!   version of the key's row never seen before arrives out of order;
//! - at the end, each key's (uid, version) equals the table's: anything else is lost.
//!
//! [`Materialized`] (the per-key replay every test uses: what an upsert sink would hold) runs
//! alongside; its anomalies (an insert of a present key, an update-before or delete of an absent
//! key or of other values, an update-after not of the key of the update-before right before it)
//! are `KeyAnomaly` findings, and so is a final state that differs from
//! the table when nothing else explains it.
//!
//! Lost or stalled: a run that did not catch up with the table is `Stalled` when the changes it
//! lacks are still ahead of the binlog reader (no reader holds the binlog split, or it stands
//! before the server's binlog end); its differing keys are then reported as held up, not lost.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_core::api::RowKind;
use rust_core::testing::Emitted;

use crate::support::changelog::{cell, Materialized};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    Lost,
    Duplicated,
    OutOfOrder,
    /// An anomaly of the per-key replay (see `support::changelog`).
    KeyAnomaly,
    /// Changes not delivered within the catch-up time and still ahead of the binlog reader.
    Stalled,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub problem: Problem,
    pub uid: i64,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} uid {}: {}", self.problem, self.uid, self.detail)
    }
}

/// A row image: (uid, version).
type Image = (i64, u64);

/// One key as the changelog told it so far.
#[derive(Clone, Debug, Default)]
struct KeyLife {
    current: Option<Image>,
    /// The image a `-U`/`-D` removed last.
    removed: Option<Image>,
    /// Every image an insert or update-after carried to this key.
    seen: BTreeSet<Image>,
}

/// Clone it at a checkpoint; a restore rolls back to the clone (downstream state restores too).
#[derive(Clone, Default)]
pub struct Checker {
    pub by_key: Materialized,
    keys: BTreeMap<i64, KeyLife>,
    pub findings: Vec<Finding>,
}

impl Checker {
    pub fn apply(&mut self, emitted: &[Emitted]) {
        for e in emitted {
            // The -U just before a +U in the same batch: the two halves of one update.
            let mut update_before: Option<Image> = None;
            for r in 0..e.rows.num_rows() {
                let kind = e.kinds[r];
                let anomalies = self.by_key.anomalies.len();
                let (id, _) = self.by_key.apply_row(&e.rows, r, kind);
                let uid: i64 = cell(&e.rows, 1, r).parse().expect("uid");
                let ver: u64 = cell(&e.rows, 2, r).parse().expect("ver");
                // Copied out: `find` needs the checker mutably.
                let fresh = self.by_key.anomalies[anomalies..].to_vec();
                for a in fresh {
                    self.find(Problem::KeyAnomaly, uid, format!("key {id}: {a}"));
                }
                self.change(id, (uid, ver), kind, update_before.take());
                if kind == RowKind::UpdateBefore {
                    update_before = Some((uid, ver));
                }
            }
        }
    }

    fn find(&mut self, problem: Problem, uid: i64, detail: String) {
        self.findings.push(Finding {
            problem,
            uid,
            detail,
        });
    }

    fn change(&mut self, id: i64, image: Image, kind: RowKind, update_before: Option<Image>) {
        let (uid, ver) = image;
        let key = self.keys.entry(id).or_default().clone();
        let mut next = key.clone();
        match kind {
            RowKind::UpdateBefore | RowKind::Delete => {
                match key.current {
                    Some(cur) if cur == image => {}
                    Some((cur_uid, cur_ver)) if cur_uid == uid && ver < cur_ver => self.find(
                        Problem::Duplicated,
                        uid,
                        format!("{kind:?} of key {id} at version {ver}, but the key is at version {cur_ver}"),
                    ),
                    Some((cur_uid, cur_ver)) => self.find(
                        Problem::Lost,
                        uid,
                        format!("{kind:?} of key {id} with row {uid} version {ver}, but the key holds row {cur_uid} version {cur_ver}"),
                    ),
                    None if key.removed == Some(image) => self.find(
                        Problem::Duplicated,
                        uid,
                        format!("{kind:?} of key {id} at version {ver}, which was removed already"),
                    ),
                    None => self.find(Problem::Lost, uid, format!("{kind:?} of key {id} at version {ver}, but the key is absent")),
                }
                next.current = None;
                next.removed = Some(image);
            }
            RowKind::Insert | RowKind::UpdateAfter => {
                if let (RowKind::UpdateAfter, Some((b_uid, b_ver))) = (kind, update_before) {
                    if b_uid != uid || ver != b_ver + 1 {
                        self.find(
                            Problem::OutOfOrder,
                            uid,
                            format!("+U of key {id} (row {uid} version {ver}) follows -U of row {b_uid} version {b_ver}"),
                        );
                    }
                }
                if key.seen.contains(&image) {
                    self.find(
                        Problem::Duplicated,
                        uid,
                        format!("{kind:?} of key {id} at version {ver} seen before"),
                    );
                } else if let Some((cur_uid, cur_ver)) = key.current {
                    let p = if cur_uid == uid && ver < cur_ver {
                        Problem::OutOfOrder
                    } else {
                        Problem::Lost
                    };
                    self.find(
                        p,
                        uid,
                        format!("{kind:?} of key {id} (row {uid} version {ver}) while it holds row {cur_uid} version {cur_ver}"),
                    );
                }
                next.current = Some(image);
                next.seen.insert(image);
            }
        }
        self.keys.insert(id, next);
    }

    /// Compares with the table at the end: `table` is id -> (uid, ver, val). `stalled`: the run
    /// did not catch up and the changes are held up (see the module doc): keys that differ are
    /// then counted as held up, in one `Stalled` finding, not as lost.
    pub fn finish(&mut self, table: &BTreeMap<i64, (i64, u64, String)>, stalled: bool) {
        if stalled {
            let downstream: BTreeMap<i64, Image> = self
                .keys
                .iter()
                .filter_map(|(id, k)| k.current.map(|image| (*id, image)))
                .collect();
            let table_images: BTreeMap<i64, Image> = table
                .iter()
                .map(|(id, (uid, ver, _))| (*id, (*uid, *ver)))
                .collect();
            let behind: Vec<i64> = table_images
                .iter()
                .filter(|(id, image)| downstream.get(id) != Some(image))
                .map(|(id, _)| *id)
                .chain(
                    downstream
                        .keys()
                        .filter(|id| !table_images.contains_key(id))
                        .copied(),
                )
                .collect();
            self.find(
                Problem::Stalled,
                0,
                format!(
                    "{} keys behind the table (first: {:?})",
                    behind.len(),
                    &behind[..behind.len().min(10)]
                ),
            );
            return;
        }
        let downstream: BTreeMap<i64, Image> = self
            .keys
            .iter()
            .filter_map(|(id, k)| k.current.map(|image| (*id, image)))
            .collect();
        for (id, (uid, ver, _)) in table {
            match downstream.get(id) {
                None => self.find(
                    Problem::Lost,
                    *uid,
                    format!("key {id} (row {uid} version {ver}) is in the table, not downstream"),
                ),
                Some(&(d_uid, d_ver)) if d_uid == *uid && d_ver > *ver => self.find(
                    Problem::OutOfOrder,
                    *uid,
                    format!("key {id}: downstream at version {d_ver}, the table at {ver}"),
                ),
                Some(&image) if image != (*uid, *ver) => self.find(
                    Problem::Lost,
                    *uid,
                    format!(
                        "key {id}: downstream row {} version {}, the table row {uid} version {ver}",
                        image.0, image.1
                    ),
                ),
                Some(_) => {}
            }
        }
        for (id, (uid, ver)) in downstream {
            if !table.contains_key(&id) {
                self.find(Problem::Lost, uid, format!("key {id} (row {uid} version {ver}) is downstream, not in the table (its -D is missing)"));
            }
        }
        let rendered: BTreeMap<i64, String> = table
            .iter()
            .map(|(id, (uid, ver, val))| (*id, format!("{uid}|{ver}|{val}")))
            .collect();
        if self.by_key.rows != rendered {
            let differing = rendered
                .iter()
                .filter(|(id, v)| self.by_key.rows.get(id) != Some(v))
                .map(|(id, _)| *id)
                .chain(
                    self.by_key
                        .rows
                        .keys()
                        .filter(|id| !rendered.contains_key(id))
                        .copied(),
                )
                .take(10)
                .collect::<Vec<_>>();
            self.find(
                Problem::KeyAnomaly,
                0,
                format!("the per-key replay (an upsert sink's view) differs from the table at keys {differing:?}"),
            );
        }
    }

    /// Findings per problem.
    pub fn counts(&self) -> BTreeMap<Problem, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.problem).or_insert(0) += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch, StringArray};

    fn batch(rows: &[(RowKind, i64, i64, u64)]) -> Emitted {
        let columns: Vec<arrow_array::ArrayRef> = vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.3 as i64).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|_| "v").collect::<Vec<_>>(),
            )),
        ];
        let rows_batch =
            RecordBatch::try_from_iter(["id", "uid", "ver", "val"].into_iter().zip(columns))
                .unwrap();
        Emitted {
            subtask: 0,
            rows: rows_batch,
            kinds: rows.iter().map(|r| r.0).collect(),
        }
    }

    use RowKind::{Delete as D, Insert as I, UpdateAfter as UA, UpdateBefore as UB};

    #[test]
    fn a_correct_changelog_has_no_findings() {
        let mut c = Checker::default();
        // Row 10 from the snapshot at version 3, updated, moved to key 2 (-D, +I); row 11 inserted, deleted.
        c.apply(&[batch(&[
            (I, 1, 10, 3),
            (UB, 1, 10, 3),
            (UA, 1, 10, 4),
            (D, 1, 10, 4),
            (I, 2, 10, 5),
        ])]);
        c.apply(&[batch(&[(I, 7, 11, 0), (D, 7, 11, 0)])]);
        // A key change whose -D the watermarks dropped: only the +I of the new key.
        c.apply(&[batch(&[
            (I, 8, 12, 0),
            (UB, 8, 12, 0),
            (UA, 8, 12, 1),
            (I, 9, 13, 4),
        ])]);
        c.finish(
            &BTreeMap::from([
                (2, (10, 5, "v".to_string())),
                (8, (12, 1, "v".to_string())),
                (9, (13, 4, "v".to_string())),
            ]),
            false,
        );
        assert!(c.findings.is_empty(), "{:?}", c.findings);
    }

    #[test]
    fn lost_duplicated_and_out_of_order_changes_are_told_apart() {
        let problems =
            |rows: &[(RowKind, i64, i64, u64)], table: &[(i64, i64, u64)]| -> Vec<Problem> {
                let mut c = Checker::default();
                c.apply(&[batch(rows)]);
                c.finish(
                    &table
                        .iter()
                        .map(|&(id, uid, ver)| (id, (uid, ver, "v".to_string())))
                        .collect(),
                    false,
                );
                c.findings
                    .iter()
                    .map(|f| f.problem)
                    .filter(|p| *p != Problem::KeyAnomaly)
                    .collect()
            };
        // The update again.
        let p = problems(
            &[
                (I, 1, 10, 0),
                (UB, 1, 10, 0),
                (UA, 1, 10, 1),
                (UB, 1, 10, 0),
                (UA, 1, 10, 1),
            ],
            &[(1, 10, 1)],
        );
        assert!(
            p.contains(&Problem::Duplicated) && !p.contains(&Problem::Lost),
            "{p:?}"
        );
        // Version 1 -> 2 missing, and the last update.
        let p = problems(
            &[
                (I, 1, 10, 0),
                (UB, 1, 10, 0),
                (UA, 1, 10, 1),
                (UB, 1, 10, 2),
                (UA, 1, 10, 3),
            ],
            &[(1, 10, 4)],
        );
        assert_eq!(p, [Problem::Lost, Problem::Lost], "{p:?}");
        // An older version arrives after a newer one.
        let p = problems(
            &[(I, 1, 10, 2), (UB, 1, 10, 2), (UA, 1, 10, 1)],
            &[(1, 10, 2)],
        );
        assert!(p.contains(&Problem::OutOfOrder), "{p:?}");
    }

    /// A primary-key change as -U/+U (what rust-mysql-cdc emitted before issue 14): upsert sinks
    /// drop the -U and keep the old key, so the per-key replay flags the +U of another key.
    #[test]
    fn a_key_change_as_an_update_pair_is_a_key_anomaly() {
        let mut c = Checker::default();
        c.apply(&[batch(&[(I, 1, 10, 0), (UB, 1, 10, 0), (UA, 2, 10, 1)])]);
        c.finish(&BTreeMap::from([(2, (10, 1, "v".to_string()))]), false);
        let anomalies: Vec<&str> = c
            .findings
            .iter()
            .filter(|f| f.problem == Problem::KeyAnomaly)
            .map(|f| f.detail.as_str())
            .collect();
        assert_eq!(
            anomalies,
            ["key 2: -U of key 1 followed by UpdateAfter of key 2"],
            "{:?}",
            c.findings
        );
    }

    /// A run that stopped short with its changes still ahead of the binlog reader: one Stalled
    /// finding naming the keys behind, nothing counted as lost.
    #[test]
    fn a_stalled_run_counts_its_keys_as_held_up_not_lost() {
        let mut c = Checker::default();
        c.apply(&[batch(&[(I, 1, 10, 0), (I, 2, 11, 0)])]);
        c.finish(
            &BTreeMap::from([
                (1, (10, 2, "v".to_string())),
                (2, (11, 0, "v".to_string())),
                (3, (12, 0, "v".to_string())),
            ]),
            true,
        );
        let problems: Vec<Problem> = c.findings.iter().map(|f| f.problem).collect();
        assert_eq!(problems, [Problem::Stalled], "{:?}", c.findings);
        assert!(
            c.findings[0]
                .detail
                .starts_with("2 keys behind the table (first: [1, 3])"),
            "{}",
            c.findings[0].detail
        );
    }
}
