//! Helpers shared by the network tests: free loopback addresses, a test network config, and
//! waiting for peers.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use portledger_ledger::{Keypair, PublicKey};
use portledger_node::network::{NetworkConfig, NetworkHandle};
use tokio::time::{sleep, timeout};

pub const DEADLINE: Duration = Duration::from_secs(15);

pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

pub fn config(
    listen: SocketAddr,
    peers: &[(&Keypair, SocketAddr)],
    allowed: &[&Keypair],
) -> NetworkConfig {
    NetworkConfig {
        chain_id: "test-chain".into(),
        listen,
        peers: peers
            .iter()
            .map(|(k, a)| (k.public(), (*a).into()))
            .collect(),
        allowed: allowed.iter().map(|k| k.public()).collect(),
        max_message_bytes: 1024 * 1024,
        redial_interval: Duration::from_millis(200),
        gossip_heartbeat: Duration::from_millis(100),
    }
}

pub async fn wait_for_peers(handle: &NetworkHandle, expected: &[PublicKey]) {
    let expected: BTreeSet<PublicKey> = expected.iter().copied().collect();
    timeout(DEADLINE, async {
        loop {
            let connected: BTreeSet<PublicKey> =
                handle.connected_peers().await.into_iter().collect();
            if expected.is_subset(&connected) {
                return;
            }
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("peers connect in time");
}

/// The `Authorization` header of a signed GET of `path_and_query` by `key` (issue 15's signed
/// reads; the scheme is in `ledger/READS.md`).
pub fn read_authorization(chain_id: &str, key: &Keypair, path_and_query: &str) -> String {
    use portledger_ledger::signed_read::{fresh_nonce, ReadSignature, Request};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let request = Request {
        chain_id,
        method: "GET",
        path_and_query,
        body: b"",
    };
    ReadSignature::sign(key, &request, now, fresh_nonce()).header()
}

/// Four real nodes started in this process on loopback (sled in a temporary directory, short
/// timeouts, no heartbeat), with the demo participants' keys: transactions are submitted
/// through node 0's API, reads are signed.
pub struct ApiNet {
    _dir: tempfile::TempDir,
    pub dir: std::path::PathBuf,
    pub chain_id: String,
    pub nodes: Vec<portledger_node::node::RunningNode>,
    pub http: reqwest::Client,
    nonces: std::collections::HashMap<String, u64>,
}

impl ApiNet {
    pub async fn start(chain_id: &str) -> ApiNet {
        use portledger_node::testnet::{self, TestnetOptions};
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().to_path_buf();
        let opts = TestnetOptions {
            validators: 4,
            p2p_port: testnet::free_ports(4).expect("free ports"),
            api_port: testnet::free_ports(4).expect("free ports"),
            chain_id: chain_id.into(),
            consensus: portledger_ledger::genesis::ConsensusParams {
                timeout_base_ms: 300,
                timeout_delta_ms: 200,
                timeout_max_ms: 2000,
                heartbeat_ms: 60_000,
                ..Default::default()
            },
        };
        testnet::create(&path, &opts).expect("testnet");
        let mut nodes = Vec::new();
        for i in 0..4 {
            let cfg = portledger_node::config::NodeConfig::load(
                &path.join(format!("node-{i}")),
                Vec::new(),
            )
            .expect("cfg");
            nodes.push(portledger_node::node::start(cfg).await.expect("start"));
        }
        ApiNet {
            _dir: dir,
            dir: path,
            chain_id: chain_id.into(),
            nodes,
            http: reqwest::Client::new(),
            nonces: Default::default(),
        }
    }

    pub fn key(&self, alias: &str) -> Keypair {
        portledger_ledger::keyfile::read(&self.dir.join("keys").join(format!("{alias}.key")))
            .expect("key")
    }

    pub fn api(&self, i: usize) -> String {
        format!("http://{}", self.nodes[i].api_addr)
    }

    /// Signs as `alias`, submits through node 0 and waits until node 1 has committed it.
    pub async fn run(
        &mut self,
        alias: &str,
        payload: portledger_ledger::Payload,
    ) -> portledger_ledger::Hash {
        use portledger_ledger::Store;
        let nonce = self.nonces.entry(alias.to_string()).or_insert(0);
        *nonce += 1;
        let nonce = *nonce;
        let tx =
            portledger_ledger::Transaction::sign(&self.key(alias), &self.chain_id, nonce, payload);
        let r = self
            .http
            .post(format!("{}/v1/transactions", self.api(0)))
            .json(&tx)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
        assert_eq!(status, 202, "{alias} {}: {body}", tx.body.payload.action());
        let hash = tx.hash();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.nodes[1]
            .shared
            .store()
            .transaction_location(&hash)
            .expect("store")
            .is_none()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{hash} not committed in time"
            );
            sleep(Duration::from_millis(20)).await;
        }
        hash
    }

    /// The genesis the nodes run.
    pub fn genesis(&self) -> portledger_ledger::Genesis {
        portledger_ledger::Genesis::from_json(
            &std::fs::read_to_string(self.dir.join("genesis.json")).expect("genesis"),
        )
        .expect("genesis")
    }

    /// A bill of lading to order, shipped by `shipper`, from Shanghai to Rotterdam, carrying
    /// `containers`, goods described as `goods`; sealed as the client seals it, for the
    /// `carrier` that issues it, the shipper and the customs auditor of genesis.
    pub fn bill_of_lading(
        &self,
        shipper: &str,
        reference: &str,
        containers: &[&str],
        goods: &str,
    ) -> portledger_ledger::documents::transport::TransportDocumentData {
        use portledger_ledger::documents::transport::{
            Equipment, FreightTerm, GoodsLine, PlainTransportDocument, TransportDocumentKind,
        };
        let plain = PlainTransportDocument {
            reference: reference.into(),
            kind: TransportDocumentKind::BillOfLading,
            to_order: true,
            shipper: self.key(shipper).public(),
            consignee: None,
            endorsee: None,
            notify_parties: vec![],
            vessel_name: "MAERSK ESSEN".into(),
            voyage: "123W".into(),
            port_of_loading: "CNSHA".into(),
            port_of_discharge: "NLRTM".into(),
            shipped_on_board_date: None,
            goods: vec![GoodsLine {
                description: goods.into(),
                hs_code: "850440".into(),
                packages: 20,
                gross_weight_kg: 12_000,
            }],
            equipment: containers
                .iter()
                .map(|c| Equipment {
                    container: (*c).into(),
                    seals: vec![],
                    shared: false,
                })
                .collect(),
            freight_term: FreightTerm::Prepaid,
            document_hash: portledger_ledger::Hash::of(reference.as_bytes()),
            replaces: None,
            dcsa: None,
        };
        let mut readers = vec![
            self.key("carrier").encryption_key(),
            self.key(shipper).encryption_key(),
        ];
        readers.extend(self.genesis().customs_auditor);
        plain.seal(&readers).expect("seal").1
    }

    /// A declaration by `declarant` of the export or import of the goods of `reference`,
    /// its lines sealed for the declarant and the customs auditor of genesis, as the client
    /// seals them.
    pub fn declaration(
        &self,
        declarant: &str,
        number: &str,
        direction: portledger_ledger::documents::customs::Direction,
        reference: &str,
        lines: Vec<portledger_ledger::documents::customs::DeclarationLine>,
    ) -> portledger_ledger::documents::customs::DeclarationData {
        let genesis = self.genesis();
        let mut readers = vec![self.key(declarant).encryption_key()];
        readers.extend(genesis.customs_auditor);
        let body = portledger_ledger::documents::customs::DeclarationBody { lines };
        let (_, body, keys) = portledger_ledger::sealed::seal_for(&body, &readers).expect("seal");
        portledger_ledger::documents::customs::DeclarationData {
            number: number.into(),
            direction,
            transport_document: reference.into(),
            containers: vec![],
            body,
            keys,
        }
    }

    /// GET as customs, which reads every transport document and declaration.
    pub async fn get(&self, i: usize, path: &str) -> (u16, serde_json::Value) {
        self.get_as(i, "customs", path).await
    }

    /// GET signed by the demo participant `alias`.
    pub async fn get_as(&self, i: usize, alias: &str, path: &str) -> (u16, serde_json::Value) {
        self.get_with(i, path, Some(self.authorization(alias, path)))
            .await
    }

    /// GET with the given `Authorization` header, or none.
    pub async fn get_with(
        &self,
        i: usize,
        path: &str,
        authorization: Option<String>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.http.get(format!("{}{path}", self.api(i)));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("get");
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// The `Authorization` header of a signed GET of `path` by `alias`.
    pub fn authorization(&self, alias: &str, path: &str) -> String {
        read_authorization(&self.chain_id, &self.key(alias), path)
    }

    pub async fn stop(mut self) {
        self.stop_nodes().await;
    }

    /// Stops every node, keeping their directories (until `self` is dropped).
    pub async fn stop_nodes(&mut self) {
        for n in self.nodes.drain(..) {
            n.stop().await.expect("stop");
        }
    }
}

/// Reads `/v1/events` with a query, sending each committed event's JSON down the channel.
pub fn follow(
    net: &ApiNet,
    i: usize,
    alias: &str,
    query: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<serde_json::Value> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let path = if query.is_empty() {
        "/v1/events".to_string()
    } else {
        format!("/v1/events?{query}")
    };
    let url = format!("{}{path}", net.api(i));
    let authorization = net.authorization(alias, &path);
    tokio::spawn(async move {
        let mut resp = reqwest::Client::new()
            .get(url)
            .header("authorization", authorization)
            .send()
            .await
            .expect("events");
        let mut buf = String::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) {
                            let _ = tx.send(v);
                        }
                    }
                }
            }
        }
    });
    rx
}
