//! The events members can subscribe to. Each is written to the outbox in the transaction
//! of the change that causes it, for each member allowed to know of it, and carries the
//! case's metadata as that member sees it — never text, never values.

/// Every event type, as webhooks name them (the CloudEvents `type` is
/// `com.casebridge.` + this name).
pub const EVENT_TYPES: [&str; 13] = [
    "case.created",
    "case.authorized",
    "case.status_changed",
    "case.response_added",
    "case.note_added",
    "case.information_requested",
    "case.sla_reminder",
    "case.sla_breached",
    "case.authorization_revoked",
    "partnership.proposed",
    "partnership.accepted",
    "partnership.declined",
    "partnership.ended",
];

/// The CloudEvents `type` of an event type.
pub fn cloud_event_type(event_type: &str) -> String {
    format!("com.casebridge.{event_type}")
}

pub fn is_event_type(name: &str) -> bool {
    EVENT_TYPES.contains(&name)
}
