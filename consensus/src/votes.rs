//! The votes of one height, per round and step, one per validator, with equivocation detection.

use std::collections::BTreeMap;

use portledger_ledger::{Hash, PublicKey, Vote, VoteKind};

/// What happened to a vote offered to the tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// New vote, counted.
    Added,
    /// The very same vote was already counted.
    Duplicate,
    /// The validator already voted differently in this round and step; the first vote stays
    /// counted and is returned as evidence.
    Conflict(Box<Vote>),
}

/// The votes of one round.
#[derive(Debug, Clone, Default)]
struct RoundVotes {
    prevotes: BTreeMap<PublicKey, Vote>,
    precommits: BTreeMap<PublicKey, Vote>,
}

impl RoundVotes {
    fn of(&self, kind: VoteKind) -> &BTreeMap<PublicKey, Vote> {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }

    fn of_mut(&mut self, kind: VoteKind) -> &mut BTreeMap<PublicKey, Vote> {
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
            .is_some_and(|v| v == vote)
    }

    /// Counts a vote unless its validator already voted in that round and step.
    pub fn add(&mut self, vote: Vote) -> AddOutcome {
        let slot = self
            .rounds
            .entry(vote.body.round)
            .or_default()
            .of_mut(vote.body.kind);
        match slot.get(&vote.body.validator) {
            Some(existing) if *existing == vote => AddOutcome::Duplicate,
            Some(existing) if existing.body.block == vote.body.block => AddOutcome::Duplicate,
            Some(existing) => AddOutcome::Conflict(Box::new(existing.clone())),
            None => {
                slot.insert(vote.body.validator, vote);
                AddOutcome::Added
            }
        }
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
                .filter(|v| v.body.block == block)
                .count()
        })
    }

    /// The `kind` votes for `block` in `round`.
    pub fn votes_for(&self, round: u32, kind: VoteKind, block: Option<Hash>) -> Vec<Vote> {
        self.rounds.get(&round).map_or_else(Vec::new, |r| {
            r.of(kind)
                .values()
                .filter(|v| v.body.block == block)
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
        let mut t = VoteTally::new();
        let v1 = Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, x);
        assert_eq!(t.add(v1.clone()), AddOutcome::Added);
        assert_eq!(t.add(v1.clone()), AddOutcome::Duplicate);
        assert!(t.contains(&v1));
        let v2 = Vote::sign(&a, "c", 1, 0, VoteKind::Prevote, None);
        assert_eq!(t.add(v2.clone()), AddOutcome::Conflict(Box::new(v1.clone())));
        assert!(!t.contains(&v2));
        assert_eq!(
            t.add(Vote::sign(&b, "c", 1, 0, VoteKind::Prevote, None)),
            AddOutcome::Added
        );
        assert_eq!(
            t.add(Vote::sign(&a, "c", 1, 0, VoteKind::Precommit, None)),
            AddOutcome::Added
        );
        assert_eq!(t.count_any(0, VoteKind::Prevote), 2);
        assert_eq!(t.count_for(0, VoteKind::Prevote, x), 1);
        assert_eq!(t.count_for(0, VoteKind::Prevote, None), 1);
        assert_eq!(t.count_for(1, VoteKind::Prevote, None), 0);
        assert_eq!(t.votes_for(0, VoteKind::Prevote, x), vec![v1]);
    }
}
