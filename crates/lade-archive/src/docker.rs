//! The Docker-specific files of a `docker save` archive: `manifest.json` and
//! `repositories`.
//!
//! ```text
//! manifest.json  [{"Config":"blobs/sha256/<hex>","RepoTags":["busybox:latest"],
//!                  "Layers":["blobs/sha256/<hex>", …]}, …]
//!                (Docker ≤ 24: "Config":"<hex>.json", "Layers":["<v1 id>/layer.tar", …])
//! repositories   {"busybox":{"latest":"<hex of the top layer's diff ID>"}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One image of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The path of the image config inside the archive.
    #[serde(rename = "Config")]
    pub config: String,
    /// Familiar names (`busybox:latest`); `null` in Docker's files when there are none.
    #[serde(rename = "RepoTags", default, deserialize_with = "null_as_empty")]
    pub repo_tags: Vec<String>,
    /// The paths of the layers inside the archive, bottom first.
    #[serde(rename = "Layers", default, deserialize_with = "null_as_empty")]
    pub layers: Vec<String>,
    /// Descriptors of foreign layers, keyed by diff ID (kept, not used).
    #[serde(
        rename = "LayerSources",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub layer_sources: Option<BTreeMap<String, serde_json::Value>>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// `repositories`: familiar repository name → tag → top layer ID.
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_old_and_new_manifest_json() {
        let old = r#"[{"Config":"abc.json","RepoTags":null,"Layers":["1/layer.tar"]}]"#;
        let items: Vec<ManifestItem> = serde_json::from_str(old).unwrap();
        assert!(items[0].repo_tags.is_empty());
        assert_eq!(items[0].layers, ["1/layer.tar"]);
        let new = r#"[{"Config":"blobs/sha256/a","RepoTags":["a:1"],"Layers":["blobs/sha256/b"],"LayerSources":{"sha256:x":{"mediaType":"m"}}}]"#;
        let items: Vec<ManifestItem> = serde_json::from_str(new).unwrap();
        assert_eq!(items[0].repo_tags, ["a:1"]);
        assert!(items[0].layer_sources.is_some());
    }
}
