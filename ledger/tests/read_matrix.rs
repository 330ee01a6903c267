//! The read matrix (`access::may_read`), cell by cell, over a state built by the real rules:
//! each role against each document family, the organisation rule, past possessors, and a
//! property test in which a stranger tries every write it can make to gain a read.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::access::{may_read, may_read_tracking, Reader};
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::customs::Direction;
use portledger_ledger::{DocumentKey, Hash, Keypair, Payload, Role};
use proptest::prelude::*;

const BL: &str = "MAEU-READ-1";
const LC: &str = "LC-READ-1";
const EXP: &str = "EX-READ-1";
const IMP: &str = "IM-READ-1";

/// Registers an organisation with `role` and one participant `alias` in it.
fn join(w: &mut World, alias: &str, organisation: &str, role: Option<Role>) {
    if let Some(role) = role {
        w.admit(organisation, role, &[alias]);
        return;
    }
    let k = Keypair::for_testing(alias);
    w.keys.insert(alias.into(), k.clone());
    w.ok(
        "port",
        Payload::RegisterParticipant {
            alias: alias.into(),
            public_key: k.public(),
            encryption_key: k.encryption_key(),
            organisation: organisation.into(),
        },
    );
}

/// The demo consortium plus strangers of each role, a second clerk of the issuing bank, and a
/// credit, an eBL (to order) presented under it, an export declaration and two anchored files.
fn world() -> (World, Hash, Hash) {
    let mut w = World::new();
    join(&mut w, "other-carrier", "rival-line", Some(Role::Carrier));
    join(&mut w, "third-bank", "third-bank-org", Some(Role::Bank));
    join(&mut w, "stranger", "stranger-co", Some(Role::Trader));
    join(&mut w, "issuing-clerk", "first-bank", None);
    w.ok(
        "buyer",
        Payload::ApplyCredit(Box::new(credit_terms(&w, LC))),
    );
    w.ok("issuing-bank", Payload::IssueCredit { number: LC.into() });
    w.ok("advising-bank", Payload::AdviseCredit { number: LC.into() });
    issue_bl(&mut w, BL, true);
    sail(&mut w, BL, EXP);
    let invoice = Hash::of(b"invoice READ-1");
    w.ok(
        "seller",
        Payload::AnchorDocument {
            hash: invoice,
            doc_type: DocumentType::CommercialInvoice,
            references: vec![BL.into(), LC.into()],
        },
    );
    let private = anchor(
        &mut w,
        "seller",
        "seller's own file",
        DocumentType::PackingList,
    );
    w.ok(
        "seller",
        Payload::PresentDocuments {
            number: LC.into(),
            transport_document: BL.into(),
            documents: vec![invoice],
        },
    );
    (w, invoice, private)
}

fn reader(w: &World, alias: &str) -> Reader {
    Reader::of(&w.state, &w.key(alias)).expect("registered")
}

/// Asserts the row of `doc`: exactly the `yes` aliases read it, of every alias in the world.
fn row(w: &World, doc: &DocumentKey, yes: &[&str]) {
    for alias in w.keys.keys() {
        let r = reader(w, alias);
        let expected = yes.contains(&alias.as_str());
        assert_eq!(
            may_read(&w.state, &r, doc),
            expected,
            "{alias} ({:?}) reading {doc:?}",
            r.role()
        );
    }
}

#[test]
fn a_credit_is_read_by_its_parties_and_their_organisations_only() {
    let (w, _, _) = world();
    row(
        &w,
        &DocumentKey::Credit(LC.into()),
        &[
            "buyer",
            "seller",
            "issuing-bank",
            "issuing-clerk",
            "advising-bank",
        ],
    );
}

#[test]
fn a_presented_ebl_is_read_by_its_parties_the_credits_banks_customs_and_the_port() {
    let (w, _, _) = world();
    row(
        &w,
        &DocumentKey::TransportDocument(BL.into()),
        &[
            "carrier",
            "seller",
            "issuing-bank",
            "issuing-clerk",
            "advising-bank",
            "customs",
            "port",
        ],
    );
}

#[test]
fn past_possessors_keep_reading_and_each_new_holder_reads() {
    let (mut w, _, _) = world();
    w.ok(
        "issuing-bank",
        Payload::ExamineDocuments {
            number: LC.into(),
            discrepancies: vec![],
        },
    );
    w.ok(
        "issuing-bank",
        Payload::Honour {
            number: LC.into(),
            payment_reference: "PAY-1".into(),
        },
    );
    // The buyer holds it now; the advising bank's right came from the presentation, which ended.
    let bl = DocumentKey::TransportDocument(BL.into());
    assert!(may_read(&w.state, &reader(&w, "buyer"), &bl));
    assert!(!may_read(&w.state, &reader(&w, "stranger"), &bl));
    w.ok(
        "buyer",
        Payload::Transfer {
            reference: BL.into(),
            to: w.key("stranger"),
        },
    );
    assert_eq!(w.bl(BL).possessor, Some(w.key("stranger")));
    row(
        &w,
        &bl,
        &[
            "carrier",
            "seller",
            "issuing-bank",
            "issuing-clerk",
            "buyer",
            "stranger",
            "customs",
            "port",
        ],
    );
}

#[test]
fn a_declaration_is_read_by_its_declarant_customs_and_the_port() {
    let (mut w, _, _) = world();
    row(
        &w,
        &DocumentKey::Declaration(EXP.into()),
        &["seller", "customs", "port"],
    );
    w.ok(
        "buyer",
        Payload::LodgeDeclaration(Box::new(declaration(IMP, BL, Direction::Import))),
    );
    row(
        &w,
        &DocumentKey::Declaration(IMP.into()),
        &["buyer", "customs", "port"],
    );
}

#[test]
fn an_anchored_file_is_read_by_its_issuer_customs_and_the_readers_of_what_it_names() {
    let (w, invoice, private) = world();
    // The invoice names the eBL and the credit: their readers read it.
    row(
        &w,
        &DocumentKey::Anchor(invoice),
        &[
            "carrier",
            "seller",
            "buyer",
            "issuing-bank",
            "issuing-clerk",
            "advising-bank",
            "customs",
            "port",
        ],
    );
    row(&w, &DocumentKey::Anchor(private), &["seller", "customs"]);
}

#[test]
fn tracking_membership_and_missing_documents() {
    let (w, _, _) = world();
    for alias in w.keys.keys() {
        let r = reader(&w, alias);
        let bl_reader = may_read(&w.state, &r, &DocumentKey::TransportDocument(BL.into()));
        assert_eq!(may_read_tracking(&w.state, &r, BL), bl_reader, "{alias}");
        assert!(may_read(
            &w.state,
            &r,
            &DocumentKey::Organisation("ocean-carrier".into())
        ));
        assert!(may_read(
            &w.state,
            &r,
            &DocumentKey::Participant(w.key("buyer"))
        ));
        // Nobody reads what does not exist, customs included: the API answers both alike.
        for missing in [
            DocumentKey::TransportDocument("NO-SUCH-BL".into()),
            DocumentKey::Credit("NO-SUCH-LC".into()),
            DocumentKey::Declaration("NO-SUCH-DEC".into()),
            DocumentKey::Anchor(Hash::of(b"never anchored")),
            DocumentKey::Organisation("nobody".into()),
        ] {
            assert!(!may_read(&w.state, &r, &missing), "{alias} {missing:?}");
        }
    }
    assert!(Reader::of(&w.state, &Keypair::for_testing("unregistered").public()).is_none());
}

/// What a stranger can try, to gain a read of the credit, the eBL or the declaration.
#[derive(Debug, Clone)]
enum Attempt {
    AnchorNaming(u8),
    DeclareOn,
    Present,
    Transfer,
    Endorse,
    Surrender,
    Advise,
    Confirm,
}

fn attempt() -> impl Strategy<Value = (Attempt, u8)> {
    (
        prop_oneof![
            any::<u8>().prop_map(Attempt::AnchorNaming),
            Just(Attempt::DeclareOn),
            Just(Attempt::Present),
            Just(Attempt::Transfer),
            Just(Attempt::Endorse),
            Just(Attempt::Surrender),
            Just(Attempt::Advise),
            Just(Attempt::Confirm),
        ],
        0u8..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Invariant: no write a stranger can make, accepted or refused, gives any of the
    /// stranger-trader, the rival carrier or the third bank a read of the credit, the eBL or
    /// the seller's export declaration (writes are accountable, reads are not a side effect).
    #[test]
    fn no_write_buys_a_read(attempts in proptest::collection::vec(attempt(), 1..8)) {
        let (mut w, _, _) = world();
        let hostile = ["stranger", "other-carrier", "third-bank"];
        for (i, (a, who)) in attempts.iter().enumerate() {
            let who = hostile[usize::from(*who)];
            let me = w.key(who);
            let payload = match a {
                Attempt::AnchorNaming(n) => Payload::AnchorDocument {
                    hash: Hash::of(&[*n, i as u8]),
                    doc_type: DocumentType::CommercialInvoice,
                    references: vec![BL.into(), LC.into(), EXP.into()],
                },
                Attempt::DeclareOn => Payload::LodgeDeclaration(Box::new(declaration(
                    &format!("HOSTILE-{i}"),
                    BL,
                    Direction::Import,
                ))),
                Attempt::Present => Payload::PresentDocuments {
                    number: LC.into(),
                    transport_document: BL.into(),
                    documents: vec![],
                },
                Attempt::Transfer => Payload::Transfer { reference: BL.into(), to: me },
                Attempt::Endorse => Payload::Endorse {
                    reference: BL.into(),
                    to: portledger_ledger::transaction::Endorsement::To(me),
                },
                Attempt::Surrender => Payload::SurrenderForDelivery { reference: BL.into() },
                Attempt::Advise => Payload::AdviseCredit { number: LC.into() },
                Attempt::Confirm => Payload::ConfirmCredit { number: LC.into() },
            };
            let _ = w.run(who, payload);
            for h in hostile {
                let r = reader(&w, h);
                for doc in [
                    DocumentKey::Credit(LC.into()),
                    DocumentKey::TransportDocument(BL.into()),
                    DocumentKey::Declaration(EXP.into()),
                ] {
                    prop_assert!(!may_read(&w.state, &r, &doc), "{h} reads {doc:?} after {a:?}");
                }
            }
        }
    }
}
