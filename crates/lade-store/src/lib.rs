//! The local image store.
//!
//! On disk the store is an [OCI image layout] that other tools (skopeo, umoci) read as it
//! is, plus a `lade/` folder beside it for what Docker shows and a layout lacks:
//!
//! ```text
//! ROOT/
//!   oci-layout               {"imageLayoutVersion":"1.0.0"}
//!   index.json               the tags: one entry per (manifest, name); the name is the
//!                            full normalized reference in `org.opencontainers.image.ref.name`.
//!                            An entry without that annotation is an untagged (dangling) image.
//!   blobs/sha256/<hex>       content-addressed blobs; a file's bytes always hash to its name
//!   lade/
//!     version                layout version of the lade/ folder ("1")
//!     meta.bin               per-image records (image ID, arrival time, sizes, labels,
//!                            repository digests), binary and versioned (see `meta.rs`);
//!                            an older lade's meta.json is read until the next change
//!     lock                   held exclusively while index.json and meta.bin change
//!     gc.lock                held shared by every operation that writes blobs, exclusively
//!                            by whatever deletes blobs (prune, rmi, check --repair)
//!     tmp/                   blobs being written; renamed into blobs/ once verified
//!     partial/<hex>          downloads of known digests that stopped midway, resumed by
//!                            the next pull (each locked by the process writing it)
//!     manifests/<name>.json  manifest lists being assembled (`lade manifest create`),
//!                            one versioned file per list (see `manifest_list.rs`)
//!     mounts/                images made visible by `lade image mount`: mounts.json,
//!                            unpacked trees, overlay layers (see `mounts.rs`)
//! ```
//!
//! Invariants:
//! - A blob appears under `blobs/` only after its bytes were hashed, checked against
//!   the expected digest and size, fsynced, and renamed into place.
//! - `meta.bin` is written before `index.json`, both atomically (temp file + fsync +
//!   rename), so every entry in `index.json` has its blobs on disk; a record in `meta.bin`
//!   without an index entry is garbage that the next change drops.
//! - Blobs are deleted only under the exclusive `gc.lock`, so no blob is deleted while
//!   another process is about to reference it.
//!
//! [OCI image layout]: https://github.com/opencontainers/image-spec/blob/main/image-layout.md

mod blob;
mod check;
mod direct;
mod error;
mod fsutil;
mod gc;
mod index;
mod lock;
mod manifest_list;
mod meta;
mod mounts;
mod partial;
mod state;
mod store;

pub use blob::{BlobWriter, sha256_hex_of};
pub use check::{CheckReport, Problem};
pub use error::StoreError;
pub use index::Index;
pub use manifest_list::{ListEntry, MANIFEST_LIST_VERSION, ManifestList};
pub use meta::{ImageRecord, KnownSizes, LayerRecord, LayerSizes, META_VERSION, Meta, MetaError};
pub use mounts::{
    MOUNTS_VERSION, MountDriver, MountRecord, Mounts, empty_dir as empty_mount_dir,
    remove_tree as remove_mount_tree,
};
pub use partial::{Resumable, ResumableBlob};
pub use state::{Image, Names, State};
pub use store::{GcGuard, Ingest, Store, labels_of};
