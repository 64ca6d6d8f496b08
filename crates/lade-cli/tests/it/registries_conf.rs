//! registries.conf as podman reads it (issue 8): short-name aliases (and podman's
//! `short-name-aliases.conf` over them), the search order of unqualified-search
//! registries (the first missing the image), enforcing mode without a prompt, a blocked
//! registry, a mirror that is down and one that serves, `insecure` for a host and for a
//! `*.` wildcard prefix, and `credential-helpers` ordering a real helper program and
//! the auth files, all on loopback registries started here.
//! `$CONTAINERS_REGISTRIES_CONF` names the one file read; `$HOME` is the test's own,
//! and `$LADE_SHORT_NAME_ALIASES_CONF` points at the test's (usually missing)
//! `short-name-aliases.conf`, whatever user runs the tests.

use std::path::{Path, PathBuf};

use crate::registry_support::*;
use crate::support::*;

/// `lade ARGS` reading registries.conf from `conf` alone, with a `$HOME` and a Docker
/// config of the test's own (no credentials).
pub fn lade_conf(t: &TestRoot, conf: &Path, args: &[&str]) -> Run {
    Run::from(
        t.lade()
            .env("CONTAINERS_REGISTRIES_CONF", conf)
            .env("HOME", t.path("home"))
            .env("DOCKER_CONFIG", t.path("docker"))
            .env(
                "LADE_SHORT_NAME_ALIASES_CONF",
                t.path("short-name-aliases.conf"),
            )
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CACHE_HOME")
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Writes registries.conf `text` into the test's directory; returns its path.
pub fn write_conf(t: &TestRoot, name: &str, text: &str) -> PathBuf {
    let path = t.path(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Imports a small image as `image` (content from `seed`) and pushes it there; returns
/// its manifest digest.
pub fn push_image(t: &TestRoot, image: &str, seed: u64, extra: &[&str]) -> String {
    let mut args = vec!["import"];
    args.extend(extra);
    args.extend(["-", image]);
    t.run_stdin(&args, &image_tar(seed)).ok();
    let empty = write_conf(t, "empty.conf", "");
    lade_conf(t, &empty, &["push", image]).ok();
    manifest_of(t, &with_tag(image))
}

/// A port on 127.0.0.1 where nothing listens.
pub fn dead_host() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

/// `image` with `:latest` when it has no tag, as the store's index names it.
fn with_tag(image: &str) -> String {
    if image.rsplit('/').next().unwrap().contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

#[test]
fn an_alias_names_the_image_and_says_so() {
    let src = TestRoot::new();
    let reg = LadeRegistry::start(&src.path("registry"), &[]);
    let digest = push_image(&src, &reg.image("team/app:1"), 1, &[]);

    let t = TestRoot::new();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "unqualified-search-registries = [\"{}\"]\n\n[aliases]\n\"myapp\" = \"{}\"\n",
            dead_host(),
            reg.image("team/app")
        ),
    );
    let run = lade_conf(&t, &conf, &["pull", "myapp:1"]).ok();
    let image = reg.image("team/app:1");
    assert_eq!(run.stdout, format!("{image}\n"));
    assert!(
        run.stderr.contains(&format!(
            "Resolved \"myapp\" as an alias ({})\nTrying to pull {image}...\n",
            conf.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("Status: Downloaded newer image for {image}"))
    );
    assert_eq!(manifest_of(&t, &image), digest);
    assert_clean(&t);

    // A fully qualified name is not resolved and says nothing of it.
    let again = lade_conf(&t, &conf, &["pull", &image]).ok();
    assert!(!again.stderr.contains("Resolv"), "{}", again.stderr);
    assert!(again.stderr.contains("Status: Image is up to date"));
}

#[test]
fn search_registries_are_tried_in_order_and_the_first_that_has_the_image_wins() {
    let src = TestRoot::new();
    let empty = LadeRegistry::start(&src.path("empty"), &[]);
    let full = LadeRegistry::start(&src.path("full"), &[]);
    let digest = push_image(&src, &full.image("team/app"), 2, &[]);

    let t = TestRoot::new();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "unqualified-search-registries = [\"{}\", \"{}\"]\n",
            empty.host, full.host
        ),
    );
    let run = lade_conf(&t, &conf, &["pull", "team/app"]).ok();
    let first = empty.image("team/app:latest");
    let second = full.image("team/app:latest");
    assert_eq!(run.stdout, format!("{second}\n"));
    let expected = format!(
        "Using default tag: latest\nResolving \"team/app\" using unqualified-search registries ({})\nTrying to pull {first}...\nTrying to pull {second}...\n",
        conf.display()
    );
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert_eq!(manifest_of(&t, &second), digest);
    // Nothing is named after the registry that did not have it.
    let images = t
        .run(&["images", "--format", "{{.Repository}}"])
        .ok()
        .stdout;
    assert_eq!(images, format!("{}\n", full.image("team/app")));
    assert_clean(&t);

    // Neither has it: every error is shown.
    let none = lade_conf(&t, &conf, &["pull", "team/missing"]);
    let none = none.fails_with("2 errors occurred while pulling:");
    assert!(
        none.stderr.contains(&empty.image("team/missing")),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains(&full.image("team/missing")),
        "{}",
        none.stderr
    );

    // In enforcing mode, lade does not guess (and never prompts).
    let enforcing = write_conf(
        &t,
        "enforcing.conf",
        &format!(
            "unqualified-search-registries = [\"{}\", \"{}\"]\nshort-name-mode = \"enforcing\"\n",
            empty.host, full.host
        ),
    );
    let before = t.snapshot();
    let refused = lade_conf(&t, &enforcing, &["pull", "team/app:2"]).fails_with(&format!(
        "short name \"team/app\" could be {} or {}: short-name-mode is \"enforcing\" in {}",
        empty.image("team/app:2"),
        full.image("team/app:2"),
        enforcing.display()
    ));
    assert!(
        refused.stderr.contains("hint: name the registry"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("Trying to pull"),
        "{}",
        refused.stderr
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_blocked_registry_is_refused_before_any_request() {
    let fake = FakeRegistry::start();
    fake.push("team/app", "1", &Image::noisy(2_000, 3));
    let t = TestRoot::new();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "[[registry]]\nlocation = \"{}\"\nblocked = true\n",
            fake.host()
        ),
    );
    let run = lade_conf(&t, &conf, &["pull", &fake.image("team/app:1")]).fails_with(&format!(
        "registry {} is blocked in registries.conf ({})",
        fake.host(),
        conf.display()
    ));
    assert!(
        run.stderr.contains("hint: remove `blocked = true`"),
        "{}",
        run.stderr
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    // As a search registry too: the blocked one is skipped with its error.
    let conf = write_conf(
        &t,
        "search.conf",
        &format!(
            "unqualified-search-registries = [\"{0}\"]\n[[registry]]\nprefix = \"{0}/team\"\nlocation = \"{0}/team\"\nblocked = true\n",
            fake.host()
        ),
    );
    lade_conf(&t, &conf, &["pull", "team/app:1"]).fails_with("is blocked in registries.conf");
    assert!(fake.requests().is_empty());
}

#[test]
fn a_mirror_that_is_down_falls_back_to_the_registry() {
    let src = TestRoot::new();
    let reg = LadeRegistry::start(&src.path("registry"), &[]);
    let image = reg.image("team/app:1");
    let digest = push_image(&src, &image, 4, &[]);
    let t = TestRoot::new();
    let down = dead_host();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "[[registry]]\nlocation = \"{}\"\n\n[[registry.mirror]]\nlocation = \"{down}/cache\"\n",
            reg.host
        ),
    );
    let started = std::time::Instant::now();
    let run = lade_conf(&t, &conf, &["pull", &image]).ok();
    assert_eq!(run.stdout, format!("{image}\n"));
    assert!(
        run.stderr.contains(&format!(
            "WARNING: failed to pull {image} from mirror {down}/cache/team/app, trying {}/team/app:",
            reg.host
        )),
        "{}",
        run.stderr
    );
    assert_eq!(manifest_of(&t, &image), digest);
    // A mirror that is down costs little: it is not retried as patiently.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_clean(&t);
}

#[test]
fn a_mirror_that_serves_is_used_and_the_image_keeps_the_registrys_name() {
    let mirror = FakeRegistry::start();
    let img = Image::noisy(3_000, 5);
    mirror.push("cache/team/app", "1", &img);
    // The registry itself is not even running: everything comes from the mirror.
    let origin = dead_host();
    let t = TestRoot::new();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "[[registry]]\nlocation = \"{origin}\"\n\n[[registry.mirror]]\nlocation = \"{}/cache\"\n",
            mirror.host()
        ),
    );
    let image = format!("{origin}/team/app:1");
    let run = lade_conf(&t, &conf, &["pull", &image]).ok();
    assert_eq!(run.stdout, format!("{image}\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);
    assert_eq!(manifest_of(&t, &image), img.digest());
    let asked: Vec<String> = mirror
        .requests_to("/v2/cache/team/app/manifests/")
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(
        asked,
        [
            "HEAD /v2/cache/team/app/manifests/1".to_owned(),
            format!("GET /v2/cache/team/app/manifests/{}", img.digest())
        ]
    );
    assert!(!mirror.requests_to("/blobs/").is_empty());
    let inspect = json(&t.run(&["inspect", &image]).ok().stdout);
    assert_eq!(
        inspect[0]["RepoDigests"][0],
        format!("{origin}/team/app@{}", img.digest())
    );
    assert_clean(&t);

    // pull-from-mirror = "digest-only": a pull by tag goes to the registry alone.
    let t2 = TestRoot::new();
    let digest_only = write_conf(
        &t2,
        "registries.conf",
        &format!(
            "[[registry]]\nlocation = \"{origin}\"\n\n[[registry.mirror]]\nlocation = \"{}/cache\"\npull-from-mirror = \"digest-only\"\n",
            mirror.host()
        ),
    );
    let seen = mirror.requests().len();
    lade_conf(&t2, &digest_only, &["pull", &image]).fails_with("failed to connect");
    assert_eq!(mirror.requests().len(), seen);
    let by_digest = format!("{origin}/team/app@{}", img.digest());
    let run = lade_conf(&t2, &digest_only, &["pull", &by_digest]).ok();
    assert_eq!(run.stdout, format!("{by_digest}\n"));
    assert!(mirror.requests().len() > seen);
    assert_clean(&t2);
}

#[test]
fn a_mirror_of_docker_hub_serves_short_names() {
    // Docker only allows Hub mirrors; here the Hub's prefix moves to a loopback mirror.
    let mirror = FakeRegistry::start();
    let img = Image::noisy(1_500, 6);
    mirror.push("hub/library/redis", "7", &img);
    let t = TestRoot::new();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "[[registry]]\nprefix = \"docker.io\"\nlocation = \"{}\"\n\n[[registry.mirror]]\nlocation = \"{}/hub\"\n",
            dead_host(),
            mirror.host()
        ),
    );
    let run = lade_conf(&t, &conf, &["pull", "redis:7"]).ok();
    assert_eq!(run.stdout, "docker.io/library/redis:7\n");
    assert!(
        run.stderr
            .contains("Status: Downloaded newer image for redis:7")
    );
    assert_eq!(manifest_of(&t, "docker.io/library/redis:7"), img.digest());
}

#[test]
fn the_configuration_file_must_be_readable_and_valid() {
    let t = TestRoot::new();
    let missing = t.path("nowhere.conf");
    lade_conf(&t, &missing, &["pull", "redis"]).fails_with("nowhere.conf");
    let bad = write_conf(&t, "bad.conf", "short-name-mode = \"prompt\"\n");
    lade_conf(&t, &bad, &["pull", "redis"]).fails_with(&format!(
        "invalid registries configuration {}: invalid short-name-mode \"prompt\"",
        bad.display()
    ));
    let syntax = write_conf(&t, "syntax.conf", "[[registry]\n");
    lade_conf(&t, &syntax, &["pull", "redis"]).fails_with("is not valid TOML: line 1");
}

#[test]
fn the_users_own_registries_conf_and_drop_ins_are_read() {
    let src = TestRoot::new();
    let reg = LadeRegistry::start(&src.path("registry"), &[]);
    push_image(&src, &reg.image("team/tool:2"), 7, &[]);
    let t = TestRoot::new();
    let dir = t.path("home/.config/containers/registries.conf.d");
    std::fs::create_dir_all(&dir).unwrap();
    // The user's file replaces the system's; its drop-in overrides its alias.
    std::fs::write(
        t.path("home/.config/containers/registries.conf"),
        "unqualified-search-registries = [\"docker.io\"]\n[aliases]\n\"tool\" = \"quay.io/nobody/tool\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("50-tool.conf"),
        format!("[aliases]\n\"tool\" = \"{}\"\n", reg.image("team/tool")),
    )
    .unwrap();
    let run = Run::from(
        t.lade()
            .env_remove("CONTAINERS_REGISTRIES_CONF")
            .env("HOME", t.path("home"))
            .env("DOCKER_CONFIG", t.path("docker"))
            .args(["pull", "tool:2"])
            .output()
            .unwrap(),
    )
    .ok();
    assert_eq!(run.stdout, format!("{}\n", reg.image("team/tool:2")));
    assert!(
        run.stderr.contains(&format!(
            "as an alias ({})",
            dir.join("50-tool.conf").display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn insecure_lets_lade_accept_a_certificate_it_cannot_verify() {
    let t = TestRoot::new();
    let pki = t.path("pki");
    std::fs::create_dir_all(&pki).unwrap();
    sh(&format!(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout srv.key -out srv.crt -days 2 -subj '/CN=localhost' -addext 'subjectAltName=DNS:localhost' 2>/dev/null \
         && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj '/CN=someone else' 2>/dev/null",
        pki.display()
    ));
    let reg = LadeRegistry::start(
        &t.path("registry"),
        &[
            "--tls-cert",
            pki.join("srv.crt").to_str().unwrap(),
            "--tls-key",
            pki.join("srv.key").to_str().unwrap(),
        ],
    );
    let host = format!("localhost:{}", reg.host.rsplit(':').next().unwrap());
    // A CA in certs.d for the host makes lade verify it (loopback or not): a stranger's.
    let certs = t.path("certs.d");
    std::fs::create_dir_all(certs.join(&host)).unwrap();
    std::fs::copy(pki.join("other.crt"), certs.join(&host).join("ca.crt")).unwrap();
    let image = format!("{host}/team/app:1");
    let run = |conf: &Path, args: &[&str]| {
        Run::from(
            t.lade()
                .env("CONTAINERS_REGISTRIES_CONF", conf)
                .env("HOME", t.path("home"))
                .env("DOCKER_CONFIG", t.path("docker"))
                .env("LADE_CERTS_DIRS", &certs)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    t.run_stdin(&["import", "-", &image], &image_tar(8)).ok();
    let strict = write_conf(&t, "strict.conf", "");
    run(&strict, &["push", &image]).fails_with("invalid peer certificate");
    let insecure = write_conf(
        &t,
        "insecure.conf",
        &format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n"),
    );
    run(&insecure, &["push", &image]).ok();
    let t2 = TestRoot::new();
    let pulled = Run::from(
        t2.lade()
            .env("CONTAINERS_REGISTRIES_CONF", &insecure)
            .env("HOME", t2.path("home"))
            .env("LADE_CERTS_DIRS", &certs)
            .args(["pull", "-q", &image])
            .output()
            .unwrap(),
    )
    .ok();
    assert_eq!(pulled.stdout, format!("{image}\n"));
    assert_eq!(manifest_of(&t2, &image), manifest_of(&t, &image));
}

#[test]
fn short_name_aliases_conf_wins_over_registries_conf() {
    let src = TestRoot::new();
    let reg = LadeRegistry::start(&src.path("registry"), &[]);
    let digest = push_image(&src, &reg.image("cached/app:1"), 9, &[]);

    let t = TestRoot::new();
    // registries.conf sends `app` nowhere; podman's machine-kept file sends it to `reg`.
    let dead = dead_host();
    let conf = write_conf(
        &t,
        "registries.conf",
        &format!(
            "unqualified-search-registries = [\"{dead}\"]\n[aliases]\n\"app\" = \"{dead}/system/app\"\n\"other\" = \"{dead}/system/other\"\n"
        ),
    );
    let aliases = write_conf(
        &t,
        "short-name-aliases.conf",
        &format!("[aliases]\n\"app\" = \"{}\"\n", reg.image("cached/app")),
    );
    let run = lade_conf(&t, &conf, &["pull", "app:1"]).ok();
    let image = reg.image("cached/app:1");
    assert_eq!(run.stdout, format!("{image}\n"));
    assert!(
        run.stderr.contains(&format!(
            "Resolved \"app\" as an alias ({})\nTrying to pull {image}...\n",
            aliases.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(manifest_of(&t, &image), digest);
    assert_clean(&t);

    // A name the file does not alias keeps registries.conf's alias.
    let other = lade_conf(&t, &conf, &["pull", "other:1"]);
    let other = other.fails_with("failed to connect");
    assert!(
        other
            .stderr
            .contains(&format!("Trying to pull {dead}/system/other:1...")),
        "{}",
        other.stderr
    );
    assert!(
        other
            .stderr
            .contains(&format!("as an alias ({})", conf.display())),
        "{}",
        other.stderr
    );

    // A broken file is an error naming it, not silently skipped.
    std::fs::write(&aliases, "[aliases]\n\"quay.io/app\" = \"quay.io/app\"\n").unwrap();
    lade_conf(&t, &conf, &["pull", "app:1"]).fails_with(&format!(
        "invalid registries configuration {}: invalid short name \"quay.io/app\": must not contain registry",
        aliases.display()
    ));
}

#[test]
fn a_wildcard_prefix_marks_the_hosts_it_matches_insecure() {
    // A name that resolves to a subdomain of something needs DNS; containers/image
    // matches wildcards on the host string, so `*.0.0.1` covers `127.0.0.1:PORT` and
    // is what can be tested on loopback. certs.d holds a stranger's CA for the host,
    // so that loopback alone does not make it insecure: only registries.conf can.
    let t = TestRoot::new();
    let pki = t.path("pki");
    std::fs::create_dir_all(&pki).unwrap();
    sh(&format!(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout srv.key -out srv.crt -days 2 -subj '/CN=localhost' -addext 'subjectAltName=DNS:localhost' 2>/dev/null \
         && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj '/CN=someone else' 2>/dev/null",
        pki.display()
    ));
    let reg = LadeRegistry::start(
        &t.path("registry"),
        &[
            "--tls-cert",
            pki.join("srv.crt").to_str().unwrap(),
            "--tls-key",
            pki.join("srv.key").to_str().unwrap(),
        ],
    );
    assert!(reg.host.starts_with("127.0.0.1:"), "{}", reg.host);
    let certs = t.path("certs.d");
    std::fs::create_dir_all(certs.join(&reg.host)).unwrap();
    std::fs::copy(pki.join("other.crt"), certs.join(&reg.host).join("ca.crt")).unwrap();
    let image = reg.image("team/app:1");
    let run = |t: &TestRoot, conf: &Path, args: &[&str]| {
        Run::from(
            t.lade()
                .env("CONTAINERS_REGISTRIES_CONF", conf)
                .env("HOME", t.path("home"))
                .env("DOCKER_CONFIG", t.path("docker"))
                .env(
                    "LADE_SHORT_NAME_ALIASES_CONF",
                    t.path("short-name-aliases.conf"),
                )
                .env("LADE_CERTS_DIRS", &certs)
                .env_remove("LADE_INSECURE_REGISTRIES")
                .args(args)
                .output()
                .unwrap(),
        )
    };
    t.run_stdin(&["import", "-", &image], &image_tar(10)).ok();
    let strict = write_conf(&t, "strict.conf", "");
    run(&t, &strict, &["push", &image]).fails_with("invalid peer certificate");

    // Push (a client for the host) and pull (a pull source of the wildcard entry).
    let wildcard = write_conf(
        &t,
        "wildcard.conf",
        "[[registry]]\nprefix = \"*.0.0.1\"\ninsecure = true\n",
    );
    run(&t, &wildcard, &["push", &image]).ok();
    let t2 = TestRoot::new();
    let pulled = run(&t2, &wildcard, &["pull", "-q", &image]).ok();
    assert_eq!(pulled.stdout, format!("{image}\n"));
    assert_eq!(manifest_of(&t2, &image), manifest_of(&t, &image));
    assert_clean(&t2);

    // The host's own [[registry]] is more specific than the wildcard, and secure.
    let exact = write_conf(
        &t,
        "exact.conf",
        &format!(
            "[[registry]]\nprefix = \"*.0.0.1\"\ninsecure = true\n\n[[registry]]\nlocation = \"{}\"\ninsecure = false\n",
            reg.host
        ),
    );
    let t3 = TestRoot::new();
    run(&t3, &exact, &["pull", "-q", &image]).fails_with("invalid peer certificate");
    run(&t, &exact, &["push", &image]).fails_with("invalid peer certificate");
    // A wildcard for another domain does nothing here.
    let elsewhere = write_conf(
        &t,
        "elsewhere.conf",
        "[[registry]]\nprefix = \"*.example.com\"\ninsecure = true\n",
    );
    run(&t3, &elsewhere, &["pull", "-q", &image]).fails_with("invalid peer certificate");
}

const HELPER_USER: &str = "helper-user";
const HELPER_PASSWORD: &str = "H3lper-pw-51e0";

/// Writes `docker-credential-confhelper` into `bin`: answers `get` for `host` with the
/// right credentials while `dir/has` exists, says "credentials not found" otherwise,
/// and logs every call to `dir/log`.
fn write_get_helper(bin: &Path, dir: &Path, host: &str) {
    std::fs::create_dir_all(bin).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        r#"#!/bin/sh
input=$(cat)
echo "$1 $input" >> '{dir}/log'
if [ "$1" = get ] && [ "$input" = '{host}' ] && [ -f '{dir}/has' ]; then
  printf '{{"ServerURL":"%s","Username":"{HELPER_USER}","Secret":"{HELPER_PASSWORD}"}}' "$input"
else
  echo "credentials not found in native keychain"; exit 1
fi
"#,
        dir = dir.display()
    );
    let path = bin.join("docker-credential-confhelper");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn credential_helpers_order_the_helper_and_the_auth_files() {
    let reg = DockerRegistry::with_htpasswd(HELPER_USER, HELPER_PASSWORD);
    let t = TestRoot::new();
    let auth = |password: &str| {
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"{}\"}}}}}}",
            reg.host,
            base64(format!("{HELPER_USER}:{password}").as_bytes())
        )
    };
    std::fs::create_dir_all(t.path("docker")).unwrap();
    let config = t.path("docker/config.json");
    std::fs::write(&config, auth(HELPER_PASSWORD)).unwrap();
    let image = reg.image("helped/app:1");
    push_image(&t, &image, 11, &[]);

    let bin = t.path("bin");
    let state = t.path("helper");
    write_get_helper(&bin, &state, &reg.host);
    let log = || {
        std::fs::read_to_string(state.join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let pull = |helpers: &str| {
        let conf = write_conf(
            &t,
            "helpers.conf",
            &format!("credential-helpers = {helpers}\n"),
        );
        let store = TestRoot::new();
        Run::from(
            store
                .lade()
                .env("CONTAINERS_REGISTRIES_CONF", &conf)
                .env("HOME", t.path("home"))
                .env("DOCKER_CONFIG", t.path("docker"))
                .env(
                    "LADE_SHORT_NAME_ALIASES_CONF",
                    t.path("short-name-aliases.conf"),
                )
                .env("PATH", &path)
                .env_remove("REGISTRY_AUTH_FILE")
                .env_remove("XDG_RUNTIME_DIR")
                .args(["pull", &image])
                .output()
                .unwrap(),
        )
    };
    let get = format!("get {}", reg.host);

    // config.json holds a wrong password, the helper the right one: the helper first.
    std::fs::write(&config, auth("wrong")).unwrap();
    std::fs::write(state.join("has"), "").unwrap();
    let run = pull(r#"["confhelper", "containers-auth.json"]"#).ok();
    assert_eq!(run.stdout, format!("{image}\n"));
    assert_eq!(log(), std::slice::from_ref(&get));
    // The files first: they answer (wrongly), the helper is never asked.
    pull(r#"["containers-auth.json", "confhelper"]"#).fails_with("unauthorized");
    assert_eq!(log(), std::slice::from_ref(&get));

    // The helper has nothing: the next source answers.
    std::fs::remove_file(state.join("has")).unwrap();
    std::fs::write(&config, auth(HELPER_PASSWORD)).unwrap();
    pull(r#"["confhelper", "containers-auth.json"]"#).ok();
    assert_eq!(log().len(), 2);
    // The files are not listed: they are not read, and the pull is anonymous.
    pull(r#"["confhelper"]"#).fails_with("unauthorized");
    assert_eq!(log().len(), 3);

    // A corrupt config.json fails its step; the helper after it answers, with a warning.
    std::fs::write(state.join("has"), "").unwrap();
    std::fs::write(&config, "{not json").unwrap();
    let run = pull(r#"["containers-auth.json", "confhelper"]"#).ok();
    assert!(
        run.stderr.contains("WARNING: ") && run.stderr.contains(&config.display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(log().len(), 4);
    // A helper that is not installed is skipped with a warning.
    std::fs::write(&config, "{}").unwrap();
    let run = pull(r#"["lade-test-not-installed", "confhelper"]"#).ok();
    assert!(
        run.stderr.contains(
            "WARNING: credential helper docker-credential-lade-test-not-installed (in registries.conf's credential-helpers) is not installed"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(log().len(), 5);
    // No secret is ever printed.
    assert!(!run.stderr.contains(HELPER_PASSWORD));
}
