//! Which blobs the store still needs, and deleting those it does not.
//!
//! Deleting is always plan-then-execute: callers compute the candidates (the blobs of
//! images they removed, or every blob for `system prune`), ask [`Store::unreferenced`]
//! which of them no image needs any more, and delete those under the exclusive
//! [`GcGuard`] so that no write session can start referencing one meanwhile.

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;

use lade_oci::Manifest;
use lade_reference::Digest;

use crate::lock::lock;
use crate::store::GcGuard;
use crate::{State, Store, StoreError};

impl Store {
    /// Every blob that some entry of `state`'s index needs: the manifest, config and
    /// layers of each image, read from its record; for an entry without a record (an
    /// index, or an image another tool added), what its manifest references, read from
    /// the blobs, as `check` reads them.
    pub fn live_blobs(&self, state: &State) -> BTreeSet<Digest> {
        let mut live = BTreeSet::new();
        for entry in state.index.manifests() {
            live.insert(entry.digest.clone());
            if let Some(record) = state.meta().images.get(&entry.digest) {
                live.extend(record.blobs().cloned());
                continue;
            }
            match self.read_manifest(&entry.digest, Some(&entry.media_type)) {
                Some(Manifest::Image(m)) => {
                    live.insert(m.config.digest.clone());
                    live.extend(m.layers.iter().map(|l| l.digest.clone()));
                }
                Some(Manifest::Index(i)) => {
                    // Children of an index are needed when present (lade keeps only the
                    // platforms it pulled), and so is what they reference.
                    for child in &i.manifests {
                        live.insert(child.digest.clone());
                        if let Some(Manifest::Image(m)) =
                            self.read_manifest(&child.digest, Some(&child.media_type))
                        {
                            live.insert(m.config.digest.clone());
                            live.extend(m.layers.iter().map(|l| l.digest.clone()));
                        }
                    }
                }
                None => {}
            }
        }
        live
    }

    fn read_manifest(&self, digest: &Digest, media_type: Option<&str>) -> Option<Manifest> {
        let bytes = self.read_blob(digest).ok()?;
        Manifest::parse(&bytes, media_type).ok()
    }

    /// Those of `candidates` that are on disk and that no entry of `state` needs, in
    /// digest order, with their sizes on disk.
    pub fn unreferenced<'d>(
        &self,
        state: &State,
        candidates: impl IntoIterator<Item = &'d Digest>,
    ) -> Vec<(Digest, u64)> {
        let candidates: BTreeSet<&Digest> = candidates.into_iter().collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        let live = self.live_blobs(state);
        candidates
            .into_iter()
            .filter(|d| !live.contains(*d))
            .filter_map(|d| {
                let size = fs_err::metadata(self.blob_path(d)).ok()?.len();
                Some((d.clone(), size))
            })
            .collect()
    }

    /// Every blob on disk that no entry of `state` needs.
    pub fn orphan_blobs(&self, state: &State) -> Result<Vec<(Digest, u64)>, StoreError> {
        let live = self.live_blobs(state);
        let mut orphans: Vec<(Digest, u64)> = self
            .list_blobs()?
            .into_iter()
            .filter(|(d, _)| !live.contains(d))
            .collect();
        orphans.sort();
        Ok(orphans)
    }

    /// Files left in `lade/tmp/` by operations that were killed, with their sizes.
    /// Only meaningful under the [`GcGuard`]: otherwise a write session's blob in
    /// progress looks the same.
    pub fn leftover_temp_files(&self, _guard: &GcGuard) -> Result<Vec<(PathBuf, u64)>, StoreError> {
        let mut out = Vec::new();
        for path in self.temp_files()? {
            match fs_err::symlink_metadata(&path) {
                Ok(m) => out.push((path, m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes files left in `lade/tmp/`. Holds the store's lock meanwhile as well, so
    /// that no atomic write of `index.json` or `meta.bin` (whose temporary file lives
    /// there too) is in progress.
    pub fn delete_temp_files(
        &self,
        _guard: &GcGuard,
        files: &[(PathBuf, u64)],
    ) -> Result<(), StoreError> {
        let _lock = lock(&self.lade_dir().join("lock"), true)?;
        for (path, _) in files {
            match fs_err::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageRecord, LayerRecord};
    use lade_oci::Descriptor;

    fn digest(n: u8) -> Digest {
        Digest::from_sha256_bytes(&[n; 32])
    }

    fn record(manifest: u8, layers: &[u8]) -> ImageRecord {
        ImageRecord {
            manifest: digest(manifest),
            manifest_media_type: lade_oci::media_type::OCI_MANIFEST.into(),
            manifest_size: 1,
            config: digest(manifest + 100),
            config_size: 1,
            created: None,
            added: String::new(),
            layers: layers
                .iter()
                .map(|&l| LayerRecord {
                    digest: digest(l),
                    size: 10,
                    uncompressed_size: None,
                    content_size: None,
                })
                .collect(),
            labels: Default::default(),
            platform: "linux/amd64".into(),
            index: None,
            repo_digests: Vec::new(),
        }
    }

    fn state_with(records: &[ImageRecord]) -> State {
        let mut state = State::new(lade_oci::ImageIndex::empty(), Default::default());
        for r in records {
            let d = Descriptor::new(lade_oci::media_type::OCI_MANIFEST, r.manifest.clone(), 1);
            state
                .meta_mut()
                .images
                .insert(r.manifest.clone(), r.clone());
            state.add_untagged(&d);
        }
        state
    }

    #[test]
    fn shared_blobs_stay_live() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let state = state_with(&[record(1, &[50, 51]), record(2, &[51])]);
        let live = store.live_blobs(&state);
        for d in [1, 101, 50, 51, 2, 102] {
            assert!(live.contains(&digest(d)), "{d}");
        }
        let mut after = state.clone();
        after.remove_image(&digest(1));
        let live = store.live_blobs(&after);
        assert!(!live.contains(&digest(50)));
        assert!(live.contains(&digest(51)));
    }
}
