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
                        format!("is a {} entry, which no image archive has", kind_name(other)),
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
        let target =
            path::link_target(path, target, symbolic).map_err(|why| ArchiveError::hostile(path, why))?;
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

    fn small(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<Vec<u8>, ArchiveError> {
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
            let (got, kind) = copy_sniffing(path, size, data, &mut sink)?;
            if got != size {
                return Err(truncated(path, got, size));
            }
            (sink.digest(), kind)
        } else {
            let mut writer = self.ingest.blob_writer()?;
            let (got, kind) = copy_sniffing(path, size, data, &mut writer)?;
            if got != size {
                return Err(truncated(path, got, size));
            }
            let actual = writer.digest();
            if &actual == digest {
                writer.commit(Some((digest, size))).map_err(|e| blob_error(path, e))?;
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
    fn unnamed_blob(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<Blob, ArchiveError> {
        let mut writer = self.ingest.blob_writer()?;
        let mut head = Vec::with_capacity(6);
        (&mut *data)
            .take(6.min(size))
            .read_to_end(&mut head)
            .map_err(ArchiveError::Read)?;
        let compression = sniff_bytes(&head);
        writer.write_all(&head).map_err(store_io)?;
        let rest = &mut io::Cursor::new(std::mem::take(&mut head)).chain(data.take(size - head_len(size)));
        let _ = rest;
        let got;
        let diff_id;
        let mut reader = io::Cursor::new(Vec::new()).chain(&mut *data);
        let _ = &mut reader;
        let mut limited = (&mut *data).take(size.saturating_sub(writer.size()));
        match compression {
            Sniffed::Plain => {
                let (n, _) = copy_sniffing(path, size, &mut limited, &mut writer)?;
                got = writer.size();
                let _ = n;
                diff_id = None;
            }
            Sniffed::Gzip | Sniffed::Zstd | Sniffed::Xz => {
                let written = writer.size();
                let mut tee = Tee {
                    inner: io::Cursor::new(Vec::new()).chain(&mut limited),
                    writer: &mut writer,
                    error: None,
                };
                let mut uncompressed = HashSink::default();
                let prefix_len = written as usize;
                let _ = prefix_len;
                let result = decode_into(&mut tee, compression, &mut uncompressed);
                let drained = io::copy(&mut tee, &mut io::sink());
                if let Some(e) = tee.error.take() {
                    return Err(store_io(e));
                }
                drained.map_err(ArchiveError::Read)?;
                got = writer.size();
                diff_id = result.ok().map(|()| (uncompressed.digest(), uncompressed.size));
            }
            Sniffed::Bzip2 => {
                let _ = copy_sniffing(path, size, &mut limited, &mut writer)?;
                got = writer.size();
                diff_id = None;
            }
        }
        if got != size {
            return Err(truncated(path, got, size));
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

fn head_len(size: u64) -> u64 {
    6.min(size)
}
