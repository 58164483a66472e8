//! TEMPORARY STUB (replaced by the cdc-types branch): canonical values and Arrow batches.
use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
pub use mysql_async::Value;
use mysql_async::binlog::events::TableMapEvent;
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;

use rust_core::api::{ChangeBatch, RowKind};
use rust_core::error::BridgeError;
use rust_core::types::{FlinkType, RowType};
use rust_core::Result;

use crate::schema::TableSchema;

pub type RowValues = Vec<Value>;

#[derive(Clone, Debug, PartialEq)]
pub struct ServerTimeZone;
impl ServerTimeZone {
    pub fn parse(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("UTC") { Ok(ServerTimeZone) } else { Err(BridgeError::validation("only UTC in stub")) }
    }
    pub fn utc() -> Self { ServerTimeZone }
}

pub fn snapshot_row(_table: &TableSchema, row: mysql_async::Row) -> Result<RowValues> {
    Ok(row.unwrap().into_iter().map(norm).collect())
}

fn norm(v: Value) -> Value {
    match v {
        Value::UInt(u) if u <= i64::MAX as u64 => Value::Int(u as i64),
        other => other,
    }
}

pub fn binlog_row(_table: &TableSchema, row: BinlogRow, _tme: &TableMapEvent<'_>) -> Result<RowValues> {
    row.unwrap()
        .into_iter()
        .map(|v| match v {
            BinlogValue::Value(v) => Ok(norm(v)),
            _ => Err(BridgeError::other("json unsupported in stub")),
        })
        .collect()
}

pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::NULL, Value::NULL) => Ordering::Equal,
        (Value::NULL, _) => Ordering::Less,
        (_, Value::NULL) => Ordering::Greater,
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

pub struct TableMapping {
    sources: Vec<Option<usize>>,
    database: String,
    table: String,
}

enum Slot {
    Physical(Box<dyn ArrayBuilder>, FlinkType),
    Meta(String, Box<dyn ArrayBuilder>),
}

pub struct BatchBuilder {
    row_type: RowType,
    schema: SchemaRef,
    slots: Vec<Slot>,
    kinds: Vec<RowKind>,
}

impl BatchBuilder {
    pub fn new(row_type: &RowType, _tz: &ServerTimeZone) -> Result<Self> {
        let mut b = BatchBuilder { row_type: row_type.clone(), schema: row_type.arrow_schema(), slots: vec![], kinds: vec![] };
        b.slots = b.fresh()?;
        Ok(b)
    }

    fn fresh(&self) -> Result<Vec<Slot>> {
        self.row_type
            .columns
            .iter()
            .map(|c| {
                let builder: Box<dyn ArrayBuilder> = match (c.metadata_key(), c.ty) {
                    (Some(_), FlinkType::TimestampLtz { .. }) => {
                        Box::new(arrow_array::builder::TimestampMillisecondBuilder::new())
                    }
                    (Some(_), _) => Box::new(StringBuilder::new()),
                    (None, FlinkType::Int) => Box::new(Int32Builder::new()),
                    (None, FlinkType::BigInt) => Box::new(Int64Builder::new()),
                    (None, FlinkType::VarChar { .. }) => Box::new(StringBuilder::new()),
                    (None, t) => return Err(BridgeError::validation(format!("stub: unsupported {t}"))),
                };
                Ok(match c.metadata_key() {
                    Some(k) => Slot::Meta(k.to_string(), builder),
                    None => Slot::Physical(builder, c.ty),
                })
            })
            .collect()
    }

    pub fn mapping(&self, table: &TableSchema) -> Result<TableMapping> {
        let sources = self
            .row_type
            .columns
            .iter()
            .filter(|c| c.metadata_key().is_none())
            .map(|c| {
                table.column_index(&c.name).map(Some).ok_or_else(|| {
                    BridgeError::validation(format!("table {} has no column '{}'", table.id, c.name))
                })
            })
            .collect::<Result<_>>()?;
        Ok(TableMapping { sources, database: table.id.database.clone(), table: table.id.table.clone() })
    }

    pub fn append(&mut self, mapping: &TableMapping, row: &[Value], kind: RowKind, op_ts_millis: i64) -> Result<()> {
        let mut phys = 0;
        for slot in &mut self.slots {
            match slot {
                Slot::Physical(b, ty) => {
                    let v = mapping.sources[phys].map(|i| &row[i]).unwrap_or(&Value::NULL);
                    phys += 1;
                    match ty {
                        FlinkType::Int => {
                            let b = b.as_any_mut().downcast_mut::<Int32Builder>().unwrap();
                            match v { Value::Int(i) => b.append_value(*i as i32), _ => b.append_null() }
                        }
                        FlinkType::BigInt => {
                            let b = b.as_any_mut().downcast_mut::<Int64Builder>().unwrap();
                            match v { Value::Int(i) => b.append_value(*i), _ => b.append_null() }
                        }
                        _ => {
                            let b = b.as_any_mut().downcast_mut::<StringBuilder>().unwrap();
                            match v { Value::Bytes(s) => b.append_value(String::from_utf8_lossy(s)), _ => b.append_null() }
                        }
                    }
                }
                Slot::Meta(key, b) => match key.as_str() {
                    "op_ts" => b.as_any_mut().downcast_mut::<arrow_array::builder::TimestampMillisecondBuilder>().unwrap().append_value(op_ts_millis),
                    k => {
                        let s = match k {
                            "database_name" => mapping.database.clone(),
                            "table_name" => mapping.table.clone(),
                            _ => match kind { RowKind::Insert => "+I", RowKind::UpdateBefore => "-U", RowKind::UpdateAfter => "+U", RowKind::Delete => "-D" }.to_string(),
                        };
                        b.as_any_mut().downcast_mut::<StringBuilder>().unwrap().append_value(s)
                    }
                },
            }
        }
        self.kinds.push(kind);
        Ok(())
    }

    pub fn len(&self) -> usize { self.kinds.len() }
    pub fn is_empty(&self) -> bool { self.kinds.is_empty() }

    pub fn finish(&mut self) -> Result<ChangeBatch> {
        let arrays: Vec<ArrayRef> = self.slots.iter_mut().map(|s| match s { Slot::Physical(b, _) | Slot::Meta(_, b) => b.finish() }).collect();
        let arrays: Vec<ArrayRef> = arrays.into_iter().zip(self.schema.fields()).map(|(a, f)| {
            if a.data_type() != f.data_type() { arrow_cast(a, f.data_type()) } else { a }
        }).collect();
        let rows = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| BridgeError::other(e))?;
        Ok(ChangeBatch { rows, row_kinds: Some(std::mem::take(&mut self.kinds)) })
    }
}

fn arrow_cast(a: ArrayRef, dt: &arrow_schema::DataType) -> ArrayRef {
    // timezone annotation on op_ts
    let data = a.to_data().into_builder().data_type(dt.clone()).build().unwrap();
    Arc::new(arrow_array::make_array(data))
}
