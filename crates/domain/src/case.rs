//! Collaboration requests (cases): the lifecycle both members work through.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::form::{FieldType, FormDefinition};
use crate::partnership::PartnershipType;
use crate::validation::{multi_line, single_line};
use crate::{EmailAddress, FieldId, ValidationErrors};

/// The unguessable public identifier of a case: `cr_` and 22 base64url characters
/// (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseToken(String);

pub const CASE_TOKEN_PREFIX: &str = "cr_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a case token")]
pub struct NotACaseToken;

impl CaseToken {
    /// Wraps 16 random bytes, already base64url-encoded by the caller (no I/O here).
    pub fn from_random(encoded: &str) -> Result<Self, NotACaseToken> {
        Self::parse(&format!("{CASE_TOKEN_PREFIX}{encoded}"))
    }

    pub fn parse(raw: &str) -> Result<Self, NotACaseToken> {
        let body = raw.strip_prefix(CASE_TOKEN_PREFIX).ok_or(NotACaseToken)?;
        let valid = body.len() == 22
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        valid.then(|| Self(raw.to_owned())).ok_or(NotACaseToken)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CaseToken {
    type Error = NotACaseToken;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CaseToken> for String {
    fn from(value: CaseToken) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseStatus {
    /// Created with a customer link; waiting for the customer's decision. Invisible to the
    /// receiver, no clock running, no step possible.
    PendingAuthorization,
    Open,
    Information,
    Accepted,
    Rejected,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 6] = [
        CaseStatus::PendingAuthorization,
        CaseStatus::Open,
        CaseStatus::Information,
        CaseStatus::Accepted,
        CaseStatus::Rejected,
        CaseStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::PendingAuthorization => "PENDING_AUTHORIZATION",
            CaseStatus::Open => "OPEN",
            CaseStatus::Information => "INFORMATION",
            CaseStatus::Accepted => "ACCEPTED",
            CaseStatus::Rejected => "REJECTED",
            CaseStatus::Closed => "CLOSED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the case is still being worked (notes may be added).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            CaseStatus::Open | CaseStatus::Information | CaseStatus::Accepted
        )
    }
}

/// Which side of a case a member is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseSide {
    Submitter,
    Receiver,
}

/// The formal steps of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ResponseType {
    Approval,
    ApprovalUpdate,
    Rejection,
    InformationRequest,
    InformationResponse,
    Closure,
    /// Written by the platform itself (inactivity closure).
    System,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Approval => "APPROVAL",
            ResponseType::ApprovalUpdate => "APPROVAL_UPDATE",
            ResponseType::Rejection => "REJECTION",
            ResponseType::InformationRequest => "INFORMATION_REQUEST",
            ResponseType::InformationResponse => "INFORMATION_RESPONSE",
            ResponseType::Closure => "CLOSURE",
            ResponseType::System => "SYSTEM",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        use ResponseType::*;
        [
            Approval,
            ApprovalUpdate,
            Rejection,
            InformationRequest,
            InformationResponse,
            Closure,
            System,
        ]
        .into_iter()
        .find(|t| t.as_str() == raw)
    }

    /// The side that takes this step.
    pub fn side(self) -> Option<CaseSide> {
        match self {
            ResponseType::Approval
            | ResponseType::ApprovalUpdate
            | ResponseType::Rejection
            | ResponseType::InformationRequest => Some(CaseSide::Receiver),
            ResponseType::InformationResponse | ResponseType::Closure => Some(CaseSide::Submitter),
            ResponseType::System => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("only the {} can do this", side_name(*.0))]
    WrongSide(CaseSide),
    #[error("the case is {}, so this step is not possible", .0.as_str())]
    InvalidTransition(CaseStatus),
    #[error("a solution-support partnership does not allow rejecting a request")]
    RejectionNotAllowed,
}

fn side_name(side: CaseSide) -> &'static str {
    match side {
        CaseSide::Submitter => "submitter",
        CaseSide::Receiver => "receiver",
    }
}

/// The status after `side` takes step `step` on a case in `status`.
pub fn transition(
    status: CaseStatus,
    step: ResponseType,
    side: CaseSide,
    partnership: PartnershipType,
) -> Result<CaseStatus, TransitionError> {
    use CaseStatus::*;
    if let Some(required) = step.side() {
        if required != side {
            return Err(TransitionError::WrongSide(required));
        }
    }
    let next = match (step, status) {
        (ResponseType::Approval, Open | Information) => Accepted,
        (ResponseType::ApprovalUpdate, Accepted) => Accepted,
        (ResponseType::Rejection, Open | Information) => {
            if partnership == PartnershipType::SolutionSupport {
                return Err(TransitionError::RejectionNotAllowed);
            }
            Rejected
        }
        (ResponseType::InformationRequest, Open | Accepted) => Information,
        (ResponseType::InformationResponse, Information) => Information,
        (ResponseType::Closure, Open | Accepted) => Closed,
        // Inactivity closes any live case, including one left waiting for information.
        (ResponseType::System, Open | Information | Accepted) => Closed,
        _ => return Err(TransitionError::InvalidTransition(status)),
    };
    Ok(next)
}

/// Whether a note may be added to a case in `status`.
pub fn may_add_note(status: CaseStatus) -> Result<(), TransitionError> {
    if status.is_live() {
        Ok(())
    } else {
        Err(TransitionError::InvalidTransition(status))
    }
}

/// Which side must act next, given the status and the last formal step.
pub fn pending_side(status: CaseStatus, last_step: Option<ResponseType>) -> Option<CaseSide> {
    match status {
        CaseStatus::Open => Some(CaseSide::Receiver),
        CaseStatus::Information if last_step == Some(ResponseType::InformationResponse) => {
            Some(CaseSide::Receiver)
        }
        CaseStatus::Information => Some(CaseSide::Submitter),
        CaseStatus::PendingAuthorization
        | CaseStatus::Accepted
        | CaseStatus::Rejected
        | CaseStatus::Closed => None,
    }
}

/// Limits on case texts.
pub const MAX_SUMMARY_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub const MAX_CASE_NUMBER_CHARS: usize = 100;
pub const MAX_STRING_FIELD_CHARS: usize = 1_000;

/// A custom field value, checked against the field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldValue {
    pub field_id: FieldId,
    pub value: String,
}

/// Checks submitted values against a form: every required field present, every value of
/// its field's type, no unknown or repeated field. Returns the values in display order.
pub fn validate_field_values(
    form: &FormDefinition,
    values: &[(String, String)],
    errors: &mut ValidationErrors,
) -> Vec<FieldValue> {
    let mut accepted = Vec::new();
    for (i, (field_id, value)) in values.iter().enumerate() {
        let at = format!("customFields[{i}]");
        let Some(field) = form
            .custom_fields
            .iter()
            .find(|f| f.field_id.to_string() == *field_id)
        else {
            errors.add(format!("{at}.fieldId"), "not a field of this form");
            continue;
        };
        if accepted
            .iter()
            .any(|v: &FieldValue| v.field_id == field.field_id)
        {
            errors.add(format!("{at}.fieldId"), "given twice");
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match check_value(field.field_type, &field.options, value) {
            Ok(value) => accepted.push(FieldValue {
                field_id: field.field_id,
                value,
            }),
            Err(message) => {
                errors.add(format!("{at}.value"), format!("{}: {message}", field.label))
            }
        }
    }
    for field in form.custom_fields.iter().filter(|f| f.required) {
        if !accepted.iter().any(|v| v.field_id == field.field_id) {
            errors.add(
                format!("customFields[{}]", field.field_id),
                format!("{} is required", field.label),
            );
        }
    }
    let order = |id: FieldId| form.custom_fields.iter().position(|f| f.field_id == id);
    accepted.sort_by_key(|v| order(v.field_id));
    accepted
}

fn check_value(field_type: FieldType, options: &[String], value: &str) -> Result<String, String> {
    match field_type {
        FieldType::String => single_line(value, MAX_STRING_FIELD_CHARS),
        FieldType::Text => multi_line(value, MAX_DESCRIPTION_CHARS),
        FieldType::Integer => value
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| "must be a whole number".into()),
        FieldType::Email => EmailAddress::parse(value)
            .map(|e| e.to_string())
            .map_err(|e| e.to_string()),
        FieldType::Phone => parse_phone(value),
        FieldType::Select => options
            .iter()
            .find(|o| o.as_str() == value)
            .cloned()
            .ok_or_else(|| format!("must be one of: {}", options.join(", "))),
        FieldType::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok("true".into()),
            "false" | "no" => Ok("false".into()),
            _ => Err("must be true or false".into()),
        },
    }
}

/// A telephone number: digits with the usual separators, 5 to 20 digits.
pub fn parse_phone(value: &str) -> Result<String, String> {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let plus_ok = value.rfind('+').is_none_or(|i| i == 0);
    if allowed && plus_ok && (5..=20).contains(&digits) {
        Ok(value.to_owned())
    } else {
        Err("must be a telephone number such as +1 555 0100".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::{FieldDraft, FormDraft, Priority, Section};
    use CaseSide::*;
    use CaseStatus::*;
    use ResponseType::*;

    const COLLABORATIVE: PartnershipType = PartnershipType::Collaborative;

    #[test]
    fn every_step_from_every_status() {
        let expected = [
            (
                Approval,
                Receiver,
                [Some(Accepted), Some(Accepted), None, None, None],
            ),
            (
                ApprovalUpdate,
                Receiver,
                [None, None, Some(Accepted), None, None],
            ),
            (
                Rejection,
                Receiver,
                [Some(Rejected), Some(Rejected), None, None, None],
            ),
            (
                InformationRequest,
                Receiver,
                [Some(Information), None, Some(Information), None, None],
            ),
            (
                InformationResponse,
                Submitter,
                [None, Some(Information), None, None, None],
            ),
            (
                Closure,
                Submitter,
                [Some(Closed), None, Some(Closed), None, None],
            ),
        ];
        for (step, side, outcomes) in expected {
            // No step leaves PENDING_AUTHORIZATION: only the customer's decision does.
            let outcomes = std::iter::once(None).chain(outcomes);
            for (status, outcome) in CaseStatus::ALL.into_iter().zip(outcomes) {
                let result = transition(status, step, side, COLLABORATIVE);
                match outcome {
                    Some(next) => assert_eq!(result, Ok(next), "{step:?} from {status:?}"),
                    None => assert_eq!(
                        result,
                        Err(TransitionError::InvalidTransition(status)),
                        "{step:?} from {status:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn each_step_belongs_to_one_side() {
        assert_eq!(
            transition(Open, Approval, Submitter, COLLABORATIVE),
            Err(TransitionError::WrongSide(Receiver))
        );
        assert_eq!(
            transition(Open, Closure, Receiver, COLLABORATIVE),
            Err(TransitionError::WrongSide(Submitter))
        );
    }

    #[test]
    fn solution_support_requests_cannot_be_rejected() {
        assert_eq!(
            transition(Open, Rejection, Receiver, PartnershipType::SolutionSupport),
            Err(TransitionError::RejectionNotAllowed)
        );
    }

    #[test]
    fn pending_action_follows_the_conversation() {
        assert_eq!(pending_side(Open, None), Some(Receiver));
        assert_eq!(
            pending_side(Information, Some(InformationRequest)),
            Some(Submitter)
        );
        assert_eq!(
            pending_side(Information, Some(InformationResponse)),
            Some(Receiver)
        );
        assert_eq!(pending_side(Accepted, Some(Approval)), None);
        assert!(may_add_note(Accepted).is_ok());
        assert!(may_add_note(Closed).is_err());
    }

    #[test]
    fn tokens_are_prefixed_and_shaped() {
        let token = CaseToken::from_random("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(token.as_str(), "cr_AAAAAAAAAAAAAAAAAAAAAA");
        assert!(CaseToken::parse("cr_short").is_err());
        assert!(CaseToken::parse("xx_AAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(CaseToken::parse("cr_AAAAAAAAAAAAAAAAAAAA/A").is_err());
    }

    fn form() -> FormDefinition {
        let field = |label: &str, field_type, required, options: &[&str]| FieldDraft {
            label: label.into(),
            section: Section::ProblemSection,
            field_type,
            required,
            options: options.iter().map(|o| o.to_string()).collect(),
            display_order: 0,
        };
        FormDraft {
            priorities: vec![(Priority::High, 4, String::new())],
            custom_fields: vec![
                field("Version", FieldType::String, true, &[]),
                field("Nodes", FieldType::Integer, false, &[]),
                field("Contact", FieldType::Email, false, &[]),
                field("Phone", FieldType::Phone, false, &[]),
                field("Env", FieldType::Select, false, &["Prod", "Test"]),
                field("Repro", FieldType::Boolean, false, &[]),
            ],
            ..FormDraft::default()
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn field_values_are_checked_against_their_types() {
        let form = form();
        let id = |i: usize| form.custom_fields[i].field_id.to_string();
        let mut errors = ValidationErrors::default();
        let values = vec![
            (id(5), "yes".into()),
            (id(0), " 4.2.1 ".into()),
            (id(1), "12".into()),
            (id(4), "Prod".into()),
            (id(3), "+44 20 7946 0958".into()),
        ];
        let accepted = validate_field_values(&form, &values, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(accepted[0].value, "4.2.1");
        assert_eq!(accepted.last().unwrap().value, "true");

        let bad = vec![
            (id(1), "twelve".into()),
            (id(2), "nobody".into()),
            (id(3), "2024-01-01 10:00".into()),
            (id(4), "Staging".into()),
            (id(5), "maybe".into()),
            (FieldId::new().to_string(), "x".into()),
        ];
        let mut errors = ValidationErrors::default();
        validate_field_values(&form, &bad, &mut errors);
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields.len(), 7, "{fields:?}");
        assert!(fields.last().unwrap().starts_with("customFields["));
        assert!(errors
            .0
            .last()
            .unwrap()
            .message
            .contains("Version is required"));
    }
}

/// Who may see a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Visibility {
    /// Both members.
    Shared,
    /// Only the author's member, never the partner — not even its existence.
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Shared => "SHARED",
            Visibility::Internal => "INTERNAL",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Visibility::Shared, Visibility::Internal]
            .into_iter()
            .find(|v| v.as_str() == raw)
    }
}

impl CaseSide {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSide::Submitter => "SUBMITTER",
            CaseSide::Receiver => "RECEIVER",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [CaseSide::Submitter, CaseSide::Receiver]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A person's contact on a case: the submitter's, or the receiver's engineer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub name: String,
    pub email: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Contact {
    /// Validates a contact; `at` prefixes the field names in errors.
    pub fn parse(
        name: &str,
        email: &str,
        phone: Option<&str>,
        at: &str,
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let name = errors.check(format!("{at}.name"), single_line(name, 200));
        let email = errors.check(format!("{at}.email"), EmailAddress::parse(email));
        let phone = match phone.map(str::trim) {
            None | Some("") => Some(None),
            Some(phone) => errors
                .check(format!("{at}.phone"), parse_phone(phone))
                .map(Some),
        };
        Some(Self {
            name: name?,
            email: email?,
            phone: phone?,
        })
    }
}
