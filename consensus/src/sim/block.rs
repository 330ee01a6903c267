//! Simulated blocks: stand-ins for real block bodies, which travel beside proposals.

use std::collections::BTreeMap;

use portledger_ledger::Hash;
use serde::Serialize;

/// A block body in the simulation. `valid: false` stands for a block with an invalid
/// transaction (only Byzantine proposers make those).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimBlock {
    /// Height it is for.
    pub height: u64,
    /// Hash of the parent block (zero at height 1).
    pub prev: Hash,
    /// Index of the validator that built it.
    pub proposer: usize,
    /// Random content, so that different proposals differ.
    pub payload: u64,
    /// Whether its transactions validate.
    pub valid: bool,
}

impl SimBlock {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }
}

/// Every block body ever built in a run, by hash (what the node would carry beside a proposal).
#[derive(Debug, Clone, Default)]
pub struct BlockRegistry {
    blocks: BTreeMap<Hash, SimBlock>,
}

impl BlockRegistry {
    /// Stores a body; returns its hash.
    pub fn insert(&mut self, block: SimBlock) -> Hash {
        let h = block.hash();
        self.blocks.insert(h, block);
        h
    }

    /// The body of a hash.
    pub fn get(&self, hash: &Hash) -> Option<&SimBlock> {
        self.blocks.get(hash)
    }

    /// Tendermint's `valid(v)` as a correct node sees it: the body is known, valid, for this
    /// height, and extends the node's committed chain.
    pub fn is_valid(&self, hash: &Hash, height: u64, tip: Hash) -> bool {
        self.get(hash)
            .is_some_and(|b| b.valid && b.height == height && b.prev == tip)
    }
}
