//! Customer authorization by link: the case waits unseen until the customer decides on a
//! plain page; the decision opens or closes it, and is proven by a signed receipt.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{json, Value};

use crate::sharing::{
    assert_holds_none, case_path, request, world, World, EMAIL, HOST, IP, PASSWORD,
};
use casebridge_service::clock::Clock;

use crate::support::{Response, TestApp};

stories!(
    a_customer_authorizes_by_link_and_the_case_opens,
    declining_closes_the_case_unseen,
    wrong_expired_and_forged_uses_of_a_link_are_refused,
);

const CUSTOMER: &str = "jane@customer.example";

fn link_request(w: &World) -> Value {
    let mut body = request(w);
    body["customerAuthorization"] = json!({
        "method": "CUSTOMER_LINK",
        "authorizedBy": {"name": "Jane Customer", "email": CUSTOMER},
        "purpose": "Resolve the replication failure",
        "dataCategories": ["HOSTNAMES", "CREDENTIALS"]
    });
    body
}

/// Creates a request with a customer link; returns its token and the link's path.
async fn pending_case(app: &TestApp, w: &World) -> (String, String, Response) {
    let created = app
        .post(
            "/v1/collaboration-requests",
            &w.acme.engineer,
            link_request(w),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let url = created.body["authorizationUrl"].as_str().unwrap();
    let path = url
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    assert!(path.starts_with("/authorize/cb_al_"), "{path}");
    (
        created.body["token"].as_str().unwrap().to_owned(),
        path,
        created,
    )
}

async fn page(app: &TestApp, path: &str) -> Response {
    app.call(Method::GET, path, None, None).await
}

pub(crate) async fn answer(
    app: &TestApp,
    path: &str,
    form: &str,
    origin: Option<&str>,
) -> Response {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    app.send(request.body(Body::from(form.to_owned())).unwrap())
        .await
}

pub(crate) const SAME_ORIGIN: Option<&str> = Some("http://127.0.0.1:8080");

/// Verifies a compact JWS with the key the platform publishes; returns its payload.
async fn verified(app: &TestApp, jws: &str) -> Value {
    let keys = app
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(keys.status, StatusCode::OK);
    let jwk = &keys.body["keys"][0];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&x).unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], jwk["kid"]);
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap()
        .try_into()
        .unwrap();
    key.verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &Signature::from_bytes(&signature),
    )
    .expect("the receipt's signature verifies with the published key");
    // A changed payload does not verify.
    let forged = URL_SAFE_NO_PAD.encode(b"{\"piiPrincipalId\":\"someone@else.example\"}");
    assert!(key
        .verify(
            format!("{}.{forged}", parts[0]).as_bytes(),
            &Signature::from_bytes(&signature)
        )
        .is_err());
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

/// The text between the page's consent box tags, as the customer read it.
fn shown_paragraphs(html: &str) -> String {
    let start = html.find("<div class=\"text\">").unwrap();
    let end = html[start..].find("</div>").unwrap();
    html[start..start + end].to_owned()
}

async fn a_customer_authorizes_by_link_and_the_case_opens(app: &TestApp) {
    let w = world(app).await;
    let (token, link, created) = pending_case(app, &w).await;
    assert_eq!(created.body["status"], "PENDING_AUTHORIZATION");
    assert_eq!(
        created.body["customerAuthorization"]["linkState"],
        "PENDING"
    );
    assert!(created.body["customerAuthorization"]["authorizedAt"].is_null());
    assert_eq!(created.body["pendingAction"], false);

    // Before the customer decides, the receiver cannot see the case at all.
    app.get(&case_path(&token, ""), &w.globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let inbound = app
        .get(
            "/v2/collaboration-requests?type=INBOUND",
            &w.globex.engineer,
        )
        .await;
    assert_eq!(inbound.body["totalElements"], 0);
    let all = app
        .get("/v2/collaboration-requests", &w.globex.engineer)
        .await;
    assert_eq!(all.body["totalElements"], 0);
    let waiting = app
        .get(
            "/v2/collaboration-requests?status=PENDING_AUTHORIZATION",
            &w.acme.engineer,
        )
        .await;
    assert_eq!(waiting.body["totalElements"], 1, "{:?}", waiting.body);
    // Nothing can be shared while waiting, and the clock does not run.
    app.post(
        &case_path(&token, "/notes"),
        &w.acme.engineer,
        json!({"summary": "more", "description": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "invalid_transition");
    app.clock.advance(Duration::hours(30));
    app.services.sweep_cases().await.unwrap();
    let still = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert_eq!(still.body["overdue"], false);
    assert_eq!(still.body["status"], "PENDING_AUTHORIZATION");

    // The page tells the customer, in plain words, who asks whom for what.
    let shown = page(app, &link).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.content_type.starts_with("text/html"));
    let csp = shown.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    // The link's secret stays on this site; `no-referrer` would make browsers post the
    // page's own form with `Origin: null`, which the origin check refuses.
    assert_eq!(shown.headers[header::REFERRER_POLICY], "same-origin");
    for expected in [
        "Acme asks",
        "with Globex",
        "ACME-7",
        "Resolve the replication failure",
        "names of your computers",
        "passwords, keys and access tokens",
        CUSTOMER,
        "value=\"authorize\"",
        "value=\"decline\"",
    ] {
        assert!(shown.text.contains(expected), "{expected}: {}", shown.text);
    }
    assert!(!shown.text.contains("<script"));

    // Authorizing opens the case to the receiver and starts its clock now.
    let authorized_at = app.clock.now();
    let done = answer(app, &link, "decision=authorize", SAME_ORIGIN).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("You authorized this"));
    assert!(done.text.contains("Withdraw my permission"));
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_eq!(partner.status, StatusCode::OK, "{:?}", partner.body);
    assert_eq!(partner.body["status"], "OPEN");
    assert_eq!(partner.body["pendingAction"], true);
    let respond_by: DateTime<Utc> = partner.body["respondBy"].as_str().unwrap().parse().unwrap();
    assert!(respond_by >= authorized_at + Duration::hours(4) - Duration::seconds(1));
    assert!(partner.body["problemDescription"]
        .as_str()
        .unwrap()
        .contains(HOST));
    assert_holds_none(&partner.body, &[IP, EMAIL, PASSWORD, CUSTOMER]);
    let owner = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert_eq!(
        owner.body["customerAuthorization"]["linkState"],
        "AUTHORIZED"
    );
    assert!(owner.body["customerAuthorization"]["authorizedAt"].is_string());
    let notes = app
        .get(&case_path(&token, "/notes"), &w.globex.engineer)
        .await;
    assert!(notes.text.contains("Customer authorized"));
    // Answering again changes nothing.
    let again = answer(app, &link, "decision=decline", SAME_ORIGIN).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The receipt: Kantara fields, signed, the same for the customer and the submitter.
    let download = page(app, &format!("{link}/receipt")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.content_type, "application/jose");
    let receipt = verified(app, &download.text).await;
    assert_eq!(receipt["version"], "KI-CR-v1.1.0");
    assert_eq!(receipt["piiPrincipalId"], CUSTOMER);
    assert_eq!(receipt["piiControllers"][0]["piiController"], "Acme");
    assert_eq!(
        receipt["services"][0]["purposes"][0]["thirdPartyName"],
        "Globex"
    );
    assert_eq!(
        receipt["services"][0]["purposes"][0]["piiCategory"],
        json!(["HOSTNAMES", "CREDENTIALS"])
    );
    assert_eq!(receipt["consentTimestamp"], authorized_at.timestamp());
    assert_eq!(receipt["casebridge"]["caseToken"], token);
    // The hash is of the exact text the page showed.
    let paragraphs = shown_paragraphs(&shown.text);
    assert!(paragraphs.contains("Resolve the replication failure"));
    assert_eq!(
        receipt["casebridge"]["shownTextSha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let path = case_path(&token, "/authorization/receipt");
    let submitter = app.get(&path, &w.acme.engineer).await;
    assert_eq!(submitter.status, StatusCode::OK, "{:?}", submitter.body);
    assert_eq!(submitter.body["jws"], download.text);
    assert_eq!(submitter.body["receipt"]["piiPrincipalId"], CUSTOMER);
    app.get(&path, &w.globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let stranger = app.member("Initech", "initech.example").await;
    app.get(&path, &stranger.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.call(Method::GET, &path, None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");

    // The customer withdraws: nothing more crosses, the partner keeps only pseudonyms.
    let withdrawn = answer(app, &link, "decision=revoke", SAME_ORIGIN).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text);
    assert!(withdrawn.text.contains("You withdrew this permission"));
    let partner = app.get(&case_path(&token, ""), &w.globex.engineer).await;
    assert_holds_none(&partner.body, &[HOST, IP, EMAIL, PASSWORD]);
    assert!(partner.body["customerAuthorization"]["revokedAt"].is_string());
    app.post(
        &case_path(&token, "/notes"),
        &w.globex.engineer,
        json!({"summary": "q", "description": "x"}),
    )
    .await
    .problem(StatusCode::CONFLICT, "authorization_revoked");
    assert_eq!(
        answer(app, &link, "decision=revoke", SAME_ORIGIN)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // The customer keeps the receipt of the original permission.
    assert_eq!(
        page(app, &format!("{link}/receipt")).await.text,
        download.text
    );
    let actions = app.audit_actions(&w.acme.admin).await;
    assert!(
        actions.iter().any(|a| a == "case.customer_authorized"),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "case.authorization_revoked"));
    let audit = app.get("/v1/audit-events?size=200", &w.acme.admin).await;
    assert_holds_none(&audit.body, &[CUSTOMER]);
}

async fn declining_closes_the_case_unseen(app: &TestApp) {
    let w = world(app).await;
    let (token, link, _) = pending_case(app, &w).await;
    let declined = answer(app, &link, "decision=decline", SAME_ORIGIN).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    assert!(declined.text.contains("You declined"));
    assert!(!declined.text.contains("value=\"authorize\""));
    let owner = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert_eq!(owner.body["status"], "CLOSED");
    assert_eq!(owner.body["customerAuthorization"]["linkState"], "DECLINED");
    let notes = app
        .get(&case_path(&token, "/notes"), &w.acme.engineer)
        .await;
    assert!(notes.text.contains("Customer declined"));
    app.get(&case_path(&token, ""), &w.globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        answer(app, &link, "decision=authorize", SAME_ORIGIN)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        page(app, &format!("{link}/receipt")).await.status,
        StatusCode::NOT_FOUND
    );
    app.get(
        &case_path(&token, "/authorization/receipt"),
        &w.acme.engineer,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn wrong_expired_and_forged_uses_of_a_link_are_refused(app: &TestApp) {
    let w = world(app).await;
    let (token, link, _) = pending_case(app, &w).await;
    // Unknown, malformed and truncated links are simply not found.
    for path in [
        "/authorize/cb_al_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/authorize/nothing",
        &link[..link.len() - 1],
    ] {
        let missing = page(app, path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert!(missing.text.contains("This link does not exist"));
        assert_eq!(
            answer(app, path, "decision=authorize", SAME_ORIGIN)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    // Another site's form cannot decide for the customer; a post without a choice is asked
    // again.
    let forged = answer(
        app,
        &link,
        "decision=authorize",
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let empty = answer(app, &link, "", SAME_ORIGIN).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let odd = answer(app, &link, "decision=maybe", SAME_ORIGIN).await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
    let open = app.get(&case_path(&token, ""), &w.acme.engineer).await;
    assert_eq!(open.body["status"], "PENDING_AUTHORIZATION");
    // The submitter can withdraw a link before the customer answers.
    let (second, second_link, _) = pending_case(app, &w).await;
    let withdrawn = app
        .post(
            &case_path(&second, "/authorization/revocation"),
            &w.acme.engineer,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{:?}", withdrawn.body);
    assert!(page(app, &second_link)
        .await
        .text
        .contains("no longer valid"));
    assert_eq!(
        answer(app, &second_link, "decision=authorize", SAME_ORIGIN)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Seven days later the link has expired.
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let expired = page(app, &link).await;
    assert_eq!(expired.status, StatusCode::OK);
    assert!(expired.text.contains("no longer valid"));
    assert!(!expired.text.contains("value=\"authorize\""));
    assert_eq!(
        answer(app, &link, "decision=authorize", SAME_ORIGIN)
            .await
            .status,
        StatusCode::CONFLICT
    );
    app.get(&case_path(&token, ""), &w.globex.engineer)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}
