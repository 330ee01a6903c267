//! What the host feeds the core.

use portledger_ledger::{Hash, Vote};

use crate::proposal::SignedProposal;
use crate::timeout::Timeout;

/// One event for [`crate::Core::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Begin deciding `height` (after restart, or after the previous height's block is stored).
    StartHeight {
        /// The height to decide.
        height: u64,
    },
    /// A proposal arrived from the network (signature not yet checked).
    ProposalReceived(SignedProposal),
    /// A vote arrived from the network (signature not yet checked).
    VoteReceived(Vote),
    /// A timeout scheduled by [`crate::Action::ScheduleTimeout`] expired.
    TimeoutFired(Timeout),
    /// The host's verdict on a block asked for by [`crate::Action::ValidateProposal`]
    /// (Tendermint's `valid(v)`).
    ProposalValidated {
        /// Height of the proposal.
        height: u64,
        /// Round of the proposal.
        round: u32,
        /// The block checked.
        block_hash: Hash,
        /// Whether the block is valid on top of the committed chain.
        valid: bool,
    },
    /// The host's answer to [`crate::Action::RequestValue`]: the block to propose.
    ValueToPropose {
        /// Height asked for.
        height: u64,
        /// Round asked for.
        round: u32,
        /// The block built by the host.
        block_hash: Hash,
    },
}
