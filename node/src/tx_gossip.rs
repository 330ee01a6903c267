//! Accepting submitted transactions: recorded durably, then gossiped in batches.
//!
//! The API hands each admitted transaction to one task, which gathers those arriving within a
//! few milliseconds, writes them to the store in one batch with one flush, publishes them as one
//! gossip message, and only then lets the API answer 202 for each. So an acknowledged
//! transaction survives a crash of the node that took it: on restart the node admits its
//! recorded transactions again and re-gossips them ([`restore`]); they leave the record when
//! committed or no longer valid ([`forget`]).
//!
//! One gossip message per batch instead of one per transaction keeps gossipsub's per-message
//! costs (framing, encryption, duplicate forwarding, send queues) from growing with the load,
//! and lets receivers verify the signatures of a batch together.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use portledger_ledger::{codec, Hash, Store, Transaction};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::mempool::Admission;
use crate::network::{NetworkHandle, Topic};
use crate::shared::{lock, Shared};

/// How long the first transaction of a batch waits for company.
pub const LINGER: Duration = Duration::from_millis(3);
/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 1024;
/// Most encoded bytes in one batch (well inside a gossip message).
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Sequence numbers of the recorded accepted transactions, by hash.
pub type AcceptedLog = std::sync::Mutex<HashMap<Hash, u64>>;

/// A transaction to gossip; `ack` (for a submission) is answered once it is recorded and sent.
struct Item {
    tx: Transaction,
    record: bool,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// Hands transactions to the batching task.
#[derive(Debug, Clone)]
pub struct TxGossip {
    tx: mpsc::UnboundedSender<Item>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Item({})", self.tx.hash())
    }
}

impl TxGossip {
    /// Starts the batching task, recording in `shared.store` from sequence `next_seq` on and
    /// publishing on `network`.
    pub fn spawn(shared: Arc<Shared>, network: NetworkHandle, next_seq: u64) -> TxGossip {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(shared, network, rx, next_seq));
        TxGossip { tx }
    }

    /// Records and gossips a submitted transaction; resolves once both are done.
    pub async fn accept(&self, tx: Transaction) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Item {
                tx,
                record: true,
                ack: Some(ack),
            })
            .map_err(|_| "the node is stopping".to_string())?;
        done.await.map_err(|_| "the node is stopping".to_string())?
    }

    /// Gossips a transaction already recorded (after a restart).
    pub fn regossip(&self, tx: Transaction) {
        let _ = self.tx.send(Item {
            tx,
            record: false,
            ack: None,
        });
    }
}

async fn run(
    shared: Arc<Shared>,
    network: NetworkHandle,
    mut rx: mpsc::UnboundedReceiver<Item>,
    mut next_seq: u64,
) {
    while let Some(first) = rx.recv().await {
        let mut bytes = codec::encode(&first.tx).len();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH_TXS && bytes < MAX_BATCH_BYTES {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(item)) => {
                    bytes += codec::encode(&item.tx).len();
                    batch.push(item);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let records: Vec<(u64, Hash, Vec<u8>)> = batch
            .iter()
            .filter(|i| i.record)
            .map(|i| {
                next_seq += 1;
                (next_seq, i.tx.hash(), i.tx.encode())
            })
            .collect();
        let recorded = if records.is_empty() {
            Ok(())
        } else {
            let s = shared.clone();
            let entries: Vec<(u64, Vec<u8>)> =
                records.iter().map(|(q, _, b)| (*q, b.clone())).collect();
            match tokio::task::spawn_blocking(move || s.store.put_accepted(&entries)).await {
                Ok(Ok(())) => {
                    let mut log = lock(&shared.accepted);
                    for (seq, hash, _) in &records {
                        log.insert(*hash, *seq);
                    }
                    Ok(())
                }
                Ok(Err(e)) => Err(format!("could not record the transaction: {e}")),
                Err(e) => Err(format!("could not record the transaction: {e}")),
            }
        };
        if let Err(e) = &recorded {
            warn!(error = %e, "accepted transactions not recorded");
        }
        let txs: Vec<Transaction> = batch.iter().map(|i| i.tx.clone()).collect();
        if let Err(e) = network
            .publish(Topic::Transactions, encode_batch(&txs))
            .await
        {
            debug!(error = %e, txs = txs.len(), "gossip of a transaction batch failed");
        }
        for item in batch {
            if let Some(ack) = item.ack {
                let _ = ack.send(recorded.clone());
            }
        }
    }
}

/// The gossip encoding of a batch.
pub fn encode_batch(txs: &[Transaction]) -> Vec<u8> {
    codec::encode(&txs)
}

/// After a restart: admits the recorded accepted transactions again (forgetting those committed
/// or no longer valid meanwhile) and returns them, to be gossiped again, with the next sequence
/// number to use.
pub fn restore(shared: &Shared) -> (Vec<Transaction>, u64) {
    let recorded = shared.store.accepted().unwrap_or_default();
    let next_seq = recorded.last().map_or(0, |(s, _)| *s);
    let limit = shared.genesis.consensus.max_tx_bytes as usize;
    let mut again = Vec::new();
    let mut gone = Vec::new();
    for (seq, bytes) in recorded {
        let Ok(tx) = Transaction::decode(&bytes, limit) else {
            gone.push(seq);
            continue;
        };
        let hash = tx.hash();
        match shared.admit(tx.clone()) {
            Ok(Admission::Added(_)) => {
                lock(&shared.accepted).insert(hash, seq);
                again.push(tx);
            }
            _ => gone.push(seq),
        }
    }
    if !again.is_empty() || !gone.is_empty() {
        info!(
            waiting = again.len(),
            forgotten = gone.len(),
            "accepted transactions restored from the store"
        );
    }
    if let Err(e) = shared.store.remove_accepted(&gone) {
        warn!(error = %e, "could not forget accepted transactions");
    }
    (again, next_seq)
}

/// Forgets the recorded accepted transactions among `hashes` (committed or dropped).
pub fn forget(shared: &Shared, hashes: &[Hash]) {
    let seqs: Vec<u64> = {
        let mut log = lock(&shared.accepted);
        if log.is_empty() {
            return;
        }
        hashes.iter().filter_map(|h| log.remove(h)).collect()
    };
    if let Err(e) = shared.store.remove_accepted(&seqs) {
        warn!(error = %e, "could not forget accepted transactions");
    }
}
