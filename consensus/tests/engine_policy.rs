//! The engine's host policy, step by step, on one validator (v0 of four): when a height starts,
//! what is persisted before it is sent, re-sending and relaying, answering a lagging peer, and
//! the switch to block sync. The seeded simulation runs the same engine under faults; these
//! tests pin each rule on its own.
#![allow(missing_docs, clippy::unwrap_used)]

use portledger_consensus::{
    ConsensusConfig, Effect, Engine, EnginePolicy, Event, Message, SignedProposal, WalRecord,
};
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::{CommitCertificate, Hash, Keypair, ValidatorSet, Vote, VoteKind};

const CHAIN: &str = "engine";

fn keys() -> Vec<Keypair> {
    (0..4)
        .map(|i| Keypair::for_testing(&format!("engine-v{i}")))
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

const POLICY: EnginePolicy = EnginePolicy {
    heartbeat_ms: 5_000,
    resend_ms: 1_000,
    stall_ms: 900,
    answer_lagging_after_ms: 300,
};

fn engine() -> Engine<&'static str> {
    let (e, effects) = Engine::start(config(), Some(keys()[0].clone()), POLICY, 0, &[], vec![], 0);
    assert!(effects.is_empty(), "nothing to resume: {effects:?}");
    e
}

fn block() -> Hash {
    Hash::of(b"block-1")
}

/// The proposal of height 1, round 0 (v1 proposes it).
fn proposal() -> SignedProposal {
    SignedProposal::sign(&keys()[1], CHAIN, 1, 0, block(), None)
}

fn vote(i: usize, kind: VoteKind, block: Option<Hash>) -> Vote {
    Vote::sign(&keys()[i], CHAIN, 1, 0, kind, block)
}

fn own_vote(effects: &[Effect<&'static str>], kind: VoteKind) -> Option<usize> {
    effects.iter().position(|e| {
        matches!(e, Effect::Broadcast(Message::Vote(v)) if v.body.kind == kind && v.body.validator == keys()[0].public())
    })
}

fn persisted(effects: &[Effect<&'static str>], kind: VoteKind) -> Option<usize> {
    effects
        .iter()
        .position(|e| matches!(e, Effect::Persist(WalRecord::Vote(v)) if v.body.kind == kind))
}

/// Drives v0 through height 1 up to its decision: proposal, validation, a polka, a quorum of
/// precommits. Returns every effect seen, in order.
fn decide(e: &mut Engine<&'static str>, now: u64) -> Vec<Effect<&'static str>> {
    let mut all = e.handle(
        now,
        Event::Message(Message::Proposal {
            proposal: proposal(),
            body: "body-1",
        }),
    );
    assert!(
        all.iter()
            .any(|x| matches!(x, Effect::Validate { block_hash, .. } if *block_hash == block())),
        "a proposal with its body is validated: {all:?}"
    );
    all.extend(e.handle(
        now,
        Event::ProposalValidated {
            height: 1,
            round: 0,
            block_hash: block(),
            valid: true,
        },
    ));
    for i in 1..3 {
        all.extend(e.handle(
            now,
            Event::Message(Message::Vote(vote(i, VoteKind::Prevote, Some(block())))),
        ));
    }
    for i in 1..3 {
        all.extend(e.handle(
            now,
            Event::Message(Message::Vote(vote(i, VoteKind::Precommit, Some(block())))),
        ));
    }
    all
}

#[test]
fn an_idle_chain_waits_for_a_transaction_or_the_heartbeat() {
    let mut e = engine();
    assert!(e.handle(100, Event::Tick { txs_waiting: false }).is_empty());
    // A transaction starts the height at once; v0 is not the proposer, so it waits for the
    // proposal with a timeout.
    let fx = e.handle(150, Event::TransactionArrived);
    assert!(
        fx.iter().any(|x| matches!(x, Effect::ScheduleTimeout(_))),
        "{fx:?}"
    );

    let mut idle = engine();
    assert!(idle
        .handle(4_999, Event::Tick { txs_waiting: false })
        .is_empty());
    let fx = idle.handle(5_000, Event::Tick { txs_waiting: false });
    assert!(
        fx.iter().any(|x| matches!(x, Effect::ScheduleTimeout(_))),
        "the heartbeat starts an empty height: {fx:?}"
    );
}

#[test]
fn a_peer_working_on_the_height_starts_it_and_votes_are_durable_before_they_are_sent() {
    let mut e = engine();
    let fx = decide(&mut e, 10);
    for kind in [VoteKind::Prevote, VoteKind::Precommit] {
        let (p, s) = (persisted(&fx, kind), own_vote(&fx, kind));
        assert!(
            p.is_some() && s.is_some() && p < s,
            "{kind:?} persisted before sent: {fx:?}"
        );
    }
    // The body of the block v0 precommits is kept before the precommit is persisted.
    let kept = fx
        .iter()
        .position(|x| matches!(x, Effect::KeepBody { block_hash, .. } if *block_hash == block()));
    assert!(
        kept.is_some() && kept < persisted(&fx, VoteKind::Precommit),
        "{fx:?}"
    );
    // Decided: the host is asked to commit it with its body.
    assert!(
        fx.iter().any(
            |x| matches!(x, Effect::Commit { height: 1, block_hash, .. } if *block_hash == block())
        ),
        "{fx:?}"
    );
    assert_eq!(e.body(&block()), Some(&"body-1"));
}

#[test]
fn own_messages_are_resent_and_others_relayed_every_interval() {
    let mut e = engine();
    let mut fx = e.handle(
        10,
        Event::Message(Message::Proposal {
            proposal: proposal(),
            body: "body-1",
        }),
    );
    fx.extend(e.handle(
        11,
        Event::ProposalValidated {
            height: 1,
            round: 0,
            block_hash: block(),
            valid: true,
        },
    ));
    assert!(own_vote(&fx, VoteKind::Prevote).is_some());
    let heard = e.handle(
        12,
        Event::Message(Message::Vote(vote(2, VoteKind::Prevote, Some(block())))),
    );
    assert!(
        own_vote(&heard, VoteKind::Precommit).is_none(),
        "no polka yet"
    );
    // Not yet due.
    assert!(e.handle(500, Event::Tick { txs_waiting: true }).is_empty());
    let fx = e.handle(1_010, Event::Tick { txs_waiting: true });
    let resent = fx.iter().find_map(|x| match x {
        Effect::Resend(ms) => Some(ms.clone()),
        _ => None,
    });
    let relayed = fx.iter().find_map(|x| match x {
        Effect::Relay(ms) => Some(ms.clone()),
        _ => None,
    });
    let resent = resent.expect("own prevote re-sent");
    assert!(resent
        .iter()
        .all(|m| matches!(m, Message::Vote(v) if v.body.validator == keys()[0].public())));
    let relayed = relayed.expect("others' messages relayed");
    assert!(relayed
        .iter()
        .any(|m| matches!(m, Message::Proposal { proposal: p, .. } if *p == proposal())));
    assert!(relayed
        .iter()
        .any(|m| matches!(m, Message::Vote(v) if v.body.validator == keys()[2].public())));
    assert!(!relayed
        .iter()
        .any(|m| matches!(m, Message::Vote(v) if v.body.validator == keys()[0].public())));
}

#[test]
fn a_lagging_peer_gets_the_decision_once_it_is_old_enough() {
    let mut e = engine();
    decide(&mut e, 10);
    assert!(e
        .handle(
            20,
            Event::Committed {
                height: 1,
                txs_waiting: false
            }
        )
        .is_empty());
    let laggard = keys()[3].public();
    // Too soon: the peer is likely about to decide it itself.
    let fx = e.handle(
        100,
        Event::PeerStatus {
            peer: laggard,
            height: 0,
        },
    );
    assert!(
        !fx.iter().any(|x| matches!(x, Effect::SendTo(..))),
        "{fx:?}"
    );
    let fx = e.handle(
        400,
        Event::PeerStatus {
            peer: laggard,
            height: 0,
        },
    );
    let decision = fx.iter().find_map(|x| match x {
        Effect::SendTo(
            p,
            Message::Decision {
                proposal: sp,
                precommits,
                body,
            },
        ) if *p == laggard => Some((sp.clone(), precommits.clone(), *body)),
        _ => None,
    });
    let (sp, precommits, body) = decision.expect("the decision is sent");
    assert_eq!(sp, proposal());
    assert_eq!(body, "body-1");
    let cert = CommitCertificate::from_votes(config().validators(1), 1, 0, block(), &precommits);
    assert!(cert
        .verify(CHAIN, config().validators(1), 1, &block())
        .is_ok());
    // Not again within the resend interval.
    let fx = e.handle(
        600,
        Event::PeerStatus {
            peer: laggard,
            height: 0,
        },
    );
    assert!(!fx.iter().any(|x| matches!(x, Effect::SendTo(..))));
}

#[test]
fn a_peer_far_ahead_or_ahead_of_a_stalled_node_switches_to_block_sync() {
    // A peer two heights ahead: sync at once.
    let mut e = engine();
    let ahead = keys()[2].public();
    let fx = e.handle(
        10,
        Event::PeerStatus {
            peer: ahead,
            height: 2,
        },
    );
    assert!(
        fx.iter()
            .any(|x| matches!(x, Effect::Sync { peer, from: 1 } if *peer == ahead)),
        "{fx:?}"
    );
    assert!(e.is_syncing());
    // While syncing no height starts; after the sync the engine is at the new height.
    assert!(e.handle(20, Event::TransactionArrived).is_empty());
    e.handle(
        30,
        Event::Synced {
            peer: ahead,
            tip: 2,
            records: vec![],
        },
    );
    assert_eq!(e.height(), 3);
    assert!(!e.is_syncing());

    // A quorum of precommits for a block whose proposal never arrived: the core cannot
    // decide without it; once the height has stalled, a peer one height ahead is synced from.
    let mut e = engine();
    e.handle(5, Event::TransactionArrived);
    let fx = e.handle(
        6,
        Event::PeerStatus {
            peer: ahead,
            height: 1,
        },
    );
    assert!(
        !fx.iter().any(|x| matches!(x, Effect::Sync { .. })),
        "not stalled yet: {fx:?}"
    );
    let mut fx = Vec::new();
    for i in 1..4 {
        fx.extend(e.handle(
            10,
            Event::Message(Message::Vote(vote(i, VoteKind::Precommit, Some(block())))),
        ));
    }
    assert!(
        !fx.iter().any(|x| matches!(x, Effect::Commit { .. })),
        "no proposal, no commit: {fx:?}"
    );
    assert!(
        !fx.iter().any(|x| matches!(x, Effect::Sync { .. })),
        "{fx:?}"
    );
    let fx = e.handle(1_000, Event::Tick { txs_waiting: true });
    assert!(
        fx.iter()
            .any(|x| matches!(x, Effect::Sync { peer, from: 1 } if *peer == ahead)),
        "stalled with a peer ahead: {fx:?}"
    );
}

#[test]
fn a_restarted_validator_can_still_propose_the_block_it_is_locked_on() {
    // v0 precommitted block-1 in round 0 and crashed; the WAL holds its votes and the kept body.
    let mut e = engine();
    let fx = decide(&mut e, 10);
    let records: Vec<WalRecord> = fx
        .iter()
        .filter_map(|x| match x {
            Effect::Persist(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let (mut back, fx) = Engine::start(
        config(),
        Some(keys()[0].clone()),
        POLICY,
        0,
        &records,
        vec![(block(), "body-1")],
        50,
    );
    assert!(!fx.is_empty(), "a height with records resumes at once");
    assert_eq!(back.body(&block()), Some(&"body-1"));
    // Round 3 of height 1 is v0's (height 1 + round 3 = 4 ≡ 0): it re-proposes its lock.
    let mut all = Vec::new();
    for round in 0..3u32 {
        for i in 1..4 {
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                let v = Vote::sign(&keys()[i], CHAIN, 1, round + 1, kind, None);
                all.extend(back.handle(100 + u64::from(round), Event::Message(Message::Vote(v))));
            }
        }
    }
    let proposed = all.iter().any(|x| {
        matches!(x, Effect::Broadcast(Message::Proposal { proposal: p, body })
            if p.proposal.block_hash == block() && p.proposal.proposer == keys()[0].public() && *body == "body-1")
    });
    assert!(
        proposed,
        "the locked block is proposed again with its body: {all:?}"
    );
}

fn duplicate(effects: &[Effect<&'static str>]) -> bool {
    effects
        .iter()
        .any(|x| matches!(x, Effect::DuplicateKey { .. }))
}

fn signs(effects: &[Effect<&'static str>]) -> bool {
    effects.iter().any(|x| {
        matches!(x, Effect::Persist(WalRecord::Vote(v)) if v.body.validator == keys()[0].public())
            || matches!(x, Effect::Broadcast(Message::Vote(v)) if v.body.validator == keys()[0].public())
            || matches!(x, Effect::Persist(WalRecord::Proposal(_)))
    })
}

#[test]
fn its_own_messages_coming_back_are_not_a_duplicate_key() {
    let mut e = engine();
    let fx = decide(&mut e, 100);
    assert!(!duplicate(&fx), "{fx:?}");
    // v0's own prevote and precommit, relayed back by peers: recognised as its own.
    let mine: Vec<Vote> = fx
        .iter()
        .filter_map(|x| match x {
            Effect::Broadcast(Message::Vote(v)) if v.body.validator == keys()[0].public() => {
                Some(v.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(mine.len(), 2, "{fx:?}");
    for v in mine {
        let back = e.handle(110, Event::Message(Message::Vote(v)));
        assert!(!duplicate(&back), "{back:?}");
    }
    assert_eq!(e.duplicate_key(), None);
}

#[test]
fn a_restarted_validator_knows_its_messages_from_the_write_ahead_log() {
    // v0 prevoted before a restart: the record restores it, and the prevote relayed back by a
    // peer is still its own.
    let prevote = vote(0, VoteKind::Prevote, Some(block()));
    let own_proposal = SignedProposal::sign(&keys()[0], CHAIN, 1, 1, Hash::of(b"mine"), None);
    let records = [
        WalRecord::Proposal(own_proposal.clone()),
        WalRecord::Vote(prevote.clone()),
    ];
    let (mut e, _) = Engine::start(
        config(),
        Some(keys()[0].clone()),
        POLICY,
        0,
        &records,
        vec![],
        0,
    );
    let back = e.handle(10, Event::Message(Message::Vote(prevote)));
    assert!(!duplicate(&back), "{back:?}");
    let back = e.handle(
        10,
        Event::Message(Message::Proposal {
            proposal: own_proposal,
            body: "mine",
        }),
    );
    assert!(!duplicate(&back), "{back:?}");
    assert_eq!(e.duplicate_key(), None);
}

#[test]
fn a_vote_under_its_key_that_it_did_not_sign_stops_it_signing() {
    let mut e = engine();
    e.handle(50, Event::TransactionArrived);
    // Another process with v0's key prevotes nil at height 1, round 0: v0 signed nothing.
    let other = vote(0, VoteKind::Prevote, None);
    let fx = e.handle(60, Event::Message(Message::Vote(other)));
    assert!(
        fx.iter().any(|x| matches!(
            x,
            Effect::DuplicateKey {
                height: 1,
                round: 0,
                kind: "prevote"
            }
        )),
        "{fx:?}"
    );
    assert!(!signs(&fx), "{fx:?}");
    assert_eq!(e.duplicate_key(), Some((1, 0, "prevote")));
    // From then on it follows without signing: the height decides on the others' votes.
    let mut fx = decide(&mut e, 100);
    for kind in [VoteKind::Prevote, VoteKind::Precommit] {
        fx.extend(e.handle(
            100,
            Event::Message(Message::Vote(vote(3, kind, Some(block())))),
        ));
    }
    assert!(!signs(&fx), "an observer now: {fx:?}");
    assert!(
        fx.iter()
            .any(|x| matches!(x, Effect::Commit { height: 1, .. })),
        "it still follows the chain: {fx:?}"
    );
    // Timeouts of later rounds make it sign nothing either.
    for round in 0..3 {
        for step in [
            portledger_consensus::TimeoutStep::Propose,
            portledger_consensus::TimeoutStep::Prevote,
            portledger_consensus::TimeoutStep::Precommit,
        ] {
            let fx = e.handle(
                200,
                Event::TimeoutFired(portledger_consensus::Timeout {
                    height: 1,
                    round,
                    step,
                    duration_ms: 0,
                }),
            );
            assert!(!signs(&fx), "{fx:?}");
        }
    }
}

#[test]
fn a_conflicting_proposal_under_its_key_stops_it_signing_but_a_forged_one_does_not() {
    // Whoever's turn it is, a validly signed proposal under v0's key that v0 never made is
    // another process; one whose signature does not verify is nobody's.
    let mut e = engine();
    e.handle(50, Event::TransactionArrived);
    let mut forged = SignedProposal::sign(&keys()[0], CHAIN, 1, 0, Hash::of(b"x"), None);
    forged.proposal.block_hash = Hash::of(b"tampered");
    let fx = e.handle(
        60,
        Event::Message(Message::Proposal {
            proposal: forged,
            body: "x",
        }),
    );
    assert!(!duplicate(&fx), "a bad signature proves nothing: {fx:?}");
    assert_eq!(e.duplicate_key(), None);
    let other = SignedProposal::sign(&keys()[0], CHAIN, 1, 0, Hash::of(b"theirs"), None);
    let fx = e.handle(
        70,
        Event::Message(Message::Proposal {
            proposal: other,
            body: "theirs",
        }),
    );
    assert!(duplicate(&fx), "{fx:?}");
    assert_eq!(e.duplicate_key(), Some((1, 0, "proposal")));
}

#[test]
fn a_decision_for_a_lagging_node_carrying_its_old_precommit_is_not_a_duplicate_key() {
    // A node wiped or far behind is sent the decision of a height with its own earlier
    // precommit among the certificate's: that height is decided, nothing can be signed twice.
    let mut e = engine();
    let fx = e.handle(
        10,
        Event::Message(Message::Decision {
            proposal: proposal(),
            body: "body-1",
            precommits: (0..3)
                .map(|i| vote(i, VoteKind::Precommit, Some(block())))
                .collect(),
        }),
    );
    assert!(!duplicate(&fx), "{fx:?}");
    assert_eq!(e.duplicate_key(), None);
}

#[test]
fn conflicting_votes_are_relayed_together_so_a_duplicated_validator_learns_of_it() {
    let mut e = engine();
    e.handle(50, Event::TransactionArrived);
    let a = vote(1, VoteKind::Prevote, Some(block()));
    let b = vote(1, VoteKind::Prevote, None);
    e.handle(60, Event::Message(Message::Vote(a.clone())));
    let fx = e.handle(61, Event::Message(Message::Vote(b.clone())));
    assert!(
        fx.iter().any(|x| matches!(x, Effect::Relay(ms)
            if ms.iter().any(|m| matches!(m, Message::Vote(v) if *v == a))
                && ms.iter().any(|m| matches!(m, Message::Vote(v) if *v == b)))),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(|x| matches!(x, Effect::Evidence(_))),
        "{fx:?}"
    );
}

#[test]
fn a_vote_under_its_key_for_the_height_just_committed_still_counts() {
    // v0 decides height 1; then a prevote of height 1 under its key that it never signed
    // arrives (relayed evidence, late): it is another process.
    let mut e = engine();
    let fx = decide(&mut e, 100);
    assert!(
        fx.iter()
            .any(|x| matches!(x, Effect::Commit { height: 1, .. })),
        "{fx:?}"
    );
    e.handle(
        110,
        Event::Committed {
            height: 1,
            txs_waiting: false,
        },
    );
    assert_eq!(e.tip(), 1);
    let own_precommit = vote(0, VoteKind::Precommit, Some(block()));
    let fx = e.handle(120, Event::Message(Message::Vote(own_precommit)));
    assert!(!duplicate(&fx), "its own precommit of height 1: {fx:?}");
    let other = vote(0, VoteKind::Prevote, None);
    let fx = e.handle(130, Event::Message(Message::Vote(other)));
    assert!(duplicate(&fx), "{fx:?}");
}
