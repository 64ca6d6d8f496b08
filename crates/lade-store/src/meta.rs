//! `lade/meta.json`: what Docker shows about an image that an OCI layout does not keep.
//!
//! Version 1:
//! ```json
//! {"version":1,"images":[{"manifest":"sha256:…","config":"sha256:…", …}]}
//! ```
//! Every field but `manifest`, `config` and `added` can be derived again from the blobs
//! (see `Store::record_for`), so a lost or stale record is repaired, not fatal.
//! Changing this format: bump [`META_VERSION`], keep a reader for the old version, and
//! test old data with the new reader.

use std::collections::BTreeMap;

use lade_reference::Digest;
use serde::{Deserialize, Serialize};

/// The version of `meta.json` this lade writes.
pub const META_VERSION: u32 = 1;

/// What lade records about one image (one manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The manifest's digest.
    #[serde(with = "lade_oci::serde_digest")]
    pub manifest: Digest,
    pub manifest_media_type: String,
    pub manifest_size: u64,
    /// The config's digest: the image ID.
    #[serde(with = "lade_oci::serde_digest")]
    pub config: Digest,
    pub config_size: u64,
    /// The config's `created` time, as written there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the image arrived in this store (RFC 3339).
    pub added: String,
    pub layers: Vec<LayerRecord>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]` from the config.
    #[serde(default)]
    pub platform: String,
    /// The index (manifest list) this image was chosen from when it was pulled, kept
    /// byte for byte as the registry served it.
    #[serde(
        default,
        with = "lade_oci::serde_digest::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub index: Option<Digest>,
    /// Repository digests (`name@sha256:…`) seen on pull and push.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    #[serde(with = "lade_oci::serde_digest")]
    pub digest: Digest,
    pub size: u64,
    /// The size of the layer's tar stream, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_size: Option<u64>,
    /// The sum of the sizes its tar entries state (file contents): the layer's size as
    /// Docker counts it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_size: Option<u64>,
}

/// A layer's sizes as some record knows them: (tar stream, content).
pub type KnownSizes = std::collections::HashMap<Digest, (Option<u64>, Option<u64>)>;

impl LayerRecord {
    /// Takes from `known` (see [`Meta::known_layer_sizes`]) the sizes this record lacks.
    pub fn fill_sizes(&mut self, known: &KnownSizes) {
        if let Some((tar, content)) = known.get(&self.digest) {
            self.uncompressed_size = self.uncompressed_size.or(*tar);
            self.content_size = self.content_size.or(*content);
        }
    }

    /// The layer's size as `images`, `history` and `df` show it: Docker's figure (the
    /// content of its files) when known, else the tar stream's, else the compressed.
    pub fn shown_size(&self) -> u64 {
        self.content_size
            .or(self.uncompressed_size)
            .unwrap_or(self.size)
    }
}

impl ImageRecord {
    /// The size of the image as Docker counts it (see [`LayerRecord::shown_size`]).
    pub fn size(&self) -> u64 {
        self.layers.iter().map(LayerRecord::shown_size).sum()
    }

    /// Every blob the image references: manifest, config and layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Digest> {
        [&self.manifest, &self.config]
            .into_iter()
            .chain(self.index.as_ref())
            .chain(self.layers.iter().map(|l| &l.digest))
    }
}

/// The whole `meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub images: BTreeMap<Digest, ImageRecord>,
}

impl Meta {
    /// The sizes recorded for each layer by any image that has it: a layer pulled or
    /// loaded again into another image keeps what was learnt when it first arrived.
    pub fn known_layer_sizes(&self) -> KnownSizes {
        let mut known = KnownSizes::new();
        for l in self.images.values().flat_map(|r| &r.layers) {
            let k = known.entry(l.digest.clone()).or_default();
            k.0 = k.0.or(l.uncompressed_size);
            k.1 = k.1.or(l.content_size);
        }
        known
    }
}

#[derive(Deserialize)]
struct MetaFile {
    #[serde(default)]
    images: Vec<ImageRecord>,
}

#[derive(Serialize)]
struct MetaFileRef<'a> {
    version: u32,
    images: Vec<&'a ImageRecord>,
}

impl Meta {
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct V {
            version: u32,
        }
        let v: V = serde_json::from_slice(bytes)?;
        if v.version != META_VERSION {
            return Err(serde::de::Error::custom(format!(
                "unsupported meta.json version {} (this lade reads version {META_VERSION})",
                v.version
            )));
        }
        let file: MetaFile = serde_json::from_slice(bytes)?;
        Ok(Self {
            images: file
                .images
                .into_iter()
                .map(|r| (r.manifest.clone(), r))
                .collect(),
        })
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        let file = MetaFileRef {
            version: META_VERSION,
            images: self.images.values().collect(),
        };
        // Serializing plain structs and strings cannot fail.
        serde_json::to_vec(&file).unwrap_or_default()
    }
}
