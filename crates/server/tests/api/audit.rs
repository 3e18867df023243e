//! The member's audit trail over the API.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

stories!(
    admins_and_auditors_read_their_own_members_events,
    audit_events_hold_identifiers_not_personal_data,
    audit_queries_are_paged_filtered_and_bounded,
);

async fn admins_and_auditors_read_their_own_members_events(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.post("/v1/departments", &acme.admin, json!({"name": "Storage"}))
        .await;
    for token in [&acme.admin, &acme.auditor] {
        let page = app.get("/v1/audit-events", token).await;
        assert_eq!(page.status, StatusCode::OK);
        let actions: Vec<&str> = page.body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions[0], "department.created");
        assert!(actions.contains(&"member.created") && actions.contains(&"session.login"));
    }
    for token in [&acme.manager, &acme.engineer] {
        app.get("/v1/audit-events", token)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let theirs = app
        .get("/v1/audit-events?action=department.created", &globex.admin)
        .await;
    assert_eq!(theirs.body["totalElements"], 0);
}

async fn audit_events_hold_identifiers_not_personal_data(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    app.call(
        axum::http::Method::POST,
        "/v1/login",
        None,
        Some(json!({"username": "engineer@acme.example", "password": "a wrong guess here"})),
    )
    .await;
    let page = app.get("/v1/audit-events?size=200", &acme.auditor).await;
    let text = page.body.to_string();
    assert!(text.contains("session.login_failed"));
    assert!(text.contains(&acme.engineer_id));
    assert!(
        !text.contains("acme.example"),
        "no email addresses in the audit trail"
    );
    assert!(
        !text.contains("a wrong guess"),
        "no passwords in the audit trail"
    );
    assert!(!text.contains("Test"), "no names in the audit trail");
}

async fn audit_queries_are_paged_filtered_and_bounded(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    for name in ["A", "B", "C"] {
        app.post("/v1/departments", &acme.admin, json!({"name": name}))
            .await;
    }
    let page = app
        .get(
            "/v1/audit-events?action=department.created&size=2&page=1",
            &acme.admin,
        )
        .await;
    assert_eq!(page.body["totalElements"], 3);
    assert_eq!(page.body["totalPages"], 2);
    assert_eq!(page.body["content"].as_array().unwrap().len(), 1);
    let by_actor = app
        .get(
            &format!(
                "/v1/audit-events?actorId={}&action=department.created",
                acme.admin_id
            ),
            &acme.admin,
        )
        .await;
    assert_eq!(by_actor.body["totalElements"], 3);
    let future = app
        .get("/v1/audit-events?since=2999-01-01T00:00:00Z", &acme.admin)
        .await;
    assert_eq!(future.body["totalElements"], 0);
    let too_big = app.get("/v1/audit-events?size=1000", &acme.admin).await;
    too_big.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(too_big.fields(), ["size"]);
    app.get("/v1/audit-events?since=yesterday", &acme.admin)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v1/audit-events?owner=x", &acme.admin)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}
