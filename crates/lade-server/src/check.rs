//! `lade registry check`: verify the registry's storage, and repair what can be.
//!
//! Every blob is hashed against its name; every manifest a repository holds must be
//! readable and complete (its config and layers stored, the children of an index held
//! by the repository); every tag must name a manifest of its repository. A plain check
//! takes the storage lock shared (the registry keeps serving); `--repair` takes it
//! exclusive, as GC does, so nothing is written while it deletes.
//!
//! Repairs delete what cannot be served correctly: a corrupt blob (and the links to
//! it), a manifest that is unreadable or incomplete (and its tags), a tag naming no
//! manifest, links to absent blobs, and temporary files. The images those manifests
//! belonged to must be pushed again; the report names each one.

use std::collections::BTreeSet;
use std::fmt;
use std::io;

use lade_oci::Manifest;
use lade_reference::Digest;

use crate::FsStorage;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A blob whose bytes do not hash to its name.
    CorruptBlob { digest: Digest, actual: Digest },
    /// A blob that cannot be read to its end (a disk error, its permissions): left as
    /// it is by `--repair`, which deletes only content proven wrong.
    UnreadableBlob { digest: Digest, error: String },
    /// A manifest whose bytes are gone or are not a manifest.
    BadManifest {
        repo: String,
        digest: Digest,
        reason: String,
    },
    /// A manifest referencing a blob (or child manifest) the repository cannot serve.
    Incomplete {
        repo: String,
        digest: Digest,
        missing: Digest,
    },
    /// A tag naming a manifest the repository does not hold.
    DanglingTag {
        repo: String,
        tag: String,
        digest: Option<Digest>,
    },
    /// A repository link to a blob that is not stored (harmless: served as unknown).
    DanglingLink { repo: String, digest: Digest },
    /// A temporary file left by a write that was interrupted.
    LeftoverTemp(std::path::PathBuf),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CorruptBlob { digest, actual } => {
                write!(f, "corrupt blob {digest}: its content hashes to {actual}")
            }
            Problem::UnreadableBlob { digest, error } => write!(
                f,
                "blob {digest} cannot be read: {error} (fix the read error and check again; \
                 --repair leaves it)"
            ),
            Problem::BadManifest {
                repo,
                digest,
                reason,
            } => write!(f, "manifest {repo}@{digest} cannot be read: {reason}"),
            Problem::Incomplete {
                repo,
                digest,
                missing,
            } => write!(f, "manifest {repo}@{digest} references missing {missing}"),
            Problem::DanglingTag {
                repo,
                tag,
                digest: Some(d),
            } => write!(f, "tag {repo}:{tag} names {d}, which {repo} does not hold"),
            Problem::DanglingTag {
                repo,
                tag,
                digest: None,
            } => write!(f, "tag {repo}:{tag} does not hold a digest"),
            Problem::DanglingLink { repo, digest } => {
                write!(f, "repository {repo} links {digest}, which is not stored")
            }
            Problem::LeftoverTemp(p) => write!(f, "leftover temporary file {}", p.display()),
        }
    }
}

impl Problem {
    /// Problems that mean a client would get wrong or partial content.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Problem::CorruptBlob { .. }
                | Problem::UnreadableBlob { .. }
                | Problem::BadManifest { .. }
                | Problem::Incomplete { .. }
                | Problem::DanglingTag { .. }
        )
    }
}

/// What a check found and did.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub blobs_checked: usize,
    pub manifests_checked: usize,
    pub problems: Vec<Problem>,
    /// One line per repair made.
    pub repairs: Vec<String>,
}

impl CheckReport {
    pub fn damaged(&self) -> bool {
        self.problems.iter().any(Problem::is_damage)
    }
}

/// Checks the storage; with `repair`, deletes what cannot be served correctly.
pub fn check(storage: &FsStorage, repair: bool) -> io::Result<CheckReport> {
    let _lock = storage.lock(repair)?;
    let mut report = CheckReport::default();

    let mut corrupt = BTreeSet::new();
    for (d, _) in storage.all_blobs()? {
        report.blobs_checked += 1;
        // One unreadable blob is a finding, not the end of the check.
        match crate::storage::hash_file(&storage.blob_path(&d), d.algorithm()) {
            Ok(actual) if actual == d => {}
            Ok(actual) => {
                report.problems.push(Problem::CorruptBlob {
                    digest: d.clone(),
                    actual,
                });
                corrupt.insert(d);
            }
            // Not proof of bad content (permissions, too many open files, a passing
            // disk error): reported, never repaired, and its manifests keep it.
            Err(e) => report.problems.push(Problem::UnreadableBlob {
                digest: d.clone(),
                error: e.to_string(),
            }),
        }
    }
    if repair {
        for d in &corrupt {
            storage.delete_blob(d)?;
            report.repairs.push(format!("deleted corrupt blob {d}"));
        }
    }

    for repo in storage.catalog()? {
        check_repo(storage, &repo, &corrupt, repair, &mut report)?;
    }

    for e in fs_err::read_dir(storage.root().join("tmp"))? {
        let path = e?.path();
        report.problems.push(Problem::LeftoverTemp(path.clone()));
        if repair {
            match fs_err::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => report
                    .repairs
                    .push(format!("removed temporary file {}", path.display())),
            }
        }
    }
    Ok(report)
}

fn check_repo(
    storage: &FsStorage,
    repo: &str,
    corrupt: &BTreeSet<Digest>,
    repair: bool,
    report: &mut CheckReport,
) -> io::Result<()> {
    let stored = |d: &Digest| storage.blob_size(d).is_some() && !corrupt.contains(d);
    let revisions: BTreeSet<Digest> = storage.revisions(repo)?.into_iter().collect();
    let mut bad = BTreeSet::new();
    for d in &revisions {
        report.manifests_checked += 1;
        let content = if stored(d) {
            storage.get_manifest(repo, d)?
        } else {
            None
        };
        let Some((media_type, bytes)) = content else {
            report.problems.push(Problem::BadManifest {
                repo: repo.to_owned(),
                digest: d.clone(),
                reason: "its content is missing".into(),
            });
            bad.insert(d.clone());
            continue;
        };
        let (needed, is_index): (Vec<Digest>, bool) =
            match Manifest::parse(&bytes, Some(&media_type)) {
                Err(e) => {
                    report.problems.push(Problem::BadManifest {
                        repo: repo.to_owned(),
                        digest: d.clone(),
                        reason: e.to_string(),
                    });
                    bad.insert(d.clone());
                    continue;
                }
                Ok(Manifest::Image(m)) => (
                    std::iter::once(&m.config)
                        .chain(m.layers.iter().filter(|l| l.urls.is_empty()))
                        .map(|x| x.digest.clone())
                        .collect(),
                    false,
                ),
                Ok(Manifest::Index(i)) => {
                    (i.manifests.iter().map(|x| x.digest.clone()).collect(), true)
                }
            };
        for missing in needed {
            let ok = if is_index {
                revisions.contains(&missing) && stored(&missing)
            } else {
                stored(&missing) && storage.repo_blob(repo, &missing).is_some()
            };
            if !ok {
                report.problems.push(Problem::Incomplete {
                    repo: repo.to_owned(),
                    digest: d.clone(),
                    missing,
                });
                bad.insert(d.clone());
                break;
            }
        }
    }
    if repair {
        for d in &bad {
            storage.delete_manifest(repo, d)?;
            report.repairs.push(format!(
                "deleted manifest {repo}@{d} and its tags; push that image again"
            ));
        }
    }
    for tag in storage.tags(repo)?.unwrap_or_default() {
        let digest = storage.resolve_tag(repo, &tag);
        // (A bad manifest is reported once, as such; repairing it took its tags.)
        if digest.as_ref().is_some_and(|d| revisions.contains(d)) {
            continue;
        }
        report.problems.push(Problem::DanglingTag {
            repo: repo.to_owned(),
            tag: tag.clone(),
            digest,
        });
        if repair {
            storage.delete_tag(repo, &tag)?;
            report.repairs.push(format!("deleted tag {repo}:{tag}"));
        }
    }
    for (d, _) in storage.links(repo)? {
        if !stored(&d) && !corrupt.contains(&d) {
            report.problems.push(Problem::DanglingLink {
                repo: repo.to_owned(),
                digest: d.clone(),
            });
            if repair {
                storage.unlink_blob(repo, &d)?;
                report.repairs.push(format!("removed link {repo} -> {d}"));
            }
        }
    }
    Ok(())
}
