//! The sled store: one sled tree, every block committed as one atomic batch and one flush.

use std::path::Path;

use crate::store::{Entry, Store, StoreError, Write};

/// A store in a sled database directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    ///
    /// A store just closed in this process may still hold its file lock for a moment (sled's
    /// flusher thread lets go of it last): a lock refusal is retried for up to five seconds.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match sled::Config::new()
                .path(dir)
                .cache_capacity(256 * 1024 * 1024)
                .open()
            {
                Ok(db) => return Ok(SledStore { db }),
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }
}

fn batch_of(writes: Vec<Write>) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (k, v) in writes {
        match v {
            Some(v) => batch.insert(k, v),
            None => batch.remove(k),
        }
    }
    batch
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(backend))
            .collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(backend)
    }

    fn write_batch_lazy(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.db.apply_batch(batch_of(writes)).map_err(backend)
    }

    fn write_batch(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.db.apply_batch(batch_of(writes)).map_err(backend)?;
        self.db.flush().map(|_| ()).map_err(backend)
    }
}
