//! Process forms: what a receiving member requires from a requester.

use serde::{Deserialize, Serialize};

use crate::validation::{multi_line, single_line};
use crate::{EmailAddress, FieldId, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Section {
    ContactSection,
    CommonCustomerSection,
    ProblemSection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FieldType {
    String,
    Integer,
    Email,
    Phone,
    Select,
    Boolean,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priority {
    Low,
    Medium,
    High,
}

/// Limits on a process form, so that one publication cannot exhaust storage or a screen.
pub const MAX_FIELDS: usize = 100;
pub const MAX_OPTIONS: usize = 100;
pub const MAX_ESCALATION_CONTACTS: usize = 20;
pub const MAX_NOTE_CHARS: usize = 4000;
pub const MAX_LABEL_CHARS: usize = 200;
/// The longest response target: 30 days.
pub const MAX_RESPONSE_HOURS: i64 = 720;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationContact {
    pub name: String,
    pub email: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityTarget {
    pub priority: Priority,
    pub response_hours: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub field_id: FieldId,
    pub label: String,
    pub section: Section,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    pub options: Vec<String>,
    pub display_order: i64,
}

/// A published process form's content. Immutable once published: a change is a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormDefinition {
    pub admin_note: String,
    pub escalation_instructions: String,
    pub escalation_contacts: Vec<EscalationContact>,
    pub priorities: Vec<PriorityTarget>,
    pub custom_fields: Vec<FormField>,
}

/// A process form as submitted, before validation.
#[derive(Debug, Clone, Default)]
pub struct FormDraft {
    pub admin_note: String,
    pub escalation_instructions: String,
    pub escalation_contacts: Vec<(String, String)>,
    pub priorities: Vec<(Priority, i64, String)>,
    pub custom_fields: Vec<FieldDraft>,
}

#[derive(Debug, Clone)]
pub struct FieldDraft {
    pub label: String,
    pub section: Section,
    pub field_type: FieldType,
    pub required: bool,
    pub options: Vec<String>,
    pub display_order: i64,
}

impl FormDraft {
    /// Validates the draft and gives every field a fresh identifier. Fields come out in
    /// display order within their section, ties kept in submitted order.
    pub fn validate(self) -> Result<FormDefinition, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let admin_note = errors.check("adminNote", multi_line(&self.admin_note, MAX_NOTE_CHARS));
        let escalation_instructions = errors.check(
            "escalationInstructions",
            multi_line(&self.escalation_instructions, MAX_NOTE_CHARS),
        );

        if self.escalation_contacts.len() > MAX_ESCALATION_CONTACTS {
            errors.add(
                "escalationContacts",
                format!("at most {MAX_ESCALATION_CONTACTS} contacts"),
            );
        }
        let mut escalation_contacts = Vec::new();
        for (i, (name, email)) in self.escalation_contacts.iter().enumerate() {
            let name = errors.check(
                format!("escalationContacts[{i}].name"),
                single_line(name, MAX_LABEL_CHARS),
            );
            let email = errors.check(
                format!("escalationContacts[{i}].email"),
                EmailAddress::parse(email),
            );
            if let (Some(name), Some(email)) = (name, email) {
                escalation_contacts.push(EscalationContact { name, email });
            }
        }

        if self.priorities.is_empty() {
            errors.add("priorities", "offer at least one priority");
        }
        let mut priorities = Vec::new();
        for (i, (priority, response_hours, note)) in self.priorities.into_iter().enumerate() {
            if priorities
                .iter()
                .any(|p: &PriorityTarget| p.priority == priority)
            {
                errors.add(format!("priorities[{i}].priority"), "listed twice");
            }
            if !(1..=MAX_RESPONSE_HOURS).contains(&response_hours) {
                errors.add(
                    format!("priorities[{i}].responseHours"),
                    format!("must be between 1 and {MAX_RESPONSE_HOURS} hours"),
                );
            }
            let note = errors
                .check(
                    format!("priorities[{i}].note"),
                    multi_line(&note, MAX_NOTE_CHARS),
                )
                .unwrap_or_default();
            priorities.push(PriorityTarget {
                priority,
                response_hours,
                note,
            });
        }
        priorities.sort_by_key(|p| p.priority);

        if self.custom_fields.len() > MAX_FIELDS {
            errors.add("customFields", format!("at most {MAX_FIELDS} fields"));
        }
        let mut custom_fields = Vec::new();
        for (i, field) in self.custom_fields.into_iter().enumerate() {
            if let Some(field) = field.validate(i, &mut errors) {
                custom_fields.push(field);
            }
        }
        custom_fields.sort_by_key(|f| (f.section, f.display_order));

        errors.finish(|| FormDefinition {
            admin_note: admin_note.unwrap_or_default(),
            escalation_instructions: escalation_instructions.unwrap_or_default(),
            escalation_contacts,
            priorities,
            custom_fields,
        })
    }
}

impl FieldDraft {
    fn validate(self, i: usize, errors: &mut ValidationErrors) -> Option<FormField> {
        let at = |name: &str| format!("customFields[{i}].{name}");
        let label = errors.check(at("label"), single_line(&self.label, MAX_LABEL_CHARS));
        let mut options = Vec::new();
        if self.field_type == FieldType::Select {
            if self.options.is_empty() || self.options.len() > MAX_OPTIONS {
                errors.add(
                    at("options"),
                    format!("a SELECT field needs 1 to {MAX_OPTIONS} options"),
                );
            }
            for option in &self.options {
                match single_line(option, MAX_LABEL_CHARS) {
                    Ok(option) if options.contains(&option) => {
                        errors.add(at("options"), format!("option {option:?} is listed twice"))
                    }
                    Ok(option) => options.push(option),
                    Err(message) => errors.add(at("options"), message),
                }
            }
        } else if !self.options.is_empty() {
            errors.add(at("options"), "only SELECT fields have options");
        }
        if !(0..=10_000).contains(&self.display_order) {
            errors.add(at("displayOrder"), "must be between 0 and 10000");
        }
        Some(FormField {
            field_id: FieldId::new(),
            label: label?,
            section: self.section,
            field_type: self.field_type,
            required: self.required,
            options,
            display_order: self.display_order,
        })
    }
}

impl FormDefinition {
    /// The response target for `priority`, if the form offers it.
    pub fn target(&self, priority: Priority) -> Option<&PriorityTarget> {
        self.priorities.iter().find(|p| p.priority == priority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(label: &str, field_type: FieldType, options: &[&str], order: i64) -> FieldDraft {
        FieldDraft {
            label: label.into(),
            section: Section::ProblemSection,
            field_type,
            required: true,
            options: options.iter().map(|o| o.to_string()).collect(),
            display_order: order,
        }
    }

    fn draft() -> FormDraft {
        FormDraft {
            admin_note: "Send logs as attachments".into(),
            escalation_instructions: "Call the duty manager".into(),
            escalation_contacts: vec![("Duty Manager".into(), "duty@acme.example".into())],
            priorities: vec![
                (Priority::High, 4, "Production down".into()),
                (Priority::Low, 72, String::new()),
            ],
            custom_fields: vec![
                field("Product version", FieldType::String, &[], 2),
                field("Platform", FieldType::Select, &["Linux", "Windows"], 1),
            ],
        }
    }

    #[test]
    fn a_valid_draft_is_ordered_and_gets_field_ids() {
        let form = draft().validate().unwrap();
        assert_eq!(form.custom_fields[0].label, "Platform");
        assert_eq!(form.custom_fields[1].label, "Product version");
        assert_ne!(
            form.custom_fields[0].field_id,
            form.custom_fields[1].field_id
        );
        assert_eq!(form.priorities[0].priority, Priority::Low);
        assert_eq!(form.target(Priority::High).unwrap().response_hours, 4);
        assert!(form.target(Priority::Medium).is_none());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut bad = draft();
        bad.priorities.push((Priority::High, 0, String::new()));
        bad.escalation_contacts
            .push(("Nobody".into(), "not-an-email".into()));
        bad.custom_fields.push(field("", FieldType::String, &[], 1));
        bad.custom_fields
            .push(field("Kind", FieldType::Select, &[], 1));
        bad.custom_fields
            .push(field("Count", FieldType::Integer, &["x"], 1));
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "escalationContacts[1].email",
                "priorities[2].priority",
                "priorities[2].responseHours",
                "customFields[2].label",
                "customFields[3].options",
                "customFields[4].options",
            ]
        );
    }

    #[test]
    fn a_form_offers_at_least_one_priority() {
        let mut bad = draft();
        bad.priorities.clear();
        assert_eq!(bad.validate().unwrap_err().0[0].field, "priorities");
    }

    #[test]
    fn oversized_forms_are_refused() {
        let mut bad = draft();
        bad.custom_fields = (0..=MAX_FIELDS as i64)
            .map(|i| field("f", FieldType::String, &[], i))
            .collect();
        assert_eq!(bad.validate().unwrap_err().0[0].field, "customFields");
    }
}
