//! Document state and history by reference, and a party's documents.

use axum::extract::{Path, State};
use axum::Json;
use portledger_ledger::{date, DocumentKey, Store};
use serde_json::{json, Value};

use super::{parse_hash, resolve_party, show_party, ApiError, ApiResult, ApiState};
use crate::shared::read;

fn history(s: &ApiState, key: DocumentKey) -> ApiResult<Json<Value>> {
    let entries = s.shared.store.history(&key).map_err(ApiError::internal)?;
    let events: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "height": e.height,
                "time": date::format_ms(e.time_ms),
                "time_ms": e.time_ms,
                "signer": show_party(&s.shared, &e.signer),
                "signer_key": e.signer,
                "action": e.action,
                "tx_hash": e.tx_hash,
                "index": e.index,
            })
        })
        .collect();
    Ok(Json(json!({ "document": key, "events": events })))
}

fn opt_party(s: &ApiState, k: Option<&portledger_ledger::PublicKey>) -> Value {
    k.map_or(Value::Null, |k| Value::String(show_party(&s.shared, k)))
}

fn proof(s: &ApiState, key: DocumentKey) -> ApiResult<Json<Value>> {
    let p = portledger_ledger::proof::build(&s.shared.store, &s.shared.genesis, &key)
        .map_err(ApiError::internal)?;
    if p.entries.is_empty() {
        return Err(ApiError::not_found(format!(
            "no committed history for {key:?}"
        )));
    }
    Ok(Json(serde_json::to_value(&p).map_err(ApiError::internal)?))
}

/// `GET /v1/bl/{reference}/proof`: the eBL's history, provable offline against genesis.
pub async fn bl_proof(State(s): State<ApiState>, Path(r): Path<String>) -> ApiResult<Json<Value>> {
    proof(&s, DocumentKey::TransportDocument(r))
}

/// `GET /v1/lc/{number}/proof`.
pub async fn lc_proof(State(s): State<ApiState>, Path(n): Path<String>) -> ApiResult<Json<Value>> {
    proof(&s, DocumentKey::Credit(n))
}

/// `GET /v1/customs/{number}/proof`.
pub async fn declaration_proof(
    State(s): State<ApiState>,
    Path(n): Path<String>,
) -> ApiResult<Json<Value>> {
    proof(&s, DocumentKey::Declaration(n))
}

/// `GET /v1/documents/{hash}/proof`.
pub async fn anchored_proof(
    State(s): State<ApiState>,
    Path(h): Path<String>,
) -> ApiResult<Json<Value>> {
    proof(&s, DocumentKey::Anchor(parse_hash(&h)?))
}

/// `GET /v1/bl/{reference}`.
pub async fn bl(State(s): State<ApiState>, Path(r): Path<String>) -> ApiResult<Json<Value>> {
    let doc = read(&s.shared.chain)
        .state()
        .transport_documents
        .get(&r)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no transport document with reference {r}")))?;
    Ok(Json(json!({
        "reference": doc.data.reference,
        "state": doc.state,
        "possessor": opt_party(&s, doc.possessor.as_ref()),
        "endorsee": opt_party(&s, doc.endorsee.as_ref()),
        "blank_endorsed": doc.blank_endorsed,
        "carrier": show_party(&s.shared, &doc.carrier),
        "shipper": show_party(&s.shared, &doc.data.shipper),
        "consignee": opt_party(&s, doc.data.consignee.as_ref()),
        "kind": doc.data.kind,
        "to_order": doc.data.to_order,
        "freight_paid": doc.freight_paid,
        "surrendered_by": opt_party(&s, doc.surrendered_by.as_ref()),
        "delivery_order_to": opt_party(&s, doc.delivery_order_to.as_ref()),
        "released_containers": doc.released_containers,
        "replaces": doc.data.replaces,
        "replaced_by": doc.replaced_by,
        "presented_under": doc.presented_under,
        "document": doc.data,
    })))
}

/// `GET /v1/bl/{reference}/history`.
pub async fn bl_history(
    State(s): State<ApiState>,
    Path(r): Path<String>,
) -> ApiResult<Json<Value>> {
    history(&s, DocumentKey::TransportDocument(r))
}

/// `GET /v1/lc/{number}`.
pub async fn lc(State(s): State<ApiState>, Path(n): Path<String>) -> ApiResult<Json<Value>> {
    let lc = read(&s.shared.chain)
        .state()
        .credits
        .get(&n)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no letter of credit with number {n}")))?;
    Ok(Json(json!({
        "number": lc.terms.number,
        "state": lc.state,
        "applicant": show_party(&s.shared, &lc.terms.applicant),
        "beneficiary": show_party(&s.shared, &lc.terms.beneficiary),
        "issuing_bank": show_party(&s.shared, &lc.terms.issuing_bank),
        "advising_bank": opt_party(&s, lc.terms.advising_bank.as_ref()),
        "confirming_bank": opt_party(&s, lc.terms.confirming_bank.as_ref()),
        "currency": lc.terms.currency,
        "amount_minor": lc.terms.amount_minor,
        "expiry_date": lc.terms.expiry_date,
        "pending_amendment": lc.pending_amendment,
        "presentation": lc.presentation,
        "payment_reference": lc.payment_reference,
        "terms": lc.terms,
    })))
}

/// `GET /v1/lc/{number}/history`.
pub async fn lc_history(
    State(s): State<ApiState>,
    Path(n): Path<String>,
) -> ApiResult<Json<Value>> {
    history(&s, DocumentKey::Credit(n))
}

/// `GET /v1/customs/{number}`.
pub async fn declaration(
    State(s): State<ApiState>,
    Path(n): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = read(&s.shared.chain)
        .state()
        .declarations
        .get(&n)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no customs declaration with number {n}")))?;
    Ok(Json(json!({
        "number": d.data.number,
        "state": d.state,
        "direction": d.data.direction,
        "declarant": show_party(&s.shared, &d.declarant),
        "transport_document": d.data.transport_document,
        "containers": d.containers,
        "reason": d.reason,
        "duty": d.duty,
        "declaration": d.data,
    })))
}

/// `GET /v1/customs/{number}/history`.
pub async fn declaration_history(
    State(s): State<ApiState>,
    Path(n): Path<String>,
) -> ApiResult<Json<Value>> {
    history(&s, DocumentKey::Declaration(n))
}

/// `GET /v1/documents/{hash}`: whether a file is anchored, by whom, when, and if revoked.
pub async fn anchored(State(s): State<ApiState>, Path(h): Path<String>) -> ApiResult<Json<Value>> {
    let hash = parse_hash(&h)?;
    let a = read(&s.shared.chain)
        .state()
        .anchors
        .get(&hash)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no document with hash {hash} is anchored")))?;
    Ok(Json(json!({
        "hash": a.hash,
        "type": a.doc_type,
        "issuer": show_party(&s.shared, &a.issuer),
        "issuer_role": a.issuer_role,
        "by_authority": a.by_authority(),
        "references": a.references,
        "height": a.anchored_height,
        "time": date::format_ms(a.anchored_time_ms),
        "revoked": a.revoked,
        "superseded_by": a.superseded_by,
    })))
}

/// `GET /v1/documents/{hash}/history`.
pub async fn anchored_history(
    State(s): State<ApiState>,
    Path(h): Path<String>,
) -> ApiResult<Json<Value>> {
    history(&s, DocumentKey::Anchor(parse_hash(&h)?))
}

/// `GET /v1/parties/{party}/documents`: the documents a party is involved in.
pub async fn party_documents(
    State(s): State<ApiState>,
    Path(party): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = resolve_party(&s.shared, &party)?;
    let docs = s
        .shared
        .store
        .party_documents(&key)
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "party": party, "documents": docs })))
}
