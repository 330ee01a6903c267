//! The gossip topics and their per-chain names.

use std::fmt;

use libp2p::gossipsub::{IdentTopic, TopicHash};

/// A gossipsub topic. Its name includes the chain id: `portledger/<chain_id>/tx` etc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Signed transactions on their way to the mempools.
    Transactions,
    /// Block proposals.
    Proposals,
    /// Consensus votes.
    Votes,
}

impl Topic {
    /// All topics, each node subscribes to all of them.
    pub const ALL: [Topic; 3] = [Topic::Transactions, Topic::Proposals, Topic::Votes];

    /// Short name, the last part of the topic name.
    pub fn short_name(self) -> &'static str {
        match self {
            Topic::Transactions => "tx",
            Topic::Proposals => "proposal",
            Topic::Votes => "vote",
        }
    }

    /// The full gossipsub topic name on this chain.
    pub fn name(self, chain_id: &str) -> String {
        format!("portledger/{chain_id}/{}", self.short_name())
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// The three topics of one chain, and the way back from a gossipsub hash.
pub(crate) struct ChainTopics {
    topics: [(Topic, IdentTopic); 3],
}

impl ChainTopics {
    pub(crate) fn new(chain_id: &str) -> Self {
        ChainTopics {
            topics: Topic::ALL.map(|t| (t, IdentTopic::new(t.name(chain_id)))),
        }
    }

    pub(crate) fn get(&self, topic: Topic) -> &IdentTopic {
        let index = match topic {
            Topic::Transactions => 0,
            Topic::Proposals => 1,
            Topic::Votes => 2,
        };
        &self.topics[index].1
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &IdentTopic> {
        self.topics.iter().map(|(_, t)| t)
    }

    pub(crate) fn lookup(&self, hash: &TopicHash) -> Option<Topic> {
        self.topics
            .iter()
            .find(|(_, t)| t.hash() == *hash)
            .map(|(topic, _)| *topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_include_the_chain_id_and_map_back() {
        assert_eq!(Topic::Votes.name("demo"), "portledger/demo/vote");
        let topics = ChainTopics::new("demo");
        for t in Topic::ALL {
            assert_eq!(topics.lookup(&topics.get(t).hash()), Some(t));
        }
        let other = ChainTopics::new("other");
        assert_eq!(topics.lookup(&other.get(Topic::Transactions).hash()), None);
    }
}
