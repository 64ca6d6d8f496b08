//! One function per endpoint, behind one dispatcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use lade_oci::Manifest;
use lade_reference::Digest;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::auth::{Access, Verdict};
use crate::error::{ApiError, Code, tracing_log};
use crate::route::{Ref, Route, RouteError, parse};
use crate::storage::Finish;
use crate::{AppState, search};

/// The largest manifest accepted.
const MANIFEST_LIMIT: usize = lade_oci::MANIFEST_LIMIT as usize;

type Result<T> = std::result::Result<T, ApiError>;

/// The running hash of an upload, kept while its bytes arrive in order.
#[derive(Debug, Clone)]
pub struct UploadHash {
    hasher: Sha256,
    size: u64,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors: AtomicU64,
    bytes_served: AtomicU64,
    bytes_received: AtomicU64,
    blobs_uploaded: AtomicU64,
    manifests_pushed: AtomicU64,
}

/// The catch-all handler: parse, check access, call the endpoint, add common headers.
pub async fn dispatch(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let mut resp = match route(&state, &method, &path, &query, &headers, body).await {
        Ok(r) => r,
        Err(e) => {
            state.metrics.errors.fetch_add(1, Ordering::Relaxed);
            e.into_response()
        }
    };
    resp.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    if state.access_log {
        tracing_log(&format!(
            "{{\"time\":\"{}\",\"method\":\"{method}\",\"path\":{:?},\"status\":{},\"ms\":{:.1}}}",
            jiff::Timestamp::now(),
            path,
            resp.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    resp
}

async fn route(
    state: &Arc<AppState>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let route = parse(path).map_err(|e| match e {
        RouteError::NotFound => {
            ApiError::msg(Code::NameUnknown, "not found").with_status(StatusCode::NOT_FOUND)
        }
        RouteError::NameInvalid(n) => {
            ApiError::msg(Code::NameInvalid, format!("invalid repository name: {n:?}"))
        }
        RouteError::DigestInvalid(d) => {
            ApiError::msg(Code::DigestInvalid, format!("invalid digest: {d:?}"))
        }
        // No manifest can have a tag that breaks the grammar: reading or deleting one
        // is a 404 (the conformance suite asks for `.INVALID_MANIFEST_NAME`).
        RouteError::TagInvalid(t)
            if matches!(*method, Method::GET | Method::HEAD | Method::DELETE) =>
        {
            ApiError::msg(
                Code::ManifestUnknown,
                format!("manifest unknown: invalid tag {t:?}"),
            )
        }
        RouteError::TagInvalid(t) => {
            ApiError::msg(Code::ManifestInvalid, format!("invalid tag: {t:?}"))
        }
        // No session can have such an id.
        RouteError::UploadUnknown => ApiError::new(Code::BlobUploadUnknown),
    })?;
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if route == Route::Token {
        return token(state, query, authz);
    }
    // A liveness probe carries no data; load balancers ask it without credentials.
    if route == Route::Health && matches!(*method, Method::GET | Method::HEAD) {
        return Ok(json(StatusCode::OK, r#"{"status":"ok"}"#));
    }
    // Metrics name no repository but show the registry's activity: any authenticated
    // user may read them, with Basic credentials in both modes (what a Prometheus
    // scraper can send), never an anonymous caller.
    if route == Route::Metrics && *method == Method::GET {
        if !state.auth.may_read_metrics(authz) {
            return Err(ApiError::new(Code::Unauthorized)
                .with_header(header::WWW_AUTHENTICATE, "Basic realm=\"lade registry\""));
        }
        return Ok(metrics(state));
    }
    let (access, repo) = access_for(&route, method, query);
    // Search lists only what the caller may pull; without credentials it answers only
    // when something is open to anonymous pulls.
    let verdict = if route == Route::Search && authz.is_none() && state.auth.has_anonymous_pull() {
        Verdict::Allowed
    } else {
        state.auth.check(authz, access, repo)
    };
    match verdict {
        Verdict::Allowed => {}
        Verdict::Denied => return Err(ApiError::new(Code::Denied)),
        Verdict::Unauthenticated => {
            let challenge = if state.auth.token_mode() {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("localhost");
                let actions = match access {
                    Access::Pull => "pull",
                    Access::Push => "pull,push",
                    Access::Delete => "delete",
                    Access::Any => "",
                };
                let scheme = if state.tls { "https" } else { "http" };
                match repo {
                    Some(r) if !actions.is_empty() => format!(
                        "Bearer realm=\"{scheme}://{host}/token\",service=\"lade-registry\",scope=\"repository:{r}:{actions}\""
                    ),
                    _ => format!(
                        "Bearer realm=\"{scheme}://{host}/token\",service=\"lade-registry\""
                    ),
                }
            } else {
                "Basic realm=\"lade registry\"".to_owned()
            };
            return Err(
                ApiError::new(Code::Unauthorized).with_header(header::WWW_AUTHENTICATE, &challenge)
            );
        }
    }
    let s = state.as_ref();
    match (route, method.clone()) {
        (Route::Base, Method::GET | Method::HEAD) => Ok(json(StatusCode::OK, "{}")),
        (Route::Catalog, Method::GET) => catalog(s, query, authz),
        (Route::Search, Method::GET) => search::search(s, query, authz).await,
        (Route::Tags { name }, Method::GET) => tags(s, &name, query),
        (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
            get_manifest(s, &name, &reference, method == Method::HEAD)
        }
        (Route::Manifest { name, reference }, Method::PUT) => {
            put_manifest(s, &name, &reference, headers, body).await
        }
        (Route::Manifest { name, reference }, Method::DELETE) => {
            delete_manifest(s, &name, &reference)
        }
        (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
            get_blob(s, &name, &digest, headers, method == Method::HEAD).await
        }
        (Route::Blob { name, digest }, Method::DELETE) => {
            if s.storage.unlink_blob(&name, &digest)? {
                Ok(StatusCode::ACCEPTED.into_response())
            } else {
                Err(ApiError::new(Code::BlobUnknown))
            }
        }
        (Route::UploadStart { name }, Method::POST) => {
            start_upload(s, &name, query, headers, body).await
        }
        (Route::Upload { name, id }, Method::GET) => upload_status(s, &name, &id),
        (Route::Upload { name, id }, Method::PATCH) => {
            patch_upload(s, &name, &id, headers, body).await
        }
        (Route::Upload { name, id }, Method::PUT) => {
            put_upload(s, &name, &id, query, headers, body).await
        }
        (Route::Upload { name, id }, Method::DELETE) => {
            if s.storage.delete_upload(&name, &id)? {
                s.uploads.lock().map(|mut u| u.remove(&id)).ok();
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(ApiError::new(Code::BlobUploadUnknown))
            }
        }
        (Route::Referrers { name, digest }, Method::GET) => referrers(s, &name, &digest, query),
        _ => Err(ApiError::new(Code::Unsupported)),
    }
}

/// What access a request needs, and to which repository.
fn access_for<'r>(route: &'r Route, method: &Method, query: &str) -> (Access, Option<&'r str>) {
    let name = match route {
        Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::UploadStart { name }
        | Route::Upload { name, .. }
        | Route::Tags { name }
        | Route::Referrers { name, .. } => Some(name.as_str()),
        _ => None,
    };
    let access = match (route, method) {
        // An upload session is part of a push, whatever the method (its status too).
        (Route::Upload { .. }, _) => Access::Push,
        (_, &Method::GET | &Method::HEAD) if name.is_some() => Access::Pull,
        (_, &Method::DELETE) => Access::Delete,
        (_, _) if name.is_some() => Access::Push,
        _ => Access::Any,
    };
    let _ = query;
    (access, name)
}

/// `GET /token?service=…&scope=…`: a bearer token for what the caller may do.
fn token(state: &Arc<AppState>, query: &str, authz: Option<&str>) -> Result<Response> {
    if !state.auth.token_mode() {
        return Err(
            ApiError::msg(Code::Unsupported, "this registry does not issue tokens")
                .with_status(StatusCode::NOT_FOUND),
        );
    }
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "scope")
        .map(|(_, v)| percent_decode(v))
        .collect();
    match state.auth.issue_token(authz, &scopes) {
        Ok((token, ttl)) => {
            let body = serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": ttl,
                "issued_at": jiff::Timestamp::now().to_string(),
            });
            Ok(json(StatusCode::OK, body.to_string()))
        }
        Err(_) => Err(ApiError::new(Code::Unauthorized).with_header(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"lade registry token\"",
        )),
    }
}

fn json(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `n` and `last` pagination over a sorted list; returns the page and whether more remain.
fn paginate<'a>(items: &'a [String], query: &str) -> Result<(&'a [String], Option<usize>)> {
    let last = query_param(query, "last");
    let start = match &last {
        Some(l) => items.partition_point(|t| t.as_str() <= l.as_str()),
        None => 0,
    };
    let rest = &items[start..];
    match query_param(query, "n") {
        Some(n) => {
            let n: usize = n.parse().map_err(|_| {
                ApiError::msg(Code::Unsupported, "n must be a number")
                    .with_status(StatusCode::BAD_REQUEST)
            })?;
            if n < rest.len() {
                Ok((&rest[..n], Some(n)))
            } else {
                Ok((rest, None))
            }
        }
        None => Ok((rest, None)),
    }
}

fn with_link(mut resp: Response, path: &str, n: Option<usize>, page: &[String]) -> Response {
    if let (Some(n), Some(last)) = (n, page.last())
        && let Ok(v) = HeaderValue::from_str(&format!("<{path}?n={n}&last={last}>; rel=\"next\""))
    {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

/// The repositories the caller may pull, paginated.
fn catalog(s: &AppState, query: &str, authz: Option<&str>) -> Result<Response> {
    let mut all = s.storage.catalog()?;
    let listed = s.auth.lister(authz);
    all.retain(|name| listed(name));
    let (page, more) = paginate(&all, query)?;
    let body = serde_json::json!({ "repositories": page }).to_string();
    Ok(with_link(
        json(StatusCode::OK, body),
        "/v2/_catalog",
        more,
        page,
    ))
}

fn tags(s: &AppState, name: &str, query: &str) -> Result<Response> {
    let all = s
        .storage
        .tags(name)?
        .ok_or_else(|| ApiError::new(Code::NameUnknown))?;
    let (page, more) = paginate(&all, query)?;
    let body = serde_json::json!({ "name": name, "tags": page }).to_string();
    Ok(with_link(
        json(StatusCode::OK, body),
        &format!("/v2/{name}/tags/list"),
        more,
        page,
    ))
}

fn resolve(s: &AppState, name: &str, reference: &Ref) -> Result<Digest> {
    match reference {
        Ref::Digest(d) => Ok(d.clone()),
        Ref::Tag(t) => s.storage.resolve_tag(name, t).ok_or_else(|| {
            ApiError::msg(
                Code::ManifestUnknown,
                format!("manifest unknown: tag {t:?} not found"),
            )
        }),
    }
}

fn get_manifest(s: &AppState, name: &str, reference: &Ref, head: bool) -> Result<Response> {
    let digest = resolve(s, name, reference)?;
    let (media_type, bytes) = s
        .storage
        .get_manifest(name, &digest)?
        .ok_or_else(|| ApiError::new(Code::ManifestUnknown))?;
    let len = bytes.len();
    s.metrics
        .bytes_served
        .fetch_add(if head { 0 } else { len as u64 }, Ordering::Relaxed);
    let mut resp = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(bytes))
    };
    let h = resp.headers_mut();
    put_header(h, header::CONTENT_TYPE, &media_type);
    put_header(h, header::CONTENT_LENGTH, &len.to_string());
    put_header(h, "docker-content-digest", &digest.to_string());
    put_header(h, header::ETAG, &format!("\"{digest}\""));
    Ok(resp)
}

fn put_header(h: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

async fn read_body_limited(body: Body, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::internal("reading the request body", e))?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::msg(
                Code::SizeInvalid,
                format!("manifest is larger than {limit} bytes"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn put_manifest(
    s: &AppState,
    name: &str,
    reference: &Ref,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let bytes = read_body_limited(body, MANIFEST_LIMIT).await?;
    // Put by digest, the manifest is hashed with that digest's algorithm.
    let algorithm = match reference {
        Ref::Digest(d) => d.algorithm(),
        Ref::Tag(_) => lade_reference::Algorithm::Sha256,
    };
    let digest = crate::storage::digest_of(algorithm, &bytes);
    if let Ref::Digest(d) = reference
        && d != &digest
    {
        return Err(ApiError::msg(
            Code::DigestInvalid,
            format!("manifest digest {digest} does not match {d}"),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
    let parsed = Manifest::parse(&bytes, content_type.as_deref())
        .map_err(|e| ApiError::msg(Code::ManifestInvalid, e.to_string()))?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::msg(Code::ManifestInvalid, e.to_string()))?;
    let media_type = raw["mediaType"]
        .as_str()
        .map(str::to_owned)
        .or(content_type)
        .unwrap_or_else(|| match parsed {
            Manifest::Image(_) => lade_oci::media_type::OCI_MANIFEST.into(),
            Manifest::Index(_) => lade_oci::media_type::OCI_INDEX.into(),
        });
    // GC deletes only under the exclusive lock: while this is held, what the checks
    // below find stays until the manifest is stored.
    let _lock = s.storage.lock(false)?;
    // Everything the manifest references must already be in this repository.
    let (subject, artifact_type) = match &parsed {
        Manifest::Image(m) => {
            let mut needed = vec![&m.config];
            needed.extend(m.layers.iter().filter(|l| l.urls.is_empty()));
            for d in needed {
                if s.storage.repo_blob(name, &d.digest).is_none() {
                    return Err(ApiError::msg(
                        Code::ManifestBlobUnknown,
                        format!("blob unknown to registry: {}", d.digest),
                    ));
                }
            }
            (
                m.subject.clone(),
                m.artifact_type
                    .clone()
                    .or_else(|| Some(m.config.media_type.clone())),
            )
        }
        Manifest::Index(i) => {
            for d in &i.manifests {
                if !s.storage.has_manifest(name, &d.digest) {
                    return Err(ApiError::msg(
                        Code::ManifestBlobUnknown,
                        format!("manifest unknown to registry: {}", d.digest),
                    ));
                }
            }
            (i.subject.clone(), i.artifact_type.clone())
        }
    };
    let referrer = subject.as_ref().map(|sub| {
        let mut d = serde_json::json!({
            "mediaType": media_type,
            "digest": digest.to_string(),
            "size": bytes.len(),
        });
        if let Some(at) = &artifact_type {
            d["artifactType"] = serde_json::json!(at);
        }
        if let Some(a) = raw.get("annotations") {
            d["annotations"] = a.clone();
        }
        (sub.digest.clone(), d)
    });
    let tag = match reference {
        Ref::Tag(t) => Some(t.as_str()),
        Ref::Digest(_) => None,
    };
    s.storage.put_manifest(
        name,
        &digest,
        &media_type,
        &bytes,
        tag,
        referrer.as_ref().map(|(d, v)| (d, v)),
    )?;
    s.metrics.manifests_pushed.fetch_add(1, Ordering::Relaxed);
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    put_header(
        h,
        header::LOCATION,
        &format!("/v2/{name}/manifests/{digest}"),
    );
    put_header(h, "docker-content-digest", &digest.to_string());
    if let Some(sub) = &subject {
        put_header(h, "oci-subject", &sub.digest.to_string());
    }
    Ok(resp)
}

fn delete_manifest(s: &AppState, name: &str, reference: &Ref) -> Result<Response> {
    let found = match reference {
        // Only this tag goes; other tags on the same manifest stay.
        Ref::Tag(t) => s.storage.delete_tag(name, t)?,
        Ref::Digest(d) => s.storage.delete_manifest(name, d)?,
    };
    if found {
        Ok(StatusCode::ACCEPTED.into_response())
    } else {
        Err(ApiError::new(Code::ManifestUnknown))
    }
}

/// `bytes=a-b` / `bytes=a-` / `bytes=-n` → (start, end inclusive).
pub(crate) fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().ok()?, size - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

async fn get_blob(
    s: &AppState,
    name: &str,
    digest: &Digest,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response> {
    // The link is refreshed under the storage lock: a push told "this layer exists"
    // must still find it when its manifest arrives, whatever GC does meanwhile.
    let storage = s.storage.clone();
    let (name2, digest2) = (name.to_owned(), digest.clone());
    let size = tokio::task::spawn_blocking(move || storage.use_blob(&name2, &digest2))
        .await
        .map_err(|e| ApiError::internal("looking up a blob", e))??
        .ok_or_else(|| ApiError::new(Code::BlobUnknown))?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        Some(r) => match parse_range(r, size) {
            Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
            None => {
                return Err(
                    ApiError::msg(Code::RangeInvalid, "requested range not satisfiable")
                        .with_header(header::CONTENT_RANGE, &format!("bytes */{size}")),
                );
            }
        },
        None => (StatusCode::OK, 0, size.saturating_sub(1)),
    };
    let len = if size == 0 { 0 } else { end - start + 1 };
    let body = if head || len == 0 {
        Body::empty()
    } else {
        let mut file = tokio::fs::File::open(s.storage.blob_path(digest)).await?;
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start)).await?;
        }
        s.metrics.bytes_served.fetch_add(len, Ordering::Relaxed);
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
        Body::from_stream(stream)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    put_header(h, header::CONTENT_LENGTH, &len.to_string());
    put_header(h, header::CONTENT_TYPE, "application/octet-stream");
    put_header(h, "docker-content-digest", &digest.to_string());
    put_header(h, header::ACCEPT_RANGES, "bytes");
    put_header(h, header::ETAG, &format!("\"{digest}\""));
    if status == StatusCode::PARTIAL_CONTENT {
        put_header(
            h,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{end}/{size}"),
        );
    }
    Ok(resp)
}

fn upload_headers(resp: &mut Response, name: &str, id: &str, size: u64) {
    let h = resp.headers_mut();
    put_header(
        h,
        header::LOCATION,
        &format!("/v2/{name}/blobs/uploads/{id}"),
    );
    put_header(h, header::RANGE, &format!("0-{}", size.saturating_sub(1)));
    put_header(h, "docker-upload-uuid", id);
    put_header(h, header::CONTENT_LENGTH, "0");
}

async fn start_upload(
    s: &AppState,
    name: &str,
    query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    // Cross-repository mount: link a blob the source repository has, or fall back to a
    // new session as the spec says.
    if let (Some(mount), Some(from)) = (query_param(query, "mount"), query_param(query, "from"))
        && let Ok(digest) = Digest::parse(&mount)
        && lade_reference::is_repository_path(&from)
        && s.auth.check(
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            Access::Pull,
            Some(&from),
        ) == Verdict::Allowed
    {
        let storage = s.storage.clone();
        let (name2, digest2) = (name.to_owned(), digest.clone());
        let mounted = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
            let _lock = storage.lock(false)?;
            if storage.repo_blob(&from, &digest2).is_none() {
                return Ok(false);
            }
            storage.link_blob(&name2, &digest2)?;
            Ok(true)
        })
        .await
        .map_err(|e| ApiError::internal("mounting a blob", e))??;
        if mounted {
            return Ok(blob_created(name, &digest));
        }
    }
    let single = query_param(query, "digest")
        .map(|d| Digest::parse(&d).map_err(|_| ApiError::new(Code::DigestInvalid)))
        .transpose()?;
    let id = s.storage.new_upload(name)?;
    if let Some(digest) = single {
        // A single POST carrying the whole blob.
        append(s, name, &id, body).await?;
        return complete(s, name, &id, &digest).await;
    }
    s.uploads
        .lock()
        .map(|mut u| {
            u.insert(
                id.clone(),
                UploadHash {
                    hasher: Sha256::new(),
                    size: 0,
                },
            )
        })
        .ok();
    let mut resp = StatusCode::ACCEPTED.into_response();
    upload_headers(&mut resp, name, &id, 0);
    Ok(resp)
}

fn blob_created(name: &str, digest: &Digest) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    put_header(h, header::LOCATION, &format!("/v2/{name}/blobs/{digest}"));
    put_header(h, "docker-content-digest", &digest.to_string());
    put_header(h, header::CONTENT_LENGTH, "0");
    resp
}

fn upload_status(s: &AppState, name: &str, id: &str) -> Result<Response> {
    let size = s
        .storage
        .upload_size(name, id)
        .ok_or_else(|| ApiError::new(Code::BlobUploadUnknown))?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    upload_headers(&mut resp, name, id, size);
    Ok(resp)
}

/// Checks `Content-Range: a-b` against the upload's size (416 when out of order).
fn check_content_range(s: &AppState, name: &str, id: &str, headers: &HeaderMap) -> Result<u64> {
    let size = s
        .storage
        .upload_size(name, id)
        .ok_or_else(|| ApiError::new(Code::BlobUploadUnknown))?;
    if let Some(r) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    {
        let r = r
            .trim()
            .trim_start_matches("bytes ")
            .trim_start_matches("bytes=");
        let start = r
            .split('-')
            .next()
            .and_then(|a| a.trim().parse::<u64>().ok());
        if start != Some(size) {
            return Err(ApiError::msg(
                Code::RangeInvalid,
                format!("upload is at {size} bytes, chunk starts at {r}"),
            )
            .with_header(header::LOCATION, &format!("/v2/{name}/blobs/uploads/{id}"))
            .with_header(header::RANGE, &format!("0-{}", size.saturating_sub(1))));
        }
    }
    Ok(size)
}

/// Appends a request body to an upload, hashing it when the running hash is in step.
async fn append(s: &AppState, name: &str, id: &str, body: Body) -> Result<u64> {
    let path = s
        .storage
        .upload_path(name, id)
        .ok_or_else(|| ApiError::new(Code::BlobUploadUnknown))?;
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ApiError::new(Code::BlobUploadUnknown),
            _ => ApiError::internal("opening an upload", e),
        })?;
    let start = file.metadata().await?.len();
    let mut hash = s
        .uploads
        .lock()
        .ok()
        .and_then(|mut u| u.remove(id))
        .filter(|h| h.size == start);
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::internal("reading an upload body", e))?;
        file.write_all(&chunk).await?;
        if let Some(h) = &mut hash {
            h.hasher.update(&chunk);
            h.size += chunk.len() as u64;
        }
        written += chunk.len() as u64;
    }
    file.flush().await?;
    s.metrics
        .bytes_received
        .fetch_add(written, Ordering::Relaxed);
    if let Some(h) = hash
        && let Ok(mut u) = s.uploads.lock()
    {
        u.insert(id.to_owned(), h);
    }
    Ok(start + written)
}

async fn patch_upload(
    s: &AppState,
    name: &str,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    check_content_range(s, name, id, headers)?;
    let size = append(s, name, id, body).await?;
    let mut resp = StatusCode::ACCEPTED.into_response();
    upload_headers(&mut resp, name, id, size);
    Ok(resp)
}

async fn put_upload(
    s: &AppState,
    name: &str,
    id: &str,
    query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let digest = query_param(query, "digest")
        .and_then(|d| Digest::parse(&d).ok())
        .ok_or_else(|| {
            ApiError::msg(
                Code::DigestInvalid,
                "a valid digest query parameter is required",
            )
        })?;
    check_content_range(s, name, id, headers)?;
    append(s, name, id, body).await?;
    complete(s, name, id, &digest).await
}

async fn complete(s: &AppState, name: &str, id: &str, digest: &Digest) -> Result<Response> {
    if s.storage.upload_path(name, id).is_none() {
        return Err(ApiError::new(Code::BlobUploadUnknown));
    }
    let hashed = s
        .uploads
        .lock()
        .ok()
        .and_then(|mut u| u.remove(id))
        .map(|h| {
            (
                Digest::from_sha256_bytes(&h.hasher.finalize().into()),
                h.size,
            )
        });
    let storage = s.storage.clone();
    let (name2, id2, d2) = (name.to_owned(), id.to_owned(), digest.clone());
    let finish = tokio::task::spawn_blocking(move || {
        // Linked under the lock too: GC's plan either sees the link or runs after it.
        let _lock = storage.lock(false)?;
        storage.finish_upload(&name2, &id2, &d2, hashed)
    })
    .await
    .map_err(|e| ApiError::internal("finishing an upload", e))??;
    match finish {
        Finish::Done { .. } => {
            s.metrics.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
            Ok(blob_created(name, digest))
        }
        Finish::Mismatch { actual } => Err(ApiError::msg(
            Code::DigestInvalid,
            format!("uploaded content has digest {actual}, not {digest}"),
        )),
        Finish::Unknown => Err(ApiError::new(Code::BlobUploadUnknown)),
    }
}

fn referrers(s: &AppState, name: &str, digest: &Digest, query: &str) -> Result<Response> {
    let mut list = s.storage.referrers(name, digest)?;
    let filter = query_param(query, "artifactType");
    if let Some(at) = &filter {
        list.retain(|d| d["artifactType"].as_str() == Some(at.as_str()));
    }
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": lade_oci::media_type::OCI_INDEX,
        "manifests": list,
    });
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, lade_oci::media_type::OCI_INDEX)],
        body.to_string(),
    )
        .into_response();
    if filter.is_some() {
        put_header(resp.headers_mut(), "oci-filters-applied", "artifactType");
    }
    Ok(resp)
}

fn metrics(s: &AppState) -> Response {
    let m = &s.metrics;
    let line = |name: &str, help: &str, v: &AtomicU64| {
        format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            v.load(Ordering::Relaxed)
        )
    };
    let body = [
        line(
            "lade_registry_requests_total",
            "Requests received.",
            &m.requests,
        ),
        line(
            "lade_registry_errors_total",
            "Requests answered with an error.",
            &m.errors,
        ),
        line(
            "lade_registry_bytes_served_total",
            "Blob and manifest bytes sent.",
            &m.bytes_served,
        ),
        line(
            "lade_registry_bytes_received_total",
            "Upload bytes received.",
            &m.bytes_received,
        ),
        line(
            "lade_registry_blobs_uploaded_total",
            "Blob uploads completed.",
            &m.blobs_uploaded,
        ),
        line(
            "lade_registry_manifests_pushed_total",
            "Manifests pushed.",
            &m.manifests_pushed,
        ),
    ]
    .concat();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=9-0", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=x-y", 100), None);
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            query_param("mount=sha256%3Aab&from=a%2Fb", "from").as_deref(),
            Some("a/b")
        );
        assert_eq!(query_param("q=a+b", "q").as_deref(), Some("a b"));
        assert_eq!(query_param("q=%", "q").as_deref(), Some("%"));
        assert_eq!(query_param("q=%zz", "q").as_deref(), Some("%zz"));
        assert_eq!(query_param("x=1", "q"), None);
    }
}
