//! `lade save`, `lade load` and `lade image export`: the formats peers write and read
//! (skopeo, umoci), round trips that keep every digest, and archives that lie.

use std::collections::BTreeMap;

use crate::support::*;

/// A tar's entries: path, type, content.
type Entries = Vec<(String, tar::EntryType, Vec<u8>)>;
/// A tree on disk: path → (kind, mode, content or link target).
pub(crate) type Tree = BTreeMap<String, (char, u32, Vec<u8>)>;

/// Every entry of a tar: path → (type, content).
fn entries(tar: &[u8]) -> Entries {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let kind = e.header().entry_type();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (path, kind, data)
        })
        .collect()
}

fn file<'a>(entries: &'a [(String, tar::EntryType, Vec<u8>)], path: &str) -> &'a [u8] {
    &entries
        .iter()
        .find(|(p, ..)| p == path)
        .unwrap_or_else(|| panic!("no {path} in the archive"))
        .2
}

/// The manifest, config and layer digests of a named image in a store.
fn digests(t: &TestRoot, name: &str) -> (String, String, Vec<String>) {
    let manifest = manifest_of(t, name);
    let m = json(&String::from_utf8(blob(t, &manifest)).unwrap());
    let layers = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    (
        manifest,
        m["config"]["digest"].as_str().unwrap().to_owned(),
        layers,
    )
}

/// A store with `app:1` and `app:latest` (one image) and `tool:2`, which shares
/// `app`'s layer (the same tarball imported with another config).
fn two_images() -> TestRoot {
    let t = TestRoot::new();
    let tar = tarball(&[("etc/hostname", b"lade\n"), ("bin/tool", &noise(50_000, 7))]);
    t.run_stdin(&["import", "-", "app:1"], &tar).ok();
    t.run(&["tag", "app:1", "app:latest"]).ok();
    t.run_stdin(
        &["import", "-", "tool:2", "-c", "CMD [\"/bin/tool\"]"],
        &tar,
    )
    .ok();
    t
}

#[test]
fn save_writes_what_docker_25_writes_with_each_blob_once() {
    let t = two_images();
    let out = t.path("out.tar");
    t.run(&["save", "-o", out.to_str().unwrap(), "app", "tool:2"])
        .ok();
    let bytes = std::fs::read(&out).unwrap();
    let e = entries(&bytes);
    let names: Vec<&str> = e.iter().map(|(p, ..)| p.as_str()).collect();
    assert_eq!(
        &names[..6],
        [
            "oci-layout",
            "index.json",
            "manifest.json",
            "repositories",
            "blobs/",
            "blobs/sha256/"
        ]
    );
    assert_eq!(
        json(std::str::from_utf8(file(&e, "oci-layout")).unwrap()),
        json(r#"{"imageLayoutVersion":"1.0.0"}"#)
    );

    let (app_m, app_c, app_l) = digests(&t, "docker.io/library/app:1");
    let (tool_m, tool_c, tool_l) = digests(&t, "docker.io/library/tool:2");
    assert_eq!(app_l, tool_l, "the two images share their layer");
    // Every blob is there once, with the store's exact bytes.
    let blobs: Vec<&(String, tar::EntryType, Vec<u8>)> = e
        .iter()
        .filter(|(p, k, _)| p.starts_with("blobs/sha256/") && k.is_file())
        .collect();
    let mut expected = vec![&app_m, &app_c, &tool_m, &tool_c, &app_l[0]];
    expected.sort();
    let mut got: Vec<String> = blobs
        .iter()
        .map(|(p, ..)| format!("sha256:{}", &p["blobs/sha256/".len()..]))
        .collect();
    got.sort();
    assert_eq!(got.iter().collect::<Vec<_>>(), expected);
    for (p, _, data) in &blobs {
        let digest = format!("sha256:{}", &p["blobs/sha256/".len()..]);
        assert_eq!(sha256_hex(data), digest[7..]);
        assert_eq!(*data, blob(&t, &digest), "{p} is the stored blob");
    }

    let manifest = json(std::str::from_utf8(file(&e, "manifest.json")).unwrap());
    assert_eq!(manifest.as_array().unwrap().len(), 2);
    assert_eq!(
        manifest[0]["Config"],
        format!("blobs/sha256/{}", &app_c[7..]).as_str()
    );
    assert_eq!(manifest[0]["RepoTags"], json(r#"["app:1","app:latest"]"#));
    assert_eq!(
        manifest[0]["Layers"][0],
        format!("blobs/sha256/{}", &app_l[0][7..]).as_str()
    );
    assert_eq!(manifest[1]["RepoTags"], json(r#"["tool:2"]"#));

    let index = json(std::str::from_utf8(file(&e, "index.json")).unwrap());
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["digest"], app_m.as_str());
    assert_eq!(
        entries[0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/app:1"
    );
    assert_eq!(
        entries[0]["annotations"]["org.opencontainers.image.ref.name"],
        "1"
    );
    assert_eq!(entries[2]["digest"], tool_m.as_str());

    // repositories maps each tag to the top layer's diff ID, as Docker writes it.
    let config = json(&String::from_utf8(blob(&t, &app_c)).unwrap());
    let diff_id = config["rootfs"]["diff_ids"][0].as_str().unwrap();
    let repos = json(std::str::from_utf8(file(&e, "repositories")).unwrap());
    assert_eq!(repos["app"]["latest"], &diff_id[7..]);
    assert_eq!(repos["tool"]["2"], &diff_id[7..]);

    // The same images saved again give the same bytes, on stdout as in a file.
    let mut c = t.lade();
    let again = c.args(["save", "app", "tool:2"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(again.stdout, bytes);
}

#[test]
fn skopeo_reads_what_lade_saves_in_each_format() {
    let t = two_images();
    let (app_m, _, app_l) = digests(&t, "docker.io/library/app:1");

    // docker-archive: skopeo sees the image and its diff IDs, and copies it out.
    let docker = t.path("docker.tar");
    t.run(&["save", "-o", docker.to_str().unwrap(), "app:1"])
        .ok();
    let inspect = json(&sh(&format!(
        "skopeo inspect docker-archive:{}",
        docker.display()
    )));
    assert_eq!(inspect["RepoTags"], json("[]"));
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 1);
    let layout = t.path("from-docker");
    sh(&format!(
        "skopeo copy -q docker-archive:{}:app:1 oci:{}:app",
        docker.display(),
        layout.display()
    ));
    // The same archive is an OCI layout: skopeo reads it as one, every digest kept.
    let raw = sh(&format!(
        "skopeo inspect --raw oci-archive:{}",
        docker.display()
    ));
    assert_eq!(format!("sha256:{}", sha256_hex(raw.as_bytes())), app_m);

    // oci-archive: names are full references; skopeo copies it with digests intact.
    let oci = t.path("oci.tar");
    t.run(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        "app:1",
        "tool:2",
    ])
    .ok();
    let e = entries(&std::fs::read(&oci).unwrap());
    assert!(!e.iter().any(|(p, ..)| p == "manifest.json"));
    let inspect = json(&sh(&format!(
        "skopeo inspect oci-archive:{}:docker.io/library/app:1",
        oci.display()
    )));
    assert_eq!(inspect["Digest"], app_m.as_str());
    assert_eq!(inspect["Layers"][0], app_l[0].as_str());
    let copy = t.path("copy");
    sh(&format!(
        "skopeo copy -q oci-archive:{}:docker.io/library/app:1 oci:{}:app",
        oci.display(),
        copy.display()
    ));
    let raw = sh(&format!("skopeo inspect --raw oci:{}:app", copy.display()));
    assert_eq!(format!("sha256:{}", sha256_hex(raw.as_bytes())), app_m);

    // oci-dir: the same layout as a directory.
    let dir = t.path("dir");
    t.run(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        "app:1",
    ])
    .ok();
    let raw = sh(&format!(
        "skopeo inspect --raw oci:{}:docker.io/library/app:1",
        dir.display()
    ));
    assert_eq!(format!("sha256:{}", sha256_hex(raw.as_bytes())), app_m);
    // A directory that is not empty is not overwritten.
    t.run(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        "app:1",
    ])
    .fails_with("is not empty");
}

#[test]
fn save_compresses_the_whole_stream() {
    let t = two_images();
    let plain = t.path("plain.tar");
    t.run(&["save", "-o", plain.to_str().unwrap(), "app:1"])
        .ok();
    let plain = std::fs::read(plain).unwrap();
    for (flag, magic) in [
        ("gzip", &[0x1f, 0x8b][..]),
        ("zstd", &[0x28, 0xb5, 0x2f, 0xfd]),
    ] {
        let out = t.path(&format!("c.{flag}"));
        t.run(&[
            "save",
            "--compress",
            flag,
            "-o",
            out.to_str().unwrap(),
            "app:1",
        ])
        .ok();
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(magic), "{flag}");
        let unpacked = if flag == "gzip" {
            gunzip(&bytes)
        } else {
            zstd::decode_all(&bytes[..]).unwrap()
        };
        assert_eq!(unpacked, plain, "{flag}");
    }
    t.run(&[
        "save",
        "--compress",
        "gzip",
        "--format",
        "oci-dir",
        "-o",
        "x",
        "app:1",
    ])
    .fails_with("--compress cannot be used with --format oci-dir");
}

#[test]
fn save_refuses_a_terminal_and_unknown_images_without_leaving_a_file() {
    let t = two_images();
    let out = t.path("out.tar");
    let run = t
        .run(&["save", "-o", out.to_str().unwrap(), "app:1", "nope:1"])
        .fails_with("No such image: nope:1");
    // The lookup error is the save error's source, where hints find it.
    assert!(
        run.stderr
            .contains("hint: `lade images` lists the images in the store"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(t.dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".lade-tmp"))
            .count(),
        0,
        "no temporary file is left"
    );
    t.run(&[
        "save",
        "--platform",
        "linux/s390x",
        "-o",
        out.to_str().unwrap(),
        "app:1",
    ])
    .fails_with("does not match the specified platform");

    // On a terminal, Docker's refusal (script(1) gives lade a pseudo-terminal).
    let script = format!(
        "script -qec '{} --root {} save app:1' /dev/null",
        env!("CARGO_BIN_EXE_lade"),
        t.root().display()
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"),
        "{text}"
    );
}

#[test]
fn save_by_id_and_digest_names_nothing() {
    let t = two_images();
    let (app_m, app_c, _) = digests(&t, "docker.io/library/app:1");
    for what in [app_c[7..19].to_owned(), format!("app@{app_m}")] {
        let mut c = t.lade();
        let o = c.args(["save", &what]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let e = entries(&o.stdout);
        let manifest = json(std::str::from_utf8(file(&e, "manifest.json")).unwrap());
        assert_eq!(manifest[0]["RepoTags"], json("[]"), "{what}");
        assert!(!e.iter().any(|(p, ..)| p == "repositories"));
        let index = json(std::str::from_utf8(file(&e, "index.json")).unwrap());
        assert_eq!(index["manifests"][0]["digest"], app_m.as_str());
        assert!(index["manifests"][0].get("annotations").is_none());
    }
}

// ---------------------------------------------------------------------------------
// load

/// A tar built entry by entry, headers written by hand so that hostile names
/// (`../x`, `/x`) go in as they are.
#[derive(Default)]
pub(crate) struct RawTar(Vec<u8>);

impl RawTar {
    pub(crate) fn entry(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        data: &[u8],
        link: &str,
    ) -> &mut Self {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        self.0
            .resize(self.0.len() + (512 - data.len() % 512) % 512, 0);
        self
    }

    pub(crate) fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.entry(path, tar::EntryType::Regular, data, "")
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.0);
        out.extend_from_slice(&[0; 1024]);
        out
    }
}

/// Rebuilds a tar from (modified) entries.
fn retar(entries: &[(String, tar::EntryType, Vec<u8>)]) -> Vec<u8> {
    let mut t = RawTar::default();
    for (p, k, d) in entries {
        t.entry(p, *k, d, "");
    }
    t.finish()
}

/// Saves `what` from `t` (docker-archive unless `format` says otherwise).
fn saved(t: &TestRoot, args: &[&str]) -> Vec<u8> {
    let out = t.path("saved.tar");
    let mut all = vec!["save", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    t.run(&all).ok();
    std::fs::read(out).unwrap()
}

/// `lade load` from stdin into `t`.
fn load(t: &TestRoot, archive: &[u8]) -> Run {
    t.run_stdin(&["load"], archive)
}

#[test]
fn save_then_load_into_a_fresh_store_keeps_every_digest() {
    let src = two_images();
    let names = [
        "docker.io/library/app:1",
        "docker.io/library/app:latest",
        "docker.io/library/tool:2",
    ];
    let want: Vec<_> = names.iter().map(|n| digests(&src, n)).collect();
    let docker = saved(&src, &["app", "tool:2"]);
    let oci = saved(&src, &["--format", "oci-archive", "app", "tool:2"]);
    let dir = src.path("layout");
    src.run(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        "app",
        "tool:2",
    ])
    .ok();
    let xz = {
        std::fs::write(src.path("x.tar"), &docker).unwrap();
        sh(&format!("xz -kf {}", src.path("x.tar").display()));
        std::fs::read(src.path("x.tar.xz")).unwrap()
    };
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("docker-archive", docker.clone()),
        ("oci-archive", oci),
        ("gzip", gzip(&docker)),
        ("zstd", zstd::encode_all(&docker[..], 3).unwrap()),
        ("xz", xz),
    ];
    for (what, input) in inputs {
        let t = TestRoot::new();
        let out = load(&t, &input).ok();
        assert_eq!(
            out.stdout, "Loaded image: app:1\nLoaded image: app:latest\nLoaded image: tool:2\n",
            "{what}"
        );
        for (name, expected) in names.iter().zip(&want) {
            assert_eq!(&digests(&t, name), expected, "{what}: {name}");
        }
        assert_clean(&t);
        let images = t.run(&["images"]).ok().stdout;
        assert_eq!(images.lines().count(), 4, "{what}:\n{images}");
    }
    // A directory, with -i.
    let t = TestRoot::new();
    t.run(&["load", "-i", dir.to_str().unwrap()]).ok();
    for (name, expected) in names.iter().zip(&want) {
        assert_eq!(&digests(&t, name), expected, "oci-dir: {name}");
    }
    assert_clean(&t);

    // Loading the same archive again changes nothing but the output.
    let before = t.snapshot();
    let again = t.run_stdin(&["load", "-q"], &docker).ok();
    assert!(again.stdout.contains("Loaded image: app:1"));
    assert!(again.stderr.is_empty(), "{}", again.stderr);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn skopeo_archives_load_with_their_digests() {
    let src = two_images();
    let (m, c, l) = digests(&src, "docker.io/library/app:1");
    let root = src.root();

    // oci-archive keeps the manifest as it is: every digest equal.
    let oci = src.path("sk-oci.tar");
    sh(&format!(
        "skopeo copy -q oci:{}:docker.io/library/app:1 oci-archive:{}:example.com/team/app:7",
        root.display(),
        oci.display()
    ));
    let t = TestRoot::new();
    let out = t.run(&["load", "-i", oci.to_str().unwrap()]).ok();
    assert_eq!(out.stdout, "Loaded image: example.com/team/app:7\n");
    assert_eq!(
        digests(&t, "example.com/team/app:7"),
        (m.clone(), c.clone(), l.clone())
    );
    assert_clean(&t);

    // docker-archive (layers uncompressed, linked from <id>/layer.tar): the image ID
    // and its diff IDs are kept; the layers are stored as skopeo wrote them.
    let docker = src.path("sk-docker.tar");
    sh(&format!(
        "skopeo copy -q oci:{}:docker.io/library/app:1 docker-archive:{}:app:1",
        root.display(),
        docker.display()
    ));
    let t = TestRoot::new();
    let out = t.run(&["load", "-i", docker.to_str().unwrap()]).ok();
    assert_eq!(out.stdout, "Loaded image: app:1\n");
    let (_, c2, l2) = digests(&t, "docker.io/library/app:1");
    assert_eq!(c2, c, "the image ID is kept");
    let config = json(&String::from_utf8(blob(&t, &c2)).unwrap());
    assert_eq!(config["rootfs"]["diff_ids"][0], l2[0].as_str());
    let manifest =
        json(&String::from_utf8(blob(&t, &manifest_of(&t, "docker.io/library/app:1"))).unwrap());
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_clean(&t);
    // skopeo reads the loaded image back from the store.
    sh(&format!(
        "skopeo inspect oci:{}:docker.io/library/app:1",
        t.root().display()
    ));

    // Into the store that has the image already: the same image, not a second manifest.
    let out = src.run(&["load", "-i", docker.to_str().unwrap()]).ok();
    assert_eq!(out.stdout, "Loaded image: app:1\n");
    assert_eq!(digests(&src, "docker.io/library/app:1"), (m, c, l));
    assert_clean(&src);
}

/// A Docker ≤ 24 archive: `<id>/layer.tar` (the second image's first layer a symlink
/// to the first's, as Docker writes repeated layers), `<hex>.json` configs, and
/// `manifest.json` and `repositories` last.
fn old_docker_archive(layers: &[Vec<u8>], gzip_second: bool) -> (Vec<u8>, Vec<String>) {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = |ids: &[String]| {
        format!(
            r#"{{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","config":{{"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":{}}}}}"#,
            serde_json::to_string(ids).unwrap()
        )
    };
    let c1 = config(&diff_ids[..1]);
    let c2 = config(&diff_ids);
    let mut t = RawTar::default();
    t.entry("aaa/", tar::EntryType::Directory, b"", "")
        .file("aaa/VERSION", b"1.0")
        .file("aaa/json", b"{}")
        .file("aaa/layer.tar", &layers[0])
        .entry("bbb/", tar::EntryType::Directory, b"", "")
        .entry(
            "bbb/layer.tar",
            tar::EntryType::Symlink,
            b"",
            "../aaa/layer.tar",
        );
    let second = if gzip_second {
        gzip(&layers[1])
    } else {
        layers[1].clone()
    };
    t.file("ccc/layer.tar", &second);
    t.file(
        &format!("{}.json", sha256_hex(c1.as_bytes())),
        c1.as_bytes(),
    );
    t.file(
        &format!("{}.json", sha256_hex(c2.as_bytes())),
        c2.as_bytes(),
    );
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["old:1"],"Layers":["aaa/layer.tar"]}},{{"Config":"{}.json","RepoTags":null,"Layers":["bbb/layer.tar","ccc/layer.tar"]}}]"#,
        sha256_hex(c1.as_bytes()),
        sha256_hex(c2.as_bytes())
    );
    t.file("manifest.json", manifest.as_bytes());
    t.file("repositories", br#"{"old":{"1":"aaa"}}"#);
    (
        t.finish(),
        vec![
            format!("sha256:{}", sha256_hex(c1.as_bytes())),
            format!("sha256:{}", sha256_hex(c2.as_bytes())),
        ],
    )
}

#[test]
fn old_docker_archives_load_with_layers_checked_against_the_config() {
    let layers = vec![
        tarball(&[("etc/a", b"first layer\n")]),
        tarball(&[("etc/b", &noise(10_000, 3))]),
    ];
    let (archive, ids) = old_docker_archive(&layers, true);
    let t = TestRoot::new();
    let out = load(&t, &archive).ok();
    assert_eq!(
        out.stdout,
        format!("Loaded image: old:1\nLoaded image ID: {}\n", ids[1])
    );
    let (_, c, l) = digests(&t, "docker.io/library/old:1");
    assert_eq!(c, ids[0]);
    // Stored as it came: the uncompressed layer's digest is its diff ID.
    assert_eq!(l, [format!("sha256:{}", sha256_hex(&layers[0]))]);
    // The untagged image, with its gzipped second layer stored as gzip.
    let entry = index(&t)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m.get("annotations").is_none())
        .unwrap()
        .clone();
    let m = json(&String::from_utf8(blob(&t, entry["digest"].as_str().unwrap())).unwrap());
    assert_eq!(m["config"]["digest"], ids[1].as_str());
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_clean(&t);
    let images = t.run(&["images"]).ok().stdout;
    assert!(images.contains("<none>"), "{images}");

    // A layer that is not what the config says is refused.
    let (mut bad, _) = old_docker_archive(&layers, false);
    let at = bad
        .windows(b"first layer".len())
        .position(|w| w == b"first layer")
        .unwrap();
    bad[at] = b'F';
    let t = two_images_other();
    let before = t.snapshot();
    load(&t, &bad).fails_with("does not match the image config");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn index_json_may_come_after_the_blobs() {
    let src = two_images();
    let e = entries(&saved(&src, &["--format", "oci-archive", "app:1"]));
    let mut reordered: Vec<_> = e
        .iter()
        .filter(|(p, ..)| p.starts_with("blobs/"))
        .cloned()
        .collect();
    reordered.extend(e.iter().filter(|(p, ..)| !p.starts_with("blobs/")).cloned());
    assert_eq!(reordered.last().unwrap().0, "index.json");
    let t = TestRoot::new();
    load(&t, &retar(&reordered)).ok();
    assert_eq!(
        digests(&t, "docker.io/library/app:1"),
        digests(&src, "docker.io/library/app:1")
    );
}

#[test]
fn load_moves_names_as_docker_does() {
    let t = TestRoot::new();
    let old = import_image(&t, Some("app:1"), 1);
    let src = two_images();
    let out = load(&t, &saved(&src, &["app:1"])).ok();
    assert_eq!(
        out.stdout,
        format!(
            "The image app:1 already exists, renaming the old one with ID {old} to empty string\nLoaded image: app:1\n"
        )
    );
    let images = t.run(&["images"]).ok().stdout;
    assert!(
        images.contains("<none>"),
        "the old image is dangling:\n{images}"
    );
}

#[test]
fn load_from_a_terminal_is_refused() {
    let t = TestRoot::new();
    let script = format!(
        "script -qec '{} --root {} load' /dev/null",
        env!("CARGO_BIN_EXE_lade"),
        t.root().display()
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("requested load from stdin, but stdin is empty"),
        "{text}"
    );
}

/// Archives that lie: each is refused with a clear error, and the store (which has
/// images of its own) is exactly as it was; nothing is written outside it.
#[test]
fn hostile_archives_are_refused_and_change_nothing() {
    let src = two_images();
    let good = entries(&saved(&src, &["app:1", "tool:2"]));
    let (_, _, layers) = digests(&src, "docker.io/library/app:1");
    let layer_path = format!("blobs/sha256/{}", &layers[0][7..]);

    let with = |f: &dyn Fn(&mut Entries)| {
        let mut e = good.clone();
        f(&mut e);
        retar(&e)
    };
    // Blobs first, so that the store has already taken some when the lie shows.
    let blobs_first = {
        let mut e: Vec<_> = good
            .iter()
            .filter(|(p, ..)| p.starts_with("blobs/"))
            .cloned()
            .collect();
        e.extend(
            good.iter()
                .filter(|(p, ..)| !p.starts_with("blobs/"))
                .cloned(),
        );
        e
    };
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();

    cases.push((
        "traversal",
        with(&|e| {
            e.insert(
                0,
                ("../escape".into(), tar::EntryType::Regular, b"x".to_vec()),
            )
        }),
        "climbs out of the archive",
    ));
    cases.push((
        "absolute path",
        with(&|e| {
            e.push((
                "/tmp/lade-escape".into(),
                tar::EntryType::Regular,
                b"x".to_vec(),
            ))
        }),
        "has an absolute path",
    ));
    let symlink_escape = {
        let mut t = RawTar::default();
        for (p, k, d) in &blobs_first {
            if *p == layer_path {
                t.entry(p, tar::EntryType::Symlink, b"", "../../../../etc/passwd");
            } else {
                t.entry(p, *k, d, "");
            }
        }
        t.finish()
    };
    cases.push((
        "symlink escape",
        symlink_escape,
        "points outside the archive",
    ));
    let absolute_link = {
        let mut t = RawTar::default();
        t.entry("escape", tar::EntryType::Symlink, b"", "/etc/passwd");
        for (p, k, d) in &good {
            t.entry(p, *k, d, "");
        }
        t.finish()
    };
    cases.push(("absolute symlink", absolute_link, "outside the archive"));
    cases.push((
        "wrong blob bytes",
        {
            let mut e = blobs_first.clone();
            let l = e.iter_mut().find(|(p, ..)| *p == layer_path).unwrap();
            let n = l.2.len();
            l.2[n / 2] ^= 0xff;
            retar(&e)
        },
        "does not match its digest",
    ));
    cases.push((
        "missing layer",
        {
            let mut e = blobs_first.clone();
            e.retain(|(p, ..)| *p != layer_path);
            retar(&e)
        },
        "which is not in the archive",
    ));
    cases.push((
        "manifest.json names a file that is not there",
        with(&|e| {
            let m = e.iter_mut().find(|(p, ..)| p == "manifest.json").unwrap();
            m.2 = String::from_utf8(m.2.clone())
                .unwrap()
                .replacen("\"Layers\":[\"blobs/sha256/", "\"Layers\":[\"nothere/", 1)
                .into_bytes();
        }),
        "names \"nothere/",
    ));
    cases.push((
        "manifest.json climbs out",
        with(&|e| {
            let m = e.iter_mut().find(|(p, ..)| p == "manifest.json").unwrap();
            m.2 = String::from_utf8(m.2.clone())
                .unwrap()
                .replacen("\"Layers\":[\"blobs/sha256/", "\"Layers\":[\"../../", 1)
                .into_bytes();
        }),
        "climbs out of the archive",
    ));
    cases.push((
        "duplicate entry with other content",
        with(&|e| {
            let mut other = e
                .iter()
                .find(|(p, ..)| p == "repositories")
                .unwrap()
                .clone();
            other.2 = b"{}".to_vec();
            e.push(other);
        }),
        "appears twice with different content",
    ));
    cases.push((
        "device file",
        with(&|e| e.push(("dev/null".into(), tar::EntryType::Char, Vec::new()))),
        "character device",
    ));
    let whole = retar(&blobs_first);
    cases.push((
        "truncated stream",
        whole[..whole.len() * 2 / 3].to_vec(),
        "truncated",
    ));
    let gz = gzip(&whole);
    cases.push((
        "truncated gzip stream",
        gz[..gz.len() - 100].to_vec(),
        "failed to read the archive",
    ));
    // 40 MiB of spaces in index.json: a few kB compressed.
    let bomb = {
        let mut t = RawTar::default();
        t.file("index.json", &vec![b' '; 40 << 20]);
        gzip(&t.finish())
    };
    assert!(bomb.len() < 200_000);
    cases.push(("metadata bomb", bomb, "a metadata file may have at most"));
    cases.push(("empty input", Vec::new(), "the input is empty"));
    cases.push(("not a tar", noise(5000, 9), "not a tar archive"));
    cases.push((
        "no image metadata",
        with(&|e| e.retain(|(p, ..)| p.starts_with("blobs/"))),
        "neither manifest.json nor index.json",
    ));

    let t = two_images_other();
    let before = t.snapshot();
    for (what, archive, needle) in cases {
        let run = load(&t, &archive);
        assert_ne!(
            run.code, 0,
            "{what}: loaded a hostile archive:\n{}",
            run.stdout
        );
        assert!(
            run.stderr.contains(needle),
            "{what}: stderr does not contain {needle:?}:\n{}",
            run.stderr
        );
        assert_eq!(t.snapshot(), before, "{what}: the store changed");
    }
    assert!(!t.dir.path().join("escape").exists());
    assert!(!std::path::Path::new("/tmp/lade-escape").exists());
    assert_clean(&t);
}

/// A store with images of its own, unrelated to `two_images`.
fn two_images_other() -> TestRoot {
    let t = TestRoot::new();
    import_image(&t, Some("mine:1"), 11);
    import_image(&t, None, 12);
    t
}

#[test]
fn hostile_directories_are_refused() {
    let src = two_images();
    let dir = src.path("layout");
    src.run(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        "app:1",
    ])
    .ok();
    let (_, _, layers) = digests(&src, "docker.io/library/app:1");
    let layer = dir.join("blobs/sha256").join(&layers[0][7..]);
    std::fs::remove_file(&layer).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &layer).unwrap();
    let t = two_images_other();
    let before = t.snapshot();
    t.run(&["load", "-i", dir.to_str().unwrap()])
        .fails_with("outside the archive");
    assert_eq!(t.snapshot(), before);
}

// ---------------------------------------------------------------------------------
// OCI layouts built by the tests, and export

/// An OCI image layout assembled in memory.
#[derive(Default)]
pub(crate) struct Layout {
    pub(crate) blobs: Vec<(String, Vec<u8>)>,
    pub(crate) manifests: Vec<serde_json::Value>,
}

impl Layout {
    pub(crate) fn blob(&mut self, bytes: Vec<u8>) -> serde_json::Value {
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        let size = bytes.len();
        if !self.blobs.iter().any(|(d, _)| *d == digest) {
            self.blobs.push((digest.clone(), bytes));
        }
        serde_json::json!({"digest": digest, "size": size})
    }

    /// An image of these (uncompressed) layers, stored gzipped; returns its manifest
    /// descriptor (not yet in index.json).
    pub(crate) fn image(&mut self, layers: &[Vec<u8>], arch: &str) -> serde_json::Value {
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| format!("sha256:{}", sha256_hex(l)))
            .collect();
        let config = serde_json::json!({
            "architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let mut c = self.blob(serde_json::to_vec(&config).unwrap());
        c["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| {
                let mut d = self.blob(gzip(l));
                d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
                d
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": c, "layers": layers,
        });
        let mut d = self.blob(serde_json::to_vec(&manifest).unwrap());
        d["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
        d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
        d
    }

    pub(crate) fn name(&mut self, mut descriptor: serde_json::Value, name: &str) {
        descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
        self.manifests.push(descriptor);
    }

    pub(crate) fn write(&self, dir: &std::path::Path) {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        for (d, bytes) in &self.blobs {
            std::fs::write(dir.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
        }
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.manifests});
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    }
}

/// A layer tar, entry by entry.
pub(crate) struct Layer(pub(crate) tar::Builder<Vec<u8>>);

impl Layer {
    pub(crate) fn new() -> Self {
        Self(tar::Builder::new(Vec::new()))
    }

    pub(crate) fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h
    }

    pub(crate) fn dir(mut self, p: &str, mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.0.append_data(&mut h, p, &[][..]).unwrap();
        self
    }

    pub(crate) fn file(mut self, p: &str, data: &[u8], mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut h, p, data).unwrap();
        self
    }

    pub(crate) fn link(mut self, kind: tar::EntryType, p: &str, target: &str) -> Self {
        let mut h = Self::header(kind, 0o777, 0);
        self.0.append_link(&mut h, p, target).unwrap();
        self
    }

    pub(crate) fn fifo(mut self, p: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Fifo, 0o644, 0);
        self.0.append_data(&mut h, p, &[][..]).unwrap();
        self
    }

    pub(crate) fn done(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// Three layers with every kind of change a layer can make.
pub(crate) fn layered_image() -> Vec<Vec<u8>> {
    use tar::EntryType::{Link, Symlink};
    let l1 = Layer::new()
        .dir("etc", 0o755)
        .file("etc/a", b"a1\n", 0o644)
        .file("etc/b", b"b1\n", 0o644)
        .link(Link, "etc/a-hard", "etc/a")
        .link(Symlink, "etc/link", "a")
        .dir("usr", 0o755)
        .dir("usr/bin", 0o755)
        .file("usr/bin/tool", b"tool v1\n", 0o755)
        .link(Link, "usr/bin/tool2", "usr/bin/tool")
        .dir("opt", 0o755)
        .file("opt/x", b"x\n", 0o644)
        .dir("opt/sub", 0o755)
        .file("opt/sub/y", b"y\n", 0o600)
        .dir("var", 0o755)
        .dir("var/keep", 0o755)
        .file("var/keep/f", b"f\n", 0o644)
        .dir("run", 0o755)
        .fifo("run/fifo")
        .file("becomes-dir", b"a file first\n", 0o644)
        .dir("becomes-file", 0o755)
        .file("becomes-file/inner", b"inner\n", 0o644)
        .done();
    let l2 = Layer::new()
        .dir("etc", 0o700)
        .file("etc/.wh.b", b"", 0o644)
        .dir("usr", 0o755)
        .dir("usr/bin", 0o755)
        .file("usr/bin/tool", b"tool v2\n", 0o755)
        .dir("opt", 0o755)
        .file("opt/.wh..wh..opq", b"", 0o644)
        .file("opt/z", b"z\n", 0o644)
        .file("becomes-file", b"now a file\n", 0o640)
        .done();
    let l3 = Layer::new()
        .file(".wh.var", b"", 0o644)
        .file("etc/c", b"c3\n", 0o644)
        .dir("becomes-dir", 0o750)
        .file("becomes-dir/inside", b"inside\n", 0o644)
        .dir("var2", 0o755)
        .file(".wh..wh.plnk", b"", 0o644)
        .done();
    vec![l1, l2, l3]
}

/// A tree on disk, path → (kind, mode, content or link target), and its hard links.
pub(crate) fn tree(root: &std::path::Path) -> (Tree, Vec<(String, u64)>) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = BTreeMap::new();
    let mut inodes = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let (kind, content) = if ft.is_dir() {
                stack.push(p.clone());
                ('d', Vec::new())
            } else if ft.is_symlink() {
                (
                    'l',
                    std::fs::read_link(&p)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes(),
                )
            } else if ft.is_fifo() {
                ('p', Vec::new())
            } else {
                inodes.push((rel.clone(), m.ino()));
                ('f', std::fs::read(&p).unwrap())
            };
            let mode = if kind == 'l' { 0 } else { m.mode() & 0o7777 };
            out.insert(rel, (kind, mode, content));
        }
    }
    (out, inodes)
}

#[test]
fn export_flattens_layers_as_umoci_unpacks_them() {
    let t = TestRoot::new();
    let mut layout = Layout::default();
    let image = layout.image(&layered_image(), "amd64");
    layout.name(image, "docker.io/library/flat:1");
    let dir = t.path("layout");
    layout.write(&dir);
    t.run(&["load", "-i", dir.to_str().unwrap()]).ok();

    let out = t.path("flat.tar");
    t.run(&["image", "export", "flat:1", "-o", out.to_str().unwrap()])
        .ok();
    let bytes = std::fs::read(&out).unwrap();
    let listed: Vec<String> = entries(&bytes)
        .iter()
        .map(|(p, ..)| p.trim_end_matches('/').to_owned())
        .collect();
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "each path once: {listed:?}");
    assert!(!listed.iter().any(|p| p.contains(".wh.")), "{listed:?}");
    // Parents come before children.
    for (i, p) in listed.iter().enumerate() {
        if let Some((parent, _)) = p.rsplit_once('/') {
            let at = listed.iter().position(|q| q == parent);
            assert!(
                at.is_some_and(|at| at < i),
                "{parent} after {p}: {listed:?}"
            );
        }
    }

    // umoci applies the same layers; the trees must be the same.
    let bundle = t.path("bundle");
    sh(&format!(
        "umoci unpack --rootless --image {}:docker.io/library/flat:1 {}",
        dir.display(),
        bundle.display()
    ));
    let ours = t.path("ours");
    std::fs::create_dir(&ours).unwrap();
    sh(&format!(
        "tar -xf {} -C {} --no-same-owner",
        out.display(),
        ours.display()
    ));
    let (theirs_tree, theirs_inodes) = tree(&bundle.join("rootfs"));
    let (ours_tree, ours_inodes) = tree(&ours);
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted,
        theirs_tree.keys().cloned().collect::<Vec<_>>(),
        "tar -t of the export lists what umoci unpacked"
    );
    assert_eq!(ours_tree, theirs_tree);
    let ino = |list: &[(String, u64)], p: &str| list.iter().find(|(q, _)| q == p).unwrap().1;
    for list in [&theirs_inodes, &ours_inodes] {
        assert_eq!(
            ino(list, "etc/a"),
            ino(list, "etc/a-hard"),
            "hard link kept"
        );
        assert_ne!(ino(list, "usr/bin/tool"), ino(list, "usr/bin/tool2"));
    }
    assert_eq!(ours_tree["usr/bin/tool2"].2, b"tool v1\n");
    assert_eq!(
        ours_tree["etc"].1, 0o700,
        "the last version of a directory wins"
    );
    assert!(!ours_tree.contains_key("etc/b") && !ours_tree.contains_key("var"));
    assert_eq!(ours_tree["run/fifo"].0, 'p');

    // The export is a root filesystem `lade import` takes as it is.
    t.run(&["import", out.to_str().unwrap(), "flat:imported"])
        .ok();
    let mut c = t.lade();
    let again = c
        .args(["image", "export", "flat:imported"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(again.stdout, bytes, "export of the import is the same tar");
}

#[test]
fn multi_platform_layouts_load_the_platform_asked_for() {
    let mut layout = Layout::default();
    let amd = layout.image(&[tarball(&[("etc/arch", b"amd64\n")])], "amd64");
    let arm = layout.image(&[tarball(&[("etc/arch", b"arm64\n")])], "arm64");
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd, arm],
    });
    let mut d = layout.blob(serde_json::to_vec(&index).unwrap());
    d["mediaType"] = "application/vnd.oci.image.index.v1+json".into();
    let index_digest = d["digest"].as_str().unwrap().to_owned();
    layout.name(d, "example.com/multi:1");
    let t = TestRoot::new();
    let dir = t.path("layout");
    layout.write(&dir);

    t.run(&[
        "load",
        "-i",
        dir.to_str().unwrap(),
        "--platform",
        "linux/arm64",
    ])
    .ok();
    assert_eq!(
        manifest_of(&t, "example.com/multi:1"),
        arm["digest"].as_str().unwrap()
    );
    let inspect = json(&t.run(&["inspect", "example.com/multi:1"]).ok().stdout);
    assert_eq!(inspect[0]["Architecture"], "arm64");
    assert!(
        t.root()
            .join("blobs/sha256")
            .join(&index_digest[7..])
            .is_file()
    );
    assert_clean(&t);

    t.run(&["load", "-i", dir.to_str().unwrap(), "--platform", "linux/s390x"])
        .fails_with("no image in example.com/multi:1 matches platform linux/s390x (available: linux/amd64, linux/arm64)");
}

#[test]
fn export_refuses_a_terminal_and_unknown_images() {
    let t = TestRoot::new();
    import_image(&t, Some("app:1"), 1);
    let out = t.path("x.tar");
    t.run(&["image", "export", "nope", "-o", out.to_str().unwrap()])
        .fails_with("No such image: nope:latest");
    assert!(!out.exists());
    let script = format!(
        "script -qec '{} --root {} image export app:1' /dev/null",
        env!("CARGO_BIN_EXE_lade"),
        t.root().display()
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("cowardly refusing to save to a terminal"));
}

/// podman, when it runs here (a throwaway root with the vfs driver): it loads what
/// lade saves, and lade loads what it saves, image IDs kept.
#[test]
fn podman_round_trips() {
    let t = two_images();
    let podman = format!(
        "podman --root {} --runroot {} --storage-driver vfs",
        t.path("podman-root").display(),
        t.path("podman-run").display()
    );
    let usable = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("{podman} images"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        eprintln!("skipped: podman does not run here");
        return;
    }
    let (_, id, _) = digests(&t, "docker.io/library/app:1");
    let ours = t.path("lade.tar");
    t.run(&["save", "-o", ours.to_str().unwrap(), "app:1"]).ok();
    let loaded = sh(&format!("{podman} load -q -i {}", ours.display()));
    // podman qualifies the short name its own way (localhost/ or docker.io/).
    let name = loaded
        .trim()
        .strip_prefix("Loaded image: ")
        .unwrap_or_else(|| panic!("{loaded}"))
        .to_owned();
    assert!(name.ends_with("/app:1"), "{loaded}");
    let ids = sh(&format!(
        "{podman} images --no-trunc --format '{{{{.ID}}}}'"
    ));
    assert!(ids.contains(&id[7..]), "podman has {ids}, lade saved {id}");

    let theirs = t.path("podman.tar");
    sh(&format!("{podman} save -o {} {name}", theirs.display()));
    let fresh = TestRoot::new();
    let out = fresh.run(&["load", "-i", theirs.to_str().unwrap()]).ok();
    let full = lade_name(&name);
    assert_eq!(out.stdout, format!("Loaded image: {}\n", familiar(&full)));
    assert_eq!(digests(&fresh, &full).1, id);
    assert_clean(&fresh);

    let oci = t.path("podman-oci.tar");
    sh(&format!(
        "{podman} save --format oci-archive -o {} {name}",
        oci.display()
    ));
    let fresh = TestRoot::new();
    let out = fresh.run(&["load", "-i", oci.to_str().unwrap()]).ok();
    assert_eq!(out.stdout, format!("Loaded image: {}\n", familiar(&full)));
    assert_clean(&fresh);
}

/// `docker.io/library/app:1` for `app:1` or `docker.io/library/app:1`; other names as they are.
fn lade_name(name: &str) -> String {
    if name.starts_with("docker.io/") || name.contains('.') || name.starts_with("localhost/") {
        name.to_owned()
    } else {
        format!("docker.io/library/{name}")
    }
}

fn familiar(full: &str) -> String {
    full.strip_prefix("docker.io/library/")
        .or_else(|| full.strip_prefix("docker.io/"))
        .unwrap_or(full)
        .to_owned()
}

/// `-o` names a file to replace atomically, unless it is not a regular file: a device
/// or a FIFO gets the bytes as it is (replacing `/dev/null` by a rename broke this
/// machine once), and a symbolic link keeps pointing where it did.
#[test]
fn output_to_a_device_a_fifo_or_a_symlink_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let t = two_images();
    for cmd in [
        &["save", "-o", "/dev/null", "app"][..],
        &["image", "export", "-o", "/dev/null", "app"],
    ] {
        t.run(cmd).ok();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "{cmd:?} replaced /dev/null"
        );
    }
    // A FIFO: a reader on the other side gets the whole archive.
    let fifo = t.path("pipe");
    sh(&format!("mkfifo {}", fifo.display()));
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    t.run(&["save", "-o", fifo.to_str().unwrap(), "app"]).ok();
    let got = reader.join().unwrap();
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let names: Vec<String> = entries(&got).into_iter().map(|e| e.0).collect();
    assert!(names.contains(&"manifest.json".to_owned()), "{names:?}");
    // A symbolic link: the file it names is written, the link stays.
    let real = t.path("real.tar");
    let link = t.path("link.tar");
    std::fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    t.run(&["save", "-o", link.to_str().unwrap(), "app"]).ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&link).unwrap(), std::fs::read(&real).unwrap());
    assert!(std::fs::read(&real).unwrap().len() > 1024);
}
