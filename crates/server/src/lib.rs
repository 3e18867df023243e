//! Casebridge's HTTP API.
//!
//! Routes are grouped by resource under [`routes`]; every handler that touches a member's
//! data takes an [`extract::Authenticated`] caller, so it cannot run for an anonymous
//! request. Every error is an RFC 9457 [`problem::Problem`]. The OpenAPI document is built
//! from the same handlers and served at `/openapi.json`.

pub mod extract;
mod idempotency;
pub mod problem;
mod routes;
mod web;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use casebridge_service::Services;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::problem::Problem;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Casebridge API",
        description = "Multi-vendor support collaboration with agreements, customer authorization and data minimisation enforced by the platform. Errors are RFC 9457 problem+json with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The whole application: API routes, OpenAPI document, fallbacks and middleware.
pub fn app(services: Services) -> Router {
    let state = AppState { services };
    let (router, openapi) = routes::all().with_state(state.clone()).split_for_parts();
    let openapi_json = openapi.to_pretty_json().unwrap_or_default();
    router
        .merge(routes::customer::pages().with_state(state.clone()))
        .merge(web::pages().with_state(state.clone()))
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], openapi_json)
            }),
        )
        .fallback(|| async { Problem::not_found() })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this resource does not support that method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state,
            idempotency::idempotency,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(
            // Spans name the route template, never the raw URI: paths and queries can
            // carry identifiers that are none of the log's business.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

/// The OpenAPI document, for tools that want it without a running server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::all().split_for_parts().1
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    // The peer address reaches handlers that record it (a customer's authorization).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

pub(crate) fn base_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}
