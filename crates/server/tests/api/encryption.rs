//! Encryption at rest: what the database holds of a case is ciphertext bound to its place;
//! changed or moved ciphertext does not open; rotating the master key keeps data readable.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use casebridge_service::Services;
use casebridge_store::crypto::Keyring;
use casebridge_store::SqlStore;
use chrono::Duration;
use serde_json::json;
use sqlx::Row;

use crate::sharing::{case_path, request, world, EMAIL, HOST, IP, PASSWORD};
use crate::support::{TestApp, MASTER_KEY};

stories!(
    case_content_is_ciphertext_in_the_database,
    changed_or_moved_ciphertext_does_not_open,
    rotating_the_master_key_keeps_every_case_readable,
    content_is_erased_after_retention_unless_held,
    a_data_subject_is_erased_across_cases_by_blind_index,
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
    // The subject index key was re-wrapped too: erasure still finds the customer.
    let erasure = casebridge_store::CaseStore::erase_subject(
        &rotated,
        None,
        "jane@customer.example",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(erasure.erased.len(), 1);
    rotated.close().await;

    // The old key alone no longer opens the platform's keys: they were re-wrapped.
    app.post(
        "/v1/erasures",
        &w.acme.admin,
        json!({"subjectEmail": "jane@customer.example"}),
    )
    .await
    .problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
}

async fn content_is_erased_after_retention_unless_held(app: &TestApp) {
    let (w, token) = open_case_with_a_note(app).await;
    let held = another_case(app, &w).await;
    let revoked = another_case(app, &w).await;
    for case in [&token, &held] {
        let closed = app
            .post(
                &case_path(case, "/closure"),
                &w.acme.engineer,
                json!({"reason": "fixed"}),
            )
            .await;
        assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    }
    let withdrawn = app
        .post(
            &case_path(&revoked, "/authorization/revocation"),
            &w.acme.engineer,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK);

    // Legal holds: admins of either company, on cases of their own.
    let hold = case_path(&held, "/legal-hold");
    app.call(Method::PUT, &hold, Some(&w.globex.engineer), None)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.call(Method::PUT, &hold, None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let stranger = app.member("Initech", "initech.example").await;
    app.call(Method::PUT, &hold, Some(&stranger.admin), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let placed = app
        .call(Method::PUT, &hold, Some(&w.globex.admin), None)
        .await;
    assert_eq!(placed.status, StatusCode::OK, "{:?}", placed.body);
    let again = app
        .call(Method::PUT, &hold, Some(&w.globex.admin), None)
        .await;
    assert_eq!(
        again.body["placedAt"], placed.body["placedAt"],
        "idempotent"
    );
    let seen = app.get(&case_path(&held, ""), &w.globex.engineer).await;
    assert_eq!(seen.body["legalHoldPlacedAt"], placed.body["placedAt"]);
    let other_side = app.get(&case_path(&held, ""), &w.acme.engineer).await;
    assert!(
        other_side.body["legalHoldPlacedAt"].is_null(),
        "each company's own hold"
    );

    // Within the partnership's 30 days nothing is erased.
    app.clock.advance(Duration::days(29));
    assert_eq!(app.services.purge_expired_cases().await.unwrap(), 0);
    let before = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert!(before.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(IP));

    // After them, the closed and the revoked case are erased; the held one is kept.
    app.clock.advance(Duration::days(2));
    assert_eq!(app.services.purge_expired_cases().await.unwrap(), 2);
    assert_eq!(app.services.purge_expired_cases().await.unwrap(), 0, "once");
    for who in [&w.acme, &w.globex] {
        let erased = app.get(&case_path(&token, ""), &who.engineer).await;
        assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
        assert!(erased.body["contentErasedAt"].is_string());
        assert_eq!(erased.body["problemSummary"], "[erased]");
        assert_eq!(erased.body["problemDescription"], "[erased]");
        assert_eq!(erased.body["customFields"], json!([]));
        assert_eq!(erased.body["protectedValues"], json!([]));
        // Metadata remains: companies, case numbers, priority, status history, dates.
        assert_eq!(erased.body["internalCaseNumber"], "ACME-7");
        assert_eq!(erased.body["status"], "CLOSED");
        assert_eq!(erased.body["priority"], "HIGH");
        assert_eq!(erased.body["receiver"]["companyName"], "Globex");
        assert!(erased.body["caseResponses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["text"] == "[erased]"));
        let notes = app.get(&case_path(&token, "/notes"), &who.engineer).await;
        assert!(notes
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["description"] == "[erased]"));
        for value in [IP, EMAIL, PASSWORD, HOST, "Jane Customer"] {
            assert!(
                !erased.text.contains(value) && !notes.text.contains(value),
                "{value}"
            );
        }
    }
    let live = app.get(&case_path(&revoked, ""), &w.acme.engineer).await;
    assert_eq!(live.body["status"], "CLOSED", "an erased live case ends");
    assert_eq!(live.body["problemDescription"], "[erased]");
    let kept = app.get(&case_path(&held, ""), &w.acme.engineer).await;
    assert!(kept.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(IP));
    // In the database: the data key is gone, so the ciphertext left behind is noise.
    let wrapped: Option<String> =
        sqlx::query("SELECT wrapped_key FROM case_keys WHERE case_token = $1")
            .bind(&token)
            .fetch_one(app.store.pool())
            .await
            .unwrap()
            .get("wrapped_key");
    assert!(wrapped.is_none());
    let vault: i64 = sqlx::query("SELECT COUNT(*) AS n FROM case_vault WHERE case_token = $1")
        .bind(&token)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(vault, 0);

    // Releasing the hold lets retention apply; nothing is left to hold afterwards.
    let released = app
        .call(Method::DELETE, &hold, Some(&w.globex.admin), None)
        .await;
    assert_eq!(released.status, StatusCode::NO_CONTENT);
    assert_eq!(app.services.purge_expired_cases().await.unwrap(), 1);
    app.call(Method::PUT, &hold, Some(&w.globex.admin), None)
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    let actions = app.audit_actions(&w.globex.admin).await;
    for action in [
        "case.legal_hold_placed",
        "case.legal_hold_released",
        "case.purged",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn a_data_subject_is_erased_across_cases_by_blind_index(app: &TestApp) {
    let w = world(app).await;
    let first = another_case(app, &w).await;
    let second = another_case(app, &w).await;
    let third = another_case(app, &w).await;
    // Another case names someone else only.
    let mut other = request(&w);
    other["customerAuthorization"]["authorizedBy"]["email"] = json!("sam@elsewhere.example");
    let fields = other["customFields"].as_array_mut().unwrap();
    fields.retain(|f| f["value"] != EMAIL);
    let unrelated = app
        .post("/v1/collaboration-requests", &w.acme.engineer, other)
        .await;
    assert_eq!(
        unrelated.status,
        StatusCode::CREATED,
        "{:?}",
        unrelated.body
    );
    let unrelated = unrelated.body["token"].as_str().unwrap().to_owned();
    let hold = app
        .call(
            Method::PUT,
            &case_path(&second, "/legal-hold"),
            Some(&w.acme.admin),
            None,
        )
        .await;
    assert_eq!(hold.status, StatusCode::OK);

    // The index holds no address.
    let blinds: Vec<String> = sqlx::query("SELECT blind FROM subject_index")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("blind"))
        .collect();
    assert!(!blinds.is_empty());
    assert!(blinds.iter().all(|b| b.len() == 64 && !b.contains('@')));

    // Who may ask, and for what.
    let erase = |who: &str, body: serde_json::Value| {
        let who = who.to_owned();
        async move { app.post("/v1/erasures", &who, body).await }
    };
    erase(
        &w.acme.engineer,
        json!({"subjectEmail": "jane@customer.example"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    let bad = erase(&w.acme.admin, json!({"subjectEmail": "not an address"})).await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), ["subjectEmail"]);
    // The receiving company does not hold the customer's data: it erases nothing here.
    let theirs = erase(
        &w.globex.admin,
        json!({"subjectEmail": "jane@customer.example"}),
    )
    .await;
    assert_eq!(theirs.body["erased"], json!([]));

    // The customer who authorized, in any letter case.
    let erased = erase(
        &w.acme.admin,
        json!({"subjectEmail": "Jane@Customer.example"}),
    )
    .await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    let mut expected = vec![first.clone(), third.clone()];
    expected.sort();
    assert_eq!(
        erased.body["erased"],
        json!(expected),
        "several cases at once"
    );
    assert_eq!(erased.body["heldByLegalHold"], json!([second]));
    let gone = app.get(&case_path(&first, ""), &w.globex.engineer).await;
    assert_eq!(gone.body["problemDescription"], "[erased]");
    assert!(gone.body["contentErasedAt"].is_string());
    let kept = app.get(&case_path(&unrelated, ""), &w.acme.engineer).await;
    assert!(kept.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(IP));
    let held = app.get(&case_path(&second, ""), &w.acme.engineer).await;
    assert!(held.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(IP));
    // Erasing again finds nothing more; the audit names cases, never the address.
    let again = erase(
        &w.acme.admin,
        json!({"subjectEmail": "jane@customer.example"}),
    )
    .await;
    assert_eq!(again.body["erased"], json!([]));
    let audit = app
        .get("/v1/audit-events?action=case.subject_erased", &w.acme.admin)
        .await;
    assert_eq!(audit.body["totalElements"], 2, "{:?}", audit.body);
    assert!(!audit.text.contains("jane@") && !audit.text.contains("customer.example"));

    // An email field names a person too: the held case carries this address in its
    // callback field and is found by it; the unrelated case, without it, is not.
    let by_field = erase(&w.acme.admin, json!({"subjectEmail": EMAIL})).await;
    assert_eq!(by_field.body["erased"], json!([]), "{:?}", by_field.body);
    assert_eq!(by_field.body["heldByLegalHold"], json!([second]));
}
