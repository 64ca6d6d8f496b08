//! Credentials as Docker and podman keep them: `config.json` (`auths`, `credsStore`,
//! `credHelpers` through the `docker-credential-*` helper protocol) and podman's
//! `auth.json`, consulted in the order registries.conf's `credential-helpers` gives
//! ([`CredentialSources::helpers`]: `containers-auth.json` for those files, any other
//! NAME for `docker-credential-NAME`). Secrets never reach `Debug` or `Display`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::ClientError;

/// A credential for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken {
        token: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => {
                write!(
                    f,
                    "Basic {{ username: {username:?}, password: <redacted> }}"
                )
            }
            Credential::IdentityToken { .. } => write!(f, "IdentityToken {{ <redacted> }}"),
        }
    }
}

/// The name registries.conf's `credential-helpers` gives the auth files
/// (containers-auth.json(5): `auth.json`, Docker's `config.json`).
pub const AUTH_FILES_HELPER: &str = "containers-auth.json";

/// Where credentials are looked up.
#[derive(Debug, Clone, Default)]
pub struct CredentialSources {
    /// Docker's `config.json`.
    pub docker_config: Option<PathBuf>,
    /// podman's `auth.json` files, in order.
    pub auth_files: Vec<PathBuf>,
    /// registries.conf's `credential-helpers`: the order of the places asked, the
    /// first credential found wins. [`AUTH_FILES_HELPER`] is the files above (with
    /// `config.json`'s own `credsStore`/`credHelpers`); any other NAME is the
    /// `docker-credential-NAME` program, asked for the registry's host. Empty means
    /// the files alone.
    pub helpers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The key Docker uses for Docker Hub in `config.json`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Docker's key for a registry host (`docker.io` → the Hub's legacy URL).
pub fn config_key(registry: &str) -> String {
    if is_docker_hub(registry) {
        DOCKER_HUB_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
    )
}

/// `https://host:port/v1/` → `host:port`, as Docker's `ConvertToHostname`.
fn hostname_of(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

impl CredentialSources {
    /// Docker's and podman's usual places: `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`; `$REGISTRY_AUTH_FILE`, then
    /// `$XDG_RUNTIME_DIR/containers/auth.json`.
    pub fn from_env() -> Self {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let docker_config = env("DOCKER_CONFIG")
            .map(|d| d.join("config.json"))
            .or_else(|| env("HOME").map(|h| h.join(".docker/config.json")));
        let mut auth_files = Vec::new();
        if let Some(f) = env("REGISTRY_AUTH_FILE") {
            auth_files.push(f);
        }
        if let Some(r) = env("XDG_RUNTIME_DIR") {
            auth_files.push(r.join("containers/auth.json"));
        }
        Self {
            docker_config,
            auth_files,
            helpers: Vec::new(),
        }
    }

    /// These sources, asked in the order of `helpers` (registries.conf's
    /// `credential-helpers`).
    pub fn with_helpers(mut self, helpers: Vec<String>) -> Self {
        self.helpers = helpers;
        self
    }

    /// The credential for `registry` (a host as in a reference: `docker.io`,
    /// `localhost:5000`), from the first of [`CredentialSources::helpers`] that has
    /// one. Warnings (a helper that is not installed, a source that failed before a
    /// later one answered) are returned beside the answer, which is anonymous when no
    /// source has a credential. When none has one and a source failed, its error is
    /// returned, as containers/image does.
    pub fn get(&self, registry: &str) -> Result<(Option<Credential>, Vec<String>), ClientError> {
        let default = [AUTH_FILES_HELPER.to_owned()];
        let helpers = if self.helpers.is_empty() {
            &default[..]
        } else {
            &self.helpers[..]
        };
        let mut warnings = Vec::new();
        let mut failed: Option<ClientError> = None;
        for helper in helpers {
            let found = if helper == AUTH_FILES_HELPER {
                self.in_auth_files(registry, &mut warnings)
            } else {
                match helper_get(helper, registry) {
                    Ok(c) => Ok(c),
                    Err(HelperError::NotInstalled) => {
                        warnings.push(format!(
                            "credential helper docker-credential-{helper} (in registries.conf's credential-helpers) is not installed; skipping it for {registry}"
                        ));
                        Ok(None)
                    }
                    Err(HelperError::Failed(reason)) => Err(ClientError::CredentialHelper {
                        helper: helper.clone(),
                        reason,
                    }),
                }
            };
            match found {
                Ok(Some(c)) => {
                    if let Some(e) = failed {
                        warnings.push(format!("{e}; used the next credential source"));
                    }
                    return Ok((Some(c), warnings));
                }
                Ok(None) => {}
                Err(e) => {
                    if failed.is_none() {
                        failed = Some(e);
                    }
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((None, warnings)),
        }
    }

    /// The auth files' answer (`containers-auth.json`): an explicit
    /// `$REGISTRY_AUTH_FILE`, Docker's `config.json` (with its helpers), then podman's
    /// `auth.json`.
    fn in_auth_files(
        &self,
        registry: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Credential>, ClientError> {
        // An explicit REGISTRY_AUTH_FILE wins, as in podman.
        let (explicit, rest) = match std::env::var_os("REGISTRY_AUTH_FILE") {
            Some(_) if !self.auth_files.is_empty() => self.auth_files.split_at(1),
            _ => (&[][..], &self.auth_files[..]),
        };
        for f in explicit {
            if let Some(c) = from_auth_file(f, registry)? {
                return Ok(Some(c));
            }
        }
        if let Some(path) = &self.docker_config
            && let Some(config) = read_config(path)?
        {
            let helper = config
                .cred_helpers
                .iter()
                .find(|(k, _)| {
                    hostname_of(k) == registry
                        || (is_docker_hub(registry) && is_docker_hub(hostname_of(k)))
                })
                .map(|(_, v)| v.clone())
                .or_else(|| config.creds_store.clone().filter(|s| !s.is_empty()));
            if let Some(helper) = helper {
                match helper_get(&helper, &config_key(registry)) {
                    Ok(c) => return Ok(c),
                    Err(HelperError::NotInstalled) => warnings.push(format!(
                        "credential helper docker-credential-{helper} (set in {}) is not installed; continuing without credentials for {registry}",
                        path.display()
                    )),
                    Err(HelperError::Failed(reason)) => {
                        return Err(ClientError::CredentialHelper { helper, reason });
                    }
                }
            } else if let Some(c) = entry_for(&config, registry, path)? {
                return Ok(Some(c));
            }
        }
        for f in rest {
            if let Some(c) = from_auth_file(f, registry)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

fn read_config(path: &Path) -> Result<Option<ConfigFile>, ClientError> {
    match fs_err::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClientError::Config {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::Config {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

fn from_auth_file(path: &Path, registry: &str) -> Result<Option<Credential>, ClientError> {
    match read_config(path)? {
        Some(c) => entry_for(&c, registry, path),
        None => Ok(None),
    }
}

fn entry_for(
    config: &ConfigFile,
    registry: &str,
    path: &Path,
) -> Result<Option<Credential>, ClientError> {
    let entry = config.auths.get(&config_key(registry)).or_else(|| {
        config.auths.iter().find_map(|(k, v)| {
            let h = hostname_of(k);
            (h == registry || (is_docker_hub(registry) && is_docker_hub(h))).then_some(v)
        })
    });
    let Some(entry) = entry else { return Ok(None) };
    if let Some(token) = entry.identitytoken.clone().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::IdentityToken { token }));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = |why: &str| ClientError::Config {
            path: path.display().to_string(),
            reason: format!("the auth entry for {registry} {why}"),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad("is not valid base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("is not UTF-8"))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad("is not of the form user:password"))?;
        return Ok(Some(Credential::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credential::Basic {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

enum HelperError {
    NotInstalled,
    Failed(String),
}

/// `docker-credential-HELPER get`, server URL on stdin.
fn helper_get(helper: &str, server: &str) -> Result<Option<Credential>, HelperError> {
    let program = format!("docker-credential-{helper}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(HelperError::NotInstalled);
        }
        Err(e) => return Err(HelperError::Failed(e.to_string())),
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| HelperError::Failed(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The protocol's "not found" answer.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = if stdout.trim().is_empty() {
            stderr
        } else {
            stdout
        };
        return Err(HelperError::Failed(msg.trim().to_owned()));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout)
        .map_err(|e| HelperError::Failed(format!("unreadable reply: {e}")))?;
    if reply.username == "<token>" {
        return Ok(Some(Credential::IdentityToken {
            token: reply.secret,
        }));
    }
    Ok(Some(Credential::Basic {
        username: reply.username,
        password: reply.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(json: &str) -> (tempfile::TempDir, CredentialSources) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs_err::write(&path, json).unwrap();
        (
            dir,
            CredentialSources {
                docker_config: Some(path),
                auth_files: Vec::new(),
                helpers: Vec::new(),
            },
        )
    }

    #[test]
    fn auths_entries() {
        let (_d, s) = sources(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"localhost:5000":{"identitytoken":"tok"},"https://reg.example.com/v2/":{"username":"u","password":"p"}}}"#,
        );
        assert_eq!(
            s.get("docker.io").unwrap().0,
            Some(Credential::Basic {
                username: "user".into(),
                password: "pass".into()
            })
        );
        assert_eq!(
            s.get("localhost:5000").unwrap().0,
            Some(Credential::IdentityToken {
                token: "tok".into()
            })
        );
        assert_eq!(
            s.get("reg.example.com").unwrap().0,
            Some(Credential::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(s.get("other.example.com").unwrap().0, None);
    }

    #[test]
    fn missing_helper_warns_and_goes_anonymous() {
        let (_d, s) = sources(r#"{"credsStore":"lade-test-nonexistent-helper"}"#);
        let (cred, warnings) = s.get("docker.io").unwrap();
        assert_eq!(cred, None);
        assert!(warnings[0].contains("docker-credential-lade-test-nonexistent-helper"));
    }

    #[test]
    fn corrupt_config_is_an_error_naming_the_file() {
        let (_d, s) = sources("{not json");
        let e = s.get("docker.io").unwrap_err().to_string();
        assert!(e.contains("config.json"), "{e}");
        let (_d, s) = sources(r#"{"auths":{"docker.io":{"auth":"!!!"}}}"#);
        assert!(
            s.get("docker.io")
                .unwrap_err()
                .to_string()
                .contains("base64")
        );
    }

    #[test]
    fn credential_helpers_give_the_order_of_the_sources() {
        let (_d, files) = sources(r#"{"auths":{"reg.example.com":{"auth":"dXNlcjpwYXNz"}}}"#);
        let user = Some(Credential::Basic {
            username: "user".into(),
            password: "pass".into(),
        });
        let with = |helpers: &[&str]| {
            files
                .clone()
                .with_helpers(helpers.iter().map(|h| (*h).to_owned()).collect())
        };
        // The default and the explicit name of the files.
        assert_eq!(
            with(&[]).get("reg.example.com").unwrap(),
            (user.clone(), vec![])
        );
        assert_eq!(
            with(&[AUTH_FILES_HELPER]).get("reg.example.com").unwrap().0,
            user
        );
        // A helper that is not installed is skipped with a warning, the files answer.
        let (cred, warnings) = with(&["lade-test-missing", AUTH_FILES_HELPER])
            .get("reg.example.com")
            .unwrap();
        assert_eq!(cred, user);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("docker-credential-lade-test-missing (in registries.conf's credential-helpers) is not installed"),
            "{warnings:?}"
        );
        // Files not listed are not read: anonymous.
        let (cred, warnings) = with(&["lade-test-missing"]).get("reg.example.com").unwrap();
        assert_eq!(cred, None);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn a_failing_source_is_an_error_only_when_no_other_answers() {
        // (A helper answering after a failure is tested with a real helper program in
        // the CLI's registries_conf tests.)
        let (_d, corrupt) = sources("{not json");
        // Nothing answers after the failure: its error.
        let e = corrupt
            .with_helpers(vec![AUTH_FILES_HELPER.into(), "lade-test-missing".into()])
            .get("reg.example.com")
            .unwrap_err();
        assert!(e.to_string().contains("config.json"), "{e}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let t = Credential::IdentityToken {
            token: "s3cret".into(),
        };
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}

/// Where `login` saved a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// In `config.json`, base64-encoded but not encrypted.
    ConfigFile(PathBuf),
    /// Through `docker-credential-HELPER store`.
    Helper(String),
}

impl CredentialSources {
    /// The helper configured for `registry` (`credHelpers`, else `credsStore`).
    fn helper_for(&self, registry: &str) -> Result<Option<String>, ClientError> {
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let Some(config) = read_config(path)? else {
            return Ok(None);
        };
        Ok(config
            .cred_helpers
            .iter()
            .find(|(k, _)| hostname_of(k) == registry)
            .map(|(_, v)| v.clone())
            .or(config.creds_store.filter(|s| !s.is_empty())))
    }

    /// Saves a credential where Docker would: through the configured helper, else in
    /// `config.json` (mode 0600, other keys kept, written atomically).
    pub fn store(&self, registry: &str, credential: &Credential) -> Result<Saved, ClientError> {
        let key = config_key(registry);
        if let Some(helper) = self.helper_for(registry)? {
            let (username, secret) = match credential {
                Credential::Basic { username, password } => (username.as_str(), password.as_str()),
                Credential::IdentityToken { token } => ("<token>", token.as_str()),
            };
            let payload =
                serde_json::json!({ "ServerURL": key, "Username": username, "Secret": secret });
            run_helper(&helper, "store", &payload.to_string())?;
            return Ok(Saved::Helper(helper));
        }
        let path = self.config_path()?;
        self.edit_config(&path, |auths| {
            let entry = match credential {
                Credential::Basic { username, password } => serde_json::json!({
                    "auth": base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
                }),
                Credential::IdentityToken { token } => serde_json::json!({ "auth": "", "identitytoken": token }),
            };
            auths.insert(key.clone(), entry);
        })?;
        Ok(Saved::ConfigFile(path))
    }

    /// Removes the credential of `registry`; false when there was none.
    pub fn erase(&self, registry: &str) -> Result<bool, ClientError> {
        let key = config_key(registry);
        if let Some(helper) = self.helper_for(registry)? {
            return match run_helper(&helper, "erase", &key) {
                Ok(_) => Ok(true),
                Err(ClientError::CredentialHelper { reason, .. })
                    if reason.contains("not found") =>
                {
                    Ok(false)
                }
                Err(e) => Err(e),
            };
        }
        let path = self.config_path()?;
        if !path.exists() {
            return Ok(false);
        }
        let mut removed = false;
        self.edit_config(&path, |auths| {
            let keys: Vec<String> = auths
                .keys()
                .filter(|k| {
                    k.as_str() == key
                        || hostname_of(k) == registry
                        || (is_docker_hub(registry) && is_docker_hub(hostname_of(k)))
                })
                .cloned()
                .collect();
            for k in keys {
                auths.remove(&k);
                removed = true;
            }
        })?;
        Ok(removed)
    }

    fn config_path(&self) -> Result<PathBuf, ClientError> {
        self.docker_config
            .clone()
            .ok_or_else(|| ClientError::Config {
                path: "config.json".into(),
                reason: "no place for Docker's config.json: set $DOCKER_CONFIG or $HOME".into(),
            })
    }

    /// Reads `config.json` as JSON (keeping every key), edits `auths`, writes it back
    /// atomically with mode 0600.
    fn edit_config(
        &self,
        path: &Path,
        edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> Result<(), ClientError> {
        let err = |reason: String| ClientError::Config {
            path: path.display().to_string(),
            reason,
        };
        let mut doc: serde_json::Value = match fs_err::read(path) {
            Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => {
                serde_json::from_slice(&b).map_err(|e| err(e.to_string()))?
            }
            Ok(_) => serde_json::json!({}),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
            Err(e) => return Err(err(e.to_string())),
        };
        let obj = doc
            .as_object_mut()
            .ok_or_else(|| err("it is not a JSON object".into()))?;
        let auths = obj
            .entry("auths")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .ok_or_else(|| err("its \"auths\" is not an object".into()))?;
        edit(auths);
        let dir = path.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".config.json")
            .tempfile_in(dir)
            .map_err(|e| err(e.to_string()))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| err(e.to_string()))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(|e| err(e.to_string()))?;
        tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
        tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
        Ok(())
    }
}

/// Runs `docker-credential-HELPER ACTION` with `input` on stdin; returns its stdout.
fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, ClientError> {
    let fail = |reason: String| ClientError::CredentialHelper {
        helper: helper.to_owned(),
        reason,
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let msg = if stdout.trim().is_empty() {
            String::from_utf8_lossy(&out.stderr).into_owned()
        } else {
            stdout
        };
        return Err(fail(msg.trim().to_owned()));
    }
    Ok(stdout)
}
