//! lade's use cases over the local store. Each public function is one command's work;
//! none prints: results are returned as values, progress is reported through a trait.

pub mod change;
mod decompress;
pub mod import;
pub mod lookup;

pub use import::{ImportError, ImportOptions, Imported, import};
pub use lookup::{LookupError, resolve_image};
