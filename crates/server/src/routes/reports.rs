//! Reports for program managers: the SLA report.

use axum::extract::State;
use axum::Json;
use casebridge_domain::form::Priority;
use casebridge_domain::sla::SlaFigures;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiQuery, Authenticated};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sla_report))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SlaParams {
    /// Start of the period (inclusive); default: 30 days before `to`.
    from: Option<DateTime<Utc>>,
    /// End of the period (exclusive); default: now. At most 366 days after `from`.
    to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlaFiguresDto {
    /// Requests received whose response clock started in the period (test requests left out).
    requests_received: usize,
    /// Of those, how many have had a first response.
    responded: usize,
    /// First responses that came by the target.
    responded_within_target: usize,
    /// Requests whose target passed without a response.
    breached: usize,
    /// Median time from the start of the clock to the first response, in seconds.
    median_first_response_seconds: Option<i64>,
    /// 90th percentile (nearest rank) of the same, in seconds.
    p90_first_response_seconds: Option<i64>,
}

impl From<SlaFigures> for SlaFiguresDto {
    fn from(f: SlaFigures) -> Self {
        Self {
            requests_received: f.received,
            responded: f.responded,
            responded_within_target: f.within_target,
            breached: f.breached,
            median_first_response_seconds: f.median_first_response.map(|d| d.num_seconds()),
            p90_first_response_seconds: f.p90_first_response.map(|d| d.num_seconds()),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriorityFiguresDto {
    priority: Priority,
    #[serde(flatten)]
    figures: SlaFiguresDto,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlaReportDto {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    overall: SlaFiguresDto,
    by_priority: Vec<PriorityFiguresDto>,
}

/// How the caller's company answered the requests it received: counts, responses within
/// target, breaches, and the median and 90th percentile time to first response, overall
/// and per priority (admins, managers, auditors).
#[utoipa::path(get, path = "/v1/reports/sla", tag = "reports", security(("bearer" = [])), params(SlaParams),
    responses((status = 200, body = SlaReportDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn sla_report(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<SlaParams>,
) -> ApiResult<Json<SlaReportDto>> {
    let report = state
        .services
        .sla_report(&caller, params.from, params.to)
        .await?;
    Ok(Json(SlaReportDto {
        from: report.from,
        to: report.to,
        overall: report.overall.into(),
        by_priority: report
            .by_priority
            .into_iter()
            .map(|(priority, figures)| PriorityFiguresDto {
                priority,
                figures: figures.into(),
            })
            .collect(),
    }))
}
