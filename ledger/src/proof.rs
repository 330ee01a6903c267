//! Self-contained proofs of a document's history: each of its transactions with a Merkle
//! inclusion proof into its block's header, and that header's commit certificate. Anyone holding
//! only the genesis file can check one: every certificate is a quorum of the genesis validators'
//! precommits for the header's hash, and every transaction is in its header's Merkle root and is
//! signed by its signer. Changing any byte makes verification fail.
//!
//! What a proof shows: each listed transaction is final on the chain of this genesis and
//! concerns the document (names it, or something an earlier entry linked to it). What it cannot
//! show on its own: that no later transaction exists (completeness needs state proofs, which the
//! ledger does not have yet).

use serde::{Deserialize, Serialize};

use crate::block::BlockHeader;
use crate::certificate::{CertificateError, CommitCertificate};
use crate::crypto::Hash;
use crate::genesis::Genesis;
use crate::merkle::{self, InclusionProof};
use crate::state::DocumentKey;
use crate::store::{Store, StoreError};
use crate::transaction::Transaction;

/// One transaction of the history with what proves it final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofEntry {
    /// The header of the block holding the transaction.
    pub header: BlockHeader,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
    /// The transaction.
    pub transaction: Transaction,
    /// Its Merkle inclusion proof into `header.tx_root`.
    pub inclusion: InclusionProof,
}

/// A document's history, provable offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentProof {
    /// The chain.
    pub chain_id: String,
    /// SHA-256 of the canonical genesis it is checked against.
    pub genesis_hash: Hash,
    /// The document.
    pub document: DocumentKey,
    /// Its transactions, oldest first.
    pub entries: Vec<ProofEntry>,
}

/// A transaction of the history, as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedEvent {
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Transaction hash.
    pub tx_hash: Hash,
    /// Signer.
    pub signer: crate::crypto::PublicKey,
    /// What it did.
    pub action: String,
}

/// Why a proof does not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The proof is for another genesis or chain.
    #[error("the proof is for another chain (genesis {found}, expected {expected})")]
    WrongGenesis {
        /// Genesis hash of the file given.
        expected: Hash,
        /// Genesis hash in the proof.
        found: Hash,
    },
    /// A certificate does not prove its header final.
    #[error("entry {index}: block {height} is not proven final: {error}")]
    Certificate {
        /// Entry.
        index: usize,
        /// Block height.
        height: u64,
        /// Why.
        error: CertificateError,
    },
    /// A transaction is not in its block.
    #[error("entry {index}: transaction {tx} is not in block {height}")]
    NotIncluded {
        /// Entry.
        index: usize,
        /// Transaction.
        tx: Hash,
        /// Block height.
        height: u64,
    },
    /// A transaction's signature or chain does not check.
    #[error("entry {index}: transaction {tx} is not validly signed for this chain")]
    BadTransaction {
        /// Entry.
        index: usize,
        /// Transaction.
        tx: Hash,
    },
    /// A transaction that is not linked to the document.
    #[error("entry {index}: transaction {tx} does not concern the document")]
    Unrelated {
        /// Entry.
        index: usize,
        /// Transaction.
        tx: Hash,
    },
    /// Entries out of order.
    #[error("entry {index}: entries are not in chain order")]
    Order {
        /// Entry.
        index: usize,
    },
    /// The proof has no entry.
    #[error("the proof lists no transaction")]
    Empty,
}

/// Builds the proof of a document's history from a store.
pub fn build<S: Store + ?Sized>(
    store: &S,
    genesis: &Genesis,
    document: &DocumentKey,
) -> Result<DocumentProof, StoreError> {
    let mut entries = Vec::new();
    for e in store.history(document)? {
        let (Some(block), Some(certificate)) =
            (store.block(e.height)?, store.certificate(e.height)?)
        else {
            continue;
        };
        let hashes = block.tx_hashes();
        let Some(inclusion) = merkle::prove(&hashes, e.index as usize) else {
            continue;
        };
        let Some(transaction) = block.transactions.get(e.index as usize).cloned() else {
            continue;
        };
        entries.push(ProofEntry {
            header: block.header,
            certificate,
            transaction,
            inclusion,
        });
    }
    Ok(DocumentProof {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        document: document.clone(),
        entries,
    })
}

impl DocumentProof {
    /// Checks the proof against a genesis; returns the proven history.
    pub fn verify(&self, genesis: &Genesis) -> Result<Vec<VerifiedEvent>, ProofError> {
        let expected = genesis.hash();
        if self.genesis_hash != expected || self.chain_id != genesis.chain_id {
            return Err(ProofError::WrongGenesis {
                expected,
                found: self.genesis_hash,
            });
        }
        if self.entries.is_empty() {
            return Err(ProofError::Empty);
        }
        let validators = genesis.validator_set();
        let mut out = Vec::with_capacity(self.entries.len());
        let mut last: Option<(u64, u32)> = None;
        // Each transaction must name the document, or something an earlier entry linked to it
        // (a presentation names the eBL and the credit, so the credit's honour counts).
        let mut linked = vec![self.document.clone()];
        for (index, e) in self.entries.iter().enumerate() {
            let h = &e.header;
            if h.chain_id != genesis.chain_id {
                return Err(ProofError::WrongGenesis {
                    expected,
                    found: self.genesis_hash,
                });
            }
            e.certificate
                .verify(&genesis.chain_id, &validators, h.height, &h.hash())
                .map_err(|error| ProofError::Certificate {
                    index,
                    height: h.height,
                    error,
                })?;
            let tx_hash = e.transaction.hash();
            if e.inclusion.size != h.tx_count || !e.inclusion.verify(&tx_hash, &h.tx_root) {
                return Err(ProofError::NotIncluded {
                    index,
                    tx: tx_hash,
                    height: h.height,
                });
            }
            if e.transaction.body.chain_id != genesis.chain_id
                || e.transaction.verify_signature().is_err()
            {
                return Err(ProofError::BadTransaction { index, tx: tx_hash });
            }
            let mentions = e.transaction.body.payload.mentions();
            if !mentions.iter().any(|m| linked.contains(m)) {
                return Err(ProofError::Unrelated { index, tx: tx_hash });
            }
            for m in mentions {
                if !linked.contains(&m) {
                    linked.push(m);
                }
            }
            let pos = (h.height, e.inclusion.index);
            if last.is_some_and(|l| l >= pos) {
                return Err(ProofError::Order { index });
            }
            last = Some(pos);
            out.push(VerifiedEvent {
                height: h.height,
                time_ms: h.time_ms,
                tx_hash,
                signer: e.transaction.body.signer,
                action: e.transaction.body.payload.action().to_string(),
            });
        }
        Ok(out)
    }
}
