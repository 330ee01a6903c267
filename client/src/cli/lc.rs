//! Letters of credit: the `lc` commands from application, issue, advice and confirmation
//! through amendments, presentation, examination, honour or refusal, to cancellation, show and
//! history.

use std::path::PathBuf;

use clap::Subcommand;
use portledger_client::api::encode_segment;
use portledger_client::inputs::{CreditAmendmentInput, CreditApplication};
use portledger_client::{output, reveal};
use portledger_ledger::Payload;
use serde_json::{json, Value};

use super::context::{input_err, parse_hash, read_json, Ctx, Number};

/// The `lc` subcommands: a letter of credit from application to honour or cancellation.
#[derive(Subcommand)]
pub enum Lc {
    /// Applicant applies for a credit (native JSON FILE).
    Apply {
        /// The application.
        #[arg(long)]
        file: PathBuf,
    },
    /// Issuing bank issues.
    Issue(Number),
    /// Advising bank advises.
    Advise(Number),
    /// Confirming bank confirms.
    Confirm(Number),
    /// Issuing bank proposes an amendment (JSON FILE: amount, expiry_date, ... all optional).
    Amend {
        /// Credit number.
        number: String,
        /// The changes.
        #[arg(long)]
        file: PathBuf,
    },
    /// Beneficiary accepts the pending amendment.
    AcceptAmendment(Number),
    /// Beneficiary rejects the pending amendment.
    RejectAmendment(Number),
    /// Beneficiary presents the eBL and anchored documents.
    Present {
        /// Credit number.
        number: String,
        /// The eBL reference.
        #[arg(long)]
        bl: String,
        /// SHA-256 of an anchored document (repeat).
        #[arg(long = "doc")]
        docs: Vec<String>,
    },
    /// Issuing bank examines: --complying, or --discrepancy TEXT (repeat).
    Examine {
        /// Credit number.
        number: String,
        /// The presentation complies.
        #[arg(long, conflicts_with = "discrepancy")]
        complying: bool,
        /// A discrepancy found (repeat).
        #[arg(long)]
        discrepancy: Vec<String>,
    },
    /// Applicant waives the discrepancies.
    Waive(Number),
    /// Issuing bank honours; the eBL passes to the applicant in the same transaction.
    Honour {
        /// Credit number.
        number: String,
        /// Payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Issuing bank refuses; the eBL returns to the beneficiary.
    Refuse(Number),
    /// Beneficiary consents to cancellation.
    ConsentCancel(Number),
    /// Issuing bank cancels (after the beneficiary's consent).
    Cancel(Number),
    /// Current state.
    Show(Number),
    /// Every event.
    History(Number),
}

/// Runs an `lc` command.
pub async fn run(ctx: &Ctx, cmd: Lc) -> anyhow::Result<()> {
    let n = |n: Number| n.number;
    match cmd {
        Lc::Apply { file } => {
            let app = CreditApplication::parse(read_json(&file)?)?;
            let terms = app.to_terms(&ctx.directory().await?)?;
            terms
                .validate()
                .map_err(|e| input_err(format!("{}: {e}", file.display())))?;
            let extra = json!({"number": terms.number});
            ctx.submit(Payload::ApplyCredit(Box::new(terms)), extra)
                .await
        }
        Lc::Issue(x) => {
            ctx.submit(Payload::IssueCredit { number: n(x) }, json!({}))
                .await
        }
        Lc::Advise(x) => {
            ctx.submit(Payload::AdviseCredit { number: n(x) }, json!({}))
                .await
        }
        Lc::Confirm(x) => {
            ctx.submit(Payload::ConfirmCredit { number: n(x) }, json!({}))
                .await
        }
        Lc::Amend { number, file } => {
            let input = CreditAmendmentInput::parse(read_json(&file)?)?;
            let lc = ctx
                .node
                .get(&format!("/v1/lc/{}", encode_segment(&number)))
                .await?;
            let current = reveal::credit_key(&lc, &ctx.key()?)?;
            let changes = input.to_amendment(&current)?;
            ctx.submit(
                Payload::ProposeCreditAmendment { number, changes },
                json!({}),
            )
            .await
        }
        Lc::AcceptAmendment(x) => {
            ctx.submit(Payload::AcceptCreditAmendment { number: n(x) }, json!({}))
                .await
        }
        Lc::RejectAmendment(x) => {
            ctx.submit(Payload::RejectCreditAmendment { number: n(x) }, json!({}))
                .await
        }
        Lc::Present { number, bl, docs } => {
            let documents = docs
                .iter()
                .map(|d| parse_hash(d))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let lc = ctx
                .node
                .get(&format!("/v1/lc/{}", encode_segment(&number)))
                .await?;
            let bank = credit_party(&lc, "issuing_bank")?;
            let shares = ctx.shares_for(&bl, &[bank]).await?;
            ctx.submit_sharing(
                Payload::PresentDocuments {
                    number,
                    transport_document: bl,
                    documents,
                },
                shares,
                json!({}),
            )
            .await
        }
        Lc::Examine {
            number,
            complying,
            discrepancy,
        } => {
            if complying != discrepancy.is_empty() {
                return Err(input_err("give either --complying or --discrepancy TEXT"));
            }
            ctx.submit(
                Payload::ExamineDocuments {
                    number,
                    discrepancies: discrepancy,
                },
                json!({}),
            )
            .await
        }
        Lc::Waive(x) => {
            ctx.submit(Payload::WaiveDiscrepancies { number: n(x) }, json!({}))
                .await
        }
        Lc::Honour {
            number,
            payment_ref,
        } => {
            let lc = ctx
                .node
                .get(&format!("/v1/lc/{}", encode_segment(&number)))
                .await?;
            let applicant = credit_party(&lc, "applicant")?;
            let shares = match lc
                .pointer("/presentation/transport_document")
                .and_then(Value::as_str)
            {
                Some(bl) => ctx.shares_for(bl, &[applicant]).await?,
                None => Vec::new(),
            };
            ctx.submit_sharing(
                Payload::Honour {
                    number,
                    payment_reference: payment_ref,
                },
                shares,
                json!({}),
            )
            .await
        }
        Lc::Refuse(x) => {
            ctx.submit(Payload::RefusePresentation { number: n(x) }, json!({}))
                .await
        }
        Lc::ConsentCancel(x) => {
            ctx.submit(Payload::ConsentToCancel { number: n(x) }, json!({}))
                .await
        }
        Lc::Cancel(x) => {
            ctx.submit(Payload::CancelCredit { number: n(x) }, json!({}))
                .await
        }
        Lc::Show(x) => {
            ctx.show_revealed(
                &format!("/v1/lc/{}", encode_segment(&x.number)),
                reveal::credit,
                output::credit,
            )
            .await
        }
        Lc::History(x) => {
            ctx.show(
                &format!("/v1/lc/{}/history", encode_segment(&x.number)),
                output::history,
            )
            .await
        }
    }
}

/// A party of the credit in the node's `/v1/lc/{number}` answer (`applicant`, `issuing_bank`).
fn credit_party(lc: &Value, role: &str) -> anyhow::Result<portledger_ledger::PublicKey> {
    serde_json::from_value(lc["terms"][role].clone())
        .map_err(|e| input_err(format!("the credit's {role} does not parse: {e}")))
}
