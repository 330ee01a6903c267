//! Transport documents (eBL, sea waybill): the `bl` commands from draft to surrender, void,
//! show and history, and the carrier's and port operator's steps on a document in force:
//! `freight paid`, `delivery-order issue` and `port release`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use portledger_client::api::encode_segment;
use portledger_client::inputs;
use portledger_client::output;
use portledger_client::reveal;
use portledger_client::ClientError;
use portledger_ledger::documents::transport::AmendmentReason;
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::Payload;
use serde_json::{json, Value};

use super::context::{input_err, read_file, read_json, Ctx, Reference};

/// The `bl` subcommands: a transport document from draft to surrender or void.
#[derive(Subcommand)]
pub enum Bl {
    /// Carrier drafts a transport document from FILE (native JSON or DCSA eBL 3.0).
    Draft {
        /// The document: native JSON, a DCSA TransportDocument, or a DCSA issuance request.
        #[arg(long)]
        file: PathBuf,
        /// The rendered document whose SHA-256 the record pins (default: the canonical JSON of FILE).
        #[arg(long)]
        render: Option<PathBuf>,
    },
    /// Shipper approves a draft.
    Approve(Reference),
    /// Carrier issues: REF (an approved draft) or --file FILE (directly); prints the reference.
    Issue {
        /// Reference of an existing draft.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        reference: Option<String>,
        /// The document: native JSON, a DCSA TransportDocument, or a DCSA issuance request.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The first possessor (default: the issuance request's issueTo, else the shipper).
        #[arg(long)]
        to: Option<String>,
        /// The rendered document whose SHA-256 the record pins (default: the canonical JSON of FILE).
        #[arg(long)]
        render: Option<PathBuf>,
    },
    /// Possessor transfers possession.
    Transfer {
        /// Reference.
        reference: String,
        /// New possessor.
        #[arg(long)]
        to: String,
    },
    /// Possessor-endorsee endorses a to-order eBL to a party, or in blank.
    Endorse {
        /// Reference.
        reference: String,
        /// New endorsee.
        #[arg(long, required_unless_present = "blank", conflicts_with = "blank")]
        to: Option<String>,
        /// Endorse in blank (a bearer document).
        #[arg(long)]
        blank: bool,
    },
    /// Entitled holder requests surrender for delivery.
    Surrender(Reference),
    /// Carrier accepts the pending surrender.
    AcceptSurrender(Reference),
    /// Carrier rejects the pending surrender.
    RejectSurrender {
        /// Reference.
        reference: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Possessor requests surrender for amendment.
    AmendRequest {
        /// Reference.
        reference: String,
        /// switch_to_paper, change_of_destination or switch_bl.
        #[arg(long, value_parser = parse_amendment_reason)]
        reason: AmendmentReason,
    },
    /// Carrier voids a document surrendered for amendment.
    Void(Reference),
    /// The party just handed an eBL whose copy does not open (or does not match its record)
    /// hands it back to the party it came from, within 24 hours and before acting on it.
    HandBack {
        /// Reference.
        reference: String,
        /// Why (default: what opening it with --key says).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Current state and possessor; --dcsa prints the kept DCSA document instead.
    Show {
        /// Reference.
        reference: String,
        /// Print the DCSA document the record keeps, exactly: its canonical JSON (RFC 8785),
        /// whose SHA-256 is the record's document hash.
        #[arg(long)]
        dcsa: bool,
    },
    /// Every event with signer, block height and time.
    History(Reference),
    /// Every customs declaration (import and export) naming the document, with its state.
    Declarations(Reference),
}

/// The `freight` subcommands.
#[derive(Subcommand)]
pub enum Freight {
    /// Carrier confirms collect freight paid.
    Paid(Reference),
}

/// The `delivery-order` subcommands.
#[derive(Subcommand)]
pub enum DeliveryOrder {
    /// Carrier issues the delivery order.
    Issue {
        /// Transport document reference.
        reference: String,
        /// The party entitled to take delivery.
        #[arg(long)]
        to: String,
    },
}

/// The `port` subcommands.
#[derive(Subcommand)]
pub enum Port {
    /// Port operator releases the cargo at the gate.
    Release {
        /// Transport document reference.
        reference: String,
        /// One container (default: all).
        #[arg(long)]
        container: Option<String>,
    },
}

/// A transport document argument: `switch_to_paper`, `change_of_destination` or `switch_bl`.
pub fn parse_amendment_reason(s: &str) -> Result<AmendmentReason, String> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| "expected switch_to_paper, change_of_destination or switch_bl".to_string())
}

/// Reads a transport document FILE (native JSON or DCSA eBL 3.0), resolving its parties
/// and pinning the rendering (`--render`) or its canonical JSON; checks it before signing.
async fn transport_document(
    ctx: &Ctx,
    file: &Path,
    render: Option<&PathBuf>,
) -> anyhow::Result<inputs::TransportDocumentFile> {
    let v = read_json(file)?;
    let rendered = render.map(|p| read_file(p)).transpose()?;
    let dir = ctx.directory().await?;
    let doc = inputs::transport_document(v, &dir, rendered.as_deref())?;
    doc.data
        .validate()
        .map_err(|e| input_err(format!("{}: {e}", file.display())))?;
    Ok(doc)
}

/// What `bl draft` / `bl issue --file` print beside the transaction: the reference, the
/// document hash, the input form, and what a DCSA document "should" hold and does not (accepted;
/// printed on success only, so a refusal stays one line on stderr).
fn issued_extra(doc: &inputs::TransportDocumentFile) -> Value {
    let mut extra = json!({"reference": doc.data.reference, "document_hash": doc.data.document_hash, "form": doc.form});
    if !doc.warnings.is_empty() {
        extra["warnings"] = json!(doc.warnings);
    }
    extra
}

/// Runs a `bl` command.
pub async fn run(ctx: &Ctx, cmd: Bl) -> anyhow::Result<()> {
    let seg = |r: &str| encode_segment(r);
    match cmd {
        Bl::Draft { file, render } => {
            let doc = transport_document(ctx, &file, render.as_ref()).await?;
            let extra = issued_extra(&doc);
            let sealed = ctx.seal_document(&doc.data, &[]).await?;
            ctx.submit(Payload::DraftTransportDocument(Box::new(sealed)), extra)
                .await
        }
        Bl::Approve(r) => {
            ctx.submit(
                Payload::ApproveDraft {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
        Bl::Issue {
            reference,
            file,
            to,
            render,
        } => {
            let dir = ctx.directory().await?;
            let to = to.map(|t| dir.resolve(&t)).transpose()?;
            let (reference, document, issue_to, shares, extra) = match (reference, file) {
                (_, Some(file)) => {
                    let doc = transport_document(ctx, &file, render.as_ref()).await?;
                    let extra = issued_extra(&doc);
                    let issue_to = to.or(doc.issue_to);
                    let first: Vec<_> = issue_to.into_iter().collect();
                    let sealed = ctx.seal_document(&doc.data, &first).await?;
                    (
                        doc.data.reference.clone(),
                        Some(Box::new(sealed)),
                        issue_to,
                        Vec::new(),
                        extra,
                    )
                }
                (Some(r), None) => {
                    let first: Vec<_> = to.into_iter().collect();
                    let shares = ctx.shares_for(&r, &first).await?;
                    (r.clone(), None, to, shares, json!({"reference": r}))
                }
                (None, None) => return Err(input_err("give a draft's REF or --file FILE")),
            };
            ctx.submit_sharing(
                Payload::IssueTransportDocument {
                    reference,
                    document,
                    issue_to,
                },
                shares,
                extra,
            )
            .await
        }
        Bl::Transfer { reference, to } => {
            let to = ctx.directory().await?.resolve(&to)?;
            let shares = ctx.shares_for(&reference, &[to]).await?;
            ctx.submit_sharing(Payload::Transfer { reference, to }, shares, json!({}))
                .await
        }
        Bl::Endorse {
            reference,
            to,
            blank,
        } => {
            let to = match (to, blank) {
                (_, true) => Endorsement::Blank,
                (Some(t), false) => Endorsement::To(ctx.directory().await?.resolve(&t)?),
                (None, false) => return Err(input_err("give --to PARTY or --blank")),
            };
            let shares = match to {
                Endorsement::To(p) => ctx.shares_for(&reference, &[p]).await?,
                Endorsement::Blank => Vec::new(),
            };
            ctx.submit_sharing(Payload::Endorse { reference, to }, shares, json!({}))
                .await
        }
        Bl::Surrender(r) => {
            ctx.submit(
                Payload::SurrenderForDelivery {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
        Bl::AcceptSurrender(r) => {
            ctx.submit(
                Payload::AcceptSurrender {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
        Bl::RejectSurrender { reference, reason } => {
            ctx.submit(Payload::RejectSurrender { reference, reason }, json!({}))
                .await
        }
        Bl::AmendRequest { reference, reason } => {
            ctx.submit(
                Payload::SurrenderForAmendment { reference, reason },
                json!({}),
            )
            .await
        }
        Bl::Void(r) => {
            ctx.submit(
                Payload::VoidTransportDocument {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
        Bl::HandBack { reference, reason } => {
            let reason = match reason {
                Some(r) => r,
                None => {
                    let v = ctx.node.get(&format!("/v1/bl/{}", seg(&reference))).await?;
                    match reveal::transport_key(&v, &ctx.key()?) {
                        Ok(_) => {
                            return Err(input_err(format!(
                                "{reference} opens with this key and matches its record; give --reason to hand it back anyway"
                            )))
                        }
                        Err(e) => e.to_string(),
                    }
                }
            };
            ctx.submit(Payload::HandBack { reference, reason }, json!({}))
                .await
        }
        Bl::Show { reference, dcsa } if dcsa => {
            let mut v = ctx.node.get(&format!("/v1/bl/{}", seg(&reference))).await?;
            let reader = ctx.reader()?;
            if reader.is_none() {
                return Err(input_err(
                    "the DCSA document is sealed: give --key to open it with your key",
                ));
            }
            reveal::transport_document(&mut v, reader.as_ref());
            if let Some(e) = v["sealed"]
                .as_str()
                .filter(|s| s.starts_with("not readable"))
            {
                return Err(input_err(format!("{reference}: {e}")));
            }
            let Some(text) = v
                .pointer("/document/dcsa/canonical_json")
                .and_then(Value::as_str)
            else {
                return Err(ClientError::Refused {
                    status: 404,
                    code: "not_found".into(),
                    message: format!("{reference} was not issued from a DCSA document"),
                    fields: Value::Null,
                }
                .into());
            };
            // Exactly the kept bytes, no newline added: their SHA-256 is the document hash.
            print!("{text}");
            Ok(())
        }
        Bl::Show { reference, .. } => {
            ctx.show_revealed(
                &format!("/v1/bl/{reference}", reference = seg(&reference)),
                reveal::transport_document,
                output::transport_document,
            )
            .await
        }
        Bl::History(r) => {
            ctx.show(
                &format!("/v1/bl/{}/history", seg(&r.reference)),
                output::history,
            )
            .await
        }
        Bl::Declarations(r) => super::case::declarations(ctx, &r.reference).await,
    }
}

/// Runs a `freight` command.
pub async fn freight(ctx: &Ctx, cmd: Freight) -> anyhow::Result<()> {
    match cmd {
        Freight::Paid(r) => {
            ctx.submit(
                Payload::ConfirmFreightPaid {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
    }
}

/// Runs a `delivery-order` command.
pub async fn delivery_order(ctx: &Ctx, cmd: DeliveryOrder) -> anyhow::Result<()> {
    match cmd {
        DeliveryOrder::Issue { reference, to } => {
            let to = ctx.directory().await?.resolve(&to)?;
            ctx.submit(Payload::IssueDeliveryOrder { reference, to }, json!({}))
                .await
        }
    }
}

/// Runs a `port` command.
pub async fn port(ctx: &Ctx, cmd: Port) -> anyhow::Result<()> {
    match cmd {
        Port::Release {
            reference,
            container,
        } => {
            ctx.submit(
                Payload::ReleaseCargo {
                    reference,
                    container,
                },
                json!({}),
            )
            .await
        }
    }
}
