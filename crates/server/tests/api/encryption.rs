//! Encryption at rest: what the database holds of a case is ciphertext bound to its place;
//! changed or moved ciphertext does not open; rotating the master key keeps data readable.

use std::sync::Arc;

use axum::http::StatusCode;
use casebridge_service::Services;
use casebridge_store::crypto::Keyring;
use casebridge_store::SqlStore;
use serde_json::json;
use sqlx::Row;

use crate::sharing::{case_path, request, world, EMAIL, HOST, IP, PASSWORD};
use crate::support::{TestApp, MASTER_KEY};

stories!(
    case_content_is_ciphertext_in_the_database,
    changed_or_moved_ciphertext_does_not_open,
    rotating_the_master_key_keeps_every_case_readable,
);

const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

async fn open_case_with_a_note(app: &TestApp) -> (crate::sharing::World, String) {
    let w = world(app).await;
    let token = another_case(app, &w).await;
    (w, token)
}

async fn another_case(app: &TestApp, w: &crate::sharing::World) -> String {
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let token = created.body["token"].as_str().unwrap().to_owned();
    for (summary, description) in [("first", "the array at {IP}"), ("second", "still down")] {
        let note = app
            .post(
                &case_path(&token, "/notes"),
                &w.acme.engineer,
                json!({"summary": summary, "description": description.replace("{IP}", IP)}),
            )
            .await;
        assert_eq!(note.status, StatusCode::CREATED);
    }
    token
}

/// Every text column of the tables that hold case content, as stored.
async fn stored_texts(app: &TestApp, token: &str) -> Vec<String> {
    let queries = [
        "SELECT problem_summary AS t FROM collaboration_requests WHERE token = $1",
        "SELECT problem_description AS t FROM collaboration_requests WHERE token = $1",
        "SELECT custom_fields AS t FROM collaboration_requests WHERE token = $1",
        "SELECT summary AS t FROM case_notes WHERE case_token = $1",
        "SELECT description AS t FROM case_notes WHERE case_token = $1",
        "SELECT original AS t FROM case_vault WHERE case_token = $1",
        "SELECT authorized_by_name AS t FROM customer_authorizations WHERE case_token = $1",
        "SELECT authorized_by_email AS t FROM customer_authorizations WHERE case_token = $1",
    ];
    let mut texts = Vec::new();
    for query in queries {
        for row in sqlx::query(query)
            .bind(token)
            .fetch_all(app.store.pool())
            .await
            .unwrap()
        {
            texts.push(row.get::<String, _>("t"));
        }
    }
    texts
}

async fn case_content_is_ciphertext_in_the_database(app: &TestApp) {
    let (w, token) = open_case_with_a_note(app).await;
    let texts = stored_texts(app, &token).await;
    assert!(texts.len() >= 10, "{texts:?}");
    for text in &texts {
        assert!(text.starts_with("enc1:"), "stored in clear: {text}");
        for value in [
            IP,
            EMAIL,
            PASSWORD,
            HOST,
            "Jane Customer",
            "replication",
            "array",
        ] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }
    // Through the API, each side still reads what it may.
    let owner = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert!(owner.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(IP));
    assert_eq!(
        owner.body["customerAuthorization"]["authorizedBy"]["name"],
        "Jane Customer"
    );
    let wrapped: String = sqlx::query("SELECT wrapped_key FROM case_keys WHERE case_token = $1")
        .bind(&token)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .get("wrapped_key");
    assert!(wrapped.starts_with("enc1:"));
}

async fn changed_or_moved_ciphertext_does_not_open(app: &TestApp) {
    let (w, token) = open_case_with_a_note(app).await;
    let pool = app.store.pool();
    // One note's text moved onto the other note: refused, not shown as the other note's.
    sqlx::query(
        "UPDATE case_notes SET description = (SELECT description FROM case_notes \
         WHERE case_token = $1 AND summary <> (SELECT MIN(summary) FROM case_notes WHERE case_token = $1) LIMIT 1) \
         WHERE case_token = $1 AND summary = (SELECT MIN(summary) FROM case_notes WHERE case_token = $1)",
    )
    .bind(&token)
    .execute(pool)
    .await
    .unwrap();
    app.get(&case_path(&token, "/notes"), &w.acme.engineer)
        .await
        .problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");

    // A case's summary moved into its description: refused.
    let other = another_case(app, &w).await;
    sqlx::query(
        "UPDATE collaboration_requests SET problem_description = problem_summary WHERE token = $1",
    )
    .bind(&other)
    .execute(pool)
    .await
    .unwrap();
    app.get(&case_path(&other, ""), &w.acme.engineer)
        .await
        .problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    // One flipped character: refused.
    let summary: String =
        sqlx::query("SELECT problem_summary FROM collaboration_requests WHERE token = $1")
            .bind(&token)
            .fetch_one(pool)
            .await
            .unwrap()
            .get("problem_summary");
    let mut flipped = summary.clone().into_bytes();
    let at = flipped.len() - 3;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    sqlx::query("UPDATE collaboration_requests SET problem_summary = $2 WHERE token = $1")
        .bind(&token)
        .bind(String::from_utf8(flipped).unwrap())
        .execute(pool)
        .await
        .unwrap();
    app.get(&case_path(&token, ""), &w.acme.engineer)
        .await
        .problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
}

async fn rotating_the_master_key_keeps_every_case_readable(app: &TestApp) {
    let (w, token) = open_case_with_a_note(app).await;
    let connect = |keys: String| {
        let url = app.db.url.clone();
        async move {
            SqlStore::connect(&url)
                .await
                .unwrap()
                .with_keyring(Keyring::parse(&keys).unwrap())
        }
    };
    // The new key goes first in the file, the old one stays until the re-wrap is done.
    let rotating = connect(format!("{NEW_KEY}\n{MASTER_KEY}\n")).await;
    assert_eq!(rotating.rewrap_case_keys().await.unwrap(), (1, 1));
    assert_eq!(
        rotating.rewrap_case_keys().await.unwrap(),
        (0, 1),
        "idempotent"
    );
    rotating.close().await;

    // Without the old key now: everything still reads.
    let rotated = connect(format!("{NEW_KEY}\n")).await;
    let services = Services::new(Arc::new(rotated.clone()), Default::default());
    let router = casebridge_server::app(services);
    let response = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::builder()
            .uri(case_path(&token, ""))
            .header("authorization", format!("Bearer {}", w.acme.engineer))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let case: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(case["problemDescription"].as_str().unwrap().contains(IP));
    rotated.close().await;

    // The old key alone no longer opens the case: its data key was re-wrapped.
    app.get(&case_path(&token, ""), &w.acme.engineer)
        .await
        .problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
}
