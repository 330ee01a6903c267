//! The four-organisation guide (`docs/consortium.md`) run as real processes on 127.0.0.x with a
//! separate home each: every organisation runs `portledger-node init` for itself, one assembles
//! the genesis from the four public descriptions, each runs `genesis verify` (same hash for
//! all) and `start`; one node dials nobody and is reached only by its DNS name (`localhost`). The four commit blocks
//! together and a transaction submitted to one is committed on all. A tampered genesis is
//! refused by the organisation it misdescribes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use portledger_ledger::{keyfile, Genesis, Payload, Transaction};
use portledger_node::testnet::free_ports;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_portledger-node");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run portledger-node")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "portledger-node {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The node processes, killed when the test ends however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Org {
    name: &'static str,
    role: &'static str,
    alias: &'static str,
    /// Where the others reach it.
    address: String,
    /// Where it listens.
    listen: String,
    api: String,
    home: PathBuf,
}

fn hash_line(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("genesis hash: "))
        .unwrap_or_else(|| panic!("no hash in {text}"))
        .to_string()
}

async fn status(http: &reqwest::Client, api: &str) -> Option<Value> {
    let r = http
        .get(format!("http://{api}/v1/status"))
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_organisations_on_their_own_homes_run_one_chain() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let p2p = free_ports(4).expect("ports");
    let api = free_ports(4).expect("ports");
    // Three hosts by IP literal on 127.0.0.2-4, the carrier by a DNS name.
    let spec = [
        ("port-authority", "port_operator", "port"),
        ("first-bank", "bank", "issuing-bank"),
        ("customs-authority", "customs", "customs"),
        ("ocean-carrier", "carrier", "carrier"),
    ];
    let orgs: Vec<Org> = spec
        .iter()
        .enumerate()
        .map(|(i, (name, role, alias))| {
            let port = p2p + i as u16;
            let (address, listen, host) = if i == 3 {
                (
                    format!("localhost:{port}"),
                    format!("127.0.0.1:{port}"),
                    "127.0.0.1".to_string(),
                )
            } else {
                let host = format!("127.0.0.{}", i + 2);
                (format!("{host}:{port}"), format!("{host}:{port}"), host)
            };
            Org {
                name,
                role,
                alias,
                address,
                listen,
                api: format!("{host}:{}", api + i as u16),
                home: dir.join(name),
            }
        })
        .collect();

    // 1. Each organisation, on its own host: init.
    for o in &orgs {
        let home = o.home.to_str().expect("utf-8");
        let printed = ok(&[
            "init",
            "--home",
            home,
            "--org",
            o.name,
            "--role",
            o.role,
            "--validator",
            "--participant",
            o.alias,
            "--address",
            &o.address,
            "--p2p-listen",
            &o.listen,
            "--api-listen",
            &o.api,
        ]);
        let d: Value = serde_json::from_str(&printed).expect("description JSON");
        assert_eq!(d["organisation"], o.name);
        assert!(!printed.contains("secret"), "{printed}");
    }
    // A second init into the same home is refused and changes nothing.
    let again = run(&[
        "init",
        "--home",
        orgs[0].home.to_str().expect("utf-8"),
        "--org",
        "port-authority",
        "--role",
        "port_operator",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));

    // 2. One of them assembles the genesis from the four public files.
    let descriptions: Vec<String> = orgs
        .iter()
        .map(|o| o.home.join("organisation.json").display().to_string())
        .collect();
    let genesis_path = dir.join("genesis.json");
    let mut args = vec![
        "genesis",
        "--chain-id",
        "harbour-consortium",
        "--heartbeat-ms",
        "300",
        "--timeout-base-ms",
        "400",
        "--out",
        genesis_path.to_str().expect("utf-8"),
    ];
    for d in &descriptions {
        args.extend(["--org", d.as_str()]);
    }
    let assembled = ok(&args);
    let hash = hash_line(&assembled);

    // 3. Each checks it (same hash), installs it and takes its peers from the others' files.
    // The carrier takes no peers: the others reach it only by dialling its DNS name.
    for (i, o) in orgs.iter().enumerate() {
        let mut args = vec![
            "genesis",
            "verify",
            genesis_path.to_str().expect("utf-8"),
            "--home",
            o.home.to_str().expect("utf-8"),
        ];
        if i != 3 {
            for d in &descriptions {
                args.extend(["--org", d.as_str()]);
            }
        }
        let verified = ok(&args);
        assert_eq!(hash_line(&verified), hash, "{}", o.name);
        let peers = if i == 3 { "0 peers" } else { "3 peers" };
        assert!(verified.contains(peers), "{verified}");
    }
    let config = std::fs::read_to_string(orgs[0].home.join("config.toml")).expect("config");
    assert!(
        config.contains(&format!("address = \"{}\"", orgs[3].address)),
        "{config}"
    );

    // A genesis that gives the carrier's participant another key is refused by the carrier.
    let mut tampered: Genesis =
        Genesis::from_json(&std::fs::read_to_string(&genesis_path).expect("read")).expect("valid");
    let mole = portledger_ledger::Keypair::generate();
    for p in &mut tampered.participants {
        if p.alias == "carrier" {
            p.public_key = mole.public();
        }
    }
    let tampered_path = dir.join("tampered.json");
    std::fs::write(&tampered_path, tampered.to_json()).expect("write");
    let refused = run(&[
        "genesis",
        "verify",
        tampered_path.to_str().expect("utf-8"),
        "--home",
        dir.join("scratch").to_str().expect("utf-8"),
        "--org",
        &descriptions[3],
    ]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("other keys for participant \"carrier\""),
        "{why}"
    );

    // 4. Each starts its node.
    let mut procs = Processes(Vec::new());
    for o in &orgs {
        let log = std::fs::File::create(dir.join(format!("{}.log", o.name))).expect("log");
        procs.0.push(
            Command::new(BIN)
                .args(["start", "--home", o.home.to_str().expect("utf-8")])
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start"),
        );
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http");
    let deadline = Instant::now() + Duration::from_secs(60);
    for o in &orgs {
        loop {
            let s = status(&http, &o.api).await;
            let ready = s.as_ref().is_some_and(|s| {
                s["height"].as_u64().unwrap_or(0) >= 3
                    && s["validators"]
                        .as_array()
                        .is_some_and(|v| v.len() == 4 && v.iter().all(|v| v["up"] == true))
            });
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not reach height 3 with all four validators up: {s:?}\n{}",
                o.name,
                logs(dir)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A transaction submitted to the carrier's node is committed on every node.
    let port_key = keyfile::read(&orgs[0].home.join("keys/port.key")).expect("port key");
    let clerk = portledger_ledger::Keypair::generate();
    let tx = Transaction::sign(
        &port_key,
        "harbour-consortium",
        1,
        Payload::RegisterParticipant {
            alias: "harbour-clerk".into(),
            public_key: clerk.public(),
            encryption_key: clerk.encryption_key(),
            organisation: "port-authority".into(),
        },
    );
    let r = http
        .post(format!("http://{}/v1/transactions", orgs[3].api))
        .json(&tx)
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
    let path = format!("/v1/transactions/{}", tx.hash());
    for o in &orgs {
        loop {
            let auth = common::read_authorization("harbour-consortium", &port_key, &path);
            let r = http
                .get(format!("http://{}{path}", o.api))
                .header("authorization", auth)
                .send()
                .await
                .expect("read");
            if r.status().as_u16() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not commit the transaction\n{}",
                o.name,
                logs(dir)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(procs);
}

fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for name in [
        "port-authority",
        "first-bank",
        "customs-authority",
        "ocean-carrier",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        out.push_str(&format!("--- {name}\n"));
        for l in tail.into_iter().rev() {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}
