//! The chain: genesis, the committed state in memory, and the store under it. Building a block,
//! checking one, and committing one live here; a block whose links, transactions, state root or
//! commit certificate do not check is never stored.

use std::collections::HashSet;

use crate::block::{Block, BlockHeader};
use crate::certificate::{CertificateError, CommitCertificate};
use crate::codec;
use crate::crypto::{self, Hash, PublicKey};
use crate::documents::tracking::TrackingRecord;
use crate::error::RuleError;
use crate::genesis::{Genesis, ValidatorSet};
use crate::history::HistoryEntry;
use crate::rules::{self, BlockContext, Effects};
use crate::state::{Changes, Heads, Overlay, State, StateView};
use crate::state_tree::StateTree;
use crate::store::{CommitBatch, Store, StoreError, Tip};
use crate::transaction::Transaction;

/// Why a block is refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// A header field does not match what the chain expects.
    #[error("block header: {0}")]
    Header(String),
    /// A transaction breaks a rule.
    #[error("transaction {index} ({hash}) is invalid: {error}")]
    Transaction {
        /// Position in the block.
        index: usize,
        /// Its hash.
        hash: Hash,
        /// The rule.
        error: Box<RuleError>,
    },
    /// The parent's certificate carried in the block does not verify.
    #[error("last commit certificate: {0}")]
    LastCommit(CertificateError),
    /// The block's own certificate does not verify.
    #[error("commit certificate: {0}")]
    Certificate(CertificateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The result of executing a block's transactions.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Merged changes.
    pub changes: Changes,
    /// Effects per transaction, in order.
    pub effects: Vec<Effects>,
    /// The state tree after the block (its root is the header's `state_root`).
    pub tree: StateTree,
    /// The transactions' hashes, in order (computed once, used by commit and its callers).
    pub tx_hashes: Vec<Hash>,
}

/// A transaction the proposer left out, and why.
#[derive(Debug, Clone)]
pub struct Excluded {
    /// Transaction hash.
    pub hash: Hash,
    /// The rule it broke.
    pub error: RuleError,
}

/// The chain over a store.
#[derive(Debug)]
pub struct Chain<S: Store> {
    genesis: Genesis,
    /// The validators of the next height (`state.validators_at(tip + 1)`).
    validators: ValidatorSet,
    state: State,
    tree: StateTree,
    tip: Tip,
    store: S,
    durable_commits: bool,
}

/// The tip at genesis: its state root is the root of the genesis state.
pub fn genesis_tip(genesis: &Genesis) -> Tip {
    Tip {
        height: 0,
        hash: Hash::ZERO,
        time_ms: genesis.genesis_time_ms,
        state_root: StateTree::from_leaves(State::from_genesis(genesis).leaves()).root(),
    }
}

/// Applies one transaction on top of a block's changes so far: the rules, then the head of the
/// history of every document it touches.
fn apply_one(
    overlay: &mut Overlay<'_>,
    tx: &Transaction,
    tx_hash: &Hash,
    ctx: &BlockContext,
) -> Result<Effects, RuleError> {
    let mut fx = rules::apply_verified(&*overlay, tx, ctx)?;
    for doc in &fx.touched {
        let head = overlay.record::<Heads, _>(doc).unwrap_or_default();
        fx.changes
            .heads
            .insert(doc.clone(), head.then(tx_hash, ctx.height));
    }
    overlay.merge(fx.changes.clone());
    Ok(fx)
}

impl<S: Store> Chain<S> {
    /// Opens the chain: checks the store belongs to this genesis and restores the state.
    pub fn open(genesis: Genesis, store: S) -> Result<Chain<S>, StoreError> {
        store.check_genesis(&genesis.hash())?;
        let mut state = State::from_genesis(&genesis);
        store.load_state(&mut state)?;
        let tip = store.tip()?.unwrap_or_else(|| genesis_tip(&genesis));
        let tree = StateTree::from_leaves(state.leaves());
        if tree.root() != tip.state_root {
            return Err(StoreError::StateMismatch {
                height: tip.height,
                committed: tip.state_root,
                loaded: tree.root(),
            });
        }
        Ok(Chain {
            validators: state.validators_at(tip.height + 1),
            genesis,
            state,
            tree,
            tip,
            store,
            durable_commits: true,
        })
    }

    /// Commits are written without waiting for the disk; the next durable write (the consensus
    /// write-ahead record of the next height, or the store's periodic flush) carries them. For
    /// a validator, whose committed blocks are certified by a quorum and fetched again from
    /// peers if a crash loses them; what it must not lose (its votes, its acknowledged
    /// submissions) is written durably by their owners.
    pub fn with_lazy_commits(mut self) -> Chain<S> {
        self.durable_commits = false;
        self
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The validators of the next height: genesis's, then as governance changed them.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The validators deciding `height` (known up to `ACTIVATION_DELAY` heights past the tip).
    pub fn validators_at(&self, height: u64) -> ValidatorSet {
        self.state.validators_at(height)
    }

    /// The committed state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The committed state's tree (its root is the tip's `state_root`).
    pub fn tree(&self) -> &StateTree {
        &self.tree
    }

    /// What a proof of `documents` (the subject first) needs from the state at the tip
    /// ([`crate::proof::capture`]).
    pub fn snapshot(&self, documents: &[crate::state::DocumentKey]) -> crate::proof::Snapshot {
        crate::proof::capture(&self.state, &self.tree, self.tip, documents)
    }

    /// The tip.
    pub fn tip(&self) -> Tip {
        self.tip
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Executes transactions in order on the committed state. `verified` says which transaction
    /// hashes already had their signatures checked; the rest are checked here in one batch.
    pub fn execute(
        &self,
        txs: &[Transaction],
        ctx: &BlockContext,
        verified: &dyn Fn(&Hash) -> bool,
    ) -> Result<Execution, BlockError> {
        self.execute_hashed(
            txs,
            txs.iter().map(Transaction::hash).collect(),
            ctx,
            verified,
        )
    }

    /// [`Chain::execute`] with the transactions' hashes already computed.
    fn execute_hashed(
        &self,
        txs: &[Transaction],
        hashes: Vec<Hash>,
        ctx: &BlockContext,
        verified: &dyn Fn(&Hash) -> bool,
    ) -> Result<Execution, BlockError> {
        let unchecked: Vec<usize> = (0..txs.len()).filter(|&i| !verified(&hashes[i])).collect();
        let items: Vec<_> = unchecked.iter().map(|&i| txs[i].signature_item()).collect();
        if !crypto::verify_batch(&items) {
            for &i in &unchecked {
                if txs[i].verify_signature().is_err() {
                    return Err(BlockError::Transaction {
                        index: i,
                        hash: hashes[i],
                        error: Box::new(RuleError::BadSignature(txs[i].body.signer)),
                    });
                }
            }
        }
        let mut overlay = Overlay::new(&self.state);
        let mut effects = Vec::with_capacity(txs.len());
        for (i, tx) in txs.iter().enumerate() {
            let fx = apply_one(&mut overlay, tx, &hashes[i], ctx).map_err(|error| {
                BlockError::Transaction {
                    index: i,
                    hash: hashes[i],
                    error: Box::new(error),
                }
            })?;
            effects.push(fx);
        }
        let changes = overlay.into_changes();
        let tree = self.tree.with(changes.leaves());
        Ok(Execution {
            changes,
            effects,
            tree,
            tx_hashes: hashes,
        })
    }

    /// Builds the next block from candidate transactions (in arrival order), leaving out those
    /// that break a rule or do not fit. Signatures are assumed checked (by the mempool).
    #[allow(clippy::too_many_arguments)]
    pub fn build_block(
        &self,
        round: u32,
        time_ms: u64,
        proposer: PublicKey,
        candidates: Vec<Transaction>,
        last_commit: Option<CommitCertificate>,
    ) -> (Block, Execution, Vec<Excluded>) {
        let p = &self.state.params_at(self.tip.height + 1);
        let ctx = BlockContext {
            height: self.tip.height + 1,
            time_ms,
        };
        let mut overlay = Overlay::new(&self.state);
        let mut included = Vec::new();
        let mut effects = Vec::new();
        let mut excluded = Vec::new();
        let mut hashes = Vec::new();
        let mut bytes = 0usize;
        for tx in candidates {
            if included.len() >= p.max_block_txs as usize {
                break;
            }
            let size = codec::encode(&tx).len();
            if bytes + size > p.max_block_bytes as usize {
                break;
            }
            let hash = tx.hash();
            match apply_one(&mut overlay, &tx, &hash, &ctx) {
                Ok(fx) => {
                    effects.push(fx);
                    bytes += size;
                    included.push(tx);
                    hashes.push(hash);
                }
                Err(error) => excluded.push(Excluded { hash, error }),
            }
        }
        let changes = overlay.into_changes();
        let tree = self.tree.with(changes.leaves());
        let state_root = tree.root();
        let header = BlockHeader {
            version: crate::block::BLOCK_VERSION,
            chain_id: self.genesis.chain_id.clone(),
            height: ctx.height,
            round,
            previous_hash: self.tip.hash,
            time_ms,
            proposer,
            tx_root: Block::tx_root_of(&hashes),
            tx_count: included.len() as u32,
            last_commit_hash: last_commit
                .as_ref()
                .map_or(Hash::ZERO, CommitCertificate::hash),
            state_root,
        };
        let block = Block {
            header,
            last_commit,
            transactions: included,
        };
        (
            block,
            Execution {
                changes,
                effects,
                tree,
                tx_hashes: hashes,
            },
            excluded,
        )
    }

    /// Checks a block proposed as the next one: header links, proposer, limits, the parent's
    /// certificate, every transaction, and the state hash. Returns its execution.
    pub fn validate_block(
        &self,
        block: &Block,
        verified: &dyn Fn(&Hash) -> bool,
    ) -> Result<Execution, BlockError> {
        let h = &block.header;
        let bad = |s: String| Err(BlockError::Header(s));
        if h.version != crate::block::BLOCK_VERSION {
            return bad(format!(
                "block version {}, this ledger reads version {}",
                h.version,
                crate::block::BLOCK_VERSION
            ));
        }
        if h.chain_id != self.genesis.chain_id {
            return bad(format!(
                "chain id {:?}, expected {:?}",
                h.chain_id, self.genesis.chain_id
            ));
        }
        if h.height != self.tip.height + 1 {
            return bad(format!(
                "height {}, expected {}",
                h.height,
                self.tip.height + 1
            ));
        }
        if h.previous_hash != self.tip.hash {
            return bad(format!(
                "previous hash {}, expected {}",
                h.previous_hash, self.tip.hash
            ));
        }
        if h.time_ms <= self.tip.time_ms {
            return bad(format!(
                "time {} is not after the parent's {}",
                h.time_ms, self.tip.time_ms
            ));
        }
        let set = self.state.validators_at(h.height);
        if set.is_empty() {
            return bad(format!("no validators at height {}", h.height));
        }
        let expected = set.proposer(h.height, h.round);
        if h.proposer != expected {
            return bad(format!(
                "proposer {} is not the proposer of height {} round {} ({expected})",
                h.proposer, h.height, h.round
            ));
        }
        let p = &self.state.params_at(h.height);
        if block.transactions.len() > p.max_block_txs as usize
            || h.tx_count as usize != block.transactions.len()
        {
            return bad(format!(
                "{} transactions (header says {}), at most {} allowed",
                block.transactions.len(),
                h.tx_count,
                p.max_block_txs
            ));
        }
        let hashes = block.tx_hashes();
        let unique: HashSet<&Hash> = hashes.iter().collect();
        if unique.len() != hashes.len() {
            return bad("a transaction appears twice".into());
        }
        if Block::tx_root_of(&hashes) != h.tx_root {
            return bad("transaction root does not match the transactions".into());
        }
        match (&block.last_commit, h.height) {
            (None, 1) if h.last_commit_hash == Hash::ZERO => {}
            (Some(cert), n) if n > 1 => {
                if cert.hash() != h.last_commit_hash {
                    return bad("last commit hash does not match the certificate carried".into());
                }
                cert.verify(
                    &self.genesis.chain_id,
                    &self.state.validators_at(n - 1),
                    n - 1,
                    &self.tip.hash,
                )
                .map_err(BlockError::LastCommit)?;
            }
            _ => return bad("the parent's commit certificate is missing or unexpected".into()),
        }
        let ctx = BlockContext {
            height: h.height,
            time_ms: h.time_ms,
        };
        let exec = self.execute_hashed(&block.transactions, hashes, &ctx, verified)?;
        if exec.tree.root() != h.state_root {
            return bad(format!(
                "state root {} differs from this validator's {}",
                h.state_root,
                exec.tree.root()
            ));
        }
        Ok(exec)
    }

    /// Validates and commits a block with its commit certificate.
    pub fn commit_block(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
    ) -> Result<Execution, BlockError> {
        let exec = self.validate_block(block, &|_| false)?;
        self.commit_executed(block, certificate, &exec)?;
        Ok(exec)
    }

    /// Commits a block already checked with [`Chain::validate_block`] against the current tip;
    /// checks its certificate, then writes everything in one batch.
    pub fn commit_executed(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        exec: &Execution,
    ) -> Result<(), BlockError> {
        let tip = self.persist(block, certificate, exec)?;
        self.advance(tip, exec)
    }

    /// The first half of [`Chain::commit_executed`], which needs only shared access: checks the
    /// block extends the tip and its certificate, and writes it to the store in one batch. The
    /// in-memory state and tip move only with [`Chain::advance`], so readers of the chain are
    /// not held up by the store write.
    pub fn persist(
        &self,
        block: &Block,
        certificate: &CommitCertificate,
        exec: &Execution,
    ) -> Result<Tip, BlockError> {
        let h = &block.header;
        if h.height != self.tip.height + 1 || h.previous_hash != self.tip.hash {
            return Err(BlockError::Header(format!(
                "block {} does not extend the tip {}",
                h.height, self.tip.height
            )));
        }
        let hash = h.hash();
        certificate
            .verify(
                &self.genesis.chain_id,
                &self.state.validators_at(h.height),
                h.height,
                &hash,
            )
            .map_err(BlockError::Certificate)?;
        if exec.tx_hashes.len() != block.transactions.len()
            || exec.effects.len() != block.transactions.len()
        {
            return Err(BlockError::Header(format!(
                "the execution given for block {} is not this block's",
                h.height
            )));
        }
        if exec.tree.root() != h.state_root {
            return Err(BlockError::Header(format!(
                "the execution given for block {} ends in another state root",
                h.height
            )));
        }
        let mut history = Vec::new();
        // The party index is a set: one write per (party, document) per block.
        let mut parties = std::collections::BTreeSet::new();
        let mut tracking = Vec::new();
        for (i, (tx, fx)) in block.transactions.iter().zip(&exec.effects).enumerate() {
            let entry = HistoryEntry {
                height: h.height,
                time_ms: h.time_ms,
                index: i as u32,
                tx_hash: exec.tx_hashes[i],
                signer: tx.body.signer,
                action: tx.body.payload.action().to_string(),
            };
            for doc in &fx.touched {
                history.push((doc.clone(), entry.clone()));
                for p in &fx.parties {
                    parties.insert((*p, doc.clone()));
                }
            }
            tracking.extend(fx.tracking.iter().map(|event| TrackingRecord {
                event: event.clone(),
                height: h.height,
                time_ms: h.time_ms,
                index: i as u32,
                tx_hash: entry.tx_hash,
                signer: entry.signer,
            }));
        }
        let tip = Tip {
            height: h.height,
            hash,
            time_ms: h.time_ms,
            state_root: h.state_root,
        };
        self.store.commit(&CommitBatch {
            block,
            tx_hashes: &exec.tx_hashes,
            certificate,
            changes: &exec.changes,
            history,
            parties: parties.into_iter().collect(),
            tracking,
            tip,
            durable: self.durable_commits,
        })?;
        Ok(tip)
    }

    /// The second half of [`Chain::commit_executed`]: applies a block persisted by
    /// [`Chain::persist`] to the in-memory state. `tip` must be what `persist` returned for the
    /// block following the current tip.
    pub fn advance(&mut self, tip: Tip, exec: &Execution) -> Result<(), BlockError> {
        if tip.height != self.tip.height + 1 {
            return Err(BlockError::Header(format!(
                "block {} persisted out of turn: the tip is {}",
                tip.height, self.tip.height
            )));
        }
        self.state.apply(&exec.changes);
        self.tree = exec.tree.clone();
        self.tip = tip;
        self.validators = self.state.validators_at(tip.height + 1);
        Ok(())
    }
}
