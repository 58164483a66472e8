//! MySQL GTID sets (`3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,...`) and how a binlog reader
//! keeps one in step with the stream.
//!
//! A MySQL GTID is a source server's UUID (the SID) and a transaction number (GNO, from 1); a set
//! is, per UUID, a list of GNO intervals. MariaDB GTIDs (`domain-server-sequence`) are another
//! thing entirely and are tracked in `binlog/mod.rs`.
//!
//! The text form is MySQL's canonical one, as `@@gtid_executed` and `GTID_SUBTRACT()` print it:
//! lowercase UUIDs in byte order, intervals sorted and merged (`1-5:7`, a single GNO without a
//! range), sets joined by `,`. MySQL itself joins them with `,\n`; parsing accepts either (and
//! any whitespace between tokens, empty entries, repeated UUIDs, overlapping intervals, as MySQL
//! does). MySQL 8.3+ tagged GTIDs (`uuid:tag:1-5`) are not supported.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;

/// A source server's UUID, as the 16 bytes MySQL writes in binlog events.
pub type Sid = [u8; 16];

/// The largest GNO MySQL hands out (`GNO_END - 1` is `i64::MAX - 1`; we accept up to `i64::MAX`).
const MAX_GNO: u64 = i64::MAX as u64;

/// A MySQL GTID set: per SID, sorted disjoint non-adjacent inclusive GNO intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GtidSet {
    sids: BTreeMap<Sid, Vec<(u64, u64)>>,
}

impl GtidSet {
    pub fn new() -> Self {
        GtidSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }

    /// Parses MySQL's text form. Errors say what is wrong and what the form is.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = GtidSet::new();
        for entry in text.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let mut parts = entry.split(':').map(str::trim);
            let uuid = parts.next().unwrap_or_default();
            let sid = parse_uuid(uuid)
                .ok_or_else(|| invalid(text, &format!("'{uuid}' is not a UUID")))?;
            for interval in parts {
                let (start, end) = match interval.split_once('-') {
                    Some((a, b)) => (parse_gno(text, a)?, parse_gno(text, b)?),
                    None => {
                        let gno = parse_gno(text, interval)?;
                        (gno, gno)
                    }
                };
                if end < start {
                    return Err(invalid(
                        text,
                        &format!("interval '{interval}' ends before it starts"),
                    ));
                }
                set.add_interval(sid, start, end);
            }
        }
        Ok(set)
    }

    /// Adds one transaction.
    pub fn add(&mut self, sid: Sid, gno: u64) {
        self.add_interval(sid, gno, gno);
    }

    /// Adds the GNOs `start..=end` of `sid`, merging with overlapping and adjacent intervals.
    pub fn add_interval(&mut self, sid: Sid, start: u64, end: u64) {
        debug_assert!(start >= 1 && start <= end);
        let intervals = self.sids.entry(sid).or_default();
        // Intervals [i, j) touch the new one (overlap or adjacent): they merge into one. The
        // usual case, the next GNO of the last interval, is i = j - 1 = last: no shifting.
        let i = intervals.partition_point(|&(_, e)| e.saturating_add(1) < start);
        let j = intervals.partition_point(|&(s, _)| s <= end.saturating_add(1));
        if i == j {
            intervals.insert(i, (start, end));
        } else {
            let merged = (start.min(intervals[i].0), end.max(intervals[j - 1].1));
            intervals.splice(i..j, [merged]);
        }
    }

    /// Adds every GTID of `other`.
    pub fn union(&mut self, other: &GtidSet) {
        for (sid, intervals) in &other.sids {
            for &(start, end) in intervals {
                self.add_interval(*sid, start, end);
            }
        }
    }

    /// Per SID its inclusive GNO intervals, sorted.
    pub fn intervals(&self) -> impl Iterator<Item = (&Sid, &[(u64, u64)])> {
        self.sids
            .iter()
            .map(|(sid, intervals)| (sid, intervals.as_slice()))
    }

    /// The GTIDs of `self` that are not in `other`.
    pub fn difference(&self, other: &GtidSet) -> GtidSet {
        let mut out = GtidSet::new();
        for (sid, intervals) in &self.sids {
            let holes: &[(u64, u64)] = other.sids.get(sid).map(Vec::as_slice).unwrap_or(&[]);
            for &(start, end) in intervals {
                // Walk `other`'s sorted intervals across [start, end], keeping what lies between.
                let mut from = start;
                for &(s, e) in holes.iter().filter(|&&(s, e)| e >= start && s <= end) {
                    if s > from {
                        out.add_interval(*sid, from, s - 1);
                    }
                    from = from.max(e.saturating_add(1));
                }
                if from <= end {
                    out.add_interval(*sid, from, end);
                }
            }
        }
        out
    }

    pub fn contains(&self, sid: &Sid, gno: u64) -> bool {
        self.sids.get(sid).is_some_and(|intervals| {
            let i = intervals.partition_point(|&(_, e)| e < gno);
            intervals.get(i).is_some_and(|&(s, _)| s <= gno)
        })
    }

    /// Decodes the body of a Previous_gtids event (type 35): the set of every transaction in
    /// the binlog files before the event's file. Layout (MySQL `Gtid_set::encode`, little
    /// endian): SID count (u64), then per SID its 16 bytes, an interval count (u64) and per
    /// interval start and exclusive end (u64 each).
    pub fn decode_previous_gtids(data: &[u8]) -> Result<Self, String> {
        let take = |at: &mut usize, n: usize, what: &str| -> Result<&[u8], String> {
            let bytes = data
                .get(*at..*at + n)
                .ok_or_else(|| format!("Previous_gtids event truncated in {what}"))?;
            *at += n;
            Ok(bytes)
        };
        let le = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let mut at = 0usize;
        let n_sids = le(take(&mut at, 8, "the SID count")?);
        // Bits 56-63 of the count name the encoding: 0 untagged, 1 MySQL 8.3+'s tagged one.
        if n_sids >> 56 != 0 {
            return Err("Previous_gtids event in MySQL 8.3+'s tagged encoding: tagged GTIDs are not supported".into());
        }
        let mut set = GtidSet::new();
        for _ in 0..n_sids {
            let sid: Sid = take(&mut at, 16, "a SID")?.try_into().expect("16 bytes");
            let n_intervals = le(take(&mut at, 8, "an interval count")?);
            for _ in 0..n_intervals {
                let start = le(take(&mut at, 8, "an interval")?);
                let end_exclusive = le(take(&mut at, 8, "an interval")?);
                if start < 1 || end_exclusive <= start || end_exclusive - 1 > MAX_GNO {
                    return Err(format!(
                        "Previous_gtids event with an invalid interval [{start}, {end_exclusive})"
                    ));
                }
                set.add_interval(sid, start, end_exclusive - 1);
            }
        }
        if at != data.len() {
            return Err(format!(
                "Previous_gtids event with {} bytes after its set",
                data.len() - at
            ));
        }
        Ok(set)
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (sid, intervals)) in self.sids.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write_uuid(f, sid)?;
            for &(start, end) in intervals {
                if start == end {
                    write!(f, ":{start}")?;
                } else {
                    write!(f, ":{start}-{end}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for GtidSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GtidSet::parse(s)
    }
}

fn invalid(text: &str, why: &str) -> String {
    format!("'{text}' is not a MySQL GTID set: {why} (expected e.g. '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,...')")
}

fn parse_gno(text: &str, raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(gno) if (1..=MAX_GNO).contains(&gno) => Ok(gno),
        _ => Err(invalid(
            text,
            &format!("'{raw}' is not a transaction number (1 to {MAX_GNO})"),
        )),
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` or the 32 hex digits alone, any case.
fn parse_uuid(text: &str) -> Option<Sid> {
    let hex: Vec<u8> = if text.len() == 36 {
        let dashes = [8, 13, 18, 23];
        if dashes.iter().any(|&i| text.as_bytes()[i] != b'-') {
            return None;
        }
        text.bytes()
            .enumerate()
            .filter(|(i, _)| !dashes.contains(i))
            .map(|(_, b)| b)
            .collect()
    } else if text.len() == 32 {
        text.bytes().collect()
    } else {
        return None;
    };
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut sid = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        sid[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(sid)
}

fn write_uuid(f: &mut fmt::Formatter<'_>, sid: &Sid) -> fmt::Result {
    for (i, b) in sid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            f.write_str("-")?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// The executed GTID set at a MySQL binlog reader's position: exact, or unknown (`None` in
/// offsets), never a partial set that would look like a position but name the wrong one.
///
/// It is known from the offset the reader resumes at (a set checkpointed earlier), or from the
/// Previous_gtids event at the start of each binlog file the stream reads from its beginning.
/// A transaction's GTID joins the set when the transaction commits, so inside a transaction the
/// set is the one before it, as offsets there point at its start.
#[derive(Debug, Default)]
pub struct MySqlGtidTracker {
    executed: Option<GtidSet>,
    /// The GTID of the transaction being read, until it commits.
    pending: Option<(Sid, u64)>,
    /// `executed` as text, made at most once per change and only when asked.
    text: OnceCell<Option<String>>,
}

impl MySqlGtidTracker {
    /// Starts from an offset's GTID state. MariaDB states (`0-1-42`) or none leave it unknown.
    pub fn new(seed: Option<&str>) -> Self {
        let executed = seed.and_then(|s| GtidSet::parse(s).ok());
        MySqlGtidTracker {
            executed,
            ..Default::default()
        }
    }

    /// A GTID event: its transaction begins.
    pub fn begin(&mut self, sid: Sid, gno: u64) {
        // A GTID without a commit before the next one never made it into the binlog whole.
        self.pending = Some((sid, gno));
    }

    /// The current transaction (if it had a GTID) committed.
    pub fn commit(&mut self) {
        if let Some((sid, gno)) = self.pending.take() {
            if let Some(set) = &mut self.executed {
                set.add(sid, gno);
                self.text.take();
            }
        }
    }

    /// A Previous_gtids event. `in_order` is false when the server sent it although the stream
    /// started after it in its file (it then describes the file's start, not our position):
    /// such a set is only a subset of the truth, merged into a known set but never taken alone.
    pub fn previous_gtids(&mut self, data: &[u8], in_order: bool) {
        match (GtidSet::decode_previous_gtids(data), &mut self.executed) {
            (Ok(set), Some(executed)) => executed.union(&set),
            (Ok(set), None) if in_order => self.executed = Some(set),
            (Ok(_), None) => {}
            (Err(e), _) => {
                tracing::warn!("GTID set no longer tracked: {e}");
                self.executed = None;
            }
        }
        self.text.take();
    }

    /// A transaction whose GTID cannot be tracked (MySQL 8.3+ tagged GTID events).
    pub fn lose_track(&mut self) {
        self.executed = None;
        self.pending = None;
        self.text.take();
    }

    /// The set committed so far, in MySQL's text form; `None` when unknown or empty.
    pub fn state(&self) -> Option<String> {
        self.text
            .get_or_init(|| {
                self.executed
                    .as_ref()
                    .filter(|s| !s.is_empty())
                    .map(GtidSet::to_string)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "8a94f357-aab4-11df-86ab-c80aa9429563";

    fn sid(uuid: &str) -> Sid {
        parse_uuid(uuid).unwrap()
    }

    fn canonical(text: &str) -> String {
        GtidSet::parse(text).unwrap().to_string()
    }

    #[test]
    fn formats_canonically_lowercase_sorted_and_merged() {
        assert_eq!(canonical(""), "");
        assert_eq!(canonical(&format!("{A}:1-5")), format!("{A}:1-5"));
        assert_eq!(canonical(&format!("{A}:7")), format!("{A}:7"));
        assert_eq!(canonical(&format!("{A}:7-7")), format!("{A}:7"));
        // Uppercase in, lowercase out; UUIDs sorted whatever the input order.
        assert_eq!(
            canonical(&format!("{},{}:1-3", B.to_uppercase() + ":4", A)),
            format!("{A}:1-3,{B}:4")
        );
        // Intervals sorted, overlapping and adjacent ones merged, repeated UUIDs merged.
        assert_eq!(
            canonical(&format!("{A}:10:1-3:4-6:8-9:2-5")),
            format!("{A}:1-6:8-10")
        );
        assert_eq!(
            canonical(&format!("{A}:1-3,{B}:1,{A}:5:4")),
            format!("{A}:1-5,{B}:1")
        );
        // MySQL's own output (",\n" between UUIDs), whitespace, empty entries, 32-digit UUIDs,
        // and a UUID without intervals (nothing to add).
        assert_eq!(
            canonical(&format!(" {A} : 1 - 2 ,\n{B}:3-4,,")),
            format!("{A}:1-2,{B}:3-4")
        );
        assert_eq!(
            canonical(&format!("{}:9", A.replace('-', ""))),
            format!("{A}:9")
        );
        assert_eq!(canonical(&format!("{A},{B}:2")), format!("{B}:2"));
        // The largest GNO.
        assert_eq!(
            canonical(&format!("{A}:9223372036854775806-9223372036854775807")),
            format!("{A}:9223372036854775806-9223372036854775807")
        );
    }

    #[test]
    fn rejects_what_is_not_a_gtid_set_and_says_why() {
        for (text, why) in [
            ("0-1-42", "'0-1-42' is not a UUID"), // a MariaDB GTID
            (&format!("{A}:0") as &str, "'0' is not a transaction number"),
            (&format!("{A}:5-3"), "interval '5-3' ends before it starts"),
            (&format!("{A}:x"), "'x' is not a transaction number"),
            (&format!("{A}:1-"), "'' is not a transaction number"),
            (
                &format!("{A}:9223372036854775808"),
                "is not a transaction number",
            ),
            ("3e11fa47-71ca-11e1-9e33-c80aa942956g:1", "is not a UUID"),
            ("3e11fa47+71ca-11e1-9e33-c80aa9429562:1", "is not a UUID"),
        ] {
            let e = GtidSet::parse(text).unwrap_err();
            assert!(
                e.contains(why)
                    && e.contains("is not a MySQL GTID set")
                    && e.contains("expected e.g."),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn adding_gnos_extends_fills_gaps_and_keeps_the_rest() {
        let mut set = GtidSet::new();
        for gno in 1..=5 {
            set.add(sid(A), gno);
        }
        assert_eq!(set.to_string(), format!("{A}:1-5"));
        set.add(sid(A), 7);
        assert_eq!(set.to_string(), format!("{A}:1-5:7"));
        set.add(sid(A), 3); // already there
        assert_eq!(set.to_string(), format!("{A}:1-5:7"));
        set.add(sid(A), 6); // fills the gap: one interval
        assert_eq!(set.to_string(), format!("{A}:1-7"));
        set.add(sid(A), 10);
        set.add(sid(B), 2);
        assert_eq!(set.to_string(), format!("{A}:1-7:10,{B}:2"));
        assert!(set.contains(&sid(A), 1) && set.contains(&sid(A), 7) && set.contains(&sid(A), 10));
        assert!(
            !set.contains(&sid(A), 8) && !set.contains(&sid(A), 11) && !set.contains(&sid(B), 1)
        );
        set.add_interval(sid(A), 8, 9);
        assert_eq!(set.to_string(), format!("{A}:1-10,{B}:2"));
        let mut other = GtidSet::parse(&format!("{B}:1:3-4,{A}:12")).unwrap();
        other.union(&set);
        assert_eq!(other.to_string(), format!("{A}:1-10:12,{B}:1-4"));
    }

    #[test]
    fn difference_keeps_what_the_other_set_lacks() {
        let set = |t: &str| GtidSet::parse(t).unwrap();
        let a = set(&format!("{A}:1-10:20-30,{B}:1-5"));
        assert_eq!(
            a.difference(&set(&format!("{A}:1-10:20-30,{B}:1-5")))
                .to_string(),
            ""
        );
        assert_eq!(a.difference(&GtidSet::new()), a);
        assert_eq!(
            a.difference(&set(&format!("{A}:3-4:9-21:25,{B}:1-9")))
                .to_string(),
            format!("{A}:1-2:5-8:22-24:26-30")
        );
        assert_eq!(
            set(&format!("{A}:5"))
                .difference(&set(&format!("{A}:1-4:6-9")))
                .to_string(),
            format!("{A}:5")
        );
    }

    /// Random GNOs and intervals against a plain set of numbers: the same members, and the
    /// text lists exactly the maximal runs of consecutive members.
    #[test]
    fn random_additions_match_a_model() {
        let mut rng = SmallRng::seed_from_u64(27);
        for round in 0..200 {
            let mut set = GtidSet::new();
            let mut model: BTreeMap<Sid, BTreeSet<u64>> = BTreeMap::new();
            for _ in 0..rng.random_range(1..60) {
                let s = if rng.random_bool(0.7) { sid(A) } else { sid(B) };
                let start = rng.random_range(1..80u64);
                let end = start
                    + if rng.random_bool(0.6) {
                        0
                    } else {
                        rng.random_range(0..6)
                    };
                set.add_interval(s, start, end);
                model.entry(s).or_default().extend(start..=end);
            }
            let mut expected = Vec::new();
            for (s, gnos) in &model {
                let mut text = GtidSet {
                    sids: BTreeMap::from([(*s, vec![])]),
                }
                .to_string();
                let gnos: Vec<u64> = gnos.iter().copied().collect();
                let mut i = 0;
                while i < gnos.len() {
                    let mut j = i;
                    while j + 1 < gnos.len() && gnos[j + 1] == gnos[j] + 1 {
                        j += 1;
                    }
                    text += &if i == j {
                        format!(":{}", gnos[i])
                    } else {
                        format!(":{}-{}", gnos[i], gnos[j])
                    };
                    i = j + 1;
                }
                expected.push(text);
            }
            assert_eq!(set.to_string(), expected.join(","), "round {round}");
            for gno in 0..90 {
                assert_eq!(
                    set.contains(&sid(A), gno),
                    model.get(&sid(A)).is_some_and(|m| m.contains(&gno))
                );
            }
            assert_eq!(
                GtidSet::parse(&set.to_string()).unwrap(),
                set,
                "round trip, round {round}"
            );
        }
    }

    /// A Previous_gtids body as MySQL encodes it.
    fn previous_gtids(sets: &[(&str, &[(u64, u64)])]) -> Vec<u8> {
        let mut data = (sets.len() as u64).to_le_bytes().to_vec();
        for (uuid, intervals) in sets {
            data.extend_from_slice(&sid(uuid));
            data.extend_from_slice(&(intervals.len() as u64).to_le_bytes());
            for (start, end_exclusive) in *intervals {
                data.extend_from_slice(&start.to_le_bytes());
                data.extend_from_slice(&end_exclusive.to_le_bytes());
            }
        }
        data
    }

    #[test]
    fn decodes_previous_gtids_events() {
        let data = previous_gtids(&[(B, &[(1, 4)]), (A, &[(1, 6), (8, 9)])]);
        assert_eq!(
            GtidSet::decode_previous_gtids(&data).unwrap().to_string(),
            format!("{A}:1-5:8,{B}:1-3")
        );
        assert!(GtidSet::decode_previous_gtids(&previous_gtids(&[]))
            .unwrap()
            .is_empty());
        let e = GtidSet::decode_previous_gtids(&data[..data.len() - 3]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = GtidSet::decode_previous_gtids(&[data.as_slice(), &[0]].concat()).unwrap_err();
        assert!(e.contains("1 bytes after its set"), "{e}");
        let e = GtidSet::decode_previous_gtids(&previous_gtids(&[(A, &[(5, 5)])])).unwrap_err();
        assert!(e.contains("invalid interval [5, 5)"), "{e}");
        let mut tagged = data.clone();
        tagged[7] = 1;
        let e = GtidSet::decode_previous_gtids(&tagged).unwrap_err();
        assert!(e.contains("tagged"), "{e}");
    }

    #[test]
    fn tracker_follows_transactions_and_reports_the_set_before_an_open_one() {
        let mut t = MySqlGtidTracker::new(Some(&format!("{A}:1-10")));
        assert_eq!(t.state(), Some(format!("{A}:1-10")));
        t.begin(sid(A), 11);
        // Inside the transaction: the state before it (offsets there point at its start).
        assert_eq!(t.state(), Some(format!("{A}:1-10")));
        t.commit();
        assert_eq!(t.state(), Some(format!("{A}:1-11")));
        // A commit without a GTID (anonymous transaction) changes nothing.
        t.commit();
        t.begin(sid(B), 1);
        t.commit();
        assert_eq!(t.state(), Some(format!("{A}:1-11,{B}:1")));
        // A GTID whose transaction never committed is dropped when the next one begins.
        t.begin(sid(A), 12);
        t.begin(sid(A), 13);
        t.commit();
        assert_eq!(t.state(), Some(format!("{A}:1-11:13,{B}:1")));
        t.lose_track();
        t.begin(sid(A), 14);
        t.commit();
        assert_eq!(
            t.state(),
            None,
            "untrackable GTIDs make the set unknown, not partial"
        );
    }

    #[test]
    fn tracker_learns_the_set_only_from_exact_sources() {
        // No seed (or a MariaDB one): unknown, whatever transactions pass.
        for seed in [None, Some("0-1-42")] {
            let mut t = MySqlGtidTracker::new(seed);
            t.begin(sid(A), 5);
            t.commit();
            assert_eq!(t.state(), None);
        }
        // A Previous_gtids event sent for a file the stream started in the middle of: the
        // file's start, not ours; not taken alone.
        let mut t = MySqlGtidTracker::new(None);
        t.previous_gtids(&previous_gtids(&[(A, &[(1, 5)])]), false);
        assert_eq!(t.state(), None);
        // Read in order (a file read from its start): exact from here on.
        t.previous_gtids(&previous_gtids(&[(A, &[(1, 5)])]), true);
        assert_eq!(t.state(), Some(format!("{A}:1-4")));
        t.begin(sid(A), 5);
        t.commit();
        assert_eq!(t.state(), Some(format!("{A}:1-5")));
        // A known set only grows by a Previous_gtids event, in order or not.
        t.previous_gtids(&previous_gtids(&[(A, &[(1, 3)]), (B, &[(1, 2)])]), false);
        assert_eq!(t.state(), Some(format!("{A}:1-5,{B}:1")));
        // An undecodable one: unknown.
        t.previous_gtids(&[1, 2, 3], true);
        assert_eq!(t.state(), None);
        // An empty known set (gtid_mode OFF) is reported as no GTID state.
        let mut t = MySqlGtidTracker::new(None);
        t.previous_gtids(&previous_gtids(&[]), true);
        assert_eq!(t.state(), None);
    }

    /// The SID and GNO the binlog reader takes from mysql_common's GtidEvent: the UUID's bytes
    /// in text order, as MySQL writes them.
    #[test]
    fn mysql_gtid_events_decode_to_the_uuid_and_gno() {
        use mysql_common::binlog::consts::{BinlogVersion, EventType};
        use mysql_common::binlog::events::{
            BinlogEventHeader, Event, EventData, FormatDescriptionEvent, GtidEvent,
        };
        use mysql_common::binlog::BinlogStruct;
        use mysql_common::proto::MySerialize;

        let gtid = GtidEvent::new(sid(A), 42);
        let mut body = Vec::new();
        gtid.serialize(&mut body);
        let size = (BinlogEventHeader::LEN + body.len()) as u32;
        let header =
            BinlogEventHeader::new(0, EventType::GTID_EVENT, 1, size, 1000, Default::default());
        let mut bytes = Vec::new();
        header.serialize(&mut bytes);
        bytes.extend_from_slice(&body);
        assert_eq!(gtid.len(BinlogVersion::Version4), body.len());
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let event = Event::read(&fde, bytes.as_slice()).unwrap();
        let Some(EventData::GtidEvent(decoded)) = event.read_data().unwrap() else {
            panic!("a GTID event")
        };
        let mut set = GtidSet::new();
        set.add(decoded.sid(), decoded.gno());
        assert_eq!(set.to_string(), format!("{A}:42"));
    }
}
