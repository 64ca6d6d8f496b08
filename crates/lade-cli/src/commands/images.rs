//! `lade images` / `lade image ls`: rows (one per tag, `<none>` for dangling images)
//! over what `lade_ops::images::list` selects, printed through Docker's `--format`
//! (the default is Docker's own table template).
//!
//! Rows are shaped as the Docker CLI shapes them (`formatter/image.go`): tags grouped by
//! repository; with digests wanted (`--digests`, or `{{.Digest}}` in the format) one row
//! per tag and digest of that repository; a repository known only by digest gets a row
//! with tag `<none>`; an image with neither is `<none> <none>`.

use std::collections::BTreeMap;

use lade_ops::images::{ImageFilters, ImagesError, repo_digests};
use lade_store::{Image, Store};
use serde_json::{Map, Value};

use crate::cli::ImagesArgs;
use crate::format;
use crate::output::{go_time_in, human_size, since};
use crate::settings::Settings;

/// The fields of a row and their column headers (Docker's `newImageContext`).
const FIELDS: [(&str, &str); 11] = [
    ("Containers", "CONTAINERS"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedSince", "CREATED"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("SharedSize", "SHARED SIZE"),
    ("Size", "SIZE"),
    ("Tag", "TAG"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "SIZE"),
];

const TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
const TABLE_WITH_DIGEST: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

/// Docker's `NewImageFormat`: `-q` and `--digests` choose among the default formats;
/// a format of the user's own wins over `-q`, and `--digests` adds a DIGEST column to
/// a table that lacks one.
fn image_format(flag: Option<&str>, quiet: bool, digests: bool) -> String {
    let source = format::source(flag);
    if source == "table" {
        return match (quiet, digests) {
            (true, _) => "{{.ID}}",
            (false, true) => TABLE_WITH_DIGEST,
            (false, false) => TABLE,
        }
        .to_owned();
    }
    let mut f = source.to_owned();
    if f.starts_with("table") && digests && !f.contains("{{.Digest}}") {
        f.push_str("\t{{.Digest}}");
    }
    f
}

pub fn run(args: &ImagesArgs, settings: &Settings) -> anyhow::Result<i32> {
    let now = jiff::Timestamp::now();
    let mut flags = args.filters.clone();
    // Docker turns the REPOSITORY[:TAG] argument into a reference filter.
    flags.extend(args.repository.iter().map(|r| format!("reference={r}")));
    let filters = ImageFilters::parse(&flags, now)?;
    // Checked before the store is opened (which may create it): a bad format changes nothing.
    let format = image_format(args.format.as_deref(), args.quiet, args.digests);
    let template = format::parse(&format, &FIELDS)?;
    let store = Store::open(&settings.root)?;
    let state = store.state()?;
    let images = lade_ops::images::list(&state, &filters).map_err(|e| match e {
        ImagesError::Lookup(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    let read = template.fields_read();
    let shape = Shape {
        trunc: !args.no_trunc,
        show_digests: args.digests,
        need_digest: args.digests || format.contains("{{.Digest}}"),
        now,
        tz: jiff::tz::TimeZone::system(),
        wanted: FIELDS.map(|(f, _)| read.as_ref().is_none_or(|r| r.contains(f))),
    };
    let make_rows = |images: &[lade_store::Image<'_>]| {
        let mut rows = Vec::new();
        for image in images {
            shape.rows(image, &repo_digests(image, &filters), &mut rows);
        }
        rows
    };
    let mut stdout = std::io::stdout().lock();
    if images.len() < ROWS_ON_A_THREAD {
        format::render(&template, make_rows(&images), &FIELDS, &mut stdout)?;
    } else {
        // Rows are made on a second thread while this one prints them (the template
        // and the table cost about as much again), in batches: 10,000 images need
        // not hold 10,000 maps at once.
        let images = &images;
        let make_rows = &make_rows;
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel(4);
            s.spawn(move || {
                for batch in images.chunks(ROWS_PER_BATCH) {
                    if tx.send(make_rows(batch)).is_err() {
                        break;
                    }
                }
            });
            format::render(&template, rx.into_iter().flatten(), &FIELDS, &mut stdout)
        })?;
    }
    // The process ends here: freeing 10,000 records one by one would cost a
    // twentieth of the listing.
    std::mem::forget(images);
    std::mem::forget(state);
    Ok(crate::exit::SUCCESS)
}

/// Below this many images, rows are made on the printing thread.
const ROWS_ON_A_THREAD: usize = 500;
const ROWS_PER_BATCH: usize = 128;

struct Shape {
    trunc: bool,
    /// `--digests`: digest-only repositories get a row per digest.
    show_digests: bool,
    /// Rows carry the repository's digests (else `<none>`).
    need_digest: bool,
    now: jiff::Timestamp,
    /// The local time zone, for CREATED AT.
    tz: jiff::tz::TimeZone,
    /// Which of [`FIELDS`] the format reads: rows carry only those.
    wanted: [bool; FIELDS.len()],
}

impl Shape {
    fn wants(&self, field: &str) -> bool {
        FIELDS
            .iter()
            .zip(self.wanted)
            .any(|((f, _), wanted)| wanted && *f == field)
    }
}

impl Shape {
    /// Docker's `imageFormat` and `imageFormatTaggedAndDigest` for one image.
    fn rows(&self, image: &Image<'_>, digests: &[lade_reference::Reference], out: &mut Vec<Value>) {
        // Repositories in the order of their first name (names are sorted).
        // Most images have a name or two: a list beats a map.
        let mut tags: Vec<(String, Vec<String>)> = Vec::new();
        for name in &image.names {
            let Some(tag) = name.tag() else { continue };
            let repo = name.familiar_name();
            let tag = tag.as_str().to_owned();
            match tags.iter_mut().find(|(r, _)| *r == repo) {
                Some((_, repo_tags)) => repo_tags.push(tag),
                None => tags.push((repo, vec![tag])),
            }
        }
        let mut by_repo: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in digests {
            if let Some(digest) = d.digest() {
                by_repo
                    .entry(d.familiar_name())
                    .or_default()
                    .push(digest.to_string());
            }
        }
        let common = self.common(image);
        if tags.is_empty() && by_repo.is_empty() {
            out.push(common.row("<none>", "<none>", "<none>"));
            return;
        }
        for (repo, repo_tags) in &tags {
            let digests = by_repo.remove(repo).unwrap_or_default();
            for tag in repo_tags {
                if !self.need_digest || digests.is_empty() {
                    out.push(common.row(repo, tag, "<none>"));
                    continue;
                }
                for d in &digests {
                    out.push(common.row(repo, tag, d));
                }
            }
        }
        for (repo, digests) in &by_repo {
            if self.show_digests {
                for d in digests {
                    out.push(common.row(repo, "<none>", d));
                }
            } else {
                out.push(common.row(repo, "<none>", ""));
            }
        }
    }

    /// What every row of an image shows alike, with Docker's strings
    /// (`formatter.imageContext`): computed once per image.
    fn common(&self, image: &Image<'_>) -> Common<'_> {
        let id = if !self.wants("ID") {
            String::new()
        } else if self.trunc {
            image.id().short_id().to_string()
        } else {
            image.id().to_string()
        };
        let record = image.record;
        let created = record
            .created
            .as_deref()
            .filter(|_| self.wants("CreatedAt") || self.wants("CreatedSince"))
            .and_then(|c| c.parse::<jiff::Timestamp>().ok());
        let size = self.wants("Size") || self.wants("VirtualSize");
        Common {
            id,
            created_at: if self.wants("CreatedAt") {
                go_time_in(created, &self.tz)
            } else {
                String::new()
            },
            // Docker's zero time shows no age (the default table says N/A).
            created_since: created.map_or_else(String::new, |t| since(Some(t), self.now)),
            size: if size {
                human_size(record.size())
            } else {
                String::new()
            },
            wanted: &self.wanted,
        }
    }
}

struct Common<'s> {
    id: String,
    created_at: String,
    created_since: String,
    size: String,
    /// As [`Shape::wanted`].
    wanted: &'s [bool; FIELDS.len()],
}

impl Common<'_> {
    /// One row. lade has no containers, and `images` does not compute shared sizes (as
    /// Docker's does not): those say `N/A`; `system df -v --format` has them.
    fn row(&self, repo: &str, tag: &str, digest: &str) -> Value {
        // In the order of FIELDS.
        let values = [
            "N/A",
            &self.created_at,
            &self.created_since,
            digest,
            &self.id,
            repo,
            "N/A",
            &self.size,
            tag,
            "N/A",
            &self.size,
        ];
        let mut m = Map::with_capacity(self.wanted.iter().filter(|w| **w).count());
        for (((k, _), v), wanted) in FIELDS.iter().zip(values).zip(self.wanted) {
            if *wanted {
                m.insert((*k).to_owned(), Value::String(v.to_owned()));
            }
        }
        Value::Object(m)
    }
}
