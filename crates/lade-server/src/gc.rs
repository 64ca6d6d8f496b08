//! `lade registry gc`: delete blobs no manifest references (and, when asked, manifests
//! no tag references) while the registry keeps serving.
//!
//! Plan, then execute. The plan marks every blob reachable from the manifests kept —
//! configs, layers, index children, and the referrers of kept manifests — and treats as
//! live anything touched within the grace period (blobs just uploaded, links just made
//! by a mount), so a push in progress never loses what it is about to reference. A
//! manifest that cannot be read stops the whole run: lade never deletes what an
//! unreadable manifest might reference. Executing takes the storage's exclusive lock,
//! which manifest PUTs and upload completions take shared, then checks each blob again
//! before deleting it.

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use lade_oci::Manifest;
use lade_reference::Digest;

use crate::FsStorage;

/// What `gc` is asked to do.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Also delete manifests that no tag (or kept index, or kept subject) references.
    pub delete_untagged: bool,
    /// Blobs and links younger than this are kept whatever the marks say.
    pub grace: Duration,
    /// Upload sessions (and temporary files) untouched for this long are abandoned and
    /// removed, as distribution's upload purging does.
    pub upload_age: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            delete_untagged: false,
            grace: Duration::from_secs(3600),
            upload_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What a run would delete (the plan) or deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcPlan {
    /// (repository, manifest) pairs to delete.
    pub manifests: Vec<(String, Digest)>,
    /// Blobs to delete, with their sizes.
    pub blobs: Vec<(Digest, u64)>,
    pub blobs_kept: usize,
    /// Abandoned upload sessions and temporary files removed, and their bytes (a
    /// dry run removes none).
    pub uploads_purged: (usize, u64),
}

impl GcPlan {
    pub fn bytes(&self) -> u64 {
        self.blobs.iter().map(|(_, s)| s).sum()
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("manifest {digest} in {repo} cannot be read ({reason}); nothing was deleted")]
    Unreadable {
        repo: String,
        digest: Digest,
        reason: String,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn young(path: &std::path::Path, grace: Duration) -> bool {
    fs_err::metadata(path)
        .ok()
        .and_then(|m| crate::storage::age(&m))
        .is_none_or(|age| age < grace)
}

/// Works out what to delete.
pub fn plan(storage: &FsStorage, opts: &GcOptions) -> Result<GcPlan, GcError> {
    let mut marked: BTreeSet<Digest> = BTreeSet::new();
    let mut doomed_manifests = Vec::new();
    for repo in storage.catalog()? {
        let revisions = storage.revisions(&repo)?;
        let mut keep: BTreeSet<Digest> = BTreeSet::new();
        if opts.delete_untagged {
            for tag in storage.tags(&repo)?.unwrap_or_default() {
                if let Some(d) = storage.resolve_tag(&repo, &tag) {
                    keep.insert(d);
                }
            }
            // Young revisions stay (a push may be about to tag them or its index).
            for d in &revisions {
                if young(&storage.revision_file(&repo, d), opts.grace) {
                    keep.insert(d.clone());
                }
            }
        } else {
            keep.extend(revisions.iter().cloned());
        }
        // Close over index children and referrers (subjects) until nothing changes.
        let mut parsed = std::collections::BTreeMap::new();
        for d in &revisions {
            let (media_type, bytes) =
                storage
                    .get_manifest(&repo, d)?
                    .ok_or_else(|| GcError::Unreadable {
                        repo: repo.clone(),
                        digest: d.clone(),
                        reason: "its content is missing".into(),
                    })?;
            let m =
                Manifest::parse(&bytes, Some(&media_type)).map_err(|e| GcError::Unreadable {
                    repo: repo.clone(),
                    digest: d.clone(),
                    reason: e.to_string(),
                })?;
            parsed.insert(d.clone(), m);
        }
        loop {
            let before = keep.len();
            for (d, m) in &parsed {
                match m {
                    Manifest::Index(i) if keep.contains(d) => {
                        keep.extend(i.manifests.iter().map(|c| c.digest.clone()));
                    }
                    Manifest::Image(im)
                        if im
                            .subject
                            .as_ref()
                            .is_some_and(|s| keep.contains(&s.digest)) =>
                    {
                        keep.insert(d.clone());
                    }
                    Manifest::Index(i)
                        if i.subject.as_ref().is_some_and(|s| keep.contains(&s.digest)) =>
                    {
                        keep.insert(d.clone());
                    }
                    _ => {}
                }
            }
            if keep.len() == before {
                break;
            }
        }
        for (d, m) in &parsed {
            if !keep.contains(d) {
                doomed_manifests.push((repo.clone(), d.clone()));
                continue;
            }
            marked.insert(d.clone());
            if let Manifest::Image(im) = m {
                marked.insert(im.config.digest.clone());
                marked.extend(im.layers.iter().map(|l| l.digest.clone()));
            }
        }
        // Blobs linked recently (uploads and mounts of a push in progress).
        for (d, link) in storage.links(&repo)? {
            if young(&link, opts.grace) {
                marked.insert(d);
            }
        }
    }
    let mut plan = GcPlan {
        manifests: doomed_manifests,
        ..GcPlan::default()
    };
    for (d, size) in storage.all_blobs()? {
        if marked.contains(&d) || young(&storage.blob_path(&d), opts.grace) {
            plan.blobs_kept += 1;
        } else {
            plan.blobs.push((d, size));
        }
    }
    Ok(plan)
}

/// Plans and deletes under the exclusive lock. With `dry_run`, only plans.
pub fn run(storage: &FsStorage, opts: &GcOptions, dry_run: bool) -> Result<GcPlan, GcError> {
    if dry_run {
        return plan(storage, opts);
    }
    let _lock = storage.lock(true)?;
    let plan = plan(storage, opts)?;
    for (repo, d) in &plan.manifests {
        storage.delete_manifest(repo, d)?;
    }
    for (d, _) in &plan.blobs {
        storage.delete_blob(d)?;
    }
    let mut plan = plan;
    plan.uploads_purged = storage.purge_uploads(opts.upload_age)?;
    Ok(plan)
}
