//! What the node's parts share: the chain (state and store), the mempool, the committed-event
//! stream, live status and metrics. Lock order is always chain, then mempool.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use portledger_ledger::chain::Chain;
use portledger_ledger::documents::tracking::TrackingEvent;
use portledger_ledger::{
    BlockContext, DocumentKey, Genesis, Hash, PublicKey, SledStore, State, Store, Transaction,
};
use serde::Serialize;
use tokio::sync::{broadcast, Notify};

use crate::mempool::{Admission, Mempool, MempoolError};
use crate::metrics::Metrics;
use crate::network::{BlockSource, SyncStatus, SyncedBlock};

/// One committed transaction, as sent on `/v1/events`.
#[derive(Debug, Clone, Serialize)]
pub struct CommittedEvent {
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Block hash.
    pub block_hash: Hash,
    /// Transaction hash.
    pub tx_hash: Hash,
    /// Position in the block.
    pub index: u32,
    /// Signer.
    pub signer: PublicKey,
    /// Signer's alias, if registered.
    pub signer_alias: Option<String>,
    /// What it did.
    pub action: String,
    /// Documents it touched.
    pub documents: Vec<DocumentKey>,
    /// Parties involved.
    pub parties: Vec<PublicKey>,
    /// Shipment tracking events it recorded (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tracking: Vec<TrackingEvent>,
}

/// Live consensus and network facts for `/v1/status`.
#[derive(Debug, Clone, Default)]
pub struct LiveStatus {
    /// Current round.
    pub round: u32,
    /// Connected peers.
    pub peers: BTreeSet<PublicKey>,
    /// Whether the node is catching up from peers.
    pub syncing: bool,
}

/// State shared by the driver, the API and the network's block source.
#[derive(Debug)]
pub struct Shared {
    /// Genesis.
    pub genesis: Genesis,
    /// This node's key (validator key, libp2p identity).
    pub node_key: PublicKey,
    /// The chain.
    pub chain: RwLock<Chain<SledStore>>,
    /// A handle on the store for reads that need no chain lock.
    pub store: SledStore,
    /// Waiting transactions.
    pub mempool: Mutex<Mempool>,
    /// Committed transactions, live.
    pub events: broadcast::Sender<CommittedEvent>,
    /// Woken when a transaction is admitted.
    pub tx_arrived: Notify,
    /// Live status.
    pub live: Mutex<LiveStatus>,
    /// Metrics.
    pub metrics: Metrics,
    /// Transactions each committed block settled (its own, and those it left invalid in the
    /// mempool), announced once per block for whoever keeps records of pending ones (submission
    /// intake forgets them).
    pub settled: broadcast::Sender<Settled>,
}

/// The hashes a committed block settled: committed, or dropped from the mempool as invalid.
pub type Settled = Arc<[Hash]>;

/// How many blocks' settlement announcements a slow listener may fall behind before it must
/// catch up another way.
pub const SETTLED_BACKLOG: usize = 64;

/// A poisoned lock means a thread panicked while holding it; the node cannot go on safely.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| panic!("lock poisoned: {e}"))
}

/// Reads the chain.
pub fn read(c: &RwLock<Chain<SledStore>>) -> std::sync::RwLockReadGuard<'_, Chain<SledStore>> {
    c.read()
        .unwrap_or_else(|e| panic!("chain lock poisoned: {e}"))
}

/// Writes the chain.
pub fn write(c: &RwLock<Chain<SledStore>>) -> std::sync::RwLockWriteGuard<'_, Chain<SledStore>> {
    c.write()
        .unwrap_or_else(|e| panic!("chain lock poisoned: {e}"))
}

/// Milliseconds since the Unix epoch, from the local clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Shared {
    /// Admits a transaction to the mempool, checked against the committed state in the
    /// context of the next block.
    pub fn admit(&self, tx: Transaction) -> Result<Admission, MempoolError> {
        self.with_mempool(|mempool, state, ctx| {
            let result = mempool.insert(tx, state, ctx);
            let added = matches!(result, Ok(Admission::Added(_)));
            (result, added)
        })
    }

    /// Admits gossiped transactions (as [`Shared::admit`], taking the locks once; one that
    /// overtook an earlier nonce of its signer is held until that arrives).
    pub fn admit_all(&self, txs: Vec<Transaction>) -> Vec<Result<Admission, MempoolError>> {
        self.admit_many(txs, true)
    }

    /// Admits submitted transactions in order (as [`Shared::admit`], taking the locks once).
    pub fn admit_submitted(&self, txs: Vec<Transaction>) -> Vec<Result<Admission, MempoolError>> {
        self.admit_many(txs, false)
    }

    fn admit_many(
        &self,
        txs: Vec<Transaction>,
        gossiped: bool,
    ) -> Vec<Result<Admission, MempoolError>> {
        self.with_mempool(|mempool, state, ctx| {
            let results: Vec<_> = txs
                .into_iter()
                .map(|tx| {
                    if gossiped {
                        mempool.insert_gossiped(tx, state, ctx)
                    } else {
                        mempool.insert(tx, state, ctx)
                    }
                })
                .collect();
            let added = results.iter().any(|r| matches!(r, Ok(Admission::Added(_))));
            (results, added)
        })
    }

    /// Runs `admit` on the mempool with the committed state and the next block's context, under
    /// the chain and mempool locks; when it says a transaction was added, updates the mempool
    /// size metric and wakes the driver.
    fn with_mempool<R>(
        &self,
        admit: impl FnOnce(&mut Mempool, &State, &BlockContext) -> (R, bool),
    ) -> R {
        let chain = read(&self.chain);
        let tip = chain.tip();
        let ctx = BlockContext {
            height: tip.height + 1,
            time_ms: now_ms().max(tip.time_ms + 1),
        };
        let mut mempool = lock(&self.mempool);
        let (result, added) = admit(&mut mempool, chain.state(), &ctx);
        let waiting = mempool.len();
        drop(mempool);
        drop(chain);
        if added {
            self.metrics.mempool_size.set(waiting as i64);
            self.tx_arrived.notify_one();
        }
        result
    }

    /// A participant's alias.
    pub fn alias(&self, key: &PublicKey) -> Option<String> {
        read(&self.chain)
            .state()
            .participants
            .get(key)
            .map(|m| m.alias.clone())
    }
}

/// Serves peers' sync requests from the store.
#[derive(Debug, Clone)]
pub struct StoreSource(pub Arc<Shared>);

impl BlockSource for StoreSource {
    fn status(&self) -> SyncStatus {
        let tip = read(&self.0.chain).tip();
        SyncStatus {
            height: tip.height,
            hash: tip.hash,
        }
    }

    fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock> {
        let store = &self.0.store;
        let mut out = Vec::new();
        for h in from..from.saturating_add(u64::from(count)) {
            match (store.block(h), store.certificate(h)) {
                (Ok(Some(b)), Ok(Some(c))) => out.push(SyncedBlock {
                    block: b.encode(),
                    certificate: portledger_ledger::codec::encode(&c),
                }),
                _ => break,
            }
        }
        out
    }
}
