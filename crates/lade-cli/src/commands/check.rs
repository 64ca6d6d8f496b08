//! `lade system check [--repair]`

use std::io::{self, Write};

use lade_store::Store;

use crate::cli::CheckArgs;
use crate::settings::Settings;

pub fn run(args: &CheckArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let report = store.check(args.repair)?;
    let mut out = io::stdout().lock();
    for p in &report.problems {
        writeln!(out, "{p}")?;
    }
    for r in &report.repairs {
        writeln!(out, "repaired: {r}")?;
    }
    writeln!(
        out,
        "checked {} blobs and {} index entries: {} problems{}",
        report.blobs_checked,
        report.images_checked,
        report.problems.len(),
        if args.repair { ", repaired" } else { "" }
    )?;
    if report.damaged() && !args.repair {
        let mut err = io::stderr().lock();
        writeln!(
            err,
            "hint: run `lade system check --repair` to drop what is damaged; pull or import those images again"
        )?;
        return Ok(crate::exit::FAILURE);
    }
    Ok(crate::exit::SUCCESS)
}
