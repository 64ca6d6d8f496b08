//! `lade image mount` / `unmount`: the unpacked tree against umoci's, both drivers,
//! layers that try to write outside, layers that lie about their diff IDs, and the
//! records that mount, unmount, rmi and prune keep.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::EntryType;

use crate::archive::{Layer, Layout, RawTar, Tree, layered_image, tree};
use crate::support::*;

/// Loads an image of these (uncompressed) layers as `docker.io/library/NAME:1`.
fn load_image(t: &TestRoot, name: &str, layers: &[Vec<u8>]) -> PathBuf {
    let mut layout = Layout::default();
    let image = layout.image(layers, "amd64");
    layout.name(image, &format!("docker.io/library/{name}:1"));
    let dir = t.path(&format!("{name}-layout"));
    layout.write(&dir);
    t.run(&["load", "-i", dir.to_str().unwrap()]).ok();
    dir
}

/// `lade image mount ARGS…` with the driver forced.
fn mount(t: &TestRoot, driver: &str, args: &[&str]) -> Run {
    let mut c = t.lade();
    c.env("LADE_MOUNT_DRIVER", driver)
        .args(["image", "mount"])
        .args(args);
    Run::from(c.output().unwrap())
}

/// What `lade/mounts/` holds besides its lock and records: published trees and
/// leftovers.
fn mount_dirs(t: &TestRoot) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(t.root().join("lade/mounts"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lock" && n != "mounts.json")
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// umoci's unpack of `name:1` from an OCI layout.
fn umoci_tree(t: &TestRoot, layout: &Path, name: &str) -> (Tree, Vec<(String, u64)>) {
    let bundle = t.path(&format!("{name}-bundle"));
    sh(&format!(
        "umoci unpack --rootless --image {}:docker.io/library/{name}:1 {}",
        layout.display(),
        bundle.display()
    ));
    tree(&bundle.join("rootfs"))
}

fn ino(list: &[(String, u64)], p: &str) -> u64 {
    list.iter().find(|(q, _)| q == p).unwrap().1
}

/// Unmounts an overlay left behind by a failing test, so the temp dir can go.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .output();
    }
}

fn is_mounted(path: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let p = path.to_str().unwrap();
    mounts.lines().any(|l| l.split(' ').nth(1) == Some(p))
}

#[test]
fn copy_is_what_umoci_unpacks_read_only_and_round_trips() {
    let t = TestRoot::new();
    let layout = load_image(&t, "flat", &layered_image());
    let (theirs, theirs_inodes) = umoci_tree(&t, &layout, "flat");

    let run = mount(&t, "copy", &["flat:1"]).ok();
    let path = PathBuf::from(run.stdout.trim_end());
    assert!(
        path.starts_with(t.root().join("lade/mounts")),
        "{}",
        path.display()
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let (ours, ours_inodes) = tree(&path);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the same paths as umoci"
    );
    for (p, (kind, mode, content)) in &theirs {
        let (k, m, c) = &ours[p];
        assert_eq!((k, c), (kind, content), "{p}");
        // The same mode, without write (and setuid/setgid) bits.
        assert_eq!(*m, mode & 0o1555, "{p}: {m:o} for umoci's {mode:o}");
    }
    assert_eq!(ours["etc"].1, 0o500, "the last version of a directory wins");
    assert_eq!(ours["usr/bin/tool"].2, b"tool v2\n");
    assert!(!ours.contains_key("etc/b") && !ours.contains_key("var"));
    assert!(!ours.contains_key("opt/x") && ours.contains_key("opt/z"));
    for list in [&theirs_inodes, &ours_inodes] {
        assert_eq!(
            ino(list, "etc/a"),
            ino(list, "etc/a-hard"),
            "hard link kept"
        );
    }
    let root_mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(root_mode & 0o222, 0, "the root is read-only too");

    // Mounting again gives the same path; the listing shows it as podman does.
    let again = mount(&t, "copy", &["flat:1"]).ok();
    assert_eq!(again.stdout, run.stdout);
    let listed = mount(&t, "copy", &[]).ok();
    assert_eq!(
        listed.stdout,
        format!("docker.io/library/flat:1 {}\n", path.display())
    );

    // Unmount prints the image ID and deletes the copy.
    let id = t.run(&["images", "-q", "--no-trunc"]).ok().stdout;
    let out = t.run(&["image", "unmount", "flat:1"]).ok();
    assert_eq!(
        format!("sha256:{}", out.stdout),
        id,
        "unmount prints the image ID"
    );
    assert!(!path.exists());
    assert!(mount_dirs(&t).is_empty(), "{:?}", mount_dirs(&t));
    assert_eq!(mount(&t, "copy", &[]).ok().stdout, "");

    // A second unmount, and an image that does not exist, fail clearly.
    let run = t.run(&["image", "umount", "flat:1"]);
    assert_eq!(run.code, 1);
    let run = run.fails_with("Error: docker.io/library/flat:1 is not mounted");
    assert!(run.stderr.contains("hint: `lade image mount` lists"));
    t.run(&["image", "unmount", "nothere:1"])
        .fails_with("No such image: nothere:1");
    mount(&t, "copy", &["nothere:1"]).fails_with("No such image: nothere:1");
    assert_clean(&t);
}

#[test]
fn overlay_shows_what_umoci_unpacks_read_only() {
    let t = TestRoot::new();
    let layout = load_image(&t, "flat", &layered_image());
    let (theirs, _) = umoci_tree(&t, &layout, "flat");
    let run = mount(&t, "overlay", &["flat:1"]);
    if run.code != 0 {
        // Not root, or a kernel or sandbox without overlayfs: a clear refusal.
        assert!(
            run.stderr.contains("overlayfs"),
            "overlay failed without saying why:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("--driver copy"), "{}", run.stderr);
        assert!(mount_dirs(&t).is_empty(), "{:?}", mount_dirs(&t));
        eprintln!("overlay is not available here; only its refusal was tested");
        return;
    }
    let path = PathBuf::from(run.stdout.trim_end());
    let _guard = Unmount(path.clone());
    assert!(is_mounted(&path), "{} is not a mount point", path.display());
    let (ours, _) = tree(&path);
    // overlayfs keeps the modes as they are and hides whiteouts and opaque contents.
    assert_eq!(ours, theirs);
    let err = std::fs::write(path.join("etc/new"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(30), "EROFS: {err}");

    // Mounting again (even asking for a copy) gives the mount that is there.
    assert_eq!(mount(&t, "copy", &["flat:1"]).ok().stdout, run.stdout);
    t.run(&["image", "unmount", path.to_str().unwrap()]).ok();
    assert!(!is_mounted(&path));
    assert!(!path.exists());
    assert!(mount_dirs(&t).is_empty(), "{:?}", mount_dirs(&t));
}

#[test]
fn mount_into_a_directory_of_ones_own() {
    let t = TestRoot::new();
    load_image(
        &t,
        "small",
        &[Layer::new().file("hello", b"hi\n", 0o644).done()],
    );
    let full = t.path("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("mine"), b"keep").unwrap();
    mount(&t, "copy", &["small:1", full.to_str().unwrap()]).fails_with("is not an empty directory");
    assert_eq!(std::fs::read(full.join("mine")).unwrap(), b"keep");

    let dir = t.path("view");
    std::fs::create_dir(&dir).unwrap();
    let run = mount(&t, "copy", &["small:1", dir.to_str().unwrap()]).ok();
    assert_eq!(run.stdout.trim_end(), dir.to_str().unwrap());
    assert_eq!(std::fs::read(dir.join("hello")).unwrap(), b"hi\n");
    assert_eq!(
        std::fs::metadata(dir.join("hello")).unwrap().mode() & 0o777,
        0o444
    );
    assert!(mount_dirs(&t).is_empty(), "nothing under the store");
    mount(&t, "copy", &["small:1", full.to_str().unwrap()])
        .fails_with("small:1 is already mounted at");
    // Unmount by the directory: it stays, empty.
    t.run(&["image", "unmount", dir.to_str().unwrap()]).ok();
    assert!(dir.is_dir());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".lade-mount-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A unique name under /tmp that nothing may create.
fn outside(tag: &str) -> PathBuf {
    let p = PathBuf::from(format!("/tmp/lade-mount-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

#[test]
fn hostile_layers_never_write_outside_the_target() {
    let t = TestRoot::new();
    let abs = outside("abs");
    let via_abs = outside("via-abs");
    let via_rel = outside("via-rel");
    let victim_dir = outside("victim");
    std::fs::create_dir(&victim_dir).unwrap();
    std::fs::write(victim_dir.join("file"), b"precious").unwrap();
    let victim_name = victim_dir.file_name().unwrap().to_str().unwrap().to_owned();

    // Refused outright: nothing unpacked, nothing left behind.
    let refused: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            RawTar::default()
                .file("ok", b"x")
                .file("../escape", b"x")
                .finish(),
            "climbs out of the archive",
        ),
        (
            "absolute",
            RawTar::default()
                .file(&format!("{}/x", abs.display()), b"x")
                .finish(),
            "has an absolute path",
        ),
        (
            "hardlink-out",
            RawTar::default()
                .entry("h", EntryType::Link, b"", "../../../../etc/passwd")
                .finish(),
            "points outside the archive",
        ),
        (
            "hardlink-absolute",
            RawTar::default()
                .entry("h", EntryType::Link, b"", "/etc/passwd")
                .finish(),
            "absolute path",
        ),
        (
            // Resolved inside the image, where there is no etc/passwd.
            "hardlink-via-symlink",
            RawTar::default()
                .entry("s", EntryType::Symlink, b"", "/etc")
                .entry("h", EntryType::Link, b"", "s/passwd")
                .finish(),
            "which is not in the image",
        ),
    ];
    for (name, layer, needle) in refused {
        load_image(&t, name, &[layer]);
        for driver in ["copy", "overlay"] {
            let run = mount(&t, driver, &[&format!("{name}:1")]);
            assert_ne!(run.code, 0, "{name} ({driver}): mounted:\n{}", run.stdout);
            assert!(
                run.stderr.contains(needle) || run.stderr.contains("overlayfs cannot be used"),
                "{name} ({driver}): {}",
                run.stderr
            );
            assert!(mount_dirs(&t).is_empty(), "{name}: {:?}", mount_dirs(&t));
        }
    }
    assert!(!t.dir.path().join("escape").exists() && !abs.exists());
    assert_eq!(mount(&t, "copy", &[]).ok().stdout, "");

    // Followed inside the image: links to the outside lead into the target.
    let l1 = RawTar::default()
        .entry("a", EntryType::Symlink, b"", via_abs.to_str().unwrap())
        .file("a/file", b"through an absolute link")
        .entry(
            "b",
            EntryType::Symlink,
            b"",
            &format!("../../../..{}", via_rel.display()),
        )
        .file("b/file", b"through a relative link")
        .entry("d", EntryType::Symlink, b"", "/tmp")
        .entry("o", EntryType::Symlink, b"", victim_dir.to_str().unwrap())
        .entry("dev/null", EntryType::Char, b"", "")
        .entry("dev/sda", EntryType::Block, b"", "")
        .finish();
    let l2 = RawTar::default()
        .file(&format!("d/.wh.{victim_name}"), b"")
        .file("o/.wh..wh..opq", b"")
        .file("a/second", b"second layer")
        .finish();
    load_image(&t, "links", &[l1, l2]);
    let run = mount(&t, "copy", &["links:1"]).ok();
    assert!(
        run.stderr
            .contains("warning: skipped /dev/null (docker.io/library/links:1): is a device file"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("skipped /dev/sda"), "{}", run.stderr);
    let root = PathBuf::from(run.stdout.trim_end());
    let inside = |p: &Path| root.join(p.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::read(inside(&via_abs).join("file")).unwrap(),
        b"through an absolute link"
    );
    assert_eq!(
        std::fs::read(inside(&via_abs).join("second")).unwrap(),
        b"second layer"
    );
    assert_eq!(
        std::fs::read(inside(&via_rel).join("file")).unwrap(),
        b"through a relative link"
    );
    assert_eq!(
        std::fs::read_link(root.join("a")).unwrap(),
        via_abs,
        "the link itself is kept as it was"
    );
    assert!(!root.join("dev/null").exists() && !root.join("dev/sda").exists());
    assert!(!via_abs.exists() && !via_rel.exists());
    // A whiteout and an opaque marker reached through links to the host removed nothing there.
    assert_eq!(std::fs::read(victim_dir.join("file")).unwrap(), b"precious");
    t.run(&["image", "unmount", "links:1"]).ok();
    assert!(!root.exists());

    // Each layer in a directory of its own: the links are not followed at all.
    let run = mount(&t, "overlay", &["links:1"]);
    if run.code == 0 {
        let root = PathBuf::from(run.stdout.trim_end());
        let _guard = Unmount(root.clone());
        assert_eq!(
            std::fs::read(inside(&via_abs).join("file")).unwrap(),
            b"through an absolute link"
        );
        assert!(!root.join("dev/null").exists());
        t.run(&["image", "unmount", "links:1"]).ok();
    } else {
        assert!(run.stderr.contains("overlayfs"), "{}", run.stderr);
    }
    assert!(!via_abs.exists() && !via_rel.exists());
    assert_eq!(std::fs::read(victim_dir.join("file")).unwrap(), b"precious");
    std::fs::remove_dir_all(&victim_dir).unwrap();
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_leaves_nothing() {
    let t = TestRoot::new();
    let good = Layer::new().file("a", b"layer one\n", 0o644).done();
    let bad = Layer::new().file("b", b"layer two\n", 0o644).done();
    let claimed = Layer::new().file("b", b"something else\n", 0o644).done();
    // The config claims the diff ID of other content for the second layer.
    let mut layout = Layout::default();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [
            format!("sha256:{}", sha256_hex(&good)),
            format!("sha256:{}", sha256_hex(&claimed)),
        ]},
    });
    let mut c = layout.blob(serde_json::to_vec(&config).unwrap());
    c["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let layers: Vec<serde_json::Value> = [&good, &bad]
        .iter()
        .map(|l| {
            let mut d = layout.blob(gzip(l));
            d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
            d
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": c, "layers": layers,
    });
    let mut d = layout.blob(serde_json::to_vec(&manifest).unwrap());
    d["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    layout.name(d, "docker.io/library/liar:1");
    let dir = t.path("liar-layout");
    layout.write(&dir);
    t.run(&["load", "-i", dir.to_str().unwrap()]).ok();

    let needle = format!(
        "layer 1 (sha256:{}) does not match the image config: its content hashes to sha256:{}, the config's diff_ids say sha256:{}",
        sha256_hex(&gzip(&bad)),
        sha256_hex(&bad),
        sha256_hex(&claimed)
    );
    let target = t.path("target");
    for driver in ["copy", "overlay", "auto"] {
        let run = mount(&t, driver, &["liar:1"]).fails_with(&needle);
        assert!(
            run.stderr
                .contains("hint: the image's layers do not match its config")
        );
        assert!(mount_dirs(&t).is_empty(), "{driver}: {:?}", mount_dirs(&t));
        mount(&t, driver, &["liar:1", target.to_str().unwrap()]).fails_with(&needle);
        assert!(!target.exists(), "{driver}: the target was created");
    }
    let leftovers: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".lade-mount-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(mount(&t, "copy", &[]).ok().stdout, "");
}

#[test]
fn rmi_and_prune_release_the_mounts_of_what_they_delete() {
    let t = TestRoot::new();
    load_image(&t, "one", &[Layer::new().file("1", b"1", 0o644).done()]);
    load_image(&t, "two", &[Layer::new().file("2", b"2", 0o644).done()]);
    let one = PathBuf::from(mount(&t, "copy", &["one:1"]).ok().stdout.trim_end());
    let two = PathBuf::from(mount(&t, "copy", &["two:1"]).ok().stdout.trim_end());
    assert!(one.join("1").is_file() && two.join("2").is_file());

    let run = t.run(&["rmi", "one:1"]).ok();
    assert!(
        run.stdout.starts_with("Untagged: one:1\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "warning: unmounted {} (its image was removed)",
            one.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!one.exists() && two.is_dir());
    assert_eq!(
        mount(&t, "copy", &[]).ok().stdout,
        format!("docker.io/library/two:1 {}\n", two.display())
    );

    t.run(&["image", "prune", "-a", "-f"]).ok();
    assert!(!two.exists());
    assert_eq!(mount(&t, "copy", &[]).ok().stdout, "");
    assert!(mount_dirs(&t).is_empty(), "{:?}", mount_dirs(&t));
    assert_clean(&t);
}

#[test]
fn interrupted_unpacks_are_never_served_and_are_tidied() {
    let t = TestRoot::new();
    load_image(
        &t,
        "small",
        &[Layer::new().file("f", b"complete\n", 0o644).done()],
    );
    // What a kill -9 midway leaves: an unpack in progress, and a published tree whose
    // record was never written.
    let manifest = manifest_of(&t, "docker.io/library/small:1");
    let mounts = t.root().join("lade/mounts");
    std::fs::create_dir_all(mounts.join("tmp-killed/rootfs")).unwrap();
    std::fs::write(mounts.join("tmp-killed/rootfs/f"), b"compl").unwrap();
    let unrecorded = mounts.join(&manifest[7..]);
    std::fs::create_dir_all(unrecorded.join("rootfs")).unwrap();
    std::fs::write(unrecorded.join("rootfs/f"), b"half").unwrap();
    // Read-only, as a copy is.
    std::fs::set_permissions(
        unrecorded.join("rootfs"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();

    let path = PathBuf::from(mount(&t, "copy", &["small:1"]).ok().stdout.trim_end());
    assert_eq!(std::fs::read(path.join("f")).unwrap(), b"complete\n");
    assert_eq!(mount_dirs(&t), vec![manifest[7..].to_owned()]);
    t.run(&["image", "unmount", "--all"]).ok();
    assert!(mount_dirs(&t).is_empty());
}

/// A whiteout or opaque marker applies to the layers below, never to what its own
/// layer wrote before it: files, and hard links too.
#[test]
fn an_opaque_marker_spares_its_own_layers_entries_hard_links_included() {
    let t = TestRoot::new();
    let lower = Layer::new()
        .dir("d", 0o755)
        .file("d/old", b"lower\n", 0o644)
        .done();
    let upper = Layer::new()
        .dir("d", 0o755)
        .file("d/a", b"upper\n", 0o644)
        .link(tar::EntryType::Link, "d/h", "d/a")
        .file("d/.wh..wh..opq", b"", 0o644)
        .done();
    load_image(&t, "opq", &[lower, upper]);
    let path = PathBuf::from(mount(&t, "copy", &["opq:1"]).ok().stdout.trim_end());
    let (files, inodes) = tree(&path);
    assert!(!files.contains_key("d/old"), "{:?}", files.keys());
    assert_eq!(files["d/a"].2, b"upper\n");
    assert_eq!(files.get("d/h").map(|f| &f.2), Some(&b"upper\n".to_vec()));
    assert_eq!(ino(&inodes, "d/a"), ino(&inodes, "d/h"), "hard link kept");
}

/// A store reached through a symbolic link: `unmount` takes the path `mount` printed
/// (not resolved) and the resolved one alike.
#[test]
fn unmount_by_path_through_a_linked_store() {
    let t = TestRoot::new();
    load_image(
        &t,
        "small",
        &[Layer::new().file("hello", b"hi\n", 0o644).done()],
    );
    let link = t.path("linked-root");
    std::os::unix::fs::symlink(t.root(), &link).unwrap();
    let via_link = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lade"));
        c.arg("--root")
            .arg(&link)
            .env_remove("LADE_ROOT")
            .args(args);
        Run::from(c.output().unwrap())
    };
    for unmount_with in ["printed", "resolved"] {
        let printed = via_link(&["image", "mount", "--driver", "copy", "small:1"])
            .ok()
            .stdout;
        let printed = PathBuf::from(printed.trim_end());
        assert!(printed.starts_with(&link), "{}", printed.display());
        let path = match unmount_with {
            "printed" => printed.clone(),
            _ => std::fs::canonicalize(&printed).unwrap(),
        };
        via_link(&["image", "unmount", path.to_str().unwrap()]).ok();
        assert!(!printed.exists(), "{unmount_with}: still there");
    }
}
