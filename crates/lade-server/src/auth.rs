//! Access control: open by default; `htpasswd` (bcrypt) users, checked either on every
//! request (Basic) or once at the built-in token endpoint (`/token`), which issues
//! short-lived HMAC-signed bearer tokens whose scopes come from the configured rules
//! (per user, per repository pattern, per action). Anonymous pull can be allowed per
//! repository pattern.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The `[auth]` table of the configuration. Its `Debug` hides `token_secret`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// An htpasswd file with bcrypt entries; without it the registry is open.
    #[serde(default)]
    pub htpasswd: Option<PathBuf>,
    /// Repository patterns (`name`, `team/*`, `*`) anyone may pull without credentials.
    /// Docker asks for credentials as soon as `/v2/` challenges it, so Docker clients
    /// pull anonymously only in token mode (they get an anonymous token); lade and
    /// skopeo do in both modes.
    #[serde(default)]
    pub anonymous_pull: Vec<String>,
    /// Issue bearer tokens from `/token` instead of asking for Basic credentials.
    #[serde(default)]
    pub token: bool,
    /// Token lifetime in seconds (default 300).
    #[serde(default)]
    pub token_ttl: Option<u64>,
    /// The key tokens are signed with; share it between registry processes behind one
    /// load balancer. Random per process when unset.
    #[serde(default)]
    pub token_secret: Option<String>,
    /// Who may do what where. Without rules, every authenticated user may do everything.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("htpasswd", &self.htpasswd)
            .field("anonymous_pull", &self.anonymous_pull)
            .field("token", &self.token)
            .field("token_ttl", &self.token_ttl)
            .field(
                "token_secret",
                &self.token_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("rules", &self.rules)
            .finish()
    }
}

/// One access rule: these users may do these actions on these repositories.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// User names; `*` is any authenticated user.
    pub users: Vec<String>,
    /// Repository patterns (`name`, `team/*`, `*`).
    pub repositories: Vec<String>,
    /// `pull`, `push`, `delete` (or `*`).
    pub actions: Vec<String>,
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

/// The loaded access rules. Its `Debug` shows neither password hashes nor the token key.
#[derive(Default)]
pub struct Auth {
    users: HashMap<String, String>,
    anonymous_pull: Vec<String>,
    enabled: bool,
    token: bool,
    token_ttl: u64,
    secret: Vec<u8>,
    rules: Vec<Rule>,
    /// Successful checks, so bcrypt (slow on purpose) runs once per credential.
    cache: Mutex<HashMap<[u8; 32], Instant>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("Auth")
            .field("users", &users)
            .field("anonymous_pull", &self.anonymous_pull)
            .field("enabled", &self.enabled)
            .field("token", &self.token)
            .field("token_ttl", &self.token_ttl)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// The outcome of checking a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No or wrong credentials (or a token without the scope): 401 with a challenge.
    Unauthenticated,
    /// Authenticated, but the rules do not allow it: 403.
    Denied,
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
        let secret = match &c.token_secret {
            Some(s) if s.len() >= 16 => s.as_bytes().to_vec(),
            Some(_) => return Err("token_secret must be at least 16 characters".into()),
            None => random_key(),
        };
        if c.token && c.htpasswd.is_none() {
            return Err("token = true needs an htpasswd file to authenticate users".into());
        }
        Ok(Self {
            enabled: c.htpasswd.is_some(),
            users,
            anonymous_pull: c.anonymous_pull.clone(),
            token: c.token,
            token_ttl: c.token_ttl.unwrap_or(300).clamp(10, 86_400),
            secret,
            rules: c.rules.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// True when some repositories may be pulled without credentials.
    pub fn has_anonymous_pull(&self) -> bool {
        !self.anonymous_pull.is_empty()
    }

    /// True when clients must fetch bearer tokens from `/token`.
    pub fn token_mode(&self) -> bool {
        self.enabled && self.token
    }

    /// Whether `user` (None: anonymous) may do `access` on `repo`.
    fn permitted(&self, user: Option<&str>, access: Access, repo: Option<&str>) -> bool {
        let anonymous_ok = access == Access::Pull
            && repo.is_some_and(|r| self.anonymous_pull.iter().any(|p| pattern_matches(p, r)));
        let Some(user) = user else {
            return anonymous_ok;
        };
        if anonymous_ok || access == Access::Any || self.rules.is_empty() {
            return true;
        }
        let action = match access {
            Access::Pull => "pull",
            Access::Push => "push",
            Access::Delete => "delete",
            Access::Any => return true,
        };
        let Some(repo) = repo else { return false };
        self.rules.iter().any(|r| {
            r.users.iter().any(|u| u == "*" || u == user)
                && r.repositories.iter().any(|p| pattern_matches(p, repo))
                && r.actions.iter().any(|a| a == "*" || a == action)
        })
    }

    /// The user a Basic header names, when the password is right. `Ok(None)` for no (or
    /// empty) credentials, `Err(())` for wrong or unreadable ones.
    fn basic_user(&self, authorization: Option<&str>) -> Result<Option<String>, ()> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        match parse_basic(header) {
            Some((u, p)) if u.is_empty() && p.is_empty() => Ok(None),
            Some((u, p)) if self.verify(&u, &p) => Ok(Some(u)),
            _ => Err(()),
        }
    }

    /// The token endpoint: checks the Basic credentials (if any) and grants, of the
    /// requested scopes (`repository:NAME:pull,push`), what the rules allow. Returns the
    /// token and its lifetime; `Err` for wrong credentials.
    pub fn issue_token(
        &self,
        authorization: Option<&str>,
        scopes: &[String],
    ) -> Result<(String, u64), Verdict> {
        let user = self
            .basic_user(authorization)
            .map_err(|()| Verdict::Unauthenticated)?;
        let mut access = Vec::new();
        for scope in scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
        {
            let mut parts = scope.splitn(3, ':');
            let (Some(kind), Some(name), Some(actions)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            // A name the router would refuse is granted nothing (`public/../team/app`
            // must not match `public/*`).
            if kind != "repository" || !lade_reference::is_repository_path(name) {
                continue;
            }
            let granted: Vec<&str> = actions
                .split(',')
                .filter(|a| {
                    let want = match *a {
                        "pull" => Access::Pull,
                        "push" => Access::Push,
                        "delete" => Access::Delete,
                        _ => return false,
                    };
                    self.permitted(user.as_deref(), want, Some(name))
                })
                .collect();
            if !granted.is_empty() {
                access.push(serde_json::json!([name, granted]));
            }
        }
        let exp = now_secs() + self.token_ttl;
        let claims =
            serde_json::json!({ "sub": user.unwrap_or_default(), "exp": exp, "access": access });
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.sign(payload.as_bytes()));
        Ok((format!("{payload}.{sig}"), self.token_ttl))
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        use hmac::{KeyInit, Mac};
        let mut mac =
            <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).unwrap_or_else(|_| {
                <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(b"lade")
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
            });
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// The claims of a token this registry signed and that has not expired.
    fn token_claims(&self, token: &str) -> Option<serde_json::Value> {
        use hmac::{KeyInit, Mac};
        let (payload, sig) = token.split_once('.')?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let sig = b64.decode(sig).ok()?;
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).ok()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
        claims["exp"]
            .as_u64()
            .is_some_and(|exp| exp > now_secs())
            .then_some(claims)
    }

    /// Checks a bearer token against what the request needs.
    fn check_token(
        &self,
        authorization: Option<&str>,
        access: Access,
        repo: Option<&str>,
    ) -> Verdict {
        let token = authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let Some(token) = token else {
            return if self.permitted(None, access, repo) {
                Verdict::Allowed
            } else {
                Verdict::Unauthenticated
            };
        };
        let Some(claims) = self.token_claims(token) else {
            return Verdict::Unauthenticated;
        };
        let action = match access {
            Access::Any => return Verdict::Allowed,
            Access::Pull => "pull",
            Access::Push => "push",
            Access::Delete => "delete",
        };
        let Some(repo) = repo else {
            return Verdict::Unauthenticated;
        };
        let granted = claims["access"].as_array().is_some_and(|list| {
            list.iter().any(|e| {
                e[0].as_str() == Some(repo)
                    && e[1]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(action)))
            })
        });
        if granted {
            Verdict::Allowed
        } else {
            Verdict::Unauthenticated
        }
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
        if self.token {
            return self.check_token(authorization, access, repo);
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
        match self.basic_user(authorization) {
            Ok(Some(user)) if self.permitted(Some(&user), access, repo) => Verdict::Allowed,
            Ok(Some(_)) => Verdict::Denied,
            _ => Verdict::Unauthenticated,
        }
    }

    /// Who the credentials name: `Ok(None)` for none (or empty Basic ones, or an
    /// anonymous token), `Err(())` for wrong or unreadable ones. Basic credentials count
    /// in both modes; a bearer token (its signed subject) in token mode.
    fn identity(&self, authorization: Option<&str>) -> Result<Option<String>, ()> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        if let Some((scheme, token)) = header.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            let claims = self
                .token
                .then(|| self.token_claims(token.trim()))
                .flatten()
                .ok_or(())?;
            let sub = claims["sub"].as_str().unwrap_or_default();
            return Ok((!sub.is_empty()).then(|| sub.to_owned()));
        }
        self.basic_user(Some(header))
    }

    /// Which repositories a listing (`/v2/_catalog`, `/v1/search`) may name to the
    /// caller: those the rules let the user the credentials name pull (in token mode
    /// the token's subject, whatever scopes that token carries), or all when anyone
    /// may. The credentials are checked once, not once per repository.
    pub fn lister(&self, authorization: Option<&str>) -> impl Fn(&str) -> bool + '_ {
        // `None`: the credentials do not hold (then nothing is listed).
        let user = if self.enabled {
            self.identity(authorization).ok()
        } else {
            None
        };
        move |repo| {
            !self.enabled
                || user
                    .as_ref()
                    .is_some_and(|u| self.permitted(u.as_deref(), Access::Pull, Some(repo)))
        }
    }

    /// Whether the caller may read `/metrics`: anyone on an open registry, else any
    /// authenticated user, never an anonymous caller (see `config.rs`).
    pub fn may_read_metrics(&self, authorization: Option<&str>) -> bool {
        !self.enabled || matches!(self.identity(authorization), Ok(Some(_)))
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

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 32 bytes from the OS's random source.
fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    if let Ok(mut f) = fs_err::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut key);
    }
    key
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
    fn debug_output_hides_the_token_key_and_password_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let hash = bcrypt::hash("pw", 4).unwrap();
        fs_err::write(&htpasswd, format!("alice:{hash}\n")).unwrap();
        let config = AuthConfig {
            htpasswd: Some(htpasswd),
            token: true,
            token_secret: Some("a-very-secret-signing-key".into()),
            ..AuthConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-very-secret"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
        let auth = Auth::from_config(&config).unwrap();
        let shown = format!("{auth:?}");
        assert!(!shown.contains("a-very-secret"), "{shown}");
        assert!(shown.contains("alice") && !shown.contains(&hash), "{shown}");
    }

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
            ..AuthConfig::default()
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
