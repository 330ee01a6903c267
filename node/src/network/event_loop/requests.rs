//! Sync requests on the event loop: ours to peers (capped per peer, answered through
//! oneshots or as `PeerStatus` events) and peers' to us (served on the blocking pool).

use std::sync::Arc;

use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::PeerId;
use tokio::sync::oneshot;
use tracing::{debug, trace, warn};

use portledger_ledger::PublicKey;

use super::EventLoop;
use crate::network::identity::peer_id;
use crate::network::sync::{self, SyncRequest, SyncResponse};
use crate::network::{NetworkError, NetworkEvent, SyncStatus, SyncedBlock};

/// Most sync requests in flight to one peer.
const MAX_REQUESTS_PER_PEER: usize = 4;
/// Most inbound sync requests being served (on the blocking pool) at once.
const MAX_CONCURRENT_SERVES: usize = 16;

/// A sync request of ours waiting for its answer.
pub(super) enum Pending {
    /// Asked by the node, or by the periodic status poll (no reply channel).
    Status {
        peer: PublicKey,
        reply: Option<oneshot::Sender<Result<SyncStatus, NetworkError>>>,
    },
    Blocks {
        peer: PublicKey,
        count: u32,
        reply: oneshot::Sender<Result<Vec<SyncedBlock>, NetworkError>>,
    },
}

impl EventLoop {
    pub(super) fn send_request(
        &mut self,
        peer: PublicKey,
        request: SyncRequest,
    ) -> Result<OutboundRequestId, NetworkError> {
        let id = peer_id(&peer)?;
        if !self.connected.contains_key(&id) {
            return Err(NetworkError::NotConnected(peer));
        }
        let in_flight = self.in_flight.entry(id).or_default();
        if *in_flight >= MAX_REQUESTS_PER_PEER {
            return Err(NetworkError::TooManyRequests {
                peer,
                limit: MAX_REQUESTS_PER_PEER,
            });
        }
        *in_flight += 1;
        trace!(%peer, ?request, "sync request");
        Ok(self
            .swarm
            .behaviour_mut()
            .block_sync
            .send_request(&id, request))
    }

    pub(super) fn poll_statuses(&mut self) {
        let peers: Vec<PublicKey> = self.connected.values().copied().collect();
        for peer in peers {
            self.ask_status(peer);
        }
    }

    /// Asks a peer for its status unless a periodic request to it is still pending.
    pub(super) fn ask_status(&mut self, peer: PublicKey) {
        let Ok(id) = peer_id(&peer) else { return };
        if self.status_in_flight.contains(&id) {
            return;
        }
        match self.send_request(peer, SyncRequest::Status) {
            Ok(request) => {
                self.status_in_flight.insert(id);
                self.pending
                    .insert(request, Pending::Status { peer, reply: None });
            }
            Err(e) => debug!(%peer, error = %e, "status poll skipped"),
        }
    }

    // ---- sync protocol events ----

    pub(super) fn on_sync_event(
        &mut self,
        event: request_response::Event<SyncRequest, SyncResponse>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.complete(request_id, Ok(response)),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => self.complete(request_id, Err(error.to_string())),
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { peer, .. } => {
                trace!(%peer, "sync response sent");
            }
        }
    }

    pub(super) fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        trace!(%peer, ?request, "sync request received");
        if self.serving.len() >= MAX_CONCURRENT_SERVES {
            debug!(%peer, "too many sync requests being served; refusing");
            let busy = SyncResponse::Error("busy: too many requests being served".into());
            if self
                .swarm
                .behaviour_mut()
                .block_sync
                .send_response(channel, busy)
                .is_err()
            {
                debug!(%peer, "sync response not sent: connection gone");
            }
            return;
        }
        let source = Arc::clone(&self.source);
        self.serving.spawn_blocking(move || {
            let response = sync::serve(source.as_ref(), request);
            (peer, channel, response)
        });
    }

    pub(super) fn on_served(
        &mut self,
        served: Result<
            (PeerId, ResponseChannel<SyncResponse>, SyncResponse),
            tokio::task::JoinError,
        >,
    ) {
        match served {
            Ok((peer, channel, response)) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .block_sync
                    .send_response(channel, response)
                    .is_err()
                {
                    debug!(%peer, "sync response not sent: connection gone or request timed out");
                }
            }
            // The response channel is lost with the task: the peer sees its request fail.
            Err(e) => warn!(error = %e, "block source failed while serving a sync request"),
        }
    }

    pub(super) fn complete(
        &mut self,
        request_id: OutboundRequestId,
        result: Result<SyncResponse, String>,
    ) {
        let Some(pending) = self.pending.remove(&request_id) else {
            return;
        };
        let peer = match &pending {
            Pending::Status { peer, .. } | Pending::Blocks { peer, .. } => *peer,
        };
        if let Ok(id) = peer_id(&peer) {
            if let Some(n) = self.in_flight.get_mut(&id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.in_flight.remove(&id);
                }
            }
            if matches!(pending, Pending::Status { reply: None, .. }) {
                self.status_in_flight.remove(&id);
            }
        }
        let failed = |reason: String| NetworkError::RequestFailed { peer, reason };
        match pending {
            Pending::Status { reply, .. } => {
                let answer = match result {
                    Ok(SyncResponse::Status(status)) => {
                        trace!(%peer, height = status.height, "peer status");
                        self.emit(NetworkEvent::PeerStatus {
                            peer,
                            status: status.clone(),
                        });
                        Ok(status)
                    }
                    Ok(SyncResponse::Error(message)) => Err(NetworkError::Remote { peer, message }),
                    Ok(other) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: "a status".into(),
                        found: other.kind().into(),
                    }),
                    Err(reason) => Err(failed(reason)),
                };
                match reply {
                    Some(reply) => {
                        let _ = reply.send(answer);
                    }
                    None => {
                        if let Err(e) = answer {
                            debug!(%peer, error = %e, "status poll failed");
                        }
                    }
                }
            }
            Pending::Blocks { count, reply, .. } => {
                let answer = match result {
                    Ok(SyncResponse::Blocks(blocks)) if blocks.len() <= count as usize => {
                        Ok(blocks)
                    }
                    Ok(SyncResponse::Blocks(blocks)) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: format!("at most {count} blocks"),
                        found: format!("{} blocks", blocks.len()),
                    }),
                    Ok(SyncResponse::Error(message)) => Err(NetworkError::Remote { peer, message }),
                    Ok(other) => Err(NetworkError::UnexpectedResponse {
                        peer,
                        expected: "blocks".into(),
                        found: other.kind().into(),
                    }),
                    Err(reason) => Err(failed(reason)),
                };
                let _ = reply.send(answer);
            }
        }
    }
}
