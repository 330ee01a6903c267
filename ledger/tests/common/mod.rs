//! A test world: the demo consortium's keys, a state, and a clock, with helpers to sign and
//! apply transactions and to commit blocks with real commit certificates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use portledger_ledger::block::Block;
use portledger_ledger::chain::Chain;
use portledger_ledger::date::{Date, DAY_MS};
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::{CreditBody, CreditTerms, RequiredDocument};
use portledger_ledger::documents::customs::{
    DeclarationBody, DeclarationData, DeclarationLine, Direction,
};
use portledger_ledger::documents::transport::{
    Equipment, FreightTerm, GoodsLine, KeyShare, PlainTransportDocument, TransportDocumentData,
    TransportDocumentKind,
};
use portledger_ledger::governance::{Action, FirstParticipant};
use portledger_ledger::sealed::{seal_for, DecryptionKey};
use portledger_ledger::{
    apply, demo, BlockContext, CommitCertificate, Effects, Genesis, Hash, Keypair, Payload,
    PublicKey, Role, RuleError, State, Store, Transaction, Vote, VoteKind,
};

pub const CONTAINER: &str = "MSCU1234566";
pub const CONTAINER2: &str = "TGHU7654320";

pub struct World {
    pub genesis: Genesis,
    pub validators: Vec<Keypair>,
    pub keys: BTreeMap<String, Keypair>,
    pub state: State,
    pub time_ms: u64,
    pub height: u64,
}

impl World {
    pub fn new() -> World {
        let (genesis, validators, parts) = demo::testing(4);
        let state = State::from_genesis(&genesis);
        let time_ms = genesis.genesis_time_ms + 1000;
        World {
            genesis,
            validators,
            keys: parts.into_iter().collect(),
            state,
            time_ms,
            height: 0,
        }
    }

    pub fn key(&self, alias: &str) -> PublicKey {
        self.keys[alias].public()
    }

    pub fn keypair(&self, alias: &str) -> &Keypair {
        &self.keys[alias]
    }

    /// Registers an extra trader key (used by property tests for many parties).
    pub fn add_trader(&mut self, alias: &str) -> PublicKey {
        let k = Keypair::for_testing(alias);
        let pk = k.public();
        self.keys.insert(alias.to_string(), k);
        self.run(
            "port",
            Payload::RegisterParticipant {
                alias: alias.to_string(),
                public_key: pk,
                encryption_key: self.keys[alias].encryption_key(),
                organisation: "buyer-co".into(),
            },
        )
        .expect("register");
        pk
    }

    /// Admits an organisation by governance: the port operator proposes, the first bank and
    /// customs (validator organisations of the demo) vote for it, which makes a quorum of the
    /// four seats. Its participants' keys are `Keypair::for_testing(alias)`.
    pub fn admit(&mut self, name: &str, role: Role, aliases: &[&str]) {
        let participants = aliases
            .iter()
            .map(|a| {
                let k = Keypair::for_testing(a);
                self.keys.insert((*a).to_string(), k.clone());
                FirstParticipant {
                    alias: (*a).to_string(),
                    public_key: k.public(),
                    encryption_key: k.encryption_key(),
                }
            })
            .collect();
        let id = format!("admit-{name}");
        self.ok(
            "port",
            Payload::Propose {
                id: id.clone(),
                action: Action::AddOrganisation {
                    name: name.into(),
                    role,
                    node_key: None,
                    validator: false,
                    participants,
                },
            },
        );
        for voter in ["issuing-bank", "customs"] {
            self.ok(
                voter,
                Payload::Vote {
                    id: id.clone(),
                    approve: true,
                },
            );
        }
        assert_eq!(self.state.organisations.get(name), Some(&role), "admitted");
    }

    /// A transaction by `alias` with its next nonce, sharing document keys with every reader
    /// it makes, as a client does (see [`sign_for`]).
    pub fn tx(&self, alias: &str, payload: Payload) -> Transaction {
        sign_for(self, &self.state, &self.ctx(), alias, payload)
    }

    /// A transaction by `alias` with exactly these key shares.
    pub fn tx_sharing(&self, alias: &str, payload: Payload, shares: Vec<KeyShare>) -> Transaction {
        let k = &self.keys[alias];
        let nonce = portledger_ledger::StateView::nonce(&self.state, &k.public()) + 1;
        Transaction::sign_sharing(k, &self.genesis.chain_id, nonce, payload, shares)
    }

    pub fn ctx(&self) -> BlockContext {
        BlockContext {
            height: self.height + 1,
            time_ms: self.time_ms,
        }
    }

    /// Applies a transaction; on success commits its changes to the state.
    pub fn submit(&mut self, tx: &Transaction) -> Result<Effects, RuleError> {
        let fx = apply(&self.state, tx, &self.ctx())?;
        self.state.apply(&fx.changes);
        self.height += 1;
        self.time_ms += 1000;
        Ok(fx)
    }

    pub fn run(&mut self, alias: &str, payload: Payload) -> Result<Effects, RuleError> {
        let tx = self.tx(alias, payload);
        self.submit(&tx)
    }

    /// Runs and expects success.
    pub fn ok(&mut self, alias: &str, payload: Payload) -> Effects {
        let action = payload.action();
        self.run(alias, payload)
            .unwrap_or_else(|e| panic!("{alias} {action} should succeed: {e}"))
    }

    /// Runs and expects a refusal with this error code; returns the message.
    pub fn refused(&mut self, alias: &str, payload: Payload, code: &str) -> String {
        let action = payload.action();
        let before = self.state.clone();
        match self.run(alias, payload) {
            Ok(_) => panic!("{alias} {action} should be refused with {code}"),
            Err(e) => {
                assert_eq!(e.code(), code, "{alias} {action}: {e}");
                assert_eq!(self.state, before, "a refusal changes nothing");
                e.to_string()
            }
        }
    }

    pub fn bl(
        &self,
        reference: &str,
    ) -> portledger_ledger::documents::transport::TransportDocument {
        self.state.transport_documents[reference].clone()
    }

    pub fn lc(&self, number: &str) -> portledger_ledger::documents::credit::LetterOfCredit {
        self.state.credits[number].clone()
    }

    pub fn today(&self) -> Date {
        Date::of_ms(self.time_ms)
    }

    pub fn advance_days(&mut self, days: u64) {
        self.time_ms += days * DAY_MS;
    }
}

/// The two containers of a new document: [`CONTAINER`] and [`CONTAINER2`] while no live
/// document holds them, else two derived from the reference (a container stands on one live
/// document at a time).
pub fn containers_for(w: &World, reference: &str) -> [String; 2] {
    use portledger_ledger::StateView;
    if w.state.live_documents_on(CONTAINER).is_empty()
        && w.state.live_documents_on(CONTAINER2).is_empty()
    {
        return [CONTAINER.into(), CONTAINER2.into()];
    }
    let h = Hash::of(reference.as_bytes());
    let serial = u32::from_be_bytes([0, h.as_bytes()[0], h.as_bytes()[1], h.as_bytes()[2]]);
    let make = |owner| {
        portledger_ledger::documents::container_number(owner, serial).expect("valid owner code")
    };
    [make("TST"), make("TSU")]
}

/// A transaction by `alias` on `state` with its next nonce, its lodgement sealed
/// ([`for_signer`]) and sharing document keys with every reader it makes: found by trying it,
/// since the rules name each reader without a wrap (`key_not_shared`); the keys are opened
/// with the customs auditor's key, which opens every transport document.
pub fn sign_for(
    w: &World,
    state: &State,
    ctx: &BlockContext,
    alias: &str,
    payload: Payload,
) -> Transaction {
    let k = &w.keys[alias];
    let payload = for_signer(&w.genesis, k, payload);
    let nonce = portledger_ledger::StateView::nonce(state, &k.public()) + 1;
    let mut shares = Vec::new();
    loop {
        let tx = Transaction::sign_sharing(
            k,
            &w.genesis.chain_id,
            nonce,
            payload.clone(),
            shares.clone(),
        );
        match apply(state, &tx, ctx) {
            Err(RuleError::KeyNotShared {
                reference, party, ..
            }) if shares.len() < 8 => shares.push(share(w, state, &tx, &reference, &party)),
            _ => return tx,
        }
    }
}

/// The key of `reference` (opened with the auditor's key) wrapped for `party`.
pub fn share(
    w: &World,
    state: &State,
    tx: &Transaction,
    reference: &str,
    party: &PublicKey,
) -> KeyShare {
    let to = w
        .keys
        .values()
        .find(|k| k.public() == *party)
        .expect("a known party");
    let opener = DecryptionKey::of(auditor(w));
    let inline = match &tx.body.payload {
        Payload::DraftTransportDocument(d) => Some(d.as_ref()),
        Payload::IssueTransportDocument { document, .. } => document.as_deref(),
        _ => None,
    };
    let (key, commitment) = match (state.transport_documents.get(reference), inline) {
        (Some(doc), _) => (
            doc.key_for(auditor(w)).expect("auditor opens"),
            doc.data.body.commitment,
        ),
        (None, Some(d)) => (
            opener.unwrap_any(&d.keys).expect("auditor opens"),
            d.body.commitment,
        ),
        (None, None) => panic!("no document {reference} to share"),
    };
    // One share per (document, party): the same steps signed twice give the same blocks.
    static SHARES: std::sync::Mutex<BTreeMap<(Hash, PublicKey), KeyShare>> =
        std::sync::Mutex::new(BTreeMap::new());
    let mut cache = SHARES.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((commitment, *party))
        .or_insert_with(|| KeyShare {
            reference: reference.to_string(),
            wrap: key.wrap_for(&to.encryption_key()).expect("wrap"),
        })
        .clone()
}

/// [`bl_plain`] sealed as it goes on the ledger, its key wrapped for the customs auditor
/// only: [`World::tx`] shares it with every other reader a transaction makes, as a client does.
pub fn bl_data(w: &World, reference: &str, to_order: bool) -> TransportDocumentData {
    seal_bl(w, &bl_plain(w, reference, to_order))
}

/// Seals a document in the clear for the customs auditor of genesis.
pub fn seal_bl(w: &World, plain: &PlainTransportDocument) -> TransportDocumentData {
    let readers: Vec<_> = w.genesis.customs_auditor.into_iter().collect();
    plain.seal(&readers).expect("seal").1
}

/// The customs auditor's key pair (the demo's customs participant), which opens every
/// transport document.
pub fn auditor(w: &World) -> &Keypair {
    w.keypair("customs")
}

/// A duty of `amount_minor` `currency` on declaration `number` of `state`, sealed as customs'
/// client seals it: for the declarant and the customs auditor (for the auditor alone when the
/// declaration does not exist, so that the refusal under test is the rule's).
pub fn duty_for(
    w: &World,
    state: &State,
    number: &str,
    amount_minor: u64,
    currency: &str,
) -> portledger_ledger::documents::customs::SealedDuty {
    let mut readers: Vec<_> = w.genesis.customs_auditor.into_iter().collect();
    if let Some(d) = state.declarations.get(number) {
        let m = portledger_ledger::StateView::member(state, &d.declarant).expect("registered");
        readers.push(m.encryption_key);
    }
    portledger_ledger::documents::customs::SealedDuty::seal(
        &portledger_ledger::documents::customs::DutyBody {
            amount_minor,
            currency: currency.to_string(),
        },
        &readers,
    )
    .expect("seal")
}

/// A transport document in the clear, as a carrier writes it.
pub fn bl_plain(w: &World, reference: &str, to_order: bool) -> PlainTransportDocument {
    let [c1, c2] = containers_for(w, reference);
    PlainTransportDocument {
        reference: reference.to_string(),
        kind: TransportDocumentKind::BillOfLading,
        to_order,
        shipper: w.key("seller"),
        consignee: if to_order { None } else { Some(w.key("buyer")) },
        endorsee: None,
        notify_parties: vec!["Buyer Co, Rotterdam".into()],
        vessel_name: "MAERSK ESSEN".into(),
        voyage: "123W".into(),
        port_of_loading: "CNSHA".into(),
        port_of_discharge: "NLRTM".into(),
        shipped_on_board_date: Some(w.today()),
        goods: vec![GoodsLine {
            description: "Transformers, electrical".into(),
            hs_code: "850440".into(),
            packages: 20,
            gross_weight_kg: 12_000,
        }],
        equipment: vec![
            Equipment {
                container: c1,
                seals: vec!["SEAL001".into()],
                shared: false,
            },
            Equipment {
                container: c2,
                seals: vec![],
                shared: false,
            },
        ],
        freight_term: FreightTerm::Prepaid,
        document_hash: Hash::of(reference.as_bytes()),
        replaces: None,
        dcsa: None,
    }
}

/// The confidential terms of [`credit_terms`].
pub fn credit_body() -> CreditBody {
    CreditBody {
        currency: "USD".into(),
        amount_minor: 25_000_000,
        tolerance_percent: 5,
        goods: "Transformers".into(),
    }
}

/// A credit of buyer, seller, issuing-bank and advising-bank, its body sealed for them.
pub fn credit_terms(w: &World, number: &str) -> CreditTerms {
    let readers: Vec<_> = ["buyer", "seller", "issuing-bank", "advising-bank"]
        .iter()
        .map(|a| w.keys[*a].encryption_key())
        .collect();
    let (_, body, keys) = seal_for(&credit_body(), &readers).expect("seal");
    CreditTerms {
        number: number.to_string(),
        applicant: w.key("buyer"),
        beneficiary: w.key("seller"),
        issuing_bank: w.key("issuing-bank"),
        advising_bank: Some(w.key("advising-bank")),
        confirming_bank: None,
        expiry_date: w.today().plus_days(90),
        expiry_place: "NLRTM".into(),
        latest_shipment_date: Some(w.today().plus_days(60)),
        port_of_loading: Some("CNSHA".into()),
        port_of_discharge: Some("NLRTM".into()),
        documents_required: vec![
            RequiredDocument::TransportDocument,
            RequiredDocument::CommercialInvoice,
        ],
        presentation_days: 21,
        body,
        keys,
    }
}

/// The goods lines of [`declaration`].
pub fn declaration_body() -> DeclarationBody {
    DeclarationBody {
        lines: vec![DeclarationLine {
            hs_code: "850440".into(),
            description: "Transformers".into(),
            origin_country: "CN".into(),
            value_minor: 25_000_000,
            currency: "USD".into(),
        }],
    }
}

/// A declaration whose key is not yet wrapped for anyone: [`for_signer`] seals its lines
/// for the declarant who signs it (and the customs auditor) when it is signed.
pub fn declaration(number: &str, reference: &str, direction: Direction) -> DeclarationData {
    DeclarationData {
        number: number.to_string(),
        direction,
        transport_document: reference.to_string(),
        containers: vec![],
        body: portledger_ledger::sealed::TermsKey::generate().seal(&declaration_body()),
        keys: vec![],
    }
}

/// A lodgement whose key is wrapped for nobody gets its lines sealed for `key` (the
/// declarant) and the customs auditor of `genesis`, as a client does; other payloads pass.
pub fn for_signer(genesis: &Genesis, key: &Keypair, payload: Payload) -> Payload {
    match payload {
        Payload::LodgeDeclaration(mut d) if d.keys.is_empty() => {
            let mut readers = vec![key.encryption_key()];
            readers.extend(genesis.customs_auditor);
            let (_, body, keys) = seal_for(&declaration_body(), &readers).expect("seal");
            d.body = body;
            d.keys = keys;
            Payload::LodgeDeclaration(d)
        }
        p => p,
    }
}

pub fn issue_bl(w: &mut World, reference: &str, to_order: bool) {
    let data = bl_data(w, reference, to_order);
    w.ok(
        "carrier",
        Payload::IssueTransportDocument {
            reference: reference.to_string(),
            document: Some(Box::new(data)),
            issue_to: None,
        },
    );
}

/// The export side and the voyage of every container of `reference`, as (signer, payload): the
/// seller's export declaration `export` accepted and released, then GTIN, LOAD, DEPA at the port
/// of loading, ARRI and DISC at the port of discharge. Event times are just after genesis, in
/// order, so that they precede any block.
pub fn journey(w: &World, reference: &str, export: &str) -> Vec<(&'static str, Payload)> {
    journey_of(w, &w.bl(reference).data, export)
}

/// [`journey`] for a document given by its data (not yet in the world's state).
pub fn journey_of(
    w: &World,
    doc: &TransportDocumentData,
    export: &str,
) -> Vec<(&'static str, Payload)> {
    use portledger_ledger::documents::tracking::TrackingCode as C;
    let reference = doc.reference.as_str();
    let (pol, pod) = (doc.port_of_loading.clone(), doc.port_of_discharge.clone());
    let mut steps: Vec<(&'static str, Payload)> = vec![
        (
            "seller",
            Payload::LodgeDeclaration(Box::new(declaration(export, reference, Direction::Export))),
        ),
        (
            "customs",
            Payload::AcceptDeclaration {
                number: export.into(),
            },
        ),
        (
            "customs",
            Payload::ReleaseDeclaration {
                number: export.into(),
            },
        ),
    ];
    let mut t = w.genesis.genesis_time_ms;
    for e in &doc.equipment {
        for (who, code, at) in [
            ("port", C::GateIn, &pol),
            ("port", C::Load, &pol),
            ("carrier", C::Depart, &pol),
            ("carrier", C::Arrive, &pod),
            ("port", C::Discharge, &pod),
        ] {
            t += 1;
            steps.push((
                who,
                Payload::RecordTrackingEvent {
                    reference: reference.into(),
                    container: e.container.clone(),
                    code,
                    location: at.clone(),
                    event_time_ms: t,
                },
            ));
        }
    }
    steps
}

/// Runs [`journey`] on the world.
pub fn sail(w: &mut World, reference: &str, export: &str) {
    for (who, p) in journey(w, reference, export) {
        w.ok(who, p);
    }
}

pub fn anchor(w: &mut World, alias: &str, name: &str, doc_type: DocumentType) -> Hash {
    let hash = Hash::of(name.as_bytes());
    w.ok(
        alias,
        Payload::AnchorDocument {
            hash,
            doc_type,
            references: vec![],
        },
    );
    hash
}

/// Commits one block of `txs` to a chain at `time_ms`, with a certificate from three of the
/// four validators.
pub fn commit<S: Store>(
    chain: &mut Chain<S>,
    validators: &[Keypair],
    txs: Vec<Transaction>,
    time_ms: u64,
) -> Block {
    let h = chain.tip().height + 1;
    let proposer = chain.validators().proposer(h, 0);
    let last_commit = if h > 1 {
        chain.store().certificate(h - 1).expect("store")
    } else {
        None
    };
    let n = txs.len();
    let (block, _, excluded) = chain.build_block(0, time_ms, proposer, txs, last_commit);
    assert!(
        excluded.is_empty(),
        "every transaction should be valid: {:?}",
        excluded
            .iter()
            .map(|e| e.error.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(block.transactions.len(), n);
    let cert = certify(chain, validators, &block);
    chain.commit_block(&block, &cert).expect("commit");
    block
}

pub fn certify<S: Store>(
    chain: &Chain<S>,
    validators: &[Keypair],
    block: &Block,
) -> CommitCertificate {
    let q = chain.validators().quorum();
    let votes: Vec<Vote> = validators[..q]
        .iter()
        .map(|k| {
            Vote::sign(
                k,
                &chain.genesis().chain_id,
                block.header.height,
                block.header.round,
                VoteKind::Precommit,
                Some(block.hash()),
            )
        })
        .collect();
    CommitCertificate::from_votes(
        chain.validators(),
        block.header.height,
        block.header.round,
        block.hash(),
        &votes,
    )
}
