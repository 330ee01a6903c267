//! Issue 6, scenario 5: one node is cut off from its peers for a while under a steady stream of
//! transactions, then the cut heals. While cut, the other three keep committing and the cut node
//! does not advance; after the heal it catches up within a bounded time, and every acknowledged
//! transaction is committed once, at the same height, on every node.
//!
//! Each node runs in its own Linux network namespace ([`portledger_tests::netns`]); the cut
//! brings the node's p2p link down. Needs root and iproute2: otherwise it prints
//! `SKIP partition: <reason>` and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{Hash, Payload, Transaction};
use portledger_tests::netns::Netns;
use portledger_tests::Cluster;

const CUT: usize = 3;
const CUT_FOR: Duration = Duration::from_secs(10);

/// Signs and submits `alias`'s anchors to `node`, one every `period`, until `stop`; returns
/// the acknowledged hashes.
async fn stream(
    c: Arc<Cluster>,
    alias: &'static str,
    node: usize,
    period: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Vec<Hash>> {
    let key = c.key(alias)?;
    let mut acked = Vec::new();
    let mut tick = tokio::time::interval(period);
    let mut nonce = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        nonce += 1;
        let tx = Transaction::sign(
            &key,
            &c.genesis.chain_id,
            nonce,
            Payload::AnchorDocument {
                hash: Hash::of(format!("{alias}-invoice-{nonce}").as_bytes()),
                doc_type: DocumentType::CommercialInvoice,
                references: vec![format!("BL-P-{nonce}")],
            },
        );
        let (s, b) = c.submit(node, &tx).await?;
        anyhow::ensure!(s == 202, "{alias} nonce {nonce} via node {node}: {s} {b}");
        acked.push(tx.hash());
    }
    Ok(acked)
}

async fn heights(c: &Cluster) -> Vec<u64> {
    let mut v = Vec::new();
    for i in 0..c.nodes.len() {
        v.push(c.height(i).await.unwrap_or(0));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_stalls_then_catches_up_after_the_heal() {
    let started = Instant::now();
    let net = match Netns::create(4) {
        Ok(n) => n,
        Err(e) => {
            eprintln!(
                "SKIP partition: cannot create network namespaces (needs root and iproute2): {e:#}"
            );
            return;
        }
    };
    let layout = (0..4).map(|i| net.layout(i)).collect();
    let c = Arc::new(
        Cluster::start_with(4, 500, Some(layout))
            .await
            .expect("cluster in namespaces"),
    );
    for i in 0..4 {
        c.wait_height(i, 2, Duration::from_secs(30))
            .await
            .expect("every node commits");
    }

    // A steady stream through the three nodes that stay connected: 3 x 20 tx/s.
    let stop = Arc::new(AtomicBool::new(false));
    let streams: Vec<_> = [("seller", 0), ("buyer", 1), ("carrier", 2)]
        .into_iter()
        .map(|(alias, node)| {
            tokio::spawn(stream(
                c.clone(),
                alias,
                node,
                Duration::from_millis(50),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Cut. A block decided just before the cut may still land on the cut node; then nothing.
    net.cut(CUT).expect("cut");
    let cut_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let frozen = c
        .height(CUT)
        .await
        .expect("the cut node's API still answers");
    let before = heights(&c).await;
    tokio::time::sleep(CUT_FOR).await;
    let during = heights(&c).await;
    let peers = c.get(CUT, "/v1/status").await.expect("status")["peers"]
        .as_array()
        .map_or(0, Vec::len);
    let up: Vec<bool> = c.get(0, "/v1/status").await.expect("status")["validators"]
        .as_array()
        .map(|v| v.iter().map(|v| v["up"] == true).collect())
        .unwrap_or_default();
    eprintln!(
        "at the end of the cut node {CUT} lists {peers} peers; node 0 reports validators up: {up:?}"
    );
    eprintln!("heights at the cut {before:?}, {CUT_FOR:?} later {during:?}");
    assert_eq!(during[CUT], frozen, "the cut node does not advance");
    for i in (0..4).filter(|i| *i != CUT) {
        assert!(
            during[i] >= before[i] + 5,
            "node {i} keeps committing while node {CUT} is cut: {before:?} -> {during:?}"
        );
    }

    // Heal: the cut node catches up with the others while the stream goes on.
    net.heal(CUT).expect("heal");
    let healed = Instant::now();
    let target = during.iter().copied().max().unwrap_or(0);
    c.wait_height(CUT, target, Duration::from_secs(60))
        .await
        .expect("the healed node catches up");
    let catch_up = healed.elapsed();
    eprintln!(
        "scenario 5: cut for {:?}; node {CUT} reached the others' height {target} (from {frozen}) {catch_up:?} after the heal",
        healed - cut_at,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for s in streams {
        acked.extend(
            tokio::time::timeout(Duration::from_secs(20), s)
                .await
                .expect("streams stop")
                .expect("join")
                .expect("every submission acknowledged"),
        );
    }
    // Everyone agrees: the last transaction of each stream (so all before it) on every node,
    // then the same chain and every acknowledged transaction once, at one height.
    for i in 0..4 {
        for h in &acked {
            c.wait_committed(i, h, Duration::from_secs(30))
                .await
                .expect("committed everywhere");
        }
    }
    let top = c.check_committed(&acked).await.expect("consistent");
    eprintln!(
        "scenario 5: {} acknowledged transactions, all committed; common height {top}; catch-up {catch_up:?}",
        acked.len()
    );
    assert!(catch_up < Duration::from_secs(60));
    eprintln!("scenario 5 took {:?}", started.elapsed());
}
