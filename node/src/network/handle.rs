//! The cloneable handle through which the node commands the network task.

use std::net::SocketAddr;

use tokio::sync::{mpsc, oneshot};

use portledger_ledger::PublicKey;

use super::{NetworkError, SyncStatus, SyncedBlock, Topic};

/// A command for the network task; those with an answer carry a oneshot for it.
pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    RequestBlocks {
        peer: PublicKey,
        from: u64,
        count: u32,
        reply: oneshot::Sender<Result<Vec<SyncedBlock>, NetworkError>>,
    },
    RequestStatus {
        peer: PublicKey,
        reply: oneshot::Sender<Result<SyncStatus, NetworkError>>,
    },
    ConnectedPeers {
        reply: oneshot::Sender<Vec<PublicKey>>,
    },
    Allow {
        keys: Vec<PublicKey>,
        reply: oneshot::Sender<()>,
    },
    ListenAddr {
        reply: oneshot::Sender<Option<SocketAddr>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Commands the network task. Cheap to clone; every method fails with
/// [`NetworkError::Stopped`] (or returns an empty answer) once the task has stopped.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
}

impl NetworkHandle {
    pub(crate) fn new(commands: mpsc::Sender<Command>) -> Self {
        NetworkHandle { commands }
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// Lets `keys` connect too (and their gossip count): node keys that governance admitted
    /// after genesis.
    pub async fn allow(&self, keys: Vec<PublicKey>) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Allow { keys, reply }).await
    }

    /// Gossips a message on a topic. Publishing bytes already seen recently is a success (the
    /// network has them); so is publishing while no peer is subscribed yet: the message waits in
    /// a bounded outbox and is sent when a peer subscribes.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Publish { topic, data, reply })
            .await?
    }

    /// Asks a connected peer for up to `count` consecutive committed blocks from height `from`
    /// (it serves at most 64 and a few MiB per request). The blocks are not verified here.
    pub async fn request_blocks(
        &self,
        peer: PublicKey,
        from: u64,
        count: u32,
    ) -> Result<Vec<SyncedBlock>, NetworkError> {
        self.ask(|reply| Command::RequestBlocks {
            peer,
            from,
            count,
            reply,
        })
        .await?
    }

    /// Asks a connected peer for its committed tip.
    pub async fn request_status(&self, peer: PublicKey) -> Result<SyncStatus, NetworkError> {
        self.ask(|reply| Command::RequestStatus { peer, reply })
            .await?
    }

    /// The peers with at least one established connection, sorted.
    pub async fn connected_peers(&self) -> Vec<PublicKey> {
        self.ask(|reply| Command::ConnectedPeers { reply })
            .await
            .unwrap_or_default()
    }

    /// The address the listener is bound to (the actual port when the configured one was 0);
    /// waits until the listener reports it. `None` once the task has stopped.
    pub async fn listen_addr(&self) -> Option<SocketAddr> {
        self.ask(|reply| Command::ListenAddr { reply })
            .await
            .ok()
            .flatten()
    }

    /// Stops the network task and waits until the swarm (listener and connections) is dropped.
    /// Does nothing if it has already stopped.
    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }
}
