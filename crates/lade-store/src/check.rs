//! `lade system check`: verify every blob and every reference, and repair what can be.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use lade_oci::Manifest;
use lade_reference::Digest;

use crate::{Store, StoreError};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A blob whose bytes do not hash to its name.
    CorruptBlob { digest: Digest, actual: Digest },
    /// A blob that an image needs and the store lacks.
    MissingBlob { image: String, digest: Digest },
    /// An index entry whose manifest cannot be read as a manifest.
    BadManifest { image: String, reason: String },
    /// A temporary file left by an operation that was killed.
    LeftoverTemp(PathBuf),
    /// A blob no image references.
    OrphanBlob { digest: Digest, size: u64 },
    /// lade's records file (`lade/meta.bin`) cannot be read: every command fails until
    /// it is rebuilt from the blobs.
    CorruptRecords { path: PathBuf, reason: String },
    /// `index.json` cannot be read: every command fails until it is rebuilt from what
    /// can be read of it and from the images whose blobs are stored.
    CorruptIndex { path: PathBuf, reason: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptBlob { digest, actual } => {
                write!(f, "corrupt blob {digest}: its content hashes to {actual}")
            }
            Problem::MissingBlob { image, digest } => {
                write!(f, "image {image} is missing blob {digest}")
            }
            Problem::BadManifest { image, reason } => write!(f, "image {image}: {reason}"),
            Problem::LeftoverTemp(p) => write!(f, "leftover temporary file {}", p.display()),
            Problem::OrphanBlob { digest, size } => {
                write!(f, "unreferenced blob {digest} ({size} bytes)")
            }
            Problem::CorruptRecords { path, reason } | Problem::CorruptIndex { path, reason } => {
                write!(f, "{} cannot be read: {reason}", path.display())
            }
        }
    }
}

impl Problem {
    /// Problems that mean data is wrong or lost (the others only waste space).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Problem::CorruptBlob { .. }
                | Problem::MissingBlob { .. }
                | Problem::BadManifest { .. }
                | Problem::CorruptRecords { .. }
                | Problem::CorruptIndex { .. }
        )
    }
}

/// What `check` found and did.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub blobs_checked: usize,
    pub images_checked: usize,
    pub problems: Vec<Problem>,
    /// Lines describing each repair made.
    pub repairs: Vec<String>,
    /// The records were rebuilt from the blobs (they could not be read): layer sizes
    /// that only reading the layers gives are unknown (see
    /// `lade_ops::df::measure_layers`).
    pub records_rebuilt: bool,
}

impl CheckReport {
    pub fn damaged(&self) -> bool {
        self.problems.iter().any(Problem::is_damage)
    }
}

impl Store {
    /// Verifies every blob's digest and every image's references. With `repair`, deletes
    /// corrupt blobs, leftover temporary files and orphan blobs, and removes index entries
    /// of images whose blobs are gone (they must be pulled or imported again).
    pub fn check(&self, repair: bool) -> Result<CheckReport, StoreError> {
        // Exclusive: no write session runs, so every temp file is a leftover and every
        // unreferenced blob an orphan.
        let guard = self.gc_lock()?;
        let mut report = CheckReport::default();

        let mut corrupt = BTreeSet::new();
        let blobs = self.list_blobs()?;
        for (digest, _) in &blobs {
            report.blobs_checked += 1;
            match self.verify_blob(digest) {
                Ok(()) => {}
                Err(StoreError::DigestMismatch { actual, .. }) => {
                    corrupt.insert(digest.clone());
                    report.problems.push(Problem::CorruptBlob {
                        digest: digest.clone(),
                        actual,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        let present = |d: &Digest| self.has_blob(d) && !corrupt.contains(d);

        // index.json first: nothing else is read without it.
        let mut index_rebuilt = false;
        if let Err(StoreError::CorruptIndex { path, source }) = self.read_index() {
            report.problems.push(Problem::CorruptIndex {
                path,
                reason: source.to_string(),
            });
            if !repair {
                // Which blobs the images need cannot be known: no orphans are named.
                for tmp in self.temp_files()? {
                    report.problems.push(Problem::LeftoverTemp(tmp));
                }
                return Ok(report);
            }
            let r = self.rebuild_index()?;
            report.repairs.push(format!(
                "kept the damaged index.json as {} and wrote a new one: {} entries read from it, {} more images found among the blobs (untagged: their names were in the damaged part)",
                r.aside.display(),
                r.from_file,
                r.from_blobs
            ));
            index_rebuilt = true;
        }

        let state = match self.state() {
            Err(StoreError::CorruptRecords { path, source }) => {
                report.problems.push(Problem::CorruptRecords {
                    path: path.clone(),
                    reason: source.to_string(),
                });
                if repair {
                    // Kept for whoever wants to look at it; the records are a cache
                    // plus arrival times and repository digests, which are lost.
                    let aside = path.with_extension("corrupt");
                    fs_err::rename(&path, &aside)?;
                    self.update(|_| Ok::<_, StoreError>(()))?;
                    report.records_rebuilt = true;
                    report.repairs.push(format!(
                        "moved {} to {} and rebuilt the records from the blobs (arrival times and repository digests are lost)",
                        path.display(),
                        aside.display()
                    ));
                    self.state()?
                } else {
                    self.state_without_records()?
                }
            }
            r => r?,
        };
        let mut referenced = BTreeSet::new();
        let mut broken = BTreeSet::new();
        for entry in state.index.manifests() {
            report.images_checked += 1;
            let image = entry
                .ref_name()
                .map(str::to_owned)
                .unwrap_or_else(|| entry.digest.to_string());
            let mut needed = vec![entry.digest.clone()];
            if present(&entry.digest) {
                match self
                    .read_blob(&entry.digest)
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        Manifest::parse(&b, Some(&entry.media_type)).map_err(|e| e.to_string())
                    }) {
                    Ok(Manifest::Image(m)) => {
                        needed.push(m.config.digest.clone());
                        needed.extend(m.layers.iter().map(|l| l.digest.clone()));
                    }
                    Ok(Manifest::Index(i)) => {
                        // Children of an index are referenced when present; lade pulls
                        // only the platforms it needs.
                        for c in &i.manifests {
                            referenced.insert(c.digest.clone());
                        }
                    }
                    Err(reason) => {
                        report.problems.push(Problem::BadManifest {
                            image: image.clone(),
                            reason,
                        });
                        broken.insert(entry.digest.clone());
                    }
                }
            }
            for d in needed {
                if !present(&d) {
                    report.problems.push(Problem::MissingBlob {
                        image: image.clone(),
                        digest: d.clone(),
                    });
                    broken.insert(entry.digest.clone());
                }
                referenced.insert(d);
            }
        }
        // What the records name too (the index an image was pulled from).
        for r in state.meta().images.values() {
            if state.has_entry(&r.manifest) {
                referenced.extend(r.blobs().cloned());
            }
        }
        // Blobs of the children of indexes that are present.
        let children: Vec<Digest> = referenced.iter().cloned().collect();
        for c in children {
            if let Ok(b) = self.read_blob(&c)
                && let Ok(Manifest::Image(m)) = Manifest::parse(&b, None)
            {
                referenced.insert(m.config.digest.clone());
                referenced.extend(m.layers.iter().map(|l| l.digest.clone()));
            }
        }

        for (digest, size) in &blobs {
            if !referenced.contains(digest) && !corrupt.contains(digest) {
                report.problems.push(Problem::OrphanBlob {
                    digest: digest.clone(),
                    size: *size,
                });
            }
        }
        for tmp in self.temp_files()? {
            report.problems.push(Problem::LeftoverTemp(tmp));
        }

        if repair {
            let mut temps = Vec::new();
            let mut kept = 0;
            for p in &report.problems {
                match p {
                    // After a rebuilt index, what looks unreferenced is kept until the
                    // next run, when the new index has been looked at.
                    Problem::OrphanBlob { .. } if index_rebuilt => kept += 1,
                    Problem::CorruptBlob { digest, .. } | Problem::OrphanBlob { digest, .. } => {
                        self.delete_blob(&guard, digest)?;
                        report.repairs.push(format!("deleted blob {digest}"));
                    }
                    Problem::LeftoverTemp(path) => {
                        temps.push((path.clone(), 0));
                        report.repairs.push(format!("deleted {}", path.display()));
                    }
                    Problem::MissingBlob { .. }
                    | Problem::BadManifest { .. }
                    | Problem::CorruptRecords { .. }
                    | Problem::CorruptIndex { .. } => {}
                }
            }
            if kept > 0 {
                report.repairs.push(format!(
                    "kept {kept} unreferenced blobs, as the index was rebuilt: `lade system check --repair` again deletes them"
                ));
            }
            // Under the store's lock too: a temporary file seen above may belong to an
            // atomic write of index.json or meta.bin in flight, not to a killed run.
            self.delete_temp_files(&guard, &temps)?;
            if !broken.is_empty() {
                self.update(|s| {
                    s.index.retain(|d| !broken.contains(&d.digest));
                    Ok::<_, StoreError>(())
                })?;
                for d in &broken {
                    report.repairs.push(format!(
                        "removed image {d} (its content is gone: pull or import it again)"
                    ));
                }
            }
        }
        Ok(report)
    }
}
