//! Minimization as the API shows it: "view as partner" previews and explicit disclosures.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::case::{CaseToken, ResponseType};
use casebridge_domain::sharing::Fate;
use casebridge_domain::DataCategory;
use casebridge_service::store::VaultRow;
use casebridge_service::{Preview, PreviewAction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cases::{case_dto, new_case_input, CaseDto, NewCaseRequest};
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview_new_case))
        .routes(routes!(preview_on_case))
        .routes(routes!(disclose))
        .routes(routes!(revoke_authorization))
        .routes(routes!(place_legal_hold, release_legal_hold))
        .routes(routes!(erase_subject))
}

/// One value the caller's company wrote into a case, as its vault records it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProtectedValueDto {
    /// What the partner sees in place of the value when it is not shared.
    pseudonym: String,
    /// The value as written. Only its writer ever receives this field.
    value: String,
    category: DataCategory,
    /// The detector that found it: `email`, `ipv4`, `password`, …
    kind: String,
    fate: Fate,
    release_reason: Option<String>,
    released_at: Option<DateTime<Utc>>,
}

impl From<VaultRow> for ProtectedValueDto {
    fn from(row: VaultRow) -> Self {
        Self {
            pseudonym: row.entry.pseudonym,
            value: row.entry.original,
            category: row.entry.category,
            kind: row.entry.kind,
            fate: row.entry.fate,
            release_reason: row.release_reason,
            released_at: row.released_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreviewFindingDto {
    /// The part of the payload it is in: `problemDescription`, `customFields.{fieldId}`,
    /// `summary`, `nextSteps`, …
    field: String,
    value: String,
    pseudonym: String,
    category: DataCategory,
    kind: String,
    /// `SHARED`: the partner sees the value; `PSEUDONYMIZED`: only the pseudonym;
    /// `RELEASED`: released earlier on this case, so the partner sees it.
    fate: Fate,
    /// Why the detector fired.
    reason: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreviewDto {
    /// Each partner-visible part exactly as the partner would see it.
    partner_view: BTreeMap<String, String>,
    findings: Vec<PreviewFindingDto>,
}

impl From<Preview> for PreviewDto {
    fn from(preview: Preview) -> Self {
        Self {
            partner_view: preview.parts.into_iter().collect(),
            findings: preview
                .findings
                .into_iter()
                .map(|f| PreviewFindingDto {
                    field: f.field,
                    value: f.original,
                    pseudonym: f.pseudonym,
                    category: f.category,
                    kind: f.kind,
                    fate: f.fate,
                    reason: f.reason,
                })
                .collect(),
        }
    }
}

/// "View as partner" for a request not created yet: the body is the create body. Checks
/// and minimizes exactly as creation would; stores nothing.
#[utoipa::path(post, path = "/v1/previews", tag = "data protection",
    security(("bearer" = [])), request_body = NewCaseRequest,
    responses((status = 200, body = PreviewDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "form_outdated, no_active_partnership, agreement_not_accepted", body = Problem),
        (status = 422, description = "validation_failed, customer_authorization_required, authorization_out_of_scope", body = Problem)))]
async fn preview_new_case(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewCaseRequest>,
) -> ApiResult<Json<PreviewDto>> {
    let preview = state
        .services
        .preview_case(&caller, new_case_input(request))
        .await?;
    Ok(Json(preview.into()))
}

/// What to preview on an existing case: a note (the default) or a formal step, with the
/// fields of that action's own body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PreviewRequest {
    /// `NOTE` (default), or the formal step: `APPROVAL`, `APPROVAL_UPDATE`, `REJECTION`,
    /// `INFORMATION_REQUEST`, `INFORMATION_RESPONSE`, `CLOSURE`.
    action: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    case_number: Option<String>,
    next_steps: Option<String>,
    reason: Option<String>,
    requested_information: Option<String>,
    /// Accepted so a step's body can be sent as is; the engineer's work contact is not
    /// minimized, so these are not read.
    #[allow(dead_code)]
    engineer_name: Option<String>,
    #[allow(dead_code)]
    engineer_email: Option<String>,
    #[allow(dead_code)]
    engineer_phone: Option<String>,
}

fn preview_action(r: PreviewRequest) -> Result<PreviewAction, Problem> {
    let action = r.action.as_deref().unwrap_or("NOTE");
    if action == "NOTE" {
        return Ok(PreviewAction::Note {
            summary: r.summary.unwrap_or_default(),
            description: r.description.unwrap_or_default(),
        });
    }
    let step: ResponseType = serde_json::from_value(serde_json::Value::from(action))
        .ok()
        .filter(|s| *s != ResponseType::System)
        .ok_or_else(|| {
            super::cases::invalid(
                "action",
                "must be NOTE, APPROVAL, APPROVAL_UPDATE, REJECTION, INFORMATION_REQUEST, INFORMATION_RESPONSE or CLOSURE",
            )
        })?;
    let text = match step {
        ResponseType::Approval | ResponseType::ApprovalUpdate => r.next_steps,
        ResponseType::InformationRequest | ResponseType::InformationResponse => {
            r.requested_information
        }
        _ => r.reason,
    };
    Ok(PreviewAction::Step {
        step,
        case_number: r.case_number,
        text: text.unwrap_or_default(),
    })
}

/// "View as partner" for a note or a formal step on an existing case: exactly what the
/// partner would see and what happens to each finding. Stores nothing.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/preview", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = PreviewRequest,
    responses((status = 200, body = PreviewDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn preview_on_case(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewDto>> {
    let action = preview_action(request)?;
    let preview = state
        .services
        .preview_on_case(&caller, &token, action)
        .await?;
    Ok(Json(preview.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DisclosureRequest {
    /// The pseudonym of one of the caller's company's values on this case.
    pseudonym: String,
    /// Why the partner needs the real value; kept with the release and audited.
    reason: String,
}

/// Releases one pseudonymized value to the partner: from now on the partner's view shows
/// it wherever it appears on this case. Refused outside the data categories both the
/// partnership and the customer allow. Recorded in the audit trail.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/disclosures", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = DisclosureRequest,
    responses((status = 201, body = ProtectedValueDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "no such case, or no such pseudonym among the caller's values", body = Problem),
        (status = 409, description = "already visible to the partner; or a sharing rule no longer holds", body = Problem),
        (status = 422, description = "validation_failed, authorization_out_of_scope", body = Problem)))]
async fn disclose(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<DisclosureRequest>,
) -> ApiResult<(StatusCode, Json<ProtectedValueDto>)> {
    let row = state
        .services
        .release_value(&caller, &token, &request.pseudonym, &request.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RevocationRequest {
    /// For the submitter's own record; never shown to the partner.
    #[serde(default)]
    reason: String,
}

/// The submitter withdraws the customer's authorization (on the customer's word). Every
/// further share is refused with `authorization_revoked`; the partner's view keeps only
/// pseudonyms; both sides get a system note. The case can still be read and closed.
#[utoipa::path(post, path = "/v1/collaboration-requests/{token}/authorization/revocation", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)), request_body = RevocationRequest,
    responses((status = 200, body = CaseDto), (status = 401, body = Problem),
        (status = 403, description = "the caller's company is the receiver, or the role may not work cases", body = Problem),
        (status = 404, body = Problem), (status = 409, description = "already revoked", body = Problem),
        (status = 422, body = Problem)))]
async fn revoke_authorization(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
    ApiJson(request): ApiJson<RevocationRequest>,
) -> ApiResult<Json<CaseDto>> {
    let view = state
        .services
        .revoke_authorization(&caller, &token, &request.reason)
        .await?;
    Ok(Json(case_dto(view)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegalHoldDto {
    placed_at: DateTime<Utc>,
}

/// Places the caller's company's legal hold on a case (admins): its content is kept past
/// the partnership's retention period until the hold is released. Idempotent.
#[utoipa::path(put, path = "/v1/collaboration-requests/{token}/legal-hold", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)),
    responses((status = 200, body = LegalHoldDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "the content was already erased", body = Problem)))]
async fn place_legal_hold(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
) -> ApiResult<Json<LegalHoldDto>> {
    let placed_at = state
        .services
        .set_legal_hold(&caller, &token, true)
        .await?
        .ok_or_else(|| Problem::internal(&"a placed legal hold was not found"))?;
    Ok(Json(LegalHoldDto { placed_at }))
}

/// Releases the caller's company's legal hold (admins); the retention period applies
/// again. Idempotent.
#[utoipa::path(delete, path = "/v1/collaboration-requests/{token}/legal-hold", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn release_legal_hold(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
) -> ApiResult<StatusCode> {
    state
        .services
        .set_legal_hold(&caller, &token, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ErasureRequest {
    /// The person's email address, as the customer authorization or an email field named it.
    subject_email: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErasureDto {
    /// Cases whose content was erased (data key destroyed); their metadata remains.
    erased: Vec<String>,
    /// Cases naming the person that a legal hold keeps; erase them after releasing it.
    held_by_legal_hold: Vec<String>,
}

/// Erases a data subject (admins): every case the caller's company submitted that names
/// the person, found through a keyed blind index, never by decrypting. Audited per case as
/// `case.subject_erased`, without the address.
#[utoipa::path(post, path = "/v1/erasures", tag = "data protection",
    security(("bearer" = [])), request_body = ErasureRequest,
    responses((status = 200, body = ErasureDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn erase_subject(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<ErasureRequest>,
) -> ApiResult<Json<ErasureDto>> {
    let erasure = state
        .services
        .erase_subject(&caller, &request.subject_email)
        .await?;
    Ok(Json(ErasureDto {
        erased: erasure.erased.iter().map(ToString::to_string).collect(),
        held_by_legal_hold: erasure.held.iter().map(ToString::to_string).collect(),
    }))
}
