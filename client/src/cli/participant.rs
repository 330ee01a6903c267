//! Onboarding: an organisation registers its own people (`participant add`) and revokes them
//! (`participant revoke`); the port operator may do both for any organisation. The new person makes their key
//! with `portledger keygen` and hands over only its public halves.

use clap::Subcommand;
use portledger_ledger::sealed::EncryptionKey;
use portledger_ledger::{Payload, PublicKey};
use serde_json::json;

use super::context::{input_err, Ctx};

/// The `participant` subcommands.
#[derive(Subcommand)]
pub enum ParticipantCmd {
    /// Registers a new participant key for an organisation (your own, unless you are the port
    /// operator): its alias, its signing key and its X25519 key, as `keygen` printed them.
    Add {
        /// The new participant's alias (letters, digits, '-', '_', '.').
        alias: String,
        /// Its ed25519 public key (64 hex digits).
        #[arg(long)]
        public_key: String,
        /// Its X25519 key (64 hex digits), for the document keys wrapped for it.
        #[arg(long)]
        encryption_key: String,
        /// Its organisation (default: the signer's own).
        #[arg(long)]
        org: Option<String>,
    },
    /// Revokes a participant of your organisation (any, as the port operator): from the next
    /// block on, the ledger refuses what it signs and no longer wraps document keys for it.
    Revoke {
        /// The participant (alias or public key).
        participant: String,
    },
}

/// Runs a `participant` command.
pub async fn run(ctx: &Ctx, cmd: ParticipantCmd) -> anyhow::Result<()> {
    match cmd {
        ParticipantCmd::Revoke { participant } => {
            let key = ctx.directory().await?.resolve(&participant)?;
            let extra = json!({"revoked": participant, "public_key": key});
            ctx.submit(Payload::RevokeParticipant { participant: key }, extra)
                .await
        }
        ParticipantCmd::Add {
            alias,
            public_key,
            encryption_key,
            org,
        } => {
            let public_key = PublicKey::from_hex(public_key.trim())
                .map_err(|e| input_err(format!("--public-key: {e}")))?;
            let encryption_key = EncryptionKey::from_hex(encryption_key.trim())
                .map_err(|e| input_err(format!("--encryption-key: {e}")))?;
            let organisation = match org {
                Some(o) => o,
                None => {
                    let me = ctx.key()?.public();
                    ctx.directory()
                        .await?
                        .participants
                        .into_iter()
                        .find(|p| p.public_key == me)
                        .map(|p| p.organisation)
                        .ok_or_else(|| {
                            input_err("the signing key is not a registered participant: give --org")
                        })?
                }
            };
            let extra =
                json!({"alias": alias, "organisation": organisation, "public_key": public_key});
            ctx.submit(
                Payload::RegisterParticipant {
                    alias,
                    public_key,
                    encryption_key,
                    organisation,
                },
                extra,
            )
            .await
        }
    }
}
