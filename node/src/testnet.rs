//! `portledger-node testnet`: a ready local network in a directory.
//!
//! ```text
//! DIR/genesis.json
//! DIR/node-<i>/config.toml, node.key, genesis.json, organisation.json, data/
//! DIR/keys/<alias>.key      demo participants: port, issuing-bank, customs, carrier,
//!                           advising-bank, seller, buyer
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use portledger_ledger::genesis::{ConsensusParams, Role};
use portledger_ledger::{demo, keyfile, PublicKey};

use crate::config::NodeConfig;
use crate::consortium::{self, InitOptions, NodeOptions};
use crate::network::PeerAddr;

/// Where the testnet's nodes listen.
#[derive(Debug, Clone)]
pub struct TestnetNode {
    /// The node's folder.
    pub home: PathBuf,
    /// Its libp2p address.
    pub p2p: SocketAddr,
    /// Its API address.
    pub api: SocketAddr,
    /// Its node key.
    pub key: PublicKey,
}

/// Options of a testnet.
#[derive(Debug, Clone)]
pub struct TestnetOptions {
    /// Number of validators.
    pub validators: usize,
    /// First libp2p port; node i uses `p2p_port + i`.
    pub p2p_port: u16,
    /// First API port; node i uses `api_port + i`.
    pub api_port: u16,
    /// Chain id.
    pub chain_id: String,
    /// Consensus parameters.
    pub consensus: ConsensusParams,
}

impl Default for TestnetOptions {
    fn default() -> Self {
        TestnetOptions {
            validators: 4,
            p2p_port: 7000,
            api_port: 8080,
            chain_id: "portledger-devnet".into(),
            consensus: ConsensusParams::default(),
        }
    }
}

/// `n` consecutive free TCP ports on 127.0.0.1 (the first of them), for local networks in tests
/// and benchmarks. Another process may still take one before it is bound.
pub fn free_ports(n: u16) -> anyhow::Result<u16> {
    'search: for _ in 0..500 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if base > 60_000 || base.checked_add(n).is_none() {
            continue;
        }
        for i in 0..n {
            if std::net::TcpListener::bind(("127.0.0.1", base + i)).is_err() {
                continue 'search;
            }
        }
        return Ok(base);
    }
    bail!("no {n} consecutive free ports on 127.0.0.1")
}

/// Writes a testnet into `dir` (which must not hold one already) and returns its nodes: the
/// steps of a real consortium ([`crate::consortium`]) run for the demo organisations on this
/// machine. Each demo organisation makes its keys (`init`), the first `validators` run nodes
/// (`node-<i>/`, each with its own `organisation.json`), the genesis is assembled from their
/// public descriptions and installed in each node's home with the others as peers.
pub fn create(dir: &Path, opts: &TestnetOptions) -> anyhow::Result<Vec<TestnetNode>> {
    if opts.validators == 0 {
        bail!("a testnet needs at least one validator");
    }
    if dir.join("genesis.json").exists() {
        bail!(
            "{} already holds a testnet (genesis.json exists)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir.join("keys"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let port = |base: u16, i: usize| -> anyhow::Result<u16> {
        u16::try_from(usize::from(base) + i).context("port out of range")
    };
    // The demo organisations, then further port-operator validators `validator-<i>`.
    let mut plan: Vec<(String, Role, Vec<String>)> = demo::PARTICIPANTS
        .iter()
        .map(|(alias, org, role)| ((*org).to_string(), *role, vec![(*alias).to_string()]))
        .collect();
    for i in 4..opts.validators {
        plan.insert(
            i,
            (format!("validator-{i}"), Role::PortOperator, Vec::new()),
        );
    }
    let mut descriptions = Vec::new();
    let mut nodes = Vec::new();
    for (i, (organisation, role, participants)) in plan.into_iter().enumerate() {
        let runs_node = i < opts.validators;
        let home = dir.join(format!("node-{i}"));
        let node = if runs_node {
            let p2p = SocketAddr::from(([127, 0, 0, 1], port(opts.p2p_port, i)?));
            let api = SocketAddr::from(([127, 0, 0, 1], port(opts.api_port, i)?));
            Some(NodeOptions::at(PeerAddr::from(p2p), api))
        } else {
            None
        };
        let d = consortium::init(
            &home,
            &dir.join("keys"),
            &InitOptions {
                organisation,
                role,
                validator: runs_node,
                participants,
                node: node.clone(),
            },
        )?;
        if let (Some(n), Some(key)) = (node, d.node_key) {
            nodes.push(TestnetNode {
                home,
                p2p: n.p2p_listen,
                api: n.api_listen,
                key,
            });
        }
        descriptions.push(d);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let genesis = consortium::assemble(
        &opts.chain_id,
        now_ms,
        opts.consensus.clone(),
        &descriptions,
    )
    .context("generated genesis")?;
    let genesis_json = genesis.to_json();
    std::fs::write(dir.join("genesis.json"), &genesis_json)?;
    for node in &nodes {
        consortium::install(&node.home, &genesis_json, &descriptions)?;
    }
    Ok(nodes)
}

/// Reads back the nodes of an existing testnet directory.
pub fn nodes(dir: &Path) -> anyhow::Result<Vec<TestnetNode>> {
    let mut out = Vec::new();
    for i in 0.. {
        let home = dir.join(format!("node-{i}"));
        if !home.exists() {
            break;
        }
        let cfg = NodeConfig::load(&home, [])?;
        let key = keyfile::read(&cfg.node_key)?.public();
        out.push(TestnetNode {
            home,
            p2p: cfg.p2p_listen,
            api: cfg.api_listen,
            key,
        });
    }
    if out.is_empty() {
        bail!("{} holds no node-<i> folders", dir.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_complete_testnet() {
        let dir = tempfile::tempdir().expect("tmp");
        let nodes = create(dir.path(), &TestnetOptions::default()).expect("testnet");
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[3].api.to_string(), "127.0.0.1:8083");
        let genesis = portledger_ledger::Genesis::from_json(
            &std::fs::read_to_string(dir.path().join("genesis.json")).expect("read"),
        )
        .expect("valid genesis");
        assert_eq!(genesis.validator_set().len(), 4);
        for (alias, _, _) in demo::PARTICIPANTS {
            let k =
                keyfile::read(&dir.path().join("keys").join(format!("{alias}.key"))).expect("key");
            assert!(genesis
                .participants
                .iter()
                .any(|p| p.public_key == k.public()));
        }
        let back = nodes_of(dir.path());
        assert_eq!(back.len(), 4);
        assert_eq!(back[1].key, nodes[1].key);
        let cfg = NodeConfig::load(&nodes[0].home, []).expect("config");
        assert_eq!(cfg.peers.len(), 3);
        assert!(
            create(dir.path(), &TestnetOptions::default()).is_err(),
            "never overwrites"
        );
    }

    fn nodes_of(dir: &Path) -> Vec<TestnetNode> {
        nodes(dir).expect("nodes")
    }
}
