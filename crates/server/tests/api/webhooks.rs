//! Webhooks end to end, in-process: the API subscribes, changes write events to the
//! outbox, and the real dispatcher delivers them over loopback HTTP to a receiver the
//! test controls (up, down, slow, huge).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::post;
use casebridge_jobs::{DispatchSettings, Dispatcher};
use casebridge_service::webhooks::WebhookPolicy;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::support::{Member, TestApp};

stories!(
    admins_subscribe_and_bad_callbacks_are_refused,
    every_event_reaches_the_members_allowed_to_know_signed_and_in_order,
    a_receiver_that_was_down_gets_every_event_in_order,
    retries_end_and_a_failed_delivery_can_be_sent_again,
    the_dispatcher_refuses_callbacks_the_operator_no_longer_allows,
    a_slow_or_huge_response_does_not_hold_up_other_deliveries,
    a_month_later_finished_deliveries_are_pruned_and_pending_ones_stay,
    a_dispatcher_stops_when_told_or_when_its_owner_goes_away,
    customer_decisions_and_partnership_endings_reach_whom_they_concern,
);

/// How the receiver answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Down,
    Slow,
    Huge,
}

#[derive(Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    modes: Arc<Mutex<HashMap<String, Mode>>>,
    attempts: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, base)
    }

    fn set(&self, path: &str, mode: Mode) {
        self.modes.lock().unwrap().insert(path.to_owned(), mode);
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    receiver.attempts.fetch_add(1, Ordering::SeqCst);
    let path = uri.path().to_owned();
    let mode = receiver
        .modes
        .lock()
        .unwrap()
        .get(&path)
        .copied()
        .unwrap_or(Mode::Ok);
    match mode {
        Mode::Down => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        }
        Mode::Huge => {
            receiver.got.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            // 64 MiB: the dispatcher must stop reading long before the end.
            (StatusCode::OK, Body::from(vec![b'x'; 64 << 20])).into_response()
        }
        Mode::Ok => {
            receiver.got.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// Dispatcher settings with quick retries.
pub(crate) fn quick_settings() -> DispatchSettings {
    DispatchSettings {
        node: "test-node".into(),
        lease: Duration::from_secs(30),
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        request_timeout: Duration::from_millis(800),
        idle_poll: Duration::from_millis(25),
        source: "http://casebridge.test".into(),
        ..DispatchSettings::default()
    }
}

/// Runs `dispatcher` until the returned sender is dropped.
pub(crate) fn run_dispatcher(dispatcher: Dispatcher) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(Arc::new(dispatcher).run(stopped));
    stop
}

/// A dispatcher with quick retries, running until the returned sender is dropped.
fn dispatch(
    app: &TestApp,
    policy: WebhookPolicy,
    tweak: impl FnOnce(&mut DispatchSettings),
) -> watch::Sender<bool> {
    let mut settings = quick_settings();
    tweak(&mut settings);
    run_dispatcher(Dispatcher::new(
        Arc::new(app.store.clone()),
        policy,
        settings,
    ))
}

pub(crate) fn loopback() -> WebhookPolicy {
    WebhookPolicy::new(["127.0.0.1".to_owned()])
}

/// Waits (up to 20 s) until `done` holds.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn subscribe(
    app: &TestApp,
    member: &Member,
    url: &str,
    types: Option<Value>,
) -> (String, String) {
    let mut body = json!({"callbackUrl": url});
    if let Some(types) = types {
        body["eventTypes"] = types;
    }
    let created = app.post("/v1/webhooks", &member.admin, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    (
        created.body["id"].as_str().unwrap().to_owned(),
        created.body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Posts `body` as `by` and checks the answer's status.
async fn post_expect(
    app: &TestApp,
    path: &str,
    by: &str,
    body: Value,
    status: StatusCode,
) -> crate::support::Response {
    let response = app.post(path, by, body).await;
    assert_eq!(response.status, status, "{path}: {:?}", response.body);
    response
}

fn event(r: &Received) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// The event types in the order received: the partnership's, then the case's (order is
/// kept per case or partnership, not across them).
fn types(received: &[Received]) -> Vec<String> {
    let (partnership, case): (Vec<&Received>, Vec<&Received>) = received
        .iter()
        .partition(|r| event(r)["type"].as_str().unwrap().contains("partnership."));
    partnership
        .into_iter()
        .chain(case)
        .map(|r| {
            event(r)["type"]
                .as_str()
                .unwrap()
                .trim_start_matches("com.casebridge.")
                .to_owned()
        })
        .collect()
}

/// Acme and Globex, partners, with Globex's form (HIGH: 4 h, LOW: 72 h); returns the
/// form's document id.
pub(crate) async fn partners(app: &TestApp, acme: &Member, globex: &Member) -> String {
    app.agree(&[acme, globex]).await;
    let mut proposal = crate::support::proposal(&globex.id);
    proposal["terms"]["dataCategories"] = json!(["CONTACT", "LOGS", "HOSTNAMES"]);
    app.partner_with(acme, globex, proposal).await;
    let form = app
        .put(
            &format!("/v1/forms/company/{}", globex.id),
            &globex.manager,
            json!({
                "priorities": [{"priority": "HIGH", "responseHours": 4}, {"priority": "LOW", "responseHours": 72}],
                "escalationContacts": [{"name": "Duty Manager", "email": "duty@globex.example"}],
                "customFields": []
            }),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);
    form.body["documentId"].as_str().unwrap().to_owned()
}

async fn open_case(app: &TestApp, acme: &Member, document_id: &str, number: &str) -> String {
    open_case_with(app, acme, document_id, number, "HIGH").await
}

/// A request from Acme's engineer to Globex at `priority`; returns its token.
pub(crate) async fn open_case_with(
    app: &TestApp,
    acme: &Member,
    document_id: &str,
    number: &str,
    priority: &str,
) -> String {
    let created = post_expect(
        app,
        "/v1/collaboration-requests",
        &acme.engineer,
        json!({
            "documentId": document_id,
            "internalCaseNumber": number,
            "problemSummary": "Controller resets under load",
            "problemDescription": "Resets on db1.corp.acme.example; customer jane@customer.example",
            "priority": priority,
            "submitterContactDetails": {"name": "Priya Raman", "email": "priya@acme.example"},
            "customerAuthorization": {
                "method": "EMAIL",
                "authorizedBy": {"name": "Jane Customer", "email": "jane@customer.example"},
                "authorizedAt": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                "purpose": "Fix the resets",
                "dataCategories": ["LOGS"]
            }
        }),
        StatusCode::CREATED,
    )
    .await;
    created.body["token"].as_str().unwrap().to_owned()
}

async fn admins_subscribe_and_bad_callbacks_are_refused(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.post(
        "/v1/webhooks",
        &acme.engineer,
        json!({"callbackUrl": "https://crm.acme.example/hook"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        "/v1/webhooks",
        &acme.manager,
        json!({"callbackUrl": "https://crm.acme.example/hook"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    for (body, field) in [
        (
            json!({"callbackUrl": "http://crm.acme.example/hook"}),
            "callbackUrl",
        ),
        (
            json!({"callbackUrl": "https://10.1.2.3/hook"}),
            "callbackUrl",
        ),
        (
            json!({"callbackUrl": "https://169.254.169.254/latest"}),
            "callbackUrl",
        ),
        (
            json!({"callbackUrl": "https://user:pw@crm.acme.example/hook"}),
            "callbackUrl",
        ),
        (
            json!({"callbackUrl": "https://crm.acme.example/hook", "eventTypes": ["case.exploded"]}),
            "eventTypes[0]",
        ),
        (
            json!({"callbackUrl": "https://crm.acme.example/hook", "eventTypes": []}),
            "eventTypes",
        ),
        (
            json!({"callbackUrl": "https://crm.acme.example/hook", "callbackAuth": "a\nb"}),
            "callbackAuth",
        ),
    ] {
        let refused = app.post("/v1/webhooks", &acme.admin, body).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            refused.fields().contains(&field.to_owned()),
            "{:?}",
            refused.body
        );
    }
    let created = post_expect(app, "/v1/webhooks", &acme.admin, json!({"callbackUrl": "https://crm.acme.example/hook", "eventTypes": ["case.created"], "callbackAuth": "Bearer crm-token"}), StatusCode::CREATED).await;
    assert!(created.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("cb_wh_"));
    assert_eq!(created.body["hasCallbackAuth"], true);
    let id = created.body["id"].as_str().unwrap();
    let listed = app.get("/v1/webhooks", &acme.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(listed.body[0].get("secret").is_none() && !listed.text.contains("crm-token"));
    // Another company cannot see, read or delete it.
    assert_eq!(app.get("/v1/webhooks", &globex.admin).await.body, json!([]));
    app.get(&format!("/v1/webhooks/{id}/deliveries"), &globex.admin)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.call(
        Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        Some(&globex.admin),
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            Some(&acme.admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/webhooks", &acme.admin).await.body, json!([]));
    let actions = app.audit_actions(&acme.admin).await;
    assert!(
        actions.contains(&"webhook.created".to_owned())
            && actions.contains(&"webhook.deleted".to_owned())
    );
}

async fn every_event_reaches_the_members_allowed_to_know_signed_and_in_order(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let (_, acme_secret) = subscribe(app, &acme, &format!("{base}/acme"), None).await;
    let (_, globex_secret) = subscribe(app, &globex, &format!("{base}/globex"), None).await;
    let document_id = partners(app, &acme, &globex).await;
    let token = open_case(app, &acme, &document_id, "ACME-1").await;
    let notes = format!("/v1/collaboration-requests/{token}/notes");
    post_expect(
        app,
        &notes,
        &acme.engineer,
        json!({"summary": "Customer is angry", "visibility": "INTERNAL"}),
        StatusCode::CREATED,
    )
    .await;
    post_expect(
        app,
        &notes,
        &globex.engineer,
        json!({"summary": "Looking into it", "visibility": "SHARED"}),
        StatusCode::CREATED,
    )
    .await;
    post_expect(app, &format!("/v1/collaboration-requests/{token}/information-request"), &globex.engineer, json!({"engineerName": "Ken", "engineerEmail": "engineer@globex.example", "requestedInformation": "Which firmware?"}), StatusCode::OK).await;
    post_expect(
        app,
        &format!("/v1/collaboration-requests/{token}/information-response"),
        &acme.engineer,
        json!({"requestedInformation": "9.1"}),
        StatusCode::OK,
    )
    .await;
    post_expect(app, &format!("/v1/collaboration-requests/{token}/approval"), &globex.engineer, json!({"caseNumber": "GLX-1", "engineerName": "Ken", "engineerEmail": "engineer@globex.example"}), StatusCode::OK).await;
    post_expect(
        app,
        &format!("/v1/collaboration-requests/{token}/closure"),
        &acme.engineer,
        json!({"reason": "Fixed"}),
        StatusCode::OK,
    )
    .await;

    let _running = dispatch(app, loopback(), |_| {});
    eventually("all events", || {
        receiver.at("/acme").len() >= 11 && receiver.at("/globex").len() >= 9
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(
        types(&receiver.at("/acme")),
        [
            "partnership.proposed",
            "partnership.accepted",
            "case.created",
            "case.note_added",
            "case.note_added",
            "case.response_added",
            "case.status_changed",
            "case.information_requested",
            "case.response_added",
            "case.status_changed",
            "case.status_changed",
        ]
    );
    assert_eq!(
        types(&receiver.at("/globex")),
        [
            "partnership.proposed",
            "partnership.accepted",
            "case.created",
            "case.note_added",
            "case.status_changed",
            "case.response_added",
            "case.status_changed",
            "case.response_added",
            "case.status_changed",
        ]
    );
    // Globex never learns of Acme's internal note, not even that it exists.
    let globex_notes: Vec<Value> = receiver
        .at("/globex")
        .iter()
        .map(event)
        .filter(|e| e["type"] == "com.casebridge.case.note_added")
        .collect();
    assert_eq!(globex_notes.len(), 1);
    assert_eq!(globex_notes[0]["data"]["visibility"], "SHARED");

    for (path, secret) in [("/acme", &acme_secret), ("/globex", &globex_secret)] {
        for r in receiver.at(path) {
            // The signature over the raw body verifies with the secret shown at creation.
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(&r.body);
            let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(r.headers["x-hub-signature-256"], expected.as_str());
            let e = event(&r);
            assert_eq!(e["specversion"], "1.0");
            assert_eq!(e["source"], "http://casebridge.test");
            assert_eq!(
                r.headers["x-casebridge-event-id"],
                e["id"].as_str().unwrap()
            );
            assert!(r.headers.contains_key("x-casebridge-timestamp"));
            assert!(r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/cloudevents+json"));
            // Metadata only: no text, no personal data, no values.
            let text = String::from_utf8_lossy(&r.body);
            for secret_text in [
                "Controller resets",
                "jane@customer.example",
                "db1.corp",
                "Customer is angry",
                "Which firmware",
                "priya@",
            ] {
                assert!(
                    !text.contains(secret_text),
                    "{secret_text} leaked into {text}"
                );
            }
        }
    }
    let created_for = |path: &str| {
        receiver
            .at(path)
            .iter()
            .map(event)
            .find(|e| e["type"] == "com.casebridge.case.created")
            .unwrap()
    };
    let created = created_for("/globex");
    assert_eq!(created["subject"], token.as_str());
    assert_eq!(created["data"]["direction"], "INBOUND");
    assert_eq!(created["data"]["submitterCaseNumber"], "ACME-1");
    assert_eq!(created_for("/acme")["data"]["direction"], "OUTBOUND");
}

async fn a_receiver_that_was_down_gets_every_event_in_order(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    receiver.set("/acme", Mode::Down);
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let (hook, _) = subscribe(
        app,
        &acme,
        &format!("{base}/acme"),
        Some(json!(["case.created", "case.note_added"])),
    )
    .await;
    let document_id = partners(app, &acme, &globex).await;
    let mut cases = Vec::new();
    for n in 0..3 {
        let token = open_case(app, &acme, &document_id, &format!("ACME-{n}")).await;
        for i in 0..4 {
            let note = app
                .post(
                    &format!("/v1/collaboration-requests/{token}/notes"),
                    &globex.engineer,
                    json!({"summary": format!("update {i}"), "visibility": "SHARED"}),
                )
                .await;
            assert_eq!(note.status, StatusCode::CREATED);
        }
        cases.push(token);
    }
    let _running = dispatch(app, loopback(), |_| {});
    // Down for a while: attempts pile up, nothing is delivered, nothing is dropped.
    eventually("failed attempts", || {
        receiver.attempts.load(Ordering::SeqCst) >= 6
    })
    .await;
    assert!(receiver.at("/acme").is_empty());
    receiver.set("/acme", Mode::Ok);
    eventually("every event", || receiver.at("/acme").len() >= 15).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.at("/acme");
    assert_eq!(
        got.len(),
        15,
        "each of 3 cases: created + 4 notes, once each"
    );
    for token in &cases {
        let of_case: Vec<String> = got
            .iter()
            .map(event)
            .filter(|e| e["subject"] == token.as_str())
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            of_case[0], "com.casebridge.case.created",
            "created comes first for {token}"
        );
        assert_eq!(of_case.len(), 5);
    }
    let deliveries = app
        .get(&format!("/v1/webhooks/{hook}/deliveries"), &acme.admin)
        .await;
    let deliveries = deliveries.body.as_array().unwrap();
    assert_eq!(deliveries.len(), 15);
    assert!(deliveries.iter().all(|d| d["status"] == "DELIVERED"));
    assert!(deliveries
        .iter()
        .any(|d| d["attempts"].as_i64().unwrap() > 1));
}

async fn retries_end_and_a_failed_delivery_can_be_sent_again(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    receiver.set("/acme", Mode::Down);
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let (hook, _) = subscribe(
        app,
        &acme,
        &format!("{base}/acme"),
        Some(json!(["case.created"])),
    )
    .await;
    let document_id = partners(app, &acme, &globex).await;
    let token = open_case(app, &acme, &document_id, "ACME-9").await;
    let running = dispatch(app, loopback(), |s| {
        s.retry_window = Duration::from_millis(400)
    });
    let path = format!("/v1/webhooks/{hook}/deliveries");
    let mut failed = Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let list = app.get(&path, &acme.admin).await.body;
        if list[0]["status"] == "FAILED" {
            failed = list[0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        failed["status"], "FAILED",
        "the delivery gives up when the window closes"
    );
    assert_eq!(failed["responseCode"], 503);
    assert!(failed["lastError"].as_str().unwrap().contains("gave up"));
    assert!(failed["attempts"].as_i64().unwrap() >= 2);
    drop(running);

    // The receiver is fixed; an admin sends the event again, with the same id.
    receiver.set("/acme", Mode::Ok);
    let id = failed["id"].as_str().unwrap();
    let globex_try = app
        .call(
            Method::POST,
            &format!("{path}/{id}/redeliver"),
            Some(&globex.admin),
            None,
        )
        .await;
    globex_try.problem(StatusCode::NOT_FOUND, "not_found");
    let again = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{hook}/deliveries/{id}/redeliver"),
            Some(&acme.admin),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{:?}", again.body);
    assert_eq!(again.body["status"], "PENDING");
    let _running = dispatch(app, loopback(), |_| {});
    eventually("the redelivery", || receiver.at("/acme").len() == 1).await;
    let delivered = event(&receiver.at("/acme")[0]);
    assert_eq!(delivered["id"], failed["eventId"]);
    assert_eq!(delivered["subject"], token.as_str());
}

async fn the_dispatcher_refuses_callbacks_the_operator_no_longer_allows(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let (hook, _) = subscribe(
        app,
        &acme,
        &format!("{base}/acme"),
        Some(json!(["case.created"])),
    )
    .await;
    let document_id = partners(app, &acme, &globex).await;
    open_case(app, &acme, &document_id, "ACME-5").await;
    // The operator took 127.0.0.1 off the allowed hosts: the guard refuses at once.
    let _running = dispatch(app, WebhookPolicy::default(), |_| {});
    let path = format!("/v1/webhooks/{hook}/deliveries");
    let start = Instant::now();
    loop {
        let list = app.get(&path, &acme.admin).await.body;
        if list[0]["status"] == "FAILED" {
            assert!(
                list[0]["lastError"].as_str().unwrap().contains("refused"),
                "{list}"
            );
            assert_eq!(list[0]["attempts"], 1, "a refused target is not retried");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        receiver.attempts.load(Ordering::SeqCst),
        0,
        "nothing reached the address"
    );
}

async fn a_slow_or_huge_response_does_not_hold_up_other_deliveries(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    receiver.set("/slow", Mode::Slow);
    receiver.set("/huge", Mode::Huge);
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let only_created = Some(json!(["case.created"]));
    subscribe(app, &acme, &format!("{base}/slow"), only_created.clone()).await;
    let (huge, _) = subscribe(app, &acme, &format!("{base}/huge"), only_created.clone()).await;
    subscribe(app, &acme, &format!("{base}/fast"), only_created).await;
    let document_id = partners(app, &acme, &globex).await;
    for n in 0..5 {
        open_case(app, &acme, &document_id, &format!("ACME-{n}")).await;
    }
    let start = Instant::now();
    let _running = dispatch(app, loopback(), |s| {
        s.request_timeout = Duration::from_millis(500)
    });
    eventually("the fast receiver's events", || {
        receiver.at("/fast").len() == 5
    })
    .await;
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the slow callback (5 s per answer) held the others up: {:?}",
        start.elapsed()
    );
    // The huge answer is a 200: delivered, without reading 64 MiB.
    let path = format!("/v1/webhooks/{huge}/deliveries");
    let start = Instant::now();
    loop {
        let list = app.get(&path, &acme.admin).await.body;
        if list.as_array().unwrap().len() == 5
            && list
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "DELIVERED")
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_month_later_finished_deliveries_are_pruned_and_pending_ones_stay(app: &TestApp) {
    use sqlx::Row;
    let (receiver, base) = Receiver::start().await;
    receiver.set("/down", Mode::Down);
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let only_created = Some(json!(["case.created"]));
    let (up, _) = subscribe(app, &acme, &format!("{base}/up"), only_created.clone()).await;
    let (down, _) = subscribe(app, &acme, &format!("{base}/down"), only_created).await;
    let document_id = partners(app, &acme, &globex).await;
    open_case(app, &acme, &document_id, "ACME-1").await;
    let running = dispatch(app, loopback(), |_| {});
    eventually("the delivery", || receiver.at("/up").len() == 1).await;
    drop(running);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let count = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(app.store.pool())
            .await
            .unwrap()
            .get::<i64, _>("n")
    };
    let events_before = count("SELECT COUNT(*) AS n FROM outbox_events").await;
    assert!(events_before > 0);
    // A month is not over yet: nothing goes.
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(app.services.prune_outbox().await.unwrap(), 0);
    app.clock.advance(chrono::Duration::days(2));
    assert!(app.services.prune_outbox().await.unwrap() > 0);
    let up_list = app
        .get(&format!("/v1/webhooks/{up}/deliveries"), &acme.admin)
        .await;
    assert_eq!(up_list.body, json!([]), "the delivered one is forgotten");
    let down_list = app
        .get(&format!("/v1/webhooks/{down}/deliveries"), &acme.admin)
        .await;
    assert_eq!(
        down_list.body.as_array().unwrap().len(),
        1,
        "the pending one stays"
    );
    assert_eq!(down_list.body[0]["status"], "PENDING");
    // Its event stays with it, as does Globex's copy, whose emails wait for a mail
    // server; every other event is gone.
    assert_eq!(count("SELECT COUNT(*) AS n FROM outbox_events").await, 2);
    assert_eq!(
        count(
            "SELECT COUNT(*) AS n FROM outbox_events o WHERE NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.event_id = o.id AND d.member_id = o.member_id AND d.status = 'PENDING')"
        )
        .await,
        0
    );
}

async fn a_dispatcher_stops_when_told_or_when_its_owner_goes_away(app: &TestApp) {
    let dispatcher = || {
        Arc::new(Dispatcher::new(
            Arc::new(app.store.clone()),
            loopback(),
            quick_settings(),
        ))
    };
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher().run(stopped));
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the dispatcher did not stop when told")
        .unwrap();
    let (owner, stopped) = watch::channel(false);
    let running = tokio::spawn(dispatcher().run(stopped));
    drop(owner);
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the dispatcher kept running after its owner went away")
        .unwrap();
}

/// Each aggregate's (case's or partnership's) event types, in the order received.
fn by_subject(received: &[Received]) -> HashMap<String, Vec<String>> {
    let mut grouped: HashMap<String, Vec<String>> = HashMap::new();
    for r in received {
        let e = event(r);
        grouped
            .entry(e["subject"].as_str().unwrap().to_owned())
            .or_default()
            .push(
                e["type"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("com.casebridge.")
                    .to_owned(),
            );
    }
    grouped
}

async fn customer_decisions_and_partnership_endings_reach_whom_they_concern(app: &TestApp) {
    let (receiver, base) = Receiver::start().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let initech = app.member("Initech", "initech.example").await;
    for (member, path) in [(&acme, "acme"), (&globex, "globex"), (&initech, "initech")] {
        subscribe(app, member, &format!("{base}/{path}"), None).await;
    }
    app.agree(&[&acme, &globex, &initech]).await;
    let partnership = app
        .partner_with(&acme, &globex, crate::support::proposal(&globex.id))
        .await;
    let form = app
        .put(
            &format!("/v1/forms/company/{}", globex.id),
            &globex.manager,
            json!({"priorities": [{"priority": "HIGH", "responseHours": 4}], "customFields": []}),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);

    // The customer authorizes by link, then withdraws.
    let created = post_expect(
        app,
        "/v1/collaboration-requests",
        &acme.engineer,
        json!({
            "documentId": form.body["documentId"],
            "internalCaseNumber": "ACME-9",
            "problemSummary": "Backups fail",
            "problemDescription": "Fails on db1.corp.acme.example",
            "priority": "HIGH",
            "submitterContactDetails": {"name": "Priya Raman", "email": "priya@acme.example"},
            "customerAuthorization": {
                "method": "CUSTOMER_LINK",
                "authorizedBy": {"name": "Jane Customer", "email": "jane@customer.example"},
                "purpose": "Fix the backups",
                "dataCategories": ["LOGS"]
            }
        }),
        StatusCode::CREATED,
    )
    .await;
    let token = created.body["token"].as_str().unwrap().to_owned();
    let link = created.body["authorizationUrl"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://127.0.0.1:8080")
        .to_owned();
    use crate::customer::{answer, SAME_ORIGIN};
    for decision in ["authorize", "revoke"] {
        let answered = answer(app, &link, &format!("decision={decision}"), SAME_ORIGIN).await;
        assert!(
            answered.status.is_success() || answered.status.is_redirection(),
            "{decision}: {}",
            answered.status
        );
    }

    // Initech declines a proposal; Acme ends its partnership with Globex.
    let proposed = post_expect(
        app,
        "/v1/partnerships",
        &acme.manager,
        crate::support::proposal(&initech.id),
        StatusCode::CREATED,
    )
    .await;
    let declined_id = proposed.body["id"].as_str().unwrap().to_owned();
    for (id, verb, by) in [
        (&declined_id, "decline", &initech.manager),
        (&partnership, "end", &acme.manager),
    ] {
        let done = app
            .call(
                Method::POST,
                &format!("/v1/partnerships/{id}/{verb}"),
                Some(by),
                None,
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{verb}: {:?}", done.body);
    }

    let _running = dispatch(app, loopback(), |_| {});
    eventually("all events", || {
        receiver.at("/acme").len() >= 8
            && receiver.at("/globex").len() >= 5
            && receiver.at("/initech").len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let acme_got = by_subject(&receiver.at("/acme"));
    assert_eq!(acme_got.len(), 3, "{acme_got:?}");
    assert_eq!(
        acme_got[&token],
        strings(&[
            "case.created",
            "case.authorized",
            "case.authorization_revoked"
        ])
    );
    assert_eq!(
        acme_got[&partnership],
        strings(&[
            "partnership.proposed",
            "partnership.accepted",
            "partnership.ended"
        ])
    );
    assert_eq!(
        acme_got[&declined_id],
        strings(&["partnership.proposed", "partnership.declined"])
    );
    // Globex learns of the case only once the customer authorized it.
    let globex_got = by_subject(&receiver.at("/globex"));
    assert_eq!(globex_got.len(), 2, "{globex_got:?}");
    assert_eq!(
        globex_got[&token],
        strings(&["case.created", "case.authorization_revoked"])
    );
    assert_eq!(
        globex_got[&partnership],
        strings(&[
            "partnership.proposed",
            "partnership.accepted",
            "partnership.ended"
        ])
    );
    // Initech hears of its own proposal only.
    let initech_got = by_subject(&receiver.at("/initech"));
    assert_eq!(initech_got.len(), 1, "{initech_got:?}");
    assert_eq!(
        initech_got[&declined_id],
        strings(&["partnership.proposed", "partnership.declined"])
    );
    for path in ["/acme", "/globex", "/initech"] {
        for r in receiver.at(path) {
            let text = String::from_utf8_lossy(&r.body);
            for private in [
                "Jane Customer",
                "jane@customer.example",
                "Backups fail",
                "db1.corp",
                "priya@",
            ] {
                assert!(!text.contains(private), "{private} leaked into {text}");
            }
        }
    }
}
