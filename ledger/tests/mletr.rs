//! MLETR guarantees under random sequences of transfers, endorsements and surrenders by random
//! parties: exactly one possessor at every step, only the possessor moves the record, a
//! transfer removes the transferor's control, terminal states admit nothing, and a second issue
//! of a reference is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::documents::transport::{AmendmentReason, TransportDocumentState as TD};
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{Payload, PublicKey};
use proptest::prelude::*;

const DOCS: [&str; 2] = ["EBL-A", "EBL-B"];

#[derive(Debug, Clone)]
enum Op {
    Transfer {
        doc: usize,
        by: usize,
        to: usize,
    },
    Endorse {
        doc: usize,
        by: usize,
        to: Option<usize>,
    },
    Surrender {
        doc: usize,
        by: usize,
    },
    AmendRequest {
        doc: usize,
        by: usize,
    },
    Accept {
        doc: usize,
        by: usize,
    },
    Reject {
        doc: usize,
        by: usize,
    },
    Void {
        doc: usize,
        by: usize,
    },
    Reissue {
        doc: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0..DOCS.len();
    let p = 0..8usize;
    prop_oneof![
        6 => (d.clone(), p.clone(), p.clone()).prop_map(|(doc, by, to)| Op::Transfer { doc, by, to }),
        3 => (d.clone(), p.clone(), proptest::option::of(p.clone())).prop_map(|(doc, by, to)| Op::Endorse { doc, by, to }),
        2 => (d.clone(), p.clone()).prop_map(|(doc, by)| Op::Surrender { doc, by }),
        1 => (d.clone(), p.clone()).prop_map(|(doc, by)| Op::AmendRequest { doc, by }),
        2 => (d.clone(), p.clone()).prop_map(|(doc, by)| Op::Accept { doc, by }),
        2 => (d.clone(), p.clone()).prop_map(|(doc, by)| Op::Reject { doc, by }),
        1 => (d.clone(), p.clone()).prop_map(|(doc, by)| Op::Void { doc, by }),
        1 => d.prop_map(|doc| Op::Reissue { doc }),
    ]
}

/// Party 0 is the carrier; 1..=7 are traders and banks.
fn parties(w: &mut World) -> Vec<(String, PublicKey)> {
    let mut v = vec![("carrier".to_string(), w.key("carrier"))];
    for a in ["seller", "buyer", "issuing-bank", "advising-bank"] {
        v.push((a.to_string(), w.key(a)));
    }
    for i in 0..3 {
        let alias = format!("trader-{i}");
        let k = w.add_trader(&alias);
        v.push((alias, k));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn exclusive_control_singularity_and_finality(ops in proptest::collection::vec(op(), 1..60)) {
        let mut w = World::new();
        let ps = parties(&mut w);
        issue_bl(&mut w, DOCS[0], true);
        issue_bl(&mut w, DOCS[1], false);
        for op in ops {
            let (doc, by) = match &op {
                Op::Transfer { doc, by, .. } | Op::Endorse { doc, by, .. } | Op::Surrender { doc, by }
                | Op::AmendRequest { doc, by } | Op::Accept { doc, by } | Op::Reject { doc, by }
                | Op::Void { doc, by } => (*doc, *by),
                Op::Reissue { doc } => (*doc, 0),
            };
            let reference = DOCS[doc].to_string();
            let before = w.bl(&reference);
            let (alias, key) = ps[by].clone();
            let payload = match &op {
                Op::Transfer { to, .. } => Payload::Transfer { reference: reference.clone(), to: ps[*to].1 },
                Op::Endorse { to, .. } => Payload::Endorse {
                    reference: reference.clone(),
                    to: to.map_or(Endorsement::Blank, |t| Endorsement::To(ps[t].1)),
                },
                Op::Surrender { .. } => Payload::SurrenderForDelivery { reference: reference.clone() },
                Op::AmendRequest { .. } => Payload::SurrenderForAmendment {
                    reference: reference.clone(),
                    reason: AmendmentReason::SwitchToPaper,
                },
                Op::Accept { .. } => Payload::AcceptSurrender { reference: reference.clone() },
                Op::Reject { .. } => Payload::RejectSurrender { reference: reference.clone(), reason: "no".into() },
                Op::Void { .. } => Payload::VoidTransportDocument { reference: reference.clone() },
                Op::Reissue { .. } => Payload::IssueTransportDocument {
                    reference: reference.clone(),
                    document: Some(Box::new(bl_data(&w, &reference, doc == 0))),
                    issue_to: None,
                },
            };
            let state_before = w.state.clone();
            let result = w.run(&alias, payload);
            let after = w.bl(&reference);

            // Singularity: a second issue is always refused.
            if matches!(op, Op::Reissue { .. }) {
                prop_assert!(result.is_err());
            }
            // Finality: a terminal record admits nothing.
            if before.state.is_terminal() {
                prop_assert!(result.is_err(), "{op:?} on a {} record succeeded", before.state);
            }
            // Only the possessor moves it.
            let moves = matches!(op, Op::Transfer { .. } | Op::Endorse { .. } | Op::Surrender { .. } | Op::AmendRequest { .. });
            if moves && before.possessor != Some(key) {
                prop_assert!(result.is_err(), "{op:?} by a non-possessor succeeded");
            }
            // Only the carrier decides surrenders.
            if matches!(op, Op::Accept { .. } | Op::Reject { .. } | Op::Void { .. }) && by != 0 {
                prop_assert!(result.is_err());
            }
            match &result {
                Err(_) => prop_assert_eq!(&w.state, &state_before, "a refusal changes nothing"),
                Ok(_) => {
                    if let Op::Transfer { to, .. } = op {
                        prop_assert_eq!(after.possessor, Some(ps[to].1));
                        prop_assert_ne!(after.possessor, Some(key), "transferor keeps no control");
                    }
                }
            }
            // Exactly one possessor at every step, for every issued record.
            for r in DOCS {
                let d = w.bl(r);
                prop_assert!(d.possessor.is_some(), "{r} has no possessor");
                if matches!(d.state, TD::PendingSurrenderForDelivery | TD::PendingSurrenderForAmendment | TD::SurrenderedForDelivery | TD::Voided) {
                    prop_assert_eq!(d.possessor, Some(ps[0].1), "the carrier holds a surrendered record");
                }
                if d.blank_endorsed {
                    prop_assert!(d.endorsee.is_none());
                }
            }
        }
    }
}
