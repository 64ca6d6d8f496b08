//! A small HTTP/1.1 proxy that misbehaves on request, for the fault and crash tests: it
//! sits between a client (lade, skopeo) and a real registry on loopback, forwards each
//! request, reads the whole response, and then either passes it on or applies a fault
//! from its script (drop after N bytes, stall, reset, an injected 5xx/429, a truncated
//! body, a lying `Content-Length`, a flipped byte). It also logs every exchange, so a
//! test can tell which manifests the registry acknowledged (`201`).
//!
//! std::net only, a thread per connection; responses are buffered (tests move a few MB).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to one exchange.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward, then send only the first N bytes of the response (head included) and close.
    DropAfter(usize),
    /// Forward, then wait this long before answering.
    Stall(Duration),
    /// Forward, send the head and the first `after` body bytes, wait, then the rest.
    StallMidBody { after: usize, pause: Duration },
    /// Reset the connection (RST) before the request reaches the registry.
    Reset,
    /// Answer with this status (an OCI error envelope) and these headers, without asking
    /// the registry.
    Status(u16, Vec<(String, String)>),
    /// Forward, then send the head and half the body, and close.
    Truncate,
    /// Forward, then declare a `Content-Length` this much off the real body, send the
    /// body, and close.
    LieLength(i64),
    /// Forward, then flip the last byte of the body.
    Corrupt,
}

/// A scripted fault: the `skip+1`-th to `skip+times`-th requests whose method and path
/// match get `fault`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Option<String>,
    /// A substring of the request path (with its query); ending in `$`, the whole path.
    pub path: String,
    pub skip: usize,
    pub times: usize,
    pub fault: Fault,
}

impl Rule {
    pub fn new(method: Option<&str>, path: &str, fault: Fault) -> Self {
        Self {
            method: method.map(str::to_owned),
            path: path.to_owned(),
            skip: 0,
            times: 1,
            fault,
        }
    }

    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
}

/// One request and what became of it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// The registry's status, `None` when it was not asked or did not answer.
    pub status: Option<u16>,
    /// The registry's `Docker-Content-Digest` header.
    pub digest: Option<String>,
    pub fault: Option<Fault>,
    /// The request's `Authorization` header.
    pub authorization: Option<String>,
    /// The response body of token requests (paths starting `/token`).
    pub token_body: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Shared {
    upstream: Mutex<String>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Exchange>>,
    injected: AtomicUsize,
    stop: AtomicBool,
}

/// A running proxy on `127.0.0.1:PORT`; stops accepting when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    /// `127.0.0.1:PORT`
    pub host: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`HOST:PORT`).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream.to_owned()),
            ..Shared::default()
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &s);
                });
            }
        });
        Self { host, shared }
    }

    /// Sends later requests to another registry address (a restarted registry).
    pub fn set_upstream(&self, upstream: &str) {
        *self.shared.upstream.lock().unwrap() = upstream.to_owned();
    }

    /// Adds a scripted fault.
    pub fn add(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().push(rule);
    }

    /// Forgets the script (faults not yet used are dropped).
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// Scripted faults not yet used up.
    pub fn pending(&self) -> usize {
        self.shared
            .rules
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.skip + r.times)
            .sum()
    }

    /// How many faults were applied so far.
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }

    /// `HOST:PORT/REPO:TAG` through the proxy.
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop up so that it sees the flag.
        let _ = TcpStream::connect(&self.host);
    }
}

/// The fault for a request, if a rule matches (and counts it).
fn pick(shared: &Shared, method: &str, path: &str) -> Option<Fault> {
    let mut rules = shared.rules.lock().unwrap();
    let i = rules.iter().position(|r| {
        let hit = match r.path.strip_suffix('$') {
            Some(exact) => path == exact,
            None => path.contains(&r.path),
        };
        r.times > 0 && hit && r.method.as_deref().is_none_or(|m| m == method)
    })?;
    let rule = &mut rules[i];
    if rule.skip > 0 {
        rule.skip -= 1;
        return None;
    }
    rule.times -= 1;
    let fault = rule.fault.clone();
    if rule.times == 0 {
        rules.remove(i);
    }
    shared.injected.fetch_add(1, Ordering::SeqCst);
    Some(fault)
}

/// A request or response head: the first line and the headers.
struct Head {
    line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    fn set(&mut self, name: &str, value: String) {
        self.remove(name);
        self.headers.push((name.to_owned(), value));
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.line);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Head>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut head = Head {
        line: line.trim_end().to_owned(),
        headers: Vec::new(),
    };
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            return Ok(Some(head));
        }
        if let Some((k, v)) = h.split_once(':') {
            head.headers
                .push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
}

/// A body framed by `Transfer-Encoding: chunked`, de-chunked.
fn read_chunked(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size)?;
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
        if n == 0 {
            // Trailers up to the blank line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + n, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
}

/// Reads a body as the head frames it; `None` length means "to the end".
fn read_body(r: &mut impl BufRead, head: &Head, to_eof: bool) -> std::io::Result<Vec<u8>> {
    if head
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return read_chunked(r);
    }
    if let Some(n) = head
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if to_eof {
        r.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// Waits until the request line has arrived (without consuming it) and returns it.
fn peek_request_line(conn: &TcpStream) -> Option<String> {
    let mut buf = [0u8; 4096];
    for _ in 0..200 {
        let n = conn.peek(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].iter().position(|&b| b == b'\n') {
            return Some(String::from_utf8_lossy(&buf[..end]).trim().to_owned());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn error_body(status: u16) -> Vec<u8> {
    let (code, message) = match status {
        429 => ("TOOMANYREQUESTS", "slow down"),
        401 => ("UNAUTHORIZED", "authentication required"),
        _ => ("UNKNOWN", "the proxy injected a failure"),
    };
    format!(r#"{{"errors":[{{"code":"{code}","message":"{message}"}}]}}"#).into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Injected",
    }
}

type Upstream = (TcpStream, BufReader<TcpStream>, String);

fn connect(shared: &Shared) -> std::io::Result<Upstream> {
    let addr = shared.upstream.lock().unwrap().clone();
    let s = TcpStream::connect(&addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let r = BufReader::new(s.try_clone()?);
    Ok((s, r, addr))
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut out = client.try_clone()?;
    let mut upstream: Option<Upstream> = None;
    loop {
        // Decide on the fault before reading: a reset must leave the request unread.
        let fault = if reader.buffer().is_empty() {
            let Some(line) = peek_request_line(&client) else {
                return Ok(());
            };
            let mut parts = line.split(' ');
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let fault = pick(shared, method, path);
            if matches!(fault, Some(Fault::Reset)) {
                shared.log.lock().unwrap().push(Exchange {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    status: None,
                    digest: None,
                    fault,
                    authorization: None,
                    token_body: None,
                });
                // Closing with unread data in the receive buffer sends RST.
                drop(reader);
                drop(out);
                drop(client);
                return Ok(());
            }
            fault
        } else {
            None
        };
        let Some(mut req) = read_head(&mut reader)? else {
            return Ok(());
        };
        let body = read_body(&mut reader, &req, false)?;
        let mut parts = req.line.split(' ');
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut entry = Exchange {
            method: method.clone(),
            path: path.clone(),
            status: None,
            digest: None,
            fault: fault.clone(),
            authorization: req.get("authorization").map(str::to_owned),
            token_body: None,
        };
        if let Some(Fault::Status(status, headers)) = &fault {
            let body = error_body(*status);
            let mut head = Head {
                line: format!("HTTP/1.1 {status} {}", reason(*status)),
                headers: headers.clone(),
            };
            head.set("Content-Type", "application/json".into());
            head.set("Content-Length", body.len().to_string());
            head.set("Docker-Distribution-Api-Version", "registry/2.0".into());
            shared.log.lock().unwrap().push(entry);
            out.write_all(&head.bytes())?;
            out.write_all(&body)?;
            continue;
        }

        // Forward: de-chunked requests go with a Content-Length.
        req.remove("transfer-encoding");
        req.remove("expect");
        req.set("Content-Length", body.len().to_string());
        if matches!(method.as_str(), "GET" | "HEAD" | "DELETE") && body.is_empty() {
            req.remove("content-length");
        }
        let want = shared.upstream.lock().unwrap().clone();
        if upstream.as_ref().is_some_and(|u| u.2 != want) {
            upstream = None;
        }
        let mut answer = None;
        for _ in 0..2 {
            if upstream.is_none() {
                match connect(shared) {
                    Ok(u) => upstream = Some(u),
                    Err(_) => break,
                }
            }
            let Some((w, r, _)) = upstream.as_mut() else {
                break;
            };
            let sent = w.write_all(&req.bytes()).and_then(|()| w.write_all(&body));
            let got = sent.and_then(|()| {
                let head = read_head(r)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
                let status: u16 = head
                    .line
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let no_body = method == "HEAD" || status == 204 || status == 304 || status < 200;
                let to_eof =
                    head.get("content-length").is_none() && head.get("transfer-encoding").is_none();
                let body = if no_body {
                    Vec::new()
                } else {
                    read_body(r, &head, to_eof)?
                };
                Ok((head, status, body, to_eof && !no_body))
            });
            match got {
                Ok(a) => {
                    answer = Some(a);
                    break;
                }
                // A kept-alive connection the registry closed: try once on a new one.
                Err(_) => upstream = None,
            }
        }
        let Some((mut head, status, mut body, close)) = answer else {
            // The registry is gone (killed): the client sees the connection drop.
            shared.log.lock().unwrap().push(entry);
            return Ok(());
        };
        if close {
            upstream = None;
        }
        entry.status = Some(status);
        entry.digest = head.get("docker-content-digest").map(str::to_owned);
        if path.starts_with("/token") {
            entry.token_body = Some(body.clone());
        }
        shared.log.lock().unwrap().push(entry);
        // Locations the registry built from its own address point back at the proxy.
        let own = format!("http://{want}");
        if let Some(loc) = head.get("location").map(str::to_owned)
            && let Some(rest) = loc.strip_prefix(&own)
        {
            let proxied = format!("http://{}{rest}", client.local_addr()?);
            head.set("Location", proxied);
        }
        head.remove("transfer-encoding");
        let declared = if method == "HEAD" {
            head.get("content-length").map(str::to_owned)
        } else {
            Some(body.len().to_string())
        };
        if let Some(n) = declared {
            head.set("Content-Length", n);
        }
        match fault {
            None => {
                out.write_all(&head.bytes())?;
                out.write_all(&body)?;
                if close {
                    out.flush()?;
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
            }
            Some(Fault::Stall(d)) => {
                std::thread::sleep(d);
                out.write_all(&head.bytes())?;
                out.write_all(&body)?;
            }
            Some(Fault::StallMidBody { after, pause }) => {
                let cut = after.min(body.len());
                out.write_all(&head.bytes())?;
                out.write_all(&body[..cut])?;
                out.flush()?;
                std::thread::sleep(pause);
                out.write_all(&body[cut..])?;
            }
            Some(Fault::DropAfter(n)) => {
                let mut all = head.bytes();
                all.extend_from_slice(&body);
                out.write_all(&all[..n.min(all.len())])?;
                out.flush()?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Truncate) => {
                out.write_all(&head.bytes())?;
                out.write_all(&body[..body.len() / 2])?;
                out.flush()?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::LieLength(delta)) => {
                let lie = (body.len() as i64 + delta).max(0);
                head.set("Content-Length", lie.to_string());
                out.write_all(&head.bytes())?;
                out.write_all(&body)?;
                out.flush()?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Corrupt) => {
                if let Some(last) = body.last_mut() {
                    *last ^= 0x5a;
                }
                out.write_all(&head.bytes())?;
                out.write_all(&body)?;
            }
            Some(Fault::Reset | Fault::Status(..)) => unreachable!("handled above"),
        }
    }
}

/// One plain HTTP/1.1 request on its own connection: `(status, headers, body)`.
pub fn http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r).unwrap().expect("a response");
    let status = head
        .line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if method == "HEAD" || status == 204 {
        Vec::new()
    } else {
        let to_eof =
            head.get("content-length").is_none() && head.get("transfer-encoding").is_none();
        read_body(&mut r, &head, to_eof).unwrap()
    };
    (status, head.headers, body)
}
