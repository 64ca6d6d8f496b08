//! `lade image mount [IMAGE [DIR]] [-a]` / `lade image unmount|umount IMAGE|DIR… [-a] [-f]`,
//! as `podman image mount` and `podman image unmount` print them: the mount point, or
//! `NAME PATH` lines for a listing; the image ID for each unmount.

use std::io::{self, Write};

use anyhow::{Context, bail};
use lade_ops::mount::{Driver, MountError, MountOptions, Mounted};
use lade_store::Store;

use crate::cli::{MountArgs, UnmountArgs};
use crate::settings::Settings;

pub fn mount(args: &MountArgs, settings: &Settings) -> anyhow::Result<i32> {
    let driver: Driver = match args.driver.as_deref().or(settings.mount_driver.as_deref()) {
        Some(d) => d
            .parse()
            .map_err(anyhow::Error::msg)
            .context("failed to read $LADE_MOUNT_DRIVER")?,
        None => Driver::Auto,
    };
    let store = Store::open(&settings.root)?;
    let mut out = io::stdout().lock();
    if args.all {
        let mut failed = false;
        for result in lade_ops::mount::mount_all(&store, driver)? {
            match result {
                Ok(m) => {
                    warn_skipped(&m)?;
                    writeln!(out, "{} {}", m.name, m.path.display())?;
                }
                Err(e) => {
                    failed = true;
                    print_error(&e)?;
                }
            }
        }
        return Ok(exit_code(failed));
    }
    let Some(image) = &args.image else {
        for (name, record) in lade_ops::mount::mounted(&store)? {
            writeln!(out, "{name} {}", record.path.display())?;
        }
        return Ok(crate::exit::SUCCESS);
    };
    let opts = MountOptions {
        driver,
        dir: args.dir.clone(),
    };
    let m = lade_ops::mount::mount(&store, image, &opts)
        .with_context(|| format!("failed to mount {image}"))?;
    warn_skipped(&m)?;
    writeln!(out, "{}", m.path.display())?;
    Ok(crate::exit::SUCCESS)
}

pub fn unmount(args: &UnmountArgs, settings: &Settings) -> anyhow::Result<i32> {
    let store = Store::open(&settings.root)?;
    let results = if args.all {
        lade_ops::mount::unmount_all(&store, args.force)?
    } else if args.targets.is_empty() {
        bail!("name an image or a mount point, or pass --all");
    } else {
        args.targets
            .iter()
            .map(|t| lade_ops::mount::unmount(&store, t, args.force))
            .collect()
    };
    let mut out = io::stdout().lock();
    let mut failed = false;
    for result in results {
        match result {
            Ok(u) => match &u.id {
                Some(id) => writeln!(out, "{}", id.hex())?,
                None => writeln!(out, "{}", u.name)?,
            },
            Err(e) => {
                failed = true;
                print_error(&e)?;
            }
        }
    }
    Ok(exit_code(failed))
}

/// After `rmi` or `prune`: releases the mounts of the images they deleted, and says
/// so on stderr (stdout keeps Docker's lines).
pub fn release_gone(store: &Store) -> anyhow::Result<()> {
    let mut err = io::stderr().lock();
    for result in lade_ops::mount::release_gone(store)? {
        match result {
            Ok(u) => writeln!(
                err,
                "warning: unmounted {} (its image was removed)",
                u.record.path.display()
            )?,
            Err(e) => {
                writeln!(err, "warning: {e}")?;
                if let Some(hint) = crate::output::mount_hint(&e) {
                    writeln!(err, "hint: {hint}")?;
                }
            }
        }
    }
    Ok(())
}

fn exit_code(failed: bool) -> i32 {
    if failed {
        crate::exit::FAILURE
    } else {
        crate::exit::SUCCESS
    }
}

fn warn_skipped(m: &Mounted) -> io::Result<()> {
    let mut err = io::stderr().lock();
    for s in &m.skipped {
        writeln!(err, "warning: skipped /{} ({}): {}", s.path, m.name, s.why)?;
    }
    Ok(())
}

/// One failed image of several, with its hint; the others go on.
fn print_error(e: &MountError) -> io::Result<()> {
    let mut err = io::stderr().lock();
    writeln!(err, "Error: {e}")?;
    if let Some(hint) = crate::output::mount_hint(e) {
        writeln!(err, "hint: {hint}")?;
    }
    Ok(())
}
