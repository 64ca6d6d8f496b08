//! `lade image prune` and `lade system prune`: confirm, prune (or plan with
//! `--dry-run`), and print what went in Docker's words.

use std::io::{self, Write};

use lade_ops::{PruneFilters, PruneOptions, Removed, image_prune, system_prune};
use lade_store::Store;

use crate::cli::{ImagePruneArgs, SystemPruneArgs};
use crate::output::{confirm, human_size};
use crate::settings::Settings;

const DANGLING_WARNING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_WARNING: &str =
    "WARNING! This will remove all images.\nAre you sure you want to continue?";

pub fn run_image(args: &ImagePruneArgs, settings: &Settings) -> anyhow::Result<i32> {
    let opts = PruneOptions {
        all: args.all,
        filters: PruneFilters::parse(&args.filters, jiff::Timestamp::now())?,
    };
    let store = Store::open(&settings.root)?;
    if !args.force && !args.dry_run {
        let warning = if args.all {
            ALL_WARNING
        } else {
            DANGLING_WARNING
        };
        if !confirm(warning)? {
            writeln!(io::stdout().lock(), "Total reclaimed space: 0B")?;
            return Ok(crate::exit::SUCCESS);
        }
    }
    let report = image_prune(&store, &opts, args.dry_run)?;
    if !args.dry_run {
        super::mount::release_gone(&store)?;
    }
    let mut out = io::stdout().lock();
    write_images(&mut out, &report.items, args.dry_run)?;
    write_total(&mut out, report.freed.reclaimed, args.dry_run)?;
    Ok(crate::exit::SUCCESS)
}

pub fn run_system(args: &SystemPruneArgs, settings: &Settings) -> anyhow::Result<i32> {
    let opts = PruneOptions {
        all: args.all,
        filters: PruneFilters::parse(&args.filters, jiff::Timestamp::now())?,
    };
    let store = Store::open(&settings.root)?;
    if !args.force && !args.dry_run && !confirm(&system_warning(args))? {
        writeln!(io::stdout().lock(), "Total reclaimed space: 0B")?;
        return Ok(crate::exit::SUCCESS);
    }
    let report = system_prune(&store, &opts, args.dry_run)?;
    if !args.dry_run {
        super::mount::release_gone(&store)?;
    }
    let mut out = io::stdout().lock();
    write_images(&mut out, &report.images.items, args.dry_run)?;
    let verb = if args.dry_run {
        "Will Delete"
    } else {
        "Deleted"
    };
    if !report.orphan_blobs.is_empty() {
        writeln!(out, "{verb} Blobs:")?;
        for (d, _) in &report.orphan_blobs {
            writeln!(out, "{d}")?;
        }
        writeln!(out)?;
    }
    if !report.temp_files.is_empty() {
        writeln!(out, "{verb} Temporary Files:")?;
        for (p, _) in &report.temp_files {
            writeln!(out, "{}", p.display())?;
        }
        writeln!(out)?;
    }
    write_total(&mut out, report.reclaimed(), args.dry_run)?;
    Ok(crate::exit::SUCCESS)
}

/// Docker's `system prune` warning, adapted to what lade keeps.
fn system_warning(args: &SystemPruneArgs) -> String {
    let mut s = String::from("WARNING! This will remove:\n");
    s.push_str(if args.all {
        "  - all images\n"
    } else {
        "  - all dangling images\n"
    });
    s.push_str("  - all blobs no image uses\n  - all leftover temporary files\n");
    if !args.filters.is_empty() {
        s.push_str("\n  Items to be pruned will be filtered with:\n");
        for f in &args.filters {
            s.push_str(&format!("  - {f}\n"));
        }
    }
    s.push_str("\nAre you sure you want to continue?");
    s
}

/// `Deleted Images:` and its lines (lowercase, as Docker's prune prints them).
fn write_images(out: &mut impl Write, items: &[Removed], dry_run: bool) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let verb = if dry_run { "Will Delete" } else { "Deleted" };
    writeln!(out, "{verb} Images:")?;
    for item in items {
        match item {
            Removed::Untagged(name) => writeln!(out, "untagged: {name}")?,
            Removed::Deleted(id) => writeln!(out, "deleted: {id}")?,
        }
    }
    writeln!(out)
}

fn write_total(out: &mut impl Write, reclaimed: u64, dry_run: bool) -> io::Result<()> {
    if dry_run {
        writeln!(
            out,
            "Estimated reclaimable space: {}",
            human_size(reclaimed)
        )
    } else {
        writeln!(out, "Total reclaimed space: {}", human_size(reclaimed))
    }
}
