//! Access control and input hardening of `lade registry serve`, endpoint by endpoint and
//! role by role (issues 5 and 9), through a real server ([`lade_server::serve`] on
//! 127.0.0.1:0) spoken to in raw HTTP/1.1, so that no client normalizes a path on the way.
//!
//! The matrix: every endpoint the router serves × every role × a private repository
//! (`team/app`) and an anonymous-pull one (`public/app`), in htpasswd (Basic) mode and in
//! token mode. Roles: anonymous, wrong password, unknown user, a reader (pull on `team/*`),
//! a user of another repository (everything on `other/*`), the owner; in token mode also
//! an anonymous token, the owner's pull-only token, an expired, a tampered and a forged
//! token. Each request whose target a write would change is made afresh (by the admin)
//! before each role tries it. A refused request must answer the exact status, challenge
//! and envelope, carry no data (no digest, no repository name, no internal text, no
//! `Location`/digest headers) and leave the storage's files and sizes as they were.
//!
//! Policies pinned here:
//! - `/healthz` is open: it carries no data.
//! - `/metrics` needs an authenticated user once auth is on (Basic credentials in both
//!   modes, so that a Prometheus scraper can use `basic_auth`, or a user's token), never an
//!   anonymous caller or token: the counters name no repository but show the registry's
//!   activity. Its challenge is Basic in both modes.
//! - `/v2/_catalog` and `/v1/search` list only what the caller may pull (in token mode,
//!   what the rules let the token's subject pull).
//! - An authenticated user the rules refuse gets 403 `DENIED` in Basic mode. In token mode
//!   a token without the scope gets 401 with a challenge naming the scope, as Docker's
//!   distribution answers: the client asks `/token` again, which grants what the rules
//!   allow.
//! - In token mode a Basic header is not a token: it is ignored (anonymous), so anonymous
//!   pull still works with it; wrong passwords are refused where they are checked, at
//!   `/token`.

#![expect(clippy::unwrap_used, reason = "test code: a failure shows where")]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use lade_server::ServerConfig;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SECRET: &str = "the acl test signing key";
const USERS: &[(&str, &str)] = &[
    ("alice", "alicepass"),
    ("bob", "bobpass"),
    ("carol", "carolpass"),
];
const PRIVATE: &str = "team/app";
const PUBLIC: &str = "public/app";
const OTHER: &str = "other/app";
const REPOS: [&str; 3] = [OTHER, PUBLIC, PRIVATE];

// --- raw HTTP -----------------------------------------------------------------------------

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    what: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.what, self.text()))
    }

    #[track_caller]
    fn status(self, want: u16) -> Self {
        assert_eq!(self.status, want, "{}: {}", self.what, self.text());
        self
    }

    /// The status, and the envelope's only error code (HEAD answers carry no body).
    #[track_caller]
    fn error(self, status: u16, code: &str) -> Self {
        let r = self.status(status);
        if !r.what.starts_with("HEAD ") {
            let v = r.json();
            assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{}", r.what);
            assert_eq!(v["errors"][0]["code"], code, "{}: {v}", r.what);
            assert!(v["errors"][0]["message"].is_string(), "{}: {v}", r.what);
        }
        r
    }

    #[track_caller]
    fn location(&self) -> String {
        self.header("location")
            .unwrap_or_else(|| panic!("{}: no Location", self.what))
            .to_owned()
    }
}

/// One request on its own connection; `target` goes on the request line as it is.
fn http(host: &str, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Resp {
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
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {target}: no response head"));
    let text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
    {
        body = dechunk(&body);
    }
    let shown: String = target.chars().take(120).collect();
    Resp {
        status,
        headers,
        body,
        what: format!("{method} {shown} → {status}"),
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&b[..end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        b = &b[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

// --- a registry in this process, over loopback -------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Basic,
    Token,
}

/// `lade registry serve --config FILE` on a runtime of its own; stopped on drop.
struct Server {
    host: String,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Server {
    /// `[auth]` is given as TOML, `{htpasswd}` standing for the users' file; `None` is an
    /// open registry. Beside the storage (`data/`) lies a file a path trick could reach.
    fn start(auth: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let users: String = USERS
            .iter()
            .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 4).unwrap()))
            .collect();
        fs_err::write(&htpasswd, users).unwrap();
        fs_err::write(dir.path().join("outside.txt"), "not the registry's").unwrap();
        let config_path = dir.path().join("registry.toml");
        let auth = auth
            .unwrap_or_default()
            .replace("{htpasswd}", &format!("{htpasswd:?}"));
        fs_err::write(
            &config_path,
            format!(
                "addr = \"127.0.0.1:0\"\nroot = {:?}\naccess_log = false\n{auth}",
                dir.path().join("data")
            ),
        )
        .unwrap();
        let config = ServerConfig::from_file(&config_path).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            lade_server::serve(&config, move |a| ready.send(a).unwrap(), shutdown)
                .await
                .unwrap();
        });
        let addr = addr.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            host: addr.to_string(),
            dir,
            stop: Some(stop),
            rt: Some(rt),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Every file under `dir` (relative) with its size, sorted.
    fn files(dir: &Path) -> Vec<(String, u64)> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
            for e in fs_err::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p.strip_prefix(base).unwrap().display().to_string();
                    out.push((rel, e.metadata().unwrap().len()));
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// The storage's files and sizes.
    fn snapshot(&self) -> Vec<(String, u64)> {
        Self::files(&self.data())
    }

    /// What lies beside the storage, with the contents of the bait file.
    fn outside(&self) -> (Vec<(String, u64)>, String) {
        let all = Self::files(self.dir.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("data/"))
            .collect();
        let bait = fs_err::read_to_string(self.dir.path().join("outside.txt")).unwrap();
        (all, bait)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// alice may do everything everywhere, bob pull `team/*`, carol everything on `other/*`;
/// anyone may pull `public/*`.
fn auth_toml(mode: Mode) -> String {
    format!(
        r#"[auth]
htpasswd = {{htpasswd}}
anonymous_pull = ["public/*"]
token = {}
token_secret = "{SECRET}"
[[auth.rules]]
users = ["alice"]
repositories = ["*"]
actions = ["*"]
[[auth.rules]]
users = ["bob"]
repositories = ["team/*"]
actions = ["pull"]
[[auth.rules]]
users = ["carol"]
repositories = ["other/*"]
actions = ["pull", "push", "delete"]
"#,
        mode == Mode::Token
    )
}

// --- content ------------------------------------------------------------------------------

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("Basic {}", b64.encode(format!("{user}:{password}")))
}

/// A one-layer image whose bytes are its repository's own.
struct Image {
    config: Vec<u8>,
    layer: Vec<u8>,
    manifest: Vec<u8>,
}

impl Image {
    fn new(repo: &str) -> Self {
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "author": format!("secret author of {repo}"),
        }))
        .unwrap();
        let layer = format!("layer bytes of {repo}").repeat(20).into_bytes();
        let mut image = Self {
            config,
            layer,
            manifest: Vec::new(),
        };
        image.manifest = image.manifest_variant(None);
        image
    }

    /// The manifest; with `n`, another manifest over the same blobs.
    fn manifest_variant(&self, n: Option<u64>) -> Vec<u8> {
        let d = |mt: &str, b: &[u8]| json!({"mediaType": mt, "digest": sha256(b), "size": b.len()});
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": d("application/vnd.oci.image.config.v1+json", &self.config),
            "layers": [d("application/vnd.oci.image.layer.v1.tar", &self.layer)],
        });
        if let Some(n) = n {
            m["annotations"] = json!({"n": n.to_string()});
        }
        serde_json::to_vec(&m).unwrap()
    }
}

// --- requests, roles and what they may do -------------------------------------------------

struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body an allowed GET must return.
    want: Option<Vec<u8>>,
}

impl Req {
    fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            want: None,
        }
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }

    fn want(mut self, b: &[u8]) -> Self {
        self.want = Some(b.to_vec());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    WrongPassword,
    UnknownUser,
    /// bob: pull on `team/*`.
    Reader,
    /// carol: everything on `other/*` (in token mode, her token for `other/app`).
    Stranger,
    Owner,
    AnonymousToken,
    /// alice's token with only `pull` on the repository.
    PullToken,
    ExpiredToken,
    TamperedToken,
    /// Signed with another key.
    ForgedToken,
}

const BASIC_ROLES: &[Role] = &[
    Role::Anonymous,
    Role::WrongPassword,
    Role::UnknownUser,
    Role::Reader,
    Role::Stranger,
    Role::Owner,
];

const TOKEN_ROLES: &[Role] = &[
    Role::Anonymous,
    Role::AnonymousToken,
    Role::Reader,
    Role::Stranger,
    Role::PullToken,
    Role::ExpiredToken,
    Role::TamperedToken,
    Role::ForgedToken,
    Role::Owner,
];

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Pull,
    Push,
    Delete,
    /// `/v2/`
    Ping,
    Catalog,
    Search,
    Metrics,
    Health,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Unauthorized,
    Denied,
}

/// The policy, as a table.
fn expected(mode: Mode, role: Role, need: Need, public: bool) -> Outcome {
    use Outcome::*;
    use Role::*;
    if need == Need::Health {
        return Allowed;
    }
    let data = matches!(need, Need::Pull | Need::Push | Need::Delete);
    match (mode, role) {
        (_, Owner) => Allowed,
        (_, Anonymous) => match need {
            Need::Pull if public => Allowed,
            Need::Search => Allowed, // filtered: something is open to anonymous pulls
            _ => Unauthorized,
        },
        (Mode::Basic, WrongPassword | UnknownUser) => Unauthorized,
        (Mode::Basic, Reader) => match need {
            Need::Pull => Allowed,
            Need::Push | Need::Delete => Denied,
            _ => Allowed,
        },
        (Mode::Basic, Stranger) => match need {
            Need::Pull if public => Allowed,
            Need::Pull | Need::Push | Need::Delete => Denied,
            _ => Allowed,
        },
        (Mode::Token, AnonymousToken) => match need {
            Need::Pull if public => Allowed,
            Need::Ping | Need::Catalog | Need::Search => Allowed,
            _ => Unauthorized,
        },
        (Mode::Token, Reader | PullToken) => match need {
            Need::Push | Need::Delete => Unauthorized,
            _ => Allowed,
        },
        // A token for other/app opens nothing here, not even what anyone may pull.
        (Mode::Token, Stranger) if data => Unauthorized,
        (Mode::Token, Stranger) => Allowed,
        (Mode::Token, ExpiredToken | TamperedToken | ForgedToken) => Unauthorized,
        (mode, role) => unreachable!("{role:?} is not a role of {mode:?} mode"),
    }
}

/// What `_catalog` and search show the role.
fn visible(role: Role) -> Vec<&'static str> {
    match role {
        Role::Anonymous | Role::AnonymousToken => vec![PUBLIC],
        Role::Reader => vec![PUBLIC, PRIVATE],
        Role::Stranger => vec![OTHER, PUBLIC],
        Role::Owner | Role::PullToken => vec![OTHER, PUBLIC, PRIVATE],
        _ => unreachable!("{role:?} lists nothing"),
    }
}

// --- the fixture: three repositories with an image each ------------------------------------

struct Fixture {
    server: Server,
    mode: Mode,
    images: BTreeMap<&'static str, Image>,
    /// May do everything everywhere (alice; in token mode her token for all three).
    admin: String,
    seq: Cell<u64>,
}

impl Fixture {
    fn new(mode: Mode) -> Self {
        let server = Server::start(Some(&auth_toml(mode)));
        let mut f = Self {
            server,
            mode,
            images: REPOS.iter().map(|r| (*r, Image::new(r))).collect(),
            admin: basic("alice", "alicepass"),
            seq: Cell::new(0),
        };
        if mode == Mode::Token {
            let scopes: Vec<String> = REPOS
                .iter()
                .map(|r| format!("repository:{r}:pull,push,delete"))
                .collect();
            f.admin = format!(
                "Bearer {}",
                f.token(Some(&basic("alice", "alicepass")), &scopes)
            );
        }
        for repo in REPOS {
            let image = &f.images[repo];
            f.push_blob(repo, &image.config);
            f.push_blob(repo, &image.layer);
            f.put_manifest(repo, "v1", &image.manifest);
        }
        f
    }

    fn host(&self) -> &str {
        &self.server.host
    }

    fn unique(&self) -> u64 {
        self.seq.set(self.seq.get() + 1);
        self.seq.get()
    }

    fn send(&self, r: &Req, authorization: Option<&str>) -> Resp {
        let mut headers = r.headers.clone();
        if let Some(a) = authorization {
            headers.push(("Authorization".into(), a.to_owned()));
        }
        http(self.host(), r.method, &r.path, &headers, &r.body)
    }

    fn as_admin(&self, r: Req) -> Resp {
        self.send(&r, Some(&self.admin.clone()))
    }

    /// A token from `/token`.
    fn token(&self, authorization: Option<&str>, scopes: &[String]) -> String {
        let query: Vec<String> = scopes.iter().map(|s| format!("scope={s}")).collect();
        let r = Req::new(
            "GET",
            format!("/token?service=lade-registry&{}", query.join("&")),
        );
        self.send(&r, authorization).status(200).json()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn session(&self, repo: &str) -> String {
        self.as_admin(Req::new("POST", format!("/v2/{repo}/blobs/uploads/")))
            .status(202)
            .location()
    }

    fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let location = self.session(repo);
        self.as_admin(Req::new("PUT", format!("{location}?digest={digest}")).body(bytes))
            .status(201);
        digest
    }

    fn put_manifest(&self, repo: &str, reference: &str, bytes: &[u8]) {
        self.as_admin(
            Req::new("PUT", format!("/v2/{repo}/manifests/{reference}"))
                .header("Content-Type", OCI_MANIFEST)
                .body(bytes),
        )
        .status(201);
    }

    fn fresh_bytes(&self) -> Vec<u8> {
        format!("fresh blob {}", self.unique()).into_bytes()
    }

    /// The Authorization header of `role` acting on `repo`.
    fn credential(&self, role: Role, repo: &str) -> Option<String> {
        let all = format!("repository:{repo}:pull,push,delete");
        let bearer = |t: String| Some(format!("Bearer {t}"));
        match (self.mode, role) {
            (_, Role::Anonymous) => None,
            (Mode::Basic, Role::WrongPassword) => Some(basic("alice", "wrong")),
            (Mode::Basic, Role::UnknownUser) => Some(basic("mallory", "alicepass")),
            (Mode::Basic, Role::Reader) => Some(basic("bob", "bobpass")),
            (Mode::Basic, Role::Stranger) => Some(basic("carol", "carolpass")),
            (Mode::Basic, Role::Owner) => Some(basic("alice", "alicepass")),
            (Mode::Token, Role::AnonymousToken) => bearer(self.token(None, &[all])),
            (Mode::Token, Role::Reader) => {
                bearer(self.token(Some(&basic("bob", "bobpass")), &[all]))
            }
            (Mode::Token, Role::Stranger) => bearer(self.token(
                Some(&basic("carol", "carolpass")),
                &[format!("repository:{OTHER}:pull,push,delete")],
            )),
            (Mode::Token, Role::PullToken) => bearer(self.token(
                Some(&basic("alice", "alicepass")),
                &[format!("repository:{repo}:pull")],
            )),
            // A mount also asks to pull the source.
            (Mode::Token, Role::Owner) => bearer(self.token(
                Some(&basic("alice", "alicepass")),
                &[all, format!("repository:{OTHER}:pull")],
            )),
            (Mode::Token, Role::ExpiredToken) => bearer(sign(SECRET, "alice", -60, repo)),
            (Mode::Token, Role::ForgedToken) => {
                bearer(sign("not the registry's key!", "alice", 600, repo))
            }
            (Mode::Token, Role::TamperedToken) => {
                let token = self.token(Some(&basic("alice", "alicepass")), &[all]);
                let (payload, sig) = token.split_once('.').unwrap();
                let flipped = if sig.starts_with('A') { "B" } else { "A" };
                bearer(format!("{payload}.{flipped}{}", &sig[1..]))
            }
            (mode, role) => unreachable!("{role:?} is not a role of {mode:?} mode"),
        }
    }

    /// Strings no refused answer may carry: every digest, every repository name, the
    /// authors and layer bytes, the storage's path.
    fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.server.data().display().to_string(), "internal".into()];
        for (repo, image) in &self.images {
            out.push((*repo).to_owned());
            for b in [&image.config, &image.layer, &image.manifest] {
                out.push(sha256(b)[7..23].to_owned());
            }
            out.push(format!("secret author of {repo}"));
            out.push(format!("layer bytes of {repo}"));
        }
        out
    }
}

/// A token as the registry would sign it with `key`: `alice` with every action on `repo`,
/// expiring `ttl` seconds from now.
fn sign(key: &str, sub: &str, ttl: i64, repo: &str) -> String {
    use hmac::{KeyInit, Mac};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims =
        json!({"sub": sub, "exp": now + ttl, "access": [[repo, ["pull", "push", "delete"]]]});
    let payload = b64.encode(claims.to_string());
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    format!("{payload}.{}", b64.encode(mac.finalize().into_bytes()))
}

// --- the endpoints ---------------------------------------------------------------------------

struct Endpoint {
    name: &'static str,
    need: Need,
    /// The status when allowed.
    ok: u16,
    /// Builds the request on a repository, first making (as the admin) what it acts on.
    make: fn(&Fixture, &str) -> Req,
}

fn endpoints() -> Vec<Endpoint> {
    let e = |name, need, ok, make| Endpoint {
        name,
        need,
        ok,
        make,
    };
    vec![
        e("base GET", Need::Ping, 200, |_, _| Req::new("GET", "/v2/")),
        e("base HEAD", Need::Ping, 200, |_, _| {
            Req::new("HEAD", "/v2/")
        }),
        e("catalog", Need::Catalog, 200, |_, _| {
            Req::new("GET", "/v2/_catalog")
        }),
        e("catalog page", Need::Catalog, 200, |_, _| {
            Req::new("GET", "/v2/_catalog?n=1")
        }),
        e("tags list", Need::Pull, 200, |_, r| {
            Req::new("GET", format!("/v2/{r}/tags/list"))
        }),
        e("manifest GET tag", Need::Pull, 200, |f, r| {
            Req::new("GET", format!("/v2/{r}/manifests/v1")).want(&f.images[r].manifest)
        }),
        e("manifest HEAD tag", Need::Pull, 200, |_, r| {
            Req::new("HEAD", format!("/v2/{r}/manifests/v1"))
        }),
        e("manifest GET digest", Need::Pull, 200, |f, r| {
            let m = &f.images[r].manifest;
            Req::new("GET", format!("/v2/{r}/manifests/{}", sha256(m))).want(m)
        }),
        e("manifest HEAD digest", Need::Pull, 200, |f, r| {
            let d = sha256(&f.images[r].manifest);
            Req::new("HEAD", format!("/v2/{r}/manifests/{d}"))
        }),
        e("manifest PUT tag", Need::Push, 201, |f, r| {
            Req::new("PUT", format!("/v2/{r}/manifests/t{}", f.unique()))
                .header("Content-Type", OCI_MANIFEST)
                .body(f.images[r].manifest.clone())
        }),
        e("manifest PUT digest", Need::Push, 201, |f, r| {
            let m = f.images[r].manifest_variant(Some(f.unique()));
            Req::new("PUT", format!("/v2/{r}/manifests/{}", sha256(&m)))
                .header("Content-Type", OCI_MANIFEST)
                .body(m)
        }),
        e("manifest DELETE tag", Need::Delete, 202, |f, r| {
            let tag = format!("d{}", f.unique());
            f.put_manifest(r, &tag, &f.images[r].manifest);
            Req::new("DELETE", format!("/v2/{r}/manifests/{tag}"))
        }),
        e("manifest DELETE digest", Need::Delete, 202, |f, r| {
            let m = f.images[r].manifest_variant(Some(f.unique()));
            let d = sha256(&m);
            f.put_manifest(r, &d, &m);
            Req::new("DELETE", format!("/v2/{r}/manifests/{d}"))
        }),
        e("blob GET", Need::Pull, 200, |f, r| {
            let c = &f.images[r].config;
            Req::new("GET", format!("/v2/{r}/blobs/{}", sha256(c))).want(c)
        }),
        e("blob GET range", Need::Pull, 206, |f, r| {
            let l = &f.images[r].layer;
            Req::new("GET", format!("/v2/{r}/blobs/{}", sha256(l)))
                .header("Range", "bytes=0-9")
                .want(&l[..10])
        }),
        e("blob HEAD", Need::Pull, 200, |f, r| {
            Req::new(
                "HEAD",
                format!("/v2/{r}/blobs/{}", sha256(&f.images[r].layer)),
            )
        }),
        e("blob DELETE", Need::Delete, 202, |f, r| {
            let d = f.push_blob(r, &f.fresh_bytes());
            Req::new("DELETE", format!("/v2/{r}/blobs/{d}"))
        }),
        e("upload POST", Need::Push, 202, |_, r| {
            Req::new("POST", format!("/v2/{r}/blobs/uploads/"))
        }),
        e("upload POST digest", Need::Push, 201, |f, r| {
            let b = f.fresh_bytes();
            Req::new(
                "POST",
                format!("/v2/{r}/blobs/uploads/?digest={}", sha256(&b)),
            )
            .header("Content-Type", "application/octet-stream")
            .body(b)
        }),
        e("upload POST mount", Need::Push, 201, |f, r| {
            let d = f.push_blob(OTHER, &f.fresh_bytes());
            Req::new(
                "POST",
                format!("/v2/{r}/blobs/uploads/?mount={d}&from={OTHER}"),
            )
        }),
        e("upload GET", Need::Push, 204, |f, r| {
            Req::new("GET", f.session(r))
        }),
        e("upload PATCH", Need::Push, 202, |f, r| {
            Req::new("PATCH", f.session(r))
                .header("Content-Type", "application/octet-stream")
                .body(f.fresh_bytes())
        }),
        e("upload PUT", Need::Push, 201, |f, r| {
            let b = f.fresh_bytes();
            Req::new("PUT", format!("{}?digest={}", f.session(r), sha256(&b))).body(b)
        }),
        e("upload DELETE", Need::Push, 204, |f, r| {
            Req::new("DELETE", f.session(r))
        }),
        e("referrers", Need::Pull, 200, |f, r| {
            let d = sha256(&f.images[r].manifest);
            Req::new("GET", format!("/v2/{r}/referrers/{d}"))
        }),
        e("search", Need::Search, 200, |_, _| {
            Req::new("GET", "/v1/search?q=app")
        }),
        e("metrics", Need::Metrics, 200, |_, _| {
            Req::new("GET", "/metrics")
        }),
        e("healthz GET", Need::Health, 200, |_, _| {
            Req::new("GET", "/healthz")
        }),
        e("healthz HEAD", Need::Health, 200, |_, _| {
            Req::new("HEAD", "/healthz")
        }),
    ]
}

/// The challenge a 401 must carry.
fn challenge(f: &Fixture, need: Need, repo: &str) -> String {
    if f.mode == Mode::Basic || need == Need::Metrics {
        return "Basic realm=\"lade registry\"".into();
    }
    let realm = format!(
        "Bearer realm=\"http://{}/token\",service=\"lade-registry\"",
        f.host()
    );
    match need {
        Need::Pull => format!("{realm},scope=\"repository:{repo}:pull\""),
        Need::Push => format!("{realm},scope=\"repository:{repo}:pull,push\""),
        Need::Delete => format!("{realm},scope=\"repository:{repo}:delete\""),
        _ => realm,
    }
}

/// A refused answer: the status, the challenge, the envelope and nothing else.
#[track_caller]
fn assert_refused(f: &Fixture, resp: &Resp, outcome: Outcome, need: Need, repo: &str, what: &str) {
    let (status, code) = match outcome {
        Outcome::Unauthorized => (401, "UNAUTHORIZED"),
        Outcome::Denied => (403, "DENIED"),
        Outcome::Allowed => unreachable!(),
    };
    assert_eq!(resp.status, status, "{what}: {}", resp.text());
    let www = resp.header("www-authenticate");
    if outcome == Outcome::Unauthorized {
        assert_eq!(www, Some(challenge(f, need, repo).as_str()), "{what}");
    } else {
        assert_eq!(www, None, "{what}");
    }
    for h in [
        "docker-content-digest",
        "location",
        "link",
        "range",
        "content-range",
        "etag",
        "oci-subject",
        "docker-upload-uuid",
    ] {
        assert_eq!(resp.header(h), None, "{what}: {h}");
    }
    if resp.what.starts_with("HEAD ") {
        assert!(resp.body.is_empty(), "{what}");
        return;
    }
    let v = resp.json();
    assert_eq!(v["errors"][0]["code"], code, "{what}: {v}");
    let message = match outcome {
        Outcome::Unauthorized => "authentication required",
        _ => "requested access to the resource is denied",
    };
    assert_eq!(
        v,
        json!({"errors": [{"code": code, "message": message, "detail": null}]}),
        "{what}"
    );
    let text = resp.text();
    for secret in f.secrets() {
        assert!(!text.contains(&secret), "{what}: leaks {secret:?}: {text}");
    }
}

/// An allowed answer: the status, the body where known, and listings filtered.
#[track_caller]
fn assert_allowed(f: &Fixture, resp: &Resp, ep: &Endpoint, req: &Req, role: Role, what: &str) {
    assert_eq!(resp.status, ep.ok, "{what}: {}", resp.text());
    if let Some(want) = &req.want {
        assert!(&resp.body == want, "{what}: other bytes");
    }
    let hidden: Vec<&str> = match ep.need {
        Need::Catalog | Need::Search => {
            let shown = visible(role);
            REPOS
                .iter()
                .copied()
                .filter(|r| !shown.contains(r))
                .collect()
        }
        _ => Vec::new(),
    };
    match (ep.need, ep.name) {
        (Need::Catalog, "catalog") => {
            assert_eq!(
                resp.json(),
                json!({"repositories": visible(role)}),
                "{what}"
            );
        }
        (Need::Catalog, _) => {
            let first = visible(role)[0];
            assert_eq!(resp.json(), json!({"repositories": [first]}), "{what}");
            let more = visible(role).len() > 1;
            assert_eq!(
                resp.header("link").map(str::to_owned),
                more.then(|| format!("</v2/_catalog?n=1&last={first}>; rel=\"next\"")),
                "{what}"
            );
        }
        (Need::Search, _) => {
            let names: Vec<String> = resp.json()["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(names, visible(role), "{what}");
        }
        (Need::Metrics, _) => {
            assert!(
                resp.text().contains("lade_registry_requests_total"),
                "{what}"
            );
        }
        _ => {}
    }
    let text = resp.text();
    for name in hidden {
        assert!(!text.contains(name), "{what}: names {name}: {text}");
        let image = &f.images[name];
        for b in [&image.config, &image.layer, &image.manifest] {
            assert!(
                !text.contains(&sha256(b)[7..]),
                "{what}: a digest of {name}"
            );
        }
    }
}

fn run_matrix(mode: Mode, roles: &[Role]) {
    let f = Fixture::new(mode);
    let mut cases = 0;
    for ep in endpoints() {
        for repo in [PRIVATE, PUBLIC] {
            let public = repo == PUBLIC;
            for &role in roles {
                let outcome = expected(mode, role, ep.need, public);
                let auth = f.credential(role, repo);
                let req = (ep.make)(&f, repo);
                let before = f.server.snapshot();
                let resp = f.send(&req, auth.as_deref());
                let what = format!("{mode:?} {role:?} {} on {repo}: {}", ep.name, resp.what);
                match outcome {
                    Outcome::Allowed => assert_allowed(&f, &resp, &ep, &req, role, &what),
                    refused => {
                        assert_refused(&f, &resp, refused, ep.need, repo, &what);
                        assert_eq!(f.server.snapshot(), before, "{what}: storage changed");
                    }
                }
                if !matches!(ep.need, Need::Push | Need::Delete) {
                    assert_eq!(
                        f.server.snapshot(),
                        before,
                        "{what}: a read changed storage"
                    );
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, endpoints().len() * 2 * roles.len());
}

// --- the tests -------------------------------------------------------------------------------

#[test]
fn basic_mode_every_endpoint_every_role() {
    run_matrix(Mode::Basic, BASIC_ROLES);
}

#[test]
fn token_mode_every_endpoint_every_role() {
    run_matrix(Mode::Token, TOKEN_ROLES);
}

/// A refusal says the same about a repository that exists and one that does not: no
/// oracle for private names.
#[test]
fn refusals_do_not_tell_whether_a_repository_exists() {
    for (mode, roles) in [(Mode::Basic, BASIC_ROLES), (Mode::Token, TOKEN_ROLES)] {
        let f = Fixture::new(mode);
        for &role in roles {
            for (method, tail) in [
                ("GET", "manifests/v1"),
                ("GET", "tags/list"),
                ("DELETE", "manifests/v1"),
                ("POST", "blobs/uploads/"),
            ] {
                let real = f.send(
                    &Req::new(method, format!("/v2/{PRIVATE}/{tail}")),
                    f.credential(role, PRIVATE).as_deref(),
                );
                if real.status < 400 {
                    continue;
                }
                let ghost = f.send(
                    &Req::new(method, format!("/v2/team/ghost/{tail}")),
                    f.credential(role, "team/ghost").as_deref(),
                );
                let what = format!("{mode:?} {role:?} {method} {tail}");
                assert_eq!(real.status, ghost.status, "{what}");
                assert_eq!(real.body, ghost.body, "{what}");
            }
        }
    }
}

#[test]
fn token_endpoint_grants_what_the_rules_say() {
    let f = Fixture::new(Mode::Token);
    let scope = |r: &str| format!("scope=repository:{r}:pull,push,delete");
    let all = format!("{}&{}&{}", scope(PRIVATE), scope(PUBLIC), scope(OTHER));
    let claims = |token: &str| -> Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        serde_json::from_slice(&b64.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
    };
    for (who, authorization, want) in [
        (
            "alice",
            Some(basic("alice", "alicepass")),
            json!([
                [PRIVATE, ["pull", "push", "delete"]],
                [PUBLIC, ["pull", "push", "delete"]],
                [OTHER, ["pull", "push", "delete"]]
            ]),
        ),
        (
            "bob",
            Some(basic("bob", "bobpass")),
            json!([[PRIVATE, ["pull"]], [PUBLIC, ["pull"]]]),
        ),
        (
            "carol",
            Some(basic("carol", "carolpass")),
            json!([[PUBLIC, ["pull"]], [OTHER, ["pull", "push", "delete"]]]),
        ),
        ("anonymous", None, json!([[PUBLIC, ["pull"]]])),
        (
            "empty Basic",
            Some(basic("", "")),
            json!([[PUBLIC, ["pull"]]]),
        ),
    ] {
        let r = Req::new("GET", format!("/token?service=lade-registry&{all}"));
        let token = f.send(&r, authorization.as_deref()).status(200).json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let c = claims(&token);
        assert_eq!(c["access"], want, "{who}");
        let sub = if authorization.is_some() && who != "empty Basic" {
            who
        } else {
            ""
        };
        assert_eq!(c["sub"], sub, "{who}");
    }
    // Wrong credentials get no token at all, anonymous or not.
    for cred in [
        basic("alice", "wrong"),
        basic("mallory", "alicepass"),
        basic("alice", ""),
        "Basic !!!".to_owned(),
    ] {
        let before = f.server.snapshot();
        let r = Req::new("GET", format!("/token?service=lade-registry&{all}"));
        let resp = f.send(&r, Some(&cred)).error(401, "UNAUTHORIZED");
        assert_eq!(
            resp.header("www-authenticate"),
            Some("Basic realm=\"lade registry token\"")
        );
        assert!(!resp.text().contains("token\":"), "{cred}: {}", resp.text());
        assert_eq!(f.server.snapshot(), before);
    }
    // Names the router would refuse are granted nothing, whatever pattern they start with.
    for name in [
        "public/../team/app",
        "public/app/..",
        "PUBLIC/app",
        "public//app",
        "*",
    ] {
        let r = Req::new("GET", format!("/token?scope=repository:{name}:pull"));
        let token = f.send(&r, None).status(200).json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(claims(&token)["access"], json!([]), "{name}");
    }
    // Other kinds of scope are granted nothing either.
    let r = Req::new(
        "GET",
        "/token?scope=registry:catalog:*&scope=repository:team/app:*",
    );
    let token = f
        .send(&r, Some(&basic("alice", "alicepass")))
        .status(200)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims(&token)["access"], json!([]));
    // The forging method is sound: the registry's own key with a future expiry is accepted,
    // so the expired and forged tokens of the matrix are refused for what they are.
    let good = sign(SECRET, "alice", 600, PRIVATE);
    f.send(
        &Req::new("GET", format!("/v2/{PRIVATE}/manifests/v1")),
        Some(&format!("Bearer {good}")),
    )
    .status(200);
    for bad in [
        "",
        ".",
        "x.y",
        &good[..good.len() - 1],
        &good.replace('.', ""),
    ] {
        f.send(
            &Req::new("GET", format!("/v2/{PRIVATE}/manifests/v1")),
            Some(&format!("Bearer {bad}")),
        )
        .error(401, "UNAUTHORIZED");
    }
    // A Basic header is no token: anonymous, so public pulls work and nothing else does.
    let wrong = basic("alice", "wrong");
    let r = Req::new("GET", format!("/v2/{PUBLIC}/manifests/v1"));
    assert_eq!(
        f.send(&r, Some(&wrong)).status(200).body,
        f.images[PUBLIC].manifest
    );
    for path in [format!("/v2/{PRIVATE}/manifests/v1"), "/v2/_catalog".into()] {
        let r = Req::new("GET", path);
        f.send(&r, Some(&basic("alice", "alicepass")))
            .error(401, "UNAUTHORIZED");
    }
    // Metrics: Basic credentials work in token mode too (a scraper's `basic_auth`).
    let m = Req::new("GET", "/metrics");
    f.send(&m, Some(&basic("bob", "bobpass"))).status(200);
    f.send(&m, Some(&basic("bob", "wrong")))
        .error(401, "UNAUTHORIZED");
}

#[test]
fn htpasswd_mode_has_no_token_endpoint_and_an_open_registry_is_open() {
    let f = Fixture::new(Mode::Basic);
    let r = Req::new("GET", format!("/token?scope=repository:{PUBLIC}:pull"));
    let resp = f
        .send(&r, Some(&basic("alice", "alicepass")))
        .error(404, "UNSUPPORTED");
    assert!(!resp.text().contains("token\":"));

    // Without `[auth]`, everything is open, metrics included.
    let open = Server::start(None);
    for path in [
        "/v2/",
        "/v2/_catalog",
        "/metrics",
        "/healthz",
        "/v1/search?q=x",
    ] {
        http(&open.host, "GET", path, &[], b"").status(200);
    }
    http(&open.host, "GET", "/token", &[], b"").error(404, "UNSUPPORTED");
}

/// Uploads and mounts stay in their repository: another repository's session id is
/// unknown, a mount from a repository the caller may not pull falls back to a new session
/// and links nothing.
#[test]
fn uploads_and_mounts_do_not_cross_repositories() {
    for mode in [Mode::Basic, Mode::Token] {
        let f = Fixture::new(mode);
        let theirs = f.session(OTHER);
        let id = theirs.rsplit('/').next().unwrap().to_owned();
        // carol (who may push to other/app) and alice try alice's team/app session by id.
        let foreign = format!("/v2/{PRIVATE}/blobs/uploads/{id}");
        for (method, query) in [
            ("GET", ""),
            ("PATCH", ""),
            ("PUT", "?digest="),
            ("DELETE", ""),
        ] {
            let path = if query.is_empty() {
                foreign.clone()
            } else {
                format!("{foreign}{query}{}", sha256(b"x"))
            };
            let before = f.server.snapshot();
            let r = Req::new(method, path).body("x");
            f.send(&r, f.credential(Role::Owner, PRIVATE).as_deref())
                .error(404, "BLOB_UPLOAD_UNKNOWN");
            assert_eq!(f.server.snapshot(), before, "{mode:?} {method}");
        }
        // The session is intact where it belongs.
        let status = f.as_admin(Req::new("GET", theirs.clone())).status(204);
        assert_eq!(status.header("range"), Some("0-0"));

        // carol mounts team/app's layer into other/app: she may not pull team/app.
        let layer = sha256(&f.images[PRIVATE].layer);
        let carol = match mode {
            Mode::Basic => basic("carol", "carolpass"),
            Mode::Token => format!(
                "Bearer {}",
                f.token(
                    Some(&basic("carol", "carolpass")),
                    &[
                        format!("repository:{OTHER}:pull,push"),
                        format!("repository:{PRIVATE}:pull"),
                    ],
                )
            ),
        };
        let r = Req::new(
            "POST",
            format!("/v2/{OTHER}/blobs/uploads/?mount={layer}&from={PRIVATE}"),
        );
        let resp = f.send(&r, Some(&carol)).status(202);
        assert!(resp.header("docker-content-digest").is_none());
        let r = Req::new("GET", format!("/v2/{OTHER}/blobs/{layer}"));
        f.send(&r, Some(&carol)).error(404, "BLOB_UNKNOWN");
        // Nor can she reference it from a manifest of her own.
        let image = &f.images[PRIVATE];
        let r = Req::new("PUT", format!("/v2/{OTHER}/manifests/stolen"))
            .header("Content-Type", OCI_MANIFEST)
            .body(image.manifest.clone());
        f.send(&r, Some(&carol)).error(400, "MANIFEST_BLOB_UNKNOWN");
        // Nor list or find it.
        let r = Req::new("GET", format!("/v2/{PRIVATE}/tags/list"));
        let resp = f.send(&r, Some(&carol));
        assert!(resp.status == 401 || resp.status == 403, "{}", resp.what);
    }
}

/// A request a path trick makes, and the answer it must get.
struct Trick {
    method: &'static str,
    target: String,
    status: u16,
    code: &'static str,
    /// Answered before access is checked (the path alone decides), so the same without
    /// credentials; else an anonymous caller gets 401.
    early: bool,
}

fn trick(
    method: &'static str,
    target: impl Into<String>,
    status: u16,
    code: &'static str,
) -> Trick {
    Trick {
        method,
        target: target.into(),
        status,
        code,
        early: true,
    }
}

impl Trick {
    fn late(mut self) -> Self {
        self.early = false;
        self
    }
}

/// Path tricks through the real server, with and without credentials: the spec's codes,
/// no data, and no file touched inside or outside the storage.
#[test]
fn path_tricks_over_http() {
    const NAME: &str = "NAME_INVALID";
    const UNKNOWN: &str = "NAME_UNKNOWN";
    const UPLOAD: &str = "BLOB_UPLOAD_UNKNOWN";
    const DIGEST: &str = "DIGEST_INVALID";
    let f = Fixture::new(Mode::Basic);
    let host = f.host().to_owned();
    let owner = basic("alice", "alicepass");
    let theirs = f.session(OTHER);
    let their_id = theirs.rsplit('/').next().unwrap().to_owned();
    let mine = f.session(PRIVATE);
    let my_id = mine.rsplit('/').next().unwrap().to_owned();
    let config = sha256(&f.images[PRIVATE].config);
    let long = "a".repeat(256);
    let long_two = format!("team/{}", "b".repeat(251));
    let huge = "c/".repeat(8_000) + "c";
    let t129 = "t".repeat(129);
    let sha512 = format!("sha512:{}", "a".repeat(128));
    let md5 = "md5:d41d8cd98f00b204e9800998ecf8427e";
    let uploads = "/v2/team/app/blobs/uploads";
    let mut cases = vec![
        trick("GET", "/v2/../secret/manifests/v1", 400, NAME),
        trick("GET", "/v2/team/../../outside.txt/manifests/v1", 400, NAME),
        trick("GET", "/v2/team/app/../../../outside.txt", 404, UNKNOWN),
        trick("GET", "/v2/./team/app/tags/list", 400, NAME),
        trick("GET", "/v2/%2e%2e/%2e%2e/manifests/v1", 400, NAME),
        trick("GET", "/v2/team%2Fapp/manifests/v1", 400, NAME),
        trick("GET", "/v2/team%2fapp/tags/list", 400, NAME),
        trick("PUT", "/v2/team%2fapp/manifests/v2", 400, NAME),
        trick("GET", "/v2/team/app%00/tags/list", 400, NAME),
        trick("GET", "/v2/Team/App/manifests/v1", 400, NAME),
        trick("POST", "/v2/TEAM/app/blobs/uploads/", 400, NAME),
        trick("GET", format!("/v2/{long}/tags/list"), 400, NAME),
        trick("PUT", format!("/v2/{long_two}/manifests/v1"), 400, NAME),
        trick("POST", format!("/v2/{long}/blobs/uploads/"), 400, NAME),
        trick("GET", format!("/v2/{huge}/tags/list"), 400, NAME),
        trick("GET", "/v2/team//app/manifests/v1", 400, NAME),
        trick("POST", "/v2/team/app//blobs/uploads/", 400, NAME),
        trick("GET", "/v2//team/app/tags/list", 400, NAME),
        // Trailing slashes make paths the registry does not serve.
        trick("GET", "/v2/team/app/manifests/v1/", 404, UNKNOWN),
        trick("GET", "/v2/team/app/tags/list/", 404, UNKNOWN),
        trick(
            "DELETE",
            format!("/v2/team/app/blobs/{config}/"),
            404,
            UNKNOWN,
        ),
        trick("GET", "/v2/team/app/", 404, UNKNOWN),
        // Tags: at most 128 characters, not starting with `.` or `-`.
        trick(
            "PUT",
            format!("/v2/team/app/manifests/{t129}"),
            400,
            "MANIFEST_INVALID",
        ),
        trick(
            "PUT",
            "/v2/team/app/manifests/.hidden",
            400,
            "MANIFEST_INVALID",
        ),
        trick("PUT", "/v2/team/app/manifests/-x", 400, "MANIFEST_INVALID"),
        trick(
            "GET",
            format!("/v2/team/app/manifests/{t129}"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        trick(
            "DELETE",
            "/v2/team/app/manifests/.hidden",
            404,
            "MANIFEST_UNKNOWN",
        ),
        trick("HEAD", "/v2/team/app/manifests/-x", 404, "MANIFEST_UNKNOWN"),
        // Upload ids: malformed, walking the tree, another repository's, altered.
        trick("GET", format!("{uploads}/.."), 404, UPLOAD),
        trick("PATCH", format!("{uploads}/a.b"), 404, UPLOAD),
        trick("DELETE", format!("{uploads}/../x"), 404, UNKNOWN),
        trick("PUT", format!("{uploads}/../../version"), 404, UNKNOWN),
        trick("DELETE", format!("{uploads}/%2e%2e"), 400, NAME),
        trick("GET", format!("{uploads}/{their_id}"), 404, UPLOAD).late(),
        trick("PATCH", format!("{uploads}/{their_id}"), 404, UPLOAD).late(),
        trick("DELETE", format!("{uploads}/{their_id}"), 404, UPLOAD).late(),
        trick(
            "GET",
            format!("{uploads}/{}", my_id.to_uppercase()),
            404,
            UPLOAD,
        )
        .late(),
        trick("DELETE", format!("{uploads}/{my_id}0"), 404, UPLOAD).late(),
        trick("PUT", format!("{mine}?digest=../../version"), 400, DIGEST).late(),
        trick("POST", format!("{uploads}/?digest={md5}"), 400, DIGEST).late(),
        // A digest of an algorithm lade knows but never stores.
        trick(
            "GET",
            format!("/v2/team/app/blobs/{sha512}"),
            404,
            "BLOB_UNKNOWN",
        )
        .late(),
        trick(
            "GET",
            format!("/v2/team/app/manifests/{sha512}"),
            404,
            "MANIFEST_UNKNOWN",
        )
        .late(),
        // The absolute form of the request target reaches the same parser.
        trick(
            "GET",
            format!("http://{host}/v2/../secret/manifests/v1"),
            400,
            NAME,
        ),
    ];
    for d in [
        "sha256:xyz".to_owned(),
        format!("sha256:{}", "a".repeat(63)),
        format!("sha256:{}", "a".repeat(65)),
        format!("sha256:{}", "A".repeat(64)),
        md5.to_owned(),
        format!("sha256:{}..", "a".repeat(62)),
        "sha256:".to_owned(),
        format!(":{}", "a".repeat(64)),
    ] {
        for (method, kind) in [
            ("GET", "blobs"),
            ("HEAD", "blobs"),
            ("DELETE", "blobs"),
            ("GET", "manifests"),
            ("PUT", "manifests"),
            ("DELETE", "manifests"),
            ("GET", "referrers"),
        ] {
            cases.push(trick(
                method,
                format!("/v2/team/app/{kind}/{d}"),
                400,
                DIGEST,
            ));
        }
    }

    let outside = f.server.outside();
    for t in &cases {
        for cred in [None, Some(owner.as_str())] {
            let before = f.server.snapshot();
            let mut headers = vec![("Content-Type".to_owned(), OCI_MANIFEST.to_owned())];
            if let Some(c) = cred {
                headers.push(("Authorization".into(), c.to_owned()));
            }
            let resp = http(&host, t.method, &t.target, &headers, b"{}");
            let what = format!("{cred:?}: {}", resp.what);
            let resp = if t.early || cred.is_some() {
                resp.error(t.status, t.code)
            } else {
                let r = resp.error(401, "UNAUTHORIZED");
                let www = r.header("www-authenticate");
                assert_eq!(www, Some("Basic realm=\"lade registry\""), "{what}");
                r
            };
            assert!(resp.header("docker-content-digest").is_none(), "{what}");
            assert!(resp.header("location").is_none(), "{what}");
            // (An error may quote the path asked for, nothing else.)
            let text = resp.text();
            for secret in f
                .secrets()
                .iter()
                .filter(|s| !t.target.contains(s.as_str()))
            {
                assert!(!text.contains(secret), "{what}: leaks {secret:?}: {text}");
            }
            assert_eq!(f.server.snapshot(), before, "{what}: storage changed");
        }
    }
    assert_eq!(
        f.server.outside(),
        outside,
        "a file outside the storage changed"
    );
    // Both sessions are intact; the longest tag is a tag.
    f.as_admin(Req::new("GET", theirs)).status(204);
    f.as_admin(Req::new("GET", mine)).status(204);
    f.put_manifest(PRIVATE, &"t".repeat(128), &f.images[PRIVATE].manifest);
    // A mount whose source is a path trick is no mount: a new session, nothing linked.
    let layer = sha256(&f.images[OTHER].layer);
    for from in [
        "../other/app",
        "team/app/../../other/app",
        "other%2Fapp/..",
        "OTHER/app",
    ] {
        let r = Req::new(
            "POST",
            format!("/v2/team/ghost/blobs/uploads/?mount={layer}&from={from}"),
        );
        f.as_admin(r).status(202);
    }
    f.as_admin(Req::new("GET", format!("/v2/team/ghost/blobs/{layer}")))
        .error(404, "BLOB_UNKNOWN");
}
