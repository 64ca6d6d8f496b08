//! The second step of a load: what the archive's metadata says, checked against what
//! it holds. Runs once every entry was read, so `index.json` and `manifest.json` may
//! come anywhere in the stream.
//!
//! With a `manifest.json` the archive is read as Docker reads it: each item names a
//! config and its layers by path. When `index.json` has an OCI manifest with that
//! config and those layer blobs (as in Docker 25+ and lade's own archives), that
//! manifest is kept byte for byte, so its digest survives; otherwise (Docker ≤ 24, or
//! Docker 25.0's manifests that list no layers) one is written, and each layer is
//! checked against the config's `diff_ids`. Without a `manifest.json`, `index.json`
//! drives: an OCI image layout, as skopeo and podman write it.

use std::collections::BTreeMap;
use std::io;

use lade_oci::{
    Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest, Platform, media_type,
};
use lade_reference::{Digest, Reference};
use lade_store::LayerSizes;

use super::LoadOptions;
use super::collect::{Blob, Collected, Content, HashSink, METADATA_LIMIT};
use crate::compression::{Sniffed, decoder, sniff_bytes};
use crate::docker::ManifestItem;
use crate::save::{ANNOTATION_IMAGE_NAME, blob_path};
use crate::{ArchiveError, path};

/// How many links may be followed from one path (a loop is refused, not followed).
const MAX_LINK_HOPS: usize = 16;

/// An image the archive holds, every blob of it in the store.
#[derive(Debug, Clone)]
pub(crate) struct LoadImage {
    /// The image manifest.
    pub descriptor: Descriptor,
    pub names: Vec<Reference>,
    /// The index the manifest was chosen from, when the archive had one.
    pub index: Option<Digest>,
    /// What is known of the layers' sizes, by digest.
    pub sizes: BTreeMap<Digest, LayerSizes>,
}

/// An image manifest that `index.json` leads to.
#[derive(Debug)]
struct OciImage {
    descriptor: Descriptor,
    manifest: ImageManifest,
    names: Vec<Reference>,
    index: Option<Digest>,
}

pub(crate) fn resolve(
    c: &mut Collected<'_, '_>,
    opts: &LoadOptions,
) -> Result<Vec<LoadImage>, ArchiveError> {
    let index = match c.files.get("index.json") {
        Some(Content::Small(bytes)) => Some(
            serde_json::from_slice::<ImageIndex>(bytes)
                .map_err(|e| ArchiveError::invalid("index.json", e))?,
        ),
        _ => None,
    };
    let items = match c.files.get("manifest.json") {
        Some(Content::Small(bytes)) => Some(
            serde_json::from_slice::<Vec<ManifestItem>>(bytes)
                .map_err(|e| ArchiveError::invalid("manifest.json", e))?,
        ),
        _ => None,
    };
    let oci = match &index {
        Some(index) => oci_images(c, index, opts)?,
        None => Vec::new(),
    };
    let images = match (items, index) {
        (Some(items), _) => {
            if items.is_empty() {
                return Err(ArchiveError::invalid("manifest.json", "it lists no image"));
            }
            let mut out = Vec::new();
            for item in &items {
                out.push(docker_image(c, item, &oci)?);
            }
            out
        }
        (None, Some(_)) => {
            if oci.is_empty() {
                return Err(ArchiveError::invalid("index.json", "it lists no image"));
            }
            let mut out = Vec::new();
            for image in oci {
                out.push(oci_image(c, image)?);
            }
            out
        }
        (None, None) => return Err(ArchiveError::NotAnImageArchive),
    };
    Ok(images)
}

/// The image manifests `index.json` leads to (one platform of each nested index),
/// names merged per manifest.
fn oci_images(
    c: &mut Collected<'_, '_>,
    index: &ImageIndex,
    opts: &LoadOptions,
) -> Result<Vec<OciImage>, ArchiveError> {
    let mut out: Vec<OciImage> = Vec::new();
    for entry in &index.manifests {
        let names: Vec<Reference> = name_of(&entry.annotations).into_iter().collect();
        let bytes = descriptor_bytes(c, entry, "index.json")?;
        let found = match Manifest::parse(&bytes, Some(&entry.media_type))
            .map_err(|e| ArchiveError::invalid(blob_path(&entry.digest), e))?
        {
            Manifest::Image(m) => (clean(entry), m, None),
            Manifest::Index(nested) => {
                let by = blob_path(&entry.digest);
                let wanted = opts.platform.clone().unwrap_or_else(Platform::host);
                let present: Vec<Descriptor> = nested
                    .manifests
                    .iter()
                    .filter(|d| find(c, &blob_path(&d.digest)).is_some())
                    .cloned()
                    .collect();
                let Some(child) = wanted.select(&present) else {
                    let available: Vec<String> = present
                        .iter()
                        .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
                        .collect();
                    return Err(ArchiveError::NoMatchingPlatform {
                        what: names
                            .first()
                            .map_or_else(|| entry.digest.to_string(), Reference::familiar),
                        wanted: wanted.to_string(),
                        available: if available.is_empty() {
                            "none".into()
                        } else {
                            available.join(", ")
                        },
                    });
                };
                let child_bytes = descriptor_bytes(c, child, &by)?;
                match Manifest::parse(&child_bytes, Some(&child.media_type))
                    .map_err(|e| ArchiveError::invalid(blob_path(&child.digest), e))?
                {
                    Manifest::Image(m) => (clean(child), m, Some(entry.digest.clone())),
                    Manifest::Index(_) => {
                        return Err(ArchiveError::invalid(
                            blob_path(&child.digest),
                            "an index inside an index inside index.json is not supported",
                        ));
                    }
                }
            }
        };
        let (descriptor, manifest, nested) = found;
        // Signatures, attestations and other artifacts are not images.
        if !matches!(
            manifest.config.media_type.as_str(),
            media_type::OCI_CONFIG | media_type::DOCKER_CONFIG
        ) {
            continue;
        }
        match out
            .iter_mut()
            .find(|o| o.descriptor.digest == descriptor.digest)
        {
            Some(o) => {
                for n in names {
                    if !o.names.contains(&n) {
                        o.names.push(n);
                    }
                }
            }
            None => out.push(OciImage {
                descriptor,
                manifest,
                names,
                index: nested,
            }),
        }
    }
    Ok(out)
}

/// An image `index.json` names: its config and layers must all be in the archive,
/// with the sizes the manifest gives them.
fn oci_image(c: &mut Collected<'_, '_>, image: OciImage) -> Result<LoadImage, ArchiveError> {
    let by = blob_path(&image.descriptor.digest);
    descriptor_blob(c, &image.manifest.config, &by)?;
    let mut sizes = BTreeMap::new();
    for layer in &image.manifest.layers {
        let blob = descriptor_blob(c, layer, &by)?;
        sizes.insert(blob.digest.clone(), layer_sizes(c, &blob));
    }
    Ok(LoadImage {
        descriptor: image.descriptor,
        names: image.names,
        index: image.index,
        sizes,
    })
}

/// One item of `manifest.json`.
fn docker_image(
    c: &mut Collected<'_, '_>,
    item: &ManifestItem,
    oci: &[OciImage],
) -> Result<LoadImage, ArchiveError> {
    let by = "manifest.json";
    let config_path = named_path(&item.config)?;
    let config_bytes = small(c, &config_path, by)?;
    let config_digest = lade_store::sha256_hex_of(&config_bytes);
    if let Some(claimed) = claimed_digest(&config_path)
        && claimed != config_digest
    {
        return Err(ArchiveError::BlobMismatch {
            path: config_path,
            expected: claimed,
            actual: config_digest,
        });
    }
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| ArchiveError::invalid(&config_path, e))?;
    let mut layers = Vec::with_capacity(item.layers.len());
    for raw in &item.layers {
        let p = named_path(raw)?;
        let blob = blob(c, &p, by)?;
        if let Some(claimed) = claimed_digest(&p)
            && claimed != blob.digest
        {
            return Err(ArchiveError::BlobMismatch {
                path: p,
                expected: claimed,
                actual: blob.digest,
            });
        }
        layers.push((p, blob));
    }
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != layers.len() {
        return Err(ArchiveError::invalid(
            by,
            format!(
                "it lists {} layers for {config_path}, whose config has {} diff IDs",
                layers.len(),
                diff_ids.len()
            ),
        ));
    }
    let mut names = Vec::new();
    for tag in &item.repo_tags {
        let r = Reference::parse_normalized(tag)
            .ok()
            .filter(|r| r.digest().is_none())
            .ok_or_else(|| ArchiveError::invalid(by, format!("{tag:?} is not a valid NAME:TAG")))?;
        let r = r.with_default_tag();
        if !names.contains(&r) {
            names.push(r);
        }
    }
    let mut sizes = BTreeMap::new();
    for (_, blob) in &layers {
        sizes.insert(blob.digest.clone(), layer_sizes(c, blob));
    }

    let matched = oci.iter().find(|o| {
        o.manifest.config.digest == config_digest
            && o.manifest.layers.len() == layers.len()
            && o.manifest
                .layers
                .iter()
                .zip(&layers)
                .all(|(d, (_, b))| d.digest == b.digest)
    });
    if let Some(o) = matched {
        let own = blob_path(&o.descriptor.digest);
        check_size(
            &own,
            "config",
            &config_path,
            o.manifest.config.size,
            config_bytes.len() as u64,
        )?;
        for (d, (p, b)) in o.manifest.layers.iter().zip(&layers) {
            check_size(&own, "layer", p, d.size, b.size)?;
        }
        // An old-style `<hex>.json` config is not in the store yet.
        write_small(c, &config_bytes)?;
        return Ok(LoadImage {
            descriptor: o.descriptor.clone(),
            names: if names.is_empty() {
                o.names.clone()
            } else {
                names
            },
            index: o.index.clone(),
            sizes,
        });
    }

    // No manifest to keep: the config's diff IDs are the only check the layers get.
    let label = names
        .first()
        .map_or_else(|| config_digest.to_string(), Reference::familiar);
    for (i, (p, blob)) in layers.iter().enumerate() {
        let (actual, _) = match &blob.diff_id {
            Some(d) => d.clone(),
            None => stored_diff_id(c, blob, p)?,
        };
        if actual != diff_ids[i] {
            return Err(ArchiveError::DiffId {
                image: label,
                index: i + 1,
                path: p.clone(),
                expected: Box::new(diff_ids[i].clone()),
                actual: Box::new(actual),
            });
        }
    }
    // The store may have this very image already (the config names every layer's
    // content): keep its manifest rather than make a second one with the same ID.
    let state = c.ingest.store().state()?;
    if let Some(record) = state
        .meta()
        .images
        .values()
        .find(|r| r.config == config_digest && r.index.is_none())
    {
        return Ok(LoadImage {
            descriptor: Descriptor::new(
                record.manifest_media_type.clone(),
                record.manifest.clone(),
                record.manifest_size,
            ),
            names,
            index: None,
            sizes: BTreeMap::new(),
        });
    }
    let mut descriptors = Vec::with_capacity(layers.len());
    for (p, blob) in &layers {
        let media = layer_media_type(blob.compression).ok_or_else(|| {
            ArchiveError::invalid(
                p,
                "the layer is compressed with xz or bzip2, which OCI images cannot describe; decompress it or recompress it with gzip or zstd",
            )
        })?;
        descriptors.push(Descriptor::new(media, blob.digest.clone(), blob.size));
    }
    let config_digest = write_small(c, &config_bytes)?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(
            media_type::OCI_CONFIG,
            config_digest,
            config_bytes.len() as u64,
        ),
        layers: descriptors,
        subject: None,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| ArchiveError::invalid(by, e))?;
    let digest = write_small(c, &bytes)?;
    Ok(LoadImage {
        descriptor: Descriptor::new(media_type::OCI_MANIFEST, digest, bytes.len() as u64),
        names,
        index: None,
        sizes,
    })
}

/// A path that `manifest.json` gives, normalized; a path that climbs out is hostile.
fn named_path(raw: &str) -> Result<String, ArchiveError> {
    path::normalize(raw.as_bytes()).map_err(|why| ArchiveError::Hostile {
        path: raw.into(),
        why: format!("(named in manifest.json) {why}"),
    })
}

/// The digest a path claims: `blobs/sha256/<hex>`, or an old config's `<hex>.json`.
fn claimed_digest(p: &str) -> Option<Digest> {
    let hex = match p.strip_prefix("blobs/sha256/") {
        Some(hex) => hex,
        None => path::file_name(p).strip_suffix(".json")?,
    };
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// The file at `p`, links followed (inside the archive only; loops refused).
fn find<'c>(c: &'c Collected<'_, '_>, p: &str) -> Option<&'c Content> {
    let mut at = p;
    for _ in 0..MAX_LINK_HOPS {
        if let Some(content) = c.files.get(at) {
            return Some(content);
        }
        at = c.links.get(at)?;
    }
    None
}

fn missing(by: &str, p: &str) -> ArchiveError {
    ArchiveError::Missing {
        by: by.into(),
        path: p.into(),
    }
}

/// A metadata file's bytes, from memory or read back from the store.
fn small(c: &Collected<'_, '_>, p: &str, by: &str) -> Result<Vec<u8>, ArchiveError> {
    match find(c, p) {
        Some(Content::Small(bytes)) => Ok(bytes.clone()),
        Some(Content::Blob(b)) if b.size > METADATA_LIMIT => Err(ArchiveError::TooLarge {
            path: p.into(),
            size: b.size,
            limit: METADATA_LIMIT,
        }),
        Some(Content::Blob(b)) => Ok(c.ingest.store().read_blob(&b.digest)?),
        None => Err(missing(by, p)),
    }
}

/// A file as a blob in the store (a metadata file is written there now).
fn blob(c: &mut Collected<'_, '_>, p: &str, by: &str) -> Result<Blob, ArchiveError> {
    match find(c, p) {
        Some(Content::Blob(b)) => Ok(b.clone()),
        Some(Content::Small(bytes)) => {
            let bytes = bytes.clone();
            let digest = write_small(c, &bytes)?;
            let compression = sniff_bytes(&bytes[..bytes.len().min(6)]);
            Ok(Blob {
                diff_id: (compression == Sniffed::Plain)
                    .then(|| (digest.clone(), bytes.len() as u64)),
                digest,
                size: bytes.len() as u64,
                compression,
            })
        }
        None => Err(missing(by, p)),
    }
}

/// Writes bytes held in memory into the store.
fn write_small(c: &mut Collected<'_, '_>, bytes: &[u8]) -> Result<Digest, ArchiveError> {
    let digest = lade_store::sha256_hex_of(bytes);
    let existed = c.ingest.store().has_blob(&digest);
    c.ingest.write_blob(bytes)?;
    if !existed {
        c.new_blobs.insert(digest.clone());
    }
    Ok(digest)
}

/// The blob a descriptor names, checked against the descriptor's digest and size.
fn descriptor_blob(
    c: &mut Collected<'_, '_>,
    d: &Descriptor,
    by: &str,
) -> Result<Blob, ArchiveError> {
    let p = blob_path(&d.digest);
    let blob = blob(c, &p, by)?;
    if blob.digest != d.digest {
        return Err(ArchiveError::BlobMismatch {
            path: p,
            expected: d.digest.clone(),
            actual: blob.digest,
        });
    }
    check_size(by, "descriptor", &p, d.size, blob.size)?;
    Ok(blob)
}

/// The bytes of a manifest or index a descriptor names.
fn descriptor_bytes(
    c: &mut Collected<'_, '_>,
    d: &Descriptor,
    by: &str,
) -> Result<Vec<u8>, ArchiveError> {
    let blob = descriptor_blob(c, d, by)?;
    small(c, &blob_path(&blob.digest), by)
}

fn check_size(
    by: &str,
    what: &str,
    p: &str,
    expected: u64,
    actual: u64,
) -> Result<(), ArchiveError> {
    if expected == actual {
        return Ok(());
    }
    Err(ArchiveError::SizeMismatch {
        what: format!("the {what} in {by}"),
        path: p.into(),
        expected,
        actual,
    })
}

/// What can be learnt of a layer's sizes: its tar stream's size when it was worked out
/// on the way in, and what [`crate::measure_stored_layer`] finds, reading the small
/// compressed layers a pull reads (see [`crate::INSPECT_LIMIT`]).
fn layer_sizes(c: &Collected<'_, '_>, blob: &Blob) -> LayerSizes {
    crate::measure_stored_layer(
        c.ingest.store(),
        &blob.digest,
        Some(blob.compression),
        blob.diff_id.as_ref().map(|(_, size)| *size),
        false,
    )
}

/// The diff ID of a compressed blob already in the store, by decompressing it.
fn stored_diff_id(
    c: &Collected<'_, '_>,
    blob: &Blob,
    p: &str,
) -> Result<(Digest, u64), ArchiveError> {
    let file = c.ingest.store().open_blob(&blob.digest)?;
    let mut sink = HashSink::default();
    decoder(io::BufReader::new(file), blob.compression)
        .and_then(|mut d| io::copy(&mut d, &mut sink))
        .map_err(|e| ArchiveError::invalid(p, format!("the layer cannot be decompressed: {e}")))?;
    Ok((sink.digest(), sink.size))
}

/// A descriptor as `index.json` of the store keeps it: no names, no annotations.
fn clean(d: &Descriptor) -> Descriptor {
    let mut out = Descriptor::new(d.media_type.clone(), d.digest.clone(), d.size);
    out.platform = d.platform.clone();
    out
}

/// The names an archive's `index.json` entry gives an image: the full name from
/// `io.containerd.image.name`, else `org.opencontainers.image.ref.name` read as a
/// reference (a bare word is a repository with tag `latest`). `None` when the entry
/// names nothing usable (no annotation, a digest, or not a reference at all).
fn name_of(annotations: &lade_oci::Annotations) -> Option<Reference> {
    let parse = |s: &str| {
        Reference::parse_normalized(s)
            .ok()
            .filter(|r| r.digest().is_none())
            .map(Reference::with_default_tag)
    };
    if let Some(full) = annotations.get(ANNOTATION_IMAGE_NAME)
        && let Some(r) = parse(full)
    {
        return Some(r);
    }
    annotations
        .get(lade_oci::ANNOTATION_REF_NAME)
        .and_then(|n| parse(n))
}

/// The media type of a layer stored as it came, by its compression.
fn layer_media_type(kind: crate::compression::Sniffed) -> Option<&'static str> {
    match kind {
        Sniffed::Plain => Some(media_type::OCI_LAYER_TAR),
        Sniffed::Gzip => Some(media_type::OCI_LAYER_GZIP),
        Sniffed::Zstd => Some(media_type::OCI_LAYER_ZSTD),
        Sniffed::Xz | Sniffed::Bzip2 => None,
    }
}
