//! `lade registry serve --config FILE`: the TOML configuration.
//!
//! ```toml
//! addr = "127.0.0.1:5000"
//! root = "/var/lib/lade-registry"
//! access_log = true
//!
//! [tls]                                # HTTPS from a certificate and its key (PEM)
//! cert = "/etc/lade/registry.crt"
//! key = "/etc/lade/registry.key"
//!
//! [auth]
//! htpasswd = "/etc/lade/htpasswd"      # bcrypt entries, as `htpasswd -B` writes them
//! anonymous_pull = ["public/*"]        # repositories anyone may pull
//! token = true                         # bearer tokens from /token instead of Basic
//!
//! [[auth.rules]]                       # without rules, every user may do everything
//! users = ["bob"]
//! repositories = ["team/*"]
//! actions = ["pull"]                   # pull, push, delete or *
//! ```
//!
//! With `[auth]` on, `/healthz` stays open (it carries no data). `/metrics` (request and
//! byte counters, no repository names, but the registry's activity) needs an
//! authenticated user: Basic credentials of any htpasswd user, in token mode too so that
//! a Prometheus scraper can use `basic_auth`, or a token issued to a user; never an
//! anonymous caller or an anonymous token. `/v2/_catalog` and `/v1/search` list only the
//! repositories the caller may pull.

use std::path::PathBuf;

use serde::Deserialize;

use crate::AuthConfig;

/// The registry's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_addr")]
    pub addr: String,
    #[serde(default)]
    pub root: PathBuf,
    #[serde(default = "yes")]
    pub access_log: bool,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// `[tls]`: serve HTTPS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

fn default_addr() -> String {
    "127.0.0.1:5000".into()
}

fn yes() -> bool {
    true
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: default_addr(),
            root: PathBuf::new(),
            access_log: true,
            auth: AuthConfig::default(),
            tls: None,
        }
    }
}

impl ServerConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
