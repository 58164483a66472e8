//! `scan.incremental.snapshot.chunk.key-column`: the column a table's snapshot chunks are cut
//! by, one bare column for every table (Flink CDC's SQL connector) or a per-table list in Flink
//! CDC's pipeline form `db.table:column;db2.t2:col2`.
//!
//! The table part of an entry is Flink CDC's table selector: a database and a table pattern
//! (Java regular expressions matched against whole names) separated by the first dot not escaped
//! with a backslash; `\.` inside a pattern is a regex dot (any character), as in Flink CDC's
//! `tables` selectors. A table part without a dot is a table pattern for every database. The
//! first entry that matches a table names its column; a table no entry matches is cut by its
//! primary key, as in Flink CDC.

use crate::config::pattern::NamePattern;
use rust_core::error::BridgeError;
use rust_core::Result;

use crate::schema::{TableId, TableSchema};

pub const OPTION: &str = "scan.incremental.snapshot.chunk.key-column";

#[derive(Clone, Debug, Default)]
pub enum ChunkKeyColumns {
    /// Unset: every table by its first primary-key column.
    #[default]
    PrimaryKey,
    /// One column for every table.
    Every(String),
    /// Per table: the first entry whose patterns match.
    PerTable(Vec<ChunkKeyEntry>),
}

#[derive(Clone, Debug)]
pub struct ChunkKeyEntry {
    /// The entry as written (`db.table`), for messages.
    pub selector: String,
    database: Option<NamePattern>,
    table: NamePattern,
    pub column: String,
}

impl ChunkKeyColumns {
    /// Parses the option's value; the error says which part is wrong and how it should look.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(
                "must name a column, or list 'db.table:column' entries separated by ';'.".into(),
            );
        }
        if !text.contains(':') {
            return Ok(ChunkKeyColumns::Every(text.to_string()));
        }
        let mut entries = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((selector, column)) = part.rsplit_once(':').map(|(s, c)| (s.trim(), c.trim()))
            else {
                return Err(format!(
                    "'{part}' has no table: in a list every entry is 'db.table:column' (e.g. 'shop.orders:order_id;shop.items_.*:item_id')."
                ));
            };
            if selector.is_empty() || column.is_empty() || selector.contains(':') {
                return Err(format!(
                    "'{part}' is not 'db.table:column' (e.g. 'shop.orders:order_id;shop.items_.*:item_id')."
                ));
            }
            let (database, table) = match split_selector(selector) {
                (Some(db), table) => (
                    Some(selector_pattern(part, &db)?),
                    selector_pattern(part, &table)?,
                ),
                (None, table) => (None, selector_pattern(part, &table)?),
            };
            entries.push(ChunkKeyEntry {
                selector: selector.to_string(),
                database,
                table,
                column: column.to_string(),
            });
        }
        Ok(ChunkKeyColumns::PerTable(entries))
    }

    /// The column the option names for `table` (None: cut by the primary key), and the entry
    /// that named it (None for a bare column), for messages.
    pub fn column_for(&self, table: &TableId) -> Option<(&str, Option<&str>)> {
        match self {
            ChunkKeyColumns::PrimaryKey => None,
            ChunkKeyColumns::Every(column) => Some((column, None)),
            ChunkKeyColumns::PerTable(entries) => entries
                .iter()
                .find(|e| {
                    e.database
                        .as_ref()
                        .is_none_or(|d| d.is_match(&table.database))
                        && e.table.is_match(&table.table)
                })
                .map(|e| (e.column.as_str(), Some(e.selector.as_str()))),
        }
    }
}

/// `db.table` at the first dot no backslash escapes; `\.` becomes a regex dot.
fn split_selector(selector: &str) -> (Option<String>, String) {
    let bytes = selector.as_bytes();
    let dot = (0..bytes.len()).find(|&i| bytes[i] == b'.' && (i == 0 || bytes[i - 1] != b'\\'));
    let unescape = |s: &str| s.replace("\\.", ".");
    match dot {
        Some(i) => (Some(unescape(&selector[..i])), unescape(&selector[i + 1..])),
        None => (None, unescape(selector)),
    }
}

fn selector_pattern(part: &str, pattern: &str) -> Result<NamePattern, String> {
    NamePattern::new(pattern).map_err(|e| format!("in '{part}': {e}"))
}

/// The column a table's chunks are cut by: the option's column for it (config/chunk_key.rs), or its
/// first primary-key column.
pub fn chunk_key_of(table: &TableSchema, option: &ChunkKeyColumns) -> Result<String> {
    match option.column_for(&table.id) {
        Some((name, entry)) => table.column_index(name).map(|i| table.columns[i].name.clone()).ok_or_else(|| {
            let named = entry.map(|e| format!(" (entry '{e}:{name}')")).unwrap_or_default();
            BridgeError::validation(format!(
                "'{}'{named} names column '{name}', but table {} has no such column (its columns: {}); name a \
                 column of the table, ideally indexed and unique",
                OPTION,
                table.id,
                table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        }),
        None => table.primary_key.first().map(|&i| table.columns[i].name.clone()).ok_or_else(|| {
            BridgeError::validation(format!(
                "table {} has no primary key: set '{}' to a column to split its snapshot by (ideally indexed \
                 and unique), for this table alone with '{}:column'",
                table.id,
                OPTION,
                table.id
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(c: &ChunkKeyColumns, db: &str, table: &str) -> Option<String> {
        c.column_for(&TableId::new(db, table))
            .map(|(col, _)| col.to_string())
    }

    #[test]
    fn a_bare_column_is_every_table_and_a_list_is_per_table() {
        let every = ChunkKeyColumns::parse(" id ").unwrap();
        assert_eq!(column(&every, "shop", "orders"), Some("id".into()));
        assert_eq!(column(&ChunkKeyColumns::PrimaryKey, "shop", "orders"), None);

        let list = ChunkKeyColumns::parse("shop.orders:order_id; shop.items_\\.*:item_id;logs:seq")
            .unwrap();
        assert_eq!(column(&list, "shop", "orders"), Some("order_id".into()));
        assert_eq!(column(&list, "shop", "orders2"), None, "whole names only");
        assert_eq!(column(&list, "shop", "items_1"), Some("item_id".into()));
        assert_eq!(column(&list, "other", "items_1"), None);
        assert_eq!(
            column(&list, "any_db", "logs"),
            Some("seq".into()),
            "no dot: a table in every database"
        );
        assert_eq!(
            list.column_for(&TableId::new("shop", "orders")),
            Some(("order_id", Some("shop.orders")))
        );
        // A regex in the database part, and the first matching entry wins.
        let list = ChunkKeyColumns::parse("db_[0-9]+.t:a;db_1.t:b").unwrap();
        assert_eq!(column(&list, "db_1", "t"), Some("a".into()));
    }

    #[test]
    fn malformed_lists_say_what_an_entry_looks_like() {
        for bad in [
            "shop.orders:id;plain",
            "shop.orders:",
            ":id",
            "a:b:c",
            "shop.(:id",
            "  ",
        ] {
            let e = ChunkKeyColumns::parse(bad).unwrap_err();
            assert!(
                e.contains("db.table") || e.contains("regular expression"),
                "{bad}: {e}"
            );
        }
    }
}
