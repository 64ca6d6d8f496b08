//! The registry's storage on the local filesystem.
//!
//! Layout (version 1, in `ROOT/version`):
//! ```text
//! ROOT/
//!   version
//!   blobs/sha256/<hex>                      every blob and manifest, content-addressed
//!   blobs/sha512/<hex>                      the same, for those pushed by a sha512 digest
//!   uploads/<id>                            an upload in progress (appended to)
//!   uploads/<id>.repo                       the repository the upload belongs to
//!   tmp/                                    atomic writes (same filesystem)
//!   repos/<name>/_revisions/sha256/<hex>    a manifest in the repository (content: media type)
//!   repos/<name>/_tags/<tag>                a tag (content: digest)
//!   repos/<name>/_blobs/sha256/<hex>        a blob the repository may serve (pushed or mounted)
//!   repos/<name>/_referrers/<subject-hex>/<hex>  a manifest whose subject is <subject>
//!                                           (content: its descriptor as JSON)
//! ```
//! Repository path components start with `[a-z0-9]`, so they never collide with the
//! `_`-prefixed folders. Files appear by rename only: a blob is in `blobs/` only once its
//! digest was verified.
//!
//! Every operation here is a plain function over paths (no process state but an upload
//! hash cache), so that an object-store backend can implement the same set later.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use lade_reference::Algorithm;
use lade_reference::Digest;
use sha2::{Digest as _, Sha256, Sha512};

const VERSION: &str = "1";

/// A link used more recently than this is not touched again (one write per minute at
/// most, however many GETs, and no lock on that path); GC's grace period must be longer
/// for a blob a push was just told exists to be kept (the default is an hour).
const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The filesystem storage of one registry.
#[derive(Debug, Clone)]
pub struct FsStorage {
    root: PathBuf,
}

/// A held storage lock (see [`FsStorage::lock`]).
#[derive(Debug)]
pub struct StorageLock {
    _file: fs_err::File,
}

/// The outcome of completing an upload.
#[derive(Debug)]
pub enum Finish {
    Done { size: u64 },
    Mismatch { actual: Digest },
    Unknown,
}

impl FsStorage {
    /// Opens (creating if needed) the storage at `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let s = Self { root: root.into() };
        for d in ["blobs/sha256", "blobs/sha512", "uploads", "tmp", "repos"] {
            fs_err::create_dir_all(s.root.join(d))?;
        }
        let v = s.root.join("version");
        match fs_err::read_to_string(&v) {
            Ok(found) if found.trim() == VERSION => {}
            Ok(found) => {
                return Err(io::Error::other(format!(
                    "{} has registry storage version {:?}; this lade reads version {VERSION}",
                    v.display(),
                    found.trim()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                s.write_atomic(&v, VERSION.as_bytes())?
            }
            Err(e) => return Err(e),
        }
        Ok(s)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().to_string())
            .join(d.hex())
    }

    /// The size of a stored blob.
    pub fn blob_size(&self, d: &Digest) -> Option<u64> {
        fs_err::metadata(self.blob_path(d)).ok().map(|m| m.len())
    }

    fn repo(&self, name: &str) -> PathBuf {
        self.root.join("repos").join(name)
    }

    pub fn repo_exists(&self, name: &str) -> bool {
        self.repo(name).is_dir()
    }

    fn link_path(&self, name: &str, d: &Digest) -> PathBuf {
        self.repo(name)
            .join("_blobs")
            .join(d.algorithm().to_string())
            .join(d.hex())
    }

    /// Makes a stored blob servable from a repository, or marks an existing link as
    /// just used. Call it holding the storage lock (shared), so that GC, which treats
    /// recent links as live, cannot be between its plan and its deletes.
    pub fn link_blob(&self, name: &str, d: &Digest) -> io::Result<()> {
        let p = self.link_path(name, d);
        if !self.touch(&p)? {
            self.write_atomic(&p, b"")?;
        }
        Ok(())
    }

    /// Sets a file's modification time to now unless it is already recent; false when
    /// the file does not exist.
    fn touch(&self, path: &Path) -> io::Result<bool> {
        match fs_err::metadata(path) {
            Ok(m) if age(&m).is_some_and(|a| a < TOUCH_EVERY) => Ok(true),
            Ok(_) => {
                let f = fs_err::OpenOptions::new().write(true).open(path)?;
                f.file().set_modified(std::time::SystemTime::now())?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A blob the repository may serve, for a client that may rely on it next (a push
    /// that HEADs a layer and then skips it, a pull): its size, and the link refreshed
    /// so that GC keeps the blob for its grace period.
    ///
    /// A link used within [`TOUCH_EVERY`] is served as it is, with no lock and no write
    /// (the hot path of a pull). An older one is refreshed under the shared storage lock,
    /// so that a GC run is either wholly before (the blob is gone: 404, the client
    /// uploads it) or after (the link is young: kept). Storage that cannot be written
    /// (read-only) is served without the refresh.
    pub fn use_blob(&self, name: &str, d: &Digest) -> io::Result<Option<u64>> {
        let link = self.link_path(name, d);
        let fresh = fs_err::metadata(&link)
            .ok()
            .and_then(|m| age(&m))
            .is_some_and(|a| a < TOUCH_EVERY);
        if fresh {
            return Ok(self.blob_size(d));
        }
        let Ok(_lock) = self.lock(false) else {
            return Ok(self.repo_blob(name, d));
        };
        let linked = self.touch(&link).unwrap_or_else(|_| link.exists());
        if linked || self.revision_path(name, d).exists() {
            Ok(self.blob_size(d))
        } else {
            Ok(None)
        }
    }

    /// The blob's size when the repository may serve it.
    pub fn repo_blob(&self, name: &str, d: &Digest) -> Option<u64> {
        if self.link_path(name, d).exists() || self.revision_path(name, d).exists() {
            self.blob_size(d)
        } else {
            None
        }
    }

    pub fn unlink_blob(&self, name: &str, d: &Digest) -> io::Result<bool> {
        match fs_err::remove_file(self.link_path(name, d)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every blob in `blobs/`, with its size.
    pub fn all_blobs(&self) -> io::Result<Vec<(Digest, u64)>> {
        digests_in(&self.root.join("blobs"))?
            .into_iter()
            .map(|(d, path)| Ok((d, fs_err::metadata(path)?.len())))
            .collect()
    }

    /// Deletes a blob and every repository's link to it (GC only).
    pub(crate) fn delete_blob(&self, d: &Digest) -> io::Result<()> {
        for repo in self.catalog()? {
            let _ = self.unlink_blob(&repo, d);
        }
        match fs_err::remove_file(self.blob_path(d)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The blobs a repository links, with the link files.
    pub(crate) fn links(&self, name: &str) -> io::Result<Vec<(Digest, PathBuf)>> {
        digests_in(&self.repo(name).join("_blobs"))
    }

    /// The manifests of a repository.
    pub fn revisions(&self, name: &str) -> io::Result<Vec<Digest>> {
        let mut out: Vec<Digest> = digests_in(&self.repo(name).join("_revisions"))?
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        out.sort();
        Ok(out)
    }

    pub(crate) fn revision_file(&self, name: &str, d: &Digest) -> PathBuf {
        self.revision_path(name, d)
    }

    /// The storage lock: taken shared by manifest PUTs and upload completions, exclusive
    /// by GC while it deletes. Released on drop (and by the kernel if the process dies).
    pub fn lock(&self, exclusive: bool) -> io::Result<StorageLock> {
        let path = self.root.join("gc.lock");
        let f = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        if exclusive {
            f.file().lock()?;
        } else {
            f.file().lock_shared()?;
        }
        Ok(StorageLock { _file: f })
    }

    // --- uploads ---

    /// The data file of upload `id`, when it exists and was started in repository
    /// `name` (a session belongs to its repository: another one's id is unknown there).
    pub fn upload_path(&self, name: &str, id: &str) -> Option<PathBuf> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let dir = self.root.join("uploads");
        let owner = fs_err::read_to_string(dir.join(format!("{id}.repo"))).ok()?;
        (owner == name).then(|| dir.join(id))
    }

    /// Starts an upload in repository `name`; returns its id.
    pub fn new_upload(&self, name: &str) -> io::Result<String> {
        let id = new_id();
        let dir = self.root.join("uploads");
        fs_err::write(dir.join(format!("{id}.repo")), name)?;
        fs_err::File::create(dir.join(&id))?;
        Ok(id)
    }

    pub fn upload_size(&self, name: &str, id: &str) -> Option<u64> {
        let path = self.upload_path(name, id)?;
        fs_err::metadata(path).ok().map(|m| m.len())
    }

    /// Cancels an upload; false when there is no such upload in `name`.
    pub fn delete_upload(&self, name: &str, id: &str) -> io::Result<bool> {
        let Some(path) = self.upload_path(name, id) else {
            return Ok(false);
        };
        let found = match fs_err::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let _ = fs_err::remove_file(path.with_extension("repo"));
        Ok(found)
    }

    /// Removes upload sessions (and their repository records) untouched for longer
    /// than `age`, and leftovers in `tmp/` as old: what clients abandoned or a crash
    /// left. Returns how many files went and their bytes.
    pub fn purge_uploads(&self, age: std::time::Duration) -> io::Result<(usize, u64)> {
        let (mut count, mut bytes) = (0, 0);
        for dir in ["uploads", "tmp"] {
            for e in fs_err::read_dir(self.root.join(dir))? {
                let e = e?;
                let Ok(meta) = e.metadata() else { continue };
                let old = self::age(&meta).is_some_and(|a| a >= age);
                if !old || !meta.is_file() {
                    continue;
                }
                let path = e.path();
                // A session's record goes with its data, never before it.
                if path.extension().is_some_and(|x| x == "repo") && path.with_extension("").exists()
                {
                    continue;
                }
                match fs_err::remove_file(&path) {
                    Ok(()) => {
                        count += 1;
                        bytes += meta.len();
                        if dir == "uploads" {
                            let _ = fs_err::remove_file(path.with_extension("repo"));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((count, bytes))
    }

    /// Verifies an upload against `digest` and moves it into `blobs/`. `hashed` is the
    /// digest computed while the bytes arrived, when the server still has it; else the
    /// file is hashed again.
    pub fn finish_upload(
        &self,
        name: &str,
        id: &str,
        digest: &Digest,
        hashed: Option<(Digest, u64)>,
    ) -> io::Result<Finish> {
        let Some(path) = self.upload_path(name, id) else {
            return Ok(Finish::Unknown);
        };
        let Some(size) = fs_err::metadata(&path).ok().map(|m| m.len()) else {
            return Ok(Finish::Unknown);
        };
        let record = path.with_extension("repo");
        // The running hash is sha256's; another algorithm hashes the file.
        let actual = match hashed {
            Some((d, n)) if n == size && d.algorithm() == digest.algorithm() => d,
            _ => hash_file(&path, digest.algorithm())?,
        };
        if &actual != digest {
            let _ = fs_err::remove_file(&path);
            let _ = fs_err::remove_file(&record);
            return Ok(Finish::Mismatch { actual });
        }
        let dest = self.blob_path(digest);
        if dest.exists() {
            fs_err::remove_file(&path)?;
        } else {
            fs_err::File::open(&path)?.sync_all()?;
            fs_err::rename(&path, &dest)?;
        }
        let _ = fs_err::remove_file(&record);
        self.link_blob(name, digest)?;
        Ok(Finish::Done { size })
    }

    // --- manifests and tags ---

    fn revision_path(&self, name: &str, d: &Digest) -> PathBuf {
        self.repo(name)
            .join("_revisions")
            .join(d.algorithm().to_string())
            .join(d.hex())
    }

    fn tag_path(&self, name: &str, tag: &str) -> PathBuf {
        self.repo(name).join("_tags").join(tag)
    }

    /// Stores a manifest (its bytes as a blob, its revision, its tag, its referrer entry).
    pub fn put_manifest(
        &self,
        name: &str,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
        tag: Option<&str>,
        subject: Option<(&Digest, &serde_json::Value)>,
    ) -> io::Result<()> {
        let blob = self.blob_path(digest);
        if !blob.exists() {
            self.write_atomic(&blob, bytes)?;
        }
        if let Some((subject, descriptor)) = subject {
            let p = self
                .repo(name)
                .join("_referrers")
                .join(subject.hex())
                .join(digest.hex());
            self.write_atomic(&p, descriptor.to_string().as_bytes())?;
        }
        self.write_atomic(&self.revision_path(name, digest), media_type.as_bytes())?;
        if let Some(tag) = tag {
            self.write_atomic(&self.tag_path(name, tag), digest.to_string().as_bytes())?;
        }
        Ok(())
    }

    /// The digest a tag points at.
    pub fn resolve_tag(&self, name: &str, tag: &str) -> Option<Digest> {
        let s = fs_err::read_to_string(self.tag_path(name, tag)).ok()?;
        Digest::parse(s.trim()).ok()
    }

    /// A manifest in the repository: media type and bytes.
    pub fn get_manifest(&self, name: &str, d: &Digest) -> io::Result<Option<(String, Vec<u8>)>> {
        let media_type = match fs_err::read_to_string(self.revision_path(name, d)) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match fs_err::read(self.blob_path(d)) {
            Ok(b) => Ok(Some((media_type, b))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn has_manifest(&self, name: &str, d: &Digest) -> bool {
        self.revision_path(name, d).exists()
    }

    /// Deletes one tag; other tags on the same manifest stay.
    pub fn delete_tag(&self, name: &str, tag: &str) -> io::Result<bool> {
        match fs_err::remove_file(self.tag_path(name, tag)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes a manifest from a repository, with the tags that point at it.
    pub fn delete_manifest(&self, name: &str, d: &Digest) -> io::Result<bool> {
        if !self.revision_path(name, d).exists() {
            return Ok(false);
        }
        for tag in self.tags(name)?.unwrap_or_default() {
            if self.resolve_tag(name, &tag).as_ref() == Some(d) {
                self.delete_tag(name, &tag)?;
            }
        }
        // Referrer entries naming this manifest.
        let referrers = self.repo(name).join("_referrers");
        if let Ok(subjects) = fs_err::read_dir(&referrers) {
            for s in subjects.flatten() {
                let _ = fs_err::remove_file(s.path().join(d.hex()));
            }
        }
        fs_err::remove_file(self.revision_path(name, d))?;
        Ok(true)
    }

    /// The repository's tags, sorted; `None` when the repository does not exist.
    pub fn tags(&self, name: &str) -> io::Result<Option<Vec<String>>> {
        if !self.repo_exists(name) {
            return Ok(None);
        }
        let mut tags = Vec::new();
        if let Ok(entries) = fs_err::read_dir(self.repo(name).join("_tags")) {
            for e in entries {
                if let Some(t) = e?.file_name().to_str() {
                    tags.push(t.to_owned());
                }
            }
        }
        tags.sort();
        Ok(Some(tags))
    }

    /// Descriptors of the manifests whose subject is `subject`.
    pub fn referrers(&self, name: &str, subject: &Digest) -> io::Result<Vec<serde_json::Value>> {
        let dir = self.repo(name).join("_referrers").join(subject.hex());
        let mut out = Vec::new();
        let Ok(entries) = fs_err::read_dir(&dir) else {
            return Ok(out);
        };
        for e in entries {
            let bytes = fs_err::read(e?.path())?;
            if let Ok(v) = serde_json::from_slice(&bytes) {
                out.push(v);
            }
        }
        out.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
        Ok(out)
    }

    /// Every repository name, sorted.
    pub fn catalog(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        walk_repos(&self.root.join("repos"), "", &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn walk_repos(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Ok(());
    };
    let mut is_repo = false;
    for e in entries {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('_') {
            is_repo = true;
            continue;
        }
        if e.file_type()?.is_dir() {
            let child = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            walk_repos(&e.path(), &child, out)?;
        }
    }
    if is_repo && !prefix.is_empty() {
        out.push(prefix.to_owned());
    }
    Ok(())
}

/// How long ago a file was last modified (`None` when the clock or the file cannot
/// say).
pub(crate) fn age(meta: &std::fs::Metadata) -> Option<std::time::Duration> {
    let modified = meta.modified().ok()?;
    std::time::SystemTime::now().duration_since(modified).ok()
}

/// The digest-named files under `dir/ALGORITHM/` for each algorithm the registry
/// stores (sha256, sha512), with their paths; nothing when `dir` does not exist.
fn digests_in(dir: &Path) -> io::Result<Vec<(Digest, PathBuf)>> {
    let mut out = Vec::new();
    for algorithm in ["sha256", "sha512"] {
        let Ok(entries) = fs_err::read_dir(dir.join(algorithm)) else {
            continue;
        };
        for e in entries {
            let e = e?;
            if let Some(n) = e.file_name().to_str()
                && let Ok(d) = Digest::parse(&format!("{algorithm}:{n}"))
            {
                out.push((d, e.path()));
            }
        }
    }
    Ok(out)
}

/// The digest of `bytes` with `algorithm` (sha512 when asked, sha256 otherwise).
pub(crate) fn digest_of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(bytes);
    h.finish()
}

/// The digest of a file's content with `algorithm`, read in 1 MiB pieces.
pub(crate) fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<Digest> {
    let mut f = fs_err::File::open(path)?;
    let mut h = Hasher::new(algorithm);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

/// A running hash of one of the algorithms digests name.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
            _ => Hasher::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_sha256_bytes(&h.finalize().into()),
            Hasher::Sha512(h) => Digest::from_sha512_bytes(&h.finalize().into()),
        }
    }
}

/// A random upload id (32 hex characters from the OS's random source).
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = fs_err::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
