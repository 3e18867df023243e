//! The engineer's home: what waits on my company first, then every case, filtered.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use casebridge_domain::case::{CaseSide, CaseStatus};
use casebridge_service::store::{Direction, Page, StatusFilter};
use casebridge_service::{CaseQuery, CaseSummary};
use chrono::Utc;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::{error_page, human, page, priority_badge, span_text, status_badge, when, Nav, Web};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/inbox", get(inbox))
}

const PAGE_SIZE: i64 = 25;

#[derive(Deserialize, Serialize, Default, Clone)]
struct InboxQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    direction: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<i64>,
}

impl InboxQuery {
    fn direction(&self) -> Direction {
        match self.direction.as_str() {
            "INBOUND" => Direction::Inbound,
            "OUTBOUND" => Direction::Outbound,
            _ => Direction::All,
        }
    }

    fn status(&self) -> StatusFilter {
        match self.status.as_str() {
            "PENDING_ACTION" => StatusFilter::PendingAction,
            other => CaseStatus::parse(other).map_or(StatusFilter::All, StatusFilter::Is),
        }
    }

    fn filtered(&self) -> bool {
        !self.direction.is_empty() || !self.status.is_empty() || !self.number.trim().is_empty()
    }

    fn with_page(&self, page: i64) -> String {
        let query = InboxQuery {
            page: Some(page),
            ..self.clone()
        };
        format!(
            "/inbox?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }
}

async fn inbox(
    State(state): State<AppState>,
    web: Web,
    query: Result<Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let services = &state.services;
    let number = Some(query.number.trim().to_owned()).filter(|n| !n.is_empty());
    let waiting = if query.filtered() || query.page.unwrap_or(0) > 0 {
        None
    } else {
        match services
            .list_cases(
                &web.caller,
                CaseQuery {
                    direction: Direction::All,
                    status: StatusFilter::PendingAction,
                    internal_case_number: None,
                    updated_after: None,
                    page: Some(0),
                    size: Some(50),
                },
            )
            .await
        {
            Ok(found) => Some(found),
            Err(error) => return error_page(Some(&web), error),
        }
    };
    let all = match services
        .list_cases(
            &web.caller,
            CaseQuery {
                direction: query.direction(),
                status: query.status(),
                internal_case_number: number,
                updated_after: None,
                page: query.page,
                size: Some(PAGE_SIZE),
            },
        )
        .await
    {
        Ok(found) => found,
        Err(error) => return error_page(Some(&web), error),
    };
    let body = html! {
        h1 { "Inbox" }
        @if let Some(waiting) = &waiting {
            section aria-labelledby="waiting" {
                h2 #waiting { "Waiting on " (web.member_name) " " span.count { "(" (waiting.total) ")" } }
                @if waiting.items.is_empty() {
                    p.empty { "Nothing waits on your company right now." }
                } @else {
                    (case_table(&waiting.items, "Cases waiting on your company"))
                }
            }
        }
        section aria-labelledby="all" {
            h2 #all { "All cases " span.count { "(" (all.total) ")" } }
            (filters(&query))
            @if all.items.is_empty() {
                p.empty { "No case matches." }
            } @else {
                (case_table(&all.items, "All cases"))
                (pagination(&all, &query))
            }
        }
    };
    page(&web, Nav::Inbox, "Inbox", body)
}

fn filters(query: &InboxQuery) -> Markup {
    let option = |value: &str, label: &str, current: &str| {
        html! { option value=(value) selected[value == current] { (label) } }
    };
    html! {
        form.filters method="get" action="/inbox" role="search" {
            div.field {
                label for="direction" { "Direction" }
                select #direction name="direction" {
                    (option("", "Inbound and outbound", &query.direction))
                    (option("INBOUND", "Inbound (to us)", &query.direction))
                    (option("OUTBOUND", "Outbound (from us)", &query.direction))
                }
            }
            div.field {
                label for="status" { "Status" }
                select #status name="status" {
                    (option("", "Any status", &query.status))
                    (option("PENDING_ACTION", "Waiting on us", &query.status))
                    @for status in CaseStatus::ALL {
                        (option(status.as_str(), &human(status.as_str()), &query.status))
                    }
                }
            }
            div.field {
                label for="number" { "Case number" }
                input #number name="number" type="search" maxlength="64" value=(query.number)
                    placeholder="Either company's number";
            }
            button type="submit" { "Filter" }
            @if query.filtered() { a.button.secondary href="/inbox" { "Clear" } }
        }
    }
}

fn case_table(cases: &[CaseSummary], caption: &str) -> Markup {
    let now = Utc::now();
    html! {
        div.table-wrap {
            table.cases {
                caption.visually-hidden { (caption) }
                thead {
                    tr {
                        th scope="col" { "Case" }
                        th scope="col" { "Partner" }
                        th scope="col" { "Status" }
                        th scope="col" { "Priority" }
                        th scope="col" { "Respond by" }
                        th scope="col" { "Last activity" }
                    }
                }
                tbody {
                    @for case in cases {
                        @let record = &case.record;
                        @let (partner, direction) = match case.side {
                            CaseSide::Submitter => (&case.receiver_name, "Outbound"),
                            CaseSide::Receiver => (&case.submitter_name, "Inbound"),
                        };
                        tr.pending[case.pending_action] {
                            td {
                                a href=(format!("/cases/{}", record.token.as_str())) { (record.problem_summary) }
                                div.sub {
                                    span.dir { (direction) } " · "
                                    (record.internal_case_number)
                                    @if let Some(theirs) = &record.receiver_case_number { " / " (theirs) }
                                    @if record.test_case { " · " span.badge.test { "Test" } }
                                }
                            }
                            td { (partner) }
                            td {
                                (status_badge(record.status))
                                @if case.pending_action { div.sub.action { "Your move" } }
                            }
                            td { (priority_badge(record.priority)) }
                            td { (respond_by(record, now)) }
                            td { (when(record.updated_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// Time left to the first response, red once overdue; nothing once answered.
pub(super) fn respond_by(
    record: &casebridge_service::store::CaseRecord,
    now: chrono::DateTime<Utc>,
) -> Markup {
    if record.responded
        || !record.status.is_live()
        || record.status == CaseStatus::PendingAuthorization
    {
        return html! { span.muted { "—" } };
    }
    let left = record.respond_by - now;
    html! {
        @if left.num_seconds() <= 0 || record.overdue {
            span.overdue { "Overdue by " (span_text(left)) }
        } @else {
            span { (span_text(left)) " left" }
        }
        div.sub { (when(record.respond_by)) }
    }
}

fn pagination(page: &Page<CaseSummary>, query: &InboxQuery) -> Markup {
    let pages = (page.total + page.size - 1) / page.size.max(1);
    if pages <= 1 {
        return html! {};
    }
    html! {
        nav.pagination aria-label="Pages" {
            @if page.page > 0 { a href=(query.with_page(page.page - 1)) rel="prev" { "← Newer" } }
            span { "Page " (page.page + 1) " of " (pages) }
            @if page.page + 1 < pages { a href=(query.with_page(page.page + 1)) rel="next" { "Older →" } }
        }
    }
}
