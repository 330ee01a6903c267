//! The Tendermint state machine of one validator (or observer): `step(input) -> actions`.
//!
//! Rule numbers in comments are the line numbers of Algorithm 1 in Buchman, Kwon, Milosevic,
//! "The latest gossip on BFT consensus" (arXiv 1807.04938).

use std::collections::{BTreeMap, BTreeSet};

use portledger_ledger::{CommitCertificate, Hash, Keypair, PublicKey, Vote, VoteKind};

use crate::action::{Action, Equivocation, ProposalEquivocation};
use crate::buffer::{FutureBuffer, Message};
use crate::config::ConsensusConfig;
use crate::input::Input;
use crate::proposal::SignedProposal;
use crate::timeout::{Timeout, TimeoutStep};
use crate::votes::{AddOutcome, VoteTally};
use crate::wal::WalRecord;

/// Messages for rounds further than this beyond the current round are not stored (they still
/// count for skipping ahead to a round that f + 1 validators have reached).
pub const ROUND_WINDOW: u32 = 32;

/// Distinct proposals kept per round (more than one only from an equivocating proposer).
pub const MAX_PROPOSALS_PER_ROUND: usize = 4;

/// Where the core is within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for a polka (a quorum of prevotes).
    Prevote,
    /// Precommitted; waiting for a decision or the next round.
    Precommit,
    /// The height is decided; waiting for the host to start the next one.
    Decided,
}

/// A value together with the round it was set in (lockedValue/lockedRound,
/// validValue/validRound).
pub type ValueRound = (Hash, u32);

/// The consensus state machine for one node. Pure: no clock, I/O or randomness inside.
#[derive(Debug, Clone)]
pub struct Core {
    config: ConsensusConfig,
    /// The host's key, whether or not it holds a seat at this height (a later height's set
    /// may seat it).
    signer: Option<Keypair>,
    /// The key this core signs with: the host's, when it holds a seat at this height.
    key: Option<Keypair>,
    height: u64,
    round: u32,
    step: Step,
    started: bool,
    locked: Option<ValueRound>,
    valid: Option<ValueRound>,
    decision: Option<ValueRound>,
    proposals: BTreeMap<u32, Vec<SignedProposal>>,
    validity: BTreeMap<Hash, bool>,
    validation_requested: BTreeSet<Hash>,
    votes: VoteTally,
    max_round_seen: BTreeMap<PublicKey, u32>,
    own_votes: BTreeMap<(u32, VoteKind), Vote>,
    own_proposals: BTreeMap<u32, SignedProposal>,
    value_requested: Option<u32>,
    prevote_timeout_scheduled: BTreeSet<u32>,
    precommit_timeout_scheduled: BTreeSet<u32>,
    polka_handled: BTreeSet<u32>,
    evidence_reported: BTreeSet<(PublicKey, u32, VoteKind)>,
    proposal_evidence_reported: BTreeSet<u32>,
    buffer: FutureBuffer,
    restored: BTreeMap<u64, Vec<WalRecord>>,
}

impl Core {
    /// A core that will decide `height` once it receives [`Input::StartHeight`] for it. With
    /// `None` (or a key that is not a validator's) it is a non-voting observer that still
    /// follows the rounds and reports commits.
    pub fn new(config: ConsensusConfig, key: Option<Keypair>, height: u64) -> Core {
        let signer = key.clone();
        let key = key.filter(|k| config.validators(height).contains(&k.public()));
        let buffer = FutureBuffer::new(config.future_buffer, config.schedule.max_len());
        Core {
            config,
            signer,
            key,
            height,
            round: 0,
            step: Step::Propose,
            started: false,
            locked: None,
            valid: None,
            decision: None,
            proposals: BTreeMap::new(),
            validity: BTreeMap::new(),
            validation_requested: BTreeSet::new(),
            votes: VoteTally::new(),
            max_round_seen: BTreeMap::new(),
            own_votes: BTreeMap::new(),
            own_proposals: BTreeMap::new(),
            value_requested: None,
            prevote_timeout_scheduled: BTreeSet::new(),
            precommit_timeout_scheduled: BTreeSet::new(),
            polka_handled: BTreeSet::new(),
            evidence_reported: BTreeSet::new(),
            proposal_evidence_reported: BTreeSet::new(),
            buffer,
            restored: BTreeMap::new(),
        }
    }

    /// Rebuilds a core after a crash from its write-ahead records (in any order; records
    /// signed by other keys are ignored). The core sits at the highest height in the log, not
    /// started: send [`Input::StartHeight`] with the next height to decide. Whenever it reaches
    /// a height it holds records for, it resumes at the latest round it signed in, with the
    /// lock implied by its last precommit, and re-sends rather than re-signs what it signed.
    pub fn restore(config: ConsensusConfig, key: Option<Keypair>, wal: &[WalRecord]) -> Core {
        let own = key.as_ref().map(Keypair::public);
        let mut restored: BTreeMap<u64, Vec<WalRecord>> = BTreeMap::new();
        for rec in wal {
            let keep = match rec {
                WalRecord::Vote(v) => {
                    Some(v.body.validator) == own && v.body.chain_id == config.chain_id
                }
                WalRecord::Proposal(p) => {
                    Some(p.proposal.proposer) == own && p.proposal.chain_id == config.chain_id
                }
                WalRecord::Polka(votes) => votes.iter().all(|v| {
                    v.body.chain_id == config.chain_id
                        && config.validators(v.body.height).contains(&v.body.validator)
                }),
            };
            if keep {
                restored.entry(rec.height()).or_default().push(rec.clone());
            }
        }
        let height = restored.keys().next_back().copied().unwrap_or(0);
        let mut core = Core::new(config, key, height);
        core.restored = restored;
        core
    }

    /// Feeds one input; returns the actions to execute, in order.
    pub fn step(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::StartHeight { height } => self.on_start_height(height, &mut out),
            Input::ProposalReceived(p) => self.on_proposal(p, &mut out),
            Input::VoteReceived(v) => self.on_vote(v, &mut out),
            Input::TimeoutFired(t) => self.on_timeout(t, &mut out),
            Input::ProposalValidated {
                height,
                block_hash,
                valid,
                ..
            } => {
                if height == self.height && self.started {
                    self.validity.insert(block_hash, valid);
                }
            }
            Input::ValueToPropose {
                height,
                round,
                block_hash,
            } => self.on_value(height, round, block_hash, &mut out),
        }
        self.apply_rules(&mut out);
        out
    }

    /// The height being decided (or last decided, when [`Core::step_kind`] is `Decided`).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The current step.
    pub fn step_kind(&self) -> Step {
        self.step
    }

    /// Whether [`Input::StartHeight`] has been received for the current height.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// lockedValue and lockedRound.
    pub fn locked(&self) -> Option<ValueRound> {
        self.locked
    }

    /// validValue and validRound.
    pub fn valid_value(&self) -> Option<ValueRound> {
        self.valid
    }

    /// The decided block and round of the current height, once decided.
    pub fn decision(&self) -> Option<ValueRound> {
        self.decision
    }

    /// Whether this core signs votes (it has a validator's key).
    pub fn is_validator(&self) -> bool {
        self.key.is_some()
    }

    /// Messages kept for the next height.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// A one-line summary of the vote counts of `round` (for traces).
    pub fn tally_summary(&self, round: u32) -> String {
        format!(
            "round {round}: {} prevotes ({} nil), {} precommits ({} nil), proposals {:?}",
            self.votes.count_any(round, VoteKind::Prevote),
            self.votes.count_for(round, VoteKind::Prevote, None),
            self.votes.count_any(round, VoteKind::Precommit),
            self.votes.count_for(round, VoteKind::Precommit, None),
            self.proposals.get(&round).map(|l| l
                .iter()
                .map(|p| (
                    p.proposal.block_hash,
                    p.proposal.pol_round,
                    self.validity.get(&p.proposal.block_hash).copied(),
                    self.votes
                        .count_for(round, VoteKind::Prevote, Some(p.proposal.block_hash)),
                    self.votes
                        .count_for(round, VoteKind::Precommit, Some(p.proposal.block_hash)),
                ))
                .collect::<Vec<_>>())
        )
    }

    /// The configuration.
    pub fn config(&self) -> &ConsensusConfig {
        &self.config
    }

    /// Signs with `key` from the next height on (a rotated consensus key); the current height
    /// keeps the key it started with.
    pub fn set_signer(&mut self, key: Keypair) {
        self.signer = Some(key);
    }

    /// Schedules validator set `set` from `height` (a change the ledger adopted); the sets of
    /// heights already started are not to change. Returns whether anything changed.
    pub fn schedule_validators(
        &mut self,
        height: u64,
        set: portledger_ledger::ValidatorSet,
    ) -> bool {
        self.config.schedule.insert(height, set)
    }

    fn quorum(&self) -> usize {
        self.config.validators(self.height).quorum()
    }

    fn is_proposer(&self, round: u32) -> bool {
        self.key.as_ref().is_some_and(|k| {
            let set = self.config.validators(self.height);
            !set.is_empty() && set.proposer(self.height, round) == k.public()
        })
    }

    fn timeout(&self, step: TimeoutStep) -> Action {
        Action::ScheduleTimeout(Timeout {
            height: self.height,
            round: self.round,
            step,
            duration_ms: self.config.timeouts.duration_ms(self.round),
        })
    }

    // ----- inputs -----

    fn on_start_height(&mut self, height: u64, out: &mut Vec<Action>) {
        // Before the first start (new or restored core) the host's store decides the height;
        // afterwards heights only go up.
        if self.started && height <= self.height {
            return;
        }
        let restored = self.restored.remove(&height).unwrap_or_default();
        self.restored = self.restored.split_off(&height);
        let fresh = Core::new(self.config.clone(), self.signer.clone(), height);
        let buffer = std::mem::replace(&mut self.buffer, fresh.buffer.clone());
        let kept = std::mem::take(&mut self.restored);
        *self = fresh;
        self.buffer = buffer;
        self.restored = kept;
        self.started = true;

        let mut start_round = 0;
        let mut polka_votes = Vec::new();
        for rec in restored {
            start_round = start_round.max(match &rec {
                WalRecord::Vote(v) => v.body.round,
                WalRecord::Proposal(p) => p.proposal.round,
                WalRecord::Polka(_) => 0,
            });
            match rec {
                WalRecord::Polka(votes) => {
                    for v in votes {
                        if v.body.height == height && !self.votes.contains(&v) {
                            self.votes.add(v.clone(), |_| true);
                            polka_votes.push(v);
                        }
                    }
                }
                WalRecord::Vote(v) => {
                    let slot = (v.body.round, v.body.kind);
                    if self.own_votes.contains_key(&slot) {
                        continue;
                    }
                    if v.body.kind == VoteKind::Precommit {
                        if let Some(b) = v.body.block {
                            if self.locked.is_none_or(|(_, r)| r < v.body.round) {
                                self.locked = Some((b, v.body.round));
                                self.valid = self.locked;
                            }
                        }
                    }
                    self.own_votes.insert(slot, v.clone());
                    self.votes.add(v, |_| true);
                }
                WalRecord::Proposal(p) => {
                    self.validity.insert(p.proposal.block_hash, true);
                    self.own_proposals.entry(p.proposal.round).or_insert(p);
                }
            }
        }
        // What was signed before the crash may never have left: send it again (never re-sign).
        let own_proposals: Vec<SignedProposal> = self.own_proposals.values().cloned().collect();
        for p in own_proposals {
            out.push(Action::BroadcastProposal(p.clone()));
            self.accept_proposal(p, out);
        }
        for v in self.own_votes.values().chain(&polka_votes) {
            out.push(Action::BroadcastVote(v.clone()));
        }
        self.start_round(start_round, out);
        for m in self.buffer.take(height) {
            match m {
                Message::Proposal(p) => self.accept_proposal(p, out),
                Message::Vote(v) => self.accept_vote(v, out),
            }
        }
    }

    /// Whether a message for `height` belongs to the current height (`Some(true)`), should be
    /// buffered (`Some(false)`), or dropped (`None`).
    fn classify(&self, height: u64) -> Option<bool> {
        if height == self.height && self.started {
            (self.step != Step::Decided).then_some(true)
        } else if height == self.height || height == self.height.saturating_add(1) {
            Some(false)
        } else {
            None
        }
    }

    fn on_vote(&mut self, v: Vote, out: &mut Vec<Action>) {
        let b = &v.body;
        if b.chain_id != self.config.chain_id
            || !self.config.validators(b.height).contains(&b.validator)
        {
            return;
        }
        let Some(current) = self.classify(b.height) else {
            return;
        };
        if current {
            if self.votes.contains(&v) {
                return;
            }
            if v.verify_signature().is_ok() {
                self.accept_vote(v, out);
            }
        } else {
            let m = Message::Vote(v);
            if !self.buffer.contains(&m)
                && matches!(&m, Message::Vote(v) if v.verify_signature().is_ok())
            {
                self.buffer.push(m);
            }
        }
    }

    fn on_proposal(&mut self, p: SignedProposal, out: &mut Vec<Action>) {
        let q = &p.proposal;
        if q.chain_id != self.config.chain_id
            || self.config.validators(q.height).is_empty()
            || q.proposer != self.config.validators(q.height).proposer(q.height, q.round)
            || q.pol_round.is_some_and(|vr| vr >= q.round)
        {
            return;
        }
        let Some(current) = self.classify(q.height) else {
            return;
        };
        if current {
            if self
                .proposals
                .get(&q.round)
                .is_some_and(|list| list.contains(&p))
            {
                return;
            }
            if p.verify_signature().is_ok() {
                self.accept_proposal(p, out);
            }
        } else {
            let m = Message::Proposal(p);
            if !self.buffer.contains(&m)
                && matches!(&m, Message::Proposal(p) if p.verify_signature().is_ok())
            {
                self.buffer.push(m);
            }
        }
    }

    fn note_round(&mut self, who: PublicKey, round: u32) {
        let e = self.max_round_seen.entry(who).or_insert(round);
        *e = (*e).max(round);
    }

    /// Stores a verified vote of the current height.
    fn accept_vote(&mut self, v: Vote, out: &mut Vec<Action>) {
        let (who, round, kind) = (v.body.validator, v.body.round, v.body.kind);
        self.note_round(who, round);
        if round > self.round.saturating_add(ROUND_WINDOW) {
            return;
        }
        let proposed: Vec<Hash> = self
            .proposals
            .get(&round)
            .map(|l| l.iter().map(|p| p.proposal.block_hash).collect())
            .unwrap_or_default();
        let useful = |b: Option<Hash>| b.is_none_or(|h| proposed.contains(&h));
        if let AddOutcome::Conflict(first) = self.votes.add(v.clone(), useful) {
            if self.evidence_reported.insert((who, round, kind)) {
                out.push(Action::Evidence(Equivocation {
                    first: *first,
                    second: v,
                }));
            }
        }
    }

    /// Stores a verified proposal of the current height from the right proposer.
    fn accept_proposal(&mut self, p: SignedProposal, out: &mut Vec<Action>) {
        let round = p.proposal.round;
        self.note_round(p.proposal.proposer, round);
        if round > self.round.saturating_add(ROUND_WINDOW) {
            return;
        }
        let list = self.proposals.entry(round).or_default();
        if list.contains(&p) {
            return;
        }
        if let Some(first) = list.first() {
            if first.proposal.block_hash != p.proposal.block_hash
                && self.proposal_evidence_reported.insert(round)
            {
                out.push(Action::ProposalEvidence(ProposalEquivocation {
                    first: first.clone(),
                    second: p.clone(),
                }));
            }
        }
        if list.len() >= MAX_PROPOSALS_PER_ROUND {
            return;
        }
        let hash = p.proposal.block_hash;
        list.push(p);
        if !self.validity.contains_key(&hash) && self.validation_requested.insert(hash) {
            out.push(Action::ValidateProposal {
                height: self.height,
                round,
                block_hash: hash,
            });
        }
    }

    fn on_timeout(&mut self, t: Timeout, out: &mut Vec<Action>) {
        if !self.started
            || self.step == Step::Decided
            || t.height != self.height
            || t.round != self.round
        {
            return;
        }
        match t.step {
            // Line 57.
            TimeoutStep::Propose if self.step == Step::Propose => {
                self.cast(VoteKind::Prevote, None, out);
                self.step = Step::Prevote;
            }
            // Line 61.
            TimeoutStep::Prevote if self.step == Step::Prevote => {
                self.cast(VoteKind::Precommit, None, out);
                self.step = Step::Precommit;
            }
            // Line 65.
            TimeoutStep::Precommit => self.start_round(self.round.saturating_add(1), out),
            _ => {}
        }
    }

    fn on_value(&mut self, height: u64, round: u32, block_hash: Hash, out: &mut Vec<Action>) {
        if self.started
            && height == self.height
            && round == self.round
            && self.step == Step::Propose
            && self.value_requested == Some(round)
            && !self.own_proposals.contains_key(&round)
        {
            self.value_requested = None;
            self.propose(block_hash, None, out);
        }
    }

    // ----- algorithm -----

    /// Line 11: StartRound.
    fn start_round(&mut self, round: u32, out: &mut Vec<Action>) {
        self.round = round;
        self.step = Step::Propose;
        self.value_requested = None;
        if self.is_proposer(round) {
            if let Some(p) = self.own_proposals.get(&round).cloned() {
                out.push(Action::BroadcastProposal(p.clone()));
                self.accept_proposal(p, out);
            } else if let Some((v, vr)) = self.valid {
                self.propose(v, Some(vr), out);
            } else {
                self.value_requested = Some(round);
                out.push(Action::RequestValue {
                    height: self.height,
                    round,
                });
            }
        }
        out.push(self.timeout(TimeoutStep::Propose));
    }

    fn propose(&mut self, block_hash: Hash, pol_round: Option<u32>, out: &mut Vec<Action>) {
        let Some(key) = &self.key else { return };
        let p = SignedProposal::sign(
            key,
            &self.config.chain_id,
            self.height,
            self.round,
            block_hash,
            pol_round,
        );
        self.validity.insert(block_hash, true);
        self.own_proposals.insert(self.round, p.clone());
        out.push(Action::Persist(WalRecord::Proposal(p.clone())));
        out.push(Action::BroadcastProposal(p.clone()));
        self.accept_proposal(p, out);
    }

    /// Signs and sends a vote of the current round, or re-sends the one signed before (never
    /// signing two votes for one round and step). Returns what was actually voted for.
    fn cast(&mut self, kind: VoteKind, block: Option<Hash>, out: &mut Vec<Action>) -> Option<Hash> {
        let Some(key) = &self.key else { return block };
        if let Some(existing) = self.own_votes.get(&(self.round, kind)) {
            out.push(Action::BroadcastVote(existing.clone()));
            return existing.body.block;
        }
        let v = Vote::sign(
            key,
            &self.config.chain_id,
            self.height,
            self.round,
            kind,
            block,
        );
        self.own_votes.insert((self.round, kind), v.clone());
        out.push(Action::Persist(WalRecord::Vote(v.clone())));
        out.push(Action::BroadcastVote(v.clone()));
        self.accept_vote(v, out);
        block
    }

    fn apply_rules(&mut self, out: &mut Vec<Action>) {
        if !self.started {
            return;
        }
        while self.step != Step::Decided {
            if self.try_decide(out) {
                return;
            }
            let fired = self.try_skip_round(out)
                || self.try_prevote(out)
                || self.try_schedule_prevote_timeout(out)
                || self.try_polka(out)
                || self.try_nil_polka(out)
                || self.try_schedule_precommit_timeout(out);
            if !fired {
                break;
            }
        }
    }

    /// Lines 22 and 28: prevote on the round's proposal.
    fn try_prevote(&mut self, out: &mut Vec<Action>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let q = self.quorum();
        let Some(list) = self.proposals.get(&self.round) else {
            return false;
        };
        let mut choice = None;
        for p in list {
            let v = p.proposal.block_hash;
            let lock_ok = match p.proposal.pol_round {
                None => self.locked.is_none_or(|(lv, _)| lv == v),
                Some(vr) => {
                    if self.votes.count_for(vr, VoteKind::Prevote, Some(v)) < q {
                        continue;
                    }
                    self.locked.is_none_or(|(lv, lr)| lr <= vr || lv == v)
                }
            };
            if !lock_ok {
                choice = Some(None);
                break;
            }
            match self.validity.get(&v) {
                Some(true) => {
                    choice = Some(Some(v));
                    break;
                }
                Some(false) => {
                    choice = Some(None);
                    break;
                }
                None => continue,
            }
        }
        let Some(block) = choice else { return false };
        self.cast(VoteKind::Prevote, block, out);
        self.step = Step::Prevote;
        true
    }

    /// Line 34.
    fn try_schedule_prevote_timeout(&mut self, out: &mut Vec<Action>) -> bool {
        if self.step == Step::Prevote
            && self.votes.count_any(self.round, VoteKind::Prevote) >= self.quorum()
            && self.prevote_timeout_scheduled.insert(self.round)
        {
            out.push(self.timeout(TimeoutStep::Prevote));
            return true;
        }
        false
    }

    /// Line 36: a polka for the round's valid proposal locks (if still prevoting) and sets the
    /// valid value.
    fn try_polka(&mut self, out: &mut Vec<Action>) -> bool {
        if self.step < Step::Prevote || self.polka_handled.contains(&self.round) {
            return false;
        }
        let q = self.quorum();
        let round = self.round;
        let Some(v) = self.proposals.get(&round).and_then(|list| {
            list.iter().map(|p| p.proposal.block_hash).find(|v| {
                self.validity.get(v) == Some(&true)
                    && self.votes.count_for(round, VoteKind::Prevote, Some(*v)) >= q
            })
        }) else {
            return false;
        };
        self.polka_handled.insert(round);
        if self.step == Step::Prevote {
            if self.key.is_some() && !self.own_votes.contains_key(&(round, VoteKind::Precommit)) {
                let polka = self.votes.votes_for(round, VoteKind::Prevote, Some(v));
                out.push(Action::Persist(WalRecord::Polka(polka)));
            }
            if self.cast(VoteKind::Precommit, Some(v), out) == Some(v) {
                self.locked = Some((v, round));
            }
            self.step = Step::Precommit;
        }
        self.valid = Some((v, round));
        true
    }

    /// Line 44.
    fn try_nil_polka(&mut self, out: &mut Vec<Action>) -> bool {
        if self.step == Step::Prevote
            && self.votes.count_for(self.round, VoteKind::Prevote, None) >= self.quorum()
        {
            self.cast(VoteKind::Precommit, None, out);
            self.step = Step::Precommit;
            return true;
        }
        false
    }

    /// Line 47.
    fn try_schedule_precommit_timeout(&mut self, out: &mut Vec<Action>) -> bool {
        if self.votes.count_any(self.round, VoteKind::Precommit) >= self.quorum()
            && self.precommit_timeout_scheduled.insert(self.round)
        {
            out.push(self.timeout(TimeoutStep::Precommit));
            return true;
        }
        false
    }

    /// Line 49: a quorum of precommits in any round for a block proposed (in any round) at this
    /// height and known valid decides it. (Algorithm 1 asks for the proposal of the precommits'
    /// round; the value is what matters, and a node that missed that round's proposal can then
    /// decide from the certificate and any proposal carrying the block.)
    fn try_decide(&mut self, out: &mut Vec<Action>) -> bool {
        let q = self.quorum();
        let mut known: Vec<Hash> = self
            .proposals
            .values()
            .flatten()
            .map(|p| p.proposal.block_hash)
            .filter(|v| self.validity.get(v) == Some(&true))
            .collect();
        known.sort();
        known.dedup();
        let mut found = None;
        'rounds: for round in self.votes.rounds() {
            for v in &known {
                if self.votes.count_for(round, VoteKind::Precommit, Some(*v)) >= q {
                    found = Some((*v, round));
                    break 'rounds;
                }
            }
        }
        let Some((v, round)) = found else {
            return false;
        };
        let votes = self.votes.votes_for(round, VoteKind::Precommit, Some(v));
        let certificate = CommitCertificate::from_votes(
            self.config.validators(self.height),
            self.height,
            round,
            v,
            &votes,
        );
        self.step = Step::Decided;
        self.decision = Some((v, round));
        out.push(Action::Commit {
            height: self.height,
            block_hash: v,
            certificate,
        });
        true
    }

    /// Line 55: f + 1 validators are in a later round; go there.
    fn try_skip_round(&mut self, out: &mut Vec<Action>) -> bool {
        let f1 = self.config.validators(self.height).max_faulty() + 1;
        let mut ahead: Vec<u32> = self
            .max_round_seen
            .values()
            .copied()
            .filter(|r| *r > self.round)
            .collect();
        if ahead.len() < f1 {
            return false;
        }
        ahead.sort_unstable_by(|a, b| b.cmp(a));
        let target = ahead[f1 - 1];
        self.start_round(target, out);
        true
    }
}
