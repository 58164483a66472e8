//! Schema changes in the binlog: matching row images to the captured columns by name, and
//! recognizing DDL of captured tables.
//!
//! A binlog row image holds a table's columns by position, as the table was when the row was
//! written; the table map event before it says which types those positions have. With
//! `binlog_row_metadata=FULL` (MySQL 8.0.1+, MariaDB 10.5+) every table map also names its
//! columns (and gives signedness, character sets, ENUM/SET labels and the primary key), so it
//! describes its images completely. Then the captured schema (the reader's, read from
//! `information_schema`) only says which columns to deliver, and each table map is matched to it
//! by name ([`TableView`]): a column added upstream is ignored, a dropped one reads NULL, moved
//! columns land where they belong, and a column whose type changed is read with the table map's
//! type (or fails clearly when the declared Flink type cannot hold it). Because each table map is
//! self-describing, this is right for old events too, such as those a restore replays from a
//! checkpoint taken before a DDL.
//!
//! Without column names (`MINIMAL`, or MariaDB's default `NO_LOG`) images can only be taken by
//! position, which is right only while the table is as the captured schema says. Re-reading
//! `information_schema` after a DDL is not safe: it tells the schema now, not the one at the DDL's
//! binlog position (a reader behind the server, or replaying from a checkpoint, may be followed
//! by more DDL), and a replay from before the DDL would read the old events with the new schema.
//! So: a table map whose column count or column types disagree with the captured schema fails
//! the reader, and a DDL of a captured table ([`ddl_tables`]) followed by a table map without
//! names fails it too, before any of its rows is decoded, telling the user to set
//! `binlog_row_metadata=FULL`.

use std::sync::Arc;

use mysql_async::binlog::events::TableMapEvent;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use rust_core::{BridgeError, Result};

use crate::schema::{ColumnSchema, TableId, TableSchema};
use crate::value::{same_value_type, BinlogImageLayout, RowNormalizer, RowValues, TableMapping};

/// How to read the row images of one table map of a captured table.
pub struct TableView {
    pub layout: BinlogImageLayout,
    /// Per column of the captured schema, its position in the image (None: the image lacks it);
    /// None when the image is the captured schema's columns in order.
    projection: Option<Vec<Option<usize>>>,
    /// Collation ids in the captured schema's column order.
    charsets: Vec<u16>,
    /// The captured schema with each column's type as this table map has it.
    pub schema: Arc<TableSchema>,
    pub normalizer: RowNormalizer,
    /// The reader's mapping adapted to changed column types, when they convert differently.
    pub mapping: Option<Arc<TableMapping>>,
    /// Why the primary key is not the captured schema's any more (snapshot routing depends on it).
    pub key_change: Option<Arc<str>>,
    /// The table map named its columns.
    pub named: bool,
    /// The table map's columns differ from the captured schema's (names, order or types).
    pub changed: bool,
    /// Every column of the table map, as it describes them (named table maps only).
    image_columns: Vec<ColumnSchema>,
    /// The table map's primary key, by name (named table maps only).
    image_key: Vec<String>,
}

impl TableView {
    /// The view of `tme` for captured table `table` with schema `captured` (and the reader's
    /// mapping of it, when known). `at` names the event for messages.
    pub fn new(
        tme: &TableMapEvent<'_>,
        captured: &TableSchema,
        mapping: Option<&TableMapping>,
        at: &str,
    ) -> Result<TableView> {
        let layout = BinlogImageLayout::new(tme).map_err(|e| {
            BridgeError::external(
                format!("decoding the table map of {} at {at}", captured.id),
                e,
            )
        })?;
        if layout.table_map().names.is_some() {
            Self::by_name(layout, captured, mapping, at)
        } else {
            Self::by_position(layout, captured, at)
        }
    }

    /// The view of a table map that names its columns.
    fn by_name(
        layout: BinlogImageLayout,
        captured: &TableSchema,
        mapping: Option<&TableMapping>,
        at: &str,
    ) -> Result<TableView> {
        let image = layout.table_map();
        let names = image.names.as_deref().unwrap_or_default();
        let projection: Vec<Option<usize>> = captured
            .columns
            .iter()
            .map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(&c.name)))
            .collect();
        let mut columns = Vec::with_capacity(captured.columns.len());
        let mut charsets = Vec::with_capacity(captured.columns.len());
        // Declared columns the table did not have when the reader started are appended absent.
        let mut changed = names.len()
            != captured
                .columns
                .iter()
                .filter(|c| !c.data_type.is_empty())
                .count();
        for (column, at_image) in captured.columns.iter().zip(&projection) {
            match *at_image {
                Some(i) => {
                    let derived = image.column(i, &column.name);
                    changed |= i != columns.len();
                    if same_value_type(column, &derived) {
                        columns.push(column.clone());
                    } else {
                        changed = true;
                        columns.push(derived);
                    }
                    charsets.push(layout.charsets()[i]);
                }
                None => {
                    changed |= !column.data_type.is_empty();
                    columns.push(column.clone());
                    charsets.push(0);
                }
            }
        }
        let schema = TableSchema {
            id: captured.id.clone(),
            columns,
            primary_key: captured.primary_key.clone(),
        };
        let present: Vec<bool> = projection.iter().map(Option::is_some).collect();
        let mapping = match mapping {
            Some(m) if changed => m
                .for_columns(captured, &schema, &present, at)?
                .map(Arc::new),
            _ => None,
        };
        // The primary key the snapshot routed changes by: its columns must still be there, and
        // be the key (when the table map says which columns are).
        let key_names: Vec<&str> = captured
            .primary_key
            .iter()
            .map(|&i| captured.columns[i].name.as_str())
            .collect();
        let key_change = if let Some(gone) = captured
            .primary_key
            .iter()
            .find(|&&i| projection[i].is_none())
        {
            Some(format!(
                "primary key column '{}' was dropped",
                captured.columns[*gone].name
            ))
        } else if !image.primary_key.is_empty() && !key_names.is_empty() {
            let now: Vec<&str> = image
                .primary_key
                .iter()
                .filter_map(|&i| names.get(i).map(String::as_str))
                .collect();
            let same = now.len() == key_names.len()
                && now
                    .iter()
                    .zip(&key_names)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            (!same).then(|| {
                format!(
                    "the primary key changed from ({}) to ({})",
                    key_names.join(", "),
                    now.join(", ")
                )
            })
        } else {
            None
        }
        .map(|why| Arc::<str>::from(format!("{why} in MySQL table {} ({at})", captured.id)));
        let identity = projection.iter().enumerate().all(|(i, p)| *p == Some(i))
            && names.len() == projection.len();
        let image_columns = names
            .iter()
            .enumerate()
            .map(|(i, n)| image.column(i, n))
            .collect();
        let image_key = image
            .primary_key
            .iter()
            .filter_map(|&i| names.get(i).cloned())
            .collect();
        Ok(TableView {
            image_columns,
            image_key,
            layout,
            projection: (!identity).then_some(projection),
            charsets,
            normalizer: RowNormalizer::new(&schema),
            schema: Arc::new(schema),
            mapping,
            key_change,
            named: true,
            changed,
        })
    }

    fn by_position(
        layout: BinlogImageLayout,
        captured: &TableSchema,
        at: &str,
    ) -> Result<TableView> {
        let image = layout.table_map();
        let fix = "its row events carry no column names (binlog_row_metadata is MINIMAL or NO_LOG), so \
                   rust-mysql-cdc cannot tell which value is which column. Set binlog_row_metadata=FULL on the \
                   server (MariaDB 10.5+, MySQL 8.0.1+) and restart the job without its state (a new snapshot); \
                   see 'Schema changes' in the rust-mysql-cdc documentation";
        if image.types.len() != captured.columns.len() {
            return Err(BridgeError::validation(format!(
                "the binlog table map of {} ({at}) has {} columns but the captured schema has {} ({}): the table \
                 changed, and {fix}",
                captured.id,
                image.types.len(),
                captured.columns.len(),
                captured.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        for (i, column) in captured.columns.iter().enumerate() {
            let (ty, meta) = (image.types[i], image.metadata[i].as_slice());
            if !column.data_type.is_empty() && !binlog_type_fits(column, ty, meta) {
                return Err(BridgeError::validation(format!(
                    "column {} of the binlog table map of {} ({at}) has type {}, but the captured schema has `{}` {} \
                     there: the table changed, and {fix}",
                    i + 1,
                    captured.id,
                    describe_binlog_type(ty, meta),
                    column.name,
                    column.column_type
                )));
            }
        }
        Ok(TableView {
            charsets: layout.charsets().to_vec(),
            layout,
            projection: None,
            normalizer: RowNormalizer::new(captured),
            schema: Arc::new(captured.clone()),
            mapping: None,
            key_change: None,
            named: false,
            changed: false,
            image_columns: Vec::new(),
            image_key: Vec::new(),
        })
    }

    /// One image (in the table map's column order, as [`BinlogImageLayout::decode`] gives it) as
    /// canonical values of the captured schema's columns.
    pub fn values(&self, mut image: Vec<Option<BinlogValue<'_>>>) -> Result<RowValues> {
        match &self.projection {
            None => self
                .normalizer
                .binlog_values(&self.schema, image, &self.charsets),
            Some(projection) => {
                let values = projection
                    .iter()
                    .map(|p| p.and_then(|i| image.get_mut(i).and_then(Option::take)))
                    .collect();
                self.normalizer
                    .binlog_values(&self.schema, values, &self.charsets)
            }
        }
    }

    /// True when the image's columns are the captured schema's, in order.
    pub fn is_positional(&self) -> bool {
        self.projection.is_none()
    }

    /// The table map's columns as JSON: `[{"name":"id","type":"bigint","nullable":false},...]`
    /// (types as the table map gives them: no display widths, VARCHAR/CHAR lengths in bytes).
    pub fn columns_json(&self) -> String {
        let columns = if self.image_columns.is_empty() {
            &self.schema.columns
        } else {
            &self.image_columns
        };
        let items: Vec<String> = columns
            .iter()
            .map(|c| {
                format!(
                    "{{\"name\":{},\"type\":{},\"nullable\":{}}}",
                    json_string(&c.name),
                    json_string(&c.column_type),
                    c.nullable
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    /// A schema-change event of `table` as JSON: the database, table, the DDL statement that
    /// preceded it (when seen), the columns ([`Self::columns_json`]) and the primary key.
    pub fn change_json(&self, table: &TableId, ddl: Option<&str>) -> String {
        let key: Vec<String> = self.image_key.iter().map(|k| json_string(k)).collect();
        format!(
            "{{\"database\":{},\"table\":{},\"ddl\":{},\"columns\":{},\"primary_key\":[{}]}}",
            json_string(&table.database),
            json_string(&table.table),
            ddl.map_or("null".to_string(), json_string),
            self.columns_json(),
            key.join(",")
        )
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A column's type class as the binlog gives it: integers by width, DECIMAL with its scale.
fn binlog_class(ty: ColumnType, meta: &[u8]) -> String {
    use ColumnType::*;
    match ty {
        MYSQL_TYPE_TINY => "int8".into(),
        MYSQL_TYPE_SHORT => "int16".into(),
        MYSQL_TYPE_INT24 => "int24".into(),
        MYSQL_TYPE_LONG => "int32".into(),
        MYSQL_TYPE_LONGLONG => "int64".into(),
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
            format!("decimal,{}", meta.get(1).copied().unwrap_or(0))
        }
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => "var".into(),
        MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB => {
            "blob".into()
        }
        MYSQL_TYPE_STRING => "fixed".into(),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "date".into(),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "datetime".into(),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "timestamp".into(),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "time".into(),
        other => format!("{other:?}"),
    }
}

/// Whether a binlog column of type `ty` can hold values of the captured `column` (same class:
/// integer width, DECIMAL scale, fixed/variable/blob text, temporal kind). Types without a
/// known class pass.
fn binlog_type_fits(column: &ColumnSchema, ty: ColumnType, meta: &[u8]) -> bool {
    use ColumnType::*;
    let expected: Option<Vec<ColumnType>> = match column.data_type.as_str() {
        "tinyint" | "bool" | "boolean" => Some(vec![MYSQL_TYPE_TINY]),
        "smallint" => Some(vec![MYSQL_TYPE_SHORT]),
        "mediumint" => Some(vec![MYSQL_TYPE_INT24]),
        "int" | "integer" => Some(vec![MYSQL_TYPE_LONG]),
        "bigint" => Some(vec![MYSQL_TYPE_LONGLONG]),
        "year" => Some(vec![MYSQL_TYPE_YEAR]),
        "bit" => Some(vec![MYSQL_TYPE_BIT]),
        "float" => Some(vec![MYSQL_TYPE_FLOAT]),
        "double" | "real" | "double precision" => Some(vec![MYSQL_TYPE_DOUBLE]),
        "decimal" | "numeric" | "dec" | "fixed" => {
            return ty == MYSQL_TYPE_NEWDECIMAL
                && binlog_class(ty, meta) == format!("decimal,{}", column.scale.unwrap_or(0));
        }
        "char" | "binary" => Some(vec![MYSQL_TYPE_STRING]),
        "enum" => Some(vec![MYSQL_TYPE_ENUM]),
        "set" => Some(vec![MYSQL_TYPE_SET]),
        "varchar" | "varbinary" => Some(vec![MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VAR_STRING]),
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob"
        | "longblob" => Some(vec![
            MYSQL_TYPE_BLOB,
            MYSQL_TYPE_TINY_BLOB,
            MYSQL_TYPE_MEDIUM_BLOB,
            MYSQL_TYPE_LONG_BLOB,
        ]),
        "json" => Some(vec![MYSQL_TYPE_JSON, MYSQL_TYPE_BLOB]),
        "date" => Some(vec![MYSQL_TYPE_DATE, MYSQL_TYPE_NEWDATE]),
        "datetime" => Some(vec![MYSQL_TYPE_DATETIME, MYSQL_TYPE_DATETIME2]),
        "timestamp" => Some(vec![MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_TIMESTAMP2]),
        "time" => Some(vec![MYSQL_TYPE_TIME, MYSQL_TYPE_TIME2]),
        _ => None,
    };
    expected.is_none_or(|types| types.contains(&ty))
}

fn describe_binlog_type(ty: ColumnType, meta: &[u8]) -> String {
    let name = format!("{ty:?}");
    let name = name
        .strip_prefix("MYSQL_TYPE_")
        .unwrap_or(&name)
        .to_string();
    if meta.is_empty() {
        name
    } else {
        format!("{name} (metadata {meta:?})")
    }
}

/// Checks a chunk query's result columns (the binary protocol's metadata, sent with every result)
/// against the schema the reader normalizes them with: a column whose type changed during the
/// snapshot (integer width or signedness, DECIMAL scale, temporal kind, text against numbers)
/// fails clearly instead of being normalized as its old type (an INT read as a BIGINT's low
/// bits). Text and binary types of different lengths pass: they are read alike.
pub fn check_result_columns(table: &TableSchema, columns: &[mysql_async::Column]) -> Result<()> {
    use mysql_async::consts::ColumnFlags;
    for (column, got) in table.columns.iter().zip(columns) {
        let ty = got.column_type();
        let unsigned = got.flags().contains(ColumnFlags::UNSIGNED_FLAG);
        let class = |ty: ColumnType| -> Option<String> {
            use ColumnType::*;
            Some(match ty {
                MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
                | MYSQL_TYPE_LONGLONG => {
                    format!(
                        "{}{}",
                        binlog_class(ty, &[]),
                        if unsigned { " unsigned" } else { "" }
                    )
                }
                MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => format!("decimal,{}", got.decimals()),
                MYSQL_TYPE_STRING
                | MYSQL_TYPE_VAR_STRING
                | MYSQL_TYPE_VARCHAR
                | MYSQL_TYPE_BLOB
                | MYSQL_TYPE_TINY_BLOB
                | MYSQL_TYPE_MEDIUM_BLOB
                | MYSQL_TYPE_LONG_BLOB
                | MYSQL_TYPE_JSON
                | MYSQL_TYPE_ENUM
                | MYSQL_TYPE_SET => "text".into(),
                MYSQL_TYPE_DATE
                | MYSQL_TYPE_NEWDATE
                | MYSQL_TYPE_DATETIME
                | MYSQL_TYPE_DATETIME2
                | MYSQL_TYPE_TIMESTAMP
                | MYSQL_TYPE_TIMESTAMP2
                | MYSQL_TYPE_TIME
                | MYSQL_TYPE_TIME2
                | MYSQL_TYPE_YEAR
                | MYSQL_TYPE_FLOAT
                | MYSQL_TYPE_DOUBLE
                | MYSQL_TYPE_BIT => binlog_class(ty, &[]),
                _ => return None,
            })
        };
        let expected = match column.data_type.as_str() {
            "tinyint" | "bool" | "boolean" => Some(ColumnType::MYSQL_TYPE_TINY),
            "smallint" => Some(ColumnType::MYSQL_TYPE_SHORT),
            "mediumint" => Some(ColumnType::MYSQL_TYPE_INT24),
            "int" | "integer" => Some(ColumnType::MYSQL_TYPE_LONG),
            "bigint" => Some(ColumnType::MYSQL_TYPE_LONGLONG),
            "year" => Some(ColumnType::MYSQL_TYPE_YEAR),
            "bit" => Some(ColumnType::MYSQL_TYPE_BIT),
            "float" => Some(ColumnType::MYSQL_TYPE_FLOAT),
            "double" | "real" | "double precision" => Some(ColumnType::MYSQL_TYPE_DOUBLE),
            "decimal" | "numeric" | "dec" | "fixed" => Some(ColumnType::MYSQL_TYPE_NEWDECIMAL),
            "char" | "binary" | "varchar" | "varbinary" | "tinytext" | "text" | "mediumtext"
            | "longtext" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "json" | "enum"
            | "set" => Some(ColumnType::MYSQL_TYPE_VAR_STRING),
            "date" => Some(ColumnType::MYSQL_TYPE_DATE),
            "datetime" => Some(ColumnType::MYSQL_TYPE_DATETIME),
            "timestamp" => Some(ColumnType::MYSQL_TYPE_TIMESTAMP),
            "time" => Some(ColumnType::MYSQL_TYPE_TIME),
            _ => None,
        };
        let (Some(expected), Some(got_class)) = (expected, class(ty)) else {
            continue;
        };
        let want = match expected {
            ColumnType::MYSQL_TYPE_NEWDECIMAL => format!("decimal,{}", column.scale.unwrap_or(0)),
            ColumnType::MYSQL_TYPE_VAR_STRING => "text".into(),
            t if class(t).is_some_and(|c| c.starts_with("int")) => {
                format!(
                    "{}{}",
                    binlog_class(t, &[]),
                    if column.unsigned { " unsigned" } else { "" }
                )
            }
            t => binlog_class(t, &[]),
        };
        if got_class != want {
            return Err(BridgeError::validation(format!(
                "column '{}' of {} changed type during the snapshot: the job started with {}, the server now sends {} \
                 ({}). The snapshot reads the table as it was when the job started: restart the job without its \
                 state (a new snapshot) once the change is done; during the binlog phase, with \
                 binlog_row_metadata=FULL, type changes are followed (see 'Schema changes' in the rust-mysql-cdc \
                 documentation)",
                column.name,
                table.id,
                column.column_type,
                describe_binlog_type(ty, &[]),
                got_class
            )));
        }
    }
    Ok(())
}

/// What a DDL statement does to the tables it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdlKind {
    Alter,
    Drop,
    Rename,
    Truncate,
    /// CREATE TABLE (OR REPLACE): a table of that name may have new columns.
    Create,
}

/// The tables a DDL statement may change, recognized conservatively from its first words (no
/// SQL parser): ALTER TABLE, DROP TABLE, RENAME TABLE (both names of each pair), TRUNCATE
/// [TABLE] and CREATE [OR REPLACE] TABLE. Names without a database are in `default_db` (the
/// query event's). None for any other statement (DML, index or view DDL, ...). Comments before
/// and inside the head (`/* ... */`, MariaDB's `/*!...*/` version comments are read as code) are
/// skipped.
pub fn ddl_tables(statement: &str, default_db: &str) -> Option<(DdlKind, Vec<TableId>)> {
    let mut words = Tokens::new(statement);
    let first = words.keyword()?;
    let kind = match first.as_str() {
        "ALTER" => {
            loop {
                match words.keyword()?.as_str() {
                    "ONLINE" | "IGNORE" | "OFFLINE" => continue,
                    "TABLE" => break,
                    _ => return None,
                }
            }
            DdlKind::Alter
        }
        "DROP" => {
            loop {
                match words.keyword()?.as_str() {
                    "TEMPORARY" => continue,
                    "TABLE" | "TABLES" => break,
                    _ => return None,
                }
            }
            DdlKind::Drop
        }
        "RENAME" => {
            match words.keyword()?.as_str() {
                "TABLE" | "TABLES" => {}
                _ => return None,
            }
            DdlKind::Rename
        }
        "TRUNCATE" => DdlKind::Truncate,
        "CREATE" => {
            loop {
                match words.keyword()?.as_str() {
                    "OR" | "REPLACE" | "TEMPORARY" => continue,
                    "TABLE" => break,
                    _ => return None,
                }
            }
            DdlKind::Create
        }
        _ => return None,
    };
    let mut tables = Vec::new();
    if kind == DdlKind::Truncate {
        words.skip_keyword("TABLE");
    }
    words.skip_if_exists();
    loop {
        let name = words.table_name(default_db)?;
        tables.push(name);
        match kind {
            DdlKind::Drop => {
                if !words.skip_symbol(',') {
                    break;
                }
            }
            DdlKind::Rename => {
                if !words.skip_keyword("TO") {
                    break;
                }
                tables.push(words.table_name(default_db)?);
                if !words.skip_symbol(',') {
                    break;
                }
            }
            _ => break,
        }
    }
    Some((kind, tables))
}

/// A minimal tokenizer over the head of a statement: keywords, identifiers (bare or in
/// backquotes), `.` and `,`, with whitespace and comments skipped.
struct Tokens<'a> {
    s: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Self {
        Tokens { s }
    }

    fn skip_space(&mut self) {
        loop {
            let t = self.s.trim_start();
            if let Some(rest) = t.strip_prefix("/*!") {
                // A version comment: its content is code; skip the version digits.
                self.s = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                continue;
            }
            if let Some(rest) = t.strip_prefix("/*") {
                self.s = rest.find("*/").map_or("", |e| &rest[e + 2..]);
                continue;
            }
            if let Some(rest) = t.strip_prefix("*/") {
                self.s = rest;
                continue;
            }
            if t.starts_with("-- ") || t.starts_with('#') {
                self.s = t.find('\n').map_or("", |e| &t[e + 1..]);
                continue;
            }
            self.s = t;
            return;
        }
    }

    fn bare(&mut self) -> Option<&'a str> {
        self.skip_space();
        let end = self
            .s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.s.len());
        if end == 0 {
            return None;
        }
        let (word, rest) = self.s.split_at(end);
        self.s = rest;
        Some(word)
    }

    fn keyword(&mut self) -> Option<String> {
        self.bare().map(|w| w.to_ascii_uppercase())
    }

    fn skip_keyword(&mut self, keyword: &str) -> bool {
        let saved = self.s;
        if self.keyword().as_deref() == Some(keyword) {
            return true;
        }
        self.s = saved;
        false
    }

    fn skip_symbol(&mut self, symbol: char) -> bool {
        self.skip_space();
        match self.s.strip_prefix(symbol) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    /// `IF EXISTS` or `IF NOT EXISTS`.
    fn skip_if_exists(&mut self) {
        let saved = self.s;
        if !(self.skip_keyword("IF")
            && (self.skip_keyword("EXISTS")
                || (self.skip_keyword("NOT") && self.skip_keyword("EXISTS"))))
        {
            self.s = saved;
        }
    }

    fn identifier(&mut self) -> Option<String> {
        self.skip_space();
        if let Some(rest) = self.s.strip_prefix('`') {
            let mut out = String::new();
            let mut chars = rest.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                if c == '`' {
                    if matches!(chars.peek(), Some((_, '`'))) {
                        chars.next();
                        out.push('`');
                        continue;
                    }
                    self.s = &rest[i + 1..];
                    return Some(out);
                }
                out.push(c);
            }
            return None;
        }
        self.bare().map(str::to_string)
    }

    fn table_name(&mut self, default_db: &str) -> Option<TableId> {
        let first = self.identifier()?;
        if self.s.starts_with('.') {
            self.s = &self.s[1..];
            let table = self.identifier()?;
            return Some(TableId::new(first, table));
        }
        Some(TableId::new(default_db, first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[(&str, &str)]) -> Vec<TableId> {
        v.iter().map(|(d, t)| TableId::new(*d, *t)).collect()
    }

    #[test]
    fn recognizes_ddl_of_tables() {
        let r = |s: &str| ddl_tables(s, "db");
        assert_eq!(
            r("ALTER TABLE t ADD COLUMN x INT"),
            Some((DdlKind::Alter, ids(&[("db", "t")])))
        );
        assert_eq!(
            r("  alter online ignore table `o`.`we``ird` drop x"),
            Some((DdlKind::Alter, ids(&[("o", "we`ird")])))
        );
        assert_eq!(
            r("/* gh-ost */ ALTER TABLE IF EXISTS s.t MODIFY a INT AFTER b"),
            Some((DdlKind::Alter, ids(&[("s", "t")])))
        );
        assert_eq!(
            r("DROP TABLE IF EXISTS a, `b`.c /* generated by server */"),
            Some((DdlKind::Drop, ids(&[("db", "a"), ("b", "c")])))
        );
        assert_eq!(
            r("RENAME TABLE t TO t_old, t_new TO t"),
            Some((
                DdlKind::Rename,
                ids(&[("db", "t"), ("db", "t_old"), ("db", "t_new"), ("db", "t")])
            ))
        );
        assert_eq!(
            r("TRUNCATE t"),
            Some((DdlKind::Truncate, ids(&[("db", "t")])))
        );
        assert_eq!(
            r("truncate table x.t"),
            Some((DdlKind::Truncate, ids(&[("x", "t")])))
        );
        assert_eq!(
            r("CREATE OR REPLACE TABLE t (id INT)"),
            Some((DdlKind::Create, ids(&[("db", "t")])))
        );
        assert_eq!(
            r("CREATE TABLE IF NOT EXISTS t (id INT)"),
            Some((DdlKind::Create, ids(&[("db", "t")])))
        );
        assert_eq!(r("CREATE INDEX i ON t (a)"), None);
        assert_eq!(r("DROP VIEW v"), None);
        assert_eq!(r("BEGIN"), None);
        assert_eq!(r("INSERT INTO t VALUES (1)"), None);
        assert_eq!(
            r("/*!40000 ALTER TABLE `t` DISABLE KEYS */"),
            Some((DdlKind::Alter, ids(&[("db", "t")])))
        );
    }
}
