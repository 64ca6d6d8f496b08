//! `lade push`: send an image from the store to a registry, as Docker does it, sending
//! nothing the registry already has.
//!
//! Order of work: `HEAD` the manifest under the tag and stop when the registry already
//! has this exact digest; else, for each blob (layers, then config), `HEAD` it (skip when
//! present), mount it from another repository of the same registry that has it (lade
//! remembers where blobs were pulled from or pushed to), or upload it; layers go
//! concurrently. The manifest goes last, byte for byte as stored.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use lade_client::{ClientError, Mount, Registry};
use lade_oci::{Descriptor, Manifest};
use lade_reference::{Digest, Reference};
use lade_store::{State, Store, StoreError};
use tokio::runtime::Handle;

/// The state of one layer, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStatus {
    Preparing,
    Waiting,
    Pushing { current: u64, total: u64 },
    Pushed,
    LayerAlreadyExists,
    MountedFrom(String),
    Retrying { attempt: u32, reason: String },
}

impl std::fmt::Display for PushStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushStatus::Preparing => f.write_str("Preparing"),
            PushStatus::Waiting => f.write_str("Waiting"),
            PushStatus::Pushing { .. } => f.write_str("Pushing"),
            PushStatus::Pushed => f.write_str("Pushed"),
            PushStatus::LayerAlreadyExists => f.write_str("Layer already exists"),
            PushStatus::MountedFrom(r) => write!(f, "Mounted from {r}"),
            PushStatus::Retrying { attempt, reason } => {
                write!(f, "Retrying (attempt {attempt}): {reason}")
            }
        }
    }
}

/// What a push reports as it goes.
pub trait PushProgress: Send + Sync {
    fn layer(&self, id: &str, status: PushStatus);
}

/// The outcome of one push.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub reference: Reference,
    pub digest: Digest,
    pub size: u64,
    /// Blob bytes actually sent.
    pub bytes_sent: u64,
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("An image does not exist locally with the tag: {0}")]
    NotLocal(String),
    #[error("{source}")]
    Denied {
        #[source]
        source: Box<ClientError>,
        host: String,
        /// The repository as the user named it.
        repository: String,
    },
    #[error("failed to push {what}: {source}")]
    Registry {
        what: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("the stored manifest of {reference} is invalid: {reason}")]
    BadManifest { reference: String, reason: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl PushError {
    /// The registry host and the repository when access was refused (for a
    /// `lade login HOST` hint).
    pub fn denied(&self) -> Option<(&str, &str)> {
        match self {
            PushError::Denied {
                host, repository, ..
            } => Some((host, repository)),
            _ => None,
        }
    }
}

/// Pushes the image named `reference` (a tag) to its registry. Blocking, like `pull`.
pub fn push(
    store: &Store,
    registry: &Registry,
    reference: &Reference,
    max_concurrent_uploads: usize,
    progress: &dyn PushProgress,
    rt: &Handle,
) -> Result<Pushed, PushError> {
    let state = store.state()?;
    let descriptor = state
        .lookup(reference)
        .cloned()
        .ok_or_else(|| PushError::NotLocal(reference.familiar()))?;
    let repo = reference.path().to_owned();
    let tag = reference
        .tag()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| "latest".into());
    let wrap = |what: String| {
        let host = registry.host().to_owned();
        let repository = reference.familiar_name();
        move |e: ClientError| match e.api_code() {
            Some("UNAUTHORIZED" | "DENIED") => PushError::Denied {
                source: Box::new(e),
                host: host.clone(),
                repository: repository.clone(),
            },
            _ => PushError::Registry {
                what: what.clone(),
                source: Box::new(e),
            },
        }
    };
    let manifest_bytes = store.read_blob(&descriptor.digest)?;
    let manifest = match Manifest::parse(&manifest_bytes, Some(&descriptor.media_type)) {
        Ok(Manifest::Image(m)) => m,
        Ok(Manifest::Index(_)) => {
            return Err(PushError::BadManifest {
                reference: reference.familiar(),
                reason: "pushing an index is not supported yet".into(),
            });
        }
        Err(e) => {
            return Err(PushError::BadManifest {
                reference: reference.familiar(),
                reason: e.to_string(),
            });
        }
    };
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| descriptor.media_type.clone());
    // Docker shows a line per layer; the config goes up silently.
    let layers: Vec<&Descriptor> = manifest.layers.iter().collect();
    for l in &layers {
        progress.layer(&l.digest.short_id(), PushStatus::Preparing);
    }

    // Nothing to do when the registry already has exactly this manifest under the tag.
    let remote = rt
        .block_on(registry.head_manifest(&repo, &tag))
        .ok()
        .flatten();
    if remote.is_some_and(|r| r.digest == descriptor.digest) {
        for l in &layers {
            progress.layer(&l.digest.short_id(), PushStatus::LayerAlreadyExists);
        }
        record_repo_digest(store, reference, &descriptor.digest)?;
        return Ok(Pushed {
            reference: reference.clone(),
            digest: descriptor.digest.clone(),
            size: manifest_bytes.len() as u64,
            bytes_sent: 0,
        });
    }

    let sources = mount_sources(&state, reference);
    let workers = max_concurrent_uploads.clamp(1, 16).min(layers.len().max(1));
    for l in layers.iter().skip(workers) {
        progress.layer(&l.digest.short_id(), PushStatus::Waiting);
    }
    let queue = Mutex::new(layers.iter().copied().collect::<VecDeque<_>>());
    let failed = AtomicBool::new(false);
    let sent = std::sync::atomic::AtomicU64::new(0);
    let push_one = |blob: &Descriptor, progress: &dyn PushProgress| -> Result<(), PushError> {
        let sent_here = rt
            .block_on(push_blob(store, registry, &repo, blob, &sources, progress))
            .map_err(wrap(format!("layer {}", blob.digest.short_id())))?;
        sent.fetch_add(sent_here, Ordering::Relaxed);
        Ok(())
    };
    let results: Vec<Result<(), PushError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                        let Some(blob) = next else { return Ok(()) };
                        if let Err(e) = push_one(blob, progress) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PushError::Store(StoreError::Io(std::io::Error::other(
                        "an upload thread panicked",
                    ))))
                })
            })
            .collect()
    });
    for r in results {
        r?;
    }
    // Config, then manifest.
    push_one(&manifest.config, &Silent)?;
    let digest = rt
        .block_on(registry.put_manifest(&repo, &tag, &media_type, &manifest_bytes))
        .map_err(wrap("the manifest".into()))?
        .unwrap_or_else(|| descriptor.digest.clone());
    record_repo_digest(store, reference, &descriptor.digest)?;
    Ok(Pushed {
        reference: reference.clone(),
        digest,
        size: manifest_bytes.len() as u64,
        bytes_sent: sent.load(Ordering::Relaxed),
    })
}

/// Progress nobody is shown (the config blob's).
struct Silent;

impl PushProgress for Silent {
    fn layer(&self, _id: &str, _status: PushStatus) {}
}

/// Repositories on the same registry that are known to hold each blob (from the
/// repository digests of the images in the store).
fn mount_sources(state: &State, target: &Reference) -> Vec<(String, Vec<Digest>)> {
    let mut out = Vec::new();
    for img in state.images() {
        for rd in &img.record.repo_digests {
            let Some((name, _)) = rd.rsplit_once('@') else {
                continue;
            };
            let Ok(r) = Reference::parse_normalized(name) else {
                continue;
            };
            if r.domain() == target.domain() && r.path() != target.path() {
                out.push((r.path().to_owned(), img.record.blobs().cloned().collect()));
            }
        }
    }
    out
}

/// One blob: HEAD, mount, or upload. Returns the bytes uploaded.
async fn push_blob(
    store: &Store,
    registry: &Registry,
    repo: &str,
    blob: &Descriptor,
    sources: &[(String, Vec<Digest>)],
    progress: &dyn PushProgress,
) -> Result<u64, ClientError> {
    let id = blob.digest.short_id();
    let id = id.as_str();
    // A failed HEAD is retried before deciding to upload.
    let mut present = None;
    for attempt in 0..3 {
        match registry.head_blob(repo, &blob.digest).await {
            Ok(p) => {
                present = p;
                break;
            }
            Err(e) if e.is_temporary() && attempt < 2 => {
                progress.layer(
                    id,
                    PushStatus::Retrying {
                        attempt: attempt + 1,
                        reason: e.to_string(),
                    },
                );
            }
            Err(e) => return Err(e),
        }
    }
    if present.is_some() {
        progress.layer(id, PushStatus::LayerAlreadyExists);
        return Ok(0);
    }
    let mut session = None;
    if let Some((from, _)) = sources
        .iter()
        .find(|(_, blobs)| blobs.contains(&blob.digest))
    {
        match registry.mount_blob(repo, &blob.digest, from).await? {
            Mount::Mounted => {
                progress.layer(id, PushStatus::MountedFrom(from.clone()));
                return Ok(0);
            }
            Mount::Session(loc) => session = Some(loc),
        }
    }
    let location = match session {
        Some(l) => l,
        None => registry.start_upload(repo).await?,
    };
    let path = store.blob_path(&blob.digest);
    let total = blob.size;
    progress.layer(id, PushStatus::Pushing { current: 0, total });
    let report = |n: u64| progress.layer(id, PushStatus::Pushing { current: n, total });
    registry
        .upload_blob(repo, location, &blob.digest, &path, total, &report)
        .await?;
    progress.layer(id, PushStatus::Pushed);
    Ok(total)
}

/// Remembers `name@digest` as a repository digest of the image.
fn record_repo_digest(
    store: &Store,
    reference: &Reference,
    manifest: &Digest,
) -> Result<(), StoreError> {
    let rd = format!("{}@{manifest}", reference.name());
    store.update(|s| {
        if let Some(r) = s.meta_mut().images.get_mut(manifest)
            && !r.repo_digests.contains(&rd)
        {
            r.repo_digests.push(rd.clone());
        }
        Ok::<_, StoreError>(())
    })
}
