//! The `Idempotency-Key` header on POST requests: a retry with the same key and body gets
//! the first answer again, so a CRM that times out and retries never opens a second case.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use casebridge_service::IdempotencyStart;

use crate::problem::Problem;
use crate::{AppState, MAX_BODY_BYTES};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The largest answer kept for replay.
const MAX_STORED_RESPONSE: usize = 1024 * 1024;

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    // Anonymous or invalid callers get the handler's own 401.
    let Some(caller) = (match bearer {
        Some(token) => state.services.authenticate(&token).await.ok(),
        None => None,
    }) else {
        return next.run(request).await;
    };
    let Ok(key) = key.to_str().map(str::to_owned) else {
        return invalid_key();
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    };
    let start = state
        .services
        .start_idempotent(
            &caller,
            &key,
            parts.method.as_str(),
            parts.uri.path(),
            &bytes,
        )
        .await;
    match start {
        Err(error) => Problem::from(error).into_response(),
        Ok(IdempotencyStart::Mismatch) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )
        .into_response(),
        Ok(IdempotencyStart::InProgress) => Problem::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )
        .into_response(),
        Ok(IdempotencyStart::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyStart::Fresh) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, MAX_STORED_RESPONSE)
                .await
                .unwrap_or_default();
            let outcome = parts.status.is_success().then(|| {
                (
                    parts.status.as_u16(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )
            });
            let stored = state
                .services
                .finish_idempotent(
                    &caller,
                    &key,
                    outcome.as_ref().map(|(s, b)| (*s, b.as_str())),
                )
                .await;
            if let Err(error) = stored {
                tracing::error!(%error, "could not record an idempotent result");
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

fn invalid_key() -> Response {
    Problem::from(casebridge_service::ServiceError::Validation(
        casebridge_domain::ValidationErrors::single(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ),
    ))
    .into_response()
}
