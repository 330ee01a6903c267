//! Governance: validator organisations propose changes of the consortium and vote on them
//! (`gov propose`, `gov vote`); anyone registered reads the proposals and the validator sets
//! (`gov list`, `gov show`, `gov validators`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use portledger_client::api::encode_segment;
use portledger_ledger::genesis::{ConsensusParams, Role};
use portledger_ledger::governance::{Action, FirstParticipant};
use portledger_ledger::{Payload, PublicKey};
use serde_json::{json, Value};

use super::context::{input_err, read_json, Ctx};

/// The `gov` subcommands.
#[derive(Subcommand)]
pub enum Gov {
    /// Proposes a change (signed by a participant of a validator organisation, whose vote for it
    /// it counts).
    Propose {
        /// The proposal's id, never used before (letters, digits, '-', '_', '.').
        id: String,
        #[command(subcommand)]
        action: ProposeCmd,
    },
    /// Votes on an open proposal for your organisation (once per organisation).
    Vote {
        /// The proposal's id.
        id: String,
        /// Vote for it.
        #[arg(long, conflicts_with = "no", required_unless_present = "no")]
        yes: bool,
        /// Vote against it.
        #[arg(long)]
        no: bool,
    },
    /// One proposal: its action, votes, tally and status.
    Show {
        /// The proposal's id.
        id: String,
    },
    /// Every proposal, open ones first.
    List {
        /// Only proposals in this state: open, adopted or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// The validator set and consensus parameters in force, and the changes scheduled.
    Validators,
    /// Submits your organisation's node key rotation, as `portledger-node rotate-key` printed it
    /// (both keys' signatures); no vote is needed. A validator seat is re-keyed 4 heights on.
    RotateNodeKey {
        /// The JSON `rotate-key` printed.
        #[arg(long)]
        file: PathBuf,
    },
}

/// What `gov propose` proposes.
#[derive(Subcommand)]
pub enum ProposeCmd {
    /// Admit an organisation: from the public description its `portledger-node init` wrote
    /// (`--file organisation.json`), or from flags.
    AddOrg(AddOrg),
    /// Seat an admitted organisation as a validator under its node key.
    AddValidator {
        /// The organisation.
        #[arg(long)]
        org: String,
    },
    /// Remove an organisation's validator seat (it stays a member).
    RemoveValidator {
        /// The organisation.
        #[arg(long)]
        org: String,
    },
    /// Change consensus parameters: the ones in force, with those given replaced.
    SetParams(SetParams),
}

/// `gov propose ID add-org`.
#[derive(Args)]
pub struct AddOrg {
    /// The organisation's public description (`organisation.json` of `portledger-node init`).
    #[arg(long, conflicts_with_all = ["name", "role", "node_key", "validator", "participant"])]
    file: Option<PathBuf>,
    /// Its unique name.
    #[arg(long, required_unless_present = "file")]
    name: Option<String>,
    /// Its role: port_operator, carrier, bank, customs or trader.
    #[arg(long, required_unless_present = "file")]
    role: Option<String>,
    /// Its node's key (64 hex digits).
    #[arg(long)]
    node_key: Option<String>,
    /// It also takes a validator seat (needs --node-key).
    #[arg(long)]
    validator: bool,
    /// A first participant, ALIAS:PUBLIC_KEY:ENCRYPTION_KEY as `portledger keygen` printed the
    /// keys (repeat for more).
    #[arg(long, required_unless_present = "file")]
    participant: Vec<String>,
}

/// `gov propose ID set-params`.
#[derive(Args)]
pub struct SetParams {
    #[arg(long)]
    timeout_base_ms: Option<u64>,
    #[arg(long)]
    timeout_delta_ms: Option<u64>,
    #[arg(long)]
    timeout_max_ms: Option<u64>,
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    #[arg(long)]
    max_clock_drift_ms: Option<u64>,
    #[arg(long)]
    max_block_txs: Option<u32>,
    #[arg(long)]
    max_block_bytes: Option<u32>,
    #[arg(long)]
    max_tx_bytes: Option<u32>,
}

/// Runs a `gov` command.
pub async fn run(ctx: &Ctx, cmd: Gov) -> anyhow::Result<()> {
    match cmd {
        Gov::Propose { id, action } => {
            let action = match action {
                ProposeCmd::AddOrg(a) => add_org(a)?,
                ProposeCmd::AddValidator { org } => Action::AddValidator { organisation: org },
                ProposeCmd::RemoveValidator { org } => {
                    Action::RemoveValidator { organisation: org }
                }
                ProposeCmd::SetParams(p) => {
                    let v = ctx.node.get("/v1/gov/validators").await?;
                    let now: ConsensusParams = serde_json::from_value(v["params"].clone())
                        .map_err(|e| input_err(format!("the node's consensus params: {e}")))?;
                    Action::SetConsensusParams(p.over(now))
                }
            };
            let extra = json!({"proposal": id, "kind": action.kind()});
            ctx.submit(Payload::Propose { id, action }, extra).await
        }
        Gov::Vote { id, yes, no: _ } => {
            let extra = json!({"proposal": id, "approve": yes});
            ctx.submit(Payload::Vote { id, approve: yes }, extra).await
        }
        Gov::Show { id } => {
            ctx.show(&format!("/v1/gov/proposals/{}", encode_segment(&id)), |v| {
                proposal_line(v) + &format!("action {}\n", v["action"])
            })
            .await
        }
        Gov::List { status } => {
            let path = match status {
                Some(s) => format!("/v1/gov/proposals?status={}", encode_segment(&s)),
                None => "/v1/gov/proposals".into(),
            };
            ctx.show(&path, |v| {
                v["proposals"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(proposal_line)
                    .collect()
            })
            .await
        }
        Gov::Validators => ctx.show("/v1/gov/validators", validators).await,
        Gov::RotateNodeKey { file } => {
            let v = read_json(&file)?;
            fn field<T: serde::de::DeserializeOwned>(
                v: &Value,
                file: &std::path::Path,
                name: &str,
            ) -> anyhow::Result<T> {
                serde_json::from_value(v[name].clone())
                    .map_err(|e| input_err(format!("{}: field {name:?}: {e}", file.display())))
            }
            let new_key: PublicKey = field(&v, &file, "new_key")?;
            let payload = Payload::RotateNodeKey {
                new_key,
                old_key_signature: field(&v, &file, "old_key_signature")?,
                new_key_signature: field(&v, &file, "new_key_signature")?,
            };
            ctx.submit(payload, json!({"new_key": new_key})).await
        }
    }
}

impl SetParams {
    /// `now` with the given parameters replaced.
    fn over(self, now: ConsensusParams) -> ConsensusParams {
        ConsensusParams {
            timeout_base_ms: self.timeout_base_ms.unwrap_or(now.timeout_base_ms),
            timeout_delta_ms: self.timeout_delta_ms.unwrap_or(now.timeout_delta_ms),
            timeout_max_ms: self.timeout_max_ms.unwrap_or(now.timeout_max_ms),
            heartbeat_ms: self.heartbeat_ms.unwrap_or(now.heartbeat_ms),
            max_clock_drift_ms: self.max_clock_drift_ms.unwrap_or(now.max_clock_drift_ms),
            max_block_txs: self.max_block_txs.unwrap_or(now.max_block_txs),
            max_block_bytes: self.max_block_bytes.unwrap_or(now.max_block_bytes),
            max_tx_bytes: self.max_tx_bytes.unwrap_or(now.max_tx_bytes),
        }
    }
}

/// The admission of `a`: from a description file, or from flags.
fn add_org(a: AddOrg) -> anyhow::Result<Action> {
    if let Some(path) = a.file {
        let d = read_json(&path)?;
        let field = |name: &str| -> anyhow::Result<Value> {
            d.get(name)
                .cloned()
                .ok_or_else(|| input_err(format!("{}: no field {name:?}", path.display())))
        };
        let parse = |name: &str, e: serde_json::Error| {
            input_err(format!("{}: field {name:?}: {e}", path.display()))
        };
        return Ok(Action::AddOrganisation {
            name: serde_json::from_value(field("organisation")?)
                .map_err(|e| parse("organisation", e))?,
            role: serde_json::from_value(field("role")?).map_err(|e| parse("role", e))?,
            node_key: serde_json::from_value(field("node_key")?)
                .map_err(|e| parse("node_key", e))?,
            validator: serde_json::from_value(field("validator")?)
                .map_err(|e| parse("validator", e))?,
            participants: serde_json::from_value(field("participants")?)
                .map_err(|e| parse("participants", e))?,
        });
    }
    let role: Role = serde_json::from_value(json!(a.role.unwrap_or_default()))
        .map_err(|e| input_err(format!("--role: {e}")))?;
    let node_key = a
        .node_key
        .map(|k| PublicKey::from_hex(k.trim()))
        .transpose()
        .map_err(|e| input_err(format!("--node-key: {e}")))?;
    let participants = a
        .participant
        .iter()
        .map(|p| first_participant(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Action::AddOrganisation {
        name: a.name.unwrap_or_default(),
        role,
        node_key,
        validator: a.validator,
        participants,
    })
}

/// `ALIAS:PUBLIC_KEY:ENCRYPTION_KEY`.
fn first_participant(text: &str) -> anyhow::Result<FirstParticipant> {
    let bad = |why: String| input_err(format!("--participant {text:?}: {why}"));
    let mut parts = text.split(':');
    let (Some(alias), Some(public), Some(enc), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("give ALIAS:PUBLIC_KEY:ENCRYPTION_KEY".into()));
    };
    Ok(FirstParticipant {
        alias: alias.to_string(),
        public_key: PublicKey::from_hex(public.trim())
            .map_err(|e| bad(format!("public key: {e}")))?,
        encryption_key: portledger_ledger::sealed::EncryptionKey::from_hex(enc.trim())
            .map_err(|e| bad(format!("encryption key: {e}")))?,
    })
}

/// One line per proposal: id, kind, status, tally, votes.
fn proposal_line(v: &Value) -> String {
    let votes: Vec<String> = v["votes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(o, b)| {
            format!(
                "{o}:{}",
                if b.as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                }
            )
        })
        .collect();
    let when = match (v["decided_height"].as_u64(), v["effective_height"].as_u64()) {
        (Some(d), Some(e)) => format!(" at {d}, in force from {e}"),
        (Some(d), None) => format!(" at {d}"),
        _ => String::new(),
    };
    format!(
        "{:<16} {:<22} {}{when}  {}/{} for, {} against  [{}]\n",
        v["id"].as_str().unwrap_or(""),
        v["kind"].as_str().unwrap_or(""),
        v["status"].as_str().unwrap_or(""),
        v["tally"]["for"],
        v["tally"]["quorum"],
        v["tally"]["against"],
        votes.join(" ")
    )
}

/// The set in force, then each scheduled change.
fn validators(v: &Value) -> String {
    let set = |s: &Value| -> String {
        s["validators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["organisation"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "height {}: {} (quorum {})\n",
        v["in_force"]["height"],
        set(&v["in_force"]),
        v["in_force"]["quorum"]
    );
    for s in v["scheduled_sets"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "from {}: {} (quorum {})\n",
            s["from_height"],
            set(s),
            s["quorum"]
        ));
    }
    out.push_str(&format!("params {}\n", v["params"]));
    for p in v["scheduled_params"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "params from {}: {}\n",
            p["from_height"], p["params"]
        ));
    }
    out
}
