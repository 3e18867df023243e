//! Collaboration requests: the whole lifecycle, every step from every status, who may do
//! what, internal notes, customer authorization, the SLA clock and idempotent retries.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::{Member, Response, TestApp};

stories!(
    two_members_run_a_case_from_request_to_closure,
    every_step_from_every_status,
    only_the_right_side_of_the_case_acts,
    internal_notes_never_reach_the_partner,
    the_customer_authorization_is_required_and_scoped,
    a_request_must_match_the_current_form_and_an_active_partnership,
    sharing_stops_when_the_partnership_ends_but_reading_and_closing_go_on,
    sharing_stops_when_the_partnership_expires,
    a_republished_agreement_must_be_accepted_before_sharing_again,
    idle_cases_close_and_unanswered_ones_become_overdue,
    a_retried_post_with_the_same_idempotency_key_returns_the_first_result,
    cases_are_listed_filtered_and_paged_from_each_side,
    solution_support_requests_cannot_be_rejected,
);

/// Acme (submitter) and Globex (receiver), partners, with Globex's form published.
struct World {
    acme: Member,
    globex: Member,
    document_id: String,
    fields: Vec<Value>,
    partnership_id: String,
}

async fn world(app: &TestApp) -> World {
    world_of(app, "COLLABORATIVE").await
}

async fn world_of(app: &TestApp, kind: &str) -> World {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let mut proposal = crate::support::proposal(&globex.id);
    proposal["type"] = json!(kind);
    proposal["terms"]["dataCategories"] = json!(["CONTACT", "LOGS", "HOSTNAMES"]);
    let partnership_id = app.partner_with(&acme, &globex, proposal).await;
    let form = publish_form(app, &globex).await;
    World {
        acme,
        globex,
        document_id: form["documentId"].as_str().unwrap().to_owned(),
        fields: form["customFields"].as_array().unwrap().clone(),
        partnership_id,
    }
}

async fn publish_form(app: &TestApp, member: &Member) -> Value {
    let form = app
        .put(
            &format!("/v1/forms/company/{}", member.id),
            &member.manager,
            json!({
                "priorities": [
                    {"priority": "HIGH", "responseHours": 4, "note": "Production down"},
                    {"priority": "LOW", "responseHours": 72}
                ],
                "customFields": [
                    {"label": "Product version", "section": "PROBLEM_SECTION", "type": "STRING", "required": true, "displayOrder": 1},
                    {"label": "Nodes", "section": "PROBLEM_SECTION", "type": "INTEGER", "displayOrder": 2}
                ]
            }),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);
    form.body
}

fn request(w: &World) -> Value {
    json!({
        "documentId": w.document_id,
        "internalCaseNumber": "ACME-1001",
        "problemSummary": "Array controller resets under load",
        "problemDescription": "Since the upgrade the controller resets every few hours.",
        "priority": "HIGH",
        "customFields": [
            {"fieldId": w.fields[0]["fieldId"], "value": "4.2.1"},
            {"fieldId": w.fields[1]["fieldId"], "value": "3"}
        ],
        "submitterContactDetails": {"name": "Priya Raman", "email": "priya@acme.example", "phone": "+1 555 0100"},
        "customerAuthorization": {
            "method": "EMAIL",
            "authorizedBy": {"name": "Jane Customer", "email": "jane@customer.example"},
            "authorizedAt": (Utc::now() - Duration::hours(1)).to_rfc3339(),
            "purpose": "Resolve the controller resets",
            "dataCategories": ["LOGS", "HOSTNAMES"],
            "expiresAt": (Utc::now() + Duration::days(30)).to_rfc3339()
        }
    })
}

async fn open_case(app: &TestApp, w: &World) -> String {
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    created.body["token"].as_str().unwrap().to_owned()
}

fn path(token: &str, step: &str) -> String {
    if step.is_empty() {
        format!("/v1/collaboration-requests/{token}")
    } else {
        format!("/v1/collaboration-requests/{token}/{step}")
    }
}

fn approval() -> Value {
    json!({"caseNumber": "GLX-77", "engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example", "nextSteps": "Collecting a dump"})
}

fn rejection() -> Value {
    json!({"engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example", "reason": "Not our product"})
}

fn information_request() -> Value {
    json!({"engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example", "requestedInformation": "Which firmware?"})
}

fn information_response() -> Value {
    json!({"requestedInformation": "Firmware 9.1"})
}

async fn step(app: &TestApp, token: &str, step: &str, by: &str, body: Value) -> Response {
    let method = if step == "approval-update" {
        Method::PATCH
    } else {
        Method::POST
    };
    let step = if step == "approval-update" {
        "approval"
    } else {
        step
    };
    app.call(method, &path(token, step), Some(by), Some(body))
        .await
}

async fn two_members_run_a_case_from_request_to_closure(app: &TestApp) {
    let w = world(app).await;
    let found = app.get("/v1/partners/GLOB", &w.acme.engineer).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body[0]["companyName"], "Globex");
    assert_eq!(found.body[0]["relationship"], "ACTIVE");
    assert_eq!(found.body[0]["documentId"], w.document_id.as_str());

    let before = Utc::now();
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let case = &created.body;
    let token = case["token"].as_str().unwrap();
    assert!(token.starts_with("cr_") && token.len() == 25);
    assert_eq!(case["status"], "OPEN");
    assert_eq!(case["direction"], "OUTBOUND");
    assert_eq!(case["pendingAction"], false);
    assert_eq!(case["priorityNote"], "Production down");
    assert_eq!(case["responded"], false);
    let respond_by: chrono::DateTime<Utc> = case["respondBy"].as_str().unwrap().parse().unwrap();
    assert!(respond_by >= before + Duration::hours(4) - Duration::seconds(5));
    assert!(respond_by <= Utc::now() + Duration::hours(4) + Duration::seconds(5));
    assert_eq!(case["customFields"][0]["label"], "Product version");
    assert_eq!(case["customFields"][0]["value"], "4.2.1");
    assert_eq!(
        case["customerAuthorization"]["authorizedBy"]["email"],
        "jane@customer.example"
    );

    let inbound = app.get(&path(token, ""), &w.globex.engineer).await;
    assert_eq!(inbound.body["direction"], "INBOUND");
    assert_eq!(inbound.body["pendingAction"], true);
    let authorization = &inbound.body["customerAuthorization"];
    assert_eq!(authorization["method"], "EMAIL");
    assert_eq!(
        authorization["dataCategories"],
        json!(["HOSTNAMES", "LOGS"])
    );
    assert!(
        authorization.get("authorizedBy").is_none(),
        "the authorizer is the submitter's data"
    );

    let asked = step(
        app,
        token,
        "information-request",
        &w.globex.engineer,
        information_request(),
    )
    .await;
    assert_eq!(asked.body["status"], "INFORMATION");
    assert_eq!(asked.body["responded"], true);
    assert_eq!(
        app.get(&path(token, ""), &w.acme.engineer).await.body["pendingAction"],
        true
    );
    let answered = step(
        app,
        token,
        "information-response",
        &w.acme.engineer,
        information_response(),
    )
    .await;
    assert_eq!(answered.body["status"], "INFORMATION");
    assert_eq!(answered.body["pendingAction"], false);
    assert_eq!(
        app.get(&path(token, ""), &w.globex.engineer).await.body["pendingAction"],
        true
    );

    let approved = step(app, token, "approval", &w.globex.engineer, approval()).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "ACCEPTED");
    assert_eq!(approved.body["receiverInternalCaseNumber"], "GLX-77");
    assert_eq!(
        approved.body["receiverEngineer"]["email"],
        "ken@globex.example"
    );
    let mut update = approval();
    update["engineerName"] = json!("Grace Okafor");
    update["engineerEmail"] = json!("grace@globex.example");
    let updated = step(app, token, "approval-update", &w.globex.manager, update).await;
    assert_eq!(updated.body["receiverEngineer"]["name"], "Grace Okafor");

    let note = app
        .post(
            &path(token, "notes"),
            &w.globex.engineer,
            json!({"summary": "Dump analysed", "description": "<script>x</script> stays text"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    assert_eq!(note.body["visibility"], "SHARED");
    assert_eq!(note.body["authorName"], "Test engineer");
    assert_eq!(note.body["description"], "<script>x</script> stays text");
    app.post(
        &path(token, "notes"),
        &w.acme.engineer,
        json!({"summary": "Thanks"}),
    )
    .await;

    let patched = app
        .patch(
            &path(token, ""),
            &w.acme.engineer,
            json!({"internalCaseNumber": "ACME-1001-B"}),
        )
        .await;
    assert_eq!(patched.body["internalCaseNumber"], "ACME-1001-B");

    let closed = app
        .call(
            Method::POST,
            &path(token, "closure"),
            Some(&w.acme.engineer),
            None,
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(closed.body["status"], "CLOSED");
    assert!(closed.body["closedAt"].is_string());
    let types: Vec<&str> = closed.body["caseResponses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "INFORMATION_REQUEST",
            "INFORMATION_RESPONSE",
            "APPROVAL",
            "APPROVAL_UPDATE",
            "CLOSURE"
        ]
    );
    assert_eq!(closed.body["caseNotes"].as_array().unwrap().len(), 2);
    app.post(
        &path(token, "notes"),
        &w.globex.engineer,
        json!({"summary": "Late"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "invalid_transition");

    let audit = app
        .get(
            "/v1/audit-events?objectId=".to_owned().as_str(),
            &w.acme.admin,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK);
    let trail = app
        .get(
            &format!("/v1/audit-events?objectId={token}&size=50"),
            &w.globex.admin,
        )
        .await;
    let actions: Vec<&str> = trail.body["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "case.note_added",
            "case.approval_updated",
            "case.approved",
            "case.information_requested"
        ]
    );
}

/// Puts a fresh case into `status`.
async fn case_in(app: &TestApp, w: &World, status: &str) -> String {
    let token = open_case(app, w).await;
    match status {
        "OPEN" => {}
        "INFORMATION" => {
            step(
                app,
                &token,
                "information-request",
                &w.globex.engineer,
                information_request(),
            )
            .await;
        }
        "ACCEPTED" => {
            step(app, &token, "approval", &w.globex.engineer, approval()).await;
        }
        "REJECTED" => {
            step(app, &token, "rejection", &w.globex.engineer, rejection()).await;
        }
        "CLOSED" => {
            app.call(
                Method::POST,
                &path(&token, "closure"),
                Some(&w.acme.engineer),
                None,
            )
            .await;
        }
        _ => unreachable!(),
    }
    assert_eq!(
        app.get(&path(&token, ""), &w.acme.engineer).await.body["status"],
        status
    );
    token
}

async fn every_step_from_every_status(app: &TestApp) {
    let w = world(app).await;
    // (step, by receiver?, body, the status reached from OPEN, INFORMATION, ACCEPTED, REJECTED, CLOSED)
    let table: [(&str, bool, Value, [Option<&str>; 5]); 6] = [
        (
            "approval",
            true,
            approval(),
            [Some("ACCEPTED"), Some("ACCEPTED"), None, None, None],
        ),
        (
            "approval-update",
            true,
            approval(),
            [None, None, Some("ACCEPTED"), None, None],
        ),
        (
            "rejection",
            true,
            rejection(),
            [Some("REJECTED"), Some("REJECTED"), None, None, None],
        ),
        (
            "information-request",
            true,
            information_request(),
            [Some("INFORMATION"), None, Some("INFORMATION"), None, None],
        ),
        (
            "information-response",
            false,
            information_response(),
            [None, Some("INFORMATION"), None, None, None],
        ),
        (
            "closure",
            false,
            json!({"reason": "Solved"}),
            [Some("CLOSED"), None, Some("CLOSED"), None, None],
        ),
    ];
    let statuses = ["OPEN", "INFORMATION", "ACCEPTED", "REJECTED", "CLOSED"];
    for (name, by_receiver, body, outcomes) in table {
        for (status, outcome) in statuses.iter().zip(outcomes) {
            let token = case_in(app, &w, status).await;
            let by = if by_receiver {
                &w.globex.engineer
            } else {
                &w.acme.engineer
            };
            let response = step(app, &token, name, by, body.clone()).await;
            match outcome {
                Some(next) => {
                    assert_eq!(
                        response.status,
                        StatusCode::OK,
                        "{name} from {status}: {:?}",
                        response.body
                    );
                    assert_eq!(response.body["status"], next, "{name} from {status}");
                }
                None => {
                    response.problem(StatusCode::CONFLICT, "invalid_transition");
                    assert!(
                        response.body["detail"].as_str().unwrap().contains(status),
                        "the problem names the current status"
                    );
                }
            }
        }
    }
    // Notes: while live only.
    for (status, allowed) in statuses.iter().zip([true, true, true, false, false]) {
        let token = case_in(app, &w, status).await;
        let note = app
            .post(
                &path(&token, "notes"),
                &w.acme.engineer,
                json!({"summary": "Hi"}),
            )
            .await;
        if allowed {
            assert_eq!(note.status, StatusCode::CREATED);
        } else {
            note.problem(StatusCode::CONFLICT, "invalid_transition");
        }
    }
}

async fn only_the_right_side_of_the_case_acts(app: &TestApp) {
    let w = world(app).await;
    let initech = app.member("Initech", "initech.example").await;
    let token = open_case(app, &w).await;
    step(app, &token, "approval", &w.acme.engineer, approval())
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    step(app, &token, "rejection", &w.acme.engineer, rejection())
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.call(
        Method::POST,
        &path(&token, "closure"),
        Some(&w.globex.engineer),
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    app.patch(
        &path(&token, ""),
        &w.globex.engineer,
        json!({"internalCaseNumber": "X"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    // An auditor reads but does not act.
    assert_eq!(
        app.get(&path(&token, ""), &w.globex.auditor).await.status,
        StatusCode::OK
    );
    step(app, &token, "approval", &w.globex.auditor, approval())
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.post("/v1/collaboration-requests", &w.acme.auditor, request(&w))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // A third member gets exactly what a token that never existed gets.
    let unknown = app
        .get(&path("cr_AAAAAAAAAAAAAAAAAAAAAA", ""), &initech.admin)
        .await;
    unknown.problem(StatusCode::NOT_FOUND, "not_found");
    for (method, step_path) in [
        (Method::GET, path(&token, "")),
        (Method::GET, path(&token, "notes")),
        (Method::POST, path(&token, "approval")),
        (Method::POST, path(&token, "notes")),
        (Method::POST, path(&token, "closure")),
        (Method::PATCH, path(&token, "")),
    ] {
        let body = if method == Method::GET {
            None
        } else {
            Some(json!({"summary": "x"}))
        };
        let response = app
            .call(method, &step_path, Some(&initech.admin), body)
            .await;
        if response.status == StatusCode::NOT_FOUND {
            assert_eq!(response.body, unknown.body, "{step_path}");
        } else {
            // A body of another step's shape is refused before anything is looked up.
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{step_path}"
            );
        }
    }
    app.get(&path("not-a-token", ""), &w.acme.admin)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let listed = app.get("/v2/collaboration-requests", &initech.admin).await;
    assert_eq!(listed.body["totalElements"], 0);
    // The receiver's engineer must be one of the receiver's people.
    let mut outsider = approval();
    outsider["engineerEmail"] = json!("ken@acme.example");
    let response = step(app, &token, "approval", &w.globex.engineer, outsider).await;
    assert_eq!(response.fields(), ["engineerEmail"]);
    let mut no_number = approval();
    no_number.as_object_mut().unwrap().remove("caseNumber");
    step(app, &token, "approval", &w.globex.engineer, no_number)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut no_reason = rejection();
    no_reason["reason"] = json!("  ");
    assert_eq!(
        step(app, &token, "rejection", &w.globex.engineer, no_reason)
            .await
            .fields(),
        ["reason"]
    );
}

async fn internal_notes_never_reach_the_partner(app: &TestApp) {
    let w = world(app).await;
    let token = open_case(app, &w).await;
    let shared = app
        .post(
            &path(&token, "notes"),
            &w.globex.engineer,
            json!({"summary": "Looking"}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED);
    let seen_before = app.get(&path(&token, ""), &w.acme.engineer).await;
    let list_before = app
        .get("/v2/collaboration-requests", &w.acme.engineer)
        .await;
    app.clock.advance(Duration::minutes(5));
    let internal = app
        .post(
            &path(&token, "notes"),
            &w.globex.engineer,
            json!({"summary": "Their config is wrong", "visibility": "INTERNAL"}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::CREATED);
    assert_eq!(internal.body["visibility"], "INTERNAL");

    let seen = app.get(&path(&token, ""), &w.acme.engineer).await;
    assert_eq!(seen.body["caseNotes"].as_array().unwrap().len(), 1);
    assert_eq!(
        seen.body["updatedAt"], seen_before.body["updatedAt"],
        "not even a newer timestamp"
    );
    let notes = app.get(&path(&token, "notes"), &w.acme.engineer).await;
    assert_eq!(notes.body.as_array().unwrap().len(), 1);
    assert!(!notes.body.to_string().contains("config is wrong"));
    let list = app
        .get("/v2/collaboration-requests", &w.acme.engineer)
        .await;
    assert_eq!(list.body, list_before.body);
    let since = app
        .get(
            &format!(
                "{}?updatedAfter={}",
                path(&token, "notes"),
                shared.body["createdAt"].as_str().unwrap()
            ),
            &w.acme.engineer,
        )
        .await;
    assert_eq!(since.body, json!([]));
    // The receiver sees both, in order.
    let own = app.get(&path(&token, "notes"), &w.globex.manager).await;
    let summaries: Vec<&str> = own
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, ["Looking", "Their config is wrong"]);
    let invalid = app
        .post(
            &path(&token, "notes"),
            &w.globex.engineer,
            json!({"summary": "x".repeat(501), "description": "y"}),
        )
        .await;
    assert_eq!(invalid.fields(), ["summary"]);
    app.post(
        &path(&token, "notes"),
        &w.globex.engineer,
        json!({"summary": "x", "visibility": "PUBLIC"}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn the_customer_authorization_is_required_and_scoped(app: &TestApp) {
    let w = world(app).await;
    let mut missing = request(&w);
    missing
        .as_object_mut()
        .unwrap()
        .remove("customerAuthorization");
    app.post("/v1/collaboration-requests", &w.acme.engineer, missing)
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer_authorization_required",
        );
    let mut expired = request(&w);
    expired["customerAuthorization"]["expiresAt"] =
        json!((Utc::now() - Duration::minutes(1)).to_rfc3339());
    app.post("/v1/collaboration-requests", &w.acme.engineer, expired)
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer_authorization_required",
        );
    let mut wide = request(&w);
    wide["customerAuthorization"]["dataCategories"] = json!(["LOGS", "FINANCIAL"]);
    let out_of_scope = app
        .post("/v1/collaboration-requests", &w.acme.engineer, wide)
        .await;
    out_of_scope.problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "authorization_out_of_scope",
    );
    assert!(out_of_scope.body["detail"]
        .as_str()
        .unwrap()
        .contains("FINANCIAL"));
    // An authorization the customer gave elsewhere says when; a link's is the customer's
    // own decision, still to come.
    let mut undated = request(&w);
    undated["customerAuthorization"]
        .as_object_mut()
        .unwrap()
        .remove("authorizedAt");
    let response = app
        .post("/v1/collaboration-requests", &w.acme.engineer, undated)
        .await;
    assert_eq!(response.fields(), ["customerAuthorization.authorizedAt"]);
    let mut link = request(&w);
    link["customerAuthorization"]["method"] = json!("CUSTOMER_LINK");
    let pending = app
        .post("/v1/collaboration-requests", &w.acme.engineer, link)
        .await;
    assert_eq!(pending.status, StatusCode::CREATED, "{:?}", pending.body);
    assert_eq!(pending.body["status"], "PENDING_AUTHORIZATION");
    let listed = app
        .get("/v2/collaboration-requests", &w.acme.engineer)
        .await;
    assert_eq!(
        listed.body["totalElements"], 1,
        "refused requests left nothing behind"
    );

    // An authorization that expires mid-case stops further sharing.
    let mut short = request(&w);
    short["customerAuthorization"]["expiresAt"] =
        json!((Utc::now() + Duration::hours(1)).to_rfc3339());
    let token = app
        .post("/v1/collaboration-requests", &w.acme.engineer, short)
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::hours(2));
    step(app, &token, "approval", &w.globex.engineer, approval())
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer_authorization_required",
        );
}

async fn a_request_must_match_the_current_form_and_an_active_partnership(app: &TestApp) {
    let w = world(app).await;
    let mut bad = request(&w);
    bad["priority"] = json!("MEDIUM");
    bad["customFields"] = json!([{"fieldId": w.fields[1]["fieldId"], "value": "three"}]);
    bad["submitterContactDetails"]["email"] = json!("priya");
    bad["problemSummary"] = json!("");
    let response = app
        .post("/v1/collaboration-requests", &w.acme.engineer, bad)
        .await;
    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = response.fields();
    for expected in [
        "problemSummary",
        "priority",
        "customFields[0].value",
        "submitterContactDetails.email",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "{expected} in {fields:?}"
        );
    }
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("customFields[") && f.ends_with(']')),
        "the required field is named"
    );

    publish_form(app, &w.globex).await;
    let outdated = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await;
    outdated.problem(StatusCode::CONFLICT, "form_outdated");

    let initech = app.member("Initech", "initech.example").await;
    app.agree(&[&initech]).await;
    app.agree(&[&w.acme, &w.globex]).await;
    let initech_form = publish_form(app, &initech).await;
    let mut unrelated = request(&w);
    unrelated["documentId"] = initech_form["documentId"].clone();
    unrelated["customFields"] =
        json!([{"fieldId": initech_form["customFields"][0]["fieldId"], "value": "1.0"}]);
    app.post("/v1/collaboration-requests", &w.acme.engineer, unrelated)
        .await
        .problem(StatusCode::CONFLICT, "no_active_partnership");
    let mut own = request(&w);
    own["documentId"] = json!(w.document_id);
    let own_form = app
        .post("/v1/collaboration-requests", &w.globex.engineer, own)
        .await;
    assert_eq!(
        own_form.fields(),
        ["documentId"],
        "a member cannot send a request to itself"
    );
}

async fn sharing_stops_when_the_partnership_ends_but_reading_and_closing_go_on(app: &TestApp) {
    let w = world(app).await;
    let token = open_case(app, &w).await;
    step(app, &token, "approval", &w.globex.engineer, approval()).await;
    let ended = app
        .call(
            Method::POST,
            &format!("/v1/partnerships/{}/end", w.partnership_id),
            Some(&w.acme.admin),
            None,
        )
        .await;
    assert_eq!(ended.body["status"], "ENDED");
    app.post(
        &path(&token, "notes"),
        &w.globex.engineer,
        json!({"summary": "More findings"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "no_active_partnership");
    step(
        app,
        &token,
        "information-request",
        &w.globex.engineer,
        information_request(),
    )
    .await
    .problem(StatusCode::CONFLICT, "no_active_partnership");
    let internal = app
        .post(
            &path(&token, "notes"),
            &w.globex.engineer,
            json!({"summary": "Keep for ourselves", "visibility": "INTERNAL"}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::CREATED);
    assert_eq!(
        app.get(&path(&token, ""), &w.acme.engineer).await.status,
        StatusCode::OK
    );
    let closed = app
        .call(
            Method::POST,
            &path(&token, "closure"),
            Some(&w.acme.engineer),
            None,
        )
        .await;
    assert_eq!(closed.body["status"], "CLOSED");
    app.post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await
        .problem(StatusCode::CONFLICT, "no_active_partnership");
}

async fn sharing_stops_when_the_partnership_expires(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let mut proposal = crate::support::proposal(&globex.id);
    proposal["terms"]["expiresAt"] = json!((Utc::now() + Duration::days(1)).to_rfc3339());
    let id = app
        .post("/v1/partnerships", &acme.manager, proposal)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::POST,
        &format!("/v1/partnerships/{id}/acceptance"),
        Some(&globex.manager),
        None,
    )
    .await;
    let form = publish_form(app, &globex).await;
    let w = World {
        document_id: form["documentId"].as_str().unwrap().to_owned(),
        fields: form["customFields"].as_array().unwrap().clone(),
        partnership_id: id,
        acme,
        globex,
    };
    let token = open_case(app, &w).await;
    app.clock.advance(Duration::days(2));
    step(app, &token, "approval", &w.globex.engineer, approval())
        .await
        .problem(StatusCode::CONFLICT, "no_active_partnership");
    app.post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await
        .problem(StatusCode::CONFLICT, "no_active_partnership");
    assert_eq!(
        app.get(&path(&token, ""), &w.globex.engineer).await.status,
        StatusCode::OK
    );
}

async fn a_republished_agreement_must_be_accepted_before_sharing_again(app: &TestApp) {
    let w = world(app).await;
    let token = open_case(app, &w).await;
    let v2 = app.publish_agreement("Version two").await;
    app.post(
        &path(&token, "notes"),
        &w.globex.engineer,
        json!({"summary": "Update"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "agreement_not_accepted");
    app.post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await
        .problem(StatusCode::CONFLICT, "agreement_not_accepted");
    app.call(
        Method::POST,
        &format!("/v1/agreements/{v2}/acceptance"),
        Some(&w.acme.admin),
        None,
    )
    .await;
    let partner_pending = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await;
    partner_pending.problem(StatusCode::CONFLICT, "agreement_not_accepted");
    assert!(partner_pending.body["detail"]
        .as_str()
        .unwrap()
        .contains("partner"));
    app.call(
        Method::POST,
        &format!("/v1/agreements/{v2}/acceptance"),
        Some(&w.globex.admin),
        None,
    )
    .await;
    let note = app
        .post(
            &path(&token, "notes"),
            &w.globex.engineer,
            json!({"summary": "Update"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
}

async fn idle_cases_close_and_unanswered_ones_become_overdue(app: &TestApp) {
    let w = world(app).await;
    let idle = open_case(app, &w).await;
    let answered = open_case(app, &w).await;
    step(app, &answered, "approval", &w.globex.engineer, approval()).await;
    let mut test = request(&w);
    test["testSubmission"] = json!(true);
    let test_case = app
        .post("/v1/collaboration-requests", &w.acme.engineer, test)
        .await;
    assert_eq!(test_case.body["testCase"], true);

    app.clock.advance(Duration::hours(5));
    assert_eq!(app.services.sweep_cases().await.unwrap(), (0, 2));
    assert_eq!(
        app.get(&path(&idle, ""), &w.globex.engineer).await.body["overdue"],
        true
    );
    assert_eq!(
        app.get(&path(&answered, ""), &w.globex.engineer).await.body["overdue"],
        false
    );
    assert_eq!(
        app.services.sweep_cases().await.unwrap(),
        (0, 0),
        "marked once"
    );

    app.clock.advance(Duration::days(29));
    app.post(
        &path(&answered, "notes"),
        &w.acme.engineer,
        json!({"summary": "Still there?"}),
    )
    .await;
    app.clock.advance(Duration::days(2));
    // Two nodes sweeping at once close each idle case once.
    let (first, second) = tokio::join!(app.services.sweep_cases(), app.services.sweep_cases());
    let closed = first.unwrap().0 + second.unwrap().0;
    assert_eq!(closed, 2, "the idle case and the idle test case");
    let idle_case = app.get(&path(&idle, ""), &w.acme.engineer).await;
    assert_eq!(idle_case.body["status"], "CLOSED");
    let notes = idle_case.body["caseNotes"].as_array().unwrap();
    assert_eq!(notes.last().unwrap()["authorName"], "Casebridge");
    assert!(notes.last().unwrap()["companyId"].is_null());
    let responses = idle_case.body["caseResponses"].as_array().unwrap();
    assert_eq!(responses.last().unwrap()["type"], "SYSTEM");
    assert_eq!(
        app.get(&path(&answered, ""), &w.acme.engineer).await.body["status"],
        "ACCEPTED"
    );
}

async fn post_with_key(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> Response {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn a_retried_post_with_the_same_idempotency_key_returns_the_first_result(app: &TestApp) {
    let w = world(app).await;
    let body = request(&w);
    let first = post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        "crm-42",
        &body,
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let retry = post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        "crm-42",
        &body,
    )
    .await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.body["token"], first.body["token"]);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let listed = app
        .get("/v2/collaboration-requests", &w.acme.engineer)
        .await;
    assert_eq!(listed.body["totalElements"], 1);

    let mut other = body.clone();
    other["internalCaseNumber"] = json!("ACME-2");
    post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        "crm-42",
        &other,
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // Keys are per member: another member may use the same key.
    let token = first.body["token"].as_str().unwrap();
    let note = json!({"summary": "From Globex"});
    let globex_note = post_with_key(
        app,
        &w.globex.engineer,
        &path(token, "notes"),
        "crm-42",
        &note,
    )
    .await;
    assert_eq!(globex_note.status, StatusCode::CREATED);
    let again = post_with_key(
        app,
        &w.globex.engineer,
        &path(token, "notes"),
        "crm-42",
        &note,
    )
    .await;
    assert_eq!(again.body["id"], globex_note.body["id"]);
    assert_eq!(
        app.get(&path(token, "notes"), &w.globex.engineer)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A refused request does not use up its key: the corrected retry runs.
    let mut broken = body.clone();
    broken["problemSummary"] = json!("");
    let refused = post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        "crm-43",
        &broken,
    )
    .await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let corrected = post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        "crm-43",
        &body,
    )
    .await;
    assert_eq!(corrected.status, StatusCode::CREATED);
    assert_ne!(corrected.body["token"], first.body["token"]);
    post_with_key(
        app,
        &w.acme.engineer,
        "/v1/collaboration-requests",
        &"k".repeat(300),
        &body,
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn cases_are_listed_filtered_and_paged_from_each_side(app: &TestApp) {
    let w = world(app).await;
    let first = open_case(app, &w).await;
    app.clock.advance(Duration::seconds(1));
    let second = open_case(app, &w).await;
    step(
        app,
        &second,
        "information-request",
        &w.globex.engineer,
        information_request(),
    )
    .await;
    app.clock.advance(Duration::seconds(1));
    let mut third = request(&w);
    third["internalCaseNumber"] = json!("ACME-3");
    app.post("/v1/collaboration-requests", &w.acme.engineer, third)
        .await;

    let tokens = |response: &Response| -> Vec<String> {
        response.body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["token"].as_str().unwrap().to_owned())
            .collect()
    };
    let outbound = app
        .get("/v2/collaboration-requests?type=OUTBOUND", &w.acme.engineer)
        .await;
    assert_eq!(outbound.body["totalElements"], 3);
    assert_eq!(tokens(&outbound)[1], second, "newest first");
    assert!(
        outbound.body["content"][0].get("caseNotes").is_none(),
        "lists carry no details"
    );
    assert_eq!(
        app.get("/v2/collaboration-requests?type=INBOUND", &w.acme.engineer)
            .await
            .body["totalElements"],
        0
    );
    assert_eq!(
        app.get(
            "/v2/collaboration-requests?type=INBOUND",
            &w.globex.engineer
        )
        .await
        .body["totalElements"],
        3
    );

    let pending_acme = app
        .get(
            "/v2/collaboration-requests?status=PENDINGACTION",
            &w.acme.engineer,
        )
        .await;
    assert_eq!(tokens(&pending_acme), [second.as_str()]);
    let pending_globex = app
        .get(
            "/v2/collaboration-requests?status=PENDINGACTION",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(pending_globex.body["totalElements"], 2);
    let information = app
        .get(
            "/v2/collaboration-requests?status=INFORMATION",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(tokens(&information), [second.as_str()]);
    let by_number = app
        .get(
            "/v2/collaboration-requests?internalCaseNumber=ACME-3",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(by_number.body["totalElements"], 1);
    let paged = app
        .get("/v2/collaboration-requests?size=2&page=1", &w.acme.engineer)
        .await;
    assert_eq!(tokens(&paged), [first]);
    assert_eq!(paged.body["totalPages"], 2);

    app.get("/v2/collaboration-requests?type=SIDEWAYS", &w.acme.engineer)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v2/collaboration-requests?status=DONE", &w.acme.engineer)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v2/collaboration-requests?size=0", &w.acme.engineer)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.get("/v1/partners/x", &w.acme.engineer)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let none = app
        .get("/v1/partners/nothing-like-this", &w.acme.engineer)
        .await;
    assert_eq!(none.body, json!([]));
}

async fn solution_support_requests_cannot_be_rejected(app: &TestApp) {
    let w = world_of(app, "SOLUTION_SUPPORT").await;
    let token = open_case(app, &w).await;
    step(app, &token, "rejection", &w.globex.engineer, rejection())
        .await
        .problem(StatusCode::CONFLICT, "rejection_not_allowed");
    let approved = step(app, &token, "approval", &w.globex.engineer, approval()).await;
    assert_eq!(approved.body["status"], "ACCEPTED");
}
