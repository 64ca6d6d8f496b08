//! Image archives to and from the local store, and an image's flattened root filesystem.
//!
//! | format | what it is | written by |
//! | --- | --- | --- |
//! | docker-archive (Docker 25+) | an OCI layout plus `manifest.json` and `repositories` | `docker save`, `lade save` |
//! | docker-archive (Docker ≤ 24) | `manifest.json`, `<id>/layer.tar`, `<hex>.json` | old `docker save`, `skopeo copy … docker-archive:` |
//! | oci-archive | an OCI image layout as a tar | `podman save --format oci-archive`, `skopeo copy … oci-archive:` |
//! | oci-dir | an OCI image layout as a directory | `podman save --format oci-dir`, `skopeo copy … oci:` |
//!
//! Writing ([`SavePlan`]) streams the store's blobs into a tar as they are. Reading
//! ([`load`]) streams a tar once, writes every blob into the store through a verifying
//! blob writer as it passes, keeps only small metadata files in memory, and names the
//! images only when every reference checks out. Flattening ([`export`]) applies an
//! image's layers with OCI whiteouts into one tar stream; unpacking ([`unpack`],
//! [`unpack_layer`]) writes them into a directory instead, for `lade image mount`.
//!
//! Architecture invariant: archives are untrusted input. No path from an archive is
//! ever joined to a directory on disk: `unpack` resolves each one itself, component by
//! component from a directory handle, and never leaves the target. Blobs reach the
//! store only through `lade_store::BlobWriter`, which verifies them, and names only
//! through `Store::update`.

mod compression;
mod docker;
mod error;
mod export;
mod inspect;
mod load;
mod path;
mod pgzip;
mod save;
mod unpack;

pub use compression::{Sniffed, decoder, decompressed, sniff_bytes};
pub use docker::{ManifestItem, Repositories};
pub use error::ArchiveError;
pub use export::export;
pub use inspect::{
    INSPECT_LIMIT, LayerFacts, entry_content_size, inspect_layer, inspect_limit,
    measure_stored_layer, plain_tar_content_size,
};
pub use load::{LoadOptions, LoadedImage, METADATA_LIMIT, METADATA_TOTAL_LIMIT, load, load_dir};
pub use pgzip::{BLOCK as GZIP_BLOCK, gzip_parallel};
pub use save::{ANNOTATION_IMAGE_NAME, Format, SaveImage, SavePlan};
pub use unpack::{ImageLayer, Skipped, Unpacked, image_layers, unpack, unpack_layer};
