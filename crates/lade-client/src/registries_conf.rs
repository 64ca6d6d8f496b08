//! `registries.conf` as podman reads it (containers-registries.conf(5), version 2):
//! short-name resolution (`unqualified-search-registries`, `short-name-mode`,
//! `[aliases]`) and per-prefix registry settings (`[[registry]]` with `location`,
//! `prefix`, `insecure`, `blocked`, `[[registry.mirror]]`, `mirror-by-digest-only`,
//! `pull-from-mirror`).
//!
//! Which files ([`ConfPaths`]): `$CONTAINERS_REGISTRIES_CONF` alone when it is set;
//! else `~/.config/containers/registries.conf` when it exists, then the drop-ins of
//! `~/.config/containers/registries.conf.d/`; else `/etc/containers/registries.conf`,
//! then the drop-ins of `/etc/containers/registries.conf.d/` and of the user's folder.
//! Drop-ins (`*.conf`, in name order) override what came before: the search list and
//! the mode when they set them, registries by prefix, aliases by name. With no file at
//! all, or no search list, Docker's behaviour: a short name means `docker.io`.
//!
//! Besides those, the machine-maintained `short-name-aliases.conf` podman keeps (an
//! `[aliases]` table; `/var/cache/containers/` for root, `$XDG_CACHE_HOME/containers/`
//! or `~/.cache/containers/` otherwise, read even with `$CONTAINERS_REGISTRIES_CONF`):
//! its aliases win over every registries.conf file's, as containers/image's
//! `ResolveShortNameAlias` has it. lade reads it and never writes it (podman records an
//! alias only after prompting, and lade never prompts).
//!
//! `credential-helpers` (the order in which credentials are looked up:
//! `containers-auth.json` for the auth files, any other name for a
//! `docker-credential-NAME` helper) is kept for [`crate::CredentialSources`].
//!
//! Only [`RegistriesConf::load`] touches the disk; everything else is text in, values
//! or typed errors out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lade_reference::{Reference, ReferenceError, names_registry};
use serde::Deserialize;

/// What to do with a short name that several search registries could serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortNameMode {
    /// Refuse it (podman would prompt on a terminal; lade never prompts).
    Enforcing,
    /// Try each search registry in order (podman's default).
    #[default]
    Permissive,
    /// Try each search registry in order.
    Disabled,
}

/// Which pulls a mirror serves (`pull-from-mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullFromMirror {
    #[default]
    All,
    DigestOnly,
    TagOnly,
}

/// A `[[registry.mirror]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `host[:port][/namespace]` that replaces the registry's prefix.
    pub location: String,
    pub insecure: bool,
    pub pull_from_mirror: PullFromMirror,
}

/// A `[[registry]]`: settings for every reference under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    /// `host[:port][/namespace…]`, or `*.example.com` for subdomains.
    pub prefix: String,
    /// Where references under the prefix are really pulled from (the prefix is
    /// replaced by it); empty only for a wildcard prefix (no rewrite).
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror_by_digest_only: bool,
    pub mirrors: Vec<Mirror>,
    /// The file that defined it.
    pub origin: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Alias {
    /// The normalized name, or `None` when a later file reset the alias (`""`).
    value: Option<String>,
    origin: PathBuf,
}

/// The merged configuration of every file read.
#[derive(Debug, Clone, Default)]
pub struct RegistriesConf {
    /// `unqualified-search-registries` and the file that set it.
    search: Option<(Vec<String>, PathBuf)>,
    mode: Option<ShortNameMode>,
    aliases: BTreeMap<String, Alias>,
    /// The aliases of `short-name-aliases.conf`, which win over `aliases`.
    user_aliases: BTreeMap<String, Alias>,
    /// `credential-helpers`, as the last file that set it has it.
    credential_helpers: Option<Vec<String>>,
    /// By prefix.
    registries: BTreeMap<String, RegistryEntry>,
    files: Vec<PathBuf>,
}

/// Where the files are looked for.
#[derive(Debug, Clone)]
pub struct ConfPaths {
    /// `$CONTAINERS_REGISTRIES_CONF`: this file alone (and it must exist).
    pub env_file: Option<PathBuf>,
    /// `$HOME`, for `~/.config/containers/registries.conf{,.d}`.
    pub home: Option<PathBuf>,
    pub system_file: PathBuf,
    pub system_dir: PathBuf,
    /// podman's machine-maintained `short-name-aliases.conf` (see
    /// [`ConfPaths::short_name_aliases`]); read when it exists.
    pub aliases_file: Option<PathBuf>,
}

impl ConfPaths {
    /// The standard places, with the environment's overrides (no
    /// `short-name-aliases.conf`: set [`ConfPaths::aliases_file`]).
    pub fn new(env_file: Option<PathBuf>, home: Option<PathBuf>) -> Self {
        Self {
            env_file,
            home,
            system_file: PathBuf::from("/etc/containers/registries.conf"),
            system_dir: PathBuf::from("/etc/containers/registries.conf.d"),
            aliases_file: None,
        }
    }

    /// Where podman keeps `short-name-aliases.conf` (containers/image's
    /// `shortNameAliasesConfPath`): `/var/cache/containers/` for root, else the user's
    /// cache directory (`$XDG_CACHE_HOME`, or `~/.cache`); `None` when there is none.
    pub fn short_name_aliases(
        root: bool,
        xdg_cache_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Option<PathBuf> {
        const FILE: &str = "containers/short-name-aliases.conf";
        if root {
            return Some(Path::new("/var/cache").join(FILE));
        }
        xdg_cache_home
            .or_else(|| home.map(|h| h.join(".cache")))
            .map(|dir| dir.join(FILE))
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{} is not valid TOML: {reason}", path.display())]
    Syntax { path: PathBuf, reason: String },
    #[error("invalid registries configuration {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// A name that cannot be resolved, or a registry that may not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error(
        "short name {name:?} could be {}: short-name-mode is \"enforcing\" in {} and lade never prompts",
        candidates.join(" or "),
        origin.display()
    )]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
        origin: PathBuf,
    },
    #[error("registry {prefix} is blocked in registries.conf ({})", origin.display())]
    Blocked { prefix: String, origin: PathBuf },
    #[error("cannot rewrite {reference} to {location} as registries.conf asks: {source}")]
    Rewrite {
        reference: String,
        location: String,
        source: ReferenceError,
    },
}

impl ResolveError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ResolveError::Ambiguous {
                name, candidates, ..
            } => Some(format!(
                "name the registry (e.g. `{}`), or add an alias for {name:?} under [aliases] in registries.conf",
                candidates.first().map(String::as_str).unwrap_or_default()
            )),
            ResolveError::Blocked { origin, .. } => Some(format!(
                "remove `blocked = true` from that [[registry]] in {} to pull from it",
                origin.display()
            )),
            _ => None,
        }
    }
}

/// A short name resolved to the fully qualified references to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// With the user's tag or digest (none added).
    pub candidates: Vec<Reference>,
    /// podman's line about how the name was resolved (`Resolved "redis" as an alias
    /// (FILE)`, `Resolving "redis" using unqualified-search registries (FILE)`); `None`
    /// for a fully qualified name and for Docker's default.
    pub description: Option<String>,
}

/// One place to fetch a reference from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    /// The reference as that place names it (the prefix rewritten to its location).
    pub reference: Reference,
    /// `insecure = true` for that location.
    pub insecure: bool,
    /// A mirror (to be tried before the registry itself).
    pub mirror: bool,
}

// ---- the files as TOML ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    credential_helpers: Option<Vec<String>>,
    aliases: Option<BTreeMap<String, String>>,
    #[serde(default)]
    registry: Vec<RawRegistry>,
    /// The version 1 format (`[registries.search]` …).
    registries: Option<RawV1>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<RawMirror>,
    pull_from_mirror: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1 {
    search: Option<RawV1List>,
    insecure: Option<RawV1List>,
    block: Option<RawV1List>,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1List {
    #[serde(default)]
    registries: Vec<String>,
}

impl RawV1 {
    fn is_set(&self) -> bool {
        [&self.search, &self.insecure, &self.block]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| !l.registries.is_empty()))
    }
}

impl RegistriesConf {
    /// Docker's behaviour: no file, short names mean `docker.io`.
    pub fn docker_default() -> Self {
        Self::default()
    }

    /// Reads the files `paths` names (see the module's documentation).
    pub fn load(paths: &ConfPaths) -> Result<Self, ConfError> {
        let mut conf = Self::load_registries_conf(paths)?;
        if let Some(file) = &paths.aliases_file {
            match fs_err::read_to_string(file) {
                Ok(text) => conf.add_aliases_file(&text, file)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(conf)
    }

    /// registries.conf and its drop-ins.
    fn load_registries_conf(paths: &ConfPaths) -> Result<Self, ConfError> {
        let mut conf = Self::default();
        if let Some(file) = &paths.env_file {
            let text = fs_err::read_to_string(file)?;
            conf.add_file(&text, file, false)?;
            return Ok(conf);
        }
        let user = paths
            .home
            .as_ref()
            .map(|h| h.join(".config/containers/registries.conf"));
        let user_dir = paths
            .home
            .as_ref()
            .map(|h| h.join(".config/containers/registries.conf.d"));
        let (main, dirs) = match user.filter(|u| u.is_file()) {
            Some(u) => (u, user_dir.into_iter().collect::<Vec<_>>()),
            None => (
                paths.system_file.clone(),
                std::iter::once(paths.system_dir.clone())
                    .chain(user_dir)
                    .collect(),
            ),
        };
        match fs_err::read_to_string(&main) {
            Ok(text) => conf.add_file(&text, &main, false)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        for dir in dirs {
            for file in drop_ins(&dir)? {
                let text = match fs_err::read_to_string(&file) {
                    Ok(t) => t,
                    // Removed since the listing: as if it had not been there.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                conf.add_file(&text, &file, true)?;
            }
        }
        Ok(conf)
    }

    /// Parses one file's text and lays it over what is already there (`drop_in`: the
    /// version 1 format is refused, as podman refuses it in drop-ins).
    pub fn add_file(&mut self, text: &str, path: &Path, drop_in: bool) -> Result<(), ConfError> {
        let invalid = |reason: String| ConfError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfError::Syntax {
            path: path.to_owned(),
            reason: match e.span() {
                Some(span) => format!(
                    "line {}: {}",
                    text[..span.start.min(text.len())].matches('\n').count() + 1,
                    e.message()
                ),
                None => e.message().to_owned(),
            },
        })?;
        let v2_set = raw.unqualified_search_registries.is_some()
            || raw.short_name_mode.is_some()
            || raw.credential_helpers.is_some()
            || raw.aliases.is_some()
            || !raw.registry.is_empty();
        let raw = match &raw.registries {
            Some(v1) if v1.is_set() => {
                if drop_in {
                    return Err(invalid(
                        "a drop-in must use the version 2 format, not [registries.search] and the like".into(),
                    ));
                }
                if v2_set {
                    return Err(invalid(
                        "mixing the version 1 format ([registries.search] and the like) with version 2 is not supported".into(),
                    ));
                }
                convert_v1(v1)
            }
            _ => raw,
        };

        // Registries: validated, then merged by prefix (the first of a prefix in a file
        // wins, a later file replaces it).
        let mut here: Vec<RegistryEntry> = Vec::new();
        for r in raw.registry {
            let entry = registry_entry(r, path).map_err(invalid)?;
            // Entries for one location must agree (a wildcard's key is its prefix).
            let key = |e: &RegistryEntry| {
                if e.location.is_empty() {
                    e.prefix.clone()
                } else {
                    e.location.clone()
                }
            };
            if let Some(other) = here.iter().find(|o| key(o) == key(&entry)) {
                for (what, a, b) in [
                    ("insecure", other.insecure, entry.insecure),
                    ("blocked", other.blocked, entry.blocked),
                ] {
                    if a != b {
                        return Err(invalid(format!(
                            "registry '{}' is defined multiple times with conflicting '{what}' setting",
                            key(&entry)
                        )));
                    }
                }
            }
            if !here.iter().any(|o| o.prefix == entry.prefix) {
                here.push(entry);
            }
        }

        let search = raw
            .unqualified_search_registries
            .map(|list| {
                list.into_iter()
                    .map(|r| {
                        let r = parse_location(&r).map_err(&invalid)?;
                        if is_host(&r) {
                            Ok(r)
                        } else {
                            Err(invalid(format!(
                                "invalid unqualified-search-registries entry {r:?}: it must be a host[:port]"
                            )))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let mode = raw
            .short_name_mode
            .map(|m| match m.as_str() {
                "enforcing" => Ok(ShortNameMode::Enforcing),
                "permissive" => Ok(ShortNameMode::Permissive),
                "disabled" => Ok(ShortNameMode::Disabled),
                other => Err(invalid(format!(
                    "invalid short-name-mode {other:?}: expected \"enforcing\", \"permissive\" or \"disabled\""
                ))),
            })
            .transpose()?;
        if let Some(helpers) = &raw.credential_helpers
            && helpers.iter().any(|h| h.trim().is_empty())
        {
            return Err(invalid(
                "credential-helpers holds an empty name (use \"containers-auth.json\" for the auth files, or NAME for docker-credential-NAME)".into(),
            ));
        }
        let aliases = aliases_of(raw.aliases.unwrap_or_default(), path).map_err(invalid)?;

        // Nothing changes unless the whole file is valid.
        if let Some(list) = search {
            self.search = Some((list, path.to_owned()));
        }
        if mode.is_some() {
            self.mode = mode;
        }
        if raw.credential_helpers.is_some() {
            self.credential_helpers = raw.credential_helpers;
        }
        self.aliases.extend(aliases);
        for entry in here {
            self.registries.insert(entry.prefix.clone(), entry);
        }
        self.files.push(path.to_owned());
        Ok(())
    }

    /// Lays podman's `short-name-aliases.conf` (an `[aliases]` table; other keys are
    /// ignored, as podman ignores them) over the registries.conf files: its aliases
    /// win, and an alias reset there (`""`) hides a registries.conf alias of that name.
    pub fn add_aliases_file(&mut self, text: &str, path: &Path) -> Result<(), ConfError> {
        #[derive(Deserialize)]
        struct AliasesFile {
            aliases: Option<BTreeMap<String, String>>,
        }
        let raw: AliasesFile = toml::from_str(text).map_err(|e| ConfError::Syntax {
            path: path.to_owned(),
            reason: e.message().to_owned(),
        })?;
        let aliases = aliases_of(raw.aliases.unwrap_or_default(), path).map_err(|reason| {
            ConfError::Invalid {
                path: path.to_owned(),
                reason,
            }
        })?;
        self.user_aliases.extend(aliases);
        self.files.push(path.to_owned());
        Ok(())
    }

    /// The files that were read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// `credential-helpers`: where credentials are looked up, in order
    /// (`containers-auth.json` for the auth files, which is also the default).
    pub fn credential_helpers(&self) -> Vec<String> {
        match &self.credential_helpers {
            Some(list) if !list.is_empty() => list.clone(),
            _ => vec![crate::credentials::AUTH_FILES_HELPER.to_owned()],
        }
    }

    pub fn short_name_mode(&self) -> ShortNameMode {
        self.mode.unwrap_or_default()
    }

    /// The registries short names are looked up in, in order: the configured
    /// `unqualified-search-registries`, or `docker.io` alone.
    pub fn search_registries(&self) -> Vec<String> {
        match &self.search {
            Some((list, _)) if !list.is_empty() => list.clone(),
            _ => vec![lade_reference::DEFAULT_DOMAIN.to_owned()],
        }
    }

    /// Every `[[registry]]`, by prefix.
    pub fn registries(&self) -> impl Iterator<Item = &RegistryEntry> {
        self.registries.values()
    }

    /// The hosts that `insecure = true` lets lade reach over plain HTTP or unverified
    /// TLS (registries and mirrors).
    pub fn insecure_hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.registries.values() {
            let endpoints = std::iter::once((r.location.as_str(), r.insecure))
                .chain(r.mirrors.iter().map(|m| (m.location.as_str(), m.insecure)));
            for (location, insecure) in endpoints {
                let host = location.split('/').next().unwrap_or_default();
                if insecure && !host.is_empty() && !out.iter().any(|h| h == host) {
                    out.push(host.to_owned());
                }
            }
        }
        out
    }

    /// Resolves what the user typed: a fully qualified name as it is; a short name by
    /// its alias, else against each search registry (Docker's `docker.io` when none
    /// is configured). Never prompts: in `enforcing` mode a short name that several
    /// registries could serve is an error naming them.
    pub fn resolve(&self, name: &str) -> Result<Resolved, ResolveError> {
        let parsed = Reference::parse_normalized(name)?;
        if names_registry(name) {
            return Ok(Resolved {
                candidates: vec![parsed],
                description: None,
            });
        }
        let short = short_repository(name);
        // short-name-aliases.conf first: an alias it resets is no alias at all.
        let alias = self
            .user_aliases
            .get(short)
            .or_else(|| self.aliases.get(short));
        if let Some(Alias {
            value: Some(value),
            origin,
        }) = alias
        {
            let mut r = Reference::parse_normalized(value)?;
            if let Some(t) = parsed.tag() {
                r = r.with_tag(t.clone());
            }
            if let Some(d) = parsed.digest() {
                r = r.with_digest(d.clone());
            }
            return Ok(Resolved {
                candidates: vec![r],
                description: Some(format!(
                    "Resolved {short:?} as an alias ({})",
                    origin.display()
                )),
            });
        }
        let Some((list, origin)) = self.search.as_ref().filter(|(l, _)| !l.is_empty()) else {
            return Ok(Resolved {
                candidates: vec![parsed],
                description: None,
            });
        };
        let candidates = list
            .iter()
            .map(|registry| Reference::parse_normalized(&format!("{registry}/{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        if candidates.len() > 1 && self.short_name_mode() == ShortNameMode::Enforcing {
            return Err(ResolveError::Ambiguous {
                name: short.to_owned(),
                candidates: candidates
                    .iter()
                    .map(|c| c.clone().with_default_tag().to_string())
                    .collect(),
                origin: origin.clone(),
            });
        }
        Ok(Resolved {
            candidates,
            description: Some(format!(
                "Resolving {short:?} using unqualified-search registries ({})",
                origin.display()
            )),
        })
    }

    /// The `[[registry]]` with the longest prefix matching `name` (a full normalized
    /// name such as `docker.io/library/redis`, or a registry host such as
    /// `quay.io:443`). Of a wildcard and an exact prefix of the same length (`*.b.com`
    /// and `a.b.com`), the exact one is the more specific and wins (containers/image
    /// takes whichever sorts first, which is always the wildcard).
    pub fn find_registry(&self, name: &str) -> Option<&RegistryEntry> {
        self.registries
            .values()
            .filter(|r| matching_prefix(name, &r.prefix).is_some())
            .max_by_key(|r| (r.prefix.len(), !r.prefix.starts_with("*.")))
    }

    /// Whether registries.conf lets lade reach `host` (`host[:port]`, as contacted)
    /// over plain HTTP or unverified TLS: the `insecure` of the `[[registry]]` that
    /// matches the host itself (its exact prefix, or a `*.example.com` prefix), as
    /// containers/image decides it for every connection. Pulls also honour
    /// [`PullSource::insecure`] of each place.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.find_registry(host).is_some_and(|r| r.insecure)
    }

    /// Where to pull `reference` from, in order: its registry's mirrors that serve
    /// this kind of pull (by tag or by digest), then the registry itself, each with
    /// the prefix rewritten to its location. A blocked registry is an error.
    pub fn pull_sources(&self, reference: &Reference) -> Result<Vec<PullSource>, ResolveError> {
        let Some(r) = self.find_registry(&reference.name()) else {
            return Ok(vec![PullSource {
                reference: reference.clone(),
                insecure: false,
                mirror: false,
            }]);
        };
        if r.blocked {
            return Err(ResolveError::Blocked {
                prefix: r.prefix.clone(),
                origin: r.origin.clone(),
            });
        }
        let by_digest = reference.digest().is_some();
        let mirrors = r.mirrors.iter().filter(|m| {
            if r.mirror_by_digest_only {
                return by_digest;
            }
            match m.pull_from_mirror {
                PullFromMirror::All => true,
                PullFromMirror::DigestOnly => by_digest,
                PullFromMirror::TagOnly => !by_digest,
            }
        });
        let mut out = Vec::new();
        for (location, insecure, mirror) in mirrors
            .map(|m| (m.location.as_str(), m.insecure, true))
            .chain(std::iter::once((r.location.as_str(), r.insecure, false)))
        {
            out.push(PullSource {
                reference: rewrite(reference, &r.prefix, location)?,
                insecure,
                mirror,
            });
        }
        Ok(out)
    }
}

/// `name` without its tag and digest, as typed (the key of `[aliases]`).
fn short_repository(name: &str) -> &str {
    let name = name.split_once('@').map_or(name, |(n, _)| n);
    match name.rsplit_once(':') {
        Some((n, tag)) if !tag.contains('/') => n,
        _ => name,
    }
}

/// The `*.conf` files directly in `dir`, by name; none when it does not exist.
fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, ConfError> {
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == "conf") && !path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// A location without its trailing `/`; URL schemes are refused.
fn parse_location(s: &str) -> Result<String, String> {
    let trimmed = s.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!(
            "invalid location '{s}': URI schemes are not supported (write host[:port][/namespace])"
        ));
    }
    Ok(trimmed.to_owned())
}

/// `host[:port]` (a name, an IPv4 address or a bracketed IPv6 address).
fn is_host(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) => (ip, port.strip_prefix(':').map(Some).unwrap_or(None)),
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if s.starts_with('[') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    port_ok && host_ok
}

fn pull_from_mirror(value: Option<&str>, location: &str) -> Result<PullFromMirror, String> {
    match value {
        None | Some("" | "all") => Ok(PullFromMirror::All),
        Some("digest-only") => Ok(PullFromMirror::DigestOnly),
        Some("tag-only") => Ok(PullFromMirror::TagOnly),
        Some(other) => Err(format!(
            "unsupported pull-from-mirror value {other:?} for mirror {location:?} (expected \"all\", \"digest-only\" or \"tag-only\")"
        )),
    }
}

fn registry_entry(r: RawRegistry, origin: &Path) -> Result<RegistryEntry, String> {
    let location = parse_location(&r.location)?;
    let prefix = if r.prefix.is_empty() {
        if location.is_empty() {
            return Err("a [[registry]] needs a location or a prefix".into());
        }
        location.clone()
    } else {
        let prefix = parse_location(&r.prefix)?;
        if prefix.starts_with("*.") {
            if prefix.contains(['/', '@', ':']) {
                return Err(format!(
                    "wildcarded prefix should be in the format *.example.com; {prefix:?} is not"
                ));
            }
        } else if location.is_empty() {
            return Err(format!(
                "[[registry]] with prefix {prefix:?} has no location (only a *.example.com prefix may go without)"
            ));
        }
        prefix
    };
    if r.pull_from_mirror.is_some() {
        return Err(format!(
            "pull-from-mirror must not be set for a non-mirror registry {prefix:?}: put it in its [[registry.mirror]] entries"
        ));
    }
    let mut mirrors = Vec::new();
    for m in r.mirror {
        let location = parse_location(&m.location)?;
        if location.is_empty() {
            return Err(format!("a mirror of {prefix:?} has no location"));
        }
        if r.mirror_by_digest_only && m.pull_from_mirror.is_some() {
            return Err(format!(
                "cannot set mirror-by-digest-only for the registry {prefix:?} and pull-from-mirror for its mirror {location:?} at the same time"
            ));
        }
        mirrors.push(Mirror {
            pull_from_mirror: pull_from_mirror(m.pull_from_mirror.as_deref(), &location)?,
            location,
            insecure: m.insecure,
        });
    }
    Ok(RegistryEntry {
        prefix,
        location,
        insecure: r.insecure,
        blocked: r.blocked,
        mirror_by_digest_only: r.mirror_by_digest_only,
        mirrors,
        origin: origin.to_owned(),
    })
}

/// The `[aliases]` of one file, validated; every bad entry in one message, so that
/// fixing them is not whack-a-mole.
fn aliases_of(
    raw: BTreeMap<String, String>,
    origin: &Path,
) -> Result<BTreeMap<String, Alias>, String> {
    let mut aliases = BTreeMap::new();
    let mut bad = Vec::new();
    for (name, value) in raw {
        match alias(&name, &value) {
            Ok(value) => {
                aliases.insert(
                    name,
                    Alias {
                        value,
                        origin: origin.to_owned(),
                    },
                );
            }
            Err(e) => bad.push(e),
        }
    }
    if bad.is_empty() {
        Ok(aliases)
    } else {
        Err(bad.join("; "))
    }
}

/// An alias: a short name without tag or digest → a fully qualified name without tag
/// or digest (`""` resets an alias of an earlier file).
fn alias(name: &str, value: &str) -> Result<Option<String>, String> {
    let n = Reference::parse_normalized(name)
        .map_err(|e| format!("invalid short name {name:?}: {e}"))?;
    if names_registry(name) {
        return Err(format!(
            "invalid short name {name:?}: must not contain registry"
        ));
    }
    if n.tag().is_some() || n.digest().is_some() {
        return Err(format!(
            "invalid short name {name:?}: must not contain a tag or digest"
        ));
    }
    if value.is_empty() {
        return Ok(None);
    }
    let v =
        Reference::parse_normalized(value).map_err(|e| format!("invalid alias {value:?}: {e}"))?;
    if !names_registry(value) {
        return Err(format!(
            "invalid alias {value:?}: must contain registry and repository"
        ));
    }
    if v.tag().is_some() || v.digest().is_some() {
        return Err(format!(
            "invalid alias {value:?}: must not contain a tag or digest"
        ));
    }
    Ok(Some(v.name()))
}

/// The version 1 format as version 2: `[registries.search]` becomes the search list,
/// `[registries.insecure]` and `[registries.block]` registries of their own.
fn convert_v1(v1: &RawV1) -> RawFile {
    let list = |l: &Option<RawV1List>| l.as_ref().map(|l| l.registries.clone()).unwrap_or_default();
    let mut registry: Vec<RawRegistry> = Vec::new();
    for (locations, insecure) in [(list(&v1.block), false), (list(&v1.insecure), true)] {
        for location in locations {
            let location = location.trim_end_matches('/').to_owned();
            match registry.iter_mut().find(|r| r.location == location) {
                Some(r) => r.insecure |= insecure,
                None => registry.push(RawRegistry {
                    location: location.clone(),
                    prefix: location,
                    insecure,
                    blocked: !insecure,
                    ..RawRegistry::default()
                }),
            }
        }
    }
    RawFile {
        unqualified_search_registries: Some(list(&v1.search)),
        registry,
        ..RawFile::default()
    }
}

/// How much of `name` a prefix matches (containers/image's `refMatchingPrefix`): the
/// prefix itself followed by the end, `/`, `:` or `@`; or, for `*.example.com`, the
/// host name when it is a subdomain of `example.com` at any depth (`a.example.com`,
/// `b.a.example.com:5000`; not `example.com` itself, nor `a.example.com.evil`). The
/// wildcard matches whole leading labels of the host only, never the port or a path.
fn matching_prefix(name: &str, prefix: &str) -> Option<usize> {
    if let Some(domain) = prefix.strip_prefix('*') {
        // `domain` keeps its leading dot: `.example.com`.
        let host = &name[..name.find(['/', '@']).unwrap_or(name.len())];
        let hostname = if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or(host)
        } else {
            host.split(':').next().unwrap_or(host)
        };
        return (hostname.len() > domain.len() && hostname.ends_with(domain))
            .then_some(hostname.len());
    }
    let rest = name.strip_prefix(prefix)?;
    match rest.as_bytes().first() {
        None | Some(b':' | b'/' | b'@') => Some(prefix.len()),
        _ => None,
    }
}

/// `reference` with `prefix` replaced by `location` (as it is when `location` is empty).
fn rewrite(reference: &Reference, prefix: &str, location: &str) -> Result<Reference, ResolveError> {
    if location.is_empty() {
        return Ok(reference.clone());
    }
    let full = reference.to_string();
    let Some(len) = matching_prefix(&full, prefix) else {
        return Ok(reference.clone());
    };
    let rewritten = format!("{location}{}", &full[len..]);
    Reference::parse_normalized(&rewritten).map_err(|source| ResolveError::Rewrite {
        reference: full,
        location: location.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn conf(text: &str) -> RegistriesConf {
        let mut c = RegistriesConf::default();
        c.add_file(text, Path::new("/etc/containers/registries.conf"), false)
            .unwrap();
        c
    }

    fn err(text: &str) -> String {
        let mut c = RegistriesConf::default();
        c.add_file(text, Path::new("/x.conf"), false)
            .unwrap_err()
            .to_string()
    }

    fn r(s: &str) -> Reference {
        Reference::parse_normalized(s).unwrap()
    }

    fn names(rs: &[Reference]) -> Vec<String> {
        rs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn no_file_is_dockers_behaviour() {
        let c = RegistriesConf::docker_default();
        let got = c.resolve("redis").unwrap();
        assert_eq!(names(&got.candidates), ["docker.io/library/redis"]);
        assert_eq!(got.description, None);
        assert_eq!(c.search_registries(), ["docker.io"]);
        assert_eq!(
            c.pull_sources(&r("redis:7")).unwrap(),
            [PullSource {
                reference: r("redis:7"),
                insecure: false,
                mirror: false
            }]
        );
    }

    #[test]
    fn parses_the_man_page_example() {
        let c = conf(
            r#"
unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]
short-name-mode = "enforcing"
credential-helpers = ["containers-auth.json"]

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"team/app" = "quay.io/team/app"

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true
pull-from-mirror = "digest-only"
"#,
        );
        assert_eq!(
            c.search_registries(),
            ["registry.fedoraproject.org", "quay.io", "docker.io"]
        );
        assert_eq!(c.short_name_mode(), ShortNameMode::Enforcing);
        let entry = c.find_registry("example.com/foo/myimage").unwrap();
        assert_eq!(entry.location, "internal-registry-for-example.com/bar");
        assert_eq!(entry.mirrors.len(), 2);
        assert_eq!(
            entry.mirrors[1].pull_from_mirror,
            PullFromMirror::DigestOnly
        );
        assert_eq!(c.insecure_hosts(), ["example-mirror-1.local"]);
        // By tag: the digest-only mirror is skipped.
        let tag = c
            .pull_sources(&r("example.com/foo/myimage:latest"))
            .unwrap();
        assert_eq!(
            names(&tag.iter().map(|s| s.reference.clone()).collect::<Vec<_>>()),
            [
                "example-mirror-0.local/mirror-for-foo/myimage:latest",
                "internal-registry-for-example.com/bar/myimage:latest"
            ]
        );
        assert_eq!(
            tag.iter().map(|s| s.mirror).collect::<Vec<_>>(),
            [true, false]
        );
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let by_digest = c
            .pull_sources(&r(&format!("example.com/foo/myimage@{d}")))
            .unwrap();
        assert_eq!(by_digest.len(), 3);
        assert_eq!(
            by_digest[1].reference.to_string(),
            format!("example-mirror-1.local/mirrors/foo/myimage@{d}")
        );
        assert!(by_digest[1].insecure);
        // Not under the prefix: as it is.
        assert_eq!(
            c.pull_sources(&r("example.com/foobar/x")).unwrap()[0].reference,
            r("example.com/foobar/x")
        );
    }

    #[rstest]
    #[case("redis", &["registry.fedoraproject.org/redis", "quay.io/redis", "docker.io/library/redis"])]
    #[case("redis:7", &["registry.fedoraproject.org/redis:7", "quay.io/redis:7", "docker.io/library/redis:7"])]
    #[case("team/app", &["registry.fedoraproject.org/team/app", "quay.io/team/app", "docker.io/team/app"])]
    fn short_names_try_each_search_registry(#[case] name: &str, #[case] want: &[&str]) {
        let c = conf(
            r#"unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]"#,
        );
        let got = c.resolve(name).unwrap();
        assert_eq!(names(&got.candidates), want);
        assert_eq!(
            got.description.unwrap(),
            format!(
                "Resolving {:?} using unqualified-search registries (/etc/containers/registries.conf)",
                short_repository(name)
            )
        );
    }

    #[rstest]
    #[case("fedora", "registry.fedoraproject.org/fedora")]
    #[case("fedora:39", "registry.fedoraproject.org/fedora:39")]
    #[case("team/app:1", "quay.io/team/app:1")]
    #[case("redis", "docker.io/library/redis")]
    fn aliases_win(#[case] name: &str, #[case] want: &str) {
        let c = conf(
            r#"
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"team/app" = "quay.io/team/app"
"redis" = "docker.io/redis"
"#,
        );
        let got = c.resolve(name).unwrap();
        assert_eq!(names(&got.candidates), [want]);
        assert!(
            got.description
                .unwrap()
                .ends_with("as an alias (/etc/containers/registries.conf)")
        );
    }

    #[test]
    fn an_alias_keeps_the_digest() {
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let c = conf("[aliases]\n\"app\" = \"quay.io/me/app\"\n");
        assert_eq!(
            c.resolve(&format!("app@{d}")).unwrap().candidates[0].to_string(),
            format!("quay.io/me/app@{d}")
        );
    }

    #[rstest]
    #[case("quay.io/redis", "quay.io/redis")]
    #[case("docker.io/redis", "docker.io/library/redis")]
    #[case("localhost/app", "localhost/app")]
    #[case("localhost:5000/app:1", "localhost:5000/app:1")]
    fn qualified_names_are_not_resolved(#[case] name: &str, #[case] want: &str) {
        let c = conf(
            "unqualified-search-registries = [\"quay.io\", \"docker.io\"]\nshort-name-mode = \"enforcing\"\n[aliases]\n\"app\" = \"quay.io/x/app\"\n",
        );
        let got = c.resolve(name).unwrap();
        assert_eq!(names(&got.candidates), [want]);
        assert_eq!(got.description, None);
    }

    #[test]
    fn enforcing_refuses_an_ambiguous_short_name_and_names_the_candidates() {
        let c = conf(
            "unqualified-search-registries = [\"quay.io\", \"docker.io\"]\nshort-name-mode = \"enforcing\"\n",
        );
        let e = c.resolve("redis").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("quay.io/redis:latest or docker.io/library/redis:latest"),
            "{text}"
        );
        assert!(text.contains("enforcing"), "{text}");
        assert!(e.hint().unwrap().contains("[aliases]"));
        // One candidate is not ambiguous.
        let one = conf(
            "unqualified-search-registries = [\"quay.io\"]\nshort-name-mode = \"enforcing\"\n",
        );
        assert_eq!(
            names(&one.resolve("redis").unwrap().candidates),
            ["quay.io/redis"]
        );
        // Permissive and disabled try them all.
        for mode in ["permissive", "disabled"] {
            let c = conf(&format!(
                "unqualified-search-registries = [\"quay.io\", \"docker.io\"]\nshort-name-mode = \"{mode}\"\n"
            ));
            assert_eq!(c.resolve("redis").unwrap().candidates.len(), 2);
        }
    }

    #[test]
    fn an_empty_search_list_falls_back_to_docker_hub() {
        let c = conf("unqualified-search-registries = []\n");
        let got = c.resolve("redis").unwrap();
        assert_eq!(names(&got.candidates), ["docker.io/library/redis"]);
        assert_eq!(got.description, None);
    }

    #[test]
    fn blocked_registries_are_refused() {
        let c = conf("[[registry]]\nlocation = \"bad.example.com\"\nblocked = true\n");
        let e = c.pull_sources(&r("bad.example.com/x/y:1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "registry bad.example.com is blocked in registries.conf (/etc/containers/registries.conf)"
        );
        assert!(c.pull_sources(&r("good.example.com/x")).is_ok());
        // `bad.example.com:5000` is another registry.
        assert!(c.pull_sources(&r("bad.example.com.evil/x")).is_ok());
    }

    #[test]
    fn longest_prefix_wins_and_mirror_by_digest_only() {
        let c = conf(
            r#"
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.local/hub"

[[registry]]
prefix = "docker.io/library"
location = "docker.io/library"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror.local/official"
"#,
        );
        let official = c.pull_sources(&r("redis")).unwrap();
        assert_eq!(official.len(), 1, "by tag: no mirror");
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let official = c.pull_sources(&r(&format!("redis@{d}"))).unwrap();
        assert_eq!(
            official[0].reference.to_string(),
            format!("mirror.local/official/redis@{d}")
        );
        let other = c.pull_sources(&r("me/app:1")).unwrap();
        assert_eq!(other[0].reference.to_string(), "mirror.local/hub/me/app:1");
        assert_eq!(other[1].reference.to_string(), "docker.io/me/app:1");
    }

    #[test]
    fn tag_only_mirrors_skip_digest_pulls() {
        let c = conf(
            "[[registry]]\nlocation = \"r.example.com\"\n[[registry.mirror]]\nlocation = \"m.example.com\"\npull-from-mirror = \"tag-only\"\n",
        );
        assert_eq!(c.pull_sources(&r("r.example.com/a:1")).unwrap().len(), 2);
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        assert_eq!(
            c.pull_sources(&r(&format!("r.example.com/a@{d}")))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn wildcard_prefixes_match_subdomains() {
        let c = conf(
            "[[registry]]\nprefix = \"*.example.com\"\nblocked = true\n[[registry]]\nprefix = \"*.mirrored.com\"\n[[registry.mirror]]\nlocation = \"m.local\"\n",
        );
        assert!(c.pull_sources(&r("a.example.com/x")).is_err());
        assert!(c.pull_sources(&r("a.b.example.com:5000/x")).is_err());
        assert!(c.pull_sources(&r("example.com/x")).is_ok());
        assert!(c.pull_sources(&r("example.com.org/x")).is_ok());
        let s = c.pull_sources(&r("reg.mirrored.com/ns/x:1")).unwrap();
        assert_eq!(s[0].reference.to_string(), "m.local/ns/x:1");
        assert_eq!(s[1].reference.to_string(), "reg.mirrored.com/ns/x:1");
    }

    #[rstest]
    // Any depth of subdomain, with or without a port, by name or with a tag.
    #[case("a.example.com/x", true)]
    #[case("b.a.example.com/x/y", true)]
    #[case("a.example.com:5000/x", true)]
    #[case("x.example.com.example.com/x", true)]
    // Not the domain itself, not a look-alike, not the domain further down the name.
    #[case("example.com/x", false)]
    #[case("aexample.com/x", false)]
    #[case("a.example.com.evil/x", false)]
    #[case("evil.org/a.example.com/x", false)]
    #[case("evil.org/x.example.com", false)]
    fn a_wildcard_matches_subdomains_of_the_host_only(#[case] name: &str, #[case] matches: bool) {
        let c = conf("[[registry]]\nprefix = \"*.example.com\"\ninsecure = true\n");
        assert_eq!(c.find_registry(name).is_some(), matches, "{name}");
        let host = name.split('/').next().unwrap();
        assert_eq!(c.is_insecure(host), matches, "{host}");
    }

    #[test]
    fn the_most_specific_prefix_wins_over_a_wildcard() {
        let c = conf(
            r#"
[[registry]]
prefix = "*.example.com"
insecure = true

[[registry]]
prefix = "*.internal.example.com"
blocked = true

[[registry]]
location = "a.internal.example.com"

[[registry]]
prefix = "a.example.com/ns"
location = "a.example.com/ns"
blocked = true
"#,
        );
        let prefix = |name: &str| c.find_registry(name).map(|r| r.prefix.as_str());
        assert_eq!(prefix("reg.example.com/x"), Some("*.example.com"));
        // A longer wildcard is more specific.
        assert_eq!(
            prefix("r.internal.example.com/x"),
            Some("*.internal.example.com")
        );
        // An exact host as long as the wildcard (22 characters each) is more specific.
        assert_eq!(
            prefix("a.internal.example.com/x"),
            Some("a.internal.example.com")
        );
        assert_eq!(prefix("a.example.com/ns/x"), Some("a.example.com/ns"));
        assert_eq!(prefix("a.example.com/other"), Some("*.example.com"));
        assert!(c.pull_sources(&r("r.internal.example.com/x")).is_err());
        assert!(c.pull_sources(&r("a.internal.example.com/x")).is_ok());
        // Insecure is decided by the entry that matches the host itself.
        assert!(c.is_insecure("reg.example.com"));
        assert!(c.is_insecure("a.example.com:5000"));
        assert!(!c.is_insecure("a.internal.example.com"));
        assert!(!c.is_insecure("example.com"));
        // And reaches pulls of every reference under it, rewritten or not.
        let s = c.pull_sources(&r("a.example.com/other/x:1")).unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].insecure);
        assert_eq!(s[0].reference, r("a.example.com/other/x:1"));
        // The wildcard leaves nothing for insecure_hosts: it has no location.
        assert!(c.insecure_hosts().is_empty());
    }

    #[test]
    fn a_wildcard_matches_the_labels_of_an_ip_address_as_podman_does() {
        // containers/image matches strings, not DNS names: `*.0.0.1` covers 127.0.0.1.
        // The CLI tests rely on this to reach a loopback registry through a wildcard.
        let c = conf("[[registry]]\nprefix = \"*.0.0.1\"\ninsecure = true\n");
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("127.0.0.1"));
        assert!(!c.is_insecure("127.0.0.2:5000"));
        assert!(!c.is_insecure("[::1]:5000"));
    }

    #[test]
    fn credential_helpers_default_to_the_auth_files_and_drop_ins_replace_them() {
        assert_eq!(
            RegistriesConf::default().credential_helpers(),
            ["containers-auth.json"]
        );
        let mut c = conf("credential-helpers = [\"pass\", \"containers-auth.json\"]\n");
        assert_eq!(c.credential_helpers(), ["pass", "containers-auth.json"]);
        // A drop-in that does not set them keeps them; one that does replaces them.
        c.add_file(
            "short-name-mode = \"enforcing\"\n",
            Path::new("/d/a.conf"),
            true,
        )
        .unwrap();
        assert_eq!(c.credential_helpers(), ["pass", "containers-auth.json"]);
        c.add_file(
            "credential-helpers = [\"secretservice\"]\n",
            Path::new("/d/b.conf"),
            true,
        )
        .unwrap();
        assert_eq!(c.credential_helpers(), ["secretservice"]);
        // An empty list is the default again.
        c.add_file("credential-helpers = []\n", Path::new("/d/c.conf"), true)
            .unwrap();
        assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
        assert!(err("credential-helpers = [\"\"]").contains("empty name"));
        // Only the v2 format has it.
        assert!(
            err("credential-helpers = [\"pass\"]\n[registries.search]\nregistries = [\"a.com\"]\n")
                .contains("mixing")
        );
    }

    #[test]
    fn short_name_aliases_conf_wins_over_registries_conf() {
        let mut c = conf(
            r#"
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
[aliases]
"app" = "quay.io/system/app"
"tool" = "quay.io/system/tool"
"db" = "quay.io/system/db"
"#,
        );
        let file = Path::new("/root/.cache/containers/short-name-aliases.conf");
        c.add_aliases_file(
            "[aliases]\n\"app\" = \"registry.example.com/user/app\"\n\"tool\" = \"\"\n\"new\" = \"docker.io/me/new\"\n",
            file,
        )
        .unwrap();
        let got = c.resolve("app:2").unwrap();
        assert_eq!(names(&got.candidates), ["registry.example.com/user/app:2"]);
        assert_eq!(
            got.description.unwrap(),
            format!("Resolved \"app\" as an alias ({})", file.display())
        );
        assert_eq!(
            names(&c.resolve("new").unwrap().candidates),
            ["docker.io/me/new"]
        );
        // Not in the user's file: registries.conf's alias.
        assert_eq!(
            names(&c.resolve("db").unwrap().candidates),
            ["quay.io/system/db"]
        );
        // Reset in the user's file: no alias at all (here: ambiguous and enforced).
        assert!(matches!(
            c.resolve("tool"),
            Err(ResolveError::Ambiguous { .. })
        ));
        assert_eq!(c.files().last().map(PathBuf::as_path), Some(file));

        // Validated as registries.conf's aliases; a bad file changes nothing.
        let bad = c
            .add_aliases_file(
                "[aliases]\n\"quay.io/x\" = \"quay.io/x\"\n\"y\" = \"y\"\n",
                file,
            )
            .unwrap_err()
            .to_string();
        assert!(bad.contains("must not contain registry"), "{bad}");
        assert!(
            bad.contains("must contain registry and repository"),
            "{bad}"
        );
        assert!(bad.contains("short-name-aliases.conf"), "{bad}");
        let syntax = c.add_aliases_file("[aliases\n", file).unwrap_err();
        assert!(matches!(syntax, ConfError::Syntax { .. }), "{syntax}");
        assert_eq!(
            names(&c.resolve("app").unwrap().candidates),
            ["registry.example.com/user/app"]
        );
    }

    #[rstest]
    #[case(
        true,
        Some("/xdg"),
        Some("/home/u"),
        Some("/var/cache/containers/short-name-aliases.conf")
    )]
    #[case(
        false,
        Some("/xdg"),
        Some("/home/u"),
        Some("/xdg/containers/short-name-aliases.conf")
    )]
    #[case(
        false,
        None,
        Some("/home/u"),
        Some("/home/u/.cache/containers/short-name-aliases.conf")
    )]
    #[case(false, None, None, None)]
    fn short_name_aliases_conf_lives_where_podman_keeps_it(
        #[case] root: bool,
        #[case] xdg: Option<&str>,
        #[case] home: Option<&str>,
        #[case] want: Option<&str>,
    ) {
        assert_eq!(
            ConfPaths::short_name_aliases(root, xdg.map(PathBuf::from), home.map(PathBuf::from)),
            want.map(PathBuf::from)
        );
    }

    #[test]
    fn drop_ins_override_earlier_files() {
        let mut c = conf(
            r#"
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
[aliases]
"a" = "quay.io/a"
"b" = "quay.io/b"
[[registry]]
location = "r.example.com"
blocked = true
"#,
        );
        c.add_file(
            "[aliases]\n\"a\" = \"docker.io/me/a\"\n\"b\" = \"\"\n[[registry]]\nlocation = \"r.example.com\"\n",
            Path::new("/etc/containers/registries.conf.d/10-more.conf"),
            true,
        )
        .unwrap();
        assert_eq!(c.short_name_mode(), ShortNameMode::Enforcing);
        assert_eq!(c.search_registries(), ["quay.io", "docker.io"]);
        assert_eq!(
            names(&c.resolve("a").unwrap().candidates),
            ["docker.io/me/a"]
        );
        // A reset alias: back to the (ambiguous, enforced) search.
        assert!(matches!(
            c.resolve("b"),
            Err(ResolveError::Ambiguous { .. })
        ));
        assert!(c.pull_sources(&r("r.example.com/x")).is_ok());
        c.add_file(
            "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"permissive\"\n",
            Path::new("/home/u/.config/containers/registries.conf.d/zz.conf"),
            true,
        )
        .unwrap();
        assert_eq!(c.search_registries(), ["docker.io"]);
        assert_eq!(c.short_name_mode(), ShortNameMode::Permissive);
        assert_eq!(c.files().len(), 3);
    }

    #[test]
    fn version_1_format_is_converted_in_the_main_file_only() {
        let v1 = "[registries.search]\nregistries = ['quay.io']\n[registries.insecure]\nregistries = ['insecure.local:5000']\n[registries.block]\nregistries = ['blocked.example.com']\n";
        let c = conf(v1);
        assert_eq!(c.search_registries(), ["quay.io"]);
        assert_eq!(c.insecure_hosts(), ["insecure.local:5000"]);
        assert!(c.pull_sources(&r("blocked.example.com/x")).is_err());
        let mut d = RegistriesConf::default();
        assert!(d.add_file(v1, Path::new("/d.conf"), true).is_err());
    }

    #[rstest]
    #[case("short-name-mode = \"prompt\"", "invalid short-name-mode")]
    #[case("unqualified-search-registries = [\"https://quay.io\"]", "URI schemes")]
    #[case("unqualified-search-registries = [\"quay.io/ns\"]", "host[:port]")]
    #[case("[[registry]]\nprefix = \"example.com\"", "has no location")]
    #[case("[[registry]]\ninsecure = true", "needs a location or a prefix")]
    #[case("[[registry]]\nprefix = \"*.example.com/ns\"", "wildcarded prefix")]
    #[case(
        "[[registry]]\nlocation = \"a.com\"\npull-from-mirror = \"all\"",
        "non-mirror registry"
    )]
    #[case(
        "[[registry]]\nlocation = \"a.com\"\n[[registry.mirror]]\ninsecure = true",
        "has no location"
    )]
    #[case(
        "[[registry]]\nlocation = \"a.com\"\n[[registry.mirror]]\nlocation = \"m.com\"\npull-from-mirror = \"sometimes\"",
        "unsupported pull-from-mirror"
    )]
    #[case(
        "[[registry]]\nlocation = \"a.com\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m.com\"\npull-from-mirror = \"all\"",
        "at the same time"
    )]
    #[case(
        "[[registry]]\nlocation = \"a.com\"\nprefix = \"a.com/x\"\ninsecure = true\n[[registry]]\nlocation = \"a.com\"",
        "conflicting 'insecure'"
    )]
    #[case(
        "[aliases]\n\"quay.io/x\" = \"quay.io/x\"",
        "must not contain registry"
    )]
    #[case("[aliases]\n\"x:1\" = \"quay.io/x\"", "must not contain a tag")]
    #[case("[aliases]\n\"x\" = \"x/y\"", "must contain registry")]
    #[case("[aliases]\n\"x\" = \"quay.io/x:1\"", "must not contain a tag")]
    #[case(
        "[registries.search]\nregistries = [\"a.com\"]\n[[registry]]\nlocation = \"b.com\"",
        "mixing"
    )]
    #[case("unqualified-search-registries = \"quay.io\"", "not valid TOML")]
    #[case("[[registry]\nlocation = 1", "not valid TOML")]
    fn invalid_files_are_refused_with_the_reason(#[case] text: &str, #[case] needle: &str) {
        let e = err(text);
        assert!(e.contains(needle), "{e}");
        assert!(e.contains("/x.conf"), "{e}");
    }

    #[test]
    fn a_failed_file_changes_nothing() {
        let mut c = conf("unqualified-search-registries = [\"quay.io\"]\n");
        assert!(
            c.add_file(
                "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"no\"\n",
                Path::new("/bad.conf"),
                true
            )
            .is_err()
        );
        assert_eq!(c.search_registries(), ["quay.io"]);
    }

    #[rstest]
    #[case("docker.io", true)]
    #[case("localhost", true)]
    #[case("127.0.0.1:5000", true)]
    #[case("[::1]:5000", true)]
    #[case("my-registry.local:443", true)]
    #[case("quay.io/ns", false)]
    #[case("-bad.com", false)]
    #[case("a..b", false)]
    #[case("host:", false)]
    #[case("[::1", false)]
    fn hosts(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(is_host(s), ok, "{s}");
    }

    #[rstest]
    #[case("redis", "redis")]
    #[case("redis:7", "redis")]
    #[case("team/app:1", "team/app")]
    #[case("app@sha256:abc", "app")]
    #[case("app:1@sha256:abc", "app")]
    fn short_repositories(#[case] name: &str, #[case] want: &str) {
        assert_eq!(short_repository(name), want);
    }

    #[test]
    fn loads_the_files_podman_reads() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        let home = dir.path().join("home");
        fs_err::create_dir_all(etc.join("registries.conf.d")).unwrap();
        fs_err::create_dir_all(home.join(".config/containers/registries.conf.d")).unwrap();
        fs_err::write(
            etc.join("registries.conf"),
            "unqualified-search-registries = [\"quay.io\"]\n",
        )
        .unwrap();
        fs_err::write(
            etc.join("registries.conf.d/b.conf"),
            "[aliases]\n\"x\" = \"quay.io/b/x\"\n",
        )
        .unwrap();
        fs_err::write(
            etc.join("registries.conf.d/a.conf"),
            "[aliases]\n\"x\" = \"quay.io/a/x\"\n\"y\" = \"quay.io/a/y\"\n",
        )
        .unwrap();
        fs_err::write(etc.join("registries.conf.d/ignored.txt"), "not toml [").unwrap();
        let user_dir = home.join(".config/containers/registries.conf.d");
        fs_err::write(
            user_dir.join("u.conf"),
            "[aliases]\n\"y\" = \"quay.io/u/y\"\n",
        )
        .unwrap();
        let paths = ConfPaths {
            env_file: None,
            home: Some(home.clone()),
            system_file: etc.join("registries.conf"),
            system_dir: etc.join("registries.conf.d"),
            aliases_file: None,
        };
        let c = RegistriesConf::load(&paths).unwrap();
        assert_eq!(c.files().len(), 4);
        assert_eq!(
            c.resolve("x").unwrap().candidates[0].to_string(),
            "quay.io/b/x"
        );
        assert_eq!(
            c.resolve("y").unwrap().candidates[0].to_string(),
            "quay.io/u/y"
        );
        assert_eq!(c.search_registries(), ["quay.io"]);

        // The user's own registries.conf replaces the system's files.
        fs_err::write(
            home.join(".config/containers/registries.conf"),
            "unqualified-search-registries = [\"docker.io\"]\n",
        )
        .unwrap();
        let c = RegistriesConf::load(&paths).unwrap();
        assert_eq!(c.files().len(), 2);
        assert_eq!(c.search_registries(), ["docker.io"]);
        assert!(
            c.resolve("x")
                .unwrap()
                .description
                .unwrap()
                .contains("unqualified-search")
        );

        // $CONTAINERS_REGISTRIES_CONF: that file alone, and it must exist.
        let env = dir.path().join("only.conf");
        fs_err::write(&env, "short-name-mode = \"disabled\"\n").unwrap();
        let c = RegistriesConf::load(&ConfPaths {
            env_file: Some(env.clone()),
            ..paths.clone()
        })
        .unwrap();
        assert_eq!(c.files(), std::slice::from_ref(&env));
        assert_eq!(c.search_registries(), ["docker.io"]);
        // short-name-aliases.conf is read beside any registries.conf, this one too.
        let aliases = dir.path().join("cache/containers/short-name-aliases.conf");
        let with_aliases = ConfPaths {
            env_file: Some(env.clone()),
            aliases_file: Some(aliases.clone()),
            ..paths.clone()
        };
        assert_eq!(
            RegistriesConf::load(&with_aliases).unwrap().files(),
            std::slice::from_ref(&env)
        );
        fs_err::create_dir_all(aliases.parent().unwrap()).unwrap();
        fs_err::write(&aliases, "[aliases]\n\"x\" = \"quay.io/cached/x\"\n").unwrap();
        let c = RegistriesConf::load(&with_aliases).unwrap();
        assert_eq!(c.files(), [env.clone(), aliases.clone()]);
        assert_eq!(
            c.resolve("x").unwrap().candidates[0].to_string(),
            "quay.io/cached/x"
        );
        let missing = RegistriesConf::load(&ConfPaths {
            env_file: Some(dir.path().join("missing.conf")),
            ..paths.clone()
        })
        .unwrap_err();
        assert!(missing.to_string().contains("missing.conf"), "{missing}");

        // Nothing at all: Docker's behaviour.
        let none = RegistriesConf::load(&ConfPaths {
            env_file: None,
            home: Some(dir.path().join("nobody")),
            system_file: dir.path().join("nothing.conf"),
            system_dir: dir.path().join("nothing.d"),
            aliases_file: None,
        })
        .unwrap();
        assert!(none.files().is_empty());
        assert_eq!(none.resolve("redis").unwrap().description, None);
    }

    #[test]
    fn reads_debians_shipped_files() {
        // The files Debian's containers-common installs, when present on this machine.
        let paths = ConfPaths::new(None, None);
        if paths.system_file.exists() {
            RegistriesConf::load(&paths).unwrap();
        }
    }
}
