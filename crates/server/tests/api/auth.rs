//! Sign-in, tokens, API clients and the OAuth2 token endpoint.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use casebridge_service::AuthSettings;
use casebridge_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::support::{TestApp, PASSWORD};

stories!(
    login_issues_a_prefixed_token_that_names_the_caller,
    wrong_password_and_unknown_user_get_the_same_answer,
    logout_revokes_the_token_at_once,
    a_disabled_user_cannot_sign_in_and_loses_its_tokens,
    api_clients_exchange_credentials_for_tokens,
    revoking_an_api_client_ends_its_tokens,
    only_admins_manage_api_clients,
);

async fn login(app: &TestApp, username: &str, password: &str) -> crate::support::Response {
    app.call(
        Method::POST,
        "/v1/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

async fn login_issues_a_prefixed_token_that_names_the_caller(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let response = login(app, "ENGINEER@Acme.Example", PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["tokenType"], "Bearer");
    assert_eq!(response.body["expiresIn"], 8 * 3600);
    let token = response.body["accessToken"].as_str().unwrap();
    assert!(token.starts_with("cb_at_") && token.len() >= 40);
    assert_eq!(response.headers[header::CACHE_CONTROL], "no-store");

    let me = app.get("/v1/me", token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["company"]["id"], acme.id.as_str());
    assert_eq!(me.body["company"]["name"], "Acme");
    assert_eq!(me.body["company"]["domains"], json!(["acme.example"]));
    assert_eq!(me.body["user"]["email"], "engineer@acme.example");
    assert_eq!(me.body["user"]["role"], "engineer");
    assert_eq!(me.body["user"]["firstName"], "Test");
    assert!(me.body["user"].get("passwordHash").is_none());
}

async fn wrong_password_and_unknown_user_get_the_same_answer(app: &TestApp) {
    app.member("Acme", "acme.example").await;
    let wrong = login(app, "engineer@acme.example", "not the password at all").await;
    let unknown = login(app, "nobody@acme.example", PASSWORD).await;
    let not_an_email = login(app, "engineer", PASSWORD).await;
    for response in [&wrong, &unknown, &not_an_email] {
        response.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, not_an_email.body);
    login(app, "engineer@acme.example", &"x".repeat(5000))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.call(
        Method::POST,
        "/v1/login",
        None,
        Some(json!({"username": "a"})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn logout_revokes_the_token_at_once(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let other_session = app.login("engineer@acme.example").await;
    let logout = app
        .call(Method::POST, "/v1/logout", Some(&acme.engineer), None)
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", &acme.engineer)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.call(Method::POST, "/v1/logout", Some(&acme.engineer), None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Only that session ended.
    assert_eq!(
        app.get("/v1/me", &other_session).await.status,
        StatusCode::OK
    );
}

async fn a_disabled_user_cannot_sign_in_and_loses_its_tokens(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let path = format!("/v1/users/{}/disable", acme.engineer_id);
    app.call(Method::POST, &path, Some(&globex.admin), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.call(Method::POST, &path, Some(&acme.manager), None)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        app.get("/v1/me", &acme.engineer).await.status,
        StatusCode::OK
    );

    let disabled = app.call(Method::POST, &path, Some(&acme.admin), None).await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.body["disabled"], true);
    app.get("/v1/me", &acme.engineer)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let again = login(app, "engineer@acme.example", PASSWORD).await;
    again.problem(StatusCode::FORBIDDEN, "account_disabled");
    // A wrong password on a disabled account reveals nothing more than on any account.
    login(app, "engineer@acme.example", "wrong password here")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let own = format!("/v1/users/{}/disable", acme.admin_id);
    app.call(Method::POST, &own, Some(&acme.admin), None)
        .await
        .problem(StatusCode::CONFLICT, "conflict");
}

async fn token_request(app: &TestApp, form: &str, basic: Option<&str>) -> crate::support::Response {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(basic) = basic {
        request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
    }
    app.send(request.body(Body::from(form.to_owned())).unwrap())
        .await
}

async fn create_client(app: &TestApp, admin: &str, role: &str) -> (String, String, String) {
    let created = app
        .post(
            "/v1/api-clients",
            admin,
            json!({"name": "Salesforce connector", "role": role}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let body = &created.body;
    assert!(body["clientId"].as_str().unwrap().starts_with("cb_ci_"));
    assert!(body["clientSecret"].as_str().unwrap().starts_with("cb_cs_"));
    (
        body["id"].as_str().unwrap().to_owned(),
        body["clientId"].as_str().unwrap().to_owned(),
        body["clientSecret"].as_str().unwrap().to_owned(),
    )
}

async fn api_clients_exchange_credentials_for_tokens(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let (_, client_id, secret) = create_client(app, &acme.admin, "engineer").await;

    let listed = app.get("/v1/api-clients", &acme.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(
        listed.body[0].get("clientSecret").is_none(),
        "the secret is shown once"
    );

    let form =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let issued = token_request(app, &form, None).await;
    assert_eq!(issued.status, StatusCode::OK, "{:?}", issued.body);
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["expires_in"], 3600);
    let token = issued.body["access_token"].as_str().unwrap();
    let me = app.get("/v1/me", token).await;
    assert_eq!(me.body["company"]["id"], acme.id.as_str());
    assert_eq!(me.body["user"], Value::Null);
    assert_eq!(me.body["role"], "engineer");
    // The client's role applies: an engineer client cannot manage users.
    app.get("/v1/users", token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");

    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let by_basic = token_request(app, "grant_type=client_credentials", Some(&basic)).await;
    assert_eq!(by_basic.status, StatusCode::OK);

    let wrong = token_request(
        app,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret=cb_cs_wrong"),
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["error"], "invalid_client");
    let unknown = token_request(
        app,
        &format!("grant_type=client_credentials&client_id=cb_ci_nobody&client_secret={secret}"),
        None,
    )
    .await;
    assert_eq!(unknown.body, wrong.body);
    let grant = token_request(
        app,
        &format!("grant_type=password&client_id={client_id}"),
        None,
    )
    .await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(grant.body["error"], "unsupported_grant_type");
    let missing = token_request(app, "client_id=x", None).await;
    assert_eq!(missing.body["error"], "invalid_request");
    let twice = token_request(app, &form, Some(&basic)).await;
    assert_eq!(twice.body["error"], "invalid_request");
}

async fn revoking_an_api_client_ends_its_tokens(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let (id, client_id, secret) = create_client(app, &acme.admin, "manager").await;
    let form =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let token = token_request(app, &form, None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/api-clients/{id}");
    app.call(Method::DELETE, &path, Some(&globex.admin), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let revoked = app
        .call(Method::DELETE, &path, Some(&acme.admin), None)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body["revokedAt"].is_string());
    app.get("/v1/me", &token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        token_request(app, &form, None).await.body["error"],
        "invalid_client"
    );
}

async fn only_admins_manage_api_clients(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    for token in [&acme.manager, &acme.engineer, &acme.auditor] {
        app.post(
            "/v1/api-clients",
            token,
            json!({"name": "x", "role": "engineer"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
        app.get("/v1/api-clients", token)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    app.post(
        "/v1/api-clients",
        &acme.admin,
        json!({"name": "x", "role": "root"}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let blank = app
        .post(
            "/v1/api-clients",
            &acme.admin,
            json!({"name": "  ", "role": "engineer"}),
        )
        .await;
    blank.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(blank.fields(), ["name"]);
}

/// Tokens stop working when they expire.
#[tokio::test]
async fn an_expired_token_is_refused() {
    let settings = AuthSettings {
        user_token_ttl: chrono::Duration::seconds(-1),
        ..AuthSettings::default()
    };
    let app = TestApp::on(TestDatabase::sqlite(), settings).await;
    let member = app
        .services
        .operator_create_member("Acme", &["acme.example".into()])
        .await
        .unwrap();
    app.services
        .operator_create_user(
            member.id,
            casebridge_service::NewUserInput {
                email: "ana@acme.example".into(),
                first_name: "Ana".into(),
                last_name: "Silva".into(),
                role: casebridge_domain::Role::Admin,
                password: secrecy::SecretString::from(PASSWORD),
            },
        )
        .await
        .unwrap();
    let token = app.login("ana@acme.example").await;
    app.get("/v1/me", &token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}
