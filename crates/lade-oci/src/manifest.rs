//! Image manifests and indexes (OCI and Docker schema2 share one shape).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Descriptor, media_type};

/// An image manifest: one config and its layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index, as `index.json` of a new image layout.
    pub fn empty() -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// Why a document could not be read as a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("invalid manifest JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "unsupported manifest format: Docker schema 1 manifests are deprecated and not supported; push the image again with a current client"
    )]
    Schema1,
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("unsupported manifest schemaVersion {0}")]
    SchemaVersion(u32),
}

/// A parsed manifest of either kind.
#[expect(
    clippy::large_enum_variant,
    reason = "a few hundred bytes, parsed once per document; boxing would only add noise"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    config: Option<serde::de::IgnoredAny>,
}

impl Manifest {
    /// Parses a manifest or index. `content_type` is what the transport said (an HTTP
    /// `Content-Type` or a descriptor's media type); the document's own `mediaType` wins
    /// when present, and its shape decides when neither says.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, ManifestError> {
        let probe: Probe = serde_json::from_slice(bytes)?;
        if probe.schema_version == Some(1) {
            return Err(ManifestError::Schema1);
        }
        let mt = probe
            .media_type
            .as_deref()
            .or(content_type.filter(|c| !c.is_empty()));
        let is_index = match mt {
            Some(media_type::DOCKER_SCHEMA1_MANIFEST | media_type::DOCKER_SCHEMA1_SIGNED) => {
                return Err(ManifestError::Schema1);
            }
            Some(m) if media_type::is_index(m) => true,
            Some(m) if media_type::is_image_manifest(m) => false,
            // Artifacts and unknown types: judge by shape.
            _ if probe.manifests.is_some() => true,
            _ if probe.config.is_some() => false,
            Some(m) => return Err(ManifestError::UnsupportedMediaType(m.to_owned())),
            None => return Err(ManifestError::UnsupportedMediaType(String::new())),
        };
        match probe.schema_version {
            Some(2) => {}
            Some(v) => return Err(ManifestError::SchemaVersion(v)),
            None => return Err(ManifestError::SchemaVersion(0)),
        }
        Ok(if is_index {
            Manifest::Index(serde_json::from_slice(bytes)?)
        } else {
            Manifest::Image(serde_json::from_slice(bytes)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_schema2_and_oci() {
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]}"#;
        let Manifest::Image(m) = Manifest::parse(docker, None).unwrap() else {
            panic!("expected an image manifest")
        };
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.config.size, 7023);

        let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7143,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#;
        let Manifest::Index(i) = Manifest::parse(index, Some(media_type::OCI_INDEX)).unwrap()
        else {
            panic!("expected an index")
        };
        assert_eq!(
            i.manifests[0].platform.as_ref().unwrap().variant.as_deref(),
            Some("v7")
        );
    }

    #[test]
    fn refuses_schema1_and_garbage() {
        let s1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(matches!(
            Manifest::parse(s1, None),
            Err(ManifestError::Schema1)
        ));
        assert!(matches!(
            Manifest::parse(b"not json", None),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":3,"config":{}}"#, None),
            Err(ManifestError::SchemaVersion(3))
        ));
        let bad_digest = br#"{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"sha256:zz"},"layers":[]}"#;
        assert!(matches!(
            Manifest::parse(bad_digest, None),
            Err(ManifestError::Json(_))
        ));
    }
}
