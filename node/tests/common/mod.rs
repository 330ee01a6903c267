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
        peers: peers.iter().map(|(k, a)| (k.public(), *a)).collect(),
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
