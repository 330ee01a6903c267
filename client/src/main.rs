//! `portledger`: the client every participant uses. Keys never leave the client: it signs
//! locally and sends signed transactions to any node.
//!
//! Exit codes: 0 success; 1 the ledger refused (rule broken, not found, not permitted), with one
//! line on stderr naming the rule; 2 usage error; 3 node unreachable or timed out.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cli::bl::{Bl, DeliveryOrder, Freight, Port};
use cli::chain::{BlockCmd, TxCmd};
use cli::context::Ctx;
use cli::customs::Customs;
use cli::doc::Doc;
use cli::gov::{self, Gov};
use cli::lc::Lc;
use cli::load::LoadArgs;
use cli::participant::{self, ParticipantCmd};
use cli::party::{self, Party};
use cli::track::Track;
use cli::{bl, case, chain, customs, doc, keygen, lc, load, track};
use portledger_client::api::NodeClient;
use portledger_client::error::ClientError;

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
    /// The case of a transport document: a summary first (each container released to whom
    /// and when, or the release conditions it does not meet), then the document and its
    /// possession chain, credits, customs declarations, anchored documents and containers.
    Case {
        /// Transport document reference.
        reference: String,
    },
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
    /// Participants: an organisation onboards and revokes its own people (the port operator
    /// anyone's).
    #[command(subcommand)]
    Participant(ParticipantCmd),
    /// Governance: validator organisations propose and vote on new organisations, validator
    /// seats and consensus parameters.
    #[command(subcommand)]
    Gov(Gov),
    /// The party directory: DCSA party codes and names claimed for participants.
    #[command(subcommand)]
    Party(Party),
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
    /// Writes a self-contained proof of a document: its whole history (transactions, their
    /// blocks' headers, Merkle inclusion proofs, commit certificates) and its current record,
    /// proven against the state root of the latest certified block. `--case` proves the whole
    /// case of a transport document (its credits, declarations and anchored documents too).
    Proof {
        /// eBL reference, credit number, declaration number or anchored document hash.
        reference: String,
        /// Prove the whole case of the transport document `reference`.
        #[arg(long)]
        case: bool,
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
        /// Refuse a proof whose state is older than this time (RFC 3339, e.g.
        /// 2026-12-02T10:00:00Z).
        #[arg(long)]
        not_before: Option<String>,
    },
    /// Load generator: registers fresh parties (signed by --key, the port operator's key),
    /// pre-signs realistic eBL issues, transfers and anchors, submits them at a fixed rate and
    /// reports submitted, committed, rejected, throughput and submit-to-final latency.
    Load(LoadArgs),
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut node = NodeClient::new(&cli.node)?;
    if let (Some(path), false) = (&cli.key, matches!(cli.command, Command::Keygen { .. })) {
        // Every request is signed with --key (reads of document data need it).
        let key = portledger_ledger::keyfile::read(path)
            .map_err(|e| ClientError::Input(format!("--key {}: {e}", path.display())))?;
        node = node.signed_by(key);
    }
    let ctx = Ctx {
        node,
        key: cli.key,
        json: cli.json,
        no_wait: cli.no_wait,
        wait: Duration::from_secs(cli.wait_timeout),
    };
    match cli.command {
        Command::Status => chain::status(&ctx).await,
        Command::Keygen { out } => keygen::run(&ctx, out),
        Command::Bl(c) => bl::run(&ctx, c).await,
        Command::Case { reference } => case::show(&ctx, &reference).await,
        Command::Lc(c) => lc::run(&ctx, c).await,
        Command::Customs(c) => customs::run(&ctx, c).await,
        Command::Freight(c) => bl::freight(&ctx, c).await,
        Command::DeliveryOrder(c) => bl::delivery_order(&ctx, c).await,
        Command::Port(c) => bl::port(&ctx, c).await,
        Command::Track(c) => track::run(&ctx, c).await,
        Command::Doc(c) => doc::run(&ctx, c).await,
        Command::Participant(c) => participant::run(&ctx, c).await,
        Command::Party(c) => party::run(&ctx, c).await,
        Command::Gov(c) => gov::run(&ctx, c).await,
        Command::Block(c) => chain::block(&ctx, c).await,
        Command::Tx(c) => chain::tx(&ctx, c).await,
        Command::VerifyChain { genesis } => chain::verify_chain(&ctx, genesis).await,
        Command::Events {
            reference,
            party,
            count,
        } => chain::events(&ctx, reference, party, count).await,
        Command::Proof {
            reference,
            case,
            out,
        } => chain::proof(&ctx, reference, case, out).await,
        Command::Load(a) => load::run(&ctx, a).await,
        Command::VerifyProof {
            file,
            genesis,
            not_before,
        } => chain::verify_proof(&ctx, file, genesis, not_before),
    }
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
