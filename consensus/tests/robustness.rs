//! Whatever arrives from the network, the core never panics and never signs two different
//! votes for one round and step.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use portledger_consensus::sim::rng::SimRng;
use portledger_consensus::{
    Action, ConsensusConfig, Core, Input, SignedProposal, Timeout, TimeoutStep, WalRecord,
};
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::{Hash, Keypair, Signature, ValidatorSet, Vote, VoteKind};

#[test]
fn random_and_hostile_inputs_never_panic_or_double_sign() {
    let keys: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("rob{i}")))
        .collect();
    let outsider = Keypair::for_testing("outsider");
    let vs = ValidatorSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| (format!("v{i}"), k.public()))
            .collect(),
    );
    let mut cfg = ConsensusConfig::new("rob", vs, &ConsensusParams::default());
    cfg.future_buffer = 16;
    let hashes = [Hash::of(b"a"), Hash::of(b"b"), Hash::of(b"c")];
    for seed in 0..40u64 {
        let mut rng = SimRng::new(seed);
        let mut core = Core::new(cfg.clone(), Some(keys[0].clone()), 1);
        let mut wal: Vec<WalRecord> = Vec::new();
        let mut signed: BTreeMap<(u64, u32, VoteKind), Vote> = BTreeMap::new();
        let mut height = 1;
        core.step(Input::StartHeight { height });
        for _ in 0..1500 {
            let h = match rng.below(10) {
                0 => u64::MAX,
                1 => height + 1,
                2 => height.saturating_sub(1),
                _ => height,
            };
            let r = match rng.below(10) {
                0 => u32::MAX,
                1 => rng.below(1000) as u32,
                _ => rng.below(4) as u32,
            };
            let block = if rng.chance(300) {
                None
            } else {
                Some(hashes[rng.pick(3)])
            };
            let signer = if rng.chance(50) {
                &outsider
            } else {
                &keys[rng.pick(4)]
            };
            let kind = if rng.chance(500) {
                VoteKind::Prevote
            } else {
                VoteKind::Precommit
            };
            let chain = if rng.chance(30) { "other" } else { "rob" };
            let input = match rng.below(9) {
                0..=2 => {
                    let mut v = Vote::sign(signer, chain, h, r, kind, block);
                    if rng.chance(50) {
                        v.signature = Signature([7; 64]);
                    }
                    Input::VoteReceived(v)
                }
                3 => {
                    let pol = if rng.chance(500) {
                        None
                    } else {
                        Some(rng.below(5) as u32)
                    };
                    Input::ProposalReceived(SignedProposal::sign(
                        signer,
                        chain,
                        h,
                        r,
                        hashes[rng.pick(3)],
                        pol,
                    ))
                }
                4 => Input::TimeoutFired(Timeout {
                    height: h,
                    round: r,
                    step: [
                        TimeoutStep::Propose,
                        TimeoutStep::Prevote,
                        TimeoutStep::Precommit,
                    ][rng.pick(3)],
                    duration_ms: 0,
                }),
                5 => Input::ProposalValidated {
                    height: h,
                    round: r,
                    block_hash: hashes[rng.pick(3)],
                    valid: rng.chance(700),
                },
                6 => Input::ValueToPropose {
                    height: h,
                    round: r,
                    block_hash: hashes[rng.pick(3)],
                },
                7 => Input::StartHeight {
                    height: if rng.chance(100) { h } else { height },
                },
                _ => {
                    // Crash and restart from the log.
                    core = Core::restore(cfg.clone(), Some(keys[0].clone()), &wal);
                    Input::StartHeight { height }
                }
            };
            for a in core.step(input) {
                match a {
                    Action::Persist(rec) => wal.push(rec),
                    Action::BroadcastVote(v) if v.body.validator == keys[0].public() => {
                        assert!(
                            wal.contains(&WalRecord::Vote(v.clone())),
                            "seed {seed}: sent before persisted"
                        );
                        let slot = (v.body.height, v.body.round, v.body.kind);
                        let prev = signed.entry(slot).or_insert_with(|| v.clone());
                        assert_eq!(*prev, v, "seed {seed}: double sign at {slot:?}");
                    }
                    Action::Commit { height: ch, .. } => {
                        assert_eq!(ch, height, "seed {seed}: commit of the current height");
                        height += 1;
                    }
                    _ => {}
                }
            }
        }
        assert!(core.buffered() <= 16, "the future buffer is bounded");
    }
}
