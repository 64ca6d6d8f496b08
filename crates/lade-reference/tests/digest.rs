//! Digest parsing, ported from `opencontainers/go-digest` `digest_test.go`
//! (`TestParseDigest`), plus `is_id_prefix`.

use lade_reference::{Algorithm, Digest, DigestError, is_id_prefix};
use rstest::rstest;

const SHA384_HEX: &str = "d3fc7881460b7e22e3d172954463dddd7866d17597e7248453c48b3e9d26d9596bf9c4a9cf8072c9d5bad76e19af801d";

// digest_test.go: TestParseDigest. go-digest v1.0.0 (what Docker vendors)
// reports a wrong length as "invalid checksum digest length".
#[rstest]
#[case(
    "sha256:e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b",
    Ok((Algorithm::Sha256, "e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b".into()))
)]
// Upstream registers sha384 and blake3 for the test; lade supports sha256
// and sha512 only, so both are well-formed but unsupported here.
#[case(&format!("sha384:{SHA384_HEX}"), Err(DigestError::Unsupported))]
#[case(
    "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    Err(DigestError::Unsupported)
)]
// empty
#[case("", Err(DigestError::InvalidFormat))]
// whitespace only
#[case("     ", Err(DigestError::InvalidFormat))]
// empty hex
#[case("sha256:", Err(DigestError::InvalidFormat))]
// hex with correct length, but whitespace only
#[case(&format!("sha256:{}", " ".repeat(64)), Err(DigestError::InvalidFormat))]
// empty hex
#[case(":", Err(DigestError::InvalidFormat))]
// just hex
#[case("d41d8cd98f00b204e9800998ecf8427e", Err(DigestError::InvalidFormat))]
// not hex
#[case(
    "sha256:d41d8cd98f00b204e9800m98ecf8427e",
    Err(DigestError::InvalidLength)
)]
// too short
#[case("sha256:abcdef0123456789", Err(DigestError::InvalidLength))]
// too short (from different algorithm)
#[case(
    "sha512:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
    Err(DigestError::InvalidLength)
)]
// too short, but blake3 is not registered in lade (nor by default in Docker)
#[case(
    "blake3:abcdef0123456789abcdef0123456789abcdef01234",
    Err(DigestError::Unsupported)
)]
#[case("foo:d41d8cd98f00b204e9800998ecf8427e", Err(DigestError::Unsupported))]
// repeated separators
#[case(&format!("sha384__foo+bar:{SHA384_HEX}"), Err(DigestError::InvalidFormat))]
// parses, but the algorithm is not supported
#[case(&format!("sha384.foo+bar:{SHA384_HEX}"), Err(DigestError::Unsupported))]
#[case(&format!("sha384_foo+bar:{SHA384_HEX}"), Err(DigestError::Unsupported))]
#[case(
    "sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    Err(DigestError::Unsupported)
)]
#[case(
    "sha256:E58FCF7418D4390DEC8E8FB69D88C06EC07039D651FEDD3AA72AF9972E7D046B",
    Err(DigestError::InvalidFormat)
)]
// Not upstream: the other supported algorithm, and more malformed inputs.
#[case(&format!("sha512:{}", "ab".repeat(64)), Ok((Algorithm::Sha512, "ab".repeat(64))))]
#[case(&format!("sha512:{}", "ab".repeat(63)), Err(DigestError::InvalidLength))]
#[case(&format!("sha256:{}", "a".repeat(65)), Err(DigestError::InvalidLength))]
#[case(&format!("sha256:{}", "a".repeat(63)), Err(DigestError::InvalidLength))]
#[case(&format!("sha256:{}g", "a".repeat(63)), Err(DigestError::InvalidFormat))]
#[case(&format!("SHA256:{}", "a".repeat(64)), Err(DigestError::InvalidFormat))]
#[case(&format!("sha256 :{}", "a".repeat(64)), Err(DigestError::InvalidFormat))]
#[case(&format!(" sha256:{}", "a".repeat(64)), Err(DigestError::InvalidFormat))]
#[case(&format!("sha256:{} ", "a".repeat(64)), Err(DigestError::InvalidLength))]
#[case(&format!(":{}", "a".repeat(64)), Err(DigestError::InvalidFormat))]
#[case("sha256", Err(DigestError::InvalidFormat))]
fn parse_digest(#[case] input: &str, #[case] expected: Result<(Algorithm, String), DigestError>) {
    let got = Digest::parse(input);
    match (&got, expected) {
        (Ok(d), Ok((algorithm, hex))) => {
            assert_eq!(d.algorithm(), algorithm);
            assert_eq!(d.hex(), hex);
            assert_eq!(d.to_string(), input);
            assert_eq!(input.parse::<Digest>().as_ref(), Ok(d));
        }
        (got, expected) => assert_eq!(got.clone().map(|_| ()), expected.map(|_| ()), "{input:?}"),
    }
}

#[rstest]
#[case(DigestError::InvalidFormat, "invalid checksum digest format")]
#[case(DigestError::InvalidLength, "invalid checksum digest length")]
#[case(DigestError::Unsupported, "unsupported digest algorithm")]
fn digest_error_messages(#[case] error: DigestError, #[case] message: &str) {
    assert_eq!(error.to_string(), message);
}

#[test]
fn accessors() {
    let d =
        Digest::parse("sha256:e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b")
            .unwrap();
    assert_eq!(d.algorithm(), Algorithm::Sha256);
    assert_eq!(d.algorithm().to_string(), "sha256");
    assert_eq!(Algorithm::Sha512.to_string(), "sha512");
    assert_eq!(Algorithm::Sha256.hex_len(), 64);
    assert_eq!(Algorithm::Sha512.hex_len(), 128);
    assert_eq!(d.short_id(), "e58fcf7418d4");
    assert_eq!(
        d.hex(),
        "e58fcf7418d4390dec8e8fb69d88c06ec07039d651fedd3aa72af9972e7d046b"
    );
}

#[test]
fn from_sha256_bytes() {
    // sha256 of the empty string
    let bytes: [u8; 32] = [
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ];
    let d = Digest::from_sha256_bytes(&bytes);
    assert_eq!(
        d.to_string(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn ordering_follows_the_string_form() {
    let mut digests: Vec<Digest> = [
        format!("sha512:{}", "0".repeat(128)),
        format!("sha256:{}", "f".repeat(64)),
        format!("sha256:{}", "0".repeat(64)),
        format!("sha256:{}", "a".repeat(64)),
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    digests.sort();
    let strings: Vec<String> = digests.iter().map(ToString::to_string).collect();
    let mut sorted = strings.clone();
    sorted.sort();
    assert_eq!(strings, sorted);
}

#[rstest]
#[case("a", true)]
#[case("0123456789ab", true)]
#[case(&"a".repeat(64), true)]
#[case(&"a".repeat(65), false)]
#[case("sha256:a", true)]
#[case(&format!("sha256:{}", "0".repeat(64)), true)]
#[case(&format!("sha256:{}", "0".repeat(65)), false)]
#[case("sha256:", false)]
#[case("sha512:abc", false)]
#[case("", false)]
#[case("ABC", false)]
#[case("abcg", false)]
#[case("redis", false)]
#[case("sha256:ABC", false)]
#[case("sha256:sha256:a", false)]
fn id_prefix(#[case] input: &str, #[case] expected: bool) {
    assert_eq!(is_id_prefix(input), expected, "{input:?}");
}
