//! The framework agreement.

use axum::http::{Method, StatusCode};

use crate::support::TestApp;

stories!(
    admins_accept_the_current_agreement_once,
    only_the_current_version_can_be_accepted,
);

async fn admins_accept_the_current_agreement_once(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    app.get("/v1/agreements/current", &acme.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let id = app
        .publish_agreement("Members share only what is needed.")
        .await;
    let current = app.get("/v1/agreements/current", &acme.engineer).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.body["version"], 1);
    assert_eq!(current.body["text"], "Members share only what is needed.");
    assert_eq!(current.body["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(current.body["acceptedByMyCompany"], false);

    let path = format!("/v1/agreements/{id}/acceptance");
    for token in [&acme.manager, &acme.engineer, &acme.auditor] {
        app.call(Method::POST, &path, Some(token), None)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let accepted = app.call(Method::POST, &path, Some(&acme.admin), None).await;
    assert_eq!(accepted.status, StatusCode::CREATED);
    assert_eq!(accepted.body["acceptedBy"], acme.admin_id.as_str());
    assert_eq!(accepted.body["textSha256"], current.body["sha256"]);
    assert_eq!(
        app.get("/v1/agreements/current", &acme.auditor).await.body["acceptedByMyCompany"],
        true
    );
    app.call(Method::POST, &path, Some(&acme.admin), None)
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // An admin API client cannot bind the company to legal terms.
    let client = app
        .post(
            "/v1/api-clients",
            &acme.admin,
            serde_json::json!({"name": "bot", "role": "admin"}),
        )
        .await;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.body["clientId"].as_str().unwrap(),
        client.body["clientSecret"].as_str().unwrap()
    );
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .unwrap();
    let token = app.send(request).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v2 = app.publish_agreement("Version two").await;
    app.call(
        Method::POST,
        &format!("/v1/agreements/{v2}/acceptance"),
        Some(&token),
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn only_the_current_version_can_be_accepted(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let v1 = app.publish_agreement("Version one").await;
    let v2 = app.publish_agreement("Version two").await;
    let current = app.get("/v1/agreements/current", &acme.admin).await;
    assert_eq!(current.body["version"], 2);
    assert_eq!(current.body["id"], v2.as_str());
    app.call(
        Method::POST,
        &format!("/v1/agreements/{v1}/acceptance"),
        Some(&acme.admin),
        None,
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    app.call(
        Method::POST,
        "/v1/agreements/01a22508-a5bb-7557-b71d-fbc0588e187b/acceptance",
        Some(&acme.admin),
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
}
