//! Submission intake: submitted transactions checked and recorded durably in batches, then
//! gossiped; the record of acknowledged submissions is this module's own.
//!
//! The API hands each submitted transaction to one task, which gathers those that queued up
//! while it recorded the previous batch (a group commit), checks their signatures together (one
//! batch verification instead of one check each), admits them to the mempool under one lock,
//! writes the admitted ones to the store in one batch with one flush, publishes them as one
//! gossip message, and only then lets the API answer for each: 202, or the rule it broke. So an
//! acknowledged transaction survives a crash of the node that took it: on restart the node admits
//! its recorded transactions again and re-gossips them ([`SubmissionRecord::restore`]); they
//! leave the record when a block settles them, committed or no longer valid: the driver only
//! announces settled hashes ([`crate::shared::Shared::settled`]), and this module's task forgets
//! them ([`SubmissionRecord::forget`]). Should it fall behind that announcement, it sweeps its
//! record against the store and the mempool instead.
//!
//! One gossip message per batch instead of one per transaction keeps gossipsub's per-message
//! costs (framing, encryption, duplicate forwarding, send queues) from growing with the load,
//! and lets receivers verify the signatures of a batch together.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portledger_ledger::{codec, crypto, Hash, RuleError, Store, StoreError, Transaction};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn, Instrument};

use crate::mempool::{Admission, MempoolError};
use crate::metrics::Stage;
use crate::network::{NetworkHandle, Topic};
use crate::shared::{lock, Settled, Shared};

/// How long a small batch waits for company.
pub const LINGER: Duration = Duration::from_millis(1);
/// A batch smaller than this waits up to [`LINGER`] for more.
pub const MIN_BATCH_TXS: usize = 16;
/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 1024;
/// Most encoded bytes in one batch (well inside a gossip message).
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Key prefix of the acknowledged submissions in the store: `a/<seq>`, big-endian.
const ACCEPTED: &[u8] = b"a/";

/// Where acknowledged submissions are kept, in any [`Store`] over its key-value seam: this
/// module owns the records and their keys.
pub trait SubmissionStore {
    /// Records transactions this node accepted (one batch, one flush), by sequence number, so
    /// that an acknowledged transaction survives a crash of the node until it is committed.
    fn put_accepted(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError>;
    /// The accepted transactions still recorded, in acceptance order: (sequence, bytes).
    fn accepted(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Forgets accepted transactions (committed, or no longer valid). Not flushed: one that
    /// reappears after a crash is admitted again only if still valid, and forgotten then.
    fn remove_accepted(&self, seqs: &[u64]) -> Result<(), StoreError>;
}

fn accepted_key(seq: u64) -> Vec<u8> {
    [ACCEPTED, &seq.to_be_bytes()].concat()
}

impl<S: Store + ?Sized> SubmissionStore for S {
    fn put_accepted(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        self.write_batch(
            entries
                .iter()
                .map(|(seq, bytes)| (accepted_key(*seq), Some(bytes.clone())))
                .collect(),
        )
    }

    fn accepted(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .scan_prefix(ACCEPTED)?
            .into_iter()
            .filter_map(|(k, v)| {
                let seq: [u8; 8] = k.get(ACCEPTED.len()..)?.try_into().ok()?;
                Some((u64::from_be_bytes(seq), v))
            })
            .collect())
    }

    fn remove_accepted(&self, seqs: &[u64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.write_batch_lazy(seqs.iter().map(|s| (accepted_key(*s), None)).collect())
    }
}

/// The durable record of acknowledged submissions: in the store ([`SubmissionStore`]), and
/// here their sequence numbers by hash, so that settled ones are forgotten without a scan.
#[derive(Debug, Default)]
pub struct SubmissionRecord {
    log: std::sync::Mutex<HashMap<Hash, u64>>,
}

impl SubmissionRecord {
    /// After a restart: admits the recorded transactions again (forgetting those committed or
    /// no longer valid meanwhile) and returns them, to be gossiped again, with the next sequence
    /// number to use.
    pub fn restore(&self, shared: &Shared) -> (Vec<Transaction>, u64) {
        let recorded = shared.store().accepted().unwrap_or_default();
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
                    lock(&self.log).insert(hash, seq);
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
        if let Err(e) = shared.store().remove_accepted(&gone) {
            warn!(error = %e, "could not forget accepted transactions");
        }
        (again, next_seq)
    }

    /// Notes recorded transactions: (hash, sequence number).
    fn note(&self, entries: impl IntoIterator<Item = (Hash, u64)>) {
        lock(&self.log).extend(entries);
    }

    /// Forgets the recorded transactions among `hashes` (settled: committed or dropped).
    pub fn forget(&self, shared: &Shared, hashes: &[Hash]) {
        let seqs: Vec<u64> = {
            let mut log = lock(&self.log);
            if log.is_empty() {
                return;
            }
            hashes.iter().filter_map(|h| log.remove(h)).collect()
        };
        if let Err(e) = shared.store().remove_accepted(&seqs) {
            warn!(error = %e, "could not forget accepted transactions");
        }
    }

    /// Forgets every recorded transaction that is committed or no longer waiting in the
    /// mempool (after missed settlement announcements).
    fn sweep(&self, shared: &Shared) {
        let recorded: Vec<Hash> = lock(&self.log).keys().copied().collect();
        let settled: Vec<Hash> = recorded
            .into_iter()
            .filter(|h| {
                matches!(shared.store().transaction_location(h), Ok(Some(_)))
                    || !shared.is_waiting(h)
            })
            .collect();
        self.forget(shared, &settled);
    }
}

/// Why a submission was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    /// The mempool refused it (a rule, or full).
    #[error(transparent)]
    Refused(#[from] MempoolError),
    /// It could not be recorded, or the node is stopping.
    #[error("{0}")]
    Unavailable(String),
}

/// The answer to one submission.
pub type Submitted = Result<Admission, SubmitError>;

/// A transaction to gossip; `ack` (for a submission) is answered once it is admitted, recorded
/// and sent.
struct Item {
    tx: Transaction,
    /// Its canonical encoding (what is recorded, and its size in a batch).
    bytes: Vec<u8>,
    ack: Option<oneshot::Sender<Submitted>>,
    /// When the API received it.
    received: Instant,
}

/// Hands transactions to the intake task.
#[derive(Debug, Clone)]
pub struct Submissions {
    tx: mpsc::UnboundedSender<Item>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Item({})", self.tx.hash())
    }
}

impl Submissions {
    /// Starts the intake task, recording in the shared store from sequence `next_seq` on (into
    /// `record`), publishing on `network`, and forgetting what `settled` announces, until
    /// `shutdown` turns true (so the node's store is released when it stops).
    pub fn spawn(
        shared: Arc<Shared>,
        record: Arc<SubmissionRecord>,
        settled: broadcast::Receiver<Settled>,
        network: NetworkHandle,
        next_seq: u64,
        mut shutdown: watch::Receiver<bool>,
    ) -> (Submissions, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(
            async move {
                let intake = run(shared.clone(), record.clone(), network, rx, next_seq);
                let forgetting = forget_settled(shared, record, settled);
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => {}
                    _ = async { tokio::join!(intake, forgetting) } => {}
                }
            }
            .instrument(tracing::info_span!("submission")),
        );
        (Submissions { tx }, task)
    }

    /// Checks, admits, records and gossips a submitted transaction (`bytes` is its canonical
    /// encoding); resolves once all is done.
    pub async fn submit(&self, tx: Transaction, bytes: Vec<u8>) -> Submitted {
        let stopping = || SubmitError::Unavailable("the node is stopping".into());
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Item {
                tx,
                bytes,
                ack: Some(ack),
                received: Instant::now(),
            })
            .map_err(|_| stopping())?;
        done.await.map_err(|_| stopping())?
    }

    /// Gossips a transaction already admitted and recorded (after a restart).
    pub fn regossip(&self, tx: Transaction) {
        let bytes = tx.encode();
        let _ = self.tx.send(Item {
            tx,
            bytes,
            ack: None,
            received: Instant::now(),
        });
    }
}

/// Forgets recorded submissions as blocks settle them.
async fn forget_settled(
    shared: Arc<Shared>,
    record: Arc<SubmissionRecord>,
    mut settled: broadcast::Receiver<Settled>,
) {
    loop {
        match settled.recv().await {
            Ok(hashes) => record.forget(&shared, &hashes),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                debug!(
                    missed,
                    "settlement announcements missed; sweeping the record"
                );
                record.sweep(&shared);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    record: Arc<SubmissionRecord>,
    network: NetworkHandle,
    mut rx: mpsc::UnboundedReceiver<Item>,
    mut next_seq: u64,
) {
    while let Some(first) = rx.recv().await {
        // Group commit: take what queued up while the previous batch was being recorded (no
        // waiting at low load; batches grow by themselves under load), and at most LINGER more.
        let mut bytes = first.bytes.len();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH_TXS && bytes < MAX_BATCH_BYTES {
            let next = match rx.try_recv() {
                Ok(item) => Some(item),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) if batch.len() < MIN_BATCH_TXS => {
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(mpsc::error::TryRecvError::Empty) => None,
            };
            let Some(item) = next else { break };
            bytes += item.bytes.len();
            batch.push(item);
        }
        let (submitted, regossip): (Vec<Item>, Vec<Item>) =
            batch.into_iter().partition(|i| i.ack.is_some());
        let mut acks = Vec::with_capacity(submitted.len());
        let mut txs = Vec::with_capacity(submitted.len());
        for item in submitted {
            acks.push((item.ack, item.received));
            txs.push((item.tx, item.bytes));
        }
        let s = shared.clone();
        let first_seq = next_seq;
        let count = txs.len();
        let r = record.clone();
        let regossip: Vec<Transaction> = regossip.into_iter().map(|i| i.tx).collect();
        let net = network.clone();
        let runtime = tokio::runtime::Handle::current();
        // Admitted transactions are gossiped as soon as they are admitted, while their record
        // is being made durable: the proposer gets them sooner. The answer still waits for the
        // record (a 202 is a promise that survives a crash).
        let gossip = move |admitted: Vec<Transaction>| {
            let mut out = regossip;
            out.extend(admitted);
            if !out.is_empty() {
                runtime.spawn(async move {
                    if let Err(e) = net.publish(Topic::Transactions, encode_batch(&out)).await {
                        debug!(error = %e, txs = out.len(), "gossip of a transaction batch failed");
                    }
                });
            }
        };
        let outcome =
            tokio::task::spawn_blocking(move || accept(&s, &r, txs, first_seq, gossip)).await;
        let (answers, recorded) = match outcome {
            Ok(r) => r,
            Err(e) => {
                let why = SubmitError::Unavailable(format!("admission failed: {e}"));
                (vec![Err(why); count], 0)
            }
        };
        next_seq += recorded;
        let admitted = shared.metrics.stage(Stage::SubmitToAdmitted);
        for ((ack, received), answer) in acks.into_iter().zip(answers) {
            if let Some(ack) = ack {
                if answer.is_ok() {
                    admitted.observe(received.elapsed().as_secs_f64());
                }
                let _ = ack.send(answer);
            }
        }
    }
}

/// Checks the signatures of submitted transactions (with their encodings) together, admits
/// them in order, hands the admitted ones to `gossip`, and records them (sequence numbers from
/// `first_seq + 1`). Returns each one's answer and how many were recorded.
fn accept(
    shared: &Shared,
    record: &SubmissionRecord,
    txs: Vec<(Transaction, Vec<u8>)>,
    first_seq: u64,
    gossip: impl FnOnce(Vec<Transaction>),
) -> (Vec<Submitted>, u64) {
    let hashes: Vec<Hash> = txs.iter().map(|(tx, _)| tx.hash()).collect();
    let unchecked = shared.unverified(&hashes);
    let items: Vec<_> = unchecked
        .iter()
        .map(|&i| txs[i].0.signature_item())
        .collect();
    let mut bad = vec![false; txs.len()];
    if !crypto::verify_batch(&items) {
        // Someone's signature is wrong: find whose, one by one.
        for &i in &unchecked {
            bad[i] = txs[i].0.verify_signature().is_err();
        }
    }
    shared.mark_verified(unchecked.iter().filter(|&&i| !bad[i]).map(|&i| hashes[i]));
    let mut answers: Vec<Option<Submitted>> = Vec::with_capacity(txs.len());
    let mut indexes = Vec::new();
    let mut admit = Vec::new();
    let mut encoded = Vec::new();
    for (i, (tx, bytes)) in txs.into_iter().enumerate() {
        if bad[i] {
            let e = RuleError::BadSignature(tx.body.signer);
            answers.push(Some(Err(SubmitError::Refused(e.into()))));
        } else {
            answers.push(None);
            indexes.push(i);
            encoded.push(bytes);
            admit.push(tx);
        }
    }
    // The mempool keeps its own copy; these go to gossip when admitted.
    let results = shared.admit_submitted(admit.clone());
    let mut seq = first_seq;
    let mut entries = Vec::new();
    let mut added = Vec::new();
    let mut to_gossip = Vec::new();
    for (((i, result), bytes), tx) in indexes.iter().zip(results).zip(encoded).zip(admit) {
        if let Ok(Admission::Added(h)) = &result {
            seq += 1;
            entries.push((seq, bytes));
            added.push((*h, *i));
            to_gossip.push(tx);
        }
        answers[*i] = Some(result.map_err(SubmitError::from));
    }
    gossip(to_gossip);
    let mut recorded = 0;
    if !entries.is_empty() {
        match shared.store().put_accepted(&entries) {
            Ok(()) => {
                record.note(
                    entries
                        .iter()
                        .zip(&added)
                        .map(|((seq, _), (hash, _))| (*hash, *seq)),
                );
                recorded = entries.len() as u64;
            }
            Err(e) => {
                warn!(error = %e, "accepted transactions not recorded");
                // Admitted but not durable: answer 503 so the client sends it again (a
                // duplicate then), rather than promise what a crash could lose.
                let why =
                    SubmitError::Unavailable(format!("could not record the transaction: {e}"));
                for (_, i) in &added {
                    answers[*i] = Some(Err(why.clone()));
                }
            }
        }
    }
    let answers = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(SubmitError::Unavailable("not admitted".into()))))
        .collect();
    (answers, recorded)
}

/// The gossip encoding of a batch.
pub fn encode_batch(txs: &[Transaction]) -> Vec<u8> {
    codec::encode(&txs)
}
