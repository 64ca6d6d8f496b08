//! The one error type of this crate.
//!
//! Parse and execution messages are Go's own (`template: :1: unexpected "}"
//! in operand`, `template: :1:2: executing "" at <.Foo>: ...`), prefixed as
//! Docker prefixes both: `template parsing error: `.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The format is not a valid template.
    #[error("template parsing error: {message}")]
    Parse {
        /// Go's message, e.g. `template: :1: function "foo" not defined`.
        message: String,
    },
    /// The template failed while executing on an item.
    #[error("template parsing error: {message}")]
    Execute {
        /// Go's message, e.g. `template: :1:2: executing "" at <.Foo>: ...`;
        /// several items' messages are joined by newlines.
        message: String,
    },
    /// Writing the output failed (a closed pipe, for one).
    #[error("failed to write formatted output")]
    Write(#[source] io::Error),
}

impl TemplateError {
    /// Go's message, without Docker's `template parsing error: ` prefix.
    pub fn go_message(&self) -> Option<&str> {
        match self {
            TemplateError::Parse { message } | TemplateError::Execute { message } => Some(message),
            TemplateError::Write(_) => None,
        }
    }
}
