//! `lade pull`: fetch an image from a registry into the store, as Docker does it, but
//! with every byte streamed once to disk, hashed on the way, and resumable.
//!
//! Order of work: `HEAD` the manifest (free on Docker Hub) and stop when the store
//! already has it; else fetch the manifest (and the chosen platform's manifest from an
//! index), the config, and the missing layers concurrently; then record the image.
//! Layers already in the store are never fetched; partly fetched ones are resumed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lade_archive::{LayerFacts, inspect_layer};
use lade_client::{BlobReader, ClientError, Registry};
use lade_oci::media_type::Compression;
use lade_oci::{Descriptor, ImageManifest, Manifest, Platform, media_type};
use lade_reference::{Digest, Reference};
use lade_store::{Ingest, LayerRecord, LayerSizes, Resumable, ResumableBlob, Store, StoreError};
use tokio::runtime::Handle;

/// What `pull` is asked to do.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to choose from an index; the host's when `None`.
    pub platform: Option<Platform>,
    /// Layers fetched at once.
    pub max_concurrent_downloads: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            platform: None,
            max_concurrent_downloads: 4,
        }
    }
}

/// The state of one layer, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    PullingFsLayer,
    Waiting,
    Downloading { current: u64, total: u64 },
    Retrying { attempt: u32, reason: String },
    VerifyingChecksum,
    DownloadComplete,
    PullComplete,
    AlreadyExists,
}

impl std::fmt::Display for LayerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerStatus::PullingFsLayer => f.write_str("Pulling fs layer"),
            LayerStatus::Waiting => f.write_str("Waiting"),
            LayerStatus::Downloading { .. } => f.write_str("Downloading"),
            LayerStatus::Retrying { attempt, reason } => {
                write!(f, "Retrying (attempt {attempt}): {reason}")
            }
            LayerStatus::VerifyingChecksum => f.write_str("Verifying Checksum"),
            LayerStatus::DownloadComplete => f.write_str("Download complete"),
            LayerStatus::PullComplete => f.write_str("Pull complete"),
            LayerStatus::AlreadyExists => f.write_str("Already exists"),
        }
    }
}

/// What a pull reports as it goes.
#[derive(Debug, Clone)]
pub enum PullEvent {
    /// `latest: Pulling from library/redis`
    Pulling { what: String, repository: String },
    /// A layer changed state. `id` is the 12-character short digest.
    Layer { id: String, status: LayerStatus },
    /// The total bytes to download is known.
    Planned { total: u64 },
    /// A warning to show the user.
    Warning(String),
}

/// Receives progress; implementations render it (terminal bars, log lines).
pub trait PullProgress: Send + Sync {
    fn event(&self, event: PullEvent);
}

/// The outcome of a pull.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The reference as pulled (normalized, with a tag or a digest).
    pub reference: Reference,
    /// The digest the registry knows the image by (the index's, for a multi-arch image).
    pub digest: Digest,
    /// The image manifest stored.
    pub manifest: Digest,
    /// The image ID.
    pub id: Digest,
    /// Nothing had to be fetched.
    pub up_to_date: bool,
}

/// Why a pull failed. The store keeps only verified blobs; partial layers are kept
/// under `lade/partial/` to resume.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(
        "pull access denied for {repository}, repository does not exist or may require 'lade login': {source}"
    )]
    AccessDenied {
        repository: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("manifest for {reference} not found: {source}")]
    ManifestUnknown {
        reference: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error(
        "no matching manifest for {wanted} in the manifest list entries (available: {available})"
    )]
    NoMatchingPlatform { wanted: String, available: String },
    #[error("failed to fetch {what} of {reference}: {source}")]
    Fetch {
        what: String,
        reference: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error(
        "image with reference {reference} was found but does not match the specified platform: wanted {wanted}, actual: {actual}"
    )]
    PlatformMismatch {
        reference: String,
        wanted: String,
        actual: String,
    },
    #[error("invalid manifest for {reference}: {reason}")]
    BadManifest { reference: String, reason: String },
    #[error("layer {layer} failed verification: {source}")]
    LayerVerification {
        layer: String,
        #[source]
        source: StoreError,
    },
    #[error("no registry to pull {reference} from")]
    NoSource { reference: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// One place to pull from: a registry and the repository there. A mirror's (or a
/// relocated registry's) repository may differ from the reference's: registries.conf
/// rewrites the prefix. The image is stored under the reference's name whatever the
/// source.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub registry: &'a Registry,
    pub repository: String,
    /// A mirror: its failure is reported and the next source tried.
    pub mirror: bool,
}

impl std::fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry.host(), self.repository)
    }
}

/// Pulls `reference` (normalized; a tag is added when it has neither tag nor digest)
/// from its own registry.
///
/// Blocking: network calls run on `rt` (which must not be the calling thread's own
/// runtime), layers download on a few scoped threads that write straight to disk.
pub fn pull(
    store: &Store,
    registry: &Registry,
    reference: &Reference,
    opts: &PullOptions,
    progress: &dyn PullProgress,
    rt: &Handle,
) -> Result<Pulled, PullError> {
    let source = Source {
        registry,
        repository: reference.path().to_owned(),
        mirror: false,
    };
    pull_from(store, &[source], reference, opts, progress, rt)
}

/// Pulls `reference` from the first of `sources` that serves it (mirrors first, as
/// registries.conf orders them): any failure of a source but a local one (the store)
/// is reported as a warning and the next source tried; the last source's error is the
/// pull's. Layers fetched from a failed source are kept and reused.
pub fn pull_from(
    store: &Store,
    sources: &[Source<'_>],
    reference: &Reference,
    opts: &PullOptions,
    progress: &dyn PullProgress,
    rt: &Handle,
) -> Result<Pulled, PullError> {
    for (i, source) in sources.iter().enumerate() {
        match pull_one(store, source, reference, opts, progress, rt) {
            Ok(pulled) => return Ok(pulled),
            Err(e @ PullError::Store(_)) => return Err(e),
            Err(e) if i + 1 < sources.len() => {
                let what = if source.mirror { "mirror " } else { "" };
                progress.event(PullEvent::Warning(format!(
                    "failed to pull {} from {what}{source}, trying {}: {e}",
                    reference.familiar(),
                    sources[i + 1]
                )));
            }
            Err(e) => return Err(e),
        }
    }
    Err(PullError::NoSource {
        reference: reference.familiar(),
    })
}

fn pull_one(
    store: &Store,
    source: &Source<'_>,
    reference: &Reference,
    opts: &PullOptions,
    progress: &dyn PullProgress,
    rt: &Handle,
) -> Result<Pulled, PullError> {
    let registry = source.registry;
    let reference = if reference.digest().is_some() {
        reference.clone()
    } else {
        reference.clone().with_default_tag()
    };
    let repo = source.repository.clone();
    let shown = reference.familiar();
    let wanted = opts.platform.clone().unwrap_or_else(Platform::host);
    let by_digest = reference.digest().cloned();
    let tag_or_digest = match (&by_digest, reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.as_str().to_owned(),
        (None, None) => "latest".to_owned(),
    };
    let classify = |e: ClientError| classify_error(e, &reference);

    // 1. What does the registry call this reference now?
    let head = if by_digest.is_some() {
        None
    } else {
        match rt.block_on(registry.head_manifest(&repo, &tag_or_digest)) {
            Ok(h) => h,
            // A failed HEAD is not final: the GET below says what is wrong in full.
            Err(e) if !e.is_temporary() => None,
            Err(e) => return Err(classify(e)),
        }
    };
    let top_digest = by_digest.clone().or(head.map(|h| h.digest));
    // The write session starts before anything is found present, so that no prune can
    // delete what this pull decides to reuse.
    let ingest = store.ingest()?;
    if let Some(top) = &top_digest
        && let Some(pulled) = already_here(store, &reference, top, &wanted)?
    {
        return Ok(pulled);
    }

    // 2. The manifest, and from an index the chosen platform's manifest.
    let fetch_ref = top_digest
        .as_ref()
        .map_or(tag_or_digest.clone(), Digest::to_string);
    let top = rt
        .block_on(registry.get_manifest(&repo, &fetch_ref))
        .map_err(classify)?;
    // Said once the registry has the image, as Docker does.
    progress.event(PullEvent::Pulling {
        what: tag_or_digest.clone(),
        repository: reference.path().to_owned(),
    });
    let bad = |reason: String| PullError::BadManifest {
        reference: shown.clone(),
        reason,
    };
    let parsed =
        Manifest::parse(&top.bytes, Some(&top.media_type)).map_err(|e| bad(e.to_string()))?;
    let (index, manifest_bytes, manifest_digest, manifest_media_type, manifest) = match parsed {
        Manifest::Image(m) => (
            None,
            top.bytes.clone(),
            top.digest.clone(),
            top.media_type.clone(),
            m,
        ),
        Manifest::Index(i) => {
            let chosen =
                wanted
                    .select(&i.manifests)
                    .ok_or_else(|| PullError::NoMatchingPlatform {
                        wanted: wanted.to_string(),
                        available: available_platforms(&i.manifests),
                    })?;
            let child = rt
                .block_on(registry.get_manifest(&repo, &chosen.digest.to_string()))
                .map_err(|e| PullError::Fetch {
                    what: format!("the {wanted} manifest"),
                    reference: shown.clone(),
                    source: Box::new(e),
                })?;
            let m = match Manifest::parse(&child.bytes, Some(&chosen.media_type))
                .map_err(|e| bad(e.to_string()))?
            {
                Manifest::Image(m) => m,
                Manifest::Index(_) => {
                    return Err(bad("an index inside an index is not supported".into()));
                }
            };
            let mt = m
                .media_type
                .clone()
                .unwrap_or_else(|| chosen.media_type.clone());
            (Some(top.clone()), child.bytes, child.digest, mt, m)
        }
    };
    check_layers(&manifest).map_err(bad)?;

    // 3. The config (kept in memory until the layers are in, so that a failed pull
    // leaves no unreferenced blob), then the layers, into the store (in the write
    // session taken above).
    let config = &manifest.config;
    let config_bytes = if store.has_blob(&config.digest) {
        store.read_blob(&config.digest)?
    } else {
        rt.block_on(registry.get_small_blob(&repo, &config.digest, config.size))
            .map_err(|e| PullError::Fetch {
                what: "the image config".into(),
                reference: shown.clone(),
                source: Box::new(e),
            })?
    };
    // An explicit platform that a single-platform image does not match is an error,
    // never a silent fallback (as Docker: "was found but does not match").
    if index.is_none()
        && let Some(asked) = &opts.platform
        && let Some(actual) = config_platform(&config_bytes)
        && asked.match_rank(&actual).is_none()
    {
        return Err(PullError::PlatformMismatch {
            reference: shown.clone(),
            wanted: asked.to_string(),
            actual: actual.to_string(),
        });
    }
    let layer_records = fetch_layers(
        store, &ingest, registry, &repo, &manifest, opts, progress, rt,
    )?;

    // 4. Config, manifest (and index) last, then the names.
    ingest.write_blob(&config_bytes)?;
    ingest.write_blob(&manifest_bytes)?;
    if let Some(index) = &index {
        ingest.write_blob(&index.bytes)?;
    }
    let mut descriptor = Descriptor::new(
        manifest_media_type,
        manifest_digest.clone(),
        manifest_bytes.len() as u64,
    );
    let mut record = store.derive_record(&descriptor, Some(jiff::Timestamp::now().to_string()))?;
    // The image's own platform (its config's), not the one asked for: a single-platform
    // image of another architecture is pulled as it is, as Docker does.
    descriptor.platform =
        Some(Platform::parse(&record.platform).unwrap_or_else(|_| wanted.clone()));
    record.layers = layer_records;
    record.index = index.as_ref().map(|i| i.digest.clone());
    let repo_digest = format!("{}@{}", reference.name(), top.digest);
    let id = record.config.clone();
    store.update(|state| {
        if let Some(old) = state.meta().images.get(&manifest_digest) {
            for d in &old.repo_digests {
                if !record.repo_digests.contains(d) {
                    record.repo_digests.push(d.clone());
                }
            }
            record.added = old.added.clone();
        }
        if !record.repo_digests.contains(&repo_digest) {
            record.repo_digests.push(repo_digest.clone());
        }
        state
            .meta_mut()
            .images
            .insert(manifest_digest.clone(), record);
        if reference.digest().is_some() {
            state.add_untagged(&descriptor);
        } else {
            state.tag(&descriptor, &reference);
        }
        Ok::<_, StoreError>(())
    })?;
    drop(ingest);
    Ok(Pulled {
        reference,
        digest: top.digest,
        manifest: manifest_digest,
        id,
        up_to_date: false,
    })
}

/// The store already has what the registry serves under this reference: make sure the
/// name points at it (a digest pull names nothing) and report it up to date.
fn already_here(
    store: &Store,
    reference: &Reference,
    top: &Digest,
    wanted: &Platform,
) -> Result<Option<Pulled>, PullError> {
    let state = store.state()?;
    let repo_digest = format!("{}@{top}", reference.name());
    let found = state.images().into_iter().find(|i| {
        // The platform only decides among the entries of an index; a single-platform
        // image is what the registry serves whatever its platform.
        (i.record.manifest == *top
            || (i.record.index.as_ref() == Some(top)
                && wanted
                    .match_rank(
                        &Platform::parse(&i.record.platform).unwrap_or_else(|_| wanted.clone()),
                    )
                    .is_some()))
            && i.record.blobs().all(|b| store.has_blob(b))
    });
    let Some(image) = found else { return Ok(None) };
    let descriptor = image.descriptor.clone();
    let manifest = image.record.manifest.clone();
    let id = image.record.config.clone();
    let named = reference.digest().is_some() || image.names.contains(reference);
    let known = image.record.repo_digests.contains(&repo_digest);
    if !named || !known {
        store.update(|s| {
            if let Some(r) = s.meta_mut().images.get_mut(&manifest)
                && !r.repo_digests.contains(&repo_digest)
            {
                r.repo_digests.push(repo_digest.clone());
            }
            if reference.digest().is_none() {
                let mut d = descriptor.clone();
                d.annotations.clear();
                s.tag(&d, reference);
            }
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(Some(Pulled {
        reference: reference.clone(),
        digest: top.clone(),
        manifest,
        id,
        up_to_date: named,
    }))
}

/// The platform a config states (`None` when it is unreadable or states none).
fn config_platform(bytes: &[u8]) -> Option<Platform> {
    let c: lade_oci::ImageConfig = serde_json::from_slice(bytes).ok()?;
    Some(Platform {
        architecture: c.architecture?,
        os: c.os?,
        os_version: None,
        os_features: Vec::new(),
        variant: c.variant,
    })
}

fn available_platforms(entries: &[Descriptor]) -> String {
    let list: Vec<String> = entries
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(Platform::to_string)
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn check_layers(m: &ImageManifest) -> Result<(), String> {
    for l in &m.layers {
        if media_type::layer_compression(&l.media_type).is_none() && !l.media_type.contains("layer")
        {
            return Err(format!("unsupported layer media type {:?}", l.media_type));
        }
    }
    Ok(())
}

fn classify_error(e: ClientError, reference: &Reference) -> PullError {
    let familiar_repo = reference.familiar_name();
    match e.api_code() {
        Some("UNAUTHORIZED" | "DENIED" | "NAME_UNKNOWN") => PullError::AccessDenied {
            repository: familiar_repo,
            source: Box::new(e),
        },
        Some("MANIFEST_UNKNOWN") => PullError::ManifestUnknown {
            reference: reference.familiar(),
            source: Box::new(e),
        },
        _ if e.status() == Some(404) => PullError::ManifestUnknown {
            reference: reference.familiar(),
            source: Box::new(e),
        },
        _ => PullError::Fetch {
            what: "the manifest".into(),
            reference: reference.familiar(),
            source: Box::new(e),
        },
    }
}

/// Fetches the layers the store lacks, a few at a time (one scoped thread each, so
/// that disk writes never stall the runtime); returns the records of all layers.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn fetch_layers(
    store: &Store,
    ingest: &Ingest<'_>,
    registry: &Registry,
    repo: &str,
    manifest: &ImageManifest,
    opts: &PullOptions,
    progress: &dyn PullProgress,
    rt: &Handle,
) -> Result<Vec<LayerRecord>, PullError> {
    let mut missing = Vec::new();
    for l in &manifest.layers {
        let id = short(&l.digest);
        if store.has_blob(&l.digest) || missing.iter().any(|m: &&Descriptor| m.digest == l.digest) {
            progress.event(PullEvent::Layer {
                id,
                status: LayerStatus::AlreadyExists,
            });
        } else {
            progress.event(PullEvent::Layer {
                id,
                status: LayerStatus::PullingFsLayer,
            });
            missing.push(l);
        }
    }
    progress.event(PullEvent::Planned {
        total: missing.iter().map(|l| l.size).sum(),
    });
    let workers = opts
        .max_concurrent_downloads
        .clamp(1, 32)
        .min(missing.len());
    for l in missing.iter().skip(workers) {
        progress.event(PullEvent::Layer {
            id: short(&l.digest),
            status: LayerStatus::Waiting,
        });
    }
    let queue = Mutex::new(missing.into_iter().collect::<VecDeque<_>>());
    let failed = AtomicBool::new(false);
    type Fetched = Vec<(Digest, LayerSizes)>;
    let results: Vec<Result<Fetched, PullError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                        let Some(layer) = next else { break };
                        let fetched = fetch_layer(ingest, registry, repo, layer, progress);
                        match rt.block_on(fetched) {
                            Ok(r) => {
                                progress.event(PullEvent::Layer {
                                    id: short(&layer.digest),
                                    status: LayerStatus::PullComplete,
                                });
                                done.push(r);
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PullError::Store(StoreError::Io(std::io::Error::other(
                        "a download thread panicked",
                    ))))
                })
            })
            .collect()
    });
    let mut fetched = std::collections::HashMap::new();
    for r in results {
        fetched.extend(r?);
    }
    // Layers that were already here keep the sizes recorded when they arrived.
    let known = store.state()?.meta().known_layer_sizes();
    Ok(manifest
        .layers
        .iter()
        .map(|l| {
            let new = fetched.get(&l.digest).copied().unwrap_or_default();
            let mut record = LayerRecord {
                digest: l.digest.clone(),
                size: l.size,
                uncompressed_size: new.tar,
                content_size: new.content,
            };
            record.fill_sizes(&known);
            record
        })
        .collect())
}

fn short(d: &Digest) -> String {
    d.short_id().to_string()
}

/// Downloads one layer into a resumable blob, retrying temporary failures from the
/// offset reached. Returns the digest and what the layer holds (its sizes, see
/// [`lade_archive::inspect_layer`]), read on a thread of its own as the bytes arrive.
///
/// Its diff ID is not computed here: hashing every layer a second time would cost as
/// much CPU as the download's own hash, and the blob's digest already pins its bytes.
/// What unpacks a layer (`image mount`) is what checks it against the config.
async fn fetch_layer(
    ingest: &Ingest<'_>,
    registry: &Registry,
    repo: &str,
    layer: &Descriptor,
    progress: &dyn PullProgress,
) -> Result<(Digest, LayerSizes), PullError> {
    let id = short(&layer.digest);
    let digest = layer.digest.clone();
    let mut blob = match ingest.resumable_blob(&digest)? {
        Resumable::Present => return Ok((digest, LayerSizes::default())),
        Resumable::Write(b) => *b,
    };
    let total = layer.size;
    let done = Arc::new(AtomicU64::new(blob.offset()));
    let mut attempt = 0u32;
    let compression = media_type::layer_compression(&layer.media_type);
    let inspect = compression.is_some_and(|c| layer.size <= lade_archive::inspect_limit(c.into()));
    let mut inspector: Option<Inspector> = None;
    loop {
        if blob.offset() > total {
            blob.restart()?;
        }
        if blob.offset() == total {
            break;
        }
        if inspect && blob.offset() == 0 && inspector.as_ref().is_none_or(|i| i.fed != 0) {
            inspector = Some(Inspector::start());
        }
        let sink = Sink {
            blob: &mut blob,
            total,
            id: &id,
            done: &done,
            inspector: &mut inspector,
            progress,
            last_report: std::time::Instant::now(),
        };
        let result = download_into(sink, registry, repo, &layer.digest).await;
        match result {
            Ok(()) if blob.offset() == total => break,
            Ok(()) => {
                // The body ended early: resume from where it stopped.
                attempt += 1;
                if attempt > 5 {
                    return Err(PullError::Fetch {
                        what: format!("layer {id}"),
                        reference: repo.to_owned(),
                        source: Box::new(ClientError::SizeMismatch {
                            url: format!("/v2/{repo}/blobs/{digest}"),
                            expected: total,
                            actual: blob.offset(),
                        }),
                    });
                }
            }
            Err(DownloadError::Client(e)) if e.is_temporary() && attempt < 5 => {
                attempt += 1;
                progress.event(PullEvent::Layer {
                    id: id.clone(),
                    status: LayerStatus::Retrying {
                        attempt,
                        reason: e.to_string(),
                    },
                });
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt.min(6))).await;
            }
            Err(DownloadError::Client(e)) => {
                // More bytes than the manifest says: the layer fails and leaves
                // nothing behind, as a digest mismatch does, even though the bytes
                // kept came from earlier answers (the registry is not to be trusted
                // with a resume; the next pull asks for the whole layer).
                if matches!(e, ClientError::SizeMismatch { expected, actual, .. } if actual > expected)
                {
                    blob.discard();
                }
                return Err(PullError::Fetch {
                    what: format!("layer {id}"),
                    reference: repo.to_owned(),
                    source: Box::new(e),
                });
            }
            Err(DownloadError::Store(e)) => return Err(PullError::Store(e)),
        }
    }
    progress.event(PullEvent::Layer {
        id: id.clone(),
        status: LayerStatus::VerifyingChecksum,
    });
    // What the layer holds: read as it arrived, or (when this download resumed one
    // that an earlier process began) from the file now. A layer that is not a readable
    // tar gets no sizes; its digest was checked all the same.
    let facts = match inspector.filter(|i| i.fed == total) {
        Some(i) => i.finish(),
        None if inspect => blob
            .reread()
            .ok()
            .and_then(|f| inspect_layer(f, false).ok()),
        None => None,
    };
    blob.commit(total).map_err(|e| match e {
        StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. } => {
            PullError::LayerVerification {
                layer: digest.to_string(),
                source: e,
            }
        }
        // A write, fsync or rename that failed: the disk's trouble, not the layer's.
        e => PullError::Store(e),
    })?;
    progress.event(PullEvent::Layer {
        id,
        status: LayerStatus::DownloadComplete,
    });
    let sizes = match facts {
        Some(f) => f.sizes(),
        // A large uncompressed layer is its own tar stream. (Its headers are not read
        // back: written with O_DIRECT, they are on disk only, one seek each.)
        None if compression == Some(Compression::None) => LayerSizes {
            tar: Some(total),
            content: None,
        },
        // Not read as it arrived: what costs little from the stored blob (a gzip
        // trailer). The compression is sniffed: a media type can say otherwise.
        None => lade_archive::measure_stored_layer(ingest.store(), &digest, None, None, false),
    };
    Ok((digest, sizes))
}

/// Reads a layer on a thread of its own from the bytes the download hands it, in
/// order and without copying them (see [`lade_archive::inspect_layer`]).
struct Inspector {
    tx: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    thread: std::thread::JoinHandle<std::io::Result<LayerFacts>>,
    /// Bytes handed over so far: the layer's first `fed` bytes.
    fed: u64,
}

impl Inspector {
    fn start() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
        let thread = std::thread::spawn(move || {
            inspect_layer(
                ChannelReader {
                    rx,
                    current: bytes::Bytes::new(),
                },
                false,
            )
        });
        Self {
            tx: Some(tx),
            thread,
            fed: 0,
        }
    }

    /// Hands over the bytes at `offset`; gives up (for good) on any gap, or when the
    /// reader stopped (the layer is not a tar it can read).
    fn feed(&mut self, offset: u64, chunk: &bytes::Bytes) {
        if offset != self.fed {
            self.tx = None;
        }
        if let Some(tx) = &self.tx {
            if tx.send(chunk.clone()).is_ok() {
                self.fed += chunk.len() as u64;
            } else {
                self.tx = None;
            }
        }
    }

    /// The facts, when every byte went through and the layer read as a tar.
    fn finish(mut self) -> Option<LayerFacts> {
        let complete = self.tx.take().is_some();
        let facts = self.thread.join().ok()?.ok()?;
        complete.then_some(facts)
    }
}

/// The bytes sent to a channel as one stream; it ends when the sender goes.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.current = b,
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

enum DownloadError {
    Client(ClientError),
    Store(StoreError),
}

/// Where a download's bytes go: the partial blob, the layer's inspector, the progress
/// display and the shared count of bytes done.
struct Sink<'a> {
    blob: &'a mut ResumableBlob,
    total: u64,
    id: &'a str,
    done: &'a Arc<AtomicU64>,
    inspector: &'a mut Option<Inspector>,
    progress: &'a dyn PullProgress,
    last_report: std::time::Instant,
}

impl Sink<'_> {
    /// Starts over when the registry's body does not begin where the blob stands
    /// (it ignored the `Range`).
    fn starts_at(&mut self, offset: u64) -> Result<(), DownloadError> {
        if offset != self.blob.offset() {
            self.blob.restart().map_err(DownloadError::Store)?;
            *self.inspector = None;
        }
        Ok(())
    }

    /// The blob's bytes from `at` on just arrived: shown, and handed to the inspector.
    fn took(&mut self, at: u64, bytes: &bytes::Bytes) {
        if let Some(i) = self.inspector {
            i.feed(at, bytes);
        }
        let n = self.blob.offset();
        if self.last_report.elapsed() >= std::time::Duration::from_millis(100) || n == self.total {
            self.last_report = std::time::Instant::now();
            self.progress.event(PullEvent::Layer {
                id: self.id.to_owned(),
                status: LayerStatus::Downloading {
                    current: n,
                    total: self.total,
                },
            });
        }
    }
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        self.done.store(self.blob.offset(), Ordering::Relaxed);
    }
}

/// One GET of the rest of a blob, written straight to the partial file. Runs on a
/// download thread of its own (see `fetch_layers`), so reading the body on it (see
/// [`read_body`]) and writing to disk here block nothing else.
async fn download_into(
    mut sink: Sink<'_>,
    registry: &Registry,
    repo: &str,
    digest: &Digest,
) -> Result<(), DownloadError> {
    let offset = sink.blob.offset();
    match registry.open_blob(repo, digest, offset, sink.total) {
        Ok(Some(body)) => return read_body(sink, body),
        Ok(None) => {}
        Err(e) => return Err(DownloadError::Client(e)),
    }
    let mut stream = registry
        .get_blob(repo, digest, offset)
        .await
        .map_err(DownloadError::Client)?;
    sink.starts_at(stream.offset)?;
    loop {
        match stream.response.chunk().await {
            Ok(Some(chunk)) => {
                let n = sink.blob.offset() + chunk.len() as u64;
                if n > sink.total {
                    return Err(DownloadError::Client(ClientError::SizeMismatch {
                        url: stream.response.url().to_string(),
                        expected: sink.total,
                        actual: n,
                    }));
                }
                let at = sink.blob.offset();
                std::io::Write::write_all(sink.blob, &chunk)
                    .map_err(|e| DownloadError::Store(StoreError::Io(e)))?;
                sink.took(at, &chunk);
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(DownloadError::Client(ClientError::Transport {
                    host: registry.host().to_owned(),
                    source: e,
                }));
            }
        }
    }
}

/// [`download_into`] for a body read on this (download) thread: each read lands in
/// the blob's write window itself, with no copy (see `lade_client::BlobReader`).
fn read_body(mut sink: Sink<'_>, mut body: BlobReader) -> Result<(), DownloadError> {
    use std::io::Read as _;
    // `open_blob` refused a body that would go past the layer's size.
    sink.starts_at(body.offset())?;
    while body.remaining() > 0 {
        let space = sink
            .blob
            .space()
            .map_err(|e| DownloadError::Store(StoreError::Io(e)))?;
        let n = match body.read(space) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DownloadError::Client(ClientError::Body {
                    host: body.host().to_owned(),
                    source: e,
                }));
            }
        };
        let at = sink.blob.offset();
        let bytes = sink.blob.filled(n);
        // Only a layer small enough to inspect pays for this copy.
        let copy = match sink.inspector {
            Some(_) => bytes::Bytes::copy_from_slice(bytes),
            None => bytes::Bytes::new(),
        };
        sink.took(at, &copy);
    }
    Ok(())
}
