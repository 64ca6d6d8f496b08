//! Exit codes: the only place they are defined. They follow the Docker CLI.

/// The command did what was asked.
pub const SUCCESS: i32 = 0;
/// The command failed (Docker's generic failure).
pub const FAILURE: i32 = 1;
/// The command line could not be parsed (Docker exits 125 for flag errors).
pub const USAGE: i32 = 125;
/// `inspect` was given a `--format` that does not parse (Docker's `docker inspect`
/// exits 64, sysexits' EX_USAGE, there; the list commands exit 1).
pub const INSPECT_TEMPLATE: i32 = 64;
