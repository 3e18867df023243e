//! The member's audit trail, for admins and auditors.

use axum::extract::State;
use axum::Json;
use casebridge_service::AuditQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiQuery, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;
use chrono::{DateTime, Utc};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// e.g. `partnership.accepted`
    action: Option<String>,
    actor_id: Option<String>,
    object_id: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// Zero-based.
    page: Option<i64>,
    /// 1 to 200; default 50.
    size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditEventDto {
    seq: i64,
    id: String,
    occurred_at: DateTime<Utc>,
    actor_type: String,
    actor_id: Option<String>,
    action: String,
    object_type: String,
    object_id: Option<String>,
    outcome: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditPage {
    content: Vec<AuditEventDto>,
    total_elements: i64,
    total_pages: i64,
    page: i64,
    size: i64,
}

/// The caller's company's audit events, newest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", security(("bearer" = [])),
    params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_audit_events(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let page = state
        .services
        .audit_events(
            &caller,
            AuditQuery {
                action: params.action,
                actor_id: params.actor_id,
                object_id: params.object_id,
                since: params.since,
                until: params.until,
                page: params.page,
                size: params.size,
            },
        )
        .await?;
    Ok(Json(AuditPage {
        total_pages: page.total_pages(),
        total_elements: page.total,
        page: page.page,
        size: page.size,
        content: page
            .items
            .into_iter()
            .map(|e| AuditEventDto {
                seq: e.seq,
                id: e.id,
                occurred_at: e.occurred_at,
                actor_type: e.actor_type,
                actor_id: e.actor_id,
                action: e.action,
                object_type: e.object_type,
                object_id: e.object_id,
                outcome: e.outcome,
            })
            .collect(),
    }))
}
