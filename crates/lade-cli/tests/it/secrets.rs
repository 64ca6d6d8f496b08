//! Secrets (issue 9): `lade login`, `push`, `pull`, `manifest inspect`, a denied push
//! and a wrong password, with `--debug`, against registries on loopback that want a
//! password: lade's own with bearer tokens (`[auth] token = true`), lade's own with
//! Basic, and Debian's `docker-registry` with htpasswd (Basic). A proxy in front records
//! every token the registry issued and every `Authorization` lade sent. None of them,
//! nor the password, nor the token signing key, may appear in stdout, stderr, the
//! registry's log, or any file under the store, the registry storage or the home
//! directory; the credential store (`$DOCKER_CONFIG/config.json`) alone holds the
//! password, and only until `lade logout`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fault_proxy::FaultProxy;
use crate::registry_support::*;
use crate::support::*;

const USER: &str = "vault-user";
const PASSWORD: &str = "Sekr1t-Pa55-7e1d-c0ffee";
const TOKEN_KEY: &str = "Token-Signing-Key-91b2-5ecret";

/// Everything a run printed, kept to be searched.
struct Env {
    t: TestRoot,
    printed: Vec<(String, String)>,
}

impl Env {
    fn new() -> Self {
        let t = TestRoot::new();
        for d in ["docker", "home", "run"] {
            std::fs::create_dir_all(t.path(d)).unwrap();
        }
        Self {
            t,
            printed: Vec::new(),
        }
    }

    /// `lade --debug ARGS…` with this test's home, config and runtime dirs.
    fn lade(&mut self, args: &[&str], stdin: &[u8]) -> Run {
        let mut c = self.t.lade();
        c.arg("--debug")
            .args(args)
            .env("DOCKER_CONFIG", self.t.path("docker"))
            .env("HOME", self.t.path("home"))
            .env("REGISTRY_AUTH_FILE", self.t.path("auth.json"))
            .env("XDG_RUNTIME_DIR", self.t.path("run"));
        let run = run_with_stdin(c, stdin);
        let what = format!("lade {}", args.join(" "));
        self.printed
            .push((format!("{what} (stdout)"), run.stdout.clone()));
        self.printed
            .push((format!("{what} (stderr)"), run.stderr.clone()));
        run
    }

    fn config_json(&self) -> PathBuf {
        self.t.path("docker/config.json")
    }
}

/// `lade registry serve` with its access log on, its stderr in a file.
struct Served {
    child: Child,
    host: String,
    log: PathBuf,
}

impl Served {
    fn start(t: &TestRoot, config: &Path) -> Self {
        let log = t.path("registry.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lade"))
            .args(["registry", "serve", "--addr", "127.0.0.1:0", "--storage"])
            .arg(t.path("registry"))
            .arg("--config")
            .arg(config)
            .env_remove("LADE_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("lade registry listening on ").nth(1) {
                let host = rest.split_whitespace().next().unwrap().to_owned();
                return Self { child, host, log };
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("the registry did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_config(t: &TestRoot, token: bool) -> PathBuf {
    let htpasswd = t.path("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("{USER}:{}\n", bcrypt::hash(PASSWORD, 4).unwrap()),
    )
    .unwrap();
    let path = t.path("registry.toml");
    std::fs::write(
        &path,
        format!(
            r#"[auth]
htpasswd = "{}"
token = {token}
token_secret = "{TOKEN_KEY}"
[[auth.rules]]
users = ["{USER}"]
repositories = ["sec/*"]
actions = ["*"]
"#,
            htpasswd.display()
        ),
    )
    .unwrap();
    path
}

/// The secrets of a session: the password (plain and as Basic credentials), the token
/// key, and every token and `Authorization` value the proxy saw.
fn secrets(proxy: &FaultProxy) -> Vec<String> {
    let mut out = vec![
        PASSWORD.to_owned(),
        base64(format!("{USER}:{PASSWORD}").as_bytes()),
        TOKEN_KEY.to_owned(),
    ];
    for e in proxy.log() {
        if let Some(a) = &e.authorization
            && let Some((_, value)) = a.split_once(' ')
        {
            out.push(value.to_owned());
        }
        if let Some(body) = &e.token_body
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        {
            for k in ["token", "access_token", "refresh_token"] {
                if let Some(s) = v[k].as_str() {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every file under `dir` (but `except`) with its bytes.
fn files(dir: &Path, except: &[PathBuf], out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if except.contains(&p) {
            continue;
        }
        if p.is_dir() {
            files(&p, except, out);
        } else if p.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// No secret in what lade printed, in `logs`, or in any file under the test's directory
/// but the registry's configuration and the credential store. Returns how many places
/// were searched.
#[track_caller]
fn assert_nothing_leaked(env: &Env, secrets: &[String], logs: &[(String, String)]) -> usize {
    assert!(
        secrets.len() > 3,
        "the proxy saw no credential: {secrets:?}"
    );
    let mut searched = 0;
    for (what, text) in env.printed.iter().chain(logs) {
        for s in secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret leaked in {what}:\n{text}"
            );
        }
        searched += 1;
    }
    let mut all = Vec::new();
    files(
        env.t.dir.path(),
        &[env.config_json(), env.t.path("registry.toml")],
        &mut all,
    );
    for (path, bytes) in &all {
        for s in secrets {
            assert!(
                !contains(bytes, s),
                "a secret ({}…) leaked into {}",
                &s[..4],
                path.display()
            );
        }
        searched += 1;
    }
    searched
}

/// The session every registry goes through: a wrong password, `-p` and `--password-stdin`
/// logins, push, a denied push, pull, `manifest inspect`, logout.
fn session(env: &mut Env, host: &str, denied_repo: Option<&str>) {
    let wrong = env.lade(
        &["login", "-u", USER, "--password-stdin", host],
        b"not-it\n",
    );
    assert_ne!(wrong.code, 0, "a wrong password was accepted");
    let on_line = env.lade(&["login", "-u", USER, "-p", PASSWORD, host], b"");
    assert_eq!(on_line.code, 0, "{}", on_line.stderr);
    env.lade(
        &["login", "-u", USER, "--password-stdin", host],
        format!("{PASSWORD}\n").as_bytes(),
    )
    .ok();
    let config = std::fs::read_to_string(env.config_json()).unwrap();
    assert!(
        config.contains(&base64(format!("{USER}:{PASSWORD}").as_bytes())),
        "the credential store holds the login: {config}"
    );
    let image = format!("{host}/sec/app:1");
    env.t
        .run_stdin(&["import", "-", &image], &tarball(&[("f", b"secret test")]))
        .ok();
    env.lade(&["push", &image], b"").ok();
    if let Some(repo) = denied_repo {
        let other = format!("{host}/{repo}:1");
        env.t.run(&["tag", &image, &other]).ok();
        let denied = env.lade(&["push", &other], b"");
        assert_ne!(denied.code, 0, "{}", denied.stdout);
    }
    env.t.run(&["rmi", &image]).ok();
    env.lade(&["pull", &image], b"").ok();
    env.lade(&["manifest", "inspect", &image], b"").ok();
    // A wrong password over a saved login.
    env.lade(&["login", "-u", USER, "--password-stdin", host], b"bad\n");
    env.lade(&["logout", host], b"").ok();
    let config = std::fs::read_to_string(env.config_json()).unwrap_or_default();
    assert!(!config.contains(&base64(format!("{USER}:{PASSWORD}").as_bytes())));
}

fn lade_registry_case(token: bool) -> usize {
    let mut env = Env::new();
    let reg = Served::start(&env.t, &registry_config(&env.t, token));
    let proxy = FaultProxy::start(&reg.host);
    session(&mut env, &proxy.host, Some("other/app"));
    let secrets = secrets(&proxy);
    if token {
        assert!(
            proxy.log().iter().any(|e| e.token_body.is_some()),
            "no token was issued"
        );
    }
    let log = std::fs::read_to_string(&reg.log).unwrap();
    assert!(!log.is_empty(), "the access log is on");
    assert_nothing_leaked(&env, &secrets, &[("the registry's log".into(), log)])
}

#[test]
fn bearer_tokens_and_passwords_never_leak_from_lade_registry() {
    let searched = lade_registry_case(true);
    eprintln!("secrets (lade registry, bearer tokens): {searched} outputs and files clean");
}

#[test]
fn basic_passwords_never_leak_from_lade_registry() {
    let searched = lade_registry_case(false);
    eprintln!("secrets (lade registry, Basic): {searched} outputs and files clean");
}

#[test]
fn basic_passwords_never_leak_with_docker_registry() {
    let mut env = Env::new();
    let reg = DockerRegistry::with_htpasswd(USER, PASSWORD);
    let proxy = FaultProxy::start(&reg.host);
    session(&mut env, &proxy.host, None);
    let secrets = secrets(&proxy);
    let log = reg.log().join("\n");
    let searched = assert_nothing_leaked(&env, &secrets, &[("docker-registry's log".into(), log)]);
    eprintln!("secrets (docker-registry, Basic): {searched} outputs and files clean");
}
