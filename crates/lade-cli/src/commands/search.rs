//! `lade search [OPTIONS] TERM`

use std::io::{self, Write};

use anyhow::bail;
use lade_ops::search::{SearchFilters, search};

use crate::cli::SearchArgs;
use crate::progress::Renderer;
use crate::settings::Settings;

pub fn run(args: &SearchArgs, settings: &Settings) -> anyhow::Result<i32> {
    if !(1..=100).contains(&args.limit) {
        bail!("limit {} is outside the range of [1, 100]", args.limit);
    }
    let filters = SearchFilters::parse(&args.filters).map_err(anyhow::Error::msg)?;
    // `localhost:5000/redis` names a registry; a bare term asks Docker Hub.
    let (host, term) = match args.term.split_once('/') {
        Some((h, rest)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), args.term.clone()),
    };
    let renderer = Renderer::new(true);
    let rt = crate::runtime()?;
    if args.list_tags {
        let registry = super::pull::registry_for(&host, settings, &renderer)?;
        let repo = lade_reference::Reference::parse_normalized(&args.term)?;
        let tags = rt.block_on(registry.tags(repo.path()))?;
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "NAME{}TAG",
            " ".repeat(repo.familiar_name().len().max(4) - 4 + 3)
        )?;
        for t in tags {
            writeln!(
                out,
                "{:w$}   {t}",
                repo.familiar_name(),
                w = repo.familiar_name().len().max(4)
            )?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    let search_host = if host == "docker.io" {
        "index.docker.io"
    } else {
        &host
    };
    let registry = super::pull::registry_for(search_host, settings, &renderer)?;
    let found = search(&registry, &term, args.limit, &filters, rt.handle())?;
    if found.from_catalog {
        writeln!(
            io::stderr().lock(),
            "{host} has no search API: listing the repositories of its catalog whose name contains {term:?}"
        )?;
    }
    let mut out = io::stdout().lock();
    let trunc = |s: &str| {
        if args.no_trunc || s.chars().count() <= 45 {
            s.to_owned()
        } else {
            format!("{}…", s.chars().take(44).collect::<String>())
        }
    };
    let mut rows = vec![vec![
        "NAME".to_owned(),
        "DESCRIPTION".to_owned(),
        "STARS".to_owned(),
        "OFFICIAL".to_owned(),
    ]];
    for r in &found.results {
        let name = if host == "docker.io" {
            r.name.clone()
        } else {
            format!("{host}/{}", r.name)
        };
        rows.push(vec![
            name,
            trunc(&r.description.replace('\n', " ")),
            r.star_count.to_string(),
            if r.is_official {
                "[OK]".into()
            } else {
                String::new()
            },
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(10)
        })
        .collect();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 3,
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(crate::exit::SUCCESS)
}
