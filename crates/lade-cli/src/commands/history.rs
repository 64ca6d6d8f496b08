//! `lade history IMAGE` / `lade image history`: one row per step, printed through
//! Docker's `--format` (the default is Docker's own table template).

use lade_ops::{HistoryEntry, HistoryError, history};
use lade_store::Store;
use serde_json::{Value, json};

use crate::cli::HistoryArgs;
use crate::format::{self, Fields};
use crate::output::{ellipsis, human_size, rfc3339_local, since};
use crate::settings::Settings;

/// The fields of a row and their column headers (Docker's `HistoryWrite`).
const FIELDS: Fields = &[
    ("Comment", "COMMENT"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("CreatedSince", "CREATED"),
    ("ID", "IMAGE"),
    ("Size", "SIZE"),
];

const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const TABLE_NOT_HUMAN: &str =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

/// Docker's `NewHistoryFormat`: a format of the user's own wins over `-q`.
fn history_format(flag: Option<&str>, quiet: bool, human: bool) -> &str {
    match format::source(flag) {
        "table" if quiet => "{{.ID}}",
        "table" if !human => TABLE_NOT_HUMAN,
        "table" => TABLE,
        own => own,
    }
}

pub fn run(args: &HistoryArgs, settings: &Settings) -> anyhow::Result<i32> {
    let template = format::parse(
        history_format(args.format.as_deref(), args.quiet, args.human),
        FIELDS,
    )?;
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let entries = history(&store, &state, &args.image).map_err(|e| match e {
        HistoryError::Lookup(e) => anyhow::Error::from(e),
        HistoryError::Store(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| row(e, !args.no_trunc, args.human, now))
        .collect();
    format::render(&template, &rows, FIELDS, &mut std::io::stdout().lock())?;
    Ok(crate::exit::SUCCESS)
}

/// One step, with Docker's strings (`historyContext`).
fn row(e: &HistoryEntry, trunc: bool, human: bool, now: jiff::Timestamp) -> Value {
    let id = match &e.id {
        Some(id) if trunc => id.short_id().to_string(),
        Some(id) => id.to_string(),
        None => "<missing>".to_owned(),
    };
    let created_at = rfc3339_local(e.created.unwrap_or(jiff::Timestamp::UNIX_EPOCH));
    // Docker shows no age for times before 2000 (and for none).
    let epoch = jiff::Timestamp::constant(946_684_800, 0);
    let created_since = match e.created {
        _ if !human => created_at.clone(),
        Some(t) if t > epoch => since(Some(t), now),
        _ => String::new(),
    };
    let created_by = e.created_by.replace('\t', " ");
    json!({
        "Comment": e.comment,
        "CreatedAt": created_at,
        "CreatedBy": if trunc { ellipsis(&created_by, 45) } else { created_by },
        "CreatedSince": created_since,
        "ID": id,
        "Size": if human { human_size(e.size) } else { e.size.to_string() },
    })
}
