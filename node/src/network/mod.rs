//! The node's peer-to-peer network: one tokio task owns the libp2p `Swarm` (tcp + noise +
//! yamux), the rest of the node talks to it through a cloneable [`NetworkHandle`] and receives
//! [`NetworkEvent`]s on a channel.
//!
//! - Identity: the node's ed25519 ledger key is its libp2p identity ([`peer_id`],
//!   [`public_key`]).
//! - Admission: only the keys in [`NetworkConfig::allowed`] may connect (allow list plus
//!   connection limits); strangers are refused after the Noise handshake.
//! - Gossip: gossipsub topics for transactions, proposals and votes, content-addressed message
//!   ids, every message checked by the node's [`Validator`] before it is relayed.
//! - Sync: request-response protocol `/portledger/sync/1` serving blocks from a [`BlockSource`].

mod address;
mod behaviour;
mod config;
mod error;
mod event_loop;
mod handle;
mod identity;
mod outbox;
mod sync;
pub mod testing;
mod topic;

use std::sync::Arc;

pub use address::{Host, PeerAddr, PeerAddrError};
pub use config::NetworkConfig;
pub use error::NetworkError;
pub use handle::NetworkHandle;
pub use identity::{peer_id, public_key};
pub use sync::{BlockSource, SyncStatus, SyncedBlock, SYNC_PROTOCOL};
pub use topic::Topic;

use portledger_ledger::{Keypair, PublicKey};

/// The node's verdict on a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// Valid: deliver it to the node and relay it to other peers.
    Accept,
    /// Invalid (bad encoding or signature): drop it and penalise the peer that sent it.
    Reject,
    /// Not wanted (e.g. stale), but not the sender's fault: drop it without penalty.
    Ignore,
}

/// Called on the network task for each gossip message before it is relayed (cheap checks:
/// decode + signature). Must be fast; a panic counts as [`Acceptance::Reject`].
pub type Validator = Arc<dyn Fn(Topic, &[u8]) -> Acceptance + Send + Sync>;

/// What the network tells the rest of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkEvent {
    /// A gossip message the [`Validator`] accepted; each message is delivered once.
    Message {
        /// The topic it was published on.
        topic: Topic,
        /// The message bytes, as published.
        data: Vec<u8>,
        /// The node that published it (authenticated by gossipsub's signature), not the peer
        /// that relayed it.
        from: PublicKey,
    },
    /// The first connection to this peer was established.
    PeerConnected(PublicKey),
    /// The last connection to this peer was closed.
    PeerDisconnected(PublicKey),
    /// A peer's chain tip, learned on connect and every few seconds through the sync protocol.
    PeerStatus {
        /// The peer.
        peer: PublicKey,
        /// Its committed tip.
        status: SyncStatus,
    },
}

/// Starts the network task on the current tokio runtime.
///
/// The listener is bound before this returns (an address in use is an error here);
/// [`NetworkHandle::listen_addr`] gives the bound address, which matters when the configured
/// port is 0. Known peers are dialled at once and then every `redial_interval` while
/// disconnected. Must be called from within a tokio runtime.
pub fn spawn(
    key: &Keypair,
    config: NetworkConfig,
    validator: Validator,
    source: Arc<dyn BlockSource>,
) -> Result<(NetworkHandle, tokio::sync::mpsc::Receiver<NetworkEvent>), NetworkError> {
    event_loop::spawn(key, config, validator, source)
}
