//! The commands of the `portledger` binary, one module per family. Each module holds the clap
//! definition of its subcommands and the handler that runs them; `main.rs` holds the top-level
//! parser and dispatches here.
//!
//! - [`context`]: the context every handler gets ([`context::Ctx`]: sign, submit, wait, print)
//!   and the helpers that turn bad input into usage errors.
//! - [`bl`]: transport documents, plus freight, delivery orders and port release.
//! - [`case`]: the case of a transport document, the customs queue.
//! - [`lc`]: letters of credit.
//! - [`customs`]: customs declarations.
//! - [`track`]: shipment tracking events.
//! - [`doc`]: anchored commercial documents.
//! - [`participant`]: onboarding and revoking an organisation's participants.
//! - [`gov`]: governance proposals and votes, the validator sets.
//! - [`party`]: the party directory (DCSA party codes and names).
//! - [`chain`]: status, blocks, transactions, chain verification, events, proofs.
//! - [`keygen`]: key files.
//! - [`load`]: the load generator.

pub mod bl;
pub mod case;
pub mod chain;
pub mod context;
pub mod customs;
pub mod doc;
pub mod gov;
pub mod keygen;
pub mod lc;
pub mod load;
pub mod participant;
pub mod party;
pub mod track;
