//! Signed reads at the API's edge ([`portledger_ledger::signed_read`] is the scheme): every
//! route but the public ones requires a request signed by a registered participant, checked
//! here once; the handler gets the [`Reader`] and asks [`portledger_ledger::access`] what it
//! may see. Each accepted signed read is logged (target `portledger_node::reads`: who read
//! what, when).
//!
//! Refusals: 401 `unsigned_read` (no `Authorization` header), `malformed_authorization`,
//! `stale_request` (outside the clock window), `bad_signature`, `replayed_request`; 403
//! `not_a_participant` (the key or alias is not registered); 429 `too_many_reads` (the
//! signer has more requests within the window than the replay guard holds for one signer).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portledger_ledger::access::Reader;
use portledger_ledger::signed_read::{ReadSignature, Request as SignedRequest};
use portledger_ledger::PublicKey;

use super::{ApiError, ApiState, MAX_BODY_BYTES};

/// The most (signer, nonce) pairs remembered in all.
pub const MAX_REMEMBERED: usize = 200_000;
/// The most remembered for one signer: about 330 reads a second over a 60 s span.
pub const MAX_PER_SIGNER: usize = 20_000;

/// Remembers the nonces of accepted requests while their time is inside the window, so that
/// none is accepted twice. Bounded in all and per signer.
#[derive(Debug)]
pub struct ReplayGuard {
    window_ms: u64,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// (forget after, signer, nonce), in the order accepted.
    order: VecDeque<(u64, PublicKey, Vec<u8>)>,
    set: HashSet<(PublicKey, Vec<u8>)>,
    per_signer: HashMap<PublicKey, usize>,
}

/// Why the guard refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its time is outside the window.
    Stale,
    /// Its nonce was seen.
    Replayed,
    /// The signer (or everyone) has too many requests in the window.
    Full,
}

impl ReplayGuard {
    /// A guard accepting times within `window_ms` of the node's clock, either way.
    pub fn new(window_ms: u64) -> ReplayGuard {
        ReplayGuard {
            window_ms,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The clock window (ms).
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// Accepts a request by `signer` signed at `time_ms` with `nonce` when the node's clock
    /// reads `now_ms`: checks the window, then records the nonce.
    pub fn admit(
        &self,
        signer: PublicKey,
        time_ms: u64,
        nonce: &[u8],
        now_ms: u64,
    ) -> Result<(), Refusal> {
        if time_ms.abs_diff(now_ms) > self.window_ms {
            return Err(Refusal::Stale);
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what can no longer be accepted anyway (its time is out of the window).
        while let Some((forget_after, _, _)) = seen.order.front() {
            if *forget_after >= now_ms {
                break;
            }
            if let Some((_, k, n)) = seen.order.pop_front() {
                seen.set.remove(&(k, n));
                if let Some(c) = seen.per_signer.get_mut(&k) {
                    *c -= 1;
                    if *c == 0 {
                        seen.per_signer.remove(&k);
                    }
                }
            }
        }
        let entry = (signer, nonce.to_vec());
        if seen.set.contains(&entry) {
            return Err(Refusal::Replayed);
        }
        if seen.set.len() >= MAX_REMEMBERED
            || seen.per_signer.get(&signer).copied().unwrap_or(0) >= MAX_PER_SIGNER
        {
            return Err(Refusal::Full);
        }
        seen.order
            .push_back((time_ms + self.window_ms, signer, nonce.to_vec()));
        seen.set.insert(entry);
        *seen.per_signer.entry(signer).or_default() += 1;
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn unauthorized(code: &str, message: impl Into<String>) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(portledger_ledger::signed_read::SCHEME),
    );
    r
}

/// Checks the request's signature, if it has one: the [`Reader`] it was signed by, or the
/// response refusing it. `Ok(None)` when it carries no `Authorization` header.
async fn authenticate(s: &ApiState, req: Request) -> Result<(Option<Reader>, Request), Response> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok((None, req));
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("malformed_authorization", "the header is not ASCII"))?;
    let sig = ReadSignature::parse(value)
        .map_err(|e| unauthorized("malformed_authorization", e.to_string()))?;
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        ApiError::bad_request("bad_body", format!("cannot read the body: {e}")).into_response()
    })?;
    let key = s
        .shared
        .key_of(&sig.signer)
        .or_else(|| PublicKey::from_hex(&sig.signer).ok());
    let reader = key.and_then(|k| s.shared.read_state(|state| Reader::of(state, &k)));
    let Some(reader) = reader else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_participant",
            format!("{} is not a registered participant", sig.signer),
        )
        .into_response());
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let signed = SignedRequest {
        chain_id: &s.shared.genesis.chain_id,
        method: parts.method.as_str(),
        path_and_query,
        body: &body,
    };
    sig.verify(&reader.key, &signed).map_err(|_| {
        unauthorized(
            "bad_signature",
            format!(
                "the signature does not verify for {} over {} {path_and_query}",
                sig.signer, parts.method
            ),
        )
    })?;
    let now = now_ms();
    s.reads
        .admit(reader.key, sig.time_ms, &sig.nonce, now)
        .map_err(|r| match r {
            Refusal::Stale => unauthorized(
                "stale_request",
                format!(
                    "the request was signed at {} ms; this node's clock reads {now} ms and accepts {} ms either way",
                    sig.time_ms,
                    s.reads.window_ms()
                ),
            ),
            Refusal::Replayed => unauthorized(
                "replayed_request",
                "this nonce was already used: sign every request with a new one",
            ),
            Refusal::Full => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_reads",
                format!("{} has too many requests within the clock window", sig.signer),
            )
            .into_response(),
        })?;
    tracing::info!(
        target: "portledger_node::reads",
        reader = %reader.member.alias,
        organisation = %reader.member.organisation,
        method = %parts.method,
        path = %path_and_query,
        "signed read"
    );
    Ok((Some(reader), Request::from_parts(parts, Body::from(body))))
}

/// Middleware of the protected routes: a valid signed request by a registered participant, or
/// 401/403. The handler finds the [`Reader`] in the request's extensions.
pub async fn require_reader(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    match authenticate(&s, req).await {
        Ok((Some(reader), mut req)) => {
            req.extensions_mut().insert(reader);
            next.run(req).await
        }
        Ok((None, _)) => unauthorized(
            "unsigned_read",
            "this endpoint serves registered participants only: sign the request (see \
             ledger/READS.md), e.g. `portledger --key FILE ...`",
        ),
        Err(r) => r,
    }
}

/// Middleware of the public routes: unsigned requests pass; a signed one must verify, and its
/// [`Reader`] is passed on (a public route may show a reader more).
pub async fn optional_reader(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    match authenticate(&s, req).await {
        Ok((reader, mut req)) => {
            if let Some(reader) = reader {
                req.extensions_mut().insert(reader);
            }
            next.run(req).await
        }
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refuses_stale_times_replays_and_a_signer_over_its_bound() {
        let g = ReplayGuard::new(30_000);
        let k = portledger_ledger::Keypair::for_testing("r").public();
        let now = 1_000_000;
        assert_eq!(g.admit(k, now - 30_001, b"a", now), Err(Refusal::Stale));
        assert_eq!(g.admit(k, now + 30_001, b"a", now), Err(Refusal::Stale));
        assert_eq!(g.admit(k, now, b"a", now), Ok(()));
        assert_eq!(g.admit(k, now, b"a", now + 10), Err(Refusal::Replayed));
        // Once its time has left the window it is forgotten, and refused as stale instead.
        assert_eq!(g.admit(k, now, b"a", now + 30_001), Err(Refusal::Stale));
        for i in 0..MAX_PER_SIGNER {
            let n = (i as u64).to_be_bytes();
            assert_eq!(g.admit(k, now + 30_001, &n, now + 30_001), Ok(()));
        }
        assert_eq!(
            g.admit(k, now + 30_001, b"one more", now + 30_001),
            Err(Refusal::Full)
        );
        let other = portledger_ledger::Keypair::for_testing("o").public();
        assert_eq!(g.admit(other, now + 30_001, b"x", now + 30_001), Ok(()));
        // Later, the first signer's nonces are forgotten and it may read again.
        assert_eq!(g.admit(k, now + 70_000, b"later", now + 70_000), Ok(()));
    }
}
