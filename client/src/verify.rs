//! Checking the ledger without trusting the node: `verify-chain` replays every block against
//! genesis; a document proof ([`portledger_ledger::proof::DocumentProof`], served by the node
//! at `/v1/{bl,lc,customs,documents}/{id}/proof`, and for a whole case at
//! `/v1/bl/{reference}/case/proof`) carries the documents' transactions with Merkle inclusion
//! proofs, their block headers and commit certificates, and the documents' records and history
//! heads proven against the state root of a certified block, and verifies with nothing but
//! genesis.

use portledger_ledger::block::Block;
use portledger_ledger::proof::{DocumentProof, Record, Verified, VerifiedDocument};
use portledger_ledger::DocumentKey;
use portledger_ledger::{Chain, CommitCertificate, Genesis, Hash, MemStore, PublicKey};
use serde::Serialize;
use serde_json::Value;

use crate::api::{encode_segment, NodeClient};
use crate::error::{ClientError, Result};

/// What `verify-chain` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The chain id.
    pub chain_id: String,
    /// Height of the last verified block.
    pub verified_height: u64,
    /// Its hash.
    pub last_block_hash: Hash,
    /// Transactions checked.
    pub transactions: u64,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, v: &Value) -> Result<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| ClientError::Node(format!("{what} does not parse: {e}")))
}

/// Downloads every block from height 1 to the node's tip and replays it on a fresh in-memory
/// chain from `genesis`: hash links, proposer, transaction root, every transaction signature
/// and rule, state hash, the certificate each block carries for its parent, and the commit
/// certificate of every block against genesis' validators.
pub async fn verify_chain(node: &NodeClient, genesis: Genesis) -> Result<ChainReport> {
    let status = node.status().await?;
    let tip = status["height"]
        .as_u64()
        .ok_or_else(|| ClientError::Node("status without height".into()))?;
    if status["chain_id"].as_str() != Some(genesis.chain_id.as_str()) {
        return Err(ClientError::Verification(format!(
            "the node serves chain {}, genesis is for {:?}",
            status["chain_id"], genesis.chain_id
        )));
    }
    let chain_id = genesis.chain_id.clone();
    let mut chain = Chain::open(genesis, MemStore::new())
        .map_err(|e| ClientError::Verification(format!("genesis: {e}")))?;
    let mut transactions = 0;
    let mut last = Hash::ZERO;
    // A progress bar for people at a terminal; nothing for scripts and pipes.
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(tip)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("verifying {bar:40} {pos}/{len} blocks ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for h in 1..=tip {
        bar.inc(1);
        let v = node.block(h).await?;
        let block: Block = parse(&format!("block {h}"), &v["block"])?;
        let cert: CommitCertificate =
            parse(&format!("certificate of block {h}"), &v["certificate"])?;
        chain
            .commit_block(&block, &cert)
            .map_err(|e| ClientError::Verification(format!("block {h}: {e}")))?;
        transactions += block.transactions.len() as u64;
        last = block.hash();
    }
    bar.finish_and_clear();
    Ok(ChainReport {
        chain_id,
        verified_height: tip,
        last_block_hash: last,
        transactions,
    })
}

/// Fetches the proof of a document's history from the node: `reference` is an eBL reference,
/// a credit or declaration number (tried in that order), or an anchored document's SHA-256.
pub async fn fetch_proof(node: &NodeClient, reference: &str) -> Result<DocumentProof> {
    let seg = encode_segment(reference);
    let mut kinds = vec!["bl", "lc", "customs"];
    if Hash::from_hex(reference).is_ok() {
        kinds.insert(0, "documents");
    }
    for kind in kinds {
        match node.get(&format!("/v1/{kind}/{seg}/proof")).await {
            Ok(v) => return parse("the node's proof", &v),
            Err(ClientError::Refused { status: 404, .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ClientError::Refused {
        status: 404,
        code: "not_found".into(),
        message: format!(
            "no transport document, credit, declaration or anchored document {reference} has a \
             committed history"
        ),
        fields: serde_json::Value::Null,
    })
}

/// Fetches the proof of a whole case: the transport document `reference` with every credit,
/// declaration and anchored document of its case ([`portledger_ledger::case`]).
pub async fn fetch_case_proof(node: &NodeClient, reference: &str) -> Result<DocumentProof> {
    let v = node
        .get(&format!("/v1/bl/{}/case/proof", encode_segment(reference)))
        .await?;
    parse("the node's proof", &v)
}

/// The exact bytes `portledger proof` writes for a proof (compact JSON).
pub fn encode_proof(proof: &DocumentProof) -> Result<Vec<u8>> {
    serde_json::to_vec(proof).map_err(|e| ClientError::Node(format!("encoding the proof: {e}")))
}

/// The largest proof file `verify-proof` reads.
pub const MAX_PROOF_BYTES: usize = 16 * 1024 * 1024;

/// Verifies a proof file against genesis with no node: the ledger's checks (every certificate
/// a quorum of genesis validators for its header, every transaction in its header's Merkle root
/// and validly signed, each document's record and history head in the state root of a certified
/// block, its history exactly the transactions listed, the state not older than
/// `not_before_ms`), and that the file is byte for byte the proof's encoding, so that no byte
/// may change, not even one that would leave the checked content alone.
pub fn verify_proof_file(
    bytes: &[u8],
    genesis: &Genesis,
    not_before_ms: Option<u64>,
) -> Result<(DocumentProof, Verified)> {
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(ClientError::Verification(format!(
            "the file has {} bytes, more than a proof may have ({MAX_PROOF_BYTES})",
            bytes.len()
        )));
    }
    let proof: DocumentProof = serde_json::from_slice(bytes)
        .map_err(|e| ClientError::Verification(format!("not a document proof: {e}")))?;
    let verified = proof
        .verify(genesis, not_before_ms)
        .map_err(|e| ClientError::Verification(e.to_string()))?;
    if encode_proof(&proof)? != bytes.trim_ascii_end() {
        return Err(ClientError::Verification(
            "the file is not exactly the proof `portledger proof` writes (a byte was changed)"
                .into(),
        ));
    }
    Ok((proof, verified))
}

/// A document's name for people: "B/L X", "credit N", "declaration N", "document H".
pub fn document_name(d: &DocumentKey) -> String {
    match d {
        DocumentKey::TransportDocument(r) => format!("B/L {r}"),
        DocumentKey::Credit(n) => format!("credit {n}"),
        DocumentKey::Declaration(n) => format!("declaration {n}"),
        DocumentKey::Anchor(h) => format!("document {h}"),
        DocumentKey::Participant(k) => format!("participant {k}"),
        DocumentKey::Organisation(o) => format!("organisation {o}"),
        DocumentKey::Proposal(id) => format!("governance proposal {id}"),
    }
}

/// What a verified proof shows about one document, in one sentence: "B/L X is held by Y at
/// height H (final)", or its state when nobody holds it.
pub fn describe(v: &Verified, d: &VerifiedDocument, name: &dyn Fn(&PublicKey) -> String) -> String {
    let at = format!(
        "at height {} ({}, final)",
        v.height,
        portledger_ledger::date::format_ms(v.time_ms)
    );
    let doc = document_name(&d.document);
    let Some(record) = &d.record else {
        return format!("{doc} does not exist {at}");
    };
    match record {
        Record::TransportDocument(t) => match t.possessor {
            Some(p) => format!("{doc} is held by {} {at} ({})", name(&p), t.state.as_str()),
            None => {
                let mut s = format!("{doc} is {}", t.state.as_str());
                if let Some(by) = t.surrendered_by {
                    s += &format!(", surrendered by {}", name(&by));
                }
                if let Some(to) = t.delivery_order_to {
                    s += &format!(", delivery order to {}", name(&to));
                }
                format!("{s}, {at}")
            }
        },
        Record::Credit(c) => format!("{doc} is {} {at}", c.state.as_str()),
        Record::Declaration(x) => format!(
            "{doc} ({}) is {} {at}",
            x.data.direction.as_str(),
            x.state.as_str()
        ),
        Record::Anchor(a) => format!("{doc} is anchored by {} {at}", name(&a.issuer)),
        Record::Participant(m) => format!("{doc} is registered as {} {at}", m.alias),
        Record::Organisation(r) => format!("{doc} is registered as {r:?} {at}"),
        Record::Proposal(p) => format!("{doc} ({}) is {} {at}", p.action.kind(), p.status.as_str()),
    }
}
