//! Every transport document in the `examples:` blocks of the DCSA eBL 3.0.4 OpenAPI files
//! (`tests/fixtures/dcsa/`, extracted unedited by `scripts/extract-dcsa-fixtures.py`) is
//! accepted as given once its parties' codes and names are claimed in the party directory:
//! mapped by the client, then issued through the ledger's own rules on a fresh state. The
//! record keeps the document's canonical JSON, whose SHA-256 is the document hash, and the
//! derived fields are checked one by one. The refusals that must stay name the JSON path.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use portledger_client::dcsa::canonical;
use portledger_client::inputs;
use portledger_client::parties::{Directory, Participant};
use portledger_ledger::documents::party::{PartyCode, PartyId};
use portledger_ledger::documents::transport::{
    FreightTerm, PlainTransportDocument, TransportDocument, TransportDocumentData,
    TransportDocumentState,
};
use portledger_ledger::genesis::Role;
use portledger_ledger::governance::{Action, FirstParticipant};
use portledger_ledger::{
    apply, demo, BlockContext, Genesis, Hash, Keypair, Payload, PublicKey, RuleError, State,
    StateView, Transaction,
};
use serde_json::Value;

struct Ledger {
    genesis: Genesis,
    keys: Vec<(String, Keypair)>,
    state: State,
}

impl Ledger {
    fn new() -> Ledger {
        let (genesis, _validators, keys) = demo::testing(4);
        let state = State::from_genesis(&genesis);
        Ledger {
            genesis,
            keys,
            state,
        }
    }

    fn keypair(&self, alias: &str) -> &Keypair {
        &self.keys.iter().find(|(a, _)| a == alias).expect(alias).1
    }

    fn key(&self, alias: &str) -> PublicKey {
        self.keypair(alias).public()
    }

    fn run(&mut self, alias: &str, payload: Payload) -> Result<(), RuleError> {
        let k = self.keypair(alias);
        let nonce = self.state.nonce(&k.public()) + 1;
        let tx = Transaction::sign(k, &self.genesis.chain_id, nonce, payload);
        let ctx = BlockContext {
            height: 1,
            time_ms: self.genesis.genesis_time_ms + 1000,
        };
        let fx = apply(&self.state, &tx, &ctx)?;
        self.state.apply(&fx.changes);
        Ok(())
    }

    /// Seals a document in the clear as the client does, for the issuing carrier, the
    /// shipper, the first possessor and the customs auditor.
    fn seal(
        &self,
        carrier: &str,
        plain: &PlainTransportDocument,
        issue_to: Option<PublicKey>,
    ) -> TransportDocumentData {
        let mut readers = vec![self.keypair(carrier).encryption_key()];
        for k in [Some(plain.shipper), issue_to].into_iter().flatten() {
            readers.push(self.state.member(&k).expect("registered").encryption_key);
        }
        readers.extend(self.genesis.customs_auditor);
        plain.seal(&readers).expect("seal").1
    }

    fn claim(&mut self, participant: &str, id: PartyId) {
        let participant = self.key(participant);
        self.run("port", Payload::ClaimPartyId { id, participant })
            .expect("the port operator claims a party id");
    }

    /// The directory as the client reads it from `GET /v1/participants`.
    fn directory(&self) -> Directory {
        Directory {
            participants: self
                .state
                .participants
                .iter()
                .map(|(k, m)| Participant {
                    alias: m.alias.clone(),
                    public_key: *k,
                    encryption_key: m.encryption_key,
                    organisation: m.organisation.clone(),
                    role: m.role.as_str().to_string(),
                    party_ids: self
                        .state
                        .party_ids
                        .iter()
                        .filter(|(_, p)| *p == k)
                        .map(|(id, _)| id.clone())
                        .collect(),
                })
                .collect(),
        }
    }

    /// The claims the examples need: the shipper by name, the carriers by SMDG code, the
    /// issuance request's `issueTo` by its eBL platform code.
    fn with_example_parties() -> Ledger {
        let mut l = Ledger::new();
        l.claim("seller", PartyId::Name("DCSA CTK".into()));
        l.claim("carrier", PartyId::Code(PartyCode::new("SMDG", "MSC")));
        l.claim("carrier", PartyId::Code(PartyCode::new("SMDG", "HLC")));
        l.claim("buyer", PartyId::Code(PartyCode::new("BOLE", "BOLE001")));
        l
    }

    /// Maps a fixture with the client and issues it as `carrier`.
    fn issue(&mut self, file: &Value, carrier: &str) -> Result<TransportDocument, String> {
        let doc = inputs::transport_document(file.clone(), &self.directory(), None)
            .map_err(|e| e.to_string())?;
        doc.data.validate().map_err(|e| e.to_string())?;
        let reference = doc.data.reference.clone();
        let sealed = self.seal(carrier, &doc.data, doc.issue_to);
        self.run(
            carrier,
            Payload::IssueTransportDocument {
                reference: reference.clone(),
                document: Some(Box::new(sealed)),
                issue_to: doc.issue_to,
            },
        )
        .map_err(|e| format!("{}: {e}", e.code()))?;
        Ok(self.state.transport_document(&reference).expect("issued"))
    }
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dcsa")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// What each example must give on the ledger.
struct Expected {
    reference: &'static str,
    hs_code: &'static str,
    container: &'static str,
    vessel: &'static str,
    iso_code: &'static str,
    dangerous_goods: Option<(&'static str, &'static str, u8)>,
    reefer_temperature: Option<&'static str>,
    possessor: &'static str,
}

fn accepted_as_given(name: &str, e: Expected) {
    let file = fixture(name);
    let mut l = Ledger::with_example_parties();
    let doc = l
        .issue(&file, "carrier")
        .unwrap_or_else(|m| panic!("{name}: {m}"));
    // The record holds the document sealed: its carrier, its first possessor and the customs
    // auditor open it, checked against the record.
    let d = &doc
        .open(l.keypair("carrier"))
        .unwrap_or_else(|err| panic!("{name}: the carrier opens it: {err}"));
    for reader in [e.possessor, "customs"] {
        assert_eq!(
            doc.open(l.keypair(reader)).as_ref(),
            Ok(d),
            "{name}: {reader}"
        );
    }
    assert!(doc.open(l.keypair("issuing-bank")).is_err(), "{name}");
    assert_eq!(
        doc.data.carrier_code.as_ref().map(|c| c.provider.as_str()),
        Some("SMDG")
    );
    assert_eq!(doc.state, TransportDocumentState::Issued);
    assert_eq!(d.reference, e.reference);
    assert_eq!(d.shipper, l.key("seller"), "shipper by its party name");
    assert_eq!(doc.possessor, Some(l.key(e.possessor)));
    assert_eq!(
        doc.endorsee,
        Some(l.key(e.possessor)),
        "to order of the first possessor"
    );
    assert!(d.to_order);
    assert_eq!(d.freight_term, FreightTerm::Prepaid);
    assert_eq!(
        (d.port_of_loading.as_str(), d.port_of_discharge.as_str()),
        ("DKAAR", "DEBRV")
    );
    assert_eq!(d.vessel_name, e.vessel);
    assert_eq!(d.voyage, "402E");
    assert_eq!(d.goods.len(), 1);
    assert_eq!(d.goods[0].hs_code, e.hs_code);
    assert_eq!(
        (d.goods[0].packages, d.goods[0].gross_weight_kg),
        (400, 12000)
    );
    assert_eq!(d.equipment[0].container, e.container);
    assert_eq!(d.equipment[0].seals, vec!["DCSA-CTK-1234".to_string()]);
    assert_eq!(
        d.shipped_on_board_date.map(|x| x.to_string()).as_deref(),
        Some("2023-12-20")
    );

    // The whole document is kept, canonical, and its hash is the on-ledger commitment.
    let kept = d.dcsa.as_ref().expect("the DCSA document is kept");
    let source = file.get("document").unwrap_or(&file);
    assert_eq!(kept.canonical_json, canonical(source).expect("canonical"));
    assert_eq!(d.document_hash, Hash::of(kept.canonical_json.as_bytes()));
    let back: Value = serde_json::from_str(&kept.canonical_json).expect("JSON");
    assert_eq!(
        &back, source,
        "the kept document is the given one, every field"
    );

    // Derived beyond the ledger's core fields.
    assert_eq!(kept.carrier_code.provider, "SMDG");
    assert_eq!(kept.vessel_voyages.len(), 1);
    assert_eq!(kept.vessel_voyages[0].vessel_name, e.vessel);
    assert_eq!(
        kept.consignment_items[0].hs_codes,
        vec![e.hs_code.to_string()]
    );
    let cargo = &kept.consignment_items[0].cargo_items;
    assert_eq!(cargo.len(), 1);
    assert_eq!(
        cargo[0].container, e.container,
        "cargo item linked to its container"
    );
    assert_eq!((cargo[0].packages, cargo[0].gross_weight_kg), (400, 12000));
    match e.dangerous_goods {
        Some((un, class, group)) => {
            let dg = &cargo[0].dangerous_goods;
            assert_eq!(dg.len(), 1);
            assert_eq!(dg[0].un_number.as_deref(), Some(un));
            assert_eq!(dg[0].imo_class, class);
            assert_eq!(dg[0].packing_group, Some(group));
        }
        None => assert!(cargo[0].dangerous_goods.is_empty()),
    }
    let eq = &kept.equipment[0];
    assert_eq!(eq.container, e.container);
    assert_eq!(eq.iso_equipment_code.as_deref(), Some(e.iso_code));
    assert!(!eq.shipper_owned);
    assert_eq!(
        eq.reefer
            .as_ref()
            .and_then(|r| r.temperature_setpoint.as_deref()),
        e.reefer_temperature
    );
    if e.reefer_temperature.is_some() {
        assert_eq!(
            eq.reefer
                .as_ref()
                .and_then(|r| r.temperature_unit.as_deref()),
            Some("CEL")
        );
    }
}

const REGULAR: Expected = Expected {
    reference: "62CD536BA8D34C469AFD",
    hs_code: "640510",
    container: "NARU3472484",
    vessel: "MSC Gülsün",
    iso_code: "22G1",
    dangerous_goods: None,
    reefer_temperature: None,
    possessor: "seller",
};

const REEFER: Expected = Expected {
    reference: "D8931B95625E4B339F2A",
    hs_code: "04052090",
    container: "KKFU6671914",
    vessel: "Ever Ace",
    iso_code: "45R1",
    dangerous_goods: None,
    reefer_temperature: Some("-18"),
    possessor: "seller",
};

const DG: Expected = Expected {
    reference: "4AD3FA470BB541B980CE",
    hs_code: "293499",
    container: "HLXU1234567",
    vessel: "Berlin Express",
    iso_code: "22G1",
    dangerous_goods: Some(("3082", "9", 3)),
    reefer_temperature: None,
    possessor: "seller",
};

#[test]
fn ebl_get_regular_std_example() {
    accepted_as_given("ebl-get-regularSTDExample.json", REGULAR);
}

#[test]
fn ebl_get_reefer_example() {
    accepted_as_given("ebl-get-reeferExample.json", REEFER);
}

#[test]
fn ebl_get_dg_example_whose_container_fails_the_check_digit() {
    // HLXU1234567 fails the ISO 6346 check digit: DCSA says "should ... where possible".
    accepted_as_given("ebl-get-dgExample.json", DG);
}

#[test]
fn ebl_amendment_put_reefer_example() {
    accepted_as_given(
        "ebl-amendment-put-reeferExample.json",
        Expected {
            reefer_temperature: Some("5"),
            ..REEFER
        },
    );
}

#[test]
fn ebl_amendment_put_dg_example() {
    // The amendment changes the packing group.
    accepted_as_given(
        "ebl-amendment-put-dgExample.json",
        Expected {
            dangerous_goods: Some(("3082", "9", 2)),
            ..DG
        },
    );
}

#[test]
fn ebl_amendment_get_reefer_example() {
    accepted_as_given(
        "ebl-amendment-get-reeferExample.json",
        Expected {
            reefer_temperature: Some("-5"),
            ..REEFER
        },
    );
}

#[test]
fn ebl_notification_draft_full_state_transfer_example() {
    accepted_as_given(
        "ebl-notification-draftFullStateTransferExample.json",
        Expected {
            reference: "HHL71800000",
            ..REGULAR
        },
    );
}

#[test]
fn ebl_notification_issued_full_state_transfer_example() {
    accepted_as_given(
        "ebl-notification-issuedFullStateTransferExample.json",
        Expected {
            reference: "HHL71800000",
            ..REGULAR
        },
    );
}

#[test]
fn iss_request_regular_std_example_is_issued_to_its_issue_to_party() {
    accepted_as_given(
        "iss-request-regularSTDExample.json",
        Expected {
            possessor: "buyer",
            ..REGULAR
        },
    );
}

#[test]
fn unclaimed_parties_are_refused_with_their_json_path() {
    let file = fixture("iss-request-regularSTDExample.json");
    // Nothing claimed: the shipper's name is the first party met.
    let mut l = Ledger::new();
    let e = l.issue(&file, "carrier").expect_err("refused");
    assert!(
        e.contains("document.documentParties.shipper.partyName"),
        "{e}"
    );
    // The shipper claimed, issueTo not: refused, never dropped.
    l.claim("seller", PartyId::Name("DCSA CTK".into()));
    let e = l.issue(&file, "carrier").expect_err("refused");
    assert!(
        e.contains("issueTo.identifyingCodes[0].partyCode: no participant registered for code BOLE001 (provider BOLE)"),
        "{e}"
    );
    // The parties claimed but not the carrier's code: the ledger refuses, naming the code.
    l.claim("buyer", PartyId::Code(PartyCode::new("BOLE", "BOLE001")));
    let e = l.issue(&file, "carrier").expect_err("refused");
    assert!(
        e.starts_with("not_permitted") && e.contains("MSC (provider SMDG)"),
        "{e}"
    );
}

#[test]
fn a_carrier_cannot_issue_under_another_carriers_code() {
    let mut l = Ledger::with_example_parties();
    // A second shipping line, with its own participant, admitted by the validators' vote (the
    // port operator proposes; the first bank and customs make the quorum of four seats).
    let other = Keypair::for_testing("other-carrier");
    l.run(
        "port",
        Payload::Propose {
            id: "admit-other-line".into(),
            action: Action::AddOrganisation {
                name: "other-line".into(),
                role: Role::Carrier,
                node_key: None,
                validator: false,
                participants: vec![FirstParticipant {
                    alias: "other-carrier".into(),
                    public_key: other.public(),
                    encryption_key: other.encryption_key(),
                }],
            },
        },
    )
    .expect("proposal");
    for voter in ["issuing-bank", "customs"] {
        l.run(
            voter,
            Payload::Vote {
                id: "admit-other-line".into(),
                approve: true,
            },
        )
        .expect("vote");
    }
    l.keys.push(("other-carrier".into(), other));
    let file = fixture("ebl-get-regularSTDExample.json");
    let e = l
        .issue(&file, "other-carrier")
        .expect_err("MSC is not other-line's code");
    assert!(e.starts_with("not_permitted") && e.contains("MSC"), "{e}");
    // The code's own carrier issues it.
    assert!(l.issue(&file, "carrier").is_ok());
}

#[test]
fn an_edited_kept_document_is_refused_by_the_client_and_found_by_its_reader() {
    let file = fixture("ebl-get-regularSTDExample.json");
    let mut l = Ledger::with_example_parties();
    let mut doc = inputs::transport_document(file, &l.directory(), None)
        .expect("maps")
        .data;
    let mut kept = doc.dcsa.take().expect("kept");
    // The kept document says one carrier code, the record another.
    kept.canonical_json = kept
        .canonical_json
        .replace("\"carrierCode\":\"MSC\"", "\"carrierCode\":\"HLC\"");
    doc.document_hash = Hash::of(kept.canonical_json.as_bytes());
    doc.dcsa = Some(kept.clone());
    let e = doc.validate().expect_err("the client refuses to seal it");
    assert_eq!(e.code(), "invalid_field", "{e}");
    // Bytes that are not the canonical form, or a hash that does not pin them.
    let mut pretty = doc.clone();
    let v: Value = serde_json::from_str(&kept.canonical_json).expect("json");
    let mut k2 = kept.clone();
    k2.canonical_json = serde_json::to_string_pretty(&v).expect("json");
    pretty.document_hash = Hash::of(k2.canonical_json.as_bytes());
    pretty.dcsa = Some(k2);
    assert!(pretty.validate().is_err());
    let mut wrong_hash = doc.clone();
    wrong_hash.document_hash = Hash::of(b"something else");
    assert!(wrong_hash.validate().is_err());
    // A carrier that bypasses its client gets the sealed document past the validators, who
    // cannot read it; every reader finds the mismatch on opening, and the first holder may
    // hand it back.
    let sealed = l.seal("carrier", &doc, None);
    l.run(
        "carrier",
        Payload::IssueTransportDocument {
            reference: doc.reference.clone(),
            document: Some(Box::new(sealed)),
            issue_to: None,
        },
    )
    .expect("the header is consistent");
    let record = l.state.transport_document(&doc.reference).expect("issued");
    let opened = record.open(l.keypair("seller"));
    assert!(
        matches!(
            opened,
            Err(portledger_ledger::sealed::SealError::Mismatch(_))
        ),
        "{opened:?}"
    );
    l.run(
        "seller",
        Payload::HandBack {
            reference: doc.reference.clone(),
            reason: "the kept DCSA document does not match its record".into(),
        },
    )
    .expect("handed back");
    let back = l.state.transport_document(&doc.reference).expect("record");
    assert_eq!(back.possessor, Some(l.key("carrier")));
}
