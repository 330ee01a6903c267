//! The consistency check run after every scenario: the chains of all running nodes are prefixes
//! of one another (same hash at every shared height), every block links to its parent, and every
//! commit certificate verifies against genesis.

use anyhow::{bail, Context};
use portledger_ledger::block::Block;
use portledger_ledger::{CommitCertificate, Hash};

use crate::Cluster;

impl Cluster {
    /// Checks the nodes that are running; returns the common verified height.
    pub async fn check_consistency(&self) -> anyhow::Result<u64> {
        let validators = self.genesis.validator_set();
        let mut chains: Vec<(usize, Vec<Hash>)> = Vec::new();
        for i in 0..self.nodes.len() {
            if !self.is_running(i) {
                continue;
            }
            let tip = self.height(i).await.context("status")?;
            let mut prev = Hash::ZERO;
            let mut hashes = Vec::new();
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
                }
                prev = hash;
                hashes.push(hash);
            }
            chains.push((i, hashes));
        }
        let common = chains.iter().map(|(_, c)| c.len()).min().unwrap_or(0);
        for (i, c) in &chains {
            for (h, (a, b)) in c.iter().zip(&chains[0].1).enumerate() {
                if a != b {
                    bail!(
                        "fork: node {i} and node {} differ at height {}",
                        chains[0].0,
                        h + 1
                    );
                }
            }
        }
        Ok(common as u64)
    }
}
