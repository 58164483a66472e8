//! What the binlog cursor watches for while it reads: tables that start matching the
//! `database-name` / `table-name` patterns (a table map of one it does not capture, or a DDL
//! creating or renaming one). Finding one starts the enumerator's "adding tables" phase
//! (enumerator/newly_added.rs); this file only recognises them, so the cursor needs nothing of that phase.

use crate::binlog::evolution::{ddl_tables, DdlKind};
use crate::config::pattern::NamePattern;
use crate::config::MySqlCdcConfig;
use crate::schema::TableId;

/// What the binlog cursor watches for: tables matching the patterns it does not capture.
pub struct TableWatch {
    database: NamePattern,
    table: NamePattern,
    /// Suspend for them (`scan.newly-added-table.enabled`); otherwise log once.
    pub capture: bool,
    /// The split's tables known to be gone (`BinlogSplit::ignored`): their table maps do not
    /// suspend, a DDL creating one again does.
    pub ignored: Vec<TableId>,
}

impl TableWatch {
    pub fn new(config: &MySqlCdcConfig, ignored: Vec<TableId>) -> Self {
        TableWatch {
            database: config.database_regex.clone(),
            table: config.table_regex.clone(),
            capture: config.newly_added_tables,
            ignored,
        }
    }

    pub fn matches(&self, id: &TableId) -> bool {
        self.database.is_match(&id.database) && self.table.is_match(&id.table)
    }
}

/// The tables a DDL statement brings into existence under a name: CREATE TABLE, the new names of
/// RENAME TABLE, and ALTER TABLE ... RENAME [TO|AS] name.
pub fn tables_appearing(statement: &str, default_db: &str) -> Vec<TableId> {
    match ddl_tables(statement, default_db) {
        Some((DdlKind::Create, names)) => names,
        Some((DdlKind::Rename, names)) => names.into_iter().skip(1).step_by(2).collect(),
        Some((DdlKind::Alter, _)) => alter_rename_target(statement, default_db)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The new name of `ALTER TABLE t ... RENAME [TO|AS] name` (not RENAME COLUMN/INDEX/KEY).
fn alter_rename_target(statement: &str, default_db: &str) -> Option<TableId> {
    let upper = statement.to_ascii_uppercase();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut from = 0;
    while let Some(i) = upper[from..].find("RENAME") {
        let at = from + i;
        from = at + 6;
        if at > 0 && ident(upper.as_bytes()[at - 1]) {
            continue;
        }
        let after = &statement[at + 6..];
        if !after.starts_with(|c: char| c.is_whitespace() || c == '`') {
            continue;
        }
        let rest = after.trim_start();
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let rest = match word.to_ascii_uppercase().as_str() {
            "COLUMN" | "INDEX" | "KEY" | "CONSTRAINT" => continue,
            "TO" | "AS" => &rest[word.len()..],
            _ => rest,
        };
        return ddl_tables(&format!("CREATE TABLE {rest}"), default_db)
            .and_then(|(_, n)| n.into_iter().next());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: Vec<TableId>) -> Vec<String> {
        v.into_iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn ddl_that_brings_a_table_name_into_existence() {
        let n = |s: &str| names(tables_appearing(s, "db"));
        assert_eq!(
            n("CREATE TABLE t2 (id INT PRIMARY KEY)"),
            n("CREATE TABLE db.t2 (id INT)")
        );
        assert_eq!(n("CREATE TABLE IF NOT EXISTS `x`.`t2` (id INT)").len(), 1);
        assert_eq!(
            n("RENAME TABLE a TO t2, b TO other.t3"),
            n("CREATE TABLE t2 (i INT)")
                .into_iter()
                .chain(n("CREATE TABLE other.t3 (i INT)"))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            n("ALTER TABLE a RENAME TO t2"),
            n("CREATE TABLE t2 (i INT)")
        );
        assert_eq!(
            n("alter table a rename as `t2`"),
            n("CREATE TABLE t2 (i INT)")
        );
        assert_eq!(
            n("ALTER TABLE a ADD COLUMN c INT, RENAME t2"),
            n("CREATE TABLE t2 (i INT)")
        );
        assert!(n("ALTER TABLE a RENAME COLUMN x TO y").is_empty());
        assert!(n("ALTER TABLE renamed ADD COLUMN c INT").is_empty());
        assert!(n("ALTER TABLE a RENAME INDEX i TO j").is_empty());
        assert!(n("DROP TABLE t2").is_empty());
        assert!(n("INSERT INTO t2 VALUES (1)").is_empty());
    }
}
