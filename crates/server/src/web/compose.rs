//! A new request, as a guided flow: find the partner, fill in its process form, record
//! the customer's authorization (or send the customer a link), preview what the partner
//! will see, send.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use casebridge_domain::authorization::{AuthorizationDraft, AuthorizationMethod};
use casebridge_domain::form::{FieldType, FormField, Priority, Section};
use casebridge_domain::partnership::PartnershipStatus;
use casebridge_domain::{Action, DataCategory, DepartmentId, DocumentId, MemberId};
use casebridge_service::store::ProcessForm;
use casebridge_service::{
    ContactInput, FormScope, NewCaseInput, PartnerMatch, Preview, ServiceError, ServiceResult,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::cases::preview_panel;
use super::{
    csrf_input, done, error_page, field_anchor, human, page, page_with_status, Fields, Input, Nav,
    Posted, Problems, Web,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/new", get(find_partner))
        .route("/cases/new/form", get(form_page).post(submit))
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn find_partner(
    State(state): State<AppState>,
    web: Web,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !web.may(Action::WorkCases) {
        return error_page(
            Some(&web),
            ServiceError::Forbidden("your role does not allow opening requests"),
        );
    }
    let term = query.map(|Query(q)| q.q).unwrap_or_default();
    let term = term.trim();
    let (results, problem) = if term.is_empty() {
        (None, None)
    } else {
        match state.services.search_partners(&web.caller, term).await {
            Ok(found) => (Some(found), None),
            Err(ServiceError::Validation(errors)) => (
                None,
                errors.0.first().map(|e| format!("Search: {}", e.message)),
            ),
            Err(error) => return error_page(Some(&web), error),
        }
    };
    let body = html! {
        h1 { "New request" }
        ol.progress aria-label="Steps" {
            li aria-current="step" { "Partner" } li { "Request" } li { "Preview and send" }
        }
        form.search method="get" action="/cases/new" role="search" data-live-search="partner-results" {
            div.field {
                label for="q" { "Which company do you need?" }
                p.hint #q-hint { "Type part of a company or department name, or a product tag." }
                input #q name="q" type="search" value=(term) minlength="2" maxlength="100"
                    autocomplete="off" aria-describedby="q-hint" autofocus;
            }
            button type="submit" { "Search" }
        }
        div #partner-results aria-live="polite" {
            @if let Some(problem) = &problem { p.error { (problem) } }
            @if let Some(results) = &results {
                @if results.is_empty() {
                    p.empty { "No company or department matches “" (term) "”." }
                } @else {
                    ul.partners {
                        @for m in results {
                            li {
                                div {
                                    strong { (m.company_name) }
                                    @if let Some((_, department)) = &m.department { " · " (department) }
                                    div.sub { (relationship(m.relationship)) }
                                }
                                @if m.relationship == PartnershipStatus::Active && m.document_id.is_some() {
                                    a.button.primary href=(choose_href(m)) {
                                        "Choose " span.visually-hidden { (m.company_name) @if let Some((_, d)) = &m.department { " " (d) } }
                                    }
                                } @else if m.relationship == PartnershipStatus::Active {
                                    span.muted { "No process form published yet" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&web, Nav::NewRequest, "New request", body)
}

fn choose_href(m: &PartnerMatch) -> String {
    let mut query = vec![("company", m.company_id.to_string())];
    if let Some((id, _)) = &m.department {
        query.push(("department", id.to_string()));
    }
    format!(
        "/cases/new/form?{}",
        serde_urlencoded::to_string(&query).unwrap_or_default()
    )
}

fn relationship(status: PartnershipStatus) -> &'static str {
    match status {
        PartnershipStatus::Active => "Active partnership",
        PartnershipStatus::Proposed => "Partnership proposed, not accepted yet",
        _ => "No partnership: your administrator can propose one",
    }
}

#[derive(Deserialize)]
struct FormQuery {
    company: Option<String>,
    department: Option<String>,
}

/// Whose form the page is for, and the terms of the partnership with it.
struct Target {
    query: String,
    partner_name: String,
    form: ProcessForm,
    allowed: BTreeSet<DataCategory>,
}

async fn target(state: &AppState, web: &Web, query: &FormQuery) -> ServiceResult<Target> {
    let services = &state.services;
    let department = query
        .department
        .as_deref()
        .map(str::parse::<DepartmentId>)
        .transpose()
        .map_err(|_| ServiceError::NotFound)?;
    let company = query
        .company
        .as_deref()
        .map(str::parse::<MemberId>)
        .transpose()
        .map_err(|_| ServiceError::NotFound)?;
    let scope = match (department, company) {
        (Some(department), _) => FormScope::Department(department),
        (None, Some(company)) => FormScope::Company(company),
        (None, None) => return Err(ServiceError::NotFound),
    };
    // A department without a form of its own takes requests on its company's form.
    let form = match services.current_form(&web.caller, scope).await {
        Err(ServiceError::NotFound) if department.is_some() => match company {
            Some(company) => {
                services
                    .current_form(&web.caller, FormScope::Company(company))
                    .await?
            }
            None => return Err(ServiceError::NotFound),
        },
        other => other?,
    };
    let partnership = services
        .list_partnerships(&web.caller)
        .await?
        .into_iter()
        .find(|p| {
            p.status == PartnershipStatus::Active && p.record.rules().involves(form.member_id)
        })
        .filter(|_| form.member_id != web.caller.member())
        .ok_or(ServiceError::NotFound)?;
    let partner_name = if partnership.record.proposer.member == form.member_id {
        partnership.proposer_name.clone()
    } else {
        partnership.partner_name.clone()
    };
    let mut pairs = vec![("company", form.member_id.to_string())];
    if let Some(department) = form.department_id {
        pairs.push(("department", department.to_string()));
    }
    Ok(Target {
        query: serde_urlencoded::to_string(&pairs).unwrap_or_default(),
        partner_name,
        allowed: partnership.record.terms.data_categories.clone(),
        form,
    })
}

async fn form_page(
    State(state): State<AppState>,
    web: Web,
    Query(query): Query<FormQuery>,
) -> Response {
    match target(&state, &web, &query).await {
        Ok(target) => render(&web, &target, &Fields::empty(), None, &Problems::default()),
        Err(error) => error_page(Some(&web), error),
    }
}

fn render(
    web: &Web,
    target: &Target,
    fields: &Fields,
    preview: Option<&Preview>,
    problems: &Problems,
) -> Response {
    let definition = &target.form.definition;
    let fresh = fields.pairs().is_empty();
    let value = |name: &str, default: &str| -> String {
        if fresh {
            default.to_owned()
        } else {
            fields.get(name).to_owned()
        }
    };
    let method = value("authMethod", "CUSTOMER_LINK");
    let chosen: Vec<&str> = fields.all("dataCategories");
    let priority = value("priority", "");
    let now_local = Utc::now().format("%Y-%m-%dT%H:%M").to_string();
    let mut custom: Vec<&FormField> = definition.custom_fields.iter().collect();
    custom.sort_by_key(|f| f.display_order);
    let body = html! {
        h1 { "New request to " (target.partner_name) }
        ol.progress aria-label="Steps" {
            li { a href="/cases/new" { "Partner" } }
            li aria-current=[preview.is_none().then_some("step")] { "Request" }
            li aria-current=[preview.is_some().then_some("step")] { "Preview and send" }
        }
        (problems.summary())
        @if !definition.admin_note.is_empty() || !definition.escalation_instructions.is_empty() {
            section.card.instructions aria-labelledby="their-process" {
                h2 #their-process { "How " (target.partner_name) " works" }
                @if !definition.admin_note.is_empty() { p { (definition.admin_note) } }
                @if !definition.escalation_instructions.is_empty() { p { strong { "Escalation: " } (definition.escalation_instructions) } }
                p.sub { "Process form version " (target.form.version) }
            }
        }
        form.request method="post" action=(format!("/cases/new/form?{}", target.query)) novalidate {
            (csrf_input(web))
            input type="hidden" name="documentId" value=(target.form.document_id.to_string());
            fieldset {
                legend { "The problem" }
                (Input::new("problemSummary", "Summary", &value("problemSummary", "")).required().max(200)
                    .hint("One line the partner's engineer will see in their inbox.").render(problems, "problemSummary"))
                (Input::new("problemDescription", "Description", &value("problemDescription", "")).kind("textarea").required().max(32000)
                    .hint("What happens, since when, what you tried. Personal data and secrets are found and minimized before the partner sees them.")
                    .render(problems, "problemDescription"))
                fieldset.priorities {
                    legend { "Priority" span.req aria-hidden="true" { " *" } }
                    @if let Some(error) = problems.for_field("priority") { p.error #f-priority { (error) } }
                    @for target in &definition.priorities {
                        @let code = priority_code(target.priority);
                        @let id = format!("priority-{code}");
                        div.choice {
                            input id=(id) type="radio" name="priority" value=(code) required
                                checked[priority == code || (priority.is_empty() && target.priority == Priority::Medium)];
                            label for=(id) {
                                strong { (human(code)) } " — first response within " (target.response_hours) " h"
                                @if !target.note.is_empty() { span.sub { (target.note) } }
                            }
                        }
                    }
                }
                @for (i, field) in custom.iter().enumerate().filter(|(_, f)| f.section != Section::ContactSection) {
                    (custom_input(i, field, fields, problems))
                }
            }
            fieldset {
                legend { "Your side" }
                div.pair {
                    (Input::new("internalCaseNumber", "Your case number", &value("internalCaseNumber", "")).required().max(64).render(problems, "internalCaseNumber"))
                    div.field.check {
                        input #test type="checkbox" name="testSubmission" value="true" checked[fields.checked("testSubmission")];
                        label for="test" { "This is a test request" }
                    }
                }
                div.pair {
                    (Input::new("contactName", "Your name", &value("contactName", &web.name)).required().max(200).render(problems, "submitterContactDetails.name"))
                    (Input::new("contactEmail", "Your email", &value("contactEmail", &web.email)).kind("email").required().max(320).render(problems, "submitterContactDetails.email"))
                }
                (Input::new("contactPhone", "Your phone", &value("contactPhone", "")).kind("tel").max(40).render(problems, "submitterContactDetails.phone"))
                @for (i, field) in custom.iter().enumerate().filter(|(_, f)| f.section == Section::ContactSection) {
                    (custom_input(i, field, fields, problems))
                }
            }
            fieldset {
                legend { "The customer's authorization" }
                p.hint { "Nothing is shared without it. Choose how the customer agreed, or let Casebridge ask them." }
                @for (code, label) in [
                    ("CUSTOMER_LINK", "Send the customer a link to authorize (the request waits for them)"),
                    ("EMAIL", "The customer agreed in writing by email"),
                    ("VERBAL", "The customer agreed on a recorded call"),
                    ("CONTRACT", "The customer's contract covers this"),
                ] {
                    div.choice {
                        input id=(format!("auth-{code}")) type="radio" name="authMethod" value=(code) checked[method == code];
                        label for=(format!("auth-{code}")) { (label) }
                    }
                }
                div.pair {
                    (Input::new("customerName", "Customer's name", &value("customerName", "")).required().max(200).render(problems, "customerAuthorization.authorizedBy.name"))
                    (Input::new("customerEmail", "Customer's email", &value("customerEmail", "")).kind("email").required().max(320).render(problems, "customerAuthorization.authorizedBy.email"))
                }
                (Input::new("purpose", "Purpose the customer agreed to", &value("purpose", "Resolve this support request together with the partner")).required().max(500).render(problems, "customerAuthorization.purpose"))
                div.pair {
                    (Input::new("authorizedAt", "When they agreed (UTC)", &value("authorizedAt", &now_local)).kind("datetime-local")
                        .hint("Not needed for a link: the customer decides.").render(problems, "customerAuthorization.authorizedAt"))
                    (Input::new("expiresOn", "Authorization ends on (optional)", &value("expiresOn", "")).kind("date").render(problems, "customerAuthorization.expiresAt"))
                }
                (Input::new("evidence", "Evidence (optional)", &value("evidence", "")).max(500)
                    .hint("Where the agreement is kept: a ticket, a call recording id.").render(problems, "customerAuthorization.evidence"))
                fieldset.categories {
                    legend { "Data the customer allows to be shared" }
                    p.hint { "Only what your partnership with " (target.partner_name) " allows. Everything else is pseudonymized." }
                    @if let Some(error) = problems.for_field("customerAuthorization.dataCategories") {
                        p.error #f-customerAuthorization-dataCategories { (error) }
                    }
                    @for category in &target.allowed {
                        @let id = format!("cat-{}", category.as_str());
                        div.choice {
                            input id=(id) type="checkbox" name="dataCategories" value=(category.as_str())
                                checked[chosen.contains(&category.as_str())];
                            label for=(id) { (human(category.as_str())) }
                        }
                    }
                }
            }
            @if let Some(preview) = preview { (preview_panel(preview)) }
            div.buttons {
                button type="submit" name="intent" value="preview" { "Preview what " (target.partner_name) " will see" }
                button.primary type="submit" name="intent" value="send" { "Send request" }
            }
        }
    };
    let status = problems.status();
    page_with_status(web, status, Nav::NewRequest, "New request", body)
}

fn priority_code(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "LOW",
        Priority::Medium => "MEDIUM",
        Priority::High => "HIGH",
    }
}

/// One of the partner's own fields, as its type asks.
fn custom_input(index: usize, field: &FormField, fields: &Fields, problems: &Problems) -> Markup {
    let name = format!("cf.{}", field.field_id);
    let by_index = format!("customFields[{index}].value");
    let by_id = format!("customFields[{}]", field.field_id);
    let key = if problems.for_field(&by_index).is_some() {
        by_index
    } else {
        by_id
    };
    let value = fields.get(&name);
    let input = Input::new(&name, &field.label, value);
    let input = if field.required {
        input.required()
    } else {
        input
    };
    match field.field_type {
        FieldType::String => input.max(1000).render(problems, &key),
        FieldType::Integer => input.kind("number").render(problems, &key),
        FieldType::Email => input.kind("email").max(320).render(problems, &key),
        FieldType::Phone => input.kind("tel").max(40).render(problems, &key),
        FieldType::Text => input.kind("textarea").max(32000).render(problems, &key),
        FieldType::Boolean => {
            let id = format!("f-{}", field_anchor(&key));
            html! {
                div.field.check {
                    input id=(id) type="checkbox" name=(name) value="true" checked[value == "true"];
                    label for=(id) { (field.label) }
                    @if let Some(error) = problems.for_field(&key) { p.error { (error) } }
                }
            }
        }
        FieldType::Select => {
            let id = format!("f-{}", field_anchor(&key));
            let error = problems.for_field(&key);
            html! {
                div.field.invalid[error.is_some()] {
                    label for=(id) { (field.label) @if field.required { span.req aria-hidden="true" { " *" } } }
                    @if let Some(error) = error { p.error { (error) } }
                    select id=(id) name=(name) required[field.required] {
                        option value="" { "Choose…" }
                        @for option in &field.options {
                            option value=(option) selected[value == option] { (option) }
                        }
                    }
                }
            }
        }
    }
}

/// The request as typed, for the use case; unreadable dates are reported beside their
/// fields, as the use case reports everything else.
fn input_from(target: &Target, fields: &Fields) -> Result<NewCaseInput, Problems> {
    let mut problems = Problems::default();
    let document_id = fields
        .get("documentId")
        .parse::<DocumentId>()
        .unwrap_or(target.form.document_id);
    let priority = match fields.get("priority") {
        "LOW" => Priority::Low,
        "HIGH" => Priority::High,
        _ => Priority::Medium,
    };
    let method = match fields.get("authMethod") {
        "EMAIL" => AuthorizationMethod::Email,
        "VERBAL" => AuthorizationMethod::Verbal,
        "CONTRACT" => AuthorizationMethod::Contract,
        _ => AuthorizationMethod::CustomerLink,
    };
    let authorized_at = match (method, fields.opt("authorizedAt")) {
        (AuthorizationMethod::CustomerLink, _) | (_, None) => None,
        (_, Some(raw)) => match NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M") {
            Ok(at) => Some(at.and_utc()),
            Err(_) => {
                problems.add(
                    "customerAuthorization.authorizedAt",
                    "give a date and time like 2026-11-29T09:30",
                );
                None
            }
        },
    };
    let expires_at: Option<DateTime<Utc>> = match fields.opt("expiresOn") {
        None => None,
        Some(raw) => match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
            Ok(day) => day.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
            Err(_) => {
                problems.add(
                    "customerAuthorization.expiresAt",
                    "give a date like 2027-01-31",
                );
                None
            }
        },
    };
    let mut categories = Vec::new();
    for raw in fields.all("dataCategories") {
        match raw.parse::<DataCategory>() {
            Ok(category) => categories.push(category),
            Err(_) => problems.add(
                "customerAuthorization.dataCategories",
                "unknown data category",
            ),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut custom: Vec<&FormField> = target.form.definition.custom_fields.iter().collect();
    custom.sort_by_key(|f| f.display_order);
    Ok(NewCaseInput {
        document_id,
        internal_case_number: fields.get("internalCaseNumber").to_owned(),
        problem_summary: fields.get("problemSummary").to_owned(),
        problem_description: fields.get("problemDescription").to_owned(),
        priority,
        custom_fields: custom
            .iter()
            .map(|f| {
                let value = fields.get(&format!("cf.{}", f.field_id));
                let value = if f.field_type == FieldType::Boolean && value.is_empty() {
                    "false"
                } else {
                    value
                };
                (f.field_id.to_string(), value.to_owned())
            })
            .collect(),
        submitter_contact: ContactInput {
            name: fields.get("contactName").to_owned(),
            email: fields.get("contactEmail").to_owned(),
            phone: fields.opt("contactPhone"),
        },
        receiver_internal_case_number: None,
        test_submission: fields.checked("testSubmission"),
        customer_authorization: Some(AuthorizationDraft {
            method,
            authorized_by_name: fields.get("customerName").to_owned(),
            authorized_by_email: fields.get("customerEmail").to_owned(),
            authorized_at,
            purpose: fields.get("purpose").to_owned(),
            data_categories: categories,
            expires_at,
            evidence: fields.opt("evidence"),
        }),
    })
}

async fn submit(
    State(state): State<AppState>,
    Query(query): Query<FormQuery>,
    posted: Posted,
) -> Response {
    let Posted { web, fields } = posted;
    let target = match target(&state, &web, &query).await {
        Ok(target) => target,
        Err(error) => return error_page(Some(&web), error),
    };
    let input = match input_from(&target, &fields) {
        Ok(input) => input,
        Err(problems) => return render(&web, &target, &fields, None, &problems),
    };
    let services = &state.services;
    let problems = |error: ServiceError| Problems::from_error(error);
    if fields.get("intent") == "preview" {
        return match services.preview_case(&web.caller, input).await {
            Ok(preview) => render(&web, &target, &fields, Some(&preview), &Problems::default()),
            Err(error) => match problems(error) {
                Ok(problems) => render(&web, &target, &fields, None, &problems),
                Err(error) => error_page(Some(&web), error),
            },
        };
    }
    match services.create_case(&web.caller, input).await {
        Ok(view) => {
            let url = format!("/cases/{}", view.record.token.as_str());
            match view.authorization_url {
                Some(link) => link_page(&web, &target.partner_name, &url, &link),
                None => done(
                    &web,
                    &url,
                    &format!("Request sent to {}.", target.partner_name),
                ),
            }
        }
        Err(error) => match problems(error) {
            Ok(problems) => render(&web, &target, &fields, None, &problems),
            Err(error) => error_page(Some(&web), error),
        },
    }
}

/// Shown once: the customer's link exists only in this page (only its hash is kept).
fn link_page(web: &Web, partner: &str, case_url: &str, link: &str) -> Response {
    let body = html! {
        h1 { "Request saved — now ask your customer" }
        p { "The request to " (partner) " waits, unseen by them, until your customer authorizes it. Send your customer this link; it works for 7 days and is shown only now." }
        div.card {
            label for="customer-link" { "Customer's link" }
            input #customer-link type="text" readonly value=(link);
        }
        p { a.button.primary href=(case_url) { "Go to the request" } }
    };
    page(web, Nav::NewRequest, "Send the customer the link", body)
}
