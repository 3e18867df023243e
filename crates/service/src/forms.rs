//! Process forms: publishing a new version and reading the current one.

use casebridge_domain::form::FormDraft;
use casebridge_domain::{Action, DepartmentId, MemberId};
use casebridge_store::ProcessForm;

use crate::{Caller, ServiceError, ServiceResult, Services};

/// Whose inbound process a form describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormScope {
    Company(MemberId),
    Department(DepartmentId),
}

impl Services {
    /// Publishes a new version of the caller's own company or department form.
    pub async fn publish_form(
        &self,
        caller: &Caller,
        scope: FormScope,
        draft: FormDraft,
    ) -> ServiceResult<ProcessForm> {
        let tenant = caller.may(Action::PublishForms)?;
        let department = match scope {
            // Another member's form answers like one that does not exist.
            FormScope::Company(member) if member != caller.member() => {
                return Err(ServiceError::NotFound)
            }
            FormScope::Company(_) => None,
            FormScope::Department(id) => {
                if !self.department_belongs(id, caller.member()).await? {
                    return Err(ServiceError::NotFound);
                }
                Some(id)
            }
        };
        let definition = draft.validate()?;
        Ok(self
            .store
            .publish_form(tenant, department, &definition)
            .await?)
    }

    /// The current form of a company or department, for its own member and for members
    /// holding an active partnership with it; everyone else gets not-found.
    pub async fn current_form(
        &self,
        caller: &Caller,
        scope: FormScope,
    ) -> ServiceResult<ProcessForm> {
        let tenant = caller.may(Action::ReadDirectory)?;
        let (owner, department) = match scope {
            FormScope::Company(member) => (member, None),
            FormScope::Department(id) => match self.store.department(id).await? {
                Some(department) => (department.member_id, Some(id)),
                None => return Err(ServiceError::NotFound),
            },
        };
        self.store
            .current_form(tenant, owner, department, self.now())
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Every version of the caller's own company form (no department) or one of its
    /// departments' forms, newest first: what a program manager edits and looks back on.
    pub async fn form_versions(
        &self,
        caller: &Caller,
        department: Option<DepartmentId>,
    ) -> ServiceResult<Vec<ProcessForm>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        if let Some(id) = department {
            if !self.department_belongs(id, caller.member()).await? {
                return Err(ServiceError::NotFound);
            }
        }
        Ok(self.store.form_versions(tenant, department).await?)
    }
}
