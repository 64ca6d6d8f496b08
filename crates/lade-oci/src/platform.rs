//! Platforms (`os/arch[/variant]`) and how Docker matches them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The platform an image is built for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A platform string that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid platform {0:?}: expected os/arch[/variant], for example linux/amd64 or linux/arm64/v8"
)]
pub struct PlatformError(pub String);

impl Platform {
    /// Parses `os[/arch[/variant]]` as containerd's `platforms.Parse` does, normalizing
    /// architecture aliases (`x86_64` → `amd64`, `aarch64` → `arm64`, …).
    pub fn parse(s: &str) -> Result<Self, PlatformError> {
        let err = || PlatformError(s.to_owned());
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
            return Err(err());
        }
        let valid = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        if !parts.iter().all(|p| valid(p)) {
            return Err(err());
        }
        let os = parts[0].to_ascii_lowercase();
        let (architecture, variant) = match parts.len() {
            1 => (host_arch().to_owned(), None),
            2 => normalize_arch(parts[1], None),
            _ => normalize_arch(parts[1], Some(parts[2])),
        };
        Ok(Self {
            architecture,
            os,
            os_version: None,
            os_features: Vec::new(),
            variant,
        })
    }

    /// The platform lade runs on.
    pub fn host() -> Self {
        let (architecture, variant) = normalize_arch(host_arch(), None);
        Self {
            architecture,
            os: std::env::consts::OS.to_owned(),
            os_version: None,
            os_features: Vec::new(),
            variant,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// How well `candidate` serves a request for `self`: `None` when it cannot run it;
    /// lower is better. As containerd's matcher: the same OS and architecture; for a
    /// requested ARM variant, that variant first and then older compatible ones (v7
    /// runs v6 and v5 images); for arm64, v8 and no variant are the same.
    pub fn match_rank(&self, candidate: &Platform) -> Option<u32> {
        let (c_arch, c_variant) =
            normalize_arch(&candidate.architecture, candidate.variant.as_deref());
        if !candidate.os.eq_ignore_ascii_case(&self.os) || c_arch != self.architecture {
            return None;
        }
        match (&self.variant, &c_variant) {
            (None, None) => Some(0),
            (None, Some(_)) => Some(1),
            (Some(_), None) if self.architecture != "arm" => Some(1),
            (Some(_), None) => None,
            (Some(w), Some(c)) if w == c => Some(0),
            (Some(w), Some(c)) if self.architecture == "arm" => {
                let level = |v: &str| v.trim_start_matches('v').parse::<u32>().ok();
                match (level(w), level(c)) {
                    (Some(w), Some(c)) if c < w => Some(w - c),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The best entry of an index for this platform (first of the best rank, as
    /// registries order entries by preference).
    pub fn select<'a>(&self, entries: &'a [crate::Descriptor]) -> Option<&'a crate::Descriptor> {
        entries
            .iter()
            .filter_map(|d| {
                d.platform
                    .as_ref()
                    .and_then(|p| self.match_rank(p))
                    .map(|r| (r, d))
            })
            .min_by_key(|(r, _)| *r)
            .map(|(_, d)| d)
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.map(str::to_ascii_lowercase);
    match arch.as_str() {
        "i386" => ("386".into(), None),
        "x86_64" | "x86-64" | "amd64" => {
            let v = variant.filter(|v| v != "v1");
            ("amd64".into(), v)
        }
        "aarch64" | "arm64" => {
            let v = variant.filter(|v| v != "v8" && v != "8");
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => {
            let v = match variant.as_deref() {
                None | Some("7") | Some("v7") => "v7".to_owned(),
                Some("5") | Some("v5") => "v5".to_owned(),
                Some("6") | Some("v6") => "v6".to_owned(),
                Some("8") | Some("v8") => "v8".to_owned(),
                Some(other) => other.to_owned(),
            };
            ("arm".into(), Some(v))
        }
        _ => (arch, variant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_as_containerd_does() {
        let p = |s: &str| Platform::parse(s).unwrap();
        let amd64 = p("linux/amd64");
        assert_eq!(amd64.match_rank(&p("linux/amd64")), Some(0));
        assert_eq!(amd64.match_rank(&p("linux/arm64")), None);
        assert_eq!(amd64.match_rank(&p("windows/amd64")), None);
        let v7 = p("linux/arm/v7");
        assert_eq!(v7.match_rank(&p("linux/arm/v7")), Some(0));
        assert_eq!(v7.match_rank(&p("linux/arm/v6")), Some(1));
        assert_eq!(p("linux/arm/v6").match_rank(&p("linux/arm/v7")), None);
        assert_eq!(p("linux/arm64").match_rank(&p("linux/arm64/v8")), Some(0));
    }

    #[test]
    fn parses_and_normalizes() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!((p.os.as_str(), p.architecture.as_str()), ("linux", "arm64"));
        assert_eq!(p.variant, None);
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("Linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        for bad in ["", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }
}
