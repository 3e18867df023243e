//! The fixed vocabulary of data categories that partnerships, customer authorizations and
//! the redaction engine share.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A kind of data that may cross between members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DataCategory {
    /// Names, email addresses, phone numbers of people.
    Contact,
    /// IP and MAC addresses.
    NetworkIdentifiers,
    /// Host and domain names, URLs.
    Hostnames,
    /// Passwords, keys, tokens.
    Credentials,
    /// Log excerpts and diagnostic output.
    Logs,
    /// Usernames, customer and account numbers.
    AccountIdentifiers,
    /// Payment cards and bank accounts.
    Financial,
    /// National identity numbers.
    GovernmentId,
}

impl DataCategory {
    pub const ALL: [DataCategory; 8] = [
        DataCategory::Contact,
        DataCategory::NetworkIdentifiers,
        DataCategory::Hostnames,
        DataCategory::Credentials,
        DataCategory::Logs,
        DataCategory::AccountIdentifiers,
        DataCategory::Financial,
        DataCategory::GovernmentId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Contact => "CONTACT",
            DataCategory::NetworkIdentifiers => "NETWORK_IDENTIFIERS",
            DataCategory::Hostnames => "HOSTNAMES",
            DataCategory::Credentials => "CREDENTIALS",
            DataCategory::Logs => "LOGS",
            DataCategory::AccountIdentifiers => "ACCOUNT_IDENTIFIERS",
            DataCategory::Financial => "FINANCIAL",
            DataCategory::GovernmentId => "GOVERNMENT_ID",
        }
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown data category {0:?}")]
pub struct UnknownCategory(pub String);

impl FromStr for DataCategory {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataCategory::ALL
            .into_iter()
            .find(|category| category.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_matches_serde_form() {
        for category in DataCategory::ALL {
            let json = serde_json::to_string(&category).unwrap();
            assert_eq!(json, format!("\"{}\"", category.as_str()));
            assert_eq!(category.as_str().parse::<DataCategory>(), Ok(category));
        }
        assert!("contact".parse::<DataCategory>().is_err());
    }
}
