//! `GET /v1/events`: committed transactions as server-sent events, optionally filtered by
//! document reference (`?reference=`), party (`?party=`, alias or key) or container
//! (`?container=`: only transactions that recorded a tracking event of that container).

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use futures::{Stream, StreamExt};
use portledger_ledger::access::{may_read, may_read_tracking, Reader};
use portledger_ledger::{DocumentKey, PublicKey};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use super::{resolve_party, ApiResult, ApiState};
use crate::metrics::Stage;
use crate::shared::CommittedEvent;

/// Filters of the event stream.
#[derive(Debug, Deserialize)]
pub struct EventFilter {
    /// A document reference (eBL reference, credit or declaration number, anchored hash).
    pub reference: Option<String>,
    /// A party, by alias or public key hex.
    pub party: Option<String>,
    /// A container (ISO 6346): only tracking events of that container.
    pub container: Option<String>,
}

fn mentions(doc: &DocumentKey, reference: &str) -> bool {
    match doc {
        DocumentKey::TransportDocument(r)
        | DocumentKey::Credit(r)
        | DocumentKey::Declaration(r)
        | DocumentKey::Organisation(r)
        | DocumentKey::Proposal(r) => r == reference,
        DocumentKey::Anchor(h) => h.to_hex() == reference,
        DocumentKey::Participant(k) => k.to_hex() == reference,
    }
}

/// The stream.
///
/// Only what the reader may read is delivered ([`visible`]).
pub async fn stream(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Query(f): Query<EventFilter>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let party: Option<PublicKey> = match &f.party {
        Some(p) => Some(resolve_party(&s.shared, p)?),
        None => None,
    };
    let reference = f.reference.clone();
    let container = f.container.clone();
    let rx = s.shared.subscribe_events();
    let delivered = s.shared.metrics.stage(Stage::PersistedToDelivered);
    let shared = s.shared.clone();
    let stream = BroadcastStream::new(rx).filter_map(move |item| {
        let shared = shared.clone();
        let reader = reader.clone();
        let reference = reference.clone();
        let container = container.clone();
        let delivered = delivered.clone();
        async move {
            let ev: CommittedEvent = match item {
                Ok(ev) => ev,
                // A slow reader missed events: tell it, so it can re-read state.
                Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                    return Some(Ok(Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\": {n}}}"))));
                }
            };
            let ev = shared.read_state(|state| visible(state, &reader, ev))?;
            if let Some(r) = &reference {
                if !ev.documents.iter().any(|d| mentions(d, r)) {
                    return None;
                }
            }
            if let Some(c) = &container {
                if !ev.tracking.iter().any(|t| &t.container == c) {
                    return None;
                }
            }
            if let Some(p) = &party {
                if !ev.parties.contains(p) {
                    return None;
                }
            }
            let data = serde_json::to_string(&ev).unwrap_or_default();
            if let Some(at) = ev.persisted_at {
                delivered.observe(at.elapsed().as_secs_f64());
            }
            Some(Ok(Event::default().event("committed").data(data)))
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The event as `reader` may see it: none when it touched no document the reader may read;
/// else only the documents and tracking events it may read, and the parties only when it may
/// read every document the transaction touched.
pub fn visible(
    state: &portledger_ledger::State,
    reader: &Reader,
    mut ev: CommittedEvent,
) -> Option<CommittedEvent> {
    let before = ev.documents.len();
    ev.documents.retain(|d| may_read(state, reader, d));
    if ev.documents.is_empty() {
        return None;
    }
    if ev.documents.len() < before {
        ev.parties.clear();
    }
    ev.tracking
        .retain(|t| may_read_tracking(state, reader, &t.reference));
    Some(ev)
}
