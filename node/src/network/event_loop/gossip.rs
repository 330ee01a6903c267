//! Gossip on the event loop: publishing, the outbox, and validating received messages.

use std::panic::AssertUnwindSafe;

use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use tracing::{debug, warn};

use super::EventLoop;
use crate::network::identity::public_key;
use crate::network::{Acceptance, NetworkError, NetworkEvent, Topic};

impl EventLoop {
    pub(super) fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        let len = data.len();
        let limit = self
            .max_payload
            .iter()
            .find(|(t, _)| *t == topic)
            .map_or(0, |(_, limit)| *limit);
        if len > limit {
            return Err(NetworkError::MessageTooLarge { len, limit });
        }
        if self.outbox.len(topic) > 0 {
            // Keep the order: older unsent messages of this topic go first.
            self.queue(topic, data);
            self.flush_topic(topic);
            return Ok(());
        }
        let hash = self.topics.get(topic).hash();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(hash, data.clone())
        {
            Ok(id) => {
                debug!(%topic, len, message_id = %id, "published");
                Ok(())
            }
            Err(PublishError::Duplicate) => {
                debug!(%topic, len, "already published or seen; not sent again");
                Ok(())
            }
            Err(PublishError::NoPeersSubscribedToTopic) => {
                debug!(%topic, len, "no peer subscribed yet; message queued");
                self.queue(topic, data);
                Ok(())
            }
            Err(PublishError::AllQueuesFull(peers)) => {
                // Gossipsub keeps it in its message cache: peers may still fetch it by gossip.
                warn!(%topic, len, peers, "every peer's send queue is full; message not sent");
                Ok(())
            }
            Err(PublishError::MessageTooLarge) => Err(NetworkError::MessageTooLarge { len, limit }),
            Err(e) => Err(NetworkError::Publish(e.to_string())),
        }
    }

    pub(super) fn queue(&mut self, topic: Topic, data: Vec<u8>) {
        let dropped = self.outbox.push(topic, data);
        if dropped > 0 {
            warn!(%topic, dropped, "outbox full; oldest unsent messages dropped");
        }
    }

    pub(super) fn flush_outbox(&mut self) {
        for topic in Topic::ALL {
            self.flush_topic(topic);
        }
    }

    /// Publishes queued messages of a topic in order until gossipsub has no peer for it.
    pub(super) fn flush_topic(&mut self, topic: Topic) {
        let hash = self.topics.get(topic).hash();
        while let Some(data) = self.outbox.front(topic) {
            let data = data.clone();
            match self
                .swarm
                .behaviour_mut()
                .gossipsub
                .publish(hash.clone(), data)
            {
                Ok(id) => debug!(%topic, message_id = %id, "queued message published"),
                Err(PublishError::Duplicate) => {}
                Err(PublishError::NoPeersSubscribedToTopic) => return,
                Err(e) => warn!(%topic, error = %e, "queued message dropped"),
            }
            self.outbox.pop(topic);
        }
    }

    pub(super) fn on_gossip_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let topic = self.topics.lookup(&message.topic);
                let from = message
                    .source
                    .filter(|source| self.allowed.contains(source))
                    .and_then(|source| public_key(&source).ok());
                let acceptance = match (topic, from) {
                    (Some(topic), Some(_)) => {
                        let validator = &self.validator;
                        std::panic::catch_unwind(AssertUnwindSafe(|| {
                            validator(topic, &message.data)
                        }))
                        .unwrap_or_else(|_| {
                            warn!(%topic, "validator panicked; message rejected");
                            Acceptance::Reject
                        })
                    }
                    _ => Acceptance::Reject,
                };
                debug!(
                    ?topic,
                    from = ?from,
                    via = %propagation_source,
                    id = %message_id,
                    len = message.data.len(),
                    ?acceptance,
                    "gossip message"
                );
                let verdict = match acceptance {
                    Acceptance::Accept => MessageAcceptance::Accept,
                    Acceptance::Reject => MessageAcceptance::Reject,
                    Acceptance::Ignore => MessageAcceptance::Ignore,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, verdict);
                if let (Acceptance::Accept, Some(topic), Some(from)) = (acceptance, topic, from) {
                    self.emit(NetworkEvent::Message {
                        topic,
                        data: message.data,
                        from,
                    });
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer subscribed");
                if let Some(topic) = self.topics.lookup(&topic) {
                    self.flush_topic(topic);
                }
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                debug!(peer = %peer_id, %topic, "peer unsubscribed");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                warn!(peer = %peer_id, ?failed_messages, "slow peer: gossip to it dropped");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                warn!(peer = %peer_id, "peer does not speak gossipsub");
            }
        }
    }
}
