//! `lade image export IMAGE [-o FILE]`

use std::io::{self, IsTerminal};

use anyhow::{Context, bail};
use lade_ops::export::{ExportTarget, export};
use lade_store::Store;

use crate::cli::ExportArgs;
use crate::commands::save::{ByteProgress, TERMINAL_REFUSAL};
use crate::settings::Settings;

pub fn run(args: &ExportArgs, settings: &Settings) -> anyhow::Result<i32> {
    if args.output.is_none() && io::stdout().is_terminal() {
        bail!(TERMINAL_REFUSAL);
    }
    let store = Store::open(&settings.root)?;
    let progress = ByteProgress::new(args.quiet, "Exporting");
    let result = match &args.output {
        Some(path) => export(&store, &args.image, ExportTarget::Path(path), &progress),
        None => export(
            &store,
            &args.image,
            ExportTarget::Stream(&mut io::stdout().lock()),
            &progress,
        ),
    };
    progress.finish();
    result.context("failed to export")?;
    Ok(crate::exit::SUCCESS)
}
