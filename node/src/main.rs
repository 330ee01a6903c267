//! `portledger-node`: runs a portledger validator.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portledger_ledger::genesis::{ConsensusParams, Role};
use portledger_ledger::{keyfile, Genesis, Keypair};
use portledger_node::bench::{self, BenchOptions};
use portledger_node::config::NodeConfig;
use portledger_node::consortium::{self, InitOptions, NodeOptions, OrgDescription};
use portledger_node::network::PeerAddr;
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
    /// Sets up one organisation in its own home, with no shared secrets: its node key (consensus
    /// key and libp2p identity), its first participants' keys (HOME/keys/<alias>.key), a
    /// commented config.toml, and its public description (HOME/organisation.json, also printed)
    /// to hand to whoever assembles the genesis.
    Init {
        /// The organisation's folder (created; must not hold an organisation).
        #[arg(long)]
        home: PathBuf,
        /// The organisation's unique name on the ledger.
        #[arg(long)]
        org: String,
        /// Its role: port_operator, carrier, bank, customs or trader.
        #[arg(long, value_parser = consortium::parse_role)]
        role: Role,
        /// Its node votes in consensus.
        #[arg(long)]
        validator: bool,
        /// A first participant's alias (repeatable); default: the organisation's name.
        #[arg(long = "participant")]
        participants: Vec<String>,
        /// Where the other nodes reach this one: HOST:PORT (a DNS name) or IP:PORT.
        #[arg(long, default_value = "127.0.0.1:7000")]
        address: PeerAddr,
        /// Where libp2p listens (default: the address when it is an IP, else 0.0.0.0 at its port).
        #[arg(long)]
        p2p_listen: Option<SocketAddr>,
        /// Where the HTTP API listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        api_listen: SocketAddr,
    },
    /// Assembles a genesis from the organisations' public descriptions alone (validators in the
    /// order given); `genesis verify` checks one.
    #[command(args_conflicts_with_subcommands = true)]
    Genesis {
        #[command(subcommand)]
        verify: Option<GenesisCommand>,
        /// The chain's id.
        #[arg(long)]
        chain_id: Option<String>,
        /// An organisation's description file (repeatable; validators propose in this order).
        #[arg(long = "org")]
        orgs: Vec<PathBuf>,
        /// Where to write the genesis (never overwritten).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Genesis time in milliseconds since the Unix epoch (default: now).
        #[arg(long)]
        genesis_time_ms: Option<u64>,
        /// Consensus timeout_base_ms (default 1000).
        #[arg(long)]
        timeout_base_ms: Option<u64>,
        /// Consensus heartbeat_ms: an idle chain commits an empty block this often (default 10000).
        #[arg(long)]
        heartbeat_ms: Option<u64>,
    },
    /// Sets up the node of an organisation that joins after genesis: installs the genesis (which
    /// does not list it) and takes its peers from the members' descriptions. The validators then
    /// admit it by vote (`portledger gov propose ID add-org --file HOME/organisation.json`);
    /// until then its node may not connect and keeps trying.
    Join {
        /// The organisation's folder (from `init`).
        #[arg(long)]
        home: PathBuf,
        /// The consortium's genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The members' description files (repeatable): checked against genesis, their nodes
        /// become the peers.
        #[arg(long = "org")]
        orgs: Vec<PathBuf>,
    },
    /// Starts rotating this node's key: writes `next-node.key` beside `node.key` (never over one)
    /// and prints the rotation both keys signed, for a participant of the organisation to submit
    /// (`portledger gov rotate-node-key --file FILE`). The node signs with the new key from the
    /// height the ledger seats it (4 heights after the rotation's block); restarted after that,
    /// it runs under the new key altogether.
    RotateKey {
        /// The node's folder.
        #[arg(long)]
        home: PathBuf,
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

#[derive(Subcommand)]
enum GenesisCommand {
    /// Checks a genesis and prints what it says and its hash (compare it with the other
    /// organisations'); with --home, checks that it lists that organisation exactly as its
    /// description says and installs it there; with --org files, checks them too and writes
    /// their nodes as the home's peers.
    Verify {
        /// The genesis file.
        genesis: PathBuf,
        /// This organisation's home (from `init`).
        #[arg(long)]
        home: Option<PathBuf>,
        /// The other organisations' description files (repeatable).
        #[arg(long = "org")]
        orgs: Vec<PathBuf>,
    },
}

fn genesis_command(
    verify: Option<GenesisCommand>,
    chain_id: Option<String>,
    orgs: Vec<PathBuf>,
    out: Option<PathBuf>,
    genesis_time_ms: Option<u64>,
    params: ConsensusParams,
) -> anyhow::Result<()> {
    let descriptions = |files: &[PathBuf]| -> anyhow::Result<Vec<OrgDescription>> {
        files.iter().map(|f| OrgDescription::read(f)).collect()
    };
    if let Some(GenesisCommand::Verify {
        genesis,
        home,
        orgs,
    }) = verify
    {
        let text = std::fs::read_to_string(&genesis)
            .with_context(|| format!("reading {}", genesis.display()))?;
        let g =
            Genesis::from_json(&text).with_context(|| format!("checking {}", genesis.display()))?;
        let others = descriptions(&orgs)?;
        for d in &others {
            consortium::check_member(&g, d)
                .with_context(|| format!("the description of {:?}", d.organisation))?;
        }
        print!("{}", consortium::summary(&g));
        if let Some(home) = home {
            let done = consortium::install(&home, &text, &others)?;
            println!(
                "installed in {} ({} peers in config.toml); start it with: portledger-node start --home {}",
                done.genesis.display(),
                done.peers.len(),
                home.display()
            );
        }
        return Ok(());
    }
    let Some(chain_id) = chain_id else {
        anyhow::bail!(
            "genesis needs --chain-id ID, --org FILE... and --out FILE (or: genesis verify FILE)"
        );
    };
    let Some(out) = out else {
        anyhow::bail!("genesis needs --out FILE");
    };
    if orgs.is_empty() {
        anyhow::bail!("genesis needs at least one --org FILE");
    }
    let time = genesis_time_ms.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    });
    let g = consortium::assemble(&chain_id, time, params, &descriptions(&orgs)?)?;
    consortium::write_new(&out, &g.to_json())?;
    print!("{}", consortium::summary(&g));
    println!("written to {}", out.display());
    Ok(())
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
        Command::Init {
            home,
            org,
            role,
            validator,
            participants,
            address,
            p2p_listen,
            api_listen,
        } => {
            let mut node = NodeOptions::at(address, api_listen);
            if let Some(listen) = p2p_listen {
                node.p2p_listen = listen;
            }
            let participants = if participants.is_empty() {
                vec![org.clone()]
            } else {
                participants
            };
            let d = consortium::init(
                &home,
                &home.join("keys"),
                &InitOptions {
                    organisation: org,
                    role,
                    validator,
                    participants,
                    node: Some(node),
                },
            )?;
            println!("{}", d.to_json());
            eprintln!(
                "organisation {} set up in {}: send {}/{} to whoever assembles the genesis; \
                 keep node.key and keys/ secret",
                d.organisation,
                home.display(),
                home.display(),
                consortium::DESCRIPTION_FILE
            );
        }
        Command::Genesis {
            verify,
            chain_id,
            orgs,
            out,
            genesis_time_ms,
            timeout_base_ms,
            heartbeat_ms,
        } => {
            let mut params = ConsensusParams::default();
            if let Some(v) = timeout_base_ms {
                params.timeout_base_ms = v;
            }
            if let Some(v) = heartbeat_ms {
                params.heartbeat_ms = v;
            }
            genesis_command(verify, chain_id, orgs, out, genesis_time_ms, params)?;
        }
        Command::Join {
            home,
            genesis,
            orgs,
        } => {
            let text = std::fs::read_to_string(&genesis)
                .with_context(|| format!("reading {}", genesis.display()))?;
            let g = Genesis::from_json(&text)
                .with_context(|| format!("checking {}", genesis.display()))?;
            let others = orgs
                .iter()
                .map(|f| OrgDescription::read(f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            print!("{}", consortium::summary(&g));
            let done = consortium::install_joining(&home, &text, &others)?;
            println!(
                "installed in {} ({} peers in config.toml); ask the validators to admit {}, then: portledger-node start --home {}",
                done.genesis.display(),
                done.peers.len(),
                home.join(consortium::DESCRIPTION_FILE).display(),
                home.display()
            );
        }
        Command::RotateKey { home } => {
            let cfg = NodeConfig::load(&home, env_vars())?;
            let (genesis, old) = portledger_node::node::load(&cfg)?;
            let own = OrgDescription::read(&home.join(consortium::DESCRIPTION_FILE))?;
            let path = cfg.next_node_key();
            let new = Keypair::generate();
            keyfile::write(&path, &new).with_context(|| {
                format!(
                    "writing {} (a rotation is under way if it exists)",
                    path.display()
                )
            })?;
            let rotation = portledger_ledger::governance::NodeKeyRotation {
                chain_id: genesis.chain_id.clone(),
                organisation: own.organisation.clone(),
                old_key: old.public(),
                new_key: new.public(),
            };
            println!(
                "{}",
                serde_json::json!({
                    "organisation": rotation.organisation,
                    "old_key": rotation.old_key,
                    "new_key": rotation.new_key,
                    "old_key_signature": rotation.sign(&old),
                    "new_key_signature": rotation.sign(&new),
                })
            );
            eprintln!(
                "wrote {}; a participant of {} submits the rotation above: portledger gov rotate-node-key --file FILE",
                path.display(),
                own.organisation
            );
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
