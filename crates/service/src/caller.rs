//! The authenticated caller of a use case.

use casebridge_domain::{Action, MemberId, Role};
use casebridge_store::{Actor, Tenant};

use crate::{ServiceError, ServiceResult};

/// Someone whose bearer token was valid when the request arrived. Only
/// [`Services::authenticate`](crate::Services::authenticate) makes one.
#[derive(Debug, Clone)]
pub struct Caller {
    tenant: Tenant,
    role: Role,
    token_hash: String,
}

impl Caller {
    pub(crate) fn new(tenant: Tenant, role: Role, token_hash: String) -> Self {
        Self {
            tenant,
            role,
            token_hash,
        }
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn member(&self) -> MemberId {
        self.tenant.member()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn actor(&self) -> Actor {
        self.tenant.actor()
    }

    pub(crate) fn token_hash(&self) -> &str {
        &self.token_hash
    }

    /// The tenant, if the caller's role may take `action`.
    pub fn may(&self, action: Action) -> ServiceResult<&Tenant> {
        if self.role.may(action) {
            Ok(&self.tenant)
        } else {
            Err(ServiceError::Forbidden(
                "your role does not allow this action",
            ))
        }
    }
}
