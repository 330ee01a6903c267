//! What a core needs to know about the chain: its id, the validators of each height and the
//! timeouts.

use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::ValidatorSet;

use crate::schedule::ValidatorSchedule;
use crate::timeout::TimeoutSchedule;

/// Default bound on messages buffered for the next height.
pub const DEFAULT_FUTURE_BUFFER: usize = 1024;

/// Configuration of one consensus core. All validators of a chain use the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusConfig {
    /// Chain id; messages naming another chain are ignored.
    pub chain_id: String,
    /// The validators of each height, in proposer order: genesis's, then the changes the
    /// ledger adopted ([`ValidatorSchedule`]).
    pub schedule: ValidatorSchedule,
    /// Round timeouts (base, per-round increase, cap).
    pub timeouts: TimeoutSchedule,
    /// Most messages (proposals and votes) kept for the next height before it starts; each
    /// validator may fill at most its share (`future_buffer / n`, at least 4).
    pub future_buffer: usize,
}

impl ConsensusConfig {
    /// A configuration with the timeouts of the genesis consensus parameters and the default
    /// future-message bound.
    pub fn new(chain_id: &str, validators: ValidatorSet, params: &ConsensusParams) -> Self {
        ConsensusConfig {
            chain_id: chain_id.to_string(),
            schedule: ValidatorSchedule::new(validators),
            timeouts: TimeoutSchedule::from_params(params),
            future_buffer: DEFAULT_FUTURE_BUFFER,
        }
    }

    /// The validators deciding `height`.
    pub fn validators(&self, height: u64) -> &ValidatorSet {
        self.schedule.at(height)
    }
}
