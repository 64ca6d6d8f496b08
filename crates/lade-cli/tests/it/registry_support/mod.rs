//! Registries for the pull tests: Debian's real `docker-registry` fed by skopeo
//! (`docker_registry.rs`), a small HTTP/1.1 registry that misbehaves on purpose
//! (`fake.rs`), and the images both serve, built here byte by byte.

#![allow(dead_code)]

mod docker_registry;
mod fake;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use docker_registry::DockerRegistry;
pub use fake::{Action, Auth, FakeRegistry, Fault, Request, TOKEN};
use serde_json::json;

use crate::support::*;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// `sha256:…` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The 12-character short form Docker prints for a layer.
pub fn short(digest: &str) -> &str {
    &digest[7..19]
}

fn descriptor(media_type: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": digest_of(bytes), "size": bytes.len()})
}

/// An OCI image held in memory: the exact manifest, config and layer bytes.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
}

impl Image {
    /// An image for `linux/ARCH` whose layers are the given tars, gzipped.
    pub fn new(arch: &str, tars: &[Vec<u8>]) -> Self {
        let layers: Vec<Vec<u8>> = tars.iter().map(|t| gzip(t)).collect();
        let diff_ids: Vec<String> = tars.iter().map(|t| digest_of(t)).collect();
        let history: Vec<serde_json::Value> = tars
            .iter()
            .enumerate()
            .map(|(i, _)| json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("layer {i}")}))
            .collect();
        let config = serde_json::to_vec(&json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"], "Labels": {"built.by": "lade tests"}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }))
        .unwrap();
        let manifest = serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, &config),
            "layers": layers.iter().map(|l| descriptor(OCI_LAYER_GZIP, l)).collect::<Vec<_>>(),
        }))
        .unwrap();
        Self {
            manifest,
            config,
            layers,
        }
    }

    /// A one-layer image of `len` incompressible bytes (content from `seed`).
    pub fn noisy(len: usize, seed: u64) -> Self {
        Self::new("amd64", &[tarball(&[("data", &noise(len, seed))])])
    }

    pub fn digest(&self) -> String {
        digest_of(&self.manifest)
    }

    pub fn config_digest(&self) -> String {
        digest_of(&self.config)
    }

    pub fn layer_digest(&self, i: usize) -> String {
        digest_of(&self.layers[i])
    }

    /// Config and layers, with their digests.
    pub fn blobs(&self) -> Vec<(String, Vec<u8>)> {
        std::iter::once(&self.config)
            .chain(&self.layers)
            .map(|b| (digest_of(b), b.clone()))
            .collect()
    }
}

/// An OCI image index over `(platform, manifest)` entries, as registries serve them.
pub fn index_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let manifests: Vec<serde_json::Value> = entries
        .iter()
        .map(|(platform, manifest)| {
            let mut d = descriptor(OCI_MANIFEST, manifest);
            let mut parts = platform.split('/');
            let os = parts.next().unwrap();
            let arch = parts.next().unwrap();
            d["platform"] = json!({"os": os, "architecture": arch});
            if let Some(v) = parts.next() {
                d["platform"]["variant"] = json!(v);
            }
            d
        })
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .unwrap()
}

/// An OCI image layout written by hand (skopeo may add to it as well).
#[derive(Debug)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        let layout = dir.join("oci-layout");
        if !layout.exists() {
            std::fs::write(layout, br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
            std::fs::write(
                dir.join("index.json"),
                br#"{"schemaVersion":2,"manifests":[]}"#,
            )
            .unwrap();
        }
        Self { dir }
    }

    pub fn put_blob(&self, bytes: &[u8]) -> String {
        let digest = digest_of(bytes);
        std::fs::write(self.dir.join("blobs/sha256").join(&digest[7..]), bytes).unwrap();
        digest
    }

    fn index(&self) -> serde_json::Value {
        json(&std::fs::read_to_string(self.dir.join("index.json")).unwrap())
    }

    /// The index.json entry named `name`.
    pub fn entry(&self, name: &str) -> serde_json::Value {
        self.index()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
            .unwrap_or_else(|| panic!("no entry {name} in {}", self.dir.display()))
            .clone()
    }

    /// Stores a manifest (or index) blob and names it `name` in index.json.
    pub fn tag(&self, name: &str, media_type: &str, bytes: &[u8]) -> String {
        let digest = self.put_blob(bytes);
        let mut index = self.index();
        let list = index["manifests"].as_array_mut().unwrap();
        list.retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != name);
        let mut d = descriptor(media_type, bytes);
        d["annotations"] = json!({"org.opencontainers.image.ref.name": name});
        list.push(d);
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        digest
    }

    /// Writes every blob of `image` and names its manifest `name`.
    pub fn add_image(&self, name: &str, image: &Image) -> String {
        for (_, b) in image.blobs() {
            self.put_blob(&b);
        }
        self.tag(name, OCI_MANIFEST, &image.manifest)
    }

    /// `oci:DIR:NAME`
    pub fn source(&self, name: &str) -> String {
        format!("oci:{}:{name}", self.dir.display())
    }
}

/// Runs a command; returns its stdout bytes. Panics with its stderr on failure.
#[track_caller]
pub fn run_bytes(cmd: &mut Command) -> Vec<u8> {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `skopeo copy` from `src` to `docker://IMAGE` (a loopback registry without TLS).
#[track_caller]
pub fn skopeo_push(src: &str, image: &str, extra: &[&str]) {
    run_bytes(
        Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .args(extra)
            .arg(src)
            .arg(format!("docker://{image}")),
    );
}

/// `skopeo inspect --raw docker://IMAGE`: the exact bytes the registry serves.
#[track_caller]
pub fn skopeo_raw(image: &str) -> Vec<u8> {
    run_bytes(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{image}")),
    )
}

/// `skopeo copy docker://IMAGE dir:DIR`, which keeps every byte as served: DIR holds
/// `manifest.json` and one file per blob, named by its hex digest.
#[track_caller]
pub fn skopeo_fetch(image: &str, dir: &Path, arch: Option<&str>) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "-q", "--src-tls-verify=false"]);
    if let Some(a) = arch {
        cmd.args(["--override-os", "linux", "--override-arch", a]);
    }
    run_bytes(
        cmd.arg(format!("docker://{image}"))
            .arg(format!("dir:{}", dir.display())),
    );
}

/// The standard (RFC 4648) base64 of `data`.
pub fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc_4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"user:secret"), "dXNlcjpzZWNyZXQ=");
}
