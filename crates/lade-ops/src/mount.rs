//! `lade image mount` / `lade image unmount`: an image's root filesystem as a
//! read-only directory to look inside, as `podman image mount` gives it.
//!
//! Two drivers:
//! - **overlay**: each layer unpacked into a directory of its own in overlayfs's form
//!   (`lade-archive`'s `unpack_layer`), then mounted read-only, `nodev`, `nosuid`,
//!   with those directories as `lowerdir`s. Needs root (CAP_SYS_ADMIN, CAP_MKNOD) and
//!   a kernel with overlayfs.
//! - **copy**: the layers applied into one read-only tree (`unpack`). Works anywhere.
//!
//! [`Driver::Auto`] tries overlay when the process is root and the kernel knows
//! overlayfs, and falls back to a copy when overlay cannot be used (whiteouts cannot
//! be written in its form, or `mount` is refused); any other error (a layer that does
//! not match its diff ID, a hostile entry) is an error of the image and fails either way.
//!
//! Every tree is unpacked into a temporary directory and renamed into place once every
//! layer checked out, so a mount never serves a half-unpacked tree. The store keeps
//! one record per mounted image (`lade_store::Mounts`); mounting again returns the same
//! path, and one unmount releases it (no counting, unlike podman). `rmi` and `prune`
//! release the mounts of the images they delete ([`release_gone`]).

use std::ffi::CString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use lade_archive::{ArchiveError, Skipped};
use lade_archive::{image_layers, unpack, unpack_layer};
use lade_reference::Digest;
use lade_store::{
    MountDriver, MountRecord, Mounts, State, Store, StoreError, empty_mount_dir, remove_mount_tree,
};

use rustix::io::Errno;

use crate::{LookupError, resolve_image};

/// Which driver to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Driver {
    /// Overlay when possible, else a copy.
    #[default]
    Auto,
    Copy,
    Overlay,
}

impl std::str::FromStr for Driver {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "auto" => Ok(Driver::Auto),
            "copy" => Ok(Driver::Copy),
            "overlay" => Ok(Driver::Overlay),
            other => Err(format!(
                "unknown mount driver {other:?}: expected auto, copy or overlay"
            )),
        }
    }
}

/// How to mount.
#[derive(Debug, Clone, Default)]
pub struct MountOptions {
    pub driver: Driver,
    /// Mount there instead of under the store: a missing or empty directory.
    pub dir: Option<PathBuf>,
}

/// A mounted image.
#[derive(Debug, Clone)]
pub struct Mounted {
    pub manifest: Digest,
    /// Its first name (full reference), or its short ID when it has none.
    pub name: String,
    pub path: PathBuf,
    pub driver: MountDriver,
    /// Entries left out (device files).
    pub skipped: Vec<Skipped>,
    /// True when the image was mounted already (nothing was done).
    pub reused: bool,
    /// Why overlay was not used, when `Auto` fell back to a copy.
    pub overlay_refused: Option<String>,
}

/// A mount that was released.
#[derive(Debug, Clone)]
pub struct Unmounted {
    pub record: MountRecord,
    /// The image's name, as [`Mounted::name`] (its ID's hex when it is gone).
    pub name: String,
    /// The image's ID, when it is still in the store.
    pub id: Option<Digest>,
}

/// Why an image could not be mounted or unmounted.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error("{image} is already mounted at {}", path.display())]
    MountedElsewhere { image: String, path: PathBuf },
    #[error("{} exists and is not an empty directory; name a new or empty directory", .0.display())]
    DirNotEmpty(PathBuf),
    #[error("{0} is not mounted")]
    NotMounted(String),
    #[error("overlayfs cannot be used: {0}")]
    OverlayUnsupported(String),
    #[error("failed to mount overlayfs on {}: {source}", path.display())]
    Overlay {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to unmount {}: {source}", path.display())]
    Unmount {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to prepare {}: {source}", path.display())]
    Target {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl MountError {
    /// True when the overlay driver cannot work here (a copy can).
    fn overlay_unavailable(&self) -> bool {
        matches!(
            self,
            MountError::OverlayUnsupported(_)
                | MountError::Overlay { .. }
                | MountError::Archive(ArchiveError::OverlayWhiteout { .. })
        )
    }

    /// True when a mount point was busy (a process has it open or is inside it).
    pub fn is_busy(&self) -> bool {
        matches!(self, MountError::Unmount { source, .. } if source.raw_os_error() == Some(Errno::BUSY.raw_os_error()))
    }
}

/// Mounts the image `what` names (a name, ID or ID prefix); returns where.
pub fn mount(store: &Store, what: &str, opts: &MountOptions) -> Result<Mounted, MountError> {
    // A write session keeps the layers in place while they are read (see `export`).
    let _session = store.ingest()?;
    let state = store.state()?;
    let image = resolve_image(&state, what)?;
    let manifest = image.record.manifest.clone();
    let mut mounts = store.mounts()?;
    tidy(&mounts);
    mount_one(store, &state, &mut mounts, &manifest, opts)
}

/// Mounts every image of the store (under the store: `dir` is not used).
pub fn mount_all(
    store: &Store,
    driver: Driver,
) -> Result<Vec<Result<Mounted, MountError>>, MountError> {
    let _session = store.ingest()?;
    let state = store.state()?;
    let mut mounts = store.mounts()?;
    tidy(&mounts);
    let opts = MountOptions { driver, dir: None };
    let manifests: Vec<Digest> = state
        .images()
        .iter()
        .map(|i| i.record.manifest.clone())
        .collect();
    Ok(manifests
        .iter()
        .map(|m| mount_one(store, &state, &mut mounts, m, &opts))
        .collect())
}

/// The mounted images, as recorded, with their names now.
pub fn mounted(store: &Store) -> Result<Vec<(String, MountRecord)>, MountError> {
    let records = store.mount_records()?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let state = store.state()?;
    Ok(records
        .into_iter()
        .map(|r| (display_name(&state, &r.manifest), r))
        .collect())
}

/// Unmounts what `what` names: an image (name, ID or ID prefix) or a mount point.
/// `force` detaches a busy overlay mount (it goes away when its last user leaves).
pub fn unmount(store: &Store, what: &str, force: bool) -> Result<Unmounted, MountError> {
    let state = store.state()?;
    let mut mounts = store.mounts()?;
    tidy(&mounts);
    let record = find_record(&state, &mounts, what)?;
    release(&mut mounts, &record, force)?;
    Ok(unmounted(&state, record))
}

/// Unmounts every mounted image; each result in turn.
pub fn unmount_all(
    store: &Store,
    force: bool,
) -> Result<Vec<Result<Unmounted, MountError>>, MountError> {
    if store.mount_records()?.is_empty() {
        return Ok(Vec::new());
    }
    let state = store.state()?;
    let mut mounts = store.mounts()?;
    tidy(&mounts);
    let records = mounts.records().to_vec();
    Ok(records
        .into_iter()
        .map(|r| {
            release(&mut mounts, &r, force)?;
            Ok(unmounted(&state, r))
        })
        .collect())
}

/// Releases the mounts of images no longer in the store (after `rmi` or `prune`):
/// a copy is deleted, an overlay unmounted. Each release with its outcome; an overlay
/// that is busy stays mounted and recorded, for `unmount PATH` later.
pub fn release_gone(store: &Store) -> Result<Vec<Result<Unmounted, MountError>>, MountError> {
    // Nothing is written (not even the lock file) when nothing is mounted.
    if store.mount_records()?.is_empty() {
        return Ok(Vec::new());
    }
    let state = store.state()?;
    let mut mounts = store.mounts()?;
    let gone: Vec<MountRecord> = mounts
        .records()
        .iter()
        .filter(|r| !state.has_entry(&r.manifest))
        .cloned()
        .collect();
    Ok(gone
        .into_iter()
        .map(|r| {
            release(&mut mounts, &r, false)?;
            Ok(unmounted(&state, r))
        })
        .collect())
}

fn unmounted(state: &State, record: MountRecord) -> Unmounted {
    let id = state
        .meta()
        .images
        .get(&record.manifest)
        .map(|r| r.config.clone());
    Unmounted {
        name: display_name(state, &record.manifest),
        id,
        record,
    }
}

/// The image's first name, or its short ID (the manifest's when it is gone).
fn display_name(state: &State, manifest: &Digest) -> String {
    match state.image(manifest) {
        Some(i) => match i.names.first() {
            Some(n) => n.to_string(),
            None => i.id().short_id().to_string(),
        },
        None => manifest.short_id().to_string(),
    }
}

fn mount_one(
    store: &Store,
    state: &State,
    mounts: &mut Mounts,
    manifest: &Digest,
    opts: &MountOptions,
) -> Result<Mounted, MountError> {
    let name = display_name(state, manifest);
    let dir = opts.dir.as_deref().map(absolute).transpose()?;
    if let Some(r) = mounts.find(manifest).cloned() {
        if let Some(d) = &dir
            && *d != r.path
        {
            return Err(MountError::MountedElsewhere {
                image: name,
                path: r.path,
            });
        }
        if r.driver == MountDriver::Overlay && !is_mount_point(&r.path) {
            // Recorded, but not mounted (a reboot, or a kill between the two).
            let image_dir = mounts.image_dir(manifest);
            let layers = image_layers(store, manifest)?.len();
            overlay_mount(&image_dir, layers, &r.path)?;
        }
        return Ok(Mounted {
            manifest: manifest.clone(),
            name,
            path: r.path,
            driver: r.driver,
            skipped: Vec::new(),
            reused: true,
            overlay_refused: None,
        });
    }
    if let Some(d) = &dir {
        check_target(d)?;
    }
    let (path, driver, skipped, overlay_refused) = match opts.driver {
        Driver::Copy => {
            let (p, s) = copy(store, mounts, manifest, dir.as_deref())?;
            (p, MountDriver::Copy, s, None)
        }
        Driver::Overlay => {
            overlay_possible()?;
            let (p, s) = overlay(store, mounts, manifest, dir.as_deref())?;
            (p, MountDriver::Overlay, s, None)
        }
        Driver::Auto => {
            match overlay_possible().and_then(|()| overlay(store, mounts, manifest, dir.as_deref()))
            {
                Ok((p, s)) => (p, MountDriver::Overlay, s, None),
                Err(e) if e.overlay_unavailable() => {
                    let (p, s) = copy(store, mounts, manifest, dir.as_deref())?;
                    (p, MountDriver::Copy, s, Some(e.to_string()))
                }
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Mounted {
        manifest: manifest.clone(),
        name,
        path,
        driver,
        skipped,
        reused: false,
        overlay_refused,
    })
}

/// `dir` made absolute (its parent resolved, so that records compare).
fn absolute(dir: &Path) -> Result<PathBuf, MountError> {
    let target = |source: io::Error| MountError::Target {
        path: dir.to_owned(),
        source,
    };
    if let Ok(p) = fs_err::canonicalize(dir) {
        return Ok(p);
    }
    let name = dir.file_name().ok_or_else(|| {
        target(io::Error::new(
            io::ErrorKind::InvalidInput,
            "name a directory",
        ))
    })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok(fs_err::canonicalize(&parent).map_err(target)?.join(name))
}

/// A mount target must be missing (its parent there) or an empty directory.
fn check_target(dir: &Path) -> Result<(), MountError> {
    match fs_err::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(MountError::Target {
            path: dir.to_owned(),
            source: e,
        }),
        Ok(m) if !m.is_dir() => Err(MountError::DirNotEmpty(dir.to_owned())),
        Ok(_) => {
            let mut entries = fs_err::read_dir(dir).map_err(|source| MountError::Target {
                path: dir.to_owned(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(MountError::DirNotEmpty(dir.to_owned()));
            }
            Ok(())
        }
    }
}

/// The copy driver: unpack into a temporary directory, then rename it into place.
fn copy(
    store: &Store,
    mounts: &mut Mounts,
    manifest: &Digest,
    dir: Option<&Path>,
) -> Result<(PathBuf, Vec<Skipped>), MountError> {
    let (tmp, root) = match dir {
        None => {
            let tmp = mounts.temp_dir()?;
            let root = tmp.join("rootfs");
            fs_err::create_dir(&root).map_err(StoreError::from)?;
            (tmp, root)
        }
        Some(d) => {
            // Beside the target, so that the rename stays in one filesystem.
            let parent = d.parent().unwrap_or(Path::new("/"));
            let tmp = tempfile::Builder::new()
                .prefix(".lade-mount-")
                .tempdir_in(parent)
                .map_err(|source| MountError::Target {
                    path: parent.to_owned(),
                    source,
                })?
                .keep();
            (tmp.clone(), tmp)
        }
    };
    let done = unpack(store, manifest, &root)
        .map_err(MountError::from)
        .and_then(|unpacked| {
            let path = match dir {
                None => mounts.publish(&tmp, manifest)?.join("rootfs"),
                Some(d) => {
                    // Replaces an empty directory in one step.
                    fs_err::rename(&tmp, d).map_err(|source| MountError::Target {
                        path: d.to_owned(),
                        source,
                    })?;
                    d.to_owned()
                }
            };
            Ok((path, unpacked.skipped))
        });
    let (path, skipped) = match done {
        Ok(v) => v,
        Err(e) => {
            let _ = remove_mount_tree(&tmp);
            return Err(e);
        }
    };
    mounts.insert(MountRecord {
        manifest: manifest.clone(),
        driver: MountDriver::Copy,
        path: path.clone(),
    })?;
    Ok((path, skipped))
}

/// Whether overlay is worth trying: root, and a kernel that knows overlayfs.
fn overlay_possible() -> Result<(), MountError> {
    let root = rustix::process::geteuid().is_root();
    if !root {
        return Err(MountError::OverlayUnsupported(
            "mounting takes root privileges".into(),
        ));
    }
    let known = fs_err::read_to_string("/proc/filesystems")
        .is_ok_and(|f| f.lines().any(|l| l.trim_end().ends_with("\toverlay")));
    if !known {
        return Err(MountError::OverlayUnsupported(
            "the kernel has no overlay filesystem".into(),
        ));
    }
    Ok(())
}

/// The overlay driver: every layer into `layers/<n>/`, published, recorded, mounted.
fn overlay(
    store: &Store,
    mounts: &mut Mounts,
    manifest: &Digest,
    dir: Option<&Path>,
) -> Result<(PathBuf, Vec<Skipped>), MountError> {
    let layers = image_layers(store, manifest)?;
    if layers.is_empty() {
        return Err(MountError::OverlayUnsupported(
            "the image has no layers".into(),
        ));
    }
    let tmp = mounts.temp_dir()?;
    let unpacked = (|| -> Result<Vec<Skipped>, MountError> {
        let mut skipped = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let d = tmp.join("layers").join(i.to_string());
            fs_err::create_dir_all(&d).map_err(StoreError::from)?;
            // The layers below, nearest first.
            let lower: Vec<PathBuf> = dirs.iter().rev().cloned().collect();
            skipped.extend(unpack_layer(store, i, layer, &d, &lower)?.skipped);
            dirs.push(d);
        }
        // overlayfs takes two lower directories at least: an empty one at the bottom.
        fs_err::create_dir(tmp.join("layers/base")).map_err(StoreError::from)?;
        fs_err::create_dir(tmp.join("rootfs")).map_err(StoreError::from)?;
        Ok(skipped)
    })();
    let skipped = match unpacked {
        Ok(s) => s,
        Err(e) => {
            let _ = remove_mount_tree(&tmp);
            return Err(e);
        }
    };
    let image_dir = match mounts.publish(&tmp, manifest) {
        Ok(d) => d,
        Err(e) => {
            let _ = remove_mount_tree(&tmp);
            return Err(e.into());
        }
    };
    let path = match dir {
        Some(d) => d.to_owned(),
        None => image_dir.join("rootfs"),
    };
    let record = MountRecord {
        manifest: manifest.clone(),
        driver: MountDriver::Overlay,
        path: path.clone(),
    };
    let mounted = (|| -> Result<(), MountError> {
        if dir.is_some() && fs_err::symlink_metadata(&path).is_err() {
            fs_err::create_dir(&path).map_err(|source| MountError::Target {
                path: path.clone(),
                source,
            })?;
        }
        // Recorded before it is mounted: a mount is never without its record.
        mounts.insert(record.clone())?;
        overlay_mount(&image_dir, layers.len(), &path)
    })();
    if let Err(e) = mounted {
        let _ = mounts.remove(manifest);
        if let Ok(Some(t)) = mounts.unpublish(manifest) {
            let _ = remove_mount_tree(&t);
        }
        return Err(e);
    }
    Ok((path, skipped))
}

/// `mount -t overlay -o ro,nodev,nosuid,lowerdir=<top>:…:<bottom>:base overlay TARGET`
fn overlay_mount(image_dir: &Path, layers: usize, target: &Path) -> Result<(), MountError> {
    let mut lower: Vec<String> = Vec::with_capacity(layers + 1);
    let dirs = (0..layers)
        .rev()
        .map(|i| image_dir.join("layers").join(i.to_string()))
        .chain([image_dir.join("layers/base")]);
    for d in dirs {
        let s = d.to_str().unwrap_or_default().to_owned();
        if s.is_empty() || s.contains([':', ',', '\\']) {
            return Err(MountError::OverlayUnsupported(format!(
                "the store's path {} has a character overlayfs options cannot hold",
                image_dir.display()
            )));
        }
        lower.push(s);
    }
    let data = format!("lowerdir={}", lower.join(":"));
    // The kernel copies at most one page of options.
    if data.len() >= 4000 {
        return Err(MountError::OverlayUnsupported(
            "too many layers for one mount".into(),
        ));
    }
    let data = CString::new(data).map_err(|e| MountError::OverlayUnsupported(e.to_string()))?;
    use rustix::mount::MountFlags;
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        MountFlags::RDONLY | MountFlags::NODEV | MountFlags::NOSUID,
        data.as_c_str(),
    )
    .map_err(|e| MountError::Overlay {
        path: target.to_owned(),
        source: e.into(),
    })
}

/// True when something is mounted at `path` (it is on another device than its parent).
fn is_mount_point(path: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return true;
    };
    match (fs_err::metadata(path), fs_err::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

/// The record `what` names: an image's, or the one mounted at that path.
fn find_record(state: &State, mounts: &Mounts, what: &str) -> Result<MountRecord, MountError> {
    let image = resolve_image(state, what);
    if let Ok(image) = &image
        && let Some(r) = mounts.find(&image.record.manifest)
    {
        return Ok(r.clone());
    }
    // Records keep the path as it was joined (a store reached through a symbolic link
    // or `..` is not resolved): compare both resolved.
    if let Ok(p) = fs_err::canonicalize(what)
        && let Some(r) = mounts
            .records()
            .iter()
            .find(|r| r.path == p || fs_err::canonicalize(&r.path).is_ok_and(|rp| rp == p))
    {
        return Ok(r.clone());
    }
    match image {
        Ok(i) => Err(MountError::NotMounted(display_name(
            state,
            &i.record.manifest,
        ))),
        Err(_) if Path::new(what).exists() => Err(MountError::NotMounted(what.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Unmounts and deletes what a record holds, then forgets it.
fn release(mounts: &mut Mounts, record: &MountRecord, force: bool) -> Result<(), MountError> {
    let manifest = &record.manifest;
    let in_store = record.path.starts_with(mounts.image_dir(manifest));
    if record.driver == MountDriver::Overlay && is_mount_point(&record.path) {
        use rustix::mount::UnmountFlags;
        let flags = if force {
            UnmountFlags::DETACH
        } else {
            UnmountFlags::empty()
        };
        rustix::mount::unmount(&record.path, flags).map_err(|e| MountError::Unmount {
            path: record.path.clone(),
            source: e.into(),
        })?;
    }
    if record.driver == MountDriver::Copy && !in_store && record.path.is_dir() {
        // The directory named at mount time stays, empty, as after umount.
        empty_mount_dir(&record.path)?;
    }
    let moved = mounts.unpublish(manifest)?;
    mounts.remove(manifest)?;
    if let Some(t) = moved {
        remove_mount_tree(&t)?;
    }
    Ok(())
}

/// Deletes the leftovers of interrupted mounts and unmounts (under the lock, nothing
/// else is working on them). Best effort: what cannot go now goes next time.
fn tidy(mounts: &Mounts) {
    for dir in mounts.leftovers().unwrap_or_default() {
        let rootfs = dir.join("rootfs");
        if is_mount_point(&rootfs) {
            let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        }
        if !is_mount_point(&rootfs) {
            let _ = remove_mount_tree(&dir);
        }
    }
}
