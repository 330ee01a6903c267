//! Proofs of documents' history and current state, against hostile editing: a proof must verify
//! with genesis alone, show who holds an eBL at a certified height, and be refused when a
//! transaction is altered, one is left out or added, the state shown is not the state at that
//! height, the genesis is another, or the state is older than the reader accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::chain::Chain;
use portledger_ledger::codec;
use portledger_ledger::proof::{DocumentProof, ProofError, Record};
use portledger_ledger::{DocumentKey, MemStore, Payload, Store};

const BL: &str = "MAEU250020";

fn step(chain: &mut Chain<MemStore>, w: &World, alias: &str, payload: Payload) {
    let time = chain.tip().time_ms + 60_000;
    let ctx = portledger_ledger::BlockContext {
        height: chain.tip().height + 1,
        time_ms: time,
    };
    let tx = sign_for(w, chain.state(), &ctx, alias, payload);
    commit(chain, &w.validators, vec![tx], time);
}

/// An eBL issued to the seller, then transferred `transfers` times between seller and buyer.
fn transferred(transfers: usize) -> (World, Chain<MemStore>) {
    let w = World::new();
    let mut chain = Chain::open(w.genesis.clone(), MemStore::new()).expect("open");
    step(
        &mut chain,
        &w,
        "carrier",
        Payload::IssueTransportDocument {
            reference: BL.into(),
            document: Some(Box::new(bl_data(&w, BL, false))),
            issue_to: None,
        },
    );
    for i in 0..transfers {
        let (from, to) = if i % 2 == 0 {
            ("seller", "buyer")
        } else {
            ("buyer", "seller")
        };
        step(
            &mut chain,
            &w,
            from,
            Payload::Transfer {
                reference: BL.into(),
                to: w.key(to),
            },
        );
    }
    (w, chain)
}

fn proof_of(chain: &Chain<MemStore>, w: &World, docs: &[DocumentKey]) -> DocumentProof {
    portledger_ledger::proof::build(chain.store(), &w.genesis, chain.snapshot(docs))
        .expect("store")
        .expect("a proof")
}

fn bl_key() -> DocumentKey {
    DocumentKey::TransportDocument(BL.into())
}

fn possessor(v: &portledger_ledger::proof::Verified) -> String {
    match &v.documents[0].record {
        Some(Record::TransportDocument(t)) => v.name(&t.possessor.expect("possessed")),
        other => panic!("not a transport document: {other:?}"),
    }
}

#[test]
fn a_twenty_transfer_ebl_proves_its_holder_within_64_kib() {
    let (w, chain) = transferred(20);
    let p = proof_of(&chain, &w, &[bl_key()]);
    let v = p.verify(&w.genesis, None).expect("verifies");
    assert_eq!(v.height, chain.tip().height);
    assert_eq!(v.documents[0].events.len(), 21);
    assert_eq!(v.documents[0].events[0].action, "bl.issue");
    // Twenty transfers from the seller: the seller holds it again.
    assert_eq!(possessor(&v), "seller");
    let json = serde_json::to_vec(&p).expect("json");
    let started = std::time::Instant::now();
    let back: DocumentProof = serde_json::from_slice(&json).expect("parse");
    back.verify(&w.genesis, None).expect("json form verifies");
    eprintln!(
        "20-transfer eBL proof: {} bytes of JSON, {} entries, parsed and verified in {:?} (test \
         profile)",
        json.len(),
        p.entries.len(),
        started.elapsed()
    );
    assert!(json.len() <= 64 * 1024, "{} bytes", json.len());
}

#[test]
fn an_altered_added_or_missing_transaction_is_refused() {
    let (w, chain) = transferred(4);
    let p = proof_of(&chain, &w, &[bl_key()]);
    p.verify(&w.genesis, None).expect("verifies");

    // A transfer to someone else.
    let mut t = p.clone();
    if let Payload::Transfer { to, .. } = &mut t.entries[2].transaction.body.payload {
        *to = w.key("carrier");
    }
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::NotIncluded { index: 2, .. })
    ));

    // The last transfer left out (entries and the document's list stay consistent).
    let mut t = p.clone();
    t.entries.pop();
    t.state.documents[0].entries.pop();
    let e = t.verify(&w.genesis, None).expect_err("incomplete");
    assert!(
        matches!(
            e,
            ProofError::IncompleteHistory {
                listed: 4,
                count: 5,
                ..
            }
        ),
        "{e}"
    );

    // A middle one left out.
    let mut t = p.clone();
    t.entries.remove(1);
    t.state.documents[0].entries = (0..4).collect();
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::IncompleteHistory { .. })
    ));

    // Listed twice.
    let mut t = p.clone();
    t.state.documents[0].entries.push(4);
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::IncompleteHistory { .. })
    ));

    // An entry in no document's history.
    let mut t = p.clone();
    t.state.documents[0].entries.retain(|&i| i != 3);
    assert!(t.verify(&w.genesis, None).is_err());

    // A certificate missing a signature.
    let mut t = p.clone();
    t.entries[1].certificate.signatures.clear();
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::Certificate { index: 1, .. })
    ));
}

#[test]
fn a_state_other_than_the_certified_one_is_refused() {
    let (w, chain) = transferred(3);
    let p = proof_of(&chain, &w, &[bl_key()]);
    assert_eq!(possessor(&p.verify(&w.genesis, None).expect("ok")), "buyer");

    // The possessor rewritten to the seller.
    let mut t = p.clone();
    if let Some(Record::TransportDocument(d)) = &mut t.state.documents[0].state.record {
        d.possessor = Some(w.key("seller"));
    }
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::State { what: "record", .. })
    ));

    // The document claimed absent.
    let mut t = p.clone();
    t.state.documents[0].state.record = None;
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::State { what: "record", .. })
    ));

    // The history head's count lowered.
    let mut t = p.clone();
    if let Some(h) = &mut t.state.documents[0].head {
        h.count -= 1;
    }
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::State {
            what: "history head",
            ..
        })
    ));

    // A party's alias changed.
    let mut t = p.clone();
    if let Some(Record::Participant(m)) = &mut t.state.parties[0].record {
        m.alias = "mallory".into();
    }
    assert!(t.verify(&w.genesis, None).is_err());

    // The state header of an earlier block, with this state's proofs.
    let earlier = chain.store().block(2).expect("store").expect("block");
    let mut t = p.clone();
    t.state.header = earlier.header;
    t.state.certificate = chain.store().certificate(2).expect("store").expect("cert");
    assert!(t.verify(&w.genesis, None).is_err());

    // Any flipped byte of the encoding never verifies.
    let bytes = codec::encode(&p);
    for i in (0..bytes.len()).step_by(17) {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(q) = codec::decode::<DocumentProof>(&b, 1 << 24) {
            assert!(
                q == p || q.verify(&w.genesis, None).is_err(),
                "a proof with byte {i} flipped verified"
            );
        }
    }
}

#[test]
fn a_stale_proof_does_not_pass_for_current_and_another_genesis_is_refused() {
    let (w, mut chain) = transferred(2);
    let old = proof_of(&chain, &w, &[bl_key()]);
    let old_v = old.verify(&w.genesis, None).expect("ok");
    assert_eq!(possessor(&old_v), "seller");

    // Later, the seller transfers again.
    step(
        &mut chain,
        &w,
        "seller",
        Payload::Transfer {
            reference: BL.into(),
            to: w.key("buyer"),
        },
    );
    let now = chain.tip().time_ms;
    let e = old.verify(&w.genesis, Some(now)).expect_err("stale");
    assert!(matches!(e, ProofError::Stale { .. }), "{e}");
    assert!(e.to_string().contains("fetch a newer proof"), "{e}");
    let new = proof_of(&chain, &w, &[bl_key()]);
    let v = new.verify(&w.genesis, Some(now)).expect("current");
    assert_eq!(possessor(&v), "buyer");
    assert_eq!(v.height, old_v.height + 1);

    // The old history with the new state: the later transfer is missing.
    let mut t = new.clone();
    t.entries = old.entries.clone();
    t.state.documents[0].entries = old.state.documents[0].entries.clone();
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::IncompleteHistory { .. })
    ));

    // Another genesis.
    let mut other = w.genesis.clone();
    other.chain_id = "elsewhere".into();
    assert!(matches!(
        new.verify(&other, None),
        Err(ProofError::WrongGenesis { .. })
    ));
}

#[test]
fn a_document_that_does_not_exist_is_proven_absent() {
    let (w, chain) = transferred(1);
    let ghost = DocumentKey::TransportDocument("NOPE-1".into());
    let p = proof_of(&chain, &w, &[bl_key(), ghost.clone()]);
    let v = p.verify(&w.genesis, None).expect("ok");
    assert_eq!(v.documents[1].document, ghost);
    assert_eq!(v.documents[1].record, None);
    assert!(v.documents[1].events.is_empty());
    // Said to be a proof of the ghost: refused.
    let mut t = p.clone();
    t.document = ghost.clone();
    assert!(matches!(
        t.verify(&w.genesis, None),
        Err(ProofError::Subject { .. })
    ));
    // Claiming it exists fails.
    let mut t = p.clone();
    t.state.documents[1].state.record = t.state.documents[0].state.record.clone();
    assert!(t.verify(&w.genesis, None).is_err());
}
