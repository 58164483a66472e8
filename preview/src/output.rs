//! The three outputs: a table (as Flink's SQL client shows a changelog: an `op` column, then the
//! row), JSON lines (`{"op":"+I","row":{...}}`), or an Arrow IPC file (the batches as the
//! connector produced them, with a leading `op` column).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::{
    date32_to_datetime, time32ms_to_time, timestamp_ms_to_datetime, timestamp_ns_to_datetime,
    timestamp_us_to_datetime,
};
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rust_core::api::RowKind;
use rust_core::{BridgeError, Result};

/// The short form Flink prints for a row kind.
pub fn kind_label(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Insert => "+I",
        RowKind::UpdateBefore => "-U",
        RowKind::UpdateAfter => "+U",
        RowKind::Delete => "-D",
    }
}

/// One value, typed enough for JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// The text of the column's own type (an f32 shows as an f32).
    Float(String),
    Text(String),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Null => "<NULL>".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(text) => text.clone(),
            Value::Text(t) => t.clone(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            // From the text, so an f32 keeps its short form; NaN and infinities have no JSON
            // number: their text instead.
            Value::Float(text) => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| text.clone().into(), Into::into),
            Value::Text(t) => t.clone().into(),
        }
    }

    fn right_aligned(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }
}

/// Row `i` of a column of one of the Arrow types a Flink type maps to
/// ([`rust_core::types::FlinkType::arrow_type`]). Decimals, dates, times and timestamps are text
/// in Flink's SQL form; TIMESTAMP_LTZ values are shown in UTC with a `Z`; binary values in hex.
fn value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Int8 => Value::Int(array.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Value::Int(array.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Value::Int(array.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => {
            let f = array.as_primitive::<Float32Type>().value(i);
            Value::Float(float_text(f, f.abs().into()))
        }
        DataType::Float64 => {
            let f = array.as_primitive::<Float64Type>().value(i);
            Value::Float(float_text(f, f.abs()))
        }
        DataType::Decimal128(_, _) => {
            Value::Text(array.as_primitive::<Decimal128Type>().value_as_string(i))
        }
        DataType::Utf8 => Value::Text(array.as_string::<i32>().value(i).to_string()),
        DataType::Binary => Value::Text(hex(array.as_binary::<i32>().value(i))),
        DataType::Date32 => match date32_to_datetime(array.as_primitive::<Date32Type>().value(i)) {
            Some(d) => Value::Text(d.date().to_string()),
            None => Value::Text("<out of range>".into()),
        },
        DataType::Time32(TimeUnit::Millisecond) => {
            match time32ms_to_time(array.as_primitive::<Time32MillisecondType>().value(i)) {
                Some(t) => Value::Text(t.to_string()),
                None => Value::Text("<out of range>".into()),
            }
        }
        DataType::Timestamp(TimeUnit::Millisecond, tz) => ts(
            timestamp_ms_to_datetime(array.as_primitive::<TimestampMillisecondType>().value(i)),
            tz.is_some(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => ts(
            timestamp_us_to_datetime(array.as_primitive::<TimestampMicrosecondType>().value(i)),
            tz.is_some(),
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => ts(
            timestamp_ns_to_datetime(array.as_primitive::<TimestampNanosecondType>().value(i)),
            tz.is_some(),
        ),
        // ARRAY<STRING>: Flink's `Row#toString` form, `[a, b]` (a NULL element shows `null`).
        DataType::List(_) => {
            let elements = array.as_list::<i32>().value(i);
            let texts: Vec<String> = (0..elements.len())
                .map(|j| match value(elements.as_ref(), j) {
                    Value::Null => "null".to_string(),
                    v => v.text(),
                })
                .collect();
            Value::Text(format!("[{}]", texts.join(", ")))
        }
        other => Value::Text(format!("<{other}>")),
    }
}

/// Plain notation for moderate magnitudes, else Java's scientific form (`6.54E307`).
fn float_text<F: std::fmt::Display + std::fmt::UpperExp>(f: F, abs: f64) -> String {
    if abs != 0.0 && abs.is_finite() && !(1e-4..1e16).contains(&abs) {
        format!("{f:E}")
    } else {
        f.to_string()
    }
}

/// A timestamp as text; TIMESTAMP_LTZ (`tz`) values are UTC, marked `Z`.
fn ts<D: std::fmt::Display>(dt: Option<D>, tz: bool) -> Value {
    match dt {
        Some(dt) if tz => Value::Text(format!("{dt}Z")),
        Some(dt) => Value::Text(dt.to_string()),
        None => Value::Text("<out of range>".into()),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2 + 3);
    s.push_str("x'");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('\'');
    s
}

/// Where the rows go.
pub enum Sink {
    /// Rows kept until the end, then printed with aligned columns.
    Table {
        names: Vec<String>,
        rows: Vec<(RowKind, Vec<Value>)>,
    },
    /// One JSON object per row, printed as it comes.
    Json {
        names: Vec<String>,
        out: BufWriter<io::Stdout>,
    },
    /// Batches written as they come.
    Arrow {
        writer: FileWriter<BufWriter<File>>,
        schema: SchemaRef,
    },
}

/// The name of the row-kind column in tables and Arrow files.
pub const OP_COLUMN: &str = "op";

impl Sink {
    pub fn table(names: Vec<String>) -> Sink {
        Sink::Table {
            names,
            rows: Vec::new(),
        }
    }

    pub fn json(names: Vec<String>) -> Sink {
        Sink::Json {
            names,
            out: BufWriter::new(io::stdout()),
        }
    }

    /// An Arrow IPC file of `op` (Utf8) and the source's columns, under their display names.
    pub fn arrow(path: &Path, source_schema: &Schema, names: &[String]) -> Result<Sink> {
        if names.iter().any(|n| n == OP_COLUMN) {
            return Err(BridgeError::validation(format!(
                "--arrow-ipc: the file's first column is '{OP_COLUMN}' (the row kind), and a column of --schema has that name"
            )));
        }
        let mut fields = vec![Field::new(OP_COLUMN, DataType::Utf8, false)];
        for (field, name) in source_schema.fields().iter().zip(names) {
            fields.push(field.as_ref().clone().with_name(name));
        }
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| {
            BridgeError::other(format!(
                "--arrow-ipc: cannot create {}: {e}",
                path.display()
            ))
        })?;
        let writer = FileWriter::try_new(BufWriter::new(file), &schema)?;
        Ok(Sink::Arrow { writer, schema })
    }

    /// Takes a batch of rows (already cut to the limit) and their kinds.
    pub fn write(&mut self, rows: &RecordBatch, kinds: &[RowKind]) -> Result<()> {
        match self {
            Sink::Table { rows: kept, .. } => {
                for (r, kind) in kinds.iter().enumerate() {
                    kept.push((
                        *kind,
                        rows.columns()
                            .iter()
                            .map(|c| value(c.as_ref(), r))
                            .collect(),
                    ));
                }
            }
            Sink::Json { names, out } => {
                for (r, kind) in kinds.iter().enumerate() {
                    let mut row = serde_json::Map::new();
                    for (name, column) in names.iter().zip(rows.columns()) {
                        row.insert(name.clone(), value(column.as_ref(), r).json());
                    }
                    let line = serde_json::json!({ "op": kind_label(*kind), "row": row });
                    writeln!(out, "{line}").map_err(stdout_error)?;
                }
                out.flush().map_err(stdout_error)?;
            }
            Sink::Arrow { writer, schema } => {
                let ops: ArrayRef = Arc::new(StringArray::from_iter_values(
                    kinds.iter().map(|k| kind_label(*k)),
                ));
                let columns: Vec<ArrayRef> = std::iter::once(ops)
                    .chain(rows.columns().iter().cloned())
                    .collect();
                writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
            }
        }
        Ok(())
    }

    /// Prints the table or closes the file.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Table { names, rows } => {
                let mut out = BufWriter::new(io::stdout());
                out.write_all(render_table(&names, &rows).as_bytes())
                    .map_err(stdout_error)?;
                out.flush().map_err(stdout_error)
            }
            Sink::Json { mut out, .. } => out.flush().map_err(stdout_error),
            Sink::Arrow { mut writer, .. } => {
                writer.finish()?;
                writer
                    .into_inner()?
                    .flush()
                    .map_err(|e| BridgeError::other(format!("--arrow-ipc: {e}")))
            }
        }
    }
}

fn stdout_error(e: io::Error) -> BridgeError {
    BridgeError::other(format!("writing to stdout: {e}"))
}

/// Flink SQL client's tableau form: `| op | id | name |` between `+----+` rules.
fn render_table(names: &[String], rows: &[(RowKind, Vec<Value>)]) -> String {
    let header: Vec<String> = std::iter::once(OP_COLUMN.to_string())
        .chain(names.iter().cloned())
        .collect();
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|(kind, values)| {
            std::iter::once((kind_label(*kind).to_string(), false))
                .chain(
                    values
                        .iter()
                        .map(|v| (v.text().replace('\n', "\\n"), v.right_aligned())),
                )
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, (text, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(text.chars().count());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let line = |row: Vec<(String, bool)>| -> String {
        let mut s = String::new();
        for (w, (text, right)) in widths.iter().zip(row) {
            let pad = " ".repeat(w - text.chars().count());
            if right {
                s.push_str(&format!("| {pad}{text} "));
            } else {
                s.push_str(&format!("| {text}{pad} "));
            }
        }
        s + "|\n"
    };
    let mut out = rule.clone();
    out.push_str(&line(header.into_iter().map(|h| (h, false)).collect()));
    out.push_str(&rule);
    for row in cells {
        out.push_str(&line(row));
    }
    out.push_str(&rule);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Decimal128Array, Int64Array, TimestampMillisecondArray};

    #[test]
    fn values_print_in_flink_sql_form() {
        let ts: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None])
                .with_timezone("UTC"),
        );
        assert_eq!(
            value(ts.as_ref(), 0),
            Value::Text("2023-11-14 22:13:20.123Z".into())
        );
        assert_eq!(value(ts.as_ref(), 1), Value::Null);
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![-12345])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(value(dec.as_ref(), 0), Value::Text("-123.45".into()));
        assert_eq!(hex(&[0, 171]), "x'00ab'");
        assert_eq!(float_text(6.5e307f64, 6.5e307), "6.5E307");
        assert_eq!(float_text(0.1f32, 0.1), "0.1");
        let mut lists =
            arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
        lists.values().append_value("a");
        lists.values().append_null();
        lists.append(true);
        lists.append(true);
        let lists: ArrayRef = Arc::new(lists.finish());
        assert_eq!(value(lists.as_ref(), 0), Value::Text("[a, null]".into()));
        assert_eq!(value(lists.as_ref(), 1), Value::Text("[]".into()));
    }

    #[test]
    fn the_table_aligns_columns() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None]));
        let rows = vec![
            (RowKind::Insert, vec![value(ids.as_ref(), 0)]),
            (RowKind::Delete, vec![value(ids.as_ref(), 1)]),
        ];
        let table = render_table(&["id".to_string()], &rows);
        assert_eq!(
            table,
            "+----+--------+\n| op | id     |\n+----+--------+\n| +I |      7 |\n| -D | <NULL> |\n+----+--------+\n"
        );
    }
}
