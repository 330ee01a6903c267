//! What is true on the portledger ledger: trade documents as deterministic state machines,
//! blocks, commit certificates, proofs and the store.
#![forbid(unsafe_code)]

pub mod access;
pub mod block;
pub mod case;
pub mod certificate;
pub mod chain;
pub mod codec;
pub mod crypto;
pub mod date;
pub mod demo;
pub mod documents;
pub mod error;
pub mod genesis;
pub mod governance;
pub mod history;
pub mod keyfile;
pub mod merkle;
pub mod proof;
pub mod rules;
pub mod sealed;
pub mod signed_read;
pub mod state;
pub mod state_tree;
pub mod store;
pub mod transaction;
pub mod vote;
pub mod workload;

pub use block::{Block, BlockHeader};
pub use certificate::{CertificateError, CommitCertificate, CommitSignature};
pub use chain::{BlockError, Chain, Execution};
pub use crypto::{Domain, Hash, Keypair, PublicKey, Signature};
pub use error::RuleError;
pub use genesis::{Genesis, Role, ValidatorSet};
pub use history::{HistoryEntry, TxLocation};
pub use rules::{apply, apply_verified, BlockContext, Effects};
pub use state::{Changes, DocumentKey, Overlay, Pending, State, StateView};
#[cfg(feature = "sled")]
pub use store::SledStore;
pub use store::{MemStore, Store, StoreError, Tip};
pub use transaction::{Payload, Transaction, TransactionBody};
pub use vote::{Vote, VoteBody, VoteKind};
