//! Turns flags, environment and defaults into the settings commands run with.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cli::Cli;

/// Everything a command needs to know besides its own arguments.
#[derive(Debug)]
pub struct Settings {
    /// The local store's root.
    pub root: PathBuf,
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
        Ok(Self { root })
    }
}
