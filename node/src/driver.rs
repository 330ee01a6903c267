//! The consensus driver: a thin tokio adapter around the pure consensus [`Engine`], the only
//! place where consensus meets time, the network and the disk.
//!
//! The engine holds the whole host policy (when a height starts, re-sending and relaying,
//! answering a lagging peer, when to fall back to block sync), the same code the seeded
//! simulation runs. The driver feeds it gossiped proposals and votes, peer status, timers and
//! ticks, and carries out its effects in order: write-ahead records are durable before the
//! broadcast they protect, blocks are built from the mempool and checked against the ledger,
//! decided blocks are committed through the store in one batch, and block sync fetches blocks
//! from a peer, verifies each block's links and certificate, and stores them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portledger_consensus::{
    ConsensusConfig, Effect, Engine, EnginePolicy, Event, Message, Timeout, WalStore,
};
use portledger_ledger::block::Block;
use portledger_ledger::chain::Execution;
use portledger_ledger::codec;
use portledger_ledger::{keyfile, CommitCertificate, Hash, Keypair, PublicKey, StoreError};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use crate::gossip_intake::GossipIntake;
use crate::messages::{self, Limits, ProposalMessage, VoteMessage};
use crate::metrics::{Stage, ValidatorLabel};
use crate::network::{NetworkError, NetworkEvent, NetworkHandle, SyncedBlock, Topic};
use crate::shared::{now_ms, Shared};

/// Blocks fetched per sync request.
const SYNC_WINDOW: u32 = 64;

/// How often the engine is ticked (starting a height, the heartbeat, block sync, re-sending).
const TICK: Duration = Duration::from_millis(50);

/// Driver settings.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Consensus configuration (timeouts may be overridden by the node config).
    pub consensus: ConsensusConfig,
    /// Heartbeat: an idle chain commits an empty block this often.
    pub heartbeat: Duration,
    /// Largest time a block may be ahead of the local clock.
    pub max_clock_drift_ms: u64,
    /// Where `portledger-node rotate-key` left the next node key: once the ledger seats it,
    /// the node signs with it.
    pub next_key: Option<std::path::PathBuf>,
}

/// The result of a sync request, sent back to the driver loop.
struct SyncResult {
    peer: PublicKey,
    blocks: Result<Vec<SyncedBlock>, NetworkError>,
}

/// A block body as the engine holds it (shared, not copied, between its maps and messages).
type Body = Arc<Block>;

/// The driver cannot make a write-ahead record durable: it must stop voting.
#[derive(Debug, thiserror::Error)]
#[error("could not make a write-ahead record durable: {0}")]
struct Halt(#[from] StoreError);

/// The driver's state.
pub struct Driver {
    shared: Arc<Shared>,
    network: NetworkHandle,
    gossip_intake: GossipIntake,
    key: Keypair,
    config: DriverConfig,
    limits: Limits,
    engine: Engine<Body>,
    /// Effects of the engine's start, carried out when the driver runs.
    start_effects: Vec<Effect<Body>>,
    /// Executions of blocks built or validated at the current heights, by hash.
    executions: HashMap<Hash, Execution>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    timer_map: HashMap<u64, Timeout>,
    timer_seq: u64,
    sync_tx: mpsc::Sender<SyncResult>,
    sync_rx: mpsc::Receiver<SyncResult>,
    /// Re-send counter: gossip deduplicates identical bytes, so each re-sending differs.
    resends: u32,
    /// The engine's clock starts here.
    epoch: Instant,
    /// Stage marks of the height being decided: when this node had a proposal, and when it
    /// precommitted a block (saw a polka).
    proposed_at: Option<(u64, Instant)>,
    polka_at: Option<(u64, Instant)>,
    last_commit_at: Option<Instant>,
    /// The next node key, admitted by the ledger, until the validator set seats it.
    pending_key: Option<Keypair>,
}

impl Driver {
    /// A driver for the chain in `shared`, its engine rebuilt from the write-ahead log (and
    /// the kept bodies) when the node stopped mid-height.
    pub fn new(
        shared: Arc<Shared>,
        network: NetworkHandle,
        gossip_intake: GossipIntake,
        key: Keypair,
        config: DriverConfig,
    ) -> Driver {
        let limits = Limits::of(&shared.genesis);
        let (sync_tx, sync_rx) = mpsc::channel(4);
        let next = shared.tip().height + 1;
        let (records, unreadable) = shared.store().wal(next).unwrap_or_default();
        if unreadable > 0 {
            warn!(
                height = next,
                unreadable, "write-ahead records that do not decode were left out"
            );
        }
        let bodies: Vec<(Hash, Body)> = shared
            .store()
            .kept_bodies(next)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(hash, bytes)| {
                let block = Block::decode(&bytes, limits.proposal_bytes).ok()?;
                (block.hash() == hash).then(|| (hash, Arc::new(block)))
            })
            .collect();
        if !records.is_empty() {
            info!(
                height = next,
                records = records.len(),
                bodies = bodies.len(),
                "resuming height from write-ahead log"
            );
        }
        // The validator sets governance scheduled, as the committed state has them.
        let mut config = config;
        for (height, set) in shared.read_state(|s| s.validator_sets.clone()) {
            config.consensus.schedule.insert(height, set);
        }
        let policy = EnginePolicy::for_config(
            &config.consensus,
            config.heartbeat.as_millis().try_into().unwrap_or(u64::MAX),
        );
        let (engine, start_effects) = Engine::start(
            config.consensus.clone(),
            Some(key.clone()),
            policy,
            next - 1,
            &records,
            bodies,
            0,
        );
        let resends = {
            let k = key.public();
            let b = k.as_bytes();
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        Driver {
            shared,
            network,
            gossip_intake,
            key,
            config,
            limits,
            engine,
            start_effects,
            executions: HashMap::new(),
            timers: BinaryHeap::new(),
            timer_map: HashMap::new(),
            timer_seq: 0,
            sync_tx,
            sync_rx,
            // Each validator counts from its own offset, so that two relaying the same vote at
            // the same count do not publish identical bytes (gossip would drop the second).
            resends,
            epoch: Instant::now(),
            proposed_at: None,
            polka_at: None,
            last_commit_at: None,
            pending_key: None,
        }
    }

    fn now(&self) -> u64 {
        self.epoch
            .elapsed()
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX)
    }

    /// Runs the driver until `shutdown` turns true, the network stops, or a write-ahead record
    /// cannot be made durable (then the node stops voting and says so).
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        let first = std::mem::take(&mut self.start_effects);
        let mut result = self.carry_out(first, VecDeque::new());
        while result.is_ok() {
            let next_timer = self
                .timers
                .peek()
                .map(|Reverse((at, _))| *at)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            result = tokio::select! {
                _ = shutdown.changed() => break,
                ev = events.recv() => match ev {
                    Some(ev) => self.on_network(ev),
                    None => break,
                },
                Some(res) = self.sync_rx.recv() => self.on_sync(res),
                _ = tokio::time::sleep_until(next_timer.into()) => self.fire_timers(),
                _ = shared.tx_arrived() => self.feed(Event::TransactionArrived),
                _ = tick.tick() => {
                    let txs_waiting = self.shared.waiting() > 0;
                    self.feed(Event::Tick { txs_waiting })
                }
            };
        }
        if let Err(e) = result {
            error!(error = %e, "consensus stopped: this validator no longer votes; free the disk and restart the node");
        }
        info!("consensus driver stopped");
    }

    fn on_network(&mut self, ev: NetworkEvent) -> Result<(), Halt> {
        match ev {
            NetworkEvent::Message { topic, data, from } => match topic {
                Topic::Transactions => {
                    match messages::decode_tx_batch(&data, &self.limits) {
                        Ok(txs) => self.gossip_intake.admit(txs),
                        Err(e) => debug!(%from, error = %e, "undecodable transaction batch"),
                    }
                    Ok(())
                }
                Topic::Proposals => match messages::decode_proposal(&data, &self.limits) {
                    Ok(m) => {
                        if m.resend == 0 && m.block.header.height == self.engine.height() {
                            let took = now_ms().saturating_sub(m.block.header.time_ms);
                            self.shared
                                .metrics
                                .stage(Stage::ProposedToReceived)
                                .observe(took as f64 / 1000.0);
                        }
                        self.feed(Event::Message(Message::Proposal {
                            proposal: m.proposal,
                            body: Arc::new(m.block),
                        }))
                    }
                    Err(_) => Ok(()),
                },
                Topic::Votes => match messages::decode_vote(&data) {
                    Ok(v) => self.feed(Event::Message(Message::Vote(v))),
                    Err(_) => Ok(()),
                },
            },
            NetworkEvent::PeerConnected(p) => {
                self.shared.set_peer(p, true);
                Ok(())
            }
            NetworkEvent::PeerDisconnected(p) => {
                self.shared.set_peer(p, false);
                self.feed(Event::PeerGone(p))
            }
            NetworkEvent::PeerStatus { peer, status } => self.feed(Event::PeerStatus {
                peer,
                height: status.height,
            }),
        }
    }

    fn fire_timers(&mut self) -> Result<(), Halt> {
        let now = Instant::now();
        let mut due = VecDeque::new();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(t) = self.timer_map.remove(&id) {
                due.push_back(Event::TimeoutFired(t));
            }
        }
        self.carry_out(Vec::new(), due)
    }

    /// Feeds the engine one event and carries out what it asks.
    fn feed(&mut self, event: Event<Body>) -> Result<(), Halt> {
        self.carry_out(Vec::new(), VecDeque::from([event]))
    }

    /// Carries out `effects`, then feeds `events` (and the host's answers to the effects) one by
    /// one, until nothing is left.
    fn carry_out(
        &mut self,
        mut effects: Vec<Effect<Body>>,
        mut events: VecDeque<Event<Body>>,
    ) -> Result<(), Halt> {
        let _span = tracing::debug_span!(
            "step",
            height = self.engine.height(),
            round = self.engine.round()
        )
        .entered();
        loop {
            for effect in effects {
                if let Some(answer) = self.execute(effect)? {
                    events.push_back(answer);
                }
            }
            let Some(event) = events.pop_front() else {
                break;
            };
            let now = self.now();
            effects = self.engine.handle(now, event);
        }
        self.shared.set_round(self.engine.round());
        Ok(())
    }

    fn publish(&self, topic: Topic, data: Vec<u8>) {
        let network = self.network.clone();
        tokio::spawn(async move {
            if let Err(e) = network.publish(topic, data).await {
                debug!(error = %e, ?topic, "publish failed");
            }
        });
    }

    /// Gossips consensus messages; `resend` says whether they were sent before (their bytes
    /// must then differ from the first sending's).
    fn send(&mut self, messages: Vec<Message<Body>>, resend: bool) {
        let counter = if resend {
            self.resends = self.resends.wrapping_add(1);
            self.resends
        } else {
            0
        };
        for m in messages {
            match m {
                Message::Proposal { proposal, body } => {
                    self.send_proposal(proposal, &body, counter)
                }
                Message::Vote(vote) => self.send_vote(vote, counter),
                Message::Decision {
                    proposal,
                    body,
                    precommits,
                } => {
                    self.send_proposal(proposal, &body, counter);
                    for v in precommits {
                        self.send_vote(v, counter);
                    }
                }
            }
        }
    }

    fn send_proposal(
        &self,
        proposal: portledger_consensus::SignedProposal,
        body: &Block,
        resend: u32,
    ) {
        let msg = ProposalMessage {
            proposal,
            block: body.clone(),
            resend,
        };
        self.publish(Topic::Proposals, codec::encode(&msg));
    }

    fn send_vote(&self, vote: portledger_ledger::Vote, resend: u32) {
        self.publish(Topic::Votes, codec::encode(&VoteMessage { vote, resend }));
    }

    /// Carries out one effect; the host's answer to feed back, if any. The one failure is a
    /// write-ahead record (or kept body) that could not be made durable.
    fn execute(&mut self, effect: Effect<Body>) -> Result<Option<Event<Body>>, Halt> {
        match effect {
            Effect::Persist(rec) => {
                self.shared.store().append_wal(&rec)?;
                Ok(None)
            }
            Effect::KeepBody { height, block_hash } => {
                if let Some(body) = self.engine.body(&block_hash) {
                    self.shared
                        .store()
                        .keep_body(height, &block_hash, body.encode())?;
                }
                Ok(None)
            }
            Effect::Broadcast(m) => {
                if let Message::Vote(v) = &m {
                    let b = &v.body;
                    if b.kind == portledger_ledger::VoteKind::Precommit
                        && b.block.is_some()
                        && b.validator == self.key.public()
                    {
                        self.mark_polka(b.height);
                    }
                }
                self.send(vec![m], false);
                Ok(None)
            }
            Effect::Resend(ms) | Effect::Relay(ms) => {
                self.send(ms, true);
                Ok(None)
            }
            Effect::SendTo(peer, m) => {
                // Gossip has no direct channel; peers already past that height ignore it.
                debug!(%peer, "sending the last decision to a lagging peer");
                self.send(vec![m], true);
                Ok(None)
            }
            Effect::ScheduleTimeout(t) => {
                let id = self.timer_seq;
                self.timer_seq += 1;
                self.timers.push(Reverse((
                    Instant::now() + Duration::from_millis(t.duration_ms),
                    id,
                )));
                self.timer_map.insert(id, t);
                Ok(None)
            }
            Effect::BuildValue { height, round } => Ok(Some(self.build(height, round))),
            Effect::Validate {
                height,
                round,
                block_hash,
            } => Ok(Some(Event::ProposalValidated {
                height,
                round,
                block_hash,
                valid: self.validate(height, &block_hash),
            })),
            Effect::Commit {
                height,
                block_hash,
                certificate,
            } => Ok(Some(self.commit(height, &block_hash, &certificate))),
            Effect::Sync { peer, from } => {
                self.shared.set_syncing(true);
                let network = self.network.clone();
                let tx = self.sync_tx.clone();
                tokio::spawn(async move {
                    let blocks = network.request_blocks(peer, from, SYNC_WINDOW).await;
                    let _ = tx.send(SyncResult { peer, blocks }).await;
                });
                Ok(None)
            }
            Effect::Evidence(e) => {
                warn!(validator = %e.first.body.validator, height = e.first.body.height, "equivocating votes");
                self.shared.metrics.equivocations.inc();
                Ok(None)
            }
            Effect::ProposalEvidence(e) => {
                warn!(proposer = %e.first.proposal.proposer, height = e.first.proposal.height, "equivocating proposals");
                self.shared.metrics.equivocations.inc();
                Ok(None)
            }
            Effect::MissedProposal {
                proposer, height, ..
            } => {
                let name = self
                    .engine
                    .config()
                    .validators(height)
                    .members()
                    .iter()
                    .find(|(_, k)| *k == proposer)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default();
                self.shared
                    .metrics
                    .missed_proposals
                    .get_or_create(&ValidatorLabel { validator: name })
                    .inc();
                Ok(None)
            }
            Effect::DuplicateKey {
                height,
                round,
                kind,
            } => {
                let seen = format!(
                    "a {kind} of height {height} round {round} signed with this node's key that \
                     this node did not sign: another process runs the same validator key"
                );
                error!(
                    node_key = %self.shared.node_key,
                    height,
                    round,
                    kind,
                    "{seen}; this node has stopped signing (it follows the chain as an observer); \
                     stop the other process, then restart this one"
                );
                self.shared.set_duplicate_key(seen);
                Ok(None)
            }
            Effect::RoundTimedOut { .. } => {
                self.shared.metrics.rounds_timed_out.inc();
                Ok(None)
            }
        }
    }

    fn mark_proposed(&mut self, height: u64) {
        if self.proposed_at.is_none_or(|(h, _)| h != height) {
            self.proposed_at = Some((height, Instant::now()));
        }
    }

    fn mark_polka(&mut self, height: u64) {
        if self.polka_at.is_some_and(|(h, _)| h == height) {
            return;
        }
        let now = Instant::now();
        self.polka_at = Some((height, now));
        if let Some((_, at)) = self.proposed_at.filter(|(h, _)| *h == height) {
            self.shared
                .metrics
                .stage(Stage::ProposedToPolka)
                .observe(now.duration_since(at).as_secs_f64());
        }
    }

    fn build(&mut self, height: u64, round: u32) -> Event<Body> {
        let value = self
            .shared
            .build_block(height, round, self.key.public())
            .map(|(block, exec, excluded)| {
                for e in excluded {
                    debug!(tx = %e.hash, error = %e.error, "left out of the proposal");
                }
                let hash = block.hash();
                info!(height, round, txs = block.transactions.len(), %hash, "proposing");
                self.executions.insert(hash, exec);
                (hash, Arc::new(block))
            });
        if value.is_some() {
            self.mark_proposed(height);
        }
        Event::ValueBuilt {
            height,
            round,
            value,
        }
    }

    fn validate(&mut self, height: u64, hash: &Hash) -> bool {
        self.mark_proposed(height);
        if self.executions.contains_key(hash) {
            return true;
        }
        let Some(block) = self.engine.body(hash).cloned() else {
            return false;
        };
        if block.header.time_ms > now_ms() + self.config.max_clock_drift_ms {
            warn!(
                height,
                "proposed block time is too far ahead of this node's clock"
            );
            return false;
        }
        match self.shared.validate_block(&block) {
            Ok(exec) => {
                self.executions.insert(*hash, exec);
                true
            }
            Err(e) => {
                warn!(height, error = %e, "proposed block is invalid");
                false
            }
        }
    }

    fn commit(&mut self, height: u64, hash: &Hash, certificate: &CommitCertificate) -> Event<Body> {
        let Some(block) = self.engine.body(hash).cloned() else {
            return Event::CommitFailed { height };
        };
        let decided = Instant::now();
        let shared = self.shared.clone();
        let m = &shared.metrics;
        if let Some((_, at)) = self.polka_at.filter(|(h, _)| *h == height) {
            m.stage(Stage::PolkaToCommit)
                .observe(decided.duration_since(at).as_secs_f64());
        }
        let exec = self.executions.remove(hash);
        if !self.store_block(&block, certificate, exec) {
            return Event::CommitFailed { height };
        }
        self.refresh_membership();
        let stored = Instant::now();
        m.stage(Stage::CommitToPersisted)
            .observe(stored.duration_since(decided).as_secs_f64());
        if let Some(last) = self.last_commit_at.replace(stored) {
            m.block_interval
                .observe(stored.duration_since(last).as_secs_f64());
        }
        let elapsed = self.now().saturating_sub(self.engine.height_started_ms());
        m.commit_latency.observe(elapsed as f64 / 1000.0);
        self.executions.clear();
        Event::Committed {
            height,
            txs_waiting: self.shared.waiting() > 0,
        }
    }

    /// After a block is stored: the validator sets it scheduled go to consensus, the node keys
    /// it admitted to the network's allow list.
    fn refresh_membership(&mut self) {
        let change = self.shared.refresh_membership();
        for (height, set) in change.sets {
            if self.engine.schedule_validators(height, set.clone()) {
                let names: Vec<&str> = set.members().iter().map(|(n, _)| n.as_str()).collect();
                info!(from_height = height, validators = ?names, quorum = set.quorum(), "validator set scheduled");
            }
        }
        self.rotate_key(&change.node_keys);
        if !change.node_keys.is_empty() {
            let net = self.network.clone();
            tokio::spawn(async move {
                if let Err(e) = net.allow(change.node_keys).await {
                    warn!(error = %e, "could not allow the admitted node keys");
                }
            });
        }
    }

    /// Switches consensus signing to the next node key once the set of the next height seats
    /// it (read when the ledger admits it as a node key).
    fn rotate_key(&mut self, admitted: &[PublicKey]) {
        if self.pending_key.is_none() && !admitted.is_empty() {
            if let Some(path) = &self.config.next_key {
                self.pending_key = keyfile::read(path)
                    .ok()
                    .filter(|k| admitted.contains(&k.public()));
            }
        }
        let next = self.shared.tip().height + 1;
        let Some(key) = self
            .pending_key
            .take_if(|k| self.engine.config().validators(next).contains(&k.public()))
        else {
            return;
        };
        info!(from_height = next, key = %key.public(), "signing with the rotated node key");
        self.shared.set_consensus_key(key.public());
        self.engine.set_key(key.clone());
        self.key = key;
    }

    /// Commits a block (validating it unless already executed) and prunes the write-ahead log.
    fn store_block(
        &self,
        block: &Block,
        certificate: &CommitCertificate,
        exec: Option<Execution>,
    ) -> bool {
        let height = block.header.height;
        if let Err(e) = self.shared.commit_block(block, certificate, exec) {
            warn!(height, error = %e, "block not committed");
            return false;
        }
        if let Err(e) = self.shared.store().prune_wal(height + 1) {
            warn!(error = %e, "could not prune the write-ahead log");
        }
        info!(height, txs = block.transactions.len(), hash = %block.hash(), "committed");
        true
    }

    fn on_sync(&mut self, res: SyncResult) -> Result<(), Halt> {
        let _span = tracing::info_span!("sync", peer = %res.peer).entered();
        self.shared.set_syncing(false);
        let peer = res.peer;
        let blocks = match res.blocks {
            Ok(b) => b,
            Err(e) => {
                warn!(%peer, error = %e, "sync request failed");
                return self.feed(Event::SyncFailed { peer });
            }
        };
        let mut committed = 0;
        for sb in blocks {
            let (Ok(block), Ok(cert)) = (
                Block::decode(&sb.block, self.limits.proposal_bytes),
                codec::decode::<CommitCertificate>(&sb.certificate, 1 << 20),
            ) else {
                warn!(%peer, "peer sent an undecodable block");
                return self.feed(Event::SyncFailed { peer });
            };
            if block.header.height != self.shared.tip().height + 1 {
                break;
            }
            // commit_block checks links, every transaction and the certificate before storing.
            if !self.store_block(&block, &cert, None) {
                warn!(%peer, height = block.header.height, "peer sent a block that does not verify");
                return self.feed(Event::SyncFailed { peer });
            }
            committed += 1;
            // The next block's certificate may be by a set this one scheduled.
            self.refresh_membership();
        }
        let tip = self.shared.tip().height;
        if committed > 0 {
            info!(height = tip, blocks = committed, "caught up from peer");
            self.executions.clear();
        }
        let (records, _) = self.shared.store().wal(tip + 1).unwrap_or_default();
        self.feed(Event::Synced { peer, tip, records })
    }
}
