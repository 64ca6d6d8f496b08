//! The `--format` engine every lade command shares, compatible with Docker's.
//!
//! A format is one of:
//! - `table TEMPLATE`: a header row, then one row per item, columns (`\t`)
//!   aligned as Docker aligns them;
//! - `json`: one JSON object per line;
//! - any other Go template, executed once per item, one line each.
//!
//! Templates are Go's `text/template` (fields, `index`, `range`/`else`,
//! `if`/`else if`, `with`, variables, pipelines, `printf`, comparisons,
//! trim markers, `define`/`template`/`block`) plus Docker's functions
//! (`json split join title lower upper pad truncate`). Data is JSON: the
//! caller builds one object per item, and objects behave as Go maps.
//!
//! ```
//! use lade_template::Template;
//! use serde_json::json;
//!
//! let headers = [("ID", "IMAGE ID"), ("Repository", "REPOSITORY")];
//! let t = Template::parse("table {{.ID}}\\t{{.Repository}}", headers).unwrap();
//! let mut out = Vec::new();
//! t.render(&[json!({"ID": "a24bb4013296", "Repository": "alpine"})], &mut out).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "IMAGE ID       REPOSITORY\na24bb4013296   alpine\n"
//! );
//! ```
//!
//! # Why a small engine of our own
//!
//! We evaluated `gtmpl-ng` 1.0 first. It prints values as Go does (`map[a:b]`,
//! `[A=1 B=2]`, `%q`, `<no value>`), but its errors do not read like Go's
//! (`template: :1:3:3:function foo not defined` where Go says `template: :1:
//! function "foo" not defined`; `unable to get 5 in [A=1 B=2]` where Go says
//! `error calling index: index out of range: 5`), it accepts what Go rejects
//! (`eq "x" 1` is false, `lt 1 2.5` true; Go reports incompatible types), and
//! it needs its own value type, so every item would be converted and its key
//! order lost. Docker users compare our output and errors with Docker's, so
//! we ported Go's lexer, parser and evaluator (and `fmt`, `encoding/json`
//! and `tabwriter` printing) over `serde_json::Value` directly: some four
//! thousand lines with their unit tests, no dependency beyond `unicode-width`.
//!
//! # Where it differs from Docker
//!
//! Docker formats Go structs; we format JSON, so:
//! - an object is a Go map: `{{.Config}}` prints `map[Env:[...] ...]` with
//!   sorted keys (Docker prints a struct as `{[...] ...}`), `json` writes its
//!   keys sorted, and a missing key prints `<no value>` (Docker's list
//!   commands fail with `can't evaluate field`; `docker inspect` fails with
//!   `map has no entry for key`, which [`Template::parse_inspect`] does too);
//! - `null` prints `<nil>`, as a nil pointer field does; fields that are
//!   slices or maps in Docker's structs print `[]` / `map[]` when nil: name
//!   them with [`Template::with_nil_fields`];
//! - type names in errors and `%T` are JSON's (`int`, `float64`, `string`,
//!   `[]interface {}`, `map[string]interface {}`), not Docker's Go types;
//! - `{{json .}}` on a list item does not escape `<>&`, while `--format json`
//!   does (Docker escapes in both, through the item's own `MarshalJSON`).
//!
//! Not supported: complex numbers, `call` (JSON holds no functions), custom
//! delimiters, `printf` argument indexes (`%[1]d`) and `*` widths, `%x`/`%b`
//! on floats. Go's `unicode.IsPrint` (for `%q`) and simple case mapping (for
//! `upper`/`title`) are approximated, and so is go-runewidth (for table
//! alignment). Nesting is limited to 200 levels and `{{template}}` calls to
//! 100, where Go allows 10000 and 100000.
//!
//! Architecture invariant: no I/O beyond the `Write` the caller passes, no
//! knowledge of images or commands; column headers come from the caller.

mod error;
mod exec;
mod funcs;
mod gofmt;
mod gojson;
mod lex;
mod node;
mod parse;
mod tabwriter;
mod template;
mod value;

pub use error::TemplateError;
pub use template::{MissingKey, Mode, Template};

/// Aligns the tab-separated columns of `lines` as a `table` format aligns its rows:
/// for a caller that makes the lines of a table itself (with the header from
/// [`Template::render_header`]).
pub fn align_table(lines: &str) -> String {
    tabwriter::align(lines, tabwriter::DOCKER)
}
