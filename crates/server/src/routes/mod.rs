//! Handlers grouped by resource; each module contributes its routes and their OpenAPI.

mod agreements;
mod audit;
mod auth;
mod cases;
pub(crate) mod customer;
mod departments;
mod forms;
mod health;
mod partnerships;
mod reports;
mod sharing;
mod users;
mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn all() -> OpenApiRouter<AppState> {
    crate::base_router()
        .merge(health::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(departments::router())
        .merge(agreements::router())
        .merge(partnerships::router())
        .merge(forms::router())
        .merge(audit::router())
        .merge(cases::router())
        .merge(sharing::router())
        .merge(customer::router())
        .merge(webhooks::router())
        .merge(reports::router())
}
