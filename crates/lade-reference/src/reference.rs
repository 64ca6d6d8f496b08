//! Image references (`[domain/]path[:tag][@digest]`), parsed and normalized
//! exactly as Docker's `ParseNormalizedNamed` does
//! (`github.com/distribution/reference`, `normalize.go` and `reference.go`).
//!
//! Normalization in short:
//!
//! - `redis` → `docker.io/library/redis`; `me/app` → `docker.io/me/app`.
//! - The first `/`-separated component is a domain only if it contains `.`
//!   or `:`, is `localhost`, or has an uppercase letter; `index.docker.io`
//!   folds to `docker.io`.
//! - A bare 64-character hex string is refused (it would look like an ID).
//!
//! The familiar form ([`Reference::familiar`]) undoes the `docker.io` and
//! `library/` defaults, as the docker CLI prints names.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::ReferenceError;
use crate::grammar;
use crate::tag::Tag;

/// The registry that familiar names refer to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The old name of Docker Hub's index, folded into [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of official images on Docker Hub.
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Always a domain, even without a `.` or a port.
const LOCALHOST: &str = "localhost";
/// Longest repository path accepted (`RepositoryNameTotalLengthMax`).
pub const REPOSITORY_PATH_MAX_LEN: usize = 255;

/// A parsed, normalized image reference: a repository name (domain and
/// path) with an optional tag and an optional digest.
///
/// Made only by [`Reference::parse_normalized`] (or [`FromStr`]) and the
/// `with_*` methods, so every value satisfies Docker's grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<Tag>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference the way the docker CLI does (Docker's
    /// `ParseNormalizedNamed`): `redis` becomes `docker.io/library/redis`,
    /// `localhost:5000/a/b:t` keeps its domain, `name:tag@digest` keeps both.
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        if grammar::is_identifier(s) {
            return Err(ReferenceError::HexadecimalName { name: s.to_owned() });
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder
            .split_once(':')
            .map_or(remainder.as_ref(), |(remote, _)| remote);
        if !is_go_lower(remote) {
            return Err(ReferenceError::RemoteNameNotLowercase {
                remote: remote.to_owned(),
            });
        }
        // A name already in its full form (as the store keeps names) is parsed as it is.
        if s.strip_prefix(domain)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest == remainder.as_ref())
        {
            return parse(s);
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// The registry domain, with any port: `docker.io`, `localhost:5000`,
    /// `[::1]:5000`.
    ///
    /// Empty in one corner Docker shares: a first component that looks like a
    /// domain to the normalizer (it has a `.`) but is not a valid host (it has
    /// a `_`), such as `a_b.c/foo`, stays part of the path.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry: `library/redis`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name: `docker.io/library/redis`.
    pub fn name(&self) -> String {
        join_name(&self.domain, &self.path)
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&Tag> {
        self.tag.as_ref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Adds the tag `latest` when the reference has neither tag nor digest
    /// (Docker's `TagNameOnly`).
    #[must_use]
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(Tag::latest());
        }
        self
    }

    /// The same repository with `tag` and no digest.
    #[must_use]
    pub fn with_tag(&self, tag: Tag) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag),
            digest: None,
        }
    }

    /// The same repository with `digest` and no tag.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The same reference without its digest (the tag, if any, stays).
    #[must_use]
    pub fn without_digest(&self) -> Reference {
        Reference {
            digest: None,
            ..self.clone()
        }
    }

    /// The repository name as the docker CLI shows it: `redis`,
    /// `myuser/app`, `localhost:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        // Only a single component under library/ is shortened, as upstream.
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The whole reference as the docker CLI shows it (Docker's
    /// `FamiliarString`): `redis:7`, `myuser/app:1`, `redis@sha256:…`.
    ///
    /// It reads back as the same reference except in two corners Docker
    /// shares: `docker.io/foo.com/bar` prints as `foo.com/bar` (then a
    /// domain), and `docker.io/library/<64 hex>` prints as what looks like an
    /// image ID. The [`Display`](fmt::Display) form always reads back.
    pub fn familiar(&self) -> String {
        let mut out = self.familiar_name();
        self.push_suffix(&mut out);
        out
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag.as_str());
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    /// The full normalized form: `docker.io/library/redis:7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    /// Same as [`Reference::parse_normalized`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse_normalized(s)
    }
}

fn join_name(domain: &str, path: &str) -> String {
    if domain.is_empty() {
        path.to_owned()
    } else {
        format!("{domain}/{path}")
    }
}

/// Go's `strings.ToLower`: maps each character on its own, so `İ` becomes
/// `i` (Rust's `str::to_lowercase` would append a combining dot).
fn go_to_lower(s: &str) -> String {
    s.chars().map(go_lower_char).collect()
}

fn go_lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// `go_to_lower(s) == s`, without building the lowered copy (names are checked on
/// every parse: 10,000 of them per listing of a big store).
fn is_go_lower(s: &str) -> bool {
    if s.is_ascii() {
        return !s.bytes().any(|b| b.is_ascii_uppercase());
    }
    s.chars().all(|c| go_lower_char(c) == c)
}

/// Docker's `splitDockerDomain`: decides whether the first component of a
/// familiar name is a registry domain and adds the `docker.io` and
/// `library/` defaults. `name` may still carry its tag and digest.
fn split_docker_domain(name: &str) -> (&str, Cow<'_, str>) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        // A single element such as "ubuntu" or "ubuntu:latest", never
        // "hostname:port".
        return (
            DEFAULT_DOMAIN,
            format!("{OFFICIAL_REPO_PREFIX}{name}").into(),
        );
    };
    let (domain, remote) = if maybe_domain == LOCALHOST {
        (maybe_domain, maybe_remote)
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, maybe_remote)
    } else if maybe_domain.contains(['.', ':']) || !is_go_lower(maybe_domain) {
        // Looks like a host name or IP address (has "." or ":"), or cannot
        // be a namespace because namespaces are lowercase.
        (maybe_domain, maybe_remote)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        // "docker.io/ubuntu" means "docker.io/library/ubuntu", on Docker Hub only.
        return (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}").into());
    }
    (domain, remote.into())
}

/// Docker's `reference.Parse`: checks `s` against the grammar without any
/// normalization. The domain is empty when the first component is not one.
pub(crate) fn parse(s: &str) -> Result<Reference, ReferenceError> {
    if s.is_empty() {
        return Err(ReferenceError::NameEmpty);
    }
    let Some(parts) = grammar::split_reference(s) else {
        let lower = go_to_lower(s);
        if lower != s && grammar::split_reference(&lower).is_some() {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    if parts.path.len() > REPOSITORY_PATH_MAX_LEN {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = parts.digest.map(Digest::parse).transpose()?;
    let tag = parts.tag.map(Tag::parse).transpose()?;
    Ok(Reference {
        domain: parts.domain.to_owned(),
        path: parts.path.to_owned(),
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    //! `reference.Parse` is not public here, so its upstream table is ported
    //! as a unit test: `distribution/reference` `reference_test.go`,
    //! `TestReferenceParse`.

    use super::*;
    use crate::error::DigestError;
    use rstest::rstest;

    const F64: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn ok(
        name: &str,
        domain: &str,
        tag: &str,
        digest: &str,
    ) -> Result<(String, String, String, String), ReferenceError> {
        Ok((name.into(), domain.into(), tag.into(), digest.into()))
    }

    fn err(e: ReferenceError) -> Result<(String, String, String, String), ReferenceError> {
        Err(e)
    }

    // Expected: (repository name, domain, tag, digest), "" when absent.
    #[rstest]
    #[case("test_com", ok("test_com", "", "", ""))]
    #[case("test.com:tag", ok("test.com", "", "tag", ""))]
    #[case("test.com:5000", ok("test.com", "", "5000", ""))]
    #[case("test.com/repo:tag", ok("test.com/repo", "test.com", "tag", ""))]
    #[case("test:5000/repo", ok("test:5000/repo", "test:5000", "", ""))]
    #[case("test:5000/repo:tag", ok("test:5000/repo", "test:5000", "tag", ""))]
    #[case(
        &format!("test:5000/repo@sha256:{F64}"),
        ok("test:5000/repo", "test:5000", "", &format!("sha256:{F64}"))
    )]
    #[case(
        &format!("test:5000/repo:tag@sha256:{F64}"),
        ok("test:5000/repo", "test:5000", "tag", &format!("sha256:{F64}"))
    )]
    #[case("", err(ReferenceError::NameEmpty))]
    #[case(":justtag", err(ReferenceError::InvalidFormat))]
    #[case(&format!("@sha256:{F64}"), err(ReferenceError::InvalidFormat))]
    #[case(
        "repo@sha256:ffffffffffffffffffffffffffffffffff",
        err(ReferenceError::Digest(DigestError::InvalidLength))
    )]
    #[case(
        &format!("validname@invaliddigest:{F64}"),
        err(ReferenceError::Digest(DigestError::Unsupported))
    )]
    #[case("Uppercase:tag", err(ReferenceError::NameContainsUppercase))]
    // FIXME upstream: "Uppercase/lowercase:tag" is handled as a domain-name and passes.
    #[case(
        "Uppercase/lowercase:tag",
        ok("Uppercase/lowercase", "Uppercase", "tag", "")
    )]
    #[case(
        "test:5000/Uppercase/lowercase:tag",
        err(ReferenceError::NameContainsUppercase)
    )]
    #[case("lowercase:Uppercase", ok("lowercase", "", "Uppercase", ""))]
    #[case(
        &format!("domain/{}:tag", "a".repeat(256)),
        err(ReferenceError::NameTooLong)
    )]
    #[case(
        &format!("{}a:tag-puts-this-over-max", "a/".repeat(127)),
        ok(&format!("{}a", "a/".repeat(127)), "a", "tag-puts-this-over-max", "")
    )]
    #[case("aa/asdf$$^/aa", err(ReferenceError::InvalidFormat))]
    #[case(
        "sub-dom1.foo.com/bar/baz/quux",
        ok("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", "")
    )]
    #[case(
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ok(
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com",
            "some-long-tag",
            ""
        )
    )]
    #[case(
        "b.gcr.io/test.example.com/my-app:test.example.com",
        ok("b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com", "")
    )]
    #[case(
        "xn--n3h.com/myimage:xn--n3h.com",
        ok("xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", "")
    )]
    #[case(
        &format!("xn--7o8h.com/myimage:xn--7o8h.com@sha512:{F64}{F64}"),
        ok("xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", &format!("sha512:{F64}{F64}"))
    )]
    #[case("foo_bar.com:8080", ok("foo_bar.com", "", "8080", ""))]
    #[case("foo/foo_bar.com:8080", ok("foo/foo_bar.com", "foo", "8080", ""))]
    #[case("192.168.1.1", ok("192.168.1.1", "", "", ""))]
    #[case("192.168.1.1:tag", ok("192.168.1.1", "", "tag", ""))]
    #[case("192.168.1.1:5000", ok("192.168.1.1", "", "5000", ""))]
    #[case("192.168.1.1/repo", ok("192.168.1.1/repo", "192.168.1.1", "", ""))]
    #[case(
        "192.168.1.1:5000/repo",
        ok("192.168.1.1:5000/repo", "192.168.1.1:5000", "", "")
    )]
    #[case(
        "192.168.1.1:5000/repo:5050",
        ok("192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", "")
    )]
    #[case("[2001:db8::1]", err(ReferenceError::InvalidFormat))]
    #[case("[2001:db8::1]:5000", err(ReferenceError::InvalidFormat))]
    #[case("[2001:db8::1]:tag", err(ReferenceError::InvalidFormat))]
    #[case(
        "[2001:db8::1]/repo",
        ok("[2001:db8::1]/repo", "[2001:db8::1]", "", "")
    )]
    #[case(
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
        ok("[2001:db8:1:2:3:4:5:6]/repo", "[2001:db8:1:2:3:4:5:6]", "tag", "")
    )]
    #[case(
        "[2001:db8::1]:5000/repo",
        ok("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", "")
    )]
    #[case(
        "[2001:db8::1]:5000/repo:tag",
        ok("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", "")
    )]
    #[case(
        &format!("[2001:db8::1]:5000/repo@sha256:{F64}"),
        ok("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", &format!("sha256:{F64}"))
    )]
    #[case(
        &format!("[2001:db8::1]:5000/repo:tag@sha256:{F64}"),
        ok("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", &format!("sha256:{F64}"))
    )]
    #[case(
        "[2001:db8::]:5000/repo",
        ok("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", "")
    )]
    #[case("[::1]:5000/repo", ok("[::1]:5000/repo", "[::1]:5000", "", ""))]
    #[case("[fe80::1%eth0]:5000/repo", err(ReferenceError::InvalidFormat))]
    #[case("[fe80::1%@invalidzone]:5000/repo", err(ReferenceError::InvalidFormat))]
    #[case(
        &format!("example.com/{}:tag", "a".repeat(255)),
        ok(&format!("example.com/{}", "a".repeat(255)), "example.com", "tag", "")
    )]
    fn reference_parse(
        #[case] input: &str,
        #[case] expected: Result<(String, String, String, String), ReferenceError>,
    ) {
        let got = parse(input).map(|r| {
            // Upstream also checks that String() gives the input back.
            assert_eq!(r.to_string(), input);
            (
                r.name(),
                r.domain().to_owned(),
                r.tag().map(|t| t.to_string()).unwrap_or_default(),
                r.digest().map(|d| d.to_string()).unwrap_or_default(),
            )
        });
        assert_eq!(got, expected, "{input:?}");
    }

    #[rstest]
    #[case("İmage", "image")]
    #[case("ABC", "abc")]
    #[case("\u{212A}", "k")]
    fn go_lowercase(#[case] input: &str, #[case] lower: &str) {
        assert_eq!(go_to_lower(input), lower);
    }
}
