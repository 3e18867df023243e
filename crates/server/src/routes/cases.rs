//! Collaboration requests: the case, its formal steps, notes, and partner search.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::authorization::{AuthorizationDraft, AuthorizationMethod, LinkState};
use casebridge_domain::case::{CaseSide, CaseStatus, CaseToken, Contact, ResponseType, Visibility};
use casebridge_domain::form::{FieldType, Priority, Section};
use casebridge_domain::partnership::PartnershipStatus;
use casebridge_domain::{DataCategory, DocumentId};
use casebridge_service::store::{Direction, NoteRecord, ResponseRecord, StatusFilter};
use casebridge_service::{
    CaseQuery, CaseSummary, CaseView, ContactInput, NewCaseInput, NoteInput, StepInput,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::sharing::ProtectedValueDto;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_partners))
        .routes(routes!(create_case))
        .routes(routes!(get_case, update_case))
        .routes(routes!(list_cases))
        .routes(routes!(approve, update_approval))
        .routes(routes!(reject))
        .routes(routes!(request_information))
        .routes(routes!(respond_information))
        .routes(routes!(close))
        .routes(routes!(list_notes, add_note))
}

// ---- wire types -------------------------------------------------------------------------

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ContactDto {
    name: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
}

impl From<ContactDto> for ContactInput {
    fn from(c: ContactDto) -> Self {
        Self {
            name: c.name,
            email: c.email,
            phone: c.phone,
        }
    }
}

impl From<Contact> for ContactDto {
    fn from(c: Contact) -> Self {
        Self {
            name: c.name,
            email: c.email.to_string(),
            phone: c.phone,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AuthorizedByDto {
    name: String,
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AuthorizationRequest {
    method: AuthorizationMethod,
    authorized_by: AuthorizedByDto,
    /// Required, except with `CUSTOMER_LINK`: there the customer's decision sets it.
    authorized_at: Option<DateTime<Utc>>,
    purpose: String,
    data_categories: Vec<DataCategory>,
    expires_at: Option<DateTime<Utc>>,
    /// A reference to the customer's confirmation (ticket, email id, recording id).
    evidence: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FieldValueDto {
    field_id: String,
    value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewCaseRequest {
    /// The receiver's current process form (from partner search or the form itself).
    document_id: Uuid,
    internal_case_number: String,
    problem_summary: String,
    problem_description: String,
    priority: Priority,
    #[serde(default)]
    custom_fields: Vec<FieldValueDto>,
    submitter_contact_details: ContactDto,
    receiver_internal_case_number: Option<String>,
    #[serde(default)]
    test_submission: bool,
    customer_authorization: Option<AuthorizationRequest>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompanySide {
    company_id: Uuid,
    company_name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldDto {
    field_id: Uuid,
    label: String,
    section: Section,
    #[serde(rename = "type")]
    field_type: FieldType,
    value: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthorizationDto {
    method: AuthorizationMethod,
    /// When the customer authorized; absent while a customer link awaits the decision.
    authorized_at: Option<DateTime<Utc>>,
    /// For `CUSTOMER_LINK`: `PENDING`, `AUTHORIZED` or `DECLINED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    link_state: Option<LinkState>,
    purpose: String,
    data_categories: Vec<DataCategory>,
    expires_at: Option<DateTime<Utc>>,
    /// Set once the authorization is revoked: nothing more crosses, and each side sees only
    /// pseudonyms of the other's values.
    revoked_at: Option<DateTime<Utc>>,
    /// Shown to the submitter only: the customer's contact is the submitter's data.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorized_by: Option<ContactDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResponseDto {
    id: String,
    #[serde(rename = "type")]
    response_type: ResponseType,
    /// `SUBMITTER`, `RECEIVER`, or absent for the platform.
    side: Option<&'static str>,
    engineer: Option<ContactDto>,
    case_number: Option<String>,
    text: String,
    created_at: DateTime<Utc>,
}

impl From<ResponseRecord> for ResponseDto {
    fn from(r: ResponseRecord) -> Self {
        Self {
            id: r.id,
            response_type: r.response_type,
            side: r.side.map(CaseSide::as_str),
            engineer: r.engineer.map(ContactDto::from),
            case_number: r.case_number,
            text: r.body,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NoteDto {
    id: String,
    /// The author's company; absent for notes written by the platform.
    company_id: Option<Uuid>,
    author_name: String,
    visibility: Visibility,
    summary: String,
    description: String,
    created_at: DateTime<Utc>,
}

impl From<NoteRecord> for NoteDto {
    fn from(n: NoteRecord) -> Self {
        Self {
            id: n.id,
            company_id: n.author_member.map(|m| m.as_uuid()),
            author_name: n.author_name,
            visibility: n.visibility,
            summary: n.summary,
            description: n.description,
            created_at: n.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaseDto {
    token: String,
    /// `OUTBOUND` when the caller's company submitted the case, `INBOUND` when it received it.
    direction: &'static str,
    status: CaseStatus,
    /// Whether the next step is the caller's company's.
    pending_action: bool,
    priority: Priority,
    priority_note: String,
    respond_by: DateTime<Utc>,
    responded: bool,
    overdue: bool,
    test_case: bool,
    submitter: CompanySide,
    receiver: CompanySide,
    receiver_department_id: Option<Uuid>,
    internal_case_number: String,
    receiver_internal_case_number: Option<String>,
    problem_summary: String,
    submitter_contact_details: ContactDto,
    receiver_engineer: Option<ContactDto>,
    document_id: Uuid,
    partnership_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    /// When the retention period ended and the case's content was erased (its data key
    /// destroyed): texts read `[erased]` from then on; this metadata remains.
    content_erased_at: Option<DateTime<Utc>>,
    /// Only in the answer to a creation with a `CUSTOMER_LINK` authorization: the page to
    /// send the customer to. Single-purpose, unguessable, expiring; not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_url: Option<String>,
    /// Present on a single case, absent in lists.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<CaseDetails>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaseDetails {
    problem_description: String,
    custom_fields: Vec<FieldDto>,
    customer_authorization: AuthorizationDto,
    case_responses: Vec<ResponseDto>,
    case_notes: Vec<NoteDto>,
    /// When the caller's company placed a legal hold on the case (its content then outlives
    /// the retention period), if it did.
    legal_hold_placed_at: Option<DateTime<Utc>>,
    /// The values the caller's company wrote into this case's partner-visible text, with
    /// the pseudonym the partner sees and what happens to each. The texts above show the
    /// caller its own values as written; the partner sees `pseudonym` where `fate` is
    /// `PSEUDONYMIZED`.
    protected_values: Vec<ProtectedValueDto>,
}

fn direction(side: CaseSide) -> &'static str {
    match side {
        CaseSide::Submitter => "OUTBOUND",
        CaseSide::Receiver => "INBOUND",
    }
}

fn summary_dto(s: CaseSummary) -> CaseDto {
    let r = s.record;
    CaseDto {
        token: r.token.to_string(),
        direction: direction(s.side),
        status: r.status,
        pending_action: s.pending_action,
        priority: r.priority,
        priority_note: r.priority_note,
        respond_by: r.respond_by,
        responded: r.responded,
        overdue: r.overdue,
        test_case: r.test_case,
        submitter: CompanySide {
            company_id: r.submitter.as_uuid(),
            company_name: s.submitter_name,
        },
        receiver: CompanySide {
            company_id: r.receiver.as_uuid(),
            company_name: s.receiver_name,
        },
        receiver_department_id: r.receiver_department.map(|d| d.as_uuid()),
        internal_case_number: r.internal_case_number,
        receiver_internal_case_number: r.receiver_case_number,
        problem_summary: r.problem_summary,
        submitter_contact_details: r.submitter_contact.into(),
        receiver_engineer: r.receiver_engineer.map(ContactDto::from),
        document_id: r.document_id.as_uuid(),
        partnership_id: r.partnership_id.as_uuid(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
        content_erased_at: r.content_erased_at,
        authorization_url: None,
        details: None,
    }
}

pub(crate) fn case_dto(view: CaseView) -> CaseDto {
    let shows_authorizer = view.shows_authorizer();
    let authorization_url = view.authorization_url.clone();
    let a = view.authorization;
    let details = CaseDetails {
        problem_description: view.record.problem_description.clone(),
        custom_fields: view
            .fields
            .into_iter()
            .map(|(field, value)| FieldDto {
                field_id: field.field_id.as_uuid(),
                label: field.label,
                section: field.section,
                field_type: field.field_type,
                value,
            })
            .collect(),
        customer_authorization: AuthorizationDto {
            method: a.method,
            authorized_at: (!a.awaits_customer()).then_some(a.authorized_at),
            link_state: a.link,
            purpose: a.purpose,
            data_categories: a.data_categories.into_iter().collect(),
            expires_at: a.expires_at,
            revoked_at: a.revoked_at,
            authorized_by: shows_authorizer.then(|| ContactDto {
                name: a.authorized_by_name,
                email: a.authorized_by_email.to_string(),
                phone: None,
            }),
            evidence: if shows_authorizer { a.evidence } else { None },
        },
        case_responses: view.responses.into_iter().map(ResponseDto::from).collect(),
        case_notes: view.notes.into_iter().map(NoteDto::from).collect(),
        legal_hold_placed_at: view.legal_hold,
        protected_values: view
            .vault
            .into_iter()
            .map(ProtectedValueDto::from)
            .collect(),
    };
    let mut dto = summary_dto(CaseSummary {
        record: view.record,
        side: view.side,
        submitter_name: view.submitter_name,
        receiver_name: view.receiver_name,
        pending_action: view.pending_action,
    });
    dto.details = Some(details);
    dto.authorization_url = authorization_url;
    dto
}

// ---- partner search -----------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnerDto {
    company_id: Uuid,
    company_name: String,
    department_id: Option<Uuid>,
    department_name: Option<String>,
    /// The current process form to send requests against.
    document_id: Option<Uuid>,
    /// `ACTIVE`, `PROPOSED` or `NONE`.
    relationship: &'static str,
}

/// Companies and departments whose name or tags contain the term (case-insensitive).
#[utoipa::path(get, path = "/v1/partners/{searchTerm}", tag = "collaboration requests",
    security(("bearer" = [])), params(("searchTerm" = String, Path)),
    responses((status = 200, body = Vec<PartnerDto>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn search_partners(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(term): ApiPath<String>,
) -> ApiResult<Json<Vec<PartnerDto>>> {
    let matches = state.services.search_partners(&caller, &term).await?;
    Ok(Json(
        matches
            .into_iter()
            .map(|m| PartnerDto {
                company_id: m.company_id.as_uuid(),
                company_name: m.company_name,
                department_id: m.department.as_ref().map(|(id, _)| id.as_uuid()),
                department_name: m.department.map(|(_, name)| name),
                document_id: m.document_id.map(|d| d.as_uuid()),
                relationship: match m.relationship {
                    PartnershipStatus::Active => "ACTIVE",
                    PartnershipStatus::Proposed => "PROPOSED",
                    _ => "NONE",
                },
            })
            .collect(),
    ))
}

// ---- the case -----------------------------------------------------------------------------

/// Opens a collaboration request (engineers, managers, admins, API clients). Send an
/// `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/v1/collaboration-requests", tag = "collaboration requests",
    security(("bearer" = [])), request_body = NewCaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry return the first result")),
    responses((status = 201, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "form_outdated, no_active_partnership, agreement_not_accepted", body = Problem),
        (status = 422, description = "validation_failed, customer_authorization_required, authorization_out_of_scope", body = Problem)))]
async fn create_case(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewCaseRequest>,
) -> ApiResult<(StatusCode, Json<CaseDto>)> {
    let view = state
        .services
        .create_case(&caller, new_case_input(request))
        .await?;
    Ok((StatusCode::CREATED, Json(case_dto(view))))
}

pub(crate) fn new_case_input(request: NewCaseRequest) -> NewCaseInput {
    let authorization = request.customer_authorization.map(|a| AuthorizationDraft {
        method: a.method,
        authorized_by_name: a.authorized_by.name,
        authorized_by_email: a.authorized_by.email,
        authorized_at: a.authorized_at,
        purpose: a.purpose,
        data_categories: a.data_categories,
        expires_at: a.expires_at,
        evidence: a.evidence,
    });
    NewCaseInput {
        document_id: DocumentId::from_uuid(request.document_id),
        internal_case_number: request.internal_case_number,
        problem_summary: request.problem_summary,
        problem_description: request.problem_description,
        priority: request.priority,
        custom_fields: request
            .custom_fields
            .into_iter()
            .map(|f| (f.field_id, f.value))
            .collect(),
        submitter_contact: request.submitter_contact_details.into(),
        receiver_internal_case_number: request.receiver_internal_case_number,
        test_submission: request.test_submission,
        customer_authorization: authorization,
    }
}

/// One case, as the caller's side sees it.
#[utoipa::path(get, path = "/v1/collaboration-requests/{token}", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)),
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
) -> ApiResult<Json<CaseDto>> {
    Ok(Json(case_dto(
        state.services.get_case(&caller, &token).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CaseUpdateRequest {
    internal_case_number: Option<String>,
    submitter_contact_details: Option<ContactDto>,
}

/// The submitter updates its case number or contact details.
#[utoipa::path(patch, path = "/v1/collaboration-requests/{token}", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = CaseUpdateRequest,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_case(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<CaseUpdateRequest>,
) -> ApiResult<Json<CaseDto>> {
    let view = state
        .services
        .update_case(
            &caller,
            &token,
            request.internal_case_number,
            request.submitter_contact_details.map(ContactInput::from),
        )
        .await?;
    Ok(Json(case_dto(view)))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CaseListParams {
    /// `INBOUND`, `OUTBOUND` or `ALL` (default).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    direction: Option<String>,
    /// A status, `PENDINGACTION` (waiting on the caller's company) or `ALL` (default).
    status: Option<String>,
    /// Matches either side's case number.
    internal_case_number: Option<String>,
    updated_after: Option<DateTime<Utc>>,
    page: Option<i64>,
    size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CasePage {
    content: Vec<CaseDto>,
    total_elements: i64,
    total_pages: i64,
    page: i64,
    size: i64,
}

/// The caller's company's cases, newest first.
#[utoipa::path(get, path = "/v2/collaboration-requests", tag = "collaboration requests",
    security(("bearer" = [])), params(CaseListParams),
    responses((status = 200, body = CasePage), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list_cases(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<CaseListParams>,
) -> ApiResult<Json<CasePage>> {
    let direction = match params.direction.as_deref() {
        None | Some("ALL") => Direction::All,
        Some("INBOUND") => Direction::Inbound,
        Some("OUTBOUND") => Direction::Outbound,
        Some(_) => return Err(invalid("type", "must be INBOUND, OUTBOUND or ALL")),
    };
    let status = match params.status.as_deref() {
        None | Some("ALL") => StatusFilter::All,
        Some("PENDINGACTION") => StatusFilter::PendingAction,
        Some(other) => match CaseStatus::parse(other) {
            Some(status) => StatusFilter::Is(status),
            None => {
                return Err(invalid(
                    "status",
                    "must be a case status, PENDINGACTION or ALL",
                ))
            }
        },
    };
    let page = state
        .services
        .list_cases(
            &caller,
            CaseQuery {
                direction,
                status,
                internal_case_number: params.internal_case_number,
                updated_after: params.updated_after,
                page: params.page,
                size: params.size,
            },
        )
        .await?;
    Ok(Json(CasePage {
        total_pages: page.total_pages(),
        total_elements: page.total,
        page: page.page,
        size: page.size,
        content: page.items.into_iter().map(summary_dto).collect(),
    }))
}

pub(crate) fn invalid(field: &str, message: &str) -> Problem {
    Problem::from(casebridge_service::ServiceError::Validation(
        casebridge_domain::ValidationErrors::single(field, message),
    ))
}

// ---- formal steps -------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ApprovalRequest {
    /// The receiver's own case number.
    case_number: String,
    engineer_name: String,
    engineer_email: String,
    engineer_phone: Option<String>,
    #[serde(default)]
    next_steps: String,
}

impl From<ApprovalRequest> for StepInput {
    fn from(r: ApprovalRequest) -> Self {
        StepInput {
            engineer: Some(ContactInput {
                name: r.engineer_name,
                email: r.engineer_email,
                phone: r.engineer_phone,
            }),
            case_number: Some(r.case_number),
            text: r.next_steps,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RejectionRequest {
    engineer_name: String,
    engineer_email: String,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InformationRequestBody {
    engineer_name: String,
    engineer_email: String,
    requested_information: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InformationResponseBody {
    requested_information: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ClosureRequest {
    #[serde(default)]
    reason: String,
}

fn engineer(name: String, email: String) -> Option<ContactInput> {
    Some(ContactInput {
        name,
        email,
        phone: None,
    })
}

async fn step(
    state: &AppState,
    caller: &casebridge_service::Caller,
    token: &CaseToken,
    step: ResponseType,
    input: StepInput,
) -> ApiResult<Json<CaseDto>> {
    Ok(Json(case_dto(
        state.services.respond(caller, token, step, input).await?,
    )))
}

/// The receiver accepts the request: `OPEN`/`INFORMATION` → `ACCEPTED`.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/approval", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = ApprovalRequest,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> ApiResult<Json<CaseDto>> {
    step(
        &state,
        &caller,
        &token,
        ResponseType::Approval,
        request.into(),
    )
    .await
}

/// The receiver changes its engineer or case number while `ACCEPTED`.
#[utoipa::path(patch, path = "/v1/collaboration-requests/{token}/approval", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = ApprovalRequest,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_approval(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> ApiResult<Json<CaseDto>> {
    step(
        &state,
        &caller,
        &token,
        ResponseType::ApprovalUpdate,
        request.into(),
    )
    .await
}

/// The receiver rejects the request with a reason: terminal.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/rejection", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = RejectionRequest,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(r): ApiJson<RejectionRequest>,
) -> ApiResult<Json<CaseDto>> {
    let input = StepInput {
        engineer: engineer(r.engineer_name, r.engineer_email),
        case_number: None,
        text: r.reason,
    };
    step(&state, &caller, &token, ResponseType::Rejection, input).await
}

/// The receiver asks the submitter for more information: → `INFORMATION`.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/information-request", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = InformationRequestBody,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn request_information(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(r): ApiJson<InformationRequestBody>,
) -> ApiResult<Json<CaseDto>> {
    let input = StepInput {
        engineer: engineer(r.engineer_name, r.engineer_email),
        case_number: None,
        text: r.requested_information,
    };
    step(
        &state,
        &caller,
        &token,
        ResponseType::InformationRequest,
        input,
    )
    .await
}

/// The submitter answers an information request; the receiver then approves or rejects.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/information-response", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = InformationResponseBody,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn respond_information(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(r): ApiJson<InformationResponseBody>,
) -> ApiResult<Json<CaseDto>> {
    let input = StepInput {
        engineer: None,
        case_number: None,
        text: r.requested_information,
    };
    step(
        &state,
        &caller,
        &token,
        ResponseType::InformationResponse,
        input,
    )
    .await
}

/// The submitter closes the case: `OPEN`/`ACCEPTED` → `CLOSED`.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/closure", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body(content = Option<ClosureRequest>),
    responses((status = 200, body = CaseDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn close(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    body: axum::body::Bytes,
) -> ApiResult<Json<CaseDto>> {
    // The body is optional: an empty one closes without a reason.
    let reason = if body.is_empty() {
        String::new()
    } else {
        serde_json::from_slice::<ClosureRequest>(&body)
            .map_err(|e| {
                invalid(
                    "reason",
                    &format!("the body does not have the expected shape: {e}"),
                )
            })?
            .reason
    };
    let input = StepInput {
        engineer: None,
        case_number: None,
        text: reason,
    };
    step(&state, &caller, &token, ResponseType::Closure, input).await
}

// ---- notes --------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NoteRequest {
    /// Up to 500 characters, one line.
    summary: String,
    /// Up to 20000 characters of plain text.
    #[serde(default)]
    description: String,
    /// `SHARED` (default) or `INTERNAL` (never visible to the partner).
    visibility: Option<Visibility>,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoteParams {
    updated_after: Option<DateTime<Utc>>,
}

/// Adds a note (append-only) while the case is `OPEN`, `INFORMATION` or `ACCEPTED`.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/notes", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = NoteRequest,
    responses((status = 201, body = NoteDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_note(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(r): ApiJson<NoteRequest>,
) -> ApiResult<(StatusCode, Json<NoteDto>)> {
    let note = state
        .services
        .add_note(
            &caller,
            &token,
            NoteInput {
                summary: r.summary,
                description: r.description,
                visibility: r.visibility.unwrap_or(Visibility::Shared),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(note.into())))
}

/// The notes the caller's company may see, oldest first.
#[utoipa::path(get, path = "/v1/collaboration-requests/{token}/notes", tag = "collaboration requests",
    security(("bearer" = [])), params(("token" = String, Path), NoteParams),
    responses((status = 200, body = Vec<NoteDto>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_notes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiQuery(params): ApiQuery<NoteParams>,
) -> ApiResult<Json<Vec<NoteDto>>> {
    let notes = state
        .services
        .list_notes(&caller, &token, params.updated_after)
        .await?;
    Ok(Json(notes.into_iter().map(NoteDto::from).collect()))
}
