//! `lade load [-i FILE|DIR] [-q]`

use std::io::{self, IsTerminal, Write};

use anyhow::{Context, bail};
use lade_oci::Platform;
use lade_ops::load::{LoadOptions, LoadSource, load};
use lade_store::Store;

use crate::cli::LoadArgs;
use crate::commands::save::ByteProgress;
use crate::settings::Settings;

pub fn run(args: &LoadArgs, settings: &Settings) -> anyhow::Result<i32> {
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    if args.input.is_none() && io::stdin().is_terminal() {
        // Docker's words: nothing is piped in.
        bail!(
            "requested load from stdin, but stdin is empty: pass the archive with -i FILE or pipe it in"
        );
    }
    let store = Store::open(&settings.root)?;
    let opts = LoadOptions { platform };
    let progress = ByteProgress::new(args.quiet, "Loading");
    let result = match &args.input {
        Some(path) => load(&store, LoadSource::Path(path), &opts, &progress),
        None => load(
            &store,
            LoadSource::Stream(&mut io::stdin().lock()),
            &opts,
            &progress,
        ),
    };
    progress.finish();
    let loaded = result.context("failed to load")?;
    let mut out = io::stdout().lock();
    for image in &loaded {
        for (name, old) in &image.replaced {
            writeln!(
                out,
                "The image {} already exists, renaming the old one with ID {old} to empty string",
                name.familiar()
            )?;
        }
        for name in &image.names {
            writeln!(out, "Loaded image: {}", name.familiar())?;
        }
        if image.names.is_empty() {
            writeln!(out, "Loaded image ID: {}", image.id)?;
        }
    }
    Ok(crate::exit::SUCCESS)
}
