//! Writing blobs: hash while writing to a temp file, verify, fsync, rename into place.

use std::io::{self, Write};
use std::path::PathBuf;

use lade_reference::Digest;
use sha2::{Digest as _, Sha256};

use crate::StoreError;
use crate::fsutil::{annotate, sync_dir};

/// A blob being written. Bytes go to a temporary file in the store's `lade/tmp/` while
/// they are hashed; [`BlobWriter::commit`] verifies and publishes it. Dropping it without
/// committing deletes the temporary file.
#[derive(Debug)]
pub struct BlobWriter {
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    size: u64,
    blobs_dir: PathBuf,
}

impl BlobWriter {
    pub(crate) fn new(tmp_dir: PathBuf, blobs_dir: PathBuf) -> Result<Self, StoreError> {
        let tmp = tempfile::Builder::new()
            .prefix("blob-")
            .permissions(crate::fsutil::public_mode())
            .tempfile_in(&tmp_dir)
            .map_err(|e| annotate(e, "create a temporary file in", &tmp_dir))?;
        Ok(Self {
            tmp,
            hasher: Sha256::new(),
            size: 0,
            blobs_dir,
        })
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest of the bytes written so far (what [`BlobWriter::commit`] would
    /// publish now): lets a caller ask whether the store already has the blob.
    pub fn digest(&self) -> Digest {
        Digest::from_sha256_bytes(&self.hasher.clone().finalize().into())
    }

    /// Verifies the content (when an expected digest and size are given), fsyncs it and
    /// renames it into `blobs/`. Returns the digest and size. When the store already has
    /// the blob, the new copy is discarded and the existing one kept.
    pub fn commit(self, expected: Option<(&Digest, u64)>) -> Result<(Digest, u64), StoreError> {
        let Self {
            tmp,
            hasher,
            size,
            blobs_dir,
        } = self;
        let digest = Digest::from_sha256_bytes(&hasher.finalize().into());
        if let Some((want, want_size)) = expected {
            if size != want_size {
                return Err(StoreError::SizeMismatch {
                    digest: want.clone(),
                    expected: want_size,
                    actual: size,
                });
            }
            if &digest != want {
                return Err(StoreError::DigestMismatch {
                    expected: want.clone(),
                    actual: digest,
                });
            }
        }
        let dest = blobs_dir.join(digest.hex());
        if dest.exists() {
            return Ok((digest, size));
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| annotate(e, "sync", tmp.path()))?;
        tmp.persist(&dest)
            .map_err(|e| annotate(e.error, "move blob into", &dest))?;
        sync_dir(&blobs_dir)?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tmp.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// The sha256 of `bytes` as a digest.
pub fn sha256_hex_of(bytes: &[u8]) -> Digest {
    Digest::from_sha256_bytes(&Sha256::digest(bytes).into())
}

/// Hashes a reader to the end.
pub(crate) fn sha256_of_reader(mut r: impl io::Read) -> io::Result<(Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Digest::from_sha256_bytes(&hasher.finalize().into()), size))
}
