//! Reading the member's audit trail.

use casebridge_domain::validation::page_window;
use casebridge_domain::{Action, ValidationErrors};
use casebridge_store::{AuditEvent, AuditFilter, Page};
use chrono::{DateTime, Utc};

use crate::{Caller, ServiceResult, Services};

/// Filters on the audit trail, as the caller gave them.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub object_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub page: Option<i64>,
    pub size: Option<i64>,
}

const DEFAULT_PAGE_SIZE: i64 = 50;

impl Services {
    pub async fn audit_events(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> ServiceResult<Page<AuditEvent>> {
        let tenant = caller.may(Action::ReadAuditTrail)?;
        let mut errors = ValidationErrors::default();
        let (page, size) = page_window(query.page, query.size, DEFAULT_PAGE_SIZE, &mut errors);
        for (field, value) in [
            ("action", &query.action),
            ("actorId", &query.actor_id),
            ("objectId", &query.object_id),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > 100) {
                errors.add(field, "must be at most 100 characters");
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let filter = AuditFilter {
            action: query.action,
            actor_id: query.actor_id,
            object_id: query.object_id,
            since: query.since,
            until: query.until,
            page,
            size,
        };
        Ok(self.store.list_audit_events(tenant, &filter).await?)
    }
}
