//! `GET /v1/search`: the shape Docker Hub answers in, so that `docker search` and
//! `lade search` work against this registry. Descriptions come from the newest tag's
//! `org.opencontainers.image.description` annotation or label.

use axum::http::StatusCode;
use axum::response::Response;
use lade_oci::{ANNOTATION_DESCRIPTION, ImageConfig, Manifest};

use crate::AppState;
use crate::error::ApiError;

pub(crate) async fn search(
    s: &AppState,
    query: &str,
    authz: Option<&str>,
) -> Result<Response, ApiError> {
    let param = |k: &str| crate::handlers::query_param(query, k);
    let q = param("q").unwrap_or_default().to_ascii_lowercase();
    let n: usize = param("n")
        .and_then(|n| n.parse().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let page: usize = param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let listed = s.auth.lister(authz);
    let names: Vec<String> = s
        .storage
        .catalog()?
        .into_iter()
        .filter(|name| name.contains(&q))
        .filter(|name| listed(name))
        .collect();
    let results: Vec<serde_json::Value> = names
        .iter()
        .skip((page - 1) * n)
        .take(n)
        .map(|name| {
            serde_json::json!({
                "name": name,
                "description": description(s, name).unwrap_or_default(),
                "star_count": 0,
                "is_official": false,
                "is_automated": false,
            })
        })
        .collect();
    let body = serde_json::json!({
        "num_pages": names.len().div_ceil(n),
        "num_results": names.len(),
        "page_size": n,
        "page": page,
        "query": q,
        "results": results,
    });
    Ok(super::handlers_json(StatusCode::OK, body.to_string()))
}

fn description(s: &AppState, name: &str) -> Option<String> {
    let tags = s.storage.tags(name).ok()??;
    let tag = if tags.iter().any(|t| t == "latest") {
        "latest".to_owned()
    } else {
        tags.last()?.clone()
    };
    let digest = s.storage.resolve_tag(name, &tag)?;
    let (media_type, bytes) = s.storage.get_manifest(name, &digest).ok()??;
    let manifest = match Manifest::parse(&bytes, Some(&media_type)).ok()? {
        Manifest::Image(m) => m,
        Manifest::Index(i) => {
            if let Some(d) = i.annotations.get(ANNOTATION_DESCRIPTION) {
                return Some(d.clone());
            }
            let first = i.manifests.first()?;
            let (mt, b) = s.storage.get_manifest(name, &first.digest).ok()??;
            match Manifest::parse(&b, Some(&mt)).ok()? {
                Manifest::Image(m) => m,
                Manifest::Index(_) => return None,
            }
        }
    };
    if let Some(d) = manifest.annotations.get(ANNOTATION_DESCRIPTION) {
        return Some(d.clone());
    }
    let config: ImageConfig =
        serde_json::from_slice(&fs_err::read(s.storage.blob_path(&manifest.config.digest)).ok()?)
            .ok()?;
    config.labels()?.get(ANNOTATION_DESCRIPTION).cloned()
}
