//! Serde glue for [`Digest`], which lives in a crate without serde:
//! `#[serde(with = "lade_oci::serde_digest")]`.

use lade_reference::Digest;
use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

pub fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    Digest::parse(&s).map_err(D::Error::custom)
}

pub mod vec {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(v: &[Digest], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for d in v {
            seq.serialize_element(&d.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Digest>, D::Error> {
        let v = <Vec<String>>::deserialize(d)?;
        v.iter()
            .map(|s| Digest::parse(s).map_err(D::Error::custom))
            .collect()
    }
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Digest>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.collect_str(d),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Digest>, D::Error> {
        let v = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        v.map(|s| Digest::parse(&s).map_err(D::Error::custom))
            .transpose()
    }
}
