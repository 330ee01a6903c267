//! `portledger-node`: runs a portledger validator.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portledger_ledger::{keyfile, Keypair};

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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            keyfile::write(&out, &key).with_context(|| format!("writing {}", out.display()))?;
            println!("{}", key.public());
        }
    }
    Ok(())
}
