//! The registry's request handling through its front door ([`lade_server::app`], no
//! socket): routing, query strings (`n`/`last`, `mount`/`from`, `digest`), `Range` on
//! blob GETs, `Content-Range` on upload PATCHes, manifest PUT bodies. Any request gets
//! an answer that is not a 500 (an internal error), and never a panic.
//!
//! Input: one selector line (method, path shape), then the path or query, the `Range`
//! header, the `Content-Range` header and the body, separated by newlines.

#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lade_server::{AppState, Auth, AuthConfig, FsStorage, app};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

const REPO: &str = "fuzz/app";
const BLOB: &[u8] = b"a blob the fuzzer may read in ranges";

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    storage: FsStorage,
    blob: String,
    upload: Mutex<String>,
    _dir: tempfile::TempDir,
}

fn send(f: &Fixture, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    f.rt.block_on(async {
        let resp = f.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        (status, body)
    })
}

fn put_blob(f: &Fixture) {
    let req = Request::post(format!("/v2/{REPO}/blobs/uploads/?digest={}", f.blob))
        .body(Body::from(BLOB))
        .expect("request");
    let (status, _) = send(f, req);
    assert_eq!(status, StatusCode::CREATED);
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = FsStorage::open(dir.path().join("data")).expect("storage");
        let mut state = AppState::new(
            storage.clone(),
            Auth::from_config(&AuthConfig::default()).expect("open auth"),
        );
        state.access_log = false;
        let blob = format!("sha256:{}", hex(&Sha256::digest(BLOB)));
        let f = Fixture {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            router: app(Arc::new(state)),
            upload: Mutex::new(storage.new_upload().expect("upload")),
            storage,
            blob,
            _dir: dir,
        };
        put_blob(&f);
        f
    })
}

const METHODS: &[&str] = &["GET", "HEAD", "PATCH", "PUT", "POST", "DELETE"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // Keep the fixture's blob and upload alive whatever the previous input did.
    let digest = lade_reference::Digest::parse(&f.blob).expect("digest");
    if f.storage.repo_blob(REPO, &digest).is_none() {
        put_blob(f);
    }
    let upload = {
        let mut id = f.upload.lock().expect("lock");
        if f.storage.upload_size(&id).is_none() {
            *id = f.storage.new_upload().expect("upload");
        }
        id.clone()
    };

    let mut parts = data.splitn(5, |&b| b == b'\n');
    let selector = parts.next().unwrap_or_default();
    let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
    let (given, range, content_range) =
        (text(parts.next()), text(parts.next()), text(parts.next()));
    let body = parts.next().unwrap_or_default().to_vec();
    let method = METHODS[usize::from(selector.first().copied().unwrap_or(0)) % METHODS.len()];
    let uri = match selector.get(1).copied().unwrap_or(0) % 8 {
        0 => given,
        1 => format!("/v2/{REPO}/blobs/{}", f.blob),
        2 => format!("/v2/{REPO}/blobs/uploads/{upload}?{given}"),
        3 => format!("/v2/{REPO}/blobs/uploads/?{given}"),
        4 => format!("/v2/_catalog?{given}"),
        5 => format!("/v2/{REPO}/tags/list?{given}"),
        6 => format!("/v2/{REPO}/manifests/{given}"),
        _ => format!("/v2/{given}"),
    };
    let mut req = Request::builder().method(method).uri(&uri);
    if !range.is_empty() {
        req = req.header("range", range.as_str());
    }
    if !content_range.is_empty() {
        req = req.header("content-range", content_range.as_str());
    }
    if selector.get(2).is_some_and(|b| b % 2 == 1) {
        req = req.header("content-type", "application/vnd.oci.image.manifest.v1+json");
    }
    let Ok(req) = req.body(Body::from(body)) else {
        return; // not a valid HTTP request at all: hyper would refuse it first
    };
    let (status, resp) = send(f, req);
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{method} {uri} range={range:?} content-range={content_range:?}: {}",
        String::from_utf8_lossy(&resp)
    );
});
