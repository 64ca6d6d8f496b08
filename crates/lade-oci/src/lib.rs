//! OCI image-spec and Docker schema2 types: media types, descriptors, manifests, indexes,
//! image configs and platforms.
//!
//! Architecture invariant: this crate does no I/O. Documents fetched or read from disk are
//! kept as raw bytes by their owners; the types here are parsed *copies* used to read them,
//! never re-serialized to compute a digest.

mod annotations;
mod config;
mod descriptor;
mod manifest;
pub mod media_type;
mod platform;
pub mod serde_digest;

pub use annotations::{Annotations, Labels};
pub use config::{ContainerConfig, History, ImageConfig, RootFs};
pub use descriptor::Descriptor;
pub use manifest::{ImageIndex, ImageManifest, Manifest, ManifestError};

/// The largest manifest lade reads, serves or looks for (the distribution spec lets
/// registries refuse more than 4 MiB).
pub const MANIFEST_LIMIT: u64 = 4 << 20;
pub use platform::{Platform, PlatformError};

/// The annotation that names a tag in an OCI image layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation (and label) that carries an image's description.
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
