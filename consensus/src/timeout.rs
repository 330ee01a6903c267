//! Round timeouts: which step they end, and how long they last (linear growth, capped).

use portledger_ledger::genesis::ConsensusParams;
use serde::{Deserialize, Serialize};

/// The step a timeout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimeoutStep {
    /// No (valid) proposal in time: prevote nil.
    Propose,
    /// A quorum of prevotes but no polka in time: precommit nil.
    Prevote,
    /// A quorum of precommits but no decision in time: next round.
    Precommit,
}

/// A timeout the host must fire back as [`crate::Input::TimeoutFired`] after `duration_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timeout {
    /// Height it belongs to.
    pub height: u64,
    /// Round it belongs to.
    pub round: u32,
    /// Step it ends.
    pub step: TimeoutStep,
    /// How long after scheduling it fires.
    pub duration_ms: u64,
}

/// Timeout lengths: `base + delta * round`, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutSchedule {
    /// Length in round 0.
    pub base_ms: u64,
    /// Added per round.
    pub delta_ms: u64,
    /// Cap, whatever the round.
    pub max_ms: u64,
}

impl TimeoutSchedule {
    /// The schedule of the genesis consensus parameters.
    pub fn from_params(p: &ConsensusParams) -> Self {
        TimeoutSchedule {
            base_ms: p.timeout_base_ms,
            delta_ms: p.timeout_delta_ms,
            max_ms: p.timeout_max_ms,
        }
    }

    /// The length of any step's timeout in `round`.
    pub fn duration_ms(&self, round: u32) -> u64 {
        self.base_ms
            .saturating_add(self.delta_ms.saturating_mul(u64::from(round)))
            .min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_linearly_and_is_capped() {
        let s = TimeoutSchedule {
            base_ms: 1000,
            delta_ms: 500,
            max_ms: 10_000,
        };
        assert_eq!(s.duration_ms(0), 1000);
        assert_eq!(s.duration_ms(1), 1500);
        assert_eq!(s.duration_ms(18), 10_000);
        assert_eq!(s.duration_ms(19), 10_000);
        assert_eq!(s.duration_ms(u32::MAX), 10_000);
    }
}
