//! Splits (what readers read, checkpointed in their state) and the events between readers and
//! the enumerator.

use serde::{Deserialize, Serialize};

use rust_core::api::SourceSplit;
use rust_core::Result;

use crate::binlog::spill::SpillState;
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::ColumnSchema;
use crate::schema::TableId;
use crate::value::{compare_column_values, Value};

/// A chunk-key value in checkpoints: `mysql_async::Value`, which has no serde form of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyValue {
    Null,
    Bytes(Vec<u8>),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl From<&Value> for KeyValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::NULL => KeyValue::Null,
            Value::Bytes(b) => KeyValue::Bytes(b.clone()),
            Value::Int(i) => KeyValue::Int(*i),
            Value::UInt(u) => KeyValue::UInt(*u),
            Value::Float(f) => KeyValue::Float(*f),
            Value::Double(d) => KeyValue::Double(*d),
            Value::Date(y, m, d, h, i, s, us) => KeyValue::Date(*y, *m, *d, *h, *i, *s, *us),
            Value::Time(n, d, h, i, s, us) => KeyValue::Time(*n, *d, *h, *i, *s, *us),
        }
    }
}

impl From<&KeyValue> for Value {
    fn from(v: &KeyValue) -> Self {
        match v {
            KeyValue::Null => Value::NULL,
            KeyValue::Bytes(b) => Value::Bytes(b.clone()),
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::UInt(u) => Value::UInt(*u),
            KeyValue::Float(f) => Value::Float(*f),
            KeyValue::Double(d) => Value::Double(*d),
            KeyValue::Date(y, m, d, h, i, s, us) => Value::Date(*y, *m, *d, *h, *i, *s, *us),
            KeyValue::Time(n, d, h, i, s, us) => Value::Time(*n, *d, *h, *i, *s, *us),
        }
    }
}

/// A range of one table's chunk key: `[start, end)`; `None` is unbounded (the first chunk also
/// holds NULL keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkRange {
    pub start: Option<KeyValue>,
    pub end: Option<KeyValue>,
}

impl ChunkRange {
    pub fn whole() -> Self {
        ChunkRange {
            start: None,
            end: None,
        }
    }

    /// True when `key`, a value of the chunk-key `column`, falls in this range.
    pub fn contains(&self, column: &ColumnSchema, key: &Value) -> bool {
        if matches!(key, Value::NULL) {
            return self.start.is_none();
        }
        let cmp = |bound: &KeyValue| compare_column_values(column, key, &Value::from(bound));
        let after_start = self.start.as_ref().is_none_or(|s| cmp(s).is_ge());
        let before_end = self.end.as_ref().is_none_or(|e| cmp(e).is_lt());
        after_start && before_end
    }
}

/// One chunk of one table, read by the snapshot phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSplit {
    pub id: u64,
    pub table: TableId,
    pub chunk_key: String,
    pub range: ChunkRange,
    /// Set once the chunk was emitted: its high watermark, kept in the reader's state until the
    /// enumerator acknowledged the report.
    pub high_watermark: Option<BinlogPosition>,
}

/// A finished chunk as the binlog phase needs it: where it ends and its high watermark. Chunks of
/// a table are stored in key order, each starting where the previous one ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkWatermark {
    pub end: Option<KeyValue>,
    pub high_watermark: BinlogPosition,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableWatermarks {
    pub table: TableId,
    pub chunk_key: String,
    pub chunks: Vec<ChunkWatermark>,
}

impl TableWatermarks {
    /// The high watermark of the chunk holding `key`, a value of the chunk-key `column`.
    pub fn watermark_of(&self, column: &ColumnSchema, key: &Value) -> Option<&BinlogPosition> {
        if matches!(key, Value::NULL) {
            return self.chunks.first().map(|c| &c.high_watermark);
        }
        // The first chunk whose end is above the key (chunks are sorted and contiguous).
        let i = self.chunks.partition_point(|c| {
            c.end
                .as_ref()
                .is_some_and(|e| compare_column_values(column, &Value::from(e), key).is_le())
        });
        self.chunks.get(i).map(|c| &c.high_watermark)
    }
}

/// The binlog phase: one split, read by one reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinlogSplit {
    /// Where reading resumes.
    pub offset: BinlogOffset,
    pub tables: Vec<TableId>,
    /// Per table, the snapshot's chunk watermarks: a change before its chunk's watermark is
    /// already in the snapshot. Emptied once the reader passed `max_high_watermark`.
    pub watermarks: Vec<TableWatermarks>,
    pub max_high_watermark: Option<BinlogPosition>,
    /// Timestamp startup: changes written before this time are skipped.
    pub skip_before_ms: Option<i64>,
    /// Newly added tables (`enumerator/newly_added.rs`) the reader met and waits for: while not empty the
    /// split is suspended at `offset` (nothing at or after it was emitted) until the enumerator
    /// sends the tables' snapshot watermarks.
    pub suspended: Vec<TableId>,
    /// Tables that matched the patterns but could not be found when the enumerator looked them
    /// up (dropped since): their rows are passed over until a DDL creates or renames one again.
    pub ignored: Vec<TableId>,
}

impl BinlogSplit {
    pub const ID: &'static str = "binlog";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CdcSplit {
    Snapshot(SnapshotSplit),
    Binlog(BinlogSplit),
    /// The binlog split in a reader's checkpoint while it held spilled batches Flink had not
    /// taken (binlog/spill.rs). Only readers write it (never the enumerator); a variant of its own, so
    /// states written without a spill keep their form.
    BinlogSpilled(BinlogSplit, SpillState),
}

impl SourceSplit for CdcSplit {
    fn split_id(&self) -> String {
        match self {
            CdcSplit::Snapshot(s) => format!("snapshot-{}", s.id),
            CdcSplit::Binlog(_) | CdcSplit::BinlogSpilled(..) => BinlogSplit::ID.to_string(),
        }
    }
}

/// Reader to enumerator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReaderEvent {
    /// Chunks emitted, each with its high watermark set.
    ChunksFinished(Vec<SnapshotSplit>),
    /// Chunks the reader got back unfinished from its checkpointed state, before it started:
    /// it reads them again, so a report the enumerator already holds for them is void (see
    /// `MySqlCdcEnumerator::reopen`).
    ChunksRestored(Vec<SnapshotSplit>),
    /// The binlog reader suspended at `offset` (see `BinlogSplit::suspended`) for these tables,
    /// which match the patterns but are not captured. Sent again whenever the reader restores or
    /// gets a suspended split: the enumerator treats it idempotently.
    NewTables {
        tables: Vec<TableId>,
        offset: BinlogOffset,
    },
    /// The binlog reader merged these tables (from [`EnumeratorEvent::AddTables`]) into its split.
    TablesAdded(Vec<TableId>),
}

/// Enumerator to reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EnumeratorEvent {
    /// The enumerator recorded these chunks' reports; the reader may forget them.
    ChunksAcknowledged(Vec<u64>),
    /// The enumerator found these tables new (on restore): the reader holding the binlog split
    /// suspends and answers with [`ReaderEvent::NewTables`]; other readers ignore it.
    Suspend(Vec<TableId>),
    /// Every chunk of these newly added tables was read: the suspended binlog reader adds them
    /// with their watermarks and resumes. `dropped`: tables it reported that no longer exist.
    AddTables {
        tables: Vec<TableWatermarks>,
        max_high_watermark: Option<BinlogPosition>,
        dropped: Vec<TableId>,
    },
}

/// The version of source events between the enumerator and the readers: an in-job message format,
/// versioned apart from the checkpoint format (`Source::STATE_VERSION`). Both ends run in one job
/// from one jar and events are never checkpointed, so only this version is read and none is
/// upgraded (`rust_core::state::decode`).
const EVENT_VERSION: u32 = 1;

pub fn encode_event<T: Serialize>(event: &T) -> Result<Vec<u8>> {
    rust_core::state::encode(EVENT_VERSION, event)
}

pub fn decode_event<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    rust_core::state::decode("source event", EVENT_VERSION, bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BIGINT chunk-key column, for tests of key ranges and watermark lookups.
    pub(crate) fn bigint() -> ColumnSchema {
        ColumnSchema {
            name: "id".into(),
            data_type: "bigint".into(),
            column_type: "bigint(20)".into(),
            unsigned: false,
            nullable: false,
            precision: Some(19),
            scale: Some(0),
            char_max_length: None,
        }
    }

    fn wm(end: Option<i64>, pos: u64) -> ChunkWatermark {
        ChunkWatermark {
            end: end.map(KeyValue::Int),
            high_watermark: BinlogPosition::new("bin.000001", pos),
        }
    }

    #[test]
    fn watermark_lookup_finds_the_chunk_of_a_key() {
        let t = TableWatermarks {
            table: TableId::new("d", "t"),
            chunk_key: "id".into(),
            chunks: vec![wm(Some(10), 100), wm(Some(20), 200), wm(None, 300)],
        };
        let at = |k: i64| t.watermark_of(&bigint(), &Value::Int(k)).unwrap().pos;
        assert_eq!(at(-5), 100);
        assert_eq!(at(9), 100);
        assert_eq!(at(10), 200);
        assert_eq!(at(19), 200);
        assert_eq!(at(20), 300);
        assert_eq!(at(i64::MAX), 300);
        assert_eq!(t.watermark_of(&bigint(), &Value::NULL).unwrap().pos, 100);
    }

    #[test]
    fn ranges_are_half_open() {
        let r = ChunkRange {
            start: Some(KeyValue::Int(10)),
            end: Some(KeyValue::Int(20)),
        };
        let c = bigint();
        assert!(
            !r.contains(&c, &Value::Int(9))
                && r.contains(&c, &Value::Int(10))
                && !r.contains(&c, &Value::Int(20))
        );
        assert!(!r.contains(&c, &Value::NULL));
        assert!(ChunkRange::whole().contains(&c, &Value::NULL));
    }
}
