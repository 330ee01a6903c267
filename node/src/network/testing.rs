//! In-memory twins of the network's seams, for tests of the network and of the node.

use std::sync::Arc;

use portledger_ledger::Hash;

use super::{Acceptance, BlockSource, SyncStatus, SyncedBlock, Validator};

/// A validator that accepts every message.
pub fn accept_all() -> Validator {
    Arc::new(|_, _| Acceptance::Accept)
}

/// A [`BlockSource`] over a fixed list of blocks: `blocks[0]` is height 1.
#[derive(Clone, Debug)]
pub struct MemBlockSource {
    status: SyncStatus,
    blocks: Vec<SyncedBlock>,
}

impl MemBlockSource {
    /// Serves `blocks` (the first at height 1) with `status` as the tip.
    pub fn new(status: SyncStatus, blocks: Vec<SyncedBlock>) -> Self {
        MemBlockSource { status, blocks }
    }

    /// No blocks: height 0, zero hash.
    pub fn empty() -> Self {
        Self::new(
            SyncStatus {
                height: 0,
                hash: Hash::ZERO,
            },
            Vec::new(),
        )
    }
}

impl BlockSource for MemBlockSource {
    fn status(&self) -> SyncStatus {
        self.status.clone()
    }

    fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock> {
        let Some(start) = from.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return Vec::new();
        };
        self.blocks
            .iter()
            .skip(start)
            .take(count as usize)
            .cloned()
            .collect()
    }
}
