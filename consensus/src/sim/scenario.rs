//! What a simulation run does: the network, the Byzantine nodes, and a fault schedule, all
//! derived from a seed for the mixed-fault runs.

use std::collections::BTreeMap;

use portledger_ledger::governance::ACTIVATION_DELAY;

use super::byzantine::Fixture;
use super::network::NetworkModel;
use super::rng::SimRng;
use crate::timeout::TimeoutSchedule;

/// A scheduled change to the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultEvent {
    /// Split the network: the partition group of each node.
    Partition(Vec<u8>),
    /// Reconnect everyone.
    Heal,
    /// Crash a node (its volatile state is lost; its WAL and stored blocks survive).
    Crash(usize),
    /// Restart a crashed node from its WAL and store.
    Restart(usize),
    /// Change the loss rate (per mille).
    SetLoss(u32),
    /// Change the delivery delay range (an asynchronous period when longer than the timeouts).
    SetDelay {
        /// Shortest delay.
        min_ms: u64,
        /// Longest usual delay.
        max_ms: u64,
    },
}

/// One simulation run's setup.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name shown in reports.
    pub name: String,
    /// Seed of every random choice in the run.
    pub seed: u64,
    /// Number of validators at genesis (nodes `0..n`).
    pub n: usize,
    /// Nodes outside the genesis set (`n..n + joiners`): they follow the chain as observers
    /// until a set change seats them.
    pub joiners: usize,
    /// Validator set changes the ledger adopts: once a node stores height `h`, the set from
    /// `h + ACTIVATION_DELAY` is these nodes, in proposer order (as the node's host adds what
    /// the adopting block scheduled).
    pub set_changes: Vec<(u64, Vec<usize>)>,
    /// Byzantine nodes and their behaviour (at most f for the guarantees to hold).
    pub byzantine: BTreeMap<usize, Fixture>,
    /// Initial network behaviour.
    pub network: NetworkModel,
    /// Round timeouts.
    pub timeouts: TimeoutSchedule,
    /// Faults at given times (milliseconds of simulated time).
    pub faults: Vec<(u64, FaultEvent)>,
    /// Probability (per mille) that a correct node crashes right after persisting a vote,
    /// before sending it; restarted 50 ms to 1.5 s later. Only before `chaos_until_ms`.
    pub crash_after_persist_per_mille: u32,
    /// End of the period in which random crashes are injected.
    pub chaos_until_ms: u64,
    /// Every correct running node must reach at least this height.
    pub min_height: u64,
    /// After the last fault is over, every correct running node must commit this many heights
    /// beyond the highest height committed at that moment.
    pub new_heights_after_recovery: u64,
    /// Simulated time allowed for that, after the last fault.
    pub liveness_budget_ms: u64,
    /// How often each node re-sends its own messages of the current height and its status.
    pub gossip_interval_ms: u64,
    /// A node serves a decided height to lagging peers only this long after deciding it (a
    /// slow block sync, which leaves room for rounds to go on without it).
    pub sync_delay_ms: u64,
    /// Print a trace of faults and commits.
    pub trace: bool,
}

impl Scenario {
    /// A fault-free scenario with `n` validators on a reliable network.
    pub fn calm(name: &str, seed: u64, n: usize) -> Scenario {
        Scenario {
            name: name.to_string(),
            seed,
            n,
            joiners: 0,
            set_changes: Vec::new(),
            byzantine: BTreeMap::new(),
            network: NetworkModel::reliable(),
            timeouts: TimeoutSchedule {
                base_ms: 300,
                delta_ms: 150,
                max_ms: 3000,
            },
            faults: Vec::new(),
            crash_after_persist_per_mille: 0,
            chaos_until_ms: 0,
            min_height: 5,
            new_heights_after_recovery: 2,
            liveness_budget_ms: 60_000,
            gossip_interval_ms: 250,
            sync_delay_ms: 0,
            trace: false,
        }
    }

    /// The mixed-fault scenario of `seed`: up to f Byzantine nodes of random kinds, random
    /// loss and delays, partitions and heals, crashes and restarts (some right after a vote was
    /// persisted but not sent), then a healed network in which progress must resume.
    pub fn mixed(seed: u64, n: usize) -> Scenario {
        let mut rng = SimRng::new(seed.wrapping_mul(31).wrapping_add(n as u64));
        let mut sc = Scenario::calm(&format!("mixed-n{n}"), seed, n);
        let f = n.saturating_sub(1) / 3;
        let byz = rng.below(f as u64 + 1) as usize;
        let mut nodes: Vec<usize> = (0..n).collect();
        for _ in 0..byz {
            let i = nodes.remove(rng.pick(nodes.len()));
            sc.byzantine
                .insert(i, Fixture::ALL[rng.pick(Fixture::ALL.len())]);
        }
        let correct = nodes;
        sc.network.loss_per_mille = [0, 0, 50, 150, 300][rng.pick(5)];
        sc.network.delay_min_ms = rng.range(1, 10);
        sc.network.delay_max_ms = rng.range(20, 250);
        let chaos = rng.range(1500, 4500);
        sc.chaos_until_ms = chaos;
        sc.sync_delay_ms = [0, 0, 1000, 4000][rng.pick(4)];
        if rng.chance(400) {
            sc.crash_after_persist_per_mille = rng.range(5, 40) as u32;
        }
        // Partitions, one at a time.
        let mut t = rng.range(0, 1000);
        while t < chaos && rng.chance(600) {
            let groups: Vec<u8> = (0..n).map(|_| rng.below(2) as u8).collect();
            let end = (t + rng.range(300, 3000)).min(chaos);
            sc.faults.push((t, FaultEvent::Partition(groups)));
            sc.faults.push((end, FaultEvent::Heal));
            t = end + rng.range(100, 1500);
        }
        // Crashes of correct nodes, each restarted before the end of the chaos period.
        for _ in 0..rng.below(3) {
            let node = correct[rng.pick(correct.len())];
            let at = rng.range(0, chaos);
            let back = (at + rng.range(200, 3000)).min(chaos + 500);
            sc.faults.push((at, FaultEvent::Crash(node)));
            sc.faults.push((back, FaultEvent::Restart(node)));
        }
        // A burst of heavy loss.
        if rng.chance(300) {
            let at = rng.range(0, chaos);
            sc.faults.push((at, FaultEvent::SetLoss(600)));
            sc.faults.push((
                at + rng.range(200, 2000),
                FaultEvent::SetLoss(sc.network.loss_per_mille),
            ));
        }
        // An asynchronous period: delays far beyond the timeouts, so that rounds move on while
        // old messages are still in flight.
        if rng.chance(500) {
            let at = rng.range(0, chaos);
            let (min_ms, max_ms) = (sc.network.delay_min_ms, sc.network.delay_max_ms);
            sc.faults.push((
                at,
                FaultEvent::SetDelay {
                    min_ms,
                    max_ms: rng.range(1000, 5000),
                },
            ));
            sc.faults.push((
                (at + rng.range(500, 4000)).min(chaos + 1000),
                FaultEvent::SetDelay { min_ms, max_ms },
            ));
        }
        sc.faults.sort_by_key(|(t, _)| *t);
        sc
    }

    /// The mixed scenario of `seed` with validator set changes while it runs: one or two nodes
    /// outside the genesis set join, genesis validators leave (and may come back), each change
    /// adopted at a random height and in force `ACTIVATION_DELAY` heights later, never leaving
    /// more Byzantine members than the new set tolerates.
    pub fn membership(seed: u64, n: usize) -> Scenario {
        let mut sc = Scenario::mixed(seed, n);
        sc.name = format!("membership-n{n}");
        let mut rng = SimRng::new(seed ^ 0x5E75_0000);
        sc.joiners = 1 + rng.below(2) as usize;
        let total = n + sc.joiners;
        for (_, f) in &mut sc.faults {
            if let FaultEvent::Partition(groups) = f {
                while groups.len() < total {
                    groups.push(rng.below(2) as u8);
                }
            }
        }
        let mut members: Vec<usize> = (0..n).collect();
        let mut outside: Vec<usize> = (n..total).collect();
        let mut at = rng.range(1, 5);
        for _ in 0..rng.range(2, 6) {
            let mut next = members.clone();
            let mut still_outside = outside.clone();
            if !still_outside.is_empty() && (members.len() <= n || rng.chance(500)) {
                next.push(still_outside.remove(rng.pick(still_outside.len())));
            } else {
                still_outside.push(next.remove(rng.pick(next.len())));
            }
            let byzantine = next.iter().filter(|i| sc.byzantine.contains_key(i)).count();
            if next.len() < 2 || byzantine > next.len().saturating_sub(1) / 3 {
                // Not a set the fault model covers.
                continue;
            }
            outside = still_outside;
            sc.set_changes.push((at, next.clone()));
            members = next;
            at += rng.range(1, 5);
        }
        // Past every change; slow seeds (heavy loss, a slow block sync) take seconds a height.
        sc.min_height = sc.min_height.max(at + ACTIVATION_DELAY + 2);
        sc.liveness_budget_ms = sc.liveness_budget_ms.max(sc.min_height * 8000);
        sc
    }

    /// The mixed scenario of `seed` made as hostile as the fault model allows: exactly f
    /// Byzantine nodes that equivocate or vote for every proposal, at least 20% loss, a slow
    /// block sync, and crashes between persisting and sending votes.
    pub fn adversarial(seed: u64, n: usize) -> Scenario {
        let mut sc = Scenario::mixed(seed, n);
        sc.name = format!("adversarial-n{n}");
        let mut rng = SimRng::new(seed ^ 0xADD5);
        let f = n.saturating_sub(1) / 3;
        let mut candidates: Vec<usize> = (0..n).filter(|i| !sc.byzantine.contains_key(i)).collect();
        for (i, fixture) in sc.byzantine.iter_mut() {
            if *fixture == Fixture::Silent {
                *fixture = Fixture::VoteForEverything;
            }
            let _ = i;
        }
        while sc.byzantine.len() < f && !candidates.is_empty() {
            let i = candidates.remove(rng.pick(candidates.len()));
            let fixture = if rng.chance(600) {
                Fixture::VoteForEverything
            } else {
                Fixture::EquivocatingProposer
            };
            sc.byzantine.insert(i, fixture);
        }
        let byzantine = sc.byzantine.clone();
        sc.faults.retain(|(_, e)| {
            !matches!(e, FaultEvent::Crash(i) | FaultEvent::Restart(i) if byzantine.contains_key(i))
        });
        sc.network.loss_per_mille = sc.network.loss_per_mille.max(200);
        sc.crash_after_persist_per_mille = sc.crash_after_persist_per_mille.max(30);
        sc.sync_delay_ms = 4000;
        sc
    }
}
