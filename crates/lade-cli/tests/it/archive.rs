//! `lade save`, `lade load` and `lade image export`: the formats peers write and read
//! (skopeo, umoci), round trips that keep every digest, and archives that lie.

use crate::support::*;

/// Every entry of a tar: path → (type, content).
fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType, Vec<u8>)> {
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
    t.run(&["save", "-o", out.to_str().unwrap(), "app:1", "nope:1"])
        .fails_with("No such image: nope:1");
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
