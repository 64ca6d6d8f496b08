//! Opening a store, reading its state, changing it, and writing blobs into it.

use std::io;
use std::path::{Path, PathBuf};

use lade_oci::{Descriptor, ImageConfig, ImageIndex, Manifest};
use lade_reference::Digest;

use crate::Index;
use crate::blob::{BlobWriter, sha256_of_reader};
use crate::fsutil::{annotate, write_atomic};
use crate::lock::{LockGuard, lock, try_lock_exclusive};
use crate::meta::{ImageRecord, LayerRecord, Meta};
use crate::{Names, State, StoreError};

const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
const LADE_VERSION: u32 = 1;
/// Below this size of `index.json` (some 250 images), parsing the records on a second
/// thread costs more than it saves.
const PARSE_IN_PARALLEL: usize = 64 * 1024;
/// The records (see [`crate::meta`]), and where an older lade kept them.
const META_FILE: &str = "meta.bin";
const META_JSON_FILE: &str = "meta.json";

/// A local image store rooted at a directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A write session: while it lives, no blob can be deleted from the store, so blobs it
/// writes (or finds already present) stay until it commits its changes to the index.
#[derive(Debug)]
pub struct Ingest<'s> {
    store: &'s Store,
    _gc: LockGuard,
}

/// Held while blobs are deleted: no write session runs meanwhile.
#[derive(Debug)]
pub struct GcGuard {
    _gc: LockGuard,
}

impl Store {
    /// Opens the store at `root`, creating it when the directory is missing or empty.
    /// An existing OCI image layout (made by skopeo, umoci, …) is adopted as it is.
    /// A store that is already set up is opened without writing anything, so read-only
    /// commands work on a read-only store.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self { root: root.into() };
        let root = &store.root;
        if root.exists() && !root.is_dir() {
            return Err(StoreError::NotADirectory(root.clone()));
        }
        let has_layout = root.join("oci-layout").is_file();
        if !has_layout {
            // An empty directory, or one where a killed `open` left only its own work.
            if root.exists() {
                for entry in fs_err::read_dir(root)? {
                    let name = entry?.file_name();
                    let ours = name == "lade" || name == "index.json" || name == "blobs";
                    if !ours || !store.list_blobs()?.is_empty() {
                        return Err(StoreError::NotAStore(root.clone()));
                    }
                }
            }
            fs_err::create_dir_all(root.join("blobs/sha256"))?;
            fs_err::create_dir_all(store.tmp_dir())?;
            write_atomic(&store.tmp_dir(), &store.lade_dir().join("version"), b"1\n")?;
            write_atomic(
                &store.tmp_dir(),
                &root.join("index.json"),
                &serde_json::to_vec(&ImageIndex::empty()).unwrap_or_default(),
            )?;
            write_atomic(
                &store.tmp_dir(),
                &root.join("oci-layout"),
                OCI_LAYOUT.as_bytes(),
            )?;
        } else {
            store.check_version()?;
        }
        Ok(store)
    }

    fn check_version(&self) -> Result<(), StoreError> {
        let path = self.lade_dir().join("version");
        match fs_err::read_to_string(&path) {
            Ok(v) if v.trim() == LADE_VERSION.to_string() => Ok(()),
            Ok(v) => Err(StoreError::UnsupportedVersion {
                path,
                found: v.trim().to_owned(),
                supported: LADE_VERSION,
            }),
            // A layout made by another tool: lade's folder is created on first write.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates `lade/` in a layout another tool made, on the first write.
    pub(crate) fn ensure_lade_dir(&self) -> Result<(), StoreError> {
        if !self.tmp_dir().is_dir() {
            fs_err::create_dir_all(self.tmp_dir())?;
            fs_err::create_dir_all(self.blobs_dir())?;
            write_atomic(&self.tmp_dir(), &self.lade_dir().join("version"), b"1\n")?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn lade_dir(&self) -> PathBuf {
        self.root.join("lade")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("lade/tmp")
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    /// Where a blob lives (whether or not it is there).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().to_string())
            .join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Reads a small blob (manifest, config) whole and checks it against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest);
        let bytes = match fs_err::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::BlobMissing(digest.clone()));
            }
            Err(e) => return Err(e.into()),
        };
        let actual = crate::sha256_hex_of(&bytes);
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The size of a gzip blob's uncompressed content, from its trailer (see
    /// [`trailer_size`]); `None` when the blob is absent or too short, or when the
    /// trailer cannot be the whole stream's.
    pub fn gzip_isize(&self, digest: &Digest) -> Option<u64> {
        use std::io::{Read, Seek};
        let mut f = self.open_blob(digest).ok()?;
        let len = f.metadata().ok()?.len();
        if len < 18 {
            return None;
        }
        f.seek(std::io::SeekFrom::End(-4)).ok()?;
        let mut isize = [0u8; 4];
        f.read_exact(&mut isize).ok()?;
        trailer_size(u32::from_le_bytes(isize), len)
    }

    /// Opens a blob for streaming.
    pub fn open_blob(&self, digest: &Digest) -> Result<fs_err::File, StoreError> {
        match fs_err::File::open(self.blob_path(digest)) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::BlobMissing(digest.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Hashes a stored blob again.
    pub fn verify_blob(&self, digest: &Digest) -> Result<(), StoreError> {
        let (actual, _) = sha256_of_reader(io::BufReader::new(self.open_blob(digest)?))?;
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Reads `index.json` and the records (`lade/meta.bin`, or a `meta.json` that an
    /// older lade wrote) without locking (each is replaced atomically). Images in the
    /// index without a record (added by another tool) get one derived from their
    /// blobs; entries whose blobs are unreadable are left without a record.
    pub fn state(&self) -> Result<State, StoreError> {
        // Read `index.json` first: `update` writes the records first, so the records
        // read are at least as new as the names. The two are parsed side by side (on
        // a store of 10,000 images that is most of what a listing costs).
        let index_path = self.root.join("index.json");
        let index_bytes = fs_err::read(&index_path)?;
        // The records and their file take about five times as much memory as
        // index.json is long (4 MB of records and 3 MB of file per MB of index).
        let index_len = index_bytes.len();
        let meta_hint = index_len * 5;
        let parse_index = || parse_index(&index_path, index_bytes);
        let read_meta = || {
            warm_thread_heap(meta_hint);
            self.read_meta()
        };
        let (index, meta) = if index_len < PARSE_IN_PARALLEL {
            (parse_index(), read_meta())
        } else {
            std::thread::scope(|s| {
                let meta = s.spawn(read_meta);
                let index = parse_index();
                // A panic in the parser is a bug; pass it on as one.
                let meta = meta.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                (index, meta)
            })
        };
        let (meta, changed) = meta?;
        Ok(self.complete(index?, meta, changed))
    }

    /// The state as if there were no records (they cannot be read): every record
    /// derived from the blobs.
    pub(crate) fn state_without_records(&self) -> Result<State, StoreError> {
        Ok(self.complete(self.read_index()?, Meta::default(), true))
    }

    /// Derives a record for each image that has none.
    fn complete(&self, index: Index, mut meta: Meta, mut changed: bool) -> State {
        for d in index.manifests() {
            if !meta.images.contains_key(&d.digest)
                && let Ok(record) = self.derive_record(d, None)
            {
                meta.images.insert(d.digest.clone(), record);
                changed = true;
            }
        }
        State::read(index, meta, changed)
    }

    /// The records, and whether they must be written again (they came from the
    /// `meta.json` of an older lade, which the next [`Store::update`] replaces).
    fn read_meta(&self) -> Result<(Meta, bool), StoreError> {
        let corrupt = |path, source| StoreError::CorruptRecords { path, source };
        let path = self.lade_dir().join(META_FILE);
        match fs_err::read(&path) {
            Ok(bytes) => {
                return Meta::from_bytes(&bytes)
                    .map(|m| (m, false))
                    .map_err(|e| corrupt(path, e));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let path = self.lade_dir().join(META_JSON_FILE);
        match fs_err::read(&path) {
            Ok(bytes) => Meta::from_json(&bytes)
                .map(|m| (m, true))
                .map_err(|e| corrupt(path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((Meta::default(), false)),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes the state under the store's exclusive lock: reads it fresh, applies `f`,
    /// and writes the records (when one changed) then `index.json` atomically.
    /// Nothing is written when `f` fails.
    pub fn update<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, E>,
    ) -> Result<T, E> {
        let _lock = self.lock_for_update()?;
        let mut state = self.state()?;
        let out = f(&mut state)?;
        state.drop_stale_records();
        if state.meta_changed() {
            let bytes = state
                .meta()
                .to_bytes()
                .map_err(|e| StoreError::from(io::Error::other(e)))?;
            write_atomic(&self.tmp_dir(), &self.lade_dir().join(META_FILE), &bytes)
                .map_err(StoreError::from)?;
            // An older lade's records, now in `meta.bin`.
            match fs_err::remove_file(self.lade_dir().join(META_JSON_FILE)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(StoreError::from(e).into());
                }
                _ => {}
            }
        }
        self.write_index(&state.index)?;
        let entries = state.index.manifests().len();
        drop_aside(state, entries);
        Ok(out)
    }

    /// [`Store::update`] for a change of names alone (a tag by name): the records are
    /// neither read nor written. A name added for a manifest keeps its record; a
    /// manifest left without any entry keeps a stale record until the next `update`
    /// drops it (readers go by `index.json`).
    pub fn update_names<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Names<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let _lock = self.lock_for_update()?;
        let mut index = self.read_index()?;
        let mut names = Names {
            index: &mut index,
            changed: false,
        };
        let out = f(&mut names)?;
        if names.changed {
            self.write_index(&index)?;
        }
        let entries = index.manifests().len();
        drop_aside(index, entries);
        Ok(out)
    }

    fn lock_for_update(&self) -> Result<LockGuard, StoreError> {
        self.ensure_lade_dir()?;
        Ok(lock(&self.lade_dir().join("lock"), true)?)
    }

    fn write_index(&self, index: &Index) -> Result<(), StoreError> {
        let bytes = index.to_json().map_err(io::Error::other)?;
        Ok(write_atomic(
            &self.tmp_dir(),
            &self.root.join("index.json"),
            &bytes,
        )?)
    }

    /// Replaces a damaged `index.json`, kept beside it as `index.corrupt`, with the
    /// entries still readable in it (see [`crate::index::salvage`]) and, untagged,
    /// every other image whose manifest and config are in the store (whether lade's
    /// records know it or not). No image whose blobs are here is left out, so none of
    /// its blobs looks unreferenced afterwards.
    pub(crate) fn rebuild_index(&self) -> Result<Rebuilt, StoreError> {
        let _lock = self.lock_for_update()?;
        let path = self.root.join("index.json");
        let bytes = fs_err::read(&path)?;
        let mut entries = crate::index::salvage(&bytes);
        let from_file = entries.len();
        let named: std::collections::HashSet<Digest> =
            entries.iter().map(|d| d.digest.clone()).collect();
        for (digest, size) in self.list_blobs()? {
            if size > lade_oci::MANIFEST_LIMIT || named.contains(&digest) {
                continue;
            }
            let Ok(bytes) = self.read_blob(&digest) else {
                continue;
            };
            if let Ok(Manifest::Image(m)) = Manifest::parse(&bytes, None)
                && self.has_blob(&m.config.digest)
            {
                let media_type = m
                    .media_type
                    .unwrap_or_else(|| lade_oci::media_type::OCI_MANIFEST.to_owned());
                entries.push(Descriptor::new(media_type, digest, size));
            }
        }
        let from_blobs = entries.len() - from_file;
        // The damaged file stays whole beside the new one: linked (or copied) aside
        // before the new one replaces it atomically.
        let aside = self.root.join("index.corrupt");
        match fs_err::remove_file(&aside) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        if fs_err::hard_link(&path, &aside).is_err() {
            fs_err::copy(&path, &aside)?;
        }
        let mut head = ImageIndex::empty();
        head.manifests = entries;
        self.write_index(&Index::from(head))?;
        Ok(Rebuilt {
            aside,
            from_file,
            from_blobs,
        })
    }

    pub(crate) fn read_index(&self) -> Result<Index, StoreError> {
        let path = self.root.join("index.json");
        parse_index(&path, fs_err::read(&path)?)
    }

    /// Starts a write session (see [`Ingest`]).
    pub fn ingest(&self) -> Result<Ingest<'_>, StoreError> {
        self.ensure_lade_dir()?;
        let gc = lock(&self.lade_dir().join("gc.lock"), false)?;
        Ok(Ingest {
            store: self,
            _gc: gc,
        })
    }

    /// Takes the lock under which blobs may be deleted; waits for write sessions to end.
    pub fn gc_lock(&self) -> Result<GcGuard, StoreError> {
        self.ensure_lade_dir()?;
        Ok(GcGuard {
            _gc: lock(&self.lade_dir().join("gc.lock"), true)?,
        })
    }

    /// The lock under which blobs may be deleted, if no write session runs now; `None`
    /// instead of waiting (for tidying that can be left to `system prune`).
    pub fn try_gc_lock(&self) -> Result<Option<GcGuard>, StoreError> {
        self.ensure_lade_dir()?;
        Ok(try_lock_exclusive(&self.lade_dir().join("gc.lock"))?.map(|g| GcGuard { _gc: g }))
    }

    /// Deletes a blob. Needs the [`GcGuard`]. A blob that is already gone is not an error.
    pub fn delete_blob(&self, _guard: &GcGuard, digest: &Digest) -> Result<(), StoreError> {
        match fs_err::remove_file(self.blob_path(digest)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob file in the store, with its size.
    pub fn list_blobs(&self) -> Result<Vec<(Digest, u64)>, StoreError> {
        let mut out = Vec::new();
        let dir = self.blobs_dir();
        if !dir.is_dir() {
            return Ok(out);
        }
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Ok(d) = Digest::parse(&format!("sha256:{name}")) {
                let size = entry.metadata()?.len();
                out.push((d, size));
            }
        }
        Ok(out)
    }

    /// Leftover files in `lade/tmp/` (from operations that were killed).
    pub(crate) fn temp_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        let dir = self.tmp_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs_err::read_dir(&dir)? {
            out.push(entry?.path());
        }
        Ok(out)
    }

    /// Builds the record of an image from its blobs. `added` defaults to the manifest
    /// blob's modification time.
    pub fn derive_record(
        &self,
        descriptor: &Descriptor,
        added: Option<String>,
    ) -> Result<ImageRecord, StoreError> {
        let digest = &descriptor.digest;
        let bytes = self.read_blob(digest)?;
        let bad = |reason: String| StoreError::BadManifest {
            digest: digest.clone(),
            reason,
        };
        let manifest = match Manifest::parse(&bytes, Some(&descriptor.media_type))
            .map_err(|e| bad(e.to_string()))?
        {
            Manifest::Image(m) => m,
            Manifest::Index(_) => return Err(bad("it is an index, not an image".into())),
        };
        let config_bytes = self.read_blob(&manifest.config.digest)?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(format!("its config is not valid JSON: {e}")))?;
        let added = match added {
            Some(a) => a,
            None => {
                let mtime = fs_err::metadata(self.blob_path(digest))?
                    .modified()
                    .map_err(|e| annotate(e, "read the time of", &self.blob_path(digest)))?;
                jiff::Timestamp::try_from(mtime)
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            }
        };
        Ok(ImageRecord {
            manifest: digest.clone(),
            manifest_media_type: manifest
                .media_type
                .clone()
                .unwrap_or_else(|| descriptor.media_type.clone()),
            manifest_size: bytes.len() as u64,
            config: manifest.config.digest.clone(),
            config_size: config_bytes.len() as u64,
            created: config.created.clone(),
            added,
            layers: manifest
                .layers
                .iter()
                .map(|l| LayerRecord {
                    digest: l.digest.clone(),
                    size: l.size,
                    uncompressed_size: None,
                    content_size: None,
                })
                .collect(),
            labels: labels_of(&config),
            platform: platform_of(&config),
            index: None,
            repo_digests: Vec::new(),
        })
    }
}

/// Frees what a command read of a large store (`entries` in its index) on a thread of
/// its own: 10,000 descriptors and records take milliseconds to free, which the command
/// need not wait for (when it exits first, the process's memory goes with it).
fn drop_aside<T: Send + 'static>(value: T, entries: usize) {
    /// From how many entries freeing is worth a thread.
    const DROP_ASIDE: usize = 1000;
    if entries >= DROP_ASIDE {
        // Should no thread start, the value is freed here.
        let _ = std::thread::Builder::new().spawn(move || drop(value));
    }
}

/// Grows this thread's malloc heap once, by about `bytes`, before it allocates
/// thousands of small objects. glibc gives a new thread a heap of its own and grows
/// it a page (one `mprotect`) at a time, which cost the records' decoding some 3,000
/// system calls on a store of 10,000 images. One large block, allocated and freed,
/// grows it at once: a block above the mmap threshold (freed, it raises that
/// threshold), then one below it (taken from the heap, freed, kept as its top).
/// Other allocators just allocate and free twice.
fn warm_thread_heap(bytes: usize) {
    // glibc raises its mmap threshold only for blocks up to 32 MiB.
    let bytes = bytes.clamp(1 << 20, 24 << 20);
    // `black_box`: an allocation nothing uses would be optimized away.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(
        bytes + (1 << 20),
    )));
    drop(std::hint::black_box(Vec::<u8>::with_capacity(bytes)));
}

/// What [`Store::rebuild_index`] did: where the damaged file went, and how many
/// entries came from it and from the blobs.
#[derive(Debug)]
pub(crate) struct Rebuilt {
    pub aside: PathBuf,
    pub from_file: usize,
    pub from_blobs: usize,
}

/// What a gzip trailer's ISIZE says of a `compressed`-byte stream: ISIZE is the size
/// of the last member's content modulo 4 GiB. An encoder makes a stream longer than its
/// content by a few bytes per 64 KiB block at worst (zlib, Go and pigz store what does
/// not compress), so a content below 8/9 of the stream means the trailer does not
/// describe it whole: a content of 4 GiB or more that wrapped, or a stream of several
/// members (eStargz ends with an empty one) or with padding. That is `None` (the
/// caller falls back on what it knows), not a guess. A content that wrapped to above
/// the floor still reads short; only decompressing would tell.
fn trailer_size(isize: u32, compressed: u64) -> Option<u64> {
    let floor = (compressed / 9 * 8).saturating_sub(64);
    let size = u64::from(isize);
    (size >= floor).then_some(size)
}

fn parse_index(path: &Path, bytes: Vec<u8>) -> Result<Index, StoreError> {
    let corrupt = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::CorruptIndex {
        path: path.to_owned(),
        source,
    };
    // Checked once here, the text is not checked again string by string.
    let text = String::from_utf8(bytes).map_err(|e| corrupt(e.into()))?;
    Index::parse(text).map_err(|e| corrupt(e.into()))
}

/// An image's labels, as its record keeps them.
pub fn labels_of(config: &ImageConfig) -> lade_oci::Labels {
    config
        .labels()
        .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn platform_of(config: &ImageConfig) -> String {
    let mut p = format!(
        "{}/{}",
        config.os.as_deref().unwrap_or("linux"),
        config.architecture.as_deref().unwrap_or("amd64")
    );
    if let Some(v) = &config.variant {
        p.push('/');
        p.push_str(v);
    }
    p
}

impl Ingest<'_> {
    /// A writer for a new blob.
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        BlobWriter::new(self.store.tmp_dir(), self.store.blobs_dir())
    }

    /// Writes a small blob whose bytes are all in memory.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = crate::sha256_hex_of(bytes);
        if self.store.has_blob(&digest) {
            return Ok(digest);
        }
        let mut w = self.blob_writer()?;
        io::Write::write_all(&mut w, bytes)
            .map_err(|e| annotate(e, "write", &self.store.tmp_dir()))?;
        Ok(w.commit(None)?.0)
    }

    /// A resumable writer for a blob of known digest (see [`crate::ResumableBlob`]).
    /// Blocks while another process writes the same blob.
    pub fn resumable_blob(&self, digest: &Digest) -> Result<crate::Resumable, StoreError> {
        crate::ResumableBlob::open(
            self.store.lade_dir().join("partial"),
            digest,
            self.store.blob_path(digest),
        )
    }

    pub fn store(&self) -> &Store {
        self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_size_is_taken_when_it_can_describe_the_stream() {
        assert_eq!(trailer_size(1000, 500), Some(1000));
        // Incompressible content stored as is, a little smaller than its stream.
        assert_eq!(trailer_size(99_990, 100_000), Some(99_990));
        // A 3 GiB stream of 7 GiB of content: its ISIZE (3 GiB) is above the floor,
        // and the wrap is not seen.
        assert_eq!(trailer_size(3 << 30, 3 << 30), Some(3 << 30));
    }

    #[test]
    fn a_trailer_that_cannot_describe_the_stream_gives_nothing() {
        // A 5 GiB stream whose content wrapped to 1 GiB.
        assert_eq!(trailer_size(1 << 30, 5 << 30), None);
        // eStargz: the last member (its footer) is empty.
        assert_eq!(trailer_size(0, 10 << 20), None);
        assert_eq!(trailer_size(0, 0), Some(0));
    }

    #[test]
    fn a_stored_gzip_blob_gives_its_trailer_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        // Only the trailer is read: a gzip header, a body, CRC32 and ISIZE.
        let mut blob = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        blob.extend_from_slice(&[0u8; 40]);
        blob.extend_from_slice(&0xdead_beef_u32.to_le_bytes());
        blob.extend_from_slice(&100_000u32.to_le_bytes());
        let digest = store.ingest().unwrap().write_blob(&blob).unwrap();
        assert_eq!(store.gzip_isize(&digest), Some(100_000));
        let short = store.ingest().unwrap().write_blob(b"tiny").unwrap();
        assert_eq!(store.gzip_isize(&short), None);
    }
}
