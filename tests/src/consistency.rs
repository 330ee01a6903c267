//! The consistency check run after every scenario: the chains of all running nodes are prefixes
//! of one another (same hash at every shared height), every block links to its parent, and every
//! commit certificate verifies against genesis. [`Cluster::check_committed`] adds that a list of
//! acknowledged transactions is committed exactly once, at the same height, on every node.

use std::collections::HashMap;

use anyhow::{bail, Context};
use portledger_ledger::block::Block;
use portledger_ledger::{CommitCertificate, Hash};

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
        let validators = self.genesis.validator_set();
        let mut chains: Vec<VerifiedChain> = Vec::new();
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
            for h in 1..=tip {
                let v = self.get(i, &format!("/v1/blocks/{h}")).await?;
                let block: Block = serde_json::from_value(v["block"].clone())?;
                let cert: CommitCertificate = serde_json::from_value(v["certificate"].clone())?;
                if block.header.previous_hash != prev {
                    bail!("node {i}: block {h} does not link to block {}", h - 1);
                }
                let hash = block.hash();
                cert.verify(&self.genesis.chain_id, &validators, h, &hash)
                    .with_context(|| format!("node {i}: certificate of block {h}"))?;
                for tx in &block.transactions {
                    tx.verify_signature()
                        .with_context(|| format!("node {i}: a transaction in block {h}"))?;
                    chain.txs.entry(tx.hash()).or_default().push(h);
                }
                prev = hash;
                chain.blocks.push(hash);
            }
            chains.push(chain);
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
}
