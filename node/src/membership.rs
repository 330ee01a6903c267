//! Who takes part, as the ledger says at the tip: the keys ever seated as validators (their
//! consensus messages are worth relaying; each height's set decides whether they count) and
//! the node keys that may connect. Both grow as governance admits organisations and seats
//! validators; the driver refreshes them after every stored block.

use std::collections::{BTreeSet, HashSet};

use portledger_ledger::{Genesis, PublicKey, State, ValidatorSet};

/// The participating keys at the tip.
#[derive(Debug, Default)]
pub struct Membership {
    seated: HashSet<PublicKey>,
    node_keys: BTreeSet<PublicKey>,
    /// The last validator-set height handed to consensus.
    scheduled_through: u64,
}

/// What a refresh found new.
#[derive(Debug, Default)]
pub struct MembershipChange {
    /// Node keys admitted since the last refresh: allowed to connect from now on.
    pub node_keys: Vec<PublicKey>,
    /// Validator sets scheduled since the last refresh, by first height.
    pub sets: Vec<(u64, ValidatorSet)>,
}

impl Membership {
    /// The membership of `state` (genesis's node keys included).
    pub fn of(genesis: &Genesis, state: &State) -> Membership {
        let mut m = Membership {
            node_keys: genesis.node_keys().into_iter().collect(),
            ..Membership::default()
        };
        m.refresh(state);
        m
    }

    /// Takes in what `state` adds; returns it.
    pub fn refresh(&mut self, state: &State) -> MembershipChange {
        let mut change = MembershipChange::default();
        for (height, set) in state.validator_sets.range(self.scheduled_through + 1..) {
            self.seated.extend(set.keys().copied());
            change.sets.push((*height, set.clone()));
            self.scheduled_through = *height;
        }
        for key in state.node_keys.values() {
            if self.node_keys.insert(*key) {
                change.node_keys.push(*key);
            }
        }
        change
    }

    /// Whether `key` holds, held or will hold a validator seat.
    pub fn ever_seated(&self, key: &PublicKey) -> bool {
        self.seated.contains(key)
    }

    /// Every node key that may connect.
    pub fn node_keys(&self) -> Vec<PublicKey> {
        self.node_keys.iter().copied().collect()
    }
}
