//! Image references and digests, parsed and normalized exactly as Docker does.
//!
//! This crate ports the grammar and normalization of
//! `github.com/distribution/reference` and the digest validation of
//! `github.com/opencontainers/go-digest` (v1.0.0). Error messages keep
//! Docker's wording.
//!
//! Architecture invariant: no I/O and no runtime. Strings in, values or typed
//! errors out, so every function here is easy to test and fuzz.
//!
//! ```
//! use lade_reference::Reference;
//!
//! let r: Reference = "redis:7".parse().unwrap();
//! assert_eq!(r.to_string(), "docker.io/library/redis:7");
//! assert_eq!(r.familiar(), "redis:7");
//! ```

mod digest;
mod error;
mod grammar;
mod reference;
mod tag;

pub use digest::{Algorithm, Digest, Hex, is_id_prefix};
pub use error::{DigestError, ReferenceError};
pub use reference::{DEFAULT_DOMAIN, REPOSITORY_PATH_MAX_LEN, Reference};
pub use tag::{DEFAULT_TAG, Tag};

/// True when `s` is a valid repository path as a registry sees it (`library/redis`,
/// `team/app`): lowercase path components joined by `/`, at most 255 characters. No
/// domain and no normalization: registries use this on the names in their URLs.
pub fn is_repository_path(s: &str) -> bool {
    !s.is_empty() && s.len() <= REPOSITORY_PATH_MAX_LEN && grammar::is_remote_name(s)
}

/// True when `s` is a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
pub fn is_tag(s: &str) -> bool {
    grammar::is_tag(s)
}

/// True when the first `/`-separated component of `s`, as the user typed it, names a
/// registry: Docker's rule in `splitDockerDomain` (it contains `.` or `:`, is
/// `localhost`, or has an uppercase letter), which podman's short-name check shares.
/// `redis`, `team/app` and `redis:7` are short names; `docker.io/redis`,
/// `localhost/app` and `registry:5000/app` are fully qualified.
///
/// ```
/// assert!(!lade_reference::names_registry("team/app:1"));
/// assert!(lade_reference::names_registry("localhost:5000/app"));
/// ```
pub fn names_registry(s: &str) -> bool {
    let Some((first, _)) = s.split_once('/') else {
        return false;
    };
    first == "localhost" || first.contains(['.', ':']) || first.chars().any(char::is_uppercase)
}
