//! End-to-end tests of portledger: real node processes driven over their HTTP API (and the real
//! client). This library is the harness: it writes a testnet with the real `portledger-node
//! testnet`, starts each node as its own process on loopback ports, waits for readiness through
//! `/v1/status`, can SIGKILL, SIGTERM, restart and wipe a node, and always kills its processes
//! when dropped (also when a test fails or panics). [`Cluster::check_consistency`] checks that
//! the nodes' chains are prefixes of one another and that every certificate verifies.
#![forbid(unsafe_code)]

pub mod cli;
pub mod cluster;
pub mod consistency;
pub mod load;
pub mod netns;

pub use cluster::Cluster;
