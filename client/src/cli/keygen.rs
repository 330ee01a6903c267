//! `keygen`: writes a new ed25519 key file and prints its public key (and, on stderr or in
//! `--json`, its X25519 encryption key: both are what `participant add` needs).

use std::path::PathBuf;

use portledger_ledger::{keyfile, Keypair};
use serde_json::json;

use super::context::{input_err, Ctx};

/// Runs `keygen`: never overwrites an existing file.
pub fn run(ctx: &Ctx, out: PathBuf) -> anyhow::Result<()> {
    let key = Keypair::generate();
    keyfile::write(&out, &key).map_err(|e| input_err(format!("{}: {e}", out.display())))?;
    if ctx.json {
        println!(
            "{}",
            json!({"public_key": key.public(), "encryption_key": key.encryption_key(), "file": out})
        );
    } else {
        println!("{}", key.public());
        eprintln!(
            "encryption key: {} (give both to your organisation: portledger participant add ALIAS \
             --public-key {} --encryption-key {})",
            key.encryption_key(),
            key.public(),
            key.encryption_key()
        );
    }
    Ok(())
}
