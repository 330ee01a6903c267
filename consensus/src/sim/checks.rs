//! The properties checked at the end of every run.

use std::collections::BTreeSet;

use portledger_ledger::{CertificateError, CommitCertificate, Hash, ValidatorSet};

use crate::schedule::ValidatorSchedule;

use super::block::BlockRegistry;
use crate::proposal::SignedProposal;

/// A block in a node's durable store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Block hash.
    pub hash: Hash,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The proposal that carried it (served to lagging peers).
    pub proposal: SignedProposal,
    /// When it was committed (simulated time).
    pub time_ms: u64,
}

/// Agreement, validity, hash-chain continuity and certificate validity over the chains of the
/// correct nodes (`chains[i]` is `None` for a Byzantine node), each certificate against the set
/// of its height. Returns the violations found.
pub fn check_chains(
    chains: &[Option<&[Committed]>],
    registry: &BlockRegistry,
    chain_id: &str,
    validators: &ValidatorSchedule,
) -> Vec<String> {
    let mut violations = Vec::new();
    let mut cache = CertificateCache::default();
    let longest = chains.iter().flatten().map(|c| c.len()).max().unwrap_or(0);
    for h in 0..longest {
        let height = h as u64 + 1;
        // Agreement.
        let mut decided: Option<(usize, Hash)> = None;
        for (i, chain) in chains.iter().enumerate() {
            let Some(c) = chain.and_then(|c| c.get(h)) else {
                continue;
            };
            match decided {
                None => decided = Some((i, c.hash)),
                Some((j, other)) if other != c.hash => violations.push(format!(
                    "agreement: at height {height} node {j} committed {other} but node {i} committed {}",
                    c.hash
                )),
                Some(_) => {}
            }
        }
        for (i, chain) in chains.iter().enumerate() {
            let Some(chain) = chain else { continue };
            let Some(c) = chain.get(h) else { continue };
            let prev = if h == 0 {
                Hash::ZERO
            } else {
                chain[h - 1].hash
            };
            match registry.get(&c.hash) {
                None => violations.push(format!(
                    "validity: node {i} committed unknown block {} at height {height}",
                    c.hash
                )),
                Some(b) => {
                    if !b.valid {
                        violations.push(format!(
                            "validity: node {i} committed invalid block {} at height {height}",
                            c.hash
                        ));
                    }
                    if b.height != height || b.prev != prev {
                        violations.push(format!(
                            "hash chain: node {i} block at height {height} is for height {} on parent {}, expected parent {prev}",
                            b.height, b.prev
                        ));
                    }
                }
            }
            if c.certificate.block_hash != c.hash
                || c.proposal.proposal.block_hash != c.hash
                || c.proposal.proposal.height != height
            {
                violations.push(format!(
                    "node {i} stored mismatching certificate or proposal at height {height}"
                ));
            }
            if let Err(e) = cache.verify(
                &c.certificate,
                chain_id,
                validators.at(height),
                height,
                &c.hash,
            ) {
                violations.push(format!(
                    "certificate: node {i} height {height} does not verify: {e}"
                ));
            }
        }
    }
    violations
}

/// Verifies many certificates over the same precommits without checking a signature twice:
/// every certificate goes through [`CommitCertificate::verify_with`] (all structural checks),
/// which skips only the signatures this cache has already seen verify.
#[derive(Default)]
struct CertificateCache {
    /// (height, round, block, validator and signature bytes) already verified.
    signatures: BTreeSet<(u64, u32, Hash, Vec<u8>)>,
}

impl CertificateCache {
    fn verify(
        &mut self,
        cert: &CommitCertificate,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        hash: &Hash,
    ) -> Result<(), CertificateError> {
        let key = |s: &portledger_ledger::CommitSignature| {
            let mut bytes = s.validator.0.to_vec();
            bytes.extend_from_slice(&s.signature.0);
            (cert.height, cert.round, cert.block_hash, bytes)
        };
        cert.verify_with(chain_id, validators, height, hash, &|s| {
            self.signatures.contains(&key(s))
        })?;
        for s in &cert.signatures {
            self.signatures.insert(key(s));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::{Keypair, Signature, Vote, VoteKind};

    #[test]
    fn cached_verification_still_rejects_bad_certificates() {
        let keys: Vec<Keypair> = (0..4)
            .map(|i| Keypair::for_testing(&format!("c{i}")))
            .collect();
        let vs = ValidatorSet::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (format!("v{i}"), k.public()))
                .collect(),
        );
        let block = Hash::of(b"b");
        let votes: Vec<Vote> = keys
            .iter()
            .map(|k| Vote::sign(k, "c", 1, 0, VoteKind::Precommit, Some(block)))
            .collect();
        let full = CommitCertificate::from_votes(&vs, 1, 0, block, &votes);
        let subset = CommitCertificate::from_votes(&vs, 1, 0, block, &votes[1..]);
        let mut cache = CertificateCache::default();
        assert_eq!(cache.verify(&full, "c", &vs, 1, &block), Ok(()));
        assert_eq!(cache.verify(&subset, "c", &vs, 1, &block), Ok(()));
        let mut forged = subset.clone();
        forged.signatures[0].signature = Signature([1; 64]);
        assert!(matches!(
            cache.verify(&forged, "c", &vs, 1, &block),
            Err(CertificateError::BadSignature(_))
        ));
        let mut short = subset.clone();
        short.signatures.pop();
        assert!(matches!(
            cache.verify(&short, "c", &vs, 1, &block),
            Err(CertificateError::NoQuorum { .. })
        ));
        let mut dup = short.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            cache.verify(&dup, "c", &vs, 1, &block),
            Err(CertificateError::Duplicate(_))
        ));
        assert!(cache.verify(&full, "c", &vs, 2, &block).is_err());
    }
}
