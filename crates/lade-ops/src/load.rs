//! `lade load`: images from an archive (a file, a directory or a stream) into the
//! store. The work is `lade_archive::load`; this adds where the bytes come from and
//! how far along they are.

use std::io::{self, Read};
use std::path::Path;

use lade_archive::{ArchiveError, LoadedImage};
use lade_store::Store;

use crate::transfer::{CountingReader, TransferProgress};

pub use lade_archive::LoadOptions;

/// Where the archive comes from.
pub enum LoadSource<'a> {
    /// Standard input, or any stream.
    Stream(&'a mut dyn Read),
    /// A file, or a directory holding an image layout.
    Path(&'a Path),
}

impl std::fmt::Debug for LoadSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadSource::Stream(_) => f.write_str("Stream"),
            LoadSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
        }
    }
}

/// Why nothing was loaded. The store is as it was in every case.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Open(#[from] io::Error),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
}

/// Loads every image of the archive; returns them in the archive's order.
pub fn load(
    store: &Store,
    source: LoadSource<'_>,
    opts: &LoadOptions,
    progress: &dyn TransferProgress,
) -> Result<Vec<LoadedImage>, LoadError> {
    match source {
        LoadSource::Path(path) if path.is_dir() => {
            progress.start(None);
            Ok(lade_archive::load_dir(store, path, opts)?)
        }
        LoadSource::Path(path) => {
            let file = fs_err::File::open(path)?;
            progress.start(file.metadata().ok().map(|m| m.len()));
            let reader = io::BufReader::with_capacity(
                crate::transfer::BUFFER,
                CountingReader::new(file, progress),
            );
            Ok(lade_archive::load(store, reader, opts)?)
        }
        LoadSource::Stream(input) => {
            progress.start(None);
            let reader = io::BufReader::with_capacity(
                crate::transfer::BUFFER,
                CountingReader::new(input, progress),
            );
            Ok(lade_archive::load(store, reader, opts)?)
        }
    }
}
