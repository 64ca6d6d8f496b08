//! Taking names and images out of the store: the steps `rmi` and `prune` share, the
//! lines Docker prints for each, and deleting the blobs nothing needs afterwards.
//!
//! Work is planned on a [`State`] (a copy for `--dry-run`, the locked one otherwise)
//! and recorded in a [`Removal`]; [`collect`] then deletes the blobs the removed images
//! leave unreferenced, under the store's exclusive GC lock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use lade_reference::{Digest, Reference};
use lade_store::{GcGuard, ImageRecord, State, Store, StoreError};

/// One line of what a removal did, as Docker reports it (`Untagged: redis:7`,
/// `Deleted: sha256:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A name (tag or repository digest) taken off an image, in its familiar form.
    Untagged(String),
    /// An image deleted, by ID.
    Deleted(Digest),
}

impl fmt::Display for Removed {
    /// `rmi`'s form; `prune` prints the same words in lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Removed::Untagged(name) => write!(f, "Untagged: {name}"),
            Removed::Deleted(id) => write!(f, "Deleted: {id}"),
        }
    }
}

/// The blobs a removal deleted (or, for a plan, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freed {
    /// Each blob with its size on disk.
    pub blobs: Vec<(Digest, u64)>,
    /// The space reclaimed as Docker counts it: the uncompressed size of each deleted
    /// layer (its stored size where that is unknown), the same measure as the SIZE that
    /// `images` and `system df` show.
    pub reclaimed: u64,
}

/// What a sequence of removals did to a state.
#[derive(Debug, Default)]
pub(crate) struct Removal {
    pub items: Vec<Removed>,
    /// Records of the images taken out of the index: their blobs are the candidates
    /// for deletion.
    pub records: Vec<ImageRecord>,
    /// How many records have each config (image ID), counted once on the first delete
    /// and kept up to date, so that deleting many images stays linear.
    config_users: Option<BTreeMap<Digest, usize>>,
}

/// The names `index.json` gives the manifest, in index order.
pub(crate) fn names_of(state: &State, manifest: &Digest) -> Vec<Reference> {
    state
        .index
        .manifests()
        .iter()
        .filter(|d| &d.digest == manifest)
        .filter_map(|d| d.ref_name())
        .filter_map(|n| Reference::parse_normalized(n).ok())
        .collect()
}

/// The repository digests recorded for the manifest, parsed.
fn repo_digests_of(state: &State, manifest: &Digest) -> Vec<(String, Reference)> {
    state
        .meta()
        .images
        .get(manifest)
        .map(|r| {
            r.repo_digests
                .iter()
                .filter_map(|s| Some((s.clone(), Reference::parse_normalized(s).ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

impl Removal {
    /// Removes the tag `name` from the image `manifest`, as `docker rmi NAME` does:
    /// when no other tag of that repository remains, the repository's digests go too;
    /// when the image has no names left, it is deleted.
    pub fn untag(&mut self, state: &mut State, manifest: &Digest, name: &Reference) {
        let names = names_of(state, manifest);
        self.untag_many(state, vec![(manifest.clone(), names, vec![name.clone()])]);
    }

    /// [`Removal::untag`] for many tags of many images in one pass over the index:
    /// for each image, all its names and those to remove.
    pub fn untag_many(
        &mut self,
        state: &mut State,
        images: Vec<(Digest, Vec<Reference>, Vec<Reference>)>,
    ) {
        let mut removed_names = BTreeSet::new();
        let mut to_delete = Vec::new();
        for (manifest, mut remaining, remove) in images {
            let before = remaining.len();
            for name in remove {
                let Some(i) = remaining.iter().position(|n| *n == name) else {
                    continue;
                };
                remaining.remove(i);
                self.items.push(Removed::Untagged(name.familiar()));
                let repository = name.name();
                if !remaining.iter().any(|n| n.name() == repository) {
                    let drop: Vec<(String, Reference)> = repo_digests_of(state, &manifest)
                        .into_iter()
                        .filter(|(_, r)| r.name() == repository)
                        .collect();
                    self.drop_repo_digests(state, &manifest, &drop);
                }
                removed_names.insert(name.to_string());
            }
            // lade keeps no image by its digests alone: without a tag it is deleted (its
            // remaining digests are untagged on the way).
            if remaining.is_empty() && before > 0 {
                to_delete.push((manifest, Vec::new()));
            }
        }
        state
            .index
            .retain(|d| !d.ref_name().is_some_and(|n| removed_names.contains(n)));
        self.delete_images(state, to_delete);
    }

    /// Removes one repository digest (`redis@sha256:…`) from the image; deletes the
    /// image when that was its last reference. False when the image has no such digest.
    pub fn remove_repo_digest(
        &mut self,
        state: &mut State,
        manifest: &Digest,
        reference: &Reference,
    ) -> bool {
        let drop: Vec<(String, Reference)> = repo_digests_of(state, manifest)
            .into_iter()
            .filter(|(_, r)| r == reference)
            .collect();
        if drop.is_empty() {
            return false;
        }
        self.drop_repo_digests(state, manifest, &drop);
        if names_of(state, manifest).is_empty() && repo_digests_of(state, manifest).is_empty() {
            self.delete_image(state, manifest);
        }
        true
    }

    fn drop_repo_digests(
        &mut self,
        state: &mut State,
        manifest: &Digest,
        drop: &[(String, Reference)],
    ) {
        if drop.is_empty() {
            return;
        }
        if let Some(record) = state.meta_mut().images.get_mut(manifest) {
            record
                .repo_digests
                .retain(|s| !drop.iter().any(|(d, _)| d == s));
            // The image may stay dangling without a name: keep the index entry.
            for (_, r) in drop {
                self.items.push(Removed::Untagged(r.familiar()));
            }
        }
    }

    /// Deletes the image `manifest` and all its names: `Untagged` for each name and
    /// repository digest (in Docker's order: lexical on the full reference), then
    /// `Deleted` with the image ID, unless another manifest in the store still has that
    /// ID.
    pub fn delete_image(&mut self, state: &mut State, manifest: &Digest) {
        let names = names_of(state, manifest);
        self.delete_images(state, vec![(manifest.clone(), names)]);
    }

    /// Deletes many images at once, each with its names as given (as
    /// [`Removal::delete_image`] would, in one pass over the index, so that pruning
    /// thousands of images stays linear).
    pub fn delete_images(&mut self, state: &mut State, images: Vec<(Digest, Vec<Reference>)>) {
        let mut gone = BTreeSet::new();
        for (manifest, mut refs) in images {
            refs.extend(
                repo_digests_of(state, &manifest)
                    .into_iter()
                    .map(|(_, r)| r),
            );
            refs.sort_by_key(|r| r.to_string());
            refs.dedup();
            self.items
                .extend(refs.iter().map(|r| Removed::Untagged(r.familiar())));
            if let Some(record) = state.meta_mut().images.remove(&manifest) {
                self.count_out(state, record);
            }
            gone.insert(manifest);
        }
        state.index.retain(|d| !gone.contains(&d.digest));
    }

    /// Records that `record` left the store: `Deleted` with its image ID unless another
    /// record still has that ID.
    fn count_out(&mut self, state: &State, record: ImageRecord) {
        let users = self.config_users.get_or_insert_with(|| {
            let mut users = BTreeMap::new();
            // The record was just removed: count it back in.
            for r in state.meta().images.values().chain([&record]) {
                *users.entry(r.config.clone()).or_insert(0) += 1;
            }
            users
        });
        let left = users.get_mut(&record.config).map_or(0, |n| {
            *n = n.saturating_sub(1);
            *n
        });
        if left == 0 {
            self.items.push(Removed::Deleted(record.config.clone()));
        }
        self.records.push(record);
    }

    /// The blobs of the removed images that `state` (after the removal) no longer
    /// needs, with the space reclaimed.
    pub fn freed(&self, store: &Store, state: &State) -> Freed {
        let candidates: BTreeSet<&Digest> = self.records.iter().flat_map(|r| r.blobs()).collect();
        let blobs = store.unreferenced(state, candidates);
        let reclaimed = reclaimed(&self.records, &blobs);
        Freed { blobs, reclaimed }
    }
}

/// The space reclaimed by deleting `blobs`, as Docker counts it (see [`Freed`]).
pub(crate) fn reclaimed(records: &[ImageRecord], blobs: &[(Digest, u64)]) -> u64 {
    let mut layer_size: BTreeMap<&Digest, u64> = BTreeMap::new();
    for r in records {
        for l in &r.layers {
            layer_size.insert(&l.digest, l.shown_size());
        }
    }
    blobs.iter().filter_map(|(d, _)| layer_size.get(d)).sum()
}

/// Deletes the blobs of a plan. Needs the [`GcGuard`] taken before the state that
/// planned them was read, so that nothing has referenced them since.
pub(crate) fn delete_blobs(
    store: &Store,
    guard: &GcGuard,
    blobs: &[(Digest, u64)],
) -> Result<(), StoreError> {
    for (d, _) in blobs {
        store.delete_blob(guard, d)?;
    }
    Ok(())
}
