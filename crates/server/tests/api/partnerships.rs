//! Partnerships: proposed, accepted, declined, ended, expired.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::{proposal, TestApp};

stories!(
    a_proposal_is_accepted_by_the_invited_member_only,
    a_declined_proposal_cannot_be_accepted,
    either_side_ends_a_partnership_once,
    an_expired_partnership_is_not_active,
    proposing_requires_the_current_agreement_and_valid_terms,
    only_admins_and_managers_of_the_two_members_act,
);

async fn action(app: &TestApp, id: &str, verb: &str, token: &str) -> crate::support::Response {
    app.call(
        Method::POST,
        &format!("/v1/partnerships/{id}/{verb}"),
        Some(token),
        None,
    )
    .await
}

async fn a_proposal_is_accepted_by_the_invited_member_only(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let proposed = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await;
    assert_eq!(proposed.status, StatusCode::CREATED, "{:?}", proposed.body);
    assert_eq!(proposed.body["status"], "PROPOSED");
    assert_eq!(proposed.body["type"], "COLLABORATIVE");
    assert_eq!(proposed.body["proposedByMyCompany"], true);
    assert_eq!(proposed.body["proposer"]["companyName"], "Acme");
    assert_eq!(proposed.body["partner"]["companyName"], "Globex");
    assert_eq!(
        proposed.body["terms"]["dataCategories"],
        json!(["HOSTNAMES", "LOGS"])
    );
    let id = proposed.body["id"].as_str().unwrap();

    action(app, id, "acceptance", &acme.admin)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let seen = app
        .get(&format!("/v1/partnerships/{id}"), &globex.engineer)
        .await;
    assert_eq!(seen.body["proposedByMyCompany"], false);
    let accepted = action(app, id, "acceptance", &globex.admin).await;
    assert_eq!(accepted.status, StatusCode::OK);
    assert_eq!(accepted.body["status"], "ACTIVE");
    assert!(accepted.body["answeredAt"].is_string());
    action(app, id, "acceptance", &globex.admin)
        .await
        .problem(StatusCode::CONFLICT, "invalid_transition");
    let listed = app.get("/v1/partnerships", &acme.engineer).await;
    assert_eq!(listed.body[0]["status"], "ACTIVE");
    // A second proposal between the same two members is a conflict.
    app.post("/v1/partnerships", &globex.manager, proposal(&acme.id))
        .await
        .problem(StatusCode::CONFLICT, "conflict");
}

async fn a_declined_proposal_cannot_be_accepted(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let id = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    action(app, &id, "decline", &acme.manager)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let declined = action(app, &id, "decline", &globex.manager).await;
    assert_eq!(declined.body["status"], "DECLINED");
    let late = action(app, &id, "acceptance", &globex.manager).await;
    late.problem(StatusCode::CONFLICT, "invalid_transition");
    assert!(late.body["detail"].as_str().unwrap().contains("DECLINED"));
    // After a decline a new proposal may be made.
    let again = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
}

async fn either_side_ends_a_partnership_once(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let id = app.partner(&acme, &globex).await;
    let ended = action(app, &id, "end", &globex.admin).await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_eq!(ended.body["status"], "ENDED");
    assert!(ended.body["endedAt"].is_string());
    action(app, &id, "end", &acme.admin)
        .await
        .problem(StatusCode::CONFLICT, "invalid_transition");
    // The proposer may also withdraw a proposal.
    let second = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await;
    let withdrawn = action(
        app,
        second.body["id"].as_str().unwrap(),
        "end",
        &acme.manager,
    )
    .await;
    assert_eq!(withdrawn.body["status"], "ENDED");
}

async fn an_expired_partnership_is_not_active(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let mut body = proposal(&globex.id);
    body["terms"]["expiresAt"] = json!((Utc::now() + Duration::days(1)).to_rfc3339());
    let id = app.post("/v1/partnerships", &acme.manager, body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        action(app, &id, "acceptance", &globex.manager).await.body["status"],
        "ACTIVE"
    );
    publish_form(app, &globex).await;
    let form_path = format!("/v1/forms/company/{}", globex.id);
    assert_eq!(
        app.get(&form_path, &acme.engineer).await.status,
        StatusCode::OK
    );

    app.clock.advance(Duration::days(2));
    let expired = app
        .get(&format!("/v1/partnerships/{id}"), &acme.admin)
        .await;
    assert_eq!(expired.body["status"], "EXPIRED");
    app.get(&form_path, &acme.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    action(app, &id, "end", &acme.admin)
        .await
        .problem(StatusCode::CONFLICT, "invalid_transition");
    // An expired partnership does not block a new proposal.
    let renewed = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await;
    assert_eq!(renewed.status, StatusCode::CREATED);
}

async fn publish_form(app: &TestApp, member: &crate::support::Member) {
    let published = app
        .put(
            &format!("/v1/forms/company/{}", member.id),
            &member.manager,
            json!({"priorities": [{"priority": "HIGH", "responseHours": 4}]}),
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::CREATED,
        "{:?}",
        published.body
    );
}

async fn proposing_requires_the_current_agreement_and_valid_terms(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await
        .problem(StatusCode::CONFLICT, "agreement_not_accepted");
    app.agree(&[&acme]).await;
    let id = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Globex has not accepted the agreement: it cannot accept the partnership.
    action(app, &id, "acceptance", &globex.admin)
        .await
        .problem(StatusCode::CONFLICT, "agreement_not_accepted");
    // A new agreement version needs a new acceptance.
    app.publish_agreement("Version two").await;
    action(app, &id, "end", &acme.manager).await;
    app.post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await
        .problem(StatusCode::CONFLICT, "agreement_not_accepted");
    app.agree(&[&acme]).await;

    let invalid = app
        .post(
            "/v1/partnerships",
            &acme.manager,
            json!({
                "partnerCompanyId": globex.id, "type": "COLLABORATIVE",
                "terms": {"dataCategories": [], "retentionDays": 0, "onwardSharingAllowed": true,
                          "expiresAt": "2001-01-01T00:00:00Z"}
            }),
        )
        .await;
    invalid.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(
        invalid.fields(),
        [
            "terms.dataCategories",
            "terms.retentionDays",
            "terms.onwardSharingAllowed",
            "terms.expiresAt"
        ]
    );
    let mut unknown_category = proposal(&globex.id);
    unknown_category["terms"]["dataCategories"] = json!(["EVERYTHING"]);
    app.post("/v1/partnerships", &acme.manager, unknown_category)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let own = app
        .post("/v1/partnerships", &acme.manager, proposal(&acme.id))
        .await;
    assert_eq!(own.fields(), ["partnerCompanyId"]);
    let nobody = app
        .post(
            "/v1/partnerships",
            &acme.manager,
            proposal("01a22508-a5bb-7557-b71d-fbc0588e187b"),
        )
        .await;
    assert_eq!(nobody.fields(), ["partnerCompanyId"]);
    let mut foreign_department = proposal(&globex.id);
    foreign_department["partnerDepartmentId"] = json!("01a22508-a5bb-7557-b71d-fbc0588e187b");
    let response = app
        .post("/v1/partnerships", &acme.manager, foreign_department)
        .await;
    assert_eq!(response.fields(), ["partnerDepartmentId"]);
}

async fn only_admins_and_managers_of_the_two_members_act(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let initech = app.member("Initech", "initech.example").await;
    app.agree(&[&acme, &globex, &initech]).await;
    for token in [&acme.engineer, &acme.auditor] {
        app.post("/v1/partnerships", token, proposal(&globex.id))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let id = app
        .post("/v1/partnerships", &acme.manager, proposal(&globex.id))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    action(app, &id, "acceptance", &globex.engineer)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    for verb in ["acceptance", "decline", "end"] {
        action(app, &id, verb, &initech.admin)
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }
    app.get(&format!("/v1/partnerships/{id}"), &initech.admin)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get("/v1/partnerships", &initech.admin).await.body,
        json!([])
    );
}
