//! Who owns a binlog spill directory, and when one whose reader is gone is removed: a live reader
//! holds an OS lock on its directory, and a directory no live reader holds and nobody touched for
//! `scan.binlog.spill.orphan-retention` is removed by the next reader that opens or closes a spill
//! in the same base directory.
//!
//! Why not remove everything when a reader closes: Flink closes a reader the same way when the job
//! is cancelled and when it fails over, and after a failover the restored reader reads the
//! segments its checkpoint names from this machine. So a closing reader keeps those (binlog/spill.rs,
//! `SpillReader::close`) and marks the time; a killed TaskManager keeps them too. The lock is
//! `flock(2)` through `File::try_lock`: the kernel releases it when the process dies, so a
//! directory's lock says whether its reader still runs, with no process ids to reuse.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Every reader's spill directory is named `<prefix><server id>-<pid>-<unique>`.
pub const DIR_PREFIX: &str = "rust-mysql-cdc-spill-";
/// The lock file inside a spill directory; its modification time is the reader's last sign of life.
pub(crate) const LOCK_FILE: &str = "owner.lock";

/// A held lock on a spill directory. Dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    dir: PathBuf,
}

impl DirLock {
    /// Locks `dir` (creating its lock file, owner-only, when missing) and marks it active. None
    /// when another live reader holds it.
    pub fn acquire(dir: &Path) -> std::io::Result<Option<DirLock>> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = Self::try_lock(options.open(dir.join(LOCK_FILE))?, dir)?;
        if let Some(lock) = &lock {
            lock.touch();
        }
        Ok(lock)
    }

    /// Locks `file`, the lock file of `dir`; None while another live reader holds it.
    fn try_lock(file: File, dir: &Path) -> std::io::Result<Option<DirLock>> {
        match file.try_lock() {
            Ok(()) => Ok(Some(DirLock {
                file,
                dir: dir.to_path_buf(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Whether this is the lock of `dir`.
    pub fn locks(&self, dir: &Path) -> bool {
        self.dir == dir
    }

    /// Marks the directory active now: the retention of a directory left behind counts from its
    /// last mark (a completed checkpoint, or the reader's close).
    pub fn touch(&self) {
        if let Err(e) = self.file.set_modified(SystemTime::now()) {
            tracing::debug!("cannot mark a binlog spill directory active: {e}");
        }
    }
}

/// Removes the spill directories in `base` that no live reader holds and that were last marked
/// active more than `retention` ago, except `keep` (this reader's own and restored ones).
/// Returns the directories removed. Never fails: a directory it cannot inspect or remove stays,
/// with a WARN.
pub fn sweep(base: &Path, retention: Duration, keep: &[&Path]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_spill_dir = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(DIR_PREFIX))
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_spill_dir || keep.iter().any(|k| *k == dir) {
            continue;
        }
        match last_active_if_unheld(&dir) {
            Ok(Some((last_active, _lock))) => {
                let idle = SystemTime::now()
                    .duration_since(last_active)
                    .unwrap_or(Duration::ZERO);
                if idle < retention {
                    continue;
                }
                // Removed while still holding its lock, so no reader claims it half-removed.
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => {
                        tracing::info!(dir = %dir.display(), idle_s = idle.as_secs(),
                            "removed a binlog spill directory left by a reader that is gone (a cancelled job or a \
                             killed TaskManager) and idle for longer than 'scan.binlog.spill.orphan-retention'");
                        removed.push(dir);
                    }
                    Err(e) => tracing::warn!(dir = %dir.display(),
                        "cannot remove a binlog spill directory left by a reader that is gone: {e}"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(dir = %dir.display(),
                "cannot tell whether a binlog spill directory is still in use, so it stays: {e}"),
        }
    }
    removed
}

/// [`sweep`] over `base` and, when `base` is a job's directory (`flink-rust-job-<id>`, the
/// default under Flink's `io.tmp.dirs`), over the other jobs' directories beside it too, removing
/// those left empty: the Java bridge removes a job's directory when the job leaves the
/// TaskManager, but not when the TaskManager is killed.
pub fn sweep_with_other_jobs(base: &Path, retention: Duration, keep: &[&Path]) -> Vec<PathBuf> {
    let mut removed = sweep(base, retention, keep);
    let is_job_dir = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(rust_core::api::JOB_DIR_PREFIX))
    };
    let (true, Some(parent)) = (is_job_dir(base), base.parent()) else {
        return removed;
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return removed;
    };
    for entry in entries.flatten() {
        let other = entry.path();
        if other == base || !is_job_dir(&other) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        removed.extend(sweep(&other, retention, keep));
        // Fails while anything is left in it (a live reader's directory, say), as it should.
        if std::fs::remove_dir(&other).is_ok() {
            removed.push(other);
        }
    }
    removed
}

/// When `dir` was last marked active and its lock, or None while a live reader holds it. A
/// directory without a lock file (written by a release before the lock) counts from its own
/// modification time.
fn last_active_if_unheld(dir: &Path) -> std::io::Result<Option<(SystemTime, Option<DirLock>)>> {
    let lock_path = dir.join(LOCK_FILE);
    if !lock_path.exists() {
        return Ok(Some((std::fs::metadata(dir)?.modified()?, None)));
    }
    // Read before locking: acquiring marks the directory active.
    let marked = std::fs::metadata(&lock_path)?.modified()?;
    let file = OpenOptions::new().read(true).write(true).open(&lock_path)?;
    Ok(DirLock::try_lock(file, dir)?.map(|lock| (marked, Some(lock))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spill-dir-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn spill_dir(base: &Path, name: &str) -> PathBuf {
        let dir = base.join(format!("{DIR_PREFIX}{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("segment-0.arrows"), b"frames").unwrap();
        dir
    }

    #[test]
    fn a_held_directory_stays_and_a_released_one_goes_after_the_retention() {
        let base = base("held");
        let live = spill_dir(&base, "1-live");
        let gone = spill_dir(&base, "1-gone");
        let live_lock = DirLock::acquire(&live).unwrap().expect("free");
        drop(DirLock::acquire(&gone).unwrap().expect("free"));
        assert!(
            DirLock::acquire(&live).unwrap().is_none(),
            "a second lock on a held directory is refused"
        );

        assert!(
            sweep(&base, Duration::from_secs(3600), &[]).is_empty(),
            "both are recent"
        );
        assert_eq!(sweep(&base, Duration::ZERO, &[]), vec![gone.clone()]);
        assert!(live.exists() && !gone.exists());

        drop(live_lock);
        assert!(
            sweep(&base, Duration::ZERO, &[&live]).is_empty(),
            "kept when asked"
        );
        assert_eq!(sweep(&base, Duration::ZERO, &[]), vec![live.clone()]);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_retention_counts_from_the_last_mark_and_other_entries_are_left_alone() {
        let base = base("mark");
        let dir = spill_dir(&base, "2-old");
        let lock = DirLock::acquire(&dir).unwrap().unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        lock.file.set_modified(hour_ago).unwrap();
        drop(lock);
        std::fs::create_dir_all(base.join("not-a-spill")).unwrap();
        std::fs::write(base.join(format!("{DIR_PREFIX}a-file")), b"x").unwrap();

        assert!(sweep(&base, Duration::from_secs(7200), &[]).is_empty());
        assert_eq!(sweep(&base, Duration::from_secs(1800), &[]), vec![dir]);
        let mut left: Vec<String> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec!["not-a-spill".into(), format!("{DIR_PREFIX}a-file")]
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn other_jobs_directories_are_swept_and_removed_once_empty() {
        let root = base("jobs");
        let ours = root.join("flink-rust-job-ours");
        let gone_job = root.join("flink-rust-job-gone");
        let live_job = root.join("flink-rust-job-live");
        let gone = spill_dir(&gone_job, "4-gone");
        let live = spill_dir(&live_job, "4-live");
        let _held = DirLock::acquire(&live).unwrap().unwrap();
        std::fs::create_dir_all(root.join("unrelated")).unwrap();
        std::fs::create_dir_all(&ours).unwrap();

        let mut removed = sweep_with_other_jobs(&ours, Duration::ZERO, &[]);
        removed.sort();
        assert_eq!(removed, vec![gone_job.clone(), gone]);
        assert!(live.exists() && ours.exists() && root.join("unrelated").exists());
        assert!(
            sweep_with_other_jobs(&root.join("unrelated"), Duration::ZERO, &[]).is_empty(),
            "outside a job's directory only the base is swept"
        );
        assert!(live.exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_directory_from_before_the_lock_counts_from_its_own_time() {
        let base = base("unlocked");
        let dir = spill_dir(&base, "3-legacy");
        assert!(sweep(&base, Duration::from_secs(3600), &[]).is_empty());
        assert_eq!(sweep(&base, Duration::ZERO, &[]), vec![dir]);
        let _ = std::fs::remove_dir_all(&base);
    }
}
