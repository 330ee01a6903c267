//! Prometheus metrics: height, round, commit latency, mempool size, peers, rounds that timed out,
//! missed proposals per validator, transactions committed.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A validator label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ValidatorLabel {
    /// The validator's organisation name.
    pub validator: String,
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Last committed height.
    pub height: Gauge,
    /// Current consensus round.
    pub round: Gauge,
    /// Seconds from starting a height to committing it.
    pub commit_latency: Histogram,
    /// Transactions waiting.
    pub mempool_size: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Rounds that ended in a timeout.
    pub rounds_timed_out: Counter,
    /// Proposals a validator failed to deliver in its round.
    pub missed_proposals: Family<ValidatorLabel, Counter>,
    /// Transactions committed.
    pub transactions_committed: Counter<u64, AtomicU64>,
    /// Conflicting votes or proposals seen.
    pub equivocations: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("portledger");
        let m = Metrics {
            registry: Registry::default(),
            height: Gauge::default(),
            round: Gauge::default(),
            commit_latency: Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0]),
            mempool_size: Gauge::default(),
            peers: Gauge::default(),
            rounds_timed_out: Counter::default(),
            missed_proposals: Family::default(),
            transactions_committed: Counter::default(),
            equivocations: Counter::default(),
        };
        registry.register("height", "Last committed block height", m.height.clone());
        registry.register("round", "Current consensus round", m.round.clone());
        registry.register(
            "commit_latency_seconds",
            "Time from starting a height to committing it",
            m.commit_latency.clone(),
        );
        registry.register(
            "mempool_size",
            "Transactions waiting in the mempool",
            m.mempool_size.clone(),
        );
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "rounds_timed_out",
            "Consensus rounds that ended in a timeout",
            m.rounds_timed_out.clone(),
        );
        registry.register(
            "missed_proposals",
            "Rounds in which the validator's proposal did not arrive",
            m.missed_proposals.clone(),
        );
        registry.register(
            "transactions_committed",
            "Transactions committed in blocks",
            m.transactions_committed.clone(),
        );
        registry.register(
            "equivocations",
            "Conflicting votes or proposals detected",
            m.equivocations.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
