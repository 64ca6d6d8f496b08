//! `lade push [OPTIONS] NAME[:TAG]`

use std::io::{self, Write};

use anyhow::bail;
use lade_ops::push::{PushProgress, PushStatus, push};
use lade_reference::Reference;
use lade_store::Store;

use crate::cli::PushArgs;
use crate::progress::Renderer;
use crate::settings::Settings;

/// Push progress as lines on stderr (Docker's words); bytes are not drawn yet.
struct Lines<'a>(&'a Renderer);

impl PushProgress for Lines<'_> {
    fn layer(&self, id: &str, status: PushStatus) {
        if !matches!(status, PushStatus::Pushing { .. }) {
            self.0.println(&format!("{id}: {status}"));
        }
    }
}

pub fn run(args: &PushArgs, settings: &Settings) -> anyhow::Result<i32> {
    let reference = Reference::parse_normalized(&args.name)?;
    if reference.digest().is_some() {
        bail!("cannot push a digest reference");
    }
    if args.all_tags && reference.tag().is_some() {
        bail!("tag can't be used with --all-tags/-a");
    }
    let store = Store::open(&settings.root)?;
    let renderer = Renderer::new(args.quiet);
    let rt = crate::runtime()?;
    let registry = super::pull::registry_for(reference.domain(), settings, &renderer)?;
    let targets: Vec<Reference> = if args.all_tags {
        let state = store.state()?;
        let mut v: Vec<Reference> = state
            .images()
            .iter()
            .flat_map(|i| i.names.iter())
            .filter(|n| n.name() == reference.name())
            .cloned()
            .collect();
        v.sort_by_key(|r| r.to_string());
        if v.is_empty() {
            bail!(
                "An image does not exist locally with the tag: {}",
                reference.familiar_name()
            );
        }
        v
    } else {
        if reference.tag().is_none() {
            renderer.println("Using default tag: latest");
        }
        vec![reference.clone().with_default_tag()]
    };
    renderer.println(&format!(
        "The push refers to repository [{}]",
        reference.name()
    ));
    let mut out = io::stdout().lock();
    for r in &targets {
        // A refused push gets its `lade login` hint from `output::hints_for`.
        let pushed = push(
            &store,
            &registry,
            r,
            args.max_concurrent_uploads,
            &Lines(&renderer),
            rt.handle(),
        )?;
        let tag = r.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
        writeln!(
            out,
            "{tag}: digest: {} size: {}",
            pushed.digest, pushed.size
        )?;
    }
    Ok(crate::exit::SUCCESS)
}
