//! Partnerships: the legal relationship under which two members may exchange cases.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DataCategory, DepartmentId, MemberId, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PartnershipType {
    /// Peers that help each other on shared customers.
    Collaborative,
    /// One member supports a solution built on the other's product.
    SolutionSupport,
}

/// The stored status. `EXPIRED` is never stored: it is derived from `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PartnershipStatus {
    Proposed,
    Active,
    Declined,
    Ended,
    Expired,
}

impl PartnershipType {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnershipType::Collaborative => "COLLABORATIVE",
            PartnershipType::SolutionSupport => "SOLUTION_SUPPORT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Collaborative, Self::SolutionSupport]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
    }
}

impl PartnershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnershipStatus::Proposed => "PROPOSED",
            PartnershipStatus::Active => "ACTIVE",
            PartnershipStatus::Declined => "DECLINED",
            PartnershipStatus::Ended => "ENDED",
            PartnershipStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Proposed,
            Self::Active,
            Self::Declined,
            Self::Ended,
            Self::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }
}

/// The longest retention a partnership may set: ten years.
pub const MAX_RETENTION_DAYS: i64 = 3650;

/// The data-sharing terms both sides agree to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    pub data_categories: BTreeSet<DataCategory>,
    pub retention_days: i64,
    pub onward_sharing_allowed: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Terms {
    /// Validates proposed terms at `now`; `field` prefixes the names in the errors.
    pub fn validate(
        data_categories: Vec<DataCategory>,
        retention_days: i64,
        onward_sharing_allowed: bool,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if data_categories.is_empty() {
            errors.add("terms.dataCategories", "name at least one data category");
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&retention_days) {
            errors.add(
                "terms.retentionDays",
                format!("must be between 1 and {MAX_RETENTION_DAYS} days"),
            );
        }
        if onward_sharing_allowed {
            errors.add(
                "terms.onwardSharingAllowed",
                "the framework agreement forbids onward sharing; it must be false",
            );
        }
        if expires_at.is_some_and(|at| at <= now) {
            errors.add("terms.expiresAt", "must be in the future");
        }
        errors.finish(|| Terms {
            data_categories: data_categories.into_iter().collect(),
            retention_days,
            onward_sharing_allowed,
            expires_at,
        })
    }
}

/// One side of a partnership: a member, optionally narrowed to one of its departments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub member: MemberId,
    pub department: Option<DepartmentId>,
}

/// The parts of a partnership its rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partnership {
    pub proposer: Side,
    pub partner: Side,
    pub status: PartnershipStatus,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartnershipError {
    #[error("a member cannot enter a partnership with itself")]
    SelfPartnership,
    #[error("only the invited member can accept or decline a proposal")]
    NotInvited,
    #[error("the partnership is {}, so it cannot be {action}", .status.as_str())]
    InvalidTransition {
        status: PartnershipStatus,
        action: &'static str,
    },
}

/// The invited member's answer to a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

impl Partnership {
    /// The status as of `now`: an active or proposed partnership past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> PartnershipStatus {
        let expired = self.expires_at.is_some_and(|at| at <= now);
        match self.status {
            PartnershipStatus::Active | PartnershipStatus::Proposed if expired => {
                PartnershipStatus::Expired
            }
            status => status,
        }
    }

    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == PartnershipStatus::Active
    }

    pub fn involves(&self, member: MemberId) -> bool {
        self.proposer.member == member || self.partner.member == member
    }

    /// The other side, seen from `member`.
    pub fn counterpart_of(&self, member: MemberId) -> Side {
        if self.proposer.member == member {
            self.partner
        } else {
            self.proposer
        }
    }

    /// The status after `member` answers the proposal at `now`.
    pub fn answer(
        &self,
        member: MemberId,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> Result<PartnershipStatus, PartnershipError> {
        let action = match answer {
            Answer::Accept => "accepted",
            Answer::Decline => "declined",
        };
        let status = self.status_at(now);
        if status != PartnershipStatus::Proposed {
            return Err(PartnershipError::InvalidTransition { status, action });
        }
        if self.partner.member != member {
            return Err(PartnershipError::NotInvited);
        }
        Ok(match answer {
            Answer::Accept => PartnershipStatus::Active,
            Answer::Decline => PartnershipStatus::Declined,
        })
    }

    /// Either side may end a proposed or active partnership (withdrawing a proposal ends it).
    pub fn end(&self, now: DateTime<Utc>) -> Result<PartnershipStatus, PartnershipError> {
        match self.status_at(now) {
            PartnershipStatus::Proposed | PartnershipStatus::Active => Ok(PartnershipStatus::Ended),
            status => Err(PartnershipError::InvalidTransition {
                status,
                action: "ended",
            }),
        }
    }
}

/// Checks the two sides of a new proposal.
pub fn check_proposal(proposer: Side, partner: Side) -> Result<(), PartnershipError> {
    if proposer.member == partner.member {
        return Err(PartnershipError::SelfPartnership);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn proposal(expires_at: Option<DateTime<Utc>>) -> (Partnership, MemberId, MemberId) {
        let (a, b) = (MemberId::new(), MemberId::new());
        let partnership = Partnership {
            proposer: Side {
                member: a,
                department: None,
            },
            partner: Side {
                member: b,
                department: None,
            },
            status: PartnershipStatus::Proposed,
            expires_at,
        };
        (partnership, a, b)
    }

    #[test]
    fn only_the_invited_member_answers() {
        let now = Utc::now();
        let (p, proposer, invited) = proposal(None);
        assert_eq!(
            p.answer(proposer, Answer::Accept, now),
            Err(PartnershipError::NotInvited)
        );
        assert_eq!(
            p.answer(invited, Answer::Accept, now),
            Ok(PartnershipStatus::Active)
        );
        assert_eq!(
            p.answer(invited, Answer::Decline, now),
            Ok(PartnershipStatus::Declined)
        );
    }

    #[test]
    fn an_active_partnership_cannot_be_accepted_again_but_can_end() {
        let now = Utc::now();
        let (mut p, _, invited) = proposal(None);
        p.status = PartnershipStatus::Active;
        assert!(matches!(
            p.answer(invited, Answer::Accept, now),
            Err(PartnershipError::InvalidTransition { .. })
        ));
        assert_eq!(p.end(now), Ok(PartnershipStatus::Ended));
        p.status = PartnershipStatus::Ended;
        assert!(p.end(now).is_err());
    }

    #[test]
    fn expiry_makes_a_partnership_inactive() {
        let now = Utc::now();
        let (mut p, _, invited) = proposal(Some(now - Duration::seconds(1)));
        p.status = PartnershipStatus::Active;
        assert_eq!(p.status_at(now), PartnershipStatus::Expired);
        assert!(!p.is_active_at(now));
        assert!(p.end(now).is_err());
        let (expired_proposal, _, _) = proposal(Some(now - Duration::seconds(1)));
        assert!(expired_proposal
            .answer(invited, Answer::Accept, now)
            .is_err());
    }

    #[test]
    fn terms_refuse_onward_sharing_and_bad_values() {
        let now = Utc::now();
        let errors = Terms::validate(vec![], 0, true, Some(now), now).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "terms.dataCategories",
                "terms.retentionDays",
                "terms.onwardSharingAllowed",
                "terms.expiresAt"
            ]
        );
        assert!(Terms::validate(vec![DataCategory::Logs], 30, false, None, now).is_ok());
    }

    #[test]
    fn a_member_cannot_partner_with_itself() {
        let member = MemberId::new();
        let side = Side {
            member,
            department: None,
        };
        assert_eq!(
            check_proposal(side, side),
            Err(PartnershipError::SelfPartnership)
        );
    }
}
