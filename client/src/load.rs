//! `portledger load`: a fixed-rate load generator with submit-to-final latency.
//!
//! It registers fresh parties (signed by the port operator's key), pre-signs every transaction
//! of a [`Workload`] before the clock starts, then submits them at a fixed rate: each lane (one
//! carrier and one trader, whose transactions depend on each other) sequentially, the lanes in
//! parallel, lane `i` always to node `i % nodes`. Commitment is observed on the first node's
//! `/v1/events` stream; latency is from the moment a transaction was sent to the moment its
//! `committed` event arrived. A node answering 503 (mempool full) gets the same transaction again
//! shortly after, so at saturation the lanes fall behind the schedule rather than losing nonces.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portledger_ledger::workload::Workload;
use portledger_ledger::{Hash, Keypair};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::api::NodeClient;
use crate::error::{ClientError, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Nodes to submit to (the first one is also followed for commitment).
    pub nodes: Vec<String>,
    /// Transactions per second to offer.
    pub rate: f64,
    /// Seconds of load.
    pub duration: f64,
    /// Parties (two per lane).
    pub parties: usize,
    /// Seconds to wait after the last submission for outstanding commitments.
    pub drain: f64,
    /// Seed of the party keys (fresh parties each run are made unique by `run`).
    pub seed: u64,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of `samples` in milliseconds; zeros when empty.
    pub fn of(samples: &mut [f64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: samples[samples.len() - 1],
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Nodes submitted to.
    pub nodes: Vec<String>,
    /// Parties registered for the run.
    pub parties: usize,
    /// Offered rate (transactions per second).
    pub rate: f64,
    /// Seconds of load asked for.
    pub duration_s: f64,
    /// Transactions pre-signed.
    pub planned: usize,
    /// Transactions sent (each counted once, however many 503 retries it needed).
    pub submitted: usize,
    /// Accepted by a node (HTTP 202).
    pub accepted: usize,
    /// Refused by a node (4xx), by error code.
    pub rejected: usize,
    /// Refusals by error code.
    pub rejected_by_code: BTreeMap<String, usize>,
    /// Transport errors and timeouts.
    pub errors: usize,
    /// 503 answers (mempool full) that were retried.
    pub retries: usize,
    /// Accepted transactions seen committed.
    pub committed: usize,
    /// Committed transactions whose event was missed (found by asking the node afterwards).
    pub committed_unobserved: usize,
    /// Seconds from the first send to the last submission.
    pub submit_span_s: f64,
    /// Sent per second over the submission span.
    pub submitted_tps: f64,
    /// Committed per second, from the first send to the last commitment.
    pub throughput_tps: f64,
    /// Submit-to-final latency of the committed transactions.
    pub latency_ms: Latency,
    /// Largest delay of a send behind its schedule, in milliseconds.
    pub max_behind_schedule_ms: f64,
}

/// One lane's outcome.
#[derive(Default)]
struct LaneResult {
    sent: Vec<(Hash, Instant)>,
    submitted: usize,
    rejected: BTreeMap<String, usize>,
    errors: usize,
    retries: usize,
    max_behind: Duration,
}

/// Commitment times by transaction hash, filled by the event follower.
type Seen = Arc<Mutex<HashMap<Hash, Instant>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the load and reports.
pub async fn run(config: &LoadConfig, port: &Keypair) -> Result<LoadReport> {
    if config.nodes.is_empty() {
        return Err(ClientError::Input("load needs at least one node".into()));
    }
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(config.rate) || !positive(config.duration) {
        return Err(ClientError::Input(
            "--rate and --duration must be positive".into(),
        ));
    }
    let clients = config
        .nodes
        .iter()
        .map(|n| NodeClient::new(n).map(|c| c.signed_by(port.clone())))
        .collect::<Result<Vec<_>>>()?;
    let first = &clients[0];
    let genesis = first.genesis().await?;
    let run_tag = format!("{:06x}", rand_tag());
    let workload = Workload::new(&genesis, &run_tag, config.parties, config.seed)
        .map_err(|e| ClientError::Input(e.to_string()))?;

    // Register the parties and wait until they are on the chain.
    let nonce = first.next_nonce(&port.public()).await?.unwrap_or(1);
    let regs = workload.registrations(port, nonce);
    let mut last = None;
    for tx in &regs {
        last = Some(first.submit(tx).await?.tx_hash);
    }
    if let Some(h) = last {
        first.wait_committed(&h, Duration::from_secs(60)).await?;
    }

    // Pre-sign everything before the clock starts.
    let planned = (config.rate * config.duration).ceil() as usize;
    let lanes: Vec<Vec<(Hash, Vec<u8>)>> = workload
        .lane_transactions(planned)
        .into_iter()
        .map(|l| l.iter().map(|t| (t.hash(), t.encode())).collect())
        .collect();
    let lane_count = lanes.len();
    let planned: usize = lanes.iter().map(Vec::len).sum();

    let seen: Seen = Arc::new(Mutex::new(HashMap::with_capacity(planned)));
    let (ready_tx, ready_rx) = oneshot::channel();
    let follower = tokio::spawn(follow(first.clone(), seen.clone(), ready_tx));
    match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
        Ok(Ok(())) => {}
        _ => {
            return Err(ClientError::Node(format!(
                "could not follow {}/v1/events",
                first.base()
            )))
        }
    }

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(lane_count)
        .build()
        .map_err(|e| ClientError::Node(format!("cannot build the HTTP client: {e}")))?;
    let progress = Progress::new(config.progress, planned as u64);
    let start = Instant::now() + Duration::from_millis(20);
    // Nothing is sent after the load's duration: lanes that fell behind (the node took less
    // than offered) stop there, and the backlog already accepted drains.
    let deadline = start + Duration::from_secs_f64(config.duration);
    let interval = 1.0 / config.rate;
    let mut tasks = Vec::new();
    for (i, txs) in lanes.into_iter().enumerate() {
        let url = format!("{}/v1/transactions", config.nodes[i % config.nodes.len()]);
        let http = http.clone();
        let bar = progress.bar.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = LaneResult::default();
            for (j, (hash, bytes)) in txs.into_iter().enumerate() {
                let at = start + Duration::from_secs_f64((j * lane_count + i) as f64 * interval);
                tokio::time::sleep_until(at.into()).await;
                r.max_behind = r
                    .max_behind
                    .max(Instant::now().saturating_duration_since(at));
                if Instant::now() > deadline {
                    break;
                }
                r.submitted += 1;
                bar.inc(1);
                loop {
                    let sent_at = Instant::now();
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/octet-stream")
                        .body(bytes.clone())
                        .send()
                        .await;
                    match resp {
                        Ok(resp) if resp.status().is_success() => {
                            r.sent.push((hash, sent_at));
                            break;
                        }
                        Ok(resp) if resp.status().as_u16() == 503 && Instant::now() < deadline => {
                            r.retries += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Ok(resp) => {
                            let v: Value = resp.json().await.unwrap_or(Value::Null);
                            let code = v["error"]["code"].as_str().unwrap_or("unknown").to_string();
                            *r.rejected.entry(code).or_default() += 1;
                            break;
                        }
                        Err(_) => {
                            r.errors += 1;
                            break;
                        }
                    }
                }
            }
            r
        }));
    }
    let ticker = progress.tick(seen.clone());
    let mut results = Vec::new();
    for t in tasks {
        results.push(
            t.await
                .map_err(|e| ClientError::Node(format!("a lane failed: {e}")))?,
        );
    }
    let submit_end = Instant::now();
    let accepted: Vec<(Hash, Instant)> = results.iter().flat_map(|r| r.sent.clone()).collect();

    // Wait for the outstanding commitments.
    let drain_until = submit_end + Duration::from_secs_f64(config.drain);
    while Instant::now() < drain_until {
        let done = {
            let s = lock(&seen);
            accepted.iter().all(|(h, _)| s.contains_key(h))
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    follower.abort();
    ticker.abort();
    progress.bar.finish_and_clear();

    let seen = lock(&seen).clone();
    let mut samples = Vec::new();
    let mut last_commit = start;
    let mut missing = Vec::new();
    for (h, sent_at) in &accepted {
        match seen.get(h) {
            Some(at) => {
                samples.push(at.saturating_duration_since(*sent_at).as_secs_f64() * 1000.0);
                last_commit = last_commit.max(*at);
            }
            None => missing.push(*h),
        }
    }
    // Events can be missed by a lagging stream: ask the node about the rest.
    let mut committed_unobserved = 0;
    for h in &missing {
        if let Ok(Some(v)) = first.transaction(h).await {
            if v["status"] == "committed" {
                committed_unobserved += 1;
            }
        }
    }
    let first_send = accepted.iter().map(|(_, t)| *t).min().unwrap_or(start);
    let committed = samples.len() + committed_unobserved;
    let span = submit_end
        .saturating_duration_since(first_send)
        .as_secs_f64();
    let commit_span = last_commit
        .saturating_duration_since(first_send)
        .as_secs_f64();
    let submitted: usize = results.iter().map(|r| r.submitted).sum();
    let mut rejected_by_code = BTreeMap::new();
    for r in &results {
        for (c, n) in &r.rejected {
            *rejected_by_code.entry(c.clone()).or_default() += n;
        }
    }
    Ok(LoadReport {
        nodes: config.nodes.clone(),
        parties: lane_count * 2,
        rate: config.rate,
        duration_s: config.duration,
        planned,
        submitted,
        accepted: accepted.len(),
        rejected: rejected_by_code.values().sum(),
        rejected_by_code,
        errors: results.iter().map(|r| r.errors).sum(),
        retries: results.iter().map(|r| r.retries).sum(),
        committed,
        committed_unobserved,
        submit_span_s: span,
        submitted_tps: if span > 0.0 {
            submitted as f64 / span
        } else {
            0.0
        },
        throughput_tps: if commit_span > 0.0 {
            samples.len() as f64 / commit_span
        } else {
            0.0
        },
        latency_ms: Latency::of(&mut samples),
        max_behind_schedule_ms: results
            .iter()
            .map(|r| r.max_behind.as_secs_f64() * 1000.0)
            .fold(0.0, f64::max),
    })
}

/// Follows `/v1/events` (signed by the load's key), recording when each transaction's
/// `committed` event arrives.
async fn follow(client: NodeClient, seen: Seen, ready: oneshot::Sender<()>) {
    let _ = client
        .follow_events_where(
            &[],
            move || {
                let _ = ready.send(());
            },
            |v| {
                if let Some(h) = v["tx_hash"].as_str().and_then(|h| Hash::from_hex(h).ok()) {
                    lock(&seen).entry(h).or_insert_with(Instant::now);
                }
                true
            },
        )
        .await;
}

/// A progress bar of sent and committed transactions, hidden unless asked for.
struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn new(show: bool, total: u64) -> Progress {
        let bar = if show {
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} {bar:30} {pos}/{len} sent ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress { bar }
    }

    fn tick(&self, seen: Seen) -> tokio::task::JoinHandle<()> {
        let bar = self.bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let n = lock(&seen).len();
                bar.set_message(format!("{n} committed"));
            }
        })
    }
}

fn rand_tag() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    (nanos ^ std::process::id().rotate_left(16)) & 0xff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = Latency::of(&mut s);
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Latency::of(&mut []), Latency::default());
        let mut one = vec![7.0];
        assert_eq!(Latency::of(&mut one).p99, 7.0);
    }
}
