//! Crash consistency (issue 9): `SIGKILL` at moments spread over the whole run of pull,
//! push, import, tag, rmi and image prune (the client), and of `lade registry serve`
//! during uploads and `lade registry gc` (the registry). After every kill the local
//! store passes `lade system check` (nothing corrupt, nothing missing) and the registry
//! storage passes the same checks made from outside (`registry_fsck`); re-running the
//! operation completes with the right digests. For the registry, every manifest it
//! acknowledged (a `201` seen by the proxy in front of it) stays pullable, and every
//! blob it serves hashes to its name.
//!
//! Each test prints how many runs it killed mid-way (`cargo test crash -- --nocapture`).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fault_proxy::{FaultProxy, http};
use crate::registry_support::*;
use crate::support::*;

/// Moments to kill at: `n` points spread over `0..1.2 × typical`, shuffled a little so
/// that neighbouring runs do not all land on the same step.
fn moments(n: usize, typical: Duration) -> Vec<Duration> {
    let span = typical.as_micros() as u64 * 6 / 5;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n as u64)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let base = span * i / n as u64;
            let jitter = x % (span / n as u64 + 1);
            Duration::from_micros(base + jitter)
        })
        .collect()
}

/// Runs `cmd` and `SIGKILL`s it after `delay` if it is still running. True when the
/// signal is what ended it.
fn kill_after(cmd: &mut Command, delay: Duration) -> bool {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let status = child.wait().unwrap();
    status.signal() == Some(9)
}

/// How long `cmd` takes when left alone (its output must be a success).
fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// `lade system check` exits 0 (no corrupt blob, no missing blob, no unreadable
/// manifest); returns how many harmless leftovers (unreferenced blobs, temporary
/// files) it found.
#[track_caller]
fn assert_sound(t: &TestRoot, what: &str) -> usize {
    let check = t.run(&["system", "check"]);
    assert_eq!(
        check.code, 0,
        "{what}: the store is damaged\n{}{}",
        check.stdout, check.stderr
    );
    assert!(
        !check.stdout.contains("corrupt") && !check.stdout.contains("missing"),
        "{what}:\n{}",
        check.stdout
    );
    check
        .stdout
        .lines()
        .filter(|l| l.starts_with("unreferenced") || l.starts_with("leftover"))
        .count()
}

/// `lade images --format {{.Repository}}:{{.Tag}}`
fn names(t: &TestRoot) -> Vec<String> {
    t.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout
        .lines()
        .map(str::to_owned)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// What the kills of one test did.
#[derive(Default)]
struct Tally {
    killed: usize,
    /// Kills after which `check` found more to reclaim than before.
    left_behind: usize,
    before: usize,
}

impl Tally {
    fn kill(&mut self, killed: bool) {
        self.killed += usize::from(killed);
    }

    fn after(&mut self, leftovers: usize) {
        if leftovers > self.before {
            self.left_behind += 1;
        }
        self.before = leftovers;
    }

    fn reset(&mut self) {
        self.before = 0;
    }
}

fn report(what: &str, runs: usize, tally: &Tally, start: Instant) {
    eprintln!(
        "crash {what}: {} of {runs} runs killed mid-way, store sound after every one, {} \
         kills left temporary files or unreferenced blobs to reclaim (`system check \
         --repair` did), re-run completed; {:?}",
        tally.killed,
        tally.left_behind,
        start.elapsed()
    );
}

/// The end of a client crash test: the store repaired is clean, enough runs were
/// really killed mid-way, and the figures are reported.
#[track_caller]
fn finish(t: &TestRoot, what: &str, runs: usize, tally: &Tally, start: Instant, min_killed: usize) {
    t.run(&["system", "check", "--repair"]).ok();
    assert_clean(t);
    assert!(
        tally.killed >= min_killed,
        "{what}: only {} of {runs} runs were killed mid-way",
        tally.killed
    );
    report(what, runs, tally, start);
}

/// An image of three layers (~2.5 MB) in a registry, pushed there by skopeo.
fn serve_sample(reg_image: &str, scratch: &TestRoot) -> Image {
    let layout = Layout::new(scratch.path("layout"));
    let image = Image::new(
        "amd64",
        &[
            tarball(&[("a", &noise(1_000_000, 11))]),
            tarball(&[("b", &noise(1_000_000, 12))]),
            tarball(&[("c", &noise(500_000, 13))]),
        ],
    );
    layout.add_image("app", &image);
    skopeo_push(&layout.source("app"), reg_image, &["--preserve-digests"]);
    image
}

#[test]
fn kill_9_during_pull() {
    let start = Instant::now();
    let scratch = TestRoot::new();
    let reg = LadeRegistry::start(&scratch.path("registry"), &[]);
    let reference = reg.image("crash/app:1");
    let image = serve_sample(&reference, &scratch);
    let t = TestRoot::new();
    let typical = timed(t.lade().args(["pull", "-q", &reference]));
    t.run(&["rmi", &reference]).ok();
    let mut tally = Tally::default();
    let runs = moments(40, typical);
    for (i, delay) in runs.iter().enumerate() {
        if names(&t).contains(&reference) {
            t.run(&["rmi", &reference]).ok();
        }
        tally.kill(kill_after(
            t.lade().args(["pull", "-q", &reference]),
            *delay,
        ));
        tally.after(assert_sound(
            &t,
            &format!("pull killed after {delay:?} (run {i})"),
        ));
        // A tag, when there is one, names the whole image.
        if names(&t).contains(&reference) {
            assert_eq!(manifest_of(&t, &reference), image.digest());
        }
    }
    t.run(&["pull", "-q", &reference]).ok();
    assert_eq!(manifest_of(&t, &reference), image.digest());
    for (d, bytes) in image.blobs() {
        assert_eq!(blob(&t, &d), bytes, "blob {d}");
    }
    finish(&t, "pull", runs.len(), &tally, start, 10);
}

/// `lade registry check` finds nothing damaged (leftover temporary files are allowed).
#[track_caller]
fn assert_registry_checks(t: &TestRoot, storage: &Path) {
    let run = t.run(&["registry", "check", "--storage", storage.to_str().unwrap()]);
    assert_eq!(run.code, 0, "registry check:\n{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("checked "), "{}", run.stdout);
}

/// The registry storage checked from outside, as `lade system check` checks a store:
/// every blob hashes to its name, every manifest a repository holds has its bytes, and
/// every tag names a manifest whose config, layers and children are there. Returns the
/// tags found (`repo:tag` → digest).
#[track_caller]
pub(crate) fn registry_fsck(root: &Path) -> Vec<(String, String)> {
    let blobs = root.join("blobs/sha256");
    let mut present = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&blobs).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).unwrap();
        assert_eq!(sha256_hex(&bytes), name, "corrupt registry blob {name}");
        present.insert(format!("sha256:{name}"));
    }
    let mut repos = Vec::new();
    find_repos(&root.join("repos"), "", &mut repos);
    let mut tags = Vec::new();
    for (repo, dir) in repos {
        let revisions: Vec<String> = std::fs::read_dir(dir.join("_revisions/sha256"))
            .map(|d| {
                d.map(|e| format!("sha256:{}", e.unwrap().file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        let linked = |d: &str| {
            dir.join("_blobs/sha256").join(&d[7..]).exists() || revisions.iter().any(|r| r == d)
        };
        for rev in &revisions {
            assert!(present.contains(rev), "{repo}: manifest {rev} has no bytes");
        }
        let Ok(entries) = std::fs::read_dir(dir.join("_tags")) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let tag = e.file_name().to_string_lossy().into_owned();
            let digest = std::fs::read_to_string(e.path()).unwrap().trim().to_owned();
            assert!(
                revisions.contains(&digest),
                "{repo}:{tag} names {digest:?}, which the repository does not hold"
            );
            let manifest =
                json(&String::from_utf8(std::fs::read(blobs.join(&digest[7..])).unwrap()).unwrap());
            let mut needed: Vec<String> = Vec::new();
            if let Some(c) = manifest["config"]["digest"].as_str() {
                needed.push(c.to_owned());
            }
            for l in manifest["layers"].as_array().into_iter().flatten() {
                needed.push(l["digest"].as_str().unwrap().to_owned());
            }
            for d in &needed {
                assert!(present.contains(d), "{repo}:{tag} lacks blob {d}");
                assert!(linked(d), "{repo}:{tag} cannot serve blob {d}");
            }
            for m in manifest["manifests"].as_array().into_iter().flatten() {
                let d = m["digest"].as_str().unwrap();
                assert!(
                    revisions.iter().any(|r| r == d),
                    "{repo}:{tag} lacks child {d}"
                );
            }
            tags.push((format!("{repo}:{tag}"), digest));
        }
    }
    tags.sort();
    tags
}

pub(crate) fn find_repos(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut is_repo = false;
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') {
            is_repo = true;
        } else if e.file_type().unwrap().is_dir() {
            let child = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            find_repos(&e.path(), &child, out);
        }
    }
    if is_repo {
        out.push((prefix.to_owned(), dir.to_owned()));
    }
}

/// Pulls `repo@digest` from `host` into a fresh store: lade verifies every digest.
#[track_caller]
pub(crate) fn assert_pullable(host: &str, repo: &str, digest: &str) {
    let t = TestRoot::new();
    let reference = format!("{host}/{repo}@{digest}");
    let run = t.run(&["pull", "-q", &reference]);
    assert_eq!(run.code, 0, "{reference} is not pullable:\n{}", run.stderr);
    assert_clean(&t);
}

#[test]
fn kill_9_during_push() {
    let start = Instant::now();
    let t = TestRoot::new();
    let scratch = TestRoot::new();
    let source = LadeRegistry::start(&scratch.path("source"), &[]);
    let src = source.image("crash/app:1");
    serve_sample(&src, &scratch);
    t.run(&["pull", "-q", &src]).ok();
    let local = manifest_of(&t, &src);
    // Fresh registries, so that every run has blobs to upload.
    let mut n = 0;
    let mut fresh = |t: &TestRoot| {
        n += 1;
        let storage = scratch.path(&format!("target{n}"));
        let reg = LadeRegistry::start(&storage, &[]);
        let target = reg.image("crash/pushed:1");
        t.run(&["tag", &src, &target]).ok();
        (reg, storage, target)
    };
    let (reg, _, target) = fresh(&t);
    let typical = timed(t.lade().args(["push", "-q", &target]));
    drop(reg);
    let mut tally = Tally::default();
    let runs = moments(30, typical);
    for (i, delay) in runs.iter().enumerate() {
        let (reg, storage, target) = fresh(&t);
        tally.kill(kill_after(t.lade().args(["push", "-q", &target]), *delay));
        let what = format!("push killed after {delay:?} (run {i})");
        tally.after(assert_sound(&t, &what));
        // The registry holds the tag only with everything it needs.
        registry_fsck(&storage);
        t.run(&["push", "-q", &target]).ok();
        let tags = registry_fsck(&storage);
        assert_eq!(
            tags,
            vec![("crash/pushed:1".to_owned(), local.clone())],
            "{what}"
        );
        if i % 6 == 0 {
            assert_pullable(&reg.host, "crash/pushed", &local);
        }
        t.run(&["rmi", &target]).ok();
    }
    finish(&t, "push", runs.len(), &tally, start, 8);
}

#[test]
fn kill_9_during_import() {
    let start = Instant::now();
    let t = TestRoot::new();
    let tar = tarball(&[("big", &noise(3 << 20, 21)), ("small", b"s")]);
    let input = t.path("in.tar");
    std::fs::write(&input, &tar).unwrap();
    let input = input.to_str().unwrap();
    let typical = timed(t.lade().args(["import", input, "first:1"]));
    let mut tally = Tally::default();
    let runs = moments(30, typical);
    for (i, delay) in runs.iter().enumerate() {
        let name = format!("victim:{i}");
        tally.kill(kill_after(t.lade().args(["import", input, &name]), *delay));
        tally.after(assert_sound(
            &t,
            &format!("import killed after {delay:?} (run {i})"),
        ));
        for n in names(&t) {
            assert!(n.starts_with("first:") || n.starts_with("victim:"), "{n}");
        }
    }
    t.run(&["import", input, "victim:done"]).ok();
    let layers = |name: &str| {
        t.run(&["inspect", "--format", "{{json .RootFS.Layers}}", name])
            .ok()
            .stdout
    };
    assert_eq!(
        layers("victim:done"),
        layers("first:1"),
        "the same input gives the same layer"
    );
    finish(&t, "import", runs.len(), &tally, start, 8);
}

#[test]
fn kill_9_during_load() {
    let start = Instant::now();
    let t = TestRoot::new();
    // A three-layer image saved by lade (docker-archive, as `docker load` reads it).
    let source = TestRoot::new();
    for (i, size) in [(0u64, 2usize << 20), (1, 1 << 20), (2, 300_000)] {
        let name = format!("part:{i}");
        source
            .run_stdin(
                &["import", "-", &name],
                &tarball(&[("f", &noise(size, 40 + i))]),
            )
            .ok();
    }
    // Three images in one archive: the load has several blobs and names to write.
    let archive = t.path("images.tar");
    source
        .run(&[
            "save",
            "-o",
            archive.to_str().unwrap(),
            "part:0",
            "part:1",
            "part:2",
        ])
        .ok();
    let archive = archive.to_str().unwrap();
    let typical = timed(t.lade().args(["load", "-q", "-i", archive]));
    let scratch_dir = source.path("scratch");
    std::fs::create_dir_all(&scratch_dir).unwrap();
    let mut tally = Tally::default();
    let runs = moments(30, typical);
    for (i, delay) in runs.iter().enumerate() {
        // Each run starts from an empty store: every blob has to be written.
        std::fs::remove_dir_all(t.root()).unwrap();
        tally.reset();
        tally.kill(kill_after(
            t.lade().args(["load", "-q", "-i", archive]),
            *delay,
        ));
        let what = format!("load killed after {delay:?} (run {i})");
        tally.after(if t.root().exists() {
            assert_sound(&t, &what)
        } else {
            0
        });
        // A name is there only with the whole image behind it.
        if t.root().exists() {
            for n in names(&t) {
                assert!(n.starts_with("part:"), "{what}: {n}");
                let out = scratch_dir.join("export.tar");
                t.run(&["image", "export", "-o", out.to_str().unwrap(), &n])
                    .ok();
            }
        }
        t.run(&["load", "-q", "-i", archive]).ok();
        for i in 0..3 {
            let n = format!("docker.io/library/part:{i}");
            assert_eq!(manifest_of(&t, &n), manifest_of(&source, &n), "{what}: {n}");
        }
        assert_sound(&t, &format!("{what}, then loaded again"));
    }
    assert!(
        tally.killed >= 8,
        "only {} loads were killed mid-way",
        tally.killed
    );
    report("load", runs.len(), &tally, start);
}

#[test]
fn kill_9_during_tag() {
    let start = Instant::now();
    let t = TestRoot::new();
    for seed in 0..10 {
        import_image(&t, Some(&format!("base{seed}:1")), seed);
    }
    let typical = timed(t.lade().args(["tag", "base0:1", "warmup:1"]));
    let mut tally = Tally::default();
    let runs = moments(60, typical);
    for (i, delay) in runs.iter().enumerate() {
        let (src, dst) = (format!("base{}:1", i % 10), format!("moved:{}", i % 4));
        tally.kill(kill_after(t.lade().args(["tag", &src, &dst]), *delay));
        tally.after(assert_sound(
            &t,
            &format!("tag killed after {delay:?} (run {i})"),
        ));
        t.run(&["tag", &src, &dst]).ok();
        let want = t.run(&["inspect", "--format", "{{.Id}}", &src]).ok().stdout;
        let got = t.run(&["inspect", "--format", "{{.Id}}", &dst]).ok().stdout;
        assert_eq!(got, want);
    }
    finish(&t, "tag", runs.len(), &tally, start, 10);
}

/// A store of 12 images (two tags each) and 6 dangling ones, copied before each run.
fn pristine(t: &TestRoot) -> PathBuf {
    for seed in 0..12 {
        let a = format!("keep{seed}:1");
        import_image(t, Some(&a), 100 + seed);
        t.run(&["tag", &a, &format!("keep{seed}:2")]).ok();
    }
    for seed in 0..6 {
        import_image(t, None, 200 + seed);
    }
    let copy = t.path("pristine");
    copy_dir(&t.root(), &copy);
    copy
}

fn restore(t: &TestRoot, pristine: &Path) {
    std::fs::remove_dir_all(t.root()).unwrap();
    copy_dir(pristine, &t.root());
}

#[test]
fn kill_9_during_rmi() {
    let start = Instant::now();
    let t = TestRoot::new();
    let pristine = pristine(&t);
    let victims: Vec<String> = (0..12)
        .flat_map(|s| [format!("keep{s}:1"), format!("keep{s}:2")])
        .collect();
    let rmi = |names: &[String]| {
        let mut c = t.lade();
        c.arg("rmi").args(names);
        c
    };
    let typical = (0..3)
        .map(|_| {
            restore(&t, &pristine);
            timed(&mut rmi(&victims))
        })
        .min()
        .unwrap();
    let mut tally = Tally::default();
    let runs = moments(40, typical);
    for (i, delay) in runs.iter().enumerate() {
        restore(&t, &pristine);
        tally.reset();
        tally.kill(kill_after(&mut rmi(&victims), *delay));
        let what = format!("rmi killed after {delay:?} (run {i})");
        tally.after(assert_sound(&t, &what));
        // Re-run on what is left: it completes and leaves only the dangling images.
        let left: Vec<String> = names(&t)
            .into_iter()
            .filter(|n| n.starts_with("keep"))
            .collect();
        if !left.is_empty() {
            rmi(&left).output().unwrap();
            t.run(&["system", "check"]).ok();
        }
        assert!(
            names(&t).iter().all(|n| n == "<none>:<none>"),
            "{what}: {:?}",
            names(&t)
        );
        assert_eq!(names(&t).len(), 6, "{what}");
    }
    finish(&t, "rmi", runs.len(), &tally, start, 10);
}

#[test]
fn kill_9_during_image_prune() {
    let start = Instant::now();
    let t = TestRoot::new();
    let pristine = pristine(&t);
    let typical = (0..3)
        .map(|_| {
            restore(&t, &pristine);
            timed(t.lade().args(["image", "prune", "-a", "-f"]))
        })
        .min()
        .unwrap();
    let mut tally = Tally::default();
    let runs = moments(40, typical);
    for (i, delay) in runs.iter().enumerate() {
        restore(&t, &pristine);
        // Alternate: dangling images only, and everything.
        let all = i % 2 == 1;
        let args: &[&str] = if all {
            &["image", "prune", "-a", "-f"]
        } else {
            &["image", "prune", "-f"]
        };
        tally.kill(kill_after(t.lade().args(args), *delay));
        let what = format!("image prune killed after {delay:?} (run {i})");
        tally.after(assert_sound(&t, &what));
        t.run(args).ok();
        let left = names(&t);
        if all {
            assert!(left.is_empty(), "{what}: {left:?}");
        } else {
            assert_eq!(left.len(), 24, "{what}: {left:?}");
        }
        t.run(&["system", "check"]).ok();
    }
    finish(&t, "image prune", runs.len(), &tally, start, 10);
}

/// The manifests the registry acknowledged: `(repo, digest)` of every `PUT` of a
/// manifest it answered `201`.
fn acknowledged(proxy: &FaultProxy) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = proxy
        .log()
        .into_iter()
        .filter(|e| e.method == "PUT" && e.path.contains("/manifests/") && e.status == Some(201))
        .map(|e| {
            let repo = e.path["/v2/".len()..e.path.rfind("/manifests/").unwrap()].to_owned();
            (repo, e.digest.expect("a 201 names the digest"))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every blob the registry serves (each repository's links and manifests), fetched over
/// HTTP and hashed.
fn assert_served_blobs_verify(host: &str, storage: &Path) -> usize {
    let mut repos = Vec::new();
    find_repos(&storage.join("repos"), "", &mut repos);
    let mut n = 0;
    for (repo, dir) in repos {
        let Ok(links) = std::fs::read_dir(dir.join("_blobs/sha256")) else {
            continue;
        };
        for l in links {
            let hex = l.unwrap().file_name().to_string_lossy().into_owned();
            let (status, _, body) = http(
                host,
                "GET",
                &format!("/v2/{repo}/blobs/sha256:{hex}"),
                &[],
                b"",
            );
            // A link whose blob an upload never finished is not served at all.
            if status == 404 {
                continue;
            }
            assert_eq!(status, 200, "{repo} blob {hex}");
            assert_eq!(sha256_hex(&body), hex, "{repo} serves a corrupt blob");
            n += 1;
        }
    }
    n
}

#[test]
fn kill_9_of_the_registry_during_uploads() {
    let start = Instant::now();
    let t = TestRoot::new();
    let storage = t.path("registry");
    let mut reg = LadeRegistry::start(&storage, &[]);
    let proxy = FaultProxy::start(&reg.host);
    // Distinct images, so that every push uploads.
    let runs = 16;
    for k in 0..runs {
        let tar = tarball(&[("data", &noise(1_500_000, 500 + k as u64))]);
        t.run_stdin(&["import", "-", &format!("src:{k}")], &tar)
            .ok();
    }
    let typical = {
        t.run(&["tag", "src:0", &proxy.image("warm/up:1")]).ok();
        timed(t.lade().args(["push", "-q", &proxy.image("warm/up:1")]))
    };
    let mut killed = 0;
    let mut verified = 0;
    for (k, delay) in moments(runs, typical).into_iter().enumerate() {
        // lade and skopeo take turns.
        let mut pusher = if k % 2 == 0 {
            let target = proxy.image(&format!("srv/lade:{k}"));
            t.run(&["tag", &format!("src:{k}"), &target]).ok();
            let mut c = t.lade();
            c.args(["push", "-q", &target]);
            c
        } else {
            let mut c = Command::new("skopeo");
            c.args(["copy", "-q", "--dest-tls-verify=false"])
                .arg(format!(
                    "oci:{}:docker.io/library/src:{k}",
                    t.root().display()
                ))
                .arg(format!(
                    "docker://{}",
                    proxy.image(&format!("srv/skopeo:{k}"))
                ));
            c
        };
        let mut child = pusher
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        sh(&format!("kill -KILL {}", reg.pid()));
        if reg
            .wait(Duration::from_secs(10))
            .is_some_and(|s| s.signal() == Some(9))
        {
            killed += 1;
        }
        drop(reg);
        registry_fsck(&storage);
        assert_registry_checks(&t, &storage);
        reg = LadeRegistry::start(&storage, &[]);
        proxy.set_upstream(&reg.host);
        // The client may finish (lade retries) or give up; either way it ends.
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "run {k}: the push hangs");
            std::thread::sleep(Duration::from_millis(20));
        }
        registry_fsck(&storage);
    }
    // Everything acknowledged is there, whole.
    let acked = acknowledged(&proxy);
    for (repo, digest) in &acked {
        assert_pullable(&proxy.host, repo, digest);
        verified += 1;
    }
    let served = assert_served_blobs_verify(&proxy.host, &storage);
    // And every push completes once the registry stays up.
    for k in 0..runs {
        let (repo, tag) = if k % 2 == 0 {
            ("srv/lade", k)
        } else {
            ("srv/skopeo", k)
        };
        if k % 2 == 1 {
            t.run(&[
                "tag",
                &format!("src:{k}"),
                &proxy.image(&format!("{repo}:{tag}")),
            ])
            .ok();
        }
        t.run(&["push", "-q", &proxy.image(&format!("{repo}:{tag}"))])
            .ok();
        let want = manifest_of(&t, &format!("docker.io/library/src:{k}"));
        assert_pullable(&proxy.host, repo, &want);
    }
    registry_fsck(&storage);
    // Uploads the kills cut short stay as files: nothing reclaims them yet.
    let abandoned = std::fs::read_dir(storage.join("uploads")).unwrap().count();
    assert!(killed >= runs / 2, "only {killed} registry kills landed");
    eprintln!(
        "crash registry uploads: {killed} registry kills during {runs} pushes; {} manifests \
         acknowledged before a kill all pullable, {served} served blobs verified, every push \
         completed afterwards, {abandoned} abandoned upload files left in uploads/; {:?}",
        verified,
        start.elapsed()
    );
}

#[test]
fn kill_9_during_registry_gc() {
    let start = Instant::now();
    let t = TestRoot::new();
    let storage = t.path("registry");
    let reg = LadeRegistry::start(&storage, &[]);
    // Kept: tagged images. Garbage: one more image per run, its tag deleted before the run.
    let runs = 40;
    let mut kept = Vec::new();
    for k in 0..4 {
        let name = reg.image(&format!("gc/keep:{k}"));
        let tar = tarball(&[("data", &noise(300_000, 700 + k))]);
        t.run_stdin(&["import", "-", &name], &tar).ok();
        t.run(&["push", "-q", &name]).ok();
        kept.push((format!("gc/keep:{k}"), manifest_of(&t, &name)));
    }
    for k in 0..runs {
        let name = reg.image(&format!("gc/junk:{k}"));
        let tar = tarball(&[("data", &noise(200_000, 800 + k as u64))]);
        t.run_stdin(&["import", "-", &name], &tar).ok();
        t.run(&["push", "-q", &name]).ok();
    }
    let gc = || {
        let mut c = t.lade();
        c.args([
            "registry",
            "gc",
            "--grace",
            "0",
            "--delete-untagged",
            "--storage",
        ])
        .arg(&storage);
        c
    };
    let delete_tag = |k: usize| {
        let (status, _, body) = http(
            &reg.host,
            "DELETE",
            &format!("/v2/gc/junk/manifests/{k}"),
            &[],
            b"",
        );
        assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    };
    // The median of three whole runs: one run slowed by a busy machine would put every
    // kill after the end.
    let mut samples: Vec<Duration> = (0..3)
        .map(|k| {
            delete_tag(k);
            timed(&mut gc())
        })
        .collect();
    samples.sort();
    let typical = samples[1];
    let mut killed = 0;
    for (i, delay) in moments(runs - 3, typical).into_iter().enumerate() {
        delete_tag(i + 3);
        killed += usize::from(kill_after(&mut gc(), delay));
        let tags = registry_fsck(&storage);
        assert_registry_checks(&t, &storage);
        for (name, digest) in &kept {
            assert!(
                tags.contains(&(name.clone(), digest.clone())),
                "run {i}: {name} is gone"
            );
        }
        // Run again to the end: the junk goes, the kept images stay.
        let out = Run::from(gc().output().unwrap()).ok().stdout;
        assert!(out.contains("blobs kept"), "{out}");
    }
    let tags = registry_fsck(&storage);
    let junk = tags
        .iter()
        .filter(|(n, _)| n.starts_with("gc/junk"))
        .count();
    assert_eq!(junk, 0, "{tags:?}");
    for (name, digest) in &kept {
        let repo = name.split(':').next().unwrap();
        assert_pullable(&reg.host, repo, digest);
    }
    // Nothing is left but the kept images' manifests, configs and layers.
    let blobs = std::fs::read_dir(storage.join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, kept.len() * 3, "garbage left behind");
    assert!(killed >= 10, "only {killed} gc runs were killed mid-way");
    eprintln!(
        "crash registry gc: {killed} of {} gc runs killed mid-way, storage sound after every \
         one, kept images pullable, garbage gone after a re-run; {:?}",
        runs - 3,
        start.elapsed()
    );
}
