//! An image's root filesystem as one tar stream: its layers applied in order, as a
//! container runtime would unpack them, with nothing written to disk.
//!
//! Two passes over the layers (each decompressed twice, never stored):
//!
//! 1. Headers only. Every path gets its winner: the last entry that wrote it, unless
//!    a later layer deleted it with a whiteout (`.wh.NAME`), hid it under an opaque
//!    directory (`.wh..wh..opq`), or replaced the directory it was in with a file.
//!    Whiteouts apply to lower layers only (OCI image spec, "Whiteouts"); AUFS's other
//!    `.wh..wh.*` files are bookkeeping and dropped.
//! 2. The layers again, in order; each winner is written as it passes. A directory is
//!    written where it first appeared (so parents come before children) with the
//!    metadata of its last version. A hard link whose target was deleted or replaced
//!    in a later layer takes the target's content: the target's entry is written under
//!    the link's name, at the target's place in the stream.
//!
//! Headers are rebuilt (GNU format, long names as GNU extensions), keeping mode,
//! owner, times, names of owner and group, device numbers, link targets, and extended
//! attributes (PAX `SCHILY.xattr.*`).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};

use lade_oci::Manifest;
use lade_reference::Digest;
use lade_store::{Store, StoreError};

use crate::compression::decompressed;
use crate::{ArchiveError, path};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Where an entry is: (layer, entry number within the layer).
type Pos = (usize, u64);

/// The header fields a directory's last version gives it.
#[derive(Debug, Clone)]
struct DirMeta {
    header: tar::Header,
    xattrs: Vec<(String, Vec<u8>)>,
}

/// The current winner of a path during pass 1.
#[derive(Debug, Clone)]
struct Node {
    pos: Pos,
    is_dir: bool,
    /// For a directory: where its current unbroken line of versions began.
    first: Pos,
    dir_meta: Option<DirMeta>,
    /// For a hard link: its target and the target's entry in the same layer, if any.
    link: Option<(String, Option<Pos>)>,
}

/// What pass 2 does at one position.
#[derive(Debug, Clone)]
enum Emit {
    /// Write the entry under this path (a link: to this target, when given).
    Entry {
        path: String,
        link_target: Option<String>,
    },
    /// Write a directory with its winning metadata.
    Dir { path: String, meta: Box<DirMeta> },
}

/// Writes the flattened root filesystem of the image whose manifest is `manifest`
/// into `out`; returns `out` once the tar is finished.
pub fn export<W: Write>(store: &Store, manifest: &Digest, out: W) -> Result<W, ArchiveError> {
    let bytes = store.read_blob(manifest)?;
    let bad = |reason: String| StoreError::BadManifest {
        digest: manifest.clone(),
        reason,
    };
    let layers: Vec<Digest> = match Manifest::parse(&bytes, None).map_err(|e| bad(e.to_string()))? {
        Manifest::Image(m) => m.layers.into_iter().map(|l| l.digest).collect(),
        Manifest::Index(_) => return Err(bad("it is an index, not an image".into()).into()),
    };
    let plan = plan(store, &layers)?;
    write(store, &layers, &plan, out)
}

/// Pass 1: who wins each path.
fn plan(store: &Store, layers: &[Digest]) -> Result<BTreeMap<Pos, Emit>, ArchiveError> {
    let mut winners: BTreeMap<String, Node> = BTreeMap::new();
    for (l, digest) in layers.iter().enumerate() {
        // Regular files of this layer so far, for hard links that follow them.
        let mut files: HashMap<String, u64> = HashMap::new();
        walk(store, digest, |seq, path, entry| {
            let pos = (l, seq);
            let name = path::file_name(path);
            let dir = path::parent(path);
            if name == OPAQUE {
                remove_below(&mut winners, dir, l, false);
                return Ok(());
            }
            if name.starts_with(".wh..wh.") {
                return Ok(());
            }
            if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                let victim = join(dir, hidden);
                remove_below(&mut winners, &victim, l, true);
                return Ok(());
            }
            let kind = entry.header().entry_type();
            let is_dir = kind.is_dir();
            let old = winners.get(path).cloned();
            if let Some(old) = &old
                && old.is_dir
                && !is_dir
            {
                // A file replaces a directory: what was in it is gone.
                remove_below(&mut winners, path, l, false);
            }
            let (first, dir_meta) = if is_dir {
                let first = match &old {
                    Some(o) if o.is_dir => o.first,
                    _ => pos,
                };
                (first, Some(dir_meta(entry)?))
            } else {
                (pos, None)
            };
            let link = if kind == tar::EntryType::Link {
                let target = link_target(entry, digest, path)?;
                let src = files.get(&target).map(|s| (l, *s));
                Some((target, src))
            } else {
                None
            };
            if kind.is_file() {
                files.insert(path.to_owned(), seq);
            }
            winners.insert(
                path.to_owned(),
                Node {
                    pos,
                    is_dir,
                    first,
                    dir_meta,
                    link,
                },
            );
            Ok(())
        })?;
    }

    let mut emit = BTreeMap::new();
    let mut links = Vec::new();
    for (p, node) in &winners {
        match &node.dir_meta {
            Some(meta) => {
                emit.insert(
                    node.first,
                    Emit::Dir {
                        path: p.clone(),
                        meta: Box::new(meta.clone()),
                    },
                );
            }
            None => {
                emit.insert(
                    node.pos,
                    Emit::Entry {
                        path: p.clone(),
                        link_target: None,
                    },
                );
            }
        }
        if let Some((target, src)) = &node.link {
            links.push((node.pos, p.clone(), target.clone(), *src));
        }
    }
    // Hard links whose target no longer wins: the first such link takes the content
    // (written at the target's place), later ones point at it.
    links.sort();
    let mut promoted: HashMap<Pos, String> = HashMap::new();
    for (pos, p, target, src) in links {
        let Some(src) = src else { continue };
        if winners.get(&target).is_some_and(|n| n.pos == src) {
            continue;
        }
        match promoted.get(&src) {
            Some(new_target) => {
                emit.insert(
                    pos,
                    Emit::Entry {
                        path: p,
                        link_target: Some(new_target.clone()),
                    },
                );
            }
            None => {
                emit.remove(&pos);
                emit.insert(
                    src,
                    Emit::Entry {
                        path: p.clone(),
                        link_target: None,
                    },
                );
                promoted.insert(src, p);
            }
        }
    }
    Ok(emit)
}

/// Pass 2: the winners, in layer order.
fn write<W: Write>(
    store: &Store,
    layers: &[Digest],
    emit: &BTreeMap<Pos, Emit>,
    out: W,
) -> Result<W, ArchiveError> {
    let mut tar = tar::Builder::new(out);
    for (l, digest) in layers.iter().enumerate() {
        walk(store, digest, |seq, _, entry| {
            let Some(what) = emit.get(&(l, seq)) else {
                return Ok(());
            };
            match what {
                Emit::Dir { path, meta } => {
                    let mut h = meta.header.clone();
                    h.set_size(0);
                    append_pax(&mut tar, &meta.xattrs)?;
                    tar.append_data(&mut h, format!("{path}/"), io::empty())
                        .map_err(ArchiveError::Write)?;
                }
                Emit::Entry { path, link_target } => {
                    let xattrs = xattrs(entry)?;
                    let mut h = fresh_header(entry.header());
                    let kind = entry.header().entry_type();
                    append_pax(&mut tar, &xattrs)?;
                    if kind.is_symlink() || (kind.is_hard_link() && link_target.is_none()) {
                        let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                        let target = match (kind.is_hard_link(), link_target) {
                            (_, Some(t)) => t.clone().into_bytes(),
                            (true, None) => path::normalize(&target)
                                .map(String::into_bytes)
                                .unwrap_or(target),
                            (false, None) => target,
                        };
                        h.set_size(0);
                        tar.append_link(&mut h, path, bytes_path(&target))
                            .map_err(ArchiveError::Write)?;
                    } else if let Some(t) = link_target {
                        h.set_entry_type(tar::EntryType::Link);
                        h.set_size(0);
                        tar.append_link(&mut h, path, t)
                            .map_err(ArchiveError::Write)?;
                    } else {
                        // A hard link promoted to carry its target's content is the
                        // target's regular entry under the link's name.
                        let size = entry.size();
                        h.set_size(if kind.is_file() { size } else { 0 });
                        let mut counted = Counted {
                            inner: entry,
                            count: 0,
                        };
                        tar.append_data(&mut h, path, &mut counted)
                            .map_err(ArchiveError::Write)?;
                        if kind.is_file() && counted.count != size {
                            return Err(ArchiveError::BadLayer {
                                layer: digest.clone(),
                                source: io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!("{path:?} is truncated"),
                                ),
                            });
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
    tar.into_inner().map_err(ArchiveError::Write)
}

/// Calls `f` with every entry of a layer (decompressed as its first bytes say) and
/// its normalized path; the root directory and PAX global headers are skipped.
fn walk(
    store: &Store,
    layer: &Digest,
    mut f: impl FnMut(u64, &str, &mut tar::Entry<'_, Box<dyn Read + '_>>) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let bad = |source: io::Error| ArchiveError::BadLayer {
        layer: layer.clone(),
        source,
    };
    let file = store.open_blob(layer)?;
    let (reader, _, _) =
        decompressed(io::BufReader::with_capacity(256 * 1024, file)).map_err(bad)?;
    let mut archive = tar::Archive::new(reader);
    for (seq, entry) in archive.entries().map_err(bad)?.enumerate() {
        let mut entry = entry.map_err(bad)?;
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        }
        if kind == tar::EntryType::GNUSparse {
            return Err(ArchiveError::HostileLayer {
                layer: layer.clone(),
                path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                why: "is a sparse file, which lade cannot export yet".into(),
            });
        }
        let raw = entry.path_bytes().into_owned();
        let p = path::normalize(&raw).map_err(|why| ArchiveError::HostileLayer {
            layer: layer.clone(),
            path: String::from_utf8_lossy(&raw).into_owned(),
            why: why.into(),
        })?;
        if p.is_empty() {
            continue;
        }
        f(seq as u64, &p, &mut entry)?;
    }
    Ok(())
}

/// Removes `p` (when `itself`) and everything under it that layers below `layer` wrote.
fn remove_below(winners: &mut BTreeMap<String, Node>, p: &str, layer: usize, itself: bool) {
    if itself && winners.get(p).is_some_and(|n| n.pos.0 < layer) {
        winners.remove(p);
    }
    let prefix = if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    };
    let doomed: Vec<String> = winners
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, n)| n.pos.0 < layer)
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        winners.remove(&k);
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn link_target(
    entry: &tar::Entry<'_, Box<dyn Read + '_>>,
    layer: &Digest,
    p: &str,
) -> Result<String, ArchiveError> {
    let raw = entry.link_name_bytes().unwrap_or_default().into_owned();
    path::normalize(&raw).map_err(|why| ArchiveError::HostileLayer {
        layer: layer.clone(),
        path: p.into(),
        why: format!("is a hard link whose target {why}"),
    })
}

fn dir_meta(entry: &mut tar::Entry<'_, Box<dyn Read + '_>>) -> Result<DirMeta, ArchiveError> {
    Ok(DirMeta {
        header: fresh_header(entry.header()),
        xattrs: xattrs(entry)?,
    })
}

/// The extended attributes an entry carries as PAX records.
fn xattrs(
    entry: &mut tar::Entry<'_, Box<dyn Read + '_>>,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(ArchiveError::Read)? {
        for ext in exts {
            let ext = ext.map_err(ArchiveError::Read)?;
            if let Ok(key) = ext.key()
                && (key.starts_with("SCHILY.xattr.") || key.starts_with("LIBARCHIVE.xattr."))
            {
                out.push((key.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

/// A GNU header with the entry's metadata (path, size and link set by the caller).
fn fresh_header(src: &tar::Header) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(src.entry_type());
    h.set_mode(src.mode().unwrap_or(0o644));
    h.set_uid(src.uid().unwrap_or(0));
    h.set_gid(src.gid().unwrap_or(0));
    h.set_mtime(src.mtime().unwrap_or(0));
    if let Some(Ok(u)) = src.username().transpose() {
        let _ = h.set_username(u);
    }
    if let Some(Ok(g)) = src.groupname().transpose() {
        let _ = h.set_groupname(g);
    }
    if let (Ok(Some(major)), Ok(Some(minor))) = (src.device_major(), src.device_minor()) {
        let _ = h.set_device_major(major);
        let _ = h.set_device_minor(minor);
    }
    h
}

/// Writes a PAX extended header with `records` (nothing when there are none).
fn append_pax<W: Write>(
    tar: &mut tar::Builder<W>,
    records: &[(String, Vec<u8>)],
) -> Result<(), ArchiveError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut data = Vec::new();
    for (key, value) in records {
        // "<len> <key>=<value>\n", where <len> counts itself.
        let rest = key.len() + value.len() + 3;
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        data.extend_from_slice(format!("{len} {key}=").as_bytes());
        data.extend_from_slice(value);
        data.push(b'\n');
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_path("PaxHeaders/entry")
        .map_err(ArchiveError::Write)?;
    h.set_cksum();
    tar.append(&h, &data[..]).map_err(ArchiveError::Write)
}

fn bytes_path(bytes: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(bytes))
}

/// Counts the bytes read through it.
struct Counted<'a, R> {
    inner: &'a mut R,
    count: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let mut tar = tar::Builder::new(Vec::new());
        append_pax(&mut tar, &[("SCHILY.xattr.user.a".into(), b"v".to_vec())]).unwrap();
        let bytes = tar.into_inner().unwrap();
        let record = &bytes[512..];
        let text = String::from_utf8_lossy(
            &record[..record.iter().position(|&b| b == b'\n').unwrap() + 1],
        );
        let (len, _) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), text.len());
    }
}
