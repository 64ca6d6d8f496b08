//! `lade save`: images from the store as one archive (docker-archive, oci-archive or
//! oci-dir), streamed with no temporary copy, optionally compressed as a whole.
//!
//! Names are chosen as `docker save` chooses them: `NAME:TAG` saves that tag, a bare
//! `NAME` every tag of the repository, an ID or `NAME@DIGEST` the image with no name.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use lade_archive::{ArchiveError, SaveImage, SavePlan};
use lade_oci::{Descriptor, Platform};
use lade_reference::{Digest, Reference};
use lade_store::{State, Store, StoreError};

use crate::transfer::{BUFFER, CountingWriter, TransferProgress, write_file_atomically};
use crate::{LookupError, resolve_image};

pub use lade_archive::Format;

/// Compression of the whole archive stream (`--compress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCompression {
    Gzip,
    Zstd,
}

/// What `save` is asked to do.
#[derive(Debug, Clone)]
pub struct SaveOptions {
    pub format: Format,
    pub compress: Option<StreamCompression>,
    /// Refuse images of another platform (`--platform`).
    pub platform: Option<Platform>,
}

/// Where the archive goes.
pub enum SaveTarget<'a> {
    /// Standard output, or any stream.
    Stream(&'a mut dyn Write),
    /// A file (written beside its name, renamed into place when complete), or the
    /// directory that `--format oci-dir` fills.
    Path(&'a Path),
}

impl std::fmt::Debug for SaveTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveTarget::Stream(_) => f.write_str("Stream"),
            SaveTarget::Path(p) => f.debug_tuple("Path").field(p).finish(),
        }
    }
}

/// What was saved.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The images (manifests) in the archive.
    pub images: Vec<Digest>,
    /// The bytes of content written (blobs and metadata files).
    pub bytes: u64,
}

/// Why nothing (usable) was saved. A file named with `-o` is left untouched.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error(
        "image {image} does not match the specified platform: wanted {wanted}, actual: {actual}"
    )]
    PlatformMismatch {
        image: String,
        wanted: String,
        actual: String,
    },
    #[error("--compress cannot be used with --format oci-dir (a directory is not a stream)")]
    CompressDir,
    #[error("--format oci-dir writes a directory: name it with -o DIR")]
    DirNeedsPath,
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("failed to write the archive: {0}")]
    Output(#[from] io::Error),
}

/// Saves the images `what` names into `target`.
pub fn save(
    store: &Store,
    what: &[String],
    opts: &SaveOptions,
    target: SaveTarget<'_>,
    progress: &dyn TransferProgress,
) -> Result<Saved, SaveError> {
    if opts.format == Format::OciDir {
        if opts.compress.is_some() {
            return Err(SaveError::CompressDir);
        }
        if matches!(target, SaveTarget::Stream(_)) {
            return Err(SaveError::DirNeedsPath);
        }
    }
    // A write session keeps every blob in place while it is read (no rmi or prune can
    // delete one meanwhile). A read-only store cannot take it, but nobody can delete
    // anything there either.
    let _session = store.ingest().ok();
    let state = store.state()?;
    let images = select(&state, what)?;
    if let Some(wanted) = &opts.platform {
        for (image, _) in &images {
            let Some(record) = state.meta().images.get(&image.digest) else {
                continue;
            };
            let actual = Platform::parse(&record.platform);
            if actual
                .as_ref()
                .map_or(true, |a| wanted.match_rank(a).is_none())
            {
                return Err(SaveError::PlatformMismatch {
                    image: image.digest.to_string(),
                    wanted: wanted.to_string(),
                    actual: record.platform.clone(),
                });
            }
        }
    }
    let images: Vec<SaveImage> = images
        .into_iter()
        .map(|(manifest, names)| SaveImage { manifest, names })
        .collect();
    let plan = SavePlan::new(store, &images, opts.format)?;
    progress.start(Some(plan.content_size()));
    match target {
        SaveTarget::Path(dir) if opts.format == Format::OciDir => plan.write_dir(store, dir)?,
        SaveTarget::Path(path) => write_file_atomically(path, |out| {
            write_stream(&plan, store, out, opts.compress, progress)
        })?,
        SaveTarget::Stream(out) => write_stream(&plan, store, out, opts.compress, progress)?,
    }
    Ok(Saved {
        images: images.iter().map(|i| i.manifest.digest.clone()).collect(),
        bytes: plan.content_size(),
    })
}

/// The tar stream, through the compressor asked for, into `out`; progress counts the
/// archive's bytes before compression.
fn write_stream(
    plan: &SavePlan,
    store: &Store,
    out: &mut dyn Write,
    compress: Option<StreamCompression>,
    progress: &dyn TransferProgress,
) -> Result<(), SaveError> {
    match compress {
        None => {
            let w = tar_through(plan, store, out, progress)?;
            w.flush()?;
        }
        Some(StreamCompression::Gzip) => {
            let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            tar_through(plan, store, gz, progress)?.finish()?.flush()?;
        }
        Some(StreamCompression::Zstd) => {
            let zst = zstd::stream::write::Encoder::new(out, 3)?;
            tar_through(plan, store, zst, progress)?.finish()?.flush()?;
        }
    }
    Ok(())
}

/// Writes the tar into `out` (buffered, counted); returns `out` to be finished.
fn tar_through<W: Write>(
    plan: &SavePlan,
    store: &Store,
    out: W,
    progress: &dyn TransferProgress,
) -> Result<W, SaveError> {
    let buffered = BufWriter::with_capacity(BUFFER, CountingWriter::new(out, progress));
    let buffered = plan.write_tar(store, buffered)?;
    let counting = buffered
        .into_inner()
        .map_err(|e| SaveError::Output(e.into_error()))?;
    Ok(counting.inner)
}

/// The images `what` names, each with the names to save it under, in the order first
/// named; an image named twice is saved once.
fn select(
    state: &State,
    what: &[String],
) -> Result<Vec<(Descriptor, Vec<Reference>)>, LookupError> {
    let mut out: Vec<(Descriptor, Vec<Reference>)> = Vec::new();
    let mut add = |descriptor: &Descriptor, record_platform: &str, name: Option<Reference>| {
        let i = match out.iter().position(|(d, _)| d.digest == descriptor.digest) {
            Some(i) => i,
            None => {
                let mut d = Descriptor::new(
                    descriptor.media_type.clone(),
                    descriptor.digest.clone(),
                    descriptor.size,
                );
                d.platform = descriptor
                    .platform
                    .clone()
                    .or_else(|| Platform::parse(record_platform).ok());
                out.push((d, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(name) = name
            && !out[i].1.contains(&name)
        {
            out[i].1.push(name);
        }
    };
    for arg in what {
        let parsed = Reference::parse_normalized(arg).ok();
        // A bare repository name saves all of its tags (Docker's ReferencesByName).
        if let Some(r) = &parsed
            && r.tag().is_none()
            && r.digest().is_none()
        {
            let mut found = false;
            for image in state.images() {
                for name in image.names.iter().filter(|n| n.name() == r.name()) {
                    add(image.descriptor, &image.record.platform, Some(name.clone()));
                    found = true;
                }
            }
            if found {
                continue;
            }
        }
        let image = resolve_image(state, arg)?;
        let name = parsed
            .filter(|r| r.digest().is_none())
            .map(Reference::with_default_tag)
            .filter(|r| image.names.contains(r));
        add(image.descriptor, &image.record.platform, name);
    }
    Ok(out)
}
