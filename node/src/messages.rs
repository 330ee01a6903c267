//! What nodes gossip: batches of transactions, proposals (with the proposed block beside them) and votes,
//! all in the ledger's canonical encoding, and the check each message passes before relay.

use portledger_consensus::SignedProposal;
use portledger_ledger::block::Block;
use portledger_ledger::codec::{self, CodecError};
use portledger_ledger::{Genesis, Hash, PublicKey, Transaction, Vote};
use serde::{Deserialize, Serialize};

use crate::network::{Acceptance, Topic, Validator};

/// Largest encoded vote.
pub const MAX_VOTE_BYTES: usize = 1024;

/// A signed proposal with the block it proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalMessage {
    /// The signed proposal (names the block by hash).
    pub proposal: SignedProposal,
    /// The block.
    pub block: Block,
    /// How many times the sender re-sent it: gossip deduplicates identical bytes, so a re-send
    /// (for peers that joined or reconnected after the first) must differ. Not signed; the
    /// consensus core ignores duplicates.
    pub resend: u32,
}

/// A vote as gossiped, with the sender's re-send counter (see [`ProposalMessage::resend`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteMessage {
    /// The signed vote.
    pub vote: Vote,
    /// Re-send counter.
    pub resend: u32,
}

/// Size limits for decoding gossip, from genesis.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest transaction.
    pub tx_bytes: usize,
    /// Largest proposal message (block plus margin).
    pub proposal_bytes: usize,
    /// Largest gossiped transaction batch.
    pub tx_batch_bytes: usize,
}

impl Limits {
    /// The limits a genesis implies.
    pub fn of(genesis: &Genesis) -> Limits {
        Limits {
            tx_bytes: genesis.consensus.max_tx_bytes as usize,
            proposal_bytes: genesis.consensus.max_block_bytes as usize + 1024 * 1024,
            tx_batch_bytes: crate::submission::MAX_BATCH_BYTES
                + genesis.consensus.max_tx_bytes as usize,
        }
    }
}

/// Decodes a gossiped proposal.
pub fn decode_proposal(data: &[u8], limits: &Limits) -> Result<ProposalMessage, CodecError> {
    codec::decode(data, limits.proposal_bytes)
}

/// Decodes a gossiped batch of transactions (see [`crate::submission`]): at most
/// `limits.tx_batch_bytes`, each transaction at most `limits.tx_bytes`.
pub fn decode_tx_batch(data: &[u8], limits: &Limits) -> Result<Vec<Transaction>, CodecError> {
    let txs: Vec<Transaction> = codec::decode(data, limits.tx_batch_bytes)?;
    for tx in &txs {
        let size = codec::encode(tx).len();
        if size > limits.tx_bytes {
            return Err(CodecError::TooLarge {
                len: size,
                limit: limits.tx_bytes,
            });
        }
    }
    Ok(txs)
}

/// Decodes a gossiped vote.
pub fn decode_vote(data: &[u8]) -> Result<Vote, CodecError> {
    codec::decode::<VoteMessage>(data, MAX_VOTE_BYTES).map(|m| m.vote)
}

/// The relay check: the message decodes within its size limit, is for this chain, and its
/// signature verifies (every transaction of a batch, checked together; a proposal from a key
/// `seated` (past, present or scheduled validator) whose block matches the hash it signed; a
/// vote from such a key). Everything else is rejected and not relayed. The hash of each
/// transaction whose signature verified is passed to `verified`, so that the mempool need not
/// check it again.
pub fn validator(
    chain_id: String,
    seated: impl Fn(&PublicKey) -> bool + Send + Sync + 'static,
    limits: Limits,
    verified: impl Fn(Hash) + Send + Sync + 'static,
) -> Validator {
    std::sync::Arc::new(move |topic, data| {
        let ok = match topic {
            Topic::Transactions => decode_tx_batch(data, &limits)
                .map(|txs| {
                    let items: Vec<_> = txs.iter().map(Transaction::signature_item).collect();
                    let ok = !txs.is_empty()
                        && txs.iter().all(|tx| tx.body.chain_id == chain_id)
                        && portledger_ledger::crypto::verify_batch(&items);
                    if ok {
                        for tx in &txs {
                            verified(tx.hash());
                        }
                    }
                    ok
                })
                .unwrap_or(false),
            Topic::Proposals => decode_proposal(data, &limits)
                .map(|m| {
                    let p = &m.proposal.proposal;
                    p.chain_id == chain_id
                        && seated(&p.proposer)
                        && m.block.hash() == p.block_hash
                        && m.block.header.height == p.height
                        && m.proposal.verify_signature().is_ok()
                })
                .unwrap_or(false),
            Topic::Votes => decode_vote(data)
                .map(|v| {
                    v.body.chain_id == chain_id
                        && seated(&v.body.validator)
                        && v.verify_signature().is_ok()
                })
                .unwrap_or(false),
        };
        if ok {
            Acceptance::Accept
        } else {
            Acceptance::Reject
        }
    })
}
