//! The first step of a load: every entry of the archive, read once, in whatever order
//! it comes. Blobs go straight into the store through a verifying blob writer; small
//! metadata files stay in memory; links are remembered as aliases inside the archive.
//! Nothing here trusts a name: paths are normalized and refused when they could reach
//! outside, `blobs/sha256/<hex>` must hash to `<hex>`, and an entry seen twice must
//! have the same content both times.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::path::Path;

use lade_reference::Digest;
use lade_store::{BlobWriter, Ingest, StoreError};
use sha2::{Digest as _, Sha256};

use crate::compression::{Sniffed, decoder, sniff_bytes};
use crate::{ArchiveError, path};

/// The most bytes one metadata file (JSON, `repositories`, `VERSION`) may have.
pub const METADATA_LIMIT: u64 = 32 * 1024 * 1024;
/// The most bytes all metadata files of an archive may have together.
pub const METADATA_TOTAL_LIMIT: u64 = 256 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// A file of the archive, as kept after reading it.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// Written into the store.
    Blob(Blob),
    /// A metadata file, kept in memory.
    Small(Vec<u8>),
}

/// A file of the archive that is in the store now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blob {
    pub digest: Digest,
    pub size: u64,
    /// The compression its first bytes show.
    pub compression: Sniffed,
    /// The digest and size of its uncompressed content, when computed while reading.
    pub diff_id: Option<(Digest, u64)>,
}

/// Everything read from the archive.
#[derive(Debug)]
pub(crate) struct Collected<'i, 's> {
    pub ingest: &'i Ingest<'s>,
    pub files: BTreeMap<String, Content>,
    /// Link entries: path → the path (inside the archive) they point at.
    pub links: BTreeMap<String, String>,
    /// Blobs this load added to the store (the ones to delete if it fails).
    pub new_blobs: BTreeSet<Digest>,
    metadata_bytes: u64,
}

impl<'i, 's> Collected<'i, 's> {
    pub fn new(ingest: &'i Ingest<'s>) -> Self {
        Self {
            ingest,
            files: BTreeMap::new(),
            links: BTreeMap::new(),
            new_blobs: BTreeSet::new(),
            metadata_bytes: 0,
        }
    }

    /// Reads a (decompressed) tar stream to its end.
    pub fn read_tar(&mut self, input: impl Read) -> Result<(), ArchiveError> {
        let mut archive = tar::Archive::new(input);
        let entries = archive.entries().map_err(tar_error)?;
        for entry in entries {
            let mut entry = entry.map_err(tar_error)?;
            let raw = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let kind = entry.header().entry_type();
            let path = path::normalize(&raw).map_err(|why| ArchiveError::hostile(&shown, why))?;
            match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let size = entry.size();
                    self.file(&path, size, &mut entry)?;
                }
                tar::EntryType::Directory => {}
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                    self.link(&path, &target, kind == tar::EntryType::Symlink)?;
                }
                // Global PAX headers carry no file.
                tar::EntryType::XGlobalHeader => {}
                other => {
                    return Err(ArchiveError::hostile(
                        shown,
                        format!(
                            "is a {} entry, which no image archive has",
                            kind_name(other)
                        ),
                    ));
                }
            }
        }
        // The end-of-archive blocks and what follows belong to the input too: reading
        // them lets a compressed stream check its trailer (a truncated gzip is an error).
        io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(ArchiveError::Read)?;
        Ok(())
    }

    /// Reads an image layout (or an unpacked docker-archive) from a directory. Symbolic
    /// links are read as links, never followed.
    pub fn read_dir(&mut self, root: &Path) -> Result<(), ArchiveError> {
        if !root.join("index.json").is_file() && !root.join("manifest.json").is_file() {
            return Err(ArchiveError::NotAnImageArchive);
        }
        let mut stack = vec![String::new()];
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            let mut names = Vec::new();
            for entry in fs_err::read_dir(&dir).map_err(ArchiveError::Read)? {
                names.push(entry.map_err(ArchiveError::Read)?.file_name());
            }
            names.sort();
            for name in names {
                let Some(name) = name.to_str() else {
                    return Err(ArchiveError::hostile(
                        name.to_string_lossy(),
                        "has a name that is not UTF-8",
                    ));
                };
                let path = if rel.is_empty() {
                    name.to_owned()
                } else {
                    format!("{rel}/{name}")
                };
                let full = root.join(&path);
                let meta = fs_err::symlink_metadata(&full).map_err(ArchiveError::Read)?;
                let ft = meta.file_type();
                if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_symlink() {
                    let target = fs_err::read_link(&full).map_err(ArchiveError::Read)?;
                    let target = target.to_string_lossy().into_owned();
                    self.link(&path, target.as_bytes(), true)?;
                } else if ft.is_file() {
                    let mut f = fs_err::File::open(&full).map_err(ArchiveError::Read)?;
                    self.file(&path, meta.len(), &mut f)?;
                } else {
                    return Err(ArchiveError::hostile(
                        path,
                        "is a device, socket or fifo, which no image layout has",
                    ));
                }
            }
        }
        Ok(())
    }

    fn link(&mut self, path: &str, target: &[u8], symbolic: bool) -> Result<(), ArchiveError> {
        let target = path::link_target(path, target, symbolic)
            .map_err(|why| ArchiveError::hostile(path, why))?;
        if self.files.contains_key(path) {
            return Err(ArchiveError::Duplicate { path: path.into() });
        }
        match self.links.get(path) {
            Some(t) if *t != target => Err(ArchiveError::Duplicate { path: path.into() }),
            _ => {
                self.links.insert(path.to_owned(), target);
                Ok(())
            }
        }
    }

    /// One regular file: a blob named by its digest, a metadata file, or anything else
    /// (a layer of an old docker-archive), stored by the digest of its bytes.
    fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<(), ArchiveError> {
        if self.links.contains_key(path) {
            return Err(ArchiveError::Duplicate { path: path.into() });
        }
        let content = if let Some(rest) = path.strip_prefix("blobs/") {
            let digest = named_digest(path, rest)?;
            Content::Blob(self.named_blob(path, &digest, size, data)?)
        } else if is_metadata(path) {
            Content::Small(self.small(path, size, data)?)
        } else {
            Content::Blob(self.unnamed_blob(path, size, data)?)
        };
        match self.files.get(path) {
            None => {
                self.files.insert(path.to_owned(), content);
                Ok(())
            }
            Some(old) if same(old, &content) => Ok(()),
            Some(_) => Err(ArchiveError::Duplicate { path: path.into() }),
        }
    }

    fn small(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<Vec<u8>, ArchiveError> {
        if size > METADATA_LIMIT {
            return Err(ArchiveError::TooLarge {
                path: path.into(),
                size,
                limit: METADATA_LIMIT,
            });
        }
        self.metadata_bytes += size;
        if self.metadata_bytes > METADATA_TOTAL_LIMIT {
            return Err(ArchiveError::TooMuchMetadata {
                limit: METADATA_TOTAL_LIMIT,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        data.take(size)
            .read_to_end(&mut bytes)
            .map_err(ArchiveError::Read)?;
        if bytes.len() as u64 != size {
            return Err(ArchiveError::Truncated {
                path: path.into(),
                got: bytes.len() as u64,
                want: size,
            });
        }
        Ok(bytes)
    }

    /// `blobs/sha256/<hex>`: verified against `<hex>` as it is written. A blob the store
    /// already has is only hashed.
    fn named_blob(
        &mut self,
        path: &str,
        digest: &Digest,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<Blob, ArchiveError> {
        let store = self.ingest.store();
        let (actual, compression) = if store.has_blob(digest) {
            let mut sink = HashSink::default();
            let (got, kind) = copy_sniffing(size, data, &mut sink)?;
            if got != size {
                return Err(truncated(path, got, size));
            }
            (sink.digest(), kind)
        } else {
            let mut writer = self.ingest.blob_writer()?;
            let (got, kind) = copy_sniffing(size, data, &mut writer)?;
            if got != size {
                return Err(truncated(path, got, size));
            }
            let actual = writer.digest();
            if &actual == digest {
                writer
                    .commit(Some((digest, size)))
                    .map_err(|e| blob_error(path, e))?;
                self.new_blobs.insert(digest.clone());
            }
            (actual, kind)
        };
        if &actual != digest {
            return Err(ArchiveError::BlobMismatch {
                path: path.into(),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(Blob {
            digest: digest.clone(),
            size,
            compression,
            diff_id: (compression == Sniffed::Plain).then(|| (digest.clone(), size)),
        })
    }

    /// Any other file (an old docker-archive's `<id>/layer.tar`): stored under the
    /// digest of its bytes, with the digest of its uncompressed content (its diff ID)
    /// worked out on the way, so that the config's `diff_ids` can be checked later
    /// whichever comes first in the archive.
    fn unnamed_blob(
        &mut self,
        path: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<Blob, ArchiveError> {
        let mut writer = self.ingest.blob_writer()?;
        let mut limited = data.take(size);
        let mut head = Vec::with_capacity(6);
        (&mut limited)
            .take(6)
            .read_to_end(&mut head)
            .map_err(ArchiveError::Read)?;
        let compression = sniff_bytes(&head);
        let mut source = io::Cursor::new(head).chain(limited);
        let diff_id = match compression {
            Sniffed::Gzip | Sniffed::Zstd | Sniffed::Xz => {
                let mut tee = Tee {
                    inner: source,
                    writer: &mut writer,
                    write_error: None,
                };
                let mut plain = HashSink::default();
                let decoded =
                    decoder(&mut tee, compression).and_then(|mut d| io::copy(&mut d, &mut plain));
                // What the decoder left: padding after the stream, or everything after
                // the point where it gave up.
                let drained = io::copy(&mut tee, &mut io::sink());
                if let Some(e) = tee.write_error.take() {
                    return Err(store_io(e));
                }
                drained.map_err(ArchiveError::Read)?;
                decoded.ok().map(|_| (plain.digest(), plain.size))
            }
            Sniffed::Plain | Sniffed::Bzip2 => {
                copy(&mut source, &mut writer)?;
                None
            }
        };
        if writer.size() != size {
            return Err(truncated(path, writer.size(), size));
        }
        let digest = writer.digest();
        let existed = self.ingest.store().has_blob(&digest);
        writer.commit(None).map_err(|e| blob_error(path, e))?;
        if !existed {
            self.new_blobs.insert(digest.clone());
        }
        let diff_id = match compression {
            Sniffed::Plain => Some((digest.clone(), size)),
            _ => diff_id,
        };
        Ok(Blob {
            digest,
            size,
            compression,
            diff_id,
        })
    }
}

/// Copies `size` bytes of `data` into `sink`; returns how many came (fewer when the
/// input ended early) and the compression the first bytes show.
fn copy_sniffing(
    size: u64,
    data: &mut dyn Read,
    sink: &mut dyn Write,
) -> Result<(u64, Sniffed), ArchiveError> {
    let mut limited = data.take(size);
    let mut head = Vec::with_capacity(6);
    (&mut limited)
        .take(6)
        .read_to_end(&mut head)
        .map_err(ArchiveError::Read)?;
    let kind = sniff_bytes(&head);
    sink.write_all(&head).map_err(store_io)?;
    let rest = copy(&mut limited, sink)?;
    Ok((head.len() as u64 + rest, kind))
}

/// Copies to the end of `src`, telling a failure to read the archive from a failure
/// to write the store.
fn copy(src: &mut dyn Read, dst: &mut dyn Write) -> Result<u64, ArchiveError> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArchiveError::Read(e)),
        };
        dst.write_all(&buf[..n]).map_err(store_io)?;
        total += n as u64;
    }
}

/// Reads from `inner` and writes every byte read into `writer` as well.
struct Tee<'w, R> {
    inner: R,
    writer: &'w mut BlobWriter,
    write_error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.writer.write_all(&buf[..n]) {
            let copy = io::Error::new(e.kind(), e.to_string());
            self.write_error = Some(e);
            return Err(copy);
        }
        Ok(n)
    }
}

/// Hashes and counts what is written into it.
#[derive(Default)]
pub(crate) struct HashSink {
    hasher: Sha256,
    pub size: u64,
}

impl HashSink {
    pub fn digest(&self) -> Digest {
        Digest::from_sha256_bytes(&self.hasher.clone().finalize().into())
    }
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The digest a `blobs/<algorithm>/<hex>` path names.
fn named_digest(path: &str, rest: &str) -> Result<Digest, ArchiveError> {
    let Some((algorithm, hex)) = rest.split_once('/') else {
        return Err(ArchiveError::invalid(
            path,
            "a file directly under blobs/ (expected blobs/sha256/<hex>)",
        ));
    };
    if algorithm != "sha256" {
        return Err(ArchiveError::invalid(
            path,
            format!("{algorithm} blobs are not supported; lade stores sha256 blobs only"),
        ));
    }
    Digest::parse(&format!("sha256:{hex}"))
        .map_err(|e| ArchiveError::invalid(path, format!("the name is not a digest: {e}")))
}

/// Files kept in memory: the metadata of image layouts and docker-archives.
fn is_metadata(path: &str) -> bool {
    let name = path::file_name(path);
    matches!(path, "oci-layout" | "repositories")
        || name.ends_with(".json")
        || name == "json"
        || name == "VERSION"
}

fn same(a: &Content, b: &Content) -> bool {
    match (a, b) {
        (Content::Blob(a), Content::Blob(b)) => a.digest == b.digest,
        (Content::Small(a), Content::Small(b)) => a == b,
        _ => false,
    }
}

fn truncated(path: &str, got: u64, want: u64) -> ArchiveError {
    ArchiveError::Truncated {
        path: path.into(),
        got,
        want,
    }
}

fn store_io(e: io::Error) -> ArchiveError {
    ArchiveError::Store(StoreError::Io(e))
}

/// A verification failure of a blob is the archive's fault, not the store's.
fn blob_error(path: &str, e: StoreError) -> ArchiveError {
    match e {
        StoreError::DigestMismatch { expected, actual } => ArchiveError::BlobMismatch {
            path: path.into(),
            expected,
            actual,
        },
        StoreError::SizeMismatch {
            expected, actual, ..
        } => truncated(path, actual, expected),
        e => ArchiveError::Store(e),
    }
}

/// An error of the tar reader: the input ended, or is not a tar at all.
pub(crate) fn tar_error(e: io::Error) -> ArchiveError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => ArchiveError::Read(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "unexpected end of input (is the archive truncated?)",
        )),
        // The tar reader quotes the bytes it could not parse: only text is worth showing.
        io::ErrorKind::Other => {
            let m = e.to_string();
            ArchiveError::NotTar(
                m.chars()
                    .all(|c| c.is_ascii_graphic() || c == ' ')
                    .then_some(m),
            )
        }
        _ => ArchiveError::Read(e),
    }
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special",
    }
}
