//! `lade manifest inspect|create|annotate|push|rm`, as `docker manifest` does them.
//! `inspect` shows a local list (what `push` would send), one image of a local list
//! (`inspect LIST IMAGE`), or what a registry serves.

use std::collections::BTreeMap;
use std::io::{self, Write};

use lade_oci::Manifest;
use lade_ops::manifest::{inspect, platforms, verbose};
use lade_ops::manifest_list::{self, Annotation, ListProgress};
use lade_reference::Reference;
use lade_store::{ListEntry, ManifestList, Store};
use serde::Serialize;
use serde_json::Value;

use super::pull::Remote;
use crate::cli::{
    ManifestAnnotateArgs, ManifestCreateArgs, ManifestInspectArgs, ManifestPushArgs, ManifestRmArgs,
};
use crate::progress::Renderer;
use crate::settings::Settings;

/// JSON indented as Go's `json.Indent` / `MarshalIndent` with the given indent.
fn indented(v: &Value, indent: &[u8]) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// Go's `json.Indent(dst, src, "", indent)`: the bytes of the JSON document `src` as
/// they are (strings and numbers untouched, keys in their order), only the whitespace
/// between tokens replaced: a newline and `indent` per level after `{`, `[` and `,`,
/// `": "` after a key, `{}` and `[]` kept empty; whitespace after the document kept.
fn go_indent(src: &[u8], indent: &str) -> anyhow::Result<String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(src)?;
    let mut out = String::with_capacity(src.len() * 2);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    let text = std::str::from_utf8(src)?;
    let (mut depth, mut open) = (0usize, 0usize);
    let (mut in_string, mut escaped, mut need_indent, mut done) = (false, false, false, false);
    for c in text.chars() {
        if done {
            out.push(c);
            continue;
        }
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        if need_indent && c != '}' && c != ']' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                need_indent = true;
                open += 1;
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
                open = open.saturating_sub(1);
                done = open == 0;
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// registries.conf, plus `--insecure` for the registries `names` may be read from.
fn remote(settings: &Settings, names: &[&str], insecure: bool) -> anyhow::Result<Remote> {
    let mut remote = Remote::load(settings)?;
    if insecure {
        for name in names {
            for c in remote.conf.resolve(name)?.candidates {
                remote.transport.mark_insecure(c.domain());
            }
        }
    }
    Ok(remote)
}

/// The local list named `name`, when the store exists and holds one.
fn local_list(settings: &Settings, name: &str) -> anyhow::Result<Option<ManifestList>> {
    if !settings.root.exists() {
        return Ok(None);
    }
    let Ok(reference) = Reference::parse_normalized(name) else {
        return Ok(None);
    };
    let Ok(list) = manifest_list::list_name(&reference) else {
        return Ok(None);
    };
    Ok(Store::open(&settings.root)?.manifest_list(&list.to_string())?)
}

/// An entry of a local list as Docker's `--verbose` shows it (see
/// [`lade_ops::manifest::verbose_object`]), its descriptor with the annotated platform.
fn verbose_entry(e: &ListEntry) -> Value {
    let descriptor = serde_json::to_value(&e.descriptor).unwrap_or(Value::Null);
    lade_ops::manifest::verbose_object(&e.source, descriptor, e.manifest.as_bytes())
        .unwrap_or(Value::Null)
}

/// `manifest inspect LIST IMAGE`: one image of a local list, as Docker prints it (the
/// manifest's own bytes indented with tabs, or `--verbose`), never asking a registry.
fn inspect_entry(
    args: &ManifestInspectArgs,
    settings: &Settings,
    list: &str,
    image: &str,
) -> anyhow::Result<i32> {
    let list = Reference::parse_normalized(list)?;
    let image = Reference::parse_normalized(image)?;
    if !settings.root.exists() {
        return Err(manifest_list::ListError::NoList {
            name: list.familiar(),
        }
        .into());
    }
    let store = Store::open(&settings.root)?;
    let entry = manifest_list::entry(&store, &list, &image)?;
    let mut out = io::stdout().lock();
    if args.raw {
        out.write_all(entry.manifest.as_bytes())?;
    } else if args.platforms {
        let platform = entry
            .descriptor
            .platform
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string);
        writeln!(out, "{:<24} DIGEST", "PLATFORM")?;
        writeln!(out, "{platform:<24} {}", entry.descriptor.digest)?;
    } else if args.verbose {
        writeln!(out, "{}", indented(&verbose_entry(&entry), b"\t")?)?;
    } else {
        writeln!(out, "{}", go_indent(entry.manifest.as_bytes(), "\t")?)?;
    }
    Ok(crate::exit::SUCCESS)
}

pub fn inspect_cmd(args: &ManifestInspectArgs, settings: &Settings) -> anyhow::Result<i32> {
    if let Some(list) = &args.list {
        return inspect_entry(args, settings, list, &args.reference);
    }
    let name = args.reference.as_str();
    let mut out = io::stdout().lock();
    // A local list first, as Docker does: what `manifest push` would send.
    if let Some(list) = local_list(settings, name)? {
        let (_, bytes) = manifest_list::index_document(&list);
        if args.verbose {
            let entries: Vec<Value> = list.entries.iter().map(verbose_entry).collect();
            writeln!(out, "{}", indented(&Value::Array(entries), b"\t")?)?;
        } else {
            out.write_all(&bytes)?;
            writeln!(out)?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    let remote = remote(settings, &[name], args.insecure)?;
    let renderer = Renderer::new(true);
    let rt = crate::runtime()?;
    let (_, text) = remote.read(name, &renderer, |registry, reference| {
        let reference = if reference.digest().is_none() {
            reference.clone().with_default_tag()
        } else {
            reference.clone()
        };
        let inspected = inspect(registry, &reference, rt.handle())?;
        if args.raw {
            return Ok(inspected.top.bytes);
        }
        if args.platforms {
            let mut text = format!("{:<24} DIGEST\n", "PLATFORM");
            for (p, d) in platforms(&inspected) {
                text.push_str(&format!("{p:<24} {d}\n"));
            }
            return Ok(text.into_bytes());
        }
        if args.verbose {
            let v = verbose(registry, &reference, &inspected, rt.handle())?;
            return Ok(format!("{}\n", indented(&v, b"\t")?).into_bytes());
        }
        // As Docker: an image manifest's own bytes indented with tabs, a list
        // re-marshalled with three spaces.
        match inspected.parsed {
            Manifest::Image(_) => {
                Ok(format!("{}\n", go_indent(&inspected.top.bytes, "\t")?).into_bytes())
            }
            Manifest::Index(_) => {
                let doc: Value = serde_json::from_slice(&inspected.top.bytes)?;
                Ok(format!("{}\n", indented(&doc, b"   ")?).into_bytes())
            }
        }
    })?;
    out.write_all(&text)?;
    Ok(crate::exit::SUCCESS)
}

pub fn create(args: &ManifestCreateArgs, settings: &Settings) -> anyhow::Result<i32> {
    let list = Reference::parse_normalized(&args.list)?;
    let names: Vec<&str> = args.manifests.iter().map(String::as_str).collect();
    let remote = remote(settings, &names, args.insecure)?;
    let store = Store::open(&settings.root)?;
    let renderer = Renderer::new(true);
    let rt = crate::runtime()?;
    let mut entries = Vec::new();
    for name in &names {
        let (candidate, mut entry) = remote.read(name, &renderer, |registry, reference| {
            Ok(manifest_list::fetch_entry(
                registry,
                reference,
                rt.handle(),
            )?)
        })?;
        // Named as the user's registry names it, whichever mirror answered.
        entry.source = if candidate.digest().is_some() {
            candidate.to_string()
        } else {
            candidate.with_default_tag().to_string()
        };
        entries.push(entry);
    }
    let created = manifest_list::create(&store, &list, entries, args.amend)?;
    writeln!(
        io::stdout().lock(),
        "Created manifest list {}",
        created.name
    )?;
    Ok(crate::exit::SUCCESS)
}

pub fn annotate(args: &ManifestAnnotateArgs, settings: &Settings) -> anyhow::Result<i32> {
    let list = Reference::parse_normalized(&args.list)?;
    let image = Reference::parse_normalized(&args.manifest)?;
    let store = Store::open(&settings.root)?;
    let annotation = Annotation {
        os: args.os.clone(),
        arch: args.arch.clone(),
        variant: args.variant.clone(),
        os_version: args.os_version.clone(),
        os_features: args.os_features.clone(),
    };
    manifest_list::annotate(&store, &list, &image, &annotation)?;
    Ok(crate::exit::SUCCESS)
}

/// `push` progress: one line each on stderr.
struct Lines<'a>(&'a Renderer);

impl ListProgress for Lines<'_> {
    fn line(&self, line: &str) {
        self.0.println(line);
    }
}

pub fn push(args: &ManifestPushArgs, settings: &Settings) -> anyhow::Result<i32> {
    let list = Reference::parse_normalized(&args.list)?;
    let store = Store::open(&settings.root)?;
    let name = manifest_list::list_name(&list)?.to_string();
    let stored =
        store
            .manifest_list(&name)?
            .ok_or_else(|| lade_ops::manifest_list::ListError::NoList {
                name: list.familiar(),
            })?;
    let mut hosts = vec![list.domain().to_owned()];
    for e in &stored.entries {
        if let Ok(r) = Reference::parse_normalized(&e.source)
            && !hosts.iter().any(|h| h == r.domain())
        {
            hosts.push(r.domain().to_owned());
        }
    }
    let mut remote = Remote::load(settings)?;
    if args.insecure {
        remote.transport.mark_insecure(list.domain());
    }
    let renderer = Renderer::new(false);
    let mut registries = BTreeMap::new();
    for h in hosts {
        let client = remote.client(&h, &renderer)?;
        registries.insert(h, client);
    }
    let rt = crate::runtime()?;
    let pushed = manifest_list::push(&store, &list, &registries, &Lines(&renderer), rt.handle())?;
    writeln!(io::stdout().lock(), "{}", pushed.digest)?;
    if args.purge {
        manifest_list::remove(&store, &list)?;
    }
    Ok(crate::exit::SUCCESS)
}

pub fn rm(args: &ManifestRmArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let mut missing = Vec::new();
    for name in &args.lists {
        let list = Reference::parse_normalized(name)?;
        if !manifest_list::remove(&store, &list)? {
            missing.push(name.clone());
        }
    }
    if !missing.is_empty() {
        anyhow::bail!("No such manifest: {}", missing.join(", "));
    }
    Ok(crate::exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::go_indent;

    #[test]
    fn indents_as_go_json_indent() {
        // What Go's json.Indent(dst, src, "", "\t") writes for the same input.
        let src =
            br#" {"schemaVersion":2, "a" : [ ], "b":{},"c":[1,{"d":"x,\"{:}\\"}],"e":"\u003c&"}
"#;
        let want = "{\n\t\"schemaVersion\": 2,\n\t\"a\": [],\n\t\"b\": {},\n\t\"c\": [\n\t\t1,\n\t\t{\n\t\t\t\"d\": \"x,\\\"{:}\\\\\"\n\t\t}\n\t],\n\t\"e\": \"\\u003c&\"\n}\n";
        assert_eq!(go_indent(src, "\t").unwrap(), want);
        assert_eq!(go_indent(b"{}", "\t").unwrap(), "{}");
        assert!(go_indent(b"{\"a\":", "\t").is_err());
    }
}
