//! `lade login [SERVER]` and `lade logout [SERVER]`, as Docker does them.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use lade_client::{Credential, CredentialSources, Registry, Saved, config_key};

use crate::cli::{LoginArgs, LogoutArgs};
use crate::settings::Settings;

/// `https://host:port/v1/` → `host:port`; Docker Hub's names → `docker.io`.
fn registry_host(server: Option<&str>) -> String {
    let s = server.unwrap_or("docker.io");
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        h => h.to_owned(),
    }
}

pub fn login(args: &LoginArgs, settings: &Settings) -> anyhow::Result<i32> {
    let host = registry_host(args.server.as_deref());
    let mut err = io::stderr().lock();
    if args.password.is_some() {
        writeln!(
            err,
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
        )?;
    }
    let interactive = io::stdin().is_terminal();
    let username = match &args.username {
        Some(u) => u.clone(),
        None if args.password_stdin => bail!("Must provide --username with --password-stdin"),
        None if interactive => prompt("Username: ", true)?,
        None => bail!("Cannot perform an interactive login from a non TTY device"),
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p.clone(),
        (None, true) => {
            let mut line = String::new();
            io::stdin().lock().read_to_string_trimmed(&mut line)?;
            line
        }
        (None, false) if interactive => prompt("Password: ", false)?,
        (None, false) => bail!("Cannot perform an interactive login from a non TTY device"),
    };
    if username.is_empty() || password.is_empty() {
        bail!("Error: Username and password are required");
    }
    let credential = Credential::Basic { username, password };
    // Check the credentials against the registry before saving them.
    // registries.conf's `insecure = true` hosts count here too.
    let transport = super::pull::Remote::load(settings)?.transport_for(&host, false);
    let registry = Registry::new(&host, &transport, Some(credential.clone()))?;
    let rt = crate::runtime()?;
    rt.block_on(registry.ping())
        .with_context(|| format!("login to {host} failed"))?;
    match CredentialSources::from_env().store(&host, &credential)? {
        Saved::ConfigFile(path) => {
            writeln!(
                err,
                "WARNING! Your password will be stored unencrypted in {}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credential-stores\n",
                path.display()
            )?;
        }
        Saved::Helper(_) => {}
    }
    writeln!(io::stdout().lock(), "Login Succeeded")?;
    Ok(crate::exit::SUCCESS)
}

pub fn logout(args: &LogoutArgs, _settings: &Settings) -> anyhow::Result<i32> {
    let host = registry_host(args.server.as_deref());
    let mut out = io::stdout().lock();
    if CredentialSources::from_env().erase(&host)? {
        writeln!(out, "Removing login credentials for {}", config_key(&host))?;
    } else {
        writeln!(out, "Not logged in to {}", config_key(&host))?;
    }
    Ok(crate::exit::SUCCESS)
}

trait ReadTrimmed {
    fn read_to_string_trimmed(&mut self, out: &mut String) -> io::Result<()>;
}

impl<R: BufRead> ReadTrimmed for R {
    /// Reads all of standard input and drops the trailing newline, as Docker does.
    fn read_to_string_trimmed(&mut self, out: &mut String) -> io::Result<()> {
        io::Read::read_to_string(self, out)?;
        let trimmed = out.trim_end_matches(['\n', '\r']).len();
        out.truncate(trimmed);
        Ok(())
    }
}

/// Asks on the terminal; the password is read with echo off (through `stty`).
fn prompt(label: &str, echo: bool) -> anyhow::Result<String> {
    let mut err = io::stderr().lock();
    write!(err, "{label}")?;
    err.flush()?;
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
    };
    if !echo {
        let _ = stty("-echo");
    }
    let mut line = String::new();
    let read = io::stdin().lock().read_line(&mut line);
    if !echo {
        let _ = stty("echo");
        writeln!(err)?;
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
