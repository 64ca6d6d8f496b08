//! `index.json` as the store reads and writes it: the entries parsed, and the text of
//! each entry kept while it is unchanged, so that writing the index after a change
//! copies the other entries instead of serializing them again (on a store of 10,000
//! images, serializing them was a third of what a tag cost).
//!
//! An entry another tool wrote keeps its text, fields lade does not know included,
//! until lade changes that entry.

use std::ops::Range;

use lade_oci::{Descriptor, ImageIndex};

/// The store's `index.json`.
#[derive(Debug, Clone)]
pub struct Index {
    /// Everything but the entries (its `manifests` stay empty).
    head: ImageIndex,
    manifests: Vec<Descriptor>,
    /// For each entry of `manifests`, while it is unchanged, its place among the
    /// entries of `text`.
    origins: Vec<Option<usize>>,
    /// How many entries `text` has.
    read: usize,
    /// The document as read; its entries are found in it only when it is written
    /// again (reading alone does not pay for that).
    text: String,
}

impl Index {
    /// Reads the text of an `index.json`.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        let mut head: ImageIndex = serde_json::from_str(&text)?;
        let manifests = std::mem::take(&mut head.manifests);
        Ok(Self {
            origins: (0..manifests.len()).map(Some).collect(),
            read: manifests.len(),
            head,
            manifests,
            text,
        })
    }

    /// The document, with the text as read of each unchanged entry. (Strings, numbers
    /// and maps with string keys: serializing does not fail, but should it, nothing
    /// half-made is returned to be written.)
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        // The head with no entries, in the order and form serde gives it; the entries
        // go between the brackets of its `"manifests":[]`, the first such text in it
        // (a string cannot hold an unescaped quote, and the fields before `manifests`
        // are a number and strings).
        let head = serde_json::to_vec(&self.head)?;
        const EMPTY: &[u8] = b"\"manifests\":[]";
        let Some(at) = memchr::memmem::find(&head, EMPTY).map(|i| i + EMPTY.len() - 1) else {
            let mut all = self.head.clone();
            all.manifests = self.manifests.clone();
            return serde_json::to_vec(&all);
        };
        // The text was parsed as valid JSON; should its entries not be found as they
        // were parsed (a key spelt with escapes), every entry is written afresh.
        let spans = if self.origins.iter().any(Option::is_some) {
            entry_spans(self.text.as_bytes()).filter(|s| s.len() == self.read)
        } else {
            None
        };
        let text_of = |origin: &Option<usize>| {
            let span = spans.as_ref()?.get((*origin)?)?;
            self.text.as_bytes().get(span.clone())
        };
        let mut out = Vec::with_capacity(self.text.len() + head.len() + 512);
        out.extend_from_slice(&head[..at]);
        for (i, (d, origin)) in self.manifests.iter().zip(&self.origins).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match text_of(origin) {
                Some(text) => out.extend_from_slice(text),
                None => serde_json::to_writer(&mut out, d)?,
            }
        }
        out.extend_from_slice(&head[at..]);
        Ok(out)
    }

    /// The entries, in order.
    pub fn manifests(&self) -> &[Descriptor] {
        &self.manifests
    }

    /// Adds an entry at the end.
    pub fn push(&mut self, entry: Descriptor) {
        self.manifests.push(entry);
        self.origins.push(None);
    }

    /// Takes out the entry at `i`.
    pub fn remove(&mut self, i: usize) -> Descriptor {
        self.origins.remove(i);
        self.manifests.remove(i)
    }

    /// Keeps the entries for which `keep` is true, in order. `keep` sees every entry
    /// before anything is removed, so a panic in it leaves the index as it was.
    pub fn retain(&mut self, mut keep: impl FnMut(&Descriptor) -> bool) {
        let kept: Vec<bool> = self.manifests.iter().map(&mut keep).collect();
        let mut k = kept.iter();
        self.manifests
            .retain(|_| k.next().copied().unwrap_or(false));
        let mut k = kept.iter();
        self.origins.retain(|_| k.next().copied().unwrap_or(false));
    }
}

/// The entries still readable in a damaged `index.json`: those of its `manifests`
/// array before the first one that does not parse, so a file cut short or overwritten
/// from some point on gives back what came before that point.
pub fn salvage(bytes: &[u8]) -> Vec<Descriptor> {
    let mut found = Vec::new();
    let Some(key) = memchr::memmem::find(bytes, b"\"manifests\"") else {
        return found;
    };
    let mut i = skip_ws(bytes, key + b"\"manifests\"".len());
    if bytes.get(i) != Some(&b':') {
        return found;
    }
    i = skip_ws(bytes, i + 1);
    if bytes.get(i) != Some(&b'[') {
        return found;
    }
    i += 1;
    loop {
        i = skip_ws(bytes, i);
        let mut entries = serde_json::Deserializer::from_slice(&bytes[i..]).into_iter();
        let Some(Ok(entry)) = entries.next() else {
            return found;
        };
        found.push(entry);
        i = skip_ws(bytes, i + entries.byte_offset());
        if bytes.get(i) != Some(&b',') {
            return found;
        }
        i += 1;
    }
}

impl From<ImageIndex> for Index {
    /// An index whose entries are all written afresh.
    fn from(mut head: ImageIndex) -> Self {
        let manifests = std::mem::take(&mut head.manifests);
        Self {
            origins: vec![None; manifests.len()],
            read: 0,
            head,
            manifests,
            text: String::new(),
        }
    }
}

/// Where each element of the top-level `manifests` array is in `json`, a document
/// already parsed as valid. None when that key is not found as written plainly.
///
/// A scanner for this one question rather than a second parse with serde_json: a
/// parse into raw values cost half as much again as parsing the entries.
fn entry_spans(json: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(json, i);
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(json, i)?;
        let key = &json[i + 1..key_end - 1];
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        if key == b"manifests" {
            return array_elements(json, i);
        }
        i = skip_ws(json, value_end(json, i)?);
        match json.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

/// The elements of the array that starts at `i`.
fn array_elements(json: &[u8], mut i: usize) -> Option<Vec<Range<usize>>> {
    if json.get(i) != Some(&b'[') {
        return None;
    }
    let mut spans = Vec::new();
    i = skip_ws(json, i + 1);
    if json.get(i) == Some(&b']') {
        return Some(spans);
    }
    loop {
        let end = value_end(json, i)?;
        spans.push(i..end);
        i = skip_ws(json, end);
        match json.get(i) {
            Some(b',') => i = skip_ws(json, i + 1),
            Some(b']') => return Some(spans),
            _ => return None,
        }
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while json
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// Just past the string whose opening quote is at `i`.
fn string_end(json: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
        if json[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// Just past the value that starts at `i`.
fn value_end(json: &[u8], mut i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => string_end(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match json.get(i)? {
                    b'"' => {
                        i = string_end(json, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while json
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lade_oci::{ANNOTATION_REF_NAME, media_type};
    use lade_reference::Digest;

    fn entry(n: u8, name: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new(
            media_type::OCI_MANIFEST,
            Digest::from_sha256_bytes(&[n; 32]),
            100 + u64::from(n),
        );
        if let Some(name) = name {
            d.annotations
                .insert(ANNOTATION_REF_NAME.to_owned(), name.to_owned());
        }
        d
    }

    #[test]
    fn a_fresh_index_is_written_as_serde_writes_it() {
        let mut index = ImageIndex::empty();
        index.manifests = vec![entry(1, Some("docker.io/library/a:1")), entry(2, None)];
        index.annotations.insert("k".into(), "v \"quoted\"".into());
        let ours = Index::from(index.clone());
        assert_eq!(ours.to_json().unwrap(), serde_json::to_vec(&index).unwrap());
        let again = Index::parse(String::from_utf8(ours.to_json().unwrap()).unwrap()).unwrap();
        assert_eq!(again.manifests(), index.manifests.as_slice());
        assert_eq!(again.to_json().unwrap(), ours.to_json().unwrap());
    }

    #[test]
    fn unchanged_entries_keep_their_text_and_changed_ones_are_written_afresh() {
        let kept = format!(
            r#"{{ "mediaType": "{}", "digest": "{}",
                 "size": 101, "annotations": {{"{ANNOTATION_REF_NAME}": "docker.io/library/a:1"}},
                 "x-other-tool": [1, 2] }}"#,
            media_type::OCI_MANIFEST,
            Digest::from_sha256_bytes(&[1; 32]),
        );
        let dropped = serde_json::to_string(&entry(2, Some("docker.io/library/b:1"))).unwrap();
        let text = format!(
            "{{\n  \"schemaVersion\": 2,\n  \"manifests\": [ {kept},\n {dropped} ],\n  \"annotations\": {{\"k\": \"v\"}}\n}}"
        );
        let mut index = Index::parse(text).unwrap();
        assert_eq!(
            index.manifests(),
            &[
                entry(1, Some("docker.io/library/a:1")),
                entry(2, Some("docker.io/library/b:1"))
            ]
        );

        index.retain(|d| d.ref_name() != Some("docker.io/library/b:1"));
        index.push(entry(3, None));
        let written = String::from_utf8(index.to_json().unwrap()).unwrap();
        let added = serde_json::to_string(&entry(3, None)).unwrap();
        assert_eq!(
            written,
            format!(
                r#"{{"schemaVersion":2,"manifests":[{kept},{added}],"annotations":{{"k":"v"}}}}"#
            )
        );
        let again = Index::parse(written.clone()).unwrap();
        assert_eq!(
            again.manifests(),
            &[entry(1, Some("docker.io/library/a:1")), entry(3, None)]
        );

        // Removing by position takes the entry's text with it.
        let mut index = again;
        assert_eq!(index.remove(0), entry(1, Some("docker.io/library/a:1")));
        assert_eq!(
            String::from_utf8(index.to_json().unwrap()).unwrap(),
            format!(r#"{{"schemaVersion":2,"manifests":[{added}],"annotations":{{"k":"v"}}}}"#)
        );
    }

    #[test]
    fn entries_are_found_past_strings_that_look_like_structure() {
        let tricky = r#"{"mediaType":"m","digest":"DIGEST","size":7,"annotations":{"a":"],}[{\"\\","b\"]":"x"},"n":[[],{"c":[1,2.5e3,null,true]}]}"#
            .replace("DIGEST", &Digest::from_sha256_bytes(&[7; 32]).to_string());
        let plain = serde_json::to_string(&entry(8, None)).unwrap();
        let text = format!(
            "{{\"annotations\":{{\"manifests\":\"[]\"}},\"schemaVersion\":2,\r\n\t\"manifests\" : [{tricky} ,{plain}]}}"
        );
        assert_eq!(
            entry_spans(text.as_bytes())
                .map(|s| s.iter().map(|r| &text[r.clone()]).collect::<Vec<_>>()),
            Some(vec![tricky.as_str(), plain.as_str()])
        );
        let mut index = Index::parse(text).unwrap();
        index.push(entry(9, None));
        let again = Index::parse(String::from_utf8(index.to_json().unwrap()).unwrap()).unwrap();
        assert_eq!(again.manifests(), index.manifests());
        assert_eq!(
            again.manifests()[0]
                .annotations
                .get("a")
                .map(String::as_str),
            Some("],}[{\"\\")
        );

        // A key spelt with an escape is not looked for: every entry is written afresh.
        let escaped = format!("{{\"schemaVersion\":2,\"manifest\\u0073\":[{plain}]}}");
        let index = Index::parse(escaped).unwrap();
        assert_eq!(index.manifests(), &[entry(8, None)]);
        assert_eq!(
            index.to_json().unwrap(),
            serde_json::to_vec(&ImageIndex {
                manifests: vec![entry(8, None)],
                ..ImageIndex {
                    media_type: None,
                    ..ImageIndex::empty()
                }
            })
            .unwrap()
        );
    }

    #[test]
    fn what_is_readable_of_a_damaged_index_is_salvaged() {
        let entries = [entry(1, Some("a:1")), entry(2, None), entry(3, Some("c:1"))];
        let mut index = ImageIndex::empty();
        index.manifests = entries.to_vec();
        let whole = serde_json::to_vec_pretty(&index).unwrap();
        assert_eq!(salvage(&whole), entries);
        // Cut short inside the third entry; overwritten with zeros from there.
        let third = memchr::memmem::find(&whole, entries[2].digest.hex().as_bytes()).unwrap();
        assert_eq!(salvage(&whole[..third]), entries[..2]);
        let mut zeroed = whole.clone();
        zeroed[third..].fill(0);
        assert_eq!(salvage(&zeroed), entries[..2]);
        // Damaged before its entries, or no index at all: nothing.
        for bytes in [&whole[..20], b"\0\0\0\0", b"{\"manifests\":{}}", b""] {
            assert!(salvage(bytes).is_empty(), "{bytes:?}");
        }
    }

    #[test]
    fn a_damaged_index_is_refused_with_the_place_in_the_file() {
        let good = serde_json::to_string(&entry(1, None)).unwrap();
        let text = format!(
            "{{\"schemaVersion\":2,\"manifests\":[\n{good},\n{{\"mediaType\":\"m\",\"digest\":\"sha256:nothex\",\"size\":1}}]}}"
        );
        let err = Index::parse(text).unwrap_err();
        assert_eq!(err.line(), 3, "{err}");
        for text in [
            "",
            "[]",
            "{\"schemaVersion\":2,\"manifests\":[1]}",
            "{\"manifests\":[]",
        ] {
            assert!(Index::parse(text.to_owned()).is_err(), "{text:?}");
        }
    }
}
