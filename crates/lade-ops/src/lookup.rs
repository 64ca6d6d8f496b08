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
    // A name as lade writes it into `index.json` is found without building every
    // image (a tag or rmi on a store of 10,000 images).
    if let Some(reference) = parsed.as_ref().filter(|r| r.digest().is_none())
        && let Some(d) = state.lookup(&reference.clone().with_default_tag())
        && let Some(img) = state.image(&d.digest)
    {
        return Ok(img);
    }
    let images = state.images();
    if let Some(reference) = parsed {
        if let Some(digest) = reference.digest() {
            if let Some(img) = images
                .iter()
                .find(|i| &i.record.manifest == digest || i.id() == digest)
            {
                return Ok(img.clone());
            }
        } else {
            // Names another tool wrote in another form (`7`, `redis:7`).
            let tagged = reference.clone().with_default_tag();
            if let Some(img) = images.iter().find(|i| i.names.contains(&tagged)) {
                return Ok(img.clone());
            }
        }
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
    let shown = match Reference::parse_normalized(what) {
        Ok(r) if r.digest().is_none() => r.with_default_tag().familiar(),
        _ => what.to_owned(),
    };
    Err(LookupError::NotFound(shown))
}
