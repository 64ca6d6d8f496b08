//! A descriptor's annotations (and an image record's labels): a small map kept as a
//! list sorted by key.
//!
//! Most descriptors carry none or one (`org.opencontainers.image.ref.name`), most
//! images a few labels; a `BTreeMap` spends a 500-byte node on each, which a store of
//! 10,000 images pays on every command that reads `index.json` and the records.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Key → value, sorted by key, each key once (JSON objects as `BTreeMap` writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations(Vec<(String, String)>);

/// An image's labels, kept as [`Annotations`] are.
pub type Labels = Annotations;

impl Annotations {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// In key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Annotations {
    /// A key given twice keeps its last value, as in a JSON object.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl Serialize for Annotations {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Annotations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Annotations;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Annotations, A::Error> {
                let mut out = Annotations(Vec::with_capacity(map.size_hint().unwrap_or(1)));
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_map() {
        let text = r#"{"b":"2","a":"1","c":"3","a":"9"}"#;
        let mut a: Annotations = serde_json::from_str(text).unwrap();
        let m: std::collections::BTreeMap<String, String> = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&m).unwrap()
        );
        assert_eq!(a.get("a").map(String::as_str), Some("9"));
        assert_eq!(a.insert("b".into(), "x".into()).as_deref(), Some("2"));
        assert_eq!(a.remove("c").as_deref(), Some("3"));
        assert_eq!(a.remove("c"), None);
        assert!(a.contains_key("b") && !a.contains_key("c"));
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"a":"9","b":"x"}"#);
        a.clear();
        assert!(a.is_empty());
        assert_eq!(serde_json::to_string(&a).unwrap(), "{}");
    }
}
