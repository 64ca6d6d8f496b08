//! Concurrency (issue 9): several lade processes pulling, tagging, removing and pruning
//! in one store at once; and `lade registry serve` taking concurrent pushes of images
//! that share layers, from several stores, while `lade registry gc --grace 0` runs over
//! and over. Nothing acknowledged is lost and nothing is corrupt.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::crash::{assert_pullable, registry_fsck};
use crate::fault_proxy::FaultProxy;
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

#[test]
fn concurrent_pushes_of_shared_layers_while_registry_gc_runs() {
    let start = Instant::now();
    let scratch = TestRoot::new();
    let source = LadeRegistry::start(&scratch.path("source"), &[]);
    serve_family(&source, &scratch, 4);
    let storage = scratch.path("target");
    let target = LadeRegistry::start(&storage, &[]);
    // Through a proxy that logs what the registry acknowledged.
    let proxy = FaultProxy::start(&target.host);
    let stores: Vec<TestRoot> = (0..3).map(|_| TestRoot::new()).collect();
    for s in &stores {
        for i in 0..4 {
            s.run(&["pull", "-q", &source.image(&format!("cc/app:{i}"))])
                .ok();
        }
    }
    let done = AtomicBool::new(false);
    let gc_runs = AtomicUsize::new(0);
    let pushes = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let pushed: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let run = Run::from(
                    std::process::Command::new(env!("CARGO_BIN_EXE_lade"))
                        .args(["registry", "gc", "--grace", "0", "--storage"])
                        .arg(&storage)
                        .output()
                        .unwrap(),
                );
                assert_eq!(run.code, 0, "gc failed:\n{}", run.stderr);
                gc_runs.fetch_add(1, Ordering::SeqCst);
            }
        });
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let (proxy, source) = (&proxy, &source);
                let (pushes, failures, pushed) = (&pushes, &failures, &pushed);
                sc.spawn(move || {
                    // Two rounds: the second finds every layer there already (HEAD, mount).
                    for round in 1..=2 {
                        for i in 0..4 {
                            let repo = format!("cc/s{n}-{i}");
                            let name = proxy.image(&format!("{repo}:{round}"));
                            s.run(&["tag", &source.image(&format!("cc/app:{i}")), &name])
                                .ok();
                            let mut ok = false;
                            for _ in 0..5 {
                                pushes.fetch_add(1, Ordering::SeqCst);
                                let run = s.run(&["push", "-q", &name]);
                                if run.code == 0 {
                                    ok = true;
                                    break;
                                }
                                assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
                                failures.lock().unwrap().push(format!(
                                    "{name}: {}",
                                    run.stderr.lines().collect::<Vec<_>>().join(" / ")
                                ));
                            }
                            assert!(ok, "{name} never went through");
                            pushed
                                .lock()
                                .unwrap()
                                .push((format!("{repo}:{round}"), manifest_of(s, &name)));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
    });
    // Everything acknowledged is whole and pullable.
    let tags = registry_fsck(&storage);
    for (name, digest) in pushed.lock().unwrap().iter() {
        assert!(
            tags.contains(&(name.clone(), digest.clone())),
            "{name} was pushed but is not in the registry"
        );
        let repo = name.split(':').next().unwrap();
        assert_pullable(&proxy.host, repo, digest);
    }
    let acked: Vec<_> = proxy
        .log()
        .into_iter()
        .filter(|e| e.method == "PUT" && e.path.contains("/manifests/") && e.status == Some(201))
        .collect();
    for e in &acked {
        let repo = &e.path["/v2/".len()..e.path.rfind("/manifests/").unwrap()];
        assert_pullable(&proxy.host, repo, e.digest.as_deref().unwrap());
    }
    let failures = failures.into_inner().unwrap();
    for f in &failures {
        eprintln!("push failed while gc ran (retried): {f}");
    }
    eprintln!(
        "concurrency registry: {} pushes from 3 stores ({} acknowledged manifests, all \
         pullable), {} failed and were retried, {} gc runs with --grace 0 meanwhile; {:?}",
        pushes.load(Ordering::SeqCst),
        acked.len(),
        failures.len(),
        gc_runs.load(Ordering::SeqCst),
        start.elapsed()
    );
}
