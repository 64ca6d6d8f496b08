//! A client for one registry: endpoint discovery, auth, retries, manifests and blobs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lade_oci::media_type;
use lade_reference::Digest;
use reqwest::{Method, StatusCode, header};
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

use crate::auth::{Challenge, TokenResponse, parse_challenge};
use crate::blob_reader::{BlobReader, BlobReaders, BlobRequest, range_start};
use crate::{ApiError, ClientError, Credential, TransportConfig};

pub use lade_oci::MANIFEST_LIMIT;
/// The largest config blob read into memory.
pub const CONFIG_LIMIT: u64 = 64 << 20;

const MANIFEST_ACCEPT: &str = concat!(
    "application/vnd.oci.image.index.v1+json, ",
    "application/vnd.docker.distribution.manifest.list.v2+json, ",
    "application/vnd.oci.image.manifest.v1+json, ",
    "application/vnd.docker.distribution.manifest.v2+json"
);

/// How often and how patiently temporary failures are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `n` (1-based retry count), or the server's
    /// `Retry-After` when it gave one (capped at a minute).
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(Duration::from_secs(60));
        }
        let exp = self.first_delay.saturating_mul(1 << n.min(16));
        exp.min(self.max_delay)
    }
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires: Instant,
}

/// What a `HEAD` or `GET` of a manifest says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// A manifest as the registry served it: the exact bytes and their digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// A blob response, ready to stream.
#[derive(Debug)]
pub struct BlobStream {
    pub response: reqwest::Response,
    /// The offset the body starts at: the requested one when the registry honoured the
    /// `Range` request, else 0.
    pub offset: u64,
    /// The whole blob's size, when the registry said.
    pub total: Option<u64>,
}

/// A registry (one host) and how to talk to it.
#[derive(Debug)]
pub struct Registry {
    /// The host as references name it (`docker.io`, `localhost:5000`).
    host: String,
    /// The host requests go to (`registry-1.docker.io` for `docker.io`).
    endpoint: String,
    insecure: bool,
    http: reqwest::Client,
    base: OnceCell<String>,
    credential: Option<Credential>,
    tokens: Mutex<HashMap<String, Token>>,
    /// The registry asked for Basic auth.
    basic: Mutex<bool>,
    pub(crate) retry: RetryPolicy,
    /// Blob bodies read on the caller's thread (see `blob_reader`).
    readers: BlobReaders,
}

impl Registry {
    /// A client for `host` using `credential` (if any).
    pub fn new(
        host: &str,
        transport: &TransportConfig,
        credential: Option<Credential>,
    ) -> Result<Self, ClientError> {
        let endpoint = if host == "docker.io" {
            "registry-1.docker.io".to_owned()
        } else {
            host.to_owned()
        };
        let (http, tls) = transport.client_for(&endpoint)?;
        Ok(Self {
            host: host.to_owned(),
            insecure: transport.is_insecure(host),
            http,
            readers: BlobReaders::new(tls, &transport.user_agent),
            endpoint,
            base: OnceCell::new(),
            credential,
            tokens: Mutex::new(HashMap::new()),
            basic: Mutex::new(false),
            retry: RetryPolicy::default(),
        })
    }

    /// Overrides the retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// `https://endpoint`, or `http://endpoint` for an insecure registry that does not
    /// speak TLS (found out once by pinging `/v2/`, as Docker does).
    async fn base(&self) -> Result<&str, ClientError> {
        self.base
            .get_or_try_init(|| async {
                let https = format!("https://{}", self.endpoint);
                if !self.insecure {
                    return Ok(https);
                }
                match self.http.get(format!("{https}/v2/")).send().await {
                    Ok(_) => Ok(https),
                    Err(e) if e.is_connect() || e.is_request() => {
                        Ok(format!("http://{}", self.endpoint))
                    }
                    Err(e) => Err(ClientError::Connect {
                        host: self.host.clone(),
                        source: e,
                    }),
                }
            })
            .await
            .map(String::as_str)
    }

    /// Sends a request (rebuilt for every attempt), handling auth challenges and
    /// retrying temporary failures. Returns the response whatever its status.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let url = format!("{}{path}", self.base().await?);
        self.send_url(method, &url, scope, build).await
    }

    /// Resolves a `Location` header (absolute, or relative to the registry).
    pub(crate) async fn absolute(&self, location: &str) -> Result<String, ClientError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Ok(location.to_owned())
        } else {
            Ok(format!("{}{location}", self.base().await?))
        }
    }

    /// [`Registry::send`] to a full URL (upload locations may point anywhere).
    pub(crate) async fn send_url(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        self.send_url_retrying(method, url, scope, build, true)
            .await
    }

    /// [`Registry::send_url`] sent once: for requests that are not safe to repeat
    /// blindly (a chunk `PATCH` that may have been half-appended), whose caller asks
    /// the registry where it stands before trying again. Auth challenges are still
    /// answered (the request never reached the upload then).
    pub(crate) async fn send_url_once(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        self.send_url_retrying(method, url, scope, build, false)
            .await
    }

    async fn send_url_retrying(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
        retry: bool,
    ) -> Result<reqwest::Response, ClientError> {
        let url = url.to_owned();
        let attempts = if retry { self.retry.attempts } else { 1 };
        let mut attempt = 0;
        let mut authed_once = false;
        loop {
            let mut req = build(self.http.request(method.clone(), &url));
            if let Some(auth) = self.auth_header(scope) {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let result = req.send().await;
            let err = match result {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !authed_once => {
                    authed_once = true;
                    let challenge = resp
                        .headers()
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_challenge);
                    match challenge {
                        Some(c) if self.authenticate(&c, scope).await? => continue,
                        _ => return Ok(resp),
                    }
                }
                Ok(resp) if is_retryable_status(resp.status()) && attempt + 1 < attempts => {
                    let retry_after = resp
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    attempt += 1;
                    tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
                    continue;
                }
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            // A certificate the handshake refused is refused again: not worth a retry.
            if let Some(reason) = certificate_refused(&err) {
                return Err(ClientError::Tls {
                    host: self.host.clone(),
                    reason,
                });
            }
            let error = if err.is_connect() {
                ClientError::Connect {
                    host: self.host.clone(),
                    source: err,
                }
            } else {
                ClientError::Transport {
                    host: self.host.clone(),
                    source: err,
                }
            };
            attempt += 1;
            if attempt >= attempts {
                return Err(error);
            }
            tokio::time::sleep(self.retry.delay(attempt, None)).await;
        }
    }

    fn auth_header(&self, scope: &str) -> Option<String> {
        if let Some(t) = self
            .tokens
            .lock()
            .ok()?
            .get(scope)
            .filter(|t| t.expires > Instant::now())
        {
            return Some(format!("Bearer {}", t.value));
        }
        let basic = self.basic.lock().is_ok_and(|b| *b);
        match (&self.credential, basic) {
            (Some(Credential::Basic { username, password }), true) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }

    /// Answers a challenge; true when a retry with new credentials makes sense.
    async fn authenticate(&self, challenge: &Challenge, scope: &str) -> Result<bool, ClientError> {
        match challenge {
            Challenge::Basic { .. } => {
                let mut basic = self.basic.lock().map_err(|_| poisoned())?;
                let retry = !*basic && self.credential.is_some();
                *basic = true;
                Ok(retry)
            }
            Challenge::Bearer {
                realm,
                service,
                scope: _,
            } => {
                let token = self.fetch_token(realm, service.as_deref(), scope).await?;
                self.tokens
                    .lock()
                    .map_err(|_| poisoned())?
                    .insert(scope.to_owned(), token);
                Ok(true)
            }
        }
    }

    /// The token endpoint: GET with the service and scope (Basic credentials when we
    /// have them); for an identity token, the OAuth2 refresh-token POST.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<Token, ClientError> {
        let auth_err = |reason: String| ClientError::Auth {
            realm: realm.to_owned(),
            reason,
        };
        let url =
            reqwest::Url::parse(realm).map_err(|e| auth_err(format!("invalid realm: {e}")))?;
        let mut attempt = 0;
        let resp = loop {
            let req = match &self.credential {
                Some(Credential::IdentityToken { token }) => {
                    let mut form = vec![
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                        ("client_id", "lade"),
                    ];
                    if let Some(s) = service {
                        form.push(("service", s));
                    }
                    if !scope.is_empty() {
                        form.push(("scope", scope));
                    }
                    // (Several scopes travel space-separated in the form, as the spec says.)
                    let body = form
                        .iter()
                        .map(|(k, v)| format!("{k}={}", urlencode(v)))
                        .collect::<Vec<_>>()
                        .join("&");
                    self.http
                        .post(url.clone())
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(body)
                }
                cred => {
                    let mut u = url.clone();
                    {
                        let mut q = u.query_pairs_mut();
                        if let Some(s) = service {
                            q.append_pair("service", s);
                        }
                        for one in scope.split(' ').filter(|s| !s.is_empty()) {
                            q.append_pair("scope", one);
                        }
                    }
                    let mut req = self.http.get(u);
                    if let Some(Credential::Basic { username, password }) = cred {
                        req = req.basic_auth(username, Some(password));
                    }
                    req
                }
            };
            match req.send().await {
                Ok(r) if is_retryable_status(r.status()) && attempt + 1 < self.retry.attempts => {}
                Ok(r) => break r,
                Err(e) if attempt + 1 >= self.retry.attempts => {
                    return Err(auth_err(format!("cannot reach the token endpoint: {e}")));
                }
                Err(_) => {}
            }
            attempt += 1;
            tokio::time::sleep(self.retry.delay(attempt, None)).await;
        };
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(match api_error(status.as_u16(), &body) {
                Some(e) => ClientError::Api(e),
                None => ClientError::Api(ApiError {
                    status: status.as_u16(),
                    code: "UNAUTHORIZED".into(),
                    message: "authentication required".into(),
                }),
            });
        }
        let body = read_limited(resp, 1 << 20, "token", realm).await?;
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| auth_err(format!("unreadable token answer: {e}")))?;
        let value = t
            .token
            .filter(|t| !t.is_empty())
            .or(t.access_token)
            .ok_or_else(|| auth_err("the answer holds no token".into()))?;
        // The spec's default lifetime is 60 s; keep a margin.
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(60).max(10));
        Ok(Token {
            value,
            expires: Instant::now() + lifetime - Duration::from_secs(5),
        })
    }

    /// `HEAD /v2/REPO/manifests/REF`: the manifest's digest without fetching it (not
    /// counted by Docker Hub's rate limit). `None` when the registry has no such manifest
    /// or does not say its digest.
    pub async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<ManifestInfo>, ClientError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = self
            .send(Method::HEAD, &path, &pull_scope(repo), |r| {
                r.header(header::ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_status(resp, &path).await?;
        let h = resp.headers();
        let digest = h
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok());
        let Some(digest) = digest else {
            return Ok(None);
        };
        Ok(Some(ManifestInfo {
            digest,
            media_type: content_type(h),
            size: h
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }))
    }

    /// `GET /v2/REPO/manifests/REF`: the exact bytes, checked against the digest asked for
    /// (or the one the registry announced).
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<FetchedManifest, ClientError> {
        self.again_if_cut(|| self.get_manifest_once(repo, reference))
            .await
    }

    /// Runs `fetch` again (twice at most) when its body was cut short: [`Registry::send`]
    /// retries what fails before the body, this what fails while it is read (a reset
    /// connection, fewer bytes than announced: reqwest's body errors). Small bodies only: a layer resumes
    /// with a `Range` request instead.
    async fn again_if_cut<T, F, Fut>(&self, mut fetch: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut attempt = 0;
        loop {
            match fetch().await {
                // Only a body cut while read: `send` has already retried the rest.
                Err(ClientError::Transport { source, .. })
                    if (source.is_body() || source.is_decode()) && attempt < 2 =>
                {
                    attempt += 1;
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                }
                other => return other,
            }
        }
    }

    async fn get_manifest_once(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<FetchedManifest, ClientError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = self
            .send(Method::GET, &path, &pull_scope(repo), |r| {
                r.header(header::ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let resp = check_status(resp, &path).await?;
        let media_type = content_type(resp.headers());
        let announced = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok());
        let url = resp.url().to_string();
        let bytes = read_limited(resp, MANIFEST_LIMIT, "manifest", &url).await?;
        let digest = Digest::from_sha256_bytes(&Sha256::digest(&bytes).into());
        let expected = Digest::parse(reference).ok().or(announced);
        if let Some(expected) = expected
            && expected != digest
        {
            // Only sha256 is computed here; a sha512 reference is compared as asked.
            return Err(ClientError::DigestMismatch {
                url,
                expected,
                actual: digest,
            });
        }
        if matches!(
            media_type.as_str(),
            media_type::DOCKER_SCHEMA1_MANIFEST | media_type::DOCKER_SCHEMA1_SIGNED
        ) {
            return Err(ClientError::Protocol {
                url,
                reason: "the registry only offers a Docker schema 1 manifest, which is deprecated and not supported".into(),
            });
        }
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `GET /v2/REPO/blobs/DIGEST`, from `offset` on (a `Range` request) when it is not 0.
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobStream, ClientError> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self
            .send(Method::GET, &path, &pull_scope(repo), |r| {
                if offset > 0 {
                    r.header(header::RANGE, format!("bytes={offset}-"))
                } else {
                    r
                }
            })
            .await?;
        let resp = check_status(resp, &path).await?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        let range = resp
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok());
        // Where the body starts: where asked, or at 0 (a 200, or a 206 from 0: the
        // whole blob, and the caller starts over). Anywhere else it would be appended
        // at the wrong place (the direct path refuses it too, see `blob_reader`).
        let start = match (partial, range.and_then(range_start)) {
            (false, _) | (true, Some(0)) => 0,
            (true, Some(s)) if s == offset => s,
            _ => {
                return Err(ClientError::Protocol {
                    url: resp.url().to_string(),
                    reason: format!(
                        "asked for bytes from {offset} on, the answer's Content-Range does not start there"
                    ),
                });
            }
        };
        let total = if partial {
            range
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.parse().ok())
        } else {
            resp.content_length()
        };
        Ok(BlobStream {
            response: resp,
            offset: start,
            total,
        })
    }

    /// `GET /v2/REPO/blobs/DIGEST` from `offset` on, its body read on the calling
    /// thread straight into the caller's buffers (see `blob_reader`); blocking, so for
    /// threads of their own, never the runtime's. An answer that would go past `size`
    /// (the blob's size, from the manifest) is refused. `None` when the async client
    /// should ask instead ([`Registry::get_blob`]: a redirect, an auth challenge, an
    /// error status …), and before this client knows whether the registry speaks
    /// HTTPS or plain HTTP.
    pub fn open_blob(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
        size: u64,
    ) -> Result<Option<BlobReader>, ClientError> {
        let Some(base) = self.base.get() else {
            return Ok(None);
        };
        let path = format!("/v2/{repo}/blobs/{digest}");
        let auth = self.auth_header(&pull_scope(repo));
        self.readers.open(&BlobRequest {
            base,
            path: &path,
            offset,
            size,
            authorization: auth.as_deref(),
            host: &self.host,
        })
    }

    /// A small blob (a config) read whole and verified.
    pub async fn get_small_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<Vec<u8>, ClientError> {
        self.again_if_cut(|| self.get_small_blob_once(repo, digest, size))
            .await
    }

    async fn get_small_blob_once(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<Vec<u8>, ClientError> {
        let blob = self.get_blob(repo, digest, 0).await?;
        let url = blob.response.url().to_string();
        let bytes =
            read_limited(blob.response, CONFIG_LIMIT.min(size.max(1)), "blob", &url).await?;
        let actual = Digest::from_sha256_bytes(&Sha256::digest(&bytes).into());
        if &actual != digest {
            return Err(ClientError::DigestMismatch {
                url,
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Every tag of a repository, following `Link` pagination.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>, ClientError> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut path = format!("/v2/{repo}/tags/list");
        for _ in 0..10_000 {
            let resp = self
                .send(Method::GET, &path, &pull_scope(repo), |r| r)
                .await?;
            let resp = check_status(resp, &path).await?;
            let next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let url = resp.url().to_string();
            let body = read_limited(resp, 16 << 20, "tag list", &url).await?;
            let list: TagList =
                serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
                    url,
                    reason: format!("unreadable tag list: {e}"),
                })?;
            out.extend(list.tags.unwrap_or_default());
            match next {
                Some(n) => path = n,
                None => break,
            }
        }
        Ok(out)
    }
}

/// The part of an error's chain that says the server's certificate was refused
/// (rustls's `invalid peer certificate: …`), if that is what happened.
fn certificate_refused(e: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if let Some(i) = text.find("invalid peer certificate") {
            return Some(text[i..].to_owned());
        }
        cause = c.source();
    }
    None
}

fn poisoned() -> ClientError {
    ClientError::Protocol {
        url: String::new(),
        reason: "internal lock poisoned".into(),
    }
}

/// `repository:NAME:pull`
pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

fn is_retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || matches!(s.as_u16(), 500 | 502 | 503 | 504)
}

fn content_type(h: &header::HeaderMap) -> String {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .unwrap_or_default()
}

/// `</v2/x/tags/list?n=2&last=b>; rel="next"` → the path.
pub(crate) fn next_link(link: &str) -> Option<String> {
    let (target, params) = link.split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().trim_start_matches('<').trim_end_matches('>');
    match reqwest::Url::parse(target) {
        Ok(u) => Some(match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }),
        Err(_) => Some(target.to_owned()),
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parses the spec's error envelope.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Option<ApiError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        code: String,
        #[serde(default)]
        message: String,
    }
    let env: Envelope = serde_json::from_slice(body).ok()?;
    let first = env.errors.into_iter().next()?;
    Some(ApiError {
        status,
        code: first.code,
        message: first.message,
    })
}

/// Turns a non-success response into an error in the registry's words.
pub(crate) async fn check_status(
    resp: reqwest::Response,
    path: &str,
) -> Result<reqwest::Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let remaining = resp
        .headers()
        .get("ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let url = resp.url().to_string();
    let body = read_limited(resp, 64 << 10, "error", &url)
        .await
        .unwrap_or_default();
    let code = status.as_u16();
    let api = api_error(code, &body).or_else(|| {
        let (c, m) = match code {
            401 => ("UNAUTHORIZED", "authentication required"),
            403 => ("DENIED", "requested access to the resource is denied"),
            404 if path.contains("/manifests/") => ("MANIFEST_UNKNOWN", "manifest unknown"),
            404 if path.contains("/blobs/") => ("BLOB_UNKNOWN", "blob unknown to registry"),
            404 => ("NAME_UNKNOWN", "repository name not known to registry"),
            429 => ("TOOMANYREQUESTS", "too many requests"),
            _ => return None,
        };
        Some(ApiError {
            status: code,
            code: c.into(),
            message: m.into(),
        })
    });
    Err(match api {
        Some(error) if code == 429 => ClientError::TooManyRequests { error, remaining },
        Some(error) => ClientError::Api(error),
        None => ClientError::Status { status: code, url },
    })
}

/// Reads a whole body, refusing more than `limit` bytes.
async fn read_limited(
    mut resp: reqwest::Response,
    limit: u64,
    what: &'static str,
    url: &str,
) -> Result<Vec<u8>, ClientError> {
    if resp.content_length().is_some_and(|l| l > limit) {
        return Err(ClientError::TooLarge {
            what,
            url: url.to_owned(),
            limit,
        });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| ClientError::Transport {
        host: url.to_owned(),
        source: e,
    })? {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(ClientError::TooLarge {
                what,
                url: url.to_owned(),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://r.example.com/v2/a/tags/list?last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn error_envelopes() {
        let e = api_error(404, br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#).unwrap();
        assert_eq!(e.to_string(), "manifest unknown: manifest unknown");
        assert_eq!(api_error(500, b"<html>"), None);
    }

    #[test]
    fn backoff_honours_retry_after_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
        assert!(p.delay(2, None) > p.delay(1, None));
        assert_eq!(p.delay(30, None), p.max_delay);
    }
}
