//! The task that owns the swarm: swarm events, commands and timers in one `select!` loop.
//!
//! Gossip (publish, outbox, validation) and sync requests (both ways) are in the submodules;
//! all of them work on the one [`EventLoop`].

mod gossip;
mod requests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::{Multiaddr, Protocol};
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, ping, tcp, yamux, PeerId, Swarm, SwarmBuilder};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{interval, Interval, MissedTickBehavior};
use tracing::{debug, info, trace, warn, Instrument};

use portledger_ledger::{Keypair, PublicKey};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::handle::{Command, NetworkHandle};
use super::identity::{libp2p_keypair, peer_id, public_key};
use super::outbox::Outbox;
use super::sync::{SyncRequest, SyncResponse};
use super::topic::ChainTopics;
use super::{BlockSource, NetworkConfig, NetworkError, NetworkEvent, Topic, Validator};

/// Connections idle this long are closed (libp2p's default of 10 s would drop quiet peers).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);
/// How often each connected peer is asked for its status.
const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// How often the outbox is retried (besides on every new subscription).
const OUTBOX_RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Capacity of the command channel.
const COMMAND_CAPACITY: usize = 256;
/// Capacity of the event channel; when the node falls this far behind, events are dropped.
const EVENT_CAPACITY: usize = 4096;

pub(crate) fn spawn(
    key: &Keypair,
    config: NetworkConfig,
    validator: Validator,
    source: Arc<dyn BlockSource>,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetworkError::NoRuntime)?;
    let local_key = key.public();

    let mut allowed = HashSet::new();
    for key in &config.allowed {
        allowed.insert(peer_id(key)?);
    }
    let mut book = BTreeMap::new();
    for (key, addr) in &config.peers {
        if *key == local_key {
            continue;
        }
        let peer = peer_id(key)?;
        if !allowed.contains(&peer) {
            warn!(peer = %key, %addr, "address book entry is not an allowed key; connections to it will be refused");
        }
        book.insert(peer, addr.multiaddr());
    }

    let identity = libp2p_keypair(key)?;
    let behaviour = Behaviour::new(&identity, &config, allowed.iter().copied())?;
    // The tcp transport binds its socket in `listen_on`, which needs the runtime's context.
    let _guard = runtime.enter();
    let mut swarm = SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetworkError::Setup(format!("tcp/noise/yamux transport: {e}")))?
        // Peers may be host names: resolved at each dial with the system's resolver
        // configuration (/etc/resolv.conf and /etc/hosts).
        .with_dns()
        .map_err(|e| NetworkError::Setup(format!("DNS resolver configuration: {e}")))?
        .with_behaviour(|_| behaviour)
        .unwrap_or_else(|never| match never {})
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    let topics = ChainTopics::new(&config.chain_id);
    for topic in topics.all() {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| NetworkError::Setup(format!("subscribing to {topic}: {e}")))?;
    }
    swarm
        .listen_on(multiaddr(config.listen))
        .map_err(|e| NetworkError::Listen {
            addr: config.listen,
            reason: e.to_string(),
        })?;
    info!(
        peer = %local_key,
        listen = %config.listen,
        peers = book.len(),
        allowed = allowed.len(),
        chain = %config.chain_id,
        "network starting"
    );

    let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
    let event_loop = EventLoop {
        swarm,
        commands: command_rx,
        events: event_tx,
        validator,
        source,
        topics,
        allowed,
        book,
        max_payload: Topic::ALL.map(|t| (t, config.max_payload_bytes(t))),
        redial_interval: config.redial_interval,
        connected: BTreeMap::new(),
        listen_addrs: Vec::new(),
        listen_waiters: Vec::new(),
        listener_closed: false,
        pending: HashMap::new(),
        in_flight: HashMap::new(),
        status_in_flight: HashSet::new(),
        serving: JoinSet::new(),
        outbox: Outbox::default(),
    };
    runtime.spawn(
        async move {
            if let Some(ack) = event_loop.run().await {
                // The swarm is dropped by now: the listener is closed.
                let _ = ack.send(());
            }
        }
        .instrument(tracing::info_span!("network")),
    );
    Ok((NetworkHandle::new(command_tx), event_rx))
}

use requests::Pending;

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
    validator: Validator,
    source: Arc<dyn BlockSource>,
    topics: ChainTopics,
    allowed: HashSet<PeerId>,
    /// The address book, without ourselves.
    book: BTreeMap<PeerId, Multiaddr>,
    /// The largest message accepted for each topic.
    max_payload: [(Topic, usize); 3],
    redial_interval: Duration,
    /// Peers with at least one established connection.
    connected: BTreeMap<PeerId, PublicKey>,
    listen_addrs: Vec<SocketAddr>,
    listen_waiters: Vec<oneshot::Sender<Option<SocketAddr>>>,
    listener_closed: bool,
    pending: HashMap<OutboundRequestId, Pending>,
    in_flight: HashMap<PeerId, usize>,
    /// Peers with a periodic status request in flight.
    status_in_flight: HashSet<PeerId>,
    /// Inbound sync requests being answered on the blocking pool.
    serving: JoinSet<(PeerId, ResponseChannel<SyncResponse>, SyncResponse)>,
    outbox: Outbox,
}

fn ticker(period: Duration) -> Interval {
    let mut timer = interval(period.max(Duration::from_millis(10)));
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

impl EventLoop {
    /// Runs until shutdown (returns the acknowledgement to send) or until every handle is gone.
    async fn run(mut self) -> Option<oneshot::Sender<()>> {
        let mut redial = ticker(self.redial_interval);
        let mut status = ticker(STATUS_INTERVAL);
        let mut outbox = ticker(OUTBOX_RETRY_INTERVAL);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        info!("network shutting down");
                        return Some(reply);
                    }
                    Some(command) => self.on_command(command),
                    None => {
                        info!("every network handle dropped; network stopping");
                        return None;
                    }
                },
                Some(served) = self.serving.join_next(), if !self.serving.is_empty() => {
                    self.on_served(served);
                }
                _ = redial.tick() => self.redial(),
                _ = status.tick() => self.poll_statuses(),
                _ = outbox.tick() => self.flush_outbox(),
            }
        }
    }

    fn emit(&self, event: NetworkEvent) {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                warn!(?event, "network event channel full; event dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                trace!("network event receiver dropped");
            }
        }
    }

    // ---- commands ----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::RequestBlocks {
                peer,
                from,
                count,
                reply,
            } => {
                let request = SyncRequest::Blocks { from, count };
                match self.send_request(peer, request) {
                    Ok(id) => {
                        self.pending
                            .insert(id, Pending::Blocks { peer, count, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::RequestStatus { peer, reply } => {
                match self.send_request(peer, SyncRequest::Status) {
                    Ok(id) => {
                        self.pending.insert(
                            id,
                            Pending::Status {
                                peer,
                                reply: Some(reply),
                            },
                        );
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Allow { keys, reply } => {
                for key in keys {
                    if let Ok(peer) = peer_id(&key) {
                        if self.allowed.insert(peer) {
                            self.swarm.behaviour_mut().allowed.allow_peer(peer);
                            info!(peer = %key, "node key admitted by governance: allowed to connect");
                        }
                    }
                }
                let _ = reply.send(());
            }
            Command::ConnectedPeers { reply } => {
                let mut peers: Vec<PublicKey> = self.connected.values().copied().collect();
                peers.sort();
                let _ = reply.send(peers);
            }
            Command::ListenAddr { reply } => match self.listen_addrs.first() {
                Some(addr) => {
                    let _ = reply.send(Some(*addr));
                }
                None if self.listener_closed => {
                    let _ = reply.send(None);
                }
                None => self.listen_waiters.push(reply),
            },
            Command::Shutdown { reply } => {
                // Not reached: `run` takes shutdown commands itself. Acknowledging here would be
                // too early (the swarm is still alive), so the reply is only dropped.
                drop(reply);
            }
        }
    }

    // ---- timers ----

    fn redial(&mut self) {
        let targets: Vec<(PeerId, Multiaddr)> = self
            .book
            .iter()
            .filter(|(peer, _)| !self.connected.contains_key(peer))
            .map(|(peer, addr)| (*peer, addr.clone()))
            .collect();
        for (peer, addr) in targets {
            let opts = DialOpts::peer_id(peer)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .addresses(vec![addr.clone()])
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => trace!(%peer, %addr, "dialling"),
                Err(e) => trace!(%peer, %addr, error = %e, "not dialling"),
            }
        }
    }

    // ---- swarm events ----

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                if let Some(addr) = socket_addr(&address) {
                    self.listen_addrs.push(addr);
                    for waiter in self.listen_waiters.drain(..) {
                        let _ = waiter.send(Some(addr));
                    }
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                if let Some(addr) = socket_addr(&address) {
                    self.listen_addrs.retain(|a| *a != addr);
                }
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                warn!(?addresses, ?reason, "listener closed");
                // The one listener is gone: nobody waits for an address that will not come.
                self.listener_closed = true;
                self.listen_addrs.clear();
                for waiter in self.listen_waiters.drain(..) {
                    let _ = waiter.send(None);
                }
            }
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "listener error"),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), connections = num_established.get(), "connection established");
                if num_established.get() == 1 {
                    match public_key(&peer_id) {
                        Ok(key) => {
                            info!(peer = %key, "peer connected");
                            self.connected.insert(peer_id, key);
                            self.emit(NetworkEvent::PeerConnected(key));
                            self.ask_status(key);
                            // Subscriptions arrive soon; the outbox retries on them.
                        }
                        Err(e) => {
                            // The allow list only holds ed25519 keys: cannot happen.
                            warn!(peer = %peer_id, error = %e, "connected peer has no ledger key; closing");
                            let _ = self.swarm.disconnect_peer_id(peer_id);
                        }
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                debug!(peer = %peer_id, connections = num_established, ?cause, "connection closed");
                if num_established == 0 {
                    if let Some(key) = self.connected.remove(&peer_id) {
                        info!(peer = %key, "peer disconnected");
                        self.emit(NetworkEvent::PeerDisconnected(key));
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                debug!(addr = %send_back_addr, ?peer_id, %error, "incoming connection refused or failed");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(?peer_id, %error, "dial failed");
            }
            other => trace!(event = ?other, "swarm event"),
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Allowed(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
            BehaviourEvent::Gossipsub(event) => self.on_gossip_event(event),
            BehaviourEvent::BlockSync(event) => self.on_sync_event(event),
            BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result,
            }) => match result {
                Ok(rtt) => trace!(%peer, ?rtt, "ping"),
                Err(e) => {
                    warn!(%peer, error = %e, "ping failed; closing the connection");
                    self.swarm.close_connection(connection);
                }
            },
        }
    }
}

/// `/ip4/a.b.c.d/tcp/port` (or ip6) for a socket address.
fn multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::empty()
        .with(Protocol::from(addr.ip()))
        .with(Protocol::Tcp(addr.port()))
}

/// The socket address of an `/ip4|ip6/.../tcp/port` multiaddr.
fn socket_addr(addr: &Multiaddr) -> Option<SocketAddr> {
    let mut parts = addr.iter();
    let ip = match parts.next()? {
        Protocol::Ip4(ip) => std::net::IpAddr::V4(ip),
        Protocol::Ip6(ip) => std::net::IpAddr::V6(ip),
        _ => return None,
    };
    match parts.next()? {
        Protocol::Tcp(port) => Some(SocketAddr::new(ip, port)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_multiaddrs() {
        for addr in ["127.0.0.1:7000", "[::1]:9"] {
            let addr: SocketAddr = addr.parse().expect("literal address");
            assert_eq!(socket_addr(&multiaddr(addr)), Some(addr));
        }
    }
}
