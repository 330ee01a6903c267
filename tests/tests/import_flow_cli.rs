//! Issue 6, scenario 1: the whole import flow of domain.md ("The end-to-end flow") through the
//! real `portledger` CLI binary against four real node processes. Steps alternate between node 0
//! and node 2; customs then reads the bill of lading's history, `verify-chain` passes against
//! every node, and every transaction the CLI reported is committed once, at the same height, on
//! every node. Along the way a hostile party tries each bypass of issue 12 (a second live eBL
//! on the container, a declaration for a document that does not exist or by a party not
//! entitled, a gate-out recorded directly, an early or repeated release, a presentation without
//! a required document, a second replacement of a voided eBL): each exits 1 with its code.
//! The case view (issue 16) is read before release (the unmet conditions listed, the
//! declaration in the customs queue) and after gate-out ("released to buyer at T").
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portledger_ledger::date::Date;
use portledger_ledger::Hash;
use portledger_tests::cli::Cli;
use portledger_tests::Cluster;
use serde_json::{json, Value};

/// A declaration of the flow's leather shoes (native `customs declare` JSON).
fn declaration(
    number: &str,
    direction: &str,
    declarant: &str,
    transport_document: &str,
    value: &str,
) -> Value {
    json!({
        "number": number, "direction": direction, "declarant": declarant,
        "transport_document": transport_document,
        "lines": [{"hs_code": "640399", "description": "Leather shoes", "origin_country": "CN",
                   "value": value, "currency": "USD"}]
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).expect("json")).expect("write");
    p.display().to_string()
}

fn today() -> Date {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    Date::of_ms(ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_flow_through_the_cli_against_node_processes() {
    let started = Instant::now();
    let c = Cluster::start(4, 60_000).await.expect("cluster");
    let files = tempfile::tempdir().expect("tmp");
    let mut cli = Cli::new(&c);
    tokio::time::timeout(Duration::from_secs(240), flow(&c, &mut cli, files.path()))
        .await
        .expect("the flow finished within 240 s");
    eprintln!("scenario 1 took {:?}", started.elapsed());
}

async fn flow(c: &Cluster, cli: &mut Cli, f: &Path) {
    const A: usize = 0;
    const B: usize = 2;

    // 1. The buyer applies for a credit; the issuing bank issues it; the advising bank advises.
    let lc = json!({
        "number": "LC-E2E-1", "applicant": "buyer", "beneficiary": "seller",
        "issuing_bank": "issuing-bank", "advising_bank": "advising-bank",
        "currency": "USD", "amount": "125000.00",
        "expiry_date": today().plus_days(90).to_string(), "expiry_place": "NLRTM",
        "latest_shipment_date": today().plus_days(30).to_string(), "presentation_days": 21,
        "documents_required": ["transport_document", "commercial_invoice", "certificate_of_origin"],
        "goods": "4,000 cartons of black leather shoes"
    });
    let lc_file = write(f, "lc.json", &lc);
    let v = cli
        .step(c, A, "buyer", &["lc", "apply", "--file", &lc_file])
        .await;
    assert_eq!(v["number"], "LC-E2E-1");
    cli.step(c, B, "issuing-bank", &["lc", "issue", "LC-E2E-1"])
        .await;
    cli.step(c, A, "advising-bank", &["lc", "advise", "LC-E2E-1"])
        .await;
    let s = cli
        .ok(c, B, Some("seller"), &["lc", "show", "LC-E2E-1"])
        .await;
    assert_eq!(s["state"], "ADVISED");

    // 2. The carrier issues the eBL to order; the seller holds it.
    let bl = json!({
        "reference": "BL-E2E-1", "kind": "BOL", "to_order": true, "shipper": "seller",
        "notify_parties": ["Buyer Co, Rotterdam"],
        "vessel_name": "MV Harbour Star", "voyage": "042W",
        "port_of_loading": "CNSHA", "port_of_discharge": "NLRTM",
        "shipped_on_board_date": today().to_string(),
        "goods": [{"description": "Leather shoes", "hs_code": "640399", "packages": 400, "gross_weight_kg": 12000}],
        "equipment": [{"container": "MSCU1234566", "seals": ["SL-778899"]}],
        "freight_term": "PRE"
    });
    let bl_file = write(f, "bl.json", &bl);
    let v = cli
        .step(c, B, "carrier", &["bl", "issue", "--file", &bl_file])
        .await;
    assert_eq!(v["reference"], "BL-E2E-1");
    let s = cli
        .ok(c, A, Some("seller"), &["bl", "show", "BL-E2E-1"])
        .await;
    assert_eq!(
        (s["state"].as_str(), s["possessor"].as_str()),
        (Some("ISSUED"), Some("seller"))
    );

    // Hostile: a second live eBL on the same container; a declaration for a document that does
    // not exist; the gate-out recorded directly; a release before anything holds.
    let mut twin = bl.clone();
    twin["reference"] = json!("BL-E2E-TWIN");
    let twin_file = write(f, "twin.json", &twin);
    cli.refused(
        c,
        A,
        "carrier",
        &["bl", "issue", "--file", &twin_file],
        "container_on_live_document",
    )
    .await;
    let ghost = declaration("IMP-GHOST", "IMPORT", "buyer", "BL-NOWHERE", "1.00");
    let ghost_file = write(f, "ghost.json", &ghost);
    cli.refused(
        c,
        B,
        "buyer",
        &["customs", "declare", "--file", &ghost_file],
        "not_found",
    )
    .await;
    let track = |code: &'static str, at: &'static str| {
        [
            "track",
            "event",
            "BL-E2E-1",
            "--container",
            "MSCU1234566",
            "--code",
            code,
            "--at",
            at,
        ]
    };
    cli.refused(c, A, "port", &track("GTOT", "NLRTM"), "gate_out_by_release")
        .await;
    cli.refused(
        c,
        B,
        "port",
        &["port", "release", "BL-E2E-1"],
        "release_condition",
    )
    .await;

    // The export side at the port of loading, and the voyage to discharge at Rotterdam.
    let export = declaration("EXP-E2E-1", "EXPORT", "seller", "BL-E2E-1", "125000.00");
    let export_file = write(f, "export.json", &export);
    cli.step(
        c,
        A,
        "seller",
        &["customs", "declare", "--file", &export_file],
    )
    .await;
    cli.step(c, B, "customs", &["customs", "accept", "EXP-E2E-1"])
        .await;
    cli.step(c, A, "customs", &["customs", "release", "EXP-E2E-1"])
        .await;
    for (who, code, at, node) in [
        ("port", "GTIN", "CNSHA", A),
        ("port", "LOAD", "CNSHA", B),
        ("carrier", "DEPA", "CNSHA", A),
        ("carrier", "ARRI", "NLRTM", B),
        ("port", "DISC", "NLRTM", A),
    ] {
        cli.step(c, node, who, &track(code, at)).await;
    }

    // 3. The seller anchors the invoice and the certificate of origin and presents them with
    //    the eBL: possession passes to the issuing bank.
    let mut hashes = Vec::new();
    for (name, body, kind, node) in [
        (
            "invoice.pdf",
            &b"%PDF-1.4 invoice INV-E2E-1 USD 125000.00"[..],
            "commercial_invoice",
            A,
        ),
        (
            "origin.pdf",
            &b"%PDF-1.4 certificate of origin CN"[..],
            "certificate_of_origin",
            B,
        ),
    ] {
        let p = f.join(name);
        std::fs::write(&p, body).expect("write");
        let p = p.display().to_string();
        let v = cli
            .step(
                c,
                node,
                "seller",
                &[
                    "doc", "anchor", &p, "--type", kind, "--ref", "BL-E2E-1", "--ref", "LC-E2E-1",
                ],
            )
            .await;
        hashes.push(v["hash"].as_str().expect("hash").to_string());
        let o = cli.run(c, 3 - node, None, &["doc", "verify", &p]).await;
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    // Hostile (or careless): a presentation without the certificate of origin the credit
    // requires.
    cli.refused(
        c,
        B,
        "seller",
        &[
            "lc", "present", "LC-E2E-1", "--bl", "BL-E2E-1", "--doc", &hashes[0],
        ],
        "missing_document",
    )
    .await;
    cli.step(
        c,
        A,
        "seller",
        &[
            "lc", "present", "LC-E2E-1", "--bl", "BL-E2E-1", "--doc", &hashes[0], "--doc",
            &hashes[1],
        ],
    )
    .await;
    let s = cli
        .ok(c, B, Some("seller"), &["bl", "show", "BL-E2E-1"])
        .await;
    assert_eq!(s["possessor"], "issuing-bank");

    // 4. The bank examines and honours: the eBL passes to the buyer in the same transaction.
    cli.step(
        c,
        B,
        "issuing-bank",
        &["lc", "examine", "LC-E2E-1", "--complying"],
    )
    .await;
    cli.step(
        c,
        A,
        "issuing-bank",
        &["lc", "honour", "LC-E2E-1", "--payment-ref", "PAY-E2E-1"],
    )
    .await;
    let s = cli
        .ok(c, B, Some("buyer"), &["lc", "show", "LC-E2E-1"])
        .await;
    assert_eq!(s["state"], "HONOURED");
    let s = cli
        .ok(c, A, Some("buyer"), &["bl", "show", "BL-E2E-1"])
        .await;
    assert_eq!(s["possessor"], "buyer");

    // Hostile: the seller lodges a USD 1.00 import declaration for the buyer's eBL.
    let fake = declaration("IMP-FAKE", "IMPORT", "seller", "BL-E2E-1", "1.00");
    let fake_file = write(f, "fake.json", &fake);
    cli.refused(
        c,
        A,
        "seller",
        &["customs", "declare", "--file", &fake_file],
        "not_entitled",
    )
    .await;

    // 5. The buyer lodges the import declaration; customs accepts and releases.
    let decl = declaration("IMP-E2E-1", "IMPORT", "buyer", "BL-E2E-1", "125000.00");
    let decl_file = write(f, "decl.json", &decl);
    let v = cli
        .step(c, B, "buyer", &["customs", "declare", "--file", &decl_file])
        .await;
    assert_eq!(v["number"], "IMP-E2E-1");

    // The case before release, as customs sees it: the buyer holds the eBL, both declarations
    // are listed, and the summary names the release conditions still unmet.
    let case = cli.ok(c, B, Some("customs"), &["case", "BL-E2E-1"]).await;
    assert_eq!(case["released"], false, "{case}");
    assert_eq!(case["transport_document"]["possessor"], "buyer", "{case}");
    let chain: Vec<(&str, &str)> = case["possession_chain"]
        .as_array()
        .expect("possession chain")
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or(""),
                l["possessor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("bl.issue", "seller"),
            ("lc.present", "issuing-bank"),
            ("lc.honour", "buyer")
        ],
        "{case}"
    );
    // Customs reads no credit (bank secrecy); the buyer, its applicant, reads it, and not the
    // seller's export declaration.
    assert_eq!(case["credits"].as_array().map(Vec::len), Some(0), "{case}");
    let buyers = cli.ok(c, B, Some("buyer"), &["case", "BL-E2E-1"]).await;
    assert_eq!(buyers["credits"][0]["number"], "LC-E2E-1", "{buyers}");
    assert_eq!(buyers["credits"][0]["state"], "HONOURED");
    let numbers: Vec<&str> = buyers["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .filter_map(|d| d["number"].as_str())
        .collect();
    assert_eq!(numbers, ["IMP-E2E-1"], "{buyers}");
    let states: Vec<(&str, &str)> = case["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .map(|d| {
            (
                d["number"].as_str().unwrap_or(""),
                d["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [("EXP-E2E-1", "EXIT_CONFIRMED"), ("IMP-E2E-1", "LODGED")],
        "{case}"
    );
    assert_eq!(case["anchored_documents"].as_array().map(Vec::len), Some(2));
    let journey: Vec<&str> = case["containers"][0]["journey"]
        .as_array()
        .expect("journey")
        .iter()
        .map(|e| e["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(journey, ["GTIN", "LOAD", "DEPA", "ARRI", "DISC"]);
    let unmet: Vec<&str> = case["containers"][0]["unmet"]
        .as_array()
        .expect("unmet")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for needle in [
        "SURRENDERED_FOR_DELIVERY",
        "delivery order",
        "import declaration IMP-E2E-1 (lodged by buyer) covering container MSCU1234566 of BL-E2E-1 is LODGED",
    ] {
        assert!(
            unmet.iter().any(|u| u.contains(needle)),
            "{needle:?} in {unmet:?}"
        );
    }
    let summary = case["summary"].as_array().expect("summary");
    assert_eq!(summary[0], "eBL BL-E2E-1 is ISSUED, held by buyer");
    assert!(
        summary[1]
            .as_str()
            .is_some_and(|l| l.starts_with("container MSCU1234566 not released: ")),
        "{case}"
    );
    let text = cli.human(c, A, "buyer", &["case", "BL-E2E-1"]).await;
    assert!(
        text.starts_with(
            "eBL BL-E2E-1 is ISSUED, held by buyer\ncontainer MSCU1234566 not released"
        ),
        "the summary comes first: {text}"
    );
    assert!(text.contains("Possession and endorsement chain"), "{text}");
    // Customs sees the import declaration waiting for it.
    let q = cli.ok(c, A, Some("customs"), &["customs", "queue"]).await;
    let queued: Vec<(&str, &str)> = q["declarations"]
        .as_array()
        .expect("queue")
        .iter()
        .map(|d| {
            (
                d["number"].as_str().unwrap_or(""),
                d["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(queued, [("IMP-E2E-1", "LODGED")], "{q}");
    assert_eq!(q["declarations"][0]["awaiting"], "accept or reject");

    cli.step(c, A, "customs", &["customs", "accept", "IMP-E2E-1"])
        .await;
    cli.step(c, B, "customs", &["customs", "release", "IMP-E2E-1"])
        .await;
    let s = cli
        .ok(c, A, Some("buyer"), &["customs", "show", "IMP-E2E-1"])
        .await;
    assert_eq!(s["state"], "RELEASED");

    // 6. The buyer surrenders the eBL; the carrier accepts and issues the delivery order.
    cli.step(c, A, "buyer", &["bl", "surrender", "BL-E2E-1"])
        .await;
    cli.step(c, B, "carrier", &["bl", "accept-surrender", "BL-E2E-1"])
        .await;
    cli.step(
        c,
        A,
        "carrier",
        &["delivery-order", "issue", "BL-E2E-1", "--to", "buyer"],
    )
    .await;

    // 7. The port operator releases the cargo at the gate; once.
    cli.step(c, B, "port", &["port", "release", "BL-E2E-1"])
        .await;
    cli.refused(
        c,
        A,
        "port",
        &["port", "release", "BL-E2E-1"],
        "already_released",
    )
    .await;
    let s = cli
        .ok(c, A, Some("customs"), &["bl", "show", "BL-E2E-1"])
        .await;
    assert_eq!(s["state"], "SURRENDERED_FOR_DELIVERY");

    // The case after gate-out: released to the buyer, at the release's block time; nothing
    // left for customs; the declarations by transport document; an unknown case is refused.
    let case = cli.ok(c, B, Some("customs"), &["case", "BL-E2E-1"]).await;
    assert_eq!(case["released"], true, "{case}");
    let released = &case["containers"][0]["released"];
    assert_eq!(released["to"], "buyer", "{case}");
    let line = format!(
        "container MSCU1234566 released to buyer at {}",
        released["time"].as_str().expect("release time")
    );
    assert_eq!(case["summary"][1], Value::String(line), "{case}");
    assert_eq!(
        case["summary"][0],
        "eBL BL-E2E-1 is SURRENDERED_FOR_DELIVERY, held by carrier"
    );
    assert!(case["containers"][0]["unmet"]
        .as_array()
        .is_some_and(Vec::is_empty));
    let q = cli.ok(c, A, Some("customs"), &["customs", "queue"]).await;
    assert_eq!(q["declarations"].as_array().map(Vec::len), Some(0), "{q}");
    let d = cli
        .ok(c, A, Some("customs"), &["bl", "declarations", "BL-E2E-1"])
        .await;
    let numbers: Vec<&str> = d["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .map(|x| x["number"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(numbers, ["EXP-E2E-1", "IMP-E2E-1"], "{d}");
    cli.refused(c, B, "customs", &["case", "BL-NOWHERE"], "not_found")
        .await;

    // Hostile: a voided eBL replaced twice. One replacement is issued, to the party that
    // surrendered it for amendment; a second is refused.
    let mut second = bl.clone();
    second["reference"] = json!("BL-E2E-2");
    second["equipment"] = json!([{"container": "CSQU3054383"}]);
    let second_file = write(f, "bl2.json", &second);
    cli.step(c, A, "carrier", &["bl", "issue", "--file", &second_file])
        .await;
    cli.step(
        c,
        B,
        "seller",
        &["bl", "amend-request", "BL-E2E-2", "--reason", "switch_bl"],
    )
    .await;
    cli.step(c, A, "carrier", &["bl", "void", "BL-E2E-2"]).await;
    for (reference, node) in [("BL-E2E-3", B), ("BL-E2E-4", A)] {
        let mut r = second.clone();
        r["reference"] = json!(reference);
        r["replaces"] = json!("BL-E2E-2");
        let file = write(f, &format!("{reference}.json"), &r);
        let args = ["bl", "issue", "--file", file.as_str()];
        if reference == "BL-E2E-3" {
            cli.step(c, node, "carrier", &args).await;
        } else {
            cli.refused(c, node, "carrier", &args, "replacement_exists")
                .await;
        }
    }
    let s = cli
        .ok(c, B, Some("seller"), &["bl", "show", "BL-E2E-3"])
        .await;
    assert_eq!(s["possessor"], "seller", "{s}");

    // 8. Customs reads the bill of lading's full history: every step, in order, with height,
    //    time and signer.
    let h = cli
        .ok(c, B, Some("customs"), &["bl", "history", "BL-E2E-1"])
        .await;
    let events = h["events"].as_array().expect("events");
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "bl.issue",
            "customs.declare",
            "track.gtin",
            "track.load",
            "track.depa",
            "track.arri",
            "track.disc",
            "lc.present",
            "lc.honour",
            "customs.declare",
            "bl.surrender",
            "bl.accept_surrender",
            "delivery_order.issue",
            "port.release",
        ],
        "the history of BL-E2E-1: {h}"
    );
    let signers: Vec<&str> = events
        .iter()
        .map(|e| e["signer"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        signers,
        [
            "carrier",
            "seller",
            "port",
            "port",
            "carrier",
            "carrier",
            "port",
            "seller",
            "issuing-bank",
            "buyer",
            "buyer",
            "carrier",
            "carrier",
            "port"
        ],
        "{h}"
    );
    let mut last = 0;
    for e in events {
        let height = e["height"].as_u64().unwrap_or(0);
        assert!(height > last, "heights rise through the history: {h}");
        last = height;
        assert!(
            e["time"].as_str().is_some_and(|t| !t.is_empty()),
            "time of {e}"
        );
    }

    // verify-chain passes against every node; each verifies up to at least the last step.
    let top = cli.committed.iter().map(|(_, h)| *h).max().unwrap_or(0);
    for i in 0..4 {
        let v = cli
            .ok(
                c,
                i,
                Some("customs"),
                &["verify-chain", "--genesis", &cli.genesis],
            )
            .await;
        let vh = v["verified_height"].as_u64().unwrap_or(0);
        assert!(vh >= top, "node {i}: verified {vh}, the flow reached {top}");
    }

    // Every step is committed exactly once, at the height the CLI printed, on every node.
    let acked: Vec<Hash> = cli.committed.iter().map(|(h, _)| *h).collect();
    assert_eq!(acked.len(), 28, "twenty-eight signed steps");
    for i in 0..4 {
        c.wait_height(i, top, Duration::from_secs(20))
            .await
            .expect("every node holds the flow");
        for (tx, height) in &cli.committed {
            let v = c.get_transaction(i, tx).await.expect("tx");
            assert_eq!(v["height"].as_u64(), Some(*height), "node {i}: {v}");
        }
    }
    let common = c.check_committed(&acked).await.expect("consistent");
    assert!(common >= top);
}
