//! Garbage collection over random image graphs: whatever the graph, GC never deletes a

#![allow(clippy::unwrap_used, reason = "test code")]
//! blob that a kept manifest references, never deletes a tagged manifest, and does
//! delete what nothing references.

use std::collections::BTreeSet;
use std::io::Write;

use lade_reference::Digest;
use lade_server::FsStorage;
use lade_server::gc::{GcOptions, run};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

fn digest_of(bytes: &[u8]) -> Digest {
    Digest::from_sha256_bytes(&Sha256::digest(bytes).into())
}

/// Stores a blob through the upload path and links it into `repo`.
fn put_blob(s: &FsStorage, repo: &str, bytes: &[u8]) -> Digest {
    let d = digest_of(bytes);
    let id = s.new_upload(repo).unwrap();
    fs_err::OpenOptions::new()
        .append(true)
        .open(s.upload_path(repo, &id).unwrap())
        .unwrap()
        .write_all(bytes)
        .unwrap();
    s.finish_upload(repo, &id, &d, None).unwrap();
    assert!(
        s.repo_blob(repo, &d).is_some(),
        "a finished upload is linked"
    );
    d
}

fn descriptor(media_type: &str, d: &Digest, size: usize) -> serde_json::Value {
    serde_json::json!({ "mediaType": media_type, "digest": d.to_string(), "size": size })
}

/// One random registry: repositories of images (config + some shared layers), some
/// tagged, some indexes over them, some referrers.
#[derive(Debug, Clone)]
struct Graph {
    /// For each image: repository index, layer ids, tagged?, has a referrer?
    images: Vec<(usize, Vec<u8>, bool, bool)>,
    /// Indexes: repository index, which images (by position, same repo only), tagged?
    indexes: Vec<(usize, Vec<usize>, bool)>,
    /// Blobs uploaded and never referenced.
    strays: u8,
}

fn graph() -> impl Strategy<Value = Graph> {
    let image = (
        0..3usize,
        prop::collection::vec(0..12u8, 1..4),
        any::<bool>(),
        any::<bool>(),
    );
    let index = (
        0..3usize,
        prop::collection::vec(0..20usize, 1..3),
        any::<bool>(),
    );
    (
        prop::collection::vec(image, 1..8),
        prop::collection::vec(index, 0..3),
        0..4u8,
    )
        .prop_map(|(images, indexes, strays)| Graph {
            images,
            indexes,
            strays,
        })
}

struct Built {
    /// (repo, manifest) that must survive, and the blobs they reference.
    must_keep: Vec<(String, Digest, Vec<Digest>)>,
    /// Every manifest, tagged or not.
    all_manifests: Vec<(String, Digest, Vec<Digest>)>,
    strays: Vec<Digest>,
}

fn build(s: &FsStorage, g: &Graph) -> Built {
    let repos = ["a", "team/b", "c/d/e"];
    let mut built = Built {
        must_keep: Vec::new(),
        all_manifests: Vec::new(),
        strays: Vec::new(),
    };
    let mut images: Vec<(usize, Digest, Vec<Digest>, usize)> = Vec::new();
    for (n, (r, layers, tagged, referrer)) in g.images.iter().enumerate() {
        let repo = repos[*r];
        let config_bytes = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":{n}}}");
        let config = put_blob(s, repo, config_bytes.as_bytes());
        let mut blobs = vec![config.clone()];
        let mut layer_descs = Vec::new();
        for l in layers {
            let bytes = format!("layer {l}").repeat(10);
            let d = put_blob(s, repo, bytes.as_bytes());
            layer_descs.push(descriptor(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                &d,
                bytes.len(),
            ));
            blobs.push(d);
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config, config_bytes.len()),
            "layers": layer_descs,
        })
        .to_string();
        let md = digest_of(manifest.as_bytes());
        let tag = format!("t{n}");
        s.put_manifest(
            repo,
            &md,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
            tagged.then_some(tag.as_str()),
            None,
        )
        .unwrap();
        blobs.push(md.clone());
        built
            .all_manifests
            .push((repo.to_owned(), md.clone(), blobs.clone()));
        if *tagged {
            built
                .must_keep
                .push((repo.to_owned(), md.clone(), blobs.clone()));
        }
        if *referrer {
            // An artifact whose subject is this image: kept exactly when its subject is.
            let empty = put_blob(s, repo, b"{}");
            let art = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.example.sbom",
                "config": descriptor("application/vnd.oci.empty.v1+json", &empty, 2),
                "layers": [],
                "subject": descriptor("application/vnd.oci.image.manifest.v1+json", &md, manifest.len()),
            })
            .to_string();
            let ad = digest_of(art.as_bytes());
            let subject = (md.clone(), serde_json::json!({}));
            s.put_manifest(
                repo,
                &ad,
                "application/vnd.oci.image.manifest.v1+json",
                art.as_bytes(),
                None,
                Some((&subject.0, &subject.1)),
            )
            .unwrap();
            let ablobs = vec![empty, ad.clone()];
            built
                .all_manifests
                .push((repo.to_owned(), ad.clone(), ablobs.clone()));
            if *tagged {
                built.must_keep.push((repo.to_owned(), ad, ablobs));
            }
        }
        images.push((*r, md, blobs, manifest.len()));
    }
    for (k, (r, picks, tagged)) in g.indexes.iter().enumerate() {
        let repo = repos[*r];
        let children: Vec<&(usize, Digest, Vec<Digest>, usize)> = picks
            .iter()
            .filter_map(|p| images.get(*p % images.len().max(1)))
            .filter(|i| i.0 == *r)
            .collect();
        if children.is_empty() {
            continue;
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": children.iter().map(|c| descriptor("application/vnd.oci.image.manifest.v1+json", &c.1, c.3)).collect::<Vec<_>>(),
        })
        .to_string();
        let id = digest_of(index.as_bytes());
        let tag = format!("i{k}");
        s.put_manifest(
            repo,
            &id,
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
            tagged.then_some(tag.as_str()),
            None,
        )
        .unwrap();
        built
            .all_manifests
            .push((repo.to_owned(), id.clone(), vec![id.clone()]));
        if *tagged {
            built.must_keep.push((repo.to_owned(), id, vec![]));
            for c in children {
                built
                    .must_keep
                    .push((repo.to_owned(), c.1.clone(), c.2.clone()));
            }
        }
    }
    for n in 0..g.strays {
        built
            .strays
            .push(put_blob(s, "a", format!("stray {n}").as_bytes()));
    }
    built
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn gc_keeps_what_is_referenced_and_drops_the_rest(g in graph(), untagged in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::open(dir.path()).unwrap();
        let built = build(&s, &g);
        let opts = GcOptions { delete_untagged: untagged, grace: std::time::Duration::ZERO, ..GcOptions::default() };
        let dry = run(&s, &opts, true).unwrap();
        let plan = run(&s, &opts, false).unwrap();
        prop_assert_eq!(&dry, &plan, "the dry run plans exactly what the run does");
        let keep: &[(String, Digest, Vec<Digest>)] = if untagged { &built.must_keep } else { &built.all_manifests };
        for (repo, m, blobs) in keep {
            prop_assert!(s.has_manifest(repo, m), "kept manifest {m} of {repo} is gone");
            for b in blobs {
                prop_assert!(s.blob_size(b).is_some(), "blob {b} of kept manifest {m} is gone");
            }
        }
        for d in &built.strays {
            let referenced = built.all_manifests.iter().any(|(_, _, bl)| bl.contains(d));
            if !referenced {
                prop_assert!(s.blob_size(d).is_none(), "stray blob {d} survived");
            }
        }
        // A second run finds nothing more to do.
        let again = run(&s, &opts, false).unwrap();
        prop_assert!(again.blobs.is_empty() && again.manifests.is_empty(), "{again:?}");
        let live: BTreeSet<Digest> = keep.iter().flat_map(|(_, m, b)| b.iter().cloned().chain([m.clone()])).collect();
        for (d, _) in &plan.blobs {
            prop_assert!(!live.contains(d), "deleted a live blob {d}");
        }
    }
}

#[test]
fn young_blobs_survive_a_default_gc() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    // Uploaded by a push whose manifest has not arrived yet.
    let d = put_blob(&s, "a", b"in flight");
    let plan = run(&s, &GcOptions::default(), false).unwrap();
    assert!(plan.blobs.is_empty());
    assert!(s.blob_size(&d).is_some());
    // With no grace it goes.
    let plan = run(
        &s,
        &GcOptions {
            delete_untagged: false,
            grace: std::time::Duration::ZERO,
            ..GcOptions::default()
        },
        false,
    )
    .unwrap();
    assert_eq!(plan.blobs.len(), 1);
}

#[test]
fn an_unreadable_manifest_stops_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let stray = put_blob(&s, "a", b"stray");
    let bad = b"{not json";
    let d = digest_of(bad);
    s.put_manifest(
        "a",
        &d,
        "application/vnd.oci.image.manifest.v1+json",
        bad,
        Some("x"),
        None,
    )
    .unwrap();
    let err = run(
        &s,
        &GcOptions {
            delete_untagged: true,
            grace: std::time::Duration::ZERO,
            ..GcOptions::default()
        },
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot be read"), "{err}");
    assert!(s.blob_size(&stray).is_some(), "nothing may be deleted");
}

#[test]
fn an_upload_belongs_to_its_repository() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let id = s.new_upload("a").unwrap();
    assert!(s.upload_path("a", &id).is_some());
    assert!(
        s.upload_path("b", &id).is_none(),
        "another repository's session"
    );
    assert!(s.upload_path("a", "../../version").is_none());
    assert!(!s.delete_upload("b", &id).unwrap());
    let d = digest_of(b"");
    assert!(matches!(
        s.finish_upload("b", &id, &d, None).unwrap(),
        lade_server::Finish::Unknown
    ));
    assert!(s.delete_upload("a", &id).unwrap());
    assert!(s.upload_path("a", &id).is_none());
}

#[test]
fn gc_purges_abandoned_uploads_and_keeps_fresh_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let old = s.new_upload("a").unwrap();
    let fresh = s.new_upload("a").unwrap();
    let data = s.upload_path("a", &old).unwrap();
    fs_err::write(&data, vec![7u8; 1000]).unwrap();
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 24 * 3600);
    for p in [data.clone(), data.with_extension("repo")] {
        fs_err::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .file()
            .set_modified(long_ago)
            .unwrap();
    }
    let dry = run(&s, &GcOptions::default(), true).unwrap();
    assert_eq!(dry.uploads_purged, (0, 0), "a dry run removes nothing");
    assert!(s.upload_path("a", &old).is_some());
    let plan = run(&s, &GcOptions::default(), false).unwrap();
    assert_eq!(plan.uploads_purged, (1, 1000));
    assert!(
        s.upload_path("a", &old).is_none(),
        "abandoned upload purged"
    );
    assert!(!data.with_extension("repo").exists(), "its record too");
    assert!(s.upload_path("a", &fresh).is_some(), "a live upload stays");
}

/// A blob that cannot be read (here a directory where its file should be: EISDIR; as
/// root, permissions cannot make one) is reported, and `--repair` leaves it and what
/// references it: a read error is no proof of bad content.
#[test]
fn check_repair_leaves_an_unreadable_blob_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let d = put_blob(&s, "r", b"layer");
    let path = s.blob_path(&d);
    fs_err::remove_file(&path).unwrap();
    fs_err::create_dir(&path).unwrap();
    let report = lade_server::check::check(&s, true).unwrap();
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            lade_server::check::Problem::UnreadableBlob { digest, .. } if digest == &d
        )),
        "{:?}",
        report.problems
    );
    assert!(report.repairs.is_empty(), "{:?}", report.repairs);
    assert!(path.is_dir(), "the blob was deleted");
    assert!(s.repo_blob("r", &d).is_some(), "its link was removed");
    let shown = report.problems[0].to_string();
    assert!(shown.contains("check again"), "{shown}");
}
