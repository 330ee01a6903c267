//! `portledger-node`: runs a portledger validator.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portledger_ledger::{keyfile, Keypair};
use portledger_node::bench::{self, BenchOptions};
use portledger_node::config::NodeConfig;
use portledger_node::testnet::{self, TestnetOptions};

#[derive(Parser)]
#[command(
    name = "portledger-node",
    version,
    about = "Runs a portledger validator node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a new ed25519 key file (mode 0600) and prints its public key in hex.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes a ready local network: DIR/genesis.json, DIR/node-<i>/, DIR/keys/<alias>.key.
    Testnet {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Folder to write (must not hold a testnet already).
        #[arg(long)]
        out: PathBuf,
        /// Node i listens for peers on 127.0.0.1:(P+i).
        #[arg(long, default_value_t = 7000)]
        p2p_port: u16,
        /// Node i serves its API on 127.0.0.1:(A+i).
        #[arg(long, default_value_t = 8080)]
        api_port: u16,
    },
    /// Runs one node from its folder until SIGINT or SIGTERM.
    Start {
        /// The node's folder (config.toml, node.key, genesis.json, data/).
        #[arg(long)]
        home: PathBuf,
    },
    /// Zero setup: creates a 4-validator testnet in DIR if absent and runs all of it in this
    /// process; node 0's API is on 127.0.0.1:8080.
    Dev {
        /// Folder of the testnet.
        #[arg(long, default_value = "./devnet")]
        home: PathBuf,
    },
    /// Measures, in one run on this machine: the ceiling (batch signature verification on all
    /// cores plus sled commits, no network), one validator's full pipeline, and N validators as
    /// processes on loopback (saturation throughput, then finality latency at half that rate).
    Bench {
        /// Validators of the network measurement.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Transactions of the ceiling measurement (and at least as many offered per load run).
        #[arg(long, default_value_t = 20_000)]
        txs: usize,
        /// Seconds of load per load run (at least).
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Parties of the load generator (two per lane; each lane sends one request at a
        /// time, so enough lanes are needed to offer more than the network commits).
        #[arg(long, default_value_t = 256)]
        parties: usize,
        /// Keep the testnets and node logs in this folder.
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Rate of the latency run (tx/s) instead of half the saturated rate, so that runs of
        /// different code compare at the same load.
        #[arg(long)]
        latency_rate: Option<f64>,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn env_vars() -> Vec<(String, String)> {
    std::env::vars().collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            keyfile::write(&out, &key).with_context(|| format!("writing {}", out.display()))?;
            println!("{}", key.public());
        }
        Command::Testnet {
            validators,
            out,
            p2p_port,
            api_port,
        } => {
            let nodes = testnet::create(
                &out,
                &TestnetOptions {
                    validators,
                    p2p_port,
                    api_port,
                    ..TestnetOptions::default()
                },
            )?;
            println!("testnet written to {}", out.display());
            for (i, n) in nodes.iter().enumerate() {
                println!(
                    "node-{i}: api http://{} p2p {} home {}",
                    n.api,
                    n.p2p,
                    n.home.display()
                );
            }
            println!("demo keys: {}/keys/<alias>.key", out.display());
        }
        Command::Start { home } => {
            let cfg = NodeConfig::load(&home, env_vars())?;
            init_logging(&cfg.log_level);
            let node = portledger_node::node::start(cfg).await?;
            wait_for_signal().await;
            tracing::info!("signal received, shutting down");
            node.stop().await?;
        }
        Command::Bench {
            validators,
            txs,
            duration,
            parties,
            keep,
            latency_rate,
            json,
        } => {
            let opts = BenchOptions {
                validators,
                txs,
                duration,
                parties,
                keep,
                latency_rate,
                verbose: !json,
            };
            let report = bench::run(&opts).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", bench::render(&report));
            }
        }
        Command::Dev { home } => {
            init_logging(&std::env::var("PORTLEDGER_LOG_LEVEL").unwrap_or_else(|_| "info".into()));
            if !home.join("genesis.json").exists() {
                testnet::create(&home, &TestnetOptions::default())?;
                eprintln!("created a 4-validator testnet in {}", home.display());
            }
            let mut running = Vec::new();
            for n in testnet::nodes(&home)? {
                let cfg = NodeConfig::load(&n.home, env_vars())?;
                running.push(portledger_node::node::start(cfg).await?);
            }
            eprintln!(
                "devnet running: node 0 API on http://{}; demo keys in {}/keys; Ctrl-C stops it",
                running[0].api_addr,
                home.display()
            );
            wait_for_signal().await;
            for n in running {
                n.stop().await?;
            }
        }
    }
    Ok(())
}
