//! The member's departments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::DepartmentId;
use casebridge_service::store::Department;
use casebridge_service::DepartmentInput;
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
        .routes(routes!(list_departments, create_department))
        .routes(routes!(update_department))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DepartmentDto {
    id: Uuid,
    company_id: Uuid,
    name: String,
    description: String,
    /// Words partners search for, e.g. `storage`.
    tags: Vec<String>,
    /// Who is emailed about a new request to this department; when empty, the company's
    /// admins and managers are.
    notification_emails: Vec<String>,
    created_at: DateTime<Utc>,
}

impl From<Department> for DepartmentDto {
    fn from(d: Department) -> Self {
        Self {
            id: d.id.as_uuid(),
            company_id: d.member_id.as_uuid(),
            name: d.name,
            description: d.description,
            tags: d.tags,
            notification_emails: d.notification_emails,
            created_at: d.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DepartmentRequest {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    /// Up to 20 addresses emailed about new requests to this department (default: none,
    /// so the company's admins and managers are).
    #[serde(default)]
    notification_emails: Vec<String>,
}

impl From<DepartmentRequest> for DepartmentInput {
    fn from(r: DepartmentRequest) -> Self {
        Self {
            name: r.name,
            description: r.description,
            tags: r.tags,
            notification_emails: r.notification_emails,
        }
    }
}

/// The departments of the caller's company.
#[utoipa::path(get, path = "/v1/departments", tag = "departments", security(("bearer" = [])),
    responses((status = 200, body = Vec<DepartmentDto>), (status = 401, body = Problem)))]
async fn list_departments(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Vec<DepartmentDto>>> {
    let departments = state.services.list_departments(&caller).await?;
    Ok(Json(
        departments.into_iter().map(DepartmentDto::from).collect(),
    ))
}

/// Creates a department (admins and managers).
#[utoipa::path(post, path = "/v1/departments", tag = "departments", security(("bearer" = [])),
    request_body = DepartmentRequest,
    responses((status = 201, body = DepartmentDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_department(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<DepartmentRequest>,
) -> ApiResult<(StatusCode, Json<DepartmentDto>)> {
    let department = state
        .services
        .create_department(&caller, request.into())
        .await?;
    Ok((StatusCode::CREATED, Json(department.into())))
}

/// Renames a department or changes its description, tags and notification contacts.
#[utoipa::path(put, path = "/v1/departments/{id}", tag = "departments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = DepartmentRequest,
    responses((status = 200, body = DepartmentDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_department(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<DepartmentId>,
    ApiJson(request): ApiJson<DepartmentRequest>,
) -> ApiResult<Json<DepartmentDto>> {
    let department = state
        .services
        .update_department(&caller, id, request.into())
        .await?;
    Ok(Json(department.into()))
}
