//! `lade history`: Docker's columns, `<missing>`, truncation, `-q`, `--human=false`.

use crate::support::*;

/// Writes an image made by "another tool" straight into the store's layout: two layers,
/// a history of four steps (two of them empty), named `name`.
fn build_image(t: &TestRoot, name: &str) -> String {
    t.run(&["images"]).ok(); // creates the store
    let put = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        std::fs::write(t.root().join("blobs/sha256").join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let layer1 = gzip(&tarball(&[("a", &noise(3_000, 1))]));
    let layer2 = gzip(&tarball(&[("b", b"b")]));
    let (l1, s1) = put(&layer1);
    let (l2, s2) = put(&layer2);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-05-01T10:00:00Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [
            format!("sha256:{}", sha256_hex(&gunzip(&layer1))),
            format!("sha256:{}", sha256_hex(&gunzip(&layer2))),
        ]},
        "history": [
            {"created": "2023-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
            {"created": "2023-01-01T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true},
            {"created": "2023-05-01T10:00:00Z", "created_by": "RUN /bin/sh -c apk add --no-cache\tcurl ca-certificates tzdata # buildkit", "comment": "buildkit.dockerfile.v0"},
            {"created": "2023-05-01T10:00:00Z", "created_by": "ENV A=1", "comment": "buildkit.dockerfile.v0", "empty_layer": true}
        ]
    });
    let config = serde_json::to_vec(&config).unwrap();
    let (c, cs) = put(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": cs},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l1, "size": s1},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l2, "size": s2},
        ]
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let (m, ms) = put(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m, "size": ms,
            "annotations": {"org.opencontainers.image.ref.name": name}
        }]
    });
    std::fs::write(
        t.root().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    c
}

#[test]
fn steps_newest_first_with_missing_and_empty_layers() {
    let t = TestRoot::new();
    let id = build_image(&t, "docker.io/library/app:1");
    let layer1_size = blob_files(&t)
        .iter()
        .map(|h| {
            std::fs::metadata(t.root().join("blobs/sha256").join(h))
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    let run = t.run(&["history", "app:1"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert_eq!(
        lines[0],
        "IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT"
    );
    let short = &id[7..19];
    assert!(lines[1].starts_with(&format!("{short}   ")), "{}", lines[1]);
    assert!(lines[1].contains("ENV A=1"), "{}", lines[1]);
    assert!(lines[1].contains(" 0B "), "{}", lines[1]);
    assert!(lines[1].ends_with("buildkit.dockerfile.v0"), "{}", lines[1]);
    // 45 characters: 44 and an ellipsis; the tab became a space.
    assert!(
        lines[2].contains("RUN /bin/sh -c apk add --no-cache curl ca-ce… "),
        "{}",
        lines[2]
    );
    assert!(lines[2].starts_with("<missing>      "), "{}", lines[2]);
    assert!(lines[2].contains("ago"), "{}", lines[2]);
    assert!(lines[3].contains("0B"), "{}", lines[3]);
    // The first layer's size (no uncompressed size recorded: its stored size).
    let size = t.run(&["history", "--human=false", "app:1"]).ok().stdout;
    let last: Vec<&str> = size
        .lines()
        .last()
        .unwrap()
        .split("   ")
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(last[0].trim(), "<missing>");
    assert_eq!(last[1].trim(), "2023-01-01T00:00:00Z");
    assert_eq!(last[3].trim(), layer1_size.to_string(), "{size}");
}

#[test]
fn quiet_no_trunc_and_not_human() {
    let t = TestRoot::new();
    let id = build_image(&t, "docker.io/library/app:1");
    let q = t.run(&["history", "-q", "app:1"]).ok().stdout;
    assert_eq!(
        q,
        format!("{}\n<missing>\n<missing>\n<missing>\n", &id[7..19])
    );
    let q = t
        .run(&["image", "history", "-q", "--no-trunc", &id[7..15]])
        .ok()
        .stdout;
    assert_eq!(q.lines().next().unwrap(), id);

    let full = t.run(&["history", "--no-trunc", "app:1"]).ok().stdout;
    assert!(full.contains("apk add --no-cache curl ca-certificates tzdata # buildkit"));

    let raw = t.run(&["history", "--human=false", "app:1"]).ok().stdout;
    let lines: Vec<&str> = raw.lines().collect();
    assert!(
        lines[0].starts_with("IMAGE          CREATED AT             CREATED BY"),
        "{raw}"
    );
    assert!(lines[1].contains("2023-05-01T10:00:00Z"), "{raw}");
    assert!(lines[1].contains("   0         buildkit"), "{raw}");
    let human = t.run(&["history", "-H", "app:1"]).ok().stdout;
    assert!(
        human.starts_with("IMAGE          CREATED       CREATED BY"),
        "{human}"
    );
}

#[test]
fn an_imported_image_has_one_step() {
    let t = TestRoot::new();
    let tar = tarball(&[("f", &noise(10_000, 3))]);
    let id = t.run_stdin(&["import", "-", "imp"], &tar).ok().stdout;
    let run = t.run(&["history", "--human=false", "imp"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[1].starts_with(&id.trim()[7..19]));
    // Docker counts the bytes of the files (tar headers and padding are not content).
    assert!(
        lines[1].contains(&format!("   {}   ", content_size(10_000))),
        "{}",
        run.stdout
    );
    assert!(lines[1].ends_with("Imported from -"), "{}", run.stdout);
}

#[test]
fn unknown_image() {
    let t = TestRoot::new();
    t.run(&["history", "nothere"])
        .fails_with("Error: No such image: nothere:latest")
        .fails_with("hint:");
}
