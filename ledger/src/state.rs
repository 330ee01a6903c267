//! The ledger state: who is registered, every signer's nonce, and every document's record.
//!
//! The state machine reads through [`StateView`] and returns its writes as [`Changes`]; a block
//! is checked transaction by transaction on an [`Overlay`] (the committed state plus the block's
//! changes so far) and its changes are committed in one batch. Every record is a leaf of the
//! state tree ([`crate::state_tree`]), whose root every block header carries: a validator whose
//! state diverges notices at the next block, and anyone can be shown one record's value at a
//! certified height.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{Hash, PublicKey};
use crate::documents::anchor::AnchoredDocument;
use crate::documents::credit::LetterOfCredit;
use crate::documents::customs::CustomsDeclaration;
use crate::documents::party::PartyId;
use crate::documents::tracking::ContainerPosition;
use crate::documents::transport::TransportDocument;
use crate::genesis::{ConsensusParams, Genesis, Role, ValidatorSet};
use crate::governance::Proposal;
use crate::state_tree;

/// A registered participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Alias.
    pub alias: String,
    /// Organisation name.
    pub organisation: String,
    /// The organisation's role.
    pub role: Role,
    /// Its X25519 key, for document keys wrapped for it.
    pub encryption_key: crate::sealed::EncryptionKey,
    /// The height its organisation revoked it at: a revoked key signs nothing more and is
    /// named in nothing more, and its alias is never reused.
    pub revoked_at: Option<u64>,
}

/// Names one document (or membership record) for history and indexes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKey {
    /// A transport document by reference.
    TransportDocument(String),
    /// A letter of credit by number.
    Credit(String),
    /// A customs declaration by number.
    Declaration(String),
    /// An anchored document by hash.
    Anchor(Hash),
    /// A participant registration.
    Participant(PublicKey),
    /// An organisation registration.
    Organisation(String),
    /// A governance proposal by id.
    Proposal(String),
}

/// A family of records the state keeps: its key and record types, and where its records live in
/// [`Changes`] and in [`State`]. The views read every family through one generic method
/// ([`StateView::record`]); [`Changes`] merges them all alike.
pub trait Family {
    /// What a record is found by.
    type Key: Ord + Clone;
    /// The record.
    type Record: Clone;
    /// The family's writes in a set of changes.
    fn of_changes(c: &Changes) -> &BTreeMap<Self::Key, Self::Record>;
    /// The family's committed records.
    fn of_state(s: &State) -> &BTreeMap<Self::Key, Self::Record>;
}

/// Declares the state's record families: one unit type each, its field in [`Changes`] and in
/// [`State`], its table in the store, and the merge of changes. A new family is one line here
/// (plus its record type and its rules).
macro_rules! families {
    ($( $(#[$doc:meta])* $family:ident, $field:ident: $key:ty => $record:ty, table $table:literal; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $family;

            impl Family for $family {
                type Key = $key;
                type Record = $record;
                fn of_changes(c: &Changes) -> &BTreeMap<$key, $record> {
                    &c.$field
                }
                fn of_state(s: &State) -> &BTreeMap<$key, $record> {
                    &s.$field
                }
            }
        )*

        /// Writes made by one transaction (or, merged, by a block), by family.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Changes {
            $(
                $(#[$doc])*
                pub $field: BTreeMap<$key, $record>,
            )*
        }

        impl Changes {
            /// The store table of each family: (field name, key prefix), one per family.
            pub const TABLES: &'static [(&'static str, &'static [u8])] = &[
                $( (stringify!($field), $table), )*
            ];

            /// Folds later changes over these.
            pub fn merge(&mut self, later: Changes) {
                $( self.$field.extend(later.$field); )*
            }

            /// Whether nothing is written.
            pub fn is_empty(&self) -> bool {
                true $( && self.$field.is_empty() )*
            }

            /// Every record in its canonical encoding: (table, key, record).
            pub fn encoded_records(&self) -> Vec<(&'static [u8], Vec<u8>, Vec<u8>)> {
                let mut out = Vec::new();
                $(
                    for (k, v) in &self.$field {
                        out.push(($table as &'static [u8], codec::encode(k), codec::encode(v)));
                    }
                )*
                out
            }

            /// The state tree's leaves these changes write: (leaf key, leaf value).
            pub fn leaves(&self) -> Vec<(Hash, Hash)> {
                leaves_of(self.encoded_records())
            }

            /// Adds one record read back from `table` (keys and records decoded with `limit`).
            pub fn insert_encoded(
                &mut self,
                table: &[u8],
                key: &[u8],
                record: &[u8],
                limit: usize,
            ) -> Result<(), CodecError> {
                $(
                    if table == $table {
                        self.$field
                            .insert(codec::decode(key, limit)?, codec::decode(record, limit)?);
                        return Ok(());
                    }
                )*
                Err(CodecError::Malformed(format!(
                    "no record family has the table {:?}",
                    String::from_utf8_lossy(table)
                )))
            }
        }

        impl State {
            /// Every committed record's leaf in the state tree: (leaf key, leaf value).
            pub fn leaves(&self) -> Vec<(Hash, Hash)> {
                let mut out = Vec::new();
                $(
                    for (k, v) in &self.$field {
                        out.push((
                            state_tree::leaf_key($table, &codec::encode(k)),
                            state_tree::leaf_value(&codec::encode(v)),
                        ));
                    }
                )*
                out
            }
        }
    };
}

fn leaves_of(records: Vec<(&'static [u8], Vec<u8>, Vec<u8>)>) -> Vec<(Hash, Hash)> {
    records
        .into_iter()
        .map(|(t, k, v)| (state_tree::leaf_key(t, &k), state_tree::leaf_value(&v)))
        .collect()
}

/// The table and canonical key of a document's record in the state (and so in the state tree).
pub fn record_location(document: &DocumentKey) -> (&'static [u8], Vec<u8>) {
    match document {
        DocumentKey::TransportDocument(r) => (b"s/t/", codec::encode(r)),
        DocumentKey::Credit(n) => (b"s/l/", codec::encode(n)),
        DocumentKey::Declaration(n) => (b"s/d/", codec::encode(n)),
        DocumentKey::Anchor(h) => (b"s/a/", codec::encode(h)),
        DocumentKey::Participant(k) => (b"s/m/", codec::encode(k)),
        DocumentKey::Organisation(o) => (b"s/o/", codec::encode(o)),
        DocumentKey::Proposal(id) => (b"s/g/", codec::encode(id)),
    }
}

/// The table and canonical key of a document's history head.
pub fn head_location(document: &DocumentKey) -> (&'static [u8], Vec<u8>) {
    (b"s/h/", codec::encode(document))
}

/// The head of a document's history, kept in the state so that the state commitment covers the
/// whole history: how many transactions touched the document, a hash chain over them in chain
/// order, and the height of the last one. A proof that leaves out one of the document's
/// transactions, or adds one, does not reproduce the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryHead {
    /// Transactions in the history.
    pub count: u64,
    /// `SHA-256(tag || previous chain || tx hash)` over them, zero before the first.
    pub chain: Hash,
    /// Height of the last one.
    pub height: u64,
}

impl Default for HistoryHead {
    fn default() -> Self {
        HistoryHead {
            count: 0,
            chain: Hash::ZERO,
            height: 0,
        }
    }
}

impl HistoryHead {
    /// The head after one more transaction.
    pub fn then(&self, tx_hash: &Hash, height: u64) -> HistoryHead {
        HistoryHead {
            count: self.count + 1,
            chain: Hash::of_parts(&[
                b"portledger/history",
                self.chain.as_bytes(),
                tx_hash.as_bytes(),
            ]),
            height,
        }
    }
}

families! {
    /// Organisations: name -> role.
    Organisations, organisations: String => Role, table b"s/o/";
    /// Participants: key -> membership.
    Participants, participants: PublicKey => Member, table b"s/m/";
    /// Each signer's last nonce.
    Nonces, nonces: PublicKey => u64, table b"s/n/";
    /// Transport documents by reference.
    TransportDocuments, transport_documents: String => TransportDocument, table b"s/t/";
    /// Letters of credit by number.
    Credits, credits: String => LetterOfCredit, table b"s/l/";
    /// Customs declarations by number.
    Declarations, declarations: String => CustomsDeclaration, table b"s/d/";
    /// Anchored documents by hash.
    Anchors, anchors: Hash => AnchoredDocument, table b"s/a/";
    /// The latest tracking event by (transport document reference, container).
    Positions, positions: (String, String) => ContainerPosition, table b"s/k/";
    /// The head of each document's history.
    Heads, heads: DocumentKey => HistoryHead, table b"s/h/";
    /// The party directory: each claimed DCSA party code or name -> its participant.
    PartyIds, party_ids: PartyId => PublicKey, table b"s/y/";
    /// Each organisation's node key: the key its node connects under and, for a validator,
    /// signs consensus messages with.
    NodeKeys, node_keys: String => PublicKey, table b"s/q/";
    /// The validator set by the first height it governs (genesis's at height 1).
    ValidatorSets, validator_sets: u64 => ValidatorSet, table b"s/v/";
    /// The consensus parameters by the first height they govern (genesis's at height 1).
    ParamSets, param_sets: u64 => ConsensusParams, table b"s/c/";
    /// Governance proposals by id.
    Proposals, proposals: String => Proposal, table b"s/g/";
}

/// What the state machine reads.
pub trait StateView {
    /// The chain id.
    fn chain_id(&self) -> &str;
    /// The customs auditor's key of genesis, if it names one.
    fn customs_auditor(&self) -> Option<crate::sealed::EncryptionKey>;
    /// A record of a family, by key (or anything the key borrows as, such as `&str`).
    fn record<F: Family, Q>(&self, key: &Q) -> Option<F::Record>
    where
        F::Key: Borrow<Q>,
        Q: Ord + ?Sized;
    /// The record of a height-keyed family in force at `height`: the one with the greatest key
    /// at most `height`, with its key.
    fn latest<F: Family<Key = u64>>(&self, height: u64) -> Option<(u64, F::Record)>;
    /// The key registered under an alias.
    fn alias(&self, alias: &str) -> Option<PublicKey>;
    /// The organisation whose node key `key` is.
    fn node_key_owner(&self, key: &PublicKey) -> Option<String>;
    /// Declarations naming a transport document.
    fn declarations_for(&self, reference: &str) -> Vec<CustomsDeclaration>;
    /// The references of the live transport documents holding a container
    /// ([`TransportDocument::holds_live`]), in order.
    fn live_documents_on(&self, container: &str) -> Vec<String>;

    /// An organisation's role.
    fn organisation_role(&self, name: &str) -> Option<Role> {
        self.record::<Organisations, str>(name)
    }
    /// The validator set in force at `height` (empty before genesis's).
    fn validators_at(&self, height: u64) -> ValidatorSet {
        self.latest::<ValidatorSets>(height)
            .map(|(_, s)| s)
            .unwrap_or_else(|| ValidatorSet::new(Vec::new()))
    }
    /// The consensus parameters in force at `height`.
    fn params_at(&self, height: u64) -> ConsensusParams {
        self.latest::<ParamSets>(height)
            .map(|(_, p)| p)
            .unwrap_or_default()
    }
    /// A participant by key.
    fn member(&self, key: &PublicKey) -> Option<Member> {
        self.record::<Participants, _>(key)
    }
    /// The last nonce used by a signer (0 if none).
    fn nonce(&self, key: &PublicKey) -> u64 {
        self.record::<Nonces, _>(key).unwrap_or(0)
    }
    /// A transport document.
    fn transport_document(&self, reference: &str) -> Option<TransportDocument> {
        self.record::<TransportDocuments, str>(reference)
    }
    /// A letter of credit.
    fn credit(&self, number: &str) -> Option<LetterOfCredit> {
        self.record::<Credits, str>(number)
    }
    /// A customs declaration.
    fn declaration(&self, number: &str) -> Option<CustomsDeclaration> {
        self.record::<Declarations, str>(number)
    }
    /// An anchored document.
    fn anchor(&self, hash: &Hash) -> Option<AnchoredDocument> {
        self.record::<Anchors, _>(hash)
    }
    /// The latest tracking event of a container on a transport document.
    fn container_position(&self, reference: &str, container: &str) -> Option<ContainerPosition> {
        self.record::<Positions, _>(&(reference.to_string(), container.to_string()))
    }
}

/// The committed state, held in memory and persisted by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The chain id.
    pub chain_id: String,
    /// The customs auditor's key of genesis.
    pub customs_auditor: Option<crate::sealed::EncryptionKey>,
    /// Organisations by name.
    pub organisations: BTreeMap<String, Role>,
    /// Participants by key.
    pub participants: BTreeMap<PublicKey, Member>,
    /// Alias -> key.
    pub aliases: BTreeMap<String, PublicKey>,
    /// Last nonce per signer.
    pub nonces: BTreeMap<PublicKey, u64>,
    /// Transport documents by reference.
    pub transport_documents: BTreeMap<String, TransportDocument>,
    /// Credits by number.
    pub credits: BTreeMap<String, LetterOfCredit>,
    /// Declarations by number.
    pub declarations: BTreeMap<String, CustomsDeclaration>,
    /// Transport document reference -> declaration numbers.
    pub declarations_by_document: BTreeMap<String, Vec<String>>,
    /// Anchored documents by hash.
    pub anchors: BTreeMap<Hash, AnchoredDocument>,
    /// Latest tracking event by (transport document reference, container).
    pub positions: BTreeMap<(String, String), ContainerPosition>,
    /// Container -> references of the live transport documents holding it.
    pub live_by_container: BTreeMap<String, BTreeSet<String>>,
    /// The head of each document's history.
    pub heads: BTreeMap<DocumentKey, HistoryHead>,
    /// The party directory: claimed DCSA party codes and names -> participant.
    pub party_ids: BTreeMap<PartyId, PublicKey>,
    /// Organisation -> node key.
    pub node_keys: BTreeMap<String, PublicKey>,
    /// Validator sets by the first height they govern.
    pub validator_sets: BTreeMap<u64, ValidatorSet>,
    /// Consensus parameters by the first height they govern.
    pub param_sets: BTreeMap<u64, ConsensusParams>,
    /// Governance proposals by id.
    pub proposals: BTreeMap<String, Proposal>,
}

impl State {
    /// The state at genesis: its organisations and participants.
    pub fn from_genesis(genesis: &Genesis) -> State {
        let mut s = State {
            chain_id: genesis.chain_id.clone(),
            customs_auditor: genesis.customs_auditor,
            ..State::default()
        };
        let mut c = Changes::default();
        for o in &genesis.organisations {
            c.organisations.insert(o.name.clone(), o.role);
        }
        for (key, member) in genesis.participant_roles() {
            c.participants.insert(key, member);
        }
        for o in &genesis.organisations {
            if let Some(k) = o.validator_key {
                c.node_keys.insert(o.name.clone(), k);
            }
        }
        c.validator_sets.insert(1, genesis.validator_set());
        c.param_sets.insert(1, genesis.consensus.clone());
        s.apply(&c);
        s
    }

    /// Writes changes into the state.
    pub fn apply(&mut self, c: &Changes) {
        for (k, v) in &c.organisations {
            self.organisations.insert(k.clone(), *v);
        }
        for (k, v) in &c.participants {
            self.aliases.insert(v.alias.clone(), *k);
            self.participants.insert(*k, v.clone());
        }
        for (k, v) in &c.nonces {
            self.nonces.insert(*k, *v);
        }
        for (k, v) in &c.transport_documents {
            for e in &v.data.equipment {
                let holders = self
                    .live_by_container
                    .entry(e.container.clone())
                    .or_default();
                if v.holds_live(&e.container) {
                    holders.insert(k.clone());
                } else {
                    holders.remove(k);
                    if holders.is_empty() {
                        self.live_by_container.remove(&e.container);
                    }
                }
            }
            self.transport_documents.insert(k.clone(), v.clone());
        }
        for (k, v) in &c.credits {
            self.credits.insert(k.clone(), v.clone());
        }
        for (k, v) in &c.declarations {
            let list = self
                .declarations_by_document
                .entry(v.data.transport_document.clone())
                .or_default();
            if !list.contains(k) {
                list.push(k.clone());
            }
            self.declarations.insert(k.clone(), v.clone());
        }
        for (k, v) in &c.anchors {
            self.anchors.insert(*k, v.clone());
        }
        for (k, v) in &c.positions {
            self.positions.insert(k.clone(), v.clone());
        }
        for (k, v) in &c.heads {
            self.heads.insert(k.clone(), *v);
        }
        for (k, v) in &c.party_ids {
            self.party_ids.insert(k.clone(), *v);
        }
        for (k, v) in &c.node_keys {
            self.node_keys.insert(k.clone(), *v);
        }
        for (k, v) in &c.validator_sets {
            self.validator_sets.insert(*k, v.clone());
        }
        for (k, v) in &c.param_sets {
            self.param_sets.insert(*k, v.clone());
        }
        for (k, v) in &c.proposals {
            self.proposals.insert(k.clone(), v.clone());
        }
    }
}

impl StateView for State {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }
    fn customs_auditor(&self) -> Option<crate::sealed::EncryptionKey> {
        self.customs_auditor
    }
    fn record<F: Family, Q>(&self, key: &Q) -> Option<F::Record>
    where
        F::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        F::of_state(self).get(key).cloned()
    }
    fn latest<F: Family<Key = u64>>(&self, height: u64) -> Option<(u64, F::Record)> {
        F::of_state(self)
            .range(..=height)
            .next_back()
            .map(|(k, v)| (*k, v.clone()))
    }
    fn alias(&self, alias: &str) -> Option<PublicKey> {
        self.aliases.get(alias).copied()
    }
    fn node_key_owner(&self, key: &PublicKey) -> Option<String> {
        self.node_keys
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(o, _)| o.clone())
    }
    fn declarations_for(&self, reference: &str) -> Vec<CustomsDeclaration> {
        self.declarations_by_document
            .get(reference)
            .map(|numbers| {
                numbers
                    .iter()
                    .filter_map(|n| self.declarations.get(n).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn live_documents_on(&self, container: &str) -> Vec<String> {
        self.live_by_container
            .get(container)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The committed state with pending changes on top: what a transaction sees while a block is
/// being built or checked.
#[derive(Debug)]
pub struct Overlay<'a> {
    base: &'a State,
    pending: Pending,
}

/// Changes not yet committed, indexed the way the rules read them.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    changes: Changes,
    /// Container -> references of pending transport documents that list it (live or not).
    by_container: BTreeMap<String, BTreeSet<String>>,
}

impl Pending {
    /// Folds a transaction's changes over these.
    pub fn merge(&mut self, later: Changes) {
        for (reference, doc) in &later.transport_documents {
            for e in &doc.data.equipment {
                self.by_container
                    .entry(e.container.clone())
                    .or_default()
                    .insert(reference.clone());
            }
        }
        self.changes.merge(later);
    }

    /// The changes.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The changes, taken.
    pub fn into_changes(self) -> Changes {
        self.changes
    }
}

impl<'a> Overlay<'a> {
    /// An overlay with no changes.
    pub fn new(base: &'a State) -> Overlay<'a> {
        Overlay::with_pending(base, Pending::default())
    }

    /// An overlay over changes made earlier (a mempool's pending transactions).
    pub fn with_pending(base: &'a State, pending: Pending) -> Overlay<'a> {
        Overlay { base, pending }
    }

    /// Folds a transaction's changes over the pending ones.
    pub fn merge(&mut self, later: Changes) {
        self.pending.merge(later);
    }

    /// The pending changes with their index, taken.
    pub fn into_pending(self) -> Pending {
        self.pending
    }

    /// The changes so far, taken.
    pub fn into_changes(self) -> Changes {
        self.pending.changes
    }
}

impl StateView for Overlay<'_> {
    fn chain_id(&self) -> &str {
        &self.base.chain_id
    }
    fn customs_auditor(&self) -> Option<crate::sealed::EncryptionKey> {
        self.base.customs_auditor
    }
    fn record<F: Family, Q>(&self, key: &Q) -> Option<F::Record>
    where
        F::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        F::of_changes(&self.pending.changes)
            .get(key)
            .cloned()
            .or_else(|| self.base.record::<F, Q>(key))
    }
    fn latest<F: Family<Key = u64>>(&self, height: u64) -> Option<(u64, F::Record)> {
        let pending = F::of_changes(&self.pending.changes)
            .range(..=height)
            .next_back()
            .map(|(k, v)| (*k, v.clone()));
        match (pending, self.base.latest::<F>(height)) {
            (Some(p), Some(b)) => Some(if p.0 >= b.0 { p } else { b }),
            (p, b) => p.or(b),
        }
    }
    fn alias(&self, alias: &str) -> Option<PublicKey> {
        self.pending
            .changes
            .participants
            .iter()
            .find(|(_, m)| m.alias == alias)
            .map(|(k, _)| *k)
            .or_else(|| self.base.alias(alias))
    }
    fn node_key_owner(&self, key: &PublicKey) -> Option<String> {
        let pending = &self.pending.changes.node_keys;
        pending
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(o, _)| o.clone())
            .or_else(|| {
                self.base
                    .node_key_owner(key)
                    .filter(|o| !pending.contains_key(o))
            })
    }
    fn declarations_for(&self, reference: &str) -> Vec<CustomsDeclaration> {
        let mut out: BTreeMap<String, CustomsDeclaration> = self
            .base
            .declarations_for(reference)
            .into_iter()
            .map(|d| (d.data.number.clone(), d))
            .collect();
        for (n, d) in &self.pending.changes.declarations {
            if d.data.transport_document == reference {
                out.insert(n.clone(), d.clone());
            }
        }
        out.into_values().collect()
    }
    fn live_documents_on(&self, container: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .base
            .live_documents_on(container)
            .into_iter()
            .filter(|r| !self.pending.changes.transport_documents.contains_key(r))
            .collect();
        for r in self
            .pending
            .by_container
            .get(container)
            .into_iter()
            .flatten()
        {
            if self
                .pending
                .changes
                .transport_documents
                .get(r)
                .is_some_and(|d| d.holds_live(container))
            {
                out.insert(r.clone());
            }
        }
        out.into_iter().collect()
    }
}
