//! `lade image prune` and `lade system prune`: remove what nothing needs, as Docker's
//! prune commands do, planned first so that `--dry-run` shows exactly what would go.
//!
//! lade has no containers, so "unused" (Docker's `-a`) means every image: `image prune
//! -a` removes all images, `image prune` only the dangling ones (without a tag).
//! `system prune` also deletes blobs no image needs (left by `rmi --no-prune` in other
//! tools, killed operations, or `check --repair`) and leftover temporary files.

use std::path::PathBuf;

use lade_reference::{Digest, Reference};
use lade_store::{ImageRecord, State, Store, StoreError};

use crate::filters::{self, FilterError, labels_match, reference_matches};
use crate::remove::{Freed, Removal, Removed, delete_blobs};

/// The `--filter`s prune accepts: Docker's `until`, `label`, `label!`, and
/// `reference` (which Docker's prune lacks and users keep asking for).
#[derive(Debug, Clone, Default)]
pub struct PruneFilters {
    /// Only images created before this time.
    pub until: Option<jiff::Timestamp>,
    /// Only images with all these labels (`key` or `key=value`).
    pub labels: Vec<String>,
    /// Not images with all these labels.
    pub not_labels: Vec<String>,
    /// Only these names (Docker's glob on the familiar name): matching tags are
    /// removed, and an image with no tag left is deleted.
    pub references: Vec<String>,
}

impl PruneFilters {
    /// Parses `--filter` flags; `now` anchors durations (`until=24h`).
    pub fn parse(flags: &[String], now: jiff::Timestamp) -> Result<Self, FilterError> {
        let mut out = Self::default();
        for (key, value) in filters::parse_flags(flags)? {
            match key.as_str() {
                "until" => {
                    if out.until.is_some() {
                        return Err(FilterError::SeveralUntil);
                    }
                    out.until = Some(filters::parse_time(&value, now)?);
                }
                "label" => out.labels.push(value),
                "label!" => out.not_labels.push(value),
                "reference" => {
                    filters::check_pattern("reference", &value)?;
                    out.references.push(value);
                }
                _ => return Err(FilterError::InvalidKey(key)),
            }
        }
        Ok(out)
    }

    /// Whether the image passes the `until` and label filters (as Docker's prune).
    fn selects(&self, record: &ImageRecord) -> bool {
        if let Some(until) = self.until {
            let created = record
                .created
                .as_deref()
                .and_then(|c| c.parse::<jiff::Timestamp>().ok());
            if created.is_some_and(|c| c > until) {
                return false;
            }
        }
        if !labels_match(&self.labels, &record.labels) {
            return false;
        }
        if !self.not_labels.is_empty() && labels_match(&self.not_labels, &record.labels) {
            return false;
        }
        true
    }

    fn selects_name(&self, name: &Reference) -> bool {
        self.references.is_empty()
            || self
                .references
                .iter()
                .any(|p| reference_matches(p, name).unwrap_or(false))
    }
}

/// What to prune.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Every image, not only dangling ones (`-a`).
    pub all: bool,
    pub filters: PruneFilters,
}

/// What `image prune` removed (or, for a dry run, would remove).
#[derive(Debug, Default)]
pub struct PruneReport {
    /// `untagged: …` / `deleted: sha256:…` lines, in order.
    pub items: Vec<Removed>,
    /// The blobs deleted with them.
    pub freed: Freed,
}

/// What `system prune` removed (or would remove).
#[derive(Debug, Default)]
pub struct SystemPruneReport {
    pub images: PruneReport,
    /// Blobs no image needed before the prune (beyond those the pruned images freed).
    pub orphan_blobs: Vec<(Digest, u64)>,
    /// Files left in `lade/tmp/` by killed operations.
    pub temp_files: Vec<(PathBuf, u64)>,
}

impl SystemPruneReport {
    /// Docker's "Total reclaimed space": the pruned images as Docker counts them, plus
    /// the orphan blobs and temporary files as they are on disk.
    pub fn reclaimed(&self) -> u64 {
        self.images.freed.reclaimed
            + self.orphan_blobs.iter().map(|(_, s)| s).sum::<u64>()
            + self.temp_files.iter().map(|(_, s)| s).sum::<u64>()
    }
}

/// Removes dangling images (every image with `all`) that pass the filters, and the
/// blobs they leave unreferenced. With `dry_run`, only plans it (the store is not
/// changed).
pub fn image_prune(
    store: &Store,
    opts: &PruneOptions,
    dry_run: bool,
) -> Result<PruneReport, StoreError> {
    if dry_run {
        let mut state = store.state()?;
        let removal = plan(&mut state, opts);
        let freed = removal.freed(store, &state);
        return Ok(PruneReport {
            items: removal.items,
            freed,
        });
    }
    let guard = store.gc_lock()?;
    let report = store.update(|state| {
        let removal = plan(state, opts);
        let freed = removal.freed(store, state);
        Ok::<_, StoreError>(PruneReport {
            items: removal.items,
            freed,
        })
    })?;
    delete_blobs(store, &guard, &report.freed.blobs)?;
    Ok(report)
}

/// `image prune` plus every blob no image needs and leftover temporary files.
pub fn system_prune(
    store: &Store,
    opts: &PruneOptions,
    dry_run: bool,
) -> Result<SystemPruneReport, StoreError> {
    // Even a dry run takes the GC lock: without it, a blob being written by another
    // process would look like a leftover.
    let guard = store.gc_lock()?;
    let temp_files = store.leftover_temp_files(&guard)?;
    let plan_all = |state: &mut State| -> Result<SystemPruneReport, StoreError> {
        let removal = plan(state, opts);
        let freed = removal.freed(store, state);
        let orphan_blobs = store
            .orphan_blobs(state)?
            .into_iter()
            .filter(|(d, _)| !freed.blobs.iter().any(|(f, _)| f == d))
            .collect();
        Ok(SystemPruneReport {
            images: PruneReport {
                items: removal.items,
                freed,
            },
            orphan_blobs,
            temp_files: temp_files.clone(),
        })
    };
    if dry_run {
        return plan_all(&mut store.state()?);
    }
    let report = store.update(plan_all)?;
    delete_blobs(store, &guard, &report.images.freed.blobs)?;
    delete_blobs(store, &guard, &report.orphan_blobs)?;
    store.delete_temp_files(&guard, &report.temp_files)?;
    Ok(report)
}

/// Plans the prune on `state` (changing it).
fn plan(state: &mut State, opts: &PruneOptions) -> Removal {
    let candidates: Vec<(Digest, Vec<Reference>)> = state
        .images()
        .into_iter()
        .filter(|i| opts.all || i.names.is_empty())
        .filter(|i| opts.filters.selects(i.record))
        .map(|i| (i.record.manifest.clone(), i.names))
        .collect();
    let mut removal = Removal::default();
    if opts.filters.references.is_empty() {
        removal.delete_images(state, candidates);
        return removal;
    }
    let untag = candidates
        .into_iter()
        .map(|(manifest, names)| {
            let remove = names
                .iter()
                .filter(|n| opts.filters.selects_name(n))
                .cloned()
                .collect();
            (manifest, names, remove)
        })
        .collect();
    removal.untag_many(state, untag);
    removal
}
