//! What a reader's own key reveals: the confidential terms the node serves sealed
//! (`portledger_ledger::sealed`), opened on the reader's side and checked against their
//! commitment. The node never sees the plaintext of a document it is party to nothing of.

use portledger_ledger::documents::credit::{CreditBody, CreditTerms};
use portledger_ledger::documents::customs::DeclarationData;
use portledger_ledger::sealed::{Sealed, TermsKey};
use portledger_ledger::Keypair;
use serde_json::{json, Value};

use crate::error::{ClientError, Result};

fn credit_terms(v: &Value) -> Result<CreditTerms> {
    serde_json::from_value(v["terms"].clone())
        .map_err(|e| ClientError::Node(format!("the credit's terms do not parse: {e}")))
}

/// The credit's key and its current confidential terms, as `reader` opens them from the
/// node's `/v1/lc/{number}` answer `v`.
pub fn credit_key(v: &Value, reader: &Keypair) -> Result<(TermsKey, CreditBody)> {
    let terms = credit_terms(v)?;
    let refused = |e| {
        ClientError::Input(format!(
            "the credit's terms do not open with this key ({e}): only its parties read them"
        ))
    };
    let key = terms.key_for(reader).map_err(refused)?;
    let body = key.open(&terms.body).map_err(refused)?;
    Ok((key, body))
}

fn merge(v: &mut Value, body: &CreditBody) {
    v["currency"] = json!(body.currency);
    v["amount_minor"] = json!(body.amount_minor);
    v["tolerance_percent"] = json!(body.tolerance_percent);
    v["goods"] = json!(body.goods);
}

/// Adds a credit's confidential terms beside its public ones (`currency`, `amount_minor`,
/// `tolerance_percent`, `goods`, and a pending amendment's proposed terms under
/// `pending_amendment.proposed`) when `reader` opens them; `sealed` says whether it did.
pub fn credit(v: &mut Value, reader: Option<&Keypair>) {
    let opened = reader.map(|k| credit_key(v, k));
    match opened {
        Some(Ok((key, body))) => {
            merge(v, &body);
            let proposed: Option<Sealed> =
                serde_json::from_value(v["pending_amendment"]["changes"]["body"].clone())
                    .ok()
                    .flatten();
            if let Some(p) = proposed.and_then(|s| key.open::<CreditBody>(&s).ok()) {
                let mut shown = json!({});
                merge(&mut shown, &p);
                v["pending_amendment"]["proposed"] = shown;
            }
            v["sealed"] = json!("opened with your key; matches its commitment");
        }
        Some(Err(e)) => v["sealed"] = json!(format!("not readable: {e}")),
        None => v["sealed"] = json!("not readable without --key"),
    }
}

/// Adds a declaration's goods lines (`lines`) beside its public fields when `reader` (its
/// declarant, or the customs auditor) opens them; `sealed` says whether it did.
pub fn declaration(v: &mut Value, reader: Option<&Keypair>) {
    let data: std::result::Result<DeclarationData, _> =
        serde_json::from_value(v["declaration"].clone());
    match (data, reader) {
        (Ok(d), Some(k)) => match d.open(k) {
            Ok(body) => {
                v["lines"] = json!(body.lines);
                v["sealed"] = json!("opened with your key; matches its commitment");
            }
            Err(e) => v["sealed"] = json!(format!("not readable: {e}")),
        },
        (Err(e), _) => {
            v["sealed"] = json!(format!("not readable: the declaration does not parse: {e}"))
        }
        (_, None) => v["sealed"] = json!("not readable without --key"),
    }
}

/// The confidential terms of a proven record, opened with `reader`'s key and checked against
/// the record's commitment (which the proof proves): `None` when the record has no sealed
/// terms, else the terms as JSON or why they do not open.
pub fn proven_terms(
    record: &portledger_ledger::proof::Record,
    reader: &Keypair,
) -> Option<std::result::Result<Value, portledger_ledger::sealed::SealError>> {
    use portledger_ledger::proof::Record;
    match record {
        Record::Credit(c) => Some(c.terms.open(reader).map(|b| json!(b))),
        Record::Declaration(d) => Some(d.data.open(reader).map(|b| json!(b))),
        _ => None,
    }
}
