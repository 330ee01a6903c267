//! Named Byzantine behaviours. A Byzantine node runs an honest core underneath (so that its
//! timing is realistic) and the fixture rewrites what it sends.

use portledger_ledger::{Hash, Keypair, Vote, VoteKind};

use super::block::BlockRegistry;
use super::network::WireMessage;
use super::rng::SimRng;
use crate::proposal::SignedProposal;

/// A Byzantine behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// Never sends anything (a dead or muted validator).
    Silent,
    /// When proposer, sends one block to some peers and a conflicting one (sometimes invalid)
    /// to the others.
    EquivocatingProposer,
    /// Signs two different votes for every round and step and spreads them among the peers.
    DoubleVoter,
    /// Ignores locks: prevotes every proposal it receives to some peers and precommits it to
    /// one peer, on top of its honest votes (one node may decide while the others do not hear of
    /// it; with an equivocating proposer, a strong push towards a fork).
    VoteForEverything,
}

impl Fixture {
    /// All fixtures, for random choice.
    pub const ALL: [Fixture; 4] = [
        Fixture::Silent,
        Fixture::EquivocatingProposer,
        Fixture::DoubleVoter,
        Fixture::VoteForEverything,
    ];

    /// Whether the node runs a core at all.
    pub fn runs_core(self) -> bool {
        self != Fixture::Silent
    }
}

/// What a fixture may use to forge messages.
pub struct ByzantineContext<'a> {
    /// The Byzantine node's key.
    pub key: &'a Keypair,
    /// The peers to send to.
    pub peers: &'a [usize],
    /// The run's random source.
    pub rng: &'a mut SimRng,
    /// Block bodies (to make conflicting ones).
    pub registry: &'a mut BlockRegistry,
    /// The chain id.
    pub chain_id: &'a str,
}

impl Fixture {
    /// The messages to send to each peer instead of broadcasting `msg` honestly.
    pub fn broadcast(
        self,
        ctx: &mut ByzantineContext<'_>,
        msg: WireMessage,
    ) -> Vec<(usize, WireMessage)> {
        match (self, &msg) {
            (Fixture::Silent, _) => Vec::new(),
            (Fixture::EquivocatingProposer, WireMessage::Proposal(p)) => {
                let alt = conflicting_proposal(ctx, p);
                ctx.peers
                    .iter()
                    .map(|&to| {
                        let m = if ctx.rng.chance(500) {
                            msg.clone()
                        } else {
                            WireMessage::Proposal(alt.clone())
                        };
                        (to, m)
                    })
                    .collect()
            }
            (Fixture::DoubleVoter, WireMessage::Vote(v)) => {
                let other = if v.body.block.is_some() {
                    None
                } else {
                    Some(Hash::of(&ctx.rng.next_u64().to_le_bytes()))
                };
                let alt = Vote::sign(
                    ctx.key,
                    ctx.chain_id,
                    v.body.height,
                    v.body.round,
                    v.body.kind,
                    other,
                );
                let mut out = Vec::new();
                for &to in ctx.peers {
                    let both = ctx.rng.chance(300);
                    if both || ctx.rng.chance(500) {
                        out.push((to, msg.clone()));
                    }
                    if both || out.last().is_none_or(|(t, _)| *t != to) {
                        out.push((to, WireMessage::Vote(alt.clone())));
                    }
                }
                out
            }
            _ => ctx.peers.iter().map(|&to| (to, msg.clone())).collect(),
        }
    }
}

impl Fixture {
    /// Extra messages a Byzantine node sends when it receives `msg`.
    pub fn on_receive(
        self,
        ctx: &mut ByzantineContext<'_>,
        msg: &WireMessage,
    ) -> Vec<(usize, WireMessage)> {
        let (Fixture::VoteForEverything, WireMessage::Proposal(p)) = (self, msg) else {
            return Vec::new();
        };
        let q = &p.proposal;
        let mut out = Vec::new();
        // Prevotes go to some peers (polkas for anything, seen by some only); the precommit
        // goes to a single peer, so that one node may decide while the others do not hear of it.
        let sign = |kind| {
            Vote::sign(
                ctx.key,
                ctx.chain_id,
                q.height,
                q.round,
                kind,
                Some(q.block_hash),
            )
        };
        let prevote = sign(VoteKind::Prevote);
        let precommit = sign(VoteKind::Precommit);
        for &to in ctx.peers {
            if ctx.rng.chance(600) {
                out.push((to, WireMessage::Vote(prevote.clone())));
            }
        }
        if !ctx.peers.is_empty() {
            let to = ctx.peers[ctx.rng.pick(ctx.peers.len())];
            out.push((to, WireMessage::Vote(precommit)));
        }
        out
    }
}

fn conflicting_proposal(ctx: &mut ByzantineContext<'_>, p: &SignedProposal) -> SignedProposal {
    let q = &p.proposal;
    let mut body = ctx
        .registry
        .get(&q.block_hash)
        .cloned()
        .unwrap_or(super::block::SimBlock {
            height: q.height,
            prev: Hash::ZERO,
            proposer: usize::MAX,
            payload: 0,
            valid: true,
        });
    body.payload = ctx.rng.next_u64();
    body.valid = ctx.rng.chance(500);
    let hash = ctx.registry.insert(body);
    SignedProposal::sign(ctx.key, &q.chain_id, q.height, q.round, hash, q.pol_round)
}
