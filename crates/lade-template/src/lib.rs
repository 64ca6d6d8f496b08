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
//! `%q`), but its errors do not read like Go's (`template: :1:3:3:function foo
//! not defined` where Go says `template: :1: function "foo" not defined`), it
//! accepts what Go rejects (`eq "x" 1`, `lt 1 2.5`, `.s.field` on a string
//! print instead of failing), it does not tell a missing key from `null`, and
//! it needs its own value type, so every item would be converted and its key
//! order lost. Docker users compare our output and errors with Docker's, so
//! we ported Go's lexer, parser and evaluator (and `fmt`, `encoding/json`
//! and `tabwriter` printing) over `serde_json::Value` directly: about two
//! thousand lines, no dependency beyond `unicode-width`.
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
