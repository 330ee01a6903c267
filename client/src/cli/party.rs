//! The party directory: the port operator claims DCSA party codes (`codeListProvider` +
//! `partyCode`, such as an LEI or a carrier's SMDG code) and party names for participants, so
//! that `bl issue --file` resolves a DCSA document's parties as the document gives them.

use clap::Subcommand;
use portledger_ledger::documents::party::{PartyCode, PartyId};
use portledger_ledger::Payload;
use serde_json::{json, Value};

use super::context::Ctx;

/// The `party` subcommands.
#[derive(Subcommand)]
pub enum Party {
    /// Port operator claims a DCSA party code for a participant.
    ClaimCode {
        /// The participant (alias or public key).
        participant: String,
        /// `codeListProvider` (GLEIF, SMDG, NMFTA, DCSA, an eBL platform, ...).
        #[arg(long)]
        provider: String,
        /// `partyCode` (or a document's `carrierCode`).
        #[arg(long)]
        code: String,
    },
    /// Port operator claims a DCSA party name (`partyName`, exactly as documents spell it) for
    /// a participant.
    ClaimName {
        /// The participant (alias or public key).
        participant: String,
        /// The party name.
        #[arg(long)]
        name: String,
    },
    /// Every participant with the party codes and names claimed for it.
    List,
}

/// Runs a `party` command.
pub async fn run(ctx: &Ctx, cmd: Party) -> anyhow::Result<()> {
    let (participant, id) = match cmd {
        Party::ClaimCode {
            participant,
            provider,
            code,
        } => (participant, PartyId::Code(PartyCode { provider, code })),
        Party::ClaimName { participant, name } => (participant, PartyId::Name(name)),
        Party::List => return ctx.show("/v1/participants", directory).await,
    };
    let participant = ctx.directory().await?.resolve(&participant)?;
    let extra = json!({"party_id": id});
    ctx.submit(Payload::ClaimPartyId { id, participant }, extra)
        .await
}

/// Human form of the directory: one line per participant, with its claimed codes and names.
fn directory(v: &Value) -> String {
    let mut out = String::new();
    for p in v["participants"].as_array().into_iter().flatten() {
        let ids: Vec<String> = p["party_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|id| match (&id["code"], &id["name"]) {
                (Value::Object(c), _) => format!(
                    "{}:{}",
                    c.get("provider").and_then(Value::as_str).unwrap_or(""),
                    c.get("code").and_then(Value::as_str).unwrap_or("")
                ),
                (_, Value::String(n)) => format!("{n:?}"),
                _ => id.to_string(),
            })
            .collect();
        out.push_str(&format!(
            "{:<16} {:<12} {}\n",
            p["alias"].as_str().unwrap_or(""),
            p["role"].as_str().unwrap_or(""),
            ids.join(", ")
        ));
    }
    out
}
