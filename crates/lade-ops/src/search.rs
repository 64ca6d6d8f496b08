//! `lade search`: a registry's search API, or its catalog filtered by the term when it
//! has none.

use lade_client::{ClientError, Registry, SearchResult};
use tokio::runtime::Handle;

/// `--filter` of `search`.
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub min_stars: u64,
    pub is_official: Option<bool>,
    pub is_automated: Option<bool>,
}

impl SearchFilters {
    /// Parses Docker's `stars=N`, `is-official=BOOL`, `is-automated=BOOL`.
    pub fn parse(filters: &[String]) -> Result<Self, String> {
        let mut f = Self::default();
        for raw in filters {
            let (k, v) = raw
                .split_once('=')
                .ok_or_else(|| format!("bad format of filter (expected name=value): {raw}"))?;
            let boolean = |v: &str| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(format!("invalid filter '{k}={v}'")),
            };
            match k {
                "stars" => {
                    f.min_stars = v
                        .parse()
                        .map_err(|_| format!("invalid filter 'stars={v}'"))?
                }
                "is-official" => f.is_official = Some(boolean(v)?),
                "is-automated" => f.is_automated = Some(boolean(v)?),
                _ => return Err(format!("invalid filter '{k}'")),
            }
        }
        Ok(f)
    }

    fn keep(&self, r: &SearchResult) -> bool {
        r.star_count >= self.min_stars
            && self.is_official.is_none_or(|o| o == r.is_official)
            && self.is_automated.is_none_or(|a| a == r.is_automated)
    }
}

/// The answer, and whether it came from the catalog fallback.
#[derive(Debug, Clone)]
pub struct Found {
    pub results: Vec<SearchResult>,
    pub from_catalog: bool,
}

/// Searches `registry` for `term`, at most `limit` results after filtering.
pub fn search(
    registry: &Registry,
    term: &str,
    limit: usize,
    filters: &SearchFilters,
    rt: &Handle,
) -> Result<Found, ClientError> {
    let (mut results, from_catalog) = match rt.block_on(registry.search(term, 100))? {
        Some(r) => (r, false),
        None => {
            let term = term.to_ascii_lowercase();
            let names = rt.block_on(registry.catalog())?;
            let r = names
                .into_iter()
                .filter(|n| n.contains(&term))
                .map(|name| SearchResult {
                    name,
                    description: String::new(),
                    star_count: 0,
                    is_official: false,
                    is_automated: false,
                })
                .collect();
            (r, true)
        }
    };
    results.retain(|r| filters.keep(r));
    results.truncate(limit);
    Ok(Found {
        results,
        from_catalog,
    })
}
