//! Notification emails against a real SMTP conversation on loopback: who gets what, that
//! nothing of the case's text travels, and that without a mail server emails wait.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use casebridge_jobs::{Dispatcher, MailSettings, Mailer};
use chrono::Duration;
use serde_json::json;
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::support::TestApp;
use crate::webhooks::{
    eventually, loopback, open_case_with, partners, quick_settings, run_dispatcher,
};

stories!(
    each_event_emails_the_people_who_act_on_it_and_nothing_of_the_case_text,
    without_a_mail_server_emails_wait_in_the_outbox,
    copies_go_to_the_bcc_addresses_and_note_emails_can_be_turned_off,
    the_customer_gets_the_authorization_link_by_email,
    a_request_to_a_department_goes_to_its_contacts,
    emails_travel_over_tls_with_the_operators_login,
    an_aiosmtpd_server_gets_them_over_starttls_and_smtps,
);

#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    data: String,
    /// Whether the message came over TLS.
    secure: bool,
    /// `user:password` from AUTH PLAIN, if the client logged in.
    login: Option<String>,
}

/// How the test mail server offers TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Plain SMTP, no login (a local relay).
    Plain,
    /// STARTTLS on the plain port, then AUTH PLAIN required.
    StartTls,
    /// TLS from the first byte (smtps), then AUTH PLAIN required.
    Implicit,
}

const LOGIN: &str = "casebridge:s3cret pass";

/// A plain SMTP server on loopback.
async fn smtp_sink() -> (Arc<Mutex<Vec<Mail>>>, String) {
    smtp_server(Security::Plain).await
}

/// A small SMTP server on loopback: enough of RFC 5321, 3207 (STARTTLS) and 4954 (AUTH)
/// for a client to hand over messages, with a certificate from `fixtures/smtp-ca.pem`.
async fn smtp_server(security: Security) -> (Arc<Mutex<Vec<Mail>>>, String) {
    let got: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (user, pass) = LOGIN.split_once(':').unwrap();
    let login = format!("{user}:{}@", pass.replace(' ', "%20"));
    let url = match security {
        Security::Plain => format!("smtp://127.0.0.1:{port}"),
        Security::StartTls => format!("smtp+starttls://{login}127.0.0.1:{port}"),
        Security::Implicit => format!("smtps://{login}127.0.0.1:{port}"),
    };
    let acceptor = tls_acceptor();
    let store = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (store, acceptor) = (store.clone(), acceptor.clone());
            tokio::spawn(async move {
                let needs_login = security != Security::Plain;
                if security == Security::Implicit {
                    let Ok(tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut tls = BufReader::new(tls);
                    tls.write_all(b"220 sink ESMTP\r\n").await.ok();
                    converse(&mut tls, true, false, needs_login, &store).await;
                    return;
                }
                let mut plain = BufReader::new(socket);
                plain.write_all(b"220 sink ESMTP\r\n").await.ok();
                let offer_tls = security == Security::StartTls;
                if converse(&mut plain, false, offer_tls, needs_login, &store).await {
                    let Ok(tls) = acceptor.accept(plain.into_inner()).await else {
                        return;
                    };
                    converse(&mut BufReader::new(tls), true, false, needs_login, &store).await;
                }
            });
        }
    });
    (got, url)
}

/// One SMTP conversation; true when the client asked to switch to TLS.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    secure: bool,
    offer_tls: bool,
    needs_login: bool,
    store: &Mutex<Vec<Mail>>,
) -> bool {
    let mut to = Vec::new();
    let mut login = None;
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return false;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            match (offer_tls, secure && needs_login) {
                (true, _) => b"250-sink\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                (false, true) => b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n",
                (false, false) => b"250-sink\r\n250 8BITMIME\r\n",
            }
        } else if upper == "STARTTLS" && offer_tls {
            stream.write_all(b"220 go ahead\r\n").await.ok();
            return true;
        } else if let Some(encoded) = upper.strip_prefix("AUTH PLAIN ").map(|_| &command[11..]) {
            let decoded = BASE64.decode(encoded.trim()).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            match parts.as_slice() {
                [_, user, pass] => {
                    login = Some(format!(
                        "{}:{}",
                        String::from_utf8_lossy(user),
                        String::from_utf8_lossy(pass)
                    ));
                    b"235 2.7.0 accepted\r\n"
                }
                _ => b"501 malformed\r\n",
            }
        } else if upper.starts_with("MAIL FROM:") && needs_login && login.is_none() {
            b"530 5.7.0 authentication required\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().trim_matches(['<', '>']).to_lowercase());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            stream.write_all(b"354 go ahead\r\n").await.ok();
            let mut data = String::new();
            loop {
                line.clear();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return false;
                }
                let text = line.trim_end_matches(['\r', '\n']);
                if text == "." {
                    break;
                }
                data.push_str(text);
                data.push('\n');
            }
            store.lock().unwrap().push(Mail {
                to: std::mem::take(&mut to),
                data,
                secure,
                login: login.clone(),
            });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            stream.write_all(b"221 bye\r\n").await.ok();
            return false;
        } else {
            b"250 OK\r\n"
        };
        stream.write_all(reply).await.ok();
    }
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures");
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{fixtures}/smtp-cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{fixtures}/smtp-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn private_ca() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api/fixtures/smtp-ca.pem"
    ))
    .unwrap()
}

fn mailer(url: &str) -> Mailer {
    Mailer::new(&mail_settings(url, None), "http://casebridge.test").unwrap()
}

fn mail_settings(url: &str, ca_pem: Option<Vec<u8>>) -> MailSettings {
    MailSettings {
        url: url.to_owned(),
        from: "Casebridge <casebridge@casebridge.test>".into(),
        timeout: std::time::Duration::from_secs(5),
        ca_pem,
    }
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
    drop(_running);

    // Globex's admins see them waiting, with whom they are for; nobody else does.
    let listed = app.get("/v1/email-deliveries", &globex.admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let mut to: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, ["admin@globex.example", "manager@globex.example"]);
    for email in listed.body.as_array().unwrap() {
        assert_eq!(email["status"], "PENDING");
        assert_eq!(email["attempts"], 0);
        assert_eq!(email["eventType"], "case.created");
    }
    app.get("/v1/email-deliveries", &globex.engineer)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        app.get("/v1/email-deliveries", &acme.admin).await.body,
        json!([])
    );
    let sent = app
        .get("/v1/email-deliveries?status=DELIVERED", &globex.admin)
        .await;
    assert_eq!(sent.body, json!([]));
    let bad = app
        .get("/v1/email-deliveries?status=LOST", &globex.admin)
        .await;
    bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut page = crate::web::Browser::signed_in(app, "admin@globex.example").await;
    let shown = page.get("/admin/webhooks").await;
    assert!(
        shown.text.contains("2 waiting to be sent"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("manager@globex.example"));

    // One gave up (its retry window passed); an admin sends it again once mail works.
    let first = listed.body[0]["id"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE deliveries SET status = 'FAILED', attempts = 40 WHERE id = $1")
        .bind(&first)
        .execute(app.store.pool())
        .await
        .unwrap();
    let again = format!("/v1/email-deliveries/{first}/redeliver");
    for (path, by, status, code) in [
        (
            again.as_str(),
            &globex.engineer,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "/v1/email-deliveries/not-a-uuid/redeliver",
            &globex.admin,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        app.call(axum::http::Method::POST, path, Some(by), None)
            .await
            .problem(status, code);
    }
    let mut engineer = crate::web::Browser::signed_in(app, "engineer@globex.example").await;
    assert_eq!(
        engineer.get("/admin/webhooks").await.status,
        StatusCode::FORBIDDEN
    );
    engineer.get("/").await;
    let refused = engineer
        .post(&format!("/admin/webhooks/emails/{first}/redeliver"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    app.call(axum::http::Method::POST, &again, Some(&acme.admin), None)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let redriven = app
        .call(axum::http::Method::POST, &again, Some(&globex.admin), None)
        .await;
    assert_eq!(redriven.status, StatusCode::ACCEPTED, "{:?}", redriven.body);
    assert_eq!(redriven.body["status"], "PENDING");
    let (got, url) = smtp_sink().await;
    let _running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings())
            .with_mailer(mailer(&url)),
    );
    eventually("both emails", || got.lock().unwrap().len() >= 2).await;
    // The server has the message before the dispatcher records it as sent.
    let start = std::time::Instant::now();
    loop {
        let sent = app
            .get("/v1/email-deliveries?status=DELIVERED", &globex.admin)
            .await;
        if sent.body.as_array().unwrap().len() == 2 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            sent.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.lock().unwrap().len(), 2);
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

async fn a_request_to_a_department_goes_to_its_contacts(app: &TestApp) {
    let (got, url) = smtp_sink().await;
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let company_form = partners(app, &acme, &globex).await;
    let department = json!({
        "name": "Storage",
        "notificationEmails": ["Storage-Duty@globex.example", "not an address"]
    });
    let refused = app
        .post("/v1/departments", &globex.manager, department.clone())
        .await;
    refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(refused.fields(), ["notificationEmails[1]"]);
    let too_many: Vec<String> = (0..21).map(|i| format!("p{i}@globex.example")).collect();
    let refused = app
        .post(
            "/v1/departments",
            &globex.manager,
            json!({"name": "Storage", "notificationEmails": too_many}),
        )
        .await;
    assert_eq!(refused.fields(), ["notificationEmails"]);
    let created = app
        .post(
            "/v1/departments",
            &globex.manager,
            json!({"name": "Storage", "notificationEmails": ["Storage-Duty@globex.example"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(
        created.body["notificationEmails"],
        json!(["storage-duty@globex.example"])
    );
    let department_id = created.body["id"].as_str().unwrap().to_owned();
    // The same on the Departments page: the bad item is named beside the field.
    let mut page = crate::web::Browser::signed_in(app, "manager@globex.example").await;
    page.get("/admin/departments").await;
    let refused = page
        .post(
            "/admin/departments",
            &[
                ("name", "Network"),
                ("notificationEmails", "net@globex.example, nope"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("item 2: must be an email address"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("net@globex.example, nope"),
        "what was typed is kept"
    );
    let saved = page
        .post(
            "/admin/departments",
            &[
                ("name", "Network"),
                ("notificationEmails", "Net@Globex.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let listed = page.get("/admin/departments").await;
    assert!(listed
        .text
        .contains("New requests are emailed to net@globex.example."));
    assert!(listed
        .text
        .contains("New requests are emailed to storage-duty@globex.example."));
    let form = app
        .put(
            &format!("/v1/forms/department/{department_id}"),
            &globex.manager,
            json!({
                "priorities": [{"priority": "HIGH", "responseHours": 4}],
                "escalationContacts": [{"name": "Storage Lead", "email": "lead@globex.example"}],
                "customFields": []
            }),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);
    let storage_form = form.body["documentId"].as_str().unwrap().to_owned();
    let _running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings())
            .with_mailer(mailer(&url)),
    );
    let mails = || got.lock().unwrap().clone();

    // To the department: its contacts only, not the company's admins and managers.
    open_case_with(app, &acme, &storage_form, "ACME-S1", "HIGH").await;
    eventually("the department's email", || {
        !to(&mails(), "storage-duty@globex.example").is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mails().len(), 1, "{:?}", mails());
    assert_eq!(
        subject(&to(&mails(), "storage-duty@globex.example")[0]),
        "New High request from Acme: ACME-S1"
    );

    // To the whole company: the admins and managers, as before.
    open_case_with(app, &acme, &company_form, "ACME-C1", "HIGH").await;
    eventually("the company's emails", || mails().len() >= 3).await;
    let company: Vec<Vec<String>> = mails()[1..].iter().map(|m| m.to.clone()).collect();
    assert!(company.contains(&vec!["admin@globex.example".to_owned()]));
    assert!(company.contains(&vec!["manager@globex.example".to_owned()]));

    // Emptying the list gives the department's requests back to the admins and managers.
    let cleared = app
        .put(
            &format!("/v1/departments/{department_id}"),
            &globex.manager,
            json!({"name": "Storage"}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{:?}", cleared.body);
    assert_eq!(cleared.body["notificationEmails"], json!([]));
    open_case_with(app, &acme, &storage_form, "ACME-S2", "HIGH").await;
    eventually("the fallback emails", || mails().len() >= 5).await;
    assert_eq!(to(&mails(), "storage-duty@globex.example").len(), 1);
    assert_eq!(to(&mails(), "admin@globex.example").len(), 2);
}

async fn emails_travel_over_tls_with_the_operators_login(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;

    // A CA file is for TLS; with plain smtp:// it is a mistake the operator hears of.
    let refused = Mailer::new(
        &mail_settings("smtp://127.0.0.1:2525", Some(private_ca())),
        "http://casebridge.test",
    );
    assert!(refused
        .err()
        .unwrap()
        .contains("smtps:// or smtp+starttls://"));
    let refused = Mailer::new(
        &mail_settings("smtps://127.0.0.1:465", Some(b"not a certificate".to_vec())),
        "http://casebridge.test",
    );
    assert!(refused.err().unwrap().contains("CA file is not valid"));

    // A server whose certificate the mailer cannot verify gets nothing: not the login,
    // not the message. The email waits, with the reason.
    let (untrusted, url) = smtp_server(Security::StartTls).await;
    let running = run_dispatcher(
        Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings()).with_mailer(
            Mailer::new(&mail_settings(&url, None), "http://casebridge.test").unwrap(),
        ),
    );
    open_case_with(app, &acme, &document_id, "ACME-T0", "HIGH").await;
    let failure = || async {
        sqlx::query(
            "SELECT COALESCE(last_error, '') AS e FROM deliveries \
             WHERE channel = 'email' AND status = 'PENDING' AND attempts > 0",
        )
        .fetch_all(app.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("e"))
        .collect::<Vec<_>>()
    };
    let mut reasons = Vec::new();
    for _ in 0..100 {
        reasons = failure().await;
        if !reasons.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!reasons.is_empty(), "the untrusted server was not refused");
    assert!(
        reasons
            .iter()
            .all(|r| r.to_lowercase().contains("certificate")),
        "{reasons:?}"
    );
    assert!(untrusted.lock().unwrap().is_empty());
    drop(running);

    // With the operator's CA: STARTTLS, then implicit TLS, each with the login.
    for (security, number) in [
        (Security::StartTls, "ACME-T1"),
        (Security::Implicit, "ACME-T2"),
    ] {
        let (got, url) = smtp_server(security).await;
        let _running = run_dispatcher(
            Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings()).with_mailer(
                Mailer::new(
                    &mail_settings(&url, Some(private_ca())),
                    "http://casebridge.test",
                )
                .unwrap(),
            ),
        );
        open_case_with(app, &acme, &document_id, number, "HIGH").await;
        let expected = format!("New High request from Acme: {number}");
        eventually("the email over TLS", || {
            got.lock().unwrap().iter().any(|m| subject(m) == expected)
        })
        .await;
        for mail in got.lock().unwrap().iter() {
            assert!(mail.secure, "{url}: a message came in clear");
            assert_eq!(mail.login.as_deref(), Some(LOGIN), "{url}");
        }
    }
}

/// A Python with aiosmtpd (the reference SMTP server for Python), named by
/// `CASEBRIDGE_TEST_AIOSMTPD_PYTHON`; `.ci/run` installs one. Without it the story is
/// skipped on a developer's machine, and fails under CI, where it must run.
fn aiosmtpd_python() -> Option<String> {
    match std::env::var("CASEBRIDGE_TEST_AIOSMTPD_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must set CASEBRIDGE_TEST_AIOSMTPD_PYTHON to a Python with aiosmtpd")
        }
        _ => {
            eprintln!("skipped: set CASEBRIDGE_TEST_AIOSMTPD_PYTHON to a Python with aiosmtpd");
            None
        }
    }
}

/// aiosmtpd on a free loopback port with `tls` options, recording what it receives
/// (`fixtures/smtp_record.py`); stopped when dropped.
struct Aiosmtpd {
    child: std::process::Child,
    port: u16,
    got: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn aiosmtpd(python: &str, tls: &[&str]) -> Aiosmtpd {
    use std::io::BufRead;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tls: Vec<String> = tls
        .iter()
        .map(|a| a.replace("{fixtures}", fixtures))
        .collect();
    let mut child = std::process::Command::new(python)
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "smtp_record.Record",
            "-l",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .args(&tls)
        .env("PYTHONPATH", fixtures)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("aiosmtpd starts");
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let stdout = child.stdout.take().unwrap();
    let store = got.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(message) = serde_json::from_str(&line) {
                store.lock().unwrap().push(message);
            }
        }
    });
    let server = Aiosmtpd { child, port, got };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd did not start on port {port}");
}

async fn an_aiosmtpd_server_gets_them_over_starttls_and_smtps(app: &TestApp) {
    let Some(python) = aiosmtpd_python() else {
        return;
    };
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    let document_id = partners(app, &acme, &globex).await;
    let starttls = [
        "--tlscert",
        "{fixtures}/smtp-cert.pem",
        "--tlskey",
        "{fixtures}/smtp-key.pem",
    ];
    let smtps = [
        "--smtpscert",
        "{fixtures}/smtp-cert.pem",
        "--smtpskey",
        "{fixtures}/smtp-key.pem",
    ];
    for (scheme, tls, number) in [
        ("smtp+starttls", &starttls, "ACME-A1"),
        ("smtps", &smtps, "ACME-A2"),
    ] {
        // aiosmtpd refuses MAIL before STARTTLS, and speaks only TLS on the smtps port:
        // a message that arrives came encrypted.
        let server = aiosmtpd(&python, tls).await;
        let url = format!("{scheme}://127.0.0.1:{}", server.port);
        let running = run_dispatcher(
            Dispatcher::new(Arc::new(app.store.clone()), loopback(), quick_settings()).with_mailer(
                Mailer::new(
                    &mail_settings(&url, Some(private_ca())),
                    "http://casebridge.test",
                )
                .unwrap(),
            ),
        );
        let token = open_case_with(app, &acme, &document_id, number, "HIGH").await;
        let expected = format!("Subject: New High request from Acme: {number}");
        eventually("the emails at aiosmtpd", || {
            server
                .got
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m["data"].as_str().unwrap_or_default().contains(&expected))
                .count()
                >= 2
        })
        .await;
        drop(running);
        let got = server.got.lock().unwrap().clone();
        let mut to: Vec<&str> = got
            .iter()
            .filter(|m| m["data"].as_str().unwrap().contains(&expected))
            .flat_map(|m| {
                m["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
            })
            .collect();
        to.sort();
        assert_eq!(
            to,
            ["admin@globex.example", "manager@globex.example"],
            "{scheme}"
        );
        for message in &got {
            assert_eq!(message["tls"], true, "{scheme}: {message}");
            let data = message["data"].as_str().unwrap();
            if data.contains(&expected) {
                assert!(data.contains(&format!("http://casebridge.test/cases/{token}")));
            }
            assert!(
                !data.contains("jane@customer.example"),
                "no customer data: {data}"
            );
        }
    }
}
