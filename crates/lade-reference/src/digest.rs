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
/// Ordering is the ordering of the string form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    encoded: String,
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
        if !encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::InvalidFormat);
        }
        Ok(Digest {
            algorithm,
            encoded: encoded.to_owned(),
        })
    }

    /// The digest of a SHA-256 hash value.
    pub fn from_sha256_bytes(bytes: &[u8; 32]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            encoded: to_hex(bytes),
        }
    }

    /// The digest of a SHA-512 hash value.
    pub fn from_sha512_bytes(bytes: &[u8; 64]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha512,
            encoded: to_hex(bytes),
        }
    }

    /// The algorithm before the `:`.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded (lowercase hex) part after the `:`.
    pub fn hex(&self) -> &str {
        &self.encoded
    }

    /// The first 12 hex characters, as `docker images` shows IDs.
    pub fn short_id(&self) -> &str {
        // Every supported algorithm has at least 64 ASCII hex characters.
        &self.encoded[..12]
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.encoded)
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
}
