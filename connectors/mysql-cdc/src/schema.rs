//! Table identities and column schemas as `information_schema` describes them, and discovery of
//! the tables a source captures.
//!
//! The schema is the single source of truth for how a column's values are normalized
//! (`value/`): the binlog alone cannot tell, for example, a BIGINT UNSIGNED from a BIGINT
//! (MariaDB's table map has no reliable signedness) or an ENUM label from its index.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::pattern::NamePattern;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rust_core::{BridgeError, Result};

/// Schemas that hold the server's own tables; never captured, whatever the patterns say.
pub const SYSTEM_SCHEMAS: &[&str] = &["information_schema", "mysql", "performance_schema", "sys"];

/// A table, by database and name (case as stored on the server).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TableId {
    pub database: String,
    pub table: String,
}

impl TableId {
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        TableId {
            database: database.into(),
            table: table.into(),
        }
    }

    /// `` `db`.`table` ``, safe to splice into SQL.
    pub fn quoted(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.table)
        )
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// A MySQL identifier in backticks, embedded backticks doubled.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// One column as `information_schema.COLUMNS` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSchema {
    pub name: String,
    /// `DATA_TYPE`, lower case: `int`, `varchar`, `decimal`, ... (MariaDB reports JSON columns as
    /// `longtext`: they are LONGTEXT with a JSON_VALID check there).
    pub data_type: String,
    /// `COLUMN_TYPE`, lower case: `int(10) unsigned`, `enum('a','b')`, `decimal(65,30)`, ...
    pub column_type: String,
    pub unsigned: bool,
    pub nullable: bool,
    /// Numeric precision and scale; for temporal types `precision` is the fraction digits
    /// (`DATETIME_PRECISION`) and `scale` is None. For BIT(n), `precision` is n.
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    /// `CHARACTER_MAXIMUM_LENGTH`: characters for text types, bytes for binary types.
    pub char_max_length: Option<u64>,
}

impl ColumnSchema {
    /// The labels of an ENUM or SET column, in definition order (index 1 is the first label),
    /// parsed from `COLUMN_TYPE` (`enum('a','it''s')`). Empty for other types.
    pub fn enum_labels(&self) -> Vec<String> {
        let mut labels = Vec::new();
        if self.data_type == "enum" || self.data_type == "set" {
            for_each_label(&self.column_type, |_, label| {
                labels.push(label.into_owned())
            });
        }
        labels
    }
}

/// Calls `f(index, label)` for each label of `enum('a','it''s','back\\slash')` / `set(...)`.
/// `COLUMN_TYPE` quotes labels as SQL strings: `'` doubled, backslash escapes (`\\`, `\n`,
/// `\0`, ...). Borrows the label unless it contains an escape.
pub(crate) fn for_each_label(
    column_type: &str,
    mut f: impl FnMut(usize, std::borrow::Cow<'_, str>),
) {
    let Some(open) = column_type.find('(') else {
        return;
    };
    let s = &column_type[open + 1..];
    let bytes = s.as_bytes();
    let (mut i, mut index) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b')' => return,
            b'\'' => {}
            _ => {
                i += 1; // a separating comma
                continue;
            }
        }
        let start = i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            match bytes.get(j) {
                None => return,
                Some(b'\'') if bytes.get(j + 1) == Some(&b'\'') => {
                    escaped = true;
                    j += 2;
                }
                Some(b'\'') => break,
                Some(b'\\') => {
                    escaped = true;
                    j += 2;
                }
                Some(_) => j += 1,
            }
        }
        let raw = &s[start..j.min(s.len())];
        f(
            index,
            if escaped {
                unescape(raw).into()
            } else {
                raw.into()
            },
        );
        index += 1;
        i = j + 1;
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                chars.next(); // the second quote of a doubled quote
                out.push('\'');
            }
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some('Z') => out.push('\u{1a}'),
                Some('b') => out.push('\u{8}'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// A captured table's columns in ordinal order, and its primary key.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSchema {
    pub id: TableId,
    pub columns: Vec<ColumnSchema>,
    /// Indexes into `columns`, in key order; empty when the table has no primary key.
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    /// The column of this name, compared case-insensitively as MySQL compares column names.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// The base tables whose database name fully matches `database_regex` and whose table name fully
/// matches `table_regex` (Flink CDC / Debezium semantics: each pattern is anchored at both ends,
/// so `db` does not match `db2` and `.` matches any character unless escaped; names compare
/// case-sensitively, as the server stores them). Views and the system schemas
/// ([`SYSTEM_SCHEMAS`]) are never included. Sorted by [`TableId`].
pub async fn discover_tables(
    conn: &mut Conn,
    database_regex: &NamePattern,
    table_regex: &NamePattern,
) -> Result<Vec<TableSchema>> {
    let system = SYSTEM_SCHEMAS
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let tables: Vec<(String, String)> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ({system})"
        ))
        .await
        .map_err(|e| BridgeError::external("listing tables in information_schema.TABLES", e))?;
    let mut ids: Vec<TableId> = tables
        .into_iter()
        .filter(|(db, table)| database_regex.is_match(db) && table_regex.is_match(table))
        .map(|(db, table)| TableId::new(db, table))
        .collect();
    ids.sort();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One query per matched database rather than per table: sources often capture hundreds of
    // tables of one or a few databases.
    let mut databases: Vec<&str> = ids.iter().map(|id| id.database.as_str()).collect();
    databases.dedup();
    let mut loaded = BTreeMap::new();
    for db in databases {
        loaded.extend(load_schemas(conn, db, None).await?);
    }
    Ok(ids
        .into_iter()
        .filter_map(|id| loaded.remove(&id))
        .collect())
}

/// The schema of one base table or view, or None when it does not exist.
pub async fn load_table(conn: &mut Conn, id: &TableId) -> Result<Option<TableSchema>> {
    let mut loaded = load_schemas(conn, &id.database, Some(&id.table)).await?;
    Ok(loaded.remove(id))
}

type ColumnRow = (
    String,      // TABLE_NAME
    String,      // COLUMN_NAME
    String,      // DATA_TYPE
    String,      // COLUMN_TYPE
    String,      // IS_NULLABLE
    Option<u64>, // NUMERIC_PRECISION
    Option<u64>, // NUMERIC_SCALE
    Option<u64>, // DATETIME_PRECISION
    Option<u64>, // CHARACTER_MAXIMUM_LENGTH
);

/// The columns and primary keys of the tables of `database` (only `table` when given).
async fn load_schemas(
    conn: &mut Conn,
    database: &str,
    table: Option<&str>,
) -> Result<BTreeMap<TableId, TableSchema>> {
    let context = || match table {
        Some(t) => format!("reading the schema of {}", TableId::new(database, t)),
        None => format!("reading the schemas of database '{database}'"),
    };
    let table_filter = if table.is_some() {
        " AND TABLE_NAME = ?"
    } else {
        ""
    };
    let params: Vec<mysql_async::Value> = std::iter::once(database.into())
        .chain(table.map(Into::into))
        .collect();
    let columns: Vec<ColumnRow> = conn
        .exec(
            format!(
                "SELECT TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), IS_NULLABLE, \
                 NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?{table_filter} \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION"
            ),
            params.clone(),
        )
        .await
        .map_err(|e| BridgeError::external(context(), e))?;
    let mut out: BTreeMap<TableId, TableSchema> = BTreeMap::new();
    for (tbl, name, data_type, column_type, nullable, num_prec, num_scale, dt_prec, char_len) in
        columns
    {
        let id = TableId::new(database, tbl);
        let is_temporal = matches!(data_type.as_str(), "time" | "datetime" | "timestamp");
        let column = ColumnSchema {
            unsigned: column_type.contains("unsigned") || column_type.contains("zerofill"),
            nullable: nullable.eq_ignore_ascii_case("YES"),
            precision: if is_temporal { dt_prec } else { num_prec }.map(clamp_u32),
            scale: if is_temporal {
                None
            } else {
                num_scale.map(clamp_u32)
            },
            char_max_length: char_len,
            name,
            data_type,
            column_type,
        };
        out.entry(id.clone())
            .or_insert_with(|| TableSchema {
                id,
                columns: Vec::new(),
                primary_key: Vec::new(),
            })
            .columns
            .push(column);
    }
    let keys: Vec<(String, String)> = conn
        .exec(
            format!(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = ?{table_filter} AND CONSTRAINT_NAME = 'PRIMARY' \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION"
            ),
            params,
        )
        .await
        .map_err(|e| BridgeError::external(context(), e))?;
    for (tbl, column) in keys {
        let id = TableId::new(database, tbl);
        if let Some(schema) = out.get_mut(&id) {
            let index = schema.column_index(&column).ok_or_else(|| {
                BridgeError::other(format!(
                    "{}: primary key column '{column}' is not a column",
                    id
                ))
            })?;
            schema.primary_key.push(index);
        }
    }
    Ok(out)
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_backticks() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(TableId::new("d`b", "t").quoted(), "`d``b`.`t`");
        assert_eq!(TableId::new("db", "t").to_string(), "db.t");
    }

    #[test]
    fn enum_labels_unquote() {
        let c = ColumnSchema {
            name: "e".into(),
            data_type: "enum".into(),
            column_type: r"enum('a','it''s','x,y','','back\\slash','q\'')".into(),
            unsigned: false,
            nullable: true,
            precision: None,
            scale: None,
            char_max_length: Some(4),
        };
        assert_eq!(
            c.enum_labels(),
            vec!["a", "it's", "x,y", "", r"back\slash", "q'"]
        );
    }
}
