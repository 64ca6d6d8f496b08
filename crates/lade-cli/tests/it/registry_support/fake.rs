//! A small registry that misbehaves on purpose: HTTP/1.1 on 127.0.0.1:0, a thread per
//! connection, one request per connection, manifests and blobs from memory, every request
//! logged, and a script of faults applied to the requests they match.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::{Image, OCI_MANIFEST, base64, digest_of};

/// The token the fake token endpoint hands out.
pub const TOKEN: &str = "t0ken-for-lade-tests";

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The value of a query parameter (percent-decoded).
    pub fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the registry wants clients to authenticate.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    /// `401` + `WWW-Authenticate: Bearer realm=…/token,service=SERVICE`; the token
    /// endpoint (on the same server) hands out [`TOKEN`] to anyone.
    Bearer { service: String },
    /// `401` + `WWW-Authenticate: Basic`; only these credentials pass.
    Basic { username: String, password: String },
}

/// What a fault does to the request it matches.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answers with this status (and headers) and an error envelope, nothing else.
    Status(u16, Vec<(String, String)>),
    /// Announces the whole body, sends its first N bytes, closes the connection.
    Cut(usize),
    /// Announces and sends only the first N bytes of the body (a short, clean answer).
    Short(usize),
    /// Answers `200` with the whole body even when a `Range` was asked for.
    IgnoreRange,
    /// Answers a `Range` with `206` and the body from this byte on, whatever was
    /// asked: a registry that says where its bytes start, just not where asked.
    RangeFrom(usize),
    /// Sends the body `chunk` bytes at a time, waiting `every` between chunks.
    Trickle { chunk: usize, every: Duration },
    /// Serves other bytes of the same length (the last byte flipped).
    Garble,
    /// Serves the body with N more bytes at its end.
    Pad(usize),
}

/// A fault applied to the next `times` requests whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub path: String,
    pub method: Option<String>,
    pub times: usize,
    pub action: Action,
}

impl Fault {
    /// Once, on the next request (any method) whose path contains `path`.
    pub fn on(path: &str, action: Action) -> Self {
        Self {
            path: path.to_owned(),
            method: None,
            times: 1,
            action,
        }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_owned());
        self
    }
}

/// (repository, tag or digest)
type ManifestKey = (String, String);
/// (media type, bytes)
type Served = (String, Vec<u8>);

#[derive(Debug, Default)]
struct Shared {
    port: u16,
    manifests: Mutex<HashMap<ManifestKey, Served>>,
    blobs: Mutex<HashMap<String, Vec<u8>>>,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<Request>>,
    auth: Mutex<Auth>,
    /// Blob GETs answer `307` to `BASE/v2/REPO/blobs/DIGEST`.
    redirect_blobs: Mutex<Option<String>>,
    /// `/v1/search` (Docker Hub's shape) answers with these results whose name
    /// contains the query; `None`: no search API (404).
    search: Mutex<Option<Vec<serde_json::Value>>>,
}

/// A fake registry on 127.0.0.1; stops accepting when dropped.
#[derive(Debug)]
pub struct FakeRegistry {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl FakeRegistry {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            port,
            ..Shared::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        Self { shared, stop }
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// `127.0.0.1:PORT/REPO:TAG`
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }

    /// Serves `image` as `REPO:TAG` (and by digest).
    pub fn push(&self, repo: &str, tag: &str, image: &Image) {
        for (d, b) in image.blobs() {
            self.shared.blobs.lock().unwrap().insert(d, b);
        }
        self.push_manifest(repo, tag, OCI_MANIFEST, &image.manifest);
    }

    /// Serves a manifest of any kind as `REPO:TAG` and `REPO@DIGEST`.
    pub fn push_manifest(&self, repo: &str, tag: &str, media_type: &str, bytes: &[u8]) {
        let mut m = self.shared.manifests.lock().unwrap();
        for r in [tag.to_owned(), digest_of(bytes)] {
            m.insert(
                (repo.to_owned(), r),
                (media_type.to_owned(), bytes.to_vec()),
            );
        }
    }

    pub fn fault(&self, fault: Fault) {
        self.shared.faults.lock().unwrap().push(fault);
    }

    pub fn set_auth(&self, auth: Auth) {
        *self.shared.auth.lock().unwrap() = auth;
    }

    /// Serves `/v1/search` with these results (objects as Docker Hub sends them).
    pub fn set_search(&self, results: Vec<serde_json::Value>) {
        *self.shared.search.lock().unwrap() = Some(results);
    }

    pub fn redirect_blobs_to(&self, base: &str) {
        *self.shared.redirect_blobs.lock().unwrap() = Some(base.to_owned());
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests whose path contains `part`.
    pub fn requests_to(&self, part: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path().contains(part))
            .collect()
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port()));
    }
}

/// How a body goes out.
enum Send {
    Whole,
    Cut(usize),
    Short(usize),
    Trickle { chunk: usize, every: Duration },
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    send: Send,
}

impl Response {
    fn new(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
            send: Send::Whole,
        }
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let body =
            serde_json::to_vec(&json!({"errors": [{"code": code, "message": message}]})).unwrap();
        Self::new(status, body).header("Content-Type", "application/json")
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    // Clients that try TLS first (lade pings https:// before falling back to http:// on
    // loopback) get the connection closed at once.
    let mut first = [0u8; 1];
    match stream.peek(&mut first) {
        Ok(1) if first[0].is_ascii_uppercase() => {}
        _ => return,
    }
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return;
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
    };
    if let Some(len) = req
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
    {
        let _ = std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink());
    }
    shared.log.lock().unwrap().push(req.clone());
    let resp = respond(shared, &req);
    write_response(stream, &req, resp);
}

fn write_response(mut stream: TcpStream, req: &Request, resp: Response) {
    let reason = match resp.status {
        200 => "OK",
        206 => "Partial Content",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Whatever",
    };
    let announced = match resp.send {
        Send::Short(n) => n.min(resp.body.len()),
        _ => resp.body.len(),
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", resp.status);
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {announced}\r\nConnection: close\r\n\r\n"
    ));
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    if req.method != "HEAD" {
        let body = &resp.body;
        let _ = match resp.send {
            Send::Whole => stream.write_all(body),
            Send::Cut(n) | Send::Short(n) => stream.write_all(&body[..n.min(body.len())]),
            Send::Trickle { chunk, every } => {
                let mut r = Ok(());
                for c in body.chunks(chunk.max(1)) {
                    r = stream.write_all(c).and_then(|()| stream.flush());
                    if r.is_err() {
                        break;
                    }
                    std::thread::sleep(every);
                }
                r
            }
        };
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// `/v2/NAME/manifests/REF` → (NAME, "manifests", REF)
fn route(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/v2/")?;
    for kind in ["/manifests/", "/blobs/", "/tags/"] {
        if let Some(i) = rest.rfind(kind) {
            return Some((&rest[..i], kind.trim_matches('/'), &rest[i + kind.len()..]));
        }
    }
    None
}

fn respond(shared: &Shared, req: &Request) -> Response {
    let path = req.path();
    let port = shared.port;
    if path == "/token" {
        return Response::new(
            200,
            serde_json::to_vec(&json!({"token": TOKEN, "expires_in": 300})).unwrap(),
        )
        .header("Content-Type", "application/json");
    }
    if path == "/v1/search"
        && let Some(results) = shared.search.lock().unwrap().clone()
    {
        let q = req.query("q").unwrap_or_default();
        let n: usize = req.query("n").and_then(|n| n.parse().ok()).unwrap_or(25);
        let hits: Vec<_> = results
            .into_iter()
            .filter(|r| r["name"].as_str().is_some_and(|name| name.contains(&q)))
            .take(n)
            .collect();
        let body = json!({"num_results": hits.len(), "query": q, "results": hits});
        return Response::new(200, serde_json::to_vec(&body).unwrap())
            .header("Content-Type", "application/json");
    }
    let repo = route(path).map(|(r, ..)| r.to_owned()).unwrap_or_default();

    // Authentication first, as registries do.
    let auth = shared.auth.lock().unwrap().clone();
    let given = req.header("authorization").unwrap_or_default();
    let challenge = match &auth {
        Auth::Anonymous => None,
        Auth::Bearer { service } => (given != format!("Bearer {TOKEN}")).then(|| {
            format!(
                "Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"{service}\",scope=\"repository:{repo}:pull\""
            )
        }),
        Auth::Basic { username, password } => (given
            != format!("Basic {}", base64(format!("{username}:{password}").as_bytes())))
        .then(|| "Basic realm=\"fake registry\"".to_owned()),
    };
    if let Some(c) = challenge {
        return Response::error(401, "UNAUTHORIZED", "authentication required")
            .header("WWW-Authenticate", c);
    }
    if path == "/v2/" || path == "/v2" {
        return Response::new(200, b"{}".to_vec()).header("Content-Type", "application/json");
    }

    // The fault script.
    let action = {
        let mut faults = shared.faults.lock().unwrap();
        let hit = faults.iter_mut().find(|f| {
            f.times > 0
                && path.contains(&f.path)
                && f.method.as_deref().is_none_or(|m| m == req.method)
        });
        hit.map(|f| {
            f.times -= 1;
            f.action.clone()
        })
    };
    if let Some(Action::Status(status, headers)) = &action {
        let (code, message) = match status {
            429 => ("TOOMANYREQUESTS", "slow down"),
            401 => ("UNAUTHORIZED", "authentication required"),
            _ => ("UNKNOWN", "the fake registry fell over"),
        };
        let mut r = Response::error(*status, code, message);
        for (k, v) in headers {
            r = r.header(k, v.clone());
        }
        return r;
    }

    let Some((repo, kind, reference)) = route(path) else {
        return Response::error(404, "NOT_FOUND", "no such route");
    };
    let known_repo = shared
        .manifests
        .lock()
        .unwrap()
        .keys()
        .any(|(r, _)| r == repo);
    if !known_repo {
        return Response::error(404, "NAME_UNKNOWN", "repository name not known to registry");
    }
    let mut resp = match kind {
        "manifests" => {
            let found = shared
                .manifests
                .lock()
                .unwrap()
                .get(&(repo.to_owned(), reference.to_owned()))
                .cloned();
            let Some((media_type, bytes)) = found else {
                return Response::error(404, "MANIFEST_UNKNOWN", "manifest unknown");
            };
            let digest = digest_of(&bytes);
            Response::new(200, bytes)
                .header("Content-Type", media_type)
                .header("Docker-Content-Digest", digest)
        }
        "blobs" => {
            if let Some(base) = shared.redirect_blobs.lock().unwrap().clone() {
                return Response::new(307, Vec::new())
                    .header("Location", format!("{base}/v2/{repo}/blobs/{reference}"));
            }
            let Some(bytes) = shared.blobs.lock().unwrap().get(reference).cloned() else {
                return Response::error(404, "BLOB_UNKNOWN", "blob unknown to registry");
            };
            let total = bytes.len();
            let range = req
                .header("range")
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|r| r.parse::<usize>().ok());
            let resp = match (range, &action) {
                (Some(_), Some(Action::RangeFrom(from))) => {
                    let from = *from;
                    Response::new(206, bytes[from..].to_vec()).header(
                        "Content-Range",
                        format!("bytes {from}-{}/{total}", total - 1),
                    )
                }
                (Some(start), _) if !matches!(action, Some(Action::IgnoreRange)) => {
                    if start >= total {
                        return Response::new(416, Vec::new())
                            .header("Content-Range", format!("bytes */{total}"));
                    }
                    Response::new(206, bytes[start..].to_vec()).header(
                        "Content-Range",
                        format!("bytes {start}-{}/{total}", total - 1),
                    )
                }
                _ => Response::new(200, bytes),
            };
            resp.header("Content-Type", "application/octet-stream")
                .header("Docker-Content-Digest", reference)
                .header("Accept-Ranges", "bytes")
        }
        "tags" => {
            let mut tags: Vec<String> = shared
                .manifests
                .lock()
                .unwrap()
                .keys()
                .filter(|(r, t)| r == repo && !t.starts_with("sha256:"))
                .map(|(_, t)| t.clone())
                .collect();
            tags.sort();
            Response::new(
                200,
                serde_json::to_vec(&json!({"name": repo, "tags": tags})).unwrap(),
            )
            .header("Content-Type", "application/json")
        }
        _ => return Response::error(404, "NOT_FOUND", "no such route"),
    };
    match action {
        Some(Action::Cut(n)) => resp.send = Send::Cut(n),
        Some(Action::Short(n)) => resp.send = Send::Short(n),
        Some(Action::Trickle { chunk, every }) => resp.send = Send::Trickle { chunk, every },
        Some(Action::Garble) => {
            if let Some(last) = resp.body.last_mut() {
                *last ^= 0xff;
            }
        }
        Some(Action::Pad(n)) => resp.body.extend(std::iter::repeat_n(b'x', n)),
        _ => {}
    }
    resp
}
