//! The simulated network: per-message delay (hence reordering), loss, and partitions.

use portledger_ledger::Vote;

use super::checks::Committed;
use super::rng::SimRng;
use crate::proposal::SignedProposal;

/// What travels between simulated nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireMessage {
    /// A proposal (its block body is in the registry).
    Proposal(SignedProposal),
    /// A vote.
    Vote(Vote),
    /// "This is my committed height", sent to everyone on every gossip tick.
    Status {
        /// The sender's committed height.
        height: u64,
    },
    /// A decided height for a peer still deciding it: the proposal with the precommits of its
    /// commit certificate.
    Decision {
        /// The decided proposal.
        proposal: SignedProposal,
        /// Its precommits.
        precommits: Vec<Vote>,
    },
    /// Block sync: "send me your blocks from this height on".
    SyncRequest {
        /// First height wanted.
        from: u64,
    },
    /// Block sync: committed blocks with their certificates, oldest first.
    SyncResponse {
        /// The blocks.
        blocks: Vec<Committed>,
    },
}

/// Link behaviour, changed by the fault schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkModel {
    /// Probability (per mille) that a message is lost.
    pub loss_per_mille: u32,
    /// Shortest delivery delay.
    pub delay_min_ms: u64,
    /// Longest usual delivery delay; one message in a hundred takes up to five times longer.
    pub delay_max_ms: u64,
    /// Partition group of each node, or `None` when fully connected.
    pub partition: Option<Vec<u8>>,
}

impl NetworkModel {
    /// A perfect LAN-like network.
    pub fn reliable() -> Self {
        NetworkModel {
            loss_per_mille: 0,
            delay_min_ms: 2,
            delay_max_ms: 20,
            partition: None,
        }
    }

    /// Whether `a` and `b` can currently talk.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.partition.as_ref().is_none_or(|g| g.get(a) == g.get(b))
    }

    /// The delay of one message from `from` to `to`, or `None` if it is lost.
    pub fn transmit(&self, rng: &mut SimRng, from: usize, to: usize) -> Option<u64> {
        if !self.connected(from, to) || rng.chance(self.loss_per_mille) {
            return None;
        }
        let mut d = rng.range(self.delay_min_ms, self.delay_max_ms);
        if rng.chance(10) {
            d = d.saturating_mul(rng.range(2, 5));
        }
        Some(d)
    }
}
