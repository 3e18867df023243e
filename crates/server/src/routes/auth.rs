//! Sign-in, sign-out, the caller's identity, and the OAuth2 token endpoint.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64_decode::decode_basic;
use casebridge_service::ClientCredentialsError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::UserDto;
use crate::extract::{ApiJson, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(token))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// The user's email address.
    username: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: i64,
}

/// Exchanges email and password for a bearer token.
#[utoipa::path(post, path = "/v1/login", tag = "authentication", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, description = "wrong username or password", body = Problem),
        (status = 403, description = "account disabled", body = Problem),
        (status = 422, body = Problem)))]
async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if request.username.len() > 254 || request.password.expose_secret().len() > 4096 {
        return Err(casebridge_service::ServiceError::InvalidCredentials.into());
    }
    let issued = state
        .services
        .login(&request.username, request.password)
        .await?;
    Ok(Json(TokenResponse {
        access_token: issued.access_token.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in.num_seconds(),
    }))
}

/// Revokes the bearer token used for this request.
#[utoipa::path(post, path = "/v1/logout", tag = "authentication", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<StatusCode> {
    state.services.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompanyDto {
    id: uuid::Uuid,
    name: String,
    domains: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MeResponse {
    company: CompanyDto,
    /// The signed-in person; null for an API client.
    user: Option<UserDto>,
    role: casebridge_domain::Role,
}

/// Who the caller is and for which company it acts.
#[utoipa::path(get, path = "/v1/me", tag = "authentication", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
async fn me(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<MeResponse>> {
    let (member, user) = state.services.me(&caller).await?;
    Ok(Json(MeResponse {
        company: CompanyDto {
            id: member.id.as_uuid(),
            name: member.name,
            domains: member.domains,
        },
        user: user.map(UserDto::from),
        role: caller.role(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    client_secret: Option<SecretString>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OAuthToken {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OAuthError {
    error: &'static str,
    error_description: &'static str,
}

/// OAuth2 client credentials grant (RFC 6749 §4.4). Client authentication by form fields
/// or HTTP Basic. Errors follow RFC 6749 §5.2, not problem+json, as OAuth clients expect.
#[utoipa::path(post, path = "/oauth/token", tag = "authentication",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = OAuthToken), (status = 400, body = OAuthError),
        (status = 401, body = OAuthError)))]
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send a form-encoded body",
        );
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            )
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(decode_basic);
    let (client_id, client_secret) = match (basic, form.client_id, form.client_secret) {
        (Some((id, secret)), None, None) => (id, SecretString::from(secret)),
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "authenticate the client with client_id and client_secret, or HTTP Basic, once",
            )
        }
    };
    if client_id.len() > 128 || client_secret.expose_secret().len() > 256 {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    match state
        .services
        .client_credentials(&client_id, client_secret)
        .await
    {
        Ok(issued) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(OAuthToken {
                access_token: issued.access_token.expose_secret().to_owned(),
                token_type: "Bearer",
                expires_in: issued.expires_in.num_seconds(),
            }),
        )
            .into_response(),
        Err(ClientCredentialsError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ),
        Err(ClientCredentialsError::ServerError) => {
            tracing::error!("issuing a client token failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            )
        }
    }
}

fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(OAuthError {
            error,
            error_description: description,
        }),
    )
        .into_response()
}

mod base64_decode {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// `(client_id, client_secret)` from an HTTP Basic authorization header.
    pub fn decode_basic(value: &str) -> Option<(String, String)> {
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }
}
