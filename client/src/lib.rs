//! The portledger client: builds and signs transactions locally and talks to any node's HTTP
//! API.
//!
//! - [`api`]: the node's HTTP API (submit, wait for commitment, read).
//! - [`parties`]: parties by alias or public key.
//! - [`inputs`]: the native JSON input forms (`lc apply`, `customs declare`, transport documents).
//! - [`money`]: decimal amounts in minor units of a currency, parsed and formatted.
//! - [`case`]: human output of `portledger case`, `customs queue` and `bl declarations`.
//! - [`canonical_json`]: canonical JSON and the SHA-256 a JSON input's document hash pins.
//! - [`dcsa`]: DCSA eBL 3.0 transport documents mapped to the ledger's fields.
//! - [`load`]: the fixed-rate load generator of `portledger load`.
//! - [`output`]: human output of the `portledger` binary.
//! - [`tracking`]: shipment tracking: event times, the `track show` timeline, `track follow` lines.
//! - [`verify`]: `verify-chain` and self-contained document proofs.
#![forbid(unsafe_code)]

pub mod api;
pub mod canonical_json;
pub mod case;
pub mod dcsa;
pub mod error;
pub mod inputs;
pub mod load;
pub mod money;
pub mod output;
pub mod parties;
pub mod reveal;
pub mod tracking;
pub mod verify;

pub use api::NodeClient;
pub use error::ClientError;
pub use parties::Directory;
