//! Finding an image in the store by name, ID or ID prefix, as Docker does.

use lade_reference::{Digest, Reference};
use lade_store::{Image, State};

/// An image that could not be found, in Docker's words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("multiple IDs found with provided prefix: {0}")]
    Ambiguous(String),
}

/// Resolves `what` — a reference (`redis`, `redis:7`, `x@sha256:…`), a full image ID
/// (`sha256:…` or 64 hex) or a unique ID prefix — to an image in `state`.
pub fn resolve_image<'s>(state: &'s State, what: &str) -> Result<Image<'s>, LookupError> {
    let parsed = Reference::parse_normalized(what).ok();
    let tagged = parsed
        .as_ref()
        .filter(|r| r.digest().is_none())
        .map(|r| r.clone().with_default_tag());
    // A name as lade writes it into `index.json` is found without building every
    // image (a tag or rmi on a store of 10,000 images).
    if let Some(name) = &tagged
        && let Some(d) = state.lookup(name)
        && let Some(img) = state.image(&d.digest)
    {
        return Ok(img);
    }
    let images = state.images();
    let found = match (&tagged, parsed.as_ref().and_then(Reference::digest)) {
        // Names another tool wrote in another form (`7`, `redis:7`).
        (Some(name), _) => images.iter().find(|i| i.names.contains(name)),
        (None, Some(digest)) => images
            .iter()
            .find(|i| &i.record.manifest == digest || i.id() == digest),
        (None, None) => None,
    };
    if let Some(img) = found {
        return Ok(img.clone());
    }
    if lade_reference::is_id_prefix(what) {
        let hex = what.strip_prefix("sha256:").unwrap_or(what);
        let mut found: Vec<&Image<'_>> = images
            .iter()
            .filter(|i| i.id().hex().starts_with(hex))
            .collect();
        found.dedup_by(|a, b| a.id() == b.id());
        let ids: std::collections::BTreeSet<&Digest> = found.iter().map(|i| i.id()).collect();
        match ids.len() {
            0 => {}
            1 => return Ok(found[0].clone()),
            _ => return Err(LookupError::Ambiguous(what.to_owned())),
        }
    }
    Err(LookupError::NotFound(
        tagged.map_or_else(|| what.to_owned(), |t| t.familiar()),
    ))
}
