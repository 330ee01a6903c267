//! Commit certificates: a quorum of signed precommits for one block hash in one round. Anyone
//! holding the genesis file can check one offline.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::crypto::{Domain, Hash, PublicKey, Signature};
use crate::genesis::ValidatorSet;
use crate::vote::{Vote, VoteBody, VoteKind};

/// One validator's precommit signature inside a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSignature {
    /// The validator.
    pub validator: PublicKey,
    /// Its signature over the precommit for the certified block.
    pub signature: Signature,
}

/// A set of precommits for `block_hash` at (`height`, `round`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// Height of the certified block.
    pub height: u64,
    /// Round in which it was committed.
    pub round: u32,
    /// Hash of the certified block.
    pub block_hash: Hash,
    /// Precommit signatures, in validator order, one per validator.
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate does not prove a commit.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    /// The certificate is for another block, height or round than the one checked.
    #[error("certificate is for block {found} at height {found_height}, expected block {expected} at height {expected_height}")]
    WrongBlock {
        /// Expected block hash.
        expected: Hash,
        /// Expected height.
        expected_height: u64,
        /// Certified block hash.
        found: Hash,
        /// Certified height.
        found_height: u64,
    },
    /// A signer is not in the validator set.
    #[error("certificate signer {0} is not a validator in genesis")]
    UnknownValidator(PublicKey),
    /// The same validator appears twice.
    #[error("validator {0} signed the certificate twice")]
    Duplicate(PublicKey),
    /// A signature does not verify.
    #[error("precommit signature of validator {0} does not verify")]
    BadSignature(PublicKey),
    /// Fewer than a quorum of distinct validators.
    #[error("certificate has {found} precommits, a quorum needs {needed}")]
    NoQuorum {
        /// Distinct valid signers.
        found: usize,
        /// Quorum size.
        needed: usize,
    },
}

impl CommitCertificate {
    /// Builds a certificate from precommit votes; the caller has checked they agree on height,
    /// round and block. Signatures are sorted by validator order for a canonical form.
    pub fn from_votes(
        validators: &ValidatorSet,
        height: u64,
        round: u32,
        block_hash: Hash,
        votes: &[Vote],
    ) -> CommitCertificate {
        let mut signatures: Vec<CommitSignature> = votes
            .iter()
            .filter(|v| {
                v.body.kind == VoteKind::Precommit
                    && v.body.height == height
                    && v.body.round == round
                    && v.body.block == Some(block_hash)
            })
            .map(|v| CommitSignature {
                validator: v.body.validator,
                signature: v.signature,
            })
            .collect();
        signatures.sort_by_key(|s| validators.index_of(&s.validator).unwrap_or(usize::MAX));
        signatures.dedup_by_key(|s| s.validator);
        CommitCertificate {
            height,
            round,
            block_hash,
            signatures,
        }
    }

    /// The precommit a validator signed for this certificate's block.
    fn precommit_body(&self, chain_id: &str, validator: PublicKey) -> VoteBody {
        VoteBody {
            chain_id: chain_id.to_string(),
            height: self.height,
            round: self.round,
            kind: VoteKind::Precommit,
            block: Some(self.block_hash),
            validator,
        }
    }

    /// The precommit votes this certificate is made of (for a peer that missed them).
    pub fn precommits(&self, chain_id: &str) -> Vec<Vote> {
        self.signatures
            .iter()
            .map(|s| Vote {
                body: self.precommit_body(chain_id, s.validator),
                signature: s.signature,
            })
            .collect()
    }

    /// The hash carried in the next block's header.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }

    /// Checks that this certificate proves `block_hash` committed at `height` on `chain_id` by a
    /// quorum of `validators`.
    pub fn verify(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash,
    ) -> Result<(), CertificateError> {
        self.verify_with(chain_id, validators, height, block_hash, &|_| false)
    }

    /// Like [`CommitCertificate::verify`], but skips the signature check of precommits for which
    /// `already_verified` is true (a caller that checked the same signature before); every other
    /// rule is still applied.
    pub fn verify_with(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash,
        already_verified: &dyn Fn(&CommitSignature) -> bool,
    ) -> Result<(), CertificateError> {
        if self.height != height || self.block_hash != *block_hash {
            return Err(CertificateError::WrongBlock {
                expected: *block_hash,
                expected_height: height,
                found: self.block_hash,
                found_height: self.height,
            });
        }
        let mut seen = BTreeSet::new();
        for s in &self.signatures {
            if !validators.contains(&s.validator) {
                return Err(CertificateError::UnknownValidator(s.validator));
            }
            if !seen.insert(s.validator) {
                return Err(CertificateError::Duplicate(s.validator));
            }
            if already_verified(s) {
                continue;
            }
            let body = self.precommit_body(chain_id, s.validator);
            s.validator
                .verify(Domain::Vote, &body, &s.signature)
                .map_err(|_| CertificateError::BadSignature(s.validator))?;
        }
        if seen.len() < validators.quorum() {
            return Err(CertificateError::NoQuorum {
                found: seen.len(),
                needed: validators.quorum(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;

    fn setup() -> (Vec<Keypair>, ValidatorSet) {
        let keys: Vec<_> = (0..4)
            .map(|i| Keypair::for_testing(&format!("val{i}")))
            .collect();
        let vs = ValidatorSet::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (format!("v{i}"), k.public()))
                .collect(),
        );
        (keys, vs)
    }

    #[test]
    fn quorum_certificate_verifies_and_tampering_fails() {
        let (keys, vs) = setup();
        let block = Hash::of(b"block");
        let votes: Vec<_> = keys[..3]
            .iter()
            .map(|k| Vote::sign(k, "c", 5, 1, VoteKind::Precommit, Some(block)))
            .collect();
        let cert = CommitCertificate::from_votes(&vs, 5, 1, block, &votes);
        assert_eq!(cert.verify("c", &vs, 5, &block), Ok(()));
        assert!(matches!(
            cert.verify("other-chain", &vs, 5, &block),
            Err(CertificateError::BadSignature(_))
        ));
        assert!(matches!(
            cert.verify("c", &vs, 6, &block),
            Err(CertificateError::WrongBlock { .. })
        ));
        let mut short = cert.clone();
        short.signatures.pop();
        assert_eq!(
            short.verify("c", &vs, 5, &block),
            Err(CertificateError::NoQuorum {
                found: 2,
                needed: 3
            })
        );
        let mut dup = short.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify("c", &vs, 5, &block),
            Err(CertificateError::Duplicate(_))
        ));
        let mut stranger = cert.clone();
        let outsider = Keypair::for_testing("outsider");
        stranger.signatures[0] = CommitSignature {
            validator: outsider.public(),
            signature: Vote::sign(&outsider, "c", 5, 1, VoteKind::Precommit, Some(block)).signature,
        };
        assert!(matches!(
            stranger.verify("c", &vs, 5, &block),
            Err(CertificateError::UnknownValidator(_))
        ));
        // A prevote signature is not a precommit signature.
        let mut prevote = cert.clone();
        prevote.signatures[0].signature =
            Vote::sign(&keys[0], "c", 5, 1, VoteKind::Prevote, Some(block)).signature;
        assert!(matches!(
            prevote.verify("c", &vs, 5, &block),
            Err(CertificateError::BadSignature(_))
        ));
    }
}
