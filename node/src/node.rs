//! One running node: the store, the network task, the consensus driver and the HTTP API, started
//! together and stopped cleanly (no half-written block: every commit is one atomic batch).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use portledger_consensus::ConsensusConfig;
use portledger_ledger::chain::Chain;
use portledger_ledger::{keyfile, Genesis, Keypair, SledStore, StateView};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, Instrument};

use crate::api::{self, ApiState};
use crate::config::NodeConfig;
use crate::driver::{Driver, DriverConfig};
use crate::gossip_intake::GossipIntake;
use crate::messages::{self, Limits};
use crate::network::{self, NetworkConfig, NetworkHandle};
use crate::shared::{NodeStore, Shared, StoreSource};
use crate::submission::{SubmissionRecord, Submissions};

/// A node that is running.
pub struct RunningNode {
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// The shared state (for tests and `dev`).
    pub shared: Arc<Shared>,
    network: NetworkHandle,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Loads genesis and key named by a configuration.
pub fn load(cfg: &NodeConfig) -> anyhow::Result<(Genesis, Keypair)> {
    let text = std::fs::read_to_string(&cfg.genesis)
        .with_context(|| format!("reading genesis {}", cfg.genesis.display()))?;
    let genesis = Genesis::from_json(&text).with_context(|| cfg.genesis.display().to_string())?;
    let key = keyfile::read(&cfg.node_key)?;
    Ok((genesis, key))
}

/// Starts a node from its configuration. Everything it logs is in a `node` span naming the
/// organisation whose validator key it runs (or the key's first hex digits), so that the four
/// nodes of `dev` can be told apart.
pub async fn start(cfg: NodeConfig) -> anyhow::Result<RunningNode> {
    let (genesis, key) = load(&cfg)?;
    let label = genesis
        .organisations
        .iter()
        .find(|o| o.validator_key == Some(key.public()))
        .map(|o| o.name.clone())
        .unwrap_or_else(|| key.public().to_hex()[..8].to_string());
    let span = tracing::info_span!("node", org = %label);
    let store = SledStore::open(&cfg.data_dir)
        .with_context(|| format!("opening the data directory {}", cfg.data_dir.display()))?;
    start_in_span(cfg, genesis, key, Arc::new(store))
        .instrument(span)
        .await
}

/// Starts a node on a store of the caller's choice (tests run nodes on
/// [`portledger_ledger::MemStore`]); `cfg.data_dir` is not used.
pub async fn start_on(cfg: NodeConfig, store: NodeStore) -> anyhow::Result<RunningNode> {
    let (genesis, key) = load(&cfg)?;
    start_in_span(cfg, genesis, key, store).await
}

async fn start_in_span(
    cfg: NodeConfig,
    genesis: Genesis,
    key: Keypair,
    store: NodeStore,
) -> anyhow::Result<RunningNode> {
    let chain = Chain::open(genesis.clone(), store)?.with_lazy_commits();
    let tip = chain.tip();
    // A rotation the ledger recorded completes on restart: the next key, now the
    // organisation's node key, becomes the identity and the consensus key.
    let next_path = cfg.next_node_key();
    let key = match keyfile::read(&next_path) {
        Ok(next) if chain.state().node_key_owner(&next.public()).is_some() => {
            info!(key = %next.public(), file = %next_path.display(), "the rotated node key is in force: running under it (replace node.key with it at leisure)");
            next
        }
        _ => key,
    };
    let shared = Arc::new(Shared::new(
        genesis.clone(),
        key.public(),
        chain,
        cfg.mempool_max_txs,
    ));
    // Listening before the driver runs: no settled block is missed.
    let settled = shared.subscribe_settled();
    // Transactions acknowledged before a crash wait again (and are gossiped again below).
    let record = Arc::new(SubmissionRecord::default());
    let (restored, next_seq) = record.restore(&shared);
    let limits = Limits::of(&genesis);
    let mut net_cfg = NetworkConfig::new(genesis.chain_id.clone(), cfg.p2p_listen);
    net_cfg.peers = cfg
        .peers
        .iter()
        .map(|p| (p.key, p.address.clone()))
        .collect();
    net_cfg.allowed = shared.node_keys();
    net_cfg.max_message_bytes = limits.proposal_bytes + 64 * 1024;
    net_cfg.gossip_heartbeat = Duration::from_millis(200);
    let cache = shared.clone();
    let members = shared.clone();
    let validator = messages::validator(
        genesis.chain_id.clone(),
        move |k| members.ever_seated(k),
        limits,
        move |h| cache.mark_verified([h]),
    );
    let (net, net_events) = network::spawn(
        &key,
        net_cfg,
        validator,
        Arc::new(StoreSource(shared.clone())),
    )
    .with_context(|| format!("starting libp2p on {}", cfg.p2p_listen))?;

    // The parameters in force at the next height: genesis's, or as governance changed them.
    let mut params = shared.read_state(|s| s.params_at(tip.height + 1));
    if let Some(v) = cfg.timeout_base_ms {
        params.timeout_base_ms = v;
    }
    if let Some(v) = cfg.timeout_delta_ms {
        params.timeout_delta_ms = v;
    }
    if let Some(v) = cfg.timeout_max_ms {
        params.timeout_max_ms = v;
    }
    let heartbeat = Duration::from_millis(cfg.heartbeat_ms.unwrap_or(params.heartbeat_ms));
    let driver_cfg = DriverConfig {
        next_key: Some(next_path),
        consensus: ConsensusConfig::new(&genesis.chain_id, genesis.validator_set(), &params),
        heartbeat,
        max_clock_drift_ms: params.max_clock_drift_ms,
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (gossip_intake, admitting) = GossipIntake::spawn(shared.clone(), shutdown_rx.clone());
    let driver = Driver::new(shared.clone(), net.clone(), gossip_intake, key, driver_cfg);
    let mut tasks = vec![
        admitting,
        tokio::spawn(
            driver
                .run(net_events, shutdown_rx.clone())
                .instrument(tracing::info_span!("driver")),
        ),
    ];

    let listener = tokio::net::TcpListener::bind(cfg.api_listen)
        .await
        .with_context(|| format!("binding the API on {}", cfg.api_listen))?;
    let api_addr = listener.local_addr()?;
    let (submissions, intake) = Submissions::spawn(
        shared.clone(),
        record,
        settled,
        net.clone(),
        next_seq,
        shutdown_rx.clone(),
    );
    tasks.push(intake);
    for tx in restored {
        submissions.regossip(tx);
    }
    let api_state = ApiState {
        shared: shared.clone(),
        submissions,
        reads: Arc::new(api::ReplayGuard::new(cfg.read_window_ms)),
    };
    let app = api::router(api_state.clone(), cfg.metrics_listen.is_none());
    if let Some(addr) = cfg.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding /metrics on {addr}"))?;
        let mut stop = shutdown_rx.clone();
        let metrics = api::metrics_router(api_state);
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(listener, metrics).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "metrics server failed");
            }
        }));
    }
    let mut api_shutdown = shutdown_rx;
    let api_span = tracing::info_span!("api");
    tasks.push(tokio::spawn(
        async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = api_shutdown.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "API server failed");
            }
        }
        .instrument(api_span),
    ));
    info!(
        chain_id = %genesis.chain_id,
        height = tip.height,
        api = %api_addr,
        p2p = %cfg.p2p_listen,
        node = %shared.node_key,
        "node started"
    );
    Ok(RunningNode {
        api_addr,
        shared,
        network: net,
        shutdown,
        tasks,
    })
}

impl RunningNode {
    /// The last committed height.
    pub fn height(&self) -> u64 {
        self.shared.tip().height
    }

    /// Stops the API, the driver and the network, and flushes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        self.network.shutdown().await;
        self.shared.flush()?;
        // Tasks that finish on their own (connection handlers, blocking work in flight) may
        // still hold the shared state, and with it the store's lock: wait for them, so that the
        // data directory can be opened again as soon as `stop` returns.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&self.shared) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if Arc::strong_count(&self.shared) > 1 {
            tracing::warn!("stopped, but something still holds the node's state and store");
        }
        info!("node stopped");
        Ok(())
    }
}
