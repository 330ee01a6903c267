//! The chain itself: `status`, `block show`, `tx show`, `verify-chain` (every block checked
//! against genesis), `events` (committed transactions followed live), and document proofs:
//! `proof` writes one, `verify-proof` checks one without a node.

use std::path::PathBuf;

use clap::Subcommand;
use portledger_client::verify;
use portledger_client::{output, reveal};
use portledger_ledger::Genesis;
use serde_json::{json, Value};

use super::context::{input_err, parse_hash, read_file, Ctx};

/// The `block` subcommands.
#[derive(Subcommand)]
pub enum BlockCmd {
    /// A block by height (or `latest`).
    Show {
        /// Height or `latest`.
        height: String,
    },
}

/// The `tx` subcommands.
#[derive(Subcommand)]
pub enum TxCmd {
    /// A transaction by hash.
    Show {
        /// Transaction hash.
        hash: String,
    },
}

/// Runs `status`.
pub async fn status(ctx: &Ctx) -> anyhow::Result<()> {
    ctx.show("/v1/status", output::status).await
}

/// Runs a `block` command.
pub async fn block(ctx: &Ctx, cmd: BlockCmd) -> anyhow::Result<()> {
    match cmd {
        BlockCmd::Show { height } => {
            let path = if height == "latest" {
                "/v1/blocks/latest".to_string()
            } else {
                let h: u64 = height
                    .parse()
                    .map_err(|_| input_err(format!("{height:?} is not a height")))?;
                format!("/v1/blocks/{h}")
            };
            ctx.show(&path, output::block).await
        }
    }
}

/// Runs a `tx` command.
pub async fn tx(ctx: &Ctx, cmd: TxCmd) -> anyhow::Result<()> {
    match cmd {
        TxCmd::Show { hash } => {
            let h = parse_hash(&hash)?;
            ctx.show(&format!("/v1/transactions/{h}"), output::transaction)
                .await
        }
    }
}

/// Runs `verify-chain`, trusting the genesis file given or else the node's.
pub async fn verify_chain(ctx: &Ctx, genesis: Option<PathBuf>) -> anyhow::Result<()> {
    let genesis = match genesis {
        Some(p) => {
            let text = String::from_utf8(read_file(&p)?)
                .map_err(|_| input_err(format!("{} is not UTF-8", p.display())))?;
            Genesis::from_json(&text).map_err(|e| input_err(format!("{}: {e}", p.display())))?
        }
        None => ctx.node.genesis().await?,
    };
    let report = verify::verify_chain(&ctx.node, genesis).await?;
    if ctx.json {
        println!("{}", serde_json::to_value(&report)?);
    } else {
        println!(
            "verified chain {} up to height {} ({} transactions; last block {})",
            report.chain_id, report.verified_height, report.transactions, report.last_block_hash
        );
    }
    Ok(())
}

/// Runs `events`: one line per committed event until `count` events or interrupted.
pub async fn events(
    ctx: &Ctx,
    reference: Option<String>,
    party: Option<String>,
    count: Option<u64>,
) -> anyhow::Result<()> {
    let mut seen = 0u64;
    let json_lines = ctx.json;
    ctx.node
        .follow_events(reference.as_deref(), party.as_deref(), |e| {
            if json_lines {
                println!("{e}");
            } else {
                let who = e["signer_alias"]
                    .as_str()
                    .or_else(|| e["signer"].as_str())
                    .unwrap_or("-");
                println!(
                    "{}  {}  {}  {}  {}",
                    output::plain(&e["height"]),
                    e["time_ms"]
                        .as_u64()
                        .map_or_else(|| "-".into(), portledger_ledger::date::format_ms),
                    who,
                    output::plain(&e["action"]),
                    output::plain(&e["tx_hash"])
                );
            }
            seen += 1;
            count.is_none_or(|c| seen < c)
        })
        .await?;
    Ok(())
}

/// Runs `proof`: writes the proof of a document (or with `case`, of the whole case of a
/// transport document) to `out`.
pub async fn proof(ctx: &Ctx, reference: String, case: bool, out: PathBuf) -> anyhow::Result<()> {
    let proof = if case {
        verify::fetch_case_proof(&ctx.node, &reference).await?
    } else {
        verify::fetch_proof(&ctx.node, &reference).await?
    };
    let bytes = verify::encode_proof(&proof)?;
    std::fs::write(&out, &bytes)
        .map_err(|e| input_err(format!("cannot write {}: {e}", out.display())))?;
    let height = proof.state.header.height;
    let documents = proof.state.documents.len();
    if ctx.json {
        println!(
            "{}",
            json!({"reference": reference, "case": case, "file": out, "bytes": bytes.len(),
                   "transactions": proof.entries.len(), "documents": documents, "height": height})
        );
    } else {
        println!(
            "wrote a proof of {}{reference} ({documents} documents, {} transactions, state at              height {height}, {} bytes) to {}",
            if case { "the case of " } else { "" },
            proof.entries.len(),
            bytes.len(),
            out.display()
        );
    }
    Ok(())
}

/// Runs `verify-proof`: checks a proof file against a genesis file; needs no node. With
/// `not_before`, a proof whose state is older is refused.
pub fn verify_proof(
    ctx: &Ctx,
    file: PathBuf,
    genesis: PathBuf,
    not_before: Option<String>,
) -> anyhow::Result<()> {
    let text = String::from_utf8(read_file(&genesis)?)
        .map_err(|_| input_err(format!("{} is not UTF-8", genesis.display())))?;
    let genesis =
        Genesis::from_json(&text).map_err(|e| input_err(format!("{}: {e}", genesis.display())))?;
    let not_before_ms = not_before
        .map(|t| {
            portledger_ledger::date::parse_datetime_ms(&t)
                .map_err(|e| input_err(format!("--not-before {t:?}: {e}")))
        })
        .transpose()?;
    let bytes = read_file(&file)?;
    let (proof, v) = verify::verify_proof_file(&bytes, &genesis, not_before_ms)
        .map_err(|e| anyhow::Error::new(e).context(file.display().to_string()))?;
    // Names: those the proof shows registered, else genesis', else the key.
    let name = |key: &portledger_ledger::PublicKey| {
        v.aliases.get(key).cloned().unwrap_or_else(|| {
            genesis
                .participants
                .iter()
                .find(|p| p.public_key == *key)
                .map_or_else(|| key.to_hex(), |p| p.alias.clone())
        })
    };
    let time = portledger_ledger::date::format_ms;
    // With a key, the sealed terms it opens, checked against the proven commitments.
    let reader = ctx.reader()?;
    let terms = |d: &portledger_ledger::proof::VerifiedDocument| {
        let (Some(k), Some(r)) = (reader.as_ref(), d.record.as_ref()) else {
            return None;
        };
        reveal::proven_terms(r, k)
    };
    if ctx.json {
        let event = |e: &portledger_ledger::proof::VerifiedEvent| {
            json!({"height": e.height, "time": time(e.time_ms), "signer": name(&e.signer),
                   "signer_key": e.signer, "action": e.action, "tx_hash": e.tx_hash})
        };
        let docs: Vec<Value> = v
            .documents
            .iter()
            .map(|d| {
                let mut doc = json!({"document": d.document, "summary": verify::describe(&v, d, &name),
                       "record": d.record, "transactions": d.events.len()});
                match terms(d) {
                    Some(Ok(t)) => doc["terms"] = t,
                    Some(Err(e)) => doc["terms_sealed"] = json!(e.to_string()),
                    None => {}
                }
                doc
            })
            .collect();
        println!(
            "{}",
            json!({"verified": true, "document": proof.document, "genesis_hash": proof.genesis_hash,
                   "height": v.height, "time": time(v.time_ms), "state_root": v.state_root,
                   "documents": docs, "events": v.events.iter().map(event).collect::<Vec<_>>()})
        );
    } else {
        for d in &v.documents {
            println!("{}", verify::describe(&v, d, &name));
            if let Some(Ok(t)) = terms(d) {
                println!("  its sealed terms, opened with your key and matching the proven commitment: {t}");
            }
        }
        println!(
            "verified against genesis {}: {} transactions, every document's history complete to              height {}",
            genesis.hash(),
            v.events.len(),
            v.height
        );
        let rows: Vec<Vec<String>> = v
            .events
            .iter()
            .map(|e| {
                vec![
                    e.height.to_string(),
                    time(e.time_ms),
                    name(&e.signer),
                    e.action.clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(&["HEIGHT", "TIME", "SIGNER", "ACTION"], &rows)
        );
    }
    Ok(())
}
