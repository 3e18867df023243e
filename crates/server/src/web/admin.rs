//! Administration for admins, managers and auditors: users, departments, the process
//! form, partnerships, the framework agreement, API clients and the audit trail. Each
//! section shows only to roles that may use it; the use cases check again.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebridge_domain::form::{FieldDraft, FieldType, FormDraft, Priority, Section};
use casebridge_domain::partnership::{Answer, PartnershipStatus, PartnershipType};
use casebridge_domain::{
    Action, AgreementId, ApiClientId, DataCategory, DepartmentId, MemberId, PartnershipId, Role,
    UserId,
};
use casebridge_service::store::ProcessForm;
use casebridge_service::{
    AuditQuery, DepartmentInput, FormScope, NewApiClientInput, NewUserInput, PartnershipView,
    ServiceError,
};
use chrono::NaiveDate;
use maud::{html, Markup};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{
    after, csrf_input, done, error_page, human, page_with_status, when, Fields, Input, Nav, Posted,
    Problems, Web,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/users", get(users).post(invite))
        .route("/admin/users/{id}/role", post(change_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route(
            "/admin/departments",
            get(departments).post(create_department),
        )
        .route("/admin/departments/{id}", post(update_department))
        .route("/admin/form", get(form_editor).post(publish_form))
        .route("/admin/partnerships", get(partnerships).post(propose))
        .route("/admin/partnerships/{id}/answer", post(answer))
        .route("/admin/partnerships/{id}/end", post(end))
        .route("/admin/agreement", get(agreement).post(accept_agreement))
        .route(
            "/admin/api-clients",
            get(api_clients).post(create_api_client),
        )
        .route("/admin/api-clients/{id}/revoke", post(revoke_api_client))
        .route("/admin/audit", get(audit))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Area {
    Users,
    Departments,
    Form,
    Partnerships,
    Agreement,
    ApiClients,
    Webhooks,
    Sla,
    Audit,
}

const SECTIONS: [(Area, &str, &str, Action, &str); 9] = [
    (
        Area::Users,
        "/admin/users",
        "Users",
        Action::ManageUsers,
        "Invite people, set their role, disable accounts.",
    ),
    (
        Area::Departments,
        "/admin/departments",
        "Departments",
        Action::ManageDepartments,
        "The teams partners can address requests to.",
    ),
    (
        Area::Form,
        "/admin/form",
        "Process form",
        Action::PublishForms,
        "What partners must tell you when they open a request.",
    ),
    (
        Area::Partnerships,
        "/admin/partnerships",
        "Partnerships",
        Action::ManagePartnerships,
        "Who you work with and which data may cross.",
    ),
    (
        Area::Agreement,
        "/admin/agreement",
        "Framework agreement",
        Action::AcceptAgreement,
        "The legal agreement every exchange rests on.",
    ),
    (
        Area::ApiClients,
        "/admin/api-clients",
        "API clients",
        Action::ManageApiClients,
        "Credentials for your CRM integrations.",
    ),
    (
        Area::Webhooks,
        "/admin/webhooks",
        "Webhooks and email",
        Action::ManageApiClients,
        "Events pushed to your CRM, the emails sent, and every delivery.",
    ),
    (
        Area::Sla,
        "/admin/sla",
        "SLA report",
        Action::ReadReports,
        "How fast your company answered the requests it received.",
    ),
    (
        Area::Audit,
        "/admin/audit",
        "Audit trail",
        Action::ReadAuditTrail,
        "Everything your company did, in order.",
    ),
];

fn allowed(web: &Web) -> Vec<&'static (Area, &'static str, &'static str, Action, &'static str)> {
    SECTIONS.iter().filter(|s| web.may(s.3)).collect()
}

/// "Not allowed" for a role that may not use the section.
pub(super) fn refuse(web: &Web, section: Area) -> Option<Response> {
    let action = SECTIONS
        .iter()
        .find(|s| s.0 == section)
        .map_or(Action::ManageUsers, |s| s.3);
    (!web.may(action)).then(|| {
        error_page(
            Some(web),
            ServiceError::Forbidden("your role does not give access to this page"),
        )
    })
}

pub(super) fn admin_page(web: &Web, section: Option<Area>, title: &str, body: Markup) -> Response {
    admin_page_with(web, axum::http::StatusCode::OK, section, title, body)
}

pub(super) fn admin_page_with(
    web: &Web,
    status: axum::http::StatusCode,
    section: Option<Area>,
    title: &str,
    body: Markup,
) -> Response {
    let nav = html! {
        nav aria-label="Administration" {
            ul.admin-nav {
                @for (s, href, label, _, _) in allowed(web) {
                    li { a href=(href) aria-current=[(Some(*s) == section).then_some("page")] { (label) } }
                }
            }
        }
    };
    page_with_status(
        web,
        status,
        Nav::Admin,
        title,
        html! { (nav) h1 { (title) } (body) },
    )
}

/// A page that shows credentials once: each `(id, label, value)` in a read-only field
/// (the last one marked as the secret), then a way back.
pub(super) fn shown_once(
    web: &Web,
    area: Area,
    title: &str,
    intro: Markup,
    values: &[(&str, &str, &str)],
    after: Markup,
    back: (&str, &str),
) -> Response {
    let body = html! {
        (intro)
        div.card {
            @for (i, (id, label, value)) in values.iter().enumerate() {
                p { label for=(id) { (label) } }
                input id=(id) type="text" readonly value=(value) class=[(i + 1 == values.len()).then_some("secret")];
            }
        }
        (after)
        p { a.button href=(back.0) { (back.1) } }
    };
    admin_page(web, Some(area), title, body)
}

async fn overview(web: Web) -> Response {
    let sections = allowed(&web);
    if sections.is_empty() {
        return error_page(
            Some(&web),
            ServiceError::Forbidden("administration is for admins, managers and auditors"),
        );
    }
    let body = html! {
        ul.partners {
            @for (_, href, label, _, description) in sections {
                li { div { a href=(href) { strong { (label) } } div.sub { (description) } } }
            }
        }
    };
    admin_page(&web, None, "Administration", body)
}

fn role_select(id: &str, name: &str, current: Option<Role>) -> Markup {
    html! {
        select id=(id) name=(name) {
            @for role in Role::ALL {
                option value=(role.as_str()) selected[Some(role) == current] { (human(role.as_str())) }
            }
        }
    }
}

// ---- users ----

async fn users(State(state): State<AppState>, web: Web) -> Response {
    if let Some(page) = refuse(&web, Area::Users) {
        return page;
    }
    users_page(&state, &web, &Fields::empty(), &Problems::default()).await
}

async fn users_page(state: &AppState, web: &Web, fields: &Fields, problems: &Problems) -> Response {
    let users = match state.services.list_users(&web.caller).await {
        Ok(users) => users,
        Err(error) => return error_page(Some(web), error),
    };
    let me = web.caller.tenant().user();
    let body = html! {
        div.table-wrap {
            table {
                caption.visually-hidden { "Users" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Account" } } }
                tbody {
                    @for user in &users {
                        tr {
                            td { (user.first_name) " " (user.last_name) @if Some(user.id) == me { " (you)" } }
                            td { (user.email) }
                            td {
                                @if Some(user.id) == me || user.disabled_at.is_some() {
                                    (human(user.role.as_str()))
                                } @else {
                                    form.filters method="post" action=(format!("/admin/users/{}/role", user.id)) {
                                        (csrf_input(web))
                                        @let id = format!("role-{}", user.id);
                                        label.visually-hidden for=(id) { "Role of " (user.first_name) " " (user.last_name) }
                                        (role_select(&id, "role", Some(user.role)))
                                        button type="submit" { "Change" }
                                    }
                                }
                            }
                            td {
                                @if let Some(at) = user.disabled_at { "Disabled " (when(at)) }
                                @else if Some(user.id) == me { "Active" }
                                @else {
                                    form method="post" action=(format!("/admin/users/{}/disable", user.id)) {
                                        (csrf_input(web))
                                        button.danger type="submit" data-confirm=(format!("Disable {} {}? They are signed out at once.", user.first_name, user.last_name)) {
                                            "Disable " span.visually-hidden { (user.first_name) " " (user.last_name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Invite a person" }
        form.card method="post" action="/admin/users" {
            (csrf_input(web))
            (problems.summary())
            div.pair {
                (Input::new("firstName", "First name", fields.get("firstName")).required().max(100).render(problems, "firstName"))
                (Input::new("lastName", "Last name", fields.get("lastName")).required().max(100).render(problems, "lastName"))
            }
            (Input::new("email", "Work email", fields.get("email")).kind("email").required().max(320)
                .hint("An address at one of your company's domains.").render(problems, "email"))
            div.field {
                label for="new-role" { "Role" }
                (role_select("new-role", "role", Role::parse_opt(fields.get("role")).or(Some(Role::Engineer))))
            }
            button.primary type="submit" { "Invite" }
        }
    };
    let status = problems.status();
    admin_page_with(web, status, Some(Area::Users), "Users", body)
}

trait RoleExt {
    fn parse_opt(raw: &str) -> Option<Role>;
}

impl RoleExt for Role {
    fn parse_opt(raw: &str) -> Option<Role> {
        raw.parse().ok()
    }
}

/// A strong first password for an invited person, shown once to the admin.
fn first_password() -> SecretString {
    let mut bytes = [0u8; 15];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

async fn invite(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    if let Some(page) = refuse(&web, Area::Users) {
        return page;
    }
    let Some(role) = Role::parse_opt(fields.get("role")) else {
        let mut problems = Problems::default();
        problems.add("role", "choose a role");
        return users_page(&state, &web, &fields, &problems).await;
    };
    let password = first_password();
    let shown = password.expose_secret().to_owned();
    let input = NewUserInput {
        email: fields.get("email").to_owned(),
        first_name: fields.get("firstName").to_owned(),
        last_name: fields.get("lastName").to_owned(),
        role,
        password,
    };
    match state.services.create_user(&web.caller, input).await {
        Ok(user) => shown_once(
            &web,
            Area::Users,
            "Person invited",
            html! { p { (user.first_name) " " (user.last_name) " can now sign in as " strong { (user.email) } " with this first password. It is shown only now: pass it on through a channel you trust." } },
            &[("first-password", "First password", &shown)],
            html! {},
            ("/admin/users", "Back to users"),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => users_page(&state, &web, &fields, &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

pub(super) fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound)
}

async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { web, fields } = posted;
    let outcome = async {
        let id: UserId = parse_id(&id)?;
        let role = Role::parse_opt(fields.get("role"))
            .ok_or_else(|| ServiceError::Conflict("choose a role".into()))?;
        state.services.change_user_role(&web.caller, id, role).await
    }
    .await;
    after(&web, "/admin/users", outcome, |user| {
        format!(
            "{} {} is now {}.",
            user.first_name,
            user.last_name,
            human(user.role.as_str())
        )
    })
}

async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let web = posted.web;
    let outcome = async {
        let id: UserId = parse_id(&id)?;
        state.services.disable_user(&web.caller, id).await
    }
    .await;
    after(&web, "/admin/users", outcome, |user| {
        format!(
            "{} {} is disabled and signed out.",
            user.first_name, user.last_name
        )
    })
}

// ---- departments ----

async fn departments(State(state): State<AppState>, web: Web) -> Response {
    if let Some(page) = refuse(&web, Area::Departments) {
        return page;
    }
    departments_page(&state, &web, None, &Fields::empty(), &Problems::default()).await
}

fn tags(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn departments_page(
    state: &AppState,
    web: &Web,
    editing: Option<DepartmentId>,
    fields: &Fields,
    problems: &Problems,
) -> Response {
    let list = match state.services.list_departments(&web.caller).await {
        Ok(list) => list,
        Err(error) => return error_page(Some(web), error),
    };
    let none = Problems::default();
    let body = html! {
        @if list.is_empty() { p.empty { "No departments yet: partners address requests to the whole company." } }
        @for department in &list {
            @let open = editing == Some(department.id);
            @let problems = if open { problems } else { &none };
            @let value = |name: &str, current: String| if open { fields.get(name).to_owned() } else { current };
            section.card {
                h2 { (department.name) }
                @if !department.description.is_empty() { p { (department.description) } }
                @if !department.tags.is_empty() { p.sub { "Tags: " (department.tags.join(", ")) } }
                p.sub {
                    "New requests are emailed to "
                    @if department.notification_emails.is_empty() { "the company's admins and managers" }
                    @else { (department.notification_emails.join(", ")) }
                    "."
                }
                details open[open] {
                    summary { "Edit " span.visually-hidden { (department.name) } }
                    form method="post" action=(format!("/admin/departments/{}", department.id)) {
                        (csrf_input(web))
                        (problems.summary())
                        @let prefix = format!("d{}", department.id);
                        (Input::new("name", "Name", &value("name", department.name.clone())).required().max(200).render(problems, &format!("{prefix}-name")))
                        (Input::new("description", "Description", &value("description", department.description.clone())).kind("textarea").max(2000).render(problems, &format!("{prefix}-description")))
                        (Input::new("tags", "Tags (comma separated)", &value("tags", department.tags.join(", "))).max(2000).render(problems, &format!("{prefix}-tags")))
                        (Input::new("notificationEmails", "Notification emails (comma separated)", &value("notificationEmails", department.notification_emails.join(", "))).max(8000).hint(CONTACTS_HINT).render(problems, &format!("{prefix}-notificationEmails")))
                        button type="submit" { "Save" }
                    }
                }
            }
        }
        h2 { "New department" }
        @let problems = if editing.is_none() { problems } else { &none };
        @let value = |name: &str| if editing.is_none() { fields.get(name).to_owned() } else { String::new() };
        form.card method="post" action="/admin/departments" {
            (csrf_input(web))
            (problems.summary())
            (Input::new("name", "Name", &value("name")).required().max(200).render(problems, "name"))
            (Input::new("description", "Description", &value("description")).kind("textarea").max(2000).render(problems, "description"))
            (Input::new("tags", "Tags (comma separated)", &value("tags")).max(2000).hint("Products or topics partners search for.").render(problems, "tags"))
            (Input::new("notificationEmails", "Notification emails (comma separated)", &value("notificationEmails")).max(8000).hint(CONTACTS_HINT).render(problems, "notificationEmails"))
            button.primary type="submit" { "Create department" }
        }
    };
    let status = problems.status();
    admin_page_with(web, status, Some(Area::Departments), "Departments", body)
}

fn department_input(fields: &Fields) -> DepartmentInput {
    DepartmentInput {
        name: fields.get("name").to_owned(),
        description: fields.get("description").to_owned(),
        tags: tags(fields.get("tags")),
        notification_emails: tags(fields.get("notificationEmails")),
    }
}

const CONTACTS_HINT: &str =
    "Who hears of a new request to this department. Leave empty for your admins and managers.";

async fn create_department(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    match state
        .services
        .create_department(&web.caller, department_input(&fields))
        .await
    {
        Ok(department) => done(
            &web,
            "/admin/departments",
            &format!("Department {} created.", department.name),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => departments_page(&state, &web, None, &fields, &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

async fn update_department(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { web, fields } = posted;
    let id: DepartmentId = match parse_id(&id) {
        Ok(id) => id,
        Err(error) => return error_page(Some(&web), error),
    };
    match state
        .services
        .update_department(&web.caller, id, department_input(&fields))
        .await
    {
        Ok(department) => done(
            &web,
            "/admin/departments",
            &format!("Department {} saved.", department.name),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => {
                let problems = problems.prefixed(&format!("d{id}-"));
                departments_page(&state, &web, Some(id), &fields, &problems).await
            }
            Err(error) => error_page(Some(&web), error),
        },
    }
}

// ---- the process form ----

#[derive(Deserialize, Default)]
struct FormScopeQuery {
    department: Option<String>,
}

/// How many empty rows the editor offers for new fields.
const NEW_FIELD_ROWS: usize = 3;

async fn form_editor(
    State(state): State<AppState>,
    web: Web,
    query: Result<Query<FormScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(page) = refuse(&web, Area::Form) {
        return page;
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    form_page(
        &state,
        &web,
        query.department.as_deref(),
        None,
        &Problems::default(),
    )
    .await
}

fn section_code(section: Section) -> &'static str {
    match section {
        Section::ContactSection => "CONTACT_SECTION",
        Section::CommonCustomerSection => "COMMON_CUSTOMER_SECTION",
        Section::ProblemSection => "PROBLEM_SECTION",
    }
}

const SECTIONS_OF_FORM: [(Section, &str); 3] = [
    (Section::ProblemSection, "Problem"),
    (Section::CommonCustomerSection, "Customer"),
    (Section::ContactSection, "Contact"),
];

fn type_code(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::String => "STRING",
        FieldType::Integer => "INTEGER",
        FieldType::Email => "EMAIL",
        FieldType::Phone => "PHONE",
        FieldType::Select => "SELECT",
        FieldType::Boolean => "BOOLEAN",
        FieldType::Text => "TEXT",
    }
}

const TYPES: [FieldType; 7] = [
    FieldType::String,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Email,
    FieldType::Phone,
    FieldType::Select,
    FieldType::Boolean,
];

const PRIORITIES: [(Priority, &str); 3] = [
    (Priority::High, "HIGH"),
    (Priority::Medium, "MEDIUM"),
    (Priority::Low, "LOW"),
];

async fn form_page(
    state: &AppState,
    web: &Web,
    department: Option<&str>,
    typed: Option<&Fields>,
    problems: &Problems,
) -> Response {
    let services = &state.services;
    let department: Option<DepartmentId> = match department
        .filter(|d| !d.is_empty())
        .map(parse_id)
        .transpose()
    {
        Ok(d) => d,
        Err(error) => return error_page(Some(web), error),
    };
    let (departments, versions) = match tokio::try_join!(
        services.list_departments(&web.caller),
        services.form_versions(&web.caller, department)
    ) {
        Ok(found) => found,
        Err(error) => return error_page(Some(web), error),
    };
    let current = versions.first();
    // Values: what was typed (after an error), else the current version.
    let fields_of = |form: &ProcessForm| -> Fields { form_fields(form) };
    let typed_owned;
    let values: &Fields = match typed {
        Some(fields) => fields,
        None => {
            typed_owned = current.map(fields_of).unwrap_or_else(Fields::empty);
            &typed_owned
        }
    };
    let rows = values.all("label").len() + NEW_FIELD_ROWS;
    let action = match department {
        Some(id) => format!("/admin/form?department={id}"),
        None => "/admin/form".to_owned(),
    };
    let body = html! {
        form.filters method="get" action="/admin/form" {
            div.field {
                label for="scope" { "Form of" }
                select #scope name="department" {
                    option value="" selected[department.is_none()] { "The whole company" }
                    @for d in &departments {
                        option value=(d.id.to_string()) selected[department == Some(d.id)] { (d.name) }
                    }
                }
            }
            button type="submit" { "Open" }
        }
        @match current {
            Some(form) => p { "Current version " strong { (form.version) } ", published " (when(form.published_at)) ". Publishing makes a new version; requests already open keep the version they were made with." },
            None => p.notice { "Nothing is published yet: partners cannot open requests to this scope until you publish a form." },
        }
        form method="post" action=(action) {
            (csrf_input(web))
            (problems.summary())
            fieldset {
                legend { "Instructions for partners" }
                (Input::new("adminNote", "Note shown on the request form", values.get("adminNote")).kind("textarea").max(4000).render(problems, "adminNote"))
                (Input::new("escalationInstructions", "Escalation instructions", values.get("escalationInstructions")).kind("textarea").max(4000).render(problems, "escalationInstructions"))
                (Input::new("escalationContacts", "Escalation contacts, one per line: Name <email>", values.get("escalationContacts")).kind("textarea").max(4000).render(problems, "escalationContacts"))
            }
            fieldset {
                legend { "Priorities and response targets" }
                @for (_, code) in PRIORITIES {
                    @let on = values.all("priority").contains(&code);
                    div.pair {
                        div.field.check {
                            input id=(format!("p-{code}")) type="checkbox" name="priority" value=(code) checked[on];
                            label for=(format!("p-{code}")) { "Offer " (human(code)) }
                        }
                        div.pair {
                            (Input::new(&format!("hours.{code}"), "Respond within (hours)", values.get(&format!("hours.{code}"))).kind("number").render(problems, &format!("priorities.{code}")))
                            (Input::new(&format!("note.{code}"), "Note", values.get(&format!("note.{code}"))).max(4000).render(problems, &format!("priorityNote.{code}")))
                        }
                    }
                }
            }
            fieldset {
                legend { "Fields" }
                p.hint { "Order sets the position; leave a label empty to drop a field. Options are for Select fields, comma separated." }
                ol.form-fields {
                    @for i in 0..rows {
                        @let get = |name: &str| values.all(name).get(i).copied().unwrap_or("").to_owned();
                        li {
                            div.pair {
                                (Input::new("label", "Label", &get("label")).max(200).render(problems, &format!("customFields[{i}].label")))
                                div.pair {
                                    div.field {
                                        label for=(format!("type-{i}")) { "Type" }
                                        select id=(format!("type-{i}")) name="type" {
                                            @for t in TYPES { option value=(type_code(t)) selected[get("type") == type_code(t)] { (human(type_code(t))) } }
                                        }
                                    }
                                    div.field {
                                        label for=(format!("section-{i}")) { "Section" }
                                        select id=(format!("section-{i}")) name="section" {
                                            @for (s, label) in SECTIONS_OF_FORM { option value=(section_code(s)) selected[get("section") == section_code(s)] { (label) } }
                                        }
                                    }
                                }
                            }
                            div.pair {
                                (Input::new("options", "Options", &get("options")).max(4000).render(problems, &format!("customFields[{i}].options")))
                                div.pair {
                                    (Input::new("order", "Order", &get("order")).kind("number").render(problems, &format!("customFields[{i}].displayOrder")))
                                    div.field {
                                        label for=(format!("required-{i}")) { "Required" }
                                        select id=(format!("required-{i}")) name="required" {
                                            option value="no" selected[get("required") != "yes"] { "Optional" }
                                            option value="yes" selected[get("required") == "yes"] { "Required" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.buttons { button.primary type="submit" { "Publish a new version" } }
        }
        @if versions.len() > 1 {
            h2 { "Earlier versions" }
            @for form in versions.iter().skip(1) {
                details.card {
                    summary { "Version " (form.version) ", published " (when(form.published_at)) }
                    ul {
                        @for field in &form.definition.custom_fields {
                            li { (field.label) " — " (human(type_code(field.field_type))) @if field.required { ", required" } }
                        }
                    }
                    p.sub { @for p in &form.definition.priorities { (human(priority_code(p.priority))) ": " (p.response_hours) " h. " } }
                }
            }
        }
    };
    let status = problems.status();
    admin_page_with(web, status, Some(Area::Form), "Process form", body)
}

fn priority_code(priority: Priority) -> &'static str {
    PRIORITIES
        .iter()
        .find(|(p, _)| *p == priority)
        .map_or("MEDIUM", |(_, c)| c)
}

/// A published form as the editor's fields.
fn form_fields(form: &ProcessForm) -> Fields {
    let d = &form.definition;
    let mut pairs: Vec<(String, String)> = vec![
        ("adminNote".into(), d.admin_note.clone()),
        (
            "escalationInstructions".into(),
            d.escalation_instructions.clone(),
        ),
        (
            "escalationContacts".into(),
            d.escalation_contacts
                .iter()
                .map(|c| format!("{} <{}>", c.name, c.email.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for p in &d.priorities {
        let code = priority_code(p.priority);
        pairs.push(("priority".into(), code.into()));
        pairs.push((format!("hours.{code}"), p.response_hours.to_string()));
        pairs.push((format!("note.{code}"), p.note.clone()));
    }
    for f in &d.custom_fields {
        pairs.push(("label".into(), f.label.clone()));
        pairs.push(("type".into(), type_code(f.field_type).into()));
        pairs.push(("section".into(), section_code(f.section).into()));
        pairs.push(("options".into(), f.options.join(", ")));
        pairs.push(("order".into(), f.display_order.to_string()));
        pairs.push((
            "required".into(),
            if f.required { "yes" } else { "no" }.into(),
        ));
    }
    Fields(pairs)
}

/// The editor's fields as a draft; rows without a label are dropped.
fn form_draft(fields: &Fields, problems: &mut Problems) -> FormDraft {
    let contacts = fields
        .get("escalationContacts")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter_map(|line| match line.rsplit_once('<') {
            Some((name, email)) => Some((
                name.trim().to_owned(),
                email.trim_end_matches('>').trim().to_owned(),
            )),
            None => {
                problems.add("escalationContacts", "write each contact as Name <email>");
                None
            }
        })
        .collect();
    let mut priorities = Vec::new();
    for (priority, code) in PRIORITIES {
        if !fields.all("priority").contains(&code) {
            continue;
        }
        match fields.get(&format!("hours.{code}")).trim().parse::<i64>() {
            Ok(hours) => priorities.push((
                priority,
                hours,
                fields.get(&format!("note.{code}")).trim().to_owned(),
            )),
            Err(_) => problems.add(
                &format!("priorities.{code}"),
                "give the hours as a whole number",
            ),
        }
    }
    let labels = fields.all("label");
    let column = |name: &str, i: usize| fields.all(name).get(i).copied().unwrap_or("");
    let mut custom_fields = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        if label.trim().is_empty() {
            continue;
        }
        let field_type = TYPES
            .into_iter()
            .find(|t| type_code(*t) == column("type", i))
            .unwrap_or(FieldType::String);
        let section = SECTIONS_OF_FORM
            .into_iter()
            .find(|(s, _)| section_code(*s) == column("section", i))
            .map_or(Section::ProblemSection, |(s, _)| s);
        let display_order = match column("order", i).trim() {
            "" => (i as i64 + 1) * 10,
            raw => raw.parse().unwrap_or_else(|_| {
                problems.add(
                    &format!("customFields[{i}].displayOrder"),
                    "give the order as a whole number",
                );
                0
            }),
        };
        custom_fields.push(FieldDraft {
            label: label.trim().to_owned(),
            section,
            field_type,
            required: column("required", i) == "yes",
            options: if field_type == FieldType::Select {
                tags(column("options", i))
            } else {
                Vec::new()
            },
            display_order,
        });
    }
    FormDraft {
        admin_note: fields.get("adminNote").to_owned(),
        escalation_instructions: fields.get("escalationInstructions").to_owned(),
        escalation_contacts: contacts,
        priorities,
        custom_fields,
    }
}

async fn publish_form(
    State(state): State<AppState>,
    query: Result<Query<FormScopeQuery>, axum::extract::rejection::QueryRejection>,
    posted: Posted,
) -> Response {
    let Posted { web, fields } = posted;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let department = query.department.as_deref().filter(|d| !d.is_empty());
    let scope = match department.map(parse_id::<DepartmentId>).transpose() {
        Ok(Some(id)) => FormScope::Department(id),
        Ok(None) => FormScope::Company(web.caller.member()),
        Err(error) => return error_page(Some(&web), error),
    };
    let mut problems = Problems::default();
    let draft = form_draft(&fields, &mut problems);
    if !problems.is_empty() {
        return form_page(&state, &web, department, Some(&fields), &problems).await;
    }
    match state.services.publish_form(&web.caller, scope, draft).await {
        Ok(form) => {
            let to = match department {
                Some(id) => format!("/admin/form?department={id}"),
                None => "/admin/form".to_owned(),
            };
            done(&web, &to, &format!("Version {} published.", form.version))
        }
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => form_page(&state, &web, department, Some(&fields), &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

// ---- partnerships ----

#[derive(Deserialize, Default)]
struct PartnershipQuery {
    #[serde(default)]
    q: String,
}

async fn partnerships(
    State(state): State<AppState>,
    web: Web,
    query: Result<Query<PartnershipQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(page) = refuse(&web, Area::Partnerships) {
        return page;
    }
    let term = query.map(|Query(q)| q.q).unwrap_or_default();
    partnerships_page(&state, &web, term.trim(), None, &Problems::default()).await
}

async fn partnerships_page(
    state: &AppState,
    web: &Web,
    term: &str,
    typed: Option<&Fields>,
    problems: &Problems,
) -> Response {
    let services = &state.services;
    let list = match services.list_partnerships(&web.caller).await {
        Ok(list) => list,
        Err(error) => return error_page(Some(web), error),
    };
    let matches = if term.chars().count() >= 2 {
        match services.search_partners(&web.caller, term).await {
            Ok(found) => found,
            Err(error) => return error_page(Some(web), error),
        }
    } else {
        Vec::new()
    };
    let me = web.caller.member();
    let body = html! {
        @if list.is_empty() { p.empty { "No partnerships yet." } }
        @for p in &list { (partnership_card(web, p, me)) }
        h2 #propose { "Propose a partnership" }
        (problems.summary())
        form.search method="get" action="/admin/partnerships#propose" role="search" data-live-search="proposal-results" {
            div.field {
                label for="pq" { "Company or department" }
                input #pq name="q" type="search" value=(term) minlength="2" maxlength="100" autocomplete="off";
            }
            button type="submit" { "Search" }
        }
        div #proposal-results aria-live="polite" {
            @for m in matches.iter().filter(|m| m.company_id != me) {
                details.card open[typed.is_some_and(|f| f.get("partnerCompanyId") == m.company_id.to_string())] {
                    summary { (m.company_name) @if let Some((_, d)) = &m.department { " · " (d) } " — " (human(m.relationship.as_str())) }
                    (proposal_form(web, m.company_id, m.department.as_ref().map(|(id, _)| *id), term, typed, problems))
                }
            }
        }
    };
    let status = problems.status();
    admin_page_with(web, status, Some(Area::Partnerships), "Partnerships", body)
}

fn partnership_card(web: &Web, p: &PartnershipView, me: MemberId) -> Markup {
    let record = &p.record;
    let other = if record.proposer.member == me {
        &p.partner_name
    } else {
        &p.proposer_name
    };
    let to_us = record.partner.member == me;
    html! {
        section.card {
            h2 { (other) " " span.badge.open { (human(p.status.as_str())) } }
            dl {
                dt { "Kind" } dd { (human(record.kind.as_str())) }
                dt { "Data that may cross" } dd { (record.terms.data_categories.iter().map(|c| human(c.as_str())).collect::<Vec<_>>().join(", ")) }
                dt { "Retention" } dd { (record.terms.retention_days) " days" }
                dt { "Onward sharing" } dd { (if record.terms.onward_sharing_allowed { "Allowed" } else { "Not allowed" }) }
                dt { "Proposed" } dd { (when(record.proposed_at)) " by " (p.proposer_name) }
                @if let Some(at) = record.terms.expires_at { dt { "Ends" } dd { (when(at)) } }
            }
            div.buttons {
                @if p.status == PartnershipStatus::Proposed && to_us {
                    form method="post" action=(format!("/admin/partnerships/{}/answer", record.id)) {
                        (csrf_input(web))
                        input type="hidden" name="answer" value="accept";
                        button.primary type="submit" { "Accept " span.visually-hidden { (other) } }
                    }
                    form method="post" action=(format!("/admin/partnerships/{}/answer", record.id)) {
                        (csrf_input(web))
                        input type="hidden" name="answer" value="decline";
                        button type="submit" { "Decline " span.visually-hidden { (other) } }
                    }
                }
                @if p.status == PartnershipStatus::Active {
                    form method="post" action=(format!("/admin/partnerships/{}/end", record.id)) {
                        (csrf_input(web))
                        button.danger type="submit" data-confirm=(format!("End the partnership with {other}? No new requests can be opened.")) { "End " span.visually-hidden { "the partnership with " (other) } }
                    }
                }
            }
        }
    }
}

fn proposal_form(
    web: &Web,
    company: MemberId,
    department: Option<DepartmentId>,
    term: &str,
    typed: Option<&Fields>,
    problems: &Problems,
) -> Markup {
    let this = typed.filter(|f| f.get("partnerCompanyId") == company.to_string());
    let none = Problems::default();
    let problems = if this.is_some() { problems } else { &none };
    let empty = Fields::empty();
    let values = this.unwrap_or(&empty);
    let key = format!(
        "{company}{}",
        department.map(|d| d.to_string()).unwrap_or_default()
    );
    let chosen = values.all("dataCategories");
    html! {
        form method="post" action="/admin/partnerships" {
            (csrf_input(web))
            input type="hidden" name="partnerCompanyId" value=(company.to_string());
            @if let Some(d) = department { input type="hidden" name="partnerDepartmentId" value=(d.to_string()); }
            input type="hidden" name="q" value=(term);
            div.field {
                label for=(format!("kind-{key}")) { "Kind" }
                select id=(format!("kind-{key}")) name="kind" {
                    option value="COLLABORATIVE" { "Collaborative (both may open requests)" }
                    option value="SOLUTION_SUPPORT" selected[values.get("kind") == "SOLUTION_SUPPORT"] { "Solution support (we support their customers)" }
                }
            }
            fieldset {
                legend { "Data that may cross" }
                @if let Some(e) = problems.for_field("terms.dataCategories").or(problems.for_field("dataCategories")) { p.error { (e) } }
                @for c in DataCategory::ALL {
                    @let id = format!("cat-{key}-{}", c.as_str());
                    div.choice {
                        input id=(id) type="checkbox" name="dataCategories" value=(c.as_str()) checked[chosen.contains(&c.as_str())];
                        label for=(id) { (human(c.as_str())) }
                    }
                }
            }
            div.pair {
                (Input::new("retentionDays", "Retention (days)", if this.is_some() { values.get("retentionDays") } else { "90" }).kind("number").required().render(problems, "retentionDays"))
                (Input::new("expiresOn", "Ends on (optional)", values.get("expiresOn")).kind("date").render(problems, "expiresAt"))
            }
            div.field.check {
                input id=(format!("onward-{key}")) type="checkbox" name="onwardSharing" value="true" checked[values.checked("onwardSharing")];
                label for=(format!("onward-{key}")) { "Onward sharing allowed" }
            }
            button.primary type="submit" { "Propose" }
        }
    }
}

async fn propose(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let term = fields.get("q").to_owned();
    let mut problems = Problems::default();
    let company: Result<MemberId, _> = parse_id(fields.get("partnerCompanyId"));
    let department: Result<Option<DepartmentId>, _> = fields
        .opt("partnerDepartmentId")
        .map(|d| parse_id(&d))
        .transpose();
    let (Ok(company), Ok(department)) = (company, department) else {
        return error_page(Some(&web), ServiceError::NotFound);
    };
    let categories: Vec<DataCategory> = fields
        .all("dataCategories")
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let retention_days = fields
        .get("retentionDays")
        .trim()
        .parse::<i64>()
        .unwrap_or_else(|_| {
            problems.add("retentionDays", "give the days as a whole number");
            0
        });
    let expires_at = match fields.opt("expiresOn") {
        None => None,
        Some(raw) => match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
            Ok(day) => day.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
            Err(_) => {
                problems.add("expiresAt", "give a date like 2027-12-31");
                None
            }
        },
    };
    if !problems.is_empty() {
        return partnerships_page(&state, &web, &term, Some(&fields), &problems).await;
    }
    let input = casebridge_service::ProposalInput {
        department_id: None,
        partner_company_id: company,
        partner_department_id: department,
        kind: PartnershipType::parse(fields.get("kind")).unwrap_or(PartnershipType::Collaborative),
        data_categories: categories,
        retention_days,
        onward_sharing_allowed: fields.checked("onwardSharing"),
        expires_at,
    };
    match state.services.propose_partnership(&web.caller, input).await {
        Ok(p) => done(
            &web,
            "/admin/partnerships",
            &format!("Partnership proposed to {}.", p.partner_name),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => partnerships_page(&state, &web, &term, Some(&fields), &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

async fn answer(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let outcome = async {
        let id: PartnershipId = parse_id(&id)?;
        let answer = if fields.get("answer") == "accept" {
            Answer::Accept
        } else {
            Answer::Decline
        };
        state
            .services
            .answer_partnership(&web.caller, id, answer)
            .await
    }
    .await;
    after(&web, "/admin/partnerships", outcome, |p| {
        format!(
            "Partnership with {} is now {}.",
            p.proposer_name,
            human(p.status.as_str())
        )
    })
}

async fn end(State(state): State<AppState>, Path(id): Path<String>, posted: Posted) -> Response {
    let web = posted.web;
    let outcome = async {
        let id: PartnershipId = parse_id(&id)?;
        state.services.end_partnership(&web.caller, id).await
    }
    .await;
    after(&web, "/admin/partnerships", outcome, |_| {
        "Partnership ended.".to_owned()
    })
}

// ---- the framework agreement ----

async fn agreement(State(state): State<AppState>, web: Web) -> Response {
    if !(web.may(Action::AcceptAgreement) || web.may(Action::ManagePartnerships)) {
        return refuse(&web, Area::Agreement)
            .unwrap_or_else(|| error_page(Some(&web), ServiceError::NotFound));
    }
    let (agreement, accepted) = match state.services.current_agreement(&web.caller).await {
        Ok(found) => found,
        Err(error) => return error_page(Some(&web), error),
    };
    let body = html! {
        p.lede { (agreement.title) ", version " (agreement.version) ", published " (when(agreement.published_at)) }
        @if accepted {
            p.flash { "Your company has accepted this version." }
        } @else {
            p.notice { "Your company has not accepted this version: requests cannot be exchanged until it does." }
        }
        div.card.text { (agreement.text) }
        p.sub { "SHA-256 of the text: " code { (agreement.sha256) } }
        @if !accepted && web.may(Action::AcceptAgreement) {
            form method="post" action="/admin/agreement" {
                (csrf_input(&web))
                input type="hidden" name="agreementId" value=(agreement.id.to_string());
                button.primary type="submit" { "Accept on behalf of " (web.member_name) }
            }
        }
    };
    admin_page(&web, Some(Area::Agreement), "Framework agreement", body)
}

async fn accept_agreement(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let outcome = async {
        let id: AgreementId = parse_id(fields.get("agreementId"))?;
        state.services.accept_agreement(&web.caller, id).await
    }
    .await;
    after(&web, "/admin/agreement", outcome, |_| {
        "Agreement accepted.".to_owned()
    })
}

// ---- API clients ----

async fn api_clients(State(state): State<AppState>, web: Web) -> Response {
    if let Some(page) = refuse(&web, Area::ApiClients) {
        return page;
    }
    api_clients_page(&state, &web, &Fields::empty(), &Problems::default()).await
}

async fn api_clients_page(
    state: &AppState,
    web: &Web,
    fields: &Fields,
    problems: &Problems,
) -> Response {
    let clients = match state.services.list_api_clients(&web.caller).await {
        Ok(clients) => clients,
        Err(error) => return error_page(Some(web), error),
    };
    let body = html! {
        @if clients.is_empty() { p.empty { "No API clients yet." } }
        @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "API clients" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Client id" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" } } }
                    tbody {
                        @for c in &clients {
                            tr {
                                td { (c.name) }
                                td { code { (c.client_id) } }
                                td { (human(c.role.as_str())) }
                                td { (when(c.created_at)) }
                                td {
                                    @if let Some(at) = c.revoked_at { "Revoked " (when(at)) }
                                    @else {
                                        form method="post" action=(format!("/admin/api-clients/{}/revoke", c.id)) {
                                            (csrf_input(web))
                                            button.danger type="submit" data-confirm=(format!("Revoke {}? Its tokens stop working at once.", c.name)) { "Revoke " span.visually-hidden { (c.name) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "New API client" }
        form.card method="post" action="/admin/api-clients" {
            (csrf_input(web))
            (problems.summary())
            (Input::new("name", "Name", fields.get("name")).required().max(200).hint("What it connects, e.g. “Salesforce production”.").render(problems, "name"))
            div.field {
                label for="client-role" { "Role" }
                (role_select("client-role", "role", Role::parse_opt(fields.get("role")).or(Some(Role::Engineer))))
            }
            button.primary type="submit" { "Create" }
        }
    };
    let status = problems.status();
    admin_page_with(web, status, Some(Area::ApiClients), "API clients", body)
}

async fn create_api_client(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { web, fields } = posted;
    let Some(role) = Role::parse_opt(fields.get("role")) else {
        let mut problems = Problems::default();
        problems.add("role", "choose a role");
        return api_clients_page(&state, &web, &fields, &problems).await;
    };
    let input = NewApiClientInput {
        name: fields.get("name").to_owned(),
        role,
    };
    match state.services.create_api_client(&web.caller, input).await {
        Ok(created) => shown_once(
            &web,
            Area::ApiClients,
            "API client created",
            html! { p { "Give these to the integration now. The secret is shown only once; Casebridge keeps only its hash." } },
            &[
                ("client-id", "Client id", &created.client.client_id),
                (
                    "client-secret",
                    "Client secret",
                    created.client_secret.expose_secret(),
                ),
            ],
            html! { p.sub { "Exchange them for a token with POST /v1/oauth/token (grant_type=client_credentials)." } },
            ("/admin/api-clients", "Back to API clients"),
        ),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => api_clients_page(&state, &web, &fields, &problems).await,
            Err(error) => error_page(Some(&web), error),
        },
    }
}

async fn revoke_api_client(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let web = posted.web;
    let outcome = async {
        let id: ApiClientId = parse_id(&id)?;
        state.services.revoke_api_client(&web.caller, id).await
    }
    .await;
    after(&web, "/admin/api-clients", outcome, |client| {
        format!("{} is revoked.", client.name)
    })
}

// ---- the audit trail ----

#[derive(Deserialize, Default, serde::Serialize, Clone)]
struct AuditParams {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    actor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    object: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    since: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    web: Web,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(page) = refuse(&web, Area::Audit) {
        return page;
    }
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let since = NaiveDate::parse_from_str(params.since.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    let query = AuditQuery {
        action: opt(&params.action),
        actor_id: opt(&params.actor),
        object_id: opt(&params.object),
        since,
        until: None,
        page: params.page,
        size: Some(50),
    };
    let found = match state.services.audit_events(&web.caller, query).await {
        Ok(found) => found,
        Err(error) => return error_page(Some(&web), error),
    };
    let pages = (found.total + found.size - 1) / found.size.max(1);
    let link = |page: i64| {
        let p = AuditParams {
            page: Some(page),
            ..params.clone()
        };
        format!(
            "/admin/audit?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        )
    };
    let body = html! {
        form.filters method="get" action="/admin/audit" role="search" {
            div.field { label for="a-action" { "Action" } input #a-action name="action" value=(params.action) maxlength="100" placeholder="e.g. case.created"; }
            div.field { label for="a-actor" { "Actor id" } input #a-actor name="actor" value=(params.actor) maxlength="100"; }
            div.field { label for="a-object" { "Object id" } input #a-object name="object" value=(params.object) maxlength="100"; }
            div.field { label for="a-since" { "Since" } input #a-since name="since" type="date" value=(params.since); }
            button type="submit" { "Filter" }
        }
        p.sub { (found.total) " events. The trail is hash-chained; the operator verifies it with " code { "casebridge audit verify" } "." }
        div.table-wrap {
            table {
                caption.visually-hidden { "Audit events" }
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Actor" } th scope="col" { "Object" } th scope="col" { "Outcome" } } }
                tbody {
                    @for e in &found.items {
                        tr {
                            td { (e.seq) }
                            td { (when(e.occurred_at)) }
                            td { code { (e.action) } }
                            td { (e.actor_type) @if let Some(id) = &e.actor_id { br; code { (id) } } }
                            td { (e.object_type) @if let Some(id) = &e.object_id { br; code { (id) } } }
                            td { (e.outcome) }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pagination aria-label="Pages" {
                @if found.page > 0 { a href=(link(found.page - 1)) rel="prev" { "← Newer" } }
                span { "Page " (found.page + 1) " of " (pages) }
                @if found.page + 1 < pages { a href=(link(found.page + 1)) rel="next" { "Older →" } }
            }
        }
    };
    admin_page(&web, Some(Area::Audit), "Audit trail", body)
}
