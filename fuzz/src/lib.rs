//! The checks behind the fuzz targets, one public function per target. Each must hold for any
//! input: no panic (an error is a fine answer to garbage), and where there is a second opinion
//! (mysql_common's row decoder, a canonical text form, a state round trip) agreement with it.
//!
//! | target        | what it feeds                                                            |
//! |---------------|--------------------------------------------------------------------------|
//! | `binlog_rows` | a table-map event and a rows event: `BinlogImageLayout` vs `BinlogRow`   |
//! | `snapshot_rows` | column types and a binary-protocol row packet: `BinaryRowReader` vs mysql_common's `RowDeserializer` |
//! | `gtid`        | MariaDB GTID event bodies, MariaDB positions and lists, MySQL GTID sets and Previous_gtids bodies |
//! | `options`     | option maps and column types for every connector, through the registry   |
//! | `state`       | checkpointed enumerator state, splits, source events and split lists      |
//!
//! Inputs are raw bytes cut into fields by [`Input`], so that the seed corpora (`corpus/<target>`)
//! can hold real events and states and libFuzzer can mutate them in place.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use connector_mysql_cdc::position::gtid::GtidSet;
use connector_mysql_cdc::position::mariadb_gtid::{
    decode_gtid_event, parse_gtid_list, MariaGtid, MariaGtidPos,
};
use connector_mysql_cdc::value::{BinaryRowReader, BinlogImageLayout};
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::events::{
    DeleteRowsEvent, DeleteRowsEventV1, FormatDescriptionEvent, RowsEventData, TableMapEvent,
    UpdateRowsEvent, UpdateRowsEventV1, WriteRowsEvent, WriteRowsEventV1,
};
use mysql_common::binlog::value::BinlogValue;
use mysql_common::binlog::BinlogCtx;
use mysql_common::io::ParseBuf;
use rust_core::api::{EnumeratorInit, ReaderContext, ReaderInit, SourceFactory};
use rust_core::protocol::{decode_split_list, encode_split_list, SplitBytes};
use rust_core::registry::Registry;
use rust_core::runtime::{parse_projection, DynSource};
use rust_core::types::RowType;

/// A cursor over the input: a selector byte, length-prefixed fields, the rest.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    /// A field of at most 65535 bytes: u16 little-endian length, then the bytes (fewer if the
    /// input ends first).
    pub fn field(&mut self) -> &'a [u8] {
        let len = u16::from_le_bytes([self.byte(), self.byte()]) as usize;
        let (field, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        field
    }

    pub fn text(&mut self) -> String {
        String::from_utf8_lossy(self.field()).into_owned()
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// binlog_rows
// ---------------------------------------------------------------------------------------------

/// Header of a binlog event: what `BinlogCtx::event_size` counts besides the body.
const EVENT_HEADER_LEN: usize = 19;

/// Input: rows event kind (selector % 6: Write/Update/Delete v1 as MariaDB sends them, then v2
/// as MySQL does), the table-map event body as a field, the rows event body (the rest). Bodies
/// as `Event::data()` gives them: without header and checksum.
///
/// Checks: decoding never panics; for every event `BinlogImageLayout` handles, it splits the
/// images exactly as mysql_common's `BinlogRow` does, and decodes every event mysql_common does
/// (mysql_common may refuse more: it also checks table-map metadata the images do not use).
pub fn binlog_rows(data: &[u8]) {
    let mut input = Input(data);
    let kind = input.byte() % 6;
    let tme_body = input.field();
    let rows_body = input.rest();
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    let Some(tme) = parse_event::<TableMapEvent<'_>>(&fde, tme_body) else {
        return;
    };
    let rows = match kind {
        0 => parse_event::<WriteRowsEventV1<'_>>(&fde, rows_body)
            .map(RowsEventData::WriteRowsEventV1),
        1 => parse_event::<UpdateRowsEventV1<'_>>(&fde, rows_body)
            .map(RowsEventData::UpdateRowsEventV1),
        2 => parse_event::<DeleteRowsEventV1<'_>>(&fde, rows_body)
            .map(RowsEventData::DeleteRowsEventV1),
        3 => parse_event::<WriteRowsEvent<'_>>(&fde, rows_body).map(RowsEventData::WriteRowsEvent),
        4 => {
            parse_event::<UpdateRowsEvent<'_>>(&fde, rows_body).map(RowsEventData::UpdateRowsEvent)
        }
        _ => {
            parse_event::<DeleteRowsEvent<'_>>(&fde, rows_body).map(RowsEventData::DeleteRowsEvent)
        }
    };
    let Some(rows) = rows else { return };
    let Ok(layout) = BinlogImageLayout::new(&tme) else {
        return;
    };
    if !layout.handles(&rows) {
        return;
    }
    let ours = layout.event_rows(&rows);
    // mysql_common 0.35.5 wraps (here: panics, overflow checks are on) on negative TIME(1) and
    // TIME(2) values with a fraction; the layout decodes those itself (value/binlog_image.rs,
    // time2_hundredths), so there is no reference for them.
    let hundredths = (0..tme.columns_count() as usize).any(|i| {
        matches!(
            tme.get_column_type(i),
            Ok(Some(mysql_common::constants::ColumnType::MYSQL_TYPE_TIME2))
        ) && matches!(
            tme.get_column_metadata(i).and_then(|m| m.first()),
            Some(1 | 2)
        )
    });
    if hundredths {
        return;
    }
    let reference: std::io::Result<Vec<_>> = rows
        .rows(&tme)
        .map(|row| {
            let (before, after) = row?;
            Ok((before.map(row_values), after.map(row_values)))
        })
        .collect();
    match (ours, reference) {
        // As text: a DOUBLE image may hold NaN, which equals nothing, itself included.
        (Ok(ours), Ok(reference)) => {
            assert_eq!(
                format!("{ours:?}"),
                format!("{reference:?}"),
                "BinlogImageLayout and BinlogRow disagree"
            )
        }
        // What mysql_common reads, the layout must read too.
        (Err(e), Ok(_)) => {
            panic!("BinlogImageLayout fails where mysql_common's BinlogRow decodes: {e}")
        }
        // mysql_common also checks table-map metadata the images do not use (it builds full
        // column definitions for every row): it may refuse a map whose images split fine.
        (Ok(_), Err(_)) | (Err(_), Err(_)) => {}
    }
}

type Image = Vec<Option<BinlogValue<'static>>>;

/// A `BinlogRow` as the layout's decoder returns images: every column, owned.
fn row_values(mut row: mysql_common::binlog::row::BinlogRow) -> Image {
    (0..row.len())
        .map(|i| row.take(i).map(BinlogValue::into_owned))
        .collect()
}

/// Parses an event body as `Event::read_event` does: the whole body, nothing left over.
fn parse_event<'a, T>(fde: &'a FormatDescriptionEvent<'a>, body: &'a [u8]) -> Option<T>
where
    T: mysql_common::proto::MyDeserialize<'a, Ctx = BinlogCtx<'a>>,
{
    let mut buf = ParseBuf(body);
    let event = buf
        .parse::<T>(BinlogCtx::new(EVENT_HEADER_LEN + body.len(), fde))
        .ok()?;
    buf.is_empty().then_some(event)
}

// ---------------------------------------------------------------------------------------------
// snapshot_rows
// ---------------------------------------------------------------------------------------------

/// The result-set column types a snapshot reads, each with and without UNSIGNED (selector / 2
/// picks the type, selector % 2 the flag).
const SNAPSHOT_TYPES: [mysql_common::constants::ColumnType; 17] = {
    use mysql_common::constants::ColumnType::*;
    [
        MYSQL_TYPE_TINY,
        MYSQL_TYPE_SHORT,
        MYSQL_TYPE_YEAR,
        MYSQL_TYPE_LONG,
        MYSQL_TYPE_INT24,
        MYSQL_TYPE_LONGLONG,
        MYSQL_TYPE_FLOAT,
        MYSQL_TYPE_DOUBLE,
        MYSQL_TYPE_NEWDECIMAL,
        MYSQL_TYPE_VAR_STRING,
        MYSQL_TYPE_STRING,
        MYSQL_TYPE_BLOB,
        MYSQL_TYPE_DATETIME,
        MYSQL_TYPE_TIMESTAMP,
        MYSQL_TYPE_DATE,
        MYSQL_TYPE_TIME,
        MYSQL_TYPE_NULL,
    ]
};

/// Input: column count (selector % 24 + 1), one type selector per column, the row packet (the
/// rest), as `QueryResult::next_raw` gives it for a prepared statement's result.
///
/// Checks: reading never panics; a packet `BinaryRowReader` accepts, mysql_common's binary row
/// decoder (the `Row` path the snapshot used before) decodes to the same values. The reader may
/// refuse more (bytes after the last value, 0xFB/0xFF lengths), never less.
pub fn snapshot_rows(data: &[u8]) {
    use mysql_common::constants::ColumnFlags;
    use mysql_common::packets::Column;
    use mysql_common::proto::{Binary, MyDeserialize};
    use mysql_common::row::RowDeserializer;
    use mysql_common::value::ServerSide;

    let mut input = Input(data);
    let count = usize::from(input.byte() % 24) + 1;
    let columns: std::sync::Arc<[Column]> = (0..count)
        .map(|_| {
            let selector = usize::from(input.byte());
            let flags = if selector % 2 == 1 {
                ColumnFlags::UNSIGNED_FLAG
            } else {
                ColumnFlags::empty()
            };
            Column::new(SNAPSHOT_TYPES[(selector / 2) % SNAPSHOT_TYPES.len()]).with_flags(flags)
        })
        .collect();
    let packet = input.rest();
    let mut reader =
        BinaryRowReader::from_types(columns.iter().map(|c| (c.column_type(), c.flags())));
    let Ok(ours) = reader.read_values(packet) else {
        return;
    };
    let reference =
        RowDeserializer::<ServerSide, Binary>::deserialize(columns, &mut ParseBuf(packet))
            .unwrap_or_else(|e| {
                panic!("BinaryRowReader read a packet mysql_common refuses ({e}): {ours:?}")
            });
    let reference: Vec<_> = mysql_common::row::Row::from(reference).unwrap();
    // As text: a DOUBLE may be NaN, which equals nothing, itself included.
    assert_eq!(
        format!("{ours:?}"),
        format!("{reference:?}"),
        "BinaryRowReader vs mysql_common"
    );
}

// ---------------------------------------------------------------------------------------------
// gtid
// ---------------------------------------------------------------------------------------------

/// Input: selector, then bytes. Selector % 3: a MariaDB GTID event body (server id from the
/// first 4 bytes); MariaDB GTID text; a MySQL GTID set text and a Previous_gtids body.
///
/// Checks: no panic; a decoded GTID event holds the bytes it came from; every position and set
/// that parses prints in a canonical form that parses back to itself.
pub fn gtid(data: &[u8]) {
    let mut input = Input(data);
    match input.byte() % 3 {
        0 => {
            let server =
                u32::from_le_bytes([input.byte(), input.byte(), input.byte(), input.byte()]);
            let body = input.rest();
            match decode_gtid_event(body, server) {
                Ok(event) => {
                    assert!(body.len() >= 13);
                    assert_eq!(event.gtid.seq.to_le_bytes(), body[0..8]);
                    assert_eq!(event.gtid.domain.to_le_bytes(), body[8..12]);
                    assert_eq!(event.gtid.server, server);
                }
                Err(e) => assert!(
                    body.len() < 13 && e.contains("malformed MariaDB GTID event"),
                    "{e}"
                ),
            }
        }
        1 => {
            let text = String::from_utf8_lossy(input.rest()).into_owned();
            if let Ok(pos) = MariaGtidPos::parse(&text) {
                let canonical = pos.to_string();
                assert_eq!(
                    MariaGtidPos::parse(&canonical).as_ref(),
                    Ok(&pos),
                    "'{text}' -> '{canonical}'"
                );
            }
            if let Ok(list) = parse_gtid_list(&text) {
                for gtid in list {
                    assert_eq!(MariaGtid::parse(&gtid.to_string()), Ok(gtid));
                    assert!(MariaGtid::looks_like(&gtid.to_string()));
                }
            }
        }
        _ => {
            let text = input.text();
            let previous = input.rest();
            let parsed = GtidSet::parse(&text);
            if let Ok(set) = &parsed {
                let canonical = set.to_string();
                assert_eq!(
                    GtidSet::parse(&canonical).as_ref(),
                    Ok(set),
                    "'{text}' -> '{canonical}'"
                );
                assert!(set.difference(set).is_empty());
            }
            if let Ok(prev) = GtidSet::decode_previous_gtids(previous) {
                let canonical = prev.to_string();
                assert_eq!(
                    GtidSet::parse(&canonical).as_ref(),
                    Ok(&prev),
                    "Previous_gtids -> '{canonical}'"
                );
                if let Ok(set) = parsed {
                    // The union holds both; taking one away leaves nothing of it.
                    let mut union = set.clone();
                    union.union(&prev);
                    assert!(
                        set.difference(&union).is_empty() && prev.difference(&union).is_empty()
                    );
                    assert!(union.difference(&prev).difference(&set).is_empty());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

fn factories() -> Vec<Box<dyn SourceFactory>> {
    vec![
        Box::new(connector_datagen::DatagenFactory),
        Box::new(connector_testkit::TestkitFactory),
        Box::new(connector_mysql_cdc::MySqlCdcFactory),
    ]
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::new(factories()))
}

/// Column types a table may declare, and a few it may not.
const TYPES: &[&str] = &[
    "BIGINT",
    "BIGINT NOT NULL",
    "INT",
    "SMALLINT",
    "TINYINT",
    "BOOLEAN",
    "FLOAT",
    "DOUBLE",
    "DECIMAL(10, 2)",
    "DECIMAL(38, 0)",
    "STRING",
    "VARCHAR(5)",
    "CHAR(3)",
    "BYTES",
    "BINARY(4)",
    "DATE",
    "TIME(3)",
    "TIMESTAMP(3)",
    "TIMESTAMP_LTZ(3)",
    "TIMESTAMP(9)",
    "ARRAY<INT>",
    "DECIMAL(99, 2)",
    "ARRAY<STRING>",
];

/// Input: connector selector, column count, per column a name field and a type (a byte choosing
/// from [`TYPES`], or a text field when the byte is 0xFF), then option pairs. A key is a byte
/// choosing a declared key of the connector (column placeholders filled with the first column)
/// or, for 0xFF, a text field; each value is a text field.
///
/// Checks: no panic; a rejected definition is a user error (Flink's ValidationException, not an
/// internal one), and the password never appears in a message.
pub fn options(data: &[u8]) {
    let mut input = Input(data);
    let factories = factories();
    let connector_index = input.byte() as usize;
    let (connector, specs): (String, &[rust_core::options::OptionSpec]) =
        match factories.get(connector_index % 4) {
            Some(f) => (f.identifier().to_string(), f.options()),
            None => ("rust-nope".to_string(), &[]),
        };
    let columns = (input.byte() % 5) as usize;
    let mut names = Vec::new();
    let mut types = Vec::new();
    for _ in 0..columns {
        names.push(input.text());
        let choice = input.byte();
        types.push(if choice == 0xFF {
            input.text()
        } else {
            TYPES[choice as usize % TYPES.len()].to_string()
        });
    }
    let mut options = BTreeMap::new();
    while !input.is_empty() {
        let choice = input.byte();
        let key = match specs.get(choice as usize % specs.len().max(1)) {
            Some(spec) if choice != 0xFF => {
                spec.key_for(names.first().map_or("id", String::as_str))
            }
            _ => input.text(),
        };
        options.insert(key, input.text());
    }
    let Ok(row_type) = RowType::parse(&names, &types) else {
        return;
    };
    if let Some(projection) = options.get(rust_core::runtime::PROJECTION_OPTION) {
        let _ = parse_projection(projection, row_type.arity());
    }
    match registry().create_source(&connector, options.clone(), &row_type) {
        Ok(source) => {
            let _ = source.boundedness();
        }
        Err(e) => assert!(
            e.is_validation(),
            "bad options must be a user error, got: {e}"
        ),
    }
    // The same definition with a password nothing else contains: it must not appear in any
    // message (the given password may be a word of the message, such as "host").
    if options.contains_key("password") {
        const SENTINEL: &str = "pw-S3NT1NEL-\u{7f}";
        options.insert("password".into(), SENTINEL.into());
        if let Err(e) = registry().create_source(&connector, options, &row_type) {
            assert!(
                !e.to_string().contains(SENTINEL),
                "the password appears in: {e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------------------------

/// One valid source per connector, created once: what state is restored into.
fn sources() -> &'static [(&'static str, Box<dyn DynSource>)] {
    static SOURCES: OnceLock<Vec<(&'static str, Box<dyn DynSource>)>> = OnceLock::new();
    SOURCES.get_or_init(|| {
        let id = RowType::parse(&["id"], &["BIGINT NOT NULL"]).unwrap();
        let options = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let make = |connector: &'static str, pairs: &[(&str, &str)]| {
            (
                connector,
                registry()
                    .create_source(connector, options(pairs), &id)
                    .expect(connector),
            )
        };
        vec![
            make("rust-datagen", &[("number-of-rows", "1000")]),
            make("rust-testkit", &[("rows", "1000")]),
            make(
                "rust-mysql-cdc",
                &[
                    ("hostname", "127.0.0.1"),
                    ("username", "u"),
                    ("password", "p"),
                    ("database-name", "d"),
                    ("table-name", "t"),
                    ("server-id", "5400-5403"),
                ],
            ),
        ]
    })
}

/// The state version each of [`sources`] writes today (its `Source::STATE_VERSION`): the header
/// of its fresh enumerator's state, read once.
fn state_versions() -> &'static [[u8; 4]] {
    static VERSIONS: OnceLock<Vec<[u8; 4]>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        sources()
            .iter()
            .map(|(_, source)| {
                let mut enumerator = source
                    .create_enumerator(&EnumeratorInit { parallelism: 2 }, None)
                    .unwrap();
                enumerator.snapshot_state(0).unwrap()[..4]
                    .try_into()
                    .unwrap()
            })
            .collect()
    })
}

/// Input: selector, then the payload. Selector bits 0-1 choose the connector, bits 2-4 what the
/// payload is: enumerator state, a split given back to the enumerator, a reader event for the
/// enumerator, a split added to a reader (not for rust-mysql-cdc, whose readers connect), or a
/// split list as the bridge's protocol carries it. Bit 7 prefixes the payload with the current
/// state version, so mutations get past the version check; bit 6 (without bit 7) with version 1,
/// so a connector's upgrade of its oldest state (rust-mysql-cdc's `state_v1.rs`) is fuzzed too.
///
/// Checks: no panic; restored enumerator state snapshots to bytes that restore to the same
/// bytes; a split list that decodes encodes back to its input.
pub fn state(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.byte();
    let body = input.rest();
    let sources = sources();
    let index = (selector & 3) as usize % sources.len();
    let (connector, source) = &sources[index];
    let payload: Vec<u8> = if selector & 0x80 != 0 {
        state_versions()[index]
            .iter()
            .chain(body)
            .copied()
            .collect()
    } else if selector & 0x40 != 0 {
        1u32.to_le_bytes().iter().chain(body).copied().collect()
    } else {
        body.to_vec()
    };
    let init = EnumeratorInit { parallelism: 2 };
    match (selector >> 2) & 7 {
        0 => {
            if let Ok(mut enumerator) = source.create_enumerator(&init, Some(&payload)) {
                let first = enumerator
                    .snapshot_state(1)
                    .expect("snapshot of restored state");
                let mut again = source
                    .create_enumerator(&init, Some(&first))
                    .expect("restore of a snapshot");
                let second = again
                    .snapshot_state(2)
                    .expect("snapshot of restored snapshot");
                assert_eq!(
                    first, second,
                    "{connector}: enumerator state does not round-trip"
                );
            }
        }
        1 => {
            let mut enumerator = source.create_enumerator(&init, None).unwrap();
            let split = SplitBytes {
                id: "fuzz".into(),
                state: payload,
            };
            if enumerator.add_splits_back(vec![split], 0).is_ok() {
                enumerator
                    .snapshot_state(1)
                    .expect("snapshot after a split came back");
            }
        }
        2 => {
            let mut enumerator = source.create_enumerator(&init, None).unwrap();
            let _ = enumerator.add_reader(0);
            let _ = enumerator.handle_source_event(0, &payload);
        }
        3 if *connector != "rust-mysql-cdc" => {
            let init = ReaderInit::new(0, 1, 16);
            let mut reader = source.create_reader(&init).unwrap();
            let mut ctx = ReaderContext::new(init);
            let split = SplitBytes {
                id: "fuzz".into(),
                state: payload,
            };
            if reader.add_splits(vec![split], &mut ctx).is_ok() {
                reader
                    .snapshot_state(1)
                    .expect("snapshot after a split was added");
            }
            let _ = reader.close();
        }
        _ => {
            if let Ok(splits) = decode_split_list(&payload) {
                let mut encoded = Vec::new();
                encode_split_list(&mut encoded, &splits);
                assert_eq!(
                    encoded, payload,
                    "a split list that decodes must encode back to itself"
                );
            }
        }
    }
}
