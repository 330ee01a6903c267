//! Four real nodes in one test process (real libp2p on loopback, real sled in temporary
//! directories, two of the four nodes on memory stores in the first test): transactions submitted through one node's API are committed by all, with
//! identical block hashes; bad input gets a 4xx naming the rule and never reaches a block; a
//! node stopped for a while (or wiped) catches up from its peers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::{keyfile, Genesis, Hash, Keypair, MemStore, Payload, Store, Transaction};
use portledger_node::config::NodeConfig;
use portledger_node::node::{self, RunningNode};
use portledger_node::submission::SubmissionStore;
use portledger_node::testnet::{self, TestnetOptions};
use serde_json::Value;

fn free_port_base(n: u16) -> u16 {
    testnet::free_ports(n).expect("free ports")
}

struct Net {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    genesis: Genesis,
    nodes: Vec<Option<RunningNode>>,
}

fn fast_params() -> ConsensusParams {
    ConsensusParams {
        timeout_base_ms: 300,
        timeout_delta_ms: 200,
        timeout_max_ms: 2000,
        heartbeat_ms: 60_000,
        ..ConsensusParams::default()
    }
}

async fn start_node(dir: &Path, i: usize, heartbeat_ms: Option<u64>) -> RunningNode {
    let env: Vec<(String, String)> = heartbeat_ms
        .map(|h| ("PORTLEDGER_HEARTBEAT_MS".to_string(), h.to_string()))
        .into_iter()
        .collect();
    let cfg = NodeConfig::load(&dir.join(format!("node-{i}")), env).expect("config");
    node::start(cfg).await.expect("start")
}

/// A node whose chain lives in memory (its data directory is not used).
async fn start_memory_node(dir: &Path, i: usize) -> RunningNode {
    let cfg = NodeConfig::load(&dir.join(format!("node-{i}")), Vec::new()).expect("config");
    node::start_on(cfg, std::sync::Arc::new(MemStore::new()))
        .await
        .expect("start")
}

impl Net {
    async fn start(heartbeat_ms: Option<u64>) -> Net {
        Net::start_with(heartbeat_ms, 0).await
    }

    /// Four nodes, the last `in_memory` of them on memory stores.
    async fn start_with(heartbeat_ms: Option<u64>, in_memory: usize) -> Net {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().to_path_buf();
        let opts = TestnetOptions {
            validators: 4,
            p2p_port: free_port_base(4),
            api_port: free_port_base(4),
            chain_id: "portledger-test".into(),
            consensus: fast_params(),
        };
        testnet::create(&path, &opts).expect("testnet");
        let genesis =
            Genesis::from_json(&std::fs::read_to_string(path.join("genesis.json")).expect("g"))
                .expect("genesis");
        let mut nodes = Vec::new();
        for i in 0..4 {
            let node = if i >= 4 - in_memory {
                start_memory_node(&path, i).await
            } else {
                start_node(&path, i, heartbeat_ms).await
            };
            nodes.push(Some(node));
        }
        Net {
            _dir: dir,
            dir: path,
            genesis,
            nodes,
        }
    }

    fn key(&self, alias: &str) -> Keypair {
        keyfile::read(&self.dir.join("keys").join(format!("{alias}.key"))).expect("key")
    }

    fn api(&self, i: usize) -> String {
        format!(
            "http://{}",
            self.nodes[i].as_ref().expect("running").api_addr
        )
    }

    fn height(&self, i: usize) -> u64 {
        self.nodes[i].as_ref().expect("running").height()
    }

    async fn wait_height(&self, i: usize, h: u64, within: Duration) {
        let start = Instant::now();
        while self.height(i) < h {
            assert!(
                start.elapsed() < within,
                "node {i} stuck at height {} waiting for {h}",
                self.height(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn block_hash(&self, i: usize, h: u64) -> Hash {
        let n = self.nodes[i].as_ref().expect("running");
        n.shared
            .store()
            .block(h)
            .expect("store")
            .expect("block")
            .hash()
    }

    async fn stop_all(mut self) {
        for n in self.nodes.iter_mut() {
            if let Some(n) = n.take() {
                n.stop().await.expect("stop");
            }
        }
    }
}

fn anchor_tx(chain: &str, key: &Keypair, nonce: u64, name: &str) -> Transaction {
    Transaction::sign(
        key,
        chain,
        nonce,
        Payload::AnchorDocument {
            hash: Hash::of(name.as_bytes()),
            doc_type: DocumentType::CommercialInvoice,
            references: vec![],
        },
    )
}

/// Posts an oversized body and returns the status. The node answers 413 without reading the
/// whole body and closes the connection, so a client still writing may see a broken pipe
/// instead of the answer; such attempts are repeated (three at most). Each uses a client of its
/// own, so no connection the server closed is reused by later requests.
async fn post_oversized(api: &str, len: usize) -> u16 {
    for _ in 0..3 {
        let sent = reqwest::Client::new()
            .post(format!("{api}/v1/transactions"))
            .header("content-type", "application/octet-stream")
            .body(vec![0u8; len])
            .send()
            .await;
        if let Ok(r) = sent {
            return r.status().as_u16();
        }
    }
    panic!("the node closed the connection three times without answering the oversized body");
}

async fn post(client: &reqwest::Client, api: &str, body: Vec<u8>, json: bool) -> (u16, Value) {
    let ct = if json {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let r = client
        .post(format!("{api}/v1/transactions"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_commit_the_same_chain_and_refuse_bad_input() {
    // Two nodes on sled, two on memory stores: the node runs on either, and they agree.
    let net = Net::start_with(None, 2).await;
    let client = reqwest::Client::new();
    let chain = net.genesis.chain_id.clone();
    let seller = net.key("seller");

    // Twenty transactions through node 0's API, JSON and binary.
    let mut hashes = Vec::new();
    for n in 1..=20u64 {
        let tx = anchor_tx(&chain, &seller, n, &format!("doc-{n}"));
        let (status, body) = if n % 2 == 0 {
            post(
                &client,
                &net.api(0),
                serde_json::to_vec(&tx).expect("json"),
                true,
            )
            .await
        } else {
            post(&client, &net.api(0), tx.encode(), false).await
        };
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["tx_hash"], tx.hash().to_hex());
        hashes.push(tx.hash());
    }
    // All committed on every node.
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0..4 {
        loop {
            let n = net.nodes[i].as_ref().expect("node");
            let done = hashes.iter().all(|h| {
                n.shared
                    .store()
                    .transaction_location(h)
                    .expect("store")
                    .is_some()
            });
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} did not commit every transaction"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let h = (0..4).map(|i| net.height(i)).min().expect("heights");
    assert!(h >= 1);
    for height in 1..=h {
        let first = net.block_hash(0, height);
        for i in 1..4 {
            assert_eq!(
                net.block_hash(i, height),
                first,
                "node {i} differs at height {height}"
            );
        }
    }
    let status: Value = client
        .get(format!("{}/v1/status", net.api(2)))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["chain_id"], chain);
    assert!(status["height"].as_u64().expect("height") >= h);
    assert_eq!(
        status["validators"].as_array().expect("validators").len(),
        4
    );

    // A proof of an anchored document's history, served by another node, verifies offline.
    // Read as the seller, who anchored it (reads are signed: issue 15).
    let proof_path = format!("/v1/documents/{}/proof", Hash::of(b"doc-7"));
    let proof: portledger_ledger::proof::DocumentProof = client
        .get(format!("{}{proof_path}", net.api(2)))
        .header(
            "authorization",
            common::read_authorization(&chain, &seller, &proof_path),
        )
        .send()
        .await
        .expect("proof")
        .json()
        .await
        .expect("json");
    let verified = proof
        .verify(&net.genesis, None)
        .expect("proof verifies against genesis");
    assert_eq!(verified.events.len(), 1);
    assert_eq!(verified.events[0].action, "doc.anchor");
    // Its record is proven in the state at a certified height no lower than the anchoring.
    assert!(matches!(
        verified.documents[0].record,
        Some(portledger_ledger::proof::Record::Anchor(_))
    ));
    assert!(verified.height >= verified.events[0].height);

    // Bad input: each gets a 4xx naming the rule.
    let (s, b) = post(&client, &net.api(1), b"garbage".to_vec(), false).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "malformed_transaction");
    let (s, b) = post(&client, &net.api(1), b"{\"not\": \"a tx\"}".to_vec(), true).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        post_oversized(&net.api(1), 2 * 1024 * 1024).await,
        413,
        "oversized body"
    );
    let replay = anchor_tx(&chain, &seller, 3, "doc-3");
    let (s, b) = post(&client, &net.api(1), replay.encode(), false).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("bad_nonce")),
        "{b}"
    );
    let replay2 = anchor_tx(&chain, &seller, 3, "another");
    let (s, b) = post(&client, &net.api(1), replay2.encode(), false).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("bad_nonce")),
        "{b}"
    );
    let mut forged = anchor_tx(&chain, &seller, 21, "forged");
    forged.signature =
        Keypair::for_testing("mallory").sign(portledger_ledger::Domain::Transaction, &forged.body);
    let (s, b) = post(&client, &net.api(1), forged.encode(), false).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("bad_signature")),
        "{b}"
    );
    let stranger = anchor_tx(&chain, &Keypair::for_testing("stranger"), 1, "s");
    let (s, b) = post(&client, &net.api(1), stranger.encode(), false).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_signer")),
        "{b}"
    );
    let bank = net.key("issuing-bank");
    let release = Transaction::sign(
        &bank,
        &chain,
        1,
        Payload::ReleaseDeclaration { number: "X".into() },
    );
    let (s, b) = post(&client, &net.api(1), release.encode(), false).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("role_not_permitted")),
        "{b}"
    );
    let r = client
        .get(format!("{}/v1/bl/NOPE", net.api(1)))
        .header(
            "authorization",
            common::read_authorization(&chain, &seller, "/v1/bl/NOPE"),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 404);
    let r = client
        .get(format!("{}/v1/bl/NOPE", net.api(1)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 401, "an unsigned read is refused");
    let metrics = client
        .get(format!("{}/metrics", net.api(0)))
        .send()
        .await
        .expect("m")
        .text()
        .await
        .expect("t");
    assert!(metrics.contains("portledger_height"), "{metrics}");
    let openapi: Value = client
        .get(format!("{}/v1/openapi.json", net.api(0)))
        .send()
        .await
        .expect("o")
        .json()
        .await
        .expect("j");
    assert_eq!(openapi["openapi"], "3.1.0");
    // None of the refused transactions reached a block.
    for t in [&replay2, &forged, &stranger, &release] {
        let n = net.nodes[0].as_ref().expect("node");
        assert!(n
            .shared
            .store()
            .transaction_location(&t.hash())
            .expect("store")
            .is_none());
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_down_for_fifty_blocks_or_wiped_catches_up() {
    // Heartbeat blocks every 50 ms make a long chain quickly.
    let hb = Some(50);
    let mut net = Net::start(hb).await;
    net.wait_height(0, 3, Duration::from_secs(20)).await;

    // Node 3 down while the others commit 50+ blocks.
    let stopped_at = net.height(3);
    net.nodes[3]
        .take()
        .expect("node 3")
        .stop()
        .await
        .expect("stop");
    net.wait_height(0, stopped_at + 55, Duration::from_secs(60))
        .await;
    let target = net.height(0);
    let t = Instant::now();
    net.nodes[3] = Some(start_node(&net.dir, 3, hb).await);
    net.wait_height(3, target, Duration::from_secs(60)).await;
    println!(
        "node 3 caught up {} blocks in {:?}",
        target - stopped_at,
        t.elapsed()
    );
    for h in 1..=target {
        assert_eq!(net.block_hash(3, h), net.block_hash(0, h), "height {h}");
    }

    // Node 2's data directory is wiped while it is down: it rejoins from its peers.
    net.nodes[2]
        .take()
        .expect("node 2")
        .stop()
        .await
        .expect("stop");
    std::fs::remove_dir_all(net.dir.join("node-2").join("data")).expect("wipe");
    net.wait_height(0, target + 5, Duration::from_secs(30))
        .await;
    let target = net.height(0);
    net.nodes[2] = Some(start_node(&net.dir, 2, hb).await);
    net.wait_height(2, target, Duration::from_secs(60)).await;
    for h in 1..=target {
        assert_eq!(net.block_hash(2, h), net.block_hash(0, h), "height {h}");
    }
    // And it takes part again: the chain keeps growing with all four.
    let h = net.height(0);
    net.wait_height(2, h + 5, Duration::from_secs(30)).await;
    net.stop_all().await;
}

/// An acknowledged transaction survives its node's restart: with no quorum (three of four
/// stopped) nothing commits; node 0 acknowledges two transactions, is stopped and started
/// again, still holds them, and once the others return they are committed everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transactions_survive_a_restart_of_their_node() {
    let mut net = Net::start(None).await;
    let chain = net.genesis.chain_id.clone();
    for i in 1..4 {
        net.nodes[i]
            .take()
            .expect("running")
            .stop()
            .await
            .expect("stop");
    }
    let seller = net.key("seller");
    let client = reqwest::Client::new();
    let txs = [
        anchor_tx(&chain, &seller, 1, "kept-1"),
        anchor_tx(&chain, &seller, 2, "kept-2"),
    ];
    for tx in &txs {
        let (s, b) = post(&client, &net.api(0), tx.encode(), false).await;
        assert_eq!(s, 202, "{b}");
    }
    net.nodes[0]
        .take()
        .expect("running")
        .stop()
        .await
        .expect("stop");
    net.nodes[0] = Some(start_node(&net.dir, 0, None).await);
    for tx in &txs {
        let path = format!("/v1/transactions/{}", tx.hash());
        let v: Value = client
            .get(format!("{}{path}", net.api(0)))
            .header(
                "authorization",
                common::read_authorization(&chain, &seller, &path),
            )
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(v["status"], "pending", "{v}");
    }
    for i in 1..4 {
        net.nodes[i] = Some(start_node(&net.dir, i, None).await);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for tx in &txs {
        let n3 = net.nodes[3].as_ref().expect("running");
        while n3
            .shared
            .store()
            .transaction_location(&tx.hash())
            .expect("store")
            .is_none()
        {
            assert!(Instant::now() < deadline, "acknowledged transaction lost");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Committed ones leave the record.
    let n0 = net.nodes[0].as_ref().expect("running");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !n0.shared.store().accepted().expect("store").is_empty() {
        assert!(
            Instant::now() < deadline,
            "committed transactions still recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.stop_all().await;
}
