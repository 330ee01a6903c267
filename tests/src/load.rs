//! A steady stream of anchored-document transactions from one demo participant through one
//! node, every acknowledgement (202) kept, for scenarios that must show nothing acknowledged
//! is lost across what they do meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{Hash, Payload, Transaction};

use crate::Cluster;

/// The load running in the background.
pub struct SteadyLoad {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Hash>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SteadyLoad {
    /// Starts sending one transaction signed by `alias` to node `node` every `every`.
    pub fn start(c: &Cluster, node: usize, alias: &str, every: Duration) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (url, chain, key) = (c.url(node), c.genesis.chain_id.clone(), c.key(alias)?);
        let (s, a) = (stop.clone(), acked.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut nonce = 0;
            while !s.load(Ordering::Relaxed) {
                nonce += 1;
                let tx = Transaction::sign(
                    &key,
                    &chain,
                    nonce,
                    Payload::AnchorDocument {
                        hash: Hash::of(format!("steady load {nonce}").as_bytes()),
                        doc_type: DocumentType::Other,
                        references: vec![],
                    },
                );
                let ok = http
                    .post(format!("{url}/v1/transactions"))
                    .json(&tx)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 202);
                if ok {
                    if let Ok(mut a) = a.lock() {
                        a.push(tx.hash());
                    }
                } else {
                    nonce -= 1;
                }
                tokio::time::sleep(every).await;
            }
        });
        Ok(SteadyLoad { stop, acked, task })
    }

    /// Stops the load; returns every acknowledged transaction.
    pub async fn finish(self) -> Vec<Hash> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}
