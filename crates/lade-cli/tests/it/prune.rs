//! `lade image prune` and `lade system prune`: what goes, what stays, the prompt, the
//! filters, `--dry-run`.

use std::process::Stdio;

use crate::support::*;

/// A store with a tagged image, a dangling one, and one left dangling by a retag.
fn mixed_store(t: &TestRoot) -> (String, String, String) {
    let kept = import_image(t, Some("kept"), 1);
    let dangling = import_image(t, None, 2);
    let retagged = import_image(t, Some("kept:old"), 3);
    t.run(&["tag", "kept", "kept:old"]).ok();
    (kept, dangling, retagged)
}

fn deleted_lines(stdout: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("deleted: ") || l.starts_with("untagged: "))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn image_prune_removes_dangling_images_only() {
    let t = TestRoot::new();
    let (kept, dangling, retagged) = mixed_store(&t);
    let run = t.run(&["image", "prune", "-f"]).ok();
    assert!(
        run.stdout.starts_with("Deleted Images:\n"),
        "{}",
        run.stdout
    );
    let mut want = vec![
        format!("deleted: {dangling}"),
        format!("deleted: {retagged}"),
    ];
    want.sort();
    assert_eq!(deleted_lines(&run.stdout), want);
    let freed = human(image_size(2) + image_size(3));
    assert!(
        run.stdout
            .ends_with(&format!("\n\nTotal reclaimed space: {freed}\n")),
        "{}",
        run.stdout
    );
    // `-q` prints one ID per tag, as Docker's does.
    let q = t.run(&["images", "-q", "--no-trunc"]).ok().stdout;
    assert!(!q.is_empty() && q.lines().all(|l| l == kept), "{q}");
    assert_eq!(blob_files(&t).len(), 3);
    assert_clean(&t);

    // Nothing left to prune.
    let run = t.run(&["image", "prune", "--force"]).ok();
    assert_eq!(run.stdout, "Total reclaimed space: 0B\n");
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let t = TestRoot::new();
    let (_, dangling, retagged) = mixed_store(&t);
    let before = t.snapshot();
    let run = t.run(&["image", "prune", "--dry-run"]).ok();
    assert!(
        run.stdout.starts_with("Will Delete Images:\n"),
        "{}",
        run.stdout
    );
    let mut want = vec![
        format!("deleted: {dangling}"),
        format!("deleted: {retagged}"),
    ];
    want.sort();
    assert_eq!(deleted_lines(&run.stdout), want);
    let freed = human(image_size(2) + image_size(3));
    assert!(
        run.stdout
            .ends_with(&format!("\n\nEstimated reclaimable space: {freed}\n"))
    );
    let run = t.run(&["system", "prune", "-a", "--dry-run"]).ok();
    assert!(
        run.stdout
            .starts_with("Will Delete Images:\nuntagged: kept"),
        "{}",
        run.stdout
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn all_removes_every_image() {
    let t = TestRoot::new();
    let (kept, ..) = mixed_store(&t);
    let run = t.run(&["image", "prune", "-a", "-f"]).ok();
    assert!(
        run.stdout.contains(&format!(
            "untagged: kept:latest\nuntagged: kept:old\ndeleted: {kept}\n"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(deleted_lines(&run.stdout).len(), 5);
    assert!(blob_files(&t).is_empty());
    assert_eq!(t.run(&["images", "-q"]).ok().stdout, "");
    assert_clean(&t);
}

#[test]
fn the_prompt_decides() {
    let t = TestRoot::new();
    mixed_store(&t);
    let before = t.snapshot();

    // No terminal and no answer: refused, with a hint.
    let run = t.run(&["image", "prune"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(
            "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
        ),
        "{}",
        run.stdout
    );
    run.fails_with("hint: pass -f (--force)");
    let run = t.run(&["system", "prune", "-a", "--filter", "label=x"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "WARNING! This will remove:\n  - all images\n  - all blobs no image uses\n  - all leftover temporary files\n\n  Items to be pruned will be filtered with:\n  - label=x\n\nAre you sure you want to continue? [y/N] \n"
    );

    // No.
    let run = t.run_stdin(&["image", "prune", "-a"], b"n\n").ok();
    assert!(
        run.stdout
            .starts_with("WARNING! This will remove all images.\n")
    );
    assert!(
        run.stdout.ends_with("[y/N] Total reclaimed space: 0B\n"),
        "{}",
        run.stdout
    );
    assert_eq!(t.snapshot(), before);

    // Yes.
    let run = t.run_stdin(&["image", "prune"], b"y\n").ok();
    assert!(
        run.stdout.contains("[y/N] Deleted Images:\n"),
        "{}",
        run.stdout
    );
    // One image left (`-q` prints its ID once per tag, as Docker's does).
    let q = t.run(&["images", "-q"]).ok().stdout;
    assert_eq!(
        q.lines().collect::<std::collections::BTreeSet<_>>().len(),
        1,
        "{q}"
    );
}

#[test]
fn filters_select_images() {
    let t = TestRoot::new();
    let tar = |seed| tarball(&[("f", &noise(1_000, seed))]);
    t.run_stdin(&["import", "-c", "LABEL tier=web", "-", "web"], &tar(1))
        .ok();
    t.run_stdin(
        &["import", "-c", "LABEL tier=db keep=yes", "-", "db"],
        &tar(2),
    )
    .ok();
    t.run_stdin(&["import", "-", "app1"], &tar(3)).ok();
    t.run_stdin(&["import", "-", "app2"], &tar(4)).ok();
    t.run_stdin(&["import", "-", "other"], &tar(5)).ok();

    let names = |t: &TestRoot| -> Vec<String> {
        let mut v: Vec<String> = t
            .run(&["images"])
            .ok()
            .stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    // Images were created just now: none is older than an hour.
    let run = t
        .run(&["image", "prune", "-af", "--filter", "until=1h"])
        .ok();
    assert_eq!(run.stdout, "Total reclaimed space: 0B\n");
    // Labels.
    let run = t
        .run(&["image", "prune", "-af", "--filter", "label=tier=web"])
        .ok();
    assert!(
        run.stdout.contains("untagged: web:latest"),
        "{}",
        run.stdout
    );
    let run = t
        .run(&[
            "image",
            "prune",
            "-af",
            "--filter",
            "label=tier",
            "--filter",
            "label!=keep",
        ])
        .ok();
    assert_eq!(run.stdout, "Total reclaimed space: 0B\n");
    // Names (lade's addition): only matching tags go; dangling images have none.
    import_image(&t, None, 9);
    let run = t
        .run(&["image", "prune", "-f", "--filter", "reference=*"])
        .ok();
    assert_eq!(run.stdout, "Total reclaimed space: 0B\n");
    t.run(&["image", "prune", "-f"]).ok();
    let run = t
        .run(&["image", "prune", "-af", "--filter", "reference=app*"])
        .ok();
    assert_eq!(deleted_lines(&run.stdout).len(), 4, "{}", run.stdout);
    assert_eq!(names(&t), ["db", "other"]);
    // A time in the future selects everything left.
    let run = t
        .run(&[
            "image",
            "prune",
            "-af",
            "--filter",
            "until=2999-01-01T00:00:00Z",
        ])
        .ok();
    assert_eq!(deleted_lines(&run.stdout).len(), 4, "{}", run.stdout);
    assert!(names(&t).is_empty());
    assert_clean(&t);
}

#[test]
fn bad_filters_are_refused_before_anything() {
    let t = TestRoot::new();
    mixed_store(&t);
    let before = t.snapshot();
    for (filter, message) in [
        ("foo=bar", "Error: invalid filter 'foo'"),
        (
            "dangling",
            "Error: bad format of filter (expected name=value)",
        ),
        (
            "until=abc",
            "Error: failed to parse value as time or duration: \"abc\"",
        ),
        (
            "reference=[a",
            "Error: invalid filter 'reference=[a': syntax error in pattern",
        ),
    ] {
        t.run(&["image", "prune", "-f", "--filter", filter])
            .fails_with(message);
        t.run(&["system", "prune", "--filter", filter])
            .fails_with(message);
    }
    t.run(&[
        "image", "prune", "-f", "--filter", "until=1h", "--filter", "until=2h",
    ])
    .fails_with("more than one until filter specified");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn system_prune_also_takes_orphan_blobs_and_leftovers() {
    let t = TestRoot::new();
    let (kept, dangling, retagged) = mixed_store(&t);
    // An orphan blob and a leftover temporary file.
    let orphan = b"nobody needs me";
    let hex = sha256_hex(orphan);
    std::fs::write(t.root().join("blobs/sha256").join(&hex), orphan).unwrap();
    std::fs::write(t.root().join("lade/tmp/blob-leftover"), b"partial").unwrap();

    let freed = human(image_size(2) + image_size(3) + orphan.len() as u64 + 7);
    let before = t.snapshot();
    let dry = t.run(&["system", "prune", "--dry-run"]).ok().stdout;
    assert!(
        dry.contains(&format!("Will Delete Blobs:\nsha256:{hex}\n\n")),
        "{dry}"
    );
    assert!(dry.contains("Will Delete Temporary Files:\n"), "{dry}");
    assert!(
        dry.ends_with(&format!("Estimated reclaimable space: {freed}\n")),
        "{dry}"
    );
    assert_eq!(t.snapshot(), before);

    let run = t.run_stdin(&["system", "prune"], b"y\n").ok();
    assert!(
        run.stdout
            .starts_with("WARNING! This will remove:\n  - all dangling images\n")
    );
    let mut want = vec![
        format!("deleted: {dangling}"),
        format!("deleted: {retagged}"),
    ];
    want.sort();
    assert_eq!(deleted_lines(&run.stdout), want);
    assert!(
        run.stdout
            .contains(&format!("Deleted Blobs:\nsha256:{hex}\n\n"))
    );
    assert!(run.stdout.contains("Deleted Temporary Files:\n"));
    assert!(
        run.stdout.contains(&format!(
            "blob-leftover\n\nTotal reclaimed space: {freed}\n"
        )),
        "{}",
        run.stdout
    );
    assert_clean(&t);
    // `-q` prints one ID per tag, as Docker's does.
    let q = t.run(&["images", "-q", "--no-trunc"]).ok().stdout;
    assert!(!q.is_empty() && q.lines().all(|l| l == kept), "{q}");

    let run = t.run(&["system", "prune", "-f"]).ok();
    assert_eq!(run.stdout, "Total reclaimed space: 0B\n");
}

/// tag, rmi, image prune and imports racing from several processes: no tag that should
/// stay is lost, nothing is deleted that an image needs, and nothing is left behind.
#[test]
fn tag_rmi_prune_and_imports_race_safely() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "seed"], &tarball(&[("s", b"s")]))
        .ok();
    let shared = noise(200_000, 42);
    std::thread::scope(|s| {
        // Importers: tagged images whose layer is the victims' layer.
        for w in 0..2 {
            let (t, shared) = (&t, &shared);
            s.spawn(move || {
                for i in 0..6 {
                    let tar = tarball(&[("shared", shared)]);
                    t.run_stdin(&["import", "-", &format!("keep{w}:{i}")], &tar)
                        .ok();
                }
            });
        }
        // Victims: imported with the very same layer, then removed.
        {
            let (t, shared) = (&t, &shared);
            s.spawn(move || {
                let tar = tarball(&[("shared", shared)]);
                for i in 0..6 {
                    let name = format!("victim:{i}");
                    t.run_stdin(&["import", "-", &name], &tar).ok();
                    t.run(&["rmi", &name]).ok();
                }
            });
        }
        // Taggers and untaggers of the seed.
        {
            let t = &t;
            s.spawn(move || {
                for i in 0..10 {
                    t.run(&["tag", "seed", &format!("alias:{i}")]).ok();
                    if i % 2 == 0 {
                        t.run(&["rmi", &format!("alias:{i}")]).ok();
                    }
                }
            });
        }
        // Dangling images made and pruned.
        {
            let t = &t;
            s.spawn(move || {
                for i in 0..5 {
                    t.run_stdin(
                        &["import", "-"],
                        &tarball(&[("d", format!("{i}").as_bytes())]),
                    )
                    .ok();
                    t.run(&["image", "prune", "-f"]).ok();
                    t.run(&["system", "prune", "-f"]).ok();
                }
            });
        }
    });
    for w in 0..2 {
        for i in 0..6 {
            t.run(&["inspect", &format!("keep{w}:{i}")]).ok();
        }
    }
    for i in 0..10 {
        let run = t.run(&["inspect", &format!("alias:{i}")]);
        assert_eq!(run.code == 0, i % 2 == 1, "alias:{i}");
    }
    t.run(&["inspect", "seed"]).ok();
    t.run(&["image", "prune", "-f"]).ok();
    assert_clean(&t);
    let images = t.run(&["images"]).ok().stdout;
    assert_eq!(images.lines().count(), 1 + 1 + 12 + 5, "{images}");
}

/// A prune waits for an import in progress instead of deleting the blobs it is writing.
#[test]
fn prune_waits_for_an_import_in_progress() {
    let t = TestRoot::new();
    let mut child = t
        .lade()
        .args(["import", "-", "slow"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    let tar = tarball(&[("f", &noise(300_000, 9))]);
    stdin.write_all(&tar[..100_000]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut pruner = t
        .lade()
        .args(["system", "prune", "-af"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        pruner.try_wait().unwrap().is_none(),
        "the prune did not wait for the import"
    );
    stdin.write_all(&tar[100_000..]).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let out = pruner.wait_with_output().unwrap();
    assert!(out.status.success());
    // The prune ran once the import was done, and removed the image it made.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("untagged: slow:latest"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_clean(&t);
}
