//! The event loop: hosts executing their cores' actions over the simulated network.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use portledger_ledger::{Hash, Keypair, PublicKey, ValidatorSet, Vote, VoteKind};

use super::block::{BlockRegistry, SimBlock};
use super::byzantine::{ByzantineContext, Fixture};
use super::checks::{check_chains, Committed};
use super::network::{NetworkModel, WireMessage};
use super::rng::SimRng;
use super::scenario::{FaultEvent, Scenario};
use crate::config::{ConsensusConfig, DEFAULT_FUTURE_BUFFER};
use crate::engine::{Effect, Engine, EnginePolicy, Event as EngineEvent, Message};
use crate::schedule::ValidatorSchedule;
use crate::timeout::Timeout;
use crate::wal::WalRecord;
use portledger_ledger::governance::ACTIVATION_DELAY;

/// Blocks served per sync request (as the node's block sync).
const SYNC_WINDOW: usize = 64;

/// A sync request not answered within this long has failed (as a request-response timeout).
const SYNC_TIMEOUT_MS: u64 = 2000;

/// The chain id used in simulations.
pub const SIM_CHAIN_ID: &str = "sim-chain";

/// Hard cap on processed events, against runaway runs.
const MAX_EVENTS: u64 = 3_000_000;

/// A commit seen during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEvent {
    /// Simulated time.
    pub time_ms: u64,
    /// Node that committed.
    pub node: usize,
    /// Height.
    pub height: u64,
    /// Round of the certificate.
    pub round: u32,
}

/// What a run did and what went wrong.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Number of validators.
    pub n: usize,
    /// Safety, validity or liveness violations (empty when the run passed).
    pub violations: Vec<String>,
    /// Committed height of each node at the end.
    pub heights: Vec<u64>,
    /// Commits of correct nodes, in time order.
    pub commits: Vec<CommitEvent>,
    /// Certificate round of each height on the reference (most advanced correct) node.
    pub rounds: Vec<u32>,
    /// The validators whose precommits certify each height on the reference node.
    pub signers: Vec<Vec<PublicKey>>,
    /// Vote equivocations reported by correct nodes.
    pub evidence: usize,
    /// Proposal equivocations reported by correct nodes.
    pub proposal_evidence: usize,
    /// Crashes (scheduled and injected).
    pub crashes: usize,
    /// Crashes injected between persisting a vote and sending it.
    pub crashes_after_persist: usize,
    /// When the last fault was over.
    pub recovery_ms: u64,
    /// Highest height committed by a correct node at that moment.
    pub height_at_recovery: u64,
    /// Simulated time at the end.
    pub end_ms: u64,
    /// Events processed.
    pub events: u64,
}

impl Report {
    /// Whether no property was violated.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Mean number of rounds per committed height (round 0 counts as one round).
    pub fn mean_rounds(&self) -> f64 {
        if self.rounds.is_empty() {
            return 0.0;
        }
        self.rounds.iter().map(|r| f64::from(*r) + 1.0).sum::<f64>() / self.rounds.len() as f64
    }

    /// Commits by correct nodes in `[from, to)` of heights no correct node had committed
    /// before `from`: new decisions, as opposed to lagging nodes catching up.
    pub fn new_heights_between(&self, from: u64, to: u64) -> usize {
        let known = self
            .commits
            .iter()
            .filter(|c| c.time_ms < from)
            .map(|c| c.height)
            .max()
            .unwrap_or(0);
        self.commits
            .iter()
            .filter(|c| c.time_ms >= from && c.time_ms < to && c.height > known)
            .count()
    }

    /// The highest height a correct node committed before `t` (0 when none).
    pub fn height_before(&self, t: u64) -> u64 {
        self.commits
            .iter()
            .filter(|c| c.time_ms < t)
            .map(|c| c.height)
            .max()
            .unwrap_or(0)
    }

    /// The highest height a correct node committed in `[from, to)` (0 when none).
    pub fn highest_between(&self, from: u64, to: u64) -> u64 {
        self.commits
            .iter()
            .filter(|c| c.time_ms >= from && c.time_ms < to)
            .map(|c| c.height)
            .max()
            .unwrap_or(0)
    }

    /// Commits by correct nodes in the simulated time window `[from, to)`.
    pub fn commits_between(&self, from: u64, to: u64) -> usize {
        self.commits
            .iter()
            .filter(|c| c.time_ms >= from && c.time_ms < to)
            .count()
    }
}

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        from: usize,
        msg: WireMessage,
    },
    Timer {
        node: usize,
        epoch: u64,
        timeout: Timeout,
    },
    HostInput {
        node: usize,
        epoch: u64,
        input: EngineEvent<()>,
    },
    Gossip {
        node: usize,
    },
    SyncTimeout {
        node: usize,
        epoch: u64,
        request: u64,
    },
    Fault(FaultEvent),
}

#[derive(Debug)]
struct Scheduled {
    time: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Earliest first in a max-heap.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// One simulated node: the engine (while running) and what survives a crash.
#[derive(Debug)]
struct Host {
    key: Keypair,
    fixture: Option<Fixture>,
    engine: Option<Engine<()>>,
    epoch: u64,
    /// Durable: write-ahead records.
    wal: Vec<WalRecord>,
    /// Durable: committed blocks.
    chain: Vec<Committed>,
    /// Durable: the bodies kept with the write-ahead log (blocks precommitted), by height.
    kept: Vec<(u64, Hash)>,
    /// Volatile: the block sync request in flight (its number and the peer asked), if any.
    sync_request: Option<(u64, usize)>,
}

impl Host {
    fn tip(&self) -> Hash {
        self.chain.last().map_or(Hash::ZERO, |c| c.hash)
    }

    fn correct(&self) -> bool {
        self.fixture.is_none()
    }

    /// Write-ahead records of the height after the stored chain.
    fn records_for_next(&self) -> Vec<WalRecord> {
        let next = self.chain.len() as u64 + 1;
        self.wal
            .iter()
            .filter(|r| r.height() == next)
            .cloned()
            .collect()
    }
}

/// A deterministic simulation of `n` validators running one [`Scenario`].
pub struct Simulation {
    sc: Scenario,
    rng: SimRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    hosts: Vec<Host>,
    config: ConsensusConfig,
    policy: EnginePolicy,
    registry: BlockRegistry,
    sync_requests: u64,
    network: NetworkModel,
    /// Every vote signed by a correct node, by (node, height, round, kind).
    signed: BTreeMap<(usize, u64, u32, VoteKind), Vote>,
    pending_faults: usize,
    report: Report,
}

/// The deterministic key of simulated validator `i`.
pub fn sim_key(i: usize) -> Keypair {
    Keypair::for_testing(&format!("sim-validator-{i}"))
}

/// The validator set of `n` simulated validators.
pub fn sim_validators(n: usize) -> ValidatorSet {
    ValidatorSet::new(
        (0..n)
            .map(|i| (format!("v{i}"), sim_key(i).public()))
            .collect(),
    )
}

impl Simulation {
    /// Sets up a run.
    pub fn new(sc: Scenario) -> Simulation {
        let validators = sim_validators(sc.n);
        let config = ConsensusConfig {
            chain_id: SIM_CHAIN_ID.to_string(),
            schedule: ValidatorSchedule::new(validators),
            timeouts: sc.timeouts,
            future_buffer: DEFAULT_FUTURE_BUFFER,
        };
        let hosts = (0..sc.n + sc.joiners)
            .map(|i| Host {
                key: sim_key(i),
                fixture: sc.byzantine.get(&i).copied(),
                engine: None,
                epoch: 0,
                wal: Vec::new(),
                chain: Vec::new(),
                kept: Vec::new(),
                sync_request: None,
            })
            .collect();
        let report = Report {
            scenario: sc.name.clone(),
            seed: sc.seed,
            n: sc.n,
            ..Report::default()
        };
        // The production policy, with the scenario's gossip interval for re-sending and its
        // slow sync for answering lagging peers.
        let policy = EnginePolicy {
            heartbeat_ms: 1000,
            resend_ms: sc.gossip_interval_ms,
            stall_ms: sc.timeouts.base_ms.saturating_mul(3),
            answer_lagging_after_ms: sc.sync_delay_ms,
        };
        Simulation {
            policy,
            sync_requests: 0,
            rng: SimRng::new(sc.seed),
            network: sc.network.clone(),
            sc,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            hosts,
            config,
            registry: BlockRegistry::default(),
            signed: BTreeMap::new(),
            pending_faults: 0,
            report,
        }
    }

    /// Runs the scenario to the end and checks every property.
    pub fn run(mut self) -> Report {
        let faults = self.sc.faults.clone();
        self.pending_faults = faults.len();
        for (t, f) in faults {
            self.schedule(t, Event::Fault(f));
        }
        for i in 0..self.hosts.len() {
            let offset = self.rng.range(0, self.sc.gossip_interval_ms);
            self.schedule(offset, Event::Gossip { node: i });
            if self.hosts[i].fixture.is_none_or(Fixture::runs_core) {
                self.boot(i);
            }
        }
        if self.pending_faults == 0 {
            self.mark_recovery();
        }
        let last_fault = self.sc.faults.iter().map(|(t, _)| *t).max().unwrap_or(0);
        let deadline = last_fault.max(self.sc.chaos_until_ms) + 2000 + self.sc.liveness_budget_ms;
        while let Some(s) = self.queue.pop() {
            if s.time > deadline || self.report.events >= MAX_EVENTS {
                break;
            }
            self.now = s.time;
            self.report.events += 1;
            let committed = matches!(
                s.event,
                Event::Deliver { .. } | Event::HostInput { .. } | Event::Timer { .. }
            );
            self.handle(s.event);
            if committed && self.done() {
                break;
            }
        }
        self.finish()
    }

    fn trace(&self, what: impl FnOnce() -> String) {
        if self.sc.trace {
            eprintln!("[{:>7} ms] {}", self.now, what());
        }
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            time: at,
            seq: self.seq,
            event,
        });
    }

    fn running_correct(&self) -> impl Iterator<Item = &Host> {
        self.hosts
            .iter()
            .filter(|h| h.correct() && h.engine.is_some())
    }

    fn max_correct_height(&self) -> u64 {
        self.hosts
            .iter()
            .filter(|h| h.correct())
            .map(|h| h.chain.len() as u64)
            .max()
            .unwrap_or(0)
    }

    fn target_height(&self) -> u64 {
        self.sc
            .min_height
            .max(self.report.height_at_recovery + self.sc.new_heights_after_recovery)
    }

    fn mark_recovery(&mut self) {
        self.report.recovery_ms = self.now;
        self.report.height_at_recovery = self.max_correct_height();
    }

    fn done(&self) -> bool {
        self.pending_faults == 0
            && self.now >= self.sc.chaos_until_ms
            && self
                .running_correct()
                .all(|h| h.chain.len() as u64 >= self.target_height())
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, msg } => self.deliver(to, from, msg),
            Event::Timer {
                node,
                epoch,
                timeout,
            } => {
                if self.hosts[node].epoch == epoch {
                    self.feed(node, EngineEvent::TimeoutFired(timeout));
                }
            }
            Event::HostInput { node, epoch, input } => {
                if self.hosts[node].epoch == epoch {
                    self.feed(node, input);
                }
            }
            Event::Gossip { node } => {
                self.gossip(node);
                let next = self.now + self.sc.gossip_interval_ms;
                self.schedule(next, Event::Gossip { node });
            }
            Event::SyncTimeout {
                node,
                epoch,
                request,
            } => {
                let h = &mut self.hosts[node];
                if let Some((id, peer)) = h.sync_request.filter(|_| h.epoch == epoch) {
                    if id == request {
                        h.sync_request = None;
                        let peer = self.key_of(peer);
                        self.feed(node, EngineEvent::SyncFailed { peer });
                    }
                }
            }
            Event::Fault(f) => {
                self.pending_faults = self.pending_faults.saturating_sub(1);
                self.fault(f);
                if self.pending_faults == 0 {
                    self.mark_recovery();
                }
            }
        }
    }

    fn fault(&mut self, f: FaultEvent) {
        self.trace(|| format!("fault {f:?}"));
        match f {
            FaultEvent::Partition(groups) => self.network.partition = Some(groups),
            FaultEvent::Heal => self.network.partition = None,
            FaultEvent::SetLoss(p) => self.network.loss_per_mille = p,
            FaultEvent::SetDelay { min_ms, max_ms } => {
                self.network.delay_min_ms = min_ms;
                self.network.delay_max_ms = max_ms;
            }
            FaultEvent::Crash(i) => self.crash(i),
            FaultEvent::Restart(i) => self.restart(i),
        }
    }

    fn crash(&mut self, i: usize) {
        let h = &mut self.hosts[i];
        if h.engine.is_none() {
            return;
        }
        h.engine = None;
        h.epoch += 1;
        h.sync_request = None;
        self.report.crashes += 1;
    }

    fn restart(&mut self, i: usize) {
        let h = &self.hosts[i];
        if h.engine.is_some() || !h.fixture.is_none_or(Fixture::runs_core) {
            return;
        }
        let next = h.chain.len() as u64 + 1;
        self.trace(|| format!("node {i} restarts at height {next}"));
        self.boot(i);
    }

    /// Starts a node's engine from its store and write-ahead log; transactions always wait.
    fn boot(&mut self, i: usize) {
        let h = &self.hosts[i];
        // As the node builds its schedule from its stored state before it starts the engine.
        let mut config = self.config.clone();
        for (adopted, members) in &self.sc.set_changes {
            if *adopted <= h.chain.len() as u64 {
                config
                    .schedule
                    .insert(adopted + ACTIVATION_DELAY, Self::set_of(members));
            }
        }
        let (engine, effects) = Engine::start(
            config,
            Some(h.key.clone()),
            self.policy,
            h.chain.len() as u64,
            &h.records_for_next(),
            h.kept
                .iter()
                .filter(|(height, _)| *height == h.chain.len() as u64 + 1)
                .map(|(_, hash)| (*hash, ()))
                .collect(),
            self.now,
        );
        self.hosts[i].engine = Some(engine);
        self.feed_effects(
            i,
            effects,
            VecDeque::from([EngineEvent::TransactionArrived]),
        );
    }

    fn key_of(&self, i: usize) -> PublicKey {
        self.hosts[i].key.public()
    }

    fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.hosts.iter().position(|h| h.key.public() == *key)
    }

    /// The set of `members` (node indices, in proposer order).
    fn set_of(members: &[usize]) -> ValidatorSet {
        ValidatorSet::new(
            members
                .iter()
                .map(|i| (format!("v{i}"), sim_key(*i).public()))
                .collect(),
        )
    }

    /// What the ledger's adopting block at `height` scheduled, handed to node `i`'s engine as
    /// its host does once the block is stored.
    fn schedule_changes(&mut self, i: usize, height: u64) {
        let changes: Vec<ValidatorSet> = self
            .sc
            .set_changes
            .iter()
            .filter(|(h, _)| *h == height)
            .map(|(_, m)| Self::set_of(m))
            .collect();
        if let Some(engine) = self.hosts[i].engine.as_mut() {
            for set in changes {
                engine.schedule_validators(height + ACTIVATION_DELAY, set);
            }
        }
    }

    /// The validator schedule every host ends up with: the truth to check chains against.
    fn full_schedule(&self) -> ValidatorSchedule {
        let mut s = self.config.schedule.clone();
        for (h, m) in &self.sc.set_changes {
            s.insert(h + ACTIVATION_DELAY, Self::set_of(m));
        }
        s
    }

    fn send(&mut self, from: usize, to: usize, msg: WireMessage) {
        if let Some(d) = self.network.transmit(&mut self.rng, from, to) {
            let at = self.now + d;
            self.schedule(at, Event::Deliver { to, from, msg });
        }
    }

    fn broadcast(&mut self, from: usize, msg: WireMessage) {
        for to in 0..self.hosts.len() {
            if to != from {
                self.send(from, to, msg.clone());
            }
        }
    }

    /// A gossip tick: a correct node tells everyone its committed height, and every running
    /// engine is ticked (it re-sends and relays from there).
    fn gossip(&mut self, node: usize) {
        let h = &self.hosts[node];
        if h.engine.is_none() {
            return;
        }
        if h.correct() {
            let status = WireMessage::Status {
                height: h.chain.len() as u64,
            };
            self.broadcast(node, status);
        }
        self.feed(node, EngineEvent::Tick { txs_waiting: true });
    }

    fn deliver(&mut self, to: usize, from: usize, msg: WireMessage) {
        if self.hosts[to].engine.is_none() {
            return;
        }
        if let Some(fixture) = self.hosts[to].fixture {
            let peers: Vec<usize> = (0..self.hosts.len()).filter(|p| *p != to).collect();
            let key = self.hosts[to].key.clone();
            let mut ctx = ByzantineContext {
                key: &key,
                peers: &peers,
                rng: &mut self.rng,
                registry: &mut self.registry,
                chain_id: SIM_CHAIN_ID,
            };
            for (peer, m) in fixture.on_receive(&mut ctx, &msg) {
                self.send(to, peer, m);
            }
        }
        let event = match msg {
            WireMessage::Proposal(proposal) => {
                EngineEvent::Message(Message::Proposal { proposal, body: () })
            }
            WireMessage::Vote(v) => EngineEvent::Message(Message::Vote(v)),
            WireMessage::Decision {
                proposal,
                precommits,
            } => EngineEvent::Message(Message::Decision {
                proposal,
                body: (),
                precommits,
            }),
            WireMessage::Status { height } => EngineEvent::PeerStatus {
                peer: self.key_of(from),
                height,
            },
            WireMessage::SyncRequest { from: first } => {
                self.serve_sync(to, from, first);
                return;
            }
            WireMessage::SyncResponse { blocks } => {
                match self.hosts[to].sync_request {
                    Some((_, peer)) if peer == from => self.hosts[to].sync_request = None,
                    _ => return,
                }
                self.store_synced(to, from, blocks)
            }
        };
        self.feed(to, event);
    }

    /// Block sync, serving side: the blocks from `first` on that were committed at least the
    /// scenario's sync delay ago (a slow block sync leaves room for rounds to go on).
    fn serve_sync(&mut self, node: usize, peer: usize, first: u64) {
        let h = &self.hosts[node];
        if !h.correct() || first == 0 {
            return;
        }
        let blocks: Vec<Committed> = h
            .chain
            .iter()
            .skip(first as usize - 1)
            .take(SYNC_WINDOW)
            .take_while(|c| c.time_ms + self.sc.sync_delay_ms <= self.now)
            .cloned()
            .collect();
        self.send(node, peer, WireMessage::SyncResponse { blocks });
    }

    /// Block sync, receiving side: stores each block that extends the chain and whose
    /// certificate and validity check out, as the node does.
    fn store_synced(
        &mut self,
        node: usize,
        from: usize,
        blocks: Vec<Committed>,
    ) -> EngineEvent<()> {
        let peer = self.key_of(from);
        for c in blocks {
            let h = &self.hosts[node];
            let height = h.chain.len() as u64 + 1;
            if c.certificate.height != height {
                continue;
            }
            // Against the set this node's own schedule gives the height, as the node's chain
            // verifies a synced block against the set its state has in force.
            let Some(set) = h
                .engine
                .as_ref()
                .map(|e| e.config().validators(height).clone())
            else {
                return EngineEvent::SyncFailed { peer };
            };
            let certified = c
                .certificate
                .verify(SIM_CHAIN_ID, &set, height, &c.hash)
                .is_ok()
                && self.registry.is_valid(&c.hash, height, h.tip())
                && c.proposal.proposal.block_hash == c.hash;
            if !certified {
                return EngineEvent::SyncFailed { peer };
            }
            let round = c.certificate.round;
            self.hosts[node].chain.push(Committed {
                time_ms: self.now,
                ..c
            });
            self.schedule_changes(node, height);
            if self.hosts[node].correct() {
                self.report.commits.push(CommitEvent {
                    time_ms: self.now,
                    node,
                    height,
                    round,
                });
                self.trace(|| format!("node {node} syncs height {height} from node {from}"));
            }
        }
        let h = &self.hosts[node];
        EngineEvent::Synced {
            peer,
            tip: h.chain.len() as u64,
            records: h.records_for_next(),
        }
    }

    /// Feeds a node's engine one event and carries out the effects, feeding back whatever the
    /// host answers at once.
    fn feed(&mut self, node: usize, event: EngineEvent<()>) {
        self.feed_effects(node, Vec::new(), VecDeque::from([event]));
    }

    fn feed_effects(
        &mut self,
        node: usize,
        first: Vec<Effect<()>>,
        mut events: VecDeque<EngineEvent<()>>,
    ) {
        let mut effects = first;
        loop {
            for e in effects {
                let persisted_vote = matches!(e, Effect::Persist(WalRecord::Vote(_)));
                self.execute(node, e, &mut events);
                if persisted_vote
                    && self.hosts[node].correct()
                    && self.now < self.sc.chaos_until_ms
                    && self.rng.chance(self.sc.crash_after_persist_per_mille)
                {
                    self.trace(|| format!("node {node} crashes after persisting a vote"));
                    self.crash(node);
                    self.report.crashes_after_persist += 1;
                    self.pending_faults += 1;
                    let back = self.now + self.rng.range(50, 1500);
                    self.schedule(back, Event::Fault(FaultEvent::Restart(node)));
                    return;
                }
            }
            let Some(event) = events.pop_front() else {
                return;
            };
            let now = self.now;
            let Some(engine) = self.hosts[node].engine.as_mut() else {
                return;
            };
            effects = engine.handle(now, event);
        }
    }

    fn check_signed(&mut self, node: usize, v: &Vote) {
        let b = &v.body;
        let slot = (node, b.height, b.round, b.kind);
        match self.signed.get(&slot) {
            Some(prev) if prev != v => self.report.violations.push(format!(
                "double sign: correct node {node} signed {:?} and {:?} at height {} round {} {:?}",
                prev.body.block, b.block, b.height, b.round, b.kind
            )),
            Some(_) => {}
            None => {
                self.signed.insert(slot, v.clone());
            }
        }
    }

    fn wire(m: Message<()>) -> WireMessage {
        match m {
            Message::Proposal { proposal, .. } => WireMessage::Proposal(proposal),
            Message::Vote(v) => WireMessage::Vote(v),
            Message::Decision {
                proposal,
                precommits,
                ..
            } => WireMessage::Decision {
                proposal,
                precommits,
            },
        }
    }

    fn execute(&mut self, node: usize, effect: Effect<()>, events: &mut VecDeque<EngineEvent<()>>) {
        let correct = self.hosts[node].correct();
        let epoch = self.hosts[node].epoch;
        match effect {
            Effect::Persist(rec) => {
                if let (true, WalRecord::Vote(v)) = (correct, &rec) {
                    self.check_signed(node, v);
                }
                self.hosts[node].wal.push(rec);
            }
            Effect::KeepBody { height, block_hash } => {
                self.hosts[node].kept.push((height, block_hash));
            }
            Effect::Broadcast(m) => {
                if let Message::Vote(v) = &m {
                    // A restarted engine also re-sends the polka that justifies its lock
                    // (others' votes); only its own votes are subject to the signing checks.
                    if correct && v.body.validator == self.hosts[node].key.public() {
                        self.check_signed(node, v);
                        let logged = self.hosts[node]
                            .wal
                            .iter()
                            .any(|r| matches!(r, WalRecord::Vote(w) if w == v));
                        if !logged {
                            self.report.violations.push(format!(
                                "node {node} broadcast a vote it had not persisted: {:?}",
                                v.body
                            ));
                        }
                    }
                }
                self.send_own(node, Self::wire(m));
            }
            // Byzantine nodes say things once, as their fixture dictates.
            Effect::Resend(ms) if correct => {
                for m in ms {
                    self.broadcast(node, Self::wire(m));
                }
            }
            Effect::Relay(ms) if correct && self.hosts.len() > 1 => {
                // The gossip layer's "what one correct node received, all eventually receive":
                // to one random peer per tick.
                let total = self.hosts.len();
                let peer = (node + 1 + self.rng.pick(total - 1)) % total;
                for m in ms {
                    self.send(node, peer, Self::wire(m));
                }
            }
            Effect::SendTo(peer, m) if correct => {
                if let Some(to) = self.index_of(&peer) {
                    self.send(node, to, Self::wire(m));
                }
            }
            Effect::Resend(_) | Effect::Relay(_) | Effect::SendTo(..) => {}
            Effect::ScheduleTimeout(t) => {
                let at = self.now + t.duration_ms;
                self.schedule(
                    at,
                    Event::Timer {
                        node,
                        epoch,
                        timeout: t,
                    },
                );
            }
            Effect::BuildValue { height, round } => {
                let block = SimBlock {
                    height,
                    prev: self.hosts[node].tip(),
                    proposer: node,
                    payload: self.rng.next_u64(),
                    valid: true,
                };
                let block_hash = self.registry.insert(block);
                let at = self.now + self.rng.range(0, 10);
                self.schedule(
                    at,
                    Event::HostInput {
                        node,
                        epoch,
                        input: EngineEvent::ValueBuilt {
                            height,
                            round,
                            value: Some((block_hash, ())),
                        },
                    },
                );
            }
            Effect::Validate {
                height,
                round,
                block_hash,
            } => {
                let valid = self
                    .registry
                    .is_valid(&block_hash, height, self.hosts[node].tip());
                let at = self.now + self.rng.range(0, 10);
                self.schedule(
                    at,
                    Event::HostInput {
                        node,
                        epoch,
                        input: EngineEvent::ProposalValidated {
                            height,
                            round,
                            block_hash,
                            valid,
                        },
                    },
                );
            }
            Effect::Commit {
                height,
                block_hash,
                certificate,
            } => {
                let h = &self.hosts[node];
                if height != h.chain.len() as u64 + 1 {
                    if correct {
                        self.report.violations.push(format!(
                            "node {node} committed height {height} on top of height {}",
                            h.chain.len()
                        ));
                    }
                    events.push_back(EngineEvent::CommitFailed { height });
                    return;
                }
                let proposal = h
                    .engine
                    .as_ref()
                    .and_then(|e| e.proposal(&block_hash))
                    .cloned();
                let Some(proposal) = proposal else {
                    if correct {
                        self.report.violations.push(format!(
                            "node {node} committed {block_hash} at height {height} without having seen its proposal"
                        ));
                    }
                    events.push_back(EngineEvent::CommitFailed { height });
                    return;
                };
                let round = certificate.round;
                self.hosts[node].chain.push(Committed {
                    hash: block_hash,
                    certificate,
                    proposal,
                    time_ms: self.now,
                });
                self.schedule_changes(node, height);
                if correct {
                    self.report.commits.push(CommitEvent {
                        time_ms: self.now,
                        node,
                        height,
                        round,
                    });
                    self.trace(|| format!("node {node} commits height {height} in round {round}"));
                }
                events.push_back(EngineEvent::Committed {
                    height,
                    txs_waiting: true,
                });
            }
            Effect::Sync { peer, from } => {
                let Some(to) = self.index_of(&peer) else {
                    events.push_back(EngineEvent::SyncFailed { peer });
                    return;
                };
                self.sync_requests += 1;
                let request = self.sync_requests;
                self.hosts[node].sync_request = Some((request, to));
                self.send(node, to, WireMessage::SyncRequest { from });
                let at = self.now + SYNC_TIMEOUT_MS;
                self.schedule(
                    at,
                    Event::SyncTimeout {
                        node,
                        epoch,
                        request,
                    },
                );
            }
            Effect::Evidence(e) => {
                if !correct {
                    return;
                }
                let real = e.first.conflicts_with(&e.second)
                    && e.first.verify_signature().is_ok()
                    && e.second.verify_signature().is_ok();
                let culprit = self.index_of(&e.first.body.validator).unwrap_or(usize::MAX);
                if !real || self.hosts.get(culprit).is_none_or(Host::correct) {
                    self.report.violations.push(format!(
                        "node {node} reported bogus evidence against node {culprit}"
                    ));
                }
                self.report.evidence += 1;
            }
            Effect::ProposalEvidence(e) => {
                if !correct {
                    return;
                }
                let culprit = self
                    .index_of(&e.first.proposal.proposer)
                    .unwrap_or(usize::MAX);
                if self.hosts.get(culprit).is_none_or(Host::correct) {
                    self.report.violations.push(format!(
                        "node {node} reported bogus proposal evidence against node {culprit}"
                    ));
                }
                self.report.proposal_evidence += 1;
            }
            Effect::DuplicateKey { height, kind, .. } => {
                // No two hosts share a key here: a report by a correct node is a false alarm
                // that would stop it signing. (A Byzantine fixture's host signs behind its
                // engine's back, which its engine rightly reports.)
                if correct {
                    self.report.violations.push(format!(
                        "node {node} reported its own key signing elsewhere ({kind} at height {height})"
                    ));
                }
            }
            Effect::MissedProposal { .. } | Effect::RoundTimedOut { .. } => {}
        }
    }

    /// Sends a node's own new message: honestly, or as its fixture dictates.
    fn send_own(&mut self, node: usize, msg: WireMessage) {
        match self.hosts[node].fixture {
            None => self.broadcast(node, msg),
            Some(fixture) => {
                let peers: Vec<usize> = (0..self.hosts.len()).filter(|p| *p != node).collect();
                let key = self.hosts[node].key.clone();
                let mut ctx = ByzantineContext {
                    key: &key,
                    peers: &peers,
                    rng: &mut self.rng,
                    registry: &mut self.registry,
                    chain_id: SIM_CHAIN_ID,
                };
                for (to, m) in fixture.broadcast(&mut ctx, msg) {
                    self.send(node, to, m);
                }
            }
        }
    }

    fn finish(mut self) -> Report {
        self.report.end_ms = self.now;
        let chains: Vec<Option<&[Committed]>> = self
            .hosts
            .iter()
            .map(|h| h.correct().then_some(h.chain.as_slice()))
            .collect();
        let schedule = self.full_schedule();
        let mut v = check_chains(&chains, &self.registry, SIM_CHAIN_ID, &schedule);
        self.report.violations.append(&mut v);
        let target = self.target_height();
        for (i, h) in self.hosts.iter().enumerate() {
            if h.correct() && h.engine.is_some() && (h.chain.len() as u64) < target {
                self.report.violations.push(format!(
                    "liveness: after the last fault ended at {} ms (height {}), node {i} reached only height {} of {target} by {} ms",
                    self.report.recovery_ms,
                    self.report.height_at_recovery,
                    h.chain.len(),
                    self.now
                ));
            }
        }
        self.report.heights = self.hosts.iter().map(|h| h.chain.len() as u64).collect();
        if let Some(best) = self
            .hosts
            .iter()
            .filter(|h| h.correct())
            .max_by_key(|h| h.chain.len())
        {
            self.report.rounds = best.chain.iter().map(|c| c.certificate.round).collect();
            self.report.signers = best
                .chain
                .iter()
                .map(|c| {
                    c.certificate
                        .signatures
                        .iter()
                        .map(|s| s.validator)
                        .collect()
                })
                .collect();
        }
        if self.sc.trace {
            for (i, h) in self.hosts.iter().enumerate() {
                if let Some(c) = h.engine.as_ref().map(Engine::core) {
                    eprintln!(
                        "node {i}: height {} round {} step {:?} locked {:?} valid {:?} buffered {}",
                        c.height(),
                        c.round(),
                        c.step_kind(),
                        c.locked(),
                        c.valid_value(),
                        c.buffered()
                    );
                    eprintln!("    {}", c.tally_summary(c.round()));
                    eprintln!("    {}", c.tally_summary(0));
                }
            }
            eprintln!("{:#?}", self.report.violations);
        }
        self.report
    }
}
