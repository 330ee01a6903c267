//! The whole contactless import of domain.md ("The end-to-end flow"), committed block by block
//! with real commit certificates: on a MemStore, and on a SledStore that is closed and reopened
//! halfway. Both must end in the same state and the same chain.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::chain::Chain;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::CreditState;
use portledger_ledger::documents::customs::{DeclarationState, Direction};
use portledger_ledger::documents::transport::TransportDocumentState;
use portledger_ledger::{
    DocumentKey, Genesis, Hash, MemStore, Payload, SledStore, State, StateView, Store, Tip,
};

const BL: &str = "MAEU240001";
const LC: &str = "LC-2026-001";
const DEC: &str = "IM-2026-77";

/// The flow's transactions as (signer alias, payload), one block each.
/// The flow's transactions, built once: sealing is randomised (fresh keys, salts, nonces), and
/// the tests compare chains built from the same transactions.
fn steps(w: &World) -> Vec<(&'static str, Payload)> {
    static STEPS: std::sync::OnceLock<Vec<(&'static str, Payload)>> = std::sync::OnceLock::new();
    STEPS
        .get_or_init(|| {
            build_steps(w)
                .into_iter()
                .map(|(who, p)| (who, for_signer(&w.genesis, w.keypair(who), p)))
                .collect()
        })
        .clone()
}

fn build_steps(w: &World) -> Vec<(&'static str, Payload)> {
    let r = |s: &str| s.to_string();
    let invoice = Hash::of(b"commercial invoice INV-1");
    let origin = Hash::of(b"certificate of origin CO-1");
    let bl = bl_data(w, BL, true);
    let voyage = journey_of(w, &bl, "EX-2026-11");
    let mut steps = vec![
        // 1. Credit: applied, issued, advised.
        ("buyer", Payload::ApplyCredit(Box::new(credit_terms(w, LC)))),
        ("issuing-bank", Payload::IssueCredit { number: r(LC) }),
        ("advising-bank", Payload::AdviseCredit { number: r(LC) }),
        // 2. The carrier issues the eBL to order; the seller holds it.
        (
            "carrier",
            Payload::IssueTransportDocument {
                reference: r(BL),
                document: Some(Box::new(bl)),
                issue_to: None,
            },
        ),
    ];
    // The export side and the voyage: each container discharged at the port of discharge.
    steps.extend(voyage);
    steps.extend([
        // 3. The seller anchors invoice and certificate of origin and presents.
        (
            "seller",
            Payload::AnchorDocument {
                hash: invoice,
                doc_type: DocumentType::CommercialInvoice,
                references: vec![r(BL), r(LC)],
            },
        ),
        (
            "seller",
            Payload::AnchorDocument {
                hash: origin,
                doc_type: DocumentType::CertificateOfOrigin,
                references: vec![r(BL)],
            },
        ),
        (
            "seller",
            Payload::PresentDocuments {
                number: r(LC),
                transport_document: r(BL),
                documents: vec![invoice, origin],
            },
        ),
        // 4. The bank examines and honours; the eBL passes to the buyer.
        (
            "issuing-bank",
            Payload::ExamineDocuments {
                number: r(LC),
                discrepancies: vec![],
            },
        ),
        (
            "issuing-bank",
            Payload::Honour {
                number: r(LC),
                payment_reference: r("SWIFT-MT756-0042"),
            },
        ),
        // 5. Import declaration: lodged, accepted, released.
        (
            "buyer",
            Payload::LodgeDeclaration(Box::new(declaration(DEC, BL, Direction::Import))),
        ),
        ("customs", Payload::AcceptDeclaration { number: r(DEC) }),
        ("customs", Payload::ReleaseDeclaration { number: r(DEC) }),
        // 6. Surrender for delivery, accepted; delivery order to the buyer.
        ("buyer", Payload::SurrenderForDelivery { reference: r(BL) }),
        ("carrier", Payload::AcceptSurrender { reference: r(BL) }),
        (
            "carrier",
            Payload::IssueDeliveryOrder {
                reference: r(BL),
                to: w.key("buyer"),
            },
        ),
        // 7. The port releases the cargo.
        (
            "port",
            Payload::ReleaseCargo {
                reference: r(BL),
                container: None,
            },
        ),
    ]);
    steps
}

/// The index of the import declaration's step: everything before it is done when the port
/// tries an early release.
fn import_step(w: &World) -> usize {
    steps(w)
        .iter()
        .position(|(who, p)| *who == "buyer" && matches!(p, Payload::LodgeDeclaration(_)))
        .expect("the flow lodges an import declaration")
}

/// Runs steps `range` on `chain`, one block per step, signing with nonces from the chain's state.
fn run<S: Store>(chain: &mut Chain<S>, w: &World, range: std::ops::Range<usize>) {
    let all = steps(w);
    for (i, (alias, payload)) in all.into_iter().enumerate() {
        if !range.contains(&i) {
            continue;
        }
        let time = chain.tip().time_ms + 60_000;
        let ctx = portledger_ledger::BlockContext {
            height: chain.tip().height + 1,
            time_ms: time,
        };
        let tx = sign_for(w, chain.state(), &ctx, alias, payload);
        commit(chain, &w.validators, vec![tx], time);
    }
}

fn check_final(state: &State, w: &World) {
    let bl = &state.transport_documents[BL];
    assert_eq!(bl.state, TransportDocumentState::SurrenderedForDelivery);
    assert_eq!(bl.surrendered_by, Some(w.key("buyer")));
    assert!(bl.fully_released());
    assert_eq!(state.credits[LC].state, CreditState::Honoured);
    assert_eq!(state.declarations[DEC].state, DeclarationState::Released);
}

fn check_history<S: Store>(chain: &Chain<S>, w: &World) {
    let h = chain
        .store()
        .history(&DocumentKey::TransportDocument(BL.into()))
        .expect("history");
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "bl.issue",
            "customs.declare",
            "track.gtin",
            "track.load",
            "track.depa",
            "track.arri",
            "track.disc",
            "track.gtin",
            "track.load",
            "track.depa",
            "track.arri",
            "track.disc",
            "lc.present",
            "lc.honour",
            "customs.declare",
            "bl.surrender",
            "bl.accept_surrender",
            "delivery_order.issue",
            "port.release"
        ]
    );
    let signers: Vec<_> = h.iter().map(|e| e.signer).collect();
    assert_eq!(signers[13], w.key("issuing-bank"));
    assert!(h
        .windows(2)
        .all(|p| p[0].height < p[1].height && p[0].time_ms < p[1].time_ms));
    // Every history entry points at a committed transaction whose block verifies.
    for e in &h {
        let loc = chain
            .store()
            .transaction_location(&e.tx_hash)
            .expect("store")
            .expect("indexed");
        assert_eq!(loc.height, e.height);
        let block = chain
            .store()
            .block(loc.height)
            .expect("store")
            .expect("block");
        assert_eq!(block.transactions[loc.index as usize].hash(), e.tx_hash);
        let cert = chain
            .store()
            .certificate(loc.height)
            .expect("store")
            .expect("cert");
        cert.verify(
            &w.genesis.chain_id,
            chain.validators(),
            loc.height,
            &block.hash(),
        )
        .expect("certificate verifies");
    }
    // The buyer's party index names the eBL, the credit and the declaration.
    let docs = chain
        .store()
        .party_documents(&w.key("buyer"))
        .expect("index");
    for d in [
        DocumentKey::TransportDocument(BL.into()),
        DocumentKey::Credit(LC.into()),
        DocumentKey::Declaration(DEC.into()),
    ] {
        assert!(docs.contains(&d), "{d:?} in {docs:?}");
    }
}

fn chain_links<S: Store>(chain: &Chain<S>) -> Vec<Hash> {
    let tip = chain.tip();
    let mut prev = Hash::ZERO;
    let mut hashes = Vec::new();
    for h in 1..=tip.height {
        let b = chain.store().block(h).expect("store").expect("block");
        assert_eq!(b.header.previous_hash, prev, "hash chain at {h}");
        prev = b.hash();
        hashes.push(prev);
    }
    assert_eq!(prev, tip.hash);
    hashes
}

fn mem_run(w: &World) -> (State, Tip, Vec<Hash>) {
    let mut chain = Chain::open(w.genesis.clone(), MemStore::new()).expect("open");
    let n = steps(w).len();
    // Rules that must refuse mid-flow: release before customs, transfer by a non-possessor.
    let k = import_step(w);
    run(&mut chain, w, 0..k);
    let early = portledger_ledger::Transaction::sign(
        w.keypair("port"),
        &w.genesis.chain_id,
        chain.state().nonce(&w.key("port")) + 1,
        Payload::ReleaseCargo {
            reference: BL.into(),
            container: None,
        },
    );
    let (block, _, excluded) = chain.build_block(
        0,
        chain.tip().time_ms + 1,
        chain.validators().proposer(chain.tip().height + 1, 0),
        vec![early],
        chain
            .store()
            .certificate(chain.tip().height)
            .expect("store"),
    );
    assert!(block.transactions.is_empty());
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0].error.code(), "release_condition");
    run(&mut chain, w, k..n);
    check_final(chain.state(), w);
    check_history(&chain, w);
    let links = chain_links(&chain);
    (chain.state().clone(), chain.tip(), links)
}

#[test]
fn import_flow_on_memstore_and_on_sled_reopened_halfway() {
    let w = World::new();
    let (mem_state, mem_tip, mem_links) = mem_run(&w);

    let dir = tempfile::tempdir().expect("tempdir");
    let n = steps(&w).len();
    {
        let store = SledStore::open(dir.path()).expect("sled");
        let mut chain = Chain::open(w.genesis.clone(), store).expect("open");
        run(&mut chain, &w, 0..n / 2);
        assert_eq!(chain.tip().height as usize, n / 2);
    } // closed
    let store = SledStore::open(dir.path()).expect("reopen");
    let mut chain = Chain::open(w.genesis.clone(), store).expect("open again");
    assert_eq!(chain.tip().height as usize, n / 2, "tip restored");
    run(&mut chain, &w, n / 2..n);
    check_final(chain.state(), &w);
    check_history(&chain, &w);
    assert_eq!(chain_links(&chain), mem_links, "same blocks on both stores");
    assert_eq!(chain.tip(), mem_tip);
    assert_eq!(*chain.state(), mem_state, "same state on both stores");
    drop(chain);

    // Reopened once more, the state is restored exactly.
    let store = SledStore::open(dir.path()).expect("reopen");
    let chain = Chain::open(w.genesis.clone(), store).expect("open");
    assert_eq!(*chain.state(), mem_state);
    assert_eq!(chain.tip(), mem_tip);
}

#[test]
fn a_store_refuses_another_genesis() {
    let w = World::new();
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SledStore::open(dir.path()).expect("sled");
        Chain::open(w.genesis.clone(), store).expect("open");
    }
    let mut other: Genesis = w.genesis.clone();
    other.chain_id = "another-chain".into();
    let store = SledStore::open(dir.path()).expect("sled");
    let e = Chain::open(other, store).expect_err("wrong genesis");
    assert!(e.to_string().contains("another genesis"), "{e}");
}

#[test]
fn a_document_proof_verifies_offline_and_any_tampering_fails() {
    use portledger_ledger::codec;
    use portledger_ledger::proof::{self, DocumentProof};
    let w = World::new();
    let mut chain = Chain::open(w.genesis.clone(), MemStore::new()).expect("open");
    let n = steps(&w).len();
    run(&mut chain, &w, 0..n);
    let doc = DocumentKey::TransportDocument(BL.into());
    // The eBL with the credit and the declaration it was presented and declared under.
    let docs = [
        doc.clone(),
        DocumentKey::Credit(LC.into()),
        DocumentKey::Declaration(DEC.into()),
    ];
    let p = proof::build(chain.store(), &w.genesis, chain.snapshot(&docs))
        .expect("build")
        .expect("a proof");
    let verified = p.verify(&w.genesis, None).expect("verifies");
    assert_eq!(verified.height, chain.tip().height);
    let states: Vec<String> = verified
        .documents
        .iter()
        .map(|d| match &d.record {
            Some(proof::Record::TransportDocument(t)) => t.state.as_str().to_string(),
            Some(proof::Record::Credit(c)) => format!("{:?}", c.state),
            Some(proof::Record::Declaration(d)) => format!("{:?}", d.state),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        states,
        [
            TransportDocumentState::SurrenderedForDelivery
                .as_str()
                .to_string(),
            format!("{:?}", CreditState::Honoured),
            format!("{:?}", DeclarationState::Released),
        ]
    );
    // Each document's own history, and the union in chain order.
    let bl_actions: Vec<&str> = verified.documents[0]
        .events
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(bl_actions.first(), Some(&"bl.issue"));
    assert_eq!(bl_actions.last(), Some(&"port.release"));
    assert_eq!(
        verified.documents[1]
            .events
            .first()
            .map(|e| e.action.as_str()),
        Some("lc.apply")
    );
    let events = verified.events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.first(), Some(&"lc.apply"));
    assert_eq!(actions.last(), Some(&"port.release"));
    // Another genesis refuses it.
    let mut other = w.genesis.clone();
    other.chain_id = "elsewhere".into();
    assert!(p.verify(&other, None).is_err());
    // Flip every byte of the encoded proof (in steps): never verifies as a different history.
    let bytes = codec::encode(&p);
    let mut rejected = 0;
    for i in (0..bytes.len()).step_by(13) {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        match codec::decode::<DocumentProof>(&t, 1 << 24) {
            Err(_) => rejected += 1,
            Ok(q) => {
                if q.verify(&w.genesis, None).is_err() {
                    rejected += 1;
                } else {
                    panic!("a tampered proof (byte {i}) verified");
                }
            }
        }
    }
    assert!(rejected > 0);
    // JSON form round trips and verifies.
    let json = serde_json::to_string(&p).expect("json");
    let back: DocumentProof = serde_json::from_str(&json).expect("parse");
    back.verify(&w.genesis, None).expect("json proof verifies");
}
