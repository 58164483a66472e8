//! TEMPORARY STUB (replaced by the cdc-types branch): captured tables and their columns.
use std::fmt;

use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};

use rust_core::error::BridgeError;
use rust_core::Result;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableId {
    pub database: String,
    pub table: String,
}

impl TableId {
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        TableId { database: database.into(), table: table.into() }
    }
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.database), quote_ident(&self.table))
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSchema {
    pub name: String,
    pub data_type: String,
    pub column_type: String,
    pub unsigned: bool,
    pub nullable: bool,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    pub char_max_length: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableSchema {
    pub id: TableId,
    pub columns: Vec<ColumnSchema>,
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

fn db_err(e: mysql_async::Error) -> BridgeError {
    BridgeError::external("reading the table schema", e)
}

pub async fn discover_tables(
    conn: &mut mysql_async::Conn,
    database_regex: &regex::Regex,
    table_regex: &regex::Regex,
) -> Result<Vec<TableSchema>> {
    let names: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' \
             AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema','sys') \
             ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await
        .map_err(db_err)?;
    let mut out = Vec::new();
    for (db, t) in names {
        if database_regex.is_match(&db) && table_regex.is_match(&t) {
            if let Some(s) = load_table(conn, &TableId::new(db, t)).await? {
                out.push(s);
            }
        }
    }
    Ok(out)
}

pub async fn load_table(conn: &mut mysql_async::Conn, id: &TableId) -> Result<Option<TableSchema>> {
    let rows: Vec<(String, String, String, String, Option<String>)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&id.database, &id.table),
        )
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let columns: Vec<ColumnSchema> = rows
        .iter()
        .map(|(name, dt, ct, nullable, _)| ColumnSchema {
            name: name.clone(),
            data_type: dt.to_ascii_lowercase(),
            column_type: ct.clone(),
            unsigned: ct.contains("unsigned"),
            nullable: nullable == "YES",
            precision: None,
            scale: None,
            char_max_length: None,
        })
        .collect();
    let pk: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
            (&id.database, &id.table),
        )
        .await
        .map_err(db_err)?;
    let schema = TableSchema { id: id.clone(), primary_key: vec![], columns };
    let primary_key = pk.iter().filter_map(|n| schema.column_index(n)).collect();
    Ok(Some(TableSchema { primary_key, ..schema }))
}
