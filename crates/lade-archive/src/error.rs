//! Why an archive could not be written, read or flattened. Messages are lowercase
//! fragments that read on their own; every refusal of a hostile or broken archive
//! starts with "refusing the archive" and names the entry at fault.

use std::io;
use std::path::PathBuf;

use lade_reference::Digest;
use lade_store::StoreError;

/// What went wrong with an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Reading the input failed: an I/O error, or a corrupt or truncated compressed stream.
    #[error("failed to read the archive: {0}")]
    Read(#[source] io::Error),
    /// Writing the output failed (a full disk, a closed pipe).
    #[error("failed to write the archive: {0}")]
    Write(#[source] io::Error),
    #[error(
        "the input is empty: expected an image archive (as docker save, podman save or skopeo copy write), plain or compressed with gzip, zstd or xz"
    )]
    Empty,
    /// The tar reader's complaint, when it is readable text.
    #[error("the input is not a tar archive (plain, or compressed with gzip, zstd or xz){}", .0.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    NotTar(Option<String>),
    #[error("the archive is truncated: {path:?} has {got} of its {want} bytes")]
    Truncated { path: String, got: u64, want: u64 },
    /// An entry that could write or point outside the archive, or that no image
    /// archive has.
    #[error("refusing the archive: entry {path:?} {why}")]
    Hostile { path: String, why: String },
    #[error(
        "refusing the archive: {path:?} does not match its digest: expected {expected}, got {actual}"
    )]
    BlobMismatch {
        path: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("refusing the archive: {what} says {path:?} has {expected} bytes, but it has {actual}")]
    SizeMismatch {
        what: String,
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("refusing the archive: {path:?} appears twice with different content")]
    Duplicate { path: String },
    #[error(
        "refusing the archive: {path:?} is {size} bytes; a metadata file may have at most {limit} bytes"
    )]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error(
        "refusing the archive: metadata files take more than {limit} bytes in all; an image archive needs far less"
    )]
    TooMuchMetadata { limit: u64 },
    #[error("refusing the archive: {by} names {path:?}, which is not in the archive")]
    Missing { by: String, path: String },
    #[error("refusing the archive: invalid {file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error(
        "refusing the archive: layer {index} of {image} ({path}) does not match the image config: its content hashes to {actual}, the config says {expected}"
    )]
    DiffId {
        image: String,
        index: usize,
        path: String,
        // Boxed: every result of the crate carries this error's size.
        expected: Box<Digest>,
        actual: Box<Digest>,
    },
    #[error(
        "the archive has neither manifest.json nor index.json: it is not an image archive (as docker save, podman save or skopeo copy write)"
    )]
    NotAnImageArchive,
    #[error("no image in {what} matches platform {wanted} (available: {available})")]
    NoMatchingPlatform {
        what: String,
        wanted: String,
        available: String,
    },
    #[error("{} exists and is not empty; name a new or empty directory for --format oci-dir", .0.display())]
    DirNotEmpty(PathBuf),
    #[error("layer {layer} is not a valid tar archive: {source}")]
    BadLayer {
        layer: Digest,
        #[source]
        source: io::Error,
    },
    #[error("layer {layer} has an entry {path:?} that {why}")]
    HostileLayer {
        layer: Digest,
        path: String,
        why: String,
    },
    #[error(
        "layer {index} ({layer}) does not match the image config: its content hashes to {actual}, the config's diff_ids say {expected}"
    )]
    LayerDiffId {
        index: usize,
        layer: Digest,
        // Boxed: every result of the crate carries this error's size.
        expected: Box<Digest>,
        actual: Box<Digest>,
    },
    #[error("the image config lists {diff_ids} diff IDs for the manifest's {layers} layers")]
    LayerCount { layers: usize, diff_ids: usize },
    /// Writing the unpacked tree failed; `path` is where on disk.
    #[error("failed to unpack {}: {source}", path.display())]
    Unpack {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A whiteout or opaque marker could not be written in overlayfs's form (a
    /// character device 0/0, the `trusted.overlay.opaque` attribute): it takes
    /// privileges (CAP_MKNOD, CAP_SYS_ADMIN) that this process may not have.
    #[error("failed to write the overlay whiteout {}: {source}", path.display())]
    OverlayWhiteout {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ArchiveError {
    pub(crate) fn hostile(path: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Hostile {
            path: path.into(),
            why: why.into(),
        }
    }

    pub(crate) fn invalid(file: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            file: file.into(),
            reason: reason.to_string(),
        }
    }
}
