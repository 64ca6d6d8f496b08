//! `lade manifest inspect`: a manifest or index as the registry serves it, without
//! pulling anything.

use lade_client::{ClientError, FetchedManifest, Registry};
use lade_oci::{Manifest, Platform};
use lade_reference::Reference;
use serde_json::{Value, json};
use tokio::runtime::Handle;

/// What was fetched.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub top: FetchedManifest,
    pub parsed: Manifest,
}

/// Why it could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("no such manifest: {reference}: {source}")]
    NotFound {
        reference: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error(transparent)]
    Client(#[from] Box<ClientError>),
    #[error("invalid manifest for {reference}: {reason}")]
    Invalid { reference: String, reason: String },
}

fn what(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.as_str().to_owned(),
        (None, None) => "latest".into(),
    }
}

/// Fetches the manifest (or index) `reference` names.
pub fn inspect(
    registry: &Registry,
    reference: &Reference,
    rt: &Handle,
) -> Result<Inspected, InspectError> {
    let top = rt
        .block_on(registry.get_manifest(reference.path(), &what(reference)))
        .map_err(|e| match e.status() {
            Some(404) => InspectError::NotFound {
                reference: reference.familiar(),
                source: Box::new(e),
            },
            _ => InspectError::Client(Box::new(e)),
        })?;
    let parsed =
        Manifest::parse(&top.bytes, Some(&top.media_type)).map_err(|e| InspectError::Invalid {
            reference: reference.familiar(),
            reason: e.to_string(),
        })?;
    Ok(Inspected { top, parsed })
}

/// One image as Docker's `manifest inspect --verbose` shows it (its `ImageManifest`):
/// `Ref`, `Descriptor`, `Raw` (the manifest's bytes in base64) and the manifest under
/// `SchemaV2Manifest` or `OCIManifest`, in that order. `None` when the bytes are not JSON.
pub fn verbose_object(reference: &str, descriptor: Value, bytes: &[u8]) -> Option<Value> {
    use base64::Engine as _;
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let key = if descriptor["mediaType"] == lade_oci::media_type::DOCKER_MANIFEST {
        "SchemaV2Manifest"
    } else {
        "OCIManifest"
    };
    let mut out = serde_json::Map::new();
    out.insert("Ref".into(), json!(reference));
    out.insert("Descriptor".into(), descriptor);
    out.insert(
        "Raw".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    out.insert(key.into(), doc);
    Some(Value::Object(out))
}

/// Docker's `manifest inspect --verbose`: for an image, one object with `Ref`,
/// `Descriptor` (platform from the config) and the manifest under `SchemaV2Manifest` or
/// `OCIManifest`; for an index, an array of those, one per entry.
pub fn verbose(
    registry: &Registry,
    reference: &Reference,
    inspected: &Inspected,
    rt: &Handle,
) -> Result<Value, InspectError> {
    let entry =
        |r: String, m: &FetchedManifest, platform: Option<Value>| -> Result<Value, InspectError> {
            let mut descriptor = json!({
                "mediaType": m.media_type,
                "digest": m.digest.to_string(),
                "size": m.bytes.len(),
            });
            if let Some(p) = platform {
                descriptor["platform"] = p;
            }
            verbose_object(&r, descriptor, &m.bytes).ok_or_else(|| InspectError::Invalid {
                reference: r.clone(),
                reason: "the manifest is not JSON".into(),
            })
        };
    let config_platform = |m: &lade_oci::ImageManifest| -> Option<Value> {
        let bytes = rt
            .block_on(registry.get_small_blob(reference.path(), &m.config.digest, m.config.size))
            .ok()?;
        let c: lade_oci::ImageConfig = serde_json::from_slice(&bytes).ok()?;
        let mut p = json!({ "architecture": c.architecture?, "os": c.os? });
        if let Some(v) = c.variant {
            p["variant"] = json!(v);
        }
        Some(p)
    };
    match &inspected.parsed {
        Manifest::Image(m) => entry(reference.to_string(), &inspected.top, config_platform(m)),
        Manifest::Index(i) => {
            let mut list = Vec::new();
            for d in &i.manifests {
                let child = rt
                    .block_on(registry.get_manifest(reference.path(), &d.digest.to_string()))
                    .map_err(|e| InspectError::Client(Box::new(e)))?;
                let platform = d
                    .platform
                    .as_ref()
                    .and_then(|p| serde_json::to_value(p).ok());
                list.push(entry(
                    format!("{}@{}", reference.name(), d.digest),
                    &child,
                    platform,
                )?);
            }
            Ok(Value::Array(list))
        }
    }
}

/// `os/arch[/variant]` and digest of each entry of an index (or the one image).
pub fn platforms(inspected: &Inspected) -> Vec<(String, String)> {
    match &inspected.parsed {
        Manifest::Index(i) => i
            .manifests
            .iter()
            .map(|d| {
                let p = d
                    .platform
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), Platform::to_string);
                (p, d.digest.to_string())
            })
            .collect(),
        Manifest::Image(_) => vec![("(single image)".into(), inspected.top.digest.to_string())],
    }
}
