//! The changelog check every end-to-end test shares: emitted batches materialized by primary key
//! (column 0) as Flink's downstream state would hold them, with every anomaly a correct changelog
//! never has recorded: an insert of a key already present, an update-before or delete of a key
//! that is absent or held other values, and an update-after that is not of the key of the
//! update-before right before it (a primary-key change is a delete and an insert).
//!
//! Used by `src/tests.rs` (through `#[path]`) and the integration tests (`support::changelog`).
#![allow(dead_code)]

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use rust_core::api::RowKind;
use rust_core::testing::{Emitted, Harness};

/// One cell rendered as text ("NULL" for null).
pub fn cell(batch: &RecordBatch, column: usize, row: usize) -> String {
    let a = batch.column(column);
    if a.is_null(row) {
        return "NULL".into();
    }
    match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Utf8 => a.as_string::<i32>().value(row).to_string(),
        DataType::Timestamp(_, _) => a
            .as_primitive::<TimestampMillisecondType>()
            .value(row)
            .to_string(),
        other => panic!("no test rendering for {other}"),
    }
}

/// A changelog materialized by key (column 0; the other columns joined by '|'), with every
/// anomaly recorded. Clone it at a checkpoint to roll back to it on a restore.
#[derive(Clone, Default)]
pub struct Materialized {
    pub rows: BTreeMap<i64, String>,
    pub anomalies: Vec<String>,
    pub changes: usize,
    /// The key of a -U whose +U must come next: Flink's contract is that a -U/+U pair carries
    /// one key (upsert sinks drop the -U), so a primary-key change must be -D/+I instead.
    pub pending_update: Option<i64>,
}

impl Materialized {
    /// Polls `h` until this changelog, materialized, equals `expected`: after `timeout` it fails
    /// naming the step (`when`), and so does any anomaly.
    pub fn catch_up(
        &mut self,
        h: &mut Harness,
        expected: &BTreeMap<i64, String>,
        timeout: std::time::Duration,
        when: &str,
    ) {
        let got = h
            .run_until(timeout, |emitted| {
                let mut probe = self.clone();
                probe.apply(emitted);
                probe.rows == *expected
            })
            .unwrap_or_else(|e| panic!("{when}: {e}"));
        self.apply(&got);
        assert!(
            self.anomalies.is_empty(),
            "{when}: {:?}",
            &self.anomalies[..self.anomalies.len().min(10)]
        );
        assert_eq!(self.rows, *expected, "{when}");
    }

    pub fn apply(&mut self, emitted: &[Emitted]) {
        for e in emitted {
            for r in 0..e.rows.num_rows() {
                self.apply_row(&e.rows, r, e.kinds[r]);
            }
        }
    }

    /// Applies one row; returns its key and rendered values.
    pub fn apply_row(&mut self, batch: &RecordBatch, r: usize, kind: RowKind) -> (i64, String) {
        let id: i64 = cell(batch, 0, r).parse().unwrap();
        let value = (1..batch.num_columns())
            .map(|c| cell(batch, c, r))
            .collect::<Vec<_>>()
            .join("|");
        self.changes += 1;
        match (self.pending_update.take(), kind) {
            (Some(before), RowKind::UpdateAfter) if before == id => {}
            (Some(before), _) => self.anomalies.push(format!(
                "-U of key {before} followed by {kind:?} of key {id}"
            )),
            (None, RowKind::UpdateAfter) => self
                .anomalies
                .push(format!("+U of key {id} without a -U of it")),
            (None, _) => {}
        }
        match kind {
            RowKind::Insert | RowKind::UpdateAfter => {
                if let Some(old) = self.rows.insert(id, value.clone()) {
                    if kind == RowKind::Insert {
                        self.anomalies
                            .push(format!("+I of present key {id} (was {old}, now {value})"));
                    }
                }
            }
            RowKind::UpdateBefore | RowKind::Delete => match self.rows.remove(&id) {
                None => self.anomalies.push(format!("{kind:?} of absent key {id}")),
                Some(old) if old != value => self.anomalies.push(format!(
                    "{kind:?} of key {id} with {value}, but it was {old}"
                )),
                Some(_) => {}
            },
        }
        if kind == RowKind::UpdateBefore {
            self.pending_update = Some(id);
        }
        (id, value)
    }
}
