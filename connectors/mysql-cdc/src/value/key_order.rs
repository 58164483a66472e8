//! Key ordering: canonical values compared as chunk ranges and primary-key changes need.

use std::cmp::Ordering;

use mysql_async::Value;

use super::decimal::compare_decimal_text;
use super::kind::{kind, Kind};
use crate::schema::{ColumnSchema, TableSchema};

/// Orders key values in canonical form, as chunk ranges need: numbers numerically (signed and
/// unsigned mixed exactly, floats by value), bytes and strings bytewise (NOT by the column's
/// collation: boundaries of string keys must come from the server), dates and times
/// chronologically. NULL sorts first. DECIMAL values are text and compare bytewise here; use
/// [`compare_column_values`] for them.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (UInt(x), UInt(y)) => x.cmp(y),
        (Int(x), UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (UInt(x), Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        (Date(..), Date(..)) => date_key(a).cmp(&date_key(b)),
        (Time(..), Time(..)) => time_micros(a).cmp(&time_micros(b)),
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => rank(a).cmp(&rank(b)),
        },
    }
}

/// [`compare_values`] that also orders DECIMAL values (canonical text) numerically.
pub fn compare_column_values(column: &ColumnSchema, a: &Value, b: &Value) -> Ordering {
    match (kind(column), a, b) {
        (Kind::Decimal { .. }, Value::Bytes(x), Value::Bytes(y)) => compare_decimal_text(x, y),
        _ => compare_values(a, b),
    }
}

/// True when two images of one row (an update's before and after) have different primary-key
/// values: the update moved the row to another key. Values compare as [`compare_column_values`]
/// orders them, exactly (strings bytewise, not by collation), as Debezium compares an update's old
/// and new key structs (`Objects.equals`). A table without a primary key has no key to change
/// (Debezium: no key, always an update), so this is false for it.
pub fn primary_key_differs(table: &TableSchema, before: &[Value], after: &[Value]) -> bool {
    table.primary_key.iter().any(
        |&i| match (table.columns.get(i), before.get(i), after.get(i)) {
            (Some(column), Some(b), Some(a)) => compare_column_values(column, b, a).is_ne(),
            // Images shorter than the schema do not occur (full row images); nothing to compare.
            _ => false,
        },
    )
}

fn date_key(v: &Value) -> (u16, u8, u8, u8, u8, u8, u32) {
    match *v {
        Value::Date(y, m, d, h, mi, s, us) => (y, m, d, h, mi, s, us),
        _ => (0, 0, 0, 0, 0, 0, 0),
    }
}

fn time_micros(v: &Value) -> i64 {
    match *v {
        Value::Time(neg, d, h, m, s, us) => {
            let t = ((i64::from(d) * 24 + i64::from(h)) * 3600 + i64::from(m) * 60 + i64::from(s))
                * 1_000_000
                + i64::from(us);
            if neg {
                -t
            } else {
                t
            }
        }
        _ => 0,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::Int(x) => Some(x as f64),
        Value::UInt(x) => Some(x as f64),
        Value::Float(x) => Some(f64::from(x)),
        Value::Double(x) => Some(x),
        _ => None,
    }
}

/// Order of values of different kinds (only meaningful for NULL first; a key column has one kind).
fn rank(v: &Value) -> u8 {
    match v {
        Value::NULL => 0,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Double(_) => 1,
        Value::Bytes(_) => 2,
        Value::Date(..) => 3,
        Value::Time(..) => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TableId;
    use Value::*;

    #[test]
    fn compare_values_orders_numbers_bytes_and_time() {
        let ordered = [
            NULL,
            Int(i64::MIN),
            Int(-1),
            UInt(0),
            Int(1),
            UInt(i64::MAX as u64),
            UInt(i64::MAX as u64 + 1),
            UInt(u64::MAX),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_values(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
        assert_eq!(compare_values(&Int(5), &UInt(5)), Ordering::Equal);
        assert_eq!(compare_values(&UInt(u64::MAX), &Int(-1)), Ordering::Greater);
        assert_eq!(compare_values(&Double(-0.5), &Int(0)), Ordering::Less);
        assert_eq!(compare_values(&Float(2.5), &Double(2.0)), Ordering::Greater);
        // Bytes bytewise: uppercase before lowercase, a prefix first, 0xff last.
        let b = |s: &[u8]| Bytes(s.to_vec());
        assert_eq!(compare_values(&b(b"B"), &b(b"a")), Ordering::Less);
        assert_eq!(compare_values(&b(b"ab"), &b(b"abc")), Ordering::Less);
        assert_eq!(compare_values(&b(&[0xff]), &b(b"z")), Ordering::Greater);
        // Dates and times chronologically, pre-1970 included.
        assert_eq!(
            compare_values(
                &Date(1969, 12, 31, 23, 59, 59, 999_999),
                &Date(1970, 1, 1, 0, 0, 0, 0)
            ),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &Date(2024, 2, 1, 0, 0, 0, 0),
                &Date(2024, 1, 31, 23, 0, 0, 0)
            ),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Time(true, 1, 0, 0, 0, 0), &Time(true, 0, 23, 0, 0, 0)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&Time(true, 0, 0, 0, 1, 0), &Time(false, 0, 0, 0, 0, 0)),
            Ordering::Less
        );
        assert_eq!(
            compare_values(
                &Time(false, 1, 0, 0, 0, 0),
                &Time(false, 0, 23, 59, 59, 999_999)
            ),
            Ordering::Greater
        );
    }

    #[test]
    fn decimal_keys_compare_numerically() {
        let column = ColumnSchema {
            name: "d".into(),
            data_type: "decimal".into(),
            column_type: "decimal(10,2)".into(),
            unsigned: false,
            nullable: false,
            precision: Some(10),
            scale: Some(2),
            char_max_length: None,
        };
        let ordered = [
            "-100.00", "-9.50", "-0.01", "0.00", "0.50", "9.99", "10.00", "100.5",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                let (va, vb) = (Bytes(a.as_bytes().to_vec()), Bytes(b.as_bytes().to_vec()));
                assert_eq!(
                    compare_column_values(&column, &va, &vb),
                    i.cmp(&j),
                    "{a} vs {b}"
                );
            }
        }
        assert_eq!(compare_decimal_text(b"-0.00", b"0"), Ordering::Equal);
    }

    /// An update changes the key when any primary-key column differs, compared as the key values
    /// are (DECIMAL numerically, strings exactly); other columns and keyless tables never do.
    #[test]
    fn primary_key_differs_compares_every_key_column_and_only_those() {
        let column = |name: &str, data_type: &str| ColumnSchema {
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            unsigned: false,
            nullable: false,
            precision: Some(10),
            scale: Some(2),
            char_max_length: None,
        };
        let columns = vec![
            column("region", "varchar"),
            column("id", "decimal"),
            column("body", "varchar"),
        ];
        let keyed = TableSchema {
            id: TableId::new("d", "t"),
            columns: columns.clone(),
            primary_key: vec![1, 0],
        };
        let keyless = TableSchema {
            id: TableId::new("d", "t"),
            columns,
            primary_key: Vec::new(),
        };
        let row = |region: &str, id: &str, body: &str| -> Vec<Value> {
            [region, id, body]
                .iter()
                .map(|v| Bytes(v.as_bytes().to_vec()))
                .collect()
        };
        let before = row("eu", "7.50", "x");
        assert!(
            !primary_key_differs(&keyed, &before, &row("eu", "7.50", "y")),
            "another body"
        );
        assert!(
            !primary_key_differs(&keyed, &before, &row("eu", "7.5", "x")),
            "the same decimal"
        );
        assert!(
            primary_key_differs(&keyed, &before, &row("eu", "8.00", "x")),
            "one key column"
        );
        assert!(
            primary_key_differs(&keyed, &before, &row("us", "7.50", "x")),
            "the other key column"
        );
        // As Debezium compares key structs: 'EU' is another key even under a case-insensitive collation.
        assert!(
            primary_key_differs(&keyed, &before, &row("EU", "7.50", "x")),
            "case"
        );
        assert!(
            !primary_key_differs(&keyless, &before, &row("us", "8.00", "y")),
            "no key to change"
        );
    }
}
