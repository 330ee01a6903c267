//! Shipment tracking events and the export side: who may record each event, the plausible
//! order, unknown containers, future event times, the export declaration's release before
//! LOAD and its exit confirmation, GTOT from port release, and the container / document indexes
//! on a sled store that is reopened.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::chain::Chain;
use portledger_ledger::documents::customs::{DeclarationState, Direction};
use portledger_ledger::documents::tracking::TrackingCode as C;
use portledger_ledger::{Payload, SledStore, StateView, Store, Transaction};

const BL: &str = "BL-T1";
const POL: &str = "CNSHA";
const POD: &str = "NLRTM";

fn r(s: &str) -> String {
    s.to_string()
}

fn event(container: &str, code: C, location: &str, event_time_ms: u64) -> Payload {
    Payload::RecordTrackingEvent {
        reference: r(BL),
        container: r(container),
        code,
        location: r(location),
        event_time_ms,
    }
}

/// An event an hour before the next block.
fn ev(w: &World, container: &str, code: C, location: &str) -> Payload {
    event(container, code, location, w.time_ms - 3_600_000)
}

/// Lodges, accepts and releases the export declaration EX-1 for BL (by the seller).
fn export_released(w: &mut World) {
    w.ok(
        "seller",
        Payload::LodgeDeclaration(Box::new(declaration("EX-1", BL, Direction::Export))),
    );
    w.ok("customs", Payload::AcceptDeclaration { number: r("EX-1") });
    w.ok("customs", Payload::ReleaseDeclaration { number: r("EX-1") });
}

#[test]
fn each_event_by_its_recorders_only() {
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    export_released(&mut w);
    // GTIN: port operator only.
    for who in ["carrier", "customs", "seller", "issuing-bank"] {
        let e = ev(&w, CONTAINER, C::GateIn, POL);
        let m = w.refused(who, e, "role_not_permitted");
        assert!(m.contains("track.gtin"), "{m}");
    }
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    w.ok("port", e);
    let e = ev(&w, CONTAINER2, C::GateIn, POL);
    w.ok("port", e);
    // LOAD: port operator or carrier.
    let e = ev(&w, CONTAINER, C::Load, POL);
    w.refused("customs", e, "role_not_permitted");
    let e = ev(&w, CONTAINER, C::Load, POL);
    w.ok("port", e);
    let e = ev(&w, CONTAINER2, C::Load, POL);
    w.ok("carrier", e);
    // DEPA / ARRI: carrier only.
    for code in [C::Depart, C::Arrive] {
        let location = if code == C::Depart { POL } else { POD };
        let e = ev(&w, CONTAINER, code, location);
        let m = w.refused("port", e, "role_not_permitted");
        assert!(m.contains("carrier"), "{m}");
        let e = ev(&w, CONTAINER, code, location);
        w.ok("carrier", e);
    }
    // DISC: port operator or carrier.
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    w.refused("buyer", e, "role_not_permitted");
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    w.ok("port", e);
    // GTOT: never directly, not even by the port operator.
    let e = ev(&w, CONTAINER, C::GateOut, POD);
    let m = w.refused("port", e, "gate_out_by_release");
    assert!(m.contains("port.release"), "{m}");
    let p = w.state.container_position(BL, CONTAINER).expect("position");
    assert_eq!((p.code, p.location.as_str()), (C::Discharge, POD));
}

#[test]
fn field_document_and_time_checks() {
    let mut w = World::new();
    // The document must exist and be issued.
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    w.refused("port", e, "not_found");
    let data = bl_data(&w, BL, true);
    w.ok("carrier", Payload::DraftTransportDocument(Box::new(data)));
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    let m = w.refused("port", e, "wrong_state");
    assert!(m.contains("DRAFT"), "{m}");
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: r(BL),
            document: None,
            issue_to: None,
        },
    );
    // ISO 6346 and listed on the document.
    let e = ev(&w, "MSCX1234567", C::GateIn, POL);
    let m = w.refused("port", e, "invalid_field");
    assert!(m.contains("ISO 6346"), "{m}");
    let e = ev(&w, "CSQU3054383", C::GateIn, POL);
    let m = w.refused("port", e, "unknown_container");
    assert!(m.contains("CSQU3054383") && m.contains(BL), "{m}");
    // UN/LOCODE.
    let e = ev(&w, CONTAINER, C::GateIn, "Shanghai");
    w.refused("port", e, "invalid_field");
    // Never after the block time; at the block time or earlier is fine.
    let e = event(CONTAINER, C::GateIn, POL, w.time_ms + 1);
    let m = w.refused("port", e, "event_in_future");
    assert!(m.contains("after the block time"), "{m}");
    let e = event(CONTAINER, C::GateIn, POL, w.time_ms);
    w.ok("port", e);
}

#[test]
fn out_of_order_events_are_refused_with_the_rule_named() {
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    export_released(&mut w);
    // No LOAD before GTIN at the port of loading.
    let e = ev(&w, CONTAINER, C::Load, POL);
    let m = w.refused("port", e, "tracking_out_of_order");
    assert!(m.contains("GTIN"), "{m}");
    // GTIN only at the port of loading.
    let e = ev(&w, CONTAINER, C::GateIn, POD);
    let m = w.refused("port", e, "tracking_out_of_order");
    assert!(m.contains("port of loading CNSHA"), "{m}");
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    w.ok("port", e);
    // Not twice.
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    w.refused("port", e, "tracking_out_of_order");
    // No DEPA before LOAD.
    let e = ev(&w, CONTAINER, C::Depart, POL);
    w.refused("carrier", e, "tracking_out_of_order");
    let e = ev(&w, CONTAINER, C::Load, POL);
    w.ok("port", e);
    // Not dated before the latest event.
    let e = event(CONTAINER, C::Depart, POL, w.time_ms - 100_000_000);
    let m = w.refused("carrier", e, "tracking_out_of_order");
    assert!(m.contains("dated before"), "{m}");
    let e = ev(&w, CONTAINER, C::Depart, POL);
    w.ok("carrier", e);
    // No DISC before ARRI at the port of discharge.
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    let m = w.refused("port", e, "tracking_out_of_order");
    assert!(m.contains("ARRI"), "{m}");
    // An intermediate port call: ARRI and DEPA at Singapore; no DISC there.
    let e = ev(&w, CONTAINER, C::Arrive, "SGSIN");
    w.ok("carrier", e);
    let e = ev(&w, CONTAINER, C::Discharge, "SGSIN");
    w.refused("port", e, "tracking_out_of_order");
    let e = ev(&w, CONTAINER, C::Depart, "SGSIN");
    w.ok("carrier", e);
    let e = ev(&w, CONTAINER, C::Arrive, POD);
    w.ok("carrier", e);
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    w.ok("carrier", e);
    // The other container has its own journey: still at the start.
    let e = ev(&w, CONTAINER2, C::Discharge, POD);
    w.refused("port", e, "tracking_out_of_order");
}

#[test]
fn load_needs_the_export_release_and_confirms_exit() {
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let e = ev(&w, CONTAINER, C::GateIn, POL);
    w.ok("port", e);
    let e = ev(&w, CONTAINER2, C::GateIn, POL);
    w.ok("port", e);
    // No export declaration at all.
    let e = ev(&w, CONTAINER, C::Load, POL);
    let m = w.refused("port", e, "export_not_released");
    assert!(m.contains("no export declaration"), "{m}");
    // An import declaration does not count (the seller holds the eBL and may lodge one).
    w.ok(
        "seller",
        Payload::LodgeDeclaration(Box::new(declaration("IM-1", BL, Direction::Import))),
    );
    w.ok("customs", Payload::AcceptDeclaration { number: r("IM-1") });
    w.ok("customs", Payload::ReleaseDeclaration { number: r("IM-1") });
    let e = ev(&w, CONTAINER, C::Load, POL);
    w.refused("port", e, "export_not_released");
    // Lodged and accepted is not enough.
    w.ok(
        "seller",
        Payload::LodgeDeclaration(Box::new(declaration("EX-1", BL, Direction::Export))),
    );
    w.ok("customs", Payload::AcceptDeclaration { number: r("EX-1") });
    let e = ev(&w, CONTAINER, C::Load, POL);
    let m = w.refused("carrier", e, "export_not_released");
    assert!(m.contains("EX-1 is ACCEPTED"), "{m}");
    w.ok("customs", Payload::ReleaseDeclaration { number: r("EX-1") });
    // Released: LOAD goes through and confirms exit, in the declaration's history too.
    let e = ev(&w, CONTAINER, C::Load, POL);
    let fx = w.ok("carrier", e);
    assert_eq!(
        w.state.declarations["EX-1"].state,
        DeclarationState::ExitConfirmed
    );
    assert!(fx
        .touched
        .contains(&portledger_ledger::DocumentKey::Declaration(r("EX-1"))));
    assert_eq!(
        w.state.declarations["IM-1"].state,
        DeclarationState::Released
    );
    // The second container loads under the confirmed declaration.
    let e = ev(&w, CONTAINER2, C::Load, POL);
    w.ok("port", e);
    // Customs may no longer act on a declaration whose exit is confirmed.
    w.refused(
        "customs",
        Payload::DetainDeclaration {
            number: r("EX-1"),
            reason: r("late"),
        },
        "wrong_state",
    );
}

/// Everything up to (not including) port release: journey, surrender, import release, delivery
/// order.
fn ready_for_release(w: &mut World, journey: bool) {
    issue_bl(w, BL, false);
    if journey {
        export_released(w);
        for (who, code, at) in [
            ("port", C::GateIn, POL),
            ("port", C::Load, POL),
            ("carrier", C::Depart, POL),
            ("carrier", C::Arrive, POD),
        ] {
            let e = ev(w, CONTAINER, code, at);
            w.ok(who, e);
        }
    }
    w.ok(
        "seller",
        Payload::Transfer {
            reference: r(BL),
            to: w.key("buyer"),
        },
    );
    w.ok("buyer", Payload::SurrenderForDelivery { reference: r(BL) });
    w.ok("carrier", Payload::AcceptSurrender { reference: r(BL) });
    w.ok(
        "buyer",
        Payload::LodgeDeclaration(Box::new(declaration("IM-1", BL, Direction::Import))),
    );
    w.ok("customs", Payload::AcceptDeclaration { number: r("IM-1") });
    w.ok("customs", Payload::ReleaseDeclaration { number: r("IM-1") });
    w.ok(
        "carrier",
        Payload::IssueDeliveryOrder {
            reference: r(BL),
            to: w.key("buyer"),
        },
    );
}

#[test]
fn port_release_records_gate_out_after_discharge() {
    let mut w = World::new();
    ready_for_release(&mut w, true);
    let release = |c: &str| Payload::ReleaseCargo {
        reference: r(BL),
        container: Some(r(c)),
    };
    // The container is tracked: it must be discharged first.
    let m = w.refused("port", release(CONTAINER), "release_condition");
    assert!(m.contains("DISC"), "{m}");
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    w.ok("port", e);
    let fx = w.ok("port", release(CONTAINER));
    assert_eq!(fx.tracking.len(), 1);
    let gtot = &fx.tracking[0];
    assert_eq!(
        (gtot.code, gtot.container.as_str(), gtot.location.as_str()),
        (C::GateOut, CONTAINER, POD)
    );
    // An untracked container is never released: it was not discharged.
    let m = w.refused("port", release(CONTAINER2), "release_condition");
    assert!(m.contains("no tracking events"), "{m}");
    assert!(!m.contains(CONTAINER), "only the container asked for: {m}");
    // Nothing follows GTOT.
    let e = ev(&w, CONTAINER, C::Discharge, POD);
    w.refused("port", e, "tracking_out_of_order");
    assert_eq!(
        w.state.container_position(BL, CONTAINER).expect("pos").code,
        C::GateOut
    );
}

#[test]
fn release_of_all_containers_records_a_gate_out_each_once() {
    let mut w = World::new();
    ready_for_release(&mut w, true);
    for c in [CONTAINER2] {
        for (who, code, at) in [
            ("port", C::GateIn, POL),
            ("port", C::Load, POL),
            ("carrier", C::Depart, POL),
            ("carrier", C::Arrive, POD),
        ] {
            let e = ev(&w, c, code, at);
            w.ok(who, e);
        }
    }
    for c in [CONTAINER, CONTAINER2] {
        let e = ev(&w, c, C::Discharge, POD);
        w.ok("port", e);
    }
    let all = Payload::ReleaseCargo {
        reference: r(BL),
        container: None,
    };
    let fx = w.ok("port", all.clone());
    let got: Vec<_> = fx
        .tracking
        .iter()
        .map(|e| (e.code, e.container.as_str()))
        .collect();
    assert_eq!(got, vec![(C::GateOut, CONTAINER), (C::GateOut, CONTAINER2)]);
    // Once per container: a second release of either is refused.
    w.refused("port", all, "already_released");
    w.refused(
        "port",
        Payload::ReleaseCargo {
            reference: r(BL),
            container: Some(r(CONTAINER2)),
        },
        "already_released",
    );
}

#[test]
fn indexes_list_events_in_order_and_survive_reopen() {
    let mut w = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = bl_data(&w, BL, false);
    // Build the transactions on the in-memory world, commit the same ones on a sled chain.
    let mut blocks: Vec<(Vec<Transaction>, u64)> = Vec::new();
    let mut step = |w: &mut World, alias: &str, p: Payload| {
        let tx = w.tx(alias, p);
        let time = w.time_ms;
        w.submit(&tx).expect("valid");
        blocks.push((vec![tx], time));
    };
    step(
        &mut w,
        "carrier",
        Payload::IssueTransportDocument {
            reference: r(BL),
            document: Some(Box::new(data)),
            issue_to: None,
        },
    );
    for (who, p) in [
        (
            "seller",
            Payload::LodgeDeclaration(Box::new(declaration("EX-1", BL, Direction::Export))),
        ),
        ("customs", Payload::AcceptDeclaration { number: r("EX-1") }),
        ("customs", Payload::ReleaseDeclaration { number: r("EX-1") }),
    ] {
        step(&mut w, who, p);
    }
    let journey = [
        ("port", C::GateIn, POL),
        ("carrier", C::Load, POL),
        ("carrier", C::Depart, POL),
        ("carrier", C::Arrive, POD),
        ("port", C::Discharge, POD),
    ];
    for (who, code, at) in journey {
        let e = ev(&w, CONTAINER, code, at);
        step(&mut w, who, e);
    }
    let e = ev(&w, CONTAINER2, C::GateIn, POL);
    step(&mut w, "port", e);

    let (genesis, validators) = (w.genesis.clone(), w.validators.clone());
    let half = blocks.len() / 2;
    {
        let mut chain =
            Chain::open(genesis.clone(), SledStore::open(dir.path()).expect("sled")).expect("open");
        for (txs, time) in &blocks[..half] {
            commit(&mut chain, &validators, txs.clone(), *time);
        }
    }
    let mut chain = Chain::open(
        genesis.clone(),
        SledStore::open(dir.path()).expect("reopen"),
    )
    .expect("open");
    for (txs, time) in &blocks[half..] {
        commit(&mut chain, &validators, txs.clone(), *time);
    }
    drop(chain);
    let chain = Chain::open(genesis, SledStore::open(dir.path()).expect("reopen")).expect("open");
    // The chain keeps the head of each document's history besides what the rules write (the
    // reopen itself checks every record, heads included, against the tip's state root).
    let mut records = chain.state().clone();
    assert!(!records.heads.is_empty(), "history heads are kept");
    records.heads.clear();
    assert_eq!(records, w.state, "the state survives the reopen");

    let store = chain.store();
    let by_container = store.container_tracking(CONTAINER).expect("index");
    let codes: Vec<C> = by_container.iter().map(|r| r.event.code).collect();
    assert_eq!(
        codes,
        vec![C::GateIn, C::Load, C::Depart, C::Arrive, C::Discharge]
    );
    assert!(by_container.windows(2).all(|p| p[0].height < p[1].height));
    assert_eq!(by_container[0].signer, w.key("port"));
    assert_eq!(by_container[1].signer, w.key("carrier"));
    let by_doc = store.document_tracking(BL).expect("index");
    assert_eq!(by_doc.len(), 6);
    assert_eq!(by_doc[5].event.container, CONTAINER2);
    assert!(store
        .container_tracking("CSQU3054383")
        .expect("index")
        .is_empty());
    assert!(store
        .document_tracking("BL-NONE")
        .expect("index")
        .is_empty());
    // Events show in the transport document's history.
    let history = store
        .history(&portledger_ledger::DocumentKey::TransportDocument(r(BL)))
        .expect("history");
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert!(actions.contains(&"track.gtin") && actions.contains(&"track.disc"));
    // The export declaration's history shows the LOAD that confirmed exit.
    let history = store
        .history(&portledger_ledger::DocumentKey::Declaration(r("EX-1")))
        .expect("history");
    assert_eq!(history.last().expect("entry").action, "track.load");
    assert_eq!(
        chain
            .state()
            .container_position(BL, CONTAINER)
            .expect("pos")
            .code,
        C::Discharge
    );
}
