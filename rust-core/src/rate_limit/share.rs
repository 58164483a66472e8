//! How a source's limit is split among its readers, and the source events that carry it.
//!
//! Each reader tells the enumerator when it becomes idle (it finished, or asked for a split and
//! has none) and when it becomes active again. The enumerator counts the active readers `n` and
//! tells each active reader `n`; a reader's share is `limit / n`. A reader that has not heard
//! from the enumerator uses `limit / parallelism`, the smallest share it can have, so a new or
//! reactivated reader never pushes the total above the limit for longer than an event round trip
//! takes to reach the others.
//!
//! The enumerator counts only registered readers: a subtask that has not started (batch mode
//! runs a source's subtasks one slot after another; a failed reader waits for its restart) holds
//! no share, or the readers that run would be held to a fraction of the limit for as long as it
//! is away (at parallelism 4 on 2 slots, half of it for the whole job). When it registers it
//! starts with `limit / parallelism`, and the others hear the new count one event round trip
//! later, as for a reader that becomes active again.
//!
//! Events are ordered per reader (Flink delivers them in order), but a share the enumerator
//! computed before it saw a reader's latest report is stale for that reader. Each report carries
//! a sequence number and each share acknowledges the last report seen; a reader applies only
//! shares that acknowledge its latest report.
//!
//! Framing: every event between a rate-limited enumerator and its readers starts with a tag byte.
//! [`TAG_CONNECTOR`] events carry the connector's own bytes and reach its `handle_source_event`;
//! the others are rust-core's and never do.

use std::collections::BTreeMap;

use crate::error::{BridgeError, Result};

/// A connector's own event follows.
pub const TAG_CONNECTOR: u8 = 0;
/// Reader to enumerator: `u8` activity (0 idle, 1 active), `u32` report sequence number.
pub const TAG_ACTIVITY: u8 = 1;
/// Enumerator to reader: `u32` active readers, `u32` sequence number of the last report seen.
pub const TAG_SHARE: u8 = 2;

/// Whether a reader currently reads (and needs a share of the limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Reads, or may read soon: holds a share.
    Active,
    /// Finished, or asked for a split and has none: gives its share back.
    Idle,
}

/// A reader's report to the enumerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityReport {
    /// The reader's state from now on.
    pub activity: Activity,
    /// Counts up with each report of one reader (wrapping), so stale shares can be recognised.
    pub seq: u32,
}

/// The enumerator's answer: the reader's share is `limit / active_readers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// The count of active readers the limit is divided by (at least 1).
    pub active_readers: u32,
    /// The sequence number of the last report seen from the receiving reader (0: none).
    pub ack: u32,
}

/// A source event as rust-core frames it.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// The connector's own event ([`TAG_CONNECTOR`]), tag removed.
    Connector(&'a [u8]),
    /// A reader's [`TAG_ACTIVITY`] report, for the enumerator.
    Activity(ActivityReport),
    /// The enumerator's [`TAG_SHARE`] answer, for a reader.
    Share(Share),
}

impl ActivityReport {
    /// The framed event: [`TAG_ACTIVITY`], activity byte, sequence number.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            TAG_ACTIVITY,
            matches!(self.activity, Activity::Active) as u8,
        ];
        out.extend_from_slice(&self.seq.to_le_bytes());
        out
    }
}

impl Share {
    /// The framed event: [`TAG_SHARE`], active readers, acknowledged sequence number.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![TAG_SHARE];
        out.extend_from_slice(&self.active_readers.to_le_bytes());
        out.extend_from_slice(&self.ack.to_le_bytes());
        out
    }
}

/// Frames a connector's event.
pub fn frame_connector(event: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(event.len() + 1);
    out.push(TAG_CONNECTOR);
    out.extend_from_slice(event);
    out
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a framed event; an event without a known tag means enumerator and reader disagree on
/// whether the source is rate limited, which is a bug.
pub fn unframe(event: &[u8]) -> Result<Framed<'_>> {
    let bad = || {
        BridgeError::other(format!(
            "a source event of {} bytes is not framed by rust-core's rate limiter (tag {:?})",
            event.len(),
            event.first()
        ))
    };
    let (&tag, rest) = event.split_first().ok_or_else(bad)?;
    Ok(match tag {
        TAG_CONNECTOR => Framed::Connector(rest),
        TAG_ACTIVITY if rest.len() == 5 => {
            let activity = if rest[0] == 1 {
                Activity::Active
            } else {
                Activity::Idle
            };
            Framed::Activity(ActivityReport {
                activity,
                seq: u32_at(rest, 1).ok_or_else(bad)?,
            })
        }
        TAG_SHARE if rest.len() == 8 => Framed::Share(Share {
            active_readers: u32_at(rest, 0).ok_or_else(bad)?,
            ack: u32_at(rest, 4).ok_or_else(bad)?,
        }),
        _ => return Err(bad()),
    })
}

// ---------------------------------------------------------------------------------------------
// Enumerator side
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct ReaderEntry {
    activity: Activity,
    /// Registered with the enumerator and not reset since: Flink can deliver events to it.
    registered: bool,
    last_seq: u32,
}

impl Default for ReaderEntry {
    fn default() -> Self {
        ReaderEntry {
            activity: Activity::Active,
            registered: false,
            last_seq: 0,
        }
    }
}

/// The enumerator's view of which readers need a share. Decides which share events to send.
#[derive(Debug)]
pub struct ShareCoordinator {
    parallelism: u32,
    readers: BTreeMap<u32, ReaderEntry>,
}

impl ShareCoordinator {
    /// No readers registered yet; `parallelism` (at least 1) bounds the active count.
    pub fn new(parallelism: u32) -> Self {
        ShareCoordinator {
            parallelism: parallelism.max(1),
            readers: BTreeMap::new(),
        }
    }

    /// Readers that need a share: registered ones that have not reported themselves idle.
    pub fn active_readers(&self) -> u32 {
        let active = self
            .readers
            .values()
            .filter(|r| r.registered && r.activity == Activity::Active)
            .count() as u32;
        active.clamp(1, self.parallelism)
    }

    fn share_for(&self, subtask: u32) -> (u32, Share) {
        let ack = self.readers.get(&subtask).map_or(0, |r| r.last_seq);
        (
            subtask,
            Share {
                active_readers: self.active_readers(),
                ack,
            },
        )
    }

    /// The shares to send after something changed: to `also` if it is registered and active,
    /// and to every other registered active reader when the count of active readers changed.
    fn shares_after(&self, before: u32, also: Option<u32>) -> Vec<(u32, Share)> {
        let count_changed = self.active_readers() != before;
        self.readers
            .iter()
            .filter(|(s, r)| {
                r.registered
                    && r.activity == Activity::Active
                    && (count_changed || Some(**s) == also)
            })
            .map(|(s, _)| self.share_for(*s))
            .collect()
    }

    /// A reader (re)started: it begins active with `limit / parallelism` and a fresh sequence; the
    /// others now share with it.
    pub fn add_reader(&mut self, subtask: u32) -> Vec<(u32, Share)> {
        let before = self.active_readers();
        self.readers.insert(
            subtask,
            ReaderEntry {
                registered: true,
                ..ReaderEntry::default()
            },
        );
        self.shares_after(before, Some(subtask))
    }

    /// Flink reset the reader (its splits came back): no events and no share until it registers
    /// again.
    pub fn reset_reader(&mut self, subtask: u32) -> Vec<(u32, Share)> {
        let before = self.active_readers();
        self.readers.insert(subtask, ReaderEntry::default());
        self.shares_after(before, None)
    }

    /// A reader's activity report: records it and returns the shares to send.
    pub fn report(&mut self, subtask: u32, report: ActivityReport) -> Vec<(u32, Share)> {
        let before = self.active_readers();
        let entry = self.readers.entry(subtask).or_insert_with(|| ReaderEntry {
            registered: true,
            ..Default::default()
        });
        entry.activity = report.activity;
        entry.last_seq = report.seq;
        self.shares_after(before, Some(subtask))
    }
}

// ---------------------------------------------------------------------------------------------
// Reader side
// ---------------------------------------------------------------------------------------------

/// A reader's side of the sharing: what it reported, and how many readers share the limit.
#[derive(Debug)]
pub struct ReaderShare {
    parallelism: u32,
    activity: Activity,
    seq: u32,
    active_readers: u32,
}

impl ReaderShare {
    /// A new reader: active, with the smallest share (`limit / parallelism`) until it hears more.
    pub fn new(parallelism: u32) -> Self {
        let parallelism = parallelism.max(1);
        ReaderShare {
            parallelism,
            activity: Activity::Active,
            seq: 0,
            active_readers: parallelism,
        }
    }

    /// The divisor of the limit this reader uses now.
    pub fn active_readers(&self) -> u32 {
        self.active_readers
    }

    /// What the reader last reported (or will report) about itself.
    pub fn activity(&self) -> Activity {
        self.activity
    }

    /// Records a change of activity; returns the report to send, if it is one. A reader that
    /// becomes active falls back to the smallest share until the enumerator answers.
    pub fn set_activity(&mut self, activity: Activity) -> Option<ActivityReport> {
        if activity == self.activity {
            return None;
        }
        self.activity = activity;
        self.seq = self.seq.wrapping_add(1);
        if activity == Activity::Active {
            self.active_readers = self.parallelism;
        }
        Some(ActivityReport {
            activity,
            seq: self.seq,
        })
    }

    /// Applies a share from the enumerator; returns whether the divisor changed. Stale shares
    /// (computed before the enumerator saw this reader's latest report) and shares that reach an
    /// idle reader are ignored.
    pub fn apply(&mut self, share: Share) -> bool {
        if share.ack != self.seq || self.activity != Activity::Active {
            return false;
        }
        let n = share.active_readers.clamp(1, self.parallelism);
        let changed = n != self.active_readers;
        self.active_readers = n;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(seq: u32) -> ActivityReport {
        ActivityReport {
            activity: Activity::Idle,
            seq,
        }
    }

    fn active(seq: u32) -> ActivityReport {
        ActivityReport {
            activity: Activity::Active,
            seq,
        }
    }

    #[test]
    fn events_round_trip_through_their_framing() {
        let report = active(7);
        assert_eq!(unframe(&report.encode()).unwrap(), Framed::Activity(report));
        let share = Share {
            active_readers: 3,
            ack: 9,
        };
        assert_eq!(unframe(&share.encode()).unwrap(), Framed::Share(share));
        assert_eq!(
            unframe(&frame_connector(b"finished:1")).unwrap(),
            Framed::Connector(b"finished:1")
        );
        assert_eq!(
            unframe(&frame_connector(b"")).unwrap(),
            Framed::Connector(b"")
        );
        assert!(unframe(b"").is_err());
        assert!(unframe(&[9, 1, 2]).is_err());
        assert!(unframe(&[TAG_SHARE, 1, 2]).is_err(), "truncated");
    }

    #[test]
    fn a_reader_that_goes_idle_gives_its_share_to_the_active_ones() {
        let mut c = ShareCoordinator::new(3);
        assert_eq!(
            c.add_reader(0),
            vec![(
                0,
                Share {
                    active_readers: 1,
                    ack: 0
                }
            )]
        );
        c.add_reader(1);
        assert_eq!(
            c.add_reader(2).len(),
            3,
            "a new reader: every active reader hears the count"
        );
        assert_eq!(c.active_readers(), 3);
        // Reader 2 finished: 0 and 1 now split the limit in two; nothing goes to the idle one.
        let sent = c.report(2, idle(1));
        assert_eq!(
            sent,
            vec![
                (
                    0,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                ),
                (
                    1,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                )
            ]
        );
        // Reader 1 waits for a split too: 0 takes the whole limit.
        assert_eq!(
            c.report(1, idle(1)),
            vec![(
                0,
                Share {
                    active_readers: 1,
                    ack: 0
                }
            )]
        );
        // Reader 1 got work again: both halves, and reader 1's share acknowledges its report.
        let sent = c.report(1, active(2));
        assert_eq!(
            sent,
            vec![
                (
                    0,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                ),
                (
                    1,
                    Share {
                        active_readers: 2,
                        ack: 2
                    }
                )
            ]
        );
        // The last active reader idle too: nobody to tell (the count never drops below 1).
        c.report(0, idle(1));
        assert_eq!(c.report(1, idle(3)), vec![]);
        assert_eq!(c.active_readers(), 1);
    }

    #[test]
    fn readers_not_yet_registered_hold_no_share() {
        let mut c = ShareCoordinator::new(4);
        // Subtasks 2 and 3 have not started (batch mode on two slots): 0 and 1 take halves.
        assert_eq!(
            c.add_reader(0),
            vec![(
                0,
                Share {
                    active_readers: 1,
                    ack: 0
                }
            )]
        );
        assert_eq!(
            c.add_reader(1),
            vec![
                (
                    0,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                ),
                (
                    1,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                )
            ]
        );
        assert_eq!(c.active_readers(), 2);
        // They finish; subtask 2 starts and takes the whole limit once told.
        c.report(0, idle(1));
        c.report(1, idle(1));
        assert_eq!(
            c.add_reader(2),
            vec![(
                2,
                Share {
                    active_readers: 1,
                    ack: 0
                }
            )]
        );
        // No event ever goes to a subtask that has not registered.
        assert!(c.report(2, idle(1)).iter().all(|(s, _)| *s != 3));
    }

    #[test]
    fn a_reset_reader_gets_no_events_until_it_registers_again_and_starts_over() {
        let mut c = ShareCoordinator::new(2);
        c.add_reader(0);
        c.add_reader(1);
        c.report(1, idle(1));
        // Subtask 1 failed (Flink gives its splits back): until its next attempt registers, it
        // holds no share (it was idle already: the count stays 1, nothing to send).
        assert_eq!(c.reset_reader(1), vec![]);
        assert_eq!(c.report(0, idle(1)), vec![], "no events to a reset reader");
        assert_eq!(
            c.report(0, active(2)),
            vec![(
                0,
                Share {
                    active_readers: 1,
                    ack: 2
                }
            )]
        );
        // Its next attempt starts active: both halves.
        assert_eq!(
            c.add_reader(1),
            vec![
                (
                    0,
                    Share {
                        active_readers: 2,
                        ack: 2
                    }
                ),
                (
                    1,
                    Share {
                        active_readers: 2,
                        ack: 0
                    }
                )
            ]
        );
    }

    #[test]
    fn a_reader_applies_only_shares_that_saw_its_latest_report() {
        let mut r = ReaderShare::new(4);
        assert_eq!(r.active_readers(), 4);
        assert!(r.apply(Share {
            active_readers: 2,
            ack: 0
        }));
        assert_eq!(r.active_readers(), 2);
        assert_eq!(r.set_activity(Activity::Active), None, "already active");

        let report = r.set_activity(Activity::Idle).unwrap();
        assert_eq!(report, idle(1));
        assert!(
            !r.apply(Share {
                active_readers: 1,
                ack: 1
            }),
            "an idle reader needs no share"
        );

        let report = r.set_activity(Activity::Active).unwrap();
        assert_eq!(report, active(2));
        assert_eq!(
            r.active_readers(),
            4,
            "back to the smallest share until the enumerator answers"
        );
        assert!(
            !r.apply(Share {
                active_readers: 1,
                ack: 1
            }),
            "stale: sent before report 2 was seen"
        );
        assert_eq!(r.active_readers(), 4);
        assert!(r.apply(Share {
            active_readers: 3,
            ack: 2
        }));
        assert_eq!(r.active_readers(), 3);
        r.apply(Share {
            active_readers: 99,
            ack: 2,
        });
        assert_eq!(
            r.active_readers(),
            4,
            "never more readers than the parallelism"
        );
    }
}
