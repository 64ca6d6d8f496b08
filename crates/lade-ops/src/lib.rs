//! lade's use cases over the local store. Each public function is one command's work;
//! none prints: results are returned as values, progress is reported through a trait.

pub mod change;
mod decompress;
pub mod df;
pub mod export;
pub mod filters;
pub mod history;
pub mod images;
pub mod import;
pub mod load;
pub mod lookup;
pub mod manifest;
pub mod manifest_list;
pub mod mount;
pub mod prune;
pub mod pull;
pub mod push;
mod remove;
pub mod rmi;
pub mod save;
pub mod search;
pub mod tag;
mod transfer;

pub use df::{DiskUsage, ImageUsage, disk_usage};
pub use filters::FilterError;
pub use history::{HistoryEntry, HistoryError, history};
pub use import::{ImportError, ImportOptions, Imported, import};
pub use lookup::{LookupError, resolve_image};
pub use prune::{
    PruneFilters, PruneOptions, PruneReport, SystemPruneReport, image_prune, system_prune,
};
pub use remove::{Freed, Removed};
pub use rmi::{RmiError, RmiOptions, RmiReport, rmi};
pub use tag::{TagError, tag};
pub use transfer::{NoProgress, TransferProgress};
