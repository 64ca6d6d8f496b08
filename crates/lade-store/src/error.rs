//! Errors of the store, in words that read after "failed to …" or stand alone.

use std::path::PathBuf;

use lade_reference::Digest;

/// What went wrong with the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error; `fs_err` has already put the path in its message.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{} is not a lade store: it is not empty and has no oci-layout file", .0.display())]
    NotAStore(PathBuf),
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "{} has store layout version {found:?}, which this lade does not understand (it reads version {supported})",
        path.display()
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: String,
        supported: u32,
    },
    #[error("{} is corrupt: {source}", path.display())]
    CorruptFile {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `index.json` cannot be read; `Store::check` with repair rebuilds it from what
    /// can still be read of it and from the images whose blobs are stored.
    #[error("{} is corrupt: {source}", path.display())]
    CorruptIndex {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The image records (`lade/meta.bin`, or an older lade's `meta.json`) cannot be
    /// read; `Store::check` with repair rebuilds them from the blobs.
    #[error("{} is corrupt: {source}", path.display())]
    CorruptRecords {
        path: PathBuf,
        source: crate::MetaError,
    },
    #[error("content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("content of {digest} has the wrong size: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("blob {0} is not in the store")]
    BlobMissing(Digest),
    #[error("blob {digest} is not a valid manifest: {reason}")]
    BadManifest { digest: Digest, reason: String },
}

impl StoreError {
    /// True when running the operation again may succeed (an I/O hiccup, not bad data).
    pub fn is_temporary(&self) -> bool {
        matches!(self, StoreError::Io(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
    }
}
