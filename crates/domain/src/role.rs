//! Roles and the one table that says which role may take which action.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of a user or an API client within its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Manages the member: users, API clients, agreements, and everything a manager does.
    Admin,
    /// Program manager: partnerships, departments and process forms.
    Manager,
    /// Support engineer: works cases.
    Engineer,
    /// Read-only evidence: the audit trail and configuration.
    Auditor,
}

/// Everything a member's user or API client can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadDirectory,
    ManageUsers,
    ManageApiClients,
    ManageDepartments,
    AcceptAgreement,
    ManagePartnerships,
    PublishForms,
    ReadAuditTrail,
    /// Open, answer and add notes to collaboration requests.
    WorkCases,
    /// Place and release legal holds, erase a data subject's cases.
    ManageDataProtection,
    /// Read the member's SLA report.
    ReadReports,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Engineer, Role::Auditor];

    /// Whether this role may take `action` for its own member.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match action {
            ReadDirectory => true,
            ManageUsers | ManageApiClients | AcceptAgreement | ManageDataProtection => {
                self == Role::Admin
            }
            ManageDepartments | ManagePartnerships | PublishForms => {
                matches!(self, Role::Admin | Role::Manager)
            }
            ReadAuditTrail => matches!(self, Role::Admin | Role::Auditor),
            ReadReports => self != Role::Engineer,
            WorkCases => self != Role::Auditor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Engineer => "engineer",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of admin, manager, engineer, auditor")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(UnknownRole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_accept_agreements() {
        for role in Role::ALL {
            assert_eq!(role.may(Action::ManageUsers), role == Role::Admin);
            assert_eq!(role.may(Action::AcceptAgreement), role == Role::Admin);
        }
    }

    #[test]
    fn engineers_and_auditors_cannot_change_configuration() {
        for role in [Role::Engineer, Role::Auditor] {
            assert!(!role.may(Action::ManagePartnerships));
            assert!(!role.may(Action::PublishForms));
            assert!(!role.may(Action::ManageDepartments));
        }
        assert!(Role::Manager.may(Action::PublishForms));
    }

    #[test]
    fn audit_trail_is_for_admins_and_auditors() {
        assert!(Role::Auditor.may(Action::ReadAuditTrail));
        assert!(Role::Admin.may(Action::ReadAuditTrail));
        assert!(!Role::Manager.may(Action::ReadAuditTrail));
        assert!(!Role::Engineer.may(Action::ReadAuditTrail));
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
