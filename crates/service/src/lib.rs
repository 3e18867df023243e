//! Casebridge's use cases.
//!
//! Each public method of [`Services`] is one thing a user, an integration or the operator
//! asks for: it checks who is asking ([`Caller`]), applies the domain's rules, and makes
//! one storage call that records the change and its audit event together.

mod agreements;
mod audit;
mod auth;
mod caller;
pub mod demo;
mod directory;
mod error;
mod forms;
pub mod operator;
mod partnerships;
mod secrets;

use std::sync::Arc;

use casebridge_store::Store;
use chrono::Duration;

pub use audit::AuditQuery;
pub use auth::{ClientCredentialsError, IssuedToken};
pub use caller::Caller;
pub use casebridge_store as store;
pub use directory::{CreatedApiClient, DepartmentInput, NewApiClientInput, NewUserInput};
pub use error::{ServiceError, ServiceResult};
pub use forms::FormScope;
pub use partnerships::{PartnershipView, ProposalInput};

/// How long issued credentials live.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    pub user_token_ttl: Duration,
    pub client_token_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            user_token_ttl: Duration::hours(8),
            client_token_ttl: Duration::hours(1),
        }
    }
}

/// The use cases, over one store.
#[derive(Clone)]
pub struct Services {
    store: Arc<dyn Store>,
    auth: AuthSettings,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, auth: AuthSettings) -> Self {
        Self { store, auth }
    }

    /// Whether the database answers, for health checks.
    pub async fn healthy(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}
