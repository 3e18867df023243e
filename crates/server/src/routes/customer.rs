//! The customer's authorization page: plain server-rendered HTML, no login, no script.
//! The link's secret in the path is the only credential; forms post back to the same
//! link, and a cross-site post is refused by its `Origin`.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use casebridge_domain::case::CaseToken;
use casebridge_service::{CustomerLinkView, LinkPage, ServiceError};
use maud::{html, Markup, DOCTYPE};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiPath, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::web::{same_origin, with_security_headers};
use crate::AppState;

/// Pages for people, outside the API document.
pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/authorize/{link}", get(page).post(decide))
        .route("/authorize/{link}/receipt", get(customer_receipt))
        .route("/.well-known/jwks.json", get(jwks))
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submitter_receipt))
}

/// The address the request came from, when the server knows it.
pub(crate) struct ClientIp(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        ))
    }
}

/// A strict policy: no script at all, styles only from this page.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The link's secret is in the URL; the shared `same-origin` referrer policy keeps it from
/// other sites. (`no-referrer` would make browsers send `Origin: null` on the page's own
/// form posts, which the origin check must then refuse.)
fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = with_security_headers(Html(markup.into_string()).into_response(), CSP);
    *response.status_mut() = status;
    response
}

const STYLE: &str =
    "body{font:17px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f7f9;margin:0}\
main{max-width:38rem;margin:0 auto;padding:1.5rem 1rem}\
h1{font-size:1.4rem;line-height:1.3}\
.text{background:#fff;border:1px solid #d0d5dc;border-radius:8px;padding:1rem 1.2rem}\
.text p{margin:.6rem 0}.text ul{margin:.4rem 0 .6rem 1.2rem;padding:0}\
.actions{display:flex;gap:.8rem;flex-wrap:wrap;margin-top:1.2rem}\
button{font:inherit;padding:.7rem 1.3rem;border-radius:6px;border:2px solid #0b57d0;cursor:pointer}\
.yes{background:#0b57d0;color:#fff}.no{background:#fff;color:#0b57d0}\
button:focus-visible,a:focus-visible{outline:3px solid #f29900;outline-offset:2px}\
.state{font-weight:600}a{color:#0b57d0}";

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · Casebridge" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    }
}

/// The shown text, paragraph by paragraph; lines starting with "- " become a list.
fn consent_markup(text: &str) -> Markup {
    html! {
        div.text {
            @for paragraph in text.split("\n\n") {
                @let (lines, items): (Vec<&str>, Vec<&str>) = paragraph.lines().partition(|l| !l.starts_with("- "));
                p { (lines.join(" ")) }
                @if !items.is_empty() {
                    ul { @for item in items { li { (item.trim_start_matches("- ")) } } }
                }
            }
        }
    }
}

fn page_markup(link: &str, view: &CustomerLinkView, message: Option<&str>) -> Markup {
    let record = &view.record;
    let title = format!("{} asks for your permission", record.submitter_name);
    let action = format!("/authorize/{link}");
    layout(
        &title,
        html! {
            h1 { (title) }
            @if let Some(message) = message { p.state role="status" { (message) } }
            (consent_markup(&view.text))
            @match view.page {
                LinkPage::Open => {
                    form method="post" action=(action) {
                        div.actions {
                            button.yes type="submit" name="decision" value="authorize" { "Authorize" }
                            button.no type="submit" name="decision" value="decline" { "Decline" }
                        }
                    }
                }
                LinkPage::Authorized => {
                    p.state { "You authorized this"
                        @if let Some(at) = record.decided_at { " on " (at.format("%-d %B %Y at %H:%M UTC")) } "." }
                    p { a href=(format!("/authorize/{link}/receipt")) download { "Download your signed receipt" } }
                    form method="post" action=(action) {
                        div.actions {
                            button.no type="submit" name="decision" value="revoke" { "Withdraw my permission" }
                        }
                    }
                }
                LinkPage::Revoked => {
                    p.state { "You withdrew this permission. Nothing more is shared, and "
                        (record.receiver_name) " no longer sees your data." }
                    p { a href=(format!("/authorize/{link}/receipt")) download { "Download the receipt of your original permission" } }
                }
                LinkPage::Declined => {
                    p.state { "You declined. Nothing was shared with " (record.receiver_name) "." }
                }
                LinkPage::Expired => {
                    p.state { "This link is no longer valid. Nothing was shared with "
                        (record.receiver_name) ". If you still want to help, ask "
                        (record.submitter_name) " for a new link." }
                }
            }
        },
    )
}

fn not_found_page() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        layout(
            "Link not found",
            html! {
                h1 { "This link does not exist" }
                p { "Check that you copied the whole link from the message you received." }
            },
        ),
    )
}

fn error_page(error: ServiceError) -> Response {
    match error {
        ServiceError::NotFound => not_found_page(),
        ServiceError::Conflict(message) => html_response(
            StatusCode::CONFLICT,
            layout(
                "Already answered",
                html! { h1 { "Nothing changed" } p { (message) } },
            ),
        ),
        other => {
            tracing::error!(error = %other, "customer page failed");
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                layout(
                    "Something went wrong",
                    html! { h1 { "Something went wrong" } p { "Please try again in a moment." } },
                ),
            )
        }
    }
}

async fn page(State(state): State<AppState>, Path(link): Path<String>) -> Response {
    match state.services.customer_link(&link).await {
        Ok(view) => html_response(StatusCode::OK, page_markup(&link, &view, None)),
        Err(error) => error_page(error),
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
}

async fn decide(
    State(state): State<AppState>,
    Path(link): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return html_response(
            StatusCode::FORBIDDEN,
            layout(
                "Refused",
                html! { h1 { "Refused" } p { "This form can only be sent from its own page." } },
            ),
        );
    }
    let services = &state.services;
    let (outcome, message) = match form.as_ref().ok().map(|f| f.decision.as_str()) {
        Some("authorize") => (
            services.customer_decide(&link, true, ip).await,
            "Thank you. You authorized this collaboration.",
        ),
        Some("decline") => (
            services.customer_decide(&link, false, ip).await,
            "You declined. Nothing is shared.",
        ),
        Some("revoke") => (
            services.customer_revoke(&link).await,
            "You withdrew your permission. Nothing more is shared.",
        ),
        _ => {
            return html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    "Choose an answer",
                    html! { h1 { "Choose an answer" } p { a href=(format!("/authorize/{link}")) { "Back to the request" } } },
                ),
            )
        }
    };
    match outcome {
        Ok(view) => html_response(StatusCode::OK, page_markup(&link, &view, Some(message))),
        Err(error) => error_page(error),
    }
}

fn receipt_download(jws: String) -> Response {
    let mut response = jws.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jose"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"consent-receipt.jws\""),
    );
    response
}

async fn customer_receipt(State(state): State<AppState>, Path(link): Path<String>) -> Response {
    match state.services.customer_link(&link).await {
        Ok(view) => match view.record.receipt {
            Some(jws) => receipt_download(jws),
            None => not_found_page(),
        },
        Err(error) => error_page(error),
    }
}

async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.services.receipt_keys()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReceiptDto {
    /// The Kantara Consent Receipt v1.1, signed by the platform: a compact JWS (EdDSA)
    /// verifiable with the key at `/.well-known/jwks.json`.
    jws: String,
    /// The receipt's payload, decoded for reading.
    receipt: serde_json::Value,
}

/// The signed receipt of the customer's authorization by link, for the submitting company.
#[utoipa::path(get, path = "/v1/collaboration-requests/{token}/authorization/receipt", tag = "data protection",
    security(("bearer" = [])), params(("token" = String, Path)),
    responses((status = 200, body = ReceiptDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "no such case for the caller, the caller is the receiver, or no customer has authorized by link", body = Problem)))]
async fn submitter_receipt(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(token): ApiPath<CaseToken>,
) -> ApiResult<Json<ReceiptDto>> {
    use base64::Engine;
    let jws = state
        .services
        .authorization_receipt(&caller, &token)
        .await?;
    let receipt = jws
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| Problem::internal(&"a stored receipt does not decode"))?;
    Ok(Json(ReceiptDto { jws, receipt }))
}
