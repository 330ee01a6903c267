//! Which validators decide which height: the genesis set from height 1, and each change the
//! ledger adopted, from the first height it governs.
//!
//! The ledger fixes a change's first height `ACTIVATION_DELAY` heights after the block that
//! adopts it, and the host adds it to the schedule once that block is stored. The engine looks
//! at most two heights past its committed tip, so every validator knows the set of any height
//! it hears of before it hears of it, and all of them the same one.

use std::collections::BTreeMap;

use portledger_ledger::{PublicKey, ValidatorSet};

/// The validator sets by the first height each governs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSchedule {
    genesis: ValidatorSet,
    /// Changes, by first height (2 and above).
    changes: BTreeMap<u64, ValidatorSet>,
}

impl ValidatorSchedule {
    /// `genesis` from height 1, and nothing scheduled.
    pub fn new(genesis: ValidatorSet) -> ValidatorSchedule {
        ValidatorSchedule {
            genesis,
            changes: BTreeMap::new(),
        }
    }

    /// The set deciding `height` (the genesis set for height 0 too).
    pub fn at(&self, height: u64) -> &ValidatorSet {
        self.changes
            .range(..=height)
            .next_back()
            .map_or(&self.genesis, |(_, s)| s)
    }

    /// Schedules `set` from `height` (1 and above), replacing what was scheduled there.
    /// Returns whether anything changed.
    pub fn insert(&mut self, height: u64, set: ValidatorSet) -> bool {
        let slot = if height <= 1 {
            &mut self.genesis
        } else {
            self.changes
                .entry(height)
                .or_insert_with(|| ValidatorSet::new(Vec::new()))
        };
        if *slot == set {
            return false;
        }
        *slot = set;
        true
    }

    /// Every scheduled change, by first height (genesis's at 1).
    pub fn sets(&self) -> impl Iterator<Item = (u64, &ValidatorSet)> {
        std::iter::once((1, &self.genesis)).chain(self.changes.iter().map(|(h, s)| (*h, s)))
    }

    /// Whether `key` holds a seat in any set, past, present or scheduled (messages of such a
    /// key are worth relaying; each height's set decides whether they count).
    pub fn ever_seated(&self, key: &PublicKey) -> bool {
        self.sets().any(|(_, s)| s.contains(key))
    }

    /// The largest set (to size per-validator bounds).
    pub fn max_len(&self) -> usize {
        self.sets().map(|(_, s)| s.len()).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::Keypair;

    fn set(names: &[&str]) -> ValidatorSet {
        ValidatorSet::new(
            names
                .iter()
                .map(|n| (n.to_string(), Keypair::for_testing(n).public()))
                .collect(),
        )
    }

    #[test]
    fn each_height_gets_the_last_set_scheduled_at_or_before_it() {
        let mut s = ValidatorSchedule::new(set(&["a", "b", "c", "d"]));
        assert!(s.insert(10, set(&["a", "b", "c", "d", "e"])));
        assert!(!s.insert(10, set(&["a", "b", "c", "d", "e"])));
        assert!(s.insert(20, set(&["b", "c", "d", "e"])));
        assert_eq!(s.at(0).len(), 4);
        assert_eq!(s.at(9).len(), 4);
        assert_eq!(s.at(10).len(), 5);
        assert_eq!(s.at(19).len(), 5);
        assert_eq!(s.at(20).len(), 4);
        assert!(!s.at(20).contains(&Keypair::for_testing("a").public()));
        assert!(s.ever_seated(&Keypair::for_testing("a").public()));
        assert!(s.ever_seated(&Keypair::for_testing("e").public()));
        assert!(!s.ever_seated(&Keypair::for_testing("z").public()));
        assert_eq!(s.max_len(), 5);
    }
}
