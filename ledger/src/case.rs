//! The case of a transport document: everything the ledger knows about one shipment, in one
//! place (issue 16, `portledger case REF`, `GET /v1/bl/{ref}/case`).
//!
//! A [`Case`] gathers the transport document with its parties and current possessor; the
//! possession and endorsement chain replayed from the document's history; every credit under
//! which it was presented; every customs declaration naming it (import and export) with states,
//! holds and duty; the anchored documents referring to it; and, per container, the tracking
//! journey, the delivery order and the release. [`Case::summary`] says first what matters: each
//! container "released to X at T", or the release conditions it does not yet meet (asked of the
//! release rule itself, [`crate::rules::release_unmet`], never restated here).
//!
//! [`Case::assemble`] is pure: the state plus the records read from the store
//! ([`CaseRecords`]); [`Case::load`] reads those records from a [`Store`]. [`customs_queue`]
//! lists the declarations customs has to act on, over all cases.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Serialize, Serializer};

use crate::crypto::{Hash, PublicKey};
use crate::date::format_ms;
use crate::documents::anchor::DocumentType;
use crate::documents::credit::CreditState;
use crate::documents::customs::{CustomsDeclaration, DeclarationState, Direction};
use crate::documents::tracking::{TrackingCode, TrackingRecord};
use crate::documents::transport::{
    FreightTerm, TransportDocument, TransportDocumentKind, TransportDocumentState,
};
use crate::history::HistoryEntry;
use crate::rules::release_unmet;
use crate::state::{DocumentKey, State, StateView};
use crate::store::{Store, StoreError};
use crate::transaction::{Endorsement, Payload};

/// Why a case could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No transport document has this reference.
    #[error("no transport document with reference {0}")]
    UnknownDocument(String),
    /// Reading the history or tracking records failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A party as the case shows it: its alias when registered, else its public key. Serialized as
/// that one string (as `bl show` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The key.
    pub key: PublicKey,
    /// The registered alias, if any.
    pub alias: Option<String>,
}

impl Party {
    fn of(state: &State, key: PublicKey) -> Party {
        Party {
            key,
            alias: state.member(&key).map(|m| m.alias),
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.alias {
            Some(a) => f.write_str(a),
            None => f.write_str(&self.key.to_hex()),
        }
    }
}

impl Serialize for Party {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One transaction of a document's history with its payload (when the block holding it was
/// read): what the possession chain and the holds are replayed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    /// Who, what, where and when.
    pub entry: HistoryEntry,
    /// What the transaction said.
    pub payload: Option<Payload>,
}

/// What a case is assembled from besides the state: histories and tracking records, as the
/// store keeps them (oldest first).
#[derive(Debug, Clone, Default)]
pub struct CaseRecords {
    /// The transport document's history.
    pub document_history: Vec<CaseEvent>,
    /// Each declaration's history, by number.
    pub declaration_histories: BTreeMap<String, Vec<CaseEvent>>,
    /// Every tracking event of the document's containers.
    pub tracking: Vec<TrackingRecord>,
}

/// The transport document's fields and state, parties named.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDocument {
    /// Reference.
    pub reference: String,
    /// `BOL` or `SWB`.
    pub kind: TransportDocumentKind,
    /// To order.
    pub to_order: bool,
    /// Current state.
    pub state: TransportDocumentState,
    /// The carrier.
    pub carrier: Party,
    /// The shipper.
    pub shipper: Party,
    /// The consignee of a straight document.
    pub consignee: Option<Party>,
    /// The current endorsee of a to-order document.
    pub endorsee: Option<Party>,
    /// Endorsed in blank.
    pub blank_endorsed: bool,
    /// The one party in control.
    pub possessor: Option<Party>,
    /// Port of loading (UN/LOCODE).
    pub port_of_loading: String,
    /// Port of discharge (UN/LOCODE).
    pub port_of_discharge: String,
    /// `PRE` or `COL`.
    pub freight_term: FreightTerm,
    /// Freight paid (always for prepaid).
    pub freight_paid: bool,
    /// The party whose surrender was accepted.
    pub surrendered_by: Option<Party>,
    /// The party entitled to take delivery, once accomplished.
    pub accomplished_for: Option<Party>,
    /// The party the carrier issued the delivery order to.
    pub delivery_order_to: Option<Party>,
    /// The credit it is presented under, while presented.
    pub presented_under: Option<String>,
    /// The voided document it replaces.
    pub replaces: Option<String>,
    /// The document that replaces it, once voided and replaced.
    pub replaced_by: Option<String>,
    /// SHA-256 of the rendered document.
    pub document_hash: Hash,
    /// The confidential rest (notify parties, vessel, voyage, goods, the DCSA document),
    /// sealed: a reader's client opens it with its wrap among `keys`.
    pub body: crate::sealed::Sealed,
    /// Every wrap of the document key.
    pub keys: Vec<crate::sealed::KeyWrap>,
}

/// One step of the possession and endorsement chain: a transaction that moved (or could have
/// moved) control of the document, and who held it after.
#[derive(Debug, Clone, Serialize)]
pub struct ChainLink {
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: String,
    /// Block time (ms).
    pub time_ms: u64,
    /// The action (`bl.transfer`, `lc.honour`, ...).
    pub action: String,
    /// Who signed it.
    pub signer: Party,
    /// The possessor after it.
    pub possessor: Option<Party>,
    /// The endorsee after it (to-order documents).
    pub endorsee: Option<Party>,
    /// Endorsed in blank after it.
    pub blank_endorsed: bool,
    /// The credit, for presentation, honour and refusal.
    pub credit: Option<String>,
    /// Transaction hash.
    pub tx_hash: Hash,
}

/// A credit under which the document was presented.
#[derive(Debug, Clone, Serialize)]
pub struct CaseCredit {
    /// Credit number.
    pub number: String,
    /// Current state.
    pub state: CreditState,
    /// Applicant (buyer).
    pub applicant: Party,
    /// Beneficiary (seller).
    pub beneficiary: Party,
    /// Issuing bank.
    pub issuing_bank: Party,
    /// Advising bank.
    pub advising_bank: Option<Party>,
    /// Confirming bank.
    pub confirming_bank: Option<Party>,
    /// Whether its current presentation is of this document (a refused presentation stays on
    /// record with the credit).
    pub presented: bool,
    /// When the document was presented.
    pub presented_at: Option<String>,
    /// Anchored documents presented with it.
    pub documents: Vec<Hash>,
    /// Discrepancies found on examination.
    pub discrepancies: Vec<String>,
    /// Whether the applicant waived them.
    pub waived: bool,
    /// Payment reference, once honoured.
    pub payment_reference: Option<String>,
}

/// A hold customs placed on a declaration.
#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    /// Block height of the hold.
    pub height: u64,
    /// When it was placed.
    pub time: String,
    /// Why.
    pub reason: Option<String>,
    /// When it was cleared, if it was.
    pub cleared_at: Option<String>,
}

/// Duty assessed on a declaration.
#[derive(Debug, Clone, Serialize)]
pub struct Duty {
    /// The amount, sealed for the declarant and the customs auditor (a reader's client opens
    /// it: `DutyBody`).
    pub sealed: crate::documents::customs::SealedDuty,
    /// Payment reference, once paid.
    pub payment_reference: Option<String>,
}

/// A customs declaration naming the document.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDeclaration {
    /// Declaration number.
    pub number: String,
    /// `IMPORT` or `EXPORT`.
    pub direction: Direction,
    /// The declarant.
    pub declarant: Party,
    /// Current state.
    pub state: DeclarationState,
    /// The containers it covers.
    pub containers: Vec<String>,
    /// Reason given with the last rejection, hold or detention.
    pub reason: Option<String>,
    /// Every hold, oldest first.
    pub holds: Vec<Hold>,
    /// Duty, once assessed.
    pub duty: Option<Duty>,
    /// When it was lodged.
    pub lodged_at: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
}

/// An anchored document referring to the transport document, or presented with it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseAnchor {
    /// SHA-256 of the file.
    pub hash: Hash,
    /// Its type.
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// Who anchored it.
    pub issuer: Party,
    /// Anchored by a customs authority.
    pub by_authority: bool,
    /// Its references.
    pub references: Vec<String>,
    /// The credits under which it was presented with the document.
    pub presented_under: Vec<String>,
    /// When it was anchored.
    pub anchored_at: String,
    /// Revoked by its issuer.
    pub revoked: bool,
    /// The document that superseded it.
    pub superseded_by: Option<Hash>,
}

/// One tracking event on the journey.
#[derive(Debug, Clone, Serialize)]
pub struct JourneyEvent {
    /// The DCSA code.
    pub code: TrackingCode,
    /// Where (UN/LOCODE).
    pub location: String,
    /// When it happened.
    pub event_time: String,
    /// Who recorded it.
    pub recorded_by: Party,
    /// Block height.
    pub height: u64,
}

/// The gate-out of a container.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The party it was released to (the delivery order's).
    pub to: Option<Party>,
    /// When it gated out.
    pub time: Option<String>,
    /// Block height of the release.
    pub height: Option<u64>,
}

/// One container of the case: journey, delivery order, release or what is missing for it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseContainer {
    /// Container number (ISO 6346).
    pub container: String,
    /// Seals.
    pub seals: Vec<String>,
    /// Shared (LCL).
    pub shared: bool,
    /// Its tracking events on this document, oldest first.
    pub journey: Vec<JourneyEvent>,
    /// The party the delivery order names.
    pub delivery_order_to: Option<Party>,
    /// The release, once gated out.
    pub released: Option<Release>,
    /// The release conditions not yet met (empty once released).
    pub unmet: Vec<String>,
}

/// Everything about one transport document (see the module docs).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// The transport document.
    pub transport_document: CaseDocument,
    /// The possession and endorsement chain, oldest first.
    pub possession_chain: Vec<ChainLink>,
    /// Credits under which it was presented.
    pub credits: Vec<CaseCredit>,
    /// Customs declarations naming it, in the order lodged.
    pub declarations: Vec<CaseDeclaration>,
    /// Anchored documents referring to it or presented with it.
    pub anchored_documents: Vec<CaseAnchor>,
    /// Its containers.
    pub containers: Vec<CaseContainer>,
}

/// Actions that may move control of a transport document.
fn moves_control(action: &str) -> bool {
    action.starts_with("bl.") || matches!(action, "lc.present" | "lc.honour" | "lc.refuse")
}

/// Who holds the document as the chain is replayed.
#[derive(Clone, Copy)]
struct Control {
    possessor: Option<PublicKey>,
    endorsee: Option<PublicKey>,
    blank: bool,
}

impl Control {
    fn hand_over(&mut self, to: PublicKey, to_order: bool) {
        self.possessor = Some(to);
        if to_order {
            self.endorsee = Some(to);
            self.blank = false;
        }
    }
}

fn possession_chain(
    state: &State,
    doc: &TransportDocument,
    events: &[CaseEvent],
) -> Vec<ChainLink> {
    let to_order = doc.data.to_order;
    let mut c = Control {
        possessor: None,
        endorsee: None,
        blank: false,
    };
    // (requester, control before) of the surrender being decided.
    let mut pending: Option<(PublicKey, Control)> = None;
    let credit_party =
        |number: &str, pick: fn(&crate::documents::credit::CreditTerms) -> PublicKey| {
            state.credits.get(number).map(|lc| pick(&lc.terms))
        };
    let mut out = Vec::new();
    // Control before the last hand-over, restored by a hand-back.
    let mut before_handover: Option<Control> = None;
    for e in events.iter().filter(|e| moves_control(&e.entry.action)) {
        let signer = e.entry.signer;
        let mut credit = None;
        if matches!(
            &e.payload,
            Some(
                Payload::IssueTransportDocument { .. }
                    | Payload::Transfer { .. }
                    | Payload::Honour { .. }
            )
        ) {
            before_handover = Some(if e.entry.action == "bl.issue" {
                Control {
                    possessor: Some(doc.carrier),
                    endorsee: to_order.then_some(doc.carrier),
                    blank: false,
                }
            } else {
                c
            });
        }
        match &e.payload {
            Some(Payload::HandBack { .. }) => {
                if let Some(before) = before_handover.take() {
                    c = before;
                }
            }
            Some(Payload::IssueTransportDocument {
                document, issue_to, ..
            }) => {
                let data = document.as_deref().unwrap_or(&doc.data);
                let first = issue_to.unwrap_or(data.shipper);
                c.possessor = match data.kind {
                    TransportDocumentKind::SeaWaybill => data.consignee.or(Some(first)),
                    TransportDocumentKind::BillOfLading => Some(first),
                };
                if data.to_order {
                    c.endorsee = Some(data.endorsee.unwrap_or(first));
                }
            }
            Some(Payload::Transfer { to, .. }) => c.possessor = Some(*to),
            Some(Payload::Endorse { to, .. }) => match to {
                Endorsement::To(p) => {
                    c.endorsee = Some(*p);
                    c.blank = false;
                }
                Endorsement::Blank => {
                    c.endorsee = None;
                    c.blank = true;
                }
            },
            Some(Payload::SurrenderForDelivery { .. } | Payload::SurrenderForAmendment { .. }) => {
                pending = Some((signer, c));
                c.possessor = Some(doc.carrier);
            }
            Some(Payload::AcceptSurrender { .. }) => pending = None,
            Some(Payload::RejectSurrender { .. }) => {
                if let Some((requester, before)) = pending.take() {
                    c = before;
                    c.possessor = Some(requester);
                }
            }
            Some(Payload::PresentDocuments { number, .. }) => {
                if let Some(bank) = credit_party(number, |t| t.issuing_bank) {
                    c.hand_over(bank, to_order);
                }
                credit = Some(number.clone());
            }
            Some(Payload::Honour { number, .. }) => {
                if let Some(applicant) = credit_party(number, |t| t.applicant) {
                    c.hand_over(applicant, to_order);
                }
                credit = Some(number.clone());
            }
            Some(Payload::RefusePresentation { number }) => {
                if let Some(beneficiary) = credit_party(number, |t| t.beneficiary) {
                    c.hand_over(beneficiary, to_order);
                }
                credit = Some(number.clone());
            }
            _ => {}
        }
        out.push(ChainLink {
            height: e.entry.height,
            time: format_ms(e.entry.time_ms),
            time_ms: e.entry.time_ms,
            action: e.entry.action.clone(),
            signer: Party::of(state, signer),
            possessor: c.possessor.map(|k| Party::of(state, k)),
            endorsee: c.endorsee.map(|k| Party::of(state, k)),
            blank_endorsed: c.blank,
            credit,
            tx_hash: e.entry.tx_hash,
        });
    }
    out
}

fn holds(events: &[CaseEvent]) -> Vec<Hold> {
    let mut out: Vec<Hold> = Vec::new();
    for e in events {
        match (&e.payload, e.entry.action.as_str()) {
            (Some(Payload::HoldDeclaration { reason, .. }), _) => out.push(Hold {
                height: e.entry.height,
                time: format_ms(e.entry.time_ms),
                reason: Some(reason.clone()).filter(|r| !r.is_empty()),
                cleared_at: None,
            }),
            (None, "customs.hold") => out.push(Hold {
                height: e.entry.height,
                time: format_ms(e.entry.time_ms),
                reason: None,
                cleared_at: None,
            }),
            (_, "customs.clear_hold") => {
                if let Some(h) = out.last_mut().filter(|h| h.cleared_at.is_none()) {
                    h.cleared_at = Some(format_ms(e.entry.time_ms));
                }
            }
            _ => {}
        }
    }
    out
}

fn declaration(state: &State, d: &CustomsDeclaration, history: &[CaseEvent]) -> CaseDeclaration {
    CaseDeclaration {
        number: d.data.number.clone(),
        direction: d.data.direction,
        declarant: Party::of(state, d.declarant),
        state: d.state,
        containers: d.containers.clone(),
        reason: d.reason.clone(),
        holds: holds(history),
        duty: d.duty.as_ref().map(|sealed| Duty {
            sealed: sealed.clone(),
            payment_reference: d.duty_payment_reference.clone(),
        }),
        lodged_at: history.first().map(|e| format_ms(e.entry.time_ms)),
        updated_at: history.last().map(|e| format_ms(e.entry.time_ms)),
    }
}

impl Case {
    /// Assembles the case of transport document `reference` from the state and the records
    /// read for it. Pure.
    pub fn assemble(
        state: &State,
        reference: &str,
        records: &CaseRecords,
    ) -> Result<Case, CaseError> {
        let doc = state
            .transport_documents
            .get(reference)
            .ok_or_else(|| CaseError::UnknownDocument(reference.to_string()))?;
        let party = |k: PublicKey| Party::of(state, k);
        let opt = |k: Option<PublicKey>| k.map(party);
        let transport_document = CaseDocument {
            reference: doc.data.reference.clone(),
            kind: doc.data.kind,
            to_order: doc.data.to_order,
            state: doc.state,
            carrier: party(doc.carrier),
            shipper: party(doc.data.shipper),
            consignee: opt(doc.data.consignee),
            endorsee: opt(doc.endorsee),
            blank_endorsed: doc.blank_endorsed,
            possessor: opt(doc.possessor),
            port_of_loading: doc.data.port_of_loading.clone(),
            port_of_discharge: doc.data.port_of_discharge.clone(),
            freight_term: doc.data.freight_term,
            freight_paid: doc.freight_paid,
            surrendered_by: opt(doc.surrendered_by),
            accomplished_for: opt(doc.accomplished_for()),
            delivery_order_to: opt(doc.delivery_order_to),
            presented_under: doc.presented_under.clone(),
            replaces: doc.data.replaces.clone(),
            replaced_by: doc.replaced_by.clone(),
            document_hash: doc.data.document_hash,
            body: doc.data.body.clone(),
            keys: doc.wraps().cloned().collect(),
        };
        let possession_chain = possession_chain(state, doc, &records.document_history);

        // Credits: those whose presentation is of this document, and any named by a
        // presentation in its history (a refused one may since have been replaced).
        let mut numbers: BTreeSet<String> = state
            .credits
            .iter()
            .filter(|(_, lc)| {
                lc.presentation
                    .as_ref()
                    .is_some_and(|p| p.transport_document == reference)
            })
            .map(|(n, _)| n.clone())
            .collect();
        numbers.extend(possession_chain.iter().filter_map(|l| l.credit.clone()));
        let credits: Vec<CaseCredit> = numbers
            .iter()
            .filter_map(|n| state.credits.get(n))
            .map(|lc| {
                let p = lc
                    .presentation
                    .as_ref()
                    .filter(|p| p.transport_document == reference);
                CaseCredit {
                    number: lc.terms.number.clone(),
                    state: lc.state,
                    applicant: party(lc.terms.applicant),
                    beneficiary: party(lc.terms.beneficiary),
                    issuing_bank: party(lc.terms.issuing_bank),
                    advising_bank: opt(lc.terms.advising_bank),
                    confirming_bank: opt(lc.terms.confirming_bank),
                    presented: p.is_some(),
                    presented_at: p.map(|p| format_ms(p.presented_at_ms)),
                    documents: p.map(|p| p.documents.clone()).unwrap_or_default(),
                    discrepancies: p.map(|p| p.discrepancies.clone()).unwrap_or_default(),
                    waived: p.is_some_and(|p| p.waived),
                    payment_reference: lc.payment_reference.clone(),
                }
            })
            .collect();

        let declarations: Vec<CaseDeclaration> = state
            .declarations_for(reference)
            .iter()
            .map(|d| {
                let h = records
                    .declaration_histories
                    .get(&d.data.number)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                declaration(state, d, h)
            })
            .collect();

        // Anchored documents: referring to the document, or presented with it.
        let mut presented: BTreeMap<Hash, Vec<String>> = BTreeMap::new();
        for c in &credits {
            for h in &c.documents {
                presented.entry(*h).or_default().push(c.number.clone());
            }
        }
        let anchored_documents: Vec<CaseAnchor> = state
            .anchors
            .values()
            .filter(|a| {
                a.references.iter().any(|r| r == reference) || presented.contains_key(&a.hash)
            })
            .map(|a| CaseAnchor {
                hash: a.hash,
                doc_type: a.doc_type,
                issuer: party(a.issuer),
                by_authority: a.by_authority(),
                references: a.references.clone(),
                presented_under: presented.get(&a.hash).cloned().unwrap_or_default(),
                anchored_at: format_ms(a.anchored_time_ms),
                revoked: a.revoked,
                superseded_by: a.superseded_by,
            })
            .collect();

        let containers = doc
            .data
            .equipment
            .iter()
            .map(|e| {
                let own: Vec<&TrackingRecord> = records
                    .tracking
                    .iter()
                    .filter(|r| r.event.container == e.container && r.event.reference == reference)
                    .collect();
                let journey = own
                    .iter()
                    .map(|r| JourneyEvent {
                        code: r.event.code,
                        location: r.event.location.clone(),
                        event_time: format_ms(r.event.event_time_ms),
                        recorded_by: party(r.signer),
                        height: r.height,
                    })
                    .collect();
                let released = doc.released_containers.contains(&e.container).then(|| {
                    let gate_out = own
                        .iter()
                        .rev()
                        .find(|r| r.event.code == TrackingCode::GateOut);
                    Release {
                        to: opt(doc.delivery_order_to),
                        time: gate_out.map(|r| format_ms(r.time_ms)),
                        height: gate_out.map(|r| r.height),
                    }
                });
                let unmet = if released.is_some() {
                    Vec::new()
                } else {
                    container_unmet(state, doc, &e.container)
                };
                CaseContainer {
                    container: e.container.clone(),
                    seals: e.seals.clone(),
                    shared: e.shared,
                    journey,
                    delivery_order_to: opt(doc.delivery_order_to),
                    released,
                    unmet,
                }
            })
            .collect();

        Ok(Case {
            transport_document,
            possession_chain,
            credits,
            declarations,
            anchored_documents,
            containers,
        })
    }

    /// Reads what [`Case::assemble`] needs from `store` (histories with their transactions,
    /// tracking records) and assembles the case. `state` must be the state after the store's
    /// last block ([`Case::load_at`] when the store may be ahead of it).
    pub fn load<S: Store + ?Sized>(
        store: &S,
        state: &State,
        reference: &str,
    ) -> Result<Case, CaseError> {
        Case::load_at(store, state, reference, u64::MAX)
    }

    /// [`Case::load`] for a `state` as of block `height`: records of later blocks, which the
    /// store may already hold while the state has not moved yet, are left out.
    pub fn load_at<S: Store + ?Sized>(
        store: &S,
        state: &State,
        reference: &str,
        height: u64,
    ) -> Result<Case, CaseError> {
        if !state.transport_documents.contains_key(reference) {
            return Err(CaseError::UnknownDocument(reference.to_string()));
        }
        let mut blocks: BTreeMap<u64, Option<crate::block::Block>> = BTreeMap::new();
        let mut with_payloads = |entries: Vec<HistoryEntry>| -> Result<Vec<CaseEvent>, StoreError> {
            entries
                .into_iter()
                .filter(|e| e.height <= height)
                .map(|entry| {
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        blocks.entry(entry.height)
                    {
                        slot.insert(store.block(entry.height)?);
                    }
                    let payload = blocks
                        .get(&entry.height)
                        .and_then(Option::as_ref)
                        .and_then(|b| b.transactions.get(entry.index as usize))
                        .filter(|tx| tx.hash() == entry.tx_hash)
                        .map(|tx| tx.body.payload.clone());
                    Ok(CaseEvent { entry, payload })
                })
                .collect()
        };
        let document_history =
            with_payloads(store.history(&DocumentKey::TransportDocument(reference.into()))?)?;
        let mut declaration_histories = BTreeMap::new();
        for d in state.declarations_for(reference) {
            let n = d.data.number;
            let h = with_payloads(store.history(&DocumentKey::Declaration(n.clone()))?)?;
            declaration_histories.insert(n, h);
        }
        let records = CaseRecords {
            document_history,
            declaration_histories,
            tracking: store
                .document_tracking(reference)?
                .into_iter()
                .filter(|r| r.height <= height)
                .collect(),
        };
        Case::assemble(state, reference, &records)
    }

    /// The human summary, first thing shown: the document's standing, then for each container
    /// "released to X at T", or that it is not released and every release condition it does
    /// not meet.
    pub fn summary(&self) -> Vec<String> {
        let d = &self.transport_document;
        let kind = match d.kind {
            TransportDocumentKind::BillOfLading => "eBL",
            TransportDocumentKind::SeaWaybill => "sea waybill",
        };
        let mut head = format!("{kind} {} is {}", d.reference, d.state);
        if let Some(p) = &d.possessor {
            head.push_str(&format!(", held by {p}"));
        }
        if let Some(r) = &d.replaced_by {
            head.push_str(&format!("; replaced by {r}"));
        }
        let mut out = vec![head];
        for c in &self.containers {
            match &c.released {
                Some(r) => {
                    let to = r.to.as_ref().map_or("-".to_string(), Party::to_string);
                    let at = r.time.as_deref().unwrap_or("an unknown time");
                    out.push(format!(
                        "container {} released to {to} at {at}",
                        c.container
                    ));
                }
                None if c.unmet.is_empty() => out.push(format!(
                    "container {} not released yet: every release condition is met",
                    c.container
                )),
                None => {
                    out.push(format!(
                        "container {} not released: {} condition{} unmet",
                        c.container,
                        c.unmet.len(),
                        if c.unmet.len() == 1 { "" } else { "s" }
                    ));
                    out.extend(c.unmet.iter().map(|u| format!("  - {u}")));
                }
            }
        }
        out
    }

    /// The case as `reader` may see it ([`crate::access`]): the credits, declarations and
    /// anchored documents it may not read are left out, and a release condition that names a
    /// declaration it may not read says only that a customs condition is unmet. The caller has
    /// already checked that `reader` may read the transport document itself.
    pub fn visible_to(mut self, state: &State, reader: &crate::access::Reader) -> Case {
        use crate::access::may_read;
        // The declarations the conditions may name: this document's, and those of the other
        // live documents on its shared containers.
        let mut references = BTreeSet::from([self.transport_document.reference.clone()]);
        for c in &self.containers {
            references.extend(state.live_documents_on(&c.container));
        }
        let hidden: Vec<String> = references
            .iter()
            .flat_map(|r| state.declarations_for(r))
            .map(|d| d.data.number)
            .filter(|n| !may_read(state, reader, &DocumentKey::Declaration(n.clone())))
            .collect();
        self.credits
            .retain(|c| may_read(state, reader, &DocumentKey::Credit(c.number.clone())));
        self.declarations.retain(|d| !hidden.contains(&d.number));
        self.anchored_documents
            .retain(|a| may_read(state, reader, &DocumentKey::Anchor(a.hash)));
        for c in &mut self.containers {
            for u in &mut c.unmet {
                if hidden.iter().any(|n| u.contains(n.as_str())) {
                    *u = "a customs declaration you may not read does not yet allow release"
                        .to_string();
                }
            }
            let mut seen = BTreeSet::new();
            c.unmet.retain(|u| seen.insert(u.clone()));
        }
        self
    }

    /// Whether every container has been released.
    pub fn fully_released(&self) -> bool {
        self.containers.iter().all(|c| c.released.is_some())
    }

    /// Every document of the case: the transport document, the credits, the declarations and
    /// the anchored documents, each once, in that order. Stable: a proof bundle over the case
    /// proves exactly these.
    pub fn documents(&self) -> Vec<DocumentKey> {
        let mut out = vec![DocumentKey::TransportDocument(
            self.transport_document.reference.clone(),
        )];
        out.extend(
            self.credits
                .iter()
                .map(|c| DocumentKey::Credit(c.number.clone())),
        );
        out.extend(
            self.declarations
                .iter()
                .map(|d| DocumentKey::Declaration(d.number.clone())),
        );
        out.extend(
            self.anchored_documents
                .iter()
                .map(|a| DocumentKey::Anchor(a.hash)),
        );
        out
    }
}

/// The release conditions `container` does not meet: the document's own, and, for a shared
/// container, those of every other live document on it (the release rule needs them all).
fn container_unmet(state: &State, doc: &TransportDocument, container: &str) -> Vec<String> {
    let mut unmet = release_unmet(state, doc, container);
    for other in state.live_documents_on(container) {
        if other != doc.data.reference {
            if let Some(o) = state.transport_documents.get(&other) {
                unmet.extend(release_unmet(state, o, container));
            }
        }
    }
    let mut seen = BTreeSet::new();
    unmet.retain(|u| seen.insert(u.clone()));
    unmet
}

/// A declaration waiting for customs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedDeclaration {
    /// Declaration number.
    pub number: String,
    /// `IMPORT` or `EXPORT`.
    pub direction: Direction,
    /// The transport document it names.
    pub transport_document: String,
    /// The declarant.
    pub declarant: PublicKey,
    /// Current state.
    pub state: DeclarationState,
    /// What customs is to do.
    pub awaiting: &'static str,
    /// The height of its last transaction: it has waited in this state since then.
    pub waiting_since_height: u64,
}

/// What customs is to do with a declaration in `state`, if anything (domain.md, "Customs
/// declaration"). DUTY_ASSESSED waits for the declarant to pay, not for customs.
pub fn customs_action(state: DeclarationState) -> Option<&'static str> {
    match state {
        DeclarationState::Lodged => Some("accept or reject"),
        DeclarationState::Accepted => Some("assess duty, hold, release or detain"),
        DeclarationState::Held => Some("clear the hold or detain"),
        DeclarationState::DutyPaid => Some("release (duty paid)"),
        DeclarationState::DutyAssessed
        | DeclarationState::Rejected
        | DeclarationState::Released
        | DeclarationState::Detained
        | DeclarationState::ExitConfirmed => None,
    }
}

/// Every declaration customs has to act on ([`customs_action`]), the longest waiting first
/// (by the height of its last transaction, then by number).
pub fn customs_queue(state: &State) -> Vec<QueuedDeclaration> {
    let mut out: Vec<QueuedDeclaration> = state
        .declarations
        .values()
        .filter_map(|d| {
            let awaiting = customs_action(d.state)?;
            Some(QueuedDeclaration {
                number: d.data.number.clone(),
                direction: d.data.direction,
                transport_document: d.data.transport_document.clone(),
                declarant: d.declarant,
                state: d.state,
                awaiting,
                waiting_since_height: state
                    .heads
                    .get(&DocumentKey::Declaration(d.data.number.clone()))
                    .map_or(0, |h| h.height),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.waiting_since_height, &a.number).cmp(&(b.waiting_since_height, &b.number))
    });
    out
}
