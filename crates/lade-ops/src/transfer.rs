//! What `save`, `load` and `export` share: byte-count progress, and output files that
//! appear only once they are complete.

use std::io::{self, Read, Write};
use std::path::Path;

/// Receives the progress of a long stream of bytes (an archive written or read).
pub trait TransferProgress: Sync {
    /// The stream starts; `total` is the number of bytes expected, when known.
    fn start(&self, total: Option<u64>);
    /// `bytes` more went through.
    fn advance(&self, bytes: u64);
}

/// Progress that nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl TransferProgress for NoProgress {
    fn start(&self, _total: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
}

/// Reports every byte written through it.
pub(crate) struct CountingWriter<'p, W> {
    pub(crate) inner: W,
    progress: &'p dyn TransferProgress,
}

impl<'p, W> CountingWriter<'p, W> {
    pub(crate) fn new(inner: W, progress: &'p dyn TransferProgress) -> Self {
        Self { inner, progress }
    }
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reports every byte read through it.
pub(crate) struct CountingReader<'p, R> {
    inner: R,
    progress: &'p dyn TransferProgress,
}

impl<'p, R> CountingReader<'p, R> {
    pub(crate) fn new(inner: R, progress: &'p dyn TransferProgress) -> Self {
        Self { inner, progress }
    }
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Buffer between tar writing and the output: large writes, and `io::copy` from a
/// blob file reads straight into it.
pub(crate) const BUFFER: usize = 1024 * 1024;

/// Writes `path` through a temporary file beside it, renamed over `path` only once
/// `write` succeeded and the data is on disk: a failed or interrupted command never
/// leaves a half-written archive under the name asked for (as `docker save -o`).
///
/// What is not a regular file is written to as it is: a device (`-o /dev/null`), a
/// FIFO or a socket would be replaced by the rename, so it gets the bytes directly. A
/// symbolic link is followed: the file it points to is replaced, the link stays.
pub(crate) fn write_file_atomically<E: From<io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs_err::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut out = fs_err::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| annotate(e, "write", path))?;
        write(out.file_mut())?;
        out.flush().map_err(|e| annotate(e, "write", path))?;
        return Ok(());
    }
    let resolved;
    let path = match fs_err::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            // A dangling link is replaced like a missing file.
            resolved = fs_err::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            resolved.as_path()
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".lade-tmp-")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(|e| annotate(e, "create a temporary file in", dir))?;
    write(tmp.as_file_mut())?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| annotate(e, "write", path))?;
    tmp.persist(path)
        .map_err(|e| annotate(e.error, "write", path))?;
    Ok(())
}

fn annotate(e: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("failed to {action} {}: {e}", path.display()),
    )
}
