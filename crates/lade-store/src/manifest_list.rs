//! Local manifest lists (`lade manifest create/annotate/push`, as `docker manifest`
//! keeps them in `~/.docker/manifests/`): one small JSON file per list under
//! `lade/manifests/`, named after the list's reference with `/` and `:` escaped
//! (`docker.io%2Fme%2Fapp%3Av1.json`; `%` never occurs in a reference).
//!
//! Version 1:
//! ```json
//! {"version":1,"name":"docker.io/me/app:v1","entries":[
//!   {"source":"docker.io/me/app-amd64:v1",
//!    "descriptor":{"mediaType":"…","digest":"sha256:…","size":123,"platform":{…}},
//!    "manifest":"{…the manifest as the registry served it…}"}]}
//! ```
//! The entries' manifests are kept byte for byte (they are JSON, so UTF-8), not as
//! blobs: a list is a draft, and its manifests belong to no image of the store.
//! Changing this format: bump [`MANIFEST_LIST_VERSION`], keep a reader for the old
//! version, and test old files with the new reader.

use std::io;
use std::path::PathBuf;

use lade_oci::Descriptor;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::lock::lock;
use crate::{Store, StoreError};

/// The version of the list files this lade writes.
pub const MANIFEST_LIST_VERSION: u32 = 1;

/// A manifest list being assembled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestList {
    pub version: u32,
    /// The list's full normalized reference, with its tag.
    pub name: String,
    pub entries: Vec<ListEntry>,
}

/// One image of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// The reference it was added as (full, normalized).
    pub source: String,
    /// Its manifest's media type, digest and size, and its platform (from its config,
    /// then as annotated).
    pub descriptor: Descriptor,
    /// The manifest's exact bytes.
    pub manifest: String,
}

impl ManifestList {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            version: MANIFEST_LIST_VERSION,
            name: name.into(),
            entries: Vec::new(),
        }
    }
}

impl Store {
    fn manifests_dir(&self) -> PathBuf {
        self.lade_dir().join("manifests")
    }

    fn manifest_list_path(&self, name: &str) -> PathBuf {
        let escaped = name.replace('/', "%2F").replace(':', "%3A");
        self.manifests_dir().join(format!("{escaped}.json"))
    }

    /// The local list named `name` (a full reference), if there is one.
    pub fn manifest_list(&self, name: &str) -> Result<Option<ManifestList>, StoreError> {
        crate::fsutil::read_versioned(&self.manifest_list_path(name), MANIFEST_LIST_VERSION)
    }

    /// Changes the list named `name` under the store's lock: `f` gets it (or `None`)
    /// and leaves `Some` to write it (atomically) or `None` to delete it. Nothing
    /// changes when `f` fails.
    pub fn update_manifest_list<T, E: From<StoreError>>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Option<ManifestList>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.ensure_lade_dir()?;
        let _lock = lock(&self.lade_dir().join("lock"), true).map_err(StoreError::from)?;
        let mut list = self.manifest_list(name)?;
        let out = f(&mut list)?;
        let path = self.manifest_list_path(name);
        match list {
            Some(list) => {
                fs_err::create_dir_all(self.manifests_dir()).map_err(StoreError::from)?;
                let bytes = serde_json::to_vec_pretty(&list).unwrap_or_default();
                write_atomic(&self.tmp_dir(), &path, &bytes).map_err(StoreError::from)?;
            }
            None => match fs_err::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::from(e).into()),
            },
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lade_reference::Digest;

    fn entry(n: u8) -> ListEntry {
        let manifest = format!("{{\"schemaVersion\":2,\"n\":{n}}}");
        ListEntry {
            source: format!("docker.io/me/app:{n}"),
            descriptor: Descriptor::new(
                lade_oci::media_type::OCI_MANIFEST,
                crate::sha256_hex_of(manifest.as_bytes()),
                manifest.len() as u64,
            ),
            manifest,
        }
    }

    #[test]
    fn lists_round_trip_and_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let name = "localhost:5000/me/app:v1";
        assert_eq!(store.manifest_list(name).unwrap(), None);
        store
            .update_manifest_list(name, |l| {
                assert!(l.is_none());
                let mut list = ManifestList::new(name);
                list.entries.push(entry(1));
                *l = Some(list);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let file = dir
            .path()
            .join("s/lade/manifests/localhost%3A5000%2Fme%2Fapp%3Av1.json");
        assert!(file.is_file());
        let got = store.manifest_list(name).unwrap().unwrap();
        assert_eq!(got.entries, [entry(1)]);
        // A failing change changes nothing.
        let r: Result<(), StoreError> = store.update_manifest_list(name, |l| {
            *l = None;
            Err(StoreError::BlobMissing(
                Digest::parse(
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                )
                .unwrap(),
            ))
        });
        assert!(r.is_err());
        assert!(file.is_file());
        store
            .update_manifest_list(name, |l| {
                *l = None;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert!(!file.exists());
        assert_eq!(store.manifest_list(name).unwrap(), None);
    }

    #[test]
    fn a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        fs_err::create_dir_all(dir.path().join("s/lade/manifests")).unwrap();
        fs_err::write(
            dir.path().join("s/lade/manifests/docker.io%2Fa%3A1.json"),
            br#"{"version":2,"whatever":true}"#,
        )
        .unwrap();
        let e = store.manifest_list("docker.io/a:1").unwrap_err();
        assert!(matches!(e, StoreError::UnsupportedVersion { .. }), "{e}");
    }
}
