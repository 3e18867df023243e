//! Partnerships between members.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::partnership::{Answer, PartnershipStatus, PartnershipType, Side};
use casebridge_domain::{DataCategory, DepartmentId, MemberId, PartnershipId};
use casebridge_service::{PartnershipView, ProposalInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;
use chrono::{DateTime, Utc};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_partnerships, propose_partnership))
        .routes(routes!(get_partnership))
        .routes(routes!(accept_partnership))
        .routes(routes!(decline_partnership))
        .routes(routes!(end_partnership))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SideDto {
    company_id: Uuid,
    company_name: String,
    department_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TermsDto {
    /// What may cross, from the fixed vocabulary.
    data_categories: Vec<DataCategory>,
    /// Days after a case closes until its customer personal data is purged (1 to 3650).
    retention_days: i64,
    /// Always false: the framework agreement forbids onward sharing.
    #[serde(default)]
    onward_sharing_allowed: bool,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnershipDto {
    id: Uuid,
    #[serde(rename = "type")]
    kind: PartnershipType,
    /// The status now; `EXPIRED` once `terms.expiresAt` has passed.
    status: PartnershipStatus,
    proposer: SideDto,
    partner: SideDto,
    /// Whether the caller's company proposed it (and so cannot accept it).
    proposed_by_my_company: bool,
    terms: TermsDto,
    proposed_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
}

fn side(side: Side, name: String) -> SideDto {
    SideDto {
        company_id: side.member.as_uuid(),
        company_name: name,
        department_id: side.department.map(|d| d.as_uuid()),
    }
}

fn dto(view: PartnershipView, me: MemberId) -> PartnershipDto {
    let record = view.record;
    PartnershipDto {
        id: record.id.as_uuid(),
        kind: record.kind,
        status: view.status,
        proposed_by_my_company: record.proposer.member == me,
        proposer: side(record.proposer, view.proposer_name),
        partner: side(record.partner, view.partner_name),
        terms: TermsDto {
            data_categories: record.terms.data_categories.into_iter().collect(),
            retention_days: record.terms.retention_days,
            onward_sharing_allowed: record.terms.onward_sharing_allowed,
            expires_at: record.terms.expires_at,
        },
        proposed_at: record.proposed_at,
        answered_at: record.answered_at,
        ended_at: record.ended_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProposalRequest {
    /// Narrows the partnership to one of the caller's departments.
    department_id: Option<Uuid>,
    partner_company_id: Uuid,
    partner_department_id: Option<Uuid>,
    #[serde(rename = "type")]
    kind: PartnershipType,
    terms: TermsDto,
}

/// The caller's company's partnerships, newest first.
#[utoipa::path(get, path = "/v1/partnerships", tag = "partnerships", security(("bearer" = [])),
    responses((status = 200, body = Vec<PartnershipDto>), (status = 401, body = Problem)))]
async fn list_partnerships(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Vec<PartnershipDto>>> {
    let views = state.services.list_partnerships(&caller).await?;
    Ok(Json(
        views.into_iter().map(|v| dto(v, caller.member())).collect(),
    ))
}

/// Proposes a partnership with terms (admins and managers; agreement accepted).
#[utoipa::path(post, path = "/v1/partnerships", tag = "partnerships", security(("bearer" = [])),
    request_body = ProposalRequest,
    responses((status = 201, body = PartnershipDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "agreement_not_accepted or conflict", body = Problem), (status = 422, body = Problem)))]
async fn propose_partnership(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<ProposalRequest>,
) -> ApiResult<(StatusCode, Json<PartnershipDto>)> {
    let view = state
        .services
        .propose_partnership(
            &caller,
            ProposalInput {
                department_id: request.department_id.map(DepartmentId::from_uuid),
                partner_company_id: MemberId::from_uuid(request.partner_company_id),
                partner_department_id: request.partner_department_id.map(DepartmentId::from_uuid),
                kind: request.kind,
                data_categories: request.terms.data_categories,
                retention_days: request.terms.retention_days,
                onward_sharing_allowed: request.terms.onward_sharing_allowed,
                expires_at: request.terms.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(dto(view, caller.member()))))
}

/// One of the caller's company's partnerships.
#[utoipa::path(get, path = "/v1/partnerships/{id}", tag = "partnerships", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnershipDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_partnership(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<PartnershipId>,
) -> ApiResult<Json<PartnershipDto>> {
    let view = state.services.get_partnership(&caller, id).await?;
    Ok(Json(dto(view, caller.member())))
}

/// The invited company accepts a proposal: the partnership becomes `ACTIVE`.
#[utoipa::path(post, path = "/v1/partnerships/{id}/acceptance", tag = "partnerships", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnershipDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn accept_partnership(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<PartnershipId>,
) -> ApiResult<Json<PartnershipDto>> {
    let view = state
        .services
        .answer_partnership(&caller, id, Answer::Accept)
        .await?;
    Ok(Json(dto(view, caller.member())))
}

/// The invited company declines a proposal.
#[utoipa::path(post, path = "/v1/partnerships/{id}/decline", tag = "partnerships", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnershipDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn decline_partnership(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<PartnershipId>,
) -> ApiResult<Json<PartnershipDto>> {
    let view = state
        .services
        .answer_partnership(&caller, id, Answer::Decline)
        .await?;
    Ok(Json(dto(view, caller.member())))
}

/// Either side ends a proposed or active partnership.
#[utoipa::path(post, path = "/v1/partnerships/{id}/end", tag = "partnerships", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnershipDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end_partnership(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<PartnershipId>,
) -> ApiResult<Json<PartnershipDto>> {
    let view = state.services.end_partnership(&caller, id).await?;
    Ok(Json(dto(view, caller.member())))
}
