//! The checks of the OCI distribution-spec conformance suite (`conformance/01_pull_test.go`,
//! `02_push_test.go`, `03_discovery_test.go`, `04_management_test.go` in
//! opencontainers/distribution-spec), ported to drive [`lade_server::app`] with `oneshot`,
//! no socket. Where the suite accepts several answers, these tests pin the one lade gives.
//! Beyond the suite: the error envelope and `Docker-Distribution-API-Version` on every
//! response, path tricks, and htpasswd access control.
//!
//! Every request goes through [`Registry::send`], which checks the common headers and, on
//! every error, the envelope `{"errors":[{"code","message","detail"}]}` with a spec code.

#![expect(clippy::unwrap_used, reason = "test code: a failure shows where")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use lade_server::{AppState, Auth, AuthConfig, FsStorage, app};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The codes of the spec's error table (plus `TAG_INVALID`/`MANIFEST_UNVERIFIED`, which the
/// conformance suite also accepts).
const SPEC_CODES: &[&str] = &[
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "MANIFEST_UNVERIFIED",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "TAG_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
];

/// `sha256:` of "hello world": the suite's digest of a blob nobody pushed.
const DUMMY_DIGEST: &str =
    "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

// --- harness ---------------------------------------------------------------------------

/// A registry over a temporary directory.
struct Registry {
    router: axum::Router,
    dir: tempfile::TempDir,
}

impl Registry {
    fn open() -> Self {
        Self::with_auth(|_| AuthConfig::default())
    }

    /// `auth` gets the temporary directory, to write an htpasswd file into.
    fn with_auth(auth: impl FnOnce(&Path) -> AuthConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = auth(dir.path());
        let storage = FsStorage::open(dir.path().join("data")).unwrap();
        let mut state = AppState::new(storage, Auth::from_config(&config).unwrap());
        state.access_log = false;
        Self {
            router: app(Arc::new(state)),
            dir,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Sends one request; checks what every response must carry.
    async fn send(&self, r: Req) -> Resp {
        let mut builder = Request::builder().method(r.method.clone()).uri(&r.uri);
        for (k, v) in &r.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let resp = self
            .router
            .clone()
            .oneshot(builder.body(Body::from(r.body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let what = format!("{} {} → {status}", r.method, r.uri);
        assert_eq!(
            headers
                .get("docker-distribution-api-version")
                .map(|v| v.to_str().unwrap()),
            Some("registry/2.0"),
            "{what}: Docker-Distribution-API-Version"
        );
        let resp = Resp {
            status,
            headers,
            body,
            what,
        };
        if status.is_client_error() || status.is_server_error() {
            resp.check_envelope();
        }
        resp
    }

    async fn get(&self, uri: impl Into<String>) -> Resp {
        self.send(req("GET", uri)).await
    }

    async fn head(&self, uri: impl Into<String>) -> Resp {
        self.send(req("HEAD", uri)).await
    }

    async fn delete(&self, uri: impl Into<String>) -> Resp {
        self.send(req("DELETE", uri)).await
    }

    /// POST a new upload session; returns its relative location.
    async fn start_upload(&self, name: &str) -> String {
        self.send(req("POST", format!("/v2/{name}/blobs/uploads/")))
            .await
            .status(202)
            .location()
    }

    /// Pushes a blob with POST + PUT (the suite's "monolithic" way); returns its digest.
    async fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let location = self.start_upload(name).await;
        let resp = self
            .send(
                req("PUT", with_query(&location, "digest", &digest))
                    .header("content-type", "application/octet-stream")
                    .body(bytes),
            )
            .await
            .status(201);
        assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
        digest
    }

    async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Resp {
        self.send(
            req("PUT", format!("/v2/{name}/manifests/{reference}"))
                .header("content-type", media_type)
                .body(bytes),
        )
        .await
    }

    /// Pushes config, layers and an OCI manifest tagged `tag`; returns the manifest.
    async fn push_image(&self, name: &str, tag: &str, seed: u64) -> Image {
        let image = Image::new(seed);
        self.push_blob(name, &image.config).await;
        for l in &image.layers {
            self.push_blob(name, l).await;
        }
        self.put_manifest(name, tag, OCI_MANIFEST, &image.manifest)
            .await
            .status(201);
        image
    }

    async fn tags(&self, name: &str) -> Vec<String> {
        let v = self
            .get(format!("/v2/{name}/tags/list"))
            .await
            .status(200)
            .json();
        assert_eq!(v["name"], name);
        v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }

    /// Every file under the storage root, relative, sorted.
    fn files(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in fs_err::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data(), &self.data(), &mut out);
        out.sort();
        out
    }
}

/// A request to build.
struct Req {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn req(method: &str, uri: impl Into<String>) -> Req {
    Req {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        uri: uri.into(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Req {
    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

/// A response, read whole.
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    what: String,
}

impl Resp {
    fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).map(|v| v.to_str().unwrap())
    }

    #[track_caller]
    fn status(self, want: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            want,
            "{}\n{}",
            self.what,
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The status and the first error's code.
    #[track_caller]
    fn error(self, status: u16, code: &str) -> Self {
        let s = self.status(status);
        if !s.body.is_empty() {
            assert_eq!(s.code(), code, "{}", s.what);
        }
        s
    }

    fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[track_caller]
    fn location(&self) -> String {
        let l = self
            .header("location")
            .unwrap_or_else(|| panic!("{}: no Location", self.what));
        assert!(l.starts_with("/v2/"), "{}: Location {l}", self.what);
        l.to_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.what,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `{"errors":[{"code","message","detail"}]}` with codes from the spec's table.
    #[track_caller]
    fn check_envelope(&self) {
        if self.body.is_empty() && self.what.starts_with("HEAD ") {
            return; // HEAD carries no body
        }
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}: error Content-Type",
            self.what
        );
        let v = self.json();
        let errors = v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no errors array: {v}", self.what));
        assert!(!errors.is_empty(), "{}: empty errors", self.what);
        for e in errors {
            let code = e["code"].as_str().unwrap_or_default();
            assert!(SPEC_CODES.contains(&code), "{}: code {code:?}", self.what);
            assert!(e["message"].is_string(), "{}: message in {e}", self.what);
            assert!(
                e.as_object().unwrap().contains_key("detail"),
                "{}: detail in {e}",
                self.what
            );
        }
    }
}

fn digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Adds `key=value` to a location that may already hold a query.
fn with_query(location: &str, key: &str, value: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}{key}={value}")
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": digest(bytes), "size": bytes.len()})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Deterministic bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// An image as the suite builds it: a config with its own author, one layer, and a
/// manifest whose config descriptor carries `data` and a field no spec knows.
struct Image {
    config: Vec<u8>,
    layers: Vec<Vec<u8>>,
    manifest: Vec<u8>,
}

impl Image {
    fn new(seed: u64) -> Self {
        let config = serde_json::to_vec_pretty(&json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "author": format!("conformance {seed}"),
        }))
        .unwrap();
        let layers = vec![noise(300 + seed as usize, seed)];
        let mut config_desc = descriptor(OCI_CONFIG, &config);
        config_desc["data"] = json!(b64(&config));
        config_desc["newUnspecifiedField"] = json!(b64(b"hello world"));
        let manifest = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc,
            "layers": layers.iter().map(|l| descriptor(OCI_LAYER, l)).collect::<Vec<_>>(),
        }))
        .unwrap();
        Self {
            config,
            layers,
            manifest,
        }
    }

    fn digest(&self) -> String {
        digest(&self.manifest)
    }
}

// --- base --------------------------------------------------------------------------------

#[tokio::test]
async fn base_route_answers_200_with_the_api_version() {
    let r = Registry::open();
    r.get("/v2/").await.status(200);
    r.get("/v2").await.status(200);
    r.head("/v2/").await.status(200);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_the_envelope() {
    let r = Registry::open();
    r.get("/v3/").await.status(404);
    r.get("/v2/a/other/x").await.status(404);
    r.get("/").await.status(404);
    r.send(req("PATCH", "/v2/a/manifests/latest"))
        .await
        .error(405, "UNSUPPORTED");
    r.send(req("POST", "/v2/a/tags/list"))
        .await
        .error(405, "UNSUPPORTED");
    r.send(req("PUT", format!("/v2/a/blobs/{DUMMY_DIGEST}")))
        .await
        .error(405, "UNSUPPORTED");
}

// --- 01 pull -----------------------------------------------------------------------------

#[tokio::test]
async fn pull_blobs() {
    let r = Registry::open();
    let name = "conformance/pull";
    let image = r.push_image(name, "tagtest0", 0).await;
    let config = digest(&image.config);

    // HEAD/GET of a blob nobody pushed: 404 BLOB_UNKNOWN.
    r.head(format!("/v2/{name}/blobs/{DUMMY_DIGEST}"))
        .await
        .error(404, "BLOB_UNKNOWN");
    r.get(format!("/v2/{name}/blobs/{DUMMY_DIGEST}"))
        .await
        .error(404, "BLOB_UNKNOWN");

    let head = r
        .head(format!("/v2/{name}/blobs/{config}"))
        .await
        .status(200);
    assert_eq!(head.header("docker-content-digest"), Some(config.as_str()));
    assert_eq!(
        head.header("content-length"),
        Some(image.config.len().to_string().as_str())
    );
    assert!(head.body.is_empty());

    let get = r
        .get(format!("/v2/{name}/blobs/{config}"))
        .await
        .status(200);
    assert_eq!(get.body, image.config);
    assert_eq!(get.header("docker-content-digest"), Some(config.as_str()));

    // A repository serves only what was pushed to (or mounted into) it.
    r.get(format!("/v2/other/blobs/{config}"))
        .await
        .error(404, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn pull_blob_ranges() {
    let r = Registry::open();
    let blob = noise(100, 7);
    let d = r.push_blob("ranges", &blob).await;
    let uri = format!("/v2/ranges/blobs/{d}");
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=50-500", 50, 99),
        ("bytes=0-99", 0, 99),
    ] {
        let resp = r
            .send(req("GET", &uri).header("range", range))
            .await
            .status(206);
        assert_eq!(resp.body, &blob[start..=end], "{range}");
        assert_eq!(
            resp.header("content-range"),
            Some(format!("bytes {start}-{end}/100").as_str()),
            "{range}"
        );
        assert_eq!(
            resp.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    }
    for bad in ["bytes=100-", "bytes=9-0", "bytes=0-1,5-6"] {
        let resp = r
            .send(req("GET", &uri).header("range", bad))
            .await
            .status(416);
        assert_eq!(resp.header("content-range"), Some("bytes */100"), "{bad}");
    }
    let head = r.head(&uri).await.status(200);
    assert_eq!(head.header("accept-ranges"), Some("bytes"));
}

#[tokio::test]
async fn pull_manifests() {
    let r = Registry::open();
    let name = "conformance/pull";
    // manifests[0] by tag, manifests[1] by digest (the suite's setup).
    let m0 = r.push_image(name, "tagtest0", 0).await;
    let m1 = Image::new(1);
    r.push_blob(name, &m1.config).await;
    r.push_blob(name, &m1.layers[0]).await;
    r.put_manifest(name, &m1.digest(), OCI_MANIFEST, &m1.manifest)
        .await
        .status(201);

    for reference in ["tagtest0".to_owned(), m0.digest()] {
        let uri = format!("/v2/{name}/manifests/{reference}");
        let head = r
            .send(req("HEAD", &uri).header("accept", OCI_MANIFEST))
            .await
            .status(200);
        assert_eq!(
            head.header("docker-content-digest"),
            Some(m0.digest().as_str())
        );
        assert_eq!(head.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            head.header("content-length"),
            Some(m0.manifest.len().to_string().as_str())
        );
        assert!(head.body.is_empty());
        let get = r
            .send(req("GET", &uri).header("accept", OCI_MANIFEST))
            .await
            .status(200);
        assert_eq!(get.body, m0.manifest, "{reference}");
        assert_eq!(
            get.header("docker-content-digest"),
            Some(m0.digest().as_str())
        );
        assert_eq!(get.header("content-type"), Some(OCI_MANIFEST));
    }
    let get = r
        .get(format!("/v2/{name}/manifests/{}", m1.digest()))
        .await
        .status(200);
    assert_eq!(get.body, m1.manifest);
    r.head(format!("/v2/{name}/manifests/{}", m1.digest()))
        .await
        .status(200);

    // The suite's nonexistent reference is not even a valid tag: still a 404.
    for method in ["GET", "HEAD"] {
        r.send(req(
            method,
            format!("/v2/{name}/manifests/.INVALID_MANIFEST_NAME"),
        ))
        .await
        .error(404, "MANIFEST_UNKNOWN");
        r.send(req(method, format!("/v2/{name}/manifests/nosuchtag")))
            .await
            .error(404, "MANIFEST_UNKNOWN");
        r.send(req(method, format!("/v2/{name}/manifests/{DUMMY_DIGEST}")))
            .await
            .error(404, "MANIFEST_UNKNOWN");
    }
    // Another repository does not serve it.
    r.get(format!("/v2/other/manifests/{}", m0.digest()))
        .await
        .error(404, "MANIFEST_UNKNOWN");
    // The suite's "400 response body should contain OCI-conforming JSON message".
    r.send(
        req("GET", format!("/v2/{name}/manifests/sha256:totallywrong"))
            .header("content-type", OCI_MANIFEST)
            .body("blablabla"),
    )
    .await
    .error(400, "DIGEST_INVALID");
}

// --- 02 push -----------------------------------------------------------------------------

#[tokio::test]
async fn push_blob_streamed() {
    let r = Registry::open();
    let name = "conformance/push";
    let blob = noise(42, 1);
    let d = digest(&blob);
    let location = r.start_upload(name).await;
    assert!(location.starts_with(&format!("/v2/{name}/blobs/uploads/")));
    let patch = r
        .send(
            req("PATCH", &location)
                .header("content-type", "application/octet-stream")
                .body(blob.clone()),
        )
        .await
        .status(202);
    assert_eq!(patch.header("range"), Some("0-41"));
    let put = r
        .send(
            req("PUT", with_query(&patch.location(), "digest", &d))
                .header("content-type", "application/octet-stream")
                .header("content-length", "0"),
        )
        .await
        .status(201);
    assert_eq!(put.location(), format!("/v2/{name}/blobs/{d}"));
    assert_eq!(put.header("docker-content-digest"), Some(d.as_str()));
    assert_eq!(r.get(put.location()).await.status(200).body, blob);
    // The session is gone once completed.
    r.get(&location).await.error(404, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn push_blob_monolithic() {
    let r = Registry::open();
    let name = "conformance/push";
    let config = Image::new(1).config;
    let d = digest(&config);
    r.get(format!("/v2/{name}/blobs/{DUMMY_DIGEST}"))
        .await
        .error(404, "BLOB_UNKNOWN");

    // A single POST with the digest and the whole blob.
    let post = r
        .send(
            req("POST", format!("/v2/{name}/blobs/uploads/?digest={d}"))
                .header("content-type", "application/octet-stream")
                .header("content-length", config.len().to_string())
                .body(config.clone()),
        )
        .await
        .status(201);
    assert_eq!(post.location(), format!("/v2/{name}/blobs/{d}"));
    assert_eq!(post.header("docker-content-digest"), Some(d.as_str()));
    r.get(format!("/v2/{name}/blobs/{d}")).await.status(200);

    // POST, then PUT with the body.
    let layer = noise(1000, 2);
    let dl = digest(&layer);
    let location = r.start_upload(name).await;
    let put = r
        .send(
            req("PUT", with_query(&location, "digest", &dl))
                .header("content-type", "application/octet-stream")
                .body(layer.clone()),
        )
        .await
        .status(201);
    assert_eq!(put.location(), format!("/v2/{name}/blobs/{dl}"));
    assert_eq!(
        r.get(format!("/v2/{name}/blobs/{dl}"))
            .await
            .status(200)
            .body,
        layer
    );

    // Pushing a blob the registry already has is fine.
    r.push_blob(name, &layer).await;

    // An empty blob.
    let d = r.push_blob(name, b"").await;
    let get = r.get(format!("/v2/{name}/blobs/{d}")).await.status(200);
    assert!(get.body.is_empty());
    assert_eq!(get.header("content-length"), Some("0"));
}

#[tokio::test]
async fn push_blob_chunked() {
    let r = Registry::open();
    let name = "conformance/push";
    let blob = noise(42, 3);
    let d = digest(&blob);
    let (chunk1, chunk2) = blob.split_at(22);

    // Out of order: the second chunk first.
    let location = r.start_upload(name).await;
    let out_of_order = r
        .send(
            req("PATCH", &location)
                .header("content-type", "application/octet-stream")
                .header("content-range", "22-41")
                .body(chunk2),
        )
        .await
        .status(416);
    assert_eq!(out_of_order.code(), "BLOB_UPLOAD_INVALID");

    // In order.
    let location = r.start_upload(name).await;
    let first = r
        .send(
            req("PATCH", &location)
                .header("content-type", "application/octet-stream")
                .header("content-length", "22")
                .header("content-range", "0-21")
                .body(chunk1),
        )
        .await
        .status(202);
    assert_eq!(first.header("range"), Some("0-21"));
    // Retrying the first chunk is out of order too.
    r.send(
        req("PATCH", &location)
            .header("content-range", "0-21")
            .body(chunk1),
    )
    .await
    .status(416);
    // Upload status: 204 with Location and Range.
    let status = r.get(&location).await.status(204);
    assert_eq!(status.header("range"), Some("0-21"));
    let second = r
        .send(
            req("PATCH", status.location())
                .header("content-type", "application/octet-stream")
                .header("content-range", "22-41")
                .body(chunk2),
        )
        .await
        .status(202);
    assert_eq!(second.header("range"), Some("0-41"));
    let put = r
        .send(
            req("PUT", with_query(&second.location(), "digest", &d))
                .header("content-length", "0")
                .header("content-type", "application/octet-stream"),
        )
        .await
        .status(201);
    assert_eq!(put.header("docker-content-digest"), Some(d.as_str()));
    assert_eq!(r.get(put.location()).await.status(200).body, blob);

    // The last chunk may ride on the PUT (the older suite's way).
    let location = r.start_upload(name).await;
    let blob = noise(42, 4);
    let (chunk1, chunk2) = blob.split_at(22);
    let first = r
        .send(
            req("PATCH", &location)
                .header("content-range", "0-21")
                .body(chunk1),
        )
        .await
        .status(202);
    let d = digest(&blob);
    r.send(
        req("PUT", with_query(&first.location(), "digest", &d))
            .header("content-range", "22-41")
            .body(chunk2),
    )
    .await
    .status(201);
    assert_eq!(
        r.get(format!("/v2/{name}/blobs/{d}"))
            .await
            .status(200)
            .body,
        blob
    );
}

#[tokio::test]
async fn push_blob_digest_mismatch_is_refused_and_nothing_is_kept() {
    let r = Registry::open();
    let name = "mismatch";
    let blob = noise(64, 5);
    let wrong = digest(b"something else");

    let location = r.start_upload(name).await;
    r.send(req("PUT", with_query(&location, "digest", &wrong)).body(blob.clone()))
        .await
        .error(400, "DIGEST_INVALID");
    r.get(format!("/v2/{name}/blobs/{wrong}"))
        .await
        .error(404, "BLOB_UNKNOWN");
    r.get(format!("/v2/{name}/blobs/{}", digest(&blob)))
        .await
        .error(404, "BLOB_UNKNOWN");

    // Single POST with the wrong digest.
    r.send(req("POST", format!("/v2/{name}/blobs/uploads/?digest={wrong}")).body(blob.clone()))
        .await
        .error(400, "DIGEST_INVALID");
    r.get(format!("/v2/{name}/blobs/{wrong}"))
        .await
        .error(404, "BLOB_UNKNOWN");

    // A digest that does not parse, or none at all.
    let location = r.start_upload(name).await;
    r.send(req("PUT", with_query(&location, "digest", "sha256:zz")).body(blob.clone()))
        .await
        .error(400, "DIGEST_INVALID");
    r.send(req("PUT", &location).body(blob.clone()))
        .await
        .error(400, "DIGEST_INVALID");
    r.send(req("POST", format!("/v2/{name}/blobs/uploads/?digest=md5:abc")).body(blob))
        .await
        .error(400, "DIGEST_INVALID");

    assert!(
        r.files().iter().all(|f| !f.starts_with("blobs/")),
        "{:?}",
        r.files()
    );
}

#[tokio::test]
async fn push_upload_cancel_and_unknown_sessions() {
    let r = Registry::open();
    let name = "cancel";
    let location = r.start_upload(name).await;
    r.send(req("PATCH", &location).body(noise(10, 6)))
        .await
        .status(202);
    r.delete(&location).await.status(204);
    r.get(&location).await.error(404, "BLOB_UPLOAD_UNKNOWN");
    r.send(req("PATCH", &location).body("x"))
        .await
        .error(404, "BLOB_UPLOAD_UNKNOWN");
    r.send(req("PUT", with_query(&location, "digest", &digest(b"x"))).body("x"))
        .await
        .error(404, "BLOB_UPLOAD_UNKNOWN");
    r.delete(&location).await.error(404, "BLOB_UPLOAD_UNKNOWN");
    for method in ["GET", "PATCH", "DELETE"] {
        r.send(req(
            method,
            format!("/v2/{name}/blobs/uploads/0123456789abcdef"),
        ))
        .await
        .error(404, "BLOB_UPLOAD_UNKNOWN");
    }
    assert!(
        r.files().iter().all(|f| !f.starts_with("uploads/")),
        "{:?}",
        r.files()
    );
}

#[tokio::test]
async fn push_cross_repository_mount() {
    let r = Registry::open();
    let blob = noise(42, 7);
    let d = r.push_blob("conformance/source", &blob).await;
    let target = "conformance-crossmount";

    // Without `from`: a new session.
    let no_from = r
        .send(req(
            "POST",
            format!("/v2/{target}/blobs/uploads/?mount={DUMMY_DIGEST}"),
        ))
        .await
        .status(202);
    assert!(
        no_from
            .location()
            .starts_with(&format!("/v2/{target}/blobs/uploads/"))
    );

    // From a repository that has it: 201 and the blob is servable.
    let mounted = r
        .send(req(
            "POST",
            format!("/v2/{target}/blobs/uploads/?mount={d}&from=conformance/source"),
        ))
        .await
        .status(201);
    assert_eq!(mounted.location(), format!("/v2/{target}/blobs/{d}"));
    assert_eq!(mounted.header("docker-content-digest"), Some(d.as_str()));
    assert_eq!(r.get(mounted.location()).await.status(200).body, blob);

    // `from` percent-encoded, as some clients send it.
    r.send(req(
        "POST",
        format!("/v2/third/blobs/uploads/?mount={d}&from=conformance%2Fsource"),
    ))
    .await
    .status(201);

    // A blob the source lacks, a source that does not exist, a bad source: a new session.
    for query in [
        format!("mount={DUMMY_DIGEST}&from=conformance/source"),
        format!("mount={d}&from=nosuchrepo"),
        format!("mount={d}&from=../conformance/source"),
        "mount=sha256:bad&from=conformance/source".to_owned(),
    ] {
        let resp = r
            .send(req("POST", format!("/v2/fallback/blobs/uploads/?{query}")))
            .await
            .status(202);
        let location = resp.location();
        assert!(
            location.starts_with("/v2/fallback/blobs/uploads/"),
            "{query}"
        );
        // The session works.
        r.send(req("PUT", with_query(&location, "digest", &d)).body(blob.clone()))
            .await
            .status(201);
        r.delete(format!("/v2/fallback/blobs/{d}"))
            .await
            .status(202);
    }
}

#[tokio::test]
async fn push_manifests() {
    let r = Registry::open();
    let name = "conformance/push";
    let image = Image::new(1);
    r.get(format!("/v2/{name}/manifests/.INVALID_MANIFEST_NAME"))
        .await
        .error(404, "MANIFEST_UNKNOWN");

    // Blobs first, else MANIFEST_BLOB_UNKNOWN.
    r.put_manifest(name, "test0", OCI_MANIFEST, &image.manifest)
        .await
        .error(400, "MANIFEST_BLOB_UNKNOWN");
    r.push_blob(name, &image.config).await;
    r.put_manifest(name, "test0", OCI_MANIFEST, &image.manifest)
        .await
        .error(400, "MANIFEST_BLOB_UNKNOWN");
    r.push_blob(name, &image.layers[0]).await;

    for i in 0..4 {
        let put = r
            .put_manifest(name, &format!("test{i}"), OCI_MANIFEST, &image.manifest)
            .await
            .status(201);
        assert_eq!(
            put.location(),
            format!("/v2/{name}/manifests/{}", image.digest())
        );
        assert_eq!(
            put.header("docker-content-digest"),
            Some(image.digest().as_str())
        );
        assert_eq!(put.header("oci-subject"), None);
    }
    // A manifest with no layers.
    let empty_layers = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "config": descriptor(OCI_CONFIG, &image.config),
        "layers": [],
    }))
    .unwrap();
    r.put_manifest(name, "emptylayer", OCI_MANIFEST, &empty_layers)
        .await
        .status(201);
    assert_eq!(
        r.get(format!("/v2/{name}/manifests/emptylayer"))
            .await
            .status(200)
            .header("content-type"),
        Some(OCI_MANIFEST)
    );
    let get = r
        .get(format!("/v2/{name}/manifests/{}", image.digest()))
        .await
        .status(200);
    assert_eq!(get.body, image.manifest);

    // By digest, with the digest it has.
    let again = Image::new(2);
    r.push_blob(name, &again.config).await;
    r.push_blob(name, &again.layers[0]).await;
    r.put_manifest(name, &again.digest(), OCI_MANIFEST, &again.manifest)
        .await
        .status(201);
    // By digest, with another digest: DIGEST_INVALID.
    r.put_manifest(name, &image.digest(), OCI_MANIFEST, &again.manifest)
        .await
        .error(400, "DIGEST_INVALID");
    // The suite's invalid manifest.
    r.put_manifest(name, "sha256:totallywrong", OCI_MANIFEST, b"blablabla")
        .await
        .error(400, "DIGEST_INVALID");
    r.put_manifest(name, "bad", OCI_MANIFEST, b"blablabla")
        .await
        .error(400, "MANIFEST_INVALID");
    // Schema 1 is refused.
    r.put_manifest(
        name,
        "old",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[],"history":[]}"#,
    )
    .await
    .error(400, "MANIFEST_INVALID");
    // An invalid tag on PUT.
    r.put_manifest(name, "-bad", OCI_MANIFEST, &image.manifest)
        .await
        .status(400);
    assert_eq!(
        r.tags(name).await,
        ["emptylayer", "test0", "test1", "test2", "test3"]
    );
}

#[tokio::test]
async fn push_manifest_is_stored_byte_for_byte() {
    let r = Registry::open();
    let image = Image::new(3);
    r.push_blob("bytes", &image.config).await;
    r.push_blob("bytes", &image.layers[0]).await;
    // Odd spacing, key order and a trailing newline: served back exactly.
    let raw = format!(
        "{{ \"layers\" : [ {} ],\n\t\"config\":{},   \"schemaVersion\" : 2 ,\"mediaType\":\"{OCI_MANIFEST}\"}}\n",
        descriptor(OCI_LAYER, &image.layers[0]),
        descriptor(OCI_CONFIG, &image.config)
    );
    let put = r
        .put_manifest("bytes", "odd", OCI_MANIFEST, raw.as_bytes())
        .await
        .status(201);
    let d = digest(raw.as_bytes());
    assert_eq!(put.header("docker-content-digest"), Some(d.as_str()));
    let get = r.get("/v2/bytes/manifests/odd").await.status(200);
    assert_eq!(get.body, raw.as_bytes());
    assert_eq!(get.header("docker-content-digest"), Some(d.as_str()));
    // The manifest is also a blob of the repository, as distribution serves it.
    assert_eq!(
        r.get(format!("/v2/bytes/blobs/{d}")).await.status(200).body,
        raw.as_bytes()
    );
}

#[tokio::test]
async fn push_docker_schema2_and_indexes() {
    let r = Registry::open();
    let name = "multi";
    let mut children = Vec::new();
    for (arch, seed) in [("amd64", 10), ("arm64", 11)] {
        let config = serde_json::to_vec(&json!({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []}}))
        .unwrap();
        let layer = noise(200, seed);
        r.push_blob(name, &config).await;
        r.push_blob(name, &layer).await;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor(DOCKER_CONFIG, &config),
            "layers": [descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", &layer)],
        }))
        .unwrap();
        children.push((arch, manifest));
    }
    let list = |media_type: &str, children: &[(&str, Vec<u8>)]| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": children.iter().map(|(arch, m)| {
                let mut d = descriptor(DOCKER_MANIFEST, m);
                d["platform"] = json!({"os": "linux", "architecture": arch});
                d
            }).collect::<Vec<_>>(),
        }))
        .unwrap()
    };
    // An index whose children are not pushed yet: MANIFEST_BLOB_UNKNOWN.
    let docker_list = list(DOCKER_LIST, &children);
    r.put_manifest(name, "latest", DOCKER_LIST, &docker_list)
        .await
        .error(400, "MANIFEST_BLOB_UNKNOWN");
    for (_, m) in &children {
        r.put_manifest(name, &digest(m), DOCKER_MANIFEST, m)
            .await
            .status(201);
    }
    r.put_manifest(name, "latest", DOCKER_LIST, &docker_list)
        .await
        .status(201);
    let get = r
        .get(format!("/v2/{name}/manifests/latest"))
        .await
        .status(200);
    assert_eq!(get.header("content-type"), Some(DOCKER_LIST));
    assert_eq!(get.body, docker_list);
    let child = r
        .get(format!("/v2/{name}/manifests/{}", digest(&children[0].1)))
        .await
        .status(200);
    assert_eq!(child.header("content-type"), Some(DOCKER_MANIFEST));

    let oci_index = list(OCI_INDEX, &children);
    r.put_manifest(name, "oci", OCI_INDEX, &oci_index)
        .await
        .status(201);
    assert_eq!(
        r.get(format!("/v2/{name}/manifests/oci"))
            .await
            .status(200)
            .header("content-type"),
        Some(OCI_INDEX)
    );
}

#[tokio::test]
async fn push_manifest_size_limit() {
    let r = Registry::open();
    let image = Image::new(4);
    r.push_blob("big", &image.config).await;
    r.push_blob("big", &image.layers[0]).await;
    let sized = |len: usize| {
        let base = |pad: usize| {
            serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, &image.config),
                "layers": [descriptor(OCI_LAYER, &image.layers[0])],
                "annotations": {"pad": "x".repeat(pad)},
            }))
            .unwrap()
        };
        let overhead = base(0).len();
        let m = base(len - overhead);
        assert_eq!(m.len(), len);
        m
    };
    // 4 MiB is accepted (the spec's SHOULD), one byte more is refused.
    let limit = 4 << 20;
    r.put_manifest("big", "fits", OCI_MANIFEST, &sized(limit))
        .await
        .status(201);
    r.put_manifest("big", "toobig", OCI_MANIFEST, &sized(limit + 1))
        .await
        .status(413);
    r.get("/v2/big/manifests/toobig")
        .await
        .error(404, "MANIFEST_UNKNOWN");
}

// --- 03 content discovery ----------------------------------------------------------------

#[tokio::test]
async fn discovery_tags_list_pagination() {
    let r = Registry::open();
    let name = "conformance/discovery";
    let image = r.push_image(name, "e5", 20).await;
    for tag in ["c3", "a1", "d4", "b2"] {
        r.put_manifest(name, tag, OCI_MANIFEST, &image.manifest)
            .await
            .status(201);
    }
    let all = r.get(format!("/v2/{name}/tags/list")).await.status(200);
    assert_eq!(
        all.json(),
        json!({"name": name, "tags": ["a1", "b2", "c3", "d4", "e5"]})
    );
    assert_eq!(all.header("link"), None);
    assert_eq!(all.header("content-type"), Some("application/json"));

    // n limits, and a Link names the next page; following the links walks every tag.
    let mut uri = format!("/v2/{name}/tags/list?n=2");
    let mut pages = Vec::new();
    loop {
        let page = r.get(&uri).await.status(200);
        let tags = page.json()["tags"].clone();
        pages.push(tags);
        match page.header("link") {
            Some(link) => {
                assert!(link.ends_with(">; rel=\"next\""), "{link}");
                uri = link
                    .strip_prefix('<')
                    .unwrap()
                    .split_once('>')
                    .unwrap()
                    .0
                    .to_owned();
            }
            None => break,
        }
    }
    assert_eq!(
        pages,
        [json!(["a1", "b2"]), json!(["c3", "d4"]), json!(["e5"])]
    );
    // The first link is the spec's form.
    assert_eq!(
        r.get(format!("/v2/{name}/tags/list?n=2"))
            .await
            .header("link"),
        Some(format!("</v2/{name}/tags/list?n=2&last=b2>; rel=\"next\"").as_str())
    );
    // last alone; last past the end; n larger than the list; n=0.
    assert_eq!(
        r.get(format!("/v2/{name}/tags/list?last=b2"))
            .await
            .status(200)
            .json()["tags"],
        json!(["c3", "d4", "e5"])
    );
    assert_eq!(
        r.get(format!("/v2/{name}/tags/list?n=2&last=e5"))
            .await
            .status(200)
            .json()["tags"],
        json!([])
    );
    let big = r
        .get(format!("/v2/{name}/tags/list?n=100"))
        .await
        .status(200);
    assert_eq!(big.json()["tags"].as_array().unwrap().len(), 5);
    assert_eq!(big.header("link"), None);
    assert_eq!(
        r.get(format!("/v2/{name}/tags/list?n=0"))
            .await
            .status(200)
            .json()["tags"],
        json!([])
    );
    r.get(format!("/v2/{name}/tags/list?n=lots"))
        .await
        .status(400);
    // A repository that does not exist.
    r.get("/v2/nosuchrepo/tags/list")
        .await
        .error(404, "NAME_UNKNOWN");
}

#[tokio::test]
async fn discovery_catalog_pagination() {
    let r = Registry::open();
    assert_eq!(
        r.get("/v2/_catalog").await.status(200).json(),
        json!({"repositories": []})
    );
    for (i, name) in ["gamma", "beta/two", "alpha", "beta/one"]
        .iter()
        .enumerate()
    {
        r.push_image(name, "latest", 30 + i as u64).await;
    }
    assert_eq!(
        r.get("/v2/_catalog").await.status(200).json(),
        json!({"repositories": ["alpha", "beta/one", "beta/two", "gamma"]})
    );
    let first = r.get("/v2/_catalog?n=3").await.status(200);
    assert_eq!(
        first.json()["repositories"],
        json!(["alpha", "beta/one", "beta/two"])
    );
    assert_eq!(
        first.header("link"),
        Some("</v2/_catalog?n=3&last=beta/two>; rel=\"next\"")
    );
    let next = r.get("/v2/_catalog?n=3&last=beta/two").await.status(200);
    assert_eq!(next.json()["repositories"], json!(["gamma"]));
    assert_eq!(next.header("link"), None);
}

/// The suite's referrers setup: two artifacts pushed before their subject, an index
/// artifact, the subject, two more artifacts, and one whose subject is never pushed.
#[tokio::test]
async fn discovery_referrers() {
    let r = Registry::open();
    let name = "conformance/referrers";
    let subject = Image::new(40);
    let missing_subject = Image::new(41);
    let subject_desc = descriptor(OCI_MANIFEST, &subject.manifest);
    let empty = b"{}";
    assert_eq!(
        digest(empty),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    let (blob_a, blob_b) = (
        b"NHL Peanut Butter on my NHL bagel".as_slice(),
        b"NBA Strawberry Jam on my NBA croissant".as_slice(),
    );
    let (type_a, type_b) = (
        "application/vnd.nhl.peanut.butter.bagel",
        "application/vnd.nba.strawberry.jam.croissant",
    );
    let key = "org.opencontainers.conformance.test";
    let config_artifact = |blob: &[u8], artifact_type: &str, note: &str| {
        serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(artifact_type, blob),
            "subject": subject_desc,
            "layers": [descriptor(OCI_EMPTY, empty)],
            "annotations": {key: note},
        }))
        .unwrap()
    };
    let layer_artifact = |blob: &[u8], artifact_type: &str, subject: &Value, note: Option<&str>| {
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": descriptor(OCI_EMPTY, empty),
            "subject": subject,
            "layers": [descriptor(artifact_type, blob)],
        });
        if let Some(n) = note {
            m["annotations"] = json!({key: n});
        }
        serde_json::to_vec_pretty(&m).unwrap()
    };
    let a_config = config_artifact(blob_a, type_a, "test config a");
    let a_layer = layer_artifact(blob_a, type_a, &subject_desc, Some("test layer a"));
    let index = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.food.stand",
        "manifests": [descriptor(OCI_MANIFEST, &a_config), descriptor(OCI_MANIFEST, &a_layer)],
        "subject": subject_desc,
        "annotations": {key: "test index"},
    }))
    .unwrap();
    let b_config = config_artifact(blob_b, type_b, "test config b");
    let b_layer = layer_artifact(blob_b, type_b, &subject_desc, Some("test layer b"));
    let c_layer = layer_artifact(
        blob_b,
        type_b,
        &descriptor(OCI_MANIFEST, &missing_subject.manifest),
        None,
    );
    let notes: std::collections::HashMap<String, &str> = [
        (digest(&a_config), "test config a"),
        (digest(&a_layer), "test layer a"),
        (digest(&index), "test index"),
        (digest(&b_config), "test config b"),
        (digest(&b_layer), "test layer b"),
    ]
    .into_iter()
    .collect();

    let put = async |bytes: &[u8], media_type: &str, want_subject: &str| {
        let resp = r
            .put_manifest(name, &digest(bytes), media_type, bytes)
            .await
            .status(201);
        assert_eq!(resp.header("oci-subject"), Some(want_subject));
    };
    r.push_blob(name, empty).await;
    r.push_blob(name, blob_a).await;
    put(&a_config, OCI_MANIFEST, &subject.digest()).await;
    put(&a_layer, OCI_MANIFEST, &subject.digest()).await;
    put(&index, OCI_INDEX, &subject.digest()).await;
    r.push_blob(name, &subject.config).await;
    r.push_blob(name, &subject.layers[0]).await;
    r.put_manifest(name, "tagtest0", OCI_MANIFEST, &subject.manifest)
        .await
        .status(201);
    r.push_blob(name, blob_b).await;
    put(&b_config, OCI_MANIFEST, &subject.digest()).await;
    put(&b_layer, OCI_MANIFEST, &subject.digest()).await;
    put(&c_layer, OCI_MANIFEST, &missing_subject.digest()).await;

    // Nothing refers to a digest nobody pushed: an empty index, 200.
    let none = r
        .get(format!("/v2/{name}/referrers/{DUMMY_DIGEST}"))
        .await
        .status(200);
    assert_eq!(none.header("content-type"), Some(OCI_INDEX));
    assert_eq!(
        none.json(),
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    );

    let all = r
        .get(format!("/v2/{name}/referrers/{}", subject.digest()))
        .await
        .status(200);
    assert_eq!(all.header("content-type"), Some(OCI_INDEX));
    assert_eq!(all.header("oci-filters-applied"), None);
    let list = all.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(list.len(), 5);
    for d in &list {
        let dg = d["digest"].as_str().unwrap();
        let annotations = d["annotations"].as_object().unwrap();
        assert_eq!(annotations.len(), 1, "{d}");
        assert_eq!(annotations[key], notes[dg], "{d}");
        assert!(d["size"].as_u64().unwrap() > 0);
    }
    let artifact_type_of = |bytes: &[u8]| {
        list.iter()
            .find(|d| d["digest"] == digest(bytes))
            .unwrap()
            .clone()
    };
    // artifactType: the manifest's own, else its config's media type.
    assert_eq!(artifact_type_of(&a_config)["artifactType"], type_a);
    assert_eq!(artifact_type_of(&a_layer)["artifactType"], type_a);
    assert_eq!(artifact_type_of(&b_config)["artifactType"], type_b);
    let idx = artifact_type_of(&index);
    assert_eq!(idx["artifactType"], "application/vnd.food.stand");
    assert_eq!(idx["mediaType"], OCI_INDEX);
    assert_eq!(idx["size"], index.len());

    // Filtering by artifactType, said in OCI-Filters-Applied.
    let filtered = r
        .get(format!(
            "/v2/{name}/referrers/{}?artifactType={type_a}",
            subject.digest()
        ))
        .await
        .status(200);
    assert_eq!(filtered.header("oci-filters-applied"), Some("artifactType"));
    let mut got: Vec<String> = filtered.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want = vec![digest(&a_config), digest(&a_layer)];
    want.sort();
    assert_eq!(got, want);
    // Percent-encoded filter values are decoded.
    let encoded = r
        .get(format!(
            "/v2/{name}/referrers/{}?artifactType=application%2Fvnd.food.stand",
            subject.digest()
        ))
        .await
        .status(200);
    assert_eq!(encoded.json()["manifests"].as_array().unwrap().len(), 1);

    // The subject that was never pushed still lists its referrer.
    let missing = r
        .get(format!("/v2/{name}/referrers/{}", missing_subject.digest()))
        .await
        .status(200)
        .json();
    assert_eq!(missing["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(missing["manifests"][0]["digest"], digest(&c_layer));

    // Deleting a referrer takes it off the list.
    r.delete(format!("/v2/{name}/manifests/{}", digest(&b_layer)))
        .await
        .status(202);
    let after = r
        .get(format!("/v2/{name}/referrers/{}", subject.digest()))
        .await
        .status(200)
        .json();
    assert_eq!(after["manifests"].as_array().unwrap().len(), 4);
    // A referrers path with a digest that does not parse.
    r.get(format!("/v2/{name}/referrers/sha256:nope"))
        .await
        .error(400, "DIGEST_INVALID");
}

// --- 04 content management ---------------------------------------------------------------

#[tokio::test]
async fn management_delete_tag_deletes_only_that_tag() {
    let r = Registry::open();
    let name = "conformance/management";
    let image = r.push_image(name, "tagtest0", 50).await;
    r.put_manifest(name, "keep", OCI_MANIFEST, &image.manifest)
        .await
        .status(201);
    assert_eq!(r.tags(name).await, ["keep", "tagtest0"]);

    r.delete(format!("/v2/{name}/manifests/tagtest0"))
        .await
        .status(202);
    r.get(format!("/v2/{name}/manifests/tagtest0"))
        .await
        .error(404, "MANIFEST_UNKNOWN");
    // The other tag and the manifest stay.
    r.get(format!("/v2/{name}/manifests/keep"))
        .await
        .status(200);
    r.get(format!("/v2/{name}/manifests/{}", image.digest()))
        .await
        .status(200);
    assert_eq!(r.tags(name).await, ["keep"]);
    // Deleting it again: MANIFEST_UNKNOWN (the 07 error-code check).
    r.delete(format!("/v2/{name}/manifests/tagtest0"))
        .await
        .error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn management_delete_manifest_by_digest() {
    let r = Registry::open();
    let name = "conformance/management";
    let image = r.push_image(name, "tagtest0", 51).await;
    r.put_manifest(name, "other", OCI_MANIFEST, &image.manifest)
        .await
        .status(201);
    let keep = r.push_image(name, "unrelated", 52).await;
    let before = r.tags(name).await.len();

    r.delete(format!("/v2/{name}/manifests/{}", image.digest()))
        .await
        .status(202);
    r.get(format!("/v2/{name}/manifests/{}", image.digest()))
        .await
        .error(404, "MANIFEST_UNKNOWN");
    r.head(format!("/v2/{name}/manifests/tagtest0"))
        .await
        .status(404);
    let tags = r.tags(name).await;
    assert!(tags.len() < before);
    assert_eq!(tags, ["unrelated"]);
    r.get(format!("/v2/{name}/manifests/{}", keep.digest()))
        .await
        .status(200);
    r.delete(format!("/v2/{name}/manifests/{}", image.digest()))
        .await
        .error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn management_delete_blob() {
    let r = Registry::open();
    let name = "conformance/management";
    let image = r.push_image(name, "tagtest0", 53).await;
    let config = digest(&image.config);
    r.delete(format!("/v2/{name}/blobs/{config}"))
        .await
        .status(202);
    r.get(format!("/v2/{name}/blobs/{config}"))
        .await
        .error(404, "BLOB_UNKNOWN");
    r.head(format!("/v2/{name}/blobs/{config}"))
        .await
        .status(404);
    r.delete(format!("/v2/{name}/blobs/{config}"))
        .await
        .error(404, "BLOB_UNKNOWN");
    // Only this repository lost it.
    r.push_blob("elsewhere", &image.config).await;
    r.delete(format!("/v2/{name}/blobs/{}", digest(&image.layers[0])))
        .await
        .status(202);
    r.get(format!("/v2/elsewhere/blobs/{config}"))
        .await
        .status(200);
}

// --- search (Docker Hub's shape, for `docker search`) ------------------------------------

#[tokio::test]
async fn search_answers_in_docker_hubs_shape() {
    let r = Registry::open();
    for (i, name) in ["team/web", "team/db", "other/web"].iter().enumerate() {
        r.push_image(name, "latest", 80 + i as u64).await;
    }
    let v = r.get("/v1/search?q=web&n=25").await.status(200).json();
    assert_eq!(v["num_results"], 2);
    assert_eq!(v["query"], "web");
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other/web", "team/web"]);
    for key in ["description", "star_count", "is_official", "is_automated"] {
        assert!(v["results"][0].get(key).is_some(), "{key}");
    }
    // The query is percent-decoded, as clients send it.
    let v = r.get("/v1/search?q=team%2Fdb").await.status(200).json();
    assert_eq!(v["num_results"], 1);
    assert_eq!(v["results"][0]["name"], "team/db");
    // Pages.
    let v = r.get("/v1/search?q=&n=2&page=2").await.status(200).json();
    assert_eq!(v["num_results"], 3);
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
}

// --- path tricks -------------------------------------------------------------------------

#[tokio::test]
async fn path_tricks_are_refused_with_the_spec_codes() {
    let r = Registry::open();
    r.push_image("app", "v1", 60).await;
    let before = r.files();
    let long = "a".repeat(256);
    let upper_hex = format!("sha256:{}", "A".repeat(64));
    let short_hex = "sha256:abc".to_owned();
    let cases: Vec<(&str, String, &str)> = vec![
        ("GET", "/v2/../etc/manifests/latest".into(), "NAME_INVALID"),
        (
            "GET",
            "/v2/app/../etc/manifests/latest".into(),
            "NAME_INVALID",
        ),
        ("GET", "/v2/./app/manifests/latest".into(), "NAME_INVALID"),
        (
            "GET",
            "/v2/a/..%2f..%2fetc/manifests/x".into(),
            "NAME_INVALID",
        ),
        ("GET", "/v2/a%2Fb/manifests/latest".into(), "NAME_INVALID"),
        ("GET", "/v2/%2e%2e/manifests/latest".into(), "NAME_INVALID"),
        ("GET", "/v2/App/manifests/latest".into(), "NAME_INVALID"),
        ("GET", "/v2/a//b/manifests/latest".into(), "NAME_INVALID"),
        ("GET", "/v2/app/-x/tags/list".into(), "NAME_INVALID"),
        ("GET", "/v2/_catalog/tags/list".into(), "NAME_INVALID"),
        ("GET", "/v2/_tags/manifests/latest".into(), "NAME_INVALID"),
        (
            "GET",
            format!("/v2/{long}/manifests/latest"),
            "NAME_INVALID",
        ),
        ("GET", format!("/v2/{long}/tags/list"), "NAME_INVALID"),
        ("PUT", "/v2/../x/manifests/latest".into(), "NAME_INVALID"),
        ("POST", "/v2/../x/blobs/uploads/".into(), "NAME_INVALID"),
        ("POST", "/v2/UP/blobs/uploads/".into(), "NAME_INVALID"),
        ("DELETE", "/v2/a/../app/manifests/v1".into(), "NAME_INVALID"),
        ("GET", "/v2/app/blobs/sha256:zz".into(), "DIGEST_INVALID"),
        (
            "GET",
            format!("/v2/app/blobs/{short_hex}"),
            "DIGEST_INVALID",
        ),
        (
            "GET",
            format!("/v2/app/blobs/{upper_hex}"),
            "DIGEST_INVALID",
        ),
        (
            "GET",
            format!("/v2/app/manifests/{upper_hex}"),
            "DIGEST_INVALID",
        ),
        ("GET", "/v2/app/blobs/sha256:..".into(), "DIGEST_INVALID"),
        (
            "GET",
            "/v2/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e".into(),
            "DIGEST_INVALID",
        ),
        ("DELETE", "/v2/app/blobs/sha256:zz".into(), "DIGEST_INVALID"),
        ("GET", "/v2/app/referrers/latest".into(), "DIGEST_INVALID"),
        (
            "PUT",
            "/v2/app/manifests/sha256:totallywrong".into(),
            "DIGEST_INVALID",
        ),
        (
            "POST",
            "/v2/app/blobs/uploads/?digest=sha256:zz".into(),
            "DIGEST_INVALID",
        ),
        (
            "POST",
            "/v2/app/blobs/uploads/?digest=../../x".into(),
            "DIGEST_INVALID",
        ),
    ];
    for (method, path, code) in &cases {
        let resp = r.send(req(method, path.as_str()).body("x")).await;
        assert_eq!(resp.status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert_eq!(resp.code(), *code, "{method} {path}");
    }
    // Upload ids that could walk the tree are not upload routes at all.
    for path in [
        "/v2/app/blobs/uploads/..",
        "/v2/app/blobs/uploads/../../version",
        "/v2/app/blobs/uploads/a%2f..",
    ] {
        let resp = r.send(req("DELETE", path)).await;
        assert!(resp.status.is_client_error(), "{path}: {}", resp.status);
    }
    // Tags that could walk the tree.
    for path in ["/v2/app/manifests/..", "/v2/app/manifests/.git"] {
        r.get(path).await.error(404, "MANIFEST_UNKNOWN");
        r.delete(path).await.status(404);
        r.put_manifest("app", path.rsplit('/').next().unwrap(), OCI_MANIFEST, b"{}")
            .await
            .status(400);
    }
    assert_eq!(r.files(), before, "a refused request changed the storage");
    assert!(r.data().join("version").is_file());
}

#[tokio::test]
async fn the_longest_names_are_accepted() {
    let r = Registry::open();
    let deep = format!("{}a", "a/".repeat(127));
    for name in ["a".repeat(255), deep] {
        assert_eq!(name.len(), 255);
        let image = r.push_image(&name, "v1", 62).await;
        r.get(format!("/v2/{name}/manifests/v1")).await.status(200);
        r.get(format!("/v2/{name}/manifests/{}", image.digest()))
            .await
            .status(200);
        assert_eq!(r.tags(&name).await, ["v1"]);
    }
    assert_eq!(
        r.get("/v2/_catalog").await.status(200).json()["repositories"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

// --- auth --------------------------------------------------------------------------------

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(format!("{user}:{password}").as_bytes()))
}

/// alice:s3cret in an htpasswd (bcrypt cost 4); `public/*` may be pulled by anyone.
fn auth_registry() -> Registry {
    Registry::with_auth(|dir| {
        let path = dir.join("htpasswd");
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        fs_err::write(&path, format!("# users\nalice:{hash}\n")).unwrap();
        AuthConfig {
            htpasswd: Some(path),
            anonymous_pull: vec!["public/*".into()],
            ..AuthConfig::default()
        }
    })
}

#[tokio::test]
async fn auth_every_endpoint_refuses_missing_or_wrong_credentials() {
    let r = auth_registry();
    let alice = basic("alice", "s3cret");
    let as_alice = |q: Req| q.header("authorization", alice.as_str());

    // alice pushes an image and opens an upload session.
    let image = Image::new(70);
    let config = digest(&image.config);
    for b in std::iter::once(&image.config).chain(&image.layers) {
        let location = r
            .send(as_alice(req("POST", "/v2/private/app/blobs/uploads/")))
            .await
            .status(202)
            .location();
        r.send(as_alice(
            req("PUT", with_query(&location, "digest", &digest(b))).body(b.clone()),
        ))
        .await
        .status(201);
    }
    r.send(as_alice(
        req("PUT", "/v2/private/app/manifests/v1")
            .header("content-type", OCI_MANIFEST)
            .body(image.manifest.clone()),
    ))
    .await
    .status(201);
    let session = r
        .send(as_alice(req("POST", "/v2/private/app/blobs/uploads/")))
        .await
        .status(202)
        .location();
    let m = image.digest();
    let before = r.files();

    let endpoints: Vec<(&str, String)> = vec![
        ("GET", "/v2/".into()),
        ("HEAD", "/v2/".into()),
        ("GET", "/v2/_catalog".into()),
        ("GET", "/v2/_catalog?n=1".into()),
        ("GET", "/v2/private/app/tags/list".into()),
        ("GET", "/v2/private/app/manifests/v1".into()),
        ("HEAD", "/v2/private/app/manifests/v1".into()),
        ("GET", format!("/v2/private/app/manifests/{m}")),
        ("HEAD", format!("/v2/private/app/manifests/{m}")),
        ("PUT", "/v2/private/app/manifests/v2".into()),
        ("PUT", format!("/v2/private/app/manifests/{m}")),
        ("DELETE", "/v2/private/app/manifests/v1".into()),
        ("DELETE", format!("/v2/private/app/manifests/{m}")),
        ("GET", format!("/v2/private/app/blobs/{config}")),
        ("HEAD", format!("/v2/private/app/blobs/{config}")),
        ("DELETE", format!("/v2/private/app/blobs/{config}")),
        ("GET", format!("/v2/private/app/referrers/{m}")),
        ("POST", "/v2/private/app/blobs/uploads/".into()),
        (
            "POST",
            format!("/v2/private/app/blobs/uploads/?digest={config}"),
        ),
        (
            "POST",
            format!("/v2/public/app/blobs/uploads/?mount={config}&from=private/app"),
        ),
        ("GET", session.clone()),
        ("PATCH", session.clone()),
        ("PUT", with_query(&session, "digest", &config)),
        ("DELETE", session.clone()),
        ("GET", "/metrics".into()),
        // Anonymous pull of public/* does not open pushes or deletes there.
        ("PUT", "/v2/public/app/manifests/v1".into()),
        ("DELETE", "/v2/public/app/manifests/v1".into()),
        ("POST", "/v2/public/app/blobs/uploads/".into()),
        ("DELETE", format!("/v2/public/app/blobs/{config}")),
    ];
    // Search: anonymous callers see only what they may pull; wrong credentials are refused.
    let resp = r
        .send(req("GET", "/v1/search?q=app").body(Vec::new()))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    assert!(!body.contains("private"), "{body}");
    let resp = r
        .send(
            req("GET", "/v1/search?q=app")
                .header("authorization", basic("alice", "wrong"))
                .body(Vec::new()),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    let credentials = [
        None,
        Some(basic("alice", "wrong")),
        Some(basic("alice", "")),
        Some(basic("mallory", "s3cret")),
        Some(basic("alice", "s3cret\0")),
        Some("Basic !!!not-base64".to_owned()),
        Some(format!("Basic {}", b64(b"alice"))),
        Some("Bearer s3cret".to_owned()),
        Some(alice.replace("Basic", "Digest")),
        Some(basic("", "")),
    ];
    for (method, path) in &endpoints {
        for cred in &credentials {
            let mut q = req(method, path.as_str())
                .header("content-type", OCI_MANIFEST)
                .body(image.manifest.clone());
            if let Some(c) = cred {
                q = q.header("authorization", c.as_str());
            }
            let resp = r.send(q).await;
            let what = format!("{method} {path} with {cred:?}");
            assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{what}");
            let challenge = resp.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Basic "), "{what}: {challenge:?}");
            assert!(challenge.contains("realm="), "{what}: {challenge:?}");
            // Nothing but the envelope: no digest, no location, no content.
            for h in [
                "docker-content-digest",
                "location",
                "range",
                "link",
                "oci-subject",
            ] {
                assert_eq!(resp.header(h), None, "{what}: {h}");
            }
            if *method != "HEAD" || !resp.body.is_empty() {
                assert_eq!(resp.code(), "UNAUTHORIZED", "{what}");
                let body = String::from_utf8_lossy(&resp.body);
                for secret in [&m[7..], &config[7..], "private", "v1", "conformance 70"] {
                    assert!(!body.contains(secret), "{what}: leaks {secret}: {body}");
                }
            }
        }
    }
    assert_eq!(r.files(), before, "a refused request changed the storage");

    // With the right credentials everything works.
    r.send(as_alice(req("GET", "/v2/"))).await.status(200);
    assert_eq!(
        r.send(as_alice(req("GET", "/v2/_catalog")))
            .await
            .status(200)
            .json(),
        json!({"repositories": ["private/app"]})
    );
    r.send(as_alice(req("GET", "/v2/private/app/manifests/v1")))
        .await
        .status(200);
    r.send(as_alice(req("GET", &session))).await.status(204);
    r.send(as_alice(req("DELETE", &session))).await.status(204);
    r.send(as_alice(req("DELETE", "/v2/private/app/manifests/v1")))
        .await
        .status(202);
}

#[tokio::test]
async fn auth_anonymous_pull_patterns() {
    let r = auth_registry();
    let alice = basic("alice", "s3cret");
    let as_alice = |q: Req| q.header("authorization", alice.as_str());
    let image = Image::new(71);
    let config = digest(&image.config);
    for name in ["public/app", "publicity/app"] {
        for b in std::iter::once(&image.config).chain(&image.layers) {
            let location = r
                .send(as_alice(req("POST", format!("/v2/{name}/blobs/uploads/"))))
                .await
                .status(202)
                .location();
            r.send(as_alice(
                req("PUT", with_query(&location, "digest", &digest(b))).body(b.clone()),
            ))
            .await
            .status(201);
        }
        r.send(as_alice(
            req("PUT", format!("/v2/{name}/manifests/v1"))
                .header("content-type", OCI_MANIFEST)
                .body(image.manifest.clone()),
        ))
        .await
        .status(201);
    }

    // Anyone may pull public/*.
    let get = r.get("/v2/public/app/manifests/v1").await.status(200);
    assert_eq!(get.body, image.manifest);
    r.head("/v2/public/app/manifests/v1").await.status(200);
    assert_eq!(
        r.get(format!("/v2/public/app/blobs/{config}"))
            .await
            .status(200)
            .body,
        image.config
    );
    assert_eq!(r.tags("public/app").await, ["v1"]);
    r.get(format!("/v2/public/app/referrers/{}", image.digest()))
        .await
        .status(200);
    // …but `public/*` is not `publicity/*`.
    r.get("/v2/publicity/app/manifests/v1").await.status(401);
    // Empty credentials are anonymous (skopeo sends them when it has none).
    let empty = basic("", "");
    r.send(req("GET", "/v2/public/app/manifests/v1").header("authorization", empty.as_str()))
        .await
        .status(200);
    r.send(req("GET", "/v2/publicity/app/manifests/v1").header("authorization", empty.as_str()))
        .await
        .error(401, "UNAUTHORIZED");
    r.send(req("DELETE", "/v2/public/app/manifests/v1").header("authorization", empty.as_str()))
        .await
        .error(401, "UNAUTHORIZED");
    // Wrong credentials are refused even where anonymous pull is allowed.
    r.send(
        req("GET", "/v2/public/app/manifests/v1").header("authorization", basic("alice", "wrong")),
    )
    .await
    .error(401, "UNAUTHORIZED");
    // Mounting from a public repository still needs push rights on the target.
    r.send(req(
        "POST",
        format!("/v2/public/other/blobs/uploads/?mount={config}&from=public/app"),
    ))
    .await
    .error(401, "UNAUTHORIZED");
    r.send(as_alice(req(
        "POST",
        format!("/v2/public/other/blobs/uploads/?mount={config}&from=public/app"),
    )))
    .await
    .status(201);
}

fn sha512_digest(bytes: &[u8]) -> String {
    let hex: String = sha2::Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha512:{hex}")
}

/// sha512, the spec's other registered algorithm: blobs pushed monolithically and in
/// chunks, a manifest put by its sha512 digest and referencing sha512 blobs, each read
/// back; a blob whose bytes do not match its sha512 is refused; GC keeps them all and
/// `registry check` finds them sound.
#[tokio::test]
async fn sha512_blobs_and_manifests() {
    let r = Registry::open();
    let name = "conformance/sha512";
    let config = Image::new(7).config;
    let dc = sha512_digest(&config);
    let post = r
        .send(
            req("POST", format!("/v2/{name}/blobs/uploads/?digest={dc}"))
                .header("content-type", "application/octet-stream")
                .body(config.clone()),
        )
        .await
        .status(201);
    assert_eq!(post.header("docker-content-digest"), Some(dc.as_str()));
    assert_eq!(
        r.get(format!("/v2/{name}/blobs/{dc}"))
            .await
            .status(200)
            .body,
        config
    );

    // In two chunks.
    let layer = noise(5000, 8);
    let dl = sha512_digest(&layer);
    let location = r.start_upload(name).await;
    let location = r
        .send(
            req("PATCH", location)
                .header("content-type", "application/octet-stream")
                .header("content-range", "0-2999")
                .body(layer[..3000].to_vec()),
        )
        .await
        .status(202)
        .location();
    r.send(
        req("PUT", with_query(&location, "digest", &dl))
            .header("content-range", "3000-4999")
            .body(layer[3000..].to_vec()),
    )
    .await
    .status(201);
    r.head(format!("/v2/{name}/blobs/{dl}")).await.status(200);

    // Bytes that are not what the sha512 says.
    let location = r.start_upload(name).await;
    r.send(req("PUT", with_query(&location, "digest", &dl)).body(b"other".to_vec()))
        .await
        .error(400, "DIGEST_INVALID");

    // A manifest of sha512 blobs, put and read by its sha512 digest.
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": dc, "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": dl, "size": layer.len()}],
    }))
    .unwrap();
    let dm = sha512_digest(&manifest);
    let put = r
        .put_manifest(name, &dm, OCI_MANIFEST, &manifest)
        .await
        .status(201);
    assert_eq!(put.header("docker-content-digest"), Some(dm.as_str()));
    assert_eq!(
        r.get(format!("/v2/{name}/manifests/{dm}"))
            .await
            .status(200)
            .body,
        manifest
    );
    // Put by a sha512 digest that is not the bytes': refused.
    let wrong = sha512_digest(b"not this manifest");
    r.put_manifest(name, &wrong, OCI_MANIFEST, &manifest)
        .await
        .error(400, "DIGEST_INVALID");

    let storage = FsStorage::open(r.data()).unwrap();
    let opts = lade_server::gc::GcOptions {
        grace: std::time::Duration::ZERO,
        ..Default::default()
    };
    let plan = lade_server::gc::run(&storage, &opts, false).unwrap();
    assert!(plan.blobs.is_empty(), "{plan:?}");
    let report = lade_server::check::check(&storage, false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.blobs_checked, report.manifests_checked), (3, 1));
    r.get(format!("/v2/{name}/blobs/{dl}")).await.status(200);
}
