//! The party directory's security properties, under random sequences of claims and issues by
//! every party: only the port operator claims (governance), a claimed code or name never
//! changes hands, and a DCSA document is issued only under a carrier code claimed for the
//! signing carrier's organisation.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::{auditor, bl_plain, seal_bl, World};
use portledger_ledger::documents::party::{PartyCode, PartyId};
use portledger_ledger::documents::transport::{
    CargoItem, ConsignmentItem, DcsaDocument, EquipmentDetails, TransportDocumentData, VesselVoyage,
};
use portledger_ledger::genesis::Role;
use portledger_ledger::{Hash, Keypair, Payload, PublicKey};
use proptest::prelude::*;
use serde_json::json;

const SIGNERS: &[&str] = &[
    "port",
    "carrier",
    "other-carrier",
    "seller",
    "buyer",
    "customs",
];
const TARGETS: &[&str] = &["carrier", "other-carrier", "seller", "buyer"];
const CODES: &[(&str, &str)] = &[
    ("SMDG", "MSC"),
    ("SMDG", "HLC"),
    ("GLEIF", "LEI1"),
    ("NMFTA", "MMCU"),
];

fn world() -> World {
    let mut w = World::new();
    w.admit("other-line", Role::Carrier, &["other-carrier"]);
    w
}

fn id(i: usize) -> PartyId {
    match CODES.get(i) {
        Some((p, c)) => PartyId::Code(PartyCode::new(p, c)),
        None => PartyId::Name(format!("Party {i}")),
    }
}

/// A document carrying a kept DCSA document under `code`, consistent in every other way.
fn dcsa_data(w: &World, reference: &str, code: &PartyCode) -> TransportDocumentData {
    let mut d = bl_plain(w, reference, true);
    let text = serde_jcs::to_string(&json!({
        "transportDocumentReference": reference,
        "transportDocumentTypeCode": "BOL",
        "isToOrder": true,
        "carrierCode": code.code,
        "carrierCodeListProvider": code.provider,
    }))
    .expect("canonical");
    d.document_hash = Hash::of(text.as_bytes());
    d.dcsa = Some(Box::new(DcsaDocument {
        canonical_json: text,
        carrier_code: code.clone(),
        vessel_voyages: vec![VesselVoyage {
            vessel_name: d.vessel_name.clone(),
            voyage: d.voyage.clone(),
        }],
        consignment_items: vec![ConsignmentItem {
            hs_codes: vec![d.goods[0].hs_code.clone()],
            cargo_items: vec![CargoItem {
                container: d.equipment[0].container.clone(),
                packages: d.goods[0].packages,
                gross_weight_kg: d.goods[0].gross_weight_kg,
                dangerous_goods: Vec::new(),
            }],
        }],
        equipment: d
            .equipment
            .iter()
            .map(|e| EquipmentDetails {
                container: e.container.clone(),
                iso_equipment_code: None,
                shipper_owned: false,
                non_operating_reefer: false,
                reefer: None,
            })
            .collect(),
    }));
    d.validate().expect("a consistent DCSA document");
    seal_bl(w, &d)
}

#[derive(Debug, Clone)]
enum Op {
    Claim {
        signer: usize,
        id: usize,
        target: usize,
    },
    Issue {
        carrier: bool,
        code: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..SIGNERS.len(), 0..CODES.len() + 2, 0..TARGETS.len())
            .prop_map(|(signer, id, target)| Op::Claim { signer, id, target }),
        (any::<bool>(), 0..CODES.len()).prop_map(|(carrier, code)| Op::Issue { carrier, code }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn claims_are_governance_only_final_and_bind_the_carrier(ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = world();
        // The checker's own record of who holds what, written from the ops alone.
        let mut holders: BTreeMap<PartyId, PublicKey> = BTreeMap::new();
        let mut issued = 0usize;
        for op in ops {
            match op {
                Op::Claim { signer, id: i, target } => {
                    let signer = SIGNERS[signer];
                    let target = w.key(TARGETS[target]);
                    let party_id = id(i);
                    let r = w.run(signer, Payload::ClaimPartyId { id: party_id.clone(), participant: target });
                    let expect_ok = signer == "port" && !holders.contains_key(&party_id);
                    prop_assert_eq!(r.is_ok(), expect_ok, "{} claiming {}: {:?}", signer, party_id, r.err());
                    if expect_ok {
                        holders.insert(party_id, target);
                    }
                }
                Op::Issue { carrier, code } => {
                    let signer = if carrier { "carrier" } else { "other-carrier" };
                    let Some(PartyId::Code(code)) = Some(id(code)) else { unreachable!() };
                    let reference = format!("BL-P{issued}");
                    let data = dcsa_data(&w, &reference, &code);
                    let r = w.run(signer, Payload::IssueTransportDocument {
                        reference: reference.clone(),
                        document: Some(Box::new(data)),
                        issue_to: None,
                    });
                    let org = w.state.participants[&w.key(signer)].organisation.clone();
                    let expect_ok = holders
                        .get(&PartyId::Code(code.clone()))
                        .is_some_and(|h| w.state.participants[h].organisation == org);
                    prop_assert_eq!(r.is_ok(), expect_ok, "{} issuing under {}: {:?}", signer, code, r.err());
                    if expect_ok {
                        issued += 1;
                    }
                }
            }
            // The ledger's directory is exactly the checker's.
            prop_assert_eq!(&w.state.party_ids, &holders);
        }
    }
}

#[test]
fn the_named_cases() {
    let mut w = world();
    let msc = PartyCode::new("SMDG", "MSC");
    let claim = |who: &str, w: &World| Payload::ClaimPartyId {
        id: PartyId::Code(msc.clone()),
        participant: w.key(who),
    };
    // A carrier cannot claim its own code: governance does.
    let p = claim("carrier", &w);
    w.refused("carrier", p, "role_not_permitted");
    // Not claimed yet: nobody issues under it.
    let d = dcsa_data(&w, "BL-N1", &msc);
    let m = w.refused(
        "carrier",
        Payload::IssueTransportDocument {
            reference: "BL-N1".into(),
            document: Some(Box::new(d)),
            issue_to: None,
        },
        "not_permitted",
    );
    assert!(m.contains("MSC (provider SMDG)"), "{m}");
    let p = claim("carrier", &w);
    w.ok("port", p);
    // Claimed once: not again, for anyone.
    let p = claim("other-carrier", &w);
    let m = w.refused("port", p, "already_exists");
    assert!(m.contains("carrier"), "{m}");
    // Another line cannot issue under it; its own carrier can.
    let d = dcsa_data(&w, "BL-N1", &msc);
    w.refused(
        "other-carrier",
        Payload::IssueTransportDocument {
            reference: "BL-N1".into(),
            document: Some(Box::new(d.clone())),
            issue_to: None,
        },
        "not_permitted",
    );
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: "BL-N1".into(),
            document: Some(Box::new(d)),
            issue_to: None,
        },
    );
    assert_eq!(w.bl("BL-N1").data.carrier_code.as_ref(), Some(&msc));
    let opened = w
        .bl("BL-N1")
        .open(auditor(&w))
        .expect("the auditor opens it");
    assert!(opened.dcsa.is_some(), "the DCSA document is kept, sealed");
    // A claim for an unregistered key is refused.
    w.refused(
        "port",
        Payload::ClaimPartyId {
            id: PartyId::Name("Nobody".into()),
            participant: Keypair::for_testing("nobody").public(),
        },
        "unknown_party",
    );
}
