//! `lade history IMAGE`: the steps that made an image, from its config's `history`,
//! newest first, as `docker history` lists them.

use lade_oci::ImageConfig;
use lade_reference::Digest;
use lade_store::{State, Store, StoreError};

use crate::{LookupError, resolve_image};

/// One step of an image's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image ID on the newest step; `None` (Docker's `<missing>`) on the others,
    /// which are not images of their own.
    pub id: Option<Digest>,
    /// When the step ran, if the config says.
    pub created: Option<jiff::Timestamp>,
    pub created_by: String,
    /// The size of the layer the step made (uncompressed where known, as Docker counts
    /// it); 0 for a step that made no layer.
    pub size: u64,
    pub comment: String,
}

/// Why `history` failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Lookup(#[from] LookupError),
    #[error("the config of {image} is not valid JSON: {source}")]
    BadConfig {
        image: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The history of the image `what` (a name, ID or ID prefix), newest step first.
pub fn history(
    store: &Store,
    state: &State,
    what: &str,
) -> Result<Vec<HistoryEntry>, HistoryError> {
    let image = resolve_image(state, what)?;
    let bytes = store.read_blob(image.id())?;
    let config: ImageConfig =
        serde_json::from_slice(&bytes).map_err(|source| HistoryError::BadConfig {
            image: what.to_owned(),
            source,
        })?;
    let mut layers = image.record.layers.iter();
    let mut entries: Vec<HistoryEntry> = config
        .history
        .iter()
        .map(|h| HistoryEntry {
            id: None,
            created: h
                .created
                .as_deref()
                .and_then(|c| c.parse::<jiff::Timestamp>().ok()),
            created_by: h.created_by.clone().unwrap_or_default(),
            size: if h.empty_layer {
                0
            } else {
                layers.next().map_or(0, |l| l.shown_size())
            },
            comment: h.comment.clone().unwrap_or_default(),
        })
        .collect();
    entries.reverse();
    if let Some(top) = entries.first_mut() {
        top.id = Some(image.id().clone());
    }
    Ok(entries)
}
