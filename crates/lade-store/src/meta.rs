//! `lade/meta.bin`: what Docker shows about an image that an OCI layout does not keep.
//!
//! Version 2 (`lade/meta.bin`): the 8 bytes `LADEMETA`, the version as a little-endian
//! `u32`, then the records as a [postcard] sequence of [`ImageRecord`] (digests as
//! their hash bytes). It is binary because every command reads all of it: on a store
//! of 10,000 images its JSON form (8 MB) took three times as long to parse as
//! `index.json`, and more than everything `lade images` does with the records.
//!
//! Version 1 (`lade/meta.json`, written before): still read, when `lade/meta.bin` is
//! absent, and replaced by `lade/meta.bin` on the next change:
//! ```json
//! {"version":1,"images":[{"manifest":"sha256:…","config":"sha256:…", …}]}
//! ```
//! Every field but `manifest`, `config` and `added` can be derived again from the blobs
//! (see `Store::record_for`), so a lost or stale record is repaired, not fatal.
//! Changing this format: bump [`META_VERSION`], keep a reader for the old version, and
//! test old data with the new reader. Postcard is not self-describing: a field can be
//! added only with a new version (so no `skip_serializing_if` on the records).

use std::collections::BTreeMap;

use lade_reference::Digest;
use serde::{Deserialize, Serialize};

/// The version of the records file this lade writes (`lade/meta.bin`).
pub const META_VERSION: u32 = 2;
/// The version of `lade/meta.json`, read to migrate a store.
const META_JSON_VERSION: u32 = 1;
/// The first bytes of `lade/meta.bin`.
const META_MAGIC: &[u8; 8] = b"LADEMETA";

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
    #[serde(default)]
    pub created: Option<String>,
    /// When the image arrived in this store (RFC 3339).
    pub added: String,
    pub layers: Vec<LayerRecord>,
    #[serde(default)]
    pub labels: lade_oci::Labels,
    /// `os/arch[/variant]` from the config.
    #[serde(default)]
    pub platform: String,
    /// The index (manifest list) this image was chosen from when it was pulled, kept
    /// byte for byte as the registry served it.
    #[serde(default, with = "lade_oci::serde_digest::option")]
    pub index: Option<Digest>,
    /// Repository digests (`name@sha256:…`) seen on pull and push.
    #[serde(default)]
    pub repo_digests: Vec<String>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    #[serde(with = "lade_oci::serde_digest")]
    pub digest: Digest,
    pub size: u64,
    /// [`LayerSizes::tar`], kept under this name in the records file.
    #[serde(default)]
    pub uncompressed_size: Option<u64>,
    /// [`LayerSizes::content`], kept under this name in the records file.
    #[serde(default)]
    pub content_size: Option<u64>,
}

/// A layer's sizes, each one when known. A [`LayerRecord`] keeps them as
/// `uncompressed_size` and `content_size`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerSizes {
    /// The size of the layer's tar stream (uncompressed).
    pub tar: Option<u64>,
    /// The layer's size as Docker counts it: the content of its files, that is the sum
    /// of the sizes its tar entries state, without tar headers and padding (see
    /// `lade_archive::inspect_layer`).
    pub content: Option<u64>,
}

impl LayerSizes {
    /// These sizes, each one that is unknown taken from `other`.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self {
            tar: self.tar.or(other.tar),
            content: self.content.or(other.content),
        }
    }
}

/// The sizes some record knows for each layer, by digest (see
/// [`Meta::known_layer_sizes`]).
pub type KnownSizes = std::collections::HashMap<Digest, LayerSizes>;

impl LayerRecord {
    /// The sizes this record knows.
    pub fn sizes(&self) -> LayerSizes {
        LayerSizes {
            tar: self.uncompressed_size,
            content: self.content_size,
        }
    }

    /// Records `sizes` in place of the ones this record has.
    pub fn set_sizes(&mut self, sizes: LayerSizes) {
        self.uncompressed_size = sizes.tar;
        self.content_size = sizes.content;
    }

    /// Takes from `known` the sizes this record lacks.
    pub fn fill_sizes(&mut self, known: &KnownSizes) {
        if let Some(&sizes) = known.get(&self.digest) {
            self.set_sizes(self.sizes().or(sizes));
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

/// Every record (`lade/meta.bin`).
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
            *k = k.or(l.sizes());
        }
        known
    }
}

/// `meta.json` (version 1) as read: `version` comes first (as written), so an unsupported version
/// is refused before anything else of the file is looked at.
struct MetaFile {
    images: BTreeMap<Digest, ImageRecord>,
}

/// The `images` array, read straight into the map (no list of 10,000 records to grow
/// and copy first).
struct Records;

impl<'de> serde::de::DeserializeSeed<'de> for Records {
    type Value = BTreeMap<Digest, ImageRecord>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Records {
    type Value = BTreeMap<Digest, ImageRecord>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of image records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut images = BTreeMap::new();
        while let Some(r) = seq.next_element::<ImageRecord>()? {
            images.insert(r.manifest.clone(), r);
        }
        Ok(images)
    }
}

impl<'de> Deserialize<'de> for MetaFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MetaFile;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("lade's meta.json")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MetaFile, A::Error> {
                use serde::de::Error;
                let mut version = None;
                let mut images: Option<Result<BTreeMap<Digest, ImageRecord>, serde_json::Value>> =
                    None;
                while let Some(key) = map.next_key::<String>()? {
                    match &*key {
                        "version" => {
                            let v: u32 = map.next_value()?;
                            if v != META_JSON_VERSION {
                                return Err(A::Error::custom(format!(
                                    "unsupported meta.json version {v} (this lade reads version {META_JSON_VERSION})"
                                )));
                            }
                            version = Some(v);
                        }
                        "images" if version.is_some() => {
                            images = Some(Ok(map.next_value_seed(Records)?));
                        }
                        // Written by hand: kept until the version is known.
                        "images" => images = Some(Err(map.next_value::<serde_json::Value>()?)),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                if version.is_none() {
                    return Err(A::Error::missing_field("version"));
                }
                let images = match images {
                    None => BTreeMap::new(),
                    Some(Ok(images)) => images,
                    Some(Err(value)) => serde::de::DeserializeSeed::deserialize(Records, value)
                        .map_err(A::Error::custom)?,
                };
                Ok(MetaFile { images })
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Why `lade/meta.bin` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not lade's records file (it does not start with LADEMETA)")]
    NotMeta,
    #[error("unsupported version {found} (this lade reads version {META_VERSION})")]
    Version { found: u32 },
    #[error(transparent)]
    Postcard(#[from] postcard::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Meta {
    /// Reads `lade/meta.json` (version 1).
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, MetaError> {
        let file: MetaFile = serde_json::from_slice(bytes)?;
        Ok(Self {
            images: file.images,
        })
    }

    /// Reads the bytes of `lade/meta.bin`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetaError> {
        let rest = bytes.strip_prefix(META_MAGIC).ok_or(MetaError::NotMeta)?;
        let (version, records) = rest.split_first_chunk::<4>().ok_or(MetaError::NotMeta)?;
        let found = u32::from_le_bytes(*version);
        if found != META_VERSION {
            return Err(MetaError::Version { found });
        }
        let mut de = postcard::Deserializer::from_bytes(records);
        let images = serde::de::DeserializeSeed::deserialize(Records, &mut de)?;
        if !de.finalize()?.is_empty() {
            return Err(postcard::Error::DeserializeBadEncoding.into());
        }
        Ok(Self { images })
    }

    /// `lade/meta.bin`'s bytes. (Plain structs and strings into a `Vec`: serializing
    /// does not fail, but should it, nothing half-made is returned to be written.)
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, MetaError> {
        let mut out = Vec::with_capacity(256 * self.images.len() + 16);
        out.extend_from_slice(META_MAGIC);
        out.extend_from_slice(&META_VERSION.to_le_bytes());
        Ok(postcard::to_extend(&RecordsOut(&self.images), out)?)
    }
}

/// The records as a sequence, written straight from the map (as a list of them would
/// be, without making the list).
struct RecordsOut<'a>(&'a BTreeMap<Digest, ImageRecord>);

impl Serialize for RecordsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"manifest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","manifest_media_type":"application/vnd.oci.image.manifest.v1+json","manifest_size":2,"config":"sha256:0000000000000000000000000000000000000000000000000000000000000002","config_size":3,"added":"2026-01-01T00:00:00Z","layers":[]}"#;

    #[test]
    fn reads_what_it_writes() {
        let mut meta =
            Meta::from_json(format!(r#"{{"version":1,"images":[{RECORD}]}}"#).as_bytes()).unwrap();
        assert_eq!(meta.images.len(), 1);
        assert_eq!(Meta::from_bytes(&meta.to_bytes().unwrap()).unwrap(), meta);
        // Every optional field set, and a SHA-512 digest.
        let mut full = meta.images.values().next().unwrap().clone();
        full.manifest = Digest::from_sha512_bytes(&[7; 64]);
        full.created = Some("2020-01-01T00:00:00Z".into());
        full.labels.insert("a".into(), "b".into());
        full.index = Some(Digest::from_sha256_bytes(&[9; 32]));
        full.repo_digests
            .push("docker.io/library/x@sha256:00".into());
        full.layers.push(LayerRecord {
            digest: Digest::from_sha256_bytes(&[1; 32]),
            size: 5,
            uncompressed_size: Some(10),
            content_size: None,
        });
        meta.images.insert(full.manifest.clone(), full);
        let bytes = meta.to_bytes().unwrap();
        assert_eq!(Meta::from_bytes(&bytes).unwrap(), meta);
        // The same bytes as a list of the records gives.
        let list: Vec<&ImageRecord> = meta.images.values().collect();
        let mut header = META_MAGIC.to_vec();
        header.extend_from_slice(&META_VERSION.to_le_bytes());
        assert_eq!(bytes, postcard::to_extend(&list, header).unwrap());
    }

    #[test]
    fn damaged_or_foreign_records_are_refused() {
        let bytes = Meta::from_json(format!(r#"{{"version":1,"images":[{RECORD}]}}"#).as_bytes())
            .unwrap()
            .to_bytes()
            .unwrap();
        for cut in [0, 5, 12, 20, bytes.len() - 1] {
            assert!(Meta::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Meta::from_bytes(&longer).is_err());
        let mut newer = bytes;
        newer[8] = 3;
        let e = Meta::from_bytes(&newer).unwrap_err().to_string();
        assert_eq!(e, "unsupported version 3 (this lade reads version 2)");
    }

    #[test]
    fn images_before_the_version_are_read() {
        let meta = Meta::from_json(
            format!(r#"{{"other":[1,{{}}],"images":[{RECORD}],"version":1}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(meta.images.len(), 1);
    }

    #[test]
    fn another_version_is_refused_on_its_version_not_its_records() {
        for text in [
            r#"{"version":2,"images":[{"what":"new"}]}"#.to_owned(),
            r#"{"images":[{"what":"new"}],"version":2}"#.to_owned(),
        ] {
            let e = Meta::from_json(text.as_bytes()).unwrap_err().to_string();
            assert!(
                e.contains("unsupported meta.json version 2 (this lade reads version 1)"),
                "{e}"
            );
        }
        let e = Meta::from_json(br#"{"images":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `version`"), "{e}");
    }
}
