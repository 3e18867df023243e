//! Member admins manage their own users.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::TestApp;

stories!(
    admins_create_and_list_their_own_users,
    users_are_checked_against_the_password_policy_and_domains,
    other_roles_and_members_cannot_reach_users,
    admins_change_roles_which_apply_at_once,
);

fn new_user(email: &str, password: &str) -> Value {
    json!({
        "email": email, "firstName": "Priya", "lastName": "Raman",
        "role": "engineer", "password": password
    })
}

async fn admins_create_and_list_their_own_users(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let long = "correct horse battery staple on a sunny afternoon by the sea, twice over";
    assert!(long.len() > 64);
    let created = app
        .post(
            "/v1/users",
            &acme.admin,
            new_user("priya@acme.example", long),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["email"], "priya@acme.example");
    assert_eq!(created.body["disabled"], false);
    assert!(created.body.get("password").is_none() && created.body.get("passwordHash").is_none());

    let listed = app.get("/v1/users", &acme.admin).await;
    let emails: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 5);
    assert!(emails.contains(&"priya@acme.example"));

    let id = created.body["id"].as_str().unwrap();
    let fetched = app.get(&format!("/v1/users/{id}"), &acme.admin).await;
    assert_eq!(fetched.body, created.body);

    // The new user can sign in with the long passphrase.
    let login = app
        .call(
            axum::http::Method::POST,
            "/v1/login",
            None,
            Some(json!({"username": "priya@acme.example", "password": long})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);

    app.post(
        "/v1/users",
        &acme.admin,
        new_user("PRIYA@acme.example", long),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
}

async fn users_are_checked_against_the_password_policy_and_domains(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let cases = [
        (new_user("priya@acme.example", "short"), "password"),
        (new_user("priya@acme.example", "password123!"), "password"),
        (new_user("priya@acme.example", "qwertyuiop"), "password"),
        (
            new_user("priya@elsewhere.example", "a fine long passphrase"),
            "email",
        ),
        (new_user("not an email", "a fine long passphrase"), "email"),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/users", &acme.admin, body).await;
        response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(response.fields(), [field]);
    }
    let mut blank = new_user("priya@acme.example", "a fine long passphrase");
    blank["firstName"] = json!("  ");
    blank["role"] = json!("engineer");
    let response = app.post("/v1/users", &acme.admin, blank).await;
    assert_eq!(response.fields(), ["firstName"]);
    let mut bad_role = new_user("priya@acme.example", "a fine long passphrase");
    bad_role["role"] = json!("superuser");
    app.post("/v1/users", &acme.admin, bad_role)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        app.get("/v1/users", &acme.admin)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

async fn other_roles_and_members_cannot_reach_users(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    for token in [&acme.manager, &acme.engineer, &acme.auditor] {
        app.get("/v1/users", token)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.post(
            "/v1/users",
            token,
            new_user("x@acme.example", "a fine long passphrase"),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let path = format!("/v1/users/{}", acme.engineer_id);
    app.get(&path, &globex.admin)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let missing = app
        .get(
            "/v1/users/01a22508-a5bb-7557-b71d-fbc0588e187b",
            &globex.admin,
        )
        .await;
    missing.problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get(&path, &globex.admin).await.body,
        missing.body,
        "another member's user answers exactly like one that does not exist"
    );
    // Globex cannot create users on Acme's domain.
    let response = app
        .post(
            "/v1/users",
            &globex.admin,
            new_user("spy@acme.example", "a fine long passphrase"),
        )
        .await;
    assert_eq!(response.fields(), ["email"]);
}

async fn admins_change_roles_which_apply_at_once(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let path = format!("/v1/users/{}/role", acme.engineer_id);
    // The engineer cannot manage users yet.
    app.get("/v1/users", &acme.engineer)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // Only the member's admin may change it: not a manager, not another member's admin.
    app.put(&path, &acme.manager, json!({"role": "admin"}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.put(&path, &globex.admin, json!({"role": "admin"}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.put(&path, &acme.admin, json!({"role": "owner"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let changed = app.put(&path, &acme.admin, json!({"role": "admin"})).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["role"], "admin");
    // The engineer's existing token carries the new role at once.
    let listed = app.get("/v1/users", &acme.engineer).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    // An admin cannot change their own role, so no company loses its last admin by mistake.
    app.put(
        &format!("/v1/users/{}/role", acme.admin_id),
        &acme.admin,
        json!({"role": "engineer"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "conflict");
    assert!(app
        .audit_actions(&acme.admin)
        .await
        .contains(&"user.role_changed".to_owned()));
}
