//! Pushing: blob existence checks, cross-repository mounts, monolithic and chunked
//! uploads that resume from the offset the registry reports, and manifest PUTs.

use std::path::Path;

use lade_reference::Digest;
use reqwest::{Method, StatusCode, header};

use crate::registry::{check_status, pull_scope};
use crate::{ClientError, Registry};

/// Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size.
pub const CHUNK_SIZE: u64 = 64 << 20;

/// `repository:NAME:pull,push`
pub fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

/// What a mount attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// The registry linked the blob: nothing to upload.
    Mounted,
    /// The registry started an upload session instead (the blob was not mountable).
    Session(String),
}

impl Registry {
    /// `HEAD /v2/REPO/blobs/DIGEST`: the blob's size when the registry has it in `repo`.
    pub async fn head_blob(&self, repo: &str, digest: &Digest) -> Result<Option<u64>, ClientError> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self
            .send(Method::HEAD, &path, &push_scope(repo), |r| r)
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_status(resp, &path).await?;
        // The header itself: for a HEAD, reqwest's `content_length()` is the (empty)
        // body's.
        Ok(Some(
            resp.headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        ))
    }

    /// `POST …/blobs/uploads/?mount=DIGEST&from=REPO`.
    pub async fn mount_blob(
        &self,
        repo: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<Mount, ClientError> {
        let path = format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}");
        let scope = format!("{} {}", push_scope(repo), pull_scope(from));
        let resp = self
            .send(Method::POST, &path, &scope, |r| {
                r.header(header::CONTENT_LENGTH, "0")
            })
            .await?;
        let resp = check_status(resp, &path).await?;
        if resp.status() == StatusCode::CREATED {
            return Ok(Mount::Mounted);
        }
        Ok(Mount::Session(self.location(&resp, &path).await?))
    }

    /// `POST …/blobs/uploads/`: a new upload session's URL.
    pub async fn start_upload(&self, repo: &str) -> Result<String, ClientError> {
        let path = format!("/v2/{repo}/blobs/uploads/");
        let resp = self
            .send(Method::POST, &path, &push_scope(repo), |r| {
                r.header(header::CONTENT_LENGTH, "0")
            })
            .await?;
        let resp = check_status(resp, &path).await?;
        self.location(&resp, &path).await
    }

    async fn location(&self, resp: &reqwest::Response, path: &str) -> Result<String, ClientError> {
        let loc = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ClientError::Protocol {
                url: path.to_owned(),
                reason: "the registry sent no Location for the upload".into(),
            })?;
        self.absolute(loc).await
    }

    /// Uploads the file at `path` (`size` bytes, digest `digest`) to the session at
    /// `location`: one PUT for small blobs, PATCH chunks for large ones. `sent` is told
    /// of progress.
    ///
    /// A chunk is never sent twice blindly: after any failure the registry is asked
    /// where the upload stands (`GET` on the session) and the upload goes on from there,
    /// because some registries append a repeated chunk whatever its `Content-Range`
    /// says. A session the registry lost, or an upload it refused to complete because
    /// its content came out wrong, starts over once in a new session — unless the blob
    /// is there already: a registry that stored it and lost its answer (a dropped
    /// connection) then has no session for the retried request, and the upload did its
    /// job.
    pub async fn upload_blob(
        &self,
        repo: &str,
        location: String,
        digest: &Digest,
        path: &Path,
        size: u64,
        sent: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), ClientError> {
        match self
            .upload_blob_once(repo, location, digest, path, size, sent)
            .await
        {
            Err(e)
                if e.api_code() == Some("BLOB_UPLOAD_UNKNOWN")
                    && self.landed(repo, digest, size, sent).await =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Whether the blob is in the repository after all (a registry that stored it and
    /// lost its answer has no session left); when it is, the progress says so. A
    /// failed HEAD counts as no: the upload's own error is the one to report.
    async fn landed(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        sent: &(dyn Fn(u64) + Send + Sync),
    ) -> bool {
        let there = matches!(self.head_blob(repo, digest).await, Ok(Some(_)));
        if there {
            sent(size);
        }
        there
    }

    async fn upload_blob_once(
        &self,
        repo: &str,
        location: String,
        digest: &Digest,
        path: &Path,
        size: u64,
        sent: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), ClientError> {
        let scope = push_scope(repo);
        if size <= CHUNK_SIZE {
            let url = with_digest(&location, digest);
            let resp = self
                .send_url(Method::PUT, &url, &scope, |r| {
                    r.header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_LENGTH, size.to_string())
                        .body(file_body(path, 0, size))
                })
                .await?;
            check_status(resp, &url).await?;
            sent(size);
            return Ok(());
        }
        match self
            .send_chunks(&scope, location, digest, path, size, sent)
            .await
        {
            Ok(true) => return Ok(()),
            // The session cannot be completed; a new one may be.
            Ok(false) => {}
            Err(e) => match e.api_code() {
                Some("BLOB_UPLOAD_UNKNOWN") if self.landed(repo, digest, size, sent).await => {
                    return Ok(());
                }
                // Distribution answers BLOB_UPLOAD_INVALID to a PATCH that does not
                // start where it stands.
                Some("BLOB_UPLOAD_UNKNOWN" | "DIGEST_INVALID" | "BLOB_UPLOAD_INVALID") => {}
                _ => return Err(e),
            },
        }
        sent(0);
        let fresh = self.start_upload(repo).await?;
        match self
            .send_chunks(&scope, fresh, digest, path, size, sent)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClientError::Protocol {
                url: format!("/v2/{repo}/blobs/uploads/"),
                reason: format!(
                    "the registry kept more bytes of {digest} than the blob has, twice"
                ),
            }),
            Err(e) => Err(e),
        }
    }

    /// The chunks and the final PUT; `Ok(false)` when the session went wrong beyond
    /// repair (the registry kept more bytes than the blob has).
    async fn send_chunks(
        &self,
        scope: &str,
        mut location: String,
        digest: &Digest,
        path: &Path,
        size: u64,
        sent: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<bool, ClientError> {
        let mut offset = 0u64;
        let mut failures = 0;
        while offset < size {
            let len = CHUNK_SIZE.min(size - offset);
            let end = offset + len - 1;
            let result = self
                .send_url_once(Method::PATCH, &location, scope, |r| {
                    r.header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_RANGE, format!("{offset}-{end}"))
                        .header(header::CONTENT_LENGTH, len.to_string())
                        .body(file_body(path, offset, len))
                })
                .await;
            let ok = match result {
                Ok(resp) if resp.status().is_success() => {
                    if let Some(l) = resp
                        .headers()
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                    {
                        location = self.absolute(l).await?;
                    }
                    offset = end + 1;
                    sent(offset);
                    true
                }
                Ok(resp) if resp.status() != StatusCode::RANGE_NOT_SATISFIABLE => {
                    let e = check_status(resp, &location).await.err();
                    match e {
                        Some(e) if !e.is_temporary() => return Err(e),
                        _ => false,
                    }
                }
                Ok(_) => false,
                Err(e) if e.is_temporary() => false,
                Err(e) => return Err(e),
            };
            if !ok {
                failures += 1;
                if failures > 5 {
                    return Err(ClientError::Protocol {
                        url: location,
                        reason: format!("the upload kept failing at byte {offset}"),
                    });
                }
                tokio::time::sleep(self.retry.delay(failures as u32, None)).await;
                offset = self.upload_offset(scope, &location).await?;
                if offset > size {
                    // More than the blob: the registry kept repeated bytes. The final
                    // PUT would fail on the digest; start over instead.
                    return Ok(false);
                }
                sent(offset);
            }
        }
        let url = with_digest(&location, digest);
        let resp = self
            .send_url(Method::PUT, &url, scope, |r| {
                r.header(header::CONTENT_LENGTH, "0")
            })
            .await?;
        check_status(resp, &url).await?;
        Ok(true)
    }

    /// `GET` on an upload session: the next byte the registry expects.
    async fn upload_offset(&self, scope: &str, location: &str) -> Result<u64, ClientError> {
        let resp = self.send_url(Method::GET, location, scope, |r| r).await?;
        let resp = check_status(resp, location).await?;
        let range = resp
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("0-0");
        let end: u64 = range
            .rsplit('-')
            .next()
            .and_then(|e| e.trim().parse().ok())
            .unwrap_or(0);
        // "0-0" is ambiguous (nothing, or one byte); registries send it for nothing.
        Ok(if range.trim() == "0-0" { 0 } else { end + 1 })
    }

    /// `PUT /v2/REPO/manifests/REFERENCE` with the exact bytes; returns the digest the
    /// registry reports (or the one computed).
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<Digest>, ClientError> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let body = bytes.to_vec();
        let resp = self
            .send(Method::PUT, &path, &push_scope(repo), |r| {
                r.header(header::CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        let resp = check_status(resp, &path).await?;
        Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok()))
    }

    /// `GET /v2/` with credentials: checks that they are accepted (for `login`).
    pub async fn ping(&self) -> Result<(), ClientError> {
        let resp = self.send(Method::GET, "/v2/", "", |r| r).await?;
        check_status(resp, "/v2/").await.map(|_| ())
    }
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// A request body streaming `len` bytes of `path` from `offset`, opened anew for each
/// attempt. A blocking task reads 256 KiB chunks straight into the buffers sent (no
/// second copy through an async file's own buffer), at most two ahead of the request.
fn file_body(path: &Path, offset: u64, len: u64) -> reqwest::Body {
    use std::io::{Read, Seek};
    const CHUNK: u64 = 256 << 10;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(2);
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let opened = fs_err::File::open(&path).and_then(|mut f| {
            f.seek(std::io::SeekFrom::Start(offset))?;
            Ok(f)
        });
        let mut file = match opened {
            Ok(f) => f.take(len),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let mut chunk = Vec::with_capacity(CHUNK.min(file.limit()) as usize);
            match (&mut file).take(CHUNK).read_to_end(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {
                    // Nobody receives when the request is gone (done or failed).
                    if tx.blocking_send(Ok(bytes::Bytes::from(chunk))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// One result of a registry search (`/v1/search`, Docker Hub's shape).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SearchResult {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

impl Registry {
    /// `GET /v1/search?q=…&n=…` (on Docker Hub, index.docker.io). `None` when the
    /// registry has no search API.
    pub async fn search(
        &self,
        term: &str,
        limit: usize,
    ) -> Result<Option<Vec<SearchResult>>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(default)]
            results: Vec<SearchResult>,
        }
        let q: String = term
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let path = format!("/v1/search?q={q}&n={limit}");
        let resp = self.send(Method::GET, &path, "", |r| r).await?;
        if matches!(resp.status().as_u16(), 404 | 405) {
            return Ok(None);
        }
        let resp = check_status(resp, &path).await?;
        let url = resp.url().to_string();
        let body = resp.bytes().await.map_err(|e| ClientError::Transport {
            host: url.clone(),
            source: e,
        })?;
        let a: Answer = serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
            url,
            reason: format!("unreadable search answer: {e}"),
        })?;
        Ok(Some(a.results))
    }

    /// Every repository, following `Link` pagination (`/v2/_catalog`).
    pub async fn catalog(&self) -> Result<Vec<String>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let mut out = Vec::new();
        let mut path = "/v2/_catalog?n=1000".to_owned();
        for _ in 0..10_000 {
            let resp = self
                .send(Method::GET, &path, "registry:catalog:*", |r| r)
                .await?;
            let resp = check_status(resp, &path).await?;
            let next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::registry::next_link);
            let url = resp.url().to_string();
            let body = resp.bytes().await.map_err(|e| ClientError::Transport {
                host: url.clone(),
                source: e,
            })?;
            let c: Catalog = serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
                url,
                reason: format!("unreadable catalog: {e}"),
            })?;
            out.extend(c.repositories);
            match next {
                Some(n) => path = n,
                None => break,
            }
        }
        Ok(out)
    }
}
