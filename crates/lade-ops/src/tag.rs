//! `lade tag SOURCE TARGET`: give an image another name. Only `index.json` changes;
//! no blob is read or copied.

use lade_reference::{Reference, ReferenceError};
use lade_store::{Store, StoreError};

use crate::{LookupError, resolve_image};

/// Why a tag was not made, in Docker's words. The store is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("Error parsing reference: {target:?} is not a valid repository/tag: {source}")]
    Target {
        target: String,
        source: ReferenceError,
    },
    #[error("refusing to create a tag with a digest reference")]
    DigestTarget,
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Parses a tag to create: normalized, `latest` by default, never a digest.
pub fn parse_target(target: &str) -> Result<Reference, TagError> {
    let reference = Reference::parse_normalized(target).map_err(|source| TagError::Target {
        target: target.to_owned(),
        source,
    })?;
    if reference.digest().is_some() {
        return Err(TagError::DigestTarget);
    }
    Ok(reference.with_default_tag())
}

/// Points `target` at the image `source` (a name, ID or unique ID prefix). A name that
/// pointed at another image moves; that image stays, untagged if it has no other name.
/// Returns the full name created.
pub fn tag(store: &Store, source: &str, target: &str) -> Result<Reference, TagError> {
    let target = parse_target(target)?;
    // A source named as lade writes names changes index.json alone.
    if let Some(source) = Reference::parse_normalized(source)
        .ok()
        .filter(|r| r.digest().is_none())
        .map(Reference::with_default_tag)
    {
        let tagged = store.update_names(|names| {
            let Some(descriptor) = names.lookup(&source).cloned() else {
                return Ok::<_, TagError>(false);
            };
            names.tag(&descriptor, &target);
            Ok(true)
        })?;
        if tagged {
            return Ok(target);
        }
    }
    store.update(|state| {
        let descriptor = resolve_image(state, source)?.descriptor.clone();
        state.tag(&descriptor, &target);
        Ok::<_, TagError>(())
    })?;
    Ok(target)
}
