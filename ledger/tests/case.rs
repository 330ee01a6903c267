//! The case view (issue 16): a transport document with its possession chain, credits, customs
//! declarations, anchored documents, journey and release per container, assembled from a real
//! chain (blocks with commit certificates on a MemStore); and the customs queue.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::case::{customs_queue, Case, CaseError};
use portledger_ledger::chain::Chain;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::CreditState;
use portledger_ledger::documents::customs::{DeclarationState, Direction};
use portledger_ledger::documents::transport::TransportDocumentState;
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{BlockContext, DocumentKey, Hash, MemStore, Payload};

const BL: &str = "MAEU-CASE-1";
const LC: &str = "LC-CASE-1";
const EXP: &str = "EX-CASE-1";
const IMP: &str = "IM-CASE-1";

struct Run {
    w: World,
    chain: Chain<MemStore>,
}

impl Run {
    fn new() -> Run {
        let w = World::new();
        let chain = Chain::open(w.genesis.clone(), MemStore::new()).expect("open");
        Run { w, chain }
    }

    /// Commits one transaction by `alias` in its own block.
    fn ok(&mut self, alias: &str, payload: Payload) {
        let time = self.chain.tip().time_ms + 60_000;
        let ctx = BlockContext {
            height: self.chain.tip().height + 1,
            time_ms: time,
        };
        let tx = sign_for(&self.w, self.chain.state(), &ctx, alias, payload);
        commit(&mut self.chain, &self.w.validators, vec![tx], time);
    }

    fn case(&self) -> Case {
        Case::load(self.chain.store(), self.chain.state(), BL).expect("case")
    }

    fn key(&self, alias: &str) -> portledger_ledger::PublicKey {
        self.w.key(alias)
    }
}

fn r(s: &str) -> String {
    s.to_string()
}

/// Credit, eBL to order (two containers), export side and voyage, invoice anchored and
/// presented, honoured: the eBL is with the buyer.
fn up_to_honour(run: &mut Run) -> (Hash, Hash) {
    let w = &run.w;
    let bl = bl_data(w, BL, true);
    let voyage = journey_of(w, &bl, EXP);
    let terms = credit_terms(w, LC);
    run.ok("buyer", Payload::ApplyCredit(Box::new(terms)));
    run.ok("issuing-bank", Payload::IssueCredit { number: r(LC) });
    run.ok("advising-bank", Payload::AdviseCredit { number: r(LC) });
    run.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r(BL),
            document: Some(Box::new(bl)),
            issue_to: None,
        },
    );
    for (who, p) in voyage {
        run.ok(who, p);
    }
    let invoice = Hash::of(b"invoice INV-CASE-1");
    let packing = Hash::of(b"packing list PL-CASE-1");
    run.ok(
        "seller",
        Payload::AnchorDocument {
            hash: invoice,
            doc_type: DocumentType::CommercialInvoice,
            references: vec![r(LC)],
        },
    );
    run.ok(
        "seller",
        Payload::AnchorDocument {
            hash: packing,
            doc_type: DocumentType::PackingList,
            references: vec![r(BL)],
        },
    );
    // An unrelated anchor that must not show up in the case.
    run.ok(
        "seller",
        Payload::AnchorDocument {
            hash: Hash::of(b"another shipment"),
            doc_type: DocumentType::Other,
            references: vec![r("OTHER-BL")],
        },
    );
    run.ok(
        "seller",
        Payload::PresentDocuments {
            number: r(LC),
            transport_document: r(BL),
            documents: vec![invoice],
        },
    );
    run.ok(
        "issuing-bank",
        Payload::ExamineDocuments {
            number: r(LC),
            discrepancies: vec![],
        },
    );
    run.ok(
        "issuing-bank",
        Payload::Honour {
            number: r(LC),
            payment_reference: r("PAY-1"),
        },
    );
    (invoice, packing)
}

#[test]
fn the_case_follows_the_import_from_unmet_conditions_to_release() {
    let mut run = Run::new();
    let (invoice, packing) = up_to_honour(&mut run);
    let containers: Vec<String> = run.chain.state().transport_documents[BL]
        .data
        .equipment
        .iter()
        .map(|e| e.container.clone())
        .collect();

    // Honoured: the buyer holds the eBL; nothing of the release is in place yet.
    let case = run.case();
    let d = &case.transport_document;
    assert_eq!(d.state, TransportDocumentState::Issued);
    assert_eq!(
        d.possessor.as_ref().map(|p| p.to_string()),
        Some(r("buyer"))
    );
    let chain: Vec<(String, String)> = case
        .possession_chain
        .iter()
        .map(|l| {
            (
                l.action.clone(),
                l.possessor
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            (r("bl.issue"), r("seller")),
            (r("lc.present"), r("issuing-bank")),
            (r("lc.honour"), r("buyer")),
        ]
    );
    assert_eq!(case.possession_chain[1].credit.as_deref(), Some(LC));
    assert_eq!(
        case.possession_chain[2]
            .endorsee
            .as_ref()
            .map(|p| p.to_string()),
        Some(r("buyer")),
        "to order: the endorsement follows the honour"
    );
    assert_eq!(case.credits.len(), 1);
    assert_eq!(case.credits[0].number, LC);
    assert_eq!(case.credits[0].state, CreditState::Honoured);
    assert!(case.credits[0].presented);
    assert_eq!(case.credits[0].documents, vec![invoice]);
    assert_eq!(case.credits[0].payment_reference.as_deref(), Some("PAY-1"));
    // The invoice was presented with it; the packing list refers to it; the third is elsewhere.
    let anchors: Vec<(Hash, Vec<String>)> = case
        .anchored_documents
        .iter()
        .map(|a| (a.hash, a.presented_under.clone()))
        .collect();
    assert_eq!(anchors.len(), 2, "{anchors:?}");
    assert!(anchors.contains(&(invoice, vec![r(LC)])));
    assert!(anchors.contains(&(packing, vec![])));
    // The export declaration is there, released by customs and then exit confirmed by LOAD.
    assert_eq!(case.declarations.len(), 1);
    assert_eq!(case.declarations[0].number, EXP);
    assert_eq!(case.declarations[0].direction, Direction::Export);
    // The journey of each container, five events, ending in DISC at the port of discharge.
    assert_eq!(case.containers.len(), 2);
    for c in &case.containers {
        let codes: Vec<&str> = c.journey.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            codes,
            ["GTIN", "LOAD", "DEPA", "ARRI", "DISC"],
            "{}",
            c.container
        );
        assert!(c.released.is_none());
    }
    // Not released: the summary names the unmet conditions, the same the rule refuses with.
    let unmet = &case.containers[0].unmet;
    assert!(
        unmet.iter().any(|u| u.contains("SURRENDERED_FOR_DELIVERY")),
        "{unmet:?}"
    );
    assert!(
        unmet.iter().any(|u| u.contains("delivery order")),
        "{unmet:?}"
    );
    assert!(
        unmet.iter().any(|u| u.contains("IMPORT declaration")),
        "{unmet:?}"
    );
    assert!(
        !unmet.iter().any(|u| u.contains("discharged")),
        "the container was discharged: {unmet:?}"
    );
    let summary = case.summary();
    assert_eq!(summary[0], format!("eBL {BL} is ISSUED, held by buyer"));
    assert!(
        summary[1].starts_with(&format!("container {} not released: ", containers[0])),
        "{summary:?}"
    );
    assert!(summary.iter().any(|l| l.starts_with("  - ")), "{summary:?}");

    // The import declaration: lodged, accepted, held and cleared, duty assessed and paid.
    run.ok(
        "buyer",
        Payload::LodgeDeclaration(Box::new(declaration(IMP, BL, Direction::Import))),
    );
    let queue = customs_queue(run.chain.state());
    assert_eq!(
        queue.iter().map(|q| q.number.as_str()).collect::<Vec<_>>(),
        [IMP]
    );
    assert_eq!(queue[0].state, DeclarationState::Lodged);
    let case = run.case();
    assert!(
        case.containers[0]
            .unmet
            .iter()
            .any(|u| u.contains(&format!("import declaration {IMP}")) && u.contains("LODGED")),
        "an open declaration blocks release: {:?}",
        case.containers[0].unmet
    );
    run.ok("customs", Payload::AcceptDeclaration { number: r(IMP) });
    run.ok(
        "customs",
        Payload::HoldDeclaration {
            number: r(IMP),
            reason: r("document check"),
        },
    );
    run.ok("customs", Payload::ClearHold { number: r(IMP) });
    run.ok(
        "customs",
        Payload::AssessDuty {
            number: r(IMP),
            duty: duty_for(&run.w, run.chain.state(), IMP, 125_000, "USD"),
        },
    );
    assert!(
        customs_queue(run.chain.state()).is_empty(),
        "DUTY_ASSESSED waits for the declarant, not for customs"
    );
    run.ok(
        "buyer",
        Payload::PayDuty {
            number: r(IMP),
            payment_reference: r("DUTY-PAY-1"),
        },
    );
    assert_eq!(
        customs_queue(run.chain.state())[0].state,
        DeclarationState::DutyPaid
    );
    run.ok("customs", Payload::ReleaseDeclaration { number: r(IMP) });
    let case = run.case();
    let imp = case
        .declarations
        .iter()
        .find(|d| d.number == IMP)
        .expect("import declaration in the case");
    assert_eq!(imp.state, DeclarationState::Released);
    assert_eq!(imp.holds.len(), 1);
    assert_eq!(imp.holds[0].reason.as_deref(), Some("document check"));
    assert!(imp.holds[0].cleared_at.is_some());
    let duty = imp.duty.as_ref().expect("duty");
    // Sealed: the declarant and the customs auditor open it, the port does not.
    for reader in ["buyer", "customs"] {
        let d = duty.sealed.open(run.w.keypair(reader)).expect("opens");
        assert_eq!((d.amount_minor, d.currency.as_str()), (125_000, "USD"));
    }
    assert!(duty.sealed.open(run.w.keypair("port")).is_err());
    assert_eq!(duty.payment_reference.as_deref(), Some("DUTY-PAY-1"));
    assert!(imp.lodged_at.is_some() && imp.updated_at >= imp.lodged_at);

    // Surrendered, accepted, delivery order: every condition met, nothing released yet.
    run.ok("buyer", Payload::SurrenderForDelivery { reference: r(BL) });
    run.ok("carrier", Payload::AcceptSurrender { reference: r(BL) });
    run.ok(
        "carrier",
        Payload::IssueDeliveryOrder {
            reference: r(BL),
            to: run.key("buyer"),
        },
    );
    let case = run.case();
    assert!(case.containers.iter().all(|c| c.unmet.is_empty()));
    assert!(
        case.summary()[1].contains("every release condition is met"),
        "{:?}",
        case.summary()
    );

    // The port releases the first container only.
    run.ok(
        "port",
        Payload::ReleaseCargo {
            reference: r(BL),
            container: Some(containers[0].clone()),
        },
    );
    let case = run.case();
    assert!(!case.fully_released());
    let released = case.containers[0].released.as_ref().expect("released");
    assert_eq!(
        released.to.as_ref().map(|p| p.to_string()),
        Some(r("buyer"))
    );
    let time = released.time.clone().expect("gate-out time");
    assert_eq!(released.height, Some(run.chain.tip().height));
    assert_eq!(
        case.summary()[1],
        format!("container {} released to buyer at {time}", containers[0])
    );
    assert_eq!(
        case.containers[0].journey.last().map(|e| e.code.as_str()),
        Some("GTOT")
    );
    assert!(case.containers[1].released.is_none());

    run.ok(
        "port",
        Payload::ReleaseCargo {
            reference: r(BL),
            container: None,
        },
    );
    let case = run.case();
    assert!(case.fully_released());
    let summary = case.summary();
    assert_eq!(
        summary[0],
        format!("eBL {BL} is SURRENDERED_FOR_DELIVERY, held by carrier")
    );
    assert!(
        summary[1..]
            .iter()
            .all(|l| l.contains("released to buyer at")),
        "{summary:?}"
    );
    let chain: Vec<&str> = case
        .possession_chain
        .iter()
        .map(|l| l.action.as_str())
        .collect();
    assert_eq!(
        chain,
        [
            "bl.issue",
            "lc.present",
            "lc.honour",
            "bl.surrender",
            "bl.accept_surrender"
        ]
    );
    assert_eq!(
        case.documents(),
        vec![
            DocumentKey::TransportDocument(r(BL)),
            DocumentKey::Credit(r(LC)),
            DocumentKey::Declaration(r(EXP)),
            DocumentKey::Declaration(r(IMP)),
            DocumentKey::Anchor(case.anchored_documents[0].hash),
            DocumentKey::Anchor(case.anchored_documents[1].hash),
        ]
    );
    // The JSON form names parties by alias and states as in domain.md.
    let json = serde_json::to_value(&case).expect("json");
    assert_eq!(json["transport_document"]["possessor"], "carrier");
    assert_eq!(json["declarations"][1]["state"], "RELEASED");
    assert_eq!(json["containers"][0]["released"]["to"], "buyer");
}

#[test]
fn the_possession_chain_replays_every_move_of_control() {
    let mut run = Run::new();
    let bl = bl_data(&run.w, BL, true);
    run.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r(BL),
            document: Some(Box::new(bl)),
            issue_to: None,
        },
    );
    let buyer = run.key("buyer");
    let bank = run.key("advising-bank");
    let mut seen = vec![run.chain.state().transport_documents[BL].clone()];
    let steps: Vec<(&str, Payload)> = vec![
        (
            "seller",
            Payload::Endorse {
                reference: r(BL),
                to: Endorsement::To(buyer),
            },
        ),
        (
            "seller",
            Payload::Transfer {
                reference: r(BL),
                to: buyer,
            },
        ),
        ("buyer", Payload::SurrenderForDelivery { reference: r(BL) }),
        (
            "carrier",
            Payload::RejectSurrender {
                reference: r(BL),
                reason: r("wrong endorsement"),
            },
        ),
        (
            "buyer",
            Payload::Endorse {
                reference: r(BL),
                to: Endorsement::Blank,
            },
        ),
        (
            "buyer",
            Payload::Transfer {
                reference: r(BL),
                to: bank,
            },
        ),
        (
            "advising-bank",
            Payload::SurrenderForDelivery { reference: r(BL) },
        ),
        ("carrier", Payload::AcceptSurrender { reference: r(BL) }),
    ];
    for (who, p) in steps {
        run.ok(who, p);
        seen.push(run.chain.state().transport_documents[BL].clone());
    }
    let case = run.case();
    assert_eq!(case.possession_chain.len(), seen.len());
    for (link, doc) in case.possession_chain.iter().zip(&seen) {
        assert_eq!(
            link.possessor.as_ref().map(|p| p.key),
            doc.possessor,
            "possessor after {}",
            link.action
        );
        assert_eq!(
            link.endorsee.as_ref().map(|p| p.key),
            doc.endorsee,
            "endorsee after {}",
            link.action
        );
        assert_eq!(link.blank_endorsed, doc.blank_endorsed, "{}", link.action);
    }
    assert!(case.credits.is_empty() && case.declarations.is_empty());
    // Sea of unmet conditions: freight prepaid, but nothing else; and no tracking events.
    let unmet = &case.containers[0].unmet;
    assert!(
        unmet.iter().any(|u| u.contains("no tracking events")),
        "{unmet:?}"
    );
    assert!(!unmet.iter().any(|u| u.contains("freight")), "{unmet:?}");
}

#[test]
fn an_unknown_reference_is_no_case() {
    let run = Run::new();
    match Case::load(run.chain.store(), run.chain.state(), "NOPE") {
        Err(CaseError::UnknownDocument(r)) => assert_eq!(r, "NOPE"),
        other => panic!("expected UnknownDocument, got {other:?}"),
    }
}

#[test]
fn the_customs_queue_is_oldest_first_and_only_what_customs_must_act_on() {
    let mut run = Run::new();
    for b in ["BL-Q-1", "BL-Q-2"] {
        let data = bl_data(&run.w_state(), b, false);
        run.ok(
            "carrier",
            Payload::IssueTransportDocument {
                reference: r(b),
                document: Some(Box::new(data)),
                issue_to: None,
            },
        );
    }
    // Lodged in this order: A (then accepted later), B, C (then rejected), D (then held).
    for (n, b) in [
        ("DEC-A", "BL-Q-1"),
        ("DEC-B", "BL-Q-2"),
        ("DEC-C", "BL-Q-1"),
        ("DEC-D", "BL-Q-2"),
    ] {
        run.ok(
            "buyer",
            Payload::LodgeDeclaration(Box::new(declaration(n, b, Direction::Import))),
        );
    }
    run.ok(
        "customs",
        Payload::RejectDeclaration {
            number: r("DEC-C"),
            reason: r("incomplete"),
        },
    );
    run.ok("customs", Payload::AcceptDeclaration { number: r("DEC-D") });
    run.ok(
        "customs",
        Payload::HoldDeclaration {
            number: r("DEC-D"),
            reason: r("x-ray"),
        },
    );
    run.ok("customs", Payload::AcceptDeclaration { number: r("DEC-A") });
    let q = customs_queue(run.chain.state());
    let got: Vec<(&str, &str)> = q
        .iter()
        .map(|d| (d.number.as_str(), d.state.as_str()))
        .collect();
    // B has waited longest (since its lodging); D since its hold; A since its acceptance.
    assert_eq!(
        got,
        [
            ("DEC-B", "LODGED"),
            ("DEC-D", "HELD"),
            ("DEC-A", "ACCEPTED")
        ]
    );
    assert!(q
        .windows(2)
        .all(|p| p[0].waiting_since_height < p[1].waiting_since_height));
    assert_eq!(q[0].transport_document, "BL-Q-2");
    assert_eq!(q[0].awaiting, "accept or reject");
}

impl Run {
    /// A world whose state is the chain's, for helpers that look at live documents.
    fn w_state(&self) -> World {
        let mut w = World::new();
        w.state = self.chain.state().clone();
        w
    }
}
