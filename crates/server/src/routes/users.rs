//! The member's users and API clients (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_domain::{ApiClientId, Role, UserId};
use casebridge_service::store::{ApiClient, User};
use casebridge_service::{NewApiClientInput, NewUserInput};
use secrecy::{ExposeSecret, SecretString};
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
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user))
        .routes(routes!(disable_user))
        .routes(routes!(change_role))
        .routes(routes!(list_api_clients, create_api_client))
        .routes(routes!(revoke_api_client))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserDto {
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    disabled: bool,
    created_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            role: user.role,
            disabled: user.disabled_at.is_some(),
            created_at: user.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewUserRequest {
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    /// The initial password: 12 to 1024 characters, not a common one.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// The users of the caller's company.
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<UserDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Vec<UserDto>>> {
    let users = state.services.list_users(&caller).await?;
    Ok(Json(users.into_iter().map(UserDto::from).collect()))
}

/// Creates a user of the caller's company; the email must be on one of its domains.
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUserRequest,
    responses((status = 201, body = UserDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let user = state
        .services
        .create_user(
            &caller,
            NewUserInput {
                email: request.email,
                first_name: request.first_name,
                last_name: request.last_name,
                role: request.role,
                password: request.password,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user of the caller's company.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(state.services.get_user(&caller, id).await?.into()))
}

/// Disables a user: they cannot sign in and their tokens stop working at once.
#[utoipa::path(post, path = "/v1/users/{id}/disable", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn disable_user(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(state.services.disable_user(&caller, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RoleRequest {
    role: Role,
}

/// Gives a user another role; it applies to their sessions and tokens at once. Admins
/// cannot change their own role.
#[utoipa::path(put, path = "/v1/users/{id}/role", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RoleRequest,
    responses((status = 200, body = UserDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn change_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(
        state
            .services
            .change_user_role(&caller, id, request.role)
            .await?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiClientDto {
    id: Uuid,
    name: String,
    role: Role,
    client_id: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiClient> for ApiClientDto {
    fn from(client: ApiClient) -> Self {
        Self {
            id: client.id.as_uuid(),
            name: client.name,
            role: client.role,
            client_id: client.client_id,
            created_at: client.created_at,
            revoked_at: client.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedApiClientDto {
    #[serde(flatten)]
    client: ApiClientDto,
    /// Shown once: store it in the integration's secret store now.
    client_secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewApiClientRequest {
    name: String,
    role: Role,
}

/// The caller's company's API clients (secrets are never shown again).
#[utoipa::path(get, path = "/v1/api-clients", tag = "api clients", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiClientDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_api_clients(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Vec<ApiClientDto>>> {
    let clients = state.services.list_api_clients(&caller).await?;
    Ok(Json(clients.into_iter().map(ApiClientDto::from).collect()))
}

/// Creates an API client; the response holds its secret, once.
#[utoipa::path(post, path = "/v1/api-clients", tag = "api clients", security(("bearer" = [])),
    request_body = NewApiClientRequest,
    responses((status = 201, body = CreatedApiClientDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_api_client(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewApiClientRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiClientDto>)> {
    let created = state
        .services
        .create_api_client(
            &caller,
            NewApiClientInput {
                name: request.name,
                role: request.role,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiClientDto {
            client: created.client.into(),
            client_secret: created.client_secret.expose_secret().to_owned(),
        }),
    ))
}

/// Revokes an API client and every token issued to it.
#[utoipa::path(delete, path = "/v1/api-clients/{id}", tag = "api clients", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiClientDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_api_client(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<ApiClientId>,
) -> ApiResult<Json<ApiClientDto>> {
    Ok(Json(
        state.services.revoke_api_client(&caller, id).await?.into(),
    ))
}
