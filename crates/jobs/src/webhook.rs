//! Sending one webhook delivery: a CloudEvents 1.0 JSON body, signed, to a callback the
//! SSRF guard lets through, with a timeout and a cap on what is read back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use casebridge_domain::events::cloud_event_type;
use casebridge_service::store::ClaimedDelivery;
use casebridge_service::webhooks::WebhookPolicy;
use hmac::{Hmac, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::DispatchSettings;

/// HMAC-SHA256 of `message` under `secret`, in hex.
pub fn sign(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// `X-Casebridge-Signature`: the timestamp and an HMAC over `timestamp.body`, so a
/// receiver can refuse a replayed delivery by its age as well as by its event id.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={timestamp},v1={}", sign(secret, &message))
}

/// Why an attempt did not deliver; `permanent` ends retries at once.
#[derive(Debug)]
pub struct Failure {
    pub status_code: Option<i64>,
    pub error: String,
    pub permanent: bool,
}

impl Failure {
    pub(crate) fn retry(status_code: Option<i64>, error: impl Into<String>) -> Self {
        Self {
            status_code,
            error: error.into(),
            permanent: false,
        }
    }

    pub(crate) fn refused(error: impl Into<String>) -> Self {
        Self {
            status_code: None,
            error: error.into(),
            permanent: true,
        }
    }
}

/// Resolves names for the HTTP client and drops every address the guard refuses, so a
/// name that changes its answer between our check and the connection still cannot lead
/// to a private address.
struct GuardedResolver {
    policy: Arc<WebhookPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = allowed_addresses(&policy, &host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

async fn allowed_addresses(
    policy: &WebhookPolicy,
    host: &str,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    let allowed: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|addr| policy.address_allowed(host, addr.ip()))
        .collect();
    if allowed.is_empty() && !found.is_empty() {
        return Err("refused by the SSRF guard: the name resolves to private addresses".into());
    }
    Ok(allowed)
}

pub struct WebhookSender {
    client: reqwest::Client,
    policy: Arc<WebhookPolicy>,
    source: String,
    max_response_bytes: usize,
}

impl WebhookSender {
    pub fn new(policy: WebhookPolicy, settings: &DispatchSettings) -> Self {
        // One TLS provider for the process; a second install is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .user_agent(concat!("Casebridge-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .build()
            .expect("the webhook HTTP client builds with static settings");
        Self {
            client,
            policy,
            source: settings.source.clone(),
            max_response_bytes: settings.max_response_bytes,
        }
    }

    /// The CloudEvent a delivery carries.
    pub fn body(&self, delivery: &ClaimedDelivery) -> Vec<u8> {
        let data: Value = serde_json::from_str(&delivery.data).unwrap_or(Value::Null);
        json!({
            "specversion": "1.0",
            "id": delivery.event_id,
            "source": self.source,
            "type": cloud_event_type(&delivery.event_type),
            "subject": delivery.aggregate,
            "time": delivery.occurred_at.to_rfc3339(),
            "datacontenttype": "application/json",
            "data": data,
        })
        .to_string()
        .into_bytes()
    }

    /// One attempt: the callback's status code when it is 2xx.
    pub async fn send(
        &self,
        delivery: &ClaimedDelivery,
        callback_url: &str,
        secret: &str,
        callback_auth: Option<&str>,
    ) -> Result<i64, Failure> {
        let url = self
            .policy
            .check_url(callback_url)
            .map_err(|e| Failure::refused(format!("callback URL refused: {e}")))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) if !self.policy.address_allowed(&host, ip) => {
                return Err(Failure::refused(
                    "refused by the SSRF guard: a private address",
                ));
            }
            Ok(_) => {}
            Err(_) => match allowed_addresses(&self.policy, &host).await {
                Ok(_) => {}
                Err(e) if e.to_string().contains("SSRF") => {
                    return Err(Failure::refused(e.to_string()))
                }
                Err(e) => {
                    return Err(Failure::retry(
                        None,
                        format!("cannot resolve the host: {e}"),
                    ))
                }
            },
        }
        let body = self.body(delivery);
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .client
            .post(url)
            .header(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )
            .header(
                "x-hub-signature-256",
                format!("sha256={}", sign(secret, &body)),
            )
            .header(
                "x-casebridge-signature",
                signature_header(secret, timestamp, &body),
            )
            .header("x-casebridge-event-id", &delivery.event_id)
            .header("x-casebridge-delivery-id", &delivery.id)
            .header("x-casebridge-timestamp", timestamp.to_string())
            .body(body);
        if let Some(auth) = callback_auth {
            request = request.header("authorization", auth);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failure::retry(None, describe(&e)))?;
        let status = i64::from(response.status().as_u16());
        // Read a little of the answer (so the connection can be reused), never all of it.
        let mut read = 0usize;
        while read < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        if response.status().is_success() {
            Ok(status)
        } else {
            Err(Failure::retry(
                Some(status),
                format!("the callback answered {status}"),
            ))
        }
    }
}

/// A transport error in a line an admin can act on.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the callback did not answer in time".into()
    } else if error.is_connect() {
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            if e.to_string().contains("SSRF") {
                return e.to_string();
            }
            source = e.source();
        }
        "cannot connect to the callback".into()
    } else {
        format!("the request failed: {error}")
    }
}
