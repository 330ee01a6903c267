//! Configuration of the network task.

use std::net::SocketAddr;
use std::time::Duration;

use portledger_ledger::PublicKey;

/// How the network task listens, whom it dials and whom it admits.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Chain id; part of every gossip topic name, so chains never mix.
    pub chain_id: String,
    /// TCP address to listen on, e.g. `127.0.0.1:7000` (port 0: any free port).
    pub listen: SocketAddr,
    /// Static address book: the other nodes and where to dial them (IP literals or DNS names,
    /// resolved at each dial). Our own key is skipped.
    pub peers: Vec<(PublicKey, super::PeerAddr)>,
    /// Node keys from genesis; only these may connect (our own key may be in it).
    pub allowed: Vec<PublicKey>,
    /// Gossipsub `max_transmit_size`, the limit on a whole gossip RPC; must be the same on all
    /// nodes. A published message may hold [`NetworkConfig::max_payload_bytes`] of data.
    pub max_message_bytes: usize,
    /// How often disconnected peers from the address book are dialled again.
    pub redial_interval: Duration,
    /// Gossipsub heartbeat (shorten it in tests).
    pub gossip_heartbeat: Duration,
}

impl NetworkConfig {
    /// Default gossip size limit: 10 MiB.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
    /// Default redial interval: 1 s.
    pub const DEFAULT_REDIAL_INTERVAL: Duration = Duration::from_secs(1);
    /// Default gossipsub heartbeat: 1 s (the gossipsub default).
    pub const DEFAULT_GOSSIP_HEARTBEAT: Duration = Duration::from_secs(1);

    /// Room kept in each gossip RPC for the envelope around the data: publisher id, sequence
    /// number, signature, key and protobuf framing (under 300 bytes), plus the topic name.
    pub const GOSSIP_ENVELOPE_BYTES: usize = 1024;

    /// The largest message `publish` accepts on a topic: `max_message_bytes` less the envelope
    /// (the fixed [`Self::GOSSIP_ENVELOPE_BYTES`] and the topic's name).
    pub fn max_payload_bytes(&self, topic: super::Topic) -> usize {
        self.max_message_bytes
            .saturating_sub(Self::GOSSIP_ENVELOPE_BYTES + topic.name(&self.chain_id).len())
    }

    /// A configuration with no peers, no allowed keys and the default limits and timers.
    pub fn new(chain_id: impl Into<String>, listen: SocketAddr) -> Self {
        NetworkConfig {
            chain_id: chain_id.into(),
            listen,
            peers: Vec::new(),
            allowed: Vec::new(),
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            redial_interval: Self::DEFAULT_REDIAL_INTERVAL,
            gossip_heartbeat: Self::DEFAULT_GOSSIP_HEARTBEAT,
        }
    }
}
