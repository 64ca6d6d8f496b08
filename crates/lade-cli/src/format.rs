//! `--format` for the list commands (`images`, `history`, `system df`): the format Docker
//! picks for the flags given, the template parsed as Docker parses it, and its errors
//! with a hint that names the fields a command offers.
//!
//! Each command builds one JSON object per row, with Docker's field names and Docker's
//! strings (`"7.8MB"`, `"2 weeks ago"`), and names the column header of each field.
//! `inspect` formats differently (no `table`, a missing key is an error, `json` is one
//! array) and does it itself, with the same engine.

use std::fmt;
use std::io::Write;

use lade_template::{MissingKey, Template, TemplateError};
use serde_json::Value;

/// The fields a list command offers, each with its column header, as Docker names them.
pub type Fields = &'static [(&'static str, &'static str)];

/// A `--format` that does not parse or fails while printing: Go's message under
/// Docker's `template parsing error:` prefix, and the fields the command offers.
#[derive(Debug)]
pub struct FormatError {
    pub error: TemplateError,
    pub fields: Fields,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // A closed pipe must stay visible to `main`, which treats it as success.
        match &self.error {
            TemplateError::Write(e) => Some(e),
            _ => None,
        }
    }
}

impl FormatError {
    /// `hint:` lines: the fields, when the template asked for one that is not there.
    pub fn hints(&self) -> Vec<String> {
        let missing = self.error.go_message().is_some_and(|m| {
            m.contains("map has no entry for key") || m.contains("can't evaluate field")
        });
        if !missing || self.fields.is_empty() {
            return Vec::new();
        }
        let names: Vec<String> = self.fields.iter().map(|(f, _)| format!(".{f}")).collect();
        vec![format!("the fields here are {}", names.join(" "))]
    }
}

/// The format the user gave, or `table` (Docker's default) for none or an empty one.
pub fn source(flag: Option<&str>) -> &str {
    match flag {
        Some(f) if !f.is_empty() => f,
        _ => "table",
    }
}

/// Parses a list command's format as Docker does (`table`, `json`, `\t`). A field that
/// the rows do not have is an error, as it is in Docker (whose rows are Go structs).
pub fn parse(format: &str, fields: Fields) -> Result<Template, FormatError> {
    Template::parse(format, fields.iter().copied())
        .map(|t| t.with_missing_key(MissingKey::Error))
        .map_err(|error| FormatError { error, fields })
}

/// Prints the rows with the template; on an error nothing is printed.
pub fn render<V: std::borrow::Borrow<Value>>(
    template: &Template,
    rows: impl IntoIterator<Item = V>,
    fields: Fields,
    out: &mut impl Write,
) -> Result<(), FormatError> {
    template
        .render(rows, out)
        .map_err(|error| FormatError { error, fields })
}
