//! Messages for the next height, kept (within a bound) until that height starts.

use std::collections::BTreeMap;

use portledger_ledger::{PublicKey, Vote};

use crate::proposal::SignedProposal;

/// A verified message from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A proposal.
    Proposal(SignedProposal),
    /// A vote.
    Vote(Vote),
}

impl Message {
    /// The signer.
    pub fn sender(&self) -> PublicKey {
        match self {
            Message::Proposal(p) => p.proposal.proposer,
            Message::Vote(v) => v.body.validator,
        }
    }

    /// The height the message is for.
    pub fn height(&self) -> u64 {
        match self {
            Message::Proposal(p) => p.proposal.height,
            Message::Vote(v) => v.body.height,
        }
    }
}

/// Signature-checked messages for one future height, at most `per_sender` per signer, so that
/// no validator can crowd out the others.
#[derive(Debug, Clone)]
pub struct FutureBuffer {
    height: u64,
    per_sender: usize,
    messages: BTreeMap<PublicKey, Vec<Message>>,
}

impl FutureBuffer {
    /// An empty buffer allowing `total` messages shared among `validators` senders.
    pub fn new(total: usize, validators: usize) -> Self {
        FutureBuffer {
            height: 0,
            per_sender: (total / validators.max(1)).max(4),
            messages: BTreeMap::new(),
        }
    }

    /// Whether this exact message is already kept.
    pub fn contains(&self, m: &Message) -> bool {
        m.height() == self.height
            && self
                .messages
                .get(&m.sender())
                .is_some_and(|list| list.contains(m))
    }

    /// Keeps a message for a later height; a message for another height than the one kept
    /// so far replaces nothing and is kept only if newer (older heights are dropped). Returns
    /// whether it was kept.
    pub fn push(&mut self, m: Message) -> bool {
        let h = m.height();
        if h < self.height {
            return false;
        }
        if h > self.height {
            self.messages.clear();
            self.height = h;
        }
        let list = self.messages.entry(m.sender()).or_default();
        if list.len() >= self.per_sender || list.contains(&m) {
            return false;
        }
        list.push(m);
        true
    }

    /// Removes and returns the messages kept for `height`; anything older is dropped.
    pub fn take(&mut self, height: u64) -> Vec<Message> {
        if self.height > height {
            return Vec::new();
        }
        let out = if self.height == height {
            std::mem::take(&mut self.messages)
                .into_values()
                .flatten()
                .collect()
        } else {
            self.messages.clear();
            Vec::new()
        };
        self.height = height;
        out
    }

    /// Number of messages kept.
    pub fn len(&self) -> usize {
        self.messages.values().map(Vec::len).sum()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::{Keypair, VoteKind};

    #[test]
    fn bounded_per_sender_and_by_height() {
        let a = Keypair::for_testing("a");
        let b = Keypair::for_testing("b");
        let mut buf = FutureBuffer::new(8, 2);
        for r in 0..6 {
            let kept = buf.push(Message::Vote(Vote::sign(
                &a,
                "c",
                5,
                r,
                VoteKind::Prevote,
                None,
            )));
            assert_eq!(kept, r < 4, "round {r}");
        }
        assert!(buf.push(Message::Vote(Vote::sign(
            &b,
            "c",
            5,
            0,
            VoteKind::Prevote,
            None
        ))));
        assert!(!buf.push(Message::Vote(Vote::sign(
            &b,
            "c",
            4,
            0,
            VoteKind::Prevote,
            None
        ))));
        assert_eq!(buf.len(), 5);
        assert!(buf.take(4).is_empty());
        assert_eq!(buf.take(5).len(), 5);
        assert!(buf.is_empty());
    }
}
