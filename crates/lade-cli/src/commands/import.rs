//! `lade import FILE|- [REPOSITORY[:TAG]]`

use std::io::{self, Write};

use anyhow::Context;
use lade_oci::Platform;
use lade_ops::{ImportOptions, import};
use lade_reference::Reference;
use lade_store::Store;

use crate::cli::ImportArgs;
use crate::settings::Settings;

pub fn run(args: &ImportArgs, settings: &Settings) -> anyhow::Result<i32> {
    let reference = args
        .reference
        .as_deref()
        .map(|r| {
            let r = Reference::parse_normalized(r)?;
            if r.digest().is_some() {
                anyhow::bail!("refusing to create a tag with a digest reference");
            }
            Ok(r.with_default_tag())
        })
        .transpose()?;
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    let store = Store::open(&settings.root)?;
    let opts = ImportOptions {
        reference,
        changes: args.changes.clone(),
        message: args.message.clone(),
        platform,
        source: "-".into(),
        ..ImportOptions::default()
    };
    let imported = if args.file == "-" {
        import(&store, io::stdin().lock(), &opts)
    } else {
        let file = fs_err::File::open(&args.file)?;
        import(&store, file, &opts)
    }
    .context("failed to import")?;
    writeln!(io::stdout().lock(), "{}", imported.id)?;
    Ok(crate::exit::SUCCESS)
}
