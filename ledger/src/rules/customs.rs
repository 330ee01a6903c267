//! Customs declaration transitions (domain.md, "Customs declaration").

use crate::crypto::PublicKey;
use crate::documents::check_reference;
use crate::documents::customs::{
    check_reason, CustomsDeclaration, DeclarationData, DeclarationState as S, Direction,
};
use crate::documents::transport::TransportDocument;
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::{wrong_state, Tx};
use crate::state::{DocumentKey, StateView};
use crate::transaction::Payload;

const KIND: &str = "customs declaration";

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    if let Payload::LodgeDeclaration(data) = p {
        return lodge(t, data);
    }
    if let Payload::PayDuty {
        number,
        payment_reference,
    } = p
    {
        return pay(t, number, payment_reference);
    }
    t.require_role(Role::Customs)?;
    let (number, to, from, allowed, reason): (&str, S, &[S], &'static str, Option<&str>) = match p {
        Payload::AcceptDeclaration { number } => {
            (number, S::Accepted, &[S::Lodged], "LODGED", None)
        }
        Payload::RejectDeclaration { number, reason } => {
            (number, S::Rejected, &[S::Lodged], "LODGED", Some(reason))
        }
        Payload::HoldDeclaration { number, reason } => {
            (number, S::Held, &[S::Accepted], "ACCEPTED", Some(reason))
        }
        Payload::ClearHold { number } => (number, S::Accepted, &[S::Held], "HELD", None),
        // The duty's currency and amount are sealed: the assessing client checks them.
        Payload::AssessDuty { number, .. } => {
            (number, S::DutyAssessed, &[S::Accepted], "ACCEPTED", None)
        }
        Payload::ReleaseDeclaration { number } => (
            number,
            S::Released,
            &[S::Accepted, S::DutyPaid],
            "ACCEPTED or DUTY_PAID",
            None,
        ),
        Payload::DetainDeclaration { number, reason } => (
            number,
            S::Detained,
            &[
                S::Lodged,
                S::Accepted,
                S::Held,
                S::DutyAssessed,
                S::DutyPaid,
                S::Released,
            ],
            "LODGED, ACCEPTED, HELD, DUTY_ASSESSED, DUTY_PAID or RELEASED",
            Some(reason),
        ),
        _ => unreachable!("dispatched only customs payloads"),
    };
    let mut d = t.declaration(number)?;
    if !from.contains(&d.state) {
        return Err(wrong_state(
            t.action,
            KIND,
            number,
            d.state.as_str(),
            allowed,
        ));
    }
    if let Some(r) = reason {
        check_reason(r)?;
        d.reason = Some(r.to_string());
    }
    if let Payload::AssessDuty { duty, .. } = p {
        duty.validate()?;
        t.require_key_wraps(&duty.keys, &[d.declarant], t.view.customs_auditor())?;
        d.duty = Some(duty.clone());
    }
    d.state = to;
    t.involve([d.declarant]);
    t.put_declaration(d);
    Ok(())
}

fn lodge<V: StateView>(t: &mut Tx<'_, V>, data: &DeclarationData) -> Result<(), RuleError> {
    t.require_role(Role::Trader)?;
    data.validate()?;
    if t.view.declaration(&data.number).is_some() {
        return Err(RuleError::AlreadyExists {
            kind: KIND,
            reference: data.number.clone(),
        });
    }
    let reference = &data.transport_document;
    let doc = t.document_in_force(reference)?;
    for c in &data.containers {
        if !doc.data.has_container(c) {
            return Err(RuleError::UnknownContainer {
                container: c.clone(),
                reference: reference.clone(),
            });
        }
    }
    let entitled = match data.direction {
        Direction::Import => may_declare_import(t.view, &doc, &t.signer),
        Direction::Export => doc.data.shipper == t.signer,
    };
    if !entitled {
        let who = match data.direction {
            Direction::Import => "the party entitled to take delivery (the consignee, the holder or endorsee of the eBL, the party that surrendered it, or the applicant of a credit it was presented under)",
            Direction::Export => "the shipper",
        };
        return Err(RuleError::NotEntitled(format!(
            "an {} declaration for {reference} may only be lodged by {who}; {} is not",
            data.direction.as_str(),
            t.describe(&t.signer)
        )));
    }
    let containers = if data.containers.is_empty() {
        doc.data
            .equipment
            .iter()
            .map(|e| e.container.clone())
            .collect()
    } else {
        data.containers.clone()
    };
    // The declarant and the customs auditor read its lines; nobody else.
    t.require_key_wraps(&data.keys, &[t.signer], t.view.customs_auditor())?;
    t.touch(DocumentKey::TransportDocument(reference.clone()));
    t.put_declaration(CustomsDeclaration {
        data: data.clone(),
        declarant: t.signer,
        containers,
        state: S::Lodged,
        reason: None,
        duty: None,
        duty_payment_reference: None,
    });
    Ok(())
}

/// Who may lodge an import declaration for a transport document: the party entitled to take
/// delivery, or one who will be before arrival. The consignee of a straight document (or
/// waybill); the current possessor and the endorsee of an eBL; the requester of a pending
/// surrender for delivery and the party whose surrender was accepted; the applicant of the
/// credit the eBL is presented under. Release still needs the declarant to be the party the
/// document was accomplished for (`rules::release`).
pub(crate) fn may_declare_import(
    view: &impl StateView,
    doc: &TransportDocument,
    party: &PublicKey,
) -> bool {
    let p = Some(*party);
    if doc.data.consignee == p || doc.endorsee == p || doc.surrendered_by == p {
        return true;
    }
    if doc.possessor == p && *party != doc.carrier {
        return true;
    }
    if doc
        .pending_surrender
        .as_ref()
        .is_some_and(|s| s.amendment.is_none() && s.requester == *party)
    {
        return true;
    }
    doc.presented_under
        .as_ref()
        .and_then(|n| view.credit(n))
        .is_some_and(|lc| lc.terms.applicant == *party)
}

fn pay<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    payment_reference: &str,
) -> Result<(), RuleError> {
    let mut d = t.declaration(number)?;
    t.require_party(&d.declarant, "the declarant")?;
    if d.state != S::DutyAssessed {
        return Err(wrong_state(
            t.action,
            KIND,
            number,
            d.state.as_str(),
            "DUTY_ASSESSED",
        ));
    }
    check_reference("payment_reference", payment_reference, 64)?;
    d.duty_payment_reference = Some(payment_reference.to_string());
    d.state = S::DutyPaid;
    t.put_declaration(d);
    Ok(())
}
