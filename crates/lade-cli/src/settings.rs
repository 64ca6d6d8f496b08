//! Turns flags, environment and defaults into the settings commands run with.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cli::Cli;

/// Everything a command needs to know besides its own arguments.
#[derive(Debug)]
pub struct Settings {
    /// The local store's root.
    pub root: PathBuf,
    /// Where `lade registry serve` keeps its data by default.
    pub registry_root: PathBuf,
    /// How registries are reached.
    pub transport: lade_client::TransportConfig,
    /// Where registries.conf is read from (`$CONTAINERS_REGISTRIES_CONF`, `$HOME`);
    /// commands that talk to registries load it (`commands::pull::Remote`).
    pub registries_conf: lade_client::ConfPaths,
    /// How `image mount` mounts unless `--driver` says (`$LADE_MOUNT_DRIVER`).
    pub mount_driver: Option<String>,
}

impl Settings {
    pub fn resolve(cli: &Cli) -> anyhow::Result<Self> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = match (
            &cli.global.root,
            env("LADE_ROOT"),
            env("XDG_DATA_HOME"),
            env("HOME"),
        ) {
            (Some(r), ..) => r.clone(),
            (None, Some(r), ..) => r,
            (None, None, Some(xdg), _) => xdg.join("lade"),
            (None, None, None, Some(home)) => home.join(".local/share/lade"),
            (None, None, None, None) => {
                bail!("cannot tell where the store lives: set --root, $LADE_ROOT or $HOME")
            }
        };
        let root = if root.is_relative() {
            std::env::current_dir()
                .context("failed to read the current directory")?
                .join(root)
        } else {
            root
        };
        let mut transport = lade_client::TransportConfig::default();
        if let Some(false) = cli.global.tls_verify {
            transport.tls_verify = false;
        }
        // Where per-registry CAs and client certificates live (HOST[:PORT]/ca.crt, …);
        // Docker's and podman's folders by default.
        if let Some(dirs) = std::env::var_os("LADE_CERTS_DIRS") {
            transport.certs_dirs = std::env::split_paths(&dirs).collect();
        }
        if let Some(list) = std::env::var_os("LADE_INSECURE_REGISTRIES") {
            transport.insecure_registries = list
                .to_string_lossy()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        let registry_root = match (env("XDG_DATA_HOME"), env("HOME")) {
            (Some(xdg), _) => xdg.join("lade-registry"),
            (None, Some(home)) => home.join(".local/share/lade-registry"),
            (None, None) => PathBuf::from("lade-registry"),
        };
        let mut registries_conf =
            lade_client::ConfPaths::new(env("CONTAINERS_REGISTRIES_CONF"), env("HOME"));
        // podman's machine-maintained short-name aliases: where containers/image keeps
        // them for this user, or the file `$LADE_SHORT_NAME_ALIASES_CONF` names (what
        // podman's `SystemContext.UserShortNameAliasConfPath` sets).
        registries_conf.aliases_file = env("LADE_SHORT_NAME_ALIASES_CONF").or_else(|| {
            lade_client::ConfPaths::short_name_aliases(
                rustix::process::geteuid().is_root(),
                env("XDG_CACHE_HOME"),
                env("HOME"),
            )
        });
        let mount_driver = std::env::var("LADE_MOUNT_DRIVER")
            .ok()
            .filter(|v| !v.is_empty());
        Ok(Self {
            root,
            registry_root,
            transport,
            registries_conf,
            mount_driver,
        })
    }
}
