//! The key rule of sealed transport documents: after a transaction's transition, every reader
//! of each transport document it writes holds a wrap of the document key, and nobody else
//! does. The wraps a transaction adds ([`KeyShare`]s) are checked here, in one place, for
//! every kind of transaction (issue, transfer, endorsement, presentation, honour): no holder
//! ends in control of a document it cannot read, and no outsider is given the key.
//!
//! The rule cannot open a wrap; a reader whose wrap does not open, or whose opened body does
//! not match the header, hands the document back (`rules::transport`, `ReturnDocument`).

use crate::documents::transport::{KeyShare, TransportDocument};
use crate::error::RuleError;
use crate::rules::Tx;
use crate::sealed::EncryptionKey;
use crate::state::StateView;
use crate::transaction::MAX_SHARES;

fn invalid(field: &'static str, reason: String) -> RuleError {
    RuleError::InvalidField { field, reason }
}

/// Adds `shares` to the documents this transaction wrote and checks the key rule on each.
pub(super) fn settle<V: StateView>(
    t: &mut Tx<'_, V>,
    shares: &[KeyShare],
) -> Result<(), RuleError> {
    if shares.len() > MAX_SHARES {
        return Err(invalid(
            "shares",
            format!("at most {MAX_SHARES} key shares per transaction"),
        ));
    }
    let mut docs = std::mem::take(&mut t.fx.changes.transport_documents);
    let result = settle_docs(t, &mut docs, shares);
    t.fx.changes.transport_documents = docs;
    result
}

fn settle_docs<V: StateView>(
    t: &Tx<'_, V>,
    docs: &mut std::collections::BTreeMap<String, TransportDocument>,
    shares: &[KeyShare],
) -> Result<(), RuleError> {
    for s in shares {
        let Some(doc) = docs.get_mut(&s.reference) else {
            return Err(invalid(
                "shares",
                format!(
                    "a key share for {}, which this transaction does not change",
                    s.reference
                ),
            ));
        };
        if doc.wrapped_for(&s.wrap.recipient) {
            return Err(invalid(
                "shares",
                format!(
                    "the key of {} is already wrapped for {}",
                    s.reference, s.wrap.recipient
                ),
            ));
        }
        doc.shared.push(s.wrap.clone());
    }
    let auditor = t.view.customs_auditor();
    for doc in docs.values() {
        check_doc(t, doc, auditor)?;
    }
    Ok(())
}

fn check_doc<V: StateView>(
    t: &Tx<'_, V>,
    doc: &TransportDocument,
    auditor: Option<EncryptionKey>,
) -> Result<(), RuleError> {
    let reference = &doc.data.reference;
    let mut allowed: Vec<EncryptionKey> = auditor.into_iter().collect();
    if let Some(a) = auditor {
        if !doc.wrapped_for(&a) {
            return Err(invalid(
                "keys",
                format!("the key of {reference} is not wrapped for the customs auditor of genesis"),
            ));
        }
    }
    for r in doc.readers() {
        let m = t.registered(&r)?;
        if !doc.wrapped_for(&m.encryption_key) {
            return Err(RuleError::KeyNotShared {
                reference: reference.clone(),
                party: r,
                alias: m.alias,
            });
        }
        allowed.push(m.encryption_key);
    }
    if let Some(w) = doc.wraps().find(|w| !allowed.contains(&w.recipient)) {
        return Err(invalid(
            "keys",
            format!(
                "the key of {reference} is wrapped for {}, who may not read it",
                w.recipient
            ),
        ));
    }
    Ok(())
}
