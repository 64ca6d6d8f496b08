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
    /// Require HTTPS and verify certificates when contacting registries (as podman's --tls-verify)
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
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
    History(HistoryArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Save one or more images to a tar archive
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Search for images in a registry
    Search(SearchArgs),
    /// Log in to a registry
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
    /// Manage manifests and manifest lists
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Manage lade
    #[command(subcommand)]
    System(SystemCommand),
    /// Run an OCI registry
    #[command(subcommand)]
    Registry(RegistryCommand),
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
    History(HistoryArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmiArgs),
    /// Remove unused images
    Prune(ImagePruneArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Save one or more images to a tar archive
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Export an image's filesystem as a tar archive
    Export(ExportArgs),
    /// Mount an image's root filesystem read-only and print where; without IMAGE, list mounted images
    Mount(MountArgs),
    /// Unmount images mounted with `image mount`
    #[command(visible_alias = "umount")]
    Unmount(UnmountArgs),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Verify every blob and reference in the store, and repair what can be repaired
    Check(CheckArgs),
    /// Show disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
}

/// Arguments of a command that is not built yet.
#[derive(Debug, Args)]
pub struct NotYet {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Images to save (name, NAME:TAG, ID or ID prefix); a bare NAME saves all its tags
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Write to a file (a directory for --format oci-dir), instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci-dir"])]
    pub format: String,
    /// Compress the whole archive
    #[arg(long, value_name = "gzip|zstd", value_parser = ["gzip", "zstd"])]
    pub compress: Option<String>,
    /// Refuse images that are not of this platform (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
    /// Do not show progress
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from a tar archive file (plain, gzip, zstd or xz) or an OCI layout directory, instead of STDIN
    #[arg(short, long, value_name = "FILE|DIR")]
    pub input: Option<PathBuf>,
    /// Suppress the load progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Take this platform from multi-platform images, and refuse images of another (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The image (name, ID or ID prefix)
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not show progress
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MountArgs {
    /// The image (name, ID or ID prefix); without it, list the mounted images
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
    /// Mount there (a missing or empty directory) instead of under the store
    #[arg(value_name = "DIR", requires = "image")]
    pub dir: Option<PathBuf>,
    /// Mount all images
    #[arg(short, long, conflicts_with_all = ["image", "dir"])]
    pub all: bool,
    /// overlay (overlayfs; root only), copy (a read-only unpacked copy), or auto: overlay when possible [default: $LADE_MOUNT_DRIVER, else auto]
    #[arg(long, value_name = "DRIVER", value_parser = ["auto", "copy", "overlay"])]
    pub driver: Option<String>,
}

#[derive(Debug, Args)]
pub struct UnmountArgs {
    /// Images (name, ID or ID prefix) or mount points
    #[arg(value_name = "IMAGE|DIR", required_unless_present = "all")]
    pub targets: Vec<String>,
    /// Unmount all mounted images
    #[arg(short, long, conflicts_with = "targets")]
    pub all: bool,
    /// Detach a busy overlay mount (it goes when its last user leaves)
    #[arg(short, long)]
    pub force: bool,
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
    /// Filter output based on conditions provided (dangling=, label=, before=, since=, until=, reference=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go TEMPLATE
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Only list images of this repository (and tag); a pattern as in reference=
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
    /// Format output using a custom template: 'json' or a Go TEMPLATE
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Delete corrupt and unreferenced blobs and leftover files, and drop images whose content is gone
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image to name (name, ID or ID prefix)
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    /// The new name
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Images to remove (name, ID or ID prefix)
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents (lade's images have none: accepted for Docker's scripts)
    #[arg(long)]
    pub no_prune: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The image (name, ID or ID prefix)
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go TEMPLATE
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones (lade has no containers: every image)
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=24h", "label=k=v", "label!=k", "reference=app*")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Show what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images, not just dangling ones (lade has no containers: every image)
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=24h", "label=k=v"); they select images
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Show what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short, long)]
    pub verbose: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go TEMPLATE
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image to pull: NAME[:TAG|@DIGEST]
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
    /// Download all tagged images in the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Layers downloaded at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_concurrent_downloads: usize,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve an OCI Distribution registry from a local directory
    Serve(ServeArgs),
    /// Remove blobs no manifest references, while the registry keeps serving
    Gc(GcArgs),
    /// Verify the registry's storage: every blob's digest, every manifest complete
    Check(RegistryCheckArgs),
}

#[derive(Debug, Args)]
pub struct RegistryCheckArgs {
    /// The registry's data directory [default: $XDG_DATA_HOME/lade-registry]
    #[arg(long = "storage", visible_alias = "data", value_name = "DIR")]
    pub storage: Option<std::path::PathBuf>,
    /// Delete what cannot be served correctly (those images must be pushed again)
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long)]
    pub addr: Option<String>,
    /// Where the registry keeps its data [default: $XDG_DATA_HOME/lade-registry]
    #[arg(long = "storage", visible_alias = "data", value_name = "DIR")]
    pub storage: Option<std::path::PathBuf>,
    /// A TOML configuration file
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Do not log one line per request
    #[arg(long)]
    pub no_access_log: bool,
    /// Serve HTTPS with this certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image to push: NAME[:TAG]
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
    /// Push all tags of an image to the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Layers uploaded at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_concurrent_uploads: usize,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry (default: Docker Hub)
    pub server: Option<String>,
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub)
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The registry's data directory [default: $XDG_DATA_HOME/lade-registry]
    #[arg(long = "storage", visible_alias = "data", value_name = "DIR")]
    pub storage: Option<std::path::PathBuf>,
    /// Print what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete manifests that no tag references
    #[arg(long, short = 'm')]
    pub delete_untagged: bool,
    /// Keep blobs younger than this many seconds: those of pushes in progress (0 makes
    /// pushes running meanwhile fail)
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub grace: u64,
    /// Remove upload sessions untouched for this many seconds (abandoned pushes)
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
    pub upload_age: u64,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for; `HOST/TERM` asks that registry
    pub term: String,
    /// Filter output based on conditions provided (stars=N, is-official=BOOL)
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Max number of search results
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// List the tags of the repository TERM names instead of searching
    #[arg(long)]
    pub list_tags: bool,
    /// Pretty-print search using a Go template ('table', 'table TEMPLATE', 'json' or a TEMPLATE; fields .Name .Description .StarCount .IsOfficial .IsAutomated)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Display an image manifest, or manifest list
    Inspect(ManifestInspectArgs),
    /// Create a local manifest list for annotating and pushing to a registry
    Create(ManifestCreateArgs),
    /// Add additional information to a local image manifest
    Annotate(ManifestAnnotateArgs),
    /// Push a manifest list to a repository
    Push(ManifestPushArgs),
    /// Delete one or more manifest lists from local storage
    Rm(ManifestRmArgs),
}

#[derive(Debug, Args)]
pub struct ManifestCreateArgs {
    /// The list to create: NAME[:TAG]
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    /// The images it holds (already in a registry): NAME[:TAG|@DIGEST]
    #[arg(value_name = "MANIFEST", required = true)]
    pub manifests: Vec<String>,
    /// Amend an existing manifest list
    #[arg(short, long)]
    pub amend: bool,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct ManifestAnnotateArgs {
    /// The local list
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    /// The image of the list to annotate, as it was added
    #[arg(value_name = "MANIFEST")]
    pub manifest: String,
    /// Set operating system
    #[arg(long)]
    pub os: Option<String>,
    /// Set architecture
    #[arg(long)]
    pub arch: Option<String>,
    /// Set architecture variant
    #[arg(long)]
    pub variant: Option<String>,
    /// Set operating system version
    #[arg(long)]
    pub os_version: Option<String>,
    /// Set operating system feature
    #[arg(long = "os-features", value_delimiter = ',')]
    pub os_features: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestPushArgs {
    /// The local list to push
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    /// Remove the local manifest list after push
    #[arg(short, long)]
    pub purge: bool,
    /// Allow push to an insecure registry
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct ManifestRmArgs {
    /// The local lists to delete
    #[arg(value_name = "MANIFEST_LIST", required = true)]
    pub lists: Vec<String>,
}

#[derive(Debug, Args)]
#[command(allow_missing_positional = true)]
pub struct ManifestInspectArgs {
    /// A local manifest list: show its entry for MANIFEST, without asking a registry
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: Option<String>,
    /// The manifest or index: NAME[:TAG|@DIGEST]
    #[arg(value_name = "MANIFEST")]
    pub reference: String,
    /// Output additional info including layers and platform
    #[arg(short, long)]
    pub verbose: bool,
    /// Print the exact bytes the registry served
    #[arg(long)]
    pub raw: bool,
    /// List the platforms of an index
    #[arg(long)]
    pub platforms: bool,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
}
