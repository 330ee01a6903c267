//! Governance: proposals with their votes and tallies, and the validator sets and consensus
//! parameters in force and scheduled.

use axum::extract::State;
use axum::{Extension, Json};
use portledger_ledger::access::Reader;
use portledger_ledger::governance::{Proposal, ProposalStatus, Tally};
use portledger_ledger::{DocumentKey, StateView};
use serde_json::{json, Value};

use super::documents::Resource;
use super::{show_party, ApiResult, ApiState};

/// A proposal as the API shows it: the record, the proposer by name, and the tally against the
/// validator set in force at the next height (for an open one) or where it was decided.
fn show(s: &ApiState, p: Proposal, tally: Tally) -> Value {
    let (height, effective_height) = match p.status {
        ProposalStatus::Open => (None, None),
        ProposalStatus::Adopted {
            height,
            effective_height,
        } => (Some(height), Some(effective_height)),
        ProposalStatus::Rejected { height } => (Some(height), None),
    };
    json!({
        "id": p.id,
        "kind": p.action.kind(),
        "status": p.status.as_str(),
        "decided_height": height,
        "effective_height": effective_height,
        "proposer": show_party(&s.shared, &p.proposer),
        "proposed_height": p.proposed_height,
        "votes": p.votes,
        "tally": {"for": tally.for_, "against": tally.against, "quorum": tally.quorum, "seats": tally.seats},
        "action": p.action,
    })
}

/// The tally of `p` against the set that decides it: the set at its deciding height once
/// decided, the set of the next height while open.
fn tally(state: &portledger_ledger::State, tip: u64, p: &Proposal) -> Tally {
    let at = match p.status {
        ProposalStatus::Open => tip.saturating_add(1),
        ProposalStatus::Adopted { height, .. } | ProposalStatus::Rejected { height } => height,
    };
    Tally::of(&p.votes, &state.validators_at(at))
}

/// `/v1/gov/proposals/{id}`: one proposal, its history and proof.
pub struct Proposals;

impl Resource for Proposals {
    const PATH: &'static str = "/v1/gov/proposals/{id}";
    fn key(param: String) -> ApiResult<DocumentKey> {
        Ok(DocumentKey::Proposal(param))
    }
    type Record = Proposal;
    fn get(state: &portledger_ledger::State, id: &str) -> ApiResult<Option<Self::Record>> {
        Ok(state.proposals.get(id).cloned())
    }
    fn show(s: &ApiState, p: Self::Record) -> Value {
        let t = s
            .shared
            .read_state_at(|state, tip| tally(state, tip.height, &p));
        show(s, p, t)
    }
    fn missing(id: &str) -> String {
        format!("no governance proposal with id {id}")
    }
}

/// `GET /v1/gov/proposals`: every proposal, open ones first, then by id; `?status=` filters.
pub async fn list(
    State(s): State<ApiState>,
    Extension(_reader): Extension<Reader>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let wanted = q.get("status").cloned();
    if let Some(w) = &wanted {
        if !["open", "adopted", "rejected"].contains(&w.as_str()) {
            return Err(super::ApiError::bad_request(
                "bad_query",
                format!("status: {w:?} is not open, adopted or rejected"),
            ));
        }
    }
    let mut found: Vec<(Proposal, Tally)> = s.shared.read_state_at(|state, tip| {
        state
            .proposals
            .values()
            .filter(|p| wanted.as_deref().is_none_or(|w| p.status.as_str() == w))
            .map(|p| (p.clone(), tally(state, tip.height, p)))
            .collect()
    });
    found.sort_by_key(|(p, _)| (p.status != ProposalStatus::Open, p.id.clone()));
    let list: Vec<Value> = found.into_iter().map(|(p, t)| show(&s, p, t)).collect();
    Ok(Json(json!({ "proposals": list })))
}

/// `GET /v1/gov/validators`: the validator set and consensus parameters in force at the next
/// height, and every change scheduled after it.
pub async fn validators(State(s): State<ApiState>) -> Json<Value> {
    let set = |v: &portledger_ledger::genesis::ValidatorSet| -> Value {
        json!({
            "quorum": v.quorum(),
            "validators": v.members().iter().map(|(o, k)| json!({"organisation": o, "node_key": k})).collect::<Vec<_>>(),
        })
    };
    s.shared.read_state_at(|state, tip| {
        let next = tip.height.saturating_add(1);
        let scheduled: Vec<Value> = state
            .validator_sets
            .range(next.saturating_add(1)..)
            .map(|(h, v)| {
                let mut e = set(v);
                e["from_height"] = json!(h);
                e
            })
            .collect();
        let params: Vec<Value> = state
            .param_sets
            .range(next.saturating_add(1)..)
            .map(|(h, p)| json!({"from_height": h, "params": p}))
            .collect();
        let mut now = set(&state.validators_at(next));
        now["height"] = json!(next);
        Json(json!({
            "in_force": now,
            "params": state.params_at(next),
            "scheduled_sets": scheduled,
            "scheduled_params": params,
        }))
    })
}
