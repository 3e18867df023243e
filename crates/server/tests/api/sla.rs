//! The response clock's reminders and breach, each recorded once, and the SLA report.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{json, Value};
use sqlx::Row;

use casebridge_service::clock::Clock;

use crate::support::TestApp;
use crate::webhooks::{open_case_with, partners};

stories!(
    reminders_and_the_breach_come_once_each_as_notes_and_events,
    the_sla_report_counts_what_a_member_received_per_priority,
);

/// The case's outbox events as (type, member) pairs, in order.
async fn events(app: &TestApp, token: &str) -> Vec<(String, String)> {
    sqlx::query(
        "SELECT event_type, member_id FROM outbox_events WHERE aggregate = $1 \
         ORDER BY aggregate_seq, member_id",
    )
    .bind(token)
    .fetch_all(app.store.pool())
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get("event_type"), row.get("member_id")))
    .collect()
}

async fn system_notes(app: &TestApp, token: &str, reader: &str) -> Vec<String> {
    let notes = app
        .get(&format!("/v1/collaboration-requests/{token}/notes"), reader)
        .await;
    notes
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["authorName"] == "Casebridge")
        .map(|n| n["summary"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn reminders_and_the_breach_come_once_each_as_notes_and_events(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    // HIGH: a first response within 4 hours.
    let token = open_case_with(app, &acme, &document_id, "ACME-1", "HIGH").await;
    let reminders = |events: &[(String, String)]| {
        events
            .iter()
            .filter(|(t, _)| t == "case.sla_reminder")
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    };
    app.clock.advance(Duration::minutes(119));
    app.services.sweep_cases().await.unwrap();
    assert!(
        reminders(&events(app, &token).await).is_empty(),
        "not yet half"
    );

    app.clock.advance(Duration::minutes(2));
    app.services.sweep_cases().await.unwrap();
    app.services.sweep_cases().await.unwrap();
    assert_eq!(
        reminders(&events(app, &token).await),
        std::slice::from_ref(&globex.id),
        "once, to the receiver"
    );
    assert_eq!(
        system_notes(app, &token, &acme.engineer).await,
        ["Half of the response time has passed"]
    );

    // A tenth of the window (24 minutes) before the target: due soon.
    app.clock.advance(Duration::minutes(96));
    app.services.sweep_cases().await.unwrap();
    assert_eq!(reminders(&events(app, &token).await).len(), 2);

    // Past the target: the breach, once, for both sides, with a note on the case.
    app.clock.advance(Duration::minutes(30));
    app.services.sweep_cases().await.unwrap();
    app.services.sweep_cases().await.unwrap();
    let all = events(app, &token).await;
    let breaches: Vec<&String> = all
        .iter()
        .filter(|(t, _)| t == "case.sla_breached")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(breaches.len(), 2, "one event for each company: {all:?}");
    assert_eq!(reminders(&all).len(), 2, "no reminder after the target");
    let notes = system_notes(app, &token, &globex.engineer).await;
    assert_eq!(
        notes,
        [
            "Half of the response time has passed",
            "The response is due soon",
            "Response target missed"
        ]
    );
    let case = app
        .get(
            &format!("/v1/collaboration-requests/{token}"),
            &acme.engineer,
        )
        .await;
    assert_eq!(case.body["overdue"], true, "{:?}", case.body);

    // A case answered in time gets no reminder at all.
    let answered = open_case_with(app, &acme, &document_id, "ACME-2", "HIGH").await;
    let approved = app
        .post(
            &format!("/v1/collaboration-requests/{answered}/approval"),
            &globex.engineer,
            json!({"caseNumber": "G-2", "engineerName": "Ken", "engineerEmail": "engineer@globex.example"}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    app.clock.advance(Duration::hours(5));
    app.services.sweep_cases().await.unwrap();
    assert!(reminders(&events(app, &answered).await).is_empty());
}

async fn the_sla_report_counts_what_a_member_received_per_priority(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    let from = (app.clock.now() - Duration::minutes(1)).to_rfc3339();
    let approve = |token: String| {
        let globex = &globex;
        async move {
            let approved = app
                .post(
                    &format!("/v1/collaboration-requests/{token}/approval"),
                    &globex.engineer,
                    json!({"caseNumber": "G", "engineerName": "Ken", "engineerEmail": "engineer@globex.example"}),
                )
                .await;
            assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
        }
    };
    // HIGH (4 h): one answered after 1 hour, one after 6 hours (breached first), one never.
    let quick = open_case_with(app, &acme, &document_id, "A-1", "HIGH").await;
    let late = open_case_with(app, &acme, &document_id, "A-2", "HIGH").await;
    let never = open_case_with(app, &acme, &document_id, "A-3", "HIGH").await;
    // LOW (72 h): answered after 1 hour.
    let low = open_case_with(app, &acme, &document_id, "A-4", "LOW").await;
    app.clock.advance(Duration::hours(1));
    approve(quick).await;
    approve(low).await;
    app.clock.advance(Duration::hours(4));
    app.services.sweep_cases().await.unwrap();
    app.clock.advance(Duration::hours(1));
    approve(late).await;
    let _ = never;
    let to = (app.clock.now() + Duration::minutes(1)).to_rfc3339();
    let query = serde_urlencoded_pair(&from, &to);

    let report = app
        .get(&format!("/v1/reports/sla?{query}"), &globex.manager)
        .await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    let overall = &report.body["overall"];
    assert_eq!(overall["requestsReceived"], 4);
    assert_eq!(overall["responded"], 3);
    assert_eq!(overall["respondedWithinTarget"], 2);
    assert_eq!(overall["breached"], 2);
    assert_eq!(overall["medianFirstResponseSeconds"], 3600);
    assert_eq!(overall["p90FirstResponseSeconds"], 6 * 3600);
    let high = priority(&report.body, "HIGH");
    assert_eq!(high["requestsReceived"], 3);
    assert_eq!(high["respondedWithinTarget"], 1);
    assert_eq!(high["medianFirstResponseSeconds"], 3600);
    let low = priority(&report.body, "LOW");
    assert_eq!(low["requestsReceived"], 1);
    assert_eq!(low["respondedWithinTarget"], 1);
    assert_eq!(priority(&report.body, "MEDIUM")["requestsReceived"], 0);
    assert_eq!(
        priority(&report.body, "MEDIUM")["medianFirstResponseSeconds"],
        Value::Null
    );

    // The submitter received nothing; an auditor may read it, an engineer may not.
    let acme_report = app
        .get(&format!("/v1/reports/sla?{query}"), &acme.auditor)
        .await;
    assert_eq!(acme_report.body["overall"]["requestsReceived"], 0);
    app.get("/v1/reports/sla", &globex.engineer)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let backwards = serde_urlencoded_pair(&to, &from);
    app.get(&format!("/v1/reports/sla?{backwards}"), &globex.manager)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v1/reports/sla?from=yesterday", &globex.manager)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

fn priority<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["byPriority"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["priority"] == name)
        .unwrap()
}

fn serde_urlencoded_pair(from: &str, to: &str) -> String {
    serde_urlencoded::to_string([("from", from), ("to", to)]).unwrap()
}
