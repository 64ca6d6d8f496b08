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
}

/// The names `index.json` gives the manifest, in index order.
pub(crate) fn names_of(state: &State, manifest: &Digest) -> Vec<Reference> {
    state
        .index
        .manifests
        .iter()
        .filter(|d| &d.digest == manifest)
        .filter_map(|d| d.ref_name())
        .filter_map(|n| Reference::parse_normalized(n).ok())
        .collect()
}

/// The repository digests recorded for the manifest, parsed.
fn repo_digests_of(state: &State, manifest: &Digest) -> Vec<(String, Reference)> {
    state
        .meta
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
        if state.untag(name).is_none() {
            return;
        }
        self.items.push(Removed::Untagged(name.familiar()));
        let repository = name.name();
        let names = names_of(state, manifest);
        if !names.iter().any(|n| n.name() == repository) {
            let drop: Vec<(String, Reference)> = repo_digests_of(state, manifest)
                .into_iter()
                .filter(|(_, r)| r.name() == repository)
                .collect();
            self.drop_repo_digests(state, manifest, &drop);
        }
        // lade keeps no image by its digests alone: without a tag it is deleted (its
        // remaining digests are untagged on the way).
        if names.is_empty() {
            self.delete_image(state, manifest);
        }
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
        if let Some(record) = state.meta.images.get_mut(manifest) {
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
        let mut refs: Vec<Reference> = names_of(state, manifest);
        refs.extend(repo_digests_of(state, manifest).into_iter().map(|(_, r)| r));
        refs.sort_by_key(|r| r.to_string());
        refs.dedup();
        let record = state.meta.images.get(manifest).cloned();
        state.remove_image(manifest);
        self.items
            .extend(refs.iter().map(|r| Removed::Untagged(r.familiar())));
        if let Some(record) = record {
            let id_remains = state
                .meta
                .images
                .values()
                .any(|r| r.config == record.config);
            if !id_remains {
                self.items.push(Removed::Deleted(record.config.clone()));
            }
            self.records.push(record);
        }
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
            layer_size.insert(&l.digest, l.uncompressed_size.unwrap_or(l.size));
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
