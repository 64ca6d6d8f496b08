//! Small file-system helpers: atomic writes and directory syncs.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temp file in `tmp_dir` (same filesystem), fsync,
/// rename over `path`, fsync of the parent directory.
pub(crate) fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".write-")
        .permissions(crate::fsutil::public_mode())
        .tempfile_in(tmp_dir)
        .map_err(|e| annotate(e, "create a temporary file in", tmp_dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| annotate(e, "write", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| annotate(e.error, "replace", path))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Fsyncs a directory so that renames into it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs_err::File::open(dir)?.sync_all()
}

/// Adds the action and path to an error from a crate that does not name paths.
pub(crate) fn annotate(e: std::io::Error, action: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("failed to {action} {}: {e}", path.display()),
    )
}

/// Mode of published files: readable by all (subject to the umask), as other tools expect
/// of an image layout; temp files would otherwise be 0600.
pub(crate) fn public_mode() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// Reads one of lade's small versioned JSON files (`{"version":N,…}`): `None` when it
/// is absent. Another version is refused on its `version` before the rest is parsed,
/// so a newer file says so instead of looking corrupt.
pub(crate) fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    supported: u32,
) -> Result<Option<T>, crate::StoreError> {
    #[derive(serde::Deserialize)]
    struct Version {
        version: u32,
    }
    let bytes = match fs_err::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = |source: serde_json::Error| crate::StoreError::CorruptFile {
        path: path.to_owned(),
        source: source.into(),
    };
    let v: Version = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if v.version != supported {
        return Err(crate::StoreError::UnsupportedVersion {
            path: path.to_owned(),
            found: v.version.to_string(),
            supported,
        });
    }
    serde_json::from_slice(&bytes).map(Some).map_err(corrupt)
}
