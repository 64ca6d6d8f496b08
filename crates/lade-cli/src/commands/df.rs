//! `lade system df [-v]`: space used by images, from the recorded sizes (no blob is
//! read). lade has no containers, volumes or build cache, so only the Images row is
//! shown; ACTIVE counts tagged images and RECLAIMABLE is what `image prune` would free.

use std::io::{self, Write};

use lade_ops::disk_usage;
use lade_store::Store;

use crate::cli::DfArgs;
use crate::output::{human_size, since, write_table};
use crate::settings::Settings;

pub fn run(args: &DfArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let usage = disk_usage(&store.state()?);
    let mut out = io::stdout().lock();
    if args.verbose {
        let now = jiff::Timestamp::now();
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
            let (repository, tag) = match &i.name {
                Some(n) => (
                    n.familiar_name(),
                    n.tag().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                ),
                None => ("<none>".to_owned(), "<none>".to_owned()),
            };
            rows.push(vec![
                repository,
                tag,
                i.id.short_id().to_owned(),
                since(i.created.as_deref(), now),
                human_size(i.size),
                human_size(i.shared_size),
                human_size(i.unique_size()),
                "0".to_owned(),
            ]);
        }
        write_table(&mut out, &rows)?;
        return Ok(crate::exit::SUCCESS);
    }
    let reclaimable = match (usage.reclaimable * 100).checked_div(usage.size) {
        Some(pct) => format!("{} ({pct}%)", human_size(usage.reclaimable)),
        None => human_size(usage.reclaimable),
    };
    let rows = vec![
        vec!["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        vec![
            "Images".to_owned(),
            usage.images.len().to_string(),
            usage.active.to_string(),
            human_size(usage.size),
            reclaimable,
        ],
    ];
    write_table(&mut out, &rows)?;
    Ok(crate::exit::SUCCESS)
}
