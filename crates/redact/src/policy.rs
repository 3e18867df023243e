//! What to do with each category, and the user's own sensitive terms.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::allow::{AllowError, Allowed};
use crate::Category;

/// What happens to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replace with a stable pseudonym that keeps the value's structure.
    Pseudonymize,
    /// Replace every character with `*`, keeping the length.
    Mask,
    /// Delete the value.
    Remove,
    /// Leave it as it is.
    Keep,
}

/// A user's own pattern: a regular expression whose match (or group `v`) is sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    pub name: String,
    pub regex: String,
    pub category: Category,
}

/// A redaction policy, usually read from a TOML file:
///
/// ```toml
/// keywords = ["Project Falcon"]
/// allow = ["Grace Hopper"]
/// allow_domains = ["github.com"]
///
/// [actions]
/// CREDENTIALS = "mask"
/// HOSTNAMES = "keep"
///
/// [[patterns]]
/// name = "ticket"
/// regex = "TCK-[0-9]{6}"
/// category = "ACCOUNT_IDENTIFIERS"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub actions: BTreeMap<Category, Action>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<CustomPattern>,
    /// Values the built-in detectors leave as they are, in any letter case: what they take
    /// for personal data that is not (a product named like a person, a shared account).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Domains whose host names, and every name under them, are left as they are (public
    /// sites: `github.com`); not e-mail addresses.
    #[serde(default)]
    pub allow_domains: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is not valid TOML of the expected shape: {0}")]
    Malformed(#[from] toml::de::Error),
    #[error("keyword {0:?} must be 2 to 200 characters")]
    Keyword(String),
    #[error(transparent)]
    Allow(#[from] AllowError),
}

impl Policy {
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(text)?;
        policy.check()?;
        Ok(policy)
    }

    /// Refuses a keyword, an allowed value or an allowed domain out of bounds (a policy
    /// made in code, or one given more terms on the command line).
    pub fn check(&self) -> Result<(), PolicyError> {
        if let Some(bad) = self
            .keywords
            .iter()
            .find(|k| !(2..=200).contains(&k.trim().chars().count()))
        {
            return Err(PolicyError::Keyword(bad.clone()));
        }
        self.allowed()?;
        Ok(())
    }

    /// What the built-in detectors leave as it is under this policy.
    pub fn allowed(&self) -> Result<Allowed, AllowError> {
        Allowed::new(&self.allow, &self.allow_domains)
    }

    /// The action for `category`: pseudonymize unless the policy says otherwise.
    pub fn action(&self, category: Category) -> Action {
        self.actions
            .get(&category)
            .copied()
            .unwrap_or(Action::Pseudonymize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_sets_actions_keywords_and_patterns() {
        let policy = Policy::parse(
            "keywords = [\"Falcon\"]\n[actions]\nCREDENTIALS = \"mask\"\nHOSTNAMES = \"keep\"\n\
             [[patterns]]\nname = \"ticket\"\nregex = \"TCK-[0-9]+\"\ncategory = \"ACCOUNT_IDENTIFIERS\"\n",
        )
        .unwrap();
        assert_eq!(policy.action(Category::Credentials), Action::Mask);
        assert_eq!(policy.action(Category::Hostnames), Action::Keep);
        assert_eq!(policy.action(Category::Contact), Action::Pseudonymize);
        assert_eq!(policy.patterns[0].category, Category::AccountIdentifiers);
        let allowing =
            Policy::parse("allow = [\"node\"]\nallow_domains = [\"github.com\"]").unwrap();
        let allowed = allowing.allowed().unwrap();
        assert!(allowed.holds(crate::Kind::Username, b"node"));
        assert!(allowed.holds(crate::Kind::Hostname, b"api.github.com"));
        assert!(!allowed.holds(crate::Kind::Hostname, b"gitlab.com"));
    }

    #[test]
    fn malformed_policies_are_refused_with_a_reason() {
        assert!(matches!(
            Policy::parse("[actions]\nCONTACT = \"shred\""),
            Err(PolicyError::Malformed(_))
        ));
        assert!(matches!(
            Policy::parse("keyword = [\"x\"]"),
            Err(PolicyError::Malformed(_))
        ));
        assert!(matches!(
            Policy::parse("keywords = [\"x\"]"),
            Err(PolicyError::Keyword(_))
        ));
        let error = Policy::parse("allow_domains = [\"co.uk\"]").unwrap_err();
        assert!(matches!(error, PolicyError::Allow(AllowError::Domain(_))));
        assert!(error.to_string().contains("\"co.uk\""), "{error}");
        assert!(matches!(
            Policy::parse("allow = [\"\"]"),
            Err(PolicyError::Allow(AllowError::Value(_)))
        ));
        assert!(matches!(
            Policy::parse("allow = \"node\""),
            Err(PolicyError::Malformed(_))
        ));
        // A policy given more terms after parsing is checked again.
        let mut policy = Policy::parse("allow = [\"node\"]").unwrap();
        assert!(policy.check().is_ok());
        policy.allow_domains.push("com".into());
        assert!(matches!(policy.check(), Err(PolicyError::Allow(_))));
    }
}
