//! The command line as clap parses it: fields only, no behaviour (settings.rs resolves
//! them, commands/ act on them). Names, flags and aliases follow the Docker CLI.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lade",
    version,
    about = "A fast, daemonless, Docker-compatible image manager and OCI registry",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where the local image store lives [default: $LADE_ROOT, else $XDG_DATA_HOME/lade, else ~/.local/share/lade]
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Enable debug output
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    /// Set the logging level ("debug", "info", "warn", "error", "fatal")
    #[arg(short = 'l', long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// List images
    Images(ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Return low-level information on images
    Inspect(InspectArgs),
    /// Show the history of an image
    History(NotYet),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(NotYet),
    /// Remove one or more images
    Rmi(NotYet),
    /// Download an image from a registry
    Pull(NotYet),
    /// Upload an image to a registry
    Push(NotYet),
    /// Save one or more images to a tar archive
    Save(NotYet),
    /// Load an image from a tar archive or STDIN
    Load(NotYet),
    /// Search for images in a registry
    Search(NotYet),
    /// Log in to a registry
    Login(NotYet),
    /// Log out from a registry
    Logout(NotYet),
    /// Manage manifests and manifest lists
    Manifest(NotYet),
    /// Manage lade
    #[command(subcommand)]
    System(SystemCommand),
    /// Run an OCI registry
    Registry(NotYet),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Show the history of an image
    History(NotYet),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(NotYet),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(NotYet),
    /// Remove unused images
    Prune(NotYet),
    /// Download an image from a registry
    Pull(NotYet),
    /// Upload an image to a registry
    Push(NotYet),
    /// Save one or more images to a tar archive
    Save(NotYet),
    /// Load an image from a tar archive or STDIN
    Load(NotYet),
    /// Export an image's filesystem as a tar archive
    Export(NotYet),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Verify every blob and reference in the store, and repair what can be repaired
    Check(CheckArgs),
    /// Show disk usage
    Df(NotYet),
    /// Remove unused data
    Prune(NotYet),
}

/// Arguments of a command that is not built yet.
#[derive(Debug, Args)]
pub struct NotYet {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Only list images of this repository (and tag)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A root filesystem tarball (plain, gzip, zstd or xz), or - for standard input
    #[arg(value_name = "file|-")]
    pub file: String,
    /// The name to give the image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
    /// Apply a Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Set a commit message for the imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set the platform (os/arch[/variant]) of the imported image
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images to inspect (name, ID or ID prefix)
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Delete corrupt and unreferenced blobs and leftover files, and drop images whose content is gone
    #[arg(long)]
    pub repair: bool,
}
