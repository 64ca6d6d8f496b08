//! `--format` on `images`, `inspect`, `history` and `system df`: Docker's fields, headers,
//! `table` and `json`, Docker's documented examples, and Docker's errors (checked
//! against docker 28.2 over dockerd 20.10 where noted).

use crate::support::*;

/// `lade ARGS` with the time zone fixed to UTC (CREATED AT is printed in local time).
fn run(t: &TestRoot, args: &[&str]) -> Run {
    Run::from(t.lade().env("TZ", "UTC").args(args).output().unwrap())
}

/// The run failed with exit `code`, printed nothing on stdout but `stdout`, and said
/// `needle` on stderr.
#[track_caller]
fn fails(run: Run, code: i32, stdout: &str, needle: &str) -> Run {
    assert_eq!(
        run.code, code,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, stdout, "stderr:\n{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "stderr does not contain {needle:?}:\n{}",
        run.stderr
    );
    run
}

/// `app:1` and `app:2` (one image), `other` and a dangling image, oldest first.
fn store(t: &TestRoot) -> (String, String, String) {
    let app = import_image(t, Some("app:1"), 1);
    t.run(&["tag", "app:1", "app:2"]).ok();
    let other = import_image(t, Some("other"), 2);
    let dangling = import_image(t, None, 3);
    (app, other, dangling)
}

fn short(id: &str) -> &str {
    &id[7..19]
}

#[test]
fn images_default_table_is_dockers_template() {
    let t = TestRoot::new();
    store(&t);
    let default = run(&t, &["images"]).ok().stdout;
    let lines: Vec<&str> = default.lines().collect();
    assert_eq!(lines.len(), 5, "{default}");
    assert_eq!(
        lines[0],
        "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE"
    );
    assert!(lines[1].starts_with("<none>       <none>    "), "{default}");
    // The same through every spelling of Docker's default.
    for args in [
        &["images", "--format", "table"][..],
        &["images", "--format", ""],
        &[
            "image",
            "ls",
            "--format",
            "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}",
        ],
    ] {
        assert_eq!(run(&t, args).ok().stdout, default, "{args:?}");
    }
    let digests = run(&t, &["images", "--digests"]).ok().stdout;
    assert!(
        digests.starts_with("REPOSITORY   TAG       DIGEST    IMAGE ID       CREATED "),
        "{digests}"
    );
    assert!(
        digests
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("<none>       <none>    <none>    ")
    );
}

#[test]
fn images_documented_examples() {
    let t = TestRoot::new();
    let (app, other, dangling) = store(&t);
    // docs: docker images --format "{{.ID}}: {{.Repository}}"
    assert_eq!(
        run(&t, &["images", "--format", "{{.ID}}: {{.Repository}}"])
            .ok()
            .stdout,
        format!(
            "{}: <none>\n{}: other\n{}: app\n{}: app\n",
            short(&dangling),
            short(&other),
            short(&app),
            short(&app)
        )
    );
    // docs: docker images --format "table {{.ID}}\t{{.Repository}}\t{{.Tag}}"
    assert_eq!(
        run(
            &t,
            &[
                "images",
                "--format",
                "table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}"
            ]
        )
        .ok()
        .stdout,
        format!(
            "IMAGE ID       REPOSITORY   TAG\n{}   <none>       <none>\n{}   other        latest\n{}   app          1\n{}   app          2\n",
            short(&dangling),
            short(&other),
            short(&app),
            short(&app)
        )
    );
    // docs: docker images --format json: one object per line, Docker's keys and strings.
    let out = run(&t, &["images", "--format", "json"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(r#"{"Containers":"N/A","CreatedAt":""#),
        "{out}"
    );
    assert!(
        lines[0].contains(r#","Digest":"\u003cnone\u003e","ID":""#),
        "{out}"
    );
    let first = json(lines[3]);
    let size = human(image_size(1));
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Containers",
            "CreatedAt",
            "CreatedSince",
            "Digest",
            "ID",
            "Repository",
            "SharedSize",
            "Size",
            "Tag",
            "UniqueSize",
            "VirtualSize"
        ]
    );
    assert_eq!(first["ID"], short(&app));
    assert_eq!(first["Repository"], "app");
    assert_eq!(first["Tag"], "2");
    assert_eq!(first["Size"], size.as_str());
    assert_eq!(first["VirtualSize"], size.as_str());
    assert_eq!(first["SharedSize"], "N/A");
    assert_eq!(first["UniqueSize"], "N/A");
    assert_eq!(first["Containers"], "N/A");
    assert!(
        first["CreatedSince"].as_str().unwrap().ends_with(" ago"),
        "{out}"
    );
}

#[test]
fn images_fields_and_flags() {
    let t = TestRoot::new();
    let (app, ..) = store(&t);
    // CREATED AT: Go's time.String in the local zone.
    let created = run(&t, &["images", "app:1", "--format", "{{.CreatedAt}}"])
        .ok()
        .stdout;
    let created = created.trim_end();
    assert_eq!(
        created.len(),
        "2024-01-02 15:04:05 +0000 UTC".len(),
        "{created}"
    );
    assert!(created.ends_with(" +0000 UTC"), "{created}");
    let zoned = Run::from(
        t.lade()
            .env("TZ", "Asia/Kolkata")
            .args(["images", "app:1", "--format", "{{.CreatedAt}}"])
            .output()
            .unwrap(),
    )
    .ok()
    .stdout;
    assert!(zoned.trim_end().ends_with(" +0530 IST"), "{zoned}");

    // --no-trunc shows the full ID.
    assert_eq!(
        run(
            &t,
            &["images", "app:1", "--no-trunc", "--format", "{{.ID}}"]
        )
        .ok()
        .stdout,
        format!("{app}\n")
    );
    // -q prints one ID per row, as Docker's does; a format of one's own wins over -q,
    // `table` does not.
    assert_eq!(
        run(&t, &["images", "-q", "app"]).ok().stdout,
        format!("{}\n{}\n", short(&app), short(&app))
    );
    assert_eq!(
        run(&t, &["images", "-q", "--format", "table", "app"])
            .ok()
            .stdout,
        format!("{}\n{}\n", short(&app), short(&app))
    );
    assert_eq!(
        run(
            &t,
            &[
                "images",
                "-q",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                "app"
            ]
        )
        .ok()
        .stdout,
        "app:1\napp:2\n"
    );
    // --digests adds a DIGEST column at the end of a table that lacks one; without
    // digests to show, `.Digest` is `<none>`.
    assert_eq!(
        run(
            &t,
            &["images", "--digests", "--format", "table {{.Tag}}", "app"]
        )
        .ok()
        .stdout,
        "TAG       DIGEST\n1         <none>\n2         <none>\n"
    );
    // Docker's functions, and the header they give.
    assert_eq!(
        run(
            &t,
            &[
                "images",
                "--format",
                "table {{upper .Repository}}\\t{{.Tag}}",
                "other"
            ]
        )
        .ok()
        .stdout,
        "REPOSITORY   TAG\nOTHER        latest\n"
    );
    assert_eq!(
        run(
            &t,
            &[
                "images",
                "--format",
                "{{.Size | printf \"%q\"}} {{json .Tag}}",
                "other"
            ]
        )
        .ok()
        .stdout,
        format!("\"{}\" \"latest\"\n", human(image_size(2)))
    );
    // A table over no image is its header.
    assert_eq!(
        run(&t, &["images", "nothere", "--format", "table {{.ID}}"])
            .ok()
            .stdout,
        "IMAGE ID\n"
    );
    assert_eq!(
        run(&t, &["images", "nothere", "--format", "{{.ID}}"])
            .ok()
            .stdout,
        ""
    );
}

#[test]
fn images_digest_rows() {
    let t = TestRoot::new();
    let (app, other, _) = store(&t);
    // As a pull records them: app by digest, and `pinned` (another image) known only by
    // digest.
    let app_manifest = manifest_of(&t, "docker.io/library/app:1");
    let other_manifest = manifest_of(&t, "docker.io/library/other:latest");
    let store = lade_store::Store::open(t.root()).unwrap();
    store
        .update(|state| {
            for record in state.meta_mut().images.values_mut() {
                let m = record.manifest.to_string();
                let name = if m == app_manifest {
                    "app"
                } else if m == other_manifest {
                    "pinned"
                } else {
                    continue;
                };
                record.repo_digests = vec![format!("docker.io/library/{name}@{m}")];
            }
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();

    let rows = |args: &[&str]| {
        let mut full = vec![
            "images",
            "--format",
            "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}",
        ];
        full.extend(args);
        run(&t, &full).ok().stdout
    };
    let (a, o) = (short(&app), short(&other));
    // `{{.Digest}}` in the format is enough to show them (Docker's needDigest).
    for args in [&["app"][..], &["--digests", "app"]] {
        assert_eq!(
            rows(args),
            format!("app 1 {app_manifest} {a}\napp 2 {app_manifest} {a}\n")
        );
    }
    // Otherwise `<none>` (json names no field).
    let line = run(&t, &["images", "--format", "json", "app:1"])
        .ok()
        .stdout;
    assert_eq!(json(&line)["Digest"], "<none>");
    let lines = run(&t, &["images", "--digests", "--format", "json", "app"])
        .ok()
        .stdout;
    assert_eq!(
        json(lines.lines().next().unwrap())["Digest"],
        app_manifest.as_str()
    );
    // A tag filter keeps no digest (Docker filters them as references).
    let line = run(&t, &["images", "--digests", "--format", "json", "app:1"])
        .ok()
        .stdout;
    assert_eq!(json(&line)["Digest"], "<none>");
    assert_eq!(rows(&["other"]), format!("other latest <none> {o}\n"));
    assert_eq!(
        rows(&["--digests", "--filter", "reference=*"]),
        format!(
            "other latest <none> {o}\npinned <none> {other_manifest} {o}\napp 1 {app_manifest} {a}\napp 2 {app_manifest} {a}\n"
        )
    );
    let plain = run(
        &t,
        &[
            "images",
            "--filter",
            "reference=*",
            "--format",
            "{{.Repository}}|{{.Tag}}|{{.Digest}}",
        ],
    )
    .ok()
    .stdout;
    // A repository known only by digest: tag `<none>`, and no digest without --digests.
    assert!(plain.contains("pinned|<none>|\n"), "{plain}");
    // inspect shows them familiar, as Docker does.
    assert_eq!(
        run(&t, &["inspect", "-f", "{{index .RepoDigests 0}}", "app:1"])
            .ok()
            .stdout,
        format!("app@{app_manifest}\n")
    );
}

#[test]
fn images_bad_templates() {
    let t = TestRoot::new();
    store(&t);
    let before = t.snapshot();
    for (format, message) in [
        (
            "{{.ID",
            "template parsing error: template: :1: unclosed action",
        ),
        (
            "table {{.ID}",
            "template parsing error: template: :1: bad character U+007D '}'",
        ),
        (
            "{{nofunc .ID}}",
            "template parsing error: template: :1: function \"nofunc\" not defined",
        ),
        (
            "{{end}}",
            "template parsing error: template: :1: unexpected {{end}}",
        ),
    ] {
        fails(run(&t, &["images", "--format", format]), 1, "", message);
    }
    // Fails while running: nothing on stdout (not even the rows that worked).
    let r = fails(
        run(&t, &["images", "--format", "{{.Foo}}"]),
        1,
        "",
        "template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"",
    );
    assert!(
        r.stderr.contains(
            "hint: the fields here are .Containers .CreatedAt .CreatedSince .Digest .ID .Repository"
        ),
        "{}",
        r.stderr
    );
    fails(
        run(
            &t,
            &[
                "images",
                "--format",
                "table {{.ID}}\\t{{index .Repository 99}}",
            ],
        ),
        1,
        "",
        "error calling index: index out of range: 99",
    );
    assert_eq!(t.snapshot(), before);
    // On an empty store a bad format creates nothing.
    let empty = TestRoot::new();
    fails(
        run(&empty, &["images", "--format", "{{"]),
        1,
        "",
        "template parsing error:",
    );
    assert!(!empty.root().exists());
}

#[test]
fn inspect_documented_examples() {
    let t = TestRoot::new();
    let tar = tarball(&[("f", b"x")]);
    let id = t
        .run_stdin(
            &[
                "import",
                "-c",
                "ENV DEBUG=true",
                "-c",
                "ENV MODE=prod",
                "-c",
                "LABEL org.example.tier=web",
                "--platform",
                "linux/arm64/v8",
                "-",
                "app",
            ],
            &tar,
        )
        .ok()
        .stdout;
    let id = id.trim();
    let plain = import_image(&t, Some("plain"), 1);
    for (format, want) in [
        ("{{.Config.Env}}", "[DEBUG=true MODE=prod]"),
        ("{{json .Config.Labels}}", r#"{"org.example.tier":"web"}"#),
        ("{{index .Config.Labels \"org.example.tier\"}}", "web"),
        ("{{.Os}}/{{.Architecture}}", "linux/arm64"),
        ("{{index .RepoTags 0}}", "app:latest"),
        ("{{.Id}}", id),
        (
            "{{range .Config.Env}}{{println .}}{{end}}",
            "DEBUG=true\nMODE=prod\n",
        ),
        ("{{len .RootFS.Layers}} {{.RootFS.Type}}", "1 layers"),
        ("{{.Size}}", &content_size(1).to_string()),
        (
            "{{.Descriptor.mediaType}}",
            "application/vnd.oci.image.manifest.v1+json",
        ),
    ] {
        for cmd in [&["inspect", "--format"][..], &["image", "inspect", "-f"]] {
            let mut args = cmd.to_vec();
            args.extend([format, "app"]);
            assert_eq!(run(&t, &args).ok().stdout, format!("{want}\n"), "{format}");
        }
    }
    // An image without labels or env: what Docker prints for the same JSON.
    assert_eq!(
        run(
            &t,
            &[
                "inspect",
                "-f",
                "{{json .Config.Labels}} {{json .Config.Env}} {{json .Config.Cmd}}",
                "plain"
            ]
        )
        .ok()
        .stdout,
        "null null null\n"
    );
    // Printed rather than marshalled, they are Go's nil slices and maps (as `docker
    // inspect -f '{{.Config.Env}}'` prints for an image without env): not `<nil>`.
    assert_eq!(
        run(
            &t,
            &[
                "inspect",
                "-f",
                "{{.Config.Env}} {{.Config.Cmd}} {{.Config.Labels}} {{len .Config.Env}} {{range .Config.Env}}x{{end}}{{if .Config.Env}}set{{else}}unset{{end}}",
                "plain"
            ]
        )
        .ok()
        .stdout,
        "[] [] map[] 0 unset\n"
    );
    // One line per image, in the order asked.
    assert_eq!(
        run(&t, &["inspect", "-f", "{{.Id}}", "plain", "app"])
            .ok()
            .stdout,
        format!("{plain}\n{id}\n")
    );
    // json: the same documents, on one line.
    let compact = run(&t, &["inspect", "--format", "json", "app", "plain"])
        .ok()
        .stdout;
    assert_eq!(compact.lines().count(), 1);
    assert_eq!(
        json(&compact),
        json(&run(&t, &["inspect", "app", "plain"]).ok().stdout)
    );
}

#[test]
fn inspect_prints_dockers_keys() {
    let t = TestRoot::new();
    import_image(&t, Some("imp"), 1);
    let out = run(&t, &["inspect", "imp"]).ok().stdout;
    let doc = &json(&out)[0];
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Id",
            "RepoTags",
            "RepoDigests",
            "Parent",
            "Comment",
            "Created",
            "DockerVersion",
            "Author",
            "Config",
            "Architecture",
            "Os",
            "Size",
            "RootFS",
            "Metadata",
            "Descriptor"
        ]
    );
    // An imported image's Config, as docker 20.10–28.1 print it.
    let config: Vec<&str> = doc["Config"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        config,
        [
            "Hostname",
            "Domainname",
            "User",
            "AttachStdin",
            "AttachStdout",
            "AttachStderr",
            "Tty",
            "OpenStdin",
            "StdinOnce",
            "Env",
            "Cmd",
            "Image",
            "Volumes",
            "WorkingDir",
            "Entrypoint",
            "OnBuild",
            "Labels"
        ]
    );
    assert!(
        out.contains("\n        \"Config\": {\n            \"Hostname\": \"\",\n"),
        "{out}"
    );
    assert_eq!(doc["Config"]["Env"], serde_json::Value::Null);
    assert_eq!(doc["Config"]["Tty"], false);
    assert_eq!(
        doc["Descriptor"]["digest"],
        manifest_of(&t, "docker.io/library/imp:latest").as_str()
    );
    assert_eq!(doc["RepoDigests"], serde_json::json!([]));
}

#[test]
fn inspect_errors() {
    let t = TestRoot::new();
    import_image(&t, Some("imp"), 1);
    let before = t.snapshot();
    // A template that does not parse: Docker's `inspect` exits 64, before any lookup.
    fails(
        run(&t, &["inspect", "-f", "{{.Id", "imp"]),
        64,
        "",
        "template parsing error: template: :1: unclosed action",
    );
    fails(
        run(&t, &["image", "inspect", "--format", "{{.Id}", "nothere"]),
        64,
        "",
        "template parsing error: template: :1: bad character U+007D '}'",
    );
    // A missing key is an error (Docker's `missingkey=error`); nothing printed for the
    // image, an empty line as Docker prints.
    fails(
        run(&t, &["inspect", "-f", "{{.Foo}}", "imp"]),
        1,
        "\n",
        "template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"",
    );
    fails(
        run(&t, &["inspect", "-f", "{{.Config.Nope}}", "imp"]),
        1,
        "\n",
        "executing \"\" at <.Config.Nope>: map has no entry for key \"Nope\"",
    );
    // docs: {{index .RepoDigests 0}} on an image nothing was pulled for.
    fails(
        run(&t, &["inspect", "-f", "{{index .RepoDigests 0}}", "imp"]),
        1,
        "\n",
        "error calling index: reflect: slice index out of range",
    );
    // The images that work are printed; the others are reported in order.
    let r = fails(
        run(&t, &["inspect", "-f", "{{.Os}}", "nothere", "imp", "gone"]),
        1,
        "linux\n",
        "Error: No such image: nothere:latest\nError: No such image: gone:latest\n",
    );
    assert!(!r.stdout.contains('['));
    fails(
        run(&t, &["inspect", "nothere"]),
        1,
        "[]\n",
        "No such image: nothere",
    );
    fails(
        run(&t, &["inspect", "--format", "json", "nothere"]),
        1,
        "[]\n",
        "No such image: nothere",
    );
    assert_eq!(t.snapshot(), before);
}

/// An image of two layers and four steps, two of them empty, as another tool writes it.
fn history_image(t: &TestRoot) -> String {
    let tar = tarball(&[("f", &noise(2_000, 7))]);
    let id = t
        .run_stdin(&["import", "-m", "from a tarball", "-", "hist"], &tar)
        .ok()
        .stdout;
    id.trim().to_owned()
}

#[test]
fn history_formats() {
    let t = TestRoot::new();
    let id = history_image(&t);
    let size = content_size(2_000);
    // docs: docker history --format "{{.ID}}: {{.CreatedSince}}"
    let out = run(
        &t,
        &["history", "--format", "{{.ID}}: {{.CreatedSince}}", "hist"],
    )
    .ok()
    .stdout;
    assert!(out.starts_with(&format!("{}: ", short(&id))), "{out}");
    assert!(out.ends_with(" ago\n"), "{out}");
    assert_eq!(
        run(
            &t,
            &[
                "history",
                "--format",
                "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
                "hist"
            ]
        )
        .ok()
        .stdout,
        format!("{}||{}|from a tarball\n", short(&id), human(size))
    );
    // --human=false: CREATED SINCE is the RFC 3339 time, sizes in bytes.
    let raw = run(
        &t,
        &[
            "history",
            "--human=false",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.CreatedSince}} {{.Size}}",
            "hist",
        ],
    )
    .ok()
    .stdout;
    let parts: Vec<&str> = raw.split_whitespace().collect();
    assert_eq!(parts[0], id);
    assert!(parts[1].ends_with('Z') && parts[1].contains('T'), "{raw}");
    assert_eq!(parts[2], size.to_string());
    // A table of one's own, with Docker's headers.
    let table = run(
        &t,
        &[
            "history",
            "--format",
            "table {{.ID}}\\t{{.CreatedAt}}\\t{{.Comment}}",
            "hist",
        ],
    )
    .ok()
    .stdout;
    assert!(
        table.starts_with("IMAGE          CREATED AT             COMMENT\n"),
        "{table}"
    );
    // json: Docker's keys.
    let line = run(&t, &["history", "--format", "json", "hist"])
        .ok()
        .stdout;
    let obj = json(&line);
    let keys: Vec<&str> = obj
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Comment",
            "CreatedAt",
            "CreatedBy",
            "CreatedSince",
            "ID",
            "Size"
        ]
    );
    assert_eq!(obj["Size"], human(size).as_str());
    // A format of one's own wins over -q; `table` does not.
    assert_eq!(
        run(&t, &["history", "-q", "--format", "{{.Comment}}", "hist"])
            .ok()
            .stdout,
        "from a tarball\n"
    );
    assert_eq!(
        run(&t, &["history", "-q", "--format", "table", "hist"])
            .ok()
            .stdout,
        format!("{}\n", short(&id))
    );
    // The default is Docker's table template.
    assert_eq!(
        run(&t, &["history", "hist"]).ok().stdout,
        run(
            &t,
            &[
                "history",
                "--format",
                "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}",
                "hist"
            ]
        )
        .ok()
        .stdout
    );
}

#[test]
fn history_bad_templates() {
    let t = TestRoot::new();
    history_image(&t);
    fails(
        run(&t, &["history", "--format", "{{.ID", "hist"]),
        1,
        "",
        "template parsing error: template: :1: unclosed action",
    );
    let r = fails(
        run(&t, &["history", "--format", "{{.Created}}", "hist"]),
        1,
        "",
        "map has no entry for key \"Created\"",
    );
    assert!(
        r.stderr.contains(
            "hint: the fields here are .Comment .CreatedAt .CreatedBy .CreatedSince .ID .Size"
        ),
        "{}",
        r.stderr
    );
    // The template is checked before the image is looked up.
    fails(
        run(&t, &["history", "--format", "{{", "nothere"]),
        1,
        "",
        "template parsing error:",
    );
}

#[test]
fn df_formats() {
    let t = TestRoot::new();
    // docs: docker system df --format json (one object per row).
    assert_eq!(
        run(&t, &["system", "df", "--format", "json"]).ok().stdout,
        "{\"Active\":\"0\",\"Reclaimable\":\"0B\",\"Size\":\"0B\",\"TotalCount\":\"0\",\"Type\":\"Images\"}\n"
    );
    let shared = tarball(&[("f", &noise(30_000, 1))]);
    t.run_stdin(&["import", "-", "one"], &shared).ok();
    let own = tarball(&[("g", &noise(10_000, 2))]);
    let dangling = t.run_stdin(&["import", "-"], &own).ok().stdout;
    // The files' contents, as Docker counts image sizes.
    let (s, o) = (content_size(30_000), content_size(10_000));
    assert_eq!(
        run(
            &t,
            &[
                "system",
                "df",
                "--format",
                "{{.Type}}: {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}"
            ]
        )
        .ok()
        .stdout,
        format!(
            "Images: 2 1 {} {} ({}%)\n",
            human(s + o),
            human(o),
            o * 100 / (s + o)
        )
    );
    assert_eq!(
        run(
            &t,
            &["system", "df", "--format", "table {{.Type}}\\t{{.Active}}"]
        )
        .ok()
        .stdout,
        "TYPE      ACTIVE\nImages    1\n"
    );
    // The default is Docker's table template.
    assert_eq!(
        run(&t, &["system", "df"]).ok().stdout,
        run(
            &t,
            &[
                "system",
                "df",
                "--format",
                "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}"
            ]
        )
        .ok()
        .stdout
    );
    // -v with a template: run once over everything, no newline after (as Docker).
    let v = run(
        &t,
        &[
            "system",
            "df",
            "-v",
            "--format",
            "{{range .Images}}{{.Repository}}:{{.Tag}}={{.UniqueSize}} {{end}}",
        ],
    )
    .ok()
    .stdout;
    assert_eq!(
        v,
        format!("<none>:<none>={} one:latest={} ", human(o), human(s))
    );
    let v = run(&t, &["system", "df", "-v", "--format", "json"])
        .ok()
        .stdout;
    assert!(!v.ends_with('\n'));
    let all = json(&v);
    assert_eq!(all["Containers"], serde_json::json!([]));
    assert_eq!(all["Images"][0]["ID"], dangling.trim());
    assert_eq!(all["Images"][0]["Repository"], "<none>");
    assert_eq!(all["Images"][1]["SharedSize"], "0B");
    assert_eq!(all["Images"][1]["Containers"], "0");
    // -v with a table: Docker's fixed tables.
    assert_eq!(
        run(&t, &["system", "df", "-v", "--format", "table {{.ID}}"])
            .ok()
            .stdout,
        run(&t, &["system", "df", "-v"]).ok().stdout
    );
}

#[test]
fn df_bad_templates() {
    let t = TestRoot::new();
    fails(
        run(&t, &["system", "df", "--format", "{{.Type"]),
        1,
        "",
        "template parsing error: template: :1: unclosed action",
    );
    fails(
        run(&t, &["system", "df", "--format", "{{.Foo}}"]),
        1,
        "",
        "map has no entry for key \"Foo\"",
    );
    fails(
        run(&t, &["system", "df", "-v", "--format", "{{.Type}}"]),
        1,
        "",
        "map has no entry for key \"Type\"",
    );
}
