//! What lade writes, real peers read: skopeo and umoci from Debian.

use crate::support::*;

#[test]
fn skopeo_and_umoci_read_an_imported_root_filesystem() {
    let t = TestRoot::new();
    // A real root filesystem tree: a slice of this machine's /usr.
    let tar_path = t.path("rootfs.tar.gz");
    sh(&format!(
        "tar -C / -czf {} usr/share/common-licenses usr/bin/env usr/bin/tar etc/os-release",
        tar_path.display()
    ));
    let id = t
        .run(&[
            "import",
            tar_path.to_str().unwrap(),
            "registry.example.com/os/base:12",
            "-c",
            "CMD [\"/usr/bin/env\"]",
        ])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let root = t.root();
    let name = "registry.example.com/os/base:12";
    let manifest_digest = manifest_of(&t, name);

    let inspect = json(&sh(&format!(
        "skopeo inspect oci:{}:{name}",
        root.display()
    )));
    assert_eq!(inspect["Digest"], manifest_digest.as_str());
    let manifest = json(&String::from_utf8(blob(&t, &manifest_digest)).unwrap());
    assert_eq!(inspect["Layers"][0], manifest["layers"][0]["digest"]);
    let config = json(&sh(&format!(
        "skopeo inspect --config oci:{}:{name}",
        root.display()
    )));
    assert_eq!(config["config"]["Cmd"][0], "/usr/bin/env");

    // skopeo copies it out with every digest intact.
    let out = t.path("copy");
    sh(&format!(
        "skopeo copy -q oci:{}:{name} oci:{}:copy",
        root.display(),
        out.display()
    ));
    let raw = sh(&format!("skopeo inspect --raw oci:{}:copy", out.display()));
    assert_eq!(
        format!("sha256:{}", sha256_hex(raw.as_bytes())),
        manifest_digest
    );
    assert!(out.join("blobs/sha256").join(&id[7..]).is_file());

    // umoci unpacks it (verifying every blob), and the files are the originals.
    let bundle = t.path("bundle");
    sh(&format!(
        "umoci unpack --rootless --image {}:{name} {}",
        root.display(),
        bundle.display()
    ));
    let a = std::fs::read(bundle.join("rootfs/usr/bin/env")).unwrap();
    let b = std::fs::read("/usr/bin/env").unwrap();
    assert_eq!(a, b);
    assert!(bundle.join("rootfs/usr/share/common-licenses").is_dir());
    let runtime = json(&std::fs::read_to_string(bundle.join("config.json")).unwrap());
    assert_eq!(runtime["process"]["args"][0], "/usr/bin/env");
}
