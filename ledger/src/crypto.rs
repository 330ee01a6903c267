//! Hashes, keys and signatures.
//!
//! SHA-256 for every hash; ed25519 for every signature. A signature is always over a
//! domain-separated message: a fixed tag naming what is signed (a transaction, a vote, a
//! proposal, ...) followed by the canonical encoding of the signed body, so that a signature for
//! one purpose can never be replayed as another.

use std::fmt;

use ed25519_dalek::Signer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec;

macro_rules! fixed_bytes {
    ($name:ident, $len:expr, $what:expr) => {
        #[doc = concat!("A ", $what, " (", stringify!($len), " bytes), shown and written in JSON as lowercase hex.")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(s: &str) -> Result<Self, $crate::crypto::HexError> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|_| $crate::crypto::HexError {
                    what: $what,
                    expected: $len * 2,
                    found: s.trim().len(),
                })?;
                Ok(Self(out))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let h = self.to_hex();
                write!(f, "{}({}..)", stringify!($name), &h[..12])
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::crypto::HexError;
            fn from_str(s: &str) -> Result<Self, $crate::crypto::HexError> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_hex())
                } else {
                    use serde::ser::SerializeTuple;
                    let mut t = s.serialize_tuple($len)?;
                    for b in &self.0 {
                        t.serialize_element(b)?;
                    }
                    t.end()
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    Self::from_hex(&s).map_err(serde::de::Error::custom)
                } else {
                    struct V;
                    impl<'de> serde::de::Visitor<'de> for V {
                        type Value = $name;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            write!(f, "{} bytes", $len)
                        }
                        fn visit_seq<A: serde::de::SeqAccess<'de>>(
                            self,
                            mut seq: A,
                        ) -> Result<$name, A::Error> {
                            let mut out = [0u8; $len];
                            for (i, b) in out.iter_mut().enumerate() {
                                *b = seq
                                    .next_element()?
                                    .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                            }
                            Ok($name(out))
                        }
                    }
                    d.deserialize_tuple($len, V)
                }
            }
        }
    };
}

/// A hex string of the wrong length or with non-hex characters.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("not a valid {what}: expected {expected} hex characters, found {found} characters")]
pub struct HexError {
    pub(crate) what: &'static str,
    pub(crate) expected: usize,
    pub(crate) found: usize,
}

pub(crate) use fixed_bytes;

fixed_bytes!(Hash, 32, "SHA-256 hash");
fixed_bytes!(PublicKey, 32, "ed25519 public key");
fixed_bytes!(Signature, 64, "ed25519 signature");

impl Hash {
    /// The all-zero hash, used for "no previous block" at height 1.
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of bytes.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// SHA-256 of the concatenation of several byte strings.
    pub fn of_parts(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// SHA-256 of the canonical encoding of a value.
    pub fn of_encoded<T: Serialize + ?Sized>(value: &T) -> Hash {
        Hash::of(&codec::encode(value))
    }
}

/// What a signature is for. The tag is prepended to the signed bytes, so a signature made for
/// one purpose does not verify for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A ledger transaction.
    Transaction,
    /// A consensus vote (prevote or precommit).
    Vote,
    /// A consensus block proposal.
    Proposal,
    /// A node's answer in block sync or status exchange.
    NodeMessage,
    /// A validator organisation's consent, by its old and its new node key, to rotate the key.
    NodeKeyRotation,
}

impl Domain {
    /// The tag bytes prepended to signed messages.
    pub fn tag(self) -> &'static [u8] {
        match self {
            Domain::Transaction => b"portledger/v1/transaction\0",
            Domain::Vote => b"portledger/v1/vote\0",
            Domain::Proposal => b"portledger/v1/proposal\0",
            Domain::NodeMessage => b"portledger/v1/node-message\0",
            Domain::NodeKeyRotation => b"portledger/v1/node-key-rotation\0",
        }
    }

    /// The exact bytes that are signed for `body` in this domain.
    pub fn message<T: Serialize + ?Sized>(self, body: &T) -> Vec<u8> {
        let mut m = self.tag().to_vec();
        m.extend_from_slice(&codec::encode(body));
        m
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The public key bytes are not a valid ed25519 point.
    #[error("public key {0} is not a valid ed25519 key")]
    BadKey(PublicKey),
    /// The signature does not match the message and key.
    #[error("signature does not verify for key {0}")]
    Invalid(PublicKey),
}

impl PublicKey {
    /// Verifies a signature over `body` in `domain`.
    pub fn verify<T: Serialize + ?Sized>(
        &self,
        domain: Domain,
        body: &T,
        sig: &Signature,
    ) -> Result<(), SignatureError> {
        self.verify_raw(&domain.message(body), sig)
    }

    /// Verifies a signature over already-built message bytes (tag included).
    pub fn verify_raw(&self, message: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        let key = verifying_key(self).ok_or(SignatureError::BadKey(*self))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        key.verify_strict(message, &sig)
            .map_err(|_| SignatureError::Invalid(*self))
    }
}

/// Most decompressed keys kept by [`verifying_key`]. A permissioned chain has few signers; the
/// bound only stops strangers' keys from growing the cache.
const KEY_CACHE_MAX: usize = 65_536;

/// The decompressed form of a public key, cached: decompressing a point costs about a third of
/// checking a signature in a batch, and the same few participants sign everything.
fn verifying_key(k: &PublicKey) -> Option<ed25519_dalek::VerifyingKey> {
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<[u8; 32], ed25519_dalek::VerifyingKey>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
    if let Some(vk) = cache.read().ok().and_then(|c| c.get(&k.0).copied()) {
        return Some(vk);
    }
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&k.0).ok()?;
    if let Ok(mut c) = cache.write() {
        if c.len() < KEY_CACHE_MAX {
            c.insert(k.0, vk);
        }
    }
    Some(vk)
}

/// Verifies many (key, message, signature) triples at once; faster than one by one. On failure
/// the caller can fall back to single checks to find the culprit.
pub fn verify_batch(items: &[(PublicKey, Vec<u8>, Signature)]) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut msgs: Vec<&[u8]> = Vec::with_capacity(items.len());
    for (k, m, s) in items {
        match verifying_key(k) {
            Some(vk) => keys.push(vk),
            None => return false,
        }
        sigs.push(ed25519_dalek::Signature::from_bytes(&s.0));
        msgs.push(m.as_slice());
    }
    ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok()
}

/// An ed25519 signing key. Never serialized by the ledger; key files are handled by
/// [`crate::keyfile`].
#[derive(Clone)]
pub struct Keypair {
    signing: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

impl Keypair {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Keypair {
        Keypair {
            signing: ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// The key for a 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair {
            signing: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// A deterministic key derived from a name; for tests and simulations only.
    pub fn for_testing(name: &str) -> Keypair {
        Keypair::from_seed(Hash::of_parts(&[b"portledger-test-key:", name.as_bytes()]).0)
    }

    /// The 32-byte secret seed.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `body` in `domain`.
    pub fn sign<T: Serialize + ?Sized>(&self, domain: Domain, body: &T) -> Signature {
        self.sign_raw(&domain.message(body))
    }

    /// Signs already-built message bytes (tag included).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_separation() {
        let k = Keypair::for_testing("a");
        let sig = k.sign(Domain::Vote, &(1u64, 2u32));
        assert!(k.public().verify(Domain::Vote, &(1u64, 2u32), &sig).is_ok());
        assert_eq!(
            k.public().verify(Domain::Transaction, &(1u64, 2u32), &sig),
            Err(SignatureError::Invalid(k.public()))
        );
        assert!(k
            .public()
            .verify(Domain::Vote, &(1u64, 3u32), &sig)
            .is_err());
    }

    #[test]
    fn hex_and_binary_forms() {
        let k = Keypair::for_testing("b").public();
        let json = serde_json::to_string(&k).expect("json");
        assert_eq!(json, format!("\"{}\"", k.to_hex()));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).expect("parse"), k);
        let bin = codec::encode(&k);
        assert_eq!(bin.len(), 32, "binary form is the raw 32 bytes");
        assert_eq!(codec::decode::<PublicKey>(&bin, 32), Ok(k));
        let sig = Keypair::for_testing("b").sign(Domain::Vote, &1u8);
        assert_eq!(codec::encode(&sig).len(), 64);
        assert!(PublicKey::from_hex("zz").is_err());
        assert!(serde_json::from_str::<Hash>("\"00\"").is_err());
    }

    #[test]
    fn batch_verification() {
        let items: Vec<_> = (0..8)
            .map(|i| {
                let k = Keypair::for_testing(&i.to_string());
                let m = Domain::Transaction.message(&i);
                let s = k.sign_raw(&m);
                (k.public(), m, s)
            })
            .collect();
        assert!(verify_batch(&items));
        let mut bad = items.clone();
        bad[3].1.push(1);
        assert!(!verify_batch(&bad));
    }
}
