//! `lade manifest inspect [--raw] [--verbose] [--platforms] REF`

use std::io::{self, Write};

use lade_oci::Manifest;
use lade_ops::manifest::{inspect, platforms, verbose};
use lade_reference::Reference;
use serde::Serialize;

use crate::cli::ManifestInspectArgs;
use crate::progress::Renderer;
use crate::settings::Settings;

/// JSON indented as Go's `json.Indent` / `MarshalIndent` with the given indent.
fn indented(v: &serde_json::Value, indent: &[u8]) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

pub fn inspect_cmd(args: &ManifestInspectArgs, settings: &Settings) -> anyhow::Result<i32> {
    let reference = Reference::parse_normalized(&args.reference)?;
    let reference = if reference.digest().is_none() {
        reference.with_default_tag()
    } else {
        reference
    };
    let mut transport_settings = settings.transport.clone();
    if args.insecure {
        transport_settings
            .insecure_registries
            .push(reference.domain().to_owned());
    }
    let renderer = Renderer::new(true);
    let (credential, _) = lade_client::CredentialSources::from_env().get(reference.domain())?;
    let registry = lade_client::Registry::new(reference.domain(), &transport_settings, credential)?;
    let _ = renderer;
    let rt = crate::runtime()?;
    let inspected = inspect(&registry, &reference, rt.handle())?;
    let mut out = io::stdout().lock();
    if args.raw {
        out.write_all(&inspected.top.bytes)?;
        return Ok(crate::exit::SUCCESS);
    }
    if args.platforms {
        writeln!(out, "{:<24} DIGEST", "PLATFORM")?;
        for (p, d) in platforms(&inspected) {
            writeln!(out, "{p:<24} {d}")?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    if args.verbose {
        let v = verbose(&registry, &reference, &inspected, rt.handle())?;
        writeln!(out, "{}", indented(&v, b"\t")?)?;
        return Ok(crate::exit::SUCCESS);
    }
    // As Docker: an image manifest indented with tabs, a list with three spaces.
    let doc: serde_json::Value = serde_json::from_slice(&inspected.top.bytes)?;
    let indent: &[u8] = match inspected.parsed {
        Manifest::Image(_) => b"\t",
        Manifest::Index(_) => b"   ",
    };
    writeln!(out, "{}", indented(&doc, indent)?)?;
    Ok(crate::exit::SUCCESS)
}
