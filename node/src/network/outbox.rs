//! Messages published while no peer was subscribed to their topic, kept for a retry.

use std::collections::{HashMap, VecDeque};

use super::Topic;

/// Most messages kept per topic; beyond it the oldest are dropped.
pub(crate) const OUTBOX_MAX_MESSAGES: usize = 10_000;
/// Most bytes kept per topic; beyond it the oldest are dropped.
pub(crate) const OUTBOX_MAX_BYTES: usize = 256 * 1024 * 1024;

#[derive(Default)]
struct Queue {
    messages: VecDeque<Vec<u8>>,
    bytes: usize,
}

/// A bounded FIFO of unsent messages per topic.
#[derive(Default)]
pub(crate) struct Outbox {
    queues: HashMap<Topic, Queue>,
}

impl Outbox {
    /// Queues a message at the back; returns how many old messages were dropped to make room.
    pub(crate) fn push(&mut self, topic: Topic, data: Vec<u8>) -> usize {
        let queue = self.queues.entry(topic).or_default();
        queue.bytes += data.len();
        queue.messages.push_back(data);
        let mut dropped = 0;
        while queue.messages.len() > OUTBOX_MAX_MESSAGES || queue.bytes > OUTBOX_MAX_BYTES {
            match queue.messages.pop_front() {
                Some(old) => {
                    queue.bytes -= old.len();
                    dropped += 1;
                }
                None => break,
            }
        }
        dropped
    }

    /// The oldest queued message of a topic.
    pub(crate) fn front(&self, topic: Topic) -> Option<&Vec<u8>> {
        self.queues.get(&topic).and_then(|q| q.messages.front())
    }

    /// Removes the oldest queued message of a topic.
    pub(crate) fn pop(&mut self, topic: Topic) {
        if let Some(queue) = self.queues.get_mut(&topic) {
            if let Some(old) = queue.messages.pop_front() {
                queue.bytes -= old.len();
            }
        }
    }

    /// Number of messages queued for a topic.
    pub(crate) fn len(&self, topic: Topic) -> usize {
        self.queues.get(&topic).map_or(0, |q| q.messages.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_drops_the_oldest_beyond_the_bound() {
        let mut outbox = Outbox::default();
        let mut dropped = 0;
        for i in 0..OUTBOX_MAX_MESSAGES + 5 {
            dropped += outbox.push(Topic::Votes, (i as u64).to_le_bytes().to_vec());
        }
        assert_eq!(dropped, 5);
        assert_eq!(outbox.len(Topic::Votes), OUTBOX_MAX_MESSAGES);
        assert_eq!(
            outbox.front(Topic::Votes),
            Some(&5u64.to_le_bytes().to_vec())
        );
        outbox.pop(Topic::Votes);
        assert_eq!(
            outbox.front(Topic::Votes),
            Some(&6u64.to_le_bytes().to_vec())
        );
        assert_eq!(outbox.len(Topic::Transactions), 0);
    }
}
