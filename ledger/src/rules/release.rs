//! Freight, delivery order and the port's cargo release (domain.md, "Cargo release at the port").
//!
//! A container gates out only when, for every live transport document holding it (one, unless
//! the container is shared), [`release_unmet`] is empty: the document is accomplished for
//! delivery to a party P (eBL surrendered by P and accepted, or sea waybill to consignee P); the
//! delivery order names P; freight is paid; an IMPORT declaration lodged by P covering the
//! container is RELEASED; no import declaration covering it is still open or DETAINED; and the
//! container's latest event on that document is its discharge (DISC) at the port of discharge.
//! A refusal lists every unmet condition. Each container gates out once per document.

use std::collections::BTreeMap;

use crate::crypto::PublicKey;
use crate::documents::check_container;
use crate::documents::customs::{DeclarationState, Direction};
use crate::documents::tracking::TrackingCode;
use crate::documents::transport::{FreightTerm, TransportDocument, TransportDocumentKind};
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::{tracking, wrong_state, Tx};
use crate::state::StateView;
use crate::transaction::Payload;

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    match p {
        Payload::ConfirmFreightPaid { reference } => freight_paid(t, reference),
        Payload::IssueDeliveryOrder { reference, to } => delivery_order(t, reference, *to),
        Payload::ReleaseCargo {
            reference,
            container,
        } => release(t, reference, container.as_deref()),
        _ => unreachable!("dispatched only release payloads"),
    }
}

fn freight_paid<V: StateView>(t: &mut Tx<'_, V>, reference: &str) -> Result<(), RuleError> {
    let mut doc = t.document_in_force(reference)?;
    t.require_party(&doc.carrier, "the carrier of the document")?;
    if doc.data.freight_term == FreightTerm::Prepaid {
        return Err(RuleError::FreightPrepaid(format!(
            "freight for {reference} is prepaid (PRE); only collect (COL) freight is confirmed"
        )));
    }
    if doc.freight_paid {
        return Err(RuleError::FreightAlreadyPaid(format!(
            "freight for {reference} is already confirmed paid"
        )));
    }
    doc.freight_paid = true;
    t.put_transport_document(doc);
    Ok(())
}

fn delivery_order<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    to: PublicKey,
) -> Result<(), RuleError> {
    let mut doc = t.transport_document(reference)?;
    t.require_party(&doc.carrier, "the carrier of the document")?;
    let Some(entitled) = doc.accomplished_for() else {
        let (kind, allowed) = match doc.data.kind {
            TransportDocumentKind::BillOfLading => {
                ("transport document", "SURRENDERED_FOR_DELIVERY")
            }
            TransportDocumentKind::SeaWaybill => ("sea waybill", "ISSUED"),
        };
        return Err(wrong_state(
            t.action,
            kind,
            reference,
            doc.state.as_str(),
            allowed,
        ));
    };
    if entitled != to {
        return Err(RuleError::NotEntitled(format!(
            "a delivery order for {reference} may only be issued to {}, the party that surrendered it (or the waybill's consignee), not {}",
            t.describe(&entitled),
            t.describe(&to)
        )));
    }
    if doc.delivery_order_to.is_some() {
        return Err(RuleError::AlreadyExists {
            kind: "delivery order for",
            reference: reference.to_string(),
        });
    }
    doc.delivery_order_to = Some(to);
    t.involve([to]);
    t.put_transport_document(doc);
    Ok(())
}

fn release<V: StateView>(
    t: &mut Tx<'_, V>,
    reference: &str,
    container: Option<&str>,
) -> Result<(), RuleError> {
    t.require_role(Role::PortOperator)?;
    let doc = t.transport_document(reference)?;
    let containers: Vec<String> = match container {
        Some(c) => {
            check_container("container", c)?;
            if !doc.data.has_container(c) {
                return Err(RuleError::UnknownContainer {
                    container: c.to_string(),
                    reference: reference.to_string(),
                });
            }
            vec![c.to_string()]
        }
        None => doc
            .data
            .equipment
            .iter()
            .map(|e| e.container.clone())
            .filter(|c| !doc.released_containers.contains(c))
            .collect(),
    };
    let Some(first) = containers.first() else {
        return Err(RuleError::AlreadyReleased {
            reference: reference.to_string(),
            container: doc
                .data
                .equipment
                .first()
                .map(|e| e.container.clone())
                .unwrap_or_default(),
        });
    };
    if doc.released_containers.contains(first) {
        return Err(RuleError::AlreadyReleased {
            reference: reference.to_string(),
            container: first.clone(),
        });
    }
    // Every live document on each container must meet the rule; all of them gate it out.
    let mut unmet = Vec::new();
    let mut gate: BTreeMap<String, (TransportDocument, Vec<String>)> = BTreeMap::new();
    for c in &containers {
        unmet.extend(release_unmet(t.view, &doc, c));
        let mut holders = vec![doc.clone()];
        for other in t.view.live_documents_on(c) {
            if other != reference {
                holders.push(t.transport_document(&other)?);
            }
        }
        for h in holders {
            if h.data.reference != reference {
                unmet.extend(release_unmet(t.view, &h, c));
            }
            gate.entry(h.data.reference.clone())
                .or_insert_with(|| (h, Vec::new()))
                .1
                .push(c.clone());
        }
    }
    if !unmet.is_empty() {
        // A document's own conditions are the same for each of its containers: list them once.
        let mut seen = std::collections::BTreeSet::new();
        unmet.retain(|u| seen.insert(u.clone()));
        return Err(RuleError::ReleaseCondition {
            reference: reference.to_string(),
            unmet,
        });
    }
    for (_, (mut d, cs)) in gate {
        tracking::record_gate_out(t, &d, &cs)?;
        d.released_containers.extend(cs);
        t.put_transport_document(d);
    }
    Ok(())
}

/// Every condition of the release rule that `doc` does not meet for `container`, in words, as
/// `view` stands: what the port's release would refuse with, and what the case view lists. A
/// shared container also needs every other live document on it to meet the rule.
pub fn release_unmet<V: StateView>(
    view: &V,
    doc: &TransportDocument,
    container: &str,
) -> Vec<String> {
    let describe = |party: &PublicKey| {
        view.member(party)
            .map(|m| m.alias)
            .unwrap_or_else(|| party.to_hex())
    };
    let r = &doc.data.reference;
    let mut unmet = Vec::new();
    let entitled = doc.accomplished_for();
    if entitled.is_none() {
        unmet.push(match doc.data.kind {
            TransportDocumentKind::BillOfLading => format!(
                "the eBL {r} is {}; it must be SURRENDERED_FOR_DELIVERY (surrendered by the party entitled, and the surrender accepted)",
                doc.state
            ),
            TransportDocumentKind::SeaWaybill => {
                format!("the sea waybill {r} is {}; it must be ISSUED", doc.state)
            }
        });
    }
    if !doc.freight_paid {
        unmet.push(format!(
            "freight for {r} is collect (COL) and the carrier has not confirmed payment"
        ));
    }
    match (doc.delivery_order_to, entitled) {
        (None, _) => unmet.push(format!("the carrier has not issued a delivery order for {r}")),
        (Some(to), Some(p)) if to != p => unmet.push(format!(
            "the delivery order for {r} names {}, not {}, the party the document was accomplished for",
            describe(&to),
            describe(&p)
        )),
        _ => {}
    }
    let imports: Vec<_> = view
        .declarations_for(r)
        .into_iter()
        .filter(|d| d.data.direction == Direction::Import && d.covers(container))
        .collect();
    let own_released = entitled.is_some_and(|p| {
        imports
            .iter()
            .any(|d| d.declarant == p && d.state == DeclarationState::Released)
    });
    if !own_released {
        unmet.push(match entitled {
            Some(p) => format!(
                "no IMPORT declaration lodged by {} covering container {container} of {r} has been RELEASED by customs",
                describe(&p)
            ),
            None => format!(
                "no IMPORT declaration covering container {container} of {r} can count until the document is accomplished for delivery"
            ),
        });
    }
    for d in imports.iter().filter(|d| d.state.blocks_release()) {
        unmet.push(format!(
            "import declaration {} (lodged by {}) covering container {container} of {r} is {}",
            d.data.number,
            describe(&d.declarant),
            d.state
        ));
    }
    let pod = &doc.data.port_of_discharge;
    match view.container_position(r, container) {
        Some(p) if p.code == TrackingCode::Discharge && p.location == *pod => {}
        Some(p) => unmet.push(format!(
            "container {container} of {r} has not been discharged (DISC) at {pod}: its latest event is {} at {}",
            p.code, p.location
        )),
        None => unmet.push(format!(
            "container {container} of {r} has not been discharged (DISC) at {pod}: it has no tracking events"
        )),
    }
    unmet
}
