use crate::api::{ErrorBody, WhoAmI};
use crate::server::auth::Caller;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// Liveness and database reachability. Needs no token.
#[utoipa::path(
    get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Serving"), (status = 503, description = "Database unreachable", body = ErrorBody))
)]
pub async fn healthz(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    state.store().ping().await?;
    Ok(Json(json!({ "status": "ok" })))
}

/// Readiness, for load balancers: the database answers, and where this
/// server holds the background duties (analysis, the paging outbox and
/// escalation timers), the paging worker finished a pass within the last
/// 5 s. A server beside another on PostgreSQL is ready without them: it
/// serves, and takes the duties when the one holding them stops. Needs no token.
#[utoipa::path(
    get, path = "/readyz", tag = "system",
    responses((status = 200, description = "Ready, with each duty's state"), (status = 503, description = "Not ready: what is missing", body = ErrorBody))
)]
pub async fn readyz(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    state.store().ping().await?;
    let duties = state.store().holds_duties();
    let idle = state.desk().paging_idle();
    let paging = idle.is_some_and(|d| d < chrono::Duration::seconds(5));
    if duties && !paging {
        let why = match idle {
            None => "the paging worker has not finished a pass yet".to_owned(),
            Some(d) => format!("the paging worker last finished a pass {} s ago", d.num_seconds()),
        };
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            crate::api::ErrorType::Unavailable,
            "NOT_READY",
            why,
        ));
    }
    // Ready to serve, yet say it when paging can wake nobody.
    let health = state.desk().paging_health().await?;
    Ok(Json(json!({
        "status": "ready",
        "paging": {
            "receivers": health.receivers,
            "dead_last_day": health.dead_last_day,
            "warning": health.alarm(),
        },
        "database": "ok",
        "duties": if duties { "here" } else { "another server" },
        "paging_last_pass_ms_ago": idle.filter(|_| duties).map(|d| d.num_milliseconds()),
    })))
}

/// The principal behind the caller's token.
#[utoipa::path(
    get, path = "/api/v1/whoami", tag = "system",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn whoami(_query: crate::server::request::NoQuery, caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI { name: caller.0.name, role: caller.0.role })
}

/// This document: OpenAPI 3.1, generated from the code. Needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json(_query: crate::server::request::NoQuery) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::server::openapi_text())
}
