//! Canonical encoding of real ledger types: round trips, and arbitrary, truncated or oversized
//! bytes are refused without panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::block::Block;
use portledger_ledger::chain::Chain;
use portledger_ledger::codec::{self, CodecError};
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::CreditAmendment;
use portledger_ledger::documents::customs::Direction;
use portledger_ledger::governance::{Action, FirstParticipant};
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{
    CommitCertificate, DocumentKey, Hash, MemStore, Payload, Role, Transaction, Vote,
};
use proptest::prelude::*;

fn sample_payloads(w: &World) -> Vec<Payload> {
    let r = |s: &str| s.to_string();
    vec![
        Payload::Propose {
            id: r("p-1"),
            action: Action::AddOrganisation {
                name: r("x"),
                role: Role::Bank,
                node_key: Some(w.key("buyer")),
                validator: true,
                participants: vec![FirstParticipant {
                    alias: r("x-1"),
                    public_key: w.key("seller"),
                    encryption_key: w.keypair("seller").encryption_key(),
                }],
            },
        },
        Payload::Propose {
            id: r("p-2"),
            action: Action::SetConsensusParams(Default::default()),
        },
        Payload::Vote {
            id: r("p-1"),
            approve: false,
        },
        Payload::RevokeParticipant {
            participant: w.key("buyer"),
        },
        Payload::DraftTransportDocument(Box::new(bl_data(w, "BL", true))),
        Payload::IssueTransportDocument {
            reference: r("BL"),
            document: Some(Box::new(bl_data(w, "BL", false))),
            issue_to: Some(w.key("buyer")),
        },
        Payload::Endorse {
            reference: r("BL"),
            to: Endorsement::Blank,
        },
        Payload::Endorse {
            reference: r("BL"),
            to: Endorsement::To(w.key("buyer")),
        },
        Payload::ApplyCredit(Box::new(credit_terms(w, "LC"))),
        Payload::ProposeCreditAmendment {
            number: r("LC"),
            changes: CreditAmendment {
                presentation_days: Some(5),
                ..CreditAmendment::default()
            },
        },
        Payload::PresentDocuments {
            number: r("LC"),
            transport_document: r("BL"),
            documents: vec![Hash::of(b"d")],
        },
        Payload::ExamineDocuments {
            number: r("LC"),
            discrepancies: vec![r("late")],
        },
        Payload::LodgeDeclaration(Box::new(declaration("D", "BL", Direction::Export))),
        Payload::AssessDuty {
            number: r("D"),
            duty: duty_for(w, &w.state, "D", 7, "EUR"),
        },
        Payload::ReleaseCargo {
            reference: r("BL"),
            container: Some(r(CONTAINER)),
        },
        Payload::AnchorDocument {
            hash: Hash::of(b"f"),
            doc_type: DocumentType::PackingList,
            references: vec![r("BL")],
        },
        Payload::RevokeDocument {
            hash: Hash::of(b"f"),
            superseded_by: None,
        },
    ]
}

#[test]
fn every_payload_shape_round_trips_and_truncations_fail() {
    let w = World::new();
    for p in sample_payloads(&w) {
        let tx = w.tx("seller", p);
        let bytes = tx.encode();
        assert_eq!(Transaction::decode(&bytes, 1 << 20).expect("decode"), tx);
        for cut in 0..bytes.len() {
            assert!(
                Transaction::decode(&bytes[..cut], 1 << 20).is_err(),
                "cut {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            Transaction::decode(&long, 1 << 20),
            Err(CodecError::TrailingBytes(1))
        );
        assert!(matches!(
            Transaction::decode(&bytes, bytes.len() - 1),
            Err(CodecError::TooLarge { .. })
        ));
        // JSON form round trips too (the API and client use it).
        let json = serde_json::to_string(&tx).expect("json");
        assert_eq!(
            serde_json::from_str::<Transaction>(&json).expect("parse"),
            tx
        );
    }
    for k in [
        DocumentKey::TransportDocument("BL".into()),
        DocumentKey::Anchor(Hash::of(b"a")),
        DocumentKey::Participant(w.key("buyer")),
    ] {
        assert_eq!(
            codec::decode::<DocumentKey>(&codec::encode(&k), 1024),
            Ok(k)
        );
    }
}

#[test]
fn blocks_and_certificates_round_trip() {
    let w = World::new();
    let mut chain = Chain::open(w.genesis.clone(), MemStore::new()).expect("open");
    let anchor = w.tx(
        "seller",
        Payload::AnchorDocument {
            hash: Hash::of(b"q"),
            doc_type: DocumentType::Other,
            references: vec![],
        },
    );
    let t = chain.tip().time_ms + 1;
    let b1 = commit(&mut chain, &w.validators, vec![anchor], t);
    let b2 = commit(&mut chain, &w.validators, vec![], t + 1);
    for b in [&b1, &b2] {
        let bytes = b.encode();
        assert_eq!(&Block::decode(&bytes, 1 << 20).expect("decode"), b);
        for cut in (0..bytes.len()).step_by(7) {
            assert!(Block::decode(&bytes[..cut], 1 << 20).is_err());
        }
    }
    let cert = b2.last_commit.clone().expect("carried");
    let bytes = codec::encode(&cert);
    assert_eq!(
        codec::decode::<CommitCertificate>(&bytes, 4096).expect("cert"),
        cert
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Transaction::decode(&bytes, 1 << 16);
        let _ = Block::decode(&bytes, 1 << 16);
        let _ = codec::decode::<Vote>(&bytes, 1 << 16);
        let _ = codec::decode::<CommitCertificate>(&bytes, 1 << 16);
        let _ = codec::decode::<DocumentKey>(&bytes, 1 << 16);
    }

    #[test]
    fn mutated_transactions_never_panic_and_never_verify_as_the_original(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let w = World::new();
        let tx = w.tx("buyer", Payload::ApplyCredit(Box::new(credit_terms(&w, "LC-Z"))));
        let mut bytes = tx.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(m) = Transaction::decode(&bytes, 1 << 16) {
            // A changed transaction either fails its signature or is byte-identical in meaning.
            prop_assert!(m == tx || m.verify_signature().is_err() || m.body == tx.body);
        }
    }
}
