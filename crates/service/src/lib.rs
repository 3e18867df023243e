//! Casebridge's use cases.
//!
//! Each public method of [`Services`] is one thing a user, an integration or the operator
//! asks for: it checks who is asking ([`Caller`]), applies the domain's rules, and makes
//! one storage call that records the change and its audit event together.

mod agreements;
mod audit;
mod auth;
mod caller;
mod cases;
pub mod clock;
mod customer;
pub mod demo;
mod directory;
mod error;
mod forms;
mod idempotency;
pub mod operator;
mod partnerships;
mod reports;
mod secrets;
mod sharing;
pub mod webhooks;

use std::sync::Arc;

use casebridge_store::Store;
use chrono::Duration;
use clock::{Clock, SystemClock};

pub use audit::AuditQuery;
pub use auth::{ClientCredentialsError, IssuedToken};
pub use caller::Caller;
pub use casebridge_store as store;
pub use cases::*;
pub use customer::{CustomerLinkView, LinkPage, ReceiptSigner};
pub use directory::{CreatedApiClient, DepartmentInput, NewApiClientInput, NewUserInput};
pub use error::{ServiceError, ServiceResult};
pub use forms::FormScope;
pub use idempotency::IdempotencyStart;
pub use partnerships::{PartnershipView, ProposalInput};
pub use reports::SlaReport;
pub use secrets::constant_time_eq;
pub use sharing::{Preview, Reveal};

/// How long issued credentials live.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    pub user_token_ttl: Duration,
    pub client_token_ttl: Duration,
    /// A web session ends this long after sign-in, used or not.
    pub session_ttl: Duration,
    /// A web session ends after this long without a request.
    pub session_idle_timeout: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            user_token_ttl: Duration::hours(8),
            client_token_ttl: Duration::hours(1),
            session_ttl: Duration::hours(12),
            session_idle_timeout: Duration::minutes(30),
        }
    }
}

/// How collaboration requests age.
#[derive(Debug, Clone)]
pub struct CaseSettings {
    /// A live case without shared activity for this long closes itself.
    pub inactivity: Duration,
    /// The base of links the platform hands out (customer authorization pages).
    pub public_url: String,
    /// How long a customer authorization link stays valid.
    pub link_ttl: Duration,
}

impl Default for CaseSettings {
    fn default() -> Self {
        Self {
            inactivity: Duration::days(30),
            public_url: "http://127.0.0.1:8080".into(),
            link_ttl: Duration::days(7),
        }
    }
}

/// The use cases, over one store.
#[derive(Clone)]
pub struct Services {
    store: Arc<dyn Store>,
    auth: AuthSettings,
    cases: CaseSettings,
    clock: Arc<dyn Clock>,
    signer: Arc<ReceiptSigner>,
    webhooks: webhooks::WebhookPolicy,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, auth: AuthSettings) -> Self {
        Self {
            store,
            auth,
            cases: CaseSettings::default(),
            clock: Arc::new(SystemClock),
            signer: Arc::new(ReceiptSigner::generate()),
            webhooks: webhooks::WebhookPolicy::default(),
        }
    }

    /// The hosts webhooks may reach beyond public HTTPS ones.
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    pub fn webhook_policy(&self) -> &webhooks::WebhookPolicy {
        &self.webhooks
    }

    pub fn public_url(&self) -> &str {
        &self.cases.public_url
    }

    /// The key consent receipts are signed with (kept by the operator across restarts).
    pub fn with_signing_key(mut self, secret: [u8; 32]) -> Self {
        self.signer = Arc::new(ReceiptSigner::from_bytes(secret));
        self
    }

    pub fn with_case_settings(mut self, cases: CaseSettings) -> Self {
        self.cases = cases;
        self
    }

    /// Replaces the clock, for tests that move time.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Whether the database answers, for health checks.
    pub async fn healthy(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}
