//! What storage hands back and takes in: plain data, already validated by the domain.

use casebridge_domain::audit::AuditAction;
use casebridge_domain::authorization::CustomerAuthorization;
use casebridge_domain::case::{
    CaseSide, CaseStatus, CaseToken, Contact, FieldValue, ResponseType, Visibility,
};
use casebridge_domain::form::FormDefinition;
use casebridge_domain::form::Priority;
use casebridge_domain::partnership::{
    Partnership, PartnershipStatus, PartnershipType, Side, Terms,
};
pub use casebridge_domain::sharing::VaultEntry;
use casebridge_domain::{
    AgreementId, ApiClientId, DepartmentId, DocumentId, EmailAddress, MemberId, PartnershipId,
    Role, UserId,
};
use chrono::{DateTime, Utc};

use crate::Actor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub domains: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// What sign-in needs to check a password; never leaves the service.
#[derive(Clone)]
pub struct LoginRecord {
    pub user_id: UserId,
    pub member_id: MemberId,
    pub password_hash: String,
    pub disabled: bool,
}

#[derive(Clone)]
pub struct ApiClientCredentials {
    pub id: ApiClientId,
    pub member_id: MemberId,
    pub secret_hash: String,
    pub revoked: bool,
}

/// A bearer token to store: its hash, expiry, and the audit action that issued it.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token_hash: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Web sessions only: the token lapses after this long without use.
    pub idle_timeout: Option<chrono::Duration>,
    pub action: AuditAction,
}

/// Who a valid bearer token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub member_id: MemberId,
    pub actor: Actor,
    pub role: Role,
    /// Web sessions only: when the token was last used (refreshed at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub member_id: MemberId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub id: ApiClientId,
    pub member_id: MemberId,
    pub name: String,
    pub role: Role,
    pub client_id: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewApiClient {
    pub name: String,
    pub role: Role,
    pub client_id: String,
    pub secret_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub member_id: MemberId,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Who is emailed about a new request addressed to this department; when empty,
    /// the member's admins and managers are.
    pub notification_emails: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DepartmentFields {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub notification_emails: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub id: AgreementId,
    pub version: i64,
    pub title: String,
    pub text: String,
    pub sha256: String,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub agreement_id: AgreementId,
    pub member_id: MemberId,
    pub accepted_by: UserId,
    pub accepted_at: DateTime<Utc>,
    pub text_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnershipRecord {
    pub id: PartnershipId,
    pub proposer: Side,
    pub partner: Side,
    pub kind: PartnershipType,
    /// The stored status; see [`PartnershipRecord::rules`] for the status at a given time.
    pub status: PartnershipStatus,
    pub terms: Terms,
    pub proposed_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl PartnershipRecord {
    /// The part of the record the domain's partnership rules work on.
    pub fn rules(&self) -> Partnership {
        Partnership {
            proposer: self.proposer,
            partner: self.partner,
            status: self.status,
            expires_at: self.terms.expires_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewPartnership {
    pub proposer_department: Option<DepartmentId>,
    pub partner_member: MemberId,
    pub partner_department: Option<DepartmentId>,
    pub kind: PartnershipType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessForm {
    pub document_id: DocumentId,
    pub member_id: MemberId,
    pub department_id: Option<DepartmentId>,
    pub version: i64,
    pub definition: FormDefinition,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub outcome: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub object_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Zero-based page number.
    pub page: i64,
    pub size: i64,
}

/// One page of a list, newest first, with the total across pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub size: i64,
}

impl<T> Page<T> {
    /// How many pages of this size the whole list fills.
    pub fn total_pages(&self) -> i64 {
        if self.size > 0 {
            (self.total + self.size - 1) / self.size
        } else {
            0
        }
    }
}

/// A collaboration request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub token: CaseToken,
    pub submitter: MemberId,
    pub submitter_actor: String,
    pub receiver: MemberId,
    pub receiver_department: Option<DepartmentId>,
    pub partnership_id: PartnershipId,
    pub document_id: DocumentId,
    pub status: CaseStatus,
    pub pending_side: Option<CaseSide>,
    pub priority: Priority,
    pub priority_note: String,
    pub respond_by: DateTime<Utc>,
    pub responded: bool,
    pub overdue: bool,
    pub test_case: bool,
    pub internal_case_number: String,
    pub receiver_case_number: Option<String>,
    pub problem_summary: String,
    pub problem_description: String,
    pub custom_fields: Vec<FieldValue>,
    pub submitter_contact: Contact,
    pub receiver_engineer: Option<Contact>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the retention period ended and the case's data key was destroyed: its texts
    /// read as [`ERASED`] from then on; the metadata above remains.
    pub content_erased_at: Option<DateTime<Utc>>,
}

/// What an erasure of a data subject did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectErasure {
    pub erased: Vec<CaseToken>,
    /// Cases naming the subject that a legal hold keeps.
    pub held: Vec<CaseToken>,
}

/// What erased content reads as.
pub const ERASED: &str = "[erased]";

impl CaseRecord {
    /// The side `member` is on, if it is a party to the case.
    pub fn side_of(&self, member: MemberId) -> Option<CaseSide> {
        if member == self.submitter {
            Some(CaseSide::Submitter)
        } else if member == self.receiver {
            Some(CaseSide::Receiver)
        } else {
            None
        }
    }
}

/// A case to create, already validated.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub token: CaseToken,
    pub receiver: MemberId,
    pub receiver_department: Option<DepartmentId>,
    pub partnership_id: PartnershipId,
    pub document_id: DocumentId,
    pub priority: Priority,
    pub priority_note: String,
    pub respond_by: DateTime<Utc>,
    pub test_case: bool,
    pub internal_case_number: String,
    pub receiver_case_number: Option<String>,
    pub problem_summary: String,
    pub problem_description: String,
    pub custom_fields: Vec<FieldValue>,
    pub submitter_contact: Contact,
    pub authorization: CustomerAuthorization,
    /// What the pseudonyms in the submitter's text stand for.
    pub vault: Vec<VaultEntry>,
    /// For a `CUSTOMER_LINK` authorization: the link the customer decides on.
    pub link: Option<NewLink>,
    /// The email addresses of the people the case names (the customer who authorized,
    /// email fields), indexed blind so the case can be found for erasure.
    pub subjects: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewLink {
    /// SHA-256 (hex) of the link's secret.
    pub hash: String,
    pub expires_at: DateTime<Utc>,
    /// The email that takes the link to the customer, sent through the outbox.
    pub email: Option<LinkEmail>,
}

/// What the customer's link email says, fixed when the case is created and sealed on the
/// delivery: the only place the link's secret is kept until it is sent. The mailer writes
/// the message from it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkEmail {
    #[serde(skip)]
    pub to: String,
    pub customer_name: String,
    pub submitter_name: String,
    pub receiver_name: String,
    pub case_number: String,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub link: String,
}

/// A case as its customer sees it through the authorization link.
#[derive(Debug, Clone)]
pub struct CustomerLinkRecord {
    pub token: CaseToken,
    pub submitter: MemberId,
    pub submitter_name: String,
    pub receiver_name: String,
    pub internal_case_number: String,
    pub submitter_contact: Contact,
    pub respond_by: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub authorization: CustomerAuthorization,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub receipt: Option<String>,
}

/// The customer's decision, with what the receipt proves.
#[derive(Debug, Clone)]
pub struct LinkDecision {
    pub authorize: bool,
    pub shown_text: String,
    pub shown_text_hash: String,
    pub approver_ip: Option<String>,
    /// The signed receipt (authorizations only).
    pub receipt: Option<String>,
    /// The respond-by time that starts now (authorizations only).
    pub respond_by: Option<DateTime<Utc>>,
    /// The system note both sides see (a decline closes the case).
    pub note: NewNote,
    pub at: DateTime<Utc>,
}

/// A formal step to record with the status it leads to.
#[derive(Debug, Clone)]
pub struct CaseChange {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub pending_side: Option<CaseSide>,
    pub response_type: ResponseType,
    pub side: Option<CaseSide>,
    pub engineer: Option<Contact>,
    pub case_number: Option<String>,
    pub body: String,
    /// Sets the receiver's engineer and case number on the case (approval).
    pub set_receiver: bool,
    /// The first receiver response marks the case responded.
    pub responded: bool,
    /// What the pseudonyms in the step's text stand for.
    pub vault: Vec<VaultEntry>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRecord {
    pub id: String,
    pub response_type: ResponseType,
    pub side: Option<CaseSide>,
    pub engineer: Option<Contact>,
    pub case_number: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub id: String,
    pub author_member: Option<MemberId>,
    pub author_name: String,
    pub visibility: Visibility,
    pub summary: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewNote {
    pub author_name: String,
    pub visibility: Visibility,
    pub summary: String,
    pub description: String,
    /// What the pseudonyms in a shared note stand for (empty for internal notes).
    pub vault: Vec<VaultEntry>,
    pub at: DateTime<Utc>,
}

impl NewNote {
    /// A note by the platform itself, seen by both sides: platform text, no customer
    /// data, nothing to minimize.
    pub fn system(summary: &str, description: &str, at: DateTime<Utc>) -> Self {
        Self {
            author_name: "Casebridge".into(),
            visibility: Visibility::Shared,
            summary: summary.into(),
            description: description.into(),
            vault: Vec::new(),
            at,
        }
    }
}

/// What one side of a case may see of the case's vaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseVault {
    /// Every value the tenant's own member wrote, whatever its fate.
    pub own: Vec<VaultRow>,
    /// The other member's values its fate lets the tenant see (shared or released).
    pub partner_visible: Vec<(String, String)>,
    /// Every pseudonym of the other member's on this case: already in the tenant's view.
    pub partner_pseudonyms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRow {
    pub entry: VaultEntry,
    pub release_reason: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
}

/// Which cases a list asks for, from the tenant's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(CaseStatus),
    /// Waiting on the tenant's member.
    PendingAction,
    All,
}

#[derive(Debug, Clone)]
pub struct CaseFilter {
    pub direction: Direction,
    pub status: StatusFilter,
    pub internal_case_number: Option<String>,
    pub updated_after: Option<DateTime<Utc>>,
    pub page: i64,
    pub size: i64,
}

/// A member (and department) found by partner search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub member_id: MemberId,
    pub member_name: String,
    pub department: Option<(DepartmentId, String)>,
}

/// What an earlier request with the same idempotency key produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentOutcome {
    pub request_hash: String,
    /// `None` while that request is still being processed.
    pub response: Option<(u16, String)>,
}

// ---- the outbox: events, webhooks, deliveries ----

/// Who an event is for, relative to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Both members (the receiver only once the case is visible to it).
    Both,
    /// One member of the case.
    Only(MemberId),
}

/// A webhook subscription as its member sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: String,
    pub member_id: MemberId,
    pub callback_url: String,
    /// `None`: every event type.
    pub event_types: Option<Vec<String>>,
    pub has_callback_auth: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// A subscription receives the events that occur from this instant on.
    pub created_at: DateTime<Utc>,
    pub callback_url: String,
    pub event_types: Option<Vec<String>>,
    pub secret: String,
    pub callback_auth: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    /// The webhook's id, or the email address.
    pub target: String,
    pub event_type: String,
    pub aggregate: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery a node holds the lease of, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub aggregate: String,
    pub data: String,
    pub occurred_at: DateTime<Utc>,
    pub attempts: i64,
    /// When the retry window opened (the first attempt, or the last redelivery).
    pub created_at: DateTime<Utc>,
    pub target: DeliveryTarget,
    /// The content of an email fixed at creation (a [`LinkEmail`] as JSON), opened; the
    /// mailer reads it instead of the event's data.
    pub payload: Option<String>,
}

/// Where a delivery goes.
#[derive(Debug, Clone)]
pub enum DeliveryTarget {
    Webhook {
        callback_url: String,
        secret: String,
        callback_auth: Option<String>,
    },
    Email {
        address: String,
    },
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        status_code: i64,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        status_code: Option<i64>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Given up: the retry window is over, or the target cannot be reached by rule.
    Failed {
        status_code: Option<i64>,
        error: String,
    },
}

/// One received request, as the SLA report counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaRow {
    pub priority: casebridge_domain::form::Priority,
    pub clock_started_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    /// The receiver's first formal step, if any.
    pub first_response_at: Option<DateTime<Utc>>,
    pub breached: bool,
}

/// Where copies of a member's request emails go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSettings {
    pub inbound_bcc: Option<String>,
    pub outbound_bcc: Option<String>,
}
