//! The HTTP API (`/v1`, JSON), described by `/v1/openapi.json`, plus `/metrics`.
//!
//! Errors are `{"error": {"code": "...", "message": "..."}}` with a 4xx status for the caller's
//! fault and 5xx for the node's.

mod auth;
mod case;
mod chain;
mod documents;
mod events;
mod governance;
mod openapi;
mod tracking;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portledger_ledger::{Hash, PublicKey};
use serde_json::{json, Value};

use crate::shared::Shared;
use crate::submission::Submissions;
pub use auth::ReplayGuard;

/// What every handler gets.
#[derive(Clone)]
pub struct ApiState {
    /// The node's shared state.
    pub shared: Arc<Shared>,
    /// Submission intake: checks, records and gossips submitted transactions, in batches.
    pub submissions: Submissions,
    /// The nonces of signed reads within the clock window.
    pub reads: Arc<ReplayGuard>,
}

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    /// Structured fields beside `code` and `message` (a refusal's [`RuleError::fields`]).
    fields: serde_json::Map<String, Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: serde_json::Map::new(),
        }
    }

    /// 422: the ledger's rules refuse the transaction; the refusal's code, message and fields.
    pub fn refused(e: &portledger_ledger::RuleError) -> ApiError {
        ApiError {
            fields: e.fields(),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 400.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = self.fields;
        error.insert("code".into(), Value::String(self.code));
        error.insert("message".into(), Value::String(self.message));
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

/// Largest request body: a transaction in JSON is at most a few times its binary size.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The router. Public, unsigned: status, health, genesis, the OpenAPI document, transaction
/// submission (the transaction is signed), whether a file is anchored (by whom and when only),
/// and `/metrics` unless `metrics_on_api` is false (it is then served on its own address,
/// [`metrics_router`]). Everything else requires a signed read ([`auth`]).
pub fn router(state: ApiState, metrics_on_api: bool) -> Router {
    let protected = Router::new()
        .route("/v1/participants", get(chain::participants))
        .route("/v1/accounts/{party}", get(chain::account))
        .route("/v1/transactions/{hash}", get(chain::transaction))
        .route("/v1/blocks/latest", get(chain::latest_block))
        .route("/v1/blocks/{height}", get(chain::block))
        .merge(documents::routes::<documents::TransportDocuments>())
        .route("/v1/bl/{reference}/tracking", get(tracking::bl_tracking))
        .route("/v1/bl/{reference}/case", get(case::case))
        .route("/v1/bl/{reference}/case/proof", get(case::case_proof))
        .route("/v1/bl/{reference}/declarations", get(case::declarations))
        .route("/v1/customs/queue", get(case::queue))
        .route("/v1/containers/{container}", get(tracking::container))
        .merge(documents::routes::<documents::Credits>())
        .merge(documents::routes::<documents::Declarations>())
        .merge(documents::history_routes::<documents::Anchors>())
        .route(
            "/v1/parties/{party}/documents",
            get(documents::party_documents),
        )
        .route("/v1/events", get(events::stream))
        .route("/v1/gov/proposals", get(governance::list))
        .merge(documents::routes::<governance::Proposals>())
        .route("/v1/gov/validators", get(governance::validators))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_reader,
        ));
    let mut public = Router::new()
        .route("/v1/status", get(chain::status))
        .route("/v1/health", get(chain::health))
        .route("/v1/genesis", get(chain::genesis))
        .route("/v1/transactions", post(chain::submit))
        .route(
            <documents::Anchors as documents::Resource>::PATH,
            get(documents::anchor),
        )
        .route("/v1/openapi.json", get(openapi::document));
    if metrics_on_api {
        public = public.route("/metrics", get(metrics));
    }
    let public = public.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::optional_reader,
    ));
    Router::new()
        .merge(protected)
        .merge(public)
        .fallback(|| async { ApiError::not_found("no such endpoint; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// `/metrics` alone, for its own listen address (`metrics_listen` in the config).
pub fn metrics_router(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(axum::extract::State(s): axum::extract::State<ApiState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.shared.metrics.encode(),
    )
}

/// Resolves a party named by alias or public key hex.
pub fn resolve_party(shared: &Shared, party: &str) -> ApiResult<PublicKey> {
    if let Some(k) = shared.key_of(party) {
        return Ok(k);
    }
    PublicKey::from_hex(party).map_err(|_| {
        ApiError::bad_request(
            "unknown_party",
            format!("{party:?} is neither a registered alias nor a public key in hex"),
        )
    })
}

/// Parses a hash in hex.
pub fn parse_hash(s: &str) -> ApiResult<Hash> {
    Hash::from_hex(s).map_err(|e| ApiError::bad_request("invalid_hash", e.to_string()))
}

/// A party shown as its alias, or its key when it has none.
pub fn show_party(shared: &Shared, key: &PublicKey) -> String {
    shared.alias(key).unwrap_or_else(|| key.to_hex())
}
