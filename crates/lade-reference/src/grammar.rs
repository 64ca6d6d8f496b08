//! The reference grammar of `github.com/distribution/reference` (`regexp.go`),
//! written out by hand as small matchers over ASCII bytes.
//!
//! Each function answers "does the whole input match this production?", the
//! way Go's anchored regular expressions are used upstream:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! IPv6address      := /[a-fA-F0-9:]+/
//! remote-name      := path-component ['/' path-component]*
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}/
//! identifier       := /[a-f0-9]{64}/
//! ```
//!
//! Nothing here allocates; [`split_reference`] and [`split_name`] return
//! borrowed pieces of their input.

/// Longest tag the grammar accepts (`[\w][\w.-]{0,127}`).
pub(crate) const TAG_MAX_LEN: usize = 128;

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// `path-component := [a-z0-9]+ ( ([._]|__|[-]+) [a-z0-9]+ )*`
pub(crate) fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        // An alphanumeric run is required at the start and after each separator.
        let start = i;
        while i < b.len() && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `remote-name := path-component ( '/' path-component )*`
pub(crate) fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        }
        _ => false,
    }
}

/// `domain-name := domain-component ( '.' domain-component )*`
fn is_domain_name(s: &str) -> bool {
    s.split('.').all(is_domain_component)
}

/// `port-number := [0-9]+`
fn is_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `domain := ( domain-name | '[' [a-fA-F0-9:]+ ']' ) ( ':' [0-9]+ )?`
pub(crate) fn is_domain_and_port(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        let address_ok =
            !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return address_ok && port_ok;
    }
    match s.split_once(':') {
        Some((host, port)) => is_domain_name(host) && is_port(port),
        None => is_domain_name(s),
    }
}

/// `tag := [\w][\w.-]{0,127}`
pub(crate) fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((&first, rest)) => {
            b.len() <= TAG_MAX_LEN
                && is_word(first)
                && rest.iter().all(|&c| is_word(c) || c == b'.' || c == b'-')
        }
        None => false,
    }
}

/// The digest production of the reference grammar (`digestPat`): looser
/// than a valid digest, which `Digest::parse` checks afterwards.
pub(crate) fn is_reference_digest(s: &str) -> bool {
    let Some((algorithm, encoded)) = s.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphabetic) && b.iter().all(u8::is_ascii_alphanumeric)
    });
    algorithm_ok && encoded.len() >= 32 && encoded.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest's `DigestRegexpAnchored`:
/// `[a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`.
pub(crate) fn is_go_digest_shape(s: &str) -> bool {
    let Some((algorithm, encoded)) = s.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm
        .split(['.', '+', '_', '-'])
        .all(|part| !part.is_empty() && part.bytes().all(is_lower_alnum));
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-');
    algorithm_ok && encoded_ok
}

/// `identifier := [a-f0-9]{64}`, anchored.
pub(crate) fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_lower_hex)
}

/// `[a-f0-9]{1,64}`: something that may abbreviate an identifier.
pub(crate) fn is_identifier_prefix(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(is_lower_hex)
}

/// The pieces of a string matching the whole `reference` production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReferenceParts<'a> {
    pub(crate) domain: &'a str,
    pub(crate) path: &'a str,
    pub(crate) tag: Option<&'a str>,
    pub(crate) digest: Option<&'a str>,
}

/// Splits a name into `(domain, remote-name)` as `anchoredNameRegexp` does:
/// the first component is the domain when it is a valid `domain` and the rest
/// is a valid remote name; otherwise the whole name must be a remote name and
/// the domain is empty.
pub(crate) fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((domain, path)) = name.split_once('/')
        && is_domain_and_port(domain)
        && is_remote_name(path)
    {
        return Some((domain, path));
    }
    is_remote_name(name).then_some(("", name))
}

/// Matches `s` against the whole reference grammar (`ReferenceRegexp`).
///
/// The split is unambiguous: `@` only introduces the digest; a tag contains
/// neither `/` nor `:`, and a name contains `:` only inside its domain, which
/// is always followed by `/`. So the tag is whatever follows the last `:` when
/// that `:` comes after the last `/`.
pub(crate) fn split_reference(s: &str) -> Option<ReferenceParts<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => {
            if !is_reference_digest(digest) {
                return None;
            }
            (rest, Some(digest))
        }
        None => (s, None),
    };
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            let tag = &rest[colon + 1..];
            if !is_tag(tag) {
                return None;
            }
            (&rest[..colon], Some(tag))
        }
        _ => (rest, None),
    };
    let (domain, path) = split_name(name)?;
    Some(ReferenceParts {
        domain,
        path,
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    //! Tables ported from `distribution/reference` `regexp_test.go`
    //! (`TestDomainRegexp`, `TestFullNameRegexp`, `TestReferenceRegexp`,
    //! `TestIdentifierRegexp`).

    use super::*;
    use rstest::rstest;

    // regexp_test.go: TestDomainRegexp
    #[rstest]
    #[case("test.com", true)]
    #[case("test.com:10304", true)]
    #[case("test.com:http", false)]
    #[case("localhost", true)]
    #[case("localhost:8080", true)]
    #[case("a", true)]
    #[case("a.b", true)]
    #[case("ab.cd.com", true)]
    #[case("a-b.com", true)]
    #[case("-ab.com", false)]
    #[case("ab-.com", false)]
    #[case("ab.c-om", true)]
    #[case("ab.-com", false)]
    #[case("ab.com-", false)]
    #[case("0101.com", true)]
    #[case("001a.com", true)]
    #[case("b.gbc.io:443", true)]
    #[case("b.gbc.io", true)]
    #[case("xn--n3h.com", true)]
    #[case("Asdf.com", true)]
    #[case("192.168.1.1:75050", true)]
    #[case("192.168.1.1:750050", true)]
    #[case("[fd00:1:2::3]:75050", true)]
    #[case("[fd00:1:2::3]75050", false)]
    #[case("[fd00:1:2::3]::75050", false)]
    #[case("[fd00:1:2::3%eth0]:75050", false)]
    #[case("[fd00123123123]:75050", true)]
    #[case("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", true)]
    #[case("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505", true)]
    #[case("fd00:1:2::3:75050", false)]
    // Extra edge cases, not upstream.
    #[case("", false)]
    #[case("a..b", false)]
    #[case("a.", false)]
    #[case("a:", false)]
    #[case("[]", false)]
    #[case("[::1", false)]
    #[case("[::1]:", false)]
    fn domain_regexp(#[case] input: &str, #[case] matches: bool) {
        assert_eq!(is_domain_and_port(input), matches, "{input:?}");
    }

    // regexp_test.go: TestFullNameRegexp
    #[rstest]
    #[case("", None)]
    #[case("short", Some(("", "short")))]
    #[case("simple/name", Some(("simple", "name")))]
    #[case("library/ubuntu", Some(("library", "ubuntu")))]
    #[case("docker/stevvooe/app", Some(("docker", "stevvooe/app")))]
    #[case(
        "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
        Some(("aa", "aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb"))
    )]
    #[case("aa/aa/bb/bb/bb", Some(("aa", "aa/bb/bb/bb")))]
    #[case("a/a/a/a", Some(("a", "a/a/a")))]
    #[case("a/a/a/a/", None)]
    #[case("a//a/a", None)]
    #[case("a", Some(("", "a")))]
    #[case("a/aa", Some(("a", "aa")))]
    #[case("a/aa/a", Some(("a", "aa/a")))]
    #[case("foo.com", Some(("", "foo.com")))]
    #[case("foo.com/", None)]
    #[case("foo.com:8080/bar", Some(("foo.com:8080", "bar")))]
    #[case("foo.com:http/bar", None)]
    #[case("foo.com/bar", Some(("foo.com", "bar")))]
    #[case("foo.com/bar/baz", Some(("foo.com", "bar/baz")))]
    #[case("localhost:8080/bar", Some(("localhost:8080", "bar")))]
    #[case("sub-dom1.foo.com/bar/baz/quux", Some(("sub-dom1.foo.com", "bar/baz/quux")))]
    #[case("blog.foo.com/bar/baz", Some(("blog.foo.com", "bar/baz")))]
    #[case("a^a", None)]
    #[case("aa/asdf$$^/aa", None)]
    #[case("asdf$$^/aa", None)]
    #[case("aa-a/a", Some(("aa-a", "a")))]
    #[case("a-/a/a/a", None)]
    #[case("foo.com/a-/a/a", None)]
    #[case("-foo/bar", None)]
    #[case("foo/bar-", None)]
    #[case("foo-/bar", None)]
    #[case("foo/-bar", None)]
    #[case("_foo/bar", None)]
    #[case("foo_bar", Some(("", "foo_bar")))]
    #[case("foo_bar.com", Some(("", "foo_bar.com")))]
    #[case("foo_bar.com:8080", None)]
    #[case("foo_bar.com:8080/app", None)]
    #[case("foo.com/foo_bar", Some(("foo.com", "foo_bar")))]
    #[case("____/____", None)]
    #[case("_docker/_docker", None)]
    #[case("docker_/docker_", None)]
    #[case("b.gcr.io/test.example.com/my-app", Some(("b.gcr.io", "test.example.com/my-app")))]
    #[case("xn--n3h.com/myimage", Some(("xn--n3h.com", "myimage")))]
    #[case("xn--7o8h.com/myimage", Some(("xn--7o8h.com", "myimage")))]
    #[case(
        "example.com/xn--7o8h.com/myimage",
        Some(("example.com", "xn--7o8h.com/myimage"))
    )]
    #[case(
        "example.com/some_separator__underscore/myimage",
        Some(("example.com", "some_separator__underscore/myimage"))
    )]
    #[case("example.com/__underscore/myimage", None)]
    #[case("example.com/..dots/myimage", None)]
    #[case("example.com/.dots/myimage", None)]
    #[case("example.com/nodouble..dots/myimage", None)]
    #[case("docker./docker", None)]
    #[case(".docker/docker", None)]
    #[case("docker-/docker", None)]
    #[case("-docker/docker", None)]
    #[case("do..cker/docker", None)]
    #[case("do__cker:8080/docker", None)]
    #[case("do__cker/docker", Some(("", "do__cker/docker")))]
    #[case(
        "registry.io/foo/project--id.module--name.ver---sion--name",
        Some(("registry.io", "foo/project--id.module--name.ver---sion--name"))
    )]
    #[case("Asdf.com/foo/bar", Some(("Asdf.com", "foo/bar")))]
    #[case("Foo/FarB", None)]
    fn full_name_regexp(#[case] input: &str, #[case] expected: Option<(&str, &str)>) {
        assert_eq!(split_name(input), expected, "{input:?}");
    }

    #[test]
    fn full_name_regexp_long() {
        // regexp_test.go: strings.Repeat("a/", 128) + "a"
        let input = format!("{}a", "a/".repeat(128));
        let path = format!("{}a", "a/".repeat(127));
        assert_eq!(split_name(&input), Some(("a", path.as_str())));
    }

    const D: &str = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";

    fn parts<'a>(
        name: &'a str,
        tag: &'a str,
        digest: &'a str,
    ) -> Option<(&'a str, &'a str, &'a str)> {
        Some((name, tag, digest))
    }

    // regexp_test.go: TestReferenceRegexp. Expected values are the three
    // capture groups (name, tag, digest), "" when absent.
    #[rstest]
    #[case(
        "registry.com:8080/myapp:tag",
        parts("registry.com:8080/myapp", "tag", "")
    )]
    #[case(&format!("registry.com:8080/myapp@{D}"), parts("registry.com:8080/myapp", "", D))]
    #[case(&format!("registry.com:8080/myapp:tag2@{D}"), parts("registry.com:8080/myapp", "tag2", D))]
    #[case("registry.com:8080/myapp@sha256:badbadbadbad", None)]
    #[case("registry.com:8080/myapp:invalid~tag", None)]
    #[case("bad_hostname.com:8080/myapp:tag", None)]
    // localhost treated as name, missing tag with 8080 as tag
    #[case(&format!("localhost:8080@{D}"), parts("localhost", "8080", D))]
    #[case(&format!("localhost:8080/name@{D}"), parts("localhost:8080/name", "", D))]
    #[case(&format!("localhost:http/name@{D}"), None)]
    // localhost will be treated as an image name without a host
    #[case(&format!("localhost@{D}"), parts("localhost", "", D))]
    #[case("registry.com:8080/myapp@bad", None)]
    #[case("registry.com:8080/myapp@2bad", None)]
    fn reference_regexp(#[case] input: &str, #[case] expected: Option<(&str, &str, &str)>) {
        let got = split_reference(input);
        let expected_name = expected.map(|(name, _, _)| name.to_owned());
        let got_name = got.map(|p| {
            if p.domain.is_empty() {
                p.path.to_owned()
            } else {
                format!("{}/{}", p.domain, p.path)
            }
        });
        assert_eq!(got_name, expected_name, "{input:?}");
        if let (Some(p), Some((_, tag, digest))) = (got, expected) {
            assert_eq!(p.tag.unwrap_or(""), tag);
            assert_eq!(p.digest.unwrap_or(""), digest);
        }
    }

    // regexp_test.go: TestIdentifierRegexp
    #[rstest]
    #[case(
        "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
        true
    )]
    #[case(
        "7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C",
        false
    )]
    #[case("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", false)]
    #[case(
        "sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
        false
    )]
    #[case(
        "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482",
        false
    )]
    fn identifier_regexp(#[case] input: &str, #[case] matches: bool) {
        assert_eq!(is_identifier(input), matches);
    }

    #[rstest]
    #[case("a", true)]
    #[case("a.b", true)]
    #[case("a_b", true)]
    #[case("a__b", true)]
    #[case("a-b", true)]
    #[case("a---b", true)]
    #[case("a___b", false)]
    #[case("a._b", false)]
    #[case("a-", false)]
    #[case("-a", false)]
    #[case("a.", false)]
    #[case(".a", false)]
    #[case("a_", false)]
    #[case("A", false)]
    #[case("", false)]
    fn path_component(#[case] input: &str, #[case] matches: bool) {
        assert_eq!(is_path_component(input), matches, "{input:?}");
    }

    #[rstest]
    #[case("sha256:0123456789abcdef0123456789abcdef", true)]
    #[case("sha256:0123456789ABCDEF0123456789abcdef", true)]
    #[case("sha256:0123456789abcdef0123456789abcde", false)]
    #[case("sha256+b64:0123456789abcdef0123456789abcdef", true)]
    #[case("sha256++b64:0123456789abcdef0123456789abcdef", false)]
    #[case("2sha:0123456789abcdef0123456789abcdef", false)]
    #[case(":0123456789abcdef0123456789abcdef", false)]
    #[case("sha256", false)]
    fn reference_digest(#[case] input: &str, #[case] matches: bool) {
        assert_eq!(is_reference_digest(input), matches, "{input:?}");
    }
}
