//! The read matrix over HTTP on four real nodes (issue 15): reads are signed by a registered
//! participant and answer only what it may read; a document it may not read answers exactly
//! like one that does not exist; unsigned, stranger, replayed, expired and tampered requests
//! are refused with their codes; the event stream delivers only what the subscriber may read.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{follow, read_authorization, ApiNet};
use portledger_ledger::date::Date;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::credit::{CreditBody, CreditTerms, RequiredDocument};
use portledger_ledger::documents::customs::{DeclarationLine, Direction};
use portledger_ledger::sealed::seal_for;
use portledger_ledger::signed_read::{fresh_nonce, ReadSignature, Request};
use portledger_ledger::{Hash, Keypair, Payload};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

const BL: &str = "READ-BL-1";
/// The credit of buyer, seller, issuing-bank and advising-bank.
const LC1: &str = "READ-LC-1";
/// The issuing bank's alone: the advising bank is no party to it.
const LC2: &str = "READ-LC-2";
const EXP: &str = "READ-EX-1";

fn today() -> Date {
    Date::of_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64,
    )
}

/// What no validator may hold in plaintext: the goods description of the credits.
const SECRET_GOODS: &str = "CONFIDENTIAL-GOODS-7Q4X";
/// Nor the description of the export declaration's line.
const SECRET_LINE: &str = "CONFIDENTIAL-LINE-9K2M";
/// Nor the goods of the bill of lading.
const SECRET_CARGO: &str = "CONFIDENTIAL-CARGO-3H8P";

fn terms(net: &ApiNet, number: &str, advising: bool) -> CreditTerms {
    let mut parties = vec!["buyer", "seller", "issuing-bank"];
    if advising {
        parties.push("advising-bank");
    }
    let readers: Vec<_> = parties
        .iter()
        .map(|a| net.key(a).encryption_key())
        .collect();
    let body = CreditBody {
        currency: "USD".into(),
        amount_minor: 9_876_543,
        tolerance_percent: 0,
        goods: SECRET_GOODS.into(),
    };
    let (_, body, keys) = seal_for(&body, &readers).expect("seal");
    CreditTerms {
        number: number.into(),
        applicant: net.key("buyer").public(),
        beneficiary: net.key("seller").public(),
        issuing_bank: net.key("issuing-bank").public(),
        advising_bank: advising.then(|| net.key("advising-bank").public()),
        confirming_bank: None,
        expiry_date: today().plus_days(90),
        expiry_place: "NLRTM".into(),
        latest_shipment_date: Some(today().plus_days(30)),
        port_of_loading: None,
        port_of_discharge: None,
        documents_required: vec![RequiredDocument::TransportDocument],
        presentation_days: 21,
        body,
        keys,
    }
}

/// Every event the stream delivers until it is quiet for `quiet`.
async fn drain(rx: &mut UnboundedReceiver<Value>, quiet: Duration) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Ok(Some(v)) = tokio::time::timeout(quiet, rx.recv()).await {
        seen.push(v);
    }
    seen
}

fn names(events: &[Value], key: &str, number: &str) -> bool {
    events.iter().any(|e| {
        e["documents"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d[key] == number))
    })
}

/// The body of a 404 with the document's name replaced, to compare a hidden document's
/// answer with a missing one's.
fn shape(v: &Value, name: &str) -> String {
    v.to_string().replace(name, "NAME")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_sees_what_the_matrix_lets_it_and_nothing_else() {
    let mut net = ApiNet::start("portledger-reads").await;
    // Streams of every event, as three parties, on another node than the one submitted to.
    let mut carrier_events = follow(&net, 2, "carrier", "");
    let mut advising_events = follow(&net, 2, "advising-bank", "");
    let mut buyer_events = follow(&net, 2, "buyer", "");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t1 = terms(&net, LC1, true);
    net.run("buyer", Payload::ApplyCredit(Box::new(t1))).await;
    net.run("issuing-bank", Payload::IssueCredit { number: LC1.into() })
        .await;
    net.run(
        "advising-bank",
        Payload::AdviseCredit { number: LC1.into() },
    )
    .await;
    let t2 = terms(&net, LC2, false);
    let lc2_apply = net.run("buyer", Payload::ApplyCredit(Box::new(t2))).await;
    net.run("issuing-bank", Payload::IssueCredit { number: LC2.into() })
        .await;
    let data = net.bill_of_lading("seller", BL, &["MSCU1234566"], SECRET_CARGO);
    net.run(
        "carrier",
        Payload::IssueTransportDocument {
            reference: BL.into(),
            document: Some(Box::new(data)),
            issue_to: None,
        },
    )
    .await;
    net.run(
        "seller",
        Payload::LodgeDeclaration(Box::new(net.declaration(
            "seller",
            EXP,
            Direction::Export,
            BL,
            vec![DeclarationLine {
                hs_code: "850440".into(),
                description: SECRET_LINE.into(),
                origin_country: "CN".into(),
                value_minor: 9_876_543,
                currency: "USD".into(),
            }],
        ))),
    )
    .await;
    let private = Hash::of(b"the seller's own costing sheet");
    net.run(
        "seller",
        Payload::AnchorDocument {
            hash: private,
            doc_type: DocumentType::Other,
            references: vec![],
        },
    )
    .await;

    let lc1 = format!("/v1/lc/{LC1}");
    let lc2 = format!("/v1/lc/{LC2}");
    // Credits: their parties read them; a carrier, customs, the port and a bank that is no
    // party get exactly the answer of a credit that does not exist.
    // The node serves the terms sealed; each party opens them with its own key.
    let (status, v) = net.get_as(2, "buyer", &lc1).await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("amount_minor").is_none(), "no plaintext amount: {v}");
    assert!(!v.to_string().contains(SECRET_GOODS), "{v}");
    for alias in ["buyer", "seller", "issuing-bank", "advising-bank"] {
        let (status, v) = net.get_as(3, alias, &lc1).await;
        assert_eq!(status, 200, "{alias} reads {LC1}");
        let terms: CreditTerms = serde_json::from_value(v["terms"].clone()).expect("terms");
        let body = terms
            .open(&net.key(alias))
            .expect("a party opens the terms");
        assert_eq!(
            (body.amount_minor, body.goods.as_str()),
            (9_876_543, SECRET_GOODS)
        );
        // The customs auditor key is not wrapped for credits (bank secrecy), nor anyone's
        // but the parties'.
        for outsider in ["customs", "carrier", "port"] {
            assert!(
                terms.open(&net.key(outsider)).is_err(),
                "{outsider} opens {LC1}"
            );
        }
    }
    let (_, v) = net.get_as(3, "issuing-bank", &lc2).await;
    let terms: CreditTerms = serde_json::from_value(v["terms"].clone()).expect("terms");
    assert!(terms.open(&net.key("advising-bank")).is_err());
    assert_eq!(net.get_as(3, "issuing-bank", &lc2).await.0, 200);
    let (_, missing) = net.get_as(2, "carrier", "/v1/lc/READ-LC-9").await;
    for (alias, path, name) in [
        ("carrier", &lc1, LC1),
        ("customs", &lc1, LC1),
        ("port", &lc1, LC1),
        ("advising-bank", &lc2, LC2),
    ] {
        let (status, v) = net.get_as(1, alias, path).await;
        assert_eq!(status, 404, "{alias} reading {path}: {v}");
        assert_eq!(
            shape(&v, name),
            shape(&missing, "READ-LC-9"),
            "{alias}: a hidden credit answers like a missing one"
        );
        let (status, _) = net.get_as(1, alias, &format!("{path}/history")).await;
        assert_eq!(status, 404, "{alias} reading {path}/history");
    }
    // Customs reads the declaration and the transport document's history; the buyer, no
    // party to the export declaration, does not read it; the seller, its declarant, does.
    let (status, v) = net
        .get_as(2, "customs", &format!("/v1/customs/{EXP}"))
        .await;
    assert_eq!((status, v["state"].as_str()), (200, Some("LODGED")), "{v}");
    let (status, h) = net
        .get_as(2, "customs", &format!("/v1/bl/{BL}/history"))
        .await;
    assert_eq!(status, 200, "{h}");
    assert!(h["events"].as_array().is_some_and(|e| !e.is_empty()), "{h}");
    assert_eq!(
        net.get_as(2, "seller", &format!("/v1/customs/{EXP}"))
            .await
            .0,
        200
    );
    // Its lines are sealed: the declarant and the customs auditor (the demo's customs key)
    // open them; the port, which reads the declaration's state for release, does not.
    let (_, d) = net.get_as(2, "port", &format!("/v1/customs/{EXP}")).await;
    assert!(!d.to_string().contains(SECRET_LINE), "{d}");
    let data: portledger_ledger::documents::customs::DeclarationData =
        serde_json::from_value(d["declaration"].clone()).expect("declaration");
    for alias in ["seller", "customs"] {
        let body = data.open(&net.key(alias)).expect("opens");
        assert_eq!(body.lines[0].description, SECRET_LINE, "{alias}");
        assert_eq!(body.lines[0].value_minor, 9_876_543);
    }
    for alias in ["port", "buyer", "carrier", "issuing-bank"] {
        assert!(data.open(&net.key(alias)).is_err(), "{alias} opens {EXP}");
    }
    assert_eq!(
        net.get_as(2, "buyer", &format!("/v1/customs/{EXP}"))
            .await
            .0,
        404
    );
    assert_eq!(
        net.get_as(2, "port", &format!("/v1/customs/{EXP}")).await.0,
        200
    );
    // The eBL: its carrier and shipper read it, the buyer (no holder yet) does not.
    assert_eq!(
        net.get_as(2, "carrier", &format!("/v1/bl/{BL}")).await.0,
        200
    );
    let (status, b) = net.get_as(2, "seller", &format!("/v1/bl/{BL}")).await;
    assert_eq!(status, 200, "{b}");
    // Its goods are sealed: the node serves ciphertext; the carrier, the shipper and the
    // customs auditor open it, checked against its record; a bank and the port do not.
    assert!(!b.to_string().contains(SECRET_CARGO), "{b}");
    let sealed: portledger_ledger::documents::transport::TransportDocumentData =
        serde_json::from_value(b["document"].clone()).expect("document");
    let open_as = |alias: &str| {
        portledger_ledger::sealed::DecryptionKey::of(&net.key(alias))
            .unwrap_any(&sealed.keys)
            .and_then(|k| sealed.open(&k))
    };
    for alias in ["carrier", "seller", "customs"] {
        let plain = open_as(alias).unwrap_or_else(|e| panic!("{alias} opens {BL}: {e}"));
        assert_eq!(plain.goods[0].description, SECRET_CARGO, "{alias}");
    }
    for alias in ["buyer", "issuing-bank", "port"] {
        assert!(open_as(alias).is_err(), "{alias} opens {BL}");
    }
    assert_eq!(net.get_as(2, "buyer", &format!("/v1/bl/{BL}")).await.0, 404);
    assert_eq!(
        net.get_as(2, "buyer", &format!("/v1/bl/{BL}/case")).await.0,
        404
    );
    // A transaction is read by its signer and the readers of what it names.
    let tx = format!("/v1/transactions/{lc2_apply}");
    assert_eq!(net.get_as(0, "buyer", &tx).await.0, 200);
    assert_eq!(net.get_as(0, "issuing-bank", &tx).await.0, 200);
    for alias in ["carrier", "advising-bank", "customs"] {
        assert_eq!(
            net.get_as(0, alias, &tx).await.0,
            404,
            "{alias} reading {tx}"
        );
    }
    // A party's documents as another sees them: the carrier sees none of the buyer's credits.
    let (status, v) = net
        .get_as(1, "carrier", "/v1/parties/buyer/documents")
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(!v.to_string().contains("READ-LC"), "{v}");
    let (_, v) = net.get_as(1, "buyer", "/v1/parties/buyer/documents").await;
    assert!(v.to_string().contains(LC2), "{v}");
    // An anchored file: anyone holding it learns who anchored it and when, with no key; its
    // record (type, references) only its readers.
    let path = format!("/v1/documents/{private}");
    let (status, v) = net.get_with(3, &path, None).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["issuer"].is_string() && v.get("references").is_none(),
        "{v}"
    );
    assert!(
        v.get("type").is_none() && v["summary_only"] == true,
        "a summary: {v}"
    );
    let (_, v) = net.get_as(3, "seller", &path).await;
    assert!(
        v["type"].is_string() && v.get("references").is_some(),
        "the issuer reads the record: {v}"
    );
    assert_eq!(
        net.get_as(3, "buyer", &format!("{path}/history")).await.0,
        404
    );

    // Refusals, each with its code.
    let (status, v) = net.get_with(1, &lc1, None).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("unsigned_read")),
        "{v}"
    );
    let stranger = Keypair::generate();
    let (status, v) = net
        .get_with(
            1,
            &lc1,
            Some(read_authorization(&net.chain_id, &stranger, &lc1)),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("not_a_participant")),
        "{v}"
    );
    let once = net.authorization("buyer", &lc1);
    assert_eq!(net.get_with(1, &lc1, Some(once.clone())).await.0, 200);
    let (status, v) = net.get_with(1, &lc1, Some(once.clone())).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("replayed_request")),
        "{v}"
    );
    // The same signature on another node is a first use there, but never twice anywhere.
    assert_eq!(net.get_with(2, &lc1, Some(once)).await.0, 200);
    let signed_at = |ms: u64| {
        let request = Request {
            chain_id: &net.chain_id,
            method: "GET",
            path_and_query: &lc1,
            body: b"",
        };
        ReadSignature::sign(&net.key("buyer"), &request, ms, fresh_nonce()).header()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    for at in [now - 61_000, now + 61_000] {
        let (status, v) = net.get_with(1, &lc1, Some(signed_at(at))).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (401, Some("stale_request")),
            "{v}"
        );
    }
    // A signature over one path does not read another.
    let (status, v) = net
        .get_with(1, &lc2, Some(net.authorization("buyer", &lc1)))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    // Another chain's signature does not verify here.
    let (status, v) = net
        .get_with(
            1,
            &lc1,
            Some(read_authorization("another-chain", &net.key("buyer"), &lc1)),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    let (status, v) = net
        .get_with(1, &lc1, Some("Portledger-Ed25519 signer=buyer".into()))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("malformed_authorization")),
        "{v}"
    );
    // The public endpoints need no key.
    for path in [
        "/v1/status",
        "/v1/health",
        "/v1/genesis",
        "/v1/openapi.json",
    ] {
        assert_eq!(net.get_with(3, path, None).await.0, 200, "{path}");
    }

    // The streams: the carrier saw the eBL and never a credit; the advising bank saw its
    // credit and not the other; the buyer saw both.
    let quiet = Duration::from_millis(1500);
    let carrier = drain(&mut carrier_events, quiet).await;
    assert!(names(&carrier, "transport_document", BL), "{carrier:?}");
    assert!(
        !names(&carrier, "credit", LC1) && !names(&carrier, "credit", LC2),
        "{carrier:?}"
    );
    assert!(
        !carrier.iter().any(|e| e["action"] == "lc.apply"),
        "{carrier:?}"
    );
    let advising = drain(&mut advising_events, quiet).await;
    assert!(names(&advising, "credit", LC1), "{advising:?}");
    assert!(!names(&advising, "credit", LC2), "{advising:?}");
    assert!(!names(&advising, "declaration", EXP), "{advising:?}");
    let buyer = drain(&mut buyer_events, quiet).await;
    assert!(
        names(&buyer, "credit", LC1) && names(&buyer, "credit", LC2),
        "{buyer:?}"
    );
    assert!(!names(&buyer, "declaration", EXP), "{buyer:?}");
    assert!(!names(&buyer, "anchor", &private.to_hex()), "{buyer:?}");
    // The export declaration's event names the eBL too: a reader of the eBL but not of the
    // declaration sees the event without its parties.
    for e in &carrier {
        let docs = e["documents"].to_string();
        assert!(!docs.contains(EXP), "{e}");
    }

    // No validator's store holds a confidential field in plaintext: every one holds the
    // credits (as ciphertext), none of their goods; the scan does see public fields.
    let dirs: Vec<std::path::PathBuf> = (0..4)
        .map(|i| net.dir.join(format!("node-{i}")).join("data"))
        .collect();
    net.stop_nodes().await;
    for dir in &dirs {
        let bytes = read_tree(dir);
        assert!(!bytes.is_empty(), "{} holds files", dir.display());
        assert!(
            find(&bytes, LC1.as_bytes()),
            "{} holds {LC1}",
            dir.display()
        );
        for secret in [SECRET_GOODS, SECRET_LINE, SECRET_CARGO] {
            assert!(
                !find(&bytes, secret.as_bytes()),
                "{} holds {secret} in plaintext",
                dir.display()
            );
        }
    }
}

/// Every file's bytes under `dir`, concatenated.
fn read_tree(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.extend(b);
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
