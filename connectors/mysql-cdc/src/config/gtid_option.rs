//! The `scan.startup.specific-offset.gtid-set` option's value: which kind of GTID set it is
//! (MariaDB position or MySQL set), told from the text alone at submission, and its canonical
//! text. Checking it against a server and starting the binlog after it is `binlog/gtid_start.rs`.

use serde::{Deserialize, Serialize};

use crate::position::gtid::GtidSet;
use crate::position::mariadb_gtid::{MariaGtid, MariaGtidPos, MARIADB_FORMAT};

pub(crate) const MYSQL_FORMAT: &str = "a MySQL GTID set 'uuid:interval[:interval...]' joined by commas \
     (e.g. '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100'; SELECT @@gtid_executed shows the server's)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GtidFlavor {
    MariaDb,
    MySql,
}

/// A parsed `gtid-set` option: its flavor and its canonical text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GtidStart {
    pub flavor: GtidFlavor,
    pub set: String,
}

impl GtidStart {
    /// Tells the flavor from the text (MySQL sets have `uuid:` entries, MariaDB positions are
    /// three numbers per entry) and parses it. Errors name the bad part and both forms.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(format!(
                "the GTID set is empty: give the transactions already processed, as {MARIADB_FORMAT}, or as \
                 {MYSQL_FORMAT}; to read the whole binlog use 'scan.startup.mode' = 'earliest-offset'"
            ));
        }
        let mysql = entries.iter().find(|e| e.contains(':'));
        let mariadb = entries.iter().find(|e| MariaGtid::looks_like(e));
        if let (Some(my), Some(maria)) = (mysql, mariadb) {
            return Err(format!(
                "'{text}' mixes a MariaDB GTID ('{maria}') and a MySQL GTID set entry ('{my}'); a server has one \
                 kind: give {MARIADB_FORMAT}, or {MYSQL_FORMAT}"
            ));
        }
        if mysql.is_some() {
            // The error names the bad part and shows the form.
            let set = GtidSet::parse(text)?;
            if set.is_empty() {
                return Err(format!("'{text}' names no transaction (no intervals after the UUIDs); expected {MYSQL_FORMAT}"));
            }
            return Ok(GtidStart {
                flavor: GtidFlavor::MySql,
                set: set.to_string(),
            });
        }
        let pos = MariaGtidPos::parse(text).map_err(|e| format!("{e}, or {MYSQL_FORMAT}"))?;
        Ok(GtidStart {
            flavor: GtidFlavor::MariaDb,
            set: pos.to_string(),
        })
    }
}
