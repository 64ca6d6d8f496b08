//! The registry client: OCI Distribution v1.1 / Docker Registry HTTP API v2 over
//! reqwest (rustls with ring), with Docker's auth flows and credential stores.
//!
//! Architecture invariants: this crate never writes the local store (it hands out
//! verified bytes and byte streams), it is the only crate that knows reqwest, and no
//! secret reaches a `Debug`/`Display` of its types or an error message.

mod auth;
mod blob_reader;
mod credentials;
mod error;
mod registries_conf;
mod registry;
mod transport;
mod upload;

pub use auth::{Challenge, parse_challenge};
pub use blob_reader::BlobReader;
pub use credentials::{
    AUTH_FILES_HELPER, Credential, CredentialSources, DOCKER_HUB_KEY, Saved, config_key,
};
pub use error::{ApiError, ClientError};
pub use registries_conf::{
    ConfError, ConfPaths, Mirror, PullFromMirror, PullSource, RegistriesConf, RegistryEntry,
    ResolveError, Resolved, ShortNameMode,
};
pub use registry::{
    BlobStream, CONFIG_LIMIT, FetchedManifest, MANIFEST_LIMIT, ManifestInfo, Registry, RetryPolicy,
    pull_scope,
};
pub use transport::{TransportConfig, is_loopback};
pub use upload::{CHUNK_SIZE, Mount, SearchResult, push_scope};

/// Re-exported so callers can stream bodies without naming reqwest.
pub use bytes::Bytes;
