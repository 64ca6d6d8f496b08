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
pub mod check;
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
pub use config::{ServerConfig, TlsConfig};
pub use storage::{Finish, FsStorage};

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    pub storage: FsStorage,
    pub auth: auth::Auth,
    pub(crate) uploads: std::sync::Mutex<std::collections::HashMap<String, handlers::UploadHash>>,
    pub(crate) metrics: handlers::Metrics,
    /// Log one line per request on stderr.
    pub access_log: bool,
    /// Served over HTTPS (token realms then say `https://`).
    pub tls: bool,
}

impl AppState {
    pub fn new(storage: FsStorage, auth: auth::Auth) -> Self {
        Self {
            storage,
            auth,
            uploads: Default::default(),
            metrics: Default::default(),
            access_log: true,
            tls: false,
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
    state.tls = config.tls.is_some();
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
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
    let router = app(Arc::new(state));
    match tls {
        None => axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ServeError::Bind {
                addr: addr.to_string(),
                source: e,
            }),
        Some(acceptor) => serve_tls(listener, acceptor, router, shutdown).await,
    }
}

/// Loads the certificate chain and key into a TLS acceptor (rustls with ring, HTTP/2
/// and HTTP/1.1 by ALPN).
fn tls_acceptor(c: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    let err = |reason: String| ServeError::Tls(reason);
    let certs =
        rustls_pemfile::certs(&mut &fs_err::read(&c.cert).map_err(|e| err(e.to_string()))?[..])
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("{}: {e}", c.cert.display())))?;
    if certs.is_empty() {
        return Err(err(format!("{} holds no certificate", c.cert.display())));
    }
    let key = rustls_pemfile::private_key(
        &mut &fs_err::read(&c.key).map_err(|e| err(e.to_string()))?[..],
    )
    .ok()
    .flatten()
    .ok_or_else(|| err(format!("{} holds no private key", c.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            err(format!(
                "{} and {} do not form a usable pair: {e}",
                c.cert.display(),
                c.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The accept loop for HTTPS: a TLS handshake per connection, then hyper; on shutdown,
/// stop accepting and let open connections finish (up to 30 s).
async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        let acceptor = acceptor.clone();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let _ = watcher.watch(conn.into_owned()).await;
        });
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
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
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
}
