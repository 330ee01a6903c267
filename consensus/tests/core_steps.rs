//! Table-driven tests of single steps of the core: inputs that bring it to a state, one more
//! input, the exact actions expected, and the state after.
#![allow(missing_docs, clippy::unwrap_used)]

use portledger_consensus::{
    Action, ConsensusConfig, Core, Input, SignedProposal, Step, Timeout, TimeoutStep, WalRecord,
};
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::{Hash, Keypair, ValidatorSet, Vote, VoteKind};

const CHAIN: &str = "steps";

fn keys() -> Vec<Keypair> {
    (0..4)
        .map(|i| Keypair::for_testing(&format!("step-v{i}")))
        .collect()
}

fn config() -> ConsensusConfig {
    let vs = ValidatorSet::new(
        keys()
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("v{i}"), k.public()))
            .collect(),
    );
    ConsensusConfig::new(CHAIN, vs, &ConsensusParams::default())
}

fn a() -> Hash {
    Hash::of(b"A")
}
fn b() -> Hash {
    Hash::of(b"B")
}

fn name(h: &Option<Hash>) -> String {
    match h {
        None => "nil".into(),
        Some(h) if *h == a() => "A".into(),
        Some(h) if *h == b() => "B".into(),
        Some(h) => h.to_hex()[..6].to_string(),
    }
}

fn kind(k: VoteKind) -> &'static str {
    match k {
        VoteKind::Prevote => "prevote",
        VoteKind::Precommit => "precommit",
    }
}

fn who(k: &portledger_ledger::PublicKey) -> String {
    keys()
        .iter()
        .position(|x| x.public() == *k)
        .map_or("?".into(), |i| format!("v{i}"))
}

/// A readable summary of an action (node under test is v0).
fn show(a: &Action) -> String {
    match a {
        Action::Persist(WalRecord::Vote(v)) => format!(
            "persist {} r{} {}",
            kind(v.body.kind),
            v.body.round,
            name(&v.body.block)
        ),
        Action::Persist(WalRecord::Polka(votes)) => format!(
            "persist polka r{} {} x{}",
            votes[0].body.round,
            name(&votes[0].body.block),
            votes.len()
        ),
        Action::Persist(WalRecord::Proposal(p)) => {
            format!("persist proposal r{}", p.proposal.round)
        }
        Action::BroadcastVote(v) => {
            let by = who(&v.body.validator);
            let base = format!(
                "{} r{} {}",
                kind(v.body.kind),
                v.body.round,
                name(&v.body.block)
            );
            if by == "v0" {
                base
            } else {
                format!("relay {base} by {by}")
            }
        }
        Action::BroadcastProposal(p) => format!(
            "propose r{} {} pol {:?}",
            p.proposal.round,
            name(&Some(p.proposal.block_hash)),
            p.proposal.pol_round
        ),
        Action::ScheduleTimeout(t) => {
            format!("timeout {:?} r{} {}ms", t.step, t.round, t.duration_ms).to_lowercase()
        }
        Action::RequestValue { height, round } => format!("request value h{height} r{round}"),
        Action::ValidateProposal {
            round, block_hash, ..
        } => format!("validate r{round} {}", name(&Some(*block_hash))),
        Action::Commit {
            height,
            block_hash,
            certificate,
        } => {
            certificate
                .verify(CHAIN, config().validators(*height), *height, block_hash)
                .expect("commit certificate verifies");
            format!(
                "commit h{height} {} r{} sigs {}",
                name(&Some(*block_hash)),
                certificate.round,
                certificate.signatures.len()
            )
        }
        Action::Evidence(e) => format!(
            "evidence {} r{} by {}",
            kind(e.first.body.kind),
            e.first.body.round,
            who(&e.first.body.validator)
        ),
        Action::ProposalEvidence(e) => format!("proposal evidence r{}", e.first.proposal.round),
    }
}

// ----- input builders -----

fn start(h: u64) -> Input {
    Input::StartHeight { height: h }
}

fn proposal(h: u64, r: u32, v: Hash, pol: Option<u32>) -> Input {
    let cfg = config();
    let proposer = cfg.validators(h).proposer(h, r);
    let key = keys().into_iter().find(|k| k.public() == proposer).unwrap();
    Input::ProposalReceived(SignedProposal::sign(&key, CHAIN, h, r, v, pol))
}

fn valid(h: u64, r: u32, v: Hash, ok: bool) -> Input {
    Input::ProposalValidated {
        height: h,
        round: r,
        block_hash: v,
        valid: ok,
    }
}

fn vote(i: usize, k: VoteKind, h: u64, r: u32, v: Option<Hash>) -> Input {
    Input::VoteReceived(Vote::sign(&keys()[i], CHAIN, h, r, k, v))
}

fn prevotes(from: &[usize], h: u64, r: u32, v: Option<Hash>) -> Vec<Input> {
    from.iter()
        .map(|i| vote(*i, VoteKind::Prevote, h, r, v))
        .collect()
}

fn precommits(from: &[usize], h: u64, r: u32, v: Option<Hash>) -> Vec<Input> {
    from.iter()
        .map(|i| vote(*i, VoteKind::Precommit, h, r, v))
        .collect()
}

fn timeout(h: u64, r: u32, step: TimeoutStep) -> Input {
    Input::TimeoutFired(Timeout {
        height: h,
        round: r,
        step,
        duration_ms: 0,
    })
}

/// Height 1, round 0, node v0 (not the proposer: v1 is) has prevoted A.
fn prevoted_a() -> Vec<Input> {
    vec![start(1), proposal(1, 0, a(), None), valid(1, 0, a(), true)]
}

/// v0 locked on A in round 0 of height 1 and is now in round 1 (timeouts fired).
fn locked_on_a_in_round_1() -> Vec<Input> {
    let mut v = prevoted_a();
    v.extend(prevotes(&[1, 2], 1, 0, Some(a())));
    v.extend(precommits(&[1, 2], 1, 0, None));
    v.push(timeout(1, 0, TimeoutStep::Precommit));
    v
}

struct Case {
    name: &'static str,
    setup: Vec<Input>,
    input: Input,
    expect: Vec<&'static str>,
    round: u32,
    step: Step,
    locked: Option<(Hash, u32)>,
    valid_value: Option<(Hash, u32)>,
}

fn run(cases: Vec<Case>) {
    for c in cases {
        let mut core = Core::new(config(), Some(keys()[0].clone()), 1);
        for i in c.setup {
            core.step(i);
        }
        let got: Vec<String> = core.step(c.input).iter().map(show).collect();
        assert_eq!(got, c.expect, "case {:?}: actions", c.name);
        assert_eq!(core.round(), c.round, "case {:?}: round", c.name);
        assert_eq!(core.step_kind(), c.step, "case {:?}: step", c.name);
        assert_eq!(core.locked(), c.locked, "case {:?}: locked", c.name);
        assert_eq!(
            core.valid_value(),
            c.valid_value,
            "case {:?}: valid",
            c.name
        );
    }
}

#[test]
fn proposal_and_prevote_rules() {
    run(vec![
        Case {
            name: "start height: not the proposer, only the propose timeout",
            setup: vec![],
            input: start(1),
            expect: vec!["timeout propose r0 1000ms"],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "a proposal is validated before any prevote",
            setup: vec![start(1)],
            input: proposal(1, 0, a(), None),
            expect: vec!["validate r0 A"],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "valid proposal, unlocked: prevote it (persisted first)",
            setup: vec![start(1), proposal(1, 0, a(), None)],
            input: valid(1, 0, a(), true),
            expect: vec!["persist prevote r0 A", "prevote r0 A"],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "invalid proposal: prevote nil",
            setup: vec![start(1), proposal(1, 0, a(), None)],
            input: valid(1, 0, a(), false),
            expect: vec!["persist prevote r0 nil", "prevote r0 nil"],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "proposal from the wrong proposer is ignored",
            setup: vec![start(1)],
            input: {
                let p = SignedProposal::sign(&keys()[2], CHAIN, 1, 0, a(), None);
                Input::ProposalReceived(p)
            },
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "proposal with a forged signature is ignored",
            setup: vec![start(1)],
            input: {
                let mut p = SignedProposal::sign(&keys()[1], CHAIN, 1, 0, a(), None);
                p.proposal.block_hash = b();
                Input::ProposalReceived(p)
            },
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "proposal for another chain is ignored",
            setup: vec![start(1)],
            input: Input::ProposalReceived(SignedProposal::sign(
                &keys()[1],
                "other",
                1,
                0,
                a(),
                None,
            )),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "vote from a non-validator is ignored (no skip, no count)",
            setup: vec![start(1)],
            input: Input::VoteReceived(Vote::sign(
                &Keypair::for_testing("stranger"),
                CHAIN,
                1,
                5,
                VoteKind::Prevote,
                None,
            )),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
    ]);
}

#[test]
fn locking_and_unlocking() {
    let mut polka_a = prevoted_a();
    polka_a.extend(prevotes(&[1], 1, 0, Some(a())));
    let mut unlock = locked_on_a_in_round_1();
    // Round 1 (proposer v2): prevote nil on timeout, everyone else prevotes B: a higher polka.
    // v0 precommits nil on the prevote timeout before the third prevote for B arrives.
    unlock.push(timeout(1, 1, TimeoutStep::Propose));
    unlock.push(proposal(1, 1, b(), None));
    unlock.push(valid(1, 1, b(), true));
    unlock.extend(prevotes(&[1, 2], 1, 1, Some(b())));
    unlock.push(timeout(1, 1, TimeoutStep::Prevote));
    unlock.extend(prevotes(&[3], 1, 1, Some(b())));
    unlock.extend(precommits(&[1, 2, 3], 1, 1, None));
    unlock.push(timeout(1, 1, TimeoutStep::Precommit));
    run(vec![
        Case {
            name: "polka for A while prevoting: persist the polka, lock, precommit A",
            setup: polka_a.clone(),
            input: vote(2, VoteKind::Prevote, 1, 0, Some(a())),
            expect: vec![
                "timeout prevote r0 1000ms",
                "persist polka r0 A x3",
                "persist precommit r0 A",
                "precommit r0 A",
            ],
            round: 0,
            step: Step::Precommit,
            locked: Some((a(), 0)),
            valid_value: Some((a(), 0)),
        },
        Case {
            name: "polka for nil: precommit nil, no lock",
            setup: {
                let mut v = prevoted_a();
                v.extend(prevotes(&[1, 2], 1, 0, None));
                v
            },
            input: vote(3, VoteKind::Prevote, 1, 0, None),
            expect: vec!["persist precommit r0 nil", "precommit r0 nil"],
            round: 0,
            step: Step::Precommit,
            locked: None,
            valid_value: None,
        },
        Case {
            name:
                "locked on A: a fresh proposal B gets a nil prevote without waiting for validation",
            setup: locked_on_a_in_round_1(),
            input: proposal(1, 1, b(), None),
            expect: vec!["validate r1 B", "persist prevote r1 nil", "prevote r1 nil"],
            round: 1,
            step: Step::Prevote,
            locked: Some((a(), 0)),
            valid_value: Some((a(), 0)),
        },
        Case {
            name: "locked on A: re-proposal of A prevoted",
            setup: locked_on_a_in_round_1(),
            input: proposal(1, 1, a(), Some(0)),
            expect: vec!["persist prevote r1 A", "prevote r1 A"],
            round: 1,
            step: Step::Prevote,
            locked: Some((a(), 0)),
            valid_value: Some((a(), 0)),
        },
        Case {
            name: "locked on A in r0: B with a polka in r1 >= locked round unlocks",
            setup: unlock.clone(),
            // Round 2, proposer v3, proposes B with pol_round 1.
            input: proposal(1, 2, b(), Some(1)),
            expect: vec!["persist prevote r2 B", "prevote r2 B"],
            round: 2,
            step: Step::Prevote,
            locked: Some((a(), 0)),
            valid_value: Some((b(), 1)),
        },
        Case {
            name: "locked on A in r1: B with an older polka (r0) does not unlock",
            setup: {
                // Polka for B in round 0 (v0 prevoted nil there), lock on A in round 1.
                let mut v = vec![start(1), timeout(1, 0, TimeoutStep::Propose)];
                v.push(proposal(1, 0, b(), None));
                v.push(valid(1, 0, b(), true));
                v.extend(prevotes(&[1, 2], 1, 0, Some(b())));
                v.push(timeout(1, 0, TimeoutStep::Prevote));
                v.extend(prevotes(&[3], 1, 0, Some(b())));
                v.extend(precommits(&[1, 2, 3], 1, 0, None));
                v.push(timeout(1, 0, TimeoutStep::Precommit));
                v.push(proposal(1, 1, a(), None));
                v.push(valid(1, 1, a(), true));
                v.extend(prevotes(&[1, 2], 1, 1, Some(a())));
                v.extend(precommits(&[1, 2, 3], 1, 1, None));
                v.push(timeout(1, 1, TimeoutStep::Precommit));
                v
            },
            input: proposal(1, 2, b(), Some(0)),
            expect: vec!["persist prevote r2 nil", "prevote r2 nil"],
            round: 2,
            step: Step::Prevote,
            locked: Some((a(), 1)),
            valid_value: Some((a(), 1)),
        },
        Case {
            name: "polka seen after precommitting nil: valid value updated, lock unchanged",
            setup: {
                let mut v = prevoted_a();
                v.extend(prevotes(&[1], 1, 0, Some(a())));
                v.extend(prevotes(&[2], 1, 0, None));
                v.push(timeout(1, 0, TimeoutStep::Prevote));
                v
            },
            input: vote(3, VoteKind::Prevote, 1, 0, Some(a())),
            expect: vec![],
            round: 0,
            step: Step::Precommit,
            locked: None,
            valid_value: Some((a(), 0)),
        },
    ]);
}

#[test]
fn timeout_paths() {
    run(vec![
        Case {
            name: "propose timeout: prevote nil",
            setup: vec![start(1)],
            input: timeout(1, 0, TimeoutStep::Propose),
            expect: vec!["persist prevote r0 nil", "prevote r0 nil"],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "stale timeout of another round is ignored",
            setup: vec![start(1)],
            input: timeout(1, 3, TimeoutStep::Propose),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "propose timeout after prevoting is ignored",
            setup: prevoted_a(),
            input: timeout(1, 0, TimeoutStep::Propose),
            expect: vec![],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "2f+1 mixed prevotes: prevote timeout scheduled",
            setup: {
                let mut v = prevoted_a();
                v.push(vote(1, VoteKind::Prevote, 1, 0, None));
                v
            },
            input: vote(2, VoteKind::Prevote, 1, 0, Some(b())),
            expect: vec!["timeout prevote r0 1000ms"],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "prevote timeout: precommit nil",
            setup: {
                let mut v = prevoted_a();
                v.push(vote(1, VoteKind::Prevote, 1, 0, None));
                v.push(vote(2, VoteKind::Prevote, 1, 0, Some(b())));
                v
            },
            input: timeout(1, 0, TimeoutStep::Prevote),
            expect: vec!["persist precommit r0 nil", "precommit r0 nil"],
            round: 0,
            step: Step::Precommit,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "2f+1 mixed precommits: precommit timeout scheduled",
            setup: {
                let mut v = vec![start(1), timeout(1, 0, TimeoutStep::Propose)];
                v.extend(prevotes(&[1, 2], 1, 0, None));
                v.push(vote(1, VoteKind::Precommit, 1, 0, Some(a())));
                v
            },
            input: vote(2, VoteKind::Precommit, 1, 0, None),
            expect: vec!["timeout precommit r0 1000ms"],
            round: 0,
            step: Step::Precommit,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "precommit timeout: next round, longer timeout",
            setup: {
                let mut v = vec![start(1), timeout(1, 0, TimeoutStep::Propose)];
                v.extend(prevotes(&[1, 2], 1, 0, None));
                v.extend(precommits(&[1, 2], 1, 0, None));
                v
            },
            input: timeout(1, 0, TimeoutStep::Precommit),
            expect: vec!["timeout propose r1 1500ms"],
            round: 1,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "f+1 validators in a later round: skip to it",
            setup: vec![start(1), vote(1, VoteKind::Prevote, 1, 5, None)],
            input: vote(2, VoteKind::Precommit, 1, 7, None),
            expect: vec!["timeout propose r5 3500ms"],
            round: 5,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "one validator in a later round is not enough",
            setup: vec![start(1)],
            input: vote(1, VoteKind::Prevote, 1, 5, None),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
    ]);
}

#[test]
fn proposer_rotation() {
    // proposer(h, r) = validators[(h + r) mod 4]; v0 proposes at (1, 3), (2, 2), (4, 0).
    let mut to_round_3 = vec![start(1)];
    for r in 0..3 {
        to_round_3.push(timeout(1, r, TimeoutStep::Propose));
        to_round_3.extend(prevotes(&[1, 2], 1, r, None));
        to_round_3.extend(precommits(&[1, 2], 1, r, None));
    }
    let mut locked_then_round_3 = locked_on_a_in_round_1();
    for r in 1..3 {
        locked_then_round_3.push(timeout(1, r, TimeoutStep::Propose));
        locked_then_round_3.extend(prevotes(&[1, 2], 1, r, None));
        locked_then_round_3.extend(precommits(&[1, 2], 1, r, None));
    }
    run(vec![
        Case {
            name: "own turn at (4, 0): ask the host for a block",
            setup: vec![],
            input: start(4),
            expect: vec!["request value h4 r0", "timeout propose r0 1000ms"],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "own turn comes at round 3 of height 1",
            setup: to_round_3,
            input: timeout(1, 2, TimeoutStep::Precommit),
            expect: vec!["request value h1 r3", "timeout propose r3 2500ms"],
            round: 3,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "own turn with a valid value: re-propose it with its polka round",
            setup: locked_then_round_3,
            input: timeout(1, 2, TimeoutStep::Precommit),
            expect: vec![
                "persist proposal r3",
                "propose r3 A pol Some(0)",
                "timeout propose r3 2500ms",
                "persist prevote r3 A",
                "prevote r3 A",
            ],
            round: 3,
            step: Step::Prevote,
            locked: Some((a(), 0)),
            valid_value: Some((a(), 0)),
        },
        Case {
            name: "host's block is proposed and prevoted",
            setup: vec![start(4)],
            input: Input::ValueToPropose {
                height: 4,
                round: 0,
                block_hash: b(),
            },
            expect: vec![
                "persist proposal r0",
                "propose r0 B pol None",
                "persist prevote r0 B",
                "prevote r0 B",
            ],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "a late answer for another round is ignored",
            setup: vec![start(4)],
            input: Input::ValueToPropose {
                height: 4,
                round: 1,
                block_hash: b(),
            },
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
    ]);
}

#[test]
fn commit_evidence_and_heights() {
    let mut decided = prevoted_a();
    decided.extend(prevotes(&[1, 2], 1, 0, Some(a())));
    decided.extend(precommits(&[1], 1, 0, Some(a())));
    run(vec![
        Case {
            name: "quorum of precommits for the valid proposal: commit with a certificate",
            setup: decided.clone(),
            input: vote(2, VoteKind::Precommit, 1, 0, Some(a())),
            expect: vec!["commit h1 A r0 sigs 3"],
            round: 0,
            step: Step::Decided,
            locked: Some((a(), 0)),
            valid_value: Some((a(), 0)),
        },
        Case {
            name: "conflicting prevote from one validator: evidence",
            setup: {
                let mut v = prevoted_a();
                v.push(vote(3, VoteKind::Prevote, 1, 0, Some(a())));
                v
            },
            input: vote(3, VoteKind::Prevote, 1, 0, Some(b())),
            expect: vec!["evidence prevote r0 by v3"],
            round: 0,
            step: Step::Prevote,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "conflicting proposals from the proposer: evidence, and both are kept",
            setup: vec![start(1), proposal(1, 0, a(), None)],
            input: proposal(1, 0, b(), None),
            expect: vec!["proposal evidence r0", "validate r0 B"],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "a proposal whose polka round is not earlier than its round is ignored",
            setup: vec![start(1)],
            input: proposal(1, 2, a(), Some(2)),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "messages for the next height are buffered, not counted",
            setup: vec![start(1)],
            input: vote(1, VoteKind::Prevote, 2, 9, None),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "after commit, starting the next height replays its buffered proposal",
            setup: {
                let mut v = decided.clone();
                v.push(vote(2, VoteKind::Precommit, 1, 0, Some(a())));
                v.push(proposal(2, 0, b(), None));
                v
            },
            input: start(2),
            expect: vec!["timeout propose r0 1000ms", "validate r0 B"],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
        Case {
            name: "messages for an old height are ignored",
            setup: vec![start(3)],
            input: proposal(2, 0, a(), None),
            expect: vec![],
            round: 0,
            step: Step::Propose,
            locked: None,
            valid_value: None,
        },
    ]);
}

#[test]
fn restart_never_signs_a_conflicting_vote() {
    let mut core = Core::new(config(), Some(keys()[0].clone()), 1);
    let mut wal = Vec::new();
    let record = |acts: Vec<Action>, wal: &mut Vec<WalRecord>| {
        for a in acts {
            if let Action::Persist(r) = a {
                wal.push(r);
            }
        }
    };
    for i in prevoted_a()
        .into_iter()
        .chain(prevotes(&[1, 2], 1, 0, Some(a())))
    {
        record(core.step(i), &mut wal);
    }
    assert_eq!(core.locked(), Some((a(), 0)));
    assert_eq!(wal.len(), 3, "prevote, polka, precommit: {wal:?}");

    // Crash; rebuild from the log.
    let mut back = Core::restore(config(), Some(keys()[0].clone()), &wal);
    assert_eq!(back.height(), 1);
    let acts: Vec<String> = back.step(start(1)).iter().map(show).collect();
    assert_eq!(
        acts,
        vec![
            "prevote r0 A",
            "precommit r0 A",
            "relay prevote r0 A by v2",
            "relay prevote r0 A by v1",
            "timeout propose r0 1000ms",
        ],
        "re-sends what it signed and the polka behind its lock, signs nothing"
    );
    assert_eq!(back.locked(), Some((a(), 0)), "lock survives the crash");
    // The propose timeout would make a fresh core prevote nil: the restored one re-sends A.
    let acts: Vec<String> = back
        .step(timeout(1, 0, TimeoutStep::Propose))
        .iter()
        .map(show)
        .collect();
    assert_eq!(acts, vec!["prevote r0 A", "timeout prevote r0 1000ms"]);
    // A conflicting proposal in round 1 gets nil (locked), and nothing in round 0 is re-signed.
    back.step(vote(1, VoteKind::Precommit, 1, 0, None));
    back.step(vote(2, VoteKind::Precommit, 1, 0, None));
    let acts = back.step(timeout(1, 0, TimeoutStep::Precommit));
    assert!(acts.iter().all(|a| !matches!(a, Action::Persist(_))));
    let acts: Vec<String> = back
        .step(proposal(1, 1, b(), None))
        .iter()
        .map(show)
        .collect();
    assert_eq!(
        acts,
        vec!["validate r1 B", "persist prevote r1 nil", "prevote r1 nil"]
    );

    // Restarting at a later height (the block was stored) drops the old records.
    let mut later = Core::restore(config(), Some(keys()[0].clone()), &wal);
    let acts: Vec<String> = later.step(start(2)).iter().map(show).collect();
    assert_eq!(acts, vec!["timeout propose r0 1000ms"]);
    assert_eq!(later.locked(), None);
}

#[test]
fn observer_follows_commits_without_voting() {
    let mut core = Core::new(config(), None, 1);
    let mut acts = Vec::new();
    let mut inputs = vec![start(1), proposal(1, 0, a(), None), valid(1, 0, a(), true)];
    inputs.extend(prevotes(&[1, 2, 3], 1, 0, Some(a())));
    inputs.extend(precommits(&[1, 2, 3], 1, 0, Some(a())));
    for i in inputs {
        acts.extend(core.step(i));
    }
    assert!(!core.is_validator());
    assert!(acts
        .iter()
        .all(|a| !matches!(a, Action::BroadcastVote(_) | Action::Persist(_))));
    let shown: Vec<String> = acts.iter().map(show).collect();
    assert_eq!(
        shown.last().map(String::as_str),
        Some("commit h1 A r0 sigs 3")
    );
}

#[test]
fn restored_records_wait_for_their_height() {
    // Signed a nil prevote at height 2, then crashed; the store is (say) back at height 1.
    let mut core = Core::new(config(), Some(keys()[0].clone()), 2);
    core.step(start(2));
    let wal: Vec<WalRecord> = core
        .step(timeout(2, 0, TimeoutStep::Propose))
        .into_iter()
        .filter_map(|a| match a {
            Action::Persist(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(wal.len(), 1);
    let mut back = Core::restore(config(), Some(keys()[0].clone()), &wal);
    assert_eq!(back.height(), 2);
    back.step(start(1));
    assert_eq!(
        back.height(),
        1,
        "a restored core starts where the store is"
    );
    let mut inputs = vec![proposal(1, 0, a(), None), valid(1, 0, a(), true)];
    inputs.extend(prevotes(&[1, 2], 1, 0, Some(a())));
    inputs.extend(precommits(&[1, 2], 1, 0, Some(a())));
    for i in inputs {
        back.step(i);
    }
    assert_eq!(back.step_kind(), Step::Decided);
    // Height 2 again: the nil prevote of round 0 is re-sent, and a valid proposal for round 0
    // does not make it sign a prevote for the block.
    let acts: Vec<String> = back.step(start(2)).iter().map(show).collect();
    assert_eq!(acts, vec!["prevote r0 nil", "timeout propose r0 1000ms"]);
    back.step(proposal(2, 0, b(), None));
    let acts: Vec<String> = back.step(valid(2, 0, b(), true)).iter().map(show).collect();
    assert_eq!(acts, vec!["prevote r0 nil"]);
}
