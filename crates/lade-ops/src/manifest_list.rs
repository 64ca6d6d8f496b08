//! `lade manifest create/annotate/inspect/push/rm`: assemble a multi-platform index from
//! images already in a registry, as `docker manifest` does. `create` reads the images'
//! manifests (and configs, for their platforms) from the registry, without pulling;
//! the list is a draft kept in the store (`lade/manifests/`) until `push` uploads it;
//! `entry` hands one of its images to `manifest inspect LIST IMAGE`.
//!
//! `push` makes every entry present in the list's repository first, as the registry
//! requires of an index's children: blobs are mounted from the entry's repository
//! (same registry), or copied through a temporary file when the registry will not
//! mount them or the entry lives on another registry; then each entry's manifest is
//! put by digest, and last the index under the list's tag: a Docker manifest list when
//! every entry is a Docker schema2 manifest, else an OCI index.

use std::collections::BTreeMap;
use std::io::Write as _;

use lade_client::{ClientError, Mount, Registry};
use lade_oci::{Descriptor, ImageConfig, Manifest, Platform, media_type};
use lade_reference::{Digest, Reference};
use lade_store::{ListEntry, ManifestList, Store, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::runtime::Handle;

/// Why a list could not be made, changed or pushed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("refusing to amend an existing manifest list with no --amend flag: {name}")]
    Exists { name: String },
    #[error("no such manifest list: {name}")]
    NoList { name: String },
    #[error("manifest list {name} has no entries")]
    Empty { name: String },
    #[error("{reference} is a manifest list: a list can only hold image manifests")]
    IsIndex { reference: String },
    #[error("manifest for image {image} does not exist in {list}")]
    NotInList { image: String, list: String },
    #[error("manifest entry for image has unsupported os/arch combination: {os}/{arch}")]
    BadPlatform { os: String, arch: String },
    #[error("a manifest list is named by a tag, not a digest: {name}")]
    DigestName { name: String },
    #[error("failed to fetch {what} of {reference}: {source}")]
    Fetch {
        what: String,
        reference: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("invalid manifest for {reference}: {reason}")]
    Invalid { reference: String, reason: String },
    #[error("no registry client for {host}")]
    NoRegistry { host: String },
    #[error("failed to push {what}: {source}")]
    Push {
        what: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("failed to copy blob {digest} through a temporary file: {source}")]
    Copy {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The list's reference as it is stored: with a tag (`latest` by default).
pub fn list_name(list: &Reference) -> Result<Reference, ListError> {
    if list.digest().is_some() {
        return Err(ListError::DigestName {
            name: list.familiar(),
        });
    }
    Ok(list.clone().with_default_tag())
}

fn tag_or_digest(r: &Reference) -> String {
    match (r.digest(), r.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.as_str().to_owned(),
        (None, None) => "latest".into(),
    }
}

/// Reads one image's manifest and platform from its registry, as `docker manifest
/// create` does.
pub fn fetch_entry(
    registry: &Registry,
    image: &Reference,
    rt: &Handle,
) -> Result<ListEntry, ListError> {
    let image = if image.digest().is_some() {
        image.clone()
    } else {
        image.clone().with_default_tag()
    };
    let fetch = |what: &str| {
        let (what, reference) = (what.to_owned(), image.familiar());
        move |e: ClientError| ListError::Fetch {
            what,
            reference,
            source: Box::new(e),
        }
    };
    let fetched = rt
        .block_on(registry.get_manifest(image.path(), &tag_or_digest(&image)))
        .map_err(fetch("the manifest"))?;
    let invalid = |reason: String| ListError::Invalid {
        reference: image.familiar(),
        reason,
    };
    let manifest = match Manifest::parse(&fetched.bytes, Some(&fetched.media_type))
        .map_err(|e| invalid(e.to_string()))?
    {
        Manifest::Image(m) => m,
        Manifest::Index(_) => {
            return Err(ListError::IsIndex {
                reference: image.familiar(),
            });
        }
    };
    let text = String::from_utf8(fetched.bytes.clone())
        .map_err(|_| invalid("the manifest is not UTF-8 JSON".into()))?;
    let config_bytes = rt
        .block_on(registry.get_small_blob(
            image.path(),
            &manifest.config.digest,
            manifest.config.size,
        ))
        .map_err(fetch("the config"))?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| invalid(format!("its config is not valid JSON: {e}")))?;
    let os_features = config
        .extra
        .get("os.features")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let media_type = manifest
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| fetched.media_type.clone());
    let mut descriptor = Descriptor::new(media_type, fetched.digest, fetched.bytes.len() as u64);
    descriptor.platform = Some(Platform {
        architecture: config.architecture.unwrap_or_default(),
        os: config.os.unwrap_or_default(),
        os_version: config.os_version,
        os_features,
        variant: config.variant,
    });
    Ok(ListEntry {
        source: image.to_string(),
        descriptor,
        manifest: text,
    })
}

/// `manifest create`: a new local list of `entries` (see [`fetch_entry`]), or with
/// `amend` the existing one with these entries added or replaced (same image or same
/// digest).
pub fn create(
    store: &Store,
    list: &Reference,
    entries: Vec<ListEntry>,
    amend: bool,
) -> Result<ManifestList, ListError> {
    let name = list_name(list)?.to_string();
    store.update_manifest_list(&name, |current| {
        if current.is_some() && !amend {
            return Err(ListError::Exists {
                name: list.familiar(),
            });
        }
        let mut l = current.take().unwrap_or_else(|| ManifestList::new(&name));
        for e in entries {
            match l
                .entries
                .iter_mut()
                .find(|o| o.source == e.source || o.descriptor.digest == e.descriptor.digest)
            {
                Some(old) => *old = e,
                None => l.entries.push(e),
            }
        }
        *current = Some(l.clone());
        Ok(l)
    })
}

/// What `manifest annotate` sets (empty fields are left alone).
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub os_features: Vec<String>,
}

/// Whether `entry` is the image `image` names: as it was added (a missing tag meaning
/// `latest`), or by its manifest's digest.
fn is_entry(entry: &ListEntry, image: &Reference) -> bool {
    let wanted = if image.digest().is_some() {
        image.clone()
    } else {
        image.clone().with_default_tag()
    };
    entry.source == wanted.to_string() || Some(&entry.descriptor.digest) == image.digest()
}

/// `manifest inspect LIST IMAGE`: the entry of the local list `list` for `image`
/// (named as it was added, or by its digest), with its annotated platform.
pub fn entry(store: &Store, list: &Reference, image: &Reference) -> Result<ListEntry, ListError> {
    let name = list_name(list)?.to_string();
    let stored = store
        .manifest_list(&name)?
        .ok_or_else(|| ListError::NoList {
            name: list.familiar(),
        })?;
    stored
        .entries
        .into_iter()
        .find(|e| is_entry(e, image))
        .ok_or_else(|| ListError::NotInList {
            // With the tag it was looked up by: `app` means `app:latest`.
            image: if image.digest().is_some() {
                image.familiar()
            } else {
                image.clone().with_default_tag().familiar()
            },
            list: list.familiar(),
        })
}

/// `manifest annotate`: changes the platform of one entry (named as it was added, or
/// by its digest).
pub fn annotate(
    store: &Store,
    list: &Reference,
    image: &Reference,
    a: &Annotation,
) -> Result<Platform, ListError> {
    let name = list_name(list)?.to_string();
    store.update_manifest_list(&name, |current| {
        let Some(l) = current.as_mut() else {
            return Err(ListError::NoList {
                name: list.familiar(),
            });
        };
        let entry = l
            .entries
            .iter_mut()
            .find(|e| is_entry(e, image))
            .ok_or_else(|| ListError::NotInList {
                image: image.familiar(),
                list: list.familiar(),
            })?;
        let p = entry.descriptor.platform.get_or_insert_with(|| Platform {
            architecture: String::new(),
            os: String::new(),
            os_version: None,
            os_features: Vec::new(),
            variant: None,
        });
        let set = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        if let Some(os) = set(&a.os) {
            p.os = os;
        }
        if let Some(arch) = set(&a.arch) {
            p.architecture = arch;
        }
        for f in &a.os_features {
            if !p.os_features.contains(f) {
                p.os_features.push(f.clone());
            }
        }
        if let Some(v) = set(&a.variant) {
            p.variant = Some(v);
        }
        if let Some(v) = set(&a.os_version) {
            p.os_version = Some(v);
        }
        if !valid_os_arch(&p.os, &p.architecture) {
            return Err(ListError::BadPlatform {
                os: p.os.clone(),
                arch: p.architecture.clone(),
            });
        }
        Ok(p.clone())
    })
}

/// `manifest rm`: deletes a local list; false when there was none.
pub fn remove(store: &Store, list: &Reference) -> Result<bool, ListError> {
    let name = list_name(list)?.to_string();
    store.update_manifest_list(&name, |current| Ok(current.take().is_some()))
}

/// The index a list pushes as: its media type and bytes (indented with three spaces,
/// as Docker marshals manifest lists). A Docker manifest list when every entry is a
/// Docker schema2 manifest, else an OCI index.
pub fn index_document(list: &ManifestList) -> (String, Vec<u8>) {
    let docker = !list.entries.is_empty()
        && list
            .entries
            .iter()
            .all(|e| e.descriptor.media_type == media_type::DOCKER_MANIFEST);
    let mt = if docker {
        media_type::DOCKER_MANIFEST_LIST
    } else {
        media_type::OCI_INDEX
    };
    let manifests: Vec<Value> = list
        .entries
        .iter()
        .map(|e| {
            let d = &e.descriptor;
            let mut v = json!({
                "mediaType": d.media_type,
                "size": d.size,
                "digest": d.digest.to_string(),
            });
            if let Some(p) = &d.platform {
                v["platform"] = serde_json::to_value(p).unwrap_or(Value::Null);
            }
            v
        })
        .collect();
    let doc = json!({"schemaVersion": 2, "mediaType": mt, "manifests": manifests});
    let mut bytes = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, fmt);
    // Serializing a `Value` into a Vec cannot fail.
    let _ = doc.serialize(&mut ser);
    (mt.to_owned(), bytes)
}

/// What `push` did.
#[derive(Debug, Clone)]
pub struct PushedList {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// What `push` reports as it goes (one line each).
pub trait ListProgress {
    fn line(&self, line: &str);
}

/// `manifest push`: the list (stored as `list`) to its repository. `registries` holds
/// a client for the list's host and for every host its entries come from.
pub fn push(
    store: &Store,
    list: &Reference,
    registries: &BTreeMap<String, Registry>,
    progress: &dyn ListProgress,
    rt: &Handle,
) -> Result<PushedList, ListError> {
    let target_ref = list_name(list)?;
    let name = target_ref.to_string();
    let l = store
        .manifest_list(&name)?
        .ok_or_else(|| ListError::NoList {
            name: list.familiar(),
        })?;
    if l.entries.is_empty() {
        return Err(ListError::Empty {
            name: list.familiar(),
        });
    }
    let client = |host: &str| {
        registries.get(host).ok_or_else(|| ListError::NoRegistry {
            host: host.to_owned(),
        })
    };
    let target = client(target_ref.domain())?;
    let repo = target_ref.path();
    for e in &l.entries {
        let source = Reference::parse_normalized(&e.source).map_err(|err| ListError::Invalid {
            reference: e.source.clone(),
            reason: err.to_string(),
        })?;
        let same_registry = source.domain() == target_ref.domain();
        if same_registry && source.path() == repo {
            continue;
        }
        let manifest = match Manifest::parse(e.manifest.as_bytes(), Some(&e.descriptor.media_type))
        {
            Ok(Manifest::Image(m)) => m,
            Ok(Manifest::Index(_)) => {
                return Err(ListError::IsIndex {
                    reference: e.source.clone(),
                });
            }
            Err(err) => {
                return Err(ListError::Invalid {
                    reference: e.source.clone(),
                    reason: err.to_string(),
                });
            }
        };
        let from = client(source.domain())?;
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            let how = rt.block_on(ensure_blob(
                target,
                repo,
                blob,
                from,
                source.path(),
                same_registry,
            ))?;
            progress.line(&format!("{}: {how}", blob.digest.short_id()));
        }
        let digest = e.descriptor.digest.to_string();
        let present = rt
            .block_on(target.head_manifest(repo, &digest))
            .ok()
            .flatten()
            .is_some_and(|h| h.digest == e.descriptor.digest);
        if !present {
            rt.block_on(target.put_manifest(
                repo,
                &digest,
                &e.descriptor.media_type,
                e.manifest.as_bytes(),
            ))
            .map_err(|err| ListError::Push {
                what: format!("the manifest of {}", e.source),
                source: Box::new(err),
            })?;
        }
        progress.line(&format!(
            "Pushed manifest {} of {} to {}",
            e.descriptor.digest,
            source.familiar(),
            target_ref.familiar_name()
        ));
    }
    let (mt, bytes) = index_document(&l);
    let tag = tag_or_digest(&target_ref);
    let computed = Digest::from_sha256_bytes(&sha2::Sha256::digest(&bytes).into());
    let digest = rt
        .block_on(target.put_manifest(repo, &tag, &mt, &bytes))
        .map_err(|err| ListError::Push {
            what: format!("the manifest list {}", target_ref.familiar()),
            source: Box::new(err),
        })?
        .unwrap_or(computed);
    Ok(PushedList {
        digest,
        media_type: mt,
        size: bytes.len() as u64,
    })
}

/// Makes `blob` present in `repo` of `target`: already there, mounted from
/// `from_repo` (same registry), or copied from `from`. Returns what was done, in
/// Docker's words.
async fn ensure_blob(
    target: &Registry,
    repo: &str,
    blob: &Descriptor,
    from: &Registry,
    from_repo: &str,
    same_registry: bool,
) -> Result<String, ListError> {
    let push_err = |err: ClientError| ListError::Push {
        what: format!("blob {}", blob.digest.short_id()),
        source: Box::new(err),
    };
    if target
        .head_blob(repo, &blob.digest)
        .await
        .map_err(push_err)?
        .is_some()
    {
        return Ok("Layer already exists".into());
    }
    let session = if same_registry {
        match target
            .mount_blob(repo, &blob.digest, from_repo)
            .await
            .map_err(push_err)?
        {
            Mount::Mounted => return Ok(format!("Mounted from {from_repo}")),
            Mount::Session(location) => Some(location),
        }
    } else {
        None
    };
    let tmp = copy_to_temp(from, from_repo, blob).await?;
    let location = match session {
        Some(l) => l,
        None => target.start_upload(repo).await.map_err(push_err)?,
    };
    target
        .upload_blob(repo, location, &blob.digest, tmp.path(), blob.size, &|_| {})
        .await
        .map_err(push_err)?;
    Ok("Pushed".into())
}

/// Downloads a blob into a temporary file, checking its size and digest.
async fn copy_to_temp(
    from: &Registry,
    from_repo: &str,
    blob: &Descriptor,
) -> Result<tempfile::NamedTempFile, ListError> {
    let io_err = |source: std::io::Error| ListError::Copy {
        digest: blob.digest.clone(),
        source,
    };
    let fetch_err = |err: ClientError| ListError::Fetch {
        what: format!("blob {}", blob.digest.short_id()),
        reference: format!("{}/{from_repo}", from.host()),
        source: Box::new(err),
    };
    let mut stream = from
        .get_blob(from_repo, &blob.digest, 0)
        .await
        .map_err(fetch_err)?;
    let mut tmp = tempfile::NamedTempFile::new().map_err(io_err)?;
    let mut hasher = sha2::Sha256::new();
    let mut written = 0u64;
    while let Some(chunk) = stream.response.chunk().await.map_err(|e| {
        fetch_err(ClientError::Transport {
            host: from.host().to_owned(),
            source: e,
        })
    })? {
        written += chunk.len() as u64;
        if written > blob.size {
            break;
        }
        hasher.update(&chunk);
        tmp.write_all(&chunk).map_err(io_err)?;
    }
    let actual = Digest::from_sha256_bytes(&hasher.finalize().into());
    if written != blob.size || actual != blob.digest {
        return Err(fetch_err(ClientError::DigestMismatch {
            url: format!("{}/v2/{from_repo}/blobs/{}", from.host(), blob.digest),
            expected: blob.digest.clone(),
            actual,
        }));
    }
    tmp.flush().map_err(io_err)?;
    Ok(tmp)
}

/// Docker's `isValidOSArch` (the pairs Go builds for).
fn valid_os_arch(os: &str, arch: &str) -> bool {
    const VALID: &[(&str, &[&str])] = &[
        ("aix", &["ppc64"]),
        ("android", &["386", "amd64", "arm", "arm64"]),
        ("darwin", &["386", "amd64", "arm", "arm64"]),
        ("dragonfly", &["amd64"]),
        ("freebsd", &["386", "amd64", "arm", "arm64", "riscv64"]),
        ("illumos", &["amd64"]),
        ("ios", &["arm64"]),
        ("js", &["wasm"]),
        (
            "linux",
            &[
                "386", "amd64", "arm", "arm64", "loong64", "ppc64", "ppc64le", "mips", "mipsle",
                "mips64", "mips64le", "riscv64", "s390x",
            ],
        ),
        ("netbsd", &["386", "amd64", "arm", "arm64"]),
        ("openbsd", &["386", "amd64", "arm", "arm64"]),
        ("plan9", &["386", "amd64", "arm"]),
        ("solaris", &["amd64"]),
        ("wasip1", &["wasm"]),
        ("windows", &["386", "amd64", "arm", "arm64"]),
    ];
    VALID
        .iter()
        .any(|(o, arches)| *o == os && arches.contains(&arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mt: &str, n: u8, platform: &str) -> ListEntry {
        let manifest = format!("{{\"schemaVersion\":2,\"n\":{n}}}");
        let mut d = Descriptor::new(
            mt,
            Digest::from_sha256_bytes(&sha2::Sha256::digest(manifest.as_bytes()).into()),
            manifest.len() as u64,
        );
        d.platform = Some(Platform::parse(platform).unwrap());
        ListEntry {
            source: format!("docker.io/me/app:{n}"),
            descriptor: d,
            manifest,
        }
    }

    #[test]
    fn docker_entries_make_a_docker_manifest_list() {
        let mut l = ManifestList::new("docker.io/me/app:latest");
        l.entries
            .push(entry(media_type::DOCKER_MANIFEST, 1, "linux/amd64"));
        l.entries
            .push(entry(media_type::DOCKER_MANIFEST, 2, "linux/arm/v7"));
        let (mt, bytes) = index_document(&l);
        assert_eq!(mt, media_type::DOCKER_MANIFEST_LIST);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\n   \"schemaVersion\": 2,\n   \"mediaType\""),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["manifests"][1]["platform"]["variant"], "v7");
        assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
        assert_eq!(
            v["manifests"][0]["digest"],
            l.entries[0].descriptor.digest.to_string()
        );
        match Manifest::parse(text.as_bytes(), Some(&mt)).unwrap() {
            Manifest::Index(i) => assert_eq!(i.manifests.len(), 2),
            Manifest::Image(_) => panic!("not an index"),
        }
    }

    #[test]
    fn any_oci_entry_makes_an_oci_index() {
        let mut l = ManifestList::new("docker.io/me/app:latest");
        l.entries
            .push(entry(media_type::DOCKER_MANIFEST, 1, "linux/amd64"));
        l.entries
            .push(entry(media_type::OCI_MANIFEST, 2, "linux/arm64"));
        assert_eq!(index_document(&l).0, media_type::OCI_INDEX);
    }

    #[test]
    fn os_arch_pairs() {
        assert!(valid_os_arch("linux", "arm64"));
        assert!(valid_os_arch("windows", "amd64"));
        assert!(!valid_os_arch("linux", "x86_64"));
        assert!(!valid_os_arch("", "amd64"));
    }

    #[test]
    fn create_amend_annotate_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let list: Reference = "me/app:multi".parse().unwrap();
        let a = entry(media_type::OCI_MANIFEST, 1, "linux/amd64");
        let b = entry(media_type::OCI_MANIFEST, 2, "linux/arm64");
        create(&store, &list, vec![a.clone()], false).unwrap();
        assert!(matches!(
            create(&store, &list, vec![b.clone()], false),
            Err(ListError::Exists { .. })
        ));
        let l = create(&store, &list, vec![b.clone(), a.clone()], true).unwrap();
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.name, "docker.io/me/app:multi");

        let image: Reference = "me/app:2".parse().unwrap();
        let p = annotate(
            &store,
            &list,
            &image,
            &Annotation {
                variant: Some("v8".into()),
                os_features: vec!["f1".into()],
                ..Annotation::default()
            },
        )
        .unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(p.os_features, ["f1"]);
        let bad = annotate(
            &store,
            &list,
            &image,
            &Annotation {
                arch: Some("x86_64".into()),
                ..Annotation::default()
            },
        );
        assert!(matches!(bad, Err(ListError::BadPlatform { .. })));
        // The failed annotation changed nothing.
        let stored = store
            .manifest_list("docker.io/me/app:multi")
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.entries[1]
                .descriptor
                .platform
                .as_ref()
                .unwrap()
                .architecture,
            "arm64"
        );
        let missing: Reference = "me/other:1".parse().unwrap();
        assert!(matches!(
            annotate(&store, &list, &missing, &Annotation::default()),
            Err(ListError::NotInList { .. })
        ));
        assert!(remove(&store, &list).unwrap());
        assert!(!remove(&store, &list).unwrap());
        assert!(matches!(
            annotate(&store, &list, &image, &Annotation::default()),
            Err(ListError::NoList { .. })
        ));
    }
}
