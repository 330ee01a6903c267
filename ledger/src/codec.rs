//! The one canonical binary encoding of the ledger.
//!
//! Everything that is hashed, signed, stored or sent between nodes goes through this module, so
//! that the encoding can be swapped in one place. It wraps bincode 2 (serde mode) with a fixed
//! configuration: little-endian, variable-length integers, and an allocation limit. Encoding is
//! deterministic (no maps with unspecified order are used in encoded types: the ledger uses
//! `BTreeMap` and `Vec`). Decoding refuses inputs above a caller-given size and trailing bytes.

use serde::{de::DeserializeOwned, Serialize};

/// The largest input any decode will accept, whatever the caller asks for (64 MiB).
pub const HARD_LIMIT: usize = 64 * 1024 * 1024;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<HARD_LIMIT>,
>;

fn config() -> Config {
    bincode::config::standard().with_limit::<HARD_LIMIT>()
}

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    /// The input is longer than the limit for this kind of message.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// The input decoded, but bytes were left over.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
    /// The input is not a valid encoding of the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
}

/// Encodes a value canonically.
///
/// # Panics
/// Only if the value's `Serialize` implementation fails, which the ledger's types never do
/// (they contain no maps with non-string keys in JSON terms, no `deserialize_any` shapes).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match bincode::serde::encode_to_vec(value, config()) {
        Ok(bytes) => bytes,
        Err(e) => panic!("canonical encoding of a ledger type failed: {e}"),
    }
}

/// Decodes a value, refusing inputs longer than `limit` bytes and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let limit = limit.min(HARD_LIMIT);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, read) = bincode::serde::decode_from_slice::<T, _>(bytes, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        a: u64,
        b: String,
        c: Vec<u8>,
        d: Option<[u8; 4]>,
    }

    #[test]
    fn round_trip_and_trailing_bytes() {
        let s = Sample {
            a: 7,
            b: "x".into(),
            c: vec![1, 2, 3],
            d: Some([9; 4]),
        };
        let mut bytes = encode(&s);
        assert_eq!(decode::<Sample>(&bytes, 1024), Ok(s.clone()));
        bytes.push(0);
        assert_eq!(
            decode::<Sample>(&bytes, 1024),
            Err(CodecError::TrailingBytes(1))
        );
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let bytes = encode(&vec![0u8; 100]);
        assert!(matches!(
            decode::<Vec<u8>>(&bytes, 50),
            Err(CodecError::TooLarge { limit: 50, .. })
        ));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate() {
        // A Vec<u8> whose varint length claims u64::MAX elements.
        let bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode::<Vec<u8>>(&bytes, 1024).is_err());
        assert!(decode::<Vec<String>>(&bytes, 1024).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<Sample>(&bytes, 4096);
            let _ = decode::<Vec<Sample>>(&bytes, 4096);
        }

        #[test]
        fn truncations_are_refused(a in any::<u64>(), b in ".{0,20}", c in proptest::collection::vec(any::<u8>(), 0..40)) {
            let s = Sample { a, b, c, d: None };
            let bytes = encode(&s);
            for cut in 0..bytes.len() {
                prop_assert!(decode::<Sample>(&bytes[..cut], 4096).is_err());
            }
            prop_assert_eq!(decode::<Sample>(&bytes, 4096).ok(), Some(s));
        }
    }
}
