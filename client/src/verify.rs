//! Checking the ledger without trusting the node: `verify-chain` replays every block against
//! genesis; a document proof carries a document's transactions with Merkle inclusion proofs,
//! their block headers and commit certificates, and verifies with nothing but genesis.

use portledger_ledger::block::Block;
use portledger_ledger::merkle::{self, InclusionProof};
use portledger_ledger::{
    BlockHeader, Chain, CommitCertificate, Genesis, Hash, MemStore, Payload, Transaction,
};
use serde::{Deserialize, Serialize};
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
    for h in 1..=tip {
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
    Ok(ChainReport {
        chain_id,
        verified_height: tip,
        last_block_hash: last,
        transactions,
    })
}

/// One transaction of a document proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofEntry {
    /// The transaction.
    pub transaction: Transaction,
    /// The header of its block.
    pub header: BlockHeader,
    /// Its inclusion in the header's transaction root.
    pub inclusion: InclusionProof,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
}

/// A self-contained proof of a document's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentProof {
    /// Format version (1).
    pub version: u32,
    /// Chain id.
    pub chain_id: String,
    /// Hash of the genesis the proof is for.
    pub genesis_hash: Hash,
    /// The document's reference (eBL reference, credit or declaration number).
    pub reference: String,
    /// Its transactions in ledger order.
    pub entries: Vec<ProofEntry>,
}

/// One verified event of a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvenEvent {
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Signer key.
    pub signer: String,
    /// Action.
    pub action: String,
    /// Transaction hash.
    pub tx_hash: Hash,
}

/// Builds the proof of a document's history from a node.
pub async fn build_proof(node: &NodeClient, reference: &str) -> Result<DocumentProof> {
    let seg = encode_segment(reference);
    let mut history = None;
    for kind in ["bl", "lc", "customs"] {
        if node.get(&format!("/v1/{kind}/{seg}")).await.is_ok() {
            history = Some(node.get(&format!("/v1/{kind}/{seg}/history")).await?);
            break;
        }
    }
    let history = history.ok_or_else(|| ClientError::Refused {
        status: 404,
        code: "not_found".into(),
        message: format!("no transport document, credit or declaration {reference}"),
    })?;
    let genesis = node.genesis().await?;
    let mut entries = Vec::new();
    for e in history["events"].as_array().cloned().unwrap_or_default() {
        let height = e["height"]
            .as_u64()
            .ok_or_else(|| ClientError::Node("history event without height".into()))?;
        let index = e["index"]
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| ClientError::Node("history event without index".into()))?;
        let v = node.block(height).await?;
        let block: Block = parse(&format!("block {height}"), &v["block"])?;
        let certificate: CommitCertificate =
            parse(&format!("certificate of block {height}"), &v["certificate"])?;
        let hashes = block.tx_hashes();
        let inclusion = merkle::prove(&hashes, index).ok_or_else(|| {
            ClientError::Node(format!("block {height} has no transaction {index}"))
        })?;
        let transaction = block.transactions.get(index).cloned().ok_or_else(|| {
            ClientError::Node(format!("block {height} has no transaction {index}"))
        })?;
        entries.push(ProofEntry {
            transaction,
            header: block.header,
            inclusion,
            certificate,
        });
    }
    Ok(DocumentProof {
        version: 1,
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        reference: reference.to_string(),
        entries,
    })
}

/// The references a payload names directly, and the credit it acts on.
fn names(p: &Payload) -> (Vec<&str>, Option<&str>) {
    match p {
        Payload::DraftTransportDocument(d) => (vec![d.reference.as_str()], None),
        Payload::ApproveDraft { reference }
        | Payload::Transfer { reference, .. }
        | Payload::Endorse { reference, .. }
        | Payload::SurrenderForDelivery { reference }
        | Payload::SurrenderForAmendment { reference, .. }
        | Payload::AcceptSurrender { reference }
        | Payload::RejectSurrender { reference, .. }
        | Payload::VoidTransportDocument { reference }
        | Payload::ConfirmFreightPaid { reference }
        | Payload::IssueDeliveryOrder { reference, .. }
        | Payload::ReleaseCargo { reference, .. } => (vec![reference.as_str()], None),
        Payload::IssueTransportDocument {
            reference,
            document,
            ..
        } => {
            let mut v = vec![reference.as_str()];
            if let Some(r) = document.as_ref().and_then(|d| d.replaces.as_deref()) {
                v.push(r);
            }
            (v, None)
        }
        Payload::ApplyCredit(t) => (vec![t.number.as_str()], Some(t.number.as_str())),
        Payload::PresentDocuments {
            number,
            transport_document,
            ..
        } => (
            vec![number.as_str(), transport_document.as_str()],
            Some(number.as_str()),
        ),
        Payload::IssueCredit { number }
        | Payload::AdviseCredit { number }
        | Payload::ConfirmCredit { number }
        | Payload::ProposeCreditAmendment { number, .. }
        | Payload::AcceptCreditAmendment { number }
        | Payload::RejectCreditAmendment { number }
        | Payload::ExamineDocuments { number, .. }
        | Payload::WaiveDiscrepancies { number }
        | Payload::Honour { number, .. }
        | Payload::RefusePresentation { number }
        | Payload::ConsentToCancel { number }
        | Payload::CancelCredit { number } => (vec![number.as_str()], Some(number.as_str())),
        Payload::LodgeDeclaration(d) => {
            (vec![d.number.as_str(), d.transport_document.as_str()], None)
        }
        Payload::AcceptDeclaration { number }
        | Payload::RejectDeclaration { number, .. }
        | Payload::HoldDeclaration { number, .. }
        | Payload::ClearHold { number }
        | Payload::AssessDuty { number, .. }
        | Payload::PayDuty { number, .. }
        | Payload::ReleaseDeclaration { number }
        | Payload::DetainDeclaration { number, .. } => (vec![number.as_str()], None),
        Payload::AnchorDocument { references, .. } => {
            (references.iter().map(String::as_str).collect(), None)
        }
        Payload::RegisterOrganisation { .. }
        | Payload::RegisterParticipant { .. }
        | Payload::RevokeDocument { .. } => (vec![], None),
    }
}

/// Verifies a proof with nothing but genesis: every transaction's signature, its inclusion in
/// its block's transaction root, the block's commit certificate against genesis' validators, the
/// ledger order, and that every transaction concerns the document (directly, or as an action on
/// a credit under which the eBL was presented).
pub fn verify_proof(proof: &DocumentProof, genesis: &Genesis) -> Result<Vec<ProvenEvent>> {
    let fail = |s: String| Err(ClientError::Verification(s));
    if proof.version != 1 {
        return fail(format!("unknown proof version {}", proof.version));
    }
    if proof.genesis_hash != genesis.hash() || proof.chain_id != genesis.chain_id {
        return fail(format!(
            "the proof is for chain {:?} with genesis {}, the genesis given is {:?} {}",
            proof.chain_id,
            proof.genesis_hash,
            genesis.chain_id,
            genesis.hash()
        ));
    }
    if proof.entries.is_empty() {
        return fail("the proof holds no transaction".into());
    }
    let validators = genesis.validator_set();
    let mut credits: Vec<String> = Vec::new();
    let mut last: Option<(u64, u32)> = None;
    let mut events = Vec::new();
    for (i, e) in proof.entries.iter().enumerate() {
        let tx = &e.transaction;
        let h = &e.header;
        let hash = tx.hash();
        if h.chain_id != genesis.chain_id || tx.body.chain_id != genesis.chain_id {
            return fail(format!("entry {i}: another chain"));
        }
        if tx.verify_signature().is_err() {
            return fail(format!(
                "entry {i}: the signature of transaction {hash} does not verify"
            ));
        }
        if e.inclusion.size != h.tx_count || !e.inclusion.verify(&hash, &h.tx_root) {
            return fail(format!(
                "entry {i}: transaction {hash} is not in block {} (Merkle proof fails)",
                h.height
            ));
        }
        if let Err(err) = e
            .certificate
            .verify(&genesis.chain_id, &validators, h.height, &h.hash())
        {
            return fail(format!("entry {i}: block {}: {err}", h.height));
        }
        let at = (h.height, e.inclusion.index);
        if last.is_some_and(|l| l >= at) {
            return fail(format!("entry {i}: out of ledger order"));
        }
        last = Some(at);
        let (named, credit) = names(&tx.body.payload);
        let direct = named.contains(&proof.reference.as_str());
        if direct {
            if let (Payload::PresentDocuments { number, .. }, false) = (
                &tx.body.payload,
                credits.iter().any(|c| Some(c.as_str()) == credit),
            ) {
                credits.push(number.clone());
            }
        }
        let via_credit = credit.is_some_and(|c| credits.iter().any(|k| k == c));
        if !direct && !via_credit {
            return fail(format!(
                "entry {i}: transaction {hash} ({}) does not concern {}",
                tx.body.payload.action(),
                proof.reference
            ));
        }
        events.push(ProvenEvent {
            height: h.height,
            time_ms: h.time_ms,
            signer: tx.body.signer.to_hex(),
            action: tx.body.payload.action().to_string(),
            tx_hash: hash,
        });
    }
    Ok(events)
}
