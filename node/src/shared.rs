//! What the node's parts share: the chain (state and store), the mempool, the committed-event
//! stream, live status and metrics, behind one type whose methods say what they do. The locks
//! are private: each method takes the ones it needs, always the chain before the mempool.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use portledger_ledger::block::Block;
use portledger_ledger::chain::{BlockError, Chain, Excluded, Execution};
use portledger_ledger::documents::tracking::TrackingEvent;
use portledger_ledger::{
    BlockContext, CommitCertificate, DocumentKey, Genesis, Hash, PublicKey, State, Store, Tip,
    Transaction, ValidatorSet,
};
use serde::Serialize;
use tokio::sync::{broadcast, futures::Notified, Notify};

use crate::membership::{Membership, MembershipChange};
use crate::mempool::{Admission, Mempool, MempoolError};
use crate::metrics::{Metrics, Stage};
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
    /// When its block was stored (for the delivery latency; not sent).
    #[serde(skip)]
    pub persisted_at: Option<Instant>,
}

/// Live consensus and network facts for `/v1/status`.
#[derive(Debug, Clone, Default)]
pub struct LiveStatus {
    /// Current round.
    pub round: u32,
    /// The consensus key, once rotated away from the node key (`next-node.key` in force).
    pub consensus_key: Option<PublicKey>,
    /// Connected peers.
    pub peers: BTreeSet<PublicKey>,
    /// Whether the node is catching up from peers.
    pub syncing: bool,
    /// Set when another process was seen signing with this node's validator key: what was
    /// seen. The node signs nothing from then on.
    pub duplicate_key: Option<String>,
}

/// The store a node runs on: sled in production, [`portledger_ledger::MemStore`] in tests.
pub type NodeStore = Arc<dyn Store>;

/// State shared by the driver, the API, submission intake and the network's block source.
pub struct Shared {
    /// Genesis.
    pub genesis: Genesis,
    /// This node's key (validator key, libp2p identity).
    pub node_key: PublicKey,
    /// Metrics.
    pub metrics: Metrics,
    chain: RwLock<Chain<NodeStore>>,
    store: NodeStore,
    mempool: Mutex<Mempool>,
    events: broadcast::Sender<CommittedEvent>,
    tx_arrived: Notify,
    live: Mutex<LiveStatus>,
    settled: broadcast::Sender<Settled>,
    membership: RwLock<Membership>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("chain_id", &self.genesis.chain_id)
            .field("node_key", &self.node_key)
            .finish_non_exhaustive()
    }
}

/// The hashes a committed block settled: committed, or dropped from the mempool as invalid.
pub type Settled = Arc<[Hash]>;

/// How many blocks' settlement announcements a slow listener may fall behind before it must
/// catch up another way.
pub const SETTLED_BACKLOG: usize = 64;

/// How many committed events a slow `/v1/events` subscriber may fall behind.
const EVENT_BACKLOG: usize = 16_384;

/// A poisoned lock means a thread panicked while holding it; the node cannot go on safely.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| panic!("lock poisoned: {e}"))
}

fn read<T>(c: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    c.read()
        .unwrap_or_else(|e| panic!("chain lock poisoned: {e}"))
}

fn write<T>(c: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
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

/// The context of the block after `tip`, by the local clock.
fn next_context(tip: &Tip) -> BlockContext {
    BlockContext {
        height: tip.height + 1,
        time_ms: now_ms().max(tip.time_ms + 1),
    }
}

impl Shared {
    /// The shared state of a node whose chain is opened on `chain`'s store, with a mempool of
    /// at most `mempool_max` transactions.
    pub fn new(
        genesis: Genesis,
        node_key: PublicKey,
        chain: Chain<NodeStore>,
        mempool_max: usize,
    ) -> Shared {
        let metrics = Metrics::new();
        metrics.height.set(chain.tip().height as i64);
        let membership = RwLock::new(Membership::of(&genesis, chain.state()));
        Shared {
            membership,
            genesis,
            node_key,
            metrics,
            store: chain.store().clone(),
            chain: RwLock::new(chain),
            mempool: Mutex::new(Mempool::new(mempool_max)),
            events: broadcast::channel(EVENT_BACKLOG).0,
            tx_arrived: Notify::new(),
            live: Mutex::new(LiveStatus::default()),
            settled: broadcast::channel(SETTLED_BACKLOG).0,
        }
    }

    /// Whether `key` holds, held or will hold a validator seat (its consensus messages are
    /// relayed). A lock of its own, not the chain's: gossip checks it for every message.
    pub fn ever_seated(&self, key: &PublicKey) -> bool {
        read(&self.membership).ever_seated(key)
    }

    /// Every node key that may connect (genesis's and those governance admitted).
    pub fn node_keys(&self) -> Vec<PublicKey> {
        read(&self.membership).node_keys()
    }

    /// Takes in the validator sets and node keys the committed state added since the last
    /// call; returns them (for consensus and the network's allow list).
    pub fn refresh_membership(&self) -> MembershipChange {
        let chain = read(&self.chain);
        write(&self.membership).refresh(chain.state())
    }

    /// The validators of the next height.
    pub fn validators(&self) -> ValidatorSet {
        read(&self.chain).validators().clone()
    }

    /// The store, for reads that need no chain lock (blocks, histories, indexes, records).
    pub fn store(&self) -> &NodeStore {
        &self.store
    }

    /// The committed tip.
    pub fn tip(&self) -> Tip {
        read(&self.chain).tip()
    }

    /// Reads the committed state.
    pub fn read_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(read(&self.chain).state())
    }

    /// What a proof of `documents` (the subject first) needs from the state at the tip, taken
    /// under the chain lock; the proof's blocks are then read from the store without it.
    pub fn proof_snapshot(&self, documents: &[DocumentKey]) -> portledger_ledger::proof::Snapshot {
        read(&self.chain).snapshot(documents)
    }

    /// What a proof of the case of transport document `reference` needs: the case's documents
    /// ([`portledger_ledger::case::Case::documents`]) and their state, under one lock.
    /// Only what `reader` may read is included; a document it may not read is unknown.
    pub fn case_proof_snapshot(
        &self,
        reference: &str,
        reader: &portledger_ledger::access::Reader,
    ) -> Result<portledger_ledger::proof::Snapshot, portledger_ledger::case::CaseError> {
        let chain = read(&self.chain);
        let key = DocumentKey::TransportDocument(reference.to_string());
        if !portledger_ledger::access::may_read(chain.state(), reader, &key) {
            return Err(portledger_ledger::case::CaseError::UnknownDocument(
                reference.to_string(),
            ));
        }
        let case = portledger_ledger::case::Case::load_at(
            &self.store,
            chain.state(),
            reference,
            chain.tip().height,
        )?
        .visible_to(chain.state(), reader);
        Ok(chain.snapshot(&case.documents()))
    }

    /// Reads the committed state with its tip, under one lock (the store may already hold
    /// the next block's records while the state has not moved to it yet).
    pub fn read_state_at<R>(&self, f: impl FnOnce(&State, Tip) -> R) -> R {
        let chain = read(&self.chain);
        f(chain.state(), chain.tip())
    }

    /// A participant's alias.
    pub fn alias(&self, key: &PublicKey) -> Option<String> {
        self.read_state(|s| s.participants.get(key).map(|m| m.alias.clone()))
    }

    /// The key registered under an alias.
    pub fn key_of(&self, alias: &str) -> Option<PublicKey> {
        self.read_state(|s| s.aliases.get(alias).copied())
    }

    /// Committed transactions, live (from now on).
    pub fn subscribe_events(&self) -> broadcast::Receiver<CommittedEvent> {
        self.events.subscribe()
    }

    /// What each committed block settled, from now on.
    pub fn subscribe_settled(&self) -> broadcast::Receiver<Settled> {
        self.settled.subscribe()
    }

    /// Resolves when a transaction is admitted to the mempool.
    pub fn tx_arrived(&self) -> Notified<'_> {
        self.tx_arrived.notified()
    }

    /// Live consensus and network facts.
    pub fn live(&self) -> LiveStatus {
        lock(&self.live).clone()
    }

    /// Records whether the node is catching up from peers.
    pub fn set_syncing(&self, syncing: bool) {
        lock(&self.live).syncing = syncing;
    }

    /// Records that another process signs with this node's key (`seen` says what was seen).
    pub fn set_duplicate_key(&self, seen: String) {
        lock(&self.live).duplicate_key = Some(seen);
        self.metrics.duplicate_key.set(1);
    }

    /// Records the current round.
    pub fn set_round(&self, round: u32) {
        lock(&self.live).round = round;
        self.metrics.round.set(i64::from(round));
    }

    /// Records the key the node now signs consensus messages with.
    pub fn set_consensus_key(&self, key: PublicKey) {
        lock(&self.live).consensus_key = (key != self.node_key).then_some(key);
    }

    /// Records a peer as connected (`true`) or gone.
    pub fn set_peer(&self, peer: PublicKey, connected: bool) {
        let mut live = lock(&self.live);
        if connected {
            live.peers.insert(peer);
        } else {
            live.peers.remove(&peer);
        }
        self.metrics.peers.set(live.peers.len() as i64);
    }

    /// How many transactions wait in the mempool.
    pub fn waiting(&self) -> usize {
        lock(&self.mempool).len()
    }

    /// A waiting transaction.
    pub fn waiting_transaction(&self, hash: &Hash) -> Option<Transaction> {
        lock(&self.mempool).get(hash).cloned()
    }

    /// Whether a transaction waits in the mempool.
    pub fn is_waiting(&self, hash: &Hash) -> bool {
        lock(&self.mempool).contains(hash)
    }

    /// The highest nonce of a signer's waiting transactions.
    pub fn pending_nonce(&self, signer: &PublicKey) -> Option<u64> {
        lock(&self.mempool).pending_nonce(signer)
    }

    /// The positions of the hashes whose signatures this node has not yet checked.
    pub fn unverified(&self, hashes: &[Hash]) -> Vec<usize> {
        let mempool = lock(&self.mempool);
        (0..hashes.len())
            .filter(|&i| !mempool.signature_verified(&hashes[i]))
            .collect()
    }

    /// Remembers that these transactions' signatures were checked.
    pub fn mark_verified(&self, hashes: impl IntoIterator<Item = Hash>) {
        let mut mempool = lock(&self.mempool);
        for h in hashes {
            mempool.mark_verified(h);
        }
    }

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
        let ctx = next_context(&chain.tip());
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

    /// Builds the block this node proposes at `height` (the one after the tip; `None` if the
    /// tip has moved on) from the waiting transactions, with the tip's commit certificate.
    pub fn build_block(
        &self,
        height: u64,
        round: u32,
        proposer: PublicKey,
    ) -> Option<(Block, Execution, Vec<Excluded>)> {
        let chain = read(&self.chain);
        let tip = chain.tip();
        if height != tip.height + 1 {
            return None;
        }
        let max = self.genesis.consensus.max_block_txs as usize;
        let candidates = lock(&self.mempool).candidates(max);
        let last_commit = if tip.height > 0 {
            self.store.certificate(tip.height).ok().flatten()
        } else {
            None
        };
        let time = next_context(&tip).time_ms;
        let built = chain.build_block(round, time, proposer, candidates, last_commit);
        drop(chain);
        self.observe_proposed(&built.1.tx_hashes);
        Some(built)
    }

    /// How long the transactions of a proposal this node built waited in its mempool.
    fn observe_proposed(&self, hashes: &[Hash]) {
        let stage = self.metrics.stage(Stage::AdmittedToProposed);
        let mempool = lock(&self.mempool);
        let now = Instant::now();
        for h in hashes {
            if let Some(since) = mempool.waiting_since(h) {
                stage.observe(now.saturating_duration_since(since).as_secs_f64());
            }
        }
    }

    /// Checks a proposed block against the committed state (signatures this node already
    /// checked are not checked again).
    pub fn validate_block(&self, block: &Block) -> Result<Execution, BlockError> {
        let exec = {
            let chain = read(&self.chain);
            let mempool = lock(&self.mempool);
            chain.validate_block(block, &|h| mempool.signature_verified(h))?
        };
        Ok(exec)
    }

    /// Commits a decided block (validating it unless `exec` is its execution already), then
    /// settles the mempool, announces what it settled and its transactions on the event
    /// stream, and updates the metrics. The block is written under the shared chain lock (the
    /// API keeps reading and admitting meanwhile); only moving the in-memory state takes the
    /// exclusive lock.
    pub fn commit_block(
        &self,
        block: &Block,
        certificate: &CommitCertificate,
        exec: Option<Execution>,
    ) -> Result<(), BlockError> {
        let height = block.header.height;
        let persisted = {
            let chain = read(&self.chain);
            let exec = match exec {
                Some(exec) => Ok(exec),
                None => {
                    let verified = |h: &Hash| lock(&self.mempool).signature_verified(h);
                    chain.validate_block(block, &verified)
                }
            };
            exec.and_then(|exec| {
                chain
                    .persist(block, certificate, &exec)
                    .map(|tip| (tip, exec))
            })
        };
        let mut chain = write(&self.chain);
        let (tip, exec) = persisted?;
        chain.advance(tip, &exec)?;
        let hashes = exec.tx_hashes;
        let ctx = next_context(&chain.tip());
        let mut mempool = lock(&self.mempool);
        let dropped = mempool.on_commit(&hashes, chain.state(), &ctx);
        let waiting = mempool.len();
        drop(mempool);
        let aliases: Vec<Option<String>> = block
            .transactions
            .iter()
            .map(|t| {
                chain
                    .state()
                    .participants
                    .get(&t.body.signer)
                    .map(|m| m.alias.clone())
            })
            .collect();
        drop(chain);
        for (h, e) in &dropped {
            tracing::debug!(tx = %h, error = %e, "dropped from the mempool after commit");
        }
        let done: Vec<Hash> = hashes
            .iter()
            .copied()
            .chain(dropped.iter().map(|(h, _)| *h))
            .collect();
        // No listener is fine (nothing is recorded then).
        let _ = self.settled.send(done.into());
        let block_hash = block.hash();
        let persisted_at = Some(Instant::now());
        for (i, ((tx, fx), alias)) in block
            .transactions
            .iter()
            .zip(exec.effects)
            .zip(aliases)
            .enumerate()
        {
            let _ = self.events.send(CommittedEvent {
                height,
                time_ms: block.header.time_ms,
                block_hash,
                tx_hash: hashes[i],
                index: i as u32,
                signer: tx.body.signer,
                signer_alias: alias,
                action: tx.body.payload.action().to_string(),
                documents: fx.touched,
                parties: fx.parties,
                tracking: fx.tracking,
                persisted_at,
            });
        }
        let m = &self.metrics;
        m.height.set(height as i64);
        m.transactions_committed
            .inc_by(block.transactions.len() as u64);
        m.mempool_size.set(waiting as i64);
        Ok(())
    }

    /// Flushes the store (before shutdown).
    pub fn flush(&self) -> Result<(), portledger_ledger::StoreError> {
        self.store.flush()
    }
}

/// Serves peers' sync requests from the store.
#[derive(Debug, Clone)]
pub struct StoreSource(pub Arc<Shared>);

impl BlockSource for StoreSource {
    fn status(&self) -> SyncStatus {
        let tip = self.0.tip();
        SyncStatus {
            height: tip.height,
            hash: tip.hash,
        }
    }

    fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock> {
        let store = self.0.store();
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
