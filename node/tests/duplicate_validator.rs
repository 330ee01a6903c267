//! An operator's mistake: a second process started with a validator's node key (a copied home
//! with its own data directory and ports). The key's messages that one of the two did not sign
//! reach it through the others' relays; it stops signing, says so in its log and on
//! `/v1/status` (`signing: false`, `duplicate_key`), and the chain goes on with the others.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::genesis::ConsensusParams;
use portledger_node::config::NodeConfig;
use portledger_node::node::{self, RunningNode};
use portledger_node::testnet::{self, TestnetOptions};
use serde_json::Value;

async fn status(http: &reqwest::Client, n: &RunningNode) -> Value {
    http.get(format!("http://{}/v1/status", n.api_addr))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json")
}

async fn metrics(http: &reqwest::Client, n: &RunningNode) -> String {
    http.get(format!("http://{}/metrics", n.api_addr))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_with_a_validators_key_is_detected_and_stops_signing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    testnet::create(
        dir,
        &TestnetOptions {
            validators: 4,
            p2p_port: testnet::free_ports(5).expect("ports"),
            api_port: testnet::free_ports(5).expect("ports"),
            chain_id: "portledger-test".into(),
            consensus: ConsensusParams {
                timeout_base_ms: 300,
                timeout_delta_ms: 200,
                timeout_max_ms: 2000,
                heartbeat_ms: 150,
                ..ConsensusParams::default()
            },
        },
    )
    .expect("testnet");
    // The copy of node 1's home: same key and genesis, its own data and ports.
    let twin = dir.join("node-1-copy");
    std::fs::create_dir_all(&twin).expect("mkdir");
    for f in ["node.key", "genesis.json", "config.toml"] {
        std::fs::copy(dir.join("node-1").join(f), twin.join(f)).expect("copy");
    }
    let mut nodes = Vec::new();
    for i in 0..4 {
        // Node 1 dials nobody (the others dial it): one connection each, which leaves the
        // per-peer limit (two) room for the copy's connections under the same identity.
        let env = if i == 1 {
            vec![("PORTLEDGER_PEERS".to_string(), "[]".to_string())]
        } else {
            Vec::new()
        };
        let cfg = NodeConfig::load(&dir.join(format!("node-{i}")), env).expect("config");
        nodes.push(node::start(cfg).await.expect("start"));
    }
    let free = |_: ()| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .to_string()
    };
    let cfg = NodeConfig::load(
        &twin,
        vec![
            ("PORTLEDGER_P2P_LISTEN".to_string(), free(())),
            ("PORTLEDGER_API_LISTEN".to_string(), free(())),
            // On another host its timers would not tick in step with the original's; in one
            // test process they would, and the two would sign identical blocks. A shorter
            // heartbeat makes it start heights, and build its blocks, at other times.
            ("PORTLEDGER_HEARTBEAT_MS".to_string(), "60".to_string()),
        ],
    )
    .expect("config");
    nodes.push(node::start(cfg).await.expect("start the copy"));

    let http = reqwest::Client::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(40);
    let detected = loop {
        let mut found = None;
        for i in [1, 4] {
            let s = status(&http, &nodes[i]).await;
            if !s["duplicate_key"].is_null() {
                found = Some((i, s));
                break;
            }
        }
        if let Some(f) = found {
            break f;
        }
        if Instant::now() >= deadline {
            let mut seen = String::new();
            for n in &nodes {
                let s = status(&http, n).await;
                let m = metrics(&http, n).await;
                let eq: Vec<&str> = m
                    .lines()
                    .filter(|l| l.starts_with("portledger_equivocations"))
                    .collect();
                seen.push_str(&format!(
                    "height {} peers {} {:?}\n",
                    s["height"], s["peers"], eq
                ));
            }
            panic!("neither process with node 1's key noticed the other:\n{seen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (who, s) = detected;
    eprintln!(
        "duplicate key noticed by {} after {:.1} s",
        if who == 1 { "node 1" } else { "its copy" },
        started.elapsed().as_secs_f64()
    );
    assert_eq!(s["signing"], false, "{s}");
    assert!(
        s["duplicate_key"]
            .as_str()
            .is_some_and(|d| d.contains("another process runs the same validator key")),
        "{s}"
    );
    for i in [0, 2, 3] {
        let s = status(&http, &nodes[i]).await;
        assert_eq!(s["signing"], true, "node {i}: {s}");
        assert!(s["duplicate_key"].is_null(), "node {i}: {s}");
    }
    // The chain goes on: the three others (and the twin that did not notice, if any) commit.
    let before = status(&http, &nodes[0]).await["height"]
        .as_u64()
        .expect("height");
    let goal = before + 5;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = status(&http, &nodes[0]).await["height"]
            .as_u64()
            .expect("height");
        if h >= goal {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain stalled at {h} after node {who} stopped signing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = metrics(&http, &nodes[who]).await;
    assert!(
        metrics.contains("portledger_duplicate_key 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("duplicate"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for n in nodes {
        n.stop().await.expect("stop");
    }
}
