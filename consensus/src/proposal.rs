//! Signed block proposals. The proposal names the block by hash; the body travels beside it.

use portledger_ledger::crypto::SignatureError;
use portledger_ledger::{Domain, Hash, Keypair, PublicKey, Signature};
use serde::{Deserialize, Serialize};

/// The proposer of (`height`, `round`) proposes `block_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Proposal {
    /// Chain the proposal is for.
    pub chain_id: String,
    /// Height.
    pub height: u64,
    /// Round within the height.
    pub round: u32,
    /// The proposed block.
    pub block_hash: Hash,
    /// The round of the polka that made this the proposer's valid value (Tendermint's
    /// validRound), or `None` for a fresh value.
    pub pol_round: Option<u32>,
    /// The proposing validator.
    pub proposer: PublicKey,
}

/// A proposal with the proposer's signature over it in [`Domain::Proposal`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedProposal {
    /// What is proposed.
    pub proposal: Proposal,
    /// The proposer's signature.
    pub signature: Signature,
}

impl SignedProposal {
    /// Builds and signs a proposal; the proposer is the key's public key.
    pub fn sign(
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        block_hash: Hash,
        pol_round: Option<u32>,
    ) -> SignedProposal {
        let proposal = Proposal {
            chain_id: chain_id.to_string(),
            height,
            round,
            block_hash,
            pol_round,
            proposer: key.public(),
        };
        let signature = key.sign(Domain::Proposal, &proposal);
        SignedProposal {
            proposal,
            signature,
        }
    }

    /// Checks the signature against the proposal's proposer key.
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.proposal
            .proposer
            .verify(Domain::Proposal, &self.proposal, &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::codec;

    #[test]
    fn signature_covers_every_field_and_round_trips() {
        let k = Keypair::for_testing("p");
        let p = SignedProposal::sign(&k, "c", 3, 1, Hash::of(b"b"), Some(0));
        assert!(p.verify_signature().is_ok());
        let bytes = codec::encode(&p);
        assert_eq!(codec::decode::<SignedProposal>(&bytes, 1024), Ok(p.clone()));
        let mut q = p.clone();
        q.proposal.pol_round = None;
        assert!(q.verify_signature().is_err());
        let mut q = p.clone();
        q.proposal.round = 2;
        assert!(q.verify_signature().is_err());
        // A vote signature over the same bytes is not a proposal signature.
        let mut q = p.clone();
        q.signature = k.sign(Domain::Vote, &p.proposal);
        assert!(q.verify_signature().is_err());
    }
}
