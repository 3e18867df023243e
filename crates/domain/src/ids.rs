//! Identifiers of the domain's objects: distinct types so one cannot be passed for another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new identifier; time-ordered so that indexes stay compact.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A member company: the tenant.
    MemberId
);
uuid_id!(
    /// A person who signs in for one member.
    UserId
);
uuid_id!(
    /// A unit of a member with its own inbound process.
    DepartmentId
);
uuid_id!(
    /// One published version of the framework agreement.
    AgreementId
);
uuid_id!(
    /// A relationship between two members under the framework agreement.
    PartnershipId
);
uuid_id!(
    /// One immutable published version of a process form.
    DocumentId
);
uuid_id!(
    /// One field of one process-form version.
    FieldId
);
uuid_id!(
    /// A machine credential of a member (CRM connector, script).
    ApiClientId
);
uuid_id!(
    /// One audit event.
    AuditEventId
);
