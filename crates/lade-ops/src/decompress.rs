//! Sniffing and undoing the compression of an input stream: shared with archives, so
//! it lives in `lade-archive`.

pub(crate) use lade_archive::decompressed;
