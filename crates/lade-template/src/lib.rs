//! Go templates for `--format` (being written).
