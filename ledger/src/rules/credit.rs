//! Letter of credit transitions (domain.md, "Letter of credit"; UCP 600). Presentation moves the
//! eBL to the issuing bank, honour moves it to the applicant and refusal back to the beneficiary,
//! each in the same transaction as the credit's own change: documents against payment, atomically.

use crate::crypto::Hash;
use crate::date::Date;
use crate::documents::check_text;
use crate::documents::credit::{
    CreditAmendment, CreditState as S, CreditTerms, LetterOfCredit, PendingAmendment, Presentation,
};
use crate::documents::transport::TransportDocumentState;
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::transport::hand_over;
use crate::rules::{wrong_state, Tx};
use crate::state::{DocumentKey, StateView};
use crate::transaction::Payload;

const KIND: &str = "letter of credit";

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    match p {
        Payload::ApplyCredit(terms) => apply_for(t, terms),
        Payload::IssueCredit { number } => issue(t, number),
        Payload::AdviseCredit { number } => advise(t, number),
        Payload::ConfirmCredit { number } => confirm(t, number),
        Payload::ProposeCreditAmendment { number, changes } => {
            propose_amendment(t, number, changes)
        }
        Payload::AcceptCreditAmendment { number } => answer_amendment(t, number, true),
        Payload::RejectCreditAmendment { number } => answer_amendment(t, number, false),
        Payload::PresentDocuments {
            number,
            transport_document,
            documents,
        } => present(t, number, transport_document, documents),
        Payload::ExamineDocuments {
            number,
            discrepancies,
        } => examine(t, number, discrepancies),
        Payload::WaiveDiscrepancies { number } => waive(t, number),
        Payload::Honour {
            number,
            payment_reference,
        } => honour(t, number, payment_reference),
        Payload::RefusePresentation { number } => refuse(t, number),
        Payload::ConsentToCancel { number } => consent_cancel(t, number),
        Payload::CancelCredit { number } => cancel(t, number),
        _ => unreachable!("dispatched only letter of credit payloads"),
    }
}

fn require_bank<V: StateView>(
    t: &Tx<'_, V>,
    key: &crate::crypto::PublicKey,
    what: &'static str,
) -> Result<(), RuleError> {
    let m = t.registered(key)?;
    if m.role != Role::Bank {
        return Err(RuleError::InvalidField {
            field: what,
            reason: format!("{} has role {}, a bank is needed", m.alias, m.role),
        });
    }
    Ok(())
}

fn in_state(
    action: &'static str,
    lc: &LetterOfCredit,
    states: &[S],
    allowed: &'static str,
) -> Result<(), RuleError> {
    if states.contains(&lc.state) {
        Ok(())
    } else {
        Err(wrong_state(
            action,
            KIND,
            &lc.terms.number,
            lc.state.as_str(),
            allowed,
        ))
    }
}

fn apply_for<V: StateView>(t: &mut Tx<'_, V>, terms: &CreditTerms) -> Result<(), RuleError> {
    t.require_role(Role::Trader)?;
    terms.validate()?;
    t.require_party(&terms.applicant, "the applicant named in the credit")?;
    if t.view.credit(&terms.number).is_some() {
        return Err(RuleError::AlreadyExists {
            kind: KIND,
            reference: terms.number.clone(),
        });
    }
    t.registered(&terms.beneficiary)?;
    require_bank(t, &terms.issuing_bank, "issuing_bank")?;
    if let Some(b) = &terms.advising_bank {
        require_bank(t, b, "advising_bank")?;
    }
    if let Some(b) = &terms.confirming_bank {
        require_bank(t, b, "confirming_bank")?;
    }
    if terms.expiry_date.end_ms() <= t.ctx.time_ms {
        return Err(RuleError::Deadline(format!(
            "the expiry date {} has already passed",
            terms.expiry_date
        )));
    }
    let parties = terms.parties();
    // Its parties read its terms, nobody else: not customs, not the port (bank secrecy).
    t.require_key_wraps(&terms.keys, &parties, None)?;
    t.involve(parties);
    t.put_credit(LetterOfCredit {
        terms: terms.clone(),
        state: S::Applied,
        pending_amendment: None,
        amendments_accepted: 0,
        amendments_proposed: 0,
        presentation: None,
        payment_reference: None,
        cancellation_consented: false,
    });
    Ok(())
}

fn issue<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    in_state(t.action, &lc, &[S::Applied], "APPLIED")?;
    lc.state = S::Issued;
    t.put_credit(lc);
    Ok(())
}

fn advise<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    let Some(advising) = lc.terms.advising_bank else {
        return Err(RuleError::PartyNotNamed(format!(
            "credit {number} names no advising bank"
        )));
    };
    t.require_party(&advising, "the advising bank")?;
    in_state(t.action, &lc, &[S::Issued], "ISSUED")?;
    lc.state = S::Advised;
    t.put_credit(lc);
    Ok(())
}

fn confirm<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    match lc.terms.confirming_bank {
        Some(b) => t.require_party(&b, "the confirming bank")?,
        None => {
            t.require_role(Role::Bank)?;
            if t.signer == lc.terms.issuing_bank {
                return Err(RuleError::OwnCredit(
                    "the issuing bank cannot confirm its own credit".into(),
                ));
            }
            lc.terms.confirming_bank = Some(t.signer);
        }
    }
    in_state(t.action, &lc, &[S::Issued, S::Advised], "ISSUED or ADVISED")?;
    lc.state = S::Confirmed;
    t.put_credit(lc);
    Ok(())
}

fn propose_amendment<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    changes: &CreditAmendment,
) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    in_state(
        t.action,
        &lc,
        &[S::Issued, S::Advised, S::Confirmed],
        "ISSUED, ADVISED or CONFIRMED",
    )?;
    if lc.pending_amendment.is_some() {
        return Err(RuleError::AmendmentPending(format!(
            "credit {number} already has an amendment awaiting acceptance"
        )));
    }
    if *changes == CreditAmendment::default() {
        return Err(RuleError::InvalidField {
            field: "amendment",
            reason: "changes nothing".into(),
        });
    }
    // The amended terms must still be valid terms.
    let mut amended = lc.terms.clone();
    apply_amendment(&mut amended, changes);
    amended.validate()?;
    let mut awaiting = vec![lc.terms.beneficiary];
    if lc.state == S::Confirmed {
        awaiting.extend(lc.terms.confirming_bank);
    }
    lc.amendments_proposed += 1;
    lc.pending_amendment = Some(PendingAmendment {
        sequence: lc.amendments_proposed,
        changes: changes.clone(),
        awaiting,
    });
    t.put_credit(lc);
    Ok(())
}

fn apply_amendment(terms: &mut CreditTerms, c: &CreditAmendment) {
    if let Some(v) = &c.body {
        terms.body = v.clone();
    }
    if let Some(v) = c.expiry_date {
        terms.expiry_date = v;
    }
    if let Some(v) = c.latest_shipment_date {
        terms.latest_shipment_date = Some(v);
    }
    if let Some(v) = c.presentation_days {
        terms.presentation_days = v;
    }
    if let Some(v) = &c.documents_required {
        terms.documents_required = v.clone();
    }
}

fn answer_amendment<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    accept: bool,
) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    let Some(mut pending) = lc.pending_amendment.take() else {
        return Err(RuleError::NoPendingAmendment(format!(
            "credit {number} has no amendment awaiting acceptance"
        )));
    };
    if !pending.awaiting.contains(&t.signer) {
        return Err(RuleError::NotParty {
            action: t.action,
            who: "the beneficiary (or the confirming bank) whose acceptance is awaited".into(),
        });
    }
    if accept {
        pending.awaiting.retain(|k| *k != t.signer);
        if pending.awaiting.is_empty() {
            apply_amendment(&mut lc.terms, &pending.changes);
            lc.amendments_accepted += 1;
        } else {
            lc.pending_amendment = Some(pending);
        }
    }
    // A rejection drops the amendment; the credit stays as it was.
    t.put_credit(lc);
    Ok(())
}

fn present<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    reference: &str,
    documents: &[Hash],
) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.beneficiary, "the beneficiary")?;
    // A refused presentation may be corrected and presented again before expiry (UCP 600
    // art. 16, eUCP art. e12).
    in_state(
        t.action,
        &lc,
        &[S::Issued, S::Advised, S::Confirmed, S::Refused],
        "ISSUED, ADVISED, CONFIRMED or REFUSED",
    )?;
    let now = t.ctx.time_ms;
    if now >= lc.terms.expiry_date.end_ms() {
        return Err(RuleError::Deadline(format!(
            "credit {number} expired on {} (block time {})",
            lc.terms.expiry_date,
            Date::of_ms(now)
        )));
    }
    let mut doc = t.transport_document(reference)?;
    if let Some(p) = &lc.presentation {
        if lc.state == S::Refused && p.transport_document != reference {
            return Err(RuleError::InvalidField {
                field: "transport_document",
                reason: format!(
                    "a re-presentation under {number} presents the same eBL, {}",
                    p.transport_document
                ),
            });
        }
    }
    if doc.state != TransportDocumentState::Issued {
        return Err(wrong_state(
            t.action,
            "transport document",
            reference,
            doc.state.as_str(),
            "ISSUED",
        ));
    }
    if doc.possessor != Some(t.signer) {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!("the beneficiary in possession of {reference}"),
        });
    }
    if doc.data.to_order && !(doc.blank_endorsed || doc.endorsee == Some(t.signer)) {
        return Err(RuleError::NotParty {
            action: t.action,
            who: format!("the beneficiary as endorsee of {reference}"),
        });
    }
    if let Some(sob) = doc.data.shipped_on_board_date {
        let deadline = sob.plus_days(lc.terms.presentation_days);
        if now >= deadline.end_ms() {
            return Err(RuleError::Deadline(format!(
                "presentation period of {} days after shipment on {sob} ended on {deadline}",
                lc.terms.presentation_days
            )));
        }
    }
    if documents.len() > 50 {
        return Err(RuleError::InvalidField {
            field: "documents",
            reason: "at most 50 documents in one presentation".into(),
        });
    }
    let mut anchored = Vec::with_capacity(documents.len());
    for h in documents {
        let a = t.view.anchor(h).ok_or_else(|| RuleError::NotFound {
            kind: "anchored document",
            reference: h.to_hex(),
        })?;
        if a.revoked {
            return Err(RuleError::DocumentRevoked(format!(
                "anchored document {h} was revoked by its issuer and cannot be presented"
            )));
        }
        t.touch(DocumentKey::Anchor(*h));
        anchored.push(a);
    }
    for required in &lc.terms.documents_required {
        let Some(doc_type) = required.anchored_type() else {
            continue;
        };
        let met = anchored.iter().any(|a| {
            a.doc_type == doc_type
                && (a.issuer == lc.terms.beneficiary
                    || (doc_type.is_certificate() && a.by_authority()))
        });
        if !met {
            return Err(RuleError::MissingDocument {
                credit: number.to_string(),
                doc_type: doc_type.as_str().to_string(),
            });
        }
    }
    hand_over(&mut doc, lc.terms.issuing_bank, t.ctx.time_ms, true);
    doc.presented_under = Some(number.to_string());
    lc.state = S::Presented;
    lc.presentation = Some(Presentation {
        transport_document: reference.to_string(),
        documents: documents.to_vec(),
        presented_at_ms: now,
        discrepancies: Vec::new(),
        waived: false,
    });
    t.involve([lc.terms.issuing_bank]);
    t.put_transport_document(doc);
    t.put_credit(lc);
    Ok(())
}

fn examine<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    discrepancies: &[String],
) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    in_state(t.action, &lc, &[S::Presented], "PRESENTED")?;
    if discrepancies.len() > 50 {
        return Err(RuleError::InvalidField {
            field: "discrepancies",
            reason: "at most 50".into(),
        });
    }
    for d in discrepancies {
        check_text("discrepancies", d, 500)?;
        if d.trim().is_empty() {
            return Err(RuleError::InvalidField {
                field: "discrepancies",
                reason: "a discrepancy must say what is wrong".into(),
            });
        }
    }
    lc.state = if discrepancies.is_empty() {
        S::Complying
    } else {
        S::Discrepant
    };
    if let Some(p) = lc.presentation.as_mut() {
        p.discrepancies = discrepancies.to_vec();
    }
    t.put_credit(lc);
    Ok(())
}

fn waive<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.applicant, "the applicant")?;
    in_state(t.action, &lc, &[S::Discrepant], "DISCREPANT")?;
    lc.state = S::Complying;
    if let Some(p) = lc.presentation.as_mut() {
        p.waived = true;
    }
    t.put_credit(lc);
    Ok(())
}

/// The presented eBL, which the issuing bank must still hold.
fn presented_document<V: StateView>(
    t: &Tx<'_, V>,
    lc: &LetterOfCredit,
) -> Result<crate::documents::transport::TransportDocument, RuleError> {
    let p = lc.presentation.as_ref().ok_or_else(|| {
        RuleError::PresentationNotHeld(format!("credit {} has no presentation", lc.terms.number))
    })?;
    let doc = t.transport_document(&p.transport_document)?;
    if doc.state != TransportDocumentState::Issued || doc.possessor != Some(lc.terms.issuing_bank) {
        return Err(RuleError::PresentationNotHeld(format!(
            "the presented transport document {} is no longer held by the issuing bank",
            p.transport_document
        )));
    }
    Ok(doc)
}

fn honour<V: StateView>(
    t: &mut Tx<'_, V>,
    number: &str,
    payment_reference: &str,
) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    if lc.state == S::Discrepant {
        return Err(RuleError::DiscrepanciesNotWaived(format!(
            "honour: credit {number} has discrepancies that the applicant has not waived"
        )));
    }
    in_state(t.action, &lc, &[S::Complying], "COMPLYING")?;
    crate::documents::check_reference("payment_reference", payment_reference, 64)?;
    let mut doc = presented_document(t, &lc)?;
    hand_over(&mut doc, lc.terms.applicant, t.ctx.time_ms, true);
    doc.presented_under = None;
    lc.state = S::Honoured;
    lc.payment_reference = Some(payment_reference.to_string());
    t.involve([lc.terms.applicant, lc.terms.beneficiary]);
    t.put_transport_document(doc);
    t.put_credit(lc);
    Ok(())
}

fn refuse<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    in_state(
        t.action,
        &lc,
        &[S::Presented, S::Discrepant],
        "PRESENTED or DISCREPANT",
    )?;
    let mut doc = presented_document(t, &lc)?;
    hand_over(&mut doc, lc.terms.beneficiary, t.ctx.time_ms, true);
    doc.presented_under = None;
    lc.state = S::Refused;
    t.involve([lc.terms.beneficiary]);
    t.put_transport_document(doc);
    t.put_credit(lc);
    Ok(())
}

fn consent_cancel<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.beneficiary, "the beneficiary")?;
    in_state(
        t.action,
        &lc,
        &[S::Issued, S::Advised, S::Confirmed],
        "ISSUED, ADVISED or CONFIRMED",
    )?;
    lc.cancellation_consented = true;
    t.put_credit(lc);
    Ok(())
}

fn cancel<V: StateView>(t: &mut Tx<'_, V>, number: &str) -> Result<(), RuleError> {
    let mut lc = t.credit(number)?;
    t.require_party(&lc.terms.issuing_bank, "the issuing bank")?;
    in_state(
        t.action,
        &lc,
        &[S::Applied, S::Issued, S::Advised, S::Confirmed],
        "APPLIED, ISSUED, ADVISED or CONFIRMED",
    )?;
    if lc.state != S::Applied && !lc.cancellation_consented {
        return Err(RuleError::ConsentRequired(format!(
            "cancel: credit {number} can only be cancelled after the beneficiary consents (lc.consent_cancel)"
        )));
    }
    lc.state = S::Cancelled;
    lc.pending_amendment = None;
    t.put_credit(lc);
    Ok(())
}
