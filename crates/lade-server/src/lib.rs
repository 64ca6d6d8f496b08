//! `lade registry serve`: an OCI Distribution v1.1 registry over the local filesystem.
//!
//! One catch-all handler parses every path with [`route::parse`] (names may hold any
//! number of `/`), checks access, and calls one function per endpoint in
//! [`handlers`]. Every error is the spec's JSON envelope; internals are logged, never
//! sent. Blobs stream from and to disk with bounded memory.
//!
//! Architecture invariant: the only crate that knows axum; it does not depend on the
//! client store or on `lade-ops`.

mod auth;
mod config;
mod error;
pub mod gc;
mod handlers;
pub mod route;
mod search;
pub mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::{Access, Auth, AuthConfig};
pub use config::ServerConfig;
pub use storage::FsStorage;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    pub storage: FsStorage,
    pub auth: auth::Auth,
    pub(crate) uploads: std::sync::Mutex<std::collections::HashMap<String, handlers::UploadHash>>,
    pub(crate) metrics: handlers::Metrics,
    /// Log one line per request on stderr.
    pub access_log: bool,
}

impl AppState {
    pub fn new(storage: FsStorage, auth: auth::Auth) -> Self {
        Self {
            storage,
            auth,
            uploads: Default::default(),
            metrics: Default::default(),
            access_log: true,
        }
    }
}

/// The registry as an axum router (testable without a socket).
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .fallback(handlers::dispatch)
        .with_state(state)
}

/// Serves until `shutdown` resolves; in-flight requests finish first. Calls `ready` with
/// the bound address (port 0 picks a free port).
pub async fn serve(
    config: &ServerConfig,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let storage = FsStorage::open(&config.root).map_err(|e| ServeError::Storage {
        root: config.root.display().to_string(),
        source: e,
    })?;
    let auth = auth::Auth::from_config(&config.auth).map_err(ServeError::Auth)?;
    let mut state = AppState::new(storage, auth);
    state.access_log = config.access_log;
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .map_err(|e| ServeError::Bind {
            addr: config.addr.clone(),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Bind {
        addr: config.addr.clone(),
        source: e,
    })?;
    ready(addr);
    axum::serve(listener, app(Arc::new(state)))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::Bind {
            addr: addr.to_string(),
            source: e,
        })
}

pub(crate) fn handlers_json(
    status: axum::http::StatusCode,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Why the registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("failed to open the registry storage at {root}: {source}")]
    Storage {
        root: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid auth configuration: {0}")]
    Auth(String),
}
