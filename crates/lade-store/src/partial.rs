//! Resumable downloads: a blob whose digest is known is written to
//! `lade/partial/<hex>` and kept there when the download stops, so that the next
//! attempt (in this process or the next one) continues from where it stopped.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use lade_reference::Digest;
use sha2::{Digest as _, Sha256};

use crate::StoreError;
use crate::direct::DirectWriter;
use crate::fsutil::{annotate, sync_dir};

/// A partly downloaded blob, locked by this process while it lives. Written without
/// the page cache where the filesystem allows (see `DirectWriter`).
#[derive(Debug)]
pub struct ResumableBlob {
    file: DirectWriter,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    digest: Digest,
    dest: PathBuf,
}

/// What [`crate::Ingest::resumable_blob`] found.
#[derive(Debug)]
pub enum Resumable {
    /// Another process finished the blob meanwhile.
    Present,
    /// Write (or continue writing) here.
    Write(Box<ResumableBlob>),
}

impl ResumableBlob {
    /// Opens (or creates) the partial file, waiting for any other process writing the
    /// same blob, and hashes what is already there.
    pub(crate) fn open(
        partial_dir: PathBuf,
        digest: &Digest,
        dest: PathBuf,
    ) -> Result<Resumable, StoreError> {
        fs_err::create_dir_all(&partial_dir)?;
        let path = partial_dir.join(digest.hex());
        let mut file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        file.file().lock().map_err(|e| annotate(e, "lock", &path))?;
        if dest.exists() {
            // Someone else completed it while we waited for the lock.
            drop(file);
            let _ = fs_err::remove_file(&path);
            return Ok(Resumable::Present);
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        file.seek(SeekFrom::Start(0))?;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok(Resumable::Write(Box::new(Self {
            file: DirectWriter::new(file, size)?,
            path,
            hasher,
            size,
            digest: digest.clone(),
            dest,
        })))
    }

    /// Bytes already held: where a `Range` request should start.
    pub fn offset(&self) -> u64 {
        self.size
    }

    /// Drops what was written (the registry ignored the range, or the bytes were bad).
    pub fn restart(&mut self) -> Result<(), StoreError> {
        self.file.start_over()?;
        self.hasher = Sha256::new();
        self.size = 0;
        Ok(())
    }

    /// Checks digest and size, writes what is held, fsyncs and renames into `blobs/`.
    /// On a mismatch the partial file is deleted (its bytes are wrong, resuming would
    /// not help) and what is held is not written.
    pub fn commit(mut self, expected_size: u64) -> Result<(), StoreError> {
        let actual = Digest::from_sha256_bytes(&self.hasher.clone().finalize().into());
        if self.size != expected_size || actual != self.digest {
            self.file.forget();
            let _ = fs_err::remove_file(&self.path);
            if self.size != expected_size {
                return Err(StoreError::SizeMismatch {
                    digest: self.digest,
                    expected: expected_size,
                    actual: self.size,
                });
            }
            return Err(StoreError::DigestMismatch {
                expected: self.digest,
                actual,
            });
        }
        self.file.flush()?;
        self.file
            .file()
            .sync_all()
            .map_err(|e| annotate(e, "sync", &self.path))?;
        fs_err::rename(&self.path, &self.dest)?;
        if let Some(dir) = self.dest.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// The bytes written so far, read from the start (the blob stays open for writing).
    pub fn reread(&mut self) -> io::Result<fs_err::File> {
        self.file.flush()?;
        fs_err::File::open(&self.path)
    }

    /// Room for the blob's next bytes in its write window: read into it, then call
    /// [`ResumableBlob::filled`] with how many arrived. Saves the copy that
    /// [`Write::write`] makes of bytes that are in memory already.
    pub fn space(&mut self) -> io::Result<&mut [u8]> {
        self.file.space()
    }

    /// Takes the first `n` bytes of the last [`ResumableBlob::space`] as the blob's
    /// next bytes (hashing them), and returns them.
    pub fn filled(&mut self, n: usize) -> &[u8] {
        let bytes = self.file.filled(n);
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        bytes
    }

    /// Throws the partial file away.
    pub fn discard(mut self) {
        self.file.forget();
        let _ = fs_err::remove_file(&self.path);
    }
}

impl Write for ResumableBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hashed once written. A failed write ends the download; a later one reopens
        // the file and hashes what it holds again.
        self.file.write_all(buf)?;
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    /// Writes what the window holds (the writer stays buffered afterwards: call it
    /// once the blob is complete).
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path, digest: &Digest) -> ResumableBlob {
        match ResumableBlob::open(dir.join("partial"), digest, dir.join("blob")).unwrap() {
            Resumable::Write(b) => *b,
            Resumable::Present => panic!("the blob is not there yet"),
        }
    }

    #[test]
    fn a_blob_resumes_then_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = vec![7u8; 10_000];
        let digest = crate::sha256_hex_of(&bytes);
        let mut blob = open(dir.path(), &digest);
        blob.write_all(&bytes[..3000]).unwrap();
        drop(blob);
        let mut blob = open(dir.path(), &digest);
        assert_eq!(blob.offset(), 3000);
        blob.write_all(&bytes[3000..]).unwrap();
        blob.commit(bytes.len() as u64).unwrap();
        assert_eq!(fs_err::read(dir.path().join("blob")).unwrap(), bytes);
        assert!(!dir.path().join("partial").join(digest.hex()).exists());
    }

    #[test]
    fn bytes_read_into_its_space_are_hashed_and_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
        let digest = crate::sha256_hex_of(&bytes);
        let mut blob = open(dir.path(), &digest);
        // Reads of odd sizes, as a socket gives them; a resumed blob continues after
        // what `write` put there before.
        blob.write_all(&bytes[..1000]).unwrap();
        let mut src = &bytes[1000..];
        while !src.is_empty() {
            let space = blob.space().unwrap();
            let room = space.len().min(77_777);
            let n = src.read(&mut space[..room]).unwrap();
            let at = blob.offset() as usize;
            assert_eq!(blob.filled(n), &bytes[at..at + n]);
        }
        assert_eq!(blob.offset(), bytes.len() as u64);
        blob.commit(bytes.len() as u64).unwrap();
        assert_eq!(fs_err::read(dir.path().join("blob")).unwrap(), bytes);
    }

    #[test]
    fn wrong_bytes_or_size_are_refused_and_thrown_away() {
        let dir = tempfile::tempdir().unwrap();
        let digest = crate::sha256_hex_of(b"right");
        let partial = dir.path().join("partial").join(digest.hex());
        let mut blob = open(dir.path(), &digest);
        blob.write_all(b"wrong").unwrap();
        let e = blob.commit(5).unwrap_err();
        assert!(matches!(e, StoreError::DigestMismatch { .. }), "{e}");
        assert!(!partial.exists() && !dir.path().join("blob").exists());

        let mut blob = open(dir.path(), &digest);
        blob.write_all(b"right").unwrap();
        let e = blob.commit(6).unwrap_err();
        assert!(matches!(e, StoreError::SizeMismatch { .. }), "{e}");
        assert!(!partial.exists() && !dir.path().join("blob").exists());
    }
}
