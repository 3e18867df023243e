//! What is kept as it is, whatever a detector makes of it: names reserved for
//! documentation, and the values and domains a policy allows.

use std::collections::HashSet;

use crate::pseudonym::with_lower;
use crate::Kind;

/// The longest value or domain a policy may allow: a domain name's own limit.
pub const ALLOWED_BYTES: usize = 253;
/// How many values and how many domains a policy may allow.
pub const ALLOWED_ENTRIES: usize = 10_000;

/// Domains reserved for documentation and examples (RFC 2606), kept with every name
/// under them: they name nobody's site. Host pseudonyms are written under `.example`, so
/// output redacted once is left as it is by a second run.
const RESERVED_DOMAINS: [&[u8]; 4] = [b"example.com", b"example.net", b"example.org", b"example"];

/// Values and domains kept as they are (see [`Allowed::holds`]).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    /// Values, lower case.
    values: HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    /// Domains, lower case.
    domains: HashSet<Box<[u8]>, foldhash::fast::RandomState>,
}

/// Why a policy's allowed value or domain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowError {
    #[error("allowed value {0:?} must be 1 to {ALLOWED_BYTES} bytes")]
    Value(String),
    #[error("allowed domain {0:?} is not a domain name under a public suffix (github.com, vendor.co.uk)")]
    Domain(String),
    #[error("at most {ALLOWED_ENTRIES} allowed values and {ALLOWED_ENTRIES} allowed domains")]
    TooMany,
}

impl Allowed {
    /// `values` kept wherever they are found as a whole, in any letter case; `domains`
    /// kept as host names with every name under them. A domain must lie under a public
    /// suffix and not be one (`github.com`, not `com` or `co.uk`): allowing a suffix would
    /// keep every site under it.
    pub fn new(values: &[String], domains: &[String]) -> Result<Self, AllowError> {
        if values.len() > ALLOWED_ENTRIES || domains.len() > ALLOWED_ENTRIES {
            return Err(AllowError::TooMany);
        }
        let mut allowed = Self::default();
        for value in values {
            if value.is_empty() || value.len() > ALLOWED_BYTES {
                return Err(AllowError::Value(value.clone()));
            }
            allowed
                .values
                .insert(value.to_ascii_lowercase().into_bytes().into());
        }
        for domain in domains {
            let lower = domain.trim_end_matches('.').to_ascii_lowercase();
            let well_formed = (1..=ALLOWED_BYTES).contains(&lower.len())
                && lower.split('.').all(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            let registrable = psl::domain(lower.as_bytes()).is_some_and(|d| d.suffix().is_known());
            if !(well_formed && registrable) {
                return Err(AllowError::Domain(domain.clone()));
            }
            allowed.domains.insert(lower.into_bytes().into());
        }
        Ok(allowed)
    }

    /// Whether a value a built-in detector found as `kind` is kept: a value the policy
    /// allows, or a host name under a reserved or allowed domain. E-mail addresses are
    /// kept only as values: a person's address under an allowed site is still theirs.
    pub fn holds(&self, kind: Kind, value: &[u8]) -> bool {
        if matches!(kind, Kind::Custom(_)) {
            return false;
        }
        if !self.values.is_empty()
            && value.len() <= ALLOWED_BYTES
            && with_lower(value, |lower| self.values.contains(lower))
        {
            return true;
        }
        kind == Kind::Hostname
            && match crate::validate::dn_domain(value) {
                // A distinguished name's `DC=` parts: their domain.
                Some((domain, _)) => self.under_kept_domain(&domain),
                _ => self.under_kept_domain(value),
            }
    }

    /// Whether `host` is, or lies under, a reserved or an allowed domain.
    fn under_kept_domain(&self, host: &[u8]) -> bool {
        let host = host.strip_suffix(b".").unwrap_or(host);
        host.len() <= ALLOWED_BYTES
            && with_lower(host, |lower| {
                // The name itself, then each name it lies under.
                let mut suffix = lower;
                loop {
                    if RESERVED_DOMAINS.contains(&suffix) || self.domains.contains(suffix) {
                        return true;
                    }
                    match suffix.iter().position(|b| *b == b'.') {
                        Some(dot) => suffix = &suffix[dot + 1..],
                        None => return false,
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(values: &[&str], domains: &[&str]) -> Allowed {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Allowed::new(&own(values), &own(domains)).unwrap()
    }

    #[test]
    fn reserved_names_are_kept_as_hosts_only() {
        let none = Allowed::default();
        for host in [
            "example.com",
            "www.example.org",
            "Sub.Example.NET",
            "h327ccbdaf6.sdfc9b2c422.example",
            "example.com.",
        ] {
            assert!(none.holds(Kind::Hostname, host.as_bytes()), "{host}");
        }
        for host in [
            "example.co.uk",
            "myexample.com",
            "example.com.acme.io",
            "example.community",
            "examples",
            "acme.com",
        ] {
            assert!(!none.holds(Kind::Hostname, host.as_bytes()), "{host}");
        }
        // An address under a reserved domain is still found: its local part may be real.
        assert!(!none.holds(Kind::Email, b"alice@example.com"));
    }

    #[test]
    fn allowed_values_are_kept_whole_in_any_case_but_not_the_users_own_terms() {
        let a = allowed(&["node", "Grace Hopper"], &[]);
        assert!(a.holds(Kind::Username, b"node"));
        assert!(a.holds(Kind::Username, b"NODE"));
        assert!(a.holds(Kind::PersonName, b"grace hopper"));
        assert!(!a.holds(Kind::Username, b"nodes"));
        assert!(!a.holds(Kind::Username, b"nod"));
        assert!(!a.holds(Kind::PersonName, b"Grace"));
        assert!(!a.holds(Kind::Custom(0), b"node"));
        let long = vec![b'a'; ALLOWED_BYTES + 1];
        assert!(!a.holds(Kind::Username, &long));
    }

    #[test]
    fn allowed_domains_keep_their_hosts_and_no_others() {
        let a = allowed(&[], &["github.com", "Vendor.co.uk."]);
        for host in [
            "github.com",
            "api.GitHub.com",
            "a.b.github.com",
            "vendor.co.uk",
        ] {
            assert!(a.holds(Kind::Hostname, host.as_bytes()), "{host}");
        }
        for host in ["notgithub.com", "github.com.evil.io", "co.uk", "acme.co.uk"] {
            assert!(!a.holds(Kind::Hostname, host.as_bytes()), "{host}");
        }
        assert!(!a.holds(Kind::Email, b"octocat@github.com"));
        assert!(!a.holds(Kind::Username, b"github.com"));
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry() {
        let one = |s: &str| vec![s.to_string()];
        assert_eq!(
            Allowed::new(&one(""), &[]).unwrap_err(),
            AllowError::Value(String::new())
        );
        let long = "a".repeat(ALLOWED_BYTES + 1);
        assert!(matches!(
            Allowed::new(&one(&long), &[]),
            Err(AllowError::Value(_))
        ));
        for domain in [
            "com",
            "co.uk",
            "",
            "git hub.com",
            "-x.com",
            "a..com",
            "x.notatld",
        ] {
            assert_eq!(
                Allowed::new(&[], &one(domain)).unwrap_err(),
                AllowError::Domain(domain.into()),
                "{domain}"
            );
        }
        let many = vec!["x".to_string(); ALLOWED_ENTRIES + 1];
        assert_eq!(Allowed::new(&many, &[]).unwrap_err(), AllowError::TooMany);
        assert_eq!(Allowed::new(&[], &many).unwrap_err(), AllowError::TooMany);
        assert!(Allowed::new(&many[..ALLOWED_ENTRIES], &[]).is_ok());
    }
}
