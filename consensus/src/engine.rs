//! The engine: the host policy around the [`Core`], pure and deterministic, run unchanged by the
//! node's driver and by the seeded simulation.
//!
//! The core decides one height at a time and knows nothing of the chain, the network or time.
//! The engine adds what a validator needs around it, all of it here so that the simulation's
//! 1,000 seeds test exactly what production runs:
//!
//! - **Starting a height**: after a commit the next height starts only when there is a reason
//!   (a transaction waits, a peer is already working on it, or the heartbeat is due), so an idle
//!   chain stays quiet.
//! - **Bodies**: the proposal bodies of the current heights, so that a decided block is
//!   committed with its body; a block decided without one is fetched by block sync.
//! - **Re-sending and relaying**: this node's own messages of the current height are sent again
//!   every `resend_ms`, and others' messages of the current height are relayed, so that a peer
//!   that missed them (loss, a partition, a late connection) still gets them.
//! - **Answering a lagging peer**: a peer still deciding the height this node decided last gets
//!   the decided proposal, its body and the precommits.
//! - **Block sync**: when a peer is more than one height ahead, or ahead while this node is
//!   stalled or holds a decision without its body, the engine asks the host to fetch blocks.
//!
//! Events come in with the time in milliseconds ([`Engine::handle`]); effects go out in the
//! order they must be carried out. A [`Effect::Persist`] must be durable before any later effect
//! of the same batch; a host that cannot make it durable must stop feeding the engine (its vote
//! would otherwise go out unrecorded).

use std::collections::{BTreeMap, HashMap, HashSet};

use portledger_ledger::{
    CommitCertificate, Hash, Keypair, PublicKey, ValidatorSet, Vote, VoteKind,
};

use crate::action::{Action, Equivocation, ProposalEquivocation};
use crate::config::ConsensusConfig;
use crate::core::Core;
use crate::input::Input;
use crate::proposal::SignedProposal;
use crate::timeout::{Timeout, TimeoutStep};
use crate::wal::WalRecord;

/// Most others' messages kept for relaying at once (a bound against a flood).
const MAX_HEARD: usize = 4096;

/// The engine's timing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnginePolicy {
    /// An idle chain starts a height (an empty block) this often.
    pub heartbeat_ms: u64,
    /// Own and relayed messages of the current height are sent again this often.
    pub resend_ms: u64,
    /// No commit for this long while a peer is ahead: fall back to block sync.
    pub stall_ms: u64,
    /// A peer still deciding the height this node decided last is sent the decision this long
    /// after it was decided (earlier, the peer is likely just about to decide it itself).
    pub answer_lagging_after_ms: u64,
}

impl EnginePolicy {
    /// The production policy for a consensus configuration and a heartbeat.
    pub fn for_config(config: &ConsensusConfig, heartbeat_ms: u64) -> EnginePolicy {
        let base = config.timeouts.base_ms;
        EnginePolicy {
            heartbeat_ms,
            resend_ms: 1000,
            stall_ms: base.saturating_mul(3),
            answer_lagging_after_ms: base,
        }
    }
}

/// A consensus message between validators. `B` is the block body the host gives the engine
/// (the node's blocks; nothing in the simulation, whose bodies live in a registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<B> {
    /// A proposal with its block body.
    Proposal {
        /// The signed proposal.
        proposal: SignedProposal,
        /// The proposed block.
        body: B,
    },
    /// A prevote or precommit.
    Vote(Vote),
    /// A decided height, for a peer still deciding it: the proposal, its body and a quorum of
    /// precommits.
    Decision {
        /// The decided proposal.
        proposal: SignedProposal,
        /// Its block.
        body: B,
        /// The precommits of its commit certificate.
        precommits: Vec<Vote>,
    },
}

/// What the host tells the engine.
#[derive(Debug, Clone)]
pub enum Event<B> {
    /// A message from a peer (signatures not yet checked by the core).
    Message(Message<B>),
    /// Time passed (the host ticks the engine every few tens of milliseconds);
    /// `txs_waiting` says whether transactions wait in the mempool.
    Tick {
        /// Whether transactions wait.
        txs_waiting: bool,
    },
    /// A transaction was admitted to the mempool.
    TransactionArrived,
    /// A timeout asked for by [`Effect::ScheduleTimeout`] expired.
    TimeoutFired(Timeout),
    /// The answer to [`Effect::BuildValue`]: the block built, or `None` when the host could not
    /// build one for that height (its tip moved).
    ValueBuilt {
        /// Height asked for.
        height: u64,
        /// Round asked for.
        round: u32,
        /// The block's hash and body.
        value: Option<(Hash, B)>,
    },
    /// The answer to [`Effect::Validate`].
    ProposalValidated {
        /// Height.
        height: u64,
        /// Round of the proposal.
        round: u32,
        /// The block checked.
        block_hash: Hash,
        /// Whether it is valid on top of the committed chain.
        valid: bool,
    },
    /// The block of [`Effect::Commit`] is stored.
    Committed {
        /// Its height.
        height: u64,
        /// Whether transactions still wait in the mempool.
        txs_waiting: bool,
    },
    /// The block of [`Effect::Commit`] could not be stored (it does not verify).
    CommitFailed {
        /// Its height.
        height: u64,
    },
    /// A peer's committed height (the host learns it from status exchanges).
    PeerStatus {
        /// The peer.
        peer: PublicKey,
        /// Its committed height.
        height: u64,
    },
    /// A peer disconnected.
    PeerGone(PublicKey),
    /// The answer to [`Effect::Sync`]: the host stored blocks up to `tip` (the same tip when it
    /// stored none) and read the write-ahead records of the height after it.
    Synced {
        /// The peer asked.
        peer: PublicKey,
        /// The committed height now.
        tip: u64,
        /// Write-ahead records of height `tip + 1`.
        records: Vec<WalRecord>,
    },
    /// The request of [`Effect::Sync`] failed, or the peer sent a block that does not verify.
    SyncFailed {
        /// The peer asked.
        peer: PublicKey,
    },
}

/// What the engine asks the host to do, in order.
#[derive(Debug, Clone)]
pub enum Effect<B> {
    /// Append this record to the write-ahead log, durably, before going on.
    Persist(WalRecord),
    /// Keep the body of this block (its body is [`Engine::body`]) with the write-ahead log: the
    /// validator is about to precommit it, and after a crash it must still be able to propose
    /// the value it is locked on. Durable together with the [`Effect::Persist`] that follows.
    KeepBody {
        /// Height.
        height: u64,
        /// The block.
        block_hash: Hash,
    },
    /// Send this node's new message to every peer.
    Broadcast(Message<B>),
    /// Send these messages again to every peer: this node's own of the current height.
    Resend(Vec<Message<B>>),
    /// Pass on others' messages of the current height to peers that may have missed them.
    Relay(Vec<Message<B>>),
    /// Send one peer a message (a decision for a lagging peer).
    SendTo(PublicKey, Message<B>),
    /// Feed [`Event::TimeoutFired`] after `duration_ms`.
    ScheduleTimeout(Timeout),
    /// Build a block to propose and answer with [`Event::ValueBuilt`].
    BuildValue {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
    /// Check a proposed block (its body is [`Engine::body`]) and answer with
    /// [`Event::ProposalValidated`].
    Validate {
        /// Height.
        height: u64,
        /// Round of the proposal.
        round: u32,
        /// The block to check.
        block_hash: Hash,
    },
    /// Store the decided block (its body is [`Engine::body`]) with its certificate, then answer
    /// with [`Event::Committed`] or [`Event::CommitFailed`].
    Commit {
        /// Height.
        height: u64,
        /// The block.
        block_hash: Hash,
        /// Its commit certificate.
        certificate: CommitCertificate,
    },
    /// Fetch and store blocks from `from` on from `peer`, then answer with [`Event::Synced`] or
    /// [`Event::SyncFailed`].
    Sync {
        /// The peer to ask.
        peer: PublicKey,
        /// The first height wanted.
        from: u64,
    },
    /// Two conflicting votes by one validator.
    Evidence(Equivocation),
    /// Two conflicting proposals by one proposer.
    ProposalEvidence(ProposalEquivocation),
    /// The proposer of (`height`, `round`) sent no proposal in time.
    MissedProposal {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// Who should have proposed.
        proposer: PublicKey,
    },
    /// A valid message signed with this node's own key that it did not sign (its write-ahead
    /// log does not hold it): another live process runs the same validator key. The engine has
    /// stopped signing for good (it follows the chain as an observer); the host says so and an
    /// operator must stop one of the two before restarting this one.
    DuplicateKey {
        /// Height of the message.
        height: u64,
        /// Its round.
        round: u32,
        /// What it was: `proposal`, `prevote` or `precommit`.
        kind: &'static str,
    },
    /// A round ended without a decision (its precommit timeout fired).
    RoundTimedOut {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
}

/// Who sent a message and what about: the key under which others' messages are relayed once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HeardKey {
    Proposal(PublicKey, u64, u32, Hash),
    Vote(PublicKey, u64, u32, VoteKind, Option<Hash>),
}

/// The last height this node decided, kept for a peer still deciding it.
#[derive(Debug, Clone)]
struct LastDecision<B> {
    decided_ms: u64,
    proposal: SignedProposal,
    body: B,
    certificate: CommitCertificate,
}

/// The host policy around one [`Core`].
#[derive(Debug)]
pub struct Engine<B> {
    core: Core,
    config: ConsensusConfig,
    key: Option<Keypair>,
    policy: EnginePolicy,
    now: u64,
    /// Committed height.
    tip: u64,
    waiting_to_start: bool,
    txs_waiting: bool,
    last_commit_ms: u64,
    height_started_ms: u64,
    last_resend_ms: u64,
    /// Proposal bodies of the current heights, by block hash.
    bodies: HashMap<Hash, B>,
    /// Bodies the host keeps with the write-ahead log.
    kept: HashSet<Hash>,
    /// Signed proposals of the current heights, by block hash.
    proposals: HashMap<Hash, SignedProposal>,
    /// (height, round) of every proposal received or sent.
    proposals_seen: HashSet<(u64, u32)>,
    /// A block decided while this node lacked its body (or could not store it).
    decided_without_body: Option<(u64, Hash, CommitCertificate)>,
    /// A decided block handed to the host to store, not yet confirmed.
    committing: Option<(u64, Hash, CommitCertificate)>,
    /// This node's messages of the current height, by (round, kind: 0 proposal, 1 prevote,
    /// 2 precommit).
    own: BTreeMap<(u32, u8), Message<B>>,
    /// Others' votes this node's core sent for the current height: the polka that justifies
    /// a lock restored after a restart. Re-sent with the node's own messages, so that peers that
    /// missed them can follow the lock instead of stalling.
    justification: Vec<Vote>,
    /// Others' messages of the current and next height, in arrival order, for relaying.
    heard: Vec<(u64, u32, Message<B>)>,
    heard_keys: HashSet<HeardKey>,
    peer_tips: BTreeMap<PublicKey, u64>,
    sync_in_flight: Option<PublicKey>,
    last_decision: Option<LastDecision<B>>,
    /// When each lagging peer was last sent the decision.
    answered: BTreeMap<PublicKey, u64>,
    /// What this node signed at the current height, as its write-ahead log holds it: a message
    /// with its key that is not here was signed by another process.
    signed: HashSet<Signed>,
    /// The lowest height from which `signed` holds everything this node signed (the height
    /// it started or resynced at: the write-ahead log of earlier heights is pruned).
    signed_floor: u64,
    /// Set when another process was seen signing with this node's key.
    duplicate: Option<(u64, u32, &'static str)>,
}

/// One message this node signed, for recognising its own messages when they come back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Signed {
    Proposal(u64, u32, Hash),
    Vote(u64, u32, VoteKind, Option<Hash>),
}

impl Signed {
    fn of_record(record: &WalRecord) -> Option<Signed> {
        match record {
            WalRecord::Vote(v) => Some(Signed::Vote(
                v.body.height,
                v.body.round,
                v.body.kind,
                v.body.block,
            )),
            WalRecord::Proposal(p) => Some(Signed::Proposal(
                p.proposal.height,
                p.proposal.round,
                p.proposal.block_hash,
            )),
            WalRecord::Polka(_) => None,
        }
    }
}

impl<B: Clone> Engine<B> {
    /// An engine for a node whose committed height is `tip`, restored from the write-ahead
    /// records and kept bodies of height `tip + 1` (a restarted validator re-sends rather than
    /// re-signs, and can still propose the block it is locked on). The height is resumed at
    /// once when records exist; otherwise it waits for a reason to start.
    pub fn start(
        config: ConsensusConfig,
        key: Option<Keypair>,
        policy: EnginePolicy,
        tip: u64,
        records: &[WalRecord],
        bodies: Vec<(Hash, B)>,
        now: u64,
    ) -> (Engine<B>, Vec<Effect<B>>) {
        let mut e = Engine {
            core: Core::new(config.clone(), None, 0),
            config,
            key,
            policy,
            now,
            tip,
            waiting_to_start: true,
            txs_waiting: false,
            last_commit_ms: now,
            height_started_ms: now,
            last_resend_ms: now,
            kept: bodies.iter().map(|(h, _)| *h).collect(),
            bodies: bodies.into_iter().collect(),
            proposals: HashMap::new(),
            proposals_seen: HashSet::new(),
            decided_without_body: None,
            committing: None,
            own: BTreeMap::new(),
            justification: Vec::new(),
            heard: Vec::new(),
            heard_keys: HashSet::new(),
            peer_tips: BTreeMap::new(),
            sync_in_flight: None,
            last_decision: None,
            answered: BTreeMap::new(),
            signed: HashSet::new(),
            signed_floor: tip + 1,
            duplicate: None,
        };
        let mut out = Vec::new();
        e.rebuild_core(records, &mut out);
        (e, out)
    }

    /// Schedules validator set `set` from `height`: a change the ledger adopted, which the host
    /// adds once the adopting block is stored (the ledger puts `height` at least
    /// `ACTIVATION_DELAY` past it, beyond any height the engine has started). Returns whether
    /// anything changed.
    pub fn schedule_validators(&mut self, height: u64, set: ValidatorSet) -> bool {
        if !self.config.schedule.insert(height, set.clone()) {
            return false;
        }
        self.core.schedule_validators(height, set);
        true
    }

    /// Signs with `key` from the next height to start on: the node's rotated consensus key,
    /// once the validator set in force seats it. Ignored once a duplicate of this node's key
    /// was seen (it signs nothing any more).
    pub fn set_key(&mut self, key: Keypair) {
        if self.duplicate.is_some() {
            return;
        }
        self.key = Some(key.clone());
        self.core.set_signer(key);
    }

    /// The key it signs with, if any.
    pub fn key(&self) -> Option<&Keypair> {
        self.key.as_ref()
    }

    /// The configuration, with the validator schedule as the host has extended it.
    pub fn config(&self) -> &ConsensusConfig {
        &self.config
    }

    /// The height being decided (or about to be).
    pub fn height(&self) -> u64 {
        self.tip + 1
    }

    /// The committed height the engine knows of.
    pub fn tip(&self) -> u64 {
        self.tip
    }

    /// The core's round.
    pub fn round(&self) -> u32 {
        self.core.round()
    }

    /// Whether a block sync is in flight.
    pub fn is_syncing(&self) -> bool {
        self.sync_in_flight.is_some()
    }

    /// When the current height started (ms), for latency figures.
    pub fn height_started_ms(&self) -> u64 {
        self.height_started_ms
    }

    /// The core, for inspection.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The body of a proposed block of the current heights.
    pub fn body(&self, hash: &Hash) -> Option<&B> {
        self.bodies.get(hash)
    }

    /// The signed proposal of a block of the current heights.
    pub fn proposal(&self, hash: &Hash) -> Option<&SignedProposal> {
        self.proposals.get(hash)
    }

    /// Feeds one event at time `now` (ms); the effects to carry out, in order.
    pub fn handle(&mut self, now: u64, event: Event<B>) -> Vec<Effect<B>> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        match event {
            Event::Message(m) => self.on_message(m, &mut out),
            Event::Tick { txs_waiting } => {
                self.txs_waiting = txs_waiting;
                self.maybe_start_height(&mut out);
                self.maybe_sync(&mut out);
                if self.now.saturating_sub(self.last_resend_ms) >= self.policy.resend_ms {
                    self.last_resend_ms = self.now;
                    self.resend(&mut out);
                }
            }
            Event::TransactionArrived => {
                self.txs_waiting = true;
                self.maybe_start_height(&mut out);
            }
            Event::TimeoutFired(t) => self.on_timeout(t, &mut out),
            Event::ValueBuilt {
                height,
                round,
                value,
            } => {
                if let Some((block_hash, body)) = value {
                    if height == self.height() {
                        self.bodies.insert(block_hash, body);
                        self.step(
                            Input::ValueToPropose {
                                height,
                                round,
                                block_hash,
                            },
                            &mut out,
                        );
                    }
                }
            }
            Event::ProposalValidated {
                height,
                round,
                block_hash,
                valid,
            } => self.step(
                Input::ProposalValidated {
                    height,
                    round,
                    block_hash,
                    valid,
                },
                &mut out,
            ),
            Event::Committed {
                height,
                txs_waiting,
            } => {
                self.txs_waiting = txs_waiting;
                self.on_committed(height, &mut out);
            }
            Event::CommitFailed { height } => {
                if let Some(c) = self.committing.take().filter(|c| c.0 == height) {
                    // The decision stands (a quorum certified it); the body is what failed.
                    self.bodies.remove(&c.1);
                    self.decided_without_body = Some(c);
                    self.maybe_sync(&mut out);
                }
            }
            Event::PeerStatus { peer, height } => {
                self.peer_tips.insert(peer, height);
                self.answer_lagging(peer, height, &mut out);
                self.maybe_sync(&mut out);
            }
            Event::PeerGone(peer) => {
                self.peer_tips.remove(&peer);
            }
            Event::Synced { peer, tip, records } => {
                if self.sync_in_flight == Some(peer) {
                    self.sync_in_flight = None;
                }
                self.on_synced(tip, &records, &mut out);
            }
            Event::SyncFailed { peer } => {
                if self.sync_in_flight == Some(peer) {
                    self.sync_in_flight = None;
                }
                self.peer_tips.remove(&peer);
                self.maybe_start_height(&mut out);
            }
        }
        out
    }

    /// A fresh core at tip + 1, restored from `records` of that height; started at once if
    /// there are any.
    fn rebuild_core(&mut self, records: &[WalRecord], out: &mut Vec<Effect<B>>) {
        let next = self.tip + 1;
        let mut core = Core::restore(self.config.clone(), self.key.clone(), records);
        if core.height() != next {
            // Records of another height cannot be used here.
            core = Core::new(self.config.clone(), self.key.clone(), next);
        }
        self.core = core;
        self.own.clear();
        self.justification.clear();
        let me = self.key.as_ref().map(Keypair::public);
        self.signed = records
            .iter()
            .filter(|r| match r {
                WalRecord::Vote(v) => Some(v.body.validator) == me,
                _ => true,
            })
            .filter_map(Signed::of_record)
            .collect();
        self.signed_floor = next;
        self.waiting_to_start = true;
        if !records.is_empty() {
            self.start_height(out);
        }
    }

    fn start_height(&mut self, out: &mut Vec<Effect<B>>) {
        if !self.waiting_to_start {
            return;
        }
        self.waiting_to_start = false;
        self.height_started_ms = self.now;
        let height = self.height();
        self.step(Input::StartHeight { height }, out);
    }

    /// Starts the next height when there is a reason to: a waiting transaction or the
    /// heartbeat (a peer already working on it starts it from [`Engine::on_message`]).
    fn maybe_start_height(&mut self, out: &mut Vec<Effect<B>>) {
        if !self.waiting_to_start || self.is_syncing() || self.committing.is_some() {
            return;
        }
        let heartbeat_due =
            self.now.saturating_sub(self.last_commit_ms) >= self.policy.heartbeat_ms;
        if self.txs_waiting || heartbeat_due {
            self.start_height(out);
        }
    }

    fn on_message(&mut self, m: Message<B>, out: &mut Vec<Effect<B>>) {
        // Only single messages of the current height: a decision sent to a lagging node carries
        // precommits of a height already decided, which cannot be signed twice to any effect.
        if self.signed_elsewhere(&m) {
            self.stop_signing(&m, out);
        }
        match m {
            Message::Proposal { proposal, body } => self.on_proposal(proposal, body, out),
            Message::Vote(v) => self.on_vote(v, out),
            Message::Decision {
                proposal,
                body,
                precommits,
            } => {
                self.on_proposal(proposal, body, out);
                for v in precommits {
                    self.on_vote(v, out);
                }
            }
        }
    }

    /// Whether `m` is a validly signed proposal or vote, of the current height or the one just
    /// committed, under this node's key, that this node did not sign (for heights since it
    /// started or resynced, whose messages it knows).
    fn signed_elsewhere(&self, m: &Message<B>) -> bool {
        let Some(me) = self.key.as_ref().map(Keypair::public) else {
            return false;
        };
        let known = |h: u64| h >= self.signed_floor && h >= self.tip && h <= self.tip + 1;
        match m {
            Message::Proposal { proposal, .. } => {
                let p = &proposal.proposal;
                p.proposer == me
                    && known(p.height)
                    && !self
                        .signed
                        .contains(&Signed::Proposal(p.height, p.round, p.block_hash))
                    && proposal.verify_signature().is_ok()
            }
            Message::Vote(v) => {
                let b = &v.body;
                b.validator == me
                    && known(b.height)
                    && !self
                        .signed
                        .contains(&Signed::Vote(b.height, b.round, b.kind, b.block))
                    && v.verify_signature().is_ok()
            }
            Message::Decision { .. } => false,
        }
    }

    /// Another process signs with this node's key: never sign again, follow as an observer.
    fn stop_signing(&mut self, m: &Message<B>, out: &mut Vec<Effect<B>>) {
        let (height, round, kind) = match m {
            Message::Proposal { proposal, .. } => (
                proposal.proposal.height,
                proposal.proposal.round,
                "proposal",
            ),
            Message::Vote(v) => (
                v.body.height,
                v.body.round,
                match v.body.kind {
                    VoteKind::Prevote => "prevote",
                    VoteKind::Precommit => "precommit",
                },
            ),
            Message::Decision { .. } => return,
        };
        self.key = None;
        self.duplicate = Some((height, round, kind));
        self.own.clear();
        self.signed.clear();
        let started = self.core.is_started();
        self.core = Core::new(self.config.clone(), None, self.height());
        if started {
            self.waiting_to_start = true;
            self.start_height(out);
        }
        out.push(Effect::DuplicateKey {
            height,
            round,
            kind,
        });
    }

    /// Set (height, round, kind of message) once another process was seen signing with this
    /// node's key; the engine signs nothing from then on.
    pub fn duplicate_key(&self) -> Option<(u64, u32, &'static str)> {
        self.duplicate
    }

    fn on_proposal(&mut self, sp: SignedProposal, body: B, out: &mut Vec<Effect<B>>) {
        let p = &sp.proposal;
        let (height, round, hash) = (p.height, p.round, p.block_hash);
        if height <= self.tip || height > self.tip + 2 {
            if height > self.tip + 2 {
                self.maybe_sync(out);
            }
            return;
        }
        if !self.config.validators(height).contains(&p.proposer) {
            return;
        }
        self.proposals_seen.insert((height, round));
        self.hear(
            HeardKey::Proposal(p.proposer, height, round, hash),
            height,
            round,
            Message::Proposal {
                proposal: sp.clone(),
                body: body.clone(),
            },
        );
        self.bodies.entry(hash).or_insert(body);
        self.proposals.entry(hash).or_insert_with(|| sp.clone());
        if height == self.height() {
            self.start_height(out);
        }
        self.step(Input::ProposalReceived(sp), out);
        self.retry_decision(out);
    }

    fn on_vote(&mut self, v: Vote, out: &mut Vec<Effect<B>>) {
        let b = &v.body;
        if b.height > self.tip + 1 {
            self.maybe_sync(out);
        }
        if b.height <= self.tip || !self.config.validators(b.height).contains(&b.validator) {
            return;
        }
        let own = self.key.as_ref().map(Keypair::public) == Some(b.validator);
        if !own && b.height <= self.tip + 2 {
            self.hear(
                HeardKey::Vote(b.validator, b.height, b.round, b.kind, b.block),
                b.height,
                b.round,
                Message::Vote(v.clone()),
            );
        }
        if b.height == self.height() {
            self.start_height(out);
        }
        self.step(Input::VoteReceived(v), out);
    }

    fn hear(&mut self, key: HeardKey, height: u64, round: u32, m: Message<B>) {
        if self.heard.len() < MAX_HEARD && self.heard_keys.insert(key) {
            self.heard.push((height, round, m));
        }
    }

    fn on_timeout(&mut self, t: Timeout, out: &mut Vec<Effect<B>>) {
        if t.height == self.core.height() && self.core.is_started() {
            if t.step == TimeoutStep::Propose && !self.proposals_seen.contains(&(t.height, t.round))
            {
                out.push(Effect::MissedProposal {
                    height: t.height,
                    round: t.round,
                    proposer: self.config.validators(t.height).proposer(t.height, t.round),
                });
            }
            if t.step == TimeoutStep::Precommit {
                out.push(Effect::RoundTimedOut {
                    height: t.height,
                    round: t.round,
                });
            }
        }
        self.step(Input::TimeoutFired(t), out);
    }

    /// Steps the core and turns its actions into effects.
    fn step(&mut self, input: Input, out: &mut Vec<Effect<B>>) {
        let me = self.key.as_ref().map(Keypair::public);
        for action in self.core.step(input) {
            match action {
                Action::Persist(rec) => {
                    let mine = match &rec {
                        WalRecord::Vote(v) => me == Some(v.body.validator),
                        _ => true,
                    };
                    if mine {
                        if let Some(signed) = Signed::of_record(&rec) {
                            self.signed.insert(signed);
                        }
                    }
                    if let WalRecord::Vote(v) = &rec {
                        let b = &v.body;
                        if let (VoteKind::Precommit, Some(hash), true) =
                            (b.kind, b.block, me == Some(b.validator))
                        {
                            if self.bodies.contains_key(&hash) && self.kept.insert(hash) {
                                out.push(Effect::KeepBody {
                                    height: b.height,
                                    block_hash: hash,
                                });
                            }
                        }
                    }
                    out.push(Effect::Persist(rec));
                }
                Action::BroadcastProposal(sp) => {
                    let (h, r, hash) = (
                        sp.proposal.height,
                        sp.proposal.round,
                        sp.proposal.block_hash,
                    );
                    // A restored core re-proposes a block it built before the restart; without
                    // the body the proposal is useless to peers and is not sent.
                    let Some(body) = self.bodies.get(&hash).cloned() else {
                        continue;
                    };
                    self.proposals_seen.insert((h, r));
                    self.proposals.entry(hash).or_insert_with(|| sp.clone());
                    let m = Message::Proposal { proposal: sp, body };
                    self.own.insert((r, 0), m.clone());
                    out.push(Effect::Broadcast(m));
                }
                Action::BroadcastVote(v) => {
                    let own = self.key.as_ref().map(Keypair::public) == Some(v.body.validator);
                    if own && v.body.height == self.height() {
                        let kind = match v.body.kind {
                            VoteKind::Prevote => 1,
                            VoteKind::Precommit => 2,
                        };
                        self.own
                            .insert((v.body.round, kind), Message::Vote(v.clone()));
                    } else if v.body.height == self.height() && !self.justification.contains(&v) {
                        self.justification.push(v.clone());
                    }
                    out.push(Effect::Broadcast(Message::Vote(v)));
                }
                Action::ScheduleTimeout(t) => out.push(Effect::ScheduleTimeout(t)),
                Action::RequestValue { height, round } => {
                    out.push(Effect::BuildValue { height, round })
                }
                Action::ValidateProposal {
                    height,
                    round,
                    block_hash,
                } => {
                    if self.bodies.contains_key(&block_hash) {
                        out.push(Effect::Validate {
                            height,
                            round,
                            block_hash,
                        });
                    }
                    // Without the body the block cannot be checked: no prevote for it, which
                    // is what the core does until it hears a verdict.
                }
                Action::Commit {
                    height,
                    block_hash,
                    certificate,
                } => {
                    if height <= self.tip {
                        continue;
                    }
                    if self.bodies.contains_key(&block_hash) && self.committing.is_none() {
                        self.committing = Some((height, block_hash, certificate.clone()));
                        out.push(Effect::Commit {
                            height,
                            block_hash,
                            certificate,
                        });
                    } else {
                        self.decided_without_body = Some((height, block_hash, certificate));
                        self.maybe_sync(out);
                    }
                }
                Action::Evidence(e) => {
                    // Both votes to everyone at once: if the validator is honest but its key
                    // also runs elsewhere, it learns so from the vote it did not sign.
                    out.push(Effect::Relay(vec![
                        Message::Vote(e.first.clone()),
                        Message::Vote(e.second.clone()),
                    ]));
                    out.push(Effect::Evidence(e));
                }
                Action::ProposalEvidence(e) => {
                    let both: Vec<Message<B>> = [&e.first, &e.second]
                        .into_iter()
                        .filter_map(|sp| {
                            self.bodies
                                .get(&sp.proposal.block_hash)
                                .map(|body| Message::Proposal {
                                    proposal: sp.clone(),
                                    body: body.clone(),
                                })
                        })
                        .collect();
                    if !both.is_empty() {
                        out.push(Effect::Relay(both));
                    }
                    out.push(Effect::ProposalEvidence(e));
                }
            }
        }
    }

    /// A decision made without the body is committed as soon as the body arrives.
    fn retry_decision(&mut self, out: &mut Vec<Effect<B>>) {
        let ready = self
            .decided_without_body
            .as_ref()
            .is_some_and(|(h, hash, _)| *h == self.height() && self.bodies.contains_key(hash));
        if ready && self.committing.is_none() {
            if let Some((height, block_hash, certificate)) = self.decided_without_body.take() {
                self.committing = Some((height, block_hash, certificate.clone()));
                out.push(Effect::Commit {
                    height,
                    block_hash,
                    certificate,
                });
            }
        }
    }

    fn on_committed(&mut self, height: u64, out: &mut Vec<Effect<B>>) {
        let Some((h, hash, certificate)) = self.committing.take() else {
            return;
        };
        if h != height {
            self.committing = Some((h, hash, certificate));
            return;
        }
        if let (Some(proposal), Some(body)) = (self.proposals.get(&hash), self.bodies.get(&hash)) {
            self.last_decision = Some(LastDecision {
                decided_ms: self.now,
                proposal: proposal.clone(),
                body: body.clone(),
                certificate,
            });
        }
        self.advance_to(height);
        self.waiting_to_start = true;
        // Peers already working on the next height: join them at once.
        if self.heard.iter().any(|(h, _, _)| *h == self.height()) {
            self.start_height(out);
        }
        self.maybe_start_height(out);
    }

    /// Forgets what belonged to heights up to `tip`, which is now committed.
    fn advance_to(&mut self, tip: u64) {
        self.tip = tip;
        self.last_commit_ms = self.now;
        let keep: HashSet<Hash> = self
            .proposals
            .iter()
            .filter(|(_, p)| p.proposal.height > tip)
            .map(|(h, _)| *h)
            .collect();
        self.proposals.retain(|h, _| keep.contains(h));
        // A body is kept only if a live proposal names it (or this node built it for a
        // height not yet reached: none, since building is for the current height).
        self.bodies.retain(|h, _| keep.contains(h));
        self.kept.retain(|h| keep.contains(h));
        self.proposals_seen.retain(|(h, _)| *h > tip);
        self.own.clear();
        self.justification.clear();
        // The height just committed stays: its messages still travel (relayed evidence).
        self.signed.retain(|s| match s {
            Signed::Proposal(h, _, _) | Signed::Vote(h, _, _, _) => *h >= tip,
        });
        self.heard.retain(|(h, _, _)| *h > tip);
        self.heard_keys.retain(|k| match k {
            HeardKey::Proposal(_, h, _, _) | HeardKey::Vote(_, h, _, _, _) => *h > tip,
        });
        if self
            .decided_without_body
            .as_ref()
            .is_some_and(|(h, _, _)| *h <= tip)
        {
            self.decided_without_body = None;
        }
        self.answered.clear();
    }

    fn on_synced(&mut self, tip: u64, records: &[WalRecord], out: &mut Vec<Effect<B>>) {
        if tip > self.tip {
            self.committing = None;
            self.last_decision = None;
            self.advance_to(tip);
            self.rebuild_core(records, out);
            let behind = self.peer_tips.values().any(|h| *h > self.tip);
            if behind {
                self.maybe_sync(out);
            }
        }
        self.maybe_start_height(out);
    }

    /// Asks for block sync when a peer is more than one height ahead, or ahead while this node
    /// is stalled or holds a decision it cannot commit.
    fn maybe_sync(&mut self, out: &mut Vec<Effect<B>>) {
        if self.sync_in_flight.is_some() || self.committing.is_some() {
            return;
        }
        let tip = self.tip;
        let stalled = self.now.saturating_sub(self.last_commit_ms) > self.policy.stall_ms;
        let stuck = self.decided_without_body.is_some();
        let best = self
            .peer_tips
            .iter()
            .filter(|(_, h)| **h > tip + 1 || (**h > tip && (stalled || stuck)))
            .max_by_key(|(_, h)| **h)
            .map(|(p, _)| *p);
        if let Some(peer) = best {
            self.sync_in_flight = Some(peer);
            out.push(Effect::Sync {
                peer,
                from: tip + 1,
            });
        }
    }

    /// Sends the last decision to a peer still deciding its height, once it is old enough
    /// (and at most once per resend interval per peer).
    fn answer_lagging(&mut self, peer: PublicKey, peer_tip: u64, out: &mut Vec<Effect<B>>) {
        let Some(d) = &self.last_decision else {
            return;
        };
        if peer_tip + 1 != d.certificate.height
            || self.now.saturating_sub(d.decided_ms) < self.policy.answer_lagging_after_ms
        {
            return;
        }
        if let Some(at) = self.answered.get(&peer) {
            if self.now.saturating_sub(*at) < self.policy.resend_ms {
                return;
            }
        }
        self.answered.insert(peer, self.now);
        out.push(Effect::SendTo(
            peer,
            Message::Decision {
                proposal: d.proposal.clone(),
                body: d.body.clone(),
                precommits: d.certificate.precommits(&self.config.chain_id),
            },
        ));
    }

    /// The rounds whose messages are still worth sending again: the current and previous
    /// round, and the rounds of the core's lock and valid value (a proposal that re-proposes a
    /// valid value needs that round's prevotes).
    fn live_round(&self, round: u32) -> bool {
        let current = self.core.round();
        round + 1 >= current
            || self.core.locked().is_some_and(|(_, r)| r == round)
            || self.core.valid_value().is_some_and(|(_, r)| r == round)
    }

    fn resend(&mut self, out: &mut Vec<Effect<B>>) {
        if self.waiting_to_start || !self.core.is_started() {
            return;
        }
        let height = self.height();
        let own: Vec<Message<B>> = self
            .own
            .iter()
            .filter(|((r, _), _)| self.live_round(*r))
            .map(|(_, m)| m.clone())
            .chain(self.justification.iter().cloned().map(Message::Vote))
            .collect();
        if !own.is_empty() {
            out.push(Effect::Resend(own));
        }
        let heard: Vec<Message<B>> = self
            .heard
            .iter()
            .filter(|(h, r, _)| *h > height || (*h == height && self.live_round(*r)))
            .map(|(_, _, m)| m.clone())
            .collect();
        if !heard.is_empty() {
            out.push(Effect::Relay(heard));
        }
    }
}
