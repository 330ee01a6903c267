//! Issue 17, part 3, on real processes: under a steady load, every validator of four rotates
//! its node key in turn (`portledger-node rotate-key`, `portledger gov rotate-node-key`). Each
//! new key is seated `ACTIVATION_DELAY` heights after the rotation's block, the node signs with
//! it from there, and the old key is in no certificate after that; a replay of the rotation is
//! refused. Then a node restarts and runs under its new key altogether (identity included).
//! The chain replays from genesis alone; every acknowledged transaction is committed once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::governance::ACTIVATION_DELAY;
use portledger_ledger::{CommitCertificate, PublicKey};
use portledger_tests::cli::Cli;
use portledger_tests::load::SteadyLoad;
use portledger_tests::Cluster;
use serde_json::Value;

/// The demo validators: organisation and a participant of it.
const SEATS: [(&str, &str); 4] = [
    ("port-authority", "port"),
    ("first-bank", "issuing-bank"),
    ("customs-authority", "customs"),
    ("ocean-carrier", "carrier"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_validator_rotates_its_key_in_turn_under_load() {
    let started = Instant::now();
    let mut c = Cluster::start(4, 500).await.expect("cluster");
    tokio::time::timeout(Duration::from_secs(300), flow(&mut c))
        .await
        .expect("the scenario finished within 300 s");
    eprintln!("key rotation scenario took {:?}", started.elapsed());
}

async fn signers(c: &Cluster, h: u64) -> Vec<PublicKey> {
    let v = c.get(0, &format!("/v1/blocks/{h}")).await.expect("block");
    let cert: CommitCertificate =
        serde_json::from_value(v["certificate"].clone()).expect("certificate");
    cert.signatures.iter().map(|s| s.validator).collect()
}

fn key_of(v: &Value, org: &str) -> Option<PublicKey> {
    v["in_force"]["validators"]
        .as_array()?
        .iter()
        .find(|m| m["organisation"] == org)
        .and_then(|m| serde_json::from_value(m["node_key"].clone()).ok())
}

async fn flow(c: &mut Cluster) {
    let mut cli = Cli::new(c);
    let load = SteadyLoad::start(c, 1, "seller", Duration::from_millis(50)).expect("load");
    let mut rotations = Vec::new();
    for (i, (org, participant)) in SEATS.iter().enumerate() {
        let old = c.genesis.validator_set().key_of(org).expect("seat");
        let home = c.dir.join(format!("node-{i}")).display().to_string();
        let printed = c
            .node_command(&["rotate-key", "--home", &home])
            .expect("rotate-key");
        let file = c.dir.join(format!("rotation-{i}.json"));
        std::fs::write(&file, &printed).expect("write");
        let file = file.display().to_string();
        let v = cli
            .step(
                c,
                i,
                participant,
                &["gov", "rotate-node-key", "--file", &file],
            )
            .await;
        let new: PublicKey = serde_json::from_value(v["new_key"].clone()).expect("new_key");
        let seated = v["height"].as_u64().expect("height") + ACTIVATION_DELAY;
        c.wait_height(0, seated + 3, Duration::from_secs(60))
            .await
            .expect("progress");
        let vals = c.get(0, "/v1/gov/validators").await.expect("validators");
        assert_eq!(key_of(&vals, org), Some(new), "{vals}");
        for h in seated..=seated + 3 {
            assert!(
                !signers(c, h).await.contains(&old),
                "{org}'s old key signs {h}"
            );
        }
        let s = c.get(i, "/v1/status").await.expect("status");
        assert_eq!(
            (s["consensus_key"].as_str(), s["signing"].as_bool()),
            (Some(new.to_hex().as_str()), Some(true)),
            "{s}"
        );
        // The same rotation again is refused (its new key is the node key already).
        cli.refused(
            c,
            (i + 1) % 4,
            participant,
            &["gov", "rotate-node-key", "--file", &file],
            "already_exists",
        )
        .await;
        rotations.push((old, new, seated));
    }
    // Every seat has its new key: the chain still commits, so the new keys sign.
    let tip = c.height(0).await.expect("height");
    c.wait_height(0, tip + 3, Duration::from_secs(60))
        .await
        .expect("progress on new keys");
    let last = signers(c, tip + 3).await;
    assert!(
        last.iter()
            .all(|k| rotations.iter().any(|(_, new, _)| new == k)),
        "only new keys certify"
    );

    // A restarted node runs under its new key altogether, identity included.
    c.term(2).expect("stop node 2");
    c.restart(2).await.expect("restart node 2");
    let tip = c.height(0).await.expect("height");
    c.wait_height(2, tip + 2, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", c.log_tail(2)));
    let s = c.get(2, "/v1/status").await.expect("status");
    assert_eq!(
        s["node_key"].as_str(),
        Some(rotations[2].1.to_hex().as_str()),
        "{s}"
    );
    assert_eq!(s["signing"], true, "{s}");

    let acked = load.finish().await;
    for h in &acked {
        c.wait_committed(0, h, Duration::from_secs(30))
            .await
            .expect("acknowledged transaction committed");
    }
    let height = c.check_committed(&acked).await.expect("consistent");
    eprintln!(
        "4 rotations (seated at heights {:?}); {} acknowledged transactions committed once on all nodes up to height {height}",
        rotations.iter().map(|r| r.2).collect::<Vec<_>>(),
        acked.len()
    );
}
