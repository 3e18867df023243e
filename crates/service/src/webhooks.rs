//! Webhook subscriptions: admins subscribe their company's systems to events, see every
//! delivery and send one again. The callback URL is checked here against the operator's
//! policy (HTTPS, and no private or local address unless the operator allows the host);
//! the dispatcher checks every resolved address again before it connects.

use std::net::IpAddr;

use casebridge_domain::events::is_event_type;
use casebridge_domain::validation::single_line;
use casebridge_domain::{Action, EmailAddress, ValidationErrors};
use casebridge_store::{
    DeliveryRecord, DeliveryStatus, NewWebhook, NotificationSettings, WebhookRecord,
};
use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use crate::secrets::random_secret;
use crate::{Caller, ServiceError, ServiceResult, Services};

/// Greppable prefix of webhook signing secrets.
pub const WEBHOOK_SECRET_PREFIX: &str = "cb_wh_";
const MAX_URL_CHARS: usize = 2000;
const MAX_AUTH_CHARS: usize = 1000;
const MAX_WEBHOOKS: usize = 20;
/// How long delivered and failed deliveries stay listed.
pub const OUTBOX_DAYS: i64 = 30;

/// Which callback hosts the operator lets webhooks reach beyond public HTTPS ones.
#[derive(Debug, Clone, Default)]
pub struct WebhookPolicy {
    /// Hosts (names or addresses, lower case) that may be plain HTTP and resolve to
    /// private, loopback or link-local addresses: `--webhook-allowed-hosts`.
    pub allowed_hosts: Vec<String>,
}

impl WebhookPolicy {
    pub fn new(allowed_hosts: impl IntoIterator<Item = String>) -> Self {
        Self {
            allowed_hosts: allowed_hosts
                .into_iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_lowercase();
        self.allowed_hosts.contains(&host)
    }

    /// Whether a callback URL may be used: HTTPS (or an allowed host), no credentials in
    /// it, and not an address the guard refuses.
    pub fn check_url(&self, raw: &str) -> Result<Url, String> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
        let host = url.host_str().ok_or("must name a host")?.to_owned();
        let allowed = self.host_allowed(&host);
        match url.scheme() {
            "https" => {}
            "http" if allowed => {}
            "http" => {
                return Err("must use https (plain http only for hosts the operator allows)".into())
            }
            _ => return Err("must be an https URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials; use callbackAuth".into());
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            if !allowed && !is_public(ip) {
                return Err("points at a private, local or reserved address".into());
            }
        }
        if !allowed && (host == "localhost" || host.ends_with(".localhost")) {
            return Err("points at this machine".into());
        }
        Ok(url)
    }

    /// Whether the dispatcher may connect to `ip` for `host`.
    pub fn address_allowed(&self, host: &str, ip: IpAddr) -> bool {
        self.host_allowed(host) || is_public(ip)
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local
/// (cloud metadata lives there), shared, documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_multicast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 to anything
        }
    }
}

pub struct WebhookInput {
    pub callback_url: String,
    pub event_types: Option<Vec<String>>,
    pub callback_auth: Option<String>,
}

/// A new subscription and its signing secret: shown once, never again.
pub struct CreatedWebhook {
    pub webhook: WebhookRecord,
    pub secret: SecretString,
}

impl Services {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        input: WebhookInput,
    ) -> ServiceResult<CreatedWebhook> {
        let tenant = caller.may(Action::ManageApiClients)?;
        let mut errors = ValidationErrors::default();
        let url = errors.check("callbackUrl", self.webhooks.check_url(&input.callback_url));
        let event_types = match input.event_types {
            None => None,
            Some(types) if types.is_empty() => {
                errors.add(
                    "eventTypes",
                    "name at least one event type, or leave it out for all",
                );
                None
            }
            Some(mut types) => {
                for (i, name) in types.iter().enumerate() {
                    if !is_event_type(name) {
                        errors.add(format!("eventTypes[{i}]"), "not an event type");
                    }
                }
                types.sort();
                types.dedup();
                Some(types)
            }
        };
        let callback_auth = match input.callback_auth.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(auth) => errors.check("callbackAuth", single_line(auth, MAX_AUTH_CHARS)),
        };
        if self.store.list_webhooks(tenant).await?.len() >= MAX_WEBHOOKS {
            errors.add(
                "callbackUrl",
                format!("a company has at most {MAX_WEBHOOKS} webhooks"),
            );
        }
        let Some(url) = url.filter(|_| errors.is_empty()) else {
            return Err(errors.into());
        };
        let secret = random_secret(WEBHOOK_SECRET_PREFIX, 32);
        let webhook = self
            .store
            .create_webhook(
                tenant,
                &NewWebhook {
                    created_at: self.now(),
                    callback_url: url.to_string(),
                    event_types,
                    secret: secret.expose_secret().to_owned(),
                    callback_auth,
                },
            )
            .await?;
        Ok(CreatedWebhook { webhook, secret })
    }

    /// Forgets outbox events and finished deliveries older than 30 days (the delivery list
    /// shows a month of history); pending ones stay whatever their age.
    pub async fn prune_outbox(&self) -> ServiceResult<u64> {
        Ok(self
            .store
            .prune_outbox(self.now() - chrono::Duration::days(OUTBOX_DAYS))
            .await?)
    }

    pub async fn notification_settings(
        &self,
        caller: &Caller,
    ) -> ServiceResult<NotificationSettings> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.notification_settings(tenant).await?)
    }

    /// Sets (or, with `None`, clears) the addresses that get a copy of every new inbound
    /// request and of every response to an outbound one.
    pub async fn set_notification_settings(
        &self,
        caller: &Caller,
        inbound_bcc: Option<String>,
        outbound_bcc: Option<String>,
    ) -> ServiceResult<NotificationSettings> {
        let tenant = caller.may(Action::ManageApiClients)?;
        let mut errors = ValidationErrors::default();
        let mut address = |field: &str, raw: Option<String>| match raw.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => errors
                .check(field, EmailAddress::parse(raw))
                .map(|e| e.as_str().to_owned()),
        };
        let settings = NotificationSettings {
            inbound_bcc: address("inboundBcc", inbound_bcc),
            outbound_bcc: address("outboundBcc", outbound_bcc),
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        self.store
            .set_notification_settings(tenant, &settings)
            .await?;
        Ok(settings)
    }

    /// Whether the signed-in person gets emails about a partner's notes (the emails one
    /// may do without; requests, responses and escalations always go).
    pub async fn note_emails(&self, caller: &Caller) -> ServiceResult<bool> {
        let tenant = caller.may(Action::ReadDirectory)?;
        if tenant.user().is_none() {
            return Err(ServiceError::Forbidden("API clients receive no email"));
        }
        Ok(self.store.note_emails(tenant).await?)
    }

    pub async fn set_note_emails(&self, caller: &Caller, on: bool) -> ServiceResult<bool> {
        let tenant = caller.may(Action::ReadDirectory)?;
        if tenant.user().is_none() {
            return Err(ServiceError::Forbidden("API clients receive no email"));
        }
        self.store.set_note_emails(tenant, on).await?;
        Ok(on)
    }

    pub async fn list_webhooks(&self, caller: &Caller) -> ServiceResult<Vec<WebhookRecord>> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.list_webhooks(tenant).await?)
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> ServiceResult<()> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.delete_webhook(tenant, id).await?)
    }

    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        id: &str,
    ) -> ServiceResult<Vec<DeliveryRecord>> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.webhook_deliveries(tenant, id, 200).await?)
    }

    /// The company's newest notification emails (admins): waiting, sent or failed.
    pub async fn email_deliveries(
        &self,
        caller: &Caller,
        status: Option<DeliveryStatus>,
    ) -> ServiceResult<Vec<DeliveryRecord>> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.email_deliveries(tenant, status, 200).await?)
    }

    /// Sends one of the company's emails again, with a fresh retry window.
    pub async fn redeliver_email(
        &self,
        caller: &Caller,
        delivery: &str,
    ) -> ServiceResult<DeliveryRecord> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self
            .store
            .redeliver_email(tenant, delivery, self.now())
            .await?)
    }

    pub async fn redeliver(
        &self,
        caller: &Caller,
        webhook: &str,
        delivery: &str,
    ) -> ServiceResult<DeliveryRecord> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self
            .store
            .redeliver(tenant, webhook, delivery, self.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_are_https_and_public_unless_allowed() {
        let strict = WebhookPolicy::default();
        assert!(strict
            .check_url("https://crm.example.com/hooks/casebridge")
            .is_ok());
        for refused in [
            "http://crm.example.com/hook",
            "ftp://crm.example.com/hook",
            "https://user:pw@crm.example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.0.0.5/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://localhost/hook",
            "https://0.0.0.0/hook",
            "https://100.64.0.1/hook",
            "not a url",
        ] {
            assert!(strict.check_url(refused).is_err(), "{refused}");
        }
        let loopback = WebhookPolicy::new(["127.0.0.1".to_owned(), "localhost".to_owned()]);
        assert!(loopback.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(loopback.check_url("http://localhost:9000/hook").is_ok());
        assert!(loopback.check_url("http://10.0.0.5/hook").is_err());
        assert!(loopback.address_allowed("127.0.0.1", "127.0.0.1".parse().unwrap()));
        assert!(!loopback.address_allowed("evil.example", "127.0.0.1".parse().unwrap()));
        assert!(strict.address_allowed("crm.example.com", "93.184.215.14".parse().unwrap()));
    }
}
