//! Property tests of the store's invariants (issue 9): random sequences of imports,
//! tags, untags and removals — some of them cut short the way a `SIGKILL` would leave
//! them (a blob written but never referenced, a temporary file abandoned mid-write, an
//! image removed from the index whose blobs were not deleted yet) — keep `check` free of
//! damage after every step, keep the names exactly as a model says, and `check --repair`
//! then leaves no problem at all.

#![expect(clippy::unwrap_used, reason = "test code: a failure shows where")]

use std::collections::BTreeMap;
use std::io::Write;

use lade_oci::Descriptor;
use lade_reference::{Digest, Reference};
use lade_store::Store;
use proptest::prelude::*;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

#[derive(Debug, Clone)]
enum Op {
    /// Import image `seed` (layers shared with other seeds) under `name`, or dangling.
    Import { seed: u8, name: Option<u8> },
    /// Point `name` at image `seed`, if it is in the store.
    Tag { seed: u8, name: u8 },
    /// Remove the name.
    Untag { name: u8 },
    /// `rmi`: remove image `seed` and every name, then delete the blobs it freed; with
    /// `killed`, stop before deleting them.
    Remove { seed: u8, killed: bool },
    /// An import killed before its index update: blobs nobody references.
    KilledImport { seed: u8 },
    /// A blob write killed midway: a temporary file left behind.
    KilledWrite { len: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6u8, prop::option::of(0..5u8)).prop_map(|(seed, name)| Op::Import { seed, name }),
        3 => (0..6u8, 0..5u8).prop_map(|(seed, name)| Op::Tag { seed, name }),
        2 => (0..5u8).prop_map(|name| Op::Untag { name }),
        3 => (0..6u8, any::<bool>()).prop_map(|(seed, killed)| Op::Remove { seed, killed }),
        1 => (0..6u8).prop_map(|seed| Op::KilledImport { seed }),
        1 => (0..2000u16).prop_map(|len| Op::KilledWrite { len }),
    ]
}

fn name(n: u8) -> Reference {
    Reference::parse_normalized(&format!("img{n}:t"))
        .unwrap()
        .with_default_tag()
}

/// The blobs of image `seed`: two layers (one shared with seeds of the same parity),
/// a config, and the manifest bytes.
fn image(seed: u8) -> (Vec<Vec<u8>>, Vec<u8>, Vec<u8>) {
    let layers = vec![
        format!("shared layer {}", seed % 2).into_bytes(),
        format!("own layer {seed}").repeat(50).into_bytes(),
    ];
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Labels": {"seed": seed.to_string()}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .unwrap();
    let desc = |mt: &str, b: &[u8]| serde_json::json!({"mediaType": mt, "digest": lade_store::sha256_hex_of(b).to_string(), "size": b.len()});
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": desc(CONFIG, &config),
        "layers": layers.iter().map(|l| desc(LAYER, l)).collect::<Vec<_>>(),
    }))
    .unwrap();
    (layers, config, manifest)
}

fn manifest_digest(seed: u8) -> Digest {
    lade_store::sha256_hex_of(&image(seed).2)
}

/// Writes the blobs of `seed` in a write session; returns the manifest's descriptor.
fn write_image(store: &Store, seed: u8) -> Descriptor {
    let (layers, config, manifest) = image(seed);
    let ingest = store.ingest().unwrap();
    for l in &layers {
        ingest.write_blob(l).unwrap();
    }
    ingest.write_blob(&config).unwrap();
    let digest = ingest.write_blob(&manifest).unwrap();
    Descriptor::new(MANIFEST, digest, manifest.len() as u64)
}

/// What the names should be: name → seed.
type Model = BTreeMap<u8, u8>;

fn apply(store: &Store, model: &mut Model, present: &mut Vec<u8>, op: &Op) {
    match *op {
        Op::Import { seed, name: n } => {
            let d = write_image(store, seed);
            let record = store
                .derive_record(&d, Some("2024-01-01T00:00:00Z".into()))
                .unwrap();
            store
                .update(|s| {
                    s.meta_mut().images.insert(d.digest.clone(), record);
                    match n {
                        Some(n) => s.tag(&d, &name(n)),
                        None => s.add_untagged(&d),
                    }
                    Ok::<_, lade_store::StoreError>(())
                })
                .unwrap();
            if let Some(n) = n {
                model.insert(n, seed);
            }
            if !present.contains(&seed) {
                present.push(seed);
            }
        }
        Op::Tag { seed, name: n } => {
            if !present.contains(&seed) {
                return;
            }
            let digest = manifest_digest(seed);
            store
                .update(|s| {
                    let d = s
                        .index
                        .manifests()
                        .iter()
                        .find(|d| d.digest == digest)
                        .cloned()
                        .unwrap();
                    s.tag(&d, &name(n));
                    Ok::<_, lade_store::StoreError>(())
                })
                .unwrap();
            model.insert(n, seed);
        }
        Op::Untag { name: n } => {
            let gone = store
                .update(|s| Ok::<_, lade_store::StoreError>(s.untag(&name(n))))
                .unwrap();
            let seed = model.remove(&n);
            assert_eq!(gone.is_some(), seed.is_some());
            // An image whose last name goes has no entry left: its record goes with it
            // (its blobs stay until a prune, as after a killed rmi).
            if let Some(seed) = seed
                && !model.values().any(|s| *s == seed)
            {
                present.retain(|s| *s != seed);
            }
        }
        Op::Remove { seed, killed } => {
            if !present.contains(&seed) {
                return;
            }
            let digest = manifest_digest(seed);
            // Plan, then execute under the exclusive gc lock, as rmi does.
            let guard = store.gc_lock().unwrap();
            let candidates: Vec<Digest> = store
                .update(|s| {
                    let blobs: Vec<Digest> = s
                        .meta()
                        .images
                        .get(&digest)
                        .map(|r| r.blobs().cloned().collect())
                        .unwrap_or_default();
                    s.remove_image(&digest);
                    Ok::<_, lade_store::StoreError>(blobs)
                })
                .unwrap();
            if !killed {
                let state = store.state().unwrap();
                for (d, _) in store.unreferenced(&state, &candidates) {
                    store.delete_blob(&guard, &d).unwrap();
                }
            }
            model.retain(|_, s| *s != seed);
            present.retain(|s| *s != seed);
        }
        Op::KilledImport { seed } => {
            write_image(store, seed + 100);
        }
        Op::KilledWrite { len } => {
            let ingest = store.ingest().unwrap();
            let mut w = ingest.blob_writer().unwrap();
            w.write_all(&vec![7u8; usize::from(len)]).unwrap();
            // A killed process runs no destructor: its temporary file stays.
            std::mem::forget(w);
        }
    }
}

fn assert_invariants(store: &Store, model: &Model, present: &[u8], after: &Op) {
    let report = store.check(false).unwrap();
    assert!(
        !report.damaged(),
        "damage after {after:?}: {:?}",
        report.problems
    );
    let state = store.state().unwrap();
    // `state` derives a missing record again from the blobs; the file must have it.
    let meta_file = fs_err::read(store.root().join("lade/meta.bin"))
        .map(|b| lade_store::Meta::from_bytes(&b).unwrap())
        .unwrap_or_default();
    let mut names: BTreeMap<String, Digest> = BTreeMap::new();
    for d in state.index.manifests() {
        if let Some(n) = d.ref_name() {
            assert!(
                names.insert(n.to_owned(), d.digest.clone()).is_none(),
                "{n} twice"
            );
        }
    }
    let want: BTreeMap<String, Digest> = model
        .iter()
        .map(|(n, s)| (name(*n).to_string(), manifest_digest(*s)))
        .collect();
    assert_eq!(names, want, "after {after:?}");
    for seed in present {
        let d = manifest_digest(*seed);
        assert!(state.has_entry(&d), "image {seed} lost its entry");
        assert!(
            state.meta().images.contains_key(&d) && meta_file.images.contains_key(&d),
            "image {seed} lost its record"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_never_damage_the_store(ops in prop::collection::vec(op(), 1..32)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        let mut model = Model::new();
        let mut present = Vec::new();
        for op in &ops {
            apply(&store, &mut model, &mut present, op);
            assert_invariants(&store, &model, &present, op);
        }
        // Repair removes what killed operations left and nothing else.
        store.check(true).unwrap();
        let report = store.check(false).unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_invariants(&store, &model, &present, &Op::Untag { name: 255 });
    }
}

/// A change of names alone leaves the records file (`lade/meta.bin`) as it was (no rewrite of every record for
/// a tag); removing an image rewrites it without the image's record.
#[test]
fn names_change_index_json_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let d = write_image(&store, 1);
    let record = store.derive_record(&d, None).unwrap();
    store
        .update(|s| {
            s.meta_mut().images.insert(d.digest.clone(), record);
            s.tag(&d, &name(1));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    let meta = store.root().join("lade/meta.bin");
    let identity = |p: &std::path::Path| {
        use std::os::unix::fs::MetadataExt;
        let m = fs_err::metadata(p).unwrap();
        (m.ino(), m.mtime_nsec(), m.len())
    };
    let before = identity(&meta);
    let index_before = identity(&store.root().join("index.json"));
    store
        .update(|s| {
            s.tag(&d, &name(2));
            s.untag(&name(1));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    assert_eq!(identity(&meta), before, "a tag rewrote the records");
    assert_ne!(identity(&store.root().join("index.json")), index_before);
    assert!(store.state().unwrap().lookup(&name(2)).is_some());

    // The same through `update_names`, which does not even read the records; a lookup
    // that finds nothing writes nothing.
    let index_before = identity(&store.root().join("index.json"));
    let found = store
        .update_names(|n| Ok::<_, lade_store::StoreError>(n.lookup(&name(9)).is_some()))
        .unwrap();
    assert!(!found);
    assert_eq!(identity(&store.root().join("index.json")), index_before);
    store
        .update_names(|n| {
            let d = n.lookup(&name(2)).cloned().unwrap();
            n.tag(&d, &name(3));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    assert_eq!(identity(&meta), before);
    let state = store.state().unwrap();
    let image = state.image(&d.digest).unwrap();
    assert_eq!(image.names, vec![name(2), name(3)]);
    assert!(store.check(false).unwrap().problems.is_empty());

    store
        .update(|s| {
            s.remove_image(&d.digest);
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    assert_ne!(identity(&meta), before);
    let text = fs_err::read_to_string(&meta).unwrap();
    assert!(!text.contains(&d.digest.to_string()), "{text}");
}

/// A store whose records an older lade kept in `lade/meta.json` (version 1) reads them
/// as they were, facts that cannot be derived again included, and the next change
/// moves them to `lade/meta.bin`.
#[test]
fn records_of_an_older_lade_are_read_and_moved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let d = write_image(&store, 1);
    let mut record = store
        .derive_record(&d, Some("2021-02-03T04:05:06Z".into()))
        .unwrap();
    record.repo_digests = vec![format!("docker.io/library/one@{}", d.digest)];
    store
        .update(|s| {
            s.meta_mut().images.insert(d.digest.clone(), record.clone());
            s.tag(&d, &name(1));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    // What an older lade wrote: the same record, as JSON.
    let lade_dir = store.root().join("lade");
    let json = serde_json::json!({"version": 1, "images": [record]});
    fs_err::write(lade_dir.join("meta.json"), json.to_string()).unwrap();
    fs_err::remove_file(lade_dir.join("meta.bin")).unwrap();

    assert_eq!(
        store.state().unwrap().meta().images.get(&d.digest),
        Some(&record)
    );
    assert!(!lade_dir.join("meta.bin").exists(), "reading wrote");
    store
        .update_names(|n| {
            n.tag(&d, &name(2));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    store
        .update(|s| {
            s.untag(&name(2));
            Ok::<_, lade_store::StoreError>(())
        })
        .unwrap();
    assert!(!lade_dir.join("meta.json").exists());
    let moved =
        lade_store::Meta::from_bytes(&fs_err::read(lade_dir.join("meta.bin")).unwrap()).unwrap();
    assert_eq!(moved.images.get(&d.digest), Some(&record));

    // A damaged records file is an error that names it, never an empty store.
    fs_err::write(lade_dir.join("meta.bin"), b"LADEMETA\x02\0\0\0\xff").unwrap();
    let e = store.state().unwrap_err().to_string();
    assert!(e.contains("meta.bin is corrupt"), "{e}");
}
