//! `lade tag`: by name, ID or prefix; targets normalized; Docker's words for bad ones.

use crate::support::*;

/// The IMAGE ID column of `lade images` for a familiar repository name.
fn id_of(t: &TestRoot, repository: &str, tag: &str) -> Option<String> {
    t.run(&["images"])
        .ok()
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c[0] == repository && c[1] == tag)
        .map(|c| c[2].to_owned())
}

#[test]
fn tag_by_name_id_and_prefix_copies_nothing() {
    let t = TestRoot::new();
    let id = import_image(&t, Some("app"), 1);
    let blobs = blob_files(&t);
    t.run(&["tag", "app", "copy"]).ok();
    t.run(&["tag", &id, "byid:1"]).ok();
    t.run(&["image", "tag", &id[7..13], "docker.io/library/byprefix"])
        .ok();
    t.run(&["tag", "app:latest", "localhost:5000/team/app:v2"])
        .ok();
    let short = &id[7..19];
    for (repo, tag) in [
        ("app", "latest"),
        ("copy", "latest"),
        ("byid", "1"),
        ("byprefix", "latest"),
        ("localhost:5000/team/app", "v2"),
    ] {
        assert_eq!(id_of(&t, repo, tag).as_deref(), Some(short), "{repo}:{tag}");
    }
    assert_eq!(blob_files(&t), blobs, "tag wrote a blob");
    manifest_of(&t, "localhost:5000/team/app:v2");
    assert_clean(&t);
}

#[test]
fn retagging_moves_the_name_and_leaves_the_old_image_dangling() {
    let t = TestRoot::new();
    let old = import_image(&t, Some("app:1"), 1);
    let new = import_image(&t, Some("other"), 2);
    t.run(&["tag", "other", "app:1"]).ok();
    assert_eq!(id_of(&t, "app", "1").unwrap(), new[7..19]);
    assert_eq!(id_of(&t, "<none>", "<none>").unwrap(), old[7..19]);
    // Tagging a dangling image by ID names it again.
    t.run(&["tag", &old, "back"]).ok();
    assert_eq!(id_of(&t, "back", "latest").unwrap(), old[7..19]);
    assert!(id_of(&t, "<none>", "<none>").is_none());
    assert_clean(&t);
}

#[test]
fn bad_tags_are_refused_in_dockers_words_and_change_nothing() {
    let t = TestRoot::new();
    import_image(&t, Some("app"), 1);
    let before = t.snapshot();
    let digest = format!("app@sha256:{}", "a".repeat(64));
    for (args, message) in [
        (
            vec!["tag", "app", digest.as_str()],
            "refusing to create a tag with a digest reference",
        ),
        (
            vec!["tag", "app", "Bad"],
            "Error parsing reference: \"Bad\" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase",
        ),
        (vec!["tag", "app", "a//b"], "invalid reference format"),
        (
            vec!["tag", "nothere", "x"],
            "Error: No such image: nothere:latest",
        ),
        (vec!["tag", "nothere", "Bad"], "must be lowercase"),
    ] {
        let run = t.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        run.fails_with(message);
    }
    t.run(&["tag", "nothere", "x"])
        .fails_with("hint: `lade images` lists the images in the store");
    t.run(&["tag", "app"]).fails_with("Usage");
    assert_eq!(t.snapshot(), before);
}
