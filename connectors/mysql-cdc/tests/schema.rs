//! Table discovery and mapping validation against a real MariaDB.

mod support;

use connector_mysql_cdc::config::pattern::NamePattern;

use connector_mysql_cdc::schema::{discover_tables, load_table, TableId, SYSTEM_SCHEMAS};
use connector_mysql_cdc::value::{BatchBuilder, ServerTimeZone};
use rust_core::types::RowType;
use support::{cdc_conn, test_db};

fn re(s: &str) -> NamePattern {
    NamePattern::new(s).unwrap()
}

#[tokio::test]
async fn discovery_full_matches_patterns_and_reads_keys() {
    let a = test_db("disc").await;
    let b = test_db("disc").await;
    a.exec(&[
        // Composite key in an order other than the columns'.
        "CREATE TABLE orders (a INT NOT NULL, b VARCHAR(10) NOT NULL, c TEXT, PRIMARY KEY (b, a))",
        "CREATE TABLE orders_archive (id BIGINT PRIMARY KEY)",
        "CREATE TABLE items (x INT, y INT)",
        "CREATE VIEW orders_view AS SELECT a FROM orders",
        "CREATE TABLE `we.ird` (id INT PRIMARY KEY)",
    ])
    .await;
    b.exec(&[
        "CREATE TABLE orders (id INT PRIMARY KEY)",
        "CREATE TABLE we_ird (id INT PRIMARY KEY)",
    ])
    .await;
    let mut conn = cdc_conn().await;
    let ids = |tables: &[connector_mysql_cdc::schema::TableSchema]| -> Vec<TableId> {
        tables.iter().map(|t| t.id.clone()).collect()
    };

    // Whole names only: `orders` matches neither `orders_archive` nor the view.
    let found = discover_tables(&mut conn, &re(&fancy_regex::escape(&a.name)), &re("orders"))
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![TableId::new(&a.name, "orders")]);
    let orders = &found[0];
    let names: Vec<&str> = orders.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(orders.primary_key, vec![1, 0], "key order (b, a)");
    assert_eq!(orders.columns[1].data_type, "varchar");
    assert_eq!(orders.columns[1].char_max_length, Some(10));
    assert!(!orders.columns[0].nullable && orders.columns[2].nullable);

    // Alternation is anchored as a whole; results are sorted by TableId.
    let db_re = re(&format!(
        "{}|{}",
        fancy_regex::escape(&a.name),
        fancy_regex::escape(&b.name)
    ));
    let found = discover_tables(&mut conn, &db_re, &re("orders|items|orders_.*"))
        .await
        .unwrap();
    let mut expected = vec![
        TableId::new(&a.name, "items"),
        TableId::new(&a.name, "orders"),
        TableId::new(&a.name, "orders_archive"),
        TableId::new(&b.name, "orders"),
    ];
    expected.sort();
    assert_eq!(ids(&found), expected);
    let items = found.iter().find(|t| t.id.table == "items").unwrap();
    assert!(
        items.primary_key.is_empty(),
        "a table without a primary key"
    );

    // An unescaped `.` matches any character, as in Debezium.
    let found = discover_tables(&mut conn, &db_re, &re("we.ird"))
        .await
        .unwrap();
    assert_eq!(
        ids(&found),
        vec![
            TableId::new(&a.name, "we.ird"),
            TableId::new(&b.name, "we_ird")
        ]
    );
    // A prefix of the database name is not enough.
    let prefix = &a.name[..a.name.len() - 1];
    assert!(discover_tables(&mut conn, &re(prefix), &re(".*"))
        .await
        .unwrap()
        .is_empty());

    // System schemas never, even when the patterns match them.
    let all = discover_tables(&mut conn, &re(".*"), &re("user|db|tables|.*"))
        .await
        .unwrap();
    assert!(
        all.iter()
            .all(|t| !SYSTEM_SCHEMAS.contains(&t.id.database.as_str())),
        "{:?}",
        ids(&all)
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert!(all.iter().any(|t| t.id == TableId::new(&b.name, "we_ird")));

    // load_table: a missing table is None.
    assert!(load_table(&mut conn, &TableId::new(&a.name, "nope"))
        .await
        .unwrap()
        .is_none());
    let loaded = load_table(&mut conn, &TableId::new(&a.name, "orders"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&loaded, orders);
    conn.disconnect().await.unwrap();
    a.drop_db().await;
    b.drop_db().await;
}

#[tokio::test]
async fn mapping_validation_names_table_column_types_and_fix() {
    let db = test_db("valid").await;
    db.exec(&[
        "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, i INT UNSIGNED, d DECIMAL(10,2), \
         big DECIMAL(50,4), v VARCHAR(5), dt DATETIME(3), ti TINYINT, tb TINYINT(1), b1 BIT(1), \
         tm TIME, y YEAR, g GEOMETRY)",
    ])
    .await;
    let mut conn = cdc_conn().await;
    let table = load_table(&mut conn, &TableId::new(&db.name, "t"))
        .await
        .unwrap()
        .unwrap();
    conn.disconnect().await.unwrap();
    let tz = ServerTimeZone::utc();
    let map = |column: &str, ty: &str| {
        let rt = RowType::parse(&[column], &[ty]).unwrap();
        BatchBuilder::new(&rt, &tz).unwrap().mapping(&table)
    };
    let rejected = |column: &str, ty: &str, needles: &[&str]| {
        let err = map(column, ty).expect_err(&format!("{column} as {ty}"));
        assert!(err.is_validation(), "{err}");
        let msg = err.to_string();
        for needle in needles {
            assert!(msg.contains(needle), "'{needle}' missing in: {msg}");
        }
    };
    let table_name = format!("{}.t", db.name);
    rejected(
        "id",
        "DATE",
        &[
            &table_name,
            "'id'",
            "bigint(20) unsigned",
            "DATE",
            "DECIMAL(20, 0)",
            "STRING",
        ],
    );
    // Flink CDC reads INT UNSIGNED as INT by `Long.intValue()`, wrapping large values silently.
    rejected("i", "INT", &["int(10) unsigned", "declare it as BIGINT"]);
    rejected("d", "DATE", &["decimal(10,2)", "DECIMAL(10, 2)"]);
    rejected("v", "INT", &["varchar(5)", "VARCHAR(5) or STRING"]);
    rejected("dt", "DATE", &["datetime(3)", "TIMESTAMP(3)"]);
    rejected("ti", "BOOLEAN", &["tinyint(4)", "TINYINT"]);
    rejected("tm", "TIMESTAMP(0)", &["TIME(0)"]);
    rejected("g", "BYTES", &["has type geometry", "declare it as STRING"]);
    // ARRAY<STRING> reads SET columns only, as in Flink CDC.
    rejected(
        "v",
        "ARRAY<VARCHAR(2147483647)>",
        &["varchar(5)", "ARRAY<VARCHAR(2147483647)>", "VARCHAR(5)"],
    );
    rejected("missing", "INT", &["'missing'", &table_name, "id, i, d"]);

    for (column, ty) in [
        // Narrower integer types Flink CDC reads by parsing the value (failing on one that does not fit).
        ("id", "BIGINT"),
        ("id", "INT"),
        ("i", "SMALLINT"),
        ("g", "STRING"),
        ("id", "DECIMAL(20, 0)"),
        ("id", "DECIMAL(38, 2)"),
        ("id", "STRING"),
        ("i", "BIGINT"),
        ("i", "DECIMAL(10, 0)"),
        ("d", "DECIMAL(10, 2)"),
        // Narrower DECIMALs, and FLOAT/DOUBLE from numbers, as Flink CDC converts them (rounded
        // HALF_UP, NULL for a value that does not fit; the nearest float).
        ("d", "DECIMAL(10, 1)"),
        ("d", "DECIMAL(9, 2)"),
        ("big", "DECIMAL(38, 4)"),
        ("id", "FLOAT"),
        ("d", "DOUBLE"),
        ("i", "FLOAT"),
        ("d", "DECIMAL(11, 3)"),
        ("d", "STRING"),
        ("big", "STRING"),
        ("v", "STRING"),
        ("v", "CHAR(5)"),
        ("dt", "TIMESTAMP(6)"),
        ("dt", "TIMESTAMP_LTZ(3)"),
        ("ti", "SMALLINT"),
        ("tb", "BOOLEAN"),
        ("tb", "TINYINT"),
        ("b1", "BOOLEAN"),
        ("b1", "BYTES"),
        ("tm", "TIME(0)"),
        ("y", "INT"),
        ("ID", "DECIMAL(20, 0)"),
    ] {
        map(column, ty).unwrap_or_else(|e| panic!("{column} as {ty}: {e}"));
    }

    // Metadata keys and types.
    let rt = RowType::parse(&["__metadata.op_type"], &["STRING"]).unwrap();
    let err = BatchBuilder::new(&rt, &tz).unwrap_err();
    assert!(err.is_validation());
    let msg = err.to_string();
    for key in [
        "op_type",
        "database_name",
        "table_name",
        "op_ts",
        "row_kind",
        "binlog_file",
        "binlog_position",
        "binlog_row_index",
        "gtid",
        "change_seq",
    ] {
        assert!(msg.contains(key), "{msg}");
    }
    let rt = RowType::parse(&["__metadata.op_ts"], &["BIGINT"]).unwrap();
    let err = BatchBuilder::new(&rt, &tz).unwrap_err();
    assert!(
        err.is_validation() && err.to_string().contains("TIMESTAMP_LTZ(3)"),
        "{err}"
    );
    // The binlog coordinates are NULL on snapshot rows: NOT NULL (but change_seq) or another
    // type is refused; change_seq (0 on snapshot rows) may be either.
    for (key, ty) in [
        ("binlog_position", "BIGINT NOT NULL"),
        ("binlog_row_index", "INT"),
        ("gtid", "STRING NOT NULL"),
    ] {
        let rt = RowType::parse(&[&format!("__metadata.{key}")], &[ty]).unwrap();
        let err = BatchBuilder::new(&rt, &tz).unwrap_err();
        assert!(
            err.is_validation() && err.to_string().contains(&format!("'{key}' is declared as")),
            "{err}"
        );
    }
    for ty in ["BIGINT", "BIGINT NOT NULL"] {
        let rt = RowType::parse(&["__metadata.change_seq"], &[ty]).unwrap();
        BatchBuilder::new(&rt, &tz).unwrap_or_else(|e| panic!("change_seq as {ty}: {e}"));
    }

    let err = ServerTimeZone::parse("Asia/Shangai").unwrap_err();
    assert!(
        err.is_validation() && err.to_string().contains("is not a time zone"),
        "{err}"
    );
    assert!(
        err.to_string().contains("'Asia/Shanghai'") && err.to_string().contains("+08:00"),
        "{err}"
    );
    db.drop_db().await;
}
