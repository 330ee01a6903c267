//! Properties of the state commitment (`state_tree`): the root is a function of the set of
//! records alone, every key has a proof that verifies against the root and says exactly what the
//! tree holds, and a proof that was altered in any way, or presented for another key or another
//! root, does not prove what it claims.

use std::collections::BTreeMap;

use portledger_ledger::state_tree::{StateProof, StateTree, Terminal};
use portledger_ledger::Hash;
use proptest::prelude::*;

fn h(i: u16) -> Hash {
    Hash::of(&i.to_be_bytes())
}

fn batches() -> impl Strategy<Value = Vec<Vec<(u16, u16)>>> {
    prop::collection::vec(prop::collection::vec((0u16..300, any::<u16>()), 0..40), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Updating block by block gives the same root as building from the final records, and the
    /// tree answers every key as the reference map does, with a proof that verifies.
    #[test]
    fn updates_match_a_rebuild_and_every_key_is_provable(batches in batches()) {
        let mut reference = BTreeMap::new();
        let mut tree = StateTree::default();
        for batch in &batches {
            let updates: Vec<_> = batch.iter().map(|&(k, v)| (h(k), h(v))).collect();
            for &(k, v) in batch {
                reference.insert(h(k), h(v));
            }
            tree = tree.with(updates);
        }
        let rebuilt = StateTree::from_leaves(reference.iter().map(|(k, v)| (*k, *v)).collect());
        prop_assert_eq!(tree.root(), rebuilt.root());
        prop_assert_eq!(tree.len(), reference.len());
        let root = tree.root();
        for probe in 0u16..320 {
            let key = h(probe);
            let proof = tree.prove(&key);
            prop_assert_eq!(proof.verify(&root, &key), Ok(reference.get(&key).copied()));
        }
    }

    /// A hostile prover: any change to a valid proof (a sibling flipped, dropped or added, the
    /// terminal swapped) never makes it prove a value the tree does not hold for that key.
    #[test]
    fn an_altered_proof_never_proves_a_false_value(
        keys in prop::collection::btree_set(0u16..500, 1..80),
        probe in 0u16..500,
        which in any::<prop::sample::Index>(),
        forged_value in any::<u16>(),
        mode in 0u8..5,
    ) {
        let leaves: Vec<_> = keys.iter().map(|&k| (h(k), h(k ^ 0x5a5a))).collect();
        let tree = StateTree::from_leaves(leaves);
        let root = tree.root();
        let key = h(probe);
        let truth = tree.get(&key);
        let mut proof = tree.prove(&key);
        match mode {
            0 if !proof.siblings.is_empty() => {
                let i = which.index(proof.siblings.len());
                proof.siblings[i] = Hash::of(proof.siblings[i].as_bytes());
            }
            1 if !proof.siblings.is_empty() => {
                proof.siblings.pop();
            }
            2 => proof.siblings.push(Hash::ZERO),
            3 => proof.terminal = Terminal::Leaf { key, value: h(forged_value) },
            _ => proof.terminal = Terminal::Empty,
        }
        if let Ok(claimed) = proof.verify(&root, &key) {
            prop_assert_eq!(claimed, truth);
        }
    }
}

#[test]
fn a_proof_does_not_verify_against_another_root() {
    let a = StateTree::from_leaves((0..20).map(|i| (h(i), h(i))).collect());
    let b = a.with(vec![(h(3), h(1000))]);
    let p: StateProof = a.prove(&h(3));
    assert_eq!(p.verify(&a.root(), &h(3)), Ok(Some(h(3))));
    assert!(p.verify(&b.root(), &h(3)).is_err());
}

#[test]
fn a_proof_longer_than_any_path_is_refused() {
    let p = StateProof {
        siblings: vec![Hash::ZERO; 257],
        terminal: Terminal::Empty,
    };
    assert!(p.verify(&Hash::ZERO, &h(1)).is_err());
}
