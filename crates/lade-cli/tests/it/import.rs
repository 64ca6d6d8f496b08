//! `lade import`: formats, options, and inputs that must be refused without harm.

use crate::support::*;

fn sample() -> Vec<u8> {
    tarball(&[
        ("etc/hostname", b"lade\n"),
        ("usr/bin/tool", &noise(300_000, 1)),
        ("usr/share/doc/readme", &b"text ".repeat(10_000)),
    ])
}

/// Imports `input` (given to lade as a file) and checks the stored image against the tar.
fn import_and_verify(input: &[u8], tar: &[u8]) {
    let t = TestRoot::new();
    std::fs::write(t.path("input"), input).unwrap();
    let out = t
        .run(&[
            "import",
            t.path("input").to_str().unwrap(),
            "example.com/team/app:1.0",
        ])
        .ok();
    let id = out.stdout.trim().to_owned();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let manifest_digest = manifest_of(&t, "example.com/team/app:1.0");
    let manifest = json(&String::from_utf8(blob(&t, &manifest_digest)).unwrap());
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(manifest["config"]["digest"], id.as_str());
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer_bytes = blob(&t, layer["digest"].as_str().unwrap());
    assert_eq!(layer["size"], layer_bytes.len() as u64);
    // The stored layer is the input's tar stream, byte for byte.
    assert_eq!(gunzip(&layer_bytes), tar);

    let config_bytes = blob(&t, &id);
    assert_eq!(format!("sha256:{}", sha256_hex(&config_bytes)), id);
    let config = json(&String::from_utf8(config_bytes).unwrap());
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        format!("sha256:{}", sha256_hex(tar)).as_str()
    );
    assert_eq!(config["rootfs"]["type"], "layers");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["history"][0]["comment"], "Imported from -");
    assert!(config["created"].as_str().unwrap().ends_with('Z'));

    let images = t.run(&["images"]).ok().stdout;
    let lines: Vec<&str> = images.lines().collect();
    assert_eq!(lines.len(), 2, "{images}");
    assert!(lines[0].starts_with("REPOSITORY"));
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cols[..3], ["example.com/team/app", "1.0", &id[7..19]]);
    assert!(lines[1].contains("ago"), "{images}");
    t.run(&["system", "check"]).ok();
}

#[test]
fn plain_tar() {
    let tar = sample();
    import_and_verify(&tar, &tar);
}

#[test]
fn gzip_tar() {
    let tar = sample();
    import_and_verify(&gzip(&tar), &tar);
}

#[test]
fn zstd_tar() {
    let tar = sample();
    import_and_verify(&zstd::encode_all(&tar[..], 3).unwrap(), &tar);
}

#[test]
fn xz_tar() {
    let tar = sample();
    let t = TestRoot::new();
    std::fs::write(t.path("in.tar"), &tar).unwrap();
    sh(&format!("xz -k -T1 {}", t.path("in.tar").display()));
    let xz = std::fs::read(t.path("in.tar.xz")).unwrap();
    import_and_verify(&xz, &tar);
}

#[test]
fn from_stdin_untagged_is_dangling() {
    let t = TestRoot::new();
    let tar = sample();
    let id = t.run_stdin(&["import", "-"], &gzip(&tar)).ok().stdout;
    let images = t.run(&["images"]).ok().stdout;
    let row = images.lines().nth(1).unwrap();
    assert!(row.starts_with("<none>"), "{images}");
    assert!(row.contains(&id.trim()[7..19]));
    // And no name in index.json.
    let entry = &index(&t)["manifests"][0];
    assert!(
        entry.get("annotations").is_none()
            || entry["annotations"]
                .get("org.opencontainers.image.ref.name")
                .is_none()
    );
}

#[test]
fn change_message_and_platform() {
    let t = TestRoot::new();
    let tar = sample();
    let out = t
        .run_stdin(
            &[
                "import",
                "--change",
                "ENV DEBUG=true",
                "-c",
                r#"ENTRYPOINT ["/usr/bin/tool"]"#,
                "-c",
                "EXPOSE 8080",
                "-c",
                "LABEL org.opencontainers.image.description=demo",
                "-m",
                "made by a test",
                "--platform",
                "linux/arm64/v8",
                "-",
                "app",
            ],
            &tar,
        )
        .ok();
    let inspect = json(&t.run(&["inspect", "app"]).ok().stdout);
    let img = &inspect[0];
    assert_eq!(img["Id"], out.stdout.trim());
    assert_eq!(img["RepoTags"][0], "app:latest");
    assert_eq!(img["Comment"], "made by a test");
    assert_eq!(img["Architecture"], "arm64");
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Config"]["Env"][0], "DEBUG=true");
    assert_eq!(img["Config"]["Entrypoint"][0], "/usr/bin/tool");
    assert!(img["Config"]["ExposedPorts"].get("8080/tcp").is_some());
    assert_eq!(
        img["Config"]["Labels"]["org.opencontainers.image.description"],
        "demo"
    );
    // Docker's size: the files' bytes.
    assert_eq!(img["Size"], content_size(5 + 300_000 + 50_000));
    assert_eq!(
        img["RootFS"]["Layers"][0],
        format!("sha256:{}", sha256_hex(&tar)).as_str()
    );
}

#[test]
fn bad_change_is_refused_before_reading() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-c", "RUN rm -rf /", "-", "x"], &sample())
        .fails_with("RUN is not a valid change command");
    assert!(
        t.snapshot()
            .iter()
            .all(|(p, _)| !p.starts_with("blobs/sha256/"))
    );
}

#[test]
fn retagging_leaves_the_old_image_dangling() {
    let t = TestRoot::new();
    let a = t
        .run_stdin(&["import", "-", "app:1"], &tarball(&[("a", b"a")]))
        .ok()
        .stdout;
    let b = t
        .run_stdin(&["import", "-", "app:1"], &tarball(&[("b", b"b")]))
        .ok()
        .stdout;
    assert_ne!(a, b);
    let images = t.run(&["images"]).ok().stdout;
    let rows: Vec<Vec<&str>> = images
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{images}");
    assert!(
        rows.iter()
            .any(|r| r[..3] == ["app", "1", &b.trim()[7..19]]),
        "{images}"
    );
    assert!(
        rows.iter()
            .any(|r| r[..3] == ["<none>", "<none>", &a.trim()[7..19]]),
        "{images}"
    );
    // -q lists an ID per row (one tag each here).
    let q = t.run(&["images", "-q"]).ok().stdout;
    assert_eq!(q.lines().count(), 2);
}

#[test]
fn same_content_is_stored_once() {
    let t = TestRoot::new();
    let tar = sample();
    t.run_stdin(&["import", "-", "one"], &tar).ok();
    t.run_stdin(&["import", "-", "two"], &tar).ok();
    // Two configs and manifests (created times differ), one layer.
    let layers: Vec<_> = ["one", "two"]
        .iter()
        .map(|n| {
            let m = json(
                &String::from_utf8(blob(
                    &t,
                    &manifest_of(&t, &format!("docker.io/library/{n}:latest")),
                ))
                .unwrap(),
            );
            m["layers"][0]["digest"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(layers[0], layers[1]);
    let blobs = std::fs::read_dir(t.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 5);
}

/// Inputs that are not whole tar archives: refused, store exactly as before.
#[test]
fn bad_inputs_leave_the_store_unchanged() {
    let t = TestRoot::new();
    t.run_stdin(&["import", "-", "good"], &sample()).ok();
    let before = t.snapshot();
    let tar = sample();
    let gz = gzip(&tar);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "the input is empty"),
        (
            "text",
            b"this is not a tarball at all\n".repeat(100),
            "not a valid tar archive",
        ),
        ("truncated tar", tar[..tar.len() / 2].to_vec(), "truncated"),
        (
            "truncated gzip",
            gz[..gz.len() / 2].to_vec(),
            "failed to read the input",
        ),
        (
            "corrupt gzip",
            {
                let mut g = gz.clone();
                let mid = g.len() / 2;
                for b in &mut g[mid..mid + 64] {
                    *b ^= 0x5a;
                }
                g
            },
            "import",
        ),
        (
            "bzip2",
            b"BZh91AY&SYfake".to_vec(),
            "bzip2-compressed input is not supported",
        ),
    ];
    for (what, input, message) in cases {
        let run = t.run_stdin(&["import", "-", "bad"], &input);
        assert_ne!(run.code, 0, "{what}: accepted");
        assert!(run.stderr.contains(message), "{what}: {}", run.stderr);
        assert_eq!(t.snapshot(), before, "{what}: the store changed");
    }
    t.run(&["system", "check"]).ok();
}

#[test]
fn missing_file_names_the_path() {
    let t = TestRoot::new();
    t.run(&["import", "/nonexistent/rootfs.tar"])
        .fails_with("/nonexistent/rootfs.tar");
}
