//! `lade image export`: an image's flattened root filesystem as one tar, streamed
//! (ready for `lade import` or `tar -x`).

use std::io::{BufWriter, Write};
use std::path::Path;

use lade_archive::ArchiveError;
use lade_reference::Digest;
use lade_store::{Store, StoreError};

use crate::transfer::{BUFFER, CountingWriter, TransferProgress, write_file_atomically};
use crate::{LookupError, resolve_image};

/// Where the tar goes.
pub enum ExportTarget<'a> {
    /// Standard output, or any stream.
    Stream(&'a mut dyn Write),
    /// A file, written beside its name and renamed into place when complete.
    Path(&'a Path),
}

impl std::fmt::Debug for ExportTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportTarget::Stream(_) => f.write_str("Stream"),
            ExportTarget::Path(p) => f.debug_tuple("Path").field(p).finish(),
        }
    }
}

/// Why nothing was exported. A file named with `-o` is left untouched.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("failed to write the archive: {0}")]
    Output(#[from] std::io::Error),
}

/// Exports the image `what` names (a name, ID or ID prefix); returns its manifest digest.
pub fn export(
    store: &Store,
    what: &str,
    target: ExportTarget<'_>,
    progress: &dyn TransferProgress,
) -> Result<Digest, ExportError> {
    // A write session keeps the layers in place while they are read (see `save`).
    let _session = store.ingest().ok();
    let state = store.state()?;
    let image = resolve_image(&state, what)?;
    let manifest = image.record.manifest.clone();
    progress.start(Some(image.record.size()));
    let write = |out: &mut dyn Write| -> Result<(), ExportError> {
        let buffered = BufWriter::with_capacity(BUFFER, CountingWriter::new(out, progress));
        let buffered = lade_archive::export(store, &manifest, buffered)?;
        let mut counting = buffered
            .into_inner()
            .map_err(|e| ExportError::Output(e.into_error()))?;
        counting.flush()?;
        Ok(())
    };
    match target {
        ExportTarget::Path(path) => write_file_atomically(path, write)?,
        ExportTarget::Stream(out) => write(out)?,
    }
    Ok(manifest)
}
