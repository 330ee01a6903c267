//! Self-contained proofs of documents: their whole history and their current state, checkable
//! offline by anyone holding only the genesis file.
//!
//! A proof ([`DocumentProof`]) carries:
//! - every transaction of each document's history, with a Merkle inclusion proof into its
//!   block's header and that header's commit certificate ([`ProofEntry`]);
//! - the state at one certified height ([`StateEvidence`]): that block's header and commit
//!   certificate, and for each document a state-tree proof of its record (or of its absence)
//!   and of its history head, plus the registration records of the parties it names.
//!
//! What verifying shows: every transaction is final on the chain of this genesis and validly
//! signed; at the state's height each document's record is exactly the one shown; and the
//! transactions listed for a document are exactly its history up to that height, none missing,
//! none added, none reordered, because they reproduce the history head the state commits to
//! ([`crate::state::HistoryHead`]). "Current" means as of that certified height, which the
//! verifier prints; a reader who needs a later state asks for `not_before`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::block::BlockHeader;
use crate::certificate::{CertificateError, CommitCertificate};
use crate::codec;
use crate::crypto::{Hash, PublicKey};
use crate::documents::anchor::AnchoredDocument;
use crate::documents::credit::LetterOfCredit;
use crate::documents::customs::CustomsDeclaration;
use crate::documents::transport::TransportDocument;
use crate::genesis::{Genesis, Role};
use crate::governance::Proposal;
use crate::merkle::{self, InclusionProof};
use crate::state::{head_location, record_location, DocumentKey, HistoryHead, Member, State};
use crate::state_tree::{leaf_key, leaf_value, StateProof, StateTree};
use crate::store::{Store, StoreError, Tip};
use crate::transaction::Transaction;

/// One transaction with what proves it final.
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

/// A record of the state, by family, as a proof shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "family", content = "record")]
pub enum Record {
    /// A transport document.
    TransportDocument(TransportDocument),
    /// A letter of credit.
    Credit(LetterOfCredit),
    /// A customs declaration.
    Declaration(CustomsDeclaration),
    /// An anchored document.
    Anchor(AnchoredDocument),
    /// A participant registration.
    Participant(Member),
    /// An organisation registration.
    Organisation(Role),
    /// A governance proposal.
    Proposal(Proposal),
}

impl Record {
    /// The document's record in a state, if it has one.
    pub fn of(state: &State, document: &DocumentKey) -> Option<Record> {
        Some(match document {
            DocumentKey::TransportDocument(r) => {
                Record::TransportDocument(state.transport_documents.get(r)?.clone())
            }
            DocumentKey::Credit(n) => Record::Credit(state.credits.get(n)?.clone()),
            DocumentKey::Declaration(n) => Record::Declaration(state.declarations.get(n)?.clone()),
            DocumentKey::Anchor(h) => Record::Anchor(state.anchors.get(h)?.clone()),
            DocumentKey::Participant(k) => Record::Participant(state.participants.get(k)?.clone()),
            DocumentKey::Organisation(o) => Record::Organisation(*state.organisations.get(o)?),
            DocumentKey::Proposal(id) => Record::Proposal(state.proposals.get(id)?.clone()),
        })
    }

    /// Whether this record is of the family `document` names.
    fn is_family_of(&self, document: &DocumentKey) -> bool {
        matches!(
            (self, document),
            (
                Record::TransportDocument(_),
                DocumentKey::TransportDocument(_)
            ) | (Record::Credit(_), DocumentKey::Credit(_))
                | (Record::Declaration(_), DocumentKey::Declaration(_))
                | (Record::Anchor(_), DocumentKey::Anchor(_))
                | (Record::Participant(_), DocumentKey::Participant(_))
                | (Record::Organisation(_), DocumentKey::Organisation(_))
                | (Record::Proposal(_), DocumentKey::Proposal(_))
        )
    }

    /// Its leaf value in the state tree: the hash of its canonical encoding.
    fn leaf_value(&self) -> Hash {
        leaf_value(&match self {
            Record::TransportDocument(r) => codec::encode(r),
            Record::Credit(r) => codec::encode(r),
            Record::Declaration(r) => codec::encode(r),
            Record::Anchor(r) => codec::encode(r),
            Record::Participant(r) => codec::encode(r),
            Record::Organisation(r) => codec::encode(r),
            Record::Proposal(r) => codec::encode(r),
        })
    }

    /// The parties a transport document names whose names a reader wants to see.
    fn parties(&self) -> Vec<PublicKey> {
        match self {
            Record::TransportDocument(t) => [
                Some(t.carrier),
                t.possessor,
                t.endorsee,
                t.surrendered_by,
                t.delivery_order_to,
                Some(t.data.shipper),
                t.data.consignee,
            ]
            .into_iter()
            .flatten()
            .collect(),
            _ => Vec::new(),
        }
    }
}

/// A record of the state with its state-tree proof (`record: None` with a proof of absence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenRecord {
    /// Which record.
    pub document: DocumentKey,
    /// Its value at the state's height.
    pub record: Option<Record>,
    /// Its state-tree proof.
    pub proof: StateProof,
}

/// A document's current record and history head, each with its state-tree proof, and which of
/// the proof's entries are its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenDocument {
    /// The record.
    pub state: ProvenRecord,
    /// Its history head at the state's height (`None`: no transaction touched it).
    pub head: Option<HistoryHead>,
    /// The head's state-tree proof.
    pub head_proof: StateProof,
    /// Indexes into [`DocumentProof::entries`] of its history, oldest first.
    pub entries: Vec<u32>,
}

/// The state at one certified height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEvidence {
    /// The header of the block after which the state is shown; it carries the state root.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
    /// The documents.
    pub documents: Vec<ProvenDocument>,
    /// The registration records of the parties the documents and transactions name.
    pub parties: Vec<ProvenRecord>,
}

/// Documents' histories and current state, provable offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentProof {
    /// The chain.
    pub chain_id: String,
    /// SHA-256 of the canonical genesis it is checked against.
    pub genesis_hash: Hash,
    /// The document the proof is about (the first of `state.documents`).
    pub document: DocumentKey,
    /// The transactions of every document's history, in chain order, each once.
    pub entries: Vec<ProofEntry>,
    /// The state at the latest height.
    pub state: StateEvidence,
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
    pub signer: PublicKey,
    /// What it did.
    pub action: String,
}

/// A document as verified: its record at the state's height and its whole history to then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedDocument {
    /// Which document.
    pub document: DocumentKey,
    /// Its record (`None`: it does not exist at that height).
    pub record: Option<Record>,
    /// Its history, oldest first.
    pub events: Vec<VerifiedEvent>,
}

/// What a verified proof shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The certified height of the state shown.
    pub height: u64,
    /// That block's time (ms).
    pub time_ms: u64,
    /// The state root at that height.
    pub state_root: Hash,
    /// Every transaction, in chain order.
    pub events: Vec<VerifiedEvent>,
    /// Each document, the proof's subject first.
    pub documents: Vec<VerifiedDocument>,
    /// Aliases of the parties proven registered.
    pub aliases: BTreeMap<PublicKey, String>,
}

impl Verified {
    /// An alias if the proof shows the party registered, else the key's hex.
    pub fn name(&self, key: &PublicKey) -> String {
        self.aliases
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }
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
    /// A transaction in no document's history.
    #[error("entry {index}: transaction {tx} is in no listed document's history")]
    Unrelated {
        /// Entry.
        index: usize,
        /// Transaction.
        tx: Hash,
    },
    /// Entries out of order or repeated.
    #[error("entry {index}: entries are not in chain order")]
    Order {
        /// Entry.
        index: usize,
    },
    /// The proof has no document.
    #[error("the proof shows no document")]
    Empty,
    /// The document the proof names is not the first it shows.
    #[error("the proof is said to be of {named:?} but shows {shown:?} first")]
    Subject {
        /// The document named.
        named: DocumentKey,
        /// The document shown first.
        shown: DocumentKey,
    },
    /// The state's block is not proven final.
    #[error("the state at height {height} is not proven final: {error}")]
    StateCertificate {
        /// Its height.
        height: u64,
        /// Why.
        error: CertificateError,
    },
    /// A transaction later than the state shown.
    #[error(
        "entry {index}: transaction at height {height} is later than the state shown (height \
         {state_height})"
    )]
    AfterState {
        /// Entry.
        index: usize,
        /// Its height.
        height: u64,
        /// The state's height.
        state_height: u64,
    },
    /// A record, head or party record does not match the state root.
    #[error(
        "{document:?}: the {what} shown is not the one in the state at height {height}: {reason}"
    )]
    State {
        /// Which document.
        document: DocumentKey,
        /// Record, history head or registration.
        what: &'static str,
        /// The state's height.
        height: u64,
        /// Why.
        reason: String,
    },
    /// The transactions listed for a document are not its whole history.
    #[error(
        "{document:?}: the {listed} transactions listed are not its history, which has {count} \
         transactions at height {height} (one is missing, added or out of order)"
    )]
    IncompleteHistory {
        /// Which document.
        document: DocumentKey,
        /// How many the proof lists.
        listed: usize,
        /// How many the state's head counts.
        count: u64,
        /// The state's height.
        height: u64,
    },
    /// The state shown is older than the reader accepts.
    #[error(
        "the state shown is at height {height} ({time}), before {not_before} that you asked \
         for: fetch a newer proof"
    )]
    Stale {
        /// The state's height.
        height: u64,
        /// Its time.
        time: String,
        /// The earliest time accepted.
        not_before: String,
    },
}

/// What a proof needs from the chain's memory at one tip, taken under the chain lock so that
/// records, heads and the tree agree ([`capture`]); the blocks are then read from the store
/// without it ([`build`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The tip the state is at.
    pub tip: Tip,
    /// The documents with their records, heads and proofs, the subject first.
    documents: Vec<(ProvenRecord, Option<HistoryHead>, StateProof)>,
    /// The parties' registrations.
    parties: Vec<ProvenRecord>,
}

fn prove_record(state: &State, tree: &StateTree, document: &DocumentKey) -> ProvenRecord {
    let (table, key) = record_location(document);
    ProvenRecord {
        document: document.clone(),
        record: Record::of(state, document),
        proof: tree.prove(&leaf_key(table, &key)),
    }
}

/// Takes what a proof of `documents` (the subject first) needs from the state and its tree at
/// `tip`, and the registrations of the parties the documents name. Pure; cheap (a few
/// state-tree paths), so it can run under the chain lock.
pub fn capture(state: &State, tree: &StateTree, tip: Tip, documents: &[DocumentKey]) -> Snapshot {
    let mut seen = BTreeSet::new();
    let mut docs = Vec::new();
    let mut parties = BTreeSet::new();
    for d in documents {
        if !seen.insert(d.clone()) {
            continue;
        }
        let record = prove_record(state, tree, d);
        if let Some(r) = &record.record {
            parties.extend(r.parties());
        }
        let (table, key) = head_location(d);
        let head = state.heads.get(d).copied();
        docs.push((record, head, tree.prove(&leaf_key(table, &key))));
    }
    let parties = parties
        .into_iter()
        .map(|p| prove_record(state, tree, &DocumentKey::Participant(p)))
        .collect();
    Snapshot {
        tip,
        documents: docs,
        parties,
    }
}

/// Builds the proof of a snapshot from the store: each document's history up to the
/// snapshot's height, with blocks and certificates. `None` if the snapshot shows no document or
/// the snapshot's own block is not in the store.
pub fn build<S: Store + ?Sized>(
    store: &S,
    genesis: &Genesis,
    snapshot: Snapshot,
) -> Result<Option<DocumentProof>, StoreError> {
    let tip = snapshot.tip;
    let (Some(subject), Some(state_block), Some(state_cert)) = (
        snapshot.documents.first().map(|d| d.0.document.clone()),
        store.block(tip.height)?,
        store.certificate(tip.height)?,
    ) else {
        return Ok(None);
    };
    // Each document's history at the snapshot's height, merged into one list in chain order.
    let mut histories = Vec::new();
    let mut positions = BTreeSet::new();
    for (record, _, _) in &snapshot.documents {
        let mut h: Vec<(u64, u32)> = store
            .history(&record.document)?
            .into_iter()
            .filter(|e| e.height <= tip.height)
            .map(|e| (e.height, e.index))
            .collect();
        h.sort_unstable();
        positions.extend(h.iter().copied());
        histories.push(h);
    }
    let positions: Vec<(u64, u32)> = positions.into_iter().collect();
    let mut entries = Vec::with_capacity(positions.len());
    let mut block_cache: Option<(u64, crate::block::Block, CommitCertificate, Vec<Hash>)> = None;
    for &(height, index) in &positions {
        if block_cache.as_ref().map(|c| c.0) != Some(height) {
            let (Some(block), Some(cert)) = (store.block(height)?, store.certificate(height)?)
            else {
                return Err(StoreError::Missing(format!(
                    "block {height} of a document's history is not in the store"
                )));
            };
            let hashes = block.tx_hashes();
            block_cache = Some((height, block, cert, hashes));
        }
        let Some((_, block, cert, hashes)) = &block_cache else {
            continue;
        };
        let (Some(inclusion), Some(transaction)) = (
            merkle::prove(hashes, index as usize),
            block.transactions.get(index as usize),
        ) else {
            return Err(StoreError::Missing(format!(
                "transaction {index} of block {height} is in a history but not in the block"
            )));
        };
        entries.push(ProofEntry {
            header: block.header.clone(),
            certificate: cert.clone(),
            transaction: transaction.clone(),
            inclusion,
        });
    }
    let documents = snapshot
        .documents
        .into_iter()
        .zip(histories)
        .map(|((state, head, head_proof), h)| ProvenDocument {
            state,
            head,
            head_proof,
            entries: h
                .iter()
                .filter_map(|p| positions.binary_search(p).ok().map(|i| i as u32))
                .collect(),
        })
        .collect();
    Ok(Some(DocumentProof {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        document: subject,
        entries,
        state: StateEvidence {
            header: state_block.header,
            certificate: state_cert,
            documents,
            parties: snapshot.parties,
        },
    }))
}

/// Checks a proven record against the state root.
fn check_record(r: &ProvenRecord, root: &Hash, height: u64) -> Result<(), ProofError> {
    let wrong = |reason: String| ProofError::State {
        document: r.document.clone(),
        what: "record",
        height,
        reason,
    };
    if let Some(rec) = &r.record {
        if !rec.is_family_of(&r.document) {
            return Err(wrong("the record is of another family".into()));
        }
    }
    let (table, key) = record_location(&r.document);
    let proven = r
        .proof
        .verify(root, &leaf_key(table, &key))
        .map_err(|e| wrong(e.to_string()))?;
    if proven != r.record.as_ref().map(Record::leaf_value) {
        return Err(wrong(match proven {
            None => "the state has no such record".into(),
            Some(_) => "the state holds another value".into(),
        }));
    }
    Ok(())
}

impl DocumentProof {
    /// Checks the proof against a genesis, and that its state is not older than
    /// `not_before_ms` (if given); returns what it proves.
    pub fn verify(
        &self,
        genesis: &Genesis,
        not_before_ms: Option<u64>,
    ) -> Result<Verified, ProofError> {
        let expected = genesis.hash();
        let wrong_genesis = || ProofError::WrongGenesis {
            expected,
            found: self.genesis_hash,
        };
        if self.genesis_hash != expected || self.chain_id != genesis.chain_id {
            return Err(wrong_genesis());
        }
        let validators = genesis.validator_set();

        // The state: a final block, not older than asked.
        let sh = &self.state.header;
        if sh.chain_id != genesis.chain_id {
            return Err(wrong_genesis());
        }
        self.state
            .certificate
            .verify(&genesis.chain_id, &validators, sh.height, &sh.hash())
            .map_err(|error| ProofError::StateCertificate {
                height: sh.height,
                error,
            })?;
        if let Some(nb) = not_before_ms {
            if sh.time_ms < nb {
                return Err(ProofError::Stale {
                    height: sh.height,
                    time: crate::date::format_ms(sh.time_ms),
                    not_before: crate::date::format_ms(nb),
                });
            }
        }
        let root = sh.state_root;

        // The transactions: each final, in its block, validly signed, in chain order.
        let mut events = Vec::with_capacity(self.entries.len());
        let mut last: Option<(u64, u32)> = None;
        for (index, e) in self.entries.iter().enumerate() {
            let h = &e.header;
            if h.chain_id != genesis.chain_id {
                return Err(wrong_genesis());
            }
            if h.height > sh.height {
                return Err(ProofError::AfterState {
                    index,
                    height: h.height,
                    state_height: sh.height,
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
            let pos = (h.height, e.inclusion.index);
            if last.is_some_and(|l| l >= pos) {
                return Err(ProofError::Order { index });
            }
            last = Some(pos);
            events.push(VerifiedEvent {
                height: h.height,
                time_ms: h.time_ms,
                tx_hash,
                signer: e.transaction.body.signer,
                action: e.transaction.body.payload.action().to_string(),
            });
        }

        // The documents: each record as the state holds it, and its history exactly the
        // transactions that reproduce its head.
        let Some(first) = self.state.documents.first() else {
            return Err(ProofError::Empty);
        };
        if first.state.document != self.document {
            return Err(ProofError::Subject {
                named: self.document.clone(),
                shown: first.state.document.clone(),
            });
        }
        let mut used = vec![false; self.entries.len()];
        let mut documents = Vec::with_capacity(self.state.documents.len());
        for d in &self.state.documents {
            check_record(&d.state, &root, sh.height)?;
            let document = &d.state.document;
            let (table, key) = head_location(document);
            let proven = d
                .head_proof
                .verify(&root, &leaf_key(table, &key))
                .map_err(|e| ProofError::State {
                    document: document.clone(),
                    what: "history head",
                    height: sh.height,
                    reason: e.to_string(),
                })?;
            if proven != d.head.map(|h| leaf_value(&codec::encode(&h))) {
                return Err(ProofError::State {
                    document: document.clone(),
                    what: "history head",
                    height: sh.height,
                    reason: "the state holds another head".into(),
                });
            }
            let mut head = HistoryHead::default();
            let mut evs = Vec::with_capacity(d.entries.len());
            for &i in &d.entries {
                let Some(ev) = events.get(i as usize) else {
                    return Err(ProofError::IncompleteHistory {
                        document: document.clone(),
                        listed: d.entries.len(),
                        count: d.head.map_or(0, |h| h.count),
                        height: sh.height,
                    });
                };
                used[i as usize] = true;
                head = head.then(&ev.tx_hash, ev.height);
                evs.push(ev.clone());
            }
            let complete = match d.head {
                None => d.entries.is_empty(),
                Some(h) => h == head,
            };
            if !complete {
                return Err(ProofError::IncompleteHistory {
                    document: document.clone(),
                    listed: d.entries.len(),
                    count: d.head.map_or(0, |h| h.count),
                    height: sh.height,
                });
            }
            documents.push(VerifiedDocument {
                document: document.clone(),
                record: d.state.record.clone(),
                events: evs,
            });
        }
        if let Some(index) = used.iter().position(|u| !u) {
            return Err(ProofError::Unrelated {
                index,
                tx: events[index].tx_hash,
            });
        }

        // The parties' registrations, for their names.
        let mut aliases = BTreeMap::new();
        for p in &self.state.parties {
            check_record(p, &root, sh.height)?;
            if let (DocumentKey::Participant(k), Some(Record::Participant(m))) =
                (&p.document, &p.record)
            {
                aliases.insert(*k, m.alias.clone());
            }
        }
        Ok(Verified {
            height: sh.height,
            time_ms: sh.time_ms,
            state_root: root,
            events,
            documents,
            aliases,
        })
    }
}
