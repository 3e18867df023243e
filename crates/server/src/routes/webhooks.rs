//! Webhook subscriptions, their deliveries, and sending one again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use casebridge_service::store::{DeliveryRecord, DeliveryStatus, WebhookRecord};
use casebridge_service::webhooks::WebhookInput;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::extract::{ApiJson, ApiPath, ApiQuery, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(list_email_deliveries))
        .routes(routes!(redeliver_email))
        .routes(routes!(notification_settings, set_notification_settings))
        .routes(routes!(email_preferences, set_email_preferences))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NotificationSettingsDto {
    /// Gets a copy of every new inbound request email (e.g. a support mailbox).
    #[serde(default)]
    inbound_bcc: Option<String>,
    /// Gets a copy of every email about a response to an outbound request.
    #[serde(default)]
    outbound_bcc: Option<String>,
}

/// Where copies of the company's request emails go (admins).
#[utoipa::path(get, path = "/v1/notification-settings", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = NotificationSettingsDto), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn notification_settings(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<NotificationSettingsDto>> {
    let settings = state.services.notification_settings(&caller).await?;
    Ok(Json(NotificationSettingsDto {
        inbound_bcc: settings.inbound_bcc,
        outbound_bcc: settings.outbound_bcc,
    }))
}

/// Sets the copy addresses; leave one out (or empty) to stop its copies.
#[utoipa::path(put, path = "/v1/notification-settings", tag = "webhooks", security(("bearer" = [])),
    request_body = NotificationSettingsDto,
    responses((status = 200, body = NotificationSettingsDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_notification_settings(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NotificationSettingsDto>,
) -> ApiResult<Json<NotificationSettingsDto>> {
    let settings = state
        .services
        .set_notification_settings(&caller, request.inbound_bcc, request.outbound_bcc)
        .await?;
    Ok(Json(NotificationSettingsDto {
        inbound_bcc: settings.inbound_bcc,
        outbound_bcc: settings.outbound_bcc,
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EmailPreferencesDto {
    /// Emails about a partner's notes on your cases; requests, responses and escalations
    /// are always sent.
    partner_note_emails: bool,
}

/// The signed-in person's email preferences.
#[utoipa::path(get, path = "/v1/me/email-preferences", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = EmailPreferencesDto), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn email_preferences(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<EmailPreferencesDto>> {
    let on = state.services.note_emails(&caller).await?;
    Ok(Json(EmailPreferencesDto {
        partner_note_emails: on,
    }))
}

/// Turns the emails one can do without on or off.
#[utoipa::path(put, path = "/v1/me/email-preferences", tag = "users", security(("bearer" = [])),
    request_body = EmailPreferencesDto,
    responses((status = 200, body = EmailPreferencesDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_email_preferences(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<EmailPreferencesDto>,
) -> ApiResult<Json<EmailPreferencesDto>> {
    let on = state
        .services
        .set_note_emails(&caller, request.partner_note_emails)
        .await?;
    Ok(Json(EmailPreferencesDto {
        partner_note_emails: on,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookDto {
    id: String,
    callback_url: String,
    /// The event types delivered; absent: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    event_types: Option<Vec<String>>,
    /// Whether an Authorization header value is sent (the value is never shown again).
    has_callback_auth: bool,
    created_at: DateTime<Utc>,
}

impl From<WebhookRecord> for WebhookDto {
    fn from(w: WebhookRecord) -> Self {
        Self {
            id: w.id,
            callback_url: w.callback_url,
            event_types: w.event_types,
            has_callback_auth: w.has_callback_auth,
            created_at: w.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedWebhookDto {
    #[serde(flatten)]
    webhook: WebhookDto,
    /// Shown once. Each delivery carries `X-Hub-Signature-256: sha256=HMAC-SHA256(secret,
    /// raw body)` and `X-Casebridge-Signature: t=TIMESTAMP,v1=HMAC-SHA256(secret,
    /// "TIMESTAMP.body")`.
    secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewWebhookRequest {
    /// HTTPS; plain HTTP and private addresses only for hosts the operator allows.
    callback_url: String,
    /// Event types to deliver (`case.created`, `case.status_changed`, …); leave out for all.
    #[serde(default)]
    event_types: Option<Vec<String>>,
    /// A value sent as the `Authorization` header of every delivery.
    #[serde(default)]
    callback_auth: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryDto {
    id: String,
    event_id: String,
    event_type: String,
    /// The case token or partnership id the event is about.
    subject: String,
    /// PENDING, DELIVERED or FAILED.
    status: String,
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRecord> for DeliveryDto {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            subject: d.aggregate,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            response_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// The caller's company's webhook subscriptions (admins).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_webhooks(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<Vec<WebhookDto>>> {
    let hooks = state.services.list_webhooks(&caller).await?;
    Ok(Json(hooks.into_iter().map(WebhookDto::from).collect()))
}

/// Subscribes a callback to events; the response holds the signing secret, once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhookRequest,
    responses((status = 201, body = CreatedWebhookDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_webhook(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewWebhookRequest>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookDto>)> {
    let created = state
        .services
        .create_webhook(
            &caller,
            WebhookInput {
                callback_url: request.callback_url,
                event_types: request.event_types,
                callback_auth: request.callback_auth,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookDto {
            webhook: created.webhook.into(),
            secret: created.secret.expose_secret().to_owned(),
        }),
    ))
}

/// Ends a subscription; its pending deliveries are dropped, its history stays.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_webhook(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .services
        .delete_webhook(&caller, &id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest 200 deliveries of a subscription, with their status, attempts and the
/// callback's last answer.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_deliveries(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<DeliveryDto>>> {
    let deliveries = state
        .services
        .webhook_deliveries(&caller, &id.to_string())
        .await?;
    Ok(Json(
        deliveries.into_iter().map(DeliveryDto::from).collect(),
    ))
}

/// Sends a delivery again (a failed one, or a delivered one the receiver lost), with the
/// same event id and a fresh retry window.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("deliveryId" = Uuid, Path)),
    responses((status = 202, body = DeliveryDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn redeliver(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((id, delivery)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, Json<DeliveryDto>)> {
    let record = state
        .services
        .redeliver(&caller, &id.to_string(), &delivery.to_string())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(record.into())))
}

/// A notification email: a delivery with its recipient.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailDeliveryDto {
    /// The recipient's address.
    to: String,
    #[serde(flatten)]
    delivery: DeliveryDto,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EmailDeliveryParams {
    /// Only emails in this state: PENDING (waiting or retrying), DELIVERED or FAILED.
    status: Option<DeliveryStatusParam>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum DeliveryStatusParam {
    Pending,
    Delivered,
    Failed,
}

impl From<DeliveryStatusParam> for DeliveryStatus {
    fn from(status: DeliveryStatusParam) -> Self {
        match status {
            DeliveryStatusParam::Pending => DeliveryStatus::Pending,
            DeliveryStatusParam::Delivered => DeliveryStatus::Delivered,
            DeliveryStatusParam::Failed => DeliveryStatus::Failed,
        }
    }
}

/// The company's 200 newest notification emails (admins): those waiting for a mail server
/// or retrying (PENDING with the last error), sent, or failed after the retry window.
#[utoipa::path(get, path = "/v1/email-deliveries", tag = "webhooks", security(("bearer" = [])),
    params(EmailDeliveryParams),
    responses((status = 200, body = Vec<EmailDeliveryDto>), (status = 422, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_email_deliveries(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<EmailDeliveryParams>,
) -> ApiResult<Json<Vec<EmailDeliveryDto>>> {
    let emails = state
        .services
        .email_deliveries(&caller, params.status.map(Into::into))
        .await?;
    Ok(Json(emails.into_iter().map(email_dto).collect()))
}

fn email_dto(record: DeliveryRecord) -> EmailDeliveryDto {
    EmailDeliveryDto {
        to: record.target.clone(),
        delivery: record.into(),
    }
}

/// Sends an email again (a failed one, or one its recipient lost), with a fresh retry
/// window.
#[utoipa::path(post, path = "/v1/email-deliveries/{id}/redeliver", tag = "webhooks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 202, body = EmailDeliveryDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn redeliver_email(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<EmailDeliveryDto>)> {
    let record = state
        .services
        .redeliver_email(&caller, &id.to_string())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(email_dto(record))))
}
