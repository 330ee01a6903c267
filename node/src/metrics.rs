//! Prometheus metrics: height, round, commit latency, mempool size, peers, rounds that timed out,
//! missed proposals per validator, transactions committed, the block interval, and the latency
//! of each stage a transaction goes through (see [`Stage`]).

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

/// A stage on a transaction's way from submission to the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Request received by the API until it is admitted and recorded (the 202), per transaction.
    SubmitToAdmitted,
    /// Admitted to the proposer's mempool until in the proposal it built, per transaction (on
    /// the proposer).
    AdmittedToProposed,
    /// Built by the proposer until received by this node (the block's time against this node's
    /// clock: one machine in the bench), per block (on the other validators).
    ProposedToReceived,
    /// This node has the proposal (built or received) until it sees a polka for it and
    /// precommits, per block.
    ProposedToPolka,
    /// This node precommitted until the block is decided (a quorum of precommits), per block.
    PolkaToCommit,
    /// Decided until stored and applied (validation if not done, the sled batch), per block.
    CommitToPersisted,
    /// Stored until the event is written to a `/v1/events` subscriber, per transaction and
    /// subscriber.
    PersistedToDelivered,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 7] = [
        Stage::SubmitToAdmitted,
        Stage::AdmittedToProposed,
        Stage::ProposedToReceived,
        Stage::ProposedToPolka,
        Stage::PolkaToCommit,
        Stage::CommitToPersisted,
        Stage::PersistedToDelivered,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Stage::SubmitToAdmitted => "submit_to_admitted",
            Stage::AdmittedToProposed => "admitted_to_proposed",
            Stage::ProposedToReceived => "proposed_to_received",
            Stage::ProposedToPolka => "proposed_to_polka",
            Stage::PolkaToCommit => "polka_to_commit",
            Stage::CommitToPersisted => "commit_to_persisted",
            Stage::PersistedToDelivered => "persisted_to_delivered",
        }
    }
}

/// A stage label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    /// The stage's name ([`Stage::name`]).
    pub stage: String,
}

/// Buckets of the stage and interval histograms (seconds): 0.5 ms to 10 s.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
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
    /// 1 once another process was seen signing with this node's validator key (it stopped
    /// signing), else 0.
    pub duplicate_key: Gauge,
    /// Seconds spent in each stage.
    pub stages: Family<StageLabel, Histogram, fn() -> Histogram>,
    /// Seconds between consecutive commits.
    pub block_interval: Histogram,
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
            duplicate_key: Gauge::default(),
            stages: Family::new_with_constructor(latency_histogram),
            block_interval: latency_histogram(),
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
        registry.register(
            "duplicate_key",
            "1 once another process signs with this node's validator key (this node stopped signing)",
            m.duplicate_key.clone(),
        );
        registry.register(
            "stage_seconds",
            "Latency of each stage from submission to the event stream",
            m.stages.clone(),
        );
        registry.register(
            "block_interval_seconds",
            "Time between consecutive commits",
            m.block_interval.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The histogram of a stage.
    pub fn stage(&self, stage: Stage) -> Histogram {
        self.stages
            .get_or_create(&StageLabel {
                stage: stage.name().to_string(),
            })
            .clone()
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
