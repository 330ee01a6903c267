//! The consistency check run after every scenario: the chains of all running nodes are prefixes
//! of one another (same hash at every shared height), every block links to its parent, the
//! longest chain replays from genesis alone through the ledger's own `Chain` (every proposer,
//! transaction, state root and certificate checked against the validator set in force at its
//! height, as governance changed it), and every node's certificate of each height verifies
//! against that height's set. [`Cluster::check_committed`] adds that a list of
//! acknowledged transactions is committed exactly once, at the same height, on every node.

use std::collections::HashMap;

use anyhow::{bail, Context};
use portledger_ledger::block::Block;
use portledger_ledger::chain::Chain;
use portledger_ledger::{CommitCertificate, Hash, MemStore, ValidatorSet};

use crate::Cluster;

/// One node's verified chain: block hashes by height (index 0 = height 1) and where each
/// transaction was committed (its heights, more than one if it was committed twice).
struct VerifiedChain {
    node: usize,
    blocks: Vec<Hash>,
    txs: HashMap<Hash, Vec<u64>>,
}

impl Cluster {
    /// Checks the nodes that are running; returns the common verified height.
    pub async fn check_consistency(&self) -> anyhow::Result<u64> {
        let chains = self.verified_chains().await?;
        Ok(chains.iter().map(|c| c.blocks.len()).min().unwrap_or(0) as u64)
    }

    /// [`Cluster::check_consistency`], and every transaction of `acked` is committed exactly
    /// once on every running node, at the same height everywhere. Returns the common height.
    pub async fn check_committed(&self, acked: &[Hash]) -> anyhow::Result<u64> {
        let chains = self.verified_chains().await?;
        let mut first: HashMap<Hash, u64> = HashMap::new();
        for c in &chains {
            for tx in acked {
                match c.txs.get(tx).map(Vec::as_slice) {
                    None | Some([]) => {
                        bail!("node {}: acknowledged {tx} was never committed", c.node)
                    }
                    Some([h]) => {
                        if let Some(other) = first.insert(*tx, *h) {
                            if other != *h {
                                bail!("{tx} committed at height {h} on node {} but at {other} elsewhere", c.node);
                            }
                        }
                    }
                    Some(hs) => bail!("node {}: {tx} committed more than once, at {hs:?}", c.node),
                }
            }
        }
        Ok(chains.iter().map(|c| c.blocks.len()).min().unwrap_or(0) as u64)
    }

    async fn verified_chains(&self) -> anyhow::Result<Vec<VerifiedChain>> {
        let mut chains: Vec<VerifiedChain> = Vec::new();
        let mut certificates: Vec<Vec<CommitCertificate>> = Vec::new();
        let mut longest: Vec<(Block, CommitCertificate)> = Vec::new();
        for i in 0..self.nodes.len() {
            if !self.is_running(i) {
                continue;
            }
            let tip = self.height(i).await.context("status")?;
            let mut prev = Hash::ZERO;
            let mut chain = VerifiedChain {
                node: i,
                blocks: Vec::new(),
                txs: HashMap::new(),
            };
            let mut certs = Vec::new();
            let mut full = Vec::new();
            for h in 1..=tip {
                let v = self.get(i, &format!("/v1/blocks/{h}")).await?;
                let block: Block = serde_json::from_value(v["block"].clone())?;
                let cert: CommitCertificate = serde_json::from_value(v["certificate"].clone())?;
                if block.header.previous_hash != prev {
                    bail!("node {i}: block {h} does not link to block {}", h - 1);
                }
                let hash = block.hash();
                for tx in &block.transactions {
                    chain.txs.entry(tx.hash()).or_default().push(h);
                }
                prev = hash;
                chain.blocks.push(hash);
                certs.push(cert.clone());
                full.push((block, cert));
            }
            if full.len() > longest.len() {
                longest = full;
            }
            chains.push(chain);
            certificates.push(certs);
        }
        let sets = self.replay(&longest)?;
        for (c, certs) in chains.iter().zip(&certificates) {
            for (k, (cert, hash)) in certs.iter().zip(&c.blocks).enumerate() {
                let h = k as u64 + 1;
                cert.verify(&self.genesis.chain_id, &sets[k], h, hash)
                    .with_context(|| format!("node {}: certificate of block {h}", c.node))?;
            }
        }
        if let Some(base) = chains.first() {
            for c in &chains {
                for (h, (a, b)) in c.blocks.iter().zip(&base.blocks).enumerate() {
                    if a != b {
                        bail!(
                            "fork: node {} and node {} differ at height {}",
                            c.node,
                            base.node,
                            h + 1
                        );
                    }
                }
            }
        }
        Ok(chains)
    }

    /// Replays `blocks` from genesis on a fresh in-memory ledger, checking each as block sync
    /// does; returns the validator set of each height.
    fn replay(&self, blocks: &[(Block, CommitCertificate)]) -> anyhow::Result<Vec<ValidatorSet>> {
        let mut chain = Chain::open(self.genesis.clone(), MemStore::new())?;
        let mut sets = Vec::with_capacity(blocks.len());
        for (block, cert) in blocks {
            let h = block.header.height;
            sets.push(chain.validators_at(h));
            chain
                .commit_block(block, cert)
                .with_context(|| format!("replaying block {h} from genesis"))?;
        }
        Ok(sets)
    }
}
