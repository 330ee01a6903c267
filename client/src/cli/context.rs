//! What every command handler shares: the context [`Ctx`] built from the global flags (node,
//! key, output form, waiting), which signs, submits and prints; the small helpers that turn bad
//! input into a usage error (exit code 2) while reading files, JSON and hashes; and the
//! positional arguments several command families take (a document reference, a credit or
//! declaration number).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use portledger_client::api::{encode_segment, NodeClient};
use portledger_client::error::ClientError;
use portledger_client::output;
use portledger_client::parties::Directory;
use portledger_client::reveal;
use portledger_ledger::documents::transport::{
    KeyShare, PlainTransportDocument, TransportDocumentData,
};
use portledger_ledger::sealed::EncryptionKey;
use portledger_ledger::{keyfile, Hash, Keypair, Payload, PublicKey};
use serde_json::{json, Value};

/// What every command needs.
pub struct Ctx {
    /// The node's API (--node).
    pub node: NodeClient,
    /// The key file that signs (--key).
    pub key: Option<PathBuf>,
    /// Machine-readable output (--json).
    pub json: bool,
    /// Return once accepted, without waiting for the block (--no-wait).
    pub no_wait: bool,
    /// How long to wait for commitment (--wait-timeout).
    pub wait: Duration,
}

impl Ctx {
    /// The signing key of --key (or PORTLEDGER_KEY); a usage error when none was given.
    pub fn key(&self) -> anyhow::Result<Keypair> {
        let path = self.key.as_ref().ok_or_else(|| {
            input_err("this command signs a transaction: give --key FILE (or set PORTLEDGER_KEY)")
        })?;
        keyfile::read(path).map_err(input_err)
    }

    /// The node's directory of registered parties (aliases and public keys).
    pub async fn directory(&self) -> anyhow::Result<Directory> {
        Ok(Directory::fetch(&self.node).await?)
    }

    /// Signs, submits, waits (unless --no-wait) and prints; `extra` is merged into the output.
    pub async fn submit(&self, payload: Payload, extra: Value) -> anyhow::Result<()> {
        self.submit_sharing(payload, Vec::new(), extra).await
    }

    /// The customs auditor key of the node's genesis, for which every transport document and
    /// declaration is sealed.
    pub async fn auditor(&self) -> anyhow::Result<Option<EncryptionKey>> {
        let genesis = self.node.get("/v1/genesis").await?;
        serde_json::from_value(genesis["customs_auditor"].clone())
            .map_err(|e| input_err(format!("the genesis' customs_auditor: {e}")))
    }

    /// Seals a transport document in the clear for its readers: the signing carrier, its
    /// shipper, consignee and endorsee, `also` (a first possessor named at issue), and the
    /// customs auditor of genesis.
    pub async fn seal_document(
        &self,
        plain: &PlainTransportDocument,
        also: &[PublicKey],
    ) -> anyhow::Result<TransportDocumentData> {
        let mut parties = vec![self.key()?.public(), plain.shipper];
        parties.extend(plain.consignee);
        parties.extend(plain.endorsee);
        parties.extend(also);
        let mut readers = self.directory().await?.encryption_keys(&parties)?;
        readers.extend(self.auditor().await?);
        let (_, sealed) = plain
            .seal(&readers)
            .map_err(|e| input_err(format!("cannot seal {}: {e}", plain.reference)))?;
        Ok(sealed)
    }

    /// The key of transport document `reference`, shared with each of `parties` that holds no
    /// wrap of it yet (opened with --key's key): what a transfer, endorsement, presentation or
    /// honour carries for the readers it makes.
    pub async fn shares_for(
        &self,
        reference: &str,
        parties: &[PublicKey],
    ) -> anyhow::Result<Vec<KeyShare>> {
        // A signer who may not read the document, or holds no key to it, shares nothing: the
        // node then answers with the rule it breaks (not the possessor, key not shared, ...).
        let v = match self
            .node
            .get(&format!("/v1/bl/{}", encode_segment(reference)))
            .await
        {
            Ok(v) => v,
            Err(ClientError::Refused { status: 404, .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let recipients = self.directory().await?.encryption_keys(parties)?;
        Ok(reveal::transport_shares(&v, &self.key()?, &recipients).unwrap_or_default())
    }

    /// Like [`Ctx::submit`], sharing document keys with the readers the transaction makes.
    pub async fn submit_sharing(
        &self,
        payload: Payload,
        shares: Vec<KeyShare>,
        extra: Value,
    ) -> anyhow::Result<()> {
        let key = self.key()?;
        let chain_id = self.node.chain_id().await?;
        let action = payload.action();
        let sub = self
            .node
            .submit_sharing(&key, &chain_id, payload, shares)
            .await?;
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

    /// Reads `path` from the node and prints it: as JSON with --json, else through `human`.
    pub async fn show(&self, path: &str, human: fn(&Value) -> String) -> anyhow::Result<()> {
        let v = self.node.get(path).await?;
        self.print(&v, human);
        Ok(())
    }

    /// `GET path`, with what `reveal` opens of it with --key's key added, printed.
    pub async fn show_revealed(
        &self,
        path: &str,
        reveal: fn(&mut Value, Option<&Keypair>),
        human: fn(&Value) -> String,
    ) -> anyhow::Result<()> {
        let mut v = self.node.get(path).await?;
        reveal(&mut v, self.reader()?.as_ref());
        self.print(&v, human);
        Ok(())
    }

    /// Prints `v` as JSON (--json) or as `human` renders it.
    pub fn print(&self, v: &Value, human: fn(&Value) -> String) {
        if self.json {
            println!("{v}");
        } else {
            print!("{}", human(v));
        }
    }

    /// The key of --key, if one was given: it opens what is sealed for its participant.
    pub fn reader(&self) -> anyhow::Result<Option<Keypair>> {
        self.key
            .as_ref()
            .map(|p| keyfile::read(p).map_err(input_err))
            .transpose()
    }
}

/// A usage error (exit code 2) saying `e`.
pub fn input_err(e: impl std::fmt::Display) -> anyhow::Error {
    ClientError::Input(e.to_string()).into()
}

/// The bytes of a file; a usage error naming the file when it cannot be read.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| input_err(format!("cannot read {}: {e}", path.display())))
}

/// A file parsed as JSON; a usage error naming the file when it cannot be read or parsed.
pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| input_err(format!("{} is not JSON: {e}", path.display())))
}

/// A SHA-256 in hex; a usage error when it is not one.
pub fn parse_hash(s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s).map_err(|e| input_err(format!("{s:?} is not a SHA-256 in hex: {e}")))
}

/// A transport document reference argument.
#[derive(Args)]
pub struct Reference {
    /// The document reference.
    pub reference: String,
}

/// A credit or declaration number argument.
#[derive(Args)]
pub struct Number {
    /// The credit or declaration number.
    pub number: String,
}
