//! MariaDB GTIDs (`domain-server-sequence`, e.g. `0-1-100`) and GTID positions (one GTID per
//! replication domain, e.g. `0-1-100,1-2-7`), as `@@gtid_binlog_pos`, `@@slave_connect_state`
//! and the binlog reader's offsets spell them.
//!
//! Within a domain, sequence numbers grow with every transaction whichever server wrote it, so
//! "the transactions of a domain up to sequence N" is the whole meaning of a position's entry.
//! A GTID *state* (`@@gtid_binlog_state`, a Gtid_list event) may hold one GTID per domain and
//! server; a *position* holds one per domain. MySQL GTID sets are another thing (`position/gtid.rs`).

use std::collections::BTreeMap;
use std::fmt;

/// Spelled out in every parse error, so the message says what is expected.
pub const MARIADB_FORMAT: &str =
    "MariaDB GTIDs 'domain-server-sequence' joined by commas, one per domain (e.g. '0-1-100,1-2-7'; \
     SELECT @@gtid_binlog_pos shows the server's)";

/// One MariaDB GTID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MariaGtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl MariaGtid {
    /// Parses `D-S-N`; the error names the part and why it is not a GTID.
    pub fn parse(part: &str) -> Result<Self, String> {
        let fields: Vec<&str> = part.trim().split('-').map(str::trim).collect();
        let [domain, server, seq] = fields[..] else {
            return Err(format!(
                "'{}' is not a MariaDB GTID (it needs three numbers joined by '-')",
                part.trim()
            ));
        };
        let number = |text: &str, what: &str| {
            format!(
                "'{}' is not a MariaDB GTID ('{text}' is not a {what})",
                part.trim()
            )
        };
        Ok(MariaGtid {
            domain: domain
                .parse()
                .map_err(|_| number(domain, "domain id (0..4294967295)"))?,
            server: server
                .parse()
                .map_err(|_| number(server, "server id (0..4294967295)"))?,
            seq: seq
                .parse()
                .map_err(|_| number(seq, "sequence number (0..18446744073709551615)"))?,
        })
    }

    /// True when `text` looks like a MariaDB GTID (three dash-separated numbers), whether or not
    /// the numbers fit: tells the flavor of a GTID set apart before parsing it.
    pub fn looks_like(text: &str) -> bool {
        let fields: Vec<&str> = text.trim().split('-').collect();
        fields.len() == 3
            && fields
                .iter()
                .all(|f| !f.trim().is_empty() && f.trim().bytes().all(|b| b.is_ascii_digit()))
    }
}

impl fmt::Display for MariaGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

/// The fields of a MariaDB GTID event (type 162) the binlog reader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GtidEvent {
    pub gtid: MariaGtid,
    /// `FL_STANDALONE`: a transaction without BEGIN/COMMIT (DDL), which ends with its own event.
    pub standalone: bool,
}

const GTID_EVENT_STANDALONE: u8 = 1;
/// Sequence number (u64), domain (u32), flags (u8): what every GTID event body starts with.
const GTID_EVENT_MIN_BODY: usize = 13;

/// Decodes the body of a MariaDB GTID event (mysql_common does not): sequence number (u64 LE) at
/// 0..8, domain (u32 LE) at 8..12, flags at 12, then fields the reader does not need (commit id,
/// XA). The server id is the event header's. A shorter body is a malformed event: an error, as
/// guessing would put a wrong GTID into the offsets.
pub fn decode_gtid_event(body: &[u8], server_id: u32) -> Result<GtidEvent, String> {
    let Some(head) = body.get(..GTID_EVENT_MIN_BODY) else {
        return Err(format!(
            "malformed MariaDB GTID event: {} bytes, a GTID event has at least {GTID_EVENT_MIN_BODY}",
            body.len()
        ));
    };
    let (seq, rest) = head.split_at(8);
    let (domain, flags) = rest.split_at(4);
    Ok(GtidEvent {
        gtid: MariaGtid {
            domain: u32::from_le_bytes(domain.try_into().expect("4 bytes")),
            server: server_id,
            seq: u64::from_le_bytes(seq.try_into().expect("8 bytes")),
        },
        standalone: flags[0] & GTID_EVENT_STANDALONE != 0,
    })
}

/// Parses a comma-separated list of GTIDs as the server prints its states (`@@gtid_binlog_state`,
/// a Gtid_list event's `[...]`): several per domain allowed, empty entries ignored.
pub fn parse_gtid_list(text: &str) -> Result<Vec<MariaGtid>, String> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(MariaGtid::parse)
        .collect()
}

/// A GTID position: per domain the last transaction applied (read) in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MariaGtidPos {
    domains: BTreeMap<u32, MariaGtid>,
}

impl MariaGtidPos {
    /// Parses a position given by a user: one GTID per domain. Errors name the bad part and
    /// the expected form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pos = MariaGtidPos::default();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let gtid =
                MariaGtid::parse(part).map_err(|e| format!("{e}; expected {MARIADB_FORMAT}"))?;
            if let Some(earlier) = pos.domains.insert(gtid.domain, gtid) {
                return Err(format!(
                    "'{earlier}' and '{gtid}' are both in domain {}: a position has one GTID per domain \
                     (the last transaction processed in it); expected {MARIADB_FORMAT}",
                    gtid.domain
                ));
            }
        }
        Ok(pos)
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// A transaction of `gtid`'s domain was read: it is the domain's position now.
    pub fn advance(&mut self, gtid: MariaGtid) {
        self.domains.insert(gtid.domain, gtid);
    }

    pub fn get(&self, domain: u32) -> Option<&MariaGtid> {
        self.domains.get(&domain)
    }

    pub fn iter(&self) -> impl Iterator<Item = &MariaGtid> {
        self.domains.values()
    }
}

/// The canonical text: GTIDs by domain, joined by `,` (as `@@gtid_binlog_pos` prints them).
impl fmt::Display for MariaGtidPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.domains.values().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{gtid}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_to_one_gtid_per_domain_sorted_by_domain() {
        let pos = MariaGtidPos::parse(" 1-2-7 , 0-1-100,").unwrap();
        assert_eq!(pos.to_string(), "0-1-100,1-2-7");
        assert_eq!(
            pos.get(1),
            Some(&MariaGtid {
                domain: 1,
                server: 2,
                seq: 7
            })
        );
        let mut pos = pos;
        pos.advance(MariaGtid {
            domain: 0,
            server: 3,
            seq: 101,
        });
        pos.advance(MariaGtid {
            domain: 5,
            server: 1,
            seq: 1,
        });
        assert_eq!(pos.to_string(), "0-3-101,1-2-7,5-1-1");
        assert!(MariaGtidPos::parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_positions_name_the_part_and_the_format() {
        for (text, why) in [
            ("0-1", "'0-1' is not a MariaDB GTID (it needs three numbers"),
            ("0-1-100,x-1-2", "'x' is not a domain id"),
            ("0-1-2-3", "'0-1-2-3' is not a MariaDB GTID"),
            ("0-99999999999-2", "'99999999999' is not a server id"),
            ("0-1-seven", "'seven' is not a sequence number"),
            ("0-1-5,0-2-9", "'0-1-5' and '0-2-9' are both in domain 0"),
        ] {
            let e = MariaGtidPos::parse(text).unwrap_err();
            assert!(
                e.contains(why) && e.contains("expected MariaDB GTIDs 'domain-server-sequence'"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn gtid_event_bodies_decode_and_short_ones_are_errors() {
        let mut body = 100u64.to_le_bytes().to_vec();
        body.extend_from_slice(&7u32.to_le_bytes());
        body.push(GTID_EVENT_STANDALONE);
        body.extend_from_slice(&[0; 8]); // commit id (flag not set here, but tolerated)
        let event = decode_gtid_event(&body, 3).unwrap();
        assert_eq!(
            event,
            GtidEvent {
                gtid: MariaGtid {
                    domain: 7,
                    server: 3,
                    seq: 100
                },
                standalone: true
            }
        );
        let e = decode_gtid_event(&body[..12], 3).unwrap_err();
        assert!(
            e.contains("malformed MariaDB GTID event: 12 bytes") && e.contains("at least 13"),
            "{e}"
        );
    }

    #[test]
    fn server_states_allow_several_gtids_per_domain() {
        let list = parse_gtid_list("[0-1-100,0-2-50,1-1-7]").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[1],
            MariaGtid {
                domain: 0,
                server: 2,
                seq: 50
            }
        );
        assert!(parse_gtid_list("[]").unwrap().is_empty());
        assert!(parse_gtid_list("").unwrap().is_empty());
        assert!(
            MariaGtid::looks_like("0-1-5") && MariaGtid::looks_like("0-1-99999999999999999999999")
        );
        assert!(
            !MariaGtid::looks_like("0-1")
                && !MariaGtid::looks_like("3e11fa47-71ca-11e1-9e33-c80aa9429562")
        );
    }
}
