//! `lade system df`: how much the images take, counting layers that images share once.
//!
//! Everything comes from the records in `lade/meta.bin` (sizes were recorded when the
//! blobs arrived); no blob is read, so it is instant at any size. Sizes are Docker's
//! measure (uncompressed layers where known), as `images` shows them.
//!
//! lade has no containers, so an image is *active* when it has a tag, and the
//! reclaimable space is what `lade image prune` would free: the layers that only
//! dangling images use.

use std::collections::HashMap;

use lade_reference::{Digest, Reference};
use lade_store::{ImageRecord, LayerRecord, State};

/// One image's share of the space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUsage {
    /// The image ID.
    pub id: Digest,
    /// The first of its names (lexically, as Docker lists them); `None` when dangling.
    pub name: Option<Reference>,
    /// The config's `created` time, as written there.
    pub created: Option<String>,
    /// All its layers.
    pub size: u64,
    /// Its layers that other images use too.
    pub shared_size: u64,
}

impl ImageUsage {
    /// The layers only this image uses: what deleting it would free.
    pub fn unique_size(&self) -> u64 {
        self.size - self.shared_size
    }
}

/// The store's usage, for `system df`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Newest first.
    pub images: Vec<ImageUsage>,
    /// Images with at least one tag.
    pub active: usize,
    /// Every layer once.
    pub size: u64,
    /// Layers that only dangling images use.
    pub reclaimable: u64,
}

/// What `disk_usage` learns of a layer.
struct Layer {
    size: u64,
    /// A tagged image uses it.
    tagged: bool,
    /// How many images use it.
    users: usize,
}

/// Computes the usage from the state's records.
pub fn disk_usage(state: &State) -> DiskUsage {
    let images = state.images();
    // Each layer's size, whether a tagged image uses it, and how many images do (each
    // image counted once, in one pass: a store of 10,000 images has 30,000 layers to
    // look up).
    let mut layers: HashMap<&Digest, Layer> = HashMap::new();
    for image in &images {
        let tagged = !image.names.is_empty();
        for l in distinct_layers(image.record) {
            let e = layers.entry(&l.digest).or_insert(Layer {
                size: l.shown_size(),
                tagged: false,
                users: 0,
            });
            e.tagged |= tagged;
            e.users += 1;
        }
    }
    let mut out = DiskUsage {
        size: layers.values().map(|l| l.size).sum(),
        reclaimable: layers.values().filter(|l| !l.tagged).map(|l| l.size).sum(),
        active: images.iter().filter(|i| !i.names.is_empty()).count(),
        images: Vec::with_capacity(images.len()),
    };
    for image in &images {
        let (mut size, mut shared) = (0, 0);
        for l in distinct_layers(image.record) {
            let Some(layer) = layers.get(&l.digest) else {
                continue;
            };
            size += layer.size;
            if layer.users > 1 {
                shared += layer.size;
            }
        }
        out.images.push(ImageUsage {
            id: image.id().clone(),
            name: image.names.iter().min_by_key(|n| n.to_string()).cloned(),
            created: image.record.created.clone(),
            size,
            shared_size: shared,
        });
    }
    out.images.sort_by(|a, b| b.created.cmp(&a.created));
    out
}

/// An image's layers, each once (a layer may appear twice in one image).
fn distinct_layers(record: &ImageRecord) -> impl Iterator<Item = &LayerRecord> {
    let layers = &record.layers;
    layers
        .iter()
        .enumerate()
        .filter(|&(i, l)| !layers[..i].iter().any(|o| o.digest == l.digest))
        .map(|(_, l)| l)
}

/// Reads every layer of the store whose sizes no record knows (records rebuilt from
/// the blobs, images another tool put in the layout) and records its sizes, so that
/// `images`, `history` and `df` show what Docker would. Each layer is measured as load
/// measures it (see [`lade_archive::measure_stored_layer`]), but a compressed one is
/// decompressed whatever its size. Returns how many layers it measured; a layer that
/// does not read as a tar is left as it is.
pub fn measure_layers(store: &lade_store::Store) -> Result<usize, lade_store::StoreError> {
    let state = store.state()?;
    let mut unknown: Vec<Digest> = state
        .meta()
        .images
        .values()
        .flat_map(|r| &r.layers)
        .filter(|l| l.content_size.is_none() || l.uncompressed_size.is_none())
        .map(|l| l.digest.clone())
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    let mut measured = lade_store::KnownSizes::new();
    for digest in unknown {
        let sizes = lade_archive::measure_stored_layer(store, &digest, None, None, true);
        if sizes.content.is_some() {
            measured.insert(digest, sizes);
        }
    }
    if measured.is_empty() {
        return Ok(0);
    }
    store.update(|s| {
        for l in s.meta_mut().images.values_mut().flat_map(|r| &mut r.layers) {
            l.fill_sizes(&measured);
        }
        Ok::<_, lade_store::StoreError>(())
    })?;
    Ok(measured.len())
}
