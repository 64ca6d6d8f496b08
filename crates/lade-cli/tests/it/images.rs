//! `lade images` filters: Docker's keys, Docker's matching, Docker's errors.

use crate::support::*;

/// (REPOSITORY, TAG) of each row.
fn rows(t: &TestRoot, args: &[&str]) -> Vec<(String, String)> {
    let mut full = vec!["images"];
    full.extend(args);
    t.run(&full)
        .ok()
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c[0].to_owned(), c[1].to_owned())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Oldest to newest: old (label tier=db), web:1 and web:2 (one image, label tier=web),
/// a dangling image, newest.
fn store(t: &TestRoot) {
    let tar = |seed| tarball(&[("f", &noise(1_000, seed))]);
    t.run_stdin(&["import", "-c", "LABEL tier=db", "-", "old"], &tar(1))
        .ok();
    t.run_stdin(&["import", "-c", "LABEL tier=web", "-", "web:1"], &tar(2))
        .ok();
    t.run(&["tag", "web:1", "web:2"]).ok();
    import_image(t, None, 3);
    import_image(t, Some("localhost:5000/team/newest"), 4);
}

#[test]
fn dangling_and_reference() {
    let t = TestRoot::new();
    store(&t);
    assert_eq!(
        rows(&t, &[]),
        pairs(&[
            ("localhost:5000/team/newest", "latest"),
            ("<none>", "<none>"),
            ("web", "1"),
            ("web", "2"),
            ("old", "latest"),
        ])
    );
    assert_eq!(
        rows(&t, &["-f", "dangling=true"]),
        pairs(&[("<none>", "<none>")])
    );
    assert_eq!(rows(&t, &["--filter", "dangling=false"]).len(), 4);
    assert_eq!(
        rows(&t, &["--filter", "reference=web"]),
        pairs(&[("web", "1"), ("web", "2")])
    );
    assert_eq!(
        rows(&t, &["--filter", "reference=web:2"]),
        pairs(&[("web", "2")])
    );
    assert_eq!(
        rows(&t, &["--filter", "reference=*:[12]"]),
        pairs(&[("web", "1"), ("web", "2")])
    );
    assert_eq!(
        rows(&t, &["--filter", "reference=localhost:5000/*/*"]),
        pairs(&[("localhost:5000/team/newest", "latest")])
    );
    // `*` does not cross a `/`.
    assert!(
        rows(&t, &["--filter", "reference=*"])
            .iter()
            .all(|(r, _)| !r.contains('/'))
    );
    // The argument is a reference filter too.
    assert_eq!(rows(&t, &["web:1"]), pairs(&[("web", "1")]));
    // Several reference filters: any may match (as Docker).
    assert_eq!(
        rows(&t, &["old", "--filter", "reference=web:1"]),
        pairs(&[("web", "1"), ("old", "latest")])
    );
    assert_eq!(rows(&t, &["nothere"]), pairs(&[]));
}

#[test]
fn labels_and_times() {
    let t = TestRoot::new();
    store(&t);
    assert_eq!(
        rows(&t, &["--filter", "label=tier=web"]),
        pairs(&[("web", "1"), ("web", "2")])
    );
    assert_eq!(rows(&t, &["--filter", "label=tier"]).len(), 3);
    assert_eq!(
        rows(&t, &["--filter", "label=tier", "--filter", "label=tier=db"]).len(),
        1
    );
    assert_eq!(
        rows(&t, &["--filter", "before=web:2"]),
        pairs(&[("old", "latest")])
    );
    assert_eq!(
        rows(&t, &["--filter", "since=web:1"]),
        pairs(&[
            ("localhost:5000/team/newest", "latest"),
            ("<none>", "<none>")
        ])
    );
    assert_eq!(
        rows(
            &t,
            &[
                "--filter",
                "since=old",
                "--filter",
                "before=localhost:5000/team/newest",
                "-f",
                "dangling=false"
            ]
        ),
        pairs(&[("web", "1"), ("web", "2")])
    );
    assert_eq!(rows(&t, &["--filter", "until=1h"]), pairs(&[]));
    assert_eq!(rows(&t, &["--filter", "until=2999-01-01"]).len(), 5);
}

#[test]
fn bad_filters() {
    let t = TestRoot::new();
    store(&t);
    for (filter, message) in [
        ("foo=bar", "Error: invalid filter 'foo'"),
        ("dangling=maybe", "Error: invalid filter 'dangling=maybe'"),
        ("dangling", "bad format of filter (expected name=value)"),
        ("before=nothere", "Error: No such image: nothere:latest"),
        ("since=nothere", "No such image: nothere:latest"),
        (
            "until=soon",
            "failed to parse value as time or duration: \"soon\"",
        ),
        ("reference=web[", "syntax error in pattern"),
    ] {
        t.run(&["images", "--filter", filter]).fails_with(message);
    }
}
