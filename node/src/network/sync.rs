//! The block sync protocol `/portledger/sync/1`: its messages, limits and the server side.

use serde::{Deserialize, Serialize};

use portledger_ledger::Hash;

/// Protocol name of block sync.
pub const SYNC_PROTOCOL: &str = "/portledger/sync/1";

/// Largest encoded request accepted (1 MiB).
pub(crate) const MAX_REQUEST_BYTES: u64 = 1024 * 1024;
/// Largest encoded response accepted (64 MiB).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
/// Most blocks served for one request.
pub(crate) const MAX_BLOCKS_PER_RESPONSE: u32 = 64;
/// Blocks are added to a response until it holds this many bytes (at least one block is sent).
pub(crate) const MAX_SERVED_BYTES: usize = 4 * 1024 * 1024;

/// A node's committed tip.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    /// Height of the last committed block (0: only genesis).
    pub height: u64,
    /// Hash of that block.
    pub hash: Hash,
}

/// A committed block with its commit certificate, both as opaque encoded bytes; the node decodes
/// and verifies them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SyncedBlock {
    /// The encoded block.
    pub block: Vec<u8>,
    /// The encoded commit certificate.
    pub certificate: Vec<u8>,
}

/// Where the network reads the blocks it serves to peers. Called on tokio's blocking pool.
pub trait BlockSource: Send + Sync + 'static {
    /// Our committed tip.
    fn status(&self) -> SyncStatus;
    /// Up to `count` consecutive committed blocks starting at height `from` (fewer, or none,
    /// past the tip).
    fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock>;
}

/// A sync request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyncRequest {
    /// What is your tip?
    Status,
    /// Send me up to `count` blocks starting at height `from`.
    Blocks { from: u64, count: u32 },
}

/// The answer to a [`SyncRequest`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyncResponse {
    /// Answer to `Status`.
    Status(SyncStatus),
    /// Answer to `Blocks`: consecutive blocks from the requested height, possibly fewer.
    Blocks(Vec<SyncedBlock>),
    /// The request could not be served.
    Error(String),
}

impl SyncResponse {
    /// Name of the variant, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            SyncResponse::Status(_) => "a status",
            SyncResponse::Blocks(_) => "blocks",
            SyncResponse::Error(_) => "an error",
        }
    }
}

/// Answers one request from the block source, within the limits. Blocking: run it on the
/// blocking pool.
pub(crate) fn serve(source: &dyn BlockSource, request: SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Status => SyncResponse::Status(source.status()),
        SyncRequest::Blocks { from, count } => {
            let count = count.min(MAX_BLOCKS_PER_RESPONSE);
            if count == 0 {
                return SyncResponse::Blocks(Vec::new());
            }
            let mut blocks = source.blocks(from, count);
            blocks.truncate(count as usize);
            let mut total = 0usize;
            let mut keep = 0usize;
            for b in &blocks {
                let size = b.block.len() + b.certificate.len();
                if keep > 0 && total + size > MAX_SERVED_BYTES {
                    break;
                }
                total += size;
                keep += 1;
            }
            blocks.truncate(keep);
            SyncResponse::Blocks(blocks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl BlockSource for Fixed {
        fn status(&self) -> SyncStatus {
            SyncStatus {
                height: 500,
                hash: Hash::of(b"tip"),
            }
        }

        fn blocks(&self, from: u64, count: u32) -> Vec<SyncedBlock> {
            (from..from + u64::from(count) + 10)
                .map(|h| SyncedBlock {
                    block: vec![0; 1024 * 1024],
                    certificate: h.to_le_bytes().to_vec(),
                })
                .collect()
        }
    }

    #[test]
    fn serving_caps_count_and_bytes() {
        match serve(
            &Fixed,
            SyncRequest::Blocks {
                from: 1,
                count: 1000,
            },
        ) {
            SyncResponse::Blocks(blocks) => {
                // 1 MiB + 8 bytes each: three fit in 4 MiB, the fourth would not.
                assert_eq!(blocks.len(), 3);
                assert_eq!(blocks[0].certificate, 1u64.to_le_bytes().to_vec());
            }
            other => panic!("expected blocks, got {other:?}"),
        }
        assert_eq!(
            serve(&Fixed, SyncRequest::Blocks { from: 1, count: 0 }),
            SyncResponse::Blocks(Vec::new())
        );
        assert_eq!(
            serve(&Fixed, SyncRequest::Status),
            SyncResponse::Status(Fixed.status())
        );
    }
}
