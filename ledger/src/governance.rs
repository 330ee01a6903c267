//! Governance: changes of the consortium that its validator organisations decide by vote.
//!
//! A participant of an organisation that holds a validator seat proposes a change
//! ([`Action`]); each validator organisation votes once, through any of its participants. The
//! proposal is adopted in the transaction whose vote brings the organisations in favour to a
//! quorum of the validator set in force at that height (2f + 1 of 3f + 1, `n - f` in general),
//! and rejected once so many vote against that it can no longer reach one. Adopting an
//! organisation takes effect at once; a change of the validator set or of the consensus
//! parameters takes effect [`ACTIVATION_DELAY`] heights after the block that adopted it, so
//! every validator knows the set of a height before any message of that height can arrive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::genesis::{ConsensusParams, Role};

/// Heights between the block that adopts a change of the validator set (or of the consensus
/// parameters) and the first height it governs: adopted at `h`, in force from `h + k`. The
/// consensus engine looks at most two heights ahead of its committed tip, so any `k >= 3` keeps
/// every validator's view of a height's set the same; 4 leaves a margin.
pub const ACTIVATION_DELAY: u64 = 4;

/// Most participants an organisation may bring in its admission proposal.
pub const MAX_FIRST_PARTICIPANTS: usize = 16;

/// A participant an admitted organisation starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstParticipant {
    /// Unique alias.
    pub alias: String,
    /// Its signing key.
    pub public_key: PublicKey,
    /// Its X25519 key.
    pub encryption_key: crate::sealed::EncryptionKey,
}

/// What a proposal changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Admit an organisation with its role, its node key (for a node that may connect) and its
    /// first participants; with `validator`, it also takes a validator seat (its node key is
    /// the seat's consensus key).
    AddOrganisation {
        /// Unique name.
        name: String,
        /// Its one role.
        role: Role,
        /// The key its node signs consensus messages with and connects under.
        node_key: Option<PublicKey>,
        /// Whether it takes a validator seat.
        validator: bool,
        /// Its first participants.
        participants: Vec<FirstParticipant>,
    },
    /// Seat an admitted organisation as a validator, under its node key.
    AddValidator {
        /// The organisation.
        organisation: String,
    },
    /// Remove an organisation's validator seat (it stays a member, its node an observer).
    RemoveValidator {
        /// The organisation.
        organisation: String,
    },
    /// Replace the consensus parameters (timeouts, heartbeat, block limits).
    SetConsensusParams(ConsensusParams),
}

impl Action {
    /// A short name for messages and listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AddOrganisation { .. } => "add_organisation",
            Action::AddValidator { .. } => "add_validator",
            Action::RemoveValidator { .. } => "remove_validator",
            Action::SetConsensusParams(_) => "set_consensus_params",
        }
    }

    /// Whether adopting it changes the validator set.
    pub fn changes_validators(&self) -> bool {
        matches!(
            self,
            Action::AddOrganisation {
                validator: true,
                ..
            } | Action::AddValidator { .. }
                | Action::RemoveValidator { .. }
        )
    }
}

/// What both node keys sign to rotate an organisation's node key: the chain, the organisation,
/// the key in use and the one replacing it. The old key's signature shows the node's operator
/// wants it; the new key's, that the operator holds the new key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeKeyRotation {
    /// The chain.
    pub chain_id: String,
    /// The organisation whose node key it is.
    pub organisation: String,
    /// The node key in use.
    pub old_key: PublicKey,
    /// The node key replacing it.
    pub new_key: PublicKey,
}

impl NodeKeyRotation {
    /// A signature by `key` over this rotation.
    pub fn sign(&self, key: &crate::crypto::Keypair) -> crate::crypto::Signature {
        key.sign(crate::crypto::Domain::NodeKeyRotation, self)
    }

    /// Whether `sig` is `key`'s signature over this rotation.
    pub fn verify(&self, key: &PublicKey, sig: &crate::crypto::Signature) -> bool {
        key.verify(crate::crypto::Domain::NodeKeyRotation, self, sig)
            .is_ok()
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Votes are being collected.
    Open,
    /// A quorum voted for it at `height`; it governs from `effective_height`.
    Adopted {
        /// The height of the deciding vote.
        height: u64,
        /// The first height it governs (the same height for an admission).
        effective_height: u64,
    },
    /// So many voted against it at `height` that it could no longer be adopted.
    Rejected {
        /// The height of the deciding vote.
        height: u64,
    },
}

impl ProposalStatus {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Open => "open",
            ProposalStatus::Adopted { .. } => "adopted",
            ProposalStatus::Rejected { .. } => "rejected",
        }
    }
}

/// A proposal on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id, chosen by the proposer and never reused.
    pub id: String,
    /// What it changes.
    pub action: Action,
    /// The participant who proposed it.
    pub proposer: PublicKey,
    /// The height it was proposed at.
    pub proposed_height: u64,
    /// Each validator organisation's vote: true for, false against (the proposer's
    /// organisation votes for by proposing).
    pub votes: BTreeMap<String, bool>,
    /// Where it stands.
    pub status: ProposalStatus,
}

/// The count of a proposal's votes against the validator set in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Seated organisations that voted for.
    pub for_: usize,
    /// Seated organisations that voted against.
    pub against: usize,
    /// Votes needed to adopt: the set's quorum.
    pub quorum: usize,
    /// Seats.
    pub seats: usize,
}

impl Tally {
    /// Counts `votes` by the organisations seated in `set` (votes of organisations that have
    /// since lost their seat do not count).
    pub fn of(votes: &BTreeMap<String, bool>, set: &crate::genesis::ValidatorSet) -> Tally {
        let seated = |o: &String| set.key_of(o).is_some();
        Tally {
            for_: votes.iter().filter(|(o, v)| **v && seated(o)).count(),
            against: votes.iter().filter(|(o, v)| !**v && seated(o)).count(),
            quorum: set.quorum(),
            seats: set.len(),
        }
    }

    /// A quorum is in favour.
    pub fn adopts(&self) -> bool {
        self.for_ >= self.quorum
    }

    /// So many are against that a quorum in favour is out of reach.
    pub fn rejects(&self) -> bool {
        self.seats - self.against < self.quorum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::genesis::ValidatorSet;

    fn set(n: usize) -> ValidatorSet {
        ValidatorSet::new(
            (0..n)
                .map(|i| {
                    (
                        format!("org{i}"),
                        Keypair::for_testing(&format!("v{i}")).public(),
                    )
                })
                .collect(),
        )
    }

    fn votes(v: &[(usize, bool)]) -> BTreeMap<String, bool> {
        v.iter().map(|(i, b)| (format!("org{i}"), *b)).collect()
    }

    #[test]
    fn four_seats_adopt_with_three_and_reject_with_two_against() {
        let s = set(4);
        assert!(!Tally::of(&votes(&[(0, true), (1, true)]), &s).adopts());
        assert!(Tally::of(&votes(&[(0, true), (1, true), (2, true)]), &s).adopts());
        assert!(!Tally::of(&votes(&[(0, false)]), &s).rejects());
        assert!(Tally::of(&votes(&[(0, false), (1, false)]), &s).rejects());
    }

    #[test]
    fn votes_of_unseated_organisations_do_not_count() {
        let s = set(4);
        let mut v = votes(&[(0, true), (1, true)]);
        v.insert("stranger".into(), true);
        v.insert("org9".into(), true);
        assert_eq!(Tally::of(&v, &s).for_, 2);
        assert!(!Tally::of(&v, &s).adopts());
    }

    #[test]
    fn one_seat_decides_alone_and_seven_need_five() {
        assert!(Tally::of(&votes(&[(0, true)]), &set(1)).adopts());
        let seven = set(7);
        let four: Vec<_> = (0..4).map(|i| (i, true)).collect();
        assert!(!Tally::of(&votes(&four), &seven).adopts());
        let five: Vec<_> = (0..5).map(|i| (i, true)).collect();
        assert!(Tally::of(&votes(&five), &seven).adopts());
        let three_against: Vec<_> = (0..3).map(|i| (i, false)).collect();
        assert!(Tally::of(&votes(&three_against), &seven).rejects());
    }
}
