//! Process forms: what each company or department requires from a requester.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::form::{FieldDraft, FieldType, FormDraft, Priority, Section};
use casebridge_domain::{DepartmentId, MemberId};
use casebridge_service::store::ProcessForm;
use casebridge_service::FormScope;
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
        .routes(routes!(company_form, publish_company_form))
        .routes(routes!(department_form, publish_department_form))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ContactDto {
    name: String,
    email: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PriorityDto {
    priority: Priority,
    /// Hours the receiver commits to respond within (1 to 720).
    response_hours: i64,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FieldRequest {
    label: String,
    section: Section,
    #[serde(rename = "type")]
    field_type: FieldType,
    #[serde(default)]
    required: bool,
    /// The choices of a SELECT field.
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    display_order: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FormRequest {
    #[serde(default)]
    admin_note: String,
    #[serde(default)]
    escalation_instructions: String,
    #[serde(default)]
    escalation_contacts: Vec<ContactDto>,
    priorities: Vec<PriorityDto>,
    #[serde(default)]
    custom_fields: Vec<FieldRequest>,
}

impl From<FormRequest> for FormDraft {
    fn from(r: FormRequest) -> Self {
        FormDraft {
            admin_note: r.admin_note,
            escalation_instructions: r.escalation_instructions,
            escalation_contacts: r
                .escalation_contacts
                .into_iter()
                .map(|c| (c.name, c.email))
                .collect(),
            priorities: r
                .priorities
                .into_iter()
                .map(|p| (p.priority, p.response_hours, p.note))
                .collect(),
            custom_fields: r
                .custom_fields
                .into_iter()
                .map(|f| FieldDraft {
                    label: f.label,
                    section: f.section,
                    field_type: f.field_type,
                    required: f.required,
                    options: f.options,
                    display_order: f.display_order,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldDto {
    field_id: Uuid,
    label: String,
    section: Section,
    #[serde(rename = "type")]
    field_type: FieldType,
    required: bool,
    options: Vec<String>,
    display_order: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FormDto {
    /// Identifies this exact version; a request names it to prove it used the current form.
    document_id: Uuid,
    company_id: Uuid,
    department_id: Option<Uuid>,
    version: i64,
    published_at: DateTime<Utc>,
    admin_note: String,
    escalation_instructions: String,
    escalation_contacts: Vec<ContactDto>,
    priorities: Vec<PriorityDto>,
    custom_fields: Vec<FieldDto>,
}

impl From<ProcessForm> for FormDto {
    fn from(form: ProcessForm) -> Self {
        let d = form.definition;
        Self {
            document_id: form.document_id.as_uuid(),
            company_id: form.member_id.as_uuid(),
            department_id: form.department_id.map(|id| id.as_uuid()),
            version: form.version,
            published_at: form.published_at,
            admin_note: d.admin_note,
            escalation_instructions: d.escalation_instructions,
            escalation_contacts: d
                .escalation_contacts
                .into_iter()
                .map(|c| ContactDto {
                    name: c.name,
                    email: c.email.to_string(),
                })
                .collect(),
            priorities: d
                .priorities
                .into_iter()
                .map(|p| PriorityDto {
                    priority: p.priority,
                    response_hours: p.response_hours,
                    note: p.note,
                })
                .collect(),
            custom_fields: d
                .custom_fields
                .into_iter()
                .map(|f| FieldDto {
                    field_id: f.field_id.as_uuid(),
                    label: f.label,
                    section: f.section,
                    field_type: f.field_type,
                    required: f.required,
                    options: f.options,
                    display_order: f.display_order,
                })
                .collect(),
        }
    }
}

/// The current company-wide form: for its own company and its active partners.
#[utoipa::path(get, path = "/v1/forms/company/{companyId}", tag = "process forms", security(("bearer" = [])),
    params(("companyId" = Uuid, Path)),
    responses((status = 200, body = FormDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn company_form(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<MemberId>,
) -> ApiResult<Json<FormDto>> {
    let form = state
        .services
        .current_form(&caller, FormScope::Company(id))
        .await?;
    Ok(Json(form.into()))
}

/// Publishes a new version of the caller's company-wide form (admins and managers).
#[utoipa::path(put, path = "/v1/forms/company/{companyId}", tag = "process forms", security(("bearer" = [])),
    params(("companyId" = Uuid, Path)), request_body = FormRequest,
    responses((status = 201, body = FormDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn publish_company_form(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<MemberId>,
    ApiJson(request): ApiJson<FormRequest>,
) -> ApiResult<(StatusCode, Json<FormDto>)> {
    let form = state
        .services
        .publish_form(&caller, FormScope::Company(id), request.into())
        .await?;
    Ok((StatusCode::CREATED, Json(form.into())))
}

/// The current form of a department: for its own company and its active partners.
#[utoipa::path(get, path = "/v1/forms/department/{departmentId}", tag = "process forms", security(("bearer" = [])),
    params(("departmentId" = Uuid, Path)),
    responses((status = 200, body = FormDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn department_form(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<DepartmentId>,
) -> ApiResult<Json<FormDto>> {
    let form = state
        .services
        .current_form(&caller, FormScope::Department(id))
        .await?;
    Ok(Json(form.into()))
}

/// Publishes a new version of one of the caller's departments' forms.
#[utoipa::path(put, path = "/v1/forms/department/{departmentId}", tag = "process forms", security(("bearer" = [])),
    params(("departmentId" = Uuid, Path)), request_body = FormRequest,
    responses((status = 201, body = FormDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn publish_department_form(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<DepartmentId>,
    ApiJson(request): ApiJson<FormRequest>,
) -> ApiResult<(StatusCode, Json<FormDto>)> {
    let form = state
        .services
        .publish_form(&caller, FormScope::Department(id), request.into())
        .await?;
    Ok((StatusCode::CREATED, Json(form.into())))
}
