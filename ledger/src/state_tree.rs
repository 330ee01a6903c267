//! The state commitment: a compact sparse Merkle tree over every record of the state, its root in
//! every block header, with proofs that a record is in the state (inclusion) or that no record
//! has a key (exclusion).
//!
//! Each record is a leaf at `key = SHA-256(tag || table || canonical key)` with
//! `value = SHA-256(canonical record)`. The tree is binary over the key's bits, most significant
//! first, and compact: an empty subtree hashes to zero, a subtree with one leaf is that leaf, a
//! subtree with two or more is an inner node. The shape is therefore a function of the set of
//! keys alone (not of the order of insertion), and two validators with the same records have the
//! same root. Leaves and inner nodes are hashed with distinct tags.
//!
//! The tree lives in memory beside the state and is persistent: an update makes new nodes along
//! the changed paths and shares the rest, so a block under validation gets its own tree without
//! copying or disturbing the committed one, and committing it is swapping the root. A node
//! opening its store rebuilds the tree from the loaded records and checks the root against the
//! tip's header.
//!
//! Why not a crate: the Jellyfish Merkle tree (`jmt`) and Nervos' `sparse-merkle-tree` keep
//! their nodes in a versioned node store, which would add one store write per node on every
//! changed path of every block; the state here is in memory, so the tree is too.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto::Hash;

const LEAF_TAG: &[u8] = b"portledger/state/leaf";
const NODE_TAG: &[u8] = b"portledger/state/node";
const KEY_TAG: &[u8] = b"portledger/state/key";

/// The leaf key of a record: its table and its canonical key.
pub fn leaf_key(table: &[u8], key: &[u8]) -> Hash {
    Hash::of_parts(&[KEY_TAG, &(table.len() as u32).to_be_bytes(), table, key])
}

/// The leaf value of a record: the hash of its canonical encoding.
pub fn leaf_value(record: &[u8]) -> Hash {
    Hash::of(record)
}

fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    Hash::of_parts(&[LEAF_TAG, key.as_bytes(), value.as_bytes()])
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::of_parts(&[NODE_TAG, left.as_bytes(), right.as_bytes()])
}

/// Bit `i` of a key, most significant first.
fn bit(key: &Hash, i: usize) -> bool {
    key.as_bytes()[i / 8] & (0x80 >> (i % 8)) != 0
}

/// The number of leading bits two keys share.
fn common_prefix(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.as_bytes().iter().zip(b.as_bytes()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return i * 8 + d.leading_zeros() as usize;
        }
    }
    256
}

#[derive(Clone)]
enum Node {
    Empty,
    Leaf(Arc<Leaf>),
    Inner(Arc<Inner>),
}

struct Leaf {
    key: Hash,
    value: Hash,
    hash: Hash,
}

struct Inner {
    left: Node,
    right: Node,
    hash: Hash,
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => Hash::ZERO,
            Node::Leaf(l) => l.hash,
            Node::Inner(n) => n.hash,
        }
    }

    fn leaf(key: Hash, value: Hash) -> Node {
        Node::Leaf(Arc::new(Leaf {
            key,
            value,
            hash: leaf_hash(&key, &value),
        }))
    }

    /// An inner node, or what it compacts to: nothing, or the one leaf below it.
    fn inner(left: Node, right: Node) -> Node {
        match (&left, &right) {
            (Node::Empty, Node::Empty) => Node::Empty,
            (Node::Leaf(_), Node::Empty) => left,
            (Node::Empty, Node::Leaf(_)) => right,
            _ => {
                let hash = node_hash(&left.hash(), &right.hash());
                Node::Inner(Arc::new(Inner { left, right, hash }))
            }
        }
    }

    /// The subtree at `depth` holding exactly `items` (sorted by key, keys unique).
    fn build(depth: usize, items: &[(Hash, Hash)]) -> Node {
        match items {
            [] => Node::Empty,
            [(k, v)] => Node::leaf(*k, *v),
            _ => {
                let split = items.partition_point(|(k, _)| !bit(k, depth));
                Node::inner(
                    Node::build(depth + 1, &items[..split]),
                    Node::build(depth + 1, &items[split..]),
                )
            }
        }
    }

    /// This subtree at `depth` with `items` (sorted by key, keys unique, all under this subtree)
    /// inserted or replaced, and how many of them were new keys (counted on the way, so that
    /// no second walk down the tree is needed).
    fn update(&self, depth: usize, items: &[(Hash, Hash)]) -> (Node, usize) {
        if items.is_empty() {
            return (self.clone(), 0);
        }
        match self {
            Node::Empty => (Node::build(depth, items), items.len()),
            Node::Leaf(l) => {
                let at = items.partition_point(|(k, _)| *k < l.key);
                if items.get(at).is_some_and(|(k, _)| *k == l.key) {
                    (Node::build(depth, items), items.len() - 1)
                } else {
                    let mut all = Vec::with_capacity(items.len() + 1);
                    all.extend_from_slice(&items[..at]);
                    all.push((l.key, l.value));
                    all.extend_from_slice(&items[at..]);
                    (Node::build(depth, &all), items.len())
                }
            }
            Node::Inner(n) => {
                let split = items.partition_point(|(k, _)| !bit(k, depth));
                let (left, a) = n.left.update(depth + 1, &items[..split]);
                let (right, b) = n.right.update(depth + 1, &items[split..]);
                (Node::inner(left, right), a + b)
            }
        }
    }
}

/// The state tree; cloning it is cheap (the nodes are shared).
#[derive(Clone)]
pub struct StateTree {
    root: Node,
    leaves: usize,
}

impl Default for StateTree {
    fn default() -> Self {
        StateTree {
            root: Node::Empty,
            leaves: 0,
        }
    }
}

impl fmt::Debug for StateTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateTree")
            .field("root", &self.root())
            .field("leaves", &self.leaves)
            .finish()
    }
}

/// What ends a proof's path: nothing (the key is absent), or the leaf there (the key's own leaf
/// proves inclusion; another key's leaf proves the key absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Terminal {
    /// An empty subtree.
    Empty,
    /// A leaf.
    Leaf {
        /// Its key.
        key: Hash,
        /// Its value.
        value: Hash,
    },
}

/// A proof about one key against a state root: the sibling hashes from the root down to where
/// the key's path ends, and what it ends in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateProof {
    /// Sibling hashes, from the root's children down.
    pub siblings: Vec<Hash>,
    /// What the path ends in.
    pub terminal: Terminal,
}

/// Why a state proof does not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StateProofError {
    /// Longer than any path in a tree of 256-bit keys.
    #[error("the proof's path has {0} levels, more than 256")]
    TooLong(usize),
    /// The leaf shown is not on the key's path.
    #[error("the leaf shown is not on the key's path")]
    OffPath,
    /// The path does not lead to the root.
    #[error("the proof does not lead to the state root {expected} (it leads to {found})")]
    WrongRoot {
        /// The root it was checked against.
        expected: Hash,
        /// The root it computes.
        found: Hash,
    },
}

impl StateTree {
    /// A tree holding exactly these (key, value) leaves.
    pub fn from_leaves(mut leaves: Vec<(Hash, Hash)>) -> StateTree {
        leaves.sort_by_key(|a| a.0);
        leaves.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 = later.1;
                true
            } else {
                false
            }
        });
        StateTree {
            leaves: leaves.len(),
            root: Node::build(0, &leaves),
        }
    }

    /// The root hash (zero for the empty tree).
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.leaves
    }

    /// Whether the tree has no leaf.
    pub fn is_empty(&self) -> bool {
        self.leaves == 0
    }

    /// A new tree with these leaves inserted or replaced (a later duplicate key wins); this tree
    /// is unchanged.
    pub fn with(&self, mut updates: Vec<(Hash, Hash)>) -> StateTree {
        // Stable sort, then keep the last write of each key.
        updates.sort_by_key(|a| a.0);
        let mut items: Vec<(Hash, Hash)> = Vec::with_capacity(updates.len());
        for u in updates {
            match items.last_mut() {
                Some(last) if last.0 == u.0 => *last = u,
                _ => items.push(u),
            }
        }
        let (root, added) = self.root.update(0, &items);
        StateTree {
            root,
            leaves: self.leaves + added,
        }
    }

    /// The value at a key.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => return None,
                Node::Leaf(l) => return (l.key == *key).then_some(l.value),
                Node::Inner(n) => {
                    node = if bit(key, depth) { &n.right } else { &n.left };
                    depth += 1;
                }
            }
        }
    }

    /// The proof of a key's value or of its absence.
    pub fn prove(&self, key: &Hash) -> StateProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => {
                    return StateProof {
                        siblings,
                        terminal: Terminal::Empty,
                    }
                }
                Node::Leaf(l) => {
                    return StateProof {
                        siblings,
                        terminal: Terminal::Leaf {
                            key: l.key,
                            value: l.value,
                        },
                    }
                }
                Node::Inner(n) => {
                    let (next, other) = if bit(key, depth) {
                        (&n.right, &n.left)
                    } else {
                        (&n.left, &n.right)
                    };
                    siblings.push(other.hash());
                    node = next;
                    depth += 1;
                }
            }
        }
    }
}

impl StateProof {
    /// Checks the proof for `key` against `root`: `Some(value)` if the key is in the state
    /// with that value, `None` if the proof shows it absent.
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<Option<Hash>, StateProofError> {
        let depth = self.siblings.len();
        if depth > 256 {
            return Err(StateProofError::TooLong(depth));
        }
        let (mut h, value) = match &self.terminal {
            Terminal::Empty => (Hash::ZERO, None),
            Terminal::Leaf { key: k, value } => {
                if common_prefix(k, key) < depth {
                    return Err(StateProofError::OffPath);
                }
                (leaf_hash(k, value), (k == key).then_some(*value))
            }
        };
        for (i, s) in self.siblings.iter().enumerate().rev() {
            h = if bit(key, i) {
                node_hash(s, &h)
            } else {
                node_hash(&h, s)
            };
        }
        if h != *root {
            return Err(StateProofError::WrongRoot {
                expected: *root,
                found: h,
            });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u32) -> Hash {
        Hash::of(&i.to_be_bytes())
    }

    #[test]
    fn empty_tree_root_is_zero_and_proves_absence() {
        let t = StateTree::default();
        assert_eq!(t.root(), Hash::ZERO);
        assert_eq!(t.prove(&k(1)).verify(&t.root(), &k(1)), Ok(None));
    }

    #[test]
    fn the_root_does_not_depend_on_insertion_order() {
        let leaves: Vec<_> = (0..200).map(|i| (k(i), k(i + 1000))).collect();
        let whole = StateTree::from_leaves(leaves.clone());
        let mut stepwise = StateTree::default();
        for chunk in leaves.chunks(17).rev() {
            stepwise = stepwise.with(chunk.to_vec());
        }
        assert_eq!(whole.root(), stepwise.root());
        assert_eq!(stepwise.len(), 200);
    }

    #[test]
    fn an_update_leaves_the_old_tree_alone() {
        let t = StateTree::from_leaves((0..50).map(|i| (k(i), k(i))).collect());
        let before = t.root();
        let u = t.with(vec![(k(3), k(99))]);
        assert_eq!(t.root(), before);
        assert_ne!(u.root(), before);
        assert_eq!(u.get(&k(3)), Some(k(99)));
        assert_eq!(t.get(&k(3)), Some(k(3)));
        assert_eq!(u.len(), 50);
    }

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let t = StateTree::from_leaves(vec![(k(1), k(2))]);
        assert_eq!(t.root(), leaf_hash(&k(1), &k(2)));
        assert_eq!(t.prove(&k(1)).verify(&t.root(), &k(1)), Ok(Some(k(2))));
        assert_eq!(t.prove(&k(5)).verify(&t.root(), &k(5)), Ok(None));
    }

    #[test]
    fn a_proof_for_one_key_does_not_prove_another() {
        let t = StateTree::from_leaves((0..64).map(|i| (k(i), k(i))).collect());
        let p = t.prove(&k(7));
        assert_eq!(p.verify(&t.root(), &k(7)), Ok(Some(k(7))));
        // The same proof presented for a key whose path differs is refused or shows nothing.
        assert_ne!(p.verify(&t.root(), &k(8)), Ok(Some(k(7))));
    }
}
