//! The byte formats Java reads and writes. All integers are little-endian (Java reads them with a
//! little-endian `ByteBuffer` or a native-order `MemorySegment`; only little-endian platforms are
//! supported). `string` = i32 length + UTF-8; `bytes` = i32 length + raw bytes.
//!
//! Split list (splits in both directions, reader snapshots):
//!   i32 count, then per split: string id, bytes state
//!
//! Enumerator commands (every enumerator call that can decide something returns these):
//!   i32 count, then per command a u8 tag:
//!     1 assign splits:    i32 subtask, split list
//!     2 no more splits:   i32 subtask
//!     3 send event:       i32 subtask, bytes event
//!     4 call async:       i64 task id, i64 initial delay ms, i64 period ms (0 = run once)
//!
//! Reader response (every reader call that can produce signals or rows returns one):
//!    0 i32 status: 0 batch, 1 nothing available, 2 end of input, 3 none (not a poll)
//!    4 i32 flags: bit 0 = request a split from the enumerator,
//!                 bit 1 = the reader registered new metrics (Java mirrors them into Flink's)
//!    8 i64 availability epoch observed before polling (status 1: wait for it to change)
//!   16 i64 retry after, nanoseconds (status 1: wake at the latest after this; 0 = signal only)
//!   24 i32 row count
//!   28 i32 event count
//!   32 i64 event time of the batch, epoch ms (i64::MIN: none; see `ReaderContext::record_event_time`)
//!   40 events: event count x bytes
//!      then (row count + 1) x i32 row offsets, absolute within the response
//!      then the rows, each a Flink BinaryRowData

use std::time::Duration;

use crate::api::{AsyncSchedule, EnumeratorCommand};
use crate::error::{BridgeError, Result};

/// A split as it crosses the bridge: its id and its versioned serialized state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitBytes {
    /// [`crate::api::SourceSplit::split_id`].
    pub id: String,
    /// The split as [`crate::state::encode`] wrote it: version header, then bincode.
    pub state: Vec<u8>,
}

/// Response status: the response carries a batch of rows.
pub const STATUS_BATCH: i32 = 0;
/// Response status: no rows now; wait for the epoch to change or the retry delay.
pub const STATUS_NOTHING_AVAILABLE: i32 = 1;
/// Response status: the reader is done; Java returns `END_OF_INPUT` to Flink.
pub const STATUS_END_OF_INPUT: i32 = 2;
/// Response status: a callback other than a poll; only flags and events count.
pub const STATUS_NONE: i32 = 3;
/// Response flag: ask the enumerator for a split (Flink's `sendSplitRequest`).
pub const FLAG_REQUEST_SPLIT: i32 = 1;
/// Response flag: the reader registered metrics Java has not mirrored yet.
pub const FLAG_METRICS_CHANGED: i32 = 2;
/// The event-time field's value when the batch has none.
pub const NO_EVENT_TIME: i64 = i64::MIN;
/// Size of the fixed reader response header; events start at this offset.
pub const RESPONSE_HEADER_BYTES: usize = 40;

const TAG_ASSIGN: u8 = 1;
const TAG_NO_MORE_SPLITS: u8 = 2;
const TAG_SEND_EVENT: u8 = 3;
const TAG_CALL_ASYNC: u8 = 4;

/// Appends `v`, little-endian.
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v`, little-endian.
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a `bytes` field: i32 length, then `b`.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_i32(out, len_i32(b.len()));
    out.extend_from_slice(b);
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).expect("a bridge message part larger than 2 GiB")
}

/// Appends a split list (the module docs give the layout).
pub fn encode_split_list(out: &mut Vec<u8>, splits: &[SplitBytes]) {
    put_i32(out, len_i32(splits.len()));
    for s in splits {
        put_bytes(out, s.id.as_bytes());
        put_bytes(out, &s.state);
    }
}

/// Reads a split list from Java, all of it; a truncated list, a negative count, a non-UTF-8 id
/// or trailing bytes fail.
pub fn decode_split_list(bytes: &[u8]) -> Result<Vec<SplitBytes>> {
    let mut r = Reader { bytes, pos: 0 };
    let n = r.i32()?;
    if n < 0 {
        return Err(BridgeError::other(format!(
            "split list with a negative count ({n})"
        )));
    }
    // The count comes from Java: reserve no more than the bytes left could hold (each split takes
    // at least 8), or a corrupt count would ask for gigabytes and abort the JVM.
    let at_most = (bytes.len() - r.pos) / 8;
    let mut splits = Vec::with_capacity((n as usize).min(at_most));
    for _ in 0..n {
        let id = String::from_utf8(r.bytes()?.to_vec())
            .map_err(|_| BridgeError::other("split id is not UTF-8"))?;
        let state = r.bytes()?.to_vec();
        splits.push(SplitBytes { id, state });
    }
    if r.pos != bytes.len() {
        return Err(BridgeError::other("trailing bytes after split list"));
    }
    Ok(splits)
}

/// The enumerator commands for Java, in the order the enumerator decided them.
pub fn encode_commands(commands: &[EnumeratorCommand<SplitBytes>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_i32(&mut out, len_i32(commands.len()));
    for c in commands {
        match c {
            EnumeratorCommand::AssignSplits { subtask, splits } => {
                out.push(TAG_ASSIGN);
                put_i32(&mut out, *subtask as i32);
                encode_split_list(&mut out, splits);
            }
            EnumeratorCommand::SignalNoMoreSplits { subtask } => {
                out.push(TAG_NO_MORE_SPLITS);
                put_i32(&mut out, *subtask as i32);
            }
            EnumeratorCommand::SendEvent { subtask, event } => {
                out.push(TAG_SEND_EVENT);
                put_i32(&mut out, *subtask as i32);
                put_bytes(&mut out, event);
            }
            EnumeratorCommand::CallAsync { task_id, schedule } => {
                out.push(TAG_CALL_ASYNC);
                put_i64(&mut out, *task_id as i64);
                // A period of 0 means "run once"; a periodic task runs at least every millisecond.
                let (delay_ms, period_ms) = match schedule {
                    AsyncSchedule::Once => (0, 0),
                    AsyncSchedule::Periodic {
                        initial_delay,
                        period,
                    } => (
                        initial_delay.as_millis() as i64,
                        period.as_millis().max(1) as i64,
                    ),
                };
                put_i64(&mut out, delay_ms);
                put_i64(&mut out, period_ms);
            }
        }
    }
    out
}

/// Writes a reader response header (and events) into an empty buffer; rows follow. One argument
/// per header field, in header order.
#[allow(clippy::too_many_arguments)]
pub fn begin_response(
    out: &mut Vec<u8>,
    status: i32,
    flags: i32,
    epoch: u64,
    retry_after: Option<Duration>,
    row_count: usize,
    event_time_ms: Option<i64>,
    events: &[Vec<u8>],
) {
    debug_assert!(out.is_empty());
    put_i32(out, status);
    put_i32(out, flags);
    put_i64(out, epoch as i64);
    put_i64(
        out,
        retry_after.map_or(0, |d| d.as_nanos().clamp(1, i64::MAX as u128) as i64),
    );
    put_i32(out, len_i32(row_count));
    put_i32(out, len_i32(events.len()));
    put_i64(out, event_time_ms.unwrap_or(NO_EVENT_TIME));
    for e in events {
        put_bytes(out, e);
    }
}

/// Fills in a batch response's row offset table: `offsets_at` is where the table's
/// `(rows + 1) x i32` were reserved, `row_starts` where each row starts, and the response's end
/// closes the table. Fails for a response past 2 GiB (Java's offsets are i32).
pub fn write_row_offsets(out: &mut [u8], offsets_at: usize, row_starts: &[i32]) -> Result<()> {
    let end = i32::try_from(out.len())
        .map_err(|_| BridgeError::other("a batch larger than 2 GiB; lower the batch size"))?;
    for (i, off) in row_starts.iter().chain(std::iter::once(&end)).enumerate() {
        let at = offsets_at + 4 * i;
        out[at..at + 4].copy_from_slice(&off.to_le_bytes());
    }
    Ok(())
}

/// A bounds-checked little-endian reader over bytes that came from Java.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                BridgeError::other(format!(
                    "truncated message: need {n} bytes at offset {}",
                    self.pos
                ))
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next i32; fails past the end.
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    /// The next i64; fails past the end.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// The next `bytes` field, borrowed; a negative or too long length fails.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| BridgeError::other("negative length"))?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lists_round_trip_and_reject_truncation() {
        let splits = vec![
            SplitBytes {
                id: "a".into(),
                state: vec![1, 2, 3],
            },
            SplitBytes {
                id: "é-2".into(),
                state: vec![],
            },
        ];
        let mut bytes = Vec::new();
        encode_split_list(&mut bytes, &splits);
        assert_eq!(decode_split_list(&bytes).unwrap(), splits);
        assert!(decode_split_list(&bytes[..bytes.len() - 1]).is_err());
    }

    /// Found by the `state` fuzz target: a negative count read as an empty list.
    #[test]
    fn a_negative_split_count_is_an_error() {
        let e = decode_split_list(&(-7i32).to_le_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "split list with a negative count (-7)");
    }

    /// A count of i32::MAX used to reserve ~100 GB before reading a single split; the failed
    /// allocation aborted the process (the JVM, over JNI).
    #[test]
    fn a_huge_split_count_is_an_error_not_an_allocation() {
        let e = decode_split_list(&i32::MAX.to_le_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated message: need 4 bytes at offset 4"),
            "{e}"
        );
    }

    #[test]
    fn commands_have_the_documented_layout() {
        let cmds = vec![
            EnumeratorCommand::SignalNoMoreSplits { subtask: 2 },
            EnumeratorCommand::CallAsync {
                task_id: 9,
                schedule: AsyncSchedule::Periodic {
                    initial_delay: Duration::from_millis(5),
                    period: Duration::from_millis(100),
                },
            },
        ];
        let b = encode_commands(&cmds);
        let mut r = Reader::new(&b);
        assert_eq!(r.i32().unwrap(), 2);
        assert_eq!(r.take(1).unwrap(), &[TAG_NO_MORE_SPLITS]);
        assert_eq!(r.i32().unwrap(), 2);
        assert_eq!(r.take(1).unwrap(), &[TAG_CALL_ASYNC]);
        assert_eq!(
            (r.i64().unwrap(), r.i64().unwrap(), r.i64().unwrap()),
            (9, 5, 100)
        );
    }
}
