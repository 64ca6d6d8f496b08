//! `lade system check [--repair]`

use lade_store::Store;

use crate::cli::CheckArgs;
use crate::settings::Settings;

pub fn run(args: &CheckArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let mut report = store.check(args.repair)?;
    if report.records_rebuilt {
        let n = lade_ops::df::measure_layers(&store)?;
        if n > 0 {
            report
                .repairs
                .push(format!("read {n} layers again for their sizes"));
        }
    }
    crate::output::print_check(
        &report.problems,
        &report.repairs,
        &format!(
            "{} blobs and {} index entries",
            report.blobs_checked, report.images_checked
        ),
        report.damaged() && !args.repair,
        args.repair,
        "run `lade system check --repair` to rebuild lade's records and drop damaged images (pull or import those again)",
    )
}
