//! `lade registry serve` against real clients (issue 5): skopeo copies in and out with
//! every digest intact, inspects, lists tags and deletes; a multi-arch index pushed with
//! `skopeo copy --all` and pulled by lade; SIGTERM while a request is in flight; a restart
//! on the same storage; htpasswd from a `--config` file.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// `skopeo ARGS…` (without TLS: the registry is plain HTTP on loopback).
fn skopeo(args: &[&str]) -> Run {
    Run::from(Command::new("skopeo").args(args).output().unwrap())
}

#[track_caller]
fn skopeo_ok(args: &[&str]) -> String {
    let run = skopeo(args);
    assert_eq!(run.code, 0, "skopeo {args:?} failed:\n{}", run.stderr);
    run.stdout
}

fn docker(image: &str) -> String {
    format!("docker://{image}")
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// `oci:ROOT:NAME` for an image in a lade store.
fn oci(t: &TestRoot, name: &str) -> String {
    format!("oci:{}:{name}", t.root().display())
}

/// The manifest exactly as the registry serves it.
#[track_caller]
fn raw_manifest(image: &str) -> String {
    skopeo_ok(&["inspect", "--raw", "--tls-verify=false", &docker(image)])
}

/// `skopeo list-tags`: the tags, in the registry's order.
#[track_caller]
fn list_tags(repo: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["list-tags", "--tls-verify=false"];
    args.extend(extra);
    let r = docker(repo);
    args.push(&r);
    json(&skopeo_ok(&args))["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// Every blob of an OCI layout hashes to its name.
#[track_caller]
fn assert_layout_verifies(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    for e in std::fs::read_dir(&blobs).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        assert_eq!(sha256_hex(&std::fs::read(e.path()).unwrap()), name);
    }
}

/// A manifest's config and layer digests.
fn blobs_of(manifest: &str) -> Vec<String> {
    let m = json(manifest);
    std::iter::once(&m["config"])
        .chain(m["layers"].as_array().unwrap())
        .map(|d| d["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// One HTTP/1.1 request on a new connection: status, headers (lowercase names), body.
fn http(
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut conn = TcpStream::connect(host).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    read_response(&mut conn)
}

fn read_response(conn: &mut TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

trait Unauthorized {
    fn fails_unauthorized(self) -> Run;
}

impl Unauthorized for Run {
    /// Failed, and says why: skopeo prints the 401's status, lade the envelope's message.
    #[track_caller]
    fn fails_unauthorized(self) -> Run {
        assert_ne!(
            self.code, 0,
            "succeeded but should not have:\n{}",
            self.stdout
        );
        let e = self.stderr.to_ascii_lowercase();
        assert!(
            e.contains("unauthorized") || e.contains("authentication required"),
            "{}",
            self.stderr
        );
        self
    }
}

/// `lade pull` with no credentials but those in `t/docker/config.json`.
fn lade_pull(t: &TestRoot, args: &[&str]) -> Run {
    Run::from(
        t.lade()
            .env("DOCKER_CONFIG", t.path("docker"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .arg("pull")
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn skopeo_copies_in_and_out_inspects_lists_and_deletes() {
    let t = TestRoot::new();
    let id1 = import_image(&t, Some("example.com/team/app:v1"), 1);
    let id2 = import_image(&t, Some("example.com/team/app:v2"), 2);
    let m1 = manifest_of(&t, "example.com/team/app:v1");
    let m2 = manifest_of(&t, "example.com/team/app:v2");
    let reg = LadeRegistry::start(&t.path("registry"), &[]);

    // In: every digest stays what it was.
    for (tag, manifest) in [("v1", &m1), ("v2", &m2)] {
        let image = reg.image(&format!("team/app:{tag}"));
        skopeo_ok(&[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &oci(&t, &format!("example.com/team/app:{tag}")),
            &docker(&image),
        ]);
        let raw = raw_manifest(&image);
        assert_eq!(&digest_of(raw.as_bytes()), manifest);
        assert_eq!(raw.as_bytes(), blob(&t, manifest));
    }

    // inspect: digest, layers, tags, config.
    let image = reg.image("team/app:v1");
    let inspect = json(&skopeo_ok(&[
        "inspect",
        "--tls-verify=false",
        &docker(&image),
    ]));
    assert_eq!(inspect["Digest"], m1.as_str());
    let layers = blobs_of(&raw_manifest(&image))[1..].to_vec();
    assert_eq!(inspect["Layers"], serde_json::json!(layers));
    assert_eq!(inspect["RepoTags"], serde_json::json!(["v1", "v2"]));
    let config = skopeo_ok(&[
        "inspect",
        "--config",
        "--raw",
        "--tls-verify=false",
        &docker(&image),
    ]);
    assert_eq!(digest_of(config.as_bytes()), id1);
    let config2 = skopeo_ok(&[
        "inspect",
        "--config",
        "--raw",
        "--tls-verify=false",
        &docker(&reg.image("team/app:v2")),
    ]);
    assert_eq!(digest_of(config2.as_bytes()), id2);
    assert_eq!(
        list_tags(&reg.image("team/app"), &[]),
        ["v1".to_owned(), "v2".to_owned()]
    );

    // Out: to an OCI layout and to a dir, byte for byte.
    let out = t.path("out");
    skopeo_ok(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &docker(&image),
        &format!("oci:{}:copy", out.display()),
    ]);
    assert_layout_verifies(&out);
    let copied = skopeo_ok(&["inspect", "--raw", &format!("oci:{}:copy", out.display())]);
    assert_eq!(digest_of(copied.as_bytes()), m1);
    let dir = t.path("dir");
    skopeo_ok(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &docker(&image),
        &format!("dir:{}", dir.display()),
    ]);
    for d in blobs_of(&copied) {
        assert_eq!(
            std::fs::read(dir.join(&d[7..])).unwrap(),
            blob(&t, &d),
            "{d}"
        );
    }

    // lade pulls it back: the same image.
    let t2 = TestRoot::new();
    let run = lade_pull(&t2, &[&image]).ok();
    assert!(
        run.stderr.contains(&format!("Digest: {m1}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(manifest_of(&t2, &image), m1);
    assert_eq!(blob(&t2, &id1), blob(&t, &id1));
    assert_clean(&t2);

    // delete: that tag is gone, the other stays.
    skopeo_ok(&[
        "delete",
        "--tls-verify=false",
        &docker(&reg.image("team/app:v2")),
    ]);
    assert_eq!(list_tags(&reg.image("team/app"), &[]), ["v1".to_owned()]);
    skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &docker(&reg.image("team/app:v2")),
    ])
    .fails_with("manifest unknown");
    assert_eq!(digest_of(raw_manifest(&image).as_bytes()), m1);
}

#[test]
fn skopeo_copy_all_pushes_a_multi_arch_index_that_lade_pulls() {
    let t = TestRoot::new();
    for (arch, seed) in [("amd64", 3), ("arm64", 4)] {
        t.run_stdin(
            &[
                "import",
                "--platform",
                &format!("linux/{arch}"),
                "-",
                &format!("example.com/multi:{arch}"),
            ],
            &image_tar(seed),
        )
        .ok();
    }
    let amd = manifest_of(&t, "example.com/multi:amd64");
    let arm = manifest_of(&t, "example.com/multi:arm64");
    // A layout holding both images and an index over them.
    let layout = t.path("layout");
    for arch in ["amd64", "arm64"] {
        skopeo_ok(&[
            "copy",
            "-q",
            "--preserve-digests",
            &oci(&t, &format!("example.com/multi:{arch}")),
            &format!("oci:{}:{arch}", layout.display()),
        ]);
    }
    let entry = |digest: &str, arch: &str| {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": blob(&t, digest).len(),
            "platform": {"os": "linux", "architecture": arch},
        })
    };
    let index_bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&amd, "amd64"), entry(&arm, "arm64")],
    }))
    .unwrap();
    let index_digest = digest_of(&index_bytes);
    std::fs::write(
        layout.join("blobs/sha256").join(&index_digest[7..]),
        &index_bytes,
    )
    .unwrap();
    let mut top = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    top["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest,
            "size": index_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }));
    std::fs::write(layout.join("index.json"), top.to_string()).unwrap();

    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let image = reg.image("lade/multi:1");
    skopeo_ok(&[
        "copy",
        "-q",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", layout.display()),
        &docker(&image),
    ]);
    assert_eq!(raw_manifest(&image).as_bytes(), index_bytes);
    for m in [&amd, &arm] {
        let by_digest = reg.image(&format!("lade/multi@{m}"));
        assert_eq!(raw_manifest(&by_digest).as_bytes(), blob(&t, m));
    }
    // skopeo picks a platform from it (and shows the index's digest).
    let arm_inspect = json(&skopeo_ok(&[
        "inspect",
        "--tls-verify=false",
        "--override-os",
        "linux",
        "--override-arch",
        "arm64",
        &docker(&image),
    ]));
    assert_eq!(arm_inspect["Digest"], index_digest.as_str());
    assert_eq!(arm_inspect["Architecture"], "arm64");

    // lade pulls the platform it is asked for, and shows the index's digest.
    for (platform, manifest) in [("linux/arm64", &arm), ("linux/amd64", &amd)] {
        let t2 = TestRoot::new();
        let run = lade_pull(&t2, &["--platform", platform, &image]).ok();
        assert!(
            run.stderr.contains(&format!("Digest: {index_digest}\n")),
            "{}",
            run.stderr
        );
        assert_eq!(&manifest_of(&t2, &image), manifest, "{platform}");
        for d in blobs_of(&String::from_utf8(blob(&t2, manifest)).unwrap()) {
            assert_eq!(blob(&t2, &d), blob(&t, &d), "{platform}: {d}");
        }
        assert_clean(&t2);
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_a_restart_serves_everything() {
    let t = TestRoot::new();
    import_image(&t, Some("example.com/app:v1"), 5);
    let manifest = manifest_of(&t, "example.com/app:v1");
    let storage = t.path("registry");
    let mut reg = LadeRegistry::start(&storage, &[]);
    skopeo_ok(&[
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &oci(&t, "example.com/app:v1"),
        &docker(&reg.image("app:v1")),
    ]);

    // An upload session with a first chunk.
    let data = noise(3000, 9);
    let (status, headers, _) = http(&reg.host, "POST", "/v2/app/blobs/uploads/", &[], b"");
    assert_eq!(status, 202);
    let location = header(&headers, "location").unwrap().to_owned();
    let (status, headers, _) = http(
        &reg.host,
        "PATCH",
        &location,
        &[("Content-Range", "0-999")],
        &data[..1000],
    );
    assert_eq!(status, 202);
    assert_eq!(header(&headers, "range"), Some("0-999"));

    // A second chunk is in flight when SIGTERM arrives: it still finishes.
    let mut conn = TcpStream::connect(&reg.host).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(
        format!(
            "PATCH {location} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Range: 1000-1999\r\nContent-Length: 1000\r\n\r\n",
            reg.host
        )
        .as_bytes(),
    )
    .unwrap();
    conn.write_all(&data[1000..1500]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    reg.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&data[1500..2000]).unwrap();
    let (status, headers, _) = read_response(&mut conn);
    assert_eq!(status, 202, "{}", reg.log());
    assert_eq!(header(&headers, "range"), Some("0-1999"));
    let exit = reg
        .wait(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", reg.log()));
    assert_eq!(exit.code(), Some(0), "{}", reg.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    assert!(
        TcpStream::connect(&reg.host).is_err(),
        "still accepting after exit"
    );

    // A restart on the same storage serves everything again.
    let reg = LadeRegistry::start(&storage, &[]);
    let image = reg.image("app:v1");
    assert_eq!(digest_of(raw_manifest(&image).as_bytes()), manifest);
    assert_eq!(list_tags(&reg.image("app"), &[]), ["v1".to_owned()]);
    let out = t.path("out");
    skopeo_ok(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &docker(&image),
        &format!("oci:{}:v1", out.display()),
    ]);
    assert_layout_verifies(&out);
    let (status, _, body) = http(&reg.host, "GET", "/v2/_catalog", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        json(&String::from_utf8(body).unwrap())["repositories"],
        serde_json::json!(["app"])
    );
    // …and the upload resumes where it stopped.
    let (status, headers, _) = http(&reg.host, "GET", &location, &[], b"");
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "range"), Some("0-1999"));
    let d = digest_of(&data);
    let (status, headers, _) = http(
        &reg.host,
        "PUT",
        &format!("{location}?digest={d}"),
        &[("Content-Range", "2000-2999")],
        &data[2000..],
    );
    assert_eq!(status, 201, "{}", reg.log());
    assert_eq!(header(&headers, "docker-content-digest"), Some(d.as_str()));
    let (status, _, body) = http(&reg.host, "GET", &format!("/v2/app/blobs/{d}"), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(body, data);
}

#[test]
fn htpasswd_from_a_config_file() {
    let t = TestRoot::new();
    import_image(&t, Some("example.com/app:v1"), 6);
    let manifest = manifest_of(&t, "example.com/app:v1");
    let htpasswd = t.path("htpasswd");
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).unwrap();
    let config = t.path("registry.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nhtpasswd = \"{}\"\nanonymous_pull = [\"public/*\"]\n",
            htpasswd.display()
        ),
    )
    .unwrap();
    let reg = LadeRegistry::start(&t.path("registry"), &["--config", config.to_str().unwrap()]);
    let src = oci(&t, "example.com/app:v1");
    let copy = |dest: &str, creds: Option<&str>| {
        let mut args = vec!["copy", "-q", "--dest-tls-verify=false"];
        let c;
        if let Some(creds) = creds {
            c = format!("--dest-creds={creds}");
            args.push(&c);
        }
        let d = docker(&reg.image(dest));
        args.extend([src.as_str(), d.as_str()]);
        skopeo(&args)
    };

    // The health probe answers without credentials; the API does not.
    let (status, _, body) = http(&reg.host, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, headers, _) = http(&reg.host, "GET", "/v2/", &[], b"");
    assert_eq!(status, 401);
    assert!(header(&headers, "www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    // Without credentials, or with wrong ones: refused, nothing stored.
    copy("private/app:v1", None).fails_unauthorized();
    copy("private/app:v1", Some("alice:wrong")).fails_unauthorized();
    copy("private/app:v1", Some("mallory:s3cret")).fails_unauthorized();
    assert!(
        !t.path("registry/repos/private").exists(),
        "a refused push stored something"
    );
    // With them: pushed, byte for byte.
    copy("private/app:v1", Some("alice:s3cret")).ok();
    copy("public/app:v1", Some("alice:s3cret")).ok();
    let private = docker(&reg.image("private/app:v1"));
    skopeo(&["inspect", "--raw", "--tls-verify=false", &private]).fails_unauthorized();
    skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds=alice:wrong",
        &private,
    ])
    .fails_unauthorized();
    let raw = skopeo_ok(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds=alice:s3cret",
        &private,
    ]);
    assert_eq!(digest_of(raw.as_bytes()), manifest);
    assert_eq!(
        list_tags(&reg.image("private/app"), &["--creds=alice:s3cret"]),
        ["v1".to_owned()]
    );
    // Anyone may pull public/*.
    assert_eq!(
        digest_of(raw_manifest(&reg.image("public/app:v1")).as_bytes()),
        manifest
    );

    // lade pulls with the credentials of a Docker config file, and not without.
    let t2 = TestRoot::new();
    let image = reg.image("private/app:v1");
    lade_pull(&t2, &[&image]).fails_unauthorized();
    std::fs::create_dir_all(t2.path("docker")).unwrap();
    let auth = sh("printf %s alice:s3cret | base64").trim().to_owned();
    std::fs::write(
        t2.path("docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    lade_pull(&t2, &[&image]).ok();
    assert_eq!(manifest_of(&t2, &image), manifest);
    assert_clean(&t2);
}

#[test]
fn an_upload_session_is_bound_to_its_repository() {
    let t = TestRoot::new();
    let reg = LadeRegistry::start(&t.path("registry"), &[]);
    let (status, headers, _) = http(&reg.host, "POST", "/v2/team/a/blobs/uploads/", &[], b"");
    assert_eq!(status, 202);
    let location = header(&headers, "location").unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    // The same session id under another repository is unknown there: nothing written.
    for (method, body) in [("PATCH", &b"evil"[..]), ("GET", b""), ("DELETE", b"")] {
        let (status, _, body) = http(
            &reg.host,
            method,
            &format!("/v2/team/b/blobs/uploads/{id}"),
            &[],
            body,
        );
        assert_eq!(status, 404, "{method}");
        assert!(
            String::from_utf8_lossy(&body).contains("BLOB_UPLOAD_UNKNOWN"),
            "{method}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let data = b"hello layer";
    let digest = digest_of(data);
    let (status, _, _) = http(
        &reg.host,
        "PUT",
        &format!("/v2/team/b/blobs/uploads/{id}?digest={digest}"),
        &[],
        data,
    );
    assert_eq!(status, 404);
    let (status, _, _) = http(
        &reg.host,
        "HEAD",
        &format!("/v2/team/b/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(status, 404, "no blob appeared in the other repository");
    // Its own repository completes it.
    let (status, _, body) = http(
        &reg.host,
        "PUT",
        &format!("{location}?digest={digest}"),
        &[],
        data,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = http(
        &reg.host,
        "GET",
        &format!("/v2/team/a/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!((status, body.as_slice()), (200, &data[..]));
}

#[test]
fn registry_check_finds_and_repairs_damage() {
    let t = TestRoot::new();
    let storage = t.path("registry");
    let reg = LadeRegistry::start(&storage, &[]);
    let (one, two) = (reg.image("check/one:1"), reg.image("check/two:1"));
    import_image(&t, Some(&one), 61);
    import_image(&t, Some(&two), 62);
    t.run(&["push", "-q", &one]).ok();
    t.run(&["push", "-q", &two]).ok();
    let check = |repair: bool| {
        let mut args = vec!["registry", "check", "--storage", storage.to_str().unwrap()];
        if repair {
            args.push("--repair");
        }
        t.run(&args)
    };
    let clean = check(false).ok();
    assert!(
        clean.stdout.contains("2 manifests: 0 problems"),
        "{}",
        clean.stdout
    );

    // One layer of `one` rots on disk; a tag of `two` names a manifest that is not there.
    let manifest = json(std::str::from_utf8(&blob(&t, &manifest_of(&t, &one))).unwrap());
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let path = storage
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let ghost = format!("sha256:{}", "ab".repeat(32));
    std::fs::write(storage.join("repos/check/two/_tags/ghost"), &ghost).unwrap();

    let found = check(false);
    assert_eq!(found.code, 1, "{}{}", found.stdout, found.stderr);
    assert!(
        found.stdout.contains(&format!("corrupt blob {layer}")),
        "{}",
        found.stdout
    );
    assert!(
        found.stdout.contains(&format!(
            "manifest check/one@{} references missing {layer}",
            manifest_of(&t, &one)
        )),
        "{}",
        found.stdout
    );
    assert!(
        found.stdout.contains("tag check/two:ghost names"),
        "{}",
        found.stdout
    );
    assert!(found.stderr.contains("--repair"), "{}", found.stderr);
    // A check changes nothing.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let repaired = check(true).ok();
    assert!(
        repaired.stdout.contains("repaired: deleted corrupt blob"),
        "{}",
        repaired.stdout
    );
    assert!(!path.exists());
    let again = check(false).ok();
    assert!(
        again.stdout.contains("1 manifests: 0 problems"),
        "{}",
        again.stdout
    );
    // The damaged image is gone (not served half), the sound one still pulls whole, and
    // pushing the damaged one again makes the registry whole.
    let (status, _, _) = http(&reg.host, "GET", "/v2/check/one/manifests/1", &[], b"");
    assert_eq!(status, 404);
    let t2 = TestRoot::new();
    t2.run(&["pull", "-q", &two]).ok();
    t.run(&["push", "-q", &one]).ok();
    t2.run(&["pull", "-q", &one]).ok();
    assert_eq!(manifest_of(&t2, &one), manifest_of(&t, &one));
    assert!(check(false).ok().stdout.contains("2 manifests: 0 problems"));
}
