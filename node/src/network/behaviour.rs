//! The composed libp2p behaviour: admission (allow list, connection limits), gossip, sync, ping.

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, connection_limits, gossipsub, identity, ping, request_response,
    StreamProtocol,
};

use super::sync::{
    SyncRequest, SyncResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, SYNC_PROTOCOL,
};
use super::topic::ChainTopics;
use super::{NetworkConfig, NetworkError};
use libp2p::PeerId;

/// Most established connections per peer (two when both sides dial at once).
const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Most connections in the handshake at once, either way.
const MAX_PENDING_CONNECTIONS: u32 = 32;
/// A sync request not answered within this time fails.
pub(crate) const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Gossipsub mesh sizes for a consortium of a handful of nodes (see `gossip_config`).
const MESH_N_LOW: usize = 2;
const MESH_N: usize = 4;
const MESH_N_HIGH: usize = 8;
const MESH_OUTBOUND_MIN: usize = 1;
const GOSSIP_LAZY: usize = 4;

/// Everything the swarm runs, in the order connections are checked: the allow list first.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) gossipsub:
        gossipsub::Behaviour<gossipsub::IdentityTransform, gossipsub::WhitelistSubscriptionFilter>,
    pub(crate) block_sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
    pub(crate) ping: ping::Behaviour,
}

impl Behaviour {
    pub(crate) fn new(
        key: &identity::Keypair,
        config: &NetworkConfig,
        allowed: impl IntoIterator<Item = PeerId>,
    ) -> Result<Self, NetworkError> {
        let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
        for peer in allowed {
            allow.allow_peer(peer);
        }

        let limits = connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_pending_incoming(Some(MAX_PENDING_CONNECTIONS))
                .with_max_pending_outgoing(Some(MAX_PENDING_CONNECTIONS)),
        );

        // Peers' subscriptions to any other topic are ignored: they cannot grow our state.
        let our_topics = ChainTopics::new(&config.chain_id)
            .all()
            .map(|t| t.hash())
            .collect();
        let gossipsub = gossipsub::Behaviour::new_with_subscription_filter(
            gossipsub::MessageAuthenticity::Signed(key.clone()),
            gossip_config(config)?,
            gossipsub::WhitelistSubscriptionFilter(our_topics),
        )
        .map_err(|e| NetworkError::Setup(format!("gossipsub: {e}")))?;

        let codec = request_response::cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
            .set_request_size_maximum(MAX_REQUEST_BYTES)
            .set_response_size_maximum(MAX_RESPONSE_BYTES);
        let sync = request_response::Behaviour::with_codec(
            codec,
            [(
                StreamProtocol::new(SYNC_PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_response::Config::default().with_request_timeout(SYNC_REQUEST_TIMEOUT),
        );

        Ok(Behaviour {
            allowed: allow,
            limits,
            gossipsub,
            block_sync: sync,
            ping: ping::Behaviour::new(ping::Config::new()),
        })
    }
}

/// Gossipsub for a small permissioned network.
///
/// - Message id = SHA-256 of the data, so the same bytes relayed by several nodes (or published
///   by two) are one message.
/// - Strict validation of publisher signatures, and every message held until the node's
///   validator has given its verdict.
/// - Mesh 2/4/8 with at least 1 outbound: with 4 validators each node has 3 peers, which the
///   defaults (5/6/12, outbound 2) would count as too few forever.
/// - Self-origin messages allowed (a second process with this node's key is detected).
/// - `max_transmit_size` and the heartbeat from the config; first heartbeat after one interval.
fn gossip_config(config: &NetworkConfig) -> Result<gossipsub::Config, NetworkError> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        // A message published under this node's own identity that it did not publish is how a
        // second process running the same key shows itself: deliver it (the consensus engine
        // stops signing) instead of dropping it and penalising the honest peer that relayed it.
        // This node's own messages never come back: they are in its duplicate cache.
        .allow_self_origin(true)
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(portledger_ledger::Hash::of(&message.data).0.to_vec())
        })
        .max_transmit_size(config.max_message_bytes)
        .heartbeat_interval(config.gossip_heartbeat)
        .heartbeat_initial_delay(config.gossip_heartbeat)
        .mesh_outbound_min(MESH_OUTBOUND_MIN)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n(MESH_N)
        .mesh_n_high(MESH_N_HIGH)
        .gossip_lazy(GOSSIP_LAZY)
        .build()
        .map_err(|e| NetworkError::Setup(format!("gossipsub configuration: {e}")))
}
