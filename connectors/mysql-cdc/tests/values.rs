//! Values against a real MariaDB: snapshot (binary protocol) and binlog rows normalize to the
//! same canonical values, and BatchBuilder turns them into the Arrow values Flink expects.

mod support;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    Time32MillisecondType, TimestampMicrosecondType, TimestampMillisecondType,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use mysql_async::prelude::Queryable;

use connector_mysql_cdc::schema::{load_table, quote_ident, TableId, TableSchema};
use connector_mysql_cdc::value::{snapshot_row, BatchBuilder, RowNormalizer, RowValues, ServerTimeZone, Value};
use rust_core::api::RowKind;
use rust_core::types::RowType;
use support::{binlog_position, cdc_conn, read_changes, test_db, Change};

const ALL_TYPES_DDL: &str = "CREATE TABLE all_types (
    id INT NOT NULL PRIMARY KEY,
    c_tinyint TINYINT, c_tinyint_u TINYINT UNSIGNED, c_bool TINYINT(1), c_boolean BOOLEAN,
    c_smallint SMALLINT, c_smallint_u SMALLINT UNSIGNED,
    c_mediumint MEDIUMINT, c_mediumint_u MEDIUMINT UNSIGNED,
    c_int INT, c_int_u INT UNSIGNED, c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
    c_float FLOAT, c_double DOUBLE,
    c_dec DECIMAL(10,2), c_dec38 DECIMAL(38,10), c_dec65 DECIMAL(65,30), c_dec0 DECIMAL(5,0),
    c_char CHAR(5), c_varchar VARCHAR(20), c_text TEXT, c_tinytext TINYTEXT,
    c_mediumtext MEDIUMTEXT, c_longtext LONGTEXT, c_latin1 VARCHAR(10) CHARACTER SET latin1,
    c_binary BINARY(4), c_varbinary VARBINARY(10), c_blob BLOB, c_longblob LONGBLOB,
    c_date DATE, c_time TIME, c_time3 TIME(3),
    c_datetime DATETIME, c_datetime3 DATETIME(3), c_datetime6 DATETIME(6),
    c_timestamp TIMESTAMP NULL DEFAULT NULL, c_timestamp6 TIMESTAMP(6) NULL DEFAULT NULL,
    c_year YEAR, c_bit1 BIT(1), c_bit10 BIT(10), c_bit64 BIT(64),
    c_enum ENUM('a','b''c','x y'), c_set SET('r','g','b'), c_json JSON,
    c_date_nn DATE NOT NULL DEFAULT '2000-01-01'
)";

const ALL_TYPES_INSERT: &str = r#"INSERT INTO all_types VALUES
 (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '2000-01-01'),
 (2, 127, 255, 1, TRUE, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615, 3.5, 1.7976931348623157e308,
  99999999.99, 9999999999999999999999999999.9999999999,
  99999999999999999999999999999999999.999999999999999999999999999999, 99999,
  'abcde', 'héllo wörld 🎉', 'line1\nline2 "q" \\', 'tiny', 'medium', 'long text',
  'café', X'01020304', X'00FF', X'DEADBEEF00', X'0001',
  '9999-12-31', '23:59:59', '12:34:56.789',
  '9999-12-31 23:59:59', '2024-02-29 12:00:00.123', '2024-02-29 12:00:00.123456',
  '2038-01-19 03:14:07', '2038-01-19 03:14:07.999999',
  2155, b'1', b'1111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
  'b''c', 'b,r', '{"k": [1, "two", null, true], "a": 1.5}', '2024-01-31'),
 (3, -128, 0, 0, FALSE, -32768, 0, -8388608, 0, -2147483648, 0,
  -9223372036854775808, 0, -1.25, -2.5e-300,
  -12345678.91, -0.0000000001, -0.000000000000000000000000000001, -99999,
  'a  ', '', '', '', '', '',
  '', X'0100', X'', X'', X'',
  '0001-01-01', '00:00:00', '00:00:00.001',
  '1000-01-01 00:00:00', '1969-12-31 23:59:59.999', '1900-01-01 00:00:00.000001',
  '1970-01-01 00:00:01', '1999-12-31 23:59:59.5',
  1901, b'0', b'0000000001', b'0',
  'a', '', '[]', '1969-07-20'),
 (4, 0, 1, NULL, NULL, 0, 1, 0, 1, 0, 1, 0, 9223372036854775808, 0, 0,
  0, 0.5, 1, 0,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '0000-00-00', NULL, NULL, '0000-00-00 00:00:00', NULL, NULL, '0000-00-00 00:00:00', NULL,
  0, NULL, NULL, NULL, 'x y', 'r,g,b', NULL, '0000-00-00')"#;

/// Flink CDC's default mapping of every column, then the metadata columns.
const ALL_TYPES_FLINK: &[(&str, &str)] = &[
    ("id", "INT NOT NULL"),
    ("c_tinyint", "TINYINT"),
    ("c_tinyint_u", "SMALLINT"),
    ("c_bool", "BOOLEAN"),
    ("c_boolean", "BOOLEAN"),
    ("c_smallint", "SMALLINT"),
    ("c_smallint_u", "INT"),
    ("c_mediumint", "INT"),
    ("c_mediumint_u", "BIGINT"),
    ("c_int", "INT"),
    ("c_int_u", "BIGINT"),
    ("c_bigint", "BIGINT"),
    ("c_bigint_u", "DECIMAL(20, 0)"),
    ("c_float", "FLOAT"),
    ("c_double", "DOUBLE"),
    ("c_dec", "DECIMAL(10, 2)"),
    ("c_dec38", "DECIMAL(38, 10)"),
    ("c_dec65", "VARCHAR(2147483647)"),
    ("c_dec0", "DECIMAL(5, 0)"),
    ("c_char", "CHAR(5)"),
    ("c_varchar", "VARCHAR(20)"),
    ("c_text", "VARCHAR(2147483647)"),
    ("c_tinytext", "VARCHAR(2147483647)"),
    ("c_mediumtext", "VARCHAR(2147483647)"),
    ("c_longtext", "VARCHAR(2147483647)"),
    ("c_latin1", "VARCHAR(10)"),
    ("c_binary", "BINARY(4)"),
    ("c_varbinary", "VARBINARY(10)"),
    ("c_blob", "BYTES"),
    ("c_longblob", "BYTES"),
    ("c_date", "DATE"),
    ("c_time", "TIME(0)"),
    ("c_time3", "TIME(3)"),
    ("c_datetime", "TIMESTAMP(0)"),
    ("c_datetime3", "TIMESTAMP(3)"),
    ("c_datetime6", "TIMESTAMP(6)"),
    ("c_timestamp", "TIMESTAMP(0) WITH LOCAL TIME ZONE"),
    ("c_timestamp6", "TIMESTAMP(6) WITH LOCAL TIME ZONE"),
    ("c_year", "INT"),
    ("c_bit1", "BOOLEAN"),
    ("c_bit10", "BINARY(2)"),
    ("c_bit64", "BYTES"),
    ("c_enum", "VARCHAR(2147483647)"),
    ("c_set", "VARCHAR(2147483647)"),
    ("c_json", "VARCHAR(2147483647)"),
    ("c_date_nn", "DATE NOT NULL"),
    ("__metadata.database_name", "VARCHAR(2147483647) NOT NULL"),
    ("__metadata.table_name", "VARCHAR(2147483647) NOT NULL"),
    ("__metadata.op_ts", "TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL"),
    ("__metadata.row_kind", "VARCHAR(2147483647) NOT NULL"),
];

fn row_type(columns: &[(&str, &str)]) -> RowType {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let types: Vec<&str> = columns.iter().map(|c| c.1).collect();
    RowType::parse(&names, &types).unwrap()
}

/// Every row of the table through a prepared statement (binary protocol), as received.
async fn protocol_rows(table: &TableSchema) -> Vec<mysql_async::Row> {
    let mut conn = cdc_conn().await;
    let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY 1", columns.join(", "), table.id.quoted());
    let rows: Vec<mysql_async::Row> = conn.exec(sql, ()).await.unwrap();
    conn.disconnect().await.unwrap();
    rows
}

/// Every row of the table through a prepared statement (binary protocol), in canonical form.
async fn snapshot(table: &TableSchema) -> Vec<RowValues> {
    let rows = protocol_rows(table).await;
    // Both entry points: the free function for the first row, a RowNormalizer for the rest.
    let normalizer = RowNormalizer::new(table);
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| if i == 0 { snapshot_row(table, r) } else { normalizer.snapshot_row(table, r) }.unwrap())
        .collect()
}

async fn schema(db: &str, table: &str) -> TableSchema {
    let mut conn = cdc_conn().await;
    let schema = load_table(&mut conn, &TableId::new(db, table)).await.unwrap().expect("table exists");
    conn.disconnect().await.unwrap();
    schema
}

fn bytes(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

fn prim<T: ArrowPrimitiveType>(batch: &RecordBatch, name: &str) -> Vec<Option<T::Native>> {
    batch.column_by_name(name).unwrap_or_else(|| panic!("{name}")).as_primitive::<T>().iter().collect()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    batch.column_by_name(name).unwrap().as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
}

fn binaries(batch: &RecordBatch, name: &str) -> Vec<Option<Vec<u8>>> {
    batch.column_by_name(name).unwrap().as_binary::<i32>().iter().map(|v| v.map(<[u8]>::to_vec)).collect()
}

fn bools(batch: &RecordBatch, name: &str) -> Vec<Option<bool>> {
    batch.column_by_name(name).unwrap().as_boolean().iter().collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[tokio::test]
async fn snapshot_and_binlog_agree_and_map_to_flink_values() {
    let db = test_db("alltypes").await;
    db.exec(&[ALL_TYPES_DDL]).await;
    let start = binlog_position().await;
    db.exec(&[ALL_TYPES_INSERT]).await;
    let table = schema(&db.name, "all_types").await;

    let snap = snapshot(&table).await;
    let changes = read_changes(&table, &start, 4).await;
    let logged: Vec<RowValues> = changes
        .into_iter()
        .map(|c| match c {
            Change::Insert(r) => r,
            other => panic!("expected inserts, got {other:?}"),
        })
        .collect();
    assert_eq!(snap.len(), 4);
    for (s, b) in snap.iter().zip(&logged) {
        for (i, column) in table.columns.iter().enumerate() {
            assert_eq!(s[i], b[i], "row id {:?}, column {}: snapshot vs binlog", s[0], column.name);
        }
    }

    // Canonical values of the tricky columns, written from the INSERT.
    let col = |name: &str| table.column_index(name).unwrap();
    let row2 = &snap[1];
    assert_eq!(row2[col("c_tinyint_u")], Value::UInt(255));
    assert_eq!(row2[col("c_bigint_u")], Value::UInt(u64::MAX));
    assert_eq!(row2[col("c_dec")], bytes("99999999.99"));
    assert_eq!(row2[col("c_char")], bytes("abcde"));
    assert_eq!(row2[col("c_binary")], Value::Bytes(vec![1, 2, 3, 4]));
    assert_eq!(row2[col("c_enum")], bytes("b'c"));
    assert_eq!(row2[col("c_set")], bytes("r,b"));
    assert_eq!(row2[col("c_year")], Value::Int(2155));
    assert_eq!(row2[col("c_timestamp6")], Value::Date(2038, 1, 19, 3, 14, 7, 999_999));
    assert_eq!(row2[col("c_bit10")], Value::Bytes(vec![0x03, 0xff]));
    let row3 = &snap[2];
    assert_eq!(row3[col("c_char")], bytes("a"));
    assert_eq!(row3[col("c_binary")], Value::Bytes(vec![1, 0, 0, 0]));
    assert_eq!(row3[col("c_dec38")], bytes("-0.0000000001"));
    assert_eq!(row3[col("c_year")], Value::Int(1901));
    let row4 = &snap[3];
    assert_eq!(row4[col("c_bigint_u")], Value::UInt(9_223_372_036_854_775_808));
    assert_eq!(row4[col("c_dec38")], bytes("0.5000000000"));
    assert_eq!(row4[col("c_date")], Value::NULL, "zero date in a nullable column");
    assert_eq!(row4[col("c_timestamp")], Value::NULL, "zero TIMESTAMP");
    assert_eq!(row4[col("c_date_nn")], Value::Date(1970, 1, 1, 0, 0, 0, 0), "zero date, NOT NULL");
    assert_eq!(row4[col("c_year")], Value::Int(0));
    assert_eq!(row4[col("c_set")], bytes("r,g,b"));

    // Arrow values: the snapshot rows, then the binlog rows with their event time.
    let rt = row_type(ALL_TYPES_FLINK);
    let mut builder = BatchBuilder::new(&rt, &ServerTimeZone::utc()).unwrap();
    let mapping = builder.mapping(&table).unwrap();
    for row in &snap {
        builder.append(&mapping, row, RowKind::Insert, 0).unwrap();
    }
    assert_eq!(builder.len(), 4);
    let batch = builder.finish().unwrap();
    assert!(builder.is_empty());
    assert_eq!(batch.row_kinds, None, "all inserts");
    let b = &batch.rows;
    assert_eq!(b.schema(), rt.arrow_schema());

    assert_eq!(prim::<Int32Type>(b, "id"), vec![Some(1), Some(2), Some(3), Some(4)]);
    assert_eq!(prim::<Int8Type>(b, "c_tinyint"), vec![None, Some(127), Some(-128), Some(0)]);
    assert_eq!(prim::<Int16Type>(b, "c_tinyint_u"), vec![None, Some(255), Some(0), Some(1)]);
    assert_eq!(bools(b, "c_bool"), vec![None, Some(true), Some(false), None]);
    assert_eq!(bools(b, "c_boolean"), vec![None, Some(true), Some(false), None]);
    assert_eq!(prim::<Int16Type>(b, "c_smallint"), vec![None, Some(32767), Some(-32768), Some(0)]);
    assert_eq!(prim::<Int32Type>(b, "c_smallint_u"), vec![None, Some(65535), Some(0), Some(1)]);
    assert_eq!(prim::<Int32Type>(b, "c_mediumint"), vec![None, Some(8388607), Some(-8388608), Some(0)]);
    assert_eq!(prim::<Int64Type>(b, "c_mediumint_u"), vec![None, Some(16777215), Some(0), Some(1)]);
    assert_eq!(prim::<Int32Type>(b, "c_int"), vec![None, Some(i32::MAX), Some(i32::MIN), Some(0)]);
    assert_eq!(prim::<Int64Type>(b, "c_int_u"), vec![None, Some(4294967295), Some(0), Some(1)]);
    assert_eq!(prim::<Int64Type>(b, "c_bigint"), vec![None, Some(i64::MAX), Some(i64::MIN), Some(0)]);
    assert_eq!(
        prim::<Decimal128Type>(b, "c_bigint_u"),
        vec![None, Some(18446744073709551615), Some(0), Some(9223372036854775808)]
    );
    assert_eq!(prim::<Float32Type>(b, "c_float"), vec![None, Some(3.5), Some(-1.25), Some(0.0)]);
    assert_eq!(
        prim::<Float64Type>(b, "c_double"),
        vec![None, Some(1.7976931348623157e308), Some(-2.5e-300), Some(0.0)]
    );
    assert_eq!(prim::<Decimal128Type>(b, "c_dec"), vec![None, Some(9999999999), Some(-1234567891), Some(0)]);
    assert_eq!(
        prim::<Decimal128Type>(b, "c_dec38"),
        vec![None, Some(99999999999999999999999999999999999999), Some(-1), Some(5000000000)]
    );
    assert_eq!(
        strings(b, "c_dec65"),
        vec![
            None,
            s("99999999999999999999999999999999999.999999999999999999999999999999"),
            s("-0.000000000000000000000000000001"),
            s("1.000000000000000000000000000000")
        ]
    );
    assert_eq!(prim::<Decimal128Type>(b, "c_dec0"), vec![None, Some(99999), Some(-99999), Some(0)]);
    assert_eq!(strings(b, "c_char"), vec![None, s("abcde"), s("a"), None]);
    assert_eq!(strings(b, "c_varchar"), vec![None, s("héllo wörld 🎉"), s(""), None]);
    assert_eq!(strings(b, "c_text"), vec![None, s("line1\nline2 \"q\" \\"), s(""), None]);
    assert_eq!(strings(b, "c_tinytext"), vec![None, s("tiny"), s(""), None]);
    assert_eq!(strings(b, "c_mediumtext"), vec![None, s("medium"), s(""), None]);
    assert_eq!(strings(b, "c_longtext"), vec![None, s("long text"), s(""), None]);
    assert_eq!(strings(b, "c_latin1"), vec![None, s("café"), s(""), None]);
    assert_eq!(binaries(b, "c_binary"), vec![None, Some(vec![1, 2, 3, 4]), Some(vec![1, 0, 0, 0]), None]);
    assert_eq!(binaries(b, "c_varbinary"), vec![None, Some(vec![0, 255]), Some(vec![]), None]);
    assert_eq!(binaries(b, "c_blob"), vec![None, Some(vec![0xde, 0xad, 0xbe, 0xef, 0]), Some(vec![]), None]);
    assert_eq!(binaries(b, "c_longblob"), vec![None, Some(vec![0, 1]), Some(vec![]), None]);
    assert_eq!(prim::<Date32Type>(b, "c_date"), vec![None, Some(2932896), Some(-719162), None]);
    assert_eq!(prim::<Time32MillisecondType>(b, "c_time"), vec![None, Some(86399000), Some(0), None]);
    assert_eq!(prim::<Time32MillisecondType>(b, "c_time3"), vec![None, Some(45296789), Some(1), None]);
    assert_eq!(
        prim::<TimestampMillisecondType>(b, "c_datetime"),
        vec![None, Some(253402300799000), Some(-30610224000000), None]
    );
    assert_eq!(prim::<TimestampMillisecondType>(b, "c_datetime3"), vec![None, Some(1709208000123), Some(-1), None]);
    assert_eq!(
        prim::<TimestampMicrosecondType>(b, "c_datetime6"),
        vec![None, Some(1709208000123456), Some(-2208988799999999), None]
    );
    assert_eq!(prim::<TimestampMillisecondType>(b, "c_timestamp"), vec![None, Some(2147483647000), Some(1000), None]);
    assert_eq!(
        prim::<TimestampMicrosecondType>(b, "c_timestamp6"),
        vec![None, Some(2147483647999999), Some(946684799500000), None]
    );
    assert_eq!(prim::<Int32Type>(b, "c_year"), vec![None, Some(2155), Some(1901), Some(0)]);
    assert_eq!(bools(b, "c_bit1"), vec![None, Some(true), Some(false), None]);
    assert_eq!(binaries(b, "c_bit10"), vec![None, Some(vec![0x03, 0xff]), Some(vec![0, 1]), None]);
    assert_eq!(binaries(b, "c_bit64"), vec![None, Some(vec![0xff; 8]), Some(vec![0; 8]), None]);
    assert_eq!(strings(b, "c_enum"), vec![None, s("b'c"), s("a"), s("x y")]);
    assert_eq!(strings(b, "c_set"), vec![None, s("r,b"), s(""), s("r,g,b")]);
    // MariaDB keeps JSON as the text inserted.
    assert_eq!(strings(b, "c_json"), vec![None, s(r#"{"k": [1, "two", null, true], "a": 1.5}"#), s("[]"), None]);
    assert_eq!(prim::<Date32Type>(b, "c_date_nn"), vec![Some(10957), Some(19753), Some(-165), Some(0)]);
    let name = db.name.clone();
    assert_eq!(strings(b, "__metadata.database_name"), vec![Some(name.clone()); 4]);
    assert_eq!(strings(b, "__metadata.table_name"), vec![s("all_types"); 4]);
    assert_eq!(prim::<TimestampMillisecondType>(b, "__metadata.op_ts"), vec![Some(0); 4]);
    assert_eq!(strings(b, "__metadata.row_kind"), vec![s("+I"); 4]);

    // The binlog rows give the same Arrow batch (apart from the event time).
    for row in &logged {
        builder.append(&mapping, row, RowKind::Insert, 1_700_000_000_123).unwrap();
    }
    let from_binlog = builder.finish().unwrap();
    for column in ALL_TYPES_FLINK.iter().map(|c| c.0).filter(|c| *c != "__metadata.op_ts") {
        assert_eq!(
            from_binlog.rows.column_by_name(column).unwrap().to_data(),
            b.column_by_name(column).unwrap().to_data(),
            "{column}"
        );
    }
    assert_eq!(prim::<TimestampMillisecondType>(&from_binlog.rows, "__metadata.op_ts"), vec![Some(1_700_000_000_123); 4]);

    // The snapshot reader's path, protocol rows appended without canonical rows, gives the
    // same batch: trimmed CHAR, padded BINARY, DECIMALs, zero dates, every type.
    let normalizer = RowNormalizer::new(&table);
    for row in protocol_rows(&table).await {
        builder.append_snapshot_row(&mapping, &table, &normalizer, row).unwrap();
    }
    let direct = builder.finish().unwrap();
    assert_eq!(direct.row_kinds, None);
    assert_eq!(&direct.rows, b, "append_snapshot_row vs snapshot_row + append");
    db.drop_db().await;
}

/// Declared types other than the default: widenings, time zones, strings.
#[tokio::test]
async fn widened_types_and_server_time_zone() {
    let db = test_db("widen").await;
    db.exec(&[
        "CREATE TABLE w (id INT PRIMARY KEY, i INT, u BIGINT UNSIGNED, d DECIMAL(10,2), dt DATETIME(3), \
         ts TIMESTAMP(3) NULL, y YEAR, f FLOAT, t6 DATETIME(6), tm TIME(3))",
        "INSERT INTO w VALUES (1, -7, 18446744073709551615, -1.5, '2024-01-01 08:00:00.250', \
         '2024-01-01 00:00:00.250', 2024, 0.5, '2024-01-01 00:00:00.123456', '01:02:03.456')",
    ])
    .await;
    let table = schema(&db.name, "w").await;
    let rows = snapshot(&table).await;
    let rt = row_type(&[
        ("ID", "BIGINT"), // names match case-insensitively
        ("i", "VARCHAR(2147483647)"),
        ("u", "VARCHAR(2147483647)"),
        ("d", "DECIMAL(20, 4)"),
        ("dt", "TIMESTAMP(3) WITH LOCAL TIME ZONE"),
        ("ts", "TIMESTAMP(3)"),
        ("y", "BIGINT"),
        ("f", "DOUBLE"),
        ("t6", "TIMESTAMP(4)"),
        ("tm", "TIME(1)"),
    ]);
    let tz = ServerTimeZone::parse("+08:00").unwrap();
    let mut builder = BatchBuilder::new(&rt, &tz).unwrap();
    let mapping = builder.mapping(&table).unwrap();
    builder.append(&mapping, &rows[0], RowKind::UpdateAfter, 5).unwrap();
    let batch = builder.finish().unwrap();
    assert_eq!(batch.row_kinds, Some(vec![RowKind::UpdateAfter]));
    let b = &batch.rows;
    assert_eq!(prim::<Int64Type>(b, "ID"), vec![Some(1)]);
    assert_eq!(strings(b, "i"), vec![s("-7")]);
    assert_eq!(strings(b, "u"), vec![s("18446744073709551615")]);
    assert_eq!(prim::<Decimal128Type>(b, "d"), vec![Some(-15000)]);
    // 08:00:00.250 in +08:00 is 00:00:00.250 UTC: 2024-01-01 is day 19723.
    assert_eq!(prim::<TimestampMillisecondType>(b, "dt"), vec![Some(19723 * 86_400_000 + 250)]);
    // The instant 00:00:00.250 UTC is 08:00:00.250 on the server's wall clock.
    assert_eq!(prim::<TimestampMillisecondType>(b, "ts"), vec![Some(19723 * 86_400_000 + 8 * 3_600_000 + 250)]);
    assert_eq!(prim::<Int64Type>(b, "y"), vec![Some(2024)]);
    assert_eq!(prim::<Float64Type>(b, "f"), vec![Some(0.5)]);
    // TIMESTAMP(4) keeps 4 fraction digits.
    assert_eq!(prim::<TimestampMicrosecondType>(b, "t6"), vec![Some(19723 * 86_400_000_000 + 123_400)]);
    // TIME(1) keeps tenths of a second.
    assert_eq!(prim::<Time32MillisecondType>(b, "tm"), vec![Some(3_723_400)]);
    db.drop_db().await;
}

/// UPDATE and DELETE images from the binlog equal the snapshot of the same rows.
#[tokio::test]
async fn update_images_normalize_like_the_snapshot() {
    let db = test_db("update").await;
    db.exec(&[
        "CREATE TABLE u (id BIGINT UNSIGNED PRIMARY KEY, e ENUM('x','y','z\\\\w'), st SET('a','b'), \
         ts TIMESTAMP(6) NULL, b BINARY(3), c CHAR(4), d DECIMAL(30,5), t TIME(6))",
        "INSERT INTO u VALUES (18446744073709551615, 'x', 'a', '2001-02-03 04:05:06.07', X'01', 'ab', \
         '-123456789012345678901234.5', '-838:59:59')",
    ])
    .await;
    let table = schema(&db.name, "u").await;
    let before = snapshot(&table).await;
    let start = binlog_position().await;
    db.exec(&[
        "UPDATE u SET e = 'z\\\\w', st = 'a,b', ts = '1970-01-01 00:00:01', b = X'FFFF', c = 'x', \
         d = 0.00001, t = '838:59:59.999999'",
    ])
    .await;
    let after = snapshot(&table).await;
    db.exec(&["DELETE FROM u"]).await;
    let changes = read_changes(&table, &start, 2).await;
    assert_eq!(
        changes,
        vec![Change::Update(before[0].clone(), after[0].clone()), Change::Delete(after[0].clone())]
    );
    assert_eq!(before[0][0], Value::UInt(u64::MAX));
    assert_eq!(before[0][6], bytes("-123456789012345678901234.50000"));
    assert_eq!(before[0][7], Value::Time(true, 34, 22, 59, 59, 0));
    assert_eq!(after[0][1], bytes("z\\w"));
    assert_eq!(after[0][2], bytes("a,b"));
    assert_eq!(after[0][3], Value::Date(1970, 1, 1, 0, 0, 1, 0));
    assert_eq!(after[0][4], Value::Bytes(vec![0xff, 0xff, 0]));
    assert_eq!(after[0][6], bytes("0.00001"));
    assert_eq!(after[0][7], Value::Time(false, 34, 22, 59, 59, 999_999));

    // TIME beyond a day has no Flink TIME value: a clear error, and the builder stays usable.
    let rt = row_type(&[("id", "DECIMAL(20, 0)"), ("t", "TIME(0)")]);
    let mut builder = BatchBuilder::new(&rt, &ServerTimeZone::utc()).unwrap();
    let mapping = builder.mapping(&table).unwrap();
    let err = builder.append(&mapping, &after[0], RowKind::UpdateAfter, 0).unwrap_err().to_string();
    assert!(err.contains("column 't'") && err.contains("838:59:59") && err.contains("TIME"), "{err}");
    assert!(builder.is_empty());
    let mut ok = after[0].clone();
    ok[7] = Value::Time(false, 0, 1, 2, 3, 0);
    builder.append(&mapping, &ok, RowKind::Delete, 0).unwrap();
    let batch = builder.finish().unwrap();
    assert_eq!(batch.row_kinds, Some(vec![RowKind::Delete]));
    assert_eq!(prim::<Time32MillisecondType>(&batch.rows, "t"), vec![Some(3_723_000)]);
    db.drop_db().await;
}

/// Throughput of normalization-free appends (`cargo test --release -p connector-mysql-cdc --test
/// values -- --ignored --nocapture`): a figure for orientation, not an assertion.
#[test]
#[ignore]
fn batch_builder_throughput() {
    use connector_mysql_cdc::schema::ColumnSchema;
    let column = |name: &str, data_type: &str, column_type: &str, precision, scale| ColumnSchema {
        name: name.into(),
        data_type: data_type.into(),
        column_type: column_type.into(),
        unsigned: false,
        nullable: true,
        precision,
        scale,
        char_max_length: Some(32),
    };
    let table = TableSchema {
        id: TableId::new("db", "t"),
        columns: vec![
            column("id", "bigint", "bigint(20)", Some(19), Some(0)),
            column("name", "varchar", "varchar(32)", None, None),
            column("price", "decimal", "decimal(10,2)", Some(10), Some(2)),
            column("ts", "datetime", "datetime(3)", Some(3), None),
            column("qty", "int", "int(11)", Some(10), Some(0)),
        ],
        primary_key: vec![0],
    };
    let rt = row_type(&[
        ("id", "BIGINT"),
        ("name", "STRING"),
        ("price", "DECIMAL(10, 2)"),
        ("ts", "TIMESTAMP(3)"),
        ("qty", "INT"),
        ("__metadata.table_name", "STRING NOT NULL"),
    ]);
    let rows: Vec<RowValues> = (0..4096i64)
        .map(|i| {
            vec![
                Value::Int(i),
                bytes(&format!("name-{i}")),
                bytes(&format!("{}.{:02}", i * 7, i % 100)),
                Value::Date(2024, 1, 1 + (i % 28) as u8, 12, 0, 0, 123_000),
                Value::Int(i % 1000),
            ]
        })
        .collect();
    let mut builder = BatchBuilder::new(&rt, &ServerTimeZone::utc()).unwrap();
    let mapping = builder.mapping(&table).unwrap();
    let start = std::time::Instant::now();
    let batches = 500;
    for _ in 0..batches {
        for row in &rows {
            builder.append(&mapping, row, RowKind::Insert, 0).unwrap();
        }
        assert_eq!(builder.finish().unwrap().num_rows(), rows.len());
    }
    let n = batches * rows.len();
    let secs = start.elapsed().as_secs_f64();
    println!("BatchBuilder: {n} rows in {secs:.3} s = {:.2} M rows/s", n as f64 / secs / 1e6);
}
