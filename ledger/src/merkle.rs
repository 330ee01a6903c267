//! The Merkle tree over a block's transactions, shaped as in RFC 6962 (certificate transparency):
//! leaves and inner nodes are hashed with distinct prefixes and an odd node is never duplicated,
//! so no two different lists of transactions share a root. Inclusion proofs are the audit paths.

use serde::{Deserialize, Serialize};

use crate::crypto::Hash;

fn leaf(h: &Hash) -> Hash {
    Hash::of_parts(&[&[0u8], h.as_bytes()])
}

fn node(l: &Hash, r: &Hash) -> Hash {
    Hash::of_parts(&[&[1u8], l.as_bytes(), r.as_bytes()])
}

/// Largest power of two strictly less than n (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over the given leaf values (transaction hashes). The empty tree's root is the
/// SHA-256 of nothing.
pub fn root(items: &[Hash]) -> Hash {
    match items.len() {
        0 => Hash::of(&[]),
        1 => leaf(&items[0]),
        n => {
            let k = split(n);
            node(&root(&items[..k]), &root(&items[k..]))
        }
    }
}

/// An inclusion proof: the audit path of one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Position of the leaf.
    pub index: u32,
    /// Number of leaves in the tree.
    pub size: u32,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

fn path(m: usize, items: &[Hash], out: &mut Vec<Hash>) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &items[..k], out);
        out.push(root(&items[k..]));
    } else {
        path(m - k, &items[k..], out);
        out.push(root(&items[..k]));
    }
}

/// The inclusion proof of item `index`, or `None` when out of range.
pub fn prove(items: &[Hash], index: usize) -> Option<InclusionProof> {
    if index >= items.len() {
        return None;
    }
    let mut p = Vec::new();
    path(index, items, &mut p);
    Some(InclusionProof {
        index: u32::try_from(index).ok()?,
        size: u32::try_from(items.len()).ok()?,
        path: p,
    })
}

impl InclusionProof {
    /// Whether `item` is at `index` in a tree of `size` leaves with this `root`
    /// (RFC 9162, section 2.1.3.2).
    pub fn verify(&self, item: &Hash, root: &Hash) -> bool {
        if self.index >= self.size {
            return false;
        }
        let (mut f, mut s) = (u64::from(self.index), u64::from(self.size) - 1);
        let mut r = leaf(item);
        for p in &self.path {
            if s == 0 {
                return false;
            }
            if f & 1 == 1 || f == s {
                r = node(p, &r);
                if f & 1 == 0 {
                    while f & 1 == 0 && f != 0 {
                        f >>= 1;
                        s >>= 1;
                    }
                }
            } else {
                r = node(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        s == 0 && r == *root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(n: usize) -> Vec<Hash> {
        (0..n).map(|i| Hash::of(&i.to_le_bytes())).collect()
    }

    #[test]
    fn every_leaf_of_every_size_proves() {
        for n in 1..40 {
            let it = items(n);
            let r = root(&it);
            for i in 0..n {
                let p = prove(&it, i).expect("in range");
                assert!(p.verify(&it[i], &r), "n={n} i={i}");
                let other = Hash::of(b"other");
                assert!(!p.verify(&other, &r));
                let mut wrong_index = p.clone();
                wrong_index.index = ((i + 1) % n) as u32;
                if n > 1 {
                    assert!(!wrong_index.verify(&it[i], &r), "n={n} i={i}");
                }
            }
            assert!(prove(&it, n).is_none());
        }
    }

    #[test]
    fn odd_leaf_is_not_duplicated() {
        // With duplication, [a, b, c] and [a, b, c, c] would share a root.
        let it = items(3);
        let mut dup = it.clone();
        dup.push(it[2]);
        assert_ne!(root(&it), root(&dup));
    }

    proptest! {
        #[test]
        fn tampered_paths_fail(n in 2usize..64, i in 0usize..64, byte in 0usize..32) {
            let it = items(n);
            let i = i % n;
            let r = root(&it);
            let mut p = prove(&it, i).expect("in range");
            let j = byte % p.path.len();
            p.path[j].0[byte] ^= 1;
            prop_assert!(!p.verify(&it[i], &r));
        }
    }
}
