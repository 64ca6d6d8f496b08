//! `lade pull [OPTIONS] NAME[:TAG|@DIGEST]`

use std::io::{self, Write};

use anyhow::{Context, bail};
use lade_client::{CredentialSources, Registry};
use lade_oci::Platform;
use lade_ops::pull::{PullOptions, pull};
use lade_reference::Reference;
use lade_store::Store;

use crate::cli::PullArgs;
use crate::progress::Renderer;
use crate::settings::Settings;

pub fn run(args: &PullArgs, settings: &Settings) -> anyhow::Result<i32> {
    let reference = Reference::parse_normalized(&args.name)?;
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    if args.all_tags && (reference.tag().is_some() || reference.digest().is_some()) {
        bail!("tag can't be used with --all-tags/-a");
    }
    let store = Store::open(&settings.root)?;
    let renderer = Renderer::new(args.quiet);
    let rt = crate::runtime()?;
    let registry = registry_for(reference.domain(), settings, &renderer)?;
    let opts = PullOptions {
        platform,
        max_concurrent_downloads: args.max_concurrent_downloads,
    };

    let references: Vec<Reference> = if args.all_tags {
        let tags = rt
            .block_on(registry.tags(reference.path()))
            .with_context(|| format!("failed to list the tags of {}", reference.familiar_name()))?;
        renderer.println(&format!(
            "Pulling all tags of {}",
            reference.familiar_name()
        ));
        tags.iter()
            .filter_map(|t| lade_reference::Tag::parse(t).ok())
            .map(|t| reference.with_tag(t))
            .collect()
    } else {
        if reference.tag().is_none() && reference.digest().is_none() {
            renderer.println("Using default tag: latest");
        }
        vec![reference.clone().with_default_tag()]
    };
    let mut out = io::stdout().lock();
    let mut last = None;
    for r in &references {
        let pulled = pull(&store, &registry, r, &opts, &renderer, rt.handle())?;
        renderer.finish();
        renderer.println(&format!("Digest: {}", pulled.digest));
        let shown = r.familiar();
        if pulled.up_to_date {
            renderer.println(&format!("Status: Image is up to date for {shown}"));
        } else {
            renderer.println(&format!("Status: Downloaded newer image for {shown}"));
        }
        if !args.all_tags {
            writeln!(out, "{r}")?;
        }
        last = Some(pulled);
    }
    if args.all_tags && last.is_some() {
        writeln!(out, "{}", reference.name())?;
    }
    Ok(crate::exit::SUCCESS)
}

/// A registry client with the user's credentials; warnings go through the renderer.
pub fn registry_for(
    host: &str,
    settings: &Settings,
    renderer: &Renderer,
) -> anyhow::Result<Registry> {
    let (credential, warnings) = CredentialSources::from_env().get(host)?;
    for w in warnings {
        renderer.println(&format!("WARNING: {w}"));
    }
    Ok(Registry::new(host, &settings.transport, credential)?)
}
