//! The gate in the use cases: gathers the rules that hold now and hands every
//! partner-visible payload to [`casebridge_domain::sharing::plan`]. Every path that writes
//! content the other member will see (case creation, formal steps, shared notes, previews)
//! calls [`Services::gate`]; nothing else produces partner-visible text.

use std::sync::OnceLock;

use casebridge_domain::authorization::CustomerAuthorization;
use casebridge_domain::case::CaseToken;
use casebridge_domain::case::FieldValue;
use casebridge_domain::form::{FieldType, FormDefinition, Section};
use casebridge_domain::sharing::{
    self, Engine, Fate, History, PlannedFinding, Purpose, Refusal, Rules, SharePart, SharePlan,
    WholeValue,
};
use casebridge_domain::{Action, MemberId};
use casebridge_store::{CaseVault, PartnershipRecord, VaultRow};
use rand::rngs::OsRng;
use rand::RngCore;

use crate::{Caller, ServiceError, ServiceResult, Services};

/// The detectors compile once per process.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::new)
}

/// The case a payload is for, as far as the gate needs it.
pub(crate) struct ShareTarget<'a> {
    pub partnership: &'a PartnershipRecord,
    pub submitter: MemberId,
    pub receiver: MemberId,
    pub authorization: Option<&'a CustomerAuthorization>,
    pub authorization_revoked: bool,
    /// The existing case, whose released values stay released; `None` before creation.
    pub token: Option<&'a CaseToken>,
}

/// A text as the viewing side sees it: its own values and what the partner let it see.
pub struct Reveal {
    pub own: Vec<VaultRow>,
    partner_visible: Vec<(String, String)>,
}

impl Reveal {
    pub(crate) fn new(vault: CaseVault, show_partner_values: bool) -> Self {
        Self {
            own: vault.own,
            partner_visible: if show_partner_values {
                vault.partner_visible
            } else {
                Vec::new()
            },
        }
    }

    pub fn text(&self, stored: &str) -> String {
        sharing::reveal(
            stored,
            self.own
                .iter()
                .map(|row| (row.entry.pseudonym.as_str(), row.entry.original.as_str()))
                .chain(
                    self.partner_visible
                        .iter()
                        .map(|(p, o)| (p.as_str(), o.as_str())),
                ),
        )
    }
}

/// What a preview shows: the partner's view of each part and every finding's fate.
pub struct Preview {
    pub parts: Vec<(String, String)>,
    pub findings: Vec<PlannedFinding>,
}

impl From<SharePlan> for Preview {
    fn from(plan: SharePlan) -> Self {
        Self {
            parts: plan
                .parts
                .into_iter()
                .map(|p| (p.field, p.partner_view))
                .collect(),
            findings: plan.findings,
        }
    }
}

impl Services {
    /// The one gate: refuses, or minimizes the parts into what is stored.
    pub(crate) async fn gate(
        &self,
        caller: &Caller,
        target: ShareTarget<'_>,
        purpose: Purpose,
        parts: Vec<SharePart>,
    ) -> ServiceResult<SharePlan> {
        let rules = self.rules(&target).await?;
        // Refuse before touching keys: a refused payload leaves no trace.
        if purpose == Purpose::Share {
            sharing::check(&rules).map_err(|refusal| {
                agreement_refusal(refusal, caller.member() == target.submitter)
            })?;
        }
        let key = self.pseudonym_key(caller, target.partnership).await?;
        let mut history = History::default();
        if let Some(token) = target.token {
            let vault = self.store.case_vault(caller.tenant(), token).await?;
            for row in vault.own {
                if row.entry.fate == Fate::Released {
                    history.released.insert(row.entry.pseudonym.clone());
                }
                history.pseudonyms.insert(row.entry.pseudonym);
            }
            history.pseudonyms.extend(vault.partner_pseudonyms);
        }
        Ok(sharing::plan(
            engine(),
            &rules,
            purpose,
            key,
            &history,
            parts,
        )?)
    }

    /// The rules as they hold now for a payload to `target`.
    async fn rules<'a>(&self, target: &ShareTarget<'a>) -> ServiceResult<Rules<'a>> {
        let now = self.now();
        Ok(Rules {
            now,
            submitter_accepted_agreement: self.accepted_current_agreement(target.submitter).await?,
            receiver_accepted_agreement: self.accepted_current_agreement(target.receiver).await?,
            partnership_active: target.partnership.rules().is_active_at(now),
            partnership_categories: &target.partnership.terms.data_categories,
            authorization: target.authorization,
            authorization_revoked: target.authorization_revoked,
        })
    }

    /// The caller's member's pseudonym key for a partnership, created on first use.
    async fn pseudonym_key(
        &self,
        caller: &Caller,
        partnership: &PartnershipRecord,
    ) -> ServiceResult<[u8; 32]> {
        let mut candidate = [0u8; 32];
        OsRng.fill_bytes(&mut candidate);
        Ok(self
            .store
            .pseudonym_key(caller.tenant(), partnership.id, candidate, self.now())
            .await?)
    }

    /// How the caller sees the texts of a case.
    pub(crate) async fn reveal_for(
        &self,
        caller: &Caller,
        token: &CaseToken,
        authorization_revoked: bool,
    ) -> ServiceResult<Reveal> {
        let vault = self.store.case_vault(caller.tenant(), token).await?;
        Ok(Reveal::new(vault, !authorization_revoked))
    }

    /// Releases one of the caller's own pseudonymized values on a case to the partner.
    pub async fn release_value(
        &self,
        caller: &Caller,
        token: &CaseToken,
        pseudonym: &str,
        reason: &str,
    ) -> ServiceResult<VaultRow> {
        let tenant = caller.may(Action::WorkCases)?;
        let mut errors = casebridge_domain::ValidationErrors::default();
        let pseudonym = errors.check(
            "pseudonym",
            casebridge_domain::validation::single_line(pseudonym, 300),
        );
        let reason = errors.check(
            "reason",
            casebridge_domain::validation::multi_line(reason, 2000).and_then(|r| {
                if r.is_empty() {
                    Err("say why the partner needs this value".into())
                } else {
                    Ok(r)
                }
            }),
        );
        let (Some(pseudonym), Some(reason)) = (pseudonym, reason) else {
            return Err(errors.into());
        };
        let case = self.store.get_case(tenant, token).await?;
        let vault = self.store.case_vault(tenant, token).await?;
        let Some(row) = vault.own.iter().find(|r| r.entry.pseudonym == pseudonym) else {
            return Err(ServiceError::NotFound);
        };
        if row.entry.fate != Fate::Pseudonymized {
            return Err(ServiceError::Conflict(
                "the partner already sees this value".into(),
            ));
        }
        let partnership = self
            .store
            .get_partnership(tenant, case.partnership_id)
            .await?;
        let authorization = self.store.case_authorization(tenant, token).await?;
        let rules = self
            .rules(&ShareTarget {
                partnership: &partnership,
                submitter: case.submitter,
                receiver: case.receiver,
                authorization: Some(&authorization),
                authorization_revoked: authorization.revoked_at.is_some(),
                token: Some(token),
            })
            .await?;
        if !sharing::may_release(&rules, row.entry.category)? {
            return Err(ServiceError::AuthorizationOutOfScope(format!(
                "{} is outside the data categories both the partnership and the customer allow; it cannot be released",
                row.entry.category
            )));
        }
        Ok(self
            .store
            .release_value(tenant, token, &pseudonym, &reason, rules.now)
            .await?)
    }
}

/// A missing agreement, told from the caller's side.
fn agreement_refusal(refusal: Refusal, caller_submits: bool) -> ServiceError {
    let caller_missing = match refusal {
        Refusal::SubmitterAgreement => caller_submits,
        Refusal::ReceiverAgreement => !caller_submits,
        other => return other.into(),
    };
    ServiceError::AgreementNotAccepted(if caller_missing {
        "your company must accept the current framework agreement before sharing cases"
    } else {
        "the partner has not accepted the current framework agreement yet"
    })
}

/// The partner-visible parts of a new request: its texts and custom field values, with
/// EMAIL and PHONE fields and the text fields of the customer contact section as contact
/// data as a whole.
pub(crate) fn case_parts(
    summary: &str,
    description: &str,
    form: &FormDefinition,
    fields: &[FieldValue],
) -> Vec<SharePart> {
    let mut parts = vec![
        SharePart::text("problemSummary", summary),
        SharePart::text("problemDescription", description),
    ];
    for value in fields {
        let field = form
            .custom_fields
            .iter()
            .find(|f| f.field_id == value.field_id);
        parts.push(SharePart {
            field: field_key(&value.field_id.to_string()),
            text: value.value.clone(),
            whole: field.and_then(|f| match (f.field_type, f.section) {
                (FieldType::Email, _) => Some(WholeValue::Email),
                (FieldType::Phone, _) => Some(WholeValue::Phone),
                (FieldType::String | FieldType::Text, Section::ContactSection) => {
                    Some(WholeValue::Contact)
                }
                _ => None,
            }),
        });
    }
    parts
}

pub(crate) fn field_key(field_id: &str) -> String {
    format!("customFields.{field_id}")
}
