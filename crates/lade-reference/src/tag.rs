//! Image tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.

use std::fmt;
use std::str::FromStr;

use crate::error::ReferenceError;
use crate::grammar;

/// The tag Docker adds when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// A validated tag such as `latest` or `7.2-alpine`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Parses a tag; anything outside the grammar (including an empty
    /// string or more than 128 characters) is [`ReferenceError::InvalidTag`].
    pub fn parse(s: &str) -> Result<Tag, ReferenceError> {
        if grammar::is_tag(s) {
            Ok(Tag(s.to_owned()))
        } else {
            Err(ReferenceError::InvalidTag)
        }
    }

    /// The default tag, `latest`.
    pub fn latest() -> Tag {
        Tag(DEFAULT_TAG.to_owned())
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tag::parse(s)
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
