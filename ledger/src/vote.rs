//! Signed consensus votes: prevotes and precommits for a block hash (or for nothing, nil).

use serde::{Deserialize, Serialize};

use crate::crypto::{Domain, Hash, Keypair, PublicKey, Signature, SignatureError};

/// The two voting steps of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// First vote of a round.
    Prevote,
    /// Second vote; a quorum of precommits for a block commits it.
    Precommit,
}

/// The signed part of a vote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VoteBody {
    /// Chain the vote is for.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// Round within the height.
    pub round: u32,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The block voted for, or `None` for nil.
    pub block: Option<Hash>,
    /// The voting validator.
    pub validator: PublicKey,
}

/// A vote with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// What is voted.
    pub body: VoteBody,
    /// The validator's signature over the body in [`Domain::Vote`].
    pub signature: Signature,
}

impl Vote {
    /// Builds and signs a vote.
    pub fn sign(
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        kind: VoteKind,
        block: Option<Hash>,
    ) -> Vote {
        let body = VoteBody {
            chain_id: chain_id.to_string(),
            height,
            round,
            kind,
            block,
            validator: key.public(),
        };
        let signature = key.sign(Domain::Vote, &body);
        Vote { body, signature }
    }

    /// Checks the signature against the body's validator key.
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.body
            .validator
            .verify(Domain::Vote, &self.body, &self.signature)
    }

    /// Two votes by the same validator for the same height, round and step but different
    /// blocks: proof of equivocation.
    pub fn conflicts_with(&self, other: &Vote) -> bool {
        let (a, b) = (&self.body, &other.body);
        a.validator == b.validator
            && a.chain_id == b.chain_id
            && a.height == b.height
            && a.round == b.round
            && a.kind == b.kind
            && a.block != b.block
    }
}
