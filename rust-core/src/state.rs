//! Versioned serialization of checkpointed state (splits, enumerator state) with serde and
//! bincode 2. Every blob starts with the connector's `STATE_VERSION` (u32, little-endian), so a
//! restore from another version fails with a message that names both versions.

use serde::de::DeserializeOwned;
use serde::Serialize;

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

pub fn encode<T: Serialize>(version: u32, value: &T) -> Result<Vec<u8>> {
    let mut out = version.to_le_bytes().to_vec();
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| BridgeError::other(format!("cannot serialize state: {e}")))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(what: &'static str, version: u32, bytes: &[u8]) -> Result<T> {
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
    if found != version {
        return Err(BridgeError::state(
            what,
            format!(
                "it was written with state version {found} but this connector reads version \
                 {version}: a checkpoint of another release of the connector (restore with the \
                 bridge version that wrote it, or start without state), or {NOT_OURS}"
            ),
        ));
    }
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
