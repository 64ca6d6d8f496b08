//! Writing images from the store as an archive: what `docker save` (25+) writes, a
//! plain OCI image layout as a tar, or the same layout as a directory.
//!
//! The docker-archive is an OCI image layout and a Docker archive at once:
//!
//! ```text
//! oci-layout                {"imageLayoutVersion":"1.0.0"}
//! index.json                one entry per name: io.containerd.image.name = full name,
//!                           org.opencontainers.image.ref.name = tag (as Docker 25+)
//! manifest.json             [{"Config":"blobs/sha256/…","RepoTags":[…],"Layers":[…]}]
//! repositories              {"busybox":{"latest":"<top layer diff ID hex>"}}
//! blobs/sha256/<hex>        manifests and configs first, then layers; each blob once
//! ```
//!
//! The small files come first so that a reader streaming the archive knows every blob
//! it is about to see. Blobs are the exact bytes the store holds, layers compressed as
//! they were pulled or imported, so loading the archive and pushing the image gives the
//! registry the same digests. Every header is deterministic (mode 0644/0755, owner 0,
//! time 0): saving the same images twice gives the same bytes.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::Path;

use lade_oci::{Descriptor, ImageConfig, ImageIndex, Manifest};
use lade_reference::{Digest, Reference};
use lade_store::{Store, StoreError};

use crate::ArchiveError;
use crate::docker::{ManifestItem, Repositories};

/// The annotation containerd and Docker 25+ put the full image name in.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
pub(crate) const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// What `docker save` writes (Docker 25+): an OCI layout plus `manifest.json` and
    /// `repositories`, readable by every Docker since 1.10, podman and skopeo.
    DockerArchive,
    /// A plain OCI image layout as a tar (`podman save --format oci-archive`).
    OciArchive,
    /// A plain OCI image layout as a directory (`podman save --format oci-dir`).
    OciDir,
}

/// One image to save, with the names to give it in the archive.
#[derive(Debug, Clone)]
pub struct SaveImage {
    /// The image manifest's descriptor (media type, digest, size, platform).
    pub manifest: Descriptor,
    /// Full names with a tag; none saves the image by ID only.
    pub names: Vec<Reference>,
}

/// What an archive will hold, worked out from the store before a byte is written.
#[derive(Debug)]
pub struct SavePlan {
    format: Format,
    /// Small files at the top of the archive, in order.
    files: Vec<(&'static str, Vec<u8>)>,
    /// Every blob once, with its size: manifests and configs, then layers.
    blobs: Vec<(Digest, u64)>,
}

impl SavePlan {
    /// Reads the manifests and configs of `images` and plans the archive's files.
    pub fn new(store: &Store, images: &[SaveImage], format: Format) -> Result<Self, ArchiveError> {
        let mut index = ImageIndex::empty();
        let mut docker_manifest = Vec::new();
        let mut repositories = Repositories::new();
        let mut small: Vec<(Digest, u64)> = Vec::new();
        let mut layers: Vec<(Digest, u64)> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut add = |list: &mut Vec<(Digest, u64)>, d: &Digest, size: u64| {
            if seen.insert(d.clone()) {
                list.push((d.clone(), size));
            }
        };

        for image in images {
            let digest = &image.manifest.digest;
            let bytes = store.read_blob(digest)?;
            let bad = |reason: String| StoreError::BadManifest {
                digest: digest.clone(),
                reason,
            };
            let manifest = match Manifest::parse(&bytes, Some(&image.manifest.media_type))
                .map_err(|e| bad(e.to_string()))?
            {
                Manifest::Image(m) => m,
                Manifest::Index(_) => return Err(bad("it is an index, not an image".into()).into()),
            };
            let config_bytes = store.read_blob(&manifest.config.digest)?;
            let config: ImageConfig = serde_json::from_slice(&config_bytes)
                .map_err(|e| bad(format!("its config is not valid JSON: {e}")))?;
            add(&mut small, digest, bytes.len() as u64);
            add(
                &mut small,
                &manifest.config.digest,
                config_bytes.len() as u64,
            );
            for l in &manifest.layers {
                add(&mut layers, &l.digest, l.size);
            }

            let mut entry = Descriptor::new(
                image.manifest.media_type.clone(),
                digest.clone(),
                bytes.len() as u64,
            );
            entry.platform = image.manifest.platform.clone();
            if image.names.is_empty() {
                index.manifests.push(entry.clone());
            }
            for name in &image.names {
                let mut named = entry.clone();
                let full = name.to_string();
                let ref_name = match format {
                    Format::DockerArchive => name.tag().map_or("latest", |t| t.as_str()).to_owned(),
                    Format::OciArchive | Format::OciDir => full.clone(),
                };
                named
                    .annotations
                    .insert(ANNOTATION_IMAGE_NAME.to_owned(), full);
                named
                    .annotations
                    .insert(lade_oci::ANNOTATION_REF_NAME.to_owned(), ref_name);
                index.manifests.push(named);
                if let (Some(tag), Some(top)) = (name.tag(), config.rootfs.diff_ids.last()) {
                    repositories
                        .entry(name.familiar_name())
                        .or_default()
                        .insert(tag.as_str().to_owned(), top.hex().to_string());
                }
            }
            docker_manifest.push(ManifestItem {
                config: blob_path(&manifest.config.digest),
                repo_tags: image.names.iter().map(Reference::familiar).collect(),
                layers: manifest
                    .layers
                    .iter()
                    .map(|l| blob_path(&l.digest))
                    .collect(),
                layer_sources: None,
            });
        }

        let mut files: Vec<(&'static str, Vec<u8>)> = vec![
            ("oci-layout", OCI_LAYOUT.to_vec()),
            ("index.json", json(&index)),
        ];
        if format == Format::DockerArchive {
            let mut m = json(&docker_manifest);
            m.push(b'\n');
            files.push(("manifest.json", m));
            if !repositories.is_empty() {
                let mut r = json(&repositories);
                r.push(b'\n');
                files.push(("repositories", r));
            }
        }
        small.extend(layers);
        Ok(Self {
            format,
            files,
            blobs: small,
        })
    }

    /// The bytes of content the archive will hold (its size, less tar headers).
    pub fn content_size(&self) -> u64 {
        let files: u64 = self.files.iter().map(|(_, b)| b.len() as u64).sum();
        files + self.blobs.iter().map(|(_, s)| s).sum::<u64>()
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Streams the archive into `out` as a tar; returns `out` once the tar is finished
    /// (to be flushed or finished by a compressor). The store's blobs are read straight
    /// into the stream: nothing is copied to a temporary file.
    pub fn write_tar<W: Write>(&self, store: &Store, out: W) -> Result<W, ArchiveError> {
        let mut tar = tar::Builder::new(out);
        for (name, bytes) in &self.files {
            let h = header(name, tar::EntryType::Regular, bytes.len() as u64)?;
            tar.append(&h, &bytes[..]).map_err(ArchiveError::Write)?;
        }
        for dir in ["blobs/", "blobs/sha256/"] {
            let h = header(dir, tar::EntryType::Directory, 0)?;
            tar.append(&h, io::empty()).map_err(ArchiveError::Write)?;
        }
        for (digest, size) in &self.blobs {
            let file = open_sized(store, digest, *size)?;
            let h = header(&blob_path(digest), tar::EntryType::Regular, *size)?;
            let mut reader = Tracked::new(file.take(*size));
            let written = tar.append(&h, &mut reader);
            if let Some(e) = reader.error.take() {
                return Err(StoreError::Io(e).into());
            }
            written.map_err(ArchiveError::Write)?;
            if reader.count != *size {
                // The blob shrank while it was read: the archive is already broken.
                return Err(StoreError::SizeMismatch {
                    digest: digest.clone(),
                    expected: *size,
                    actual: reader.count,
                }
                .into());
            }
        }
        tar.into_inner().map_err(ArchiveError::Write)
    }

    /// Writes the layout into `dir`, which must be new or empty: blobs first (copied
    /// with the kernel's help where it can), `index.json` last.
    pub fn write_dir(&self, store: &Store, dir: &Path) -> Result<(), ArchiveError> {
        if dir.exists() {
            let mut entries = fs_err::read_dir(dir).map_err(ArchiveError::Write)?;
            if entries.next().is_some() {
                return Err(ArchiveError::DirNotEmpty(dir.to_owned()));
            }
        }
        let blobs = dir.join("blobs/sha256");
        fs_err::create_dir_all(&blobs).map_err(ArchiveError::Write)?;
        for (digest, size) in &self.blobs {
            drop(open_sized(store, digest, *size)?);
            let dest = blobs.join(digest.hex());
            let copied =
                fs_err::copy(store.blob_path(digest), &dest).map_err(ArchiveError::Write)?;
            if copied != *size {
                return Err(StoreError::SizeMismatch {
                    digest: digest.clone(),
                    expected: *size,
                    actual: copied,
                }
                .into());
            }
        }
        // index.json last: until it is there, the directory is not a layout.
        for (name, bytes) in self.files.iter().rev() {
            fs_err::write(dir.join(name), bytes).map_err(ArchiveError::Write)?;
        }
        Ok(())
    }
}

/// `blobs/sha256/<hex>`
pub(crate) fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

/// Opens a stored blob and checks that it has the size the manifest gives it.
fn open_sized(store: &Store, digest: &Digest, size: u64) -> Result<fs_err::File, ArchiveError> {
    let file = store.open_blob(digest)?;
    let actual = file.metadata().map_err(StoreError::Io)?.len();
    if actual != size {
        return Err(StoreError::SizeMismatch {
            digest: digest.clone(),
            expected: size,
            actual,
        }
        .into());
    }
    Ok(file)
}

/// A deterministic header: owner 0, time 0, mode 0644 (0755 for directories).
fn header(path: &str, kind: tar::EntryType, size: u64) -> Result<tar::Header, ArchiveError> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_path(path).map_err(ArchiveError::Write)?;
    h.set_cksum();
    Ok(h)
}

/// A reader that counts what it read and keeps its own error, so that a failure to
/// read the store is told apart from a failure to write the output.
struct Tracked<R> {
    inner: R,
    count: u64,
    error: Option<io::Error>,
}

impl<R> Tracked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            count: 0,
            error: None,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(copy)
            }
        }
    }
}

/// Serializing plain data structures (string keys, no floats) cannot fail.
fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
