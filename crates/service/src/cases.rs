//! Collaboration requests: creating, reading, listing, the formal steps and notes, partner
//! search, and the background sweeps (inactivity closure, overdue marking).

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebridge_domain::authorization::{
    AuthorizationDraft, AuthorizationError, CustomerAuthorization,
};
use casebridge_domain::case::{
    may_add_note, pending_side, transition, validate_field_values, CaseSide, CaseToken, Contact,
    FieldValue, ResponseType, TransitionError, Visibility, MAX_CASE_NUMBER_CHARS,
    MAX_DESCRIPTION_CHARS, MAX_SUMMARY_CHARS,
};
use casebridge_domain::form::{FieldType, FormField, Priority};
use casebridge_domain::partnership::PartnershipStatus;
use casebridge_domain::sharing::{Purpose, SharePart, SharePlan};
use casebridge_domain::validation::{multi_line, page_window, single_line};
use casebridge_domain::{
    Action, DepartmentId, DocumentId, EmailAddress, MemberId, ValidationErrors,
};
use casebridge_store::{
    Actor, CaseChange, CaseFilter, CaseRecord, Direction, NewCase, NewNote, NoteRecord, Page,
    PartnershipRecord, ResponseRecord, StatusFilter, SubjectErasure, VaultRow,
};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use rand::RngCore;

use crate::customer;
use crate::sharing::{case_parts, field_key, Reveal, ShareTarget};
use crate::{Caller, Preview, ServiceError, ServiceResult, Services};

/// A new request as the submitter sends it.
pub struct NewCaseInput {
    pub document_id: DocumentId,
    pub internal_case_number: String,
    pub problem_summary: String,
    pub problem_description: String,
    pub priority: Priority,
    pub custom_fields: Vec<(String, String)>,
    pub submitter_contact: ContactInput,
    pub receiver_internal_case_number: Option<String>,
    pub test_submission: bool,
    pub customer_authorization: Option<AuthorizationDraft>,
}

pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
}

/// The content of a formal step.
pub struct StepInput {
    pub engineer: Option<ContactInput>,
    pub case_number: Option<String>,
    pub text: String,
}

pub struct NoteInput {
    pub summary: String,
    pub description: String,
    pub visibility: Visibility,
}

pub struct CaseQuery {
    pub direction: Direction,
    pub status: StatusFilter,
    pub internal_case_number: Option<String>,
    pub updated_after: Option<DateTime<Utc>>,
    pub page: Option<i64>,
    pub size: Option<i64>,
}

/// A case as one of its two members sees it.
pub struct CaseView {
    pub record: CaseRecord,
    /// The caller's side: `Submitter` reads as OUTBOUND, `Receiver` as INBOUND.
    pub side: CaseSide,
    pub submitter_name: String,
    pub receiver_name: String,
    pub pending_action: bool,
    pub fields: Vec<(FormField, String)>,
    pub authorization: CustomerAuthorization,
    pub responses: Vec<ResponseRecord>,
    pub notes: Vec<NoteRecord>,
    /// The caller's own values on this case: what each pseudonym in the partner's view
    /// stands for and its fate.
    pub vault: Vec<VaultRow>,
    /// On creation with a customer link only: the page to send the customer to.
    pub authorization_url: Option<String>,
    /// When the caller's member placed a legal hold on the case, if it did.
    pub legal_hold: Option<DateTime<Utc>>,
}

impl CaseView {
    /// The authorizer's name and email are the submitter's customer's data: only the
    /// submitter sees them.
    pub fn shows_authorizer(&self) -> bool {
        self.side == CaseSide::Submitter
    }
}

/// One row of a case list.
pub struct CaseSummary {
    pub record: CaseRecord,
    pub side: CaseSide,
    pub submitter_name: String,
    pub receiver_name: String,
    pub pending_action: bool,
}

/// One row of partner search.
pub struct PartnerMatch {
    pub company_id: MemberId,
    pub company_name: String,
    pub department: Option<(DepartmentId, String)>,
    pub document_id: Option<DocumentId>,
    pub relationship: PartnershipStatus,
}

impl Services {
    /// Opens a collaboration request to the member whose current form `document_id` is.
    pub async fn create_case(
        &self,
        caller: &Caller,
        input: NewCaseInput,
    ) -> ServiceResult<CaseView> {
        let tenant = caller.may(Action::WorkCases)?;
        let (mut case, _) = self.plan_case(caller, input).await?;
        // A customer link: the case waits, unseen by the receiver, for the customer.
        let url = case.authorization.awaits_customer().then(|| {
            let (link, stored) = customer::new_link(self.now() + self.cases.link_ttl);
            case.link = Some(stored);
            self.link_url(&link)
        });
        // The customer gets the link by email, through the outbox.
        if let (Some(url), Some(expires_at)) = (&url, case.link.as_ref().map(|l| l.expires_at)) {
            let email = self
                .link_email(caller.member(), &case, url, expires_at)
                .await?;
            if let Some(stored) = case.link.as_mut() {
                stored.email = Some(email);
            }
        }
        let record = self.store.create_case(tenant, &case).await?;
        let mut view = self.case_view(caller, record).await?;
        view.authorization_url = url;
        Ok(view)
    }

    /// What the email that asks the customer to decide says: who asks, with whom, why,
    /// until when, and the link (the mailer writes it out).
    async fn link_email(
        &self,
        submitter: MemberId,
        case: &NewCase,
        url: &str,
        expires_at: DateTime<Utc>,
    ) -> ServiceResult<casebridge_store::LinkEmail> {
        let name = |id| async move {
            Ok::<_, ServiceError>(
                self.store
                    .member(id)
                    .await?
                    .map(|m| m.name)
                    .unwrap_or_default(),
            )
        };
        let auth = &case.authorization;
        Ok(casebridge_store::LinkEmail {
            to: auth.authorized_by_email.as_str().to_owned(),
            customer_name: auth.authorized_by_name.clone(),
            submitter_name: name(submitter).await?,
            receiver_name: name(case.receiver).await?,
            case_number: case.internal_case_number.clone(),
            purpose: auth.purpose.clone(),
            expires_at,
            link: url.to_owned(),
        })
    }

    /// What the receiver would see of a request not created yet, and every finding's fate.
    pub async fn preview_case(
        &self,
        caller: &Caller,
        input: NewCaseInput,
    ) -> ServiceResult<Preview> {
        let (_, plan) = self.plan_case(caller, input).await?;
        Ok(plan.into())
    }

    /// A request checked and minimized, ready to store.
    async fn plan_case(
        &self,
        caller: &Caller,
        input: NewCaseInput,
    ) -> ServiceResult<(NewCase, SharePlan)> {
        caller.may(Action::WorkCases)?;
        let now = self.now();
        let form = self
            .store
            .form_version(input.document_id)
            .await?
            .ok_or_else(|| ValidationErrors::single("documentId", "no process form has this id"))?;
        let receiver = form.member_id;
        if receiver == caller.member() {
            return Err(
                ValidationErrors::single("documentId", "this is your own company's form").into(),
            );
        }
        let current = self
            .store
            .current_form_id(receiver, form.department_id)
            .await?;
        if current != Some(form.document_id) {
            return Err(ServiceError::FormOutdated(format!(
                "the receiver has published a newer version of this form; fetch it and resubmit (current documentId: {})",
                current.map(|d| d.to_string()).unwrap_or_default()
            )));
        }
        let partnership = self
            .active_partnership_with(caller, receiver, form.department_id, now)
            .await?;

        let mut errors = ValidationErrors::default();
        let internal_case_number = errors.check(
            "internalCaseNumber",
            case_number(&input.internal_case_number),
        );
        let receiver_case_number = match input
            .receiver_internal_case_number
            .as_deref()
            .map(str::trim)
        {
            None | Some("") => None,
            Some(number) => errors.check("receiverInternalCaseNumber", case_number(number)),
        };
        let summary = errors.check(
            "problemSummary",
            single_line(&input.problem_summary, MAX_SUMMARY_CHARS),
        );
        let description = errors.check(
            "problemDescription",
            required_text(&input.problem_description, MAX_DESCRIPTION_CHARS),
        );
        let target = form.definition.target(input.priority).cloned();
        if target.is_none() {
            errors.add("priority", "the receiver does not offer this priority");
        }
        let fields = validate_field_values(&form.definition, &input.custom_fields, &mut errors);
        let contact = contact(
            &input.submitter_contact,
            "submitterContactDetails",
            &mut errors,
        );
        let authorization = match input.customer_authorization {
            None => None,
            Some(draft) => match draft.validate(&partnership.terms.data_categories, now) {
                Ok(authorization) => Some(authorization),
                Err(AuthorizationError::Invalid(invalid)) => {
                    errors.0.extend(invalid.0);
                    None
                }
                Err(AuthorizationError::Expired) => {
                    return Err(ServiceError::CustomerAuthorizationRequired(
                        "the customer authorization has expired",
                    ))
                }
                Err(error @ AuthorizationError::OutOfScope(_)) => {
                    return Err(ServiceError::AuthorizationOutOfScope(error.to_string()))
                }
            },
        };
        let (
            Some(internal_case_number),
            Some(summary),
            Some(description),
            Some(target),
            Some(contact),
        ) = (internal_case_number, summary, description, target, contact)
        else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        // A link's authorization is planned as the customer will see it: the receiver sees
        // nothing before the customer authorizes, and exactly this afterwards.
        let planned = authorization.clone().map(|mut a| {
            a.link = None;
            a
        });
        let plan = self
            .gate(
                caller,
                ShareTarget {
                    partnership: &partnership,
                    submitter: caller.member(),
                    receiver,
                    authorization: planned.as_ref(),
                    authorization_revoked: false,
                    token: None,
                },
                Purpose::Share,
                case_parts(&summary, &description, &form.definition, &fields),
            )
            .await?;
        let authorization = authorization.ok_or(ServiceError::CustomerAuthorizationRequired(
            "a collaboration request needs the customer's authorization",
        ))?;
        // The people the case names, for erasure on request: the customer who authorized
        // and every email field.
        let mut subjects = vec![authorization.authorized_by_email.to_string()];
        for value in &fields {
            let is_email = form
                .definition
                .custom_fields
                .iter()
                .any(|f| f.field_id == value.field_id && f.field_type == FieldType::Email);
            if is_email {
                subjects.push(value.value.clone());
            }
        }
        let stored =
            |field: &str, original: String| plan.stored(field).map_or(original, str::to_owned);
        let problem_summary = stored("problemSummary", summary);
        let problem_description = stored("problemDescription", description);
        let custom_fields = fields
            .into_iter()
            .map(|value| FieldValue {
                value: stored(&field_key(&value.field_id.to_string()), value.value),
                field_id: value.field_id,
            })
            .collect();
        let case = NewCase {
            token: new_case_token()?,
            receiver,
            receiver_department: form.department_id,
            partnership_id: partnership.id,
            document_id: form.document_id,
            priority: input.priority,
            priority_note: target.note,
            respond_by: now + Duration::hours(target.response_hours),
            test_case: input.test_submission,
            internal_case_number,
            receiver_case_number,
            problem_summary,
            problem_description,
            custom_fields,
            submitter_contact: contact,
            authorization,
            vault: plan.vault.clone(),
            link: None,
            subjects,
            created_at: now,
        };
        Ok((case, plan))
    }

    pub async fn get_case(&self, caller: &Caller, token: &CaseToken) -> ServiceResult<CaseView> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let record = self.store.get_case(tenant, token).await?;
        self.case_view(caller, record).await
    }

    pub async fn list_cases(
        &self,
        caller: &Caller,
        query: CaseQuery,
    ) -> ServiceResult<Page<CaseSummary>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let mut errors = ValidationErrors::default();
        let (page, size) = page_window(query.page, query.size, 20, &mut errors);
        if query
            .internal_case_number
            .as_ref()
            .is_some_and(|n| n.len() > MAX_CASE_NUMBER_CHARS)
        {
            errors.add("internalCaseNumber", "too long");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let filter = CaseFilter {
            direction: query.direction,
            status: query.status,
            internal_case_number: query.internal_case_number,
            updated_after: query.updated_after,
            page,
            size,
        };
        let found = self.store.list_cases(tenant, &filter).await?;
        let mut names = HashMap::new();
        let mut items = Vec::with_capacity(found.items.len());
        for record in found.items {
            let side = side_of(&record, caller)?;
            let reveal = self.case_reveal(caller, &record.token).await?;
            let record = reveal_case(&reveal, record);
            items.push(CaseSummary {
                submitter_name: self.member_name(&mut names, record.submitter).await?,
                receiver_name: self.member_name(&mut names, record.receiver).await?,
                pending_action: record.pending_side == Some(side),
                side,
                record,
            });
        }
        Ok(Page {
            items,
            total: found.total,
            page: found.page,
            size: found.size,
        })
    }

    /// Takes a formal step (approval, rejection, information request or response, closure,
    /// approval update) on a case.
    pub async fn respond(
        &self,
        caller: &Caller,
        token: &CaseToken,
        step: ResponseType,
        input: StepInput,
    ) -> ServiceResult<CaseView> {
        let tenant = caller.may(Action::WorkCases)?;
        let now = self.now();
        let case = self.store.get_case(tenant, token).await?;
        let side = side_of(&case, caller)?;
        let partnership = self
            .store
            .get_partnership(tenant, case.partnership_id)
            .await?;
        let to = transition(case.status, step, side, partnership.kind).map_err(transition_error)?;
        let engineer = self.step_engineer(step, &case, input.engineer).await?;
        let (case_number, body) = step_content(step, input.case_number, &input.text)?;
        let plan = self
            .gate_on_case(
                caller,
                &case,
                &partnership,
                step_purpose(step),
                vec![SharePart::text(step_field(step), body)],
            )
            .await?;
        let body = plan.parts[0].stored.clone();
        let change = CaseChange {
            from: case.status,
            to,
            pending_side: pending_side(to, Some(step)),
            response_type: step,
            side: Some(side),
            engineer,
            case_number,
            body,
            set_receiver: matches!(step, ResponseType::Approval | ResponseType::ApprovalUpdate),
            responded: side == CaseSide::Receiver,
            vault: plan.vault,
            at: now,
        };
        let record = self.store.change_case(tenant, token, &change).await?;
        self.case_view(caller, record).await
    }

    /// The submitter changes its own case number or contact details.
    pub async fn update_case(
        &self,
        caller: &Caller,
        token: &CaseToken,
        internal_case_number: Option<String>,
        contact_input: Option<ContactInput>,
    ) -> ServiceResult<CaseView> {
        let tenant = caller.may(Action::WorkCases)?;
        let case = self.store.get_case(tenant, token).await?;
        if side_of(&case, caller)? != CaseSide::Submitter {
            return Err(ServiceError::Forbidden(
                "only the submitter can change these details",
            ));
        }
        let mut errors = ValidationErrors::default();
        let number = match internal_case_number {
            Some(number) => errors.check("internalCaseNumber", case_number(&number)),
            None => Some(case.internal_case_number.clone()),
        };
        let contact = match contact_input {
            Some(input) => contact(&input, "submitterContactDetails", &mut errors),
            None => Some(case.submitter_contact.clone()),
        };
        let (Some(number), Some(contact)) = (number, contact) else {
            return Err(errors.into());
        };
        let record = self
            .store
            .update_case_details(tenant, token, &number, &contact, self.now())
            .await?;
        self.case_view(caller, record).await
    }

    pub async fn add_note(
        &self,
        caller: &Caller,
        token: &CaseToken,
        input: NoteInput,
    ) -> ServiceResult<NoteRecord> {
        let tenant = caller.may(Action::WorkCases)?;
        let now = self.now();
        let case = self.store.get_case(tenant, token).await?;
        may_add_note(case.status).map_err(transition_error)?;
        let (summary, description) = note_text(&input.summary, &input.description)?;
        // Only a shared note crosses; an internal one stays with its member as written.
        let (summary, description, vault) = if input.visibility == Visibility::Shared {
            let partnership = self
                .store
                .get_partnership(tenant, case.partnership_id)
                .await?;
            let plan = self
                .gate_on_case(
                    caller,
                    &case,
                    &partnership,
                    Purpose::Share,
                    note_parts(summary, description),
                )
                .await?;
            let mut parts = plan.parts.into_iter().map(|p| p.stored);
            let (Some(summary), Some(description)) = (parts.next(), parts.next()) else {
                return Err(ServiceError::Internal(
                    "the gate lost a part of a note".into(),
                ));
            };
            (summary, description, plan.vault)
        } else {
            (summary, description, Vec::new())
        };
        let note = NewNote {
            author_name: self.author_name(caller).await?,
            visibility: input.visibility,
            summary,
            description,
            vault,
            at: now,
        };
        let mut note = match self.store.add_note(tenant, token, &note).await {
            Err(casebridge_store::StoreError::Stale) => {
                return Err(ServiceError::InvalidTransition(
                    "the case was closed meanwhile; notes can no longer be added".into(),
                ))
            }
            other => other?,
        };
        let reveal = self.case_reveal(caller, token).await?;
        note.summary = reveal.text(&note.summary);
        note.description = reveal.text(&note.description);
        Ok(note)
    }

    /// What the partner would see of a note or a step on an existing case, and every
    /// finding's fate; nothing is stored.
    pub async fn preview_on_case(
        &self,
        caller: &Caller,
        token: &CaseToken,
        action: PreviewAction,
    ) -> ServiceResult<Preview> {
        let tenant = caller.may(Action::WorkCases)?;
        let case = self.store.get_case(tenant, token).await?;
        let side = side_of(&case, caller)?;
        let partnership = self
            .store
            .get_partnership(tenant, case.partnership_id)
            .await?;
        let (purpose, parts) = match action {
            PreviewAction::Note {
                summary,
                description,
            } => {
                let (summary, description) = note_text(&summary, &description)?;
                (Purpose::Share, note_parts(summary, description))
            }
            PreviewAction::Step {
                step,
                case_number,
                text,
            } => {
                transition(case.status, step, side, partnership.kind).map_err(transition_error)?;
                let (_, body) = step_content(step, case_number, &text)?;
                (
                    step_purpose(step),
                    vec![SharePart::text(step_field(step), body)],
                )
            }
        };
        let plan = self
            .gate_on_case(caller, &case, &partnership, purpose, parts)
            .await?;
        Ok(plan.into())
    }

    async fn gate_on_case(
        &self,
        caller: &Caller,
        case: &CaseRecord,
        partnership: &PartnershipRecord,
        purpose: Purpose,
        parts: Vec<SharePart>,
    ) -> ServiceResult<SharePlan> {
        let authorization = self
            .store
            .case_authorization(caller.tenant(), &case.token)
            .await?;
        self.gate(
            caller,
            ShareTarget {
                partnership,
                submitter: case.submitter,
                receiver: case.receiver,
                authorization: Some(&authorization),
                authorization_revoked: authorization.revoked_at.is_some(),
                token: Some(&case.token),
            },
            purpose,
            parts,
        )
        .await
    }

    pub async fn list_notes(
        &self,
        caller: &Caller,
        token: &CaseToken,
        updated_after: Option<DateTime<Utc>>,
    ) -> ServiceResult<Vec<NoteRecord>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let notes = self.store.case_notes(tenant, token, updated_after).await?;
        let reveal = self.case_reveal(caller, token).await?;
        Ok(notes
            .into_iter()
            .map(|note| reveal_note(&reveal, note))
            .collect())
    }

    /// Companies and departments whose name or tags contain `term`, with the current form
    /// to use and the relationship the caller's company has with each.
    pub async fn search_partners(
        &self,
        caller: &Caller,
        term: &str,
    ) -> ServiceResult<Vec<PartnerMatch>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let term = term.trim();
        if term.chars().count() < 2 || term.chars().count() > 100 {
            return Err(
                ValidationErrors::single("searchTerm", "must be 2 to 100 characters").into(),
            );
        }
        let now = self.now();
        let partnerships = self.store.list_partnerships(tenant).await?;
        let mut matches = Vec::new();
        for entry in self.store.search_directory(tenant, term).await? {
            let department = entry.department.as_ref().map(|(id, _)| *id);
            let document_id = match self
                .store
                .current_form_id(entry.member_id, department)
                .await?
            {
                Some(id) => Some(id),
                None => self.store.current_form_id(entry.member_id, None).await?,
            };
            let statuses: Vec<PartnershipStatus> = partnerships
                .iter()
                .filter(|p| p.rules().involves(entry.member_id))
                .map(|p| p.rules().status_at(now))
                .collect();
            let relationship = [PartnershipStatus::Active, PartnershipStatus::Proposed]
                .into_iter()
                .find(|s| statuses.contains(s))
                .unwrap_or(PartnershipStatus::Ended);
            matches.push(PartnerMatch {
                company_id: entry.member_id,
                company_name: entry.member_name,
                department: entry.department,
                document_id,
                relationship,
            });
        }
        Ok(matches)
    }

    /// Erases the content of cases whose retention period has passed (crypto-shredding);
    /// returns how many. Safe on several nodes: each key is destroyed once.
    pub async fn purge_expired_cases(&self) -> ServiceResult<usize> {
        Ok(self.store.purge_expired_cases(self.now()).await?.len())
    }

    /// Erases every case the caller's company submitted that names the person with this
    /// email (the customer who authorized it, an email field), unless on legal hold.
    pub async fn erase_subject(
        &self,
        caller: &Caller,
        email: &str,
    ) -> ServiceResult<SubjectErasure> {
        let tenant = caller.may(Action::ManageDataProtection)?;
        let email = EmailAddress::parse(email)
            .map_err(|e| ValidationErrors::single("subjectEmail", e.to_string()))?;
        Ok(self
            .store
            .erase_subject(Some(tenant), email.as_str(), self.now())
            .await?)
    }

    /// The operator's erasure of a person across every member's cases.
    pub async fn erase_subject_everywhere(&self, email: &str) -> ServiceResult<SubjectErasure> {
        let email = EmailAddress::parse(email)
            .map_err(|e| ValidationErrors::single("subject", e.to_string()))?;
        Ok(self
            .store
            .erase_subject(None, email.as_str(), self.now())
            .await?)
    }

    /// Places or releases the caller's member's legal hold on a case: while any member
    /// holds it, its content outlives the retention period.
    pub async fn set_legal_hold(
        &self,
        caller: &Caller,
        token: &CaseToken,
        hold: bool,
    ) -> ServiceResult<Option<DateTime<Utc>>> {
        let tenant = caller.may(Action::ManageDataProtection)?;
        let case = self.store.get_case(tenant, token).await?;
        if hold && case.content_erased_at.is_some() {
            return Err(ServiceError::Conflict(
                "this case's content was already erased; there is nothing left to hold".into(),
            ));
        }
        self.store
            .set_legal_hold(tenant, token, hold, self.now())
            .await?;
        Ok(self.store.legal_hold(tenant, token).await?)
    }

    /// One pass of the background sweeps: closes idle cases, sends the response-clock
    /// reminders that are due, and flags overdue ones.
    /// Safe on several nodes at once: each case changes in one conditional update.
    pub async fn sweep_cases(&self) -> ServiceResult<(usize, usize)> {
        let now = self.now();
        let closed = self
            .store
            .close_inactive_cases(now - self.cases.inactivity, now)
            .await?;
        // Reminders before breaches: a case past its target gets the breach, not a reminder.
        self.store.remind_cases(now).await?;
        let overdue = self.store.mark_overdue_cases(now).await?;
        Ok((closed.len(), overdue.len()))
    }

    async fn case_view(&self, caller: &Caller, record: CaseRecord) -> ServiceResult<CaseView> {
        let tenant = caller.tenant();
        let side = side_of(&record, caller)?;
        let reveal = self.case_reveal(caller, &record.token).await?;
        let record = reveal_case(&reveal, record);
        let form = self.store.form_version(record.document_id).await?;
        let fields = record
            .custom_fields
            .iter()
            .filter_map(|value| {
                let field = form
                    .as_ref()?
                    .definition
                    .custom_fields
                    .iter()
                    .find(|f| f.field_id == value.field_id)?;
                Some((field.clone(), value.value.clone()))
            })
            .collect();
        let mut names = HashMap::new();
        Ok(CaseView {
            submitter_name: self.member_name(&mut names, record.submitter).await?,
            receiver_name: self.member_name(&mut names, record.receiver).await?,
            pending_action: record.pending_side == Some(side),
            fields,
            authorization: self.store.case_authorization(tenant, &record.token).await?,
            responses: self
                .store
                .case_responses(tenant, &record.token)
                .await?
                .into_iter()
                .map(|mut response| {
                    response.body = reveal.text(&response.body);
                    response
                })
                .collect(),
            notes: self
                .store
                .case_notes(tenant, &record.token, None)
                .await?
                .into_iter()
                .map(|note| reveal_note(&reveal, note))
                .collect(),
            vault: reveal.own,
            authorization_url: None,
            legal_hold: self.store.legal_hold(tenant, &record.token).await?,
            side,
            record,
        })
    }

    /// How the caller sees this case's texts: once the customer's authorization is revoked,
    /// neither side sees the other's values any more, only their pseudonyms.
    async fn case_reveal(&self, caller: &Caller, token: &CaseToken) -> ServiceResult<Reveal> {
        let revoked = self
            .store
            .case_authorization(caller.tenant(), token)
            .await?
            .revoked_at
            .is_some();
        self.reveal_for(caller, token, revoked).await
    }

    /// The submitter withdraws the customer's authorization (on the customer's word): from
    /// now on nothing more crosses, the partner's view keeps only pseudonyms, and both sides
    /// get a system note. The case can still be read and closed.
    pub async fn revoke_authorization(
        &self,
        caller: &Caller,
        token: &CaseToken,
        reason: &str,
    ) -> ServiceResult<CaseView> {
        let tenant = caller.may(Action::WorkCases)?;
        let case = self.store.get_case(tenant, token).await?;
        if side_of(&case, caller)? != CaseSide::Submitter {
            return Err(ServiceError::Forbidden(
                "only the company that holds the customer's authorization can revoke it",
            ));
        }
        // The reason stays with the submitter: it may name the customer.
        multi_line(reason, 2000).map_err(|e| ValidationErrors::single("reason", e))?;
        let note = revocation_note(self.now());
        match self.store.revoke_authorization(tenant, token, &note).await {
            Err(casebridge_store::StoreError::Stale) => {
                return Err(ServiceError::Conflict(
                    "the customer authorization is already revoked".into(),
                ))
            }
            other => other?,
        }
        let record = self.store.get_case(tenant, token).await?;
        self.case_view(caller, record).await
    }

    async fn member_name(
        &self,
        cache: &mut HashMap<MemberId, String>,
        id: MemberId,
    ) -> ServiceResult<String> {
        if let Some(name) = cache.get(&id) {
            return Ok(name.clone());
        }
        let member = self.store.member(id).await?.ok_or_else(|| {
            ServiceError::Internal("a case names a member that does not exist".into())
        })?;
        cache.insert(id, member.name.clone());
        Ok(member.name)
    }

    async fn author_name(&self, caller: &Caller) -> ServiceResult<String> {
        match caller.actor() {
            Actor::User(id) => {
                let user = self.store.get_user(caller.tenant(), id).await?;
                Ok(format!("{} {}", user.first_name, user.last_name))
            }
            Actor::ApiClient(id) => Ok(self
                .store
                .list_api_clients(caller.tenant())
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .map_or_else(|| "API client".to_owned(), |c| c.name)),
            Actor::Operator => Ok("Casebridge operator".into()),
        }
    }

    /// The active partnership under which the caller may send to `receiver` (narrowed to
    /// the form's department when the partnership names one).
    async fn active_partnership_with(
        &self,
        caller: &Caller,
        receiver: MemberId,
        department: Option<DepartmentId>,
        now: DateTime<Utc>,
    ) -> ServiceResult<PartnershipRecord> {
        self.store
            .list_partnerships(caller.tenant())
            .await?
            .into_iter()
            .find(|p| {
                let rules = p.rules();
                let receiver_side = rules.counterpart_of(caller.member());
                rules.is_active_at(now)
                    && receiver_side.member == receiver
                    && receiver_side
                        .department
                        .is_none_or(|d| Some(d) == department)
            })
            .ok_or(ServiceError::NoActivePartnership(
                "your company has no active partnership with the receiver that covers this form",
            ))
    }

    /// The receiver's engineer named on a receiver step; their email must be the receiver's.
    async fn step_engineer(
        &self,
        step: ResponseType,
        case: &CaseRecord,
        input: Option<ContactInput>,
    ) -> ServiceResult<Option<Contact>> {
        if step.side() != Some(CaseSide::Receiver) {
            return Ok(None);
        }
        let mut errors = ValidationErrors::default();
        let Some(input) = input else {
            return Err(ValidationErrors::single(
                "engineerEmail",
                "name the engineer taking this step",
            )
            .into());
        };
        let engineer = contact(&input, "engineer", &mut errors);
        let Some(engineer) = engineer else {
            return Err(errors.into());
        };
        let receiver = self
            .store
            .member(case.receiver)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !receiver
            .domains
            .iter()
            .any(|d| d == engineer.email.domain())
        {
            return Err(ValidationErrors::single(
                "engineerEmail",
                format!(
                    "must be on one of your company's domains: {}",
                    receiver.domains.join(", ")
                ),
            )
            .into());
        }
        Ok(Some(engineer))
    }
}

fn side_of(case: &CaseRecord, caller: &Caller) -> ServiceResult<CaseSide> {
    case.side_of(caller.member()).ok_or(ServiceError::NotFound)
}

fn transition_error(error: TransitionError) -> ServiceError {
    match error {
        TransitionError::WrongSide(_) => {
            ServiceError::Forbidden("the other side of the case takes this step")
        }
        TransitionError::InvalidTransition(_) => ServiceError::InvalidTransition(error.to_string()),
        TransitionError::RejectionNotAllowed => {
            ServiceError::RejectionNotAllowed(error.to_string())
        }
    }
}

/// The case number and text a step carries, each required where the step needs it.
fn step_content(
    step: ResponseType,
    case_number_input: Option<String>,
    text: &str,
) -> ServiceResult<(Option<String>, String)> {
    let mut errors = ValidationErrors::default();
    let (text_field, text_required) = match step {
        ResponseType::Approval | ResponseType::ApprovalUpdate => ("nextSteps", false),
        ResponseType::Rejection => ("reason", true),
        ResponseType::InformationRequest | ResponseType::InformationResponse => {
            ("requestedInformation", true)
        }
        ResponseType::Closure | ResponseType::System => ("reason", false),
    };
    let body = if text_required {
        errors.check(text_field, required_text(text, MAX_DESCRIPTION_CHARS))
    } else {
        errors.check(text_field, multi_line(text, MAX_DESCRIPTION_CHARS))
    };
    let number = match (step, case_number_input) {
        (ResponseType::Approval | ResponseType::ApprovalUpdate, Some(number)) => {
            errors.check("caseNumber", case_number(&number))
        }
        (ResponseType::Approval | ResponseType::ApprovalUpdate, None) => {
            errors.add("caseNumber", "give your internal case number");
            None
        }
        _ => None,
    };
    let Some(body) = body.filter(|_| errors.is_empty()) else {
        return Err(errors.into());
    };
    Ok((number, body))
}

fn case_number(raw: &str) -> Result<String, String> {
    single_line(raw, MAX_CASE_NUMBER_CHARS)
}

fn required_text(raw: &str, max: usize) -> Result<String, String> {
    let text = multi_line(raw, max)?;
    if text.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(text)
    }
}

fn contact(input: &ContactInput, at: &str, errors: &mut ValidationErrors) -> Option<Contact> {
    Contact::parse(
        &input.name,
        &input.email,
        input.phone.as_deref(),
        at,
        errors,
    )
}

fn new_case_token() -> ServiceResult<CaseToken> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    CaseToken::from_random(&URL_SAFE_NO_PAD.encode(bytes))
        .map_err(|_| ServiceError::Internal("a generated case token did not parse".into()))
}

/// The system note both sides see when the customer's authorization is withdrawn.
pub(crate) fn revocation_note(at: DateTime<Utc>) -> NewNote {
    NewNote::system(
        "Customer authorization revoked",
        "The customer's authorization for this collaboration was revoked. Nothing more can be shared on this case, and the customer's data is no longer shown to the partner; the case can still be read and closed.",
        at,
    )
}

/// What a preview on an existing case previews.
pub enum PreviewAction {
    Note {
        summary: String,
        description: String,
    },
    Step {
        step: ResponseType,
        case_number: Option<String>,
        text: String,
    },
}

/// A note's summary and description, checked.
fn note_text(summary: &str, description: &str) -> ServiceResult<(String, String)> {
    let mut errors = ValidationErrors::default();
    let summary = errors.check("summary", single_line(summary, MAX_SUMMARY_CHARS));
    let description = errors.check(
        "description",
        multi_line(description, MAX_DESCRIPTION_CHARS),
    );
    match (summary, description) {
        (Some(summary), Some(description)) => Ok((summary, description)),
        _ => Err(errors.into()),
    }
}

fn note_parts(summary: String, description: String) -> Vec<SharePart> {
    vec![
        SharePart::text("summary", summary),
        SharePart::text("description", description),
    ]
}

/// A closure always goes through; when the rules no longer hold, its text shares nothing.
fn step_purpose(step: ResponseType) -> Purpose {
    if step == ResponseType::Closure {
        Purpose::Closure
    } else {
        Purpose::Share
    }
}

/// The API's name for the text a step carries.
fn step_field(step: ResponseType) -> &'static str {
    match step {
        ResponseType::Approval | ResponseType::ApprovalUpdate => "nextSteps",
        ResponseType::InformationRequest | ResponseType::InformationResponse => {
            "requestedInformation"
        }
        ResponseType::Rejection | ResponseType::Closure | ResponseType::System => "reason",
    }
}

fn reveal_case(reveal: &Reveal, mut record: CaseRecord) -> CaseRecord {
    record.problem_summary = reveal.text(&record.problem_summary);
    record.problem_description = reveal.text(&record.problem_description);
    for field in &mut record.custom_fields {
        field.value = reveal.text(&field.value);
    }
    record
}

fn reveal_note(reveal: &Reveal, mut note: NoteRecord) -> NoteRecord {
    note.summary = reveal.text(&note.summary);
    note.description = reveal.text(&note.description);
    note
}
