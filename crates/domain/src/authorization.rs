//! The customer's authorization of a collaboration: who authorized what, how, until when.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::{multi_line, single_line};
use crate::{DataCategory, EmailAddress, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthorizationMethod {
    /// The customer authorized through a Casebridge link.
    CustomerLink,
    /// The customer authorized in writing by email.
    Email,
    /// The customer authorized on a recorded call.
    Verbal,
    /// The customer's contract authorizes such collaboration.
    Contract,
}

impl AuthorizationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationMethod::CustomerLink => "CUSTOMER_LINK",
            AuthorizationMethod::Email => "EMAIL",
            AuthorizationMethod::Verbal => "VERBAL",
            AuthorizationMethod::Contract => "CONTRACT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        use AuthorizationMethod::*;
        [CustomerLink, Email, Verbal, Contract]
            .into_iter()
            .find(|m| m.as_str() == raw)
    }
}

/// A validated customer authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAuthorization {
    pub method: AuthorizationMethod,
    pub authorized_by_name: String,
    pub authorized_by_email: EmailAddress,
    pub authorized_at: DateTime<Utc>,
    pub purpose: String,
    pub data_categories: BTreeSet<DataCategory>,
    pub expires_at: Option<DateTime<Utc>>,
    pub evidence: Option<String>,
    /// When the customer (or the submitter for them) withdrew it; nothing crosses after.
    pub revoked_at: Option<DateTime<Utc>>,
    /// For `CUSTOMER_LINK`: where the customer's decision stands.
    pub link: Option<LinkState>,
}

/// The customer's decision on an authorization link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LinkState {
    /// Sent, not answered yet.
    Pending,
    Authorized,
    Declined,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Pending => "PENDING",
            LinkState::Authorized => "AUTHORIZED",
            LinkState::Declined => "DECLINED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            LinkState::Pending,
            LinkState::Authorized,
            LinkState::Declined,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// An authorization as submitted.
#[derive(Debug, Clone)]
pub struct AuthorizationDraft {
    pub method: AuthorizationMethod,
    pub authorized_by_name: String,
    pub authorized_by_email: String,
    /// When the customer authorized; none for `CUSTOMER_LINK`, where the customer decides.
    pub authorized_at: Option<DateTime<Utc>>,
    pub purpose: String,
    pub data_categories: Vec<DataCategory>,
    pub expires_at: Option<DateTime<Utc>>,
    pub evidence: Option<String>,
}

/// Why an authorization does not cover a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("the customer authorization has expired")]
    Expired,
    #[error("the customer authorization names data categories the partnership does not allow: {}", .0.join(", "))]
    OutOfScope(Vec<&'static str>),
}

/// How far in the future an `authorizedAt` may lie, for clock skew.
const CLOCK_SKEW: Duration = Duration::minutes(5);

impl AuthorizationDraft {
    /// Validates the draft at `now` against the categories the partnership `allowed`.
    pub fn validate(
        self,
        allowed: &BTreeSet<DataCategory>,
        now: DateTime<Utc>,
    ) -> Result<CustomerAuthorization, AuthorizationError> {
        let mut errors = ValidationErrors::default();
        let at = |f: &str| format!("customerAuthorization.{f}");
        let name = errors.check(
            at("authorizedBy.name"),
            single_line(&self.authorized_by_name, 200),
        );
        let email = errors.check(
            at("authorizedBy.email"),
            EmailAddress::parse(&self.authorized_by_email),
        );
        let purpose = errors.check(at("purpose"), single_line_or_text(&self.purpose));
        if self.authorized_at.is_some_and(|t| t > now + CLOCK_SKEW) {
            errors.add(at("authorizedAt"), "must not be in the future");
        }
        if self.data_categories.is_empty() {
            errors.add(
                at("dataCategories"),
                "name the data categories the customer authorized",
            );
        }
        let evidence = match self.evidence.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(evidence) => errors.check(at("evidence"), single_line(evidence, 500)),
        };
        if self.method != AuthorizationMethod::CustomerLink && self.authorized_at.is_none() {
            errors.add(at("authorizedAt"), "say when the customer authorized");
        }
        let (Some(name), Some(email), Some(purpose)) = (name, email, purpose) else {
            return Err(AuthorizationError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AuthorizationError::Invalid(errors));
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthorizationError::Expired);
        }
        let categories: BTreeSet<DataCategory> = self.data_categories.into_iter().collect();
        let outside: Vec<&'static str> =
            categories.difference(allowed).map(|c| c.as_str()).collect();
        if !outside.is_empty() {
            return Err(AuthorizationError::OutOfScope(outside));
        }
        Ok(CustomerAuthorization {
            method: self.method,
            authorized_by_name: name,
            authorized_by_email: email,
            // A link's authorization time is the customer's decision; until then, now.
            authorized_at: match self.method {
                AuthorizationMethod::CustomerLink => now,
                _ => self.authorized_at.unwrap_or(now),
            },
            purpose,
            data_categories: categories,
            expires_at: self.expires_at,
            evidence,
            revoked_at: None,
            link: (self.method == AuthorizationMethod::CustomerLink).then_some(LinkState::Pending),
        })
    }
}

fn single_line_or_text(raw: &str) -> Result<String, String> {
    let text = multi_line(raw, 2000)?;
    if text.is_empty() {
        Err("state the purpose the customer authorized".into())
    } else {
        Ok(text)
    }
}

impl CustomerAuthorization {
    /// Whether the authorization still covers sharing at `now` (expiry only; revocation
    /// and a link's decision are checked by the sharing gate).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether the customer still has to decide on its link (or declined).
    pub fn awaits_customer(&self) -> bool {
        matches!(self.link, Some(LinkState::Pending | LinkState::Declined))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(now: DateTime<Utc>) -> AuthorizationDraft {
        AuthorizationDraft {
            method: AuthorizationMethod::Email,
            authorized_by_name: "Jane Customer".into(),
            authorized_by_email: "jane@customer.example".into(),
            authorized_at: Some(now - Duration::hours(1)),
            purpose: "Resolve the storage outage".into(),
            data_categories: vec![DataCategory::Logs],
            expires_at: Some(now + Duration::days(30)),
            evidence: None,
        }
    }

    fn allowed() -> BTreeSet<DataCategory> {
        [DataCategory::Logs, DataCategory::Hostnames]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_complete_authorization_within_scope_is_accepted() {
        let now = Utc::now();
        let authorization = draft(now).validate(&allowed(), now).unwrap();
        assert!(authorization.is_valid_at(now));
        assert!(!authorization.is_valid_at(now + Duration::days(31)));
    }

    #[test]
    fn expired_and_out_of_scope_authorizations_are_refused() {
        let now = Utc::now();
        let mut expired = draft(now);
        expired.expires_at = Some(now - Duration::seconds(1));
        assert_eq!(
            expired.validate(&allowed(), now),
            Err(AuthorizationError::Expired)
        );
        let mut wide = draft(now);
        wide.data_categories = vec![DataCategory::Logs, DataCategory::Financial];
        assert_eq!(
            wide.validate(&allowed(), now),
            Err(AuthorizationError::OutOfScope(vec!["FINANCIAL"]))
        );
    }

    #[test]
    fn only_a_customer_link_goes_without_an_authorization_time() {
        let now = Utc::now();
        let mut link = draft(now);
        link.method = AuthorizationMethod::CustomerLink;
        link.authorized_at = None;
        let pending = link.validate(&allowed(), now).unwrap();
        assert_eq!(pending.link, Some(LinkState::Pending));
        assert!(pending.awaits_customer());
        let mut email = draft(now);
        email.authorized_at = None;
        let Err(AuthorizationError::Invalid(errors)) = email.validate(&allowed(), now) else {
            panic!("expected validation errors");
        };
        assert_eq!(errors.0[0].field, "customerAuthorization.authorizedAt");
        assert!(!draft(now)
            .validate(&allowed(), now)
            .unwrap()
            .awaits_customer());
    }

    #[test]
    fn incomplete_authorizations_name_their_fields() {
        let now = Utc::now();
        let mut bad = draft(now);
        bad.authorized_by_email = "jane".into();
        bad.purpose = " ".into();
        bad.data_categories.clear();
        bad.authorized_at = Some(now + Duration::hours(1));
        bad.method = AuthorizationMethod::CustomerLink;
        let Err(AuthorizationError::Invalid(errors)) = bad.validate(&allowed(), now) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "customerAuthorization.authorizedBy.email",
                "customerAuthorization.purpose",
                "customerAuthorization.authorizedAt",
                "customerAuthorization.dataCategories",
            ]
        );
    }
}
