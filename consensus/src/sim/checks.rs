//! The properties checked at the end of every run.

use std::collections::BTreeSet;

use portledger_ledger::{codec, CommitCertificate, Hash, ValidatorSet};

use super::block::BlockRegistry;
use crate::proposal::SignedProposal;

/// A block in a node's durable store.
#[derive(Debug, Clone)]
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
/// correct nodes (`chains[i]` is `None` for a Byzantine node). Returns the violations found.
pub fn check_chains(
    chains: &[Option<&[Committed]>],
    registry: &BlockRegistry,
    chain_id: &str,
    validators: &ValidatorSet,
) -> Vec<String> {
    let mut violations = Vec::new();
    let mut verified: BTreeSet<Vec<u8>> = BTreeSet::new();
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
            let key = codec::encode(&c.certificate);
            if !verified.contains(&key) {
                match c.certificate.verify(chain_id, validators, height, &c.hash) {
                    Ok(()) => {
                        verified.insert(key);
                    }
                    Err(e) => violations.push(format!(
                        "certificate: node {i} height {height} does not verify: {e}"
                    )),
                }
            }
        }
    }
    violations
}
