//! The store's state at one moment: `index.json` (names) and `meta.json` (records),
//! and the changes commands make to them.

use std::collections::BTreeMap;

use lade_oci::{Descriptor, ImageIndex};
use lade_reference::{Digest, Reference};

use crate::{ImageRecord, Meta};

/// `index.json` and `meta.json` as read together.
#[derive(Debug, Clone)]
pub struct State {
    pub index: ImageIndex,
    pub meta: Meta,
}

/// One image (one manifest) with all its names.
#[derive(Debug, Clone)]
pub struct Image<'a> {
    pub descriptor: &'a Descriptor,
    pub record: &'a ImageRecord,
    /// Its names (tags), in `index.json` order; empty for a dangling image.
    pub names: Vec<Reference>,
}

impl Image<'_> {
    /// The image ID: the config's digest.
    pub fn id(&self) -> &Digest {
        &self.record.config
    }
}

fn parse_name(d: &Descriptor) -> Option<Reference> {
    d.ref_name()
        .and_then(|n| Reference::parse_normalized(n).ok())
}

impl State {
    /// Every image that has a record, in `index.json` order, names grouped.
    pub fn images(&self) -> Vec<Image<'_>> {
        let mut order: Vec<&Digest> = Vec::new();
        let mut by_digest: BTreeMap<&Digest, Image<'_>> = BTreeMap::new();
        for d in &self.index.manifests {
            let Some(record) = self.meta.images.get(&d.digest) else {
                continue;
            };
            let entry = by_digest.entry(&d.digest).or_insert_with(|| {
                order.push(&d.digest);
                Image {
                    descriptor: d,
                    record,
                    names: Vec::new(),
                }
            });
            if let Some(name) = parse_name(d) {
                entry.names.push(name);
            }
        }
        order
            .into_iter()
            .filter_map(|d| by_digest.remove(d))
            .collect()
    }

    /// The manifest a name (a full reference with a tag) points at.
    pub fn lookup(&self, name: &Reference) -> Option<&Descriptor> {
        let want = name.to_string();
        self.index
            .manifests
            .iter()
            .find(|d| d.ref_name() == Some(want.as_str()))
    }

    /// Points `name` at `descriptor`. An image that loses its last name this way stays
    /// in the store as a dangling image, as in Docker.
    pub fn tag(&mut self, descriptor: &Descriptor, name: &Reference) {
        let want = name.to_string();
        let old = self
            .index
            .manifests
            .iter()
            .position(|d| d.ref_name() == Some(want.as_str()))
            .map(|i| self.index.manifests.remove(i));
        // The new image is no longer dangling.
        self.index
            .manifests
            .retain(|d| !(d.digest == descriptor.digest && d.ref_name().is_none()));
        let mut entry = descriptor.clone();
        entry
            .annotations
            .insert(lade_oci::ANNOTATION_REF_NAME.to_owned(), want);
        self.index.manifests.push(entry);
        if let Some(mut old) = old
            && old.digest != descriptor.digest
            && !self.has_entry(&old.digest)
        {
            old.annotations.remove(lade_oci::ANNOTATION_REF_NAME);
            self.index.manifests.push(old);
        }
    }

    /// Keeps an image without a name (as `docker import` without a reference does).
    pub fn add_untagged(&mut self, descriptor: &Descriptor) {
        if !self.has_entry(&descriptor.digest) {
            let mut entry = descriptor.clone();
            entry.annotations.remove(lade_oci::ANNOTATION_REF_NAME);
            self.index.manifests.push(entry);
        }
    }

    /// Removes one name; returns the manifest digest it pointed at.
    pub fn untag(&mut self, name: &Reference) -> Option<Digest> {
        let want = name.to_string();
        let i = self
            .index
            .manifests
            .iter()
            .position(|d| d.ref_name() == Some(want.as_str()))?;
        Some(self.index.manifests.remove(i).digest)
    }

    /// Removes an image and all its names.
    pub fn remove_image(&mut self, manifest: &Digest) {
        self.index.manifests.retain(|d| &d.digest != manifest);
        self.meta.images.remove(manifest);
    }

    /// True when `index.json` has any entry (named or not) for the manifest.
    pub fn has_entry(&self, manifest: &Digest) -> bool {
        self.index.manifests.iter().any(|d| &d.digest == manifest)
    }

    /// Drops records whose image has no entry in `index.json`.
    pub(crate) fn drop_stale_records(&mut self) {
        let live: std::collections::BTreeSet<&Digest> =
            self.index.manifests.iter().map(|d| &d.digest).collect();
        self.meta.images.retain(|k, _| live.contains(k));
    }
}
