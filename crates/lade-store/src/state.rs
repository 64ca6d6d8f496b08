//! The store's state at one moment: `index.json` (names) and `meta.bin` (records),
//! and the changes commands make to them.

use std::collections::{BTreeMap, HashSet};

use lade_oci::{Descriptor, ImageIndex};
use lade_reference::{Digest, Reference};

use crate::{ImageRecord, Index, Meta};

/// `index.json` and the records as read together.
#[derive(Debug, Clone)]
pub struct State {
    pub index: Index,
    meta: Meta,
    /// Whether `meta` differs from `meta.bin`: [`crate::Store::update`] writes it only
    /// then (a tag or untag rewrites `index.json` alone).
    meta_changed: bool,
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
    /// A state with these names and records, as if read from a store whose
    /// records file has none of them.
    pub fn new(index: ImageIndex, meta: Meta) -> Self {
        Self {
            index: index.into(),
            meta,
            meta_changed: true,
        }
    }

    /// As read from disk: `meta_changed` says whether records were added on the way.
    pub(crate) fn read(index: Index, meta: Meta, meta_changed: bool) -> Self {
        Self {
            index,
            meta,
            meta_changed,
        }
    }

    /// The records.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The records, to change them (`meta.bin` is written again).
    pub fn meta_mut(&mut self) -> &mut Meta {
        self.meta_changed = true;
        &mut self.meta
    }

    pub(crate) fn meta_changed(&self) -> bool {
        self.meta_changed
    }

    /// Every image that has a record, in `index.json` order, names grouped.
    pub fn images(&self) -> Vec<Image<'_>> {
        let mut order: Vec<&Digest> = Vec::new();
        let mut by_digest: BTreeMap<&Digest, Image<'_>> = BTreeMap::new();
        for d in self.index.manifests() {
            let Some(record) = self.meta.images.get(&d.digest) else {
                continue;
            };
            let entry = by_digest.entry(&d.digest).or_insert_with(|| {
                order.push(&d.digest);
                Image {
                    descriptor: d,
                    record,
                    // Most images have one name (a `Vec` grows to 4 on its first push).
                    names: Vec::with_capacity(1),
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

    /// One image by manifest digest, with all its names (as [`State::images`] has it),
    /// without building every other image.
    pub fn image(&self, manifest: &Digest) -> Option<Image<'_>> {
        let record = self.meta.images.get(manifest)?;
        let mut entries = self
            .index
            .manifests()
            .iter()
            .filter(|d| &d.digest == manifest);
        let descriptor = entries.next()?;
        let names = std::iter::once(descriptor)
            .chain(entries)
            .filter_map(parse_name)
            .collect();
        Some(Image {
            descriptor,
            record,
            names,
        })
    }

    /// The manifest a name (a full reference with a tag) points at.
    pub fn lookup(&self, name: &Reference) -> Option<&Descriptor> {
        lookup_in(&self.index, name)
    }

    /// Points `name` at `descriptor` (see [`Names::tag`]).
    pub fn tag(&mut self, descriptor: &Descriptor, name: &Reference) {
        self.names().tag(descriptor, name);
    }

    /// Keeps an image without a name (see [`Names::add_untagged`]).
    pub fn add_untagged(&mut self, descriptor: &Descriptor) {
        self.names().add_untagged(descriptor);
    }

    /// Removes one name; returns the manifest digest it pointed at.
    pub fn untag(&mut self, name: &Reference) -> Option<Digest> {
        self.names().untag(name)
    }

    fn names(&mut self) -> Names<'_> {
        Names {
            index: &mut self.index,
            changed: false,
        }
    }

    /// Removes an image and all its names.
    pub fn remove_image(&mut self, manifest: &Digest) {
        self.index.retain(|d| &d.digest != manifest);
        if self.meta.images.remove(manifest).is_some() {
            self.meta_changed = true;
        }
    }

    /// True when `index.json` has any entry (named or not) for the manifest.
    pub fn has_entry(&self, manifest: &Digest) -> bool {
        has_entry_in(&self.index, manifest)
    }

    /// Drops records whose image has no entry in `index.json`.
    pub(crate) fn drop_stale_records(&mut self) {
        // A hash set: no tree of 10,000 nodes to build, no list to sort, for each change.
        let live: HashSet<&Digest> = self.index.manifests().iter().map(|d| &d.digest).collect();
        let before = self.meta.images.len();
        self.meta.images.retain(|k, _| live.contains(k));
        if self.meta.images.len() != before {
            self.meta_changed = true;
        }
    }
}

/// The names in `index.json`, alone: all a tag by name changes (see
/// [`crate::Store::update_names`]), with no record read or written.
#[derive(Debug)]
pub struct Names<'a> {
    pub(crate) index: &'a mut Index,
    /// Whether a name changed (else `index.json` is not written again).
    pub(crate) changed: bool,
}

fn lookup_in<'i>(index: &'i Index, name: &Reference) -> Option<&'i Descriptor> {
    let want = name.to_string();
    index
        .manifests()
        .iter()
        .find(|d| d.ref_name() == Some(want.as_str()))
}

fn has_entry_in(index: &Index, manifest: &Digest) -> bool {
    index.manifests().iter().any(|d| &d.digest == manifest)
}

impl Names<'_> {
    /// The manifest a name (a full reference with a tag) points at.
    pub fn lookup(&self, name: &Reference) -> Option<&Descriptor> {
        lookup_in(self.index, name)
    }

    /// Points `name` at `descriptor`. An image that loses its last name this way stays
    /// in the store as a dangling image, as in Docker.
    pub fn tag(&mut self, descriptor: &Descriptor, name: &Reference) {
        self.changed = true;
        let want = name.to_string();
        let old = self
            .index
            .manifests()
            .iter()
            .position(|d| d.ref_name() == Some(want.as_str()))
            .map(|i| self.index.remove(i));
        // The new image is no longer dangling.
        self.index
            .retain(|d| !(d.digest == descriptor.digest && d.ref_name().is_none()));
        let mut entry = descriptor.clone();
        entry
            .annotations
            .insert(lade_oci::ANNOTATION_REF_NAME.to_owned(), want);
        self.index.push(entry);
        if let Some(mut old) = old
            && old.digest != descriptor.digest
            && !has_entry_in(self.index, &old.digest)
        {
            old.annotations.remove(lade_oci::ANNOTATION_REF_NAME);
            self.index.push(old);
        }
    }

    /// Keeps an image without a name (as `docker import` without a reference does).
    pub fn add_untagged(&mut self, descriptor: &Descriptor) {
        if !has_entry_in(self.index, &descriptor.digest) {
            self.changed = true;
            let mut entry = descriptor.clone();
            entry.annotations.remove(lade_oci::ANNOTATION_REF_NAME);
            self.index.push(entry);
        }
    }

    /// Removes one name; returns the manifest digest it pointed at.
    pub fn untag(&mut self, name: &Reference) -> Option<Digest> {
        let want = name.to_string();
        let i = self
            .index
            .manifests()
            .iter()
            .position(|d| d.ref_name() == Some(want.as_str()))?;
        self.changed = true;
        Some(self.index.remove(i).digest)
    }
}
