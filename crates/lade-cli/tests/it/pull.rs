//! `lade pull` against the real CNCF registry (Debian's `docker-registry`, fed by skopeo)
//! and against small registries that misbehave on purpose (issue 3).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry_support::*;
use crate::support::*;

/// `lade pull …` that sees no credentials but those the test writes to `t/docker`.
fn lade_pull(t: &TestRoot) -> Command {
    let mut c = t.lade();
    c.env("DOCKER_CONFIG", t.path("docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .arg("pull");
    c
}

fn pull(t: &TestRoot, args: &[&str]) -> Run {
    Run::from(lade_pull(t).args(args).output().unwrap())
}

/// A pull that downloaded `image`: the reference alone on stdout, Docker's lines on stderr.
#[track_caller]
fn assert_downloaded(run: &Run, image: &str) {
    assert_eq!(run.stdout, format!("{image}\n"), "{}", run.stderr);
    for needle in [
        "Pulling fs layer",
        "Download complete",
        "Pull complete",
        "Digest: sha256:",
        &format!("Status: Downloaded newer image for {image}"),
    ] {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            run.stderr
        );
    }
}

/// `lade system check` finds no problem at all (no orphan, no leftover, no damage).
#[track_caller]
fn assert_check_clean(t: &TestRoot) {
    let check = t.run(&["system", "check"]).ok().stdout;
    assert!(check.contains(": 0 problems"), "{check}");
}

/// The blob files in the store.
fn store_blobs(t: &TestRoot) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(t.root().join("blobs/sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The files under `lade/partial/`, with their sizes.
fn partials(t: &TestRoot) -> Vec<(String, u64)> {
    std::fs::read_dir(t.root().join("lade/partial"))
        .map(|d| {
            d.map(|e| {
                let e = e.unwrap();
                let len = e.metadata().unwrap().len();
                (e.file_name().to_string_lossy().into_owned(), len)
            })
            .collect()
        })
        .unwrap_or_default()
}

/// The pulled image is byte for byte what skopeo fetches from the registry: the manifest
/// (or index) as `skopeo inspect --raw` shows it, and the image manifest, config and
/// layers as `skopeo copy docker://… dir:…` stores them. Returns the manifest's digest.
#[track_caller]
fn assert_same_as_skopeo(t: &TestRoot, image: &str, arch: Option<&str>) -> String {
    let raw = skopeo_raw(image);
    assert_eq!(
        blob(t, &digest_of(&raw)),
        raw,
        "the top manifest of {image}"
    );
    let dir = t.path(&format!("skopeo-{}", arch.unwrap_or("host")));
    skopeo_fetch(image, &dir, arch);
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let digest = digest_of(&manifest);
    assert_eq!(blob(t, &digest), manifest, "the manifest of {image}");
    if !image.contains('@') {
        assert_eq!(manifest_of(t, image), digest);
    }
    let mut blobs = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let theirs = std::fs::read(dir.join(&name)).unwrap();
            assert_eq!(blob(t, &format!("sha256:{name}")), theirs, "blob {name}");
            blobs += 1;
        }
    }
    let layers = json(&String::from_utf8(manifest).unwrap())["layers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(blobs, layers + 1, "config and layers of {image}");
    digest
}

/// Imports a tar with lade into `src` as `name`; returns skopeo's name for it there.
fn import_source(src: &TestRoot, tar: &[u8], name: &str, extra: &[&str]) -> String {
    let mut args = vec!["import"];
    args.extend(extra);
    args.extend(["-", name]);
    src.run_stdin(&args, tar).ok();
    format!("oci:{}:docker.io/{name}", src.root().display())
}

fn app_tar(seed: u64) -> Vec<u8> {
    tarball(&[
        ("etc/hostname", b"lade\n"),
        ("usr/bin/tool", &noise(200_000, seed)),
        ("usr/share/doc/readme", &b"text ".repeat(5_000)),
    ])
}

// ---------------------------------------------------------------------------------------
// The real registry.

#[test]
fn real_registry_oci_image_by_tag_digest_and_both() {
    let reg = DockerRegistry::start();
    let src = TestRoot::new();
    let source = import_source(&src, &app_tar(1), "src/app:1", &[]);
    let image = reg.image("lade/app:1");
    skopeo_push(&source, &image, &[]);

    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    assert!(
        run.stderr.starts_with("1: Pulling from lade/app\n"),
        "{}",
        run.stderr
    );
    let digest = assert_same_as_skopeo(&t, &image, None);
    assert!(
        run.stderr.contains(&format!("Digest: {digest}\n")),
        "{}",
        run.stderr
    );
    assert_check_clean(&t);

    // Again: the HEAD says the store has it.
    let before = t.snapshot();
    let again = pull(&t, &[&image]).ok();
    assert_eq!(again.stdout, format!("{image}\n"));
    assert!(
        again
            .stderr
            .contains(&format!("Status: Image is up to date for {image}")),
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("Pulling fs layer"),
        "{}",
        again.stderr
    );
    assert_eq!(t.snapshot(), before);

    // By digest, into another store: untagged, with the repository digest.
    let by_digest = format!("{}/lade/app@{digest}", reg.host);
    let t2 = TestRoot::new();
    let run = pull(&t2, &[&by_digest]).ok();
    assert_downloaded(&run, &by_digest);
    assert_same_as_skopeo(&t2, &by_digest, None);
    let images = t2.run(&["images", "--digests"]).ok().stdout;
    let row: Vec<&str> = images.lines().nth(1).unwrap().split_whitespace().collect();
    // Docker shows the repository (from the repository digest) here; lade shows
    // `<none>` for now, so only the tag and digest columns are checked.
    assert_eq!(row[1..3], ["<none>", &digest], "{images}");
    let inspect = json(&t2.run(&["inspect", &by_digest]).ok().stdout);
    assert_eq!(inspect[0]["RepoDigests"][0], by_digest.as_str());
    assert_check_clean(&t2);
    let again = pull(&t2, &[&by_digest]).ok();
    assert!(
        again.stderr.contains("Status: Image is up to date"),
        "{}",
        again.stderr
    );

    // name:tag@digest: the digest decides.
    let both = format!("{image}@{digest}");
    let t3 = TestRoot::new();
    let run = pull(&t3, &[&both]).ok();
    assert_eq!(run.stdout, format!("{both}\n"));
    assert_eq!(blob(&t3, &digest), blob(&t, &digest));
    assert_check_clean(&t3);

    // -q: only the reference, on stdout.
    let t4 = TestRoot::new();
    let run = pull(&t4, &["-q", &image]).ok();
    assert_eq!(run.stdout, format!("{image}\n"));
    assert_eq!(run.stderr, "");
    assert_eq!(manifest_of(&t4, &image), digest);
}

#[test]
fn real_registry_docker_schema2_image() {
    let reg = DockerRegistry::start();
    let src = TestRoot::new();
    let source = import_source(&src, &app_tar(2), "src/app:v2s2", &[]);
    let image = reg.image("lade/docker:1");
    skopeo_push(&source, &image, &["--format", "v2s2"]);

    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    let digest = assert_same_as_skopeo(&t, &image, None);
    let manifest = json(&String::from_utf8(blob(&t, &digest)).unwrap());
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let entry = index(&t)["manifests"][0].clone();
    assert_eq!(entry["mediaType"], manifest["mediaType"]);
    let inspect = json(&t.run(&["inspect", &image]).ok().stdout);
    assert_eq!(
        inspect[0]["RepoDigests"][0],
        format!("{}/lade/docker@{digest}", reg.host).as_str()
    );
    assert_check_clean(&t);
}

#[test]
fn real_registry_zstd_layers() {
    let reg = DockerRegistry::start();
    let src = TestRoot::new();
    let source = import_source(&src, &app_tar(3), "src/app:zstd", &[]);
    // Recompressed with zstd into a layout, then pushed as it is.
    let zst = src.path("zstd");
    run_bytes(
        Command::new("skopeo")
            .args(["copy", "-q", "--dest-compress-format", "zstd"])
            .arg(&source)
            .arg(format!("oci:{}:z", zst.display())),
    );
    let image = reg.image("lade/zstd:1");
    skopeo_push(
        &format!("oci:{}:z", zst.display()),
        &image,
        &["--preserve-digests"],
    );

    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    let digest = assert_same_as_skopeo(&t, &image, None);
    let manifest = json(&String::from_utf8(blob(&t, &digest)).unwrap());
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let bytes = blob(&t, layer["digest"].as_str().unwrap());
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    assert_check_clean(&t);
}

#[test]
fn real_registry_multi_arch_index() {
    let reg = DockerRegistry::start();
    let src = TestRoot::new();
    let amd_src = import_source(
        &src,
        &app_tar(4),
        "src/multi:amd64",
        &["--platform", "linux/amd64"],
    );
    let arm_src = import_source(
        &src,
        &app_tar(5),
        "src/multi:arm64",
        &["--platform", "linux/arm64"],
    );
    let layout = Layout::new(src.path("layout"));
    for (from, to) in [(&amd_src, "amd64"), (&arm_src, "arm64")] {
        run_bytes(
            Command::new("skopeo")
                .args(["copy", "-q", "--preserve-digests"])
                .arg(from)
                .arg(layout.source(to)),
        );
    }
    let manifest_bytes = |name: &str| {
        let d = layout.entry(name)["digest"].as_str().unwrap().to_owned();
        std::fs::read(layout.dir.join("blobs/sha256").join(&d[7..])).unwrap()
    };
    let (amd, arm) = (manifest_bytes("amd64"), manifest_bytes("arm64"));
    let index_bytes = index_of(&[("linux/amd64", &amd), ("linux/arm64", &arm)]);
    let index_digest = layout.tag("multi", OCI_INDEX, &index_bytes);
    let image = reg.image("lade/multi:1");
    skopeo_push(
        &layout.source("multi"),
        &image,
        &["--all", "--preserve-digests"],
    );
    assert_eq!(skopeo_raw(&image), index_bytes);
    let layer_of = |m: &[u8]| {
        json(std::str::from_utf8(m).unwrap())["layers"][0]["digest"]
            .as_str()
            .unwrap()[7..]
            .to_owned()
    };

    for (platform, arch, mine, other) in [
        (None, "amd64", &amd, &arm),
        (Some("linux/arm64"), "arm64", &arm, &amd),
    ] {
        let t = TestRoot::new();
        let mut args = vec![image.as_str()];
        if let Some(p) = platform {
            args.splice(0..0, ["--platform", p]);
        }
        let run = pull(&t, &args).ok();
        assert_downloaded(&run, &image);
        // The index's digest is the one Docker shows.
        assert!(
            run.stderr.contains(&format!("Digest: {index_digest}\n")),
            "{}",
            run.stderr
        );
        assert_eq!(
            assert_same_as_skopeo(&t, &image, Some(arch)),
            digest_of(mine)
        );
        assert_eq!(blob(&t, &index_digest), index_bytes);
        // Only the chosen platform's blobs were fetched.
        let blobs = store_blobs(&t);
        assert!(blobs.contains(&layer_of(mine)));
        assert!(!blobs.contains(&layer_of(other)), "{arch}: {blobs:?}");
        assert!(!blobs.contains(&digest_of(other)[7..].to_owned()));
        let images = t.run(&["images", "--digests"]).ok().stdout;
        let row: Vec<&str> = images.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            row[..3],
            [&format!("{}/lade/multi", reg.host), "1", &index_digest],
            "{images}"
        );
        let inspect = json(&t.run(&["inspect", &image]).ok().stdout);
        assert_eq!(inspect[0]["Architecture"], arch);
        assert_eq!(
            inspect[0]["RepoDigests"][0],
            format!("{}/lade/multi@{index_digest}", reg.host).as_str()
        );
        assert_check_clean(&t);
        let again = pull(&t, &args).ok();
        assert!(
            again.stderr.contains("Status: Image is up to date"),
            "{}",
            again.stderr
        );

        // The other platform under the same name is a new download, not "up to date".
        if platform.is_some() {
            let run = pull(&t, &["--platform", "linux/amd64", &image]).ok();
            assert_downloaded(&run, &image);
            assert_eq!(manifest_of(&t, &image), digest_of(&amd));
            assert_check_clean(&t);
        }
    }

    // A platform the index lacks is an error that lists what there is.
    let t = TestRoot::new();
    pull(&t, &["--platform", "linux/s390x", &image]).fails_with(
        "no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64)",
    );
    assert!(store_blobs(&t).is_empty());
}

#[test]
fn real_registry_three_layers_then_shared_layers_already_exist() {
    let reg = DockerRegistry::start();
    let tars: Vec<Vec<u8>> = (0..4)
        .map(|i| tarball(&[(&format!("layer{i}") as &str, &noise(60_000, 10 + i))]))
        .collect();
    let a = Image::new("amd64", &tars[..3]);
    let b = Image::new(
        "amd64",
        &[tars[0].clone(), tars[1].clone(), tars[3].clone()],
    );
    let scratch = TestRoot::new();
    let layout = Layout::new(scratch.path("layout"));
    layout.add_image("a", &a);
    layout.add_image("b", &b);
    let (image_a, image_b) = (reg.image("lade/layers:a"), reg.image("lade/layers:b"));
    skopeo_push(&layout.source("a"), &image_a, &["--preserve-digests"]);
    skopeo_push(&layout.source("b"), &image_b, &["--preserve-digests"]);

    let t = TestRoot::new();
    let run = pull(&t, &["--max-concurrent-downloads", "1", &image_a]).ok();
    assert_downloaded(&run, &image_a);
    for i in 0..3 {
        let id = short(&a.layer_digest(i)).to_owned();
        assert!(
            run.stderr.contains(&format!("{id}: Pull complete")),
            "{}",
            run.stderr
        );
    }
    // One at a time: the two others wait.
    assert_eq!(run.stderr.matches(": Waiting").count(), 2, "{}", run.stderr);
    assert_eq!(assert_same_as_skopeo(&t, &image_a, None), a.digest());

    let run = pull(&t, &[&image_b]).ok();
    assert_eq!(run.stdout, format!("{image_b}\n"));
    for (i, status) in [
        (0, "Already exists"),
        (1, "Already exists"),
        (2, "Pull complete"),
    ] {
        let id = short(&b.layer_digest(i)).to_owned();
        assert!(
            run.stderr.contains(&format!("{id}: {status}")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        run.stderr.matches("Pulling fs layer").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(assert_same_as_skopeo(&t, &image_b, None), b.digest());
    assert_check_clean(&t);
}

#[test]
fn real_registry_debian_root_filesystem() {
    let reg = DockerRegistry::start();
    let src = TestRoot::new();
    let tar_path = src.path("rootfs.tar");
    sh(&format!(
        "tar -C / -cf {} usr/share/common-licenses usr/bin/env usr/bin/tar usr/lib/os-release etc/os-release",
        tar_path.display()
    ));
    src.run(&["import", tar_path.to_str().unwrap(), "src/debian:slice"])
        .ok();
    let image = reg.image("lade/debian:slice");
    skopeo_push(
        &format!("oci:{}:docker.io/src/debian:slice", src.root().display()),
        &image,
        &[],
    );

    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    let digest = assert_same_as_skopeo(&t, &image, None);
    let manifest = json(&String::from_utf8(blob(&t, &digest)).unwrap());
    let layer = blob(&t, manifest["layers"][0]["digest"].as_str().unwrap());
    assert_eq!(gunzip(&layer), std::fs::read(&tar_path).unwrap());
    assert_check_clean(&t);
}

#[test]
fn real_registry_all_tags() {
    let reg = DockerRegistry::start();
    let scratch = TestRoot::new();
    let layout = Layout::new(scratch.path("layout"));
    let one = Image::noisy(30_000, 21);
    let two = Image::noisy(30_000, 22);
    layout.add_image("one", &one);
    layout.add_image("two", &two);
    skopeo_push(
        &layout.source("one"),
        &reg.image("lade/tags:1"),
        &["--preserve-digests"],
    );
    skopeo_push(
        &layout.source("two"),
        &reg.image("lade/tags:2"),
        &["--preserve-digests"],
    );

    let t = TestRoot::new();
    let repo = format!("{}/lade/tags", reg.host);
    let run = pull(&t, &["-a", &repo]).ok();
    assert_eq!(run.stdout, format!("{repo}\n"));
    assert!(
        run.stderr.contains(&format!("Pulling all tags of {repo}")),
        "{}",
        run.stderr
    );
    for tag in ["1", "2"] {
        assert!(
            run.stderr
                .contains(&format!("Status: Downloaded newer image for {repo}:{tag}")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(manifest_of(&t, &format!("{repo}:1")), one.digest());
    assert_eq!(manifest_of(&t, &format!("{repo}:2")), two.digest());
    assert_check_clean(&t);
    let again = pull(&t, &["--all-tags", &repo]).ok();
    assert_eq!(
        again.stderr.matches("Status: Image is up to date").count(),
        2
    );
    pull(&t, &["-a", &format!("{repo}:1")]).fails_with("tag can't be used with --all-tags/-a");
}

#[test]
fn real_registry_unknown_tag_and_repository() {
    let reg = DockerRegistry::start();
    let scratch = TestRoot::new();
    let layout = Layout::new(scratch.path("layout"));
    layout.add_image("x", &Image::noisy(1_000, 31));
    skopeo_push(
        &layout.source("x"),
        &reg.image("lade/app:1"),
        &["--preserve-digests"],
    );

    let t = TestRoot::new();
    let nope = reg.image("lade/app:nope");
    pull(&t, &[&nope]).fails_with(&format!("manifest for {nope} not found: manifest unknown"));
    // distribution answers MANIFEST_UNKNOWN for a repository it has never seen.
    let none = reg.image("lade/none:1");
    pull(&t, &[&none]).fails_with(&format!("manifest for {none} not found: manifest unknown"));
    assert!(store_blobs(&t).is_empty());
    assert_check_clean(&t);
}

// ---------------------------------------------------------------------------------------
// Registries that misbehave on purpose.

/// A fake registry serving a one-layer image of `len` bytes as `lade/app:1`.
fn fake_with_app(len: usize) -> (FakeRegistry, Image, String) {
    let reg = FakeRegistry::start();
    let img = Image::noisy(len, 42);
    reg.push("lade/app", "1", &img);
    let image = reg.image("lade/app:1");
    (reg, img, image)
}

/// The GETs of a blob, in order.
fn blob_gets(reg: &FakeRegistry, digest: &str) -> Vec<Request> {
    reg.requests_to(&format!("/blobs/{digest}"))
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect()
}

#[test]
fn fake_wrong_digest_fails_naming_the_layer_and_keeps_nothing() {
    let (reg, img, image) = fake_with_app(100_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(&format!("/blobs/{layer}"), Action::Garble).times(usize::MAX));
    let t = TestRoot::new();
    pull(&t, &[&image]).fails_with(&format!("layer {layer}"));
    assert!(store_blobs(&t).is_empty(), "{:?}", store_blobs(&t));
    assert!(partials(&t).is_empty(), "{:?}", partials(&t));
    assert!(
        !t.root().join("index.json").exists() || index(&t)["manifests"] == serde_json::json!([])
    );
    assert_check_clean(&t);
}

#[test]
fn fake_short_body_is_resumed_with_a_range_request() {
    let (reg, img, image) = fake_with_app(200_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(&format!("/blobs/{layer}"), Action::Short(60_000)));
    let t = TestRoot::new();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    let gets = blob_gets(&reg, &layer);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].header("range"), None);
    assert_eq!(gets[1].header("range"), Some("bytes=60000-"));
    assert_eq!(blob(&t, &layer), img.layers[0]);
    assert!(partials(&t).is_empty());
    assert_check_clean(&t);
}

#[test]
fn fake_connection_cut_mid_layer_resumes_where_it_stopped() {
    let (reg, img, image) = fake_with_app(200_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(&format!("/blobs/{layer}"), Action::Cut(100_000)));
    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    assert!(
        run.stderr.contains("Retrying (attempt 1)"),
        "{}",
        run.stderr
    );
    let gets = blob_gets(&reg, &layer);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].header("range"), Some("bytes=100000-"));
    assert_eq!(blob(&t, &layer), img.layers[0]);
    assert_check_clean(&t);
}

#[test]
fn fake_registry_that_ignores_range_is_read_from_the_start() {
    let (reg, img, image) = fake_with_app(200_000);
    let layer = img.layer_digest(0);
    let path = format!("/blobs/{layer}");
    reg.fault(Fault::on(&path, Action::Cut(70_000)));
    reg.fault(Fault::on(&path, Action::IgnoreRange));
    let t = TestRoot::new();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    let gets = blob_gets(&reg, &layer);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].header("range"), Some("bytes=70000-"));
    assert_eq!(blob(&t, &layer), img.layers[0]);
    assert_check_clean(&t);
}

/// A resumed layer answered from elsewhere than asked, whichever way the body is read
/// (lade's own reader, or the async client after a redirect): a `206` from byte 0 is
/// the whole layer, read from the start as when the registry ignores the Range; one
/// from anywhere else is refused before a byte of it is appended.
#[test]
fn fake_range_answered_from_elsewhere_on_both_paths() {
    for redirected in [false, true] {
        for from in [0, 10] {
            let (reg, img, image) = fake_with_app(200_000);
            let storage = FakeRegistry::start();
            let served = if redirected {
                storage.push("lade/app", "1", &img);
                reg.redirect_blobs_to(&format!("http://localhost:{}", storage.port()));
                &storage
            } else {
                &reg
            };
            let layer = img.layer_digest(0);
            let path = format!("/blobs/{layer}");
            served.fault(Fault::on(&path, Action::Cut(70_000)));
            served.fault(Fault::on(&path, Action::RangeFrom(from)).times(10));
            let t = TestRoot::new();
            let case = format!("redirected: {redirected}, from {from}");
            let run = pull(&t, &[&image]);
            let gets = blob_gets(served, &layer);
            assert!(
                gets.iter()
                    .skip(1)
                    .all(|g| g.header("range") == Some("bytes=70000-")),
                "{case}, {gets:?}"
            );
            let hex = layer.trim_start_matches("sha256:").to_owned();
            if from == 0 {
                assert_downloaded(&run.ok(), &image);
                assert_eq!(blob(&t, &layer), img.layers[0], "{case}");
                assert_check_clean(&t);
                continue;
            }
            run.fails_with("Content-Range does not start there");
            assert!(!store_blobs(&t).contains(&hex), "{case}");
            // What arrived before the cut is kept for the next pull.
            assert_eq!(partials(&t), [(hex, 70_000)], "{case}");
        }
    }
}

/// A layer bigger than the disk's free space: the pull fails with the disk's own error
/// and the hint to free space, publishes nothing, and keeps what it wrote (the start of
/// the layer, nothing after a hole); once there is room, the same pull resumes there.
#[test]
fn fake_pull_onto_a_full_disk_fails_cleanly_then_resumes() {
    let (reg, img, image) = fake_with_app(6 << 20);
    let layer = img.layer_digest(0);
    let hex = layer.trim_start_matches("sha256:").to_owned();
    let t = TestRoot::new();
    with_tmpfs(&t.root(), "size=2m", || {
        let run = pull(&t, &[&image]).fails_with("No space left on device");
        assert!(
            run.stderr.contains("hint: free some space"),
            "{}",
            run.stderr
        );
        assert!(!store_blobs(&t).contains(&hex));
        let kept = std::fs::read(t.root().join("lade/partial").join(&hex)).unwrap();
        assert!(kept.len() > 4096, "{}", kept.len());
        assert!(
            img.layers[0].starts_with(&kept),
            "not a prefix of the layer"
        );
        assert_check_clean(&t);

        let grown = Command::new("mount")
            .args(["-o", "remount,size=16m"])
            .arg(t.root())
            .status()
            .unwrap();
        assert!(grown.success());
        assert_downloaded(&pull(&t, &[&image]).ok(), &image);
        let gets = blob_gets(&reg, &layer);
        let resumed = format!("bytes={}-", kept.len());
        assert_eq!(gets.last().unwrap().header("range"), Some(&*resumed));
        assert_eq!(blob(&t, &layer), img.layers[0]);
        assert_check_clean(&t);
    });
}

#[test]
fn fake_401_then_bearer_token_from_the_token_endpoint() {
    let (reg, _img, image) = fake_with_app(20_000);
    reg.set_auth(Auth::Bearer {
        service: "fake.registry.test".into(),
    });
    let t = TestRoot::new();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    let tokens = reg.requests_to("/token");
    assert_eq!(tokens.len(), 1, "the token is cached: {tokens:?}");
    assert_eq!(tokens[0].method, "GET");
    assert_eq!(
        tokens[0].query("scope").as_deref(),
        Some("repository:lade/app:pull")
    );
    assert_eq!(
        tokens[0].query("service").as_deref(),
        Some("fake.registry.test")
    );
    assert_eq!(tokens[0].header("authorization"), None, "anonymous");
    // Every request after the first challenge carries the token.
    let v2: Vec<Request> = reg.requests_to("/v2/lade/app/");
    assert_eq!(v2[0].header("authorization"), None);
    assert!(v2.len() >= 4, "{v2:?}");
    for r in &v2[1..] {
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Bearer {TOKEN}")),
            "{r:?}"
        );
    }
    assert!(!run.stderr.contains(TOKEN));
    assert_check_clean(&t);

    // Up to date: the HEAD (free on Docker Hub) is all that is asked.
    let seen = reg.requests().len();
    let again = pull(&t, &[&image]).ok();
    assert!(
        again.stderr.contains("Status: Image is up to date"),
        "{}",
        again.stderr
    );
    let new = &reg.requests()[seen..];
    assert!(
        new.iter()
            .all(|r| r.method == "HEAD" || !r.path().contains("/lade/app/")),
        "{new:?}"
    );
}

#[test]
fn fake_all_tags_share_one_token() {
    let reg = FakeRegistry::start();
    let one = Image::noisy(5_000, 61);
    let two = Image::noisy(5_000, 62);
    reg.push("lade/app", "1", &one);
    reg.push("lade/app", "2", &two);
    reg.set_auth(Auth::Bearer {
        service: "fake.registry.test".into(),
    });
    let t = TestRoot::new();
    let repo = reg.image("lade/app");
    let run = pull(&t, &["-a", &repo]).ok();
    assert_eq!(
        run.stderr.matches("Status: Downloaded newer image").count(),
        2,
        "{}",
        run.stderr
    );
    // The tags were listed and both pulled with the token fetched once.
    let tokens = reg.requests_to("/token");
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(manifest_of(&t, &format!("{repo}:1")), one.digest());
    assert_eq!(manifest_of(&t, &format!("{repo}:2")), two.digest());
    assert_check_clean(&t);
}

#[test]
fn fake_basic_auth_from_docker_config() {
    let (reg, _img, image) = fake_with_app(20_000);
    reg.set_auth(Auth::Basic {
        username: "lade".into(),
        password: "s3cret-pw".into(),
    });
    let t = TestRoot::new();
    // Without credentials: Docker's words.
    pull(&t, &[&image]).fails_with(&format!(
        "pull access denied for {}/lade/app, repository does not exist or may require 'lade login'",
        reg.host()
    ));
    std::fs::create_dir_all(t.path("docker")).unwrap();
    std::fs::write(
        t.path("docker/config.json"),
        serde_json::to_vec(&serde_json::json!({
            "auths": {reg.host(): {"auth": base64(b"lade:s3cret-pw")}}
        }))
        .unwrap(),
    )
    .unwrap();
    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    assert!(!run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"));
    let expected = format!("Basic {}", base64(b"lade:s3cret-pw"));
    let blobs = reg.requests_to("/blobs/");
    assert!(!blobs.is_empty());
    assert!(
        blobs
            .iter()
            .all(|r| r.header("authorization") == Some(&*expected))
    );
    assert_check_clean(&t);
}

#[test]
fn fake_429_with_retry_after_then_success() {
    let (reg, _img, image) = fake_with_app(20_000);
    reg.fault(Fault::on(
        "/manifests/",
        Action::Status(429, vec![("Retry-After".into(), "1".into())]),
    ));
    let t = TestRoot::new();
    let start = Instant::now();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let manifests = reg.requests_to("/manifests/");
    assert_eq!(manifests[0].method, manifests[1].method, "{manifests:?}");
    assert_check_clean(&t);
}

#[test]
fn fake_500_then_success() {
    let (reg, img, image) = fake_with_app(20_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(
        &format!("/blobs/{layer}"),
        Action::Status(500, vec![]),
    ));
    let t = TestRoot::new();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    assert_eq!(blob_gets(&reg, &layer).len(), 2);
    assert_eq!(blob(&t, &layer), img.layers[0]);
    assert_check_clean(&t);
}

#[test]
fn fake_blob_redirect_to_another_host_does_not_leak_authorization() {
    let (reg, img, image) = fake_with_app(50_000);
    reg.set_auth(Auth::Bearer {
        service: "fake.registry.test".into(),
    });
    // Blob storage elsewhere: another server, named `localhost` rather than 127.0.0.1.
    let storage = FakeRegistry::start();
    storage.push("lade/app", "1", &img);
    reg.redirect_blobs_to(&format!("http://localhost:{}", storage.port()));
    // The storage drops the layer midway: the resumed request goes through the redirect
    // again, and its Range survives it.
    let layer = img.layer_digest(0);
    storage.fault(Fault::on(&format!("/blobs/{layer}"), Action::Cut(20_000)));
    let t = TestRoot::new();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    let asked = reg.requests_to("/blobs/");
    // The layer is asked for twice before it is redirected: first on the download
    // thread (lade's own HTTP/1.1 reader, which leaves a redirect to the async client
    // and does not try this registry again), then through the async client.
    assert_eq!(
        asked.len(),
        4,
        "config, layer, layer again, rest of the layer: {asked:?}"
    );
    let token = format!("Bearer {TOKEN}");
    assert!(
        asked
            .iter()
            .all(|r| r.header("authorization") == Some(&*token))
    );
    let served = storage.requests_to("/blobs/");
    assert_eq!(served.len(), 3, "{served:?}");
    assert_eq!(
        blob_gets(&storage, &layer)[1].header("range"),
        Some("bytes=20000-")
    );
    for r in &served {
        assert_eq!(
            r.header("authorization"),
            None,
            "leaked to another host: {r:?}"
        );
        assert!(r.header("host").unwrap().starts_with("localhost:"), "{r:?}");
    }
    assert_eq!(blob(&t, &img.layer_digest(0)), img.layers[0]);
    assert_check_clean(&t);
}

#[test]
fn fake_schema1_manifest_is_refused() {
    let reg = FakeRegistry::start();
    let schema1 = br#"{"schemaVersion":1,"name":"lade/old","tag":"1","architecture":"amd64","fsLayers":[],"history":[],"signatures":[]}"#;
    reg.push_manifest("lade/old", "1", DOCKER_SCHEMA1_SIGNED, schema1);
    let t = TestRoot::new();
    pull(&t, &[&reg.image("lade/old:1")]).fails_with("Docker schema 1 manifest");
    assert!(store_blobs(&t).is_empty());
}

#[test]
fn fake_unknown_repository_and_unknown_tag() {
    let (reg, _img, _image) = fake_with_app(1_000);
    let t = TestRoot::new();
    pull(&t, &[&reg.image("lade/none:1")]).fails_with(&format!(
        "pull access denied for {}/lade/none, repository does not exist or may require 'lade login'",
        reg.host()
    ));
    let nope = reg.image("lade/app:nope");
    pull(&t, &[&nope]).fails_with(&format!("manifest for {nope} not found: manifest unknown"));
    assert!(store_blobs(&t).is_empty());
}

/// `kill -9` while a layer trickles in: the store stays consistent, the partial layer is
/// kept, and the next pull asks only for the rest.
#[test]
fn fake_kill_9_mid_layer_then_the_next_pull_resumes() {
    let (reg, img, image) = fake_with_app(400_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(
        &format!("/blobs/{layer}"),
        Action::Trickle {
            chunk: 16 << 10,
            every: Duration::from_millis(20),
        },
    ));
    let t = TestRoot::new();
    let mut child = lade_pull(&t)
        .arg(&image)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while partials(&t).first().is_none_or(|(_, len)| *len < 64 << 10) {
        assert!(Instant::now() < deadline, "no partial layer appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "lade finished too early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert_check_clean(&t);
    let kept = partials(&t);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].0, layer[7..]);
    let offset = kept[0].1;
    assert!(offset < img.layers[0].len() as u64);
    assert!(store_blobs(&t).iter().all(|b| b != &layer[7..]));

    let run = pull(&t, &[&image]).ok();
    assert_downloaded(&run, &image);
    let gets = blob_gets(&reg, &layer);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1].header("range"), Some(&*format!("bytes={offset}-")));
    assert_eq!(blob(&t, &layer), img.layers[0]);
    assert!(partials(&t).is_empty(), "{:?}", partials(&t));
    assert_check_clean(&t);
}

/// An image for another architecture, without an index: pulled as it is (as Docker does),
/// recorded with its own platform, up to date the second time; refused when another
/// platform is asked for explicitly.
#[test]
fn fake_single_platform_image_of_another_architecture() {
    let reg = FakeRegistry::start();
    let img = Image::new("arm64", &[tarball(&[("f", &noise(5_000, 51))])]);
    reg.push("lade/arm", "1", &img);
    let image = reg.image("lade/arm:1");
    let t = TestRoot::new();
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    assert_eq!(
        index(&t)["manifests"][0]["platform"]["architecture"],
        "arm64"
    );
    let again = pull(&t, &[&image]).ok();
    assert!(
        again.stderr.contains("Status: Image is up to date"),
        "{}",
        again.stderr
    );
    assert_check_clean(&t);

    // Asking for another platform is an error, never a silent fallback.
    let t = TestRoot::new();
    pull(&t, &["--platform", "linux/amd64", &image]).fails_with(&format!(
        "image with reference {image} was found but does not match the specified platform: wanted linux/amd64, actual: linux/arm64"
    ));
    assert!(store_blobs(&t).is_empty(), "{:?}", store_blobs(&t));
    assert_downloaded(
        &pull(&t, &["--platform", "linux/arm64", &image]).ok(),
        &image,
    );
    assert_check_clean(&t);
}

/// A body longer than the manifest says is an error naming the layer, and nothing of it
/// is kept, not even as a partial download.
#[test]
fn fake_body_longer_than_declared_fails_and_keeps_nothing() {
    let (reg, img, image) = fake_with_app(50_000);
    let layer = img.layer_digest(0);
    reg.fault(Fault::on(&format!("/blobs/{layer}"), Action::Pad(1_000)));
    let t = TestRoot::new();
    pull(&t, &[&image]).fails_with(&format!("layer {}", short(&layer)));
    assert!(store_blobs(&t).is_empty(), "{:?}", store_blobs(&t));
    assert!(partials(&t).is_empty(), "{:?}", partials(&t));
    assert_check_clean(&t);
    // The registry mends its ways: the next pull starts afresh and succeeds.
    assert_downloaded(&pull(&t, &[&image]).ok(), &image);
    assert_eq!(blob_gets(&reg, &layer)[1].header("range"), None);
    assert_check_clean(&t);
}

/// A manifest or config whose bytes do not match their digest is refused; the store
/// keeps nothing.
#[test]
fn fake_manifest_and_config_digest_mismatch() {
    let (reg, img, image) = fake_with_app(5_000);
    let t = TestRoot::new();
    reg.fault(Fault::on("/manifests/", Action::Garble).method("GET"));
    pull(&t, &[&image]).fails_with(&format!(
        "does not match its digest: expected {}",
        img.digest()
    ));
    assert!(store_blobs(&t).is_empty(), "{:?}", store_blobs(&t));
    let config = img.config_digest();
    reg.fault(Fault::on(&format!("/blobs/{config}"), Action::Garble));
    pull(&t, &[&image]).fails_with(&format!("failed to fetch the image config of {image}"));
    assert!(store_blobs(&t).is_empty(), "{:?}", store_blobs(&t));
    assert_check_clean(&t);
}

/// 429 until the retries run out (the HEAD passes, the GETs do not): the registry's
/// words and its remaining quota.
#[test]
fn fake_429_for_good_shows_the_rate_limit() {
    let (reg, _img, image) = fake_with_app(1_000);
    reg.fault(
        Fault::on(
            "/manifests/",
            Action::Status(
                429,
                vec![
                    ("Retry-After".into(), "0".into()),
                    ("RateLimit-Remaining".into(), "0;w=21600".into()),
                ],
            ),
        )
        .method("GET")
        .times(usize::MAX),
    );
    let t = TestRoot::new();
    pull(&t, &[&image]).fails_with(&format!(
        "failed to fetch the manifest of {image}: toomanyrequests: slow down (ratelimit-remaining: 0;w=21600)"
    ));
    // HEAD then five GETs.
    assert_eq!(reg.requests_to("/manifests/").len(), 6);
    assert!(store_blobs(&t).is_empty());
}

/// From an index, ARM variants are matched as Docker does: v7 runs a v6 image, and the
/// exact variant wins when there is one.
#[test]
fn fake_index_arm_variants() {
    let reg = FakeRegistry::start();
    let v6 = Image::new("arm", &[tarball(&[("v6", &noise(3_000, 61))])]);
    let arm64 = Image::new("arm64", &[tarball(&[("arm64", &noise(3_000, 62))])]);
    reg.push("lade/arm", "v6", &v6);
    reg.push("lade/arm", "arm64", &arm64);
    let index = index_of(&[
        ("linux/arm/v6", &v6.manifest),
        ("linux/arm64/v8", &arm64.manifest),
    ]);
    reg.push_manifest("lade/arm", "multi", OCI_INDEX, &index);
    let image = reg.image("lade/arm:multi");
    for (platform, expected) in [
        ("linux/arm/v7", &v6),
        ("linux/arm/v6", &v6),
        ("linux/arm64", &arm64),
    ] {
        let t = TestRoot::new();
        assert_downloaded(&pull(&t, &["--platform", platform, &image]).ok(), &image);
        assert_eq!(manifest_of(&t, &image), expected.digest(), "{platform}");
        assert_check_clean(&t);
    }
    let t = TestRoot::new();
    pull(&t, &["--platform", "linux/arm/v5", &image]).fails_with(
        "no matching manifest for linux/arm/v5 in the manifest list entries (available: linux/arm/v6, linux/arm64/v8)",
    );
}

/// A pulled image records its size as Docker counts it (its files' bytes and symlink
/// targets, not the tar stream's), read from each small layer as it arrives; a layer
/// pulled again into another image keeps it.
#[test]
fn pulled_images_have_dockers_sizes() {
    let reg = FakeRegistry::start();
    let img = Image::noisy(70_000, 5);
    reg.push("lade/sized", "1", &img);
    reg.push("lade/sized", "2", &img);
    let t = TestRoot::new();
    for tag in ["1", "2"] {
        let image = reg.image(&format!("lade/sized:{tag}"));
        pull(&t, &[&image]).ok();
        let size = t.run(&["inspect", "--format", "{{.Size}}", &image]).ok();
        assert_eq!(size.stdout, format!("{}\n", content_size(70_000)));
    }
    // A gzip layer above lade_archive::INSPECT_LIMIT is not decompressed: its size is
    // its tar stream's, from the gzip trailer (Docker's figure plus the tar headers).
    let big = Image::noisy(2 << 20, 6);
    reg.push("lade/sized", "big", &big);
    let image = reg.image("lade/sized:big");
    pull(&t, &[&image]).ok();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&big.layers[0][..]),
        &mut tar,
    )
    .unwrap();
    let size = t.run(&["inspect", "--format", "{{.Size}}", &image]).ok();
    assert_eq!(size.stdout, format!("{}\n", tar.len()));
    assert!(tar.len() as u64 - content_size(2 << 20) < 4096);
    assert_check_clean(&t);
}

/// A manifest or config whose body is cut short (the connection closes before the bytes
/// announced) is asked for again, as a cut layer is resumed.
#[test]
fn fake_cut_manifest_and_config_are_fetched_again() {
    let (reg, img, image) = fake_with_app(50_000);
    let config = format!("/blobs/{}", img.config_digest());
    // (The tag is resolved with a HEAD; the manifest is then fetched by digest.)
    reg.fault(Fault::on("/manifests/", Action::Cut(40)).method("GET"));
    reg.fault(Fault::on(&config, Action::Cut(10)).method("GET"));
    let t = TestRoot::new();
    pull(&t, &[&image]).ok();
    let full = format!("{}/lade/app:1", reg.host());
    assert_eq!(manifest_of(&t, &full), img.digest());
    let gets = |part: &str| {
        reg.requests_to(part)
            .into_iter()
            .filter(|r| r.method == "GET")
            .count()
    };
    assert_eq!(gets("/manifests/"), 2);
    assert_eq!(gets(&config), 2);
    assert_check_clean(&t);
}
