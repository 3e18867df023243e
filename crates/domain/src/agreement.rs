//! The platform's framework agreement: versioned legal text identified by its hash.

use sha2::{Digest, Sha256};

use crate::validation::single_line;
use crate::ValidationErrors;

/// The longest agreement text accepted: 1 MiB.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// A framework agreement ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementText {
    pub title: String,
    pub text: String,
    pub sha256: String,
}

impl AgreementText {
    pub fn parse(title: &str, text: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = errors.check("title", single_line(title, 200));
        if text.trim().is_empty() {
            errors.add("text", "must not be empty");
        }
        if text.len() > MAX_TEXT_BYTES {
            errors.add("text", "must be at most 1 MiB");
        }
        errors.finish(|| AgreementText {
            title: title.unwrap_or_default(),
            sha256: text_sha256(text),
            text: text.to_owned(),
        })
    }
}

/// The hex SHA-256 of the exact text, which an acceptance records.
pub fn text_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_identifies_the_exact_text() {
        let a = AgreementText::parse("Framework", "Terms v1").unwrap();
        assert_eq!(a.sha256, text_sha256("Terms v1"));
        assert_ne!(a.sha256, text_sha256("Terms v1 "));
        assert_eq!(a.sha256.len(), 64);
    }

    #[test]
    fn empty_text_or_title_is_refused() {
        assert_eq!(AgreementText::parse(" ", "  ").unwrap_err().0.len(), 2);
    }
}
