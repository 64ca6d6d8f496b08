//! `lade import`: a root filesystem tarball becomes a single-layer image, as
//! `docker import` does it.
//!
//! The input is read once. One thread decompresses it, hashes the tar stream (the
//! layer's diff ID) and walks its headers to make sure it is a whole tar archive; a
//! second thread gzips the same bytes into a blob writer that hashes them again as they
//! reach the disk. Memory stays bounded by a few chunks in flight, whatever the size.

use std::io::{self, Read};
use std::sync::mpsc;

use lade_oci::{
    ContainerConfig, Descriptor, History, ImageConfig, ImageManifest, Platform, RootFs, media_type,
};
use lade_reference::{Digest, Reference};
use lade_store::{BlobWriter, ImageRecord, LayerRecord, Store, StoreError};
use sha2::{Digest as _, Sha256};

use crate::change::{ChangeError, apply_changes};
use crate::decompress::decompressed;

const CHUNK: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;

/// What `import` is asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The name to give the image; none leaves it untagged.
    pub reference: Option<Reference>,
    /// Dockerfile instructions to apply to the config (`--change`).
    pub changes: Vec<String>,
    /// The history comment (`--message`); defaults to "Imported from SOURCE".
    pub message: Option<String>,
    /// The platform to record; defaults to the host's.
    pub platform: Option<Platform>,
    /// Where the tarball came from, for the default message ("-" for standard input).
    pub source: String,
    /// gzip level for the stored layer (0-9).
    pub gzip_level: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            reference: None,
            changes: Vec::new(),
            message: None,
            platform: None,
            source: "-".into(),
            gzip_level: 1,
        }
    }
}

/// The image that `import` made.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The image ID (the config's digest).
    pub id: Digest,
    pub manifest: Digest,
    pub layer: Digest,
    pub diff_id: Digest,
}

/// Why an import failed. The store is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("invalid --change: {0}")]
    Change(#[from] ChangeError),
    #[error("the input is empty: expected a tar archive (plain, gzip, zstd or xz)")]
    Empty,
    #[error("failed to read the input (is it truncated or corrupt?)")]
    Read(#[source] io::Error),
    #[error("the input is not a valid tar archive: {0}")]
    NotTar(#[source] io::Error),
    #[error("the tar archive is truncated: entry {path:?} has {got} of its {want} bytes")]
    Truncated { path: String, got: u64, want: u64 },
    #[error("failed to write the layer: {0}")]
    Write(#[source] io::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Reads a tarball from `input` and stores it as a new image.
pub fn import(
    store: &Store,
    input: impl Read,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    // Everything that can be checked before reading the input is checked first.
    let mut container = ContainerConfig::default();
    apply_changes(&mut container, &opts.changes)?;
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);

    let ingest = store.ingest()?;
    let writer = ingest.blob_writer()?;
    let (layer, diff_id, tar_size, content_size) = write_layer(input, writer, opts.gzip_level)?;

    let created = jiff::Timestamp::now().to_string();
    let message = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("Imported from {}", opts.source));
    let config = ImageConfig {
        architecture: Some(platform.architecture.clone()),
        os: Some(platform.os.clone()),
        variant: platform.variant.clone(),
        created: Some(created.clone()),
        comment: Some(message.clone()),
        config: Some(container),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![diff_id.clone()],
        },
        history: vec![History {
            created: Some(created.clone()),
            comment: Some(message),
            ..History::default()
        }],
        ..ImageConfig::default()
    };
    let config_bytes = serde_json::to_vec(&config).map_err(|e| ImportError::Write(e.into()))?;
    let config_digest = ingest.write_blob(&config_bytes)?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(
            media_type::OCI_CONFIG,
            config_digest.clone(),
            config_bytes.len() as u64,
        ),
        layers: vec![Descriptor::new(
            media_type::OCI_LAYER_GZIP,
            layer.0.clone(),
            layer.1,
        )],
        subject: None,
        annotations: Default::default(),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| ImportError::Write(e.into()))?;
    let manifest_digest = ingest.write_blob(&manifest_bytes)?;
    let mut descriptor = Descriptor::new(
        media_type::OCI_MANIFEST,
        manifest_digest.clone(),
        manifest_bytes.len() as u64,
    );
    descriptor.platform = Some(platform.clone());

    let record = ImageRecord {
        manifest: manifest_digest.clone(),
        manifest_media_type: media_type::OCI_MANIFEST.into(),
        manifest_size: manifest_bytes.len() as u64,
        config: config_digest.clone(),
        config_size: config_bytes.len() as u64,
        created: Some(created.clone()),
        added: created,
        layers: vec![LayerRecord {
            digest: layer.0.clone(),
            size: layer.1,
            uncompressed_size: Some(tar_size),
            content_size: Some(content_size),
        }],
        labels: lade_store::labels_of(&config),
        platform: platform.to_string(),
        index: None,
        repo_digests: Vec::new(),
    };
    store.update(|state| {
        state
            .meta_mut()
            .images
            .insert(manifest_digest.clone(), record);
        match &opts.reference {
            Some(r) => state.tag(&descriptor, r),
            None => state.add_untagged(&descriptor),
        }
        Ok::<_, StoreError>(())
    })?;
    drop(ingest);
    Ok(Imported {
        id: config_digest,
        manifest: manifest_digest,
        layer: layer.0,
        diff_id,
    })
}

/// Streams the (decompressed) tarball through a tar check and a gzip encoder into the
/// store. Returns the blob's digest and size, the diff ID and the tar's size.
fn write_layer(
    input: impl Read,
    writer: BlobWriter,
    level: u32,
) -> Result<((Digest, u64), Digest, u64, u64), ImportError> {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let compressor = scope.spawn(move || -> Result<BlobWriter, io::Error> {
            // Every core compresses: gzip is most of an import's work.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            lade_archive::gzip_parallel(
                rx,
                io::BufWriter::with_capacity(CHUNK, writer),
                level,
                threads,
            )?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
        });
        let read_result = read_tar(input, tx);
        // A failed write (a full disk) is the cause when both sides failed: the reader
        // only saw the writer go away.
        let writer = match compressor.join() {
            Ok(Ok(w)) => w,
            Ok(Err(e)) => return Err(ImportError::Write(e)),
            Err(_) => {
                return Err(ImportError::Write(io::Error::other(
                    "the compression thread panicked",
                )));
            }
        };
        let (diff_id, tar_size, content_size) = read_result?;
        let layer = writer.commit(None)?;
        Ok((layer, diff_id, tar_size, content_size))
    })
}

/// Decompresses, checks the tar structure, hashes, and forwards every byte to `tx`.
/// Returns the diff ID, the tar stream's size and the content size (as Docker counts
/// it: see `lade_archive::inspect_layer`).
fn read_tar(
    input: impl Read,
    tx: mpsc::SyncSender<Vec<u8>>,
) -> Result<(Digest, u64, u64), ImportError> {
    let (reader, _kind, empty) = decompressed(input).map_err(ImportError::Read)?;
    if empty {
        return Err(ImportError::Empty);
    }
    let mut tee = Tee {
        inner: reader,
        hasher: Sha256::new(),
        size: 0,
        buf: Vec::with_capacity(CHUNK),
        tx,
        closed: false,
        failed_read: None,
    };
    let walked = walk_tar(&mut tee).and_then(|content| {
        // The end-of-archive blocks and any padding after them belong to the layer too.
        io::copy(&mut tee, &mut io::sink()).map_err(ImportError::Read)?;
        Ok(content)
    });
    // A failure to read the input (a truncated or corrupt compressed stream) is reported
    // as such, whatever the tar reader made of it.
    if let Some(e) = tee.failed_read.take() {
        return Err(ImportError::Read(e));
    }
    let content_size = walked?;
    tee.flush_chunk();
    if tee.closed {
        return Err(ImportError::Write(io::Error::other(
            "the layer writer stopped early",
        )));
    }
    let Tee { hasher, size, .. } = tee;
    Ok((
        Digest::from_sha256_bytes(&hasher.finalize().into()),
        size,
        content_size,
    ))
}

/// Reads every entry of the archive to its end, checking that each is whole; returns
/// the sum of the entries' sizes.
fn walk_tar(tee: &mut impl Read) -> Result<u64, ImportError> {
    let mut archive = tar::Archive::new(tee);
    let mut content = 0;
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        content += lade_archive::entry_content_size(&entry);
        let want = entry.header().entry_size().unwrap_or(0);
        let got = io::copy(&mut entry, &mut io::sink()).map_err(tar_error)?;
        if got < want {
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            return Err(ImportError::Truncated { path, got, want });
        }
    }
    Ok(content)
}

/// An error while walking the tar stream: a read error of the input stays a read error,
/// anything else means the bytes are not a tar archive.
fn tar_error(e: io::Error) -> ImportError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => ImportError::NotTar(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "unexpected end of input (truncated archive?)",
        )),
        _ => ImportError::NotTar(e),
    }
}

/// Reads from `inner`, hashing every byte and sending it on in chunks.
struct Tee<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    buf: Vec<u8>,
    tx: mpsc::SyncSender<Vec<u8>>,
    closed: bool,
    failed_read: Option<io::Error>,
}

impl<R> Tee<R> {
    fn flush_chunk(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        if self.tx.send(chunk).is_err() {
            self.closed = true;
        }
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::other("the layer writer stopped early"));
        }
        let n = match self.inner.read(out) {
            Ok(n) => n,
            Err(e) => {
                // Keep the original error: the tar reader may rephrase it.
                let kind = e.kind();
                let msg = e.to_string();
                self.failed_read = Some(e);
                return Err(io::Error::new(kind, msg));
            }
        };
        self.hasher.update(&out[..n]);
        self.size += n as u64;
        self.buf.extend_from_slice(&out[..n]);
        if self.buf.len() >= CHUNK {
            self.flush_chunk();
        }
        Ok(n)
    }
}
