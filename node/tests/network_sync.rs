//! Block sync and reconnection over real libp2p on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;
use common::{config, free_addr, wait_for_peers, DEADLINE};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portledger_ledger::{Hash, Keypair, PublicKey};
use portledger_node::network::testing::{accept_all, MemBlockSource};
use portledger_node::network::{
    self, BlockSource, NetworkConfig, NetworkError, NetworkEvent, NetworkHandle, SyncStatus,
    SyncedBlock, Topic,
};
use tokio::sync::mpsc::Receiver;
use tokio::time::{sleep, timeout};

fn start(
    key: &Keypair,
    config: NetworkConfig,
    source: Arc<dyn BlockSource>,
) -> (NetworkHandle, Receiver<NetworkEvent>) {
    network::spawn(key, config, accept_all(), source).expect("spawn")
}

async fn wait_for_event(
    events: &mut Receiver<NetworkEvent>,
    mut wanted: impl FnMut(&NetworkEvent) -> bool,
) -> NetworkEvent {
    timeout(DEADLINE, async {
        loop {
            let event = events.recv().await.expect("network task alive");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("event arrives in time")
}

fn block(height: u64) -> SyncedBlock {
    SyncedBlock {
        block: format!("block {height}").into_bytes(),
        certificate: format!("certificate {height}").into_bytes(),
    }
}

fn hundred_blocks() -> MemBlockSource {
    MemBlockSource::new(
        SyncStatus {
            height: 100,
            hash: Hash::of(b"block 100"),
        },
        (1..=100).map(block).collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serves_blocks_and_status() {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let stranger = Keypair::for_testing("stranger");
    let (a_net, mut a_events) = start(
        &a,
        config(free_addr(), &[], &[&a, &b]),
        Arc::new(hundred_blocks()),
    );
    let a_addr = a_net.listen_addr().await.expect("a listens");
    let (b_net, mut b_events) = start(
        &b,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b]),
        Arc::new(MemBlockSource::empty()),
    );
    wait_for_peers(&b_net, &[a.public()]).await;

    let blocks = b_net
        .request_blocks(a.public(), 1, 64)
        .await
        .expect("blocks");
    assert_eq!(blocks, (1..=64).map(block).collect::<Vec<_>>());
    let tail = b_net
        .request_blocks(a.public(), 90, 64)
        .await
        .expect("blocks up to the tip");
    assert_eq!(tail, (90..=100).map(block).collect::<Vec<_>>());
    // More than 64 asked: at most 64 served.
    let capped = b_net
        .request_blocks(a.public(), 1, 1000)
        .await
        .expect("capped blocks");
    assert_eq!(capped.len(), 64);

    let status = b_net.request_status(a.public()).await.expect("status");
    assert_eq!(status, hundred_blocks().status());

    // Learned on connect (and every two seconds), both ways.
    let event = wait_for_event(&mut b_events, |e| {
        matches!(e, NetworkEvent::PeerStatus { .. })
    })
    .await;
    assert_eq!(
        event,
        NetworkEvent::PeerStatus {
            peer: a.public(),
            status: hundred_blocks().status()
        }
    );
    let event = wait_for_event(&mut a_events, |e| {
        matches!(e, NetworkEvent::PeerStatus { .. })
    })
    .await;
    assert_eq!(
        event,
        NetworkEvent::PeerStatus {
            peer: b.public(),
            status: MemBlockSource::empty().status()
        }
    );

    match b_net.request_blocks(stranger.public(), 1, 1).await {
        Err(NetworkError::NotConnected(peer)) => assert_eq!(peer, stranger.public()),
        other => panic!("expected NotConnected, got {other:?}"),
    }
    a_net.shutdown().await;
    b_net.shutdown().await;
    assert!(matches!(
        b_net.request_status(a.public()).await,
        Err(NetworkError::Stopped)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_is_redialled_and_gossip_flows_again() {
    let keys: Vec<Keypair> = (0..3)
        .map(|i| Keypair::for_testing(&format!("validator-{i}")))
        .collect();
    let addrs: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
    let all: Vec<&Keypair> = keys.iter().collect();
    let node_config = |i: usize| {
        let peers: Vec<(&Keypair, SocketAddr)> = (0..3)
            .filter(|j| *j != i)
            .map(|j| (&keys[j], addrs[j]))
            .collect();
        config(addrs[i], &peers, &all)
    };
    let mut nodes: Vec<(NetworkHandle, Receiver<NetworkEvent>)> = (0..3)
        .map(|i| start(&keys[i], node_config(i), Arc::new(MemBlockSource::empty())))
        .collect();
    for (i, (handle, _)) in nodes.iter().enumerate() {
        let others: Vec<PublicKey> = (0..3)
            .filter(|j| *j != i)
            .map(|j| keys[j].public())
            .collect();
        wait_for_peers(handle, &others).await;
    }

    // Stop node 2; the others notice.
    nodes[2].0.shutdown().await;
    let gone = keys[2].public();
    for (handle, events) in nodes.iter_mut().take(2) {
        wait_for_event(events, |e| *e == NetworkEvent::PeerDisconnected(gone)).await;
        assert!(!handle.connected_peers().await.contains(&gone));
    }

    // Start it again with the same key and address: the others redial it.
    let restarted = start(&keys[2], node_config(2), Arc::new(MemBlockSource::empty()));
    nodes[2] = restarted;
    timeout(Duration::from_secs(5), async {
        for (handle, _) in nodes.iter().take(2) {
            wait_for_peers(handle, &[gone]).await;
        }
    })
    .await
    .expect("reconnected within five seconds");
    sleep(Duration::from_millis(500)).await;

    nodes[2]
        .0
        .publish(Topic::Transactions, b"back again".to_vec())
        .await
        .expect("publish");
    nodes[0]
        .0
        .publish(Topic::Votes, b"welcome back".to_vec())
        .await
        .expect("publish");
    for (_, events) in nodes.iter_mut().take(2) {
        let event = wait_for_event(events, |e| {
            matches!(
                e,
                NetworkEvent::Message {
                    topic: Topic::Transactions,
                    ..
                }
            )
        })
        .await;
        assert_eq!(
            event,
            NetworkEvent::Message {
                topic: Topic::Transactions,
                data: b"back again".to_vec(),
                from: gone
            }
        );
    }
    let event = wait_for_event(&mut nodes[2].1, |e| {
        matches!(e, NetworkEvent::Message { .. })
    })
    .await;
    assert_eq!(
        event,
        NetworkEvent::Message {
            topic: Topic::Votes,
            data: b"welcome back".to_vec(),
            from: keys[0].public()
        }
    );
    for (handle, _) in &nodes {
        handle.shutdown().await;
    }
}

/// Serves slowly, or panics: a block source that misbehaves.
struct Misbehaving {
    delay: Duration,
    panics: bool,
}

impl BlockSource for Misbehaving {
    fn status(&self) -> SyncStatus {
        MemBlockSource::empty().status()
    }

    fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock> {
        assert!(!self.panics, "block store unreadable");
        std::thread::sleep(self.delay);
        (from..from + u64::from(count)).map(block).collect()
    }
}

async fn connected_pair(source: Arc<dyn BlockSource>) -> (NetworkHandle, NetworkHandle, Keypair) {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let (a_net, _) = start(&a, config(free_addr(), &[], &[&a, &b]), source);
    let a_addr = a_net.listen_addr().await.expect("a listens");
    let (b_net, _) = start(
        &b,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b]),
        Arc::new(MemBlockSource::empty()),
    );
    wait_for_peers(&b_net, &[a.public()]).await;
    (a_net, b_net, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_to_one_peer_are_capped() {
    let slow = Misbehaving {
        delay: Duration::from_millis(500),
        panics: false,
    };
    let (a_net, b_net, a) = connected_pair(Arc::new(slow)).await;
    let requests = (0..8).map(|i| {
        let b_net = b_net.clone();
        let peer = a.public();
        async move { b_net.request_blocks(peer, i * 10 + 1, 10).await }
    });
    let results = timeout(DEADLINE, futures::future::join_all(requests))
        .await
        .expect("answers in time");
    let served = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(NetworkError::TooManyRequests { limit: 4, .. })))
        .count();
    assert!((1..=4).contains(&served), "{results:?}");
    assert_eq!(served + refused, 8, "{results:?}");
    for (i, result) in results.iter().enumerate() {
        if let Ok(blocks) = result {
            let from = i as u64 * 10 + 1;
            assert_eq!(blocks, &(from..from + 10).map(block).collect::<Vec<_>>());
        }
    }
    a_net.shutdown().await;
    b_net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_block_source_fails_the_request_not_the_network() {
    let broken = Misbehaving {
        delay: Duration::ZERO,
        panics: true,
    };
    let (a_net, b_net, a) = connected_pair(Arc::new(broken)).await;
    let result = timeout(DEADLINE, b_net.request_blocks(a.public(), 1, 10))
        .await
        .expect("fails in time");
    assert!(
        matches!(result, Err(NetworkError::RequestFailed { .. })),
        "{result:?}"
    );
    // Both network tasks still answer.
    let status = b_net.request_status(a.public()).await.expect("status");
    assert_eq!(status, MemBlockSource::empty().status());
    assert_eq!(a_net.connected_peers().await.len(), 1);
    a_net.shutdown().await;
    b_net.shutdown().await;
}
