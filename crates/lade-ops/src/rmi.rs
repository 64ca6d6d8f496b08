//! `lade rmi` / `lade image rm`: untag images and delete those left without a name,
//! with the blobs no other image uses, as `docker rmi` does.
//!
//! Every argument is planned in turn against the locked state (so `rmi redis:7
//! redis:latest` deletes the image once both tags are gone), the whole change is
//! written at once, and the freed blobs are deleted afterwards, all under the exclusive
//! GC lock so that no import or pull can start using one of them meanwhile.

use lade_reference::{Digest, Reference};
use lade_store::{State, Store, StoreError};

use crate::remove::{Freed, Removal, Removed, delete_blobs, names_of};
use crate::{LookupError, resolve_image};

/// How to remove.
#[derive(Debug, Clone, Copy, Default)]
pub struct RmiOptions {
    /// Untag and delete an image whose ID is referenced by several names.
    pub force: bool,
    /// Docker's "do not delete untagged parents". lade's images have no parent images
    /// (every image carries all its layers), so this changes nothing; it is accepted
    /// so that scripts written for Docker run.
    pub no_prune: bool,
}

/// Why one argument of `rmi` was not removed, in Docker's words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RmiError {
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("conflict: unable to delete {id} (must be forced) - {reason}")]
    Conflict { id: String, reason: String },
}

impl RmiError {
    /// True when the image simply was not there (`rmi -f` ignores those, as Docker).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RmiError::Lookup(LookupError::NotFound(_)))
    }
}

/// What `rmi` did.
#[derive(Debug)]
pub struct RmiReport {
    /// For each argument, in order: the lines to print, or why it failed.
    pub results: Vec<(String, Result<Vec<Removed>, RmiError>)>,
    /// The blobs deleted.
    pub freed: Freed,
}

/// Removes each of `images` (names, IDs or ID prefixes). A failure of one argument
/// leaves the others to be done; only a store error stops everything (and then nothing
/// is written).
pub fn rmi(store: &Store, images: &[String], opts: RmiOptions) -> Result<RmiReport, StoreError> {
    let guard = store.gc_lock()?;
    let (results, freed) = store.update(|state| {
        let mut removal = Removal::default();
        let mut results = Vec::with_capacity(images.len());
        for what in images {
            let before = removal.items.len();
            let result = remove_one(state, &mut removal, what, opts)
                .map(|()| removal.items[before..].to_vec());
            results.push((what.clone(), result));
        }
        let freed = removal.freed(store, state);
        Ok::<_, StoreError>((results, freed))
    })?;
    delete_blobs(store, &guard, &freed.blobs)?;
    Ok(RmiReport { results, freed })
}

/// Plans the removal of one argument on `state`.
fn remove_one(
    state: &mut State,
    removal: &mut Removal,
    what: &str,
    opts: RmiOptions,
) -> Result<(), RmiError> {
    let image = resolve_image(state, what)?;
    let manifest = image.record.manifest.clone();
    let id = image.id().clone();

    if is_id_prefix_of(&id, what) {
        return remove_by_id(state, removal, &id, opts.force);
    }
    // A name was given (anything that is not the ID).
    let Ok(reference) = Reference::parse_normalized(what) else {
        return remove_by_id(state, removal, &id, opts.force);
    };
    if let Some(digest) = reference.digest() {
        // `name:tag@digest` is recorded as `name@digest`.
        let canonical = reference.with_digest(digest.clone());
        if removal.remove_repo_digest(state, &manifest, &canonical) {
            return Ok(());
        }
        // A digest that is not one of the image's repository digests names the image
        // itself (its manifest or its ID).
        return remove_by_id(state, removal, &id, opts.force);
    }
    removal.untag(state, &manifest, &reference.with_default_tag());
    Ok(())
}

/// `docker rmi ID`: with at most one tag (and any digests of that one repository) the
/// image is untagged and deleted; with more it takes `-f`.
fn remove_by_id(
    state: &mut State,
    removal: &mut Removal,
    id: &Digest,
    force: bool,
) -> Result<(), RmiError> {
    let manifests: Vec<Digest> = state
        .images()
        .iter()
        .filter(|i| i.id() == id)
        .map(|i| i.record.manifest.clone())
        .collect();
    let mut refs: Vec<Reference> = Vec::new();
    for m in &manifests {
        refs.extend(names_of(state, m));
        if let Some(r) = state.meta().images.get(m) {
            refs.extend(
                r.repo_digests
                    .iter()
                    .filter_map(|s| Reference::parse_normalized(s).ok()),
            );
        }
    }
    if !force && !refs.is_empty() && !is_single_reference(&refs) {
        return Err(RmiError::Conflict {
            id: id.short_id().to_string(),
            reason: "image is referenced in multiple repositories".into(),
        });
    }
    for m in &manifests {
        removal.delete_image(state, m);
    }
    Ok(())
}

/// Docker's `isSingleReference`: all references in one repository, at most one of them
/// a tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    let tags = refs.iter().filter(|r| r.digest().is_none()).count();
    let first = refs[0].name();
    tags <= 1 && refs.iter().all(|r| r.name() == first)
}

/// Docker's `isImageIDPrefix`: `what` is how the ID starts, with or without `sha256:`.
fn is_id_prefix_of(id: &Digest, what: &str) -> bool {
    !what.is_empty() && (id.to_string().starts_with(what) || id.hex().starts_with(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse_normalized(s).unwrap()
    }

    #[test]
    fn single_reference_as_docker_decides() {
        let d = format!("redis@sha256:{}", "a".repeat(64));
        assert!(is_single_reference(&[r("redis:7")]));
        assert!(is_single_reference(&[r("redis:7"), r(&d)]));
        assert!(is_single_reference(&[r(&d)]));
        assert!(!is_single_reference(&[r("redis:7"), r("redis:latest")]));
        assert!(!is_single_reference(&[r("redis:7"), r("other:7")]));
        let other = format!("other@sha256:{}", "a".repeat(64));
        assert!(!is_single_reference(&[r(&d), r(&other)]));
    }

    fn state_with_one_image(names: &[&str], repo_digests: &[String]) -> (State, Digest) {
        use lade_oci::{Descriptor, ImageIndex, media_type};
        use lade_store::{ImageRecord, Meta};
        let manifest = Digest::from_sha256_bytes(&[1; 32]);
        let config = Digest::from_sha256_bytes(&[2; 32]);
        let mut state = State::new(ImageIndex::empty(), Meta::default());
        state.meta_mut().images.insert(
            manifest.clone(),
            ImageRecord {
                manifest: manifest.clone(),
                manifest_media_type: media_type::OCI_MANIFEST.into(),
                manifest_size: 1,
                config: config.clone(),
                config_size: 1,
                created: None,
                added: String::new(),
                layers: Vec::new(),
                labels: Default::default(),
                platform: String::new(),
                index: None,
                repo_digests: repo_digests.to_vec(),
            },
        );
        let d = Descriptor::new(media_type::OCI_MANIFEST, manifest.clone(), 1);
        for n in names {
            state.tag(&d, &r(n));
        }
        (state, config)
    }

    fn remove(state: &mut State, what: &str, force: bool) -> Result<Vec<String>, RmiError> {
        let mut removal = Removal::default();
        let opts = RmiOptions {
            force,
            no_prune: false,
        };
        remove_one(state, &mut removal, what, opts)?;
        Ok(removal.items.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn repository_digests_go_with_the_last_tag_of_their_repository() {
        let m = Digest::from_sha256_bytes(&[1; 32]);
        let digest = format!("docker.io/library/redis@{m}");
        let (mut state, id) =
            state_with_one_image(&["redis:7", "redis:latest", "other:1"], &[digest]);
        assert_eq!(
            remove(&mut state, "redis:7", false).unwrap(),
            ["Untagged: redis:7"]
        );
        assert_eq!(
            remove(&mut state, "redis", false).unwrap(),
            [
                "Untagged: redis:latest".to_owned(),
                format!("Untagged: redis@{m}")
            ]
        );
        assert_eq!(
            remove(&mut state, "other:1", false).unwrap(),
            ["Untagged: other:1".to_owned(), format!("Deleted: {id}")]
        );
        assert!(state.index.manifests().is_empty());
        assert!(state.meta().images.is_empty());
    }

    #[test]
    fn by_id_untags_everything_in_lexical_order_when_forced() {
        let m = Digest::from_sha256_bytes(&[1; 32]);
        let digests = [
            format!("docker.io/library/zed@{m}"),
            format!("docker.io/library/redis@{m}"),
        ];
        let (mut state, id) = state_with_one_image(&["zed:1", "redis:7"], &digests);
        let err = remove(&mut state, &id.hex()[..5], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                id.short_id()
            )
        );
        assert_eq!(
            remove(&mut state, &id.to_string(), true).unwrap(),
            [
                "Untagged: redis:7".to_owned(),
                format!("Untagged: redis@{m}"),
                "Untagged: zed:1".to_owned(),
                format!("Untagged: zed@{m}"),
                format!("Deleted: {id}"),
            ]
        );
    }

    #[test]
    fn a_repository_digest_by_name() {
        let m = Digest::from_sha256_bytes(&[1; 32]);
        let digest = format!("docker.io/library/redis@{m}");
        let (mut state, _) = state_with_one_image(&["redis:7"], &[digest]);
        assert_eq!(
            remove(&mut state, &format!("redis@{m}"), false).unwrap(),
            [format!("Untagged: redis@{m}")]
        );
        assert_eq!(state.index.manifests().len(), 1);
    }

    #[test]
    fn id_prefixes() {
        let id = Digest::parse(&format!("sha256:abc{}", "0".repeat(61))).unwrap();
        assert!(is_id_prefix_of(&id, "abc"));
        assert!(is_id_prefix_of(&id, "sha256:ab"));
        assert!(!is_id_prefix_of(&id, "redis"));
        assert!(!is_id_prefix_of(&id, ""));
    }
}
