//! The framework agreement.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::AgreementId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::extract::{ApiPath, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;
use chrono::{DateTime, Utc};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current_agreement))
        .routes(routes!(accept_agreement))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgreementDto {
    id: Uuid,
    version: i64,
    title: String,
    text: String,
    /// SHA-256 of `text`, as recorded with each acceptance.
    sha256: String,
    published_at: DateTime<Utc>,
    accepted_by_my_company: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AcceptanceDto {
    agreement_id: Uuid,
    company_id: Uuid,
    accepted_by: Uuid,
    accepted_at: DateTime<Utc>,
    text_sha256: String,
}

/// The current framework agreement and whether the caller's company accepted it.
#[utoipa::path(get, path = "/v1/agreements/current", tag = "agreements", security(("bearer" = [])),
    responses((status = 200, body = AgreementDto), (status = 401, body = Problem),
        (status = 404, description = "no agreement published yet", body = Problem)))]
async fn current_agreement(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<AgreementDto>> {
    let (agreement, accepted) = state.services.current_agreement(&caller).await?;
    Ok(Json(AgreementDto {
        id: agreement.id.as_uuid(),
        version: agreement.version,
        title: agreement.title,
        text: agreement.text,
        sha256: agreement.sha256,
        published_at: agreement.published_at,
        accepted_by_my_company: accepted,
    }))
}

/// Accepts the current agreement for the caller's company (admins, in person).
#[utoipa::path(post, path = "/v1/agreements/{id}/acceptance", tag = "agreements", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 201, body = AcceptanceDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "already accepted, or not the current version", body = Problem)))]
async fn accept_agreement(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<AgreementId>,
) -> ApiResult<(StatusCode, Json<AcceptanceDto>)> {
    let acceptance = state.services.accept_agreement(&caller, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(AcceptanceDto {
            agreement_id: acceptance.agreement_id.as_uuid(),
            company_id: acceptance.member_id.as_uuid(),
            accepted_by: acceptance.accepted_by.as_uuid(),
            accepted_at: acceptance.accepted_at,
            text_sha256: acceptance.text_sha256,
        }),
    ))
}
