//! Transport document transitions (domain.md, "Transport document"), with the MLETR guarantees:
//! one record per reference, exactly one possessor, only the possessor moves it, terminal states
//! admit nothing.

use crate::crypto::PublicKey;
use crate::documents::party::{PartyCode, PartyId};
use crate::documents::transport::{
    FreightTerm, Handover, PendingSurrender, TransportDocument, TransportDocumentData,
    TransportDocumentKind, TransportDocumentState as S, HAND_BACK_WINDOW_MS,
};
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::{wrong_state, Tx};
use crate::state::{PartyIds, StateView};
use crate::transaction::{Endorsement, Payload};

const KIND: &str = "transport document";

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    match p {
        Payload::DraftTransportDocument(data) => draft(t, data),
        Payload::ApproveDraft { reference } => approve(t, reference),
        Payload::IssueTransportDocument {
            reference,
            document,
            issue_to,
        } => issue(t, reference, document.as_deref(), *issue_to),
        Payload::Transfer { reference, to } => transfer(t, reference, *to),
        Payload::Endorse { reference, to } => endorse(t, reference, *to),
        Payload::SurrenderForDelivery { reference } => surrender(t, reference, None),
        Payload::SurrenderForAmendment { reference, reason } => {
            surrender(t, reference, Some(*reason))
        }
        Payload::AcceptSurrender { reference } => accept_surrender(t, reference),
        Payload::RejectSurrender { reference, reason } => reject_surrender(t, reference, reason),
        Payload::HandBack { reference, reason } => hand_back(t, reference, reason),
        Payload::VoidTransportDocument { reference } => void(t, reference),
        _ => unreachable!("dispatched only transport document payloads"),
    }
}

/// Checks the parties a document names are registered, and the replaced document if any.
fn check_parties<V: StateView>(
    t: &Tx<'_, V>,
    data: &TransportDocumentData,
) -> Result<(), RuleError> {
    t.registered(&data.shipper)?;
    if let Some(c) = &data.consignee {
        t.registered(c)?;
    }
    if let Some(e) = &data.endorsee {
        t.registered(e)?;
    }
    if let Some(old) = &data.replaces {
        replaced_document(t, old, &data.reference)?;
    }
    if let Some(code) = &data.carrier_code {
        check_carrier_code(t, code)?;
    }
    Ok(())
}

/// A DCSA document's `carrierCode` (with its `carrierCodeListProvider`) must be claimed in the
/// party directory for a participant of the signing carrier's organisation: a carrier cannot
/// issue under another carrier's code, nor under a code nobody has claimed.
fn check_carrier_code<V: StateView>(t: &Tx<'_, V>, code: &PartyCode) -> Result<(), RuleError> {
    let id = PartyId::Code(code.clone());
    let Some(holder) = t.view.record::<PartyIds, _>(&id) else {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!(
                "the carrier whose carrierCode is {code} (no participant has claimed that code)"
            ),
        });
    };
    let same_organisation = t
        .view
        .member(&holder)
        .is_some_and(|m| m.organisation == t.member.organisation);
    if !same_organisation {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!(
                "the carrier whose carrierCode is {code} ({})",
                t.describe(&holder)
            ),
        });
    }
    Ok(())
}

/// The voided document a new one replaces: VOIDED, by the same carrier, not yet replaced by
/// another (a voided document has at most one replacement).
fn replaced_document<V: StateView>(
    t: &Tx<'_, V>,
    old: &str,
    new: &str,
) -> Result<TransportDocument, RuleError> {
    let replaced = t.transport_document(old)?;
    if replaced.state != S::Voided {
        return Err(RuleError::NotReplaceable(format!(
            "a replacement may only name a VOIDED document; {old} is {}",
            replaced.state
        )));
    }
    if replaced.carrier != t.signer {
        return Err(RuleError::NotReplaceable(format!(
            "{old} was issued by {}; only that carrier may replace it",
            t.describe(&replaced.carrier)
        )));
    }
    match &replaced.replaced_by {
        Some(r) if r != new => Err(RuleError::ReplacementExists {
            replaced: old.to_string(),
            replacement: r.clone(),
        }),
        _ => Ok(replaced),
    }
}

/// Singularity across documents: each container of a document being issued may stand on no
/// other live document, unless this document and every other live one holding it declare it
/// shared (LCL).
fn check_containers_free<V: StateView>(
    t: &Tx<'_, V>,
    data: &TransportDocumentData,
) -> Result<(), RuleError> {
    for e in &data.equipment {
        for other in t.view.live_documents_on(&e.container) {
            if other == data.reference {
                continue;
            }
            let shared_there = t
                .view
                .transport_document(&other)
                .and_then(|d| d.data.equipment_of(&e.container).map(|x| x.shared))
                .unwrap_or(false);
            if !(e.shared && shared_there) {
                return Err(RuleError::ContainerOnLiveDocument {
                    container: e.container.clone(),
                    reference: other,
                });
            }
        }
    }
    Ok(())
}

fn new_record(data: TransportDocumentData, carrier: PublicKey, state: S) -> TransportDocument {
    let freight_paid = data.freight_term == FreightTerm::Prepaid;
    TransportDocument {
        data,
        state,
        carrier,
        possessor: None,
        endorsee: None,
        blank_endorsed: false,
        pending_surrender: None,
        surrendered_by: None,
        replaced_by: None,
        freight_paid,
        delivery_order_to: None,
        released_containers: Vec::new(),
        presented_under: None,
        holders: Vec::new(),
        shared: Vec::new(),
        handover: None,
    }
}

fn draft<V: StateView>(t: &mut Tx<'_, V>, data: &TransportDocumentData) -> Result<(), RuleError> {
    t.require_role(Role::Carrier)?;
    data.validate()?;
    if t.view.transport_document(&data.reference).is_some() {
        return Err(RuleError::AlreadyExists {
            kind: KIND,
            reference: data.reference.clone(),
        });
    }
    check_parties(t, data)?;
    t.involve([data.shipper]);
    t.put_transport_document(new_record(data.clone(), t.signer, S::Draft));
    Ok(())
}

fn approve<V: StateView>(t: &mut Tx<'_, V>, reference: &str) -> Result<(), RuleError> {
    let mut doc = t.transport_document(reference)?;
    t.require_party(&doc.data.shipper, "the shipper")?;
    if doc.state != S::Draft {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            "DRAFT",
        ));
    }
    doc.state = S::Approved;
    t.put_transport_document(doc);
    Ok(())
}

fn issue<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    document: Option<&TransportDocumentData>,
    issue_to: Option<PublicKey>,
) -> Result<(), RuleError> {
    t.require_role(Role::Carrier)?;
    let mut doc = match (t.view.transport_document(reference), document) {
        (Some(existing), None) => {
            if !matches!(existing.state, S::Draft | S::Approved) {
                return Err(RuleError::AlreadyExists {
                    kind: KIND,
                    reference: reference.to_string(),
                });
            }
            t.require_party(&existing.carrier, "the carrier that drafted it")?;
            existing
        }
        (Some(_), Some(_)) => {
            return Err(RuleError::AlreadyExists {
                kind: KIND,
                reference: reference.to_string(),
            })
        }
        (None, Some(data)) => {
            if data.reference != reference {
                return Err(RuleError::InvalidField {
                    field: "reference",
                    reason: format!(
                        "the document's reference {} differs from the one issued, {reference}",
                        data.reference
                    ),
                });
            }
            data.validate()?;
            check_parties(t, data)?;
            new_record(data.clone(), t.signer, S::Draft)
        }
        (None, None) => {
            return Err(RuleError::NotFound {
                kind: "draft transport document",
                reference: reference.to_string(),
            })
        }
    };
    let first = issue_to.unwrap_or(doc.data.shipper);
    t.registered(&first)?;
    check_containers_free(t, &doc.data)?;
    if let Some(old) = doc.data.replaces.clone() {
        let mut replaced = replaced_document(t, &old, reference)?;
        // The replacement goes to the party that surrendered the voided one for amendment.
        let holder = if doc.data.kind == TransportDocumentKind::SeaWaybill {
            doc.data.consignee.unwrap_or(first)
        } else {
            first
        };
        if replaced.surrendered_by.is_some_and(|p| p != holder) {
            return Err(RuleError::NotReplaceable(format!(
                "the replacement of {old} must be issued to {}, who surrendered it for amendment, not {}",
                replaced.surrendered_by.map(|p| t.describe(&p)).unwrap_or_default(),
                t.describe(&holder)
            )));
        }
        replaced.replaced_by = Some(reference.to_string());
        t.put_transport_document(replaced);
    }
    if doc.data.kind == TransportDocumentKind::SeaWaybill {
        // A sea waybill is issued straight; control sits with the consignee.
        doc.possessor = doc.data.consignee.or(Some(first));
    } else {
        doc.possessor = Some(first);
        // The first holder may hand it back to the carrier if its copy does not open.
        doc.handover = Some(Handover {
            from: doc.carrier,
            endorsee_before: doc.data.to_order.then_some(doc.carrier),
            blank_before: false,
            at_ms: t.ctx.time_ms,
        });
    }
    if doc.data.to_order {
        doc.endorsee = Some(doc.data.endorsee.unwrap_or(first));
    }
    doc.state = S::Issued;
    let mut parties = vec![doc.data.shipper, first];
    parties.extend(doc.data.consignee);
    parties.extend(doc.endorsee);
    t.involve(parties);
    t.put_transport_document(doc);
    Ok(())
}

/// The document must be ISSUED, transferable, and the signer its possessor.
fn possessed_issued<V: StateView>(
    t: &Tx<'_, V>,
    reference: &str,
) -> Result<TransportDocument, RuleError> {
    let doc = t.transport_document(reference)?;
    if doc.state != S::Issued {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            "ISSUED",
        ));
    }
    let Some(possessor) = doc.possessor else {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            "ISSUED with a possessor",
        ));
    };
    if possessor != t.signer {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!(
                "the current possessor of {reference} ({})",
                t.describe(&possessor)
            ),
        });
    }
    // Acting on the document accepts it: it can no longer be handed back.
    let mut doc = doc;
    doc.handover = None;
    Ok(doc)
}

fn not_waybill(action: &'static str, doc: &TransportDocument) -> Result<(), RuleError> {
    if doc.data.kind == TransportDocumentKind::SeaWaybill {
        return Err(RuleError::NotTransferable(format!(
            "{action}: {} is a sea waybill, which is never transferred, endorsed or surrendered",
            doc.data.reference
        )));
    }
    Ok(())
}

fn transfer<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    to: PublicKey,
) -> Result<(), RuleError> {
    let mut doc = possessed_issued(t, reference)?;
    not_waybill(t.action, &doc)?;
    t.registered(&to)?;
    if to == t.signer {
        return Err(RuleError::AlreadyPossessor(format!(
            "transfer: the signer already possesses {reference}"
        )));
    }
    hand_over(&mut doc, to, t.ctx.time_ms, false);
    t.involve([to]);
    t.put_transport_document(doc);
    Ok(())
}

fn endorse<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    to: Endorsement,
) -> Result<(), RuleError> {
    let mut doc = possessed_issued(t, reference)?;
    not_waybill(t.action, &doc)?;
    if !doc.data.to_order {
        return Err(RuleError::NotToOrder(format!(
            "endorse: {reference} is a straight bill of lading; only to-order documents are endorsed"
        )));
    }
    if !(doc.blank_endorsed || doc.endorsee == Some(t.signer)) {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!(
                "the possessor who is also the endorsee of {reference} ({})",
                doc.endorsee
                    .map(|e| t.describe(&e))
                    .unwrap_or_else(|| "none".into())
            ),
        });
    }
    match to {
        Endorsement::To(party) => {
            t.registered(&party)?;
            doc.endorsee = Some(party);
            doc.blank_endorsed = false;
            t.involve([party]);
        }
        Endorsement::Blank => {
            doc.endorsee = None;
            doc.blank_endorsed = true;
        }
    }
    t.put_transport_document(doc);
    Ok(())
}

fn surrender<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    amendment: Option<crate::documents::transport::AmendmentReason>,
) -> Result<(), RuleError> {
    let mut doc = possessed_issued(t, reference)?;
    not_waybill(t.action, &doc)?;
    if amendment.is_none() {
        let entitled = if doc.data.to_order {
            doc.blank_endorsed || doc.endorsee == Some(t.signer)
        } else {
            Some(t.signer) == doc.data.consignee || t.signer == doc.data.shipper
        };
        if !entitled {
            let who = if doc.data.to_order {
                "the possessor who is also the endorsee (or any possessor once endorsed in blank)"
            } else {
                "the consignee or the shipper, in possession"
            };
            return Err(RuleError::NotParty {
                action: t.action,
                who: who.to_string(),
            });
        }
    }
    doc.pending_surrender = Some(PendingSurrender {
        requester: t.signer,
        endorsee_before: doc.endorsee,
        blank_before: doc.blank_endorsed,
        amendment,
    });
    doc.state = if amendment.is_some() {
        S::PendingSurrenderForAmendment
    } else {
        S::PendingSurrenderForDelivery
    };
    doc.possessor = Some(doc.carrier);
    t.put_transport_document(doc);
    Ok(())
}

fn pending_for_carrier<V: StateView>(
    t: &Tx<'_, V>,
    reference: &str,
    allowed: &'static str,
    states: &[S],
) -> Result<TransportDocument, RuleError> {
    let doc = t.transport_document(reference)?;
    t.require_party(&doc.carrier, "the carrier of the document")?;
    if !states.contains(&doc.state) {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            allowed,
        ));
    }
    Ok(doc)
}

fn accept_surrender<V: StateView>(t: &mut Tx<'_, V>, reference: &str) -> Result<(), RuleError> {
    let mut doc = pending_for_carrier(
        t,
        reference,
        "PENDING_SURRENDER_FOR_DELIVERY or PENDING_SURRENDER_FOR_AMENDMENT",
        &[
            S::PendingSurrenderForDelivery,
            S::PendingSurrenderForAmendment,
        ],
    )?;
    let requester = doc.pending_surrender.take().map(|p| p.requester);
    doc.surrendered_by = requester;
    doc.state = if doc.state == S::PendingSurrenderForDelivery {
        S::SurrenderedForDelivery
    } else {
        S::Voided
    };
    t.put_transport_document(doc);
    Ok(())
}

fn reject_surrender<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    reason: &str,
) -> Result<(), RuleError> {
    crate::documents::customs::check_reason(reason)?;
    let mut doc = pending_for_carrier(
        t,
        reference,
        "PENDING_SURRENDER_FOR_DELIVERY or PENDING_SURRENDER_FOR_AMENDMENT",
        &[
            S::PendingSurrenderForDelivery,
            S::PendingSurrenderForAmendment,
        ],
    )?;
    let Some(pending) = doc.pending_surrender.take() else {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            "a pending surrender",
        ));
    };
    doc.possessor = Some(pending.requester);
    doc.endorsee = pending.endorsee_before;
    doc.blank_endorsed = pending.blank_before;
    doc.state = S::Issued;
    t.involve([pending.requester]);
    t.put_transport_document(doc);
    Ok(())
}

fn void<V: StateView>(t: &mut Tx<'_, V>, reference: &str) -> Result<(), RuleError> {
    let mut doc = pending_for_carrier(
        t,
        reference,
        "PENDING_SURRENDER_FOR_AMENDMENT",
        &[S::PendingSurrenderForAmendment],
    )?;
    doc.surrendered_by = doc.pending_surrender.take().map(|p| p.requester);
    doc.state = S::Voided;
    t.put_transport_document(doc);
    Ok(())
}

/// Moves an ISSUED eBL to `to` at block time `now_ms`: possession, and with `endorse` (credit
/// transactions: presentation, honour, refusal) the endorsement of a to-order document. A
/// party that never held it before may hand it back within the window.
pub(crate) fn hand_over(doc: &mut TransportDocument, to: PublicKey, now_ms: u64, endorse: bool) {
    let first_time = !doc.holders.contains(&to);
    doc.handover = match (first_time, doc.possessor) {
        (true, Some(from)) => Some(Handover {
            from,
            endorsee_before: doc.endorsee,
            blank_before: doc.blank_endorsed,
            at_ms: now_ms,
        }),
        _ => None,
    };
    doc.possessor = Some(to);
    if endorse && doc.data.to_order {
        doc.endorsee = Some(to);
        doc.blank_endorsed = false;
    }
}

/// The party just handed the eBL returns it to the party it came from, within the window and
/// before acting on it; nothing else changes (a presentation is answered by refusal instead).
fn hand_back<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    reason: &str,
) -> Result<(), RuleError> {
    crate::documents::customs::check_reason(reason)?;
    let mut doc = t.transport_document(reference)?;
    if doc.state != S::Issued || doc.presented_under.is_some() {
        return Err(wrong_state(
            t.action,
            KIND,
            reference,
            doc.state.as_str(),
            "ISSUED and not under presentation",
        ));
    }
    let possessor = doc.possessor.unwrap_or(doc.carrier);
    t.require_party(&possessor, "the current possessor")?;
    let Some(h) = doc.handover.take() else {
        return Err(RuleError::Deadline(format!(
            "hand back: {reference} was not just handed to the signer as a first-time holder, or the signer has acted on it since"
        )));
    };
    if t.ctx.time_ms > h.at_ms.saturating_add(HAND_BACK_WINDOW_MS) {
        return Err(RuleError::Deadline(format!(
            "hand back: {reference} may be handed back within 24 hours of the hand-over; that window has closed"
        )));
    }
    doc.possessor = Some(h.from);
    doc.endorsee = h.endorsee_before;
    doc.blank_endorsed = h.blank_before;
    t.involve([h.from]);
    t.put_transport_document(doc);
    Ok(())
}
