//! `portledger-node bench`: throughput and finality latency against this machine's own ceiling,
//! in one run.
//!
//! 1. **Ceiling**: the same kind of signed transactions the load generator sends, verified in
//!    batches on all cores and then executed and committed to sled in full blocks, with no
//!    network and no consensus.
//! 2. **One validator**: a single-validator testnet as a separate process, loaded through its
//!    HTTP API by `portledger load` (another process) at more than it can take; committed per
//!    second.
//! 3. **N validators**: an N-validator testnet, each validator its own process on loopback,
//!    loaded the same way at saturation (committed per second), then at half that rate for
//!    finality latency (p50 / p99, submit to committed).
//!
//! The processes are this executable (`start`) and the `portledger` client next to it (built
//! with cargo when missing). Everything listens on 127.0.0.1 and is killed at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use portledger_ledger::chain::Chain;
use portledger_ledger::genesis::ConsensusParams;
use portledger_ledger::workload::Workload;
use portledger_ledger::{
    crypto, demo, CommitCertificate, SledStore, Store, Transaction, Vote, VoteKind,
};
use serde::Serialize;
use serde_json::Value;

use crate::testnet::{self, TestnetOptions};

mod stages;

pub use stages::StageFigures;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Validators of the network phase.
    pub validators: usize,
    /// Transactions of the ceiling phase, and at least the number offered in each load phase.
    pub txs: usize,
    /// Seconds of load in each load phase (at least).
    pub duration: f64,
    /// Parties of the load generator.
    pub parties: usize,
    /// Keep the testnets and logs in this folder instead of a temporary one.
    pub keep: Option<PathBuf>,
    /// Rate of the latency run (default: half the saturated rate).
    pub latency_rate: Option<f64>,
    /// Print progress on stderr.
    pub verbose: bool,
}

/// The ceiling phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    /// Transactions.
    pub txs: usize,
    /// Threads used for signature verification.
    pub verify_threads: usize,
    /// Batch signature verification, all cores (ms).
    pub verify_ms: f64,
    /// Executing and building the blocks (ms).
    pub execute_ms: f64,
    /// Committing the blocks to sled (ms).
    pub commit_ms: f64,
    /// Blocks.
    pub blocks: usize,
    /// Transactions per second over the three phases.
    pub tps: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Logical cores of this machine.
    pub cores: usize,
    /// Validators of the network phase.
    pub validators: usize,
    /// 1: the ceiling (tx/s).
    pub ceiling_tps: f64,
    /// 2: one validator, full pipeline, committed per second at saturation.
    pub single_tps: f64,
    /// 3: N validators, committed per second at saturation.
    pub network_tps: f64,
    /// The rate of the latency run (half of `network_tps` unless `--latency-rate` was given).
    pub half_rate_tps: f64,
    /// Finality latency p50 at half rate (ms).
    pub p50_ms: f64,
    /// Finality latency p90 at half rate (ms).
    pub p90_ms: f64,
    /// Finality latency p99 at half rate (ms).
    pub p99_ms: f64,
    /// Slowest at half rate (ms).
    pub max_ms: f64,
    /// `single_tps / ceiling_tps`.
    pub ratio_single: f64,
    /// `network_tps / ceiling_tps`.
    pub ratio_network: f64,
    /// Ceiling details.
    pub ceiling: Ceiling,
    /// Where the time goes at half rate: each stage over every validator, and the block
    /// interval.
    pub stages: Vec<StageFigures>,
    /// Rounds that ended in a timeout, over every validator, during the saturated load.
    pub round_timeouts_saturated: u64,
    /// The same during the half-rate load.
    pub round_timeouts_half_rate: u64,
    /// The load generator's reports: single, network saturation, network half rate.
    pub loads: Vec<Value>,
}

/// Runs the three phases.
pub async fn run(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let client = client_binary()?;
    let tmp;
    let dir = match &opts.keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let say = |m: String| {
        if opts.verbose {
            eprintln!("bench: {m}");
        }
    };

    say(format!("1/3 ceiling: {} transactions", opts.txs));
    let ceiling = ceiling(opts.txs, opts.parties, &dir.join("ceiling"))?;
    say(format!("    {:.0} tx/s", ceiling.tps));

    // Offer more than the ceiling allows, so the pipeline is the limit.
    let offered = ceiling.tps.max(1000.0);
    let duration = opts.duration.max(opts.txs as f64 / offered);

    say("2/3 one validator at saturation".into());
    let single = {
        let net = Network::start(&dir.join("single"), 1).await?;
        let r = net.load(&client, offered, duration, opts.parties).await?;
        drop(net);
        r
    };
    let single_tps = single["throughput_tps"].as_f64().unwrap_or(0.0);
    say(format!("    {single_tps:.0} tx/s"));

    say(format!("3/3 {} validators at saturation", opts.validators));
    let net = Network::start(&dir.join("network"), opts.validators).await?;
    let m0 = net.metrics().await?;
    let saturated = net.load(&client, offered, duration, opts.parties).await?;
    let m1 = net.metrics().await?;
    let (_, round_timeouts_saturated) = stages::breakdown(&m0, &m1);
    let network_tps = saturated["throughput_tps"].as_f64().unwrap_or(0.0);
    say(format!("    {network_tps:.0} tx/s"));
    let half = opts.latency_rate.unwrap_or(network_tps / 2.0).max(1.0);
    say(format!("    latency at half rate, {half:.0} tx/s"));
    let m2 = net.metrics().await?;
    let relaxed = net.load(&client, half, opts.duration, opts.parties).await?;
    let m3 = net.metrics().await?;
    let (stages, round_timeouts_half_rate) = stages::breakdown(&m2, &m3);
    drop(net);
    let l = &relaxed["latency_ms"];
    let ms = |k: &str| l[k].as_f64().unwrap_or(0.0);
    Ok(BenchReport {
        cores,
        validators: opts.validators,
        ceiling_tps: ceiling.tps,
        single_tps,
        network_tps,
        half_rate_tps: half,
        p50_ms: ms("p50"),
        p90_ms: ms("p90"),
        p99_ms: ms("p99"),
        max_ms: ms("max"),
        ratio_single: single_tps / ceiling.tps,
        ratio_network: network_tps / ceiling.tps,
        ceiling,
        stages,
        round_timeouts_saturated,
        round_timeouts_half_rate,
        loads: vec![single, saturated, relaxed],
    })
}

/// The human table.
pub fn render(r: &BenchReport) -> String {
    let c = &r.ceiling;
    let mut out = String::new();
    out.push_str(&format!(
        "portledger-node bench: {} cores, {} validators\n\n",
        r.cores, r.validators
    ));
    out.push_str("  measurement                                         tx/s   ratio to 1\n");
    out.push_str(&format!(
        "  1 ceiling: verify ({} threads) + execute + sled       {:>7.0}   1.00\n",
        c.verify_threads, r.ceiling_tps
    ));
    out.push_str(&format!(
        "  2 one validator, API -> mempool -> consensus -> sled {:>7.0}   {:.2}\n",
        r.single_tps, r.ratio_single
    ));
    out.push_str(&format!(
        "  3 {} validators (processes on loopback), saturated    {:>7.0}   {:.2}\n",
        r.validators, r.network_tps, r.ratio_network
    ));
    out.push_str(&format!(
        "\n  finality at half rate ({:.0} tx/s): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
        r.half_rate_tps, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
    ));
    out.push_str(&format!(
        "  ceiling detail: {} txs in {} blocks; verify {:.0} ms, execute {:.0} ms, commit {:.0} ms\n",
        c.txs, c.blocks, c.verify_ms, c.execute_ms, c.commit_ms
    ));
    out.push_str(&format!(
        "  round timeouts: {} saturated, {} at half rate (all validators)\n",
        r.round_timeouts_saturated, r.round_timeouts_half_rate
    ));
    out.push_str(
        "\n  where the time goes at half rate (all validators)   count   mean    p50    p99 (ms)\n",
    );
    for s in &r.stages {
        out.push_str(&format!(
            "    {:<48} {:>7} {:>6.1} {:>6.1} {:>6.1}\n",
            s.stage, s.count, s.mean_ms, s.p50_ms, s.p99_ms
        ));
    }
    out
}

/// Phase 1: batch verification on all cores, then execution and sled commits in full blocks.
pub fn ceiling(txs: usize, parties: usize, dir: &Path) -> anyhow::Result<Ceiling> {
    let (genesis, validators, parts) = demo::testing(1);
    let port = parts
        .iter()
        .find(|(a, _)| a == "port")
        .map(|(_, k)| k.clone())
        .context("demo world without a port operator")?;
    let workload = Workload::new(&genesis, "ceil", parties, 1)?;
    let lanes = workload.lane_transactions(txs);
    let longest = lanes.iter().map(Vec::len).max().unwrap_or(0);
    // The order a load generator sends them in: lanes interleaved.
    let all: Vec<Transaction> = (0..longest)
        .flat_map(|k| lanes.iter().filter_map(move |l| l.get(k).cloned()))
        .collect();
    std::fs::create_dir_all(dir)?;
    let mut chain = Chain::open(genesis.clone(), SledStore::open(dir)?)?;
    let validator = &validators[0];
    let commit = |chain: &mut Chain<SledStore>, block_txs: Vec<Transaction>| {
        let tip = chain.tip();
        let h = tip.height + 1;
        let last = if h > 1 {
            chain.store().certificate(h - 1)?
        } else {
            None
        };
        let t = Instant::now();
        let (block, exec, excluded) =
            chain.build_block(0, tip.time_ms + 1000, validator.public(), block_txs, last);
        let executed = t.elapsed();
        if let Some(e) = excluded.first() {
            bail!("a workload transaction broke a rule: {}", e.error);
        }
        let vote = Vote::sign(
            validator,
            &genesis.chain_id,
            h,
            0,
            VoteKind::Precommit,
            Some(block.hash()),
        );
        let cert = CommitCertificate::from_votes(chain.validators(), h, 0, block.hash(), &[vote]);
        let t = Instant::now();
        chain.commit_executed(&block, &cert, &exec)?;
        Ok((executed, t.elapsed(), block.transactions.len()))
    };
    commit(&mut chain, workload.registrations(&port, 1))?;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let chunk = all.len().div_ceil(threads).max(1);
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.chunks(1024).all(|c| {
                        let items: Vec<_> = c.iter().map(Transaction::signature_item).collect();
                        crypto::verify_batch(&items)
                    })
                })
            })
            .collect();
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    });
    let verify = t.elapsed();
    if !ok {
        bail!("a workload signature did not verify");
    }

    let per_block = genesis.consensus.max_block_txs as usize;
    let (mut execute, mut committing, mut blocks) = (Duration::ZERO, Duration::ZERO, 0);
    for block_txs in all.chunks(per_block) {
        let (e, c, n) = commit(&mut chain, block_txs.to_vec())?;
        if n != block_txs.len() {
            bail!("a block held {n} of {} transactions", block_txs.len());
        }
        execute += e;
        committing += c;
        blocks += 1;
    }
    let total = verify + execute + committing;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Ceiling {
        txs: all.len(),
        verify_threads: threads,
        verify_ms: ms(verify),
        execute_ms: ms(execute),
        commit_ms: ms(committing),
        blocks,
        tps: all.len() as f64 / total.as_secs_f64(),
    })
}

/// A testnet of node processes, killed when dropped.
struct Network {
    dir: PathBuf,
    apis: Vec<String>,
    children: Vec<Child>,
}

impl Network {
    async fn start(dir: &Path, validators: usize) -> anyhow::Result<Network> {
        let n = u16::try_from(validators).context("too many validators")?;
        let p2p = testnet::free_ports(n)?;
        let api = testnet::free_ports(n)?;
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let nodes = testnet::create(
            dir,
            &TestnetOptions {
                validators,
                p2p_port: p2p,
                api_port: api,
                chain_id: "portledger-bench".into(),
                consensus: ConsensusParams::default(),
            },
        )?;
        let exe = std::env::current_exe()?;
        let mut net = Network {
            dir: dir.to_path_buf(),
            apis: nodes.iter().map(|n| format!("http://{}", n.api)).collect(),
            children: Vec::new(),
        };
        for (i, node) in nodes.iter().enumerate() {
            let log = std::fs::File::create(dir.join(format!("node-{i}.log")))?;
            let child = Command::new(&exe)
                .args(["start", "--home"])
                .arg(&node.home)
                .env("PORTLEDGER_LOG_LEVEL", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", exe.display()))?;
            net.children.push(child);
        }
        net.wait_ready(Duration::from_secs(30)).await?;
        Ok(net)
    }

    async fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let until = Instant::now() + within;
        for api in &self.apis {
            loop {
                let status = match http.get(format!("{api}/v1/status")).send().await {
                    Ok(r) => r.json::<Value>().await.ok(),
                    Err(_) => None,
                };
                let up = status
                    .and_then(|v| v["validators"].as_array().cloned())
                    .is_some_and(|vs| vs.iter().all(|v| v["up"] == true));
                if up {
                    break;
                }
                if Instant::now() > until {
                    bail!(
                        "{api} did not report every validator up within {within:?}; logs in {}",
                        self.dir.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Every node's `/metrics` text, in node order.
    async fn metrics(&self) -> anyhow::Result<Vec<String>> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let mut out = Vec::with_capacity(self.apis.len());
        for api in &self.apis {
            let text = http
                .get(format!("{api}/metrics"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .with_context(|| format!("reading {api}/metrics"))?
                .text()
                .await?;
            out.push(text);
        }
        Ok(out)
    }

    /// Runs `portledger load` against every node and returns its JSON report.
    async fn load(
        &self,
        client: &Path,
        rate: f64,
        duration: f64,
        parties: usize,
    ) -> anyhow::Result<Value> {
        let mut cmd = tokio::process::Command::new(client);
        cmd.args(["--node", &self.apis[0], "--json", "--key"])
            .arg(self.dir.join("keys").join("port.key"))
            .args([
                "load",
                "--rate",
                &format!("{rate:.0}"),
                "--duration",
                &format!("{duration:.1}"),
                "--parties",
                &parties.to_string(),
                "--drain",
                "60",
            ]);
        if self.apis.len() > 1 {
            cmd.args(["--also", &self.apis[1..].join(",")]);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("running {}", client.display()))?;
        if !out.status.success() {
            bail!(
                "portledger load failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).context("portledger load printed no JSON report")
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `portledger` client next to this executable, built with cargo when it is missing.
fn client_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no folder for this executable")?;
    let path = dir.join("portledger");
    if path.exists() {
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace")?;
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace)
        .args(["build", "-p", "portledger-client", "--bin", "portledger"]);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .context("building the portledger client with cargo")?;
    if !status.success() || !path.exists() {
        bail!(
            "the portledger client is missing next to {}; build it with `cargo build --release -p portledger-client`",
            exe.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_verifies_and_commits_every_transaction() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = ceiling(2_000, 8, dir.path()).expect("ceiling");
        assert_eq!(c.txs, 2_000);
        assert_eq!(c.blocks, 1);
        assert!(c.tps > 0.0 && c.verify_ms > 0.0 && c.commit_ms > 0.0);
        // The chain holds them: registrations in block 1, the workload in block 2.
        let store = SledStore::open(dir.path()).expect("reopen");
        let block = store.block(2).expect("read").expect("block 2");
        assert_eq!(block.transactions.len(), 2_000);
    }
}
