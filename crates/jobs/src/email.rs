//! Email through the operator's SMTP server (lettre): a short text and HTML message per
//! event that an engineer can act on at a glance — which case, from whom, how urgent, by
//! when, and the link. Emails carry the case's metadata only, never its text, so nothing
//! reaches a partner's inbox that the partner could not see.

use std::time::Duration;

use casebridge_service::store::ClaimedDelivery;
use chrono::DateTime;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use maud::{html, Markup};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use serde_json::Value;

use crate::webhook::Failure;

/// How to reach the mail server.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (no TLS, for a local relay), `smtp+starttls://user:pass@host:587`
    /// or `smtps://user:pass@host:465`.
    pub url: String,
    /// The sender, e.g. `Casebridge <casebridge@example.com>`.
    pub from: String,
    pub timeout: Duration,
    /// PEM certificate(s) of a private CA that signed the mail server's certificate,
    /// trusted besides the public roots (for an internal relay).
    pub ca_pem: Option<Vec<u8>>,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    source: String,
}

impl Mailer {
    pub fn new(settings: &MailSettings, source: &str) -> Result<Self, String> {
        // lettre spells STARTTLS as smtp:// with tls=required.
        let url = match settings.url.strip_prefix("smtp+starttls://") {
            Some(rest) if rest.contains('?') => format!("smtp://{rest}&tls=required"),
            Some(rest) => format!("smtp://{rest}?tls=required"),
            None => settings.url.clone(),
        };
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(
                "the SMTP URL must start with smtp://, smtp+starttls:// or smtps://".into(),
            );
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| format!("the SMTP URL is not valid: {e}"))?
            .timeout(Some(settings.timeout));
        if let Some(pem) = &settings.ca_pem {
            builder = builder.tls(private_ca_tls(&url, pem)?);
        }
        let transport = builder.build();
        let from = settings
            .from
            .parse()
            .map_err(|e| format!("the sender address is not valid: {e}"))?;
        Ok(Self {
            transport,
            from,
            source: source.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends one delivery's email to `address`.
    pub async fn send(&self, delivery: &ClaimedDelivery, address: &str) -> Result<(), Failure> {
        // An email whose content was sealed at creation reads it instead of the event's.
        let data = delivery.payload.as_deref().unwrap_or(&delivery.data);
        let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
        let Some(email) = render(&delivery.event_type, &data, &self.source) else {
            return Err(Failure::refused(format!(
                "no email is written for {}",
                delivery.event_type
            )));
        };
        let to: Mailbox = address
            .parse()
            .map_err(|_| Failure::refused("not a deliverable address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text,
                email.html.into_string(),
            ))
            .map_err(|e| Failure::refused(format!("the message could not be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(Failure::refused(format!(
                "the mail server refused the message: {error}"
            ))),
            Err(error) => Err(Failure::retry(None, format!("the mail server: {error}"))),
        }
    }
}

/// One email, ready to send.
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: Markup,
}

/// TLS that also trusts a private CA, the same way the URL asked for TLS.
fn private_ca_tls(url: &str, pem: &[u8]) -> Result<Tls, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("the SMTP URL is not valid: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or("the SMTP URL names no host")?
        .trim_matches(['[', ']']);
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the SMTP CA file is not valid: {e}"))?;
    if certificates.is_empty() {
        return Err("the SMTP CA file is not valid: it holds no PEM certificate".into());
    }
    let certificate =
        Certificate::from_pem(pem).map_err(|e| format!("the SMTP CA file is not valid: {e}"))?;
    let parameters = TlsParameters::builder(host.to_owned())
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| format!("the SMTP CA file is not valid: {e}"))?;
    if url.starts_with("smtps://") {
        Ok(Tls::Wrapper(parameters))
    } else if url.contains("tls=required") {
        Ok(Tls::Required(parameters))
    } else {
        Err("a CA file is for smtps:// or smtp+starttls:// servers; smtp:// uses no TLS".into())
    }
}

fn field<'a>(data: &'a Value, name: &str) -> &'a str {
    data[name].as_str().unwrap_or_default()
}

fn when(raw: &str) -> String {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.format("%-d %B %Y, %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn label(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The email for an event as its recipient's company sees it; `None` for events that are
/// not emailed.
pub fn render(event_type: &str, data: &Value, source: &str) -> Option<Email> {
    if event_type == "case.authorization_requested" {
        return customer_link(data);
    }
    let partner = field(data, "partnerName");
    let inbound = field(data, "direction") == "INBOUND";
    let submitter_number = field(data, "submitterCaseNumber");
    let receiver_number = field(data, "receiverCaseNumber");
    let number = match (inbound, receiver_number) {
        (true, "") => submitter_number.to_owned(),
        (true, ours) => format!("{ours} (theirs: {submitter_number})"),
        (false, "") => submitter_number.to_owned(),
        (false, theirs) => format!("{submitter_number} (theirs: {theirs})"),
    };
    let priority = label(field(data, "priority"));
    let respond_by = when(field(data, "respondBy"));
    let link = format!("{source}/cases/{}", field(data, "token"));
    let (subject, headline, detail) = match event_type {
        "case.created" if inbound => (
            format!("New {priority} request from {partner}: {submitter_number}"),
            format!("{partner} asks your company for help."),
            format!("Priority {priority}; first response due by {respond_by}."),
        ),
        "case.response_added" => {
            let step = label(field(data, "responseType"));
            (
                format!("{partner} responded on {number}: {step}"),
                format!("{partner} took a step on your request: {step}."),
                format!("The case is now {}.", label(field(data, "status"))),
            )
        }
        "case.note_added" => (
            format!("New note from {partner} on {number}"),
            format!("{partner} added a note to the case."),
            format!("The case is {}.", label(field(data, "status"))),
        ),
        "case.sla_reminder" => {
            let which = if field(data, "reminder") == "DUE_SOON" {
                "is due soon"
            } else {
                "is half-way to its target"
            };
            (
                format!("Reminder: {number} from {partner} {which}"),
                format!("The request from {partner} has no first response yet and {which}."),
                format!("Priority {priority}; first response due by {respond_by}."),
            )
        }
        "case.sla_breached" if inbound => (
            format!("Response target missed: {number} from {partner}"),
            format!("The first response to {partner}'s request was due and has not been given."),
            format!("Priority {priority}; it was due by {respond_by}."),
        ),
        _ => return None,
    };
    let text = format!(
        "{headline}\n\nCase: {number}\n{detail}\n\nOpen the case: {link}\n\n-- \nCasebridge. You get this email because of your role on the case or in your company.\n"
    );
    let html = html! {
        (maud::DOCTYPE)
        html {
            body style="font-family: system-ui, sans-serif; color: #1b1f24; line-height: 1.5" {
                p style="font-size: 17px" { strong { (headline) } }
                p { "Case: " strong { (number) } br; (detail) }
                p { a href=(link) style="background: #0b57d0; color: #fff; padding: 8px 14px; border-radius: 6px; text-decoration: none" { "Open the case" } }
                p style="color: #545d68; font-size: 13px" { "Casebridge. You get this email because of your role on the case or in your company." }
            }
        }
    };
    Some(Email {
        subject,
        text,
        html,
    })
}

/// The email that asks a customer to decide on sharing their case: who asks, with whom,
/// why, until when, and the link to the decision page. Written for someone who has never
/// heard of Casebridge.
fn customer_link(data: &Value) -> Option<Email> {
    let link = field(data, "link");
    if link.is_empty() {
        return None;
    }
    let customer = field(data, "customerName");
    let submitter = field(data, "submitterName");
    let receiver = field(data, "receiverName");
    let number = field(data, "caseNumber");
    let purpose = field(data, "purpose");
    let until = when(field(data, "expiresAt"));
    let subject =
        format!("{submitter} asks your permission to work on your support request with {receiver}");
    let asks = format!(
        "{submitter} would like to work on your support request ({number}) together with \
         {receiver}, and share some information about it with them for that purpose: {purpose}."
    );
    let decide = format!(
        "Please read what would be shared and decide — authorize or decline — on this page, until {until}:"
    );
    let after = format!(
        "Nothing is shared with {receiver} until you authorize, and you can withdraw later on the same page."
    );
    let text = format!("Hello {customer},\n\n{asks}\n\n{decide}\n\n{link}\n\n{after}\n");
    let html = html! {
        (maud::DOCTYPE)
        html {
            body style="font-family: system-ui, sans-serif; color: #1b1f24; line-height: 1.5" {
                p { "Hello " (customer) "," }
                p { (asks) }
                p { (decide) }
                p { a href=(link) style="background: #0b57d0; color: #fff; padding: 8px 14px; border-radius: 6px; text-decoration: none" { "Review and decide" } }
                p { (after) }
            }
        }
    };
    Some(Email {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_request_reads_at_a_glance_and_escapes_names() {
        let data = json!({
            "token": "cr_AAAAAAAAAAAAAAAAAAAAAA", "direction": "INBOUND", "status": "OPEN",
            "priority": "HIGH", "partnerName": "Acme <script>", "submitterCaseNumber": "ACME-1",
            "receiverCaseNumber": "", "respondBy": "2026-11-29T12:00:00+00:00"
        });
        let email = render("case.created", &data, "https://cb.example").unwrap();
        assert_eq!(email.subject, "New High request from Acme <script>: ACME-1");
        assert!(email.text.contains("29 November 2026, 12:00 UTC"));
        assert!(email
            .text
            .contains("https://cb.example/cases/cr_AAAAAAAAAAAAAAAAAAAAAA"));
        let html = email.html.into_string();
        assert!(html.contains("Acme &lt;script&gt;") && !html.contains("<script>"));
        // Only the receiver is told of a new request.
        let outbound = json!({"direction": "OUTBOUND"});
        assert!(render("case.created", &outbound, "https://cb.example").is_none());
        assert!(render("partnership.proposed", &data, "https://cb.example").is_none());
    }

    #[test]
    fn a_customer_is_asked_in_plain_words_with_the_link_and_the_deadline() {
        let data = json!({
            "customerName": "Jane <b>Customer</b>", "submitterName": "Acme",
            "receiverName": "Globex", "caseNumber": "ACME-77", "purpose": "Fix the lag",
            "expiresAt": "2026-12-08T10:00:00Z", "link": "https://cb.example/authorize/cb_al_x"
        });
        let email = render("case.authorization_requested", &data, "https://cb.example").unwrap();
        assert_eq!(
            email.subject,
            "Acme asks your permission to work on your support request with Globex"
        );
        assert!(email.text.starts_with("Hello Jane <b>Customer</b>,"));
        assert!(email.text.contains("until 8 December 2026, 10:00 UTC"));
        assert!(email
            .text
            .contains("\nhttps://cb.example/authorize/cb_al_x\n"));
        let html = email.html.into_string();
        assert!(html.contains("Jane &lt;b&gt;Customer&lt;/b&gt;") && !html.contains("<b>"));
        assert!(html.contains("href=\"https://cb.example/authorize/cb_al_x\""));
        // Without its sealed content (the link) there is nothing to send.
        assert!(render(
            "case.authorization_requested",
            &json!({}),
            "https://cb.example"
        )
        .is_none());
    }
}
