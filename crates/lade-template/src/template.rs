//! `Template`: a parsed `--format`, and the three ways Docker prints with one.
//!
//! Docker's `formatter.Context` (`docker/cli/cli/command/formatter`) turns a
//! format into a template like this, and so does [`Template::parse`]:
//! 1. `table` prefix: drop it, remember to print a header and align columns;
//!    exactly `json`: the template becomes `{{json .}}`;
//! 2. trim spaces (only spaces) at both ends;
//! 3. replace the two characters `\t` and `\n` by a tab and a newline.
//!
//! `docker inspect` (`cli/command/inspect`) does none of this, and fails on a
//! missing key (`map has no entry for key "Foo"`): [`Template::parse_inspect`].

use std::io::Write;

use serde_json::{Map, Value};

use crate::error::TemplateError;
use crate::exec::Exec;
use crate::gojson;
use crate::parse::{self, TreeSet};
use crate::tabwriter;
use crate::value::Val;

/// How a template prints a list of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `table ...`: a header row, then the rows, columns aligned.
    Table,
    /// `json`: one JSON object per line (`inspect`: one JSON array).
    Json,
    /// Any other template: its output for each item, one per line.
    Template,
}

/// What `.Key` gives when an object has no such key (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// The missing value, printed `<no value>` (Go's default).
    #[default]
    NoValue,
    /// An error: `map has no entry for key "Foo"` (what `docker inspect` does).
    Error,
}

/// A parsed `--format`.
#[derive(Debug, Clone)]
pub struct Template {
    mode: Mode,
    inspect: bool,
    text: String,
    trees: TreeSet,
    headers: Value,
    missing_key: MissingKey,
    nil_fields: Vec<(String, bool)>,
}

fn parse_text(text: &str) -> Result<TreeSet, TemplateError> {
    parse::parse(text).map_err(|message| TemplateError::Parse { message })
}

impl Template {
    /// Parses a format as Docker's list commands do (`images`, `ps`, ...).
    ///
    /// `headers` maps each field name to its column header, e.g.
    /// `("ID", "IMAGE ID")`; the header row is the template executed on that
    /// map with Docker's header functions (`{{.ID}}` prints `IMAGE ID`,
    /// `{{upper .ID}}` too). Callers map `""` and `"table"` to their default
    /// table format before calling.
    pub fn parse<I, K, V>(format: &str, headers: I) -> Result<Self, TemplateError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let (mode, text) = if let Some(rest) = format.strip_prefix("table") {
            (Mode::Table, rest)
        } else if format == "json" {
            (Mode::Json, "{{json .}}")
        } else {
            (Mode::Template, format)
        };
        let text = text
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let headers: Map<String, Value> = headers
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), Value::String(v.as_ref().to_owned())))
            .collect();
        Ok(Template {
            mode,
            inspect: false,
            trees: parse_text(&text)?,
            text,
            headers: Value::Object(headers),
            missing_key: MissingKey::NoValue,
            nil_fields: Vec::new(),
        })
    }

    /// Parses a format as `docker inspect` does: the template as written
    /// (no `table`, no `\t` replacement), a missing key is an error, and
    /// `json` prints all items as one compact JSON array. Callers handle the
    /// empty format (indented JSON) themselves.
    pub fn parse_inspect(format: &str) -> Result<Self, TemplateError> {
        let (mode, text) = if format == "json" {
            (Mode::Json, "{{json .}}")
        } else {
            (Mode::Template, format)
        };
        Ok(Template {
            mode,
            inspect: true,
            trees: parse_text(text)?,
            text: text.to_owned(),
            headers: Value::Object(Map::new()),
            missing_key: MissingKey::Error,
            nil_fields: Vec::new(),
        })
    }

    /// Parses a plain Go template: no Docker processing of the text, one
    /// output line per item.
    pub fn parse_go(text: &str) -> Result<Self, TemplateError> {
        Ok(Template {
            mode: Mode::Template,
            inspect: false,
            trees: parse_text(text)?,
            text: text.to_owned(),
            headers: Value::Object(Map::new()),
            missing_key: MissingKey::NoValue,
            nil_fields: Vec::new(),
        })
    }

    /// Names the fields whose `null` stands for a nil slice (`map: false`) or map
    /// (`map: true`) of the Go struct Docker formats, such as `Env` or `Labels` of an
    /// image's `Config`: `{{.Config.Env}}` then prints `[]` as Docker does (not
    /// `<nil>`), `{{len}}` and `{{range}}` see an empty list, and `{{json}}` still
    /// writes `null`.
    #[must_use]
    pub fn with_nil_fields<'a>(
        mut self,
        fields: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Self {
        self.nil_fields = fields.into_iter().map(|(f, m)| (f.to_owned(), m)).collect();
        self
    }

    /// Sets what a missing key gives.
    #[must_use]
    pub fn with_missing_key(mut self, missing_key: MissingKey) -> Self {
        self.missing_key = missing_key;
        self
    }

    /// The fields of each item the format reads (`{{.ID}}\t{{.Size}}` reads `ID` and
    /// `Size`), or `None` when it may read any (`{{json .}}`, `$`, `json` mode): a
    /// caller may leave the others out of the items.
    pub fn fields_read(&self) -> Option<std::collections::BTreeSet<String>> {
        if self.mode == Mode::Json {
            return None;
        }
        crate::node::fields_read(self.trees.values())
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn is_table(&self) -> bool {
        self.mode == Mode::Table
    }

    pub fn is_json(&self) -> bool {
        self.mode == Mode::Json
    }

    fn execute(&self, data: &Value, header: bool) -> Result<String, (String, String)> {
        let mut ex = Exec::new(&self.trees, &self.text);
        ex.missing_key_error = self.missing_key == MissingKey::Error && !header;
        ex.header = header;
        ex.nil_fields = &self.nil_fields;
        match ex.run(Val::borrowed(data)) {
            Ok(()) => Ok(ex.out),
            Err(e) => Err((e, ex.out)),
        }
    }

    /// The output for one item, without a trailing newline: the template's
    /// output (a table row keeps its tabs), or the item's JSON.
    pub fn render_one(&self, item: &Value) -> Result<String, TemplateError> {
        if self.mode == Mode::Json {
            return Ok(gojson::encode(item, !self.inspect));
        }
        self.execute(item, false)
            .map_err(|(message, _)| TemplateError::Execute { message })
    }

    /// The header row of a table, before alignment. As in Docker, an error
    /// while executing it is ignored and the output so far is kept.
    pub fn render_header(&self) -> String {
        match self.execute(&self.headers, true) {
            Ok(s) | Err((_, s)) => s,
        }
    }

    /// Prints `items` as Docker prints them with this format. On an error
    /// nothing is written (`inspect`: the items that worked are written,
    /// then the error names the ones that failed). Items may be made as they are
    /// printed (a listing of 10,000 rows need not hold them all).
    pub fn render<V: std::borrow::Borrow<Value>>(
        &self,
        items: impl IntoIterator<Item = V>,
        out: &mut impl Write,
    ) -> Result<(), TemplateError> {
        let mut buf = String::new();
        let mut failures = Vec::new();
        match (self.mode, self.inspect) {
            (Mode::Json, true) => {
                buf.push('[');
                for (i, item) in items.into_iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    buf.push_str(&gojson::encode(item.borrow(), true));
                }
                buf.push_str("]\n");
            }
            (_, true) => {
                for item in items {
                    match self.render_one(item.borrow()) {
                        Ok(s) => {
                            buf.push_str(&s);
                            buf.push('\n');
                        }
                        Err(e) => failures.push(e.go_message().unwrap_or_default().to_owned()),
                    }
                }
                if buf.is_empty() {
                    buf.push('\n');
                }
            }
            (Mode::Table, false) => {
                let mut table = self.render_header();
                table.push('\n');
                for item in items {
                    table.push_str(&self.render_one(item.borrow())?);
                    table.push('\n');
                }
                buf = tabwriter::align(&table, tabwriter::DOCKER);
            }
            (_, false) => {
                for item in items {
                    buf.push_str(&self.render_one(item.borrow())?);
                    buf.push('\n');
                }
            }
        }
        out.write_all(buf.as_bytes())
            .map_err(TemplateError::Write)?;
        if !failures.is_empty() {
            return Err(TemplateError::Execute {
                message: failures.join("\ntemplate parsing error: "),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: &str) -> Option<Vec<String>> {
        let t = Template::parse(format, [("ID", "IMAGE ID")]).unwrap();
        t.fields_read().map(|s| s.into_iter().collect())
    }

    #[test]
    fn fields_read_are_the_first_field_names() {
        assert_eq!(
            read("table {{.Repository}}\\t{{.ID}}"),
            Some(vec!["ID".into(), "Repository".into()])
        );
        assert_eq!(
            read("{{if eq .Tag \"x\"}}{{.Config.Env}}{{else}}{{printf \"%s\" (.Size)}}{{end}}"),
            Some(vec!["Config".into(), "Size".into(), "Tag".into()])
        );
        assert_eq!(
            read("{{range .Names}}{{.Short}}{{end}}"),
            Some(vec!["Names".into(), "Short".into()])
        );
        assert_eq!(read("plain text"), Some(vec![]));
    }

    #[test]
    fn formats_that_may_read_anything_say_so() {
        for f in [
            "{{json .}}",
            "json",
            "{{index . \"ID\"}}",
            "{{$.ID}}",
            "{{define \"a\"}}{{.ID}}{{end}}{{template \"a\" .}}",
        ] {
            assert_eq!(read(f), None, "{f}");
        }
    }
}
