//! A block that fails its links, proposer, transactions, state hash or certificate is refused
//! and never stored.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use portledger_ledger::block::Block;
use portledger_ledger::chain::{BlockError, Chain};
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{CertificateError, Hash, Keypair, Payload, SledStore, Store, Transaction};

fn anchor_tx(w: &World, alias: &str, nonce: u64, name: &str) -> Transaction {
    Transaction::sign(
        w.keypair(alias),
        &w.genesis.chain_id,
        nonce,
        Payload::AnchorDocument {
            hash: Hash::of(name.as_bytes()),
            doc_type: DocumentType::Other,
            references: vec![],
        },
    )
}

fn next_block<S: Store>(chain: &Chain<S>, txs: Vec<Transaction>) -> Block {
    let h = chain.tip().height + 1;
    let last = if h > 1 {
        chain.store().certificate(h - 1).expect("store")
    } else {
        None
    };
    chain
        .build_block(
            0,
            chain.tip().time_ms + 10,
            chain.validators().proposer(h, 0),
            txs,
            last,
        )
        .0
}

fn assert_not_stored<S: Store>(chain: &Chain<S>, height: u64) {
    assert_eq!(chain.tip().height, height - 1);
    assert!(chain.store().block(height).expect("store").is_none());
    assert_eq!(
        chain.store().tip().expect("store").map_or(0, |t| t.height),
        height - 1
    );
}

#[test]
fn refused_blocks_are_never_stored() {
    let w = World::new();
    let dir = tempfile::tempdir().expect("tmp");
    let mut chain = Chain::open(
        w.genesis.clone(),
        SledStore::open(dir.path()).expect("sled"),
    )
    .expect("open");
    let t = chain.tip().time_ms + 5;
    commit(
        &mut chain,
        &w.validators,
        vec![anchor_tx(&w, "seller", 1, "a")],
        t,
    );

    let good = next_block(&chain, vec![anchor_tx(&w, "seller", 2, "b")]);
    let cert = certify(&chain, &w.validators, &good);

    // Certificate short of a quorum.
    let mut short = cert.clone();
    short.signatures.truncate(2);
    let e = chain.commit_block(&good, &short).expect_err("no quorum");
    assert!(
        matches!(
            e,
            BlockError::Certificate(CertificateError::NoQuorum {
                found: 2,
                needed: 3
            })
        ),
        "{e}"
    );
    assert_not_stored(&chain, 2);

    // Certificate for another block.
    let mut other = good.clone();
    other.header.round = 1;
    let e = chain
        .commit_block(&good, &certify(&chain, &w.validators, &other))
        .expect_err("wrong");
    assert!(
        matches!(
            e,
            BlockError::Certificate(CertificateError::WrongBlock { .. })
        ),
        "{e}"
    );

    // Wrong previous hash.
    let mut b = good.clone();
    b.header.previous_hash = Hash::of(b"elsewhere");
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("link");
    assert!(e.to_string().contains("previous hash"), "{e}");

    // Wrong proposer for (height, round).
    let mut b = good.clone();
    b.header.proposer = w.validators[0].public();
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("proposer");
    assert!(e.to_string().contains("proposer"), "{e}");

    // Time not after the parent.
    let mut b = good.clone();
    b.header.time_ms = chain.tip().time_ms;
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("time");
    assert!(e.to_string().contains("not after"), "{e}");

    // A transaction swapped for another: the root no longer matches.
    let mut b = good.clone();
    b.transactions[0] = anchor_tx(&w, "seller", 2, "c");
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("root");
    assert!(e.to_string().contains("transaction root"), "{e}");

    // A forged signature inside a block.
    let mut b = good.clone();
    b.transactions[0].signature = Keypair::for_testing("mallory").sign(
        portledger_ledger::Domain::Transaction,
        &b.transactions[0].body,
    );
    b.header.tx_root = Block::tx_root_of(&b.tx_hashes());
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("sig");
    assert!(e.to_string().contains("bad signature"), "{e}");

    // A rule-breaking transaction (a replayed nonce) inside a block.
    let mut b = good.clone();
    b.transactions[0] = anchor_tx(&w, "seller", 1, "d");
    b.header.tx_root = Block::tx_root_of(&b.tx_hashes());
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("nonce");
    assert!(e.to_string().contains("bad nonce"), "{e}");

    // A wrong state root.
    let mut b = good.clone();
    b.header.state_root = Hash::of(b"diverged");
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("state");
    assert!(e.to_string().contains("state root"), "{e}");

    // The parent's certificate missing or tampered.
    let mut b = good.clone();
    b.last_commit = None;
    assert!(chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .is_err());
    let mut b = good.clone();
    if let Some(c) = b.last_commit.as_mut() {
        c.signatures.truncate(1);
    }
    b.header.last_commit_hash = b
        .last_commit
        .as_ref()
        .map(|c| c.hash())
        .unwrap_or(Hash::ZERO);
    let e = chain
        .commit_block(&b, &certify(&chain, &w.validators, &b))
        .expect_err("last");
    assert!(matches!(e, BlockError::LastCommit(_)), "{e}");

    assert_not_stored(&chain, 2);
    // The good block with its good certificate goes in.
    chain.commit_block(&good, &cert).expect("good block");
    assert_eq!(chain.tip().height, 2);
}

#[test]
fn a_store_of_another_layout_or_genesis_is_refused_with_a_reason() {
    use portledger_ledger::{MemStore, StoreError};
    let w = World::new();
    // A store written before the layout was recorded: it has a genesis hash and no layout.
    let old = MemStore::new();
    old.write_batch(vec![(
        b"m/genesis".to_vec(),
        Some(portledger_ledger::codec::encode(&w.genesis.hash())),
    )])
    .expect("write");
    match Chain::open(w.genesis.clone(), old) {
        Err(StoreError::OtherLayout { found: 1, expected }) => assert!(expected > 1),
        other => panic!("expected OtherLayout, got {:?}", other.map(|c| c.tip())),
    }
    // A fresh store records both; opened again for another genesis, it is refused.
    let store = std::sync::Arc::new(MemStore::new());
    Chain::open(w.genesis.clone(), store.clone()).expect("open");
    Chain::open(w.genesis.clone(), store.clone()).expect("reopen");
    let mut other = w.genesis.clone();
    other.chain_id.push_str("-other");
    let err = Chain::open(other, store).map(|c| c.tip()).unwrap_err();
    assert!(matches!(err, StoreError::WrongGenesis { .. }), "{err}");
}
