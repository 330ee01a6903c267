//! What is true on the portledger ledger: trade documents as deterministic state machines,
//! blocks, commit certificates, proofs and the store.
#![forbid(unsafe_code)]

pub mod certificate;
pub mod codec;
pub mod crypto;
pub mod genesis;
pub mod keyfile;
pub mod vote;

pub use certificate::{CertificateError, CommitCertificate, CommitSignature};
pub use crypto::{Domain, Hash, Keypair, PublicKey, Signature};
pub use genesis::{Genesis, Role, ValidatorSet};
pub use vote::{Vote, VoteBody, VoteKind};
