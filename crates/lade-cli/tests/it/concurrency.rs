//! Concurrency (issue 9): several lade processes pulling, tagging, removing and pruning
//! in one store at once; and `lade registry serve` taking concurrent pushes of images
//! that share layers, from several stores, while `lade registry gc --grace 0` runs over
//! and over. Nothing acknowledged is lost and nothing is corrupt.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::crash::{assert_pullable, registry_fsck};
use crate::fault_proxy::{FaultProxy, http};
use crate::registry_support::*;
use crate::support::*;

/// `n` images sharing a base layer (and, in pairs, a middle one), pushed by skopeo to
/// `REG/cc/app:I`. Returns their manifest digests.
fn serve_family(reg: &LadeRegistry, scratch: &TestRoot, n: usize) -> Vec<String> {
    let layout = Layout::new(scratch.path("layout"));
    let base = tarball(&[("base", &noise(400_000, 1))]);
    let mids = [
        tarball(&[("mid", &noise(200_000, 2))]),
        tarball(&[("mid", &noise(200_000, 3))]),
    ];
    (0..n)
        .map(|i| {
            let own = tarball(&[("own", &noise(100_000, 10 + i as u64))]);
            let image = Image::new("amd64", &[base.clone(), mids[i % 2].clone(), own]);
            let name = format!("app{i}");
            layout.add_image(&name, &image);
            skopeo_push(
                &layout.source(&name),
                &reg.image(&format!("cc/app:{i}")),
                &["--preserve-digests"],
            );
            image.digest()
        })
        .collect()
}

#[test]
fn pulls_tags_removals_and_prunes_in_one_store_at_once() {
    let start = Instant::now();
    let scratch = TestRoot::new();
    let reg = LadeRegistry::start(&scratch.path("registry"), &[]);
    let digests = serve_family(&reg, &scratch, 4);
    let t = TestRoot::new();
    import_image(&t, Some("seed:1"), 1);
    let workers = 4;
    let rounds = 6;
    let commands = AtomicUsize::new(0);
    let raced = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for w in 0..workers {
            let (t, reg, commands, raced) = (&t, &reg, &commands, &raced);
            s.spawn(move || {
                let run = |args: &[&str]| {
                    commands.fetch_add(1, Ordering::Relaxed);
                    t.run(args)
                };
                for r in 0..rounds {
                    let shared = reg.image(&format!("cc/app:{}", (w + r) % 4));
                    run(&["pull", "-q", &shared]).ok();
                    let mine = format!("w{w}/mine:{r}");
                    // Another worker may have removed the shared name in between.
                    let tag = run(&["tag", &shared, &mine]);
                    if tag.code != 0 {
                        assert!(tag.stderr.contains("No such image"), "{}", tag.stderr);
                        raced.fetch_add(1, Ordering::Relaxed);
                        run(&["tag", "seed:1", &mine]).ok();
                    }
                    if r > 0 {
                        run(&["rmi", &format!("w{w}/mine:{}", r - 1)]).ok();
                    }
                    match (w + r) % 3 {
                        0 => {
                            run(&["image", "prune", "-f"]).ok();
                        }
                        1 if w == 3 => {
                            // Removes a name other workers pull and tag from.
                            let gone = run(&["rmi", &shared]);
                            if gone.code != 0 {
                                assert!(gone.stderr.contains("No such image"), "{}", gone.stderr);
                                raced.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            let check = run(&["system", "check"]);
                            assert_eq!(check.code, 0, "{}", check.stdout);
                        }
                    }
                }
            });
        }
    });
    // Each worker's last tag is there and whole; the shared names that are left point
    // at the registry's manifests.
    for w in 0..workers {
        t.run(&["inspect", &format!("w{w}/mine:{}", rounds - 1)])
            .ok();
    }
    for (i, d) in digests.iter().enumerate() {
        let shared = reg.image(&format!("cc/app:{i}"));
        if t.run(&["inspect", &shared]).code == 0 {
            assert_eq!(&manifest_of(&t, &shared), d);
        }
    }
    assert_clean(&t);
    eprintln!(
        "concurrency store: {workers} processes ran {} commands (pull, tag, rmi, image prune, \
         check) on one store, {} lost a race cleanly (No such image), store clean; {:?}",
        commands.load(Ordering::Relaxed),
        raced.load(Ordering::Relaxed),
        start.elapsed()
    );
}

/// `lade registry gc --grace G --storage DIR` run over and over until `done`; returns
/// how many runs completed (every one must succeed).
fn gc_loop(storage: &std::path::Path, grace: &str, done: &AtomicBool) -> usize {
    let mut runs = 0;
    while !done.load(Ordering::SeqCst) {
        let run = Run::from(
            std::process::Command::new(env!("CARGO_BIN_EXE_lade"))
                .args(["registry", "gc", "--grace", grace, "--storage"])
                .arg(storage)
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "gc failed:\n{}", run.stderr);
        runs += 1;
    }
    runs
}

/// Each store pushes its four images to `REPO_PREFIX{n}-{i}:1`, up to `tries` times
/// each, while `gc_loop` runs; returns `(pushed (name, digest), failed attempts)`.
fn push_all(
    stores: &[TestRoot],
    source: &LadeRegistry,
    proxy: &FaultProxy,
    prefix: &str,
    tries: usize,
    storage: &std::path::Path,
    grace: &str,
) -> (Vec<(String, String)>, Vec<String>, usize) {
    let done = AtomicBool::new(false);
    let pushed: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let gc_runs = std::thread::scope(|sc| {
        let gc = sc.spawn(|| gc_loop(storage, grace, &done));
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let (pushed, failures) = (&pushed, &failures);
                sc.spawn(move || {
                    for i in 0..4 {
                        let repo = format!("{prefix}{n}-{i}");
                        let name = proxy.image(&format!("{repo}:1"));
                        s.run(&["tag", &source.image(&format!("cc/app:{i}")), &name])
                            .ok();
                        for _ in 0..tries {
                            let run = s.run(&["push", "-q", &name]);
                            if run.code == 0 {
                                pushed
                                    .lock()
                                    .unwrap()
                                    .push((format!("{repo}:1"), manifest_of(s, &name)));
                                break;
                            }
                            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
                            failures.lock().unwrap().push(format!(
                                "{name}: {}",
                                run.stderr.lines().collect::<Vec<_>>().join(" / ")
                            ));
                        }
                    }
                })
            })
            .collect();
        // Stop the gc loop even when a pusher failed, then report the failure.
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        done.store(true, Ordering::SeqCst);
        let gc_runs = gc.join();
        for r in results {
            if let Err(e) = r {
                std::panic::resume_unwind(e);
            }
        }
        gc_runs.unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    (
        pushed.into_inner().unwrap(),
        failures.into_inner().unwrap(),
        gc_runs,
    )
}

/// Every manifest the registry acknowledged (`201` through the proxy) is whole and
/// pullable; returns how many there were.
fn assert_acknowledged_pullable(proxy: &FaultProxy, storage: &std::path::Path) -> usize {
    registry_fsck(storage);
    let acked: Vec<_> = proxy
        .log()
        .into_iter()
        .filter(|e| e.method == "PUT" && e.path.contains("/manifests/") && e.status == Some(201))
        .collect();
    for e in &acked {
        let repo = &e.path["/v2/".len()..e.path.rfind("/manifests/").unwrap()];
        assert_pullable(&proxy.host, repo, e.digest.as_deref().unwrap());
    }
    acked.len()
}

#[test]
fn concurrent_pushes_of_shared_layers_while_registry_gc_runs() {
    let start = Instant::now();
    let scratch = TestRoot::new();
    let source = LadeRegistry::start(&scratch.path("source"), &[]);
    serve_family(&source, &scratch, 4);
    // Two registries (one per grace period), each behind a proxy that logs what the
    // registry acknowledged.
    let storage = scratch.path("target");
    let target = LadeRegistry::start(&storage, &[]);
    let proxy = FaultProxy::start(&target.host);
    let storage0 = scratch.path("target0");
    let target0 = LadeRegistry::start(&storage0, &[]);
    let proxy0 = FaultProxy::start(&target0.host);
    let stores: Vec<TestRoot> = (0..3).map(|_| TestRoot::new()).collect();
    for s in &stores {
        for i in 0..4 {
            s.run(&["pull", "-q", &source.image(&format!("cc/app:{i}"))])
                .ok();
        }
    }

    // With the default kind of grace period, GC never takes what a push is about to
    // reference: every push goes through the first time.
    let (pushed, failures, gc_kept) = push_all(&stores, &source, &proxy, "cc/g", 1, &storage, "60");
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(pushed.len(), 12);

    // With --grace 0, GC deletes blobs uploaded a moment ago that no manifest references
    // yet, so a push may fail (MANIFEST_BLOB_UNKNOWN) — but nothing acknowledged is lost.
    let (pushed0, failures0, gc_zero) =
        push_all(&stores, &source, &proxy0, "cc/z", 3, &storage0, "0");
    let acked = assert_acknowledged_pullable(&proxy, &storage)
        + assert_acknowledged_pullable(&proxy0, &storage0);
    for ((p, storage), pushed) in [
        ((&proxy, &storage), &pushed),
        ((&proxy0, &storage0), &pushed0),
    ] {
        let tags = registry_fsck(storage);
        for (name, digest) in pushed {
            assert!(
                tags.contains(&(name.clone(), digest.clone())),
                "{name} was pushed but is not in the registry"
            );
            let repo = name.split(':').next().unwrap();
            assert_pullable(&p.host, repo, digest);
        }
    }
    for f in &failures0 {
        assert!(
            f.contains("blob unknown"),
            "a push failed for another reason than GC taking its blobs: {f}"
        );
    }
    // Once GC stops, every push that did not go through does.
    let mut retried = 0;
    for (n, s) in stores.iter().enumerate() {
        for i in 0..4 {
            let name = format!("cc/z{n}-{i}:1");
            if !pushed0.iter().any(|(p, _)| *p == name) {
                s.run(&["push", "-q", &proxy0.image(&name)]).ok();
                retried += 1;
            }
        }
    }
    assert_acknowledged_pullable(&proxy0, &storage0);
    eprintln!(
        "concurrency registry: 3 stores pushed 12 images sharing layers while `registry gc \
         --grace 60` ran {gc_kept} times: all went through the first time; again while \
         `--grace 0` ran {gc_zero} times: {} attempts failed with MANIFEST_BLOB_UNKNOWN \
         (GC took blobs uploaded a moment before), {retried} pushes completed once GC \
         stopped; {acked} acknowledged manifests, every one pullable; {:?}",
        failures0.len(),
        start.elapsed()
    );
}

/// Reproduces a GC race (reported to the owner of `crates/lade-server/src/gc.rs`): a
/// blob that is old and unreferenced (its manifest was deleted) but still in the
/// repository answers `HEAD` with 200, so a push skips uploading it; a `registry gc`
/// with the default grace period that runs before the push's manifest arrives deletes
/// it (neither the HEAD nor anything else made it young), and the manifest is refused
/// with MANIFEST_BLOB_UNKNOWN. The same holds for a cross-repository mount of such a
/// blob. A fix: let HEAD/GET of a blob and a mount refresh the repository's link (its
/// mtime), which `gc::plan` already treats as "linked recently".
#[test]
fn registry_gc_keeps_a_blob_a_push_was_just_told_exists() {
    let t = TestRoot::new();
    let storage = t.path("registry");
    let reg = LadeRegistry::start(&storage, &[]);
    let name = reg.image("gc/race:1");
    import_image(&t, Some(&name), 42);
    t.run(&["push", "-q", &name]).ok();
    let digest = manifest_of(&t, &name);
    let manifest = blob(&t, &digest);
    let parsed = json(std::str::from_utf8(&manifest).unwrap());
    let mut needed = vec![parsed["config"]["digest"].as_str().unwrap().to_owned()];
    for l in parsed["layers"].as_array().unwrap() {
        needed.push(l["digest"].as_str().unwrap().to_owned());
    }
    // The image is deleted; its blobs wait for GC, and time passes.
    let (status, _, _) = http(
        &reg.host,
        "DELETE",
        &format!("/v2/gc/race/manifests/{digest}"),
        &[],
        b"",
    );
    assert_eq!(status, 202);
    sh(&format!(
        "find {} -type f -exec touch -d '2 hours ago' {{}} +",
        storage.display()
    ));
    // A push of the same image asks whether the blobs are there: they are.
    for d in &needed {
        let (status, _, _) = http(
            &reg.host,
            "HEAD",
            &format!("/v2/gc/race/blobs/{d}"),
            &[],
            b"",
        );
        assert_eq!(status, 200, "{d}");
    }
    // GC runs (default grace period), then the push sends its manifest.
    let gc = t
        .run(&["registry", "gc", "--storage", storage.to_str().unwrap()])
        .ok();
    let (status, _, body) = http(
        &reg.host,
        "PUT",
        "/v2/gc/race/manifests/1",
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        &manifest,
    );
    assert_eq!(
        status,
        201,
        "gc deleted what the push was told exists:\n{}\n{}",
        gc.stdout,
        String::from_utf8_lossy(&body)
    );
}

/// `system check --repair` while other processes tag: the temporary file of an
/// `index.json` write in flight is not a leftover, so neither side may fail.
#[test]
fn check_repair_while_tagging() {
    let t = TestRoot::new();
    for seed in 0..3 {
        import_image(&t, Some(&format!("base{seed}:1")), seed);
    }
    let stop = AtomicBool::new(false);
    let (tags, checks) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        let checker = s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let run = t.run(&["system", "check", "--repair"]);
                assert_eq!(
                    run.code, 0,
                    "check --repair failed:\n{}{}",
                    run.stdout, run.stderr
                );
                checks.fetch_add(1, Ordering::SeqCst);
            }
        });
        let taggers: Vec<_> = (0..3)
            .map(|w| {
                let (t, tags) = (&t, &tags);
                s.spawn(move || {
                    for i in 0..25 {
                        let run = t.run(&["tag", &format!("base{w}:1"), &format!("w{w}:{i}")]);
                        assert_eq!(run.code, 0, "tag failed:\n{}", run.stderr);
                        tags.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let results: Vec<_> = taggers.into_iter().map(|h| h.join()).collect();
        stop.store(true, Ordering::SeqCst);
        let checked = checker.join();
        for r in results {
            if let Err(e) = r {
                std::panic::resume_unwind(e);
            }
        }
        if let Err(e) = checked {
            std::panic::resume_unwind(e);
        }
    });
    assert_eq!(names_count(&t), 3 + 75);
    assert_clean(&t);
    eprintln!(
        "concurrency check --repair: {} tags while {} repairs ran, none failed",
        tags.load(Ordering::SeqCst),
        checks.load(Ordering::SeqCst)
    );
}

fn names_count(t: &TestRoot) -> usize {
    t.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout
        .lines()
        .count()
}
