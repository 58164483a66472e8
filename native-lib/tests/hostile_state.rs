//! Hostile checkpoint state and bridge messages, for every connector the library serves: damaged
//! bytes, another release's state version, another connector's state, truncated splits, source
//! events that are not events, split lists with absurd counts. Each must fail with an error that
//! names the cause and the fix (docs/troubleshooting.md quotes them), never panic or abort.
//! No server needed: sources are created without connecting.

use std::collections::BTreeMap;

use rust_core::api::{EnumeratorInit, ReaderContext, ReaderInit, SourceFactory};
use rust_core::protocol::{decode_split_list, SplitBytes};
use rust_core::registry::Registry;
use rust_core::runtime::DynSource;
use rust_core::types::RowType;

fn registry() -> Registry {
    let factories: Vec<Box<dyn SourceFactory>> = vec![
        Box::new(connector_datagen::DatagenFactory),
        Box::new(connector_testkit::TestkitFactory),
        Box::new(connector_mysql_cdc::MySqlCdcFactory),
    ];
    Registry::new(factories)
}

/// One source per connector, over one BIGINT column `id`.
fn sources() -> Vec<(&'static str, Box<dyn DynSource>)> {
    let registry = registry();
    let row_type = RowType::parse(&["id"], &["BIGINT NOT NULL"]).unwrap();
    let make = |connector: &'static str, pairs: &[(&str, &str)]| {
        let options: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (
            connector,
            registry
                .create_source(connector, options, &row_type)
                .unwrap(),
        )
    };
    vec![
        make(
            "rust-datagen",
            &[
                ("number-of-rows", "1000"),
                ("fields.id.kind", "sequence"),
                ("fields.id.start", "1"),
                ("fields.id.end", "1000"),
            ],
        ),
        make("rust-testkit", &[("rows", "1000")]),
        make(
            "rust-mysql-cdc",
            &[
                ("hostname", "127.0.0.1"),
                ("username", "u"),
                ("password", "hostile-secret"),
                ("database-name", "shop"),
                ("table-name", "orders"),
                ("server-id", "5400-5403"),
            ],
        ),
    ]
}

/// The error of a call that must fail (its success value has no Debug).
fn err<T>(result: rust_core::Result<T>) -> String {
    match result {
        Ok(_) => panic!("the call succeeded"),
        Err(e) => e.to_string(),
    }
}

const INIT: EnumeratorInit = EnumeratorInit { parallelism: 2 };

/// A real checkpoint of each connector's enumerator, as Flink would hold it.
fn enumerator_state(source: &dyn DynSource) -> Vec<u8> {
    let mut enumerator = source.create_enumerator(&INIT, None).unwrap();
    // mysql-cdc's start discovers tables on a worker thread; its state is fine without it.
    enumerator.snapshot_state(1).unwrap()
}

fn restore_error(source: &dyn DynSource, bytes: &[u8]) -> String {
    match source.create_enumerator(&INIT, Some(bytes)) {
        Ok(_) => panic!("{} bytes restored without error", bytes.len()),
        Err(e) => {
            assert!(
                !e.is_validation(),
                "a state error is not a planning error: {e}"
            );
            e.to_string()
        }
    }
}

#[test]
fn corrupted_enumerator_state_names_the_cause_and_the_fix() {
    for (connector, source) in sources() {
        // The version header intact, the body garbage.
        let mut bytes = enumerator_state(source.as_ref())[..4].to_vec();
        bytes.extend_from_slice(&[0xFF; 7]);
        let e = restore_error(source.as_ref(), &bytes);
        assert!(
            e.starts_with("cannot restore enumerator state: corrupt or incompatible bytes (")
                && e.contains("the checkpoint is damaged or was written by another connector")
                && e.contains("restore from another checkpoint or savepoint of this job, or start without state"),
            "{connector}: {e}"
        );
        // No header at all, and bytes that are not a version.
        let e = restore_error(source.as_ref(), &[]);
        assert!(
            e.contains("only 0 bytes, no version header") && e.contains("start without state"),
            "{connector}: {e}"
        );
        let e = restore_error(source.as_ref(), b"{\"pending\": []}");
        assert!(
            e.contains("the bytes do not start with a state version (found 0x6570227b)"),
            "{connector}: {e}"
        );
    }
}

#[test]
fn a_state_version_of_another_release_names_both_versions() {
    for (connector, source) in sources() {
        let mut bytes = enumerator_state(source.as_ref());
        let ours = u32::from_le_bytes(bytes[..4].try_into().unwrap());
        bytes[..4].copy_from_slice(&(ours + 1).to_le_bytes());
        let e = restore_error(source.as_ref(), &bytes);
        assert!(
            e.contains(&format!(
                "it was written with state version {} but this connector reads version {ours} \
                 (and every earlier one): a checkpoint of a later release",
                ours + 1
            )) && e.contains(
                "restore with the bridge version that wrote it or a later one, or start without state"
            ),
            "{connector}: {e}"
        );
    }
}

#[test]
fn state_of_another_connector_is_refused() {
    let sources = sources();
    for (from, writer) in &sources {
        let bytes = enumerator_state(writer.as_ref());
        for (to, reader) in &sources {
            if from == to {
                assert!(
                    reader.create_enumerator(&INIT, Some(&bytes)).is_ok(),
                    "{to} restores its own state"
                );
                continue;
            }
            let e = restore_error(reader.as_ref(), &bytes);
            assert!(
                e.contains("the checkpoint is damaged or was written by another connector"),
                "{from} -> {to}: {e}"
            );
        }
    }
}

#[test]
fn truncated_and_foreign_splits_are_refused_by_enumerators_and_readers() {
    for (connector, source) in sources() {
        let mut enumerator = source.create_enumerator(&INIT, None).unwrap();
        let split = |state: &[u8]| {
            vec![SplitBytes {
                id: "s".into(),
                state: state.to_vec(),
            }]
        };
        // The version and a single byte of a split: truncated wherever the split has fields.
        let mut cut = enumerator_state(source.as_ref())[..4].to_vec();
        cut.push(1);
        let e = err(enumerator.add_splits_back(split(&cut), 0));
        assert!(
            e.starts_with("cannot restore split: corrupt or incompatible bytes")
                && e.contains("start without state"),
            "{connector}: {e}"
        );
        if connector == "rust-mysql-cdc" {
            continue; // its readers connect to the server when created
        }
        let init = ReaderInit::new(0, 1, 16);
        let mut reader = source.create_reader(&init).unwrap();
        let mut ctx = ReaderContext::new(init);
        let e = reader
            .add_splits(split(&cut), &mut ctx)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot restore split: corrupt or incompatible bytes"),
            "{connector}: {e}"
        );
        reader.close().unwrap();
    }
}

#[test]
fn malformed_reader_events_fail_the_enumerator_call_with_the_cause() {
    let sources = sources();
    let (_, cdc) = sources
        .iter()
        .find(|(c, _)| *c == "rust-mysql-cdc")
        .unwrap();
    let mut enumerator = cdc.create_enumerator(&INIT, None).unwrap();
    let e = err(enumerator.handle_source_event(0, &[1, 0, 0, 0, 9, 9, 9]));
    assert!(
        e.starts_with("cannot restore source event: corrupt or incompatible bytes")
            && e.contains("the enumerator and the readers run different versions of the connector"),
        "{e}"
    );
    let (_, testkit) = sources.iter().find(|(c, _)| *c == "rust-testkit").unwrap();
    let mut enumerator = testkit.create_enumerator(&INIT, None).unwrap();
    let e = err(enumerator.handle_source_event(0, b"finished:x"));
    assert_eq!(e, "testkit: unexpected event 'finished:x'");
}

#[test]
fn split_lists_with_impossible_counts_and_lengths_are_errors() {
    // A count of i32::MAX with nothing behind it.
    let e = decode_split_list(&i32::MAX.to_le_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "truncated message: need 4 bytes at offset 4");
    // One split whose id claims 2 GB.
    let mut bytes = 1i32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&i32::MAX.to_le_bytes());
    let e = decode_split_list(&bytes).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("truncated message: need {} bytes at offset 8", i32::MAX)
    );
    // A negative length.
    let mut bytes = 1i32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(-1i32).to_le_bytes());
    assert_eq!(
        decode_split_list(&bytes).unwrap_err().to_string(),
        "negative length"
    );
}
