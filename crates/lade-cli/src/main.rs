//! The `lade` binary: parse the command line, resolve settings, run one command, and
//! turn its outcome into output and an exit code.

mod cli;
mod commands;
mod exit;
mod format;
mod output;
mod progress;
mod settings;

use std::io::{self, Write};

use clap::Parser;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::SUCCESS,
                _ => exit::USAGE,
            };
            // Help and version go to stdout, errors to stderr, as clap decides.
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let debug = cli.global.debug
        || (cli.global.log_level.as_deref()).is_some_and(|l| l.eq_ignore_ascii_case("debug"));
    let code = match settings::Settings::resolve(&cli).and_then(|s| commands::run(cli, &s)) {
        Ok(code) => code,
        Err(err) => report(&err, debug),
    };
    std::process::exit(code);
}

/// The async runtime for network work: created only by commands that need it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Prints an error with its causes and hints; a closed stdout (`lade images | head`)
/// is not an error.
fn report(err: &anyhow::Error, debug: bool) -> i32 {
    if err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return exit::SUCCESS;
    }
    let mut stderr = io::stderr().lock();
    let mut shown = err.to_string();
    let _ = writeln!(stderr, "Error: {shown}");
    for cause in err.chain().skip(1) {
        // Many errors already quote their cause; say each thing once.
        let text = cause.to_string();
        if !shown.contains(&text) {
            let _ = writeln!(stderr, "  caused by: {text}");
            shown.push_str(&text);
        }
    }
    if debug {
        let _ = writeln!(stderr, "debug: {err:?}");
    }
    for hint in output::hints_for(err) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
    exit::FAILURE
}
