//! `GET /v1/openapi.json`: the API described in OpenAPI 3.1.

use axum::Json;
use serde_json::{json, Value};

fn get(summary: &str, param: Option<(&str, &str)>) -> Value {
    let mut op = json!({
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "404": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    if let Some((name, desc)) = param {
        op["parameters"] = json!([{"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}}]);
    }
    json!({ "get": op })
}

/// The OpenAPI document.
pub async fn document() -> Json<Value> {
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "portledger node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Submit signed trade-document transactions; read chain status, blocks, documents and their histories; follow committed events. Errors are {\"error\": {\"code\", \"message\"}} with 4xx for the caller's fault."
        },
        "paths": {
            "/v1/status": get("Chain id, height, last block, round, validators (up or not), peers", None),
            "/v1/genesis": get("The genesis document", None),
            "/v1/participants": get("Registered participants: alias, key, organisation, role, the height it was revoked at (revoked_at, null while it stands), and the DCSA party codes and names claimed for each (party_ids)", None),
            "/v1/accounts/{party}": get("A participant's last committed nonce and the next nonce to sign with", Some(("party", "alias or public key hex"))),
            "/v1/transactions": {"post": {
                "summary": "Submit one signed transaction (JSON, or canonical bytes with content-type application/octet-stream)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transaction"}}, "application/octet-stream": {}}},
                "responses": {
                    "202": {"description": "Admitted to the mempool and gossiped", "content": {"application/json": {"schema": {"type": "object", "properties": {"tx_hash": {"type": "string"}, "status": {"enum": ["pending", "duplicate"]}}}}}},
                    "400": {"description": "Malformed transaction", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"description": "Too large", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "422": {"description": "A ledger rule refused it; the code names the rule (bad_signature, bad_nonce, wrong_state, not_permitted, ...)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "503": {"description": "Mempool full", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                }
            }},
            "/v1/transactions/{hash}": get("A transaction: committed (height, index) or pending", Some(("hash", "transaction hash, hex"))),
            "/v1/blocks/latest": get("The last committed block", None),
            "/v1/blocks/{height}": get("A block: header fields, transaction hashes, the full block and its commit certificate", Some(("height", "block height"))),
            "/v1/bl/{reference}": get("A transport document's state, possessor and fields", Some(("reference", "transport document reference"))),
            "/v1/bl/{reference}/history": get("Every transaction of a transport document: signer, action, height, time", Some(("reference", "transport document reference"))),
            "/v1/bl/{reference}/proof": get("A self-contained proof of the transport document's history (transactions, Merkle inclusion proofs, block headers, commit certificates), checkable offline against genesis", Some(("reference", "transport document reference"))),
            "/v1/bl/{reference}/tracking": get("The shipment tracking events of a transport document's containers: the current position (latest event: code, location, time, height), each container's position, and every event (code, container, location, event time, recorded by, height, block time, tx hash), oldest first", Some(("reference", "transport document reference"))),
            "/v1/containers/{container}": get("Where a container is: its current position (latest event) and every tracking event recorded for it, over all transport documents, oldest first; 404 when none", Some(("container", "container number, ISO 6346"))),
            "/v1/lc/{number}/proof": get("A self-contained proof of the credit's history", Some(("number", "credit number"))),
            "/v1/customs/{number}/proof": get("A self-contained proof of the declaration's history", Some(("number", "declaration number"))),
            "/v1/documents/{hash}/proof": get("A self-contained proof of the anchored document's history", Some(("hash", "SHA-256 of the file, hex"))),
            "/v1/lc/{number}": get("A letter of credit", Some(("number", "credit number"))),
            "/v1/lc/{number}/history": get("A letter of credit's history", Some(("number", "credit number"))),
            "/v1/customs/{number}": get("A customs declaration", Some(("number", "declaration number"))),
            "/v1/customs/{number}/history": get("A customs declaration's history", Some(("number", "declaration number"))),
            "/v1/documents/{hash}": get("Whether a file hash is anchored, by whom, when, and whether revoked", Some(("hash", "SHA-256 of the file, hex"))),
            "/v1/documents/{hash}/history": get("An anchored document's history", Some(("hash", "SHA-256 of the file, hex"))),
            "/v1/parties/{party}/documents": get("The documents a party is involved in", Some(("party", "alias or public key hex"))),
            "/v1/events": {"get": {
                "summary": "Committed transactions as server-sent events (event: committed); those that record shipment tracking events carry them in `tracking` (reference, container, code, location, event_time_ms)",
                "parameters": [
                    {"name": "reference", "in": "query", "required": false, "schema": {"type": "string"}, "description": "only events touching this document"},
                    {"name": "party", "in": "query", "required": false, "schema": {"type": "string"}, "description": "only events involving this party (alias or key)"},
                    {"name": "container", "in": "query", "required": false, "schema": {"type": "string"}, "description": "only transactions that recorded a tracking event (field tracking) of this container (ISO 6346)"}
                ],
                "responses": {"200": {"description": "text/event-stream", "content": {"text/event-stream": {}}}}
            }},
            "/v1/openapi.json": get("This document", None),
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "OpenMetrics text"}}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Transaction": {"type": "object", "required": ["body", "signature"], "properties": {
                "body": {"type": "object", "required": ["chain_id", "signer", "nonce", "payload"], "properties": {
                    "chain_id": {"type": "string"}, "signer": {"type": "string", "description": "ed25519 public key, hex"},
                    "nonce": {"type": "integer", "minimum": 1}, "payload": {"type": "object", "description": "one transition, externally tagged by its snake_case name"}}},
                "signature": {"type": "string", "description": "ed25519 signature, hex, over the domain-separated canonical encoding of the body"}}}
        }}
    });
    // The case view (issue 16); apart from the literal above, which is at the macro's
    // recursion limit.
    doc["paths"]["/v1/bl/{reference}/case"] = get("The case of a transport document: `summary` first (each container released to whom and when, or the release conditions it does not meet) and `released`; then the document with its parties and possessor, the possession and endorsement chain, the credits it was presented under, the customs declarations naming it (states, holds, duty), anchored documents referring to it, and per container the journey, delivery order and release; `documents` lists every document of the case; as of `height`", Some(("reference", "transport document reference")));
    doc["paths"]["/v1/bl/{reference}/declarations"] = get("Every customs declaration (import and export) naming the transport document, in the order lodged", Some(("reference", "transport document reference")));
    doc["paths"]["/v1/bl/{reference}/case/proof"] = get("One self-contained proof of the whole case (`documents` of the case): every transaction of each document's history with Merkle inclusion proofs, block headers and commit certificates, and each document's record and history head proven against the state root of the latest certified block; checkable offline against genesis (`portledger verify-proof`)", Some(("reference", "transport document reference")));
    doc["paths"]["/v1/health"] = get("200 while the node runs (public; no document data)", None);
    doc["paths"]["/v1/customs/queue"] = get("Declarations waiting for customs (LODGED, ACCEPTED, HELD, DUTY_PAID), the longest waiting first: number, direction, transport document, declarant, state, what customs is to do (`awaiting`), waiting since (height and time), lodged at. A declaration numbered `queue` is read through its history or the case", None);
    // Governance (issue 17).
    doc["paths"]["/v1/gov/proposals"] = get("Governance proposals, open ones first: id, kind (add_organisation, add_validator, remove_validator, set_consensus_params), status (open, adopted, rejected; `?status=` filters), proposer, votes per validator organisation, tally (for, against, quorum, seats) against the set in force, decided and effective heights, and the action", None);
    doc["paths"]["/v1/gov/proposals/{id}"] = get(
        "One governance proposal, as in the list",
        Some(("id", "proposal id")),
    );
    doc["paths"]["/v1/gov/proposals/{id}/history"] = get(
        "A proposal's history: the proposal and every vote",
        Some(("id", "proposal id")),
    );
    doc["paths"]["/v1/gov/proposals/{id}/proof"] = get(
        "A self-contained proof of the proposal's history and record",
        Some(("id", "proposal id")),
    );
    doc["paths"]["/v1/gov/validators"] = get("The validator set (organisations, node keys, quorum) and consensus parameters in force at the next height, and the changes scheduled after it (from_height)", None);
    signed_reads(&mut doc);
    Json(doc)
}

/// The public operations (no signature needed).
const PUBLIC: [&str; 7] = [
    "/v1/status",
    "/v1/health",
    "/v1/genesis",
    "/v1/openapi.json",
    "/metrics",
    "/v1/transactions",
    "/v1/documents/{hash}",
];

/// Declares the signed-read scheme (`ledger/READS.md`) and marks every operation but the
/// public ones as requiring it, with its 401 and 403 answers.
fn signed_reads(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({"signedRead": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "Portledger-Ed25519 signer=ALIAS_OR_KEY,time=MS,nonce=HEX,signature=HEX: an ed25519 signature by a registered participant over `portledger/v1/read-request\\0` + chain_id, method, path with query, SHA-256 of the body (hex), signer, time and nonce, one per line (ledger/READS.md). Accepted within the node's clock window, each nonce once. Answers only what the read matrix lets the signer read; a document it may not read answers 404 like a missing one."
    }});
    doc["security"] = json!([{"signedRead": []}]);
    let refusal = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            if PUBLIC.contains(&path.as_str()) {
                op["security"] = json!([]);
            } else {
                op["responses"]["401"] = refusal("Unsigned or refused signature: unsigned_read, malformed_authorization, bad_signature, stale_request, replayed_request");
                op["responses"]["403"] = refusal("not_a_participant: the signer is not registered");
            }
        }
    }
}
