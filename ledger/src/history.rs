//! History entries: who did what to a document, in which block, when.

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};

/// One transaction in a document's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Position of the transaction in its block.
    pub index: u32,
    /// Transaction hash.
    pub tx_hash: Hash,
    /// Who signed it.
    pub signer: PublicKey,
    /// What it did (`bl.transfer`, `lc.honour`, ...).
    pub action: String,
}

/// Where a committed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}
