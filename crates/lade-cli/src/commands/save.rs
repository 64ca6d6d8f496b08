//! `lade save [-o FILE] [--format F] [--compress C] IMAGE...`

use std::io::{self, IsTerminal};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lade_oci::Platform;
use lade_ops::TransferProgress;
use lade_ops::save::{Format, SaveOptions, SaveTarget, StreamCompression, save};
use lade_store::Store;

use crate::cli::SaveArgs;
use crate::settings::Settings;

/// Docker's words when the archive would go to a terminal.
pub const TERMINAL_REFUSAL: &str =
    "cowardly refusing to save to a terminal. Use the -o flag or redirect";

pub fn run(args: &SaveArgs, settings: &Settings) -> anyhow::Result<i32> {
    let format = match args.format.as_str() {
        "oci-archive" => Format::OciArchive,
        "oci-dir" => Format::OciDir,
        _ => Format::DockerArchive,
    };
    let compress = match args.compress.as_deref() {
        Some("gzip") => Some(StreamCompression::Gzip),
        Some("zstd") => Some(StreamCompression::Zstd),
        _ => None,
    };
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    if args.output.is_none() && format != Format::OciDir && io::stdout().is_terminal() {
        bail!(TERMINAL_REFUSAL);
    }
    let store = Store::open(&settings.root)?;
    let opts = SaveOptions {
        format,
        compress,
        platform,
    };
    let progress = ByteProgress::new(args.quiet, "Saving");
    let result = match &args.output {
        Some(path) => save(
            &store,
            &args.images,
            &opts,
            SaveTarget::Path(path),
            &progress,
        ),
        None => save(
            &store,
            &args.images,
            &opts,
            SaveTarget::Stream(&mut io::stdout().lock()),
            &progress,
        ),
    };
    progress.finish();
    result.context("failed to save")?;
    Ok(crate::exit::SUCCESS)
}

/// A byte-count bar on stderr when it is a terminal; nothing otherwise (as Docker,
/// which prints no progress into logs).
pub struct ByteProgress {
    bar: Option<ProgressBar>,
}

impl ByteProgress {
    pub fn new(quiet: bool, action: &str) -> Self {
        let bar = (!quiet && io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(action.to_owned());
            bar
        });
        Self { bar }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl TransferProgress for ByteProgress {
    fn start(&self, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            match total {
                Some(t) => bar.set_length(t),
                None => bar.set_style(
                    ProgressStyle::with_template("{msg} {bytes} {bytes_per_sec}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            }
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}
