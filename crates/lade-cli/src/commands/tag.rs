//! `lade tag SOURCE TARGET` / `lade image tag`

use lade_ops::TagError;
use lade_store::Store;

use crate::cli::TagArgs;
use crate::settings::Settings;

pub fn run(args: &TagArgs, settings: &Settings) -> anyhow::Result<i32> {
    // A bad target is refused before the store is touched.
    lade_ops::tag::parse_target(&args.target)?;
    let store = Store::open(&settings.root)?;
    lade_ops::tag(&store, &args.source, &args.target).map_err(|e| match e {
        // Unwrapped so that hints see the cause.
        TagError::Lookup(e) => anyhow::Error::from(e),
        TagError::Store(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    Ok(crate::exit::SUCCESS)
}
