//! RFC 9457 problem details: the only shape an error takes on the wire.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use casebridge_domain::FieldError;
use casebridge_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer. `code` is stable and meant for machines; `title` and `detail` for people.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: &'static str,
    /// Per-field problems, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldProblem>)]
    pub errors: Vec<FieldError>,
}

/// One field that did not pass validation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's path in the request body, e.g. `customFields[2].label`.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid bearer token is required",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "some fields are not valid; see errors",
        );
        problem.errors = errors;
        problem
    }

    /// An unexpected failure: the cause goes to the log, the caller gets nothing of it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed unexpectedly");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthenticated = status == StatusCode::UNAUTHORIZED;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if unauthenticated {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"casebridge\""),
            );
        }
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Self {
        use ServiceError::*;
        let detail = error.to_string();
        match error {
            Unauthenticated => Problem::unauthenticated(),
            InvalidCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", detail)
            }
            AccountDisabled => Problem::new(StatusCode::FORBIDDEN, "account_disabled", detail),
            Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "forbidden", detail),
            NotFound => Problem::not_found(),
            Validation(errors) => Problem::validation(errors.0),
            AgreementNotAccepted(_) => {
                Problem::new(StatusCode::CONFLICT, "agreement_not_accepted", detail)
            }
            Conflict(_) => Problem::new(StatusCode::CONFLICT, "conflict", detail),
            InvalidTransition(_) => {
                Problem::new(StatusCode::CONFLICT, "invalid_transition", detail)
            }
            FormOutdated(_) => Problem::new(StatusCode::CONFLICT, "form_outdated", detail),
            NoActivePartnership(_) => {
                Problem::new(StatusCode::CONFLICT, "no_active_partnership", detail)
            }
            CustomerAuthorizationRequired(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "customer_authorization_required",
                detail,
            ),
            AuthorizationOutOfScope(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "authorization_out_of_scope",
                detail,
            ),
            RejectionNotAllowed(_) => {
                Problem::new(StatusCode::CONFLICT, "rejection_not_allowed", detail)
            }
            AuthorizationRevoked(_) => {
                Problem::new(StatusCode::CONFLICT, "authorization_revoked", detail)
            }
            Internal(cause) => Problem::internal(&cause),
        }
    }
}

/// What every handler returns on failure.
pub type ApiResult<T> = Result<T, Problem>;
