//! The test world: members with a user of every role, signed in, and a request helper.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use casebridge_domain::Role;
use casebridge_service::clock::ManualClock;
use casebridge_service::{AuthSettings, NewUserInput, Services};
use casebridge_store::crypto::Keyring;
use casebridge_store::testing::TestDatabase;
use casebridge_store::SqlStore;
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Runs each named story on SQLite and on PostgreSQL (when configured).
macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        casebridge_store::database_stories!(
            |db, story| {
                let app = crate::support::TestApp::on(db, Default::default()).await;
                story(&app).await;
                app.close().await;
            };
            $($name),*
        );
    };
}

pub const PASSWORD: &str = "a long test passphrase for everyone";

pub struct TestApp {
    pub router: Router,
    pub services: Services,
    /// The clock the use cases see; tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    pub store: SqlStore,
    /// Kept so the database lives as long as the app; removed on drop.
    pub db: TestDatabase,
}

/// The master key the test app seals case content with.
pub const MASTER_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";

impl TestApp {
    pub async fn on(db: TestDatabase, auth: AuthSettings) -> Self {
        let store = db
            .store()
            .await
            .with_keyring(Keyring::parse(MASTER_KEY).unwrap());
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        // Tests receive webhooks on loopback, as an operator would allow explicitly.
        let services = Services::new(Arc::new(store.clone()), auth)
            .with_clock(clock.clone())
            .with_webhook_policy(casebridge_service::webhooks::WebhookPolicy::new([
                "127.0.0.1".to_owned(),
            ]));
        Self {
            router: casebridge_server::app(services.clone()),
            services,
            clock,
            store,
            db,
        }
    }

    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            content_type,
            headers,
            body,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn login(&self, email: &str) -> String {
        let response = self
            .call(
                Method::POST,
                "/v1/login",
                None,
                Some(json!({"username": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
        response.body["accessToken"].as_str().unwrap().to_owned()
    }

    /// A member with one signed-in user of every role.
    pub async fn member(&self, name: &str, domain: &str) -> Member {
        let member = self
            .services
            .operator_create_member(name, &[domain.to_owned()])
            .await
            .unwrap();
        let mut tokens = Vec::new();
        let mut ids = Vec::new();
        for role in Role::ALL {
            let email = format!("{role}@{domain}");
            let user = self
                .services
                .operator_create_user(
                    member.id,
                    NewUserInput {
                        email: email.clone(),
                        first_name: "Test".into(),
                        last_name: role.to_string(),
                        role,
                        password: SecretString::from(PASSWORD),
                    },
                )
                .await
                .unwrap();
            ids.push(user.id.to_string());
            tokens.push(self.login(&email).await);
        }
        Member {
            id: member.id.to_string(),
            admin: tokens[0].clone(),
            manager: tokens[1].clone(),
            engineer: tokens[2].clone(),
            auditor: tokens[3].clone(),
            admin_id: ids[0].clone(),
            engineer_id: ids[2].clone(),
        }
    }

    pub async fn publish_agreement(&self, text: &str) -> String {
        self.services
            .operator_publish_agreement("Framework Agreement", text)
            .await
            .unwrap()
            .id
            .to_string()
    }

    /// Publishes an agreement and has `members` accept it.
    pub async fn agree(&self, members: &[&Member]) -> String {
        let id = self.publish_agreement("The terms").await;
        for member in members {
            let accepted = self
                .call(
                    Method::POST,
                    &format!("/v1/agreements/{id}/acceptance"),
                    Some(&member.admin),
                    None,
                )
                .await;
            assert_eq!(accepted.status, StatusCode::CREATED, "{:?}", accepted.body);
        }
        id
    }

    /// The actions of the audit events `admin`'s company sees (up to 200).
    pub async fn audit_actions(&self, admin: &str) -> Vec<String> {
        let audit = self.get("/v1/audit-events?size=200", admin).await;
        assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
        audit.body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// An active partnership between `a` (proposer) and `b`.
    pub async fn partner(&self, a: &Member, b: &Member) -> String {
        self.partner_with(a, b, proposal(&b.id)).await
    }

    /// An active partnership between `a` (proposer) and `b` on this proposal body.
    pub async fn partner_with(&self, a: &Member, b: &Member, proposal: Value) -> String {
        let proposed = self.post("/v1/partnerships", &a.manager, proposal).await;
        assert_eq!(proposed.status, StatusCode::CREATED, "{:?}", proposed.body);
        let id = proposed.body["id"].as_str().unwrap().to_owned();
        let accepted = self
            .call(
                Method::POST,
                &format!("/v1/partnerships/{id}/acceptance"),
                Some(&b.manager),
                None,
            )
            .await;
        assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
        id
    }
}

pub fn proposal(partner: &str) -> Value {
    json!({
        "partnerCompanyId": partner,
        "type": "COLLABORATIVE",
        "terms": {"dataCategories": ["LOGS", "HOSTNAMES"], "retentionDays": 30, "onwardSharingAllowed": false}
    })
}

pub struct Member {
    pub id: String,
    pub admin: String,
    pub manager: String,
    pub engineer: String,
    pub auditor: String,
    pub admin_id: String,
    pub engineer_id: String,
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    /// The raw body, for pages and other non-JSON answers.
    pub text: String,
}

impl Response {
    /// Asserts a problem+json answer with `status` and `code`.
    #[track_caller]
    pub fn problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert_eq!(self.body["status"], status.as_u16());
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    /// The names of the fields a `validation_failed` problem lists.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}
