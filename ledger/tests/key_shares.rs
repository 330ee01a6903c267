//! The key rule of sealed transport documents (`rules/key_shares.rs`) and the hand-back
//! (`rules/transport.rs`): every reader of a transport document holds a wrap of its key and
//! nobody else does, whatever hostile parties put in a transaction's key shares; a holder
//! whose copy does not open hands the document back within the window, and only then.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::documents::transport::{KeyShare, TransportDocument};
use portledger_ledger::sealed::{EncryptionKey, KeyWrap, TermsKey};
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{Payload, RuleError, StateView};
use proptest::prelude::*;

const BL: &str = "BL-KEYS-1";

fn transfer(to: portledger_ledger::PublicKey) -> Payload {
    Payload::Transfer {
        reference: BL.into(),
        to,
    }
}

/// The share an honest transferor would make: the document key wrapped for `alias`.
fn honest(w: &World, alias: &str) -> KeyShare {
    w.bl(BL)
        .share_with(auditor(w), &w.keypair(alias).encryption_key())
        .expect("share")
}

/// A wrap of some other key for `alias`: it names the right recipient but does not open to
/// the document's key.
fn forged(w: &World, alias: &str) -> KeyShare {
    KeyShare {
        reference: BL.into(),
        wrap: TermsKey::generate()
            .wrap_for(&w.keypair(alias).encryption_key())
            .expect("wrap"),
    }
}

/// Every reader holds a wrap, and every wrap is a reader's or the auditor's.
fn key_rule_holds(w: &World, doc: &TransportDocument) -> Result<(), String> {
    let auditor = w.genesis.customs_auditor;
    let readers: Vec<EncryptionKey> = doc
        .readers()
        .iter()
        .map(|r| w.state.member(r).expect("registered").encryption_key)
        .collect();
    for (r, k) in doc.readers().iter().zip(&readers) {
        if !doc.wrapped_for(k) {
            return Err(format!("reader {r} holds no wrap"));
        }
    }
    let stray: Vec<&KeyWrap> = doc
        .wraps()
        .filter(|wr| !readers.contains(&wr.recipient) && Some(wr.recipient) != auditor)
        .collect();
    if !stray.is_empty() {
        return Err(format!("wraps for non-readers: {stray:?}"));
    }
    Ok(())
}

#[test]
fn a_transfer_must_share_the_key_with_the_new_holder_and_no_one_else() {
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let buyer = w.key("buyer");
    // No share: refused, naming the reader left without a wrap.
    let tx = w.tx_sharing("seller", transfer(buyer), vec![]);
    match w.submit(&tx) {
        Err(e @ RuleError::KeyNotShared { .. }) => {
            assert_eq!(e.code(), "key_not_shared");
            assert_eq!(e.fields()["reference"], BL);
            assert_eq!(e.fields()["party"], serde_json::json!(buyer));
        }
        other => panic!("expected key_not_shared, got {other:?}"),
    }
    // A share for a party the transfer does not make a reader: refused.
    let tx = w.tx_sharing(
        "seller",
        transfer(buyer),
        vec![honest(&w, "buyer"), honest(&w, "issuing-bank")],
    );
    let e = w.submit(&tx).expect_err("an outsider gets no key");
    assert_eq!(e.code(), "invalid_field", "{e}");
    // A share for a reader that already holds a wrap, or for a document the transaction does
    // not change: refused.
    let tx = w.tx_sharing(
        "seller",
        transfer(buyer),
        vec![honest(&w, "buyer"), honest(&w, "seller")],
    );
    assert_eq!(w.submit(&tx).expect_err("dup").code(), "invalid_field");
    let mut elsewhere = honest(&w, "buyer");
    elsewhere.reference = "BL-OTHER".into();
    let tx = w.tx_sharing("seller", transfer(buyer), vec![elsewhere]);
    assert_eq!(w.submit(&tx).expect_err("other").code(), "invalid_field");
    // The honest share: accepted, and the new holder opens the document.
    let tx = w.tx_sharing("seller", transfer(buyer), vec![honest(&w, "buyer")]);
    w.submit(&tx).expect("transferred");
    let doc = w.bl(BL);
    let opened = doc.open(w.keypair("buyer")).expect("the buyer opens it");
    assert_eq!(opened.goods, bl_plain(&w, BL, true).goods);
    assert!(doc.open(w.keypair("issuing-bank")).is_err());
    key_rule_holds(&w, &doc).unwrap();
}

#[test]
fn a_document_sealed_for_an_outsider_or_without_the_auditor_is_refused() {
    let mut w = World::new();
    let plain = bl_plain(&w, BL, true);
    let key = |a: &str| w.keypair(a).encryption_key();
    for (readers, what) in [
        (vec![key("carrier"), key("seller")], "no auditor wrap"),
        (
            vec![
                key("carrier"),
                key("seller"),
                key("customs"),
                key("issuing-bank"),
            ],
            "a bank that is no party",
        ),
    ] {
        let (_, sealed) = plain.seal(&readers).expect("seal");
        let tx = w.tx_sharing(
            "carrier",
            Payload::IssueTransportDocument {
                reference: BL.into(),
                document: Some(Box::new(sealed)),
                issue_to: None,
            },
            vec![],
        );
        let e = w.submit(&tx).expect_err(what);
        assert_eq!(e.code(), "invalid_field", "{what}: {e}");
    }
    assert!(w.state.transport_document(BL).is_none());
}

#[test]
fn a_holder_whose_copy_does_not_open_hands_it_back_within_the_window() {
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let (seller, buyer) = (w.key("seller"), w.key("buyer"));
    // A hostile transferor shares a wrap that does not open: the rule cannot tell.
    let tx = w.tx_sharing("seller", transfer(buyer), vec![forged(&w, "buyer")]);
    w.submit(&tx)
        .expect("a well-formed wrap for the right recipient");
    assert!(w.bl(BL).open(w.keypair("buyer")).is_err());
    // Only the new possessor hands it back, and the document returns to the transferor.
    let back = Payload::HandBack {
        reference: BL.into(),
        reason: "the key wrap does not open".into(),
    };
    w.refused("seller", back.clone(), "not_permitted");
    w.ok("buyer", back.clone());
    let doc = w.bl(BL);
    assert_eq!(doc.possessor, Some(seller));
    assert_eq!(doc.endorsee, Some(seller), "the endorsement is as it was");
    assert!(doc.handover.is_none());
    // Not twice.
    w.refused("buyer", back.clone(), "not_permitted");
    w.refused("seller", back, "deadline");
}

#[test]
fn the_hand_back_closes_when_the_holder_acts_or_the_window_passes() {
    let back = Payload::HandBack {
        reference: BL.into(),
        reason: "does not open".into(),
    };
    // Acting on it accepts it.
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let buyer = w.key("buyer");
    w.ok(
        "seller",
        Payload::Endorse {
            reference: BL.into(),
            to: Endorsement::To(buyer),
        },
    );
    w.ok("seller", transfer(buyer));
    w.ok(
        "buyer",
        Payload::Endorse {
            reference: BL.into(),
            to: Endorsement::Blank,
        },
    );
    w.refused("buyer", back.clone(), "deadline");
    // After 24 hours of block time it is too late.
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let buyer = w.key("buyer");
    w.ok("seller", transfer(buyer));
    w.advance_days(2);
    let m = w.refused("buyer", back.clone(), "deadline");
    assert!(m.contains("24 hours"), "{m}");
    // A holder that held it before (a transfer back to the seller) cannot hand it back.
    let mut w = World::new();
    issue_bl(&mut w, BL, true);
    let (seller, buyer) = (w.key("seller"), w.key("buyer"));
    w.ok("seller", transfer(buyer));
    w.ok("buyer", transfer(seller));
    w.refused("seller", back, "deadline");
}

#[derive(Debug, Clone)]
enum Share {
    None,
    Honest(usize),
    Forged(usize),
    ElsewhereHonest(usize),
}

fn share_strategy() -> impl Strategy<Value = Share> {
    prop_oneof![
        Just(Share::None),
        (0..5usize).prop_map(Share::Honest),
        (0..5usize).prop_map(Share::Forged),
        (0..5usize).prop_map(Share::ElsewhereHonest),
    ]
}

const PARTIES: [&str; 5] = ["seller", "buyer", "issuing-bank", "carrier", "port"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Hostile parties sign transfers, endorsements and hand-backs with any key shares they
    /// like (none, honest ones for anybody, forged ones, several): whatever is accepted, every
    /// reader of the document holds a wrap and no one else does, and the honest readers'
    /// wraps keep opening.
    #[test]
    fn no_reader_without_a_wrap_and_no_wrap_without_a_reader(
        ops in proptest::collection::vec(
            (0..5usize, 0..5usize, 0..3usize, proptest::collection::vec(share_strategy(), 0..3)),
            1..16,
        )
    ) {
        let mut w = World::new();
        issue_bl(&mut w, BL, true);
        for (by, to, kind, shares) in ops {
            let to_key = w.key(PARTIES[to]);
            let payload = match kind {
                0 => transfer(to_key),
                1 => Payload::Endorse { reference: BL.into(), to: Endorsement::To(to_key) },
                _ => Payload::HandBack { reference: BL.into(), reason: "does not open".into() },
            };
            let shares: Vec<KeyShare> = shares
                .iter()
                .filter_map(|s| match s {
                    Share::None => None,
                    Share::Honest(i) => Some(honest(&w, PARTIES[*i])),
                    Share::Forged(i) => Some(forged(&w, PARTIES[*i])),
                    Share::ElsewhereHonest(i) => {
                        let mut s = honest(&w, PARTIES[*i]);
                        s.reference = "BL-ELSEWHERE".into();
                        Some(s)
                    }
                })
                .collect();
            let tx = w.tx_sharing(PARTIES[by], payload, shares);
            let _ = w.submit(&tx);
            let doc = w.bl(BL);
            prop_assert!(key_rule_holds(&w, &doc).is_ok(), "{:?}", key_rule_holds(&w, &doc));
            // The carrier and the shipper were sealed for honestly: theirs always open.
            for a in ["carrier", "seller", "customs"] {
                prop_assert!(doc.open(w.keypair(a)).is_ok(), "{} no longer opens", a);
            }
        }
    }
}
