//! Issue 6, scenario 6: a steady load of transactions from every demo participant, submitted over
//! HTTP to the live nodes, while every few seconds the current proposer is SIGKILLed and restarted
//! a couple of seconds later (never more than one node down). Every acknowledged transaction is
//! committed exactly once, at the same height on every node; none is lost. Prints what was
//! submitted, acknowledged and committed, the throughput, and the longest stall after a kill.
//!
//! The total rate is `PORTLEDGER_E2E_RATE` transactions per second (default [`RATE`]).
//!
//! A node answers 202 only once the transaction is recorded in its store (and gossiped), and a
//! restarted node admits its recorded transactions again, so nothing acknowledged may vanish: the
//! submitter still watches for it (no node knows an acknowledged transaction after a grace
//! period), resends the same signed bytes so the load goes on, and the test fails on any such
//! loss, naming the node and how long before its kill it acknowledged the transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use portledger_ledger::block::Block;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{keyfile, Hash, Keypair, Payload, PublicKey, Transaction};
use portledger_tests::cluster::signed_get;
use portledger_tests::Cluster;
use serde_json::Value;

/// Total transactions per second across all participants.
const RATE: u64 = 300;
/// How long the load and the kills last.
const LOAD: Duration = Duration::from_secs(60);
/// A proposer is killed this often...
const KILL_EVERY: Duration = Duration::from_secs(5);
/// ...and restarted this long after.
const DOWN_FOR: Duration = Duration::from_secs(2);

const PARTIES: [&str; 7] = [
    "port",
    "issuing-bank",
    "customs",
    "carrier",
    "advising-bank",
    "seller",
    "buyer",
];

const DOC_TYPES: [DocumentType; 4] = [
    DocumentType::CommercialInvoice,
    DocumentType::PackingList,
    DocumentType::CertificateOfOrigin,
    DocumentType::InsuranceCertificate,
];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What one participant's submitter did.
#[derive(Default)]
struct PartyReport {
    submitted: u64,
    acked: Vec<Hash>,
    /// Sends repeated on another node after a connection failure or a refused nonce.
    resent: u64,
    /// Transactions a node already held when their submission was retried, without a 2xx.
    known_unacked: Vec<Hash>,
    /// Acknowledged transactions that the next node did not know after a grace period and
    /// that had to be sent again (an acknowledgement that was not durable): which node had
    /// acknowledged each, and when (ms since the epoch).
    acked_missing: Vec<(usize, u64)>,
    /// The last transaction (highest nonce) a node took.
    last: Option<Hash>,
}

struct Submitter {
    alias: &'static str,
    key: Keypair,
    chain: String,
    urls: Arc<Vec<String>>,
    http: reqwest::Client,
    node: usize,
    period: Duration,
}

enum Sent {
    Ok,
    Status(u16, Value),
    Unreachable,
}

impl Submitter {
    async fn post(&self, tx: &Transaction) -> Sent {
        let r = self
            .http
            .post(format!("{}/v1/transactions", self.urls[self.node]))
            .json(tx)
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => Sent::Ok,
            Ok(r) => {
                let s = r.status().as_u16();
                Sent::Status(s, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => Sent::Unreachable,
        }
    }

    /// The node that expects the highest next nonce from this participant, and that nonce.
    async fn best_node(&self) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for (i, url) in self.urls.iter().enumerate() {
            let path = format!("/v1/accounts/{}", self.alias);
            let Ok((_, v)) = signed_get(&self.http, url, &self.chain, &self.key, &path).await
            else {
                continue;
            };
            if let Some(n) = v["next_nonce"].as_u64() {
                if best.is_none_or(|(_, b)| n > b) {
                    best = Some((i, n));
                }
            }
        }
        best
    }

    fn next_node(&mut self) {
        self.node = (self.node + 1) % self.urls.len();
    }

    async fn run(mut self, stop: Arc<AtomicBool>) -> anyhow::Result<PartyReport> {
        let mut rep = PartyReport::default();
        // Every signed transaction by nonce - 1, and which node acknowledged it when (ms).
        let mut sent: Vec<(Transaction, Option<(usize, u64)>)> = Vec::new();
        // Nonces (minus one) of acknowledged transactions that had to be sent again.
        let mut missing = std::collections::HashSet::new();
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let nonce = sent.len() as u64 + 1;
            let doc = format!("{}-doc-{nonce}", self.alias);
            let tx = Transaction::sign(
                &self.key,
                &self.chain,
                nonce,
                Payload::AnchorDocument {
                    hash: Hash::of(doc.as_bytes()),
                    doc_type: DOC_TYPES[nonce as usize % DOC_TYPES.len()],
                    references: vec![format!("BL-{}", nonce / 10), format!("LC-{}", nonce / 50)],
                },
            );
            sent.push((tx.clone(), None));
            rep.submitted += 1;
            let give_up = Instant::now() + Duration::from_secs(30);
            let mut gap_since: Option<Instant> = None;
            let mut last_resend = Instant::now();
            loop {
                if Instant::now() > give_up {
                    bail!(
                        "{}: nonce {nonce} not accepted by any node within 30 s",
                        self.alias
                    );
                }
                match self.post(&tx).await {
                    Sent::Ok => {
                        rep.acked.push(tx.hash());
                        rep.last = Some(tx.hash());
                        if let Some(s) = sent.last_mut() {
                            s.1 = Some((self.node, now_ms()));
                        }
                        break;
                    }
                    Sent::Unreachable => {
                        // Its node was just killed: the same signed bytes go to another node.
                        self.next_node();
                        rep.resent += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Sent::Status(503, _) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Sent::Status(422, b) if b["error"]["code"] == "bad_nonce" => {
                        // Go to the node that knows most of this participant's transactions
                        // (the one asked may still be syncing after a restart).
                        let Some((node, next)) = self.best_node().await else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        self.node = node;
                        if next > nonce {
                            // A node already holds this one (a send whose answer was lost).
                            rep.known_unacked.push(tx.hash());
                            rep.last = Some(tx.hash());
                            break;
                        }
                        if next == nonce {
                            continue;
                        }
                        // No node knows an earlier transaction that was sent before this one.
                        // Give gossip a moment; then count the acknowledged ones among them as
                        // missing and send them again, the same signed bytes.
                        let since = *gap_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > Duration::from_secs(3)
                            && last_resend.elapsed() > Duration::from_secs(2)
                        {
                            last_resend = Instant::now();
                            for (k, (earlier, acked)) in sent
                                .iter()
                                .enumerate()
                                .take(nonce as usize - 1)
                                .skip(next as usize - 1)
                            {
                                if let (Some((by, at)), true) = (acked, missing.insert(k)) {
                                    rep.acked_missing.push((*by, *at));
                                    eprintln!(
                                        "{}: nonce {} ({}), acknowledged by node {by} at {at} ms, is known to no node",
                                        self.alias,
                                        k + 1,
                                        earlier.hash()
                                    );
                                }
                                rep.resent += 1;
                                let _ = self.post(earlier).await;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Sent::Status(s, b) => bail!("{}: nonce {nonce} refused: {s} {b}", self.alias),
                }
            }
        }
        Ok(rep)
    }
}

/// The node process index of the proposer of the height being decided, from a live node.
async fn current_proposer(c: &Cluster, keys: &[PublicKey]) -> Option<usize> {
    for i in 0..c.nodes.len() {
        if !c.is_running(i) {
            continue;
        }
        let Ok(s) = c.get(i, "/v1/status").await else {
            continue;
        };
        let (Some(h), Some(r)) = (s["height"].as_u64(), s["round"].as_u64()) else {
            continue;
        };
        let key = c.genesis.validator_set().proposer(h + 1, r as u32);
        return keys.iter().position(|k| *k == key);
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposer_killed_every_few_seconds_under_load_loses_nothing() {
    let started = Instant::now();
    let rate = std::env::var("PORTLEDGER_E2E_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(RATE)
        .max(1);
    let mut c = Cluster::start(4, 1000).await.expect("cluster");
    let chain = c.genesis.chain_id.clone();
    let node_keys: Vec<PublicKey> = c
        .nodes
        .iter()
        .map(|n| keyfile::read(&n.home.join("node.key")).map(|k| k.public()))
        .collect::<Result<_, _>>()
        .expect("node keys");
    let urls = Arc::new((0..c.nodes.len()).map(|i| c.url(i)).collect::<Vec<_>>());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .expect("http");
    let stop = Arc::new(AtomicBool::new(false));
    let period = Duration::from_micros(1_000_000 * PARTIES.len() as u64 / rate);
    let mut tasks = Vec::new();
    for (p, alias) in PARTIES.iter().enumerate() {
        let s = Submitter {
            alias,
            key: c.key(alias).expect("key"),
            chain: chain.clone(),
            urls: urls.clone(),
            http: http.clone(),
            node: p % c.nodes.len(),
            period,
        };
        tasks.push(tokio::spawn(s.run(stop.clone())));
    }

    // Every KILL_EVERY: SIGKILL the current proposer, restart it DOWN_FOR later.
    let load_start = Instant::now();
    let load_start_ms = now_ms();
    let mut kills: Vec<(u64, usize)> = Vec::new();
    let mut k = 1;
    while load_start.elapsed() + KILL_EVERY <= LOAD {
        tokio::time::sleep_until((load_start + KILL_EVERY * k).into()).await;
        k += 1;
        let Some(victim) = current_proposer(&c, &node_keys).await else {
            panic!("no node answers /v1/status");
        };
        c.kill9(victim);
        kills.push((now_ms(), victim));
        eprintln!("killed node {victim} at {} ms", kills[kills.len() - 1].0);
        tokio::time::sleep(DOWN_FOR).await;
        c.restart(victim).await.expect("restart");
    }
    tokio::time::sleep_until((load_start + LOAD).into()).await;
    stop.store(true, Ordering::Relaxed);
    let load_ms = now_ms() - load_start_ms;
    let mut reps = Vec::new();
    for t in tasks {
        reps.push(
            tokio::time::timeout(Duration::from_secs(40), t)
                .await
                .expect("submitters stop")
                .expect("join")
                .expect("submitter"),
        );
    }

    // Drain: every participant's last transaction (hence all before it) on every node.
    let drain = Instant::now();
    for r in &reps {
        let Some(last) = r.last else {
            continue;
        };
        for i in 0..c.nodes.len() {
            c.wait_committed(i, &last, Duration::from_secs(60))
                .await
                .expect("drained");
        }
    }
    let drain_time = drain.elapsed();

    let acked: Vec<Hash> = reps.iter().flat_map(|r| r.acked.iter().copied()).collect();
    let submitted: u64 = reps.iter().map(|r| r.submitted).sum();
    let resent: u64 = reps.iter().map(|r| r.resent).sum();
    let known: usize = reps.iter().map(|r| r.known_unacked.len()).sum();
    let lost: Vec<(usize, u64)> = reps
        .iter()
        .flat_map(|r| r.acked_missing.iter().copied())
        .collect();
    let missing = lost.len();
    // Every acknowledged transaction is recorded by its node before the 202: none may vanish.
    for (by, at) in &lost {
        let before_kill = kills
            .iter()
            .filter(|(t, v)| v == by && t >= at)
            .map(|(t, _)| t - at)
            .min();
        eprintln!(
            "lost: acknowledged by node {by} at {at} ms ({} ms before its next kill)",
            before_kill.map_or_else(|| "-".to_string(), |w| w.to_string())
        );
    }
    let mut taken = acked.clone();
    taken.extend(reps.iter().flat_map(|r| r.known_unacked.iter().copied()));
    let top = c
        .check_committed(&taken)
        .await
        .expect("every acked tx once, everywhere");

    // Block times on node 0: throughput and the longest stall after each kill.
    let mut times = Vec::new();
    let mut rounds = 0;
    let mut txs_in_load = 0usize;
    let mut on_chain = 0usize;
    for h in 1..=top {
        let v = c.get(0, &format!("/v1/blocks/{h}")).await.expect("block");
        let b: Block = serde_json::from_value(v["block"].clone()).expect("block json");
        if b.header.round > 0 {
            rounds += 1;
        }
        if b.header.time_ms >= load_start_ms && b.header.time_ms <= load_start_ms + load_ms {
            txs_in_load += b.transactions.len();
        }
        on_chain += b.transactions.len();
        times.push(b.header.time_ms);
    }
    let worst_in_load = times
        .windows(2)
        .filter(|w| w[0] >= load_start_ms && w[1] <= load_start_ms + load_ms)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(0);
    let mut worst_after_kill = 0u64;
    for (at, _) in &kills {
        // The stall a kill causes: the gap between consecutive commits that spans it or follows
        // it within the restart window.
        for w in times.windows(2) {
            if w[1] > *at && w[0] < at + DOWN_FOR.as_millis() as u64 + 3000 {
                worst_after_kill = worst_after_kill.max(w[1] - w[0].max(*at));
            }
        }
    }
    let victims: Vec<usize> = kills.iter().map(|(_, v)| *v).collect();
    eprintln!(
        "scenario 6: rate {rate} tx/s from {} parties; {} kills (victims {victims:?}); \
         submitted {submitted}, acked {}, committed {on_chain} ({} acked + {known} retried-unacked), \
         resent {resent}; acknowledged but lost {missing}; {} blocks, {rounds} decided after round 0; \
         throughput {:.0} tx/s during the load; longest stall after a kill {worst_after_kill} ms \
         (longest gap between blocks during the load {worst_in_load} ms); \
         drain {drain_time:?}",
        PARTIES.len(),
        kills.len(),
        acked.len(),
        acked.len(),
        top,
        txs_in_load as f64 * 1000.0 / load_ms as f64,
    );
    assert!(
        kills.len() >= 10,
        "a proposer was killed every {KILL_EVERY:?}"
    );
    assert!(
        acked.len() as u64 >= submitted * 9 / 10,
        "most submissions acknowledged: {} of {submitted}",
        acked.len()
    );
    assert_eq!(
        missing, 0,
        "an acknowledged transaction vanished with its node"
    );
    assert!(
        worst_after_kill < 8000,
        "a dead proposer costs a round timeout, not a stall of {worst_after_kill} ms"
    );
    eprintln!("scenario 6 took {:?}", started.elapsed());
}
