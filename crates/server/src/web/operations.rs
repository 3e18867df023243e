//! Administration pages for integrations and service levels: webhook subscriptions with
//! their deliveries, and the SLA report.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use casebridge_domain::events::EVENT_TYPES;
use casebridge_domain::form::Priority;
use casebridge_domain::sla::SlaFigures;
use casebridge_service::store::{DeliveryRecord, DeliveryStatus};
use casebridge_service::webhooks::WebhookInput;
use chrono::{Duration, NaiveDate, Utc};
use maud::{html, Markup};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::admin::{admin_page_with, parse_id, refuse, shown_once, Area};
use super::{
    after, csrf_input, error_page, field_anchor, human, span_text, when, Fields, Input, Posted,
    Problems, Web,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(webhooks).post(subscribe))
        .route("/admin/webhooks/{id}/delete", post(unsubscribe))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
        .route(
            "/admin/webhooks/emails/{delivery}/redeliver",
            post(redeliver_email),
        )
        .route("/admin/sla", get(sla))
        .route("/admin/webhooks/email-copies", post(email_copies))
        .route("/account", get(account))
        .route("/account/email-preferences", post(email_preferences))
}

// ---- webhooks ----

async fn webhooks(State(state): State<AppState>, web: Web) -> Response {
    if let Some(page) = refuse(&web, Area::Webhooks) {
        return page;
    }
    webhooks_page(&state, &web, &Fields::empty(), &Problems::default()).await
}

async fn webhooks_page(
    state: &AppState,
    web: &Web,
    fields: &Fields,
    problems: &Problems,
) -> Response {
    let services = &state.services;
    let hooks = match services.list_webhooks(&web.caller).await {
        Ok(hooks) => hooks,
        Err(error) => return error_page(Some(web), error),
    };
    let mut deliveries = Vec::with_capacity(hooks.len());
    for hook in &hooks {
        match services.webhook_deliveries(&web.caller, &hook.id).await {
            Ok(list) => deliveries.push(list),
            Err(error) => return error_page(Some(web), error),
        }
    }
    let copies = match services.notification_settings(&web.caller).await {
        Ok(copies) => copies,
        Err(error) => return error_page(Some(web), error),
    };
    let emails = match services.email_deliveries(&web.caller, None).await {
        Ok(emails) => emails,
        Err(error) => return error_page(Some(web), error),
    };
    let waiting = emails
        .iter()
        .filter(|e| e.status == DeliveryStatus::Pending && e.attempts == 0)
        .count();
    let chosen = fields.all("eventTypes");
    let body = html! {
        p.lede { "Casebridge pushes events to your systems as signed CloudEvents, in order per case, and retries for 24 hours. Events carry identifiers and status, never case text." }
        @if hooks.is_empty() { p.empty { "No webhooks yet." } }
        @for (hook, list) in hooks.iter().zip(&deliveries) {
            section.card {
                h2 { code { (hook.callback_url) } }
                p.sub {
                    @match &hook.event_types {
                        Some(types) => { "Events: " (types.join(", ")) }
                        None => "Every event",
                    }
                    " · since " (when(hook.created_at))
                    @if hook.has_callback_auth { " · sends an Authorization header" }
                }
                details {
                    summary { "Recent deliveries (" (list.len()) ")" }
                    @if list.is_empty() { p.empty { "Nothing delivered yet." } }
                    @else {
                        div.table-wrap {
                            table {
                                caption.visually-hidden { "Deliveries to " (hook.callback_url) }
                                thead { tr { th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "When" } th scope="col" { span.visually-hidden { "Action" } } } }
                                tbody {
                                    @for d in list.iter().take(50) {
                                        tr {
                                            td { code { (d.event_type) } div.sub { code { (d.aggregate) } } }
                                            td { (human(d.status.as_str())) }
                                            td { (d.attempts) }
                                            td {
                                                @if let Some(code) = d.last_status_code { "HTTP " (code) }
                                                @if let Some(error) = &d.last_error { div.sub { (error) } }
                                            }
                                            td { (when(d.delivered_at.unwrap_or(d.next_attempt_at))) }
                                            td {
                                                form method="post" action=(format!("/admin/webhooks/{}/deliveries/{}/redeliver", hook.id, d.id)) {
                                                    (csrf_input(web))
                                                    button type="submit" { "Send again" span.visually-hidden { " " (d.event_type) } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form method="post" action=(format!("/admin/webhooks/{}/delete", hook.id)) {
                    (csrf_input(web))
                    button.danger type="submit" data-confirm="Stop sending events to this address?" { "Delete " span.visually-hidden { (hook.callback_url) } }
                }
            }
        }
        h2 #emails { "Notification emails" }
        section.card {
            @if emails.is_empty() { p.empty { "No emails yet." } }
            @else {
                @if waiting > 0 {
                    p.hint { (waiting) " waiting to be sent. Emails wait, never dropped, while the server has no mail server configured (the operator's " code { "--smtp-url" } ")." }
                }
                div.table-wrap {
                    table {
                        caption.visually-hidden { "Notification emails, newest first" }
                        thead { tr { th scope="col" { "To" } th scope="col" { "About" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "When" } th scope="col" { span.visually-hidden { "Action" } } } }
                        tbody {
                            @for e in emails.iter().take(50) {
                                tr {
                                    td { (e.target) }
                                    td { code { (e.event_type) } div.sub { code { (e.aggregate) } } }
                                    td {
                                        (email_status(e))
                                        @if let Some(error) = &e.last_error { div.sub { (error) } }
                                    }
                                    td { (e.attempts) }
                                    td { (when(e.delivered_at.unwrap_or(e.next_attempt_at))) }
                                    td {
                                        @if e.status != DeliveryStatus::Pending {
                                            form method="post" action=(format!("/admin/webhooks/emails/{}/redeliver", e.id)) {
                                                (csrf_input(web))
                                                button type="submit" { "Send again" span.visually-hidden { " to " (e.target) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Email copies" }
        form.card method="post" action="/admin/webhooks/email-copies" {
            (csrf_input(web))
            p.hint { "A shared mailbox or your CRM's inbound address can get a copy of the emails about your requests." }
            (Input::new("inboundBcc", "Copy of every new inbound request to", copies.inbound_bcc.as_deref().unwrap_or_default())
                .kind("email").max(320).render(problems, "inboundBcc"))
            (Input::new("outboundBcc", "Copy of every response to your outbound requests to", copies.outbound_bcc.as_deref().unwrap_or_default())
                .kind("email").max(320).render(problems, "outboundBcc"))
            button type="submit" { "Save copies" }
        }
        h2 { "New webhook" }
        form.card method="post" action="/admin/webhooks" {
            (csrf_input(web))
            (problems.summary())
            (Input::new("callbackUrl", "Callback URL", fields.get("callbackUrl")).kind("url").required().max(2000)
                .hint("HTTPS. Plain HTTP and private addresses only for hosts the operator allows.").render(problems, "callbackUrl"))
            (Input::new("callbackAuth", "Authorization header value (optional)", fields.get("callbackAuth")).max(1000)
                .hint("Sent with every delivery, e.g. “Bearer …”; stored encrypted, never shown again.").render(problems, "callbackAuth"))
            fieldset {
                legend { "Events" }
                p.hint { "Leave all unticked for every event." }
                @if let Some(error) = problems.for_field("eventTypes") { p.error { (error) } }
                @for event in EVENT_TYPES {
                    @let id = format!("ev-{}", field_anchor(event));
                    div.choice {
                        input id=(id) type="checkbox" name="eventTypes" value=(event) checked[chosen.contains(&event)];
                        label for=(id) { code { (event) } }
                    }
                }
            }
            button.primary type="submit" { "Create webhook" }
        }
    };
    admin_page_with(
        web,
        problems.status(),
        Some(Area::Webhooks),
        "Webhooks and email",
        body,
    )
}

async fn subscribe(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let types: Vec<String> = fields
        .all("eventTypes")
        .iter()
        .map(|t| t.to_string())
        .collect();
    let input = WebhookInput {
        callback_url: fields.get("callbackUrl").trim().to_owned(),
        event_types: (!types.is_empty()).then_some(types),
        callback_auth: fields.opt("callbackAuth"),
    };
    match state.services.create_webhook(&web.caller, input).await {
        Ok(created) => shown_once(
            &web,
            Area::Webhooks,
            "Webhook created",
            html! { p { "Deliveries to " code { (created.webhook.callback_url) } " are signed with this secret. It is shown only now: store it where your receiver can read it." } },
            &[(
                "webhook-secret",
                "Signing secret",
                created.secret.expose_secret(),
            )],
            html! { p.sub { "Check " code { "X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)" } " and refuse an " code { "X-Casebridge-Event-Id" } " you have already handled." } },
            ("/admin/webhooks", "Back to webhooks"),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => webhooks_page(&state, &web, &fields, &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let web = posted.web;
    let outcome = async {
        let id: uuid::Uuid = parse_id(&id)?;
        state
            .services
            .delete_webhook(&web.caller, &id.to_string())
            .await
    }
    .await;
    after(&web, "/admin/webhooks", outcome, |_| {
        "Webhook deleted.".to_owned()
    })
}

async fn redeliver(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let web = posted.web;
    let outcome = async {
        let id: uuid::Uuid = parse_id(&id)?;
        let delivery: uuid::Uuid = parse_id(&delivery)?;
        state
            .services
            .redeliver(&web.caller, &id.to_string(), &delivery.to_string())
            .await
    }
    .await;
    after(&web, "/admin/webhooks", outcome, |d| {
        format!("The {} event will be sent again.", d.event_type)
    })
}

/// How an email stands, in words.
fn email_status(e: &DeliveryRecord) -> &'static str {
    match (e.status, e.attempts) {
        (DeliveryStatus::Pending, 0) => "Waiting",
        (DeliveryStatus::Pending, _) => "Retrying",
        (DeliveryStatus::Delivered, _) => "Sent",
        (DeliveryStatus::Failed, _) => "Failed",
    }
}

async fn redeliver_email(
    State(state): State<AppState>,
    Path(delivery): Path<String>,
    posted: Posted,
) -> Response {
    let web = posted.web;
    let outcome = async {
        let delivery: uuid::Uuid = parse_id(&delivery)?;
        state
            .services
            .redeliver_email(&web.caller, &delivery.to_string())
            .await
    }
    .await;
    after(&web, "/admin/webhooks#emails", outcome, |d| {
        format!("The email to {} will be sent again.", d.target)
    })
}

// ---- the SLA report ----

#[derive(Deserialize, Default)]
struct SlaQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn day(raw: &str) -> Option<chrono::DateTime<Utc>> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

async fn sla(
    State(state): State<AppState>,
    web: Web,
    query: Result<Query<SlaQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(page) = refuse(&web, Area::Sla) {
        return page;
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    // Whole days: `to` is inclusive on the page, exclusive in the report; by default the
    // 30 days up to and including today.
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    let to = day(&query.to).or(today).map(|d| d + Duration::days(1));
    let from = day(&query.from).or(to.map(|to| to - Duration::days(30)));
    let (report, problems) = match state.services.sla_report(&web.caller, from, to).await {
        Ok(report) => (Some(report), Problems::default()),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => (None, problems),
            Err(error) => return error_page(Some(&web), error),
        },
    };
    let shown_from = report
        .as_ref()
        .map(|r| r.from.format("%Y-%m-%d").to_string())
        .unwrap_or(query.from.clone());
    let shown_to = report
        .as_ref()
        .map(|r| (r.to - Duration::days(1)).format("%Y-%m-%d").to_string())
        .unwrap_or(query.to.clone());
    let body = html! {
        form.filters method="get" action="/admin/sla" {
            div.field { label for="sla-from" { "From" } input #sla-from name="from" type="date" value=(shown_from); }
            div.field { label for="sla-to" { "To (inclusive)" } input #sla-to name="to" type="date" value=(shown_to); }
            button type="submit" { "Show" }
        }
        (problems.summary())
        @if let Some(report) = &report {
            p.sub { "Requests your company received whose response clock started in the period; test requests left out." }
            div.table-wrap {
                table {
                    caption.visually-hidden { "Service levels per priority" }
                    thead { tr {
                        th scope="col" { "Priority" } th scope="col" { "Received" } th scope="col" { "Answered" }
                        th scope="col" { "Within target" } th scope="col" { "Breached" }
                        th scope="col" { "Median first response" } th scope="col" { "90th percentile" }
                    } }
                    tbody {
                        @for (priority, figures) in &report.by_priority { (sla_row(priority_label(*priority), figures)) }
                    }
                    tfoot { (sla_row("All", &report.overall)) }
                }
            }
        }
    };
    admin_page_with(&web, problems.status(), Some(Area::Sla), "SLA report", body)
}

fn priority_label(priority: Priority) -> &'static str {
    match priority {
        Priority::High => "High",
        Priority::Medium => "Medium",
        Priority::Low => "Low",
    }
}

fn sla_row(label: &str, f: &SlaFigures) -> Markup {
    let percent = |n: usize| match (n * 100).checked_div(f.received) {
        Some(share) => format!("{n} ({share}%)"),
        None => "—".to_owned(),
    };
    let time = |d: Option<Duration>| d.map_or("—".to_owned(), span_text);
    html! {
        tr {
            th scope="row" { (label) }
            td { (f.received) }
            td { (f.responded) }
            td { (percent(f.within_target)) }
            td { @if f.breached > 0 { span.overdue { (f.breached) } } @else { "0" } }
            td { (time(f.median_first_response)) }
            td { (time(f.p90_first_response)) }
        }
    }
}

async fn email_copies(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    match state
        .services
        .set_notification_settings(
            &web.caller,
            fields.opt("inboundBcc"),
            fields.opt("outboundBcc"),
        )
        .await
    {
        Ok(_) => super::done(&web, "/admin/webhooks", "Email copies saved."),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => webhooks_page(&state, &web, &fields, &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

// ---- the signed-in person's own settings ----

async fn account(State(state): State<AppState>, web: Web) -> Response {
    let notes = match state.services.note_emails(&web.caller).await {
        Ok(on) => on,
        Err(error) => return error_page(Some(&web), error),
    };
    let body = html! {
        h1 { "Your account" }
        dl.card {
            dt { "Name" } dd { (web.name) }
            dt { "Email" } dd { (web.email) }
            dt { "Company" } dd { (web.member_name) }
            dt { "Role" } dd { (human(web.caller.role().as_str())) }
        }
        h2 { "Emails" }
        form.card method="post" action="/account/email-preferences" {
            (csrf_input(&web))
            p.hint { "New requests, responses and escalations are always emailed to the people who act on them." }
            div.field.check {
                input #note-emails type="checkbox" name="partnerNoteEmails" value="true" checked[notes];
                label for="note-emails" { "Email me when a partner adds a note to a case I work on" }
            }
            button type="submit" { "Save" }
        }
    };
    super::page(&web, super::Nav::None, "Your account", body)
}

async fn email_preferences(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let on = fields.checked("partnerNoteEmails");
    let outcome = state.services.set_note_emails(&web.caller, on).await;
    after(&web, "/account", outcome, |on| {
        if on {
            "You will get emails about partners' notes.".to_owned()
        } else {
            "No more emails about partners' notes.".to_owned()
        }
    })
}
