//! The task that owns the swarm: swarm events, commands and timers in one `select!` loop.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::multiaddr::{Multiaddr, Protocol};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, ping, tcp, yamux, PeerId, Swarm, SwarmBuilder};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{interval, Interval, MissedTickBehavior};
use tracing::{debug, info, trace, warn};

use portledger_ledger::{Keypair, PublicKey};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::handle::{Command, NetworkHandle};
use super::identity::{libp2p_keypair, peer_id, public_key};
use super::outbox::Outbox;
use super::sync::{self, SyncRequest, SyncResponse};
use super::topic::ChainTopics;
use super::{
    Acceptance, BlockSource, NetworkConfig, NetworkError, NetworkEvent, SyncStatus, SyncedBlock,
    Topic, Validator,
};

/// Connections idle this long are closed (libp2p's default of 10 s would drop quiet peers).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);
/// How often each connected peer is asked for its status.
const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// How often the outbox is retried (besides on every new subscription).
const OUTBOX_RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Most sync requests in flight to one peer.
const MAX_REQUESTS_PER_PEER: usize = 4;
/// Most inbound sync requests being served (on the blocking pool) at once.
const MAX_CONCURRENT_SERVES: usize = 16;
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
        book.insert(peer, multiaddr(*addr));
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
    runtime.spawn(async move {
        if let Some(ack) = event_loop.run().await {
            // The swarm is dropped by now: the listener is closed.
            let _ = ack.send(());
        }
    });
    Ok((NetworkHandle::new(command_tx), event_rx))
}

/// A sync request of ours waiting for its answer.
enum Pending {
    /// Asked by the node, or by the periodic status poll (no reply channel).
    Status {
        peer: PublicKey,
        reply: Option<oneshot::Sender<Result<SyncStatus, NetworkError>>>,
    },
    Blocks {
        peer: PublicKey,
        count: u32,
        reply: oneshot::Sender<Result<Vec<SyncedBlock>, NetworkError>>,
    },
}

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

    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        let len = data.len();
        let limit = self
            .max_payload
            .iter()
            .find(|(t, _)| *t == topic)
            .map_or(0, |(_, limit)| *limit);
        if len > limit {
            return Err(NetworkError::MessageTooLarge { len, limit });
        }
        if self.outbox.len(topic) > 0 {
            // Keep the order: older unsent messages of this topic go first.
            self.queue(topic, data);
            self.flush_topic(topic);
            return Ok(());
        }
        let hash = self.topics.get(topic).hash();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(hash, data.clone())
        {
            Ok(id) => {
                debug!(%topic, len, message_id = %id, "published");
                Ok(())
            }
            Err(PublishError::Duplicate) => {
                debug!(%topic, len, "already published or seen; not sent again");
                Ok(())
            }
            Err(PublishError::NoPeersSubscribedToTopic) => {
                debug!(%topic, len, "no peer subscribed yet; message queued");
                self.queue(topic, data);
                Ok(())
            }
            Err(PublishError::AllQueuesFull(peers)) => {
                // Gossipsub keeps it in its message cache: peers may still fetch it by gossip.
                warn!(%topic, len, peers, "every peer's send queue is full; message not sent");
                Ok(())
            }
            Err(PublishError::MessageTooLarge) => Err(NetworkError::MessageTooLarge { len, limit }),
            Err(e) => Err(NetworkError::Publish(e.to_string())),
        }
    }

    fn queue(&mut self, topic: Topic, data: Vec<u8>) {
        let dropped = self.outbox.push(topic, data);
        if dropped > 0 {
            warn!(%topic, dropped, "outbox full; oldest unsent messages dropped");
        }
    }

    fn flush_outbox(&mut self) {
        for topic in Topic::ALL {
            self.flush_topic(topic);
        }
    }

    /// Publishes queued messages of a topic in order until gossipsub has no peer for it.
    fn flush_topic(&mut self, topic: Topic) {
        let hash = self.topics.get(topic).hash();
        while let Some(data) = self.outbox.front(topic) {
            let data = data.clone();
            match self
                .swarm
                .behaviour_mut()
                .gossipsub
                .publish(hash.clone(), data)
            {
                Ok(id) => debug!(%topic, message_id = %id, "queued message published"),
                Err(PublishError::Duplicate) => {}
                Err(PublishError::NoPeersSubscribedToTopic) => return,
                Err(e) => warn!(%topic, error = %e, "queued message dropped"),
            }
            self.outbox.pop(topic);
        }
    }

    fn send_request(
        &mut self,
        peer: PublicKey,
        request: SyncRequest,
    ) -> Result<OutboundRequestId, NetworkError> {
        let id = peer_id(&peer)?;
        if !self.connected.contains_key(&id) {
            return Err(NetworkError::NotConnected(peer));
        }
        let in_flight = self.in_flight.entry(id).or_default();
        if *in_flight >= MAX_REQUESTS_PER_PEER {
            return Err(NetworkError::TooManyRequests {
                peer,
                limit: MAX_REQUESTS_PER_PEER,
            });
        }
        *in_flight += 1;
        trace!(%peer, ?request, "sync request");
        Ok(self
            .swarm
            .behaviour_mut()
            .block_sync
            .send_request(&id, request))
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

    fn poll_statuses(&mut self) {
        let peers: Vec<PublicKey> = self.connected.values().copied().collect();
        for peer in peers {
            self.ask_status(peer);
        }
    }

    /// Asks a peer for its status unless a periodic request to it is still pending.
    fn ask_status(&mut self, peer: PublicKey) {
        let Ok(id) = peer_id(&peer) else { return };
        if self.status_in_flight.contains(&id) {
            return;
        }
        match self.send_request(peer, SyncRequest::Status) {
            Ok(request) => {
                self.status_in_flight.insert(id);
                self.pending
                    .insert(request, Pending::Status { peer, reply: None });
            }
            Err(e) => debug!(%peer, error = %e, "status poll skipped"),
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

    fn on_gossip_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let topic = self.topics.lookup(&message.topic);
                let from = message
                    .source
                    .filter(|source| self.allowed.contains(source))
                    .and_then(|source| public_key(&source).ok());
                let acceptance = match (topic, from) {
                    (Some(topic), Some(_)) => {
                        let validator = &self.validator;
                        std::panic::catch_unwind(AssertUnwindSafe(|| {
                            validator(topic, &message.data)
                        }))
                        .unwrap_or_else(|_| {
                            warn!(%topic, "validator panicked; message rejected");
                            Acceptance::Reject
                        })
                    }
                    _ => Acceptance::Reject,
                };
                debug!(
                    ?topic,
                    from = ?from,
                    via = %propagation_source,
                    id = %message_id,
                    len = message.data.len(),
                    ?acceptance,
                    "gossip message"
                );
                let verdict = match acceptance {
                    Acceptance::Accept => MessageAcceptance::Accept,
                    Acceptance::Reject => MessageAcceptance::Reject,
                    Acceptance::Ignore => MessageAcceptance::Ignore,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, verdict);
                if let (Acceptance::Accept, Some(topic), Some(from)) = (acceptance, topic, from) {
                    self.emit(NetworkEvent::Message {
                        topic,
                        data: message.data,
                        from,
                    });
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer subscribed");
                if let Some(topic) = self.topics.lookup(&topic) {
                    self.flush_topic(topic);
                }
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer unsubscribed");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                warn!(peer = %peer_id, ?failed_messages, "slow peer: gossip to it dropped");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                warn!(peer = %peer_id, "peer does not speak gossipsub");
            }
        }
    }

    // ---- sync ----

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.complete(request_id, Ok(response)),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => self.complete(request_id, Err(error.to_string())),
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { peer, .. } => {
                trace!(%peer, "sync response sent");
            }
        }
    }

    fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        trace!(%peer, ?request, "sync request received");
        if self.serving.len() >= MAX_CONCURRENT_SERVES {
            debug!(%peer, "too many sync requests being served; refusing");
            let busy = SyncResponse::Error("busy: too many requests being served".into());
            if self
                .swarm
                .behaviour_mut()
                .block_sync
                .send_response(channel, busy)
                .is_err()
            {
                debug!(%peer, "sync response not sent: connection gone");
            }
            return;
        }
        let source = Arc::clone(&self.source);
        self.serving.spawn_blocking(move || {
            let response = sync::serve(source.as_ref(), request);
            (peer, channel, response)
        });
    }

    fn on_served(
        &mut self,
        served: Result<
            (PeerId, ResponseChannel<SyncResponse>, SyncResponse),
            tokio::task::JoinError,
        >,
    ) {
        match served {
            Ok((peer, channel, response)) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .block_sync
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!(%peer, "sync response not sent: connection gone or request timed out");
                }
            }
            // The response channel is lost with the task: the peer sees its request fail.
            Err(e) => warn!(error = %e, "block source failed while serving a sync request"),
        }
    }

    fn complete(&mut self, request_id: OutboundRequestId, result: Result<SyncResponse, String>) {
        let Some(pending) = self.pending.remove(&request_id) else {
            return;
        };
        let peer = match &pending {
            Pending::Status { peer, .. } | Pending::Blocks { peer, .. } => *peer,
        };
        if let Ok(id) = peer_id(&peer) {
            if let Some(n) = self.in_flight.get_mut(&id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.in_flight.remove(&id);
                }
            }
            if matches!(pending, Pending::Status { reply: None, .. }) {
                self.status_in_flight.remove(&id);
            }
        }
        let failed = |reason: String| NetworkError::RequestFailed { peer, reason };
        match pending {
            Pending::Status { reply, .. } => {
                let answer = match result {
                    Ok(SyncResponse::Status(status)) => {
                        trace!(%peer, height = status.height, "peer status");
                        self.emit(NetworkEvent::PeerStatus {
                            peer,
                            status: status.clone(),
                        });
                        Ok(status)
                    }
                    Ok(SyncResponse::Error(message)) => Err(NetworkError::Remote { peer, message }),
                    Ok(other) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: "a status".into(),
                        found: other.kind().into(),
                    }),
                    Err(reason) => Err(failed(reason)),
                };
                match reply {
                    Some(reply) => {
                        let _ = reply.send(answer);
                    }
                    None => {
                        if let Err(e) = answer {
                            debug!(%peer, error = %e, "status poll failed");
                        }
                    }
                }
            }
            Pending::Blocks { count, reply, .. } => {
                let answer = match result {
                    Ok(SyncResponse::Blocks(blocks)) if blocks.len() <= count as usize => {
                        Ok(blocks)
                    }
                    Ok(SyncResponse::Blocks(blocks)) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: format!("at most {count} blocks"),
                        found: format!("{} blocks", blocks.len()),
                    }),
                    Ok(SyncResponse::Error(message)) => Err(NetworkError::Remote { peer, message }),
                    Ok(other) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: "blocks".into(),
                        found: other.kind().into(),
                    }),
                    Err(reason) => Err(failed(reason)),
                };
                let _ = reply.send(answer);
            }
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
