//! The demo world is consistent and usable through the API.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;

stories!(the_demo_world_can_be_signed_into_and_is_seeded_once);

async fn the_demo_world_can_be_signed_into_and_is_seeded_once(app: &TestApp) {
    let world = app
        .services
        .seed_demo()
        .await
        .unwrap()
        .expect("an empty database is seeded");
    let logins = world.logins;
    // The demo's customer page opens without signing in.
    let link = world
        .customer_link
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap()
        .to_owned();
    let page = app.call(Method::GET, &link, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Northwind Storage asks"),
        "{}",
        page.text
    );
    assert_eq!(logins.len(), 12);
    assert!(
        app.services.seed_demo().await.unwrap().is_none(),
        "seeded once"
    );

    let ana = logins
        .iter()
        .find(|l| l.email == "ana@northwind.example")
        .unwrap();
    let signed_in = app
        .call(
            Method::POST,
            "/v1/login",
            None,
            Some(json!({"username": ana.email, "password": ana.password})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    let token = signed_in.body["accessToken"].as_str().unwrap();
    let partnerships = app.get("/v1/partnerships", token).await;
    let statuses: Vec<&str> = partnerships
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&"ACTIVE") && statuses.contains(&"PROPOSED"));
    assert_eq!(
        app.get("/v1/agreements/current", token).await.body["acceptedByMyCompany"],
        true
    );
    // An active partner's form is readable.
    let active = partnerships
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "ACTIVE")
        .unwrap();
    let partner = &active["partner"]["companyId"];
    let form = app
        .get(
            &format!("/v1/forms/company/{}", partner.as_str().unwrap()),
            token,
        )
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.body["customFields"].as_array().unwrap().len(), 8);
    // Cases in several states, with an internal note Northwind must not see.
    let outbound = app
        .get("/v2/collaboration-requests?type=OUTBOUND", token)
        .await;
    assert_eq!(
        outbound.body["totalElements"], 3,
        "two with Contoso, one waiting for its customer"
    );
    let accepted = outbound.body["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "ACCEPTED")
        .unwrap();
    let case = app
        .get(
            &format!(
                "/v1/collaboration-requests/{}",
                accepted["token"].as_str().unwrap()
            ),
            token,
        )
        .await;
    let notes = case.body["caseNotes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(!case.body.to_string().contains("PLAT-5521"));
    let ken = logins
        .iter()
        .find(|l| l.email == "ken@contoso.example")
        .unwrap();
    let ken_token = app
        .call(
            Method::POST,
            "/v1/login",
            None,
            Some(json!({"username": ken.email, "password": ken.password})),
        )
        .await
        .body["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = app
        .get(
            "/v2/collaboration-requests?status=PENDINGACTION",
            &ken_token,
        )
        .await;
    assert_eq!(
        pending.body["totalElements"], 2,
        "the new request and Fabrikam's question"
    );
    // The request waiting for its customer is not Contoso's to see yet; the new one shows
    // Contoso the shared host name and only a pseudonym of the customer's address.
    let inbound = app
        .get(
            "/v2/collaboration-requests?type=INBOUND&size=50",
            &ken_token,
        )
        .await;
    let items = inbound.body["content"].as_array().unwrap();
    assert!(items.iter().all(|c| c["internalCaseNumber"] != "NW-20431"));
    let latency = items
        .iter()
        .find(|c| c["internalCaseNumber"] == "NW-20417")
        .unwrap();
    let case = app
        .get(
            &format!(
                "/v1/collaboration-requests/{}",
                latency["token"].as_str().unwrap()
            ),
            &ken_token,
        )
        .await;
    let description = case.body["problemDescription"].as_str().unwrap();
    assert!(
        description.contains("k8s-worker-07.prod.tailspin-toys.com"),
        "{description}"
    );
    assert!(
        description.contains("dana.whitfield@tailspin-toys.com"),
        "{description}"
    );
    assert!(!description.contains("10.40.12.7"), "{description}");
    // Passwords differ from user to user.
    let mut passwords: Vec<&str> = logins.iter().map(|l| l.password.as_str()).collect();
    passwords.sort();
    passwords.dedup();
    assert_eq!(passwords.len(), 12);
}
