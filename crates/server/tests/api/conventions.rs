//! Conventions every route follows: authentication, problem+json, limits, OpenAPI.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::support::TestApp;

stories!(
    every_protected_route_refuses_anonymous_and_bad_tokens,
    malformed_oversized_and_mistyped_bodies_are_problems,
    unknown_routes_and_methods_are_problems,
    health_and_openapi_are_served,
);

const ID: &str = "01a22508-a5bb-7557-b71d-fbc0588e187b";
const TOKEN: &str = "cr_AAAAAAAAAAAAAAAAAAAAAA";

fn protected_routes() -> Vec<(Method, String)> {
    let id = ID;
    let token = TOKEN;
    vec![
        (Method::POST, "/v1/logout".into()),
        (Method::GET, "/v1/me".into()),
        (Method::GET, "/v1/users".into()),
        (Method::POST, "/v1/users".into()),
        (Method::GET, format!("/v1/users/{id}")),
        (Method::POST, format!("/v1/users/{id}/disable")),
        (Method::PUT, format!("/v1/users/{id}/role")),
        (Method::GET, "/v1/api-clients".into()),
        (Method::POST, "/v1/api-clients".into()),
        (Method::DELETE, format!("/v1/api-clients/{id}")),
        (Method::GET, "/v1/departments".into()),
        (Method::POST, "/v1/departments".into()),
        (Method::PUT, format!("/v1/departments/{id}")),
        (Method::GET, "/v1/agreements/current".into()),
        (Method::POST, format!("/v1/agreements/{id}/acceptance")),
        (Method::GET, "/v1/partnerships".into()),
        (Method::POST, "/v1/partnerships".into()),
        (Method::GET, format!("/v1/partnerships/{id}")),
        (Method::POST, format!("/v1/partnerships/{id}/acceptance")),
        (Method::POST, format!("/v1/partnerships/{id}/decline")),
        (Method::POST, format!("/v1/partnerships/{id}/end")),
        (Method::GET, format!("/v1/forms/company/{id}")),
        (Method::PUT, format!("/v1/forms/company/{id}")),
        (Method::GET, format!("/v1/forms/department/{id}")),
        (Method::PUT, format!("/v1/forms/department/{id}")),
        (Method::GET, "/v1/audit-events".into()),
        (Method::GET, "/v1/partners/acme".into()),
        (Method::POST, "/v1/collaboration-requests".into()),
        (Method::GET, "/v2/collaboration-requests".into()),
        (Method::GET, format!("/v1/collaboration-requests/{token}")),
        (Method::PATCH, format!("/v1/collaboration-requests/{token}")),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/approval"),
        ),
        (
            Method::PATCH,
            format!("/v1/collaboration-requests/{token}/approval"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/rejection"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/information-request"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/information-response"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/closure"),
        ),
        (
            Method::GET,
            format!("/v1/collaboration-requests/{token}/notes"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/notes"),
        ),
        (Method::POST, "/v1/previews".into()),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/preview"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/disclosures"),
        ),
        (
            Method::POST,
            format!("/v1/collaboration-requests/{token}/authorization/revocation"),
        ),
        (
            Method::GET,
            format!("/v1/collaboration-requests/{token}/authorization/receipt"),
        ),
        (
            Method::PUT,
            format!("/v1/collaboration-requests/{token}/legal-hold"),
        ),
        (
            Method::DELETE,
            format!("/v1/collaboration-requests/{token}/legal-hold"),
        ),
        (Method::POST, "/v1/erasures".into()),
        (Method::GET, "/v1/webhooks".into()),
        (Method::GET, "/v1/reports/sla".into()),
        (Method::GET, "/v1/notification-settings".into()),
        (Method::PUT, "/v1/notification-settings".into()),
        (Method::GET, "/v1/me/email-preferences".into()),
        (Method::PUT, "/v1/me/email-preferences".into()),
        (Method::POST, "/v1/webhooks".into()),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries")),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/deliveries/{id}/redeliver"),
        ),
        (Method::GET, "/v1/email-deliveries".into()),
        (Method::POST, format!("/v1/email-deliveries/{id}/redeliver")),
    ]
}

async fn every_protected_route_refuses_anonymous_and_bad_tokens(app: &TestApp) {
    for (method, path) in protected_routes() {
        for authorization in [
            None,
            Some("Bearer cb_at_not-a-real-token"),
            Some("Bearer "),
            Some("Basic dXNlcjpwYXNz"),
            Some("cb_at_missing-scheme"),
        ] {
            let mut request = Request::builder().method(method.clone()).uri(&path);
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let response = app.send(request).await;
            response.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(
                response.headers.contains_key(header::WWW_AUTHENTICATE),
                "{method} {path}"
            );
        }
    }
}

async fn malformed_oversized_and_mistyped_bodies_are_problems(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let bearer = format!("Bearer {}", acme.admin);
    let post = |body: Body, content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/departments")
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };
    app.send(post(Body::from("{\"name\": "), "application/json"))
        .await
        .problem(StatusCode::BAD_REQUEST, "malformed_request");
    app.send(post(Body::from("{\"name\": 42}"), "application/json"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.send(post(
        Body::from("{\"name\": \"A\", \"owner\": \"me\"}"),
        "application/json",
    ))
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.send(post(Body::from("name=A"), "text/plain"))
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let huge = json!({"name": "A", "description": "x".repeat(300 * 1024)}).to_string();
    app.send(post(Body::from(huge), "application/json"))
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Nothing was created by any of them.
    let listed = app.get("/v1/departments", &acme.admin).await;
    assert_eq!(listed.body, json!([]));
    // A path id that does not parse names nothing: 404, not 400.
    app.get("/v1/partnerships/not-a-uuid", &acme.admin)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn unknown_routes_and_methods_are_problems(app: &TestApp) {
    app.call(Method::GET, "/v1/nothing-here", None, None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.call(Method::DELETE, "/v1/me", None, None)
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

async fn health_and_openapi_are_served(app: &TestApp) {
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let openapi = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = openapi.body["paths"].as_object().unwrap();
    for (_, path) in protected_routes() {
        let template = path
            .replace(ID, "{id}")
            .replace(TOKEN, "{token}")
            .replace("/partners/acme", "/partners/{searchTerm}");
        let documented = paths.keys().any(|p| {
            p == &template
                || p.replace("{companyId}", "{id}") == template
                || p.replace("{departmentId}", "{id}") == template
                || p.replace("{deliveryId}", "{id}") == template
        });
        assert!(documented, "{path} is not in the OpenAPI document");
    }
    assert!(paths.contains_key("/oauth/token") && paths.contains_key("/v1/login"));
    assert!(openapi.body["components"]["schemas"]["Problem"].is_object());
}
