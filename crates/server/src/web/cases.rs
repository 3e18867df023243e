//! One case: its header, the timeline, the steps the reader may take now and the note
//! composer, each with a preview of what the partner will read.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use casebridge_domain::authorization::LinkState;
use casebridge_domain::case::{transition, CaseSide, CaseToken, Contact, ResponseType, Visibility};
use casebridge_domain::form::FieldType;
use casebridge_domain::sharing::Fate;
use casebridge_domain::Action;
use casebridge_service::{
    CaseView, ContactInput, NoteInput, Preview, PreviewAction, ServiceError, StepInput,
};
use chrono::Utc;
use maud::{html, Markup};

use super::inbox::respond_by;
use super::{
    after, csrf_input, done, error_page, human, page_with_status, priority_badge, status_badge,
    when, Fields, Input, Nav, Posted, Problems, Web,
};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{token}", get(case_page))
        .route("/cases/{token}/notes", post(post_note))
        .route("/cases/{token}/steps", post(post_step))
        .route("/cases/{token}/disclosures", post(post_disclosure))
        .route("/cases/{token}/revocation", post(post_revocation))
        .route("/cases/{token}/legal-hold", post(post_legal_hold))
}

/// The steps in the order a page offers them.
const STEPS: [ResponseType; 6] = [
    ResponseType::Approval,
    ResponseType::InformationRequest,
    ResponseType::Rejection,
    ResponseType::ApprovalUpdate,
    ResponseType::InformationResponse,
    ResponseType::Closure,
];

/// What the reader was writing when the page is shown again: a preview, or errors.
pub(super) struct Draft {
    target: DraftTarget,
    fields: Fields,
    preview: Option<Preview>,
    problems: Problems,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DraftTarget {
    Note,
    Step(ResponseType),
    Disclosure,
    Revocation,
}

fn parse_token(raw: &str) -> Result<CaseToken, ServiceError> {
    CaseToken::parse(raw).map_err(|_| ServiceError::NotFound)
}

async fn case_page(State(state): State<AppState>, web: Web, Path(token): Path<String>) -> Response {
    let token = match parse_token(&token) {
        Ok(token) => token,
        Err(error) => return error_page(Some(&web), error),
    };
    render(&state, &web, &token, None).await
}

async fn render(state: &AppState, web: &Web, token: &CaseToken, draft: Option<Draft>) -> Response {
    let services = &state.services;
    let view = match services.get_case(&web.caller, token).await {
        Ok(view) => view,
        Err(error) => return error_page(Some(web), error),
    };
    let kind = match services
        .get_partnership(&web.caller, view.record.partnership_id)
        .await
    {
        Ok(partnership) => partnership.record.kind,
        Err(error) => return error_page(Some(web), error),
    };
    let steps: Vec<ResponseType> = if web.may(Action::WorkCases) {
        STEPS
            .into_iter()
            .filter(|step| transition(view.record.status, *step, view.side, kind).is_ok())
            .collect()
    } else {
        Vec::new()
    };
    let status = match &draft {
        Some(d) if !d.problems.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let title = view.record.problem_summary.clone();
    let body = case_markup(web, &view, &steps, draft.as_ref());
    page_with_status(web, status, Nav::Inbox, &title, body)
}

fn case_markup(
    web: &Web,
    view: &CaseView,
    steps: &[ResponseType],
    draft: Option<&Draft>,
) -> Markup {
    let record = &view.record;
    let ours = view.side == CaseSide::Submitter;
    let partner = if ours {
        &view.receiver_name
    } else {
        &view.submitter_name
    };
    let marks = own_marks(view);
    html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/inbox" { "Inbox" } " › " span { (record.internal_case_number) } }
        header.case-head {
            h1 { (mark_text(&record.problem_summary, &marks)) }
            p.lede {
                (if ours { "Outbound to " } else { "Inbound from " }) strong { (partner) }
                " · " (status_badge(record.status)) " · " (priority_badge(record.priority))
                @if record.test_case { " · " span.badge.test { "Test" } }
                @if view.pending_action { " · " strong.action { "Waiting on your company" } }
            }
        }
        @if record.content_erased_at.is_some() {
            p.notice { "This case's content was erased when its retention period ended or at a data subject's request. Only its dates and numbers remain." }
        }
        div.case-grid {
            div.case-main {
                section aria-labelledby="problem" {
                    h2 #problem { "Problem" }
                    div.text { (mark_text(&record.problem_description, &marks)) }
                    @if !view.fields.is_empty() {
                        dl.fields {
                            @for (field, value) in &view.fields {
                                dt { (field.label) }
                                dd {
                                    @match (field.field_type, value.as_str()) {
                                        (FieldType::Boolean, "true") => "Yes",
                                        (FieldType::Boolean, _) => "No",
                                        _ => (mark_text(value, &marks)),
                                    }
                                }
                            }
                        }
                    }
                }
                @if !marks.is_empty() { (legend()) }
                (timeline(view, &marks))
                @if !steps.is_empty() { (step_forms(web, view, steps, draft)) }
                @if web.may(Action::WorkCases) && record.status.is_live() { (note_composer(web, view, draft)) }
            }
            aside.case-side aria-label="Case details" {
                (details(view))
                (authorization(web, view, draft))
                @if !view.vault.is_empty() { (protected_values(web, view, draft)) }
                @if web.may(Action::ManageDataProtection) { (legal_hold(web, view)) }
            }
        }
    }
}

fn contact(contact: &Contact) -> Markup {
    html! {
        (contact.name) br;
        a href=(format!("mailto:{}", contact.email.as_str())) { (contact.email.as_str()) }
        @if let Some(phone) = &contact.phone { br; (phone) }
    }
}

fn details(view: &CaseView) -> Markup {
    let record = &view.record;
    let ours = view.side == CaseSide::Submitter;
    let (our_number, their_number) = if ours {
        (
            Some(&record.internal_case_number),
            record.receiver_case_number.as_ref(),
        )
    } else {
        (
            record.receiver_case_number.as_ref(),
            Some(&record.internal_case_number),
        )
    };
    html! {
        section.card aria-labelledby="details" {
            h2 #details { "Details" }
            dl {
                dt { "Our case number" } dd { (our_number.map_or("—", |n| n.as_str())) }
                dt { "Their case number" } dd { (their_number.map_or("—", |n| n.as_str())) }
                dt { "Submitted by" } dd { (view.submitter_name) br; (contact(&record.submitter_contact)) }
                dt { "Handled by" } dd {
                    (view.receiver_name)
                    @if let Some(engineer) = &record.receiver_engineer { br; (contact(engineer)) }
                    @else { br; span.muted { "No engineer yet" } }
                }
                dt { "Opened" } dd { (when(record.created_at)) }
                dt { "First response" } dd { @if record.responded { "Responded" } @else { (respond_by(record, Utc::now())) } }
                @if let Some(closed) = record.closed_at { dt { "Closed" } dd { (when(closed)) } }
            }
        }
    }
}

fn authorization(web: &Web, view: &CaseView, draft: Option<&Draft>) -> Markup {
    let auth = &view.authorization;
    let state = if auth.revoked_at.is_some() {
        "Revoked"
    } else {
        match auth.link {
            Some(LinkState::Pending) => "Waiting for the customer",
            Some(LinkState::Declined) => "Declined by the customer",
            _ => "Authorized",
        }
    };
    let may_revoke = web.may(Action::WorkCases)
        && view.side == CaseSide::Submitter
        && auth.revoked_at.is_none()
        && view.record.status.is_live();
    let problems = match draft {
        Some(d) if d.target == DraftTarget::Revocation => Some(&d.problems),
        _ => None,
    };
    html! {
        section.card aria-labelledby="authorization" {
            h2 #authorization { "Customer authorization" }
            p { strong { (state) } }
            dl {
                dt { "How" } dd { (human(auth.method.as_str())) }
                @if view.shows_authorizer() {
                    dt { "By" } dd { (auth.authorized_by_name) br; (auth.authorized_by_email.as_str()) }
                    dt { "Purpose" } dd { (auth.purpose) }
                }
                dt { "Data the customer allowed" }
                dd {
                    @if auth.data_categories.is_empty() { "None" }
                    ul.plain { @for c in &auth.data_categories { li { (human(c.as_str())) } } }
                }
                @if let Some(at) = auth.revoked_at { dt { "Revoked" } dd { (when(at)) } }
                @if let Some(at) = auth.expires_at { dt { "Expires" } dd { (when(at)) } }
            }
            @if view.shows_authorizer() && auth.link == Some(LinkState::Authorized) {
                p { a href=(format!("/v1/collaboration-requests/{}/authorization/receipt", view.record.token.as_str())) { "Signed consent receipt (JSON)" } }
            }
            @if may_revoke {
                details open[problems.is_some()] {
                    summary { "Withdraw the authorization" }
                    form method="post" action=(format!("/cases/{}/revocation", view.record.token.as_str())) {
                        (csrf_input(web))
                        @if let Some(p) = problems { (p.summary()) }
                        (Input::new("reason", "Why (the partner reads this)", "").kind("textarea").required().max(2000)
                            .render(problems.unwrap_or(&Problems::default()), "reason"))
                        button.danger type="submit" { "Withdraw authorization" }
                    }
                }
            }
        }
    }
}

/// Own values that appear in the texts: the original, and the class and tooltip saying
/// what the partner sees.
struct Mark {
    original: String,
    class: &'static str,
    title: String,
}

fn own_marks(view: &CaseView) -> Vec<Mark> {
    let mut marks: Vec<Mark> = view
        .vault
        .iter()
        .map(|row| {
            let entry = &row.entry;
            let (class, title) = match entry.fate {
                Fate::Shared => ("shared", "Shared: the partner sees this value".to_owned()),
                Fate::Pseudonymized => (
                    "pseudo",
                    format!("Pseudonymized: the partner sees {}", entry.pseudonym),
                ),
                Fate::Released => ("released", "Released to the partner on request".to_owned()),
            };
            Mark {
                original: entry.original.clone(),
                class,
                title,
            }
        })
        .filter(|m| !m.original.is_empty())
        .collect();
    // Longest first, so a value inside a longer one does not split it.
    marks.sort_by_key(|m| std::cmp::Reverse(m.original.len()));
    marks
}

/// A text with every marked value wrapped; paragraphs kept.
fn mark_text(text: &str, marks: &[Mark]) -> Markup {
    let needles: Vec<(&str, &'static str, &str)> = marks
        .iter()
        .map(|m| (m.original.as_str(), m.class, m.title.as_str()))
        .collect();
    highlight(text, &needles)
}

/// `text` with each occurrence of a needle marked with its class and title.
pub(super) fn highlight(text: &str, needles: &[(&str, &'static str, &str)]) -> Markup {
    let mut pieces: Vec<(&str, Option<(&'static str, &str)>)> = Vec::new();
    let mut plain_start = 0;
    let mut at = 0;
    while at < text.len() {
        let found = needles
            .iter()
            .filter(|(needle, _, _)| !needle.is_empty())
            .find(|(needle, _, _)| text[at..].starts_with(needle));
        match found {
            Some((needle, class, title)) => {
                if plain_start < at {
                    pieces.push((&text[plain_start..at], None));
                }
                pieces.push((&text[at..at + needle.len()], Some((class, title))));
                at += needle.len();
                plain_start = at;
            }
            None => {
                at += text[at..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if plain_start < text.len() {
        pieces.push((&text[plain_start..], None));
    }
    html! {
        @for (piece, mark) in pieces {
            @match mark {
                Some((class, title)) => mark class=(class) title=(title) { (piece) span.visually-hidden { " (" (title) ")" } },
                None => (piece),
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        p.legend {
            "In your view: "
            mark.shared { "shared" } " the partner sees the value; "
            mark.pseudo { "pseudonymized" } " the partner sees a stand-in; "
            mark.released { "released" } " you released it."
        }
    }
}

fn response_label(step: ResponseType) -> &'static str {
    match step {
        ResponseType::Approval => "Accepted the request",
        ResponseType::ApprovalUpdate => "Updated the acceptance",
        ResponseType::Rejection => "Rejected the request",
        ResponseType::InformationRequest => "Asked for information",
        ResponseType::InformationResponse => "Answered with information",
        ResponseType::Closure => "Closed the case",
        ResponseType::System => "Casebridge",
    }
}

fn timeline(view: &CaseView, marks: &[Mark]) -> Markup {
    enum Entry<'a> {
        Response(&'a casebridge_service::store::ResponseRecord),
        Note(&'a casebridge_service::store::NoteRecord),
    }
    let mut entries: Vec<(chrono::DateTime<Utc>, Entry)> = view
        .responses
        .iter()
        .map(|r| (r.created_at, Entry::Response(r)))
        .chain(view.notes.iter().map(|n| (n.created_at, Entry::Note(n))))
        .collect();
    entries.sort_by_key(|(at, _)| *at);
    let company = |side: Option<CaseSide>| match side {
        Some(CaseSide::Submitter) => view.submitter_name.as_str(),
        Some(CaseSide::Receiver) => view.receiver_name.as_str(),
        None => "Casebridge",
    };
    html! {
        section aria-labelledby="timeline" {
            h2 #timeline { "Timeline" }
            @if entries.is_empty() { p.empty { "No responses or notes yet." } }
            ol.timeline {
                @for (at, entry) in &entries {
                    @match entry {
                        Entry::Response(r) => {
                            li.step {
                                p.meta { strong { (company(r.side)) } " · " (response_label(r.response_type)) " · " (when(*at)) }
                                @if let Some(engineer) = &r.engineer { p.meta { "Engineer: " (engineer.name) } }
                                @if let Some(number) = &r.case_number { p.meta { "Their case number: " (number) } }
                                @if !r.body.is_empty() { div.text { (mark_text(&r.body, marks)) } }
                            }
                        }
                        Entry::Note(n) => {
                            li.note.internal[n.visibility == Visibility::Internal] {
                                p.meta {
                                    strong { (n.author_name) } " · " (when(*at)) " · "
                                    @if n.visibility == Visibility::Internal {
                                        span.badge.internal { "Internal — only your company" }
                                    } @else {
                                        span.badge.shared { "Shared with both companies" }
                                    }
                                }
                                h3 { (mark_text(&n.summary, marks)) }
                                @if !n.description.is_empty() { div.text { (mark_text(&n.description, marks)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn step_title(step: ResponseType) -> &'static str {
    match step {
        ResponseType::Approval => "Accept",
        ResponseType::ApprovalUpdate => "Update the acceptance",
        ResponseType::Rejection => "Reject",
        ResponseType::InformationRequest => "Ask for information",
        ResponseType::InformationResponse => "Answer the information request",
        ResponseType::Closure => "Close the case",
        ResponseType::System => "",
    }
}

fn step_text_label(step: ResponseType) -> (&'static str, &'static str, bool) {
    match step {
        ResponseType::Approval | ResponseType::ApprovalUpdate => {
            ("nextSteps", "Next steps (the partner reads this)", false)
        }
        ResponseType::Rejection => ("reason", "Reason for rejecting", true),
        ResponseType::InformationRequest => {
            ("requestedInformation", "What you need from them", true)
        }
        ResponseType::InformationResponse => ("requestedInformation", "Your answer", true),
        ResponseType::Closure | ResponseType::System => {
            ("reason", "Closing note (optional)", false)
        }
    }
}

fn step_forms(web: &Web, view: &CaseView, steps: &[ResponseType], draft: Option<&Draft>) -> Markup {
    let none = Problems::default();
    let empty = Fields::empty();
    html! {
        section aria-labelledby="actions" {
            h2 #actions { "Your next step" }
            @for step in steps {
                @let current = draft.filter(|d| d.target == DraftTarget::Step(*step));
                @let problems = current.map_or(&none, |d| &d.problems);
                @let fields = current.map_or(&empty, |d| &d.fields);
                @let (text_key, text_label, text_required) = step_text_label(*step);
                details.step-form open[current.is_some()] {
                    summary { (step_title(*step)) }
                    form method="post" action=(format!("/cases/{}/steps", view.record.token.as_str())) {
                        (csrf_input(web))
                        input type="hidden" name="step" value=(step.as_str());
                        (problems.summary())
                        @if matches!(step, ResponseType::Approval | ResponseType::ApprovalUpdate) {
                            @let number = if current.is_some() { fields.get("caseNumber").to_owned() } else { view.record.receiver_case_number.clone().unwrap_or_default() };
                            (Input::new("caseNumber", "Your case number", &number).required().max(64).render(problems, "caseNumber"))
                        }
                        @if step.side() == Some(CaseSide::Receiver) {
                            @let name = if current.is_some() { fields.get("engineerName") } else { web.name.as_str() };
                            @let email = if current.is_some() { fields.get("engineerEmail") } else { web.email.as_str() };
                            div.pair {
                                (Input::new("engineerName", "Engineer", name).required().max(200).render(problems, "engineer.name"))
                                (Input::new("engineerEmail", "Engineer's email", email).kind("email").required().max(320).render(problems, "engineer.email"))
                            }
                        }
                        @let text = fields.get("text");
                        @let input = Input::new("text", text_label, text).kind("textarea").max(32000);
                        (if text_required { input.required() } else { input }.render(problems, text_key))
                        @if let Some(preview) = current.and_then(|d| d.preview.as_ref()) { (preview_panel(preview)) }
                        div.buttons {
                            button type="submit" name="intent" value="preview" { "Preview what they will see" }
                            button.primary type="submit" name="intent" value="send" class=[(*step == ResponseType::Rejection).then_some("danger")] { (step_title(*step)) }
                        }
                    }
                }
            }
        }
    }
}

fn note_composer(web: &Web, view: &CaseView, draft: Option<&Draft>) -> Markup {
    let current = draft.filter(|d| d.target == DraftTarget::Note);
    let none = Problems::default();
    let empty = Fields::empty();
    let problems = current.map_or(&none, |d| &d.problems);
    let fields = current.map_or(&empty, |d| &d.fields);
    let internal = fields.get("visibility") == "INTERNAL";
    html! {
        section #compose aria-labelledby="note" {
            h2 #note { "Add a note" }
            form.card method="post" action=(format!("/cases/{}/notes", view.record.token.as_str())) {
                (csrf_input(web))
                (problems.summary())
                fieldset {
                    legend { "Who reads it" }
                    div.choice {
                        input #vis-shared type="radio" name="visibility" value="SHARED" checked[!internal];
                        label for="vis-shared" { "Both companies (shared, minimized)" }
                    }
                    div.choice {
                        input #vis-internal type="radio" name="visibility" value="INTERNAL" checked[internal];
                        label for="vis-internal" { "Only your company (internal)" }
                    }
                }
                (Input::new("summary", "Summary", fields.get("summary")).required().max(200).render(problems, "summary"))
                (Input::new("description", "Details", fields.get("description")).kind("textarea").max(32000).render(problems, "description"))
                @if let Some(preview) = current.and_then(|d| d.preview.as_ref()) {
                    @if internal {
                        p.notice { "Internal notes are never shown to the partner; nothing leaves your company." }
                    } @else { (preview_panel(preview)) }
                }
                div.buttons {
                    button type="submit" name="intent" value="preview" { "Preview what they will see" }
                    button.primary type="submit" name="intent" value="send" { "Add note" }
                }
            }
        }
    }
}

/// The partner's view of a payload and every finding's fate.
pub(super) fn preview_panel(preview: &Preview) -> Markup {
    let needles: Vec<(String, &'static str, String)> = preview
        .findings
        .iter()
        .map(|f| match f.fate {
            Fate::Pseudonymized => (
                f.pseudonym.clone(),
                "pseudo",
                format!(
                    "Stands for a value outside what may be shared ({})",
                    human(f.category.as_str())
                ),
            ),
            Fate::Shared => (f.original.clone(), "shared", "Shared as written".to_owned()),
            Fate::Released => (
                f.original.clone(),
                "released",
                "Released on request".to_owned(),
            ),
        })
        .collect();
    let mut needles: Vec<(&str, &'static str, &str)> = needles
        .iter()
        .map(|(n, c, t)| (n.as_str(), *c, t.as_str()))
        .collect();
    needles.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
    html! {
        section.preview aria-labelledby="preview-title" tabindex="-1" {
            h3 #preview-title { "What the partner will see" }
            @for (field, text) in &preview.parts {
                @if !text.is_empty() {
                    div.part {
                        p.meta { (field_name(field)) }
                        div.text { (highlight(text, &needles)) }
                    }
                }
            }
            @if preview.findings.is_empty() {
                p { "Nothing personal or secret was found; the text is shared as written." }
            } @else {
                table.findings {
                    caption { "What was found" }
                    thead { tr { th scope="col" { "Value" } th scope="col" { "Kind" } th scope="col" { "What happens" } th scope="col" { "Partner sees" } } }
                    tbody {
                        @for f in &preview.findings {
                            tr {
                                td { code { (f.original) } }
                                td { (human(f.category.as_str())) }
                                td { span class=(format!("fate {}", fate_class(f.fate))) { (human(fate_code(f.fate))) } }
                                td { code { @if f.fate == Fate::Pseudonymized { (f.pseudonym) } @else { (f.original) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn field_name(field: &str) -> String {
    match field {
        "problemSummary" | "summary" => "Summary".into(),
        "problemDescription" | "description" => "Details".into(),
        "nextSteps" => "Next steps".into(),
        "reason" => "Reason".into(),
        "requestedInformation" => "Information".into(),
        other => human(other),
    }
}

fn fate_code(fate: Fate) -> &'static str {
    match fate {
        Fate::Shared => "SHARED",
        Fate::Pseudonymized => "PSEUDONYMIZED",
        Fate::Released => "RELEASED",
    }
}

fn fate_class(fate: Fate) -> &'static str {
    match fate {
        Fate::Shared => "shared",
        Fate::Pseudonymized => "pseudo",
        Fate::Released => "released",
    }
}

fn protected_values(web: &Web, view: &CaseView, draft: Option<&Draft>) -> Markup {
    let current = draft.filter(|d| d.target == DraftTarget::Disclosure);
    let may_release = web.may(Action::WorkCases) && view.record.status.is_live();
    html! {
        section.card aria-labelledby="values" {
            h2 #values { "Your values on this case" }
            p.hint { "Only your company sees this list." }
            @if let Some(d) = current { (d.problems.summary()) }
            ul.values {
                @for row in &view.vault {
                    @let e = &row.entry;
                    li {
                        code { (e.original) }
                        " " span class=(format!("fate {}", fate_class(e.fate))) { (human(fate_code(e.fate))) }
                        div.sub { (human(e.category.as_str())) @if e.fate == Fate::Pseudonymized { " · partner sees " code { (e.pseudonym) } } }
                        @if may_release && e.fate == Fate::Pseudonymized {
                            details {
                                summary { "Release to the partner" }
                                form method="post" action=(format!("/cases/{}/disclosures", view.record.token.as_str())) {
                                    (csrf_input(web))
                                    input type="hidden" name="pseudonym" value=(e.pseudonym);
                                    @let id = format!("reason-{}", super::field_anchor(&e.pseudonym));
                                    div.field {
                                        label for=(id) { "Why they need it" }
                                        input id=(id) name="reason" required maxlength="2000";
                                    }
                                    button type="submit" { "Release" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn legal_hold(web: &Web, view: &CaseView) -> Markup {
    html! {
        section.card aria-labelledby="hold" {
            h2 #hold { "Legal hold" }
            @if let Some(at) = view.legal_hold {
                p { "Held since " (when(at)) "; retention will not erase it." }
            } @else {
                p { "Not held: the content is erased when the retention period ends." }
            }
            @if view.legal_hold.is_some() || view.record.content_erased_at.is_none() {
                form method="post" action=(format!("/cases/{}/legal-hold", view.record.token.as_str())) {
                    (csrf_input(web))
                    @if view.legal_hold.is_some() {
                        input type="hidden" name="hold" value="release";
                        button type="submit" { "Release the hold" }
                    } @else {
                        input type="hidden" name="hold" value="place";
                        button type="submit" { "Place a legal hold" }
                    }
                }
            }
        }
    }
}

/// Re-renders the case with what was typed, or passes the error on as a page.
async fn again(
    state: &AppState,
    web: &Web,
    token: &CaseToken,
    target: DraftTarget,
    fields: Fields,
    outcome: Result<Option<Preview>, ServiceError>,
) -> Response {
    let (preview, problems) = match outcome {
        Ok(preview) => (preview, Problems::default()),
        Err(error) => match Problems::from_error(error) {
            Ok(problems) => (None, problems),
            Err(error) => return error_page(Some(web), error),
        },
    };
    let draft = Draft {
        target,
        fields,
        preview,
        problems,
    };
    render(state, web, token, Some(draft)).await
}

fn case_url(token: &CaseToken, anchor: &str) -> String {
    format!("/cases/{}{anchor}", token.as_str())
}

/// A case form's post: the signed-in person, the fields and the case it names.
fn case_post(token: &str, posted: Posted) -> Result<(Web, Fields, CaseToken), Box<Response>> {
    let Posted { web, fields } = posted;
    match parse_token(token) {
        Ok(token) => Ok((web, fields, token)),
        Err(error) => Err(Box::new(error_page(Some(&web), error))),
    }
}

/// After a case form: back to the case with a message, or the case again with what was
/// typed and why it was refused.
#[allow(clippy::too_many_arguments)]
async fn settle<T>(
    state: &AppState,
    web: &Web,
    token: &CaseToken,
    target: DraftTarget,
    fields: Fields,
    outcome: Result<T, ServiceError>,
    anchor: &str,
    message: impl FnOnce(T) -> String,
) -> Response {
    match outcome {
        Ok(value) => done(web, &case_url(token, anchor), &message(value)),
        Err(error) => again(state, web, token, target, fields, Err(error)).await,
    }
}

async fn post_note(
    State(state): State<AppState>,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let (web, fields, token) = match case_post(&token, posted) {
        Ok(post) => post,
        Err(page) => return *page,
    };
    let visibility = match fields.get("visibility") {
        "INTERNAL" => Visibility::Internal,
        _ => Visibility::Shared,
    };
    let summary = fields.get("summary").to_owned();
    let description = fields.get("description").to_owned();
    let services = &state.services;
    if fields.get("intent") == "preview" {
        let outcome = services
            .preview_on_case(
                &web.caller,
                &token,
                PreviewAction::Note {
                    summary,
                    description,
                },
            )
            .await
            .map(Some);
        return again(&state, &web, &token, DraftTarget::Note, fields, outcome).await;
    }
    let input = NoteInput {
        summary,
        description,
        visibility,
    };
    let outcome = services.add_note(&web.caller, &token, input).await;
    settle(
        &state,
        &web,
        &token,
        DraftTarget::Note,
        fields,
        outcome,
        "#timeline",
        |_| "Note added.".to_owned(),
    )
    .await
}

async fn post_step(
    State(state): State<AppState>,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let (web, fields, token) = match case_post(&token, posted) {
        Ok(post) => post,
        Err(page) => return *page,
    };
    let Some(step) = ResponseType::parse(fields.get("step")).filter(|s| STEPS.contains(s)) else {
        return error_page(
            Some(&web),
            ServiceError::InvalidTransition("unknown step".into()),
        );
    };
    let case_number = fields.opt("caseNumber");
    let text = fields.get("text").to_owned();
    let services = &state.services;
    let target = DraftTarget::Step(step);
    if fields.get("intent") == "preview" {
        let outcome = services
            .preview_on_case(
                &web.caller,
                &token,
                PreviewAction::Step {
                    step,
                    case_number,
                    text,
                },
            )
            .await
            .map(Some);
        return again(&state, &web, &token, target, fields, outcome).await;
    }
    let engineer = (step.side() == Some(CaseSide::Receiver)).then(|| ContactInput {
        name: fields.get("engineerName").to_owned(),
        email: fields.get("engineerEmail").to_owned(),
        phone: None,
    });
    let input = StepInput {
        engineer,
        case_number,
        text,
    };
    let outcome = services.respond(&web.caller, &token, step, input).await;
    settle(
        &state,
        &web,
        &token,
        target,
        fields,
        outcome,
        "#timeline",
        |view| {
            format!(
                "Done: {}. Status is now {}.",
                step_title(step),
                human(view.record.status.as_str())
            )
        },
    )
    .await
}

async fn post_disclosure(
    State(state): State<AppState>,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let (web, fields, token) = match case_post(&token, posted) {
        Ok(post) => post,
        Err(page) => return *page,
    };
    let outcome = state
        .services
        .release_value(
            &web.caller,
            &token,
            fields.get("pseudonym"),
            fields.get("reason"),
        )
        .await;
    settle(
        &state,
        &web,
        &token,
        DraftTarget::Disclosure,
        fields,
        outcome,
        "#values",
        |_| "Value released to the partner.".to_owned(),
    )
    .await
}

async fn post_revocation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let (web, fields, token) = match case_post(&token, posted) {
        Ok(post) => post,
        Err(page) => return *page,
    };
    let outcome = state
        .services
        .revoke_authorization(&web.caller, &token, fields.get("reason"))
        .await;
    settle(
        &state,
        &web,
        &token,
        DraftTarget::Revocation,
        fields,
        outcome,
        "",
        |_| "The customer's authorization is withdrawn; nothing more will be shared.".to_owned(),
    )
    .await
}

async fn post_legal_hold(
    State(state): State<AppState>,
    Path(token): Path<String>,
    posted: Posted,
) -> Response {
    let (web, fields, token) = match case_post(&token, posted) {
        Ok(post) => post,
        Err(page) => return *page,
    };
    let hold = fields.get("hold") == "place";
    let outcome = state
        .services
        .set_legal_hold(&web.caller, &token, hold)
        .await;
    after(&web, &case_url(&token, "#hold"), outcome, |_| {
        if hold {
            "Legal hold placed."
        } else {
            "Legal hold released."
        }
        .to_owned()
    })
}
