//! HTTP clients per registry: one TLS stack (rustls with ring), system roots plus the
//! registry's own CAs and client certificates from `certs.d`, and plain HTTP only for
//! loopback and registries marked insecure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ClientError;

/// How lade reaches registries.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Registries (`host[:port]`) that may be reached over plain HTTP or unverified TLS.
    pub insecure_registries: Vec<String>,
    /// `--tls-verify=false`: every registry is treated as insecure.
    pub tls_verify: bool,
    /// Directories holding `HOST[:PORT]/ca.crt`, `client.cert`, `client.key`.
    pub certs_dirs: Vec<PathBuf>,
    /// User-Agent sent with every request.
    pub user_agent: String,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            tls_verify: true,
            certs_dirs: vec![
                PathBuf::from("/etc/docker/certs.d"),
                PathBuf::from("/etc/containers/certs.d"),
            ],
            user_agent: concat!("lade/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// How long connecting to a registry may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a registry may stay silent in the middle of an answer.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// True for `localhost`, `127.0.0.0/8` and `::1`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl TransportConfig {
    /// Lets `host` be reached over plain HTTP or unverified TLS from now on.
    pub fn mark_insecure(&mut self, host: &str) {
        if !self.insecure_registries.iter().any(|h| h == host) {
            self.insecure_registries.push(host.to_owned());
        }
    }

    /// Whether `host` may be reached without verified TLS.
    /// Loopback is insecure as in Docker, unless the user gave it a CA in `certs.d`:
    /// then its certificate is verified against that CA.
    pub fn is_insecure(&self, host: &str) -> bool {
        !self.tls_verify
            || self.insecure_registries.iter().any(|r| r == host)
            || (is_loopback(host) && !self.has_certs_for(host))
    }

    fn has_certs_for(&self, host: &str) -> bool {
        self.certs_dirs
            .iter()
            .any(|d| host_files(&d.join(host), "crt").is_ok_and(|f| !f.is_empty()))
    }

    /// An HTTP client for `host`, and the TLS configuration it uses (for the blocking
    /// blob reads of `blob_reader`, which offer HTTP/1.1 alone).
    pub(crate) fn client_for(
        &self,
        host: &str,
    ) -> Result<(reqwest::Client, rustls::ClientConfig), ClientError> {
        let mut config = self.tls_config(host)?;
        let mut blocking = config.clone();
        blocking.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .user_agent(&self.user_agent)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| ClientError::Tls {
                host: host.to_owned(),
                reason: e.to_string(),
            })?;
        Ok((client, blocking))
    }

    /// Verification as `host` needs it (none for an insecure one), its CAs and client
    /// certificate; no ALPN.
    fn tls_config(&self, host: &str) -> Result<rustls::ClientConfig, ClientError> {
        let tls_err = |reason: String| ClientError::Tls {
            host: host.to_owned(),
            reason,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?;
        let builder = if self.is_insecure(host) {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            for cert in system_roots() {
                let _ = roots.add(cert.clone());
            }
            for dir in &self.certs_dirs {
                for ca in host_files(&dir.join(host), "crt")? {
                    for cert in read_certs(&ca)? {
                        roots
                            .add(cert)
                            .map_err(|e| tls_err(format!("{}: {e}", ca.display())))?;
                    }
                }
            }
            builder.with_root_certificates(roots)
        };
        Ok(match self.client_cert(host)? {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| tls_err(e.to_string()))?,
            None => builder.with_no_client_auth(),
        })
    }

    fn client_cert(
        &self,
        host: &str,
    ) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, ClientError> {
        for dir in &self.certs_dirs {
            if let Some(cert_path) = host_files(&dir.join(host), "cert")?.into_iter().next() {
                let key_path = cert_path.with_extension("key");
                let certs = read_certs(&cert_path)?;
                let key_pem = fs_err::read(&key_path).map_err(|e| ClientError::Tls {
                    host: host.to_owned(),
                    reason: format!("client certificate {} has no key: {e}", cert_path.display()),
                })?;
                let key = rustls_pemfile::private_key(&mut &key_pem[..])
                    .ok()
                    .flatten()
                    .ok_or_else(|| ClientError::Tls {
                        host: host.to_owned(),
                        reason: format!("{} holds no private key", key_path.display()),
                    })?;
                return Ok(Some((certs, key)));
            }
        }
        Ok(None)
    }
}

fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Files in `dir` with the given extension, sorted; none when `dir` does not exist.
fn host_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, ClientError> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    Ok(out)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let pem = fs_err::read(path).map_err(|e| ClientError::Tls {
        host: path.display().to_string(),
        reason: e.to_string(),
    })?;
    rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Tls {
            host: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// Accepts any server certificate: only for registries the user marked insecure (and
/// loopback), exactly as Docker's and podman's `insecure` does.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "docker.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "128.0.0.1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
