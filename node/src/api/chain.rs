//! Status, genesis, participants, transactions and blocks.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use portledger_ledger::access::{may_read, Reader};
use portledger_ledger::block::Block;
use portledger_ledger::{date, Store, Transaction};
use serde_json::{json, Value};

use super::{parse_hash, resolve_party, show_party, ApiError, ApiResult, ApiState};
use crate::mempool::{Admission, MempoolError};
use crate::submission::SubmitError;

/// `GET /v1/status`: the same object as `portledger status --json`.
pub async fn status(State(s): State<ApiState>) -> Json<Value> {
    let sh = &s.shared;
    let tip = sh.tip();
    let live = sh.live();
    let set = sh.validators();
    let signer = live.consensus_key.unwrap_or(sh.node_key);
    let is_validator = set.contains(&signer);
    let validators: Vec<Value> = set
        .members()
        .iter()
        .map(|(name, key)| {
            let up = *key == signer || live.peers.contains(key);
            json!({"alias": name, "public_key": key, "up": up})
        })
        .collect();
    Json(json!({
        "chain_id": sh.genesis.chain_id,
        "height": tip.height,
        "last_block_hash": tip.hash,
        "last_block_time": date::format_ms(tip.time_ms),
        "last_block_time_ms": tip.time_ms,
        "round": live.round,
        "syncing": live.syncing,
        "node_key": sh.node_key,
        "consensus_key": signer,
        "validators": validators,
        "peers": live.peers.iter().collect::<Vec<_>>(),
        "mempool_size": sh.waiting(),
        "signing": is_validator && live.duplicate_key.is_none(),
        "duplicate_key": live.duplicate_key,
    }))
}

/// `GET /v1/health`, public: `{"status": "ok"}` while the node serves, with its height and
/// whether it is catching up.
pub async fn health(State(s): State<ApiState>) -> Json<Value> {
    let live = s.shared.live();
    Json(json!({
        "status": "ok",
        "height": s.shared.tip().height,
        "syncing": live.syncing,
    }))
}

/// `GET /v1/genesis`.
pub async fn genesis(State(s): State<ApiState>) -> Json<Value> {
    Json(serde_json::to_value(&s.shared.genesis).unwrap_or(Value::Null))
}

/// `GET /v1/participants`: every registered participant with its organisation, role and the
/// DCSA party codes and names claimed for it (the party directory).
pub async fn participants(State(s): State<ApiState>) -> Json<Value> {
    let list: Vec<Value> = s.shared.read_state(|state| {
        let mut ids: std::collections::BTreeMap<_, Vec<_>> = std::collections::BTreeMap::new();
        for (id, k) in &state.party_ids {
            ids.entry(*k).or_default().push(id.clone());
        }
        state
            .participants
            .iter()
            .map(|(k, m)| json!({"alias": m.alias, "public_key": k, "encryption_key": m.encryption_key, "organisation": m.organisation, "role": m.role, "revoked_at": m.revoked_at, "party_ids": ids.remove(k).unwrap_or_default()}))
            .collect()
    });
    Json(json!({ "participants": list }))
}

/// `GET /v1/accounts/{party}`: a participant's last committed nonce and the next nonce to use
/// (after any of its transactions waiting in the mempool).
pub async fn account(
    State(s): State<ApiState>,
    Path(party): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = resolve_party(&s.shared, &party)?;
    let (member, committed) = s.shared.read_state(|state| {
        let member = state.participants.get(&key).cloned();
        (member, state.nonces.get(&key).copied().unwrap_or(0))
    });
    let pending = s.shared.pending_nonce(&key);
    Ok(Json(json!({
        "public_key": key,
        "alias": member.as_ref().map(|m| m.alias.clone()),
        "organisation": member.as_ref().map(|m| m.organisation.clone()),
        "role": member.map(|m| m.role),
        "registered": s.shared.alias(&key).is_some(),
        "nonce": committed,
        "next_nonce": pending.unwrap_or(committed).max(committed) + 1,
    })))
}

/// `POST /v1/transactions`: one signed transaction, as JSON or (with
/// `content-type: application/octet-stream`) in the canonical binary encoding.
pub async fn submit(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limit = s.shared.genesis.consensus.max_tx_bytes as usize;
    let binary = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    let tx: Transaction = if binary {
        Transaction::decode(&body, limit)
            .map_err(|e| ApiError::bad_request("malformed_transaction", e.to_string()))?
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "malformed_transaction",
                format!("the body is not a signed transaction in JSON: {e}"),
            )
        })?
    };
    let bytes = tx.encode();
    if bytes.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "transaction_too_large",
            format!(
                "the transaction is {} bytes, the limit is {limit}",
                bytes.len()
            ),
        ));
    }
    // Checked with others in one batch, admitted, recorded (it survives a crash) and gossiped
    // before the answer.
    match s.submissions.submit(tx, bytes).await {
        Ok(Admission::Added(hash)) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"tx_hash": hash, "status": "pending"})),
        )),
        Ok(Admission::Duplicate(hash) | Admission::Queued(hash)) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"tx_hash": hash, "status": "duplicate"})),
        )),
        Err(SubmitError::Refused(MempoolError::Full(n))) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mempool_full",
            format!("mempool full: {n} transactions are waiting; try again shortly"),
        )),
        Err(SubmitError::Refused(MempoolError::Rule(e))) => Err(ApiError::refused(&e)),
        Err(SubmitError::Unavailable(why)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_recorded",
            why,
        )),
    }
}

/// Whether `reader` may read the transaction `tx`: its signer's organisation, and the readers
/// of any document it names (the read matrix); a transaction that is neither answers like one
/// that does not exist.
fn may_read_transaction(s: &ApiState, reader: &Reader, tx: &Transaction) -> bool {
    s.shared.read_state(|state| {
        reader.acts_for(state, &tx.body.signer)
            || tx
                .body
                .payload
                .mentions()
                .iter()
                .any(|d| may_read(state, reader, d))
    })
}

/// `GET /v1/transactions/{hash}`: committed (with height) or pending, if the reader may read it.
pub async fn transaction(
    State(s): State<ApiState>,
    Extension(reader): Extension<Reader>,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    let hash = parse_hash(&hash)?;
    let missing = || ApiError::not_found(format!("no transaction {hash} is committed or pending"));
    let store = s.shared.store();
    if let Some(loc) = store
        .transaction_location(&hash)
        .map_err(ApiError::internal)?
    {
        let block = store
            .block(loc.height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("indexed block missing"))?;
        let tx = block
            .transactions
            .get(loc.index as usize)
            .ok_or_else(|| ApiError::internal("indexed transaction missing"))?;
        if !may_read_transaction(&s, &reader, tx) {
            return Err(missing());
        }
        return Ok(Json(json!({
            "tx_hash": hash,
            "status": "committed",
            "height": loc.height,
            "index": loc.index,
            "time": date::format_ms(block.header.time_ms),
            "signer": show_party(&s.shared, &tx.body.signer),
            "action": tx.body.payload.action(),
            "transaction": tx,
        })));
    }
    if let Some(tx) = s.shared.waiting_transaction(&hash) {
        if may_read_transaction(&s, &reader, &tx) {
            return Ok(Json(
                json!({"tx_hash": hash, "status": "pending", "transaction": tx}),
            ));
        }
    }
    Err(missing())
}

fn block_json(s: &ApiState, height: u64) -> ApiResult<Json<Value>> {
    let store = s.shared.store();
    let block: Block = store
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    let cert = store.certificate(height).map_err(ApiError::internal)?;
    let h = &block.header;
    Ok(Json(json!({
        "height": h.height,
        "hash": block.hash(),
        "previous_hash": h.previous_hash,
        "time": date::format_ms(h.time_ms),
        "proposer": h.proposer,
        "round": h.round,
        "transactions": block.tx_hashes(),
        "block": block,
        "certificate": cert,
    })))
}

/// `GET /v1/blocks/{height}`: header fields, transaction hashes, and the full block with its
/// commit certificate (for `verify-chain`).
pub async fn block(State(s): State<ApiState>, Path(height): Path<u64>) -> ApiResult<Json<Value>> {
    block_json(&s, height)
}

/// `GET /v1/blocks/latest`.
pub async fn latest_block(State(s): State<ApiState>) -> ApiResult<Json<Value>> {
    let h = s.shared.tip().height;
    if h == 0 {
        return Err(ApiError::not_found("no block has been committed yet"));
    }
    block_json(&s, h)
}
