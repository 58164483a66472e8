//! The hostile-input catalog of `rust-mysql-cdc` (docs/troubleshooting.md): bad options,
//! unreachable or unknown servers and users, tables the connector cannot split, values a Flink
//! type cannot hold, startup offsets the server does not have, and binlog row images cut short.
//! Each case asserts the message a user sees (cause and fix), that it is raised as early as
//! possible (the factory, then the preflight at submission), and that the password never shows.
//!
//! Also the source of the `binlog_rows` fuzz seeds: with `FUZZ_SEEDS_DIR` set,
//! `real_row_images_cut_short_fail_to_decode_with_an_error` writes the table-map and rows events it
//! captured there (see fuzz/README.md).

mod support;

use futures_util::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{FormatDescriptionEvent, TableMapEvent};
use mysql_common::binlog::BinlogCtx;
use mysql_common::io::ParseBuf;

use connector_mysql_cdc::schema::{load_table, TableId};
use connector_mysql_cdc::value::{BatchBuilder, BinlogImageLayout, ServerTimeZone, Value};
use connector_mysql_cdc::MySqlCdcFactory;
use rust_core::api::{ReaderInit, RowKind, SourceFactory};
use rust_core::options::Options;
use rust_core::types::RowType;

use support::{binlog_position, block, cdc_conn, server, test_db, TestDb};

/// Never in any message below: the tests use it as the password wherever the server does not
/// need the real one.
const SECRET: &str = "hostile-S3cret!";

/// Options for `db`.`table` on the shared server (real credentials), with `extra` set or
/// overriding; a `("key", "")` pair removes the key.
fn options(db: &str, table: &str, extra: &[(&str, &str)]) -> Options {
    let s = server();
    let port = s.port.to_string();
    let mut all: Vec<(String, String)> = [
        ("hostname", s.host.as_str()),
        ("port", port.as_str()),
        ("username", s.user.as_str()),
        ("password", s.password.as_str()),
        ("database-name", db),
        ("table-name", table),
        ("server-id", "7100-7103"),
        ("connect.max-retries", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (key, value) in extra {
        all.retain(|(k, _)| k != key);
        if !value.is_empty() {
            all.push((key.to_string(), value.to_string()));
        }
    }
    Options::new("rust-mysql-cdc", all.into_iter().collect())
}

fn id_v() -> RowType {
    RowType::parse(&["id", "v"], &["BIGINT NOT NULL", "STRING"]).unwrap()
}

/// The error of creating the source (no server contacted), as a user sees it.
fn factory_error(options: &Options, row_type: &RowType) -> String {
    let e = match MySqlCdcFactory.create(options, row_type) {
        Ok(_) => panic!("the factory accepted the options"),
        Err(e) => e,
    };
    assert!(e.is_validation(), "bad options are a planning error: {e}");
    checked(e.to_string())
}

/// The error of the checks at submission (the factory accepts the options).
fn preflight_error(options: &Options, row_type: &RowType) -> String {
    let source = MySqlCdcFactory
        .create(options, row_type)
        .unwrap_or_else(|e| panic!("factory: {e}"));
    let e = source.preflight().expect_err("the preflight passed");
    assert!(
        e.is_validation(),
        "a configuration problem is a planning error: {e}"
    );
    checked(e.to_string())
}

fn checked(message: String) -> String {
    assert!(
        !message.contains(SECRET) && !message.contains(&server().password),
        "a password in: {message}"
    );
    message
}

#[test]
fn options_that_cannot_work_fail_in_the_factory_naming_the_option_and_the_fix() {
    let rt = id_v();
    let e = factory_error(
        &options("d", "t", &[("hostname", ""), ("password", SECRET)]),
        &rt,
    );
    assert_eq!(
        e,
        "Missing required option 'hostname' for connector 'rust-mysql-cdc'."
    );
    let e = factory_error(&options("d", "t", &[("port", "three-three-o-six")]), &rt);
    assert_eq!(
        e,
        "Invalid value for option 'port' of 'rust-mysql-cdc': 'three-three-o-six' is not a non-negative 32-bit integer."
    );
    let e = factory_error(&options("d", "t", &[("port", "70000")]), &rt);
    assert_eq!(
        e,
        "Invalid value for option 'port' of 'rust-mysql-cdc': 70000 is not a TCP port (1..65535)."
    );
    let e = factory_error(&options("d", "t", &[("connect.timeout", "soon")]), &rt);
    assert!(
        e.contains("'connect.timeout'")
            && e.contains("'soon' is not a duration such as '500 ms', '10 s'"),
        "{e}"
    );
    let e = factory_error(
        &options("d", "t", &[("scan.incremental.snapshot.enabled", "false")]),
        &rt,
    );
    assert!(e.contains("only the incremental, lock-free snapshot is supported; remove the option or set it to 'true'"), "{e}");
    // A password that is not a string of the expected type still never shows.
    let e = factory_error(
        &options("d", "t", &[("password", SECRET), ("pasword", SECRET)]),
        &rt,
    );
    assert!(
        e.contains("Unsupported options:\n\npasword") && e.contains("password"),
        "{e}"
    );
}

#[test]
fn fewer_server_ids_than_readers_fail_naming_the_range_and_the_fix() {
    let source = MySqlCdcFactory
        .create(&options("d", "t", &[("server-id", "7100-7101")]), &id_v())
        .unwrap();
    let init = ReaderInit::new(2, 3, 64);
    let e = match source.create_reader(&init) {
        Ok(_) => panic!("a third reader got a server id from a range of two"),
        Err(e) => checked(e.to_string()),
    };
    assert_eq!(
        e,
        "reader 2 has no server id: 'server-id' = '7100-7101' gives 2 ids, but the source runs 3 readers; \
         widen the range to at least the source parallelism"
    );
}

#[test]
fn unknown_hosts_and_users_fail_at_submission_without_the_password() {
    let rt = id_v();
    let e = preflight_error(
        &options(
            "d",
            "t",
            &[("hostname", "no-such-host.invalid"), ("password", SECRET)],
        ),
        &rt,
    );
    assert!(
        e.contains("cannot connect to no-such-host.invalid:") && e.contains("'hostname'"),
        "{e}"
    );
    let e = preflight_error(
        &options(
            "d",
            "t",
            &[("username", "nobody_here"), ("password", SECRET)],
        ),
        &rt,
    );
    assert!(
        e.contains("Access denied for user 'nobody_here'")
            && e.contains("'username'")
            && e.contains("'password'"),
        "{e}"
    );
}

/// A test database with `statements` run in it; dropped at the end of the test.
fn database(tag: &str, statements: &[&str]) -> TestDb {
    block(async {
        let db = test_db(tag).await;
        db.exec(statements).await;
        db
    })
}

#[test]
fn tables_the_snapshot_cannot_split_fail_at_submission_naming_the_option() {
    let db = database(
        "shapes",
        &[
            "CREATE TABLE t (id BIGINT, v VARCHAR(10))",
            "CREATE TABLE k (id BIGINT PRIMARY KEY, v TEXT)",
        ],
    );
    let table = format!("{}.t", db.name);
    let e = preflight_error(&options(&db.name, "t", &[]), &id_v());
    assert_eq!(
        e,
        format!(
            "table {table} has no primary key: set 'scan.incremental.snapshot.chunk.key-column' to a column to \
             split its snapshot by (ideally indexed and unique), for this table alone with '{table}:column'"
        )
    );
    let e = preflight_error(
        &options(
            &db.name,
            "k",
            &[("scan.incremental.snapshot.chunk.key-column", "nope")],
        ),
        &id_v(),
    );
    assert_eq!(
        e,
        format!(
            "'scan.incremental.snapshot.chunk.key-column' names column 'nope', but table {}.k has no such column \
             (its columns: id, v); name a column of the table, ideally indexed and unique",
            db.name
        )
    );
    // Without a snapshot there is nothing to split: no key needed.
    let source = MySqlCdcFactory
        .create(
            &options(&db.name, "t", &[("scan.startup.mode", "latest-offset")]),
            &id_v(),
        )
        .unwrap();
    source.preflight().unwrap();
    block(db.drop_db());
}

#[test]
fn values_a_flink_type_cannot_hold_fail_the_batch_naming_column_value_and_fix() {
    let db = database(
        "time24",
        &["CREATE TABLE t (id BIGINT PRIMARY KEY, d TIME)"],
    );
    let table = block(async {
        let mut conn = cdc_conn().await;
        let table = load_table(&mut conn, &TableId::new(&db.name, "t"))
            .await
            .unwrap()
            .unwrap();
        conn.disconnect().await.unwrap();
        table
    });
    let rt = RowType::parse(&["id", "d"], &["BIGINT NOT NULL", "TIME(0)"]).unwrap();
    let mut builder = BatchBuilder::new(&rt, &ServerTimeZone::utc()).unwrap();
    let mapping = builder.mapping(&table).unwrap();
    // 26:00:00 and -01:00:00: legal MySQL TIME values, no time of day.
    for (value, shown) in [
        (Value::Time(false, 1, 2, 0, 0, 0), "26:00:00"),
        (Value::Time(true, 0, 1, 0, 0, 0), "-1:00:00"),
    ] {
        let e = builder
            .append(&mapping, &[Value::Int(1), value], RowKind::Insert, 0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "column 'd' of {}.t as Flink TIME(0): TIME {shown} is outside Flink TIME's range \
                 00:00:00..23:59:59.999; Flink has no type for it: leave the column out of the table definition, \
                 or keep such values out of the captured table",
                db.name
            )
        );
    }
    assert!(builder.is_empty(), "no row is added when a value fails");
    block(db.drop_db());
}

#[test]
fn specific_offsets_the_server_does_not_have_fail_at_submission() {
    let db = database(
        "offsets",
        &["CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))"],
    );
    let (file, pos) = block(binlog_position());
    let start = |file: &str, pos: &str| {
        options(
            &db.name,
            "t",
            &[
                ("scan.startup.mode", "specific-offset"),
                ("scan.startup.specific-offset.file", file),
                ("scan.startup.specific-offset.pos", pos),
            ],
        )
    };
    let e = preflight_error(&start("bin.000000", "4"), &id_v());
    assert!(
        e.starts_with("'scan.startup.specific-offset.file' = 'bin.000000' is not a binlog file the server has (it has ")
            && e.contains("it was purged or never existed; take a file and position from SHOW MASTER STATUS"),
        "{e}"
    );
    let beyond = (pos + 1_000_000_000).to_string();
    let e = preflight_error(&start(&file, &beyond), &id_v());
    assert!(
        e.starts_with(&format!(
            "'scan.startup.specific-offset.pos' = {beyond} is not within binlog file '{file}' ("
        )),
        "{e}"
    );
    let source = MySqlCdcFactory
        .create(&start(&file, &pos.to_string()), &id_v())
        .unwrap();
    source.preflight().unwrap();
    block(db.drop_db());
}

/// Captures real table-map and rows events of a table with many column types, checks that the
/// connector's row-image decoder fails with an error (not a panic, not garbage) on every image
/// cut short, and, with `FUZZ_SEEDS_DIR` set, writes each pair as a `binlog_rows` fuzz seed.
#[test]
fn real_row_images_cut_short_fail_to_decode_with_an_error() {
    let db = database(
        "images",
        &["CREATE TABLE t (id BIGINT PRIMARY KEY, u INT UNSIGNED, d DECIMAL(12, 3), f DOUBLE, s VARCHAR(20), \
           b VARBINARY(8), j JSON, e ENUM('x', 'y'), st SET('a', 'b'), dt DATETIME(3), ts TIMESTAMP(6) NULL, \
           tm TIME(2), y YEAR, bit BIT(10), bl BLOB)"],
    );
    let from = block(binlog_position());
    db_exec(
        &db,
        &[
            "INSERT INTO t VALUES (1, 4294967295, -12.345, 1.5e300, 'héllo', x'00ff', '{\"a\": [1, null]}', 'y', 'a,b', \
             '2024-02-29 23:59:59.999', '2038-01-19 03:14:07.5', '-838:59:59.99', 2155, b'1010101010', 'blob')",
            "INSERT INTO t (id) VALUES (2)",
            "UPDATE t SET s = 'changed', j = '[]', u = 0 WHERE id = 1",
            "DELETE FROM t WHERE id = 2",
        ],
    );
    let events = block(async {
        let mut conn = cdc_conn().await;
        conn.query_drop("SET @mariadb_slave_capability = 4")
            .await
            .unwrap();
        let server_id = 7200 + std::process::id() % 500;
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(from.0.as_bytes())
            .with_pos(from.1);
        let mut stream = conn.get_binlog_stream(request).await.unwrap();
        let mut events = Vec::new(); // (rows kind, table map body, rows body)
        let mut tme_body = Vec::new();
        while events.len() < 4 {
            let event = tokio::time::timeout(std::time::Duration::from_secs(30), stream.next())
                .await
                .expect("four rows events within 30 s")
                .unwrap()
                .unwrap();
            match event.read_data().unwrap() {
                Some(EventData::TableMapEvent(tme)) if tme.database_name() == db.name => {
                    tme_body = event.data().to_vec()
                }
                Some(EventData::RowsEvent(rows)) if !tme_body.is_empty() => {
                    let kind = match rows {
                        RowsEventData::WriteRowsEventV1(_) => 0u8,
                        RowsEventData::UpdateRowsEventV1(_) => 1,
                        RowsEventData::DeleteRowsEventV1(_) => 2,
                        other => panic!("MariaDB sends v1 rows events, got {other:?}"),
                    };
                    let tme = stream.get_tme(rows.table_id()).unwrap();
                    let layout = BinlogImageLayout::new(tme).unwrap();
                    assert!(layout.handles(&rows));
                    let decoded = layout.event_rows(&rows).expect("the whole event decodes");
                    if kind == 0 && events.is_empty() {
                        // Regression (binlog_rows fuzz target): a negative TIME(2) with a
                        // fraction, which mysql_common 0.35.5 reads as -213:59:59.99.
                        let tm = decoded[0].1.as_ref().unwrap()[11].clone();
                        assert_eq!(
                            tm,
                            Some(BinlogValue::Value(Value::Time(
                                true, 34, 22, 59, 59, 990_000
                            ))),
                            "-838:59:59.99"
                        );
                    }
                    events.push((kind, tme_body.clone(), event.data().to_vec(), layout));
                }
                _ => {}
            }
        }
        stream.close().await.unwrap();
        events
    });
    // A table map whose DECIMAL metadata no server writes (scale 40 > precision 12): refused by
    // the layout, not handed to mysql_common, which allocated by it and aborted (fuzz finding).
    let (_, tme_body, _, _) = &events[0];
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let tme = ParseBuf(tme_body)
        .parse::<TableMapEvent<'_>>(BinlogCtx::new(19 + tme_body.len(), &fde))
        .unwrap();
    let decimal = (0..tme.columns_count() as usize)
        .find(|&i| {
            matches!(
                tme.get_column_type(i),
                Ok(Some(ColumnType::MYSQL_TYPE_NEWDECIMAL))
            )
        })
        .unwrap();
    let meta = tme.get_column_metadata(decimal).unwrap();
    assert_eq!(meta, [12, 3], "DECIMAL(12, 3)");
    let at = find(tme_body, meta);
    let mut broken = tme_body.clone();
    broken[at + 1] = 40;
    let tme = ParseBuf(&broken)
        .parse::<TableMapEvent<'_>>(BinlogCtx::new(19 + broken.len(), &fde))
        .unwrap();
    let e = BinlogImageLayout::new(&tme)
        .err()
        .expect("a DECIMAL with scale 40 of precision 12");
    assert_eq!(
        e.to_string(),
        "DECIMAL column 2 with metadata [12, 40]: no DECIMAL has that precision and scale"
    );

    for (kind, tme_body, rows_body, layout) in &events {
        write_seed(*kind, tme_body, rows_body);
        // Every cut inside the row images: the rows start after the post-header (table id 6,
        // flags 2), the column count and the column bitmaps; cutting anywhere in them must fail.
        let images_start = rows_body.len() - parse_rows(*kind, rows_body).rows_data().len();
        for cut in images_start + 1..rows_body.len() {
            let Some(rows) = try_parse_rows(*kind, &rows_body[..cut]) else {
                continue;
            };
            let e = layout.event_rows(&rows).expect_err(&format!(
                "a row image cut at {cut} of {} decoded",
                rows_body.len()
            ));
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::Other
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }
    block(db.drop_db());
}

/// Where `needle` starts in `haystack` (once: the metadata block of a table map).
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} occurs {} times", hits.len());
    hits[0]
}

fn db_exec(db: &TestDb, statements: &[&str]) {
    block(db.exec(statements));
}

fn parse_rows(kind: u8, body: &[u8]) -> RowsEventData<'_> {
    try_parse_rows(kind, body).expect("a rows event")
}

/// A v1 rows event body (MariaDB's) as mysql_common reads it; None if the header is cut.
fn try_parse_rows(kind: u8, body: &[u8]) -> Option<RowsEventData<'_>> {
    use mysql_common::binlog::events::{DeleteRowsEventV1, UpdateRowsEventV1, WriteRowsEventV1};
    let fde = Box::leak(Box::new(FormatDescriptionEvent::new(
        BinlogVersion::Version4,
    )));
    let ctx = || BinlogCtx::new(19 + body.len(), fde);
    let mut buf = ParseBuf(body);
    match kind {
        0 => buf
            .parse::<WriteRowsEventV1<'_>>(ctx())
            .ok()
            .map(RowsEventData::WriteRowsEventV1),
        1 => buf
            .parse::<UpdateRowsEventV1<'_>>(ctx())
            .ok()
            .map(RowsEventData::UpdateRowsEventV1),
        _ => buf
            .parse::<DeleteRowsEventV1<'_>>(ctx())
            .ok()
            .map(RowsEventData::DeleteRowsEventV1),
    }
}

/// A `binlog_rows` fuzz input (fuzz/src/lib.rs): kind, u16 table-map length, table map, rows.
fn write_seed(kind: u8, tme_body: &[u8], rows_body: &[u8]) {
    let Some(dir) = std::env::var_os("FUZZ_SEEDS_DIR") else {
        return;
    };
    let mut seed = vec![kind];
    seed.extend_from_slice(&u16::try_from(tme_body.len()).unwrap().to_le_bytes());
    seed.extend_from_slice(tme_body);
    seed.extend_from_slice(rows_body);
    let name = format!("mariadb-{}-{kind}-{}", rows_body.len(), crc(&seed));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(std::path::Path::new(&dir).join(name), seed).unwrap();
}

fn crc(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// Found by the `binlog_rows` fuzz target: a table map without columns made every image zero
/// bytes long, and the loop over an event's images never ended (memory grew until the process
/// died). The layout refuses such a map; the binlog reader then fails naming it.
#[test]
fn a_table_map_without_columns_is_refused() {
    // table id (6), flags (2), database and table names (length, bytes, NUL), no columns, no
    // metadata, no null bitmap.
    let mut body = vec![1, 0, 0, 0, 0, 0, 1, 0];
    for name in ["shop", "t"] {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(&[0, 0]);
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let tme = ParseBuf(&body)
        .parse::<TableMapEvent<'_>>(BinlogCtx::new(19 + body.len(), &fde))
        .unwrap();
    assert_eq!(tme.columns_count(), 0);
    let e = BinlogImageLayout::new(&tme)
        .err()
        .expect("a table map without columns");
    assert_eq!(e.to_string(), "the table map of shop.t has no columns");
}

/// Found by the `binlog_rows` fuzz target: a column of MySQL's internal typed-array type whose
/// one metadata byte names ENUM made mysql_common read a second metadata byte that is not there
/// (an index panic). No table column has that type; the layout refuses it.
#[test]
fn a_typed_array_column_is_refused() {
    // table id (6), flags (2), names, 1 column of type 20 (typed array), metadata of 1 byte:
    // ENUM (247), null bitmap.
    let mut body = vec![1, 0, 0, 0, 0, 0, 1, 0];
    for name in ["shop", "t"] {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(&[1, 20, 1, 247, 0]);
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let tme = ParseBuf(&body)
        .parse::<TableMapEvent<'_>>(BinlogCtx::new(19 + body.len(), &fde))
        .unwrap();
    assert_eq!(
        tme.get_column_type(0).unwrap(),
        Some(ColumnType::MYSQL_TYPE_TYPED_ARRAY)
    );
    let e = BinlogImageLayout::new(&tme)
        .err()
        .expect("a typed-array column");
    assert_eq!(
        e.to_string(),
        "column 0 has MySQL's internal typed-array type, which no table column has"
    );
}
