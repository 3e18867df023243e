//! Nothing of a customer's personal data reaches the logs or the audit trail, whatever the
//! flow: creation, notes, customer link, disclosure, revocation, erasure.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::sharing::{case_path, request, world, EMAIL, HOST, IP, PASSWORD};
use crate::support::TestApp;

stories!(no_seeded_personal_data_reaches_logs_or_audit_events);

/// Log lines, captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn no_seeded_personal_data_reaches_logs_or_audit_events(app: &TestApp) {
    // One subscriber for the whole test binary, from here on: every story's logs count,
    // and all of them must be free of personal data.
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test sets a global subscriber");
        captured
    });

    let w = world(app).await;
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let note = json!({"summary": format!("see {IP}"), "description": format!("{EMAIL} said password={PASSWORD}")});
    app.post(
        &case_path(&token, "/preview"),
        &w.acme.engineer,
        note.clone(),
    )
    .await;
    app.post(&case_path(&token, "/notes"), &w.acme.engineer, note)
        .await;
    app.post(
        &case_path(&token, "/notes"),
        &w.globex.engineer,
        json!({"summary": "reply", "description": format!("is {HOST} reachable?")}),
    )
    .await;
    // A request that fails validation echoes nothing of its body into the logs either.
    let mut invalid = request(&w);
    invalid["problemSummary"] = json!(format!("{EMAIL}\n{IP}"));
    app.post("/v1/collaboration-requests", &w.acme.engineer, invalid)
        .await;

    // A customer link, answered, withdrawn.
    let mut linked = request(&w);
    linked["customerAuthorization"] = json!({
        "method": "CUSTOMER_LINK",
        "authorizedBy": {"name": "Jane Customer", "email": "jane@customer.example"},
        "purpose": "Resolve the replication failure",
        "dataCategories": ["HOSTNAMES"]
    });
    let pending = app
        .post("/v1/collaboration-requests", &w.acme.engineer, linked)
        .await;
    let url = pending.body["authorizationUrl"].as_str().unwrap();
    let link = url
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap()
        .to_owned();
    for decision in ["authorize", "revoke"] {
        let answer = app
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri(&link)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(format!("decision={decision}")))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    app.post(
        "/v1/erasures",
        &w.acme.admin,
        json!({"subjectEmail": "jane@customer.example"}),
    )
    .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "requests were logged: {logs}");
    let link_secret = link.trim_start_matches("/authorize/");
    let seeded = [
        IP,
        EMAIL,
        PASSWORD,
        HOST,
        "jane@customer.example",
        "Jane Customer",
        "Priya Raman",
        "replication",
        link_secret,
        &w.acme.engineer,
    ];
    for value in seeded {
        assert!(!logs.contains(value), "the logs hold {value:?}:\n{logs}");
    }
    for member in [&w.acme, &w.globex] {
        let audit = app.get("/v1/audit-events?size=200", &member.admin).await;
        assert_eq!(audit.status, StatusCode::OK);
        assert!(audit.body["totalElements"].as_u64().unwrap() > 10);
        for value in seeded {
            assert!(
                !audit.text.contains(value),
                "the audit trail holds {value:?}"
            );
        }
    }
}
