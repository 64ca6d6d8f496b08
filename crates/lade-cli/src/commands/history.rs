//! `lade history IMAGE` / `lade image history`

use std::io::{self, Write};

use lade_ops::{HistoryError, history};
use lade_store::Store;

use crate::cli::HistoryArgs;
use crate::output::{ellipsis, human_size, rfc3339_local, since, write_table};
use crate::settings::Settings;

pub fn run(args: &HistoryArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let entries = history(&store, &state, &args.image).map_err(|e| match e {
        HistoryError::Lookup(e) => anyhow::Error::from(e),
        HistoryError::Store(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    let trunc = !args.no_trunc;
    let id = |e: &lade_ops::HistoryEntry| match &e.id {
        Some(id) if trunc => id.short_id().to_owned(),
        Some(id) => id.to_string(),
        None => "<missing>".to_owned(),
    };
    let mut out = io::stdout().lock();
    if args.quiet {
        for e in &entries {
            writeln!(out, "{}", id(e))?;
        }
        return Ok(crate::exit::SUCCESS);
    }
    // Docker shows no age for times before 2000 (and for none).
    let epoch: jiff::Timestamp = jiff::Timestamp::from_second(946_684_800)?;
    let now = jiff::Timestamp::now();
    let mut rows = vec![vec![
        "IMAGE".to_owned(),
        if args.human { "CREATED" } else { "CREATED AT" }.to_owned(),
        "CREATED BY".to_owned(),
        "SIZE".to_owned(),
        "COMMENT".to_owned(),
    ]];
    for e in &entries {
        let created = if args.human {
            match e.created {
                Some(t) if t > epoch => since(Some(&t.to_string()), now),
                _ => String::new(),
            }
        } else {
            rfc3339_local(e.created.unwrap_or(jiff::Timestamp::UNIX_EPOCH))
        };
        let created_by = e.created_by.replace('\t', " ");
        rows.push(vec![
            id(e),
            created,
            if trunc {
                ellipsis(&created_by, 45)
            } else {
                created_by
            },
            if args.human {
                human_size(e.size)
            } else {
                e.size.to_string()
            },
            e.comment.clone(),
        ]);
    }
    write_table(&mut out, &rows)?;
    Ok(crate::exit::SUCCESS)
}
