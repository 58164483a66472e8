//! Who a log event belongs to: `connector=rust-mysql-cdc subtask=1 table=db.t`, appended to
//! every event logged while a [`LogContext`] is entered on the thread.
//!
//! Why not `tracing` spans: `tracing_subscriber`'s registry keeps each thread's span stack in a
//! thread-local whose first use registers a thread-exit destructor inside this library. glibc
//! then refuses to unload the library while that thread lives, and Flink's task, coordinator and
//! worker threads outlive jobs: every job's copy of the library would stay mapped (the
//! `SeparateClassLoadersITCase` check). The current context here is a plain pointer in a
//! thread-local that needs no destructor, and the context itself is owned by whoever entered it.
//! Connectors should use `LogContext` (or event fields), not spans, for the same reason.

use std::cell::Cell;
use std::fmt::{Display, Write as _};
use std::sync::Arc;

thread_local! {
    /// The innermost entered context's text, valid while its guard lives. A raw pointer in a
    /// `const`-initialized `Cell`: no lazy initialization, no destructor registered.
    static CURRENT: Cell<Option<*const str>> = const { Cell::new(None) };
}

/// Key-value pairs tagging log events; cheap to clone (one `Arc`).
#[derive(Clone, Debug, Default)]
pub struct LogContext(Option<Arc<str>>);

impl LogContext {
    /// A context of these fields (rendered once, ` key=value` each).
    pub fn new(fields: &[(&str, &dyn Display)]) -> Self {
        Self::none().with(fields)
    }

    /// No context.
    pub fn none() -> Self {
        LogContext(None)
    }

    /// This context followed by more fields (e.g. the table a reader is reading).
    pub fn with(&self, fields: &[(&str, &dyn Display)]) -> Self {
        let mut text = self.0.as_deref().unwrap_or("").to_string();
        for (key, value) in fields {
            let _ = write!(text, " {key}={value}");
        }
        LogContext(Some(text.into()))
    }

    /// Tags the calling thread's events with this context until the guard drops (guards nest).
    #[must_use = "the context applies while the guard lives"]
    pub fn enter(&self) -> ContextGuard {
        let previous = CURRENT.with(|c| c.replace(self.0.as_deref().map(|s| s as *const str)));
        ContextGuard {
            previous,
            _context: self.0.clone(),
        }
    }

    /// Runs `f` with this context entered.
    pub fn scope<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self.enter();
        f()
    }
}

/// Restores the previous context when dropped; keeps its own alive meanwhile.
pub struct ContextGuard {
    previous: Option<*const str>,
    _context: Option<Arc<str>>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Appends the calling thread's current context (` key=value...`) to `out`.
pub(crate) fn append_current(out: &mut String) {
    CURRENT.with(|c| {
        if let Some(text) = c.get() {
            // SAFETY: the pointer is set only by `enter`, from an `Arc<str>` the guard keeps
            // alive, and reset to the previous one when that guard drops on this same thread
            // (guards are not `Send`: the raw pointer field makes them `!Send`).
            out.push_str(unsafe { &*text });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> String {
        let mut s = String::new();
        append_current(&mut s);
        s
    }

    #[test]
    fn contexts_nest_and_restore_and_follow_no_thread_but_their_own() {
        let reader = LogContext::new(&[("connector", &"rust-test"), ("subtask", &2)]);
        assert_eq!(current(), "");
        {
            let _r = reader.enter();
            assert_eq!(current(), " connector=rust-test subtask=2");
            {
                let _c = reader.with(&[("table", &"db.t")]).enter();
                assert_eq!(current(), " connector=rust-test subtask=2 table=db.t");
            }
            assert_eq!(current(), " connector=rust-test subtask=2");
            let other = std::thread::spawn(current).join().unwrap();
            assert_eq!(other, "", "a context is per thread");
        }
        assert_eq!(current(), "");
        assert_eq!(reader.scope(current), " connector=rust-test subtask=2");
    }
}
