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

/// `meta.json` as read: `version` comes first (as written), so an unsupported version
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
                            if v != META_VERSION {
                                return Err(A::Error::custom(format!(
                                    "unsupported meta.json version {v} (this lade reads version {META_VERSION})"
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

#[derive(Serialize)]
struct MetaFileRef<'a> {
    version: u32,
    images: Vec<&'a ImageRecord>,
}

impl Meta {
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let file: MetaFile = serde_json::from_slice(bytes)?;
        Ok(Self {
            images: file.images,
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

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"manifest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","manifest_media_type":"application/vnd.oci.image.manifest.v1+json","manifest_size":2,"config":"sha256:0000000000000000000000000000000000000000000000000000000000000002","config_size":3,"added":"2026-01-01T00:00:00Z","layers":[]}"#;

    #[test]
    fn reads_what_it_writes() {
        let meta =
            Meta::from_json(format!(r#"{{"version":1,"images":[{RECORD}]}}"#).as_bytes()).unwrap();
        assert_eq!(meta.images.len(), 1);
        assert_eq!(Meta::from_json(&meta.to_json()).unwrap(), meta);
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
