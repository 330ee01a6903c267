//! Node processes, on loopback by default, or each in its own network namespace
//! ([`Cluster::start_with`] and [`crate::netns`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use portledger_ledger::{keyfile, Genesis, Keypair, Transaction};
use serde_json::Value;

pub use portledger_node::testnet::free_ports;

/// The path of a workspace binary, building it when it is missing.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot locate the target directory")?;
    let path = dir.join(name);
    if !path.exists() {
        let profile_release = dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--bin", name]);
        if profile_release {
            cmd.arg("--release");
        }
        let status = cmd.status().context("running cargo build")?;
        if !status.success() || !path.exists() {
            bail!("could not build {name}");
        }
    }
    Ok(path)
}

/// Where a node listens and how it is launched, when not on loopback.
#[derive(Debug, Clone)]
pub struct NodeLayout {
    /// A command prefix (for example `ip netns exec NS`); the node binary and its arguments
    /// follow it. Empty: the binary runs directly.
    pub prefix: Vec<String>,
    /// Its libp2p address (its peers dial it there).
    pub p2p: SocketAddr,
    /// Its API address (the test reaches it there).
    pub api: SocketAddr,
}

/// One node process.
pub struct NodeProcess {
    /// Its folder.
    pub home: PathBuf,
    /// Its API address.
    pub api: SocketAddr,
    prefix: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

/// The demo participants, in the order [`Cluster::get_transaction`] tries them.
const DEMO_READERS: [&str; 7] = [
    "port",
    "seller",
    "buyer",
    "carrier",
    "issuing-bank",
    "advising-bank",
    "customs",
];

/// A testnet whose nodes run as separate processes.
pub struct Cluster {
    _dir: tempfile::TempDir,
    /// The testnet folder.
    pub dir: PathBuf,
    /// The genesis.
    pub genesis: Genesis,
    /// The nodes.
    pub nodes: Vec<NodeProcess>,
    bin: PathBuf,
    env: Vec<(String, String)>,
    http: reqwest::Client,
}

impl Cluster {
    /// Writes an `n`-validator testnet with the real binary and starts every node. Timeouts
    /// are shortened for tests (300 ms base) and the heartbeat is `heartbeat_ms`.
    pub async fn start(n: usize, heartbeat_ms: u64) -> anyhow::Result<Cluster> {
        Cluster::start_with(n, heartbeat_ms, None).await
    }

    /// As [`Cluster::start`]; with `layout`, node `i` listens on `layout[i]`'s addresses (its
    /// config and its peers' are rewritten) and is launched behind `layout[i].prefix`.
    pub async fn start_with(
        n: usize,
        heartbeat_ms: u64,
        layout: Option<Vec<NodeLayout>>,
    ) -> anyhow::Result<Cluster> {
        if layout.as_ref().is_some_and(|l| l.len() != n) {
            bail!("a layout for each of the {n} nodes");
        }
        let bin = binary("portledger-node")?;
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("net");
        let p2p = free_ports(n as u16)?;
        let api = free_ports(n as u16)?;
        let out = Command::new(&bin)
            .args(["testnet", "--validators", &n.to_string(), "--out"])
            .arg(&dir)
            .args([
                "--p2p-port",
                &p2p.to_string(),
                "--api-port",
                &api.to_string(),
            ])
            .output()?;
        if !out.status.success() {
            bail!("testnet failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let genesis = Genesis::from_json(&std::fs::read_to_string(dir.join("genesis.json"))?)?;
        if let Some(layout) = &layout {
            // The loopback addresses `testnet` wrote (quoted, so no port is a prefix of another)
            // become the layout's, in every node's config: its own and its peers'.
            for i in 0..n {
                let path = dir.join(format!("node-{i}")).join("config.toml");
                let mut text = std::fs::read_to_string(&path)?;
                for (j, l) in layout.iter().enumerate() {
                    let j16 = j as u16;
                    text = text
                        .replace(
                            &format!("\"127.0.0.1:{}\"", p2p + j16),
                            &format!("\"{}\"", l.p2p),
                        )
                        .replace(
                            &format!("\"127.0.0.1:{}\"", api + j16),
                            &format!("\"{}\"", l.api),
                        );
                }
                std::fs::write(&path, text)?;
            }
        }
        let nodes = (0..n)
            .map(|i| {
                let l = layout.as_ref().map(|l| l[i].clone());
                NodeProcess {
                    home: dir.join(format!("node-{i}")),
                    api: l
                        .as_ref()
                        .map_or(SocketAddr::from(([127, 0, 0, 1], api + i as u16)), |l| {
                            l.api
                        }),
                    prefix: l.map(|l| l.prefix).unwrap_or_default(),
                    child: None,
                    log: tmp.path().join(format!("node-{i}.log")),
                }
            })
            .collect();
        let mut c = Cluster {
            _dir: tmp,
            dir,
            genesis,
            nodes,
            bin,
            env: vec![
                ("PORTLEDGER_TIMEOUT_BASE_MS".into(), "300".into()),
                ("PORTLEDGER_TIMEOUT_DELTA_MS".into(), "200".into()),
                ("PORTLEDGER_TIMEOUT_MAX_MS".into(), "2000".into()),
                ("PORTLEDGER_HEARTBEAT_MS".into(), heartbeat_ms.to_string()),
                ("PORTLEDGER_LOG_LEVEL".into(), "info".into()),
            ],
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .no_proxy()
                .build()?,
        };
        for i in 0..n {
            c.spawn(i)?;
        }
        for i in 0..n {
            c.wait_ready(i, Duration::from_secs(30)).await?;
        }
        Ok(c)
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let mut cmd = match node.prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let child = cmd
            .args(["start", "--home"])
            .arg(&node.home)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        node.child = Some(child);
        Ok(())
    }

    /// The API base URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}", self.nodes[i].api)
    }

    /// A demo participant's key.
    pub fn key(&self, alias: &str) -> anyhow::Result<Keypair> {
        Ok(keyfile::read(
            &self.dir.join("keys").join(format!("{alias}.key")),
        )?)
    }

    /// GET a JSON document, signed by the port operator (every participant reads blocks,
    /// transactions and status).
    pub async fn get(&self, i: usize, path: &str) -> anyhow::Result<Value> {
        self.get_as(i, "port", path).await
    }

    /// GET a JSON document, signed by the demo participant `alias` (a signed read).
    pub async fn get_as(&self, i: usize, alias: &str, path: &str) -> anyhow::Result<Value> {
        let key = self.key(alias)?;
        let (status, body) =
            signed_get(&self.http, &self.url(i), &self.genesis.chain_id, &key, path).await?;
        if !status.is_success() {
            bail!("GET {path} on node {i} as {alias}: {status} {body}");
        }
        Ok(body)
    }

    /// Node `i`'s height, if it answers.
    pub async fn height(&self, i: usize) -> Option<u64> {
        self.get(i, "/v1/status").await.ok()?["height"].as_u64()
    }

    /// Waits until node `i` answers `/v1/status`.
    pub async fn wait_ready(&self, i: usize, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.height(i).await.is_none() {
            if start.elapsed() > within {
                bail!(
                    "node {i} not ready within {within:?}; log:\n{}",
                    self.log_tail(i)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Waits until node `i` reaches height `h`.
    pub async fn wait_height(&self, i: usize, h: u64, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let now = self.height(i).await.unwrap_or(0);
            if now >= h {
                return Ok(());
            }
            if start.elapsed() > within {
                bail!("node {i} at height {now}, not {h}, after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Submits a signed transaction to node `i`; returns the HTTP status and body.
    pub async fn submit(&self, i: usize, tx: &Transaction) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}/v1/transactions", self.url(i)))
            .json(tx)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// A transaction as node `i` shows it, read by the first demo participant that may read
    /// it (its signer always may).
    pub async fn get_transaction(
        &self,
        i: usize,
        tx: &portledger_ledger::Hash,
    ) -> anyhow::Result<Value> {
        let path = format!("/v1/transactions/{tx}");
        let mut last = None;
        for alias in DEMO_READERS {
            match self.get_as(i, alias, &path).await {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no reader")))
    }

    /// Waits until a transaction is committed on node `i`; returns its height.
    pub async fn wait_committed(
        &self,
        i: usize,
        tx: &portledger_ledger::Hash,
        within: Duration,
    ) -> anyhow::Result<u64> {
        let start = Instant::now();
        loop {
            if let Ok(v) = self.get_transaction(i, tx).await {
                if v["status"] == "committed" {
                    return v["height"].as_u64().context("height");
                }
            }
            if start.elapsed() > within {
                bail!("transaction {tx} not committed on node {i} within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops node `i` with SIGTERM and waits for it to exit.
    pub fn term(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut c) = self.nodes[i].child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()?;
            if !status.success() {
                bail!("kill -TERM failed");
            }
            let start = Instant::now();
            while c.try_wait()?.is_none() {
                if start.elapsed() > Duration::from_secs(15) {
                    let _ = c.kill();
                    bail!("node {i} did not stop within 15 s of SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Starts a further node from `home` (set up with `portledger-node init` and `join`), its
    /// API at `api`, with the cluster's settings; it is node `self.nodes.len()` from then on
    /// (killed with the others, checked by the consistency check). Waits for its API.
    pub async fn add_node(&mut self, home: PathBuf, api: SocketAddr) -> anyhow::Result<usize> {
        let i = self.nodes.len();
        let log = self
            .dir
            .parent()
            .unwrap_or(&self.dir)
            .join(format!("node-{i}.log"));
        self.nodes.push(NodeProcess {
            home,
            api,
            prefix: Vec::new(),
            child: None,
            log,
        });
        self.spawn(i)?;
        self.wait_ready(i, Duration::from_secs(30)).await?;
        Ok(i)
    }

    /// Runs `portledger-node ARGS` to completion; its stdout, or an error with its stderr.
    pub fn node_command(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.bin).args(args).output()?;
        if !out.status.success() {
            bail!(
                "portledger-node {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts node `i` again and waits for its API.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.spawn(i)?;
        self.wait_ready(i, Duration::from_secs(30)).await
    }

    /// Deletes node `i`'s data directory (the node must be stopped).
    pub fn wipe(&self, i: usize) -> anyhow::Result<()> {
        let data = self.nodes[i].home.join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        Ok(())
    }

    /// The last lines of node `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Whether node `i` runs.
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// A `GET` of `path` on `base`, signed by `key` now with a fresh nonce
/// (`portledger_ledger::signed_read`): the status and the JSON body.
pub async fn signed_get(
    http: &reqwest::Client,
    base: &str,
    chain_id: &str,
    key: &Keypair,
    path: &str,
) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    use portledger_ledger::signed_read::{fresh_nonce, ReadSignature, Request};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let request = Request {
        chain_id,
        method: "GET",
        path_and_query: path,
        body: b"",
    };
    let sig = ReadSignature::sign(key, &request, now, fresh_nonce());
    let r = http
        .get(format!("{base}{path}"))
        .header(reqwest::header::AUTHORIZATION, sig.header())
        .send()
        .await?;
    let status = r.status();
    Ok((status, r.json().await?))
}
