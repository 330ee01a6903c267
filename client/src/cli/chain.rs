//! The chain itself: `status`, `block show`, `tx show`, `verify-chain` (every block checked
//! against genesis), `events` (committed transactions followed live), and document proofs:
//! `proof` writes one, `verify-proof` checks one without a node.

use std::path::PathBuf;

use clap::Subcommand;
use portledger_client::output;
use portledger_client::verify;
use portledger_ledger::{DocumentKey, Genesis};
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

/// Runs `proof`: writes the proof of a document's history to `out`.
pub async fn proof(ctx: &Ctx, reference: String, out: PathBuf) -> anyhow::Result<()> {
    let proof = verify::fetch_proof(&ctx.node, &reference).await?;
    std::fs::write(&out, verify::encode_proof(&proof)?)
        .map_err(|e| input_err(format!("cannot write {}: {e}", out.display())))?;
    if ctx.json {
        println!(
            "{}",
            json!({"reference": reference, "file": out, "transactions": proof.entries.len()})
        );
    } else {
        println!(
            "wrote a proof of {reference} ({} transactions) to {}",
            proof.entries.len(),
            out.display()
        );
    }
    Ok(())
}

/// Runs `verify-proof`: checks a proof file against a genesis file; needs no node.
pub fn verify_proof(ctx: &Ctx, file: PathBuf, genesis: PathBuf) -> anyhow::Result<()> {
    let text = String::from_utf8(read_file(&genesis)?)
        .map_err(|_| input_err(format!("{} is not UTF-8", genesis.display())))?;
    let genesis =
        Genesis::from_json(&text).map_err(|e| input_err(format!("{}: {e}", genesis.display())))?;
    let bytes = read_file(&file)?;
    let (proof, events) = verify::verify_proof_file(&bytes, &genesis)
        .map_err(|e| anyhow::Error::new(e).context(file.display().to_string()))?;
    let alias = |key: &portledger_ledger::PublicKey| {
        genesis
            .participants
            .iter()
            .find(|p| p.public_key == *key)
            .map_or_else(|| key.to_hex(), |p| p.alias.clone())
    };
    if ctx.json {
        let evs: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({"height": e.height, "time": portledger_ledger::date::format_ms(e.time_ms),
                       "signer": alias(&e.signer), "signer_key": e.signer,
                       "action": e.action, "tx_hash": e.tx_hash})
            })
            .collect();
        println!(
            "{}",
            json!({"verified": true, "document": proof.document, "genesis_hash": proof.genesis_hash, "events": evs})
        );
    } else {
        println!(
            "proof of {} verified against genesis {} ({} transactions)",
            match &proof.document {
                DocumentKey::TransportDocument(r) => format!("transport document {r}"),
                DocumentKey::Credit(n) => format!("credit {n}"),
                DocumentKey::Declaration(n) => format!("declaration {n}"),
                DocumentKey::Anchor(h) => format!("anchored document {h}"),
                other => format!("{other:?}"),
            },
            genesis.hash(),
            events.len()
        );
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    e.height.to_string(),
                    portledger_ledger::date::format_ms(e.time_ms),
                    alias(&e.signer),
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
