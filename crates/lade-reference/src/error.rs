//! Errors for parsing digests, tags and references.
//!
//! The messages are Docker's own words (`distribution/reference` and
//! `opencontainers/go-digest` v1.0.0), because that is what users of the
//! docker CLI see and search for.

use thiserror::Error;

/// Why a string is not a valid digest (go-digest's `Digest.Validate`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DigestError {
    /// Not `algorithm:encoded`, or the encoded part has invalid characters
    /// (including uppercase hex).
    #[error("invalid checksum digest format")]
    InvalidFormat,
    /// The algorithm is known but the encoded part has the wrong length.
    #[error("invalid checksum digest length")]
    InvalidLength,
    /// Well-formed, but the algorithm is neither `sha256` nor `sha512`.
    #[error("unsupported digest algorithm")]
    Unsupported,
}

/// Why a string is not a valid image reference or tag.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The string does not match the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository part (after the domain, before any `:`) is not
    /// lowercase; carries that part, e.g. `library/Redis`.
    #[error("invalid reference format: repository name ({remote}) must be lowercase")]
    RemoteNameNotLowercase {
        /// The offending repository part, as Docker prints it.
        remote: String,
    },
    /// The reference would be valid if lowercased.
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    /// The reference is empty.
    #[error("repository name must have at least one component")]
    NameEmpty,
    /// The repository path is longer than 255 characters.
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// The whole input is a 64-character hex string, which would be
    /// mistaken for an image ID.
    #[error("invalid repository name ({name}), cannot specify 64-byte hexadecimal strings")]
    HexadecimalName {
        /// The input.
        name: String,
    },
    /// The tag does not match `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("invalid tag format")]
    InvalidTag,
    /// The digest does not match the reference grammar's digest production.
    #[error("invalid digest format")]
    InvalidDigestFormat,
    /// The digest matched the grammar but is not a valid digest.
    #[error(transparent)]
    Digest(#[from] DigestError),
}
