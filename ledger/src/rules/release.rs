//! Freight, delivery order and the port's cargo release (domain.md, "Cargo release at the port").

use crate::crypto::PublicKey;
use crate::documents::check_container;
use crate::documents::customs::{DeclarationState, Direction};
use crate::documents::transport::{FreightTerm, TransportDocumentKind, TransportDocumentState};
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
    let mut doc = t.transport_document(reference)?;
    t.require_party(&doc.carrier, "the carrier of the document")?;
    if doc.data.freight_term == FreightTerm::Prepaid {
        return Err(RuleError::Rule(format!(
            "freight for {reference} is prepaid (PRE); only collect (COL) freight is confirmed"
        )));
    }
    if doc.freight_paid {
        return Err(RuleError::Rule(format!(
            "freight for {reference} is already confirmed paid"
        )));
    }
    if matches!(
        doc.state,
        TransportDocumentState::Draft
            | TransportDocumentState::Approved
            | TransportDocumentState::Voided
    ) {
        return Err(wrong_state(
            t.action,
            "transport document",
            reference,
            doc.state.as_str(),
            "an issued state",
        ));
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
    let entitled = match doc.data.kind {
        TransportDocumentKind::BillOfLading => {
            if doc.state != TransportDocumentState::SurrenderedForDelivery {
                return Err(wrong_state(
                    t.action,
                    "transport document",
                    reference,
                    doc.state.as_str(),
                    "SURRENDERED_FOR_DELIVERY",
                ));
            }
            doc.surrendered_by
        }
        TransportDocumentKind::SeaWaybill => {
            if doc.state != TransportDocumentState::Issued {
                return Err(wrong_state(
                    t.action,
                    "sea waybill",
                    reference,
                    doc.state.as_str(),
                    "ISSUED",
                ));
            }
            doc.data.consignee
        }
    };
    if entitled != Some(to) {
        return Err(RuleError::Rule(format!(
            "a delivery order for {reference} may only be issued to the party that surrendered it (or the waybill's consignee), not {}",
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
    let mut doc = t.transport_document(reference)?;
    let cond = |s: String| Err(RuleError::ReleaseCondition(s));
    match doc.data.kind {
        TransportDocumentKind::BillOfLading
            if doc.state != TransportDocumentState::SurrenderedForDelivery =>
        {
            return cond(format!(
                "the eBL {reference} is {}, it must be SURRENDERED_FOR_DELIVERY",
                doc.state
            ))
        }
        TransportDocumentKind::SeaWaybill if doc.state != TransportDocumentState::Issued => {
            return cond(format!(
                "the sea waybill {reference} is {}, it must be ISSUED",
                doc.state
            ))
        }
        _ => {}
    }
    if !doc.freight_paid {
        return cond(format!(
            "freight for {reference} is collect (COL) and the carrier has not confirmed payment"
        ));
    }
    let released =
        t.view.declarations_for(reference).into_iter().any(|d| {
            d.data.direction == Direction::Import && d.state == DeclarationState::Released
        });
    if !released {
        return cond(format!(
            "no import declaration for {reference} has been RELEASED by customs"
        ));
    }
    if doc.delivery_order_to.is_none() {
        return cond(format!(
            "the carrier has not issued a delivery order for {reference}"
        ));
    }
    let containers: Vec<String> = match container {
        Some(c) => {
            check_container("container", c)?;
            if !doc.data.has_container(c) {
                return Err(RuleError::NotFound {
                    kind: "container on transport document",
                    reference: format!("{c} on {reference}"),
                });
            }
            vec![c.to_string()]
        }
        None => doc
            .data
            .equipment
            .iter()
            .map(|e| e.container.clone())
            .collect(),
    };
    let fresh: Vec<String> = containers
        .into_iter()
        .filter(|c| !doc.released_containers.contains(c))
        .collect();
    if fresh.is_empty() {
        return Err(RuleError::Rule(format!(
            "the cargo of {reference} has already been released"
        )));
    }
    tracking::record_gate_out(t, &doc, &fresh)?;
    doc.released_containers.extend(fresh);
    t.put_transport_document(doc);
    Ok(())
}
