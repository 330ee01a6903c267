//! Every transition: allowed for the right party in the right state, refused with the right
//! error for the wrong party, the wrong state, a replayed nonce, a wrong chain id, a bad
//! signature.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::{CreditAmendment, CreditBody, CreditState};
use portledger_ledger::documents::customs::{DeclarationState, Direction};
use portledger_ledger::documents::transport::{
    AmendmentReason, FreightTerm, TransportDocumentKind, TransportDocumentState as TD,
};
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{Hash, Keypair, Payload, Role, Transaction};

fn transfer(reference: &str, to: portledger_ledger::PublicKey) -> Payload {
    Payload::Transfer {
        reference: reference.into(),
        to,
    }
}

fn r(reference: &str) -> String {
    reference.to_string()
}

// ---------------------------------------------------------------- envelope rules

#[test]
fn envelope_signature_chain_nonce_and_signer() {
    let mut w = World::new();
    let payload = Payload::AnchorDocument {
        hash: Hash::of(b"x"),
        doc_type: DocumentType::Other,
        references: vec![],
    };
    // Bad signature: signed by another key.
    let mut tx = w.tx("seller", payload.clone());
    tx.signature =
        Keypair::for_testing("mallory").sign(portledger_ledger::Domain::Transaction, &tx.body);
    assert_eq!(w.submit(&tx).unwrap_err().code(), "bad_signature");
    // A transaction signature does not verify in another domain, and a tampered body fails.
    let mut tampered = w.tx("seller", payload.clone());
    tampered.body.nonce += 0;
    if let Payload::AnchorDocument { references, .. } = &mut tampered.body.payload {
        references.push("X".into());
    }
    assert_eq!(w.submit(&tampered).unwrap_err().code(), "bad_signature");
    // Wrong chain id.
    let k = w.keypair("seller").clone();
    let wrong = Transaction::sign(&k, "another-chain", 1, payload.clone());
    let e = w.submit(&wrong).unwrap_err();
    assert_eq!(e.code(), "wrong_chain", "{e}");
    // Nonce: a gap is refused, the right one works, a replay is refused.
    let gap = Transaction::sign(&k, &w.genesis.chain_id, 2, payload.clone());
    assert_eq!(w.submit(&gap).unwrap_err().code(), "bad_nonce");
    let good = w.tx("seller", payload.clone());
    w.submit(&good).expect("first use");
    let e = w.submit(&good).unwrap_err();
    assert_eq!(e.code(), "bad_nonce");
    assert!(e.to_string().contains("expected nonce 2"), "{e}");
    // Unknown signer.
    let stranger = Keypair::for_testing("stranger");
    let tx = Transaction::sign(&stranger, &w.genesis.chain_id, 1, payload);
    assert_eq!(w.submit(&tx).unwrap_err().code(), "unknown_signer");
}

// ---------------------------------------------------------------- governance

#[test]
fn an_organisation_registers_its_own_people_and_the_port_operator_anyone() {
    let mut w = World::new();
    let newbie = Keypair::for_testing("newbie").public();
    let reg = |alias: &str, org: &str| Payload::RegisterParticipant {
        alias: alias.into(),
        public_key: newbie,
        encryption_key: Keypair::for_testing("newbie").encryption_key(),
        organisation: org.into(),
    };
    w.refused("carrier", reg("newbie", "buyer-co"), "role_not_permitted");
    w.refused("port", reg("newbie", "no-such-org"), "not_found");
    w.refused("port", reg("buyer", "buyer-co"), "already_exists");
    w.ok("port", reg("newbie", "buyer-co"));
    assert_eq!(w.state.participants[&newbie].role, Role::Trader);
    w.refused("port", reg("newbie2", "buyer-co"), "already_exists");
    // A carrier's participant onboards a colleague: same organisation, same role.
    let ops = Keypair::for_testing("carrier-ops");
    let colleague = |alias: &str, org: &str| Payload::RegisterParticipant {
        alias: alias.into(),
        public_key: ops.public(),
        encryption_key: ops.encryption_key(),
        organisation: org.into(),
    };
    let e = w.refused(
        "carrier",
        colleague("carrier-ops", "customs-authority"),
        "role_not_permitted",
    );
    assert!(e.contains("a participant of that organisation"), "{e}");
    w.ok("carrier", colleague("carrier-ops", "ocean-carrier"));
    assert_eq!(w.state.participants[&ops.public()].role, Role::Carrier);
    assert_eq!(
        w.state.participants[&ops.public()].organisation,
        "ocean-carrier"
    );
    // Revocation: by the organisation's own people (or the port operator), once; a revoked
    // key signs nothing more and is named in nothing more.
    let revoke = Payload::RevokeParticipant {
        participant: ops.public(),
    };
    w.refused("issuing-bank", revoke.clone(), "role_not_permitted");
    w.ok("carrier", revoke.clone());
    w.refused("port", revoke, "revoked_participant");
    w.keys.insert("carrier-ops".into(), ops.clone());
    let e = w.refused(
        "carrier-ops",
        Payload::AnchorDocument {
            hash: Hash::of(b"after revocation"),
            doc_type: DocumentType::CommercialInvoice,
            references: vec![],
        },
        "revoked_participant",
    );
    assert!(e.contains("carrier-ops"), "{e}");
    assert_eq!(
        w.state.participants[&ops.public()].revoked_at,
        Some(w.height)
    );
}

// ---------------------------------------------------------------- transport documents

#[test]
fn draft_approve_issue() {
    let mut w = World::new();
    let data = bl_data(&w, "BL-1", true);
    w.refused(
        "issuing-bank",
        Payload::DraftTransportDocument(Box::new(data.clone())),
        "role_not_permitted",
    );
    w.ok(
        "carrier",
        Payload::DraftTransportDocument(Box::new(data.clone())),
    );
    assert_eq!(w.bl("BL-1").state, TD::Draft);
    assert_eq!(w.bl("BL-1").possessor, None);
    w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(data)),
        "already_exists",
    );
    w.refused(
        "buyer",
        Payload::ApproveDraft {
            reference: r("BL-1"),
        },
        "not_permitted",
    );
    w.ok(
        "seller",
        Payload::ApproveDraft {
            reference: r("BL-1"),
        },
    );
    assert_eq!(w.bl("BL-1").state, TD::Approved);
    w.refused(
        "seller",
        Payload::ApproveDraft {
            reference: r("BL-1"),
        },
        "wrong_state",
    );
    let issue = Payload::IssueTransportDocument {
        reference: r("BL-1"),
        document: None,
        issue_to: None,
    };
    w.refused("seller", issue.clone(), "role_not_permitted");
    w.ok("carrier", issue.clone());
    let bl = w.bl("BL-1");
    assert_eq!(bl.state, TD::Issued);
    assert_eq!(bl.possessor, Some(w.key("seller")));
    assert_eq!(
        bl.endorsee,
        Some(w.key("seller")),
        "to the order of the first possessor"
    );
    // Singularity: a second issue of the same reference is refused, with or without a body.
    w.refused("carrier", issue, "already_exists");
    let again = bl_data(&w, "BL-1", false);
    w.refused(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("BL-1"),
            document: Some(Box::new(again)),
            issue_to: None,
        },
        "already_exists",
    );
    w.refused(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("NOPE"),
            document: None,
            issue_to: None,
        },
        "not_found",
    );
}

#[test]
fn field_rules_are_checked() {
    let mut w = World::new();
    let mut d = bl_data(&w, "BL-F", true);
    d.consignee = Some(w.key("buyer"));
    let m = w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "invalid_field",
    );
    assert!(m.contains("never a consignee"), "{m}");
    let mut d = bl_data(&w, "BL-F", true);
    d.equipment[0].container = "MSCX1234567".into();
    let m = w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "invalid_field",
    );
    assert!(m.contains("ISO 6346"), "{m}");
    let mut d = bl_data(&w, "BL-F", true);
    d.port_of_loading = "Shanghai".into();
    w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "invalid_field",
    );
    let mut d = bl_data(&w, "BL-WAY-TOO-LONG-REFERENCE", true);
    d.reference = "BL-WAY-TOO-LONG-REFERENCE".into();
    w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "invalid_field",
    );
    let mut d = bl_data(&w, "BL-F", true);
    d.shipper = Keypair::for_testing("unregistered").public();
    w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "unknown_party",
    );
    let mut d = bl_data(&w, "BL-F", false);
    d.kind = TransportDocumentKind::SeaWaybill;
    d.to_order = true;
    d.consignee = None;
    w.refused(
        "carrier",
        Payload::DraftTransportDocument(Box::new(d)),
        "invalid_field",
    );
}

#[test]
fn transfer_only_by_the_possessor() {
    let mut w = World::new();
    issue_bl(&mut w, "BL-2", true);
    let buyer = w.key("buyer");
    w.refused("buyer", transfer("BL-2", buyer), "not_permitted");
    w.refused("carrier", transfer("BL-2", buyer), "not_permitted");
    w.refused(
        "seller",
        transfer("BL-2", Keypair::for_testing("nobody").public()),
        "unknown_party",
    );
    w.ok("seller", transfer("BL-2", buyer));
    assert_eq!(w.bl("BL-2").possessor, Some(buyer));
    // The transferor lost control.
    w.refused("seller", transfer("BL-2", w.key("seller")), "not_permitted");
    w.refused("seller", transfer("NO-SUCH", buyer), "not_found");
}

#[test]
fn endorsement_rules() {
    let mut w = World::new();
    issue_bl(&mut w, "BL-E", true);
    issue_bl(&mut w, "BL-S", false);
    let buyer = w.key("buyer");
    let m = w.refused(
        "seller",
        Payload::Endorse {
            reference: r("BL-S"),
            to: Endorsement::To(buyer),
        },
        "not_to_order",
    );
    assert!(m.contains("straight"), "{m}");
    w.ok(
        "seller",
        Payload::Endorse {
            reference: r("BL-E"),
            to: Endorsement::To(buyer),
        },
    );
    // Seller still possesses but is no longer the endorsee: cannot endorse or surrender.
    w.refused(
        "seller",
        Payload::Endorse {
            reference: r("BL-E"),
            to: Endorsement::Blank,
        },
        "not_permitted",
    );
    w.refused(
        "seller",
        Payload::SurrenderForDelivery {
            reference: r("BL-E"),
        },
        "not_permitted",
    );
    w.ok("seller", transfer("BL-E", buyer));
    w.ok(
        "buyer",
        Payload::Endorse {
            reference: r("BL-E"),
            to: Endorsement::Blank,
        },
    );
    let bl = w.bl("BL-E");
    assert!(bl.blank_endorsed && bl.endorsee.is_none());
    // Blank endorsed: any possessor is entitled.
    w.ok("buyer", transfer("BL-E", w.key("advising-bank")));
    w.ok(
        "advising-bank",
        Payload::SurrenderForDelivery {
            reference: r("BL-E"),
        },
    );
    assert_eq!(w.bl("BL-E").state, TD::PendingSurrenderForDelivery);
}

#[test]
fn surrender_for_delivery_accept_and_reject() {
    let mut w = World::new();
    issue_bl(&mut w, "BL-3", false); // straight to the buyer
    let buyer = w.key("buyer");
    // A possessor that is neither shipper nor consignee is not entitled.
    w.ok("seller", transfer("BL-3", w.key("advising-bank")));
    w.refused(
        "advising-bank",
        Payload::SurrenderForDelivery {
            reference: r("BL-3"),
        },
        "not_permitted",
    );
    w.ok("advising-bank", transfer("BL-3", buyer));
    w.refused(
        "seller",
        Payload::SurrenderForDelivery {
            reference: r("BL-3"),
        },
        "not_permitted",
    );
    w.ok(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("BL-3"),
        },
    );
    let bl = w.bl("BL-3");
    assert_eq!(bl.state, TD::PendingSurrenderForDelivery);
    assert_eq!(bl.possessor, Some(w.key("carrier")));
    w.refused("buyer", transfer("BL-3", w.key("seller")), "wrong_state");
    w.refused(
        "port",
        Payload::AcceptSurrender {
            reference: r("BL-3"),
        },
        "not_permitted",
    );
    w.ok(
        "carrier",
        Payload::RejectSurrender {
            reference: r("BL-3"),
            reason: "signature mismatch".into(),
        },
    );
    let bl = w.bl("BL-3");
    assert_eq!(bl.state, TD::Issued);
    assert_eq!(
        bl.possessor,
        Some(buyer),
        "possession returns to the requester"
    );
    w.refused(
        "carrier",
        Payload::RejectSurrender {
            reference: r("BL-3"),
            reason: "again".into(),
        },
        "wrong_state",
    );
    w.ok(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("BL-3"),
        },
    );
    w.ok(
        "carrier",
        Payload::AcceptSurrender {
            reference: r("BL-3"),
        },
    );
    let bl = w.bl("BL-3");
    assert_eq!(bl.state, TD::SurrenderedForDelivery);
    assert_eq!(bl.surrendered_by, Some(buyer));
    // Finality: nothing moves a surrendered document.
    w.refused("carrier", transfer("BL-3", buyer), "wrong_state");
    w.refused(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("BL-3"),
        },
        "wrong_state",
    );
    w.refused(
        "carrier",
        Payload::AcceptSurrender {
            reference: r("BL-3"),
        },
        "wrong_state",
    );
    w.refused(
        "carrier",
        Payload::VoidTransportDocument {
            reference: r("BL-3"),
        },
        "wrong_state",
    );
}

#[test]
fn surrender_for_amendment_void_and_replace() {
    let mut w = World::new();
    issue_bl(&mut w, "BL-4", true);
    w.refused(
        "buyer",
        Payload::SurrenderForAmendment {
            reference: r("BL-4"),
            reason: AmendmentReason::ChangeOfDestination,
        },
        "not_permitted",
    );
    w.ok(
        "seller",
        Payload::SurrenderForAmendment {
            reference: r("BL-4"),
            reason: AmendmentReason::ChangeOfDestination,
        },
    );
    assert_eq!(w.bl("BL-4").state, TD::PendingSurrenderForAmendment);
    w.refused(
        "seller",
        Payload::VoidTransportDocument {
            reference: r("BL-4"),
        },
        "not_permitted",
    );
    w.ok(
        "carrier",
        Payload::VoidTransportDocument {
            reference: r("BL-4"),
        },
    );
    assert_eq!(w.bl("BL-4").state, TD::Voided);
    w.refused("seller", transfer("BL-4", w.key("buyer")), "wrong_state");
    // A replacement may name the voided reference; not a live one.
    let mut d = bl_data(&w, "BL-4R", true);
    d.replaces = Some("BL-4".into());
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("BL-4R"),
            document: Some(Box::new(d)),
            issue_to: None,
        },
    );
    issue_bl(&mut w, "BL-5", true);
    let mut d = bl_data(&w, "BL-5R", true);
    d.replaces = Some("BL-5".into());
    w.refused(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("BL-5R"),
            document: Some(Box::new(d)),
            issue_to: None,
        },
        "not_replaceable",
    );
}

#[test]
fn sea_waybill_is_never_transferred() {
    let mut w = World::new();
    let mut d = bl_data(&w, "SWB-1", false);
    d.kind = TransportDocumentKind::SeaWaybill;
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("SWB-1"),
            document: Some(Box::new(d)),
            issue_to: None,
        },
    );
    assert_eq!(w.bl("SWB-1").possessor, Some(w.key("buyer")));
    w.refused(
        "buyer",
        transfer("SWB-1", w.key("seller")),
        "not_transferable",
    );
    w.refused(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("SWB-1"),
        },
        "not_transferable",
    );
}

// ---------------------------------------------------------------- letters of credit

fn operative_credit(w: &mut World, number: &str) {
    let terms = credit_terms(w, number);
    w.ok("buyer", Payload::ApplyCredit(Box::new(terms)));
    w.ok("issuing-bank", Payload::IssueCredit { number: r(number) });
    w.ok("advising-bank", Payload::AdviseCredit { number: r(number) });
}

#[test]
fn credit_apply_issue_advise_confirm() {
    let mut w = World::new();
    let terms = credit_terms(&w, "LC-1");
    w.refused(
        "issuing-bank",
        Payload::ApplyCredit(Box::new(terms.clone())),
        "role_not_permitted",
    );
    w.refused(
        "seller",
        Payload::ApplyCredit(Box::new(terms.clone())),
        "not_permitted",
    );
    let mut not_a_bank = terms.clone();
    not_a_bank.issuing_bank = w.key("carrier");
    w.refused(
        "buyer",
        Payload::ApplyCredit(Box::new(not_a_bank)),
        "invalid_field",
    );
    let mut expired = terms.clone();
    expired.expiry_date = w.today().plus_days(0);
    expired.latest_shipment_date = None;
    w.advance_days(1);
    w.refused("buyer", Payload::ApplyCredit(Box::new(expired)), "deadline");
    w.ok("buyer", Payload::ApplyCredit(Box::new(terms.clone())));
    assert_eq!(w.lc("LC-1").state, CreditState::Applied);
    w.refused(
        "buyer",
        Payload::ApplyCredit(Box::new(terms)),
        "already_exists",
    );
    w.refused(
        "advising-bank",
        Payload::IssueCredit { number: r("LC-1") },
        "not_permitted",
    );
    w.refused(
        "advising-bank",
        Payload::AdviseCredit { number: r("LC-1") },
        "wrong_state",
    );
    w.ok("issuing-bank", Payload::IssueCredit { number: r("LC-1") });
    w.refused(
        "issuing-bank",
        Payload::IssueCredit { number: r("LC-1") },
        "wrong_state",
    );
    w.refused(
        "issuing-bank",
        Payload::AdviseCredit { number: r("LC-1") },
        "not_permitted",
    );
    w.ok("advising-bank", Payload::AdviseCredit { number: r("LC-1") });
    assert_eq!(w.lc("LC-1").state, CreditState::Advised);
    w.refused(
        "issuing-bank",
        Payload::ConfirmCredit { number: r("LC-1") },
        "own_credit",
    );
    w.refused(
        "seller",
        Payload::ConfirmCredit { number: r("LC-1") },
        "role_not_permitted",
    );
    w.ok(
        "advising-bank",
        Payload::ConfirmCredit { number: r("LC-1") },
    );
    let lc = w.lc("LC-1");
    assert_eq!(lc.state, CreditState::Confirmed);
    assert_eq!(lc.terms.confirming_bank, Some(w.key("advising-bank")));
}

#[test]
fn credit_amendments_need_acceptance() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-A");
    // The issuing bank re-seals the terms with the new amount under the credit's key.
    let key = w
        .lc("LC-A")
        .terms
        .key_for(w.keypair("issuing-bank"))
        .expect("the bank holds the key");
    let amended = CreditBody {
        amount_minor: 30_000_000,
        ..credit_body()
    };
    let changes = CreditAmendment {
        body: Some(key.seal(&amended)),
        ..CreditAmendment::default()
    };
    let amount = |w: &World| {
        w.lc("LC-A")
            .terms
            .open(w.keypair("seller"))
            .expect("the beneficiary reads it")
            .amount_minor
    };
    let propose = Payload::ProposeCreditAmendment {
        number: r("LC-A"),
        changes: changes.clone(),
    };
    w.refused("buyer", propose.clone(), "not_permitted");
    w.refused(
        "issuing-bank",
        Payload::ProposeCreditAmendment {
            number: r("LC-A"),
            changes: CreditAmendment::default(),
        },
        "invalid_field",
    );
    w.ok("issuing-bank", propose.clone());
    w.refused("issuing-bank", propose.clone(), "amendment_pending");
    // Silence is not acceptance.
    assert_eq!(amount(&w), 25_000_000);
    w.refused(
        "buyer",
        Payload::AcceptCreditAmendment { number: r("LC-A") },
        "not_permitted",
    );
    w.ok(
        "seller",
        Payload::RejectCreditAmendment { number: r("LC-A") },
    );
    let lc = w.lc("LC-A");
    assert_eq!(amount(&w), 25_000_000);
    assert!(lc.pending_amendment.is_none());
    w.ok("issuing-bank", propose);
    w.ok(
        "seller",
        Payload::AcceptCreditAmendment { number: r("LC-A") },
    );
    let lc = w.lc("LC-A");
    assert_eq!(amount(&w), 30_000_000);
    assert_eq!(lc.amendments_accepted, 1);
    w.refused(
        "seller",
        Payload::AcceptCreditAmendment { number: r("LC-A") },
        "no_pending_amendment",
    );
}

#[test]
fn confirmed_credit_amendment_needs_the_confirming_bank_too() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-C");
    w.ok(
        "advising-bank",
        Payload::ConfirmCredit { number: r("LC-C") },
    );
    w.ok(
        "issuing-bank",
        Payload::ProposeCreditAmendment {
            number: r("LC-C"),
            changes: CreditAmendment {
                presentation_days: Some(30),
                ..CreditAmendment::default()
            },
        },
    );
    w.ok(
        "seller",
        Payload::AcceptCreditAmendment { number: r("LC-C") },
    );
    assert_eq!(
        w.lc("LC-C").terms.presentation_days,
        21,
        "still awaits the confirming bank"
    );
    w.ok(
        "advising-bank",
        Payload::AcceptCreditAmendment { number: r("LC-C") },
    );
    assert_eq!(w.lc("LC-C").terms.presentation_days, 30);
}

fn present(number: &str, reference: &str, docs: Vec<Hash>) -> Payload {
    Payload::PresentDocuments {
        number: r(number),
        transport_document: r(reference),
        documents: docs,
    }
}

#[test]
fn presentation_moves_the_ebl_to_the_issuing_bank() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-P");
    issue_bl(&mut w, "BL-P", true);
    let inv = anchor(
        &mut w,
        "seller",
        "invoice-P",
        DocumentType::CommercialInvoice,
    );
    let p = present("LC-P", "BL-P", vec![inv]);
    w.refused("buyer", p.clone(), "not_permitted");
    let unknown = present("LC-P", "BL-P", vec![Hash::of(b"never anchored")]);
    w.refused("seller", unknown, "not_found");
    w.ok("seller", p.clone());
    let bl = w.bl("BL-P");
    assert_eq!(bl.possessor, Some(w.key("issuing-bank")));
    assert_eq!(bl.endorsee, Some(w.key("issuing-bank")));
    assert_eq!(w.lc("LC-P").state, CreditState::Presented);
    w.refused("seller", p, "wrong_state");
    // The seller lost control of the eBL.
    w.refused("seller", transfer("BL-P", w.key("buyer")), "not_permitted");
}

#[test]
fn presentation_deadlines_use_block_time() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-T");
    issue_bl(&mut w, "BL-T", true); // shipped on board today
    w.advance_days(22); // presentation period is 21 days
    let m = w.refused("seller", present("LC-T", "BL-T", vec![]), "deadline");
    assert!(m.contains("presentation period"), "{m}");
    let mut w = World::new();
    operative_credit(&mut w, "LC-X");
    let mut d = bl_data(&w, "BL-X", true);
    d.shipped_on_board_date = None;
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("BL-X"),
            document: Some(Box::new(d)),
            issue_to: None,
        },
    );
    w.advance_days(91); // the credit expires after 90 days
    let m = w.refused("seller", present("LC-X", "BL-X", vec![]), "deadline");
    assert!(m.contains("expired"), "{m}");
}

#[test]
fn discrepant_presentation_needs_a_waiver_before_honour() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-D");
    issue_bl(&mut w, "BL-D", true);
    let inv = anchor(
        &mut w,
        "seller",
        "invoice-D",
        DocumentType::CommercialInvoice,
    );
    w.ok("seller", present("LC-D", "BL-D", vec![inv]));
    let examine = Payload::ExamineDocuments {
        number: r("LC-D"),
        discrepancies: vec!["commercial invoice not presented".into()],
    };
    w.refused("advising-bank", examine.clone(), "not_permitted");
    w.ok("issuing-bank", examine);
    assert_eq!(w.lc("LC-D").state, CreditState::Discrepant);
    let honour = Payload::Honour {
        number: r("LC-D"),
        payment_reference: r("PAY-1"),
    };
    let m = w.refused("issuing-bank", honour.clone(), "discrepancies_not_waived");
    assert!(m.contains("not waived"), "{m}");
    w.refused(
        "seller",
        Payload::WaiveDiscrepancies { number: r("LC-D") },
        "not_permitted",
    );
    w.ok("buyer", Payload::WaiveDiscrepancies { number: r("LC-D") });
    assert_eq!(w.lc("LC-D").state, CreditState::Complying);
    w.refused("buyer", honour.clone(), "not_permitted");
    w.ok("issuing-bank", honour.clone());
    let lc = w.lc("LC-D");
    assert_eq!(lc.state, CreditState::Honoured);
    let bl = w.bl("BL-D");
    assert_eq!(
        bl.possessor,
        Some(w.key("buyer")),
        "eBL passes to the applicant"
    );
    assert_eq!(bl.endorsee, Some(w.key("buyer")));
    w.refused("issuing-bank", honour, "wrong_state");
    // The buyer is entitled to surrender it.
    w.ok(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("BL-D"),
        },
    );
}

#[test]
fn refusal_returns_the_ebl_to_the_beneficiary() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-R");
    issue_bl(&mut w, "BL-R", true);
    // The credit requires a commercial invoice: anchored by the beneficiary, not by anyone.
    let m = w.refused(
        "seller",
        present("LC-R", "BL-R", vec![]),
        "missing_document",
    );
    assert!(m.contains("commercial_invoice"), "{m}");
    let by_buyer = anchor(
        &mut w,
        "buyer",
        "invoice-by-buyer",
        DocumentType::CommercialInvoice,
    );
    w.refused(
        "seller",
        present("LC-R", "BL-R", vec![by_buyer]),
        "missing_document",
    );
    let packing = anchor(&mut w, "seller", "packing-R", DocumentType::PackingList);
    w.refused(
        "seller",
        present("LC-R", "BL-R", vec![packing]),
        "missing_document",
    );
    let inv = anchor(
        &mut w,
        "seller",
        "invoice-R",
        DocumentType::CommercialInvoice,
    );
    w.ok("seller", present("LC-R", "BL-R", vec![inv]));
    w.refused(
        "buyer",
        Payload::RefusePresentation { number: r("LC-R") },
        "not_permitted",
    );
    w.ok(
        "issuing-bank",
        Payload::RefusePresentation { number: r("LC-R") },
    );
    assert_eq!(w.lc("LC-R").state, CreditState::Refused);
    let bl = w.bl("BL-R");
    assert_eq!(bl.possessor, Some(w.key("seller")));
    assert_eq!(bl.endorsee, Some(w.key("seller")));
    // Corrected and presented again before expiry (UCP 600 art. 16, eUCP art. e12), with the
    // same eBL; and honoured.
    let corrected = anchor(
        &mut w,
        "seller",
        "invoice-R2",
        DocumentType::CommercialInvoice,
    );
    issue_bl(&mut w, "BL-R2", true);
    w.refused(
        "seller",
        present("LC-R", "BL-R2", vec![corrected]),
        "invalid_field",
    );
    w.ok("seller", present("LC-R", "BL-R", vec![corrected]));
    assert_eq!(w.lc("LC-R").state, CreditState::Presented);
    assert_eq!(w.bl("BL-R").possessor, Some(w.key("issuing-bank")));
    w.ok(
        "issuing-bank",
        Payload::ExamineDocuments {
            number: r("LC-R"),
            discrepancies: vec![],
        },
    );
    w.ok(
        "issuing-bank",
        Payload::Honour {
            number: r("LC-R"),
            payment_reference: r("PAY-R"),
        },
    );
    assert_eq!(w.bl("BL-R").possessor, Some(w.key("buyer")));
}

#[test]
fn cancellation_needs_consent() {
    let mut w = World::new();
    operative_credit(&mut w, "LC-X");
    let m = w.refused(
        "issuing-bank",
        Payload::CancelCredit { number: r("LC-X") },
        "consent_required",
    );
    assert!(m.contains("consent"), "{m}");
    w.refused(
        "buyer",
        Payload::ConsentToCancel { number: r("LC-X") },
        "not_permitted",
    );
    w.ok("seller", Payload::ConsentToCancel { number: r("LC-X") });
    w.refused(
        "seller",
        Payload::CancelCredit { number: r("LC-X") },
        "not_permitted",
    );
    w.ok("issuing-bank", Payload::CancelCredit { number: r("LC-X") });
    assert_eq!(w.lc("LC-X").state, CreditState::Cancelled);
    w.refused(
        "issuing-bank",
        Payload::CancelCredit { number: r("LC-X") },
        "wrong_state",
    );
}

// ---------------------------------------------------------------- customs

#[test]
fn customs_declaration_paths() {
    let mut w = World::new();
    let d = declaration("DEC-1", "BL-C", Direction::Import);
    // A declaration names an existing, issued transport document.
    w.refused(
        "buyer",
        Payload::LodgeDeclaration(Box::new(d.clone())),
        "not_found",
    );
    // BL-C is straight to the buyer: the buyer (consignee) may declare the import, the seller
    // (holder, shipper) the export; nobody else either.
    issue_bl(&mut w, "BL-C", false);
    w.refused(
        "carrier",
        Payload::LodgeDeclaration(Box::new(d.clone())),
        "role_not_permitted",
    );
    w.add_trader("stranger");
    w.refused(
        "stranger",
        Payload::LodgeDeclaration(Box::new(d.clone())),
        "not_entitled",
    );
    w.refused(
        "buyer",
        Payload::LodgeDeclaration(Box::new(declaration("EXP-C", "BL-C", Direction::Export))),
        "not_entitled",
    );
    let mut elsewhere = d.clone();
    elsewhere.containers = vec!["CSQU3054383".into()];
    w.refused(
        "buyer",
        Payload::LodgeDeclaration(Box::new(elsewhere)),
        "unknown_container",
    );
    w.ok("buyer", Payload::LodgeDeclaration(Box::new(d.clone())));
    assert_eq!(
        w.state.declarations["DEC-1"].containers,
        [CONTAINER, CONTAINER2],
        "a declaration that lists no container covers all of the document's"
    );
    w.refused(
        "buyer",
        Payload::LodgeDeclaration(Box::new(d)),
        "already_exists",
    );
    let n = || r("DEC-1");
    // A bank trying to release customs.
    let m = w.refused(
        "issuing-bank",
        Payload::ReleaseDeclaration { number: n() },
        "role_not_permitted",
    );
    assert!(m.contains("customs"), "{m}");
    w.refused(
        "customs",
        Payload::ReleaseDeclaration { number: n() },
        "wrong_state",
    );
    w.ok("customs", Payload::AcceptDeclaration { number: n() });
    w.ok(
        "customs",
        Payload::HoldDeclaration {
            number: n(),
            reason: "document check".into(),
        },
    );
    w.refused(
        "customs",
        Payload::ReleaseDeclaration { number: n() },
        "wrong_state",
    );
    w.ok("customs", Payload::ClearHold { number: n() });
    w.ok(
        "customs",
        Payload::AssessDuty {
            number: n(),
            duty: duty_for(&w, &w.state, &n(), 120_000, "EUR"),
        },
    );
    w.refused(
        "customs",
        Payload::ReleaseDeclaration { number: n() },
        "wrong_state",
    );
    let pay = Payload::PayDuty {
        number: n(),
        payment_reference: "DUTY-9".into(),
    };
    w.refused("seller", pay.clone(), "not_permitted");
    w.ok("buyer", pay);
    w.ok("customs", Payload::ReleaseDeclaration { number: n() });
    assert_eq!(
        w.state.declarations["DEC-1"].state,
        DeclarationState::Released
    );

    let d2 = declaration("DEC-2", "BL-C", Direction::Import);
    w.ok("buyer", Payload::LodgeDeclaration(Box::new(d2)));
    w.ok(
        "customs",
        Payload::RejectDeclaration {
            number: r("DEC-2"),
            reason: "wrong HS code".into(),
        },
    );
    w.refused(
        "customs",
        Payload::AcceptDeclaration { number: r("DEC-2") },
        "wrong_state",
    );
    let d3 = declaration("DEC-3", "BL-C", Direction::Import);
    w.ok("buyer", Payload::LodgeDeclaration(Box::new(d3)));
    w.ok(
        "customs",
        Payload::DetainDeclaration {
            number: r("DEC-3"),
            reason: "suspected misdeclaration".into(),
        },
    );
    assert_eq!(
        w.state.declarations["DEC-3"].state,
        DeclarationState::Detained
    );
}

// ---------------------------------------------------------------- release

#[test]
fn port_release_names_each_missing_condition() {
    let mut w = World::new();
    let mut d = bl_data(&w, "BL-G", false);
    d.freight_term = FreightTerm::Collect;
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r("BL-G"),
            document: Some(Box::new(d)),
            issue_to: None,
        },
    );
    let release = Payload::ReleaseCargo {
        reference: r("BL-G"),
        container: None,
    };
    w.refused("carrier", release.clone(), "role_not_permitted");
    // Every unmet condition is listed at once, not only the first.
    let m = w.refused("port", release.clone(), "release_condition");
    for part in [
        "SURRENDERED_FOR_DELIVERY",
        "freight",
        "delivery order",
        "IMPORT declaration",
        "not been discharged (DISC)",
    ] {
        assert!(m.contains(part), "{part} in {m}");
    }
    sail(&mut w, "BL-G", "EXP-G");
    let m = w.refused("port", release.clone(), "release_condition");
    assert!(!m.contains("DISC"), "{m}");
    w.ok("seller", transfer("BL-G", w.key("buyer")));
    w.ok(
        "buyer",
        Payload::SurrenderForDelivery {
            reference: r("BL-G"),
        },
    );
    w.ok(
        "carrier",
        Payload::AcceptSurrender {
            reference: r("BL-G"),
        },
    );
    let m = w.refused("port", release.clone(), "release_condition");
    assert!(m.contains("freight"), "{m}");
    w.refused(
        "port",
        Payload::ConfirmFreightPaid {
            reference: r("BL-G"),
        },
        "not_permitted",
    );
    w.ok(
        "carrier",
        Payload::ConfirmFreightPaid {
            reference: r("BL-G"),
        },
    );
    w.refused(
        "carrier",
        Payload::ConfirmFreightPaid {
            reference: r("BL-G"),
        },
        "freight_already_paid",
    );
    let m = w.refused("port", release.clone(), "release_condition");
    assert!(m.contains("IMPORT declaration"), "{m}");
    assert_eq!(
        m.matches("delivery order").count(),
        1,
        "a document's condition is listed once: {m}"
    );
    w.ok(
        "buyer",
        Payload::LodgeDeclaration(Box::new(declaration("DEC-G", "BL-G", Direction::Import))),
    );
    w.ok("customs", Payload::AcceptDeclaration { number: r("DEC-G") });
    w.refused("port", release.clone(), "release_condition");
    w.ok(
        "customs",
        Payload::ReleaseDeclaration { number: r("DEC-G") },
    );
    let m = w.refused("port", release.clone(), "release_condition");
    assert!(m.contains("delivery order"), "{m}");
    w.refused(
        "carrier",
        Payload::IssueDeliveryOrder {
            reference: r("BL-G"),
            to: w.key("seller"),
        },
        "not_entitled",
    );
    w.ok(
        "carrier",
        Payload::IssueDeliveryOrder {
            reference: r("BL-G"),
            to: w.key("buyer"),
        },
    );
    w.refused(
        "port",
        Payload::ReleaseCargo {
            reference: r("BL-G"),
            container: Some("CSQU3054383".into()),
        },
        "unknown_container",
    );
    w.ok(
        "port",
        Payload::ReleaseCargo {
            reference: r("BL-G"),
            container: Some(CONTAINER.into()),
        },
    );
    assert!(!w.bl("BL-G").fully_released());
    w.ok("port", release.clone());
    assert!(w.bl("BL-G").fully_released());
    w.refused("port", release, "already_released");
}

// ---------------------------------------------------------------- anchored documents

#[test]
fn anchoring_and_revocation() {
    let mut w = World::new();
    let h = anchor(&mut w, "seller", "invoice", DocumentType::CommercialInvoice);
    let a = w.state.anchors[&h].clone();
    assert_eq!(a.issuer, w.key("seller"));
    assert!(!a.by_authority());
    w.refused(
        "buyer",
        Payload::AnchorDocument {
            hash: h,
            doc_type: DocumentType::Other,
            references: vec![],
        },
        "already_exists",
    );
    let coo = anchor(&mut w, "customs", "coo", DocumentType::CertificateOfOrigin);
    assert!(w.state.anchors[&coo].by_authority());
    let revoke = Payload::RevokeDocument {
        hash: h,
        superseded_by: None,
    };
    w.refused("buyer", revoke.clone(), "not_permitted");
    w.refused(
        "seller",
        Payload::RevokeDocument {
            hash: h,
            superseded_by: Some(coo),
        },
        "not_own_document",
    );
    w.ok("seller", revoke.clone());
    assert!(w.state.anchors[&h].revoked);
    w.refused("seller", revoke, "document_revoked");
    // A revoked document cannot be presented.
    operative_credit(&mut w, "LC-V");
    issue_bl(&mut w, "BL-V", true);
    let m = w.refused(
        "seller",
        present("LC-V", "BL-V", vec![h]),
        "document_revoked",
    );
    assert!(m.contains("revoked"), "{m}");
}
