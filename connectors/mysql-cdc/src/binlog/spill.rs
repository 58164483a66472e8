//! The binlog spill: when Flink stops polling (backpressure), the binlog reader keeps reading and
//! appends its batches to local disk instead of waiting, so a slow sink never holds the reader so
//! far behind that the server purges binlog files it has not read yet.
//!
//! Segments are append-only files of frames, one frame per batch the worker would have sent:
//!
//! ```text
//! frame   = "RSPL" | payload length (u32 LE) | CRC32 of payload (u32 LE) | payload
//! payload = meta length (u32 LE) | meta (rust-core state encoding of RecordMeta)
//!         | row kinds length (u32 LE) | row kinds (one byte each)
//!         | Arrow IPC stream of the batch (schema + one record batch; empty for offset-only frames)
//! ```
//!
//! Two threads share a spill: the worker appends ([`SpillWriter`]), Flink's task thread reads
//! ([`SpillReader`]), checkpoints ([`SpillReader::snapshot`]) and deletes segments once a
//! checkpoint that no longer needs them completes ([`SpillReader::checkpoint_complete`]).
//! Order: once a batch went to the spill, every later batch does too until the task thread has
//! read them all (`pending == 0`); batches already in the worker's channel are older than every
//! spilled one, so the task thread takes the channel first.
//!
//! The worker waits (on [`SpillWriter::space_freed`], never a timer) while the spill holds
//! `max_bytes` and has batches Flink has not taken; once those are taken it blocks on the channel
//! as it does without a spill.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use rust_core::api::{ChangeBatch, RowKind};
use rust_core::error::BridgeError;
use rust_core::metrics::{Counter, Gauge, Metrics};
use rust_core::Result;

use crate::binlog::spill_dir::{DirLock, DIR_PREFIX};
use crate::position::offset::BinlogOffset;

const MAGIC: &[u8; 4] = b"RSPL";
const HEADER: usize = 12;
/// The version of a frame's `RecordMeta`. Not an in-job message: a checkpoint's
/// `CdcSplit::BinlogSpilled` names segments that a restored reader reads, possibly one of a later
/// jar, so a change needs a new version and the old one kept readable, as `STATE_VERSION`.
const META_VERSION: u32 = 1;

/// The typed `scan.binlog.spill.*` options.
#[derive(Clone, Debug, PartialEq)]
pub struct SpillConfig {
    /// The directory readers create their own spill directories in; None: the reader's local
    /// directory (Flink's `io.tmp.dirs` on its TaskManager; the system one outside Flink).
    pub dir: Option<PathBuf>,
    /// Bytes of segments on disk at most (unread ones and those kept for the last checkpoint).
    pub max_bytes: u64,
    /// A segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes: u64,
    /// How long a directory whose reader is gone stays for a restore on this machine (binlog/spill_dir.rs).
    pub orphan_retention: std::time::Duration,
}

/// The options' defaults (`1gb`, `64mb`, `1h`, the system temp directory); also what a restored
/// spill is read with when the option is off now.
impl Default for SpillConfig {
    fn default() -> Self {
        SpillConfig {
            dir: None,
            max_bytes: 1 << 30,
            segment_bytes: 64 << 20,
            orphan_retention: std::time::Duration::from_secs(3600),
        }
    }
}

/// A spilled segment as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    pub path: String,
    /// Bytes of whole frames at the checkpoint (the file may be longer: frames written after).
    pub len: u64,
    /// CRC32 of the file's first `len` bytes.
    pub crc: u32,
    /// Where the first frame Flink had not taken starts.
    pub read_from: u64,
}

/// The spill's part of a checkpoint: the batches Flink had not taken, and where the binlog
/// resumes after them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpillState {
    pub segments: Vec<SegmentRef>,
    /// The offset after the last spilled batch.
    pub resume: BinlogOffset,
}

impl SpillState {
    pub fn describe(&self) -> String {
        let paths: Vec<&str> = self.segments.iter().map(|s| s.path.as_str()).collect();
        paths.join(", ")
    }
}

/// What travels with a spilled batch (the worker's `Output::Binlog` without the rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    pub offset: BinlogOffset,
    pub watermarks_passed: bool,
    pub event_time: Option<(i64, i64)>,
}

/// A batch read back.
#[derive(Debug)]
pub struct Spilled {
    pub meta: RecordMeta,
    pub batch: Option<ChangeBatch>,
}

/// One frame, encoded by the worker before it decides where it goes.
pub struct Frame {
    bytes: Vec<u8>,
    offset: BinlogOffset,
}

impl Frame {
    pub fn encode(meta: &RecordMeta, batch: Option<&ChangeBatch>) -> Result<Frame> {
        let meta_bytes = rust_core::state::encode(META_VERSION, meta)?;
        let mut payload = Vec::with_capacity(meta_bytes.len() + 64);
        payload.extend_from_slice(&(meta_bytes.len() as u32).to_le_bytes());
        payload.extend_from_slice(&meta_bytes);
        match batch {
            None => payload.extend_from_slice(&0u32.to_le_bytes()),
            Some(b) => {
                let kinds: Vec<u8> = b
                    .row_kinds
                    .as_ref()
                    .map(|k| k.iter().map(|k| *k as u8).collect())
                    .unwrap_or_default();
                payload.extend_from_slice(
                    &(kinds.len() as u32
                        | if b.row_kinds.is_some() {
                            0x8000_0000
                        } else {
                            0
                        })
                    .to_le_bytes(),
                );
                payload.extend_from_slice(&kinds);
                let mut writer =
                    arrow_ipc::writer::StreamWriter::try_new(&mut payload, &b.rows.schema())
                        .map_err(|e| BridgeError::external("encoding a spilled batch", e))?;
                writer
                    .write(&b.rows)
                    .map_err(|e| BridgeError::external("encoding a spilled batch", e))?;
                writer
                    .finish()
                    .map_err(|e| BridgeError::external("encoding a spilled batch", e))?;
            }
        }
        let mut bytes = Vec::with_capacity(HEADER + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        Ok(Frame {
            bytes,
            offset: meta.offset.clone(),
        })
    }

    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

fn decode_payload(payload: &[u8]) -> std::result::Result<Spilled, String> {
    let take_u32 = |at: usize| -> std::result::Result<u32, String> {
        payload
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| "truncated frame".to_string())
    };
    let meta_len = take_u32(0)? as usize;
    let meta_bytes = payload.get(4..4 + meta_len).ok_or("truncated frame")?;
    let meta: RecordMeta = rust_core::state::decode("spilled batch", META_VERSION, meta_bytes)
        .map_err(|e| e.to_string())?;
    let at = 4 + meta_len;
    let kinds_word = take_u32(at)?;
    let has_kinds = kinds_word & 0x8000_0000 != 0;
    let kinds_len = (kinds_word & 0x7FFF_FFFF) as usize;
    let kinds = payload
        .get(at + 4..at + 4 + kinds_len)
        .ok_or("truncated frame")?;
    let ipc = &payload[at + 4 + kinds_len..];
    if ipc.is_empty() {
        return Ok(Spilled { meta, batch: None });
    }
    let mut reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)
        .map_err(|e| e.to_string())?;
    let rows = reader
        .next()
        .ok_or("no record batch in a spilled frame")?
        .map_err(|e| e.to_string())?;
    let row_kinds = if has_kinds {
        let kinds: std::result::Result<Vec<RowKind>, String> = kinds
            .iter()
            .map(|k| match k {
                0 => Ok(RowKind::Insert),
                1 => Ok(RowKind::UpdateBefore),
                2 => Ok(RowKind::UpdateAfter),
                3 => Ok(RowKind::Delete),
                other => Err(format!("row kind {other}")),
            })
            .collect();
        Some(kinds?)
    } else {
        None
    };
    Ok(Spilled {
        meta,
        batch: Some(ChangeBatch { rows, row_kinds }),
    })
}

/// The spill's gauges and counters (docs/operations.md).
#[derive(Clone)]
struct SpillMetrics {
    bytes: Gauge,
    segments: Gauge,
    pending: Gauge,
    spilled_batches: Counter,
    spilled_bytes: Counter,
}

impl SpillMetrics {
    fn register(metrics: &Metrics) -> Self {
        SpillMetrics {
            bytes: metrics.gauge("spillBytes"),
            segments: metrics.gauge("spillSegments"),
            pending: metrics.gauge("spillPendingBatches"),
            spilled_batches: metrics.counter("numSpilledBatches"),
            spilled_bytes: metrics.counter("numSpilledBytes"),
        }
    }
}

struct Segment {
    id: u64,
    path: PathBuf,
    /// Bytes of whole frames.
    len: u64,
    /// Bytes the task thread has taken.
    read: u64,
    crc: crc32fast::Hasher,
    /// No more frames are appended.
    sealed: bool,
}

/// What one checkpoint recorded.
struct Snap {
    /// Segments fully read and sealed at the checkpoint: deleted once it completes.
    deletable: Vec<u64>,
    /// Segments the checkpoint's state names.
    refs: Vec<u64>,
}

struct Inner {
    segments: VecDeque<Segment>,
    /// Frames appended and not taken by the task thread.
    pending: usize,
    next_id: u64,
    /// Bytes of every segment on disk.
    bytes: u64,
    /// The offset of the last frame appended (or restored).
    last_offset: Option<BinlogOffset>,
    snapshots: BTreeMap<u64, Snap>,
    /// Segments the last completed checkpoint needs (kept on close).
    completed_refs: Vec<u64>,
    /// The reader's own directory was created.
    dir_created: bool,
    /// The lock on the reader's own directory, once created (released when the spill closes).
    own_lock: Option<DirLock>,
    /// Directories of restored segments (another reader's), removed once empty.
    foreign_dirs: Vec<PathBuf>,
    /// The locks on `foreign_dirs`, so no other reader removes them while they are read.
    foreign_locks: Vec<DirLock>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Task thread to worker: a frame was taken or a segment deleted.
    space: tokio::sync::Notify,
    metrics: SpillMetrics,
    /// The base directory, where other readers' directories are swept (binlog/spill_dir.rs).
    base: PathBuf,
    dir: PathBuf,
    config: SpillConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, inner: &Inner) {
        self.metrics.bytes.set(inner.bytes as i64);
        self.metrics.segments.set(inner.segments.len() as i64);
        self.metrics.pending.set(inner.pending as i64);
    }

    fn ensure_dir(&self, inner: &mut Inner) -> Result<()> {
        if !inner.dir_created {
            create_private_dir(&self.dir).map_err(|e| {
                BridgeError::external(
                    format!("creating the binlog spill directory {}", self.dir.display()),
                    e,
                )
            })?;
            inner.dir_created = true;
            match DirLock::acquire(&self.dir) {
                Ok(lock) => inner.own_lock = lock,
                // Unlocked, the directory may be swept once its reader is gone; it still works.
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), "cannot lock the binlog spill directory: {e}")
                }
            }
        }
        Ok(())
    }

    /// Marks the reader's directories active (see binlog/spill_dir.rs: retention counts from the mark).
    fn mark_active(&self, inner: &Inner) {
        inner
            .own_lock
            .iter()
            .chain(&inner.foreign_locks)
            .for_each(DirLock::touch);
    }

    /// Removes other readers' directories under the base that are gone and past the retention.
    fn sweep_orphans(&self, inner: &Inner) {
        let mut keep: Vec<&Path> = inner.foreign_dirs.iter().map(PathBuf::as_path).collect();
        keep.push(&self.dir);
        crate::binlog::spill_dir::sweep_with_other_jobs(
            &self.base,
            self.config.orphan_retention,
            &keep,
        );
    }

    fn delete(&self, inner: &mut Inner, ids: &[u64]) {
        inner.segments.retain(|s| {
            if !ids.contains(&s.id) {
                return true;
            }
            if let Err(e) = std::fs::remove_file(&s.path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %s.path.display(), "cannot delete a binlog spill segment: {e}");
                }
            }
            inner.bytes -= s.len;
            false
        });
    }
}

/// A restored spill that could not be used: the checkpoint's batches are read from the binlog
/// instead, and this says why if that fails too.
#[derive(Clone, Debug)]
pub struct LostSpill {
    pub segments: String,
    pub cause: String,
}

impl LostSpill {
    /// The error when the binlog cannot be read where the lost spill began either.
    pub fn explain(&self, offset: &BinlogOffset, error: &BridgeError) -> BridgeError {
        BridgeError::validation(format!(
            "the checkpoint this reader restored from holds binlog changes after {offset} in spill segments \
             ({}), which cannot be used: {}; reading those changes from the binlog instead failed: {}. Restore \
             on the machine that wrote the spill, or put 'scan.binlog.spill.dir' on a disk that survives the \
             TaskManager at the same path on every TaskManager; otherwise restart the job without its \
             checkpoint to take a new snapshot",
            self.segments,
            self.cause,
            error.message_chain()
        ))
    }
}

/// Opens a reader's spill: a new directory of its own under `config.dir` and, after a restore,
/// the checkpoint's segments (checked: present, long enough, CRC). Returns the task thread's and
/// the worker's halves, and where the worker starts: after the restored batches, or (without
/// them) where Flink's state says, with the reason the restored spill was not usable.
pub fn open(
    config: &SpillConfig,
    metrics: &Metrics,
    tag: &str,
    restored: Option<SpillState>,
) -> (
    SpillReader,
    SpillWriter,
    Option<BinlogOffset>,
    Option<LostSpill>,
) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let base = config.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!(
        "{DIR_PREFIX}{tag}-{}-{nanos:x}",
        std::process::id()
    ));
    let mut inner = Inner {
        segments: VecDeque::new(),
        pending: 0,
        next_id: 0,
        bytes: 0,
        last_offset: None,
        snapshots: BTreeMap::new(),
        completed_refs: Vec::new(),
        dir_created: false,
        own_lock: None,
        foreign_dirs: Vec::new(),
        foreign_locks: Vec::new(),
    };
    let mut resume = None;
    let mut lost = None;
    if let Some(state) = restored {
        match check_restored(&state) {
            Ok(segments) => {
                for (i, (r, frames)) in segments.into_iter().enumerate() {
                    let path = PathBuf::from(&r.path);
                    if let Some(parent) = path.parent() {
                        if !inner.foreign_dirs.iter().any(|d| d == parent) {
                            inner.foreign_dirs.push(parent.to_path_buf());
                        }
                    }
                    // Continues from the checkpoint's CRC: a checkpoint naming it again gives the same.
                    let crc = crc32fast::Hasher::new_with_initial(r.crc);
                    inner.segments.push_back(Segment {
                        id: i as u64,
                        path,
                        len: r.len,
                        read: r.read_from,
                        crc,
                        sealed: true,
                    });
                    inner.bytes += r.len;
                    inner.pending += frames;
                }
                inner.foreign_locks = claim(&inner.foreign_dirs);
                inner.next_id = inner.segments.len() as u64;
                inner.completed_refs = (0..inner.next_id).collect();
                inner.last_offset = Some(state.resume.clone());
                tracing::info!(segments = %state.describe(), batches = inner.pending, resume = %state.resume,
                    "restored spilled binlog batches: emitting them before reading the binlog again");
                resume = Some(state.resume);
            }
            Err(cause) => {
                tracing::warn!(segments = %state.describe(), "the checkpoint's binlog spill cannot be used ({cause}): \
                    reading its changes from the binlog instead");
                lost = Some(LostSpill {
                    segments: state.describe(),
                    cause,
                });
            }
        }
    }
    let shared = Arc::new(Shared {
        inner: Mutex::new(inner),
        space: tokio::sync::Notify::new(),
        metrics: SpillMetrics::register(metrics),
        base,
        dir,
        config: config.clone(),
    });
    {
        let inner = shared.lock();
        shared.publish(&inner);
        shared.sweep_orphans(&inner);
    }
    (
        SpillReader {
            shared: shared.clone(),
            file: None,
        },
        SpillWriter { shared, file: None },
        resume,
        lost,
    )
}

/// Locks the restored segments' directories. One another live reader holds is read all the same
/// (two jobs restored from one checkpoint on one machine), with a WARN.
fn claim(dirs: &[PathBuf]) -> Vec<DirLock> {
    dirs.iter()
        .filter_map(|dir| match DirLock::acquire(dir) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                tracing::warn!(dir = %dir.display(), "a restored binlog spill directory is held by another live reader");
                None
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot lock a restored binlog spill directory: {e}");
                None
            }
        })
        .collect()
}

/// Checks each restored segment and counts the frames after its read position.
fn check_restored(state: &SpillState) -> std::result::Result<Vec<(SegmentRef, usize)>, String> {
    let mut out = Vec::new();
    for r in &state.segments {
        // The reader deletes restored segments once read: a damaged or foreign state must not
        // name other files (the name, then the frames, are checked).
        let path = Path::new(&r.path);
        let named_as_segment = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("segment-") && n.ends_with(".arrows"))
            && path
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rust-mysql-cdc-spill-"));
        if !named_as_segment || r.read_from >= r.len {
            return Err(format!(
                "{} is not a spill segment with unread batches",
                r.path
            ));
        }
        let mut file =
            File::open(&r.path).map_err(|e| format!("segment {} cannot be opened: {e}", r.path))?;
        let size = file
            .metadata()
            .map_err(|e| format!("segment {}: {e}", r.path))?
            .len();
        if size < r.len {
            return Err(format!(
                "segment {} holds {size} bytes, the checkpoint expects {}",
                r.path, r.len
            ));
        }
        let mut bytes = vec![0u8; r.len as usize];
        file.read_exact(&mut bytes)
            .map_err(|e| format!("segment {}: {e}", r.path))?;
        if crc32fast::hash(&bytes) != r.crc {
            return Err(format!(
                "segment {} does not match the checkpoint's checksum",
                r.path
            ));
        }
        let mut at = r.read_from as usize;
        let mut frames = 0;
        while at < bytes.len() {
            let (payload, next) = frame_at(&bytes, at)
                .map_err(|e| format!("segment {} at byte {at}: {e}", r.path))?;
            decode_payload(payload).map_err(|e| format!("segment {} at byte {at}: {e}", r.path))?;
            at = next;
            frames += 1;
        }
        out.push((r.clone(), frames));
    }
    Ok(out)
}

/// The payload of the frame at `at` in `bytes`, checked, and where the next frame starts.
fn frame_at(bytes: &[u8], at: usize) -> std::result::Result<(&[u8], usize), String> {
    let header = bytes.get(at..at + HEADER).ok_or("truncated frame header")?;
    if &header[..4] != MAGIC {
        return Err("not a spill frame".into());
    }
    let len = u32::from_le_bytes(header[4..8].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(header[8..12].try_into().unwrap());
    let payload = bytes
        .get(at + HEADER..at + HEADER + len)
        .ok_or("truncated frame")?;
    if crc32fast::hash(payload) != crc {
        return Err("frame checksum mismatch".into());
    }
    Ok((payload, at + HEADER + len))
}

/// The worker's half: appends frames.
pub struct SpillWriter {
    shared: Arc<Shared>,
    /// The segment being appended to (its id) and its file.
    file: Option<(u64, File)>,
}

/// Where [`SpillWriter::offer`] put a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Appended,
    /// The spill is at `max_bytes` (or the frame alone is larger): the frame was not written.
    Full,
}

impl SpillWriter {
    /// True while the spill holds batches Flink has not taken: every batch must follow them.
    pub fn spilling(&self) -> bool {
        self.shared.lock().pending > 0
    }

    /// Appends `frame` unless that would take the spill past its bound.
    pub fn offer(&mut self, frame: &Frame) -> Result<Offer> {
        let shared = self.shared.clone();
        let (rotate, id) = {
            let mut inner = shared.lock();
            if inner.bytes + frame.len() > shared.config.max_bytes {
                return Ok(Offer::Full);
            }
            shared.ensure_dir(&mut inner)?;
            let current = self.file.as_ref().map(|(id, _)| *id);
            let tail = current.and_then(|id| inner.segments.iter().find(|s| s.id == id));
            // A new segment when the current one is full, or fully read (so it can be deleted).
            let rotate = match tail {
                None => true,
                Some(s) => s.len >= shared.config.segment_bytes || (s.read == s.len && s.len > 0),
            };
            if rotate {
                if let Some(s) =
                    current.and_then(|id| inner.segments.iter_mut().find(|s| s.id == id))
                {
                    s.sealed = true;
                }
                let id = inner.next_id;
                inner.next_id += 1;
                (true, id)
            } else {
                (false, current.expect("a current segment"))
            }
        };
        if rotate {
            let path = shared.dir.join(format!("segment-{id:08}.arrows"));
            let file = private_file(OpenOptions::new().create_new(true).append(true))
                .open(&path)
                .map_err(|e| {
                    BridgeError::external(
                        format!("creating binlog spill segment {}", path.display()),
                        e,
                    )
                })?;
            self.file = Some((id, file));
            let mut inner = shared.lock();
            inner.segments.push_back(Segment {
                id,
                path,
                len: 0,
                read: 0,
                crc: crc32fast::Hasher::new(),
                sealed: false,
            });
        }
        let (_, file) = self.file.as_mut().expect("segment open");
        file.write_all(&frame.bytes).map_err(|e| {
            BridgeError::external(
                format!("writing to the binlog spill in {} (free disk space there, or lower 'scan.binlog.spill.max-size')", shared.dir.display()),
                e,
            )
        })?;
        let mut inner = shared.lock();
        let seg = inner
            .segments
            .iter_mut()
            .find(|s| s.id == id)
            .expect("current segment listed");
        seg.len += frame.len();
        seg.crc.update(&frame.bytes);
        inner.bytes += frame.len();
        inner.pending += 1;
        inner.last_offset = Some(frame.offset.clone());
        shared.metrics.spilled_batches.inc(1);
        shared.metrics.spilled_bytes.inc(frame.len());
        shared.publish(&inner);
        Ok(Offer::Appended)
    }

    /// Completes when the task thread took a frame or deleted segments since the last call (a
    /// permit is stored: a wake-up between checking and waiting is not lost).
    pub async fn space_freed(&self) {
        self.shared.space.notified().await
    }
}

/// The task thread's half: reads frames in order, checkpoints, deletes, cleans up.
pub struct SpillReader {
    shared: Arc<Shared>,
    file: Option<(u64, File)>,
}

impl SpillReader {
    pub fn pending(&self) -> usize {
        self.shared.lock().pending
    }

    /// The oldest batch Flink has not taken, if any.
    pub fn take_next(&mut self) -> Result<Option<Spilled>> {
        let (id, path, read) = {
            let inner = self.shared.lock();
            if inner.pending == 0 {
                return Ok(None);
            }
            match inner.segments.iter().find(|s| s.read < s.len) {
                Some(s) => (s.id, s.path.clone(), s.read),
                None => return Ok(None),
            }
        };
        let damaged = |e: String| {
            BridgeError::other(format!(
                "the binlog spill segment {} is damaged at byte {read}: {e}; the job restarts from its last \
                 checkpoint",
                path.display()
            ))
        };
        if self.file.as_ref().map(|(i, _)| *i) != Some(id) {
            let file = File::open(&path).map_err(|e| damaged(format!("cannot open it: {e}")))?;
            self.file = Some((id, file));
        }
        let (_, file) = self.file.as_mut().expect("opened above");
        file.seek(SeekFrom::Start(read))
            .map_err(|e| damaged(e.to_string()))?;
        let mut header = [0u8; HEADER];
        file.read_exact(&mut header)
            .map_err(|e| damaged(e.to_string()))?;
        if &header[..4] != MAGIC {
            return Err(damaged("not a spill frame".into()));
        }
        let len = u32::from_le_bytes(header[4..8].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(header[8..12].try_into().unwrap());
        let mut payload = vec![0u8; len];
        file.read_exact(&mut payload)
            .map_err(|e| damaged(e.to_string()))?;
        if crc32fast::hash(&payload) != crc {
            return Err(damaged("frame checksum mismatch".into()));
        }
        let spilled = decode_payload(&payload).map_err(damaged)?;
        {
            let mut inner = self.shared.lock();
            let seg = inner
                .segments
                .iter_mut()
                .find(|s| s.id == id)
                .expect("segment being read is listed");
            seg.read += (HEADER + len) as u64;
            inner.pending -= 1;
            self.shared.publish(&inner);
        }
        self.shared.space.notify_one();
        Ok(Some(spilled))
    }

    /// Moves batches Flink had not taken from the worker's channel (older than every spilled
    /// one) to the front of the spill, so that a checkpoint can name them. Only while spilling.
    pub fn insert_head(&mut self, frames: &[Frame]) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let shared = self.shared.clone();
        let id = {
            let mut inner = shared.lock();
            shared.ensure_dir(&mut inner)?;
            let id = inner.next_id;
            inner.next_id += 1;
            id
        };
        let path = shared.dir.join(format!("segment-{id:08}.arrows"));
        let mut bytes = Vec::new();
        for f in frames {
            bytes.extend_from_slice(&f.bytes);
        }
        let mut file = private_file(OpenOptions::new().create_new(true).write(true))
            .open(&path)
            .map_err(|e| {
                BridgeError::external(
                    format!("creating binlog spill segment {}", path.display()),
                    e,
                )
            })?;
        file.write_all(&bytes).map_err(|e| {
            BridgeError::external(
                format!("writing binlog spill segment {}", path.display()),
                e,
            )
        })?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        let mut inner = shared.lock();
        let at = inner
            .segments
            .iter()
            .position(|s| s.read < s.len)
            .unwrap_or(inner.segments.len());
        inner.segments.insert(
            at,
            Segment {
                id,
                path,
                len: bytes.len() as u64,
                read: 0,
                crc,
                sealed: true,
            },
        );
        inner.bytes += bytes.len() as u64;
        inner.pending += frames.len();
        shared.publish(&inner);
        Ok(())
    }

    /// The spill's part of checkpoint `checkpoint_id`: `None` when Flink has taken every batch.
    pub fn snapshot(&mut self, checkpoint_id: u64) -> Option<SpillState> {
        let mut inner = self.shared.lock();
        let deletable = inner
            .segments
            .iter()
            .filter(|s| s.sealed && s.read == s.len)
            .map(|s| s.id)
            .collect();
        let unread: Vec<&Segment> = inner.segments.iter().filter(|s| s.read < s.len).collect();
        let refs: Vec<u64> = unread.iter().map(|s| s.id).collect();
        let state = (inner.pending > 0).then(|| SpillState {
            segments: unread
                .iter()
                .map(|s| SegmentRef {
                    path: s.path.to_string_lossy().into_owned(),
                    len: s.len,
                    crc: s.crc.clone().finalize(),
                    read_from: s.read,
                })
                .collect(),
            resume: inner
                .last_offset
                .clone()
                .expect("spilled frames have offsets"),
        });
        inner
            .snapshots
            .insert(checkpoint_id, Snap { deletable, refs });
        state
    }

    /// Deletes the segments checkpoint `checkpoint_id` no longer needs.
    pub fn checkpoint_complete(&mut self, checkpoint_id: u64) {
        let mut inner = self.shared.lock();
        let Some(snap) = inner.snapshots.remove(&checkpoint_id) else {
            return;
        };
        inner.snapshots.retain(|id, _| *id > checkpoint_id);
        self.shared.delete(&mut inner, &snap.deletable);
        inner.completed_refs = snap.refs;
        if self
            .file
            .as_ref()
            .is_some_and(|(id, _)| snap.deletable.contains(id))
        {
            self.file = None;
        }
        remove_emptied(&mut inner);
        self.shared.mark_active(&inner);
        self.shared.publish(&inner);
        drop(inner);
        self.shared.space.notify_one();
    }

    /// After the worker stopped: deletes every segment no checkpoint that may be restored needs
    /// (the last completed one's, and those of checkpoints taken since), and the directory when
    /// nothing is left in it.
    pub fn close(&mut self) {
        self.file = None;
        let mut inner = self.shared.lock();
        let mut keep: Vec<u64> = inner.completed_refs.clone();
        for snap in inner.snapshots.values() {
            keep.extend(&snap.refs);
        }
        let drop_ids: Vec<u64> = inner
            .segments
            .iter()
            .map(|s| s.id)
            .filter(|id| !keep.contains(id))
            .collect();
        self.shared.delete(&mut inner, &drop_ids);
        if inner.dir_created
            && !inner
                .segments
                .iter()
                .any(|s| s.path.starts_with(&self.shared.dir))
        {
            let _ = std::fs::remove_dir_all(&self.shared.dir);
            inner.dir_created = false;
        } else if !inner.segments.is_empty() {
            tracing::info!(dir = %self.shared.dir.display(), segments = inner.segments.len(),
                retention_s = self.shared.config.orphan_retention.as_secs(),
                "binlog spill segments kept for a restore from the last checkpoint (a failover); if none \
                 comes, a later reader removes them after 'scan.binlog.spill.orphan-retention'");
        }
        remove_emptied(&mut inner);
        // The retention of what stays counts from now; then the locks go with the reader.
        self.shared.mark_active(&inner);
        inner.own_lock = None;
        inner.foreign_locks.clear();
        self.shared.sweep_orphans(&inner);
        self.shared.publish(&inner);
    }

    /// The reader's own spill directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

/// Removes the restored segments' directories that are empty now, with their locks.
fn remove_emptied(inner: &mut Inner) {
    for dir in std::mem::take(&mut inner.foreign_dirs) {
        // The lock file is the only entry left once every segment is deleted.
        let emptied = std::fs::read_dir(&dir).is_ok_and(|entries| {
            entries
                .flatten()
                .all(|e| e.file_name() == crate::binlog::spill_dir::LOCK_FILE)
        });
        if emptied && std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
            inner.foreign_locks.retain(|l| !l.locks(&dir));
        } else {
            inner.foreign_dirs.push(dir);
        }
    }
}

/// Creates a reader's spill directory (and missing parents) readable by its owner only: the
/// segments hold captured rows, and a shared temporary directory is readable by every user.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Spill files are created readable and writable by their owner only (see [`create_private_dir`]).
fn private_file(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// Checks at submission that the spill directory can be created and written.
pub fn check_writable(dir: &Path) -> std::result::Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(format!(
        ".rust-mysql-cdc-spill-probe-{}",
        std::process::id()
    ));
    let result = std::fs::write(&probe, b"probe")
        .map_err(|e| format!("cannot write to {}: {e}", dir.display()));
    let _ = std::fs::remove_file(&probe);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::offset::BinlogPosition;
    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    fn config(dir: &Path, max: u64, segment: u64) -> SpillConfig {
        SpillConfig {
            dir: Some(dir.to_path_buf()),
            max_bytes: max,
            segment_bytes: segment,
            orphan_retention: std::time::Duration::from_secs(3600),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spill-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn frame(n: i64) -> Frame {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let rows = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![n, n + 1, n + 2]))],
        )
        .unwrap();
        let batch = ChangeBatch {
            rows,
            row_kinds: Some(vec![
                RowKind::Insert,
                RowKind::UpdateBefore,
                RowKind::Delete,
            ]),
        };
        let meta = RecordMeta {
            offset: BinlogOffset::at(BinlogPosition::new("bin.000001", n as u64)),
            watermarks_passed: n % 2 == 0,
            event_time: Some((n, n + 1)),
        };
        Frame::encode(&meta, Some(&batch)).unwrap()
    }

    fn first_id(s: &Spilled) -> i64 {
        let rows = &s.batch.as_ref().unwrap().rows;
        rows.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    }

    /// Segment files in `dir` (the lock file aside).
    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".arrows"))
                    .count()
            })
            .unwrap_or(0)
    }

    #[test]
    fn batches_come_back_in_order_with_their_metadata_across_segments() {
        let base = tmp("order");
        let one = frame(0).len();
        let (mut r, mut w, resume, lost) =
            open(&config(&base, 1 << 20, one * 3), &Metrics::new(), "t", None);
        assert!(resume.is_none() && lost.is_none());
        assert!(!w.spilling());
        for n in 0..10 {
            assert_eq!(w.offer(&frame(n * 10 + n % 2)).unwrap(), Offer::Appended);
        }
        let offset_only = Frame::encode(
            &RecordMeta {
                offset: BinlogOffset::at(BinlogPosition::new("bin.000002", 4)),
                watermarks_passed: false,
                event_time: None,
            },
            None,
        )
        .unwrap();
        w.offer(&offset_only).unwrap();
        assert!(w.spilling());
        assert_eq!(r.pending(), 11);
        // Three frames per segment: 11 frames rotate into 4 segments.
        assert_eq!(files(r.dir()), 4);
        for n in 0..10 {
            let s = r.take_next().unwrap().unwrap();
            let id = n * 10 + n % 2;
            assert_eq!(first_id(&s), id);
            assert_eq!(s.meta.offset.position.pos, id as u64);
            assert_eq!(s.meta.watermarks_passed, n % 2 == 0);
            assert_eq!(s.meta.event_time, Some((id, id + 1)));
            let kinds = s.batch.unwrap().row_kinds.unwrap();
            assert_eq!(
                kinds,
                vec![RowKind::Insert, RowKind::UpdateBefore, RowKind::Delete]
            );
        }
        let last = r.take_next().unwrap().unwrap();
        assert!(last.batch.is_none());
        assert_eq!(last.meta.offset.position.file, "bin.000002");
        assert!(r.take_next().unwrap().is_none());
        assert!(!w.spilling());
        r.close();
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn segments_kept_at_close_stay_while_restored_and_go_once_idle_past_the_retention() {
        let base = tmp("orphans");
        let mut keep_long = config(&base, 1 << 20, 1 << 20);
        keep_long.orphan_retention = std::time::Duration::from_secs(3600);
        let mut keep_none = keep_long.clone();
        keep_none.orphan_retention = std::time::Duration::ZERO;
        let reader = |config: &SpillConfig, tag: &str, restored: Option<SpillState>| {
            let (r, w, _, lost) = open(config, &Metrics::new(), tag, restored);
            assert!(lost.is_none());
            (r, w)
        };

        // A reader spills, a completed checkpoint names the unread batch, and the reader closes
        // (a cancelled job or a failover: the same to it). Its directory stays for a restore.
        let (mut a, mut w) = reader(&keep_none, "a", None);
        w.offer(&frame(0)).unwrap();
        let state = a.snapshot(1).expect("an unread batch");
        a.checkpoint_complete(1);
        a.close();
        let kept = a.dir().to_path_buf();
        assert_eq!(files(&kept), 1, "kept for a restore from checkpoint 1");

        // Within the retention, another reader's start leaves it.
        let (mut other, _) = reader(&keep_long, "other", None);
        other.close();
        assert_eq!(files(&kept), 1);

        // A restore holds it: even a reader with no retention leaves it.
        let (mut b, _) = reader(&keep_none, "b", Some(state));
        let (mut c, _) = reader(&keep_none, "c", None);
        assert_eq!(files(&kept), 1, "held by the restored reader");
        c.close();
        // The restored reader closes before taking the batch (its checkpoint still needs it):
        // nothing holds the directory now, and the next reader past the retention removes it.
        b.close();
        assert!(kept.exists());
        let (mut d, _) = reader(&keep_none, "d", None);
        assert!(
            !kept.exists(),
            "removed by the next reader once nobody holds it"
        );
        d.close();
        let left: Vec<_> = std::fs::read_dir(&base).unwrap().flatten().collect();
        assert!(
            left.is_empty(),
            "readers that spilled nothing leave nothing: {left:?}"
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[cfg(unix)]
    #[test]
    fn the_spill_directory_and_its_segments_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let base = tmp("private");
        let (mut r, mut w, _, _) =
            open(&config(&base, 1 << 20, 1 << 20), &Metrics::new(), "t", None);
        w.offer(&frame(0)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(r.dir()), 0o700, "{}", r.dir().display());
        let segments: Vec<PathBuf> = std::fs::read_dir(r.dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!segments.is_empty());
        for segment in &segments {
            assert_eq!(mode(segment), 0o600, "{}", segment.display());
        }
        r.close();
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_bound_refuses_frames_until_a_checkpoint_frees_segments() {
        let base = tmp("bound");
        let one = frame(0).len();
        let metrics = Metrics::new();
        let (mut r, mut w, _, _) = open(&config(&base, one * 4, one * 2), &metrics, "t", None);
        for n in 0..4 {
            assert_eq!(w.offer(&frame(n)).unwrap(), Offer::Appended);
        }
        assert_eq!(w.offer(&frame(4)).unwrap(), Offer::Full);
        let gauge = |name: &str| {
            let i = metrics
                .descriptors()
                .iter()
                .position(|(_, n)| n == name)
                .unwrap();
            metrics.long_value(i).unwrap()
        };
        assert_eq!(gauge("spillBytes") as u64, one * 4);
        assert_eq!(gauge("numSpilledBatches"), 4);
        // Taking frames frees no disk: segments are kept for the last checkpoint.
        for _ in 0..3 {
            r.take_next().unwrap().unwrap();
        }
        assert_eq!(w.offer(&frame(4)).unwrap(), Offer::Full);
        // The first segment (frames 0, 1) is read and sealed: checkpoint 1 does not need it,
        // so it goes when checkpoint 1 completes, not before.
        let state = r.snapshot(1).unwrap();
        assert_eq!(state.segments.len(), 1);
        assert_eq!(state.segments[0].read_from, one);
        assert_eq!(state.resume.position.pos, 3);
        assert_eq!(files(r.dir()), 2);
        r.checkpoint_complete(1);
        assert_eq!(files(r.dir()), 1);
        assert_eq!(gauge("spillBytes") as u64, one * 2);
        assert_eq!(w.offer(&frame(4)).unwrap(), Offer::Appended);
        assert_eq!(first_id(&r.take_next().unwrap().unwrap()), 3);
        assert_eq!(first_id(&r.take_next().unwrap().unwrap()), 4);
        // Checkpoint 1 still names frames 2 and 3: closing now keeps their segment.
        r.close();
        assert_eq!(files(r.dir()), 1);
        // A checkpoint after them completes: nothing is left for a restore, the directory goes.
        r.snapshot(2);
        r.checkpoint_complete(2);
        r.close();
        assert!(
            !r.dir().exists(),
            "nothing left for a restore: the directory goes"
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_restore_reads_the_checkpoints_frames_and_a_damaged_or_missing_segment_is_refused() {
        let base = tmp("restore");
        let one = frame(0).len();
        let (mut r, mut w, _, _) =
            open(&config(&base, 1 << 20, one * 2), &Metrics::new(), "t", None);
        for n in 0..5 {
            w.offer(&frame(n)).unwrap();
        }
        r.take_next().unwrap().unwrap();
        let state = r.snapshot(7).unwrap();
        r.checkpoint_complete(7);
        // Frames after the checkpoint: not in its state.
        w.offer(&frame(5)).unwrap();
        r.close();
        // The checkpoint's segments survive close (its restore needs them).
        assert!(state.segments.iter().all(|s| Path::new(&s.path).exists()));

        let (mut r2, mut w2, resume, lost) = open(
            &config(&base, 1 << 20, one * 2),
            &Metrics::new(),
            "t2",
            Some(state.clone()),
        );
        assert!(lost.is_none(), "{lost:?}");
        assert_eq!(resume.unwrap().position.pos, 4);
        assert!(
            w2.spilling(),
            "restored frames come first: new ones follow them"
        );
        // A checkpoint before any is taken names the same segments, checksums included.
        let again = r2.snapshot(0).unwrap();
        assert_eq!(again.segments, state.segments);
        w2.offer(&frame(50)).unwrap();
        let got: Vec<i64> = std::iter::from_fn(|| r2.take_next().unwrap())
            .map(|s| first_id(&s))
            .collect();
        assert_eq!(got, vec![1, 2, 3, 4, 50]);
        // A checkpoint after them completes: the restored segments go.
        r2.snapshot(1);
        r2.checkpoint_complete(1);
        assert!(state.segments.iter().all(|s| !Path::new(&s.path).exists()));
        r2.close();

        // Damaged: a flipped byte; missing: the file gone.
        let (mut r3, mut w3, _, _) = open(
            &config(&base, 1 << 20, one * 2),
            &Metrics::new(),
            "t3",
            None,
        );
        for n in 0..3 {
            w3.offer(&frame(n)).unwrap();
        }
        let state = r3.snapshot(1).unwrap();
        let path = state.segments[0].path.clone();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER + 10] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let (_, _, resume, lost) = open(
            &config(&base, 1 << 20, one * 2),
            &Metrics::new(),
            "t4",
            Some(state.clone()),
        );
        assert!(resume.is_none());
        assert!(lost.unwrap().cause.contains("checksum"));
        std::fs::remove_file(&path).unwrap();
        // A state naming another file (or an empty range of it) is refused; the file is left.
        let other = base.join("not-a-segment");
        std::fs::write(&other, b"").unwrap();
        let foreign = SpillState {
            segments: vec![SegmentRef {
                path: other.to_string_lossy().into_owned(),
                len: 0,
                crc: 0,
                read_from: 0,
            }],
            resume: state.resume.clone(),
        };
        let (mut r6, _, resume, lost) = open(
            &config(&base, 1 << 20, one * 2),
            &Metrics::new(),
            "t6",
            Some(foreign),
        );
        assert!(resume.is_none() && lost.unwrap().cause.contains("is not a spill segment"));
        r6.snapshot(1);
        r6.checkpoint_complete(1);
        r6.close();
        assert!(other.exists());
        let (_, _, resume, lost) = open(
            &config(&base, 1 << 20, one * 2),
            &Metrics::new(),
            "t5",
            Some(state),
        );
        assert!(resume.is_none());
        let lost = lost.unwrap();
        assert!(lost.cause.contains("cannot be opened"), "{}", lost.cause);
        let e = lost.explain(
            &BinlogOffset::at(BinlogPosition::new("bin.000001", 4)),
            &BridgeError::validation("purged"),
        );
        assert!(
            e.to_string().contains("spill segments")
                && e.to_string().contains("scan.binlog.spill.dir"),
            "{e}"
        );
        r3.close();
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn frames_taken_from_the_channel_go_before_the_spilled_ones() {
        let base = tmp("head");
        let (mut r, mut w, _, _) =
            open(&config(&base, 1 << 20, 1 << 20), &Metrics::new(), "t", None);
        w.offer(&frame(30)).unwrap();
        r.insert_head(&[frame(10), frame(20)]).unwrap();
        let state = r.snapshot(1).unwrap();
        assert_eq!(state.segments.len(), 2);
        assert_eq!(state.resume.position.pos, 30);
        let got: Vec<i64> = std::iter::from_fn(|| r.take_next().unwrap())
            .map(|s| first_id(&s))
            .collect();
        assert_eq!(got, vec![10, 20, 30]);
        r.close();
        let _ = std::fs::remove_dir_all(&base);
    }

    /// Spill throughput against handing batches over in memory. Not a timed test: run it with
    /// `cargo test --release -p connector-mysql-cdc --lib spill::tests::throughput -- --ignored --nocapture`
    /// (figures in docs/connectors/rust-mysql-cdc.md, "Backpressure and the binlog spill").
    #[test]
    #[ignore]
    fn throughput() {
        use arrow_array::StringArray;
        use std::time::Instant;
        // 4096-row batches of the bench-cdc shape's kind: ids, numbers and short strings.
        let rows = 4096usize;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("city", DataType::Utf8, true),
        ]));
        let ids: Vec<i64> = (0..rows as i64).collect();
        let text: Vec<String> = (0..rows)
            .map(|i| format!("name-{i:08}-xxxxxxxxxx"))
            .collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Int64Array::from(ids.clone())),
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(text.clone())),
                Arc::new(StringArray::from(text)),
            ],
        )
        .unwrap();
        let batch = ChangeBatch {
            rows: batch,
            row_kinds: Some(vec![RowKind::UpdateAfter; rows]),
        };
        let meta = RecordMeta {
            offset: BinlogOffset::at(BinlogPosition::new("bin.000001", 4)),
            watermarks_passed: false,
            event_time: Some((1, 2)),
        };
        let batches = 500;
        let base = tmp("throughput");
        let (mut r, mut w, _, _) = open(
            &config(&base, 1 << 40, 64 << 20),
            &Metrics::new(),
            "bench",
            None,
        );
        // Baseline: the channel's cost, a move of the batch (a clone of its Arc'd columns).
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..batches {
            n += std::hint::black_box(batch.clone()).num_rows();
        }
        let memory = t.elapsed();
        let t = Instant::now();
        let mut bytes = 0;
        for _ in 0..batches {
            let frame = Frame::encode(&meta, Some(&batch)).unwrap();
            bytes += frame.len();
            assert_eq!(w.offer(&frame).unwrap(), Offer::Appended);
        }
        let write = t.elapsed();
        let t = Instant::now();
        while let Some(s) = r.take_next().unwrap() {
            n += s.batch.unwrap().num_rows();
        }
        let read = t.elapsed();
        assert_eq!(n, 2 * rows * batches);
        let mb = bytes as f64 / (1 << 20) as f64;
        let rows_total = (rows * batches) as f64;
        println!(
            "{batches} batches of {rows} rows, {mb:.0} MiB spilled ({:.0} bytes/row)\n\
             in memory: {:.0} M rows/s\n\
             spill write (encode + append): {:.0} MiB/s, {:.2} M rows/s\n\
             spill read (read + check + decode): {:.0} MiB/s, {:.2} M rows/s",
            bytes as f64 / rows_total,
            rows_total / memory.as_secs_f64() / 1e6,
            mb / write.as_secs_f64(),
            rows_total / write.as_secs_f64() / 1e6,
            mb / read.as_secs_f64(),
            rows_total / read.as_secs_f64() / 1e6,
        );
        r.snapshot(1);
        r.checkpoint_complete(1);
        r.close();
        let _ = std::fs::remove_dir_all(&base);
    }
}
