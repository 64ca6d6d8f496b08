//! `lade_archive::load` on untrusted archives: any input ends in loaded images or a
//! typed error, never a panic, and never leaves the store damaged.
//!
//! The input is read as a list of tar entries (a kind byte, then the content), and the
//! tar is built here so that its checksums are right and the fuzzer spends its time on
//! what lade reads: `manifest.json`, `index.json`, `oci-layout`, `repositories`, blobs
//! named by their own digest (so they verify), Docker ≤ 24 layer folders, links and
//! odd paths. Raw bytes (compressed or not) are tried as they are too.

#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use lade_archive::{LoadOptions, load};
use lade_store::Store;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Arbitrary)]
struct Entry {
    kind: u8,
    content: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Raw(Vec<u8>),
    Entries(Vec<Entry>),
}

fn store() -> &'static Store {
    static S: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
    &S.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("store")).expect("store");
        (dir, store)
    })
    .1
}

fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (i, e) in entries.iter().enumerate() {
        let hex = hex(&Sha256::digest(&e.content));
        let name = match e.kind % 10 {
            0 => "manifest.json".to_owned(),
            1 => "index.json".to_owned(),
            2 => "oci-layout".to_owned(),
            3 => "repositories".to_owned(),
            4 | 5 => format!("blobs/sha256/{hex}"),
            6 => format!("{hex}/layer.tar"),
            7 => format!("{hex}.json"),
            8 => format!("./blobs//sha256/../x{i}"),
            _ => String::from_utf8_lossy(&e.content[..e.content.len().min(40)]).into_owned(),
        };
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        let ok = match e.kind / 10 % 4 {
            1 => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, &name, "manifest.json").is_ok()
            }
            2 => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, &name, "blobs/sha256").is_ok()
            }
            3 => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, &name, &[][..]).is_ok()
            }
            _ => {
                h.set_size(e.content.len() as u64);
                b.append_data(&mut h, &name, &e.content[..]).is_ok()
            }
        };
        if !ok {
            // Names the tar crate refuses to write cannot reach lade either.
            continue;
        }
    }
    b.into_inner().unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|input: Input| {
    let bytes = match &input {
        Input::Raw(b) => b.clone(),
        Input::Entries(e) => tar_of(e),
    };
    let store = store();
    let loaded = load(store, &bytes[..], &LoadOptions::default());
    if let Ok(images) = &loaded {
        for image in images {
            assert!(
                store.has_blob(&image.manifest),
                "a loaded image has its manifest"
            );
        }
    }
    // Checking verifies every blob: after each load that wrote something, and now and
    // then after failures (which must take back what they wrote).
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    if loaded.is_ok() || RUNS.fetch_add(1, Ordering::Relaxed) % 64 == 0 {
        let report = store.check(false).expect("check runs");
        assert!(!report.damaged(), "{:?}", report.problems);
    }
});
