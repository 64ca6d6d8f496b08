//! `lade images` / `lade image ls`: rows (one per tag, `<none>` for dangling images)
//! over what `lade_ops::images::list` selects.

use std::io::{self, Write};

use lade_ops::images::{ImageFilters, ImagesError};
use lade_store::Store;

use crate::cli::ImagesArgs;
use crate::output::{human_size, since, write_table};
use crate::settings::Settings;

struct Row {
    repository: String,
    tag: String,
    digest: String,
    id: String,
    created_since: String,
    size: String,
}

pub fn run(args: &ImagesArgs, settings: &Settings) -> anyhow::Result<i32> {
    let now = jiff::Timestamp::now();
    let mut flags = args.filters.clone();
    // Docker turns the REPOSITORY[:TAG] argument into a reference filter.
    flags.extend(args.repository.iter().map(|r| format!("reference={r}")));
    let filters = ImageFilters::parse(&flags, now)?;
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let images = lade_ops::images::list(&state, &filters).map_err(|e| match e {
        ImagesError::Lookup(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    let mut rows = Vec::new();
    for image in &images {
        let id = if args.no_trunc {
            image.id().to_string()
        } else {
            image.id().short_id().to_owned()
        };
        let record = image.record;
        let digest = record
            .repo_digests
            .first()
            .and_then(|d| d.rsplit_once('@').map(|(_, d)| d.to_owned()))
            .unwrap_or_else(|| "<none>".into());
        let common = |repository: String, tag: String| Row {
            repository,
            tag,
            digest: digest.clone(),
            id: id.clone(),
            created_since: since(record.created.as_deref(), now),
            size: human_size(record.size()),
        };
        if image.names.is_empty() {
            rows.push(common("<none>".into(), "<none>".into()));
        }
        for name in &image.names {
            let tag = name
                .tag()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default();
            rows.push(common(name.familiar_name(), tag));
        }
    }

    let mut out = io::stdout().lock();
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                writeln!(out, "{}", r.id)?;
            }
        }
        return Ok(crate::exit::SUCCESS);
    }
    let mut table: Vec<Vec<&str>> = Vec::new();
    let mut header = vec!["REPOSITORY", "TAG"];
    if args.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    table.push(header);
    for r in &rows {
        let mut line = vec![r.repository.as_str(), r.tag.as_str()];
        if args.digests {
            line.push(r.digest.as_str());
        }
        line.extend([r.id.as_str(), r.created_since.as_str(), r.size.as_str()]);
        table.push(line);
    }
    write_table(&mut out, &table)?;
    Ok(crate::exit::SUCCESS)
}
