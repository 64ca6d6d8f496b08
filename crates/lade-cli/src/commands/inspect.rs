//! `lade inspect` / `lade image inspect`: the JSON Docker prints, or `--format` over it.
//!
//! The document has the keys `docker image inspect` prints (API 1.45–1.49: no
//! `Container`, `ContainerConfig`, `VirtualSize`), in its order, and `Config` has every
//! key Docker always prints, `null`/`""`/`false` when the image does not set it. Not
//! printed because lade has no truthful value: `GraphDriver` (no unpacked filesystem;
//! Docker omits it too when a snapshotter is used). Added as Docker does with the
//! containerd store: `Descriptor`, the manifest the image is stored under.
//!
//! `--format` runs on that same JSON as `docker inspect` runs it (`cli/command/inspect`):
//! one output line per image, a missing key is an error, `json` is one compact array,
//! a template that does not parse exits 64 before anything is read, and an image that
//! fails (not found, or the template fails on it) is reported after the others print.

use std::io::{self, Write};

use anyhow::Context;
use lade_ops::resolve_image;
use lade_reference::Reference;
use lade_store::{Image, Store};
use lade_template::Template;
use serde_json::{Map, Value, json};

use crate::cli::InspectArgs;
use crate::settings::Settings;

enum Output {
    /// No format: an indented JSON array.
    Indented,
    /// `json`: a compact JSON array on one line.
    Json,
    Template(Template),
}

pub fn run(args: &InspectArgs, settings: &Settings) -> anyhow::Result<i32> {
    let output = match args.format.as_deref() {
        None | Some("") => Output::Indented,
        Some("json") => Output::Json,
        Some(f) => match Template::parse_inspect(f) {
            Ok(t) => Output::Template(t.with_nil_fields(NIL_FIELDS.iter().copied())),
            Err(e) => {
                writeln!(io::stderr().lock(), "Error: {e}")?;
                return Ok(crate::exit::INSPECT_TEMPLATE);
            }
        },
    };
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let mut docs = Vec::new();
    let mut text = String::new();
    // In the order of the arguments, as Docker reports them.
    let mut errors = Vec::new();
    for what in &args.images {
        let image = match resolve_image(&state, what) {
            Ok(image) => image,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let doc = document(&store, &image, what)?;
        match &output {
            Output::Template(t) => match t.render_one(&doc) {
                Ok(s) => {
                    text.push_str(&s);
                    text.push('\n');
                }
                Err(e) => errors.push(e.to_string()),
            },
            Output::Indented | Output::Json => docs.push(doc),
        }
    }
    match output {
        Output::Indented => text = retab(&serde_json::to_string_pretty(&docs)?) + "\n",
        // As the daemon wrote it: keys in order, `<>&` not escaped.
        Output::Json => text = serde_json::to_string(&docs)? + "\n",
        // Docker prints an empty line when no image printed anything.
        Output::Template(_) if text.is_empty() => text.push('\n'),
        Output::Template(_) => {}
    }
    io::stdout().lock().write_all(text.as_bytes())?;
    if errors.is_empty() {
        return Ok(crate::exit::SUCCESS);
    }
    let mut stderr = io::stderr().lock();
    for e in &errors {
        writeln!(stderr, "Error: {e}")?;
    }
    Ok(crate::exit::FAILURE)
}

/// The document `docker image inspect` prints for one image.
fn document(store: &Store, image: &Image<'_>, what: &str) -> anyhow::Result<Value> {
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
    // Docker: tags in RepoTags, `name@digest` references in RepoDigests, familiar.
    let repo_tags: Vec<String> = image
        .names
        .iter()
        .filter(|n| n.tag().is_some())
        .map(Reference::familiar)
        .collect();
    let mut repo_digests: Vec<String> = Vec::new();
    let recorded = r
        .repo_digests
        .iter()
        .map(|s| Reference::parse_normalized(s).map_or_else(|_| s.clone(), |r| r.familiar()));
    let named = image
        .names
        .iter()
        .filter(|n| n.tag().is_none() && n.digest().is_some())
        .map(Reference::familiar);
    for d in recorded.chain(named) {
        if !repo_digests.contains(&d) {
            repo_digests.push(d);
        }
    }
    let mut doc = Map::new();
    doc.insert("Id".into(), json!(image.id().to_string()));
    doc.insert("RepoTags".into(), json!(repo_tags));
    doc.insert("RepoDigests".into(), json!(repo_digests));
    doc.insert("Parent".into(), json!(""));
    doc.insert("Comment".into(), get("comment"));
    doc.insert("Created".into(), get("created"));
    doc.insert("DockerVersion".into(), get("docker_version"));
    doc.insert("Author".into(), get("author"));
    doc.insert("Config".into(), docker_config(config.get("config")));
    doc.insert("Architecture".into(), get("architecture"));
    if let Some(v) = config.get("variant").filter(|v| non_empty(v)) {
        doc.insert("Variant".into(), v.clone());
    }
    doc.insert("Os".into(), get("os"));
    if let Some(v) = config.get("os.version").filter(|v| non_empty(v)) {
        doc.insert("OsVersion".into(), v.clone());
    }
    doc.insert("Size".into(), json!(r.size()));
    doc.insert(
        "RootFS".into(),
        json!({
            "Type": config.pointer("/rootfs/type").cloned().unwrap_or(json!("layers")),
            "Layers": config.pointer("/rootfs/diff_ids").cloned().unwrap_or(json!([])),
        }),
    );
    doc.insert("Metadata".into(), json!({ "LastTagTime": r.added }));
    doc.insert(
        "Descriptor".into(),
        json!({
            "mediaType": r.manifest_media_type,
            "digest": r.manifest.to_string(),
            "size": r.manifest_size,
        }),
    );
    Ok(Value::Object(doc))
}

/// The keys of `Config` that are slices (`false`) or maps (`true`) in Docker's Go
/// struct: unset, a template prints them as `[]` / `map[]` where JSON says `null`.
const NIL_FIELDS: &[(&str, bool)] = &[
    ("Env", false),
    ("Cmd", false),
    ("Entrypoint", false),
    ("OnBuild", false),
    ("Shell", false),
    ("Volumes", true),
    ("Labels", true),
    ("ExposedPorts", true),
];

/// What Docker prints for a key of `Config` the image does not set.
#[derive(Clone, Copy)]
enum Unset {
    EmptyString,
    False,
    Null,
    /// Nothing: the key is printed only when set (`omitempty`).
    Omitted,
}

/// The keys of Docker's `Config` (its `container.Config`), in Docker's order.
const CONFIG_KEYS: &[(&str, Unset)] = &[
    ("Hostname", Unset::EmptyString),
    ("Domainname", Unset::EmptyString),
    ("User", Unset::EmptyString),
    ("AttachStdin", Unset::False),
    ("AttachStdout", Unset::False),
    ("AttachStderr", Unset::False),
    ("ExposedPorts", Unset::Omitted),
    ("Tty", Unset::False),
    ("OpenStdin", Unset::False),
    ("StdinOnce", Unset::False),
    ("Env", Unset::Null),
    ("Cmd", Unset::Null),
    ("Healthcheck", Unset::Omitted),
    ("ArgsEscaped", Unset::Omitted),
    ("Image", Unset::EmptyString),
    ("Volumes", Unset::Null),
    ("WorkingDir", Unset::EmptyString),
    ("Entrypoint", Unset::Null),
    ("NetworkDisabled", Unset::Omitted),
    ("MacAddress", Unset::Omitted),
    ("OnBuild", Unset::Null),
    ("Labels", Unset::Null),
    ("StopSignal", Unset::Omitted),
    ("StopTimeout", Unset::Omitted),
    ("Shell", Unset::Omitted),
];

/// Go's `omitempty` test: not null, `""`, `false`, `0`, `[]` or `{}`.
fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The image config's `config` as Docker prints it: every key Docker always prints, in
/// its order, then any other key the config has.
fn docker_config(config: Option<&Value>) -> Value {
    let empty = Map::new();
    let given = config.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for &(key, unset) in CONFIG_KEYS {
        let value = match (given.get(key), unset) {
            (Some(v), Unset::Omitted) if !non_empty(v) => continue,
            (Some(v), _) => v.clone(),
            (None, Unset::EmptyString) => json!(""),
            (None, Unset::False) => json!(false),
            (None, Unset::Null) => Value::Null,
            (None, Unset::Omitted) => continue,
        };
        out.insert(key.to_owned(), value);
    }
    for (k, v) in given {
        if !out.contains_key(k) && !CONFIG_KEYS.iter().any(|(c, _)| c == k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_dockers_keys_in_dockers_order() {
        let c = docker_config(Some(&json!({
            "Labels": {"a": "b"},
            "Env": ["A=1"],
            "ExposedPorts": {},
            "StopSignal": "SIGTERM",
            "Custom": 1
        })));
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "Hostname",
                "Domainname",
                "User",
                "AttachStdin",
                "AttachStdout",
                "AttachStderr",
                "Tty",
                "OpenStdin",
                "StdinOnce",
                "Env",
                "Cmd",
                "Image",
                "Volumes",
                "WorkingDir",
                "Entrypoint",
                "OnBuild",
                "Labels",
                "StopSignal",
                "Custom"
            ]
        );
        assert_eq!(c["Env"], json!(["A=1"]));
        assert_eq!(c["Cmd"], Value::Null);
        // An imported image's config has no `config` at all.
        assert_eq!(docker_config(None).as_object().unwrap().len(), 17);
    }
}
