//! The portledger validator node: libp2p gossip and sync, mempool, consensus driver, HTTP API
//! and metrics.
#![forbid(unsafe_code)]

pub mod api;
pub mod bench;
pub mod config;
pub mod consortium;
pub mod driver;
pub mod gossip_intake;
pub mod membership;
pub mod mempool;
pub mod messages;
pub mod metrics;
pub mod network;
pub mod node;
pub mod shared;
pub mod submission;
pub mod testnet;
