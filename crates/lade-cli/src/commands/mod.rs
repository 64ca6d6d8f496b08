//! One file per command: each loads what it needs, calls one library function and prints.

mod check;
mod df;
mod export;
mod history;
mod images;
mod import;
mod inspect;
mod load;
mod login;
mod manifest;
mod mount;
mod prune;
mod pull;
mod push;
mod registry;
mod rmi;
mod save;
mod search;
mod tag;

use crate::cli::{Cli, Command, ImageCommand, ManifestCommand, RegistryCommand, SystemCommand};
use crate::settings::Settings;

/// Runs the command; returns the exit code.
pub fn run(cli: Cli, settings: &Settings) -> anyhow::Result<i32> {
    match cli.command {
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&a, settings),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::run(&a, settings),
        Command::Inspect(a) | Command::Image(ImageCommand::Inspect(a)) => {
            inspect::run(&a, settings)
        }
        Command::System(SystemCommand::Check(a)) => check::run(&a, settings),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            history::run(&a, settings)
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(&a, settings),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(&a, settings),
        Command::Image(ImageCommand::Prune(a)) => prune::run_image(&a, settings),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(&a, settings),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(&a, settings),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(&a, settings),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(&a, settings),
        Command::Image(ImageCommand::Export(a)) => export::run(&a, settings),
        Command::Image(ImageCommand::Mount(a)) => mount::mount(&a, settings),
        Command::Image(ImageCommand::Unmount(a)) => mount::unmount(&a, settings),
        Command::Search(a) => search::run(&a, settings),
        Command::Login(a) => login::login(&a, settings),
        Command::Logout(a) => login::logout(&a, settings),
        Command::Manifest(ManifestCommand::Inspect(a)) => manifest::inspect_cmd(&a, settings),
        Command::Manifest(ManifestCommand::Create(a)) => manifest::create(&a, settings),
        Command::Manifest(ManifestCommand::Annotate(a)) => manifest::annotate(&a, settings),
        Command::Manifest(ManifestCommand::Push(a)) => manifest::push(&a, settings),
        Command::Manifest(ManifestCommand::Rm(a)) => manifest::rm(&a, settings),
        Command::Registry(RegistryCommand::Serve(a)) => registry::serve(&a, settings),
        Command::Registry(RegistryCommand::Gc(a)) => registry::gc(&a, settings),
        Command::Registry(RegistryCommand::Check(a)) => registry::check(&a, settings),
        Command::System(SystemCommand::Df(a)) => df::run(&a, settings),
        Command::System(SystemCommand::Prune(a)) => prune::run_system(&a, settings),
    }
}
