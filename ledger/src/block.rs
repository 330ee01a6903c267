//! Blocks: a header that chains to its parent and carries the commit certificate of the parent,
//! and the transactions.

use serde::{Deserialize, Serialize};

use crate::certificate::CommitCertificate;
use crate::codec::{self, CodecError};
use crate::crypto::{Hash, PublicKey};
use crate::merkle;
use crate::transaction::Transaction;

/// The block format this ledger reads and writes. Version 2 added this field; version 3 replaced
/// the chained state hash by the state tree's root. A header with another version is refused.
pub const BLOCK_VERSION: u16 = 3;

/// The header; its canonical encoding's SHA-256 is the block hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// The format version, [`BLOCK_VERSION`].
    pub version: u16,
    /// Chain id.
    pub chain_id: String,
    /// Height (1 for the first block after genesis).
    pub height: u64,
    /// Consensus round in which it was proposed.
    pub round: u32,
    /// Hash of the parent block (zero at height 1).
    pub previous_hash: Hash,
    /// Block time, milliseconds since the Unix epoch; later than the parent's.
    pub time_ms: u64,
    /// The validator that proposed it: `validators[(height + round) mod n]`.
    pub proposer: PublicKey,
    /// Merkle root of the transaction hashes.
    pub tx_root: Hash,
    /// Number of transactions.
    pub tx_count: u32,
    /// Hash of the parent's commit certificate carried in this block (zero at height 1).
    pub last_commit_hash: Hash,
    /// Root of the state tree after applying this block ([`crate::state_tree`]).
    pub state_root: Hash,
}

impl BlockHeader {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }
}

/// A block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The parent's commit certificate (`None` at height 1).
    pub last_commit: Option<CommitCertificate>,
    /// The transactions, applied in order.
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// The block hash (of the header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Transaction hashes in order.
    pub fn tx_hashes(&self) -> Vec<Hash> {
        self.transactions.iter().map(Transaction::hash).collect()
    }

    /// The Merkle root of the given transaction hashes.
    pub fn tx_root_of(hashes: &[Hash]) -> Hash {
        merkle::root(hashes)
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes with a size limit.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Block, CodecError> {
        codec::decode(bytes, limit)
    }
}
