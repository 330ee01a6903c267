//! What the core asks the host to do, in the order it must be done.

use portledger_ledger::{CommitCertificate, Hash, Vote};
use serde::{Deserialize, Serialize};

use crate::proposal::SignedProposal;
use crate::timeout::Timeout;
use crate::wal::WalRecord;

/// Two signed votes by one validator for the same height, round and step but different blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// The vote seen first.
    pub first: Vote,
    /// The conflicting vote.
    pub second: Vote,
}

/// Two signed proposals by one proposer for the same height and round but different blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalEquivocation {
    /// The proposal seen first.
    pub first: SignedProposal,
    /// The conflicting proposal.
    pub second: SignedProposal,
}

/// One effect for the host. The host executes a step's actions in order; a [`Action::Persist`]
/// must be durable before any later action of the same step is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Gossip this proposal (the block body travels beside it).
    BroadcastProposal(SignedProposal),
    /// Gossip this vote.
    BroadcastVote(Vote),
    /// Append this record to the write-ahead log, durably, before going on.
    Persist(WalRecord),
    /// Fire [`crate::Input::TimeoutFired`] with this timeout after `duration_ms`.
    ScheduleTimeout(Timeout),
    /// Build a block to propose at (`height`, `round`) and answer with
    /// [`crate::Input::ValueToPropose`].
    RequestValue {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
    /// Check the proposed block and answer with [`crate::Input::ProposalValidated`].
    ValidateProposal {
        /// Height.
        height: u64,
        /// Round of the proposal.
        round: u32,
        /// The block to check.
        block_hash: Hash,
    },
    /// `block_hash` is final at `height`. Store it with the certificate, then send
    /// [`crate::Input::StartHeight`] for `height + 1`.
    Commit {
        /// Height decided.
        height: u64,
        /// The block decided.
        block_hash: Hash,
        /// A quorum of precommits for it.
        certificate: CommitCertificate,
    },
    /// A validator signed conflicting votes; keep as evidence.
    Evidence(Equivocation),
    /// A proposer signed conflicting proposals; keep as evidence.
    ProposalEvidence(ProposalEquivocation),
}
