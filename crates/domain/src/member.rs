//! Members (tenants) and the email domains they own.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::single_line;

/// A DNS domain a member owns, e.g. `northwind.example`; lower-case, at least two labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberDomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a domain name like example.com")]
pub struct DomainError;

impl MemberDomain {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let top_level_ok = labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
        if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !top_level_ok {
            return Err(DomainError);
        }
        Ok(Self(domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MemberDomain {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MemberDomain> for String {
    fn from(value: MemberDomain) -> Self {
        value.0
    }
}

/// The longest name of a member, department, person or title.
pub const NAME_MAX: usize = 200;

/// A display name: a trimmed single line of 1..=200 characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    single_line(raw, NAME_MAX)
}

/// A department tag used by partner search: lower-case, 1..=40 characters of letters,
/// digits, `-` and `_`.
pub fn parse_tag(raw: &str) -> Result<String, String> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() || tag.chars().count() > 40 {
        return Err("tags must be 1 to 40 characters".into());
    }
    if !tag
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err("tags may hold only letters, digits, '-' and '_'".into());
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_validated() {
        assert_eq!(
            MemberDomain::parse("Northwind.Example.").unwrap().as_str(),
            "northwind.example"
        );
        for bad in [
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "exa_mple.com",
            "1.2.3.4",
            "",
        ] {
            assert!(MemberDomain::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn tags_are_lower_case_words() {
        assert_eq!(parse_tag(" Storage ").unwrap(), "storage");
        assert!(parse_tag("two words").is_err());
        assert!(parse_tag("").is_err());
    }
}
