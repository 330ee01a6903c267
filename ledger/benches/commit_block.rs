//! Applies and commits blocks of 1,000 realistic transactions to a SledStore and prints the time
//! of each phase: batch signature verification, rule execution, building the block, and the
//! sled commit (one atomic batch, one flush).
//!
//! Run: `cargo bench -p portledger-ledger --bench commit_block` (BLOCKS and TXS env vars tune it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use portledger_ledger::chain::Chain;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::transport::KeyShare;
use portledger_ledger::workload;
use portledger_ledger::{
    demo, BlockContext, CommitCertificate, Hash, Keypair, Payload, SledStore, StateView, Store,
    Transaction, Vote, VoteKind,
};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let blocks = env("BLOCKS", 10);
    let per_block = env("TXS", 1000);
    let (genesis, validators, parts) = demo::testing(4);
    let key =
        |alias: &str| -> &Keypair { &parts.iter().find(|(a, _)| a == alias).expect("alias").1 };
    let dir = tempfile::tempdir().expect("tmp");
    let mut chain =
        Chain::open(genesis.clone(), SledStore::open(dir.path()).expect("sled")).expect("open");
    let mut nonces = std::collections::BTreeMap::<String, u64>::new();
    let mut sign = |alias: &str, payload: Payload, shares: Vec<KeyShare>| {
        let n = nonces.entry(alias.to_string()).or_insert(0);
        *n += 1;
        Transaction::sign_sharing(key(alias), &genesis.chain_id, *n, payload, shares)
    };
    let mut readers = vec![
        key("carrier").encryption_key(),
        key("seller").encryption_key(),
    ];
    readers.extend(genesis.customs_auditor);
    let buyer_reader = key("buyer").encryption_key();
    let mut doc_keys = std::collections::BTreeMap::new();
    let seller = key("seller").public();
    let buyer = key("buyer").public();

    let (mut verify, mut exec, mut build, mut commit) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut bl = 0u64;
    for b in 0..blocks {
        // A quarter eBL issues, a quarter transfers of those, half anchored documents.
        let mut txs = Vec::with_capacity(per_block);
        let q = per_block / 4;
        let first = bl;
        for _ in 0..q {
            bl += 1;
            let reference = format!("BENCH{bl:08}");
            let container = portledger_ledger::documents::container_number("BEN", bl as u32)
                .expect("a valid owner code");
            let (doc_key, data) = workload::bill_of_lading(&reference, seller, &container)
                .seal(&readers)
                .expect("seal");
            doc_keys.insert(reference.clone(), doc_key);
            txs.push(sign(
                "carrier",
                Payload::IssueTransportDocument {
                    reference,
                    document: Some(Box::new(data)),
                    issue_to: None,
                },
                Vec::new(),
            ));
        }
        for i in 0..q {
            let reference = format!("BENCH{:08}", first + 1 + i as u64);
            let wrap = doc_keys[&reference].wrap_for(&buyer_reader).expect("wrap");
            txs.push(sign(
                "seller",
                Payload::Transfer {
                    reference: reference.clone(),
                    to: buyer,
                },
                vec![KeyShare { reference, wrap }],
            ));
        }
        for i in 0..(per_block - 2 * q) {
            let who = if i % 2 == 0 { "buyer" } else { "advising-bank" };
            txs.push(sign(
                who,
                Payload::AnchorDocument {
                    hash: Hash::of(format!("{b}-{i}").as_bytes()),
                    doc_type: DocumentType::CommercialInvoice,
                    references: vec![],
                },
                Vec::new(),
            ));
        }

        let h = chain.tip().height + 1;
        let time = chain.tip().time_ms + 1000;
        let ctx = BlockContext {
            height: h,
            time_ms: time,
        };

        let t = Instant::now();
        let items: Vec<_> = txs.iter().map(Transaction::signature_item).collect();
        assert!(portledger_ledger::crypto::verify_batch(&items));
        verify += t.elapsed();

        let t = Instant::now();
        let execd = chain.execute(&txs, &ctx, &|_| true).expect("valid");
        exec += t.elapsed();

        let t = Instant::now();
        let last = if h > 1 {
            chain.store().certificate(h - 1).expect("store")
        } else {
            None
        };
        let (block, built, excluded) =
            chain.build_block(0, time, chain.validators().proposer(h, 0), txs, last);
        build += t.elapsed();
        assert!(
            excluded.is_empty(),
            "{:?}",
            excluded.first().map(|e| e.error.to_string())
        );
        assert_eq!(built.tree.root(), execd.tree.root());

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
        let t = Instant::now();
        chain
            .commit_executed(&block, &cert, &built)
            .expect("commit");
        commit += t.elapsed();
    }
    assert_eq!(
        chain.state().nonce(&seller),
        (blocks * (per_block / 4)) as u64
    );
    let n = blocks as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / n;
    println!(
        "portledger-ledger commit_block: {blocks} blocks of {per_block} transactions on SledStore"
    );
    println!(
        "  batch signature verification  {:8.2} ms/block",
        ms(verify)
    );
    println!("  rule execution (validate)     {:8.2} ms/block", ms(exec));
    println!("  build block (execute + root)  {:8.2} ms/block", ms(build));
    println!(
        "  sled commit (1 batch, 1 flush){:8.2} ms/block",
        ms(commit)
    );
    let total = ms(verify) + ms(exec) + ms(commit);
    println!(
        "  verify + execute + commit     {:8.2} ms/block  = {:.0} tx/s on one core",
        total,
        per_block as f64 / total * 1000.0
    );
}
