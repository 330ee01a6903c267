//! Issue 17, part 2, through the real `portledger` CLI against four real node processes:
//! validator organisations admit a fifth organisation by vote (`gov propose`, `gov vote`), a
//! non-validator and a second vote by one organisation are refused, a proposal voted down is
//! rejected, and the admitted organisation onboards and revokes its own people
//! (`participant add|revoke`) while it may not touch another's; a revoked participant reads
//! nothing and what it signs is refused (`revoked_participant`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{keyfile, Hash, Payload, Transaction};
use portledger_tests::cli::Cli;
use portledger_tests::Cluster;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_admit_an_organisation_that_then_runs_its_own_people() {
    let started = Instant::now();
    let c = Cluster::start(4, 60_000).await.expect("cluster");
    let mut cli = Cli::new(&c);
    tokio::time::timeout(Duration::from_secs(240), flow(&c, &mut cli))
        .await
        .expect("the flow finished within 240 s");
    eprintln!("governance flow took {:?}", started.elapsed());
}

/// `keygen` for a newcomer, as `ALIAS:PUBLIC_KEY:ENCRYPTION_KEY`.
async fn keygen(c: &Cluster, cli: &Cli, alias: &str) -> String {
    let out = cli.keys.join(format!("{alias}.key"));
    let v = cli
        .ok(c, 0, None, &["keygen", "--out", &out.display().to_string()])
        .await;
    format!(
        "{alias}:{}:{}",
        v["public_key"].as_str().expect("public_key"),
        v["encryption_key"].as_str().expect("encryption_key")
    )
}

async fn show(c: &Cluster, cli: &Cli, id: &str) -> Value {
    cli.ok(c, 3, Some("seller"), &["gov", "show", id]).await
}

async fn flow(c: &Cluster, cli: &mut Cli) {
    let banker = keygen(c, cli, "third-banker").await;
    let admit = [
        "add-org",
        "--name",
        "third-bank",
        "--role",
        "bank",
        "--participant",
        &banker,
    ];
    let propose = |id: &'static str| {
        let mut a = vec!["gov", "propose", id];
        a.extend(admit);
        a
    };

    // Only a validator organisation proposes; a trader is refused, naming the rule.
    cli.refused(c, 0, "buyer", &propose("admit-3"), "not_a_validator")
        .await;

    // The port operator proposes (its vote counts); the issuing bank votes for.
    cli.step(c, 0, "port", &propose("admit-3")).await;
    let p = show(c, cli, "admit-3").await;
    assert_eq!(
        (p["status"].as_str(), p["kind"].as_str()),
        (Some("open"), Some("add_organisation")),
        "{p}"
    );
    assert_eq!(
        (p["tally"]["for"].as_u64(), p["tally"]["quorum"].as_u64()),
        (Some(1), Some(3))
    );
    cli.step(c, 1, "issuing-bank", &["gov", "vote", "admit-3", "--yes"])
        .await;

    // One vote per organisation; none for a non-validator; the proposal is still open, and the
    // newcomer signs nothing yet.
    cli.refused(
        c,
        2,
        "issuing-bank",
        &["gov", "vote", "admit-3", "--no"],
        "already_voted",
    )
    .await;
    cli.refused(
        c,
        2,
        "seller",
        &["gov", "vote", "admit-3", "--yes"],
        "not_a_validator",
    )
    .await;
    let colleague = keygen(c, cli, "third-clerk").await;
    let parts: Vec<&str> = colleague.split(':').collect();
    let add_colleague = [
        "participant",
        "add",
        "third-clerk",
        "--public-key",
        parts[1],
        "--encryption-key",
        parts[2],
    ];
    let o = cli.run(c, 1, Some("third-banker"), &add_colleague).await;
    assert_eq!(
        o.code, 1,
        "an unadmitted key signs nothing: {}{}",
        o.stdout, o.stderr
    );

    // Customs' vote makes the quorum (3 of 4): adopted at once.
    let v = cli
        .step(c, 2, "customs", &["gov", "vote", "admit-3", "--yes"])
        .await;
    let decided = v["height"].as_u64().expect("height");
    let p = show(c, cli, "admit-3").await;
    assert_eq!(p["status"], "adopted", "{p}");
    assert_eq!(p["decided_height"].as_u64(), Some(decided), "{p}");
    assert_eq!(p["effective_height"].as_u64(), Some(decided), "{p}");
    let adopted = cli
        .ok(c, 0, Some("port"), &["gov", "list", "--status", "adopted"])
        .await;
    assert!(
        adopted["proposals"]
            .as_array()
            .is_some_and(|l| l.iter().any(|p| p["id"] == "admit-3")),
        "{adopted}"
    );
    // The decided proposal takes no more votes.
    cli.refused(
        c,
        3,
        "carrier",
        &["gov", "vote", "admit-3", "--yes"],
        "wrong_state",
    )
    .await;

    // The admitted organisation onboards its own people, and only its own.
    cli.step(c, 1, "third-banker", &add_colleague).await;
    let stranger = keygen(c, cli, "intruder").await;
    let sp: Vec<&str> = stranger.split(':').collect();
    cli.refused(
        c,
        1,
        "third-banker",
        &[
            "participant",
            "add",
            "intruder",
            "--public-key",
            sp[1],
            "--encryption-key",
            sp[2],
            "--org",
            "first-bank",
        ],
        "role_not_permitted",
    )
    .await;
    cli.refused(
        c,
        1,
        "third-banker",
        &["participant", "revoke", "issuing-bank"],
        "role_not_permitted",
    )
    .await;

    // It revokes its clerk: what the clerk signs from then on is refused.
    cli.step(
        c,
        0,
        "third-banker",
        &["participant", "revoke", "third-clerk"],
    )
    .await;
    let directory = cli.ok(c, 0, Some("port"), &["party", "list"]).await;
    let clerk = directory["participants"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["alias"] == "third-clerk"))
        .cloned()
        .expect("the clerk is listed");
    assert!(clerk["revoked_at"].as_u64().is_some(), "{clerk}");
    // Its reads are refused, and a transaction it signs is refused by the ledger's rule.
    cli.refused(
        c,
        2,
        "third-clerk",
        &["participant", "revoke", "third-banker"],
        "not_a_participant",
    )
    .await;
    let clerk_key = keyfile::read(&cli.keys.join("third-clerk.key")).expect("clerk key");
    let tx = Transaction::sign(
        &clerk_key,
        &c.genesis.chain_id,
        1,
        Payload::AnchorDocument {
            hash: Hash::of(b"after revocation"),
            doc_type: DocumentType::Other,
            references: vec![],
        },
    );
    let (status, body) = c.submit(2, &tx).await.expect("submit");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("revoked_participant")),
        "{body}"
    );

    // A change voted down by two of four is rejected; the parameters in force stay.
    let before = cli.ok(c, 0, Some("port"), &["gov", "validators"]).await;
    cli.step(
        c,
        0,
        "port",
        &[
            "gov",
            "propose",
            "slow-blocks",
            "set-params",
            "--heartbeat-ms",
            "90000",
        ],
    )
    .await;
    cli.step(
        c,
        1,
        "issuing-bank",
        &["gov", "vote", "slow-blocks", "--no"],
    )
    .await;
    cli.step(c, 2, "carrier", &["gov", "vote", "slow-blocks", "--no"])
        .await;
    let p = show(c, cli, "slow-blocks").await;
    assert_eq!(p["status"], "rejected", "{p}");
    let after = cli.ok(c, 0, Some("port"), &["gov", "validators"]).await;
    assert_eq!(after["params"], before["params"]);
    assert_eq!(after["scheduled_params"], serde_json::json!([]));
    assert_eq!(
        after["in_force"]["validators"].as_array().map(Vec::len),
        Some(4),
        "{after}"
    );

    // The human forms print.
    let list = cli.human(c, 0, "port", &["gov", "list"]).await;
    assert!(
        list.contains("admit-3") && list.contains("rejected"),
        "{list}"
    );
    let vals = cli.human(c, 0, "port", &["gov", "validators"]).await;
    assert!(
        vals.contains("port-authority") && vals.contains("quorum 3"),
        "{vals}"
    );
}
