//! Deterministic simulation harness: n cores over a simulated network with delay, reordering,
//! loss, partitions, crashes and restarts from the write-ahead log, and Byzantine fixtures, all
//! driven by one seed. Every run checks agreement, validity, hash-chain continuity, commit
//! certificates, no double signing, no bogus evidence, and progress after the last fault.

pub mod block;
pub mod byzantine;
pub mod checks;
pub mod network;
pub mod rng;
pub mod runner;
pub mod scenario;

pub use byzantine::Fixture;
pub use network::NetworkModel;
pub use runner::{sim_key, sim_validators, CommitEvent, Report, Simulation, SIM_CHAIN_ID};
pub use scenario::{FaultEvent, Scenario};

/// Runs one scenario.
pub fn run(scenario: Scenario) -> Report {
    Simulation::new(scenario).run()
}
