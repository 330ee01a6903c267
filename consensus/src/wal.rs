//! Write-ahead records: what a validator signed, persisted before it is sent, so that a
//! restarted core never signs something conflicting.

use portledger_ledger::Vote;
use serde::{Deserialize, Serialize};

use crate::proposal::SignedProposal;

/// One write-ahead record. The node stores them (with `codec`) in order; records of heights
/// below the last committed one may be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalRecord {
    /// A vote this validator signed and is about to send.
    Vote(Vote),
    /// A proposal this validator signed and is about to send.
    Proposal(SignedProposal),
    /// The quorum of prevotes (a polka) that made this validator lock on a block, written
    /// before the precommit that locks. After a crash the lock stays justified: the core counts
    /// and re-sends these votes, so the others can follow the lock instead of stalling.
    Polka(Vec<Vote>),
}

impl WalRecord {
    /// The height the record belongs to.
    pub fn height(&self) -> u64 {
        match self {
            WalRecord::Vote(v) => v.body.height,
            WalRecord::Proposal(p) => p.proposal.height,
            WalRecord::Polka(votes) => votes.first().map_or(0, |v| v.body.height),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::{codec, Hash, Keypair, VoteKind};

    #[test]
    fn records_round_trip_through_the_codec() {
        let k = Keypair::for_testing("w");
        let v = Vote::sign(&k, "c", 3, 1, VoteKind::Precommit, Some(Hash::of(b"x")));
        let p = SignedProposal::sign(&k, "c", 3, 1, Hash::of(b"x"), None);
        for rec in [
            WalRecord::Vote(v.clone()),
            WalRecord::Proposal(p),
            WalRecord::Polka(vec![v.clone(), v]),
        ] {
            let bytes = codec::encode(&rec);
            assert_eq!(codec::decode::<WalRecord>(&bytes, 1 << 16), Ok(rec.clone()));
            assert_eq!(rec.height(), 3);
        }
        assert_eq!(WalRecord::Polka(Vec::new()).height(), 0);
    }
}
