//! Gossip over real libp2p on 127.0.0.1: delivery to all, admission, validation, outbox.
#![allow(clippy::unwrap_used)]

mod common;
use common::{config, free_addr, wait_for_peers, DEADLINE};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portledger_ledger::{Keypair, PublicKey};
use portledger_node::network::testing::{accept_all, MemBlockSource};
use portledger_node::network::{
    self, Acceptance, NetworkConfig, NetworkError, NetworkEvent, NetworkHandle, Topic, Validator,
};
use tokio::sync::mpsc::Receiver;
use tokio::time::{sleep, timeout, Instant};

fn start(
    key: &Keypair,
    config: NetworkConfig,
    validator: Validator,
) -> (NetworkHandle, Receiver<NetworkEvent>) {
    network::spawn(key, config, validator, Arc::new(MemBlockSource::empty())).expect("spawn")
}

/// The next gossip message, skipping other events.
async fn next_message(events: &mut Receiver<NetworkEvent>) -> (Topic, Vec<u8>, PublicKey) {
    timeout(DEADLINE, async {
        loop {
            if let NetworkEvent::Message { topic, data, from } =
                events.recv().await.expect("network task alive")
            {
                return (topic, data, from);
            }
        }
    })
    .await
    .expect("message arrives in time")
}

/// Gossip messages received within `within`.
async fn messages_within(
    events: &mut Receiver<NetworkEvent>,
    within: Duration,
) -> Vec<(Topic, Vec<u8>, PublicKey)> {
    let mut found = Vec::new();
    let end = Instant::now() + within;
    while let Ok(Some(event)) = tokio::time::timeout_at(end, events.recv()).await {
        if let NetworkEvent::Message { topic, data, from } = event {
            found.push((topic, data, from));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_each_deliver_every_message_exactly_once() {
    let keys: Vec<Keypair> = (0..4)
        .map(|i| Keypair::for_testing(&format!("validator-{i}")))
        .collect();
    let addrs: Vec<SocketAddr> = (0..4).map(|_| free_addr()).collect();
    let all: Vec<&Keypair> = keys.iter().collect();
    let mut nodes = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let peers: Vec<(&Keypair, SocketAddr)> = (0..4)
            .filter(|j| *j != i)
            .map(|j| (&keys[j], addrs[j]))
            .collect();
        nodes.push(start(key, config(addrs[i], &peers, &all), accept_all()));
    }
    for (i, (handle, _)) in nodes.iter().enumerate() {
        let others: Vec<PublicKey> = (0..4)
            .filter(|j| *j != i)
            .map(|j| keys[j].public())
            .collect();
        wait_for_peers(handle, &others).await;
        assert_eq!(handle.listen_addr().await, Some(addrs[i]));
    }
    // Let subscriptions and meshes settle (a few heartbeats).
    sleep(Duration::from_millis(500)).await;

    for (i, (handle, _)) in nodes.iter().enumerate() {
        for topic in Topic::ALL {
            let data = format!("{topic} from validator-{i}").into_bytes();
            handle.publish(topic, data).await.expect("publish");
        }
    }

    for (i, (_, events)) in nodes.iter_mut().enumerate() {
        let mut expected = BTreeSet::new();
        for (j, key) in keys.iter().enumerate().filter(|(j, _)| *j != i) {
            for topic in Topic::ALL {
                expected.insert((
                    topic.to_string(),
                    format!("{topic} from validator-{j}").into_bytes(),
                    key.public(),
                ));
            }
        }
        let mut received = BTreeSet::new();
        while received.len() < expected.len() {
            let (topic, data, from) = next_message(events).await;
            let fresh = received.insert((topic.to_string(), data, from));
            assert!(fresh, "node {i} received a message twice");
        }
        assert_eq!(received, expected, "node {i}");
    }
    // No duplicates arrive later either.
    sleep(Duration::from_millis(500)).await;
    for (i, (_, events)) in nodes.iter_mut().enumerate() {
        let late = messages_within(events, Duration::from_millis(10)).await;
        assert!(
            late.is_empty(),
            "node {i} received extra messages: {late:?}"
        );
    }
    // Publishing the same bytes again is a success (duplicate).
    nodes[0]
        .0
        .publish(Topic::Votes, b"vote from validator-0".to_vec())
        .await
        .expect("republishing is fine");
    for (handle, _) in &nodes {
        handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_and_its_messages_go_nowhere() {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let stranger = Keypair::for_testing("stranger");
    let (a_net, mut a_events) = start(&a, config(free_addr(), &[], &[&a, &b]), accept_all());
    let a_addr = a_net.listen_addr().await.expect("a listens");
    let (b_net, mut b_events) = start(
        &b,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b]),
        accept_all(),
    );
    // The stranger allows everyone and keeps dialling a.
    let (s_net, mut s_events) = start(
        &stranger,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b, &stranger]),
        accept_all(),
    );
    wait_for_peers(&a_net, &[b.public()]).await;
    wait_for_peers(&b_net, &[a.public()]).await;

    s_net
        .publish(Topic::Transactions, b"from the stranger".to_vec())
        .await
        .expect("publishing without peers is queued");
    sleep(Duration::from_millis(300)).await;
    b_net
        .publish(Topic::Transactions, b"from b".to_vec())
        .await
        .expect("publish");

    let (_, data, from) = next_message(&mut a_events).await;
    assert_eq!((data.as_slice(), from), (&b"from b"[..], b.public()));

    // Over two seconds (ten redials), the stranger never gets in and its message never arrives.
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        assert!(!a_net.connected_peers().await.contains(&stranger.public()));
        sleep(Duration::from_millis(100)).await;
    }
    for events in [&mut a_events, &mut b_events] {
        let got = messages_within(events, Duration::from_millis(100)).await;
        assert!(
            got.iter().all(|(_, _, from)| *from != stranger.public()),
            "stranger's message delivered: {got:?}"
        );
    }
    // The stranger did get through tcp and Noise (it allows a), and was cut off by a's allow
    // list, again and again.
    let mut stranger_saw = Vec::new();
    while let Ok(event) = s_events.try_recv() {
        stranger_saw.push(event);
    }
    assert!(
        stranger_saw.contains(&NetworkEvent::PeerConnected(a.public()))
            && stranger_saw.contains(&NetworkEvent::PeerDisconnected(a.public())),
        "stranger's events: {stranger_saw:?}"
    );
    // Nor was anything relayed to it.
    assert!(
        !stranger_saw
            .iter()
            .any(|e| matches!(e, NetworkEvent::Message { .. })),
        "stranger received gossip: {stranger_saw:?}"
    );
    for net in [a_net, b_net, s_net] {
        net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_message_is_neither_delivered_nor_relayed() {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let c = Keypair::for_testing("validator-2");
    // A line a - b - c: all three are in genesis, but a and c do not know each other's address.
    let (b_net, mut b_events) = start(
        &b,
        config(free_addr(), &[], &[&a, &b, &c]),
        Arc::new(|_, data: &[u8]| {
            if data.starts_with(b"bad") {
                Acceptance::Reject
            } else {
                Acceptance::Accept
            }
        }),
    );
    let b_addr = b_net.listen_addr().await.expect("b listens");
    let (a_net, _a_events) = start(
        &a,
        config(free_addr(), &[(&b, b_addr)], &[&a, &b, &c]),
        accept_all(),
    );
    let (c_net, mut c_events) = start(
        &c,
        config(free_addr(), &[(&b, b_addr)], &[&a, &b, &c]),
        accept_all(),
    );
    wait_for_peers(&b_net, &[a.public(), c.public()]).await;
    sleep(Duration::from_millis(500)).await;

    a_net
        .publish(Topic::Votes, b"bad vote".to_vec())
        .await
        .expect("publish");
    a_net
        .publish(Topic::Votes, b"good vote".to_vec())
        .await
        .expect("publish");

    // The good one crosses b to c, so relaying works; the bad one never shows up anywhere.
    let (topic, data, from) = next_message(&mut c_events).await;
    assert_eq!(
        (topic, data.as_slice(), from),
        (Topic::Votes, &b"good vote"[..], a.public())
    );
    let (_, data, _) = next_message(&mut b_events).await;
    assert_eq!(data, b"good vote");
    sleep(Duration::from_millis(500)).await;
    for events in [&mut b_events, &mut c_events] {
        let got = messages_within(events, Duration::from_millis(100)).await;
        assert!(got.is_empty(), "unexpected messages: {got:?}");
    }
    assert!(!c_net.connected_peers().await.contains(&a.public()));
    for net in [a_net, b_net, c_net] {
        net.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_published_before_any_peer_is_delivered_later() {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let (a_net, _a_events) = start(&a, config(free_addr(), &[], &[&a, &b]), accept_all());
    let a_addr = a_net.listen_addr().await.expect("a listens");
    for i in 0..3 {
        a_net
            .publish(Topic::Proposals, format!("early {i}").into_bytes())
            .await
            .expect("queued in the outbox");
    }
    sleep(Duration::from_millis(300)).await;

    let (b_net, mut b_events) = start(
        &b,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b]),
        accept_all(),
    );
    for i in 0..3 {
        let (topic, data, from) = next_message(&mut b_events).await;
        assert_eq!(
            (topic, data, from),
            (
                Topic::Proposals,
                format!("early {i}").into_bytes(),
                a.public()
            )
        );
    }
    a_net.shutdown().await;
    b_net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_message_that_fits_is_delivered_and_a_larger_one_refused() {
    let a = Keypair::for_testing("validator-0");
    let b = Keypair::for_testing("validator-1");
    let a_config = config(free_addr(), &[], &[&a, &b]);
    let limit = a_config.max_payload_bytes(Topic::Proposals);
    assert!(limit > 1000 * 1000, "1 MiB less a small envelope");
    let (a_net, _a_events) = start(&a, a_config, accept_all());
    let a_addr = a_net.listen_addr().await.expect("a listens");
    let (b_net, mut b_events) = start(
        &b,
        config(free_addr(), &[(&a, a_addr)], &[&a, &b]),
        accept_all(),
    );
    wait_for_peers(&a_net, &[b.public()]).await;

    a_net
        .publish(Topic::Proposals, vec![7; limit])
        .await
        .expect("a message of the limit is published");
    let (_, data, _) = next_message(&mut b_events).await;
    assert_eq!(data, vec![7; limit]);

    match a_net.publish(Topic::Proposals, vec![8; limit + 1]).await {
        Err(NetworkError::MessageTooLarge { len, limit: l }) => {
            assert_eq!((len, l), (limit + 1, limit));
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    a_net.shutdown().await;
    b_net.shutdown().await;
}
