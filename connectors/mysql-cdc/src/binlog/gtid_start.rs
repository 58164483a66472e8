//! Starting the binlog after a GTID set (`scan.startup.mode = 'specific-offset'` with
//! `scan.startup.specific-offset.gtid-set`), as Flink CDC defines it: the set names the
//! transactions already processed; reading starts with the first transaction not in it.
//!
//! - MariaDB: a GTID position, one `domain-server-sequence` per domain. A domain the position
//!   leaves out is read from its first transaction. The binlog dump runs with
//!   `@slave_connect_state` set to it and an empty file name: the server finds the place.
//! - MySQL: a GTID set (`uuid:1-100,uuid2:1-5`), sent with COM_BINLOG_DUMP_GTID.
//!
//! Only the first start uses the set: the reader learns file and position from the stream, and
//! its offsets (so checkpoints and restores) are file/position offsets from then on.
//!
//! This module tells the flavor of a set from its text (at submission, without a server), checks
//! it against the server (`preflight`), and builds MySQL's request. The checks are pure
//! functions of what the server reports, so they are unit-tested for both flavors.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use mysql_common::packets::{GnoInterval, Sid};

use rust_core::error::BridgeError;
use rust_core::Result;

use crate::config::gtid_option::MYSQL_FORMAT;
use crate::config::gtid_option::{GtidFlavor, GtidStart};
use crate::config::GTID_SET_OPTION as OPTION;
use crate::conn::connect::{binlog_files, db_error, is_mariadb, privilege_error};
use crate::position::gtid::GtidSet;
use crate::position::mariadb_gtid::{parse_gtid_list, MariaGtid, MariaGtidPos, MARIADB_FORMAT};

/// Checks a GTID start against the server: its flavor, and that the server still has every
/// transaction after the set and knows every GTID in it.
pub async fn preflight(conn: &mut Conn, start: &GtidStart) -> Result<()> {
    let mariadb = is_mariadb(conn).await?;
    let invalid =
        |msg: String| BridgeError::validation(format!("'{OPTION}' = '{}': {msg}", start.set));
    match (start.flavor, mariadb) {
        (GtidFlavor::MySql, true) => Err(invalid(format!(
            "this is a MySQL GTID set, but the server is MariaDB, whose GTIDs are 'domain-server-sequence': \
             give {MARIADB_FORMAT}"
        ))),
        (GtidFlavor::MariaDb, false) => Err(invalid(format!(
            "this is a MariaDB GTID position, but the server is MySQL, whose GTIDs are 'uuid:number': give {MYSQL_FORMAT}"
        ))),
        (GtidFlavor::MariaDb, true) => {
            let state: Option<String> = conn
                .query_first("SELECT @@GLOBAL.gtid_binlog_state")
                .await
                .map_err(|e| db_error("reading @@gtid_binlog_state", e))?;
            let state = parse_gtid_list(&state.unwrap_or_default())
                .map_err(|e| BridgeError::other(format!("the server's @@gtid_binlog_state is unreadable: {e}")))?;
            let oldest = binlog_files(conn).await?.into_iter().next().unwrap_or_default();
            let purged = oldest_gtid_list(conn, &oldest).await?;
            let pos = MariaGtidPos::parse(&start.set).map_err(invalid)?;
            check_mariadb(&pos, &state, &purged, &oldest).map_err(invalid)
        }
        (GtidFlavor::MySql, false) => {
            let row: Option<(String, String, String)> = conn
                .query_first("SELECT @@GLOBAL.gtid_mode, @@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged")
                .await
                .map_err(|e| db_error("reading the server's GTID mode and sets", e))?;
            let (mode, executed, purged) = row.unwrap_or_default();
            let parse = |name: &str, text: &str| {
                GtidSet::parse(text).map_err(|e| BridgeError::other(format!("the server's @@{name} is unreadable: {e}")))
            };
            let set = GtidSet::parse(&start.set).map_err(invalid)?;
            check_mysql(&set, &mode, &parse("gtid_executed", &executed)?, &parse("gtid_purged", &purged)?)
                .map_err(invalid)
        }
    }
}

/// The GTID state at the start of `file` (its Gtid_list event): every transaction before it,
/// which, for the oldest file, the server no longer has.
async fn oldest_gtid_list(conn: &mut Conn, file: &str) -> Result<Vec<MariaGtid>> {
    if file.is_empty() {
        return Ok(Vec::new());
    }
    let statement = format!(
        "SHOW BINLOG EVENTS IN '{}' LIMIT 4",
        file.replace('\'', "''")
    );
    let rows: Vec<mysql_async::Row> = conn.query(&statement).await.map_err(|e| {
        privilege_error(
            e,
            "SHOW BINLOG EVENTS",
            "REPLICATION SLAVE and BINLOG MONITOR",
        )
    })?;
    for row in rows {
        let kind: Option<String> = row.get("Event_type");
        if kind.as_deref() == Some("Gtid_list") {
            let info: String = row.get("Info").unwrap_or_default();
            return parse_gtid_list(&info).map_err(|e| {
                BridgeError::other(format!(
                    "the Gtid_list event of binlog file '{file}' is unreadable: {e}"
                ))
            });
        }
    }
    Ok(Vec::new())
}

fn join(gtids: &[MariaGtid]) -> String {
    gtids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn last_in_domain(gtids: &[MariaGtid], domain: u32) -> Option<MariaGtid> {
    gtids
        .iter()
        .filter(|g| g.domain == domain)
        .max_by_key(|g| g.seq)
        .copied()
}

/// A MariaDB start position against the server's `@@gtid_binlog_state` (`state`: per domain
/// and server the last GTID written) and the Gtid_list of its oldest binlog file (`purged`).
///
/// Refused: a domain the server never wrote (a position of another server); a GTID beyond the
/// server's last in its domain (MariaDB would wait for it, or fail only once running); a GTID of
/// a server id that never reached that sequence number in the domain; and a start that needs
/// purged transactions, after a GTID or, for a domain the position leaves out, from the start.
pub fn check_mariadb(
    start: &MariaGtidPos,
    state: &[MariaGtid],
    purged: &[MariaGtid],
    oldest_file: &str,
) -> std::result::Result<(), String> {
    let state_text = join(state);
    for gtid in start.iter() {
        let domain = gtid.domain;
        let Some(last) = last_in_domain(state, domain) else {
            return Err(format!(
                "GTID {gtid} is in domain {domain}, which the server's binlog has never had (@@gtid_binlog_state \
                 = '{state_text}'): the position is probably from another server; take it from this server or its \
                 primary (SELECT @@gtid_binlog_pos)"
            ));
        };
        if gtid.seq > last.seq {
            return Err(format!(
                "GTID {gtid} is ahead of the server: its binlog ends at {last} in domain {domain} \
                 (@@gtid_binlog_state = '{state_text}'), so it has not written that transaction, and reading would \
                 wait for it instead of starting; give a GTID the server has written (SELECT @@gtid_binlog_pos)"
            ));
        }
        let by_server = state
            .iter()
            .find(|g| g.domain == domain && g.server == gtid.server);
        if by_server.is_none_or(|g| g.seq < gtid.seq) {
            return Err(format!(
                "GTID {gtid} is not known to the server: server {} wrote no transaction {} in domain {domain} \
                 (@@gtid_binlog_state = '{state_text}'); check the GTID's server id (SELECT @@gtid_binlog_pos \
                 shows the server's position)",
                gtid.server, gtid.seq
            ));
        }
        if let Some(gone) = last_in_domain(purged, domain).filter(|p| gtid.seq < p.seq) {
            return Err(format!(
                "the transactions after GTID {gtid} up to {gone} were purged from the server's binlog (its oldest \
                 file '{oldest_file}' starts after {gone}) and cannot be read: start at {gone} or later, or take a \
                 new snapshot with 'scan.startup.mode' = 'initial'"
            ));
        }
    }
    let mut purged_domains: Vec<u32> = purged.iter().map(|g| g.domain).collect();
    purged_domains.dedup();
    for domain in purged_domains {
        if start.get(domain).is_none() {
            let gone = last_in_domain(purged, domain).expect("a purged GTID of the domain");
            return Err(format!(
                "the position has no GTID for domain {domain}, so reading would start at the domain's first \
                 transaction, but the server purged its binlog up to {gone} (oldest file '{oldest_file}'): add \
                 domain {domain}'s last processed GTID to the position (@@gtid_binlog_pos shows the server's)"
            ));
        }
    }
    Ok(())
}

/// A MySQL start set against the server's `@@gtid_mode`, `@@gtid_executed` and `@@gtid_purged`:
/// GTIDs must be on, the set within what the server executed, and every purged transaction in
/// the set (reading starts with the first transaction not in it, so it must still be there).
pub fn check_mysql(
    start: &GtidSet,
    gtid_mode: &str,
    executed: &GtidSet,
    purged: &GtidSet,
) -> std::result::Result<(), String> {
    if !gtid_mode.eq_ignore_ascii_case("ON") {
        return Err(format!(
            "the server's gtid_mode is {gtid_mode}, not ON: a GTID start needs gtid_mode=ON and \
             enforce_gtid_consistency=ON; or start from 'scan.startup.specific-offset.file' and '.pos'"
        ));
    }
    let unknown = start.difference(executed);
    if !unknown.is_empty() {
        return Err(format!(
            "GTIDs {unknown} are not in the server's @@gtid_executed ('{executed}'): they are ahead of the server \
             or from another one, and reading would wait for them instead of starting; give a subset of \
             SELECT @@gtid_executed"
        ));
    }
    let gone = purged.difference(start);
    if !gone.is_empty() {
        return Err(format!(
            "the server purged transactions {gone} that are not in the set (@@gtid_purged = '{purged}'), so they \
             cannot be read: add them to the set if they were processed, or take a new snapshot with \
             'scan.startup.mode' = 'initial'"
        ));
    }
    Ok(())
}

/// The SID block of MySQL's COM_BINLOG_DUMP_GTID: per UUID its GNO intervals, end exclusive.
pub fn mysql_sids(set: &GtidSet) -> Vec<Sid<'static>> {
    set.intervals()
        .map(|(uuid, intervals)| {
            let intervals = intervals
                .iter()
                .map(|&(start, end)| GnoInterval::new(start, end + 1))
                .collect();
            Sid::new(*uuid).with_intervals(intervals)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mysql_common::packets::binlog_request::BinlogRequest;
    use mysql_common::proto::MySerialize;

    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "8a94f357-aab4-11df-86ab-c80aa9429563";

    #[test]
    fn the_flavor_is_told_from_the_text_and_the_text_made_canonical() {
        assert_eq!(
            GtidStart::parse(" 1-2-7, 0-1-100 ").unwrap(),
            GtidStart {
                flavor: GtidFlavor::MariaDb,
                set: "0-1-100,1-2-7".into()
            }
        );
        assert_eq!(
            GtidStart::parse(&format!("{B}:1-5,{}:1-100:101", A.to_uppercase())).unwrap(),
            GtidStart {
                flavor: GtidFlavor::MySql,
                set: format!("{A}:1-101,{B}:1-5")
            }
        );
    }

    #[test]
    fn malformed_sets_name_the_bad_part_and_both_forms() {
        for (text, why) in [
            ("", "the GTID set is empty"),
            (" , ", "the GTID set is empty"),
            ("0-1", "'0-1' is not a MariaDB GTID"),
            ("0-1-100,1-x-7", "'x' is not a server id"),
            ("0-1-5,0-1-9", "both in domain 0"),
            ("latest", "'latest' is not a MariaDB GTID"),
            (
                &format!("{A}:5-3") as &str,
                "interval '5-3' ends before it starts",
            ),
            (&format!("{A}:1-5,zz:3"), "'zz' is not a UUID"),
            (A, "is not a MariaDB GTID"),
            (&format!("{A},{B}"), "is not a MariaDB GTID"),
            (
                &format!("0-1-5,{A}:1-3"),
                "mixes a MariaDB GTID ('0-1-5') and a MySQL GTID set entry",
            ),
        ] {
            let e = GtidStart::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
            // MariaDB-looking input is shown both forms (it may be a mistyped MySQL set).
            assert!(
                e.contains("is not a MySQL GTID set") || e.contains("'domain-server-sequence'"),
                "{text}: {e}"
            );
            assert!(
                e.contains("e.g. '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-"),
                "{text}: {e}"
            );
        }
        // A UUID without intervals names no transaction.
        let e = GtidStart::parse(&format!("{A}:")).unwrap_err();
        assert!(e.contains("is not a transaction number"), "{e}");
    }

    fn gtids(text: &str) -> Vec<MariaGtid> {
        parse_gtid_list(text).unwrap()
    }

    fn mariadb(start: &str, state: &str, purged: &str) -> std::result::Result<(), String> {
        check_mariadb(
            &MariaGtidPos::parse(start).unwrap(),
            &gtids(state),
            &gtids(purged),
            "bin.000007",
        )
    }

    #[test]
    fn mariadb_positions_must_be_known_written_and_not_purged() {
        let state = "0-1-100,0-2-80,1-1-7";
        assert_eq!(mariadb("0-1-50", state, ""), Ok(()));
        assert_eq!(
            mariadb("0-1-100,1-1-7", state, "0-1-40"),
            Ok(()),
            "the last GTIDs: reading waits for new ones"
        );
        assert_eq!(
            mariadb("0-2-80", state, "0-1-80"),
            Ok(()),
            "exactly at the start of the oldest file"
        );

        let e = mariadb("5-1-3", state, "").unwrap_err();
        assert!(
            e.contains("GTID 5-1-3 is in domain 5, which the server's binlog has never had")
                && e.contains("0-1-100,0-2-80,1-1-7"),
            "{e}"
        );
        let e = mariadb("0-1-101", state, "").unwrap_err();
        assert!(
            e.contains(
                "GTID 0-1-101 is ahead of the server: its binlog ends at 0-1-100 in domain 0"
            ) && e.contains("instead of starting"),
            "{e}"
        );
        let e = mariadb("0-3-50", state, "").unwrap_err();
        assert!(e.contains("GTID 0-3-50 is not known to the server: server 3 wrote no transaction 50 in domain 0"), "{e}");
        let e = mariadb("0-2-90", state, "").unwrap_err();
        assert!(e.contains("server 2 wrote no transaction 90"), "{e}");
        let e = mariadb("0-1-30", state, "0-1-40").unwrap_err();
        assert!(
            e.contains("the transactions after GTID 0-1-30 up to 0-1-40 were purged")
                && e.contains("'bin.000007'")
                && e.contains("'initial'"),
            "{e}"
        );
        let e = mariadb("0-1-50", state, "0-1-40,1-1-3").unwrap_err();
        assert!(
            e.contains("no GTID for domain 1") && e.contains("purged its binlog up to 1-1-3"),
            "{e}"
        );
    }

    fn set(text: &str) -> GtidSet {
        GtidSet::parse(text).unwrap()
    }

    #[test]
    fn mysql_sets_must_be_executed_and_cover_what_was_purged() {
        let executed = set(&format!("{A}:1-100,{B}:1-5"));
        let purged = set(&format!("{A}:1-20"));
        assert_eq!(
            check_mysql(&set(&format!("{A}:1-50")), "ON", &executed, &purged),
            Ok(())
        );
        assert_eq!(
            check_mysql(
                &set(&format!("{A}:1-100,{B}:1-5")),
                "on",
                &executed,
                &purged
            ),
            Ok(())
        );
        let e = check_mysql(
            &set(&format!("{A}:1-50")),
            "OFF_PERMISSIVE",
            &executed,
            &purged,
        )
        .unwrap_err();
        assert!(e.contains("gtid_mode is OFF_PERMISSIVE, not ON"), "{e}");
        let e =
            check_mysql(&set(&format!("{A}:1-101,{B}:9")), "ON", &executed, &purged).unwrap_err();
        assert!(
            e.contains(&format!(
                "GTIDs {A}:101,{B}:9 are not in the server's @@gtid_executed"
            )),
            "{e}"
        );
        let e =
            check_mysql(&set(&format!("{A}:1-10:15-60")), "ON", &executed, &purged).unwrap_err();
        assert!(
            e.contains(&format!(
                "purged transactions {A}:11-14 that are not in the set"
            )),
            "{e}"
        );
    }

    /// The request mysql_async sends for a MySQL start (its BinlogStreamRequest wraps this
    /// BinlogRequest): COM_BINLOG_DUMP_GTID whose SID block encodes exactly the set, in the
    /// Previous_gtids layout (so `decode_previous_gtids` reads it back).
    #[test]
    fn mysql_starts_send_the_set_in_com_binlog_dump_gtid() {
        let start = set(&format!("{B}:1-5,{A}:1-100:102:200-300"));
        let sids = mysql_sids(&start);
        let request = BinlogRequest::new(5400)
            .with_use_gtid(true)
            .with_filename(&b""[..])
            .with_pos(4u64)
            .with_sids(sids);
        let mysql_common::misc::raw::Either::Right(cmd) = request.as_cmd() else {
            panic!("COM_BINLOG_DUMP_GTID")
        };
        let mut bytes = Vec::new();
        cmd.serialize(&mut bytes);
        // Command 0x1e, flags (BINLOG_THROUGH_GTID = 4), server id, empty file name, position 4.
        assert_eq!(bytes[0], 0x1e);
        assert_eq!(u16::from_le_bytes([bytes[1], bytes[2]]) & 4, 4);
        assert_eq!(u32::from_le_bytes(bytes[3..7].try_into().unwrap()), 5400);
        assert_eq!(
            u32::from_le_bytes(bytes[7..11].try_into().unwrap()),
            0,
            "empty file name"
        );
        assert_eq!(u64::from_le_bytes(bytes[11..19].try_into().unwrap()), 4);
        let block_len = u32::from_le_bytes(bytes[19..23].try_into().unwrap()) as usize;
        assert_eq!(bytes.len(), 23 + block_len);
        assert_eq!(GtidSet::decode_previous_gtids(&bytes[23..]).unwrap(), start);
    }
}
