//! Inter-process locks on files under `lade/` (advisory `flock`, released when the
//! holder exits, even by `kill -9`).

use std::path::Path;

use crate::fsutil::annotate;

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: fs_err::File,
}

/// Takes the lock at `path`, shared or exclusive, waiting for it.
pub(crate) fn lock(path: &Path, exclusive: bool) -> std::io::Result<LockGuard> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let res = if exclusive {
        file.file().lock()
    } else {
        file.file().lock_shared()
    };
    res.map_err(|e| annotate(e, "lock", path))?;
    Ok(LockGuard { _file: file })
}

/// Takes the lock at `path` exclusively if nobody holds it; `None` when it is busy.
pub(crate) fn try_lock_exclusive(path: &Path) -> std::io::Result<Option<LockGuard>> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    match file.file().try_lock() {
        Ok(()) => Ok(Some(LockGuard { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(annotate(e, "lock", path)),
    }
}
