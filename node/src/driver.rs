//! The consensus driver: the only place where consensus meets time, the network and the disk.
//!
//! It feeds the pure [`Core`] with gossiped proposals and votes and with fired timers, and
//! executes its actions in order: write-ahead records are durable before the broadcast they
//! protect, proposed blocks are built from the mempool and checked against the ledger, and
//! decided blocks are committed through the store in one batch. An idle chain stays quiet: a new
//! height starts only when a transaction waits, a peer is already working on it, or the
//! heartbeat is due. A node that is behind fetches blocks from peers, verifies each block's links
//! and certificate, and only then rejoins consensus at the new height.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portledger_consensus::{Action, ConsensusConfig, Core, Input, Timeout, TimeoutStep, WalStore};
use portledger_ledger::block::Block;
use portledger_ledger::chain::Execution;
use portledger_ledger::codec;
use portledger_ledger::{CommitCertificate, Hash, Keypair, PublicKey, StoreError};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::messages::{self, Limits, ProposalMessage, VoteMessage};
use crate::metrics::ValidatorLabel;
use crate::network::{NetworkError, NetworkEvent, NetworkHandle, SyncStatus, SyncedBlock, Topic};
use crate::shared::{now_ms, Shared};

/// Blocks fetched per sync request.
const SYNC_WINDOW: u32 = 64;

/// Driver settings.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Consensus configuration (timeouts may be overridden by the node config).
    pub consensus: ConsensusConfig,
    /// Heartbeat: an idle chain commits an empty block this often.
    pub heartbeat: Duration,
    /// Largest time a block may be ahead of the local clock.
    pub max_clock_drift_ms: u64,
}

/// The result of a sync request, sent back to the driver loop.
struct SyncResult {
    peer: PublicKey,
    blocks: Result<Vec<SyncedBlock>, NetworkError>,
}

/// The driver's state.
pub struct Driver {
    shared: Arc<Shared>,
    network: NetworkHandle,
    key: Keypair,
    config: DriverConfig,
    limits: Limits,
    core: Core,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    timer_map: HashMap<u64, Timeout>,
    timer_seq: u64,
    blocks: HashMap<Hash, Block>,
    executions: HashMap<Hash, Execution>,
    waiting_to_start: bool,
    last_commit_at: Instant,
    height_started_at: Instant,
    peer_tips: HashMap<PublicKey, SyncStatus>,
    sync_in_flight: bool,
    sync_tx: mpsc::Sender<SyncResult>,
    sync_rx: mpsc::Receiver<SyncResult>,
    proposals_seen: HashSet<(u64, u32)>,
    decided_without_body: Option<(u64, Hash, CommitCertificate)>,
    /// What this node sent for the current height, by (round, kind), for periodic re-sending.
    sent: BTreeMap<(u32, u8), Sent>,
    resends: u32,
}

/// A message this node sent in the current height.
#[derive(Debug, Clone)]
enum Sent {
    Proposal(Box<ProposalMessage>),
    Vote(portledger_ledger::Vote),
}

impl Driver {
    /// A driver for the chain in `shared`, rebuilt from the write-ahead log when the node
    /// stopped mid-height.
    pub fn new(
        shared: Arc<Shared>,
        network: NetworkHandle,
        key: Keypair,
        config: DriverConfig,
    ) -> Driver {
        let limits = Limits::of(&shared.genesis);
        let (sync_tx, sync_rx) = mpsc::channel(4);
        let mut d = Driver {
            core: Core::new(config.consensus.clone(), None, 0),
            shared,
            network,
            key,
            config,
            limits,
            timers: BinaryHeap::new(),
            timer_map: HashMap::new(),
            timer_seq: 0,
            blocks: HashMap::new(),
            executions: HashMap::new(),
            waiting_to_start: true,
            last_commit_at: Instant::now(),
            height_started_at: Instant::now(),
            peer_tips: HashMap::new(),
            sync_in_flight: false,
            sync_tx,
            sync_rx,
            proposals_seen: HashSet::new(),
            decided_without_body: None,
            sent: BTreeMap::new(),
            resends: 0,
        };
        d.rebuild_core();
        d
    }

    fn tip_height(&self) -> u64 {
        self.shared.tip().height
    }

    /// A fresh core at tip + 1, restored from any write-ahead records of that height, so that a
    /// restarted validator re-sends rather than re-signs. Started at once if it holds records.
    fn rebuild_core(&mut self) {
        let next = self.tip_height() + 1;
        let (records, unreadable) = self.shared.store().wal(next).unwrap_or_default();
        if unreadable > 0 {
            warn!(
                height = next,
                unreadable, "write-ahead records that do not decode were left out"
            );
        }
        let resume = !records.is_empty();
        let mut core = Core::restore(
            self.config.consensus.clone(),
            Some(self.key.clone()),
            &records,
        );
        if core.height() > next {
            // Records from a height we have not reached cannot be used here.
            core = Core::new(self.config.consensus.clone(), Some(self.key.clone()), next);
        }
        self.core = core;
        self.timers.clear();
        self.timer_map.clear();
        self.sent.clear();
        self.waiting_to_start = true;
        if resume {
            info!(
                height = next,
                records = records.len(),
                "resuming height from write-ahead log"
            );
            self.start_height();
        }
    }

    fn start_height(&mut self) {
        if !self.waiting_to_start {
            return;
        }
        self.waiting_to_start = false;
        self.height_started_at = Instant::now();
        let height = self.tip_height() + 1;
        debug!(height, "starting height");
        self.step(Input::StartHeight { height });
    }

    /// Starts the next height when there is a reason to: a waiting transaction, the heartbeat,
    /// or (by the caller) a peer already working on it.
    fn maybe_start_height(&mut self) {
        if !self.waiting_to_start || self.shared.is_syncing() {
            return;
        }
        let has_txs = self.shared.waiting() > 0;
        if has_txs || self.last_commit_at.elapsed() >= self.config.heartbeat {
            self.start_height();
        }
    }

    /// Runs the driver until `shutdown` turns true or the network stops.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut resend = tokio::time::interval(Duration::from_millis(1000));
        resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        loop {
            let next_timer = self
                .timers
                .peek()
                .map(|Reverse((at, _))| *at)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = shutdown.changed() => break,
                ev = events.recv() => match ev {
                    Some(ev) => self.on_network(ev),
                    None => break,
                },
                Some(res) = self.sync_rx.recv() => self.on_sync(res),
                _ = tokio::time::sleep_until(next_timer.into()) => self.fire_timers(),
                _ = shared.tx_arrived() => self.maybe_start_height(),
                _ = resend.tick() => self.resend(),
                _ = tick.tick() => {
                    self.maybe_start_height();
                    self.maybe_sync();
                    self.shared.metrics.round.set(i64::from(self.core.round()));
                }
            }
        }
        info!("consensus driver stopped");
    }

    fn on_network(&mut self, ev: NetworkEvent) {
        match ev {
            NetworkEvent::Message { topic, data, from } => match topic {
                Topic::Transactions => {
                    if let Ok(txs) = messages::decode_tx_batch(&data, &self.limits) {
                        for e in self
                            .shared
                            .admit_all(txs)
                            .into_iter()
                            .filter_map(Result::err)
                        {
                            debug!(%from, error = %e, "gossiped transaction not admitted");
                        }
                    }
                }
                Topic::Proposals => {
                    if let Ok(m) = messages::decode_proposal(&data, &self.limits) {
                        self.on_proposal(m);
                    }
                }
                Topic::Votes => {
                    if let Ok(v) = messages::decode_vote(&data) {
                        let tip = self.tip_height();
                        if v.body.height == tip + 1 {
                            self.start_height();
                        } else if v.body.height > tip + 1 {
                            self.maybe_sync();
                        }
                        self.step(Input::VoteReceived(v));
                    }
                }
            },
            NetworkEvent::PeerConnected(p) => {
                self.shared.set_peer(p, true);
            }
            NetworkEvent::PeerDisconnected(p) => {
                self.shared.set_peer(p, false);
                self.peer_tips.remove(&p);
            }
            NetworkEvent::PeerStatus { peer, status } => {
                self.peer_tips.insert(peer, status);
                self.maybe_sync();
            }
        }
    }

    fn on_proposal(&mut self, m: ProposalMessage) {
        let p = &m.proposal.proposal;
        let tip = self.tip_height();
        if p.height <= tip || p.height > tip + 2 {
            if p.height > tip + 2 {
                self.maybe_sync();
            }
            return;
        }
        self.proposals_seen.insert((p.height, p.round));
        self.blocks.insert(p.block_hash, m.block);
        if p.height == tip + 1 {
            self.start_height();
        }
        self.step(Input::ProposalReceived(m.proposal));
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(t) = self.timer_map.remove(&id) {
                if t.height == self.core.height() {
                    if t.step == TimeoutStep::Propose
                        && !self.proposals_seen.contains(&(t.height, t.round))
                    {
                        let proposer = self.config.consensus.validators.proposer(t.height, t.round);
                        let name = self
                            .config
                            .consensus
                            .validators
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
                    }
                    if t.step == TimeoutStep::Precommit {
                        self.shared.metrics.rounds_timed_out.inc();
                    }
                }
                self.step(Input::TimeoutFired(t));
            }
        }
    }

    /// Feeds one input and executes the resulting actions (and those of any follow-up inputs).
    fn step(&mut self, input: Input) {
        let _span = tracing::debug_span!(
            "step",
            height = self.core.height(),
            round = self.core.round()
        )
        .entered();
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            let actions = self.core.step(input);
            for action in actions {
                match self.execute(action) {
                    Ok(Some(next)) => inputs.push_back(next),
                    Ok(None) => {}
                    Err(e) => {
                        // A write-ahead record that is not durable must not be broadcast:
                        // drop the rest of this step.
                        warn!(error = %e, "stopping this step: could not persist");
                        break;
                    }
                }
            }
        }
        self.shared.set_round(self.core.round());
        if self.waiting_to_start {
            self.maybe_start_height();
        }
    }

    fn publish(&self, topic: Topic, data: Vec<u8>) {
        let network = self.network.clone();
        tokio::spawn(async move {
            if let Err(e) = network.publish(topic, data).await {
                debug!(error = %e, ?topic, "publish failed");
            }
        });
    }

    /// Carries out one action of the core; a follow-up input, if any. The one failure is a
    /// write-ahead record that could not be made durable.
    fn execute(&mut self, action: Action) -> Result<Option<Input>, StoreError> {
        match action {
            Action::Persist(rec) => {
                self.shared.store().append_wal(&rec)?;
                Ok(None)
            }
            Action::BroadcastProposal(sp) => {
                if let Some(block) = self.blocks.get(&sp.proposal.block_hash) {
                    let msg = ProposalMessage {
                        proposal: sp,
                        block: block.clone(),
                        resend: 0,
                    };
                    self.publish(Topic::Proposals, codec::encode(&msg));
                    let (h, r) = (msg.proposal.proposal.height, msg.proposal.proposal.round);
                    self.proposals_seen.insert((h, r));
                    self.sent.insert((r, 0), Sent::Proposal(Box::new(msg)));
                }
                Ok(None)
            }
            Action::BroadcastVote(v) => {
                let msg = VoteMessage {
                    vote: v.clone(),
                    resend: 0,
                };
                self.publish(Topic::Votes, codec::encode(&msg));
                if v.body.validator == self.key.public() {
                    let kind = match v.body.kind {
                        portledger_ledger::VoteKind::Prevote => 1,
                        portledger_ledger::VoteKind::Precommit => 2,
                    };
                    self.sent.insert((v.body.round, kind), Sent::Vote(v));
                }
                Ok(None)
            }
            Action::ScheduleTimeout(t) => {
                let id = self.timer_seq;
                self.timer_seq += 1;
                self.timers.push(Reverse((
                    Instant::now() + Duration::from_millis(t.duration_ms),
                    id,
                )));
                self.timer_map.insert(id, t);
                Ok(None)
            }
            Action::RequestValue { height, round } => Ok(self.build_proposal(height, round)),
            Action::ValidateProposal {
                height,
                round,
                block_hash,
            } => {
                let valid = self.validate(height, &block_hash);
                Ok(Some(Input::ProposalValidated {
                    height,
                    round,
                    block_hash,
                    valid,
                }))
            }
            Action::Commit {
                height,
                block_hash,
                certificate,
            } => {
                self.commit(height, block_hash, certificate);
                Ok(None)
            }
            Action::Evidence(e) => {
                warn!(validator = %e.first.body.validator, height = e.first.body.height, "equivocating votes");
                self.shared.metrics.equivocations.inc();
                Ok(None)
            }
            Action::ProposalEvidence(e) => {
                warn!(proposer = %e.first.proposal.proposer, height = e.first.proposal.height, "equivocating proposals");
                self.shared.metrics.equivocations.inc();
                Ok(None)
            }
        }
    }

    /// Re-sends this node's proposal and votes of the current and previous round of the
    /// current height, so that a peer that (re)connected after the first sending still gets
    /// them; gossip does not replay old messages.
    fn resend(&mut self) {
        if self.waiting_to_start || !self.core.is_started() {
            return;
        }
        let height = self.core.height();
        let round = self.core.round();
        self.resends = self.resends.wrapping_add(1);
        let resend = self.resends;
        let mut out = Vec::new();
        for ((r, _), sent) in self.sent.iter() {
            if *r + 1 < round {
                continue;
            }
            match sent {
                Sent::Proposal(m) if m.proposal.proposal.height == height => {
                    let mut m = (**m).clone();
                    m.resend = resend;
                    out.push((Topic::Proposals, codec::encode(&m)));
                }
                Sent::Vote(v) if v.body.height == height => {
                    let m = VoteMessage {
                        vote: v.clone(),
                        resend,
                    };
                    out.push((Topic::Votes, codec::encode(&m)));
                }
                _ => {}
            }
        }
        for (topic, data) in out {
            self.publish(topic, data);
        }
    }

    fn build_proposal(&mut self, height: u64, round: u32) -> Option<Input> {
        let (block, exec, excluded) = self.shared.build_block(height, round, self.key.public())?;
        for e in excluded {
            debug!(tx = %e.hash, error = %e.error, "left out of the proposal");
        }
        let hash = block.hash();
        info!(height, round, txs = block.transactions.len(), %hash, "proposing");
        self.blocks.insert(hash, block);
        self.executions.insert(hash, exec);
        Some(Input::ValueToPropose {
            height,
            round,
            block_hash: hash,
        })
    }

    fn validate(&mut self, height: u64, hash: &Hash) -> bool {
        if self.executions.contains_key(hash) {
            return true;
        }
        let Some(block) = self.blocks.get(hash) else {
            return false;
        };
        if block.header.time_ms > now_ms() + self.config.max_clock_drift_ms {
            warn!(
                height,
                "proposed block time is too far ahead of this node's clock"
            );
            return false;
        }
        let result = self.shared.validate_block(block);
        match result {
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

    fn commit(&mut self, height: u64, hash: Hash, certificate: CommitCertificate) {
        if height <= self.tip_height() {
            return;
        }
        let Some(block) = self.blocks.get(&hash).cloned() else {
            warn!(height, %hash, "decided a block whose body this node lacks; fetching it");
            self.decided_without_body = Some((height, hash, certificate));
            self.maybe_sync();
            return;
        };
        let exec = self.executions.remove(&hash);
        if self.store_block(&block, &certificate, exec) {
            // The next height starts once this step's actions are done and there is a reason.
            self.waiting_to_start = true;
        }
    }

    /// Commits a block (validating it unless already executed) and does everything after.
    fn store_block(
        &mut self,
        block: &Block,
        certificate: &CommitCertificate,
        exec: Option<Execution>,
    ) -> bool {
        let height = block.header.height;
        if let Err(e) = self.shared.commit_block(block, certificate, exec) {
            warn!(height, error = %e, "block not committed");
            return false;
        }
        let m = &self.shared.metrics;
        m.commit_latency
            .observe(self.height_started_at.elapsed().as_secs_f64());
        if let Err(e) = self.shared.store().prune_wal(height) {
            warn!(error = %e, "could not prune the write-ahead log");
        }
        self.blocks.retain(|_, b| b.header.height > height);
        self.executions.clear();
        self.proposals_seen.retain(|(h, _)| *h > height);
        self.sent.clear();
        self.last_commit_at = Instant::now();
        info!(height, txs = block.transactions.len(), hash = %block.hash(), "committed");
        true
    }

    fn maybe_sync(&mut self) {
        if self.sync_in_flight {
            return;
        }
        let tip = self.tip_height();
        let stalled = self.last_commit_at.elapsed()
            > Duration::from_millis(self.config.consensus.timeouts.base_ms.saturating_mul(3));
        let best = self
            .peer_tips
            .iter()
            .filter(|(_, s)| {
                s.height > tip + 1
                    || (s.height > tip && (stalled || self.decided_without_body.is_some()))
            })
            .max_by_key(|(_, s)| s.height)
            .map(|(p, _)| *p);
        let Some(peer) = best else {
            return;
        };
        self.sync_in_flight = true;
        self.shared.set_syncing(true);
        let network = self.network.clone();
        let tx = self.sync_tx.clone();
        tokio::spawn(async move {
            let blocks = network.request_blocks(peer, tip + 1, SYNC_WINDOW).await;
            let _ = tx.send(SyncResult { peer, blocks }).await;
        });
    }

    fn on_sync(&mut self, res: SyncResult) {
        let _span = tracing::info_span!("sync", peer = %res.peer).entered();
        self.sync_in_flight = false;
        let blocks = match res.blocks {
            Ok(b) => b,
            Err(e) => {
                warn!(peer = %res.peer, error = %e, "sync request failed");
                self.peer_tips.remove(&res.peer);
                self.shared.set_syncing(false);
                return;
            }
        };
        let mut committed = 0;
        for sb in blocks {
            let (Ok(block), Ok(cert)) = (
                Block::decode(&sb.block, self.limits.proposal_bytes),
                codec::decode::<CommitCertificate>(&sb.certificate, 1 << 20),
            ) else {
                warn!(peer = %res.peer, "peer sent an undecodable block");
                break;
            };
            if block.header.height != self.tip_height() + 1 {
                break;
            }
            // commit_block checks links, every transaction and the certificate before storing.
            if !self.store_block(&block, &cert, None) {
                warn!(peer = %res.peer, height = block.header.height, "peer sent a block that does not verify");
                self.peer_tips.remove(&res.peer);
                break;
            }
            committed += 1;
        }
        if let Some((h, _, _)) = &self.decided_without_body {
            if *h <= self.tip_height() {
                self.decided_without_body = None;
            }
        }
        let behind = self
            .peer_tips
            .values()
            .any(|s| s.height > self.tip_height());
        self.shared.set_syncing(false);
        if committed > 0 {
            info!(
                height = self.tip_height(),
                blocks = committed,
                "caught up from peer"
            );
            self.rebuild_core();
        }
        if behind && committed > 0 {
            self.maybe_sync();
        }
    }
}
