//! Shipment tracking over the API of four real nodes in one process: events submitted through
//! node 0 are listed per container and per transport document by the others, with the current
//! position; `/v1/events?container=` streams exactly that container's tracking events; unknown
//! containers and documents are 404 with a JSON error. The case view of the document agrees with
//! the release rule's refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{follow, ApiNet};

use std::time::Duration;

use portledger_ledger::documents::customs::{DeclarationLine, Direction};
use portledger_ledger::documents::tracking::TrackingCode;
use portledger_ledger::{Payload, Transaction};
use serde_json::Value;

const BL: &str = "TRK-1";
const C1: &str = "MSCU1234566";
const C2: &str = "TGHU7654320";

fn track(container: &str, code: TrackingCode, location: &str) -> Payload {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    Payload::RecordTrackingEvent {
        reference: BL.into(),
        container: container.into(),
        code,
        location: location.into(),
        event_time_ms: now - 60_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_is_listed_per_container_and_document_and_streamed() {
    let mut net = ApiNet::start("portledger-tracking").await;
    let mut c1_events = follow(&net, 1, "customs", "container=MSCU1234566");
    // Let the stream subscribe before anything is committed.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let data = net.bill_of_lading("seller", BL, &[C1, C2], "Transformers");
    net.run(
        "carrier",
        Payload::IssueTransportDocument {
            reference: BL.into(),
            document: Some(Box::new(data)),
            issue_to: None,
        },
    )
    .await;
    // Before any event: the document has no position; the container is unknown.
    let (status, v) = net.get(2, &format!("/v1/bl/{BL}/tracking")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["position"].is_null() && v["events"].as_array().expect("events").is_empty());
    let (status, v) = net.get(2, &format!("/v1/containers/{C1}")).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    let (status, v) = net.get(2, "/v1/bl/NO-SUCH-BL/tracking").await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");

    net.run(
        "seller",
        Payload::LodgeDeclaration(Box::new(net.declaration(
            "seller",
            "EX-1",
            Direction::Export,
            BL,
            vec![DeclarationLine {
                hs_code: "850440".into(),
                description: "Transformers".into(),
                origin_country: "CN".into(),
                value_minor: 1_000_000,
                currency: "USD".into(),
            }],
        ))),
    )
    .await;
    net.run(
        "customs",
        Payload::AcceptDeclaration {
            number: "EX-1".into(),
        },
    )
    .await;
    net.run(
        "customs",
        Payload::ReleaseDeclaration {
            number: "EX-1".into(),
        },
    )
    .await;
    let gtin = net
        .run("port", track(C1, TrackingCode::GateIn, "CNSHA"))
        .await;
    net.run("port", track(C2, TrackingCode::GateIn, "CNSHA"))
        .await;
    let load = net
        .run("carrier", track(C1, TrackingCode::Load, "CNSHA"))
        .await;

    // Per container, on another node: position LOAD, both events in order with who and where.
    let (status, v) = net.get(3, &format!("/v1/containers/{C1}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["position"]["code"], "LOAD");
    assert_eq!(v["position"]["location"], "CNSHA");
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["code"], "GTIN");
    assert_eq!(events[0]["recorded_by"], "port");
    assert_eq!(events[0]["tx_hash"], gtin.to_hex());
    assert_eq!(events[1]["recorded_by"], "carrier");
    assert_eq!(events[1]["tx_hash"], load.to_hex());
    assert!(events[0]["height"].as_u64() < events[1]["height"].as_u64());
    for key in [
        "event_time",
        "block_time",
        "container",
        "location",
        "reference",
    ] {
        assert!(events[1][key].is_string(), "{key} in {}", events[1]);
    }
    // Per document: three events; each container's own position; the export exit confirmed.
    let (_, v) = net.get(2, &format!("/v1/bl/{BL}/tracking")).await;
    assert_eq!(v["events"].as_array().expect("events").len(), 3);
    assert_eq!(v["position"]["code"], "LOAD");
    assert_eq!(v["containers"][0]["position"]["code"], "LOAD");
    assert_eq!(v["containers"][1]["position"]["code"], "GTIN");
    let (_, d) = net.get(1, "/v1/customs/EX-1").await;
    assert_eq!(d["state"], "EXIT_CONFIRMED", "{d}");
    // The history shows the events.
    let (_, h) = net.get(1, &format!("/v1/bl/{BL}/history")).await;
    let actions: Vec<&str> = h["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"track.gtin") && actions.contains(&"track.load"),
        "{actions:?}"
    );

    // The stream filtered by container saw exactly C1's GTIN and LOAD, nothing else.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let ev = tokio::time::timeout(Duration::from_secs(10), c1_events.recv())
            .await
            .expect("an event in time")
            .expect("stream open");
        seen.push(ev);
    }
    assert_eq!(seen[0]["tx_hash"], gtin.to_hex());
    assert_eq!(seen[0]["tracking"][0]["code"], "GTIN");
    assert_eq!(seen[0]["tracking"][0]["container"], C1);
    assert_eq!(seen[1]["tracking"][0]["code"], "LOAD");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), c1_events.recv())
            .await
            .is_err(),
        "nothing else is streamed for the container"
    );
    // The OpenAPI document lists the new endpoints.
    let (_, api) = net.get(0, "/v1/openapi.json").await;
    assert!(api["paths"]["/v1/containers/{container}"].is_object());
    assert!(api["paths"]["/v1/bl/{reference}/tracking"].is_object());

    // Refusals carry their structured fields beside code and message: the expected nonce, and
    // every unmet condition of a release.
    let post = |tx: Transaction| {
        let http = net.http.clone();
        let url = format!("{}/v1/transactions", net.api(0));
        async move {
            let r = http.post(url).json(&tx).send().await.expect("send");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }
    };
    let stale = Transaction::sign(
        &net.key("port"),
        &net.chain_id,
        1,
        Payload::ReleaseCargo {
            reference: BL.into(),
            container: None,
        },
    );
    let (status, v) = post(stale).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "bad_nonce", "{v}");
    let expected = v["error"]["expected"].as_u64().expect("expected nonce");
    assert_eq!(v["error"]["found"], 1);
    let early = Transaction::sign(
        &net.key("port"),
        &net.chain_id,
        expected,
        Payload::ReleaseCargo {
            reference: BL.into(),
            container: None,
        },
    );
    let (status, v) = post(early).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "release_condition", "{v}");
    let unmet = v["error"]["unmet"].as_array().expect("unmet conditions");
    assert!(unmet.len() >= 3, "{v}");
    assert!(v["error"]["message"].is_string());

    // The case view (issue 16) on another node: the summary first, the journey per container,
    // the export declaration; its unmet conditions are the ones the release was refused with.
    let (status, case) = net.get(3, &format!("/v1/bl/{BL}/case")).await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(
        case["summary"][0],
        format!("eBL {BL} is ISSUED, held by seller")
    );
    assert_eq!(case["released"], false);
    assert_eq!(
        case["containers"][0]["journey"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        case["containers"][1]["journey"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(case["declarations"][0]["number"], "EX-1");
    assert_eq!(case["declarations"][0]["state"], "EXIT_CONFIRMED");
    let case_unmet = case["containers"][0]["unmet"].as_array().expect("unmet");
    assert!(!case_unmet.is_empty());
    for u in case_unmet {
        assert!(unmet.contains(u), "{u} among the refusal's {unmet:?}");
    }
    let documents = case["documents"].as_array().expect("documents");
    assert!(
        documents.contains(&serde_json::json!({"transport_document": BL})),
        "{case}"
    );
    assert!(
        documents.contains(&serde_json::json!({"declaration": "EX-1"})),
        "{case}"
    );
    let (status, d) = net.get(2, &format!("/v1/bl/{BL}/declarations")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["declarations"][0]["number"], "EX-1");
    assert_eq!(d["declarations"].as_array().map(Vec::len), Some(1));
    let (status, q) = net.get(1, "/v1/customs/queue").await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(
        q["declarations"].as_array().map(Vec::len),
        Some(0),
        "EX-1 is done: {q}"
    );
    for path in ["/v1/bl/NO-SUCH-BL/case", "/v1/bl/NO-SUCH-BL/declarations"] {
        let (status, v) = net.get(0, path).await;
        assert_eq!(status, 404, "{path}: {v}");
        assert_eq!(v["error"]["code"], "not_found", "{path}: {v}");
    }
    for path in [
        "/v1/bl/{reference}/case",
        "/v1/bl/{reference}/declarations",
        "/v1/customs/queue",
    ] {
        assert!(
            api["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }

    net.stop().await;
}
