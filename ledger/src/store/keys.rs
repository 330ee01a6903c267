//! The key layout of the chain's records, shared by every store. One ordered key space; the
//! first byte names the table. Other owners keep their own tables over the same seam: the
//! consensus write-ahead log (`w/`, `portledger_consensus::wal`) and the node's record of
//! acknowledged submissions (`a/`, `portledger_node::submission`).
//! Heights are big-endian so that scans come out in height order.

use crate::codec;
use crate::crypto::{Hash, PublicKey};
use crate::state::{Changes, DocumentKey};
use crate::store::{Store, StoreError, Write, MAX_VALUE};

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

/// The store's layout version: raised whenever the key layout changes, so that a data
/// directory written by another layout is refused with a clear message instead of misread.
pub const LAYOUT_VERSION: u32 = 6;
/// Where the layout version is kept.
pub const LAYOUT: &[u8] = b"m/layout";

// State records: "s/<table>/<key>", one table per record family (`state::families!`), the key
// and the record in their canonical encodings.

/// The writes that persist a block's changes.
pub fn state_writes(c: &Changes, w: &mut Vec<Write>) {
    for (table, k, v) in c.encoded_records() {
        w.push((key(table, &[&k]), Some(v)));
    }
}

/// Reads every state record into `c`.
pub fn read_state<S: Store + ?Sized>(s: &S, c: &mut Changes) -> Result<(), StoreError> {
    for (_, table) in Changes::TABLES {
        for (k, v) in s.scan_prefix(table)? {
            c.insert_encoded(table, &k[table.len()..], &v, MAX_VALUE)
                .map_err(|source| StoreError::Corrupt {
                    what: "state record",
                    source,
                })?;
        }
    }
    Ok(())
}
