//! `lade manifest create/annotate/push/rm` (issue 8): a two-platform index assembled
//! from images already in lade's registry, pushed, read back by skopeo and pulled by
//! lade for each platform; entries from other repositories (mounted) and another
//! registry (copied); Docker schema2 entries make a Docker manifest list.

use serde_json::json;

use crate::registries_conf::{lade_conf, push_image, write_conf};
use crate::registry_support::*;
use crate::support::*;

#[test]
fn create_annotate_push_an_index_that_skopeo_reads_and_lade_pulls() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let conf = write_conf(&t, "registries.conf", "");
    let amd_image = reg.image("app:amd64");
    let arm_image = reg.image("app:arm64");
    let amd = push_image(&t, &amd_image, 1, &["--platform", "linux/amd64"]);
    let arm = push_image(&t, &arm_image, 2, &["--platform", "linux/arm64"]);
    let list = reg.image("app:multi");
    let lade = |args: &[&str]| lade_conf(&t, &conf, args);

    let run = lade(&["manifest", "create", &list, &amd_image, &arm_image]).ok();
    assert_eq!(run.stdout, format!("Created manifest list {list}\n"));
    lade(&["manifest", "annotate", &list, &arm_image, "--variant", "v8"]).ok();
    lade(&[
        "manifest",
        "annotate",
        &list,
        &amd_image,
        "--os-features",
        "sse4",
        "--os-version",
        "6.1",
    ])
    .ok();

    // Before the push, `inspect` shows the local list as it will go.
    let local = lade(&["manifest", "inspect", &list]).ok().stdout;
    assert!(local.starts_with("{\n   \"schemaVersion\": 2,"), "{local}");
    let expected = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "size": blob(&t, &amd).len(),
                "digest": amd,
                "platform": {"architecture": "amd64", "os": "linux", "os.version": "6.1", "os.features": ["sse4"]},
            },
            {
                "mediaType": OCI_MANIFEST,
                "size": blob(&t, &arm).len(),
                "digest": arm,
                "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
            },
        ],
    });
    assert_eq!(json(&local), expected);
    let verbose = json(&lade(&["manifest", "inspect", "-v", &list]).ok().stdout);
    assert_eq!(verbose[1]["Ref"], arm_image);
    assert_eq!(verbose[1]["Descriptor"]["platform"]["variant"], "v8");

    let pushed = lade(&["manifest", "push", &list]).ok();
    let digest = pushed.stdout.trim().to_owned();
    let raw = skopeo_raw(&list);
    assert_eq!(digest_of(&raw), digest);
    assert_eq!(String::from_utf8(raw.clone()).unwrap(), local.trim_end());
    assert_eq!(json(&String::from_utf8(raw).unwrap()), expected);

    // lade pulls the entry of the platform it is asked for.
    for (platform, manifest) in [("linux/amd64", &amd), ("linux/arm64", &arm)] {
        let t2 = TestRoot::new();
        let conf2 = write_conf(&t2, "registries.conf", "");
        let run = lade_conf(&t2, &conf2, &["pull", "--platform", platform, &list]).ok();
        assert!(
            run.stderr.contains(&format!("Digest: {digest}\n")),
            "{}",
            run.stderr
        );
        assert_eq!(&manifest_of(&t2, &list), manifest, "{platform}");
        assert_clean(&t2);
    }

    // The list stays until removed (or pushed with --purge).
    lade(&["manifest", "push", "--purge", &list]).ok();
    lade(&["manifest", "push", &list]).fails_with(&format!("no such manifest list: {list}"));
    assert_eq!(
        lade(&["manifest", "inspect", "--raw", &list])
            .ok()
            .stdout
            .into_bytes(),
        skopeo_raw(&list)
    );
}

#[test]
fn entries_from_other_repositories_are_mounted_and_from_other_registries_copied() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let other = DockerRegistry::start();
    let conf = write_conf(&t, "registries.conf", "");
    let amd_image = reg.image("app-amd64:1");
    let arm_image = other.image("app-arm64:1");
    let amd = push_image(&t, &amd_image, 3, &["--platform", "linux/amd64"]);
    let arm = push_image(&t, &arm_image, 4, &["--platform", "linux/arm64"]);
    let list = reg.image("app:2");
    let lade = |args: &[&str]| lade_conf(&t, &conf, args);
    lade(&["manifest", "create", &list, &amd_image, &arm_image]).ok();
    let pushed = lade(&["manifest", "push", &list]).ok();
    assert!(
        pushed.stderr.contains("Mounted from app-amd64"),
        "{}",
        pushed.stderr
    );
    assert!(pushed.stderr.contains(": Pushed\n"), "{}", pushed.stderr);
    let raw = skopeo_raw(&list);
    assert_eq!(digest_of(&raw), pushed.stdout.trim());
    // Both entries now live in the list's repository, byte for byte.
    for m in [&amd, &arm] {
        assert_eq!(skopeo_raw(&reg.image(&format!("app@{m}"))), blob(&t, m));
    }
    let t2 = TestRoot::new();
    let conf2 = write_conf(&t2, "registries.conf", "");
    lade_conf(&t2, &conf2, &["pull", "--platform", "linux/arm64", &list]).ok();
    assert_eq!(manifest_of(&t2, &list), arm);
    assert_clean(&t2);
}

#[test]
fn docker_schema2_entries_make_a_docker_manifest_list() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let conf = write_conf(&t, "registries.conf", "");
    for (arch, seed) in [("amd64", 5), ("arm64", 6)] {
        let name = format!("example.com/d:{arch}");
        t.run_stdin(
            &["import", "--platform", &format!("linux/{arch}"), "-", &name],
            &image_tar(seed),
        )
        .ok();
        skopeo_push(
            &format!("oci:{}:{name}", t.root().display()),
            &reg.image(&format!("d:{arch}")),
            &["--format", "v2s2"],
        );
    }
    let list = reg.image("d:multi");
    lade_conf(
        &t,
        &conf,
        &[
            "manifest",
            "create",
            &list,
            &reg.image("d:amd64"),
            &reg.image("d:arm64"),
        ],
    )
    .ok();
    lade_conf(&t, &conf, &["manifest", "push", &list]).ok();
    let raw = json(&String::from_utf8(skopeo_raw(&list)).unwrap());
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    for m in raw["manifests"].as_array().unwrap() {
        assert_eq!(
            m["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
    }
}

#[test]
fn mistakes_are_refused_and_change_nothing() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let conf = write_conf(&t, "registries.conf", "");
    let image = reg.image("one:1");
    push_image(&t, &image, 7, &["--platform", "linux/amd64"]);
    let list = reg.image("one:list");
    let lade = |args: &[&str]| lade_conf(&t, &conf, args);

    lade(&["manifest", "create", &list, &reg.image("one:missing")]).fails_with("manifest unknown");
    lade(&["manifest", "create", &list, &image]).ok();
    let before = t.snapshot();
    lade(&["manifest", "create", &list, &image])
        .fails_with("refusing to amend an existing manifest list with no --amend flag");
    lade(&[
        "manifest",
        "annotate",
        &list,
        &reg.image("one:2"),
        "--os",
        "linux",
    ])
    .fails_with(&format!(
        "manifest for image {} does not exist in {list}",
        reg.image("one:2")
    ));
    lade(&["manifest", "annotate", &list, &image, "--arch", "x86_64"])
        .fails_with("manifest entry for image has unsupported os/arch combination: linux/x86_64");
    lade(&[
        "manifest",
        "annotate",
        &reg.image("none:1"),
        &image,
        "--os",
        "linux",
    ])
    .fails_with("no such manifest list");
    lade(&[
        "manifest",
        "create",
        &format!("{list}@sha256:{}", "0".repeat(64)),
        &image,
    ])
    .fails_with("a manifest list is named by a tag, not a digest");
    assert_eq!(t.snapshot(), before);
    lade(&["manifest", "create", "--amend", &list, &image]).ok();

    // A list cannot hold a list.
    lade(&["manifest", "push", &list]).ok();
    lade(&["manifest", "create", &reg.image("one:nested"), &list]).fails_with("is a manifest list");

    lade(&["manifest", "rm", &list]).ok();
    lade(&["manifest", "rm", &list]).fails_with(&format!("No such manifest: {list}"));
    lade(&["manifest", "push", &list]).fails_with("no such manifest list");
    lade(&["manifest", "annotate", &list, &image]).fails_with("no such manifest list");
}

#[test]
fn inspect_with_two_names_shows_one_image_of_a_local_list() {
    let t = TestRoot::new();
    let mut reg = LadeRegistry::start(&t.path("registry"), &[]);
    let conf = write_conf(&t, "registries.conf", "");
    let amd_image = reg.image("two/app:amd64");
    let arm_image = reg.image("two/app:arm64");
    let amd = push_image(&t, &amd_image, 21, &["--platform", "linux/amd64"]);
    let arm = push_image(&t, &arm_image, 22, &["--platform", "linux/arm64"]);
    let list = reg.image("two/app:multi");
    let lade = |args: &[&str]| lade_conf(&t, &conf, args);
    lade(&["manifest", "create", &list, &amd_image, &arm_image]).ok();
    lade(&["manifest", "annotate", &list, &arm_image, "--variant", "v8"]).ok();
    // Everything below is read from the local list: the registry is gone.
    assert!(reg.terminate(std::time::Duration::from_secs(10)).is_some());
    let arm_bytes = blob(&t, &arm);
    let arm_json = json(&String::from_utf8(arm_bytes.clone()).unwrap());

    // As Docker prints it: the manifest's own bytes, indented with tabs.
    let shown = lade(&["manifest", "inspect", &list, &arm_image])
        .ok()
        .stdout;
    assert!(
        shown.starts_with("{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": "),
        "{shown}"
    );
    assert!(shown.ends_with("\n}\n"), "{shown}");
    assert_eq!(json(&shown), arm_json);
    // Only whitespace differs from the bytes the registry served.
    let squeezed: String = shown.split_whitespace().collect();
    let raw_squeezed: String = String::from_utf8(arm_bytes.clone())
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(squeezed, raw_squeezed);
    // By digest, the same entry.
    let by_digest = reg.image(&format!("two/app@{arm}"));
    assert_eq!(
        lade(&["manifest", "inspect", &list, &by_digest])
            .ok()
            .stdout,
        shown
    );
    // --raw: the exact bytes.
    assert_eq!(
        lade(&["manifest", "inspect", "--raw", &list, &arm_image])
            .ok()
            .stdout
            .into_bytes(),
        arm_bytes
    );
    // --verbose: the entry as the list holds it, its annotated platform included.
    let v = json(
        &lade(&["manifest", "inspect", "-v", &list, &arm_image])
            .ok()
            .stdout,
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Ref", "Descriptor", "Raw", "OCIManifest"]);
    assert_eq!(v["Raw"], base64(&arm_bytes));
    assert_eq!(v["Ref"], arm_image);
    assert_eq!(
        v["Descriptor"],
        json!({
            "mediaType": OCI_MANIFEST,
            "digest": arm,
            "size": arm_bytes.len(),
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        })
    );
    assert_eq!(v["OCIManifest"], arm_json);
    assert_eq!(
        lade(&["manifest", "inspect", "--platforms", &list, &amd_image])
            .ok()
            .stdout,
        format!("PLATFORM                 DIGEST\nlinux/amd64              {amd}\n")
    );

    // An image the list does not hold (`two/app` means `two/app:latest`), a list that
    // does not exist, a third name: refused, and nothing asks the (stopped) registry.
    lade(&["manifest", "inspect", &list, &reg.image("two/app")]).fails_with(&format!(
        "manifest for image {} does not exist in {list}",
        reg.image("two/app:latest")
    ));
    lade(&["manifest", "inspect", &reg.image("two/none:1"), &arm_image]).fails_with(&format!(
        "no such manifest list: {}",
        reg.image("two/none:1")
    ));
    lade(&["manifest", "inspect", &list, &arm_image, &amd_image]).fails_with("unexpected argument");
    let fresh = TestRoot::new();
    lade_conf(&fresh, &conf, &["manifest", "inspect", &list, &arm_image])
        .fails_with("no such manifest list");
    assert!(!fresh.root().exists());
}
