//! Errors of the network task and its handle.

use portledger_ledger::PublicKey;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The 32 bytes are not a valid ed25519 public key.
    #[error("invalid ed25519 public key {key}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: PublicKey,
        /// What the decoder said.
        reason: String,
    },
    /// A peer id that does not embed an ed25519 public key (every portledger node's does).
    #[error("peer id {0} does not embed an ed25519 public key")]
    NotEd25519PeerId(String),
    /// The libp2p identity could not be made from the ledger key.
    #[error("the ledger key is not a usable libp2p ed25519 identity: {0}")]
    Identity(String),
    /// The transport (tcp + noise + yamux) or a behaviour could not be built.
    #[error("could not build the libp2p swarm: {0}")]
    Setup(String),
    /// The listener could not be bound.
    #[error("could not listen on {addr}: {reason}")]
    Listen {
        /// The configured listen address.
        addr: std::net::SocketAddr,
        /// What the transport said.
        reason: String,
    },
    /// [`spawn`](super::spawn) was called outside a tokio runtime.
    #[error("the network must be spawned from within a tokio runtime")]
    NoRuntime,
    /// The network task has stopped (shut down, or the handle outlived it).
    #[error("the network task has stopped")]
    Stopped,
    /// The message does not fit in a gossip RPC of `max_message_bytes`.
    #[error("message of {len} bytes is larger than the gossip limit of {limit} bytes")]
    MessageTooLarge {
        /// Length of the message.
        len: usize,
        /// `NetworkConfig::max_payload_bytes` for its topic.
        limit: usize,
    },
    /// Gossipsub refused to publish for another reason (e.g. signing failed).
    #[error("publish failed: {0}")]
    Publish(String),
    /// A sync request to a peer that is not connected.
    #[error("peer {0} is not connected")]
    NotConnected(PublicKey),
    /// A sync request to a peer that already has the maximum of requests in flight.
    #[error("peer {peer} already has {limit} sync requests in flight")]
    TooManyRequests {
        /// The peer.
        peer: PublicKey,
        /// The per-peer limit.
        limit: usize,
    },
    /// The request failed on the way (timeout, connection closed, unsupported protocol, ...).
    #[error("sync request to {peer} failed: {reason}")]
    RequestFailed {
        /// The peer asked.
        peer: PublicKey,
        /// What went wrong.
        reason: String,
    },
    /// The peer answered with an error.
    #[error("peer {peer} refused the sync request: {message}")]
    Remote {
        /// The peer asked.
        peer: PublicKey,
        /// Its error message.
        message: String,
    },
    /// The peer's answer does not fit the request.
    #[error("peer {peer} answered a sync request with {found}, expected {expected}")]
    UnexpectedResponse {
        /// The peer asked.
        peer: PublicKey,
        /// What the request called for.
        expected: String,
        /// What came back.
        found: String,
    },
}
