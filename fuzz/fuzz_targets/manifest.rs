//! `Manifest::parse` (and the config, descriptor and platform types beside it) on any
//! bytes with any of the content types a registry may send: never a panic.

#![no_main]

use lade_oci::{ImageConfig, Manifest, Platform};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some(""),
    Some("application/vnd.oci.image.manifest.v1+json"),
    Some("application/vnd.oci.image.index.v1+json"),
    Some("application/vnd.docker.distribution.manifest.v2+json"),
    Some("application/vnd.docker.distribution.manifest.list.v2+json"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
    Some("application/vnd.docker.distribution.manifest.v1+json"),
    Some("application/json"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    match Manifest::parse(bytes, content_type) {
        Ok(Manifest::Image(m)) => {
            let _ = serde_json::to_vec(&m).expect("a parsed manifest serializes");
            if let Some(p) = &m.config.platform {
                let _ = p.to_string();
            }
        }
        Ok(Manifest::Index(i)) => {
            let _ = serde_json::to_vec(&i).expect("a parsed index serializes");
            let host = Platform::host();
            let _ = host.select(&i.manifests);
            for d in &i.manifests {
                if let Some(p) = &d.platform {
                    let _ = host.match_rank(p);
                    let _ = Platform::parse(&p.to_string());
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(c) = serde_json::from_slice::<ImageConfig>(bytes) {
        let _ = serde_json::to_vec(&c).expect("a parsed config serializes");
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        let _ = Platform::parse(s);
    }
});
