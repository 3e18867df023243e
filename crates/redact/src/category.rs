//! The data categories of the partnership vocabulary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Contact,
    NetworkIdentifiers,
    Hostnames,
    Credentials,
    AccountIdentifiers,
    Financial,
    GovernmentId,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Contact,
        Category::NetworkIdentifiers,
        Category::Hostnames,
        Category::Credentials,
        Category::AccountIdentifiers,
        Category::Financial,
        Category::GovernmentId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Contact => "CONTACT",
            Category::NetworkIdentifiers => "NETWORK_IDENTIFIERS",
            Category::Hostnames => "HOSTNAMES",
            Category::Credentials => "CREDENTIALS",
            Category::AccountIdentifiers => "ACCOUNT_IDENTIFIERS",
            Category::Financial => "FINANCIAL",
            Category::GovernmentId => "GOVERNMENT_ID",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown data category {s:?}"))
    }
}
