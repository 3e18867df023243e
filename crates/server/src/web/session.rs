//! Signing in and out of the web UI.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebridge_service::{constant_time_eq, ServiceError};
use maud::html;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{
    cookie_value, document, error_page, expired_cookie, private_cookie, same_origin, set_cookie,
    Posted, CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    next: Option<String>,
    #[serde(default)]
    signed_out: bool,
}

/// Only a path on this server: never another site (`//evil.example`, `https://…`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 512 =>
        {
            path
        }
        _ => "/inbox",
    }
}

async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Response {
    // Already signed in: straight on.
    if let Some(secret) = cookie_value(&headers, SESSION_COOKIE) {
        if state.services.session(secret).await.is_ok() {
            return Redirect::to(local_path(query.next.as_deref())).into_response();
        }
    }
    let notice = query.signed_out.then_some("You are signed out.");
    sign_in_form(
        &state,
        StatusCode::OK,
        query.next.as_deref(),
        "",
        notice,
        None,
    )
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    next: Option<&str>,
    email: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let mut token = [0u8; 32];
    OsRng.fill_bytes(&mut token);
    let token = URL_SAFE_NO_PAD.encode(token);
    let body = html! {
        div.narrow {
            h1 { "Sign in to Casebridge" }
            @if let Some(notice) = notice { p.flash role="status" { (notice) } }
            @if let Some(error) = error {
                div.problems role="alert" { p { (error) } }
            }
            form.card method="post" action="/sign-in" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                @if let Some(next) = next { input type="hidden" name="next" value=(local_path(Some(next))); }
                div.field {
                    label for="email" { "Work email" }
                    input #email name="email" type="email" autocomplete="username" required value=(email) autofocus[email.is_empty()];
                }
                div.field {
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required autofocus[!email.is_empty()];
                }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    let mut response = document("Sign in", None, body);
    *response.status_mut() = status;
    set_cookie(
        &mut response,
        private_cookie(SIGN_IN_COOKIE, token, state.services.secure_cookies()),
    );
    response
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_form(
            &state,
            StatusCode::BAD_REQUEST,
            None,
            "",
            None,
            Some("The form could not be read; try again."),
        );
    };
    let next = form.next.as_deref();
    let expected = cookie_value(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_origin(&headers) || expected.is_empty() || !constant_time_eq(&form.csrf, expected) {
        return sign_in_form(
            &state,
            StatusCode::FORBIDDEN,
            next,
            &form.email,
            None,
            Some("This sign-in form expired or was not sent from this site. Try again."),
        );
    }
    if form.email.len() > 320 || form.password.len() > 1024 {
        return sign_in_form(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            next,
            "",
            None,
            Some("The email address or password is too long."),
        );
    }
    let services = &state.services;
    let issued = match services
        .start_session(&form.email, SecretString::from(form.password))
        .await
    {
        Ok(issued) => issued,
        Err(ServiceError::InvalidCredentials) => {
            return sign_in_form(
                &state,
                StatusCode::UNAUTHORIZED,
                next,
                &form.email,
                None,
                Some("The email address or password is not correct."),
            )
        }
        Err(ServiceError::AccountDisabled) => {
            return sign_in_form(
                &state,
                StatusCode::FORBIDDEN,
                next,
                &form.email,
                None,
                Some("This account is disabled. Ask your company's Casebridge administrator."),
            )
        }
        Err(error) => return error_page(None, error),
    };
    // A session that was open in this browser ends: each sign-in gets a new secret.
    if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
        if let Ok(caller) = services.session(old).await {
            let _ = services.logout(&caller).await;
        }
    }
    let secure = services.secure_cookies();
    let mut response = Redirect::to(local_path(next)).into_response();
    set_cookie(
        &mut response,
        private_cookie(
            SESSION_COOKIE,
            issued.access_token.expose_secret().to_owned(),
            secure,
        ),
    );
    set_cookie(&mut response, expired_cookie(SIGN_IN_COOKIE, secure));
    response
}

async fn sign_out(State(state): State<AppState>, posted: Posted) -> Response {
    let web = posted.web;
    if let Err(error) = state.services.logout(&web.caller).await {
        return error_page(Some(&web), error);
    }
    let mut response = Redirect::to("/sign-in?signed_out=true").into_response();
    set_cookie(&mut response, expired_cookie(SESSION_COOKIE, web.secure));
    response
}
