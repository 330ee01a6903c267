//! Signed reads: how a participant signs an HTTP request to a node's API, and how the node
//! checks it. The scheme, for any client to implement:
//!
//! ```text
//! Authorization: Portledger-Ed25519 signer=<alias or key hex>,time=<ms since the epoch>,nonce=<hex>,signature=<hex>
//! ```
//!
//! The signature is ed25519 by the signer's registered key over these bytes:
//!
//! ```text
//! portledger/v1/read-request\0
//! <chain id>\n<METHOD>\n<path with query, as sent>\n<sha-256 of the body, hex>\n<signer>\n<time>\n<nonce>
//! ```
//!
//! - `signer` is the participant's alias or its public key in hex, exactly as in the header.
//! - `time` is the signer's clock in milliseconds since the Unix epoch; the node refuses a
//!   request outside its clock window (30 s either way by default).
//! - `nonce` is 16 to 32 random bytes in lowercase hex, new for every request: the node
//!   refuses a (signer, nonce) it has seen within the window, so two identical reads are two
//!   requests and a captured request cannot be played again.
//! - The body hash is of the exact body bytes (of the empty string for a `GET`).
//!
//! The signed bytes name the chain, so a request signed for one chain is refused by another.

use std::fmt::Write as _;

use crate::crypto::{Domain, Hash, Keypair, PublicKey, Signature, SignatureError};

/// The authorization scheme's name.
pub const SCHEME: &str = "Portledger-Ed25519";

/// The longest `Authorization` header accepted (an alias of 64 bytes fits with room to spare).
pub const MAX_HEADER_BYTES: usize = 512;

/// Nonce length bounds, in bytes.
pub const NONCE_BYTES: std::ops::RangeInclusive<usize> = 16..=32;

/// The tag of the signed bytes.
pub const TAG: &[u8] = b"portledger/v1/read-request\0";

/// One request's signature, as the `Authorization` header carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSignature {
    /// Alias or public key hex of the signer.
    pub signer: String,
    /// The signer's clock (ms since the epoch).
    pub time_ms: u64,
    /// Random bytes, new per request.
    pub nonce: Vec<u8>,
    /// ed25519 over [`message`].
    pub signature: Signature,
}

/// What a request is: the parts that are signed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The chain id.
    pub chain_id: &'a str,
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path with its query string, exactly as sent (`/v1/bl/BL-1?x=1`).
    pub path_and_query: &'a str,
    /// The body bytes.
    pub body: &'a [u8],
}

/// Why an `Authorization` header is not a valid signed read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadAuthError {
    /// Not the scheme, or a field missing or malformed.
    #[error("malformed Authorization header: {0}")]
    Malformed(String),
    /// The header is longer than [`MAX_HEADER_BYTES`].
    #[error("the Authorization header is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
}

/// The exact bytes signed for `request` by `signer` at `time_ms` with `nonce`.
pub fn message(request: &Request<'_>, signer: &str, time_ms: u64, nonce: &[u8]) -> Vec<u8> {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        request.chain_id,
        request.method,
        request.path_and_query,
        Hash::of(request.body).to_hex(),
        signer,
        time_ms,
        hex::encode(nonce),
    );
    let mut m = TAG.to_vec();
    m.extend_from_slice(text.as_bytes());
    m
}

/// A fresh random nonce of 16 bytes.
pub fn fresh_nonce() -> Vec<u8> {
    use rand::RngCore;
    let mut n = vec![0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

impl ReadSignature {
    /// Signs `request` with `key` (named by its public key hex) at `time_ms` with `nonce`.
    pub fn sign(key: &Keypair, request: &Request<'_>, time_ms: u64, nonce: Vec<u8>) -> Self {
        let signer = key.public().to_hex();
        let signature = key.sign_raw(&message(request, &signer, time_ms, &nonce));
        ReadSignature {
            signer,
            time_ms,
            nonce,
            signature,
        }
    }

    /// The `Authorization` header's value.
    pub fn header(&self) -> String {
        format!(
            "{SCHEME} signer={},time={},nonce={},signature={}",
            self.signer,
            self.time_ms,
            hex::encode(&self.nonce),
            self.signature.to_hex()
        )
    }

    /// Parses an `Authorization` header's value.
    pub fn parse(header: &str) -> Result<ReadSignature, ReadAuthError> {
        if header.len() > MAX_HEADER_BYTES {
            return Err(ReadAuthError::TooLong);
        }
        let bad = |m: &str| ReadAuthError::Malformed(m.to_string());
        let rest = header
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| bad(&format!("the scheme must be {SCHEME}")))?;
        let (mut signer, mut time, mut nonce, mut signature) = (None, None, None, None);
        for part in rest.split(',') {
            let (k, v) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| bad("each field is name=value"))?;
            let slot = match k {
                "signer" => &mut signer,
                "time" => &mut time,
                "nonce" => &mut nonce,
                "signature" => &mut signature,
                other => return Err(bad(&format!("unknown field {other:?}"))),
            };
            if slot.replace(v).is_some() {
                return Err(bad(&format!("field {k} given twice")));
            }
        }
        let signer = signer
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("no signer"))?;
        let time_ms = time
            .ok_or_else(|| bad("no time"))?
            .parse::<u64>()
            .map_err(|_| bad("time must be milliseconds since the epoch"))?;
        let nonce = hex::decode(nonce.ok_or_else(|| bad("no nonce"))?)
            .ok()
            .filter(|n| NONCE_BYTES.contains(&n.len()))
            .ok_or_else(|| bad("nonce must be 16 to 32 bytes in hex"))?;
        let signature = Signature::from_hex(signature.ok_or_else(|| bad("no signature"))?)
            .map_err(|e| bad(&e.to_string()))?;
        Ok(ReadSignature {
            signer: signer.to_string(),
            time_ms,
            nonce,
            signature,
        })
    }

    /// Checks the signature by `key` over `request`.
    pub fn verify(&self, key: &PublicKey, request: &Request<'_>) -> Result<(), SignatureError> {
        key.verify_raw(
            &message(request, &self.signer, self.time_ms, &self.nonce),
            &self.signature,
        )
    }
}

/// The domain of signed reads, beside the ledger's own ([`Domain`]): its tag differs from
/// every [`Domain::tag`], so a read signature never verifies as a transaction or vote.
pub fn tag_is_distinct() -> bool {
    [
        Domain::Transaction,
        Domain::Vote,
        Domain::Proposal,
        Domain::NodeMessage,
    ]
    .iter()
    .all(|d| !TAG.starts_with(d.tag()) && !d.tag().starts_with(TAG))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn request(path: &str) -> Request<'_> {
        Request {
            chain_id: "portledger-test",
            method: "GET",
            path_and_query: path,
            body: b"",
        }
    }

    /// READS.md's test vector is what this code signs: another client can check itself
    /// against it.
    #[test]
    fn the_documented_test_vector() {
        let k = Keypair::from_seed([1; 32]);
        let r = Request {
            chain_id: "portledger-devnet",
            method: "GET",
            path_and_query: "/v1/lc/LC-1",
            body: b"",
        };
        let s = ReadSignature::sign(&k, &r, 1_700_000_000_000, vec![7; 16]);
        let doc = include_str!("../READS.md");
        let public = k.public().to_hex();
        let header = format!("Authorization: {}", s.header());
        assert!(doc.contains(&public), "READS.md names the key {public}");
        assert!(doc.contains(&header), "READS.md shows\n{header}");
    }

    #[test]
    fn a_signed_request_verifies_and_round_trips_through_its_header() {
        let k = Keypair::for_testing("reader");
        let s = ReadSignature::sign(
            &k,
            &request("/v1/lc/LC-1"),
            1_700_000_000_000,
            fresh_nonce(),
        );
        let parsed = ReadSignature::parse(&s.header()).unwrap();
        assert_eq!(parsed, s);
        parsed.verify(&k.public(), &request("/v1/lc/LC-1")).unwrap();
    }

    #[test]
    fn any_change_to_what_is_signed_fails() {
        let k = Keypair::for_testing("reader");
        let r = request("/v1/lc/LC-1");
        let s = ReadSignature::sign(&k, &r, 1_700_000_000_000, vec![7; 16]);
        let other = Keypair::for_testing("other").public();
        assert!(s.verify(&other, &r).is_err(), "another key");
        assert!(
            s.verify(&k.public(), &request("/v1/lc/LC-2")).is_err(),
            "another path"
        );
        let post = Request {
            method: "POST",
            ..r
        };
        assert!(s.verify(&k.public(), &post).is_err(), "another method");
        let body = Request { body: b"x", ..r };
        assert!(s.verify(&k.public(), &body).is_err(), "another body");
        let chain = Request {
            chain_id: "other-chain",
            ..r
        };
        assert!(s.verify(&k.public(), &chain).is_err(), "another chain");
        let later = ReadSignature {
            time_ms: s.time_ms + 1,
            ..s.clone()
        };
        assert!(later.verify(&k.public(), &r).is_err(), "another time");
        let nonce = ReadSignature {
            nonce: vec![8; 16],
            ..s.clone()
        };
        assert!(nonce.verify(&k.public(), &r).is_err(), "another nonce");
        let alias = ReadSignature {
            signer: "reader".into(),
            ..s
        };
        assert!(
            alias.verify(&k.public(), &r).is_err(),
            "another signer name"
        );
    }

    #[test]
    fn malformed_headers_are_refused_with_a_reason() {
        let k = Keypair::for_testing("reader");
        let good = ReadSignature::sign(&k, &request("/"), 1, vec![1; 16]).header();
        for (h, why) in [
            ("Bearer abc", "scheme"),
            ("Portledger-Ed25519 signer=a,time=1,nonce=00", "nonce"),
            (
                "Portledger-Ed25519 signer=a,time=x,nonce=00,signature=00",
                "time",
            ),
            ("Portledger-Ed25519 signer=,time=1", "signer"),
            ("Portledger-Ed25519 signer=a,signer=b", "twice"),
            ("Portledger-Ed25519 colour=blue", "unknown"),
        ] {
            let e = ReadSignature::parse(h).unwrap_err().to_string();
            assert!(e.contains(why), "{h}: {e}");
        }
        let long = format!("{good},{}", "x".repeat(MAX_HEADER_BYTES));
        assert_eq!(ReadSignature::parse(&long), Err(ReadAuthError::TooLong));
        assert!(tag_is_distinct());
    }
}
