//! The tamper-evident audit trail: every event carries the hash of the one before it.
//!
//! An event holds identifiers only (never names, addresses or secrets), so the trail can be
//! kept and shown to auditors for as long as the law requires without holding personal data.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, in stable dotted names an auditor can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    MemberCreated,
    UserCreated,
    UserDisabled,
    UserRoleChanged,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedelivered,
    EmailRedelivered,
    NotificationSettingsChanged,
    DepartmentCreated,
    DepartmentUpdated,
    AgreementPublished,
    AgreementAccepted,
    PartnershipProposed,
    PartnershipAccepted,
    PartnershipDeclined,
    PartnershipEnded,
    FormPublished,
    ApiClientCreated,
    ApiClientRevoked,
    LoginSucceeded,
    LoginFailed,
    Logout,
    ClientTokenIssued,
    CaseCreated,
    CaseApproved,
    CaseApprovalUpdated,
    CaseRejected,
    CaseInformationRequested,
    CaseInformationProvided,
    CaseClosed,
    CaseClosedInactive,
    CaseUpdated,
    CaseNoteAdded,
    CaseOverdue,
    CaseValueReleased,
    CaseAuthorizationRevoked,
    CaseCustomerAuthorized,
    CaseCustomerDeclined,
    CasePurged,
    CaseLegalHoldPlaced,
    CaseLegalHoldReleased,
    CaseSubjectErased,
}

impl AuditAction {
    /// The audit action that records a formal step on a case.
    pub fn of_step(step: crate::case::ResponseType) -> Self {
        use crate::case::ResponseType::*;
        match step {
            Approval => AuditAction::CaseApproved,
            ApprovalUpdate => AuditAction::CaseApprovalUpdated,
            Rejection => AuditAction::CaseRejected,
            InformationRequest => AuditAction::CaseInformationRequested,
            InformationResponse => AuditAction::CaseInformationProvided,
            Closure => AuditAction::CaseClosed,
            System => AuditAction::CaseClosedInactive,
        }
    }

    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            MemberCreated => "member.created",
            UserCreated => "user.created",
            UserDisabled => "user.disabled",
            UserRoleChanged => "user.role_changed",
            WebhookCreated => "webhook.created",
            WebhookDeleted => "webhook.deleted",
            WebhookRedelivered => "webhook.redelivered",
            EmailRedelivered => "email.redelivered",
            NotificationSettingsChanged => "member.notifications_changed",
            DepartmentCreated => "department.created",
            DepartmentUpdated => "department.updated",
            AgreementPublished => "agreement.published",
            AgreementAccepted => "agreement.accepted",
            PartnershipProposed => "partnership.proposed",
            PartnershipAccepted => "partnership.accepted",
            PartnershipDeclined => "partnership.declined",
            PartnershipEnded => "partnership.ended",
            FormPublished => "form.published",
            ApiClientCreated => "api_client.created",
            ApiClientRevoked => "api_client.revoked",
            LoginSucceeded => "session.login",
            LoginFailed => "session.login_failed",
            Logout => "session.logout",
            ClientTokenIssued => "api_client.token_issued",
            CaseCreated => "case.created",
            CaseApproved => "case.approved",
            CaseApprovalUpdated => "case.approval_updated",
            CaseRejected => "case.rejected",
            CaseInformationRequested => "case.information_requested",
            CaseInformationProvided => "case.information_provided",
            CaseClosed => "case.closed",
            CaseClosedInactive => "case.closed_inactive",
            CaseUpdated => "case.updated",
            CaseNoteAdded => "case.note_added",
            CaseOverdue => "case.overdue",
            CaseValueReleased => "case.value_released",
            CaseAuthorizationRevoked => "case.authorization_revoked",
            CaseCustomerAuthorized => "case.customer_authorized",
            CaseCustomerDeclined => "case.customer_declined",
            CasePurged => "case.purged",
            CaseLegalHoldPlaced => "case.legal_hold_placed",
            CaseLegalHoldReleased => "case.legal_hold_released",
            CaseSubjectErased => "case.subject_erased",
        }
    }
}

/// Who acted: a user, an API client, the platform operator (CLI) or the system itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiClient,
    Operator,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiClient => "api_client",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
        }
    }
}

/// The content of one audit event, in the exact field order that is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub member_id: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub outcome: String,
}

/// An event as stored, with its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEntry {
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an event: SHA-256 over the previous hash and the canonical JSON of the entry.
pub fn chain_hash(prev_hash: &str, entry: &AuditEntry) -> String {
    let canonical = serde_json::to_vec(entry).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(&canonical);
    hex::encode(hasher.finalize())
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {seq}: content does not match its hash (changed)")]
    Changed { seq: i64 },
    #[error("event {seq}: does not link to the event before it (removed or reordered)")]
    Unlinked { seq: i64 },
    #[error("event {found} found where event {expected} was expected (removed or reordered)")]
    OutOfSequence { expected: i64, found: i64 },
    #[error("the chain ends at event {last} but the head records event {head} (removed)")]
    Truncated { last: i64, head: i64 },
}

impl ChainBreak {
    /// The sequence number of the first bad event.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Changed { seq } | ChainBreak::Unlinked { seq } => *seq,
            ChainBreak::OutOfSequence { expected, .. } => *expected,
            ChainBreak::Truncated { last, .. } => last + 1,
        }
    }
}

/// Verifies events read in storage order against each other and the recorded head
/// (`(seq, hash)` of the last event appended). Returns how many events were verified.
pub fn verify_chain(
    events: impl IntoIterator<Item = ChainedEntry>,
    head: Option<(i64, &str)>,
) -> Result<i64, ChainBreak> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    for event in events {
        let seq = event.entry.seq;
        if seq != expected_seq {
            return Err(ChainBreak::OutOfSequence {
                expected: expected_seq,
                found: seq,
            });
        }
        if event.prev_hash != prev_hash {
            return Err(ChainBreak::Unlinked { seq });
        }
        if chain_hash(&event.prev_hash, &event.entry) != event.hash {
            return Err(ChainBreak::Changed { seq });
        }
        prev_hash = event.hash;
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    match head {
        Some((head_seq, head_hash)) if head_seq != last || (last > 0 && head_hash != prev_hash) => {
            Err(ChainBreak::Truncated {
                last,
                head: head_seq,
            })
        }
        _ => Ok(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<ChainedEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let entry = AuditEntry {
                    seq,
                    id: format!("event-{seq}"),
                    occurred_at: DateTime::from_timestamp(1_700_000_000 + seq, 0).unwrap(),
                    member_id: Some("member".into()),
                    actor_type: "user".into(),
                    actor_id: Some("user".into()),
                    action: "partnership.proposed".into(),
                    object_type: "partnership".into(),
                    object_id: Some(format!("p{seq}")),
                    outcome: "success".into(),
                };
                let hash = chain_hash(&prev, &entry);
                let event = ChainedEntry {
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                event
            })
            .collect()
    }

    fn head(events: &[ChainedEntry]) -> Option<(i64, &str)> {
        events.last().map(|e| (e.entry.seq, e.hash.as_str()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        assert_eq!(verify_chain(events.clone(), head(&events)), Ok(5));
        assert_eq!(verify_chain(vec![], Some((0, GENESIS_HASH))), Ok(0));
    }

    #[test]
    fn a_changed_event_is_named() {
        let mut events = chain(5);
        let h = head(&events).map(|(s, h)| (s, h.to_owned())).unwrap();
        events[2].entry.outcome = "denied".into();
        assert_eq!(
            verify_chain(events, Some((h.0, &h.1))),
            Err(ChainBreak::Changed { seq: 3 })
        );
    }

    #[test]
    fn a_removed_event_is_named() {
        let mut events = chain(5);
        let h = head(&events).map(|(s, h)| (s, h.to_owned())).unwrap();
        events.remove(1);
        let err = verify_chain(events, Some((h.0, &h.1))).unwrap_err();
        assert_eq!(err.seq(), 2);
    }

    #[test]
    fn a_removed_last_event_is_caught_by_the_head() {
        let mut events = chain(5);
        let h = head(&events).map(|(s, h)| (s, h.to_owned())).unwrap();
        events.pop();
        assert_eq!(
            verify_chain(events, Some((h.0, &h.1))),
            Err(ChainBreak::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn reordered_events_are_caught_even_when_renumbered() {
        let mut events = chain(5);
        let h = head(&events).map(|(s, h)| (s, h.to_owned())).unwrap();
        events.swap(1, 2);
        events[1].entry.seq = 2;
        events[2].entry.seq = 3;
        assert_eq!(
            verify_chain(events, Some((h.0, &h.1))),
            Err(ChainBreak::Unlinked { seq: 2 })
        );
    }
}
