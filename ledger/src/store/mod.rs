//! The store: blocks, certificates, the state's records, history indexes and the consensus
//! write-ahead log, in one ordered key-value space.
//!
//! [`Store`] is the seam. Implementations supply four low-level operations (read a key, scan a
//! prefix, write an atomic batch, write one durable record); the key layout and everything above
//! it are shared, so `SledStore` (feature `sled`) and [`MemStore`] behave the same. A block is committed as one
//! atomic batch with one flush: block, certificate, state records, nonces, history and indexes.

mod keys;
mod mem;
#[cfg(feature = "sled")]
mod sled_store;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub use mem::MemStore;
#[cfg(feature = "sled")]
pub use sled_store::SledStore;

use crate::block::Block;
use crate::certificate::CommitCertificate;
use crate::codec::{self, CodecError};
use crate::crypto::{Hash, PublicKey};
use crate::documents::tracking::TrackingRecord;
use crate::history::{HistoryEntry, TxLocation};
use crate::state::{Changes, DocumentKey, State};

/// Largest stored value the store will decode (a block at most).
pub const MAX_VALUE: usize = 64 * 1024 * 1024;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (disk, lock).
    #[error("store backend: {0}")]
    Backend(String),
    /// Stored bytes did not decode: the store is corrupt or from another version.
    #[error("stored {what} is corrupt: {source}")]
    Corrupt {
        /// What was read.
        what: &'static str,
        /// Decode error.
        source: CodecError,
    },
    /// The store was written in another key layout (by another version of portledger).
    #[error(
        "the data directory was written in store layout {found}; this version reads layout \
         {expected}: move the directory away and start again (the node re-syncs the chain from \
         its peers)"
    )]
    OtherLayout {
        /// Layout found.
        found: u32,
        /// Layout this version reads.
        expected: u32,
    },
    /// The records loaded from the store do not have the state root the stored tip claims.
    #[error(
        "the state loaded from the data directory has root {loaded}, but the block at its tip \
         (height {height}) commits to {committed}: the store is damaged; move it away and start \
         again (the node re-syncs the chain from its peers)"
    )]
    StateMismatch {
        /// The tip's height.
        height: u64,
        /// The root the tip's header commits to.
        committed: Hash,
        /// The root of the records loaded.
        loaded: Hash,
    },
    /// An index names something the store does not hold.
    #[error("the store is inconsistent: {0}")]
    Missing(String),
    /// The store belongs to another chain.
    #[error("the data directory belongs to another genesis (stored {stored}, given {given})")]
    WrongGenesis {
        /// Stored genesis hash.
        stored: Hash,
        /// Genesis hash given.
        given: Hash,
    },
}

/// The chain's tip as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// Height of the last committed block (0 = genesis).
    pub height: u64,
    /// Its hash (zero at genesis).
    pub hash: Hash,
    /// Its time (genesis time at genesis).
    pub time_ms: u64,
    /// The state tree's root after it.
    pub state_root: Hash,
}

/// Everything one block commit writes.
#[derive(Debug)]
pub struct CommitBatch<'a> {
    /// The block.
    pub block: &'a Block,
    /// The block's transaction hashes, in order.
    pub tx_hashes: &'a [Hash],
    /// Its commit certificate.
    pub certificate: &'a CommitCertificate,
    /// The merged changes of its transactions.
    pub changes: &'a Changes,
    /// History entries: (document, entry).
    pub history: Vec<(DocumentKey, HistoryEntry)>,
    /// Party index entries.
    pub parties: Vec<(PublicKey, DocumentKey)>,
    /// Tracking events recorded, in block order, for the container and document indexes.
    pub tracking: Vec<TrackingRecord>,
    /// The new tip.
    pub tip: Tip,
    /// Whether the batch is flushed before `commit` returns (see `Chain::with_lazy_commits`).
    pub durable: bool,
}

/// A stored (key, value) pair.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One write of a batch: a key and its new value, or `None` to delete.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    codec::decode(bytes, MAX_VALUE).map_err(|source| StoreError::Corrupt { what, source })
}

/// A shared store is a store (the node holds one behind `Arc<dyn Store>`).
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        (**self).scan_prefix(prefix)
    }
    fn write_batch(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        (**self).write_batch(writes)
    }
    fn write_batch_lazy(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        (**self).write_batch_lazy(writes)
    }
    fn flush(&self) -> Result<(), StoreError> {
        (**self).flush()
    }
}

/// The storage seam.
pub trait Store: Send + Sync {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// All (key, value) pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError>;
    /// Applies writes atomically and durably (one flush).
    fn write_batch(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Writes a batch atomically without waiting for it to reach the disk, for writes whose loss
    /// in a crash is harmless (by default the same as [`Store::write_batch`]).
    fn write_batch_lazy(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.write_batch(writes)
    }

    /// Flushes writes made lazily (call before shutdown; nothing to do by default).
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Records the genesis hash and the layout version on first use; refuses a store made for
    /// another genesis or written in another layout.
    fn check_genesis(&self, genesis_hash: &Hash) -> Result<(), StoreError> {
        let layout = match self.get(keys::LAYOUT)? {
            Some(bytes) => decode("layout version", &bytes)?,
            // A store from before the layout was recorded: layout 1 if it holds anything.
            None if self.get(keys::GENESIS)?.is_some() => 1,
            None => {
                self.write_batch(vec![(
                    keys::LAYOUT.to_vec(),
                    Some(codec::encode(&keys::LAYOUT_VERSION)),
                )])?;
                keys::LAYOUT_VERSION
            }
        };
        if layout != keys::LAYOUT_VERSION {
            return Err(StoreError::OtherLayout {
                found: layout,
                expected: keys::LAYOUT_VERSION,
            });
        }
        match self.get(keys::GENESIS)? {
            Some(bytes) => {
                let stored: Hash = decode("genesis hash", &bytes)?;
                if stored != *genesis_hash {
                    return Err(StoreError::WrongGenesis {
                        stored,
                        given: *genesis_hash,
                    });
                }
                Ok(())
            }
            None => self.write_batch(vec![(
                keys::GENESIS.to_vec(),
                Some(codec::encode(genesis_hash)),
            )]),
        }
    }

    /// The stored tip, if any block was committed.
    fn tip(&self) -> Result<Option<Tip>, StoreError> {
        self.get(keys::TIP)?.map(|b| decode("tip", &b)).transpose()
    }

    /// Commits a block in one atomic, flushed batch.
    fn commit(&self, c: &CommitBatch<'_>) -> Result<(), StoreError> {
        let h = c.block.header.height;
        let mut w: Vec<Write> = Vec::with_capacity(8 + c.block.transactions.len() * 3);
        w.push((keys::block(h), Some(c.block.encode())));
        w.push((keys::certificate(h), Some(codec::encode(c.certificate))));
        w.push((
            keys::block_hash(&c.tip.hash),
            Some(h.to_be_bytes().to_vec()),
        ));
        for (i, hash) in c.tx_hashes.iter().enumerate() {
            let loc = TxLocation {
                height: h,
                index: i as u32,
            };
            w.push((keys::tx(hash), Some(codec::encode(&loc))));
        }
        keys::state_writes(c.changes, &mut w);
        for (doc, entry) in &c.history {
            w.push((
                keys::history(doc, entry.height, entry.index),
                Some(codec::encode(entry)),
            ));
        }
        for (party, doc) in &c.parties {
            w.push((keys::party(party, doc), Some(Vec::new())));
        }
        // A transaction may record several events (port release: one GTOT per container).
        let mut seq = 0u32;
        let mut last = None;
        for r in &c.tracking {
            seq = if last == Some(r.index) { seq + 1 } else { 0 };
            last = Some(r.index);
            let value = codec::encode(r);
            for prefix in [
                keys::container_tracking_prefix(&r.event.container),
                keys::document_tracking_prefix(&r.event.reference),
            ] {
                w.push((
                    keys::tracking(prefix, r.height, r.index, seq),
                    Some(value.clone()),
                ));
            }
        }
        w.push((keys::TIP.to_vec(), Some(codec::encode(&c.tip))));
        if c.durable {
            self.write_batch(w)
        } else {
            self.write_batch_lazy(w)
        }
    }

    /// Loads the state's records over a state built from genesis.
    fn load_state(&self, state: &mut State) -> Result<(), StoreError> {
        let mut c = Changes::default();
        keys::read_state(self, &mut c)?;
        state.apply(&c);
        Ok(())
    }

    /// The block at a height.
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.get(&keys::block(height))?
            .map(|b| decode("block", &b))
            .transpose()
    }

    /// The commit certificate of the block at a height.
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError> {
        self.get(&keys::certificate(height))?
            .map(|b| decode("certificate", &b))
            .transpose()
    }

    /// The height of the block with this hash.
    fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(self.get(&keys::block_hash(hash))?.and_then(|b| {
            let arr: [u8; 8] = b.as_slice().try_into().ok()?;
            Some(u64::from_be_bytes(arr))
        }))
    }

    /// Where a committed transaction is.
    fn transaction_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.get(&keys::tx(hash))?
            .map(|b| decode("transaction location", &b))
            .transpose()
    }

    /// A document's history, oldest first.
    fn history(&self, doc: &DocumentKey) -> Result<Vec<HistoryEntry>, StoreError> {
        self.scan_prefix(&keys::history_prefix(doc))?
            .into_iter()
            .map(|(_, v)| decode("history entry", &v))
            .collect()
    }

    /// The documents a party is involved in.
    fn party_documents(&self, party: &PublicKey) -> Result<Vec<DocumentKey>, StoreError> {
        let prefix = keys::party_prefix(party);
        self.scan_prefix(&prefix)?
            .into_iter()
            .map(|(k, _)| decode("party index key", &k[prefix.len()..]))
            .collect()
    }

    /// Every tracking event of a container (over all transport documents), oldest first.
    fn container_tracking(&self, container: &str) -> Result<Vec<TrackingRecord>, StoreError> {
        self.scan_prefix(&keys::container_tracking_prefix(container))?
            .into_iter()
            .map(|(_, v)| decode("tracking record", &v))
            .collect()
    }

    /// Every tracking event of a transport document's containers, oldest first.
    fn document_tracking(&self, reference: &str) -> Result<Vec<TrackingRecord>, StoreError> {
        self.scan_prefix(&keys::document_tracking_prefix(reference))?
            .into_iter()
            .map(|(_, v)| decode("tracking record", &v))
            .collect()
    }
}
