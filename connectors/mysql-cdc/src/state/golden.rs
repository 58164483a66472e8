//! Golden checkpoint bytes of rust-mysql-cdc (`testdata/state/mysql-cdc-v*.bin`): every state
//! version this build reads decodes to its documented sample, upgraded to the current types, and
//! the current version's samples encode to their golden bytes byte for byte (a state type
//! changed without a new `STATE_VERSION` fails here). The samples are format samples, every
//! field set, not a moment of a real job.

use std::collections::{BTreeMap, VecDeque};

use rust_core::api::Source;
use rust_core::state::{decode_enumerator_state, decode_split, encode};
use rust_core::testing::{assert_golden_state, read_golden_state};

use crate::binlog::spill::{SegmentRef, SpillState};
use crate::enumerator::finished::FinishedChunks;
use crate::enumerator::newly_added::AddingTables;
use crate::enumerator::EnumeratorState;
use crate::position::offset::{BinlogOffset, BinlogPosition};
use crate::schema::TableId;
use crate::snapshot::chunk::TableSplitter;
use crate::source::MySqlCdcSource;
use crate::state::split::{
    BinlogSplit, CdcSplit, ChunkRange, ChunkWatermark, KeyValue, SnapshotSplit, TableWatermarks,
};
use crate::state::v1 as state_v1;

fn pos(p: u64) -> BinlogPosition {
    BinlogPosition::new("mysql-bin.000003", p)
}

fn orders() -> TableId {
    TableId::new("shop", "orders")
}

fn customers() -> TableId {
    TableId::new("shop", "customers")
}

fn chunk(
    id: u64,
    table: TableId,
    start: Option<i64>,
    end: Option<i64>,
    hw: Option<u64>,
) -> SnapshotSplit {
    SnapshotSplit {
        id,
        table,
        chunk_key: "id".into(),
        range: ChunkRange {
            start: start.map(KeyValue::Int),
            end: end.map(KeyValue::Int),
        },
        high_watermark: hw.map(pos),
    }
}

/// The samples of both versions (the fields version 1 had).
fn offset() -> BinlogOffset {
    BinlogOffset {
        position: pos(5000),
        skip_rows: 2,
        gtid: Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-23".into()),
    }
}

fn watermarks() -> Vec<TableWatermarks> {
    vec![TableWatermarks {
        table: orders(),
        chunk_key: "id".into(),
        chunks: vec![
            ChunkWatermark {
                end: Some(KeyValue::Int(100)),
                high_watermark: pos(4000),
            },
            ChunkWatermark {
                end: None,
                high_watermark: pos(4711),
            },
        ],
    }]
}

fn snapshot_split() -> SnapshotSplit {
    chunk(7, orders(), Some(100), Some(200), Some(4711))
}

/// Chunks 5 and 6 of orders finished at one watermark: one run.
fn finished() -> FinishedChunks {
    let mut finished = FinishedChunks::default();
    finished.insert(&chunk(5, orders(), None, Some(100), None), pos(4000));
    finished.insert(&chunk(6, orders(), Some(100), Some(200), None), pos(4000));
    finished
}

fn splitter() -> TableSplitter {
    TableSplitter::golden_even(1, 1000, 100, Some(KeyValue::Int(201)))
}

fn v1_binlog_split() -> state_v1::BinlogSplit {
    state_v1::BinlogSplit {
        offset: offset(),
        tables: vec![orders(), customers()],
        watermarks: watermarks(),
        max_high_watermark: Some(pos(4711)),
        skip_before_ms: Some(1_700_000_000_000),
    }
}

/// What the version 1 binlog split means now: not suspended, nothing ignored.
fn v1_binlog_split_upgraded() -> BinlogSplit {
    BinlogSplit {
        offset: offset(),
        tables: vec![orders(), customers()],
        watermarks: watermarks(),
        max_high_watermark: Some(pos(4711)),
        skip_before_ms: Some(1_700_000_000_000),
        suspended: Vec::new(),
        ignored: Vec::new(),
    }
}

fn v1_enumerator() -> state_v1::EnumeratorState {
    state_v1::EnumeratorState {
        tables: Some(vec![(orders(), "id".into()), (customers(), "id".into())]),
        splitting_table: 1,
        splitter: splitter(),
        next_chunk_id: 9,
        pending: VecDeque::from(vec![chunk(8, customers(), Some(101), Some(201), None)]),
        in_flight: BTreeMap::from([(7, chunk(7, orders(), Some(200), None, None))]),
        finished: finished(),
        binlog_pending: Some(v1_binlog_split()),
        binlog_assigned: false,
    }
}

/// Version 1 files were written by the build of cfacab0 (testdata/state/README.md).
#[test]
fn version_1_checkpoints_decode_to_their_samples_upgraded() {
    let v1 = |name: &str| read_golden_state(&format!("mysql-cdc-v1-{name}.bin"));
    // The bytes are version 1 and hold the samples field for field.
    let bytes = v1("split-binlog");
    assert_eq!(bytes[..4], 1u32.to_le_bytes());
    let decoded: state_v1::CdcSplit = rust_core::state::decode_body("split", &bytes[4..]).unwrap();
    assert_eq!(decoded, state_v1::CdcSplit::Binlog(v1_binlog_split()));
    let bytes = v1("enumerator");
    let decoded: state_v1::EnumeratorState =
        rust_core::state::decode_body("enumerator state", &bytes[4..]).unwrap();
    assert_eq!(decoded, v1_enumerator());

    // Restored through the source, as Flink restores them: upgraded to the current types.
    let split = decode_split::<MySqlCdcSource>(&v1("split-snapshot")).unwrap();
    assert_eq!(split, CdcSplit::Snapshot(snapshot_split()));
    let CdcSplit::Binlog(binlog) = decode_split::<MySqlCdcSource>(&v1("split-binlog")).unwrap()
    else {
        panic!("not a binlog split");
    };
    assert_eq!(binlog.offset.position, pos(5000));
    assert_eq!(binlog.offset.skip_rows, 2);
    assert_eq!(
        binlog.offset.gtid.as_deref(),
        Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-23")
    );
    assert_eq!(binlog.watermarks[0].chunks[1].high_watermark, pos(4711));
    assert_eq!(binlog, v1_binlog_split_upgraded());

    let state = decode_enumerator_state::<MySqlCdcSource>(&v1("enumerator")).unwrap();
    assert_eq!(state.next_chunk_id, 9);
    assert_eq!(state.in_flight.keys().collect::<Vec<_>>(), [&7]);
    assert_eq!(state.finished.runs(), 1);
    assert_eq!(
        state.finished.watermarks(&orders()),
        [ChunkWatermark {
            end: Some(KeyValue::Int(200)),
            high_watermark: pos(4000)
        }]
    );
    assert_eq!(state.splitter, splitter());
    assert_eq!(state.binlog_pending, Some(v1_binlog_split_upgraded()));
    assert!(!state.binlog_assigned);
    assert_eq!(state.adding, None);
}

fn v2_binlog_split() -> BinlogSplit {
    BinlogSplit {
        suspended: vec![TableId::new("shop", "refunds")],
        ignored: vec![TableId::new("shop", "gone")],
        ..v1_binlog_split_upgraded()
    }
}

fn v2_spill() -> SpillState {
    SpillState {
        segments: vec![SegmentRef {
            path: "/tmp/flink-io/rust-mysql-cdc-spill/segment-3.arrow".into(),
            len: 65_536,
            crc: 0xDEAD_BEEF,
            read_from: 4_096,
        }],
        resume: BinlogOffset::at(pos(9000)),
    }
}

fn v2_enumerator() -> EnumeratorState {
    EnumeratorState {
        tables: Some(vec![(orders(), "id".into()), (customers(), "id".into())]),
        splitting_table: 1,
        splitter: splitter(),
        next_chunk_id: 9,
        pending: VecDeque::from(vec![chunk(8, customers(), Some(101), Some(201), None)]),
        in_flight: BTreeMap::from([(7, chunk(7, orders(), Some(200), None, None))]),
        finished: finished(),
        binlog_pending: Some(v2_binlog_split()),
        binlog_assigned: false,
        adding: Some(AddingTables {
            requested: vec![TableId::new("shop", "refunds")],
            tables: vec![(TableId::new("shop", "returns"), "return_id".into())],
            dropped: vec![TableId::new("shop", "gone")],
            splitting_table: 0,
            splitter: TableSplitter::golden_even(10, 90, 40, None),
            suspended_at: Some(offset()),
            acked: vec![],
        }),
    }
}

/// The current version: the samples encode to the golden bytes, and the bytes decode to them.
#[test]
fn version_2_samples_encode_to_their_golden_bytes() {
    let version = <MySqlCdcSource as Source>::STATE_VERSION;
    assert_eq!(
        version, 2,
        "a new version needs golden files and these samples for it"
    );
    let splits = [
        (
            "mysql-cdc-v2-split-snapshot.bin",
            CdcSplit::Snapshot(snapshot_split()),
        ),
        (
            "mysql-cdc-v2-split-binlog.bin",
            CdcSplit::Binlog(v2_binlog_split()),
        ),
        (
            "mysql-cdc-v2-split-binlog-spilled.bin",
            CdcSplit::BinlogSpilled(v2_binlog_split(), v2_spill()),
        ),
    ];
    for (name, split) in splits {
        assert_golden_state(name, &encode(version, &split).unwrap());
        assert_eq!(
            decode_split::<MySqlCdcSource>(&read_golden_state(name)).unwrap(),
            split
        );
    }
    let name = "mysql-cdc-v2-enumerator.bin";
    assert_golden_state(name, &encode(version, &v2_enumerator()).unwrap());
    let state = decode_enumerator_state::<MySqlCdcSource>(&read_golden_state(name)).unwrap();
    assert_eq!(state, v2_enumerator());
    assert_eq!(state.adding.unwrap().tables[0].1, "return_id");
}

/// A checkpoint of a later release (a downgrade) names both versions and the way out.
#[test]
fn a_later_version_is_refused_naming_both() {
    let mut bytes = read_golden_state("mysql-cdc-v2-enumerator.bin");
    bytes[..4].copy_from_slice(&3u32.to_le_bytes());
    let e = decode_enumerator_state::<MySqlCdcSource>(&bytes)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("written with state version 3 but this connector reads version 2 (and every earlier one)")
            && e.contains("start without state"),
        "{e}"
    );
}
