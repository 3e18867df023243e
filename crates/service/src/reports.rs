//! The SLA report: how a member answered the requests it received.

use casebridge_domain::form::Priority;
use casebridge_domain::sla::{figures, Measured, SlaFigures};
use casebridge_domain::{Action, ValidationErrors};
use chrono::{DateTime, Duration, Utc};

use crate::{Caller, ServiceResult, Services};

/// The longest period one report covers.
const MAX_DAYS: i64 = 366;

pub struct SlaReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: SlaFigures,
    pub by_priority: Vec<(Priority, SlaFigures)>,
}

impl Services {
    /// Requests the caller's company received whose clock started in `[from, to)`
    /// (default: the last 30 days).
    pub async fn sla_report(
        &self,
        caller: &Caller,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> ServiceResult<SlaReport> {
        let tenant = caller.may(Action::ReadReports)?;
        let to = to.unwrap_or_else(|| self.now());
        let from = from.unwrap_or(to - Duration::days(30));
        let mut errors = ValidationErrors::default();
        if from >= to {
            errors.add("from", "must be before to");
        } else if to - from > Duration::days(MAX_DAYS) {
            errors.add("to", format!("a report covers at most {MAX_DAYS} days"));
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let rows = self.store.sla_rows(tenant, from, to).await?;
        let measured: Vec<(Priority, Measured)> = rows
            .iter()
            .map(|row| {
                let first_response = row.first_response_at.map(|at| at - row.clock_started_at);
                let within_target = row.first_response_at.is_some_and(|at| at <= row.respond_by);
                (
                    row.priority,
                    Measured {
                        first_response,
                        within_target,
                        breached: row.breached,
                    },
                )
            })
            .collect();
        let by_priority = [Priority::High, Priority::Medium, Priority::Low]
            .into_iter()
            .map(|priority| {
                let of = measured
                    .iter()
                    .filter(|(p, _)| *p == priority)
                    .map(|(_, m)| m);
                (priority, figures(of))
            })
            .collect();
        Ok(SlaReport {
            from,
            to,
            overall: figures(measured.iter().map(|(_, m)| m)),
            by_priority,
        })
    }
}
