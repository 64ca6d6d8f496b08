//! lade's own table of tricky references, with the exact messages the docker
//! CLI prints for the bad ones. Expected values follow Docker's
//! `ParseNormalizedNamed` (distribution/reference v0.6).

use lade_reference::{Digest, Reference, ReferenceError, Tag};
use rstest::rstest;

const H64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn hex(n: usize) -> String {
    "a".repeat(n)
}

/// (Display, familiar(), domain, path)
fn ok(display: &str, familiar: &str, domain: &str, path: &str) -> Result<[String; 4], String> {
    Ok([display.into(), familiar.into(), domain.into(), path.into()])
}

fn err(message: &str) -> Result<[String; 4], String> {
    Err(message.into())
}

#[rstest]
// defaults
#[case(
    "redis",
    ok("docker.io/library/redis", "redis", "docker.io", "library/redis")
)]
#[case(
    "redis:7",
    ok("docker.io/library/redis:7", "redis:7", "docker.io", "library/redis")
)]
#[case(
    "myuser/app:1",
    ok("docker.io/myuser/app:1", "myuser/app:1", "docker.io", "myuser/app")
)]
#[case(
    "library/redis",
    ok("docker.io/library/redis", "redis", "docker.io", "library/redis")
)]
#[case(
    "docker.io/redis",
    ok("docker.io/library/redis", "redis", "docker.io", "library/redis")
)]
// index.docker.io folds to docker.io
#[case(
    "index.docker.io/redis",
    ok("docker.io/library/redis", "redis", "docker.io", "library/redis")
)]
#[case(
    "index.docker.io/library/redis:7",
    ok("docker.io/library/redis:7", "redis:7", "docker.io", "library/redis")
)]
#[case("index.docker.io/a/b", ok("docker.io/a/b", "a/b", "docker.io", "a/b"))]
#[case(
    "index.docker.io:443/a",
    ok(
        "index.docker.io:443/a",
        "index.docker.io:443/a",
        "index.docker.io:443",
        "a"
    )
)]
// port or tag
#[case(
    "localhost:5000",
    ok(
        "docker.io/library/localhost:5000",
        "localhost:5000",
        "docker.io",
        "library/localhost"
    )
)]
#[case(
    "localhost:5000/foo:bar",
    ok(
        "localhost:5000/foo:bar",
        "localhost:5000/foo:bar",
        "localhost:5000",
        "foo"
    )
)]
#[case(
    "localhost/foo",
    ok("localhost/foo", "localhost/foo", "localhost", "foo")
)]
#[case(
    "localhost",
    ok(
        "docker.io/library/localhost",
        "localhost",
        "docker.io",
        "library/localhost"
    )
)]
#[case("foo:5000/bar", ok("foo:5000/bar", "foo:5000/bar", "foo:5000", "bar"))]
#[case(
    "foo:5000/bar:5000",
    ok("foo:5000/bar:5000", "foo:5000/bar:5000", "foo:5000", "bar")
)]
#[case(
    "localhost:5000/a/b:t",
    ok(
        "localhost:5000/a/b:t",
        "localhost:5000/a/b:t",
        "localhost:5000",
        "a/b"
    )
)]
#[case(
    "example.com/a",
    ok("example.com/a", "example.com/a", "example.com", "a")
)]
#[case("foo:bar/baz", err("invalid reference format"))]
#[case("foo:/bar", err("invalid reference format"))]
#[case("foo:5000/", err("invalid reference format"))]
#[case("example.com:http/a", err("invalid reference format"))]
// IPv6 domains
#[case(
    "[::1]:5000/foo",
    ok("[::1]:5000/foo", "[::1]:5000/foo", "[::1]:5000", "foo")
)]
#[case("[::1]/foo:t", ok("[::1]/foo:t", "[::1]/foo:t", "[::1]", "foo"))]
#[case(
    "[2001:db8::1]:5000/a/b",
    ok(
        "[2001:db8::1]:5000/a/b",
        "[2001:db8::1]:5000/a/b",
        "[2001:db8::1]:5000",
        "a/b"
    )
)]
#[case("[::1]:5000", err("invalid reference format"))]
#[case("[::1]", err("invalid reference format"))]
#[case("::1/foo", err("invalid reference format"))]
#[case("[::1%lo]:5000/foo", err("invalid reference format"))]
// uppercase: a first component with uppercase is a domain, as in Docker
#[case("Foo/bar", ok("Foo/bar", "Foo/bar", "Foo", "bar"))]
#[case(
    "Example.COM/bar",
    ok("Example.COM/bar", "Example.COM/bar", "Example.COM", "bar")
)]
#[case(
    "redis:TAG",
    ok(
        "docker.io/library/redis:TAG",
        "redis:TAG",
        "docker.io",
        "library/redis"
    )
)]
#[case(
    "library/Redis",
    err("invalid reference format: repository name (library/Redis) must be lowercase")
)]
#[case(
    "Redis",
    err("invalid reference format: repository name (library/Redis) must be lowercase")
)]
#[case(
    "Redis:7",
    err("invalid reference format: repository name (library/Redis) must be lowercase")
)]
#[case(
    "docker.io/Redis",
    err("invalid reference format: repository name (library/Redis) must be lowercase")
)]
#[case(
    "foo/Bar:t",
    err("invalid reference format: repository name (foo/Bar) must be lowercase")
)]
#[case(
    "localhost:5000/Foo",
    err("invalid reference format: repository name (Foo) must be lowercase")
)]
#[case("Foo_bar/baz", err("repository name must be lowercase"))]
#[case(
    "Foo/Bar",
    err("invalid reference format: repository name (Bar) must be lowercase")
)]
// empty components
#[case("", err("invalid reference format"))]
#[case("a//b", err("invalid reference format"))]
#[case("a/", err("invalid reference format"))]
#[case("/a", err("invalid reference format"))]
#[case("a/b/", err("invalid reference format"))]
#[case("example.com/", err("invalid reference format"))]
#[case("redis:", err("invalid reference format"))]
#[case("redis@", err("invalid reference format"))]
#[case(":tag", err("invalid reference format"))]
// separators
#[case("a.b", ok("docker.io/library/a.b", "a.b", "docker.io", "library/a.b"))]
#[case("a_b", ok("docker.io/library/a_b", "a_b", "docker.io", "library/a_b"))]
#[case(
    "a__b",
    ok("docker.io/library/a__b", "a__b", "docker.io", "library/a__b")
)]
#[case(
    "a---b",
    ok("docker.io/library/a---b", "a---b", "docker.io", "library/a---b")
)]
#[case(
    "x/a-b.c_d__e---f",
    ok(
        "docker.io/x/a-b.c_d__e---f",
        "x/a-b.c_d__e---f",
        "docker.io",
        "x/a-b.c_d__e---f"
    )
)]
#[case("a___b", err("invalid reference format"))]
#[case("a-", err("invalid reference format"))]
#[case("-a", err("invalid reference format"))]
#[case("a.", err("invalid reference format"))]
#[case("a..b", err("invalid reference format"))]
#[case("a._b", err("invalid reference format"))]
#[case("_a", err("invalid reference format"))]
#[case("a b", err("invalid reference format"))]
#[case("café", err("invalid reference format"))]
// the first component looks like a domain but is not a valid host: Docker
// keeps it in the path and the domain is empty
#[case("a_b.c/foo", ok("a_b.c/foo", "a_b.c/foo", "", "a_b.c/foo"))]
// tags
#[case(&format!("redis:{}", "t".repeat(128)), ok(&format!("docker.io/library/redis:{}", "t".repeat(128)), &format!("redis:{}", "t".repeat(128)), "docker.io", "library/redis"))]
#[case(&format!("redis:{}", "t".repeat(129)), err("invalid reference format"))]
#[case(
    "redis:_t.-",
    ok(
        "docker.io/library/redis:_t.-",
        "redis:_t.-",
        "docker.io",
        "library/redis"
    )
)]
#[case("redis:.t", err("invalid reference format"))]
#[case("redis:-t", err("invalid reference format"))]
#[case("redis:t:t", err("invalid reference format"))]
#[case("redis:t~", err("invalid reference format"))]
// digests
#[case(&format!("redis@sha256:{H64}"), ok(&format!("docker.io/library/redis@sha256:{H64}"), &format!("redis@sha256:{H64}"), "docker.io", "library/redis"))]
#[case(&format!("redis:7@sha256:{H64}"), ok(&format!("docker.io/library/redis:7@sha256:{H64}"), &format!("redis:7@sha256:{H64}"), "docker.io", "library/redis"))]
#[case(&format!("localhost:5000/a@sha512:{H64}{H64}"), ok(&format!("localhost:5000/a@sha512:{H64}{H64}"), &format!("localhost:5000/a@sha512:{H64}{H64}"), "localhost:5000", "a"))]
#[case(&format!("redis@sha256:{}", "g".repeat(64)), err("invalid reference format"))]
#[case(&format!("redis@sha256:{}", H64.to_uppercase()), err("invalid checksum digest format"))]
#[case(&format!("redis@sha256:{}", hex(63)), err("invalid checksum digest length"))]
#[case(&format!("redis@sha256:{}", hex(65)), err("invalid checksum digest length"))]
#[case(&format!("redis@sha256:{}", hex(31)), err("invalid reference format"))]
#[case(&format!("redis@sha512:{}", hex(64)), err("invalid checksum digest length"))]
// Docker also accepts sha384; lade's Algorithm has sha256 and sha512 only.
#[case(&format!("redis@sha384:{}", hex(96)), err("unsupported digest algorithm"))]
#[case(&format!("redis@md5:{}", hex(32)), err("unsupported digest algorithm"))]
// The lowercase check looks at everything before the first ':', digest included.
#[case(&format!("redis@SHA256:{H64}"), err("invalid reference format: repository name (library/redis@SHA256) must be lowercase"))]
#[case(&format!("redis@sha256:{H64}@sha256:{H64}"), err("invalid reference format"))]
#[case(&format!("@sha256:{H64}"), err("invalid reference format"))]
// Not a digest to parse_normalized: repository "sha256" with a 64-hex tag.
// Callers that accept IDs check `is_id_prefix` / `Digest::parse` first.
#[case(&format!("sha256:{H64}"), ok(&format!("docker.io/library/sha256:{H64}"), &format!("sha256:{H64}"), "docker.io", "library/sha256"))]
#[case("redis@latest", err("invalid reference format"))]
// lengths: the limit is on the path, which includes "library/"
#[case(&hex(247), ok(&format!("docker.io/library/{}", hex(247)), &hex(247), "docker.io", &format!("library/{}", hex(247))))]
#[case(&hex(248), err("repository name must not be more than 255 characters"))]
#[case(&format!("example.com/{}", hex(255)), ok(&format!("example.com/{}", hex(255)), &format!("example.com/{}", hex(255)), "example.com", &hex(255)))]
#[case(&format!("example.com/{}", hex(256)), err("repository name must not be more than 255 characters"))]
#[case(&format!("u/{}", hex(253)), ok(&format!("docker.io/u/{}", hex(253)), &format!("u/{}", hex(253)), "docker.io", &format!("u/{}", hex(253))))]
#[case(&format!("u/{}", hex(254)), err("repository name must not be more than 255 characters"))]
// 64-hex alone looks like an ID
#[case(H64, err(&format!("invalid repository name ({H64}), cannot specify 64-byte hexadecimal strings")))]
#[case(&format!("{H64}:tag"), ok(&format!("docker.io/library/{H64}:tag"), &format!("{H64}:tag"), "docker.io", &format!("library/{H64}")))]
#[case(&format!("docker.io/{H64}"), ok(&format!("docker.io/library/{H64}"), H64, "docker.io", &format!("library/{H64}")))]
#[case(&H64[..63], ok(&format!("docker.io/library/{}", &H64[..63]), &H64[..63], "docker.io", &format!("library/{}", &H64[..63])))]
// familiar: only a single component under library/ is shortened
#[case(
    "library/a/b",
    ok("docker.io/library/a/b", "library/a/b", "docker.io", "library/a/b")
)]
#[case(
    "docker.io/library/library",
    ok("docker.io/library/library", "library", "docker.io", "library/library")
)]
fn parse_normalized(#[case] input: &str, #[case] expected: Result<[String; 4], String>) {
    let got = Reference::parse_normalized(input)
        .map(|r| {
            [
                r.to_string(),
                r.familiar(),
                r.domain().to_owned(),
                r.path().to_owned(),
            ]
        })
        .map_err(|e| e.to_string());
    assert_eq!(got, expected, "{input:?}");
    if let Ok([display, familiar, ..]) = &got {
        let r = Reference::parse_normalized(input).unwrap();
        assert_eq!(
            Reference::parse_normalized(display).as_ref(),
            Ok(&r),
            "display of {input:?}"
        );
        // A familiar form that is 64 hex characters is refused as an ID:
        // see familiar_is_not_always_reparseable.
        if familiar.len() != 64 {
            assert_eq!(
                Reference::parse_normalized(familiar).as_ref(),
                Ok(&r),
                "familiar of {input:?}"
            );
        }
    }
}

#[rstest]
#[case(ReferenceError::InvalidFormat, "invalid reference format")]
#[case(
    ReferenceError::RemoteNameNotLowercase { remote: "library/Redis".into() },
    "invalid reference format: repository name (library/Redis) must be lowercase"
)]
#[case(
    ReferenceError::NameContainsUppercase,
    "repository name must be lowercase"
)]
#[case(
    ReferenceError::NameEmpty,
    "repository name must have at least one component"
)]
#[case(
    ReferenceError::NameTooLong,
    "repository name must not be more than 255 characters"
)]
#[case(ReferenceError::InvalidTag, "invalid tag format")]
#[case(ReferenceError::InvalidDigestFormat, "invalid digest format")]
#[case(
    ReferenceError::Digest(lade_reference::DigestError::InvalidLength),
    "invalid checksum digest length"
)]
fn reference_error_messages(#[case] error: ReferenceError, #[case] message: &str) {
    assert_eq!(error.to_string(), message);
}

#[rstest]
#[case("latest", true)]
#[case("_", true)]
#[case("7.2-alpine", true)]
#[case("UPPER_case", true)]
#[case(&"t".repeat(128), true)]
#[case(&"t".repeat(129), false)]
#[case("", false)]
#[case(".t", false)]
#[case("-t", false)]
#[case("t/t", false)]
#[case("t:t", false)]
#[case("t@t", false)]
#[case("tëst", false)]
fn tag_grammar(#[case] input: &str, #[case] valid: bool) {
    let got = Tag::parse(input);
    if valid {
        assert_eq!(got.as_ref().map(Tag::as_str), Ok(input));
        assert_eq!(got.unwrap().to_string(), input);
    } else {
        assert_eq!(got, Err(ReferenceError::InvalidTag), "{input:?}");
    }
}

#[test]
fn builders() {
    let d: Digest = format!("sha256:{H64}").parse().unwrap();
    let r: Reference = "redis".parse().unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), None);

    let tagged = r.clone().with_default_tag();
    assert_eq!(tagged.to_string(), "docker.io/library/redis:latest");
    assert_eq!(tagged.tag().map(Tag::as_str), Some("latest"));
    // TagNameOnly leaves tagged and digested references alone.
    let seven = r.with_tag(Tag::parse("7").unwrap());
    assert_eq!(seven.clone().with_default_tag(), seven);
    let pinned = r.with_digest(d.clone());
    assert_eq!(pinned.clone().with_default_tag(), pinned);
    assert_eq!(pinned.familiar(), format!("redis@sha256:{H64}"));

    // with_tag drops the digest, with_digest drops the tag.
    let both: Reference = format!("redis:7@sha256:{H64}").parse().unwrap();
    assert_eq!(
        both.with_tag(Tag::parse("8").unwrap()).to_string(),
        "docker.io/library/redis:8"
    );
    assert_eq!(both.with_digest(d.clone()), pinned);
    assert_eq!(both.without_digest(), seven);
    assert_eq!(pinned.without_digest(), r);
    assert_eq!(both.digest(), Some(&d));
    assert_eq!(both.name(), "docker.io/library/redis");
    assert_eq!(both.familiar_name(), "redis");
}

#[test]
fn familiar_is_not_always_reparseable() {
    // A Docker quirk kept on purpose: on docker.io, a first path component
    // that looks like a domain is shown unqualified and reads back as a
    // domain.
    let r: Reference = "docker.io/foo.com/bar".parse().unwrap();
    assert_eq!((r.domain(), r.path()), ("docker.io", "foo.com/bar"));
    assert_eq!(r.familiar(), "foo.com/bar");
    let back: Reference = r.familiar().parse().unwrap();
    assert_eq!(back.domain(), "foo.com");
    // The full form always reads back.
    assert_eq!(r.to_string().parse::<Reference>().unwrap(), r);

    // And an official image named by 64 hex characters prints as what looks
    // like an image ID.
    let r: Reference = format!("docker.io/{H64}").parse().unwrap();
    assert_eq!(r.familiar(), H64);
    assert!(matches!(
        r.familiar().parse::<Reference>(),
        Err(ReferenceError::HexadecimalName { .. })
    ));
    assert_eq!(r.to_string().parse::<Reference>().unwrap(), r);
}
