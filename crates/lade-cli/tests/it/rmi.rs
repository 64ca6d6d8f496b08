//! `lade rmi`: untag, delete, keep what others share, refuse what Docker refuses.

use crate::support::*;

/// The layer blob of the image named `name` (a full reference).
fn layer_of(t: &TestRoot, name: &str) -> String {
    let manifest = json(&String::from_utf8(blob(t, &manifest_of(t, name))).unwrap());
    manifest["layers"][0]["digest"].as_str().unwrap()[7..].to_owned()
}

#[test]
fn removing_tags_untags_then_the_last_deletes_everything() {
    let t = TestRoot::new();
    let id = import_image(&t, Some("app:1"), 1);
    t.run(&["tag", "app:1", "other"]).ok();
    let blobs = blob_files(&t);
    assert_eq!(blobs.len(), 3, "manifest, config and layer");

    let run = t.run(&["rmi", "app:1"]).ok();
    assert_eq!(run.stdout, "Untagged: app:1\n");
    assert_eq!(blob_files(&t), blobs);

    let run = t.run(&["image", "rm", "other"]).ok();
    assert_eq!(
        run.stdout,
        format!("Untagged: other:latest\nDeleted: {id}\n")
    );
    assert!(blob_files(&t).is_empty(), "{:?}", blob_files(&t));
    assert_eq!(t.run(&["images", "-q"]).ok().stdout, "");
    assert_clean(&t);
}

#[test]
fn blobs_another_image_uses_are_kept() {
    let t = TestRoot::new();
    let tar = tarball(&[("shared", &noise(50_000, 5))]);
    t.run_stdin(&["import", "-", "one"], &tar).ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    t.run_stdin(&["import", "-", "two"], &tar).ok();
    let layer = layer_of(&t, "docker.io/library/one:latest");
    assert_eq!(layer, layer_of(&t, "docker.io/library/two:latest"));
    t.run(&["image", "remove", "one"]).ok();
    assert!(blob_files(&t).contains(&layer));
    assert_eq!(blob_files(&t).len(), 3);
    t.run(&["inspect", "two"]).ok();
    assert_clean(&t);
    t.run(&["rmi", "two"]).ok();
    assert!(blob_files(&t).is_empty());
}

#[test]
fn an_id_with_several_names_needs_force() {
    let t = TestRoot::new();
    let id = import_image(&t, Some("b:1"), 1);
    t.run(&["tag", "b:1", "a:2"]).ok();
    let before = t.snapshot();
    let short = &id[7..19];
    let run = t.run(&["rmi", short]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    run.fails_with(&format!(
        "Error: conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
    ));
    assert_eq!(t.snapshot(), before);

    // Two tags of one repository are refused too, as Docker does.
    t.run(&["rmi", "a:2"]).ok();
    t.run(&["tag", "b:1", "b:2"]).ok();
    t.run(&["rmi", &id]).fails_with("must be forced");

    // Forced: every name is untagged (in lexical order) and the image deleted.
    let run = t.run(&["rmi", "-f", &id[..10]]).ok();
    assert_eq!(
        run.stdout,
        format!("Untagged: b:1\nUntagged: b:2\nDeleted: {id}\n")
    );
    assert!(blob_files(&t).is_empty());
    assert_clean(&t);
}

#[test]
fn an_id_with_one_name_or_none_is_deleted() {
    let t = TestRoot::new();
    let named = import_image(&t, Some("named"), 1);
    let dangling = import_image(&t, None, 2);
    let run = t.run(&["rmi", &named[7..19], &dangling]).ok();
    assert_eq!(
        run.stdout,
        format!("Untagged: named:latest\nDeleted: {named}\nDeleted: {dangling}\n")
    );
    assert!(blob_files(&t).is_empty());
    assert_clean(&t);
}

#[test]
fn each_argument_is_tried_and_failures_exit_1() {
    let t = TestRoot::new();
    let a = import_image(&t, Some("a"), 1);
    let b = import_image(&t, Some("b"), 2);
    let run = t.run(&["rmi", "a", "nothere", "b", "a"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        format!("Untagged: a:latest\nDeleted: {a}\nUntagged: b:latest\nDeleted: {b}\n")
    );
    assert_eq!(
        run.stderr,
        "Error: No such image: nothere:latest\nError: No such image: a:latest\n\
         hint: `lade images` lists the images in the store\n"
    );
    assert_clean(&t);

    // With -f, images that are not there are reported and do not fail the command.
    import_image(&t, Some("c"), 3);
    let run = t.run(&["rmi", "-f", "nothere", "c"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("No such image: nothere:latest"));
    assert!(run.stdout.contains("Untagged: c:latest"));
}

#[test]
fn unknown_and_ambiguous_images_change_nothing() {
    let t = TestRoot::new();
    import_image(&t, Some("app"), 1);
    let before = t.snapshot();
    t.run(&["rmi", "nothere"])
        .fails_with("Error: No such image: nothere:latest");
    t.run(&["rmi", "app:2"])
        .fails_with("Error: No such image: app:2");
    t.run(&[
        "rmi",
        "--no-prune",
        "nothere@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ])
    .fails_with("No such image");
    t.run(&["rmi"]).fails_with("Usage");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn no_prune_is_accepted() {
    let t = TestRoot::new();
    let id = import_image(&t, Some("app"), 1);
    let run = t.run(&["rmi", "--no-prune", "app"]).ok();
    assert_eq!(run.stdout, format!("Untagged: app:latest\nDeleted: {id}\n"));
    assert_clean(&t);
}
