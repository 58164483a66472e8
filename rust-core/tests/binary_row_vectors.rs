//! Checks `BinaryRowEncoder` against the shared test vectors in `testdata/binary-row-vectors.json`,
//! whose bytes `BinaryRowVectorsTest` (java-bridge) checks against Flink's own `BinaryRowWriter`.
//! The value encodings are described in the file's "format" section.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, RecordBatch, StringArray,
    Time32MillisecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rust_core::api::RowKind;
use rust_core::row::BinaryRowEncoder;
use rust_core::types::{FlinkType, RowType};
use serde_json::Value;

struct Case {
    name: String,
    row_type: RowType,
    kinds: Vec<RowKind>,
    /// `values[row][column]`
    values: Vec<Vec<Value>>,
    hex: Vec<String>,
}

fn load() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/binary-row-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let root: Value = serde_json::from_str(&text).unwrap();
    root["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_string();
            let types: Vec<&str> = c["types"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            let names: Vec<String> = (0..types.len()).map(|i| format!("f{i}")).collect();
            let row_type = RowType::parse(&names, &types).unwrap_or_else(|e| panic!("{name}: {e}"));
            let rows = c["rows"].as_array().unwrap();
            let kinds = rows
                .iter()
                .map(|r| kind(r["kind"].as_str().unwrap()))
                .collect();
            let values = rows
                .iter()
                .map(|r| {
                    let v = r["values"].as_array().unwrap().clone();
                    assert_eq!(v.len(), types.len(), "{name}: values of {r}");
                    v
                })
                .collect();
            let hex = rows
                .iter()
                .map(|r| r["hex"].as_str().unwrap_or("").to_string())
                .collect();
            Case {
                name,
                row_type,
                kinds,
                values,
                hex,
            }
        })
        .collect()
}

fn kind(name: &str) -> RowKind {
    match name {
        "INSERT" => RowKind::Insert,
        "UPDATE_BEFORE" => RowKind::UpdateBefore,
        "UPDATE_AFTER" => RowKind::UpdateAfter,
        "DELETE" => RowKind::Delete,
        other => panic!("unknown row kind {other}"),
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => panic!("bad double {s}"),
        },
        _ => panic!("bad double {v}"),
    }
}

fn f32_of(v: &Value) -> f32 {
    match v.as_str().and_then(|s| s.strip_prefix("0x")) {
        Some(bits) => f32::from_bits(u32::from_str_radix(bits, 16).unwrap()),
        None => float(v) as f32,
    }
}

fn f64_of(v: &Value) -> f64 {
    match v.as_str().and_then(|s| s.strip_prefix("0x")) {
        Some(bits) => f64::from_bits(u64::from_str_radix(bits, 16).unwrap()),
        None => float(v),
    }
}

/// `"-123.45"` at scale `scale` as an unscaled integer.
fn unscaled(text: &str, scale: u8) -> i128 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(
        frac.len() <= scale as usize,
        "{text} has more than {scale} fraction digits"
    );
    let padded = format!(
        "{int_part}{frac}{}",
        "0".repeat(scale as usize - frac.len())
    );
    let v: i128 = padded.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    if negative {
        -v
    } else {
        v
    }
}

/// `{"millis": m, "nanoOfMilli": n}` in `unit`, or None when it does not fit that unit exactly.
fn timestamp_in(v: &Value, unit: TimeUnit) -> Option<i64> {
    let millis = v["millis"].as_i64().unwrap();
    let nanos = v["nanoOfMilli"].as_i64().unwrap();
    match unit {
        TimeUnit::Second => (millis % 1000 == 0 && nanos == 0).then_some(millis / 1000),
        TimeUnit::Millisecond => (nanos == 0).then_some(millis),
        TimeUnit::Microsecond => {
            (nanos % 1000 == 0).then(|| millis.checked_mul(1000)?.checked_add(nanos / 1000))?
        }
        TimeUnit::Nanosecond => millis.checked_mul(1_000_000)?.checked_add(nanos),
    }
}

fn timestamp_array(values: &[&Value], unit: TimeUnit, tz: Option<&str>) -> Option<ArrayRef> {
    let v: Vec<Option<i64>> = values
        .iter()
        .map(|v| {
            if v.is_null() {
                Some(None)
            } else {
                timestamp_in(v, unit).map(Some)
            }
        })
        .collect::<Option<_>>()?;
    let tz = tz.map(Arc::<str>::from);
    Some(match unit {
        TimeUnit::Second => Arc::new(TimestampSecondArray::from(v).with_timezone_opt(tz)),
        TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(v).with_timezone_opt(tz)),
        TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(v).with_timezone_opt(tz)),
        TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(v).with_timezone_opt(tz)),
    })
}

/// The column as a connector would produce it: Arrow type `ty.arrow_type()`, or for timestamps
/// `unit` when given.
fn array(ty: FlinkType, values: &[&Value], ts_unit: Option<TimeUnit>) -> Option<ArrayRef> {
    fn col<T>(values: &[&Value], f: impl Fn(&Value) -> T) -> Vec<Option<T>> {
        values
            .iter()
            .map(|v| if v.is_null() { None } else { Some(f(v)) })
            .collect()
    }
    let int = |v: &Value| v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"));
    Some(match ty {
        FlinkType::Boolean => Arc::new(BooleanArray::from(col(values, |v| v.as_bool().unwrap()))),
        FlinkType::TinyInt => Arc::new(Int8Array::from(col(values, |v| {
            i8::try_from(int(v)).unwrap()
        }))),
        FlinkType::SmallInt => Arc::new(Int16Array::from(col(values, |v| {
            i16::try_from(int(v)).unwrap()
        }))),
        FlinkType::Int => Arc::new(Int32Array::from(col(values, |v| {
            i32::try_from(int(v)).unwrap()
        }))),
        FlinkType::BigInt => Arc::new(Int64Array::from(col(values, int))),
        FlinkType::Float => Arc::new(Float32Array::from(col(values, f32_of))),
        FlinkType::Double => Arc::new(Float64Array::from(col(values, f64_of))),
        FlinkType::Decimal { precision, scale } => Arc::new(
            Decimal128Array::from(col(values, |v| unscaled(v.as_str().unwrap(), scale)))
                .with_precision_and_scale(precision, scale as i8)
                .unwrap(),
        ),
        FlinkType::Char { .. } | FlinkType::VarChar { .. } => {
            Arc::new(StringArray::from(col(values, |v| {
                v.as_str().unwrap().to_string()
            })))
        }
        FlinkType::Binary { .. } | FlinkType::VarBinary { .. } => {
            let bytes = col(values, |v| hex::decode(v.as_str().unwrap()).unwrap());
            Arc::new(BinaryArray::from_iter(bytes))
        }
        FlinkType::Date => Arc::new(Date32Array::from(col(values, |v| {
            i32::try_from(int(v)).unwrap()
        }))),
        FlinkType::Time { .. } => Arc::new(Time32MillisecondArray::from(col(values, |v| {
            i32::try_from(int(v)).unwrap()
        }))),
        FlinkType::Timestamp { .. } | FlinkType::TimestampLtz { .. } => {
            let DataType::Timestamp(native, tz) = ty.arrow_type() else {
                unreachable!()
            };
            return timestamp_array(values, ts_unit.unwrap_or(native), tz.as_deref());
        }
        FlinkType::Array(_) => {
            // A JSON array of strings and nulls, as `ListBuilder` (what connectors use) builds it.
            let mut lists = ListBuilder::new(StringBuilder::new());
            for v in values {
                match v.as_array() {
                    None if v.is_null() => lists.append_null(),
                    None => panic!("not an array: {v}"),
                    Some(elements) => {
                        for e in elements {
                            lists.values().append_option(e.as_str());
                        }
                        lists.append(true);
                    }
                }
            }
            Arc::new(lists.finish())
        }
    })
}

/// Builds the case's batch; `ts_unit` replaces the unit of every timestamp column whose values
/// all fit it (the others keep their native unit).
fn batch(case: &Case, ts_unit: Option<TimeUnit>) -> RecordBatch {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (i, column) in case.row_type.columns.iter().enumerate() {
        let values: Vec<&Value> = case.values.iter().map(|row| &row[i]).collect();
        let a = array(column.ty, &values, ts_unit)
            .or_else(|| array(column.ty, &values, None))
            .unwrap_or_else(|| panic!("{}: column {i} does not fit its Arrow type", case.name));
        fields.push(Field::new(
            &column.name,
            a.data_type().clone(),
            column.nullable,
        ));
        arrays.push(a);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

/// Encodes `batch` (appended after `prefix` junk bytes) and splits the output into rows.
fn encode_rows(case: &Case, batch: &RecordBatch, kinds: &[RowKind], prefix: usize) -> Vec<String> {
    let mut encoder = BinaryRowEncoder::new(&case.row_type);
    let mut out = vec![0xA5; prefix];
    let mut offsets = Vec::new();
    encoder
        .encode(batch, Some(kinds), &mut out, &mut offsets)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(
        offsets.len(),
        batch.num_rows(),
        "{}: one offset per row",
        case.name
    );
    assert_eq!(
        offsets.first().copied(),
        Some(prefix as i32),
        "{}",
        case.name
    );
    offsets.push(out.len() as i32);
    offsets
        .windows(2)
        .map(|w| hex::encode(&out[w[0] as usize..w[1] as usize]))
        .collect()
}

fn check(case: &Case, what: &str, actual: &[String]) -> usize {
    let mut failures = 0;
    for (r, (got, want)) in actual.iter().zip(&case.hex).enumerate() {
        if got != want {
            failures += 1;
            eprintln!(
                "{} row {r} ({what}):\n  expected {want}\n  actual   {got}",
                case.name
            );
        }
    }
    failures
}

#[test]
fn encoder_matches_flink_binary_row_writer() {
    let cases = load();
    assert!(cases.len() >= 8, "vectors file has {} cases", cases.len());
    let mut failures = 0;
    let mut rows = 0;
    for case in &cases {
        assert!(
            case.hex.iter().all(|h| !h.is_empty()),
            "{}: missing hex; run BinaryRowVectorGenerator",
            case.name
        );
        rows += case.hex.len();

        // The whole case as one batch, in the connector's native Arrow types.
        let whole = batch(case, None);
        failures += check(
            case,
            "one batch",
            &encode_rows(case, &whole, &case.kinds, 0),
        );

        // Appended after other bytes: offsets are absolute.
        failures += check(
            case,
            "appended",
            &encode_rows(case, &whole, &case.kinds, 13),
        );

        // Row by row through sliced arrays and one encoder, as consecutive batches.
        let mut encoder = BinaryRowEncoder::new(&case.row_type);
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for r in 0..whole.num_rows() {
            encoder
                .encode(
                    &whole.slice(r, 1),
                    Some(&case.kinds[r..r + 1]),
                    &mut out,
                    &mut offsets,
                )
                .unwrap();
        }
        offsets.push(out.len() as i32);
        let sliced: Vec<String> = offsets
            .windows(2)
            .map(|w| hex::encode(&out[w[0] as usize..w[1] as usize]))
            .collect();
        failures += check(case, "sliced", &sliced);

        // Timestamps in other Arrow units give the same bytes.
        for unit in [
            TimeUnit::Nanosecond,
            TimeUnit::Microsecond,
            TimeUnit::Millisecond,
            TimeUnit::Second,
        ] {
            let b = batch(case, Some(unit));
            failures += check(
                case,
                &format!("timestamps as {unit:?}"),
                &encode_rows(case, &b, &case.kinds, 0),
            );
        }
    }
    assert_eq!(
        failures, 0,
        "{failures} rows differ from Flink's bytes (see stderr)"
    );
    assert!(rows >= 40, "only {rows} rows in the vectors");
}

#[test]
fn all_insert_when_no_row_kinds() {
    let cases = load();
    let case = cases
        .iter()
        .find(|c| c.kinds.iter().all(|k| *k == RowKind::Insert))
        .unwrap();
    let b = batch(case, None);
    let mut encoder = BinaryRowEncoder::new(&case.row_type);
    let (mut out, mut offsets) = (Vec::new(), Vec::new());
    encoder.encode(&b, None, &mut out, &mut offsets).unwrap();
    offsets.push(out.len() as i32);
    let rows: Vec<String> = offsets
        .windows(2)
        .map(|w| hex::encode(&out[w[0] as usize..w[1] as usize]))
        .collect();
    assert_eq!(rows, case.hex);
}
