//! The framework agreement: reading the current version and accepting it.

use casebridge_domain::{Action, AgreementId, MemberId};
use casebridge_store::{Acceptance, Agreement};

use crate::{Caller, ServiceError, ServiceResult, Services};

impl Services {
    /// The current agreement and whether the caller's member has accepted it.
    pub async fn current_agreement(&self, caller: &Caller) -> ServiceResult<(Agreement, bool)> {
        caller.may(Action::ReadDirectory)?;
        let agreement = self
            .store
            .current_agreement()
            .await?
            .ok_or(ServiceError::NotFound)?;
        let accepted = self
            .store
            .acceptance(caller.member(), agreement.id)
            .await?
            .is_some();
        Ok((agreement, accepted))
    }

    /// Accepts the current agreement for the caller's member. Only a person with the admin
    /// role can bind the member; an older version cannot be accepted any more.
    pub async fn accept_agreement(
        &self,
        caller: &Caller,
        id: AgreementId,
    ) -> ServiceResult<Acceptance> {
        let tenant = caller.may(Action::AcceptAgreement)?;
        if tenant.user().is_none() {
            return Err(ServiceError::Forbidden(
                "an agreement is accepted by a person, not an API client",
            ));
        }
        let agreement = self
            .store
            .agreement(id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let current = self
            .store
            .current_agreement()
            .await?
            .ok_or(ServiceError::NotFound)?;
        if current.id != agreement.id {
            return Err(ServiceError::Conflict(format!(
                "only the current version ({}) can be accepted",
                current.version
            )));
        }
        Ok(self.store.accept_agreement(tenant, &current).await?)
    }

    /// Fails with `agreement_not_accepted` unless `member` accepted the current version.
    pub(crate) async fn require_current_agreement(
        &self,
        member: MemberId,
        message: &'static str,
    ) -> ServiceResult<()> {
        if self.accepted_current_agreement(member).await? {
            Ok(())
        } else {
            Err(ServiceError::AgreementNotAccepted(message))
        }
    }

    /// Whether `member` has accepted the framework agreement in force.
    pub(crate) async fn accepted_current_agreement(&self, member: MemberId) -> ServiceResult<bool> {
        Ok(match self.store.current_agreement().await? {
            Some(agreement) => self.store.acceptance(member, agreement.id).await?.is_some(),
            None => false,
        })
    }
}
