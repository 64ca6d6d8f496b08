//! `lade system df [-v]`: space used by images, from the recorded sizes (no blob is
//! read). lade has no containers, volumes or build cache, so only the Images row is
//! shown; ACTIVE counts tagged images and RECLAIMABLE is what `image prune` would free.
//!
//! `--format` as Docker's (`formatter/disk_usage.go`): without `-v`, over the rows
//! (`.Type .TotalCount .Active .Size .Reclaimable`); with `-v`, a table format prints
//! the fixed tables and any other runs once over `{Images, Containers, Volumes,
//! BuildCache}`, the images with the fields of `images` (IDs not truncated).

use std::io::{self, Write};

use lade_ops::{DiskUsage, ImageUsage, disk_usage};
use lade_store::Store;
use serde_json::{Value, json};

use crate::cli::DfArgs;
use crate::format::{self, Fields};
use crate::output::{go_time_local, human_size, since, write_table};
use crate::settings::Settings;

/// The fields of a row and their column headers (Docker's `DiskUsageContext`).
const FIELDS: Fields = &[
    ("Active", "ACTIVE"),
    ("Reclaimable", "RECLAIMABLE"),
    ("Size", "SIZE"),
    ("TotalCount", "TOTAL"),
    ("Type", "TYPE"),
];

const TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

pub fn run(args: &DfArgs, settings: &Settings) -> anyhow::Result<i32> {
    let source = format::source(args.format.as_deref());
    let verbose_tables = args.verbose && source.starts_with("table");
    let template = if verbose_tables {
        None
    } else if args.verbose {
        Some(format::parse(source, &[])?)
    } else {
        Some(format::parse(
            if source == "table" { TABLE } else { source },
            FIELDS,
        )?)
    };
    let store = Store::open(&settings.root)?;
    let usage = disk_usage(&store.state()?);
    let now = jiff::Timestamp::now();
    let mut out = io::stdout().lock();
    match template {
        None => verbose_table(&usage, now, &mut out)?,
        Some(t) if args.verbose => {
            let images: Vec<Value> = usage.images.iter().map(|i| image_row(i, now)).collect();
            let all = json!({
                "Images": images,
                "Containers": [],
                "Volumes": [],
                "BuildCache": [],
            });
            // Executed once, without a newline after it, as Docker does.
            let text = t
                .render_one(&all)
                .map_err(|error| format::FormatError { error, fields: &[] })?;
            out.write_all(text.as_bytes())?;
        }
        Some(t) => format::render(&t, &[images_row(&usage)], FIELDS, &mut out)?,
    }
    Ok(crate::exit::SUCCESS)
}

/// The Images row (Docker's `diskUsageImagesContext`).
fn images_row(usage: &DiskUsage) -> Value {
    let reclaimable = match (usage.reclaimable * 100).checked_div(usage.size) {
        Some(pct) => format!("{} ({pct}%)", human_size(usage.reclaimable)),
        None => human_size(usage.reclaimable),
    };
    json!({
        "Active": usage.active.to_string(),
        "Reclaimable": reclaimable,
        "Size": human_size(usage.size),
        "TotalCount": usage.images.len().to_string(),
        "Type": "Images",
    })
}

/// One image of `-v --format` (Docker's `imageContext`, as `verboseWrite` fills it:
/// the first tag only, the full ID, no digest).
fn image_row(i: &ImageUsage, now: jiff::Timestamp) -> Value {
    let (repository, tag) = repository_tag(i);
    let created = i
        .created
        .as_deref()
        .and_then(|c| c.parse::<jiff::Timestamp>().ok());
    json!({
        "Containers": "0",
        "CreatedAt": go_time_local(created),
        "CreatedSince": if created.is_some() { since(created, now) } else { String::new() },
        "Digest": "",
        "ID": i.id.to_string(),
        "Repository": repository,
        "SharedSize": human_size(i.shared_size),
        "Size": human_size(i.size),
        "Tag": tag,
        "UniqueSize": human_size(i.unique_size()),
        "VirtualSize": human_size(i.size),
    })
}

fn repository_tag(i: &ImageUsage) -> (String, String) {
    match &i.name {
        Some(n) => (
            n.familiar_name(),
            n.tag().map(|t| t.as_str().to_owned()).unwrap_or_default(),
        ),
        None => ("<none>".to_owned(), "<none>".to_owned()),
    }
}

/// `-v`: Docker's fixed table of images.
fn verbose_table(usage: &DiskUsage, now: jiff::Timestamp, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "Images space usage:\n")?;
    let mut rows = vec![
        [
            "REPOSITORY",
            "TAG",
            "IMAGE ID",
            "CREATED",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for i in &usage.images {
        let (repository, tag) = repository_tag(i);
        rows.push(vec![
            repository,
            tag,
            i.id.short_id().to_string(),
            since(i.created.as_deref().and_then(|c| c.parse().ok()), now),
            human_size(i.size),
            human_size(i.shared_size),
            human_size(i.unique_size()),
            "0".to_owned(),
        ]);
    }
    write_table(out, &rows)
}
