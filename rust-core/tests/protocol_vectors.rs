//! Checks rust-core's side of the Rust-Java byte protocol against the shared vectors in
//! `testdata/protocol-vectors.json` (written from the documented layout by
//! `scripts/protocol-vectors.py`; java-bridge's `ProtocolVectorsTest` checks the Java side):
//! split lists encode and decode to the bytes, enumerator commands and reader responses encode
//! to them, with the functions the runtime uses.

use std::time::Duration;

use rust_core::api::{AsyncSchedule, EnumeratorCommand};
use rust_core::protocol::{self, SplitBytes};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/protocol-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn cases<'a>(root: &'a Value, section: &str) -> &'a Vec<Value> {
    let cases = root[section]
        .as_array()
        .unwrap_or_else(|| panic!("{section}"));
    assert!(!cases.is_empty(), "{section} has cases");
    cases
}

fn hex_field(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).unwrap()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("an integer: {v}"))
}

fn splits(v: &Value) -> Vec<SplitBytes> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| SplitBytes {
            id: s["id"].as_str().unwrap().to_string(),
            state: hex_field(&s["state"]),
        })
        .collect()
}

#[test]
fn split_lists_encode_and_decode_to_the_shared_bytes() {
    let root = vectors();
    for case in cases(&root, "split_lists") {
        let name = case["name"].as_str().unwrap();
        let expected = splits(&case["splits"]);
        let bytes = hex_field(&case["hex"]);
        let mut out = Vec::new();
        protocol::encode_split_list(&mut out, &expected);
        assert_eq!(hex::encode(&out), hex::encode(&bytes), "{name}: encoded");
        assert_eq!(
            protocol::decode_split_list(&bytes).unwrap(),
            expected,
            "{name}: decoded"
        );
    }
}

#[test]
fn enumerator_commands_encode_to_the_shared_bytes() {
    let root = vectors();
    for case in cases(&root, "enumerator_commands") {
        let name = case["name"].as_str().unwrap();
        let commands: Vec<EnumeratorCommand<SplitBytes>> = case["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let (kind, f) = c.as_object().unwrap().iter().next().unwrap();
                let subtask = || int(&f["subtask"]) as u32;
                match kind.as_str() {
                    "assign" => EnumeratorCommand::AssignSplits {
                        subtask: subtask(),
                        splits: splits(&f["splits"]),
                    },
                    "no_more_splits" => {
                        EnumeratorCommand::SignalNoMoreSplits { subtask: subtask() }
                    }
                    "send_event" => EnumeratorCommand::SendEvent {
                        subtask: subtask(),
                        event: hex_field(&f["event"]),
                    },
                    "call_async" => EnumeratorCommand::CallAsync {
                        task_id: int(&f["task_id"]) as u64,
                        schedule: match int(&f["period_ms"]) {
                            0 => AsyncSchedule::Once,
                            period => AsyncSchedule::Periodic {
                                initial_delay: Duration::from_millis(
                                    int(&f["initial_delay_ms"]) as u64
                                ),
                                period: Duration::from_millis(period as u64),
                            },
                        },
                    },
                    other => panic!("{name}: unknown command {other}"),
                }
            })
            .collect();
        assert_eq!(
            hex::encode(protocol::encode_commands(&commands)),
            case["hex"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn reader_responses_encode_to_the_shared_bytes() {
    let root = vectors();
    for case in cases(&root, "reader_responses") {
        let name = case["name"].as_str().unwrap();
        let rows: Vec<Vec<u8>> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex_field)
            .collect();
        let events: Vec<Vec<u8>> = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex_field)
            .collect();
        let retry = match int(&case["retry_after_nanos"]) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos as u64)),
        };
        let event_time = match int(&case["event_time"]) {
            protocol::NO_EVENT_TIME => None,
            ms => Some(ms),
        };
        let mut out = Vec::new();
        protocol::begin_response(
            &mut out,
            int(&case["status"]) as i32,
            int(&case["flags"]) as i32,
            int(&case["epoch"]) as u64,
            retry,
            rows.len(),
            event_time,
            &events,
        );
        if int(&case["status"]) as i32 == protocol::STATUS_BATCH {
            // As the runtime writes a batch: the offset table reserved, the rows, then the table.
            let offsets_at = out.len();
            out.resize(offsets_at + 4 * (rows.len() + 1), 0);
            let mut starts = Vec::new();
            for row in &rows {
                starts.push(out.len() as i32);
                out.extend_from_slice(row);
            }
            protocol::write_row_offsets(&mut out, offsets_at, &starts).unwrap();
        }
        assert_eq!(hex::encode(&out), case["hex"].as_str().unwrap(), "{name}");
    }
}
