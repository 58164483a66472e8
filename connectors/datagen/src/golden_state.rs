//! Golden checkpoint bytes of rust-datagen (`testdata/state/datagen-v1-*.bin`): the current
//! state version's samples encode to them byte for byte (a state type changed without a new
//! `STATE_VERSION` fails here) and decode back to them.

use rust_core::api::Source;
use rust_core::state::{decode_enumerator_state, decode_split, encode};
use rust_core::testing::{assert_golden_state, read_golden_state};

use crate::source::{DatagenEnumeratorState, DatagenSource, DatagenSplit};

#[test]
fn version_1_samples_encode_to_their_golden_bytes() {
    let version = <DatagenSource as Source>::STATE_VERSION;
    assert_eq!(
        version, 1,
        "a new version needs golden files, samples and an upgrade"
    );
    let split = DatagenSplit {
        id: 3,
        next: 1_500,
        end: Some(2_000),
    };
    let name = "datagen-v1-split.bin";
    assert_golden_state(name, &encode(version, &split).unwrap());
    let decoded = decode_split::<DatagenSource>(&read_golden_state(name)).unwrap();
    assert_eq!(
        (decoded.id, decoded.next, decoded.end),
        (3, 1_500, Some(2_000))
    );

    let state = DatagenEnumeratorState {
        pending: vec![
            DatagenSplit {
                id: 4,
                next: 2_000,
                end: Some(2_500),
            },
            DatagenSplit {
                id: 5,
                next: 0,
                end: None,
            },
        ],
        next_split_id: 6,
    };
    let name = "datagen-v1-enumerator.bin";
    assert_golden_state(name, &encode(version, &state).unwrap());
    let decoded = decode_enumerator_state::<DatagenSource>(&read_golden_state(name)).unwrap();
    assert_eq!(decoded, state);
    assert_eq!(decoded.pending[1].end, None);
}
