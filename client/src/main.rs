//! `portledger`: the client every participant uses. Keys never leave the client: it signs
//! locally and sends signed transactions to any node.
//!
//! Exit codes: 0 success; 1 the ledger refused (rule broken, not found, not permitted), with one
//! line on stderr naming the rule; 2 usage error; 3 node unreachable or timed out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use portledger_client::api::{encode_segment, NodeClient};
use portledger_client::error::ClientError;
use portledger_client::inputs::{self, CreditAmendmentInput, CreditApplication, DeclarationInput};
use portledger_client::load::LoadConfig;
use portledger_client::output;
use portledger_client::parties::Directory;
use portledger_client::tracking;
use portledger_client::verify;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::documents::tracking::TrackingCode;
use portledger_ledger::documents::transport::AmendmentReason;
use portledger_ledger::transaction::Endorsement;
use portledger_ledger::{keyfile, DocumentKey, Genesis, Hash, Keypair, Payload};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "portledger",
    version,
    about = "The portledger client: sign and submit trade document transactions",
    long_about = "The portledger client: sign and submit trade document transactions.\n\n\
        Parties are named by their registered alias (carrier, buyer, ...) or public key hex.\n\
        Exit codes: 0 ok; 1 the ledger refused (the rule is named on stderr), not found or not \
        permitted; 2 usage error; 3 node unreachable or timed out."
)]
struct Cli {
    /// The node's API.
    #[arg(
        long,
        global = true,
        env = "PORTLEDGER_NODE",
        default_value = "http://127.0.0.1:8080"
    )]
    node: String,
    /// The key file that signs.
    #[arg(long, global = true, env = "PORTLEDGER_KEY")]
    key: Option<PathBuf>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Return once the node accepted the transaction, without waiting for its block.
    #[arg(long, global = true)]
    no_wait: bool,
    /// Seconds to wait for a transaction to be committed.
    #[arg(long, global = true, default_value_t = 30)]
    wait_timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chain id, height, last block hash and time, validators and which are up, peers.
    Status,
    /// Writes a new ed25519 key file (mode 0600) and prints its public key in hex.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Transport documents (eBL, sea waybill).
    #[command(subcommand)]
    Bl(Bl),
    /// Letters of credit.
    #[command(subcommand)]
    Lc(Lc),
    /// Customs declarations.
    #[command(subcommand)]
    Customs(Customs),
    /// Freight (carrier).
    #[command(subcommand)]
    Freight(Freight),
    /// Delivery orders (carrier).
    #[command(subcommand)]
    DeliveryOrder(DeliveryOrder),
    /// Cargo release at the gate (port operator).
    #[command(subcommand)]
    Port(Port),
    /// Shipment tracking events: record, show a container's or a document's journey, follow.
    #[command(subcommand)]
    Track(Track),
    /// Anchored commercial documents.
    #[command(subcommand)]
    Doc(Doc),
    /// Blocks.
    #[command(subcommand)]
    Block(BlockCmd),
    /// Transactions.
    #[command(subcommand)]
    Tx(TxCmd),
    /// Fetches every block and checks hash links, transaction signatures and rules, and every
    /// commit certificate against genesis; prints the verified height.
    VerifyChain {
        /// Genesis file to trust (default: the node's `/v1/genesis`).
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Follows committed transactions live (server-sent events), optionally only those of one
    /// document or one party; one line per event (one JSON object per line with --json).
    Events {
        /// Only events touching this document (eBL reference, credit or declaration number,
        /// anchored hash).
        #[arg(long)]
        reference: Option<String>,
        /// Only events involving this party (alias or public key).
        #[arg(long)]
        party: Option<String>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Writes a self-contained proof of a document's history (its transactions, their blocks'
    /// headers, Merkle inclusion proofs and commit certificates).
    Proof {
        /// eBL reference, credit number or declaration number.
        reference: String,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verifies a proof written by `portledger proof` against a genesis file; needs no node.
    VerifyProof {
        /// The proof file.
        file: PathBuf,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
    },
    /// Load generator: registers fresh parties (signed by --key, the port operator's key),
    /// pre-signs realistic eBL issues, transfers and anchors, submits them at a fixed rate and
    /// reports submitted, committed, rejected, throughput and submit-to-final latency.
    Load(LoadArgs),
}

#[derive(Args)]
struct LoadArgs {
    /// Transactions per second to offer.
    #[arg(long)]
    rate: f64,
    /// Seconds of load.
    #[arg(long)]
    duration: f64,
    /// Parties submitting, each with its own nonce sequence (two per lane: a carrier and a
    /// trader).
    #[arg(long, default_value_t = 32)]
    parties: usize,
    /// More nodes to submit to besides --node (comma-separated URLs); lanes are spread over
    /// all of them. Commitment is followed on --node.
    #[arg(long, value_delimiter = ',')]
    also: Vec<String>,
    /// Seconds to wait after the last submission for outstanding commitments.
    #[arg(long, default_value_t = 30.0)]
    drain: f64,
    /// Seed of the generated party keys.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args)]
struct Reference {
    /// The document reference.
    reference: String,
}

#[derive(Args)]
struct Number {
    /// The credit or declaration number.
    number: String,
}

#[derive(Subcommand)]
enum Bl {
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
    /// Current state and possessor.
    Show(Reference),
    /// Every event with signer, block height and time.
    History(Reference),
}

#[derive(Subcommand)]
enum Lc {
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

#[derive(Subcommand)]
enum Customs {
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
}

#[derive(Args)]
struct NumberReason {
    /// Declaration number.
    number: String,
    /// Why.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Subcommand)]
enum Freight {
    /// Carrier confirms collect freight paid.
    Paid(Reference),
}

#[derive(Subcommand)]
enum DeliveryOrder {
    /// Carrier issues the delivery order.
    Issue {
        /// Transport document reference.
        reference: String,
        /// The party entitled to take delivery.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum Port {
    /// Port operator releases the cargo at the gate.
    Release {
        /// Transport document reference.
        reference: String,
        /// One container (default: all).
        #[arg(long)]
        container: Option<String>,
    },
}

#[derive(Subcommand)]
enum Track {
    /// Records a tracking event you saw: GTIN (port operator), LOAD (port operator or carrier),
    /// DEPA / ARRI (carrier), DISC (port operator or carrier). GTOT comes only from `port
    /// release`.
    Event {
        /// Transport document reference.
        reference: String,
        /// The container (ISO 6346), listed on the document.
        #[arg(long)]
        container: String,
        /// GTIN, LOAD, DEPA, ARRI or DISC.
        #[arg(long)]
        code: TrackingCode,
        /// Where it happened (UN/LOCODE).
        #[arg(long = "at")]
        location: String,
        /// When it happened: ISO 8601 date-time (UTC unless an offset is given) or date;
        /// default now. Never later than the block that records it.
        #[arg(long)]
        time: Option<String>,
    },
    /// Where the goods are: a document's containers (BLREF) or one container (--container):
    /// the current position, then every event.
    Show {
        /// Transport document reference.
        reference: Option<String>,
        /// A container (ISO 6346), over all documents.
        #[arg(long)]
        container: Option<String>,
    },
    /// Prints each new tracking event of a document (or one of its containers) as it is
    /// committed, until interrupted; one JSON object per line with --json.
    Follow {
        /// Transport document reference.
        reference: String,
        /// Only this container.
        #[arg(long)]
        container: Option<String>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
}

#[derive(Subcommand)]
enum Doc {
    /// Anchors FILE's SHA-256.
    Anchor {
        /// The file.
        file: PathBuf,
        /// commercial_invoice, packing_list, certificate_of_origin, inspection_certificate,
        /// insurance_certificate or other.
        #[arg(long = "type", value_parser = parse_doc_type)]
        doc_type: DocumentType,
        /// Related transport document or credit (repeat).
        #[arg(long = "ref")]
        refs: Vec<String>,
    },
    /// Is FILE anchored, by whom, when, still valid? Exit 1 when not anchored or revoked.
    Verify {
        /// The file.
        file: PathBuf,
    },
    /// The issuer revokes an anchored document.
    Revoke {
        /// SHA-256 hex.
        hash: String,
        /// The document that supersedes it.
        #[arg(long)]
        superseded_by: Option<String>,
    },
}

#[derive(Subcommand)]
enum BlockCmd {
    /// A block by height (or `latest`).
    Show {
        /// Height or `latest`.
        height: String,
    },
}

#[derive(Subcommand)]
enum TxCmd {
    /// A transaction by hash.
    Show {
        /// Transaction hash.
        hash: String,
    },
}

fn parse_doc_type(s: &str) -> Result<DocumentType, String> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
        "expected commercial_invoice, packing_list, certificate_of_origin, \
         inspection_certificate, insurance_certificate or other"
            .to_string()
    })
}

fn parse_amendment_reason(s: &str) -> Result<AmendmentReason, String> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| "expected switch_to_paper, change_of_destination or switch_bl".to_string())
}

/// What every command needs.
struct Ctx {
    node: NodeClient,
    key: Option<PathBuf>,
    json: bool,
    no_wait: bool,
    wait: Duration,
}

fn input_err(e: impl std::fmt::Display) -> anyhow::Error {
    ClientError::Input(e.to_string()).into()
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| input_err(format!("cannot read {}: {e}", path.display())))
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| input_err(format!("{} is not JSON: {e}", path.display())))
}

fn parse_hash(s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s).map_err(|e| input_err(format!("{s:?} is not a SHA-256 in hex: {e}")))
}

impl Ctx {
    fn key(&self) -> anyhow::Result<Keypair> {
        let path = self.key.as_ref().ok_or_else(|| {
            input_err("this command signs a transaction: give --key FILE (or set PORTLEDGER_KEY)")
        })?;
        keyfile::read(path).map_err(input_err)
    }

    async fn directory(&self) -> anyhow::Result<Directory> {
        Ok(Directory::fetch(&self.node).await?)
    }

    /// Signs, submits, waits (unless --no-wait) and prints; `extra` is merged into the output.
    async fn submit(&self, payload: Payload, extra: Value) -> anyhow::Result<()> {
        let key = self.key()?;
        let chain_id = self.node.chain_id().await?;
        let action = payload.action();
        let sub = self.node.submit_payload(&key, &chain_id, payload).await?;
        let mut out = json!({"tx_hash": sub.tx_hash, "action": action, "nonce": sub.nonce});
        if self.no_wait {
            out["status"] = json!(sub.status);
        } else {
            let c = self.node.wait_committed(&sub.tx_hash, self.wait).await?;
            out["status"] = json!("committed");
            out["height"] = json!(c.height);
            out["index"] = json!(c.index);
            out["time"] = json!(c.time);
        }
        if let (Value::Object(o), Value::Object(e)) = (&mut out, extra) {
            o.extend(e);
        }
        if self.json {
            println!("{out}");
        } else {
            for (k, v) in out.as_object().into_iter().flatten() {
                if ![
                    "tx_hash", "status", "height", "action", "time", "index", "nonce",
                ]
                .contains(&k.as_str())
                {
                    println!("{k} {}", output::plain(v));
                }
            }
            match out["height"].as_u64() {
                Some(h) => println!("{action} committed: tx {} at height {h}", sub.tx_hash),
                None => println!("{action} accepted ({}): tx {}", sub.status, sub.tx_hash),
            }
        }
        Ok(())
    }

    async fn show(&self, path: &str, human: fn(&Value) -> String) -> anyhow::Result<()> {
        let v = self.node.get(path).await?;
        if self.json {
            println!("{v}");
        } else {
            print!("{}", human(&v));
        }
        Ok(())
    }
}

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

async fn bl(ctx: &Ctx, cmd: Bl) -> anyhow::Result<()> {
    let seg = |r: &str| encode_segment(r);
    match cmd {
        Bl::Draft { file, render } => {
            let doc = transport_document(ctx, &file, render.as_ref()).await?;
            let extra = json!({"reference": doc.data.reference, "document_hash": doc.data.document_hash, "form": doc.form});
            ctx.submit(Payload::DraftTransportDocument(Box::new(doc.data)), extra)
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
            let (reference, document, issue_to, extra) = match (reference, file) {
                (_, Some(file)) => {
                    let doc = transport_document(ctx, &file, render.as_ref()).await?;
                    let extra = json!({"reference": doc.data.reference, "document_hash": doc.data.document_hash, "form": doc.form});
                    (
                        doc.data.reference.clone(),
                        Some(Box::new(doc.data)),
                        to.or(doc.issue_to),
                        extra,
                    )
                }
                (Some(r), None) => (r.clone(), None, to, json!({"reference": r})),
                (None, None) => return Err(input_err("give a draft's REF or --file FILE")),
            };
            ctx.submit(
                Payload::IssueTransportDocument {
                    reference,
                    document,
                    issue_to,
                },
                extra,
            )
            .await
        }
        Bl::Transfer { reference, to } => {
            let to = ctx.directory().await?.resolve(&to)?;
            ctx.submit(Payload::Transfer { reference, to }, json!({}))
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
            ctx.submit(Payload::Endorse { reference, to }, json!({}))
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
        Bl::Show(r) => {
            ctx.show(
                &format!("/v1/bl/{}", seg(&r.reference)),
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
    }
}

async fn lc(ctx: &Ctx, cmd: Lc) -> anyhow::Result<()> {
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
            let currency = lc["currency"].as_str().unwrap_or("USD").to_string();
            let changes = input.to_amendment(&currency)?;
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
            ctx.submit(
                Payload::PresentDocuments {
                    number,
                    transport_document: bl,
                    documents,
                },
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
            ctx.submit(
                Payload::Honour {
                    number,
                    payment_reference: payment_ref,
                },
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
            ctx.show(
                &format!("/v1/lc/{}", encode_segment(&x.number)),
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

async fn customs(ctx: &Ctx, cmd: Customs) -> anyhow::Result<()> {
    match cmd {
        Customs::Declare { file } => {
            let input = DeclarationInput::parse(read_json(&file)?)?;
            let key = ctx.key()?;
            let data = input.to_data(&ctx.directory().await?, &key.public())?;
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
            let currency = match currency {
                Some(c) => c,
                None => {
                    let d = ctx
                        .node
                        .get(&format!("/v1/customs/{}", encode_segment(&number)))
                        .await?;
                    d.pointer("/declaration/lines/0/currency")
                        .and_then(Value::as_str)
                        .ok_or_else(|| input_err("give --currency: the declaration has no lines"))?
                        .to_string()
                }
            };
            let amount_minor = inputs::parse_amount("--duty", &duty, &currency)?;
            ctx.submit(
                Payload::AssessDuty {
                    number,
                    amount_minor,
                    currency,
                },
                json!({}),
            )
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
            ctx.show(
                &format!("/v1/customs/{}", encode_segment(&x.number)),
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
    }
}

async fn track(ctx: &Ctx, cmd: Track) -> anyhow::Result<()> {
    match cmd {
        Track::Event {
            reference,
            container,
            code,
            location,
            time,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let event_time_ms = tracking::event_time_ms(time.as_deref(), now).map_err(input_err)?;
            ctx.submit(
                Payload::RecordTrackingEvent {
                    reference,
                    container,
                    code,
                    location,
                    event_time_ms,
                },
                json!({}),
            )
            .await
        }
        Track::Show {
            reference,
            container,
        } => {
            let path = match (reference, container) {
                (Some(r), None) => format!("/v1/bl/{}/tracking", encode_segment(&r)),
                (None, Some(c)) => format!("/v1/containers/{}", encode_segment(&c)),
                _ => {
                    return Err(input_err(
                        "give a transport document BLREF or --container ID",
                    ))
                }
            };
            ctx.show(&path, tracking::timeline).await
        }
        Track::Follow {
            reference,
            container,
            count,
        } => {
            let mut filters = vec![("reference", reference.as_str())];
            if let Some(c) = &container {
                filters.push(("container", c.as_str()));
            }
            let mut seen = 0u64;
            let json_lines = ctx.json;
            ctx.node
                .follow_events_where(
                    &filters,
                    || eprintln!("following tracking events of {reference} (Ctrl-C to stop)"),
                    |committed| {
                        for e in tracking::followed_events(&committed, container.as_deref()) {
                            if json_lines {
                                println!("{e}");
                            } else {
                                println!("{}", tracking::follow_line(&e));
                            }
                            seen += 1;
                        }
                        count.is_none_or(|c| seen < c)
                    },
                )
                .await?;
            Ok(())
        }
    }
}

async fn doc(ctx: &Ctx, cmd: Doc) -> anyhow::Result<()> {
    match cmd {
        Doc::Anchor {
            file,
            doc_type,
            refs,
        } => {
            let hash = Hash::of(&read_file(&file)?);
            ctx.submit(
                Payload::AnchorDocument {
                    hash,
                    doc_type,
                    references: refs,
                },
                json!({"hash": hash}),
            )
            .await
        }
        Doc::Verify { file } => {
            let hash = Hash::of(&read_file(&file)?);
            match ctx.node.get(&format!("/v1/documents/{hash}")).await {
                Ok(v) => {
                    if ctx.json {
                        println!("{}", json!({"anchored": true, "document": v}));
                    } else {
                        print!("{}", output::anchored(&v));
                    }
                    if v["revoked"] == Value::Bool(true) {
                        return Err(ClientError::Refused {
                            status: 200,
                            code: "revoked".into(),
                            message: format!(
                                "{} ({hash}) was revoked by its issuer",
                                file.display()
                            ),
                            fields: serde_json::Value::Null,
                        }
                        .into());
                    }
                    Ok(())
                }
                Err(ClientError::Refused { status: 404, .. }) => {
                    if ctx.json {
                        println!("{}", json!({"anchored": false, "hash": hash}));
                    }
                    Err(ClientError::Refused {
                        status: 404,
                        code: "not_anchored".into(),
                        message: format!(
                            "{} ({hash}) is not anchored on the ledger",
                            file.display()
                        ),
                        fields: serde_json::Value::Null,
                    }
                    .into())
                }
                Err(e) => Err(e.into()),
            }
        }
        Doc::Revoke {
            hash,
            superseded_by,
        } => {
            let hash = parse_hash(&hash)?;
            let superseded_by = superseded_by.map(|h| parse_hash(&h)).transpose()?;
            ctx.submit(
                Payload::RevokeDocument {
                    hash,
                    superseded_by,
                },
                json!({}),
            )
            .await
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx {
        node: NodeClient::new(&cli.node)?,
        key: cli.key,
        json: cli.json,
        no_wait: cli.no_wait,
        wait: Duration::from_secs(cli.wait_timeout),
    };
    match cli.command {
        Command::Status => ctx.show("/v1/status", output::status).await,
        Command::Keygen { out } => {
            let key = Keypair::generate();
            keyfile::write(&out, &key).map_err(|e| input_err(format!("{}: {e}", out.display())))?;
            if ctx.json {
                println!("{}", json!({"public_key": key.public(), "file": out}));
            } else {
                println!("{}", key.public());
            }
            Ok(())
        }
        Command::Bl(c) => bl(&ctx, c).await,
        Command::Lc(c) => lc(&ctx, c).await,
        Command::Customs(c) => customs(&ctx, c).await,
        Command::Freight(Freight::Paid(r)) => {
            ctx.submit(
                Payload::ConfirmFreightPaid {
                    reference: r.reference,
                },
                json!({}),
            )
            .await
        }
        Command::DeliveryOrder(DeliveryOrder::Issue { reference, to }) => {
            let to = ctx.directory().await?.resolve(&to)?;
            ctx.submit(Payload::IssueDeliveryOrder { reference, to }, json!({}))
                .await
        }
        Command::Port(Port::Release {
            reference,
            container,
        }) => {
            ctx.submit(
                Payload::ReleaseCargo {
                    reference,
                    container,
                },
                json!({}),
            )
            .await
        }
        Command::Track(c) => track(&ctx, c).await,
        Command::Doc(c) => doc(&ctx, c).await,
        Command::Block(BlockCmd::Show { height }) => {
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
        Command::Tx(TxCmd::Show { hash }) => {
            let h = parse_hash(&hash)?;
            ctx.show(&format!("/v1/transactions/{h}"), output::transaction)
                .await
        }
        Command::VerifyChain { genesis } => {
            let genesis = match genesis {
                Some(p) => {
                    let text = String::from_utf8(read_file(&p)?)
                        .map_err(|_| input_err(format!("{} is not UTF-8", p.display())))?;
                    Genesis::from_json(&text)
                        .map_err(|e| input_err(format!("{}: {e}", p.display())))?
                }
                None => ctx.node.genesis().await?,
            };
            let report = verify::verify_chain(&ctx.node, genesis).await?;
            if ctx.json {
                println!("{}", serde_json::to_value(&report)?);
            } else {
                println!(
                    "verified chain {} up to height {} ({} transactions; last block {})",
                    report.chain_id,
                    report.verified_height,
                    report.transactions,
                    report.last_block_hash
                );
            }
            Ok(())
        }
        Command::Events {
            reference,
            party,
            count,
        } => {
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
        Command::Proof { reference, out } => {
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
        Command::Load(a) => load(&ctx, a).await,
        Command::VerifyProof { file, genesis } => {
            let text = String::from_utf8(read_file(&genesis)?)
                .map_err(|_| input_err(format!("{} is not UTF-8", genesis.display())))?;
            let genesis = Genesis::from_json(&text)
                .map_err(|e| input_err(format!("{}: {e}", genesis.display())))?;
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
    }
}

async fn load(ctx: &Ctx, a: LoadArgs) -> anyhow::Result<()> {
    let port = ctx.key()?;
    let mut nodes = vec![ctx.node.base().to_string()];
    nodes.extend(a.also.iter().map(|n| n.trim_end_matches('/').to_string()));
    let config = LoadConfig {
        nodes,
        rate: a.rate,
        duration: a.duration,
        parties: a.parties,
        drain: a.drain,
        seed: a.seed,
        progress: !ctx.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let r = portledger_client::load::run(&config, &port).await?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "offered {:.0} tx/s for {:.0} s from {} parties to {} node(s)",
        r.rate,
        r.duration_s,
        r.parties,
        r.nodes.len()
    );
    println!(
        "submitted {}  accepted {}  rejected {}  errors {}  retried (mempool full) {}",
        r.submitted, r.accepted, r.rejected, r.errors, r.retries
    );
    for (code, n) in &r.rejected_by_code {
        println!("  rejected {code}: {n}");
    }
    println!(
        "committed {} ({} seen only afterwards)  throughput {:.0} tx/s  (sent {:.0} tx/s)",
        r.committed, r.committed_unobserved, r.throughput_tps, r.submitted_tps
    );
    let l = r.latency_ms;
    println!(
        "submit-to-final latency ms: p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}",
        l.p50, l.p90, l.p99, l.max
    );
    if r.committed < r.accepted {
        println!(
            "{} accepted transactions were not committed within the drain time",
            r.accepted - r.committed
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = if matches!(cli.command, Command::Load(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder
        .enable_all()
        .build()
        .context("starting the async runtime")
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portledger: {e:#}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<ClientError>())
                .map_or(1, ClientError::exit_code);
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("portledger: {line}");
            ExitCode::from(code)
        }
    }
}
