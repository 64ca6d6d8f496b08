//! Network faults (issue 9): `lade pull` and `lade push` through a proxy that breaks
//! the conversation with the real CNCF registry (Debian's `docker-registry`) on purpose
//! (`fault_proxy.rs`): dropped and reset connections, stalls, injected 5xx and 429,
//! truncated bodies, lying `Content-Length`, flipped bytes. Every run either succeeds
//! with content whose digests verify, or fails with a clear `Error:` (no panic) and
//! leaves the store undamaged; a retry without faults then completes.

use std::time::{Duration, Instant};

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::registry_support::*;
use crate::support::*;

/// `lade pull|push …` with no credentials but the test's own.
fn lade(t: &TestRoot, args: &[&str]) -> Run {
    Run::from(
        t.lade()
            .env("DOCKER_CONFIG", t.path("docker"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A failure a person can act on: exit 1, Docker's `Error:` line, no panic, no Rust
/// debug output.
#[track_caller]
fn assert_clear_failure(run: &Run, what: &str) {
    assert_eq!(run.code, 1, "{what}: exit {}\n{}", run.code, run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("Error: ")),
        "{what}:\n{}",
        run.stderr
    );
    for bad in ["panicked", "RUST_BACKTRACE", "Os {", "Custom {"] {
        assert!(!run.stderr.contains(bad), "{what}:\n{}", run.stderr);
    }
}

/// No damage: `system check` exits 0 and finds nothing corrupt or missing.
#[track_caller]
fn assert_undamaged(t: &TestRoot, what: &str) {
    let check = t.run(&["system", "check"]);
    assert_eq!(check.code, 0, "{what}:\n{}{}", check.stdout, check.stderr);
    assert!(
        !check.stdout.contains("corrupt") && !check.stdout.contains("missing"),
        "{what}:\n{}",
        check.stdout
    );
}

/// What a run did: `(faults injected, succeeded)`.
type Tally = (usize, bool);

/// The image the pull tests serve: two layers and a config, ~1.5 MB.
fn sample() -> Image {
    Image::new(
        "amd64",
        &[
            tarball(&[("big", &noise(1_000_000, 91))]),
            tarball(&[("small", &noise(300_000, 92))]),
        ],
    )
}

/// One pull scenario: `rules` in the proxy, then `lade pull`; success must bring the
/// exact image, failure must be clear; either way a pull without faults completes.
fn pull_case(proxy: &FaultProxy, image: &Image, name: &str, rules: Vec<Rule>) -> Tally {
    let t = TestRoot::new();
    let before = proxy.injected();
    proxy.clear();
    for r in rules {
        proxy.add(r);
    }
    let reference = proxy.image("faults/app:1");
    let start = Instant::now();
    let run = lade(&t, &["pull", &reference]);
    let injected = proxy.injected() - before;
    assert!(
        injected > 0,
        "{name}: no fault was injected\n{}",
        run.stderr
    );
    let ok = run.code == 0;
    if ok {
        assert_eq!(manifest_of(&t, &reference), image.digest(), "{name}");
    } else {
        assert_clear_failure(&run, name);
    }
    eprintln!(
        "pull {name}: {injected} faults, {} in {:?}{}",
        if ok { "succeeded" } else { "failed" },
        start.elapsed(),
        if ok {
            String::new()
        } else {
            format!(
                ": {}",
                run.stderr
                    .lines()
                    .find(|l| l.starts_with("Error:"))
                    .unwrap_or("")
            )
        }
    );
    assert_undamaged(&t, name);
    // The network was at fault, not the store: no hint may send the user to repair it.
    assert!(!run.stderr.contains("--repair"), "{name}:\n{}", run.stderr);
    proxy.clear();
    let again = lade(&t, &["pull", &reference]).ok();
    assert!(
        again.stdout.contains(&reference),
        "{name}: {}",
        again.stdout
    );
    assert_eq!(manifest_of(&t, &reference), image.digest(), "{name}");
    for (d, bytes) in image.blobs() {
        assert_eq!(blob(&t, &d), bytes, "{name}: blob {d}");
    }
    assert_clean(&t);
    (injected, ok)
}

#[test]
fn pulls_through_faults_verify_or_fail_clearly() {
    let reg = DockerRegistry::start();
    let scratch = TestRoot::new();
    let layout = Layout::new(scratch.path("layout"));
    let image = sample();
    layout.add_image("app", &image);
    skopeo_push(
        &layout.source("app"),
        &reg.image("faults/app:1"),
        &["--preserve-digests"],
    );
    let proxy = FaultProxy::start(&reg.host);
    let big = image.layer_digest(0);
    let config = image.config_digest();
    let zero = || vec![("Retry-After".to_owned(), "0".to_owned())];
    let cases: Vec<(&str, Vec<Rule>)> = vec![
        (
            "reset on the manifest",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::Reset)],
        ),
        (
            "reset on every manifest request",
            vec![Rule::new(None, "/manifests/", Fault::Reset).times(20)],
        ),
        (
            "500 on the manifest, then fine",
            vec![Rule::new(None, "/manifests/", Fault::Status(500, vec![])).times(2)],
        ),
        (
            "503 for good on the manifest",
            vec![Rule::new(None, "/manifests/", Fault::Status(503, zero())).times(20)],
        ),
        (
            "429 with Retry-After on a layer",
            vec![Rule::new(
                Some("GET"),
                &big,
                Fault::Status(429, vec![("Retry-After".into(), "1".into())]),
            )],
        ),
        (
            "429 eight times on a layer",
            vec![Rule::new(Some("GET"), &big, Fault::Status(429, zero())).times(8)],
        ),
        (
            "502 on the config",
            vec![Rule::new(Some("GET"), &config, Fault::Status(502, vec![]))],
        ),
        (
            "manifest cut in its head",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::DropAfter(40))],
        ),
        (
            "manifest truncated",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::Truncate)],
        ),
        (
            "manifest with a flipped byte",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::Corrupt)],
        ),
        (
            "manifest longer than declared",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::LieLength(-20))],
        ),
        (
            "manifest shorter than declared",
            vec![Rule::new(Some("GET"), "/manifests/", Fault::LieLength(20))],
        ),
        (
            "manifest stalls 1.5 s",
            vec![Rule::new(
                Some("GET"),
                "/manifests/",
                Fault::Stall(Duration::from_millis(1500)),
            )],
        ),
        (
            "layer dropped after 300 kB",
            vec![Rule::new(Some("GET"), &big, Fault::DropAfter(300_000))],
        ),
        (
            "layer dropped three times at different points",
            vec![
                Rule::new(Some("GET"), &big, Fault::DropAfter(100_000)),
                Rule::new(Some("GET"), &big, Fault::DropAfter(200)),
                Rule::new(Some("GET"), &big, Fault::DropAfter(50_000)),
            ],
        ),
        (
            "layer truncated",
            vec![Rule::new(Some("GET"), &big, Fault::Truncate)],
        ),
        (
            "layer declared 1000 bytes longer",
            vec![Rule::new(Some("GET"), &big, Fault::LieLength(1000))],
        ),
        (
            "layer declared 1000 bytes shorter",
            vec![Rule::new(Some("GET"), &big, Fault::LieLength(-1000))],
        ),
        (
            "layer with a flipped byte",
            vec![Rule::new(Some("GET"), &big, Fault::Corrupt)],
        ),
        (
            "config with a flipped byte",
            vec![Rule::new(Some("GET"), &config, Fault::Corrupt)],
        ),
        (
            "reset on a layer, twice",
            vec![Rule::new(Some("GET"), &big, Fault::Reset).times(2)],
        ),
        (
            "layer stalls mid-body",
            vec![Rule::new(
                Some("GET"),
                &big,
                Fault::StallMidBody {
                    after: 400_000,
                    pause: Duration::from_millis(1200),
                },
            )],
        ),
    ];
    let mut injected = 0;
    let mut succeeded = 0;
    let mut failed = 0;
    for (name, rules) in cases {
        let (n, ok) = pull_case(&proxy, &image, name, rules);
        injected += n;
        if ok {
            succeeded += 1;
        } else {
            failed += 1;
        }
    }
    eprintln!(
        "pull faults: {injected} injected; {succeeded} pulls succeeded with verified content, \
         {failed} failed clearly; every retry completed"
    );
}

/// One push scenario: a new image (so that its blobs really go up), `rules`, `lade push`;
/// then a push without faults, and a pull straight from the registry proves what it holds.
fn push_case(
    reg: &DockerRegistry,
    proxy: &FaultProxy,
    t: &TestRoot,
    seed: u64,
    name: &str,
    rules: Vec<Rule>,
) -> Tally {
    let reference = proxy.image(&format!("faults/push{seed}:1"));
    let tar = tarball(&[("data", &noise(600_000, seed)), ("name", name.as_bytes())]);
    t.run_stdin(&["import", "-", &reference], &tar).ok();
    let local = manifest_of(t, &reference);
    let before = proxy.injected();
    proxy.clear();
    for r in rules {
        proxy.add(r);
    }
    let start = Instant::now();
    let run = lade(t, &["push", &reference]);
    let injected = proxy.injected() - before;
    assert!(
        injected > 0,
        "{name}: no fault was injected\n{}",
        run.stderr
    );
    let ok = run.code == 0;
    if ok {
        assert!(run.stdout.contains(&local), "{name}: {}", run.stdout);
    } else {
        assert_clear_failure(&run, name);
    }
    eprintln!(
        "push {name}: {injected} faults, {} in {:?}{}",
        if ok { "succeeded" } else { "failed" },
        start.elapsed(),
        if ok {
            String::new()
        } else {
            format!(
                ": {}",
                run.stderr
                    .lines()
                    .find(|l| l.starts_with("Error:"))
                    .unwrap_or("")
            )
        }
    );
    assert_undamaged(t, name);
    proxy.clear();
    lade(t, &["push", &reference]).ok();
    // What the registry holds, read without the proxy, is what was pushed.
    let direct = reg.image(&format!("faults/push{seed}:1"));
    assert_eq!(digest_of(&skopeo_raw(&direct)), local, "{name}");
    let check = TestRoot::new();
    lade(&check, &["pull", &direct]).ok();
    assert_eq!(manifest_of(&check, &direct), local, "{name}");
    assert_clean(&check);
    (injected, ok)
}

#[test]
fn pushes_through_faults_verify_or_fail_clearly() {
    let reg = DockerRegistry::start();
    let proxy = FaultProxy::start(&reg.host);
    let t = TestRoot::new();
    let zero = || vec![("Retry-After".to_owned(), "0".to_owned())];
    let cases: Vec<(&str, Vec<Rule>)> = vec![
        (
            "500 on starting an upload",
            vec![Rule::new(
                Some("POST"),
                "/blobs/uploads/",
                Fault::Status(500, vec![]),
            )],
        ),
        (
            "429 on starting an upload",
            vec![Rule::new(Some("POST"), "/blobs/uploads/", Fault::Status(429, zero())).times(2)],
        ),
        (
            "reset on the blob PUT",
            vec![Rule::new(Some("PUT"), "/blobs/uploads/", Fault::Reset)],
        ),
        (
            "blob PUT answered then cut",
            vec![Rule::new(
                Some("PUT"),
                "/blobs/uploads/",
                Fault::DropAfter(12),
            )],
        ),
        (
            "503 on the blob PUT",
            vec![Rule::new(
                Some("PUT"),
                "/blobs/uploads/",
                Fault::Status(503, zero()),
            )],
        ),
        (
            "reset on a blob HEAD",
            vec![Rule::new(Some("HEAD"), "/blobs/sha256:", Fault::Reset)],
        ),
        (
            "blob HEAD cut",
            vec![Rule::new(
                Some("HEAD"),
                "/blobs/sha256:",
                Fault::DropAfter(10),
            )],
        ),
        (
            "upload start declares a body it does not send",
            vec![Rule::new(
                Some("POST"),
                "/blobs/uploads/",
                Fault::LieLength(50),
            )],
        ),
        (
            "500 on the manifest PUT",
            vec![Rule::new(
                Some("PUT"),
                "/manifests/",
                Fault::Status(500, vec![]),
            )],
        ),
        (
            "503 for good on the manifest PUT",
            vec![Rule::new(Some("PUT"), "/manifests/", Fault::Status(503, zero())).times(20)],
        ),
        (
            "reset on the manifest PUT",
            vec![Rule::new(Some("PUT"), "/manifests/", Fault::Reset)],
        ),
        (
            "manifest PUT answered then cut",
            vec![Rule::new(Some("PUT"), "/manifests/", Fault::DropAfter(15))],
        ),
        (
            "blob PUT stalls 1.5 s",
            vec![Rule::new(
                Some("PUT"),
                "/blobs/uploads/",
                Fault::Stall(Duration::from_millis(1500)),
            )],
        ),
        (
            "429 for good on every upload",
            vec![Rule::new(Some("POST"), "/blobs/uploads/", Fault::Status(429, zero())).times(50)],
        ),
    ];
    let mut injected = 0;
    let mut succeeded = 0;
    let mut failed = 0;
    for (i, (name, rules)) in cases.into_iter().enumerate() {
        let (n, ok) = push_case(&reg, &proxy, &t, 300 + i as u64, name, rules);
        injected += n;
        if ok {
            succeeded += 1;
        } else {
            failed += 1;
        }
    }
    eprintln!(
        "push faults: {injected} injected; {succeeded} pushes succeeded and verified, \
         {failed} failed clearly; every retry completed"
    );
}

/// A chunked upload (a layer over 64 MiB) whose chunk answers are lost: the first
/// `PATCH` reached the registry but its answer was cut, the second was reset before it
/// got there. lade never sends a chunk again blindly (the CNCF registry may append it
/// twice): after each failure it asks the session where it stands, and goes on from
/// there. The registry ends up with exactly the layer's bytes.
#[test]
fn a_chunked_push_asks_where_the_upload_stands_before_sending_again() {
    let reg = DockerRegistry::start();
    let proxy = FaultProxy::start(&reg.host);
    let t = TestRoot::new();
    let reference = proxy.image("faults/chunks:1");
    let tar = tarball(&[("data", &noise(70 << 20, 77))]);
    t.run_stdin(&["import", "-", &reference], &tar).ok();
    drop(tar);
    let local = manifest_of(&t, &reference);
    proxy.add(Rule::new(
        Some("PATCH"),
        "/blobs/uploads/",
        Fault::DropAfter(10),
    ));
    proxy.add(Rule::new(Some("PATCH"), "/blobs/uploads/", Fault::Reset).skip(1));
    let run = lade(&t, &["push", &reference]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(proxy.injected(), 2, "both faults were injected");
    assert!(run.stdout.contains(&local), "{}", run.stdout);

    // After each faulted PATCH, the next request on the upload is a GET of its state.
    let log = proxy.log();
    let uploads: Vec<_> = log
        .iter()
        .filter(|e| e.path.contains("/blobs/uploads/") && e.method != "POST")
        .collect();
    let mut faulted = 0;
    for (i, e) in uploads.iter().enumerate() {
        if e.method == "PATCH" && e.fault.is_some() {
            faulted += 1;
            let next = uploads
                .get(i + 1)
                .expect("something follows a faulted PATCH");
            assert_eq!(next.method, "GET", "after a faulted PATCH: {uploads:#?}");
        }
    }
    assert_eq!(faulted, 2);

    // Read straight from the registry, the image is whole.
    let direct = reg.image("faults/chunks:1");
    assert_eq!(digest_of(&skopeo_raw(&direct)), local);
    let check = TestRoot::new();
    lade(&check, &["pull", &direct]).ok();
    assert_eq!(manifest_of(&check, &direct), local);
    assert_clean(&check);
}
