//! Write-ahead records: what a validator signed, persisted before it is sent, so that a
//! restarted core never signs something conflicting.

use portledger_ledger::{codec, Hash, Store, StoreError, Vote};
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

/// Key prefix of the write-ahead log in the store: `w/<height><seq>`, heights big-endian so that
/// a scan comes out in height order.
const WAL: &[u8] = b"w/";
/// Key prefix of the bodies of blocks this validator precommitted: `wb/<height><block hash>`.
const BODIES: &[u8] = b"wb/";
/// Largest write-ahead record decoded (a proposal with its block is sent apart from it).
const MAX_RECORD: usize = 1 << 20;

fn prefix(height: u64) -> Vec<u8> {
    [WAL, &height.to_be_bytes()].concat()
}

fn height_of(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(WAL.len()..WAL.len() + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The consensus write-ahead log, kept in any [`Store`] over its key-value seam: the consensus
/// crate owns its records and their keys.
pub trait WalStore {
    /// Appends a record for its height, durably, before the caller acts on it.
    fn append_wal(&self, record: &WalRecord) -> Result<(), StoreError>;
    /// The records of a height, in the order written, and how many stored ones did not decode
    /// (left out).
    fn wal(&self, height: u64) -> Result<(Vec<WalRecord>, usize), StoreError>;
    /// Drops the records (and kept bodies) of heights below `height`.
    fn prune_wal(&self, height: u64) -> Result<(), StoreError>;
    /// Keeps the body of a block this validator is about to precommit (made durable by the
    /// precommit's own record, appended right after), so that after a crash it can still
    /// propose the value it is locked on.
    fn keep_body(&self, height: u64, block_hash: &Hash, body: Vec<u8>) -> Result<(), StoreError>;
    /// The bodies kept for a height: (block hash, encoded body).
    fn kept_bodies(&self, height: u64) -> Result<Vec<(Hash, Vec<u8>)>, StoreError>;
}

impl<S: Store + ?Sized> WalStore for S {
    fn append_wal(&self, record: &WalRecord) -> Result<(), StoreError> {
        let height = record.height();
        let seq = self.scan_prefix(&prefix(height))?.len() as u64;
        let key = [prefix(height), seq.to_be_bytes().to_vec()].concat();
        self.write_batch(vec![(key, Some(codec::encode(record)))])
    }

    fn wal(&self, height: u64) -> Result<(Vec<WalRecord>, usize), StoreError> {
        let stored = self.scan_prefix(&prefix(height))?;
        let total = stored.len();
        let records: Vec<WalRecord> = stored
            .into_iter()
            .filter_map(|(_, v)| codec::decode(&v, MAX_RECORD).ok())
            .collect();
        let unreadable = total - records.len();
        Ok((records, unreadable))
    }

    fn prune_wal(&self, height: u64) -> Result<(), StoreError> {
        let bodies = self.scan_prefix(BODIES)?.into_iter().filter(|(k, _)| {
            k.get(BODIES.len()..BODIES.len() + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .is_some_and(|b| u64::from_be_bytes(b) < height)
        });
        let writes: Vec<_> = self
            .scan_prefix(WAL)?
            .into_iter()
            .filter(|(k, _)| height_of(k).is_some_and(|h| h < height))
            .chain(bodies)
            .map(|(k, _)| (k, None))
            .collect();
        if writes.is_empty() {
            return Ok(());
        }
        // Not flushed: records of committed heights are never read again, and pruning that a
        // crash loses is done again at the next commit.
        self.write_batch_lazy(writes)
    }

    fn keep_body(&self, height: u64, block_hash: &Hash, body: Vec<u8>) -> Result<(), StoreError> {
        let key = [BODIES, &height.to_be_bytes(), block_hash.as_bytes()].concat();
        self.write_batch_lazy(vec![(key, Some(body))])
    }

    fn kept_bodies(&self, height: u64) -> Result<Vec<(Hash, Vec<u8>)>, StoreError> {
        let prefix = [BODIES, &height.to_be_bytes()].concat();
        Ok(self
            .scan_prefix(&prefix)?
            .into_iter()
            .filter_map(|(k, v)| {
                let hash: [u8; 32] = k.get(prefix.len()..)?.try_into().ok()?;
                Some((Hash(hash), v))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::{Hash, Keypair, MemStore, SledStore, VoteKind};

    #[test]
    fn records_are_kept_per_height_in_order_and_pruned() {
        let k = Keypair::for_testing("w");
        let vote = |h, kind| WalRecord::Vote(Vote::sign(&k, "c", h, 0, kind, Some(Hash::of(b"x"))));
        let dir = tempfile::tempdir().expect("tmp");
        let stores: Vec<Box<dyn Store>> = vec![
            Box::new(MemStore::new()),
            Box::new(SledStore::open(dir.path()).expect("sled")),
        ];
        for store in stores {
            let (a, b, c) = (
                vote(5, VoteKind::Prevote),
                vote(5, VoteKind::Precommit),
                vote(6, VoteKind::Prevote),
            );
            for r in [&a, &b, &c] {
                store.append_wal(r).expect("wal");
            }
            assert_eq!(store.wal(5).expect("wal"), (vec![a, b], 0));
            store.prune_wal(6).expect("prune");
            assert_eq!(store.wal(5).expect("wal"), (vec![], 0));
            assert_eq!(store.wal(6).expect("wal"), (vec![c], 0));
            // A record that does not decode is left out, and counted.
            store
                .write_batch(vec![(
                    [prefix(6), 9u64.to_be_bytes().to_vec()].concat(),
                    Some(b"garbage".to_vec()),
                )])
                .expect("write");
            assert_eq!(store.wal(6).expect("wal").1, 1);
        }
    }

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
