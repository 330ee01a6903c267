//! The portledger validator node: libp2p gossip and sync, mempool, consensus driver, HTTP API
//! and metrics.
//!
//! So far it holds the `portledger-node` binary's key generation; the network, driver and API
//! arrive with issue 4.
#![forbid(unsafe_code)]
pub mod network;
