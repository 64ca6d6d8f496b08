//! `lade inspect` / `lade image inspect`: the JSON Docker prints.

use std::io::{self, Write};

use anyhow::Context;
use lade_ops::resolve_image;
use lade_store::Store;
use serde_json::{Value, json};

use crate::cli::InspectArgs;
use crate::settings::Settings;

pub fn run(args: &InspectArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let mut docs = Vec::new();
    let mut failed = Vec::new();
    for what in &args.images {
        match resolve_image(&state, what) {
            Ok(image) => {
                let config_bytes = store.read_blob(image.id())?;
                let config: Value = serde_json::from_slice(&config_bytes)
                    .with_context(|| format!("the config of {what} is not valid JSON"))?;
                let r = image.record;
                let get = |k: &str| {
                    config
                        .get(k)
                        .cloned()
                        .unwrap_or(Value::String(String::new()))
                };
                let mut doc = json!({
                    "Id": image.id().to_string(),
                    "RepoTags": image.names.iter().map(|n| n.familiar()).collect::<Vec<_>>(),
                    "RepoDigests": r.repo_digests,
                    "Parent": "",
                    "Comment": get("comment"),
                    "Created": get("created"),
                    "DockerVersion": get("docker_version"),
                    "Author": get("author"),
                    "Config": config.get("config").cloned().unwrap_or(Value::Null),
                    "Architecture": get("architecture"),
                });
                if let (Some(v), Some(map)) = (config.get("variant"), doc.as_object_mut()) {
                    map.insert("Variant".into(), v.clone());
                }
                if let Some(map) = doc.as_object_mut() {
                    map.insert("Os".into(), get("os"));
                    map.insert("Size".into(), json!(r.size()));
                    map.insert(
                        "RootFS".into(),
                        json!({
                            "Type": config.pointer("/rootfs/type").cloned().unwrap_or(json!("layers")),
                            "Layers": config.pointer("/rootfs/diff_ids").cloned().unwrap_or(json!([])),
                        }),
                    );
                    map.insert("Metadata".into(), json!({ "LastTagTime": r.added }));
                }
                docs.push(doc);
            }
            Err(e) => failed.push(e),
        }
    }
    let mut out = io::stdout().lock();
    let text = serde_json::to_string_pretty(&docs)?;
    writeln!(out, "{}", retab(&text))?;
    if !failed.is_empty() {
        for e in &failed {
            writeln!(io::stderr().lock(), "Error: {e}")?;
        }
        return Ok(crate::exit::FAILURE);
    }
    Ok(crate::exit::SUCCESS)
}

/// serde_json indents with two spaces; Docker's `inspect` indents with four.
fn retab(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for line in s.lines() {
        let trimmed = line.trim_start_matches(' ');
        let depth = line.len() - trimmed.len();
        out.extend(std::iter::repeat_n(' ', depth * 2));
        out.push_str(trimmed);
        out.push('\n');
    }
    out.pop();
    out
}
