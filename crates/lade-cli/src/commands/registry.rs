//! `lade registry serve`

use std::io::Write;

use anyhow::Context;
use lade_server::ServerConfig;

use crate::cli::{GcArgs, RegistryCheckArgs, ServeArgs};
use crate::settings::Settings;

pub fn serve(args: &ServeArgs, settings: &Settings) -> anyhow::Result<i32> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path).map_err(anyhow::Error::msg)?,
        None => ServerConfig::default(),
    };
    if let Some(addr) = &args.addr {
        config.addr = addr.clone();
    }
    if let Some(root) = &args.storage {
        config.root = root.clone();
    }
    if config.root.as_os_str().is_empty() {
        config.root = settings.registry_root.clone();
    }
    if args.no_access_log {
        config.access_log = false;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(lade_server::TlsConfig {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    let rt = crate::runtime()?;
    let root = config.root.display().to_string();
    rt.block_on(lade_server::serve(
        &config,
        |addr| {
            // Tests and scripts read the port from this line.
            let _ = writeln!(
                std::io::stderr().lock(),
                "lade registry listening on {addr} (storage: {root})"
            );
        },
        shutdown_signal(),
    ))
    .context("failed to run the registry")?;
    Ok(crate::exit::SUCCESS)
}

/// SIGINT or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn open_storage(
    dir: Option<&std::path::Path>,
    settings: &Settings,
) -> anyhow::Result<lade_server::FsStorage> {
    let root = dir.unwrap_or(&settings.registry_root);
    lade_server::FsStorage::open(root)
        .with_context(|| format!("failed to open the registry storage at {}", root.display()))
}

/// `lade registry check [--repair]`
pub fn check(args: &RegistryCheckArgs, settings: &Settings) -> anyhow::Result<i32> {
    let storage = open_storage(args.storage.as_deref(), settings)?;
    let report = lade_server::check::check(&storage, args.repair)?;
    crate::output::print_check(
        &report.problems,
        &report.repairs,
        &format!(
            "{} blobs and {} manifests",
            report.blobs_checked, report.manifests_checked
        ),
        report.damaged() && !args.repair,
        args.repair,
        "run `lade registry check --repair` to drop what cannot be served; push those images again",
    )
}

/// `lade registry gc [--dry-run] [--delete-untagged]`
pub fn gc(args: &GcArgs, settings: &Settings) -> anyhow::Result<i32> {
    let storage = open_storage(args.storage.as_deref(), settings)?;
    let opts = lade_server::gc::GcOptions {
        delete_untagged: args.delete_untagged,
        grace: std::time::Duration::from_secs(args.grace),
        upload_age: std::time::Duration::from_secs(args.upload_age),
    };
    let plan = lade_server::gc::run(&storage, &opts, args.dry_run)?;
    let mut out = std::io::stdout().lock();
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for (repo, d) in &plan.manifests {
        writeln!(out, "{verb} manifest {repo}@{d}")?;
    }
    for (d, size) in &plan.blobs {
        writeln!(out, "{verb} blob {d} ({size} bytes)")?;
    }
    writeln!(
        out,
        "{verb} {} manifests and {} blobs ({}); {} blobs kept",
        plan.manifests.len(),
        plan.blobs.len(),
        crate::output::human_size(plan.bytes()),
        plan.blobs_kept
    )?;
    let (uploads, bytes) = plan.uploads_purged;
    if uploads > 0 {
        writeln!(
            out,
            "removed {uploads} abandoned uploads ({})",
            crate::output::human_size(bytes)
        )?;
    }
    Ok(crate::exit::SUCCESS)
}
