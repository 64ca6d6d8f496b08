//! Loading an archive into the store: Docker archives old (`<id>/layer.tar`) and new
//! (Docker 25+), OCI image layouts as a tar (skopeo's and podman's oci-archive) or as
//! a directory, whole archives compressed with gzip, zstd or xz.
//!
//! 1. [`collect`]: the tar is streamed once; blobs are written into the store through
//!    one write session as they pass, each verified against the digest its name
//!    claims; metadata files are kept in memory (bounded); links are kept as aliases
//!    inside the archive (Docker ≤ 24 links repeated layers) and refused when they
//!    point outside.
//! 2. [`resolve`]: every manifest's references must be in the archive, with the sizes
//!    and digests the manifests give (a layer of an old archive against its config's
//!    diff ID).
//! 3. The images are named in one `Store::update`.
//!
//! A refused archive leaves the index as it was. The blobs it had already written
//! are deleted again under the exclusive GC lock (so no other command can have started
//! to use one of them), unless another image uses them: the store is left as it was.
//! After a successful load, blobs the archive carried that no image uses (Docker's
//! legacy v1 configs, other platforms' layers) are deleted the same way when nothing
//! else holds the store, and otherwise left to `lade system prune`.
//!
//! Layers of old docker-archives are stored as they come (uncompressed, media type
//! `application/vnd.oci.image.layer.v1.tar`), not gzipped as `import` does: loading
//! runs at the speed of the disk, the blob's digest is the diff ID the config names (a
//! direct check), and it is what Docker 25+ itself writes for those layers.

mod collect;
mod resolve;

use std::io::Read;
use std::path::Path;

use lade_oci::{Descriptor, Platform};
use lade_reference::{Digest, Reference};
use lade_store::{Store, StoreError};

use crate::ArchiveError;
use crate::compression::decompressed;
use collect::Collected;
use resolve::{LoadImage, resolve};

pub use collect::{METADATA_LIMIT, METADATA_TOTAL_LIMIT};

/// What `load` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The platform to take from an index, and to require of every image; without it,
    /// indexes give the host's platform and single images load whatever theirs.
    pub platform: Option<Platform>,
}

/// One image loaded.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub manifest: Digest,
    /// The image ID (the config's digest).
    pub id: Digest,
    /// The names it was given, as the archive has them.
    pub names: Vec<Reference>,
    /// Names that pointed at another image before (that image's ID), as Docker's
    /// "renaming the old one" lines.
    pub replaced: Vec<(Reference, Digest)>,
}

/// Loads an archive from a stream (plain, gzip, zstd or xz).
pub fn load(
    store: &Store,
    input: impl Read,
    opts: &LoadOptions,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    let (reader, _, empty) = decompressed(input).map_err(ArchiveError::Read)?;
    if empty {
        return Err(ArchiveError::Empty);
    }
    run(store, opts, |c| c.read_tar(reader))
}

/// Loads an image layout (or an unpacked docker-archive) from a directory.
pub fn load_dir(
    store: &Store,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    run(store, opts, |c| c.read_dir(dir))
}

fn run(
    store: &Store,
    opts: &LoadOptions,
    read: impl FnOnce(&mut Collected<'_, '_>) -> Result<(), ArchiveError>,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    let ingest = store.ingest()?;
    let mut collected = Collected::new(&ingest);
    let result = read(&mut collected)
        .and_then(|()| resolve(&mut collected, opts))
        .and_then(|images| commit(store, images, opts));
    let new_blobs = std::mem::take(&mut collected.new_blobs);
    drop(collected);
    drop(ingest);
    if !new_blobs.is_empty() {
        // Waits for other writers only when the load failed: then the store must end as
        // it began. Tidying after a success is left to prune when someone is busy.
        let guard = match &result {
            Ok(_) => store.try_gc_lock(),
            Err(_) => store.gc_lock().map(Some),
        };
        if let Ok(Some(guard)) = guard
            && let Ok(state) = store.state()
        {
            for (digest, _) in store.unreferenced(&state, &new_blobs) {
                // What cannot be deleted now is an orphan `system prune` reclaims.
                let _ = store.delete_blob(&guard, &digest);
            }
        }
    }
    result
}

/// Names the images, all at once.
fn commit(
    store: &Store,
    images: Vec<LoadImage>,
    opts: &LoadOptions,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    let now = jiff::Timestamp::now().to_string();
    let mut prepared = Vec::with_capacity(images.len());
    for image in images {
        let mut record = store.derive_record(&image.descriptor, Some(now.clone()))?;
        let platform = Platform::parse(&record.platform).ok();
        if let Some(wanted) = &opts.platform
            && platform
                .as_ref()
                .and_then(|p| wanted.match_rank(p))
                .is_none()
        {
            return Err(ArchiveError::NoMatchingPlatform {
                what: image
                    .names
                    .first()
                    .map_or_else(|| record.config.to_string(), Reference::familiar),
                wanted: wanted.to_string(),
                available: record.platform.clone(),
            });
        }
        record.index = image.index.clone();
        for layer in &mut record.layers {
            layer.set_sizes(image.sizes.get(&layer.digest).copied().unwrap_or_default());
        }
        let mut descriptor = Descriptor::new(
            image.descriptor.media_type.clone(),
            image.descriptor.digest.clone(),
            image.descriptor.size,
        );
        descriptor.platform = platform;
        prepared.push((descriptor, record, image.names));
    }
    store
        .update(|state| {
            let mut loaded = Vec::with_capacity(prepared.len());
            // Sizes other images recorded for the same layers (a pull that read them).
            let known = state.meta().known_layer_sizes();
            for (descriptor, mut record, names) in prepared {
                let digest = descriptor.digest.clone();
                if let Some(old) = state.meta().images.get(&digest) {
                    record.added = old.added.clone();
                    record.repo_digests = old.repo_digests.clone();
                    if record.index.is_none() {
                        record.index = old.index.clone();
                    }
                }
                for layer in &mut record.layers {
                    layer.fill_sizes(&known);
                }
                let id = record.config.clone();
                state.meta_mut().images.insert(digest.clone(), record);
                let mut replaced = Vec::new();
                for name in &names {
                    if let Some(old) = state.lookup(name)
                        && old.digest != digest
                        && let Some(old_record) = state.meta().images.get(&old.digest)
                        && old_record.config != id
                    {
                        replaced.push((name.clone(), old_record.config.clone()));
                    }
                    state.tag(&descriptor, name);
                }
                if names.is_empty() {
                    state.add_untagged(&descriptor);
                }
                loaded.push(LoadedImage {
                    manifest: digest,
                    id,
                    names,
                    replaced,
                });
            }
            Ok::<_, StoreError>(loaded)
        })
        .map_err(ArchiveError::from)
}
