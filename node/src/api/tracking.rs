//! Shipment tracking: where a container is, and the journey of a transport document's
//! containers (`GET /v1/containers/{container}`, `GET /v1/bl/{reference}/tracking`).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use portledger_ledger::access::{may_read_tracking, Reader};
use portledger_ledger::date::format_ms;
use portledger_ledger::documents::tracking::TrackingRecord;
use portledger_ledger::Store;
use serde_json::{json, Value};

use super::{show_party, ApiError, ApiResult, ApiState};

/// One committed event as the API shows it.
fn event_json(s: &ApiState, r: &TrackingRecord) -> Value {
    json!({
        "code": r.event.code,
        "description": r.event.code.describe(),
        "container": r.event.container,
        "reference": r.event.reference,
        "location": r.event.location,
        "event_time": format_ms(r.event.event_time_ms),
        "event_time_ms": r.event.event_time_ms,
        "recorded_by": show_party(&s.shared, &r.signer),
        "recorded_by_key": r.signer,
        "height": r.height,
        "block_time": format_ms(r.time_ms),
        "block_time_ms": r.time_ms,
        "tx_hash": r.tx_hash,
        "index": r.index,
    })
}

/// The current position: the latest event (records are oldest first).
fn position_json(s: &ApiState, records: &[TrackingRecord]) -> Value {
    records.last().map_or(Value::Null, |r| event_json(s, r))
}

/// `GET /v1/containers/{container}`: the container's position and every event, over all
/// transport documents the reader may follow ([`may_read_tracking`]); 404 when none names it.
pub async fn container(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(container): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut records = s
        .shared
        .store()
        .container_tracking(&container)
        .map_err(ApiError::internal)?;
    s.shared.read_state(|state| {
        records.retain(|r| may_read_tracking(state, &reader, &r.event.reference));
    });
    if records.is_empty() {
        return Err(ApiError::not_found(format!(
            "no tracking events for container {container}"
        )));
    }
    let events: Vec<Value> = records.iter().map(|r| event_json(&s, r)).collect();
    Ok(Json(json!({
        "container": container,
        "position": position_json(&s, &records),
        "events": events,
    })))
}

/// `GET /v1/bl/{reference}/tracking`: the document's latest event, each container's position
/// (`null` before its first event) and every event; 404 for an unknown document or one the
/// reader may not follow.
pub async fn bl_tracking(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Value>> {
    let doc = s
        .shared
        .read_state(|state| {
            state
                .transport_documents
                .get(&reference)
                .filter(|_| may_read_tracking(state, &reader, &reference))
                .cloned()
        })
        .ok_or_else(|| {
            ApiError::not_found(format!("no transport document with reference {reference}"))
        })?;
    let records = s
        .shared
        .store()
        .document_tracking(&reference)
        .map_err(ApiError::internal)?;
    let containers: Vec<Value> = doc
        .data
        .equipment
        .iter()
        .map(|e| {
            let own: Vec<TrackingRecord> = records
                .iter()
                .filter(|r| r.event.container == e.container)
                .cloned()
                .collect();
            json!({"container": e.container, "position": position_json(&s, &own)})
        })
        .collect();
    let events: Vec<Value> = records.iter().map(|r| event_json(&s, r)).collect();
    Ok(Json(json!({
        "reference": reference,
        "port_of_loading": doc.data.port_of_loading,
        "port_of_discharge": doc.data.port_of_discharge,
        "position": position_json(&s, &records),
        "containers": containers,
        "events": events,
    })))
}
