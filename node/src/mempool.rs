//! The mempool: transactions waiting for a block, in arrival order.
//!
//! A transaction is admitted only if its signature verifies and it applies cleanly on the
//! committed state plus every transaction already pending (so a transfer may follow its own
//! pending issue, and nonces run in sequence). Signatures are checked once: the hashes of checked
//! transactions are cached so block validation need not check them again. After each commit the
//! included transactions leave and the rest are re-checked; those that became invalid are dropped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use portledger_ledger::{
    apply_verified, BlockContext, Hash, Overlay, Pending, PublicKey, RuleError, State, StateView,
    Transaction,
};

/// Why a transaction was not admitted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MempoolError {
    /// The mempool holds its maximum.
    #[error("mempool full: {0} transactions are waiting; try again shortly")]
    Full(usize),
    /// The transaction breaks a ledger rule.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// The result of a successful admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// New, admitted.
    Added(Hash),
    /// Already waiting; ignored.
    Duplicate(Hash),
    /// Gossiped ahead of an earlier nonce of its signer: held until that one arrives.
    Queued(Hash),
}

/// Most gossiped transactions held per signer while an earlier nonce is missing.
pub const MAX_FUTURE_PER_SIGNER: u64 = 64;

/// A bounded set of transaction hashes whose signatures verified.
#[derive(Debug, Default)]
pub struct VerifiedSignatures {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    capacity: usize,
}

impl VerifiedSignatures {
    /// A cache holding at most `capacity` hashes.
    pub fn new(capacity: usize) -> Self {
        VerifiedSignatures {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether a hash's signature was checked.
    pub fn contains(&self, h: &Hash) -> bool {
        self.set.contains(h)
    }

    /// Records a checked hash, forgetting the oldest beyond capacity.
    pub fn insert(&mut self, h: Hash) {
        if self.set.insert(h) {
            self.order.push_back(h);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// Where a waiting transaction is in arrival order, and since when it waits.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    seq: u64,
    since: Instant,
}

/// Transactions waiting for a block.
#[derive(Debug)]
pub struct Mempool {
    max: usize,
    order: BTreeMap<u64, Transaction>,
    by_hash: HashMap<Hash, Waiting>,
    next_seq: u64,
    pending: Pending,
    verified: VerifiedSignatures,
    commits_since_recheck: u32,
    /// Gossiped transactions waiting for an earlier nonce of their signer, by signer and nonce.
    future: HashMap<PublicKey, BTreeMap<u64, Transaction>>,
    future_len: usize,
}

/// After this many commits the waiting transactions are re-checked even when every committed
/// transaction came from this mempool (see [`Mempool::on_commit`]).
pub const RECHECK_EVERY: u32 = 8;

impl Mempool {
    /// An empty mempool holding at most `max` transactions.
    pub fn new(max: usize) -> Mempool {
        Mempool {
            max,
            order: BTreeMap::new(),
            by_hash: HashMap::new(),
            next_seq: 0,
            pending: Pending::default(),
            verified: VerifiedSignatures::new(max.saturating_mul(4).max(10_000)),
            commits_since_recheck: 0,
            future: HashMap::new(),
            future_len: 0,
        }
    }

    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Whether a transaction waits.
    pub fn contains(&self, h: &Hash) -> bool {
        self.by_hash.contains_key(h)
    }

    /// A waiting transaction.
    pub fn get(&self, h: &Hash) -> Option<&Transaction> {
        self.by_hash.get(h).and_then(|w| self.order.get(&w.seq))
    }

    /// Since when a transaction waits (admitted), if it does.
    pub fn waiting_since(&self, h: &Hash) -> Option<Instant> {
        self.by_hash.get(h).map(|w| w.since)
    }

    /// The last nonce a signer uses among the waiting transactions, if any wait.
    pub fn pending_nonce(&self, signer: &PublicKey) -> Option<u64> {
        self.pending.changes().nonces.get(signer).copied()
    }

    /// Whether a transaction's signature is known to verify (checked on admission or in a block).
    pub fn signature_verified(&self, h: &Hash) -> bool {
        self.verified.contains(h)
    }

    /// Records that a transaction's signature verified (for example in a checked block).
    pub fn mark_verified(&mut self, h: Hash) {
        self.verified.insert(h);
    }

    /// Checks a transaction's signature unless it is known to verify, and remembers that it does.
    fn check_signature(&mut self, tx: &Transaction, hash: Hash) -> Result<(), RuleError> {
        if !self.verified.contains(&hash) {
            tx.verify_signature()
                .map_err(|_| RuleError::BadSignature(tx.body.signer))?;
            self.verified.insert(hash);
        }
        Ok(())
    }

    /// Admits a transaction after checking its signature and every rule against the committed
    /// `state` plus the pending transactions, in the context of the next block.
    pub fn insert(
        &mut self,
        tx: Transaction,
        state: &State,
        ctx: &BlockContext,
    ) -> Result<Admission, MempoolError> {
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Ok(Admission::Duplicate(hash));
        }
        if self.order.len() >= self.max {
            return Err(MempoolError::Full(self.order.len()));
        }
        self.check_signature(&tx, hash)?;
        let overlay = Overlay::with_pending(state, std::mem::take(&mut self.pending));
        let result = apply_verified(&overlay, &tx, ctx);
        self.pending = overlay.into_pending();
        let fx = result?;
        self.pending.merge(fx.changes);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, tx);
        self.by_hash.insert(
            hash,
            Waiting {
                seq,
                since: Instant::now(),
            },
        );
        Ok(Admission::Added(hash))
    }

    /// Admits a transaction received from a peer. Unlike a submission, which must come in nonce
    /// order, a gossiped one may overtake an earlier transaction of its signer that travels
    /// through another node: it is held (up to [`MAX_FUTURE_PER_SIGNER`] nonces ahead) and
    /// admitted once the gap closes, instead of being lost.
    pub fn insert_gossiped(
        &mut self,
        tx: Transaction,
        state: &State,
        ctx: &BlockContext,
    ) -> Result<Admission, MempoolError> {
        let signer = tx.body.signer;
        let nonce = tx.body.nonce;
        let hash = tx.hash();
        let expected = self
            .pending_nonce(&signer)
            .unwrap_or_else(|| state.nonce(&signer))
            + 1;
        if nonce > expected {
            if nonce - expected > MAX_FUTURE_PER_SIGNER || self.future_len >= self.max {
                return Err(RuleError::BadNonce {
                    expected,
                    found: nonce,
                }
                .into());
            }
            self.check_signature(&tx, hash)?;
            let held = self.future.entry(signer).or_default();
            if held.insert(nonce, tx).is_none() {
                self.future_len += 1;
            }
            return Ok(Admission::Queued(hash));
        }
        let result = self.insert(tx, state, ctx);
        if let Ok(Admission::Added(_)) = result {
            self.promote(&signer, state, ctx);
        }
        result
    }

    /// Admits held transactions of `signer` whose turn has come.
    fn promote(&mut self, signer: &PublicKey, state: &State, ctx: &BlockContext) {
        loop {
            let expected = self
                .pending_nonce(signer)
                .unwrap_or_else(|| state.nonce(signer))
                + 1;
            let Some(held) = self.future.get_mut(signer) else {
                return;
            };
            // Forget what the chain already passed.
            let stale: Vec<u64> = held.range(..expected).map(|(n, _)| *n).collect();
            for n in stale {
                held.remove(&n);
                self.future_len -= 1;
            }
            let next = held.remove(&expected);
            if held.is_empty() {
                self.future.remove(signer);
            }
            let Some(tx) = next else {
                return;
            };
            self.future_len -= 1;
            if !matches!(self.insert(tx, state, ctx), Ok(Admission::Added(_))) {
                return;
            }
        }
    }

    /// Number of gossiped transactions held for an earlier nonce.
    pub fn held(&self) -> usize {
        self.future_len
    }

    /// Up to `max_txs` waiting transactions in arrival order, for a proposal.
    pub fn candidates(&self, max_txs: usize) -> Vec<Transaction> {
        self.order.values().take(max_txs).cloned().collect()
    }

    /// After a commit: removes the included transactions and re-checks the rest against the
    /// new state; returns the hashes dropped as no longer valid, with the rule they now break.
    ///
    /// When every included transaction was waiting here, the rest were admitted on top of them
    /// and the pending writes still describe the state they will see, so the re-check (which
    /// re-applies every waiting transaction, costly when thousands wait) is done only every
    /// [`RECHECK_EVERY`] commits. A transaction that a differently ordered block made invalid in
    /// between is left out of proposals by block building and dropped at the next re-check.
    pub fn on_commit(
        &mut self,
        included: &[Hash],
        state: &State,
        ctx: &BlockContext,
    ) -> Vec<(Hash, RuleError)> {
        let all_ours = included.iter().all(|h| self.by_hash.contains_key(h));
        self.commits_since_recheck += 1;
        let dropped = self.recheck_after_commit(included, all_ours, state, ctx);
        let signers: Vec<PublicKey> = self.future.keys().copied().collect();
        for signer in signers {
            self.promote(&signer, state, ctx);
        }
        dropped
    }

    fn recheck_after_commit(
        &mut self,
        included: &[Hash],
        all_ours: bool,
        state: &State,
        ctx: &BlockContext,
    ) -> Vec<(Hash, RuleError)> {
        for h in included {
            if let Some(w) = self.by_hash.remove(h) {
                self.order.remove(&w.seq);
            }
            self.verified.insert(*h);
        }
        if self.order.is_empty() {
            self.pending = Pending::default();
            self.commits_since_recheck = 0;
            return Vec::new();
        }
        if all_ours && self.commits_since_recheck < RECHECK_EVERY {
            return Vec::new();
        }
        self.commits_since_recheck = 0;
        let waiting = std::mem::take(&mut self.order);
        let mut since = std::mem::take(&mut self.by_hash);
        let mut overlay = Overlay::new(state);
        let mut dropped = Vec::new();
        for (seq, tx) in waiting {
            let hash = tx.hash();
            match apply_verified(&overlay, &tx, ctx) {
                Ok(fx) => {
                    overlay.merge(fx.changes);
                    self.order.insert(seq, tx);
                    let since = since.remove(&hash).map_or_else(Instant::now, |w| w.since);
                    self.by_hash.insert(hash, Waiting { seq, since });
                }
                Err(e) => dropped.push((hash, e)),
            }
        }
        self.pending = overlay.into_pending();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::documents::anchor::DocumentType;
    use portledger_ledger::{demo, Keypair, Payload};

    fn anchor(k: &Keypair, chain: &str, nonce: u64, name: &str) -> Transaction {
        Transaction::sign(
            k,
            chain,
            nonce,
            Payload::AnchorDocument {
                hash: Hash::of(name.as_bytes()),
                doc_type: DocumentType::Other,
                references: vec![],
            },
        )
    }

    #[test]
    fn admission_rules_duplicates_capacity_and_commit() {
        let (g, _, parts) = demo::testing(4);
        let state = State::from_genesis(&g);
        let seller = &parts[5].1;
        let ctx = BlockContext {
            height: 1,
            time_ms: g.genesis_time_ms + 1,
        };
        let mut m = Mempool::new(3);
        let t1 = anchor(seller, &g.chain_id, 1, "a");
        let t2 = anchor(seller, &g.chain_id, 2, "b");
        assert!(matches!(
            m.insert(t1.clone(), &state, &ctx),
            Ok(Admission::Added(_))
        ));
        assert!(matches!(
            m.insert(t1.clone(), &state, &ctx),
            Ok(Admission::Duplicate(_))
        ));
        // Nonce 2 follows the pending nonce 1.
        assert!(matches!(
            m.insert(t2.clone(), &state, &ctx),
            Ok(Admission::Added(_))
        ));
        // A replay of nonce 1 with other content is refused.
        let replay = anchor(seller, &g.chain_id, 1, "c");
        assert!(matches!(
            m.insert(replay, &state, &ctx),
            Err(MempoolError::Rule(RuleError::BadNonce { .. }))
        ));
        // The same document anchored twice: the second breaks a rule.
        let buyer = &parts[6].1;
        let dup = anchor(buyer, &g.chain_id, 1, "a");
        assert!(matches!(
            m.insert(dup, &state, &ctx),
            Err(MempoolError::Rule(RuleError::AlreadyExists { .. }))
        ));
        let mut forged = anchor(buyer, &g.chain_id, 1, "z");
        forged.signature = seller.sign(portledger_ledger::Domain::Transaction, &forged.body);
        assert!(matches!(
            m.insert(forged, &state, &ctx),
            Err(MempoolError::Rule(RuleError::BadSignature(_)))
        ));
        assert!(m
            .insert(anchor(buyer, &g.chain_id, 1, "d"), &state, &ctx)
            .is_ok());
        assert_eq!(
            m.insert(anchor(buyer, &g.chain_id, 2, "e"), &state, &ctx),
            Err(MempoolError::Full(3))
        );
        assert_eq!(m.candidates(10).len(), 3);
        assert!(m.signature_verified(&t2.hash()));

        // Commit t1 in a block; t2 stays valid. Then a state in which t2's nonce is used makes
        // it invalid, and it is dropped.
        let mut s2 = state.clone();
        let fx = apply_verified(&s2, &t1, &ctx).expect("t1");
        s2.apply(&fx.changes);
        let dropped = m.on_commit(&[t1.hash()], &s2, &ctx);
        assert!(dropped.is_empty());
        assert_eq!(m.len(), 2);
        let other2 = anchor(seller, &g.chain_id, 2, "other");
        let fx = apply_verified(&s2, &other2, &ctx).expect("other2");
        s2.apply(&fx.changes);
        let dropped = m.on_commit(&[other2.hash()], &s2, &ctx);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].0, t2.hash());
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn commits_of_own_transactions_recheck_only_periodically() {
        let (g, _, parts) = demo::testing(4);
        let mut state = State::from_genesis(&g);
        let seller = &parts[5].1;
        let buyer = &parts[6].1;
        let ctx = BlockContext {
            height: 1,
            time_ms: g.genesis_time_ms + 1,
        };
        let mut m = Mempool::new(100);
        let mut own = Vec::new();
        for n in 1..=RECHECK_EVERY as u64 {
            let t = anchor(seller, &g.chain_id, n, &format!("own-{n}"));
            m.insert(t.clone(), &state, &ctx).expect("admitted");
            own.push(t);
        }
        // Waiting: the buyer anchors "x". Then the state changes behind the mempool's back (as a
        // block ordering transactions differently could do): "x" is anchored by someone else,
        // and only the periodic re-check can notice.
        let doomed = anchor(buyer, &g.chain_id, 1, "x");
        m.insert(doomed.clone(), &state, &ctx).expect("admitted");
        let commit = |state: &mut State, t: &Transaction| {
            let fx = apply_verified(&*state, t, &ctx).expect("valid");
            state.apply(&fx.changes);
        };
        // Own transactions, one per block: no re-check until the RECHECK_EVERY-th commit.
        for (i, t) in own.iter().enumerate() {
            commit(&mut state, t);
            if i == 0 {
                let other = anchor(&parts[4].1, &g.chain_id, 1, "x");
                commit(&mut state, &other);
            }
            let dropped = m.on_commit(&[t.hash()], &state, &ctx);
            if i + 1 < RECHECK_EVERY as usize {
                assert!(dropped.is_empty(), "commit {i} re-checked");
            } else {
                assert_eq!(dropped.len(), 1, "the periodic re-check drops it");
                assert_eq!(dropped[0].0, doomed.hash());
            }
        }
        assert!(m.is_empty());
    }

    #[test]
    fn gossiped_transactions_ahead_of_their_nonce_wait_for_the_gap_to_close() {
        let (g, _, parts) = demo::testing(4);
        let mut state = State::from_genesis(&g);
        let seller = &parts[5].1;
        let ctx = BlockContext {
            height: 1,
            time_ms: g.genesis_time_ms + 1,
        };
        let t: Vec<Transaction> = (1..=4)
            .map(|n| anchor(seller, &g.chain_id, n, &format!("g-{n}")))
            .collect();
        let mut m = Mempool::new(100);
        // 3 and 2 overtake 1: held, not lost.
        assert!(matches!(
            m.insert_gossiped(t[2].clone(), &state, &ctx),
            Ok(Admission::Queued(_))
        ));
        assert!(matches!(
            m.insert_gossiped(t[1].clone(), &state, &ctx),
            Ok(Admission::Queued(_))
        ));
        assert_eq!((m.len(), m.held()), (0, 2));
        // 1 arrives: 1, 2 and 3 wait in nonce order.
        assert!(matches!(
            m.insert_gossiped(t[0].clone(), &state, &ctx),
            Ok(Admission::Added(_))
        ));
        assert_eq!((m.len(), m.held()), (3, 0));
        let nonces: Vec<u64> = m.candidates(10).iter().map(|t| t.body.nonce).collect();
        assert_eq!(nonces, vec![1, 2, 3]);
        // Far ahead is refused, naming the nonce rule.
        let far = anchor(seller, &g.chain_id, 4 + MAX_FUTURE_PER_SIGNER + 1, "far");
        assert!(matches!(
            m.insert_gossiped(far, &state, &ctx),
            Err(MempoolError::Rule(RuleError::BadNonce { .. }))
        ));

        // A gap closed by a block from elsewhere: the held one is admitted after the commit.
        let buyer = &parts[6].1;
        let b1 = anchor(buyer, &g.chain_id, 1, "b-1");
        let b2 = anchor(buyer, &g.chain_id, 2, "b-2");
        let mut m = Mempool::new(100);
        assert!(matches!(
            m.insert_gossiped(b2.clone(), &state, &ctx),
            Ok(Admission::Queued(_))
        ));
        let fx = apply_verified(&state, &b1, &ctx).expect("b1");
        state.apply(&fx.changes);
        m.on_commit(&[b1.hash()], &state, &ctx);
        assert_eq!((m.len(), m.held()), (1, 0));
        assert!(m.contains(&b2.hash()));
    }
}
