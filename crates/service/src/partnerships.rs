//! Partnerships: proposing, answering, ending, and seeing one's own.

use casebridge_domain::partnership::{
    check_proposal, Answer, PartnershipStatus, PartnershipType, Side, Terms,
};
use casebridge_domain::{Action, DataCategory, DepartmentId, MemberId, PartnershipId};
use casebridge_store::{NewPartnership, PartnershipRecord};
use chrono::{DateTime, Utc};

use crate::{Caller, ServiceError, ServiceResult, Services};

pub struct ProposalInput {
    pub department_id: Option<DepartmentId>,
    pub partner_company_id: MemberId,
    pub partner_department_id: Option<DepartmentId>,
    pub kind: PartnershipType,
    pub data_categories: Vec<DataCategory>,
    pub retention_days: i64,
    pub onward_sharing_allowed: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A partnership as a member sees it: the status as of now and both companies' names.
#[derive(Debug, Clone)]
pub struct PartnershipView {
    pub record: PartnershipRecord,
    pub status: PartnershipStatus,
    pub proposer_name: String,
    pub partner_name: String,
}

impl Services {
    pub async fn list_partnerships(&self, caller: &Caller) -> ServiceResult<Vec<PartnershipView>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let records = self.store.list_partnerships(tenant).await?;
        let mut views = Vec::with_capacity(records.len());
        for record in records {
            views.push(self.partnership_view(record).await?);
        }
        Ok(views)
    }

    pub async fn get_partnership(
        &self,
        caller: &Caller,
        id: PartnershipId,
    ) -> ServiceResult<PartnershipView> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let record = self.store.get_partnership(tenant, id).await?;
        self.partnership_view(record).await
    }

    /// Proposes a partnership; the caller's member must have accepted the current agreement.
    pub async fn propose_partnership(
        &self,
        caller: &Caller,
        input: ProposalInput,
    ) -> ServiceResult<PartnershipView> {
        let tenant = caller.may(Action::ManagePartnerships)?;
        let now = self.now();
        let terms = Terms::validate(
            input.data_categories,
            input.retention_days,
            input.onward_sharing_allowed,
            input.expires_at,
            now,
        );
        let mut errors = terms.as_ref().err().cloned().unwrap_or_default();
        let proposer = Side {
            member: caller.member(),
            department: input.department_id,
        };
        let partner = Side {
            member: input.partner_company_id,
            department: input.partner_department_id,
        };
        check_proposal(proposer, partner)?;
        if self.store.member(partner.member).await?.is_none() {
            errors.add("partnerCompanyId", "no member has this id");
        } else if let Some(department) = partner.department {
            if !self.department_belongs(department, partner.member).await? {
                errors.add(
                    "partnerDepartmentId",
                    "the partner has no department with this id",
                );
            }
        }
        if let Some(department) = proposer.department {
            if !self.department_belongs(department, proposer.member).await? {
                errors.add("departmentId", "your member has no department with this id");
            }
        }
        let terms = match terms {
            Ok(terms) if errors.is_empty() => terms,
            _ => return Err(errors.into()),
        };
        self.require_current_agreement(
            caller.member(),
            "your company must accept the current framework agreement before proposing partnerships",
        )
        .await?;
        let record = self
            .store
            .create_partnership(
                tenant,
                &NewPartnership {
                    proposer_department: proposer.department,
                    partner_member: partner.member,
                    partner_department: partner.department,
                    kind: input.kind,
                },
                &terms,
                now,
            )
            .await?;
        self.partnership_view(record).await
    }

    /// The invited member accepts or declines a proposal.
    pub async fn answer_partnership(
        &self,
        caller: &Caller,
        id: PartnershipId,
        answer: Answer,
    ) -> ServiceResult<PartnershipView> {
        let tenant = caller.may(Action::ManagePartnerships)?;
        let record = self.store.get_partnership(tenant, id).await?;
        let to = record.rules().answer(caller.member(), answer, self.now())?;
        if answer == Answer::Accept {
            self.require_current_agreement(
                caller.member(),
                "your company must accept the current framework agreement before accepting partnerships",
            )
            .await?;
        }
        let record = self
            .store
            .transition_partnership(tenant, id, record.status, to)
            .await?;
        self.partnership_view(record).await
    }

    /// Either side ends a proposed or active partnership.
    pub async fn end_partnership(
        &self,
        caller: &Caller,
        id: PartnershipId,
    ) -> ServiceResult<PartnershipView> {
        let tenant = caller.may(Action::ManagePartnerships)?;
        let record = self.store.get_partnership(tenant, id).await?;
        let to = record.rules().end(self.now())?;
        let record = self
            .store
            .transition_partnership(tenant, id, record.status, to)
            .await?;
        self.partnership_view(record).await
    }

    async fn partnership_view(&self, record: PartnershipRecord) -> ServiceResult<PartnershipView> {
        let name = |member: Option<casebridge_store::Member>| {
            member.map(|m| m.name).ok_or_else(|| {
                ServiceError::Internal("a partnership names a member that does not exist".into())
            })
        };
        let proposer_name = name(self.store.member(record.proposer.member).await?)?;
        let partner_name = name(self.store.member(record.partner.member).await?)?;
        Ok(PartnershipView {
            status: record.rules().status_at(self.now()),
            record,
            proposer_name,
            partner_name,
        })
    }
}
