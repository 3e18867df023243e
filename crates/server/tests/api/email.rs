//! Notification emails against a real SMTP conversation on loopback: who gets what, that
//! nothing of the case's text travels, and that without a mail server emails wait.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use casebridge_jobs::{Dispatcher, MailSettings, Mailer};
use chrono::Duration;
use serde_json::json;
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::TestApp;
use crate::webhooks::{
    eventually, loopback, open_case_with, partners, quick_settings, run_dispatcher,
};

stories!(
    each_event_emails_the_people_who_act_on_it_and_nothing_of_the_case_text,
    without_a_mail_server_emails_wait_in_the_outbox,
    copies_go_to_the_bcc_addresses_and_note_emails_can_be_turned_off,
    the_customer_gets_the_authorization_link_by_email,
);

#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server: enough of RFC 5321 for a client to hand over messages.
async fn smtp_sink() -> (Arc<Mutex<Vec<Mail>>>, String) {
    let got: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let store = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().trim_matches(['<', '>']).to_lowercase());
                        b"250 OK\r\n"
                    } else if upper.starts_with("DATA") {
                        write.write_all(b"354 go ahead\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        store.lock().unwrap().push(Mail {
                            to: std::mem::take(&mut to),
                            data,
                        });
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (got, url)
}

fn mailer(url: &str) -> Mailer {
    Mailer::new(
        &MailSettings {
            url: url.to_owned(),
            from: "Casebridge <casebridge@casebridge.test>".into(),
            timeout: std::time::Duration::from_secs(5),
        },
        "http://casebridge.test",
    )
    .unwrap()
}

fn to(mails: &[Mail], address: &str) -> Vec<Mail> {
    mails
        .iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .cloned()
        .collect()
}

/// The Subject header, unfolded (RFC 5322 continuation lines start with white space).
fn subject(mail: &Mail) -> String {
    let mut lines = mail
        .data
        .lines()
        .skip_while(|l| !l.starts_with("Subject: "));
    let mut subject = lines
        .next()
        .and_then(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_owned();
    for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        subject.push(' ');
        subject.push_str(more.trim());
    }
    subject
}

async fn each_event_emails_the_people_who_act_on_it_and_nothing_of_the_case_text(app: &TestApp) {
    let (got, url) = smtp_sink().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    let _running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings())
            .with_mailer(mailer(&url)),
    );
    let mails = || got.lock().unwrap().clone();

    // A new request: Globex's admin and manager hear of it; its engineers and Acme do not.
    let token = open_case_with(app, &acme, &document_id, "ACME-1", "HIGH").await;
    eventually("the new-request emails", || mails().len() >= 2).await;
    let new = mails();
    assert_eq!(new.len(), 2, "{new:?}");
    for address in ["admin@globex.example", "manager@globex.example"] {
        let mail = &to(&new, address)[0];
        assert_eq!(subject(mail), "New High request from Acme: ACME-1");
        assert!(mail
            .data
            .contains(&format!("http://casebridge.test/cases/{token}")));
        assert!(mail.data.contains("multipart/alternative") && mail.data.contains("text/html"));
    }

    // Globex accepts: Acme's submitting engineer is told.
    let accepted = app
        .post(
            &format!("/v1/collaboration-requests/{token}/approval"),
            &globex.engineer,
            json!({"caseNumber": "GLX-7", "engineerName": "Ken", "engineerEmail": "engineer@globex.example"}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    eventually("the response email", || {
        !to(&mails(), "priya@acme.example").is_empty()
    })
    .await;
    assert_eq!(
        subject(&to(&mails(), "priya@acme.example")[0]),
        "Globex responded on ACME-1 (theirs: GLX-7): Approval"
    );

    // Notes: an internal one emails nobody; a shared one emails the other side's engineer.
    let notes = format!("/v1/collaboration-requests/{token}/notes");
    let internal = app
        .post(
            &notes,
            &acme.engineer,
            json!({"summary": "Customer escalated", "visibility": "INTERNAL"}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::CREATED);
    let shared = app
        .post(
            &notes,
            &acme.engineer,
            json!({"summary": "Logs uploaded", "visibility": "SHARED"}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED);
    eventually("the note email", || {
        !to(&mails(), "engineer@globex.example").is_empty()
    })
    .await;
    assert_eq!(
        subject(&to(&mails(), "engineer@globex.example")[0]),
        "New note from Acme on GLX-7 (theirs: ACME-1)"
    );

    // The response clock: reminders and the breach go to the escalation contact.
    let waiting = open_case_with(app, &acme, &document_id, "ACME-2", "HIGH").await;
    for minutes in [121, 100, 30] {
        app.clock.advance(Duration::minutes(minutes));
        app.services.sweep_cases().await.unwrap();
    }
    eventually("the escalation emails", || {
        to(&mails(), "duty@globex.example").len() >= 3
    })
    .await;
    let duty: Vec<String> = to(&mails(), "duty@globex.example")
        .iter()
        .map(|m| subject(m).to_owned())
        .collect();
    assert_eq!(
        duty,
        [
            "Reminder: ACME-2 from Acme is half-way to its target",
            "Reminder: ACME-2 from Acme is due soon",
            "Response target missed: ACME-2 from Acme",
        ]
    );
    let _ = waiting;

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for mail in mails() {
        // Metadata only: no summary, description, customer or note text.
        for secret in [
            "Controller resets",
            "jane@customer.example",
            "db1.corp",
            "Customer escalated",
            "Logs uploaded",
        ] {
            assert!(!mail.data.contains(secret), "{secret} in {}", mail.data);
        }
        // Nobody at Acme is told of Globex's internal steps, and no engineer of Globex
        // receives the new-request email meant for its admins.
        assert!(!mail.to.contains(&"engineer@acme.example".to_owned()));
    }
}

async fn without_a_mail_server_emails_wait_in_the_outbox(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    let _running = run_dispatcher(Dispatcher::new(
        Arc::new(app.store.clone()),
        loopback(),
        quick_settings(),
    ));
    open_case_with(app, &acme, &document_id, "ACME-1", "HIGH").await;
    let pending = || async {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM deliveries WHERE channel = 'email' AND status = 'PENDING' \
             AND attempts = 0",
        )
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .get::<i64, _>("n")
    };
    let start = std::time::Instant::now();
    while pending().await < 2 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Nothing tries to send them; a later server with a mail server will.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(pending().await, 2);
}

async fn copies_go_to_the_bcc_addresses_and_note_emails_can_be_turned_off(app: &TestApp) {
    let (got, url) = smtp_sink().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    // Only admins set the copies, to real addresses.
    app.put(
        "/v1/notification-settings",
        &acme.engineer,
        json!({"outboundBcc": "support@acme.example"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    app.put(
        "/v1/notification-settings",
        &acme.admin,
        json!({"outboundBcc": "not an address"}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for (admin, body) in [
        (&acme.admin, json!({"outboundBcc": "Support@Acme.example"})),
        (
            &globex.admin,
            json!({"inboundBcc": "intake@globex.example"}),
        ),
    ] {
        let set = app.put("/v1/notification-settings", admin, body).await;
        assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    }
    let read = app.get("/v1/notification-settings", &globex.admin).await;
    assert_eq!(
        read.body,
        json!({"inboundBcc": "intake@globex.example", "outboundBcc": null})
    );

    let _running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings())
            .with_mailer(mailer(&url)),
    );
    let mails = || got.lock().unwrap().clone();
    let token = open_case_with(app, &acme, &document_id, "ACME-1", "HIGH").await;
    eventually("the intake copy", || {
        !to(&mails(), "intake@globex.example").is_empty()
    })
    .await;
    let accepted = app
        .post(
            &format!("/v1/collaboration-requests/{token}/approval"),
            &globex.engineer,
            json!({"caseNumber": "GLX-7", "engineerName": "Ken", "engineerEmail": "engineer@globex.example"}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK);
    eventually("the support copy", || {
        !to(&mails(), "support@acme.example").is_empty()
    })
    .await;

    // Globex's engineer turns partner-note emails off: a note reaches nobody at Globex…
    let prefs = app.get("/v1/me/email-preferences", &globex.engineer).await;
    assert_eq!(prefs.body, json!({"partnerNoteEmails": true}));
    let off = app
        .put(
            "/v1/me/email-preferences",
            &globex.engineer,
            json!({"partnerNoteEmails": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    let notes = format!("/v1/collaboration-requests/{token}/notes");
    let note = |summary: &'static str| {
        let acme = &acme;
        let notes = &notes;
        async move {
            let added = app
                .post(
                    notes,
                    &acme.engineer,
                    json!({"summary": summary, "visibility": "SHARED"}),
                )
                .await;
            assert_eq!(added.status, StatusCode::CREATED);
        }
    };
    note("First update").await;
    // Preferences apply when the dispatcher picks recipients: wait until it has.
    let start = std::time::Instant::now();
    loop {
        let waiting: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM outbox_events WHERE fanned_out_at IS NULL")
                .fetch_one(app.store.pool())
                .await
                .unwrap()
                .get("n");
        if waiting == 0 {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // …then back on, the next one does.
    let on = app
        .put(
            "/v1/me/email-preferences",
            &globex.engineer,
            json!({"partnerNoteEmails": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    note("Second update").await;
    eventually("the second note email", || {
        !to(&mails(), "engineer@globex.example").is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        to(&mails(), "engineer@globex.example").len(),
        1,
        "only the note sent while on"
    );
}

async fn the_customer_gets_the_authorization_link_by_email(app: &TestApp) {
    let (got, url) = smtp_sink().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    let created = app
        .post(
            "/v1/collaboration-requests",
            &acme.engineer,
            json!({
                "documentId": document_id,
                "internalCaseNumber": "ACME-77",
                "problemSummary": "Replication lag",
                "problemDescription": "Lag grows every night.",
                "priority": "HIGH",
                "submitterContactDetails": {"name": "Priya Raman", "email": "priya@acme.example"},
                "customerAuthorization": {
                    "method": "CUSTOMER_LINK",
                    "authorizedBy": {"name": "Jane Customer", "email": "Jane@Customer.example"},
                    "purpose": "Fix the replication lag",
                    "dataCategories": ["LOGS"]
                }
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let link = created.body["authorizationUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    // The link is stored nowhere in clear: not in the outbox either.
    let secret = link.rsplit('/').next().unwrap();
    let stored: Vec<String> = sqlx::query("SELECT COALESCE(payload, '') AS p FROM deliveries")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("p"))
        .collect();
    assert!(stored.iter().all(|p| !p.contains(secret)));

    let _running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings())
            .with_mailer(mailer(&url)),
    );
    let mails = || got.lock().unwrap().clone();
    eventually("the customer's email", || {
        !to(&mails(), "jane@customer.example").is_empty()
    })
    .await;
    let mail = &to(&mails(), "jane@customer.example")[0];
    assert_eq!(
        subject(mail),
        "Acme asks your permission to work on your support request with Globex"
    );
    let body = mail.data.replace("=\n", "");
    assert!(body.contains(&link), "the link is in the email: {body}");
    assert!(body.contains("Hello Jane Customer"));
    // Globex hears nothing while the case waits for the customer.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(mails()
        .iter()
        .all(|m| m.to.iter().all(|t| !t.ends_with("@globex.example"))));
}
