//! `lade images`: which images to list and under which names, with Docker's filters
//! (`dangling`, `label`, `before`, `since`, `until`, `reference`), newest first.
//!
//! The command shapes rows (one per tag, `<none>` for dangling images); this module
//! only decides what is listed, from the records alone.

use lade_reference::Reference;
use lade_store::{Image, State};

use crate::filters::{self, FilterError, labels_match, reference_matches};
use crate::{LookupError, resolve_image};

/// `--filter`s of `images`, parsed.
#[derive(Debug, Clone, Default)]
pub struct ImageFilters {
    /// `dangling=true|false`.
    pub dangling: Option<bool>,
    /// `label=key[=value]`: all must match.
    pub labels: Vec<String>,
    /// `before=IMAGE`, `since=IMAGE`: image references, resolved against the store.
    pub before: Vec<String>,
    pub since: Vec<String>,
    /// `until=` times, already resolved.
    pub until: Vec<jiff::Timestamp>,
    /// `reference=PATTERN` (and the `REPOSITORY[:TAG]` argument): any may match.
    pub references: Vec<String>,
}

/// Why listing failed, in Docker's words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImagesError {
    #[error("{0}")]
    Filter(#[from] FilterError),
    #[error("{0}")]
    Lookup(#[from] LookupError),
}

impl ImageFilters {
    /// Parses `--filter` flags; `now` anchors durations (`until=24h`).
    pub fn parse(flags: &[String], now: jiff::Timestamp) -> Result<Self, FilterError> {
        let mut out = Self::default();
        for (key, value) in filters::parse_flags(flags)? {
            match key.as_str() {
                "dangling" => {
                    let v = if value.eq_ignore_ascii_case("true") || value == "1" {
                        true
                    } else if value.eq_ignore_ascii_case("false") || value == "0" {
                        false
                    } else {
                        return Err(FilterError::InvalidKey(format!("dangling={value}")));
                    };
                    // Docker: any true value wins.
                    out.dangling = Some(out.dangling.unwrap_or(false) || v);
                }
                "label" => out.labels.push(value),
                "before" => out.before.push(value),
                "since" => out.since.push(value),
                "until" => out.until.push(filters::parse_time(&value, now)?),
                "reference" => {
                    filters::check_pattern("reference", &value)?;
                    out.references.push(value);
                }
                _ => return Err(FilterError::InvalidKey(key)),
            }
        }
        Ok(out)
    }
}

/// Lists the images of `state` that pass `filters`, newest first (as Docker sorts),
/// each with only the names that pass the `reference` filter, sorted as Docker lists
/// them (lexically on the full name). A dangling image keeps no name.
pub fn list<'s>(state: &'s State, filters: &ImageFilters) -> Result<Vec<Image<'s>>, ImagesError> {
    let created = |image: &Image<'_>| {
        image
            .record
            .created
            .as_deref()
            .and_then(|c| c.parse::<jiff::Timestamp>().ok())
    };
    // Several values mean all of them: the oldest `before`, the newest `since`.
    let mut before: Option<jiff::Timestamp> = None;
    for what in &filters.before {
        if let Some(t) = created(&resolve_image(state, what)?) {
            before = Some(before.map_or(t, |b| b.min(t)));
        }
    }
    for &t in &filters.until {
        before = Some(before.map_or(t, |b| b.min(t)));
    }
    let mut since: Option<jiff::Timestamp> = None;
    for what in &filters.since {
        if let Some(t) = created(&resolve_image(state, what)?) {
            since = Some(since.map_or(t, |s| s.max(t)));
        }
    }
    let dangling_only = filters.dangling == Some(true);

    let mut out = Vec::new();
    for mut image in state.images() {
        let c = created(&image);
        if before.is_some_and(|b| c.is_none_or(|c| c >= b)) {
            continue;
        }
        if since.is_some_and(|s| c.is_none_or(|c| c <= s)) {
            continue;
        }
        if !filters.labels.is_empty() && !labels_match(&filters.labels, &image.record.labels) {
            continue;
        }
        let had_names = !image.names.is_empty();
        if !filters.references.is_empty() {
            image.names.retain(|n| {
                filters
                    .references
                    .iter()
                    .any(|p| reference_matches(p, n).unwrap_or(false))
            });
        }
        if image.names.is_empty() {
            // Tagged, but no tag passes the reference filter.
            if had_names {
                continue;
            }
            if filters.dangling == Some(false) || !filters.references.is_empty() {
                continue;
            }
        } else if dangling_only {
            continue;
        }
        image.names.sort_by_key(Reference::to_string);
        out.push((c, image));
    }
    // Newest first; the sort is stable, so equal times keep the index's order.
    out.sort_by_key(|(c, _)| std::cmp::Reverse(*c));
    Ok(out.into_iter().map(|(_, i)| i).collect())
}

/// The repository digests of `image` that pass the `reference` filters, as the daemon
/// hands them to `docker images`: the recorded `name@digest`s (the ones that do not
/// parse are skipped) and the image's names that carry a digest.
pub fn repo_digests(image: &Image<'_>, filters: &ImageFilters) -> Vec<Reference> {
    let recorded = image
        .record
        .repo_digests
        .iter()
        .filter_map(|s| Reference::parse_normalized(s).ok());
    let named = image.names.iter().cloned();
    let mut out: Vec<Reference> = Vec::new();
    for r in recorded.chain(named) {
        if r.digest().is_none() || r.tag().is_some() || out.contains(&r) {
            continue;
        }
        let passes = filters.references.is_empty()
            || filters
                .references
                .iter()
                .any(|p| reference_matches(p, &r).unwrap_or(false));
        if passes {
            out.push(r);
        }
    }
    out
}
