//! Test support: a throwaway store, the lade binary, tarballs built on the fly.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary directory holding a store (`root`) and scratch files.
pub struct TestRoot {
    pub dir: tempfile::TempDir,
}

impl TestRoot {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temp dir"),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `lade --root ROOT args…`
    pub fn lade(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lade"));
        c.arg("--root").arg(self.root());
        c.env_remove("LADE_ROOT");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.lade().args(args).output().expect("run lade"))
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut cmd = self.lade();
        cmd.args(args);
        run_with_stdin(cmd, stdin)
    }

    /// Every file under the store with its content, to prove a failed command changed nothing.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.root(), &self.root(), &mut out);
        out.sort();
        out
    }
}

/// Runs `cmd` with `stdin` on its standard input, capturing its output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lade");
    let mut input = child.stdin.take().expect("stdin");
    // The child may stop reading early (bad input); that is not the test's failure.
    let _ = input.write_all(stdin);
    drop(input);
    Run::from(child.wait_with_output().expect("wait for lade"))
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let e = e.unwrap();
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        if rel.ends_with("lock") {
            continue; // lock files are created empty by readers of the lock
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
}

/// The outcome of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "lade failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(self, needle: &str) -> Self {
        assert_ne!(
            self.code, 0,
            "lade succeeded but should not have:\n{}",
            self.stdout
        );
        assert!(
            self.stderr.contains(needle),
            "stderr does not contain {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A tar archive of the given files (path, content) with a directory and a symlink.
pub fn tarball(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "etc/", &[][..]).unwrap();
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, *data).unwrap();
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    b.append_link(&mut link, "etc/link", "hostname").unwrap();
    b.into_inner().unwrap()
}

/// Deterministic incompressible bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).unwrap();
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a shell pipeline; returns its stdout. Panics with its stderr on failure.
#[track_caller]
pub fn sh(script: &str) -> String {
    let o = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(
        o.status.success(),
        "`{script}` failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

/// Reads the store's index.json.
pub fn index(t: &TestRoot) -> serde_json::Value {
    json(&std::fs::read_to_string(t.root().join("index.json")).unwrap())
}

/// The blob a digest names, from the store.
pub fn blob(t: &TestRoot, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::read(t.root().join("blobs/sha256").join(hex)).unwrap()
}

/// The manifest digest of the index entry named `name` (full reference).
pub fn manifest_of(t: &TestRoot, name: &str) -> String {
    index(t)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap_or_else(|| panic!("no index entry named {name}"))["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Imports a small image of its own (content from `seed`); returns its ID. `name` may
/// be `None` for a dangling image.
pub fn import_image(t: &TestRoot, name: Option<&str>, seed: u64) -> String {
    let tar = image_tar(seed);
    let mut args = vec!["import", "-"];
    args.extend(name);
    t.run_stdin(&args, &tar).ok().stdout.trim().to_owned()
}

/// The blob files in the store, sorted.
pub fn blob_files(t: &TestRoot) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(t.root().join("blobs/sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `lade system check` passes with no problem at all (no orphan blob, no leftover).
#[track_caller]
pub fn assert_clean(t: &TestRoot) {
    let check = t.run(&["system", "check"]).ok().stdout;
    assert!(check.contains(": 0 problems"), "{check}");
}

/// Docker's `units.HumanSize` (three significant digits, base 1000), to predict output.
pub fn human(size: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = size as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let decimals = if v == 0.0 {
        0
    } else {
        (2 - v.log10().floor() as i32).max(0) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    format!("{s}{}", units[u])
}

/// The tarball `import_image` imports for `seed`.
pub fn image_tar(seed: u64) -> Vec<u8> {
    tarball(&[("file", &noise(2_000 + seed as usize, seed))])
}

/// The SIZE of the image `import_image` imports for `seed`: as Docker counts it, the
/// bytes of its one file and the target of its symbolic link (not the tar stream's).
pub fn image_size(seed: u64) -> u64 {
    content_size(2_000 + seed)
}

/// What Docker counts for a [`tarball`] whose files hold `files` bytes in all: those,
/// and the length of the symbolic link's target (`hostname`).
pub fn content_size(files: u64) -> u64 {
    files + "hostname".len() as u64
}

/// `lade registry serve --addr 127.0.0.1:0 --storage DIR --no-access-log [extra…]`,
/// its port read from the line it prints on stderr; killed when dropped.
pub struct LadeRegistry {
    child: std::process::Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    /// What it printed on stderr after the listening line.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LadeRegistry {
    #[track_caller]
    pub fn start(storage: &Path, extra: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_lade"))
            .args([
                "registry",
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--no-access-log",
            ])
            .arg("--storage")
            .arg(storage)
            .args(extra)
            .env_remove("LADE_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run lade registry serve");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        // Reads the port, then keeps draining so that the server never blocks on a pipe.
        std::thread::spawn(move || {
            let mut early = Vec::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("lade registry listening on ") {
                    let addr = rest.split(' ').next().unwrap_or_default().to_owned();
                    let _ = tx.send(Ok(addr));
                } else {
                    early.push(line.clone());
                    sink.lock().unwrap().push(line);
                }
            }
            let _ = tx.send(Err(early.join("\n")));
        });
        let host = match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(Ok(host)) => host,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lade registry serve did not start: {other:?}");
            }
        };
        Self { child, host, log }
    }

    /// `127.0.0.1:PORT/REPO:TAG`
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        sh(&format!("kill -TERM {}", self.child.id()));
    }

    /// Sends SIGTERM; returns the exit status, or `None` if it did not exit in `timeout`.
    pub fn terminate(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        self.sigterm();
        self.wait(timeout)
    }

    /// The exit status, or `None` if it did not exit in `timeout`.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// What the server printed after it started listening.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for LadeRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` with a fresh tmpfs mounted at `dir` (options as given); skips when this
/// machine does not let the test mount (not root).
pub fn with_tmpfs(dir: &std::path::Path, options: &str, f: impl FnOnce()) {
    std::fs::create_dir_all(dir).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs", dir.to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(dir);
    f();
}
