//! The portledger validator node: libp2p gossip and sync, mempool, consensus driver, HTTP API
//! and metrics.
#![forbid(unsafe_code)]

pub mod config;
pub mod mempool;
pub mod testnet;
