//! Errors of the registry client, in the words Docker users know, each marked
//! temporary (worth retrying) or permanent.

use lade_reference::Digest;

/// One error from a registry's JSON error envelope (`{"errors":[…]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The spec's code, e.g. `MANIFEST_UNKNOWN`, `DENIED`, `TOOMANYREQUESTS`.
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    /// `manifest unknown: manifest unknown`, as Docker prints registry errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words = self.code.to_ascii_lowercase().replace('_', " ");
        if self.message.is_empty() {
            write!(f, "{words}")
        } else {
            write!(f, "{words}: {}", self.message)
        }
    }
}

/// What went wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("failed to connect to {host}: {source}")]
    Connect {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {host} failed: {source}")]
    Transport {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    /// A blob body read without the async client (see `blob_reader`) broke off.
    #[error("request to {host} failed: {source}")]
    Body {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Api(ApiError),
    #[error("{error}{}", remaining.as_deref().map(|r| format!(" (ratelimit-remaining: {r})")).unwrap_or_default())]
    TooManyRequests {
        error: ApiError,
        remaining: Option<String>,
    },
    #[error("unexpected HTTP status {status} from {url}")]
    Status { status: u16, url: String },
    #[error("{url} sent content that does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{url} sent {actual} bytes, expected {expected}")]
    SizeMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error("{what} from {url} is larger than the {limit} bytes lade accepts")]
    TooLarge {
        what: &'static str,
        url: String,
        limit: u64,
    },
    #[error("invalid response from {url}: {reason}")]
    Protocol { url: String, reason: String },
    #[error("authentication with {realm} failed: {reason}")]
    Auth { realm: String, reason: String },
    #[error("credential helper docker-credential-{helper} failed: {reason}")]
    CredentialHelper { helper: String, reason: String },
    #[error("failed to read {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("TLS setup for {host} failed: {reason}")]
    Tls { host: String, reason: String },
}

impl ClientError {
    /// True when the same request may succeed later: connection trouble, 5xx, 429.
    pub fn is_temporary(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::Transport { .. }
            | ClientError::Body { .. } => true,
            ClientError::TooManyRequests { .. } => true,
            ClientError::Status { status, .. } => *status >= 500,
            ClientError::Api(e) => e.status >= 500,
            // A body that was cut short is retried (with a Range request for blobs).
            ClientError::SizeMismatch {
                expected, actual, ..
            } => actual < expected,
            _ => false,
        }
    }

    /// The registry's error code, if the registry sent one.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            ClientError::Api(e) | ClientError::TooManyRequests { error: e, .. } => Some(&e.code),
            _ => None,
        }
    }

    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(e) | ClientError::TooManyRequests { error: e, .. } => Some(e.status),
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
