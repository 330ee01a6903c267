//! Customs declarations: the `customs` commands with which a declarant lodges a declaration and
//! pays duty and customs accepts, rejects, holds, assesses, releases or detains; show and
//! history.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use portledger_client::api::encode_segment;
use portledger_client::inputs::DeclarationInput;
use portledger_client::money;
use portledger_client::{output, reveal};
use portledger_ledger::documents::customs::{DutyBody, SealedDuty};
use portledger_ledger::Payload;
use serde_json::{json, Value};

use super::context::{input_err, read_json, Ctx, Number};

/// The `customs` subcommands: a declaration from lodging to release.
#[derive(Subcommand)]
pub enum Customs {
    /// Declarant lodges a declaration (native JSON FILE); prints the number.
    Declare {
        /// The declaration.
        #[arg(long)]
        file: PathBuf,
    },
    /// Customs accepts.
    Accept(Number),
    /// Customs rejects.
    Reject(NumberReason),
    /// Customs holds for a check.
    Hold(NumberReason),
    /// Customs clears the hold.
    ClearHold(Number),
    /// Customs releases the goods.
    Release(Number),
    /// Customs detains the goods.
    Detain(NumberReason),
    /// Customs assesses duty.
    Assess {
        /// Declaration number.
        number: String,
        /// Decimal amount.
        #[arg(long)]
        duty: String,
        /// ISO 4217 currency (default: the currency of the declaration's first line).
        #[arg(long)]
        currency: Option<String>,
    },
    /// Declarant pays the duty.
    Pay {
        /// Declaration number.
        number: String,
        /// Payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Current state.
    Show(Number),
    /// Every event.
    History(Number),
    /// Declarations waiting for customs (LODGED, ACCEPTED, HELD, DUTY_PAID), the longest
    /// waiting first, with what customs is to do.
    Queue,
}

/// A declaration number and why customs acts on it.
#[derive(Args)]
pub struct NumberReason {
    /// Declaration number.
    pub number: String,
    /// Why.
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// Runs a `customs` command.
pub async fn run(ctx: &Ctx, cmd: Customs) -> anyhow::Result<()> {
    match cmd {
        Customs::Declare { file } => {
            let input = DeclarationInput::parse(read_json(&file)?)?;
            let key = ctx.key()?;
            let auditor = ctx.auditor().await?;
            let data = input.to_data(&ctx.directory().await?, &key.public(), auditor)?;
            data.validate()
                .map_err(|e| input_err(format!("{}: {e}", file.display())))?;
            let extra = json!({"number": data.number});
            ctx.submit(Payload::LodgeDeclaration(Box::new(data)), extra)
                .await
        }
        Customs::Accept(x) => {
            ctx.submit(Payload::AcceptDeclaration { number: x.number }, json!({}))
                .await
        }
        Customs::Reject(x) => {
            ctx.submit(
                Payload::RejectDeclaration {
                    number: x.number,
                    reason: x.reason,
                },
                json!({}),
            )
            .await
        }
        Customs::Hold(x) => {
            ctx.submit(
                Payload::HoldDeclaration {
                    number: x.number,
                    reason: x.reason,
                },
                json!({}),
            )
            .await
        }
        Customs::ClearHold(x) => {
            ctx.submit(Payload::ClearHold { number: x.number }, json!({}))
                .await
        }
        Customs::Release(x) => {
            ctx.submit(Payload::ReleaseDeclaration { number: x.number }, json!({}))
                .await
        }
        Customs::Detain(x) => {
            ctx.submit(
                Payload::DetainDeclaration {
                    number: x.number,
                    reason: x.reason,
                },
                json!({}),
            )
            .await
        }
        Customs::Assess {
            number,
            duty,
            currency,
        } => {
            let key = ctx.key()?;
            let mut d = ctx
                .node
                .get(&format!("/v1/customs/{}", encode_segment(&number)))
                .await?;
            reveal::declaration(&mut d, Some(&key));
            let currency = match currency {
                Some(c) => c,
                None => d
                    .pointer("/lines/0/currency")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        input_err(
                            "give --currency: the declaration's lines do not open with this key",
                        )
                    })?
                    .to_string(),
            };
            portledger_ledger::documents::check_currency("--currency", &currency)
                .map_err(input_err)?;
            let amount_minor = money::parse_amount("--duty", &duty, &currency)?;
            // Sealed for the declarant and the customs auditor, like the declaration's lines.
            let dir = ctx.directory().await?;
            let declarant = dir.resolve(d["declarant"].as_str().unwrap_or_default())?;
            let mut readers = dir.encryption_keys(&[declarant])?;
            readers.extend(ctx.auditor().await?);
            let duty = SealedDuty::seal(
                &DutyBody {
                    amount_minor,
                    currency,
                },
                &readers,
            )
            .map_err(|e| input_err(format!("cannot seal the duty: {e}")))?;
            ctx.submit(Payload::AssessDuty { number, duty }, json!({}))
                .await
        }
        Customs::Pay {
            number,
            payment_ref,
        } => {
            ctx.submit(
                Payload::PayDuty {
                    number,
                    payment_reference: payment_ref,
                },
                json!({}),
            )
            .await
        }
        Customs::Show(x) => {
            ctx.show_revealed(
                &format!("/v1/customs/{}", encode_segment(&x.number)),
                reveal::declaration,
                output::declaration,
            )
            .await
        }
        Customs::History(x) => {
            ctx.show(
                &format!("/v1/customs/{}/history", encode_segment(&x.number)),
                output::history,
            )
            .await
        }
        Customs::Queue => super::case::queue(ctx).await,
    }
}
