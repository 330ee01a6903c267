//! The key layout of the chain's records, shared by every store. One ordered key space; the
//! first byte names the table. Other owners keep their own tables over the same seam: the
//! consensus write-ahead log (`w/`, `portledger_consensus::wal`) and the node's record of
//! acknowledged submissions (`a/`, `portledger_node::submission`).
//! Heights are big-endian so that scans come out in height order.

use crate::codec;
use crate::crypto::{Hash, PublicKey};
use crate::state::{Changes, DocumentKey};
use crate::store::{decode, Store, StoreError, Write};

pub const GENESIS: &[u8] = b"m/genesis";
pub const TIP: &[u8] = b"m/tip";

fn key(prefix: &[u8], rest: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for r in rest {
        k.extend_from_slice(r);
    }
    k
}

pub fn block(h: u64) -> Vec<u8> {
    key(b"b/", &[&h.to_be_bytes()])
}
pub fn certificate(h: u64) -> Vec<u8> {
    key(b"c/", &[&h.to_be_bytes()])
}
pub fn block_hash(hash: &Hash) -> Vec<u8> {
    key(b"B/", &[hash.as_bytes()])
}
pub fn tx(hash: &Hash) -> Vec<u8> {
    key(b"t/", &[hash.as_bytes()])
}
pub fn history_prefix(doc: &DocumentKey) -> Vec<u8> {
    let d = codec::encode(doc);
    // Length-prefixed so that one document's prefix is never a prefix of another's.
    key(b"h/", &[&(d.len() as u32).to_be_bytes(), &d])
}
pub fn history(doc: &DocumentKey, height: u64, index: u32) -> Vec<u8> {
    let mut k = history_prefix(doc);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}
pub fn party_prefix(p: &PublicKey) -> Vec<u8> {
    key(b"p/", &[p.as_bytes()])
}
pub fn party(p: &PublicKey, doc: &DocumentKey) -> Vec<u8> {
    key(&party_prefix(p), &[&codec::encode(doc)])
}
/// A length-prefixed text, so that one name's prefix is never a prefix of another's.
fn framed(prefix: &[u8], text: &str) -> Vec<u8> {
    key(
        prefix,
        &[&(text.len() as u32).to_be_bytes(), text.as_bytes()],
    )
}
pub fn container_tracking_prefix(container: &str) -> Vec<u8> {
    framed(b"k/c/", container)
}
pub fn document_tracking_prefix(reference: &str) -> Vec<u8> {
    framed(b"k/d/", reference)
}
/// One tracking record under an index prefix: ordered by height, transaction and event.
pub fn tracking(prefix: Vec<u8>, height: u64, index: u32, seq: u32) -> Vec<u8> {
    key(
        &prefix,
        &[
            &height.to_be_bytes(),
            &index.to_be_bytes(),
            &seq.to_be_bytes(),
        ],
    )
}

// State records: "s/<table>/<key>".
const ORG: &[u8] = b"s/o/";
const MEMBER: &[u8] = b"s/m/";
const NONCE: &[u8] = b"s/n/";
const TD: &[u8] = b"s/t/";
const LC: &[u8] = b"s/l/";
const CD: &[u8] = b"s/d/";
const ANCHOR: &[u8] = b"s/a/";
const POSITION: &[u8] = b"s/k/";

/// The writes that persist a block's changes.
pub fn state_writes(c: &Changes, w: &mut Vec<Write>) {
    for (k, v) in &c.organisations {
        w.push((key(ORG, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.participants {
        w.push((key(MEMBER, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.nonces {
        w.push((key(NONCE, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.transport_documents {
        w.push((key(TD, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.credits {
        w.push((key(LC, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.declarations {
        w.push((key(CD, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.anchors {
        w.push((key(ANCHOR, &[k.as_bytes()]), Some(codec::encode(v))));
    }
    for (k, v) in &c.positions {
        // The value carries its key, so reading needs no key parsing.
        w.push((
            key(POSITION, &[&codec::encode(k)]),
            Some(codec::encode(&(k, v))),
        ));
    }
}

fn text_key(prefix: &[u8], k: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(k[prefix.len()..].to_vec()).map_err(|_| StoreError::Corrupt {
        what: "state key",
        source: codec::CodecError::Malformed("key is not UTF-8".into()),
    })
}

fn fixed_key(prefix: &[u8], k: &[u8]) -> Result<[u8; 32], StoreError> {
    k[prefix.len()..]
        .try_into()
        .map_err(|_| StoreError::Corrupt {
            what: "state key",
            source: codec::CodecError::Malformed("key is not 32 bytes".into()),
        })
}

/// Reads every state record into `c`.
pub fn read_state<S: Store + ?Sized>(s: &S, c: &mut Changes) -> Result<(), StoreError> {
    for (k, v) in s.scan_prefix(ORG)? {
        c.organisations
            .insert(text_key(ORG, &k)?, decode("organisation", &v)?);
    }
    for (k, v) in s.scan_prefix(MEMBER)? {
        c.participants.insert(
            PublicKey(fixed_key(MEMBER, &k)?),
            decode("participant", &v)?,
        );
    }
    for (k, v) in s.scan_prefix(NONCE)? {
        c.nonces
            .insert(PublicKey(fixed_key(NONCE, &k)?), decode("nonce", &v)?);
    }
    for (k, v) in s.scan_prefix(TD)? {
        c.transport_documents
            .insert(text_key(TD, &k)?, decode("transport document", &v)?);
    }
    for (k, v) in s.scan_prefix(LC)? {
        c.credits.insert(text_key(LC, &k)?, decode("credit", &v)?);
    }
    for (k, v) in s.scan_prefix(CD)? {
        c.declarations
            .insert(text_key(CD, &k)?, decode("declaration", &v)?);
    }
    for (k, v) in s.scan_prefix(ANCHOR)? {
        c.anchors.insert(
            Hash(fixed_key(ANCHOR, &k)?),
            decode("anchored document", &v)?,
        );
    }
    for (_, v) in s.scan_prefix(POSITION)? {
        let (k, p) = decode("container position", &v)?;
        c.positions.insert(k, p);
    }
    Ok(())
}
