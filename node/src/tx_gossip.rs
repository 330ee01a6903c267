//! Transactions are gossiped in batches: the API hands each admitted transaction to a batcher,
//! which publishes them together once a few milliseconds have passed or the batch is full. One
//! gossip message per batch instead of one per transaction keeps gossipsub's per-message costs
//! (framing, encryption, duplicate forwarding, send queues) from growing with the load, and lets
//! receivers verify the signatures of a batch together.

use std::time::Duration;

use portledger_ledger::{codec, Transaction};
use tokio::sync::mpsc;
use tracing::debug;

use crate::network::{NetworkHandle, Topic};

/// How long the first transaction of a batch waits for company.
pub const LINGER: Duration = Duration::from_millis(5);
/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 1024;
/// Most encoded bytes in one batch (well inside a gossip message).
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Hands transactions to the batcher task.
#[derive(Debug, Clone)]
pub struct TxGossip {
    tx: mpsc::UnboundedSender<Transaction>,
}

impl TxGossip {
    /// Starts the batcher task publishing on `network`.
    pub fn spawn(network: NetworkHandle) -> TxGossip {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(network, rx));
        TxGossip { tx }
    }

    /// Queues an admitted transaction for gossip.
    pub fn send(&self, tx: Transaction) {
        if self.tx.send(tx).is_err() {
            debug!("transaction gossip stopped; not relayed");
        }
    }
}

async fn run(network: NetworkHandle, mut rx: mpsc::UnboundedReceiver<Transaction>) {
    while let Some(first) = rx.recv().await {
        let mut bytes = codec::encode(&first).len();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH_TXS && bytes < MAX_BATCH_BYTES {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(tx)) => {
                    bytes += codec::encode(&tx).len();
                    batch.push(tx);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let n = batch.len();
        if let Err(e) = network
            .publish(Topic::Transactions, encode_batch(&batch))
            .await
        {
            debug!(error = %e, txs = n, "gossip of a transaction batch failed");
        }
    }
}

/// The gossip encoding of a batch.
pub fn encode_batch(txs: &[Transaction]) -> Vec<u8> {
    codec::encode(&txs)
}
