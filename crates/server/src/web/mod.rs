//! The web UI: server-rendered pages (maud) for engineers, program managers and
//! administrators, from the same binary as the API.
//!
//! Every page works without JavaScript; the one vendored script only adds search as you
//! type. Sessions are cookies holding a `cb_ws_` secret (only its hash is stored); every
//! state-changing form goes through [`Posted`], which checks the session, the request's
//! `Origin` and the form's anti-forgery token before a handler sees a field. Every text is
//! escaped by maud; the Content-Security-Policy allows no inline script or style.

mod admin;
mod cases;
mod compose;
mod inbox;
mod operations;
mod session;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebridge_domain::{Action, Role, ValidationErrors};
use casebridge_service::{constant_time_eq, Caller, ServiceError, Services};
use chrono::{DateTime, Utc};
use cookie::{Cookie, SameSite};
use maud::{html, Markup, DOCTYPE};
use std::borrow::Cow;

use crate::AppState;

pub(crate) const SESSION_COOKIE: &str = "cb_session";
const FLASH_COOKIE: &str = "cb_flash";
/// The anti-forgery cookie of the sign-in form, before any session exists.
const SIGN_IN_COOKIE: &str = "cb_signin";
pub(crate) const CSRF_FIELD: &str = "_csrf";

const STYLESHEET: &str = include_str!("../../assets/casebridge.css");
const SCRIPT: &str = include_str!("../../assets/casebridge.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// Scripts and styles only from this server; no inline script, no inline style, no frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/assets/casebridge.css", get(stylesheet))
        .route("/assets/casebridge.js", get(script))
        .route(
            "/assets/favicon.svg",
            get(|| async { asset("image/svg+xml", FAVICON) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent("/assets/favicon.svg") }),
        )
        .merge(session::routes())
        .merge(inbox::routes())
        .merge(cases::routes())
        .merge(compose::routes())
        .merge(admin::routes())
        .merge(operations::routes())
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---- the signed-in person ----

/// A request from a signed-in person. Anyone else is sent to the sign-in page, and comes
/// back to where they were going afterwards.
pub(crate) struct Web {
    pub caller: Caller,
    pub csrf: String,
    pub name: String,
    pub email: String,
    pub member_name: String,
    flash: Option<String>,
    secure: bool,
}

impl Web {
    pub fn may(&self, action: Action) -> bool {
        self.caller.role().may(action)
    }

    fn may_administer(&self) -> bool {
        matches!(
            self.caller.role(),
            Role::Admin | Role::Manager | Role::Auditor
        )
    }
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers)
        .find(|c| c.name() == name)
        .map(|c| c.value_raw().unwrap_or_default())
}

impl FromRequestParts<AppState> for Web {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let services = &state.services;
        let to_sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/inbox", |p| p.as_str())
                .to_owned();
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            Redirect::to(&format!("/sign-in?{query}")).into_response()
        };
        let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        let caller = match services.session(secret).await {
            Ok(caller) => caller,
            Err(ServiceError::Unauthenticated) => return Err(to_sign_in()),
            Err(error) => return Err(error_page(None, error)),
        };
        let (member, user) = services
            .me(&caller)
            .await
            .map_err(|e| error_page(None, e))?;
        let (name, email) = user.map_or_else(Default::default, |u| {
            (format!("{} {}", u.first_name, u.last_name), u.email)
        });
        let flash = cookie_value(&parts.headers, FLASH_COOKIE)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok());
        Ok(Web {
            csrf: Services::session_csrf_token(secret),
            caller,
            name,
            email,
            member_name: member.name,
            flash,
            secure: services.secure_cookies(),
        })
    }
}

// ---- state-changing forms ----

/// A form post from a signed-in person that passed the anti-forgery checks: the request's
/// `Origin` is this server and the form carries the session's token. Handlers that change
/// anything take this, so none can forget the checks.
pub(crate) struct Posted {
    pub web: Web,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let web = Web::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(forged(Some(&web)));
        }
        let request = Request::from_parts(parts, body);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|_| {
                message_page(
                    Some(&web),
                    StatusCode::BAD_REQUEST,
                    "Unreadable form",
                    "The form could not be read. Go back, reload the page and try again.",
                )
            })?;
        let fields = Fields(pairs);
        if !constant_time_eq(fields.get(CSRF_FIELD), &web.csrf) {
            return Err(forged(Some(&web)));
        }
        Ok(Posted { web, fields })
    }
}

fn forged(web: Option<&Web>) -> Response {
    message_page(
        web,
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form was not sent from a Casebridge page you have open, or it has expired. \
         Reload the page and send it again.",
    )
}

/// A browser posting from another site sends that site's origin; only ours may post.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers send Origin on every form post; a client without one is not a page
        // of another site.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
}

/// A posted form's fields in order; repeated names (check boxes) keep every value.
pub(crate) struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The value of `name` trimmed, or `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn empty() -> Self {
        Fields(Vec::new())
    }
}

// ---- responses ----

/// Security headers of every page: `csp`, no framing, no referrer beyond this site.
pub(crate) fn with_security_headers(mut response: Response, csp: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

pub(crate) fn set_cookie(response: &mut Response, cookie: Cookie<'_>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub(crate) fn private_cookie(name: &str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name.to_owned(), value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

pub(crate) fn expired_cookie(name: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = private_cookie(name, String::new(), secure);
    cookie.make_removal();
    cookie
}

/// Which part of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Inbox,
    NewRequest,
    Admin,
    None,
}

/// A whole page for a signed-in person.
pub(crate) fn page(web: &Web, nav: Nav, title: &str, body: Markup) -> Response {
    page_with_status(web, StatusCode::OK, nav, title, body)
}

pub(crate) fn page_with_status(
    web: &Web,
    status: StatusCode,
    nav: Nav,
    title: &str,
    body: Markup,
) -> Response {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    let header = html! {
        header.top {
            a.brand href="/inbox" { "Casebridge" }
            nav aria-label="Main" {
                ul {
                    li { a href="/inbox" aria-current=[current(Nav::Inbox)] { "Inbox" } }
                    @if web.may(Action::WorkCases) {
                        li { a href="/cases/new" aria-current=[current(Nav::NewRequest)] { "New request" } }
                    }
                    @if web.may_administer() {
                        li { a href="/admin" aria-current=[current(Nav::Admin)] { "Administration" } }
                    }
                }
            }
            div.who {
                a href="/account" aria-current=[(nav == Nav::None && title == "Your account").then_some("page")] {
                    (web.name) " · " (web.member_name) " · " (web.caller.role().as_str())
                }
                form method="post" action="/sign-out" {
                    input type="hidden" name=(CSRF_FIELD) value=(web.csrf);
                    button.link type="submit" { "Sign out" }
                }
            }
        }
    };
    let flash = web.flash.as_deref().map(|message| {
        html! { p.flash role="status" { (message) } }
    });
    let mut response = document(
        title,
        Some(header),
        html! { (flash.unwrap_or_default()) (body) },
    );
    *response.status_mut() = status;
    if web.flash.is_some() {
        set_cookie(&mut response, expired_cookie(FLASH_COOKIE, web.secure));
    }
    response
}

/// The HTML document around a page's content.
pub(crate) fn document(title: &str, header: Option<Markup>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Casebridge" }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/casebridge.css";
                script src="/assets/casebridge.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if let Some(header) = header { (header) }
                main #main tabindex="-1" { (body) }
            }
        }
    };
    with_security_headers(Html(markup.into_string()).into_response(), CSP)
}

/// After a successful post: back to a page (303), with a one-time message.
pub(crate) fn done(web: &Web, to: &str, message: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    set_cookie(
        &mut response,
        private_cookie(
            FLASH_COOKIE,
            URL_SAFE_NO_PAD.encode(message.as_bytes()),
            web.secure,
        ),
    );
    response
}

/// After a form that changes one thing: on to `to` with a message, or the refusal as a page.
pub(crate) fn after<T>(
    web: &Web,
    to: &str,
    outcome: Result<T, ServiceError>,
    message: impl FnOnce(T) -> String,
) -> Response {
    match outcome {
        Ok(value) => done(web, to, &message(value)),
        Err(error) => error_page(Some(web), error),
    }
}

pub(crate) fn message_page(
    web: Option<&Web>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let body = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/inbox" { "Back to the inbox" } }
    };
    match web {
        Some(web) => page_with_status(web, status, Nav::None, title, body),
        None => {
            let mut response = document(title, None, body);
            *response.status_mut() = status;
            response
        }
    }
}

/// A use case's refusal as a page. Validation errors are shown beside their fields by
/// the forms themselves; this is for everything else.
pub(crate) fn error_page(web: Option<&Web>, error: ServiceError) -> Response {
    let (status, title) = match &error {
        ServiceError::Unauthenticated => return Redirect::to("/sign-in").into_response(),
        ServiceError::NotFound => (StatusCode::NOT_FOUND, "Not found"),
        ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed"),
        ServiceError::Internal(cause) => {
            tracing::error!(%cause, "web request failed");
            return message_page(
                web,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Casebridge could not finish this. Nothing was changed; try again in a moment.",
            );
        }
        ServiceError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Check the form"),
        _ => (StatusCode::CONFLICT, "Not possible now"),
    };
    let message = match &error {
        ServiceError::NotFound => {
            "There is nothing here, or it belongs to a company you cannot see.".to_owned()
        }
        ServiceError::Validation(errors) => errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    message_page(web, status, title, &message)
}

/// Validation errors of a form: a summary on top, and each message beside its field.
#[derive(Default)]
pub(crate) struct Problems {
    errors: Vec<(String, String)>,
    /// An error that belongs to no field (a refusal by the rules).
    general: Option<String>,
}

impl Problems {
    pub fn from_error(error: ServiceError) -> Result<Self, ServiceError> {
        match error {
            ServiceError::Validation(ValidationErrors(errors)) => Ok(Self {
                errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
                general: None,
            }),
            ServiceError::Internal(_) | ServiceError::Unauthenticated | ServiceError::NotFound => {
                Err(error)
            }
            ServiceError::Forbidden(_) => Err(error),
            other => Ok(Self {
                errors: Vec::new(),
                general: Some(other.to_string()),
            }),
        }
    }

    /// The same errors with their field names prefixed, for one of several forms on a page.
    pub fn prefixed(self, prefix: &str) -> Self {
        Self {
            errors: self
                .errors
                .into_iter()
                .map(|(f, m)| (format!("{prefix}{f}"), m))
                .collect(),
            general: self.general,
        }
    }

    pub fn add(&mut self, field: &str, message: &str) {
        self.errors.push((field.to_owned(), message.to_owned()));
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.general.is_none()
    }

    /// The status of a page showing these problems: 422 when there are any.
    pub fn status(&self) -> StatusCode {
        if self.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// The message for a field: its own, or one of a part of it (`contact.email`).
    /// The error for `field`; for a list typed into one input (`tags`), the first error of
    /// one of its items (`tags[2]`), saying which.
    pub fn for_field(&self, field: &str) -> Option<Cow<'_, str>> {
        if let Some((_, message)) = self.errors.iter().find(|(f, _)| f == field) {
            return Some(Cow::Borrowed(message));
        }
        self.errors
            .iter()
            .find_map(|(f, message)| match list_item(f) {
                (base, Some(item)) if base == field => {
                    Some(Cow::Owned(format!("item {}: {message}", item + 1)))
                }
                _ => None,
            })
    }

    pub fn summary(&self) -> Markup {
        if self.is_empty() {
            return html! {};
        }
        html! {
            div.problems role="alert" tabindex="-1" {
                h2 { "This could not be sent" }
                @if let Some(general) = &self.general { p { (general) } }
                @if !self.errors.is_empty() {
                    ul {
                        @for (field, message) in &self.errors {
                            @let (base, item) = list_item(field);
                            li {
                                a href=(format!("#f-{}", field_anchor(base))) {
                                    (field_label(base))
                                    @if let Some(item) = item { " (item " (item + 1) ")" }
                                    ": " (message)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A field name split from a trailing list index: `tags[2]` → (`tags`, Some(2)). Only a
/// final index counts: `customFields[0].value` names a field of its own.
fn list_item(field: &str) -> (&str, Option<usize>) {
    field
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .and_then(|(base, index)| Some((base, Some(index.parse().ok()?))))
        .unwrap_or((field, None))
}

/// The id of the input for a field name (`submitterContactDetails.email` → usable id).
pub(crate) fn field_anchor(field: &str) -> String {
    field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A field name as people read it.
fn field_label(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let mut label = String::new();
    for (i, c) in last.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            label.push(' ');
            label.push(c.to_ascii_lowercase());
        } else if i == 0 {
            label.push(c.to_ascii_uppercase());
        } else {
            label.push(c);
        }
    }
    label
}

/// A labelled input with its error; `kind` is the input type, or "textarea".
pub(crate) struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub hint: Option<&'a str>,
    pub max: Option<usize>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label,
            kind: "text",
            value,
            required: false,
            hint: None,
            max: None,
        }
    }

    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn max(mut self, max: usize) -> Self {
        self.max = Some(max);
        self
    }

    /// The input, with `error_key` naming the validation field it reports under.
    pub fn render(&self, problems: &Problems, error_key: &str) -> Markup {
        let id = format!("f-{}", field_anchor(error_key));
        let error = problems.for_field(error_key);
        let hint_id = format!("{id}-hint");
        let error_id = format!("{id}-error");
        let described = [
            self.hint.map(|_| hint_id.clone()),
            error.as_ref().map(|_| error_id.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let described = (!described.is_empty()).then_some(described);
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (self.label) @if self.required { span.req aria-hidden="true" { " *" } } }
                @if let Some(hint) = self.hint { p.hint id=(hint_id) { (hint) } }
                @if let Some(error) = &error { p.error id=(error_id) { (error) } }
                @if self.kind == "textarea" {
                    textarea id=(id) name=(self.name) rows="6" required[self.required]
                        maxlength=[self.max] aria-describedby=[described.as_deref()]
                        aria-invalid=[error.as_ref().map(|_| "true")] { (self.value) }
                } @else {
                    input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                        required[self.required] maxlength=[self.max]
                        aria-describedby=[described.as_deref()]
                        aria-invalid=[error.as_ref().map(|_| "true")];
                }
            }
        }
    }
}

pub(crate) fn csrf_input(web: &Web) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(web.csrf); }
}

/// A time as people read it, in UTC.
pub(crate) fn when(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) { (at.format("%-d %b %Y, %H:%M UTC")) }
    }
}

/// "3 h 20 min" for a duration.
pub(crate) fn span_text(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes().abs();
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {mins} min")
    } else {
        format!("{mins} min")
    }
}

/// A stored code as people read it: `NETWORK_IDENTIFIERS` → "Network identifiers".
pub(crate) fn human(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A status as a badge, coloured by what it asks of the reader.
pub(crate) fn status_badge(status: casebridge_domain::case::CaseStatus) -> Markup {
    use casebridge_domain::case::CaseStatus::*;
    let class = match status {
        PendingAuthorization | Information => "badge wait",
        Open => "badge open",
        Accepted => "badge ok",
        Rejected | Closed => "badge done",
    };
    html! { span class=(class) { (human(status.as_str())) } }
}

pub(crate) fn priority_badge(priority: casebridge_domain::form::Priority) -> Markup {
    use casebridge_domain::form::Priority::*;
    let (class, label) = match priority {
        Low => ("prio low", "Low"),
        Medium => ("prio medium", "Medium"),
        High => ("prio high", "High"),
    };
    html! { span class=(class) { (label) } }
}
