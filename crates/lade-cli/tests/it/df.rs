//! `lade system df`: Docker's table, shared layers counted once, from the records.

use crate::support::*;

#[test]
fn df_counts_shared_layers_once() {
    let t = TestRoot::new();
    let empty = t.run(&["system", "df"]).ok().stdout;
    assert_eq!(
        empty,
        "TYPE      TOTAL     ACTIVE    SIZE      RECLAIMABLE\nImages    0         0         0B        0B\n"
    );
    // Two tagged images with one layer (same content), one dangling image of its own.
    let shared = tarball(&[("f", &noise(30_000, 1))]);
    t.run_stdin(&["import", "-", "one"], &shared).ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    t.run_stdin(&["import", "-", "two"], &shared).ok();
    let own = tarball(&[("g", &noise(10_000, 2))]);
    let dangling = t.run_stdin(&["import", "-"], &own).ok().stdout;
    // Sizes as Docker counts them: the files' contents, not the tar streams.
    let (s, o) = (content_size(30_000), content_size(10_000));
    assert!(shared.len() as u64 > s && own.len() as u64 > o);
    let run = t.run(&["system", "df"]).ok().stdout;
    let row: Vec<&str> = run.lines().nth(1).unwrap().split_whitespace().collect();
    let pct = (o * 100) / (s + o);
    assert_eq!(
        row,
        [
            "Images",
            "3",
            "2",
            &human(s + o),
            &human(o),
            &format!("({pct}%)")
        ],
        "{run}"
    );

    let v = t.run(&["system", "df", "-v"]).ok().stdout;
    let lines: Vec<&str> = v.lines().collect();
    assert_eq!(lines[0], "Images space usage:");
    assert_eq!(lines[1], "");
    let header: Vec<&str> = lines[2]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS"
        ]
    );
    assert!(lines[2].starts_with("REPOSITORY   TAG       IMAGE ID       CREATED "));
    let rows: Vec<Vec<&str>> = lines[3..]
        .iter()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{v}");
    // Newest first: the dangling image, then two, then one.
    assert_eq!(rows[0][..3], ["<none>", "<none>", &dangling.trim()[7..19]]);
    assert_eq!(rows[0][4..], [human(o).as_str(), "0B", &human(o), "0"]);
    assert_eq!(rows[1][..2], ["two", "latest"]);
    assert_eq!(rows[1][4..], [human(s).as_str(), &human(s), "0B", "0"]);
    assert_eq!(rows[2][..2], ["one", "latest"]);
}
