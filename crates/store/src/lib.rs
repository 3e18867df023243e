//! Tenant-scoped storage for Casebridge.
//!
//! [`Store`] is the only way the rest of the product reaches the database. Every method that
//! reads or changes a member's data takes the [`Tenant`] it acts for, so an unscoped query
//! cannot be written by accident; the few methods without one are named for the platform
//! operator or for sign-in. Every state change appends its audit event in the same
//! transaction. [`SqlStore`] implements it on SQLite (embedded) and PostgreSQL with one
//! schema and one set of queries.

pub mod crypto;
mod records;
mod sql;
mod tenant;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use casebridge_domain::agreement::AgreementText;
use casebridge_domain::audit::ChainedEntry;
use casebridge_domain::authorization::CustomerAuthorization;
use casebridge_domain::case::{CaseToken, Contact};
use casebridge_domain::form::FormDefinition;
use casebridge_domain::member::MemberDomain;
use casebridge_domain::partnership::{PartnershipStatus, Terms};
use casebridge_domain::{AgreementId, ApiClientId, DepartmentId, MemberId, PartnershipId, UserId};
use chrono::{DateTime, Utc};

pub use records::*;
pub use sql::{Backend, SqlStore};
pub use tenant::{Actor, Tenant};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the text names what already exists.
    #[error("{0}")]
    Conflict(&'static str),
    /// The row changed since it was read (a concurrent transition won).
    #[error("the object was changed concurrently")]
    Stale,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: CaseStore + OutboxStore + Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // ---- platform operator ----
    /// Whether no member exists yet.
    async fn is_empty(&self) -> StoreResult<bool>;
    async fn create_member(&self, name: &str, domains: &[MemberDomain]) -> StoreResult<Member>;
    async fn publish_agreement(&self, text: &AgreementText) -> StoreResult<Agreement>;
    /// Every audit event in order and the recorded head, for `casebridge audit verify`.
    async fn audit_chain(&self) -> StoreResult<(Vec<ChainedEntry>, (i64, String))>;

    // ---- sign-in ----
    async fn find_login(&self, login_key: &str) -> StoreResult<Option<LoginRecord>>;
    async fn find_api_client_credentials(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ApiClientCredentials>>;
    /// Stores a new bearer token (its hash) for the tenant's actor and audits `action`.
    async fn issue_token(&self, tenant: &Tenant, token: &NewToken) -> StoreResult<()>;
    async fn record_login_failure(&self, member: MemberId, user: UserId) -> StoreResult<()>;
    /// The principal behind a token hash, if it is unexpired, not idle past its timeout,
    /// unrevoked and its owner active.
    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Principal>>;
    async fn revoke_token(&self, tenant: &Tenant, token_hash: &str) -> StoreResult<()>;
    /// Records that a web session was used at `now`, which restarts its idle timeout.
    async fn touch_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // ---- directory: what every member may know about others ----
    async fn member(&self, id: MemberId) -> StoreResult<Option<Member>>;
    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>>;

    // ---- users ----
    async fn list_users(&self, tenant: &Tenant) -> StoreResult<Vec<User>>;
    async fn get_user(&self, tenant: &Tenant, id: UserId) -> StoreResult<User>;
    async fn create_user(&self, tenant: &Tenant, user: &NewUser) -> StoreResult<User>;
    /// Disables the user and revokes every token it holds, at once.
    async fn disable_user(&self, tenant: &Tenant, id: UserId) -> StoreResult<User>;
    /// Gives a user another role; it applies to their live sessions and tokens at once.
    async fn set_user_role(
        &self,
        tenant: &Tenant,
        id: UserId,
        role: casebridge_domain::Role,
    ) -> StoreResult<User>;

    // ---- API clients ----
    async fn list_api_clients(&self, tenant: &Tenant) -> StoreResult<Vec<ApiClient>>;
    async fn create_api_client(
        &self,
        tenant: &Tenant,
        client: &NewApiClient,
    ) -> StoreResult<ApiClient>;
    /// Revokes the client and every token issued to it.
    async fn revoke_api_client(&self, tenant: &Tenant, id: ApiClientId) -> StoreResult<ApiClient>;

    // ---- departments ----
    async fn list_departments(&self, tenant: &Tenant) -> StoreResult<Vec<Department>>;
    async fn create_department(
        &self,
        tenant: &Tenant,
        department: &DepartmentFields,
    ) -> StoreResult<Department>;
    async fn update_department(
        &self,
        tenant: &Tenant,
        id: DepartmentId,
        department: &DepartmentFields,
    ) -> StoreResult<Department>;

    // ---- framework agreement ----
    async fn current_agreement(&self) -> StoreResult<Option<Agreement>>;
    async fn agreement(&self, id: AgreementId) -> StoreResult<Option<Agreement>>;
    async fn acceptance(
        &self,
        member: MemberId,
        agreement: AgreementId,
    ) -> StoreResult<Option<Acceptance>>;
    async fn accept_agreement(
        &self,
        tenant: &Tenant,
        agreement: &Agreement,
    ) -> StoreResult<Acceptance>;

    // ---- partnerships ----
    async fn list_partnerships(&self, tenant: &Tenant) -> StoreResult<Vec<PartnershipRecord>>;
    async fn get_partnership(
        &self,
        tenant: &Tenant,
        id: PartnershipId,
    ) -> StoreResult<PartnershipRecord>;
    /// Proposes a partnership unless one between the two members is proposed or active
    /// (and unexpired) at `now`.
    async fn create_partnership(
        &self,
        tenant: &Tenant,
        proposal: &NewPartnership,
        terms: &Terms,
        now: DateTime<Utc>,
    ) -> StoreResult<PartnershipRecord>;
    /// Moves the partnership from `from` to `to` if nobody changed it meanwhile.
    async fn transition_partnership(
        &self,
        tenant: &Tenant,
        id: PartnershipId,
        from: PartnershipStatus,
        to: PartnershipStatus,
    ) -> StoreResult<PartnershipRecord>;

    // ---- process forms ----
    async fn publish_form(
        &self,
        tenant: &Tenant,
        department: Option<DepartmentId>,
        definition: &FormDefinition,
    ) -> StoreResult<ProcessForm>;
    /// The current form of `owner` (company-wide or one department), if the tenant is the
    /// owner or holds an active partnership with it at `now`.
    async fn current_form(
        &self,
        tenant: &Tenant,
        owner: MemberId,
        department: Option<DepartmentId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ProcessForm>>;

    /// Every published version of the tenant's own company or department form, newest
    /// first.
    async fn form_versions(
        &self,
        tenant: &Tenant,
        department: Option<DepartmentId>,
    ) -> StoreResult<Vec<ProcessForm>>;

    // ---- audit trail ----
    async fn list_audit_events(
        &self,
        tenant: &Tenant,
        filter: &AuditFilter,
    ) -> StoreResult<Page<AuditEvent>>;
}

/// The context of the platform operator acting for `member` from the command line.
pub fn operator_tenant(member: MemberId) -> Tenant {
    Tenant::new(member, Actor::Operator)
}

/// Collaboration requests: every method but the background sweeps takes the tenant, and a
/// case of which the tenant's member is not a party is `NotFound`.
#[async_trait]
pub trait CaseStore: Send + Sync {
    async fn create_case(&self, tenant: &Tenant, case: &NewCase) -> StoreResult<CaseRecord>;
    async fn get_case(&self, tenant: &Tenant, token: &CaseToken) -> StoreResult<CaseRecord>;
    async fn list_cases(
        &self,
        tenant: &Tenant,
        filter: &CaseFilter,
    ) -> StoreResult<Page<CaseRecord>>;
    async fn case_authorization(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<CustomerAuthorization>;
    async fn case_responses(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Vec<ResponseRecord>>;
    /// The notes the tenant may see: shared ones and its own member's internal ones.
    async fn case_notes(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        updated_after: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<NoteRecord>>;
    /// Records a formal step if the case is still in `change.from`.
    async fn change_case(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        change: &CaseChange,
    ) -> StoreResult<CaseRecord>;
    /// The submitter's own details: its case number and contact.
    async fn update_case_details(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        internal_case_number: &str,
        contact: &Contact,
        at: DateTime<Utc>,
    ) -> StoreResult<CaseRecord>;
    async fn add_note(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        note: &NewNote,
    ) -> StoreResult<NoteRecord>;

    /// The submitter withdraws the customer's authorization, with a system note both
    /// sides see. `Stale` if it was already revoked.
    async fn revoke_authorization(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        note: &NewNote,
    ) -> StoreResult<()>;

    // ---- customer links (the link's hash is the customer's only credential) ----
    async fn customer_link(&self, link_hash: &str) -> StoreResult<CustomerLinkRecord>;
    /// Records the customer's decision if the link is still pending; `Stale` otherwise.
    async fn decide_link(&self, link_hash: &str, decision: &LinkDecision) -> StoreResult<()>;
    /// The customer withdraws an authorization through its link; `Stale` if already done.
    async fn revoke_by_link(&self, link_hash: &str, note: &NewNote) -> StoreResult<()>;
    /// The signed receipt of a case's customer authorization, for the submitter.
    async fn authorization_receipt(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Option<String>>;

    // ---- minimization ----
    /// The tenant's pseudonym key for a partnership it is party to; `candidate` becomes the
    /// key if none exists yet (concurrent callers all get the one that was stored first).
    async fn pseudonym_key(
        &self,
        tenant: &Tenant,
        partnership: PartnershipId,
        candidate: [u8; 32],
        at: DateTime<Utc>,
    ) -> StoreResult<[u8; 32]>;
    /// The tenant's own vault of a case and what the other member let it see.
    async fn case_vault(&self, tenant: &Tenant, token: &CaseToken) -> StoreResult<CaseVault>;
    /// Releases one of the tenant's own pseudonymized values to the partner.
    async fn release_value(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        pseudonym: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<VaultRow>;

    // ---- partner search ----
    async fn search_directory(
        &self,
        tenant: &Tenant,
        term: &str,
    ) -> StoreResult<Vec<DirectoryEntry>>;
    /// The document id of the current form of a company or department, if one is published.
    async fn current_form_id(
        &self,
        owner: MemberId,
        department: Option<DepartmentId>,
    ) -> StoreResult<Option<casebridge_domain::DocumentId>>;
    /// A form version by its document id.
    async fn form_version(
        &self,
        document: casebridge_domain::DocumentId,
    ) -> StoreResult<Option<ProcessForm>>;

    // ---- background sweeps (the platform acts, for every member) ----
    /// Closes live cases whose last shared activity is older than `idle_since`.
    async fn close_inactive_cases(
        &self,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseToken>>;
    /// Flags unanswered cases whose `respondBy` has passed.
    async fn mark_overdue_cases(&self, now: DateTime<Utc>) -> StoreResult<Vec<CaseToken>>;
    /// Sends the response-clock reminders that are due — at half the window and shortly
    /// before its end — each once, as events and system notes; returns how many.
    async fn remind_cases(&self, now: DateTime<Utc>) -> StoreResult<usize>;
    /// The tenant's received requests whose clock started in `[from, to)` (test requests
    /// and those waiting for their customer left out), for the SLA report.
    async fn sla_rows(
        &self,
        tenant: &Tenant,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SlaRow>>;
    /// Destroys the data key of every case closed, rejected or revoked longer ago than its
    /// partnership's retention period and not on legal hold (crypto-shredding); a live
    /// revoked case is closed. Returns the purged cases.
    async fn purge_expired_cases(&self, now: DateTime<Utc>) -> StoreResult<Vec<CaseToken>>;
    /// Places (`true`) or releases the tenant's legal hold on a case; `false` if nothing
    /// changed.
    async fn set_legal_hold(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        hold: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Erases every case that names the person with this email (through the blind index):
    /// all cases with `None` (the operator), else the cases the tenant submitted. Cases on
    /// legal hold are reported, not erased.
    async fn erase_subject(
        &self,
        tenant: Option<&Tenant>,
        email: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<SubjectErasure>;
    /// When the tenant placed its legal hold on a case, if it did.
    async fn legal_hold(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Option<DateTime<Utc>>>;

    // ---- idempotency ----
    /// Reserves `key` for a request; `Ok(None)` when reserved now, `Ok(Some(..))` with the
    /// stored outcome (`None` while the first request still runs) when seen before.
    async fn reserve_idempotency_key(
        &self,
        member: MemberId,
        key: &str,
        request_hash: &str,
    ) -> StoreResult<Option<IdempotentOutcome>>;
    async fn complete_idempotency_key(
        &self,
        member: MemberId,
        key: &str,
        status: u16,
        body: &str,
    ) -> StoreResult<()>;
    async fn release_idempotency_key(&self, member: MemberId, key: &str) -> StoreResult<()>;
}

/// The outbox: webhook subscriptions of a member, and the dispatcher's work (named for the
/// platform: it acts for every member).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn notification_settings(&self, tenant: &Tenant) -> StoreResult<NotificationSettings>;
    async fn set_notification_settings(
        &self,
        tenant: &Tenant,
        settings: &NotificationSettings,
    ) -> StoreResult<()>;
    /// Whether the tenant's user gets emails about a partner's notes.
    async fn note_emails(&self, tenant: &Tenant) -> StoreResult<bool>;
    async fn set_note_emails(&self, tenant: &Tenant, on: bool) -> StoreResult<()>;
    async fn create_webhook(
        &self,
        tenant: &Tenant,
        hook: &NewWebhook,
    ) -> StoreResult<WebhookRecord>;
    async fn list_webhooks(&self, tenant: &Tenant) -> StoreResult<Vec<WebhookRecord>>;
    /// Stops a subscription; its deliveries stay listed, pending ones are dropped.
    async fn delete_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<()>;
    /// The newest deliveries of one of the tenant's webhooks.
    async fn webhook_deliveries(
        &self,
        tenant: &Tenant,
        webhook: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Sends a delivery again from now on, whatever its state; it keeps its event id.
    async fn redeliver(
        &self,
        tenant: &Tenant,
        webhook: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<DeliveryRecord>;
    /// The tenant's newest notification emails, only those in `status` if given.
    async fn email_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Sends one of the tenant's emails again from now on, whatever its state.
    async fn redeliver_email(
        &self,
        tenant: &Tenant,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<DeliveryRecord>;

    /// Turns up to `limit` new events into deliveries for the subscriptions that want
    /// them; returns how many events it handled. Safe on several nodes at once.
    async fn fan_out_events(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<usize>;
    /// Leases up to `limit` due deliveries to `node` until `lease_until`, each the earliest
    /// unfinished one of its case for its target: webhooks, and emails when `emails` (a
    /// node without a mail server leaves them waiting).
    async fn claim_deliveries(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        emails: bool,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Deletes finished deliveries (delivered or failed) and fanned-out events that no
    /// delivery needs any more, older than `before`; returns how many rows went.
    async fn prune_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Records an attempt of a delivery `node` holds; false when its lease was lost.
    async fn finish_delivery(
        &self,
        id: &str,
        node: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
