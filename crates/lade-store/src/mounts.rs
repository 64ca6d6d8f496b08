//! `lade/mounts/`: the images `lade image mount` made visible, and their unpacked trees.
//!
//! ```text
//! lade/mounts/
//!   lock               held exclusively while mounts change (one mount or unmount at a time)
//!   mounts.json        {"version":1,"mounts":[{"manifest":"sha256:…","driver":"copy","path":"/…"}]}
//!   <hex>/             one image's files, published by renaming a finished tmp-* into place:
//!     rootfs/            the read-only copy (copy driver), or the overlay's mount point
//!     layers/<n>/        one directory per layer in overlayfs's form (overlay driver)
//!   tmp-*/             trees being unpacked or deleted; removed by the next holder of the lock
//! ```
//!
//! A `<hex>/` directory exists only complete (its unpack verified every layer), so a
//! process killed midway leaves a `tmp-*` that is never served. Under the lock, a
//! `tmp-*` or a `<hex>/` without a record is left over and may be deleted (the record is
//! written before anything is mounted on it). The trees are not blobs: GC never sees
//! them, and deleting them is the mount code's work (`lade-ops`), which unmounts first.
//! Changing `mounts.json`: bump [`MOUNTS_VERSION`] and keep a reader for the old one.

use std::io;
use std::path::{Path, PathBuf};

use lade_reference::Digest;
use serde::{Deserialize, Serialize};

use crate::fsutil::{annotate, read_versioned, sync_dir, write_atomic};
use crate::lock::{LockGuard, lock};
use crate::{Store, StoreError};

/// The version of `mounts.json` this lade writes.
pub const MOUNTS_VERSION: u32 = 1;

/// How an image is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountDriver {
    /// A read-only unpacked copy.
    Copy,
    /// A read-only overlayfs mount over one directory per layer.
    Overlay,
}

impl std::fmt::Display for MountDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MountDriver::Copy => "copy",
            MountDriver::Overlay => "overlay",
        })
    }
}

/// One mounted image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    #[serde(with = "lade_oci::serde_digest")]
    pub manifest: Digest,
    pub driver: MountDriver,
    /// Where the root filesystem is seen (absolute).
    pub path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct MountsFile {
    version: u32,
    mounts: Vec<MountRecord>,
}

/// The mounts, locked for changing.
#[derive(Debug)]
pub struct Mounts {
    dir: PathBuf,
    records: Vec<MountRecord>,
    _lock: LockGuard,
}

impl Store {
    fn mounts_dir(&self) -> PathBuf {
        self.lade_dir().join("mounts")
    }

    /// The mounts as recorded now, without locking (the file is replaced atomically).
    pub fn mount_records(&self) -> Result<Vec<MountRecord>, StoreError> {
        read_records(&self.mounts_dir().join("mounts.json"))
    }

    /// Takes the mounts' lock (waiting for another mount or unmount to finish).
    pub fn mounts(&self) -> Result<Mounts, StoreError> {
        self.ensure_lade_dir()?;
        let dir = self.mounts_dir();
        fs_err::create_dir_all(&dir)?;
        let lock = lock(&dir.join("lock"), true)?;
        let records = read_records(&dir.join("mounts.json"))?;
        Ok(Mounts {
            dir,
            records,
            _lock: lock,
        })
    }
}

fn read_records(path: &Path) -> Result<Vec<MountRecord>, StoreError> {
    Ok(read_versioned::<MountsFile>(path, MOUNTS_VERSION)?
        .map(|f| f.mounts)
        .unwrap_or_default())
}

impl Mounts {
    pub fn records(&self) -> &[MountRecord] {
        &self.records
    }

    pub fn find(&self, manifest: &Digest) -> Option<&MountRecord> {
        self.records.iter().find(|r| &r.manifest == manifest)
    }

    /// Records a mount (replacing any other record of the image).
    pub fn insert(&mut self, record: MountRecord) -> Result<(), StoreError> {
        self.records.retain(|r| r.manifest != record.manifest);
        self.records.push(record);
        self.save()
    }

    /// Forgets the mount of an image.
    pub fn remove(&mut self, manifest: &Digest) -> Result<(), StoreError> {
        self.records.retain(|r| &r.manifest != manifest);
        self.save()
    }

    fn save(&self) -> Result<(), StoreError> {
        let file = MountsFile {
            version: MOUNTS_VERSION,
            mounts: self.records.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        // The temporary file lives here, not in lade/tmp/: `system prune` deletes
        // leftovers there without taking this lock.
        write_atomic(&self.dir, &self.dir.join("mounts.json"), &bytes)?;
        Ok(())
    }

    /// Where an image's files are once published.
    pub fn image_dir(&self, manifest: &Digest) -> PathBuf {
        self.dir.join(manifest.hex())
    }

    /// A new empty directory to unpack into (private to this user).
    pub fn temp_dir(&self) -> Result<PathBuf, StoreError> {
        let tmp = tempfile::Builder::new()
            .prefix("tmp-")
            .tempdir_in(&self.dir)
            .map_err(|e| annotate(e, "create a directory in", &self.dir))?;
        Ok(tmp.keep())
    }

    /// Renames a finished `tmp` into place as the image's directory.
    pub fn publish(&self, tmp: &Path, manifest: &Digest) -> Result<PathBuf, StoreError> {
        let to = self.image_dir(manifest);
        fs_err::rename(tmp, &to)?;
        sync_dir(&self.dir)?;
        Ok(to)
    }

    /// Moves an image's directory out of the way (to a `tmp-*` name) before it is
    /// deleted, so that a half-deleted tree is never served; returns its new path.
    pub fn unpublish(&self, manifest: &Digest) -> Result<Option<PathBuf>, StoreError> {
        let from = self.image_dir(manifest);
        if fs_err::symlink_metadata(&from).is_err() {
            return Ok(None);
        }
        let to = self.temp_dir()?;
        fs_err::rename(&from, &to)?;
        Ok(Some(to))
    }

    /// Directories that no record explains: unpacks or deletions that were
    /// interrupted, and images whose record was never written.
    pub fn leftovers(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut out = Vec::new();
        for entry in fs_err::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = name.starts_with("tmp-")
                || (name.len() == 64
                    && !self
                        .records
                        .iter()
                        .any(|r| r.manifest.hex() == name.as_ref()));
            if ours && entry.file_type()?.is_dir() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Deletes a tree that may be read-only (an unpacked copy): directories are made
/// writable on the way down. Symbolic links are never followed. A tree already gone
/// is not an error.
pub fn remove_tree(path: &Path) -> Result<(), StoreError> {
    match fs_err::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(m) if !m.is_dir() => return Ok(fs_err::remove_file(path)?),
        Ok(_) => {}
    }
    make_writable(path)?;
    fs_err::remove_dir_all(path)?;
    Ok(())
}

/// Empties a directory that may hold a read-only tree, keeping the directory.
pub fn empty_dir(path: &Path) -> Result<(), StoreError> {
    make_writable(path)?;
    for entry in fs_err::read_dir(path)? {
        remove_tree(&entry?.path())?;
    }
    Ok(())
}

fn make_writable(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs_err::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        fs_err::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700))?;
    }
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_file_is_refused_on_its_version_not_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        assert!(store.mount_records().unwrap().is_empty());
        fs_err::create_dir_all(store.mounts_dir()).unwrap();
        let path = store.mounts_dir().join("mounts.json");
        fs_err::write(&path, br#"{"version":2,"mounts":{"new":"shape"}}"#).unwrap();
        let e = store.mount_records().unwrap_err();
        assert!(
            matches!(&e, StoreError::UnsupportedVersion { found, .. } if found == "2"),
            "{e}"
        );
        fs_err::write(&path, br#"{"version":1,"mounts":"nonsense"}"#).unwrap();
        assert!(matches!(
            store.mount_records().unwrap_err(),
            StoreError::CorruptFile { .. }
        ));
    }
}
