//! `lade search [OPTIONS] TERM`

use std::io::{self, Write};

use anyhow::bail;
use lade_ops::search::{SearchFilters, search};
use serde_json::{Value, json};

use super::pull::Remote;
use crate::cli::SearchArgs;
use crate::format::{self, Fields};
use crate::progress::Renderer;
use crate::settings::Settings;

/// Docker's search fields and their column headers (`formatter/search.go`); the
/// default table shows the first four.
const FIELDS: Fields = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

const TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

pub fn run(args: &SearchArgs, settings: &Settings) -> anyhow::Result<i32> {
    if !(1..=100).contains(&args.limit) {
        bail!("limit {} is outside the range of [1, 100]", args.limit);
    }
    let filters = SearchFilters::parse(&args.filters).map_err(anyhow::Error::msg)?;
    // Checked before asking any registry.
    let template = format::parse(
        match format::source(args.format.as_deref()) {
            "table" => TABLE,
            own => own,
        },
        FIELDS,
    )?;
    let remote = Remote::load(settings)?;
    let renderer = Renderer::new(true);
    let rt = crate::runtime()?;
    if args.list_tags {
        // A short name is resolved as `pull` resolves it (aliases, search registries).
        let (repo, tags) = remote.read(&args.term, &renderer, |registry, reference| {
            Ok(rt.block_on(registry.tags(reference.path()))?)
        })?;
        let name = repo.familiar_name();
        let w = name.len().max(4);
        let mut out = io::stdout().lock();
        writeln!(out, "{:w$}   TAG", "NAME")?;
        for t in tags {
            writeln!(out, "{name:w$}   {t}")?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    // `localhost:5000/redis` names a registry; otherwise each search registry of
    // registries.conf is asked (Docker Hub alone by default), as podman does.
    let (hosts, term) = match args.term.split_once('/') {
        Some((h, rest)) if lade_reference::names_registry(&args.term) => {
            (vec![h.to_owned()], rest.to_owned())
        }
        _ => (remote.conf.search_registries(), args.term.clone()),
    };
    let mut found = Vec::new();
    let mut failed = None;
    for host in &hosts {
        let search_host = if host == "docker.io" {
            "index.docker.io"
        } else {
            host
        };
        let registry = remote.client(search_host, &renderer)?;
        match search(&registry, &term, args.limit, &filters, rt.handle()) {
            Ok(f) => {
                if f.from_catalog {
                    writeln!(
                        io::stderr().lock(),
                        "{host} has no search API: listing the repositories of its catalog whose name contains {term:?}"
                    )?;
                }
                found.extend(f.results.into_iter().map(|r| (host.clone(), r)));
            }
            // One registry that fails does not hide the others' answers.
            Err(e) if hosts.len() > 1 => {
                writeln!(io::stderr().lock(), "WARNING: failed to search {host}: {e}")?;
                failed = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if found.is_empty()
        && let Some(e) = failed
    {
        return Err(anyhow::Error::new(e).context("failed to search every registry"));
    }
    let trunc = |s: &str| {
        if args.no_trunc || s.chars().count() <= 45 {
            s.to_owned()
        } else {
            format!("{}…", s.chars().take(44).collect::<String>())
        }
    };
    let ok = |b: bool| if b { "[OK]" } else { "" };
    let rows: Vec<Value> = found
        .iter()
        .map(|(host, r)| {
            // Docker Hub's names as Docker prints them; other registries' with their host.
            let name = if host == "docker.io" {
                r.name.clone()
            } else {
                format!("{host}/{}", r.name)
            };
            json!({
                "Name": name,
                "Description": trunc(&r.description.replace('\n', " ")),
                "StarCount": r.star_count.to_string(),
                "IsOfficial": ok(r.is_official),
                "IsAutomated": ok(r.is_automated),
            })
        })
        .collect();
    format::render(&template, &rows, FIELDS, &mut io::stdout().lock())?;
    Ok(crate::exit::SUCCESS)
}
