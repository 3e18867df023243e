//! The one gate for everything that crosses to the other member of a case.
//!
//! [`plan`] takes the rules that hold at this moment (agreements, partnership, customer
//! authorization), the sender's pseudonym key and the partner-visible parts of a payload,
//! and returns either a [`SharePlan`] or a [`Refusal`]. The plan is what gets stored: every
//! finding of the redaction engine is replaced by its pseudonym in the stored text, and the
//! sender's vault records what each pseudonym stands for and its fate. A finding whose
//! category both the partnership's terms and the customer's authorization allow is
//! `Shared` (the partner's view shows the value); any other is `Pseudonymized` (the partner
//! sees only the pseudonym) unless the sender released it. Secrets are never shared by
//! default: a credential crosses only when its sender releases it. Because the stored text never
//! holds a value, revoking the authorization or destroying the vault takes every value out
//! of the partner's view at once.

use std::collections::{BTreeMap, BTreeSet};

use casebridge_redact::{Detectors, Kind, Pseudonymizer};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::authorization::CustomerAuthorization;
use crate::DataCategory;

/// The redaction engine as the gate uses it: every built-in detector, compiled once.
pub struct Engine {
    detectors: Detectors,
}

impl Engine {
    pub fn new() -> Self {
        Self {
            detectors: Detectors::new(&[], &[]).expect("the built-in detectors always compile"),
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

/// What the gate needs to know about the case's situation at the moment of sharing.
pub struct Rules<'a> {
    pub now: DateTime<Utc>,
    pub submitter_accepted_agreement: bool,
    pub receiver_accepted_agreement: bool,
    pub partnership_active: bool,
    /// The categories the partnership's terms allow.
    pub partnership_categories: &'a BTreeSet<DataCategory>,
    pub authorization: Option<&'a CustomerAuthorization>,
    pub authorization_revoked: bool,
}

/// Why nothing may cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum Refusal {
    SubmitterAgreement,
    ReceiverAgreement,
    PartnershipInactive,
    AuthorizationMissing,
    AuthorizationExpired,
    AuthorizationRevoked,
    AuthorizationPending,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::SubmitterAgreement => {
                "the submitting company has not accepted the current framework agreement"
            }
            Refusal::ReceiverAgreement => {
                "the receiving company has not accepted the current framework agreement"
            }
            Refusal::PartnershipInactive => {
                "the partnership under which this case was opened is no longer active; the case can be read and closed but nothing more can be shared"
            }
            Refusal::AuthorizationMissing => {
                "a collaboration request needs the customer's authorization"
            }
            Refusal::AuthorizationExpired => {
                "the customer authorization for this case has expired; nothing more can be shared"
            }
            Refusal::AuthorizationRevoked => {
                "the customer revoked the authorization for this case; nothing more can be shared"
            }
            Refusal::AuthorizationPending => {
                "the customer has not authorized this collaboration; nothing can be shared until they do"
            }
        }
    }
}

/// Why the content is sent: a closure is always possible, but when the rules no longer
/// hold, nothing in its text is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Share,
    Closure,
}

/// One partner-visible part of a payload.
#[derive(Debug, Clone)]
pub struct SharePart {
    /// Where it goes, in the API's terms: `problemDescription`, `customFields.contact`.
    pub field: String,
    pub text: String,
    /// A value that is personal data as a whole (an EMAIL or PHONE field): one finding of
    /// this category over the whole text, whatever the detectors say.
    pub whole: Option<WholeValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeValue {
    Email,
    Phone,
    /// Another customer contact detail (a name, a company, an address).
    Contact,
}

impl SharePart {
    pub fn text(field: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            text: text.into(),
            whole: None,
        }
    }
}

/// What a case already holds, as far as minimizing a new payload needs it.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The sender's values it released to the partner.
    pub released: BTreeSet<String>,
    /// Every pseudonym either side's text on the case already carries.
    pub pseudonyms: BTreeSet<String>,
}

/// What happens to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Fate {
    /// Inside the partnership's terms and the customer's authorization: the partner sees it.
    Shared,
    /// Outside them: the partner sees only the pseudonym.
    Pseudonymized,
    /// Outside the terms of the payload but released on purpose by the sender.
    Released,
}

impl Fate {
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Shared => "SHARED",
            Fate::Pseudonymized => "PSEUDONYMIZED",
            Fate::Released => "RELEASED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Fate::Shared, Fate::Pseudonymized, Fate::Released]
            .into_iter()
            .find(|f| f.as_str() == raw)
    }

    /// Whether the partner's view shows the value.
    pub fn visible_to_partner(self) -> bool {
        self != Fate::Pseudonymized
    }
}

/// One value in the sender's vault: what a pseudonym stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultEntry {
    pub pseudonym: String,
    pub original: String,
    pub category: DataCategory,
    /// The detector that found it (`email`, `ipv4`, …).
    pub kind: String,
    pub fate: Fate,
}

/// One finding in one part of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFinding {
    pub field: String,
    pub original: String,
    pub pseudonym: String,
    pub category: DataCategory,
    pub kind: String,
    pub fate: Fate,
    /// Why it fired, from the detector.
    pub reason: &'static str,
}

/// A payload after the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPart {
    pub field: String,
    /// What is stored: every finding replaced by its pseudonym.
    pub stored: String,
    /// What the partner will see while the authorization holds.
    pub partner_view: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharePlan {
    pub parts: Vec<PlannedPart>,
    pub findings: Vec<PlannedFinding>,
    /// New entries for the sender's vault, one per distinct pseudonym.
    pub vault: Vec<VaultEntry>,
}

impl SharePlan {
    /// The stored text of `field`.
    pub fn stored(&self, field: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.stored.as_str())
    }
}

/// Checks the three rules, then minimizes every part of the payload.
///
/// `key` is the sender's pseudonym key for this partnership. `history` is what the case
/// already holds: the pseudonyms the sender released (a released value stays released
/// wherever it appears again) and every pseudonym already in the case's texts, which a
/// reply may quote and which stay as they are.
pub fn plan(
    engine: &Engine,
    rules: &Rules<'_>,
    purpose: Purpose,
    key: [u8; 32],
    history: &History,
    parts: Vec<SharePart>,
) -> Result<SharePlan, Refusal> {
    let released = &history.released;
    let allowed = match check(rules) {
        Ok(allowed) => allowed,
        // A closure still goes through, sharing nothing.
        Err(_) if purpose == Purpose::Closure => BTreeSet::new(),
        Err(refusal) => return Err(refusal),
    };
    let pseudonymizer = Pseudonymizer::new(key);
    let mut vault: BTreeMap<String, VaultEntry> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut planned = Vec::with_capacity(parts.len());
    for part in parts {
        let spans: Vec<(usize, usize, Kind, DataCategory, &'static str)> = match part.whole {
            Some(whole) if !part.text.is_empty() => {
                let kind = match whole {
                    WholeValue::Email => Kind::Email,
                    WholeValue::Phone => Kind::Phone,
                    WholeValue::Contact => Kind::PersonName,
                };
                vec![(
                    0,
                    part.text.len(),
                    kind,
                    DataCategory::Contact,
                    "a contact field of the form",
                )]
            }
            _ => engine
                .detectors
                .find(part.text.as_bytes())
                .into_iter()
                .map(|f| (f.start, f.end, f.kind, category_of(f.category), f.reason))
                .collect(),
        };
        let mut stored = String::with_capacity(part.text.len());
        let mut partner_view = String::with_capacity(part.text.len());
        let mut at = 0;
        for (start, end, kind, category, reason) in spans {
            // Findings never split a character: their patterns are ASCII and the text is
            // UTF-8, so `start` and `end` lie on character boundaries.
            let (Some(before), Some(original)) =
                (part.text.get(at..start), part.text.get(start..end))
            else {
                continue;
            };
            if history.pseudonyms.contains(original) {
                // A quoted pseudonym is already safe, and its owner reads it as the value.
                continue;
            }
            let pseudonym = pseudonymizer.pseudonym(kind, original.as_bytes());
            let fate = if released.contains(&pseudonym) {
                Fate::Released
            } else if shared_by_default(&allowed, category) {
                Fate::Shared
            } else {
                Fate::Pseudonymized
            };
            stored.push_str(before);
            stored.push_str(&pseudonym);
            partner_view.push_str(before);
            partner_view.push_str(if fate.visible_to_partner() {
                original
            } else {
                &pseudonym
            });
            vault
                .entry(pseudonym.clone())
                .or_insert_with(|| VaultEntry {
                    pseudonym: pseudonym.clone(),
                    original: original.to_owned(),
                    category,
                    kind: kind.name().to_owned(),
                    fate,
                });
            findings.push(PlannedFinding {
                field: part.field.clone(),
                original: original.to_owned(),
                pseudonym,
                category,
                kind: kind.name().to_owned(),
                fate,
                reason,
            });
            at = end;
        }
        stored.push_str(&part.text[at..]);
        partner_view.push_str(&part.text[at..]);
        planned.push(PlannedPart {
            field: part.field,
            stored,
            partner_view,
        });
    }
    Ok(SharePlan {
        parts: planned,
        findings,
        vault: vault.into_values().collect(),
    })
}

/// The three rules; on success, the categories that may cross (terms ∩ authorization).
pub fn check(rules: &Rules<'_>) -> Result<BTreeSet<DataCategory>, Refusal> {
    if !rules.submitter_accepted_agreement {
        return Err(Refusal::SubmitterAgreement);
    }
    if !rules.receiver_accepted_agreement {
        return Err(Refusal::ReceiverAgreement);
    }
    if !rules.partnership_active {
        return Err(Refusal::PartnershipInactive);
    }
    let authorization = rules.authorization.ok_or(Refusal::AuthorizationMissing)?;
    if rules.authorization_revoked {
        return Err(Refusal::AuthorizationRevoked);
    }
    if authorization.awaits_customer() {
        return Err(Refusal::AuthorizationPending);
    }
    if !authorization.is_valid_at(rules.now) {
        return Err(Refusal::AuthorizationExpired);
    }
    Ok(rules
        .partnership_categories
        .intersection(&authorization.data_categories)
        .copied()
        .collect())
}

/// Whether the sender may release a value of `category` to the partner: only while the
/// rules hold, and only inside what both the terms and the customer allow.
pub fn may_release(rules: &Rules<'_>, category: DataCategory) -> Result<bool, Refusal> {
    Ok(check(rules)?.contains(&category))
}

/// Whether a finding of `category` is shared without being released one by one. Secrets
/// never are: even where credentials are authorized, each crosses only when its sender
/// releases it.
pub fn shared_by_default(allowed: &BTreeSet<DataCategory>, category: DataCategory) -> bool {
    category != DataCategory::Credentials && allowed.contains(&category)
}

fn category_of(category: casebridge_redact::Category) -> DataCategory {
    use casebridge_redact::Category as C;
    match category {
        C::Contact => DataCategory::Contact,
        C::NetworkIdentifiers => DataCategory::NetworkIdentifiers,
        C::Hostnames => DataCategory::Hostnames,
        C::Credentials => DataCategory::Credentials,
        C::AccountIdentifiers => DataCategory::AccountIdentifiers,
        C::Financial => DataCategory::Financial,
        C::GovernmentId => DataCategory::GovernmentId,
    }
}

/// A text as one side sees it: each pseudonym in `visible` replaced by its value.
pub fn reveal<'a>(text: &str, visible: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let (bytes, _) = casebridge_redact::reveal(text.as_bytes(), visible);
    // Replacing whole UTF-8 strings inside UTF-8 keeps it UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::AuthorizationMethod;
    use crate::EmailAddress;
    use chrono::Duration;

    const KEY: [u8; 32] = [4; 32];

    fn authorization(categories: &[DataCategory], now: DateTime<Utc>) -> CustomerAuthorization {
        CustomerAuthorization {
            method: AuthorizationMethod::Email,
            authorized_by_name: "Jane Customer".into(),
            authorized_by_email: EmailAddress::parse("jane@customer.example").unwrap(),
            authorized_at: now - Duration::hours(1),
            purpose: "Resolve the outage".into(),
            data_categories: categories.iter().copied().collect(),
            expires_at: Some(now + Duration::days(1)),
            evidence: None,
            revoked_at: None,
            link: None,
        }
    }

    fn rules<'a>(
        terms: &'a BTreeSet<DataCategory>,
        authorization: &'a CustomerAuthorization,
        now: DateTime<Utc>,
    ) -> Rules<'a> {
        Rules {
            now,
            submitter_accepted_agreement: true,
            receiver_accepted_agreement: true,
            partnership_active: true,
            partnership_categories: terms,
            authorization: Some(authorization),
            authorization_revoked: false,
        }
    }

    fn all_terms() -> BTreeSet<DataCategory> {
        DataCategory::ALL.into_iter().collect()
    }

    const TEXT: &str = "Jane <jane@globex-corp.com> sees 10.20.30.40 drop; password=Hunter2Hunter2";

    #[test]
    fn only_what_terms_and_customer_both_allow_is_shared() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[DataCategory::Contact], now);
        let plan = plan(
            &Engine::new(),
            &rules(&terms, &auth, now),
            Purpose::Share,
            KEY,
            &History::default(),
            vec![SharePart::text("description", TEXT)],
        )
        .unwrap();
        let part = &plan.parts[0];
        assert!(
            part.partner_view.contains("jane@globex-corp.com"),
            "CONTACT shared"
        );
        assert!(
            !part.partner_view.contains("10.20.30.40"),
            "{}",
            part.partner_view
        );
        assert!(!part.partner_view.contains("Hunter2Hunter2"));
        for value in ["jane@globex-corp.com", "10.20.30.40", "Hunter2Hunter2"] {
            assert!(!part.stored.contains(value), "stored text holds no value");
        }
        let fate = |value: &str| {
            plan.findings
                .iter()
                .find(|f| f.original == value)
                .map(|f| f.fate)
        };
        assert_eq!(fate("jane@globex-corp.com"), Some(Fate::Shared));
        assert_eq!(fate("10.20.30.40"), Some(Fate::Pseudonymized));
        assert_eq!(fate("Hunter2Hunter2"), Some(Fate::Pseudonymized));
        // The owner's vault turns the stored text back into what was written.
        let all: Vec<(&str, &str)> = plan
            .vault
            .iter()
            .map(|e| (e.pseudonym.as_str(), e.original.as_str()))
            .collect();
        assert_eq!(reveal(&part.stored, all), TEXT);
        // The partner's view is the stored text with only the visible entries revealed.
        let visible: Vec<(&str, &str)> = plan
            .vault
            .iter()
            .filter(|e| e.fate.visible_to_partner())
            .map(|e| (e.pseudonym.as_str(), e.original.as_str()))
            .collect();
        assert_eq!(reveal(&part.stored, visible), part.partner_view);
    }

    #[test]
    fn secrets_cross_only_when_released() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&DataCategory::ALL, now);
        let engine = Engine::new();
        let rules = rules(&terms, &auth, now);
        let parts = || vec![SharePart::text("description", TEXT)];
        let first = plan(
            &engine,
            &rules,
            Purpose::Share,
            KEY,
            &History::default(),
            parts(),
        )
        .unwrap();
        let secret = first
            .findings
            .iter()
            .find(|f| f.category == DataCategory::Credentials)
            .unwrap();
        assert_eq!(secret.fate, Fate::Pseudonymized);
        assert!(may_release(&rules, DataCategory::Credentials).unwrap());
        let history = History {
            released: BTreeSet::from([secret.pseudonym.clone()]),
            pseudonyms: BTreeSet::new(),
        };
        let again = plan(&engine, &rules, Purpose::Share, KEY, &history, parts()).unwrap();
        assert!(again.parts[0].partner_view.contains("Hunter2Hunter2"));
        assert_eq!(again.parts[0].partner_view, TEXT);
    }

    #[test]
    fn nothing_is_released_outside_the_authorization() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[DataCategory::Contact], now);
        assert!(
            !may_release(&rules(&terms, &auth, now), DataCategory::NetworkIdentifiers).unwrap()
        );
        let narrow = BTreeSet::from([DataCategory::Hostnames]);
        assert!(!may_release(&rules(&narrow, &auth, now), DataCategory::Contact).unwrap());
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[DataCategory::Contact], now);
        let expired = CustomerAuthorization {
            expires_at: Some(now - Duration::seconds(1)),
            ..auth.clone()
        };
        let cases: Vec<(Rules<'_>, Refusal)> = vec![
            (
                Rules {
                    submitter_accepted_agreement: false,
                    ..rules(&terms, &auth, now)
                },
                Refusal::SubmitterAgreement,
            ),
            (
                Rules {
                    receiver_accepted_agreement: false,
                    ..rules(&terms, &auth, now)
                },
                Refusal::ReceiverAgreement,
            ),
            (
                Rules {
                    partnership_active: false,
                    ..rules(&terms, &auth, now)
                },
                Refusal::PartnershipInactive,
            ),
            (
                Rules {
                    authorization: None,
                    ..rules(&terms, &auth, now)
                },
                Refusal::AuthorizationMissing,
            ),
            (
                Rules {
                    authorization_revoked: true,
                    ..rules(&terms, &auth, now)
                },
                Refusal::AuthorizationRevoked,
            ),
            (rules(&terms, &expired, now), Refusal::AuthorizationExpired),
        ];
        let engine = Engine::new();
        for (rules, refusal) in cases {
            let parts = vec![SharePart::text("description", TEXT)];
            assert_eq!(
                plan(
                    &engine,
                    &rules,
                    Purpose::Share,
                    KEY,
                    &History::default(),
                    parts.clone()
                ),
                Err(refusal)
            );
            // A closure goes through, sharing nothing.
            let closure = plan(
                &engine,
                &rules,
                Purpose::Closure,
                KEY,
                &History::default(),
                parts,
            )
            .unwrap();
            assert!(closure
                .findings
                .iter()
                .all(|f| f.fate == Fate::Pseudonymized));
            assert!(!closure.parts[0]
                .partner_view
                .contains("jane@globex-corp.com"));
        }
    }

    #[test]
    fn email_and_phone_fields_are_contact_data_as_a_whole() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[DataCategory::Hostnames], now);
        let parts = vec![
            SharePart {
                field: "customFields.callback".into(),
                text: "+1 555 010 0199".into(),
                whole: Some(WholeValue::Phone),
            },
            SharePart {
                field: "customFields.contact".into(),
                text: "ops@globex-corp.com".into(),
                whole: Some(WholeValue::Email),
            },
        ];
        let plan = plan(
            &Engine::new(),
            &rules(&terms, &auth, now),
            Purpose::Share,
            KEY,
            &History::default(),
            parts,
        )
        .unwrap();
        assert_eq!(plan.findings.len(), 2);
        assert!(plan
            .findings
            .iter()
            .all(|f| f.category == DataCategory::Contact && f.fate == Fate::Pseudonymized));
        assert!(!plan
            .parts
            .iter()
            .any(|p| p.partner_view.contains("555") || p.partner_view.contains("ops@")));
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[], now);
        let engine = Engine::new();
        let run = |key| {
            plan(
                &engine,
                &rules(&terms, &auth, now),
                Purpose::Share,
                key,
                &History::default(),
                vec![SharePart::text("d", "host 10.1.2.3 and 10.1.2.3")],
            )
            .unwrap()
        };
        let (a, b, c) = (run(KEY), run(KEY), run([5; 32]));
        assert_eq!(a, b);
        assert_ne!(a.parts[0].stored, c.parts[0].stored);
        assert_eq!(a.vault.len(), 1, "one entry per distinct value");
    }

    #[test]
    fn a_quoted_pseudonym_stays_as_it_is() {
        let now = Utc::now();
        let terms = all_terms();
        let auth = authorization(&[], now);
        let history = History {
            released: BTreeSet::new(),
            pseudonyms: BTreeSet::from(["10.164.41.166".to_owned()]),
        };
        let plan = plan(
            &Engine::new(),
            &rules(&terms, &auth, now),
            Purpose::Share,
            [9; 32],
            &history,
            vec![SharePart::text("d", "check 10.164.41.166 and 10.9.9.9")],
        )
        .unwrap();
        assert!(plan.parts[0].stored.starts_with("check 10.164.41.166 and "));
        assert!(!plan.parts[0].stored.contains("10.9.9.9"));
        assert_eq!(plan.findings.len(), 1);
    }

    #[test]
    fn a_pseudonym_is_revealed_only_as_a_whole_token() {
        assert_eq!(
            reveal("10.1.2.3 and 10.1.2.34", [("10.1.2.3", "192.0.2.1")]),
            "192.0.2.1 and 10.1.2.34"
        );
    }
}
