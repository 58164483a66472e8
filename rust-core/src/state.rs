//! Versioned serialization of checkpointed state (splits, enumerator state) and of in-job
//! messages with serde and bincode 2, and the rule that makes checkpoints upgradeable.
//!
//! Every blob starts with a version (u32, little-endian). Two kinds, versioned apart:
//! - Checkpoint formats (a connector's `Source::STATE_VERSION`): a savepoint outlives the jar
//!   that wrote it, so [`decode_split`] and [`decode_enumerator_state`] read every version from
//!   1 up to the current one: the current one directly, older ones through the connector's
//!   `Source::upgrade_split`/`upgrade_enumerator_state`, which decode the version's frozen types
//!   ([`decode_body`]) and convert them. A version newer than the running jar (a downgrade) is
//!   refused with a message naming both versions.
//! - In-job messages (source events between enumerator and readers, results of background
//!   calls): both ends run in one job from one jar, so [`decode`] accepts only the version it is
//!   given and nothing is upgraded. (Bytes a checkpoint points to, such as rust-mysql-cdc's spill
//!   segments, outlive the job: their versions follow the checkpoint rule.)
//!
//! bincode's encoding is positional: any change to a type in a checkpoint changes the format,
//! so it needs a new `STATE_VERSION`, frozen types for the old one and an upgrade
//! (docs/architecture.md, "State versions"; golden bytes under `testdata/state/` catch a change
//! made without).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::Source;
use crate::error::{BridgeError, Result};

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The most bytes one decode may claim for containers (strings, byte vectors). bincode checks
/// each length read against it before allocating; without a limit it allocates whatever length
/// the bytes claim first, and a damaged length of 2^40 aborted the process, the JVM with it
/// (found by the `state` fuzz target). Far above any real state; an allocation of this size
/// that the reader then cannot fill is only reserved, not touched.
const DECODE_LIMIT: usize = 1 << 30;

type DecodeConfig = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
>;

fn decode_config() -> DecodeConfig {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// The cause and the fix of state that does not decode.
const NOT_OURS: &str = "the checkpoint is damaged or was written by another connector (a savepoint \
     restored into a job whose source at this operator changed): restore from another checkpoint or \
     savepoint of this job, or start without state";
/// The same for a source event (`decode` serves those too): both ends run in one job.
const NOT_OURS_EVENT: &str =
    "the event is damaged, or the enumerator and the readers run different \
     versions of the connector: run the whole job from one bridge jar";

fn hint(what: &str) -> &'static str {
    if what.ends_with("event") {
        NOT_OURS_EVENT
    } else {
        NOT_OURS
    }
}

/// A version header (`version`, u32 little-endian) followed by `value` in bincode: the form of
/// every checkpointed blob and in-job message. Fails only if `value` does not serialize.
pub fn encode<T: Serialize>(version: u32, value: &T) -> Result<Vec<u8>> {
    let mut out = version.to_le_bytes().to_vec();
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| BridgeError::other(format!("cannot serialize state: {e}")))?;
    Ok(out)
}

/// The version of `bytes` and the body after it; bytes without a plausible version header fail.
fn split_version<'a>(what: &'static str, bytes: &'a [u8]) -> Result<(u32, &'a [u8])> {
    let (head, body) = bytes.split_first_chunk::<4>().ok_or_else(|| {
        BridgeError::state(
            what,
            format!(
                "only {} bytes, no version header; {}",
                bytes.len(),
                hint(what)
            ),
        )
    })?;
    let found = u32::from_le_bytes(*head);
    // Versions count up from 1: anything far beyond is no version header at all.
    if found == 0 || found > 0xFFFF {
        return Err(BridgeError::state(
            what,
            format!(
                "the bytes do not start with a state version (found {found:#010x}); {}",
                hint(what)
            ),
        ));
    }
    Ok((found, body))
}

/// Decodes the body of a blob (the bytes after its version header) as `T`, all of it. For a
/// connector's upgrade hooks, which decode an older version's frozen types.
pub fn decode_body<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T> {
    // Bytes that pass the version check but do not decode were damaged, or written by another
    // connector (connectors count versions from 1 each): say both, and what to do.
    let (value, read) = bincode::serde::decode_from_slice(body, decode_config()).map_err(|e| {
        BridgeError::state(
            what,
            format!("corrupt or incompatible bytes ({e}); {}", hint(what)),
        )
    })?;
    if read != body.len() {
        return Err(BridgeError::state(
            what,
            format!("{} trailing bytes; {}", body.len() - read, hint(what)),
        ));
    }
    Ok(value)
}

/// Decodes an in-job message (a source event, a background call's result) or other bytes that
/// never outlive the job: only `version` is accepted, as both ends run one jar. Checkpointed
/// state goes through [`decode_split`]/[`decode_enumerator_state`], which upgrade.
pub fn decode<T: DeserializeOwned>(what: &'static str, version: u32, bytes: &[u8]) -> Result<T> {
    let (found, body) = split_version(what, bytes)?;
    if found != version {
        return Err(BridgeError::state(
            what,
            format!(
                "it was written with version {found} but this connector reads version \
                 {version}; {}",
                hint(what)
            ),
        ));
    }
    decode_body(what, body)
}

/// Decodes checkpointed state of any version from 1 to `current`: `current` as `T`, an older
/// one through `upgrade(version, body)`. A newer one is a downgrade and fails, naming both.
pub fn decode_checkpoint<T: DeserializeOwned>(
    what: &'static str,
    current: u32,
    bytes: &[u8],
    upgrade: impl FnOnce(u32, &[u8]) -> Result<T>,
) -> Result<T> {
    let (found, body) = split_version(what, bytes)?;
    if found > current {
        return Err(BridgeError::state(
            what,
            format!(
                "it was written with state version {found} but this connector reads version \
                 {current} (and every earlier one): a checkpoint of a later release of the \
                 connector, which an earlier jar cannot read (restore with the bridge version \
                 that wrote it or a later one, or start without state), or {NOT_OURS}"
            ),
        ));
    }
    if found < current {
        return upgrade(found, body);
    }
    decode_body(what, body)
}

/// A split `S` checkpointed with any of its state versions, upgraded to the current type.
pub fn decode_split<S: Source>(bytes: &[u8]) -> Result<S::Split> {
    decode_checkpoint("split", S::STATE_VERSION, bytes, S::upgrade_split)
}

/// `S`'s enumerator state checkpointed with any of its state versions, upgraded.
pub fn decode_enumerator_state<S: Source>(bytes: &[u8]) -> Result<S::EnumeratorState> {
    decode_checkpoint(
        "enumerator state",
        S::STATE_VERSION,
        bytes,
        S::upgrade_enumerator_state,
    )
}

/// The error of an upgrade hook that has no reader for `version` (the default hooks': a
/// connector at version 1 has nothing older to read).
pub fn no_upgrade(what: &'static str, version: u32, current: u32) -> BridgeError {
    BridgeError::state(
        what,
        format!(
            "it was written with state version {version}, which this connector (version \
             {current}) has no upgrade for; {NOT_OURS}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct S {
        a: u64,
        b: String,
    }

    #[test]
    fn round_trips_and_checks_the_version() {
        let s = S {
            a: 7,
            b: "x".into(),
        };
        let bytes = encode(3, &s).unwrap();
        assert_eq!(decode::<S>("split", 3, &bytes).unwrap(), s);
        let err = decode::<S>("split", 4, &bytes).unwrap_err().to_string();
        assert!(
            err.contains("version 3") && err.contains("version 4"),
            "{err}"
        );
        assert!(decode::<S>("split", 3, &bytes[..3]).is_err());
        assert!(decode::<S>("split", 3, &bytes[..bytes.len() - 1]).is_err());
    }

    /// A reader at version 2 whose version 1 had only `a`: the upgrade fills `b`.
    fn read_v2(bytes: &[u8]) -> Result<S> {
        decode_checkpoint("split", 2, bytes, |version, body| {
            assert_eq!(version, 1);
            let a: u64 = decode_body("split", body)?;
            Ok(S {
                a,
                b: "from v1".into(),
            })
        })
    }

    #[test]
    fn checkpoints_of_every_earlier_version_are_upgraded() {
        let s = S {
            a: 7,
            b: "x".into(),
        };
        assert_eq!(read_v2(&encode(2, &s).unwrap()).unwrap(), s);
        assert_eq!(
            read_v2(&encode(1, &9u64).unwrap()).unwrap(),
            S {
                a: 9,
                b: "from v1".into()
            }
        );
        // Damaged version 1 bytes fail as damaged, through the upgrade's decode.
        let err = read_v2(&encode(1, &s).unwrap()).unwrap_err().to_string();
        assert!(err.contains("trailing bytes"), "{err}");
    }

    #[test]
    fn a_checkpoint_of_a_later_release_names_both_versions_and_the_fix() {
        let err = read_v2(&encode(3, &0u64).unwrap()).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "cannot restore split: it was written with state version 3 but this connector \
                 reads version 2 (and every earlier one)"
            ) && err.contains("restore with the bridge version that wrote it or a later one"),
            "{err}"
        );
        let err = no_upgrade("split", 1, 2).to_string();
        assert!(
            err.contains("state version 1, which this connector (version 2) has no upgrade for"),
            "{err}"
        );
    }

    /// Found by the `state` fuzz target: a string length of 2^40 in damaged state made bincode
    /// allocate a terabyte before reading, and the failed allocation aborted the process.
    #[test]
    fn a_damaged_length_is_an_error_not_an_allocation() {
        let mut bytes = encode(
            3,
            &S {
                a: 7,
                b: String::new(),
            },
        )
        .unwrap();
        bytes.pop(); // the empty string's length
        bytes.push(0xFD); // varint: a u64 follows
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = decode::<S>("split", 3, &bytes).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot restore split: corrupt or incompatible bytes"),
            "{err}"
        );
        assert!(err.contains("start without state"), "{err}");
    }
}
