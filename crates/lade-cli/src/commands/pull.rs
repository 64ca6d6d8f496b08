//! `lade pull [OPTIONS] NAME[:TAG|@DIGEST]`, and how every command reaches registries
//! ([`Remote`]: registries.conf, credentials, mirrors).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use lade_client::{CredentialSources, PullSource, RegistriesConf, Registry, RetryPolicy};
use lade_oci::Platform;
use lade_ops::pull::{PullOptions, Source, pull_from};
use lade_reference::Reference;
use lade_store::Store;

use crate::cli::PullArgs;
use crate::progress::Renderer;
use crate::settings::Settings;

pub fn run(args: &PullArgs, settings: &Settings) -> anyhow::Result<i32> {
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    let typed = Reference::parse_normalized(&args.name)?;
    if args.all_tags && (typed.tag().is_some() || typed.digest().is_some()) {
        bail!("tag can't be used with --all-tags/-a");
    }
    let remote = Remote::load(settings)?;
    let resolved = remote.conf.resolve(&args.name)?;
    let store = Store::open(&settings.root)?;
    let renderer = Renderer::new(args.quiet);
    let rt = crate::runtime()?;
    let opts = PullOptions {
        platform,
        max_concurrent_downloads: args.max_concurrent_downloads,
    };
    if !args.all_tags && typed.tag().is_none() && typed.digest().is_none() {
        renderer.println("Using default tag: latest");
    }
    // A short name resolved through registries.conf says how, as podman does.
    if let Some(d) = &resolved.description {
        renderer.println(d);
    }
    let mut errors: Vec<anyhow::Error> = Vec::new();
    for candidate in &resolved.candidates {
        if resolved.description.is_some() {
            let shown = if candidate.digest().is_some() || args.all_tags {
                candidate.to_string()
            } else {
                candidate.clone().with_default_tag().to_string()
            };
            renderer.println(&format!("Trying to pull {shown}..."));
        }
        match pull_candidate(candidate, args, &remote, &store, &renderer, &opts, &rt) {
            Ok(()) => return Ok(crate::exit::SUCCESS),
            Err(e) => errors.push(e),
        }
    }
    Err(combined(errors))
}

/// One error as it is; several (one per candidate) listed as podman lists them, the
/// last one's causes and hints kept.
fn combined(mut errors: Vec<anyhow::Error>) -> anyhow::Error {
    let Some(last) = errors.pop() else {
        return anyhow::anyhow!("nothing to pull");
    };
    if errors.is_empty() {
        return last;
    }
    let mut text = format!("{} errors occurred while pulling:", errors.len() + 1);
    for e in errors.iter().chain(std::iter::once(&last)) {
        text.push_str(&format!("\n * {e}"));
    }
    last.context(text)
}

/// Pulls one fully qualified reference (all its tags with `--all-tags`) from the
/// places registries.conf gives for it.
fn pull_candidate(
    reference: &Reference,
    args: &PullArgs,
    remote: &Remote,
    store: &Store,
    renderer: &Renderer,
    opts: &PullOptions,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    // One client per place for the whole command: with `--all-tags`, every tag is
    // pulled through the clients that listed them (one credential lookup, one token
    // per scope, the connections kept), not through new ones per tag.
    let mut clients = BTreeMap::new();
    let references: Vec<Reference> = if args.all_tags {
        let sources = remote.conf.pull_sources(reference)?;
        remote.add_clients(&sources, renderer, &mut clients)?;
        let mut tags = Err(anyhow::anyhow!("no registry to list the tags of"));
        for s in &sources {
            let client = &clients[&client_key(s)];
            tags = rt
                .block_on(client.tags(s.reference.path()))
                .with_context(|| {
                    format!("failed to list the tags of {}", reference.familiar_name())
                });
            if tags.is_ok() {
                break;
            }
        }
        let tags = tags?;
        renderer.println(&format!(
            "Pulling all tags of {}",
            reference.familiar_name()
        ));
        tags.iter()
            .filter_map(|t| lade_reference::Tag::parse(t).ok())
            .map(|t| reference.with_tag(t))
            .collect()
    } else {
        vec![if reference.digest().is_some() {
            reference.clone()
        } else {
            reference.clone().with_default_tag()
        }]
    };
    let mut out = io::stdout().lock();
    for r in &references {
        let here = remote.conf.pull_sources(r)?;
        remote.add_clients(&here, renderer, &mut clients)?;
        let sources: Vec<Source<'_>> = here
            .iter()
            .map(|s| Source {
                registry: &clients[&client_key(s)],
                repository: s.reference.path().to_owned(),
                mirror: s.mirror,
            })
            .collect();
        let pulled = pull_from(store, &sources, r, opts, renderer, rt.handle())?;
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
    }
    if args.all_tags && !references.is_empty() {
        writeln!(out, "{}", reference.name())?;
    }
    Ok(())
}

/// Mirrors and registries get a client each (a mirror gives up sooner).
fn client_key(s: &PullSource) -> (String, bool) {
    (s.reference.domain().to_owned(), s.mirror)
}

/// How commands reach registries: registries.conf (short names, mirrors, blocked and
/// insecure registries) and the transport it implies.
#[derive(Debug)]
pub struct Remote {
    pub conf: RegistriesConf,
    pub transport: lade_client::TransportConfig,
}

impl Remote {
    /// Loads registries.conf; its `insecure = true` hosts join the transport's.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let conf = RegistriesConf::load(&settings.registries_conf)
            .context("failed to load registries.conf")?;
        let mut transport = settings.transport.clone();
        for host in conf.insecure_hosts() {
            transport.mark_insecure(&host);
        }
        Ok(Self { conf, transport })
    }

    /// How to reach `host`: the transport, with `host` insecure when registries.conf
    /// makes it so (the `[[registry]]` matching the host, a `*.example.com` prefix
    /// included) or `insecure` asks it (a pull source marked insecure).
    pub fn transport_for(&self, host: &str, insecure: bool) -> lade_client::TransportConfig {
        let mut transport = self.transport.clone();
        if insecure || self.conf.is_insecure(host) {
            transport.mark_insecure(host);
        }
        transport
    }

    /// A client for `host` with the user's credentials (looked up in the order of
    /// registries.conf's `credential-helpers`); warnings go through the renderer.
    pub fn client(&self, host: &str, renderer: &Renderer) -> anyhow::Result<Registry> {
        self.client_with(host, false, renderer)
    }

    fn client_with(
        &self,
        host: &str,
        insecure: bool,
        renderer: &Renderer,
    ) -> anyhow::Result<Registry> {
        let (credential, warnings) = CredentialSources::from_env()
            .with_helpers(self.conf.credential_helpers())
            .get(host)?;
        for w in warnings {
            renderer.println(&format!("WARNING: {w}"));
        }
        Ok(Registry::new(
            host,
            &self.transport_for(host, insecure),
            credential,
        )?)
    }

    /// Adds a client for each place in `sources` that `out` has none for; a mirror's
    /// retries less, so that one that is down costs little before the next source is
    /// tried.
    fn add_clients(
        &self,
        sources: &[PullSource],
        renderer: &Renderer,
        out: &mut BTreeMap<(String, bool), Registry>,
    ) -> anyhow::Result<()> {
        for s in sources {
            let key = client_key(s);
            if out.contains_key(&key) {
                continue;
            }
            // `insecure = true` of the [[registry]] (or mirror) this place comes from.
            let insecure = sources.iter().any(|o| o.insecure && client_key(o) == key);
            let mut client = self.client_with(&key.0, insecure, renderer)?;
            if s.mirror {
                client = client.with_retry(RetryPolicy {
                    attempts: 2,
                    first_delay: Duration::from_millis(200),
                    max_delay: Duration::from_secs(1),
                });
            }
            out.insert(key, client);
        }
        Ok(())
    }

    /// Reads something about `name` without pulling it: `f` is called with a client
    /// and the reference as each place names it (short-name candidates in order, and
    /// for each its mirrors, then its registry) until one answers. Returns the
    /// candidate that answered and the answer; the last error when none does.
    pub fn read<T>(
        &self,
        name: &str,
        renderer: &Renderer,
        mut f: impl FnMut(&Registry, &Reference) -> anyhow::Result<T>,
    ) -> anyhow::Result<(Reference, T)> {
        let resolved = self.conf.resolve(name)?;
        let mut last = None;
        for candidate in &resolved.candidates {
            let sources = match self.conf.pull_sources(candidate) {
                Ok(s) => s,
                Err(e) => {
                    last = Some(e.into());
                    continue;
                }
            };
            let mut clients = BTreeMap::new();
            self.add_clients(&sources, renderer, &mut clients)?;
            for s in &sources {
                match f(&clients[&client_key(s)], &s.reference) {
                    Ok(answer) => return Ok((candidate.clone(), answer)),
                    Err(e) => last = Some(e),
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!(
            "{name} resolved to no registry: name one (e.g. docker.io/{name}) or list some in unqualified-search-registries of registries.conf"
        )))
    }
}

/// A registry client with the user's credentials, registries.conf's insecure hosts
/// honoured; warnings go through the renderer.
pub fn registry_for(
    host: &str,
    settings: &Settings,
    renderer: &Renderer,
) -> anyhow::Result<Registry> {
    Remote::load(settings)?.client(host, renderer)
}
