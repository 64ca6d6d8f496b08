//! Content digests (`sha256:<hex>`), validated as go-digest v1.0.0 does.
//!
//! A [`Digest`] is only made by parsing or by hashing, so holding one means
//! the algorithm is supported and the encoded part is lowercase hex of the
//! right length.

use std::fmt;
use std::str::FromStr;

use crate::error::DigestError;
use crate::grammar;

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, 64 hex characters; the canonical algorithm.
    Sha256,
    /// SHA-512, 128 hex characters.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the `:` of a digest.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex characters in the encoded part.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated digest such as `sha256:e3b0c442…`.
///
/// Ordering is the ordering of the string form. The hash value is kept as bytes, a
/// SHA-256 one inline (40 bytes, no allocation: a store of 10,000 images parses some
/// 60,000 digests per command); [`Digest::hex`] spells it out on demand.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    value: Value,
}

/// The hash value; the variant is the algorithm (variants in the order of their names,
/// and bytes compare as their hex does, so the derived ordering is the string form's).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Value {
    Sha256([u8; 32]),
    Sha512(Box<[u8; 64]>),
}

/// As derived, but a SHA-256 value is compared as four big-endian words, inline (the
/// derived order calls `memcmp`: a store's maps of 10,000 digests compare them some
/// million times per command). Big-endian words order as the bytes, so as the hex.
impl Ord for Value {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Value::Sha256(a), Value::Sha256(b)) => words(a).cmp(&words(b)),
            (Value::Sha512(a), Value::Sha512(b)) => a.cmp(b),
            (Value::Sha256(_), Value::Sha512(_)) => std::cmp::Ordering::Less,
            (Value::Sha512(_), Value::Sha256(_)) => std::cmp::Ordering::Greater,
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn words(b: &[u8; 32]) -> [u64; 4] {
    let w = |i: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[8 * i..8 * i + 8]);
        u64::from_be_bytes(x)
    };
    [w(0), w(1), w(2), w(3)]
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Digest {
    /// Parses `algorithm:hex`, following go-digest's `Digest.Validate`:
    /// a missing or misplaced `:` or a malformed string is
    /// [`DigestError::InvalidFormat`]; a well-formed string with an unknown
    /// algorithm is [`DigestError::Unsupported`]; a known algorithm with the
    /// wrong number of characters is [`DigestError::InvalidLength`]; anything
    /// but lowercase hex is [`DigestError::InvalidFormat`].
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let Some((name, encoded)) = s.split_once(':') else {
            return Err(DigestError::InvalidFormat);
        };
        if name.is_empty() || encoded.is_empty() {
            return Err(DigestError::InvalidFormat);
        }
        let Some(algorithm) = Algorithm::from_name(name) else {
            return Err(if grammar::is_go_digest_shape(s) {
                DigestError::Unsupported
            } else {
                DigestError::InvalidFormat
            });
        };
        if encoded.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength);
        }
        let encoded = encoded.as_bytes();
        let value = match algorithm {
            Algorithm::Sha256 => Value::Sha256(from_hex(encoded)?),
            Algorithm::Sha512 => Value::Sha512(Box::new(from_hex(encoded)?)),
        };
        Ok(Digest { value })
    }

    /// The digest of a SHA-256 hash value.
    pub fn from_sha256_bytes(bytes: &[u8; 32]) -> Digest {
        Digest {
            value: Value::Sha256(*bytes),
        }
    }

    /// The digest of a SHA-512 hash value.
    pub fn from_sha512_bytes(bytes: &[u8; 64]) -> Digest {
        Digest {
            value: Value::Sha512(Box::new(*bytes)),
        }
    }

    /// The algorithm before the `:`.
    pub fn algorithm(&self) -> Algorithm {
        match self.value {
            Value::Sha256(_) => Algorithm::Sha256,
            Value::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// The hash value itself (32 bytes for SHA-256, 64 for SHA-512).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.value {
            Value::Sha256(b) => b,
            Value::Sha512(b) => &b[..],
        }
    }

    /// The encoded (lowercase hex) part after the `:`.
    pub fn hex(&self) -> Hex {
        self.spell("")
    }

    /// The whole digest, `algorithm:hex`, as [`Digest`]'s `Display` writes it,
    /// without allocating (every digest of `index.json` is written this way).
    pub fn spelled(&self) -> Hex {
        match self.algorithm() {
            Algorithm::Sha256 => self.spell("sha256:"),
            Algorithm::Sha512 => self.spell("sha512:"),
        }
    }

    fn spell(&self, prefix: &str) -> Hex {
        let mut out = Hex {
            buf: [0; HEX_BUF],
            len: prefix.len(),
        };
        out.buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let hex = &mut out.buf[prefix.len()..];
        for (i, &b) in self.as_bytes().iter().enumerate() {
            hex[2 * i] = DIGITS[usize::from(b >> 4)];
            hex[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        out.len += 2 * self.as_bytes().len();
        out
    }

    /// The first 12 hex characters, as `docker images` shows IDs.
    pub fn short_id(&self) -> Hex {
        let mut hex = self.hex();
        // Every supported algorithm has at least 64 hex characters.
        hex.len = 12;
        hex
    }
}

/// Lowercase hex to bytes; anything else is [`DigestError::InvalidFormat`].
fn from_hex<const N: usize>(src: &[u8]) -> Result<[u8; N], DigestError> {
    /// Each byte's value as a lowercase hex digit, or `BAD` (a table: a store of
    /// 10,000 images decodes some 60,000 digests per command).
    const BAD: u8 = 0xff;
    const NIBBLE: [u8; 256] = {
        let mut t = [BAD; 256];
        let mut c = 0;
        while c < 10 {
            t[b'0' as usize + c] = c as u8;
            c += 1;
        }
        let mut c = 0;
        while c < 6 {
            t[b'a' as usize + c] = 10 + c as u8;
            c += 1;
        }
        t
    };
    let mut out = [0u8; N];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(src.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    // Every digit is below 16; `BAD` sets the high bits.
    if bad & 0xf0 != 0 {
        return Err(DigestError::InvalidFormat);
    }
    Ok(out)
}

/// Room for `sha512:` and 128 hex digits.
const HEX_BUF: usize = 7 + 128;

/// A digest's hex (or its first 12 characters, or the whole digest: see
/// [`Digest::spelled`]), spelt out on the stack: use it as a `&str` or a path
/// component.
#[derive(Clone, Copy)]
pub struct Hex {
    buf: [u8; HEX_BUF],
    len: usize,
}

impl Hex {
    pub fn as_str(&self) -> &str {
        // Only ASCII (an algorithm's name, `:` and hex digits) is written into `buf`.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::ops::Deref for Hex {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Hex {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<std::path::Path> for Hex {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(self.as_str())
    }
}

impl AsRef<std::ffi::OsStr> for Hex {
    fn as_ref(&self) -> &std::ffi::OsStr {
        std::ffi::OsStr::new(self.as_str())
    }
}

impl PartialEq<str> for Hex {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Hex {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Hex {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelled())
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

/// Whether `s` could name an image by ID or ID prefix: `[0-9a-f]{1,64}` or
/// `sha256:` followed by 1 to 64 lowercase hex characters.
///
/// Callers use it to decide whether to fall back to an ID lookup when a
/// string does not resolve as a reference.
pub fn is_id_prefix(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    grammar::is_identifier_prefix(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_encoding() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x0f;
        let d = Digest::from_sha256_bytes(&bytes);
        assert_eq!(d.to_string(), format!("sha256:ab{}0f", "0".repeat(60)),);
        assert_eq!(d.short_id(), "ab0000000000");
        assert_eq!(Digest::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn sha512_from_bytes() {
        let d = Digest::from_sha512_bytes(&[0xff; 64]);
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert_eq!(d.hex(), "f".repeat(128));
    }

    #[test]
    fn ordering_is_the_string_forms() {
        let strings = [
            format!("sha512:{}", "0".repeat(128)),
            format!("sha256:{}", "f".repeat(64)),
            format!("sha256:0{}", "a".repeat(63)),
            format!("sha256:{}", "0".repeat(64)),
            format!("sha512:{}", "a".repeat(128)),
        ];
        let mut digests: Vec<Digest> = strings.iter().map(|s| s.parse().unwrap()).collect();
        digests.sort();
        let mut sorted = strings.to_vec();
        sorted.sort();
        let back: Vec<String> = digests.iter().map(Digest::to_string).collect();
        assert_eq!(back, sorted);
        assert_eq!(
            format!("{:?}", digests[0]),
            format!("Digest({})", sorted[0])
        );
        // Values that differ in each of the four words, and only in the last byte.
        let mut all = Vec::new();
        for i in 0..32 {
            for v in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut b = [0x55u8; 32];
                b[i] = v;
                all.push(Digest::from_sha256_bytes(&b));
            }
        }
        for a in &all {
            for b in &all {
                assert_eq!(a.cmp(b), a.to_string().cmp(&b.to_string()), "{a} {b}");
            }
        }
    }
}
