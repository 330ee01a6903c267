//! What is true on the portledger ledger: trade documents as deterministic state machines,
//! blocks, commit certificates, proofs and the store.
#![forbid(unsafe_code)]

pub mod certificate;
pub mod codec;
pub mod crypto;
pub mod date;
pub mod documents;
pub mod error;
pub mod genesis;
pub mod keyfile;
pub mod rules;
pub mod state;
pub mod transaction;
pub mod vote;

pub use certificate::{CertificateError, CommitCertificate, CommitSignature};
pub use crypto::{Domain, Hash, Keypair, PublicKey, Signature};
pub use error::RuleError;
pub use genesis::{Genesis, Role, ValidatorSet};
pub use rules::{apply, apply_verified, BlockContext, Effects};
pub use state::{Changes, DocumentKey, Overlay, State, StateView};
pub use transaction::{Payload, Transaction, TransactionBody};
pub use vote::{Vote, VoteBody, VoteKind};
