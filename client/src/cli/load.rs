//! `load`: the flags of the load generator and the report it prints; the generator itself is
//! the library's `load` module.

use clap::Args;
use portledger_client::load::LoadConfig;

use super::context::Ctx;

/// The flags of `load`.
#[derive(Args)]
pub struct LoadArgs {
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

/// Runs `load`: the port operator's key (--key) registers the generated parties.
pub async fn run(ctx: &Ctx, a: LoadArgs) -> anyhow::Result<()> {
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
