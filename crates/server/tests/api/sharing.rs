//! Minimization: what crosses to the partner is what the partnership's terms and the
//! customer's authorization both allow; everything else crosses as a pseudonym that only
//! its owner can read. Previews show exactly that; disclosures release single values.

use axum::http::{Method, StatusCode};
use casebridge_redact::Detectors;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::{Member, Response, TestApp};

stories!(
    the_partner_sees_only_what_terms_and_customer_allow,
    every_sharing_path_goes_through_the_gate,
    a_partner_reply_quoting_a_pseudonym_shows_the_owner_the_value,
    a_value_is_released_only_inside_the_authorized_categories,
    previews_show_exactly_what_the_partner_will_then_see,
    revoking_the_authorization_stops_sharing_and_hides_the_values,
);

/// Seeded personal data and secrets, with what the rules make of each here.
pub(crate) const IP: &str = "10.20.30.40"; // NETWORK_IDENTIFIERS: outside the terms
pub(crate) const EMAIL: &str = "ops.lead@initech-corp.com"; // CONTACT: in the terms, not authorized
pub(crate) const PASSWORD: &str = "Hunter2Hunter2"; // CREDENTIALS: authorized, never shared by default
pub(crate) const HOST: &str = "db1.prod.initech-corp.com"; // HOSTNAMES: terms and customer allow it
const FORBIDDEN: [&str; 3] = [IP, EMAIL, PASSWORD];

pub(crate) struct World {
    pub acme: Member,
    pub globex: Member,
    document_id: String,
    version_field: String,
    email_field: String,
}

fn field_id(fields: &Value, label: &str) -> String {
    fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == label)
        .unwrap()["fieldId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A custom field's value in a case body.
fn field_value<'v>(case: &'v Value, id: &str) -> &'v Value {
    &case["customFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fieldId"] == id)
        .unwrap()["value"]
}

pub(crate) async fn world(app: &TestApp) -> World {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let mut proposal = crate::support::proposal(&globex.id);
    proposal["terms"]["dataCategories"] = json!(["CONTACT", "HOSTNAMES", "CREDENTIALS", "LOGS"]);
    app.partner_with(&acme, &globex, proposal).await;
    let form = app
        .put(
            &format!("/v1/forms/company/{}", globex.id),
            &globex.manager,
            json!({
                "priorities": [{"priority": "HIGH", "responseHours": 4}],
                "customFields": [
                    {"label": "Product version", "section": "PROBLEM_SECTION", "type": "STRING", "required": true, "displayOrder": 1},
                    {"label": "Callback email", "section": "CONTACT_SECTION", "type": "EMAIL", "displayOrder": 2}
                ]
            }),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);
    World {
        acme,
        globex,
        document_id: form.body["documentId"].as_str().unwrap().to_owned(),
        version_field: field_id(&form.body["customFields"], "Product version"),
        email_field: field_id(&form.body["customFields"], "Callback email"),
    }
}

pub(crate) fn request(w: &World) -> Value {
    json!({
        "documentId": w.document_id,
        "internalCaseNumber": "ACME-7",
        "problemSummary": format!("Controller {IP} resets"),
        "problemDescription": format!("Replication from {HOST} to {IP} fails; the customer ({EMAIL}) saw password={PASSWORD} in the log."),
        "priority": "HIGH",
        "customFields": [
            {"fieldId": w.version_field, "value": "4.2.1"},
            {"fieldId": w.email_field, "value": EMAIL}
        ],
        "submitterContactDetails": {"name": "Priya Raman", "email": "priya@acme.example"},
        "customerAuthorization": {
            "method": "EMAIL",
            "authorizedBy": {"name": "Jane Customer", "email": "jane@customer.example"},
            "authorizedAt": (Utc::now() - Duration::hours(1)).to_rfc3339(),
            "purpose": "Resolve the replication failure",
            "dataCategories": ["HOSTNAMES", "CREDENTIALS"],
            "expiresAt": (Utc::now() + Duration::days(30)).to_rfc3339()
        }
    })
}

async fn open_case(app: &TestApp, w: &World) -> (String, Response) {
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    (created.body["token"].as_str().unwrap().to_owned(), created)
}

pub(crate) fn case_path(token: &str, rest: &str) -> String {
    format!("/v1/collaboration-requests/{token}{rest}")
}

/// The pseudonym the owner's view lists for `value`.
fn pseudonym_of(owner_view: &Value, value: &str) -> String {
    owner_view["protectedValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == value)
        .unwrap_or_else(|| panic!("{value} is not among {owner_view:?}"))["pseudonym"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[track_caller]
pub(crate) fn assert_holds_none(what: &Value, values: &[&str]) {
    let text = what.to_string();
    for value in values {
        assert!(!text.contains(value), "{value} reached the partner: {text}");
    }
}

async fn the_partner_sees_only_what_terms_and_customer_allow(app: &TestApp) {
    let w = world(app).await;
    let (token, created) = open_case(app, &w).await;
    // The sender sees its text as written, and what happens to each value.
    let owner = &created.body;
    assert!(owner["problemDescription"]
        .as_str()
        .unwrap()
        .contains(&format!("password={PASSWORD}")));
    assert_eq!(field_value(owner, &w.email_field), EMAIL);
    let fate = |value: &str| {
        owner["protectedValues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["value"] == value)
            .map(|v| (v["category"].clone(), v["fate"].clone()))
    };
    assert_eq!(
        fate(IP),
        Some((json!("NETWORK_IDENTIFIERS"), json!("PSEUDONYMIZED")))
    );
    assert_eq!(
        fate(EMAIL),
        Some((json!("CONTACT"), json!("PSEUDONYMIZED")))
    );
    assert_eq!(
        fate(PASSWORD),
        Some((json!("CREDENTIALS"), json!("PSEUDONYMIZED")))
    );
    assert_eq!(fate(HOST), Some((json!("HOSTNAMES"), json!("SHARED"))));

    // The partner sees pseudonyms, in the case, its list and the lists' summaries.
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_eq!(partner.status, StatusCode::OK);
    assert_holds_none(&partner.body, &FORBIDDEN);
    let description = partner.body["problemDescription"].as_str().unwrap();
    assert!(
        description.contains(HOST),
        "shared values cross: {description}"
    );
    assert!(description.contains(&pseudonym_of(owner, IP)));
    assert!(description.contains(&pseudonym_of(owner, PASSWORD)));
    assert_eq!(
        field_value(&partner.body, &w.email_field),
        &json!(pseudonym_of(owner, EMAIL))
    );
    assert_eq!(partner.body["protectedValues"], json!([]));
    let list = app
        .get(
            "/v2/collaboration-requests?type=INBOUND",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_holds_none(&list.body, &FORBIDDEN);

    // The engine itself finds nothing in the partner's view but shared values and the
    // pseudonyms standing for the rest.
    let pseudonyms: Vec<String> = owner["protectedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pseudonym"].as_str().unwrap().to_owned())
        .collect();
    let detectors = Detectors::new(&[], &[]).unwrap();
    for text in [
        partner.body["problemSummary"].as_str().unwrap(),
        description,
        field_value(&partner.body, &w.email_field).as_str().unwrap(),
    ] {
        for finding in detectors.find(text.as_bytes()) {
            let value = &text[finding.start..finding.end];
            assert!(
                finding.category.as_str() == "HOSTNAMES" || pseudonyms.iter().any(|p| p == value),
                "{value} ({}) crossed",
                finding.category
            );
        }
    }

    // The other company's view still reads as written for the owner.
    let again = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert_eq!(
        again.body["problemSummary"],
        format!("Controller {IP} resets")
    );
}

async fn every_sharing_path_goes_through_the_gate(app: &TestApp) {
    let w = world(app).await;
    let (token, _) = open_case(app, &w).await;
    let text = |what: &str| format!("{what}: {IP} and {EMAIL}");
    let steps: Vec<(&Member, &str, Value)> = vec![
        (
            &w.globex,
            "/information-request",
            json!({"engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example", "requestedInformation": text("request")}),
        ),
        (
            &w.acme,
            "/information-response",
            json!({"requestedInformation": text("response")}),
        ),
        (
            &w.globex,
            "/approval",
            json!({"caseNumber": "GX-1", "engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example", "nextSteps": text("approval")}),
        ),
        (
            &w.acme,
            "/notes",
            json!({"summary": text("note summary"), "description": text("note")}),
        ),
        (
            &w.globex,
            "/notes",
            json!({"summary": "from Globex", "description": text("partner note")}),
        ),
        (&w.acme, "/closure", json!({"reason": text("closure")})),
    ];
    for (who, step, body) in steps {
        let response = app
            .post(&case_path(&token, step), &who.engineer, body)
            .await;
        assert!(response.status.is_success(), "{step}: {:?}", response.body);
        // The writer reads its own text as written.
        assert!(response.body.to_string().contains(IP), "{step}");
        let other = if who.id == w.acme.id {
            &w.globex
        } else {
            &w.acme
        };
        // What this step wrote, as the other member sees it.
        let seen = if step == "/notes" {
            let notes = app.get(&case_path(&token, "/notes"), &other.engineer).await;
            notes.body.as_array().unwrap().last().unwrap().clone()
        } else {
            let case = app.get(&case_path(&token, ""), &other.engineer).await;
            case.body["caseResponses"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone()
        };
        assert!(seen.to_string().contains(": "), "{step}: {seen}");
        assert_holds_none(&seen, &[IP, EMAIL]);
    }
    // Each side's own values stay readable to it, and only to it.
    let acme_view = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    let globex_view = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    let acme_pseudonym = pseudonym_of(&acme_view.body, IP);
    let globex_pseudonym = pseudonym_of(&globex_view.body, IP);
    assert_ne!(
        acme_pseudonym, globex_pseudonym,
        "each member has its own key"
    );
    assert!(
        !globex_view.body.to_string().contains(&acme_pseudonym) || {
            // Globex sees Acme's pseudonym where Acme wrote the address, never the address
            // from Acme's texts.
            let description = globex_view.body["problemDescription"].as_str().unwrap();
            description.contains(&acme_pseudonym) && !description.contains(IP)
        }
    );

    // An internal note is not shared, so it is kept as written and never minimized.
    let internal = app
        .post(
            &case_path(&token, "/notes"),
            &w.acme.engineer,
            json!({"summary": "internal", "description": text("internal"), "visibility": "INTERNAL"}),
        )
        .await;
    // The case is closed: notes are refused whatever their visibility.
    internal.problem(StatusCode::CONFLICT, "invalid_transition");
}

async fn a_partner_reply_quoting_a_pseudonym_shows_the_owner_the_value(app: &TestApp) {
    let w = world(app).await;
    let (token, created) = open_case(app, &w).await;
    let ip_pseudonym = pseudonym_of(&created.body, IP);
    let reply = app
        .post(
            &case_path(&token, "/notes"),
            &w.globex.engineer,
            json!({"summary": "Firewall", "description": format!("Is {ip_pseudonym} behind the firewall?")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    // The partner reads its own reply as written: with the pseudonym it was shown.
    assert_eq!(
        reply.body["description"],
        format!("Is {ip_pseudonym} behind the firewall?")
    );
    let notes = app
        .get(&case_path(&token, "/notes"), &w.acme.engineer)
        .await;
    assert_eq!(
        notes.body[0]["description"],
        format!("Is {IP} behind the firewall?"),
        "the owner reads its own value"
    );
    let partner_notes = app
        .get(&case_path(&token, "/notes"), &w.globex.engineer)
        .await;
    assert_holds_none(&partner_notes.body, &[IP]);
}

async fn a_value_is_released_only_inside_the_authorized_categories(app: &TestApp) {
    let w = world(app).await;
    let (token, created) = open_case(app, &w).await;
    let disclose = |who: &str, pseudonym: String, reason: &str| {
        let body = json!({"pseudonym": pseudonym, "reason": reason});
        let path = case_path(&token, "/disclosures");
        let who = who.to_owned();
        async move { app.post(&path, &who, body).await }
    };
    let secret = pseudonym_of(&created.body, PASSWORD);

    // Outside what the partnership and the customer allow: refused.
    disclose(&w.acme.engineer, pseudonym_of(&created.body, IP), "needed")
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "authorization_out_of_scope",
        );
    disclose(
        &w.acme.engineer,
        pseudonym_of(&created.body, EMAIL),
        "needed",
    )
    .await
    .problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "authorization_out_of_scope",
    );
    // Not the caller's value, not a value at all, no reason, no caller, an auditor.
    disclose(&w.globex.engineer, secret.clone(), "mine now")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    disclose(&w.acme.engineer, "SECRET-0000000000".into(), "needed")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let no_reason = disclose(&w.acme.engineer, secret.clone(), "  ").await;
    no_reason.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(no_reason.fields(), ["reason"]);
    disclose(&w.acme.auditor, secret.clone(), "needed")
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let anonymous = app
        .call(
            Method::POST,
            &case_path(&token, "/disclosures"),
            None,
            Some(json!({"pseudonym": secret, "reason": "x"})),
        )
        .await;
    anonymous.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    let stranger = app.member("Initech", "initech.example").await;
    disclose(&stranger.engineer, secret.clone(), "needed")
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_holds_none(&partner.body, &[PASSWORD]);

    // Inside them: released, audited, and the partner now sees it everywhere it appears.
    let released = disclose(
        &w.acme.engineer,
        secret.clone(),
        "the partner must log in to reproduce",
    )
    .await;
    assert_eq!(released.status, StatusCode::CREATED, "{:?}", released.body);
    assert_eq!(released.body["fate"], "RELEASED");
    assert_eq!(
        released.body["releaseReason"],
        "the partner must log in to reproduce"
    );
    disclose(&w.acme.engineer, secret.clone(), "again")
        .await
        .problem(StatusCode::CONFLICT, "conflict");
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert!(partner.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(&format!("password={PASSWORD}")));
    assert_holds_none(&partner.body, &[IP, EMAIL]);
    let note = app
        .post(
            &case_path(&token, "/notes"),
            &w.acme.engineer,
            json!({"summary": "retry", "description": format!("try password={PASSWORD} on {IP}")}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    let notes = app
        .get(&case_path(&token, "/notes"), &w.globex.engineer)
        .await;
    let seen = notes.body[0]["description"].as_str().unwrap();
    assert!(seen.contains(PASSWORD) && !seen.contains(IP), "{seen}");
    let audit = app
        .get("/v1/audit-events?action=case.value_released", &w.acme.admin)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
    let events = audit.body["content"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["objectId"], token);
    assert_holds_none(&audit.body, &[PASSWORD]);
}

async fn previews_show_exactly_what_the_partner_will_then_see(app: &TestApp) {
    let w = world(app).await;
    let preview = app
        .post("/v1/previews", &w.acme.engineer, request(&w))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{:?}", preview.body);
    let view = &preview.body["partnerView"];
    assert_holds_none(view, &FORBIDDEN);
    let findings = preview.body["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["value"] == IP
        && f["fate"] == "PSEUDONYMIZED"
        && f["field"] == "problemSummary"));
    assert!(findings
        .iter()
        .any(|f| f["value"] == HOST && f["fate"] == "SHARED"));
    // Previewing stores nothing.
    let none = app
        .get(
            "/v2/collaboration-requests?type=INBOUND",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(none.body["totalElements"], 0, "{:?}", none.body);

    let (token, _) = open_case(app, &w).await;
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_eq!(partner.body["problemSummary"], view["problemSummary"]);
    assert_eq!(
        partner.body["problemDescription"],
        view["problemDescription"]
    );
    let email_field = format!("customFields.{}", w.email_field);
    assert_eq!(
        field_value(&partner.body, &w.email_field),
        &view[&email_field]
    );

    // A note and a step on the case.
    let note = json!({"summary": "Logs", "description": format!("See {IP} and {HOST}")});
    let previewed = app
        .post(
            &case_path(&token, "/preview"),
            &w.acme.engineer,
            note.clone(),
        )
        .await;
    assert_eq!(previewed.status, StatusCode::OK, "{:?}", previewed.body);
    app.post(&case_path(&token, "/notes"), &w.acme.engineer, note)
        .await;
    let notes = app
        .get(&case_path(&token, "/notes"), &w.globex.engineer)
        .await;
    assert_eq!(
        notes.body[0]["description"],
        previewed.body["partnerView"]["description"]
    );
    let step = json!({"action": "INFORMATION_REQUEST", "engineerName": "Ken Watanabe",
        "engineerEmail": "ken@globex.example", "requestedInformation": format!("Logs of {EMAIL}?")});
    let previewed = app
        .post(&case_path(&token, "/preview"), &w.globex.engineer, step)
        .await;
    assert_eq!(previewed.status, StatusCode::OK, "{:?}", previewed.body);
    assert_holds_none(&previewed.body["partnerView"], &[EMAIL]);
    // A step the caller may not take, an unknown action, an empty required text.
    app.post(
        &case_path(&token, "/preview"),
        &w.acme.engineer,
        json!({"action": "APPROVAL", "caseNumber": "X", "nextSteps": "go"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    let unknown = app
        .post(
            &case_path(&token, "/preview"),
            &w.acme.engineer,
            json!({"action": "SHRED"}),
        )
        .await;
    unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(unknown.fields(), ["action"]);
    app.post(
        &case_path(&token, "/preview"),
        &w.globex.engineer,
        json!({"action": "REJECTION", "reason": ""}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Another company cannot preview on the case.
    let stranger = app.member("Initech", "initech.example").await;
    app.post(
        &case_path(&token, "/preview"),
        &stranger.engineer,
        json!({"summary": "x"}),
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
    // A preview is refused exactly like the action would be.
    app.post(
        &format!(
            "/v1/partnerships/{}/end",
            partner.body["partnershipId"].as_str().unwrap()
        ),
        &w.acme.manager,
        json!({}),
    )
    .await;
    app.post(
        &case_path(&token, "/preview"),
        &w.acme.engineer,
        json!({"summary": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "no_active_partnership");
}

async fn revoking_the_authorization_stops_sharing_and_hides_the_values(app: &TestApp) {
    let w = world(app).await;
    let (token, created) = open_case(app, &w).await;
    let secret = pseudonym_of(&created.body, PASSWORD);
    let released = app
        .post(
            &case_path(&token, "/disclosures"),
            &w.acme.engineer,
            json!({"pseudonym": secret, "reason": "needed to reproduce"}),
        )
        .await;
    assert_eq!(released.status, StatusCode::CREATED);
    let before = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    let description = before.body["problemDescription"].as_str().unwrap();
    assert!(description.contains(HOST) && description.contains(PASSWORD));

    let revoke = |who: &str| {
        let path = case_path(&token, "/authorization/revocation");
        let who = who.to_owned();
        async move {
            app.post(&path, &who, json!({"reason": "the customer called"}))
                .await
        }
    };
    // Only the submitting company's engineers revoke.
    revoke(&w.globex.engineer)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    revoke(&w.acme.auditor)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let stranger = app.member("Initech", "initech.example").await;
    revoke(&stranger.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let revoked = revoke(&w.acme.engineer).await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert!(revoked.body["customerAuthorization"]["revokedAt"].is_string());
    revoke(&w.acme.engineer)
        .await
        .problem(StatusCode::CONFLICT, "conflict");

    // The partner now sees only pseudonyms, even of what was shared or released.
    let after = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_holds_none(&after.body, &[HOST, PASSWORD, IP, EMAIL]);
    assert!(after.body["customerAuthorization"]["revokedAt"].is_string());
    assert_holds_none(&after.body, &["the customer called"]);
    // The owner still reads its own text as written.
    let owner = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert!(owner.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(&format!("{HOST} to {IP}")));
    // Both sides see the system note.
    for who in [&w.acme, &w.globex] {
        let notes = app.get(&case_path(&token, "/notes"), &who.engineer).await;
        assert!(notes
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["summary"] == "Customer authorization revoked"));
    }

    // Every further share is refused; reading and closing go on.
    app.post(
        &case_path(&token, "/notes"),
        &w.acme.engineer,
        json!({"summary": "more", "description": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    app.post(
        &case_path(&token, "/notes"),
        &w.globex.engineer,
        json!({"summary": "question", "description": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    app.post(
        &case_path(&token, "/approval"),
        &w.globex.engineer,
        json!({"caseNumber": "GX-1", "engineerName": "Ken Watanabe", "engineerEmail": "ken@globex.example"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    app.post(
        &case_path(&token, "/preview"),
        &w.acme.engineer,
        json!({"summary": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    app.post(
        &case_path(&token, "/disclosures"),
        &w.acme.engineer,
        json!({"pseudonym": pseudonym_of(&created.body, IP), "reason": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    // Internal notes stay possible: they never cross.
    let internal = app
        .post(
            &case_path(&token, "/notes"),
            &w.acme.engineer,
            json!({"summary": "for us", "description": format!("revoked; {IP}"), "visibility": "INTERNAL"}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::CREATED, "{:?}", internal.body);
    let closed = app
        .post(
            &case_path(&token, "/closure"),
            &w.acme.engineer,
            json!({"reason": format!("customer withdrew; {IP}")}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_eq!(partner.body["status"], "CLOSED");
    assert_holds_none(&partner.body, &[IP, HOST]);
    let audit = app
        .get(
            "/v1/audit-events?action=case.authorization_revoked",
            &w.acme.admin,
        )
        .await;
    assert_eq!(audit.body["totalElements"], 1, "{:?}", audit.body);
}
