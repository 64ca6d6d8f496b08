//! `lade search` against lade's registry (its search API), a small search server (stars
//! and official images as Docker Hub answers), the CNCF registry (no search API: its
//! catalog instead) and registries.conf's search registries; `--list-tags`; and `lade
//! manifest inspect` of an index and of an image on the CNCF registry, compared with
//! skopeo (issue 8).

use serde_json::json;

use crate::registries_conf::{dead_host, lade_conf, push_image, write_conf};
use crate::registry_support::*;
use crate::support::*;

/// The cells of each line of a table, cut where the header's columns start (every
/// column at least three spaces after the one before, on every line).
#[track_caller]
fn table(out: &str) -> Vec<Vec<String>> {
    let lines: Vec<Vec<char>> = out.lines().map(|l| l.chars().collect()).collect();
    let header: String = lines[0].iter().collect();
    let starts: Vec<usize> = ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        .iter()
        .map(|h| {
            header
                .find(h)
                .unwrap_or_else(|| panic!("no {h} in {header:?}"))
        })
        .collect();
    lines
        .iter()
        .map(|chars| {
            (0..starts.len())
                .map(|i| {
                    let from = starts[i].min(chars.len());
                    let to = starts
                        .get(i + 1)
                        .map_or(chars.len(), |&e| e.min(chars.len()));
                    if i > 0 && from < chars.len() {
                        assert_eq!(chars[from - 3..from], [' '; 3], "column {i} of {chars:?}");
                    }
                    chars[from..to]
                        .iter()
                        .collect::<String>()
                        .trim_end()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

#[test]
fn search_asks_lades_registry_with_filters_limit_and_no_trunc() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let long = "A cache in front of redis that keeps the hot keys close to the servers";
    push_image(
        &t,
        &reg.image("team/redis-cache:1"),
        1,
        &[
            "--change",
            &format!("LABEL org.opencontainers.image.description=\"{long}\""),
        ],
    );
    push_image(
        &t,
        &reg.image("team/redis:1"),
        2,
        &[
            "--change",
            "LABEL org.opencontainers.image.description=\"Redis, as the team builds it\"",
        ],
    );
    push_image(&t, &reg.image("other/postgres:1"), 3, &[]);
    let conf = write_conf(&t, "registries.conf", "");

    let run = lade_conf(&t, &conf, &["search", &reg.image("redis")]).ok();
    let mut rows = table(&run.stdout);
    assert_eq!(rows.remove(0), ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]);
    rows.sort();
    let truncated: String = long.chars().take(44).chain(['…']).collect();
    assert_eq!(
        rows,
        [
            vec![
                reg.image("team/redis"),
                "Redis, as the team builds it".into(),
                "0".into(),
                String::new()
            ],
            vec![
                reg.image("team/redis-cache"),
                truncated,
                "0".into(),
                String::new()
            ],
        ]
    );
    assert_eq!(run.stderr, "");

    let full = lade_conf(
        &t,
        &conf,
        &["search", "--no-trunc", &reg.image("redis-cache")],
    )
    .ok();
    assert_eq!(table(&full.stdout)[1][1], long);

    let one = lade_conf(&t, &conf, &["search", "--limit", "1", &reg.image("redis")]).ok();
    assert_eq!(table(&one.stdout).len(), 2);

    for filter in ["stars=1", "is-official=true"] {
        let none = lade_conf(
            &t,
            &conf,
            &["search", "--filter", filter, &reg.image("redis")],
        )
        .ok();
        assert_eq!(none.stdout.lines().count(), 1, "{filter}: {}", none.stdout);
    }
    let unofficial = lade_conf(
        &t,
        &conf,
        &[
            "search",
            "-f",
            "is-official=false",
            "-f",
            "stars=0",
            &reg.image("postgres"),
        ],
    )
    .ok();
    assert_eq!(table(&unofficial.stdout)[1][0], reg.image("other/postgres"));

    lade_conf(&t, &conf, &["search", "--limit", "0", &reg.image("redis")])
        .fails_with("limit 0 is outside the range of [1, 100]");
    lade_conf(
        &t,
        &conf,
        &["search", "--limit", "101", &reg.image("redis")],
    )
    .fails_with("limit 101 is outside the range of [1, 100]");
    lade_conf(
        &t,
        &conf,
        &["search", "--filter", "color=red", &reg.image("redis")],
    )
    .fails_with("invalid filter 'color'");
    lade_conf(
        &t,
        &conf,
        &["search", "--filter", "stars=many", &reg.image("redis")],
    )
    .fails_with("invalid filter 'stars=many'");
}

/// Docker Hub's answers, from a small search server.
fn hub_results() -> Vec<serde_json::Value> {
    vec![
        json!({"name": "library/redis", "description": "Redis is the world's fastest data platform for caching, vector search, and NoSQL databases.", "star_count": 13000, "is_official": true, "is_automated": false}),
        json!({"name": "bitnami/redis", "description": "Bitnami container image for Redis", "star_count": 300, "is_official": false, "is_automated": true}),
        json!({"name": "me/redis-tools", "description": "", "star_count": 2, "is_official": false, "is_automated": false}),
    ]
}

#[test]
fn stars_and_official_images_as_docker_hub_answers() {
    let hub = FakeRegistry::start();
    hub.set_search(hub_results());
    let t = TestRoot::new();
    let conf = write_conf(&t, "registries.conf", "");
    let term = hub.image("redis");

    let all = lade_conf(&t, &conf, &["search", &term]).ok();
    let rows = table(&all.stdout);
    assert_eq!(rows.len(), 4, "{}", all.stdout);
    assert_eq!(
        rows[1],
        [
            hub.image("library/redis"),
            "Redis is the world's fastest data platform f…".into(),
            "13000".into(),
            "[OK]".into()
        ]
    );
    let q = hub.requests_to("/v1/search");
    assert_eq!(q[0].query("q").as_deref(), Some("redis"));

    let popular = lade_conf(&t, &conf, &["search", "--filter", "stars=100", &term]).ok();
    let names: Vec<String> = table(&popular.stdout)[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        names,
        [hub.image("library/redis"), hub.image("bitnami/redis")]
    );

    let official = lade_conf(
        &t,
        &conf,
        &["search", "--filter", "is-official=true", &term],
    )
    .ok();
    assert_eq!(table(&official.stdout).len(), 2);
    let not_official = lade_conf(
        &t,
        &conf,
        &["search", "--filter", "is-official=false", &term],
    )
    .ok();
    let names: Vec<String> = table(&not_official.stdout)[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        names,
        [hub.image("bitnami/redis"), hub.image("me/redis-tools")]
    );

    let two = lade_conf(&t, &conf, &["search", "--limit", "2", &term]).ok();
    assert_eq!(table(&two.stdout).len(), 3);

    // --format: Docker's fields, as Docker prints them.
    let own = lade_conf(
        &t,
        &conf,
        &[
            "search",
            "--format",
            "{{.Name}}: {{.StarCount}} {{.IsOfficial}}{{.IsAutomated}}",
            &term,
        ],
    )
    .ok();
    assert_eq!(
        own.stdout,
        format!(
            "{}: 13000 [OK]\n{}: 300 [OK]\n{}: 2 \n",
            hub.image("library/redis"),
            hub.image("bitnami/redis"),
            hub.image("me/redis-tools")
        )
    );
    let lines = lade_conf(
        &t,
        &conf,
        &["search", "--format", "json", "--limit", "1", &term],
    )
    .ok();
    assert_eq!(
        json(&lines.stdout),
        json!({"Name": hub.image("library/redis"), "Description": "Redis is the world's fastest data platform f…", "StarCount": "13000", "IsOfficial": "[OK]", "IsAutomated": ""})
    );
    let table_own = lade_conf(
        &t,
        &conf,
        &[
            "search",
            "--format",
            "table {{.Name}}\t{{.StarCount}}",
            &term,
        ],
    )
    .ok();
    assert_eq!(
        table_own
            .stdout
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "STARS"]
    );
    lade_conf(&t, &conf, &["search", "--format", "{{.Stars}}", &term])
        .fails_with("map has no entry for key \"Stars\"");
}

#[test]
fn a_bare_term_asks_every_search_registry_of_registries_conf() {
    let hub = FakeRegistry::start();
    hub.set_search(hub_results());
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    push_image(&t, &reg.image("team/redis:1"), 4, &[]);
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "unqualified-search-registries = [\"{}\", \"{}\"]\n",
            hub.host(),
            reg.host
        ),
    );
    let run = lade_conf(&t, &conf, &["search", "redis"]).ok();
    let names: Vec<String> = table(&run.stdout)[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        names,
        [
            hub.image("library/redis"),
            hub.image("bitnami/redis"),
            hub.image("me/redis-tools"),
            reg.image("team/redis")
        ]
    );

    // One registry that does not answer is reported; the others' answers stay.
    let down = dead_host();
    let conf = write_conf(
        &t,
        "down.conf",
        &format!(
            "unqualified-search-registries = [\"{down}\", \"{}\"]\n",
            reg.host
        ),
    );
    let run = lade_conf(&t, &conf, &["search", "redis"]).ok();
    assert!(
        run.stderr
            .contains(&format!("WARNING: failed to search {down}")),
        "{}",
        run.stderr
    );
    assert_eq!(table(&run.stdout)[1][0], reg.image("team/redis"));
    let only_down = write_conf(
        &t,
        "only-down.conf",
        &format!("unqualified-search-registries = [\"{down}\"]\n"),
    );
    lade_conf(&t, &only_down, &["search", "redis"]).fails_with("failed to connect");
}

#[test]
fn a_registry_without_search_api_is_searched_through_its_catalog() {
    let t = TestRoot::new();
    let reg = DockerRegistry::start();
    push_image(&t, &reg.image("team/redis:1"), 5, &[]);
    push_image(&t, &reg.image("tools/redis-cli:2"), 6, &[]);
    push_image(&t, &reg.image("team/postgres:1"), 7, &[]);
    let conf = write_conf(&t, "registries.conf", "");
    let run = lade_conf(&t, &conf, &["search", &reg.image("redis")]).ok();
    assert_eq!(
        run.stderr,
        format!(
            "{} has no search API: listing the repositories of its catalog whose name contains \"redis\"\n",
            reg.host
        )
    );
    let rows = table(&run.stdout);
    assert_eq!(
        rows[1..],
        [
            vec![
                reg.image("team/redis"),
                String::new(),
                "0".into(),
                String::new()
            ],
            vec![
                reg.image("tools/redis-cli"),
                String::new(),
                "0".into(),
                String::new()
            ],
        ]
    );
    let one = lade_conf(&t, &conf, &["search", "--limit", "1", &reg.image("redis")]).ok();
    assert_eq!(table(&one.stdout).len(), 2);
}

#[test]
fn list_tags_of_a_named_or_resolved_repository() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    push_image(&t, &reg.image("team/redis:1"), 8, &[]);
    push_image(&t, &reg.image("team/redis:2"), 9, &[]);
    let conf = write_conf(&t, "registries.conf", "");
    let name = reg.image("team/redis");
    let expected = format!(
        "NAME{}   TAG\n{name}   1\n{name}   2\n",
        " ".repeat(name.len() - 4)
    );
    let run = lade_conf(&t, &conf, &["search", "--list-tags", &name]).ok();
    assert_eq!(run.stdout, expected);

    // A short name is resolved as `pull` resolves it.
    let conf = write_conf(
        &t,
        "search.conf",
        &format!(
            "unqualified-search-registries = [\"{}\", \"{}\"]\n",
            dead_host(),
            reg.host
        ),
    );
    let run = lade_conf(&t, &conf, &["search", "--list-tags", "team/redis"]).ok();
    assert_eq!(run.stdout, expected);
    lade_conf(&t, &conf, &["search", "--list-tags", "team/nothing"]).fails_with("name unknown");
}

/// An index over two images (amd64, arm64) pushed with skopeo to the CNCF registry.
fn multi_arch(t: &TestRoot, reg: &DockerRegistry) -> (Image, Image, Vec<u8>) {
    let amd = Image::new("amd64", &[tarball(&[("a", &noise(1_000, 1))])]);
    let arm = Image::new("arm64", &[tarball(&[("b", &noise(1_000, 2))])]);
    let layout = Layout::new(t.path("layout"));
    layout.add_image("amd64", &amd);
    layout.add_image("arm64", &arm);
    let index = index_of(&[
        ("linux/amd64", &amd.manifest),
        ("linux/arm64", &arm.manifest),
    ]);
    layout.tag("multi", OCI_INDEX, &index);
    skopeo_push(
        &layout.source("multi"),
        &reg.image("multi:1"),
        &["--all", "--preserve-digests"],
    );
    (amd, arm, index)
}

#[test]
fn manifest_inspect_shows_what_the_registry_serves() {
    let t = TestRoot::new();
    let reg = DockerRegistry::start();
    let (amd, arm, index) = multi_arch(&t, &reg);
    let conf = write_conf(&t, "registries.conf", "");
    let image = reg.image("multi:1");
    let inspect = |args: &[&str]| {
        let mut all = vec!["manifest", "inspect"];
        all.extend(args);
        lade_conf(&t, &conf, &all).ok().stdout
    };

    // --raw: the exact bytes, as skopeo sees them.
    let raw = skopeo_raw(&image);
    assert_eq!(raw, index);
    assert_eq!(inspect(&["--raw", &image]).into_bytes(), raw);
    // Pretty: an index with three spaces, as Docker prints it.
    let pretty = inspect(&[&image]);
    assert!(
        pretty.starts_with("{\n   \"schemaVersion\": 2,"),
        "{pretty}"
    );
    assert_eq!(json(&pretty), json(&String::from_utf8(raw).unwrap()));

    // --verbose: one object per entry, with its reference, descriptor and manifest.
    let verbose = json(&inspect(&["--verbose", &image]));
    let entries = verbose.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (entry, (img, arch)) in entries.iter().zip([(&amd, "amd64"), (&arm, "arm64")]) {
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Ref", "Descriptor", "Raw", "OCIManifest"]);
        assert_eq!(entry["Raw"], base64(&img.manifest));
        assert_eq!(entry["Ref"], reg.image(&format!("multi@{}", img.digest())));
        assert_eq!(
            entry["Descriptor"],
            json!({
                "mediaType": OCI_MANIFEST,
                "digest": img.digest(),
                "size": img.manifest.len(),
                "platform": {"architecture": arch, "os": "linux"},
            })
        );
        assert_eq!(
            entry["OCIManifest"],
            json(&String::from_utf8(img.manifest.clone()).unwrap())
        );
    }

    // --platforms: the entries, short.
    assert_eq!(
        inspect(&["--platforms", &image]),
        format!(
            "PLATFORM                 DIGEST\nlinux/amd64              {}\nlinux/arm64              {}\n",
            amd.digest(),
            arm.digest()
        )
    );

    // One image, by digest: tab-indented, and its platform from its config.
    let one = reg.image(&format!("multi@{}", arm.digest()));
    assert_eq!(inspect(&["--raw", &one]).into_bytes(), skopeo_raw(&one));
    let pretty = inspect(&[&one]);
    assert!(pretty.starts_with("{\n\t\"schemaVersion\": 2,"), "{pretty}");
    let v = json(&inspect(&["-v", &one]));
    assert_eq!(v["Ref"], one);
    assert_eq!(
        v["Descriptor"]["platform"],
        json!({"architecture": "arm64", "os": "linux"})
    );
    assert_eq!(v["Descriptor"]["digest"], arm.digest());
    assert!(v["OCIManifest"]["layers"].is_array());
    assert_eq!(
        inspect(&["--platforms", &one]),
        format!(
            "PLATFORM                 DIGEST\n(single image)           {}\n",
            arm.digest()
        )
    );

    lade_conf(&t, &conf, &["manifest", "inspect", &reg.image("nothing:1")])
        .fails_with("no such manifest");
}
