//! One case's description as its sender and its partner see it: as sent, after the
//! customer's authorization is revoked, and after the retention period's purge. With
//! `CASEBRIDGE_SHOWCASE=FILE` set, the views are also written to FILE as a Markdown table.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

use crate::sharing::{case_path, request, world, EMAIL, HOST, IP, PASSWORD};
use crate::support::TestApp;

stories!(sender_and_partner_views_side_by_side);

async fn sender_and_partner_views_side_by_side(app: &TestApp) {
    let w = world(app).await;
    let created = app
        .post("/v1/collaboration-requests", &w.acme.engineer, request(&w))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let views = || async {
        let sender = app.get(&case_path(&token, ""), &w.acme.engineer).await;
        let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
        (
            sender.body["problemDescription"]
                .as_str()
                .unwrap()
                .to_owned(),
            partner.body["problemDescription"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let sent = views().await;
    assert!([IP, EMAIL, PASSWORD, HOST]
        .iter()
        .all(|v| sent.0.contains(v)));
    assert!(sent.1.contains(HOST));
    assert!([IP, EMAIL, PASSWORD].iter().all(|v| !sent.1.contains(v)));

    let revoked = app
        .post(
            &case_path(&token, "/authorization/revocation"),
            &w.acme.engineer,
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after_revocation = views().await;
    assert_eq!(
        after_revocation.0, sent.0,
        "the sender still reads what it wrote"
    );
    assert!([IP, EMAIL, PASSWORD, HOST]
        .iter()
        .all(|v| !after_revocation.1.contains(v)));

    app.clock.advance(Duration::days(31));
    assert_eq!(app.services.purge_expired_cases().await.unwrap(), 1);
    let after_purge = views().await;
    assert_eq!(after_purge, ("[erased]".to_owned(), "[erased]".to_owned()));

    if let Ok(path) = std::env::var("CASEBRIDGE_SHOWCASE") {
        let mut table = String::from(
            "| moment | sender (Acme) sees | partner (Globex) sees |\n|---|---|---|\n",
        );
        for (moment, (sender, partner)) in [
            ("as sent", &sent),
            ("after revocation", &after_revocation),
            ("after the retention purge", &after_purge),
        ] {
            table.push_str(&format!("| {moment} | {sender} | {partner} |\n"));
        }
        std::fs::write(path, table).unwrap();
    }
}
