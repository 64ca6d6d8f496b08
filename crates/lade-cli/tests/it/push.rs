//! `lade login`, `lade logout` and `lade push` (issue 4), through the binary: against
//! Debian's `docker-registry` behind htpasswd auth and against `lade registry serve`;
//! skopeo reads what lade pushed and shares credentials with it both ways; a fake
//! `docker-credential-*` helper proves the helper protocol. No run may print the password.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::registry_support::*;
use crate::support::*;

const USER: &str = "lade-tester";
/// Distinctive enough that finding it in lade's output can only be a leak.
const PASSWORD: &str = "Tr0ub4dor-pw-9f2c";

/// A temp root whose `DOCKER_CONFIG`, `HOME`, `REGISTRY_AUTH_FILE` and `XDG_RUNTIME_DIR`
/// all point inside it, so that no run reads or writes the real home.
struct Env {
    t: TestRoot,
    /// Put first on lade's PATH (where a fake credential helper lives).
    bin: Option<PathBuf>,
}

impl Env {
    fn new() -> Self {
        let t = TestRoot::new();
        for d in ["docker", "home", "run"] {
            std::fs::create_dir_all(t.path(d)).unwrap();
        }
        Self { t, bin: None }
    }

    /// `$DOCKER_CONFIG/config.json`
    fn config_json(&self) -> PathBuf {
        self.t.path("docker/config.json")
    }

    /// `$REGISTRY_AUTH_FILE` (absent unless a test writes it).
    fn auth_file(&self) -> PathBuf {
        self.t.path("auth.json")
    }

    fn config(&self) -> serde_json::Value {
        json(&std::fs::read_to_string(self.config_json()).unwrap())
    }

    fn write_config(&self, config: &serde_json::Value) {
        std::fs::write(
            self.config_json(),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// `lade --root DIR/STORE ARGS…` in this environment.
    fn lade_in(&self, store: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lade"));
        c.arg("--root").arg(self.t.path(store)).args(args);
        c.env_remove("LADE_ROOT")
            .env("DOCKER_CONFIG", self.t.path("docker"))
            .env("HOME", self.t.path("home"))
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("XDG_RUNTIME_DIR", self.t.path("run"));
        if let Some(bin) = &self.bin {
            let path = std::env::var("PATH").unwrap_or_default();
            c.env("PATH", format!("{}:{path}", bin.display()));
        }
        c
    }

    /// `lade ARGS…` on the test's store (`TestRoot::root`).
    fn run(&self, args: &[&str]) -> Run {
        run(self.lade_in("store", args), None)
    }

    /// `lade login -u USER --password-stdin HOST`
    fn login(&self, host: &str, password: &str) -> Run {
        run(
            self.lade_in("store", &["login", "-u", USER, "--password-stdin", host]),
            Some(format!("{password}\n").as_bytes()),
        )
    }

    /// Imports a small image of its own (content from `seed`) as `name`.
    fn import(&self, name: &str, seed: u64) {
        let tar = tarball(&[("data", &noise(30_000, seed))]);
        run(self.lade_in("store", &["import", "-", name]), Some(&tar)).ok();
    }

    /// skopeo, kept away from the real home too.
    fn skopeo(&self, args: &[&str]) -> Command {
        let mut c = Command::new("skopeo");
        c.args(args)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .env("HOME", self.t.path("home"))
            .env("XDG_RUNTIME_DIR", self.t.path("run"));
        c
    }

    /// The stored manifest digest of `image`.
    fn local_digest(&self, image: &str) -> String {
        manifest_of(&self.t, image)
    }
}

/// Runs lade (with `stdin` when given) and checks that the password, plain or in a Basic
/// header, shows nowhere in what it printed.
fn run(cmd: Command, stdin: Option<&[u8]>) -> Run {
    let shown = format!("{cmd:?}");
    let run = run_with_stdin(cmd, stdin.unwrap_or_default());
    let basic = base64(format!("{USER}:{PASSWORD}").as_bytes());
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(PASSWORD) && !text.contains(&basic),
            "the password leaked on {what} of {shown}:\n{text}"
        );
    }
    run
}

/// Runs a peer; returns its stdout. Panics with its stderr on failure.
#[track_caller]
fn ok(mut cmd: Command) -> String {
    String::from_utf8(run_bytes(&mut cmd)).unwrap()
}

/// A push that went through: Docker's lines on stderr, `TAG: digest: … size: N` on stdout.
#[track_caller]
fn assert_pushed(run: &Run, env: &Env, image: &str) {
    let (name, tag) = image.rsplit_once(':').unwrap();
    assert!(
        run.stderr
            .contains(&format!("The push refers to repository [{name}]\n")),
        "{}",
        run.stderr
    );
    let digest = env.local_digest(image);
    let size = blob(&env.t, &digest).len();
    let line = format!("{tag}: digest: {digest} size: {size}\n");
    assert!(
        run.stdout.contains(&line),
        "no {line:?} in:\n{}",
        run.stdout
    );
}

/// The `LAYER: STATUS` lines a push printed, without the `Preparing`/`Waiting` ones.
fn layer_statuses(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .stderr
        .lines()
        .filter(|l| l.len() > 14 && l.as_bytes()[12] == b':')
        .filter(|l| !l.ends_with(": Preparing") && !l.ends_with(": Waiting"))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// `SHORT: STATUS` for each layer of `image`, sorted.
fn expect_layers(env: &Env, image: &str, status: &str) -> Vec<String> {
    let manifest = json(&String::from_utf8(blob(&env.t, &env.local_digest(image))).unwrap());
    let mut v: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{}: {status}", short(l["digest"].as_str().unwrap())))
        .collect();
    v.sort();
    v
}

/// `skopeo inspect` with `authfile` sees the digest lade has locally, and `skopeo copy`
/// to a `dir:` brings back the stored manifest and every blob byte for byte.
#[track_caller]
fn assert_skopeo_reads(env: &Env, image: &str, authfile: Option<&Path>) {
    let auth: Vec<String> = authfile
        .map(|f| vec!["--authfile".into(), f.display().to_string()])
        .unwrap_or_default();
    let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
    let local = env.local_digest(image);
    let mut args = vec!["inspect", "--tls-verify=false"];
    args.extend(&auth);
    let docker = format!("docker://{image}");
    args.push(&docker);
    let inspected = json(&ok(env.skopeo(&args)));
    assert_eq!(
        inspected["Digest"],
        local.as_str(),
        "skopeo inspect {image}"
    );

    let dir = env
        .t
        .path(&format!("copy-{}", sha256_hex(image.as_bytes())));
    let dest = format!("dir:{}", dir.display());
    let mut args = vec!["copy", "-q", "--src-tls-verify=false"];
    args.extend(&auth);
    args.extend([docker.as_str(), dest.as_str()]);
    ok(env.skopeo(&args));
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    assert_eq!(digest_of(&manifest), local, "the manifest skopeo copied");
    let parsed = json(&String::from_utf8(manifest).unwrap());
    let mut digests = vec![parsed["config"]["digest"].as_str().unwrap().to_owned()];
    for l in parsed["layers"].as_array().unwrap() {
        digests.push(l["digest"].as_str().unwrap().to_owned());
    }
    for d in digests {
        let theirs = std::fs::read(dir.join(&d[7..])).unwrap();
        assert_eq!(digest_of(&theirs), d, "blob {d} as skopeo copied it");
        assert!(
            theirs == blob(&env.t, &d),
            "blob {d} differs from the stored one"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The requests docker-registry completed (its `response completed` log lines) from
/// line `since` on whose method is `method` and whose URI contains `uri`.
fn requests(reg: &DockerRegistry, since: usize, method: &str, uri: &str) -> Vec<String> {
    reg.log()
        .into_iter()
        .skip(since)
        .filter(|l| l.contains("msg=\"response completed\""))
        .filter(|l| l.contains(&format!("http.request.method={method} ")))
        .filter(|l| l.contains(uri))
        .collect()
}

/// Requests that carried blob bytes to docker-registry (PATCH, or PUT to an upload).
fn blob_uploads(reg: &DockerRegistry, since: usize) -> Vec<String> {
    let mut v = requests(reg, since, "PATCH", "/blobs/uploads/");
    v.extend(requests(reg, since, "PUT", "/blobs/uploads/"));
    v
}

/// `lade_registry_bytes_received_total` from lade's registry `/metrics`.
fn bytes_received(host: &str) -> u64 {
    let mut conn = std::net::TcpStream::connect(host).unwrap();
    write!(conn, "GET /metrics HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("lade_registry_bytes_received_total "))
        .unwrap_or_else(|| panic!("no byte counter in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Asserts a refused push: exit 1, `unauthorized`, and a `hint:` line naming `lade login`.
#[track_caller]
fn assert_unauthorized_with_hint(run: Run, host: &str) {
    let run = run.fails_with("unauthorized");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("hint: ") && l.contains(&format!("`lade login {host}`"))),
        "no login hint in:\n{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------
// docker-registry with htpasswd auth.

#[test]
fn login_push_repush_mount_all_tags_and_logout_against_docker_registry() {
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let host = reg.host.as_str();
    let env = Env::new();
    // Someone's config.json: its other keys and entries must survive login and logout.
    env.write_config(&serde_json::json!({
        "psFormat": "table {{.ID}}",
        "auths": {"other.example.com": {"auth": base64(b"someone:else")}},
    }));
    let before = std::fs::read(env.config_json()).unwrap();

    // A wrong password: refused, nothing saved.
    let wrong = env
        .login(host, "not-the-password")
        .fails_with("unauthorized");
    assert_eq!(wrong.code, 1);
    assert!(!wrong.stdout.contains("Login Succeeded"));
    assert_eq!(std::fs::read(env.config_json()).unwrap(), before);

    // The right one: checked, saved in config.json (0600) beside what was there.
    let login = env.login(host, PASSWORD).ok();
    assert_eq!(login.stdout, "Login Succeeded\n");
    assert!(
        login.stderr.contains(&format!(
            "WARNING! Your password will be stored unencrypted in {}",
            env.config_json().display()
        )),
        "{}",
        login.stderr
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.config_json())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let config = env.config();
    assert_eq!(config["psFormat"], "table {{.ID}}");
    assert_eq!(
        config["auths"]["other.example.com"]["auth"],
        base64(b"someone:else")
    );
    assert_eq!(
        config["auths"][host]["auth"],
        base64(format!("{USER}:{PASSWORD}").as_bytes())
    );

    // A first push uploads the layer; skopeo, with lade's config.json, reads it back.
    let app1 = reg.image("lade/app:1");
    env.import(&app1, 1);
    let mark = reg.log().len();
    let push = env.run(&["push", &app1]).ok();
    assert_pushed(&push, &env, &app1);
    assert_eq!(layer_statuses(&push), expect_layers(&env, &app1, "Pushed"));
    assert!(!blob_uploads(&reg, mark).is_empty());
    assert_skopeo_reads(&env, &app1, Some(&env.config_json()));
    // The repository digest is recorded.
    let inspect = json(&env.run(&["image", "inspect", &app1]).ok().stdout);
    assert_eq!(
        inspect[0]["RepoDigests"],
        serde_json::json!([format!("{host}/lade/app@{}", env.local_digest(&app1))])
    );

    // Pushed again unchanged: no blob byte travels.
    let mark = reg.log().len();
    let again = env.run(&["push", &app1]).ok();
    assert_pushed(&again, &env, &app1);
    assert_eq!(
        layer_statuses(&again),
        expect_layers(&env, &app1, "Layer already exists")
    );
    assert_eq!(
        requests(&reg, mark, "POST", "/blobs/uploads/"),
        Vec::<String>::new()
    );
    assert_eq!(blob_uploads(&reg, mark), Vec::<String>::new());

    // A new tag of the same image: blobs found by HEAD, only the manifest goes up.
    let app2 = reg.image("lade/app:2");
    env.run(&["tag", &app1, &app2]).ok();
    let mark = reg.log().len();
    let tagged = env.run(&["push", &app2]).ok();
    assert_pushed(&tagged, &env, &app2);
    assert_eq!(
        layer_statuses(&tagged),
        expect_layers(&env, &app1, "Layer already exists")
    );
    assert_eq!(blob_uploads(&reg, mark), Vec::<String>::new());
    assert_eq!(requests(&reg, mark, "PUT", "/manifests/2").len(), 1);

    // Another repository sharing the layers: mounted, not uploaded.
    let other = reg.image("team/other:1");
    env.run(&["tag", &app1, &other]).ok();
    let mark = reg.log().len();
    let mounted = env.run(&["push", &other]).ok();
    assert_pushed(&mounted, &env, &other);
    assert_eq!(
        layer_statuses(&mounted),
        expect_layers(&env, &app1, "Mounted from lade/app")
    );
    assert!(!requests(&reg, mark, "POST", "mount=").is_empty());
    assert_eq!(blob_uploads(&reg, mark), Vec::<String>::new());
    assert_skopeo_reads(&env, &other, Some(&env.config_json()));

    // A three-layer image skopeo pushed with lade's credentials, pulled by lade and
    // pushed to a new repository: every layer mounted from where it was pulled.
    let layout = Layout::new(env.t.path("layout"));
    let image = Image::new(
        "amd64",
        &[
            tarball(&[("a", &noise(40_000, 11))]),
            tarball(&[("b", &noise(50_000, 12))]),
            tarball(&[("c", &noise(60_000, 13))]),
        ],
    );
    layout.add_image("base", &image);
    let base = reg.image("src/base:1");
    let authfile = env.config_json().display().to_string();
    skopeo_push(
        &layout.source("base"),
        &base,
        &["--dest-authfile", &authfile],
    );
    env.run(&["pull", &base]).ok();
    let copy = reg.image("team/copy:1");
    env.run(&["tag", &base, &copy]).ok();
    let mark = reg.log().len();
    let mounted = env.run(&["push", &copy]).ok();
    assert_pushed(&mounted, &env, &copy);
    assert_eq!(
        layer_statuses(&mounted),
        expect_layers(&env, &copy, "Mounted from src/base")
    );
    assert_eq!(blob_uploads(&reg, mark), Vec::<String>::new());
    assert_eq!(env.local_digest(&copy), image.digest());
    assert_skopeo_reads(&env, &copy, Some(&env.config_json()));

    // -a: every local tag of the repository, the new one uploaded.
    let app3 = reg.image("lade/app:3");
    env.import(&app3, 3);
    let all = env.run(&["push", "-a", &reg.image("lade/app")]).ok();
    for image in [&app1, &app2, &app3] {
        assert_pushed(&all, &env, image);
    }
    assert_eq!(all.stdout.lines().count(), 3, "{}", all.stdout);
    assert!(all.stderr.contains(": Pushed"), "{}", all.stderr);
    assert_skopeo_reads(&env, &app3, Some(&env.config_json()));
    let tags = json(&ok(env.skopeo(&[
        "list-tags",
        "--tls-verify=false",
        "--authfile",
        &authfile,
        &format!("docker://{}", reg.image("lade/app")),
    ])));
    let mut tags: Vec<&str> = tags["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, ["1", "2", "3"]);

    // Logout removes the entry and keeps the rest; pushing is then refused.
    let logout = env.run(&["logout", host]).ok();
    assert_eq!(
        logout.stdout,
        format!("Removing login credentials for {host}\n")
    );
    let config = env.config();
    assert!(config["auths"].get(host).is_none(), "{config}");
    assert_eq!(config["psFormat"], "table {{.ID}}");
    assert!(config["auths"].get("other.example.com").is_some());
    let app4 = reg.image("lade/app:4");
    env.run(&["tag", &app1, &app4]).ok();
    assert_unauthorized_with_hint(env.run(&["push", &app4]), host);
    assert_eq!(
        env.run(&["logout", host]).ok().stdout,
        format!("Not logged in to {host}\n")
    );
}

#[test]
fn push_without_credentials_is_unauthorized_with_a_login_hint() {
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let env = Env::new();
    let image = reg.image("lade/secret:1");
    env.import(&image, 5);
    let mark = reg.log().len();
    let run = env.run(&["push", &image]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_unauthorized_with_hint(run, &reg.host);
    assert_eq!(blob_uploads(&reg, mark), Vec::<String>::new());
    // Nothing was written for the user either.
    assert!(!env.config_json().exists());
}

#[test]
fn skopeo_and_lade_use_each_others_credentials() {
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let host = reg.host.as_str();
    let env = Env::new();
    // skopeo logs in to the file lade finds through REGISTRY_AUTH_FILE.
    let authfile = env.auth_file().display().to_string();
    let mut login = env.skopeo(&[
        "login",
        "--tls-verify=false",
        "--authfile",
        &authfile,
        "-u",
        USER,
        "--password-stdin",
        host,
    ]);
    login
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!env.config_json().exists());

    let image = reg.image("shared/app:1");
    env.import(&image, 7);
    let push = env.run(&["push", &image]).ok();
    assert_pushed(&push, &env, &image);
    assert_skopeo_reads(&env, &image, Some(&env.auth_file()));
    // And lade pulls with it into another store.
    run(env.lade_in("store2", &["pull", &image]), None).ok();

    // Once skopeo logged out, lade has no credentials left.
    ok(env.skopeo(&["logout", "--authfile", &authfile, host]));
    let image2 = reg.image("shared/app:2");
    env.run(&["tag", &image, &image2]).ok();
    assert_unauthorized_with_hint(env.run(&["push", &image2]), host);

    // The other way round: lade logs in (-p: Docker's warning, the password not echoed),
    // skopeo uses lade's config.json.
    let login = env.run(&["login", "-u", USER, "-p", PASSWORD, host]).ok();
    assert_eq!(login.stdout, "Login Succeeded\n");
    assert!(
        login.stderr.starts_with(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
        ),
        "{}",
        login.stderr
    );
    env.run(&["push", &image2]).ok();
    assert_skopeo_reads(&env, &image2, Some(&env.config_json()));
}

// ---------------------------------------------------------------------------------------
// A layer larger than one chunk.

#[test]
fn layer_over_64_mib_goes_in_chunks_to_docker_registry_and_lade_registry() {
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let storage = tempfile::tempdir().unwrap();
    let lade_reg = LadeRegistry::start(storage.path(), &[]);
    let env = Env::new();
    let big = reg.image("big/layer:1");
    let tar = tarball(&[("data", &noise(72 << 20, 42))]);
    run(env.lade_in("store", &["import", "-", &big]), Some(&tar)).ok();
    drop(tar);
    let manifest = json(&String::from_utf8(blob(&env.t, &env.local_digest(&big))).unwrap());
    let layer_size = manifest["layers"][0]["size"].as_u64().unwrap();
    assert!(
        layer_size > 64 << 20,
        "the layer is only {layer_size} bytes"
    );

    // docker-registry: two PATCH requests, then skopeo reads back the same bytes.
    env.login(&reg.host, PASSWORD).ok();
    let mark = reg.log().len();
    let push = env.run(&["push", &big]).ok();
    assert_pushed(&push, &env, &big);
    assert_eq!(layer_statuses(&push), expect_layers(&env, &big, "Pushed"));
    assert_eq!(requests(&reg, mark, "PATCH", "/blobs/uploads/").len(), 2);
    assert_skopeo_reads(&env, &big, Some(&env.config_json()));

    // lade's own registry: the same, and a re-push receives no byte.
    let mirror = lade_reg.image("big/layer:1");
    env.run(&["tag", &big, &mirror]).ok();
    let push = env.run(&["push", &mirror]).ok();
    assert_pushed(&push, &env, &mirror);
    let received = bytes_received(&lade_reg.host);
    assert!(received >= layer_size, "{received} < {layer_size}");
    assert_skopeo_reads(&env, &mirror, None);
    let again = env.run(&["push", &mirror]).ok();
    assert_eq!(
        layer_statuses(&again),
        expect_layers(&env, &mirror, "Layer already exists")
    );
    assert_eq!(bytes_received(&lade_reg.host), received);
}

// ---------------------------------------------------------------------------------------
// Credential helpers.

/// Writes `docker-credential-ladetest` into `bin`: the helper protocol (store, get,
/// erase) over one JSON file per server in `dir`, with a log of every call.
fn write_helper(bin: &Path, dir: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        r#"#!/bin/sh
# A fake credential helper for lade's tests: one JSON file per server.
dir='{dir}'
input=$(cat)
key() {{ printf '%s' "$1" | sha256sum | cut -c1-16; }}
case "$1" in
  store)
    server=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
    echo "store $server" >> "$dir/log"
    printf '%s' "$input" > "$dir/$(key "$server").cred" ;;
  get)
    echo "get $input" >> "$dir/log"
    f="$dir/$(key "$input").cred"
    if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase)
    echo "erase $input" >> "$dir/log"
    f="$dir/$(key "$input").cred"
    if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *)
    echo "unknown action $1" >&2; exit 1 ;;
esac
"#,
        dir = dir.display()
    );
    let path = bin.join("docker-credential-ladetest");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// What the helper was asked, one `ACTION SERVER` a line.
fn helper_log(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.t.path("helper/log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The credentials the helper holds (file contents).
fn helper_entries(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(env.t.path("helper"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cred"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    v.sort();
    v
}

/// login stores through the helper, push and pull get from it, logout erases it.
fn helper_round_trip(config: impl Fn(&str) -> serde_json::Value) {
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let host = reg.host.as_str();
    let mut env = Env::new();
    write_helper(&env.t.path("bin"), &env.t.path("helper"));
    env.bin = Some(env.t.path("bin"));
    env.write_config(&config(host));
    let before = std::fs::read(env.config_json()).unwrap();

    let login = env.login(host, PASSWORD).ok();
    assert_eq!(login.stdout, "Login Succeeded\n");
    assert!(!login.stderr.contains("unencrypted"), "{}", login.stderr);
    assert_eq!(helper_log(&env), [format!("store {host}")]);
    // config.json is untouched: no plaintext (nor base64) password in it.
    assert_eq!(std::fs::read(env.config_json()).unwrap(), before);
    let entries = helper_entries(&env);
    assert_eq!(entries.len(), 1);
    let stored = json(&entries[0]);
    assert_eq!(stored["ServerURL"], host);
    assert_eq!(stored["Username"], USER);
    assert_eq!(stored["Secret"], PASSWORD);

    let image = reg.image("helped/app:1");
    env.import(&image, 9);
    let push = env.run(&["push", &image]).ok();
    assert_pushed(&push, &env, &image);
    assert_eq!(helper_log(&env).last().unwrap(), &format!("get {host}"));
    let pull = run(env.lade_in("store2", &["pull", &image]), None).ok();
    assert_eq!(pull.stdout, format!("{image}\n"));
    assert_eq!(helper_log(&env).last().unwrap(), &format!("get {host}"));

    let logout = env.run(&["logout", host]).ok();
    assert_eq!(
        logout.stdout,
        format!("Removing login credentials for {host}\n")
    );
    assert_eq!(helper_log(&env).last().unwrap(), &format!("erase {host}"));
    assert!(helper_entries(&env).is_empty());
    assert_eq!(std::fs::read(env.config_json()).unwrap(), before);
    // Without them: refused, with the hint.
    let image2 = reg.image("helped/app:2");
    env.run(&["tag", &image, &image2]).ok();
    assert_unauthorized_with_hint(env.run(&["push", &image2]), host);
}

#[test]
fn creds_store_helper_stores_gets_and_erases() {
    helper_round_trip(|_| serde_json::json!({"credsStore": "ladetest"}));
}

#[test]
fn cred_helpers_entry_for_the_registry_is_used() {
    helper_round_trip(|host| {
        serde_json::json!({
            "credsStore": "lade-test-not-installed",
            "credHelpers": {host: "ladetest"},
        })
    });
}

#[test]
fn creds_store_that_is_not_installed_warns_and_goes_anonymous() {
    let reg = DockerRegistry::start();
    let env = Env::new();
    env.write_config(&serde_json::json!({"credsStore": "lade-test-not-installed"}));
    let warning = "WARNING: credential helper docker-credential-lade-test-not-installed";
    let image = reg.image("open/app:1");
    env.import(&image, 4);
    let push = env.run(&["push", &image]).ok();
    assert_pushed(&push, &env, &image);
    assert!(push.stderr.contains(warning), "{}", push.stderr);
    let pull = run(env.lade_in("store2", &["pull", &image]), None).ok();
    assert_eq!(pull.stdout, format!("{image}\n"));
    assert!(pull.stderr.contains(warning), "{}", pull.stderr);
    assert!(pull.stderr.contains("is not installed"), "{}", pull.stderr);
}
