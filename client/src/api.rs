//! The node's HTTP API (`/v1`): submit signed transactions, wait for their commitment, read
//! status, blocks and documents.
//!
//! Nonces: [`NodeClient::submit_payload`] asks `GET /v1/accounts/{key}` for the signer's
//! `next_nonce` (which counts its transactions still in the mempool); a node without that
//! endpoint is handled by signing with nonce 1. Either way, when the node refuses with
//! `bad_nonce`, the client signs again once with the error's `expected` field, so a race between two
//! processes signing with one key costs one retry (and only a second lost race is an error).

use std::time::{Duration, Instant};

use portledger_ledger::{Genesis, Hash, Keypair, Payload, PublicKey, Transaction};
use serde_json::Value;

use crate::error::{ClientError, Result};

/// Default time to wait for a transaction to be committed.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Time limit of one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How often to poll while waiting for a commitment.
const POLL_EVERY: Duration = Duration::from_millis(150);

/// A client of one node's API. With a reader key ([`NodeClient::signed_by`]) it signs every
/// request (`portledger_ledger::signed_read`); without one it reaches only the public
/// endpoints.
#[derive(Clone)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
    reader: Option<std::sync::Arc<Keypair>>,
    chain_id: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClient")
            .field("base", &self.base)
            .field("reader", &self.reader.as_ref().map(|k| k.public()))
            .finish()
    }
}

/// The node's answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Hash of the transaction.
    pub tx_hash: Hash,
    /// `pending` or `duplicate`.
    pub status: String,
    /// The nonce it was signed with.
    pub nonce: u64,
}

/// Where a committed transaction is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Hash of the transaction.
    pub tx_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u64,
    /// Block time (as the node formats it).
    pub time: String,
}

/// Percent-encodes one path segment (references may hold `/`, `?`, `#`, ...).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl NodeClient {
    /// A client for the node at `base` (such as `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<NodeClient> {
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(ClientError::Input(format!(
                "--node must be an http:// URL, got {base:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Node(format!("cannot build the HTTP client: {e}")))?;
        Ok(NodeClient {
            base,
            http,
            reader: None,
            chain_id: Default::default(),
        })
    }

    /// The same client, signing every request with `key`.
    pub fn signed_by(mut self, key: Keypair) -> NodeClient {
        self.reader = Some(std::sync::Arc::new(key));
        self
    }

    /// The key that signs requests, if any.
    pub fn reader(&self) -> Option<PublicKey> {
        self.reader.as_ref().map(|k| k.public())
    }

    /// The `Authorization` header for a request to `url`, when a reader key is set.
    async fn authorization(&self, method: &str, url: &str, body: &[u8]) -> Result<Option<String>> {
        let Some(key) = &self.reader else {
            return Ok(None);
        };
        let chain_id = self
            .chain_id
            .get_or_try_init(|| async {
                let url = format!("{}/v1/status", self.base);
                let resp = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| self.transport_error(&url, &e))?;
                let v = self.answer(&url, resp).await?;
                v["chain_id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ClientError::Node("status has no chain_id".into()))
            })
            .await?;
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ClientError::Input(format!("{url:?} is not a URL: {e}")))?;
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let request = portledger_ledger::signed_read::Request {
            chain_id,
            method,
            path_and_query: &path_and_query,
            body,
        };
        let sig = portledger_ledger::signed_read::ReadSignature::sign(
            key,
            &request,
            time_ms,
            portledger_ledger::signed_read::fresh_nonce(),
        );
        Ok(Some(sig.header()))
    }

    /// A `GET` of `url`, signed when a reader key is set.
    async fn get_request(
        &self,
        url: &str,
        http: &reqwest::Client,
    ) -> Result<reqwest::RequestBuilder> {
        let mut req = http.get(url);
        if let Some(h) = self.authorization("GET", url, b"").await? {
            req = req.header(reqwest::header::AUTHORIZATION, h);
        }
        Ok(req)
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout(format!("{url} did not answer within {REQUEST_TIMEOUT:?}"))
        } else {
            // reqwest's own message is "error sending request"; the cause is in the sources.
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                reason = format!("{reason}: {s}");
                source = s.source();
            }
            ClientError::Unreachable {
                url: url.to_string(),
                reason,
            }
        }
    }

    async fn answer(&self, url: &str, resp: reqwest::Response) -> Result<Value> {
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ClientError::Node(format!(
                "{url} answered {status} with a body that is not JSON: {e}"
            ))
        })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let code = value["error"]["code"]
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        let message = value["error"]["message"]
            .as_str()
            .unwrap_or("(no message)")
            .to_string();
        if status >= 500 || status == 429 {
            return Err(ClientError::Node(format!("{status} {code}: {message}")));
        }
        Err(ClientError::Refused {
            status,
            code,
            message,
            fields: value["error"].clone(),
        })
    }

    /// `GET` a JSON endpoint (`path` starts with `/v1/...`).
    pub async fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .get_request(&url, &self.http)
            .await?
            .send()
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        self.answer(&url, resp).await
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<Value> {
        self.get("/v1/status").await
    }

    /// `GET /v1/genesis`, parsed.
    pub async fn genesis(&self) -> Result<Genesis> {
        let v = self.get("/v1/genesis").await?;
        serde_json::from_value(v)
            .map_err(|e| ClientError::Node(format!("the node's genesis does not parse: {e}")))
    }

    /// The chain id, from `/v1/status`.
    pub async fn chain_id(&self) -> Result<String> {
        let s = self.status().await?;
        s["chain_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Node("status has no chain_id".into()))
    }

    /// `GET /v1/transactions/{hash}`: `None` when neither committed nor pending.
    pub async fn transaction(&self, hash: &Hash) -> Result<Option<Value>> {
        match self.get(&format!("/v1/transactions/{hash}")).await {
            Ok(v) => Ok(Some(v)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: u64) -> Result<Value> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// `POST /v1/transactions` with one signed transaction.
    pub async fn submit(&self, tx: &Transaction) -> Result<Submitted> {
        let url = format!("{}/v1/transactions", self.base);
        let body = serde_json::to_vec(tx)
            .map_err(|e| ClientError::Input(format!("cannot encode the transaction: {e}")))?;
        let mut req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(h) = self.authorization("POST", &url, &body).await? {
            req = req.header(reqwest::header::AUTHORIZATION, h);
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        let v = self.answer(&url, resp).await?;
        let tx_hash = v["tx_hash"]
            .as_str()
            .and_then(|h| Hash::from_hex(h).ok())
            .ok_or_else(|| ClientError::Node(format!("submission answer without tx_hash: {v}")))?;
        Ok(Submitted {
            tx_hash,
            status: v["status"].as_str().unwrap_or("pending").to_string(),
            nonce: tx.body.nonce,
        })
    }

    /// The signer's next nonce from `GET /v1/accounts/{key}` (`next_nonce`, counting its
    /// pending transactions); `None` when the node has no such endpoint.
    pub async fn next_nonce(&self, key: &PublicKey) -> Result<Option<u64>> {
        match self.get(&format!("/v1/accounts/{key}")).await {
            Ok(v) => Ok(v["next_nonce"].as_u64()),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Signs `payload` with `key` and submits it, finding the nonce as the module doc says.
    pub async fn submit_payload(
        &self,
        key: &Keypair,
        chain_id: &str,
        payload: Payload,
    ) -> Result<Submitted> {
        self.submit_sharing(key, chain_id, payload, Vec::new())
            .await
    }

    /// Like [`NodeClient::submit_payload`], sharing document keys with the readers the
    /// transaction makes.
    pub async fn submit_sharing(
        &self,
        key: &Keypair,
        chain_id: &str,
        payload: Payload,
        shares: Vec<portledger_ledger::documents::transport::KeyShare>,
    ) -> Result<Submitted> {
        let guess = self.next_nonce(&key.public()).await?.unwrap_or(1);
        let first =
            Transaction::sign_sharing(key, chain_id, guess, payload.clone(), shares.clone());
        match self.submit(&first).await {
            Err(ClientError::Refused {
                code,
                message,
                fields,
                ..
            }) if code == "bad_nonce" => {
                let Some(n) = fields["expected"].as_u64() else {
                    return Err(ClientError::Refused {
                        status: 422,
                        code,
                        message,
                        fields,
                    });
                };
                self.submit(&Transaction::sign_sharing(
                    key, chain_id, n, payload, shares,
                ))
                .await
            }
            other => other,
        }
    }

    /// Polls `/v1/transactions/{hash}` until the transaction is committed, or `timeout` passes
    /// (exit 3). A transaction that disappears (left out of blocks because a rule broke after
    /// admission) is reported as refused.
    pub async fn wait_committed(&self, hash: &Hash, timeout: Duration) -> Result<Committed> {
        let start = Instant::now();
        let mut missing = 0;
        loop {
            match self.transaction(hash).await? {
                Some(v) if v["status"] == "committed" => {
                    return Ok(Committed {
                        tx_hash: *hash,
                        height: v["height"].as_u64().unwrap_or(0),
                        index: v["index"].as_u64().unwrap_or(0),
                        time: v["time"].as_str().unwrap_or("").to_string(),
                    })
                }
                Some(_) => missing = 0,
                None => {
                    missing += 1;
                    if missing >= 5 {
                        return Err(ClientError::Refused {
                            status: 404,
                            code: "dropped".into(),
                            message: format!(
                                "transaction {hash} left the mempool without being committed"
                            ),
                            fields: serde_json::Value::Null,
                        });
                    }
                }
            }
            if start.elapsed() >= timeout {
                return Err(ClientError::Timeout(format!(
                    "transaction {hash} was not committed within {timeout:?}"
                )));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

/// Splits server-sent events out of `buf` (which keeps any incomplete tail): each complete event
/// as (event name, data).
pub fn take_sse_events(buf: &mut String) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let normalised = buf.replace("\r\n", "\n");
        let Some(end) = normalised.find("\n\n") else {
            *buf = normalised;
            return out;
        };
        let block = normalised[..end].to_string();
        *buf = normalised[end + 2..].to_string();
        let mut name = "message".to_string();
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if !data.is_empty() {
            out.push((name, data.join("\n")));
        }
    }
}

impl NodeClient {
    /// Follows `GET /v1/events` (server-sent events of committed transactions), filtered by
    /// document reference and/or party, calling `on_event` with each `committed` event's data
    /// until it returns `false` or the stream ends.
    pub async fn follow_events(
        &self,
        reference: Option<&str>,
        party: Option<&str>,
        on_event: impl FnMut(Value) -> bool,
    ) -> Result<()> {
        let mut filters = Vec::new();
        if let Some(r) = reference {
            filters.push(("reference", r));
        }
        if let Some(p) = party {
            filters.push(("party", p));
        }
        self.follow_events_where(&filters, || {}, on_event).await
    }

    /// Like [`NodeClient::follow_events`] with any of the stream's filters as (name, value)
    /// pairs (`reference`, `party`, `container`); `on_open` is called once the node has accepted
    /// the subscription, before any event.
    pub async fn follow_events_where(
        &self,
        filters: &[(&str, &str)],
        on_open: impl FnOnce(),
        mut on_event: impl FnMut(Value) -> bool,
    ) -> Result<()> {
        let query: Vec<String> = filters
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_segment(v)))
            .collect();
        let url = format!("{}/v1/events?{}", self.base, query.join("&"));
        // No total timeout: the stream is meant to stay open.
        let http = reqwest::Client::builder()
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Node(format!("cannot build the HTTP client: {e}")))?;
        let mut resp = self
            .get_request(&url, &http)
            .await?
            .send()
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        if !resp.status().is_success() {
            return self.answer(&url, resp).await.map(|_| ());
        }
        on_open();
        let mut buf = String::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(&url, &e))?
        {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            for (name, data) in take_sse_events(&mut buf) {
                if name != "committed" {
                    continue;
                }
                let v: Value = serde_json::from_str(&data)
                    .map_err(|e| ClientError::Node(format!("an event that is not JSON: {e}")))?;
                if !on_event(v) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_server_sent_events() {
        let mut buf = String::from(
            ": keep-alive\n\nevent: committed\ndata: {\"a\":1}\n\nevent: lagged\r\ndata: {}\r\n\nevent: comm",
        );
        let evs = take_sse_events(&mut buf);
        assert_eq!(
            evs,
            vec![
                ("committed".to_string(), "{\"a\":1}".to_string()),
                ("lagged".to_string(), "{}".to_string())
            ]
        );
        assert_eq!(buf, "event: comm");
    }

    #[test]
    fn encodes_segments() {
        assert_eq!(encode_segment("BL-1/2 x"), "BL-1%2F2%20x");
    }
}
