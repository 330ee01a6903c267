//! Real node processes under SIGKILL, restart and a wiped data directory (issue 6, scenarios 2-4
//! driven over the HTTP API). Every scenario ends with the consistency check.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{Hash, Keypair, Payload, Transaction};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_one_validator_mid_stream_others_go_on_and_it_catches_up() {
    let mut c = Cluster::start(4, 1000).await.expect("cluster");
    let chain = c.genesis.chain_id.clone();
    let seller = c.key("seller").expect("key");
    let mut acked = Vec::new();
    for n in 1..=30u64 {
        if n == 10 {
            c.kill9(3);
        }
        let tx = anchor(&chain, &seller, n, &format!("stream-{n}"));
        let (s, b) = c.submit((n % 3) as usize, &tx).await.expect("submit");
        assert_eq!(s, 202, "{b}");
        acked.push(tx.hash());
        // One in flight at a time per signer keeps nonces in order across nodes.
        c.wait_committed((n % 3) as usize, &tx.hash(), Duration::from_secs(20))
            .await
            .expect("committed while one validator is dead");
    }
    let target = c.height(0).await.expect("height");
    let t = Instant::now();
    c.restart(3).await.expect("restart");
    c.wait_height(3, target, Duration::from_secs(60))
        .await
        .expect("catch up");
    println!("restarted node caught up to {target} in {:?}", t.elapsed());
    for h in &acked {
        c.wait_committed(3, h, Duration::from_secs(10))
            .await
            .expect("on node 3");
    }
    c.check_consistency().await.expect("consistent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_two_of_four_halts_without_fork_and_resumes_when_one_returns() {
    let mut c = Cluster::start(4, 500).await.expect("cluster");
    c.wait_height(0, 2, Duration::from_secs(30))
        .await
        .expect("heartbeats");
    c.kill9(2);
    c.kill9(3);
    // At most a block already decided can still land; then nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h0 = c.height(0).await.expect("h0");
    let chain = c.genesis.chain_id.clone();
    let buyer = c.key("buyer").expect("key");
    let tx = anchor(&chain, &buyer, 1, "while-halted");
    assert_eq!(c.submit(0, &tx).await.expect("submit").0, 202);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(c.height(0).await, Some(h0), "no quorum: no commits");
    assert_eq!(c.height(1).await, Some(h0));
    c.check_consistency().await.expect("no fork while halted");
    // One returns: commits resume within a few round timeouts, without restarting the others.
    let t = Instant::now();
    c.restart(3).await.expect("restart");
    let at = c
        .wait_committed(0, &tx.hash(), Duration::from_secs(30))
        .await
        .expect("resumed");
    println!(
        "commits resumed {:?} after the restart (tx at height {at})",
        t.elapsed()
    );
    c.restart(2).await.expect("restart");
    let top = c.height(0).await.expect("h");
    c.wait_height(2, top, Duration::from_secs(30))
        .await
        .expect("catch up");
    c.check_consistency().await.expect("consistent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_rejoins_with_the_same_chain() {
    let mut c = Cluster::start(4, 200).await.expect("cluster");
    c.wait_height(0, 10, Duration::from_secs(30))
        .await
        .expect("blocks");
    c.term(1).expect("sigterm stops cleanly");
    c.wipe(1).expect("wipe");
    c.wait_height(0, 20, Duration::from_secs(30))
        .await
        .expect("more blocks");
    c.restart(1).await.expect("restart");
    let top = c.height(0).await.expect("h");
    c.wait_height(1, top, Duration::from_secs(30))
        .await
        .expect("rejoined");
    let common = c.check_consistency().await.expect("consistent");
    assert!(common >= top, "wiped node holds the whole chain again");
}
