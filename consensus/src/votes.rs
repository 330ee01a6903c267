//! The votes of one height, per round and step, one per validator, with equivocation detection.

use std::collections::BTreeMap;

use portledger_ledger::{Hash, PublicKey, Vote, VoteKind};

/// Distinct votes kept per validator, round and step. Only an equivocating validator has more
/// than one.
pub const MAX_VOTES_PER_SLOT: usize = 4;

/// What happened to a vote offered to the tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// New vote, counted.
    Added,
    /// The same vote was already counted.
    Duplicate,
    /// The validator already voted differently in this round and step: proof of equivocation
    /// (the first vote seen is returned). Both votes count, each for its own value: a Byzantine
    /// validator may contribute to any quorum anyway, and counting both keeps a correct node
    /// from missing a quorum other correct nodes saw.
    Conflict(Box<Vote>),
}

/// The votes of one round.
#[derive(Debug, Clone, Default)]
struct RoundVotes {
    prevotes: BTreeMap<PublicKey, Vec<Vote>>,
    precommits: BTreeMap<PublicKey, Vec<Vote>>,
}

impl RoundVotes {
    fn of(&self, kind: VoteKind) -> &BTreeMap<PublicKey, Vec<Vote>> {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }

    fn of_mut(&mut self, kind: VoteKind) -> &mut BTreeMap<PublicKey, Vec<Vote>> {
        match kind {
            VoteKind::Prevote => &mut self.prevotes,
            VoteKind::Precommit => &mut self.precommits,
        }
    }
}

/// Votes of one height. The caller has checked signatures, chain id, height and membership.
#[derive(Debug, Clone, Default)]
pub struct VoteTally {
    rounds: BTreeMap<u32, RoundVotes>,
}

impl VoteTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether exactly this vote (same body and signature) is already counted.
    pub fn contains(&self, vote: &Vote) -> bool {
        self.rounds
            .get(&vote.body.round)
            .and_then(|r| r.of(vote.body.kind).get(&vote.body.validator))
            .is_some_and(|list| list.contains(vote))
    }

    /// Counts a vote. An equivocator's votes are kept up to [`MAX_VOTES_PER_SLOT`] per round
    /// and step; when full, a vote for which `useful` holds (nil, or a proposed block) replaces
    /// one for which it does not.
    pub fn add(&mut self, vote: Vote, useful: impl Fn(Option<Hash>) -> bool) -> AddOutcome {
        let slot = self
            .rounds
            .entry(vote.body.round)
            .or_default()
            .of_mut(vote.body.kind)
            .entry(vote.body.validator)
            .or_default();
        if slot.iter().any(|v| v.body.block == vote.body.block) {
            return AddOutcome::Duplicate;
        }
        let Some(first) = slot.first().cloned() else {
            slot.push(vote);
            return AddOutcome::Added;
        };
        if slot.len() < MAX_VOTES_PER_SLOT {
            slot.push(vote);
        } else if useful(vote.body.block) {
            if let Some(i) = slot.iter().position(|v| !useful(v.body.block)) {
                slot[i] = vote.clone();
            }
        }
        AddOutcome::Conflict(Box::new(first))
    }

    /// Number of distinct validators with a `kind` vote in `round`, whatever they voted for.
    pub fn count_any(&self, round: u32, kind: VoteKind) -> usize {
        self.rounds.get(&round).map_or(0, |r| r.of(kind).len())
    }

    /// Number of distinct validators with a `kind` vote for `block` (nil when `None`) in `round`.
    pub fn count_for(&self, round: u32, kind: VoteKind, block: Option<Hash>) -> usize {
        self.rounds.get(&round).map_or(0, |r| {
            r.of(kind)
                .values()
                .filter(|list| list.iter().any(|v| v.body.block == block))
                .count()
        })
    }

    /// The `kind` votes for `block` in `round`, one per validator.
    pub fn votes_for(&self, round: u32, kind: VoteKind, block: Option<Hash>) -> Vec<Vote> {
        self.rounds.get(&round).map_or_else(Vec::new, |r| {
            r.of(kind)
                .values()
                .filter_map(|list| list.iter().find(|v| v.body.block == block))
                .cloned()
                .collect()
        })
    }

    /// Rounds holding at least one vote, ascending.
    pub fn rounds(&self) -> impl Iterator<Item = u32> + '_ {
        self.rounds.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::Keypair;

    #[test]
    fn counts_one_vote_per_validator_and_reports_conflicts() {
        let a = Keypair::for_testing("a");
        let b = Keypair::for_testing("b");
        let x = Some(Hash::of(b"x"));
        let any = |_: Option<Hash>| true;
        let mut t = VoteTally::new();
        let v1 = Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, x);
        assert_eq!(t.add(v1.clone(), any), AddOutcome::Added);
        assert_eq!(t.add(v1.clone(), any), AddOutcome::Duplicate);
        assert!(t.contains(&v1));
        let v2 = Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, None);
        assert_eq!(
            t.add(v2.clone(), any),
            AddOutcome::Conflict(Box::new(v1.clone()))
        );
        assert!(
            t.contains(&v2),
            "an equivocator's second vote counts for its own value"
        );
        assert_eq!(
            t.add(Vote::sign(&b, "c", 1, 0, VoteKind::Prevote, None), any),
            AddOutcome::Added
        );
        assert_eq!(
            t.add(Vote::sign(&a, "c", 1, 0, VoteKind::Precommit, None), any),
            AddOutcome::Added
        );
        assert_eq!(
            t.count_any(0, VoteKind::Prevote),
            2,
            "validators, not votes"
        );
        assert_eq!(t.count_for(0, VoteKind::Prevote, x), 1);
        assert_eq!(t.count_for(0, VoteKind::Prevote, None), 2);
        assert_eq!(t.count_for(1, VoteKind::Prevote, None), 0);
        assert_eq!(t.votes_for(0, VoteKind::Prevote, x), vec![v1]);
    }

    #[test]
    fn equivocation_slot_is_bounded_and_prefers_useful_votes() {
        let a = Keypair::for_testing("a");
        let good = Hash::of(b"proposed");
        let useful = |b: Option<Hash>| b.is_none() || b == Some(good);
        let mut t = VoteTally::new();
        for i in 0..6u8 {
            let junk = Some(Hash::of(&[i]));
            t.add(Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, junk), useful);
        }
        assert_eq!(t.count_any(0, VoteKind::Prevote), 1);
        assert!(!t.contains(&Vote::sign(
            &a,
            "c",
            1,
            0,
            VoteKind::Prevote,
            Some(Hash::of(&[5u8]))
        )));
        let real = Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, Some(good));
        assert!(matches!(
            t.add(real.clone(), useful),
            AddOutcome::Conflict(_)
        ));
        assert!(t.contains(&real), "a vote for the proposal displaces junk");
        assert_eq!(t.count_for(0, VoteKind::Prevote, Some(good)), 1);
    }
}
