//! `Reference::parse_normalized` against the upstream tables of
//! `distribution/reference` `normalize_test.go` and `reference_test.go`,
//! then lade's own table of tricky cases.

use lade_reference::{Digest, Reference, ReferenceError, Tag};
use rstest::rstest;

const D256: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

fn parse(s: &str) -> Result<Reference, ReferenceError> {
    Reference::parse_normalized(s)
}

// normalize_test.go: TestValidateReferenceName, validRepoNames
#[rstest]
#[case("docker/docker")]
#[case("library/debian")]
#[case("debian")]
#[case("docker.io/docker/docker")]
#[case("docker.io/library/debian")]
#[case("docker.io/debian")]
#[case("index.docker.io/docker/docker")]
#[case("index.docker.io/library/debian")]
#[case("index.docker.io/debian")]
#[case("127.0.0.1:5000/docker/docker")]
#[case("127.0.0.1:5000/library/debian")]
#[case("127.0.0.1:5000/debian")]
#[case("192.168.0.1")]
#[case("192.168.0.1:80")]
#[case("192.168.0.1:8/debian")]
#[case("192.168.0.2:25000/debian")]
#[case("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev")]
#[case("[fc00::1]:5000/docker")]
#[case("[fc00::1]:5000/docker/docker")]
#[case("[fc00:1:2:3:4:5:6:7]:5000/library/debian")]
// valid with a hostname: no ambiguity with an identifier
#[case("docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a")]
#[case("Docker/docker")]
#[case("DOCKER/docker")]
fn valid_reference_name(#[case] input: &str) {
    if let Err(e) = parse(input) {
        panic!("{input:?} should be valid: {e}");
    }
}

// normalize_test.go: TestValidateReferenceName, invalidRepoNames
#[rstest]
#[case("https://github.com/docker/docker")]
#[case("docker/Docker")]
#[case("-docker")]
#[case("-docker/docker")]
#[case("-docker.io/docker/docker")]
#[case("docker///docker")]
#[case("docker.io/docker/Docker")]
#[case("docker.io/docker///docker")]
#[case("[fc00::1]")]
#[case("[fc00::1]:5000")]
#[case("fc00::1:5000/debian")]
#[case("[fe80::1%eth0]:5000/debian")]
#[case("[2001:db8:3:4::192.0.2.33]:5000/debian")]
#[case("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a")]
fn invalid_reference_name(#[case] input: &str) {
    assert!(parse(input).is_err(), "{input:?} should be invalid");
}

// normalize_test.go: TestValidateRemoteName, validRepositoryNames
#[rstest]
#[case("docker/docker")]
#[case("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev")]
#[case("docker-rules/docker")]
#[case("docker---rules/docker")]
#[case("doc/docker")]
#[case("d/docker")]
#[case("jess/t")]
#[case("dock__er/docker")]
fn valid_remote_name(#[case] input: &str) {
    if let Err(e) = parse(input) {
        panic!("{input:?} should be valid: {e}");
    }
}

// normalize_test.go: TestValidateRemoteName, invalidRepositoryNames
#[rstest]
#[case("docker/Docker")]
#[case("docker///docker")]
#[case("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a")]
#[case("-docker/docker")]
#[case("docker-/docker")]
#[case("-docker-/docker")]
#[case("____/____")]
#[case("_docker/_docker")]
#[case("dock..er/docker")]
#[case("dock_.er/docker")]
#[case("dock-.er/docker")]
#[case("docker/")]
#[case(
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker"
)]
fn invalid_remote_name(#[case] input: &str) {
    assert!(parse(input).is_err(), "{input:?} should be invalid");
}

// normalize_test.go: TestParseRepositoryInfo.
// (remote name, familiar name, full name, ambiguous name, domain)
#[rstest]
#[case(
    "fooo/bar",
    "fooo/bar",
    "docker.io/fooo/bar",
    "index.docker.io/fooo/bar",
    "docker.io"
)]
#[case(
    "library/ubuntu",
    "ubuntu",
    "docker.io/library/ubuntu",
    "library/ubuntu",
    "docker.io"
)]
#[case(
    "nonlibrary/ubuntu",
    "nonlibrary/ubuntu",
    "docker.io/nonlibrary/ubuntu",
    "",
    "docker.io"
)]
#[case(
    "other/library",
    "other/library",
    "docker.io/other/library",
    "",
    "docker.io"
)]
#[case(
    "private/moonbase",
    "127.0.0.1:8000/private/moonbase",
    "127.0.0.1:8000/private/moonbase",
    "",
    "127.0.0.1:8000"
)]
#[case(
    "privatebase",
    "127.0.0.1:8000/privatebase",
    "127.0.0.1:8000/privatebase",
    "",
    "127.0.0.1:8000"
)]
#[case(
    "private/moonbase",
    "example.com/private/moonbase",
    "example.com/private/moonbase",
    "",
    "example.com"
)]
#[case(
    "privatebase",
    "example.com/privatebase",
    "example.com/privatebase",
    "",
    "example.com"
)]
#[case(
    "private/moonbase",
    "example.com:8000/private/moonbase",
    "example.com:8000/private/moonbase",
    "",
    "example.com:8000"
)]
#[case(
    "privatebasee",
    "example.com:8000/privatebasee",
    "example.com:8000/privatebasee",
    "",
    "example.com:8000"
)]
#[case(
    "library/ubuntu-12.04-base",
    "ubuntu-12.04-base",
    "docker.io/library/ubuntu-12.04-base",
    "index.docker.io/library/ubuntu-12.04-base",
    "docker.io"
)]
#[case(
    "library/foo",
    "foo",
    "docker.io/library/foo",
    "docker.io/foo",
    "docker.io"
)]
#[case(
    "library/foo/bar",
    "library/foo/bar",
    "docker.io/library/foo/bar",
    "",
    "docker.io"
)]
#[case(
    "store/foo/bar",
    "store/foo/bar",
    "docker.io/store/foo/bar",
    "",
    "docker.io"
)]
#[case("bar", "Foo/bar", "Foo/bar", "", "Foo")]
#[case("bar", "FOO/bar", "FOO/bar", "", "FOO")]
fn parse_repository_info(
    #[case] remote_name: &str,
    #[case] familiar_name: &str,
    #[case] full_name: &str,
    #[case] ambiguous_name: &str,
    #[case] domain: &str,
) {
    let mut inputs = vec![familiar_name, full_name];
    if !ambiguous_name.is_empty() {
        inputs.push(ambiguous_name);
    }
    for input in inputs {
        let r = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            r.familiar_name(),
            familiar_name,
            "familiar name of {input:?}"
        );
        assert_eq!(r.to_string(), full_name, "full name of {input:?}");
        assert_eq!(r.name(), full_name, "name of {input:?}");
        assert_eq!(r.domain(), domain, "domain of {input:?}");
        assert_eq!(r.path(), remote_name, "path of {input:?}");
    }
}

// normalize_test.go: TestParseReferenceWithTagAndDigest
#[test]
fn parse_reference_with_tag_and_digest() {
    let short =
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    let r = parse(short).unwrap();
    assert_eq!(r.to_string(), format!("docker.io/library/{short}"));
    assert_eq!(r.tag().map(Tag::as_str), Some("latest"));
    assert!(r.digest().is_some());
    assert_eq!(r.familiar(), short);
}

// normalize_test.go: TestInvalidReferenceComponents
#[test]
fn invalid_reference_components() {
    assert!(parse("-foo").is_err());
    assert!(parse("busybox").is_ok());
    assert_eq!(Tag::parse("-foo"), Err(ReferenceError::InvalidTag));
    assert!(Digest::parse("foo").is_err());
}

// normalize_test.go: TestParseAnyReference, the rows that name a repository
// (lade has no ParseAnyReference; bare IDs are rejected by parse_normalized).
#[rstest]
#[case("redis", "docker.io/library/redis")]
#[case("redis:latest", "docker.io/library/redis:latest")]
#[case("docker.io/library/redis:latest", "docker.io/library/redis:latest")]
#[case(&format!("redis@{D256}"), &format!("docker.io/library/redis@{D256}"))]
#[case(&format!("docker.io/library/redis@{D256}"), &format!("docker.io/library/redis@{D256}"))]
#[case("dmcgowan/myapp", "docker.io/dmcgowan/myapp")]
#[case("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest")]
#[case("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest")]
#[case(&format!("dmcgowan/myapp@{D256}"), &format!("docker.io/dmcgowan/myapp@{D256}"))]
#[case(&format!("docker.io/dmcgowan/myapp@{D256}"), &format!("docker.io/dmcgowan/myapp@{D256}"))]
#[case(
    "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
    "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
)]
#[case("dbcc1", "docker.io/library/dbcc1")]
fn parse_any_reference_named(#[case] input: &str, #[case] equivalent: &str) {
    let r = parse(input).unwrap();
    assert_eq!(r.to_string(), equivalent);
    assert_eq!(parse(equivalent).unwrap(), r);
}

// normalize_test.go: TestNormalizedSplitHostname
#[rstest]
#[case("test.com/foo", "test.com", "foo")]
#[case("test_com/foo", "docker.io", "test_com/foo")]
#[case("docker/migrator", "docker.io", "docker/migrator")]
#[case("test.com:8080/foo", "test.com:8080", "foo")]
#[case("test-com:8080/foo", "test-com:8080", "foo")]
#[case("foo", "docker.io", "library/foo")]
#[case("xn--n3h.com/foo", "xn--n3h.com", "foo")]
#[case("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo")]
#[case("docker.io/foo", "docker.io", "library/foo")]
#[case("docker.io/library/foo", "docker.io", "library/foo")]
#[case("docker.io/library/foo/bar", "docker.io", "library/foo/bar")]
fn normalized_split_hostname(#[case] input: &str, #[case] domain: &str, #[case] path: &str) {
    let r = parse(input).unwrap();
    assert_eq!((r.domain(), r.path()), (domain, path));
}

/// Docker's `ParseDockerRef`, built from the public API: tag+digest keeps
/// only the digest, otherwise `TagNameOnly`.
fn parse_docker_ref(s: &str) -> Reference {
    let r = parse(s).expect("valid reference");
    match r.digest() {
        Some(d) if r.tag().is_some() => r.with_digest(d.clone()),
        _ => r.with_default_tag(),
    }
}

// normalize_test.go: TestParseDockerRef
const E: &str = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
#[rstest]
#[case("busybox", "docker.io/library/busybox:latest")]
#[case("busybox:latest", "docker.io/library/busybox:latest")]
#[case(&format!("busybox@{E}"), &format!("docker.io/library/busybox@{E}"))]
#[case("library/busybox", "docker.io/library/busybox:latest")]
#[case("docker.io/busybox", "docker.io/library/busybox:latest")]
#[case("docker.io/library/busybox", "docker.io/library/busybox:latest")]
#[case("docker.io/busybox:latest", "docker.io/library/busybox:latest")]
#[case("library/busybox:latest", "docker.io/library/busybox:latest")]
#[case("docker.io/library/busybox:latest", "docker.io/library/busybox:latest")]
#[case("gcr.io/library/busybox", "gcr.io/library/busybox:latest")]
#[case(&format!("gcr.io/library/busybox:latest@{E}"), &format!("gcr.io/library/busybox@{E}"))]
fn docker_ref(#[case] input: &str, #[case] expected: &str) {
    let r = parse_docker_ref(input);
    assert_eq!(r.to_string(), expected);
    assert_eq!(parse(expected).unwrap(), r);
}

// reference_test.go: TestWithTag (the row with a 41-character digest is left
// out: lade only holds valid digests).
#[rstest]
#[case("test.com/foo", "tag", "test.com/foo:tag")]
#[case("foo", "tag2", "foo:tag2")]
#[case("test.com:8000/foo", "tag4", "test.com:8000/foo:tag4")]
#[case("test.com:8000/foo", "TAG5", "test.com:8000/foo:TAG5")]
fn with_tag(#[case] name: &str, #[case] tag: &str, #[case] combined: &str) {
    let r = parse(name).unwrap().with_tag(Tag::parse(tag).unwrap());
    assert_eq!(r.familiar(), combined);
}

// reference_test.go: TestSerialization (Display and FromStr are the
// serialization).
#[rstest]
#[case("example.com:8000/named", "example.com:8000/named", "", "")]
#[case(
    "example.com:8000/named:tagged",
    "example.com:8000/named",
    "tagged",
    ""
)]
#[case(
    "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112",
    "other.com/named",
    "",
    "sha256:1234567890098765432112345667890098765432112345667890098765432112"
)]
fn serialization(#[case] input: &str, #[case] name: &str, #[case] tag: &str, #[case] digest: &str) {
    let r: Reference = input.parse().unwrap();
    assert_eq!(r.name(), name);
    assert_eq!(r.tag().map(ToString::to_string).unwrap_or_default(), tag);
    assert_eq!(
        r.digest().map(ToString::to_string).unwrap_or_default(),
        digest
    );
    assert_eq!(r.to_string(), input);
}
