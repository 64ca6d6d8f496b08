//! Access control: open by default; `htpasswd` (bcrypt) basic auth with per-repository
//! anonymous pull.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The `[auth]` table of the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// An htpasswd file with bcrypt entries; without it the registry is open.
    #[serde(default)]
    pub htpasswd: Option<PathBuf>,
    /// Repository patterns (`name`, `team/*`, `*`) anyone may pull without credentials.
    #[serde(default)]
    pub anonymous_pull: Vec<String>,
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
    Delete,
    /// `/v2/`, `_catalog`, search: any authenticated user.
    Any,
}

/// The loaded access rules.
#[derive(Debug, Default)]
pub struct Auth {
    users: HashMap<String, String>,
    anonymous_pull: Vec<String>,
    enabled: bool,
    /// Successful checks, so bcrypt (slow on purpose) runs once per credential.
    cache: Mutex<HashMap<[u8; 32], Instant>>,
}

/// The outcome of checking a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No or wrong credentials: 401 with a challenge.
    Unauthenticated,
}

impl Auth {
    pub fn from_config(c: &AuthConfig) -> Result<Self, String> {
        let mut users = HashMap::new();
        if let Some(path) = &c.htpasswd {
            let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (user, hash) = line
                    .split_once(':')
                    .ok_or_else(|| format!("{}:{}: expected user:hash", path.display(), n + 1))?;
                if !hash.starts_with("$2") {
                    return Err(format!(
                        "{}:{}: only bcrypt entries are supported (htpasswd -B)",
                        path.display(),
                        n + 1
                    ));
                }
                users.insert(user.to_owned(), hash.to_owned());
            }
        }
        Ok(Self {
            enabled: c.htpasswd.is_some(),
            users,
            anonymous_pull: c.anonymous_pull.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Checks the `Authorization` header for `access` to `repo`.
    pub fn check(
        &self,
        authorization: Option<&str>,
        access: Access,
        repo: Option<&str>,
    ) -> Verdict {
        if !self.enabled {
            return Verdict::Allowed;
        }
        // Credentials that are sent are checked, even where anonymous pull is allowed; empty
        // ones (skopeo sends `Basic Og==` when it has none) are anonymous.
        let anonymous = authorization
            .is_none_or(|h| parse_basic(h).is_some_and(|(u, p)| u.is_empty() && p.is_empty()));
        if anonymous
            && access == Access::Pull
            && let Some(repo) = repo
            && self.anonymous_pull.iter().any(|p| pattern_matches(p, repo))
        {
            return Verdict::Allowed;
        }
        match authorization.and_then(parse_basic) {
            Some((user, password)) if self.verify(&user, &password) => Verdict::Allowed,
            _ => Verdict::Unauthenticated,
        }
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key: [u8; 32] = Sha256::digest(format!("{user}\0{password}\0{hash}")).into();
        if let Ok(cache) = self.cache.lock()
            && cache
                .get(&key)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(300))
        {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok && let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, Instant::now());
        }
        ok
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// `*` matches everything, `team/*` everything under `team/`, else an exact name.
pub fn pattern_matches(pattern: &str, repo: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => repo.starts_with(prefix),
        None => pattern == repo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "a/b"));
        assert!(pattern_matches("team/*", "team/app"));
        assert!(!pattern_matches("team/*", "teams/app"));
        assert!(pattern_matches("app", "app"));
        assert!(!pattern_matches("app", "app2"));
    }

    #[test]
    fn basic_auth_with_bcrypt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        fs_err::write(&path, format!("alice:{hash}\n")).unwrap();
        let auth = Auth::from_config(&AuthConfig {
            htpasswd: Some(path),
            anonymous_pull: vec!["public/*".into()],
        })
        .unwrap();
        let header = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        assert_eq!(
            auth.check(Some(&header("alice", "s3cret")), Access::Push, Some("x")),
            Verdict::Allowed
        );
        assert_eq!(
            auth.check(Some(&header("alice", "wrong")), Access::Pull, Some("x")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            auth.check(Some(&header("bob", "s3cret")), Access::Pull, Some("x")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            auth.check(None, Access::Pull, Some("x")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            auth.check(None, Access::Pull, Some("public/a")),
            Verdict::Allowed
        );
        assert_eq!(
            auth.check(None, Access::Push, Some("public/a")),
            Verdict::Unauthenticated
        );
        assert_eq!(
            auth.check(Some("Basic !!!"), Access::Any, None),
            Verdict::Unauthenticated
        );
    }
}
