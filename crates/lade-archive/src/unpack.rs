//! An image's root filesystem unpacked onto disk (`lade image mount`): its layers
//! applied in order into one directory, whiteouts and opaque directories honoured
//! ([`unpack`]), or one layer into a directory of its own in overlayfs's form
//! ([`unpack_layer`]: a whiteout becomes a character device 0/0, an opaque directory
//! gets `trusted.overlay.opaque=y`).
//!
//! Layers are untrusted. Every path is resolved here, one component at a time from a
//! directory handle (`openat` with `O_NOFOLLOW`), never by the kernel from a joined
//! string, so nothing is ever written outside the target:
//! - entries with `..` or an absolute path are refused (as `export` refuses them), and
//!   so are hard links whose target is absolute or climbs out;
//! - a symbolic link met on the way to an entry is followed as if the target were `/`
//!   (as a process inside the container sees it, and as extraction in a chroot does):
//!   a layer with `a -> /tmp/x` and then `a/file` writes `TARGET/tmp/x/file`;
//! - the entry itself is never followed: whatever is at its place is removed first,
//!   files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`, hard links never
//!   dereference their target (`linkat` without `AT_SYMLINK_FOLLOW`);
//! - device files are skipped and reported ([`Unpacked::skipped`]), even as root: a
//!   view to look inside an image does not need them, and a readable block device
//!   under the store would be a hole. (Overlay whiteouts, 0/0, are the one exception.)
//! - each layer's uncompressed bytes are hashed as they stream past and checked
//!   against the config's `diff_ids` once the layer is applied; on a mismatch the
//!   caller throws the whole directory away.
//!
//! Memory stays bounded: one layer streams at a time, and what is kept is one set of
//! the paths the current layer wrote (whiteouts and opaque markers apply to lower
//! layers only) and the mode of each directory.
//!
//! A read-only copy ([`unpack`]) loses every write bit and the setuid and setgid bits
//! (directories at the end, so that unpacking can write into them meanwhile): a view,
//! not a protection; root can still write there. Owners are kept when the process may
//! `chown` (root) and left as the process otherwise. Extended attributes are not
//! restored.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use lade_oci::{ImageConfig, Manifest};
use lade_reference::Digest;
use lade_store::{Store, StoreError};
use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid};
use rustix::io::Errno;
use sha2::Digest as _;

use crate::compression::decompressed;
use crate::{ArchiveError, path};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// The deepest an entry may be nested (Linux's PATH_MAX allows about 2000; real
/// images stay under 30). Bounds the open directory handles and the recursion.
const MAX_DEPTH: usize = 256;
/// Symbolic links followed while resolving one path, as Linux's limit.
const MAX_LINKS: usize = 40;

/// An entry that was not unpacked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub layer: Digest,
    pub path: String,
    pub why: &'static str,
}

/// What an unpack left out.
#[derive(Debug, Default)]
pub struct Unpacked {
    pub skipped: Vec<Skipped>,
}

/// One layer of an image: its blob, and the digest of its uncompressed tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLayer {
    pub blob: Digest,
    pub diff_id: Digest,
}

/// The layers of the image whose manifest is `manifest`, bottom first, each with the
/// diff ID its config gives it.
pub fn image_layers(store: &Store, manifest: &Digest) -> Result<Vec<ImageLayer>, ArchiveError> {
    let bytes = store.read_blob(manifest)?;
    let bad = |reason: String| StoreError::BadManifest {
        digest: manifest.clone(),
        reason,
    };
    let m = match Manifest::parse(&bytes, None).map_err(|e| bad(e.to_string()))? {
        Manifest::Image(m) => m,
        Manifest::Index(_) => return Err(bad("it is an index, not an image".into()).into()),
    };
    let config: ImageConfig = serde_json::from_slice(&store.read_blob(&m.config.digest)?)
        .map_err(|e| bad(format!("its config is not valid JSON: {e}")))?;
    let diff_ids = config.rootfs.diff_ids;
    if diff_ids.len() != m.layers.len() {
        return Err(ArchiveError::LayerCount {
            layers: m.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    Ok(m.layers
        .into_iter()
        .zip(diff_ids)
        .map(|(l, diff_id)| ImageLayer {
            blob: l.digest,
            diff_id,
        })
        .collect())
}

/// Unpacks the image whose manifest is `manifest` into `dir` (an existing, empty
/// directory) as a read-only copy of its root filesystem. On an error `dir` holds
/// part of the image: the caller removes it.
pub fn unpack(store: &Store, manifest: &Digest, dir: &Path) -> Result<Unpacked, ArchiveError> {
    let layers = image_layers(store, manifest)?;
    let mut tree = Tree::open(dir, Form::ReadOnlyCopy)?;
    let mut out = Unpacked::default();
    for (index, layer) in layers.iter().enumerate() {
        tree.apply(store, index, layer, &mut out.skipped)?;
    }
    tree.finish()?;
    Ok(out)
}

/// Unpacks one layer (number `index` of its image) into `dir` (an existing, empty
/// directory) in overlayfs's form, for a `lowerdir`. `lower` are the directories of
/// the layers below, nearest first: a directory the layer does not list but needs
/// for its entries takes its mode, owner and time from there, as overlayfs shows the
/// upper one. Fails with [`ArchiveError::OverlayWhiteout`] when whiteouts cannot be
/// written so.
pub fn unpack_layer(
    store: &Store,
    index: usize,
    layer: &ImageLayer,
    dir: &Path,
    lower: &[PathBuf],
) -> Result<Unpacked, ArchiveError> {
    let mut tree = Tree::open(dir, Form::OverlayLayer)?;
    let mut out = Unpacked::default();
    tree.apply(store, index, layer, &mut out.skipped)?;
    tree.inherit(lower);
    tree.finish()?;
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// All layers in one tree, whiteouts applied, write bits cleared.
    ReadOnlyCopy,
    /// One layer, whiteouts kept as overlayfs reads them, modes as they are.
    OverlayLayer,
}

/// The header fields an entry gives what it creates.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: Option<u64>,
    gid: Option<u64>,
    mtime: i64,
}

/// A directory's identity on disk: (device, inode).
type DirKey = (u64, u64);

/// A directory's last version, applied at the end.
#[derive(Debug, Clone, Copy)]
struct DirMeta {
    mode: u32,
    mtime: Option<i64>,
    /// Set for directories that inherit from a lower layer (entries chown at once).
    owner: Option<(u32, u32)>,
}

/// The tree being written.
#[derive(Debug)]
struct Tree {
    root: OwnedFd,
    root_path: PathBuf,
    form: Form,
    /// Directories by (device, inode): the mode and time to give them at the end.
    dirs: HashMap<DirKey, DirMeta>,
    /// Directories created because an entry needed them, by their real path.
    implicit: Vec<(Vec<Vec<u8>>, DirKey)>,
    /// False once `chown` was refused (not root): owners are then left alone.
    chown: bool,
    buf: Vec<u8>,
}

impl Tree {
    fn open(dir: &Path, form: Form) -> Result<Self, ArchiveError> {
        let unpack_err = |source: io::Error| ArchiveError::Unpack {
            path: dir.to_owned(),
            source,
        };
        let root = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| unpack_err(e.into()))?;
        let mut tree = Self {
            root,
            root_path: dir.to_owned(),
            form,
            dirs: HashMap::new(),
            implicit: Vec::new(),
            chown: true,
            buf: vec![0; 256 * 1024],
        };
        // The root's mode when no layer has an entry for it.
        let fd = tree.root.try_clone().map_err(unpack_err)?;
        tree.note_dir(&fd, 0o755, None).map_err(unpack_err)?;
        Ok(tree)
    }

    /// Applies one layer, then checks its diff ID.
    fn apply(
        &mut self,
        store: &Store,
        index: usize,
        layer: &ImageLayer,
        skipped: &mut Vec<Skipped>,
    ) -> Result<(), ArchiveError> {
        let digest = &layer.blob;
        let bad = |source: io::Error| ArchiveError::BadLayer {
            layer: digest.clone(),
            source,
        };
        let file = store.open_blob(digest)?;
        let (reader, _, _) =
            decompressed(io::BufReader::with_capacity(256 * 1024, file)).map_err(bad)?;
        let mut hashed = Hashed {
            inner: reader,
            hasher: sha2::Sha256::new(),
        };
        // Paths this layer wrote: its own whiteouts and opaque markers spare them.
        let mut written: HashSet<String> = HashSet::new();
        {
            let mut archive = tar::Archive::new(&mut hashed);
            for entry in archive.entries().map_err(bad)? {
                let mut entry = entry.map_err(bad)?;
                self.entry(digest, &mut entry, &mut written, skipped)?;
            }
        }
        // What follows the end-of-archive blocks counts in the diff ID too.
        io::copy(&mut hashed, &mut io::sink()).map_err(bad)?;
        let actual = Digest::from_sha256_bytes(&hashed.hasher.finalize().into());
        if actual != layer.diff_id {
            return Err(ArchiveError::LayerDiffId {
                index,
                layer: digest.clone(),
                expected: Box::new(layer.diff_id.clone()),
                actual: Box::new(actual),
            });
        }
        Ok(())
    }

    /// Applies one entry of a layer.
    fn entry<R: Read>(
        &mut self,
        layer: &Digest,
        entry: &mut tar::Entry<'_, R>,
        written: &mut HashSet<String>,
        skipped: &mut Vec<Skipped>,
    ) -> Result<(), ArchiveError> {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        if matches!(kind, T::XGlobalHeader | T::XHeader) {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        let hostile = |why: &str| ArchiveError::HostileLayer {
            layer: layer.clone(),
            path: String::from_utf8_lossy(&raw).into_owned(),
            why: why.to_owned(),
        };
        if kind == T::GNUSparse {
            return Err(hostile("is a sparse file, which lade cannot unpack yet"));
        }
        let p = path::normalize(&raw).map_err(hostile)?;
        if p.split('/').count() > MAX_DEPTH {
            return Err(hostile("is nested too deeply"));
        }
        let h = entry.header();
        let meta = Meta {
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            uid: h.uid().ok(),
            gid: h.gid().ok(),
            mtime: h.mtime().map_or(0, |t| i64::try_from(t).unwrap_or(0)),
        };
        if p.is_empty() {
            // The root directory: only its metadata.
            if kind.is_dir() {
                let fd = self.root.try_clone().map_err(|e| self.err("", e))?;
                self.chown_fd(&fd, &meta).map_err(|e| self.err("", e))?;
                self.note_dir(&fd, meta.mode, Some(meta.mtime))
                    .map_err(|e| self.err("", e))?;
            }
            return Ok(());
        }
        let name = path::file_name(&p);
        let dir = path::parent(&p);
        if name == OPAQUE {
            return self.opaque(dir, written);
        }
        if name.starts_with(".wh..wh.") {
            // AUFS bookkeeping (hard link directories), never content.
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(hostile("is a whiteout of nothing"));
            }
            let victim = join(dir, hidden);
            return self.whiteout(&victim, written);
        }
        let skip = |why| Skipped {
            layer: layer.clone(),
            path: p.clone(),
            why,
        };
        let done = match kind {
            T::Directory => self.dir(&p, &meta),
            T::Regular | T::Continuous => self.file(&p, &meta, entry, layer, written)?,
            T::Symlink => {
                let Some(target) = entry.link_name_bytes().map(|t| t.into_owned()) else {
                    return Err(hostile("is a symbolic link without a target"));
                };
                self.symlink(&p, &target, &meta, written)
            }
            T::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                let target = path::link_target(&p, &target, false).map_err(hostile)?;
                self.hard_link(layer, &p, &target, written)?;
                // Whiteouts later in this layer apply to lower layers only.
                written.insert(p);
                return Ok(());
            }
            T::Fifo => self.fifo(&p, &meta, written),
            T::Char | T::Block => {
                skipped.push(skip("is a device file, which lade never creates"));
                return Ok(());
            }
            _ => {
                skipped.push(skip("has an entry type lade does not unpack"));
                return Ok(());
            }
        };
        done.map_err(|e| self.err(&p, e))?;
        written.insert(p);
        Ok(())
    }

    fn err(&self, rel: &str, source: io::Error) -> ArchiveError {
        ArchiveError::Unpack {
            path: self.root_path.join(rel),
            source,
        }
    }

    /// Opens the directory `rel` of the tree. Symbolic links on the way are followed
    /// as if the tree's root were `/`; `..` stops at the root. Missing directories are
    /// created when `create`, else the answer is `None`.
    fn open_dir(&mut self, rel: &str, create: bool) -> io::Result<Option<OwnedFd>> {
        let mut stack: Vec<OwnedFd> = Vec::new();
        // The real names of what `stack` holds.
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut todo: VecDeque<Vec<u8>> = components(rel.as_bytes());
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == b".." {
                stack.pop();
                names.pop();
                continue;
            }
            let at = stack.last().unwrap_or(&self.root);
            let name = OsStr::from_bytes(&c);
            let opened = match open_dir_at(at, name) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    let fd = open_dir_at(at, name)?;
                    let key = self.note_dir(&fd, 0o755, None)?;
                    let mut real = names.clone();
                    real.push(c.clone());
                    self.implicit.push((real, key));
                    fd
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let st = rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)?;
                    if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                        return Err(io::Error::new(
                            io::ErrorKind::NotADirectory,
                            format!("{:?} is not a directory", String::from_utf8_lossy(&c)),
                        ));
                    }
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::LOOP.into());
                    }
                    let target = rustix::fs::readlinkat(at, name, Vec::new())?.into_bytes();
                    if target.starts_with(b"/") {
                        stack.clear();
                        names.clear();
                    }
                    for t in components(&target).into_iter().rev() {
                        todo.push_front(t);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if stack.len() >= MAX_DEPTH {
                return Err(io::Error::other("directories are nested too deeply"));
            }
            stack.push(opened);
            names.push(c);
        }
        match stack.pop() {
            Some(fd) => Ok(Some(fd)),
            None => self.root.try_clone().map(Some),
        }
    }

    /// The directory an entry goes in, created when missing.
    fn parent_of(&mut self, rel: &str) -> io::Result<OwnedFd> {
        self.open_dir(path::parent(rel), true)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    /// Records the mode and time a directory gets at the end.
    fn note_dir(&mut self, fd: &OwnedFd, mode: u32, mtime: Option<i64>) -> io::Result<DirKey> {
        let st = rustix::fs::fstat(fd)?;
        let key = (st.st_dev, st.st_ino);
        self.dirs.insert(
            key,
            DirMeta {
                mode,
                mtime,
                owner: None,
            },
        );
        Ok(key)
    }

    /// Directories created only because entries needed them take the metadata of
    /// the same directory in the nearest lower layer that has it. Walked by handle,
    /// without following links; a whiteout or a file on the way ends the search.
    fn inherit(&mut self, lower: &[PathBuf]) {
        for (names, key) in std::mem::take(&mut self.implicit) {
            // An entry for the directory came later: it wins.
            if self.dirs.get(&key).is_some_and(|m| m.mtime.is_some()) {
                continue;
            }
            for dir in lower {
                let found = rustix::fs::open(
                    dir,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .and_then(|mut fd| {
                    for n in &names {
                        fd = open_dir_at(&fd, n.as_slice())?;
                    }
                    rustix::fs::fstat(&fd)
                });
                match found {
                    Ok(st) => {
                        self.dirs.insert(
                            key,
                            DirMeta {
                                mode: st.st_mode & 0o7777,
                                mtime: Some(st.st_mtime),
                                owner: self.chown.then_some((st.st_uid, st.st_gid)),
                            },
                        );
                        break;
                    }
                    Err(Errno::NOENT) => {}
                    Err(_) => break,
                }
            }
        }
    }

    /// Makes room for a new non-directory `name` in `parent`: what is there goes (a
    /// directory with what lower layers put in it).
    fn clear(&mut self, parent: &OwnedFd, rel: &str, written: &HashSet<String>) -> io::Result<()> {
        let name = path::file_name(rel);
        match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                if self.remove(parent, rel, OsStr::new(name), written)? {
                    Ok(())
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::DirectoryNotEmpty,
                        "the entry replaces a directory its own layer filled",
                    ))
                }
            }
            Ok(_) => Ok(rustix::fs::unlinkat(parent, name, AtFlags::empty())?),
        }
    }

    /// Removes `name` (at `rel`) from `parent`, and all under it, but what `keep` (the
    /// current layer's paths) holds. True when it is gone.
    fn remove(
        &mut self,
        parent: &OwnedFd,
        rel: &str,
        name: &OsStr,
        keep: &HashSet<String>,
    ) -> io::Result<bool> {
        if keep.contains(rel) {
            return Ok(false);
        }
        let st = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => return Ok(true),
            other => other?,
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            rustix::fs::unlinkat(parent, name, AtFlags::empty())?;
            return Ok(true);
        }
        let fd = open_dir_at(parent, name)?;
        let all = self.remove_children(&fd, rel, keep)?;
        if all {
            rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?;
        }
        Ok(all)
    }

    /// Removes what is in the directory `fd` (at `rel`) but what `keep` holds. True
    /// when it is empty.
    fn remove_children(
        &mut self,
        fd: &OwnedFd,
        rel: &str,
        keep: &HashSet<String>,
    ) -> io::Result<bool> {
        let mut all = true;
        for name in list(fd)? {
            let child = join(rel, &String::from_utf8_lossy(&name));
            all &= self.remove(fd, &child, OsStr::from_bytes(&name), keep)?;
        }
        Ok(all)
    }

    /// `.wh.NAME`: removes what lower layers wrote at `victim`.
    fn whiteout(&mut self, victim: &str, written: &HashSet<String>) -> Result<(), ArchiveError> {
        let name = path::file_name(victim);
        if self.form == Form::OverlayLayer {
            let parent = self.parent_of(victim).map_err(|e| self.err(victim, e))?;
            self.clear(&parent, victim, written)
                .map_err(|e| self.err(victim, e))?;
            return rustix::fs::mknodat(
                &parent,
                name,
                FileType::CharacterDevice,
                Mode::empty(),
                rustix::fs::makedev(0, 0),
            )
            .map_err(|e| ArchiveError::OverlayWhiteout {
                path: self.root_path.join(victim),
                source: e.into(),
            });
        }
        let parent = self
            .open_dir(path::parent(victim), false)
            .map_err(|e| self.err(victim, e))?;
        if let Some(parent) = parent {
            self.remove(&parent, victim, OsStr::new(name), written)
                .map_err(|e| self.err(victim, e))?;
        }
        Ok(())
    }

    /// `DIR/.wh..wh..opq`: hides what lower layers wrote in `dir`.
    fn opaque(&mut self, dir: &str, written: &HashSet<String>) -> Result<(), ArchiveError> {
        if self.form == Form::OverlayLayer {
            let fd = self
                .open_dir(dir, true)
                .map_err(|e| self.err(dir, e))?
                .ok_or_else(|| self.err(dir, io::ErrorKind::NotFound.into()))?;
            return rustix::fs::fsetxattr(
                &fd,
                "trusted.overlay.opaque",
                b"y",
                rustix::fs::XattrFlags::empty(),
            )
            .map_err(|e| ArchiveError::OverlayWhiteout {
                path: self.root_path.join(dir),
                source: e.into(),
            });
        }
        if let Some(fd) = self.open_dir(dir, false).map_err(|e| self.err(dir, e))? {
            self.remove_children(&fd, dir, written)
                .map_err(|e| self.err(dir, e))?;
        }
        Ok(())
    }

    fn dir(&mut self, rel: &str, meta: &Meta) -> io::Result<()> {
        let parent = self.parent_of(rel)?;
        let name = path::file_name(rel);
        match rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
            Ok(_) => rustix::fs::unlinkat(&parent, name, AtFlags::empty())?,
            Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        match rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let fd = open_dir_at(&parent, name)?;
        self.chown_fd(&fd, meta)?;
        self.note_dir(&fd, meta.mode, Some(meta.mtime)).map(drop)
    }

    /// A regular file; returns the result of writing it (a truncated layer is the
    /// layer's error, not the tree's).
    fn file<R: Read>(
        &mut self,
        rel: &str,
        meta: &Meta,
        entry: &mut tar::Entry<'_, R>,
        layer: &Digest,
        written: &HashSet<String>,
    ) -> Result<io::Result<()>, ArchiveError> {
        let fd = match self.create_file(rel, written) {
            Ok(fd) => fd,
            Err(e) => return Ok(Err(e)),
        };
        let want = entry.size();
        let mut got = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ArchiveError::BadLayer {
                        layer: layer.clone(),
                        source,
                    });
                }
            };
            got += n as u64;
            if let Err(e) = write_all(&fd, &self.buf[..n]) {
                return Ok(Err(e));
            }
        }
        if got != want {
            return Err(ArchiveError::BadLayer {
                layer: layer.clone(),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{rel:?} is truncated"),
                ),
            });
        }
        Ok(self.finish_file(&fd, meta))
    }

    fn create_file(&mut self, rel: &str, written: &HashSet<String>) -> io::Result<OwnedFd> {
        let parent = self.parent_of(rel)?;
        self.clear(&parent, rel, written)?;
        Ok(rustix::fs::openat(
            &parent,
            path::file_name(rel),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?)
    }

    fn finish_file(&mut self, fd: &OwnedFd, meta: &Meta) -> io::Result<()> {
        // chown first: it clears setuid bits that chmod then sets.
        self.chown_fd(fd, meta)?;
        rustix::fs::fchmod(fd, Mode::from_raw_mode(self.mode(meta.mode)))?;
        rustix::fs::futimens(fd, &times(meta.mtime))?;
        Ok(())
    }

    fn symlink(
        &mut self,
        rel: &str,
        target: &[u8],
        meta: &Meta,
        written: &HashSet<String>,
    ) -> io::Result<()> {
        let parent = self.parent_of(rel)?;
        self.clear(&parent, rel, written)?;
        let name = path::file_name(rel);
        rustix::fs::symlinkat(target, &parent, name)?;
        self.chown_at(&parent, name, meta)?;
        rustix::fs::utimensat(&parent, name, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    fn fifo(&mut self, rel: &str, meta: &Meta, written: &HashSet<String>) -> io::Result<()> {
        let parent = self.parent_of(rel)?;
        self.clear(&parent, rel, written)?;
        let name = path::file_name(rel);
        rustix::fs::mknodat(&parent, name, FileType::Fifo, Mode::from_raw_mode(0o600), 0)?;
        self.chown_at(&parent, name, meta)?;
        // By name: it was just made, in a directory only this process writes.
        rustix::fs::chmodat(
            &parent,
            name,
            Mode::from_raw_mode(self.mode(meta.mode)),
            AtFlags::empty(),
        )?;
        rustix::fs::utimensat(&parent, name, &times(meta.mtime), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    /// A hard link at `rel` to `target` (a path inside the tree, resolved as any other).
    fn hard_link(
        &mut self,
        layer: &Digest,
        rel: &str,
        target: &str,
        written: &HashSet<String>,
    ) -> Result<(), ArchiveError> {
        let missing = || ArchiveError::HostileLayer {
            layer: layer.clone(),
            path: rel.to_owned(),
            why: format!("is a hard link to {target:?}, which is not in the image"),
        };
        if rel == target {
            return Ok(());
        }
        let src = self
            .open_dir(path::parent(target), false)
            .map_err(|e| self.err(target, e))?
            .ok_or_else(missing)?;
        let src_name = path::file_name(target);
        match rustix::fs::statat(&src, src_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Err(ArchiveError::HostileLayer {
                    layer: layer.clone(),
                    path: rel.to_owned(),
                    why: format!("is a hard link to the directory {target:?}"),
                });
            }
            Ok(_) => {}
            Err(Errno::NOENT) => return Err(missing()),
            Err(e) => return Err(self.err(target, e.into())),
        }
        match self.link(&src, src_name, rel, written) {
            // Clearing the way removed the target itself (an alias of `rel`).
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing()),
            Err(e) => Err(self.err(rel, e)),
            Ok(()) => Ok(()),
        }
    }

    fn link(
        &mut self,
        src: &OwnedFd,
        src_name: &str,
        rel: &str,
        written: &HashSet<String>,
    ) -> io::Result<()> {
        let parent = self.parent_of(rel)?;
        self.clear(&parent, rel, written)?;
        rustix::fs::linkat(
            src,
            src_name,
            &parent,
            path::file_name(rel),
            AtFlags::empty(),
        )?;
        Ok(())
    }

    fn chown_fd(&mut self, fd: &OwnedFd, meta: &Meta) -> io::Result<()> {
        let Some((uid, gid)) = self.owner(meta) else {
            return Ok(());
        };
        self.chown_result(rustix::fs::fchown(fd, Some(uid), Some(gid)))
    }

    fn chown_at(&mut self, parent: &OwnedFd, name: &str, meta: &Meta) -> io::Result<()> {
        let Some((uid, gid)) = self.owner(meta) else {
            return Ok(());
        };
        self.chown_result(rustix::fs::chownat(
            parent,
            name,
            Some(uid),
            Some(gid),
            AtFlags::SYMLINK_NOFOLLOW,
        ))
    }

    fn owner(&self, meta: &Meta) -> Option<(Uid, Gid)> {
        if !self.chown {
            return None;
        }
        let uid = u32::try_from(meta.uid?).ok().filter(|u| *u != u32::MAX)?;
        let gid = u32::try_from(meta.gid?).ok().filter(|g| *g != u32::MAX)?;
        Some((Uid::from_raw(uid), Gid::from_raw(gid)))
    }

    fn chown_result(&mut self, r: rustix::io::Result<()>) -> io::Result<()> {
        match r {
            Ok(()) => Ok(()),
            // Not root: keep our own owner for every entry.
            Err(Errno::PERM) => {
                self.chown = false;
                Ok(())
            }
            // An ID outside this user namespace: this entry keeps ours, the others
            // still get theirs.
            Err(Errno::INVAL) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn mode(&self, mode: u32) -> u32 {
        match self.form {
            Form::ReadOnlyCopy => mode & 0o1555,
            Form::OverlayLayer => mode & 0o7777,
        }
    }

    /// Gives every directory its mode and time, deepest first.
    fn finish(&mut self) -> Result<(), ArchiveError> {
        let root = self.root.try_clone().map_err(|e| self.err("", e))?;
        self.finish_dir(&root, 0).map_err(|e| self.err("", e))
    }

    fn finish_dir(&self, fd: &OwnedFd, depth: usize) -> io::Result<()> {
        if depth <= MAX_DEPTH {
            for name in list(fd)? {
                let st = rustix::fs::statat(fd, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    let child = open_dir_at(fd, OsStr::from_bytes(&name))?;
                    self.finish_dir(&child, depth + 1)?;
                }
            }
        }
        let st = rustix::fs::fstat(fd)?;
        let meta = self
            .dirs
            .get(&(st.st_dev, st.st_ino))
            .copied()
            .unwrap_or(DirMeta {
                mode: 0o755,
                mtime: None,
                owner: None,
            });
        if let Some((uid, gid)) = meta.owner {
            let _ = rustix::fs::fchown(fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        }
        rustix::fs::fchmod(fd, Mode::from_raw_mode(self.mode(meta.mode)))?;
        if let Some(t) = meta.mtime {
            rustix::fs::futimens(fd, &times(t))?;
        }
        Ok(())
    }
}

fn open_dir_at<P: rustix::path::Arg>(at: impl AsFd, name: P) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The names in a directory (without `.` and `..`).
fn list(fd: &OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut dir = rustix::fs::Dir::read_from(fd)?;
    let mut out = Vec::new();
    while let Some(entry) = dir.read() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            out.push(name);
        }
    }
    Ok(out)
}

/// The components of a path, without empty ones and `.`.
fn components(path: &[u8]) -> VecDeque<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn times(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

fn write_all(fd: &OwnedFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Hashes what is read through it.
struct Hashed<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
