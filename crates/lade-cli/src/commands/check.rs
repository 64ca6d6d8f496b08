//! `lade system check [--repair]`

use lade_store::Store;

use crate::cli::CheckArgs;
use crate::settings::Settings;

pub fn run(args: &CheckArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let report = store.check(args.repair)?;
    crate::output::print_check(
        &report.problems,
        &report.repairs,
        &format!(
            "{} blobs and {} index entries",
            report.blobs_checked, report.images_checked
        ),
        report.damaged() && !args.repair,
        args.repair,
        "run `lade system check --repair` to drop what is damaged; pull or import those images again",
    )
}
