//! Customs declaration transitions (domain.md, "Customs declaration").

use crate::documents::customs::{
    check_reason, CustomsDeclaration, DeclarationData, DeclarationState as S,
};
use crate::documents::{check_currency, check_reference};
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::{wrong_state, Tx};
use crate::state::StateView;
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
        Payload::AssessDuty {
            number, currency, ..
        } => {
            check_currency("currency", currency)?;
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
            &[S::Lodged, S::Accepted, S::Held],
            "LODGED, ACCEPTED or HELD",
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
    if let Payload::AssessDuty {
        amount_minor,
        currency,
        ..
    } = p
    {
        d.duty = Some((*amount_minor, currency.clone()));
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
    t.put_declaration(CustomsDeclaration {
        data: data.clone(),
        declarant: t.signer,
        state: S::Lodged,
        reason: None,
        duty: None,
        duty_payment_reference: None,
    });
    Ok(())
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
