//! What a layer holds, read once as a stream: the size of the tar stream and of its
//! content as Docker counts it, and on request its diff ID (the digest of the
//! uncompressed tar, which the image config lists in `rootfs.diff_ids`).
//!
//! Docker's image `SIZE` is the sum of its layers' sizes, each measured by its storage
//! driver once unpacked (overlay2: `directory.Size` over the layer's directory): every
//! entry that is not a directory counts its `lstat` size, that is a regular file its
//! bytes and a symbolic link the length of its target, without the 512-byte headers
//! and padding of the tar format. lade records the same figure when a layer arrives
//! ([`entry_content_size`] per entry), so that `images` shows what `docker images`
//! shows without unpacking anything. (A path written twice in one layer counts twice
//! here, once on Docker's disk; layers do not do that.)
//!
//! A pull reads each layer as it downloads; a layer already in the store is measured
//! by [`measure_stored_layer`], the one place that decides how (load, and
//! `system check --repair` for records rebuilt without sizes).

use std::io::{self, Read, Seek};

use lade_reference::Digest;
use lade_store::{LayerSizes, Store};
use sha2::{Digest as _, Sha256};

use crate::compression::{Sniffed, decompressed, read_head, sniff_bytes};

/// gzip (and xz) layers up to this size are decompressed to learn their size as Docker
/// counts it (pull, load); larger ones keep the size of their tar stream, which a gzip
/// layer's trailer states. Decompressing costs more CPU than downloading: inflating
/// runs at 270–500 MB/s here against 1.8 GB/s for the download's sha256, and with a
/// limit of 16 MiB an image of eight 4 MiB layers took twice the CPU to pull (no
/// faster than skopeo, which reads nothing). The tar stream's size differs from
/// Docker's by the tar headers: about 1% for layers of large files, up to 12% for
/// layers of many 4 KiB files, and most for tiny layers, which stay under the limit.
pub const INSPECT_LIMIT: u64 = 1 << 20;
/// The same for zstd layers, which decompress several times faster than gzip and
/// whose tar stream's size nothing else states (larger ones show their compressed
/// size), and for uncompressed ones read as they stream (their headers only need
/// parsing).
const ZSTD_INSPECT_LIMIT: u64 = 16 << 20;

/// The content size (as Docker counts it) of an uncompressed tar, reading only its
/// headers: the contents are skipped with seeks.
pub fn plain_tar_content_size(file: impl Read + io::Seek) -> io::Result<u64> {
    let mut archive = tar::Archive::new(file);
    let mut total = 0;
    for entry in archive.entries_with_seek()? {
        total += entry_content_size(&entry?);
    }
    Ok(total)
}

/// What [`inspect_layer`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFacts {
    /// sha256 of the uncompressed tar stream, when asked for.
    pub diff_id: Option<Digest>,
    /// Bytes in the uncompressed tar stream.
    pub tar_size: u64,
    /// The sum of the entries' sizes (Docker's layer size).
    pub content_size: u64,
}

impl LayerFacts {
    /// The sizes a record keeps of the layer.
    pub fn sizes(&self) -> LayerSizes {
        LayerSizes {
            tar: Some(self.tar_size),
            content: Some(self.content_size),
        }
    }
}

/// Reads a layer (plain, gzip, zstd or xz; the compression is sniffed) to its end,
/// hashing the uncompressed stream when `diff_id` says so. Fails when the stream
/// cannot be decompressed or is not a tar archive.
pub fn inspect_layer(r: impl Read, diff_id: bool) -> io::Result<LayerFacts> {
    let (reader, _, _) = decompressed(r)?;
    let mut counted = Counted {
        inner: reader,
        hasher: diff_id.then(Sha256::new),
        size: 0,
    };
    let mut content_size = 0u64;
    {
        let mut archive = tar::Archive::new(&mut counted);
        for entry in archive.entries()? {
            let mut entry = entry?;
            content_size += entry_content_size(&entry);
            // The tar reader skips what is not read; reading it keeps every byte hashed.
            io::copy(&mut entry, &mut io::sink())?;
        }
    }
    // The end-of-archive blocks and any padding after them belong to the diff ID too.
    io::copy(&mut counted, &mut io::sink())?;
    Ok(LayerFacts {
        diff_id: counted
            .hasher
            .map(|h| Digest::from_sha256_bytes(&h.finalize().into())),
        tar_size: counted.size,
        content_size,
    })
}

/// What one tar entry adds to a layer's size as Docker counts it (see the module
/// documentation): a file's bytes, a symbolic link's target length, nothing for the
/// rest (directories, hard links to a file already counted, devices, whiteouts).
pub fn entry_content_size<R: Read>(entry: &tar::Entry<'_, R>) -> u64 {
    match entry.header().entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            entry.size()
        }
        tar::EntryType::Symlink => entry.link_name_bytes().map_or(0, |l| l.len() as u64),
        _ => 0,
    }
}

/// Measures a layer already in the store (load; a pull, for the layers it did not read
/// as they arrived; `system check --repair` for layers whose records lost their
/// sizes), given what the caller knows of it: its compression (sniffed from its first
/// bytes when `None`) and the size of its tar stream (learnt with its diff ID on the
/// way in).
///
/// An uncompressed layer is its own tar stream, and only its headers are read (its
/// contents skipped with seeks). A compressed layer is decompressed to its end with
/// `read_all`, else only up to [`inspect_limit`] (as a pull
/// reads); a larger gzip layer's tar stream has the size its trailer states, when that
/// is plausible (see `Store::gzip_isize`). What cannot be learnt stays unknown: a blob
/// that is missing, a stream that is not a tar (no content size), a large zstd or xz
/// layer.
pub fn measure_stored_layer(
    store: &Store,
    digest: &Digest,
    compression: Option<Sniffed>,
    tar: Option<u64>,
    read_all: bool,
) -> LayerSizes {
    let known = LayerSizes { tar, content: None };
    let Ok(mut file) = store.open_blob(digest) else {
        return known;
    };
    let Ok(size) = file.metadata().map(|m| m.len()) else {
        return known;
    };
    let compression = match compression {
        Some(c) => c,
        None => match read_head(&mut file).and_then(|head| {
            file.rewind()?;
            Ok(sniff_bytes(&head))
        }) {
            Ok(c) => c,
            Err(_) => return known,
        },
    };
    let read = match compression {
        Sniffed::Plain => LayerSizes {
            tar: Some(size),
            content: plain_tar_content_size(file).ok(),
        },
        _ if read_all || size <= inspect_limit(compression) => {
            inspect_layer(io::BufReader::new(file), false)
                .map(|f| f.sizes())
                .unwrap_or_default()
        }
        _ => LayerSizes::default(),
    };
    let sizes = known.or(read);
    if compression == Sniffed::Gzip && sizes.tar.is_none() {
        return LayerSizes {
            tar: store.gzip_isize(digest),
            ..sizes
        };
    }
    sizes
}

/// Up to what size a layer of this compression is read to learn its sizes, as it
/// streams (pull) or from the store (see [`INSPECT_LIMIT`]).
pub fn inspect_limit(compression: Sniffed) -> u64 {
    match compression {
        Sniffed::Zstd | Sniffed::Plain => ZSTD_INSPECT_LIMIT,
        Sniffed::Gzip | Sniffed::Xz | Sniffed::Bzip2 => INSPECT_LIMIT,
    }
}

/// A reader that counts (and maybe hashes) what passes through it.
struct Counted<R> {
    inner: R,
    hasher: Option<Sha256>,
    size: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if let Some(h) = &mut self.hasher {
            h.update(&out[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "a/target/far/away").unwrap();
        // A name over 100 bytes: a GNU long-name entry precedes it, not counted.
        let long = format!("{}/file", "d".repeat(150));
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, &long, &b"xyz"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn content_size_counts_file_bytes_only_and_diff_id_the_whole_stream() {
        let tar = tar_of(&[("a", &[1u8; 1000]), ("b", b""), ("c", &[2u8; 513])]);
        let facts = inspect_layer(&tar[..], true).unwrap();
        // Files' bytes and the symlink's target ("a/target/far/away"), no headers.
        assert_eq!(facts.content_size, 1000 + 513 + 3 + 17);
        assert_eq!(facts.tar_size, tar.len() as u64);
        assert_eq!(
            facts.diff_id,
            Some(Digest::from_sha256_bytes(&Sha256::digest(&tar).into()))
        );
        // The same facts through gzip and zstd.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        assert_eq!(
            inspect_layer(&gz.finish().unwrap()[..], true).unwrap(),
            facts
        );
        let zst = zstd::encode_all(&tar[..], 1).unwrap();
        assert_eq!(inspect_layer(&zst[..], true).unwrap(), facts);
        let quick = inspect_layer(&zst[..], false).unwrap();
        assert_eq!(
            (quick.diff_id, quick.content_size),
            (None, facts.content_size)
        );
    }

    #[test]
    fn a_stored_layer_is_measured_as_far_as_the_caller_allows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let put = |bytes: &[u8]| store.ingest().unwrap().write_blob(bytes).unwrap();
        let tar = tar_of(&[("a", &[1u8; 1000]), ("c", &[2u8; 513])]);
        let facts = inspect_layer(&tar[..], false).unwrap();
        let whole = LayerSizes {
            tar: Some(facts.tar_size),
            content: Some(facts.content_size),
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let (plain, gzip) = (put(&tar), put(&gz.finish().unwrap()));
        let zstd = put(&zstd::encode_all(&tar[..], 1).unwrap());
        let measure = |d: &Digest, c: Option<Sniffed>, tar: Option<u64>, all: bool| {
            measure_stored_layer(&store, d, c, tar, all)
        };
        // Read, whether the compression is given or sniffed; an uncompressed layer at
        // any limit (only its headers are read).
        for d in [&plain, &gzip, &zstd] {
            assert_eq!(measure(d, None, None, true), whole);
        }
        assert_eq!(measure(&plain, Some(Sniffed::Plain), None, false), whole);
        // Small: read as a pull reads it.
        assert_eq!(measure(&gzip, Some(Sniffed::Gzip), None, false), whole);
        assert_eq!(measure(&zstd, None, None, false), whole);
        // A size the caller knows is kept.
        assert_eq!(measure(&gzip, None, Some(7), true).tar, Some(7));

        // Beyond the limits, only what costs nothing: gzip's trailer gives the tar
        // stream's size; nothing says a zstd layer's.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..ZSTD_INSPECT_LIMIT + 4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let big_tar = tar_of(&[("noise", &noise)]);
        let big_whole = inspect_layer(&big_tar[..], false).unwrap().sizes();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &big_tar[..INSPECT_LIMIT as usize * 2]).unwrap();
        let big_gzip = put(&gz.finish().unwrap());
        let trailer = LayerSizes {
            tar: Some(INSPECT_LIMIT * 2),
            content: None,
        };
        assert_eq!(measure(&big_gzip, None, None, false), trailer);
        let big_zstd = put(&zstd::encode_all(&big_tar[..], 1).unwrap());
        assert_eq!(measure(&big_zstd, None, None, false), LayerSizes::default());
        assert_eq!(measure(&big_zstd, None, None, true), big_whole);
        assert_eq!(measure(&big_zstd, None, Some(7), false).tar, Some(7));
        // Not a tar, or not in the store: nothing more is learnt.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"not a tar").unwrap();
        let junk = put(&gz.finish().unwrap());
        let junk_sizes = measure(&junk, None, None, true);
        assert_eq!(
            junk_sizes,
            LayerSizes {
                tar: Some(9),
                content: None
            }
        );
        let absent = Digest::from_sha256_bytes(&[3; 32]);
        assert_eq!(measure(&absent, None, Some(7), true).tar, Some(7));
        assert_eq!(measure(&absent, None, None, true), LayerSizes::default());
    }

    #[test]
    fn what_is_not_a_tar_is_an_error() {
        assert!(inspect_layer(&b"hello, this is not a tar archive at all"[..], false).is_err());
        let tar = tar_of(&[("a", &[1u8; 5000])]);
        assert!(inspect_layer(&tar[..2000], false).is_err(), "truncated");
    }
}
