//! Departments of a member.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

stories!(departments_are_managed_by_admins_and_managers_of_their_member);

async fn departments_are_managed_by_admins_and_managers_of_their_member(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let body = json!({"name": "Storage Support", "description": "Arrays", "tags": ["Storage", "san", "storage"]});
    let created = app
        .post("/v1/departments", &acme.manager, body.clone())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["tags"], json!(["san", "storage"]));
    assert_eq!(created.body["companyId"], acme.id.as_str());
    let id = created.body["id"].as_str().unwrap();

    for token in [&acme.engineer, &acme.auditor] {
        app.post("/v1/departments", token, body.clone())
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    app.post("/v1/departments", &acme.admin, body.clone())
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    let bad = app
        .post(
            "/v1/departments",
            &acme.admin,
            json!({"name": "", "tags": ["two words"]}),
        )
        .await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), ["name", "tags[0]"]);

    let path = format!("/v1/departments/{id}");
    let renamed = app
        .put(
            &path,
            &acme.admin,
            json!({"name": "Storage", "tags": ["san"]}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.body["name"], "Storage");
    app.put(&path, &globex.admin, json!({"name": "Mine now"}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");

    // Everyone in the member reads its departments; nobody else sees them.
    let listed = app.get("/v1/departments", &acme.engineer).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/v1/departments", &globex.admin).await.body,
        json!([])
    );
}
