//! The context every tenant-scoped storage call requires.

use casebridge_domain::audit::ActorKind;
use casebridge_domain::{ApiClientId, MemberId, UserId};

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiClient(ApiClientId),
    /// The platform operator, from the command line.
    Operator,
}

/// The member a request acts for and who acts. Built by the service once the caller is
/// authenticated (or by the operator's commands); storage scopes every query by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant {
    member: MemberId,
    actor: Actor,
}

impl Tenant {
    pub fn new(member: MemberId, actor: Actor) -> Self {
        Self { member, actor }
    }

    pub fn member(&self) -> MemberId {
        self.member
    }

    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// The acting user, if a person acts.
    pub fn user(&self) -> Option<UserId> {
        match self.actor {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }

    pub(crate) fn audit_actor(&self) -> (ActorKind, Option<String>) {
        match self.actor {
            Actor::User(id) => (ActorKind::User, Some(id.to_string())),
            Actor::ApiClient(id) => (ActorKind::ApiClient, Some(id.to_string())),
            Actor::Operator => (ActorKind::Operator, None),
        }
    }
}
