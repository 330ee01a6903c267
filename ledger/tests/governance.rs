//! Governance on the ledger: proposals and votes by validator organisations, adoption by a
//! quorum of the set in force, set changes that take effect `ACTIVATION_DELAY` heights later,
//! and hostile parties who try to vote without a seat, twice, or on a decided proposal.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::governance::{
    Action, FirstParticipant, NodeKeyRotation, ProposalStatus, Tally, ACTIVATION_DELAY,
};
use portledger_ledger::{Keypair, Payload, Role, StateView};
use proptest::prelude::*;

fn first(alias: &str) -> FirstParticipant {
    let k = Keypair::for_testing(alias);
    FirstParticipant {
        alias: alias.into(),
        public_key: k.public(),
        encryption_key: k.encryption_key(),
    }
}

fn add_org(name: &str, alias: &str, validator: bool) -> Action {
    Action::AddOrganisation {
        name: name.into(),
        role: Role::Bank,
        node_key: Some(Keypair::for_testing(&format!("node-{name}")).public()),
        validator,
        participants: vec![first(alias)],
    }
}

fn propose(id: &str, action: Action) -> Payload {
    Payload::Propose {
        id: id.into(),
        action,
    }
}

fn vote(id: &str, approve: bool) -> Payload {
    Payload::Vote {
        id: id.into(),
        approve,
    }
}

fn status(w: &World, id: &str) -> ProposalStatus {
    w.state.proposals[id].status
}

#[test]
fn an_organisation_is_admitted_by_a_quorum_of_validator_organisations() {
    let mut w = World::new();
    w.ok(
        "port",
        propose("p1", add_org("third-bank", "third-clerk", false)),
    );
    assert_eq!(status(&w, "p1"), ProposalStatus::Open);
    w.ok("issuing-bank", vote("p1", true));
    assert_eq!(
        status(&w, "p1"),
        ProposalStatus::Open,
        "2 of 4 is no quorum"
    );
    assert!(!w.state.organisations.contains_key("third-bank"));
    w.ok("customs", vote("p1", true));
    let h = w.height;
    assert_eq!(
        status(&w, "p1"),
        ProposalStatus::Adopted {
            height: h,
            effective_height: h
        }
    );
    assert_eq!(w.state.organisations["third-bank"], Role::Bank);
    // Its first participant signs at once, with the organisation's role.
    w.keys
        .insert("third-clerk".into(), Keypair::for_testing("third-clerk"));
    assert_eq!(
        w.state.member(&w.key("third-clerk")).map(|m| m.role),
        Some(Role::Bank)
    );
    w.ok(
        "third-clerk",
        Payload::AnchorDocument {
            hash: portledger_ledger::Hash::of(b"third-bank's first file"),
            doc_type: portledger_ledger::documents::anchor::DocumentType::Other,
            references: vec![],
        },
    );
    // An observer organisation holds no seat.
    assert_eq!(w.state.validators_at(h + 10).len(), 4);
    // Decided proposals take no more votes.
    w.refused("carrier", vote("p1", true), "wrong_state");
}

#[test]
fn only_seated_organisations_propose_and_vote_and_each_once() {
    let mut w = World::new();
    // The buyer's and the advising bank's organisations hold no seat.
    let e = w.refused(
        "buyer",
        propose("p1", add_org("x-bank", "x-clerk", false)),
        "not_a_validator",
    );
    assert!(e.contains("buyer-co"), "{e}");
    w.ok("port", propose("p1", add_org("x-bank", "x-clerk", false)));
    w.refused("advising-bank", vote("p1", true), "not_a_validator");
    w.refused("buyer", vote("p1", true), "not_a_validator");
    // The proposer's organisation voted by proposing; a second participant of it may not vote
    // again, for or against.
    w.refused("port", vote("p1", true), "already_voted");
    w.ok(
        "port",
        Payload::RegisterParticipant {
            alias: "port-2".into(),
            public_key: Keypair::for_testing("port-2").public(),
            encryption_key: Keypair::for_testing("port-2").encryption_key(),
            organisation: "port-authority".into(),
        },
    );
    w.keys
        .insert("port-2".into(), Keypair::for_testing("port-2"));
    w.refused("port-2", vote("p1", false), "already_voted");
    w.refused("customs", vote("nothing", true), "not_found");
    w.refused(
        "customs",
        propose("p1", add_org("y-bank", "y-clerk", false)),
        "already_exists",
    );
    assert_eq!(w.state.proposals["p1"].votes.len(), 1);
}

#[test]
fn two_against_of_four_reject_and_a_rejected_proposal_is_final() {
    let mut w = World::new();
    w.ok("port", propose("p1", add_org("x-bank", "x-clerk", false)));
    w.ok("issuing-bank", vote("p1", false));
    assert_eq!(status(&w, "p1"), ProposalStatus::Open);
    w.ok("customs", vote("p1", false));
    assert_eq!(
        status(&w, "p1"),
        ProposalStatus::Rejected { height: w.height }
    );
    w.refused("carrier", vote("p1", true), "wrong_state");
    assert!(!w.state.organisations.contains_key("x-bank"));
}

#[test]
fn a_validator_joins_and_another_leaves_at_the_decided_height() {
    let mut w = World::new();
    w.ok("port", propose("join", add_org("fifth-org", "fifth", true)));
    w.ok("issuing-bank", vote("join", true));
    w.ok("carrier", vote("join", true));
    let h = w.height;
    assert_eq!(
        status(&w, "join"),
        ProposalStatus::Adopted {
            height: h,
            effective_height: h + ACTIVATION_DELAY
        }
    );
    let before = w.state.validators_at(h + ACTIVATION_DELAY - 1);
    let after = w.state.validators_at(h + ACTIVATION_DELAY);
    assert_eq!(before.len(), 4);
    assert_eq!(after.len(), 5);
    assert_eq!(
        after.key_of("fifth-org"),
        Some(Keypair::for_testing("node-fifth-org").public())
    );
    w.keys.insert("fifth".into(), Keypair::for_testing("fifth"));
    // Not seated yet: its vote is refused until the height it governs from.
    w.ok(
        "port",
        propose(
            "leave",
            Action::RemoveValidator {
                organisation: "ocean-carrier".into(),
            },
        ),
    );
    while w.height + 1 < h + ACTIVATION_DELAY {
        w.refused("fifth", vote("leave", true), "not_a_validator");
        w.ok(
            "port",
            Payload::AnchorDocument {
                hash: portledger_ledger::Hash::of(&w.height.to_be_bytes()),
                doc_type: portledger_ledger::documents::anchor::DocumentType::Other,
                references: vec![],
            },
        );
    }
    // Seated now: five seats need four votes (n - f with f = 1).
    assert_eq!(
        Tally::of(&w.state.proposals["leave"].votes, &after).quorum,
        4
    );
    w.ok("fifth", vote("leave", true));
    w.ok("customs", vote("leave", true));
    assert_eq!(status(&w, "leave"), ProposalStatus::Open, "3 of 5");
    w.ok("issuing-bank", vote("leave", true));
    let h2 = w.height;
    let later = w.state.validators_at(h2 + ACTIVATION_DELAY);
    assert_eq!(later.len(), 4);
    assert!(later.key_of("ocean-carrier").is_none());
    assert!(w.state.validators_at(h2).key_of("ocean-carrier").is_some());
    // A seat cannot be taken twice nor a missing one removed.
    w.refused(
        "port",
        propose(
            "again",
            Action::RemoveValidator {
                organisation: "ocean-carrier".into(),
            },
        ),
        "validator_set",
    );
    w.refused(
        "port",
        propose(
            "twice",
            Action::AddValidator {
                organisation: "fifth-org".into(),
            },
        ),
        "validator_set",
    );
    w.refused(
        "port",
        propose(
            "no-key",
            Action::AddValidator {
                organisation: "buyer-co".into(),
            },
        ),
        "validator_set",
    );
}

#[test]
fn an_action_made_moot_by_another_is_refused_at_adoption() {
    let mut w = World::new();
    w.ok("port", propose("a", add_org("twin-bank", "twin-1", false)));
    w.ok("port", propose("b", add_org("twin-bank", "twin-2", false)));
    w.ok("issuing-bank", vote("a", true));
    w.ok("customs", vote("a", true));
    w.ok("issuing-bank", vote("b", true));
    let e = w.refused("customs", vote("b", true), "already_exists");
    assert!(e.contains("twin-bank"), "{e}");
    // Voting it down is still possible.
    w.ok("customs", vote("b", false));
    w.ok("carrier", vote("b", false));
    assert!(matches!(status(&w, "b"), ProposalStatus::Rejected { .. }));
}

#[test]
fn consensus_parameters_change_at_the_decided_height_and_bad_ones_are_refused() {
    let mut w = World::new();
    let bad = ConsensusParams {
        max_block_txs: 0,
        ..ConsensusParams::default()
    };
    w.refused(
        "port",
        propose("bad", Action::SetConsensusParams(bad)),
        "invalid_field",
    );
    let faster = ConsensusParams {
        timeout_base_ms: 200,
        ..ConsensusParams::default()
    };
    w.ok(
        "port",
        propose("fast", Action::SetConsensusParams(faster.clone())),
    );
    w.ok("issuing-bank", vote("fast", true));
    w.ok("customs", vote("fast", true));
    let h = w.height;
    assert_eq!(w.state.params_at(h + ACTIVATION_DELAY), faster);
    assert_eq!(
        w.state.params_at(h + ACTIVATION_DELAY - 1),
        w.genesis.consensus
    );
}

#[test]
fn admission_refuses_taken_names_keys_and_node_keys() {
    let mut w = World::new();
    let carrier_key = FirstParticipant {
        alias: "fresh".into(),
        public_key: w.key("carrier"),
        encryption_key: w.keypair("carrier").encryption_key(),
    };
    let taken = |name: &str, participants: Vec<FirstParticipant>, node: Option<_>| {
        Action::AddOrganisation {
            name: name.into(),
            role: Role::Trader,
            node_key: node,
            validator: false,
            participants,
        }
    };
    w.refused(
        "port",
        propose("a", taken("seller-co", vec![first("n1")], None)),
        "already_exists",
    );
    w.refused(
        "port",
        propose("b", taken("new-co", vec![carrier_key], None)),
        "already_exists",
    );
    w.refused(
        "port",
        propose("c", taken("new-co", vec![first("seller")], None)),
        "already_exists",
    );
    w.refused(
        "port",
        propose("d", taken("new-co", vec![], None)),
        "invalid_field",
    );
    w.refused(
        "port",
        propose(
            "e",
            taken("new-co", vec![first("n1")], Some(w.validators[0].public())),
        ),
        "already_exists",
    );
    w.refused(
        "port",
        propose("f", taken("bad name", vec![first("n1")], None)),
        "invalid_field",
    );
    let seat_without_key = Action::AddOrganisation {
        name: "new-co".into(),
        role: Role::Trader,
        node_key: None,
        validator: true,
        participants: vec![first("n1")],
    };
    w.refused("port", propose("g", seat_without_key), "validator_set");
}

// ------------------------------------------------------------------ hostile property

/// One step of a hostile run: a signer (index into all the demo's aliases and a fifth
/// organisation's) proposes or votes.
#[derive(Debug, Clone)]
enum Step {
    Propose {
        signer: usize,
        id: usize,
        kind: usize,
    },
    Vote {
        signer: usize,
        id: usize,
        approve: bool,
    },
}

const SIGNERS: &[&str] = &[
    "port",
    "issuing-bank",
    "customs",
    "carrier",
    "advising-bank",
    "seller",
    "buyer",
    "fifth",
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..SIGNERS.len(), 0..4usize, 0..4usize).prop_map(|(signer, id, kind)| Step::Propose {
            signer,
            id,
            kind
        }),
        (0..SIGNERS.len(), 0..4usize, any::<bool>()).prop_map(|(signer, id, approve)| Step::Vote {
            signer,
            id,
            approve
        }),
    ]
}

fn action(kind: usize) -> Action {
    match kind {
        0 => add_org("fifth-org", "fifth", true),
        1 => Action::RemoveValidator {
            organisation: "ocean-carrier".into(),
        },
        2 => Action::RemoveValidator {
            organisation: "first-bank".into(),
        },
        _ => Action::SetConsensusParams(ConsensusParams {
            heartbeat_ms: 5_000,
            ..ConsensusParams::default()
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever the order of proposals and votes, by whomever: a vote is recorded only for an
    /// organisation seated at its height, once; a proposal is adopted only with a quorum of
    /// the set in force at its adoption in favour; every scheduled set keeps at least one seat
    /// and takes effect `ACTIVATION_DELAY` after its adoption.
    #[test]
    fn votes_count_only_for_seated_organisations_once(steps in proptest::collection::vec(step(), 1..40)) {
        let mut w = World::new();
        w.keys.insert("fifth".into(), Keypair::for_testing("fifth"));
        for s in steps {
            let (signer, payload) = match s {
                Step::Propose { signer, id, kind } => (signer, propose(&format!("p{id}"), action(kind))),
                Step::Vote { signer, id, approve } => (signer, vote(&format!("p{id}"), approve)),
            };
            let alias = SIGNERS[signer];
            let seated = w.state.validators_at(w.height + 1);
            let org = w.state.member(&w.key(alias)).map(|m| m.organisation);
            let before = w.state.proposals.clone();
            let result = w.run(alias, payload);
            let voted_for = |p: &portledger_ledger::governance::Proposal| {
                p.votes.contains_key(org.as_deref().unwrap_or(""))
            };
            if let Ok(fx) = result {
                let org = org.clone().expect("a signer that succeeded is registered");
                prop_assert!(seated.key_of(&org).is_some(), "{alias} of {org} acted without a seat");
                for (id, p) in &fx.changes.proposals {
                    prop_assert!(before.get(id).is_none_or(|b| !voted_for(b)), "{org} voted twice on {id}");
                    if let ProposalStatus::Adopted { height, effective_height } = p.status {
                        let t = Tally::of(&p.votes, &seated);
                        prop_assert!(t.adopts(), "{id} adopted with {t:?}");
                        prop_assert_eq!(height, w.height);
                        if p.action.changes_validators() {
                            prop_assert_eq!(effective_height, height + ACTIVATION_DELAY);
                        }
                    }
                }
            }
            for set in w.state.validator_sets.values() {
                prop_assert!(!set.is_empty(), "a scheduled set has no seat");
            }
            for p in w.state.proposals.values() {
                prop_assert!(p.votes.keys().all(|o| w.state.organisations.contains_key(o)));
            }
        }
    }
}

fn rotation(w: &World, org: &str, old: &Keypair, new: &Keypair) -> (NodeKeyRotation, Payload) {
    let r = NodeKeyRotation {
        chain_id: w.genesis.chain_id.clone(),
        organisation: org.into(),
        old_key: old.public(),
        new_key: new.public(),
    };
    let p = Payload::RotateNodeKey {
        new_key: new.public(),
        old_key_signature: r.sign(old),
        new_key_signature: r.sign(new),
    };
    (r, p)
}

#[test]
fn a_validator_rotates_its_node_key_from_a_fixed_height_with_both_keys_consenting() {
    let mut w = World::new();
    let old = w.validators[3].clone();
    let new = Keypair::for_testing("carrier-node-2");
    assert_eq!(
        w.state.validators_at(1).key_of("ocean-carrier"),
        Some(old.public())
    );
    // Only the organisation's own people, and only with both keys' consent.
    let (r, good) = rotation(&w, "ocean-carrier", &old, &new);
    let stranger = Keypair::for_testing("stranger");
    let forged_old = Payload::RotateNodeKey {
        new_key: new.public(),
        old_key_signature: r.sign(&stranger),
        new_key_signature: r.sign(&new),
    };
    let unproven_new = Payload::RotateNodeKey {
        new_key: new.public(),
        old_key_signature: r.sign(&old),
        new_key_signature: r.sign(&old),
    };
    let msg = w.refused("carrier", forged_old, "invalid_field");
    assert!(msg.contains("old_key_signature"), "{msg}");
    let msg = w.refused("carrier", unproven_new, "invalid_field");
    assert!(msg.contains("new_key_signature"), "{msg}");
    // Signed for another organisation's rotation: refused for this one.
    w.refused("port", good.clone(), "invalid_field");
    // Another validator's key cannot be taken.
    let (_, taken) = rotation(&w, "ocean-carrier", &old, &w.validators[0].clone());
    w.refused("carrier", taken, "already_exists");
    // An organisation without a node: nothing to rotate.
    let (_, none) = rotation(&w, "buyer-co", &old, &new);
    w.refused("buyer", none, "validator_set");

    w.ok("carrier", good.clone());
    let h = w.height;
    assert_eq!(w.state.node_keys.get("ocean-carrier"), Some(&new.public()));
    let before = w.state.validators_at(h + ACTIVATION_DELAY - 1);
    let after = w.state.validators_at(h + ACTIVATION_DELAY);
    assert_eq!(before.key_of("ocean-carrier"), Some(old.public()));
    assert_eq!(after.key_of("ocean-carrier"), Some(new.public()));
    assert_eq!(
        before.members().iter().map(|(o, _)| o).collect::<Vec<_>>(),
        after.members().iter().map(|(o, _)| o).collect::<Vec<_>>(),
        "the seat keeps its place in proposer order"
    );
    // The rotation is not replayed: its new key is the node key already.
    w.refused("carrier", good, "already_exists");
    // And it rotates again, from the new key.
    let newer = Keypair::for_testing("carrier-node-3");
    let (_, again) = rotation(&w, "ocean-carrier", &new, &newer);
    w.ok("carrier", again);
    assert_eq!(
        w.state
            .validators_at(w.height + ACTIVATION_DELAY)
            .key_of("ocean-carrier"),
        Some(newer.public())
    );
}
