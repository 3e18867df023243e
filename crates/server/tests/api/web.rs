//! The web UI, in-process: sessions, anti-forgery checks, who sees which page, and the
//! core flows through the HTML forms (the browser tests in `e2e/` drive the same pages in
//! Chromium).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use serde_json::json;

use crate::support::{Member, Response, TestApp, PASSWORD};

stories!(
    signing_in_sets_a_strict_session_cookie_and_signing_out_ends_it,
    a_disabled_account_is_told_so_and_an_unknown_address_is_not,
    sessions_end_when_idle_or_too_old,
    sessions_and_bearer_tokens_do_not_stand_in_for_each_other,
    forms_without_the_token_or_from_another_site_change_nothing,
    engineers_work_a_case_from_request_to_closure_in_the_pages,
    pages_follow_roles_and_companies,
    user_text_is_escaped_and_pages_carry_a_strict_policy,
    admins_invite_people_and_managers_publish_forms_in_the_pages,
    cookies_are_secure_when_served_over_https,
    webhooks_and_the_sla_report_in_the_pages,
);

/// A browser: keeps cookies, reads the anti-forgery token off the last page.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookies: HashMap<String, String>,
    csrf: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    pub(crate) async fn signed_in(app: &'a TestApp, email: &str) -> Self {
        let mut browser = Self::new(app);
        let response = browser.sign_in(email, PASSWORD, None).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text);
        browser
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookie)
        };
        let response = self.app.send(request.body(body).unwrap()).await;
        for value in response.headers.get_all(header::SET_COOKIE) {
            let raw = value.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if raw.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(token) = csrf_of(&response.text) {
            self.csrf = token;
        }
        response
    }

    pub(crate) async fn get(&mut self, path: &str) -> Response {
        self.send(Request::builder().uri(path), Body::empty()).await
    }

    /// Posts a form as a page of this site does: same Origin, the page's token.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.post_raw(path, body, Some("http://localhost")).await
    }

    async fn post_raw(&mut self, path: &str, body: String, origin: Option<&str>) -> Response {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request, Body::from(body)).await
    }

    /// Signs in from the sign-in page; a session already open in this browser is sent
    /// along with the post, as from a sign-in page that was open before.
    async fn sign_in(&mut self, email: &str, password: &str, next: Option<&str>) -> Response {
        let open = self.cookies.remove("cb_session");
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        if let Some(open) = open {
            self.cookies.insert("cb_session".into(), open);
        }
        let mut fields = vec![("email", email), ("password", password)];
        if let Some(next) = next {
            fields.push(("next", next));
        }
        self.post("/sign-in", &fields).await
    }
}

fn csrf_of(page: &str) -> Option<String> {
    let start = page.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_owned())
}

fn location(response: &Response) -> &str {
    response
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn set_cookie_of<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

async fn signing_in_sets_a_strict_session_cookie_and_signing_out_ends_it(app: &TestApp) {
    let _acme = app.member("Acme", "acme.example").await;
    let mut browser = Browser::new(app);
    // Anonymous: to the sign-in page, which brings them back afterwards.
    let inbox = browser.get("/inbox").await;
    assert_eq!(inbox.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&inbox), "/sign-in?next=%2Finbox");

    // Wrong and unknown credentials read the same, and set no session.
    for (email, password) in [
        ("engineer@acme.example", "not the password at all"),
        ("nobody@acme.example", PASSWORD),
        ("not an address", PASSWORD),
    ] {
        let refused = browser.sign_in(email, password, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(refused
            .text
            .contains("The email address or password is not correct."));
        assert!(set_cookie_of(&refused, "cb_session").is_none());
    }

    // Without the form's token, a sign-in is refused before the password is checked.
    let forged = browser
        .post_raw(
            "/sign-in",
            serde_urlencoded::to_string([
                ("email", "engineer@acme.example"),
                ("password", PASSWORD),
            ])
            .unwrap(),
            None,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let signed_in = browser
        .sign_in("engineer@acme.example", PASSWORD, Some("/cases/new"))
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    assert_eq!(location(&signed_in), "/cases/new");
    let cookie = set_cookie_of(&signed_in, "cb_session").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Path=/"));
    // Served over plain HTTP here (the default public URL), so not Secure.
    assert!(!cookie.contains("Secure"));
    let first = browser.cookies["cb_session"].clone();
    assert!(first.starts_with("cb_ws_"));
    let inbox = browser.get("/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.text.contains("Waiting on Acme"));

    // A next= pointing at another site is ignored.
    let elsewhere = browser
        .sign_in("engineer@acme.example", PASSWORD, Some("//evil.example/x"))
        .await;
    assert_eq!(location(&elsewhere), "/inbox");
    // Each sign-in makes a new session and ends the one it replaces.
    let second = browser.cookies["cb_session"].clone();
    assert_ne!(first, second);
    let mut stale = Browser::new(app);
    stale.cookies.insert("cb_session".into(), first);
    assert_eq!(stale.get("/inbox").await.status, StatusCode::SEE_OTHER);

    // Signing out ends the session on the server, not only in this browser.
    browser.get("/inbox").await;
    let out = browser.post("/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/sign-in?signed_out=true");
    let mut replay = Browser::new(app);
    replay.cookies.insert("cb_session".into(), second);
    assert_eq!(replay.get("/inbox").await.status, StatusCode::SEE_OTHER);
    assert!(app
        .audit_actions(&_acme.admin)
        .await
        .iter()
        .any(|a| a == "session.login_succeeded" || a.contains("login")));
}

async fn a_disabled_account_is_told_so_and_an_unknown_address_is_not(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let disabled = app
        .post(
            &format!("/v1/users/{}/disable", acme.engineer_id),
            &acme.admin,
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    let mut browser = Browser::new(app);
    let refused = browser
        .sign_in("engineer@acme.example", PASSWORD, None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text.contains("This account is disabled"));
    // The disabled message needs the right password: a guess learns nothing.
    let guess = browser
        .sign_in("engineer@acme.example", "a wrong but long password", None)
        .await;
    assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    assert!(!guess.text.contains("disabled"));
}

async fn sessions_end_when_idle_or_too_old(app: &TestApp) {
    let _acme = app.member("Acme", "acme.example").await;
    let mut browser = Browser::signed_in(app, "engineer@acme.example").await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(browser.get("/inbox").await.status, StatusCode::OK);
    // Each use restarts the idle timeout…
    app.clock.advance(Duration::minutes(29));
    assert_eq!(browser.get("/inbox").await.status, StatusCode::OK);
    // …and 31 idle minutes end it.
    app.clock.advance(Duration::minutes(31));
    let idle = browser.get("/inbox").await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER);
    assert!(location(&idle).starts_with("/sign-in"));

    // Used every 20 minutes, a session still ends 12 hours after sign-in.
    let mut browser = Browser::signed_in(app, "engineer@acme.example").await;
    let mut lived = Duration::zero();
    loop {
        app.clock.advance(Duration::minutes(20));
        lived += Duration::minutes(20);
        if browser.get("/inbox").await.status != StatusCode::OK {
            break;
        }
        assert!(lived < Duration::hours(12), "the session outlived 12 hours");
    }
    assert!(lived >= Duration::hours(12) - Duration::minutes(20));
}

async fn sessions_and_bearer_tokens_do_not_stand_in_for_each_other(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let browser = Browser::signed_in(app, "engineer@acme.example").await;
    let session = browser.cookies["cb_session"].clone();
    // A session secret is no bearer token (a cookie-less API needs no CSRF defence)…
    app.get("/v1/me", &session)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    // …and a bearer token is no session.
    let mut pretender = Browser::new(app);
    pretender
        .cookies
        .insert("cb_session".into(), acme.engineer.clone());
    assert_eq!(pretender.get("/inbox").await.status, StatusCode::SEE_OTHER);
}

/// Acme (submitter) and Globex (receiver), partners for CONTACT, LOGS and HOSTNAMES, with
/// Globex's company form published; returns Globex's document id.
async fn partners(app: &TestApp) -> (Member, Member) {
    let acme = app.member("Acme", "acme.example").await;
    let globex = app.member("Globex", "globex.example").await;
    app.agree(&[&acme, &globex]).await;
    let mut proposal = crate::support::proposal(&globex.id);
    proposal["terms"]["dataCategories"] = json!(["CONTACT", "LOGS", "HOSTNAMES"]);
    app.partner_with(&acme, &globex, proposal).await;
    let form = app
        .put(
            &format!("/v1/forms/company/{}", globex.id),
            &globex.manager,
            json!({
                "priorities": [{"priority": "HIGH", "responseHours": 4, "note": "Production down"},
                               {"priority": "MEDIUM", "responseHours": 24}],
                "customFields": [
                    {"label": "Product version", "section": "PROBLEM_SECTION", "type": "STRING", "required": true, "displayOrder": 1},
                    {"label": "Environment", "section": "PROBLEM_SECTION", "type": "SELECT", "options": ["Production", "Test"], "displayOrder": 2}
                ]
            }),
        )
        .await;
    assert_eq!(form.status, StatusCode::CREATED, "{:?}", form.body);
    (acme, globex)
}

/// Fills Globex's form as the page names its fields; returns the form page's path and
/// the fields.
async fn request_fields<'b>(
    browser: &mut Browser<'b>,
    globex: &Member,
    summary: &'static str,
) -> (String, Vec<(String, String)>) {
    let path = format!("/cases/new/form?company={}", globex.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let field_ids: Vec<String> = page
        .text
        .match_indices("name=\"cf.")
        .map(|(at, _)| {
            let rest = &page.text[at + "name=\"".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert_eq!(field_ids.len(), 2, "both custom fields are on the page");
    let document_id = {
        let at = page.text.find("name=\"documentId\" value=\"").unwrap() + 25;
        page.text[at..at + 36].to_owned()
    };
    let fields = vec![
        ("documentId", document_id),
        ("problemSummary", summary.to_owned()),
        (
            "problemDescription",
            "Controller resets; logs from db1.corp.acme.com at 10.1.2.3 attached.".to_owned(),
        ),
        ("priority", "HIGH".to_owned()),
        (field_ids[0].as_str(), "4.2.1".to_owned()),
        (field_ids[1].as_str(), "Production".to_owned()),
        ("internalCaseNumber", "ACME-1".to_owned()),
        ("contactName", "Priya Raman".to_owned()),
        ("contactEmail", "engineer@acme.example".to_owned()),
        ("authMethod", "EMAIL".to_owned()),
        ("customerName", "Jane Customer".to_owned()),
        ("customerEmail", "jane@customer.example".to_owned()),
        ("purpose", "Fix the resets".to_owned()),
        (
            "authorizedAt",
            (chrono::Utc::now() - Duration::hours(1))
                .format("%Y-%m-%dT%H:%M")
                .to_string(),
        ),
        ("dataCategories", "LOGS".to_owned()),
        ("dataCategories", "HOSTNAMES".to_owned()),
    ];
    (
        path,
        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    )
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn forms_without_the_token_or_from_another_site_change_nothing(app: &TestApp) {
    let (_acme, globex) = partners(app).await;
    let mut browser = Browser::signed_in(app, "engineer@acme.example").await;
    let (path, fields) = request_fields(&mut browser, &globex, "Controller resets").await;
    let mut with_intent = fields.clone();
    with_intent.push(("intent".into(), "send".into()));
    let body_without_token = serde_urlencoded::to_string(&with_intent).unwrap();
    let refused = browser
        .post_raw(&path, body_without_token.clone(), Some("http://localhost"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text.contains("Form refused"));
    let mut wrong_token = with_intent.clone();
    wrong_token.push(("_csrf".into(), "0".repeat(64)));
    let refused = browser
        .post_raw(
            &path,
            serde_urlencoded::to_string(&wrong_token).unwrap(),
            Some("http://localhost"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The right token, but posted from another site's page.
    let mut right_token = with_intent.clone();
    right_token.push(("_csrf".into(), browser.csrf.clone()));
    let cross_site = browser
        .post_raw(
            &path,
            serde_urlencoded::to_string(&right_token).unwrap(),
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    // Nothing was created by any of them.
    let listed = app
        .get("/v2/collaboration-requests", &globex.engineer)
        .await;
    assert_eq!(listed.body["totalElements"], 0, "{:?}", listed.body);
    // The same post from the page itself goes through.
    let sent = browser.post(&path, &borrowed(&with_intent)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let listed = app
        .get("/v2/collaboration-requests", &globex.engineer)
        .await;
    assert_eq!(listed.body["totalElements"], 1, "{:?}", listed.body);
}

async fn engineers_work_a_case_from_request_to_closure_in_the_pages(app: &TestApp) {
    let (_acme, globex) = partners(app).await;
    let mut acme_web = Browser::signed_in(app, "engineer@acme.example").await;

    // Find the partner by typing part of its name.
    let found = acme_web.get("/cases/new?q=glob").await;
    assert!(found.text.contains("Globex") && found.text.contains("Active partnership"));
    assert!(found
        .text
        .contains(&format!("/cases/new/form?company={}", globex.id)));

    // A request with a missing required field keeps what was typed and says what is missing.
    let (path, fields) = request_fields(&mut acme_web, &globex, "Array controller resets").await;
    let mut incomplete: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "internalCaseNumber")
        .cloned()
        .collect();
    incomplete.push(("intent".into(), "send".into()));
    let invalid = acme_web.post(&path, &borrowed(&incomplete)).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text.contains("This could not be sent"));
    assert!(invalid.text.contains("id=\"f-internalCaseNumber\""));
    assert!(invalid.text.contains("Array controller resets"));

    // Preview: the IP (not authorized) becomes a pseudonym, the host (authorized) stays.
    let mut preview = fields.clone();
    preview.push(("intent".into(), "preview".into()));
    let previewed = acme_web.post(&path, &borrowed(&preview)).await;
    assert_eq!(previewed.status, StatusCode::OK, "{}", previewed.text);
    assert!(previewed.text.contains("What the partner will see"));
    assert!(previewed.text.contains("db1.corp.acme.com"));
    assert!(previewed.text.contains("Pseudonymized"));
    // Nothing was stored by the preview.
    let listed = app
        .get("/v2/collaboration-requests", &globex.engineer)
        .await;
    assert_eq!(listed.body["totalElements"], 0);

    let mut send = fields.clone();
    send.push(("intent".into(), "send".into()));
    let sent = acme_web.post(&path, &borrowed(&send)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let case_path = location(&sent).to_owned();
    assert!(case_path.starts_with("/cases/cr_"));
    let token = case_path.trim_start_matches("/cases/").to_owned();
    let mine = acme_web.get(&case_path).await;
    assert!(mine.text.contains("Request sent to Globex."));
    assert!(
        mine.text.contains("10.1.2.3"),
        "the owner sees its own value"
    );

    // Globex's engineer finds it waiting, sees no 10.1.2.3, and accepts it.
    let mut globex_web = Browser::signed_in(app, "engineer@globex.example").await;
    let inbox = globex_web.get("/inbox").await;
    let waiting = &inbox.text[..inbox.text.find("All cases").unwrap()];
    assert!(waiting.contains("Array controller resets"));
    let theirs = globex_web.get(&case_path).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.text.contains("10.1.2.3"));
    assert!(theirs.text.contains("Accept"));
    assert!(!theirs.text.contains("Close the case"));
    let accepted = globex_web
        .post(
            &format!("{case_path}/steps"),
            &[
                ("step", "APPROVAL"),
                ("caseNumber", "GLX-9"),
                ("engineerName", "Ken Watanabe"),
                ("engineerEmail", "engineer@globex.example"),
                ("text", "Collecting a dump"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text);

    // Acme adds an internal note: Globex never sees it.
    acme_web.get(&case_path).await;
    let note = acme_web
        .post(
            &format!("{case_path}/notes"),
            &[
                ("visibility", "INTERNAL"),
                ("summary", "Customer is impatient"),
                ("description", "Escalate if no fix by Friday"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER, "{}", note.text);
    let page = acme_web.get(&case_path).await;
    assert!(page.text.contains("Customer is impatient"));
    assert!(page.text.contains("Internal — only your company"));
    let theirs = globex_web.get(&case_path).await;
    assert!(!theirs.text.contains("Customer is impatient"));
    assert!(theirs.text.contains("GLX-9"));

    // A step the other side takes is refused and changes nothing.
    let wrong = globex_web
        .post(
            &format!("{case_path}/steps"),
            &[("step", "CLOSURE"), ("text", "done"), ("intent", "send")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong
        .text
        .contains("the other side of the case takes this step"));

    // Acme closes the case.
    acme_web.get(&case_path).await;
    let closed = acme_web
        .post(
            &format!("{case_path}/steps"),
            &[
                ("step", "CLOSURE"),
                ("text", "Fixed by 4.2.2"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text);
    let case = app
        .get(
            &format!("/v1/collaboration-requests/{token}"),
            &globex.engineer,
        )
        .await;
    assert_eq!(case.body["status"], "CLOSED", "{:?}", case.body);
}

async fn pages_follow_roles_and_companies(app: &TestApp) {
    let (_acme, globex) = partners(app).await;
    let mut acme_web = Browser::signed_in(app, "engineer@acme.example").await;
    let (path, mut fields) = request_fields(&mut acme_web, &globex, "Resets").await;
    fields.push(("intent".into(), "send".into()));
    let sent = acme_web.post(&path, &borrowed(&fields)).await;
    let case_path = location(&sent).to_owned();

    // A third company's engineer: the case does not exist for them.
    let _initech = app.member("Initech", "initech.example").await;
    let mut other = Browser::signed_in(app, "engineer@initech.example").await;
    let hidden = other.get(&case_path).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.text.contains("Resets"));
    let forged_step = other
        .post(
            &format!("{case_path}/notes"),
            &[
                ("summary", "hi"),
                ("visibility", "SHARED"),
                ("intent", "send"),
            ],
        )
        .await;
    assert_eq!(forged_step.status, StatusCode::NOT_FOUND);

    // Engineers see no administration and cannot open it.
    let inbox = acme_web.get("/inbox").await;
    assert!(!inbox.text.contains("href=\"/admin\""));
    for page in [
        "/admin",
        "/admin/users",
        "/admin/form",
        "/admin/partnerships",
        "/admin/api-clients",
        "/admin/audit",
    ] {
        assert_eq!(
            acme_web.get(page).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let refused = acme_web
        .post(
            "/admin/users",
            &[
                ("firstName", "Eve"),
                ("lastName", "X"),
                ("email", "eve@acme.example"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // An auditor reads the audit trail but not the users; admins see everything.
    let mut auditor = Browser::signed_in(app, "auditor@acme.example").await;
    assert_eq!(auditor.get("/admin/audit").await.status, StatusCode::OK);
    assert_eq!(
        auditor.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        auditor.get("/cases/new").await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = Browser::signed_in(app, "admin@acme.example").await;
    for page in [
        "/admin",
        "/admin/users",
        "/admin/departments",
        "/admin/form",
        "/admin/partnerships",
        "/admin/agreement",
        "/admin/api-clients",
        "/admin/audit",
    ] {
        assert_eq!(admin.get(page).await.status, StatusCode::OK, "{page}");
    }
    // A page that does not exist is a plain not-found.
    assert_eq!(
        admin.get("/cases/not-a-token").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn user_text_is_escaped_and_pages_carry_a_strict_policy(app: &TestApp) {
    let (_acme, globex) = partners(app).await;
    let mut acme_web = Browser::signed_in(app, "engineer@acme.example").await;
    let (path, mut fields) = request_fields(&mut acme_web, &globex, "x").await;
    for (key, value) in fields.iter_mut() {
        if key == "problemSummary" {
            *value = "<script>alert(1)</script> & \"quotes\"".into();
        }
    }
    fields.push(("intent".into(), "send".into()));
    let sent = acme_web.post(&path, &borrowed(&fields)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let mut globex_web = Browser::signed_in(app, "engineer@globex.example").await;
    for page in [
        globex_web.get("/inbox").await,
        globex_web.get(location(&sent)).await,
    ] {
        assert!(!page.text.contains("<script>alert"));
        assert!(page
            .text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        let csp = page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
        // No inline script or handler anywhere.
        assert!(!page.text.contains(" onclick=") && !page.text.contains("<script>"));
    }
    let script = globex_web.get("/assets/casebridge.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.content_type.starts_with("text/javascript"));
}

async fn admins_invite_people_and_managers_publish_forms_in_the_pages(app: &TestApp) {
    let acme = app.member("Acme", "acme.example").await;
    let mut admin = Browser::signed_in(app, "admin@acme.example").await;
    admin.get("/admin/users").await;
    // A bad address is shown beside its field, with what was typed kept.
    let invalid = admin
        .post(
            "/admin/users",
            &[
                ("firstName", "Dana"),
                ("lastName", "Lee"),
                ("email", "dana@elsewhere.example"),
                ("role", "engineer"),
            ],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text.contains("value=\"Dana\""));
    let invited = admin
        .post(
            "/admin/users",
            &[
                ("firstName", "Dana"),
                ("lastName", "Lee"),
                ("email", "dana@acme.example"),
                ("role", "engineer"),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    let at = invited.text.find("id=\"first-password\"").unwrap();
    let rest = &invited.text[at..];
    let value_at = rest.find("value=\"").unwrap() + 7;
    let password = rest[value_at..value_at + rest[value_at..].find('"').unwrap()].to_owned();
    let mut dana = Browser::new(app);
    let signed_in = dana.sign_in("dana@acme.example", &password, None).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );

    // Promote Dana to manager; the change applies to her open session.
    let users = app.get("/v1/users", &acme.admin).await;
    let dana_id = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "dana@acme.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin.get("/admin/users").await;
    let promoted = admin
        .post(
            &format!("/admin/users/{dana_id}/role"),
            &[("role", "manager")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert_eq!(dana.get("/admin/form").await.status, StatusCode::OK);

    // Dana publishes the company's form: two fields, one of them a required choice.
    let published = dana
        .post(
            "/admin/form",
            &[
                ("adminNote", "Open requests in English"),
                ("priority", "HIGH"),
                ("hours.HIGH", "4"),
                ("note.HIGH", "Down"),
                ("priority", "LOW"),
                ("hours.LOW", "72"),
                ("note.LOW", ""),
                ("label", "Product version"),
                ("type", "STRING"),
                ("section", "PROBLEM_SECTION"),
                ("options", ""),
                ("order", "1"),
                ("required", "yes"),
                ("label", "Environment"),
                ("type", "SELECT"),
                ("section", "PROBLEM_SECTION"),
                ("options", "Production, Test"),
                ("order", "2"),
                ("required", "no"),
                ("label", ""),
                ("type", "STRING"),
                ("section", "PROBLEM_SECTION"),
                ("options", ""),
                ("order", ""),
                ("required", "no"),
            ],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.text
    );
    let form = app
        .get(&format!("/v1/forms/company/{}", acme.id), &acme.admin)
        .await;
    assert_eq!(form.body["version"], 1, "{:?}", form.body);
    let labels: Vec<&str> = form.body["customFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Product version", "Environment"]);
    assert_eq!(
        form.body["customFields"][1]["options"],
        json!(["Production", "Test"])
    );
    // A response target out of range is refused beside its field; nothing is published.
    let bad = dana
        .post(
            "/admin/form",
            &[("priority", "HIGH"), ("hours.HIGH", "many")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = app
        .get(&format!("/v1/forms/company/{}", acme.id), &acme.admin)
        .await;
    assert_eq!(form.body["version"], 1);

    // Disabling Dana signs her out at once.
    admin.get("/admin/users").await;
    let disabled = admin
        .post(&format!("/admin/users/{dana_id}/disable"), &[])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(dana.get("/inbox").await.status, StatusCode::SEE_OTHER);
}

async fn cookies_are_secure_when_served_over_https(app: &TestApp) {
    let _acme = app.member("Acme", "acme.example").await;
    let services = app
        .services
        .clone()
        .with_case_settings(casebridge_service::CaseSettings {
            public_url: "https://casebridge.example".into(),
            ..Default::default()
        });
    let router = casebridge_server::app(services);
    let send = |request: Request<Body>| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            router.oneshot(request).await.unwrap()
        }
    };
    let page = send(
        Request::builder()
            .uri("/sign-in")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let sign_in_cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(sign_in_cookie.contains("Secure"), "{sign_in_cookie}");
    let body = http_body_util::BodyExt::collect(page.into_body())
        .await
        .unwrap()
        .to_bytes();
    let token = csrf_of(&String::from_utf8_lossy(&body)).unwrap();
    let form = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("email", "engineer@acme.example"),
        ("password", PASSWORD),
    ])
    .unwrap();
    let signed_in = send(
        Request::builder()
            .method(Method::POST)
            .uri("/sign-in")
            .header(header::HOST, "casebridge.example")
            .header(header::ORIGIN, "https://casebridge.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, sign_in_cookie.split(';').next().unwrap())
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .into_iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("cb_session="))
        .unwrap();
    assert!(session.contains("Secure") && session.contains("HttpOnly"));
}

async fn webhooks_and_the_sla_report_in_the_pages(app: &TestApp) {
    let (acme, globex) = partners(app).await;
    let mut admin = Browser::signed_in(app, "admin@globex.example").await;
    admin.get("/admin/webhooks").await;
    // A private address is refused beside its field.
    let refused = admin
        .post(
            "/admin/webhooks",
            &[
                ("callbackUrl", "https://10.0.0.7/hook"),
                ("eventTypes", "case.created"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("private, local or reserved address"));
    let created = admin
        .post(
            "/admin/webhooks",
            &[
                ("callbackUrl", "https://crm.globex.example/casebridge"),
                ("eventTypes", "case.created"),
                ("eventTypes", "case.sla_breached"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert!(created.text.contains("cb_wh_"), "the secret is shown once");
    let listed = admin.get("/admin/webhooks").await;
    assert!(listed.text.contains("crm.globex.example") && !listed.text.contains("cb_wh_"));
    let hooks = app.get("/v1/webhooks", &globex.admin).await;
    assert_eq!(
        hooks.body[0]["eventTypes"],
        json!(["case.created", "case.sla_breached"])
    );

    // Email copies: a bad address is refused beside its field; a good one is kept.
    admin.get("/admin/webhooks").await;
    let bad = admin
        .post(
            "/admin/webhooks/email-copies",
            &[("inboundBcc", "intake at globex")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = admin
        .post(
            "/admin/webhooks/email-copies",
            &[("inboundBcc", "intake@globex.example"), ("outboundBcc", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let copies = app.get("/v1/notification-settings", &globex.admin).await;
    assert_eq!(copies.body["inboundBcc"], "intake@globex.example");

    // Anyone turns partner-note emails off on their own account page.
    let mut engineer = Browser::signed_in(app, "engineer@globex.example").await;
    let account = engineer.get("/account").await;
    assert!(account.text.contains("checked"));
    let off = engineer.post("/account/email-preferences", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let prefs = app.get("/v1/me/email-preferences", &globex.engineer).await;
    assert_eq!(prefs.body["partnerNoteEmails"], false);

    // Managers read the SLA report; engineers do not.
    let _ = acme;
    let mut manager = Browser::signed_in(app, "manager@globex.example").await;
    let report = manager.get("/admin/sla").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(report.text.contains("Median first response"));
    assert_eq!(
        manager.get("/admin/webhooks").await.status,
        StatusCode::FORBIDDEN
    );
    let backwards = manager
        .get("/admin/sla?from=2026-02-01&to=2026-01-01")
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut engineer = Browser::signed_in(app, "engineer@globex.example").await;
    assert_eq!(
        engineer.get("/admin/sla").await.status,
        StatusCode::FORBIDDEN
    );
}
