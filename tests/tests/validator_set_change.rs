//! Issue 17, part 3, on real processes: under a steady load, a fifth organisation set up on its
//! own (`portledger-node init`, `join`) is admitted as a validator by a vote of the four, takes
//! its seat `ACTIVATION_DELAY` heights after the deciding block and signs certificates from
//! then on; then a genesis validator is voted out (the newcomer's vote counting) and its
//! signatures stop while its node follows the chain as an observer. A node down across the
//! join syncs across it; a node wiped after both changes rejoins from genesis. No height is skipped, no
//! fork; the longest chain replays from genesis alone with every certificate checked against
//! its height's set; every acknowledged transaction is committed once. Prints the longest
//! block interval around each change.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use portledger_ledger::governance::ACTIVATION_DELAY;
use portledger_ledger::{keyfile, PublicKey};
use portledger_tests::cli::Cli;
use portledger_tests::cluster::free_ports;
use portledger_tests::load::SteadyLoad;
use portledger_tests::Cluster;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_joins_and_another_leaves_under_load() {
    let started = Instant::now();
    let mut c = Cluster::start(4, 500).await.expect("cluster");
    tokio::time::timeout(Duration::from_secs(300), flow(&mut c))
        .await
        .expect("the scenario finished within 300 s");
    eprintln!("validator set change scenario took {:?}", started.elapsed());
}

/// Signers of the certificate of block `h` as node `i` has it.
async fn signers(c: &Cluster, i: usize, h: u64) -> Vec<PublicKey> {
    let v = c.get(i, &format!("/v1/blocks/{h}")).await.expect("block");
    let cert: portledger_ledger::CommitCertificate =
        serde_json::from_value(v["certificate"].clone()).expect("certificate");
    cert.signatures.iter().map(|s| s.validator).collect()
}

/// The longest interval between consecutive blocks from `from` to `to`, in ms, on node 0.
async fn longest_gap(c: &Cluster, from: u64, to: u64) -> u64 {
    let mut last = None;
    let mut gap = 0;
    for h in from..=to {
        let v = c.get(0, &format!("/v1/blocks/{h}")).await.expect("block");
        let t = v["block"]["header"]["time_ms"].as_u64().expect("time_ms");
        if let Some(l) = last {
            gap = gap.max(t.saturating_sub(l));
        }
        last = Some(t);
    }
    gap
}

async fn status(c: &Cluster, i: usize) -> Value {
    c.get(i, "/v1/status").await.expect("status")
}

async fn flow(c: &mut Cluster) {
    let mut cli = Cli::new(c);

    // A steady stream of anchors from the seller through node 1, every acknowledgement kept.
    let load = SteadyLoad::start(c, 1, "seller", Duration::from_millis(50)).expect("load");

    // The fifth organisation sets itself up alone, from the public genesis and descriptions.
    let p2p = free_ports(1).expect("port");
    let api = free_ports(1).expect("port");
    let home = c.dir.join("node-4");
    let home_s = home.display().to_string();
    c.node_command(&[
        "init",
        "--home",
        &home_s,
        "--org",
        "fifth-port",
        "--role",
        "port_operator",
        "--validator",
        "--participant",
        "fifth-ops",
        "--address",
        &format!("127.0.0.1:{p2p}"),
        "--api-listen",
        &format!("127.0.0.1:{api}"),
    ])
    .expect("init");
    let genesis = c.dir.join("genesis.json").display().to_string();
    let mut join = vec!["join", "--home", &home_s, "--genesis", &genesis];
    let descriptions: Vec<String> = (0..4)
        .map(|i| {
            c.dir
                .join(format!("node-{i}/organisation.json"))
                .display()
                .to_string()
        })
        .collect();
    for d in &descriptions {
        join.extend(["--org", d.as_str()]);
    }
    c.node_command(&join).expect("join");
    std::fs::copy(
        home.join("keys/fifth-ops.key"),
        cli.keys.join("fifth-ops.key"),
    )
    .expect("key");
    let fifth_key = keyfile::read(&home.join("node.key"))
        .expect("node key")
        .public();
    let n5 = c
        .add_node(home.clone(), SocketAddr::from(([127, 0, 0, 1], api)))
        .await
        .expect("fifth node");

    // The carrier's node is down across the join (3 of 4 decide meanwhile).
    c.term(3).expect("stop node 3");

    // The four admit it as a validator.
    let description = home.join("organisation.json").display().to_string();
    cli.step(
        c,
        0,
        "port",
        &[
            "gov",
            "propose",
            "seat-fifth",
            "add-org",
            "--file",
            &description,
        ],
    )
    .await;
    cli.step(
        c,
        1,
        "issuing-bank",
        &["gov", "vote", "seat-fifth", "--yes"],
    )
    .await;
    let v = cli
        .step(c, 2, "customs", &["gov", "vote", "seat-fifth", "--yes"])
        .await;
    let joined = v["height"].as_u64().expect("height") + ACTIVATION_DELAY;
    eprintln!("fifth-port admitted; validator from height {joined}");

    // It syncs, and signs from its first height on.
    c.wait_height(n5, joined + 6, Duration::from_secs(90))
        .await
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", c.log_tail(n5)));
    for h in 1..joined {
        assert!(!signers(c, 0, h).await.contains(&fifth_key), "height {h}");
    }
    let mut signed = 0;
    for h in joined..joined + 6 {
        signed += usize::from(signers(c, 0, h).await.contains(&fifth_key));
    }
    assert!(
        signed >= 3,
        "the newcomer signed {signed} of 6 certificates"
    );
    let s = status(c, n5).await;
    assert_eq!(s["signing"], true, "{s}");

    // The carrier's node comes back and syncs across the change, each certificate checked
    // against its height's set.
    c.restart(3).await.expect("restart node 3");
    let tip = c.height(0).await.expect("height");
    c.wait_height(3, tip, Duration::from_secs(90))
        .await
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", c.log_tail(3)));
    assert_eq!(s["validators"].as_array().map(Vec::len), Some(5), "{s}");

    // Then the carrier's seat is voted out; the newcomer's vote counts (3 of 5 is not a quorum).
    cli.step(
        c,
        0,
        "port",
        &[
            "gov",
            "propose",
            "unseat-carrier",
            "remove-validator",
            "--org",
            "ocean-carrier",
        ],
    )
    .await;
    cli.step(
        c,
        1,
        "issuing-bank",
        &["gov", "vote", "unseat-carrier", "--yes"],
    )
    .await;
    let p = cli
        .ok(c, 2, Some("port"), &["gov", "show", "unseat-carrier"])
        .await;
    assert_eq!(p["status"], "open", "two of five is not a quorum: {p}");
    cli.step(c, 2, "customs", &["gov", "vote", "unseat-carrier", "--yes"])
        .await;
    let v = cli
        .step(
            c,
            n5,
            "fifth-ops",
            &["gov", "vote", "unseat-carrier", "--yes"],
        )
        .await;
    let left = v["height"].as_u64().expect("height") + ACTIVATION_DELAY;
    let carrier_key = c
        .genesis
        .validator_set()
        .key_of("ocean-carrier")
        .expect("seat");
    for i in 0..c.nodes.len() {
        c.wait_height(i, left + 6, Duration::from_secs(90))
            .await
            .unwrap_or_else(|e| panic!("{e}; log:\n{}", c.log_tail(i)));
    }
    for h in left..left + 6 {
        assert!(!signers(c, 0, h).await.contains(&carrier_key), "height {h}");
    }
    let s = status(c, 3).await;
    assert_eq!(
        s["signing"], false,
        "the carrier's node is an observer now: {s}"
    );
    assert_eq!(s["validators"].as_array().map(Vec::len), Some(4), "{s}");

    // A node wiped after both changes rejoins from genesis: its block sync verifies the
    // certificates of three validator sets.
    c.term(2).expect("stop node 2");
    c.wipe(2).expect("wipe node 2");
    c.restart(2).await.expect("restart node 2");
    let tip = c.height(0).await.expect("height");
    c.wait_height(2, tip, Duration::from_secs(90))
        .await
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", c.log_tail(2)));

    let acked = load.finish().await;
    for h in &acked {
        c.wait_committed(0, h, Duration::from_secs(30))
            .await
            .expect("acknowledged transaction committed");
    }
    let height = c.check_committed(&acked).await.expect("consistent");
    eprintln!(
        "{} acknowledged transactions committed once on all 5 nodes, up to height {height}; \
         longest block interval around the join {} ms, around the leave {} ms",
        acked.len(),
        longest_gap(c, joined - 2, joined + 2).await,
        longest_gap(c, left - 2, left + 2).await,
    );
}
