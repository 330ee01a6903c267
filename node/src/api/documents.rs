//! Document state and history by reference, and a party's documents.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use portledger_ledger::access::{may_read, AnchorSummary, Reader};
use portledger_ledger::{date, DocumentKey, Store};
use serde_json::{json, Value};

use super::{parse_hash, resolve_party, show_party, ApiError, ApiResult, ApiState};

/// 404 unless `reader` may read `key` ([`may_read`]): a document the reader may not see
/// answers exactly like one that does not exist.
pub fn readable(
    s: &ApiState,
    reader: &Reader,
    key: &DocumentKey,
    missing: String,
) -> ApiResult<()> {
    if s.shared.read_state(|state| may_read(state, reader, key)) {
        Ok(())
    } else {
        Err(ApiError::not_found(missing))
    }
}

fn history(s: &ApiState, key: DocumentKey) -> ApiResult<Json<Value>> {
    let entries = s.shared.store().history(&key).map_err(ApiError::internal)?;
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

/// The proof of `documents` (the subject first): their histories, and their records and history
/// heads proven against the state root at the tip. 404 if the subject has no committed history.
pub fn proof(s: &ApiState, documents: &[DocumentKey]) -> ApiResult<Json<Value>> {
    let snapshot = s.shared.proof_snapshot(documents);
    let p = portledger_ledger::proof::build(s.shared.store(), &s.shared.genesis, snapshot)
        .map_err(ApiError::internal)?
        .filter(|p| {
            p.state
                .documents
                .first()
                .is_some_and(|d| !d.entries.is_empty())
        });
    let Some(p) = p else {
        return Err(ApiError::not_found(format!(
            "no committed history for {:?}",
            documents.first()
        )));
    };
    Ok(Json(serde_json::to_value(&p).map_err(ApiError::internal)?))
}

/// A document family as the API serves it: `GET {PATH}` (its record), `{PATH}/history` and
/// `{PATH}/proof`, all generic over the family ([`routes`]).
pub trait Resource: Send + Sync + 'static {
    /// The route, with the key as its one path parameter.
    const PATH: &'static str;
    /// The document a path parameter names.
    fn key(param: String) -> ApiResult<DocumentKey>;
    /// The record.
    type Record;
    /// The record a path parameter names, if it exists (read under the chain lock).
    fn get(state: &portledger_ledger::State, param: &str) -> ApiResult<Option<Self::Record>>;
    /// The record as JSON (without the chain lock: naming parties reads it again).
    fn show(s: &ApiState, record: Self::Record) -> Value;
    /// What the 404 says.
    fn missing(param: &str) -> String;
}

/// The three routes of a family.
pub fn routes<R: Resource>() -> Router<ApiState> {
    history_routes::<R>().route(R::PATH, get(one::<R>))
}

/// A family's history and proof routes.
pub fn history_routes<R: Resource>() -> Router<ApiState> {
    Router::new()
        .route(&format!("{}/history", R::PATH), get(history_of::<R>))
        .route(&format!("{}/proof", R::PATH), get(proof_of::<R>))
}

async fn one<R: Resource>(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(p): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = R::key(p.clone())?;
    let record = s.shared.read_state(|state| {
        R::get(state, &p).map(|r| r.filter(|_| may_read(state, &reader, &key)))
    })?;
    let record = record.ok_or_else(|| ApiError::not_found(R::missing(&p)))?;
    Ok(Json(R::show(&s, record)))
}

async fn history_of<R: Resource>(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(p): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = R::key(p.clone())?;
    readable(&s, &reader, &key, R::missing(&p))?;
    history(&s, key)
}

async fn proof_of<R: Resource>(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(p): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = R::key(p.clone())?;
    readable(&s, &reader, &key, R::missing(&p))?;
    proof(&s, &[key])
}

/// `GET /v1/documents/{hash}`, public: anyone learns who anchored a file, when, and whether
/// it still stands ([`AnchorSummary`]; whoever asks holds the file); a signed request by a
/// reader of the record ([`may_read`]) gets the whole record.
pub async fn anchor(
    State(s): State<ApiState>,
    reader: Option<Extension<Reader>>,
    Path(h): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = Anchors::key(h.clone())?;
    let found = s.shared.read_state(|state| {
        Anchors::get(state, &h).map(|a| {
            a.map(|a| {
                let full = reader
                    .as_ref()
                    .is_some_and(|Extension(r)| may_read(state, r, &key));
                (a, full)
            })
        })
    })?;
    let (a, full) = found.ok_or_else(|| ApiError::not_found(Anchors::missing(&h)))?;
    if full {
        return Ok(Json(Anchors::show(&s, a)));
    }
    let summary = AnchorSummary::of(&a);
    Ok(Json(json!({
        "hash": summary.hash,
        "issuer": show_party(&s.shared, &summary.issuer),
        "issuer_role": summary.issuer_role,
        "by_authority": a.by_authority(),
        "height": summary.anchored_height,
        "time": date::format_ms(summary.anchored_time_ms),
        "revoked": summary.revoked,
        "superseded_by": summary.superseded_by,
        "summary_only": true,
    })))
}

/// `/v1/bl/{reference}`: a transport document, its history (the eBL's, with the declarations
/// and tracking events that name it) and its proof, provable offline against genesis.
pub struct TransportDocuments;

impl Resource for TransportDocuments {
    const PATH: &'static str = "/v1/bl/{reference}";
    fn key(param: String) -> ApiResult<DocumentKey> {
        Ok(DocumentKey::TransportDocument(param))
    }
    type Record = portledger_ledger::documents::transport::TransportDocument;
    fn get(state: &portledger_ledger::State, r: &str) -> ApiResult<Option<Self::Record>> {
        Ok(state.transport_documents.get(r).cloned())
    }
    fn show(s: &ApiState, doc: Self::Record) -> Value {
        json!({
            "reference": doc.data.reference,
            "state": doc.state,
            "possessor": opt_party(s, doc.possessor.as_ref()),
            "endorsee": opt_party(s, doc.endorsee.as_ref()),
            "blank_endorsed": doc.blank_endorsed,
            "carrier": show_party(&s.shared, &doc.carrier),
            "shipper": show_party(&s.shared, &doc.data.shipper),
            "consignee": opt_party(s, doc.data.consignee.as_ref()),
            "kind": doc.data.kind,
            "to_order": doc.data.to_order,
            "freight_paid": doc.freight_paid,
            "surrendered_by": opt_party(s, doc.surrendered_by.as_ref()),
            "delivery_order_to": opt_party(s, doc.delivery_order_to.as_ref()),
            "released_containers": doc.released_containers,
            "replaces": doc.data.replaces,
            "replaced_by": doc.replaced_by,
            "presented_under": doc.presented_under,
            "hand_back_until": doc.handover.as_ref().map(|h| {
                portledger_ledger::date::format_ms(h.at_ms.saturating_add(
                    portledger_ledger::documents::transport::HAND_BACK_WINDOW_MS,
                ))
            }),
            "document": doc.data,
            "shared_keys": doc.shared,
        })
    }
    fn missing(r: &str) -> String {
        format!("no transport document with reference {r}")
    }
}

/// `/v1/lc/{number}`: a letter of credit.
pub struct Credits;

impl Resource for Credits {
    const PATH: &'static str = "/v1/lc/{number}";
    fn key(param: String) -> ApiResult<DocumentKey> {
        Ok(DocumentKey::Credit(param))
    }
    type Record = portledger_ledger::documents::credit::LetterOfCredit;
    fn get(state: &portledger_ledger::State, n: &str) -> ApiResult<Option<Self::Record>> {
        Ok(state.credits.get(n).cloned())
    }
    fn show(s: &ApiState, lc: Self::Record) -> Value {
        json!({
            "number": lc.terms.number,
            "state": lc.state,
            "applicant": show_party(&s.shared, &lc.terms.applicant),
            "beneficiary": show_party(&s.shared, &lc.terms.beneficiary),
            "issuing_bank": show_party(&s.shared, &lc.terms.issuing_bank),
            "advising_bank": opt_party(s, lc.terms.advising_bank.as_ref()),
            "confirming_bank": opt_party(s, lc.terms.confirming_bank.as_ref()),
            "expiry_date": lc.terms.expiry_date,
            "pending_amendment": lc.pending_amendment,
            "presentation": lc.presentation,
            "payment_reference": lc.payment_reference,
            "terms": lc.terms,
        })
    }
    fn missing(n: &str) -> String {
        format!("no letter of credit with number {n}")
    }
}

/// `/v1/customs/{number}`: a customs declaration.
pub struct Declarations;

impl Resource for Declarations {
    const PATH: &'static str = "/v1/customs/{number}";
    fn key(param: String) -> ApiResult<DocumentKey> {
        Ok(DocumentKey::Declaration(param))
    }
    type Record = portledger_ledger::documents::customs::CustomsDeclaration;
    fn get(state: &portledger_ledger::State, n: &str) -> ApiResult<Option<Self::Record>> {
        Ok(state.declarations.get(n).cloned())
    }
    fn show(s: &ApiState, d: Self::Record) -> Value {
        json!({
            "number": d.data.number,
            "state": d.state,
            "direction": d.data.direction,
            "declarant": show_party(&s.shared, &d.declarant),
            "transport_document": d.data.transport_document,
            "containers": d.containers,
            "reason": d.reason,
            "duty": d.duty,
            "declaration": d.data,
        })
    }
    fn missing(n: &str) -> String {
        format!("no customs declaration with number {n}")
    }
}

/// `/v1/documents/{hash}`: whether a file is anchored, by whom, when, and if revoked.
pub struct Anchors;

impl Resource for Anchors {
    const PATH: &'static str = "/v1/documents/{hash}";
    fn key(param: String) -> ApiResult<DocumentKey> {
        Ok(DocumentKey::Anchor(parse_hash(&param)?))
    }
    type Record = portledger_ledger::documents::anchor::AnchoredDocument;
    fn get(state: &portledger_ledger::State, h: &str) -> ApiResult<Option<Self::Record>> {
        let hash = parse_hash(h)?;
        Ok(state.anchors.get(&hash).cloned())
    }
    fn show(s: &ApiState, a: Self::Record) -> Value {
        json!({
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
        })
    }
    fn missing(h: &str) -> String {
        format!("no document with hash {h} is anchored")
    }
}

/// `GET /v1/parties/{party}/documents`: the documents a party is involved in.
///
/// Only the documents the reader may read are listed.
pub async fn party_documents(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(party): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = resolve_party(&s.shared, &party)?;
    let mut docs = s
        .shared
        .store()
        .party_documents(&key)
        .map_err(ApiError::internal)?;
    s.shared
        .read_state(|state| docs.retain(|d| may_read(state, &reader, d)));
    Ok(Json(json!({ "party": party, "documents": docs })))
}
