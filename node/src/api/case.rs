//! The case of a transport document (`GET /v1/bl/{reference}/case`), the declarations naming it
//! (`GET /v1/bl/{reference}/declarations`) and the customs queue (`GET /v1/customs/queue`).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use portledger_ledger::access::{may_read, Reader};
use portledger_ledger::case::{customs_queue, Case, CaseError};
use portledger_ledger::date::format_ms;
use portledger_ledger::{DocumentKey, Store};
use serde_json::{json, Value};

use super::documents::{Declarations, Resource};
use super::{show_party, ApiError, ApiResult, ApiState};

fn missing(reference: &str) -> ApiError {
    ApiError::not_found(format!("no transport document with reference {reference}"))
}

/// `GET /v1/bl/{reference}/case`: the summary first (`summary`, `released`), then the document,
/// its possession chain, credits, declarations, anchored documents and containers, as of
/// `height`; `documents` lists every document of the case. 404 for an unknown reference or one
/// the reader may not read; the parts it may not read are left out ([`Case::visible_to`]).
pub async fn case(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    // State, tip and records under one lock: the store may already hold the next block.
    let (case, tip) = s
        .shared
        .read_state_at(|state, tip| {
            let key = DocumentKey::TransportDocument(reference.clone());
            if !may_read(state, &reader, &key) {
                return Err(CaseError::UnknownDocument(reference.clone()));
            }
            Case::load_at(s.shared.store(), state, &reference, tip.height)
                .map(|c| (c.visible_to(state, &reader), tip))
        })
        .map_err(|e| match e {
            CaseError::UnknownDocument(r) => missing(&r),
            CaseError::Store(e) => ApiError::internal(e),
        })?;
    let mut v = serde_json::to_value(&case).map_err(ApiError::internal)?;
    let head = json!({
        "reference": reference,
        "height": tip.height,
        "time": format_ms(tip.time_ms),
        "summary": case.summary(),
        "released": case.fully_released(),
        "documents": case.documents(),
    });
    if let (Some(obj), Value::Object(head)) = (v.as_object_mut(), head) {
        for (k, x) in head {
            obj.insert(k, x);
        }
    }
    Ok(Json(v))
}

/// `GET /v1/bl/{reference}/case/proof`: one proof of the whole case (every document of
/// [`Case::documents`]): their histories with inclusion proofs and certificates, and their
/// records and history heads proven against the state root at the tip.
pub async fn case_proof(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = s
        .shared
        .case_proof_snapshot(&reference, &reader)
        .map_err(|e| match e {
            CaseError::UnknownDocument(r) => missing(&r),
            CaseError::Store(e) => ApiError::internal(e),
        })?;
    let proof = portledger_ledger::proof::build(s.shared.store(), &s.shared.genesis, snapshot)
        .map_err(ApiError::internal)?
        .ok_or_else(|| missing(&reference))?;
    Ok(Json(
        serde_json::to_value(&proof).map_err(ApiError::internal)?,
    ))
}

/// `GET /v1/bl/{reference}/declarations`: every customs declaration (import and export) naming
/// the document, in the order lodged, each as `GET /v1/customs/{number}` shows it.
pub async fn declarations(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let found = s.shared.read_state(|state| {
        may_read(
            state,
            &reader,
            &DocumentKey::TransportDocument(reference.clone()),
        )
        .then(|| {
            let mut list = portledger_ledger::StateView::declarations_for(state, &reference);
            list.retain(|d| {
                may_read(
                    state,
                    &reader,
                    &DocumentKey::Declaration(d.data.number.clone()),
                )
            });
            list
        })
    });
    let list = found.ok_or_else(|| missing(&reference))?;
    let declarations: Vec<Value> = list
        .into_iter()
        .map(|d| Declarations::show(&s, d))
        .collect();
    Ok(Json(json!({
        "reference": reference,
        "declarations": declarations,
    })))
}

/// `GET /v1/customs/queue`: the declarations customs has to act on (LODGED, ACCEPTED, HELD,
/// DUTY_PAID), the longest waiting first, each with what customs is to do and since when. A
/// reader other than customs or the port sees only the declarations it may read (its own).
pub async fn queue(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
) -> ApiResult<Json<Value>> {
    let (queue, height) = s.shared.read_state_at(|state, tip| {
        let mut q = customs_queue(state);
        q.retain(|d| may_read(state, &reader, &DocumentKey::Declaration(d.number.clone())));
        (q, tip.height)
    });
    let mut items = Vec::with_capacity(queue.len());
    for q in queue {
        let history = s
            .shared
            .store()
            .history(&DocumentKey::Declaration(q.number.clone()))
            .map_err(ApiError::internal)?;
        let lodged = history.first().map(|e| format_ms(e.time_ms));
        let since = history
            .iter()
            .rev()
            .find(|e| e.height <= q.waiting_since_height)
            .map(|e| format_ms(e.time_ms));
        items.push(json!({
            "number": q.number,
            "direction": q.direction,
            "transport_document": q.transport_document,
            "declarant": show_party(&s.shared, &q.declarant),
            "state": q.state,
            "awaiting": q.awaiting,
            "waiting_since_height": q.waiting_since_height,
            "waiting_since": since,
            "lodged_at": lodged,
        }));
    }
    Ok(Json(json!({ "height": height, "declarations": items })))
}
