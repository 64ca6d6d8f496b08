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
    let mut stdout = std::io::stdout().lock();
    if let Some(plain) = Plain::of(&format) {
        let text = plain.print(&template, &images, &shape, &filters);
        std::io::Write::write_all(&mut stdout, text.as_bytes())?;
    } else {
        print_rows(&template, &images, &shape, &filters, &mut stdout)?;
    }
    // The process ends here: freeing 10,000 records one by one would cost a
    // twentieth of the listing.
    std::mem::forget(images);
    std::mem::forget(state);
    Ok(crate::exit::SUCCESS)
}

/// Prints the rows through the template.
fn print_rows(
    template: &lade_template::Template,
    images: &[Image<'_>],
    shape: &Shape,
    filters: &ImageFilters,
    out: &mut impl std::io::Write,
) -> Result<(), format::FormatError> {
    let make_rows = |images: &[Image<'_>]| {
        let mut rows = Vec::new();
        for image in images {
            shape.rows(
                image,
                &repo_digests(image, filters),
                &mut |c, repo, tag, digest| {
                    rows.push(c.row(repo, tag, digest));
                },
            );
        }
        rows
    };
    if images.len() < ROWS_ON_A_THREAD {
        return format::render(template, make_rows(images), &FIELDS, out);
    }
    // Rows are made on a second thread while this one prints them (the template and
    // the table cost about as much again), in batches: 10,000 images need not hold
    // 10,000 maps at once.
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
        format::render(template, rx.into_iter().flatten(), &FIELDS, out)
    })
}

/// The default formats (`images`, `images --digests`, `images -q`), printed without
/// the template engine: the rows' cells go straight into the table. The output is the
/// template's, byte for byte (`plain_output_is_the_templates` compares them); on
/// 10,000 images, building a map per row and executing the template for it was half
/// of what a listing cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plain {
    /// [`TABLE`], or [`TABLE_WITH_DIGEST`] with the DIGEST column.
    Table { digest: bool },
    /// `{{.ID}}` (`-q`).
    Ids,
}

impl Plain {
    fn of(format: &str) -> Option<Plain> {
        match format {
            TABLE => Some(Plain::Table { digest: false }),
            TABLE_WITH_DIGEST => Some(Plain::Table { digest: true }),
            "{{.ID}}" => Some(Plain::Ids),
            _ => None,
        }
    }

    /// The whole output. From [`ROWS_ON_A_THREAD`] images, the second half of the
    /// lines is made on a second thread.
    fn print(
        self,
        template: &lade_template::Template,
        images: &[Image<'_>],
        shape: &Shape,
        filters: &ImageFilters,
    ) -> String {
        let lines = |images: &[Image<'_>]| {
            let mut text = String::with_capacity(images.len() * 100);
            for image in images {
                shape.rows(
                    image,
                    &repo_digests(image, filters),
                    &mut |c, repo, tag, digest| {
                        self.line(c, repo, tag, digest, &mut text);
                    },
                );
            }
            text
        };
        let mut text = String::new();
        if let Plain::Table { .. } = self {
            text = template.render_header();
            text.push('\n');
        }
        if images.len() < ROWS_ON_A_THREAD {
            text.push_str(&lines(images));
        } else {
            let (first, second) = images.split_at(images.len() / 2);
            let (a, b) = std::thread::scope(|s| {
                let b = s.spawn(|| lines(second));
                let a = lines(first);
                // A panic making the lines is a bug; pass it on as one.
                (a, b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            });
            text.push_str(&a);
            text.push_str(&b);
        }
        match self {
            Plain::Table { .. } => lade_template::align_table(&text),
            Plain::Ids => text,
        }
    }

    /// One row's line, as the format prints it.
    fn line(self, c: &Common<'_>, repo: &str, tag: &str, digest: &str, out: &mut String) {
        match self {
            Plain::Ids => out.push_str(&c.id),
            Plain::Table {
                digest: with_digest,
            } => {
                for cell in [repo, tag] {
                    out.push_str(cell);
                    out.push('\t');
                }
                if with_digest {
                    out.push_str(digest);
                    out.push('\t');
                }
                out.push_str(&c.id);
                out.push('\t');
                // `{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}`
                out.push_str(if c.created_since.is_empty() {
                    "N/A"
                } else {
                    &c.created_since
                });
                out.push('\t');
                out.push_str(&c.size);
            }
        }
        out.push('\n');
    }
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
    fn rows(
        &self,
        image: &Image<'_>,
        digests: &[lade_reference::Reference],
        out: &mut impl FnMut(&Common<'_>, &str, &str, &str),
    ) {
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
            out(&common, "<none>", "<none>", "<none>");
            return;
        }
        for (repo, repo_tags) in &tags {
            let digests = by_repo.remove(repo).unwrap_or_default();
            for tag in repo_tags {
                if !self.need_digest || digests.is_empty() {
                    out(&common, repo, tag, "<none>");
                    continue;
                }
                for d in &digests {
                    out(&common, repo, tag, d);
                }
            }
        }
        for (repo, digests) in &by_repo {
            if self.show_digests {
                for d in digests {
                    out(&common, repo, "<none>", d);
                }
            } else {
                out(&common, repo, "<none>", "");
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

#[cfg(test)]
mod tests {
    use super::*;
    use lade_oci::{Descriptor, ImageIndex, media_type};
    use lade_reference::{Digest, Reference};
    use lade_store::{ImageRecord, LayerRecord, Meta, State};

    /// A store of `n` images: most with a tag, some with two repositories or two
    /// tags, repository digests on some, and dangling ones; each created a day apart
    /// (the last with no creation time).
    fn state(n: u16) -> State {
        let mut state = State::new(ImageIndex::empty(), Meta::default());
        let digest = |i: u16, salt: u8| {
            let mut bytes = [salt; 32];
            bytes[..2].copy_from_slice(&i.to_be_bytes());
            Digest::from_sha256_bytes(&bytes)
        };
        for i in 0..n {
            let manifest = digest(i, 0);
            let created =
                (i + 1 < n).then(|| format!("2026-{:02}-{:02}T10:00:00Z", 1 + i % 12, 1 + i % 28));
            let repo_digests = if i % 3 == 0 {
                vec![format!("docker.io/library/app{i}@{}", digest(i, 0x55))]
            } else {
                Vec::new()
            };
            state.meta_mut().images.insert(
                manifest.clone(),
                ImageRecord {
                    manifest: manifest.clone(),
                    manifest_media_type: media_type::OCI_MANIFEST.into(),
                    manifest_size: 1,
                    config: digest(i, 128),
                    config_size: 1,
                    created,
                    added: String::new(),
                    layers: vec![LayerRecord {
                        digest: Digest::from_sha256_bytes(&[200; 32]),
                        size: 1000 * u64::from(i) + 17,
                        uncompressed_size: Some(3000 * u64::from(i) + 99),
                        content_size: (i % 2 == 0).then_some(2500 * u64::from(i)),
                    }],
                    labels: Default::default(),
                    platform: "linux/amd64".into(),
                    index: None,
                    repo_digests,
                },
            );
            let d = Descriptor::new(media_type::OCI_MANIFEST, manifest, 1);
            let names: Vec<String> = match i % 5 {
                0 => vec![format!("app{i}:1"), format!("app{i}:2")],
                1 => vec![format!("app{i}"), format!("example.com/team/app{i}:v1")],
                2 => Vec::new(),
                _ => vec![format!("app{i}:latest")],
            };
            if names.is_empty() {
                state.add_untagged(&d);
            }
            for name in names {
                state.tag(&d, &Reference::parse_normalized(&name).unwrap());
            }
        }
        state
    }

    #[test]
    fn plain_output_is_the_templates() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        // 600: the lines are made on two threads.
        for n in [0, 7, 40, 600] {
            let state = state(n);
            let filters = ImageFilters::default();
            let images = lade_ops::images::list(&state, &filters).unwrap();
            for (quiet, digests, trunc) in [
                (false, false, true),
                (false, true, true),
                (false, false, false),
                (false, true, false),
                (true, false, true),
                (true, true, false),
            ] {
                let format = image_format(None, quiet, digests);
                let plain = Plain::of(&format).expect("a default format");
                let template = format::parse(&format, &FIELDS).unwrap();
                let read = template.fields_read();
                let shape = Shape {
                    trunc,
                    show_digests: digests,
                    need_digest: digests || format.contains("{{.Digest}}"),
                    now,
                    tz: jiff::tz::TimeZone::UTC,
                    wanted: FIELDS.map(|(f, _)| read.as_ref().is_none_or(|r| r.contains(f))),
                };
                let mut by_template = Vec::new();
                print_rows(&template, &images, &shape, &filters, &mut by_template).unwrap();
                let by_template = String::from_utf8(by_template).unwrap();
                assert_eq!(
                    plain.print(&template, &images, &shape, &filters),
                    by_template,
                    "{n} images, {format}, trunc {trunc}"
                );
                if n == 40 && !quiet {
                    // The case this guards: every kind of row is there.
                    for what in ["<none>", "N/A", "example.com/team/app", "app0 ", "sha256:"] {
                        assert!(
                            by_template.contains(what) || (what == "sha256:" && !digests && trunc),
                            "{what} missing in\n{by_template}"
                        );
                    }
                }
            }
        }
    }
}
