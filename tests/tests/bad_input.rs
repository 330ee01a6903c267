//! Bad input against a running network of real node processes (issue 6, scenario 7): garbage
//! bytes and oversized bodies at the API, a transaction signed by an unregistered key, a replay,
//! and a stranger libp2p identity dialling a node. The nodes keep running; each is refused with
//! a clear error; the network still commits afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{Hash, Keypair, Payload, Transaction};
use portledger_node::network::{self, testing, NetworkConfig, NetworkEvent, Topic};
use portledger_tests::Cluster;

fn anchor(chain: &str, key: &Keypair, nonce: u64, name: &str) -> Transaction {
    Transaction::sign(
        key,
        chain,
        nonce,
        Payload::AnchorDocument {
            hash: Hash::of(name.as_bytes()),
            doc_type: DocumentType::Other,
            references: vec![],
        },
    )
}

async fn raw_post(url: &str, ct: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/transactions"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_the_network_keeps_running() {
    let c = Cluster::start(4, 60_000).await.expect("cluster");
    let chain = c.genesis.chain_id.clone();
    let url = c.url(1);

    let (s, b) = raw_post(&url, "application/octet-stream", vec![0xff; 100]).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("malformed_transaction")),
        "{b}"
    );
    let (s, b) = raw_post(&url, "application/json", b"{\"body\": 7}".to_vec()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("malformed_transaction")),
        "{b}"
    );
    // The node answers 413 without reading the whole body and closes the connection, so a
    // client still writing may see a broken pipe instead: try again (three times at most).
    let mut oversized = None;
    for _ in 0..3 {
        if let Ok(r) = reqwest::Client::new()
            .post(format!("{url}/v1/transactions"))
            .header("content-type", "application/octet-stream")
            .body(vec![0; 3 * 1024 * 1024])
            .send()
            .await
        {
            oversized = Some(r.status().as_u16());
            break;
        }
    }
    assert_eq!(oversized, Some(413), "oversized body");

    let stranger = Keypair::generate();
    let (s, b) = c
        .submit(1, &anchor(&chain, &stranger, 1, "x"))
        .await
        .expect("submit");
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_signer")),
        "{b}"
    );

    let seller = c.key("seller").expect("key");
    let tx = anchor(&chain, &seller, 1, "first");
    assert_eq!(c.submit(1, &tx).await.expect("submit").0, 202);
    c.wait_committed(1, &tx.hash(), Duration::from_secs(20))
        .await
        .expect("committed");
    let (s, b) = c.submit(2, &tx).await.expect("replay");
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("bad_nonce")),
        "{b}"
    );

    // A stranger identity dials node 0 over libp2p: never admitted, its gossip goes nowhere.
    let p2p = {
        let cfg = portledger_node::config::NodeConfig::load(&c.nodes[0].home, []).expect("cfg");
        cfg.p2p_listen
    };
    let node0 = portledger_ledger::keyfile::read(&c.nodes[0].home.join("node.key"))
        .expect("node key")
        .public();
    let mut cfg = NetworkConfig::new(chain.clone(), "127.0.0.1:0".parse().expect("addr"));
    cfg.peers = vec![(node0, p2p.into())];
    cfg.allowed = vec![node0, stranger.public()];
    cfg.redial_interval = Duration::from_millis(200);
    let (net, mut events) = network::spawn(
        &stranger,
        cfg,
        testing::accept_all(),
        Arc::new(testing::MemBlockSource::empty()),
    )
    .expect("stranger network");
    let forged = anchor(&chain, &seller, 2, "from-a-stranger");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline {
        let _ = net
            .publish(
                Topic::Transactions,
                portledger_node::submission::encode_batch(std::slice::from_ref(&forged)),
            )
            .await;
        if let Ok(Some(NetworkEvent::Message { .. })) =
            tokio::time::timeout(Duration::from_millis(200), events.recv()).await
        {
            panic!("a stranger received gossip");
        }
        // Node 0's allow-list closes the connection after the handshake: never one of its peers.
        let peers = c.get(0, "/v1/status").await.expect("status")["peers"].clone();
        assert!(
            !peers.to_string().contains(&stranger.public().to_hex()),
            "the stranger became a peer of node 0: {peers}"
        );
    }
    net.shutdown().await;
    let status = c.get_transaction(0, &forged.hash()).await;
    assert!(
        status.is_err(),
        "the stranger's transaction reached no node"
    );

    // Every node still runs and the network still commits.
    let next = anchor(&chain, &seller, 2, "after");
    assert_eq!(c.submit(3, &next).await.expect("submit").0, 202);
    for i in 0..4 {
        c.wait_committed(i, &next.hash(), Duration::from_secs(20))
            .await
            .expect("committed");
    }
    c.check_consistency().await.expect("consistent");
}
