//! The size of a proof of a 20-transfer eBL and the time to verify it offline (parse the JSON,
//! check every certificate, inclusion, signature, the state proofs and the history), on a chain
//! whose state holds some thousands of other documents, so that state-tree paths have a
//! realistic depth. Also the cost of the state commitment per block: updating the tree with a
//! block's changes and taking its root.
//!
//! Run: `cargo bench -p portledger-ledger --bench proof` (FILLER = other documents per block,
//! ROUNDS = verifications timed).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::chain::Chain;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::transport::KeyShare;
use portledger_ledger::proof::DocumentProof;
use portledger_ledger::{
    demo, workload, CommitCertificate, DocumentKey, Hash, Keypair, MemStore, Payload, StateView,
    Transaction, Vote, VoteKind,
};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let filler = env("FILLER", 500);
    let rounds = env("ROUNDS", 200);
    let transfers = 20;
    let (genesis, validators, parts) = demo::testing(4);
    let key = |alias: &str| -> Keypair {
        parts
            .iter()
            .find(|(a, _)| a == alias)
            .expect("alias")
            .1
            .clone()
    };
    let mut chain = Chain::open(genesis.clone(), MemStore::new()).expect("open");
    let (seller, buyer) = (key("seller"), key("buyer"));
    let reference = "BENCHPROOF1";
    let container =
        portledger_ledger::documents::container_number("BEN", 1).expect("a valid owner code");
    let mut doc_key = None;
    let mut tree_time = Duration::ZERO;
    let mut tree_changes = 0usize;
    for b in 0..=transfers {
        let mut txs = Vec::new();
        let next =
            |chain: &Chain<MemStore>, k: &Keypair, n: u64| chain.state().nonce(&k.public()) + 1 + n;
        if b == 0 {
            let carrier = key("carrier");
            let mut readers = vec![carrier.encryption_key(), seller.encryption_key()];
            readers.extend(genesis.customs_auditor);
            let (key, sealed) = workload::bill_of_lading(reference, seller.public(), &container)
                .seal(&readers)
                .expect("seal");
            doc_key = Some(key);
            txs.push(Transaction::sign(
                &carrier,
                &genesis.chain_id,
                next(&chain, &carrier, 0),
                Payload::IssueTransportDocument {
                    reference: reference.into(),
                    document: Some(Box::new(sealed)),
                    issue_to: None,
                },
            ));
        } else {
            let (from, to) = if b % 2 == 1 {
                (&seller, &buyer)
            } else {
                (&buyer, &seller)
            };
            // The first transfer to the buyer shares the document key with it.
            let shares = match (&doc_key, b) {
                (Some(k), 1) => vec![KeyShare {
                    reference: reference.into(),
                    wrap: k.wrap_for(&to.encryption_key()).expect("wrap"),
                }],
                _ => Vec::new(),
            };
            txs.push(Transaction::sign_sharing(
                from,
                &genesis.chain_id,
                next(&chain, from, 0),
                Payload::Transfer {
                    reference: reference.into(),
                    to: to.public(),
                },
                shares,
            ));
        }
        // Other documents in the same blocks: the state grows to (transfers + 1) * FILLER.
        let anchorer = key("advising-bank");
        for i in 0..filler {
            txs.push(Transaction::sign(
                &anchorer,
                &genesis.chain_id,
                next(&chain, &anchorer, i as u64),
                Payload::AnchorDocument {
                    hash: Hash::of(format!("{b}-{i}").as_bytes()),
                    doc_type: DocumentType::CommercialInvoice,
                    references: vec![],
                },
            ));
        }
        let h = chain.tip().height + 1;
        let time = chain.tip().time_ms + 1000;
        let last = if h > 1 {
            portledger_ledger::Store::certificate(chain.store(), h - 1).expect("store")
        } else {
            None
        };
        let (block, built, excluded) =
            chain.build_block(0, time, chain.validators().proposer(h, 0), txs, last);
        assert!(
            excluded.is_empty(),
            "{:?}",
            excluded.first().map(|e| e.error.to_string())
        );
        // The state commitment's share: the block's changes into the tree, and the root.
        let leaves = built.changes.leaves();
        tree_changes += leaves.len();
        let t = Instant::now();
        let root = chain.tree().with(leaves).root();
        tree_time += t.elapsed();
        assert_eq!(root, block.header.state_root);
        let votes: Vec<Vote> = validators[..3]
            .iter()
            .map(|k| {
                Vote::sign(
                    k,
                    &genesis.chain_id,
                    h,
                    0,
                    VoteKind::Precommit,
                    Some(block.hash()),
                )
            })
            .collect();
        let cert = CommitCertificate::from_votes(chain.validators(), h, 0, block.hash(), &votes);
        chain
            .commit_executed(&block, &cert, &built)
            .expect("commit");
    }

    let doc = DocumentKey::TransportDocument(reference.into());
    let t = Instant::now();
    let proof = portledger_ledger::proof::build(chain.store(), &genesis, chain.snapshot(&[doc]))
        .expect("store")
        .expect("a proof");
    let build_time = t.elapsed();
    let json = serde_json::to_vec(&proof).expect("json");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let p: DocumentProof = serde_json::from_slice(&json).expect("parse");
        let v = p.verify(&genesis, None).expect("verifies");
        times.push(t.elapsed());
        assert_eq!(v.documents[0].events.len(), transfers + 1);
    }
    times.sort();
    println!(
        "state: {} leaves; proof of a {transfers}-transfer eBL: {} entries, {} bytes of JSON \
         ({:.1} KiB), built in {:.2} ms",
        chain.tree().len(),
        proof.entries.len(),
        json.len(),
        json.len() as f64 / 1024.0,
        build_time.as_secs_f64() * 1e3
    );
    println!(
        "verify (parse + check) over {rounds} rounds: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    // What one inner node's hash costs on this machine (tag + two children: 85 bytes).
    let (a, b) = (Hash::of(b"a"), Hash::of(b"b"));
    let n = 200_000u32;
    let t = Instant::now();
    let mut h = a;
    for _ in 0..n {
        h = Hash::of_parts(&[b"portledger/state/node", h.as_bytes(), b.as_bytes()]);
    }
    let per_hash = t.elapsed().as_secs_f64() * 1e9 / f64::from(n);
    std::hint::black_box(h);
    println!("one inner node hash (85 bytes): {per_hash:.0} ns");
    println!(
        "state commitment: {tree_changes} leaf updates in {} blocks, {:.2} us per leaf update \
         (tree update + root)",
        transfers + 1,
        tree_time.as_secs_f64() * 1e6 / tree_changes.max(1) as f64
    );
}
