//! The store under stress: crashes, concurrency, damage, full disks, read-only and
//! foreign directories.

use std::process::Stdio;
use std::time::Duration;

use crate::support::*;

/// `kill -9` of `lade import` at many moments: the store never holds a corrupt blob or a
/// tag pointing at missing content, and the import completes afterwards.
#[test]
fn kill_9_during_import_never_damages_the_store() {
    let t = TestRoot::new();
    let tar = tarball(&[("big", &noise(4 << 20, 7)), ("small", b"s")]);
    std::fs::write(t.path("in.tar"), &tar).unwrap();
    t.run_stdin(&["import", "-", "base"], &tarball(&[("x", b"x")]))
        .ok();
    let mut killed = 0;
    for i in 0..40u64 {
        let mut child = t
            .lade()
            .args([
                "import",
                t.path("in.tar").to_str().unwrap(),
                &format!("victim:{i}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the whole run (a few ms to ~60 ms).
        std::thread::sleep(Duration::from_micros(500 + (i * 7919) % 60_000));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        let check = t.run(&["system", "check"]);
        assert_eq!(
            check.code, 0,
            "after kill {i}: {}\n{}",
            check.stdout, check.stderr
        );
        assert!(!check.stdout.contains("corrupt") && !check.stdout.contains("missing"));
        // Every tag present points at a complete image.
        let images = t.run(&["images"]).ok().stdout;
        for row in images.lines().skip(1) {
            let name = row.split_whitespace().next().unwrap();
            assert!(name == "base" || name == "victim", "{row}");
        }
    }
    assert!(killed > 5, "only {killed} runs were killed mid-way");
    // Leftovers are reclaimed, and the import runs to the end.
    t.run(&["system", "check", "--repair"]).ok();
    let after = t.run(&["system", "check"]).ok().stdout;
    assert!(after.contains(": 0 problems"), "{after}");
    t.run(&["import", t.path("in.tar").to_str().unwrap(), "victim:done"])
        .ok();
    t.run(&["inspect", "victim:done"]).ok();
}

/// Several processes importing and tagging into one store at once lose no tag.
#[test]
fn concurrent_imports_lose_nothing() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "seed"], &tarball(&[("s", b"s")]))
        .ok();
    std::thread::scope(|s| {
        for w in 0..4 {
            let t = &t;
            s.spawn(move || {
                for i in 0..6 {
                    let tar = tarball(&[
                        ("f", format!("{w}-{i}").as_bytes()),
                        ("shared", &noise(100_000, 3)),
                    ]);
                    t.run_stdin(&["import", "-", &format!("w{w}:{i}")], &tar)
                        .ok();
                }
            });
        }
    });
    let images = t.run(&["images"]).ok().stdout;
    assert_eq!(images.lines().count(), 1 + 1 + 24, "{images}");
    for w in 0..4 {
        for i in 0..6 {
            t.run(&["inspect", &format!("w{w}:{i}")]).ok();
        }
    }
    let check = t.run(&["system", "check"]).ok().stdout;
    assert!(check.contains(": 0 problems"), "{check}");
}

#[test]
fn check_finds_and_repairs_damage() {
    let t = TestRoot::new();
    let id = t
        .run_stdin(
            &["import", "-", "victim"],
            &tarball(&[("f", &noise(10_000, 9))]),
        )
        .ok()
        .stdout;
    t.run_stdin(&["import", "-", "bystander"], &tarball(&[("g", b"g")]))
        .ok();
    let manifest = json(
        &String::from_utf8(blob(
            &t,
            &manifest_of(&t, "docker.io/library/victim:latest"),
        ))
        .unwrap(),
    );
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let path = t.root().join("blobs/sha256").join(&layer[7..]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let run = t.run(&["system", "check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(&format!("corrupt blob {layer}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("hint: run `lade system check --repair`")
    );

    let run = t.run(&["system", "check", "--repair"]).ok();
    assert!(
        run.stdout.contains("repaired: removed image"),
        "{}",
        run.stdout
    );
    t.run(&["system", "check"]).ok();
    t.run(&["inspect", id.trim()]).fails_with("No such image");
    t.run(&["inspect", "bystander"]).ok();
}

/// A damaged records file (`lade/meta.bin`) stops every command with an error that
/// names it and says what to run; `check --repair` rebuilds the records from the blobs,
/// keeping every image and name.
#[test]
fn damaged_records_are_rebuilt_from_the_blobs() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "one:1"], &tarball(&[("f", b"1")]))
        .ok();
    t.run_stdin(&["import", "-", "two:2"], &tarball(&[("g", b"2")]))
        .ok();
    // A change of records writes lade/meta.bin.
    t.run(&["rmi", "one:1"]).ok();
    t.run_stdin(&["import", "-", "one:1"], &tarball(&[("f", b"1")]))
        .ok();
    let listing = |t: &TestRoot| {
        t.run(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ])
        .ok()
        .stdout
    };
    let before = listing(&t);
    let records = t.root().join("lade/meta.bin");
    let mut bytes = std::fs::read(&records).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&records, bytes).unwrap();

    assert_damage_is_reported(
        &t,
        "meta.bin",
        "hint: run `lade system check --repair` to rebuild lade's image records from the blobs",
    );

    let run = t.run(&["system", "check", "--repair"]).ok();
    assert!(run.stdout.contains("rebuilt the records"), "{}", run.stdout);
    assert!(t.root().join("lade/meta.corrupt").exists());
    assert_eq!(listing(&t), before);
    let after = t.run(&["system", "check"]).ok().stdout;
    assert!(after.contains(": 0 problems"), "{after}");
}

/// A store file that cannot be read: a command fails naming it, with `hint`, and
/// `system check` fails saying so.
#[track_caller]
fn assert_damage_is_reported(t: &TestRoot, file: &str, hint: &str) {
    let run = t.run(&["images"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("{file} is corrupt")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(hint), "{}", run.stderr);
    let run = t.run(&["system", "check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(&format!("{file} cannot be read")),
        "{}",
        run.stdout
    );
}

/// The full IDs of the images in the store, sorted.
fn image_ids(t: &TestRoot) -> Vec<String> {
    let listed = t.run(&["images", "-q", "--no-trunc"]).ok().stdout;
    let mut ids: Vec<String> = listed.lines().map(str::to_owned).collect();
    ids.sort();
    ids
}

/// A store of three images (one:1, two:2, three:3) whose index.json is then cut inside
/// its second entry. Returns the image IDs before the damage and the file as left.
fn three_images_and_a_cut_index(t: &TestRoot) -> (Vec<String>, Vec<u8>) {
    for (tag, file) in [("one:1", b"1"), ("two:2", b"2"), ("three:3", b"3")] {
        t.run_stdin(&["import", "-", tag], &tarball(&[("f", file)]))
            .ok();
    }
    let before = image_ids(t);
    let index = t.root().join("index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    // The index's own mediaType, then its first and second entries'.
    let second = text.match_indices("\"mediaType\"").nth(2).unwrap().0;
    let cut = text.as_bytes()[..second + 5].to_vec();
    std::fs::write(&index, &cut).unwrap();
    (before, cut)
}

/// index.json cut short in the middle of its entries: every command says so and how to
/// repair it; `system check` changes nothing; `--repair` keeps the damaged file, takes
/// back the entries before the damage with their names and, untagged, the other images
/// whose blobs are stored, and leaves a store that checks clean.
#[test]
fn a_damaged_index_is_rebuilt_from_what_is_readable_and_the_blobs() {
    let t = TestRoot::new();
    let (before, cut) = three_images_and_a_cut_index(&t);
    let damaged = t.snapshot();

    assert_damage_is_reported(
        &t,
        "index.json",
        "hint: run `lade system check --repair` to rebuild index.json",
    );
    assert_eq!(
        t.snapshot(),
        damaged,
        "check without --repair changed the store"
    );

    let run = t.run(&["system", "check", "--repair"]).ok();
    assert!(
        run.stdout
            .contains("1 entries read from it, 2 more images found among the blobs"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(t.root().join("index.corrupt")).unwrap(), cut);
    assert_eq!(image_ids(&t), before, "an image was lost");
    let names = t
        .run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout;
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["<none>:<none>", "<none>:<none>", "one:1"]);
    let after = t.run(&["system", "check"]).ok().stdout;
    assert!(after.contains(": 0 problems"), "{after}");
    // Names can be given again.
    t.run(&["tag", &before[0], "again:1"]).ok();
}

/// Both index.json and lade's records damaged: the images past the damage are found
/// from their manifests among the blobs, and no blob of theirs is deleted.
#[test]
fn a_damaged_index_and_records_lose_no_image() {
    let t = TestRoot::new();
    let (before, _) = three_images_and_a_cut_index(&t);
    let blobs_before = std::fs::read_dir(t.root().join("blobs/sha256"))
        .unwrap()
        .count();
    std::fs::write(t.root().join("lade/meta.bin"), b"LADEMETA garbage").unwrap();

    let run = t.run(&["system", "check", "--repair"]).ok();
    assert!(
        run.stdout
            .contains("1 entries read from it, 2 more images found among the blobs"),
        "{}",
        run.stdout
    );
    assert_eq!(image_ids(&t), before, "an image was lost");
    assert_eq!(
        std::fs::read_dir(t.root().join("blobs/sha256"))
            .unwrap()
            .count(),
        blobs_before,
        "a blob was deleted"
    );
    let again = t.run(&["system", "check"]).ok().stdout;
    assert!(again.contains(": 0 problems"), "{again}");
}

#[test]
fn a_directory_that_is_not_a_store_is_refused() {
    let t = TestRoot::new();
    std::fs::create_dir_all(t.root()).unwrap();
    std::fs::write(t.root().join("precious.txt"), "keep me").unwrap();
    t.run_stdin(&["import", "-", "x"], &tarball(&[("a", b"a")]))
        .fails_with("is not a lade store")
        .fails_with("hint: point --root");
    let names: Vec<_> = std::fs::read_dir(t.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["precious.txt"]);
}

#[test]
fn a_store_made_by_skopeo_is_adopted() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "orig"], &tarball(&[("a", b"a")]))
        .ok();
    let other = t.path("skopeo-layout");
    sh(&format!(
        "skopeo copy -q oci:{}:docker.io/library/orig:latest oci:{}:docker.io/library/copied:2",
        t.root().display(),
        other.display()
    ));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lade"))
        .args(["--root", other.to_str().unwrap(), "images"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.lines().nth(1).unwrap().starts_with("copied "),
        "{stdout}"
    );
}

#[test]
fn a_full_disk_fails_cleanly() {
    let t = TestRoot::new();
    let mnt = t.path("small");
    with_tmpfs(&mnt, "size=2m", || {
        let root = mnt.join("store");
        let lade = |args: &[&str], stdin: &[u8]| {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lade"));
            c.arg("--root").arg(&root).args(args);
            run_with_stdin(c, stdin)
        };
        lade(
            &["import", "-", "fits"],
            &tarball(&[("a", &noise(100_000, 1))]),
        )
        .ok();
        let run = lade(
            &["import", "-", "toobig"],
            &tarball(&[("a", &noise(4 << 20, 2))]),
        );
        assert_ne!(run.code, 0);
        assert!(
            run.stderr.contains("No space left on device"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("hint: free some space"),
            "{}",
            run.stderr
        );
        let check = lade(&["system", "check"], b"").ok();
        assert!(check.stdout.contains(": 0 problems"), "{}", check.stdout);
        lade(&["inspect", "fits"], b"").ok();
        lade(&["inspect", "toobig"], b"").fails_with("No such image");
    });
}

#[test]
fn a_read_only_store_can_be_read_but_not_written() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "ro"], &tarball(&[("a", b"a")]))
        .ok();
    let mnt = t.path("ro");
    with_tmpfs(&mnt, "size=4m", || {
        sh(&format!(
            "cp -a {}/. {}/ && mount -o remount,ro {}",
            t.root().display(),
            mnt.display(),
            mnt.display()
        ));
        let lade = |args: &[&str]| {
            Run::from(
                std::process::Command::new(env!("CARGO_BIN_EXE_lade"))
                    .arg("--root")
                    .arg(&mnt)
                    .args(args)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap(),
            )
        };
        assert!(lade(&["images"]).ok().stdout.contains("ro "));
        lade(&["inspect", "ro"]).ok();
        lade(&["import", "/dev/null", "x"])
            .fails_with("Read-only file system")
            .fails_with("hint: the store is not writable");
    });
}
