//! Admission of transactions gossiped by peers, off the consensus driver's task: the driver
//! hands each decoded batch over a bounded queue and goes back to consensus; one task admits
//! the batches in arrival order on the blocking pool (rules are CPU work). When the queue is
//! full the batch is dropped here: the peers that sent it still hold it, and the proposer
//! includes it from its own mempool.

use std::sync::Arc;

use portledger_ledger::Transaction;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, Instrument};

use crate::shared::Shared;

/// Batches waiting for admission at most.
const QUEUE: usize = 256;

/// Hands gossiped batches to the admission task.
#[derive(Debug, Clone)]
pub struct GossipIntake {
    tx: mpsc::Sender<Vec<Transaction>>,
}

impl GossipIntake {
    /// Starts the admission task, until `shutdown` turns true.
    pub fn spawn(
        shared: Arc<Shared>,
        mut shutdown: watch::Receiver<bool>,
    ) -> (GossipIntake, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Vec<Transaction>>(QUEUE);
        let task = tokio::spawn(
            async move {
                loop {
                    let first = tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => return,
                        b = rx.recv() => match b {
                            Some(b) => b,
                            None => return,
                        },
                    };
                    // Whatever queued up meanwhile is admitted together, in order.
                    let mut txs = first;
                    while let Ok(more) = rx.try_recv() {
                        txs.extend(more);
                    }
                    let s = shared.clone();
                    let admitted = tokio::task::spawn_blocking(move || s.admit_all(txs)).await;
                    if let Ok(results) = admitted {
                        for e in results.into_iter().filter_map(Result::err) {
                            debug!(error = %e, "gossiped transaction not admitted");
                        }
                    }
                }
            }
            .instrument(tracing::info_span!("gossip_intake")),
        );
        (GossipIntake { tx }, task)
    }

    /// Queues a batch; drops it when the queue is full.
    pub fn admit(&self, txs: Vec<Transaction>) {
        if let Err(mpsc::error::TrySendError::Full(txs)) = self.tx.try_send(txs) {
            debug!(
                txs = txs.len(),
                "gossip admission queue full; batch dropped"
            );
        }
    }
}
