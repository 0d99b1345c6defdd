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
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store().ping().await?;
    Ok(Json(json!({ "status": "ok" })))
}

/// The principal behind the caller's token.
#[utoipa::path(
    get, path = "/api/v1/whoami", tag = "system",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI { name: caller.0.name, role: caller.0.role })
}

/// This document: OpenAPI 3.1, generated from the code. Needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::server::openapi_text())
}
