//! Serde glue for [`Digest`], which lives in a crate without serde:
//! `#[serde(with = "lade_oci::serde_digest")]`.
//!
//! Human-readable formats (JSON) get the string `algorithm:hex`; binary ones (lade's
//! own metadata) the hash value's bytes, whose length says the algorithm.

use lade_reference::Digest;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&d.spelled())
    } else {
        s.serialize_bytes(d.as_bytes())
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(DigestVisitor)
    } else {
        d.deserialize_bytes(DigestVisitor)
    }
}

/// Parses the string where the deserializer holds it (no copy: stores parse some
/// 60,000 digests per command).
struct DigestVisitor;

impl serde::de::Visitor<'_> for DigestVisitor {
    type Value = Digest;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a digest string")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Digest, E> {
        Digest::parse(s).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Digest, E> {
        if let Ok(h) = <&[u8; 32]>::try_from(b) {
            Ok(Digest::from_sha256_bytes(h))
        } else if let Ok(h) = <&[u8; 64]>::try_from(b) {
            Ok(Digest::from_sha512_bytes(h))
        } else {
            Err(E::invalid_length(b.len(), &"a 32- or 64-byte hash"))
        }
    }
}

pub mod vec {
    use super::*;
    use serde::ser::SerializeSeq;

    struct One<'a>(&'a Digest);

    impl serde::Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, s)
        }
    }

    pub fn serialize<S: Serializer>(v: &[Digest], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for d in v {
            seq.serialize_element(&One(d))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Digest>, D::Error> {
        #[derive(Deserialize)]
        struct One(#[serde(with = "super")] Digest);
        let v = <Vec<One>>::deserialize(d)?;
        Ok(v.into_iter().map(|One(d)| d).collect())
    }
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Digest>, s: S) -> Result<S::Ok, S::Error> {
        struct One<'a>(&'a Digest);
        impl serde::Serialize for One<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::serialize(self.0, s)
            }
        }
        match v {
            Some(d) => s.serialize_some(&One(d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Digest>, D::Error> {
        #[derive(Deserialize)]
        struct One(#[serde(with = "super")] Digest);
        Ok(<Option<One>>::deserialize(d)?.map(|One(d)| d))
    }
}
