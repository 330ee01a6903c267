//! The real `portledger` client binary run against a [`Cluster`]: a command's exit code and
//! output, a command that must succeed (its JSON), one the ledger must refuse (its code on
//! stderr), and a transaction step whose hash and height are kept.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use portledger_ledger::Hash;
use serde_json::Value;

use crate::Cluster;

/// The client binary and the testnet's keys.
pub struct Cli {
    bin: PathBuf,
    /// The testnet's key files (`ALIAS.key`).
    pub keys: PathBuf,
    /// The genesis file.
    pub genesis: String,
    /// Every transaction the CLI reported as committed: (hash, height).
    pub committed: Vec<(Hash, u64)>,
}

/// What a command did.
pub struct Out {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Cli {
    /// The client binary against cluster `c`, with its key files.
    pub fn new(c: &Cluster) -> Cli {
        Cli {
            bin: crate::cluster::binary("portledger").expect("portledger binary"),
            keys: c.dir.join("keys"),
            genesis: c.dir.join("genesis.json").display().to_string(),
            committed: Vec::new(),
        }
    }

    /// Runs `portledger --json --node URL [--key K] ARGS`.
    pub async fn run(&self, c: &Cluster, node: usize, alias: Option<&str>, args: &[&str]) -> Out {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("--json").arg("--node").arg(c.url(node));
        if let Some(a) = alias {
            cmd.arg("--key").arg(self.keys.join(format!("{a}.key")));
        }
        cmd.args(args)
            .env_remove("PORTLEDGER_NODE")
            .env_remove("PORTLEDGER_KEY")
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("portledger {args:?} did not finish within 60 s"))
            .expect("run portledger");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `portledger --node URL ARGS` without `--json`: the human output, which must succeed.
    pub async fn human(&self, c: &Cluster, node: usize, alias: &str, args: &[&str]) -> String {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("--node")
            .arg(c.url(node))
            .arg("--key")
            .arg(self.keys.join(format!("{alias}.key")))
            .args(args)
            .env_remove("PORTLEDGER_NODE")
            .env_remove("PORTLEDGER_KEY")
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("portledger {args:?} did not finish within 60 s"))
            .expect("run portledger");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "portledger {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a command that must succeed; returns its JSON output.
    pub async fn ok(&self, c: &Cluster, node: usize, alias: Option<&str>, args: &[&str]) -> Value {
        let o = self.run(c, node, alias, args).await;
        assert_eq!(
            o.code, 0,
            "portledger {args:?} as {alias:?} via node {node}: {}{}",
            o.stdout, o.stderr
        );
        serde_json::from_str(&o.stdout)
            .unwrap_or_else(|e| panic!("portledger {args:?}: not JSON ({e}): {}", o.stdout))
    }

    /// Runs a command the ledger must refuse: exit 1, the refusal's code on stderr. Returns the
    /// stderr line.
    pub async fn refused(
        &self,
        c: &Cluster,
        node: usize,
        alias: &str,
        args: &[&str],
        code: &str,
    ) -> String {
        let o = self.run(c, node, Some(alias), args).await;
        assert_eq!(
            o.code, 1,
            "portledger {args:?} as {alias} should be refused with {code}: {}{}",
            o.stdout, o.stderr
        );
        assert!(
            o.stderr.contains(&format!("portledger: {code}: ")),
            "portledger {args:?} as {alias}: stderr should name {code}: {}",
            o.stderr
        );
        o.stderr
    }

    /// Submits a transaction as `alias` through `node`; records its hash and height.
    pub async fn step(&mut self, c: &Cluster, node: usize, alias: &str, args: &[&str]) -> Value {
        let v = self.ok(c, node, Some(alias), args).await;
        let hash = v["tx_hash"]
            .as_str()
            .and_then(|h| Hash::from_hex(h).ok())
            .unwrap_or_else(|| panic!("{args:?}: no tx_hash in {v}"));
        let height = v["height"]
            .as_u64()
            .filter(|h| *h > 0)
            .unwrap_or_else(|| panic!("{args:?}: no height in {v}"));
        self.committed.push((hash, height));
        v
    }
}
