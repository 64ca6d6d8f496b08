//! `lade rmi` / `lade image rm|remove`

use std::io::{self, Write};

use lade_ops::{RmiError, RmiOptions, rmi};
use lade_store::Store;

use crate::cli::RmiArgs;
use crate::settings::Settings;

pub fn run(args: &RmiArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let opts = RmiOptions {
        force: args.force,
        no_prune: args.no_prune,
    };
    let report = rmi(&store, &args.images, opts)?;
    super::mount::release_gone(&store)?;
    let mut out = io::stdout().lock();
    let mut errors: Vec<&RmiError> = Vec::new();
    for (_, result) in &report.results {
        match result {
            Ok(items) => {
                for item in items {
                    writeln!(out, "{item}")?;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    out.flush()?;
    if errors.is_empty() {
        return Ok(crate::exit::SUCCESS);
    }
    let mut err = io::stderr().lock();
    for e in &errors {
        writeln!(err, "Error: {e}")?;
    }
    if errors.iter().any(|e| e.is_not_found()) {
        writeln!(err, "hint: `lade images` lists the images in the store")?;
    }
    if errors
        .iter()
        .any(|e| matches!(e, RmiError::Conflict { .. }))
    {
        writeln!(
            err,
            "hint: remove it by name (`lade rmi NAME:TAG`), or pass -f to untag it everywhere and delete it"
        )?;
    }
    // As Docker: with -f, images that are not there are not a failure.
    if args.force && errors.iter().all(|e| e.is_not_found()) {
        return Ok(crate::exit::SUCCESS);
    }
    Ok(crate::exit::FAILURE)
}
