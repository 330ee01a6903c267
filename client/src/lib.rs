//! The portledger client: builds and signs transactions locally and talks to any node's HTTP
//! API.
//!
//! So far it holds the `portledger` binary's key generation; the commands of `interface.md`
//! arrive with issue 5.
#![forbid(unsafe_code)]
