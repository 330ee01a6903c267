//! What a reader's own key reveals: the confidential terms the node serves sealed
//! (`portledger_ledger::sealed`), opened on the reader's side and checked against their
//! commitment. The node never sees the plaintext of a document it is party to nothing of.

use portledger_ledger::documents::credit::{CreditBody, CreditTerms};
use portledger_ledger::documents::customs::DeclarationData;
use portledger_ledger::documents::transport::{
    KeyShare, PlainTransportDocument, TransportDocumentData,
};
use portledger_ledger::sealed::{
    DecryptionKey, EncryptionKey, KeyWrap, SealError, Sealed, TermsKey,
};
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
                open_duty(&mut v["duty"], k, true);
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

/// Opens an assessed duty (`SealedDuty`) in place: as `[amount_minor, currency]` (`pair`, the
/// declaration's own form) or by adding `amount_minor` and `currency` beside `sealed` (the case
/// view's form). Left sealed when it does not open.
fn open_duty(duty: &mut Value, reader: &Keypair, pair: bool) {
    use portledger_ledger::documents::customs::SealedDuty;
    let sealed_at = if pair {
        duty.clone()
    } else {
        duty["sealed"].clone()
    };
    let Ok(sealed) = serde_json::from_value::<SealedDuty>(sealed_at) else {
        return;
    };
    if let Ok(d) = sealed.open(reader) {
        if pair {
            *duty = json!([d.amount_minor, d.currency]);
        } else {
            duty["amount_minor"] = json!(d.amount_minor);
            duty["currency"] = json!(d.currency);
        }
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
        Record::TransportDocument(t) => Some(t.open(reader).map(|p| json!(p))),
        _ => None,
    }
}

/// The sealed document and every wrap of its key, from the node's `/v1/bl/{reference}` answer.
fn transport_record(v: &Value) -> Result<(TransportDocumentData, Vec<KeyWrap>)> {
    let data: TransportDocumentData = serde_json::from_value(v["document"].clone())
        .map_err(|e| ClientError::Node(format!("the transport document does not parse: {e}")))?;
    let shared: Vec<KeyWrap> = serde_json::from_value(v["shared_keys"].clone()).unwrap_or_default();
    let mut wraps = data.keys.clone();
    wraps.extend(shared);
    Ok((data, wraps))
}

/// The transport document's key and the document in the clear, as `reader` opens them from
/// the node's `/v1/bl/{reference}` answer `v` (checked against its commitment and its header).
pub fn transport_key(v: &Value, reader: &Keypair) -> Result<(TermsKey, PlainTransportDocument)> {
    let (data, wraps) = transport_record(v)?;
    let refused = |e: SealError| {
        match e {
        SealError::NotARecipient => ClientError::Input(format!(
            "{}: the document key is not wrapped for this key (only its parties, holders and the customs auditor read these fields)",
            data.reference
        )),
        e => ClientError::Input(format!(
            "{} does not open with this key ({e}); a holder just handed it may hand it back (bl hand-back)",
            data.reference
        )),
    }
    };
    let key = DecryptionKey::of(reader)
        .unwrap_any(&wraps)
        .map_err(refused)?;
    let plain = data.open(&key).map_err(refused)?;
    Ok((key, plain))
}

/// Key shares of the document in `v` for each of `recipients` that holds no wrap yet,
/// unwrapped with `reader`'s key: what a transferor adds to the transaction that makes them
/// readers.
pub fn transport_shares(
    v: &Value,
    reader: &Keypair,
    recipients: &[EncryptionKey],
) -> Result<Vec<KeyShare>> {
    let (data, wraps) = transport_record(v)?;
    let missing: Vec<EncryptionKey> = recipients
        .iter()
        .filter(|r| !wraps.iter().any(|w| w.recipient == **r))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let (key, _) = transport_key(v, reader)?;
    key.wrap_for_all(&missing)
        .map_err(|e| ClientError::Input(format!("cannot share the key of {}: {e}", data.reference)))
        .map(|ws| {
            ws.into_iter()
                .map(|wrap| KeyShare {
                    reference: data.reference.clone(),
                    wrap,
                })
                .collect()
        })
}

/// The opened fields of a transport document's body, beside its public ones in `d`.
fn show_body(
    d: &mut Value,
    notify_parties: &[String],
    vessel_name: &str,
    voyage: &str,
    goods: &[portledger_ledger::documents::transport::GoodsLine],
) {
    d["notify_parties"] = json!(notify_parties);
    d["vessel_name"] = json!(vessel_name);
    d["voyage"] = json!(voyage);
    d["goods"] = json!(goods);
}

/// Adds a transport document's confidential fields (`notify_parties`, `vessel_name`, `voyage`,
/// `goods`, `dcsa`) into its `document` when `reader` opens it; `sealed` says whether it did.
pub fn transport_document(v: &mut Value, reader: Option<&Keypair>) {
    match reader.map(|k| transport_key(v, k)) {
        Some(Ok((_, plain))) => {
            let d = &mut v["document"];
            show_body(
                d,
                &plain.notify_parties,
                &plain.vessel_name,
                &plain.voyage,
                &plain.goods,
            );
            d["dcsa"] = json!(plain.dcsa);
            v["sealed"] = json!("opened with your key; matches its commitment and its record");
        }
        Some(Err(ClientError::Input(m))) => v["sealed"] = json!(format!("not readable: {m}")),
        Some(Err(e)) => v["sealed"] = json!(format!("not readable: {e}")),
        None => v["sealed"] = json!("not readable without --key"),
    }
}

/// The same for a case view's `transport_document` (its `body` and `keys`).
pub fn case_document(v: &mut Value, reader: Option<&Keypair>) {
    let c = &v["transport_document"];
    let wraps: Vec<KeyWrap> = serde_json::from_value(c["keys"].clone()).unwrap_or_default();
    let body: Option<Sealed> = serde_json::from_value(c["body"].clone()).ok();
    let opened = match (reader, body) {
        (Some(k), Some(b)) => DecryptionKey::of(k)
            .unwrap_any(&wraps)
            .and_then(|key| key.open::<portledger_ledger::documents::transport::TransportBody>(&b))
            .map_err(|e| e.to_string()),
        (None, _) => Err("not readable without --key".to_string()),
        (_, None) => Err("no sealed body".to_string()),
    };
    match opened {
        Ok(b) => {
            let d = &mut v["transport_document"];
            show_body(d, &b.notify_parties, &b.vessel_name, &b.voyage, &b.goods);
            d["sealed"] = json!("opened with your key; matches its commitment");
        }
        Err(e) => v["transport_document"]["sealed"] = json!(format!("not readable: {e}")),
    }
    if let (Some(k), Some(ds)) = (reader, v["declarations"].as_array_mut()) {
        for d in ds {
            open_duty(&mut d["duty"], k, false);
        }
    }
}
