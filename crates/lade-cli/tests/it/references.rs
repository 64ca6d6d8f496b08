//! References on the command line: Docker's words for bad ones, nothing written.

use crate::support::*;

#[test]
fn malformed_references_are_refused_in_dockers_words() {
    let t = TestRoot::new();
    let tar = tarball(&[("a", b"a")]);
    for (reference, message) in [
        (
            "Redis",
            "invalid reference format: repository name (library/Redis) must be lowercase",
        ),
        ("a//b", "invalid reference format"),
        ("app:bad tag", "invalid reference format"),
        (
            &format!("app:{}", "t".repeat(129)),
            "invalid reference format",
        ),
        ("app@sha256:abc", "invalid reference format"),
        (
            &format!("app@sha256:{}", "a".repeat(40)),
            "invalid checksum digest length",
        ),
        (
            &format!("app@sha256:{}", "a".repeat(64)),
            "refusing to create a tag with a digest reference",
        ),
        (
            &"a".repeat(64),
            "cannot specify 64-byte hexadecimal strings",
        ),
    ] {
        t.run_stdin(&["import", "-", reference], &tar)
            .fails_with(message);
    }
    assert!(
        t.snapshot()
            .iter()
            .all(|(p, _)| !p.starts_with("blobs/sha256/"))
    );
    // 128 characters is the longest tag.
    t.run_stdin(&["import", "-", &format!("app:{}", "t".repeat(128))], &tar)
        .ok();
}

#[test]
fn unknown_image_exits_1() {
    let t = TestRoot::new();
    t.run(&["inspect", "nothere"])
        .fails_with("No such image: nothere:latest");
}

#[test]
fn id_prefixes_resolve_and_ambiguity_is_an_error() {
    let t = TestRoot::new();
    let mut ids = Vec::new();
    // Enough images that two share a first hex digit.
    for i in 0..20 {
        let id = t
            .run_stdin(
                &["import", "-", &format!("img{i}")],
                &tarball(&[("f", format!("{i}").as_bytes())]),
            )
            .ok()
            .stdout
            .trim()[7..]
            .to_owned();
        ids.push(id);
    }
    let first = &ids[0];
    let doc = json(&t.run(&["inspect", &first[..12]]).ok().stdout);
    assert_eq!(doc[0]["Id"], format!("sha256:{first}").as_str());
    let doc = json(
        &t.run(&["inspect", &format!("sha256:{}", &first[..20])])
            .ok()
            .stdout,
    );
    assert_eq!(doc[0]["Id"], format!("sha256:{first}").as_str());
    let shared = ids
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            ids[i + 1..]
                .iter()
                .find(|b| b[..1] == a[..1])
                .map(|_| a[..1].to_owned())
        })
        .expect("two IDs share a first digit");
    t.run(&["inspect", &shared])
        .fails_with("multiple IDs found with provided prefix");
}

#[test]
fn usage_errors_exit_125_and_help_exits_0() {
    let t = TestRoot::new();
    assert_eq!(t.run(&["images", "--bogus"]).code, 125);
    let help = t.run(&["--help"]).ok();
    assert!(help.stdout.contains("images"));
    assert!(t.run(&["--version"]).ok().stdout.starts_with("lade "));
}

#[test]
fn closed_stdout_is_not_an_error() {
    let t = TestRoot::new();
    for i in 0..30 {
        t.run_stdin(
            &["import", "-", &format!("many:{i}")],
            &tarball(&[("f", b"x")]),
        )
        .ok();
    }
    // The reader closes its end before lade writes: lade sees EPIPE and must exit 0.
    sh(&format!(
        "set -o pipefail; {} --root {} inspect $({0} --root {1} images -q) | (exec 0<&-; sleep 0.3)",
        env!("CARGO_BIN_EXE_lade"),
        t.root().display()
    ));
}
