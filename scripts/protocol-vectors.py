#!/usr/bin/env python3
"""Writes testdata/protocol-vectors.json: the byte messages between Rust and Java
(rust-core/src/protocol.rs) for a set of cases, encoded here from the layout that file documents,
independently of both implementations. rust-core/tests/protocol_vectors.rs and java-bridge's
ProtocolVectorsTest check that each side writes and reads exactly these bytes.

Run after changing the protocol (and its documentation): python3 scripts/protocol-vectors.py
"""
import json
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "testdata" / "protocol-vectors.json"
NO_EVENT_TIME = -(2**63)


def i32(v):
    return struct.pack("<i", v)


def i64(v):
    return struct.pack("<q", v)


def blob(b):
    return i32(len(b)) + b


def split_list(splits):
    out = i32(len(splits))
    for s in splits:
        out += blob(s["id"].encode("utf-8")) + blob(bytes.fromhex(s["state"]))
    return out


def commands(cmds):
    out = i32(len(cmds))
    for c in cmds:
        (kind, f), = c.items()
        if kind == "assign":
            out += bytes([1]) + i32(f["subtask"]) + split_list(f["splits"])
        elif kind == "no_more_splits":
            out += bytes([2]) + i32(f["subtask"])
        elif kind == "send_event":
            out += bytes([3]) + i32(f["subtask"]) + blob(bytes.fromhex(f["event"]))
        elif kind == "call_async":
            out += bytes([4]) + i64(f["task_id"]) + i64(f["initial_delay_ms"]) + i64(f["period_ms"])
        else:
            raise ValueError(kind)
    return out


def response(r):
    rows = [bytes.fromhex(x) for x in r["rows"]]
    events = [bytes.fromhex(x) for x in r["events"]]
    head = (i32(r["status"]) + i32(r["flags"]) + i64(r["epoch"]) + i64(r["retry_after_nanos"])
            + i32(len(rows)) + i32(len(events)) + i64(r["event_time"]))
    assert len(head) == 40
    for e in events:
        head += blob(e)
    if r["status"] != 0:
        assert not rows
        return head
    # (rows + 1) absolute offsets, then the rows.
    at = len(head) + 4 * (len(rows) + 1)
    offsets = []
    for row in rows:
        offsets.append(at)
        at += len(row)
    offsets.append(at)
    return head + b"".join(i32(o) for o in offsets) + b"".join(rows)


# A BinaryRowData of one BIGINT column (header byte 0 = INSERT, null bits, then the long).
ROW_1 = "00000000000000000100000000000000"
ROW_2 = "03000000000000002a00000000000000"  # DELETE, 42

SPLIT_LISTS = [
    {"name": "empty", "splits": []},
    {"name": "two_splits_utf8_id_and_empty_state",
     "splits": [{"id": "chunk-0", "state": "0200000001"}, {"id": "é-binlog", "state": ""}]},
]

COMMANDS = [
    {"name": "none", "commands": []},
    {"name": "every_kind", "commands": [
        {"assign": {"subtask": 1, "splits": [{"id": "s1", "state": "01"}, {"id": "s2", "state": "0203"}]}},
        {"no_more_splits": {"subtask": 0}},
        {"send_event": {"subtask": 2, "event": "01000000beef"}},
        {"call_async": {"task_id": 7, "initial_delay_ms": 0, "period_ms": 0}},
        {"call_async": {"task_id": 8, "initial_delay_ms": 250, "period_ms": 1000}},
    ]},
]

RESPONSES = [
    {"name": "batch_of_two_rows_with_event_time", "status": 0, "flags": 0, "epoch": 5,
     "retry_after_nanos": 0, "event_time": 1700000000123, "events": [], "rows": [ROW_1, ROW_2]},
    {"name": "nothing_available_with_retry_split_request_and_event", "status": 1, "flags": 1, "epoch": 9,
     "retry_after_nanos": 250000000, "event_time": NO_EVENT_TIME, "events": ["0100000000"], "rows": []},
    {"name": "end_of_input_after_new_metrics", "status": 2, "flags": 2, "epoch": 0,
     "retry_after_nanos": 0, "event_time": NO_EVENT_TIME, "events": [], "rows": []},
    {"name": "none_with_two_events", "status": 3, "flags": 3, "epoch": 12,
     "retry_after_nanos": 0, "event_time": NO_EVENT_TIME, "events": ["aa", ""], "rows": []},
]


def main():
    doc = {
        "format": {
            "about": "Shared test vectors for the Rust-Java byte protocol (rust-core/src/protocol.rs documents "
                     "the layout). scripts/protocol-vectors.py writes 'hex' from the documented layout; "
                     "rust-core/tests/protocol_vectors.rs and java-bridge's ProtocolVectorsTest check that "
                     "each side encodes and decodes exactly these bytes.",
            "state, event, rows": "lowercase hex; rows are opaque BinaryRowData bytes here "
                                  "(testdata/binary-row-vectors.json pins the row encoding)",
            "event_time": "epoch ms, or -9223372036854775808 for none",
        },
        "split_lists": [dict(c, hex=split_list(c["splits"]).hex()) for c in SPLIT_LISTS],
        "enumerator_commands": [dict(c, hex=commands(c["commands"]).hex()) for c in COMMANDS],
        "reader_responses": [dict(c, hex=response(c).hex()) for c in RESPONSES],
    }
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
